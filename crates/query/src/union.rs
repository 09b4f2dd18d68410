//! The `spot_checks` table: every spot-check resource of a snapshot as one table.
//!
//! It answers exactly as the view `SELECT * FROM a UNION ALL SELECT * FROM b …` would, but
//! the planner sees one table scan instead of a union of one projection per resource: the
//! logical optimizer then walks a plan of a few nodes, not one projection of 39 columns per
//! resource (measured: most of a named query's planning time went to the
//! union's projections and their type coercion). Projections, filters and limits reach
//! every resource's own scan, so each still prunes its row groups and pages, and the
//! physical plan is the union of those scans — the same plan the view gave.
//!
//! Ballista serialises logical plans and knows nothing of this table:
//! [`inline_for_cluster`] turns its scans back into the view before a plan goes there.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::tree_node::Transformed;
use datafusion::datasource::{TableType, provider_as_source, source_as_provider};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::union::UnionExec;
use datafusion::prelude::Expr;

/// Tables of one schema read as one: the union of their scans.
#[derive(Debug)]
pub struct UnionTable {
    schema: SchemaRef,
    members: Vec<Arc<dyn TableProvider>>,
    /// The same union as a view (`SELECT * FROM a UNION ALL …`), for a cluster.
    view: Arc<dyn TableProvider>,
}

impl UnionTable {
    /// The union of `members`, which all have `schema`; `view` is the same union as a
    /// view (what [`inline_for_cluster`] puts in its place).
    pub fn try_new(
        members: Vec<Arc<dyn TableProvider>>,
        view: Arc<dyn TableProvider>,
    ) -> Result<Self> {
        let Some(first) = members.first() else {
            return Err(DataFusionError::Plan(
                "a union table needs at least one member".into(),
            ));
        };
        let schema = first.schema();
        if let Some(other) = members
            .iter()
            .find(|m| m.schema().fields() != schema.fields())
        {
            return Err(DataFusionError::Plan(format!(
                "the members of a union table differ in their columns: {:?} and {:?}",
                schema.fields(),
                other.schema().fields()
            )));
        }
        Ok(Self {
            schema,
            members,
            view,
        })
    }
}

#[async_trait]
impl TableProvider for UnionTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// A view, as it was when it was one (`information_schema`, Flight SQL's table types).
    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // The weakest answer of any member: a filter is taken off the plan only when every
        // member applies it exactly.
        let mut support = vec![TableProviderFilterPushDown::Exact; filters.len()];
        for member in &self.members {
            for (s, m) in support
                .iter_mut()
                .zip(member.supports_filters_pushdown(filters)?)
            {
                *s = weaker(s.clone(), m);
            }
        }
        Ok(support)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let args = ScanArgs::default()
            .with_projection(projection.map(Vec::as_slice))
            .with_filters(Some(filters))
            .with_limit(limit);
        Ok(self.scan_with_args(state, args).await?.into_inner())
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        let mut scans = Vec::with_capacity(self.members.len());
        for member in &self.members {
            scans.push(
                member
                    .scan_with_args(state, args.clone())
                    .await?
                    .into_inner(),
            );
        }
        Ok(UnionExec::try_new(scans)?.into())
    }
}

fn weaker(
    a: TableProviderFilterPushDown,
    b: TableProviderFilterPushDown,
) -> TableProviderFilterPushDown {
    use TableProviderFilterPushDown::{Exact, Inexact, Unsupported};
    match (a, b) {
        (Unsupported, _) | (_, Unsupported) => Unsupported,
        (Inexact, _) | (_, Inexact) => Inexact,
        (Exact, Exact) => Exact,
    }
}

/// `plan` (not yet optimised) with every scan of a [`UnionTable`] replaced by its view's plan,
/// the union of the members' scans: a plan Ballista can serialise and run.
pub fn inline_for_cluster(plan: LogicalPlan) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::TableScan(scan) = &node else {
            return Ok(Transformed::no(node));
        };
        let Ok(provider) = source_as_provider(&scan.source) else {
            return Ok(Transformed::no(node));
        };
        let Some(union) = provider.downcast_ref::<UnionTable>() else {
            return Ok(Transformed::no(node));
        };
        // The builder inlines a view's plan into the scan of it (`SubqueryAlias` of the
        // union, named as the table was).
        let inlined = LogicalPlanBuilder::scan_with_filters_fetch(
            scan.table_name.clone(),
            provider_as_source(Arc::clone(&union.view)),
            scan.projection.clone(),
            scan.filters.clone(),
            scan.fetch,
        )?
        .build()?;
        Ok(Transformed::yes(inlined))
    })
    .map(|t| t.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    fn table(products: &[&str], years: &[i64]) -> Arc<dyn TableProvider> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("product", DataType::Utf8, false),
            Field::new("plan_year", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(products.to_vec())),
                Arc::new(Int64Array::from(years.to_vec())),
            ],
        )
        .expect("batch");
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table"))
    }

    async fn session() -> SessionContext {
        let ctx = SessionContext::new();
        ctx.register_table("a", table(&["童装", "电水壶", "童装"], &[2021, 2022, 2023]))
            .expect("a");
        ctx.register_table("b", table(&["电水壶", "插座"], &[2023, 2024]))
            .expect("b");
        let view = ctx
            .sql("SELECT * FROM a UNION ALL SELECT * FROM b")
            .await
            .expect("view")
            .into_view();
        let members = vec![
            ctx.table_provider("a").await.expect("a"),
            ctx.table_provider("b").await.expect("b"),
        ];
        let union = UnionTable::try_new(members, view.clone()).expect("union");
        ctx.register_table("u", Arc::new(union)).expect("u");
        ctx.register_table("v", view).expect("v");
        ctx
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.expect(sql).collect().await.expect(sql);
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("format")
            .to_string();
        text.lines().map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn answers_as_the_union_view_does() {
        let ctx = session().await;
        for q in [
            "SELECT product, count(*) AS n FROM {} GROUP BY product ORDER BY product",
            "SELECT * FROM {} WHERE plan_year >= 2023 ORDER BY product, plan_year",
            "SELECT plan_year FROM {} WHERE product = '电水壶' ORDER BY plan_year LIMIT 1",
            "SELECT count(*) FROM {}",
        ] {
            assert_eq!(
                rows(&ctx, &q.replace("{}", "u")).await,
                rows(&ctx, &q.replace("{}", "v")).await,
                "{q}"
            );
        }
    }

    #[tokio::test]
    async fn is_one_scan_to_the_planner_and_the_view_on_a_cluster() {
        let ctx = session().await;
        let plan = ctx
            .sql("SELECT product FROM u WHERE plan_year = 2023")
            .await
            .expect("plan")
            .into_unoptimized_plan();
        let unions = |p: &LogicalPlan| {
            let mut n = 0;
            p.apply_with_subqueries(|node| {
                if matches!(node, LogicalPlan::Union(_)) {
                    n += 1;
                }
                Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
            })
            .expect("walk");
            n
        };
        let optimized = ctx.state().optimize(&plan).expect("optimize");
        assert_eq!(unions(&optimized), 0, "{optimized}");
        let inlined = inline_for_cluster(plan).expect("inline");
        let optimized = ctx.state().optimize(&inlined).expect("optimize");
        assert_eq!(unions(&optimized), 1, "{optimized}");
    }

    #[test]
    fn members_must_agree_on_their_columns() {
        let other: Arc<dyn TableProvider> = Arc::new(
            MemTable::try_new(
                Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)])),
                vec![vec![]],
            )
            .expect("table"),
        );
        let first = table(&["童装"], &[2021]);
        let err =
            UnionTable::try_new(vec![first.clone(), other], first).expect_err("differing columns");
        assert!(err.to_string().contains("differ in their columns"), "{err}");
    }
}
