//! The public search over spot checks, and producers as entities.
//!
//! Peers fail Chinese here: SQLite FTS, Postgres and Lucene defaults do not segment Chinese,
//! and trigram indexes miss two-character words. What the public types is a short name (电热,
//! 童装, 美的), a pinyin spelling (meidi), initials (md), a model number with a typo, in full- or
//! half-width, traditional or simplified. So the index is a dictionary of the distinct values
//! of the searched fields (product, enterprise, brand, model, failed items, testing agency),
//! each folded ([`crate::text::fold`]) and, for names, spelled in pinyin with initials; a
//! query is folded the same way and matched against every entry as a substring, so words of
//! any length match with no segmentation to get wrong. The matched values, ranked, become the
//! filter of the rows, the facets and the count. The dictionary is built once per snapshot
//! (snapshots are immutable) when it is first asked for.
//!
//! Producers ([`Enterprises`]) are one entity per 统一社会信用代码 when the rows carry one, and
//! per normalised name otherwise ([`crate::text::entity_name`]); rows without a code join the
//! entity of the only code their normalised name is seen with.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::api::{RowsRequest, json_rows, wilson};
use crate::error::{QueryError, Result};
use crate::filter::{bad, string_lit};
use crate::text::{Spellings, entity_name, fold, within};
use crate::warehouse::SnapshotView;

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
    const ALL: [Self; 6] = [
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
    fn spelled(self) -> bool {
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

/// One distinct value of a searched field.
#[derive(Debug, Clone)]
struct Entry {
    field: SearchField,
    value: String,
    folded: String,
    spellings: Spellings,
    batches: u64,
}

/// What people call a product, and the words of the official product names it means
/// (folded): 童装 is published as 儿童及婴幼儿服装, 热水壶 as 电热水壶.
const ALIASES: &[(&str, &[&str])] = &[
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

/// The search dictionary of one snapshot.
#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

/// Reads `(text, count)` pairs from a two-column result.
async fn pairs(ctx: &SessionContext, sql: &str) -> Result<Vec<(String, u64)>> {
    let mut stream = ctx.sql(sql).await?.execute_stream().await?;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let text = cast(batch.column(0), &DataType::Utf8)
            .map_err(|e| QueryError::Output(e.to_string()))?;
        let count = cast(batch.column(1), &DataType::Int64)
            .map_err(|e| QueryError::Output(e.to_string()))?;
        let (text, count) = (text.as_string::<i32>(), count.as_primitive::<Int64Type>());
        for i in 0..batch.num_rows() {
            if text.is_valid(i) && !text.value(i).trim().is_empty() {
                out.push((text.value(i).to_owned(), count.value(i).max(0) as u64));
            }
        }
    }
    Ok(out)
}

impl SearchIndex {
    /// Builds the dictionary from a snapshot's `spot_checks`.
    pub async fn build(view: &SnapshotView) -> Result<Self> {
        if !view.tables().iter().any(|t| t == "spot_checks") {
            return Ok(Self::default());
        }
        let queries = SearchField::ALL.map(|f| {
            let sql = match f {
                SearchField::FailedItem => "SELECT item, count(*) FROM (SELECT unnest(failed_items) AS item FROM spot_checks) GROUP BY item".to_owned(),
                other => format!(
                    "SELECT {c}, count(*) FROM spot_checks WHERE {c} IS NOT NULL GROUP BY {c}",
                    c = other.column()
                ),
            };
            async move { pairs(&view.ctx, &sql).await.map(|p| (f, p)) }
        });
        let fields = futures::future::join_all(queries)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        // Folding and spelling a few million values is CPU work: off the async workers.
        let build = move || {
            let mut entries = Vec::new();
            for (field, values) in fields {
                for (value, batches) in values {
                    let folded = fold(&value);
                    let spellings = if field.spelled() {
                        Spellings::of(&folded)
                    } else {
                        Spellings::default()
                    };
                    entries.push(Entry {
                        field,
                        value,
                        folded,
                        spellings,
                        batches,
                    });
                }
            }
            Self { entries }
        };
        tokio::task::spawn_blocking(build)
            .await
            .map_err(|e| QueryError::Output(format!("building the search index failed: {e}")))
    }

    /// Distinct values in the dictionary.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every value matching `q` (already folded), best first.
    pub fn find(&self, q: &str) -> Vec<Hit> {
        let letters = !q.is_empty() && q.chars().all(|c| c.is_ascii_lowercase());
        let aliases: Vec<&str> = ALIASES
            .iter()
            .filter(|(word, _)| *word == q)
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        let mut hits: Vec<Hit> = Vec::new();
        for e in &self.entries {
            let kind = if e.folded == q {
                MatchKind::Exact
            } else if e.folded.starts_with(q) {
                MatchKind::Prefix
            } else if e.folded.contains(q) || aliases.iter().any(|a| e.folded.contains(a)) {
                MatchKind::Contains
            } else if let Some(kind) = spoken(&e.spellings, q, letters) {
                kind
            } else {
                continue;
            };
            hits.push(hit(e, kind));
        }
        // A model number with a typo: when few models match as typed, the models within one
        // edit (two for 8+ characters) of the query, or of one of their words.
        let models = hits
            .iter()
            .filter(|h| h.field == SearchField::Model)
            .count();
        let looks_like_model =
            q.is_ascii() && q.chars().count() >= 4 && q.chars().any(|c| c.is_ascii_digit());
        if looks_like_model && models < 5 {
            let max = if q.len() >= 8 { 2 } else { 1 };
            for e in self
                .entries
                .iter()
                .filter(|e| e.field == SearchField::Model)
            {
                if e.folded.contains(q) {
                    continue;
                }
                // Lengths first: most models are far longer or shorter than the query.
                let near = |text: &str| text.len().abs_diff(q.len()) <= max * 4;
                let close = (near(&e.folded) && within(&e.folded, q, max).is_some())
                    || e.value.split_whitespace().filter(|w| near(w)).any(|w| {
                        let w = if w.is_ascii() {
                            w.to_ascii_lowercase()
                        } else {
                            fold(w)
                        };
                        within(&w, q, max).is_some()
                    });
                if close {
                    hits.push(hit(e, MatchKind::Fuzzy));
                }
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.batches.cmp(&a.batches))
                .then_with(|| a.value.cmp(&b.value))
        });
        hits
    }
}

/// How ASCII letters match a name in pinyin or initials, if they do.
fn spoken(spellings: &Spellings, q: &str, letters: bool) -> Option<MatchKind> {
    if !letters {
        return None;
    }
    match spellings.spells(q) {
        Some(true) => return Some(MatchKind::Pinyin),
        Some(false) => return Some(MatchKind::PinyinWithin),
        None => {}
    }
    if q.len() < 2 {
        return None;
    }
    spellings.initials(q).map(|whole| {
        if whole {
            MatchKind::Initials
        } else {
            MatchKind::InitialsWithin
        }
    })
}

fn hit(e: &Entry, kind: MatchKind) -> Hit {
    Hit {
        field: e.field,
        value: e.value.clone(),
        kind,
        score: kind.base() * e.field.weight() + (1.0 + e.batches as f64).ln().min(5.0),
        batches: e.batches,
    }
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

/// A search: the folded query, the matched values, and one page of the rows they select
/// (with the rows grammar's filters), with the count and facets.
pub async fn search(
    view: &SnapshotView,
    catalog: &zhijian_catalog::Catalog,
    index: &SearchIndex,
    q: &str,
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
    let used: Vec<Hit> = hits.into_iter().take(MAX_VALUES).collect();
    let matches: Vec<Value> = used
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
        "values_used": used.len(),
        "values_truncated": matched_values > used.len(),
    });
    if used.is_empty() {
        out["count"] = json!(0);
        out["rows"] = json!([]);
        out["facets"] = json!({});
        return Ok(out);
    }
    let (condition, rank, tiers) = conditions(&used);
    let mut scoped = req.clone();
    scoped.conditions.push(condition);
    let fields: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => RESULT_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
    };
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
            crate::api::facet(view, catalog, "spot_checks", scoped, &spec, 10)
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
    Ok(out)
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
    folded: Vec<String>,
    spellings: Vec<Spellings>,
}

/// The producers of one snapshot.
#[derive(Debug, Default)]
pub struct Enterprises {
    list: Vec<Enterprise>,
    by_key: HashMap<String, usize>,
    /// Names published without a code, to their producer.
    by_bare_name: HashMap<String, usize>,
}

fn is_uscc(text: &str) -> bool {
    text.len() == 18 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Enterprises {
    /// Resolves the producers of a snapshot's `spot_checks`.
    pub async fn build(view: &SnapshotView) -> Result<Self> {
        if !view.tables().iter().any(|t| t == "spot_checks") {
            return Ok(Self::default());
        }
        let rows = json_rows(
            view.ctx
                .sql(
                    "SELECT enterprise, enterprise_uscc, count(*) AS n, \
                     sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails, \
                     min(plan_year) AS y0, max(plan_year) AS y1 \
                     FROM spot_checks WHERE enterprise IS NOT NULL \
                     GROUP BY enterprise, enterprise_uscc",
                )
                .await?,
        )
        .await?;
        struct Group {
            name: String,
            uscc: Option<String>,
            n: u64,
            fails: u64,
            y0: Option<i64>,
            y1: Option<i64>,
        }
        let groups: Vec<Group> = rows
            .into_iter()
            .filter_map(|r| {
                let name = r.get("enterprise")?.as_str()?.trim().to_owned();
                if name.is_empty() {
                    return None;
                }
                Some(Group {
                    name,
                    uscc: r
                        .get("enterprise_uscc")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    n: r.get("n").and_then(Value::as_u64).unwrap_or(0),
                    fails: r.get("fails").and_then(Value::as_u64).unwrap_or(0),
                    y0: r.get("y0").and_then(Value::as_i64),
                    y1: r.get("y1").and_then(Value::as_i64),
                })
            })
            .collect();
        // The codes each normalised name is seen with.
        let mut codes: HashMap<String, Vec<String>> = HashMap::new();
        for g in &groups {
            if let Some(u) = &g.uscc {
                let e = codes.entry(entity_name(&g.name)).or_default();
                if !e.contains(u) {
                    e.push(u.clone());
                }
            }
        }
        let mut merged: BTreeMap<String, Enterprise> = BTreeMap::new();
        for g in groups {
            let normal = entity_name(&g.name);
            let (key, uscc, bare) = match &g.uscc {
                Some(u) => (u.clone(), Some(u.clone()), false),
                None => match codes.get(&normal).map(Vec::as_slice) {
                    Some([only]) => (only.clone(), Some(only.clone()), true),
                    _ => (normal.clone(), None, true),
                },
            };
            let e = merged.entry(key.clone()).or_insert_with(|| Enterprise {
                key,
                uscc,
                names: Vec::new(),
                bare_names: Vec::new(),
                batches: 0,
                fails: 0,
                years: (None, None),
                folded: Vec::new(),
                spellings: Vec::new(),
            });
            e.batches += g.n;
            e.fails += g.fails;
            e.years.0 = match (e.years.0, g.y0) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            e.years.1 = match (e.years.1, g.y1) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if bare {
                e.bare_names.push(g.name.clone());
            }
            match e.names.iter_mut().find(|(n, _)| *n == g.name) {
                Some((_, count)) => *count += g.n,
                None => e.names.push((g.name, g.n)),
            }
        }
        let mut list: Vec<Enterprise> = merged.into_values().collect();
        for e in &mut list {
            e.names
                .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            e.folded = e.names.iter().map(|(n, _)| fold(n)).collect();
            e.spellings = e.folded.iter().map(|f| Spellings::of(f)).collect();
        }
        let by_key = list
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        let by_bare_name = list
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.bare_names.iter().map(move |n| (n.clone(), i)))
            .collect();
        Ok(Self {
            list,
            by_key,
            by_bare_name,
        })
    }

    /// Producers.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The producer with this key.
    pub fn get(&self, key: &str) -> Option<&Enterprise> {
        self.by_key.get(key).map(|&i| &self.list[i])
    }

    /// The key of the producer of a row: its code, or the producer its name (without a code)
    /// belongs to.
    pub fn key_of(&self, name: &str, uscc: Option<&str>) -> Option<&str> {
        let i = match uscc {
            Some(code) => self.by_key.get(code),
            None => self.by_bare_name.get(name),
        }?;
        Some(self.list[*i].key.as_str())
    }

    /// The keys of the `n` producers with the most batches.
    pub fn most_checked(&self, n: usize) -> impl Iterator<Item = &str> {
        let mut order: Vec<&Enterprise> = self.list.iter().collect();
        order.sort_by(|a, b| b.batches.cmp(&a.batches).then_with(|| a.key.cmp(&b.key)));
        order.into_iter().take(n).map(|e| e.key.as_str())
    }

    /// Producers whose names match `q` (or whose code is `q`), best first.
    pub fn find(&self, q: &str) -> Vec<(&Enterprise, MatchKind)> {
        let folded = fold(q);
        let code = folded.to_uppercase();
        if is_uscc(&code)
            && let Some(e) = self.get(&code)
        {
            return vec![(e, MatchKind::Exact)];
        }
        let letters = !folded.is_empty() && folded.chars().all(|c| c.is_ascii_lowercase());
        let mut found: Vec<(&Enterprise, MatchKind)> = self
            .list
            .iter()
            .filter_map(|e| {
                let kinds = e.folded.iter().zip(&e.spellings).filter_map(|(f, s)| {
                    if *f == folded {
                        Some(MatchKind::Exact)
                    } else if f.starts_with(&folded) {
                        Some(MatchKind::Prefix)
                    } else if f.contains(&folded) {
                        Some(MatchKind::Contains)
                    } else {
                        spoken(s, &folded, letters)
                    }
                });
                kinds.min().map(|k| (e, k))
            })
            .collect();
        found.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(b.0.batches.cmp(&a.0.batches))
                .then_with(|| a.0.key.cmp(&b.0.key))
        });
        found
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

/// Everything about one producer: pass rate with its denominator, by year, where and how it
/// was checked, its failed items, and its history (newest first, up to `history_limit`).
pub async fn enterprise_history(
    view: &SnapshotView,
    e: &Enterprise,
    history_limit: usize,
) -> Result<Value> {
    let cond = e.condition();
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

/// The search dictionary and producers of a snapshot, built once.
#[derive(Debug, Default)]
pub struct Indexes {
    /// The search dictionary.
    pub search: SearchIndex,
    /// The producers.
    pub enterprises: Enterprises,
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
        let recent = async {
            if !view.tables().iter().any(|t| t == "spot_checks") {
                return Ok(Vec::new());
            }
            json_rows(
                view.ctx
                    .sql(
                        "SELECT announced_on, authority, product, count(*) AS batches, \
                         sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails FROM spot_checks \
                         WHERE announced_on IS NOT NULL GROUP BY announced_on, authority, product \
                         ORDER BY announced_on DESC, authority, product LIMIT 12",
                    )
                    .await?,
            )
            .await
        };
        let (search, enterprises, recent) =
            futures::join!(SearchIndex::build(view), Enterprises::build(view), recent);
        let built = Self {
            search: search?,
            enterprises: enterprises?,
            recent: recent?,
            build_ms: started.elapsed().as_millis() as u64,
        };
        tracing::info!(
            snapshot = %view.id,
            values = built.search.len(),
            enterprises = built.enterprises.len(),
            ms = built.build_ms,
            "search index built"
        );
        Ok(Arc::new(built))
    }
}
