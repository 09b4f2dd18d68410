//! The catalog of Zhijian open data: 6 categories, 24 subcategories and 108 resources, each
//! with a Frictionless Table Schema.
//!
//! This crate owns the metadata side of the platform. It loads `schemas/catalog.toml` and
//! `schemas/tables/*.json` (or the copy embedded at build time, [`Catalog::builtin`]),
//! validates them — ids, the 6/24/108 counts, every resource's schema, header aliases that
//! do not collide — and exposes them to the rest of the workspace: Arrow schemas for the
//! Parquet writer and the query engine ([`TableSchema::to_arrow`]), header aliases and
//! placeholder markers for the ingester, and the catalog as a Frictionless Data Package
//! ([`export::datapackage`]) and as DCAT-AP JSON-LD ([`export::dcat`]); and the product
//! thesaurus (`schemas/products.toml`, [`thesaurus`]): what people call each product.
//!
//! It also holds the layout of a warehouse of snapshots ([`layout`]: `CURRENT`, manifests,
//! history), the one definition the ingester writes and the query side reads.
//!
//! It also holds the GB/T 2260 divisions ([`places`]): the ingester resolves producers'
//! provinces with them and the search reads places in a question (`广东`, `深圳`).
//!
//! It also holds the row store's file format ([`rowstore`]): a spot-check Parquet file's rows
//! again in small compressed blocks for reads by position, written by the ingester and read
//! by the query side; the one place of this crate that reads and writes data.
//!
//! It does not know about HTTP.

mod catalog;
mod error;
pub mod export;
pub mod layout;
pub mod places;
pub mod rowstore;
pub mod schema;
pub mod thesaurus;

pub use catalog::{
    CATALOG_FILE, Catalog, CatalogInfo, Category, EXPECTED_COUNTS, Frequency, Resource,
    SPOT_CHECK_SCHEMA, Subcategory, TABLES_DIR, sort_order,
};
pub use error::{CatalogError, Result};
pub use thesaurus::{ProductEntry, THESAURUS_FILE, Thesaurus, WordKind};

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil-from-days):
/// dates for file names, logs and Excel serials without a calendar crate.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
pub use schema::{Field, FieldType, LINEAGE_FIELDS, TableSchema, header_key};
