//! The SQL console (`/sql`): a form on the guarded SQL endpoint, its result as a table and a
//! CSV link.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Chrome, Lang, Params, chrome, render, text};
use crate::AppState;

#[derive(Template)]
#[template(path = "sql.html")]
struct SqlPage {
    c: Chrome,
    sql: String,
    error: Option<String>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    truncated: bool,
    csv: String,
    examples: Vec<String>,
}

const SQL_EXAMPLES: &[&str] = &[
    "SELECT plan_year, count(*) AS batches, sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails FROM spot_checks WHERE publication_scope = 'full' GROUP BY plan_year ORDER BY plan_year",
    "SELECT product, count(*) AS fails FROM spot_checks WHERE result = 'fail' GROUP BY product ORDER BY fails DESC LIMIT 10",
    "SELECT enterprise, count(*) AS fails FROM spot_checks WHERE result = 'fail' GROUP BY enterprise ORDER BY fails DESC LIMIT 10",
];

pub(super) async fn sql_page(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of(&params);
    let sql = params
        .iter()
        .find(|(k, _)| k == "sql")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut page = SqlPage {
        c: chrome(
            &app,
            lang,
            "/sql",
            &params,
            lang.t("SQL 查询", "SQL console").to_owned(),
            lang.t(
                "用只读 SQL 查询全部数据表。",
                "Query every table with read-only SQL.",
            )
            .to_owned(),
        ),
        sql: sql.clone(),
        error: None,
        columns: Vec::new(),
        rows: Vec::new(),
        truncated: false,
        csv: format!(
            "/api/v1/sql?{}",
            crate::api::encode_query(&[
                ("sql".into(), sql.clone()),
                ("_format".into(), "csv".into()),
                ("_bom".into(), "true".into()),
            ])
        ),
        examples: SQL_EXAMPLES.iter().map(|s| (*s).to_owned()).collect(),
    };
    if sql.trim().is_empty() {
        return render(StatusCode::OK, &page);
    }
    // The same guarded path as /api/v1/sql, JSON capped at 100 rows.
    let answer = crate::sql::run(&app, sql, Some("json".into()), Some(100), &headers).await;
    let (status, body) = match answer {
        Ok(response) => {
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
                .await
                .unwrap_or_default();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
        Err(e) => {
            let response = e.into_response();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
                .await
                .unwrap_or_default();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    if status.is_success() {
        page.columns = body["columns"]
            .as_array()
            .map(|c| c.iter().map(|c| text(&c["name"])).collect())
            .unwrap_or_default();
        page.rows = body["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| page.columns.iter().map(|c| text(&r[c])).collect())
                    .collect()
            })
            .unwrap_or_default();
        page.truncated = body["truncated"].as_bool().unwrap_or(false);
        render(StatusCode::OK, &page)
    } else {
        let err = &body["error"];
        let mut message = text(&err["message"]);
        if let Some(p) = err.get("position").filter(|p| !p.is_null()) {
            let _ = write!(
                message,
                " ({} {}, {} {})",
                lang.t("行", "line"),
                p["line"],
                lang.t("列", "column"),
                p["column"]
            );
        }
        if let Some(s) = err["suggestions"].as_array().filter(|s| !s.is_empty()) {
            let _ = write!(
                message,
                "\n{} {}",
                lang.t("是否想写：", "Did you mean:"),
                s.iter().map(text).collect::<Vec<_>>().join(", ")
            );
        }
        page.error = Some(message);
        render(status, &page)
    }
}
