//! The session over the current snapshot, and the guard in front of it.

use datafusion::dataframe::DataFrame;
use datafusion::execution::context::{SQLOptions, SessionContext};
use std::path::Path;
use zhijian_catalog::Catalog;

use crate::warehouse::{current_id, open_snapshot};

use crate::error::{QueryError, Result};

/// Longest SQL text accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 64 * 1024;
/// Deepest parenthesis nesting accepted (deep expressions overflow the planner's stack).
pub const MAX_NESTING: usize = 64;

/// The snapshot a session reads.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its id.
    pub id: String,
    /// The tables registered, by name.
    pub tables: Vec<String>,
}

/// Opens a session over the warehouse's current snapshot: one table per resource, and the
/// `spot_checks` view.
pub async fn open(warehouse: &Path) -> Result<(SessionContext, Snapshot)> {
    let id = current_id(warehouse).ok_or_else(|| QueryError::NoSnapshot {
        warehouse: warehouse.to_path_buf(),
    })?;
    let catalog = Catalog::builtin().map_err(|e| QueryError::Manifest {
        path: warehouse.to_path_buf(),
        problem: format!("the built-in catalog: {e}"),
    })?;
    let view = open_snapshot(warehouse, &catalog, &id).await?;
    let tables = view.tables();
    Ok((view.ctx, Snapshot { id, tables }))
}

/// Plans SQL under the read-only guard: SELECT, WITH and EXPLAIN only (no DDL, DML, COPY,
/// SET or other statements), bounded size and nesting.
pub async fn guarded_sql(ctx: &SessionContext, sql: &str) -> Result<DataFrame> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(QueryError::Refused {
            reason: format!(
                "the SQL text is {} bytes; at most {MAX_SQL_BYTES} are accepted",
                sql.len()
            ),
        });
    }
    let mut depth = 0usize;
    let mut max = 0usize;
    for c in sql.chars() {
        match c {
            '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_NESTING {
        return Err(QueryError::Refused {
            reason: format!("parentheses nest {max} deep; at most {MAX_NESTING} are accepted"),
        });
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    Ok(ctx.sql_with_options(sql, options).await?)
}
