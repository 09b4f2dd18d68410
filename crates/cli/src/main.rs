//! `zhijian`: the one binary of Zhijian open data.
//!
//! Subcommands appear as the issues that build them land; today: `zhijian catalog`,
//! `zhijian synth`, `zhijian ingest`, `zhijian validate` and `zhijian sql`. Flags also read `ZHIJIAN_*` environment variables.

mod catalog;
mod ingest;
mod sql;
mod synth;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Zhijian (质检) open data: Chinese product-quality supervision data, clean and versioned.
#[derive(Debug, Parser)]
#[command(name = "zhijian", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the catalog: 6 categories → 24 subcategories → 108 resources, or one resource's schema.
    Catalog(catalog::CatalogArgs),
    /// Ingest raw publications into a new immutable snapshot (rejected rows are reported).
    Ingest(ingest::IngestArgs),
    /// Check raw publications without publishing: what would be rejected and why.
    Validate(ingest::ValidateArgs),
    /// Run read-only SQL (SELECT, WITH, EXPLAIN) on the current snapshot.
    Sql(sql::SqlArgs),
    /// Write a synthetic raw corpus of all 108 resources (and, with --truth, its ground truth).
    Synth(synth::SynthArgs),
}

/// What can make a command fail.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The catalog or a schema is invalid or missing.
    #[error(transparent)]
    Catalog(#[from] zhijian_catalog::CatalogError),
    /// The synthetic corpus could not be written.
    #[error(transparent)]
    Synth(#[from] zhijian_synth::SynthError),
    /// Ingestion could not publish.
    #[error(transparent)]
    Ingest(#[from] zhijian_ingest::IngestError),
    /// A query was refused or failed.
    #[error(transparent)]
    Query(#[from] zhijian_query::QueryError),
    /// No row of the raw root could be published.
    #[error("{}: no row could be published (see the rejected rows above)", raw.display())]
    NothingPublished {
        /// The raw root.
        raw: std::path::PathBuf,
    },
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

/// A progress bar over publications on a terminal's stderr; hidden otherwise (pipes, CI).
pub(crate) fn progress_bar(label: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    let template =
        format!("{{spinner}} {label} [{{bar:40}}] {{pos}}/{{len}} publications {{elapsed}}");
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalog(args) => catalog::run(&args, &mut io::stdout().lock()),
        Command::Synth(args) => synth::run(&args, &mut io::stdout().lock()),
        Command::Ingest(args) => ingest::run_ingest(&args, &mut io::stdout().lock()),
        Command::Validate(args) => ingest::run_validate(&args, &mut io::stdout().lock()),
        Command::Sql(args) => sql::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`zhijian catalog | head`) is the reader's choice, not a failure.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}
