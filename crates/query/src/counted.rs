//! Aggregates of public SQL over `spot_checks`, answered from the snapshot index's row codes.
//!
//! The index keeps, for every row of the view, its product, province, plan year, result and
//! publication scope as small codes ([`crate::search::SearchIndex`]). For any set of those
//! columns, the rows collapse to their distinct value combinations, each with how many rows
//! hold it: at 1M rows a few thousand combinations, counted in one pass over the codes and
//! kept per snapshot. An aggregate does not need the rows, only that table: filters, group
//! keys and `HAVING` give the same answers on it, and each aggregate is restated with the
//! count as a weight (`count` sums the weights of the rows it counts, `sum(x)` sums
//! `x × weight`, `avg` divides those two; `min`, `max` and every `DISTINCT` aggregate are
//! indifferent to repeated rows and run as written). So DataFusion still plans and runs the
//! whole query, every guard and check in front of it unchanged, but groups a few thousand
//! rows instead of hashing a million strings read from Parquet (measured in the README:
//! `GROUP BY product` over 1M rows went from 2.3× DuckDB in-process to below it).
//!
//! The index also keeps, for every failed item, the rows listing it (once for each time a row
//! lists it). So an aggregate over `unnest(failed_items)` is answered the same way: the table
//! then has a row per combination *and item*, counted over those postings, with the item as a
//! list of one, and the `unnest` is planned over it as written (NULL and empty lists give no
//! rows either way). This holds only while the list reaches the `unnest` untouched: a filter
//! or expression reading the list itself (`cardinality(failed_items)`) is left to Parquet, and
//! so is every query when some row lists a NULL or blank item, which the index leaves out.
//!
//! [`IndexAggregates`] is the logical optimizer rule that does it, per query. It rewrites an
//! `Aggregate` only when everything beneath it, down to the `spot_checks` scan, is a
//! projection, filter or alias of deterministic expressions over coded columns, and every
//! aggregate is one it can restate; otherwise the plan is left as it is and reads Parquet. A
//! float `sum` or `avg` adds `x × weight` instead of `x` weight times, which can differ in the
//! last bits, as DataFusion's own partitioned sums differ between runs.
//!
//! Values the index keeps with a NUL character removed (its packed buffers cannot hold one)
//! would group apart from SQL's; the ingester publishes no control characters in these
//! columns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    ArrayRef, Int64Array, ListArray, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::functions_aggregate::average::Avg;
use datafusion::functions_aggregate::count::Count;
use datafusion::functions_aggregate::min_max::{Max, Min};
use datafusion::functions_aggregate::sum::{Sum, sum_udaf};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    Aggregate, Expr, ExprSchemable, Filter, LogicalPlan, LogicalPlanBuilder, Projection,
    SubqueryAlias, TableScan, Unnest, cast as cast_expr, lit, when,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use serde_json::Value;

use crate::search::Indexes;
use crate::search::index::Narrow;
use crate::union::UnionTable;

/// The weight column of a counted table: how many rows of the view hold its values.
const WEIGHT: &str = "__zhijian_rows";

/// The list column whose items a counted table can hold (the index keeps its postings).
const ITEMS: &str = "failed_items";

/// Counted tables kept per snapshot (each at most [`MAX_COMBINATIONS`] rows).
const CACHED: usize = 32;

/// The most value combinations a counted table may have (its counting array is four bytes a
/// combination); a wider set of columns reads Parquet.
const MAX_COMBINATIONS: usize = 1 << 22;

/// The counted tables of one snapshot, built on first use from its index.
#[derive(Debug)]
pub struct CountedRows {
    indexes: Arc<Indexes>,
    tables: Mutex<HashMap<Vec<String>, Arc<RecordBatch>>>,
}

impl CountedRows {
    /// Over a snapshot's index.
    pub fn new(indexes: Arc<Indexes>) -> Self {
        Self {
            indexes,
            tables: Mutex::new(HashMap::new()),
        }
    }

    /// The distinct combinations of `columns` (names of the view, with their fields in
    /// `schema`) over every row, with their counts in [`WEIGHT`]; `None` when one is not
    /// coded, its values are not text or whole numbers, or there are too many combinations.
    /// With [`ITEMS`] among them, a row of the view counts once for each item it lists, and
    /// the table holds each item as a list of one: what an `unnest` of the list gives.
    fn table(&self, columns: &[String], schema: &Schema) -> Option<Arc<RecordBatch>> {
        if let Some(t) = self.tables.lock().ok()?.get(columns) {
            return Some(t.clone());
        }
        let index = &self.indexes.search;
        let items = columns.iter().any(|c| c == ITEMS);
        let coded = columns
            .iter()
            .filter(|c| *c != ITEMS)
            .map(|c| index.coded_column(c))
            .collect::<Option<Vec<_>>>()?;
        // Mixed radix: each column's code (its values, then one more for NULL) is a digit.
        let mut cards = Vec::with_capacity(coded.len());
        let mut total = 1usize;
        for c in &coded {
            let card = c.values.len() + 1;
            total = total.checked_mul(card).filter(|&t| t <= MAX_COMBINATIONS)?;
            cards.push(card as u32);
        }
        let n = index.rows() as usize;
        let mut slot = vec![0u32; n];
        for (c, &card) in coded.iter().zip(&cards) {
            digit(&mut slot, &c.codes, card);
        }
        // (combination, then item when items are counted; the count of rows).
        let mut present: Vec<(usize, u32)> = Vec::new();
        let mut listed = Vec::new();
        if items {
            listed = index.listed_items()?;
            let mut keys: Vec<u64> = Vec::new();
            for (j, (_, positions)) in listed.iter().enumerate() {
                for &p in *positions {
                    let combination = u64::from(*slot.get(p as usize)?);
                    keys.push(combination * listed.len() as u64 + j as u64);
                }
            }
            drop(slot);
            keys.sort_unstable();
            for k in keys {
                let k = usize::try_from(k).ok()?;
                match present.last_mut() {
                    Some((last, count)) if *last == k => *count += 1,
                    _ => present.push((k, 1)),
                }
            }
            if present.len() > MAX_COMBINATIONS {
                return None;
            }
        } else {
            let mut counts = vec![0u32; total];
            for &s in &slot {
                counts[s as usize] += 1;
            }
            drop(slot);
            present = (0..total)
                .filter(|&k| counts[k] > 0)
                .map(|k| (k, counts[k]))
                .collect();
        }
        let per_combination = listed.len().max(1);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len() + 1);
        let mut fields = Vec::with_capacity(columns.len() + 1);
        let mut stride = total;
        let mut digits = coded.iter().zip(&cards);
        for name in columns {
            let field = schema.field_with_name(name).ok()?;
            if name == ITEMS {
                let values: StringArray = present
                    .iter()
                    .map(|&(k, _)| listed.get(k % per_combination).map(|(v, _)| *v))
                    .collect();
                let lists = ListArray::try_new(
                    Arc::new(Field::new_list_field(DataType::Utf8, true)),
                    OffsetBuffer::from_lengths(std::iter::repeat_n(1, present.len())),
                    Arc::new(values),
                    None,
                )
                .ok()?;
                arrays.push(cast(&lists, field.data_type()).ok()?);
            } else {
                let (c, &card) = digits.next()?;
                stride /= card as usize;
                let values = decoded(&c.values, field.data_type())?;
                let codes: UInt32Array = present
                    .iter()
                    .map(|&(k, _)| Some(((k / per_combination / stride) % card as usize) as u32))
                    .collect();
                arrays.push(take(values.as_ref(), &codes, None).ok()?);
            }
            fields.push(field.clone());
        }
        arrays.push(Arc::new(Int64Array::from_iter_values(
            present.iter().map(|&(_, count)| i64::from(count)),
        )));
        fields.push(Field::new(WEIGHT, DataType::Int64, false));
        let batch = Arc::new(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).ok()?);
        if let Ok(mut tables) = self.tables.lock() {
            if tables.len() >= CACHED {
                tables.clear();
            }
            tables.insert(columns.to_vec(), batch.clone());
        }
        Some(batch)
    }
}

/// `slot = slot × card + code` for every row (a missing value is the last code).
fn digit(slot: &mut [u32], codes: &Narrow, card: u32) {
    fn go<T: Copy + Into<u32>>(slot: &mut [u32], codes: &[T], card: u32) {
        let none = card - 1;
        for (s, &c) in slot.iter_mut().zip(codes) {
            *s = *s * card + c.into().min(none);
        }
    }
    match codes {
        Narrow::U8(v) => go(slot, v, card),
        Narrow::U16(v) => go(slot, v, card),
        Narrow::U32(v) => go(slot, v, card),
    }
}

/// A column's values (then NULL, for the missing-value code) as an array of `to`.
fn decoded(values: &[Value], to: &DataType) -> Option<ArrayRef> {
    let array: ArrayRef = if values.iter().all(Value::is_string) {
        Arc::new(
            values
                .iter()
                .map(Value::as_str)
                .chain(std::iter::once(None))
                .collect::<StringArray>(),
        )
    } else if values.iter().all(|v| v.as_i64().is_some()) {
        Arc::new(
            values
                .iter()
                .map(Value::as_i64)
                .chain(std::iter::once(None))
                .collect::<Int64Array>(),
        )
    } else {
        return None;
    };
    cast(&array, to).ok()
}

/// The optimizer rule of one public query (see the module docs); it notes whether it
/// rewrote anything, for the `x-answered-by` header.
#[derive(Debug)]
pub struct IndexAggregates {
    rows: Arc<CountedRows>,
    used: AtomicBool,
}

impl IndexAggregates {
    /// A rule over a snapshot's counted tables.
    pub fn new(rows: Arc<CountedRows>) -> Self {
        Self {
            rows,
            used: AtomicBool::new(false),
        }
    }

    /// Whether an aggregate of the query was rewritten.
    pub fn used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    /// The table that holds the rows of `plan` once each distinct row is counted: the same
    /// columns, then [`WEIGHT`]; `None` when `plan` is not made of what it can restate.
    /// `unnested` says that an `unnest` above takes the list column apart (so the list may be
    /// counted item by item) and that nothing on the way reads it but as a whole column.
    fn weighted(&self, plan: &LogicalPlan, unnested: bool) -> Result<Option<LogicalPlan>> {
        let deterministic = |exprs: &[Expr]| exprs.iter().all(|e| !e.is_volatile());
        let input = |p: &LogicalPlan, unnested| -> Result<Option<Arc<LogicalPlan>>> {
            Ok(self.weighted(p, unnested)?.map(Arc::new))
        };
        Ok(match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan, unnested)?,
            LogicalPlan::Filter(f)
                if deterministic(std::slice::from_ref(&f.predicate))
                    && !(unnested && reads_list(&f.predicate, f.input.schema())) =>
            {
                match input(&f.input, unnested)? {
                    Some(i) => Some(LogicalPlan::Filter(Filter::try_new(
                        f.predicate.clone(),
                        i,
                    )?)),
                    None => None,
                }
            }
            LogicalPlan::Projection(p)
                if deterministic(&p.expr)
                    && !(unnested
                        && p.expr.iter().any(|e| {
                            !matches!(e.clone().unalias(), Expr::Column(_))
                                && reads_list(e, p.input.schema())
                        })) =>
            {
                match input(&p.input, unnested)? {
                    Some(i) => {
                        let mut exprs = p.expr.clone();
                        exprs.push(weight_of(&i)?);
                        Some(LogicalPlan::Projection(Projection::try_new(exprs, i)?))
                    }
                    None => None,
                }
            }
            LogicalPlan::SubqueryAlias(a) => match input(&a.input, unnested)? {
                Some(i) => Some(LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
                    i,
                    a.alias.clone(),
                )?)),
                None => None,
            },
            // One list, one level deep, its NULL and empty lists giving no rows (SQL's
            // `unnest`), and no other list beside it.
            LogicalPlan::Unnest(u)
                if !unnested
                    && u.exec_columns.len() == 1
                    && u.struct_type_columns.is_empty()
                    && matches!(u.list_type_columns.as_slice(), [(_, l)] if l.depth == 1)
                    && !u.options.preserve_nulls()
                    && u.input
                        .schema()
                        .fields()
                        .iter()
                        .filter(|f| is_list(f.data_type()))
                        .count()
                        == 1 =>
            {
                match input(&u.input, true)? {
                    Some(i) => {
                        let rewritten =
                            Unnest::try_new(i, u.exec_columns.clone(), u.options.clone())?;
                        (rewritten.schema.fields().len() == u.schema.fields().len() + 1)
                            .then_some(LogicalPlan::Unnest(rewritten))
                    }
                    None => None,
                }
            }
            _ => None,
        })
    }

    /// The counted table in place of a scan of `spot_checks`, filtered by the scan's filters
    /// and with its columns (its list column only when `unnested`, and filtered on nothing
    /// but other columns).
    fn scan(&self, scan: &TableScan, unnested: bool) -> Result<Option<LogicalPlan>> {
        if scan.fetch.is_some() || scan.filters.iter().any(Expr::is_volatile) {
            return Ok(None);
        }
        let provider = source_as_provider(&scan.source)?;
        if provider.downcast_ref::<UnionTable>().is_none() {
            return Ok(None);
        }
        let schema = provider.schema();
        let projected: Vec<String> = scan
            .projected_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut columns = projected.clone();
        for f in &scan.filters {
            for c in f.column_refs() {
                if c.name == ITEMS {
                    return Ok(None);
                }
                columns.push(c.name.clone());
            }
        }
        columns.sort();
        columns.dedup();
        if !unnested && columns.iter().any(|c| c == ITEMS) {
            return Ok(None);
        }
        let Some(batch) = self.rows.table(&columns, &schema) else {
            return Ok(None);
        };
        let table = MemTable::try_new(batch.schema(), vec![vec![batch.as_ref().clone()]])?;
        let mut builder = LogicalPlanBuilder::scan(
            scan.table_name.clone(),
            provider_as_source(Arc::new(table)),
            None,
        )?;
        if let Some(all) = conjunction(scan.filters.clone()) {
            builder = builder.filter(all)?;
        }
        let exprs: Vec<Expr> = projected
            .iter()
            .chain(std::iter::once(&WEIGHT.to_owned()))
            .map(|c| Expr::Column(Column::new(Some(scan.table_name.clone()), c)))
            .collect();
        Ok(Some(builder.project(exprs)?.build()?))
    }

    /// The aggregate over the counted table, then a projection that gives its columns their
    /// names and types; `None` when it is not one this rule restates.
    fn aggregate(&self, agg: &Aggregate) -> Result<Option<LogicalPlan>> {
        if agg
            .group_expr
            .iter()
            .chain(&agg.aggr_expr)
            .any(|e| matches!(e, Expr::GroupingSet(_)) || e.is_volatile())
        {
            return Ok(None);
        }
        let Some(input) = self.weighted(&agg.input, false)? else {
            return Ok(None);
        };
        let weight = weight_of(&input)?;
        let input_schema = input.schema().clone();
        let mut restated = Vec::new();
        let mut outputs = Vec::new();
        for e in &agg.aggr_expr {
            let Some((mut new, out)) = restate(e, &weight, &input_schema, restated.len())? else {
                return Ok(None);
            };
            restated.append(&mut new);
            outputs.push(out);
        }
        let rewritten = LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::new(input),
            agg.group_expr.clone(),
            restated,
        )?);
        let groups = agg.group_expr.len();
        let mut exprs = Vec::with_capacity(agg.schema.fields().len());
        for (i, (qualifier, field)) in agg.schema.iter().enumerate() {
            let e = if i < groups {
                Expr::Column(Column::new(qualifier.cloned(), field.name()))
            } else {
                let Some(out) = outputs.get(i - groups) else {
                    return Ok(None);
                };
                let out = out.clone();
                if out.get_type(rewritten.schema())? == *field.data_type() {
                    out
                } else {
                    cast_expr(out, field.data_type().clone())
                }
                .alias_qualified(qualifier.cloned(), field.name())
            };
            exprs.push(e);
        }
        Ok(Some(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(rewritten),
        )?)))
    }
}

/// Whether `t` is a list type (what `unnest` takes apart).
fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
    )
}

/// Whether `e` reads a list column of `schema`.
fn reads_list(e: &Expr, schema: &datafusion::common::DFSchema) -> bool {
    e.column_refs().into_iter().any(|c| {
        schema
            .qualified_field_from_column(c)
            .map_or(true, |(_, f)| is_list(f.data_type()))
    })
}

/// The weight column of a weighted plan's schema.
fn weight_of(plan: &LogicalPlan) -> Result<Expr> {
    let (qualifier, _) = plan
        .schema()
        .qualified_field_with_unqualified_name(WEIGHT)?;
    Ok(Expr::Column(Column::new(qualifier.cloned(), WEIGHT)))
}

/// An aggregate restated over weighted rows: the aggregates to compute (named
/// `__zhijian_agg<n>` from `next`), and the expression over them that gives its value.
fn restate(
    e: &Expr,
    weight: &Expr,
    schema: &datafusion::common::DFSchema,
    next: usize,
) -> Result<Option<(Vec<Expr>, Expr)>> {
    let inner = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        other => other,
    };
    let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else {
        return Ok(None);
    };
    let name = |k: usize| format!("__zhijian_agg{}", next + k);
    let out = |k: usize| Expr::Column(Column::new_unqualified(name(k)));
    // `sum(arg)`, under the aggregate's own FILTER clause.
    let total = |arg: Expr| {
        Expr::AggregateFunction(AggregateFunction::new_udf(
            sum_udaf(),
            vec![arg],
            false,
            params.filter.clone(),
            Vec::new(),
            None,
        ))
    };
    let udf = func.inner().as_ref();
    let ordered = !params.order_by.is_empty();
    // Indifferent to repeated rows: as written.
    let as_written = udf.is::<Min>()
        || udf.is::<Max>()
        || (params.distinct && !ordered && (udf.is::<Count>() || udf.is::<Sum>()));
    if as_written {
        return Ok(Some((vec![inner.clone().alias(name(0))], out(0))));
    }
    if params.distinct || ordered || params.null_treatment.is_some() {
        return Ok(None);
    }
    // The weights of the rows whose argument is not NULL.
    let counted = |x: &Expr| -> Result<Expr> {
        when(x.clone().is_null(), lit(0i64)).otherwise(weight.clone())
    };
    if udf.is::<Count>() {
        let weights = match params.args.as_slice() {
            [] => weight.clone(),
            [x] => counted(x)?,
            _ => return Ok(None),
        };
        let total = total(weights).alias(name(0));
        let value = datafusion::functions::expr_fn::coalesce(vec![out(0), lit(0i64)]);
        return Ok(Some((vec![total], value)));
    }
    let [x] = params.args.as_slice() else {
        return Ok(None);
    };
    let t = x.get_type(schema)?;
    if !(t.is_integer() || t.is_floating()) {
        return Ok(None);
    }
    let float_times =
        || cast_expr(x.clone(), DataType::Float64) * cast_expr(weight.clone(), DataType::Float64);
    if udf.is::<Sum>() {
        let product = if t.is_floating() {
            float_times()
        } else {
            x.clone() * weight.clone()
        };
        return Ok(Some((vec![total(product).alias(name(0))], out(0))));
    }
    if udf.is::<Avg>() {
        let weighted = total(float_times()).alias(name(0));
        let rows = total(counted(x)?).alias(name(1));
        let value = cast_expr(out(0), DataType::Float64) / cast_expr(out(1), DataType::Float64);
        return Ok(Some((vec![weighted, rows], value)));
    }
    Ok(None)
}

impl OptimizerRule for IndexAggregates {
    fn name(&self) -> &str {
        "zhijian_index_aggregates"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let rewritten = rewrite_aggregates(plan, |agg| self.aggregate(agg))?;
        if rewritten.transformed {
            self.used.store(true, Ordering::Relaxed);
        }
        Ok(rewritten)
    }
}

/// `plan` with each `Aggregate` (in subqueries too, bottom up) that `restate` gives a plan for
/// replaced by it.
pub(crate) fn rewrite_aggregates(
    plan: LogicalPlan,
    mut restate: impl FnMut(&Aggregate) -> Result<Option<LogicalPlan>>,
) -> Result<Transformed<LogicalPlan>> {
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Aggregate(agg) = &node else {
            return Ok(Transformed::no(node));
        };
        Ok(match restate(agg)? {
            Some(rewritten) => Transformed::yes(rewritten),
            None => Transformed::no(node),
        })
    })
}
