//! The catalog of Zhijian open data: 6 categories, 24 subcategories and 108 resources, each
//! with a Frictionless Table Schema.
//!
//! This crate owns the metadata side of the platform. It loads `schemas/catalog.toml` and
//! `schemas/tables/*.json` (or the copy embedded at build time, [`Catalog::builtin`]),
//! validates them — ids, the 6/24/108 counts, every resource's schema, header aliases that
//! do not collide — and exposes them to the rest of the workspace: Arrow schemas for the
//! Parquet writer and the query engine ([`TableSchema::to_arrow`]), header aliases and
//! placeholder markers for the ingester, and the catalog as a Frictionless Data Package
//! ([`export::datapackage`]) and as DCAT-AP JSON-LD ([`export::dcat`]).
//!
//! It does not read data, write files or know about HTTP.

mod catalog;
mod error;
pub mod export;
pub mod schema;

pub use catalog::{
    CATALOG_FILE, Catalog, CatalogInfo, Category, EXPECTED_COUNTS, Frequency, Resource,
    SPOT_CHECK_SCHEMA, Subcategory, TABLES_DIR, sort_order,
};
pub use error::{CatalogError, Result};
pub use schema::{Field, FieldType, LINEAGE_FIELDS, TableSchema, header_key};
