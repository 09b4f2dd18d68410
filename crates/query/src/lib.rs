//! Queries over a snapshot: the DataFusion session and the read-only SQL guard.
//!
//! This crate owns the query semantics every surface shares (the `zhijian sql` command now;
//! the HTTP API, the SQL endpoint and Flight SQL later): which tables exist (every resource
//! of the current snapshot by its table name, and the `spot_checks` view over the ten
//! spot-check resources), what SQL is allowed (SELECT, WITH and EXPLAIN only, enforced by
//! DataFusion's own `SQLOptions`, recursive CTEs off, bounded text size and nesting) and how
//! results stream out (NDJSON, JSON, CSV, a text table). It knows nothing of HTTP.

mod error;
mod output;
mod session;

pub use error::{QueryError, Result};
pub use output::{Format, write_stream};
pub use session::{MAX_NESTING, MAX_SQL_BYTES, Snapshot, guarded_sql, open};
