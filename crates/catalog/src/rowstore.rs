//! The row store: the rows of one spot-check Parquet file again, in small compressed blocks,
//! so that a read by position (a point lookup, a page of search results, a producer's
//! history) costs one `pread` of a few kilobytes and one small decode instead of a page of
//! every column.
//!
//! The ingester writes it beside the Parquet file it verifies (the rows decoded from that
//! file, so both hold the same values), at `<warehouse>/rows/<sha256>.zjrows` where the
//! Parquet file is `<warehouse>/data/<sha256>.parquet`: named by the file it repeats, it is
//! as immutable as that file, needs no entry in the manifest, and a snapshot without one is
//! still complete (readers fall back to the Parquet file). It is the one definition the
//! writer (`zhijian-ingest`) and the reader (`zhijian-query`) share.
//!
//! ```text
//! "ZJROWS01"  u32 rows per block  u32 columns                      header, 16 bytes
//! block*      u32 raw length, then a zstd frame of:
//!               u32 metadata length, an Arrow IPC RecordBatch message, padding to 8,
//!               the message's body
//! u64 * (blocks + 1)   where each block starts, and where the last ends
//! u64 rows  u32 blocks  "ZJROWS01"                                 footer
//! ```
//!
//! Every block but the last holds exactly the rows per block, so the block of row `r` is
//! `r / rows_per_block`. All integers are little-endian.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow_schema::SchemaRef;

/// The directory of row stores in a warehouse.
pub const ROWS_DIR: &str = "rows";
/// The extension of a row store.
pub const EXTENSION: &str = "zjrows";
/// Rows per block: a lookup reads, decompresses and decodes this many rows (about 8 KB
/// compressed at 0.96M synthetic spot-check rows).
pub const BLOCK_ROWS: u32 = 64;

const MAGIC: &[u8; 8] = b"ZJROWS01";
const HEADER: u64 = 16;
const TRAILER: u64 = 20;
/// The most a block may decompress to (64 rows are tens of kilobytes): a damaged length is an
/// error, not an allocation.
const MAX_BLOCK: usize = 64 << 20;
/// zstd level of the blocks, the Parquet files' level.
const LEVEL: i32 = 3;

/// What is wrong with a row store (or its writing), and where.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct RowStoreError {
    /// The row store.
    pub path: PathBuf,
    /// What went wrong.
    pub problem: String,
}

/// `rows/<sha256>.zjrows` of a Parquet file at `data/<sha256>.parquet` (relative to the
/// warehouse), `None` for any other path.
pub fn rel_for(parquet: &str) -> Option<String> {
    let sha = parquet.strip_prefix("data/")?.strip_suffix(".parquet")?;
    (!sha.is_empty() && !sha.contains('/')).then(|| format!("{ROWS_DIR}/{sha}.{EXTENSION}"))
}

/// The row store of the Parquet file at `parquet` (`<warehouse>/data/<sha256>.parquet`),
/// `None` when the path is not laid out so.
pub fn path_for(parquet: &Path) -> Option<PathBuf> {
    let name = parquet.file_name()?.to_str()?;
    let dir = parquet.parent()?;
    if dir.file_name()? != "data" {
        return None;
    }
    let rel = rel_for(&format!("data/{name}"))?;
    Some(dir.parent()?.join(rel))
}

/// Writes a row store, batch after batch, in the order of the Parquet file.
pub struct RowStoreWriter<W: Write> {
    out: W,
    path: PathBuf,
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    offsets: Vec<u64>,
    at: u64,
    rows: u64,
    zstd: zstd::bulk::Compressor<'static>,
    tracker: DictionaryTracker,
    options: IpcWriteOptions,
    context: IpcWriteContext,
    raw: Vec<u8>,
}

impl<W: Write> RowStoreWriter<W> {
    /// Starts a row store of rows in `schema` on `out` (`path` names it in errors).
    pub fn new(mut out: W, path: &Path, schema: SchemaRef) -> Result<Self, RowStoreError> {
        let fail = |problem: String| RowStoreError {
            path: path.to_path_buf(),
            problem,
        };
        let columns = u32::try_from(schema.fields().len())
            .map_err(|_| fail("more than 2^32 columns".into()))?;
        let mut header = Vec::with_capacity(HEADER as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&BLOCK_ROWS.to_le_bytes());
        header.extend_from_slice(&columns.to_le_bytes());
        out.write_all(&header).map_err(|e| fail(e.to_string()))?;
        let zstd = zstd::bulk::Compressor::new(LEVEL).map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            out,
            path: path.to_path_buf(),
            schema,
            pending: Vec::new(),
            pending_rows: 0,
            offsets: vec![HEADER],
            at: HEADER,
            rows: 0,
            zstd,
            tracker: DictionaryTracker::new(false),
            options: IpcWriteOptions::default(),
            context: IpcWriteContext::default(),
            raw: Vec::new(),
        })
    }

    fn fail(&self, problem: impl ToString) -> RowStoreError {
        RowStoreError {
            path: self.path.clone(),
            problem: problem.to_string(),
        }
    }

    /// Adds the next rows.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), RowStoreError> {
        let block = BLOCK_ROWS as usize;
        let mut from = 0;
        while from < batch.num_rows() {
            let take = (block - self.pending_rows).min(batch.num_rows() - from);
            self.pending.push(batch.slice(from, take));
            self.pending_rows += take;
            from += take;
            if self.pending_rows == block {
                self.flush_block()?;
            }
        }
        Ok(())
    }

    /// Writes the rows gathered as one block.
    fn flush_block(&mut self) -> Result<(), RowStoreError> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let rows = arrow_select::concat::concat_batches(&self.schema, &pending)
            .map_err(|e| self.fail(e))?;
        let (dictionaries, encoded) = IpcDataGenerator {}
            .encode(&rows, &mut self.tracker, &self.options, &mut self.context)
            .map_err(|e| self.fail(e))?;
        if !dictionaries.is_empty() {
            return Err(self.fail("dictionary-encoded columns are not stored in a row store"));
        }
        let meta = u32::try_from(encoded.ipc_message.len())
            .map_err(|_| self.fail("a block's metadata over 4 GiB"))?;
        self.raw.clear();
        self.raw.extend_from_slice(&meta.to_le_bytes());
        self.raw.extend_from_slice(&encoded.ipc_message);
        self.raw.resize(self.raw.len().next_multiple_of(8), 0);
        self.raw.extend_from_slice(&encoded.arrow_data);
        let raw_len = u32::try_from(self.raw.len()).map_err(|_| self.fail("a block over 4 GiB"))?;
        let packed = self.zstd.compress(&self.raw).map_err(|e| self.fail(e))?;
        self.out
            .write_all(&raw_len.to_le_bytes())
            .and_then(|()| self.out.write_all(&packed))
            .map_err(|e| self.fail(e))?;
        self.at += 4 + packed.len() as u64;
        self.offsets.push(self.at);
        self.rows += self.pending_rows as u64;
        self.pending_rows = 0;
        Ok(())
    }

    /// Writes the last block and the footer; the output and the rows written.
    pub fn finish(mut self) -> Result<(W, u64), RowStoreError> {
        self.flush_block()?;
        let blocks = u32::try_from(self.offsets.len() - 1)
            .map_err(|_| self.fail("more than 2^32 blocks"))?;
        let mut footer = Vec::with_capacity(self.offsets.len() * 8 + TRAILER as usize);
        for o in &self.offsets {
            footer.extend_from_slice(&o.to_le_bytes());
        }
        footer.extend_from_slice(&self.rows.to_le_bytes());
        footer.extend_from_slice(&blocks.to_le_bytes());
        footer.extend_from_slice(MAGIC);
        self.out.write_all(&footer).map_err(|e| self.fail(e))?;
        self.out.flush().map_err(|e| self.fail(e))?;
        Ok((self.out, self.rows))
    }
}

/// A row store opened for reads by position: its footer read once, each read one `pread`.
#[derive(Debug)]
pub struct RowStore {
    file: File,
    path: PathBuf,
    schema: SchemaRef,
    offsets: Vec<u64>,
    rows: u64,
    block_rows: u32,
}

thread_local! {
    /// One zstd decompression context per thread: making one costs more than a block.
    static UNPACK: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

impl RowStore {
    /// Opens the row store at `path`, which must hold `rows` rows in `schema` (those of the
    /// Parquet file it repeats).
    pub fn open(path: &Path, schema: SchemaRef, rows: u64) -> Result<Self, RowStoreError> {
        let fail = |problem: String| RowStoreError {
            path: path.to_path_buf(),
            problem,
        };
        let file = File::open(path).map_err(|e| fail(e.to_string()))?;
        let len = file.metadata().map_err(|e| fail(e.to_string()))?.len();
        if len < HEADER + TRAILER + 8 {
            return Err(fail(format!("{len} bytes: too short for a row store")));
        }
        let mut header = [0u8; HEADER as usize];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| fail(e.to_string()))?;
        let mut trailer = [0u8; TRAILER as usize];
        file.read_exact_at(&mut trailer, len - TRAILER)
            .map_err(|e| fail(e.to_string()))?;
        if &header[..8] != MAGIC || &trailer[12..] != MAGIC {
            return Err(fail("not a row store (no ZJROWS01 at its ends)".into()));
        }
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let block_rows = word(&header[8..12]);
        let columns = word(&header[12..16]) as usize;
        let stored_rows = u64::from_le_bytes([
            trailer[0], trailer[1], trailer[2], trailer[3], trailer[4], trailer[5], trailer[6],
            trailer[7],
        ]);
        let blocks = u64::from(word(&trailer[8..12]));
        if columns != schema.fields().len() || stored_rows != rows || block_rows == 0 {
            return Err(fail(format!(
                "holds {stored_rows} rows of {columns} columns, the Parquet file {rows} of {}",
                schema.fields().len()
            )));
        }
        if blocks != rows.div_ceil(u64::from(block_rows)) {
            return Err(fail(format!(
                "{blocks} blocks of {block_rows} rows cannot hold {rows} rows"
            )));
        }
        let table = (blocks + 1) * 8;
        let Some(table_at) = len.checked_sub(TRAILER + table).filter(|&at| at >= HEADER) else {
            return Err(fail(format!("{blocks} blocks do not fit in {len} bytes")));
        };
        let mut raw = vec![0u8; table as usize];
        file.read_exact_at(&mut raw, table_at)
            .map_err(|e| fail(e.to_string()))?;
        let offsets: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let ordered = offsets.windows(2).all(|w| w[0] + 4 <= w[1]);
        if offsets.first() != Some(&HEADER) || offsets.last() != Some(&table_at) || !ordered {
            return Err(fail("its block table does not describe its blocks".into()));
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            schema,
            offsets,
            rows,
            block_rows,
        })
    }

    /// Rows it holds.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows per block (the block of row `r` is `r / block_rows`).
    pub fn block_rows(&self) -> u32 {
        self.block_rows
    }

    fn fail(&self, problem: impl ToString) -> RowStoreError {
        RowStoreError {
            path: self.path.clone(),
            problem: problem.to_string(),
        }
    }

    /// The rows of block `index`, with the columns of `projection` (indexes into the schema,
    /// in that order) or all.
    pub fn block(
        &self,
        index: usize,
        projection: Option<&[usize]>,
    ) -> Result<RecordBatch, RowStoreError> {
        let (Some(&start), Some(&end)) = (self.offsets.get(index), self.offsets.get(index + 1))
        else {
            return Err(self.fail(format!("no block {index}")));
        };
        let mut packed = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut packed, start)
            .map_err(|e| self.fail(e))?;
        let raw_len = u32::from_le_bytes([packed[0], packed[1], packed[2], packed[3]]) as usize;
        if raw_len > MAX_BLOCK {
            return Err(self.fail(format!("block {index}: {raw_len} bytes, over {MAX_BLOCK}")));
        }
        let raw = UNPACK
            .with(|cell| {
                let mut slot = cell.borrow_mut();
                let unpack = match slot.as_mut() {
                    Some(u) => u,
                    None => slot.insert(zstd::bulk::Decompressor::new()?),
                };
                unpack.decompress(&packed[4..], raw_len)
            })
            .map_err(|e| self.fail(format!("block {index}: {e}")))?;
        if raw.len() != raw_len || raw_len < 4 {
            return Err(self.fail(format!("block {index}: {} bytes, not {raw_len}", raw.len())));
        }
        let meta = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
        let body_at = (4 + meta).next_multiple_of(8);
        if body_at > raw.len() {
            return Err(self.fail(format!("block {index}: metadata past its end")));
        }
        let buffer = Buffer::from_vec(raw);
        let message = arrow_ipc::root_as_message(&buffer[4..4 + meta])
            .map_err(|e| self.fail(format!("block {index}: {e}")))?;
        let batch = message
            .header_as_record_batch()
            .ok_or_else(|| self.fail(format!("block {index}: not a record batch")))?;
        arrow_ipc::reader::read_record_batch(
            &buffer.slice(body_at),
            batch,
            Arc::clone(&self.schema),
            &HashMap::new(),
            projection,
            &message.version(),
        )
        .map_err(|e| self.fail(format!("block {index}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new(
                "items",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]));
        let ids: Vec<i64> = (from..from + n).collect();
        let names: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 5 != 0).then(|| format!("企业 {i}")))
            .collect();
        // Lists of text: the failed items.
        let mut items = ListBuilder::new(StringBuilder::new());
        for i in &ids {
            if i % 7 == 0 {
                items.append(false);
            } else {
                items.values().append_value(format!("项目{i}"));
                items.values().append_value("泛霜");
                items.append(true);
            }
        }
        let items = items.finish();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(items),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Rows written in uneven batches come back block by block with every value, projected
    /// columns in the order asked; a store that does not match its Parquet file is refused.
    #[test]
    fn blocks_hold_the_rows_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("x.zjrows");
        let schema = batch(0, 1).schema();
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut w =
            RowStoreWriter::new(file, &path, schema.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut at = 0;
        for n in [10, 100, 1, 64, 30] {
            w.write(&batch(at, n)).unwrap_or_else(|e| panic!("{e}"));
            at += n;
        }
        let (_, rows) = w.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows, 205);
        let store = RowStore::open(&path, schema.clone(), 205).unwrap_or_else(|e| panic!("{e}"));
        let blocks = 205usize.div_ceil(BLOCK_ROWS as usize);
        for b in 0..blocks {
            let got = store.block(b, None).unwrap_or_else(|e| panic!("{e}"));
            let start = b as i64 * i64::from(BLOCK_ROWS);
            let n = (205 - start).min(i64::from(BLOCK_ROWS));
            assert_eq!(got, batch(start, n), "block {b}");
        }
        let projected = store
            .block(1, Some(&[2, 0]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(projected.schema().field(0).name(), "items");
        assert_eq!(projected.num_rows(), 64);
        assert!(projected.column(0).is_valid(0));
        assert!(store.block(blocks, None).is_err());
        let wrong = RowStore::open(&path, schema, 206).map(|_| ());
        assert!(wrong.is_err_and(|e| e.problem.contains("206")));
    }

    #[test]
    fn paths_follow_the_parquet_file() {
        assert_eq!(
            rel_for("data/ab12.parquet").as_deref(),
            Some("rows/ab12.zjrows")
        );
        assert_eq!(rel_for("downloads/ab12.csv"), None);
        assert_eq!(
            path_for(Path::new("/w/data/ab12.parquet")),
            Some(PathBuf::from("/w/rows/ab12.zjrows"))
        );
        assert_eq!(path_for(Path::new("/w/other/ab12.parquet")), None);
    }
}
