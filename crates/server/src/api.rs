//! `/api/v1`: catalog, resources, rows, facets and pass-rate statistics.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use zhijian_catalog::{Catalog, Resource};
use zhijian_query::answers::{Facets, RowsPage, Stats};
use zhijian_query::api::{self as q, RowsRequest};
use zhijian_query::{QueryError, Route, SnapshotView};

use crate::AppState;
use crate::encode::{Format, Source, stream_response, xlsx_response};
use crate::error::{ApiError, ApiResult, ErrorBody};

type Params = Query<Vec<(String, String)>>;

/// Excel's sheet holds 1,048,576 rows, one of them the header.
const XLSX_MAX_ROWS: u64 = 1_048_575;

fn resource_summary(app: &AppState, view: &SnapshotView, r: &Resource) -> Value {
    let entry = view.resource(&r.id);
    json!({
        "id": r.id,
        "table": r.table,
        "title_zh": r.title_zh,
        "title_en": r.title_en,
        "category": r.category_id(),
        "subcategory": r.subcategory_id(),
        "spot_check": r.spot_check,
        "schema": r.schema,
        "rows": entry.map(|e| e.rows),
        "url": format!("{}/api/v1/resources/{}", app.base_url, r.id),
    })
}

/// The 6 → 24 → 108 tree, with row counts of the current snapshot.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog",
    params(("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)")),
    responses((status = 200, description = "Categories, subcategories and resources with row counts", body = Object),
              (status = 404, description = "Unknown snapshot", body = ErrorBody)))]
pub async fn catalog(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let view = app.view(&params).await?;
    let c = &app.catalog;
    let categories: Vec<Value> = c
        .categories
        .iter()
        .map(|cat| {
            let subs: Vec<Value> = c
                .subcategories_of(&cat.id)
                .map(|sub| {
                    let resources: Vec<Value> = c
                        .resources_of(&sub.id)
                        .map(|r| resource_summary(&app, &view, r))
                        .collect();
                    json!({"id": sub.id, "title_zh": sub.title_zh, "title_en": sub.title_en, "resources": resources})
                })
                .collect();
            json!({"id": cat.id, "title_zh": cat.title_zh, "title_en": cat.title_en,
                   "description_zh": cat.description_zh, "description_en": cat.description_en,
                   "subcategories": subs})
        })
        .collect();
    Ok(Json(json!({
        "title_zh": c.info.title_zh,
        "title_en": c.info.title_en,
        "snapshot": view.id,
        "counts": {"categories": c.categories.len(), "subcategories": c.subcategories.len(), "resources": c.resources.len()},
        "categories": categories,
    })))
}

/// Every resource with its metadata and row count.
#[utoipa::path(get, path = "/api/v1/resources", tag = "catalog",
    params(("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)")),
    responses((status = 200, description = "The 108 resources", body = Object),
              (status = 404, description = "Unknown snapshot", body = ErrorBody)))]
pub async fn resources(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let view = app.view(&params).await?;
    let list: Vec<Value> = app
        .catalog
        .resources
        .iter()
        .map(|r| resource_summary(&app, &view, r))
        .collect();
    Ok(Json(json!({"snapshot": view.id, "resources": list})))
}

pub(crate) fn citation(c: &Catalog, r: &Resource, view: &SnapshotView, url: &str) -> Value {
    let year = view
        .published_at
        .as_deref()
        .and_then(|p| p.get(..4))
        .unwrap_or("n.d.");
    json!({
        "text_zh": format!("{}. {}（{}）[数据集]. 快照 {}. {}", c.info.publisher_zh, r.title_zh, r.id, view.id, url),
        "text_en": format!("{} ({year}). {} ({}) [Data set]. Snapshot {}. {}", c.info.publisher_en, r.title_en, r.id, view.id, url),
    })
}

/// One resource: bilingual metadata, Table Schema, rows, snapshot, sources, downloads, citation.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id, e.g. A1-02"),
           ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)")),
    responses((status = 200, description = "The resource", body = Object),
              (status = 404, description = "Unknown resource or snapshot", body = ErrorBody)))]
pub async fn resource(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let view = app.view(&params).await?;
    let r = app
        .catalog
        .resource(&id)
        .map_err(|_| QueryError::UnknownResource { id: id.clone() })?;
    let schema = app
        .catalog
        .schema_of(r)
        .map_err(|_| QueryError::UnknownResource { id: id.clone() })?;
    let entry = view.resource(&id);
    let mut downloads = serde_json::Map::new();
    if let Some(e) = entry {
        if let Some(f) = e.files.first() {
            downloads.insert("parquet".into(), json!({"url": app.download_url(&view.id, &r.table, "parquet"), "sha256": f.sha256, "bytes": f.bytes}));
        }
        for (fmt, f) in &e.downloads {
            downloads.insert(fmt.clone(), json!({"url": app.download_url(&view.id, &r.table, fmt), "sha256": f.sha256, "bytes": f.bytes}));
        }
    }
    let url = format!("{}/api/v1/resources/{}", app.base_url, r.id);
    Ok(Json(json!({
        "id": r.id,
        "table": r.table,
        "title_zh": r.title_zh,
        "title_en": r.title_en,
        "description_zh": r.description_zh,
        "description_en": r.description_en,
        "publisher_zh": r.publisher_zh,
        "publisher_en": r.publisher_en,
        "category": r.category_id(),
        "subcategory": r.subcategory_id(),
        "frequency": r.frequency,
        "license": r.license,
        "keywords_zh": r.keywords_zh,
        "keywords_en": r.keywords_en,
        "temporal": {"start": r.temporal_start, "end": r.temporal_end},
        "spot_check": r.spot_check,
        "schema": schema,
        "snapshot": view.id,
        "published_at": view.published_at,
        "rows": entry.map(|e| e.rows),
        "accounting": entry.map(|e| e.accounting.clone()),
        "sources": entry.map(|e| e.sources.clone()).unwrap_or_default(),
        "rejects": entry.and_then(|e| e.rejects.as_ref()).map(|f| json!({"rows": f.rows, "sha256": f.sha256})),
        "downloads": downloads,
        "links": {
            "rows": format!("{url}/rows"),
            "facets": format!("{url}/facets"),
        },
        "citation": citation(&app.catalog, r, &view, &url),
    })))
}

/// An answer with the `x-answered-by` (`index` or `sql`) and `x-answered-by-reason` headers of
/// its route (see `zhijian_query::accel`).
pub(crate) fn routed(answer: impl IntoResponse, route: &Route) -> Response {
    let mut response = answer.into_response();
    let reason: String = route
        .reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let headers = response.headers_mut();
    headers.insert(
        "x-answered-by",
        axum::http::HeaderValue::from_static(route.engine.name()),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&reason) {
        headers.insert("x-answered-by-reason", v);
    }
    response
}

fn format_of(req: &RowsRequest, headers: &HeaderMap) -> ApiResult<Format> {
    match &req.format {
        Some(name) => Format::from_name(name),
        None => Ok(Format::from_accept(headers)),
    }
}

fn flag(params: &[(String, String)], name: &str) -> bool {
    params
        .iter()
        .any(|(k, v)| k == name && matches!(v.as_str(), "" | "1" | "true"))
}

/// Filtered rows: a JSON page with a keyset cursor, or the whole result streamed as NDJSON,
/// CSV, Parquet, Arrow or XLSX.
#[utoipa::path(get, path = "/api/v1/resources/{id}/rows", tag = "data",
    params(
        ("id" = String, Path, description = "Resource id (e.g. A1-02), or `spot_checks` for all spot-check resources"),
        ("_q" = Option<String>, Query, description = "Substring over every text field"),
        ("_sort" = Option<String>, Query, description = "Comma-separated fields, `-` for descending (`plan_year,-announced_on`); record_id is always the last key"),
        ("_fields" = Option<String>, Query, description = "Comma-separated fields to return"),
        ("_limit" = Option<u32>, Query, minimum = 1, description = "JSON: page size (default 100, at most 1000). Other formats: cap on the whole result (default none)"),
        ("_cursor" = Option<String>, Query, description = "`next_cursor` of the previous page; bound to its snapshot"),
        ("_count" = Option<String>, Query, description = "`exact` (default) or `none`"),
        ("_format" = Option<String>, Query, description = "json, ndjson, csv, parquet, arrow or xlsx (or use Accept)"),
        ("_bom" = Option<bool>, Query, description = "CSV: start with a UTF-8 byte-order mark (for Excel on Windows)"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "Rows; `x-answered-by` says whether the snapshot index or SQL answered, `x-answered-by-reason` why", content(
            (RowsPage = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"),
            (Vec<u8> = "application/vnd.apache.arrow.stream"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad field, operator, value or parameter (named in the error)", body = ErrorBody),
        (status = 404, description = "Unknown resource or snapshot", body = ErrorBody),
    ))]
pub async fn rows(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    let req = RowsRequest::parse(&app.catalog, &id, &params, &["_bom"])?;
    let format = format_of(&req, &headers)?;
    let view = app.view_at(req.as_of.as_deref()).await?;
    let (table, schema, _) = q::resolve(&app.catalog, &id)?;
    let filename = format!("{table}-{}", view.id);
    match format {
        Format::Json => {
            let page = q::page(&view, &app.catalog, &id, &req).await?;
            let next = page.next_cursor.as_ref().map(|c| {
                let mut pairs: Vec<(String, String)> = params
                    .iter()
                    .filter(|(k, _)| k != "_cursor" && k != "_as_of")
                    .cloned()
                    .collect();
                pairs.push(("_cursor".into(), c.clone()));
                format!("{}{}?{}", app.base_url, uri.path(), encode_query(&pairs))
            });
            let route = page.route;
            let body = RowsPage {
                resource: id,
                snapshot: view.id.clone(),
                count: page.count,
                rows: page.rows,
                next_cursor: page.next_cursor,
                next,
            };
            Ok(routed(Json(body), &route))
        }
        Format::Xlsx => {
            let n = q::page(
                &view,
                &app.catalog,
                &id,
                &RowsRequest {
                    limit: Some(1),
                    count: q::CountMode::Exact,
                    ..req.clone()
                },
            )
            .await?
            .count
            .unwrap_or(0);
            let n = req.limit.map_or(n, |l| n.min(l as u64));
            if n > XLSX_MAX_ROWS {
                return Err(ApiError::Format {
                    format: "xlsx".into(),
                    problem: format!(
                        "{n} rows do not fit one sheet ({XLSX_MAX_ROWS} rows); use csv or parquet, or filter"
                    ),
                    allowed: vec![
                        "csv".into(),
                        "parquet".into(),
                        "ndjson".into(),
                        "arrow".into(),
                    ],
                });
            }
            let permit = zhijian_query::govern::admit_export().await?;
            let df = q::rows_frame(&view, &app.catalog, &id, &req, true).await?;
            Ok(routed(
                xlsx_response(df, schema.clone(), &filename, permit).await?,
                &Route::sql("xlsx is written from a query"),
            ))
        }
        other => {
            // An export slot (or 503) before the query is planned, so that it plans with
            // the export budget; the slot is held to the end of the stream.
            let permit = zhijian_query::govern::admit_export().await?;
            let flatten = other == Format::Csv;
            // Text formats in the default order read by position when the index holds the
            // filters; Parquet and Arrow keep the query's column types.
            let ordered = match other {
                Format::Csv | Format::Ndjson => {
                    q::ordered_rows(&view, &app.catalog, &id, &req, flatten)?
                }
                _ => Err(Route::sql(
                    "parquet and arrow keep the query's column types",
                )),
            };
            let (source, route) = match ordered {
                Ok(rows) => (Source::Ordered(rows.value), rows.route),
                Err(route) => (
                    Source::Frame(q::rows_frame(&view, &app.catalog, &id, &req, flatten).await?),
                    route,
                ),
            };
            Ok(routed(
                stream_response(
                    source,
                    other,
                    &filename,
                    flag(&params, "_bom"),
                    (permit, view.clone()),
                ),
                &route,
            ))
        }
    }
}

/// Percent-encoding of a query value or path segment (unreserved characters kept).
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `a=1&b=2` with percent-encoding.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Value counts of fields under the rows filters, and date histograms.
#[utoipa::path(get, path = "/api/v1/resources/{id}/facets", tag = "data",
    params(
        ("id" = String, Path, description = "Resource id, or `spot_checks`"),
        ("_facet" = Vec<String>, Query, description = "Field to count (repeatable); `date_field:year|quarter|month` for a histogram"),
        ("_facet_size" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Values per facet (default 20, at most 1000)"),
        ("_q" = Option<String>, Query, description = "Substring over every text field"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "Facets: values with counts, distinct values, `other` and an honest `truncated`", body = Facets),
        (status = 400, description = "A bad field, operator, value or parameter", body = ErrorBody),
        (status = 404, description = "Unknown resource or snapshot", body = ErrorBody),
    ))]
pub async fn facets(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let req = q::FacetsRequest::parse(&app.catalog, &id, &params)?;
    let view = app.view_at(req.rows.as_of.as_deref()).await?;
    let mut out = Vec::new();
    let mut route: Option<Route> = None;
    for spec in &req.facets {
        let facet = q::facet(&view, &app.catalog, &id, &req.rows, spec, req.size).await?;
        route = Some(match route {
            Some(r) => r.and(facet.route),
            None => facet.route,
        });
        out.push(facet.value);
    }
    let body = Facets {
        resource: id,
        snapshot: view.id.clone(),
        facets: out,
    };
    Ok(routed(
        Json(body),
        &route.unwrap_or_else(|| Route::sql("no facet")),
    ))
}

/// Batches, fails and pass rate with its Wilson 95 % interval, grouped; only full-scope
/// publications form the denominator.
#[utoipa::path(get, path = "/api/v1/spot-checks/stats", tag = "data",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated: plan_year, product, product_category, enterprise_province_code, enterprise_province, check_level, sampling_channel, resource_id"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "Groups at most (default 1000)"),
        ("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)"),
    ),
    responses(
        (status = 200, description = "Groups with batches, passes, fails, pass_rate, pass_rate_ci95 and fail_only_failures", body = Stats),
        (status = 400, description = "A bad group, field, operator or value", body = ErrorBody),
        (status = 404, description = "Unknown snapshot", body = ErrorBody),
    ))]
pub async fn stats(State(app): State<Arc<AppState>>, Query(params): Params) -> ApiResult<Response> {
    let req = q::StatsRequest::parse(&app.catalog, &params)?;
    let view = app.view_at(req.rows.as_of.as_deref()).await?;
    let stats = q::stats(&view, &req.rows, &req.group_by, req.max_groups).await?;
    Ok(routed(Json(stats.value), &stats.route))
}
