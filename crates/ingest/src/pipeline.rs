//! The ingest pipeline over a raw root: every attachment of every publication read, laid out
//! and normalized, with every input row accounted for (published, rejected or non-data).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use zhijian_catalog::Catalog;

use crate::layout::detect;
use crate::normalize::{Outcome, Publication, SpotChecks, Typed};
use crate::read::read;

/// A row rejected by the ingester, with where it came from and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileError {
    /// Attachment (or publication.toml) path relative to the raw root.
    pub source_file: String,
    /// What went wrong.
    pub error: String,
}

/// Row accounting: `rows_in = published + rejected + non_data`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
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

    fn add(&mut self, o: &Self) {
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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the raw root.
    pub source_file: String,
    /// sha256 of its bytes.
    pub sha256: String,
}

/// What one resource yields.
#[derive(Debug, Default)]
pub struct ResourceRows {
    /// Canonical rows, with lineage and `record_id`.
    pub rows: Vec<Map<String, Value>>,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// Row accounting.
    pub accounting: Accounting,
    /// Attachments read.
    pub sources: Vec<Source>,
    /// Files that could not be read.
    pub errors: Vec<FileError>,
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

fn hex(bytes: &[u8]) -> String {
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
                        into.rows.push(m);
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
}

/// Ingests a whole raw root (or only some resources), calling `progress(done, total)` per
/// publication.
pub fn ingest(
    raw: &Path,
    catalog: &Catalog,
    only: &[String],
    progress: &dyn Fn(usize, usize),
) -> Ingested {
    let pubs = publications(raw, catalog, only);
    let mut out = Ingested::default();
    for (i, (resource, dir)) in pubs.iter().enumerate() {
        let entry = out.resources.entry(resource.clone()).or_default();
        ingest_publication(raw, catalog, resource, dir, entry);
        progress(i + 1, pubs.len());
    }
    out
}
