//! Ordered reads: the rows a selection admits, in an order across files and row groups,
//! decoded on two threads ahead of need.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::{RowSelection, RowSelector};

use super::*;

impl SpotRows {
    /// Reads the rows `selected` admits with `columns` (text as string or binary views, see
    /// [`Text`]: a view points into the decompressed page or dictionary, where a `Utf8` array
    /// copies every value), in `order` (the selected positions, each once, each file's
    /// positions increasing: a file's order, or the files merged), calling `each` with up to `batch_rows` rows at a time until
    /// it returns `false`: the batches read so far and which row of which batch comes next, so
    /// the caller writes the rows in order without copying them into one batch. Each batch
    /// (columns in the order asked for) goes through `prepare` on the decoding thread that
    /// read it, while its pages are still in that core's cache: it may encode the rows there
    /// (CSV), leaving `each` only their bytes to copy.
    ///
    /// Each row group of each file is read by its own reader over its selected rows (only
    /// their pages are read). A look-ahead walk of `order` opens the row groups in the order
    /// they will be needed, two at a time, and two threads decode the open ones' next batches
    /// ahead of need, the first needed first: a result that walks one file after another (the
    /// default order mostly does) still decodes on both threads. Memory holds a few batches
    /// per open row group, whatever the size of the result.
    #[allow(clippy::too_many_arguments)]
    pub fn read_ordered<T: Decoded, I: Iterator<Item = u32> + Clone>(
        &self,
        selected: &RowSet,
        order: I,
        columns: &[&str],
        text: Text,
        batch_rows: usize,
        prepare: &(dyn Fn(RecordBatch) -> Result<T> + Sync),
        mut each: impl FnMut(&[T], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<()> {
        let groups = self.groups.len();
        // Each row group's selected rows are counted now; its reader (and its selection)
        // is built when it is first decoded and dropped after its last batch, so only the
        // open row groups hold one.
        let counts: Vec<usize> = self
            .groups
            .iter()
            .map(|g| selected.count(g.start..g.start + g.rows))
            .collect();
        let readers: Vec<Mutex<Option<Reader>>> = (0..groups).map(|_| Mutex::new(None)).collect();
        let reader_of = |g: usize| -> Result<Reader> {
            let group = &self.groups[g];
            let file = &self.files[group.file];
            let mut selectors: Vec<RowSelector> = Vec::new();
            let (mut run, mut run_selected) = (0usize, false);
            for p in group.start..group.start + group.rows {
                let s = selected.contains(p);
                if s != run_selected && run > 0 {
                    selectors.push(selector(run_selected, run));
                    run = 0;
                }
                run_selected = s;
                run += 1;
            }
            if run > 0 {
                selectors.push(selector(run_selected, run));
            }
            let meta = match text {
                Text::Strings => &file.view_meta,
                Text::Bytes => &file.bytes_meta,
            };
            Self::builder_of(file, meta, columns)?
                .with_row_groups(vec![group.index])
                .with_row_selection(RowSelection::from(selectors))
                .with_batch_size(batch_rows.clamp(1, 8192))
                .build()
                .map_err(|e| unreadable(&file.path, e))
        };
        let flow = Flow::new(groups);
        // The next batch of row group `g`, prepared (`None`: its reader has no more rows).
        let next_batch = |g: usize| -> Option<Result<T>> {
            let path = &self.files[self.groups[g].file].path;
            let mut reader = readers[g].lock().ok()?;
            if reader.is_none() {
                match reader_of(g) {
                    Ok(built) => *reader = Some(built),
                    Err(e) => return Some(Err(e)),
                }
            }
            let batch = reader.as_mut().and_then(Iterator::next);
            let rows = batch
                .as_ref()
                .and_then(|b| b.as_ref().ok())
                .map_or(0, RecordBatch::num_rows);
            if batch.is_none() || flow.decoded_all(g, rows, counts[g]) {
                *reader = None;
            }
            drop(reader);
            batch.map(|b| {
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
            })
        };
        std::thread::scope(|scope| {
            for _ in 0..DECODERS {
                let (flow, counts, next_batch) = (&flow, &counts, &next_batch);
                scope.spawn(move || {
                    while let Some(g) = flow.next_to_decode() {
                        flow.decoded(g, next_batch(g), counts[g]);
                    }
                });
            }
            let read = self.consume(&flow, order, &counts, batch_rows, &mut each);
            flow.stop();
            read
        })
    }

    /// The reading side of [`Self::read_ordered`]: walks `order`, opening row groups ahead of
    /// need and taking their decoded batches.
    fn consume<T: Decoded, I: Iterator<Item = u32> + Clone>(
        &self,
        flow: &Flow<T>,
        order: I,
        counts: &[usize],
        batch_rows: usize,
        each: &mut impl FnMut(&[T], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<()> {
        let groups = counts.len();
        let mut ahead = order.clone();
        let mut opened = vec![false; groups];
        let mut left: Vec<usize> = counts.to_vec();
        // Row groups opened whose rows are not all read yet.
        let mut unfinished = 0usize;
        let mut ahead_group = 0;
        let mut open_more = |opened: &mut Vec<bool>, unfinished: &mut usize| {
            while *unfinished < OPEN_AHEAD {
                let Some(p) = ahead.next() else {
                    break;
                };
                let g = self.group_near(p, ahead_group);
                ahead_group = g;
                if !opened[g] {
                    opened[g] = true;
                    *unfinished += 1;
                    flow.open(g);
                }
            }
        };
        open_more(&mut opened, &mut unfinished);
        // Per row group: its current batch (a slot in `slots`) and next row.
        let mut current: Vec<Option<(usize, usize)>> = vec![None; groups];
        let mut slots: Vec<T> = Vec::new();
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(batch_rows);
        let mut emit = |slots: &mut Vec<T>,
                        picks: &mut Vec<(usize, usize)>,
                        current: &mut Vec<Option<(usize, usize)>>|
         -> Result<bool> {
            if picks.is_empty() {
                return Ok(true);
            }
            let go_on = each(slots, picks)?;
            picks.clear();
            // Keep only the batches still being read (one per row group), renumbered.
            let mut old: Vec<Option<T>> = slots.drain(..).map(Some).collect();
            for c in current.iter_mut().flatten() {
                if let Some(batch) = old.get_mut(c.0).and_then(Option::take) {
                    slots.push(batch);
                    c.0 = slots.len() - 1;
                }
            }
            Ok(go_on)
        };
        let mut g = 0;
        for p in order {
            g = self.group_near(p, g);
            let exhausted = match current[g] {
                Some((slot, row)) => row >= slots[slot].num_rows(),
                None => true,
            };
            if exhausted {
                if !opened[g] {
                    // Needed before the look-ahead reached it: the result interleaves more
                    // row groups than are open.
                    opened[g] = true;
                    unfinished += 1;
                    flow.open(g);
                }
                let path = &self.files[self.groups[g].file].path;
                let batch = flow
                    .take(g)
                    .ok_or_else(|| unreadable(path, "fewer rows than the index selected"))??;
                slots.push(batch);
                current[g] = Some((slots.len() - 1, 0));
            }
            if let Some((slot, row)) = current[g].as_mut() {
                picks.push((*slot, *row));
                *row += 1;
            }
            left[g] = left[g].saturating_sub(1);
            if left[g] == 0 {
                current[g] = None;
                unfinished = unfinished.saturating_sub(1);
                open_more(&mut opened, &mut unfinished);
            }
            if picks.len() >= batch_rows && !emit(&mut slots, &mut picks, &mut current)? {
                return Ok(());
            }
        }
        emit(&mut slots, &mut picks, &mut current)?;
        Ok(())
    }
}

type Reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader;

/// A run of rows, selected or skipped.
fn selector(selected: bool, rows: usize) -> RowSelector {
    if selected {
        RowSelector::select(rows)
    } else {
        RowSelector::skip(rows)
    }
}

/// Row groups an ordered read keeps open ahead of the one it reads.
const OPEN_AHEAD: usize = 2;

/// Batches decoded ahead per open row group.
const DECODED_AHEAD: usize = 2;

/// What the decoding threads of an ordered read share with the reading one.
struct Flow<T> {
    state: Mutex<FlowState<T>>,
    changed: Condvar,
}

struct FlowState<T> {
    /// Row groups to decode, in the order the read needs them.
    open: Vec<usize>,
    /// Per row group: batches decoded and not yet taken.
    ready: Vec<VecDeque<Result<T>>>,
    /// Per row group: rows decoded so far.
    decoded: Vec<usize>,
    /// Per row group: whether a thread is decoding it.
    busy: Vec<bool>,
    /// Per row group: whether its reader has no more rows.
    ended: Vec<bool>,
    stop: bool,
}

impl<T: Decoded> Flow<T> {
    fn new(groups: usize) -> Self {
        Self {
            state: Mutex::new(FlowState {
                open: Vec::new(),
                ready: (0..groups).map(|_| VecDeque::new()).collect(),
                decoded: vec![0; groups],
                busy: vec![false; groups],
                ended: vec![false; groups],
                stop: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FlowState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for row group `g` to be decoded.
    fn open(&self, g: usize) {
        let mut s = self.lock();
        if !s.ended[g] {
            s.open.push(g);
        }
        self.changed.notify_all();
    }

    /// Ends the read: the decoding threads return.
    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    /// For a decoding thread: the first open row group no other thread decodes and with room
    /// for another batch (waiting for one), or `None` when the read is over.
    fn next_to_decode(&self) -> Option<usize> {
        let mut s = self.lock();
        loop {
            if s.stop {
                return None;
            }
            let found = s
                .open
                .iter()
                .copied()
                .find(|&g| !s.busy[g] && s.ready[g].len() < DECODED_AHEAD);
            if let Some(g) = found {
                s.busy[g] = true;
                return Some(g);
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Whether `rows` more decoded rows of row group `g` complete its `selected` rows.
    fn decoded_all(&self, g: usize, rows: usize, selected: usize) -> bool {
        self.lock().decoded[g] + rows >= selected
    }

    /// For a decoding thread: the next batch of row group `g` (`None`: its reader ended), of
    /// `selected` rows in all.
    fn decoded(&self, g: usize, batch: Option<Result<T>>, selected: usize) {
        let mut s = self.lock();
        s.busy[g] = false;
        let ended = match batch {
            Some(Ok(b)) => {
                s.decoded[g] += b.num_rows();
                s.ready[g].push_back(Ok(b));
                s.decoded[g] >= selected
            }
            Some(Err(e)) => {
                s.ready[g].push_back(Err(e));
                true
            }
            None => true,
        };
        if ended {
            s.ended[g] = true;
            s.open.retain(|&o| o != g);
        }
        self.changed.notify_all();
    }

    /// For the reading thread: the next batch of row group `g`, waiting for it (`None`: its
    /// reader ended first).
    fn take(&self, g: usize) -> Option<Result<T>> {
        let mut s = self.lock();
        loop {
            if let Some(b) = s.ready[g].pop_front() {
                self.changed.notify_all();
                return Some(b);
            }
            if s.ended[g] {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}
