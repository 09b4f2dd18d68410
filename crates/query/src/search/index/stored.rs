//! The search index as a file of the snapshot (`<warehouse>/index/<key>-v<N>.zjidx`): written
//! once, at publish or by `zhijian index`, and read by every server in one sequential pass
//! instead of building it again from the spot-check rows.
//!
//! ```text
//! "ZJINDEX\0"  u32 format version  u64 len + key (hex)  u32 rows
//! sections     u64 count, then `count` little-endian words (u8, u16, u32 or i32)
//! trailer      sha256 of every byte before it, "ZJIDXEND"
//! ```
//!
//! A section's length is checked against what is left of the file before anything is
//! allocated, and the digest before the index is used: a truncated, damaged or foreign file
//! is refused with what was wrong, and the server builds the index as before. The row files'
//! metadata ([`SpotRows`]) is not stored: it is opened from the Parquet files, and the index
//! is refused when their row count differs from the one it was built on.
//!
//! [`VERSION`] names the format *and* what the build computes: bump it whenever either
//! changes, so that a server never reads an index of another meaning (it then builds its own
//! and says so).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::*;
use crate::error::{QueryError, Result};

/// The format (and build) version this server writes and reads.
pub const VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"ZJINDEX\0";
const END: &[u8; 8] = b"ZJIDXEND";
const TRAILER: u64 = 32 + 8;
/// Bytes converted at a time.
const CHUNK: usize = 1 << 16;

fn problem(path: &Path, what: impl ToString) -> QueryError {
    QueryError::Data {
        path: path.to_path_buf(),
        problem: what.to_string(),
    }
}

/// A fixed-width little-endian word of a section.
trait Word: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn take(b: &[u8]) -> Self;
}

macro_rules! word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            const SIZE: usize = size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(b: &[u8]) -> Self {
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
word!(u8, u16, u32, i32);

/// Writes sections, hashing what it writes.
struct Sink {
    out: BufWriter<File>,
    hash: Sha256,
    path: PathBuf,
    buf: Vec<u8>,
}

impl Sink {
    fn raw(&mut self, b: &[u8]) -> Result<()> {
        self.hash.update(b);
        self.out.write_all(b).map_err(|e| problem(&self.path, e))
    }

    fn count(&mut self, n: usize) -> Result<()> {
        self.raw(&(n as u64).to_le_bytes())
    }

    fn words<T: Word>(&mut self, v: &[T]) -> Result<()> {
        self.count(v.len())?;
        let mut buf = std::mem::take(&mut self.buf);
        for chunk in v.chunks(CHUNK / T::SIZE) {
            buf.clear();
            for &w in chunk {
                w.put(&mut buf);
            }
            self.raw(&buf)?;
        }
        self.buf = buf;
        Ok(())
    }

    fn json<T: serde::Serialize>(&mut self, v: &T) -> Result<()> {
        let text = serde_json::to_vec(v).map_err(|e| problem(&self.path, e))?;
        self.words(&text)
    }

    fn packed(&mut self, p: &Packed) -> Result<()> {
        self.words(&p.buf)?;
        self.words(&p.starts)
    }

    fn codes(&mut self, c: &Codes) -> Result<()> {
        match &c.codes {
            Narrow::U8(v) => {
                self.words(&[1u8])?;
                self.words(v)?;
            }
            Narrow::U16(v) => {
                self.words(&[2u8])?;
                self.words(v)?;
            }
            Narrow::U32(v) => {
                self.words(&[4u8])?;
                self.words(v)?;
            }
        }
        self.json(&c.values)
    }
}

/// Reads sections, hashing what it reads, never past the digest.
struct Source {
    input: BufReader<File>,
    hash: Sha256,
    /// Bytes before the trailer not read yet.
    left: u64,
    path: PathBuf,
    buf: Vec<u8>,
}

impl Source {
    fn raw(&mut self, b: &mut [u8]) -> Result<()> {
        if b.len() as u64 > self.left {
            return Err(problem(&self.path, "the index file is truncated"));
        }
        self.input
            .read_exact(b)
            .map_err(|e| problem(&self.path, e))?;
        self.hash.update(&*b);
        self.left -= b.len() as u64;
        Ok(())
    }

    fn count(&mut self, size: usize) -> Result<usize> {
        let mut b = [0u8; 8];
        self.raw(&mut b)?;
        let n = u64::from_le_bytes(b);
        if n.saturating_mul(size as u64) > self.left {
            return Err(problem(
                &self.path,
                format!(
                    "a section of {n} words is longer than the {} bytes left",
                    self.left
                ),
            ));
        }
        usize::try_from(n).map_err(|_| problem(&self.path, "a section too long to hold"))
    }

    fn words<T: Word>(&mut self) -> Result<Vec<T>> {
        let n = self.count(T::SIZE)?;
        let mut out = Vec::with_capacity(n);
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(CHUNK - CHUNK % T::SIZE, 0);
        let mut remaining = n * T::SIZE;
        while remaining > 0 {
            let take = remaining.min(buf.len());
            self.raw(&mut buf[..take])?;
            out.extend(buf[..take].chunks_exact(T::SIZE).map(T::take));
            remaining -= take;
        }
        self.buf = buf;
        Ok(out)
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let text: Vec<u8> = self.words()?;
        serde_json::from_slice(&text).map_err(|e| problem(&self.path, e))
    }

    fn packed(&mut self) -> Result<Packed> {
        let p = Packed {
            buf: self.words()?,
            starts: self.words()?,
        };
        let fits = p
            .starts
            .windows(2)
            .all(|w| w[0] < w[1] && (w[1] as usize) <= p.buf.len());
        let last = p.starts.last().is_none_or(|&s| (s as usize) < p.buf.len());
        if !fits || !last || p.buf.last().is_some_and(|&b| b != 0) {
            return Err(problem(&self.path, "packed text out of order"));
        }
        Ok(p)
    }

    fn codes(&mut self, rows: usize) -> Result<Codes> {
        let width: Vec<u8> = self.words()?;
        let codes = match width.as_slice() {
            [1] => Narrow::U8(self.words()?),
            [2] => Narrow::U16(self.words()?),
            [4] => Narrow::U32(self.words()?),
            _ => return Err(problem(&self.path, "a code column of unknown width")),
        };
        let len = match &codes {
            Narrow::U8(v) => v.len(),
            Narrow::U16(v) => v.len(),
            Narrow::U32(v) => v.len(),
        };
        if len != rows {
            return Err(problem(
                &self.path,
                format!("a code column of {len} rows, not {rows}"),
            ));
        }
        Ok(Codes {
            codes,
            values: self.json()?,
        })
    }

    /// Checks the digest (after the last section).
    fn finish(mut self) -> Result<()> {
        if self.left != 0 {
            return Err(problem(
                &self.path,
                format!("{} bytes after the last section", self.left),
            ));
        }
        let mut trailer = [0u8; TRAILER as usize];
        self.input
            .read_exact(&mut trailer)
            .map_err(|e| problem(&self.path, e))?;
        if &trailer[32..] != END || trailer[..32] != self.hash.finalize()[..] {
            return Err(problem(
                &self.path,
                "the index file's digest does not match its bytes",
            ));
        }
        Ok(())
    }
}

impl SearchIndex {
    fn save(&self, s: &mut Sink) -> Result<()> {
        s.packed(&self.folded)?;
        s.words(&self.base)?;
        s.packed(&self.display)?;
        s.words(&self.display_of)?;
        s.words(&self.display_entry)?;
        s.words(&self.syl_start)?;
        s.words(&self.said)?;
        let readings: Vec<u16> = self.readings.iter().flat_map(|&(a, b)| [a, b]).collect();
        s.words(&readings)?;
        let initials: Vec<u8> = self.initials.iter().flatten().copied().collect();
        s.words(&initials)?;
        s.json(&self.syllables)?;
        s.words(&self.post_start)?;
        s.words(&self.post)?;
        for c in &self.facets {
            s.codes(c)?;
        }
        s.words(&self.uscc)?;
        s.codes(&self.scope)?;
        s.words(&self.announced)?;
        let e = &self.entities;
        let list: Vec<u32> = e
            .list
            .iter()
            .flat_map(|p| {
                [
                    p.code,
                    p.names,
                    p.batches,
                    p.fails,
                    p.span.lo as u32,
                    p.span.hi as u32,
                ]
            })
            .collect();
        s.words(&list)?;
        s.packed(&e.keys)?;
        let names: Vec<u32> = e
            .names
            .iter()
            .flat_map(|&(a, b, c)| [a, b, u32::from(c)])
            .collect();
        s.words(&names)?;
        s.words(&e.of_name)?;
        let mut more: Vec<(&u32, &Vec<u32>)> = e.more.iter().collect();
        more.sort_unstable_by_key(|(k, _)| **k);
        s.words(&more.iter().map(|(k, _)| **k).collect::<Vec<u32>>())?;
        s.words(
            &more
                .iter()
                .map(|(_, v)| v.len() as u32)
                .collect::<Vec<u32>>(),
        )?;
        s.words(
            &more
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .collect::<Vec<u32>>(),
        )?;
        s.words(&e.bare)?;
        s.words(&e.by_name)?;
        s.words(&self.record_keys)?;
        s.words(&self.order)?;
        s.words(&self.record_pos)?;
        s.words(&[self.items_unindexed])
    }

    fn load(s: &mut Source, rows: SpotRows) -> Result<Self> {
        let n = rows.len() as usize;
        let path = s.path.clone();
        let bad = |what: &str| problem(&path, what);
        let folded = s.packed()?;
        let base: [u32; 7] = s
            .words::<u32>()?
            .try_into()
            .map_err(|_| bad("the field bases are not 7"))?;
        if base.windows(2).any(|w| w[0] > w[1]) || base[6] as usize != folded.len() {
            return Err(bad("the field bases are out of order"));
        }
        let display = s.packed()?;
        let display_of = s.words()?;
        let display_entry = s.words()?;
        let syl_start = s.words()?;
        let said = s.words()?;
        let readings = pairs(s.words::<u16>()?).ok_or_else(|| bad("an odd list of readings"))?;
        let initials = pairs(s.words::<u8>()?).ok_or_else(|| bad("an odd list of initials"))?;
        let initials = initials.into_iter().map(|(a, b)| [a, b]).collect();
        let syllables = s.json()?;
        let post_start: Vec<u32> = s.words()?;
        let post: Vec<u32> = s.words()?;
        if post_start.len() != folded.len() + 1
            || post_start.windows(2).any(|w| w[0] > w[1])
            || post_start.last().copied() != Some(post.len() as u32)
            || post.iter().any(|&p| p as usize >= n)
        {
            return Err(bad("the postings do not fit the values and rows"));
        }
        let facets = [s.codes(n)?, s.codes(n)?, s.codes(n)?, s.codes(n)?];
        let uscc: Vec<u32> = s.words()?;
        let scope = s.codes(n)?;
        let announced: Vec<i32> = s.words()?;
        let list: Vec<u32> = s.words()?;
        if !list.len().is_multiple_of(6) {
            return Err(bad("a producer list of partial entries"));
        }
        let list = list
            .chunks_exact(6)
            .map(|p| Entity {
                code: p[0],
                names: p[1],
                batches: p[2],
                fails: p[3],
                span: Span {
                    lo: p[4] as i32,
                    hi: p[5] as i32,
                },
            })
            .collect();
        let keys = s.packed()?;
        let names: Vec<u32> = s.words()?;
        if !names.len().is_multiple_of(3) {
            return Err(bad("a producer name list of partial entries"));
        }
        let names = names
            .chunks_exact(3)
            .map(|t| (t[0], t[1], t[2] != 0))
            .collect();
        let of_name = s.words()?;
        let more_keys: Vec<u32> = s.words()?;
        let more_lens: Vec<u32> = s.words()?;
        let more_values: Vec<u32> = s.words()?;
        let total: u64 = more_lens.iter().map(|&l| u64::from(l)).sum();
        if more_keys.len() != more_lens.len() || total != more_values.len() as u64 {
            return Err(bad("the names of several producers do not add up"));
        }
        let mut more = HashMap::with_capacity(more_keys.len());
        let mut at = 0usize;
        for (k, l) in more_keys.into_iter().zip(more_lens) {
            more.insert(k, more_values[at..at + l as usize].to_vec());
            at += l as usize;
        }
        let entities = Entities {
            list,
            keys,
            names,
            of_name,
            more,
            bare: s.words()?,
            by_name: s.words()?,
        };
        let record_keys: Vec<u32> = s.words()?;
        let order: Vec<u32> = s.words()?;
        let record_pos: Vec<u32> = s.words()?;
        let [items_unindexed]: [u32; 1] = s
            .words::<u32>()?
            .try_into()
            .map_err(|_| bad("the count of unindexed items is not one word"))?;
        if uscc.len() != n || announced.len() != n || !(order.is_empty() || order.len() == n) {
            return Err(bad("a per-row list does not have one entry per row"));
        }
        if record_keys.len() != record_pos.len()
            || record_pos.len() > n
            || record_pos.iter().chain(&order).any(|&p| p as usize >= n)
        {
            return Err(bad("the record ids do not fit the rows"));
        }
        Ok(Self {
            folded,
            base,
            display,
            display_of,
            display_entry,
            syl_start,
            said,
            readings,
            initials,
            syllables,
            post_start,
            post,
            facets,
            uscc,
            scope,
            announced,
            entities,
            rows,
            record_keys,
            order,
            record_pos,
            items_unindexed,
        })
    }
}

/// Consecutive pairs of a flat list (`None` when its length is odd).
fn pairs<T: Copy>(flat: Vec<T>) -> Option<Vec<(T, T)>> {
    flat.len()
        .is_multiple_of(2)
        .then(|| flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Writes `index` and the home page's latest announcements to `path` under `key`: into a
/// temporary file beside it, synced, then renamed into place (a reader sees a whole file or
/// none). Returns the bytes written.
pub(crate) fn write(
    path: &Path,
    key: &str,
    index: &SearchIndex,
    recent: &[Map<String, Value>],
) -> Result<u64> {
    let dir = path.parent().ok_or_else(|| problem(path, "no directory"))?;
    std::fs::create_dir_all(dir).map_err(|e| problem(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("index"),
        std::process::id()
    ));
    let file = File::create(&tmp).map_err(|e| problem(&tmp, e))?;
    let mut s = Sink {
        out: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        path: tmp.clone(),
        buf: Vec::with_capacity(CHUNK),
    };
    let written = (|| {
        s.raw(MAGIC)?;
        s.raw(&VERSION.to_le_bytes())?;
        s.words(key.as_bytes())?;
        s.raw(&index.rows().to_le_bytes())?;
        index.save(&mut s)?;
        s.json(&recent)?;
        let digest = s.hash.clone().finalize();
        s.out.write_all(&digest).map_err(|e| problem(&tmp, e))?;
        s.out.write_all(END).map_err(|e| problem(&tmp, e))?;
        let file = s.out.into_inner().map_err(|e| problem(&tmp, e.error()))?;
        file.sync_all().map_err(|e| problem(&tmp, e))?;
        let bytes = file.metadata().map_err(|e| problem(&tmp, e))?.len();
        std::fs::rename(&tmp, path).map_err(|e| problem(path, e))?;
        Ok(bytes)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads the index at `path`, written under `key` over `rows` (refused, with what was wrong,
/// when anything disagrees).
pub(crate) fn read(
    path: &Path,
    key: &str,
    rows: SpotRows,
) -> Result<(SearchIndex, Vec<Map<String, Value>>)> {
    let file = File::open(path).map_err(|e| problem(path, e))?;
    let len = file.metadata().map_err(|e| problem(path, e))?.len();
    let mut s = Source {
        input: BufReader::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        left: len
            .checked_sub(TRAILER)
            .ok_or_else(|| problem(path, "the index file is truncated"))?,
        path: path.to_path_buf(),
        buf: Vec::new(),
    };
    let mut magic = [0u8; 8];
    s.raw(&mut magic)?;
    if &magic != MAGIC {
        return Err(problem(path, "not a zhijian index file"));
    }
    let mut word = [0u8; 4];
    s.raw(&mut word)?;
    let version = u32::from_le_bytes(word);
    if version != VERSION {
        return Err(problem(
            path,
            format!("an index of format {version}; this server reads format {VERSION}"),
        ));
    }
    let stored: Vec<u8> = s.words()?;
    if stored != key.as_bytes() {
        return Err(problem(
            path,
            "the index was built on other spot-check files",
        ));
    }
    s.raw(&mut word)?;
    let stored_rows = u32::from_le_bytes(word);
    if stored_rows != rows.len() {
        return Err(problem(
            path,
            format!(
                "the index holds {stored_rows} rows, the spot-check files {}",
                rows.len()
            ),
        ));
    }
    let index = SearchIndex::load(&mut s, rows)?;
    let recent = s.json()?;
    s.finish()?;
    Ok((index, recent))
}
