//! The server's side: public SQL, planned and checked here, executed on the cluster.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::extension::SessionStateExt;
use ballista_core::serde::protobuf::CancelJobParams;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::{
    RecordBatchStream, SendableRecordBatchStream, SessionState, SessionStateBuilder, TaskContext,
};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion_proto::protobuf::LogicalPlanNode;
use futures::Stream;
use zhijian_query::ClusterFailure;

use crate::{ClusterError, Result, host_port};

/// A Ballista scheduler that public SQL is sent to.
#[derive(Debug, Clone)]
pub struct Ballista {
    /// `df://host:port`, as given.
    address: String,
    /// `http://host:port`, what the gRPC client dials.
    url: String,
}

impl Ballista {
    /// Checks that a scheduler answers at `given` (`df://host:port`), waiting up to `wait`
    /// for one that is still starting.
    pub async fn connect(given: &str, wait: Duration) -> Result<Self> {
        let (host, port) = host_port("--ballista", given)?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let url = format!("http://{host}:{port}");
        let address = format!("df://{host}:{port}");
        let until = tokio::time::Instant::now() + wait;
        loop {
            match SchedulerGrpcClient::connect(url.clone()).await {
                Ok(_) => return Ok(Self { address, url }),
                Err(e) if tokio::time::Instant::now() >= until => {
                    return Err(ClusterError::Unreachable {
                        address,
                        problem: transport_words(&format!("{e:?}")),
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl zhijian_query::sql::Cluster for Ballista {
    fn distribute(&self, state: SessionState) -> DfResult<SessionState> {
        let state = state.upgrade_for_ballista(self.url.clone())?;
        let distributed = Arc::clone(state.query_planner());
        let planner = Planner {
            distributed,
            address: self.address.clone(),
            url: self.url.clone(),
        };
        Ok(SessionStateBuilder::new_from_existing(state)
            .with_query_planner(Arc::new(planner))
            .build())
    }

    fn address(&self) -> &str {
        &self.address
    }
}

/// Ballista's planner, with `EXPLAIN` planned here (it shows the plan this server checked),
/// window functions too (see [`has_window`]), and every distributed plan wrapped in a [`Job`].
struct Planner {
    distributed: Arc<dyn QueryPlanner + Send + Sync>,
    address: String,
    url: String,
}

impl fmt::Debug for Planner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Planner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl QueryPlanner for Planner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if matches!(logical_plan, LogicalPlan::Explain(_)) || has_window(logical_plan) {
            return DefaultPhysicalPlanner::default()
                .create_physical_plan(logical_plan, session_state)
                .await;
        }
        let plan = self
            .distributed
            .create_physical_plan(logical_plan, session_state)
            .await?;
        if plan.is::<DistributedQueryExec<LogicalPlanNode>>() {
            Ok(Arc::new(Job {
                properties: Arc::clone(plan.properties()),
                inner: plan,
                address: self.address.clone(),
                url: self.url.clone(),
            }))
        } else {
            Ok(plan)
        }
    }
}

/// Whether the plan (its subqueries included) computes a window function. Ballista 55.0.0
/// answers `count(*) OVER (PARTITION BY product)` over the `spot_checks` union with per-input
/// counts (8 and 6 where the answer is 14; found by `crates/cli/tests/cluster.rs`), so such
/// plans run on this server, under the same per-query memory pool and deadline.
fn has_window(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        found = matches!(node, LogicalPlan::Window(_));
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// A job on the cluster: its stream cancels the job when dropped before its end, and says
/// "unavailable" when the cluster cannot be reached.
#[derive(Debug)]
struct Job {
    inner: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    address: String,
    url: String,
}

impl DisplayAs for Job {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BallistaJob: scheduler={}", self.address)
    }
}

impl ExecutionPlan for Job {
    fn name(&self) -> &str {
        "BallistaJob"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.inner]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let inner = children
            .pop()
            .ok_or_else(|| DataFusionError::Internal("a Ballista job has one child".into()))?;
        Ok(Arc::new(Self {
            properties: Arc::clone(inner.properties()),
            inner,
            address: self.address.clone(),
            url: self.url.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let stream = self.inner.execute(partition, context)?;
        Ok(Box::pin(JobStream {
            stream,
            plan: Arc::clone(&self.inner),
            address: self.address.clone(),
            url: self.url.clone(),
            finished: false,
        }))
    }
}

struct JobStream {
    stream: SendableRecordBatchStream,
    plan: Arc<dyn ExecutionPlan>,
    address: String,
    url: String,
    finished: bool,
}

impl Stream for JobStream {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.stream.as_mut().poll_next(cx);
        match polled {
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                self.finished = true;
                Poll::Ready(Some(Err(self.classify(e))))
            }
            other => other,
        }
    }
}

impl RecordBatchStream for JobStream {
    fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}

impl JobStream {
    /// A failure to reach the scheduler or an executor is the cluster's, not the query's.
    fn classify(&self, e: DataFusionError) -> DataFusionError {
        let text = format!("{e:?}");
        let transport = [
            "transport error",
            "Connection refused",
            "ConnectError",
            "code: Unavailable",
            "GrpcConnectionError",
            "Error fetching partition",
            "FetchFailed",
            "broken pipe",
        ]
        .iter()
        .any(|w| text.contains(w));
        if transport {
            DataFusionError::External(Box::new(ClusterFailure {
                address: self.address.clone(),
                problem: transport_words(&text),
            }))
        } else {
            e
        }
    }
}

impl Drop for JobStream {
    /// A query dropped before its end (deadline, client gone, a JSON answer cut at its cap)
    /// cancels its job, so the cluster stops working for nobody. The cancel goes on a short
    /// thread of its own: the query's runtime may be shutting down.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Some(job) = self
            .plan
            .downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
            .and_then(DistributedQueryExec::job_id)
        else {
            return;
        };
        let job: String = job.as_ref().to_owned();
        let url = self.url.clone();
        let spawned = std::thread::Builder::new()
            .name("ballista-cancel".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    let cancel = async {
                        let mut client = SchedulerGrpcClient::connect(url).await.ok()?;
                        client
                            .cancel_job(CancelJobParams {
                                job_id: job.clone(),
                            })
                            .await
                            .ok()
                    };
                    match tokio::time::timeout(Duration::from_secs(5), cancel).await {
                        Ok(Some(_)) => tracing::debug!(job, "cancelled an abandoned Ballista job"),
                        _ => tracing::warn!(job, "could not cancel an abandoned Ballista job"),
                    }
                });
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the thread that cancels a Ballista job");
        }
    }
}

/// The transport's words, short: the innermost readable part of a tonic error.
fn transport_words(text: &str) -> String {
    let words = [
        "Connection refused",
        "ConnectError",
        "Unavailable",
        "timed out",
    ];
    for w in words {
        if text.contains(w) {
            return match w {
                "ConnectError" => "cannot connect".to_owned(),
                other => other.to_lowercase(),
            };
        }
    }
    text.chars().take(300).collect()
}
