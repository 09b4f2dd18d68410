//! `/api/v1/search` and `/api/v1/enterprises`: the public's questions — did this product,
//! brand or company fail a spot check? — answered Chinese-aware (`zhijian_query::search`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use zhijian_query::QueryError;
use zhijian_query::answers::{
    IndexSize, ProducerExport, ProducerFound, ProducerHistory, Producers, ProductBatches,
    ProductList, ProductTerms, SearchResult,
};
use zhijian_query::api::{SearchRequest, number, one, only};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};

type Params = Query<Vec<(String, String)>>;

/// Search spot checks: Chinese-aware, ranked, faceted, filterable with the rows grammar.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(
        ("q" = String, Query, description = "Words in 汉字 (any length: 电热, 童装), full- or half-width, traditional or simplified; pinyin (meidi) or initials (md); a model number (typos forgiven); everyday product words (电水壶, 煤气灶, electric kettle) and partial or mistyped names; a question (`2023 广东 电热水壶 不合格`), whose year, province or city, result and level of check become filters (see `understood`)"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Rows per page (default 20)"),
        ("_offset" = Option<u32>, Query, minimum = 0, maximum = 10000, description = "Rows to skip (relevance order)"),
        ("_fields" = Option<String>, Query, description = "Comma-separated fields of the rows"),
        ("_q" = Option<String>, Query, description = "Also require this substring in some text field"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "How the query was read (`understood`), the matched values (field, value, how it matched, batches), the count of rows they select, one page of rows (best match first, then newest), facets by product, province, year and result, and, when nothing matched, `suggestions`", body = SearchResult),
        (status = 400, description = "No `q`, or a bad filter, field or parameter", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn search(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Response> {
    let req = SearchRequest::parse(&app.catalog, &params, &[])?;
    let view = app.view_at(req.rows.as_of.as_deref()).await?;
    let indexes = view.indexes().await?;
    let started = std::time::Instant::now();
    let found = zhijian_query::search::search(
        &view,
        &app.catalog,
        &indexes.search,
        &req.q,
        &params,
        &req.rows,
        req.limit,
        req.offset,
    )
    .await?;
    let mut out = found.value;
    out.elapsed_ms = Some(started.elapsed().as_millis() as u64);
    out.index = Some(IndexSize {
        values: indexes.search.len() as u64,
        enterprises: indexes.search.enterprise_count() as u64,
        rows: u64::from(indexes.search.rows()),
        build_ms: indexes.build_ms,
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
        (status = 200, description = "Producers, best match first: key, names, code, batches, fails, years", body = Producers),
        (status = 400, description = "No `q`, or a bad parameter", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn enterprises(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Json<Producers>> {
    only(&params, &["q", "_limit", "_as_of"])?;
    let q = match one(&params, "q") {
        Some(q) if !q.trim().is_empty() => q.to_owned(),
        other => {
            return Err(QueryError::BadParameter {
                parameter: "q".into(),
                value: other.unwrap_or("").into(),
                problem: "give a word to search for: part of a producer's name (汉字, pinyin or initials) or its 统一社会信用代码".into(),
                allowed: Vec::new(),
            }
            .into());
        }
    };
    let limit = number(&params, "_limit", 20, 1..=100)?;
    let view = app.view_at(one(&params, "_as_of")).await?;
    let indexes = view.indexes().await?;
    let (total, found) = indexes.search.find_enterprises(&q, limit);
    let list: Vec<ProducerFound> = found
        .into_iter()
        .map(|(e, kind)| ProducerFound {
            url: format!(
                "{}/api/v1/enterprises/{}",
                app.base_url,
                crate::api::encode_component(&e.key)
            ),
            kind: kind.name().to_owned(),
            producer: e.summary(),
        })
        .collect();
    Ok(Json(Producers {
        q,
        snapshot: view.id.clone(),
        count: total as u64,
        truncated: total > list.len(),
        enterprises: list,
    }))
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
        (status = 200, description = "The producer and its history", body = ProducerHistory),
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
    out.export = Some(ProducerExport {
        csv: format!(
            "{}/api/v1/sql?{}",
            app.base_url,
            crate::api::encode_query(&[
                ("sql".into(), out.sql.clone()),
                ("_format".into(), "csv".into()),
            ])
        ),
    });
    Ok(crate::api::routed(Json(out), &history.route))
}

/// The product thesaurus: every official product of the spot-check plans, what people call
/// it (everyday, regional, Taiwan/Hong Kong and English words), and its batches.
#[utoipa::path(get, path = "/api/v1/products", tag = "search",
    params(
        ("_as_of" = Option<String>, Query, description = "Snapshot whose batches to count (default: current)"),
    ),
    responses(
        (status = 200, description = "The thesaurus (schemas/products.toml) with batches per product, and the snapshot's products it does not list", body = ProductList),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn products(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Json<ProductList>> {
    only(&params, &["_as_of"])?;
    let view = app.view_at(one(&params, "_as_of")).await?;
    let indexes = view.indexes().await?;
    let mut batches = indexes.search.product_batches();
    let thesaurus = &app.catalog.products;
    let products = thesaurus
        .products
        .iter()
        .map(|p| {
            let n = batches
                .iter()
                .filter(|(name, _)| *name == p.name)
                .map(|(_, n)| n)
                .sum();
            ProductTerms {
                name: p.name.clone(),
                category: p.category.clone(),
                subcategory: Some(p.subcategory.clone()).filter(|s| !s.is_empty()),
                everyday: p.everyday.clone(),
                regional: p.regional.clone(),
                traditional: p.traditional.clone(),
                english: p.english.clone(),
                batches: n,
                search: format!(
                    "{}/api/v1/search?q={}",
                    app.base_url,
                    crate::api::encode_component(&p.name)
                ),
            }
        })
        .collect::<Vec<_>>();
    batches.retain(|(name, _)| thesaurus.product(name).is_none());
    Ok(Json(ProductList {
        snapshot: view.id.clone(),
        count: products.len() as u64,
        shared: thesaurus.shared.clone(),
        products,
        unlisted: batches
            .into_iter()
            .map(|(name, batches)| ProductBatches { name, batches })
            .collect(),
    }))
}
