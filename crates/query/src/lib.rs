//! Queries over a snapshot: the DataFusion session, the snapshot index beside it, and the
//! read-only SQL guard. It knows nothing of HTTP: the server, the `zhijian sql` command and
//! Flight SQL call it.
//!
//! Where each behaviour lives:
//!
//! - [`warehouse`]: the snapshots of a warehouse (the current one picked up without restart,
//!   older ones by id), each opened as a DataFusion session with every resource as a table and
//!   `spot_checks`, the union of the spot-check tables ([`SnapshotView`], [`union`]); the
//!   layout it reads is `zhijian_catalog::layout`, which the ingester writes.
//! - [`accel`]: the one decision, per request, between the snapshot index and SQL, and why
//!   (the `x-answered-by` header); [`IndexMode::Off`] makes SQL answer everything.
//! - [`api`]: what the data API asks of a snapshot. `api/request.rs` parses parameters into a
//!   typed [`api::RowsRequest`] (filters of [`filter`], sort, fields, cursor); `api.rs` answers
//!   pages and point lookups; `api/export.rs` whole results (read by position in the default
//!   order when the index holds the filters); `api/aggregate.rs` facets and pass-rate
//!   statistics. Answers are the typed structs of [`answers`].
//! - [`search`]: the snapshot index and the public search. `search.rs` ranks matched values
//!   and answers a search; `search/understand.rs` reads a query (the product thesaurus,
//!   filter words, partial and sound-alike names), `search/plan.rs` turns it into terms,
//!   filters, `understood` and suggestions, `search/answer.rs` selects, counts and pages the
//!   rows of several terms; `search/rows.rs` is the index as an engine for rows (selections,
//!   counts, facets, statistics, page and export positions); `search/producers.rs` producers
//!   and their histories; `search/index.rs` the packed index, built in `search/index/build.rs`
//!   (packed containers in `packed.rs`, pinyin in `spelling.rs`, producers in `entities.rs`)
//!   and read from or written to the snapshot's index file by `search/index/stored.rs`
//!   ([`search::write_index`]; a server builds it only when no valid file is there).
//!   Folding and edit distance are in [`text`]; rows are read by position from the Parquet
//!   files by [`spot_rows`] (ordered reads in `spot_rows/ordered.rs`).
//! - [`sql`]: public SQL: the guard (SELECT, WITH and EXPLAIN only, by DataFusion's own
//!   `SQLOptions`; recursive CTEs off; bounded text and nesting), per-query memory pool, spill
//!   cap and plan checks ([`sql::plan_public`]); with a [`sql::Cluster`] (`zhijian serve
//!   --ballista`, the `zhijian-cluster` crate) the checked plan executes there, and a cluster
//!   that cannot answer is [`QueryError::ClusterUnavailable`]. Run locally, an aggregate over
//!   `spot_checks` whose columns the index codes reads its [`counted`] rows (distinct value
//!   combinations with a count; failed items taken apart by `unnest` too) instead of Parquet,
//!   and a grouped `count(DISTINCT text)` beside other aggregates runs as one [`distinct`]
//!   accumulator for all groups. [`named`] renders the named queries of
//!   `queries/`. [`write_stream`] writes results as NDJSON, JSON, CSV or a text table.
//! - [`govern`]: every request under a class (light, heavy, export, SQL) with slots, a
//!   bounded queue, a deadline and a memory budget under one ceiling; the API's queries plan
//!   on the governed request's session ([`SnapshotView::session`]) and run as its heavy work
//!   ([`govern::heavy`]) on a runtime of their own.

pub mod accel;
pub mod answers;
pub mod api;
pub mod counted;
pub mod distinct;
mod error;
pub mod filter;
pub mod govern;
pub mod named;
mod output;
pub mod search;
mod session;
pub mod spot_rows;
pub mod sql;
pub mod text;
pub mod union;
pub mod warehouse;

pub use accel::{Engine, IndexMode, Route};
pub use error::{ClusterFailure, QueryError, Result};
pub use output::{Format, write_stream};
pub use session::{MAX_NESTING, MAX_SQL_BYTES, Snapshot, guarded_sql, open};
pub use warehouse::{SnapshotView, Warehouse};
