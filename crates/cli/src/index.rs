//! `zhijian index`: write the search index file of snapshots that have none, so that servers
//! read it instead of each building it (the ingester writes it for every snapshot it
//! publishes; this is for snapshots published before, or after a format change).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use zhijian_catalog::Catalog;
use zhijian_query::search::{IndexWrite, write_index};
use zhijian_query::warehouse::open_snapshot;

use crate::CliError;

/// Arguments of `zhijian index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The warehouse.
    #[arg(long, env = "ZHIJIAN_WAREHOUSE", value_name = "DIR")]
    warehouse: PathBuf,
    /// The snapshot (default: the current one).
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    snapshot: Option<String>,
    /// Every snapshot whose manifest is still in the warehouse.
    #[arg(long)]
    all: bool,
}

pub(crate) fn run(args: &IndexArgs, out: &mut impl Write) -> Result<(), CliError> {
    if crate::remote::url_of(&args.warehouse).is_some() {
        return Err(CliError::LocalOnly {
            command: "index",
            hint: "`zhijian ingest` writes the index of every snapshot it publishes to an s3:// warehouse",
        });
    }
    let catalog = Arc::new(Catalog::builtin()?);
    let ids: Vec<String> = if args.all {
        zhijian_catalog::layout::history(&args.warehouse)
            .into_iter()
            .map(|h| h.id)
            .filter(|id| zhijian_catalog::layout::manifest_path(&args.warehouse, id).is_file())
            .collect()
    } else {
        match &args.snapshot {
            Some(id) => vec![id.clone()],
            None => vec![
                zhijian_catalog::layout::current_id(&args.warehouse).ok_or_else(|| {
                    zhijian_query::QueryError::NoSnapshot {
                        warehouse: args.warehouse.clone(),
                    }
                })?,
            ],
        }
    };
    for id in ids {
        let done = index_snapshot(&args.warehouse, &catalog, &id)?;
        writeln!(out, "{}", describe(&id, &done))?;
    }
    Ok(())
}

/// Writes the index file of snapshot `id` of `warehouse` (on a runtime of its own: the
/// callers are synchronous commands).
pub(crate) fn index_snapshot(
    warehouse: &Path,
    catalog: &Arc<Catalog>,
    id: &str,
) -> Result<IndexWrite, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let view = open_snapshot(warehouse, catalog, id).await?;
        Ok(write_index(&view).await?)
    })
}

/// One line saying what became of a snapshot's index.
pub(crate) fn describe(id: &str, done: &IndexWrite) -> String {
    match done {
        IndexWrite::Written { file, bytes, ms } => format!(
            "snapshot {id}: search index written to {file} ({:.1} MiB in {:.1} s)",
            *bytes as f64 / (1024.0 * 1024.0),
            *ms as f64 / 1000.0
        ),
        IndexWrite::Present { file } => {
            format!("snapshot {id}: search index already in {file}")
        }
        IndexWrite::NoSpotChecks => format!("snapshot {id}: no spot checks, no search index"),
    }
}
