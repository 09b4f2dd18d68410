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

/// A value a search word matched.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SearchMatch {
    /// `product`, `enterprise`, `brand`, `model_spec`, `failed_item` or `inspection_agency`.
    pub field: String,
    /// The value as published.
    pub value: String,
    /// How it matched: `exact`, `prefix`, `within`, `pinyin`, `initials`, `fuzzy`, `alias` …
    #[serde(rename = "match")]
    pub kind: String,
    /// Rows holding it.
    pub batches: u64,
}

/// The size of the snapshot index a search used.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IndexSize {
    /// Distinct values held.
    pub values: u64,
    /// Producers.
    pub enterprises: u64,
    /// Spot-check rows.
    pub rows: u64,
    /// How long building it took, in milliseconds.
    pub build_ms: u64,
}

/// A search over the spot checks.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SearchResult {
    /// The query as given.
    pub q: String,
    /// The query folded (width, case, traditional characters, spaces).
    pub folded: String,
    /// How the query was read: the product it names, the filters its words mean (applied
    /// unless a parameter sets the same field), and each part of it.
    pub understood: Understood,
    /// When nothing matched: the products closest to the query's words, to search instead.
    pub suggestions: Vec<Suggestion>,
    /// The snapshot searched.
    pub snapshot: String,
    /// The best 20 matched values.
    pub matches: Vec<SearchMatch>,
    /// How many values matched.
    pub matched_values: u64,
    /// How many of them select the rows.
    pub values_used: u64,
    /// Whether values were left out of the rows' selection (SQL uses the best 300).
    pub values_truncated: bool,
    /// Rows the matched values select under the filters.
    pub count: u64,
    /// `_offset`.
    pub offset: u64,
    /// `_limit`.
    pub limit: u64,
    /// One page of rows, best match first, then newest; each with `_matched` (field, match).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Row>,
    /// Facets of the rows by product, province, year and result.
    pub facets: std::collections::BTreeMap<String, Facet>,
    /// How long the search took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The index searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexSize>,
}

/// How a search read its query (`2023 广东 电热水壶 不合格`: the product 电热水壶, and the
/// filters `plan_year` 2023, `enterprise_province` 广东省, `result` fail).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Understood {
    /// The official product the query names, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Every official product its words mean (a shared word such as 热水器 means several).
    pub products: Vec<String>,
    /// `pass` or `fail`, from 合格/不合格 (and pass/fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// A year (`2023`, `2023年`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_year: Option<i64>,
    /// A province, from its name or a city's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_province: Option<String>,
    /// A level of check (国抽 → national, 省抽 → provincial …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_level: Option<String>,
    /// The query's parts in order, each with what it was read as.
    pub parts: Vec<QueryPart>,
}

/// A part of a query and what it was read as.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueryPart {
    /// The part (folded).
    pub text: String,
    /// `product`, `words` (searched as typed), `result`, `plan_year`,
    /// `enterprise_province`, `check_level` or `ignored` (filler: 的, 质量, 怎么样 …).
    pub role: String,
    /// The product(s) a product word means, or a filter's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The product thesaurus with each product's batches in a snapshot (`/api/v1/products`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductList {
    /// The snapshot counted.
    pub snapshot: String,
    /// Products in the thesaurus.
    pub count: u64,
    /// Words that mean several products on purpose (the search shows them all).
    pub shared: Vec<String>,
    /// Each official product and what people call it.
    pub products: Vec<ProductTerms>,
    /// Products of the snapshot the thesaurus has no entry for, with their batches.
    pub unlisted: Vec<ProductBatches>,
}

/// An official product, its words, and its batches.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductTerms {
    /// The official name (产品种类).
    pub name: String,
    /// The plan's 大类.
    pub category: String,
    /// The plan's 小类, where the plan has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    /// Everyday names and abbreviations.
    pub everyday: Vec<String>,
    /// Words of one region.
    pub regional: Vec<String>,
    /// Taiwan and Hong Kong words.
    pub traditional: Vec<String>,
    /// English names.
    pub english: Vec<String>,
    /// Its batches in the snapshot (rows whose product is this name).
    pub batches: u64,
    /// Its search.
    pub search: String,
}

/// A product name of the snapshot and its batches.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductBatches {
    /// The name as published.
    pub name: String,
    /// Its batches.
    pub batches: u64,
}

/// A product to search instead.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The query to search: the product's name as published.
    pub q: String,
    /// Its batches in the snapshot.
    pub batches: u64,
}

/// A snapshot that was once current.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SnapshotEntry {
    /// Its id.
    pub id: String,
    /// When it became current (RFC 3339), when the history knows.
    pub published_at: Option<String>,
    /// Whether it is the current one.
    pub current: bool,
    /// Whether it is still retained (readable with `_as_of`); a snapshot collected by
    /// `zhijian gc` answers 410 Gone.
    pub retained: bool,
    /// Row accounting over all resources (read, published, rejected, …).
    pub totals: Value,
    /// What changed in it.
    pub changes: String,
}

/// The snapshots, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Snapshots {
    /// The current snapshot's id.
    pub current: String,
    /// Every snapshot that was current, newest first.
    pub snapshots: Vec<SnapshotEntry>,
}

/// Record ids added and removed in one resource.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResourceChanges {
    /// Rows added.
    pub added: u64,
    /// Rows removed.
    pub removed: u64,
    /// Their record ids, in order, after `added_after`, up to `_limit`.
    pub added_ids: Vec<String>,
    /// Their record ids, in order, after `removed_after`, up to `_limit`.
    pub removed_ids: Vec<String>,
    /// Whether ids follow this page's (the `next` page lists them).
    pub truncated: bool,
    /// The next page of this resource's ids, while ids follow.
    pub next: Option<String>,
}

/// What changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Changes {
    /// The snapshot.
    pub snapshot: String,
    /// The earlier snapshot compared with (none: every row is added).
    pub since: Option<String>,
    /// By resource id, the resources whose rows changed.
    pub resources: std::collections::BTreeMap<String, ResourceChanges>,
}

/// A name a producer is published under.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProducerName {
    /// The name as published.
    pub name: String,
    /// Rows published under it.
    pub batches: u64,
}

/// A producer: one per 统一社会信用代码, or per normalised name when its rows carry none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Producer {
    /// Its key: the code, or the normalised name.
    pub key: String,
    /// The name with the most rows.
    pub name: String,
    /// Every name, most rows first.
    pub names: Vec<ProducerName>,
    /// The 统一社会信用代码, when rows carry one.
    pub uscc: Option<String>,
    /// Rows.
    pub batches: u64,
    /// Failed rows.
    pub fails: u64,
    /// First plan year.
    pub first_year: Option<i64>,
    /// Last plan year.
    pub last_year: Option<i64>,
}

/// A producer found by a search, and how.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProducerFound {
    /// The producer.
    #[serde(flatten)]
    pub producer: Producer,
    /// How its name matched.
    #[serde(rename = "match")]
    pub kind: String,
    /// Its history.
    pub url: String,
}

/// Producers found by name or code.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Producers {
    /// The query.
    pub q: String,
    /// The snapshot searched.
    pub snapshot: String,
    /// How many producers match.
    pub count: u64,
    /// Whether more match than are listed.
    pub truncated: bool,
    /// Best match first.
    pub enterprises: Vec<ProducerFound>,
}

/// A pass rate with its denominator.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PassRate {
    /// Batches published in full-scope files (the denominator).
    pub batches: u64,
    /// Of those, failed.
    pub fails: u64,
    /// Passed over batches (null without batches).
    pub pass_rate: Option<f64>,
    /// Wilson 95 % interval.
    pub pass_rate_ci95: Option<[f64; 2]>,
    /// Failures published in fail-only lists (no denominator).
    pub fail_only_failures: u64,
    /// Rows of every scope.
    pub rows: u64,
}

impl PassRate {
    /// The pass rate of a row of sums (`batches`, `fails`, `fail_only_failures`, `rows`), with
    /// its Wilson interval.
    pub fn of_sums(sums: &Row) -> Self {
        let get = |k: &str| sums.get(k).and_then(Value::as_u64).unwrap_or(0);
        let (n, fails) = (get("batches"), get("fails"));
        let passes = n - fails.min(n);
        Self {
            batches: n,
            fails,
            pass_rate: (n > 0).then(|| passes as f64 / n as f64),
            pass_rate_ci95: crate::api::wilson(passes, n).map(|(lo, hi)| [lo, hi]),
            fail_only_failures: get("fail_only_failures"),
            rows: get("rows"),
        }
    }

    /// Batches that passed.
    pub fn passes(&self) -> u64 {
        self.batches - self.fails.min(self.batches)
    }
}

/// A pass rate in one plan year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct YearPassRate {
    /// The pass rate.
    #[serde(flatten)]
    pub rate: PassRate,
    /// The plan year (null: unknown).
    pub plan_year: Option<i64>,
}

/// A value and how many rows hold it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ValueCount {
    /// The value (null: none).
    pub value: Value,
    /// Rows.
    pub count: u64,
    /// Failed rows, for products.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fails: Option<u64>,
}

/// Links to a producer's whole history as a file.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProducerExport {
    /// Every row, as CSV, through the SQL endpoint.
    pub csv: String,
}

/// Everything about one producer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProducerHistory {
    /// The producer.
    #[serde(flatten)]
    pub producer: Producer,
    /// The snapshot read.
    pub snapshot: String,
    /// Its pass rate (null: no rows).
    pub pass_rate: Option<PassRate>,
    /// What the denominator is.
    pub denominator: String,
    /// By plan year.
    pub by_year: Vec<YearPassRate>,
    /// Where it was registered, most rows first.
    pub provinces: Vec<ValueCount>,
    /// National, provincial or local checks.
    pub check_levels: Vec<ValueCount>,
    /// Its products, with fails.
    pub products: Vec<ValueCount>,
    /// Its failed items, most first.
    pub failed_items: Vec<ValueCount>,
    /// Its rows, newest first, up to `_limit`.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<Row>,
    /// Whether rows were left out (the `sql` selects them all).
    pub history_truncated: bool,
    /// The SQL that selects every row.
    pub sql: String,
    /// Its rows as a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<ProducerExport>,
}
