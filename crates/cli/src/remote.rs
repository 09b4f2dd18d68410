//! `--warehouse s3://bucket/prefix`: the commands' side of a remote warehouse (see
//! `zhijian_remote`): an ingest builds in a local staging copy and publishes from it; a server
//! and `zhijian sql` read a local mirror.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zhijian_remote::mirror::Mirror;
use zhijian_remote::{Remote, publish};

use crate::CliError;

/// The URL of a remote `--warehouse`, `None` for a local one.
pub(crate) fn url_of(warehouse: &Path) -> Option<&str> {
    zhijian_remote::is_remote(warehouse)
        .then(|| warehouse.to_str())
        .flatten()
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Ingests `raw` into the remote warehouse at `url`: fetches what the incremental ingest
/// needs into `staging`, ingests there (search index included), then uploads and moves the
/// remote `CURRENT` from the snapshot it started from.
pub(crate) fn ingest(
    raw: &Path,
    url: &str,
    staging: Option<&Path>,
    catalog: &zhijian_catalog::Catalog,
    only: &[String],
    memory: usize,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let remote = Remote::open(url)?;
    let staging = staging.map_or_else(
        || zhijian_remote::default_cache(url, "staging"),
        Path::to_path_buf,
    );
    let rt = runtime()?;
    let base = rt.block_on(publish::pull(&remote, &staging))?;
    drop(rt);
    writeln!(
        out,
        "staging {url} in {} (from snapshot {})",
        staging.display(),
        base.id().unwrap_or("none")
    )?;
    crate::ingest::ingest_into(raw, &staging, catalog, only, memory, out)?;
    let id = zhijian_catalog::layout::current_id(&staging).ok_or_else(|| {
        zhijian_query::QueryError::NoSnapshot {
            warehouse: staging.clone(),
        }
    })?;
    let rt = runtime()?;
    let pushed = rt.block_on(publish::push(&remote, &staging, &id, &base))?;
    writeln!(
        out,
        "snapshot {id} is current in {url} ({} files, {:.1} MiB uploaded)",
        pushed.files,
        pushed.bytes as f64 / (1024.0 * 1024.0)
    )?;
    Ok(())
}

/// A mirror of the remote warehouse at `url` in `cache` (default: per URL under the cache
/// directory), synced once: what a server or `zhijian sql` then reads as a local warehouse.
pub(crate) async fn mirror(
    url: &str,
    cache: Option<&Path>,
    limit: u64,
    out: &mut (impl Write + ?Sized),
) -> Result<Arc<Mirror>, CliError> {
    let remote = Remote::open(url)?;
    let cache: PathBuf = cache.map_or_else(
        || zhijian_remote::default_cache(url, "mirror"),
        Path::to_path_buf,
    );
    let mirror = Arc::new(Mirror::new(remote, cache, limit));
    let started = std::time::Instant::now();
    let synced = mirror.sync().await?;
    writeln!(
        out,
        "mirrored {url} into {}: snapshot {} ({} files, {:.1} MiB fetched in {:.1} s)",
        mirror.cache().display(),
        synced.snapshot.as_deref().unwrap_or("none yet"),
        synced.files,
        synced.bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    )?;
    Ok(mirror)
}

/// The hook that makes an older snapshot's files local before a request reads it.
pub(crate) fn fetch_hook(mirror: &Arc<Mirror>) -> zhijian_query::warehouse::Fetch {
    let mirror = mirror.clone();
    Arc::new(move |id: String| {
        let mirror = mirror.clone();
        Box::pin(async move { mirror.fetch(&id).await.map_err(|e| e.to_string()) })
    })
}
