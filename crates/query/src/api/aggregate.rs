//! Facets (value counts and date histograms) and pass-rate statistics with their Wilson
//! intervals.

use serde_json::Value;
use zhijian_catalog::{Catalog, FieldType, TableSchema};

use super::*;
use crate::accel::{self, Answered, Ask};
use crate::answers::{Facet, FacetValue, PassRate, Stats, StatsGroup};
use crate::error::Result;
use crate::filter::{bad, field, ident};
use crate::warehouse::SnapshotView;

/// A facet request: a field, or a date field with a histogram interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetSpec {
    /// The field.
    pub field: String,
    /// `year`, `quarter` or `month` for a date histogram.
    pub interval: Option<String>,
}

/// Parses `_facet=field` / `_facet=date_field:month`.
pub fn parse_facet(schema: &TableSchema, text: &str) -> Result<FacetSpec> {
    let (name, interval) = match text.split_once(':') {
        Some((n, i)) => (n.trim(), Some(i.trim().to_owned())),
        None => (text.trim(), None),
    };
    let f = field(schema, "_facet", name)?;
    if let Some(i) = &interval {
        if !matches!(f.field_type, FieldType::Date | FieldType::Datetime) {
            return Err(bad(
                "_facet",
                text,
                format!("`{name}` is not a date; histograms apply to dates"),
                Vec::new(),
            ));
        }
        if !matches!(i.as_str(), "year" | "quarter" | "month") {
            return Err(bad(
                "_facet",
                text,
                format!("unknown interval `{i}`"),
                vec!["year".into(), "quarter".into(), "month".into()],
            ));
        }
    }
    Ok(FacetSpec {
        field: f.name.clone(),
        interval,
    })
}

/// Value counts of one facet under the request's filters: the `size` most frequent values
/// (every bucket for a date histogram), how many distinct values there are, and whether the
/// list is cut.
pub async fn facet(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    spec: &FacetSpec,
    size: usize,
) -> Result<Answered<Facet>> {
    // Counted from the search index when it holds the field and the filters (a search adds
    // conditions of its own: then SQL, which also checks the field against the schema).
    accel::answer(
        view,
        req.target(false),
        Ask::Facet {
            field: &spec.field,
            histogram: spec.interval.is_some(),
        },
        |index| {
            Ok(index.facet(
                &req.table,
                &spec.field,
                req.memory_filters().unwrap_or_default(),
                size,
            ))
        },
        || facet_by_sql(view, catalog, id, req, spec, size),
    )
    .await
}

/// A facet counted by SQL (see [`facet`]).
pub async fn facet_by_sql(
    view: &SnapshotView,
    catalog: &Catalog,
    id: &str,
    req: &RowsRequest,
    spec: &FacetSpec,
    size: usize,
) -> Result<Facet> {
    let (_, schema, _) = resolve(catalog, id)?;
    let f = field(schema, "_facet", &spec.field)?;
    let c = ident(&f.name);
    let value_expr = match spec.interval.as_deref() {
        Some("year") => format!("CAST(date_part('year', {c}) AS BIGINT)"),
        Some("month") => format!("to_char({c}, '%Y-%m')"),
        Some(_) => format!(
            "concat(CAST(CAST(date_part('year', {c}) AS BIGINT) AS VARCHAR), '-Q', CAST(CAST(date_part('quarter', {c}) AS BIGINT) AS VARCHAR))"
        ),
        None => c.clone(),
    };
    let source = if f.field_type == FieldType::List {
        format!(
            "SELECT unnest({c}) AS value FROM {}{}",
            ident(&req.table),
            req.where_clause()
        )
    } else {
        format!(
            "SELECT {value_expr} AS value FROM {}{}",
            ident(&req.table),
            req.where_clause()
        )
    };
    let order = if spec.interval.is_some() {
        "value ASC NULLS LAST"
    } else {
        "count DESC, value ASC NULLS LAST"
    };
    let cap = if spec.interval.is_some() {
        100_000
    } else {
        size
    };
    let text = format!(
        "WITH g AS (SELECT value, count(*) AS count FROM ({source}) GROUP BY value) \
         SELECT value, count, (SELECT count(*) FROM g) AS distinct_values, \
         (SELECT sum(count) FROM g) AS total FROM g ORDER BY {order} LIMIT {}",
        cap + 1
    );
    let mut rows = json_rows(sql(view, &text).await?).await?;
    let truncated = rows.len() > cap;
    rows.truncate(cap);
    let distinct = rows
        .first()
        .and_then(|r| r.get("distinct_values"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let total = rows
        .first()
        .and_then(|r| r.get("total"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let shown: u64 = rows
        .iter()
        .filter_map(|r| r.get("count").and_then(Value::as_u64))
        .sum();
    let values: Vec<FacetValue> = rows
        .into_iter()
        .map(|r| FacetValue {
            value: r.get("value").cloned().unwrap_or(Value::Null),
            count: r.get("count").and_then(Value::as_u64).unwrap_or(0),
        })
        .collect();
    Ok(Facet {
        field: spec.field.clone(),
        interval: spec.interval.clone(),
        values,
        distinct_values: distinct,
        total,
        other: total - shown.min(total),
        truncated,
    })
}

/// What the denominator of a pass rate is, in both languages.
pub const DENOMINATOR: &str = "Pass rates count only batches published in full-scope files (every sampled batch, pass and fail). Failures published in fail-only lists have no denominator and are counted apart as fail_only_failures. 合格率只统计完整公布（合格与不合格批次均公布）的文件；仅公布不合格批次的名单单独计为 fail_only_failures。";

/// The fields pass-rate statistics may be grouped by.
pub const STATS_GROUPS: [&str; 8] = [
    "plan_year",
    "product",
    "product_category",
    "enterprise_province_code",
    "enterprise_province",
    "check_level",
    "sampling_channel",
    "resource_id",
];

/// The Wilson score interval (95 %) of `passes` out of `n`.
pub fn wilson(passes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = passes as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Pass-rate statistics over `spot_checks` grouped by `group_by`, under the request's filters.
/// Only rows published in full-scope files (every sampled batch, pass and fail) form the
/// denominator; failures from fail-only lists are counted apart, without one.
pub async fn stats(
    view: &SnapshotView,
    req: &RowsRequest,
    group_by: &[String],
    max_groups: usize,
) -> Result<Answered<Stats>> {
    for g in group_by {
        if !STATS_GROUPS.contains(&g.as_str()) {
            return Err(bad(
                "group_by",
                g,
                format!("cannot group by `{g}`"),
                STATS_GROUPS.iter().map(|s| (*s).to_owned()).collect(),
            ));
        }
    }
    let cols: Vec<String> = group_by.iter().map(|g| ident(g)).collect();
    let select_groups = if cols.is_empty() {
        String::new()
    } else {
        format!("{}, ", cols.join(", "))
    };
    let group_clause = if cols.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", cols.join(", "))
    };
    let order_clause = if cols.is_empty() {
        String::new()
    } else {
        format!(
            " ORDER BY {}",
            cols.iter()
                .map(|c| format!("{c} ASC NULLS LAST"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let text = format!(
        "SELECT {select_groups}\
         sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END) AS batches, \
         sum(CASE WHEN publication_scope = 'full' AND result = 'fail' THEN 1 ELSE 0 END) AS fails, \
         sum(CASE WHEN publication_scope = 'fail_only' AND result = 'fail' THEN 1 ELSE 0 END) AS fail_only_failures, \
         count(*) AS rows \
         FROM {}{}{group_clause}{order_clause} LIMIT {}",
        ident(&req.table),
        req.where_clause(),
        max_groups + 1
    );
    let Answered {
        value: mut rows,
        route,
    } = accel::answer(
        view,
        req.target(false),
        Ask::Stats { group_by },
        |index| {
            Ok(index.stats_rows(
                &req.table,
                group_by,
                req.memory_filters().unwrap_or_default(),
            ))
        },
        || async { json_rows(sql(view, &text).await?).await },
    )
    .await?;
    let truncated = rows.len() > max_groups;
    rows.truncate(max_groups);
    let groups: Vec<StatsGroup> = rows
        .into_iter()
        .filter(|r| r.get("rows").and_then(Value::as_u64).unwrap_or(0) > 0)
        .map(|r| {
            let rate = PassRate::of_sums(&r);
            StatsGroup {
                key: group_by
                    .iter()
                    .map(|col| (col.clone(), r.get(col).cloned().unwrap_or(Value::Null)))
                    .collect(),
                batches: rate.batches,
                passes: rate.passes(),
                fails: rate.fails,
                pass_rate: rate.pass_rate,
                pass_rate_ci95: rate.pass_rate_ci95,
                fail_only_failures: rate.fail_only_failures,
            }
        })
        .collect();
    Ok(Answered {
        value: Stats {
            snapshot: view.id.clone(),
            group_by: group_by.to_vec(),
            denominator: DENOMINATOR.to_owned(),
            groups,
            truncated,
        },
        route,
    })
}
