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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use serde_json::{Map, Value, json};

use crate::api::{RowsRequest, batch_to_json, json_rows, wilson};
use crate::error::{QueryError, Result};
use crate::filter::{bad, string_lit};
use crate::text::fold;
use crate::warehouse::SnapshotView;

mod index;

use index::FACETS;
pub use index::SearchIndex;

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

/// What people call a product, and the words of the official product names it means
/// (folded): 童装 is published as 儿童及婴幼儿服装, 热水壶 as 电热水壶.
pub(crate) const ALIASES: &[(&str, &[&str])] = &[
    ("童装", &["儿童服装", "婴幼儿服装", "儿童及婴幼儿服装"]),
    ("童鞋", &["儿童鞋", "童鞋"]),
    ("热水壶", &["电水壶", "电热水壶"]),
    ("热水器", &["电热水器", "燃气热水器"]),
    ("电饭煲", &["电饭锅"]),
    ("电磁炉", &["电磁灶"]),
    ("充电宝", &["移动电源"]),
    ("充电器", &["电源适配器"]),
    ("插排", &["转换器", "插座"]),
    ("插线板", &["转换器"]),
    ("马桶", &["坐便器"]),
    ("瓷砖", &["陶瓷砖"]),
    ("化肥", &["肥料", "磷肥"]),
    ("电动车", &["电动自行车"]),
    ("暖风机", &["室内加热器"]),
    ("取暖器", &["室内加热器", "电暖器"]),
    ("床垫", &["软床垫"]),
    ("油烟机", &["吸油烟机"]),
    ("纸巾", &["卫生纸", "纸巾纸"]),
    ("尿不湿", &["纸尿裤"]),
];

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
    /// Rank score (higher first).
    pub score: f64,
    /// Batches with this value.
    pub batches: u64,
}

impl SearchIndex {
    /// Every value matching `q` (already folded), best first.
    pub fn find(&self, q: &str) -> Vec<Hit> {
        let mut hits: Vec<(u32, MatchKind, f64)> = self
            .matches(q, &SearchField::ALL)
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

/// The rows condition of hits and their rank expression: tiers by (kind, field), best first.
fn conditions(hits: &[Hit]) -> (String, String, Vec<(MatchKind, SearchField)>) {
    let mut tiers: BTreeMap<(MatchKind, SearchField), Vec<&str>> = BTreeMap::new();
    for h in hits {
        tiers.entry((h.kind, h.field)).or_default().push(&h.value);
    }
    // Tier order: by the best score in the tier.
    let mut order: Vec<((MatchKind, SearchField), f64)> = tiers
        .keys()
        .map(|k| (*k, k.0.base() * k.1.weight()))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut any = Vec::new();
    let mut rank = String::from("CASE");
    for (i, (key, _)) in order.iter().enumerate() {
        let cond = values_condition(key.1, &tiers[key]);
        rank.push_str(&format!(" WHEN {cond} THEN {i}"));
        any.push(cond);
    }
    rank.push_str(&format!(" ELSE {} END", order.len()));
    (
        format!("({})", any.join(" OR ")),
        rank,
        order.into_iter().map(|(k, _)| k).collect(),
    )
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

/// Tiers of a search, best first: one per (how it matched, field), by base score.
fn tier_order(
    keys: impl Iterator<Item = (MatchKind, SearchField)>,
) -> Vec<(MatchKind, SearchField)> {
    let mut order: Vec<(MatchKind, SearchField)> = keys.collect();
    order.sort();
    order.dedup();
    order.sort_by(|a, b| {
        (b.0.base() * b.1.weight())
            .total_cmp(&(a.0.base() * a.1.weight()))
            .then(a.cmp(b))
    });
    order
}

/// A search: the folded query, the matched values, and one page of the rows they select
/// (with the rows grammar's filters), with the count and facets.
///
/// Count, facets, equality filters on the facet fields and the order come from the index in
/// memory, and only the page's rows are read (by position) from the Parquet files; any other
/// filter of the rows grammar runs as SQL over the best [`MAX_VALUES`] values.
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
) -> Result<Value> {
    let folded = fold(q);
    if folded.is_empty() {
        return Err(bad(
            "q",
            q,
            "give a word to search for (a product, company, brand, model, failed item or agency; 汉字, pinyin or initials)",
            Vec::new(),
        ));
    }
    let hits = index.find(&folded);
    let matched_values = hits.len();
    let matches: Vec<Value> = hits
        .iter()
        .take(20)
        .map(|h| {
            json!({"field": h.field.name(), "value": h.value, "match": h.kind.name(), "batches": h.batches})
        })
        .collect();
    let mut out = json!({
        "q": q,
        "folded": folded,
        "snapshot": view.id,
        "matches": matches,
        "matched_values": matched_values,
    });
    let fields: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => RESULT_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
    };
    if hits.is_empty() {
        out["values_used"] = json!(0);
        out["values_truncated"] = json!(false);
        out["count"] = json!(0);
        out["offset"] = json!(offset);
        out["limit"] = json!(limit);
        out["rows"] = json!([]);
        out["facets"] = json!({});
        return Ok(out);
    }
    match memory_filters(params) {
        Some(filters) => {
            out["values_used"] = json!(matched_values);
            out["values_truncated"] = json!(false);
            let (count, rows, facets) = in_memory(index, &hits, &filters, &fields, limit, offset)?;
            out["count"] = json!(count);
            out["offset"] = json!(offset);
            out["limit"] = json!(limit);
            out["rows"] = Value::Array(rows.into_iter().map(Value::Object).collect());
            out["facets"] = Value::Object(facets);
            Ok(out)
        }
        None => {
            let used: Vec<Hit> = hits.into_iter().take(MAX_VALUES).collect();
            out["values_used"] = json!(used.len());
            out["values_truncated"] = json!(matched_values > used.len());
            by_sql(view, catalog, &used, req, &fields, limit, offset, &mut out).await?;
            Ok(out)
        }
    }
}

type Found = (usize, Vec<Map<String, Value>>, Map<String, Value>);

/// Count, page and facets of a search from the index.
fn in_memory(
    index: &SearchIndex,
    hits: &[Hit],
    filters: &[(usize, &str)],
    fields: &[String],
    limit: usize,
    offset: usize,
) -> Result<Found> {
    let tiers = tier_order(hits.iter().map(|h| (h.kind, h.field)));
    let tier_of = |h: &Hit| {
        tiers
            .iter()
            .position(|t| *t == (h.kind, h.field))
            .unwrap_or(tiers.len()) as u8
    };
    // The matched rows, each with its best tier, in position order.
    let n = index.rows() as usize;
    let total: usize = hits.iter().map(|h| index.postings(h.entry).len()).sum();
    let mut matched: Vec<(u32, u8)> = if total > n / 8 {
        let mut best = vec![u8::MAX; n];
        for h in hits {
            let t = tier_of(h);
            for &p in index.postings(h.entry) {
                let slot = &mut best[p as usize];
                *slot = (*slot).min(t);
            }
        }
        best.iter()
            .enumerate()
            .filter(|(_, t)| **t != u8::MAX)
            .map(|(p, t)| (p as u32, *t))
            .collect()
    } else {
        let mut pairs = Vec::with_capacity(total);
        for h in hits {
            let t = tier_of(h);
            pairs.extend(index.postings(h.entry).iter().map(|&p| (p, t)));
        }
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        pairs
    };
    let mut wanted = Vec::with_capacity(filters.len());
    for (slot, text) in filters {
        match index.facets[*slot].code_of(text) {
            Some(code) => wanted.push((*slot, code)),
            None => matched.clear(),
        }
    }
    if !wanted.is_empty() {
        matched.retain(|(p, _)| {
            wanted
                .iter()
                .all(|(slot, code)| index.facets[*slot].at(*p as usize) == *code)
        });
    }
    let count = matched.len();
    let mut facets = Map::new();
    for (slot, name) in SEARCH_FACETS.iter().enumerate().take(FACETS) {
        let column = &index.facets[slot];
        let mut counts = vec![0u64; column.values.len() + 1];
        for (p, _) in &matched {
            let c = column.at(*p as usize);
            counts[(c as usize).min(column.values.len())] += 1;
        }
        facets.insert(
            (*name).to_owned(),
            facet_json(name, &column.values, &counts, FACET_SIZE),
        );
    }
    // Best tier first, then newest, then the files' order.
    let order = |a: &(u32, u8), b: &(u32, u8)| {
        a.1.cmp(&b.1)
            .then(index.announced(b.0).cmp(&index.announced(a.0)))
            .then(a.0.cmp(&b.0))
    };
    let end = (offset + limit).min(matched.len());
    if end < matched.len() && end > 0 {
        matched.select_nth_unstable_by(end, order);
        matched.truncate(end);
    }
    matched.sort_by(order);
    let page: Vec<(u32, u8)> = matched.get(offset..end).unwrap_or_default().to_vec();
    let positions: Vec<u32> = page.iter().map(|p| p.0).collect();
    let columns: Vec<&str> = fields.iter().map(String::as_str).collect();
    let mut rows = match index.rows.fetch(&positions, &columns)? {
        Some(batch) => batch_to_json(&batch)?,
        None => Vec::new(),
    };
    for (row, (_, t)) in rows.iter_mut().zip(&page) {
        if let Some((kind, field)) = tiers.get(*t as usize) {
            row.insert(
                "_matched".into(),
                json!({"field": field.name(), "match": kind.name()}),
            );
        }
    }
    Ok((count, rows, facets))
}

/// A facet as `api::facet` answers it, from counts per code (the last count: no value).
fn facet_json(name: &str, values: &[Value], counts: &[u64], size: usize) -> Value {
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
) -> Value {
    let shown_rows: u64 = shown.iter().map(|v| v.1).sum();
    json!({
        "field": name,
        "interval": null,
        "values": shown.into_iter().map(|(value, count)| json!({"value": value, "count": count})).collect::<Vec<_>>(),
        "distinct_values": distinct,
        "total": total,
        "other": total - shown_rows,
        "truncated": distinct > size,
    })
}

/// Which codes of one facet column a filter lets through (the last slot: no value).
fn allowed(column: &index::Codes, op: &str, text: &str) -> Option<Vec<bool>> {
    let values = &column.values;
    let number = |v: &Value| v.as_f64();
    let target = text.trim().parse::<f64>().ok();
    let test = |v: &Value| -> Option<bool> {
        Some(match op {
            "eq" => index::Codes::matches(v, text),
            "ne" => !index::Codes::matches(v, text),
            "in" => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .any(|t| index::Codes::matches(v, t)),
            "lt" | "lte" | "gt" | "gte" => {
                let (a, b) = (number(v)?, target?);
                match op {
                    "lt" => a < b,
                    "lte" => a <= b,
                    "gt" => a > b,
                    _ => a >= b,
                }
            }
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(values.len() + 1);
    for v in values {
        // A comparison with a value that is not a number is SQL's to judge.
        if matches!(op, "lt" | "lte" | "gt" | "gte") && (number(v).is_none() || target.is_none()) {
            return None;
        }
        out.push(test(v)?);
    }
    // No value never passes a comparison (SQL's NULL).
    out.push(false);
    Some(out)
}

/// The positions a selection passes (statically dispatched: facets and stats walk millions).
enum Positions<'s, 'a> {
    Range(std::ops::Range<u32>, &'s Selection<'a>),
    Rows(std::slice::Iter<'s, u32>, &'s Selection<'a>),
}

impl Iterator for Positions<'_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            Self::Range(r, sel) => r.find(|&p| sel.passes(p)),
            Self::Rows(rows, sel) => rows.find(|&&p| sel.passes(p)).copied(),
        }
    }
}

/// The positions in both sorted lists.
fn sorted_intersection(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Positions from which a statistics count runs on two threads (a thread costs tens of
/// microseconds; 8,192 rows take ~150).
const PARALLEL_FROM: usize = 8192;

/// Positions in an order the index knows: a resource's file (its default order), or the
/// files merged in the `spot_checks` view's default order.
enum Sequence<'a> {
    Range(std::ops::Range<u32>),
    Order(&'a [u32]),
}

impl Sequence<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Range(r) => r.len(),
            Self::Order(o) => o.len(),
        }
    }

    fn get(&self, i: usize) -> u32 {
        match self {
            Self::Range(r) => r.start + i as u32,
            Self::Order(o) => o[i],
        }
    }

    /// The first index whose position does not satisfy `pred` (which must hold for a prefix).
    fn partition_point(&self, pred: impl Fn(u32) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.get(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Rows of a table under filters, as the index can tell them apart.
struct Selection<'a> {
    range: std::ops::Range<u32>,
    tests: Vec<(&'a index::Codes, Vec<bool>)>,
    /// The rows some filters narrow to, when any does (a product named, a text filter): their
    /// positions in order (what the selection walks), and the same as bits (what it tests).
    within: Option<(Vec<u32>, Vec<u64>)>,
}

impl Selection<'_> {
    fn passes(&self, p: u32) -> bool {
        self.range.contains(&p)
            && self
                .within
                .as_ref()
                .is_none_or(|(_, bits)| bits[p as usize / 64] & (1 << (p % 64)) != 0)
            && self.tests.iter().all(|(column, ok)| {
                let c = column.at(p as usize) as usize;
                ok[c.min(ok.len() - 1)]
            })
    }

    /// The positions that pass, in order: the narrowed rows when a filter narrowed them, else
    /// the whole range.
    fn positions(&self) -> Positions<'_, '_> {
        match &self.within {
            Some((rows, _)) => Positions::Rows(rows.iter(), self),
            None => Positions::Range(self.range.clone(), self),
        }
    }

    /// How many positions [`Self::positions`] walks (tests every one of them).
    fn walks(&self) -> usize {
        match &self.within {
            Some((rows, _)) => rows.len(),
            None => self.range.len(),
        }
    }

    /// The positions that pass, as up to `parts` walks one after another (each a part of
    /// what [`Self::positions`] walks).
    fn positions_in(&self, parts: usize) -> Vec<Positions<'_, '_>> {
        let step = self.walks().div_ceil(parts.max(1)).max(1);
        match &self.within {
            Some((rows, _)) => rows
                .chunks(step)
                .map(|part| Positions::Rows(part.iter(), self))
                .collect(),
            None => self
                .range
                .clone()
                .step_by(step)
                .map(|start| {
                    let end = start.saturating_add(step as u32).min(self.range.end);
                    Positions::Range(start..end, self)
                })
                .collect(),
        }
    }

    /// How many rows pass: one tight loop over the code slices of the range.
    fn count(&self) -> u64 {
        let (start, end) = (self.range.start as usize, self.range.end as usize);
        if self.within.is_some() {
            return self.positions().count() as u64;
        }
        match self.tests.as_slice() {
            [] => (end - start) as u64,
            [(column, ok)] => column.codes.count(start..end, ok),
            _ => self.positions().count() as u64,
        }
    }
}

impl SearchIndex {
    /// The rows of `table` under `filters` (field, operator, value), when the index holds
    /// them: equality, inequality and lists on product, province, year, result and scope;
    /// comparisons on year.
    fn select<'a>(
        &'a self,
        table: &str,
        filters: &[(String, String, String)],
    ) -> Option<Selection<'a>> {
        let range = self.rows.range_of(table)?;
        let mut tests = Vec::with_capacity(filters.len());
        let mut within: Option<Vec<u32>> = None;
        let mut narrow = |rows: Vec<u32>| {
            within = Some(match within.take() {
                None => rows,
                Some(had) => sorted_intersection(&had, &rows),
            });
        };
        for (field, op, value) in filters {
            if op == "contains" {
                // Text held in the index's values (lists apart: SQL joins their items).
                let searched = SearchField::ALL
                    .into_iter()
                    .find(|f| f.column() == field && *f != SearchField::FailedItem)?;
                let entries = self.containing(searched, value)?;
                narrow(self.rows_of(&entries));
                continue;
            }
            let column = self.column(field)?;
            if field == "product" && matches!(op.as_str(), "eq" | "in") {
                // A product's rows are its postings: walk those, not every row.
                let base = self.entries_of(SearchField::Product).start;
                let texts: Vec<&str> = if op == "eq" {
                    vec![value.as_str()]
                } else {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .collect()
                };
                let entries: Vec<u32> = texts
                    .iter()
                    .filter_map(|t| column.code_of(t))
                    .map(|c| base + c)
                    .collect();
                narrow(self.rows_of(&entries));
            }
            tests.push((column, allowed(column, op, value)?));
        }
        let within = within.map(|rows| {
            let mut bits = vec![0u64; (self.rows() as usize).div_ceil(64)];
            for &p in &rows {
                bits[p as usize / 64] |= 1 << (p % 64);
            }
            (rows, bits)
        });
        Some(Selection {
            range,
            tests,
            within,
        })
    }

    /// The positions of the rows holding any of `entries`, in order, each once.
    fn rows_of(&self, entries: &[u32]) -> Vec<u32> {
        let mut rows: Vec<u32> = entries
            .iter()
            .flat_map(|&e| self.postings(e).iter().copied())
            .collect();
        if entries.len() > 1 {
            rows.sort_unstable();
            rows.dedup();
        }
        rows
    }

    fn column(&self, field: &str) -> Option<&index::Codes> {
        match SEARCH_FACETS.iter().position(|f| *f == field) {
            Some(slot) => Some(&self.facets[slot]),
            None => (field == "publication_scope").then_some(&self.scope),
        }
    }

    /// The count of a spot-check table's rows under `filters`, if the index holds them.
    pub fn count(&self, table: &str, filters: &[(String, String, String)]) -> Option<u64> {
        Some(self.select(table, filters)?.count())
    }

    /// A facet of a spot-check table, as `api::facet` answers it: by product, province, year,
    /// result or scope from the row codes, by producer, brand, model or agency from the
    /// postings; `None` when the table, field or a filter is outside the index.
    pub fn facet(
        &self,
        table: &str,
        field: &str,
        filters: &[(String, String, String)],
        size: usize,
    ) -> Option<Value> {
        let sel = self.select(table, filters)?;
        let size = size.max(1);
        if let Some(column) = self.column(field) {
            let mut counts = vec![0u64; column.values.len() + 1];
            if sel.tests.is_empty() && sel.within.is_none() {
                // Every row of the range: one tight loop over the code slice.
                let range = sel.range.start as usize..sel.range.end as usize;
                column.codes.tally(range, &mut counts);
            } else {
                for p in sel.positions() {
                    counts[(column.at(p as usize) as usize).min(column.values.len())] += 1;
                }
            }
            return Some(facet_json(field, &column.values, &counts, size));
        }
        let searched = SearchField::ALL
            .into_iter()
            .find(|f| f.column() == field && *f != SearchField::FailedItem)?;
        let whole = sel.tests.is_empty() && sel.within.is_none() && sel.range == (0..self.rows());
        let mut counts: Vec<(u32, u64)> = self
            .entries_of(searched)
            .filter_map(|e| {
                let post = self.postings(e);
                let n = if whole {
                    post.len() as u64
                } else {
                    post.iter().filter(|&&p| sel.passes(p)).count() as u64
                };
                (n > 0).then_some((e, n))
            })
            .collect();
        let rows = sel.count();
        let named: u64 = counts.iter().map(|c| c.1).sum();
        let nulls = rows - named.min(rows);
        let distinct = counts.len() + usize::from(nulls > 0);
        // The top `size` by count (ties by value): first the count of the last one kept.
        if counts.len() > size {
            let mut by_count: Vec<u64> = counts.iter().map(|c| c.1).collect();
            by_count.select_nth_unstable_by(size - 1, |a, b| b.cmp(a));
            let least = by_count[size - 1];
            counts.retain(|c| c.1 >= least);
        }
        counts.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.value(a.0).cmp(self.value(b.0)))
        });
        counts.truncate(size);
        let mut list: Vec<(Value, u64)> = counts
            .into_iter()
            .map(|(e, n)| (json!(self.value(e)), n))
            .collect();
        if nulls > 0 {
            list.push((Value::Null, nulls));
            list.sort_by(facet_order);
            list.truncate(size);
        }
        Some(facet_answer(field, list, distinct, rows, size))
    }

    /// The positions of the first `want` rows of a spot-check table under `filters` (after
    /// the cursor's sort values `after`, if given), in the order of `sort` ((field,
    /// descending), `record_id` last), when the index can order them: the default order (one
    /// resource's file order, or the files merged for `spot_checks`), or by announcement date
    /// then record id (the record ids of the rows near the cut are read by position). `None`
    /// when it cannot.
    pub fn page_positions(
        &self,
        table: &str,
        filters: &[(String, String, String)],
        sort: &[(String, bool)],
        after: Option<&[Value]>,
        want: usize,
    ) -> Result<Option<Vec<u32>>> {
        let Some(sel) = self.select(table, filters) else {
            return Ok(None);
        };
        let keys: Vec<(&str, bool)> = sort.iter().map(|(f, d)| (f.as_str(), *d)).collect();
        let default = zhijian_catalog::sort_order(zhijian_catalog::SPOT_CHECK_SCHEMA, &[]);
        let default_order = keys.len() == default.len()
            && keys.iter().zip(&default).all(|((f, d), o)| f == o && !d);
        if default_order {
            let Some(seq) = self.default_sequence(table) else {
                return Ok(None);
            };
            let Some(start) = self.start(&seq, after)? else {
                return Ok(None);
            };
            return Ok(Some(
                (start..seq.len())
                    .map(|i| seq.get(i))
                    .filter(|&p| sel.passes(p))
                    .take(want)
                    .collect(),
            ));
        }
        if after.is_some() {
            return Ok(None);
        }
        let desc = match keys.as_slice() {
            [("announced_on", desc), ("record_id", false)] => *desc,
            _ => return Ok(None),
        };
        // Dates in sort order: descending puts unknown (i32::MIN) last, ascending first, as
        // the SQL order does.
        let key = |p: u32| {
            let d = i64::from(self.announced(p));
            if desc { -d } else { d }
        };
        let mut rows: Vec<(i64, u32)> = sel.positions().map(|p| (key(p), p)).collect();
        if rows.len() > want && want > 0 {
            rows.select_nth_unstable(want - 1);
            let cut = rows[want - 1].0;
            rows.retain(|r| r.0 <= cut);
        }
        // Within a date, by record id: read the ids of the rows kept (a few pages).
        const MAX_TIES: usize = 20_000;
        if rows.len() > MAX_TIES {
            return Ok(None);
        }
        let positions: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let ids: Vec<Option<String>> = match self.rows.fetch(&positions, &["record_id"])? {
            Some(batch) => {
                let ids = datafusion::arrow::compute::cast(
                    batch.column(0),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )
                .map_err(|e| QueryError::Output(e.to_string()))?;
                let ids = datafusion::arrow::array::AsArray::as_string::<i32>(&ids);
                (0..datafusion::arrow::array::Array::len(ids))
                    .map(|i| {
                        datafusion::arrow::array::Array::is_valid(ids, i)
                            .then(|| ids.value(i).to_owned())
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        if ids.len() != rows.len() {
            return Ok(None);
        }
        let mut keyed: Vec<(i64, Option<String>, u32)> = rows
            .into_iter()
            .zip(ids)
            .map(|((k, p), id)| (k, id, p))
            .collect();
        keyed.sort();
        Ok(Some(keyed.into_iter().take(want).map(|k| k.2).collect()))
    }

    /// A table's rows in its default order: a resource's file, or all of them merged.
    fn default_sequence(&self, table: &str) -> Option<Sequence<'_>> {
        if table == zhijian_catalog::SPOT_CHECK_SCHEMA {
            (self.order.len() == self.rows() as usize).then_some(Sequence::Order(&self.order))
        } else {
            self.rows.range_of(table).map(Sequence::Range)
        }
    }

    /// Whether [`Self::read_default_order`] can read a table under these filters.
    pub fn reads_default_order(&self, table: &str, filters: &[(String, String, String)]) -> bool {
        self.select(table, filters).is_some() && self.default_sequence(table).is_some()
    }

    /// Reads the whole result of a spot-check table under `filters` in its default order
    /// (after a cursor's sort values, if given; at most `limit` rows), `columns` only, up to
    /// `batch_rows` at a time, calling `each` until it returns `false` (see
    /// [`crate::spot_rows::SpotRows::read_ordered`]): the files' rows read by position in the merged order, no
    /// query planned and no sort. `Ok(false)` when the index cannot (see
    /// [`Self::reads_default_order`]).
    #[allow(clippy::too_many_arguments)]
    pub fn read_default_order<T: crate::spot_rows::Decoded>(
        &self,
        table: &str,
        filters: &[(String, String, String)],
        after: Option<&[Value]>,
        limit: Option<usize>,
        columns: &[&str],
        text: crate::spot_rows::Text,
        batch_rows: usize,
        prepare: &(dyn Fn(RecordBatch) -> Result<T> + Sync),
        each: impl FnMut(&[T], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<bool> {
        let (Some(sel), Some(seq)) = (self.select(table, filters), self.default_sequence(table))
        else {
            return Ok(false);
        };
        let Some(start) = self.start(&seq, after)? else {
            return Ok(false);
        };
        // The rows read, as bits: tested for every row of the row groups read, and every
        // position of the order.
        let mut selected = crate::spot_rows::RowSet::new(self.rows.len());
        for p in sel.positions() {
            selected.insert(p);
        }
        if start > 0 {
            // Each file's rows before its first position after the cursor are not read: its
            // positions rise along the order.
            let mut lower: Vec<Option<u32>> = vec![None; self.rows.file_count()];
            let mut unseen = lower.len();
            for i in start..seq.len() {
                if unseen == 0 {
                    break;
                }
                let p = seq.get(i);
                let slot = &mut lower[self.rows.file_of(p)];
                if slot.is_none() {
                    *slot = Some(p);
                    unseen -= 1;
                }
            }
            for (range, lower) in self.rows.ranges().zip(lower) {
                selected.remove(range.start..lower.unwrap_or(range.end));
            }
        }
        let order = (start..seq.len())
            .map(|i| seq.get(i))
            .filter(|&p| selected.contains(p))
            .take(limit.unwrap_or(usize::MAX));
        self.rows
            .read_ordered(&selected, order, columns, text, batch_rows, prepare, each)?;
        Ok(true)
    }

    /// Where a walk of `seq` starts: after the cursor's sort values, if given (`None` when
    /// they do not fit the default order).
    fn start(&self, seq: &Sequence<'_>, after: Option<&[Value]>) -> Result<Option<usize>> {
        match after {
            Some(values) => self.start_after(seq, values),
            None => Ok(Some(0)),
        }
    }

    /// Where the rows after a keyset cursor's values (product, plan_year, enterprise,
    /// record_id) start in a sequence in the default order: found by product and year from
    /// memory, then among the rows equal on those by enterprise and record id read by
    /// position (a few probes). `None` when the values are not four.
    fn start_after(&self, seq: &Sequence<'_>, values: &[Value]) -> Result<Option<usize>> {
        let [product, year, enterprise, record_id] = values else {
            return Ok(None);
        };
        let code_value = |column: &index::Codes, p: u32| -> Value {
            column
                .values
                .get(column.at(p as usize) as usize)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let head = |p: u32| {
            ascending_nulls_first(&code_value(&self.facets[0], p), product)
                .then_with(|| ascending_nulls_first(&code_value(&self.facets[2], p), year))
        };
        let lo = seq.partition_point(|p| head(p).is_lt());
        let mut hi = seq.partition_point(|p| head(p).is_le());
        let mut lo = lo;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let p = seq.get(mid);
            let Some(row) = self
                .rows
                .fetch(&[p], &["enterprise", "record_id"])?
                .map(|b| batch_to_json(&b))
                .transpose()?
                .and_then(|rows| rows.into_iter().next())
            else {
                return Ok(None);
            };
            let get = |f: &str| row.get(f).cloned().unwrap_or(Value::Null);
            let at_or_before = ascending_nulls_first(&get("enterprise"), enterprise)
                .then_with(|| ascending_nulls_first(&get("record_id"), record_id))
                .is_le();
            if at_or_before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(Some(lo))
    }

    /// Pass-rate sums of a spot-check table grouped by product, province or year (the rows
    /// `api::stats` reads from SQL: group values, batches, fails, fail_only_failures, rows),
    /// ordered by the group values; `None` when the index cannot tell the groups or filters.
    pub fn stats_rows(
        &self,
        table: &str,
        group_by: &[String],
        filters: &[(String, String, String)],
    ) -> Option<Vec<Map<String, Value>>> {
        let sel = self.select(table, filters)?;
        let columns: Vec<&index::Codes> = group_by
            .iter()
            .map(|g| {
                SEARCH_FACETS[..3]
                    .iter()
                    .position(|f| f == g)
                    .map(|slot| &self.facets[slot])
            })
            .collect::<Option<_>>()?;
        let result = &self.facets[3];
        let code = |column: &index::Codes, v: &str| column.code_of(v).unwrap_or(u32::MAX - 1);
        let (full, fail_only, fail) = (
            code(&self.scope, "full"),
            code(&self.scope, "fail_only"),
            code(result, "fail"),
        );
        // Group keys as fixed arrays (the three groupable columns at most): no allocation per
        // row.
        if columns.len() > 3 {
            return None;
        }
        // One slot per combination of codes (each column's codes and "no value"): a few
        // thousand slots for product × year × province, no hashing per row.
        let sizes: Vec<usize> = columns.iter().map(|c| c.values.len() + 1).collect();
        let slots = sizes.iter().try_fold(1usize, |n, s| n.checked_mul(*s))?;
        if slots > 1 << 22 {
            return None;
        }
        let tally = |positions: Positions<'_, '_>| {
            let mut dense = vec![[0u64; 4]; slots];
            for p in positions {
                let p = p as usize;
                let mut slot = 0usize;
                for (c, size) in columns.iter().zip(&sizes) {
                    slot = slot * size + (c.at(p) as usize).min(size - 1);
                }
                let s = &mut dense[slot];
                let (scope, failed) = (self.scope.at(p), result.at(p) == fail);
                s[0] += u64::from(scope == full);
                s[1] += u64::from(scope == full && failed);
                s[2] += u64::from(scope == fail_only && failed);
                s[3] += 1;
            }
            dense
        };
        // A large selection is counted in two halves on two threads (all rows of 5M: ~70 ms
        // on one), then summed.
        let parts = sel.positions_in(if sel.walks() >= PARALLEL_FROM { 2 } else { 1 });
        let dense = std::thread::scope(|scope| {
            let tally = &tally;
            let counted: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(move || tally(part)))
                .collect();
            let mut dense = vec![[0u64; 4]; slots];
            for part in counted {
                // A thread that panicked counted nothing: no answer rather than a wrong one.
                for (d, s) in dense.iter_mut().zip(part.join().ok()?) {
                    for (a, b) in d.iter_mut().zip(s) {
                        *a += b;
                    }
                }
            }
            Some(dense)
        })?;
        let mut sums: HashMap<[u32; 3], [u64; 4]> = HashMap::new();
        for (mut slot, s) in dense.into_iter().enumerate() {
            if s[3] == 0 {
                continue;
            }
            let mut key = [0u32; 3];
            for (k, size) in key.iter_mut().zip(&sizes).rev() {
                *k = (slot % size) as u32;
                slot /= size;
            }
            sums.insert(key, s);
        }
        let value = |column: &index::Codes, c: u32| {
            column
                .values
                .get(c as usize)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut rows: Vec<(Vec<Value>, [u64; 4])> = sums
            .into_iter()
            .map(|(key, s)| {
                (
                    key.iter()
                        .zip(&columns)
                        .map(|(c, col)| value(col, *c))
                        .collect(),
                    s,
                )
            })
            .collect();
        rows.sort_by(|a, b| {
            a.0.iter()
                .zip(&b.0)
                .map(|(x, y)| facet_order(&(x.clone(), 0), &(y.clone(), 0)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Some(
            rows.into_iter()
                .map(|(key, s)| {
                    let mut m = Map::new();
                    for (g, v) in group_by.iter().zip(key) {
                        m.insert(g.clone(), v);
                    }
                    m.insert("batches".into(), json!(s[0]));
                    m.insert("fails".into(), json!(s[1]));
                    m.insert("fail_only_failures".into(), json!(s[2]));
                    m.insert("rows".into(), json!(s[3]));
                    m
                })
                .collect(),
        )
    }
}

/// Values per facet of a search.
const FACET_SIZE: usize = 10;

/// The page, count and facets of a search by SQL: the values become `IN` lists.
#[allow(clippy::too_many_arguments)]
async fn by_sql(
    view: &SnapshotView,
    catalog: &zhijian_catalog::Catalog,
    used: &[Hit],
    req: &RowsRequest,
    fields: &[String],
    limit: usize,
    offset: usize,
    out: &mut Value,
) -> Result<()> {
    let (condition, rank, tiers) = conditions(used);
    let mut scoped = req.clone();
    scoped.conditions.push(condition);
    let select = fields
        .iter()
        .map(|f| crate::filter::ident(f))
        .collect::<Vec<_>>()
        .join(", ");
    let where_clause = format!(" WHERE {}", scoped.conditions.join(" AND "));
    let page_sql = format!(
        "SELECT {select}, {rank} AS _rank FROM spot_checks{where_clause} \
         ORDER BY _rank, announced_on DESC NULLS LAST, record_id LIMIT {limit} OFFSET {offset}"
    );
    let count_sql = format!("SELECT count(*) AS n FROM spot_checks{where_clause}");
    let page = async { json_rows(view.ctx.sql(&page_sql).await?).await };
    let count = async { json_rows(view.ctx.sql(&count_sql).await?).await };
    let facets = futures::future::join_all(SEARCH_FACETS.iter().map(|f| {
        let scoped = &scoped;
        async move {
            let spec = crate::api::FacetSpec {
                field: (*f).to_owned(),
                interval: None,
            };
            crate::api::facet(view, catalog, "spot_checks", scoped, &spec, FACET_SIZE)
                .await
                .map(|v| ((*f).to_owned(), v))
        }
    }));
    let (page, count, facets) = futures::join!(page, count, facets);
    let mut rows = page?;
    for row in &mut rows {
        let tier = row
            .remove("_rank")
            .and_then(|v| v.as_u64())
            .and_then(|t| tiers.get(t as usize).copied());
        if let Some((kind, field)) = tier {
            row.insert(
                "_matched".into(),
                json!({"field": field.name(), "match": kind.name()}),
            );
        }
    }
    let count = count?
        .first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mut facet_map = Map::new();
    for f in facets {
        let (name, v) = f?;
        facet_map.insert(name, v);
    }
    out["count"] = json!(count);
    out["offset"] = json!(offset);
    out["limit"] = json!(limit);
    out["rows"] = Value::Array(rows.into_iter().map(Value::Object).collect());
    out["facets"] = Value::Object(facet_map);
    Ok(())
}

/// A producer.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// Its key: the 统一社会信用代码, or the normalised name.
    pub key: String,
    /// The code, when rows carry one.
    pub uscc: Option<String>,
    /// The names it is published under, most batches first.
    pub names: Vec<(String, u64)>,
    /// Names whose rows carry no code (they join this entity by name).
    bare_names: Vec<String>,
    /// Batches.
    pub batches: u64,
    /// Failed batches.
    pub fails: u64,
    /// First and last plan year.
    pub years: (Option<i64>, Option<i64>),
}

fn is_uscc(text: &str) -> bool {
    text.len() == 18 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

impl SearchIndex {
    /// Producers.
    pub fn enterprise_count(&self) -> usize {
        self.entities.list.len()
    }

    fn enterprise_at(&self, i: usize) -> Enterprise {
        let e = &self.entities.list[i];
        let key = self.entity_key(i).to_owned();
        let mut names = Vec::new();
        let mut bare_names = Vec::new();
        for (name, n, bare) in self.entity_names(i) {
            names.push((name.to_owned(), n));
            if bare {
                bare_names.push(name.to_owned());
            }
        }
        Enterprise {
            uscc: e.coded().then(|| key.clone()),
            key,
            names,
            bare_names,
            batches: u64::from(e.batches),
            fails: u64::from(e.fails),
            years: e.span.years(),
        }
    }

    /// The producer with this key.
    pub fn enterprise(&self, key: &str) -> Option<Enterprise> {
        self.entity(key).map(|i| self.enterprise_at(i))
    }

    /// The key of the producer of a row: its code, or the producer its name (without a code)
    /// belongs to.
    pub fn enterprise_key_of(&self, name: &str, uscc: Option<&str>) -> Option<&str> {
        self.entity_of_row(name, uscc).map(|i| self.entity_key(i))
    }

    /// The keys of the `n` producers with the most batches.
    pub fn most_checked(&self, n: usize) -> Vec<&str> {
        let mut order: Vec<usize> = (0..self.entities.list.len()).collect();
        order.sort_by(|&a, &b| {
            self.entities.list[b]
                .batches
                .cmp(&self.entities.list[a].batches)
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(n)
            .map(|i| self.entity_key(i))
            .collect()
    }

    /// Producers whose names match `q` (or whose code is `q`), best first: how many, and the
    /// first `limit` of them.
    pub fn find_enterprises(&self, q: &str, limit: usize) -> (usize, Vec<(Enterprise, MatchKind)>) {
        let folded = fold(q);
        let code = folded.to_uppercase();
        if is_uscc(&code)
            && let Some(e) = self.enterprise(&code)
        {
            return (1, vec![(e, MatchKind::Exact)]);
        }
        let hits = self.matches(&folded, &[SearchField::Enterprise]);
        let mut found = self.entities_of(&hits);
        found.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(
                    self.entities.list[b.0]
                        .batches
                        .cmp(&self.entities.list[a.0].batches),
                )
                .then(a.0.cmp(&b.0))
        });
        let total = found.len();
        let list = found
            .into_iter()
            .take(limit)
            .map(|(i, kind)| (self.enterprise_at(i), kind))
            .collect();
        (total, list)
    }
}

impl Enterprise {
    /// The display name: the name with the most batches.
    pub fn name(&self) -> &str {
        self.names.first().map(|(n, _)| n.as_str()).unwrap_or("")
    }

    /// The SQL condition selecting its rows.
    pub fn condition(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.uscc {
            parts.push(format!("enterprise_uscc = {}", string_lit(u)));
        }
        if !self.bare_names.is_empty() {
            let list = self
                .bare_names
                .iter()
                .map(|n| string_lit(n))
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!(
                "(enterprise_uscc IS NULL AND enterprise IN ({list}))"
            ));
        }
        format!("({})", parts.join(" OR "))
    }

    /// Its summary in lists.
    pub fn summary(&self) -> Value {
        json!({
            "key": self.key,
            "name": self.name(),
            "names": self.names.iter().map(|(n, c)| json!({"name": n, "batches": c})).collect::<Vec<_>>(),
            "uscc": self.uscc,
            "batches": self.batches,
            "fails": self.fails,
            "first_year": self.years.0,
            "last_year": self.years.1,
        })
    }
}

type Parts = Result<Vec<Map<String, Value>>>;

/// The parts of a producer's history by SQL: totals, by year, provinces, check levels,
/// products, failed items, and the newest `history_limit + 1` rows.
async fn history_by_sql(
    view: &SnapshotView,
    cond: &str,
    history_limit: usize,
) -> (Parts, Parts, Parts, Parts, Parts, Parts, Parts) {
    let sums = "count(*) AS rows, \
        sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END) AS batches, \
        sum(CASE WHEN publication_scope = 'full' AND result = 'fail' THEN 1 ELSE 0 END) AS fails, \
        sum(CASE WHEN publication_scope = 'fail_only' AND result = 'fail' THEN 1 ELSE 0 END) AS fail_only_failures";
    let q = |sql: String| async move { json_rows(view.ctx.sql(&sql).await?).await };
    let fields = RESULT_FIELDS
        .iter()
        .map(|f| crate::filter::ident(f))
        .collect::<Vec<_>>()
        .join(", ");
    let (total, by_year, provinces, levels, products, items, history) = futures::join!(
        q(format!("SELECT {sums} FROM spot_checks WHERE {cond}")),
        q(format!(
            "SELECT plan_year, {sums} FROM spot_checks WHERE {cond} GROUP BY plan_year ORDER BY plan_year"
        )),
        q(format!(
            "SELECT enterprise_province AS value, count(*) AS count FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT check_level AS value, count(*) AS count FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT product AS value, count(*) AS count, sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT item AS value, count(*) AS count FROM (SELECT unnest(failed_items) AS item FROM spot_checks WHERE {cond}) GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT {fields} FROM spot_checks WHERE {cond} ORDER BY announced_on DESC NULLS LAST, record_id LIMIT {}",
            history_limit + 1
        )),
    );
    (total, by_year, provinces, levels, products, items, history)
}

/// Sums of the pass rate over rows: rows, batches (full scope), fails, fail-only failures.
fn rate_sums<'a>(rows: impl Iterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut s = [0u64; 4];
    for r in rows {
        let scope = r.get("publication_scope").and_then(Value::as_str);
        let failed = r.get("result").and_then(Value::as_str) == Some("fail");
        s[0] += 1;
        s[1] += u64::from(scope == Some("full"));
        s[2] += u64::from(scope == Some("full") && failed);
        s[3] += u64::from(scope == Some("fail_only") && failed);
    }
    let mut m = Map::new();
    for (k, v) in ["rows", "batches", "fails", "fail_only_failures"]
        .iter()
        .zip(s)
    {
        m.insert((*k).to_owned(), json!(v));
    }
    m
}

/// Counts of a value over rows, most first, then by value, unknown last: `{value, count}`.
fn counted(values: impl Iterator<Item = Value>) -> Vec<(Value, u64)> {
    let mut counts: Vec<(Value, u64)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for v in values {
        let k = v.to_string();
        match at.get(&k) {
            Some(&i) => counts[i].1 += 1,
            None => {
                at.insert(k, counts.len());
                counts.push((v, 1));
            }
        }
    }
    counts.sort_by(facet_order);
    counts
}

/// The parts of a producer's history from its rows (read by position): the same as
/// `history_by_sql` gives.
fn history_from_rows(
    mut rows: Vec<Map<String, Value>>,
    history_limit: usize,
) -> (Parts, Parts, Parts, Parts, Parts, Parts, Parts) {
    let get = |r: &Map<String, Value>, f: &str| r.get(f).cloned().unwrap_or(Value::Null);
    let total = vec![rate_sums(rows.iter())];
    let mut years: Vec<Value> = rows.iter().map(|r| get(r, "plan_year")).collect();
    years.sort_by_key(|y| (y.is_null(), y.as_i64()));
    years.dedup();
    let by_year = years
        .into_iter()
        .map(|y| {
            let mut m = rate_sums(rows.iter().filter(|r| get(r, "plan_year") == y));
            m.insert("plan_year".into(), y);
            m
        })
        .collect();
    let listed = |field: &str| -> Vec<Map<String, Value>> {
        counted(rows.iter().map(|r| get(r, field)))
            .into_iter()
            .map(|(value, count)| {
                let mut m = Map::new();
                m.insert("value".into(), value);
                m.insert("count".into(), json!(count));
                m
            })
            .collect()
    };
    let provinces = listed("enterprise_province");
    let levels = listed("check_level");
    let products = listed("product")
        .into_iter()
        .map(|mut m| {
            let fails = rows
                .iter()
                .filter(|r| get(r, "product") == m["value"] && get(r, "result") == "fail")
                .count();
            m.insert("fails".into(), json!(fails));
            m
        })
        .collect();
    let items = counted(
        rows.iter()
            .filter_map(|r| r.get("failed_items").and_then(Value::as_array))
            .flatten()
            .cloned(),
    )
    .into_iter()
    .map(|(value, count)| {
        let mut m = Map::new();
        m.insert("value".into(), value);
        m.insert("count".into(), json!(count));
        m
    })
    .collect();
    // Newest first (unknown dates last), then by record id.
    rows.sort_by(|a, b| {
        let date = |r: &Map<String, Value>| {
            r.get("announced_on")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match (date(a), date(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| {
            let id = |r: &Map<String, Value>| {
                r.get("record_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            id(a).cmp(&id(b))
        })
    });
    rows.truncate(history_limit + 1);
    (
        Ok(total),
        Ok(by_year),
        Ok(provinces),
        Ok(levels),
        Ok(products),
        Ok(items),
        Ok(rows),
    )
}

/// Everything about one producer: pass rate with its denominator, by year, where and how it
/// was checked, its failed items, and its history (newest first, up to `history_limit`).
pub async fn enterprise_history(
    view: &SnapshotView,
    e: &Enterprise,
    history_limit: usize,
) -> Result<Value> {
    let cond = e.condition();
    let from_index = match view.indexes_ready() {
        Some(indexes) => indexes.search.enterprise_rows(&e.key),
        None => None,
    };
    let (total, by_year, provinces, levels, products, items, history) = match from_index {
        Some(positions) => {
            let indexes = view.indexes_ready();
            let rows = match indexes
                .as_ref()
                .map(|i| i.search.spot_rows().fetch(&positions, RESULT_FIELDS))
            {
                Some(Ok(Some(batch))) => batch_to_json(&batch)?,
                Some(Err(e)) => return Err(e),
                _ => Vec::new(),
            };
            history_from_rows(rows, history_limit)
        }
        None => history_by_sql(view, &cond, history_limit).await,
    };
    let rate = |r: &Map<String, Value>| {
        let n = r.get("batches").and_then(Value::as_u64).unwrap_or(0);
        let fails = r.get("fails").and_then(Value::as_u64).unwrap_or(0);
        let passes = n - fails.min(n);
        json!({
            "batches": n,
            "fails": fails,
            "pass_rate": if n == 0 { Value::Null } else { json!(passes as f64 / n as f64) },
            "pass_rate_ci95": wilson(passes, n).map(|(lo, hi)| json!([lo, hi])).unwrap_or(Value::Null),
            "fail_only_failures": r.get("fail_only_failures").cloned().unwrap_or(json!(0)),
            "rows": r.get("rows").cloned().unwrap_or(json!(0)),
        })
    };
    let total = total?;
    let summary = total.first().map(&rate).unwrap_or(Value::Null);
    let by_year: Vec<Value> = by_year?
        .iter()
        .map(|r| {
            let mut v = rate(r);
            v["plan_year"] = r.get("plan_year").cloned().unwrap_or(Value::Null);
            v
        })
        .collect();
    let mut history = history?;
    let truncated = history.len() > history_limit;
    history.truncate(history_limit);
    let mut out = e.summary();
    out["snapshot"] = json!(view.id);
    out["pass_rate"] = summary;
    out["denominator"] = json!(
        "Pass rates count only batches published in full-scope files (every sampled batch, pass and fail); failures from fail-only lists are counted apart as fail_only_failures. 合格率只统计完整公布的文件；仅公布不合格批次的名单单独计数。"
    );
    out["by_year"] = Value::Array(by_year);
    out["provinces"] = Value::Array(provinces?.into_iter().map(Value::Object).collect());
    out["check_levels"] = Value::Array(levels?.into_iter().map(Value::Object).collect());
    out["products"] = Value::Array(products?.into_iter().map(Value::Object).collect());
    out["failed_items"] = Value::Array(items?.into_iter().map(Value::Object).collect());
    out["history"] = Value::Array(history.into_iter().map(Value::Object).collect());
    out["history_truncated"] = json!(truncated);
    out["sql"] = json!(format!(
        "SELECT * FROM spot_checks WHERE {cond} ORDER BY announced_on DESC NULLS LAST, record_id"
    ));
    Ok(out)
}

/// Latest announcements on the home page.
const RECENT: usize = 12;

/// The search index (with the producers) of a snapshot, built once.
#[derive(Debug, Default)]
pub struct Indexes {
    /// The search index and producers.
    pub search: SearchIndex,
    /// The latest announcements: (announced_on, authority, product, batches, fails), newest
    /// first, for the home page.
    pub recent: Vec<Map<String, Value>>,
    /// How long building took, in milliseconds.
    pub build_ms: u64,
}

impl Indexes {
    /// Builds both for a snapshot.
    pub async fn build(view: &SnapshotView) -> Result<Arc<Self>> {
        let started = std::time::Instant::now();
        let has_spot_checks = view.tables().iter().any(|t| t == "spot_checks");
        // Reading and packing a few million values is CPU and file work: off the async
        // workers.
        let files = view.spot_files.clone();
        let search = tokio::task::spawn_blocking(move || {
            crate::spot_rows::SpotRows::open(&files).and_then(SearchIndex::build)
        })
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
            json_rows(
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
        };
        tracing::info!(
            snapshot = %view.id,
            values = built.search.len(),
            enterprises = built.search.enterprise_count(),
            ms = built.build_ms,
            bytes = ?built.search.memory(),
            "search index built"
        );
        Ok(Arc::new(built))
    }
}
