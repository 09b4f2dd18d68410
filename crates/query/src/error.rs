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
    /// The SQL is refused before DataFusion sees it.
    #[error("query refused: {reason}")]
    Refused {
        /// Why, and what is allowed.
        reason: String,
    },
    /// DataFusion rejected or failed the query (syntax, planning, execution).
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Writing the result failed.
    #[error("cannot write the result: {0}")]
    Output(String),
}

/// Result alias for this crate.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
