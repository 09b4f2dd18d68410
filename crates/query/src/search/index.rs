//! The search index of one snapshot, built in one pass over its spot-check files.
//!
//! Measured at 5M rows (4.78M batches, 1.58M distinct producer names, 1.18M distinct models),
//! a dictionary of owned strings with pinyin spellings held 6.4 GiB and a search answered by
//! SQL over `IN` lists of matched values took 4.9 s (p50). So everything here is packed (520 MB
//! at that scale, by [`SearchIndex::memory`]):
//!
//! - the folded values of each searched field, one buffer with NUL separators, scanned with
//!   `memchr::memmem` (a substring of any length, no segmentation), and the values published
//!   otherwise than they fold in a second buffer (what `contains` filters search);
//! - each Han name's characters as ids of reading pairs (their first two pinyin syllables),
//!   matched against the syllable sequences a pinyin query can be split into, and initials;
//! - postings: for each value, the positions ([`crate::spot_rows`]) of the rows holding it;
//! - for each row, its product, province, year, result, scope, credit code and announcement
//!   date as codes one, two or four bytes wide, so counts, facets, filters and orders come
//!   from memory, and only a page's rows are read from Parquet;
//! - the `spot_checks` view's default order: every position, the files' own orders merged;
//! - record ids as 32-bit keys with their positions;
//! - producers: one entity per 统一社会信用代码 or normalised name, over the same name entries.
//!
//! The build interns into packed buffers (no allocation per value) and logs each phase's time
//! and resident memory at debug level.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type};
use pinyin::ToPinyinMulti;
use serde_json::{Value, json};

use super::{ALIASES, MatchKind, SearchField};
use crate::error::{QueryError, Result};
use crate::spot_rows::SpotRows;
use crate::text::{entity_name, fold, has_han, within};

const NONE: u32 = u32::MAX;

/// Strings packed into one buffer, each followed by a NUL.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    starts: Vec<u32>,
}

impl Packed {
    fn push(&mut self, s: &str) -> Result<u32> {
        let too_big = || QueryError::Output("the search index outgrew 4 GiB of text".into());
        let i = u32::try_from(self.starts.len()).map_err(|_| too_big())?;
        self.starts
            .push(u32::try_from(self.buf.len()).map_err(|_| too_big())?);
        // NUL separates entries; removing it from a value keeps the text valid UTF-8.
        self.buf.extend(s.bytes().filter(|&b| b != 0));
        self.buf.push(0);
        Ok(i)
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn span(&self, i: usize) -> (usize, usize) {
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.buf.len(), |&n| n as usize)
            - 1;
        (start, end)
    }

    fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or("")
    }

    /// An entry's bytes: what sorts compare (UTF-8 bytes order as its text does), without
    /// checking the text again on every comparison.
    fn bytes(&self, i: usize) -> &[u8] {
        let (s, e) = self.span(i);
        &self.buf[s..e]
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity() + vec_bytes(&self.starts)
    }

    /// The entry holding byte `offset`.
    fn entry_at(&self, offset: usize) -> usize {
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
    fn pack(codes: Vec<u32>, distinct: usize) -> Self {
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
    fn push(&mut self, code: u32) {
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
    fn remap(&mut self, to: &[u32]) {
        fn go<T: Copy + Into<u32> + TryFrom<u32>>(v: &mut [T], to: &[u32]) {
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
        fn go<T: Copy + Into<u32>>(v: &[T], ok: &[bool]) -> u64 {
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
        fn go<T: Copy + Into<u32>>(v: &[T], counts: &mut [u64]) {
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

    fn heap_bytes(&self) -> usize {
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
    fn new(codes: Vec<u32>, values: Vec<Value>) -> Self {
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

    fn heap_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.values.len() * size_of::<Value>()
    }
}

/// The heap bytes a vector holds (its capacity).
fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}

/// The facets a search computes from memory, in [`super::SEARCH_FACETS`] order.
pub(crate) const FACETS: usize = 4;

/// The first and last plan year of some rows (`lo > hi` when none has one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    lo: i32,
    hi: i32,
}

impl Default for Span {
    fn default() -> Self {
        Self {
            lo: i32::MAX,
            hi: i32::MIN,
        }
    }
}

impl Span {
    fn add(&mut self, year: Option<i64>) {
        if let Some(y) = year.and_then(|y| i32::try_from(y).ok()) {
            self.lo = self.lo.min(y);
            self.hi = self.hi.max(y);
        }
    }

    fn join(&mut self, other: Span) {
        self.lo = self.lo.min(other.lo);
        self.hi = self.hi.max(other.hi);
    }

    /// (first, last), `None` when no row has a year.
    pub(crate) fn years(self) -> (Option<i64>, Option<i64>) {
        if self.lo > self.hi {
            (None, None)
        } else {
            (Some(i64::from(self.lo)), Some(i64::from(self.hi)))
        }
    }
}

/// One producer: a code or a normalised name, its names, and its counts (24 bytes: there
/// are 1.6M of them at 5M rows).
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// Its code's id in the codes interned (`NONE` for a producer known by name).
    code: u32,
    /// Where its names start in `Entities::names` (they end where the next producer's start).
    names: u32,
    pub(crate) batches: u32,
    pub(crate) fails: u32,
    pub(crate) span: Span,
}

impl Entity {
    /// Whether it is a 统一社会信用代码 (else a normalised name).
    pub(crate) fn coded(&self) -> bool {
        self.code != NONE
    }
}

/// Producers, sorted by key.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    pub(crate) list: Vec<Entity>,
    keys: Packed,
    /// (enterprise entry id, batches, published without a code).
    names: Vec<(u32, u32, bool)>,
    /// Per enterprise name (local id): its first producer.
    of_name: Vec<u32>,
    /// Names in more than one producer: the others.
    more: HashMap<u32, Vec<u32>>,
    /// Per enterprise name: the producer its rows without a code belong to.
    bare: Vec<u32>,
    /// Enterprise names (local ids) sorted by value, for lookups by name.
    by_name: Vec<u32>,
}

/// The search index of one snapshot.
#[derive(Debug, Default)]
pub struct SearchIndex {
    /// Folded values; the entries of each field are contiguous, fields in `SearchField::ALL`
    /// order.
    folded: Packed,
    base: [u32; 7],
    /// Values as published, where they differ from the folded form.
    display: Packed,
    display_of: Vec<u32>,
    /// Per value in `display`, its entry (they rise together).
    display_entry: Vec<u32>,
    /// Per entry, its range in `said` (names with Han characters only).
    syl_start: Vec<u32>,
    /// Per character of those names, its readings' id in `readings`.
    said: Vec<u16>,
    /// Reading pairs: a character's first two syllables (ids in `syllables`; the same twice
    /// when it has one).
    readings: Vec<(u16, u16)>,
    /// Per reading pair, the initials of its two syllables.
    initials: Vec<[u8; 2]>,
    syllables: Vec<String>,
    /// Per entry, its range in `post`: the positions of its rows.
    post_start: Vec<u32>,
    post: Vec<u32>,
    /// Per row: product, province, year, result (see `FACETS`).
    pub(crate) facets: [Codes; FACETS],
    /// Per row: the id of its 统一社会信用代码 (`NONE` when absent or blank).
    uscc: Vec<u32>,
    /// Per row: publication scope (full, fail_only, pass_only).
    pub(crate) scope: Codes,
    /// Per row: announcement date (days since 1970, `i32::MIN` when unknown).
    announced: Vec<i32>,
    pub(crate) entities: Entities,
    pub(crate) rows: SpotRows,
    /// Record ids: their keys sorted, and the position of each.
    record_keys: Vec<u32>,
    /// Every position in the `spot_checks` view's default order (product, plan_year,
    /// enterprise, record_id; ascending, unknown first): the files' own orders merged, so its
    /// pages, keyset pages and exports need no sort. Empty when it could not be built.
    pub(crate) order: Vec<u32>,
    record_pos: Vec<u32>,
}

/// Interns text: each distinct value gets the next code, and its text is kept once in a packed
/// buffer (no allocation per value: at 5M rows a map of owned strings for 2.8M values held
/// hundreds of MB of small allocations the allocator kept after the build).
#[derive(Default)]
struct Interner {
    table: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    values: Packed,
}

impl Interner {
    fn id(&mut self, value: &str) -> Result<u32> {
        // The packed buffer drops NULs: so does the key.
        let value: std::borrow::Cow<str> = if value.contains('\0') {
            value.replace('\0', "").into()
        } else {
            value.into()
        };
        use std::hash::BuildHasher;
        let Self {
            table,
            hasher,
            values,
        } = self;
        let hash = hasher.hash_one(&*value);
        let hasher = &*hasher;
        if let Some(&id) = table.find(hash, |&id| values.get(id as usize) == value) {
            return Ok(id);
        }
        let id = values.push(&value)?;
        table.insert_unique(hash, id, |&id| hasher.hash_one(values.get(id as usize)));
        Ok(id)
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    /// The values, in code order, as JSON.
    fn json(&self) -> Vec<Value> {
        (0..self.len()).map(|i| json!(self.values.get(i))).collect()
    }
}

/// A column of the batch as text, if the batch has it.
fn text_column(batch: &RecordBatch, name: &str) -> Result<Option<StringArray>> {
    let Ok(i) = batch.schema().index_of(name) else {
        return Ok(None);
    };
    let c =
        cast(batch.column(i), &DataType::Utf8).map_err(|e| QueryError::Output(e.to_string()))?;
    Ok(Some(c.as_string::<i32>().clone()))
}

/// The text of row `i`, unless it is null (or the column absent).
fn text_at(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
}

/// A value worth indexing: present and not blank.
fn present(a: Option<&StringArray>, i: usize) -> Option<&str> {
    text_at(a, i).filter(|v| !v.trim().is_empty())
}

#[derive(Default, Clone, Copy)]
struct Group {
    n: u32,
    fails: u32,
    span: Span,
}

/// The columns the build reads.
const SCANNED: &[&str] = &[
    "product",
    "enterprise",
    "enterprise_uscc",
    "brand",
    "model_spec",
    "failed_items",
    "inspection_agency",
    "enterprise_province",
    "plan_year",
    "result",
    "announced_on",
    "record_id",
    "publication_scope",
];

/// This process's resident memory in MiB, where `/proc` tells (the build logs it by phase).
fn resident_mib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1 << 20))
}

/// The key of a record id in the lookup table (FNV-1a; a match is checked against the row).
fn record_key(id: &str) -> u32 {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (h ^ (h >> 32)) as u32
}

impl SearchIndex {
    /// Builds the index in one pass over the rows (CPU and file work: call it off the async
    /// workers).
    pub fn build(rows: SpotRows) -> Result<Self> {
        let fields = SearchField::ALL;
        let mut interners: Vec<Interner> = fields.iter().map(|_| Interner::default()).collect();
        // Per field, each row's value code (list items apart).
        let n = rows.len() as usize;
        let mut codes: Vec<Vec<u32>> = fields
            .iter()
            .map(|f| {
                if *f == SearchField::FailedItem {
                    Vec::new()
                } else {
                    Vec::with_capacity(n)
                }
            })
            .collect();
        let items_k = field_slot(SearchField::FailedItem);
        let mut items: Vec<(u32, u32)> = Vec::new();
        let mut usccs = Interner::default();
        let mut provinces = Interner::default();
        let mut results = Interner::default();
        let mut scopes = Interner::default();
        // Small columns are kept narrow while they are read (a byte a row at 5M is 5 MB, not
        // 19).
        let mut scope_codes = Narrow::U8(Vec::with_capacity(n));
        let mut province_codes = Narrow::U8(Vec::with_capacity(n));
        let mut result_codes = Narrow::U8(Vec::with_capacity(n));
        let mut year_ids: HashMap<i64, u32> = HashMap::new();
        let mut year_codes = Narrow::U8(Vec::with_capacity(n));
        let mut announced = Vec::with_capacity(n);
        let mut groups: HashMap<(u32, u32), Group> = HashMap::new();
        let mut records: Vec<(u32, u32)> = Vec::with_capacity(n);
        let mut uscc_codes: Vec<u32> = Vec::with_capacity(n);
        let enterprise_k = field_slot(SearchField::Enterprise);
        let columns: Vec<&str> = match rows.schema() {
            Some(schema) => SCANNED
                .iter()
                .copied()
                .filter(|c| schema.index_of(c).is_ok())
                .collect(),
            None => Vec::new(),
        };
        if !columns.is_empty() {
            rows.scan(&columns, |at, batch| {
                let text: Vec<Option<StringArray>> = fields
                    .iter()
                    .map(|f| match f {
                        SearchField::FailedItem => Ok(None),
                        other => text_column(batch, other.column()),
                    })
                    .collect::<Result<_>>()?;
                let uscc = text_column(batch, "enterprise_uscc")?;
                if let Some(ids) = text_column(batch, "record_id")? {
                    records.extend(
                        (0..batch.num_rows())
                            .filter(|&i| ids.is_valid(i))
                            .map(|i| (record_key(ids.value(i)), at + i as u32)),
                    );
                }
                let province = text_column(batch, "enterprise_province")?;
                let result = text_column(batch, "result")?;
                let scope = text_column(batch, "publication_scope")?;
                let year = match batch.schema().index_of("plan_year") {
                    Ok(i) => Some(
                        cast(batch.column(i), &DataType::Int64)
                            .map_err(|e| QueryError::Output(e.to_string()))?,
                    ),
                    Err(_) => None,
                };
                let date = match batch.schema().index_of("announced_on") {
                    Ok(i) => Some(
                        cast(batch.column(i), &DataType::Date32)
                            .map_err(|e| QueryError::Output(e.to_string()))?,
                    ),
                    Err(_) => None,
                };
                let list = batch
                    .schema()
                    .index_of("failed_items")
                    .ok()
                    .and_then(|i| batch.column(i).as_list_opt::<i32>().cloned());
                for row in 0..batch.num_rows() {
                    let pos = at + row as u32;
                    for (k, f) in fields.iter().enumerate() {
                        if *f == SearchField::FailedItem {
                            continue;
                        }
                        // Blank values are kept (facets count them as SQL does); they
                        // fold to nothing, so no query matches them.
                        let code = match text_at(text[k].as_ref(), row) {
                            Some(v) => interners[k].id(v)?,
                            None => NONE,
                        };
                        codes[k].push(code);
                    }
                    if let Some(list) = &list
                        && list.is_valid(row)
                    {
                        let values = list.value(row);
                        let values = cast(&values, &DataType::Utf8)
                            .map_err(|e| QueryError::Output(e.to_string()))?;
                        let values = values.as_string::<i32>();
                        for i in 0..values.len() {
                            if let Some(v) = present(Some(values), i) {
                                items.push((interners[items_k].id(v)?, pos));
                            }
                        }
                    }
                    let y = year.as_ref().and_then(|y| {
                        let y = y.as_primitive::<Int64Type>();
                        y.is_valid(row).then(|| y.value(row))
                    });
                    year_codes.push(y.map_or(NONE, |y| {
                        let next = year_ids.len() as u32;
                        *year_ids.entry(y).or_insert(next)
                    }));
                    announced.push(date.as_ref().map_or(i32::MIN, |d| {
                        let d = d.as_primitive::<Date32Type>();
                        if d.is_valid(row) {
                            d.value(row)
                        } else {
                            i32::MIN
                        }
                    }));
                    let code_of = |a: &Option<StringArray>, into: &mut Interner| {
                        text_at(a.as_ref(), row).map_or(Ok(NONE), |v| into.id(v))
                    };
                    province_codes.push(code_of(&province, &mut provinces)?);
                    result_codes.push(code_of(&result, &mut results)?);
                    scope_codes.push(code_of(&scope, &mut scopes)?);
                    // Producers: (name, code) groups.
                    let code = match present(uscc.as_ref(), row) {
                        Some(v) => usccs.id(v.trim())?,
                        None => NONE,
                    };
                    uscc_codes.push(code);
                    let name = codes[enterprise_k].last().copied().unwrap_or(NONE);
                    let named = present(text[enterprise_k].as_ref(), row).is_some();
                    if name != NONE && named {
                        let g = groups.entry((name, code)).or_default();
                        g.n += 1;
                        let failed = text_at(result.as_ref(), row) == Some("fail");
                        g.fails += u32::from(failed);
                        g.span.add(y);
                    }
                }
                Ok(())
            })?;
        }
        let started = std::time::Instant::now();
        let phase = |name: &str| {
            tracing::debug!(
                phase = name,
                ms = started.elapsed().as_millis() as u64,
                resident_mib = resident_mib(),
                "search index build"
            );
        };
        phase("scanned");
        let mut index = Self {
            rows,
            announced,
            ..Self::default()
        };
        let mut syllable_ids: HashMap<String, u16> = HashMap::new();
        let mut reading_ids: HashMap<(u16, u16), u16> = HashMap::new();
        index.syl_start.push(0);
        let product_k = field_slot(SearchField::Product);
        let product_values = interners[product_k].json();
        for (k, f) in fields.iter().enumerate() {
            index.base[k] = index.folded.len() as u32;
            // Each field's raw values are let go once folded: the build's peak is its sum.
            let interner = std::mem::take(&mut interners[k]);
            let values = &interner.values;
            for i in 0..values.len() {
                let v = values.get(i);
                let folded = fold(v);
                index.folded.push(&folded)?;
                index.display_of.push(if folded == v {
                    NONE
                } else {
                    index.display_entry.push(index.folded.len() as u32 - 1);
                    index.display.push(v)?
                });
                if f.spelled() && has_han(&folded) {
                    index.spell(&folded, &mut syllable_ids, &mut reading_ids);
                }
                index.syl_start.push(index.said.len() as u32);
            }
        }
        index.base[fields.len()] = index.folded.len() as u32;
        phase("folded");
        drop(interners);
        // Postings, in position order.
        let entries = index.folded.len();
        let mut counts = vec![0u32; entries + 1];
        for (k, f) in fields.iter().enumerate() {
            if *f == SearchField::FailedItem {
                for &(id, _) in &items {
                    counts[(index.base[k] + id) as usize] += 1;
                }
            } else {
                for &c in codes[k].iter().filter(|&&c| c != NONE) {
                    counts[(index.base[k] + c) as usize] += 1;
                }
            }
        }
        let mut start = Vec::with_capacity(entries + 1);
        let mut sum = 0u32;
        for c in &counts[..entries] {
            start.push(sum);
            sum += c;
        }
        start.push(sum);
        drop(counts);
        let mut fill: Vec<u32> = start[..entries].to_vec();
        let mut post = vec![0u32; sum as usize];
        for (k, f) in fields.iter().enumerate() {
            let mut put = |entry: u32, pos: u32| {
                let slot = &mut fill[entry as usize];
                post[*slot as usize] = pos;
                *slot += 1;
            };
            if *f == SearchField::FailedItem {
                for &(id, pos) in &items {
                    put(index.base[k] + id, pos);
                }
            } else {
                for (pos, &c) in codes[k].iter().enumerate() {
                    if c != NONE {
                        put(index.base[k] + c, pos as u32);
                    }
                }
            }
        }
        drop(fill);
        drop(items);
        index.post_start = start;
        index.post = post;
        phase("postings");
        // Facet columns: product, province, year, result.
        index.facets[0] = Codes::new(std::mem::take(&mut codes[product_k]), product_values);
        let enterprises = std::mem::take(&mut codes[enterprise_k]);
        drop(codes);
        index.facets[1] = Codes {
            codes: province_codes,
            values: provinces.json(),
        };
        let mut years: Vec<(i64, u32)> = year_ids.into_iter().collect();
        years.sort_unstable();
        // Year codes in year order, so a facet's and a comparison's codes read in order.
        let mut rank = vec![NONE; years.len()];
        for (i, (_, id)) in years.iter().enumerate() {
            rank[*id as usize] = i as u32;
        }
        year_codes.remap(&rank);
        index.facets[2] = Codes {
            codes: year_codes,
            values: years.into_iter().map(|(y, _)| Value::from(y)).collect(),
        };
        index.facets[3] = Codes {
            codes: result_codes,
            values: results.json(),
        };
        index.uscc = uscc_codes;
        index.scope = Codes {
            codes: scope_codes,
            values: scopes.json(),
        };
        records.sort_unstable();
        index.record_pos = records.iter().map(|r| r.1).collect();
        index.record_keys = records.iter().map(|r| r.0).collect();
        drop(records);
        phase("codes");
        index.entities = Entities::build(&index, groups, &usccs.values)?;
        phase("producers");
        drop(usccs);
        index.order = index.default_order(&enterprises)?;
        phase("order");
        drop(enterprises);
        let mut names: Vec<(u32, String)> = syllable_ids
            .into_iter()
            .map(|(s, id)| (id as u32, s))
            .collect();
        names.sort_unstable();
        index.syllables = names.into_iter().map(|(_, s)| s).collect();
        let mut readings: Vec<((u16, u16), u16)> = reading_ids.into_iter().collect();
        readings.sort_unstable_by_key(|r| r.1);
        index.readings = readings.into_iter().map(|(r, _)| r).collect();
        let initial = |s: u16| {
            index
                .syllables
                .get(s as usize)
                .and_then(|s| s.bytes().next())
                .unwrap_or(0)
        };
        index.initials = index
            .readings
            .iter()
            .map(|&(first, second)| [initial(first), initial(second)])
            .collect();
        index.shrink();
        Ok(index)
    }

    /// The positions in the default order of the `spot_checks` view: the files (each sorted
    /// so) merged by product, year and enterprise from memory; rows of different files equal
    /// on those three are put in record id order, read by position.
    fn default_order(&self, enterprises: &[u32]) -> Result<Vec<u32>> {
        let (products, years) = (&self.facets[0], &self.facets[2]);
        let n = self.rows.len() as usize;
        if enterprises.len() != n || years.values.len() >= 255 || products.values.len() >= 1 << 23 {
            return Ok(Vec::new());
        }
        // Ranks in string order, unknown (null) first at 0.
        let base = self.base[field_slot(SearchField::Product)];
        let mut by_value: Vec<u32> = (0..products.values.len() as u32).collect();
        by_value.sort_by(|&a, &b| self.value_bytes(base + a).cmp(self.value_bytes(base + b)));
        let mut product_rank = vec![0u64; products.values.len()];
        for (r, &code) in by_value.iter().enumerate() {
            product_rank[code as usize] = r as u64 + 1;
        }
        let mut enterprise_rank = vec![0u64; self.entities.by_name.len()];
        for (r, &local) in self.entities.by_name.iter().enumerate() {
            enterprise_rank[local as usize] = r as u64 + 1;
        }
        let key = |p: u32| -> u64 {
            let p = p as usize;
            let product = product_rank
                .get(products.at(p) as usize)
                .copied()
                .unwrap_or(0);
            let year = years.at(p);
            let year = if (year as usize) < years.values.len() {
                u64::from(year) + 1
            } else {
                0
            };
            let enterprise = enterprise_rank
                .get(enterprises[p] as usize)
                .copied()
                .unwrap_or(0);
            (product << 40) | (year << 32) | enterprise
        };
        // A k-way merge of the files' runs.
        let mut heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u32, u32)>> = self
            .rows
            .ranges()
            .filter(|r| !r.is_empty())
            .map(|r| std::cmp::Reverse((key(r.start), r.start, r.end)))
            .collect();
        let mut order = Vec::with_capacity(n);
        // Runs of equal keys from more than one file: (start, end) in `order`.
        let mut ties: Vec<(usize, usize)> = Vec::new();
        let (mut run_key, mut run_start, mut run_files) = (u64::MAX, 0usize, 0u32);
        let mut last_end = u32::MAX;
        while let Some(std::cmp::Reverse((k, p, end))) = heads.pop() {
            if k != run_key {
                if run_files > 1 {
                    ties.push((run_start, order.len()));
                }
                (run_key, run_start, run_files) = (k, order.len(), 1);
            } else if end != last_end {
                run_files += 1;
            }
            last_end = end;
            order.push(p);
            if p + 1 < end {
                heads.push(std::cmp::Reverse((key(p + 1), p + 1, end)));
            }
        }
        if run_files > 1 {
            ties.push((run_start, order.len()));
        }
        // Ties: by record id, a bounded number of rows read at a time.
        let mut at = 0;
        while at < ties.len() {
            let mut take = 0;
            let mut rows = 0;
            while at + take < ties.len() && (take == 0 || rows < 1 << 16) {
                rows += ties[at + take].1 - ties[at + take].0;
                take += 1;
            }
            let spans = &ties[at..at + take];
            let positions: Vec<u32> = spans
                .iter()
                .flat_map(|&(s, e)| order[s..e].iter().copied())
                .collect();
            let ids = match self.rows.fetch(&positions, &["record_id"])? {
                Some(batch) => cast(batch.column(0), &DataType::Utf8)
                    .map_err(|e| QueryError::Output(e.to_string()))?,
                None => return Ok(Vec::new()),
            };
            let ids = ids.as_string::<i32>();
            if ids.len() != positions.len() {
                return Ok(Vec::new());
            }
            let mut i = 0;
            for &(s, e) in spans {
                let mut span: Vec<(Option<&str>, u32)> = (s..e)
                    .map(|j| {
                        let id = text_at(Some(ids), i + j - s);
                        (id, order[j])
                    })
                    .collect();
                span.sort();
                for (j, (_, p)) in span.into_iter().enumerate() {
                    order[s + j] = p;
                }
                i += e - s;
            }
            at += take;
        }
        Ok(order)
    }

    /// Gives back what the build reserved and did not use.
    fn shrink(&mut self) {
        for p in [&mut self.folded, &mut self.display, &mut self.entities.keys] {
            p.buf.shrink_to_fit();
            p.starts.shrink_to_fit();
        }
        for v in [
            &mut self.display_of,
            &mut self.display_entry,
            &mut self.syl_start,
            &mut self.post_start,
            &mut self.post,
            &mut self.uscc,
            &mut self.record_pos,
            &mut self.record_keys,
            &mut self.order,
        ] {
            v.shrink_to_fit();
        }
        self.said.shrink_to_fit();
        self.announced.shrink_to_fit();
        self.entities.list.shrink_to_fit();
        self.entities.names.shrink_to_fit();
    }

    /// Records the syllables of a folded name: for each character the id of its first two
    /// readings (or the character itself when it has none).
    fn spell(
        &mut self,
        folded: &str,
        ids: &mut HashMap<String, u16>,
        pairs: &mut HashMap<(u16, u16), u16>,
    ) {
        let mut id = |s: &str| -> u16 {
            if let Some(&i) = ids.get(s) {
                return i;
            }
            let next = ids.len();
            if next >= u16::MAX as usize {
                return u16::MAX;
            }
            ids.insert(s.to_owned(), next as u16);
            next as u16
        };
        for c in folded.chars() {
            let pair = match c.to_pinyin_multi() {
                Some(multi) => {
                    let mut readings = multi.into_iter().map(|p| p.plain());
                    let first = readings.next().unwrap_or("");
                    let second = readings.find(|r| *r != first).unwrap_or(first);
                    (id(first), id(second))
                }
                None => {
                    let mut buf = [0u8; 4];
                    let own = id(c.encode_utf8(&mut buf));
                    (own, own)
                }
            };
            let next = pairs.len().min(usize::from(u16::MAX)) as u16;
            let said = *pairs.entry(pair).or_insert(next);
            self.said.push(said);
        }
    }

    /// The heap bytes each part of the index holds, for `/metrics` and the build log (the
    /// row files' metadata apart).
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        let e = &self.entities;
        vec![
            (
                "values",
                self.folded.heap_bytes() + self.display.heap_bytes() + vec_bytes(&self.display_of),
            ),
            (
                "pinyin",
                vec_bytes(&self.syl_start) + vec_bytes(&self.said) + vec_bytes(&self.readings),
            ),
            (
                "postings",
                vec_bytes(&self.post_start) + vec_bytes(&self.post),
            ),
            (
                "row_codes",
                self.facets.iter().map(Codes::heap_bytes).sum::<usize>()
                    + self.scope.heap_bytes()
                    + vec_bytes(&self.uscc)
                    + vec_bytes(&self.announced),
            ),
            ("order", vec_bytes(&self.order)),
            (
                "record_ids",
                vec_bytes(&self.record_keys) + vec_bytes(&self.record_pos),
            ),
            (
                "producers",
                vec_bytes(&e.list)
                    + e.keys.heap_bytes()
                    + vec_bytes(&e.names)
                    + vec_bytes(&e.of_name)
                    + vec_bytes(&e.bare)
                    + vec_bytes(&e.by_name)
                    + e.more.values().map(|v| vec_bytes(v) + 24).sum::<usize>(),
            ),
        ]
    }

    /// Distinct values indexed.
    pub fn len(&self) -> usize {
        self.folded.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.folded.len() == 0
    }

    /// Rows indexed.
    pub fn rows(&self) -> u32 {
        self.rows.len()
    }

    pub(crate) fn field_of(&self, entry: u32) -> SearchField {
        let k = self.base[1..].partition_point(|&b| b <= entry);
        SearchField::ALL[k.min(SearchField::ALL.len() - 1)]
    }

    /// The value as published, as bytes (for sorting).
    fn value_bytes(&self, entry: u32) -> &[u8] {
        match self.display_of[entry as usize] {
            NONE => self.folded.bytes(entry as usize),
            d => self.display.bytes(d as usize),
        }
    }

    /// The value as published.
    pub(crate) fn value(&self, entry: u32) -> &str {
        match self.display_of[entry as usize] {
            NONE => self.folded.get(entry as usize),
            d => self.display.get(d as usize),
        }
    }

    /// The values of `field` that contain `needle` as published (SQL's `strpos`, exact and
    /// case-sensitive): values published as they fold are found in the folded buffer, the
    /// others in the published one, each by `memmem` over the field's span. `None` for a
    /// needle with a NUL (the buffers' separator).
    pub(crate) fn containing(&self, field: SearchField, needle: &str) -> Option<Vec<u32>> {
        if needle.contains('\0') {
            return None;
        }
        let entries = self.entries_of(field);
        let mut out = Vec::new();
        let span = |p: &Packed, from: usize, to: usize| -> (usize, usize) {
            let start = p.starts.get(from).map_or(p.buf.len(), |&s| s as usize);
            let end = p.starts.get(to).map_or(p.buf.len(), |&s| s as usize);
            (start, end)
        };
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        // Published as folded.
        let (start, end) = span(&self.folded, entries.start as usize, entries.end as usize);
        let mut last = u32::MAX;
        for at in finder.find_iter(&self.folded.buf[start..end]) {
            let e = self.folded.entry_at(start + at) as u32;
            if e != last && self.display_of[e as usize] == NONE {
                out.push(e);
            }
            last = e;
        }
        // Published otherwise.
        let from = self.display_entry.partition_point(|&e| e < entries.start);
        let to = self.display_entry.partition_point(|&e| e < entries.end);
        let (start, end) = span(&self.display, from, to);
        let mut last = usize::MAX;
        for at in finder.find_iter(&self.display.buf[start..end]) {
            let d = self.display.entry_at(start + at);
            if d != last {
                out.push(self.display_entry[d]);
            }
            last = d;
        }
        Some(out)
    }

    /// Rows holding the value.
    pub(crate) fn postings(&self, entry: u32) -> &[u32] {
        let e = entry as usize;
        &self.post[self.post_start[e] as usize..self.post_start[e + 1] as usize]
    }

    pub(crate) fn batches(&self, entry: u32) -> u64 {
        self.postings(entry).len() as u64
    }

    /// The earliest of the `n` latest distinct announcement dates (days since 1970), if any
    /// row has one: the latest `n` groups by date start no earlier.
    pub(crate) fn recent_days(&self, n: usize) -> Option<i32> {
        let mut days: Vec<i32> = Vec::with_capacity(n + 1);
        for &d in &self.announced {
            if d == i32::MIN || days.contains(&d) {
                continue;
            }
            if days.len() < n {
                days.push(d);
            } else if let Some(min) = days.iter_mut().min().filter(|m| **m < d) {
                *min = d;
            }
        }
        days.into_iter().min()
    }

    pub(crate) fn announced(&self, pos: u32) -> i32 {
        self.announced[pos as usize]
    }

    pub(crate) fn entries_of(&self, field: SearchField) -> std::ops::Range<u32> {
        let k = field_slot(field);
        self.base[k]..self.base[k + 1]
    }

    /// Every value of `fields` matching `q` (folded), with how it matched.
    pub(crate) fn matches(&self, q: &str, fields: &[SearchField]) -> Vec<(u32, MatchKind)> {
        let q: String = q.chars().filter(|&c| c != '\0').collect();
        if q.is_empty() || self.is_empty() {
            return Vec::new();
        }
        let wanted = |e: u32| fields.contains(&self.field_of(e));
        let mut seen = vec![false; self.folded.len()];
        let mut hits: Vec<(u32, MatchKind)> = Vec::new();
        let mut substring = |needle: &str, exact_kinds: bool, hits: &mut Vec<(u32, MatchKind)>| {
            let finder = memchr::memmem::Finder::new(needle.as_bytes());
            for at in finder.find_iter(&self.folded.buf) {
                let e = self.folded.entry_at(at);
                if seen[e] {
                    continue;
                }
                seen[e] = true;
                if !wanted(e as u32) {
                    continue;
                }
                let (start, end) = self.folded.span(e);
                let kind = if !exact_kinds || at != start {
                    MatchKind::Contains
                } else if end - start == needle.len() {
                    MatchKind::Exact
                } else {
                    MatchKind::Prefix
                };
                hits.push((e as u32, kind));
            }
        };
        substring(&q, true, &mut hits);
        for (word, names) in ALIASES {
            if *word == q {
                for name in *names {
                    substring(name, false, &mut hits);
                }
            }
        }
        let letters = q.chars().all(|c| c.is_ascii_lowercase());
        if letters {
            let patterns = self.patterns(&q);
            for field in fields.iter().filter(|f| f.spelled()) {
                for e in self.entries_of(*field) {
                    if seen[e as usize] {
                        continue;
                    }
                    if let Some(kind) = self.spoken(e, &q, &patterns) {
                        seen[e as usize] = true;
                        hits.push((e, kind));
                    }
                }
            }
        }
        // A model number with a typo: when few models match as typed, the models within one
        // edit (two for 8+ characters) of the query, or of one of their words.
        let looks_like_model =
            q.is_ascii() && q.chars().count() >= 4 && q.chars().any(|c| c.is_ascii_digit());
        if looks_like_model && fields.contains(&SearchField::Model) {
            let models = hits
                .iter()
                .filter(|(e, _)| self.field_of(*e) == SearchField::Model)
                .count();
            if models < 5 {
                let max = if q.len() >= 8 { 2 } else { 1 };
                let near = |text: &str| text.len().abs_diff(q.len()) <= max * 4;
                for e in self.entries_of(SearchField::Model) {
                    if seen[e as usize] {
                        continue;
                    }
                    let folded = self.folded.get(e as usize);
                    let close = (near(folded) && within(folded, &q, max).is_some())
                        || self
                            .value(e)
                            .split_whitespace()
                            .filter(|w| near(w))
                            .any(|w| {
                                let w = if w.is_ascii() {
                                    w.to_ascii_lowercase()
                                } else {
                                    fold(w)
                                };
                                within(&w, &q, max).is_some()
                            });
                    if close {
                        seen[e as usize] = true;
                        hits.push((e, MatchKind::Fuzzy));
                    }
                }
            }
        }
        hits
    }

    /// Edits between a model (or its closest word) and `q`, at most 2 (3 when farther).
    pub(crate) fn model_distance(&self, entry: u32, q: &str) -> usize {
        let whole = within(self.folded.get(entry as usize), q, 2);
        let words = self.value(entry).split_whitespace().filter_map(|w| {
            let w = if w.is_ascii() {
                w.to_ascii_lowercase()
            } else {
                fold(w)
            };
            within(&w, q, 2)
        });
        whole.into_iter().chain(words).min().unwrap_or(3)
    }

    /// The ways `q` (ASCII letters) splits into syllables, the last one possibly cut short
    /// (`meid` is mei + a syllable starting with d). Each is a list of syllable sets and
    /// whether the last syllable is whole.
    fn patterns(&self, q: &str) -> Vec<Pattern> {
        let words = self.syllables.len().div_ceil(64).max(1);
        let mut out = Vec::new();
        let mut path: Vec<Vec<u64>> = Vec::new();
        self.split(q, words, &mut path, &mut out);
        let has = |set: &[u64], s: u16| {
            set.get(s as usize / 64)
                .is_some_and(|w| w & (1 << (s % 64)) != 0)
        };
        for p in &mut out {
            p.fits = p
                .sets
                .iter()
                .map(|set| {
                    self.readings
                        .iter()
                        .map(|&(first, second)| has(set, first) || has(set, second))
                        .collect()
                })
                .collect();
        }
        out
    }

    fn split(&self, rest: &str, words: usize, path: &mut Vec<Vec<u64>>, out: &mut Vec<Pattern>) {
        const MAX_PATTERNS: usize = 64;
        if out.len() >= MAX_PATTERNS {
            return;
        }
        if rest.is_empty() {
            if !path.is_empty() {
                out.push(Pattern {
                    sets: path.clone(),
                    whole: true,
                    fits: Vec::new(),
                });
            }
            return;
        }
        let mut whole: Vec<(usize, u16)> = Vec::new();
        let mut partial = vec![0u64; words];
        let mut any_partial = false;
        for (id, s) in self.syllables.iter().enumerate() {
            if !s.is_empty() && rest.starts_with(s.as_str()) {
                whole.push((s.len(), id as u16));
            } else if s.len() > rest.len() && s.starts_with(rest) {
                partial[id / 64] |= 1 << (id % 64);
                any_partial = true;
            }
        }
        // Longest syllables first: the usual reading of the spelling comes first.
        whole.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (len, id) in whole {
            let mut set = vec![0u64; words];
            set[id as usize / 64] |= 1 << (id % 64);
            path.push(set);
            self.split(&rest[len..], words, path, out);
            path.pop();
        }
        if any_partial && out.len() < MAX_PATTERNS {
            path.push(partial);
            out.push(Pattern {
                sets: path.clone(),
                whole: false,
                fits: Vec::new(),
            });
            path.pop();
        }
    }

    /// How ASCII letters match a name in pinyin or initials, if they do.
    fn spoken(&self, entry: u32, q: &str, patterns: &[Pattern]) -> Option<MatchKind> {
        let (a, b) = (
            self.syl_start[entry as usize] as usize,
            self.syl_start[entry as usize + 1] as usize,
        );
        if a == b {
            return None;
        }
        let said = &self.said[a..b];
        let mut found = None;
        for p in patterns {
            let k = p.fits.len();
            if k > said.len() {
                continue;
            }
            for j in 0..=said.len() - k {
                let fits = p
                    .fits
                    .iter()
                    .zip(&said[j..j + k])
                    .all(|(fit, &pair)| fit.get(pair as usize).copied().unwrap_or(false));
                if fits {
                    if j == 0 && k == said.len() && p.whole {
                        return Some(MatchKind::Pinyin);
                    }
                    found = Some(MatchKind::PinyinWithin);
                    break;
                }
            }
        }
        if found.is_some() || q.len() < 2 {
            return found;
        }
        let q = q.as_bytes();
        let at = |j: usize| {
            q.iter().enumerate().all(|(i, c)| {
                let [first, second] = self
                    .initials
                    .get(said[j + i] as usize)
                    .copied()
                    .unwrap_or([0, 0]);
                first == *c || second == *c
            })
        };
        if said.len() == q.len() && at(0) {
            return Some(MatchKind::Initials);
        }
        if q.len() >= 3 && said.len() > q.len() && (0..=said.len() - q.len()).any(at) {
            return Some(MatchKind::InitialsWithin);
        }
        None
    }

    /// Positions whose record id may be `id` (check the row: keys can collide).
    pub fn record_candidates(&self, id: &str) -> &[u32] {
        let key = record_key(id);
        let lo = self.record_keys.partition_point(|&k| k < key);
        let hi = self.record_keys.partition_point(|&k| k <= key);
        &self.record_pos[lo..hi]
    }

    /// The spot-check rows the index numbers.
    pub fn spot_rows(&self) -> &SpotRows {
        &self.rows
    }

    /// The entry of an enterprise name as published, if any row has it.
    fn enterprise_entry(&self, name: &str) -> Option<u32> {
        let base = self.base[field_slot(SearchField::Enterprise)];
        let by = &self.entities.by_name;
        let i = by.partition_point(|&local| self.value(base + local) < name);
        by.get(i)
            .filter(|&&local| self.value(base + local) == name)
            .map(|&local| base + local)
    }

    /// The producer whose key is `key`.
    pub(crate) fn entity(&self, key: &str) -> Option<usize> {
        let keys = &self.entities.keys;
        let (mut lo, mut hi) = (0, keys.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if keys.get(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < keys.len() && keys.get(lo) == key).then_some(lo)
    }

    pub(crate) fn entity_key(&self, i: usize) -> &str {
        self.entities.keys.get(i)
    }

    /// The names of a producer: (name, batches, published without a code), most batches
    /// first.
    pub(crate) fn entity_names(&self, i: usize) -> impl Iterator<Item = (&str, u64, bool)> {
        self.entities
            .names_of(i)
            .iter()
            .map(|&(entry, n, bare)| (self.value(entry), u64::from(n), bare))
    }

    /// The positions of a producer's rows: its names' rows that carry its code, or no code
    /// where the name's rows without one belong to it.
    pub fn enterprise_rows(&self, key: &str) -> Option<Vec<u32>> {
        let i = self.entity(key)?;
        let e = &self.entities.list[i];
        let mut out = Vec::new();
        for &(entry, _, bare) in self.entities.names_of(i) {
            for &p in self.postings(entry) {
                let u = self.uscc[p as usize];
                if (e.code != NONE && u == e.code) || (u == NONE && bare) {
                    out.push(p);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// The producer of a row: by its code, or by the name its rows without a code have.
    pub(crate) fn entity_of_row(&self, name: &str, uscc: Option<&str>) -> Option<usize> {
        match uscc {
            Some(code) => self.entity(code),
            None => {
                let entry = self.enterprise_entry(name)?;
                let local = entry - self.base[field_slot(SearchField::Enterprise)];
                match self.entities.bare.get(local as usize) {
                    Some(&e) if e != NONE => Some(e as usize),
                    _ => None,
                }
            }
        }
    }

    /// Producers of the enterprise names among `hits`, each with its best match.
    pub(crate) fn entities_of(&self, hits: &[(u32, MatchKind)]) -> Vec<(usize, MatchKind)> {
        let base = self.base[field_slot(SearchField::Enterprise)];
        let mut best: HashMap<usize, MatchKind> = HashMap::new();
        for &(entry, kind) in hits {
            let local = entry - base;
            let first = self.entities.of_name.get(local as usize).copied();
            let more = self
                .entities
                .more
                .get(&local)
                .into_iter()
                .flatten()
                .copied();
            for e in first.into_iter().filter(|&e| e != NONE).chain(more) {
                let slot = best.entry(e as usize).or_insert(kind);
                *slot = (*slot).min(kind);
            }
        }
        best.into_iter().collect()
    }
}

/// A split of a pinyin query: the syllables each character may read as, in order.
#[derive(Debug)]
struct Pattern {
    sets: Vec<Vec<u64>>,
    whole: bool,
    /// Per set, per reading pair: whether a character with those readings fits it (one
    /// lookup per character in the scan over every name).
    fits: Vec<Vec<bool>>,
}

/// The slot of a field in `SearchField::ALL`.
pub(crate) fn field_slot(field: SearchField) -> usize {
    SearchField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or(0)
}

impl Entities {
    /// Producers from the (name, code) groups: one per 统一社会信用代码; rows without a code
    /// join the only code their normalised name is seen with, or make a producer of their
    /// normalised name. Sorting, not maps of owned keys: 1.6M producers at 5M rows.
    fn build(
        index: &SearchIndex,
        groups: HashMap<(u32, u32), Group>,
        usccs: &Packed,
    ) -> Result<Self> {
        let base = index.base[field_slot(SearchField::Enterprise)];
        let names = (index.base[field_slot(SearchField::Enterprise) + 1] - base) as usize;
        let mut groups: Vec<((u32, u32), Group)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(k, _)| *k);
        // Each name's normalised form, interned.
        let mut normals = Interner::default();
        let mut normal_of = vec![NONE; names];
        for ((name, _), _) in &groups {
            let slot = &mut normal_of[*name as usize];
            if *slot == NONE {
                *slot = normals.id(&entity_name(index.value(base + name)))?;
            }
        }
        // The codes each normalised name is seen with.
        let mut seen: Vec<(u32, u32)> = groups
            .iter()
            .filter(|((_, code), _)| *code != NONE)
            .map(|((name, code), _)| (normal_of[*name as usize], *code))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let only_code = |normal: u32| {
            let lo = seen.partition_point(|p| p.0 < normal);
            let hi = seen.partition_point(|p| p.0 <= normal);
            (hi - lo == 1).then(|| seen[lo].1)
        };
        // Each group's producer: (by name?, code or normalised name id), its name, bare.
        struct Part {
            by_name: bool,
            id: u32,
            name: u32,
            bare: bool,
            group: Group,
        }
        let mut parts: Vec<Part> = groups
            .into_iter()
            .map(|((name, code), group)| {
                let (by_name, id, bare) = if code != NONE {
                    (false, code, false)
                } else {
                    let normal = normal_of[name as usize];
                    match only_code(normal) {
                        Some(code) => (false, code, true),
                        None => (true, normal, true),
                    }
                };
                Part {
                    by_name,
                    id,
                    name,
                    bare,
                    group,
                }
            })
            .collect();
        drop(normal_of);
        let key = |p: &Part| {
            if p.by_name {
                normals.values.bytes(p.id as usize)
            } else {
                usccs.bytes(p.id as usize)
            }
        };
        // By producer key, then name: each producer's parts are contiguous.
        parts.sort_unstable_by(|a, b| {
            key(a)
                .cmp(key(b))
                .then(a.by_name.cmp(&b.by_name))
                .then(a.id.cmp(&b.id))
                .then(a.name.cmp(&b.name))
        });
        let mut out = Self {
            of_name: vec![NONE; names],
            bare: vec![NONE; names],
            ..Self::default()
        };
        let mut run = 0;
        while run < parts.len() {
            let first = &parts[run];
            let end = run
                + parts[run..]
                    .iter()
                    .take_while(|p| p.by_name == first.by_name && p.id == first.id)
                    .count();
            let i = out.list.len() as u32;
            let start = out.names.len();
            let mut group = Group::default();
            for p in &parts[run..end] {
                group.n += p.group.n;
                group.fails += p.group.fails;
                group.span.join(p.group.span);
                let entry = base + p.name;
                match out.names[start..].last_mut() {
                    Some((last, count, was_bare)) if *last == entry => {
                        *count += p.group.n;
                        *was_bare |= p.bare;
                    }
                    _ => out.names.push((entry, p.group.n, p.bare)),
                }
            }
            out.names[start..].sort_by(|x, y| {
                y.1.cmp(&x.1)
                    .then_with(|| index.value_bytes(x.0).cmp(index.value_bytes(y.0)))
            });
            for &(entry, _, bare) in &out.names[start..] {
                let local = (entry - base) as usize;
                if out.of_name[local] == NONE {
                    out.of_name[local] = i;
                } else if out.of_name[local] != i {
                    out.more.entry(local as u32).or_default().push(i);
                }
                if bare {
                    out.bare[local] = i;
                }
            }
            out.keys
                .push(std::str::from_utf8(key(first)).unwrap_or(""))?;
            out.list.push(Entity {
                code: if first.by_name { NONE } else { first.id },
                names: start as u32,
                batches: group.n,
                fails: group.fails,
                span: group.span,
            });
            run = end;
        }
        let mut by_name: Vec<u32> = (0..names as u32).collect();
        by_name.sort_unstable_by(|&a, &b| {
            index.value_bytes(base + a).cmp(index.value_bytes(base + b))
        });
        out.by_name = by_name;
        Ok(out)
    }

    /// The names of producer `i` (entry, batches, published without a code).
    fn names_of(&self, i: usize) -> &[(u32, u32, bool)] {
        let start = self.list[i].names as usize;
        let end = self
            .list
            .get(i + 1)
            .map_or(self.names.len(), |e| e.names as usize);
        &self.names[start..end]
    }
}
