//! Analyst SQL on a DataFusion Ballista cluster.
//!
//! One binary runs every part: `zhijian scheduler` ([`run_scheduler`]) and `zhijian executor`
//! ([`run_executor`]) start Ballista's scheduler and executor (the `ballista-scheduler` and
//! `ballista-executor` crates, 55.x, on the DataFusion 55, arrow 59 and tonic 0.14 this
//! workspace uses), and `zhijian serve --ballista df://host:port` hands public SQL to them
//! through [`Ballista`], an implementation of [`zhijian_query::sql::Cluster`].
//!
//! What runs where: the server parses, guards and checks every statement exactly as it does
//! without a cluster (`zhijian_query::sql::plan_public`: the read-only guard, the size,
//! nesting, operator, size-argument and join limits, on the snapshot's own tables); only
//! the checked logical plan goes to the scheduler, which plans it into stages and has the
//! executors read the snapshot's Parquet files by the paths the server registered. The
//! executors therefore need the warehouse at the same path (one machine, or a shared mount).
//! `EXPLAIN` and `information_schema` are answered by the server (they describe its plan and
//! its catalog). A query abandoned before its end (past the deadline, or its client gone)
//! has its job cancelled on the scheduler. A cluster that cannot be reached answers as
//! "unavailable" ([`zhijian_query::ClusterFailure`]), never as the query's fault.

mod client;
mod node;

pub use client::Ballista;
pub use node::{ExecutorOptions, run_executor, run_scheduler};

/// What can go wrong starting a scheduler or an executor, or reaching a scheduler.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An address given on the command line is not `host:port` or `df://host:port`.
    #[error("{option}: `{given}` is not an address ({problem})")]
    Address {
        /// The option (`--ballista`, `--scheduler`, `--addr`).
        option: &'static str,
        /// What was given.
        given: String,
        /// What is wrong.
        problem: String,
    },
    /// Ballista failed to start or stopped with an error.
    #[error("the Ballista {part} failed: {problem}")]
    Ballista {
        /// `scheduler` or `executor`.
        part: &'static str,
        /// Ballista's words.
        problem: String,
    },
    /// No scheduler answered at the address.
    #[error(
        "no Ballista scheduler answers at {address} ({problem}); start one with `zhijian scheduler --addr HOST:PORT`"
    )]
    Unreachable {
        /// The address (`df://host:port`).
        address: String,
        /// The transport's words.
        problem: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// Splits `host:port` (with or without a `df://` scheme) for `option`'s error messages.
pub fn host_port(option: &'static str, given: &str) -> Result<(String, u16)> {
    let bare = given
        .strip_prefix("df://")
        .unwrap_or(given)
        .trim_end_matches('/');
    let bad = |problem: &str| ClusterError::Address {
        option,
        given: given.to_owned(),
        problem: problem.to_owned(),
    };
    let (host, port) = bare
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    if host.is_empty() || host.contains('/') {
        return Err(bad("expected host:port"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port is not a number from 1 to 65535"))?;
    if port == 0 {
        return Err(bad("the port is not a number from 1 to 65535"));
    }
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_and_port_with_or_without_the_scheme() {
        assert_eq!(
            host_port("--ballista", "df://127.0.0.1:50050").ok(),
            Some(("127.0.0.1".to_owned(), 50050))
        );
        assert_eq!(
            host_port("--scheduler", "node-1:7000").ok(),
            Some(("node-1".to_owned(), 7000))
        );
        for bad in ["df://host", "host:0", "host:port", ":80", "http://x/y:1"] {
            let e = host_port("--ballista", bad).err().map(|e| e.to_string());
            assert!(
                e.as_deref()
                    .is_some_and(|e| e.contains("--ballista") && e.contains(bad)),
                "{bad}: {e:?}"
            );
        }
    }
}
