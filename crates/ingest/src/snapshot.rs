//! Immutable snapshots (docs/DESIGN.md §6): Parquet per resource, content-addressed by sha256, a
//! manifest per snapshot, and a `CURRENT` pointer replaced atomically (write, fsync, rename,
//! fsync the directory). A killed ingest leaves the previous snapshot serving; the same raw
//! input yields the same bytes and the same snapshot id.
//!
//! The layout (paths, manifest and history types) is `zhijian_catalog::layout`, shared with
//! the query side.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use serde_json::{Map, Value};
use zhijian_catalog::{Catalog, layout};

use crate::error::{IngestError, Result, io};
use crate::pipeline::{Accounting, Ingested, sha256_hex};

pub use zhijian_catalog::layout::{
    Manifest, ManifestFile as FileEntry, ManifestResource as ResourceEntry,
};

/// Writes `bytes` to `path` so that a reader sees the whole file or none of it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Days since 1970-01-01 of an ISO date (`YYYY-MM-DD`).
pub(crate) fn days(iso: &str) -> Option<i32> {
    let mut p = iso.split('-');
    let (y, m, d): (i64, i64, i64) = (
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    );
    let y = y - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// The rows as an Arrow batch of the schema.
pub fn to_batch(
    schema: &Schema,
    rows: &[Map<String, Value>],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| {
            let get = |r: &Map<String, Value>| r.get(f.name()).cloned().unwrap_or(Value::Null);
            let array: ArrayRef = match f.data_type() {
                DataType::Int16 => {
                    let mut b = Int16Builder::with_capacity(rows.len());
                    rows.iter().for_each(|r| {
                        b.append_option(get(r).as_i64().and_then(|v| i16::try_from(v).ok()))
                    });
                    Arc::new(b.finish())
                }
                DataType::Int32 => {
                    let mut b = Int32Builder::with_capacity(rows.len());
                    rows.iter().for_each(|r| {
                        b.append_option(get(r).as_i64().and_then(|v| i32::try_from(v).ok()))
                    });
                    Arc::new(b.finish())
                }
                DataType::Int64 => {
                    let mut b = Int64Builder::with_capacity(rows.len());
                    rows.iter().for_each(|r| b.append_option(get(r).as_i64()));
                    Arc::new(b.finish())
                }
                DataType::Float64 => {
                    let mut b = Float64Builder::with_capacity(rows.len());
                    rows.iter().for_each(|r| b.append_option(get(r).as_f64()));
                    Arc::new(b.finish())
                }
                DataType::Boolean => {
                    let mut b = BooleanBuilder::with_capacity(rows.len());
                    rows.iter().for_each(|r| b.append_option(get(r).as_bool()));
                    Arc::new(b.finish())
                }
                DataType::Date32 => {
                    let mut b = Date32Builder::with_capacity(rows.len());
                    rows.iter()
                        .for_each(|r| b.append_option(get(r).as_str().and_then(days)));
                    Arc::new(b.finish())
                }
                DataType::List(_) => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for r in rows {
                        match get(r) {
                            Value::Array(items) => {
                                for i in items {
                                    b.values().append_option(i.as_str());
                                }
                                b.append(true);
                            }
                            _ => b.append(false),
                        }
                    }
                    Arc::new(b.finish())
                }
                _ => {
                    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                    for r in rows {
                        match get(r) {
                            Value::String(s) => b.append_value(s),
                            Value::Null => b.append_null(),
                            other => b.append_value(other.to_string()),
                        }
                    }
                    Arc::new(b.finish())
                }
            };
            array
        })
        .collect();
    RecordBatch::try_new(Arc::new(schema.clone()), columns)
}

/// Publishes a new snapshot of what was ingested into memory and points `CURRENT` at it
/// (through the same sort and writers as [`crate::build::ingest`]).
pub fn publish(warehouse: &Path, catalog: &Catalog, ingested: &Ingested) -> Result<Manifest> {
    crate::build::publish_ingested(warehouse, catalog, ingested)
}

/// Where the builds a snapshot's resources came from are remembered (beside the manifest,
/// not in it, so that the snapshot id depends on the data alone).
pub fn builds_path(warehouse: &Path, id: &str) -> std::path::PathBuf {
    warehouse
        .join(layout::SNAPSHOTS_DIR)
        .join(format!("{id}.builds.json"))
}

/// The build key of each resource of snapshot `id`, where it is known.
pub fn builds_of(warehouse: &Path, id: &str) -> BTreeMap<String, String> {
    std::fs::read(builds_path(warehouse, id))
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or_default()
}

/// Writes the manifest of `resources` and makes it current: the manifest first, then
/// `before_current` (the search index), then the `CURRENT` pointer, then a line of history.
pub(crate) fn commit(
    warehouse: &Path,
    resources: BTreeMap<String, ResourceEntry>,
    totals: &Accounting,
    errors: Vec<Value>,
    builds: &BTreeMap<String, String>,
    before_current: &dyn Fn(&Manifest),
) -> Result<Manifest> {
    let mut manifest = Manifest {
        id: String::new(),
        resources,
        totals: serde_json::to_value(totals).unwrap_or_default(),
        errors,
    };
    let body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest.id = sha256_hex(&body)[..16].to_owned();
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    write_atomic(&layout::manifest_path(warehouse, &manifest.id), &text)?;
    if !builds.is_empty() {
        let text = serde_json::to_vec_pretty(builds).unwrap_or_default();
        write_atomic(&builds_path(warehouse, &manifest.id), &text)?;
    }
    before_current(&manifest);
    write_atomic(
        &warehouse.join(layout::CURRENT),
        format!("{}\n", manifest.id).as_bytes(),
    )?;
    append_history(warehouse, &manifest.id)?;
    tracing::info!(
        snapshot = manifest.id.as_str(),
        warehouse = %warehouse.display(),
        resources = manifest.resources.len(),
        published = totals.published,
        "snapshot published"
    );
    Ok(manifest)
}

/// Appends `{"id", "published_at"}` to `snapshots/history.ndjson`, the list of snapshots in the
/// order they became current (kept outside the manifests, so that re-ingesting the same input
/// still yields the same snapshot id).
fn append_history(warehouse: &Path, id: &str) -> Result<()> {
    use std::time::{SystemTime, UNIX_EPOCH};
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let line = serde_json::json!({ "id": id, "published_at": rfc3339(secs) }).to_string();
    let path = layout::history_path(warehouse);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    writeln!(f, "{line}").map_err(io(&path))?;
    f.sync_all().map_err(io(&path))
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = zhijian_catalog::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The current snapshot's manifest, if any.
pub fn current(warehouse: &Path) -> Result<Option<Manifest>> {
    let Some(id) = layout::current_id(warehouse) else {
        return Ok(None);
    };
    let path = layout::manifest_path(warehouse, &id);
    match layout::read_manifest(warehouse, &id) {
        Ok(Some(m)) => Ok(Some(m)),
        Ok(None) => Err(IngestError::Json {
            path,
            problem: "CURRENT names a snapshot whose manifest is missing".into(),
        }),
        Err(e) => Err(IngestError::Json {
            path,
            problem: e.to_string(),
        }),
    }
}
