//! `/api/v1/queries`: the named queries of `queries/`, with typed parameters.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Required, Schema};
use zhijian_query::named;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};

/// The named queries with their parameters.
#[utoipa::path(get, path = "/api/v1/queries", tag = "sql",
    responses((status = 200, description = "Named queries: name, titles, description, typed parameters, URL and SQL", body = Object)))]
pub async fn list(State(app): State<Arc<AppState>>) -> Json<Value> {
    let queries: Vec<Value> = named::all()
        .into_iter()
        .map(|q| {
            json!({
                "name": q.name,
                "title_zh": q.title_zh,
                "title_en": q.title_en,
                "description": q.description,
                "params": q.params,
                "url": format!("{}/api/v1/queries/{}", app.base_url, q.name),
                "sql": q.sql,
            })
        })
        .collect();
    Json(json!({ "queries": queries }))
}

/// Runs a named query with its parameters (each query's own typed parameters are listed under
/// its own path in this document).
#[utoipa::path(get, path = "/api/v1/queries/{name}", tag = "sql",
    params(
        ("name" = String, Path, description = "Query name (see /api/v1/queries)"),
        ("_format" = Option<String>, Query, description = "json (default), ndjson, csv, parquet or arrow"),
        ("_limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "JSON only: rows at most (default 1000)"),
    ),
    responses(
        (status = 200, description = "Result, as from /api/v1/sql (with its `x-answered-by`)", content(
            (Object = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"), (Vec<u8> = "application/vnd.apache.arrow.stream"))),
        (status = 400, description = "A missing, mistyped or unknown parameter (named in the error)", body = ErrorBody),
        (status = 404, description = "No such query", body = ErrorBody),
        (status = 503, description = "Every query slot is busy", body = ErrorBody),
    ))]
pub async fn run(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = named::get(&name).map_err(|_| crate::error::ApiError::NotFound {
        path: format!("/api/v1/queries/{name}"),
    })?;
    let sql = q.render(&params)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = crate::sql::json_limit(&params)?;
    crate::sql::run(&app, sql, get("_format"), limit, &headers).await
}

fn schema_of(kind: &str) -> RefOr<Schema> {
    let b = ObjectBuilder::new();
    let b = match kind {
        "integer" => b
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        "number" => b.schema_type(Type::Number),
        "date" => b
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        _ => b.schema_type(Type::String),
    };
    RefOr::T(Schema::Object(b.build()))
}

/// Adds one path per named query, with its typed parameters, to the document (the generic
/// `/api/v1/queries/{name}` route answers them all).
pub fn document(api: &mut utoipa::openapi::OpenApi) {
    let Some(generic) = api
        .paths
        .paths
        .get("/api/v1/queries/{name}")
        .and_then(|item| item.get.clone())
    else {
        return;
    };
    for q in named::all() {
        let mut op = generic.clone();
        op.operation_id = Some(format!("query_{}", q.name));
        op.summary = Some(format!("{} / {}", q.title_zh, q.title_en));
        op.description = Some(q.description.clone());
        let mut params: Vec<RefOr<Parameter>> = op
            .parameters
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !matches!(p, RefOr::T(p) if p.name == "name"))
            .collect();
        for p in &q.params {
            params.push(RefOr::T(
                ParameterBuilder::new()
                    .name(&p.name)
                    .parameter_in(ParameterIn::Query)
                    .required(if p.required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(p.description.clone()))
                    .schema(Some(schema_of(&p.kind)))
                    .build(),
            ));
        }
        op.parameters = Some(params);
        api.paths.add_path_operation(
            format!("/api/v1/queries/{}", q.name),
            vec![utoipa::openapi::HttpMethod::Get],
            op,
        );
    }
}
