//! External sort of a resource's rows in bounded memory.
//!
//! Rows arrive in raw order a batch at a time. While they fit the budget they stay in memory
//! and are sorted there at the end (the common case: most resources are small). Past the
//! budget, the rows held so far are sorted and spilled as a run (Arrow IPC, LZ4) into the
//! warehouse's temporary area, and the runs are merged with a k-way merge on the sort columns'
//! row encoding (`arrow-row`), at most [`FAN_IN`] at a time (longer lists of runs are merged in
//! passes). The order is the one a sort of the whole resource gives: the sort columns end with
//! `record_id`, which is unique, so no two rows tie.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_row::{OwnedRow, RowConverter, Rows, SortField};
use arrow_schema::{ArrowError, SchemaRef};

use crate::error::{IngestError, Result};
use crate::output::CHUNK;

/// Runs merged at once; a longer list is merged in passes.
pub const FAN_IN: usize = 48;

/// Rows per batch in a run file: what a merge holds of each run.
const RUN_BATCH: usize = 2048;

/// The IPC options of temporary files: LZ4 frames, fast to write and read back.
pub(crate) fn ipc_options() -> std::result::Result<IpcWriteOptions, ArrowError> {
    IpcWriteOptions::default().try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))
}

/// Sorts one resource's rows.
pub(crate) struct Sorter {
    id: String,
    schema: SchemaRef,
    sort: Vec<usize>,
    budget: usize,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
    runs: Vec<PathBuf>,
    tmp: PathBuf,
}

impl Sorter {
    /// A sorter of resource `id`'s rows by the columns `sort` (those of `schema`), holding at
    /// most about `budget` bytes of rows before spilling a run into `tmp`.
    pub(crate) fn new(
        tmp: &Path,
        id: &str,
        schema: SchemaRef,
        sort: &[String],
        budget: usize,
    ) -> Self {
        let sort = sort
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .collect();
        Self {
            id: id.to_owned(),
            schema,
            sort,
            budget,
            pending: Vec::new(),
            pending_bytes: 0,
            runs: Vec::new(),
            tmp: tmp.to_path_buf(),
        }
    }

    fn fail(&self, problem: impl ToString) -> IngestError {
        IngestError::Publish {
            resource: self.id.clone(),
            problem: problem.to_string(),
        }
    }

    /// Takes the next rows (in raw order).
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        if self.pending_bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// The rows held, sorted as one batch.
    fn sorted_pending(&mut self) -> Result<RecordBatch> {
        let batches = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let batch = arrow_select::concat::concat_batches(&self.schema, &batches)
            .map_err(|e| self.fail(e))?;
        drop(batches);
        if batch.num_rows() <= 1 {
            return Ok(batch);
        }
        let columns: Vec<arrow_ord::sort::SortColumn> = self
            .sort
            .iter()
            .map(|&i| arrow_ord::sort::SortColumn {
                values: batch.column(i).clone(),
                options: None,
            })
            .collect();
        let idx = arrow_ord::sort::lexsort_to_indices(&columns, None).map_err(|e| self.fail(e))?;
        arrow_select::take::take_record_batch(&batch, &idx).map_err(|e| self.fail(e))
    }

    /// Sorts the rows held and writes them as a run.
    fn spill(&mut self) -> Result<()> {
        let batch = self.sorted_pending()?;
        let path = self
            .tmp
            .join(format!("{}-run-{}.arrow", self.id, self.runs.len()));
        let mut w = RunWriter::create(&path, &self.schema).map_err(|e| self.fail(e))?;
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = RUN_BATCH.min(batch.num_rows() - offset);
            w.write(&batch.slice(offset, len))
                .map_err(|e| self.fail(e))?;
            offset += len;
        }
        w.finish().map_err(|e| self.fail(e))?;
        tracing::debug!(resource = self.id.as_str(), run = %path.display(), rows = batch.num_rows(), "run spilled");
        self.runs.push(path);
        Ok(())
    }

    /// The rows in order, in batches of [`CHUNK`] rows (the last one shorter).
    pub(crate) fn finish(mut self) -> Result<Sorted> {
        if self.runs.is_empty() {
            let batch = self.sorted_pending()?;
            return Ok(Sorted::Memory { batch, offset: 0 });
        }
        if !self.pending.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        let mut pass = 0;
        while runs.len() > FAN_IN {
            let group: Vec<PathBuf> = runs.drain(..FAN_IN).collect();
            let path = self.tmp.join(format!("{}-merge-{pass}.arrow", self.id));
            pass += 1;
            let mut merger = Merger::open(&group, &self.schema, &self.sort, RUN_BATCH)
                .map_err(|e| self.fail(e))?;
            let mut w = RunWriter::create(&path, &self.schema).map_err(|e| self.fail(e))?;
            while let Some(batch) = merger.next_batch().map_err(|e| self.fail(e))? {
                w.write(&batch).map_err(|e| self.fail(e))?;
            }
            w.finish().map_err(|e| self.fail(e))?;
            for run in group {
                let _ = std::fs::remove_file(run);
            }
            runs.push(path);
        }
        let merger =
            Merger::open(&runs, &self.schema, &self.sort, CHUNK).map_err(|e| self.fail(e))?;
        Ok(Sorted::Runs {
            merger,
            files: runs,
            id: self.id,
        })
    }
}

/// A run being written.
struct RunWriter {
    w: FileWriter<BufWriter<File>>,
}

impl RunWriter {
    fn create(path: &Path, schema: &SchemaRef) -> std::result::Result<Self, ArrowError> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(Self {
            w: FileWriter::try_new_with_options(file, schema, ipc_options()?)?,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> std::result::Result<(), ArrowError> {
        self.w.write(batch)
    }

    fn finish(mut self) -> std::result::Result<(), ArrowError> {
        self.w.finish()
    }
}

/// A resource's rows in order.
pub(crate) enum Sorted {
    /// Sorted in memory.
    Memory {
        /// All rows.
        batch: RecordBatch,
        /// Rows handed out so far.
        offset: usize,
    },
    /// Merged from runs on disk (deleted when done).
    Runs {
        /// The merge.
        merger: Merger,
        /// The run files.
        files: Vec<PathBuf>,
        /// The resource.
        id: String,
    },
}

impl Iterator for Sorted {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Memory { batch, offset } => {
                if *offset >= batch.num_rows() {
                    return None;
                }
                let len = CHUNK.min(batch.num_rows() - *offset);
                let out = batch.slice(*offset, len);
                *offset += len;
                Some(Ok(out))
            }
            Self::Runs { merger, id, .. } => merger
                .next_batch()
                .map_err(|e| IngestError::Publish {
                    resource: id.clone(),
                    problem: e.to_string(),
                })
                .transpose(),
        }
    }
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Self::Runs { files, .. } = self {
            for f in files {
                let _ = std::fs::remove_file(f);
            }
        }
    }
}

/// One run's reader and the row it is at.
struct Run {
    reader: FileReader<BufReader<File>>,
    batch: RecordBatch,
    rows: Rows,
    pos: usize,
    slot: usize,
}

/// A k-way merge of sorted runs.
pub(crate) struct Merger {
    runs: Vec<Option<Run>>,
    heap: BinaryHeap<Reverse<(OwnedRow, usize)>>,
    slots: Vec<RecordBatch>,
    converter: RowConverter,
    sort: Vec<usize>,
    out_rows: usize,
}

impl Merger {
    /// Opens the runs at `paths`, merging by the columns `sort`, `out_rows` rows per batch.
    fn open(
        paths: &[PathBuf],
        schema: &SchemaRef,
        sort: &[usize],
        out_rows: usize,
    ) -> std::result::Result<Self, ArrowError> {
        let converter = RowConverter::new(
            sort.iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect(),
        )?;
        let mut m = Self {
            runs: Vec::with_capacity(paths.len()),
            heap: BinaryHeap::with_capacity(paths.len()),
            slots: Vec::new(),
            converter,
            sort: sort.to_vec(),
            out_rows,
        };
        for (i, path) in paths.iter().enumerate() {
            let mut reader = FileReader::try_new(BufReader::new(File::open(path)?), None)?;
            match m.load(&mut reader)? {
                Some((batch, rows)) => {
                    m.heap.push(Reverse((rows.row(0).owned(), i)));
                    m.slots.push(batch.clone());
                    m.runs.push(Some(Run {
                        reader,
                        batch,
                        rows,
                        pos: 0,
                        slot: m.slots.len() - 1,
                    }));
                }
                None => m.runs.push(None),
            }
        }
        Ok(m)
    }

    /// The next non-empty batch of a run and its sort keys.
    fn load(
        &self,
        reader: &mut FileReader<BufReader<File>>,
    ) -> std::result::Result<Option<(RecordBatch, Rows)>, ArrowError> {
        for batch in reader.by_ref() {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let columns: Vec<_> = self.sort.iter().map(|&i| batch.column(i).clone()).collect();
            let rows = self.converter.convert_columns(&columns)?;
            return Ok(Some((batch, rows)));
        }
        Ok(None)
    }

    /// The next rows in order, or `None` when every run is exhausted.
    fn next_batch(&mut self) -> std::result::Result<Option<RecordBatch>, ArrowError> {
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(self.out_rows);
        while picks.len() < self.out_rows {
            let Some(Reverse((_, r))) = self.heap.pop() else {
                break;
            };
            let Some(mut run) = self.runs[r].take() else {
                continue;
            };
            picks.push((run.slot, run.pos));
            run.pos += 1;
            if run.pos == run.batch.num_rows() {
                match self.load(&mut run.reader)? {
                    Some((batch, rows)) => {
                        self.slots.push(batch.clone());
                        run.slot = self.slots.len() - 1;
                        run.batch = batch;
                        run.rows = rows;
                        run.pos = 0;
                    }
                    None => continue,
                }
            }
            self.heap.push(Reverse((run.rows.row(run.pos).owned(), r)));
            self.runs[r] = Some(run);
        }
        if picks.is_empty() {
            return Ok(None);
        }
        let refs: Vec<&RecordBatch> = self.slots.iter().collect();
        let out = arrow_select::interleave::interleave_record_batch(&refs, &picks)?;
        // Only the batches runs are still in are needed for the next output.
        let mut slots = Vec::with_capacity(self.runs.len());
        for run in self.runs.iter_mut().flatten() {
            slots.push(run.batch.clone());
            run.slot = slots.len() - 1;
        }
        self.slots = slots;
        Ok(Some(out))
    }
}
