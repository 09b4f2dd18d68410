//! The public search over spot checks, and producers as entities.
//!
//! Peers fail Chinese here: SQLite FTS, Postgres and Lucene defaults do not segment Chinese,
//! and trigram indexes miss two-character words. What the public types is a short name (电热,
//! 童装, 美的), a pinyin spelling (meidi), initials (md), a model number with a typo, in full- or
//! half-width, traditional or simplified. So the index ([`SearchIndex`], built once per
//! snapshot in one pass over its spot-check files) holds the distinct values of the searched
//! fields (product, enterprise, brand, model, failed items, testing agency), each folded
//! ([`crate::text::fold`]) and, for names, spelled as pinyin syllables; a query is folded the
//! same way and matched against every value as a substring, so words of any length match with
//! no segmentation to get wrong. The matched values, ranked, select rows through their
//! postings; count, facets, equality filters and order come from the index, and only the
//! page's rows are read from Parquet ([`crate::spot_rows`]).
//!
//! Producers are one entity per 统一社会信用代码 when the rows carry one, and per normalised
//! name otherwise ([`crate::text::entity_name`]); rows without a code join the entity of the
//! only code their normalised name is seen with.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::accel::{Answered, Ask, Engine, Target};
use crate::answers::{Facet, FacetValue, SearchMatch, SearchResult};
use crate::api::{RowsRequest, batch_to_json, json_rows};
use crate::error::{QueryError, Result};
use crate::filter::{bad, string_lit};
use crate::text::fold;
use crate::warehouse::SnapshotView;

mod answer;
pub(crate) mod index;
mod plan;
mod producers;
mod rows;
mod understand;

pub use producers::{Enterprise, enterprise_history};

use answer::Found;
use index::FACETS;
pub use index::SearchIndex;
/// The format of the snapshot index file this server writes and reads (`index/<key>-v<N>.zjidx`).
pub use index::stored::VERSION as INDEX_FORMAT;

/// A searched field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SearchField {
    /// 标称生产企业.
    Enterprise,
    /// 商标.
    Brand,
    /// 产品种类.
    Product,
    /// 规格型号.
    Model,
    /// 不合格项目 (a list: each item is an entry).
    FailedItem,
    /// 承检机构.
    Agency,
}

impl SearchField {
    pub(crate) const ALL: [Self; 6] = [
        Self::Enterprise,
        Self::Brand,
        Self::Product,
        Self::Model,
        Self::FailedItem,
        Self::Agency,
    ];

    /// The column of `spot_checks`.
    pub fn column(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Brand => "brand",
            Self::Product => "product",
            Self::Model => "model_spec",
            Self::FailedItem => "failed_items",
            Self::Agency => "inspection_agency",
        }
    }

    fn weight(self) -> f64 {
        match self {
            Self::Enterprise | Self::Brand | Self::Product => 1.0,
            Self::Model => 0.9,
            Self::FailedItem => 0.8,
            Self::Agency => 0.6,
        }
    }

    /// Names are spelled in pinyin; models, items and agencies are not.
    pub(crate) fn spelled(self) -> bool {
        matches!(self, Self::Enterprise | Self::Brand | Self::Product)
    }
}

/// How an entry matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    /// The whole value.
    Exact,
    /// The value starts with the query.
    Prefix,
    /// The value contains the query.
    Contains,
    /// The query spells the whole value in pinyin.
    Pinyin,
    /// The query spells some syllables of the value in pinyin.
    PinyinWithin,
    /// The query is the initials of the whole value.
    Initials,
    /// The query is the initials of 3+ consecutive characters of the value.
    InitialsWithin,
    /// A model number within one or two edits of the query.
    Fuzzy,
    /// The value holds an official product name that the query's word means (the product
    /// thesaurus: 电水壶 → 电热水壶).
    Alias,
    /// A product name holding most of the query's characters (电水壶 → 电热水壶, 一次性餐具 →
    /// 塑料一次性餐饮具).
    Partial,
    /// A product name that sounds like the query (电热水胡 → 电热水壶).
    Sounds,
}

impl MatchKind {
    /// Its name in responses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "prefix",
            Self::Contains => "contains",
            Self::Pinyin => "pinyin",
            Self::PinyinWithin => "pinyin_within",
            Self::Initials => "initials",
            Self::InitialsWithin => "initials_within",
            Self::Fuzzy => "fuzzy",
            Self::Alias => "alias",
            Self::Partial => "partial",
            Self::Sounds => "sounds_like",
        }
    }

    fn base(self) -> f64 {
        match self {
            Self::Exact => 100.0,
            Self::Prefix => 80.0,
            Self::Contains => 60.0,
            Self::Pinyin => 55.0,
            Self::PinyinWithin => 45.0,
            Self::Initials => 40.0,
            Self::InitialsWithin => 25.0,
            Self::Fuzzy => 30.0,
            Self::Alias => 85.0,
            Self::Partial => 35.0,
            Self::Sounds => 34.0,
        }
    }
}

impl SearchField {
    /// Its name in responses (the column, `failed_item` for list items).
    pub fn name(self) -> &'static str {
        match self {
            Self::FailedItem => "failed_item",
            other => other.column(),
        }
    }
}

/// A matched value.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Its entry in the index.
    entry: u32,
    /// The field.
    pub field: SearchField,
    /// The value as published.
    pub value: String,
    /// How it matched.
    pub kind: MatchKind,
    /// Within a partial match, 0 for the closest names, then 1, 2 …: their rows come first.
    pub grade: u8,
    /// Rank score (higher first).
    pub score: f64,
    /// Batches with this value.
    pub batches: u64,
}

impl Hit {
    /// Its tier: how it matched, in which field, and its grade.
    fn tier(&self) -> Tier {
        (self.kind, self.field, self.grade)
    }
}

/// How a row was matched, for ranking rows: kind, field, grade.
type Tier = (MatchKind, SearchField, u8);

/// A tier's weight: the better the match, the higher.
fn tier_weight(t: &Tier) -> f64 {
    t.0.base() * t.1.weight()
}

impl SearchIndex {
    /// Every value matching `q` (already folded), best first; `aliases` are the official
    /// product names (folded) the thesaurus says `q` means.
    pub fn find(&self, q: &str, aliases: &[String]) -> Vec<Hit> {
        let mut hits: Vec<(u32, MatchKind, f64)> = self
            .matches(q, &SearchField::ALL, aliases)
            .into_iter()
            .map(|(e, kind)| {
                let mut s = score(kind, self.field_of(e), self.batches(e));
                if kind == MatchKind::Fuzzy {
                    // One edit before two.
                    s -= 10.0 * self.model_distance(e, q) as f64;
                }
                (e, kind, s)
            })
            .collect();
        // Best score, then most batches, then first seen (the files' order).
        hits.sort_unstable_by(|a, b| {
            b.2.total_cmp(&a.2)
                .then(self.batches(b.0).cmp(&self.batches(a.0)))
                .then(a.0.cmp(&b.0))
        });
        hits.into_iter()
            .map(|(e, kind, score)| Hit {
                entry: e,
                field: self.field_of(e),
                value: self.value(e).to_owned(),
                kind,
                grade: 0,
                score,
                batches: self.batches(e),
            })
            .collect()
    }
}

fn score(kind: MatchKind, field: SearchField, batches: u64) -> f64 {
    kind.base() * field.weight() + (1.0 + batches as f64).ln().min(5.0)
}

/// The values that filter the rows: the best `MAX_VALUES`.
pub const MAX_VALUES: usize = 300;

/// `column IN (...)` (or `array_has_any` for list items) over some values of one field.
fn values_condition(field: SearchField, values: &[&str]) -> String {
    let list = values
        .iter()
        .map(|v| string_lit(v))
        .collect::<Vec<_>>()
        .join(", ");
    match field {
        SearchField::FailedItem => format!("array_has_any(failed_items, make_array({list}))"),
        other => format!("{} IN ({list})", other.column()),
    }
}

/// The rows condition of hits and their rank expression: tiers by (kind, field, grade), best
/// first.
fn conditions(hits: &[Hit]) -> (String, String, Vec<Tier>) {
    let mut tiers: BTreeMap<Tier, Vec<&str>> = BTreeMap::new();
    for h in hits {
        tiers.entry(h.tier()).or_default().push(&h.value);
    }
    let order = tier_order(tiers.keys().copied());
    let mut any = Vec::new();
    let mut rank = String::from("CASE");
    for (i, key) in order.iter().enumerate() {
        let cond = values_condition(key.1, &tiers[key]);
        rank.push_str(&format!(" WHEN {cond} THEN {i}"));
        any.push(cond);
    }
    rank.push_str(&format!(" ELSE {} END", order.len()));
    (format!("({})", any.join(" OR ")), rank, order)
}

/// Columns of a search result row unless `_fields` says otherwise.
pub const RESULT_FIELDS: &[&str] = &[
    "record_id",
    "resource_id",
    "announced_on",
    "plan_year",
    "check_level",
    "authority",
    "product",
    "enterprise",
    "enterprise_uscc",
    "enterprise_province",
    "brand",
    "model_spec",
    "result",
    "failed_items",
    "inspection_agency",
    "publication_scope",
];

/// Facets of a search.
pub const SEARCH_FACETS: &[&str] = &["product", "enterprise_province", "plan_year", "result"];

/// The filters a search applies from memory: equality on the facet fields. `None` when
/// another filter (an operator, another field, `_q`) needs SQL.
fn memory_filters(params: &[(String, String)]) -> Option<Vec<(usize, &str)>> {
    const NOT_FILTERS: &[&str] = &[
        "q", "_offset", "_limit", "_fields", "_as_of", "page", "lang",
    ];
    let mut out = Vec::new();
    for (k, v) in params {
        if NOT_FILTERS.contains(&k.as_str()) {
            continue;
        }
        let slot = SEARCH_FACETS.iter().position(|f| f == k)?;
        out.push((slot, v.as_str()));
    }
    Some(out)
}

/// Facet values: most rows first, then by value, unknown last.
fn facet_order(a: &(Value, u64), b: &(Value, u64)) -> std::cmp::Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 1,
        _ => 0,
    };
    b.1.cmp(&a.1)
        .then(rank(&a.0).cmp(&rank(&b.0)))
        .then_with(|| match (&a.0, &b.0) {
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&y.as_f64().unwrap_or(0.0)),
            (Value::String(x), Value::String(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        })
}

/// SQL's `ASC NULLS FIRST` over JSON values of one column.
fn ascending_nulls_first(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Tiers of a search, best first: by weight, then kind, field and grade.
fn tier_order(keys: impl Iterator<Item = Tier>) -> Vec<Tier> {
    let mut order: Vec<Tier> = keys.collect();
    order.sort();
    order.dedup();
    order.sort_by(|a, b| tier_weight(b).total_cmp(&tier_weight(a)).then(a.cmp(b)));
    order
}

/// A search: the folded query, how it was read, the matched values, and one page of the rows
/// they select (with the rows grammar's filters and those the query's words mean), with the
/// count and facets.
///
/// Count, facets, equality filters on the facet fields and the order come from the index in
/// memory, and only the page's rows are read (by position) from the Parquet files; any other
/// filter of the rows grammar runs as SQL over the best [`MAX_VALUES`] values of each term.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    view: &SnapshotView,
    catalog: &zhijian_catalog::Catalog,
    index: &SearchIndex,
    q: &str,
    params: &[(String, String)],
    req: &RowsRequest,
    limit: usize,
    offset: usize,
) -> Result<Answered<SearchResult>> {
    let folded = fold(q);
    if folded.is_empty() {
        return Err(bad(
            "q",
            q,
            "give a word to search for (a product, company, brand, model, failed item or agency; 汉字, pinyin or initials)",
            Vec::new(),
        ));
    }
    let lex = understand::Lexicon::of(catalog);
    let mut plan = plan::plan(index, lex, q, &folded);
    // The filters the words mean, unless a parameter sets the same field.
    plan.filters
        .retain(|(field, _)| !params.iter().any(|(k, _)| k == field));
    let mut params = params.to_vec();
    params.extend(plan.filters.iter().cloned());
    let mut req = req.clone();
    if !plan.filters.is_empty() {
        let meant = RowsRequest::parse(
            catalog,
            zhijian_catalog::SPOT_CHECK_SCHEMA,
            &plan.filters,
            &[],
        )?;
        req.conditions.extend(meant.conditions);
    }
    let mut ranked: Vec<&Hit> = plan.terms.iter().flatten().collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.batches.cmp(&a.batches)));
    let matched_values = ranked.len();
    let matches: Vec<SearchMatch> = ranked
        .iter()
        .take(20)
        .map(|h| SearchMatch {
            field: h.field.name().to_owned(),
            value: h.value.clone(),
            kind: h.kind.name().to_owned(),
            batches: h.batches,
        })
        .collect();
    let mut out = SearchResult {
        q: q.to_owned(),
        folded,
        understood: plan.understood(),
        suggestions: Vec::new(),
        snapshot: view.id.clone(),
        matches,
        matched_values: matched_values as u64,
        values_used: 0,
        values_truncated: false,
        count: 0,
        offset: offset as u64,
        limit: limit as u64,
        rows: Vec::new(),
        facets: BTreeMap::new(),
        elapsed_ms: None,
        index: None,
    };
    let fields: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => RESULT_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let filters = memory_filters(&params);
    let target = Target {
        table: zhijian_catalog::SPOT_CHECK_SCHEMA,
        filters: match filters {
            Some(_) => Ok(&[]),
            None => Err("a filter other than equality on product, province, year or result"),
        },
    };
    if plan.selects_nothing() {
        // No value matches: no row to select, whoever would have selected them.
        let nothing = || -> Found { (0, Vec::new(), BTreeMap::new()) };
        let route = crate::accel::answer(
            view,
            target,
            Ask::Search,
            |_| Ok(Ok(nothing())),
            || std::future::ready(Ok(nothing())),
        )
        .await?
        .route;
        let words = if plan.unmatched.is_empty() {
            vec![out.folded.clone()]
        } else {
            plan.unmatched.clone()
        };
        out.suggestions = plan::suggest(index, lex, &words);
        return Ok(Answered { value: out, route });
    }
    let terms = &plan.terms;
    let Answered {
        value: (count, rows, facets),
        route,
    } = crate::accel::answer(
        view,
        target,
        Ask::Search,
        |index| {
            let filters = filters.as_deref().unwrap_or_default();
            Ok(Ok(answer::in_memory(
                index, terms, filters, &fields, limit, offset,
            )?))
        },
        || answer::by_sql(view, catalog, terms, &req, &fields, limit, offset),
    )
    .await?;
    let used = match route.engine {
        Engine::Index => matched_values,
        Engine::Sql => terms.iter().map(|t| t.len().min(MAX_VALUES)).sum(),
    };
    out.values_used = used as u64;
    out.values_truncated = matched_values > used;
    out.count = count as u64;
    out.rows = rows;
    out.facets = facets;
    if count == 0 {
        out.suggestions = plan::suggest(index, lex, std::slice::from_ref(&out.folded));
    }
    Ok(Answered { value: out, route })
}

/// A facet as `api::facet` answers it, from counts per code (the last count: no value).
fn facet_json(name: &str, values: &[Value], counts: &[u64], size: usize) -> Facet {
    let mut list: Vec<(Value, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| (values.get(c).cloned().unwrap_or(Value::Null), *n))
        .collect();
    list.sort_by(facet_order);
    let distinct = list.len();
    list.truncate(size);
    facet_answer(name, list, distinct, counts.iter().sum(), size)
}

/// A facet's answer: its first values (sorted, at most `size`), how many distinct values and
/// rows there are.
fn facet_answer(
    name: &str,
    shown: Vec<(Value, u64)>,
    distinct: usize,
    total: u64,
    size: usize,
) -> Facet {
    let shown_rows: u64 = shown.iter().map(|v| v.1).sum();
    Facet {
        field: name.to_owned(),
        interval: None,
        values: shown
            .into_iter()
            .map(|(value, count)| FacetValue { value, count })
            .collect(),
        distinct_values: distinct as u64,
        total,
        other: total - shown_rows,
        truncated: distinct > size,
    }
}

/// Latest announcements on the home page.
const RECENT: usize = 12;

/// Where a snapshot's index came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum IndexOrigin {
    /// Read from the snapshot's index file (written at publish or by `zhijian index`).
    File {
        /// Its path relative to the warehouse.
        file: String,
    },
    /// Built by this server from the spot-check rows.
    Built {
        /// Why no index file was read.
        reason: String,
    },
}

/// The search index (with the producers) of a snapshot, read from its index file or built
/// once.
#[derive(Debug)]
pub struct Indexes {
    /// The search index and producers.
    pub search: SearchIndex,
    /// The latest announcements: (announced_on, authority, product, batches, fails), newest
    /// first, for the home page.
    pub recent: Vec<Map<String, Value>>,
    /// How long reading or building took, in milliseconds.
    pub build_ms: u64,
    /// Where it came from.
    pub origin: IndexOrigin,
}

/// What [`write_index`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexWrite {
    /// The index file was written.
    Written {
        /// Its path relative to the warehouse.
        file: String,
        /// Its size.
        bytes: u64,
        /// How long building and writing took, in milliseconds.
        ms: u64,
    },
    /// The snapshot's index file was there already and reads back whole.
    Present {
        /// Its path relative to the warehouse.
        file: String,
    },
    /// The snapshot has no spot checks: it has no index.
    NoSpotChecks,
}

impl Indexes {
    /// The index of a snapshot: read from its index file when there is one of this server's
    /// format, else built from the spot-check rows (and the reason logged).
    pub async fn build(view: &SnapshotView) -> Result<Arc<Self>> {
        let started = std::time::Instant::now();
        let has_spot_checks = view.tables().iter().any(|t| t == "spot_checks");
        let key = zhijian_catalog::layout::index_key(&view.manifest);
        let file = key
            .as_deref()
            .map(|k| zhijian_catalog::layout::index_rel(k, index::stored::VERSION));
        // Reading (or building from) a few million values is CPU and file work: off the
        // async workers.
        let files = view.spot_files.clone();
        let warehouse = view.warehouse.clone();
        // The rows are opened once: by the file's reader, or (no file, or a refused one) for
        // the build.
        let read = tokio::task::spawn_blocking(move || -> Result<_> {
            let open = || crate::spot_rows::SpotRows::open(&files);
            let (Some(file), Some(key)) = (file, key) else {
                return Ok(Err((open()?, "the snapshot has no spot checks".to_owned())));
            };
            let path = warehouse.join(&file);
            if !path.exists() {
                return Ok(Err((open()?, absent_reason(&warehouse, &key))));
            }
            match index::stored::read(&path, &key, open()?) {
                Ok((search, recent)) => Ok(Ok((search, recent, file))),
                Err(e) => Ok(Err((open()?, format!("index file refused: {e}")))),
            }
        })
        .await
        .map_err(|e| QueryError::Output(format!("reading the search index failed: {e}")))?;
        let (rows, reason) = match read? {
            Ok((search, recent, file)) => {
                let built = Self {
                    search,
                    recent,
                    build_ms: started.elapsed().as_millis() as u64,
                    origin: IndexOrigin::File { file },
                };
                built.log(view);
                return Ok(Arc::new(built));
            }
            Err(rows_reason) => rows_reason,
        };
        tracing::info!(snapshot = %view.id, reason = reason.as_str(), "building the search index");
        let search = tokio::task::spawn_blocking(move || SearchIndex::build(rows))
            .await
            .map_err(|e| QueryError::Output(format!("building the search index failed: {e}")))?;
        // After the build, not beside it (their peaks would add up), and only over the days
        // the index says can be among the latest (an aggregate over every row held 185 MB
        // at 5M rows).
        let recent = if has_spot_checks {
            let since = search
                .as_ref()
                .ok()
                .and_then(|s| s.recent_days(RECENT))
                .and_then(datafusion::arrow::temporal_conversions::date32_to_datetime)
                .map(|d| format!(" AND announced_on >= DATE '{}'", d.date()))
                .unwrap_or_default();
            crate::api::collect_json(
                view.ctx
                    .sql(&format!(
                        "SELECT announced_on, authority, product, count(*) AS batches, \
                         sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails FROM spot_checks \
                         WHERE announced_on IS NOT NULL{since} GROUP BY announced_on, authority, product \
                         ORDER BY announced_on DESC, authority, product LIMIT {RECENT}"
                    ))
                    .await?,
            )
            .await
        } else {
            Ok(Vec::new())
        };
        let built = Self {
            search: search?,
            recent: recent?,
            build_ms: started.elapsed().as_millis() as u64,
            origin: IndexOrigin::Built { reason },
        };
        built.log(view);
        Ok(Arc::new(built))
    }

    fn log(&self, view: &SnapshotView) {
        tracing::info!(
            snapshot = %view.id,
            values = self.search.len(),
            enterprises = self.search.enterprise_count(),
            ms = self.build_ms,
            origin = ?self.origin,
            bytes = ?self.search.memory(),
            row_stores = ?self.search.spot_rows().stores(),
            "search index ready"
        );
    }
}

/// Why a snapshot's index file of this server's format is not there: none at all, or only
/// one of another format.
fn absent_reason(warehouse: &std::path::Path, key: &str) -> String {
    let dir = warehouse.join(zhijian_catalog::layout::INDEX_DIR);
    let mut others: Vec<u32> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let rel = format!(
                "{}/{}",
                zhijian_catalog::layout::INDEX_DIR,
                e.file_name().to_string_lossy()
            );
            zhijian_catalog::layout::index_of_rel(&rel)
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v)
        })
        .collect();
    others.sort_unstable();
    if others.is_empty() {
        "no index file (write one with `zhijian index`)".to_owned()
    } else {
        format!(
            "only an index file of format {others:?}; this server reads format {}",
            index::stored::VERSION
        )
    }
}

/// Writes the index file of a snapshot, unless one of this server's format is there and
/// reads back whole: what `zhijian index` and the ingester (before it moves `CURRENT`) call,
/// so that servers read the index instead of each building it.
pub async fn write_index(view: &SnapshotView) -> Result<IndexWrite> {
    let Some(key) = zhijian_catalog::layout::index_key(&view.manifest) else {
        return Ok(IndexWrite::NoSpotChecks);
    };
    let started = std::time::Instant::now();
    let indexes = view.indexes().await?;
    let file = zhijian_catalog::layout::index_rel(&key, index::stored::VERSION);
    if let IndexOrigin::File { file } = &indexes.origin {
        return Ok(IndexWrite::Present { file: file.clone() });
    }
    let path = view.warehouse.join(&file);
    let bytes = tokio::task::spawn_blocking(move || {
        index::stored::write(&path, &key, &indexes.search, &indexes.recent)
    })
    .await
    .map_err(|e| QueryError::Output(format!("writing the search index failed: {e}")))??;
    Ok(IndexWrite::Written {
        file,
        bytes,
        ms: started.elapsed().as_millis() as u64,
    })
}
