//! `zhijian scheduler` and `zhijian executor`: DataFusion Ballista's scheduler and executor,
//! from this binary, for `zhijian serve --ballista df://HOST:PORT`. Built with the `cluster`
//! feature (`cargo build --release -p zhijian --features cluster`); without it these commands
//! and `--ballista` say how to get them.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
#[cfg(feature = "cluster")]
use std::sync::Arc;

use clap::Args;

use crate::CliError;

/// Arguments of `zhijian scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on (executors register here; servers send SQL here as
    /// `--ballista df://ADDR`).
    #[arg(
        long,
        env = "ZHIJIAN_SCHEDULER_ADDR",
        default_value = "127.0.0.1:50050"
    )]
    addr: SocketAddr,
}

/// Arguments of `zhijian executor`.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with (`HOST:PORT`).
    #[arg(long, env = "ZHIJIAN_SCHEDULER", default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// Address of this executor's Arrow Flight service (results and shuffled partitions are
    /// read from it); its host is what the scheduler tells others, so use a reachable one.
    #[arg(long, env = "ZHIJIAN_EXECUTOR_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// Port of its gRPC service, on which the scheduler pushes tasks (default: the port of
    /// `--addr` plus one).
    #[arg(long, env = "ZHIJIAN_EXECUTOR_GRPC_PORT")]
    grpc_port: Option<u16>,
    /// Where shuffle files are written (default: a folder under the system's temporary one).
    #[arg(long, env = "ZHIJIAN_EXECUTOR_WORK_DIR", value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Memory all its tasks may hold at once (`2G`, `512M`); each running task gets an equal
    /// share and spills past it.
    #[arg(long, env = "ZHIJIAN_EXECUTOR_MEMORY", value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    memory: u64,
    /// Tasks it runs at once (0: one per core).
    #[arg(long, env = "ZHIJIAN_EXECUTOR_CONCURRENCY", default_value_t = 0)]
    concurrency: usize,
}

fn parse_size(text: &str) -> Result<u64, String> {
    zhijian_query::govern::parse_size(text)
        .filter(|n| *n >= 64 * 1024 * 1024)
        .ok_or_else(|| format!("`{text}` is not a size of at least 64M (e.g. 2G, 512M)"))
}

/// Runs until interrupted, or until `work` ends (with its error).
#[cfg(feature = "cluster")]
fn until_interrupted(
    work: impl Future<Output = zhijian_cluster::Result<()>>,
) -> Result<(), CliError> {
    crate::server_runtime()?.block_on(async {
        tokio::select! {
            done = work => done.map_err(CliError::from),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// `zhijian scheduler`.
pub(crate) fn run_scheduler(args: &SchedulerArgs, out: &mut impl Write) -> Result<(), CliError> {
    #[cfg(feature = "cluster")]
    {
        writeln!(out, "Ballista scheduler on df://{}", args.addr)?;
        out.flush()?;
        until_interrupted(zhijian_cluster::run_scheduler(args.addr))
    }
    #[cfg(not(feature = "cluster"))]
    {
        let _ = (args, out);
        Err(CliError::NoCluster {
            command: "zhijian scheduler",
        })
    }
}

/// `zhijian executor`.
pub(crate) fn run_executor(args: &ExecutorArgs, out: &mut impl Write) -> Result<(), CliError> {
    #[cfg(feature = "cluster")]
    {
        let scheduler = zhijian_cluster::host_port("--scheduler", &args.scheduler)?;
        let grpc_port = match args.grpc_port {
            Some(p) => p,
            None => args.addr.port().checked_add(1).ok_or_else(|| {
                zhijian_cluster::ClusterError::Address {
                    option: "--addr",
                    given: args.addr.to_string(),
                    problem: "its port + 1 (the gRPC port) is past 65535; give --grpc-port".into(),
                }
            })?,
        };
        writeln!(
            out,
            "Ballista executor on {} (gRPC port {grpc_port}), scheduler df://{}:{}",
            args.addr, scheduler.0, scheduler.1
        )?;
        out.flush()?;
        until_interrupted(zhijian_cluster::run_executor(
            zhijian_cluster::ExecutorOptions {
                scheduler,
                addr: args.addr,
                grpc_port,
                work_dir: args.work_dir.clone(),
                memory_bytes: Some(args.memory),
                concurrency: args.concurrency,
            },
        ))
    }
    #[cfg(not(feature = "cluster"))]
    {
        let _ = (args, out);
        Err(CliError::NoCluster {
            command: "zhijian executor",
        })
    }
}

/// The cluster `--ballista` names, once a scheduler answers there (waiting up to 30 s for
/// one that is starting).
#[cfg(feature = "cluster")]
pub(crate) fn connect(
    runtime: &tokio::runtime::Runtime,
    given: &str,
) -> Result<Arc<dyn zhijian_query::sql::Cluster>, CliError> {
    let cluster = runtime.block_on(zhijian_cluster::Ballista::connect(
        given,
        std::time::Duration::from_secs(30),
    ))?;
    Ok(Arc::new(cluster))
}

/// Without the `cluster` feature there is no cluster to connect to.
#[cfg(not(feature = "cluster"))]
pub(crate) fn connect(
    _runtime: &tokio::runtime::Runtime,
    _given: &str,
) -> Result<std::sync::Arc<dyn zhijian_query::sql::Cluster>, CliError> {
    Err(CliError::NoCluster {
        command: "zhijian serve --ballista",
    })
}
