//! Retention and garbage collection of a warehouse: which snapshots are kept, and deleting
//! every file no kept snapshot needs.
//!
//! Kept: the current snapshot; the `keep` most recent snapshots; those published within
//! `keep_days`; and, whatever the policy, a snapshot that was current less than `grace` ago
//! (a server may still be answering from it). A kept snapshot keeps its manifest, its Parquet
//! files, downloads and rejects, and the builds and parts it was made from (so the next
//! incremental ingest still finds them), the row stores of its Parquet files, and its search
//! index (in any format version). Everything else in `data/`, `rows/`, `downloads/`,
//! `rejects/`, `builds/`, `parts/`, `snapshots/` and `index/` goes, except files younger than `grace`, and so does the temporary area a killed ingest
//! left. The history keeps its lines: a collected snapshot is one the history names and whose
//! manifest is gone (the server answers 410 for it).
//!
//! Collection holds the warehouse's lock, so it never runs beside an ingest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use zhijian_catalog::layout;

use crate::build::{self, BUILDS_DIR, Build, TMP_DIR};
use crate::error::{IngestError, Result, io};
use crate::parts::PARTS_DIR;
use crate::snapshot;

/// Which snapshots to keep.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The most recent snapshots kept (the current one counts).
    pub keep: Option<usize>,
    /// Snapshots published within this many days are kept.
    pub keep_days: Option<u64>,
    /// A snapshot current less than this long ago, and any file younger, is kept.
    pub grace: Duration,
    /// The time to judge ages by.
    pub now: SystemTime,
}

/// A file collection deletes (or would delete).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Doomed {
    /// Path relative to the warehouse.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// What a collection did (or would do, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    /// Snapshots kept, newest first.
    pub retained: Vec<String>,
    /// Snapshots whose manifests go, newest first.
    pub collected: Vec<String>,
    /// Files deleted (or that would be).
    pub files: Vec<Doomed>,
    /// Their bytes in all.
    pub bytes: u64,
    /// Whether nothing was deleted.
    pub dry_run: bool,
}

/// Seconds since the epoch of an RFC 3339 UTC time as the history writes it.
fn epoch_seconds(rfc3339: &str) -> Option<i64> {
    let (date, time) = rfc3339.trim_end_matches('Z').split_once('T')?;
    let days = i64::from(snapshot::days(date)?);
    let mut t = time.split(':').map(str::parse::<i64>);
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn epoch(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The snapshots to keep, newest first.
fn retained(warehouse: &Path, policy: &Retention) -> Vec<String> {
    let history = layout::history(warehouse);
    let current = layout::current_id(warehouse);
    let now = epoch(policy.now);
    let grace = policy.grace.as_secs() as i64;
    let mut keep: Vec<String> = Vec::new();
    // Newest first; the time each stopped being current is the next one's publication.
    let mut superseded_at: Option<i64> = None;
    for (n, h) in history.iter().rev().enumerate() {
        let published = epoch_seconds(&h.published_at);
        let by_count = policy.keep.is_some_and(|k| n < k);
        let by_age = policy
            .keep_days
            .zip(published)
            .is_some_and(|(d, p)| now - p <= d as i64 * 86_400);
        let by_grace = superseded_at.is_some_and(|s| now - s < grace);
        let exists = layout::manifest_path(warehouse, &h.id).is_file();
        if exists && (current.as_deref() == Some(&h.id) || by_count || by_age || by_grace) {
            keep.push(h.id.clone());
        }
        // A snapshot without a time (from before the history) keeps the previous time.
        superseded_at = published.or(superseded_at);
    }
    keep
}

/// Every file under `dir` (relative to the warehouse), with its size and age.
fn files_under(warehouse: &Path, dir: &str, out: &mut Vec<(String, u64, SystemTime)>) {
    let mut stack = vec![warehouse.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(std::result::Result::ok) {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(warehouse) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.push((rel, meta.len(), modified));
            }
        }
    }
}

/// Every file snapshot `manifest` needs, relative to `warehouse`: its manifest and builds
/// record, its Parquet files with their row stores, downloads and rejects, and the builds and
/// parts its resources were made from (so the next incremental ingest finds them). Its search
/// index is named by [`layout::index_key`] (gc keeps it in every format version).
pub fn needed_files(warehouse: &Path, manifest: &layout::Manifest) -> BTreeSet<String> {
    let id = &manifest.id;
    let mut needed = BTreeSet::new();
    let snapshots = |f: &str| format!("{}/{f}", layout::SNAPSHOTS_DIR);
    needed.insert(snapshots(&format!("{id}.json")));
    needed.insert(snapshots(&format!("{id}.builds.json")));
    for entry in manifest.resources.values() {
        for f in build::entry_files(entry) {
            needed.insert(f.path.clone());
            // The row store repeating a Parquet file lives and goes with it.
            needed.extend(zhijian_catalog::rowstore::rel_for(&f.path));
        }
    }
    let builds: BTreeMap<String, String> = snapshot::builds_of(warehouse, id);
    for key in builds.values() {
        let path = build::build_path(warehouse, key);
        needed.insert(format!("{BUILDS_DIR}/{key}.json"));
        let Some(b) = std::fs::read(&path)
            .ok()
            .and_then(|t| serde_json::from_slice::<Build>(&t).ok())
        else {
            continue;
        };
        for part in &b.parts {
            for suffix in ["json", "arrow", "rejects.ndjson", "keys.ndjson"] {
                needed.insert(format!("{PARTS_DIR}/{}/{part}.{suffix}", b.resource));
            }
        }
    }
    needed
}

/// Applies `policy` to the warehouse: deletes what no kept snapshot needs (lists it only,
/// with `dry_run`).
pub fn collect(warehouse: &Path, policy: &Retention, dry_run: bool) -> Result<Collection> {
    if policy.keep.is_none() && policy.keep_days.is_none() {
        return Err(IngestError::Retention {
            problem: "say how many snapshots to keep (--keep N) or for how long (--keep-days D)"
                .into(),
        });
    }
    if policy.keep == Some(0) {
        return Err(IngestError::Retention {
            problem: "--keep 0 would delete the current snapshot; keep at least 1".into(),
        });
    }
    if layout::current_id(warehouse).is_none() {
        return Err(IngestError::Retention {
            problem: format!(
                "{}: no current snapshot, nothing to keep",
                warehouse.display()
            ),
        });
    }
    let held = build::hold_for(warehouse, !dry_run)?;
    let keep = retained(warehouse, policy);
    let mut needed: BTreeSet<String> = BTreeSet::new();
    // Search indexes are kept by key, in every format version (a replica of another version
    // may still read its own).
    let mut index_keys: BTreeSet<String> = BTreeSet::new();
    for id in &keep {
        let manifest = layout::read_manifest(warehouse, id)
            .map_err(|e| IngestError::Retention {
                problem: e.to_string(),
            })?
            .ok_or_else(|| IngestError::Retention {
                problem: format!("snapshot {id}: manifest vanished during collection"),
            })?;
        needed.extend(needed_files(warehouse, &manifest));
        index_keys.extend(layout::index_key(&manifest));
    }
    let mut candidates = Vec::new();
    for dir in [
        "data",
        zhijian_catalog::rowstore::ROWS_DIR,
        "downloads",
        "rejects",
        BUILDS_DIR,
        PARTS_DIR,
        layout::SNAPSHOTS_DIR,
        layout::INDEX_DIR,
    ] {
        files_under(warehouse, dir, &mut candidates);
    }
    let history = format!("{}/{}", layout::SNAPSHOTS_DIR, layout::HISTORY_FILE);
    let young = |t: SystemTime| {
        policy
            .now
            .duration_since(t)
            .map(|age| age < policy.grace)
            .unwrap_or(true)
    };
    let mut files: Vec<Doomed> = candidates
        .into_iter()
        .filter(|(rel, _, modified)| {
            let index_kept =
                layout::index_of_rel(rel).is_some_and(|(key, _)| index_keys.contains(key));
            !needed.contains(rel) && !index_kept && *rel != history && !young(*modified)
        })
        .map(|(path, bytes, _)| Doomed { path, bytes })
        .collect();
    // What a killed run left in the temporary area (emptied when the lock was taken).
    let mut tmp = Vec::new();
    files_under(warehouse, TMP_DIR, &mut tmp);
    files.extend(
        tmp.into_iter()
            .map(|(path, bytes, _)| Doomed { path, bytes }),
    );
    files.extend(held.cleaned.iter().cloned());
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let collected: Vec<String> = layout::history(warehouse)
        .into_iter()
        .rev()
        .map(|h| h.id)
        .filter(|id| {
            files
                .iter()
                .any(|f| f.path == format!("{}/{id}.json", layout::SNAPSHOTS_DIR))
        })
        .collect();
    if !dry_run {
        for f in &files {
            let path = warehouse.join(&f.path);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        tracing::info!(
            warehouse = %warehouse.display(),
            retained = keep.len(),
            collected = collected.len(),
            files = files.len(),
            "collected"
        );
    }
    let bytes = files.iter().map(|f| f.bytes).sum();
    drop(held);
    Ok(Collection {
        retained: keep,
        collected,
        files,
        bytes,
        dry_run,
    })
}

/// The path of `path` relative to `warehouse`, for reports.
pub(crate) fn relative(warehouse: &Path, path: &Path) -> String {
    path.strip_prefix(warehouse)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
