//! Operations: health, readiness, Prometheus metrics, the JSON 404 and panic responses, and
//! graceful shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// Request counts and time spent, by route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    by_route: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

impl Metrics {
    fn record(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.by_route.lock() {
            let e = m.entry((route.to_owned(), status)).or_default();
            e.0 += 1;
            e.1 += seconds;
        }
    }
}

/// Counts every request by its route template (never its raw path: no ids in metrics), with
/// its request id known to the error responses ([`crate::error::request_id`]); a handler
/// that panics answers 500 with that id.
pub async fn count_requests(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    use futures::FutureExt;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let uri = request.uri().clone();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let answered = crate::error::REQUEST_ID
        .scope(
            id.clone(),
            std::panic::AssertUnwindSafe(next.run(request)).catch_unwind(),
        )
        .await;
    let response = match answered {
        Ok(response) => response,
        Err(payload) => {
            tracing::error!(
                request_id = id,
                panic = zhijian_query::govern::panic_text(payload.as_ref()),
                "a handler panicked"
            );
            internal_response(&id)
        }
    };
    if response.status().as_u16() < 400 {
        for (kind, key) in crate::usage::classify(&route, &uri) {
            app.usage.record(kind, &key);
        }
    }
    app.metrics.record(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Object)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: a snapshot is open and served, and where its search index stands: `building`
/// (SQL answers meanwhile), or `ready` with its source (`file`: read from the snapshot's
/// index file; `built`: built by this server, with the reason no file was read).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Serving a snapshot", body = Object),
              (status = 503, description = "No snapshot yet", body = ErrorBody)))]
pub async fn readyz(State(app): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let view = app.warehouse.current().await?;
    let index = match view.indexes_ready() {
        Some(i) => {
            let mut v = serde_json::to_value(&i.origin).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("state".into(), json!("ready"));
                o.insert("ms".into(), json!(i.build_ms));
            }
            v
        }
        None => json!({"state": "building"}),
    };
    // Where public SQL runs (the scheduler's address stays in the log).
    let sql = if app.cluster.is_some() {
        "ballista"
    } else {
        "local"
    };
    Ok(Json(
        json!({"status": "ready", "snapshot": view.id, "index": index, "sql": sql}),
    ))
}

/// Prometheus text: requests and seconds by route and status, and the snapshot served.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content((String = "text/plain")))))]
pub async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let mut out = String::new();
    out.push_str(
        "# HELP zhijian_http_requests_total HTTP requests by route template and status.\n",
    );
    out.push_str("# TYPE zhijian_http_requests_total counter\n");
    let snapshot: Vec<((String, u16), (u64, f64))> = app
        .metrics
        .by_route
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for ((route, status), (n, _)) in &snapshot {
        out.push_str(&format!(
            "zhijian_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}\n",
            esc(route)
        ));
    }
    out.push_str("# HELP zhijian_http_request_seconds_total Time spent answering, by route template and status.\n");
    out.push_str("# TYPE zhijian_http_request_seconds_total counter\n");
    for ((route, status), (_, secs)) in &snapshot {
        out.push_str(&format!(
            "zhijian_http_request_seconds_total{{route=\"{}\",status=\"{status}\"}} {secs:.6}\n",
            esc(route)
        ));
    }
    if let Ok(view) = app.warehouse.current().await {
        out.push_str("# HELP zhijian_snapshot_info The snapshot being served.\n");
        out.push_str("# TYPE zhijian_snapshot_info gauge\n");
        out.push_str(&format!(
            "zhijian_snapshot_info{{snapshot=\"{}\"}} 1\n",
            view.id
        ));
        let rows: u64 = view.manifest.resources.values().map(|r| r.rows).sum();
        out.push_str("# HELP zhijian_snapshot_rows Rows published in the snapshot being served.\n");
        out.push_str("# TYPE zhijian_snapshot_rows gauge\n");
        out.push_str(&format!("zhijian_snapshot_rows {rows}\n"));
    }
    governor_metrics(&app.governor, &mut out);
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The governor's ceiling, pool and classes in Prometheus text.
fn governor_metrics(governor: &zhijian_query::govern::Governor, out: &mut String) {
    use std::fmt::Write;
    let config = governor.config();
    let mut gauge = |name: &str, help: &str, kind: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    gauge(
        "zhijian_memory_limit_bytes",
        "The server's memory ceiling (--memory-limit).",
        "gauge",
        vec![(String::new(), config.memory_limit.to_string())],
    );
    gauge(
        "zhijian_query_memory_limit_bytes",
        "What the queries of all requests together may reserve.",
        "gauge",
        vec![(String::new(), config.query_memory.to_string())],
    );
    gauge(
        "zhijian_query_memory_used_bytes",
        "What the queries of all requests reserve now.",
        "gauge",
        vec![(String::new(), governor.memory_used().to_string())],
    );
    let stats = governor.stats();
    let per = |f: &dyn Fn(&zhijian_query::govern::ClassStats) -> String| {
        stats
            .iter()
            .map(|c| (format!("{{class=\"{}\"}}", c.class.name()), f(c)))
            .collect::<Vec<_>>()
    };
    gauge(
        "zhijian_class_slots",
        "Requests of the class that may run at once.",
        "gauge",
        per(&|c| c.slots.to_string()),
    );
    gauge(
        "zhijian_class_memory_budget_bytes",
        "Memory one request of the class may reserve.",
        "gauge",
        per(&|c| c.memory_bytes.to_string()),
    );
    gauge(
        "zhijian_class_running",
        "Requests of the class running now.",
        "gauge",
        per(&|c| c.running.to_string()),
    );
    gauge(
        "zhijian_class_queued",
        "Requests of the class waiting for a slot now.",
        "gauge",
        per(&|c| c.queued.to_string()),
    );
    gauge(
        "zhijian_class_admitted_total",
        "Requests admitted to the class.",
        "counter",
        per(&|c| c.admitted.to_string()),
    );
    gauge(
        "zhijian_class_shed_total",
        "Requests refused with 503 (queue full, or no slot within the wait).",
        "counter",
        per(&|c| c.shed.to_string()),
    );
    let cancelled = stats
        .iter()
        .flat_map(|c| {
            [
                (
                    format!("{{class=\"{}\",reason=\"deadline\"}}", c.class.name()),
                    c.deadline.to_string(),
                ),
                (
                    format!("{{class=\"{}\",reason=\"client_gone\"}}", c.class.name()),
                    c.gone.to_string(),
                ),
            ]
        })
        .collect();
    gauge(
        "zhijian_class_cancelled_total",
        "Requests whose work was cancelled: at their deadline, or because the client went away.",
        "counter",
        cancelled,
    );
}

/// Every unknown path: a 404 in the error envelope.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        path: uri.path().to_owned(),
    }
}

/// A 500 that says only its code and the request id.
fn internal_response(id: &str) -> Response {
    let body = json!({"error": {"code": "internal", "message": "the server failed answering this request; quote its request_id when reporting it", "request_id": id}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// A panic outside the handlers (a middleware) answers 500 for that request only.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!(
        panic = zhijian_query::govern::panic_text(err.as_ref()),
        "a layer panicked"
    );
    internal_response("")
}

/// Paths outside the request classes: operations (cheap, and needed most under load), the
/// API documents, and public SQL (the SQL class, taken by its own runner).
fn ungoverned(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/openapi.json")
        || path.starts_with("/docs")
        || path.starts_with("/assets/")
        || path.starts_with("/api/v1/sql")
        || path.starts_with("/sql")
        || (path.starts_with("/api/v1/queries/") && path.len() > "/api/v1/queries/".len())
}

/// The header that names the snapshot a response was read from.
pub const SNAPSHOT_HEADER: &str = "x-zhijian-snapshot";

/// Names in `x-zhijian-snapshot` the snapshot the handler read (the current one, or the one
/// `_as_of` or a cursor named): replicas behind one address may switch to a new snapshot a
/// moment apart, and a client can tell which one answered. Responses that read none (health,
/// documents, assets) carry no such header.
pub async fn name_snapshot(req: Request, next: Next) -> Response {
    let (mut response, id) = zhijian_query::warehouse::naming_snapshot(next.run(req)).await;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(SNAPSHOT_HEADER, value);
    }
    response
}

/// Admits every other request as light (waiting in the light queue, or 503), under the
/// light deadline; what it runs on SQL takes a heavy or export slot on the way.
pub async fn govern_requests(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if ungoverned(request.uri().path()) {
        return next.run(request).await;
    }
    match app
        .governor
        .govern(zhijian_query::govern::Class::Light, next.run(request))
        .await
    {
        Ok(response) => response,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The largest request body the server takes (only `POST /api/v1/sql` takes one).
pub const BODY_LIMIT: usize = 256 * 1024;

/// How long a client may take to send a request body: with [`crate::HEADER_READ_TIMEOUT`], a
/// connection that sends its request a byte at a time is cut off, not held for the 60 s
/// request timeout.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads a request's body before anything else sees it: at most [`BODY_LIMIT`] bytes (413
/// past it, also when `Content-Length` says so before a byte is sent), within
/// [`BODY_READ_TIMEOUT`] (408). Bodies are small, so holding one whole costs little, and no
/// request slot is held while a slow client sends it.
pub async fn read_body(request: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return next.run(request).await;
    }
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return ApiError::BodyTooLarge { limit: BODY_LIMIT }.into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, BODY_LIMIT);
    match tokio::time::timeout(BODY_READ_TIMEOUT, limited.collect()).await {
        Err(_) => ApiError::BodyTimeout {
            seconds: BODY_READ_TIMEOUT.as_secs(),
        }
        .into_response(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            ApiError::BodyTooLarge { limit: BODY_LIMIT }.into_response()
        }
        Ok(Err(e)) => ApiError::BodyUnreadable {
            problem: e.to_string(),
        }
        .into_response(),
        Ok(Ok(collected)) => {
            next.run(Request::from_parts(
                parts,
                axum::body::Body::from(collected.to_bytes()),
            ))
            .await
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
