//! Queries over a snapshot: the DataFusion session and the read-only SQL guard.
//!
//! This crate owns the query semantics every surface shares (the `zhijian sql` command now;
//! the HTTP API, the SQL endpoint and Flight SQL later): which tables exist (every resource
//! of the current snapshot by its table name, and the `spot_checks` view over the ten
//! spot-check resources), what SQL is allowed (SELECT, WITH and EXPLAIN only, enforced by
//! DataFusion's own `SQLOptions`, recursive CTEs off, bounded text size and nesting) and how
//! results stream out (NDJSON, JSON, CSV, a text table), and what the data API asks of a
//! snapshot: the typed filter grammar ([`filter`]), pages with keyset cursors, exact counts,
//! facets and pass-rate statistics ([`api`]), the warehouse of snapshots that picks up a
//! new one without restart ([`warehouse`]), public SQL with its per-query limits and plan
//! checks ([`sql`]), the named queries of `queries/` ([`named`]), and the Chinese-aware search
//! and producer entities ([`search`], folding and pinyin in [`text`], rows read by position
//! in [`spot_rows`]). It knows nothing of HTTP.

pub mod accel;
pub mod answers;
pub mod api;
mod error;
pub mod filter;
pub mod named;
mod output;
pub mod search;
mod session;
pub mod spot_rows;
pub mod sql;
pub mod text;
pub mod warehouse;

pub use accel::{Engine, IndexMode, Route};
pub use error::{QueryError, Result};
pub use output::{Format, write_stream};
pub use session::{MAX_NESTING, MAX_SQL_BYTES, Snapshot, guarded_sql, open};
pub use warehouse::{SnapshotView, Warehouse};
