//! Downloads (immutable, per snapshot, with sha256 ETags and Range), the catalog as a Data
//! Package and as DCAT-AP, and the history of snapshots with what changed between them.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use serde_json::Value;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use zhijian_catalog::export::{DataPackageOptions, datapackage, dcat};
use zhijian_query::QueryError;
use zhijian_query::answers::{Changes, ResourceChanges, SnapshotEntry, Snapshots};
use zhijian_query::warehouse::{history, read_manifest};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// A whole resource of a snapshot: `/downloads/{snapshot}/{table}.{parquet|csv|xlsx}`.
#[utoipa::path(get, path = "/downloads/{snapshot}/{file}", tag = "downloads",
    params(("snapshot" = String, Path, description = "Snapshot id"),
           ("file" = String, Path, description = "`<table>.parquet`, `<table>.csv` or `<table>.xlsx`")),
    responses(
        (status = 200, description = "The file (immutable; ETag is its sha256; Range supported)", content(
            (Vec<u8> = "application/vnd.apache.parquet"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 206, description = "Part of the file (Range)"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such snapshot, resource or format", body = ErrorBody),
    ))]
pub async fn download(
    State(app): State<Arc<AppState>>,
    Path((snapshot, file)): Path<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound {
        path: format!("/downloads/{snapshot}/{file}"),
    };
    let (table, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    let manifest = read_manifest(app.warehouse.root(), &snapshot)?;
    let resource = app
        .catalog
        .resource_by_table(table)
        .map_err(|_| not_found())?;
    let entry = manifest.resources.get(&resource.id).ok_or_else(not_found)?;
    let f = match ext {
        "parquet" => entry.files.first(),
        other => entry.downloads.get(other),
    }
    .ok_or_else(not_found)?;
    let etag = format!("\"{}\"", f.sha256);
    if request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    let path = app.warehouse.root().join(&f.path);
    let mime = match ext {
        "parquet" => "application/vnd.apache.parquet",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let served = ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::Internal {
            path: f.path.clone(),
            problem: e.to_string(),
        })?;
    let mut response = served.map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::Internal {
            path: f.path.clone(),
            problem: "listed in the manifest but missing".into(),
        });
    }
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{table}-{snapshot}.{ext}\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256={}", f.sha256)) {
        h.insert("x-checksum-sha256", v);
    }
    Ok(response)
}

/// The whole catalog as a Frictionless Data Package (v2), pointing at the CSV downloads of the
/// current snapshot or of the one `_as_of` names.
///
/// An older snapshot's package is a versioned one a researcher can cite and validate again.
#[utoipa::path(get, path = "/datapackage.json", tag = "catalog",
    params(("_as_of" = Option<String>, Query, description = "Snapshot id (default: current)")),
    responses((status = 200, description = "Data Package v2", body = Object),
              (status = 404, description = "No such snapshot", body = ErrorBody)))]
pub async fn datapackage_json(
    State(app): State<Arc<AppState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let view = app.view(&params).await?;
    let options = DataPackageOptions {
        path_prefix: format!("{}/downloads/{}/", app.base_url, view.id),
        version: Some(view.id.clone()),
        created: view.published_at.clone().filter(|p| !p.is_empty()),
    };
    Ok(Json(datapackage(&app.catalog, &options)))
}

/// The whole catalog as DCAT-AP JSON-LD.
#[utoipa::path(get, path = "/catalog.jsonld", tag = "catalog",
    responses((status = 200, description = "DCAT-AP JSON-LD", content((Object = "application/ld+json")))))]
pub async fn catalog_jsonld(State(app): State<Arc<AppState>>) -> Response {
    let doc = dcat(&app.catalog, &app.base_url);
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    r
}

/// The snapshots that were ever current, newest first.
#[utoipa::path(get, path = "/api/v1/snapshots", tag = "snapshots",
    responses((status = 200, description = "Snapshots with publication time and totals", body = Snapshots)))]
pub async fn snapshots(State(app): State<Arc<AppState>>) -> ApiResult<Json<Snapshots>> {
    let current = app.warehouse.current().await?;
    let mut list: Vec<SnapshotEntry> = history(app.warehouse.root())
        .into_iter()
        .map(|h| {
            let manifest = read_manifest(app.warehouse.root(), &h.id).ok();
            SnapshotEntry {
                retained: manifest.is_some(),
                totals: manifest.map(|m| m.totals).unwrap_or(Value::Null),
                current: h.id == current.id,
                changes: format!("{}/api/v1/snapshots/{}/changes", app.base_url, h.id),
                published_at: (!h.published_at.is_empty()).then_some(h.published_at),
                id: h.id,
            }
        })
        .collect();
    list.reverse();
    Ok(Json(Snapshots {
        current: current.id.clone(),
        snapshots: list,
    }))
}

/// Record ids added and removed per resource between `since` (default: the snapshot before)
/// and this snapshot; a changed source row shows as one removed and one added id.
#[utoipa::path(get, path = "/api/v1/snapshots/{id}/changes", tag = "snapshots",
    params(("id" = String, Path, description = "Snapshot id"),
           ("since" = Option<String>, Query, description = "Earlier snapshot id (default: the one before)"),
           ("resource" = Option<String>, Query, description = "Only this resource (what a `next` link pages)"),
           ("added_after" = Option<String>, Query, description = "List added ids after this one (the last of the previous page)"),
           ("removed_after" = Option<String>, Query, description = "List removed ids after this one (the last of the previous page)"),
           ("_limit" = Option<u32>, Query, minimum = 1, maximum = 100000, description = "Ids listed per resource and kind at most (default 1000); counts are always exact")),
    responses((status = 200, description = "Per resource: added and removed counts and ids, with `truncated` and the `next` page", body = Changes),
              (status = 400, description = "Bad parameter, or a comparison over its deadline or memory", body = ErrorBody),
              (status = 404, description = "Unknown snapshot or resource", body = ErrorBody),
              (status = 410, description = "The snapshot (or `since`) is no longer retained; `allowed` names the oldest retained one", body = ErrorBody),
              (status = 503, description = "Too many heavy requests; retry after Retry-After seconds", body = ErrorBody)))]
pub async fn changes(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Changes>> {
    let root = app.warehouse.root();
    let new = read_manifest(root, &id)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let since = match param("since") {
        Some(s) => Some(s),
        None => {
            let h = history(root);
            h.iter()
                .position(|e| e.id == id)
                .and_then(|i| i.checked_sub(1))
                .map(|i| h[i].id.clone())
        }
    };
    let limit = match param("_limit") {
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => {
                return Err(QueryError::BadParameter {
                    parameter: "_limit".into(),
                    value: v,
                    problem: "expected a whole number from 1 to 100000".into(),
                    allowed: Vec::new(),
                }
                .into());
            }
        },
        None => 1000,
    };
    let old = match &since {
        Some(s) => Some(read_manifest(root, s)?),
        None => None,
    };
    let only = param("resource");
    if let Some(r) = &only
        && !new.resources.contains_key(r)
        && !old.as_ref().is_some_and(|o| o.resources.contains_key(r))
    {
        return Err(QueryError::UnknownResource { id: r.clone() }.into());
    }
    let after = Cursors {
        added: param("added_after"),
        removed: param("removed_after"),
    };
    let mut out = std::collections::BTreeMap::new();
    let ids: std::collections::BTreeSet<&String> = new
        .resources
        .keys()
        .chain(old.iter().flat_map(|o| o.resources.keys()))
        .filter(|r| only.as_ref().is_none_or(|o| o == *r))
        .collect();
    for rid in ids {
        let a = old
            .as_ref()
            .and_then(|o| o.resources.get(rid))
            .and_then(|r| r.files.first());
        let b = new.resources.get(rid).and_then(|r| r.files.first());
        // Content-addressed files: the same hash is the same rows, at no cost.
        if a.map(|f| &f.sha256) == b.map(|f| &f.sha256) {
            continue;
        }
        let a = a.map(|f| root.join(&f.path));
        let b = b.map(|f| root.join(&f.path));
        let diff = diff_ids(a, b, limit, after.clone());
        let (added, removed) = zhijian_query::govern::heavy(diff).await?;
        // More ids after this page's (not: more ids than this page holds, which stays true on
        // every later page and made a `next` link that led to itself).
        let truncated = added.more || removed.more;
        let next = truncated.then(|| {
            let mut pairs: Vec<(String, String)> = vec![("resource".into(), rid.clone())];
            if let Some(s) = &since {
                pairs.push(("since".into(), s.clone()));
            }
            pairs.push(("_limit".into(), limit.to_string()));
            // A list that is complete continues after its last id (nothing more).
            for (name, list, before) in [
                ("added_after", &added.ids, &after.added),
                ("removed_after", &removed.ids, &after.removed),
            ] {
                if let Some(last) = list.last().or(before.as_ref()) {
                    pairs.push((name.into(), last.clone()));
                }
            }
            format!(
                "{}/api/v1/snapshots/{}/changes?{}",
                app.base_url,
                crate::api::encode_component(&id),
                crate::api::encode_query(&pairs)
            )
        });
        out.insert(
            rid.clone(),
            ResourceChanges {
                truncated,
                added: added.total,
                removed: removed.total,
                added_ids: added.ids,
                removed_ids: removed.ids,
                next,
            },
        );
    }
    Ok(Json(Changes {
        snapshot: id,
        since,
        resources: out,
    }))
}

/// One list of a `changes` page: every id of its kind counted, this page's ids, and whether
/// more follow them.
#[derive(Debug, Default)]
struct Side {
    total: u64,
    ids: Vec<String>,
    more: bool,
}

/// Where each list of a `changes` page starts.
#[derive(Debug, Clone, Default)]
struct Cursors {
    added: Option<String>,
    removed: Option<String>,
}

/// Counts and ids (after the cursors, up to `limit`, in order) of the rows only in `b`
/// (added) and only in `a` (removed). An anti-join by sort and merge, in the request's
/// memory pool: both sides are sorted by record id (spilling to disk past the budget)
/// instead of one side held in a hash table, so a diff of two large files stays in budget.
async fn diff_ids(
    a: Option<std::path::PathBuf>,
    b: Option<std::path::PathBuf>,
    limit: usize,
    after: Cursors,
) -> Result<(Side, Side), QueryError> {
    let mut config = datafusion::prelude::SessionConfig::new();
    config.options_mut().optimizer.prefer_hash_join = false;
    let ctx = zhijian_query::govern::session(&SessionContext::new_with_config(config));
    for (name, path) in [("a", &a), ("b", &b)] {
        if let Some(path) = path {
            ctx.register_parquet(
                name,
                path.to_string_lossy().as_ref(),
                ParquetReadOptions::default(),
            )
            .await?;
        }
    }
    let list = async |sql: &str, after: &Option<String>| {
        let df = ctx.sql(sql).await?;
        let mut stream = df.execute_stream().await?;
        let mut ids = Vec::new();
        let mut total = 0u64;
        // Whether ids after this page's last one remain (the rows come in id order).
        let mut more = false;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            total += batch.num_rows() as u64;
            if ids.len() >= limit {
                more |= batch.num_rows() > 0;
                continue;
            }
            for row in zhijian_query::api::batch_to_json(&batch)? {
                if let Some(v) = row.get("record_id").and_then(Value::as_str)
                    && after.as_deref().is_none_or(|a| v > a)
                {
                    if ids.len() < limit {
                        ids.push(v.to_owned());
                    } else {
                        more = true;
                    }
                }
            }
        }
        Ok::<_, QueryError>(Side { total, ids, more })
    };
    let only_in = |x: &str, y: &str| {
        format!(
            "SELECT record_id FROM {x} WHERE NOT EXISTS \
             (SELECT 1 FROM {y} WHERE {y}.record_id = {x}.record_id) ORDER BY record_id"
        )
    };
    let all = |x: &str| format!("SELECT record_id FROM {x} ORDER BY record_id");
    let none = Side::default();
    Ok(match (a.is_some(), b.is_some()) {
        (true, true) => (
            list(&only_in("b", "a"), &after.added).await?,
            list(&only_in("a", "b"), &after.removed).await?,
        ),
        (false, true) => (list(&all("b"), &after.added).await?, none),
        (true, false) => (none, list(&all("a"), &after.removed).await?),
        (false, false) => (Side::default(), none),
    })
}
