//! `zhijian sql`: read-only SQL over the current snapshot, streamed to stdout.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use zhijian_query::{Format, guarded_sql, open, write_stream};

use crate::CliError;

/// Arguments of `zhijian sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The warehouse whose current snapshot to query: a directory, or `s3://bucket/prefix`
    /// (read through its local mirror).
    #[arg(long, env = "ZHIJIAN_WAREHOUSE", value_name = "DIR|URL")]
    warehouse: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    format: SqlFormat,
    /// The query: SELECT, WITH or EXPLAIN. Tables are named as in `zhijian catalog`, plus
    /// `spot_checks` over all spot-check resources.
    sql: String,
}

/// Output formats of `zhijian sql`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SqlFormat {
    /// A text table.
    Table,
    /// One JSON object per row.
    Ndjson,
    /// One JSON array.
    Json,
    /// CSV with a header (list columns need `array_to_string`).
    Csv,
}

pub(crate) fn run(args: &SqlArgs) -> Result<(), CliError> {
    // Planning is recursive: give the workers a stack with margin (docs/SECURITY.md).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()?;
    let format = match args.format {
        SqlFormat::Table => Format::Table,
        SqlFormat::Ndjson => Format::Ndjson,
        SqlFormat::Json => Format::Json,
        SqlFormat::Csv => Format::Csv,
    };
    runtime.block_on(async {
        // A remote warehouse is read from its local mirror, brought up to date first.
        let warehouse = match crate::remote::url_of(&args.warehouse) {
            Some(url) => crate::remote::mirror(url, None, u64::MAX, &mut std::io::stderr())
                .await?
                .cache()
                .to_path_buf(),
            None => args.warehouse.clone(),
        };
        let (ctx, _snapshot) = open(&warehouse).await?;
        let df = guarded_sql(&ctx, &args.sql).await?;
        let mut out: Box<dyn Write + Send> = Box::new(BufWriter::new(std::io::stdout()));
        write_stream(df, format, &mut *out).await?;
        Ok(())
    })
}
