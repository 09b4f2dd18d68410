//! A request on rows, parsed once: the table, typed filters rendered as SQL conditions, the
//! sort, fields, page size, keyset cursor, count mode, snapshot and format.

use serde_json::{Value, json};
use zhijian_catalog::{Catalog, FieldType, SPOT_CHECK_SCHEMA, TableSchema, sort_order};

use crate::accel::Target;
use crate::error::{QueryError, Result};
use crate::filter::{
    COMMON_PARAMETERS, SortKey, after, bad, field, ident, parse_filter, parse_sort, string_lit,
    text_search,
};

/// Rows a JSON page holds at most.
pub const MAX_PAGE: usize = 1000;
/// Rows a JSON page holds by default.
pub const DEFAULT_PAGE: usize = 100;
/// Filters one request may hold: enough for any question (a list goes in one `__in`), and
/// a bound on the expression DataFusion plans recursively.
pub const MAX_FILTERS: usize = 64;

/// How to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    /// `count(*)` under the filters.
    Exact,
    /// No count.
    None,
}

/// A parsed request on one resource (or on `spot_checks`).
#[derive(Debug, Clone)]
pub struct RowsRequest {
    /// The table to read.
    pub table: String,
    /// The WHERE conditions (already typed and rendered).
    pub conditions: Vec<String>,
    /// The sort, with `record_id` last.
    pub sort: Vec<SortKey>,
    /// Fields to return (`None`: all).
    pub fields: Option<Vec<String>>,
    /// `_limit`, if given.
    pub limit: Option<usize>,
    /// Continue after this row (values of the sort keys).
    pub cursor: Option<Cursor>,
    /// `_count`.
    pub count: CountMode,
    /// `_as_of` (or the cursor's snapshot).
    pub as_of: Option<String>,
    /// `_format`, if given.
    pub format: Option<String>,
    /// The filters as (field, operator, value) when there is no `_q`: what the search index
    /// may answer from memory.
    pub filters: Option<Vec<(String, String, String)>>,
}

/// A keyset cursor: the snapshot it belongs to, the sort, and the last row's sort values.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// Snapshot id.
    pub snapshot: String,
    /// `_sort` it was made under, normalised (`a,-b,record_id`).
    pub sort: String,
    /// Sort values of the last row returned.
    pub values: Vec<Value>,
}

impl Cursor {
    /// Opaque, URL-safe text.
    pub fn encode(&self) -> String {
        let doc = json!({ "s": self.snapshot, "o": self.sort, "v": self.values });
        doc.to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Parses the text `encode` made.
    pub fn decode(text: &str) -> Result<Self> {
        let wrong = || QueryError::BadParameter {
            parameter: "_cursor".into(),
            value: text.chars().take(80).collect(),
            problem: "not a cursor this API issued (pass `next_cursor` back unchanged)".into(),
            allowed: Vec::new(),
        };
        if !text.len().is_multiple_of(2) || text.len() > 16 * 1024 {
            return Err(wrong());
        }
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        let doc: Value = bytes
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(wrong)?;
        Ok(Self {
            snapshot: doc["s"].as_str().ok_or_else(wrong)?.to_owned(),
            sort: doc["o"].as_str().ok_or_else(wrong)?.to_owned(),
            values: doc["v"].as_array().ok_or_else(wrong)?.clone(),
        })
    }
}

pub(crate) fn sort_spec(keys: &[SortKey]) -> String {
    keys.iter()
        .map(|k| format!("{}{}", if k.desc { "-" } else { "" }, k.field))
        .collect::<Vec<_>>()
        .join(",")
}

/// The table and schema behind a resource id (or `spot_checks` for all spot checks).
pub fn resolve<'a>(
    catalog: &'a Catalog,
    id: &str,
) -> Result<(String, &'a TableSchema, Vec<String>)> {
    if id == SPOT_CHECK_SCHEMA {
        let schema = catalog
            .schema(SPOT_CHECK_SCHEMA)
            .map_err(|_| QueryError::UnknownResource { id: id.to_owned() })?;
        return Ok((
            SPOT_CHECK_SCHEMA.to_owned(),
            schema,
            sort_order(SPOT_CHECK_SCHEMA, &schema.primary_key),
        ));
    }
    let r = catalog
        .resource(id)
        .map_err(|_| QueryError::UnknownResource { id: id.to_owned() })?;
    let schema = catalog
        .schema_of(r)
        .map_err(|_| QueryError::UnknownResource { id: id.to_owned() })?;
    Ok((
        r.table.clone(),
        schema,
        sort_order(&r.schema, &schema.primary_key),
    ))
}

impl RowsRequest {
    /// Parses query parameters; `extra` names further reserved parameters the endpoint takes
    /// (`_facet`, `group_by`, …), which are left for it.
    pub fn parse(
        catalog: &Catalog,
        id: &str,
        params: &[(String, String)],
        extra: &[&str],
    ) -> Result<Self> {
        let (table, schema, default_sort) = resolve(catalog, id)?;
        let mut conditions = Vec::new();
        let one = |name: &str| -> Result<Option<String>> {
            let mut hits = params.iter().filter(|(k, _)| k == name);
            let first = hits.next().map(|(_, v)| v.clone());
            if hits.next().is_some() {
                return Err(bad(
                    name,
                    "",
                    format!("`{name}` is given more than once"),
                    Vec::new(),
                ));
            }
            Ok(first)
        };
        let sort_text = one("_sort")?;
        let fields_text = one("_fields")?;
        let limit_text = one("_limit")?;
        let cursor_text = one("_cursor")?;
        let count_text = one("_count")?;
        let as_of = one("_as_of")?.filter(|s| !s.trim().is_empty());
        let format = one("_format")?;
        let q = one("_q")?;
        let mut filters = Vec::new();
        for (k, v) in params {
            if k.starts_with('_') || extra.contains(&k.as_str()) {
                if !COMMON_PARAMETERS.contains(&k.as_str()) && !extra.contains(&k.as_str()) {
                    let mut allowed: Vec<String> =
                        COMMON_PARAMETERS.iter().map(|s| (*s).to_owned()).collect();
                    allowed.extend(extra.iter().map(|s| (*s).to_owned()));
                    return Err(bad(k, v, format!("unknown parameter `{k}`"), allowed));
                }
                continue;
            }
            if filters.len() == MAX_FILTERS {
                return Err(bad(
                    k,
                    v,
                    format!("at most {MAX_FILTERS} filters in one request"),
                    Vec::new(),
                ));
            }
            let f = parse_filter(schema, k, v)?;
            filters.push((f.field.clone(), f.op.clone(), v.clone()));
            conditions.push(f.sql);
        }
        if let Some(cond) = q.as_deref().and_then(|q| text_search(schema, q)) {
            conditions.push(cond);
        }
        let sort = parse_sort(schema, sort_text.as_deref(), &default_sort)?;
        let fields = match fields_text {
            Some(text) => {
                let mut names = Vec::new();
                for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    names.push(field(schema, "_fields", name)?.name.clone());
                }
                if names.is_empty() {
                    return Err(bad("_fields", &text, "name at least one field", Vec::new()));
                }
                Some(names)
            }
            None => None,
        };
        let limit = match limit_text {
            Some(t) => match t.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(bad(
                        "_limit",
                        &t,
                        "expected a whole number of at least 1",
                        Vec::new(),
                    ));
                }
            },
            None => None,
        };
        let count = match count_text.as_deref() {
            None | Some("exact") => CountMode::Exact,
            Some("none") => CountMode::None,
            Some(other) => {
                return Err(bad(
                    "_count",
                    other,
                    "unknown count mode",
                    vec!["exact".into(), "none".into()],
                ));
            }
        };
        let cursor = match cursor_text {
            Some(t) if !t.is_empty() => {
                let c = Cursor::decode(&t)?;
                if c.sort != sort_spec(&sort) {
                    return Err(bad(
                        "_cursor",
                        &t.chars().take(80).collect::<String>(),
                        format!(
                            "the cursor was made for _sort={}, not {}",
                            c.sort,
                            sort_spec(&sort)
                        ),
                        Vec::new(),
                    ));
                }
                if let Some(a) = &as_of
                    && *a != c.snapshot
                {
                    return Err(bad(
                        "_as_of",
                        a,
                        format!("the cursor belongs to snapshot {}", c.snapshot),
                        vec![c.snapshot.clone()],
                    ));
                }
                conditions.push(after(&sort, &c.values)?);
                Some(c)
            }
            _ => None,
        };
        let as_of = cursor.as_ref().map(|c| c.snapshot.clone()).or(as_of);
        let filters = q.is_none().then_some(filters);
        Ok(Self {
            table,
            conditions,
            sort,
            fields,
            limit,
            cursor,
            count,
            as_of,
            format,
            filters,
        })
    }

    /// The record id, when the only filter is `record_id` equal to it (no `_q`, no cursor):
    /// a point lookup.
    pub fn lookup(&self) -> Option<&str> {
        match self.memory_filters()? {
            [(field, op, value)] if field == "record_id" && op == "eq" => Some(value),
            _ => None,
        }
    }

    /// The filters, when they are all there is (a search or a cursor adds conditions of its
    /// own).
    pub fn memory_filters(&self) -> Option<&[(String, String, String)]> {
        self.filters
            .as_deref()
            .filter(|f| self.cursor.is_none() && f.len() == self.conditions.len())
    }

    /// The filters, when they and the cursor (if any) are all there is: what a page (after
    /// the cursor) and its count (of the whole filtered result) need.
    pub fn page_filters(&self) -> Option<&[(String, String, String)]> {
        let cursor = usize::from(self.cursor.is_some());
        self.filters
            .as_deref()
            .filter(|f| f.len() + cursor == self.conditions.len())
    }

    /// The request as the index/SQL decision sees it ([`accel::decide`]): the table and its
    /// filters, when the filters (and a cursor, if `with_cursor`) are all there is.
    pub fn target(&self, with_cursor: bool) -> Target<'_> {
        let filters = if with_cursor {
            self.page_filters()
        } else {
            self.memory_filters()
        };
        Target {
            table: &self.table,
            filters: filters.ok_or(if self.filters.is_none() {
                "a text search (_q)"
            } else {
                "a cursor"
            }),
        }
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    pub(crate) fn order_clause(&self) -> String {
        format!(
            " ORDER BY {}",
            self.sort
                .iter()
                .map(SortKey::order_by)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The columns selected: the requested fields, plus the sort keys a cursor needs.
    pub(crate) fn select_list(&self, schema: &TableSchema, flatten_lists: bool) -> String {
        let names: Vec<String> = match &self.fields {
            Some(f) => f.clone(),
            None => schema.fields.iter().map(|f| f.name.clone()).collect(),
        };
        names
            .iter()
            .map(|n| {
                let f = schema.field(n);
                match f {
                    Some(f) if flatten_lists && f.field_type == FieldType::List => format!(
                        "array_to_string({}, {}) AS {}",
                        ident(n),
                        string_lit(f.delimiter.as_deref().unwrap_or(";")),
                        ident(n)
                    ),
                    _ => ident(n),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The one value of a parameter, if given.
pub fn one<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A whole number parameter within `range` (`default` when absent), or an error naming it.
pub fn number(
    params: &[(String, String)],
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize> {
    match one(params, name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(bad(
                name,
                v,
                format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
                Vec::new(),
            )),
        },
    }
}

/// Refuses any parameter not in `allowed`, naming it and listing what is.
pub fn only(params: &[(String, String)], allowed: &[&str]) -> Result<()> {
    match params.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, v)) => Err(bad(
            k,
            v,
            format!("unknown parameter `{k}`"),
            allowed.iter().map(|a| (*a).to_owned()).collect(),
        )),
    }
}

/// `/resources/{id}/facets`: the rows request, the facets asked for, values per facet.
#[derive(Debug, Clone)]
pub struct FacetsRequest {
    /// The filters and snapshot.
    pub rows: RowsRequest,
    /// `_facet` (repeatable, comma-separated), in the order asked.
    pub facets: Vec<super::FacetSpec>,
    /// `_facet_size` (default 20, at most 1000).
    pub size: usize,
}

impl FacetsRequest {
    /// Parses the query parameters of a facets request on resource `id`.
    pub fn parse(catalog: &Catalog, id: &str, params: &[(String, String)]) -> Result<Self> {
        let rows = RowsRequest::parse(catalog, id, params, &["_facet", "_facet_size"])?;
        let (_, schema, _) = resolve(catalog, id)?;
        let size = number(params, "_facet_size", 20, 1..=1000)?;
        let facets: Vec<super::FacetSpec> = params
            .iter()
            .filter(|(k, _)| k == "_facet")
            .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|v| !v.trim().is_empty())
            .map(|v| super::parse_facet(schema, &v))
            .collect::<Result<_>>()?;
        if facets.is_empty() {
            return Err(bad(
                "_facet",
                "",
                "name at least one field to count",
                schema.fields.iter().map(|f| f.name.clone()).collect(),
            ));
        }
        Ok(Self { rows, facets, size })
    }
}

/// `/spot-checks/stats`: the rows request, the groups, and how many groups at most.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    /// The filters and snapshot.
    pub rows: RowsRequest,
    /// `group_by` (repeatable, comma-separated), each one of [`super::STATS_GROUPS`].
    pub group_by: Vec<String>,
    /// `_limit`: groups at most (default 1000, at most 10000).
    pub max_groups: usize,
}

impl StatsRequest {
    /// Parses the query parameters of a statistics request over `spot_checks`.
    pub fn parse(catalog: &Catalog, params: &[(String, String)]) -> Result<Self> {
        let rows = RowsRequest::parse(catalog, SPOT_CHECK_SCHEMA, params, &["group_by"])?;
        let group_by: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "group_by")
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect();
        for g in &group_by {
            if !super::STATS_GROUPS.contains(&g.as_str()) {
                return Err(bad(
                    "group_by",
                    g,
                    format!("cannot group by `{g}`"),
                    super::STATS_GROUPS
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                ));
            }
        }
        let max_groups = match rows.limit {
            Some(n) if n > 10_000 => {
                return Err(bad(
                    "_limit",
                    &n.to_string(),
                    "at most 10000 groups",
                    Vec::new(),
                ));
            }
            Some(n) => n,
            None => 1000,
        };
        Ok(Self {
            rows,
            group_by,
            max_groups,
        })
    }
}

/// Rows per search page by default.
pub const SEARCH_PAGE: usize = 20;
/// Rows per search page at most.
pub const SEARCH_PAGE_MAX: usize = 100;
/// The deepest a search pages (relevance order is not a stable keyset).
pub const SEARCH_OFFSET_MAX: usize = 10_000;

/// `/search`: the words, the rows grammar's filters, and the page.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// `q`, as given.
    pub q: String,
    /// The filters, fields and snapshot.
    pub rows: RowsRequest,
    /// `_limit` (default 20, at most 100).
    pub limit: usize,
    /// `_offset` (at most 10000).
    pub offset: usize,
}

impl SearchRequest {
    /// Parses the query parameters of a search; `extra` names parameters of the caller that
    /// are not filters (the web page's `page` and `lang`).
    pub fn parse(catalog: &Catalog, params: &[(String, String)], extra: &[&str]) -> Result<Self> {
        let q = match one(params, "q") {
            Some(q) if !q.trim().is_empty() => q.to_owned(),
            other => {
                return Err(bad(
                    "q",
                    other.unwrap_or(""),
                    "give a word to search for: a product, company, brand, model number, failed item or agency, in 汉字, pinyin or initials",
                    Vec::new(),
                ));
            }
        };
        let mut reserved = vec!["q", "_offset"];
        reserved.extend_from_slice(extra);
        let rows = RowsRequest::parse(catalog, SPOT_CHECK_SCHEMA, params, &reserved)?;
        for refused in ["_cursor", "_sort", "_format", "_count"] {
            if let Some(v) = one(params, refused) {
                return Err(bad(
                    refused,
                    v,
                    format!(
                        "search answers in relevance order, one JSON page at a time; `{refused}` belongs to /api/v1/resources/spot_checks/rows"
                    ),
                    Vec::new(),
                ));
            }
        }
        let limit = rows.limit.unwrap_or(SEARCH_PAGE);
        if limit > SEARCH_PAGE_MAX {
            return Err(bad(
                "_limit",
                &limit.to_string(),
                format!("a search page holds at most {SEARCH_PAGE_MAX} rows"),
                Vec::new(),
            ));
        }
        let offset = number(params, "_offset", 0, 0..=SEARCH_OFFSET_MAX)?;
        Ok(Self {
            q,
            rows,
            limit,
            offset,
        })
    }
}
