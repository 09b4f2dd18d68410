//! The index as an engine for rows: which rows of a spot-check table pass the filters it
//! holds ([`Selection`]), and from them counts, facets, pass-rate statistics, and the
//! positions of a page or a whole export in the orders it knows. Each answer is the index's
//! or a [`Decline`] saying why not (then SQL answers: see [`crate::accel`]).

use std::collections::HashMap;

use datafusion::arrow::array::RecordBatch;
use serde_json::{Map, Value, json};

use super::index::{self, SearchIndex};
use super::{
    SEARCH_FACETS, SearchField, ascending_nulls_first, facet_answer, facet_json, facet_order,
};
use crate::accel::{Decline, Held};
use crate::answers::Facet;
use crate::api::batch_to_json;
use crate::error::{QueryError, Result};

/// Which codes of one facet column a filter lets through (the last slot: no value).
fn allowed(column: &index::Codes, op: &str, text: &str) -> Option<Vec<bool>> {
    let values = &column.values;
    let number = |v: &Value| v.as_f64();
    let target = text.trim().parse::<f64>().ok();
    let test = |v: &Value| -> Option<bool> {
        Some(match op {
            "eq" => index::Codes::matches(v, text),
            "ne" => !index::Codes::matches(v, text),
            "in" => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .any(|t| index::Codes::matches(v, t)),
            "lt" | "lte" | "gt" | "gte" => {
                let (a, b) = (number(v)?, target?);
                match op {
                    "lt" => a < b,
                    "lte" => a <= b,
                    "gt" => a > b,
                    _ => a >= b,
                }
            }
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(values.len() + 1);
    for v in values {
        // A comparison with a value that is not a number is SQL's to judge.
        if matches!(op, "lt" | "lte" | "gt" | "gte") && (number(v).is_none() || target.is_none()) {
            return None;
        }
        out.push(test(v)?);
    }
    // No value never passes a comparison (SQL's NULL).
    out.push(false);
    Some(out)
}

/// The positions a selection passes (statically dispatched: facets and stats walk millions).
enum Positions<'s, 'a> {
    Range(std::ops::Range<u32>, &'s Selection<'a>),
    Rows(std::slice::Iter<'s, u32>, &'s Selection<'a>),
}

impl Iterator for Positions<'_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            Self::Range(r, sel) => r.find(|&p| sel.passes(p)),
            Self::Rows(rows, sel) => rows.find(|&&p| sel.passes(p)).copied(),
        }
    }
}

/// The positions in both sorted lists.
fn sorted_intersection(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Positions from which a statistics count runs on two threads (a thread costs tens of
/// microseconds; 8,192 rows take ~150).
const PARALLEL_FROM: usize = 8192;

/// Positions in an order the index knows: a resource's file (its default order), or the
/// files merged in the `spot_checks` view's default order.
enum Sequence<'a> {
    Range(std::ops::Range<u32>),
    Order(&'a [u32]),
}

impl Sequence<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Range(r) => r.len(),
            Self::Order(o) => o.len(),
        }
    }

    fn get(&self, i: usize) -> u32 {
        match self {
            Self::Range(r) => r.start + i as u32,
            Self::Order(o) => o[i],
        }
    }

    /// The first index whose position does not satisfy `pred` (which must hold for a prefix).
    fn partition_point(&self, pred: impl Fn(u32) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.get(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Rows of a table under filters, as the index can tell them apart.
struct Selection<'a> {
    range: std::ops::Range<u32>,
    tests: Vec<(&'a index::Codes, Vec<bool>)>,
    /// The rows some filters narrow to, when any does (a product named, a text filter): their
    /// positions in order (what the selection walks), and the same as bits (what it tests).
    within: Option<(Vec<u32>, Vec<u64>)>,
}

impl Selection<'_> {
    fn passes(&self, p: u32) -> bool {
        self.range.contains(&p)
            && self
                .within
                .as_ref()
                .is_none_or(|(_, bits)| bits[p as usize / 64] & (1 << (p % 64)) != 0)
            && self.tests.iter().all(|(column, ok)| {
                let c = column.at(p as usize) as usize;
                ok[c.min(ok.len() - 1)]
            })
    }

    /// The positions that pass, in order: the narrowed rows when a filter narrowed them, else
    /// the whole range.
    fn positions(&self) -> Positions<'_, '_> {
        match &self.within {
            Some((rows, _)) => Positions::Rows(rows.iter(), self),
            None => Positions::Range(self.range.clone(), self),
        }
    }

    /// How many positions [`Self::positions`] walks (tests every one of them).
    fn walks(&self) -> usize {
        match &self.within {
            Some((rows, _)) => rows.len(),
            None => self.range.len(),
        }
    }

    /// The positions that pass, as up to `parts` walks one after another (each a part of
    /// what [`Self::positions`] walks).
    fn positions_in(&self, parts: usize) -> Vec<Positions<'_, '_>> {
        let step = self.walks().div_ceil(parts.max(1)).max(1);
        match &self.within {
            Some((rows, _)) => rows
                .chunks(step)
                .map(|part| Positions::Rows(part.iter(), self))
                .collect(),
            None => self
                .range
                .clone()
                .step_by(step)
                .map(|start| {
                    let end = start.saturating_add(step as u32).min(self.range.end);
                    Positions::Range(start..end, self)
                })
                .collect(),
        }
    }

    /// How many rows pass: one tight loop over the code slices of the range.
    fn count(&self) -> u64 {
        let (start, end) = (self.range.start as usize, self.range.end as usize);
        if self.within.is_some() {
            return self.positions().count() as u64;
        }
        match self.tests.as_slice() {
            [] => (end - start) as u64,
            [(column, ok)] => column.codes.count(start..end, ok),
            _ => self.positions().count() as u64,
        }
    }
}

impl SearchIndex {
    /// The rows of `table` under `filters` (field, operator, value), when the index holds
    /// them: equality, inequality and lists on product, province, year, result and scope;
    /// comparisons on year.
    fn select<'a>(
        &'a self,
        table: &str,
        filters: &[(String, String, String)],
    ) -> Held<Selection<'a>> {
        let range = self
            .rows
            .range_of(table)
            .ok_or_else(|| Decline("not a spot-check table".into()))?;
        let mut tests = Vec::with_capacity(filters.len());
        let mut within: Option<Vec<u32>> = None;
        let mut narrow = |rows: Vec<u32>| {
            within = Some(match within.take() {
                None => rows,
                Some(had) => sorted_intersection(&had, &rows),
            });
        };
        let unheld = |field: &str, op: &str| {
            Decline(format!("filter {field}__{op} is not held by the index"))
        };
        for (field, op, value) in filters {
            if op == "contains" {
                // Text held in the index's values (lists apart: SQL joins their items).
                let searched = SearchField::ALL
                    .into_iter()
                    .find(|f| f.column() == field && *f != SearchField::FailedItem)
                    .ok_or_else(|| unheld(field, op))?;
                let entries = self
                    .containing(searched, value)
                    .ok_or_else(|| Decline(format!("filter {field}__{op}: a value with a NUL")))?;
                narrow(self.rows_of(&entries));
                continue;
            }
            let column = self.column(field).ok_or_else(|| unheld(field, op))?;
            if field == "product" && matches!(op.as_str(), "eq" | "in") {
                // A product's rows are its postings: walk those, not every row.
                let base = self.entries_of(SearchField::Product).start;
                let texts: Vec<&str> = if op == "eq" {
                    vec![value.as_str()]
                } else {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .collect()
                };
                let entries: Vec<u32> = texts
                    .iter()
                    .filter_map(|t| column.code_of(t))
                    .map(|c| base + c)
                    .collect();
                narrow(self.rows_of(&entries));
            }
            let ok = allowed(column, op, value).ok_or_else(|| {
                Decline(format!(
                    "filter {field}__{op}: a comparison the index cannot make (not numbers)"
                ))
            })?;
            tests.push((column, ok));
        }
        let within = within.map(|rows| {
            let mut bits = vec![0u64; (self.rows() as usize).div_ceil(64)];
            for &p in &rows {
                bits[p as usize / 64] |= 1 << (p % 64);
            }
            (rows, bits)
        });
        Ok(Selection {
            range,
            tests,
            within,
        })
    }

    /// The positions of the rows holding any of `entries`, in order, each once.
    fn rows_of(&self, entries: &[u32]) -> Vec<u32> {
        let mut rows: Vec<u32> = entries
            .iter()
            .flat_map(|&e| self.postings(e).iter().copied())
            .collect();
        if entries.len() > 1 {
            rows.sort_unstable();
            rows.dedup();
        }
        rows
    }

    fn column(&self, field: &str) -> Option<&index::Codes> {
        match SEARCH_FACETS.iter().position(|f| *f == field) {
            Some(slot) => Some(&self.facets[slot]),
            None => (field == "publication_scope").then_some(&self.scope),
        }
    }

    /// The count of a spot-check table's rows under `filters`, if the index holds them.
    pub fn count(&self, table: &str, filters: &[(String, String, String)]) -> Held<u64> {
        Ok(self.select(table, filters)?.count())
    }

    /// A facet of a spot-check table, as `api::facet` answers it: by product, province, year,
    /// result or scope from the row codes, by producer, brand, model or agency from the
    /// postings; `None` when the table, field or a filter is outside the index.
    pub fn facet(
        &self,
        table: &str,
        field: &str,
        filters: &[(String, String, String)],
        size: usize,
    ) -> Held<Facet> {
        let sel = self.select(table, filters)?;
        let size = size.max(1);
        if let Some(column) = self.column(field) {
            let mut counts = vec![0u64; column.values.len() + 1];
            if sel.tests.is_empty() && sel.within.is_none() {
                // Every row of the range: one tight loop over the code slice.
                let range = sel.range.start as usize..sel.range.end as usize;
                column.codes.tally(range, &mut counts);
            } else {
                for p in sel.positions() {
                    counts[(column.at(p as usize) as usize).min(column.values.len())] += 1;
                }
            }
            return Ok(facet_json(field, &column.values, &counts, size));
        }
        let searched = SearchField::ALL
            .into_iter()
            .find(|f| f.column() == field && *f != SearchField::FailedItem)
            .ok_or_else(|| Decline(format!("facet {field} is not held by the index")))?;
        let whole = sel.tests.is_empty() && sel.within.is_none() && sel.range == (0..self.rows());
        let mut counts: Vec<(u32, u64)> = self
            .entries_of(searched)
            .filter_map(|e| {
                let post = self.postings(e);
                let n = if whole {
                    post.len() as u64
                } else {
                    post.iter().filter(|&&p| sel.passes(p)).count() as u64
                };
                (n > 0).then_some((e, n))
            })
            .collect();
        let rows = sel.count();
        let named: u64 = counts.iter().map(|c| c.1).sum();
        let nulls = rows - named.min(rows);
        let distinct = counts.len() + usize::from(nulls > 0);
        // The top `size` by count (ties by value): first the count of the last one kept.
        if counts.len() > size {
            let mut by_count: Vec<u64> = counts.iter().map(|c| c.1).collect();
            by_count.select_nth_unstable_by(size - 1, |a, b| b.cmp(a));
            let least = by_count[size - 1];
            counts.retain(|c| c.1 >= least);
        }
        counts.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.value(a.0).cmp(self.value(b.0)))
        });
        counts.truncate(size);
        let mut list: Vec<(Value, u64)> = counts
            .into_iter()
            .map(|(e, n)| (json!(self.value(e)), n))
            .collect();
        if nulls > 0 {
            list.push((Value::Null, nulls));
            list.sort_by(facet_order);
            list.truncate(size);
        }
        Ok(facet_answer(field, list, distinct, rows, size))
    }

    /// The positions of the first `want` rows of a spot-check table under `filters` (after
    /// the cursor's sort values `after`, if given), in the order of `sort` ((field,
    /// descending), `record_id` last), when the index can order them: the default order (one
    /// resource's file order, or the files merged for `spot_checks`), or by announcement date
    /// then record id (the record ids of the rows near the cut are read by position). `None`
    /// when it cannot.
    pub fn page_positions(
        &self,
        table: &str,
        filters: &[(String, String, String)],
        sort: &[(String, bool)],
        after: Option<&[Value]>,
        want: usize,
    ) -> Result<Held<Vec<u32>>> {
        let sel = match self.select(table, filters) {
            Ok(sel) => sel,
            Err(why) => return Ok(Err(why)),
        };
        let keys: Vec<(&str, bool)> = sort.iter().map(|(f, d)| (f.as_str(), *d)).collect();
        let default = zhijian_catalog::sort_order(zhijian_catalog::SPOT_CHECK_SCHEMA, &[]);
        let default_order = keys.len() == default.len()
            && keys.iter().zip(&default).all(|((f, d), o)| f == o && !d);
        if default_order {
            let seq = match self.default_sequence(table) {
                Ok(seq) => seq,
                Err(why) => return Ok(Err(why)),
            };
            let Some(start) = self.start(&seq, after)? else {
                return Ok(Err(Decline("a cursor outside the default order".into())));
            };
            return Ok(Ok((start..seq.len())
                .map(|i| seq.get(i))
                .filter(|&p| sel.passes(p))
                .take(want)
                .collect()));
        }
        if after.is_some() {
            return Ok(Err(Decline(
                "a cursor on a sort other than the default order".into(),
            )));
        }
        let desc = match keys.as_slice() {
            [("announced_on", desc), ("record_id", false)] => *desc,
            _ => {
                return Ok(Err(Decline(
                    "a sort other than the default order or announced_on".into(),
                )));
            }
        };
        // Dates in sort order: descending puts unknown (i32::MIN) last, ascending first, as
        // the SQL order does.
        let key = |p: u32| {
            let d = i64::from(self.announced(p));
            if desc { -d } else { d }
        };
        let mut rows: Vec<(i64, u32)> = sel.positions().map(|p| (key(p), p)).collect();
        if rows.len() > want && want > 0 {
            rows.select_nth_unstable(want - 1);
            let cut = rows[want - 1].0;
            rows.retain(|r| r.0 <= cut);
        }
        // Within a date, by record id: read the ids of the rows kept (a few pages).
        const MAX_TIES: usize = 20_000;
        if rows.len() > MAX_TIES {
            return Ok(Err(Decline(format!(
                "more than {MAX_TIES} rows tie on announced_on at the page's end"
            ))));
        }
        let positions: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let ids: Vec<Option<String>> = match self.rows.fetch(&positions, &["record_id"])? {
            Some(batch) => {
                let ids = datafusion::arrow::compute::cast(
                    batch.column(0),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )
                .map_err(|e| QueryError::Output(e.to_string()))?;
                let ids = datafusion::arrow::array::AsArray::as_string::<i32>(&ids);
                (0..datafusion::arrow::array::Array::len(ids))
                    .map(|i| {
                        datafusion::arrow::array::Array::is_valid(ids, i)
                            .then(|| ids.value(i).to_owned())
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        if ids.len() != rows.len() {
            return Ok(Err(Decline("record ids missing from the files".into())));
        }
        let mut keyed: Vec<(i64, Option<String>, u32)> = rows
            .into_iter()
            .zip(ids)
            .map(|((k, p), id)| (k, id, p))
            .collect();
        keyed.sort();
        Ok(Ok(keyed.into_iter().take(want).map(|k| k.2).collect()))
    }

    /// A table's rows in its default order: a resource's file, or all of them merged.
    fn default_sequence(&self, table: &str) -> Held<Sequence<'_>> {
        if table == zhijian_catalog::SPOT_CHECK_SCHEMA {
            (self.order.len() == self.rows() as usize)
                .then_some(Sequence::Order(&self.order))
                .ok_or_else(|| Decline("the merged default order is not held".into()))
        } else {
            self.rows
                .range_of(table)
                .map(Sequence::Range)
                .ok_or_else(|| Decline("not a spot-check table".into()))
        }
    }

    /// Whether [`Self::read_default_order`] can read a table under these filters.
    pub fn reads_default_order(
        &self,
        table: &str,
        filters: &[(String, String, String)],
    ) -> Held<()> {
        self.select(table, filters)?;
        self.default_sequence(table)?;
        Ok(())
    }

    /// Reads the whole result of a spot-check table under `filters` in its default order
    /// (after a cursor's sort values, if given; at most `limit` rows), `columns` only, up to
    /// `batch_rows` at a time, calling `each` until it returns `false` (see
    /// [`crate::spot_rows::SpotRows::read_ordered`]): the files' rows read by position in the merged order, no
    /// query planned and no sort. `Ok(false)` when the index cannot (see
    /// [`Self::reads_default_order`]).
    #[allow(clippy::too_many_arguments)]
    pub fn read_default_order<T: crate::spot_rows::Decoded>(
        &self,
        table: &str,
        filters: &[(String, String, String)],
        after: Option<&[Value]>,
        limit: Option<usize>,
        columns: &[&str],
        text: crate::spot_rows::Text,
        batch_rows: usize,
        prepare: &(dyn Fn(RecordBatch) -> Result<T> + Sync),
        each: impl FnMut(&[T], &[(usize, usize)]) -> Result<bool>,
    ) -> Result<bool> {
        let (Ok(sel), Ok(seq)) = (self.select(table, filters), self.default_sequence(table)) else {
            return Ok(false);
        };
        let Some(start) = self.start(&seq, after)? else {
            return Ok(false);
        };
        // The rows read, as bits: tested for every row of the row groups read, and every
        // position of the order.
        let mut selected = crate::spot_rows::RowSet::new(self.rows.len());
        for p in sel.positions() {
            selected.insert(p);
        }
        if start > 0 {
            // Each file's rows before its first position after the cursor are not read: its
            // positions rise along the order.
            let mut lower: Vec<Option<u32>> = vec![None; self.rows.file_count()];
            let mut unseen = lower.len();
            for i in start..seq.len() {
                if unseen == 0 {
                    break;
                }
                let p = seq.get(i);
                let slot = &mut lower[self.rows.file_of(p)];
                if slot.is_none() {
                    *slot = Some(p);
                    unseen -= 1;
                }
            }
            for (range, lower) in self.rows.ranges().zip(lower) {
                selected.remove(range.start..lower.unwrap_or(range.end));
            }
        }
        let order = (start..seq.len())
            .map(|i| seq.get(i))
            .filter(|&p| selected.contains(p))
            .take(limit.unwrap_or(usize::MAX));
        self.rows
            .read_ordered(&selected, order, columns, text, batch_rows, prepare, each)?;
        Ok(true)
    }

    /// Where a walk of `seq` starts: after the cursor's sort values, if given (`None` when
    /// they do not fit the default order).
    fn start(&self, seq: &Sequence<'_>, after: Option<&[Value]>) -> Result<Option<usize>> {
        match after {
            Some(values) => self.start_after(seq, values),
            None => Ok(Some(0)),
        }
    }

    /// Where the rows after a keyset cursor's values (product, plan_year, enterprise,
    /// record_id) start in a sequence in the default order: found by product and year from
    /// memory, then among the rows equal on those by enterprise and record id read by
    /// position (a few probes). `None` when the values are not four.
    fn start_after(&self, seq: &Sequence<'_>, values: &[Value]) -> Result<Option<usize>> {
        let [product, year, enterprise, record_id] = values else {
            return Ok(None);
        };
        let code_value = |column: &index::Codes, p: u32| -> Value {
            column
                .values
                .get(column.at(p as usize) as usize)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let head = |p: u32| {
            ascending_nulls_first(&code_value(&self.facets[0], p), product)
                .then_with(|| ascending_nulls_first(&code_value(&self.facets[2], p), year))
        };
        let lo = seq.partition_point(|p| head(p).is_lt());
        let mut hi = seq.partition_point(|p| head(p).is_le());
        let mut lo = lo;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let p = seq.get(mid);
            let Some(row) = self
                .rows
                .fetch(&[p], &["enterprise", "record_id"])?
                .map(|b| batch_to_json(&b))
                .transpose()?
                .and_then(|rows| rows.into_iter().next())
            else {
                return Ok(None);
            };
            let get = |f: &str| row.get(f).cloned().unwrap_or(Value::Null);
            let at_or_before = ascending_nulls_first(&get("enterprise"), enterprise)
                .then_with(|| ascending_nulls_first(&get("record_id"), record_id))
                .is_le();
            if at_or_before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(Some(lo))
    }

    /// Pass-rate sums of a spot-check table grouped by product, province or year (the rows
    /// `api::stats` reads from SQL: group values, batches, fails, fail_only_failures, rows),
    /// ordered by the group values; `None` when the index cannot tell the groups or filters.
    pub fn stats_rows(
        &self,
        table: &str,
        group_by: &[String],
        filters: &[(String, String, String)],
    ) -> Held<Vec<Map<String, Value>>> {
        let sel = self.select(table, filters)?;
        let columns: Vec<&index::Codes> = group_by
            .iter()
            .map(|g| {
                SEARCH_FACETS[..3]
                    .iter()
                    .position(|f| f == g)
                    .map(|slot| &self.facets[slot])
                    .ok_or_else(|| Decline(format!("group_by {g} is not held by the index")))
            })
            .collect::<Held<_>>()?;
        let result = &self.facets[3];
        let code = |column: &index::Codes, v: &str| column.code_of(v).unwrap_or(u32::MAX - 1);
        let (full, fail_only, fail) = (
            code(&self.scope, "full"),
            code(&self.scope, "fail_only"),
            code(result, "fail"),
        );
        // Group keys as fixed arrays (the three groupable columns at most): no allocation per
        // row.
        if columns.len() > 3 {
            return Err(Decline("more than three groups".into()));
        }
        // One slot per combination of codes (each column's codes and "no value"): a few
        // thousand slots for product × year × province, no hashing per row.
        let sizes: Vec<usize> = columns.iter().map(|c| c.values.len() + 1).collect();
        let slots = sizes
            .iter()
            .try_fold(1usize, |n, s| n.checked_mul(*s))
            .filter(|n| *n <= 1 << 22)
            .ok_or_else(|| Decline("too many combinations of groups".into()))?;
        let tally = |positions: Positions<'_, '_>| {
            let mut dense = vec![[0u64; 4]; slots];
            for p in positions {
                let p = p as usize;
                let mut slot = 0usize;
                for (c, size) in columns.iter().zip(&sizes) {
                    slot = slot * size + (c.at(p) as usize).min(size - 1);
                }
                let s = &mut dense[slot];
                let (scope, failed) = (self.scope.at(p), result.at(p) == fail);
                s[0] += u64::from(scope == full);
                s[1] += u64::from(scope == full && failed);
                s[2] += u64::from(scope == fail_only && failed);
                s[3] += 1;
            }
            dense
        };
        // A large selection is counted in two halves on two threads (all rows of 5M: ~70 ms
        // on one), then summed.
        let parts = sel.positions_in(if sel.walks() >= PARALLEL_FROM { 2 } else { 1 });
        let dense = std::thread::scope(|scope| {
            let tally = &tally;
            let counted: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(move || tally(part)))
                .collect();
            let mut dense = vec![[0u64; 4]; slots];
            for part in counted {
                // A thread that panicked counted nothing: no answer rather than a wrong one.
                let part = part
                    .join()
                    .map_err(|_| Decline("a counting thread failed".into()))?;
                for (d, s) in dense.iter_mut().zip(part) {
                    for (a, b) in d.iter_mut().zip(s) {
                        *a += b;
                    }
                }
            }
            Ok(dense)
        })?;
        let mut sums: HashMap<[u32; 3], [u64; 4]> = HashMap::new();
        for (mut slot, s) in dense.into_iter().enumerate() {
            if s[3] == 0 {
                continue;
            }
            let mut key = [0u32; 3];
            for (k, size) in key.iter_mut().zip(&sizes).rev() {
                *k = (slot % size) as u32;
                slot /= size;
            }
            sums.insert(key, s);
        }
        let value = |column: &index::Codes, c: u32| {
            column
                .values
                .get(c as usize)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut rows: Vec<(Vec<Value>, [u64; 4])> = sums
            .into_iter()
            .map(|(key, s)| {
                (
                    key.iter()
                        .zip(&columns)
                        .map(|(c, col)| value(col, *c))
                        .collect(),
                    s,
                )
            })
            .collect();
        rows.sort_by(|a, b| {
            a.0.iter()
                .zip(&b.0)
                .map(|(x, y)| facet_order(&(x.clone(), 0), &(y.clone(), 0)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(rows
            .into_iter()
            .map(|(key, s)| {
                let mut m = Map::new();
                for (g, v) in group_by.iter().zip(key) {
                    m.insert(g.clone(), v);
                }
                m.insert("batches".into(), json!(s[0]));
                m.insert("fails".into(), json!(s[1]));
                m.insert("fail_only_failures".into(), json!(s[2]));
                m.insert("rows".into(), json!(s[3]));
                m
            })
            .collect())
    }
}
