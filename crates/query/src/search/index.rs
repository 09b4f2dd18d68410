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

use super::{MatchKind, SearchField};
use crate::spot_rows::SpotRows;
use crate::text::{fold, within};

mod build;
mod entities;
mod packed;
mod spelling;
pub(crate) mod stored;

use build::{Group, record_key};
use packed::vec_bytes;
pub(crate) use packed::{Codes, Narrow, Packed};

const NONE: u32 = u32::MAX;

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
    /// Failed items of the rows that are NULL or blank, which the postings leave out.
    items_unindexed: u32,
}

impl SearchIndex {
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

    /// The codes of a column of the `spot_checks` view the index keeps for every row, by its
    /// name (product, province, plan year, result, publication scope).
    pub(crate) fn coded_column(&self, name: &str) -> Option<&Codes> {
        match name {
            "product" => Some(&self.facets[0]),
            "enterprise_province" => Some(&self.facets[1]),
            "plan_year" => Some(&self.facets[2]),
            "result" => Some(&self.facets[3]),
            "publication_scope" => Some(&self.scope),
            _ => None,
        }
    }

    /// Every failed item as published, with the positions of the rows listing it (a row once
    /// for each time it lists the item): all the rows' list items, or `None` when some are
    /// NULL or blank, which the postings leave out.
    pub(crate) fn listed_items(&self) -> Option<Vec<(&str, &[u32])>> {
        if self.items_unindexed > 0 {
            return None;
        }
        let k = field_slot(SearchField::FailedItem);
        Some(
            (self.base[k]..self.base[k + 1])
                .map(|e| (self.value(e), self.postings(e)))
                .collect(),
        )
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

    /// Every product name of the snapshot as published, with its batches, most first.
    pub fn product_batches(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .entries_of(SearchField::Product)
            .map(|e| (self.value(e).to_owned(), self.batches(e)))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The folded value of an entry.
    pub(crate) fn folded(&self, entry: u32) -> &str {
        self.folded.get(entry as usize)
    }

    pub(crate) fn entries_of(&self, field: SearchField) -> std::ops::Range<u32> {
        let k = field_slot(field);
        self.base[k]..self.base[k + 1]
    }

    /// Every value of `fields` matching `q` (folded), with how it matched; `aliases` are the
    /// official product names (folded) the thesaurus says `q` means, matched as substrings.
    pub(crate) fn matches(
        &self,
        q: &str,
        fields: &[SearchField],
        aliases: &[String],
    ) -> Vec<(u32, MatchKind)> {
        let q: String = q.chars().filter(|&c| c != '\0').collect();
        if q.is_empty() || self.is_empty() {
            return Vec::new();
        }
        let wanted = |e: u32| fields.contains(&self.field_of(e));
        let mut seen = vec![false; self.folded.len()];
        let mut hits: Vec<(u32, MatchKind)> = Vec::new();
        let mut substring = |needle: &str, alias: bool, hits: &mut Vec<(u32, MatchKind)>| {
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
                let kind = if alias {
                    MatchKind::Alias
                } else if at != start {
                    MatchKind::Contains
                } else if end - start == needle.len() {
                    MatchKind::Exact
                } else {
                    MatchKind::Prefix
                };
                hits.push((e as u32, kind));
            }
        };
        substring(&q, false, &mut hits);
        for name in aliases.iter().filter(|n| **n != q) {
            substring(name, true, &mut hits);
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

/// The slot of a field in `SearchField::ALL`.
pub(crate) fn field_slot(field: SearchField) -> usize {
    SearchField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, ListBuilder, RecordBatch, StringBuilder};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

    use super::*;

    /// An index over one file whose rows list `lists` as their failed items.
    fn index_of(name: &str, lists: &[Option<&[Option<&str>]>]) -> SearchIndex {
        let dir = std::env::temp_dir().join(format!("zhijian-index-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let mut items = ListBuilder::new(StringBuilder::new());
        for list in lists {
            match list {
                Some(values) => {
                    for v in *values {
                        items.values().append_option(*v);
                    }
                    items.append(true);
                }
                None => items.append(false),
            }
        }
        let list = items.finish();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "failed_items",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)])
            .unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("0.parquet");
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut w = ArrowWriter::try_new(file, schema, None).unwrap_or_else(|e| panic!("{e}"));
        w.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        w.close().unwrap_or_else(|e| panic!("{e}"));
        let rows = SpotRows::open(&[("t".to_owned(), path)]).unwrap_or_else(|e| panic!("{e}"));
        let index = SearchIndex::build(rows).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(&dir);
        index
    }

    #[test]
    fn listed_items_are_every_item_a_row_lists_or_none() {
        let whole = index_of(
            "whole",
            &[
                Some(&[Some("标识"), Some("铅")]),
                None,
                Some(&[]),
                Some(&[Some("标识"), Some("标识")]),
            ],
        );
        let mut listed: Vec<(String, Vec<u32>)> = whole
            .listed_items()
            .unwrap_or_else(|| panic!("every item is indexed"))
            .into_iter()
            .map(|(v, p)| (v.to_owned(), p.to_vec()))
            .collect();
        listed.sort();
        // A row listing an item twice counts twice, as `unnest` gives it twice.
        assert_eq!(
            listed,
            vec![
                ("标识".to_owned(), vec![0, 3, 3]),
                ("铅".to_owned(), vec![0])
            ]
        );
        // A NULL or blank item is not in the postings: the list is not whole.
        for (name, item) in [("null", None), ("blank", Some(" "))] {
            let partial = index_of(name, &[Some(&[Some("标识"), item])]);
            assert!(partial.listed_items().is_none(), "{name}");
        }
    }
}
