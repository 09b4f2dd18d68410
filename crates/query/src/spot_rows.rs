//! The spot-check rows of a snapshot as one numbered sequence, read straight from its Parquet
//! files.
//!
//! A snapshot is immutable, so a row's place — its file (in manifest order) and its row in
//! that file — never changes: a `u32` position names it. The search index ([`crate::search`])
//! keeps positions instead of values, and a page of results is read back by position without
//! planning a query: from a file's row store when the ingester wrote one (one 64-row block per
//! block touched, [`zhijian_catalog::rowstore`]), else with the file's page indexes (only the
//! pages holding the wanted rows are decompressed).

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::PageIndexPolicy;

use std::sync::Arc;

use zhijian_catalog::rowstore::{self, RowStore};

use crate::error::{QueryError, Result};

/// Threads decoding the files of an ordered read.
const DECODERS: usize = 2;

/// Which spot-check rows a read selects, one bit per position: built once per read, then
/// tested for every row of every row group the read touches.
#[derive(Debug, Clone, Default)]
pub struct RowSet {
    bits: Vec<u64>,
}

impl RowSet {
    /// No rows of `len` positions.
    pub fn new(len: u32) -> Self {
        Self {
            bits: vec![0; (len as usize).div_ceil(64)],
        }
    }

    /// Selects position `p` (a position past the end is ignored).
    pub fn insert(&mut self, p: u32) {
        if let Some(w) = self.bits.get_mut(p as usize / 64) {
            *w |= 1 << (p % 64);
        }
    }

    /// Whether position `p` is selected.
    pub fn contains(&self, p: u32) -> bool {
        self.bits
            .get(p as usize / 64)
            .is_some_and(|w| (w >> (p % 64)) & 1 == 1)
    }

    /// Unselects the positions of `range`.
    pub fn remove(&mut self, range: std::ops::Range<u32>) {
        for p in range {
            if let Some(w) = self.bits.get_mut(p as usize / 64) {
                *w &= !(1 << (p % 64));
            }
        }
    }

    /// How many positions of `range` are selected.
    pub fn count(&self, range: std::ops::Range<u32>) -> usize {
        let (start, end) = (range.start as usize, range.end as usize);
        if start >= end {
            return 0;
        }
        let (first, last) = (start / 64, (end - 1) / 64);
        let mut n = 0;
        for w in first..=last {
            let mut word = self.bits.get(w).copied().unwrap_or(0);
            if w == first {
                word &= u64::MAX << (start % 64);
            }
            let top = end - w * 64;
            if top < 64 {
                word &= (1u64 << top) - 1;
            }
            n += word.count_ones() as usize;
        }
        n
    }
}

/// What the decoding threads of an ordered read hand over per batch: the batch itself, or
/// its rows already encoded (CSV), as long as its rows can be counted.
pub trait Decoded: Send {
    /// Its rows.
    fn num_rows(&self) -> usize;
}

impl Decoded for RecordBatch {
    fn num_rows(&self) -> usize {
        RecordBatch::num_rows(self)
    }
}

/// One spot-check file.
#[derive(Debug)]
struct SpotFile {
    table: String,
    path: PathBuf,
    /// Position of its first row.
    start: u32,
    rows: u32,
    meta: ArrowReaderMetadata,
    /// The same file read with text as string views (see [`text_as`]).
    view_meta: ArrowReaderMetadata,
    /// The same file read with text as binary views (see [`bytes_meta`]).
    bytes_meta: ArrowReaderMetadata,
    /// Its rows again in small blocks, when the ingester wrote them
    /// ([`zhijian_catalog::rowstore`]): reads by position decode one block, not a page of
    /// every column.
    store: Option<RowStore>,
}

/// `schema` with text (also the items of lists) as `text` (string or binary views).
fn text_as(schema: &Schema, text: &DataType) -> Schema {
    fn view(t: &DataType, text: &DataType) -> DataType {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 => text.clone(),
            DataType::List(item) => DataType::List(Arc::new(
                item.as_ref()
                    .clone()
                    .with_data_type(view(item.data_type(), text)),
            )),
            other => other.clone(),
        }
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(view(f.data_type(), text)))
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// `meta` read with text as binary views of its bytes, not checked as UTF-8 again: the
/// text columns' UTF-8 annotation is dropped from the file's schema (the parquet reader
/// checks what it is told is text), the row groups and offset index are kept. Our files are
/// written by the ingester from Rust strings; a CSV export writes bytes.
fn bytes_meta(
    meta: &ArrowReaderMetadata,
) -> std::result::Result<ArrowReaderMetadata, ParquetError> {
    use datafusion::parquet::basic::{ConvertedType, LogicalType, Type as Physical};
    use datafusion::parquet::file::metadata::{FileMetaData, ParquetMetaDataBuilder};
    use datafusion::parquet::schema::types::{SchemaDescriptor, Type};
    fn plain(t: &Type) -> std::result::Result<Type, ParquetError> {
        let info = t.get_basic_info();
        let id = info.has_id().then(|| info.id());
        match t {
            Type::PrimitiveType { physical_type, .. } => {
                let text = *physical_type == Physical::BYTE_ARRAY
                    && (matches!(info.logical_type_ref(), Some(LogicalType::String))
                        || info.converted_type() == ConvertedType::UTF8);
                if !text {
                    return Ok(t.clone());
                }
                let mut b =
                    Type::primitive_type_builder(info.name(), Physical::BYTE_ARRAY).with_id(id);
                if info.has_repetition() {
                    b = b.with_repetition(info.repetition());
                }
                b.build()
            }
            Type::GroupType { fields, .. } => {
                let fields = fields
                    .iter()
                    .map(|f| plain(f).map(Arc::new))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let mut b = Type::group_type_builder(info.name())
                    .with_fields(fields)
                    .with_logical_type(info.logical_type_ref().cloned())
                    .with_converted_type(info.converted_type())
                    .with_id(id);
                if info.has_repetition() {
                    b = b.with_repetition(info.repetition());
                }
                b.build()
            }
        }
    }
    let parquet = meta.metadata();
    let file = parquet.file_metadata();
    let schema = SchemaDescriptor::new(Arc::new(plain(file.schema())?));
    let file = FileMetaData::new(
        file.version(),
        file.num_rows(),
        file.created_by().map(str::to_owned),
        file.key_value_metadata().cloned(),
        Arc::new(schema),
        file.column_orders().cloned(),
    );
    // The offset index finds the pages of the rows selected; the column index (min and max
    // per page, for predicates) is not used by a read by position and is not copied.
    let parquet = ParquetMetaDataBuilder::new(file)
        .set_row_groups(parquet.row_groups().to_vec())
        .set_offset_index(parquet.offset_index().cloned())
        .build();
    ArrowReaderMetadata::try_new(
        Arc::new(parquet),
        ArrowReaderOptions::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_schema(Arc::new(text_as(meta.schema(), &DataType::BinaryView))),
    )
}

/// How an ordered read gives text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// String views, checked as UTF-8 as they are decoded.
    Strings,
    /// Binary views of the bytes as stored, not checked again as UTF-8: for a
    /// format that writes bytes (CSV).
    Bytes,
}

/// The spot-check files of a snapshot, their rows numbered in manifest order.
#[derive(Debug, Default)]
pub struct SpotRows {
    files: Vec<SpotFile>,
    /// The row groups of all files, in position order.
    groups: Vec<Group>,
    total: u32,
}

/// A row group of a spot-check file: what an ordered read decodes on its own.
#[derive(Debug)]
struct Group {
    /// Its file (index in `files`).
    file: usize,
    /// Its index in the file.
    index: usize,
    /// Position of its first row.
    start: u32,
    rows: u32,
}

fn unreadable(path: &Path, problem: impl ToString) -> QueryError {
    QueryError::Data {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

impl SpotRows {
    /// Opens the files (their footers and page indexes, once).
    pub fn open(paths: &[(String, PathBuf)]) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut groups = Vec::new();
        let mut total: u64 = 0;
        for (table, path) in paths {
            let file = File::open(path).map_err(|e| unreadable(path, e))?;
            let meta = ArrowReaderMetadata::load(
                &file,
                ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
            )
            .map_err(|e| unreadable(path, e))?;
            let view_meta = ArrowReaderMetadata::try_new(
                meta.metadata().clone(),
                ArrowReaderOptions::new()
                    .with_page_index_policy(PageIndexPolicy::Optional)
                    .with_schema(Arc::new(text_as(meta.schema(), &DataType::Utf8View))),
            )
            .map_err(|e| unreadable(path, e))?;
            let bytes_meta = bytes_meta(&meta).map_err(|e| unreadable(path, e))?;
            let rows = meta.metadata().file_metadata().num_rows().max(0) as u64;
            let start = u32::try_from(total)
                .map_err(|_| unreadable(path, "more than 4,294,967,295 spot-check rows"))?;
            let mut at = start;
            for (index, group) in meta.metadata().row_groups().iter().enumerate() {
                let rows = u32::try_from(group.num_rows().max(0))
                    .map_err(|_| unreadable(path, "a row group of more than 2^32 rows"))?;
                groups.push(Group {
                    file: files.len(),
                    index,
                    start: at,
                    rows,
                });
                at = at.saturating_add(rows);
            }
            total += rows;
            let store = Self::open_store(path, &meta, rows);
            files.push(SpotFile {
                table: table.clone(),
                path: path.clone(),
                start,
                rows: rows as u32,
                meta,
                view_meta,
                bytes_meta,
                store,
            });
        }
        let total = u32::try_from(total)
            .map_err(|_| QueryError::Output("more than 4,294,967,295 spot-check rows".into()))?;
        Ok(Self {
            files,
            groups,
            total,
        })
    }

    /// The row store of the Parquet file at `path`, if the ingester wrote one that matches
    /// the file (one that does not is logged and left unused: the Parquet file answers).
    fn open_store(path: &Path, meta: &ArrowReaderMetadata, rows: u64) -> Option<RowStore> {
        let at = rowstore::path_for(path)?;
        if !at.exists() {
            return None;
        }
        match RowStore::open(&at, meta.schema().clone(), rows) {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::warn!(error = %e, "row store not used; rows are read from the Parquet file");
                None
            }
        }
    }

    /// How many files have a row store, of how many.
    pub fn stores(&self) -> (usize, usize) {
        let with = self.files.iter().filter(|f| f.store.is_some()).count();
        (with, self.files.len())
    }

    /// Rows in all files.
    pub fn len(&self) -> u32 {
        self.total
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The positions of a table's rows (`None` when it is not a spot-check table).
    pub fn range_of(&self, table: &str) -> Option<std::ops::Range<u32>> {
        if table == zhijian_catalog::SPOT_CHECK_SCHEMA {
            return Some(0..self.total);
        }
        self.files
            .iter()
            .find(|f| f.table == table)
            .map(|f| f.start..f.start + f.rows)
    }

    /// The file (its index in manifest order) holding position `p`.
    pub(crate) fn file_of(&self, p: u32) -> usize {
        self.files
            .partition_point(|f| f.start <= p)
            .saturating_sub(1)
    }

    /// The row group (index in `groups`) holding position `p`.
    fn group_of(&self, p: u32) -> usize {
        self.groups
            .partition_point(|g| g.start <= p)
            .saturating_sub(1)
    }

    /// As [`Self::group_of`], trying `hint` first (an ordered read mostly stays in the row
    /// group of the row before).
    fn group_near(&self, p: u32, hint: usize) -> usize {
        match self.groups.get(hint) {
            Some(g) if g.start <= p && p - g.start < g.rows => hint,
            _ => self.group_of(p),
        }
    }

    /// The number of files.
    pub(crate) fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The positions of each file's rows, in order.
    pub fn ranges(&self) -> impl Iterator<Item = std::ops::Range<u32>> + '_ {
        self.files.iter().map(|f| f.start..f.start + f.rows)
    }

    /// The Arrow schema of the rows (of the first file; all share the spot-check schema).
    pub fn schema(&self) -> Option<SchemaRef> {
        self.files.first().map(|f| f.meta.schema().clone())
    }

    /// The schema of an ordered read ([`Self::read_ordered`]): text as string views.
    pub fn view_schema(&self) -> Option<SchemaRef> {
        self.files.first().map(|f| f.view_meta.schema().clone())
    }

    /// The schema of an ordered read with text as bytes ([`Text::Bytes`]).
    pub fn bytes_schema(&self) -> Option<SchemaRef> {
        self.files.first().map(|f| f.bytes_meta.schema().clone())
    }

    /// The indexes of `columns` in `meta`'s schema, in the order given.
    fn column_indexes(
        file: &SpotFile,
        meta: &ArrowReaderMetadata,
        columns: &[&str],
    ) -> Result<Vec<usize>> {
        let schema = meta.schema();
        columns
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| unreadable(&file.path, format!("no column `{c}`")))
            })
            .collect()
    }

    fn builder(file: &SpotFile, columns: &[&str]) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        Self::builder_of(file, &file.meta, columns)
    }

    fn builder_of(
        file: &SpotFile,
        meta: &ArrowReaderMetadata,
        columns: &[&str],
    ) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let reader = File::open(&file.path).map_err(|e| unreadable(&file.path, e))?;
        let roots = Self::column_indexes(file, meta, columns)?;
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        Ok(
            ParquetRecordBatchReaderBuilder::new_with_metadata(reader, meta.clone())
                .with_projection(mask),
        )
    }

    /// Reads `columns` of every row in position order, calling `each` with the position of a
    /// batch's first row and the batch (columns in file order).
    pub fn scan(
        &self,
        columns: &[&str],
        mut each: impl FnMut(u32, &RecordBatch) -> Result<()>,
    ) -> Result<()> {
        for file in &self.files {
            let reader = Self::builder(file, columns)?
                .with_batch_size(64 * 1024)
                .build()
                .map_err(|e| unreadable(&file.path, e))?;
            let mut at = file.start;
            for batch in reader {
                let batch = batch.map_err(|e| unreadable(&file.path, e))?;
                each(at, &batch)?;
                at += batch.num_rows() as u32;
            }
        }
        Ok(())
    }

    /// The rows at `positions`, in that order, with `columns` (in the order given).
    pub fn fetch(&self, positions: &[u32], columns: &[&str]) -> Result<Option<RecordBatch>> {
        let mut sorted: Vec<u32> = positions.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut batches = Vec::new();
        let mut read: Vec<u32> = Vec::with_capacity(sorted.len());
        for file in &self.files {
            let end = file.start + file.rows;
            let lo = sorted.partition_point(|&p| p < file.start);
            let hi = sorted.partition_point(|&p| p < end);
            if lo == hi {
                continue;
            }
            if let Some(store) = &file.store {
                Self::fetch_blocks(file, store, &sorted[lo..hi], columns, &mut batches)?;
                read.extend_from_slice(&sorted[lo..hi]);
                continue;
            }
            let mut selectors = Vec::new();
            let mut next = 0usize;
            for &p in &sorted[lo..hi] {
                let row = (p - file.start) as usize;
                if row > next {
                    selectors.push(RowSelector::skip(row - next));
                }
                selectors.push(RowSelector::select(1));
                next = row + 1;
            }
            let reader = Self::builder(file, columns)?
                .with_row_selection(RowSelection::from(selectors))
                .build()
                .map_err(|e| unreadable(&file.path, e))?;
            for batch in reader {
                let batch = batch.map_err(|e| unreadable(&file.path, e))?;
                batches.push(batch);
            }
            read.extend_from_slice(&sorted[lo..hi]);
        }
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let schema = first.schema();
        let all =
            concat_batches(&schema, &batches).map_err(|e| QueryError::Output(e.to_string()))?;
        // Back to the order asked for, and to the columns' order as given.
        let order: Vec<u32> = positions
            .iter()
            .filter_map(|p| read.binary_search(p).ok().map(|i| i as u32))
            .collect();
        let taken = take_record_batch(&all, &UInt32Array::from(order))
            .map_err(|e| QueryError::Output(e.to_string()))?;
        let indices: Vec<usize> = columns
            .iter()
            .filter_map(|c| taken.schema().index_of(c).ok())
            .collect();
        taken
            .project(&indices)
            .map(Some)
            .map_err(|e| QueryError::Output(e.to_string()))
    }

    /// The rows at `positions` (rising, all in `file`) from its row store, `columns` in file
    /// order: one block decoded per block touched, as the Parquet read gives them.
    fn fetch_blocks(
        file: &SpotFile,
        store: &RowStore,
        positions: &[u32],
        columns: &[&str],
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        let mut projection = Self::column_indexes(file, &file.meta, columns)?;
        projection.sort_unstable();
        projection.dedup();
        let per_block = store.block_rows();
        let mut at = 0;
        while at < positions.len() {
            let block = (positions[at] - file.start) / per_block;
            let first = block * per_block;
            let end = positions[at..]
                .iter()
                .position(|&p| (p - file.start) / per_block != block)
                .map_or(positions.len(), |n| at + n);
            let rows = store
                .block(block as usize, Some(&projection))
                .map_err(|e| unreadable(&e.path, e.problem))?;
            let within: Vec<u32> = positions[at..end]
                .iter()
                .map(|&p| p - file.start - first)
                .collect();
            out.push(
                take_record_batch(&rows, &UInt32Array::from(within))
                    .map_err(|e| QueryError::Output(e.to_string()))?,
            );
            at = end;
        }
        Ok(())
    }
}

mod ordered;

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    use super::*;

    /// The `name` of row `i`: every fourth null.
    fn name_of(i: i64) -> Option<String> {
        (i.rem_euclid(4) != 0).then(|| format!("name, number {i} of a fairly long text"))
    }

    /// Three files of 12, 7 and 20 rows in row groups of 5, an `id` equal to each row's
    /// position and a `name` derived from it.
    fn files(dir: &Path) -> Vec<(String, PathBuf)> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let mut start = 0i64;
        let mut paths = Vec::new();
        for (f, rows) in [12i64, 7, 20].into_iter().enumerate() {
            let ids: Vec<i64> = (start..start + rows).collect();
            let names: Vec<Option<String>> = ids.iter().map(|&i| name_of(i)).collect();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(names)),
                ],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let path = dir.join(format!("{f}.parquet"));
            let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(5))
                .build();
            let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))
                .unwrap_or_else(|e| panic!("{e}"));
            w.write(&batch).unwrap_or_else(|e| panic!("{e}"));
            w.close().unwrap_or_else(|e| panic!("{e}"));
            paths.push((format!("t{f}"), path));
            start += rows;
        }
        paths
    }

    /// The `(id, name)` of every row an ordered read passes on, and how many calls it took.
    fn read(
        rows: &SpotRows,
        selected: impl Fn(u32) -> bool,
        order: &[u32],
        stop_after: usize,
        text: Text,
    ) -> (Vec<(i64, Option<String>)>, usize) {
        let mut out = Vec::new();
        let mut calls = 0;
        let mut set = RowSet::new(rows.len());
        for p in (0..rows.len()).filter(|&p| selected(p)) {
            set.insert(p);
        }
        rows.read_ordered(
            &set,
            order.iter().copied(),
            &["name", "id"],
            text,
            3,
            &|b| Ok(b),
            |slots, picks| {
                calls += 1;
                for &(b, r) in picks {
                    let names = slots[b].column(0);
                    let ids = slots[b].column(1).as_primitive::<Int64Type>();
                    let name = names.is_valid(r).then(|| match text {
                        Text::Strings => names.as_string_view().value(r).to_owned(),
                        Text::Bytes => {
                            String::from_utf8_lossy(names.as_binary_view().value(r)).into_owned()
                        }
                    });
                    out.push((ids.value(r), name));
                }
                Ok(calls < stop_after)
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (out, calls)
    }

    /// A read by position answers the same rows from the files' row stores as from their
    /// Parquet pages: across files, out of order, repeated, with the columns asked for.
    #[test]
    fn fetch_reads_the_row_store_and_the_parquet_file_alike() {
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use zhijian_catalog::rowstore::RowStoreWriter;

        let dir =
            std::env::temp_dir().join(format!("zhijian-spot-rows-{}-store", std::process::id()));
        let paths = files(&dir.join("data"));
        let rows_dir = dir.join("rows");
        std::fs::create_dir_all(&rows_dir).unwrap_or_else(|e| panic!("{e}"));
        for (_, path) in &paths {
            let file = File::open(path).unwrap_or_else(|e| panic!("{e}"));
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(file).unwrap_or_else(|e| panic!("{e}"));
            let schema = reader.schema().clone();
            let at = rowstore::path_for(path).unwrap_or_else(|| panic!("{}", path.display()));
            let out = File::create(&at).unwrap_or_else(|e| panic!("{e}"));
            let mut w = RowStoreWriter::new(out, &at, schema).unwrap_or_else(|e| panic!("{e}"));
            for batch in reader.build().unwrap_or_else(|e| panic!("{e}")) {
                w.write(&batch.unwrap_or_else(|e| panic!("{e}")))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            w.finish().unwrap_or_else(|e| panic!("{e}"));
        }
        let positions = [38, 0, 12, 5, 12, 19, 18, 11, 30, 7];
        let with = SpotRows::open(&paths).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(with.stores(), (3, 3));
        let from_store = with
            .fetch(&positions, &["name", "id"])
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("rows"));
        std::fs::remove_dir_all(&rows_dir).unwrap_or_else(|e| panic!("{e}"));
        let without = SpotRows::open(&paths).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(without.stores(), (0, 3));
        let from_parquet = without
            .fetch(&positions, &["name", "id"])
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("rows"));
        assert_eq!(from_store.columns(), from_parquet.columns());
        let ids: Vec<i64> = from_store
            .column(1)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec();
        assert_eq!(ids, positions.map(i64::from).to_vec());
        let names = from_store.column(0).as_string::<i32>();
        assert_eq!(names.is_valid(1), name_of(0).is_some());
        assert_eq!(names.value(0), name_of(38).unwrap_or_default());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Rows come back in the order asked, across files and row groups interleaved more than
    /// the read keeps open ahead, with the columns asked for, nulls kept; a read the caller
    /// stops ends there.
    #[test]
    fn ordered_reads_follow_an_interleaved_order_across_row_groups() {
        let dir =
            std::env::temp_dir().join(format!("zhijian-spot-rows-{}-ordered", std::process::id()));
        let rows = SpotRows::open(&files(&dir)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 39);
        assert_eq!(rows.groups.len(), 3 + 2 + 4);
        let selected = |p: u32| p % 3 != 1;
        // Round robin over the three files, each file's positions rising.
        let mut queues: Vec<Vec<u32>> = rows
            .ranges()
            .map(|r| r.filter(|&p| selected(p)).rev().collect())
            .collect();
        let mut order = Vec::new();
        while queues.iter().any(|q| !q.is_empty()) {
            for q in &mut queues {
                order.extend(q.pop());
            }
        }
        let expected: Vec<(i64, Option<String>)> = order
            .iter()
            .map(|&p| (i64::from(p), name_of(i64::from(p))))
            .collect();
        let (all, calls) = read(&rows, selected, &order, usize::MAX, Text::Strings);
        assert_eq!(all, expected);
        assert_eq!(calls, expected.len().div_ceil(3));
        // Text as the bytes stored: the same rows.
        let (all, _) = read(&rows, selected, &order, usize::MAX, Text::Bytes);
        assert_eq!(all, expected);
        // One file after another, as the default order mostly reads.
        let sorted: Vec<u32> = (0..rows.len()).filter(|&p| selected(p)).collect();
        let (all, _) = read(&rows, selected, &sorted, usize::MAX, Text::Strings);
        assert_eq!(all.len(), sorted.len());
        assert!(all.iter().zip(&sorted).all(|(r, &p)| r.0 == i64::from(p)));
        // Stopped by the caller after two calls of three rows.
        let (some, calls) = read(&rows, selected, &order, 2, Text::Bytes);
        assert_eq!((some.len(), calls), (6, 2));
        assert_eq!(some, expected[..6]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
