//! Whole results streamed in the default order, read by position from the files when the
//! index holds the filters (lists joined into text for CSV).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;
use zhijian_catalog::{Catalog, FieldType, SPOT_CHECK_SCHEMA, TableSchema, sort_order};

use super::*;
use crate::accel::{self, Answered, Ask, Decline, Held, Route};
use crate::error::{QueryError, Result};
use crate::warehouse::SnapshotView;

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
/// when the index is built and holds the filters and the order (else the SQL route: then
/// [`rows_frame`]). `flatten_lists` is for CSV: lists are joined into text as [`rows_frame`]
/// joins them, and text is read as the bytes stored (binary columns, which only a CSV writer
/// that takes them as text should be given: see `spot_rows::Text::Bytes`).
pub fn ordered_rows(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    flatten_lists: bool,
) -> Result<std::result::Result<Answered<OrderedRows>, Route>> {
    let (_, schema, _) = resolve(catalog, id)?;
    let default = sort_order(SPOT_CHECK_SCHEMA, &[]);
    let default_sort = req.sort.len() == default.len()
        && req
            .sort
            .iter()
            .zip(&default)
            .all(|(k, d)| k.field == *d && !k.desc);
    accel::try_index(
        view,
        req.target(true),
        Ask::Export { default_sort },
        |indexes| ordered_from(indexes, schema, req, flatten_lists),
    )
}

pub(crate) fn ordered_from(
    indexes: std::sync::Arc<crate::search::Indexes>,
    schema: &TableSchema,
    req: &RowsRequest,
    flatten_lists: bool,
) -> Result<Held<OrderedRows>> {
    let filters = req.page_filters().unwrap_or_default();
    if let Err(why) = indexes.search.reads_default_order(&req.table, filters) {
        return Ok(Err(why));
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
        return Ok(Err(Decline("no spot-check files".into())));
    };
    let columns: Vec<String> = match &req.fields {
        Some(f) => f.clone(),
        None => schema.fields.iter().map(|f| f.name.clone()).collect(),
    };
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut fields = Vec::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let Ok(f) = file_schema.field_with_name(name) else {
            return Ok(Err(Decline(format!("field {name} is not in the files"))));
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
    Ok(Ok(OrderedRows {
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
pub(crate) fn join_lists(
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
pub(crate) fn join_rows<'a>(
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
