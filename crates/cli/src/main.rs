//! `zhijian`: the one binary of Zhijian open data.
//!
//! `zhijian serve` (the data API; builds the demo snapshot on first run), `zhijian ingest`,
//! `zhijian validate`, `zhijian index`, `zhijian gc`, `zhijian sql`, `zhijian synth`, `zhijian catalog` and `zhijian openapi`.
//! Flags also read `ZHIJIAN_*` environment variables.

mod catalog;
mod cluster;
mod gc;
mod index;
mod ingest;
mod remote;
mod serve;
mod sql;
mod synth;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: glibc keeps what a thread frees in that thread's arena, so
/// after the search index build (millions of short-lived allocations on a blocking thread) a
/// 5M-row server held ~200 MB more than it used, for good; mimalloc hands freed pages back.
/// Its version 2 (the `v2` feature): version 3 kept what the short-lived and idle query
/// threads freed, so six clients of `SELECT * FROM spot_checks ORDER BY announced_on DESC
/// LIMIT 100` on a 60,000-row snapshot took the debug server to 944 MiB RSS (v2 480 MiB,
/// glibc 231 MiB; the live heap peaked at 44 MiB), and the mixed load of `scripts/test` went
/// past its 1 GiB ceiling (1,020-1,290 MiB; v2 534 MiB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Zhijian (质检) open data: Chinese product-quality supervision data, clean and versioned.
#[derive(Debug, Parser)]
#[command(name = "zhijian", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the data API on the current snapshot (with none yet, build the demo snapshot first).
    Serve(serve::ServeArgs),
    /// Print the catalog: 6 categories → 24 subcategories → 108 resources, or one resource's schema.
    Catalog(catalog::CatalogArgs),
    /// Ingest raw publications into a new immutable snapshot (rejected rows are reported).
    Ingest(ingest::IngestArgs),
    /// Keep some snapshots (--keep N, --keep-days D) and delete every file none of them needs.
    Gc(gc::GcArgs),
    /// Write the search index file of the current snapshot (--snapshot ID, --all), so servers
    /// read it instead of building it.
    Index(index::IndexArgs),
    /// Check raw publications without publishing: what would be rejected and why.
    Validate(ingest::ValidateArgs),
    /// Run read-only SQL (SELECT, WITH, EXPLAIN) on the current snapshot.
    Sql(sql::SqlArgs),
    /// Run a DataFusion Ballista scheduler (for `serve --ballista`; needs the `cluster` feature).
    Scheduler(cluster::SchedulerArgs),
    /// Run a DataFusion Ballista executor that registers with a scheduler (`cluster` feature).
    Executor(cluster::ExecutorArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (what `/openapi.json` serves).
    Openapi,
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
    /// A remote warehouse could not be read or published to.
    #[error(transparent)]
    Remote(#[from] zhijian_remote::RemoteError),
    /// A command that does not work on a remote warehouse was given one.
    #[error("`zhijian {command}` works on a local warehouse; {hint}")]
    LocalOnly {
        /// The command.
        command: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A Ballista scheduler or executor failed, or no scheduler answers.
    #[cfg(feature = "cluster")]
    #[error(transparent)]
    Cluster(#[from] zhijian_cluster::ClusterError),
    /// This binary was built without the `cluster` feature.
    #[cfg(not(feature = "cluster"))]
    #[error(
        "`{command}` needs a zhijian built with the cluster feature: \
         cargo build --release -p zhijian --features cluster"
    )]
    NoCluster {
        /// The command or option.
        command: &'static str,
    },
    /// The server could not listen or stopped with an error.
    #[error("cannot serve on {addr}: {source}")]
    Serve {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

/// The runtime of the long-running commands (`serve`, `scheduler`, `executor`): a worker per
/// core, each with a stack of 16 MiB (planning is recursive; docs/SECURITY.md).
pub(crate) fn server_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()?)
}

/// A progress bar on a terminal's stderr; hidden otherwise (pipes, CI).
pub(crate) fn progress_bar(label: &str, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    let template =
        format!("{{spinner}} {label:<5} [{{bar:40}}] {{pos}}/{{len}} {unit} {{elapsed}}");
    bar.set_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Structured logs on stderr: JSON lines when stderr is not a terminal (CI, services, pipes),
/// compact text otherwise. `ZHIJIAN_LOG` filters (`info`, `zhijian_ingest=debug`, …); on a
/// terminal the default is `warn`, so progress bars are not interleaved with per-publication
/// lines.
fn init_logs() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let terminal = io::stderr().is_terminal();
    let filter = EnvFilter::try_from_env("ZHIJIAN_LOG")
        .unwrap_or_else(|_| EnvFilter::new(if terminal { "warn" } else { "info" }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    let _ = if terminal {
        builder.compact().try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let result = match cli.command {
        Command::Serve(args) => serve::run(&args, &mut io::stdout().lock()),
        Command::Openapi => io::stdout()
            .lock()
            .write_all(zhijian_server::openapi_json().as_bytes())
            .map_err(CliError::from),
        Command::Catalog(args) => catalog::run(&args, &mut io::stdout().lock()),
        Command::Synth(args) => synth::run(&args, &mut io::stdout().lock()),
        Command::Ingest(args) => ingest::run_ingest(&args, &mut io::stdout().lock()),
        Command::Gc(args) => gc::run(&args, &mut io::stdout().lock()),
        Command::Index(args) => index::run(&args, &mut io::stdout().lock()),
        Command::Validate(args) => ingest::run_validate(&args, &mut io::stdout().lock()),
        Command::Sql(args) => sql::run(&args),
        Command::Scheduler(args) => cluster::run_scheduler(&args, &mut io::stdout().lock()),
        Command::Executor(args) => cluster::run_executor(&args, &mut io::stdout().lock()),
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
