//! What the data API asks of a snapshot: filtered rows (a page with a keyset cursor, or the
//! whole result as a stream), exact counts, facets and pass-rate statistics.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use zhijian_catalog::{Catalog, FieldType, SPOT_CHECK_SCHEMA, TableSchema, sort_order};

use crate::error::{QueryError, Result};
use crate::filter::{
    COMMON_PARAMETERS, SortKey, after, bad, field, ident, parse_filter, parse_sort, string_lit,
    text_search,
};
use crate::warehouse::SnapshotView;

/// Rows a JSON page holds at most.
pub const MAX_PAGE: usize = 1000;
/// Rows a JSON page holds by default.
pub const DEFAULT_PAGE: usize = 100;

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

fn sort_spec(keys: &[SortKey]) -> String {
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

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    fn order_clause(&self) -> String {
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
    fn select_list(&self, schema: &TableSchema, flatten_lists: bool) -> String {
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

/// Runs SQL the API built (never client text) on a snapshot.
async fn sql(view: &SnapshotView, text: &str) -> Result<DataFrame> {
    tracing::debug!(sql = text, "api query");
    Ok(view.ctx.sql(text).await?)
}

/// Runs SQL built by a surface of ours (never client text) on a snapshot and collects its
/// (small) result as JSON objects.
pub async fn query_json(view: &SnapshotView, text: &str) -> Result<Vec<Map<String, Value>>> {
    json_rows(sql(view, text).await?).await
}

/// Collects a small result (a page, a facet, a count) as JSON objects.
pub(crate) async fn json_rows(df: DataFrame) -> Result<Vec<Map<String, Value>>> {
    let mut stream = df.execute_stream().await?;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        out.extend(batch_to_json(&batch)?);
    }
    Ok(out)
}

/// One record batch as JSON objects (nulls explicit, dates ISO 8601).
pub fn batch_to_json(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::JsonArray>(&mut buf);
        w.write(batch)
            .map_err(|e| QueryError::Output(e.to_string()))?;
        w.finish().map_err(|e| QueryError::Output(e.to_string()))?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Map<String, Value>> =
        serde_json::from_slice(&buf).map_err(|e| QueryError::Output(e.to_string()))?;
    Ok(rows)
}

/// A page of rows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows (only the requested fields).
    pub rows: Vec<Map<String, Value>>,
    /// Exact count under the filters, when asked.
    pub count: Option<u64>,
    /// The cursor for the next page, when there may be one.
    pub next_cursor: Option<String>,
}

/// A JSON page: at most `_limit` (default 100, at most 1000) rows after the cursor.
pub async fn page(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
) -> Result<Page> {
    let (_, schema, _) = resolve(catalog, id)?;
    let limit = req.limit.unwrap_or(DEFAULT_PAGE);
    if limit > MAX_PAGE {
        return Err(bad(
            "_limit",
            &limit.to_string(),
            format!(
                "a JSON page holds at most {MAX_PAGE} rows; use _format=ndjson, csv or parquet for the whole result (streamed, no cap)"
            ),
            Vec::new(),
        ));
    }
    if let Some(id) = req.lookup()
        && let Some(indexes) = view.indexes_ready()
        && let Some(page) = lookup(&indexes.search, schema, req, id)?
    {
        return Ok(page);
    }
    let mut select = req.select_list(schema, false);
    let extra: Vec<&SortKey> = req
        .sort
        .iter()
        .filter(|k| req.fields.as_ref().is_some_and(|f| !f.contains(&k.field)))
        .collect();
    for k in &extra {
        select.push_str(&format!(", {}", ident(&k.field)));
    }
    let text = format!(
        "SELECT {select} FROM {}{}{} LIMIT {}",
        ident(&req.table),
        req.where_clause(),
        req.order_clause(),
        limit + 1
    );
    let rows_fut = async {
        if let Some(rows) = memory_page(view, schema, req, &extra, limit + 1)? {
            return Ok(rows);
        }
        json_rows(sql(view, &text).await?).await
    };
    let count_fut = async {
        match req.count {
            CountMode::None => Ok::<_, QueryError>(None),
            CountMode::Exact => {
                if let Some(n) = memory_count(view, req) {
                    return Ok(Some(n));
                }
                // The count ignores the cursor: it is the size of the whole filtered result.
                let conditions: Vec<&String> = match &req.cursor {
                    Some(_) => req
                        .conditions
                        .iter()
                        .take(req.conditions.len().saturating_sub(1))
                        .collect(),
                    None => req.conditions.iter().collect(),
                };
                let wh = if conditions.is_empty() {
                    String::new()
                } else {
                    format!(
                        " WHERE {}",
                        conditions
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" AND ")
                    )
                };
                let df = sql(
                    view,
                    &format!("SELECT count(*) AS n FROM {}{wh}", ident(&req.table)),
                )
                .await?;
                let rows = json_rows(df).await?;
                Ok(rows
                    .first()
                    .and_then(|r| r.get("n"))
                    .and_then(Value::as_u64))
            }
        }
    };
    let (rows, count) = futures::join!(rows_fut, count_fut);
    let mut rows = rows?;
    let count = count?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|last| {
            Cursor {
                snapshot: view.id.clone(),
                sort: sort_spec(&req.sort),
                values: req
                    .sort
                    .iter()
                    .map(|k| last.get(&k.field).cloned().unwrap_or(Value::Null))
                    .collect(),
            }
            .encode()
        })
    } else {
        None
    };
    for row in &mut rows {
        for k in &extra {
            row.remove(&k.field);
        }
    }
    Ok(Page {
        rows,
        count,
        next_cursor,
    })
}

/// A page of a spot-check table under filters the search index holds, in an order it knows
/// (see `SearchIndex::page_positions`), read by position; `None` otherwise.
fn memory_page(
    view: &SnapshotView,
    schema: &TableSchema,
    req: &RowsRequest,
    extra: &[&SortKey],
    want: usize,
) -> Result<Option<Vec<Map<String, Value>>>> {
    let (Some(filters), Some(indexes)) = (req.page_filters(), view.indexes_ready()) else {
        return Ok(None);
    };
    let sort: Vec<(String, bool)> = req.sort.iter().map(|k| (k.field.clone(), k.desc)).collect();
    let after = req.cursor.as_ref().map(|c| c.values.as_slice());
    let Some(positions) = indexes
        .search
        .page_positions(&req.table, filters, &sort, after, want)?
    else {
        return Ok(None);
    };
    let mut columns: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => schema.fields.iter().map(|f| f.name.clone()).collect(),
    };
    columns.extend(extra.iter().map(|k| k.field.clone()));
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    Ok(Some(
        match indexes.search.spot_rows().fetch(&positions, &names)? {
            Some(batch) => batch_to_json(&batch)?,
            None => Vec::new(),
        },
    ))
}

/// The count of a spot-check table's rows under filters the search index holds, once built.
fn memory_count(view: &SnapshotView, req: &RowsRequest) -> Option<u64> {
    let filters = req.page_filters()?;
    view.indexes_ready()?.search.count(&req.table, filters)
}

/// A point lookup of a spot-check row by record id: its position from the index, the row
/// read by position (the pages holding it only), no query planned. `None` when the table is
/// not a spot-check table.
fn lookup(
    index: &crate::search::SearchIndex,
    schema: &TableSchema,
    req: &RowsRequest,
    id: &str,
) -> Result<Option<Page>> {
    let rows = index.spot_rows();
    let Some(range) = rows.range_of(&req.table) else {
        return Ok(None);
    };
    let fields: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => schema.fields.iter().map(|f| f.name.clone()).collect(),
    };
    let mut columns: Vec<&str> = fields.iter().map(String::as_str).collect();
    let with_id = !columns.contains(&"record_id");
    if with_id {
        columns.push("record_id");
    }
    let candidates: Vec<u32> = index
        .record_candidates(id)
        .iter()
        .copied()
        .filter(|p| range.contains(p))
        .collect();
    let mut found = Vec::new();
    if let Some(batch) = rows.fetch(&candidates, &columns)? {
        for mut row in batch_to_json(&batch)? {
            if row.get("record_id").and_then(Value::as_str) == Some(id) {
                if with_id {
                    row.remove("record_id");
                }
                found.push(row);
            }
        }
    }
    let count = match req.count {
        CountMode::Exact => Some(found.len() as u64),
        CountMode::None => None,
    };
    found.truncate(req.limit.unwrap_or(DEFAULT_PAGE));
    Ok(Some(Page {
        rows: found,
        count,
        next_cursor: None,
    }))
}

/// The whole filtered result (after the cursor, up to `_limit` if given) as a DataFrame to
/// stream; lists are joined into text when `flatten_lists` (CSV, XLSX).
pub async fn rows_frame(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    flatten_lists: bool,
) -> Result<DataFrame> {
    let (_, schema, _) = resolve(catalog, id)?;
    let limit = req.limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let text = format!(
        "SELECT {} FROM {}{}{}{limit}",
        req.select_list(schema, flatten_lists),
        ident(&req.table),
        req.where_clause(),
        req.order_clause(),
    );
    sql(view, &text).await
}

/// Rows an ordered export reads per batch (a few batches per open row group in memory,
/// whatever the size of the export).
const EXPORT_BATCH: usize = 2048;

/// The whole filtered result of a spot-check table in its default order (after the cursor,
/// up to `_limit`), to be read by position from the files: see [`OrderedRows::read`].
pub struct OrderedRows {
    /// The schema of the rows read (lists as text when they are joined).
    pub schema: SchemaRef,
    indexes: std::sync::Arc<crate::search::Indexes>,
    table: String,
    filters: Vec<(String, String, String)>,
    after: Option<Vec<Value>>,
    limit: Option<usize>,
    columns: Vec<String>,
    /// Text as strings, or as the bytes stored (CSV).
    text: crate::spot_rows::Text,
    /// Lists to join: (column index, delimiter).
    joined: Vec<(usize, String)>,
}

impl OrderedRows {
    /// Reads the rows (blocking: call it off the async workers), calling `each` with the
    /// batches read so far and which row of which comes next, up to 2,048 rows at a time,
    /// until it returns `false` (see `SpotRows::read_ordered`). On the decoding threads,
    /// lists are joined into text as [`rows_frame`] joins them, and each batch then goes
    /// through `then` (which may encode its rows).
    pub fn read<T: crate::spot_rows::Decoded>(
        &self,
        then: &(dyn Fn(RecordBatch) -> Result<T> + Sync),
        each: impl FnMut(&[T], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<()> {
        let names: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let prepare = |batch: RecordBatch| then(join_lists(&batch, &self.joined, &self.schema)?);
        let read = self.indexes.search.read_default_order(
            &self.table,
            &self.filters,
            self.after.as_deref(),
            self.limit,
            &names,
            self.text,
            EXPORT_BATCH,
            &prepare,
            each,
        )?;
        if read {
            Ok(())
        } else {
            Err(QueryError::Output(
                "the index no longer reads these rows in order".into(),
            ))
        }
    }
}

/// The rows of [`OrderedRows`] as one batch per call of its `each`: the picked rows copied out
/// of the batches read.
pub fn picked_batch(slots: &[RecordBatch], picks: &[(usize, usize)]) -> Result<RecordBatch> {
    let refs: Vec<&RecordBatch> = slots.iter().collect();
    datafusion::arrow::compute::interleave_record_batch(&refs, picks)
        .map_err(|e| QueryError::Output(e.to_string()))
}

/// The whole filtered result of a spot-check table in its default order, read by position,
/// when the index is built and holds the filters and the order (else `None`: then
/// [`rows_frame`]). `flatten_lists` is for CSV: lists are joined into text as [`rows_frame`]
/// joins them, and text is read as the bytes stored (binary columns, which only a CSV writer
/// that takes them as text should be given: see `spot_rows::Text::Bytes`).
pub fn ordered_rows(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    flatten_lists: bool,
) -> Result<Option<OrderedRows>> {
    let (_, schema, _) = resolve(catalog, id)?;
    let (Some(filters), Some(indexes)) = (req.page_filters(), view.indexes_ready()) else {
        return Ok(None);
    };
    let default = sort_order(SPOT_CHECK_SCHEMA, &[]);
    let default_sort = req.sort.len() == default.len()
        && req
            .sort
            .iter()
            .zip(&default)
            .all(|(k, d)| k.field == *d && !k.desc);
    if !default_sort || !indexes.search.reads_default_order(&req.table, filters) {
        return Ok(None);
    }
    // CSV (lists joined) writes bytes: its text is read as the bytes stored.
    let text = if flatten_lists {
        crate::spot_rows::Text::Bytes
    } else {
        crate::spot_rows::Text::Strings
    };
    let file_schema = match text {
        crate::spot_rows::Text::Strings => indexes.search.spot_rows().view_schema(),
        crate::spot_rows::Text::Bytes => indexes.search.spot_rows().bytes_schema(),
    };
    let Some(file_schema) = file_schema else {
        return Ok(None);
    };
    let columns: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => schema.fields.iter().map(|f| f.name.clone()).collect(),
    };
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut fields = Vec::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let Ok(f) = file_schema.field_with_name(name) else {
            return Ok(None);
        };
        match schema.field(name) {
            Some(t) if flatten_lists && t.field_type == FieldType::List => {
                joined.push((i, t.delimiter.clone().unwrap_or_else(|| ";".into())));
                let joined_type = match text {
                    crate::spot_rows::Text::Strings => DataType::Utf8,
                    crate::spot_rows::Text::Bytes => DataType::Binary,
                };
                fields.push(Field::new(name, joined_type, true));
            }
            _ => fields.push(f.clone()),
        }
    }
    Ok(Some(OrderedRows {
        schema: std::sync::Arc::new(Schema::new(fields)),
        indexes,
        table: req.table.clone(),
        filters: filters.to_vec(),
        after: req.cursor.as_ref().map(|c| c.values.clone()),
        limit: req.limit,
        columns,
        text,
        joined,
    }))
}

/// A batch with its list columns at `lists` joined into text by their delimiters (null
/// items left out, as `array_to_string` does), in `schema`: as strings, or as bytes when the
/// items are binary views (text read as bytes, see `spot_rows::Text`).
fn join_lists(
    batch: &RecordBatch,
    lists: &[(usize, String)],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    for (i, delimiter) in lists {
        let Some(list) = columns
            .get(*i)
            .and_then(|c| c.as_list_opt::<i32>().cloned())
        else {
            continue;
        };
        let column: ArrayRef = match list.values().data_type() {
            DataType::BinaryView => {
                let items = list.values().as_binary_view();
                let mut out = BinaryBuilder::with_capacity(list.len(), list.len() * 16);
                join_rows(
                    &list,
                    delimiter,
                    |at| items.is_valid(at).then(|| items.value(at)),
                    |v| match v {
                        Some(bytes) => out.append_value(bytes),
                        None => out.append_null(),
                    },
                );
                std::sync::Arc::new(out.finish())
            }
            other => {
                // The items as text once, whatever their type (text items are read as views).
                let items = match other {
                    DataType::Utf8View => list.values().clone(),
                    _ => cast(list.values(), &DataType::Utf8View)
                        .map_err(|e| QueryError::Output(e.to_string()))?,
                };
                let items = items.as_string_view();
                let mut out = StringBuilder::with_capacity(list.len(), list.len() * 16);
                join_rows(
                    &list,
                    delimiter,
                    |at| items.is_valid(at).then(|| items.value(at).as_bytes()),
                    |v| match v {
                        // Items and delimiter are text: so is what joins them.
                        Some(bytes) => out.append_value(String::from_utf8_lossy(bytes)),
                        None => out.append_null(),
                    },
                );
                let joined: ArrayRef = std::sync::Arc::new(out.finish());
                // Items that are not text (numbers) joined for a read of text as bytes: the
                // schema asks for bytes.
                match schema.fields().get(*i).map(|f| f.data_type()) {
                    Some(DataType::Binary) => cast(&joined, &DataType::Binary)
                        .map_err(|e| QueryError::Output(e.to_string()))?,
                    _ => joined,
                }
            }
        };
        columns[*i] = column;
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| QueryError::Output(e.to_string()))
}

/// Each row of `list` as its items (`item(i)`: item `i`'s bytes, `None` for a null item,
/// left out) joined by `delimiter`, handed to `push` (`None`: a null list).
fn join_rows<'a>(
    list: &datafusion::arrow::array::ListArray,
    delimiter: &str,
    item: impl Fn(usize) -> Option<&'a [u8]>,
    mut push: impl FnMut(Option<&[u8]>),
) {
    let offsets = list.value_offsets();
    let mut joined: Vec<u8> = Vec::new();
    for row in 0..list.len() {
        if list.is_null(row) {
            push(None);
            continue;
        }
        joined.clear();
        for at in offsets[row] as usize..offsets[row + 1] as usize {
            let Some(bytes) = item(at) else {
                continue;
            };
            if !joined.is_empty() {
                joined.extend_from_slice(delimiter.as_bytes());
            }
            joined.extend_from_slice(bytes);
        }
        push(Some(&joined));
    }
}

/// A facet request: a field, or a date field with a histogram interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetSpec {
    /// The field.
    pub field: String,
    /// `year`, `quarter` or `month` for a date histogram.
    pub interval: Option<String>,
}

/// Parses `_facet=field` / `_facet=date_field:month`.
pub fn parse_facet(schema: &TableSchema, text: &str) -> Result<FacetSpec> {
    let (name, interval) = match text.split_once(':') {
        Some((n, i)) => (n.trim(), Some(i.trim().to_owned())),
        None => (text.trim(), None),
    };
    let f = field(schema, "_facet", name)?;
    if let Some(i) = &interval {
        if !matches!(f.field_type, FieldType::Date | FieldType::Datetime) {
            return Err(bad(
                "_facet",
                text,
                format!("`{name}` is not a date; histograms apply to dates"),
                Vec::new(),
            ));
        }
        if !matches!(i.as_str(), "year" | "quarter" | "month") {
            return Err(bad(
                "_facet",
                text,
                format!("unknown interval `{i}`"),
                vec!["year".into(), "quarter".into(), "month".into()],
            ));
        }
    }
    Ok(FacetSpec {
        field: f.name.clone(),
        interval,
    })
}

/// Value counts of one facet under the request's filters: the `size` most frequent values
/// (every bucket for a date histogram), how many distinct values there are, and whether the
/// list is cut.
pub async fn facet(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    spec: &FacetSpec,
    size: usize,
) -> Result<Value> {
    let (_, schema, _) = resolve(catalog, id)?;
    let f = field(schema, "_facet", &spec.field)?;
    // Counted from the search index when it holds the field and the filters (a search adds
    // conditions of its own: then SQL).
    if spec.interval.is_none()
        && let Some(filters) = req.memory_filters()
        && let Some(indexes) = view.indexes_ready()
        && let Some(v) = indexes.search.facet(&req.table, &f.name, filters, size)
    {
        return Ok(v);
    }
    let c = ident(&f.name);
    let value_expr = match spec.interval.as_deref() {
        Some("year") => format!("CAST(date_part('year', {c}) AS BIGINT)"),
        Some("month") => format!("to_char({c}, '%Y-%m')"),
        Some(_) => format!(
            "concat(CAST(CAST(date_part('year', {c}) AS BIGINT) AS VARCHAR), '-Q', CAST(CAST(date_part('quarter', {c}) AS BIGINT) AS VARCHAR))"
        ),
        None => c.clone(),
    };
    let source = if f.field_type == FieldType::List {
        format!(
            "SELECT unnest({c}) AS value FROM {}{}",
            ident(&req.table),
            req.where_clause()
        )
    } else {
        format!(
            "SELECT {value_expr} AS value FROM {}{}",
            ident(&req.table),
            req.where_clause()
        )
    };
    let order = if spec.interval.is_some() {
        "value ASC NULLS LAST"
    } else {
        "count DESC, value ASC NULLS LAST"
    };
    let cap = if spec.interval.is_some() {
        100_000
    } else {
        size
    };
    let text = format!(
        "WITH g AS (SELECT value, count(*) AS count FROM ({source}) GROUP BY value) \
         SELECT value, count, (SELECT count(*) FROM g) AS distinct_values, \
         (SELECT sum(count) FROM g) AS total FROM g ORDER BY {order} LIMIT {}",
        cap + 1
    );
    let mut rows = json_rows(sql(view, &text).await?).await?;
    let truncated = rows.len() > cap;
    rows.truncate(cap);
    let distinct = rows
        .first()
        .and_then(|r| r.get("distinct_values"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let total = rows
        .first()
        .and_then(|r| r.get("total"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let shown: u64 = rows
        .iter()
        .filter_map(|r| r.get("count").and_then(Value::as_u64))
        .sum();
    let values: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "value": r.get("value").cloned().unwrap_or(Value::Null), "count": r.get("count").cloned().unwrap_or(Value::Null) }))
        .collect();
    Ok(json!({
        "field": spec.field,
        "interval": spec.interval,
        "values": values,
        "distinct_values": distinct,
        "total": total,
        "other": total - shown,
        "truncated": truncated,
    }))
}

/// The fields pass-rate statistics may be grouped by.
pub const STATS_GROUPS: [&str; 8] = [
    "plan_year",
    "product",
    "product_category",
    "enterprise_province_code",
    "enterprise_province",
    "check_level",
    "sampling_channel",
    "resource_id",
];

/// The Wilson score interval (95 %) of `passes` out of `n`.
pub fn wilson(passes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = passes as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Pass-rate statistics over `spot_checks` grouped by `group_by`, under the request's filters.
/// Only rows published in full-scope files (every sampled batch, pass and fail) form the
/// denominator; failures from fail-only lists are counted apart, without one.
pub async fn stats(
    view: &SnapshotView,
    req: &RowsRequest,
    group_by: &[String],
    max_groups: usize,
) -> Result<Value> {
    for g in group_by {
        if !STATS_GROUPS.contains(&g.as_str()) {
            return Err(bad(
                "group_by",
                g,
                format!("cannot group by `{g}`"),
                STATS_GROUPS.iter().map(|s| (*s).to_owned()).collect(),
            ));
        }
    }
    let cols: Vec<String> = group_by.iter().map(|g| ident(g)).collect();
    let select_groups = if cols.is_empty() {
        String::new()
    } else {
        format!("{}, ", cols.join(", "))
    };
    let group_clause = if cols.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", cols.join(", "))
    };
    let order_clause = if cols.is_empty() {
        String::new()
    } else {
        format!(
            " ORDER BY {}",
            cols.iter()
                .map(|c| format!("{c} ASC NULLS LAST"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let text = format!(
        "SELECT {select_groups}\
         sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END) AS batches, \
         sum(CASE WHEN publication_scope = 'full' AND result = 'fail' THEN 1 ELSE 0 END) AS fails, \
         sum(CASE WHEN publication_scope = 'fail_only' AND result = 'fail' THEN 1 ELSE 0 END) AS fail_only_failures, \
         count(*) AS rows \
         FROM {}{}{group_clause}{order_clause} LIMIT {}",
        ident(&req.table),
        req.where_clause(),
        max_groups + 1
    );
    let memory = req.memory_filters().and_then(|filters| {
        view.indexes_ready()?
            .search
            .stats_rows(&req.table, group_by, filters)
    });
    let mut rows = match memory {
        Some(rows) => rows,
        None => json_rows(sql(view, &text).await?).await?,
    };
    let truncated = rows.len() > max_groups;
    rows.truncate(max_groups);
    let groups: Vec<Value> = rows
        .into_iter()
        .filter(|r| r.get("rows").and_then(Value::as_u64).unwrap_or(0) > 0)
        .map(|r| {
            let n = r.get("batches").and_then(Value::as_u64).unwrap_or(0);
            let fails = r.get("fails").and_then(Value::as_u64).unwrap_or(0);
            let passes = n - fails.min(n);
            let mut g = Map::new();
            for col in group_by {
                g.insert(col.clone(), r.get(col).cloned().unwrap_or(Value::Null));
            }
            g.insert("batches".into(), json!(n));
            g.insert("passes".into(), json!(passes));
            g.insert("fails".into(), json!(fails));
            g.insert(
                "pass_rate".into(),
                if n == 0 {
                    Value::Null
                } else {
                    json!(passes as f64 / n as f64)
                },
            );
            g.insert(
                "pass_rate_ci95".into(),
                wilson(passes, n)
                    .map(|(lo, hi)| json!([lo, hi]))
                    .unwrap_or(Value::Null),
            );
            g.insert(
                "fail_only_failures".into(),
                r.get("fail_only_failures").cloned().unwrap_or(json!(0)),
            );
            Value::Object(g)
        })
        .collect();
    Ok(json!({
        "snapshot": view.id,
        "group_by": group_by,
        "denominator": "Pass rates count only batches published in full-scope files (every sampled batch, pass and fail). Failures published in fail-only lists have no denominator and are counted apart as fail_only_failures. 合格率只统计完整公布（合格与不合格批次均公布）的文件；仅公布不合格批次的名单单独计为 fail_only_failures。",
        "groups": groups,
        "truncated": truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists joined for a read of text as bytes come out as the schema's bytes, whether the
    /// items are text read as bytes or numbers; null items are left out, null lists stay null.
    #[test]
    fn lists_join_into_the_type_the_schema_asks() {
        use datafusion::arrow::array::{BinaryArray, ListArray};
        use datafusion::arrow::datatypes::Int64Type;
        let numbers = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None, Some(2)]),
            None,
            Some(vec![]),
        ]);
        let mut text = datafusion::arrow::array::ListBuilder::new(
            datafusion::arrow::array::BinaryViewBuilder::new(),
        );
        text.append_value([Some(b"1".as_slice()), None, Some(b"2".as_slice())]);
        text.append_null();
        text.append_value([None::<&[u8]>; 0]);
        let text: ArrayRef = std::sync::Arc::new(text.finish());
        let schema: SchemaRef = std::sync::Arc::new(Schema::new(vec![
            Field::new("n", DataType::Binary, true),
            Field::new("t", DataType::Binary, true),
        ]));
        let batch = RecordBatch::try_new(
            std::sync::Arc::new(Schema::new(vec![
                Field::new("n", numbers.data_type().clone(), true),
                Field::new("t", text.data_type().clone(), true),
            ])),
            vec![std::sync::Arc::new(numbers), text],
        )
        .expect("batch");
        let joined =
            join_lists(&batch, &[(0, ";".into()), (1, ";".into())], &schema).expect("joined");
        for c in joined.columns() {
            let c = c.as_any().downcast_ref::<BinaryArray>().expect("binary");
            assert_eq!(c.value(0), b"1;2");
            assert!(c.is_null(1));
            assert_eq!(c.value(2), b"");
        }
    }

    #[test]
    fn wilson_interval_brackets_the_rate() {
        let (lo, hi) = wilson(90, 100).expect("interval");
        assert!(lo < 0.9 && 0.9 < hi);
        assert!((lo - 0.8256).abs() < 1e-3, "{lo}");
        assert!((hi - 0.9448).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(0, 0), None);
        let (lo, hi) = wilson(10, 10).expect("interval");
        assert!(hi <= 1.0 && lo > 0.6);
    }

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let c = Cursor {
            snapshot: "abc".into(),
            sort: "product,record_id".into(),
            values: vec![json!("电热水壶"), json!("x'y")],
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        assert!(Cursor::decode("zz").is_err());
        assert!(Cursor::decode("7b7d").is_err());
    }
}
