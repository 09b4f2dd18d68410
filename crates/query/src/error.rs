//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong opening a snapshot or running a query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The warehouse has no `CURRENT` snapshot yet.
    #[error("{warehouse}: no snapshot yet (run `zhijian ingest` first)")]
    NoSnapshot {
        /// The warehouse.
        warehouse: PathBuf,
    },
    /// A manifest or pointer could not be read.
    #[error("{path}: {problem}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A file of the snapshot could not be read.
    #[error("{path}: {problem}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A request parameter is wrong: which, its value, what is wrong, and what is allowed.
    #[error("parameter `{parameter}`: {problem}")]
    BadParameter {
        /// The parameter (a field name, `field__op`, or a reserved `_name`).
        parameter: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// The values, fields or operators that are allowed, when a list helps.
        allowed: Vec<String>,
    },
    /// No resource has this id.
    #[error("no resource `{id}`")]
    UnknownResource {
        /// The id asked for.
        id: String,
    },
    /// No snapshot has this id.
    #[error("no snapshot `{id}`")]
    UnknownSnapshot {
        /// The id asked for.
        id: String,
    },
    /// The snapshot was published but is no longer retained (`zhijian gc` collected it).
    #[error("snapshot `{id}` is no longer retained; the oldest retained snapshot is `{oldest}`")]
    SnapshotCollected {
        /// The id asked for.
        id: String,
        /// The oldest snapshot still retained.
        oldest: String,
    },
    /// No producer has this key.
    #[error("no producer `{key}`: find producers with /api/v1/enterprises?q=")]
    UnknownEnterprise {
        /// The key asked for.
        key: String,
    },
    /// User SQL that does not parse or plan, or fails: DataFusion's message, the position when
    /// it has one, and the closest names when a table or column is unknown.
    #[error("{message}")]
    Invalid {
        /// DataFusion's message.
        message: String,
        /// (line, column) of the error in the SQL text.
        position: Option<(u64, u64)>,
        /// Names close to an unknown one.
        suggestions: Vec<String>,
    },
    /// A query needed more memory than its request's pool (or the server's ceiling).
    #[error("the request needs more memory than one request may use: {message}")]
    ResourcesExhausted {
        /// DataFusion's message.
        message: String,
    },
    /// A request ran past its deadline and its work was cancelled.
    #[error("the request ran past its {seconds} s deadline and its query was cancelled")]
    Deadline {
        /// The deadline in seconds.
        seconds: u64,
    },
    /// Every slot of the request's class is taken and its queue is full (or the wait for a
    /// slot ran out).
    #[error("too many {class} requests are running ({slots} at once); retry in {retry_after} s")]
    Busy {
        /// The class (`light`, `heavy`, `export`, `sql`).
        class: String,
        /// Its slots.
        slots: usize,
        /// Seconds to wait before retrying (`Retry-After`).
        retry_after: u64,
    },
    /// The cluster that runs public SQL (`zhijian serve --ballista`) could not be reached, or
    /// lost a worker while answering: not the query's fault; retry later.
    #[error("the SQL cluster at {address} cannot answer now: {problem}")]
    ClusterUnavailable {
        /// The scheduler's address (`df://host:port`).
        address: String,
        /// What failed (the transport's words).
        problem: String,
    },
    /// The SQL is refused before DataFusion sees it.
    #[error("query refused: {reason}")]
    Refused {
        /// Why, and what is allowed.
        reason: String,
    },
    /// DataFusion rejected or failed the query (syntax, planning, execution).
    #[error(transparent)]
    DataFusion(datafusion::error::DataFusionError),
    /// Writing the result failed.
    #[error("cannot write the result: {0}")]
    Output(String),
}

/// The error a [`crate::sql::Cluster`] puts inside DataFusion's (as
/// `DataFusionError::External`) when the cluster itself failed, so that the query's caller
/// answers "unavailable" rather than blaming the query.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct ClusterFailure {
    /// The scheduler's address (`df://host:port`).
    pub address: String,
    /// What failed.
    pub problem: String,
}

impl From<datafusion::error::DataFusionError> for QueryError {
    /// A query over its memory is [`QueryError::ResourcesExhausted`] wherever DataFusion
    /// wrapped the error (a spawned task, an Arrow error, a context), a [`ClusterFailure`]
    /// is [`QueryError::ClusterUnavailable`]; every other error is DataFusion's.
    fn from(e: datafusion::error::DataFusionError) -> Self {
        match e.find_root() {
            datafusion::error::DataFusionError::ResourcesExhausted(message) => {
                Self::ResourcesExhausted {
                    message: message.clone(),
                }
            }
            _ => ClusterFailure::within(&e).unwrap_or(Self::DataFusion(e)),
        }
    }
}

impl ClusterFailure {
    /// [`QueryError::ClusterUnavailable`] when the root of `e` is a cluster's failure.
    pub(crate) fn within(e: &datafusion::error::DataFusionError) -> Option<QueryError> {
        match e.find_root() {
            datafusion::error::DataFusionError::External(inner) => inner
                .downcast_ref::<Self>()
                .map(|f| QueryError::ClusterUnavailable {
                    address: f.address.clone(),
                    problem: f.problem.clone(),
                }),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
