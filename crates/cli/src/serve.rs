//! `zhijian serve`: the data API over the warehouse's current snapshot. With no snapshot yet,
//! it first builds the demo one: the shipped raw corpus (generated into `datasets/raw` when
//! missing, byte for byte the same on every machine) is ingested into the warehouse.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use zhijian_catalog::Catalog;

use crate::CliError;

/// Arguments of `zhijian serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The warehouse whose current snapshot to serve: a directory, or `s3://bucket/prefix`
    /// (credentials and endpoint from the `AWS_*` variables), served from a local mirror.
    #[arg(
        long,
        env = "ZHIJIAN_WAREHOUSE",
        value_name = "DIR|URL",
        default_value = "datasets/warehouse"
    )]
    warehouse: PathBuf,
    /// For an `s3://` warehouse: the local mirror's directory (default: per URL under
    /// `$ZHIJIAN_CACHE/remote/`).
    #[arg(long, env = "ZHIJIAN_MIRROR", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// For an `s3://` warehouse: at most this many bytes of other snapshots' files stay in
    /// the mirror (least recently used first out; the current snapshot's always stay).
    #[arg(long, env = "ZHIJIAN_MIRROR_SIZE", value_name = "SIZE", default_value = "20G", value_parser = parse_cache_size)]
    cache_size: u64,
    /// For an `s3://` warehouse: how often to look for a new `CURRENT`, in seconds.
    #[arg(
        long,
        env = "ZHIJIAN_POLL_SECONDS",
        value_name = "SECONDS",
        default_value_t = 5
    )]
    poll_seconds: u64,
    /// Address to listen on.
    #[arg(long, env = "ZHIJIAN_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Also serve Arrow Flight SQL (for ADBC, JDBC and DBeaver) on this address, with the
    /// same read-only guard and limits as `/api/v1/sql`.
    #[arg(long, env = "ZHIJIAN_FLIGHT_ADDR")]
    flight_addr: Option<SocketAddr>,
    /// Run public SQL (`/api/v1/sql`, the named queries, Flight SQL) on the DataFusion
    /// Ballista cluster whose scheduler is at `df://HOST:PORT` (`zhijian scheduler`), after
    /// the same guard and checks; its executors must see the warehouse at the same path.
    /// Needs the `cluster` feature.
    #[arg(long, env = "ZHIJIAN_BALLISTA", value_name = "df://HOST:PORT")]
    ballista: Option<String>,
    /// Raw corpus to build the first snapshot from when the warehouse has none (generated
    /// here with the demo scale and seed when missing).
    #[arg(
        long,
        env = "ZHIJIAN_RAW",
        value_name = "DIR",
        default_value = "datasets/raw"
    )]
    raw: PathBuf,
    /// Base URL for links in responses (default: `http://<addr>`).
    #[arg(long, env = "ZHIJIAN_BASE_URL")]
    base_url: Option<String>,
    /// `off`: SQL answers every row, count, facet, statistic, page and export (the snapshot
    /// index still matches search words and groups producers); `on`: the index answers what
    /// it holds. Each answer says which in its `x-answered-by` header.
    #[arg(long, env = "ZHIJIAN_INDEX", default_value = "on", value_parser = parse_index)]
    index: zhijian_query::IndexMode,
    /// The server's memory ceiling (`4G`, `512M`; default: half this machine's memory): half
    /// of it is shared by the queries of all requests (each class's slots × its budget, see
    /// the README), the rest is the snapshot index and the process.
    #[arg(long, env = "ZHIJIAN_MEMORY_LIMIT", value_name = "SIZE", value_parser = parse_memory)]
    memory_limit: Option<u64>,
}

fn parse_memory(text: &str) -> Result<u64, String> {
    zhijian_query::govern::parse_size(text)
        .filter(|n| *n >= 256 * 1024 * 1024)
        .ok_or_else(|| format!("`{text}` is not a size of at least 256M (e.g. 4G, 512M)"))
}

fn parse_cache_size(text: &str) -> Result<u64, String> {
    zhijian_query::govern::parse_size(text)
        .ok_or_else(|| format!("`{text}` is not a size (e.g. 20G, 512M)"))
}

fn parse_index(text: &str) -> Result<zhijian_query::IndexMode, String> {
    text.parse()
        .map_err(|e: zhijian_query::QueryError| e.to_string())
}

pub(crate) fn run(args: &ServeArgs, out: &mut impl Write) -> Result<(), CliError> {
    let catalog = Arc::new(Catalog::builtin()?);
    let runtime = crate::server_runtime()?;
    // A cluster that does not answer is said before anything else is done.
    let cluster = match &args.ballista {
        Some(given) => Some(crate::cluster::connect(&runtime, given)?),
        None => None,
    };
    // A remote warehouse is served from its local mirror, which a poller keeps current.
    let remote = match crate::remote::url_of(&args.warehouse) {
        Some(url) => Some(runtime.block_on(crate::remote::mirror(
            url,
            args.cache.as_deref(),
            args.cache_size,
            out,
        ))?),
        None => None,
    };
    let warehouse = remote
        .as_ref()
        .map_or_else(|| args.warehouse.clone(), |m| m.cache().to_path_buf());
    if remote.is_none() && zhijian_query::warehouse::current_id(&warehouse).is_none() {
        if !args.raw.join("A1-02").is_dir() {
            writeln!(
                out,
                "no raw corpus at {}: generating the demo corpus (scale {}, seed {})",
                args.raw.display(),
                zhijian_synth::DEMO.0,
                zhijian_synth::DEMO.1
            )?;
            out.flush()?;
            let bar = crate::progress_bar("synth", "publications");
            let opts = zhijian_synth::Options {
                raw: args.raw.clone(),
                truth: None,
                scale: zhijian_synth::DEMO.0,
                seed: zhijian_synth::DEMO.1,
            };
            zhijian_synth::generate(&opts, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
        }
        writeln!(
            out,
            "no snapshot in {}: ingesting {}",
            args.warehouse.display(),
            args.raw.display()
        )?;
        out.flush()?;
        crate::ingest::ingest_into(
            &args.raw,
            &args.warehouse,
            &catalog,
            &[],
            zhijian_ingest::build::DEFAULT_MEMORY,
            out,
        )?;
    }
    let base = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let limit = args
        .memory_limit
        .unwrap_or_else(zhijian_query::govern::default_memory_limit);
    let governor = zhijian_query::govern::Governor::for_memory(limit)?;
    let mut state = zhijian_server::AppState::new(warehouse, catalog, &base)?
        .with_index_mode(args.index)
        .with_governor(governor);
    if let Some(mirror) = &remote {
        state = state.with_fetch(crate::remote::fetch_hook(mirror));
    }
    if let Some(cluster) = cluster {
        writeln!(
            out,
            "SQL runs on the Ballista cluster at {}",
            cluster.address()
        )?;
        state = state.with_cluster(cluster);
    }
    let state = Arc::new(state);
    if let Some(mirror) = &remote {
        let _poller = runtime.enter();
        mirror.clone().spawn(
            std::time::Duration::from_secs(args.poll_seconds.max(1)),
            state.usage.replica().to_owned(),
        );
    }
    writeln!(
        out,
        "serving {} on {base} (API docs: {base}/docs)",
        args.warehouse.display()
    )?;
    let c = state.governor.config();
    writeln!(
        out,
        "memory ceiling {} MiB, of which queries {} MiB: {}",
        c.memory_limit >> 20,
        c.query_memory >> 20,
        zhijian_query::govern::Class::ALL
            .iter()
            .map(|&k| {
                let l = c.class(k);
                format!("{} {}×{} MiB", k.name(), l.slots, l.memory_bytes >> 20)
            })
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if let Some(flight) = args.flight_addr {
        writeln!(out, "Flight SQL on grpc://{flight}")?;
    }
    out.flush()?;
    let served = runtime.block_on(zhijian_server::serve(
        state.clone(),
        args.addr,
        args.flight_addr,
    ));
    // The last minute of usage counts (flushed at shutdown) reaches the remote too.
    if let Some(mirror) = &remote
        && let Err(e) = runtime.block_on(mirror.sync_usage(state.usage.replica()))
    {
        tracing::warn!(error = %e, "cannot upload the usage counts");
    }
    // The requests in flight are finished; what still runs on the blocking pool is work no
    // one waits for (a search index still building, ~25 s at 5M rows), which dropping the
    // runtime would wait out before the process could exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served.map_err(|source| CliError::Serve {
        addr: args.addr,
        source,
    })?;
    Ok(())
}
