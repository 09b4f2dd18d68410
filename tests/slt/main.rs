//! The SQL surface pinned by the sqllogictest files of `queries/` (`*.slt`), run against a
//! snapshot ingested from a fixed synthetic corpus, through the same planning path, guard and
//! limits as the public `/api/v1/sql` endpoint: once in this process, and once on a
//! DataFusion Ballista cluster (a scheduler and two executors on loopback, as `zhijian
//! serve --ballista` uses it), where every file must give the same answers.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use sqllogictest::{DBOutput, DefaultColumnType};
use zhijian_catalog::Catalog;
use zhijian_query::counted::CountedRows;
use zhijian_query::sql::{Cluster, SqlLimits, plan_public};
use zhijian_tests::{files_under, free_port};

/// The engine under test: public SQL on one snapshot.
struct Zhijian {
    ctx: SessionContext,
    tables: Vec<String>,
    runtime: Arc<tokio::runtime::Runtime>,
    counted: Option<Arc<CountedRows>>,
    cluster: Option<Arc<dyn Cluster>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SqlError(String);

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

impl sqllogictest::DB for Zhijian {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlError> {
        let limits = SqlLimits::default();
        self.runtime.block_on(async {
            let pool = Arc::new(datafusion::execution::memory_pool::FairSpillPool::new(
                limits.memory_bytes,
            ));
            let df = plan_public(
                &self.ctx,
                &self.tables,
                sql,
                &limits,
                pool,
                self.counted.clone(),
                self.cluster.as_deref(),
            )
            .await
            .map_err(|e| SqlError(e.to_string()))?;
            let types: Vec<DefaultColumnType> = df
                .schema()
                .fields()
                .iter()
                .map(|f| column_type(f.data_type()))
                .collect();
            let mut stream = df
                .execute_stream()
                .await
                .map_err(|e| SqlError(e.to_string()))?;
            let mut rows = Vec::new();
            let options = FormatOptions::default().with_null("NULL");
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| SqlError(e.to_string()))?;
                let formatters: Vec<ArrayFormatter<'_>> = batch
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                    .collect::<Result<_, _>>()
                    .map_err(|e| SqlError(e.to_string()))?;
                for i in 0..batch.num_rows() {
                    rows.push(
                        formatters
                            .iter()
                            .zip(batch.columns())
                            .map(|(f, c)| {
                                if c.is_null(i) {
                                    "NULL".to_owned()
                                } else {
                                    let v = f.value(i).to_string();
                                    if v.is_empty() {
                                        "(empty)".to_owned()
                                    } else {
                                        v
                                    }
                                }
                            })
                            .collect(),
                    );
                }
            }
            Ok(DBOutput::Rows { types, rows })
        })
    }

    fn engine_name(&self) -> &str {
        "zhijian"
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    let warehouse = dir.path().join("warehouse");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: raw.clone(),
            truth: None,
            scale: 20_000,
            seed: 5_150,
        },
        &|_, _| {},
    )
    .expect("corpus");
    let catalog = Catalog::builtin().expect("catalog");
    let ingested = zhijian_ingest::pipeline::ingest(&raw, &catalog, &[], &|_, _| {});
    let manifest =
        zhijian_ingest::snapshot::publish(&warehouse, &catalog, &ingested).expect("publish");
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime"),
    );
    let view = runtime
        .block_on(zhijian_query::warehouse::open_snapshot(
            &warehouse,
            &catalog,
            &manifest.id,
        ))
        .expect("snapshot");
    let tables = view.tables();
    let root = zhijian_tests::repo_root().join("queries");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("queries/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", root.display());
    let cluster = runtime.block_on(start_cluster(dir.path()));
    let mut failures = Vec::new();
    let mut runs = 0;
    // Once with the snapshot index's counted rows (aggregates over `spot_checks` read
    // them), once without, once on the cluster: the same answers.
    runtime.block_on(view.indexes()).expect("index");
    let counted = view.counted();
    assert!(counted.is_some(), "the index is built");
    for (engine, counted, cluster) in [
        ("index", counted, None),
        ("local", None, None),
        ("ballista", None, Some(cluster)),
    ] {
        for file in &files {
            runs += 1;
            let ctx = view.ctx.clone();
            let tables = tables.clone();
            let rt = runtime.clone();
            let cluster = cluster.clone();
            let counted = counted.clone();
            let mut runner = sqllogictest::Runner::new(move || {
                let db = Zhijian {
                    ctx: ctx.clone(),
                    tables: tables.clone(),
                    runtime: rt.clone(),
                    counted: counted.clone(),
                    cluster: cluster.clone(),
                };
                async move { Ok(db) }
            });
            match runner.run_file(file) {
                Ok(()) => println!("ok   {engine:8} {}", file.display()),
                Err(e) => {
                    println!("FAIL {engine:8} {}\n{e}", file.display());
                    failures.push(format!("{engine}: {}", file.display()));
                }
            }
        }
    }
    println!(
        "test result: {}. {} passed; {} failed; 0 ignored; 0 measured; 0 filtered out",
        if failures.is_empty() { "ok" } else { "FAILED" },
        runs - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failing .slt files: {failures:?}");
    // The cluster did the work: its executors wrote the shuffle files of the jobs.
    let written: Vec<usize> = (0..2)
        .map(|i| files_under(&dir.path().join(format!("executor-{i}"))))
        .collect();
    assert!(
        written.iter().sum::<usize>() > 0,
        "the executors wrote no job data: {written:?}"
    );
}

/// A Ballista scheduler and two executors on loopback, in this process's runtime, and the
/// cluster handle `zhijian serve --ballista` would use.
async fn start_cluster(work: &std::path::Path) -> Arc<dyn Cluster> {
    let scheduler: std::net::SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    tokio::spawn(zhijian_cluster::run_scheduler(scheduler));
    // Executors dial only once it listens (see the README on ports).
    while tokio::net::TcpStream::connect(scheduler).await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for i in 0..2 {
        let options = zhijian_cluster::ExecutorOptions {
            scheduler: ("127.0.0.1".into(), scheduler.port()),
            addr: format!("127.0.0.1:{}", free_port())
                .parse()
                .expect("address"),
            grpc_port: free_port(),
            work_dir: Some(work.join(format!("executor-{i}"))),
            memory_bytes: Some(512 << 20),
            concurrency: 2,
        };
        tokio::spawn(zhijian_cluster::run_executor(options));
    }
    let ballista = zhijian_cluster::Ballista::connect(
        &format!("df://{scheduler}"),
        std::time::Duration::from_secs(30),
    )
    .await
    .expect("the scheduler answers");
    Arc::new(ballista)
}
