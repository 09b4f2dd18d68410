//! The data API through real HTTP, on a snapshot ingested from a synthetic corpus, judged by
//! real clients (pyarrow, Python csv, openpyxl, schemathesis).
//!
//! The shared server has a twin: the same warehouse served with the snapshot index off, where
//! SQL answers everything. Every rows, facets, statistics, search and producer request a test
//! makes of the shared server is made of the twin too, and the answers must be the same (see
//! [`Served::get`]): each of these tests runs twice, index and SQL.

/// Index and SQL give the same answers: random filters, sorts and pages (proptest).
mod accel;
/// Aggregates of public SQL answered from the index's counted rows, the same as SQL's.
mod counted;
/// The Data Package as served, validated by the official `frictionless` for every resource.
mod datapackage;
/// Downloads, snapshots and changes.
mod downloads;
/// Catalog, resources, operations, metadata documents, OpenAPI and docs.
mod endpoints;
/// Every filter operator, and bad input of each kind.
mod filters;
/// Arrow Flight SQL, judged by the Python ADBC driver.
mod flight;
/// Each format read back by a real client.
mod formats;
/// Hostile HTTP: oversized and slow requests, idle connections, Range abuse, traversal,
/// absurd parameters and bodies, forged cursors, heavy requests in parallel.
mod hostile;
/// Keyset paging over whole resources, also while a new snapshot is published.
mod paging;
/// Search recall on a held-out query set labelled from the generator's truth.
mod recall;
/// Two replicas on one warehouse: the same answers, a new snapshot picked up by both, cursors
/// that continue on either, every response naming its snapshot.
mod replicas;
/// Incremental ingest, carry-over with --resource, removal, gc and 410 for collected snapshots.
mod retention;
/// schemathesis against /openapi.json.
mod schemathesis;
/// Search and producers.
mod search;
/// The search index as a file of the snapshot: read as built, refused when damaged.
mod snapshot_index;
/// The SQL endpoint, and hostile SQL.
mod sql;
/// Facets and pass-rate statistics.
mod stats;
/// Search as people type: the thesaurus, partial and mistyped words, questions.
mod understanding;
/// The web page, in headless Chromium too.
mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use zhijian_catalog::Catalog;
use zhijian_tests::{HttpResponse, http, post_json};

/// A served warehouse.
pub struct Served {
    _dir: tempfile::TempDir,
    /// The raw corpus.
    pub raw: PathBuf,
    /// The generator's truth of the corpus.
    pub truth: PathBuf,
    /// The warehouse.
    pub warehouse: PathBuf,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// Where the same warehouse is served with the index off, when answers are compared.
    pub sql_twin: Option<SocketAddr>,
}

/// Whether a request is one the index may answer (rows, facets, statistics, search, a
/// producer) in a format both engines write alike.
fn compared(path: &str) -> bool {
    let data = (path.starts_with("/api/v1/resources/")
        && (path.contains("/rows") || path.contains("/facets")))
        || path.starts_with("/api/v1/spot-checks/stats")
        || path.starts_with("/api/v1/search")
        || path.starts_with("/api/v1/enterprises/");
    let binary = ["parquet", "arrow", "xlsx"]
        .iter()
        .any(|f| path.contains(&format!("_format={f}")));
    data && !binary
}

/// A JSON answer without what differs by design between the engines: how long it took and
/// the index's own size.
pub fn comparable(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("elapsed_ms");
        o.remove("index");
    }
    v
}

impl Served {
    /// GET a path. On the shared server, a data request is also made of its twin with the
    /// index off, and the two answers must be the same: status, body (JSON compared as values,
    /// other formats byte for byte), and the twin says SQL answered.
    pub fn get(&self, path: &str) -> HttpResponse {
        let r = http(self.addr, path, &[]);
        if let Some(twin) = self.sql_twin
            && compared(path)
        {
            let t = http(twin, path, &[]);
            same_answer(path, &r, &t, &self.base(), &format!("http://{twin}"));
        }
        r
    }

    /// GET a path of the server alone (no twin).
    pub fn get_alone(&self, path: &str) -> HttpResponse {
        http(self.addr, path, &[])
    }

    /// GET a path that must answer 200 with JSON.
    pub fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Asserts that the index's answer `a` and SQL's `b` are the same.
pub fn same_answer(path: &str, a: &HttpResponse, b: &HttpResponse, a_base: &str, b_base: &str) {
    assert_eq!(
        a.status,
        b.status,
        "{path}: index {} / sql {}",
        a.text(),
        b.text()
    );
    if let Some(by) = b.header("x-answered-by") {
        assert_eq!(by, "sql", "{path}: the twin has the index off");
    }
    let json = a
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        assert!(
            a.body == b.body,
            "{path}: the index's bytes differ from SQL's"
        );
        return;
    }
    let b_text = b.text().replace(b_base, a_base);
    let (a, b) = (
        comparable(a.json()),
        comparable(serde_json::from_str(&b_text).expect("json")),
    );
    if b["values_truncated"] == serde_json::json!(true) {
        // A search by SQL filters by the best 300 matched values only (and says so): fewer
        // rows, by design.
        assert!(b["count"].as_u64() <= a["count"].as_u64(), "{path}");
        return;
    }
    if a != b {
        panic!("{path}: the index and SQL answer differently\nindex: {a}\nsql:   {b}");
    }
}

/// Generates a corpus, ingests it into a new warehouse and serves it on a free port.
pub fn serve_new(scale: u64, seed: u64) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    let truth = dir.path().join("truth");
    let warehouse = dir.path().join("warehouse");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: raw.clone(),
            truth: Some(truth.clone()),
            scale,
            seed,
        },
        &|_, _| {},
    )
    .expect("corpus");
    publish(&raw, &warehouse);
    index(&warehouse);
    let addr = start(&warehouse);
    Served {
        _dir: dir,
        raw,
        truth,
        warehouse,
        addr,
        sql_twin: None,
    }
}

/// Ingests `raw` into a new snapshot of `warehouse`.
pub fn publish(raw: &Path, warehouse: &Path) -> String {
    let catalog = Catalog::builtin().expect("catalog");
    let ingested = zhijian_ingest::pipeline::ingest(raw, &catalog, &[], &|_, _| {});
    zhijian_ingest::snapshot::publish(warehouse, &catalog, &ingested)
        .expect("publish")
        .id
}

/// Writes the current snapshot's search index file, as `zhijian ingest` does before it moves
/// `CURRENT` (servers then read it instead of building it).
pub fn index(warehouse: &Path) {
    let id = zhijian_catalog::layout::current_id(warehouse).expect("a snapshot");
    let written = index_snapshot(warehouse, &id);
    assert!(
        matches!(written, zhijian_query::search::IndexWrite::Written { .. }),
        "{written:?}"
    );
}

/// Writes the search index file of snapshot `id` (unless it is there).
pub fn index_snapshot(warehouse: &Path, id: &str) -> zhijian_query::search::IndexWrite {
    let catalog = Catalog::builtin().expect("catalog");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let view = zhijian_query::warehouse::open_snapshot(warehouse, &catalog, id)
            .await
            .expect("snapshot");
        zhijian_query::search::write_index(&view)
            .await
            .expect("index")
    })
}

/// Starts the real server on 127.0.0.1 with a free port, in its own runtime thread.
pub fn start(warehouse: &Path) -> SocketAddr {
    start_with(warehouse, None)
}

/// As [`start`], with other SQL limits.
pub fn start_with(warehouse: &Path, limits: Option<zhijian_query::sql::SqlLimits>) -> SocketAddr {
    start_mode(warehouse, limits, zhijian_query::IndexMode::On)
}

/// As [`start_with`], with the index on or off.
pub fn start_mode(
    warehouse: &Path,
    limits: Option<zhijian_query::sql::SqlLimits>,
    mode: zhijian_query::IndexMode,
) -> SocketAddr {
    start_state(warehouse, move |state| {
        let mut state = state.with_index_mode(mode);
        if let Some(limits) = limits {
            state.sql_limits = limits;
        }
        state
    })
}

/// Starts the real server on 127.0.0.1 with a free port, in its own runtime thread, with its
/// state shaped by `shape` (the index mode, SQL limits, another governor).
pub fn start_state(
    warehouse: &Path,
    shape: impl FnOnce(zhijian_server::AppState) -> zhijian_server::AppState,
) -> SocketAddr {
    let catalog = Arc::new(Catalog::builtin().expect("catalog"));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let state = Arc::new(shape(
        zhijian_server::AppState::new(warehouse.to_path_buf(), catalog, &format!("http://{addr}"))
            .expect("state"),
    ));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            zhijian_server::serve_listener(state, listener, std::future::pending())
                .await
                .expect("serve");
        });
    });
    addr
}

/// The server most tests share (read-only: nothing publishes into its warehouse), with its
/// twin (the index off) and its index built, so that the index answers what it holds.
pub fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let mut s = serve_new(20_000, 5_150);
        s.sql_twin = Some(start_mode(
            &s.warehouse,
            None,
            zhijian_query::IndexMode::Off,
        ));
        // A search waits for the index: from then on it answers what it holds.
        let r = s.get_alone("/api/v1/search?q=a");
        assert_eq!(r.status, 200, "{}", r.text());
        s
    })
}

/// The manifest of the current snapshot.
pub fn manifest(s: &Served) -> Value {
    let id = std::fs::read_to_string(s.warehouse.join("CURRENT")).expect("CURRENT");
    serde_json::from_slice(
        &std::fs::read(
            s.warehouse
                .join("snapshots")
                .join(format!("{}.json", id.trim())),
        )
        .expect("manifest"),
    )
    .expect("json")
}

/// Rows of a query on the shared server; other tests share its four SQL slots, so a 503
/// is retried as its `Retry-After` asks.
pub fn sql_rows(s: &Served, sql: &str) -> Vec<Value> {
    for _ in 0..60 {
        let r = post_json(
            s.addr,
            "/api/v1/sql",
            &json!({ "sql": sql, "limit": 10000 }),
        );
        if r.status == 503 {
            std::thread::sleep(std::time::Duration::from_millis(500));
            continue;
        }
        assert_eq!(r.status, 200, "{sql}: {}", r.text());
        return r.json()["rows"].as_array().cloned().unwrap_or_default();
    }
    panic!("{sql}: the SQL slots stayed busy for 30 s");
}
