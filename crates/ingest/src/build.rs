//! Publishing a raw root as a snapshot in bounded memory, re-reading only what changed.
//!
//! 1. **Read**: every publication is read, laid out and normalized on its own (in parallel) and
//!    kept as a part ([`crate::parts`]): its rows in raw order, its rejects, its accounting. A
//!    publication whose bytes were read before by the same ingester is not read again.
//! 2. **Sort**: a resource's parts are streamed, in raw order, through the register's key
//!    (last listing wins) into an external sort ([`crate::sort`]) bounded by `--memory`.
//! 3. **Write**: the sorted rows stream into the Parquet file and the CSV and XLSX downloads
//!    ([`crate::output`]), which are verified and moved to their content address.
//!
//! A resource whose list of parts is the same as at an earlier ingest is not sorted or written
//! again: `builds/<key>.json` remembers what it became. So the snapshot of an incremental
//! ingest is, byte for byte, the one a full re-ingest of the same raw tree publishes.
//!
//! The warehouse is held by one writer at a time (`<warehouse>/.lock`); its temporary area
//! (`<warehouse>/tmp`), where a killed run may have left files, is emptied when it is taken.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use zhijian_catalog::Catalog;

use crate::error::{IngestError, Result, io};
use crate::output::{Distinct, HashingFile, ResourceWriter, Target};
use crate::parts::{self, PartMeta};
use crate::pipeline::{
    Accounting, FileError, RowKey, Source, key_fields, last_listing_wins, publications, sha256_hex,
};
use crate::snapshot::{self, Manifest, ResourceEntry};
use crate::sort::Sorter;

/// The directory of resource builds, relative to the warehouse.
pub const BUILDS_DIR: &str = "builds";
/// The temporary area, relative to the warehouse.
pub const TMP_DIR: &str = "tmp";
/// The lock file held by the one process writing into a warehouse.
pub const LOCK_FILE: &str = ".lock";

/// The default memory budget of an ingest's sort, in bytes.
pub const DEFAULT_MEMORY: usize = 1 << 30;

/// A long phase of an ingest, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Publications read (or found unchanged).
    Read,
    /// Rows into the sort.
    Sort,
    /// Rows written.
    Write,
}

impl Phase {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Sort => "sort",
            Self::Write => "write",
        }
    }

    /// What it counts.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Read => "publications",
            Self::Sort | Self::Write => "rows",
        }
    }
}

/// How to ingest.
pub struct Options<'a> {
    /// Only these resources are read again (all when empty); the others are carried over
    /// from the current snapshot as they are.
    pub only: &'a [String],
    /// About how many bytes of rows the sort holds before it spills to disk.
    pub memory: usize,
    /// Told `(phase, done, total)` as the ingest goes.
    pub progress: &'a (dyn Fn(Phase, u64, u64) + Sync),
    /// Called with the new snapshot's manifest once its files and manifest are written and
    /// before `CURRENT` names it: where the search index file is written, so that servers
    /// picking the snapshot up read it.
    pub before_current: Option<&'a (dyn Fn(&Manifest) + Sync)>,
}

/// What became of a resource in this ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Sorted and written from its parts.
    Written,
    /// Its parts were the same as at an earlier ingest: its files are used as they are.
    Unchanged,
    /// Not asked for (`--resource`): carried over from the previous snapshot.
    CarriedOver,
}

/// One resource of a published snapshot.
#[derive(Debug, Clone)]
pub struct ResourceReport {
    /// Row accounting.
    pub accounting: Accounting,
    /// Files that could not be read.
    pub errors: Vec<FileError>,
    /// What became of it.
    pub fate: Fate,
}

/// What an ingest published.
#[derive(Debug)]
pub struct Published {
    /// The new current snapshot.
    pub manifest: Manifest,
    /// Every resource of the snapshot.
    pub resources: BTreeMap<String, ResourceReport>,
    /// Publications under the raw root (of the resources asked for).
    pub publications: usize,
    /// Of which read again (new or changed).
    pub read: usize,
}

impl Published {
    /// Accounting over all resources.
    pub fn totals(&self) -> Accounting {
        let mut a = Accounting::default();
        for r in self.resources.values() {
            a.add(&r.accounting);
        }
        a
    }
}

/// A warehouse held for writing: its lock and its temporary area. Released on drop.
pub struct Held {
    _lock: File,
    /// The temporary area.
    pub tmp: PathBuf,
    /// What a killed run had left there, deleted when the lock was taken.
    pub cleaned: Vec<crate::gc::Doomed>,
}

/// Takes the warehouse for writing: fails at once, naming the lock, while another ingest or
/// collection holds it; then empties the temporary area a killed run may have left.
pub fn hold(warehouse: &Path) -> Result<Held> {
    hold_for(warehouse, true)
}

/// [`hold`], emptying the temporary area only when `clean` (a dry run looks, and leaves it).
pub(crate) fn hold_for(warehouse: &Path, clean: bool) -> Result<Held> {
    std::fs::create_dir_all(warehouse).map_err(io(warehouse))?;
    let path = warehouse.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(IngestError::Busy { lock: path }),
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    let tmp = warehouse.join(TMP_DIR);
    let mut cleaned = Vec::new();
    if clean {
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let p = entry.path();
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or_default();
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed.map_err(io(&p))?;
            cleaned.push(crate::gc::Doomed {
                path: crate::gc::relative(warehouse, &p),
                bytes,
            });
        }
        if !cleaned.is_empty() {
            tracing::info!(files = cleaned.len(), tmp = %tmp.display(), "removed what a killed run left");
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    }
    Ok(Held {
        _lock: lock,
        tmp,
        cleaned,
    })
}

/// What a resource became from a list of parts, remembered under the list's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Build {
    /// The resource.
    pub resource: String,
    /// Its parts' keys, in raw order.
    pub parts: Vec<String>,
    /// Its manifest entry.
    pub entry: ResourceEntry,
    /// Its files that could not be read.
    pub errors: Vec<FileError>,
}

/// The key of a resource built from `parts` (in raw order).
fn build_key(resource: &str, parts: &[PartMeta]) -> String {
    let mut text = format!("zhijian-build-1\0{resource}");
    for p in parts {
        text.push('\0');
        text.push_str(&p.key);
    }
    sha256_hex(text.as_bytes())[..32].to_owned()
}

/// Where a build is remembered.
pub fn build_path(warehouse: &Path, key: &str) -> PathBuf {
    warehouse.join(BUILDS_DIR).join(format!("{key}.json"))
}

/// Every file of a manifest entry.
pub fn entry_files(entry: &ResourceEntry) -> impl Iterator<Item = &snapshot::FileEntry> {
    entry
        .files
        .iter()
        .chain(entry.downloads.values())
        .chain(entry.rejects.iter())
}

/// A remembered build whose files are all still in the warehouse.
fn remembered(warehouse: &Path, key: &str) -> Option<Build> {
    let text = std::fs::read(build_path(warehouse, key)).ok()?;
    let build: Build = serde_json::from_slice(&text).ok()?;
    let complete = entry_files(&build.entry).all(|f| warehouse.join(&f.path).is_file());
    complete.then_some(build)
}

/// Counts rows through the sort and write phases of all resources being written.
struct Meter<'a> {
    progress: &'a (dyn Fn(Phase, u64, u64) + Sync),
    sorted: AtomicU64,
    written: AtomicU64,
    total: u64,
}

impl Meter<'_> {
    fn add(&self, phase: Phase, rows: usize) {
        let counter = match phase {
            Phase::Sort => &self.sorted,
            _ => &self.written,
        };
        let done = counter.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64;
        (self.progress)(phase, done, self.total);
    }
}

/// Writes a resource's rejected rows as NDJSON and says how many.
pub(crate) type WriteRejects<'a> = Box<dyn FnOnce(&mut dyn Write) -> Result<u64> + 'a>;

/// A resource's rows and what goes with them, ready to be sorted and written.
pub(crate) struct Input<'a> {
    /// The resource.
    pub id: &'a str,
    /// Rows the batches hold.
    pub rows: u64,
    /// The published rows in raw order.
    pub batches: Box<dyn Iterator<Item = Result<RecordBatch>> + 'a>,
    /// Writes the rejected rows as NDJSON and says how many.
    pub rejects: WriteRejects<'a>,
    /// Row accounting.
    pub accounting: Accounting,
    /// Attachments read.
    pub sources: Vec<Source>,
}

/// Moves a row store from the temporary area to the address of the Parquet file it repeats
/// (`rows/<sha256>.zjrows` beside `data/<sha256>.parquet`), where an earlier ingest may
/// already have put the same rows.
fn place_row_store(warehouse: &Path, tmp: &Path, parquet: &str) -> Result<()> {
    let Some(rel) = zhijian_catalog::rowstore::rel_for(parquet) else {
        return std::fs::remove_file(tmp).map_err(io(tmp));
    };
    let path = warehouse.join(rel);
    let dir = path.parent().unwrap_or(warehouse);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if path.exists() {
        return std::fs::remove_file(tmp).map_err(io(tmp));
    }
    std::fs::rename(tmp, &path).map_err(io(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Sorts a resource's rows and writes its Parquet file, downloads and rejects into the
/// warehouse: its manifest entry.
fn write_resource(
    warehouse: &Path,
    tmp: &Path,
    catalog: &Catalog,
    input: Input<'_>,
    budget: usize,
    meter: &Meter<'_>,
) -> Result<ResourceEntry> {
    let id = input.id;
    let fail = |e: String| IngestError::Publish {
        resource: id.to_owned(),
        problem: e,
    };
    let resource = catalog.resource(id).map_err(|e| fail(e.to_string()))?;
    let schema = catalog
        .schema_of(resource)
        .map_err(|e| fail(e.to_string()))?;
    let arrow = Arc::new(schema.to_arrow());
    let sort = zhijian_catalog::sort_order(&resource.schema, &schema.primary_key);
    let mut distinct = Distinct::new(&arrow, input.rows);
    let mut sorter = Sorter::new(tmp, id, arrow.clone(), &sort, budget);
    for batch in input.batches {
        let batch = batch?;
        distinct.add(&batch);
        meter.add(Phase::Sort, batch.num_rows());
        sorter.push(batch)?;
    }
    let sorted = sorter.finish()?;
    let mut writer = ResourceWriter::new(
        tmp,
        Target {
            id,
            schema,
            arrow,
            title: &resource.title_zh,
            schema_name: &resource.schema,
        },
        &sort,
        &distinct,
        input.rows,
    )?;
    for batch in sorted {
        let batch = batch?;
        meter.add(Phase::Write, batch.num_rows());
        writer = writer.write(&batch)?;
    }
    let written = writer.finish()?;
    if written.rows != input.rows {
        return Err(fail(format!(
            "{} rows were to be published, {} were written",
            input.rows, written.rows
        )));
    }
    let rows = written.rows;
    let file = written.parquet.place(warehouse, "data", "parquet", rows)?;
    if let Some(store) = written.row_store {
        place_row_store(warehouse, &store, &file.path)?;
    }
    let mut downloads = BTreeMap::new();
    downloads.insert(
        "csv".to_owned(),
        written.csv.place(warehouse, "downloads", "csv", rows)?,
    );
    if let Some(xlsx) = written.xlsx {
        downloads.insert(
            "xlsx".to_owned(),
            xlsx.place(warehouse, "downloads", "xlsx", rows)?,
        );
    }
    let mut out = HashingFile::create(tmp.join(format!("{id}.rejects.ndjson")))?;
    let count = (input.rejects)(&mut out)?;
    let staged = out.finish()?;
    let rejects = if count == 0 {
        staged.discard()?;
        None
    } else {
        Some(staged.place(warehouse, "rejects", "ndjson", count)?)
    };
    Ok(ResourceEntry {
        table: resource.table.clone(),
        schema: resource.schema.clone(),
        rows,
        files: vec![file],
        downloads,
        rejects,
        accounting: serde_json::to_value(&input.accounting).unwrap_or_default(),
        sources: input
            .sources
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .collect(),
    })
}

/// One line of a rejects file.
fn write_reject(out: &mut dyn Write, id: &str, r: &crate::pipeline::Reject) -> Result<()> {
    serde_json::to_writer(&mut *out, r)
        .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
        .map_err(|e| IngestError::Publish {
            resource: id.to_owned(),
            problem: e.to_string(),
        })
}

/// Builds one resource from its parts (in raw order).
fn build_resource(
    warehouse: &Path,
    tmp: &Path,
    catalog: &Catalog,
    id: &str,
    parts: &[PartMeta],
    budget: usize,
    meter: &Meter<'_>,
) -> Result<Build> {
    let mut accounting = Accounting::default();
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for p in parts {
        accounting.add(&p.accounting);
        sources.extend(p.sources.iter().cloned());
        errors.extend(p.errors.iter().cloned());
    }
    // The register's key across publications: a keep flag per row of each part.
    let schema = catalog
        .resource(id)
        .and_then(|r| catalog.schema_of(r))
        .map_err(|e| IngestError::Publish {
            resource: id.to_owned(),
            problem: e.to_string(),
        })?;
    let fields = key_fields(schema);
    let (keep, duplicates) = if !fields.is_empty() && parts.iter().any(|p| p.keyed) {
        let mut keys: Vec<RowKey> = Vec::new();
        for p in parts {
            keys.extend(parts::keys(warehouse, p)?);
        }
        last_listing_wins(&keys, &fields)
    } else {
        (Vec::new(), Vec::new())
    };
    accounting.duplicates(duplicates.len() as u64);
    let rows = parts.iter().map(|p| p.rows).sum::<u64>() - duplicates.len() as u64;

    let mut offset = 0usize;
    let keep = &keep;
    let batches = parts.iter().flat_map(move |p| {
        let part_rows = if p.keyed { p.rows as usize } else { 0 };
        let start = offset;
        offset += part_rows;
        match parts::batches(warehouse, p) {
            Err(e) => Box::new(std::iter::once(Err(e))) as Box<dyn Iterator<Item = _>>,
            Ok(it) => {
                let mut at = start;
                Box::new(it.map(move |b| {
                    let b = b?;
                    if keep.is_empty() || !p.keyed {
                        return Ok(b);
                    }
                    let n = b.num_rows();
                    let mask = arrow_array::BooleanArray::from(keep[at..at + n].to_vec());
                    at += n;
                    arrow_select::filter::filter_record_batch(&b, &mask).map_err(|e| {
                        IngestError::Publish {
                            resource: p.resource.clone(),
                            problem: e.to_string(),
                        }
                    })
                }))
            }
        }
    });
    let rejects = Box::new(|out: &mut dyn Write| -> Result<u64> {
        let mut count = 0;
        for p in parts {
            parts::copy_rejects(warehouse, p, &mut *out)?;
            count += p.rejects;
        }
        for r in &duplicates {
            write_reject(&mut *out, id, r)?;
            count += 1;
        }
        Ok(count)
    });
    let entry = write_resource(
        warehouse,
        tmp,
        catalog,
        Input {
            id,
            rows,
            batches: Box::new(batches),
            rejects,
            accounting,
            sources,
        },
        budget,
        meter,
    )?;
    Ok(Build {
        resource: id.to_owned(),
        parts: parts.iter().map(|p| p.key.clone()).collect(),
        entry,
        errors,
    })
}

/// The sort budget of each of the resources written at once.
fn budget(memory: usize) -> usize {
    // A sort holds its rows, their concatenation and the sorted copy: a third each.
    (memory / (3 * rayon::current_num_threads().max(1))).max(8 << 20)
}

/// Ingests `raw` into a new snapshot of `warehouse` and makes it current.
pub fn ingest(
    raw: &Path,
    warehouse: &Path,
    catalog: &Catalog,
    options: &Options<'_>,
) -> Result<Published> {
    use rayon::prelude::*;
    let held = hold(warehouse)?;
    let tmp = held.tmp.as_path();
    let base = snapshot::current(warehouse)?;
    let pubs = publications(raw, catalog, options.only);
    let done = AtomicU64::new(0);
    let total = pubs.len() as u64;
    let read: Vec<(PartMeta, bool)> = pubs
        .par_iter()
        .map(|(resource, dir)| {
            let key = parts::part_key(resource, dir);
            let out = match parts::load(warehouse, resource, &key) {
                Some(meta) => (meta, false),
                None => {
                    let meta = parts::make(raw, warehouse, tmp, catalog, resource, dir, &key)?;
                    log_part(&meta);
                    (meta, true)
                }
            };
            (options.progress)(Phase::Read, done.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let reread = read.iter().filter(|(_, r)| *r).count();
    let mut by_resource: BTreeMap<String, Vec<PartMeta>> = BTreeMap::new();
    for (meta, _) in read {
        by_resource
            .entry(meta.resource.clone())
            .or_default()
            .push(meta);
    }

    let mut builds: BTreeMap<String, (String, Build, Fate)> = BTreeMap::new();
    let mut todo = Vec::new();
    for (id, parts) in &by_resource {
        let key = build_key(id, parts);
        match remembered(warehouse, &key) {
            Some(b) => {
                builds.insert(id.clone(), (key, b, Fate::Unchanged));
            }
            None => todo.push((id, parts, key)),
        }
    }
    let meter = Meter {
        progress: options.progress,
        sorted: AtomicU64::new(0),
        written: AtomicU64::new(0),
        total: todo
            .iter()
            .flat_map(|(_, parts, _)| parts.iter().map(|p| p.rows))
            .sum(),
    };
    let budget = budget(options.memory);
    let written: Vec<(String, String, Build)> = todo
        .par_iter()
        .map(|(id, parts, key)| {
            let build = build_resource(warehouse, tmp, catalog, id, parts, budget, &meter)?;
            let path = build_path(warehouse, key);
            let text = serde_json::to_vec(&build).map_err(|e| IngestError::Json {
                path: path.clone(),
                problem: e.to_string(),
            })?;
            snapshot::write_atomic(&path, &text)?;
            Ok(((*id).clone(), key.clone(), build))
        })
        .collect::<Result<_>>()?;
    for (id, key, build) in written {
        builds.insert(id, (key, build, Fate::Written));
    }

    let mut resources: BTreeMap<String, ResourceReport> = BTreeMap::new();
    let mut entries: BTreeMap<String, ResourceEntry> = BTreeMap::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for (id, (key, build, fate)) in builds {
        resources.insert(
            id.clone(),
            ResourceReport {
                accounting: accounting_of(&build.entry),
                errors: build.errors,
                fate,
            },
        );
        entries.insert(id.clone(), build.entry);
        keys.insert(id, key);
    }
    if !options.only.is_empty()
        && let Some(base) = &base
    {
        for (id, entry) in &base.resources {
            if options.only.contains(id) {
                continue;
            }
            let prefix = format!("{id}/");
            let errors = base
                .errors
                .iter()
                .filter_map(|e| serde_json::from_value::<FileError>(e.clone()).ok())
                .filter(|e| e.source_file.starts_with(&prefix))
                .collect();
            resources.insert(
                id.clone(),
                ResourceReport {
                    accounting: accounting_of(entry),
                    errors,
                    fate: Fate::CarriedOver,
                },
            );
            entries.insert(id.clone(), entry.clone());
            if let Some(key) = snapshot::builds_of(warehouse, &base.id).remove(id) {
                keys.insert(id.clone(), key);
            }
        }
    }
    let report = Published {
        manifest: Manifest {
            id: String::new(),
            resources: BTreeMap::new(),
            totals: serde_json::Value::Null,
            errors: Vec::new(),
        },
        resources,
        publications: pubs.len(),
        read: reread,
    };
    let totals = report.totals();
    if totals.published == 0 {
        return Err(IngestError::NothingPublished {
            raw: raw.to_path_buf(),
        });
    }
    let errors = report
        .resources
        .values()
        .flat_map(|r| r.errors.iter())
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    let manifest = snapshot::commit(
        warehouse,
        entries,
        &totals,
        errors,
        &keys,
        options.before_current.unwrap_or(&|_| {}),
    )?;
    drop(held);
    Ok(Published { manifest, ..report })
}

/// The accounting a manifest entry records.
fn accounting_of(entry: &ResourceEntry) -> Accounting {
    serde_json::from_value(entry.accounting.clone()).unwrap_or_default()
}

fn log_part(meta: &PartMeta) {
    crate::pipeline::log_publication(
        &meta.resource,
        &meta.publication,
        &meta.accounting,
        &meta.errors,
    );
}

/// Publishes what [`crate::pipeline::ingest`] read into memory (the whole raw root at once:
/// for tests and small corpora) as a new current snapshot, through the same sort and writers.
pub fn publish_ingested(
    warehouse: &Path,
    catalog: &Catalog,
    ingested: &crate::pipeline::Ingested,
) -> Result<Manifest> {
    use rayon::prelude::*;
    let held = hold(warehouse)?;
    let tmp = held.tmp.as_path();
    let progress = |_: Phase, _: u64, _: u64| {};
    let meter = Meter {
        progress: &progress,
        sorted: AtomicU64::new(0),
        written: AtomicU64::new(0),
        total: 0,
    };
    let entries: Vec<(String, ResourceEntry)> = ingested
        .resources
        .par_iter()
        .map(|(id, data)| {
            let rejects = Box::new(|out: &mut dyn Write| -> Result<u64> {
                for r in &data.rejects {
                    write_reject(&mut *out, id, r)?;
                }
                Ok(data.rejects.len() as u64)
            });
            let input = Input {
                id,
                rows: data.row_count() as u64,
                batches: Box::new(data.batches.iter().cloned().map(Ok)),
                rejects,
                accounting: data.accounting.clone(),
                sources: data.sources.clone(),
            };
            let entry = write_resource(warehouse, tmp, catalog, input, usize::MAX, &meter)?;
            Ok((id.clone(), entry))
        })
        .collect::<Result<_>>()?;
    let errors = ingested
        .resources
        .values()
        .flat_map(|r| r.errors.iter())
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    let manifest = snapshot::commit(
        warehouse,
        entries.into_iter().collect(),
        &ingested.totals(),
        errors,
        &BTreeMap::new(),
        &|_| {},
    )?;
    drop(held);
    Ok(manifest)
}
