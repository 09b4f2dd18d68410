//! Public, anonymous SQL: what is checked before DataFusion sees the text, what is checked
//! in the plan, and the per-query runtime (its own memory pool and spill cap) it runs in.
//!
//! Safety comes from construction, not from string matching on keywords: DataFusion's own
//! `SQLOptions` refuse DDL, DML and statements (`guarded_sql`); recursive CTEs are off in the
//! session; the text is bounded in size, nesting and operator count (deep expression chains
//! overflow the planner's stack, which no handler can catch); functions whose size argument
//! makes one kernel call allocate without yielding (`repeat`, `rpad`, `range`, …) take only
//! literal sizes under a cap; each query has its own memory pool and spill limit.

use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::scalar::ScalarValue;

use crate::accel::Engine;
use crate::counted::{CountedRows, IndexAggregates};
use crate::error::{QueryError, Result};
use crate::session::guarded_sql;

/// Limits of one public query.
#[derive(Debug, Clone)]
pub struct SqlLimits {
    /// Wall-clock deadline covering planning and execution.
    pub deadline: std::time::Duration,
    /// Memory a query may reserve (its own pool).
    pub memory_bytes: usize,
    /// Bytes a query may spill to disk.
    pub spill_bytes: u64,
    /// Operators (`+ - * / % = < > | AND OR`) the text may hold.
    pub max_operators: usize,
    /// Row pairs a join without an equality condition (cross or nested-loop join) may
    /// compare: those joins do not yield (apache/datafusion#19358), so a deadline cannot stop
    /// them in time; they are refused when the inputs' row counts say they would be larger.
    pub max_join_pairs: u64,
    /// Largest size argument of `repeat`, `lpad`, `rpad`, `array_repeat`, `array_resize`,
    /// and the largest list `range` / `generate_series` may build in one call.
    pub max_size_argument: i64,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            deadline: std::time::Duration::from_secs(10),
            memory_bytes: 256 * 1024 * 1024,
            spill_bytes: 1024 * 1024 * 1024,
            max_operators: 500,
            max_join_pairs: 50_000_000,
            max_size_argument: 100_000,
        }
    }
}

fn refused(reason: impl Into<String>) -> QueryError {
    QueryError::Refused {
        reason: reason.into(),
    }
}

/// Counts operators outside string literals, quoted identifiers and comments.
pub fn operator_count(sql: &str) -> usize {
    let mut n = 0usize;
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut word = String::new();
    let flush = |word: &mut String, n: &mut usize| {
        if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") {
            *n += 1;
        }
        word.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                flush(&mut word, &mut n);
                let q = c;
                i += 1;
                while i < chars.len() {
                    if chars[i] == q {
                        if chars.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                flush(&mut word, &mut n);
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                flush(&mut word, &mut n);
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 1;
            }
            '+' | '-' | '*' | '/' | '%' | '=' | '<' | '>' | '|' | '&' | '^' => {
                flush(&mut word, &mut n);
                n += 1;
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            _ => flush(&mut word, &mut n),
        }
        i += 1;
    }
    flush(&mut word, &mut n);
    n
}

/// Functions whose size argument (at this position) allocates in one kernel call.
/// The most centroids `approx_percentile_cont` may keep (DataFusion's default is 100).
const MAX_CENTROIDS: i64 = 10_000;

const SIZED: [(&str, usize); 5] = [
    ("repeat", 1),
    ("lpad", 1),
    ("rpad", 1),
    ("array_repeat", 1),
    ("array_resize", 1),
];

fn literal_i64(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(v, _) => match v.cast_to(&datafusion::arrow::datatypes::DataType::Int64) {
            Ok(ScalarValue::Int64(Some(n))) => Some(n),
            _ => None,
        },
        Expr::Cast(c) => literal_i64(&c.expr),
        Expr::TryCast(c) => literal_i64(&c.expr),
        Expr::Negative(inner) => literal_i64(inner).map(|n| -n),
        _ => None,
    }
}

/// Walks a plan (subqueries included) for function calls that allocate unboundedly.
pub fn check_plan(plan: &LogicalPlan, limits: &SqlLimits) -> Result<()> {
    let mut problem: Option<String> = None;
    let cap = limits.max_size_argument;
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|sub| {
                if let Expr::ScalarFunction(f) = sub {
                    let name = f.name();
                    if let Some((_, pos)) = SIZED.iter().find(|(n, _)| *n == name) {
                        match f.args.get(*pos).map(literal_i64) {
                            Some(Some(n)) if n <= cap => {}
                            Some(Some(n)) => {
                                problem = Some(format!(
                                    "{name}(): size {n} is over the limit of {cap}"
                                ));
                            }
                            Some(None) => {
                                problem = Some(format!(
                                    "{name}(): the size must be a literal number (at most {cap})"
                                ));
                            }
                            None => {}
                        }
                    }
                    if name == "range" || name == "generate_series" {
                        let nums: Vec<Option<i64>> = f.args.iter().map(literal_i64).collect();
                        let count = match nums.as_slice() {
                            [Some(stop)] => Some(i128::from(*stop)),
                            [Some(a), Some(b)] => Some(i128::from(*b) - i128::from(*a)),
                            [Some(a), Some(b), Some(s)] if *s != 0 => {
                                Some((i128::from(*b) - i128::from(*a)) / i128::from(*s))
                            }
                            _ => None,
                        };
                        match count {
                            Some(c) if c.abs() <= i128::from(cap) => {}
                            Some(c) => {
                                problem = Some(format!(
                                    "{name}(): {c} elements is over the limit of {cap}"
                                ));
                            }
                            None => {
                                problem = Some(format!(
                                    "{name}(): bounds must be literal numbers (at most {cap} elements)"
                                ));
                            }
                        }
                    }
                }
                if let Expr::AggregateFunction(f) = sub {
                    let name = f.func.name();
                    // The number of centroids sizes an allocation up front; a huge one panics
                    // inside DataFusion (apache/datafusion#24900) or aborts the allocator.
                    let at = match name {
                        "approx_percentile_cont" => Some(2),
                        "approx_percentile_cont_with_weight" => Some(3),
                        _ => None,
                    };
                    if let Some(at) = at
                        && let Some(arg) = f.params.args.get(at)
                    {
                        match literal_i64(arg) {
                            Some(n) if (1..=MAX_CENTROIDS).contains(&n) => {}
                            Some(n) => {
                                problem = Some(format!(
                                    "{name}(): the number of centroids (its argument {}) is {n}; \
                                     it must be from 1 to {MAX_CENTROIDS}",
                                    at + 1
                                ));
                            }
                            None => {
                                problem = Some(format!(
                                    "{name}(): the number of centroids (its argument {}) must be \
                                     a literal number from 1 to {MAX_CENTROIDS}",
                                    at + 1
                                ));
                            }
                        }
                    }
                }
                Ok(if problem.is_some() {
                    TreeNodeRecursion::Stop
                } else {
                    TreeNodeRecursion::Continue
                })
            })
        })
    });
    match problem {
        Some(p) => Err(refused(p)),
        None => Ok(()),
    }
}

/// Makes DataFusion's error for user SQL a helpful one: position, and the closest table
/// names when a table is unknown.
pub fn explain_error(e: DataFusionError, tables: &[String]) -> QueryError {
    let message = e.to_string();
    if matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)) {
        return QueryError::ResourcesExhausted { message };
    }
    if let Some(unavailable) = crate::error::ClusterFailure::within(&e) {
        return unavailable;
    }
    let position = position_of(&message);
    let mut suggestions = Vec::new();
    if let Some(name) = unknown_table(&message) {
        suggestions = closest(&name, tables);
    }
    if let Some(valid) = message.split("Valid fields are ").nth(1)
        && let Some(col) = message
            .split("No field named ")
            .nth(1)
            .and_then(|s| s.split('.').next())
    {
        let fields: Vec<String> = valid
            .split(", ")
            .map(|f| {
                f.rsplit('.')
                    .next()
                    .unwrap_or(f)
                    .trim_end_matches('.')
                    .to_owned()
            })
            .collect();
        suggestions = closest(col.trim_matches('"'), &fields);
    }
    QueryError::Invalid {
        message,
        position,
        suggestions,
    }
}

fn position_of(message: &str) -> Option<(u64, u64)> {
    let at = message.find("Line: ")?;
    let rest = &message[at + 6..];
    let line: u64 = rest
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let col_at = rest.find("Column: ")?;
    let column: u64 = rest[col_at + 8..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((line, column))
}

fn unknown_table(message: &str) -> Option<String> {
    let start = message.find("table '")? + 7;
    let end = message[start..].find('\'')? + start;
    let full = &message[start..end];
    Some(full.rsplit('.').next().unwrap_or(full).to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to three names closest to `name` (by edit distance, or containing it).
pub fn closest(name: &str, candidates: &[String]) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| {
            *d <= (c.len().max(lower.len()) / 3).max(2)
                || c.to_lowercase().contains(&lower)
                || lower.contains(&c.to_lowercase())
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

/// The part of a query's pool each of its sorts reserves for merging what it spilled (1 MiB
/// of 256). DataFusion's default, 10 MiB a sort, cannot work here: a sort over the
/// `spot_checks` view runs one sorter per file part of its union (~40 at 5M rows), and 40
/// reservations of 10 MiB overflow a 256 MiB pool part way through the result.
const SORT_MERGE_SHARE: usize = 256;

/// A cluster that runs public SQL once this process has planned and checked it (`zhijian
/// serve --ballista df://host:port`; the `zhijian-cluster` crate implements it for DataFusion
/// Ballista). The guard, the plan checks and the join check run here, on the snapshot's
/// tables, exactly as for local execution; only the checked logical plan goes to the cluster.
pub trait Cluster: Send + Sync + std::fmt::Debug {
    /// Turns the per-query session state (the snapshot's tables, the query's own runtime and
    /// settings) into one whose physical planning and execution happen on the cluster.
    fn distribute(
        &self,
        state: datafusion::execution::SessionState,
    ) -> datafusion::error::Result<datafusion::execution::SessionState>;

    /// The scheduler's address (`df://host:port`), for logs, errors and `/readyz`.
    fn address(&self) -> &str;
}

/// Public SQL, planned and checked by [`plan_public`]: what it answers and how to run it.
#[derive(Clone)]
pub struct PublicQuery {
    schema: datafusion::arrow::datatypes::SchemaRef,
    run: Run,
    engine: Engine,
}

#[derive(Clone)]
enum Run {
    /// The physical plan the checks saw, run here as it is (planning again would cost as
    /// much as planning did).
    Local {
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        task: Arc<datafusion::execution::TaskContext>,
    },
    /// A frame whose physical planning and execution happen on the cluster.
    Cluster(DataFrame),
}

impl std::fmt::Debug for PublicQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let run = match &self.run {
            Run::Local { .. } => "local",
            Run::Cluster(_) => "cluster",
        };
        f.debug_struct("PublicQuery")
            .field("schema", &self.schema)
            .field("run", &run)
            .field("engine", &self.engine)
            .finish()
    }
}

impl PublicQuery {
    /// [`Engine::Index`] when an aggregate of it reads the index's counted rows
    /// ([`crate::counted`]), else [`Engine::Sql`].
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The columns of its answer.
    pub fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }

    /// Starts it: its answer as one stream of batches.
    pub async fn execute_stream(
        self,
    ) -> datafusion::error::Result<datafusion::execution::SendableRecordBatchStream> {
        match self.run {
            Run::Local { plan, task } => datafusion::physical_plan::execute_stream(plan, task),
            Run::Cluster(df) => df.execute_stream().await,
        }
    }
}

/// Plans public SQL on a fresh session that shares the snapshot's tables but has its own
/// runtime: the memory `pool` (of `memory_bytes`; the server's counts against its ceiling,
/// see [`crate::govern::Governor::pool_of`]) and a spill cap. With `counted` (the snapshot's
/// index, see [`crate::counted`]), aggregates over `spot_checks` that it holds read its
/// counted rows; with a `cluster`, the checked plan is handed to it: the returned query
/// executes there.
pub async fn plan_public(
    base: &SessionContext,
    tables: &[String],
    sql: &str,
    limits: &SqlLimits,
    pool: Arc<dyn datafusion::execution::memory_pool::MemoryPool>,
    counted: Option<Arc<CountedRows>>,
    cluster: Option<&dyn Cluster>,
) -> Result<PublicQuery> {
    let ops = operator_count(sql);
    if ops > limits.max_operators {
        return Err(refused(format!(
            "the query has {ops} operators; at most {} are accepted",
            limits.max_operators
        )));
    }
    let runtime = RuntimeEnvBuilder::from_runtime_env(base.runtime_env().as_ref())
        .with_memory_pool(pool)
        .with_max_temp_directory_size(limits.spill_bytes)
        .build_arc()
        .map_err(|e| explain_error(e, tables))?;
    // A cluster plans on its own (and could not read the counted rows of this process).
    let rule = counted
        .filter(|_| cluster.is_none())
        .map(|rows| Arc::new(IndexAggregates::new(rows)));
    // Planning needs no memory pool: locally, the query's runtime joins its task context
    // below. Building a session state anew registered every function again, a sixth of the
    // CPU of a small query; a copy of the snapshot's state does not. A cluster's state takes
    // the runtime with it.
    let mut state = match cluster {
        None => base.state(),
        Some(_) => SessionStateBuilder::new_from_existing(base.state())
            .with_runtime_env(runtime.clone())
            .build(),
    };
    state
        .config_mut()
        .options_mut()
        .execution
        .sort_spill_reservation_bytes = limits.memory_bytes / SORT_MERGE_SHARE;
    let ctx = SessionContext::new_with_state(state);
    if let Some(rule) = &rule {
        ctx.add_optimizer_rule(rule.clone());
    }
    // After the counted rows had their turn (they restate `count(DISTINCT)` as written). A
    // cluster's executors would not know the distinct-text function.
    if cluster.is_none() {
        ctx.add_optimizer_rule(Arc::new(crate::distinct::DistinctText::default()));
    }
    let df = match guarded_sql(&ctx, sql).await {
        Ok(df) => df,
        Err(QueryError::DataFusion(e)) => return Err(explain_error(e, tables)),
        Err(other) => return Err(other),
    };
    check_plan(df.logical_plan(), limits)?;
    let physical = df
        .clone()
        .create_physical_plan()
        .await
        .map_err(|e| explain_error(e, tables))?;
    check_joins(physical.as_ref(), limits)?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let engine = match &rule {
        Some(rule) if rule.used() => Engine::Index,
        _ => Engine::Sql,
    };
    let run = match cluster {
        None => Run::Local {
            task: Arc::new(df.task_ctx().with_runtime(runtime)),
            plan: physical,
        },
        Some(cluster) => {
            let (state, plan) = df.into_parts();
            // What the cluster runs reads the view (Ballista cannot serialise our union
            // table); an EXPLAIN stays here and shows the plan this server runs.
            let plan = if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
                plan
            } else {
                crate::union::inline_for_cluster(plan).map_err(|e| explain_error(e, tables))?
            };
            let state = cluster
                .distribute(state)
                .map_err(|e| explain_error(e, tables))?;
            Run::Cluster(DataFrame::new(state, plan))
        }
    };
    Ok(PublicQuery {
        schema,
        run,
        engine,
    })
}

fn rows_of(plan: &dyn datafusion::physical_plan::ExecutionPlan) -> Option<u64> {
    use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};
    let stats = StatisticsContext::new()
        .compute(plan, &StatisticsArgs::new())
        .ok()?;
    stats.num_rows.get_value().map(|n| *n as u64)
}

/// Refuses joins without an equality condition whose inputs multiply past the limit (row
/// counts from Parquet metadata; an input of unknown size counts as the largest table).
pub fn check_joins(
    plan: &dyn datafusion::physical_plan::ExecutionPlan,
    limits: &SqlLimits,
) -> Result<()> {
    if matches!(plan.name(), "CrossJoinExec" | "NestedLoopJoinExec") {
        let children = plan.children();
        let pairs = children
            .iter()
            .map(|c| rows_of(c.as_ref()).unwrap_or(u64::MAX))
            .fold(1u64, u64::saturating_mul);
        if pairs > limits.max_join_pairs {
            return Err(refused(format!(
                "a join without an equality condition would compare {} row pairs (at most {} \
                 are allowed): join on equal columns, or filter the inputs first",
                if pairs == u64::MAX {
                    "an unknown number of".to_owned()
                } else {
                    pairs.to_string()
                },
                limits.max_join_pairs
            )));
        }
    }
    for child in plan.children() {
        check_joins(child.as_ref(), limits)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_counted_outside_literals_and_comments() {
        assert_eq!(operator_count("SELECT 1+1+1"), 2);
        assert_eq!(operator_count("SELECT '1+1+1' -- + + +\n"), 0);
        assert_eq!(
            operator_count("SELECT a FROM t WHERE a = 1 OR b = 2 and c"),
            4
        );
        assert_eq!(operator_count("SELECT \"a+b\" FROM t /* OR OR */"), 0);
        assert_eq!(operator_count("SELECT 'it''s + x'"), 0);
    }

    #[test]
    fn closest_names_are_suggested() {
        let t = vec![
            "national_spot_checks".to_owned(),
            "spot_checks".to_owned(),
            "ccc_certificates".to_owned(),
        ];
        assert_eq!(
            closest("spot_check", &t).first().map(String::as_str),
            Some("spot_checks")
        );
        assert!(closest("zzzzzzzz", &t).is_empty());
    }

    #[test]
    fn positions_are_read_from_parser_errors() {
        assert_eq!(
            position_of(
                "SQL error: ParserError(\"Expected: end of statement, found: x at Line: 1, Column: 10\")"
            ),
            Some((1, 10))
        );
    }
}
