//! Building the index in one pass over the spot-check rows: values interned into packed
//! buffers, postings, row codes, the merged default order and record keys.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type};
use pinyin::ToPinyinMulti;
use serde_json::{Value, json};

use super::*;
use crate::error::{QueryError, Result};
use crate::spot_rows::SpotRows;
use crate::text::{fold, has_han};

/// Interns text: each distinct value gets the next code, and its text is kept once in a packed
/// buffer (no allocation per value: at 5M rows a map of owned strings for 2.8M values held
/// hundreds of MB of small allocations the allocator kept after the build).
#[derive(Default)]
pub(super) struct Interner {
    pub(super) table: hashbrown::HashTable<u32>,
    pub(super) hasher: hashbrown::DefaultHashBuilder,
    pub(super) values: Packed,
}

impl Interner {
    pub(super) fn id(&mut self, value: &str) -> Result<u32> {
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

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The values, in code order, as JSON.
    pub(super) fn json(&self) -> Vec<Value> {
        (0..self.len()).map(|i| json!(self.values.get(i))).collect()
    }
}

/// A column of the batch as text, if the batch has it.
pub(super) fn text_column(batch: &RecordBatch, name: &str) -> Result<Option<StringArray>> {
    let Ok(i) = batch.schema().index_of(name) else {
        return Ok(None);
    };
    let c =
        cast(batch.column(i), &DataType::Utf8).map_err(|e| QueryError::Output(e.to_string()))?;
    Ok(Some(c.as_string::<i32>().clone()))
}

/// The text of row `i`, unless it is null (or the column absent).
pub(super) fn text_at(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
}

/// A value worth indexing: present and not blank.
pub(super) fn present(a: Option<&StringArray>, i: usize) -> Option<&str> {
    text_at(a, i).filter(|v| !v.trim().is_empty())
}

#[derive(Default, Clone, Copy)]
pub(super) struct Group {
    pub(super) n: u32,
    pub(super) fails: u32,
    pub(super) span: Span,
}

/// The columns the build reads.
pub(super) const SCANNED: &[&str] = &[
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
pub(super) fn resident_mib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1 << 20))
}

/// The key of a record id in the lookup table (FNV-1a; a match is checked against the row).
pub(super) fn record_key(id: &str) -> u32 {
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
        // List items that are NULL or blank: not indexed, so the postings are not every item.
        let mut items_unindexed = 0u32;
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
                            match present(Some(values), i) {
                                Some(v) => items.push((interners[items_k].id(v)?, pos)),
                                None => items_unindexed += 1,
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
            items_unindexed,
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
    pub(super) fn default_order(&self, enterprises: &[u32]) -> Result<Vec<u32>> {
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
    pub(super) fn shrink(&mut self) {
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
    pub(super) fn spell(
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
}
