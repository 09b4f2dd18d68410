//! The layout of a warehouse of snapshots, shared by the writer (`zhijian-ingest`) and the
//! readers (`zhijian-query`, the server): where each part lives and what a manifest holds.
//!
//! ```text
//! <warehouse>/CURRENT                        the current snapshot id (replaced atomically)
//! <warehouse>/snapshots/<id>.json            its manifest ([`Manifest`])
//! <warehouse>/snapshots/history.ndjson       when each snapshot became current ([`HistoryEntry`])
//! <warehouse>/data/<sha256>.parquet          one file per resource, shared between snapshots
//! <warehouse>/rows/<sha256>.zjrows           a spot-check file's rows again in small blocks,
//!                                            for reads by position ([`crate::rowstore`])
//! <warehouse>/downloads/<sha256>.<ext>       whole-resource CSV and XLSX downloads
//! <warehouse>/rejects/<sha256>.ndjson        rejected rows of a resource, with reasons
//! <warehouse>/snapshots/<id>.builds.json     the build each resource came from (for gc)
//! <warehouse>/builds/<key>.json              what a resource became from a list of parts
//! <warehouse>/parts/<resource>/<key>.*       what one publication yielded, kept for the
//!                                            next ingest (`zhijian_ingest::parts`)
//! <warehouse>/tmp/                           the writer's temporary area (emptied on start)
//! <warehouse>/.lock                          held by the one ingest or gc writing
//! ```
//!
//! A snapshot's id is the first 16 hex digits of the sha256 of its manifest without the id, so
//! the fields here are serialised in a fixed order: changing them changes every id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CatalogError, Result};

/// The pointer to the current snapshot.
pub const CURRENT: &str = "CURRENT";
/// The directory of manifests and the history.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// The history of snapshots made current, one JSON object per line.
pub const HISTORY_FILE: &str = "history.ndjson";

/// A content-addressed file of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Path relative to the warehouse.
    pub path: String,
    /// sha256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows (data rows for Parquet and downloads, rejected rows for reject lists).
    pub rows: u64,
}

/// One resource of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestResource {
    /// SQL table name.
    pub table: String,
    /// Table Schema name.
    pub schema: String,
    /// Published rows.
    pub rows: u64,
    /// The Parquet files.
    pub files: Vec<ManifestFile>,
    /// Whole-resource downloads by format (`csv`; `xlsx` when it fits one sheet), in the
    /// Parquet file's row order.
    #[serde(default)]
    pub downloads: BTreeMap<String, ManifestFile>,
    /// The rejected rows, when there are any.
    pub rejects: Option<ManifestFile>,
    /// Row accounting.
    pub accounting: serde_json::Value,
    /// Source attachments with their sha256.
    pub sources: Vec<serde_json::Value>,
}

/// A snapshot's manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The snapshot id: the first 16 hex digits of the sha256 of this manifest without it.
    pub id: String,
    /// Resources by id.
    pub resources: BTreeMap<String, ManifestResource>,
    /// Accounting over all resources.
    pub totals: serde_json::Value,
    /// Files that could not be read at all.
    pub errors: Vec<serde_json::Value>,
}

/// One line of `snapshots/history.ndjson`: when a snapshot became current.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Snapshot id.
    pub id: String,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
}

/// Where a snapshot's manifest is.
pub fn manifest_path(warehouse: &Path, id: &str) -> PathBuf {
    warehouse.join(SNAPSHOTS_DIR).join(format!("{id}.json"))
}

/// Where the history is.
pub fn history_path(warehouse: &Path) -> PathBuf {
    warehouse.join(SNAPSHOTS_DIR).join(HISTORY_FILE)
}

/// The id `CURRENT` names, if any.
pub fn current_id(warehouse: &Path) -> Option<String> {
    std::fs::read_to_string(warehouse.join(CURRENT))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Whether `id` can name a snapshot (at most 64 hex digits: never a path, never a file name
/// the file system refuses as too long).
pub fn is_snapshot_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// A snapshot's manifest: `Ok(None)` when no snapshot has this id (or it is not an id).
pub fn read_manifest(warehouse: &Path, id: &str) -> Result<Option<Manifest>> {
    if !is_snapshot_id(id) {
        return Ok(None);
    }
    let path = manifest_path(warehouse, id);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CatalogError::Read { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| CatalogError::Manifest {
            path,
            problem: e.to_string(),
        })
}

/// The snapshots that were ever current, oldest first (the current snapshot is listed even
/// when an older ingest wrote no history); unreadable lines are skipped.
pub fn history(warehouse: &Path) -> Vec<HistoryEntry> {
    let mut out: Vec<HistoryEntry> = std::fs::read_to_string(history_path(warehouse))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut seen = std::collections::HashSet::new();
    out.retain(|h| seen.insert(h.id.clone()));
    if let Some(current) = current_id(warehouse)
        && !out.iter().any(|h| h.id == current)
    {
        out.push(HistoryEntry {
            id: current,
            published_at: String::new(),
        });
    }
    out
}
