//! Packed containers: strings in one buffer, codes one, two or four bytes wide, and a
//! column of codes with its values.

use serde_json::Value;

use super::*;
use crate::error::{QueryError, Result};

/// Strings packed into one buffer, each followed by a NUL.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    pub(super) buf: Vec<u8>,
    pub(super) starts: Vec<u32>,
}

impl Packed {
    pub(super) fn push(&mut self, s: &str) -> Result<u32> {
        let too_big = || QueryError::Output("the search index outgrew 4 GiB of text".into());
        let i = u32::try_from(self.starts.len()).map_err(|_| too_big())?;
        self.starts
            .push(u32::try_from(self.buf.len()).map_err(|_| too_big())?);
        // NUL separates entries; removing it from a value keeps the text valid UTF-8.
        self.buf.extend(s.bytes().filter(|&b| b != 0));
        self.buf.push(0);
        Ok(i)
    }

    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    pub(super) fn span(&self, i: usize) -> (usize, usize) {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.buf.len(), |&n| n as usize)
            - 1;
        (start, end)
    }

    pub(super) fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or("")
    }

    /// An entry's bytes: what sorts compare (UTF-8 bytes order as its text does), without
    /// checking the text again on every comparison.
    pub(super) fn bytes(&self, i: usize) -> &[u8] {
        let (s, e) = self.span(i);
        &self.buf[s..e]
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.buf.capacity() + vec_bytes(&self.starts)
    }

    /// The entry holding byte `offset`.
    pub(super) fn entry_at(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1)
    }
}

/// One code per row, as narrow as the number of values allows: a byte where fewer than 255
/// values, two where fewer than 65,535 (at 5M rows, 5 MB a column instead of 19). The widest
/// code of each width stands for "no value".
#[derive(Debug)]
pub(crate) enum Narrow {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Default for Narrow {
    fn default() -> Self {
        Self::U8(Vec::new())
    }
}

impl Narrow {
    /// Packs codes (`NONE` for no value) of `distinct` values.
    pub(super) fn pack(codes: Vec<u32>, distinct: usize) -> Self {
        if distinct < usize::from(u8::MAX) {
            Self::U8(
                codes
                    .iter()
                    .map(|&c| c.min(u32::from(u8::MAX)) as u8)
                    .collect(),
            )
        } else if distinct < usize::from(u16::MAX) {
            Self::U16(
                codes
                    .iter()
                    .map(|&c| c.min(u32::from(u16::MAX)) as u16)
                    .collect(),
            )
        } else {
            Self::U32(codes)
        }
    }

    /// Appends a code (`NONE` for no value), widening the column when it no longer fits: the
    /// scan keeps its columns narrow from the start.
    pub(super) fn push(&mut self, code: u32) {
        match self {
            Self::U8(v) if code == NONE || code < u32::from(u8::MAX) => {
                v.push(code.min(u32::from(u8::MAX)) as u8);
            }
            Self::U8(v) => {
                let wide = v
                    .iter()
                    .map(|&c| if c == u8::MAX { u16::MAX } else { u16::from(c) })
                    .collect();
                *self = Self::U16(wide);
                self.push(code);
            }
            Self::U16(v) if code == NONE || code < u32::from(u16::MAX) => {
                v.push(code.min(u32::from(u16::MAX)) as u16);
            }
            Self::U16(v) => {
                let wide = v
                    .iter()
                    .map(|&c| if c == u16::MAX { NONE } else { u32::from(c) })
                    .collect();
                *self = Self::U32(wide);
                self.push(code);
            }
            Self::U32(v) => v.push(code),
        }
    }

    /// Replaces each code `c` that names a value by `to[c]` (no wider than the codes).
    pub(super) fn remap(&mut self, to: &[u32]) {
        pub(super) fn go<T: Copy + Into<u32> + TryFrom<u32>>(v: &mut [T], to: &[u32]) {
            for c in v.iter_mut() {
                if let Some(&t) = to.get((*c).into() as usize)
                    && let Ok(t) = T::try_from(t)
                {
                    *c = t;
                }
            }
        }
        match self {
            Self::U8(v) => go(v, to),
            Self::U16(v) => go(v, to),
            Self::U32(v) => go(v, to),
        }
    }

    /// The code of row `i` (at least the number of values when it has none).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        match self {
            Self::U8(v) => u32::from(v[i]),
            Self::U16(v) => u32::from(v[i]),
            Self::U32(v) => v[i],
        }
    }

    /// How many rows of `range` have a code `ok` allows (the last entry of `ok` stands for
    /// every code past the others: no value).
    pub(crate) fn count(&self, range: std::ops::Range<usize>, ok: &[bool]) -> u64 {
        pub(super) fn go<T: Copy + Into<u32>>(v: &[T], ok: &[bool]) -> u64 {
            let last = ok.len() - 1;
            v.iter()
                .filter(|&&c| ok[(c.into() as usize).min(last)])
                .count() as u64
        }
        match self {
            Self::U8(v) => go(&v[range], ok),
            Self::U16(v) => go(&v[range], ok),
            Self::U32(v) => go(&v[range], ok),
        }
    }

    /// Adds one to `counts[code]` for each row of `range` (codes past the end count in the
    /// last slot: no value).
    pub(crate) fn tally(&self, range: std::ops::Range<usize>, counts: &mut [u64]) {
        pub(super) fn go<T: Copy + Into<u32>>(v: &[T], counts: &mut [u64]) {
            let last = counts.len() - 1;
            for &c in v {
                counts[(c.into() as usize).min(last)] += 1;
            }
        }
        match self {
            Self::U8(v) => go(&v[range], counts),
            Self::U16(v) => go(&v[range], counts),
            Self::U32(v) => go(&v[range], counts),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Self::U8(v) => vec_bytes(v),
            Self::U16(v) => vec_bytes(v),
            Self::U32(v) => vec_bytes(v),
        }
    }
}

/// A column of small codes, one per row, with the value each code stands for.
#[derive(Debug, Default)]
pub(crate) struct Codes {
    pub(crate) codes: Narrow,
    pub(crate) values: Vec<Value>,
}

impl Codes {
    pub(super) fn new(codes: Vec<u32>, values: Vec<Value>) -> Self {
        Self {
            codes: Narrow::pack(codes, values.len()),
            values,
        }
    }

    /// The code of row `i` (at least `values.len()` when it has none).
    #[inline]
    pub(crate) fn at(&self, i: usize) -> u32 {
        self.codes.get(i)
    }

    /// The code of a value as the rows grammar gives it (text), if any row has it.
    pub(crate) fn code_of(&self, text: &str) -> Option<u32> {
        self.values
            .iter()
            .position(|v| Self::matches(v, text))
            .map(|i| i as u32)
    }

    /// Whether a value equals the text of a filter (numbers compared as numbers).
    pub(crate) fn matches(v: &Value, text: &str) -> bool {
        match v {
            Value::String(s) => s == text,
            Value::Number(n) => text.trim().parse::<i64>().ok() == n.as_i64(),
            _ => false,
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.values.len() * size_of::<Value>()
    }
}

/// The heap bytes a vector holds (its capacity).
pub(super) fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}
