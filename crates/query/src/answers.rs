//! The typed answers of the data API: what a page, a facet, pass-rate statistics, a search and
//! a producer's history hold. The server serialises them as they are (and describes them in
//! its OpenAPI document from the same types); the web page reads the same fields.
//!
//! Rows stay JSON objects: their fields are those of the resource's Table Schema (or the
//! `_fields` asked for), described by `/api/v1/resources/{id}` and `/datapackage.json`.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One row: its fields by name, nulls explicit, dates as ISO 8601 text, lists as arrays.
pub type Row = Map<String, Value>;

/// One value of a facet and how many rows hold it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacetValue {
    /// The value (null: no value; a year, quarter `2023-Q2` or month `2023-07` for a date
    /// histogram).
    #[schema(value_type = Object)]
    pub value: Value,
    /// Rows holding it (items, for a list field).
    pub count: u64,
}

/// Value counts of one field under the filters.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Facet {
    /// The field counted.
    pub field: String,
    /// `year`, `quarter` or `month` for a date histogram.
    pub interval: Option<String>,
    /// The most frequent values first (ties by value, no value last); every bucket in order
    /// for a histogram.
    pub values: Vec<FacetValue>,
    /// How many distinct values there are (no value counts as one).
    pub distinct_values: u64,
    /// Rows (items) counted in all.
    pub total: u64,
    /// Rows (items) holding a value not listed.
    pub other: u64,
    /// Whether values were left out.
    pub truncated: bool,
}

/// One group of pass-rate statistics.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatsGroup {
    /// The group's values, by the fields of `group_by`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub key: Map<String, Value>,
    /// Batches published in full-scope files (the denominator).
    pub batches: u64,
    /// Of those, batches that passed.
    pub passes: u64,
    /// Of those, batches that failed.
    pub fails: u64,
    /// passes / batches (null without batches).
    pub pass_rate: Option<f64>,
    /// Wilson 95 % interval of the pass rate.
    pub pass_rate_ci95: Option<[f64; 2]>,
    /// Failures published in fail-only lists (no denominator).
    pub fail_only_failures: u64,
}

/// Pass-rate statistics over the spot checks.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    /// The snapshot counted.
    pub snapshot: String,
    /// The fields grouped by.
    pub group_by: Vec<String>,
    /// What the denominator is.
    pub denominator: String,
    /// The groups, ordered by their values.
    pub groups: Vec<StatsGroup>,
    /// Whether groups were left out (`_limit`).
    pub truncated: bool,
}

/// A page of rows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RowsPage {
    /// The resource id (or `spot_checks`).
    pub resource: String,
    /// The snapshot read.
    pub snapshot: String,
    /// Rows under the filters (null with `_count=none`).
    pub count: Option<u64>,
    /// The rows: the resource's fields, or `_fields`.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Row>,
    /// Pass back as `_cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// The next page's URL; null on the last.
    pub next: Option<String>,
}

/// Facets of a resource.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Facets {
    /// The resource id (or `spot_checks`).
    pub resource: String,
    /// The snapshot read.
    pub snapshot: String,
    /// One per `_facet`, in the order asked.
    pub facets: Vec<Facet>,
}
