//! `zhijian ingest` and `zhijian validate`: raw publications to a snapshot, or a dry run
//! that reports what would be rejected and why.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use zhijian_catalog::Catalog;
use zhijian_ingest::pipeline::{Ingested, ingest};
use zhijian_ingest::snapshot::publish;

use crate::CliError;

/// Arguments of `zhijian ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The raw root: `<raw>/<resource_id>/<publication_id>/publication.toml` and attachments.
    #[arg(long, env = "ZHIJIAN_RAW", value_name = "DIR")]
    raw: PathBuf,
    /// The warehouse to publish the snapshot into.
    #[arg(long, env = "ZHIJIAN_WAREHOUSE", value_name = "DIR")]
    warehouse: PathBuf,
    /// Only these resources (repeatable); all by default.
    #[arg(long = "resource", value_name = "ID")]
    resources: Vec<String>,
}

/// Arguments of `zhijian validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The raw root to check.
    #[arg(long, env = "ZHIJIAN_RAW", value_name = "DIR")]
    raw: PathBuf,
    /// Only these resources (repeatable); all by default.
    #[arg(long = "resource", value_name = "ID")]
    resources: Vec<String>,
    /// `table`: summary and the first rejected rows; `ndjson`: every rejected row.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Table)]
    format: ValidateFormat,
}

/// Output of `zhijian validate`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ValidateFormat {
    /// Human-readable.
    Table,
    /// One JSON object per rejected row or unreadable file.
    Ndjson,
}

fn check_resources(catalog: &Catalog, ids: &[String]) -> Result<(), CliError> {
    for id in ids {
        catalog.resource(id)?;
    }
    Ok(())
}

fn run_pipeline(raw: &std::path::Path, catalog: &Catalog, only: &[String]) -> Ingested {
    let bar = crate::progress_bar("ingest");
    let ingested = ingest(raw, catalog, only, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    ingested
}

fn summary(out: &mut impl Write, ingested: &Ingested) -> Result<(), CliError> {
    writeln!(
        out,
        "{:<8} {:>9} {:>10} {:>9} {:>9}  rejected by reason",
        "resource", "rows in", "published", "rejected", "non-data"
    )?;
    for (id, r) in &ingested.resources {
        let a = &r.accounting;
        let reasons: Vec<String> = a.rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(
            out,
            "{id:<8} {:>9} {:>10} {:>9} {:>9}  {}",
            a.rows_in,
            a.published,
            a.rejected_total(),
            a.non_data_total(),
            reasons.join(", ")
        )?;
    }
    let t = ingested.totals();
    writeln!(
        out,
        "{:<8} {:>9} {:>10} {:>9} {:>9}",
        "total",
        t.rows_in,
        t.published,
        t.rejected_total(),
        t.non_data_total()
    )?;
    for r in ingested.resources.values() {
        for e in &r.errors {
            writeln!(out, "unreadable: {}: {}", e.source_file, e.error)?;
        }
    }
    Ok(())
}

pub(crate) fn run_ingest(args: &IngestArgs, out: &mut impl Write) -> Result<(), CliError> {
    let catalog = Catalog::builtin()?;
    check_resources(&catalog, &args.resources)?;
    ingest_into(&args.raw, &args.warehouse, &catalog, &args.resources, out)
}

/// Ingests `raw` into a new snapshot of `warehouse`, printing the summary table.
pub(crate) fn ingest_into(
    raw: &std::path::Path,
    warehouse: &std::path::Path,
    catalog: &Catalog,
    only: &[String],
    out: &mut impl Write,
) -> Result<(), CliError> {
    let started = Instant::now();
    let ingested = run_pipeline(raw, catalog, only);
    summary(out, &ingested)?;
    let totals = ingested.totals();
    if totals.published == 0 {
        return Err(CliError::NothingPublished {
            raw: raw.to_path_buf(),
        });
    }
    let manifest = publish(warehouse, catalog, &ingested)?;
    writeln!(
        out,
        "snapshot {} published to {} ({} rows in = {} published + {} rejected + {} non-data) in {:.1} s",
        manifest.id,
        warehouse.display(),
        totals.rows_in,
        totals.published,
        totals.rejected_total(),
        totals.non_data_total(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

pub(crate) fn run_validate(args: &ValidateArgs, out: &mut impl Write) -> Result<(), CliError> {
    let catalog = Catalog::builtin()?;
    check_resources(&catalog, &args.resources)?;
    let ingested = run_pipeline(&args.raw, &catalog, &args.resources);
    match args.format {
        ValidateFormat::Ndjson => {
            for r in ingested.resources.values() {
                for e in &r.errors {
                    serde_json::to_writer(&mut *out, e).map_err(std::io::Error::from)?;
                    writeln!(out)?;
                }
                for rej in &r.rejects {
                    serde_json::to_writer(&mut *out, rej).map_err(std::io::Error::from)?;
                    writeln!(out)?;
                }
            }
        }
        ValidateFormat::Table => {
            summary(out, &ingested)?;
            let rejects: Vec<_> = ingested
                .resources
                .values()
                .flat_map(|r| &r.rejects)
                .collect();
            if !rejects.is_empty() {
                writeln!(
                    out,
                    "\nfirst rejected rows (--format ndjson lists all {}):",
                    rejects.len()
                )?;
                for r in rejects.iter().take(20) {
                    let sheet = r
                        .source_sheet
                        .as_deref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "  {}{sheet} row {}: {} `{}`: {}",
                        r.source_file, r.source_row, r.field, r.value, r.reason
                    )?;
                }
            }
        }
    }
    Ok(())
}
