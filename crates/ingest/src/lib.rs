//! Ingestion of quality-supervision publications: the first stages of docs/DESIGN.md §4.
//!
//! This crate owns turning an attachment as published into rows a normalizer can work on:
//! [`read`] detects the container (CSV, HTML, XLSX, XLS, JSON) and the text encoding from the
//! bytes (a BOM, strict UTF-8, then GB18030, which covers GBK and GB2312; anything else is an
//! error naming the byte offset, never replacement characters) and numbers rows the way a
//! person sees them; [`layout`] finds the header by scoring rows against the schema's header
//! aliases and classifies every other row; [`normalize`] turns spot-check rows into the
//! canonical `spot_checks` schema (or rejects them with the field and value at fault), with
//! [`places`] (the catalog's GB/T 2260 divisions) resolving provinces and cities.
//!
//! [`normalize::Typed`] does the same for the other resources by their field types;
//! [`pipeline`] runs it all over a raw root with row accounting, and [`snapshot`] publishes
//! the result as an immutable, content-addressed Parquet snapshot behind an atomic pointer.
//! [`build`] is the ingest `zhijian ingest` runs: each publication kept as a part
//! ([`parts`]), each resource streamed through an external sort into its files, only what
//! changed read and written again; [`gc`] applies a retention policy to a warehouse.
//! It never depends on `zhijian-synth`: the corpus that tests it must stay independent.

pub mod build;
mod error;
pub mod gc;
pub mod layout;
pub mod normalize;
mod output;
pub mod parts;
pub mod pipeline;
/// The GB/T 2260 divisions live in the catalog crate, shared with the query side's search.
pub use zhijian_catalog::places;
pub mod read;
pub mod snapshot;
mod sort;

pub use error::{IngestError, Result};
