//! `/api/v1/search` and `/api/v1/enterprises`: the public's questions — did this product,
//! brand or company fail a spot check? — answered Chinese-aware (`zhijian_query::search`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use zhijian_catalog::SPOT_CHECK_SCHEMA;
use zhijian_query::QueryError;
use zhijian_query::api::RowsRequest;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};

type Params = Query<Vec<(String, String)>>;

/// Rows per search page by default, and at most.
const SEARCH_PAGE: usize = 20;
const SEARCH_PAGE_MAX: usize = 100;
/// The deepest a search pages (relevance order is not a stable keyset).
const SEARCH_OFFSET_MAX: usize = 10_000;

fn bad(parameter: &str, value: &str, problem: impl Into<String>) -> QueryError {
    QueryError::BadParameter {
        parameter: parameter.into(),
        value: value.into(),
        problem: problem.into(),
        allowed: Vec::new(),
    }
}

/// Refuses any parameter not in `allowed`, naming it and listing what is.
pub(crate) fn only(params: &[(String, String)], allowed: &[&str]) -> Result<(), QueryError> {
    match params.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, v)) => Err(QueryError::BadParameter {
            parameter: k.clone(),
            value: v.clone(),
            problem: format!("unknown parameter `{k}`"),
            allowed: allowed.iter().map(|a| (*a).to_owned()).collect(),
        }),
    }
}

fn one<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn number(
    params: &[(String, String)],
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, QueryError> {
    match one(params, name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(bad(
                name,
                v,
                format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        },
    }
}

fn required_q(params: &[(String, String)]) -> Result<String, QueryError> {
    match one(params, "q") {
        Some(q) if !q.trim().is_empty() => Ok(q.to_owned()),
        other => Err(bad(
            "q",
            other.unwrap_or(""),
            "give a word to search for: a product, company, brand, model number, failed item or agency, in 汉字, pinyin or initials",
        )),
    }
}

/// Search spot checks: Chinese-aware, ranked, faceted, filterable with the rows grammar.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(
        ("q" = String, Query, description = "Words in 汉字 (any length: 电热, 童装), full- or half-width, traditional or simplified; pinyin (meidi) or initials (md); a model number (typos forgiven)"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Rows per page (default 20)"),
        ("_offset" = Option<u32>, Query, minimum = 0, maximum = 10000, description = "Rows to skip (relevance order)"),
        ("_fields" = Option<String>, Query, description = "Comma-separated fields of the rows"),
        ("_q" = Option<String>, Query, description = "Also require this substring in some text field"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "The matched values (field, value, how it matched, batches), the count of rows they select, one page of rows (best match first, then newest) and facets by product, province, year and result", body = Object),
        (status = 400, description = "No `q`, or a bad filter, field or parameter", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn search(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Response> {
    let q = required_q(&params)?;
    let req = RowsRequest::parse(&app.catalog, SPOT_CHECK_SCHEMA, &params, &["q", "_offset"])?;
    for refused in ["_cursor", "_sort", "_format", "_count"] {
        if let Some(v) = one(&params, refused) {
            return Err(bad(
                refused,
                v,
                format!(
                    "search answers in relevance order, one JSON page at a time; `{refused}` belongs to /api/v1/resources/spot_checks/rows"
                ),
            )
            .into());
        }
    }
    let limit = req.limit.unwrap_or(SEARCH_PAGE);
    if limit > SEARCH_PAGE_MAX {
        return Err(bad(
            "_limit",
            &limit.to_string(),
            format!("a search page holds at most {SEARCH_PAGE_MAX} rows"),
        )
        .into());
    }
    let offset = number(&params, "_offset", 0, 0..=SEARCH_OFFSET_MAX)?;
    let view = app.view_at(req.as_of.as_deref()).await?;
    let indexes = view.indexes().await?;
    let started = std::time::Instant::now();
    let found = zhijian_query::search::search(
        &view,
        &app.catalog,
        &indexes.search,
        &q,
        &params,
        &req,
        limit,
        offset,
    )
    .await?;
    let mut out = found.value;
    out["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
    out["index"] = json!({
        "values": indexes.search.len(),
        "enterprises": indexes.search.enterprise_count(),
        "rows": indexes.search.rows(),
        "build_ms": indexes.build_ms,
    });
    Ok(crate::api::routed(Json(out), &found.route))
}

/// Find producers by name (汉字, pinyin, initials) or 统一社会信用代码.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "search",
    params(
        ("q" = String, Query, description = "Part of a name (汉字, pinyin or initials), or an 18-character 统一社会信用代码"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Producers returned (default 20)"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "Producers, best match first: key, names, code, batches, fails, years", body = Object),
        (status = 400, description = "No `q`, or a bad parameter", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn enterprises(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    only(&params, &["q", "_limit", "_as_of"])?;
    let q = required_q(&params)?;
    let limit = number(&params, "_limit", 20, 1..=100)?;
    let view = app.view_at(one(&params, "_as_of")).await?;
    let indexes = view.indexes().await?;
    let (total, found) = indexes.search.find_enterprises(&q, limit);
    let list: Vec<Value> = found
        .into_iter()
        .map(|(e, kind)| {
            let mut v = e.summary();
            v["match"] = json!(kind.name());
            v["url"] = json!(format!(
                "{}/api/v1/enterprises/{}",
                app.base_url,
                crate::api::encode_component(&e.key)
            ));
            v
        })
        .collect();
    Ok(Json(json!({
        "q": q,
        "snapshot": view.id,
        "count": total,
        "truncated": total > list.len(),
        "enterprises": list,
    })))
}

/// One producer: names, code, pass rate with its denominator, by year, provinces, check
/// levels, products, failed items and its history.
#[utoipa::path(get, path = "/api/v1/enterprises/{key}", tag = "search",
    params(
        ("key" = String, Path, description = "The 统一社会信用代码, or the normalised name, as /api/v1/enterprises gives it"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 5000, description = "History rows at most (default 1000; the `sql` field selects them all)"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "The producer and its history", body = Object),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No producer with this key (or unknown snapshot)", body = ErrorBody),
    ))]
pub async fn enterprise(
    State(app): State<Arc<AppState>>,
    Path(key): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    only(&params, &["_limit", "_as_of"])?;
    let limit = number(&params, "_limit", 1000, 1..=5000)?;
    let view = app.view_at(one(&params, "_as_of")).await?;
    let indexes = view.indexes().await?;
    let Some(e) = indexes.search.enterprise(&key) else {
        return Err(QueryError::UnknownEnterprise { key }.into());
    };
    let history = zhijian_query::search::enterprise_history(&view, &e, limit).await?;
    let mut out = history.value;
    out["export"] = json!({
        "csv": format!(
            "{}/api/v1/sql?{}",
            app.base_url,
            crate::api::encode_query(&[
                ("sql".into(), out["sql"].as_str().unwrap_or_default().to_owned()),
                ("_format".into(), "csv".into()),
            ])
        ),
    });
    Ok(crate::api::routed(Json(out), &history.route))
}
