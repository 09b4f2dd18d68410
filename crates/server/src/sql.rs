//! `/api/v1/sql`: read-only SQL over the whole snapshot for analysts, public and anonymous.
//!
//! Every query runs in its own task (a panic answers 500 for that request only) under a
//! wall-clock deadline that covers planning and execution, with its own memory pool and
//! spill cap (`zhijian_query::sql`); a fixed number run at once, and one more gets 503 with
//! `Retry-After` at once instead of waiting in a queue. A client that goes away cancels its
//! query. JSON answers are capped (default 1000 rows) with `truncated` and links to the
//! streamed export of the same query, which has no cap.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use zhijian_query::accel::{Engine, Route};
use zhijian_query::govern::Class;
use zhijian_query::sql::{SqlLimits, plan_public};
use zhijian_query::{QueryError, SnapshotView};

use crate::AppState;
use crate::api::encode_query;
use crate::encode::{Format, Source, stream_with_deadline};
use crate::error::{ApiError, ApiResult, ErrorBody};

/// JSON results hold at most this many rows unless `limit` asks for fewer (or up to
/// [`MAX_JSON_ROWS`]).
pub const DEFAULT_JSON_ROWS: usize = 1000;
/// The largest `limit` a JSON answer takes.
pub const MAX_JSON_ROWS: usize = 10_000;

/// A query.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SqlRequest {
    /// SELECT, WITH or EXPLAIN.
    pub sql: String,
    /// json (default), ndjson, csv, parquet or arrow.
    #[serde(default)]
    pub format: Option<String>,
    /// JSON only: rows at most (default 1000, at most 10000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A public query planned on its own thread, as its consumer gets it.
pub(crate) struct Planned {
    /// The checked plan, ready to run.
    pub query: zhijian_query::sql::PublicQuery,
    /// The snapshot it was planned on (kept open to the end of the query).
    pub view: Arc<SnapshotView>,
    /// The snapshot's tables (for error messages).
    pub tables: Vec<String>,
    /// When the query must end.
    pub deadline: tokio::time::Instant,
    /// The deadline in seconds (for error messages).
    pub seconds: u64,
}

/// Where a consumer of a public query sends its answer, once.
pub(crate) struct Reply<T>(tokio::sync::oneshot::Sender<Result<T, QueryError>>);

impl<T> Reply<T> {
    /// Sends the answer; `false` when the caller is gone.
    pub fn send(self, answer: Result<T, QueryError>) -> bool {
        self.0.send(answer).is_ok()
    }

    /// Resolves when the caller is gone (client away, or past the deadline).
    pub async fn closed(&mut self) {
        self.0.closed().await;
    }
}

/// The one runner of public SQL, for `/api/v1/sql`, the named queries and Flight SQL: takes
/// one of the shared SQL slots (none free: [`QueryError::Busy`] at once, no queue), plans
/// `sql` with [`plan_public`] on the snapshot (`None`: the current one) under the wall-clock
/// deadline, on a thread and runtime of its own ([`on_query_thread`]), then hands the plan
/// to `consume`, which runs it there and replies. The caller waits for the reply up to the
/// deadline (and a grace of 250 ms, in case the query's own timers are stuck); a query that
/// panics ends its thread without a reply, which answers as an internal error.
pub(crate) async fn run_public<T, F, Fut>(
    app: &AppState,
    snapshot: Option<&str>,
    sql: String,
    consume: F,
) -> Result<T, QueryError>
where
    T: Send + 'static,
    F: FnOnce(Planned, Reply<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let permit = app.governor.try_admit(Class::Sql)?;
    let view = app.warehouse.snapshot(snapshot).await?;
    let limits: SqlLimits = app.sql_limits.clone();
    let seconds = limits.deadline.as_secs();
    let deadline = tokio::time::Instant::now() + limits.deadline;
    let pool = app.governor.pool_of(limits.memory_bytes);
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, QueryError>>();
    // A panic inside the engine ends the query's work without a reply; its message comes
    // here, so that the caller answers with it (the query's fault: 400), not with a 500.
    let (panicked, panic_text) = tokio::sync::oneshot::channel::<String>();
    let cluster = app.cluster.clone();
    on_query_thread(permit, panicked, move || async move {
        let mut reply = Reply(tx);
        let tables = view.tables();
        let plan = plan_public(
            &view.ctx,
            &tables,
            &sql,
            &limits,
            pool,
            view.counted(),
            cluster.as_deref(),
        );
        let planned = tokio::select! {
            planned = tokio::time::timeout_at(deadline, plan) => planned,
            // The caller is gone: stop.
            () = reply.closed() => return,
        };
        match planned {
            Err(_) => {
                reply.send(Err(QueryError::Deadline { seconds }));
            }
            Ok(Err(e)) => {
                reply.send(Err(e));
            }
            Ok(Ok(query)) => {
                let planned = Planned {
                    query,
                    view,
                    tables,
                    deadline,
                    seconds,
                };
                consume(planned, reply).await;
            }
        }
    })
    .map_err(|e| QueryError::Output(format!("cannot start a query thread: {e}")))?;
    // Dropping `rx` at the deadline tells the query to stop.
    match tokio::time::timeout_at(deadline + Duration::from_millis(250), rx).await {
        Err(_) => Err(QueryError::Deadline { seconds }),
        Ok(Err(_)) => {
            let text = tokio::time::timeout(Duration::from_secs(1), panic_text)
                .await
                .ok()
                .and_then(Result::ok);
            match text {
                Some(text) => Err(QueryError::Invalid {
                    message: format!(
                        "the engine failed on this query (DataFusion panicked: {text}); \
                         check the arguments it names"
                    ),
                    position: None,
                    suggestions: Vec::new(),
                }),
                None => Err(QueryError::Output(
                    "the query's thread ended without an answer".into(),
                )),
            }
        }
        Ok(Ok(answer)) => answer,
    }
}

/// What `/api/v1/sql` answers from the query thread: a streamed response, or the columns and
/// rows of a JSON answer.
enum Outcome {
    Stream(Response),
    Json(Vec<Value>, Vec<serde_json::Map<String, Value>>),
}

/// Runs a planned query for a JSON answer: its columns, and rows up to the cap and one more
/// (to know it is cut); then the stream is dropped, which stops the query. No LIMIT is added:
/// EXPLAIN must stay the root of its plan.
async fn json_outcome(p: &Planned, cap: usize) -> Result<Outcome, QueryError> {
    let columns: Vec<Value> = p
        .query
        .schema()
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
        .collect();
    let collect = async {
        let mut stream = p
            .query
            .clone()
            .execute_stream()
            .await
            .map_err(|e| zhijian_query::sql::explain_error(e, &p.tables))?;
        let mut rows = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| zhijian_query::sql::explain_error(e, &p.tables))?;
            rows.extend(zhijian_query::api::batch_to_json(&batch)?);
            if rows.len() > cap {
                break;
            }
        }
        Ok::<_, QueryError>(rows)
    };
    let rows = tokio::time::timeout_at(p.deadline, collect)
        .await
        .map_err(|_| QueryError::Deadline { seconds: p.seconds })??;
    Ok(Outcome::Json(columns, rows))
}

/// `_limit` of a JSON answer, when given.
pub(crate) fn json_limit(params: &[(String, String)]) -> ApiResult<Option<usize>> {
    match params.iter().find(|(k, _)| k == "_limit") {
        Some((_, v)) => Ok(Some(v.parse::<usize>().map_err(|_| {
            QueryError::BadParameter {
                parameter: "_limit".into(),
                value: v.clone(),
                problem: "expected a whole number".into(),
                allowed: Vec::new(),
            }
        })?)),
        None => Ok(None),
    }
}

/// Read-only SQL by query string.
#[utoipa::path(get, path = "/api/v1/sql", tag = "sql",
    params(
        ("sql" = String, Query, description = "SELECT, WITH or EXPLAIN over every resource table and `spot_checks`"),
        ("_format" = Option<String>, Query, description = "json (default), ndjson, csv, parquet or arrow"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "JSON only: rows at most (default 1000)"),
    ),
    responses(
        (status = 200, description = "Result; `x-answered-by` is `index` when an aggregate over spot_checks read the index's counted rows, else `sql`", content(
            (Object = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"), (Vec<u8> = "application/vnd.apache.arrow.stream"))),
        (status = 400, description = "Refused, invalid, over its deadline or its memory (the error says which, with position and suggestions)", body = ErrorBody),
        (status = 503, description = "Every query slot is busy; retry after the Retry-After seconds", body = ErrorBody),
    ))]
pub async fn sql_get(
    State(app): State<Arc<AppState>>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let sql = get("sql").ok_or_else(|| QueryError::BadParameter {
        parameter: "sql".into(),
        value: String::new(),
        problem: "give the query in `sql`".into(),
        allowed: Vec::new(),
    })?;
    run(&app, sql, get("_format"), json_limit(&params)?, &headers).await
}

/// Read-only SQL in a JSON body.
#[utoipa::path(post, path = "/api/v1/sql", tag = "sql",
    request_body = SqlRequest,
    responses(
        (status = 200, description = "Result; `x-answered-by` is `index` when an aggregate over spot_checks read the index's counted rows, else `sql`", content(
            (Object = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"), (Vec<u8> = "application/vnd.apache.arrow.stream"))),
        (status = 400, description = "Not JSON with a `sql` string; or refused, invalid, over its deadline or its memory", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB"),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 503, description = "Every query slot is busy", body = ErrorBody),
    ))]
pub async fn sql_post(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json".into(),
        });
    }
    let req: SqlRequest = serde_json::from_slice(&body).map_err(|e| QueryError::BadParameter {
        parameter: "body".into(),
        value: String::from_utf8_lossy(&body).chars().take(200).collect(),
        problem: format!("expected JSON {{\"sql\": \"…\", \"format\": \"json\"}}: {e}"),
        allowed: Vec::new(),
    })?;
    run(&app, req.sql, req.format, req.limit, &headers).await
}

/// Runs `work` on a thread and runtime of its own, which hold the SQL slot `permit` until the
/// work ends: a join or kernel that does not yield (docs/SECURITY.md) stalls only its own threads,
/// the serving runtime keeps answering and its timer keeps the deadline; a query cancelled at
/// its deadline keeps its slot until DataFusion reaches a yield point and really stops. A panic
/// ends the work (and drops whatever channel it held), never the server; its message goes to
/// `panicked`.
///
/// The thread and its runtime outlive the query when it left nothing behind: starting them
/// (three threads with 16 MiB stacks, a runtime) was about a fifth of the CPU of a small
/// query. An idle query thread waits for the next query ([`IDLE`], at most [`IDLE_THREADS`]);
/// one whose query panicked, or left tasks running past [`SETTLE`] (a kernel that does not
/// yield), drops its runtime, waiting for those tasks to leave their poll while it still holds
/// the slot, and ends, as every query thread did before.
pub(crate) fn on_query_thread<F, Fut>(
    permit: tokio::sync::OwnedSemaphorePermit,
    panicked: tokio::sync::oneshot::Sender<String>,
    work: F,
) -> std::io::Result<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let job: Job = Box::new(move || Box::pin(work()));
    let mut task = QueryTask {
        job,
        permit,
        panicked,
    };
    loop {
        let idle = IDLE.lock().ok().and_then(|mut idle| idle.pop());
        let Some(idle) = idle else { break };
        match idle.send(task) {
            Ok(()) => return Ok(()),
            // That thread is gone: try another, or start one.
            Err(std::sync::mpsc::SendError(back)) => task = back,
        }
    }
    let runtime = query_runtime()?;
    std::thread::Builder::new()
        .name("zhijian-sql".into())
        .stack_size(16 * 1024 * 1024)
        .spawn(move || query_thread(runtime, task))?;
    Ok(())
}

/// A query's work, as [`on_query_thread`] takes it.
type Job = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send>;

/// A query for a query thread: its work, its SQL slot and where a panic's message goes.
struct QueryTask {
    job: Job,
    permit: tokio::sync::OwnedSemaphorePermit,
    panicked: tokio::sync::oneshot::Sender<String>,
}

/// Query threads waiting for a query, each by the sender of its queue.
static IDLE: std::sync::Mutex<Vec<std::sync::mpsc::Sender<QueryTask>>> =
    std::sync::Mutex::new(Vec::new());

/// The most query threads kept waiting; more end when their query does.
const IDLE_THREADS: usize = 8;

/// How long a finished query's tasks get to end (aborted tasks end at their next poll)
/// before its runtime counts as stuck.
const SETTLE: Duration = Duration::from_millis(50);

fn query_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()
}

/// Whether every task the runtime ran has ended, waiting up to [`SETTLE`].
fn settled(runtime: &tokio::runtime::Runtime) -> bool {
    let until = std::time::Instant::now() + SETTLE;
    loop {
        if runtime.metrics().num_alive_tasks() == 0 {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The body of a query thread: runs its first query, then, while its runtime stays clean and
/// the idle pool has room, the queries sent to it.
fn query_thread(runtime: tokio::runtime::Runtime, first: QueryTask) {
    use futures::FutureExt;
    let (tx, rx) = std::sync::mpsc::channel::<QueryTask>();
    let mut next = Some(first);
    while let Some(QueryTask {
        job,
        permit,
        panicked,
    }) = next.take()
    {
        let slot = permit;
        let ran = runtime.block_on(std::panic::AssertUnwindSafe(job()).catch_unwind());
        let clean = match ran {
            Ok(()) => settled(&runtime),
            Err(payload) => {
                let text = zhijian_query::govern::panic_text(payload.as_ref());
                tracing::warn!(panic = text, "a query panicked inside the engine");
                let _ = panicked.send(text);
                false
            }
        };
        if !clean {
            // Dropping the runtime waits for its workers to leave their current poll.
            drop(runtime);
            drop(slot);
            return;
        }
        drop(slot);
        let offered = match IDLE.lock() {
            Ok(mut idle) if idle.len() < IDLE_THREADS => {
                idle.push(tx.clone());
                true
            }
            _ => false,
        };
        if !offered {
            return;
        }
        next = rx.recv().ok();
    }
}

/// Runs public SQL (also the rendered named queries) and answers in `format`.
pub(crate) async fn run(
    app: &Arc<AppState>,
    sql: String,
    format: Option<String>,
    limit: Option<usize>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let format = match format.as_deref() {
        Some(name) => Format::from_name(name)?,
        None => Format::from_accept(headers),
    };
    if format == Format::Xlsx {
        return Err(ApiError::Format {
            format: "xlsx".into(),
            problem: "SQL results are not offered as XLSX".into(),
            allowed: vec![
                "json".into(),
                "ndjson".into(),
                "csv".into(),
                "parquet".into(),
                "arrow".into(),
            ],
        });
    }
    let cap = limit.unwrap_or(DEFAULT_JSON_ROWS);
    if cap == 0 || cap > MAX_JSON_ROWS {
        return Err(QueryError::BadParameter {
            parameter: "limit".into(),
            value: cap.to_string(),
            problem: format!(
                "expected 1 to {MAX_JSON_ROWS}; use _format=ndjson, csv or parquet for everything"
            ),
            allowed: Vec::new(),
        }
        .into());
    }
    let started = std::time::Instant::now();
    let outcome = run_public(app, None, sql.clone(), move |p, mut reply| async move {
        let engine = p.query.engine();
        if format == Format::Json {
            let outcome = tokio::select! {
                outcome = json_outcome(&p, cap) => Some(outcome),
                // The request is gone (client away, or its deadline passed): stop.
                () = reply.closed() => None,
            };
            if let Some(outcome) = outcome {
                reply.send(outcome.map(|o| (p.view.id.clone(), engine, o)));
            }
            return;
        }
        // The stream is encoded on this runtime, so the slot is held to the end.
        let id = p.view.id.clone();
        let (response, encoding) = stream_with_deadline(
            Source::Query(p.query),
            format,
            "query",
            false,
            p.view,
            Some(p.deadline),
            &tokio::runtime::Handle::current(),
        );
        if reply.send(Ok((id, engine, Outcome::Stream(response)))) {
            let _ = encoding.await;
        }
    })
    .await?;
    let (snapshot, engine, outcome) = outcome;
    let route = match engine {
        Engine::Index => Route::index("an aggregate over spot_checks read the counted rows"),
        Engine::Sql => Route::sql("public sql"),
    };
    let response = match outcome {
        Outcome::Json(columns, mut rows) => {
            let truncated = rows.len() > cap;
            rows.truncate(cap);
            let export = |f: &str| {
                format!(
                    "{}/api/v1/sql?{}",
                    app.base_url,
                    encode_query(&[("sql".into(), sql.clone()), ("_format".into(), f.into())])
                )
            };
            Json(json!({
                "snapshot": snapshot,
                "columns": columns,
                "rows": rows,
                "row_count": rows.len(),
                "truncated": truncated,
                "elapsed_ms": started.elapsed().as_millis() as u64,
                "export": {"ndjson": export("ndjson"), "csv": export("csv"), "parquet": export("parquet")},
            }))
            .into_response()
        }
        Outcome::Stream(response) => response,
    };
    Ok(crate::api::routed(response, &route))
}
