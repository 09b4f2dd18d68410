//! The ingest pipeline over a raw root: every attachment of every publication read, laid out
//! and normalized, with every input row accounted for (published, rejected or non-data).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use zhijian_catalog::Catalog;

use crate::layout::detect;
use crate::normalize::{Outcome, Publication, SpotChecks, Typed};
use crate::read::read;

/// A row rejected by the ingester, with where it came from and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reject {
    /// Attachment path relative to the raw root.
    pub source_file: String,
    /// Sheet name or HTML table index.
    pub source_sheet: Option<String>,
    /// Row number.
    pub source_row: u32,
    /// The field at fault.
    pub field: String,
    /// The raw value at fault.
    pub value: String,
    /// Machine reason.
    pub reason: String,
}

/// A file that could not be read at all, and why; the rest still publishes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileError {
    /// Attachment (or publication.toml) path relative to the raw root.
    pub source_file: String,
    /// What went wrong.
    pub error: String,
}

/// Row accounting: `rows_in = published + rejected + non_data`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Accounting {
    /// Physical rows read.
    pub rows_in: u64,
    /// Rows published.
    pub published: u64,
    /// Rows rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Non-data rows, by class.
    pub non_data: BTreeMap<String, u64>,
}

impl Accounting {
    /// Rejected rows in total.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Non-data rows in total.
    pub fn non_data_total(&self) -> u64 {
        self.non_data.values().sum()
    }

    /// Moves `n` published rows to the rejected `duplicate_key`.
    pub fn duplicates(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        self.published -= n;
        *self.rejected.entry("duplicate_key".into()).or_default() += n;
    }

    /// Adds another part's accounting.
    pub fn add(&mut self, o: &Self) {
        self.rows_in += o.rows_in;
        self.published += o.published;
        for (k, v) in &o.rejected {
            *self.rejected.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.non_data {
            *self.non_data.entry(k.clone()).or_default() += v;
        }
    }
}

/// A source attachment and its hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the raw root.
    pub source_file: String,
    /// sha256 of its bytes.
    pub sha256: String,
}

/// What one resource yields.
#[derive(Debug, Default)]
pub struct ResourceRows {
    /// Canonical rows, with lineage and `record_id`, as Arrow record batches in the resource's
    /// schema (one per publication): columnar from the start, so a resource of millions of
    /// rows holds a fraction of the memory of row objects.
    pub batches: Vec<RecordBatch>,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// Row accounting.
    pub accounting: Accounting,
    /// Attachments read.
    pub sources: Vec<Source>,
    /// Files that could not be read.
    pub errors: Vec<FileError>,
    /// The primary key of every published row, in the order of `batches`, for resources
    /// keyed by their own fields (empty for those keyed by `record_id`).
    pub keys: Vec<RowKey>,
}

/// Where a published row came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Attachment path relative to the raw root.
    pub source_file: String,
    /// Sheet name or HTML table index.
    pub source_sheet: Option<String>,
    /// Row number.
    pub source_row: u32,
}

impl Lineage {
    /// The lineage fields of a normalized row.
    fn of(row: &Map<String, Value>) -> Self {
        Self {
            source_file: row
                .get("source_file")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            source_sheet: row
                .get("source_sheet")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source_row: row
                .get("source_row")
                .and_then(Value::as_u64)
                .unwrap_or_default() as u32,
        }
    }

    /// A reject of this row.
    fn reject(self, field: String, value: String, reason: &str) -> Reject {
        Reject {
            source_file: self.source_file,
            source_sheet: self.source_sheet,
            source_row: self.source_row,
            field,
            value,
            reason: reason.to_owned(),
        }
    }
}

/// A published row's primary key and where the row came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    /// The key fields' values joined by `|`.
    pub key: String,
    /// Where the row came from.
    pub at: Lineage,
}

impl ResourceRows {
    /// Rows published.
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The rows as JSON objects (nulls explicit, dates ISO 8601), in ingest order: for tests
    /// and small resources; large ones are read as batches.
    pub fn rows(&self) -> Vec<Map<String, Value>> {
        let mut out = Vec::with_capacity(self.row_count());
        for batch in &self.batches {
            let mut buf = Vec::new();
            let mut w = arrow_json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow_json::writer::JsonArray>(&mut buf);
            if w.write(batch).and_then(|()| w.finish()).is_ok()
                && let Ok(rows) = serde_json::from_slice::<Vec<Map<String, Value>>>(&buf)
            {
                out.extend(rows);
            }
        }
        out
    }

    /// Appends what another part of the same resource yielded.
    fn absorb(&mut self, other: Self) {
        self.batches.extend(other.batches);
        self.rejects.extend(other.rejects);
        self.accounting.add(&other.accounting);
        self.sources.extend(other.sources);
        self.errors.extend(other.errors);
        self.keys.extend(other.keys);
    }

    /// Enforces the resource's primary key: where rows share a key, the last one in raw order
    /// (publications in order, then attachments, then rows) is the register's current entry
    /// and is published; every earlier one is rejected as `duplicate_key`, naming the key and
    /// the row that replaced it. Nothing is dropped without a reject, and the published data
    /// satisfies the declared key.
    pub fn enforce_key(&mut self, key_fields: &[&str]) {
        if self.keys.is_empty() {
            return;
        }
        let (keep, rejects) = last_listing_wins(&self.keys, key_fields);
        if rejects.is_empty() {
            return;
        }
        let mut offset = 0;
        for batch in &mut self.batches {
            let n = batch.num_rows();
            let mask = arrow_array::BooleanArray::from(keep[offset..offset + n].to_vec());
            offset += n;
            // The mask has the batch's length, so filtering cannot fail; if it ever did, the
            // log says so rather than the data quietly keeping a repeated key.
            match arrow_select::filter::filter_record_batch(batch, &mask) {
                Ok(kept) => *batch = kept,
                Err(e) => tracing::error!(error = %e, "duplicate keys could not be removed"),
            }
        }
        self.accounting.duplicates(rejects.len() as u64);
        self.rejects.extend(rejects);
        self.keys = self
            .keys
            .drain(..)
            .zip(keep)
            .filter_map(|(k, keep)| keep.then_some(k))
            .collect();
    }
}

/// Which rows keep their key, where rows share one (`keys` in raw order): the last listing is
/// the register's current entry; every earlier one is rejected as `duplicate_key`, naming the
/// key and the row that replaced it. Returns a keep flag per row and the rejects, in raw order.
pub fn last_listing_wins(keys: &[RowKey], key_fields: &[&str]) -> (Vec<bool>, Vec<Reject>) {
    let mut last: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        last.insert(&k.key, i);
    }
    let keep: Vec<bool> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| last.get(k.key.as_str()) == Some(&i))
        .collect();
    let mut rejects = Vec::new();
    for (k, _) in keys.iter().zip(&keep).filter(|(_, keep)| !**keep) {
        let winner = last
            .get(k.key.as_str())
            .and_then(|&i| keys.get(i))
            .map(|w| format!(" (kept: {} row {})", w.at.source_file, w.at.source_row))
            .unwrap_or_default();
        rejects.push(k.at.clone().reject(
            key_fields.join("+"),
            format!("{}{winner}", k.key),
            "duplicate_key",
        ));
    }
    (keep, rejects)
}

/// A row's primary key: the key fields' values joined by `|` (text as it is, other values
/// as JSON).
fn key_text(key_fields: &[&str], row: &Map<String, Value>) -> String {
    key_fields
        .iter()
        .map(|k| match row.get(*k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// The fields of a resource's own primary key (none when it is keyed by `record_id`).
pub fn key_fields(schema: &zhijian_catalog::TableSchema) -> Vec<&str> {
    schema
        .primary_key
        .iter()
        .map(String::as_str)
        .filter(|k| *k != "record_id")
        .collect()
}

/// Logs what one publication yielded, and each file that could not be read.
pub fn log_publication(resource: &str, publication: &str, a: &Accounting, errors: &[FileError]) {
    tracing::info!(
        resource,
        publication,
        rows_in = a.rows_in,
        published = a.published,
        rejected = a.rejected_total(),
        non_data = a.non_data_total(),
        unreadable_files = errors.len(),
        "publication ingested"
    );
    for e in errors {
        tracing::warn!(
            source_file = e.source_file.as_str(),
            error = e.error.as_str(),
            "file unreadable"
        );
    }
}

/// Everything read from a raw root, by resource id.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Per resource.
    pub resources: BTreeMap<String, ResourceRows>,
}

impl Ingested {
    /// Accounting over all resources.
    pub fn totals(&self) -> Accounting {
        let mut a = Accounting::default();
        for r in self.resources.values() {
            a.add(&r.accounting);
        }
        a
    }
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn sorted_dir(path: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The attachments to ingest: `(resource, publication dir)` pairs under the raw root, sorted.
pub fn publications(raw: &Path, catalog: &Catalog, only: &[String]) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for r in &catalog.resources {
        if !only.is_empty() && !only.contains(&r.id) {
            continue;
        }
        for dir in sorted_dir(&raw.join(&r.id)) {
            if dir.join("publication.toml").is_file() {
                out.push((r.id.clone(), dir));
            }
        }
    }
    out
}

/// Reads, lays out and normalizes one publication into `into`; `progress` is told each file.
pub fn ingest_publication(
    raw: &Path,
    catalog: &Catalog,
    resource: &str,
    dir: &Path,
    into: &mut ResourceRows,
) {
    let rel = |p: &Path| {
        p.strip_prefix(raw)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let pub_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(r) = catalog.resource(resource) else {
        return;
    };
    let Ok(schema) = catalog.schema_of(r) else {
        return;
    };
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    let toml_path = dir.join("publication.toml");
    let publication = match std::fs::read_to_string(&toml_path)
        .map_err(|e| e.to_string())
        .and_then(|t| Publication::parse(resource, &pub_id, &t))
    {
        Ok(p) => p,
        Err(e) => {
            into.errors.push(FileError {
                source_file: rel(&toml_path),
                error: format!("publication.toml: {e}"),
            });
            return;
        }
    };
    for file in sorted_dir(dir) {
        if file.file_name().is_some_and(|n| n == "publication.toml") || file.is_dir() {
            continue;
        }
        let source_file = rel(&file);
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                into.errors.push(FileError {
                    source_file,
                    error: e.to_string(),
                });
                continue;
            }
        };
        into.sources.push(Source {
            source_file: source_file.clone(),
            sha256: sha256_hex(&bytes),
        });
        let read = match read(&file, &bytes) {
            Ok(r) => r,
            Err(e) => {
                into.errors.push(FileError {
                    source_file,
                    error: e.to_string(),
                });
                continue;
            }
        };
        for table in &read.tables {
            let real_rows = table.rows.iter().filter(|r| r.number > 0).count() as u64;
            let Some(layout) = detect(table, schema) else {
                // A table without a recognisable header: every row is reported, none guessed.
                into.accounting.rows_in += real_rows;
                for row in table.rows.iter().filter(|r| r.number > 0) {
                    *into
                        .accounting
                        .rejected
                        .entry("no_header".into())
                        .or_default() += 1;
                    into.rejects.push(Reject {
                        source_file: source_file.clone(),
                        source_sheet: table.sheet.clone(),
                        source_row: row.number,
                        field: "header".into(),
                        value: row.cells.join("|").chars().take(200).collect(),
                        reason: "no_header".into(),
                    });
                }
                continue;
            };
            let outcomes = if r.spot_check {
                SpotChecks::new(schema, &publication, &name).rows(&table.rows, &layout)
            } else {
                Typed::new(schema, &publication).rows(&table.rows, &layout)
            };
            for (row, outcome) in table.rows.iter().zip(outcomes) {
                if row.number == 0 {
                    continue;
                }
                into.accounting.rows_in += 1;
                match outcome {
                    Outcome::Row(mut m) => {
                        let mut h = Sha256::new();
                        for part in [
                            resource,
                            &source_file,
                            table.sheet.as_deref().unwrap_or(""),
                            &row.number.to_string(),
                        ] {
                            h.update(part.as_bytes());
                            h.update([0xff]);
                        }
                        for c in &row.cells {
                            h.update(c.as_bytes());
                            h.update([0x1f]);
                        }
                        m.insert("record_id".into(), json!(hex(&h.finalize()[..16])));
                        m.insert("source_file".into(), json!(source_file));
                        m.insert("source_sheet".into(), json!(table.sheet));
                        m.insert("source_row".into(), json!(row.number));
                        rows.push(m);
                        into.accounting.published += 1;
                    }
                    Outcome::Rejected(rej) => {
                        *into
                            .accounting
                            .rejected
                            .entry(rej.reason.to_owned())
                            .or_default() += 1;
                        into.rejects.push(Reject {
                            source_file: source_file.clone(),
                            source_sheet: table.sheet.clone(),
                            source_row: row.number,
                            field: rej.field,
                            value: rej.value,
                            reason: rej.reason.to_owned(),
                        });
                    }
                    Outcome::NonData(class) => {
                        *into
                            .accounting
                            .non_data
                            .entry(class.to_owned())
                            .or_default() += 1
                    }
                }
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    // Columnar at once: the row objects of this publication are dropped here.
    match crate::snapshot::to_batch(&schema.to_arrow(), &rows) {
        Ok(batch) => {
            into.batches.push(batch);
            let key_fields = key_fields(schema);
            if !key_fields.is_empty() {
                into.keys.extend(rows.iter().map(|m| RowKey {
                    key: key_text(&key_fields, m),
                    at: Lineage::of(m),
                }));
            }
        }
        Err(e) => {
            // Cannot happen for rows the normalizers made; if it does, nothing is lost silently.
            let n = rows.len() as u64;
            into.accounting.published -= n;
            *into
                .accounting
                .rejected
                .entry("unrepresentable".into())
                .or_default() += n;
            for m in &rows {
                into.rejects.push(Lineage::of(m).reject(
                    "row".into(),
                    e.to_string(),
                    "unrepresentable",
                ));
            }
        }
    }
}

/// Ingests a whole raw root (or only some resources), calling `progress(done, total)` per
/// publication. Publications are read in parallel; the result is the same as reading them in
/// order (their parts are joined in the order of the raw root).
pub fn ingest(
    raw: &Path,
    catalog: &Catalog,
    only: &[String],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Ingested {
    read_all(raw, catalog, only, progress, true)
}

/// What [`ingest`] would report (accounting, rejects with the register's duplicate keys,
/// unreadable files) without keeping any published row: memory for rejects only, whatever
/// the corpus size (`zhijian validate`).
pub fn check(
    raw: &Path,
    catalog: &Catalog,
    only: &[String],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Ingested {
    read_all(raw, catalog, only, progress, false)
}

fn read_all(
    raw: &Path,
    catalog: &Catalog,
    only: &[String],
    progress: &(dyn Fn(usize, usize) + Sync),
    keep_rows: bool,
) -> Ingested {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let pubs = publications(raw, catalog, only);
    let done = AtomicUsize::new(0);
    let parts: Vec<(String, ResourceRows)> = pubs
        .par_iter()
        .map(|(resource, dir)| {
            let mut part = ResourceRows::default();
            ingest_publication(raw, catalog, resource, dir, &mut part);
            if !keep_rows {
                part.batches.clear();
            }
            let publication = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            log_publication(resource, &publication, &part.accounting, &part.errors);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, pubs.len());
            (resource.clone(), part)
        })
        .collect();
    let mut out = Ingested::default();
    for (resource, part) in parts {
        out.resources.entry(resource).or_default().absorb(part);
    }
    for (id, rows) in &mut out.resources {
        if let Ok(schema) = catalog.resource(id).and_then(|r| catalog.schema_of(r)) {
            rows.enforce_key(&key_fields(schema));
        }
    }
    out
}
