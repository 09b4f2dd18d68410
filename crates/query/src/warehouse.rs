//! A warehouse of snapshots, as the query side sees it: the current snapshot (picked up
//! without restart when `CURRENT` moves), older ones by id (`_as_of`), and their history.
//!
//! A request takes an `Arc<SnapshotView>` once and keeps it: a new snapshot published while
//! it runs changes nothing for it (the Parquet files of a snapshot are immutable and never
//! deleted by ingest).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::prelude::{ParquetReadOptions, col};
use zhijian_catalog::{Catalog, SPOT_CHECK_SCHEMA, sort_order};

use crate::accel::IndexMode;
use crate::error::{QueryError, Result};

pub use zhijian_catalog::layout::{
    HistoryEntry, Manifest, ManifestFile, ManifestResource, current_id, history,
};

/// A snapshot opened for queries.
pub struct SnapshotView {
    /// Its id.
    pub id: String,
    /// The warehouse it is in.
    pub warehouse: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The session: one table per resource and `spot_checks`, their union.
    pub ctx: SessionContext,
    /// When it was published, if the history knows.
    pub published_at: Option<String>,
    /// The tables and Parquet files of its spot-check resources, in manifest order.
    pub spot_files: Vec<(String, PathBuf)>,
    /// The search dictionary and producers, built on first use.
    indexes: tokio::sync::OnceCell<Arc<crate::search::Indexes>>,
    /// Whether the index may answer rows, counts, facets, statistics, pages and exports.
    index_mode: IndexMode,
    /// The index's counted rows for public SQL's aggregates, once the index is built.
    counted: std::sync::OnceLock<Arc<crate::counted::CountedRows>>,
}

impl std::fmt::Debug for SnapshotView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotView")
            .field("id", &self.id)
            .field("published_at", &self.published_at)
            .finish_non_exhaustive()
    }
}

impl SnapshotView {
    /// The session queries of the request being answered plan on: the snapshot's tables,
    /// with the governed request's memory pool ([`crate::govern::session`]).
    pub fn session(&self) -> SessionContext {
        crate::govern::session(&self.ctx)
    }

    /// The names of its tables, sorted: one per resource, and `spot_checks` when it has
    /// spot-check resources.
    pub fn tables(&self) -> Vec<String> {
        let resources = self.manifest.resources.values();
        let mut tables: Vec<String> = resources.clone().map(|r| r.table.clone()).collect();
        if resources.clone().any(|r| r.schema == SPOT_CHECK_SCHEMA) {
            tables.push(SPOT_CHECK_SCHEMA.to_owned());
        }
        tables.sort();
        tables
    }

    /// The search index, if it is built already (lookups that can do without it do not
    /// wait for it).
    pub fn indexes_ready(&self) -> Option<Arc<crate::search::Indexes>> {
        self.indexes.get().cloned()
    }

    /// The search dictionary and producers of this snapshot, built once on first use (a
    /// failed build is tried again by the next caller).
    pub async fn indexes(&self) -> Result<Arc<crate::search::Indexes>> {
        self.indexes
            .get_or_try_init(|| crate::search::Indexes::build(self))
            .await
            .cloned()
    }

    /// What public SQL's aggregates over `spot_checks` may read instead of its files (see
    /// [`crate::counted`]): `None` while the index is not built, and with the index off.
    pub fn counted(&self) -> Option<Arc<crate::counted::CountedRows>> {
        if self.index_mode == IndexMode::Off {
            return None;
        }
        let indexes = self.indexes_ready()?;
        Some(
            self.counted
                .get_or_init(|| Arc::new(crate::counted::CountedRows::new(indexes)))
                .clone(),
        )
    }

    /// The manifest entry of a resource.
    pub fn resource(&self, id: &str) -> Option<&ManifestResource> {
        self.manifest.resources.get(id)
    }

    /// Whether the index may answer (see [`crate::accel`]).
    pub fn index_mode(&self) -> IndexMode {
        self.index_mode
    }

    /// The same snapshot with the index on or off (before it is shared).
    pub fn with_index_mode(mut self, mode: IndexMode) -> Self {
        self.index_mode = mode;
        self
    }
}

/// The session settings every surface shares.
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(2);
    let options = config.options_mut();
    // Recursive CTEs can run forever (apache/datafusion#19427): off.
    options.execution.enable_recursive_ctes = false;
    // Measured in docs/PERFORMANCE.md: 1.9× on point lookups, 2.9× on keyset pages.
    options.execution.parquet.pushdown_filters = true;
    options.execution.parquet.reorder_filters = true;
    // Text as `Utf8`, not string views: a filtered view batch still points into (and is
    // accounted by) every page it came from, so a sort after a selective filter ran out of
    // its pool (`sorts_over_the_whole_spot_check_view_finish_in_a_small_pool`).
    options.execution.parquet.schema_force_view_types = false;
    config
}

/// Reads a snapshot's manifest ([`QueryError::UnknownSnapshot`] when there is none).
pub fn read_manifest(warehouse: &Path, id: &str) -> Result<Manifest> {
    match zhijian_catalog::layout::read_manifest(warehouse, id) {
        Ok(Some(m)) => Ok(m),
        Ok(None) => {
            let history = history(warehouse);
            if !history.iter().any(|h| h.id == id) {
                return Err(QueryError::UnknownSnapshot { id: id.to_owned() });
            }
            let oldest = history
                .iter()
                .find(|h| zhijian_catalog::layout::manifest_path(warehouse, &h.id).is_file())
                .map(|h| h.id.clone())
                .unwrap_or_default();
            Err(QueryError::SnapshotCollected {
                id: id.to_owned(),
                oldest,
            })
        }
        Err(e) => Err(QueryError::Manifest {
            path: zhijian_catalog::layout::manifest_path(warehouse, id),
            problem: e.to_string(),
        }),
    }
}

/// Opens a session over one snapshot.
pub async fn open_snapshot(warehouse: &Path, catalog: &Catalog, id: &str) -> Result<SnapshotView> {
    let manifest = read_manifest(warehouse, id)?;
    let ctx = SessionContext::new_with_config(session_config());
    let mut spot_tables = Vec::new();
    let mut spot_files = Vec::new();
    for (rid, r) in &manifest.resources {
        let Some(file) = r.files.first() else {
            continue;
        };
        let key = catalog
            .resource(rid)
            .ok()
            .and_then(|res| catalog.schema_of(res).ok())
            .map(|s| s.primary_key.clone())
            .unwrap_or_default();
        let order: Vec<_> = sort_order(&r.schema, &key)
            .iter()
            .map(|c| col(c.as_str()).sort(true, true))
            .collect();
        let path = warehouse.join(&file.path);
        let options = ParquetReadOptions::default().file_sort_order(vec![order]);
        ctx.register_parquet(&r.table, path.to_string_lossy().as_ref(), options)
            .await?;
        if r.schema == SPOT_CHECK_SCHEMA {
            spot_tables.push(r.table.clone());
            spot_files.push((r.table.clone(), path.clone()));
        }
    }
    if !spot_tables.is_empty() {
        let union = spot_tables
            .iter()
            .map(|t| format!("SELECT * FROM \"{t}\""))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let view = ctx.sql(&union).await?.into_view();
        let mut members = Vec::with_capacity(spot_tables.len());
        for t in &spot_tables {
            members.push(ctx.table_provider(t.as_str()).await?);
        }
        let table = crate::union::UnionTable::try_new(members, view)?;
        ctx.register_table(SPOT_CHECK_SCHEMA, Arc::new(table))?;
    }
    let published_at = history(warehouse)
        .into_iter()
        .find(|h| h.id == id)
        .map(|h| h.published_at);
    Ok(SnapshotView {
        id: id.to_owned(),
        warehouse: warehouse.to_path_buf(),
        manifest,
        ctx,
        published_at,
        spot_files,
        indexes: tokio::sync::OnceCell::new(),
        index_mode: IndexMode::On,
        counted: std::sync::OnceLock::new(),
    })
}

tokio::task_local! {
    /// The snapshot the request being answered on this task read (see [`naming_snapshot`]).
    static SERVED: std::cell::RefCell<Option<String>>;
}

/// Runs `f` and returns, with its output, the id of the last snapshot it took from a
/// [`Warehouse`] on this task: what the server names in every response's
/// `x-zhijian-snapshot` header, so that a client behind several replicas knows which
/// snapshot answered.
pub async fn naming_snapshot<F: Future>(f: F) -> (F::Output, Option<String>) {
    SERVED
        .scope(std::cell::RefCell::new(None), async move {
            let out = f.await;
            let id = SERVED.try_with(|s| s.borrow().clone()).ok().flatten();
            (out, id)
        })
        .await
}

/// Notes that the task's request reads snapshot `id` (nothing outside [`naming_snapshot`]).
fn served(id: &str) {
    let _ = SERVED.try_with(|s| *s.borrow_mut() = Some(id.to_owned()));
}

/// Makes a snapshot's files local before it is opened (a mirror of a remote warehouse
/// fetches them; see `zhijian_remote::mirror`). Its error is logged, and opening the
/// snapshot then says what is missing.
pub type Fetch = Arc<
    dyn Fn(String) -> futures::future::BoxFuture<'static, std::result::Result<(), String>>
        + Send
        + Sync,
>;

/// The warehouse, with the sessions of the snapshots in use.
pub struct Warehouse {
    root: PathBuf,
    catalog: Arc<Catalog>,
    current: tokio::sync::Mutex<Option<Arc<SnapshotView>>>,
    older: Mutex<HashMap<String, Arc<SnapshotView>>>,
    index_mode: IndexMode,
    fetch: Option<Fetch>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("root", &self.root)
            .field("index_mode", &self.index_mode)
            .field("fetch", &self.fetch.is_some())
            .finish_non_exhaustive()
    }
}

/// Older snapshots kept open at once (`_as_of`); more are reopened on demand.
const OLDER_OPEN: usize = 4;

impl Warehouse {
    /// A warehouse at `root`.
    pub fn new(root: impl Into<PathBuf>, catalog: Arc<Catalog>) -> Self {
        Self {
            root: root.into(),
            catalog,
            current: tokio::sync::Mutex::new(None),
            older: Mutex::new(HashMap::new()),
            index_mode: IndexMode::On,
            fetch: None,
        }
    }

    /// The same warehouse with `fetch` called before an older snapshot is read (every time:
    /// a bounded cache may have evicted its files since).
    pub fn with_fetch(mut self, fetch: Fetch) -> Self {
        self.fetch = Some(fetch);
        self
    }

    /// The same warehouse with the index on or off for every snapshot it opens (see
    /// [`crate::accel`]).
    pub fn with_index_mode(mut self, mode: IndexMode) -> Self {
        self.index_mode = mode;
        self
    }

    /// Whether the index may answer.
    pub fn index_mode(&self) -> IndexMode {
        self.index_mode
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The current snapshot; reopened when `CURRENT` has moved since the last call.
    pub async fn current(&self) -> Result<Arc<SnapshotView>> {
        let id = current_id(&self.root).ok_or_else(|| QueryError::NoSnapshot {
            warehouse: self.root.clone(),
        })?;
        let mut slot = self.current.lock().await;
        if let Some(view) = slot.as_ref()
            && view.id == id
        {
            served(&view.id);
            return Ok(view.clone());
        }
        let view = Arc::new(
            open_snapshot(&self.root, &self.catalog, &id)
                .await?
                .with_index_mode(self.index_mode),
        );
        tracing::info!(snapshot = id.as_str(), "serving snapshot");
        // Its search index (which also answers lookups, counts, facets and pages) builds in
        // the background; until then SQL answers.
        let building = view.clone();
        tokio::spawn(async move {
            if let Err(e) = building.indexes().await {
                tracing::warn!(error = %e, "cannot build the search index yet");
            }
        });
        *slot = Some(view.clone());
        served(&view.id);
        Ok(view)
    }

    /// A snapshot by id: the current one, or an older one (`_as_of`).
    pub async fn snapshot(&self, id: Option<&str>) -> Result<Arc<SnapshotView>> {
        let current = self.current().await?;
        let Some(id) = id.filter(|id| *id != current.id) else {
            return Ok(current);
        };
        if let Some(fetch) = &self.fetch
            && let Err(e) = fetch(id.to_owned()).await
        {
            tracing::warn!(snapshot = id, error = %e, "cannot fetch the snapshot's files");
        }
        if let Some(view) = self.older.lock().ok().and_then(|m| m.get(id).cloned()) {
            served(&view.id);
            return Ok(view);
        }
        let view = Arc::new(
            open_snapshot(&self.root, &self.catalog, id)
                .await?
                .with_index_mode(self.index_mode),
        );
        if let Ok(mut m) = self.older.lock() {
            if m.len() >= OLDER_OPEN {
                m.clear();
            }
            m.insert(id.to_owned(), view.clone());
        }
        served(&view.id);
        Ok(view)
    }
}
