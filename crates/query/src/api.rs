//! What the data API asks of a snapshot: filtered rows (a page with a keyset cursor, or the
//! whole result as a stream), exact counts, facets and pass-rate statistics.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use futures::StreamExt;
use serde_json::{Map, Value};
use zhijian_catalog::{Catalog, TableSchema};

use crate::accel::{self, Answered, Ask, Decline, Held, Route};
use crate::error::{QueryError, Result};
use crate::filter::{SortKey, bad, ident};
use crate::search::SearchIndex;
use crate::warehouse::SnapshotView;

mod aggregate;
mod export;
mod request;

pub use aggregate::{
    DENOMINATOR, FacetSpec, STATS_GROUPS, facet, facet_by_sql, parse_facet, stats, wilson,
};
#[cfg(test)]
use export::join_lists;
pub use export::{OrderedRows, ordered_rows, picked_batch};
use request::sort_spec;
pub use request::{
    CountMode, Cursor, DEFAULT_PAGE, FacetsRequest, MAX_FILTERS, MAX_PAGE, RowsRequest,
    SEARCH_OFFSET_MAX, SEARCH_PAGE, SEARCH_PAGE_MAX, SearchRequest, StatsRequest, number, one,
    only, resolve,
};

/// Plans SQL the API built (never client text) on a snapshot, in the governed request's
/// session (its memory pool; see [`crate::govern`]).
async fn sql(view: &SnapshotView, text: &str) -> Result<DataFrame> {
    tracing::debug!(sql = text, "api query");
    Ok(view.session().sql(text).await?)
}

/// Runs SQL built by a surface of ours (never client text) on a snapshot and collects its
/// (small) result as JSON objects.
pub async fn query_json(view: &SnapshotView, text: &str) -> Result<Vec<Map<String, Value>>> {
    json_rows(sql(view, text).await?).await
}

/// Collects a small result (a page, a facet, a count) as JSON objects: heavy work of the
/// governed request (a heavy slot, the governor's runtime, cancelled with the request).
pub(crate) async fn json_rows(df: DataFrame) -> Result<Vec<Map<String, Value>>> {
    crate::govern::heavy(collect_json(df)).await
}

/// Collects a small result as JSON objects here, outside any request's governance (the
/// snapshot index's own build).
pub(crate) async fn collect_json(df: DataFrame) -> Result<Vec<Map<String, Value>>> {
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
    /// Who answered (the rows and the count), and why.
    pub route: Route,
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
        && let Ok(found) = accel::try_index(view, req.target(false), Ask::Lookup, |indexes| {
            lookup(&indexes.search, schema, req, id)
        })?
    {
        return Ok(Page {
            route: found.route,
            ..found.value
        });
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
    let rows_fut = accel::answer(
        view,
        req.target(true),
        Ask::Page,
        |index| memory_page(index, schema, req, &extra, limit + 1),
        || async { json_rows(sql(view, &text).await?).await },
    );
    let count_fut = async {
        match req.count {
            CountMode::None => Ok::<_, QueryError>(None),
            CountMode::Exact => accel::answer(
                view,
                req.target(true),
                Ask::Page,
                |index| Ok(index.count(&req.table, req.page_filters().unwrap_or_default())),
                || async {
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
                        .and_then(Value::as_u64)
                        .unwrap_or(0))
                },
            )
            .await
            .map(Some),
        }
    };
    let (rows, count) = futures::join!(rows_fut, count_fut);
    let Answered {
        value: mut rows,
        mut route,
    } = rows?;
    let count = match count? {
        Some(n) => {
            route = route.and(n.route);
            Some(n.value)
        }
        None => None,
    };
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
        route,
    })
}

/// A page of a spot-check table under filters the search index holds, in an order it knows
/// (see `SearchIndex::page_positions`), read by position.
fn memory_page(
    index: &SearchIndex,
    schema: &TableSchema,
    req: &RowsRequest,
    extra: &[&SortKey],
    want: usize,
) -> Result<Held<Vec<Map<String, Value>>>> {
    let filters = req.page_filters().unwrap_or_default();
    let sort: Vec<(String, bool)> = req.sort.iter().map(|k| (k.field.clone(), k.desc)).collect();
    let after = req.cursor.as_ref().map(|c| c.values.as_slice());
    let positions = match index.page_positions(&req.table, filters, &sort, after, want)? {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let mut columns: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => schema.fields.iter().map(|f| f.name.clone()).collect(),
    };
    columns.extend(extra.iter().map(|k| k.field.clone()));
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    Ok(Ok(match index.spot_rows().fetch(&positions, &names)? {
        Some(batch) => batch_to_json(&batch)?,
        None => Vec::new(),
    }))
}

/// A point lookup of a spot-check row by record id: its position from the index, the row
/// read by position (the pages holding it only), no query planned. `None` when the table is
/// not a spot-check table.
fn lookup(
    index: &SearchIndex,
    schema: &TableSchema,
    req: &RowsRequest,
    id: &str,
) -> Result<Held<Page>> {
    let rows = index.spot_rows();
    let Some(range) = rows.range_of(&req.table) else {
        return Ok(Err(Decline("not a spot-check table".into())));
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
    Ok(Ok(Page {
        rows: found,
        count,
        next_cursor: None,
        route: Route::index("lookup"),
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

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, ArrayRef};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use serde_json::json;

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
