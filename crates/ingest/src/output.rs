//! A resource's published files written as streams: rows arrive in the Parquet file's order a
//! batch at a time and go at once to the Parquet file, the CSV download and the XLSX download,
//! each through a hashing writer into a temporary file of the warehouse. Nothing holds the
//! whole resource; the files are renamed to their content address once complete.
//!
//! The bytes are those the whole resource written at once would give: the Parquet writer's
//! pages depend on the batches it is handed, so it is handed each row group's rows as one
//! batch, as it cuts a whole resource (a row group is the most the writer holds anyway); and
//! the choice of dictionary encoding per column is made from counts over the whole resource
//! ([`Distinct`]) before the first row is written.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_row::{RowConverter, SortField};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zhijian_catalog::rowstore::RowStoreWriter;
use zhijian_catalog::{FieldType, TableSchema};

use crate::error::{IngestError, Result, io};
use crate::pipeline::hex;
use crate::snapshot::FileEntry;

/// Rows per batch the sort hands to the writers (a divisor of a row group).
pub const CHUNK: usize = 8192;

/// Rows per row group.
const ROW_GROUP: usize = 128 * 1024;

/// Rows per data page at most: a row read by position (a point lookup, a search page, a
/// producer's history) decompresses one page per column, so its size is the cost of each read.
/// 20,000 rows (the default) made a lookup of all 39 columns take 15 ms at 5M rows.
const PAGE_ROWS: usize = 2048;

/// Rows an XLSX sheet holds below its header (Excel's limit is 1,048,576 rows).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// A file being written, with the sha256 and length of what went in.
pub(crate) struct HashingFile {
    path: PathBuf,
    file: BufWriter<File>,
    sha: Sha256,
    bytes: u64,
}

impl HashingFile {
    /// Creates (or truncates) `path`.
    pub(crate) fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path).map_err(io(&path))?;
        Ok(Self {
            path,
            file: BufWriter::with_capacity(1 << 20, file),
            sha: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes and syncs the file: what it holds, under which hash.
    pub(crate) fn finish(self) -> Result<Staged> {
        let file = self.file.into_inner().map_err(|e| IngestError::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io(&self.path))?;
        Ok(Staged {
            sha256: hex(&self.sha.finalize()),
            bytes: self.bytes,
            tmp: self.path,
        })
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A complete file in the temporary area, not yet at its content address.
#[derive(Debug)]
pub(crate) struct Staged {
    tmp: PathBuf,
    /// sha256 of the bytes.
    pub(crate) sha256: String,
    /// Length.
    pub(crate) bytes: u64,
}

impl Staged {
    /// Deletes the file (nothing was worth keeping).
    pub(crate) fn discard(self) -> Result<()> {
        std::fs::remove_file(&self.tmp).map_err(io(&self.tmp))
    }

    /// Moves the file to `<dir>/<sha256>.<ext>` of the warehouse (where an identical file may
    /// already be) and returns its manifest entry.
    pub(crate) fn place(
        self,
        warehouse: &Path,
        dir: &str,
        ext: &str,
        rows: u64,
    ) -> Result<FileEntry> {
        let rel = format!("{dir}/{}.{ext}", self.sha256);
        let path = warehouse.join(&rel);
        let parent = path.parent().unwrap_or(warehouse);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let same = std::fs::metadata(&path).is_ok_and(|m| m.len() == self.bytes);
        if same {
            std::fs::remove_file(&self.tmp).map_err(io(&self.tmp))?;
        } else {
            std::fs::rename(&self.tmp, &path).map_err(io(&path))?;
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io(parent))?;
        }
        Ok(FileEntry {
            path: rel,
            sha256: self.sha256,
            bytes: self.bytes,
            rows,
        })
    }
}

/// Text columns with so many distinct values that a dictionary does not pay: more than one in
/// four rows. Reading one row of a dictionary-encoded column decodes its whole dictionary page
/// (up to 1 MiB of names), which made reading rows by position slow.
///
/// Counted over a resource's batches as they pass, by 64-bit hashes (a set per column that
/// stops growing once the column is decided), so it needs no second pass and little memory.
pub(crate) struct Distinct {
    limit: usize,
    columns: Vec<(String, Option<HashSet<u64>>)>,
}

impl Distinct {
    /// Counting for a resource of `rows` rows in `schema`.
    pub(crate) fn new(schema: &SchemaRef, rows: u64) -> Self {
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        Self {
            limit: (rows / 4).max(1024),
            columns: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), Some(HashSet::new())))
                .collect(),
        }
    }

    /// Counts a batch's text values.
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        for ((_, seen), column) in self.columns.iter_mut().zip(batch.columns()) {
            let (Some(set), Some(text)) = (seen.as_mut(), column.as_string_opt::<i32>()) else {
                continue;
            };
            for v in text.iter().flatten() {
                let mut h = std::hash::DefaultHasher::new();
                v.hash(&mut h);
                set.insert(h.finish());
                if set.len() > self.limit {
                    *seen = None;
                    break;
                }
            }
        }
    }

    /// The columns to write without a dictionary.
    pub(crate) fn without_dictionary(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(_, seen)| seen.is_none())
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// A checksum of decoded rows (every column, in row order), whatever the batches: what was
/// written is compared with what the written file decodes to.
struct Checksum {
    rows: RowConverter,
    sha: Sha256,
    count: u64,
}

impl Checksum {
    fn new(schema: &SchemaRef) -> Result<Self, arrow_schema::ArrowError> {
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        Ok(Self {
            rows: RowConverter::new(fields)?,
            sha: Sha256::new(),
            count: 0,
        })
    }

    fn add(&mut self, batch: &RecordBatch) -> Result<(), arrow_schema::ArrowError> {
        let rows = self.rows.convert_columns(batch.columns())?;
        for row in rows.iter() {
            let bytes: &[u8] = row.as_ref();
            self.sha.update((bytes.len() as u64).to_le_bytes());
            self.sha.update(bytes);
        }
        self.count += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(self) -> (u64, String) {
        (self.count, hex(&self.sha.finalize()))
    }
}

/// The Parquet file of one resource, written on a thread of its own (the CSV and XLSX
/// downloads are written on the caller's): a resource's write takes two cores.
struct ParquetSide {
    id: String,
    parquet: ArrowWriter<HashingFile>,
    path: PathBuf,
    checksum: Checksum,
    arrow: SchemaRef,
    /// Rows of the row group being gathered.
    group: Vec<RecordBatch>,
    group_rows: usize,
    /// Where the row store is written while the file is verified (spot-check resources).
    row_store: Option<PathBuf>,
}

impl ParquetSide {
    fn fail(&self, problem: impl ToString) -> IngestError {
        IngestError::Publish {
            resource: self.id.clone(),
            problem: problem.to_string(),
        }
    }

    /// Hands the rows gathered to the Parquet writer, a row group at a time (all of them
    /// with `all`, else only whole row groups).
    fn flush_groups(&mut self, all: bool) -> Result<()> {
        while self.group_rows >= ROW_GROUP || (all && self.group_rows > 0) {
            let rows = arrow_select::concat::concat_batches(&self.arrow, &self.group)
                .map_err(|e| self.fail(e))?;
            let n = ROW_GROUP.min(rows.num_rows());
            self.parquet
                .write(&rows.slice(0, n))
                .map_err(|e| self.fail(e))?;
            self.group = if n < rows.num_rows() {
                vec![rows.slice(n, rows.num_rows() - n)]
            } else {
                Vec::new()
            };
            self.group_rows -= n;
        }
        Ok(())
    }

    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.checksum.add(&batch).map_err(|e| self.fail(e))?;
        self.group_rows += batch.num_rows();
        self.group.push(batch);
        self.flush_groups(false)
    }

    /// Closes the file, then decodes it and checks that it holds the rows written (their
    /// number and a checksum of every decoded column), not only its footer: the Rust writer
    /// has no page checksums.
    fn finish(mut self) -> Result<(Staged, Option<PathBuf>, u64)> {
        self.flush_groups(true)?;
        let file = self
            .parquet
            .into_inner()
            .map_err(|e| IngestError::Publish {
                resource: self.id.clone(),
                problem: e.to_string(),
            })?;
        let staged = file.finish()?;
        let (rows, written) = self.checksum.finish();
        let fail = |problem: String| IngestError::Publish {
            resource: self.id.clone(),
            problem,
        };
        let (rows_back, read) = decode_checksum(&self.path, &self.arrow, self.row_store.as_deref())
            .map_err(|e| fail(format!("the written Parquet file does not decode: {e}")))?;
        if rows_back != rows || read != written {
            return Err(fail(format!(
                "wrote {rows} rows, the file decodes to {rows_back} rows{}",
                if read == written {
                    ""
                } else {
                    " with different values"
                }
            )));
        }
        Ok((staged, self.row_store, rows))
    }
}

/// The files of one resource as they are written.
pub(crate) struct ResourceWriter<'a> {
    id: &'a str,
    schema: &'a TableSchema,
    parquet: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    parquet_thread: std::thread::JoinHandle<Result<(Staged, Option<PathBuf>, u64)>>,
    csv: csv::Writer<HashingFile>,
    xlsx: Option<rust_xlsxwriter::Workbook>,
    xlsx_path: PathBuf,
    xlsx_row: u32,
    date: rust_xlsxwriter::Format,
}

/// What a [`ResourceWriter`] wrote, verified and staged.
pub(crate) struct Written {
    /// The Parquet file.
    pub(crate) parquet: Staged,
    /// Its row store (spot-check resources), in the temporary area.
    pub(crate) row_store: Option<PathBuf>,
    /// The CSV download.
    pub(crate) csv: Staged,
    /// The XLSX download, when the rows fit one sheet.
    pub(crate) xlsx: Option<Staged>,
    /// Rows written.
    pub(crate) rows: u64,
}

/// The resource a [`ResourceWriter`] writes.
pub(crate) struct Target<'a> {
    /// Its id.
    pub(crate) id: &'a str,
    /// Its Table Schema.
    pub(crate) schema: &'a TableSchema,
    /// Its Arrow schema.
    pub(crate) arrow: SchemaRef,
    /// Its title, for the XLSX workbook.
    pub(crate) title: &'a str,
    /// The name of its Table Schema (spot-check resources get a row store).
    pub(crate) schema_name: &'a str,
}

impl<'a> ResourceWriter<'a> {
    /// Starts the files of a resource (`rows` rows, sorted by `sort`) in `tmp`, with the
    /// dictionary choices of `distinct`.
    pub(crate) fn new(
        tmp: &Path,
        target: Target<'a>,
        sort: &[String],
        distinct: &Distinct,
        rows: u64,
    ) -> Result<Self> {
        let Target {
            id,
            schema,
            arrow,
            title,
            schema_name,
        } = target;
        let fail = |e: String| IngestError::Publish {
            resource: id.to_owned(),
            problem: e,
        };
        let sorting: Vec<SortingColumn> = sort
            .iter()
            .filter_map(|c| arrow.index_of(c).ok())
            .map(|i| SortingColumn {
                column_idx: i as i32,
                descending: false,
                nulls_first: true,
            })
            .collect();
        let mut props = WriterProperties::builder();
        for column in distinct.without_dictionary() {
            props = props.set_column_dictionary_enabled(column.into(), false);
        }
        let zstd = ZstdLevel::try_new(3).map_err(|e| fail(e.to_string()))?;
        let props = props
            .set_compression(Compression::ZSTD(zstd))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_column_bloom_filter_enabled("record_id".into(), true)
            .set_sorting_columns(Some(sorting))
            .set_created_by(format!("zhijian {}", env!("CARGO_PKG_VERSION")))
            .build();
        let path = tmp.join(format!("{id}.parquet"));
        let parquet = ArrowWriter::try_new(
            HashingFile::create(path.clone())?,
            arrow.clone(),
            Some(props),
        )
        .map_err(|e| fail(e.to_string()))?;
        let mut side = ParquetSide {
            id: id.to_owned(),
            parquet,
            path,
            checksum: Checksum::new(&arrow).map_err(|e| fail(e.to_string()))?,
            row_store: (schema_name == zhijian_catalog::SPOT_CHECK_SCHEMA)
                .then(|| tmp.join(format!("{id}.{}", zhijian_catalog::rowstore::EXTENSION))),
            arrow,
            group: Vec::new(),
            group_rows: 0,
        };
        // A few batches in flight: the Parquet side never holds more than a row group.
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
        let parquet_thread = std::thread::Builder::new()
            .name(format!("parquet-{id}"))
            .spawn(move || {
                for batch in rx {
                    side.write(batch)?;
                }
                side.finish()
            })
            .map_err(|e| fail(format!("cannot start the Parquet writer: {e}")))?;
        let mut csv = csv::Writer::from_writer(HashingFile::create(tmp.join(format!("{id}.csv")))?);
        csv.write_record(schema.fields.iter().map(|f| f.name.as_str()))
            .map_err(|e| fail(e.to_string()))?;
        let xlsx = if rows < XLSX_MAX_ROWS {
            Some(workbook(schema, title, tmp).map_err(|e| fail(e.to_string()))?)
        } else {
            None
        };
        Ok(Self {
            id,
            schema,
            parquet: Some(tx),
            parquet_thread,
            csv,
            xlsx,
            xlsx_path: tmp.join(format!("{id}.xlsx")),
            xlsx_row: 0,
            date: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd"),
        })
    }

    fn fail(&self, problem: impl ToString) -> IngestError {
        IngestError::Publish {
            resource: self.id.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// The Parquet side's own error, once it has stopped.
    fn parquet_error(self) -> IngestError {
        let id = self.id;
        drop(self.parquet);
        match self.parquet_thread.join() {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => IngestError::Publish {
                resource: id.to_owned(),
                problem: "the Parquet writer stopped early".into(),
            },
            Err(_) => IngestError::Publish {
                resource: id.to_owned(),
                problem: "the Parquet writer panicked".into(),
            },
        }
    }

    /// Writes the next rows (in the Parquet file's order) to every file.
    pub(crate) fn write(mut self, batch: &RecordBatch) -> Result<Self> {
        let sent = self
            .parquet
            .as_ref()
            .is_some_and(|tx| tx.send(batch.clone()).is_ok());
        if !sent {
            return Err(self.parquet_error());
        }
        let schema = self.schema;
        let csv = &mut self.csv;
        let mut xlsx = self
            .xlsx
            .as_mut()
            .map(|wb| wb.worksheet_from_index(0))
            .transpose()
            .map_err(|e| IngestError::Publish {
                resource: self.id.to_owned(),
                problem: e.to_string(),
            })?;
        let row_number = &mut self.xlsx_row;
        let date = &self.date;
        let written = for_each_row(batch, |row| {
            csv.write_record(
                schema
                    .fields
                    .iter()
                    .map(|f| cell_text(row.get(&f.name), delimiter(f))),
            )
            .map_err(|e| e.to_string())?;
            if let Some(ws) = xlsx.as_deref_mut() {
                *row_number += 1;
                xlsx_row(ws, schema, *row_number, row, date).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        match written {
            Ok(()) => Ok(self),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Closes every file; the Parquet file is verified by decoding it.
    pub(crate) fn finish(mut self) -> Result<Written> {
        drop(self.parquet.take());
        let fail = |e: String| IngestError::Publish {
            resource: self.id.to_owned(),
            problem: e,
        };
        let csv = self
            .csv
            .into_inner()
            .map_err(|e| fail(e.to_string()))?
            .finish()?;
        let xlsx = match self.xlsx {
            Some(mut wb) => {
                let mut out = HashingFile::create(self.xlsx_path.clone())?;
                wb.save_to_writer(&mut out)
                    .map_err(|e| fail(e.to_string()))?;
                Some(out.finish()?)
            }
            None => None,
        };
        let (parquet, row_store, rows) = self
            .parquet_thread
            .join()
            .map_err(|_| fail("the Parquet writer panicked".into()))??;
        Ok(Written {
            parquet,
            row_store,
            csv,
            xlsx,
            rows,
        })
    }
}

/// The number of rows of a Parquet file and the [`Checksum`] of their decoded values; the
/// decoded rows are also written as a row store at `row_store` when given.
fn decode_checksum(
    path: &Path,
    schema: &SchemaRef,
    row_store: Option<&Path>,
) -> std::result::Result<(u64, String), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| e.to_string())?
        .with_batch_size(CHUNK)
        .build()
        .map_err(|e| e.to_string())?;
    let mut sum = Checksum::new(schema).map_err(|e| e.to_string())?;
    let mut store = match row_store {
        Some(at) => {
            let file = File::create(at).map_err(|e| format!("{}: {e}", at.display()))?;
            let out = BufWriter::with_capacity(1 << 20, file);
            Some(RowStoreWriter::new(out, at, reader.schema()).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        sum.add(&batch).map_err(|e| e.to_string())?;
        if let Some(w) = store.as_mut() {
            w.write(&batch).map_err(|e| e.to_string())?;
        }
    }
    if let (Some(w), Some(at)) = (store, row_store) {
        let (out, _) = w.finish().map_err(|e| e.to_string())?;
        out.into_inner()
            .map_err(|e| e.to_string())?
            .sync_all()
            .map_err(|e| format!("{}: {e}", at.display()))?;
    }
    Ok(sum.finish())
}

/// A workbook of one sheet, writing rows to a temporary file as they come (constant memory),
/// with a bold header of field names and fixed document dates so the bytes are reproducible.
fn workbook(
    schema: &TableSchema,
    title: &str,
    tmp: &Path,
) -> std::result::Result<rust_xlsxwriter::Workbook, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    wb.set_tempdir(tmp)?;
    let fixed = ExcelDateTime::from_ymd(2020, 1, 1)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&fixed)
            .set_title(title)
            .set_author("zhijian"),
    );
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet_with_constant_memory()?;
    for (c, f) in schema.fields.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, &f.name, &bold)?;
    }
    Ok(wb)
}

/// One XLSX row: typed cells (numbers as numbers, dates as dates), lists joined by the
/// field's delimiter.
fn xlsx_row(
    ws: &mut rust_xlsxwriter::Worksheet,
    schema: &TableSchema,
    r: u32,
    row: &Map<String, Value>,
    date: &rust_xlsxwriter::Format,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::ExcelDateTime;
    for (c, f) in schema.fields.iter().enumerate() {
        let c = c as u16;
        match (f.field_type, row.get(&f.name)) {
            (_, None | Some(Value::Null)) => {}
            (FieldType::Date, Some(Value::String(iso))) => {
                match ExcelDateTime::parse_from_str(iso) {
                    Ok(d) => ws.write_datetime_with_format(r, c, d, date).map(|_| ())?,
                    Err(_) => ws.write_string(r, c, iso).map(|_| ())?,
                }
            }
            (_, Some(Value::Number(n))) => {
                ws.write_number(r, c, n.as_f64().unwrap_or_default())?;
            }
            (_, Some(Value::Bool(b))) => {
                ws.write_boolean(r, c, *b)?;
            }
            (_, value) => {
                ws.write_string(r, c, cell_text(value, delimiter(f)))?;
            }
        }
    }
    Ok(())
}

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

/// Rows of a batch as JSON objects (nulls explicit, dates ISO 8601).
fn for_each_row(
    batch: &RecordBatch,
    mut f: impl FnMut(&Map<String, Value>) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::JsonArray>(&mut buf);
        w.write(batch).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
    for row in &rows {
        f(row)?;
    }
    Ok(())
}
