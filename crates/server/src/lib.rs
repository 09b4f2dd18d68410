//! The Zhijian HTTP service: the data API of docs/DESIGN.md §7 over the warehouse's current snapshot.
//!
//! Routes and the OpenAPI 3.1 document come from one registration (`utoipa-axum`); `/docs`
//! serves Swagger UI from assets embedded in the binary (no CDN). The handlers only extract,
//! call `zhijian-query` and encode; errors become responses in one place ([`error`]), from
//! which the web pages' statuses and Flight's gRPC statuses derive. Every data answer says
//! whether the snapshot index or SQL answered it (`x-answered-by`, see `api::routed`); public
//! SQL from every surface runs through one runner ([`sql`]'s `run_public`).
//! A new snapshot is picked up without restart: each request takes the current snapshot once
//! and finishes on it, and its response names it (`x-zhijian-snapshot`, see
//! `ops::name_snapshot`), so replicas behind one address can be told apart. Beside the API: the web page of docs/DESIGN.md §8 ([`web`]), Arrow Flight SQL
//! on its own port ([`flight`]) under the same SQL guard, and usage counts ([`usage`]).

pub mod api;
mod csv;
pub mod encode;
pub mod error;
pub mod files;
pub mod flight;
pub mod ops;
pub mod queries;
pub mod search;
pub mod sql;
pub mod usage;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;
use zhijian_catalog::Catalog;
use zhijian_query::govern::{Class, Governor};
use zhijian_query::{SnapshotView, Warehouse};

pub use error::{ApiError, ApiResult};
pub use ops::{BODY_LIMIT, BODY_READ_TIMEOUT};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The warehouse of snapshots.
    pub warehouse: Warehouse,
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Absolute base URL for links (`http://127.0.0.1:8080`), no trailing slash.
    pub base_url: String,
    /// Request classes, slots, deadlines and memory budgets (`zhijian_query::govern`).
    pub governor: Arc<Governor>,
    /// Request counters for `/metrics`.
    pub metrics: ops::Metrics,
    /// Limits of one SQL query (its memory budget is the governor's SQL class budget).
    pub sql_limits: zhijian_query::sql::SqlLimits,
    /// Usage counts (nothing personal).
    pub usage: usage::Usage,
    /// What the dataset pages show of each resource's data, per snapshot.
    pub profiles: web::ProfileCache,
    /// The cluster public SQL runs on (`zhijian serve --ballista`); `None`: this process.
    pub cluster: Option<Arc<dyn zhijian_query::sql::Cluster>>,
}

impl AppState {
    /// State over a warehouse, governed under the default memory ceiling (half the
    /// machine's memory); starts the governor's runtime.
    pub fn new(
        warehouse: impl Into<std::path::PathBuf>,
        catalog: Arc<Catalog>,
        base_url: &str,
    ) -> std::io::Result<Self> {
        let governor = Governor::for_memory(zhijian_query::govern::default_memory_limit())?;
        let warehouse = warehouse.into();
        Ok(Self {
            usage: usage::Usage::new(&warehouse),
            warehouse: Warehouse::new(warehouse, catalog.clone()),
            catalog,
            base_url: base_url.trim_end_matches('/').to_owned(),
            metrics: ops::Metrics::default(),
            sql_limits: sql_limits(&governor),
            governor,
            profiles: web::ProfileCache::default(),
            cluster: None,
        })
    }

    /// The same state with public SQL (`/api/v1/sql`, the named queries, Flight SQL) run on
    /// `cluster` after the same guard and checks; every other request stays in this process.
    pub fn with_cluster(mut self, cluster: Arc<dyn zhijian_query::sql::Cluster>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The same state under another governor (`--memory-limit`); the SQL budget follows it.
    pub fn with_governor(mut self, governor: Arc<Governor>) -> Self {
        self.sql_limits = sql_limits(&governor);
        self.governor = governor;
        self
    }

    /// The same state with `fetch` making an older snapshot's files local before it is read
    /// (a server of a remote warehouse's mirror).
    pub fn with_fetch(mut self, fetch: zhijian_query::warehouse::Fetch) -> Self {
        self.warehouse = self.warehouse.with_fetch(fetch);
        self
    }

    /// The same state with the snapshot index on or off (see `zhijian_query::accel`).
    pub fn with_index_mode(mut self, mode: zhijian_query::IndexMode) -> Self {
        self.warehouse = self.warehouse.with_index_mode(mode);
        self
    }

    /// The snapshot `_as_of` names, or the current one.
    pub async fn view(&self, params: &[(String, String)]) -> ApiResult<Arc<SnapshotView>> {
        let as_of = params
            .iter()
            .find(|(k, _)| k == "_as_of")
            .map(|(_, v)| v.as_str());
        self.view_at(as_of).await
    }

    /// The snapshot with this id, or the current one.
    pub async fn view_at(&self, as_of: Option<&str>) -> ApiResult<Arc<SnapshotView>> {
        // An empty `_as_of=` means the current snapshot, as if it were absent.
        let as_of = as_of.filter(|id| !id.trim().is_empty());
        Ok(self.warehouse.snapshot(as_of).await?)
    }

    /// The URL of a download.
    pub fn download_url(&self, snapshot: &str, table: &str, ext: &str) -> String {
        format!("{}/downloads/{snapshot}/{table}.{ext}", self.base_url)
    }
}

/// SQL limits whose memory budget is the governor's SQL class budget.
fn sql_limits(governor: &Governor) -> zhijian_query::sql::SqlLimits {
    zhijian_query::sql::SqlLimits {
        memory_bytes: governor.config().class(Class::Sql).memory_bytes,
        ..Default::default()
    }
}

/// The OpenAPI document's frame; paths are added by the route registration.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Zhijian (质检) open data API",
        description = "Chinese product-quality supervision data (监督抽查 and 107 more resources): catalog, filtered rows, facets, pass-rate statistics, downloads and snapshots. Filters: `field=v` or `field__op=v` with ops ne lt lte gt gte in notin contains startswith isnull notnull, typed against each resource's Table Schema.",
        license(name = "CC-BY-4.0", url = "https://creativecommons.org/licenses/by/4.0/"),
    ),
    tags(
        (name = "catalog", description = "The 6 categories, 24 subcategories and 108 resources"),
        (name = "data", description = "Rows, facets and statistics"),
        (name = "search", description = "Chinese-aware search, producers with their history, and the product thesaurus"),
        (name = "downloads", description = "Whole resources per snapshot"),
        (name = "sql", description = "Read-only SQL over every resource"),
        (name = "snapshots", description = "Versions and what changed"),
        (name = "operations", description = "Health and metrics"),
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, error::Position, sql::SqlRequest))
)]
struct ApiDoc;

fn registered() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::catalog))
        .routes(routes!(api::resources))
        .routes(routes!(api::resource))
        .routes(routes!(api::rows))
        .routes(routes!(api::facets))
        .routes(routes!(api::stats))
        .routes(routes!(search::search))
        .routes(routes!(search::enterprises))
        .routes(routes!(search::enterprise))
        .routes(routes!(search::products))
        .routes(routes!(sql::sql_get, sql::sql_post))
        .routes(routes!(queries::list))
        .routes(routes!(queries::run))
        .routes(routes!(files::snapshots))
        .routes(routes!(files::changes))
        .routes(routes!(files::download))
        .routes(routes!(files::datapackage_json))
        .routes(routes!(files::catalog_jsonld))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(usage::usage_api))
}

/// The OpenAPI 3.1 document of every route (what `/openapi.json` serves and `openapi.json`
/// in the repository holds).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = registered().split_for_parts().1;
    queries::document(&mut api);
    api
}

/// The OpenAPI document as pretty JSON, with a final newline.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Clone, Default)]
struct Counter(Arc<std::sync::atomic::AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{:016x}-{n}", std::process::id());
        id.parse().ok().map(RequestId::new)
    }
}

/// The whole application: API, docs, operations and middleware.
pub fn app(state: Arc<AppState>) -> Router {
    let (router, mut api) = registered().split_for_parts();
    queries::document(&mut api);
    let request_id = HeaderName::from_static("x-request-id");
    let docs = SwaggerUi::new("/docs")
        .url("/openapi.json", api)
        .config(utoipa_swagger_ui::Config::from("/openapi.json").validator_url("none"));
    router
        .merge(web::routes())
        .merge(docs)
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(ops::name_snapshot))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::govern_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::count_requests,
        ))
        .with_state(state)
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(axum::middleware::from_fn(ops::read_body))
        .layer(CompressionLayer::new())
        .layer(CorsLayer::permissive())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<axum::body::Body>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = request.uri().path(),
                        request_id = id
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, Counter::default()))
}

/// Serves the HTTP API on `addr` (and Flight SQL on `flight_addr`, when given) until Ctrl-C
/// or SIGTERM, then finishes the requests in flight.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    flight_addr: Option<SocketAddr>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let Some(flight_addr) = flight_addr else {
        return serve_listener(state, listener, ops::shutdown_signal()).await;
    };
    let flight_listener = tokio::net::TcpListener::bind(flight_addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("Flight SQL on {flight_addr}: {e}")))?;
    let flight = flight::serve_flight(state.clone(), flight_listener, ops::shutdown_signal());
    let http = serve_listener(state, listener, ops::shutdown_signal());
    tokio::try_join!(http, flight).map(|_| ())
}

/// How long a client may take to send a request's head. `axum::serve` sets no timer, so a
/// client sending its headers a byte at a time held a connection for as long as it liked
/// (docs/SECURITY.md); the request timeout only starts once the head is read. The wait for the
/// next request on a keep-alive connection counts too: an idle connection closes after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then lets the requests in flight finish:
/// `axum::serve`'s loop, with a timer so that a slow request head times out.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    // Each connection holds a receiver; shutdown sends on the channel, then waits until every
    // receiver is gone.
    let (close, closing) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, as axum does.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Streamed answers go out in several writes: with Nagle's algorithm on, each write
        // after the first waits for the client's delayed ACK (40 ms on Linux).
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone());
        let mut closing = closing.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http2().timer(TokioTimer::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    drop(closing);
    let _ = close.send(true);
    close.closed().await;
    Ok(())
}

/// Serves on a bound listener until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve_listener(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    // Open the snapshot before the first request (and say so in /readyz); its search index
    // starts building in the background.
    if let Err(e) = state.warehouse.current().await {
        tracing::warn!(error = %e, "no snapshot to serve yet");
    }
    // Usage counts reach their file every minute, and once more at shutdown.
    let flusher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = state.usage.flush() {
                    tracing::warn!(error = %e, "cannot write usage counts");
                }
            }
        })
    };
    let served = accept_loop(listener, app(state.clone()), shutdown).await;
    flusher.abort();
    if let Err(e) = state.usage.flush() {
        tracing::warn!(error = %e, "cannot write usage counts");
    }
    served
}
