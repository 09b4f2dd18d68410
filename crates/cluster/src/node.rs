//! The scheduler and the executor, as `zhijian scheduler` and `zhijian executor` run them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;

use crate::{ClusterError, Result};

/// Runs a Ballista scheduler on `addr` until the process ends. Executors register with it
/// and servers (`zhijian serve --ballista df://addr`) submit jobs to it. Its state (jobs,
/// executors) is in memory: one scheduler per cluster.
pub async fn run_scheduler(addr: SocketAddr) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: addr.ip().to_string(),
        bind_port: addr.port(),
        external_host: addr.ip().to_string(),
        ..SchedulerConfig::default()
    };
    let failed = |e: ballista_core::error::BallistaError| ClusterError::Ballista {
        part: "scheduler",
        problem: e.to_string(),
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(failed)?;
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(failed)
}

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// Where the executor serves the Arrow Flight service that hands out its results (and
    /// that other executors read shuffled partitions from); its host is the address the
    /// scheduler gives others for it.
    pub addr: SocketAddr,
    /// The port of its gRPC service, on which the scheduler pushes tasks.
    pub grpc_port: u16,
    /// Where it writes shuffle files (when `None`, a folder named after the process and port
    /// under the system's temporary one).
    pub work_dir: Option<PathBuf>,
    /// Memory all its tasks may hold at once (each of `concurrency` tasks gets an equal
    /// share, spilling past it); `None`: 1 GiB.
    pub memory_bytes: Option<u64>,
    /// Tasks it runs at once (0: one per core).
    pub concurrency: usize,
}

/// Runs a Ballista executor until the process ends: it registers with the scheduler (waiting
/// up to a minute for one to answer), takes tasks, reads the warehouse's Parquet files by the
/// paths in the plans it is sent, and serves its results over Arrow Flight.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let work_dir = match &options.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| ClusterError::Ballista {
                part: "executor",
                problem: format!("cannot create the work folder {}: {e}", dir.display()),
            })?;
            dir.clone()
        }
        None => std::env::temp_dir().join(format!(
            "zhijian-executor-{}-{}",
            std::process::id(),
            options.addr.port()
        )),
    };
    let config = ExecutorProcessConfig {
        bind_host: options.addr.ip().to_string(),
        external_host: Some(options.addr.ip().to_string()),
        port: options.addr.port(),
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.0.clone(),
        scheduler_port: options.scheduler.1,
        scheduler_connect_timeout_seconds: 60,
        vcores: options.concurrency,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        memory_pool_size: Some(options.memory_bytes.unwrap_or(1 << 30)),
        print_thread_info: false,
        // Every function a server's session plans with (its default registry lacks the
        // nested ones, `array_to_string` among them, which the named queries use).
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(
            &SessionStateBuilder::new().with_default_features().build(),
        ))),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError::Ballista {
            part: "executor",
            problem: e.to_string(),
        })
}
