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
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde_json::{Map, Value};
use zhijian_catalog::{Catalog, FieldType, TableSchema, layout};

use crate::error::{IngestError, Result};
use crate::pipeline::{Accounting, FileError, Ingested, Source, sha256_hex};

pub use zhijian_catalog::layout::{
    Manifest, ManifestFile as FileEntry, ManifestResource as ResourceEntry,
};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` so that a reader sees the whole file or none of it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
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

fn days(iso: &str) -> Option<i32> {
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

/// Rows per data page at most (see `parquet_bytes`).
const PAGE_ROWS: usize = 2048;

/// Text columns with so many distinct values that a dictionary does not pay: more than one
/// in four rows. Reading one row of a dictionary-encoded column decodes its whole dictionary
/// page (up to 1 MiB of names), which made reading rows by position slow.
fn without_dictionary(batch: &RecordBatch) -> Vec<String> {
    use arrow_array::cast::AsArray;
    let rows = batch.num_rows();
    let mut out = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let Some(text) = column.as_string_opt::<i32>() else {
            continue;
        };
        let limit = (rows / 4).max(1024);
        let mut seen = std::collections::HashSet::new();
        for v in text.iter().flatten() {
            seen.insert(v);
            if seen.len() > limit {
                out.push(field.name().clone());
                break;
            }
        }
    }
    out
}

/// Columns a resource is sorted by: the common filters for spot checks, else the key.
fn parquet_bytes(
    batch: &RecordBatch,
    sort: &[String],
) -> std::result::Result<Vec<u8>, parquet::errors::ParquetError> {
    let schema = batch.schema();
    let sorting: Vec<SortingColumn> = sort
        .iter()
        .filter_map(|c| schema.index_of(c).ok())
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: true,
        })
        .collect();
    let mut props = WriterProperties::builder();
    for column in without_dictionary(batch) {
        props = props.set_column_dictionary_enabled(column.into(), false);
    }
    let props = props
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_statistics_enabled(EnabledStatistics::Page)
        // Small pages: a row read by position (a point lookup, a search page, a producer's
        // history) decompresses one page per column, so its size is the cost of each read.
        // 20,000 rows (the default) made a lookup of all 39 columns take 15 ms at 5M rows.
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_column_bloom_filter_enabled("record_id".into(), true)
        .set_sorting_columns(Some(sorting))
        .set_created_by(format!("zhijian {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(out)
}

/// Rows an XLSX sheet holds below its header (Excel's limit is 1,048,576 rows).
const XLSX_MAX_ROWS: u64 = 1_048_575;

/// A cell's text in CSV and XLSX downloads: lists joined by the field's delimiter.
fn cell_text(value: Option<&Value>, delimiter: &str) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell_text(Some(v), delimiter))
            .collect::<Vec<_>>()
            .join(delimiter),
        Some(other) => other.to_string(),
    }
}

fn delimiter(field: &zhijian_catalog::Field) -> &str {
    field.delimiter.as_deref().unwrap_or(";")
}

/// Rows of a batch as JSON objects, a slice at a time (bounded memory for any size).
fn for_each_row(
    batch: &RecordBatch,
    mut f: impl FnMut(&Map<String, Value>) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    const CHUNK: usize = 8192;
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = CHUNK.min(batch.num_rows() - offset);
        let mut buf = Vec::new();
        {
            let mut w = arrow_json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow_json::writer::JsonArray>(&mut buf);
            w.write(&batch.slice(offset, len))
                .map_err(|e| e.to_string())?;
            w.finish().map_err(|e| e.to_string())?;
        }
        let rows: Vec<Map<String, Value>> =
            serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
        for row in &rows {
            f(row)?;
        }
        offset += len;
    }
    Ok(())
}

/// The resource as UTF-8 CSV (the Table Schema's field names as header; lists joined by the
/// field's `delimiter`, as the schema declares), in the Parquet file's row order.
fn csv_bytes(schema: &TableSchema, batch: &RecordBatch) -> std::result::Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(schema.fields.iter().map(|f| f.name.as_str()))
        .map_err(|e| e.to_string())?;
    for_each_row(batch, |row| {
        w.write_record(
            schema
                .fields
                .iter()
                .map(|f| cell_text(row.get(&f.name), delimiter(f))),
        )
        .map_err(|e| e.to_string())
    })?;
    w.into_inner().map_err(|e| e.to_string())
}

/// The resource as one XLSX sheet: a header of field names, typed cells (numbers as numbers,
/// dates as dates), lists joined by the field's delimiter; fixed document dates so the
/// bytes are reproducible.
fn xlsx_bytes(
    schema: &TableSchema,
    title: &str,
    batch: &RecordBatch,
) -> std::result::Result<Vec<u8>, String> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let fixed = ExcelDateTime::from_ymd(2020, 1, 1).map_err(e)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&fixed)
            .set_title(title)
            .set_author("zhijian"),
    );
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    // Rows go to a temporary file as they are written: constant memory for a full sheet.
    let ws = wb.add_worksheet_with_constant_memory().map_err(e)?;
    for (c, f) in schema.fields.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, &f.name, &bold)
            .map_err(e)?;
    }
    let mut r = 0u32;
    for_each_row(batch, |row| {
        r += 1;
        for (c, f) in schema.fields.iter().enumerate() {
            let c = c as u16;
            match (f.field_type, row.get(&f.name)) {
                (_, None | Some(Value::Null)) => {}
                (FieldType::Date, Some(Value::String(iso))) => {
                    match ExcelDateTime::parse_from_str(iso) {
                        Ok(d) => ws.write_datetime_with_format(r, c, d, &date).map(|_| ()),
                        Err(_) => ws.write_string(r, c, iso).map(|_| ()),
                    }
                    .map_err(e)?;
                }
                (_, Some(Value::Number(n))) => {
                    ws.write_number(r, c, n.as_f64().unwrap_or_default())
                        .map_err(e)?;
                }
                (_, Some(Value::Bool(b))) => {
                    ws.write_boolean(r, c, *b).map_err(e)?;
                }
                (_, value) => {
                    ws.write_string(r, c, cell_text(value, delimiter(f)))
                        .map_err(e)?;
                }
            }
        }
        Ok(())
    })?;
    wb.save_to_buffer().map_err(e)
}

/// Writes a content-addressed file unless it exists; returns its entry.
fn put(warehouse: &Path, dir: &str, ext: &str, bytes: &[u8], rows: u64) -> Result<FileEntry> {
    let sha = sha256_hex(bytes);
    let rel = format!("{dir}/{sha}.{ext}");
    let path = warehouse.join(&rel);
    let complete = std::fs::read(&path).is_ok_and(|b| sha256_hex(&b) == sha);
    if !complete {
        write_atomic(&path, bytes)?;
    }
    Ok(FileEntry {
        path: rel,
        sha256: sha,
        bytes: bytes.len() as u64,
        rows,
    })
}

/// Publishes a new snapshot of what was ingested and points `CURRENT` at it.
pub fn publish(warehouse: &Path, catalog: &Catalog, ingested: &Ingested) -> Result<Manifest> {
    use rayon::prelude::*;
    let errors: Vec<FileError> = ingested
        .resources
        .values()
        .flat_map(|r| r.errors.iter().cloned())
        .collect();
    // Resources are sorted, compressed and written in parallel; the manifest is the same.
    let entries: Vec<(String, ResourceEntry)> = ingested
        .resources
        .par_iter()
        .map(|(id, data)| publish_resource(warehouse, catalog, id, data))
        .collect::<Result<_>>()?;
    let resources: BTreeMap<String, ResourceEntry> = entries.into_iter().collect();
    let totals: Accounting = ingested.totals();
    let mut manifest = Manifest {
        id: String::new(),
        resources,
        totals: serde_json::to_value(&totals).unwrap_or_default(),
        errors: errors
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect(),
    };
    let body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest.id = sha256_hex(&body)[..16].to_owned();
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    write_atomic(&layout::manifest_path(warehouse, &manifest.id), &text)?;
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

/// Sorts, writes and verifies one resource's Parquet file and its rejects.
fn publish_resource(
    warehouse: &Path,
    catalog: &Catalog,
    id: &str,
    data: &crate::pipeline::ResourceRows,
) -> Result<(String, ResourceEntry)> {
    let resource = catalog.resource(id).map_err(|e| IngestError::Publish {
        resource: id.to_owned(),
        problem: e.to_string(),
    })?;
    let schema = catalog
        .schema_of(resource)
        .map_err(|e| IngestError::Publish {
            resource: id.to_owned(),
            problem: e.to_string(),
        })?;
    let arrow = schema.to_arrow();
    let arrow = Arc::new(arrow);
    let batch = arrow_select::concat::concat_batches(&arrow, &data.batches).map_err(|e| {
        IngestError::Publish {
            resource: id.to_owned(),
            problem: e.to_string(),
        }
    })?;
    let published = batch.num_rows();
    let sort = zhijian_catalog::sort_order(&resource.schema, &schema.primary_key);
    let sort_cols: Vec<arrow_ord::sort::SortColumn> = sort
        .iter()
        .filter_map(|c| batch.column_by_name(c))
        .map(|values| arrow_ord::sort::SortColumn {
            values: values.clone(),
            options: None,
        })
        .collect();
    let batch = if batch.num_rows() > 1 {
        let idx = arrow_ord::sort::lexsort_to_indices(&sort_cols, None).map_err(|e| {
            IngestError::Publish {
                resource: id.to_owned(),
                problem: e.to_string(),
            }
        })?;
        arrow_select::take::take_record_batch(&batch, &idx).map_err(|e| IngestError::Publish {
            resource: id.to_owned(),
            problem: e.to_string(),
        })?
    } else {
        batch
    };
    let bytes = parquet_bytes(&batch, &sort).map_err(|e| IngestError::Publish {
        resource: id.to_owned(),
        problem: e.to_string(),
    })?;
    // The Rust writer has no page checksums: read the file back before publishing it.
    let back = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes.clone()),
    )
    .map_err(|e| IngestError::Publish {
        resource: id.to_owned(),
        problem: e.to_string(),
    })?;
    let rows_back = back.metadata().file_metadata().num_rows() as u64;
    if rows_back != published as u64 {
        return Err(IngestError::Publish {
            resource: id.to_owned(),
            problem: format!("wrote {published} rows, read back {rows_back}"),
        });
    }
    let file = put(warehouse, "data", "parquet", &bytes, rows_back)?;
    let publish_err = |e: String| IngestError::Publish {
        resource: id.to_owned(),
        problem: e,
    };
    let mut downloads = BTreeMap::new();
    let csv = csv_bytes(schema, &batch).map_err(publish_err)?;
    downloads.insert(
        "csv".to_owned(),
        put(warehouse, "downloads", "csv", &csv, rows_back)?,
    );
    if rows_back < XLSX_MAX_ROWS {
        let xlsx = xlsx_bytes(schema, &resource.title_zh, &batch).map_err(publish_err)?;
        downloads.insert(
            "xlsx".to_owned(),
            put(warehouse, "downloads", "xlsx", &xlsx, rows_back)?,
        );
    }
    let rejects = if data.rejects.is_empty() {
        None
    } else {
        let mut nd = Vec::new();
        for r in &data.rejects {
            serde_json::to_writer(&mut nd, r).map_err(|e| IngestError::Publish {
                resource: id.to_owned(),
                problem: e.to_string(),
            })?;
            nd.push(b'\n');
        }
        Some(put(
            warehouse,
            "rejects",
            "ndjson",
            &nd,
            data.rejects.len() as u64,
        )?)
    };
    Ok((
        id.to_owned(),
        ResourceEntry {
            table: resource.table.clone(),
            schema: resource.schema.clone(),
            rows: rows_back,
            files: vec![file],
            downloads,
            rejects,
            accounting: serde_json::to_value(&data.accounting).unwrap_or_default(),
            sources: data
                .sources
                .iter()
                .map(|s: &Source| serde_json::to_value(s).unwrap_or_default())
                .collect(),
        },
    ))
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
