//! Result formats of the rows API and how they stream: record batches are encoded as they
//! arrive and sent through a bounded channel, so memory stays constant whatever the size of
//! the result, and a client that goes away cancels the query.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use datafusion::arrow::array::RecordBatch as Batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;

use crate::error::{ApiError, ApiResult};

/// The formats of the rows API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON page with a cursor.
    Json,
    /// One JSON object per line, the whole result.
    Ndjson,
    /// CSV with a header, the whole result (lists joined by their delimiter).
    Csv,
    /// Parquet (zstd), the whole result.
    Parquet,
    /// Arrow IPC stream, the whole result.
    Arrow,
    /// One XLSX sheet (up to Excel's row limit).
    Xlsx,
}

/// Names accepted by `_format`.
pub const FORMAT_NAMES: [&str; 6] = ["json", "ndjson", "csv", "parquet", "arrow", "xlsx"];

impl Format {
    /// By `_format` name.
    pub fn from_name(name: &str) -> ApiResult<Self> {
        Ok(match name {
            "json" => Self::Json,
            "ndjson" | "jsonl" => Self::Ndjson,
            "csv" => Self::Csv,
            "parquet" => Self::Parquet,
            "arrow" => Self::Arrow,
            "xlsx" => Self::Xlsx,
            other => {
                return Err(ApiError::Format {
                    format: other.to_owned(),
                    problem: "unknown format".into(),
                    allowed: FORMAT_NAMES.iter().map(|s| (*s).to_owned()).collect(),
                });
            }
        })
    }

    /// By `Accept` header (first known media type wins; JSON otherwise).
    pub fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        for part in accept.split(',') {
            let media = part.split(';').next().unwrap_or_default().trim();
            let f = match media {
                "application/x-ndjson" | "application/jsonl" => Some(Self::Ndjson),
                "text/csv" => Some(Self::Csv),
                "application/vnd.apache.parquet" => Some(Self::Parquet),
                "application/vnd.apache.arrow.stream" => Some(Self::Arrow),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                    Some(Self::Xlsx)
                }
                "application/json" => Some(Self::Json),
                _ => None,
            };
            if let Some(f) = f {
                return f;
            }
        }
        Self::Json
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Parquet => "application/vnd.apache.parquet",
            Self::Arrow => "application/vnd.apache.arrow.stream",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// File extension for `Content-Disposition`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Arrow => "arrow",
            Self::Xlsx => "xlsx",
        }
    }
}

/// A `Write` whose bytes are taken out after each batch.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Encoder {
    Ndjson,
    Csv {
        header_done: bool,
        /// The bytes of the last batch: the next one's buffer is sized from it.
        last: usize,
    },
    Parquet(Box<ArrowWriter<Shared>>, Shared),
    Arrow(
        Box<datafusion::arrow::ipc::writer::StreamWriter<Shared>>,
        Shared,
    ),
}

fn other(e: impl ToString) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Encoder {
    fn new(format: Format, schema: &SchemaRef) -> std::io::Result<Self> {
        Ok(match format {
            Format::Ndjson | Format::Json | Format::Xlsx => Self::Ndjson,
            Format::Csv => Self::Csv {
                header_done: false,
                last: 0,
            },
            Format::Parquet => {
                let buf = Shared::default();
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(other)?))
                    .set_max_row_group_row_count(Some(64 * 1024))
                    .build();
                let w = ArrowWriter::try_new(buf.clone(), schema.clone(), Some(props))
                    .map_err(other)?;
                Self::Parquet(Box::new(w), buf)
            }
            Format::Arrow => {
                let buf = Shared::default();
                let w = datafusion::arrow::ipc::writer::StreamWriter::try_new(buf.clone(), schema)
                    .map_err(other)?;
                Self::Arrow(Box::new(w), buf)
            }
        })
    }

    fn batch(&mut self, batch: &RecordBatch) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Ndjson => {
                let mut out = Vec::new();
                let mut w = arrow_json::LineDelimitedWriter::new(&mut out);
                w.write(batch).map_err(other)?;
                w.finish().map_err(other)?;
                Ok(out)
            }
            Self::Csv { header_done, last } => {
                let mut out = Vec::with_capacity(*last + *last / 8);
                if !*header_done {
                    let schema = batch.schema();
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    crate::csv::header(&names, &mut out);
                    *header_done = true;
                }
                crate::csv::rows(batch, &mut out)?;
                *last = out.len();
                Ok(out)
            }
            Self::Parquet(w, buf) => {
                w.write(batch).map_err(other)?;
                Ok(buf.take())
            }
            Self::Arrow(w, buf) => {
                w.write(batch).map_err(other)?;
                Ok(buf.take())
            }
        }
    }

    /// Rows picked from batches (an ordered read), copied into one batch first (CSV lines
    /// are encoded where the batches are decoded: see [`Self::lines`]).
    fn picked(&mut self, batches: &[Batch], picks: &[(usize, usize)]) -> std::io::Result<Vec<u8>> {
        let batch = zhijian_query::api::picked_batch(batches, picks).map_err(other)?;
        self.batch(&batch)
    }

    /// CSV lines picked from batches encoded on the decoding threads (an ordered read), after
    /// the header of `schema` if not written yet.
    fn lines(
        &mut self,
        schema: &SchemaRef,
        lines: &[crate::csv::Lines],
        picks: &[(usize, usize)],
    ) -> std::io::Result<Vec<u8>> {
        let Self::Csv { header_done, last } = self else {
            return Err(other("CSV lines for an encoder of another format"));
        };
        let mut out = Vec::with_capacity(*last + *last / 8);
        if !*header_done {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            crate::csv::header(&names, &mut out);
            *header_done = true;
        }
        crate::csv::copy_picked(lines, picks, &mut out)?;
        *last = out.len();
        Ok(out)
    }

    fn finish(self, schema: &SchemaRef) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Ndjson => Ok(Vec::new()),
            Self::Csv { header_done, .. } => {
                if header_done {
                    return Ok(Vec::new());
                }
                // An empty result still has its header line.
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                let mut out = Vec::new();
                crate::csv::header(&names, &mut out);
                Ok(out)
            }
            Self::Parquet(w, buf) => {
                w.close().map_err(other)?;
                Ok(buf.take())
            }
            Self::Arrow(mut w, buf) => {
                w.finish().map_err(other)?;
                Ok(buf.take())
            }
        }
    }
}

/// Where a streamed result comes from.
pub enum Source {
    /// A query, run when the body is first polled.
    Frame(DataFrame),
    /// Public SQL, planned and checked, run when the body is first polled.
    Query(zhijian_query::sql::PublicQuery),
    /// Rows read by position from the files in the default order (blocking reads, encoded
    /// on the reading thread as they are picked).
    Ordered(zhijian_query::api::OrderedRows),
}

impl Source {
    fn schema(&self) -> SchemaRef {
        match self {
            Self::Frame(df) => Arc::new(df.schema().as_arrow().clone()),
            Self::Query(q) => q.schema(),
            Self::Ordered(rows) => rows.schema.clone(),
        }
    }

    async fn stream(self) -> datafusion::error::Result<SendableRecordBatchStream> {
        match self {
            Self::Frame(df) => df.execute_stream().await,
            Self::Query(q) => q.execute_stream().await,
            Self::Ordered(_) => Err(datafusion::error::DataFusionError::Internal(
                "ordered rows are read, not streamed".into(),
            )),
        }
    }
}

/// Streams the whole result of `source` in `format`; `permit` (a concurrency slot) is held
/// until the last byte is sent or the client goes away.
pub fn stream_response<P: Send + 'static>(
    source: Source,
    format: Format,
    filename: &str,
    bom: bool,
    permit: P,
) -> Response {
    // On the governor's runtime, under the export deadline, when the request is governed.
    let (runtime, deadline) = zhijian_query::govern::runtime();
    stream_with_deadline(
        source,
        format,
        filename,
        bom,
        permit,
        deadline.map(|d| tokio::time::Instant::now() + d),
        &runtime,
    )
    .0
}

/// As [`stream_response`], ending the body with an error if `deadline` passes first (the
/// query is then cancelled).
pub fn stream_with_deadline<P: Send + 'static>(
    source: Source,
    format: Format,
    filename: &str,
    bom: bool,
    permit: P,
    deadline: Option<tokio::time::Instant>,
    runtime: &tokio::runtime::Handle,
) -> (Response, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let encoding = runtime.spawn(async move {
        let _permit = permit;
        let schema = source.schema();
        let run = async {
            let mut encoder = Encoder::new(format, &schema)?;
            if bom && format == Format::Csv {
                tx.send(Ok(Bytes::from_static(b"\xEF\xBB\xBF")))
                    .await
                    .map_err(other)?;
            }
            if let Source::Ordered(rows) = source {
                // Read on a blocking thread, the decoding threads beside it; CSV lines are
                // encoded on the decoding threads, other formats on this one.
                let sender = tx.clone();
                let schema = schema.clone();
                encoder = tokio::task::spawn_blocking(move || {
                    let failed =
                        |e: std::io::Error| zhijian_query::QueryError::Output(e.to_string());
                    // A closed channel means the client went away: stop reading.
                    let send = |bytes: Vec<u8>| {
                        bytes.is_empty() || sender.blocking_send(Ok(Bytes::from(bytes))).is_ok()
                    };
                    if format == Format::Csv {
                        rows.read(
                            &|batch| crate::csv::Lines::of(&batch).map_err(failed),
                            |lines, picks| {
                                Ok(send(encoder.lines(&schema, lines, picks).map_err(failed)?))
                            },
                        )
                    } else {
                        rows.read(&Ok, |batches, picks| {
                            Ok(send(encoder.picked(batches, picks).map_err(failed)?))
                        })
                    }
                    .map_err(other)?;
                    Ok::<_, std::io::Error>(encoder)
                })
                .await
                .map_err(other)??;
            } else {
                let mut stream = source.stream().await.map_err(other)?;
                loop {
                    let next = match deadline {
                        Some(d) => {
                            tokio::time::timeout_at(d, stream.next())
                                .await
                                .map_err(|_| {
                                    other("the query ran past its deadline and was cancelled")
                                })?
                        }
                        None => stream.next().await,
                    };
                    let Some(batch) = next else {
                        break;
                    };
                    let batch = batch.map_err(other)?;
                    let bytes = encoder.batch(&batch)?;
                    if !bytes.is_empty() {
                        // A closed channel means the client went away: stop the query.
                        tx.send(Ok(Bytes::from(bytes))).await.map_err(other)?;
                    }
                }
            }
            let tail = encoder.finish(&schema)?;
            if !tail.is_empty() {
                tx.send(Ok(Bytes::from(tail))).await.map_err(other)?;
            }
            Ok::<(), std::io::Error>(())
        };
        if let Err(e) = run.await {
            tracing::warn!(error = %e, "streamed result ended early");
            // The head is sent already: the body ends with an error the client sees as a
            // broken transfer, never as a short but complete file.
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{filename}.{}\"",
        format.extension()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    (response, encoding)
}

/// The whole result as one XLSX sheet (`max_rows` checked by the caller with a count),
/// written where memory stays flat whatever its size: the sheet's rows go to a temporary
/// file as they are written (the writer's constant-memory mode), the workbook is zipped into
/// an unnamed temporary file, and that file is streamed. The work runs on the governor's
/// runtime under the export deadline; `permit` (the export slot) is held until the last
/// byte is sent or the client goes away.
pub async fn xlsx_response<P: Send + 'static>(
    df: DataFrame,
    schema: zhijian_catalog::TableSchema,
    filename: &str,
    permit: P,
) -> ApiResult<Response> {
    let (runtime, deadline) = zhijian_query::govern::runtime();
    let written = runtime.spawn(async move {
        let write = xlsx_file(df, &schema);
        match deadline {
            Some(d) => tokio::time::timeout(d, write).await.map_err(|_| {
                zhijian_query::QueryError::Deadline {
                    seconds: d.as_secs(),
                }
            })?,
            None => write.await,
        }
    });
    // Dropped (the client went away, or the request's deadline): the writing stops.
    struct Abort(tokio::task::AbortHandle);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _abort = Abort(written.abort_handle());
    let file = written.await.map_err(|e| ApiError::Internal {
        path: "xlsx".into(),
        problem: e.to_string(),
    })??;
    let bytes = file.metadata().map(|m| m.len()).ok();
    let reader = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let body = Body::from_stream(reader.map(move |chunk| {
        let _slot = &permit;
        chunk
    }));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(Format::Xlsx.media_type()),
    );
    if let Some(n) = bytes {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}.xlsx\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Writes the result as an XLSX workbook into an unnamed temporary file, rewound.
async fn xlsx_file(
    df: DataFrame,
    schema: &zhijian_catalog::TableSchema,
) -> Result<std::fs::File, ApiError> {
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
    use std::io::Seek;
    let internal = |e: String| ApiError::Internal {
        path: "xlsx".into(),
        problem: e,
    };
    let mut wb = Workbook::new();
    // Rows go to a temporary file as they are written: the sheet is not held in memory.
    let ws = wb
        .add_worksheet_with_constant_memory()
        .map_err(|e| internal(e.to_string()))?;
    let bold = XFormat::new().set_bold();
    let date = XFormat::new().set_num_format("yyyy-mm-dd");
    let names: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let dates: Vec<bool> = names
        .iter()
        .map(|n| {
            schema
                .field(n)
                .is_some_and(|f| f.field_type == zhijian_catalog::FieldType::Date)
        })
        .collect();
    for (c, n) in names.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, n, &bold)
            .map_err(|e| internal(e.to_string()))?;
    }
    let mut stream = df.execute_stream().await.map_err(ApiError::from_df)?;
    let mut r = 0u32;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(ApiError::from_df)?;
        for row in zhijian_query::api::batch_to_json(&batch)? {
            r += 1;
            for (c, n) in names.iter().enumerate() {
                let is_date = dates[c];
                let c = c as u16;
                let res = match row.get(n) {
                    None | Some(serde_json::Value::Null) => Ok(()),
                    Some(serde_json::Value::Number(x)) => ws
                        .write_number(r, c, x.as_f64().unwrap_or_default())
                        .map(|_| ()),
                    Some(serde_json::Value::Bool(b)) => ws.write_boolean(r, c, *b).map(|_| ()),
                    Some(serde_json::Value::String(s)) if is_date => {
                        match ExcelDateTime::parse_from_str(s) {
                            Ok(d) => ws.write_datetime_with_format(r, c, d, &date).map(|_| ()),
                            Err(_) => ws.write_string(r, c, s).map(|_| ()),
                        }
                    }
                    Some(serde_json::Value::String(s)) => ws.write_string(r, c, s).map(|_| ()),
                    Some(other) => ws.write_string(r, c, other.to_string()).map(|_| ()),
                };
                res.map_err(|e| internal(e.to_string()))?;
            }
        }
    }
    // Zipping is CPU and file work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile().map_err(|e| internal(e.to_string()))?;
        wb.save_to_writer(&mut file)
            .map_err(|e| internal(e.to_string()))?;
        file.rewind().map_err(|e| internal(e.to_string()))?;
        Ok(file)
    })
    .await
    .map_err(|e| internal(e.to_string()))?
}
