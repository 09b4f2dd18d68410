//! The catalog and its Table Schemas, judged against the taxonomy and by real clients.

/// Broken catalogs and schemas are reported with the file and the field at fault.
mod broken;
/// 6/24/108, the taxonomy's shape, the spot-check resources and their canonical columns.
mod counts;
/// The DCAT-AP JSON-LD export is real JSON-LD: PyLD expands it to 108 datasets.
mod dcat;
/// Every schema and the exported datapackage.json pass the official `frictionless validate`.
mod frictionless;
