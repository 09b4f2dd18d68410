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

/// Counts every request by its route template (never its raw path: no ids in metrics).
pub async fn count_requests(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let uri = request.uri().clone();
    let response = next.run(request).await;
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

/// Readiness: a snapshot is open and served.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Serving a snapshot", body = Object),
              (status = 503, description = "No snapshot yet", body = ErrorBody)))]
pub async fn readyz(State(app): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let view = app.warehouse.current().await?;
    Ok(Json(json!({"status": "ready", "snapshot": view.id})))
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
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Every unknown path: a 404 in the error envelope.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        path: uri.path().to_owned(),
    }
}

/// A handler that panicked answers 500 for that request only.
pub fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    let body = json!({"error": {"code": "internal", "message": "the server failed answering this request"}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
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
