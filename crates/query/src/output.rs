//! Result encoders that stream record batches as they arrive.

use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use futures::StreamExt;

use crate::error::{QueryError, Result};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// One JSON array.
    Json,
    /// CSV with a header line.
    Csv,
    /// A text table per batch.
    Table,
}

fn out_err(e: impl ToString) -> QueryError {
    QueryError::Output(e.to_string())
}

/// Executes the plan and writes its batches as they arrive; returns the number of rows.
pub async fn write_stream(
    df: DataFrame,
    format: Format,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    let mut first = true;
    if format == Format::Json {
        out.write_all(b"[").map_err(out_err)?;
    }
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        rows += batch.num_rows() as u64;
        match format {
            Format::Ndjson => {
                let mut w = arrow_json::LineDelimitedWriter::new(&mut *out);
                w.write(&batch).map_err(out_err)?;
                w.finish().map_err(out_err)?;
            }
            Format::Json => {
                let mut buf = Vec::new();
                {
                    let mut w = arrow_json::ArrayWriter::new(&mut buf);
                    w.write(&batch).map_err(out_err)?;
                    w.finish().map_err(out_err)?;
                }
                // Splice the batch's array into the one array of the whole result.
                let inner = buf
                    .strip_prefix(b"[")
                    .and_then(|b| b.strip_suffix(b"]"))
                    .unwrap_or(&buf);
                if !inner.is_empty() {
                    if !first {
                        out.write_all(b",").map_err(out_err)?;
                    }
                    out.write_all(inner).map_err(out_err)?;
                    first = false;
                }
            }
            Format::Csv => {
                let mut w = arrow_csv::WriterBuilder::new()
                    .with_header(first)
                    .build(&mut *out);
                w.write(&batch).map_err(out_err)?;
                first = false;
            }
            Format::Table => {
                let text = datafusion::arrow::util::pretty::pretty_format_batches(&[batch])
                    .map_err(out_err)?;
                writeln!(out, "{text}").map_err(out_err)?;
            }
        }
    }
    if format == Format::Json {
        out.write_all(b"]\n").map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    Ok(rows)
}
