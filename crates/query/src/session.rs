//! The session over the current snapshot, and the guard in front of it.

use datafusion::dataframe::DataFrame;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::prelude::ParquetReadOptions;
use std::path::{Path, PathBuf};

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

fn manifest_err(path: &Path, problem: impl ToString) -> QueryError {
    QueryError::Manifest {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Opens a session over the warehouse's current snapshot: one table per resource, and the
/// `spot_checks` view.
pub async fn open(warehouse: &Path) -> Result<(SessionContext, Snapshot)> {
    let pointer = warehouse.join("CURRENT");
    let id = match std::fs::read_to_string(&pointer) {
        Ok(id) => id.trim().to_owned(),
        Err(_) => {
            return Err(QueryError::NoSnapshot {
                warehouse: warehouse.to_path_buf(),
            });
        }
    };
    let path: PathBuf = warehouse.join("snapshots").join(format!("{id}.json"));
    let text = std::fs::read(&path).map_err(|e| manifest_err(&path, e))?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| manifest_err(&path, e))?;
    let mut config = SessionConfig::new().with_information_schema(true);
    // Recursive CTEs can run forever (apache/datafusion#19427): off.
    config.options_mut().execution.enable_recursive_ctes = false;
    let ctx = SessionContext::new_with_config(config);
    let mut tables = Vec::new();
    let mut spot_checks: Option<DataFrame> = None;
    let resources = manifest["resources"]
        .as_object()
        .ok_or_else(|| manifest_err(&path, "no resources"))?;
    for (rid, r) in resources {
        let table = r["table"]
            .as_str()
            .ok_or_else(|| manifest_err(&path, format!("{rid}: no table")))?;
        let file = r["files"][0]["path"]
            .as_str()
            .ok_or_else(|| manifest_err(&path, format!("{rid}: no file")))?;
        let file = warehouse.join(file);
        ctx.register_parquet(
            table,
            file.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await?;
        tables.push(table.to_owned());
        if r["schema"] == "spot_checks" {
            let df = ctx.table(table).await?;
            spot_checks = Some(match spot_checks {
                Some(all) => all.union(df)?,
                None => df,
            });
        }
    }
    if let Some(all) = spot_checks {
        ctx.register_table("spot_checks", all.into_view())?;
        tables.push("spot_checks".into());
    }
    tables.sort();
    Ok((ctx, Snapshot { id, tables }))
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
