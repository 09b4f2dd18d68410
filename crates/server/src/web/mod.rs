//! The web page (DESIGN §8): server-rendered HTML from templates compiled into the binary
//! (askama, auto-escaped), one small stylesheet, charts as SVG drawn here, no JavaScript
//! needed, no CDN. Chinese by default, English with `lang=en` (kept in every link). Pages:
//! search, results with facets, producer history, product, dataset catalog and dataset,
//! SQL console, usage; `sitemap.xml` and `robots.txt` for search engines.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};
use zhijian_catalog::SPOT_CHECK_SCHEMA;
use zhijian_query::api::{self as q, RowsRequest};
use zhijian_query::{QueryError, SnapshotView};

use crate::AppState;
use crate::api::encode_component as enc;

mod datasets;

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
    let (status, heading) = match &e {
        QueryError::BadParameter { .. }
        | QueryError::Invalid { .. }
        | QueryError::Refused { .. } => {
            (StatusCode::BAD_REQUEST, lang.t("请求有误", "Bad request"))
        }
        QueryError::UnknownResource { .. }
        | QueryError::UnknownSnapshot { .. }
        | QueryError::UnknownEnterprise { .. } => {
            (StatusCode::NOT_FOUND, lang.t("没有找到", "Not found"))
        }
        QueryError::NoSnapshot { .. } | QueryError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            lang.t("暂时无法回答", "Not available now"),
        ),
        QueryError::Deadline { .. } | QueryError::ResourcesExhausted { .. } => (
            StatusCode::BAD_REQUEST,
            lang.t("查询太大", "The query is too large"),
        ),
        QueryError::Manifest { .. }
        | QueryError::Data { .. }
        | QueryError::DataFusion(_)
        | QueryError::Output(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            lang.t("服务器出错", "Server error"),
        ),
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
        Ok(f) => f,
        Err(e) => return error_page(&app, lang, e),
    };
    let base: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "page")
        .cloned()
        .collect();
    let count = found["count"].as_u64().unwrap_or(0);
    let matches = found["matches"]
        .as_array()
        .map(|m| {
            m.iter()
                .take(6)
                .map(|m| MatchView {
                    field: label(lang, FIELDS, m["field"].as_str().unwrap_or("")),
                    value: text(&m["value"]),
                    kind: label(lang, MATCHES, m["match"].as_str().unwrap_or("")),
                })
                .collect()
        })
        .unwrap_or_default();
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
    let facets = zhijian_query::search::SEARCH_FACETS
        .iter()
        .filter(|f| !filters.iter().any(|(k, _)| k == *f))
        .filter_map(|f| {
            let values = found["facets"][*f]["values"].as_array()?;
            Some(FacetView {
                title: label(lang, FIELDS, f),
                values: values
                    .iter()
                    .filter(|v| !v["value"].is_null())
                    .map(|v| {
                        let value = text(&v["value"]);
                        let mut with = base.clone();
                        with.push(((*f).to_owned(), value.clone()));
                        FacetValue {
                            label: if *f == "result" {
                                result_label(lang, &value)
                            } else {
                                value
                            },
                            count: v["count"].as_u64().unwrap_or(0),
                            href: search_href(&with),
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    let rows = found["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(Value::as_object)
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
                .collect()
        })
        .unwrap_or_default();
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
            facets,
            rows,
            prev,
            next,
        },
    )
}

// --- producer -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "enterprise.html")]
struct EnterprisePage {
    c: Chrome,
    name: String,
    uscc: Option<String>,
    names: Vec<String>,
    rows: u64,
    pass_rate: String,
    fail_only: u64,
    provinces: String,
    chart: String,
    items: Vec<(String, u64)>,
    history: Vec<RowView>,
    export: String,
}

async fn enterprise_page(
    State(app): State<Arc<AppState>>,
    Path(key): Path<String>,
    Query(params): Params,
) -> Response {
    let lang = Lang::of(&params);
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let indexes = match view.indexes().await {
        Ok(i) => i,
        Err(e) => return error_page(&app, lang, e),
    };
    let Some(e) = indexes.search.enterprise(&key) else {
        return error_page(&app, lang, QueryError::UnknownEnterprise { key });
    };
    let out = match zhijian_query::search::enterprise_history(&view, &e, 500).await {
        Ok(o) => o,
        Err(err) => return error_page(&app, lang, err),
    };
    let rate = &out["pass_rate"];
    let pass_rate = match rate["pass_rate"].as_f64() {
        Some(r) => format!(
            "{} ({} / {} {})",
            percent(Some(r)),
            rate["batches"]
                .as_u64()
                .unwrap_or(0)
                .saturating_sub(rate["fails"].as_u64().unwrap_or(0)),
            rate["batches"].as_u64().unwrap_or(0),
            lang.t("批次", "batches")
        ),
        None => lang
            .t("无完整公布的批次", "no full-scope batches")
            .to_owned(),
    };
    let bars: Vec<(String, Option<f64>, String)> = out["by_year"]
        .as_array()
        .map(|years| {
            years
                .iter()
                .map(|y| {
                    (
                        text(&y["plan_year"]),
                        y["pass_rate"].as_f64(),
                        format!(
                            "{} {} · {} {}",
                            y["rows"].as_u64().unwrap_or(0),
                            lang.t("批次", "batches"),
                            y["fails"].as_u64().unwrap_or(0)
                                + y["fail_only_failures"].as_u64().unwrap_or(0),
                            lang.t("不合格", "failed")
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let list = |name: &str| -> Vec<(String, u64)> {
        out[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| (text(&v["value"]), v["count"].as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let provinces = list("provinces")
        .into_iter()
        .map(|(p, n)| format!("{p} ({n})"))
        .collect::<Vec<_>>()
        .join("、");
    let history = out["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(Value::as_object)
                .map(|r| row_view(lang, r, None))
                .collect()
        })
        .unwrap_or_default();
    let name = e.name().to_owned();
    let c = chrome(
        &app,
        lang,
        &format!("/enterprises/{}", enc(&key)),
        &params,
        name.clone(),
        format!(
            "{name}：{} {}",
            e.batches,
            lang.t(
                "个抽查批次的全部记录与合格率",
                "sampled batches, full history and pass rate"
            )
        ),
    );
    render(
        StatusCode::OK,
        &EnterprisePage {
            c,
            name,
            uscc: e.uscc.clone(),
            names: e.names.iter().map(|(n, _)| n.clone()).collect(),
            rows: rate["rows"].as_u64().unwrap_or(0),
            pass_rate,
            fail_only: rate["fail_only_failures"].as_u64().unwrap_or(0),
            provinces,
            chart: bar_chart(lang.t("逐年合格率", "Pass rate by year"), &bars),
            items: list("failed_items"),
            history,
            export: format!(
                "/api/v1/sql?{}",
                crate::api::encode_query(&[
                    ("sql".into(), text(&out["sql"])),
                    ("_format".into(), "csv".into()),
                    ("_bom".into(), "true".into()),
                ])
            ),
        },
    )
}

// --- product ------------------------------------------------------------------------------

struct ItemView {
    name: String,
    count: u64,
    explanation: String,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    c: Chrome,
    product: String,
    batches: u64,
    pass_rate: String,
    by_year: String,
    by_province: String,
    items: Vec<ItemView>,
}

/// What common failed test items mean, in plain words.
const ITEMS: &[(&str, &str, &str)] = &[
    (
        "甲醛含量",
        "衣物或板材中残留的甲醛超标，可刺激皮肤和呼吸道。",
        "Too much residual formaldehyde, which irritates skin and airways.",
    ),
    (
        "pH值",
        "纺织品酸碱度不合适，贴身穿着可能刺激皮肤。",
        "The fabric is too acidic or alkaline for skin contact.",
    ),
    (
        "纤维含量",
        "标签上写的面料成分与实际不符。",
        "The fibre content differs from the label.",
    ),
    (
        "使用说明",
        "标签、警示或说明缺失或不规范，消费者无法正确使用。",
        "Labels, warnings or instructions are missing or wrong.",
    ),
    (
        "绳带要求",
        "童装上的绳带过长或位置不当，可能造成勒伤。",
        "Cords on children's clothing are too long or badly placed and can strangle.",
    ),
    (
        "泄漏电流",
        "电器外壳可能漏电，有触电危险。",
        "Current can leak to the casing: a risk of electric shock.",
    ),
    (
        "电气强度",
        "绝缘承受高电压的能力不足，可能击穿漏电。",
        "Insulation breaks down under high voltage.",
    ),
    (
        "导体电阻",
        "电线铜芯偏细或用料不足，通电发热，可能引起火灾。",
        "Undersized conductors heat up under load and can start fires.",
    ),
    (
        "绝缘最薄处厚度",
        "电线绝缘层太薄，容易破损漏电。",
        "The insulation is too thin and can fail.",
    ),
    (
        "标志和说明",
        "产品上的额定值、警示等标志不全或不正确。",
        "Ratings and warnings on the product are missing or wrong.",
    ),
    (
        "对触及带电部件的防护",
        "手指可能碰到带电部件，有触电危险。",
        "Live parts can be touched: a risk of shock.",
    ),
    (
        "发热",
        "使用时部件温度过高，可能烫伤或起火。",
        "Parts run too hot in use: burns or fire.",
    ),
    (
        "总养分",
        "肥料的有效养分低于标明的含量。",
        "The fertiliser has less nutrient than declared.",
    ),
    (
        "冲击吸收性能",
        "安全帽或头盔受冲击时不能有效保护头部。",
        "The helmet does not absorb impacts well enough.",
    ),
    (
        "耐穿刺性能",
        "安全帽可能被尖锐物刺穿。",
        "Sharp objects can pierce the helmet.",
    ),
    (
        "亮度（白度）",
        "纸张过白，可能添加了过量荧光增白剂。",
        "The paper is too white, a sign of excess optical brightener.",
    ),
    (
        "可迁移元素",
        "玩具或文具中的铅、镉等重金属可能迁移出来。",
        "Lead, cadmium and other heavy metals can migrate out.",
    ),
    (
        "小零件",
        "玩具的小零件可能被儿童误吞。",
        "Small parts can be swallowed by children.",
    ),
    (
        "邻苯二甲酸酯",
        "塑料中的增塑剂超标，可能影响健康。",
        "Too much phthalate plasticiser.",
    ),
    (
        "能效等级",
        "实际耗电比标称的能效等级要多。",
        "It uses more energy than its label says.",
    ),
    (
        "水溶性磷占有效磷百分率",
        "肥料中能被作物吸收的磷比例偏低。",
        "Too little of the phosphorus is available to crops.",
    ),
    (
        "耐唾液色牢度",
        "儿童啃咬时衣物可能掉色。",
        "Colour comes off when children chew the fabric.",
    ),
    (
        "附件抗拉强力",
        "纽扣等小附件不牢，可能被扯下误吞。",
        "Buttons and trims come off and can be swallowed.",
    ),
];

fn explain(lang: Lang, item: &str) -> String {
    ITEMS
        .iter()
        .find(|(name, _, _)| item.contains(name) || name.contains(item))
        .map(|(_, zh, en)| lang.t(zh, en).to_owned())
        .unwrap_or_else(|| {
            lang.t(
                "该项目检验结果不符合产品标准或明示要求。",
                "The result of this test does not meet the product standard or the declared value.",
            )
            .to_owned()
        })
}

async fn product_page(
    State(app): State<Arc<AppState>>,
    Path(product): Path<String>,
    Query(params): Params,
) -> Response {
    let lang = Lang::of(&params);
    let view = match app.warehouse.current().await {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let filter = vec![("product".to_owned(), product.clone())];
    let req = match RowsRequest::parse(&app.catalog, SPOT_CHECK_SCHEMA, &filter, &[]) {
        Ok(r) => r,
        Err(e) => return error_page(&app, lang, e),
    };
    let (by_year, by_province) = (["plan_year".to_owned()], ["enterprise_province".to_owned()]);
    let (total, years, provinces) = futures::join!(
        q::stats(&view, &req, &[], 1),
        q::stats(&view, &req, &by_year, 200),
        q::stats(&view, &req, &by_province, 100),
    );
    let (total, years, provinces) = match (total, years, provinces) {
        (Ok(t), Ok(y), Ok(p)) => (t, y, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_page(&app, lang, e),
    };
    let all = &total["groups"][0];
    if all.is_null() {
        return error_page(
            &app,
            lang,
            QueryError::BadParameter {
                parameter: "product".into(),
                value: product,
                problem: "no spot check of this product".into(),
                allowed: Vec::new(),
            },
        );
    }
    let bars = |stats: &Value, key: &str| -> Vec<(String, Option<f64>, String)> {
        stats["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .filter(|g| g["batches"].as_u64().unwrap_or(0) > 0)
                    .map(|g| {
                        (
                            text(&g[key]),
                            g["pass_rate"].as_f64(),
                            format!("n={}", g["batches"].as_u64().unwrap_or(0)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let items_spec = q::FacetSpec {
        field: "failed_items".into(),
        interval: None,
    };
    let items = match q::facet(
        &view,
        &app.catalog,
        SPOT_CHECK_SCHEMA,
        &req,
        &items_spec,
        10,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return error_page(&app, lang, e),
    };
    let items = items["values"]
        .as_array()
        .map(|vals| {
            vals.iter()
                .map(|v| {
                    let name = text(&v["value"]);
                    ItemView {
                        explanation: explain(lang, &name),
                        count: v["count"].as_u64().unwrap_or(0),
                        name,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let c = chrome(
        &app,
        lang,
        &format!("/products/{}", enc(&product)),
        &params,
        format!("{product} {}", lang.t("抽查合格率", "spot-check pass rate")),
        format!(
            "{product}：{}",
            lang.t(
                "逐年、各省抽查合格率与常见不合格项目。",
                "pass rate by year and province, and the most common failed items."
            )
        ),
    );
    render(
        StatusCode::OK,
        &ProductPage {
            c,
            batches: all["batches"].as_u64().unwrap_or(0),
            pass_rate: percent(all["pass_rate"].as_f64()),
            by_year: bar_chart(
                lang.t("逐年合格率", "Pass rate by year"),
                &bars(&years, "plan_year"),
            ),
            by_province: bar_chart(
                lang.t("各省合格率", "Pass rate by province"),
                &bars(&provinces, "enterprise_province"),
            ),
            items,
            product,
        },
    )
}

// --- SQL console --------------------------------------------------------------------------

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

async fn sql_page(
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
        .route("/enterprises/{key}", get(enterprise_page))
        .route("/products/{name}", get(product_page))
        .route("/datasets", get(datasets::datasets_page))
        .route("/datasets/{id}", get(datasets::dataset_page))
        .route("/sql", get(sql_page))
        .route("/stats", get(stats_page))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap))
        .route("/assets/site.css", get(stylesheet))
}
