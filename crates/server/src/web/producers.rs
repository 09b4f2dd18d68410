//! A producer's history (`/enterprises/{key}`) and a product's page (`/products/{name}`):
//! pass rates by year and by province, and the most common failed items explained.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use zhijian_catalog::SPOT_CHECK_SCHEMA;
use zhijian_query::QueryError;
use zhijian_query::answers::{Stats, ValueCount};
use zhijian_query::api::{self as q, RowsRequest};

use super::{
    Chrome, Lang, Params, RowView, bar_chart, chrome, enc, error_page, percent, render, row_view,
    text,
};
use crate::AppState;

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

pub(super) async fn enterprise_page(
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
        Ok(o) => o.value,
        Err(err) => return error_page(&app, lang, err),
    };
    let rate = out.pass_rate.as_ref();
    let pass_rate = match rate.and_then(|r| r.pass_rate.map(|p| (r, p))) {
        Some((rate, r)) => format!(
            "{} ({} / {} {})",
            percent(Some(r)),
            rate.batches.saturating_sub(rate.fails),
            rate.batches,
            lang.t("批次", "batches")
        ),
        None => lang
            .t("无完整公布的批次", "no full-scope batches")
            .to_owned(),
    };
    let bars: Vec<(String, Option<f64>, String)> = out
        .by_year
        .iter()
        .map(|y| {
            (
                y.plan_year.map(|n| n.to_string()).unwrap_or_default(),
                y.rate.pass_rate,
                format!(
                    "{} {} · {} {}",
                    y.rate.rows,
                    lang.t("批次", "batches"),
                    y.rate.fails + y.rate.fail_only_failures,
                    lang.t("不合格", "failed")
                ),
            )
        })
        .collect();
    let list = |values: &[ValueCount]| -> Vec<(String, u64)> {
        values.iter().map(|v| (text(&v.value), v.count)).collect()
    };
    let provinces = list(&out.provinces)
        .into_iter()
        .map(|(p, n)| format!("{p} ({n})"))
        .collect::<Vec<_>>()
        .join("、");
    let history = out
        .history
        .iter()
        .map(|r| row_view(lang, r, None))
        .collect();
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
            rows: rate.map_or(0, |r| r.rows),
            pass_rate,
            fail_only: rate.map_or(0, |r| r.fail_only_failures),
            provinces,
            chart: bar_chart(lang.t("逐年合格率", "Pass rate by year"), &bars),
            items: list(&out.failed_items),
            history,
            export: format!(
                "/api/v1/sql?{}",
                crate::api::encode_query(&[
                    ("sql".into(), out.sql.clone()),
                    ("_format".into(), "csv".into()),
                    ("_bom".into(), "true".into()),
                ])
            ),
        },
    )
}

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

pub(super) async fn product_page(
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
        (Ok(t), Ok(y), Ok(p)) => (t.value, y.value, p.value),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_page(&app, lang, e),
    };
    let Some(all) = total.groups.first() else {
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
    };
    let bars = |stats: &Stats, key: &str| -> Vec<(String, Option<f64>, String)> {
        stats
            .groups
            .iter()
            .filter(|g| g.batches > 0)
            .map(|g| {
                (
                    text(g.key.get(key).unwrap_or(&Value::Null)),
                    g.pass_rate,
                    format!("n={}", g.batches),
                )
            })
            .collect()
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
        Ok(v) => v.value,
        Err(e) => return error_page(&app, lang, e),
    };
    let items = items
        .values
        .iter()
        .map(|v| {
            let name = text(&v.value);
            ItemView {
                explanation: explain(lang, &name),
                count: v.count,
                name,
            }
        })
        .collect();
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
            batches: all.batches,
            pass_rate: percent(all.pass_rate),
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
