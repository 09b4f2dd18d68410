//! The web page: server-rendered HTML from templates compiled into the binary
//! (askama, auto-escaped), one small stylesheet, charts as SVG drawn here, no JavaScript
//! needed, no CDN. Chinese by default, English with `lang=en` (kept in every link). Pages:
//! search, results with facets, producer history, product, dataset catalog and dataset,
//! SQL console, usage; `sitemap.xml` and `robots.txt` for search engines.
//!
//! Here: the page chrome, language, charts, home, search, usage and the files for search
//! engines; `producers` a producer's history and a product's page; `datasets` the catalog
//! and each dataset's page; `sql` the console.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};
use zhijian_catalog::SPOT_CHECK_SCHEMA;
use zhijian_query::api::{self as q, RowsRequest};
use zhijian_query::{QueryError, SnapshotView};

use crate::AppState;
use crate::api::encode_component as enc;

mod datasets;
mod producers;
mod sql;

pub use datasets::ProfileCache;

type Params = Query<Vec<(String, String)>>;

/// The page language.
#[derive(Debug, Clone, Copy)]
pub struct Lang {
    /// English (otherwise Chinese).
    pub en: bool,
}

impl Lang {
    fn of(params: &[(String, String)]) -> Self {
        Self {
            en: params.iter().any(|(k, v)| k == "lang" && v == "en"),
        }
    }

    /// The text in this language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { zh }
    }

    /// `?lang=en` for a link without a query, or nothing.
    pub fn qs(&self) -> &'static str {
        if self.en { "?lang=en" } else { "" }
    }

    /// `&lang=en` for a link with a query, or nothing.
    pub fn amp(&self) -> &'static str {
        if self.en { "&lang=en" } else { "" }
    }
}

/// What every page has around its content.
#[derive(Debug)]
pub struct Chrome {
    lang: Lang,
    title: String,
    description: String,
    canonical: String,
    canonical_zh: String,
    canonical_en: String,
    toggle: String,
    jsonld: Option<String>,
}

/// `path?query` with `lang` left out, for canonical and language links.
fn without_lang(path: &str, params: &[(String, String)]) -> (String, String) {
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "lang")
        .cloned()
        .collect();
    let query = crate::api::encode_query(&kept);
    (path.to_owned(), query)
}

fn chrome(
    app: &AppState,
    lang: Lang,
    path: &str,
    params: &[(String, String)],
    title: String,
    description: String,
) -> Chrome {
    let (path, query) = without_lang(path, params);
    let zh = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let en = if query.is_empty() {
        format!("{path}?lang=en")
    } else {
        format!("{path}?{query}&lang=en")
    };
    let site = lang.t("质检开放数据", "Zhijian open data");
    Chrome {
        lang,
        title: if title.is_empty() {
            site.to_owned()
        } else {
            format!("{title} · {site}")
        },
        description,
        canonical: format!("{}{}", app.base_url, if lang.en { &en } else { &zh }),
        canonical_zh: format!("{}{zh}", app.base_url),
        canonical_en: format!("{}{en}", app.base_url),
        toggle: if lang.en { zh } else { en },
        jsonld: None,
    }
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message {
    c: Chrome,
    heading: String,
    text: String,
    q: String,
}

fn message(
    app: &AppState,
    lang: Lang,
    status: StatusCode,
    heading: &str,
    text: String,
) -> Response {
    let c = chrome(app, lang, "/", &[], heading.to_owned(), text.clone());
    render(
        status,
        &Message {
            c,
            heading: heading.to_owned(),
            text,
            q: String::new(),
        },
    )
}

/// A query error as a page: 400 for bad input, 404 for what is not there, 503 without data.
fn error_page(app: &AppState, lang: Lang, e: QueryError) -> Response {
    // The status comes from the server's one mapping of errors (`crate::error`).
    let e = crate::error::ApiError::from(e);
    let status = e.status();
    let heading = match (e.code(), status) {
        ("deadline_exceeded" | "resources_exhausted", _) => {
            lang.t("查询太大", "The query is too large")
        }
        (_, StatusCode::BAD_REQUEST) => lang.t("请求有误", "Bad request"),
        (_, StatusCode::NOT_FOUND) => lang.t("没有找到", "Not found"),
        (_, StatusCode::SERVICE_UNAVAILABLE) => lang.t("暂时无法回答", "Not available now"),
        _ => lang.t("服务器出错", "Server error"),
    };
    message(app, lang, status, heading, e.to_string())
}

/// Runs SQL the page built (never visitor text) and returns its rows.
async fn rows(view: &SnapshotView, sql: &str) -> Result<Vec<Map<String, Value>>, QueryError> {
    q::query_json(view, sql).await
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join("；"),
        other => other.to_string(),
    }
}

fn field(row: &Map<String, Value>, name: &str) -> String {
    row.get(name).map(text).unwrap_or_default()
}

/// The label of a code in this language, from a table of (code, 中文, English); an unknown
/// code is its own label.
fn label(lang: Lang, table: &[(&str, &str, &str)], code: &str) -> String {
    table
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or(code, |(_, zh, en)| lang.t(zh, en))
        .to_owned()
}

const RESULTS: &[(&str, &str, &str)] = &[("pass", "合格", "Pass"), ("fail", "不合格", "Fail")];

const LEVELS: &[(&str, &str, &str)] = &[
    ("national", "国家", "National"),
    ("provincial", "省级", "Provincial"),
    ("municipal", "市县级", "Municipal"),
    ("special", "专项", "Special"),
    ("ecommerce", "电商", "E-commerce"),
    ("joint", "国家-地方", "Joint"),
];

const FIELDS: &[(&str, &str, &str)] = &[
    ("enterprise", "企业", "Producer"),
    ("brand", "商标", "Brand"),
    ("product", "产品", "Product"),
    ("model_spec", "型号", "Model"),
    ("failed_item", "不合格项目", "Failed item"),
    ("inspection_agency", "承检机构", "Testing agency"),
    ("enterprise_province", "省份", "Province"),
    ("plan_year", "年度", "Year"),
    ("result", "结果", "Result"),
    ("check_level", "抽查级别", "Level"),
    ("words", "词", "Words"),
];

const MATCHES: &[(&str, &str, &str)] = &[
    ("exact", "完全一致", "exact"),
    ("prefix", "开头一致", "prefix"),
    ("contains", "包含", "contains"),
    ("pinyin", "拼音", "pinyin"),
    ("pinyin_within", "拼音", "pinyin"),
    ("initials", "首字母", "initials"),
    ("initials_within", "首字母", "initials"),
    ("fuzzy", "近似型号", "similar model"),
    ("alias", "俗称", "common name"),
    ("partial", "部分一致", "partial"),
    ("sounds_like", "读音相近", "sounds like"),
];

fn result_label(lang: Lang, v: &str) -> String {
    label(lang, RESULTS, v)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of rates (0–1): one row per label, with the figure and its note;
/// rates under 80 % are drawn as low.
fn bar_chart(title: &str, bars: &[(String, Option<f64>, String)]) -> String {
    bars_svg(title, bars, Some(0.8))
}

/// A horizontal bar chart of shares (0–1) with no rate judged low: how values distribute.
fn share_chart(title: &str, bars: &[(String, Option<f64>, String)]) -> String {
    bars_svg(title, bars, None)
}

fn bars_svg(title: &str, bars: &[(String, Option<f64>, String)], low: Option<f64>) -> String {
    let row = 26;
    let label_w = 130;
    let bar_w = 360;
    let height = row * bars.len().max(1) + 8;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {height}\" width=\"{}\" height=\"{height}\"><title>{}</title>",
        xml_escape(title),
        label_w + bar_w + 170,
        label_w + bar_w + 170,
        xml_escape(title)
    );
    for (i, (label, rate, note)) in bars.iter().enumerate() {
        let y = i * row + 4;
        let w = rate.map_or(0.0, |r| r.clamp(0.0, 1.0) * bar_w as f64);
        let class = if rate.zip(low).is_some_and(|(r, low)| r < low) {
            "bar low"
        } else {
            "bar"
        };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"{class}\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\"/><text x=\"{}\" y=\"{}\">{} {}</text>",
            y + 16,
            xml_escape(label),
            row - 8,
            label_w as f64 + w + 6.0,
            y + 16,
            percent(*rate),
            xml_escape(note)
        );
    }
    svg.push_str("</svg>");
    svg
}

// --- home ---------------------------------------------------------------------------------

struct Announcement {
    date: String,
    authority: String,
    product: String,
    batches: String,
    fails: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    c: Chrome,
    q: String,
    batches: u64,
    resources: usize,
    recent: Vec<Announcement>,
}

async fn home(State(app): State<Arc<AppState>>, Query(params): Params) -> Response {
    let lang = Lang::of(&params);
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    // Computed once per snapshot with the search dictionary.
    let recent = match view.indexes().await {
        Ok(i) => i.recent.clone(),
        Err(e) => return error_page(&app, lang, e),
    };
    let batches = view
        .manifest
        .resources
        .values()
        .filter(|r| r.schema == SPOT_CHECK_SCHEMA)
        .map(|r| r.rows)
        .sum();
    let c = chrome(
        &app,
        lang,
        "/",
        &params,
        String::new(),
        lang.t(
            "查询产品质量监督抽查结果：哪些产品、品牌、企业抽查不合格，合格率多少。",
            "Search product-quality spot-check results: which products, brands and companies failed, and pass rates.",
        )
        .to_owned(),
    );
    render(
        StatusCode::OK,
        &Home {
            c,
            q: String::new(),
            batches,
            resources: view.manifest.resources.len(),
            recent: recent
                .iter()
                .map(|r| Announcement {
                    date: field(r, "announced_on"),
                    authority: field(r, "authority"),
                    product: field(r, "product"),
                    batches: field(r, "batches"),
                    fails: field(r, "fails"),
                })
                .collect(),
        },
    )
}

// --- search -------------------------------------------------------------------------------

struct MatchView {
    field: String,
    value: String,
    kind: String,
}

struct FacetValue {
    label: String,
    count: u64,
    href: String,
}

struct FacetView {
    title: String,
    values: Vec<FacetValue>,
}

struct Chip {
    label: String,
    href: String,
}

struct RowView {
    date: String,
    product: String,
    enterprise: String,
    enterprise_key: Option<String>,
    province: String,
    brand: String,
    model: String,
    result: String,
    result_class: String,
    failed: String,
    level: String,
    authority: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    count: u64,
    matches: Vec<MatchView>,
    active: Vec<Chip>,
    understood: Vec<Chip>,
    suggestions: Vec<Chip>,
    facets: Vec<FacetView>,
    rows: Vec<RowView>,
    prev: Option<String>,
    next: Option<String>,
}

const PAGE_ROWS: usize = 20;

fn search_href(params: &[(String, String)]) -> String {
    format!("/search?{}", crate::api::encode_query(params))
}

fn row_view(lang: Lang, r: &Map<String, Value>, key: Option<String>) -> RowView {
    let result = field(r, "result");
    RowView {
        date: field(r, "announced_on"),
        product: field(r, "product"),
        enterprise: field(r, "enterprise"),
        enterprise_key: key,
        province: field(r, "enterprise_province"),
        brand: field(r, "brand"),
        model: field(r, "model_spec"),
        result: result_label(lang, &result),
        result_class: result.clone(),
        failed: field(r, "failed_items"),
        level: label(lang, LEVELS, &field(r, "check_level")),
        authority: field(r, "authority"),
    }
}

async fn search_page(State(app): State<Arc<AppState>>, Query(params): Params) -> Response {
    let lang = Lang::of(&params);
    let q_text = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if q_text.is_empty() {
        return message(
            &app,
            lang,
            StatusCode::OK,
            lang.t("搜索", "Search"),
            lang.t(
                "请输入产品、企业、品牌、型号或不合格项目。",
                "Type a product, company, brand, model or failed item.",
            )
            .to_owned(),
        );
    }
    let page: usize = params
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|p| (1..=500).contains(p))
        .unwrap_or(1);
    // The rows grammar's filters, as the API takes them.
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "q" | "lang" | "page"))
        .cloned()
        .collect();
    let req = match RowsRequest::parse(&app.catalog, SPOT_CHECK_SCHEMA, &filters, &[]) {
        Ok(r) => r,
        Err(e) => return error_page(&app, lang, e),
    };
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let indexes = match view.indexes().await {
        Ok(i) => i,
        Err(e) => return error_page(&app, lang, e),
    };
    let found = zhijian_query::search::search(
        &view,
        &app.catalog,
        &indexes.search,
        &q_text,
        &params,
        &req,
        PAGE_ROWS,
        (page - 1) * PAGE_ROWS,
    )
    .await;
    let found = match found {
        Ok(f) => f.value,
        Err(e) => return error_page(&app, lang, e),
    };
    let base: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "page")
        .cloned()
        .collect();
    let count = found.count;
    let matches = found
        .matches
        .iter()
        .take(6)
        .map(|m| MatchView {
            field: label(lang, FIELDS, &m.field),
            value: m.value.clone(),
            kind: label(lang, MATCHES, &m.kind),
        })
        .collect();
    let active = filters
        .iter()
        .map(|(k, v)| Chip {
            label: format!(
                "{}: {}",
                label(lang, FIELDS, k),
                if k == "result" {
                    result_label(lang, v)
                } else {
                    v.clone()
                }
            ),
            href: search_href(
                &base
                    .iter()
                    .filter(|(bk, bv)| !(bk == k && bv == v))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    let understood = understood_chips(lang, &found.understood.parts, &base);
    let suggestions = found
        .suggestions
        .iter()
        .map(|s| Chip {
            label: format!("{} ({})", s.q, s.batches),
            href: search_href(&with_q(&base, &s.q)),
        })
        .collect();
    let facets = zhijian_query::search::SEARCH_FACETS
        .iter()
        .filter(|f| !filters.iter().any(|(k, _)| k == *f))
        .filter_map(|f| {
            let values = &found.facets.get(*f)?.values;
            Some(FacetView {
                title: label(lang, FIELDS, f),
                values: values
                    .iter()
                    .filter(|v| !v.value.is_null())
                    .map(|v| {
                        let value = text(&v.value);
                        let mut with = base.clone();
                        with.push(((*f).to_owned(), value.clone()));
                        FacetValue {
                            label: if *f == "result" {
                                result_label(lang, &value)
                            } else {
                                value
                            },
                            count: v.count,
                            href: search_href(&with),
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    let rows = found
        .rows
        .iter()
        .map(|r| {
            let key = indexes
                .search
                .enterprise_key_of(
                    &field(r, "enterprise"),
                    r.get("enterprise_uscc").and_then(Value::as_str),
                )
                .map(str::to_owned);
            row_view(lang, r, key)
        })
        .collect();
    let page_href = |n: usize| {
        let mut with = base.clone();
        with.push(("page".into(), n.to_string()));
        search_href(&with)
    };
    let prev = (page > 1).then(|| page_href(page - 1));
    let next = ((page * PAGE_ROWS) < count as usize && page < 500).then(|| page_href(page + 1));
    let c = chrome(
        &app,
        lang,
        "/search",
        &params,
        format!("{q_text} {}", lang.t("抽查结果", "spot checks")),
        format!(
            "{} {count} {}",
            q_text,
            lang.t("个抽查批次", "sampled batches")
        ),
    );
    render(
        StatusCode::OK,
        &SearchPage {
            c,
            q: q_text,
            count,
            matches,
            active,
            understood,
            suggestions,
            facets,
            rows,
            prev,
            next,
        },
    )
}

/// The search's parameters with another `q`.
fn with_q(base: &[(String, String)], q: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base.iter().filter(|(k, _)| k != "q").cloned().collect();
    out.insert(0, ("q".into(), q.to_owned()));
    out
}

/// How the query was read, as chips that search again without their part: shown when the
/// query was read as more than its words (a product, a filter, filler set aside).
fn understood_chips(
    lang: Lang,
    parts: &[zhijian_query::answers::QueryPart],
    base: &[(String, String)],
) -> Vec<Chip> {
    let read = parts.iter().any(|p| p.role != "words" || parts.len() > 1);
    if !read {
        return Vec::new();
    }
    parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role != "ignored")
        .map(|(i, p)| {
            let value = p.value.clone().unwrap_or_else(|| p.text.clone());
            let shown = match p.role.as_str() {
                "result" => result_label(lang, &value),
                "check_level" => label(lang, LEVELS, &value),
                _ => value,
            };
            let rest: Vec<&str> = parts
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.role != "ignored")
                .map(|(_, o)| o.text.as_str())
                .collect();
            Chip {
                label: format!("{}: {shown}", label(lang, FIELDS, &p.role)),
                href: search_href(&with_q(base, &rest.join(" "))),
            }
        })
        .collect()
}

// --- usage ---------------------------------------------------------------------------------

struct UsageTable {
    title: String,
    rows: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    c: Chrome,
    tables: Vec<UsageTable>,
}

async fn stats_page(State(app): State<Arc<AppState>>, Query(params): Params) -> Response {
    use crate::usage::{Kind, totals};
    let lang = Lang::of(&params);
    let days = app.usage.days(30);
    let tables = Kind::ALL
        .iter()
        .map(|&kind| {
            let (zh, en) = match kind {
                Kind::Search => ("搜索词", "Search terms"),
                Kind::Page => ("页面浏览", "Page views"),
                Kind::Download => ("下载（数据表.格式）", "Downloads (table.format)"),
                Kind::Api => ("API 调用", "API calls"),
                Kind::Sql => ("SQL 查询", "SQL queries"),
            };
            UsageTable {
                title: lang.t(zh, en).to_owned(),
                rows: totals(&days, kind, 30),
            }
        })
        .collect();
    let c = chrome(
        &app,
        lang,
        "/stats",
        &params,
        lang.t("使用统计", "Usage").to_owned(),
        lang.t(
            "搜索词、页面浏览、下载和 API 调用的每日计数。",
            "Daily counts of searches, page views, downloads and API calls.",
        )
        .to_owned(),
    );
    render(StatusCode::OK, &StatsPage { c, tables })
}

// --- for search engines -------------------------------------------------------------------

async fn robots(State(app): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nAllow: /\nDisallow: /sql\nDisallow: /api/v1/sql\nSitemap: {}/sitemap.xml\n",
            app.base_url
        ),
    )
        .into_response()
}

/// Pages a sitemap lists at most (the protocol's limit per file).
const SITEMAP_MAX: usize = 50_000;

async fn sitemap(State(app): State<Arc<AppState>>) -> Response {
    let base = &app.base_url;
    let mut paths: Vec<String> = vec!["/".into(), "/datasets".into()];
    paths.extend(
        app.catalog
            .resources
            .iter()
            .map(|r| format!("/datasets/{}", r.id)),
    );
    if let Ok(view) = app.warehouse.current().await {
        if let Ok(products) = rows(
            &view,
            "SELECT DISTINCT product FROM spot_checks WHERE product IS NOT NULL ORDER BY product",
        )
        .await
        {
            paths.extend(
                products
                    .iter()
                    .map(|r| format!("/products/{}", enc(&field(r, "product")))),
            );
        }
        if let Ok(indexes) = view.indexes().await {
            let room = SITEMAP_MAX.saturating_sub(paths.len());
            paths.extend(
                indexes
                    .search
                    .most_checked(room)
                    .into_iter()
                    .map(|key| format!("/enterprises/{}", enc(key))),
            );
        }
    }
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in paths.iter().take(SITEMAP_MAX) {
        let _ = writeln!(
            xml,
            "<url><loc>{}</loc></url>",
            xml_escape(&format!("{base}{p}"))
        );
    }
    xml.push_str("</urlset>\n");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/site.css"),
    )
        .into_response()
}

/// The pages' routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search_page))
        .route("/enterprises/{key}", get(producers::enterprise_page))
        .route("/products/{name}", get(producers::product_page))
        .route("/datasets", get(datasets::datasets_page))
        .route("/datasets/{id}", get(datasets::dataset_page))
        .route("/sql", get(sql::sql_page))
        .route("/stats", get(stats_page))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap))
        .route("/assets/site.css", get(stylesheet))
}
