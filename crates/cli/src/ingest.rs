//! `zhijian ingest` and `zhijian validate`: raw publications to a snapshot, or a dry run
//! that reports what would be rejected and why.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use zhijian_catalog::Catalog;
use zhijian_ingest::build::{self, Fate, Options, Phase};
use zhijian_ingest::pipeline::{Accounting, FileError, Ingested, check};

use crate::CliError;

/// Arguments of `zhijian ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The raw root: `<raw>/<resource_id>/<publication_id>/publication.toml` and attachments.
    #[arg(long, env = "ZHIJIAN_RAW", value_name = "DIR")]
    raw: PathBuf,
    /// The warehouse to publish the snapshot into: a directory, or `s3://bucket/prefix`
    /// (credentials and endpoint from the `AWS_*` variables).
    #[arg(long, env = "ZHIJIAN_WAREHOUSE", value_name = "DIR|URL")]
    warehouse: PathBuf,
    /// For an `s3://` warehouse: the local staging copy the ingest builds in (default: per
    /// URL under `$ZHIJIAN_CACHE/remote/`; kept, so the next ingest fetches only what changed).
    #[arg(long, env = "ZHIJIAN_STAGING", value_name = "DIR")]
    staging: Option<PathBuf>,
    /// Only these resources are read again (repeatable); the others are carried over from the
    /// current snapshot unchanged. All by default.
    #[arg(long = "resource", value_name = "ID")]
    resources: Vec<String>,
    /// About how much memory (MiB) the sort of rows may hold before it spills to the
    /// warehouse's temporary area; the whole ingest stays within about twice this.
    #[arg(
        long,
        env = "ZHIJIAN_INGEST_MEMORY",
        value_name = "MIB",
        default_value_t = 1024
    )]
    memory: usize,
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
    let bar = crate::progress_bar("read", "publications");
    let ingested = check(raw, catalog, only, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    ingested
}

/// One line of the summary table.
fn summary_line(
    out: &mut impl Write,
    id: &str,
    a: &Accounting,
    fate: &str,
) -> Result<(), CliError> {
    let reasons: Vec<String> = a.rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(
        out,
        "{id:<8} {:>9} {:>10} {:>9} {:>9}  {fate:<12} {}",
        a.rows_in,
        a.published,
        a.rejected_total(),
        a.non_data_total(),
        reasons.join(", ")
    )?;
    Ok(())
}

fn summary_header(out: &mut impl Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{:<8} {:>9} {:>10} {:>9} {:>9}  {:<12} rejected by reason",
        "resource", "rows in", "published", "rejected", "non-data", ""
    )?;
    Ok(())
}

fn summary_total<'a>(
    out: &mut impl Write,
    t: &Accounting,
    errors: impl Iterator<Item = &'a FileError>,
) -> Result<(), CliError> {
    writeln!(
        out,
        "{:<8} {:>9} {:>10} {:>9} {:>9}",
        "total",
        t.rows_in,
        t.published,
        t.rejected_total(),
        t.non_data_total()
    )?;
    for e in errors {
        writeln!(out, "unreadable: {}: {}", e.source_file, e.error)?;
    }
    Ok(())
}

fn summary(out: &mut impl Write, ingested: &Ingested) -> Result<(), CliError> {
    summary_header(out)?;
    for (id, r) in &ingested.resources {
        summary_line(out, id, &r.accounting, "")?;
    }
    summary_total(
        out,
        &ingested.totals(),
        ingested.resources.values().flat_map(|r| &r.errors),
    )
}

pub(crate) fn run_ingest(args: &IngestArgs, out: &mut impl Write) -> Result<(), CliError> {
    let catalog = Catalog::builtin()?;
    check_resources(&catalog, &args.resources)?;
    if let Some(url) = crate::remote::url_of(&args.warehouse) {
        return crate::remote::ingest(
            &args.raw,
            url,
            args.staging.as_deref(),
            &catalog,
            &args.resources,
            args.memory.saturating_mul(1 << 20),
            out,
        );
    }
    ingest_into(
        &args.raw,
        &args.warehouse,
        &catalog,
        &args.resources,
        args.memory.saturating_mul(1 << 20),
        out,
    )
}

/// Ingests `raw` into a new snapshot of `warehouse`, printing the summary table.
pub(crate) fn ingest_into(
    raw: &std::path::Path,
    warehouse: &std::path::Path,
    catalog: &Catalog,
    only: &[String],
    memory: usize,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let started = Instant::now();
    // One bar per phase, drawn together: resources sort and write in parallel.
    let multi = indicatif::MultiProgress::new();
    let bars: Vec<(Phase, indicatif::ProgressBar)> = [Phase::Read, Phase::Sort, Phase::Write]
        .into_iter()
        .map(|p| (p, multi.add(crate::progress_bar(p.label(), p.unit()))))
        .collect();
    let progress = |phase: Phase, done: u64, total: u64| {
        if let Some((_, bar)) = bars.iter().find(|(p, _)| *p == phase) {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    // The search index is written before `CURRENT` moves, so that servers picking the
    // snapshot up read it; a failure is reported and publishing goes on (servers then build
    // it, as for a snapshot without one).
    let indexed = std::sync::Mutex::new(None);
    let catalog_arc = std::sync::Arc::new(catalog.clone());
    let index = |manifest: &zhijian_ingest::snapshot::Manifest| {
        let line = match crate::index::index_snapshot(warehouse, &catalog_arc, &manifest.id) {
            Ok(done) => crate::index::describe(&manifest.id, &done),
            Err(e) => {
                tracing::warn!(error = %e, "search index not written");
                format!("snapshot {}: search index not written: {e}", manifest.id)
            }
        };
        if let Ok(mut slot) = indexed.lock() {
            *slot = Some(line);
        }
    };
    let result = build::ingest(
        raw,
        warehouse,
        catalog,
        &Options {
            only,
            memory,
            progress: &progress,
            before_current: Some(&index),
        },
    );
    for (_, bar) in &bars {
        bar.finish_and_clear();
    }
    let published = result?;
    let indexed = indexed.into_inner().ok().flatten();
    summary_header(out)?;
    for (id, r) in &published.resources {
        let fate = match r.fate {
            Fate::Written => "written",
            Fate::Unchanged => "unchanged",
            Fate::CarriedOver => "carried over",
        };
        summary_line(out, id, &r.accounting, fate)?;
    }
    let totals = published.totals();
    summary_total(
        out,
        &totals,
        published.resources.values().flat_map(|r| &r.errors),
    )?;
    writeln!(
        out,
        "snapshot {} published to {} ({} rows in = {} published + {} rejected + {} non-data); {} of {} publications read (the rest unchanged) in {:.1} s",
        published.manifest.id,
        warehouse.display(),
        totals.rows_in,
        totals.published,
        totals.rejected_total(),
        totals.non_data_total(),
        published.read,
        published.publications,
        started.elapsed().as_secs_f64()
    )?;
    if let Some(line) = indexed {
        writeln!(out, "{line}")?;
    }
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
