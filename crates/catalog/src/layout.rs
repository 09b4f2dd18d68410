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
//! <warehouse>/index/<key>-v<N>.zjidx          the search index of the snapshots whose
//!                                            spot-check files hash to `key`, format N
//!                                            ([`index_key`]; written by `zhijian_query`)
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
/// The directory of the snapshots' search indexes.
pub const INDEX_DIR: &str = "index";
/// The suffix of a search index file.
const INDEX_SUFFIX: &str = ".zjidx";

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

/// The key of a snapshot's search index: the sha256 (hex) of its spot-check tables and the
/// Parquet files they read, in manifest order. The index is a function of those files alone,
/// so snapshots that share them share one index file, and the key is known before the index
/// is (a reader looks for it; gc keeps it with the snapshot). `None` without spot checks.
pub fn index_key(manifest: &Manifest) -> Option<String> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(b"zhijian search index\n");
    let mut any = false;
    for r in manifest.resources.values() {
        if r.schema != crate::SPOT_CHECK_SCHEMA {
            continue;
        }
        let Some(file) = r.files.first() else {
            continue;
        };
        any = true;
        hash.update(format!("{}\t{}\n", r.table, file.sha256).as_bytes());
    }
    any.then(|| hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The path, relative to the warehouse, of the index with `key` in format `version`.
pub fn index_rel(key: &str, version: u32) -> String {
    format!("{INDEX_DIR}/{key}-v{version}{INDEX_SUFFIX}")
}

/// The key and format version of an index file's path relative to the warehouse (`None`
/// for anything else, a writer's temporary file included).
pub fn index_of_rel(rel: &str) -> Option<(&str, u32)> {
    let name = rel.strip_prefix(INDEX_DIR)?.strip_prefix('/')?;
    let (key, version) = name.strip_suffix(INDEX_SUFFIX)?.rsplit_once("-v")?;
    let ok = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(())?;
    Some((key, version.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_name_their_key_and_version_and_nothing_else_parses() {
        let key = "ab".repeat(32);
        let rel = index_rel(&key, 7);
        assert_eq!(rel, format!("index/{key}-v7.zjidx"));
        assert_eq!(index_of_rel(&rel), Some((key.as_str(), 7)));
        for other in [
            format!("index/.{key}-v7.zjidx.tmp-12"),
            format!("index/{key}-v7.zjidx.tmp-12"),
            format!("data/{key}-v7.zjidx"),
            "index/zz-v1.zjidx".to_owned(),
            format!("index/{key}-vx.zjidx"),
        ] {
            assert_eq!(index_of_rel(&other), None, "{other}");
        }
    }
}
