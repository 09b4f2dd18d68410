//! The search index of one snapshot, built in one pass over its spot-check files.
//!
//! Measured at 5M rows (4.78M batches, 1.58M distinct producer names, 1.18M distinct models),
//! a dictionary of owned strings with pinyin spellings held 6.4 GiB and a search answered by
//! SQL over `IN` lists of matched values took 4.9 s (p50). So everything here is packed:
//!
//! - the folded values of each searched field, one buffer with NUL separators, scanned with
//!   `memchr::memmem` (a substring of any length, no segmentation);
//! - each Han name's characters as pinyin syllable ids (two readings per character), matched
//!   against the syllable sequences a pinyin query can be split into, and their initials;
//! - postings: for each value, the positions ([`crate::spot_rows`]) of the rows holding it;
//! - for each row, its product, province, year, result and announcement date as small codes,
//!   so a search's count, facets, filters and order come from memory, and only the page's
//!   rows are read from Parquet;
//! - producers: one entity per 统一社会信用代码 or normalised name, over the same name entries.

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
        let (s, e) = self.span(i);
        std::str::from_utf8(&self.buf[s..e]).unwrap_or("")
    }

    /// The entry holding byte `offset`.
    fn entry_at(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1)
    }
}

/// A column of small codes, one per row, with the value each code stands for.
#[derive(Debug, Default)]
pub(crate) struct Codes {
    pub(crate) codes: Vec<u32>,
    pub(crate) values: Vec<Value>,
}

impl Codes {
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
}

/// The facets a search computes from memory, in [`super::SEARCH_FACETS`] order.
pub(crate) const FACETS: usize = 4;

/// One producer: a code or a normalised name, its names, and its counts.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub(crate) coded: bool,
    /// Its code's id in `SearchIndex::uscc` (`NONE` for a producer known by name).
    code: u32,
    /// Range in `Entities::names`.
    names: (u32, u32),
    pub(crate) batches: u64,
    pub(crate) fails: u64,
    pub(crate) years: (Option<i64>, Option<i64>),
}

/// Producers, sorted by key.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    pub(crate) list: Vec<Entity>,
    keys: Packed,
    /// (enterprise entry id, batches, published without a code).
    names: Vec<(u32, u64, bool)>,
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
    /// Per entry, its range in `prim`/`alt` (names with Han characters only).
    syl_start: Vec<u32>,
    prim: Vec<u16>,
    alt: Vec<u16>,
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
    record_keys: Vec<u64>,
    record_pos: Vec<u32>,
}

/// Interns the values of a column, giving each distinct value a code.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(value.to_owned(), id);
        id
    }

    fn into_values(self) -> Vec<String> {
        let mut values = vec![String::new(); self.ids.len()];
        for (v, id) in self.ids {
            values[id as usize] = v;
        }
        values
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
    n: u64,
    fails: u64,
    y0: Option<i64>,
    y1: Option<i64>,
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

/// The key of a record id in the lookup table (FNV-1a; a match is checked against the row).
fn record_key(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
        let mut items: Vec<(u32, u32)> = Vec::new();
        let mut usccs = Interner::default();
        let mut provinces = Interner::default();
        let mut results = Interner::default();
        let mut scopes = Interner::default();
        let mut scope_codes = Vec::with_capacity(n);
        let mut province_codes = Vec::with_capacity(n);
        let mut result_codes = Vec::with_capacity(n);
        let mut years: Vec<Option<i64>> = Vec::with_capacity(n);
        let mut announced = Vec::with_capacity(n);
        let mut groups: HashMap<(u32, u32), Group> = HashMap::new();
        let mut records: Vec<(u64, u32)> = Vec::with_capacity(n);
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
                        let code =
                            text_at(text[k].as_ref(), row).map_or(NONE, |v| interners[k].id(v));
                        codes[k].push(code);
                    }
                    if let Some(list) = &list
                        && list.is_valid(row)
                    {
                        let values = list.value(row);
                        let values = cast(&values, &DataType::Utf8)
                            .map_err(|e| QueryError::Output(e.to_string()))?;
                        let values = values.as_string::<i32>();
                        let k = fields
                            .iter()
                            .position(|f| *f == SearchField::FailedItem)
                            .unwrap_or(0);
                        for i in 0..values.len() {
                            if let Some(v) = present(Some(values), i) {
                                items.push((interners[k].id(v), pos));
                            }
                        }
                    }
                    let y = year.as_ref().and_then(|y| {
                        let y = y.as_primitive::<Int64Type>();
                        y.is_valid(row).then(|| y.value(row))
                    });
                    years.push(y);
                    announced.push(date.as_ref().map_or(i32::MIN, |d| {
                        let d = d.as_primitive::<Date32Type>();
                        if d.is_valid(row) {
                            d.value(row)
                        } else {
                            i32::MIN
                        }
                    }));
                    let code_of = |a: &Option<StringArray>, into: &mut Interner| {
                        text_at(a.as_ref(), row).map(|v| into.id(v))
                    };
                    province_codes.push(code_of(&province, &mut provinces).unwrap_or(NONE));
                    let r = code_of(&result, &mut results);
                    result_codes.push(r.unwrap_or(NONE));
                    scope_codes.push(code_of(&scope, &mut scopes).unwrap_or(NONE));
                    // Producers: (name, code) groups.
                    let code = present(uscc.as_ref(), row).map_or(NONE, |v| usccs.id(v.trim()));
                    uscc_codes.push(code);
                    let name = codes[enterprise_k].last().copied().unwrap_or(NONE);
                    let named = present(text[enterprise_k].as_ref(), row).is_some();
                    if name != NONE && named {
                        let g = groups.entry((name, code)).or_default();
                        g.n += 1;
                        let failed = text_at(result.as_ref(), row) == Some("fail");
                        g.fails += u64::from(failed);
                        g.y0 = min_opt(g.y0, y);
                        g.y1 = max_opt(g.y1, y);
                    }
                }
                Ok(())
            })?;
        }
        let values: Vec<Vec<String>> = interners.into_iter().map(Interner::into_values).collect();
        let mut index = Self {
            rows,
            announced,
            ..Self::default()
        };
        let mut syllable_ids: HashMap<String, u16> = HashMap::new();
        index.syl_start.push(0);
        for (k, f) in fields.iter().enumerate() {
            index.base[k] = index.folded.len() as u32;
            for v in &values[k] {
                let folded = fold(v);
                index.folded.push(&folded)?;
                index.display_of.push(if folded == *v {
                    NONE
                } else {
                    index.display.push(v)?
                });
                if f.spelled() && has_han(&folded) {
                    index.spell(&folded, &mut syllable_ids);
                }
                index.syl_start.push(index.prim.len() as u32);
            }
        }
        index.base[fields.len()] = index.folded.len() as u32;
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
        index.post_start = start;
        index.post = post;
        // Facet columns: product, province, year, result.
        let product_k = field_slot(SearchField::Product);
        index.facets[0] = Codes {
            codes: std::mem::take(&mut codes[product_k]),
            values: values[product_k].iter().map(|v| json!(v)).collect(),
        };
        index.facets[1] = Codes {
            codes: province_codes,
            values: provinces
                .into_values()
                .into_iter()
                .map(Value::from)
                .collect(),
        };
        let mut year_values: Vec<i64> = years.iter().flatten().copied().collect();
        year_values.sort_unstable();
        year_values.dedup();
        index.facets[2] = Codes {
            codes: years
                .iter()
                .map(|y| {
                    y.and_then(|y| year_values.binary_search(&y).ok())
                        .map_or(NONE, |i| i as u32)
                })
                .collect(),
            values: year_values.into_iter().map(Value::from).collect(),
        };
        index.facets[3] = Codes {
            codes: result_codes,
            values: results.into_values().into_iter().map(Value::from).collect(),
        };
        index.uscc = uscc_codes;
        index.scope = Codes {
            codes: scope_codes,
            values: scopes.into_values().into_iter().map(Value::from).collect(),
        };
        drop(codes);
        drop(items);
        records.sort_unstable();
        (index.record_keys, index.record_pos) = records.into_iter().unzip();
        index.entities = Entities::build(&index, groups, usccs.into_values())?;
        let mut names: Vec<(u32, String)> = syllable_ids
            .into_iter()
            .map(|(s, id)| (id as u32, s))
            .collect();
        names.sort_unstable();
        index.syllables = names.into_iter().map(|(_, s)| s).collect();
        Ok(index)
    }

    /// Records the syllables of a folded name: for each character its first two readings
    /// (or the character itself when it has none).
    fn spell(&mut self, folded: &str, ids: &mut HashMap<String, u16>) {
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
            let (p, a) = match c.to_pinyin_multi() {
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
            self.prim.push(p);
            self.alt.push(a);
        }
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

    /// The value as published.
    pub(crate) fn value(&self, entry: u32) -> &str {
        match self.display_of[entry as usize] {
            NONE => self.folded.get(entry as usize),
            d => self.display.get(d as usize),
        }
    }

    /// Rows holding the value.
    pub(crate) fn postings(&self, entry: u32) -> &[u32] {
        let e = entry as usize;
        &self.post[self.post_start[e] as usize..self.post_start[e + 1] as usize]
    }

    pub(crate) fn batches(&self, entry: u32) -> u64 {
        self.postings(entry).len() as u64
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
        let (prim, alt) = (&self.prim[a..b], &self.alt[a..b]);
        let has = |set: &[u64], s: u16| {
            set.get(s as usize / 64)
                .is_some_and(|w| w & (1 << (s % 64)) != 0)
        };
        let mut found = None;
        for p in patterns {
            let k = p.sets.len();
            if k > prim.len() {
                continue;
            }
            for j in 0..=prim.len() - k {
                let fits = p
                    .sets
                    .iter()
                    .enumerate()
                    .all(|(i, set)| has(set, prim[j + i]) || has(set, alt[j + i]));
                if fits {
                    if j == 0 && k == prim.len() && p.whole {
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
        let initial = |s: u16| {
            self.syllables
                .get(s as usize)
                .and_then(|s| s.bytes().next())
        };
        let q = q.as_bytes();
        let at = |j: usize| {
            q.iter()
                .enumerate()
                .all(|(i, c)| initial(prim[j + i]) == Some(*c) || initial(alt[j + i]) == Some(*c))
        };
        if prim.len() == q.len() && at(0) {
            return Some(MatchKind::Initials);
        }
        if q.len() >= 3 && prim.len() > q.len() && (0..=prim.len() - q.len()).any(at) {
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
        let (s, e) = self.entities.list[i].names;
        self.entities.names[s as usize..e as usize]
            .iter()
            .map(|&(entry, n, bare)| (self.value(entry), n, bare))
    }

    /// The positions of a producer's rows: its names' rows that carry its code, or no code
    /// where the name's rows without one belong to it.
    pub fn enterprise_rows(&self, key: &str) -> Option<Vec<u32>> {
        let i = self.entity(key)?;
        let e = &self.entities.list[i];
        let (s, end) = e.names;
        let mut out = Vec::new();
        for &(entry, _, bare) in &self.entities.names[s as usize..end as usize] {
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
}

/// The slot of a field in `SearchField::ALL`.
pub(crate) fn field_slot(field: SearchField) -> usize {
    SearchField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or(0)
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Entities {
    /// Producers from the (name, code) groups: one per 统一社会信用代码; rows without a code
    /// join the only code their normalised name is seen with, or make a producer of their
    /// normalised name.
    fn build(
        index: &SearchIndex,
        groups: HashMap<(u32, u32), Group>,
        usccs: Vec<String>,
    ) -> Result<Self> {
        let base = index.base[field_slot(SearchField::Enterprise)];
        let names = (index.base[field_slot(SearchField::Enterprise) + 1] - base) as usize;
        let mut groups: Vec<((u32, u32), Group)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(k, _)| *k);
        // The codes each normalised name is seen with.
        let mut codes: HashMap<String, Vec<u32>> = HashMap::new();
        for ((name, code), _) in &groups {
            if *code != NONE {
                let seen = codes
                    .entry(entity_name(index.value(base + name)))
                    .or_default();
                if !seen.contains(code) {
                    seen.push(*code);
                }
            }
        }
        #[derive(PartialEq, Eq, Hash)]
        enum Key {
            Code(u32),
            Name(String),
        }
        struct Building {
            key: String,
            coded: bool,
            code: u32,
            names: Vec<(u32, u64, bool)>,
            group: Group,
        }
        let mut at: HashMap<Key, usize> = HashMap::new();
        let mut building: Vec<Building> = Vec::new();
        for ((name, code), g) in groups {
            let (key, text, coded, bare) = if code != NONE {
                (Key::Code(code), usccs[code as usize].clone(), true, false)
            } else {
                let normal = entity_name(index.value(base + name));
                match codes.get(&normal).map(Vec::as_slice) {
                    Some([only]) => (Key::Code(*only), usccs[*only as usize].clone(), true, true),
                    _ => (Key::Name(normal.clone()), normal, false, true),
                }
            };
            let id = match &key {
                Key::Code(c) => *c,
                Key::Name(_) => NONE,
            };
            let i = *at.entry(key).or_insert_with(|| {
                building.push(Building {
                    key: text,
                    coded,
                    code: id,
                    names: Vec::new(),
                    group: Group::default(),
                });
                building.len() - 1
            });
            let b = &mut building[i];
            b.group.n += g.n;
            b.group.fails += g.fails;
            b.group.y0 = min_opt(b.group.y0, g.y0);
            b.group.y1 = max_opt(b.group.y1, g.y1);
            match b.names.iter_mut().find(|(n, _, _)| *n == base + name) {
                Some((_, count, was_bare)) => {
                    *count += g.n;
                    *was_bare |= bare;
                }
                None => b.names.push((base + name, g.n, bare)),
            }
        }
        drop(at);
        building.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let mut out = Self {
            of_name: vec![NONE; names],
            bare: vec![NONE; names],
            ..Self::default()
        };
        for (i, mut b) in building.into_iter().enumerate() {
            b.names.sort_by(|x, y| {
                y.1.cmp(&x.1)
                    .then_with(|| index.value(x.0).cmp(index.value(y.0)))
            });
            let start = out.names.len() as u32;
            for &(entry, _, bare) in &b.names {
                let local = (entry - base) as usize;
                if out.of_name[local] == NONE {
                    out.of_name[local] = i as u32;
                } else if out.of_name[local] != i as u32 {
                    out.more.entry(local as u32).or_default().push(i as u32);
                }
                if bare {
                    out.bare[local] = i as u32;
                }
            }
            out.names.extend(b.names);
            out.keys.push(&b.key)?;
            out.list.push(Entity {
                coded: b.coded,
                code: b.code,
                names: (start, out.names.len() as u32),
                batches: b.group.n,
                fails: b.group.fails,
                years: (b.group.y0, b.group.y1),
            });
        }
        let mut by_name: Vec<u32> = (0..names as u32).collect();
        by_name.sort_unstable_by(|&a, &b| index.value(base + a).cmp(index.value(base + b)));
        out.by_name = by_name;
        Ok(out)
    }
}
