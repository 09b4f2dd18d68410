//! Producers as entities: one per 统一社会信用代码 when the rows carry one, and per normalised
//! name otherwise; found by name, and their whole history (pass rate with its denominator, by
//! year, where and how they were checked, failed items, rows), from the index or by SQL.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::index::SearchIndex;
use super::{MatchKind, RESULT_FIELDS, SearchField, facet_order};
use crate::accel::{Answered, Ask, Decline, Target};
use crate::answers::{PassRate, Producer, ProducerHistory, ProducerName, ValueCount, YearPassRate};
use crate::api::{batch_to_json, json_rows};
use crate::error::Result;
use crate::filter::string_lit;
use crate::text::fold;
use crate::warehouse::SnapshotView;

/// A producer.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// Its key: the 统一社会信用代码, or the normalised name.
    pub key: String,
    /// The code, when rows carry one.
    pub uscc: Option<String>,
    /// The names it is published under, most batches first.
    pub names: Vec<(String, u64)>,
    /// Names whose rows carry no code (they join this entity by name).
    bare_names: Vec<String>,
    /// Batches.
    pub batches: u64,
    /// Failed batches.
    pub fails: u64,
    /// First and last plan year.
    pub years: (Option<i64>, Option<i64>),
}

fn is_uscc(text: &str) -> bool {
    text.len() == 18 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

impl SearchIndex {
    /// Producers.
    pub fn enterprise_count(&self) -> usize {
        self.entities.list.len()
    }

    fn enterprise_at(&self, i: usize) -> Enterprise {
        let e = &self.entities.list[i];
        let key = self.entity_key(i).to_owned();
        let mut names = Vec::new();
        let mut bare_names = Vec::new();
        for (name, n, bare) in self.entity_names(i) {
            names.push((name.to_owned(), n));
            if bare {
                bare_names.push(name.to_owned());
            }
        }
        Enterprise {
            uscc: e.coded().then(|| key.clone()),
            key,
            names,
            bare_names,
            batches: u64::from(e.batches),
            fails: u64::from(e.fails),
            years: e.span.years(),
        }
    }

    /// The producer with this key.
    pub fn enterprise(&self, key: &str) -> Option<Enterprise> {
        self.entity(key).map(|i| self.enterprise_at(i))
    }

    /// The key of the producer of a row: its code, or the producer its name (without a code)
    /// belongs to.
    pub fn enterprise_key_of(&self, name: &str, uscc: Option<&str>) -> Option<&str> {
        self.entity_of_row(name, uscc).map(|i| self.entity_key(i))
    }

    /// The keys of the `n` producers with the most batches.
    pub fn most_checked(&self, n: usize) -> Vec<&str> {
        let mut order: Vec<usize> = (0..self.entities.list.len()).collect();
        order.sort_by(|&a, &b| {
            self.entities.list[b]
                .batches
                .cmp(&self.entities.list[a].batches)
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(n)
            .map(|i| self.entity_key(i))
            .collect()
    }

    /// Producers whose names match `q` (or whose code is `q`), best first: how many, and the
    /// first `limit` of them.
    pub fn find_enterprises(&self, q: &str, limit: usize) -> (usize, Vec<(Enterprise, MatchKind)>) {
        let folded = fold(q);
        let code = folded.to_uppercase();
        if is_uscc(&code)
            && let Some(e) = self.enterprise(&code)
        {
            return (1, vec![(e, MatchKind::Exact)]);
        }
        let hits = self.matches(&folded, &[SearchField::Enterprise], &[]);
        let mut found = self.entities_of(&hits);
        found.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then(
                    self.entities.list[b.0]
                        .batches
                        .cmp(&self.entities.list[a.0].batches),
                )
                .then(a.0.cmp(&b.0))
        });
        let total = found.len();
        let list = found
            .into_iter()
            .take(limit)
            .map(|(i, kind)| (self.enterprise_at(i), kind))
            .collect();
        (total, list)
    }
}

impl Enterprise {
    /// The display name: the name with the most batches.
    pub fn name(&self) -> &str {
        self.names.first().map(|(n, _)| n.as_str()).unwrap_or("")
    }

    /// The SQL condition selecting its rows.
    pub fn condition(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.uscc {
            parts.push(format!("enterprise_uscc = {}", string_lit(u)));
        }
        if !self.bare_names.is_empty() {
            let list = self
                .bare_names
                .iter()
                .map(|n| string_lit(n))
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!(
                "(enterprise_uscc IS NULL AND enterprise IN ({list}))"
            ));
        }
        format!("({})", parts.join(" OR "))
    }

    /// Its summary in lists.
    pub fn summary(&self) -> Producer {
        Producer {
            key: self.key.clone(),
            name: self.name().to_owned(),
            names: self
                .names
                .iter()
                .map(|(name, batches)| ProducerName {
                    name: name.clone(),
                    batches: *batches,
                })
                .collect(),
            uscc: self.uscc.clone(),
            batches: self.batches,
            fails: self.fails,
            first_year: self.years.0,
            last_year: self.years.1,
        }
    }
}

type Parts = Result<Vec<Map<String, Value>>>;

/// The parts of a producer's history by SQL: totals, by year, provinces, check levels,
/// products, failed items, and the newest `history_limit + 1` rows.
async fn history_by_sql(
    view: &SnapshotView,
    cond: &str,
    history_limit: usize,
) -> (Parts, Parts, Parts, Parts, Parts, Parts, Parts) {
    let sums = "count(*) AS rows, \
        sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END) AS batches, \
        sum(CASE WHEN publication_scope = 'full' AND result = 'fail' THEN 1 ELSE 0 END) AS fails, \
        sum(CASE WHEN publication_scope = 'fail_only' AND result = 'fail' THEN 1 ELSE 0 END) AS fail_only_failures";
    let q = |sql: String| async move { json_rows(view.session().sql(&sql).await?).await };
    let fields = RESULT_FIELDS
        .iter()
        .map(|f| crate::filter::ident(f))
        .collect::<Vec<_>>()
        .join(", ");
    let (total, by_year, provinces, levels, products, items, history) = futures::join!(
        q(format!("SELECT {sums} FROM spot_checks WHERE {cond}")),
        q(format!(
            "SELECT plan_year, {sums} FROM spot_checks WHERE {cond} GROUP BY plan_year ORDER BY plan_year"
        )),
        q(format!(
            "SELECT enterprise_province AS value, count(*) AS count FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT check_level AS value, count(*) AS count FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT product AS value, count(*) AS count, sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT item AS value, count(*) AS count FROM (SELECT unnest(failed_items) AS item FROM spot_checks WHERE {cond}) GROUP BY 1 ORDER BY 2 DESC, 1"
        )),
        q(format!(
            "SELECT {fields} FROM spot_checks WHERE {cond} ORDER BY announced_on DESC NULLS LAST, record_id LIMIT {}",
            history_limit + 1
        )),
    );
    (total, by_year, provinces, levels, products, items, history)
}

/// Sums of the pass rate over rows: rows, batches (full scope), fails, fail-only failures.
fn rate_sums<'a>(rows: impl Iterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut s = [0u64; 4];
    for r in rows {
        let scope = r.get("publication_scope").and_then(Value::as_str);
        let failed = r.get("result").and_then(Value::as_str) == Some("fail");
        s[0] += 1;
        s[1] += u64::from(scope == Some("full"));
        s[2] += u64::from(scope == Some("full") && failed);
        s[3] += u64::from(scope == Some("fail_only") && failed);
    }
    let mut m = Map::new();
    for (k, v) in ["rows", "batches", "fails", "fail_only_failures"]
        .iter()
        .zip(s)
    {
        m.insert((*k).to_owned(), json!(v));
    }
    m
}

/// Counts of a value over rows, most first, then by value, unknown last: `{value, count}`.
fn counted(values: impl Iterator<Item = Value>) -> Vec<(Value, u64)> {
    let mut counts: Vec<(Value, u64)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for v in values {
        let k = v.to_string();
        match at.get(&k) {
            Some(&i) => counts[i].1 += 1,
            None => {
                at.insert(k, counts.len());
                counts.push((v, 1));
            }
        }
    }
    counts.sort_by(facet_order);
    counts
}

/// The parts of a producer's history from its rows (read by position): the same as
/// `history_by_sql` gives.
fn history_from_rows(
    mut rows: Vec<Map<String, Value>>,
    history_limit: usize,
) -> (Parts, Parts, Parts, Parts, Parts, Parts, Parts) {
    let get = |r: &Map<String, Value>, f: &str| r.get(f).cloned().unwrap_or(Value::Null);
    let total = vec![rate_sums(rows.iter())];
    let mut years: Vec<Value> = rows.iter().map(|r| get(r, "plan_year")).collect();
    years.sort_by_key(|y| (y.is_null(), y.as_i64()));
    years.dedup();
    let by_year = years
        .into_iter()
        .map(|y| {
            let mut m = rate_sums(rows.iter().filter(|r| get(r, "plan_year") == y));
            m.insert("plan_year".into(), y);
            m
        })
        .collect();
    let listed = |field: &str| -> Vec<Map<String, Value>> {
        counted(rows.iter().map(|r| get(r, field)))
            .into_iter()
            .map(|(value, count)| {
                let mut m = Map::new();
                m.insert("value".into(), value);
                m.insert("count".into(), json!(count));
                m
            })
            .collect()
    };
    let provinces = listed("enterprise_province");
    let levels = listed("check_level");
    let products = listed("product")
        .into_iter()
        .map(|mut m| {
            let fails = rows
                .iter()
                .filter(|r| get(r, "product") == m["value"] && get(r, "result") == "fail")
                .count();
            m.insert("fails".into(), json!(fails));
            m
        })
        .collect();
    let items = counted(
        rows.iter()
            .filter_map(|r| r.get("failed_items").and_then(Value::as_array))
            .flatten()
            .cloned(),
    )
    .into_iter()
    .map(|(value, count)| {
        let mut m = Map::new();
        m.insert("value".into(), value);
        m.insert("count".into(), json!(count));
        m
    })
    .collect();
    // Newest first (unknown dates last), then by record id.
    rows.sort_by(|a, b| {
        let date = |r: &Map<String, Value>| {
            r.get("announced_on")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match (date(a), date(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| {
            let id = |r: &Map<String, Value>| {
                r.get("record_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            id(a).cmp(&id(b))
        })
    });
    rows.truncate(history_limit + 1);
    (
        Ok(total),
        Ok(by_year),
        Ok(provinces),
        Ok(levels),
        Ok(products),
        Ok(items),
        Ok(rows),
    )
}

/// Everything about one producer: pass rate with its denominator, by year, where and how it
/// was checked, its failed items, and its history (newest first, up to `history_limit`).
pub async fn enterprise_history(
    view: &SnapshotView,
    e: &Enterprise,
    history_limit: usize,
) -> Result<Answered<ProducerHistory>> {
    let cond = e.condition();
    let target = Target {
        table: zhijian_catalog::SPOT_CHECK_SCHEMA,
        filters: Ok(&[]),
    };
    let Answered {
        value: parts,
        route,
    } = crate::accel::answer(
        view,
        target,
        Ask::Producer,
        |index| {
            let Some(positions) = index.enterprise_rows(&e.key) else {
                return Ok(Err(Decline("the producer's rows are not held".into())));
            };
            let rows = match index.spot_rows().fetch(&positions, RESULT_FIELDS)? {
                Some(batch) => batch_to_json(&batch)?,
                None => Vec::new(),
            };
            Ok(Ok(history_from_rows(rows, history_limit)))
        },
        || async { Ok(history_by_sql(view, &cond, history_limit).await) },
    )
    .await?;
    let (total, by_year, provinces, levels, products, items, history) = parts;
    let rate = PassRate::of_sums;
    let counts = |rows: Vec<Map<String, Value>>| -> Vec<ValueCount> {
        rows.into_iter()
            .map(|r| ValueCount {
                value: r.get("value").cloned().unwrap_or(Value::Null),
                count: r.get("count").and_then(Value::as_u64).unwrap_or(0),
                fails: r.get("fails").and_then(Value::as_u64),
            })
            .collect()
    };
    let total = total?;
    let by_year: Vec<YearPassRate> = by_year?
        .iter()
        .map(|r| YearPassRate {
            rate: rate(r),
            plan_year: r.get("plan_year").and_then(Value::as_i64),
        })
        .collect();
    let mut history = history?;
    let truncated = history.len() > history_limit;
    history.truncate(history_limit);
    let out = ProducerHistory {
        producer: e.summary(),
        snapshot: view.id.clone(),
        pass_rate: total.first().map(&rate),
        denominator: "Pass rates count only batches published in full-scope files (every sampled batch, pass and fail); failures from fail-only lists are counted apart as fail_only_failures. 合格率只统计完整公布的文件；仅公布不合格批次的名单单独计数。".to_owned(),
        by_year,
        provinces: counts(provinces?),
        check_levels: counts(levels?),
        products: counts(products?),
        failed_items: counts(items?),
        history,
        history_truncated: truncated,
        sql: format!(
            "SELECT * FROM spot_checks WHERE {cond} ORDER BY announced_on DESC NULLS LAST, record_id"
        ),
        export: None,
    };
    Ok(Answered { value: out, route })
}
