//! The data API through real HTTP, on a snapshot ingested from a synthetic corpus, judged by
//! real clients (pyarrow, Python csv, openpyxl, schemathesis).

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
/// Keyset paging over whole resources, also while a new snapshot is published.
mod paging;
/// schemathesis against /openapi.json.
mod schemathesis;
/// Search and producers.
mod search;
/// The SQL endpoint, and hostile SQL.
mod sql;
/// Facets and pass-rate statistics.
mod stats;
/// The web page, in headless Chromium too.
mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use zhijian_catalog::Catalog;
use zhijian_tests::{HttpResponse, http};

/// A served warehouse.
pub struct Served {
    _dir: tempfile::TempDir,
    /// The raw corpus.
    pub raw: PathBuf,
    /// The warehouse.
    pub warehouse: PathBuf,
    /// Where the server listens.
    pub addr: SocketAddr,
}

impl Served {
    /// GET a path.
    pub fn get(&self, path: &str) -> HttpResponse {
        http(self.addr, path, &[])
    }

    /// GET a path that must answer 200 with JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Generates a corpus, ingests it into a new warehouse and serves it on a free port.
pub fn serve_new(scale: u64, seed: u64) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    let warehouse = dir.path().join("warehouse");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: raw.clone(),
            truth: None,
            scale,
            seed,
        },
        &|_, _| {},
    )
    .expect("corpus");
    publish(&raw, &warehouse);
    let addr = start(&warehouse);
    Served {
        _dir: dir,
        raw,
        warehouse,
        addr,
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

/// Starts the real server on 127.0.0.1 with a free port, in its own runtime thread.
pub fn start(warehouse: &Path) -> SocketAddr {
    start_with(warehouse, None)
}

/// As [`start`], with other SQL limits.
pub fn start_with(warehouse: &Path, limits: Option<zhijian_query::sql::SqlLimits>) -> SocketAddr {
    let catalog = Arc::new(Catalog::builtin().expect("catalog"));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let mut state =
        zhijian_server::AppState::new(warehouse.to_path_buf(), catalog, &format!("http://{addr}"));
    if let Some(limits) = limits {
        state.sql_limits = limits;
    }
    let state = Arc::new(state);
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

/// The server most tests share (read-only: nothing publishes into its warehouse).
pub fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| serve_new(20_000, 5_150))
}

/// The manifest of the current snapshot.
pub fn manifest(s: &Served) -> serde_json::Value {
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
