//! The dataset catalog and each dataset's page: what a researcher checks before downloading
//! (a sample of rows, the fields with their types and descriptions, how the key categorical
//! fields distribute, the coverage in time) and the downloads with their checksums.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use zhijian_catalog::{FieldType, LINEAGE_FIELDS, Resource, TableSchema};
use zhijian_query::{QueryError, SnapshotView};

use super::{Chrome, Lang, Params, chrome, error_page, render, rows, share_chart, text};
use crate::AppState;

/// Rows shown as a sample, and columns of it.
const SAMPLE_ROWS: usize = 10;
const SAMPLE_COLUMNS: usize = 8;
/// Categorical fields charted, and values per chart.
const CHARTS: usize = 3;
const CHART_VALUES: usize = 8;

/// Fields whose distribution tells what a register holds, in the order they are preferred
/// when a schema declares no enum.
const CATEGORICAL: &[&str] = &[
    "status",
    "product",
    "product_category",
    "equipment_type",
    "country",
    "origin_country",
    "port",
    "sector",
    "kind",
    "scheme",
    "role",
    "action",
    "disease",
    "instrument",
    "province_code",
];

/// What a dataset page shows of the data itself, computed once per snapshot, resource and
/// language (a snapshot is immutable, and the queries read whole tables).
#[derive(Clone)]
struct Profile {
    coverage: String,
    columns: Vec<String>,
    sample: Vec<Vec<String>>,
    distributions: Vec<(String, String)>,
}

/// Profiles of the current snapshot's dataset pages; those of an older snapshot are dropped
/// when the first page of a newer one is computed.
#[derive(Default)]
pub struct ProfileCache(Mutex<HashMap<(String, String, bool), Profile>>);

impl std::fmt::Debug for ProfileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileCache")
            .field("entries", &self.lock().len())
            .finish()
    }
}

impl ProfileCache {
    async fn get(
        &self,
        view: &SnapshotView,
        r: &Resource,
        schema: &TableSchema,
        lang: Lang,
    ) -> Result<Profile, QueryError> {
        let key = (view.id.clone(), r.id.clone(), lang.en);
        if let Some(p) = self.lock().get(&key) {
            return Ok(p.clone());
        }
        let profile = Profile::of(view, r, schema, lang).await?;
        let mut cache = self.lock();
        cache.retain(|(snapshot, _, _), _| *snapshot == view.id);
        cache.insert(key, profile.clone());
        Ok(profile)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, bool), Profile>> {
        // A panic while holding the lock leaves a map of complete entries: keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A quoted SQL identifier (names come from the catalog, never from the visitor).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Profile {
    async fn of(
        view: &SnapshotView,
        r: &Resource,
        schema: &TableSchema,
        lang: Lang,
    ) -> Result<Self, QueryError> {
        let table = ident(&r.table);
        let shown: Vec<&zhijian_catalog::Field> = schema
            .fields
            .iter()
            .filter(|f| !LINEAGE_FIELDS.contains(&f.name.as_str()) && f.name != "record_id")
            .take(SAMPLE_COLUMNS)
            .collect();
        let list = shown
            .iter()
            .map(|f| ident(&f.name))
            .collect::<Vec<_>>()
            .join(", ");
        let sample = rows(
            view,
            &format!("SELECT {list} FROM {table} LIMIT {SAMPLE_ROWS}"),
        )
        .await?
        .iter()
        .map(|row| {
            shown
                .iter()
                .map(|f| row.get(&f.name).map(text).unwrap_or_default())
                .collect()
        })
        .collect();

        let mut distributions = Vec::new();
        for f in categorical(schema) {
            let column = ident(&f.name);
            let counts = rows(
                view,
                &format!(
                    "SELECT {column} AS value, count(*) AS n, sum(count(*)) OVER () AS total \
                     FROM {table} WHERE {column} IS NOT NULL GROUP BY {column} \
                     ORDER BY n DESC, value LIMIT {CHART_VALUES}"
                ),
            )
            .await?;
            if counts.len() < 2 {
                continue;
            }
            let bars: Vec<(String, Option<f64>, String)> = counts
                .iter()
                .map(|c| {
                    let n = c
                        .get("n")
                        .and_then(serde_json::Value::as_f64)
                        .unwrap_or(0.0);
                    let total = c
                        .get("total")
                        .and_then(serde_json::Value::as_f64)
                        .unwrap_or(0.0);
                    let label: String = c
                        .get("value")
                        .map(text)
                        .unwrap_or_default()
                        .chars()
                        .take(9)
                        .collect();
                    (label, (total > 0.0).then(|| n / total), format!("({n})"))
                })
                .collect();
            let title = format!(
                "{} {}",
                lang.t(&f.title, &f.title_en),
                lang.t("取值分布", "distribution")
            );
            let chart = share_chart(&title, &bars);
            distributions.push((title, chart));
            if distributions.len() == CHARTS {
                break;
            }
        }

        let declared = format!(
            "{}–{}",
            r.temporal_start,
            r.temporal_end
                .map_or_else(|| lang.t("至今", "ongoing").to_owned(), |y| y.to_string())
        );
        let coverage = match time_field(schema) {
            Some(f) => {
                let column = ident(&f.name);
                let span = rows(
                    view,
                    &format!("SELECT min({column}) AS lo, max({column}) AS hi FROM {table}"),
                )
                .await?;
                let get = |k: &str| {
                    span.first()
                        .and_then(|row| row.get(k))
                        .map(text)
                        .unwrap_or_default()
                };
                let (lo, hi) = (get("lo"), get("hi"));
                if lo.is_empty() {
                    declared
                } else {
                    format!(
                        "{declared}{}{}{}{lo} – {hi}{}",
                        lang.t("（", " ("),
                        lang.t(&f.title, &f.title_en),
                        lang.t("：", ": "),
                        lang.t("）", ")")
                    )
                }
            }
            None => declared,
        };
        Ok(Self {
            coverage,
            columns: shown
                .iter()
                .map(|f| lang.t(&f.title, &f.title_en).to_owned())
                .collect(),
            sample,
            distributions,
        })
    }
}

/// The fields worth a distribution chart: those with a closed set of values first, then the
/// usual categorical names.
fn categorical(schema: &TableSchema) -> Vec<&zhijian_catalog::Field> {
    let text = |f: &&zhijian_catalog::Field| f.field_type == FieldType::String;
    let mut out: Vec<&zhijian_catalog::Field> = schema
        .fields
        .iter()
        .filter(text)
        .filter(|f| f.constraints.enum_values.is_some() && f.name != "province")
        .collect();
    for name in CATEGORICAL {
        if let Some(f) = schema.field(name).filter(text)
            && !out.iter().any(|o| o.name == f.name)
        {
            out.push(f);
        }
    }
    out
}

/// The field that dates a row: the year of a statistic, else its first date.
fn time_field(schema: &TableSchema) -> Option<&zhijian_catalog::Field> {
    ["year", "plan_year"]
        .iter()
        .find_map(|n| schema.field(n))
        .or_else(|| {
            schema
                .fields
                .iter()
                .find(|f| f.field_type == FieldType::Date)
        })
}

struct ResourceLink {
    id: String,
    title: String,
    rows: String,
}

struct SubView {
    title: String,
    resources: Vec<ResourceLink>,
}

struct CategoryView {
    title: String,
    subs: Vec<SubView>,
}

#[derive(Template)]
#[template(path = "datasets.html")]
struct DatasetsPage {
    c: Chrome,
    categories: Vec<CategoryView>,
    subcategories: usize,
    resources: usize,
}

pub(super) async fn datasets_page(
    State(app): State<Arc<AppState>>,
    Query(params): Params,
) -> Response {
    let lang = Lang::of(&params);
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let cat = &app.catalog;
    let categories = cat
        .categories
        .iter()
        .map(|c| CategoryView {
            title: format!("{} {}", c.id, lang.t(&c.title_zh, &c.title_en)),
            subs: cat
                .subcategories_of(&c.id)
                .map(|s| SubView {
                    title: format!("{} {}", s.id, lang.t(&s.title_zh, &s.title_en)),
                    resources: cat
                        .resources_of(&s.id)
                        .map(|r| ResourceLink {
                            id: r.id.clone(),
                            title: format!("{} {}", r.id, lang.t(&r.title_zh, &r.title_en)),
                            rows: view
                                .resource(&r.id)
                                .map(|e| e.rows.to_string())
                                .unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let c = chrome(
        &app,
        lang,
        "/datasets",
        &params,
        lang.t("数据集目录", "Dataset catalog").to_owned(),
        lang.t(
            "产品质量监督数据：6 个大类、24 个小类、108 个数据集，可下载 Parquet、CSV、XLSX。",
            "Product-quality supervision data: 6 categories, 24 subcategories, 108 datasets as Parquet, CSV and XLSX.",
        )
        .to_owned(),
    );
    render(
        StatusCode::OK,
        &DatasetsPage {
            c,
            categories,
            subcategories: cat.subcategories.len(),
            resources: cat.resources.len(),
        },
    )
}

struct DownloadView {
    format: String,
    url: String,
    sha256: String,
}

struct FieldView {
    name: String,
    title: String,
    kind: String,
    description: String,
}

#[derive(Template)]
#[template(path = "dataset.html")]
struct DatasetPage {
    c: Chrome,
    id: String,
    title: String,
    description: String,
    rows: u64,
    publisher: String,
    snapshot: String,
    downloads: Vec<DownloadView>,
    citation: String,
    fields: Vec<FieldView>,
    coverage: String,
    sample_columns: Vec<String>,
    sample: Vec<Vec<String>>,
    distributions: Vec<(String, String)>,
}

pub(super) async fn dataset_page(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let lang = Lang::of(&params);
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let (Ok(r), Some(entry)) = (app.catalog.resource(&id), view.resource(&id)) else {
        return error_page(&app, lang, QueryError::UnknownResource { id });
    };
    let Ok(schema) = app.catalog.schema_of(r) else {
        return error_page(&app, lang, QueryError::UnknownResource { id });
    };
    let profile = match app.profiles.get(&view, r, schema, lang).await {
        Ok(p) => p,
        Err(e) => return error_page(&app, lang, e),
    };
    let mut downloads = Vec::new();
    if let Some(f) = entry.files.first() {
        downloads.push(DownloadView {
            format: "Parquet".into(),
            url: app.download_url(&view.id, &r.table, "parquet"),
            sha256: f.sha256.clone(),
        });
    }
    for (fmt, f) in &entry.downloads {
        downloads.push(DownloadView {
            format: fmt.to_uppercase(),
            url: app.download_url(&view.id, &r.table, fmt),
            sha256: f.sha256.clone(),
        });
    }
    let page_url = format!("{}/datasets/{}", app.base_url, r.id);
    let citation = crate::api::citation(&app.catalog, r, &view, &page_url);
    let title = lang.t(&r.title_zh, &r.title_en).to_owned();
    let description = lang.t(&r.description_zh, &r.description_en).to_owned();
    let mut c = chrome(
        &app,
        lang,
        &format!("/datasets/{}", r.id),
        &params,
        title.clone(),
        description.clone(),
    );
    // schema.org Dataset for search engines; serde_json writes it, and `<` is escaped so the
    // text cannot close the script element.
    let ld = json!({
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": r.title_zh,
        "alternateName": r.title_en,
        "description": format!("{} {}", r.description_zh, r.description_en),
        "identifier": r.id,
        "url": page_url,
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "keywords": r.keywords_zh.iter().chain(&r.keywords_en).collect::<Vec<_>>(),
        "inLanguage": ["zh-CN", "en"],
        "version": view.id,
        "creator": {"@type": "Organization", "name": r.publisher_zh},
        "publisher": {"@type": "Organization", "name": app.catalog.info.publisher_zh},
        "temporalCoverage": format!("{}/{}", r.temporal_start, r.temporal_end.map(|y| y.to_string()).unwrap_or_else(|| "..".into())),
        "distribution": downloads.iter().map(|d| json!({
            "@type": "DataDownload",
            "encodingFormat": match d.format.as_str() { "Parquet" => "application/vnd.apache.parquet", "CSV" => "text/csv", _ => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
            "contentUrl": d.url,
        })).collect::<Vec<_>>(),
    });
    c.jsonld = Some(ld.to_string().replace('<', "\\u003c"));
    render(
        StatusCode::OK,
        &DatasetPage {
            c,
            id: r.id.clone(),
            title,
            description,
            rows: entry.rows,
            publisher: lang.t(&r.publisher_zh, &r.publisher_en).to_owned(),
            snapshot: view.id.clone(),
            downloads,
            citation: text(&citation[if lang.en { "text_en" } else { "text_zh" }]),
            fields: schema
                .fields
                .iter()
                .map(|f| FieldView {
                    name: f.name.clone(),
                    title: lang.t(&f.title, &f.title_en).to_owned(),
                    kind: f.field_type.as_str().to_owned(),
                    description: lang.t(&f.description, &f.description_en).to_owned(),
                })
                .collect(),
            coverage: profile.coverage,
            sample_columns: profile.columns,
            sample: profile.sample,
            distributions: profile.distributions,
        },
    )
}
