//! The spot-check rows of a snapshot as one numbered sequence, read straight from its Parquet
//! files.
//!
//! A snapshot is immutable, so a row's place — its file (in manifest order) and its row in
//! that file — never changes: a `u32` position names it. The search index ([`crate::search`])
//! keeps positions instead of values, and a page of results is read back by position with the
//! files' page indexes (only the pages holding the wanted rows are decompressed), without
//! planning a query.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::file::metadata::PageIndexPolicy;

use std::sync::Mutex;

use crate::error::{QueryError, Result};

/// Threads decoding the files of an ordered read.
const DECODERS: usize = 2;

/// One spot-check file.
#[derive(Debug)]
struct SpotFile {
    table: String,
    path: PathBuf,
    /// Position of its first row.
    start: u32,
    rows: u32,
    meta: ArrowReaderMetadata,
}

/// The spot-check files of a snapshot, their rows numbered in manifest order.
#[derive(Debug, Default)]
pub struct SpotRows {
    files: Vec<SpotFile>,
    total: u32,
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
        let mut total: u64 = 0;
        for (table, path) in paths {
            let file = File::open(path).map_err(|e| unreadable(path, e))?;
            let meta = ArrowReaderMetadata::load(
                &file,
                ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
            )
            .map_err(|e| unreadable(path, e))?;
            let rows = meta.metadata().file_metadata().num_rows().max(0) as u64;
            let start = u32::try_from(total)
                .map_err(|_| unreadable(path, "more than 4,294,967,295 spot-check rows"))?;
            total += rows;
            files.push(SpotFile {
                table: table.clone(),
                path: path.clone(),
                start,
                rows: rows as u32,
                meta,
            });
        }
        let total = u32::try_from(total)
            .map_err(|_| QueryError::Output("more than 4,294,967,295 spot-check rows".into()))?;
        Ok(Self { files, total })
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

    fn builder(file: &SpotFile, columns: &[&str]) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let reader = File::open(&file.path).map_err(|e| unreadable(&file.path, e))?;
        let schema = file.meta.schema();
        let mut roots = Vec::with_capacity(columns.len());
        for c in columns {
            let i = schema
                .index_of(c)
                .map_err(|_| unreadable(&file.path, format!("no column `{c}`")))?;
            roots.push(i);
        }
        let mask = ProjectionMask::roots(file.meta.parquet_schema(), roots);
        Ok(
            ParquetRecordBatchReaderBuilder::new_with_metadata(reader, file.meta.clone())
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

    /// Reads the rows `selected` admits with `columns`, in `order` (every position once, each
    /// file's positions increasing: a file's order, or the files merged), calling `each` with
    /// up to `batch_rows` rows at a time until it returns `false`: the batches read so far
    /// (each passed through `prepare` first, columns in the order asked for) and which row of
    /// which batch comes next, so the caller writes the rows in order without copying them
    /// into one batch. One reader per file walks its selected rows (only their pages are
    /// read); two threads decode and prepare the next batch of each file ahead of need: memory
    /// holds two batches per file, whatever the size of the result.
    pub fn read_ordered(
        &self,
        selected: impl Fn(u32) -> bool,
        order: impl Iterator<Item = u32>,
        columns: &[&str],
        batch_rows: usize,
        prepare: &(dyn Fn(RecordBatch) -> Result<RecordBatch> + Sync),
        mut each: impl FnMut(&[RecordBatch], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<()> {
        type Reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader;
        type Decoded = Option<Result<RecordBatch>>;
        let mut readers: Vec<Mutex<Option<Reader>>> = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let mut selectors: Vec<RowSelector> = Vec::new();
            let mut any = false;
            let (mut run, mut run_selected) = (0usize, false);
            for p in file.start..file.start + file.rows {
                let s = selected(p);
                any |= s;
                if s != run_selected && run > 0 {
                    selectors.push(if run_selected {
                        RowSelector::select(run)
                    } else {
                        RowSelector::skip(run)
                    });
                    run = 0;
                }
                run_selected = s;
                run += 1;
            }
            if run > 0 {
                selectors.push(if run_selected {
                    RowSelector::select(run)
                } else {
                    RowSelector::skip(run)
                });
            }
            let reader = if any {
                Some(
                    Self::builder(file, columns)?
                        .with_row_selection(RowSelection::from(selectors))
                        .with_batch_size(batch_rows.clamp(1, 8192))
                        .build()
                        .map_err(|e| unreadable(&file.path, e))?,
                )
            } else {
                None
            };
            readers.push(Mutex::new(reader));
        }
        let files = readers.len();
        let (ask, asked) = std::sync::mpsc::channel::<usize>();
        let asked = Mutex::new(asked);
        let (mut give, mut given) = (Vec::with_capacity(files), Vec::with_capacity(files));
        for _ in 0..files {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Decoded>(1);
            give.push(tx);
            given.push(rx);
        }
        std::thread::scope(|scope| {
            // Decoders: each request names a file, whose next batch goes back on its own
            // channel (one request per file at a time, so a send never waits).
            for _ in 0..DECODERS {
                let (readers, asked, give) = (&readers, &asked, &give);
                scope.spawn(move || {
                    loop {
                        let next = asked
                            .lock()
                            .map_err(|_| ())
                            .and_then(|r| r.recv().map_err(|_| ()));
                        let Ok(f) = next else {
                            break;
                        };
                        let batch = match readers[f].lock() {
                            Ok(mut r) => r.as_mut().and_then(Iterator::next),
                            Err(_) => None,
                        };
                        let path = &self.files[f].path;
                        let batch = batch.map(|b| {
                            let b = b.map_err(|e| unreadable(path, e))?;
                            // The reader gives columns in file order: back to the order asked.
                            let indices: Vec<usize> = columns
                                .iter()
                                .filter_map(|c| b.schema().index_of(c).ok())
                                .collect();
                            let b = b
                                .project(&indices)
                                .map_err(|e| QueryError::Output(e.to_string()))?;
                            prepare(b)
                        });
                        let _ = give[f].send(batch);
                    }
                });
            }
            let ask = ask;
            for (f, r) in readers.iter().enumerate() {
                if r.lock().is_ok_and(|r| r.is_some()) {
                    let _ = ask.send(f);
                }
            }
            // Per file: its current batch (a slot in `slots`) and next row.
            let mut current: Vec<Option<(usize, usize)>> = vec![None; files];
            let mut slots: Vec<RecordBatch> = Vec::new();
            let mut picks: Vec<(usize, usize)> = Vec::with_capacity(batch_rows);
            let mut emit = |slots: &mut Vec<RecordBatch>,
                            picks: &mut Vec<(usize, usize)>,
                            current: &mut Vec<Option<(usize, usize)>>|
             -> Result<bool> {
                if picks.is_empty() {
                    return Ok(true);
                }
                let go_on = each(slots, picks)?;
                picks.clear();
                // Keep only the batches still being read, renumbered.
                let mut kept = Vec::new();
                for c in current.iter_mut().flatten() {
                    kept.push(slots[c.0].clone());
                    c.0 = kept.len() - 1;
                }
                *slots = kept;
                Ok(go_on)
            };
            for p in order.filter(|&p| selected(p)) {
                let f = self.file_of(p);
                let exhausted = match current.get(f) {
                    Some(Some((slot, row))) => *row >= slots[*slot].num_rows(),
                    Some(None) => true,
                    None => continue,
                };
                if exhausted {
                    let fewer =
                        || unreadable(&self.files[f].path, "fewer rows than the index selected");
                    let batch = given[f].recv().map_err(|_| fewer())?.ok_or_else(fewer)??;
                    // The one after, decoded while this one is read.
                    let _ = ask.send(f);
                    slots.push(batch);
                    current[f] = Some((slots.len() - 1, 0));
                }
                if let Some((slot, row)) = current[f].as_mut() {
                    picks.push((*slot, *row));
                    *row += 1;
                }
                if picks.len() >= batch_rows && !emit(&mut slots, &mut picks, &mut current)? {
                    return Ok(());
                }
            }
            emit(&mut slots, &mut picks, &mut current)?;
            Ok(())
        })
    }
}
