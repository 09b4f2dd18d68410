//! Spot-check publications: simulated batches rendered in the header sets H1–H12 of
//! `docs/REAL-DATA.md` §1.2, with the messiness of §4, and the canonical rows of docs/DESIGN.md §5 as truth.

use serde_json::{Map, Value, json};

use crate::enterprise::{self, Enterprise, NamePrefix};
use crate::rng::Rng;
use crate::sink::{Cell, Merge, Shape, Sheet, Truth};
use crate::text::{self, Date};
use crate::vocab::{PLACEHOLDERS, Product, Province, REMARK_FLAGS};

mod layouts;
mod table;

use Col::*;
pub use layouts::{Layout, layouts};
pub use table::Table;

/// The canonical order of flags (the schema's description lists them in this order).
pub const FLAG_ORDER: [&str; 6] = [
    "counterfeit_suspected",
    "refused",
    "producer_denied",
    "recheck_failed",
    "recheck_passed",
    "unlicensed",
];

/// What a column of a raw spot-check table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// 序号.
    Serial,
    /// 产品大类.
    Category,
    /// 产品小类.
    Subcategory,
    /// 产品种类: the product type.
    Product,
    /// 产品名称 and its variants: the sample's name, or the product where nothing else names it.
    Name,
    /// 标称生产企业 and variants.
    Enterprise,
    /// 所在地: a province, city or both, in any spelling.
    Location,
    /// 标称生产企业地址.
    Address,
    /// 统一社会信用代码.
    Uscc,
    /// 受检单位.
    Inspected,
    /// 商标.
    Brand,
    /// 规格型号.
    Model,
    /// 生产日期/批号 in one cell.
    Batch,
    /// 批号 alone.
    BatchNo,
    /// 生产日期 alone.
    ProdDate,
    /// 抽样日期 / 监督抽查时间.
    SampledOn,
    /// 抽查结果.
    Result,
    /// 不合格项目.
    Items,
    /// 承检机构.
    Agency,
    /// 备注.
    Remarks,
    /// 电商平台.
    Platform,
    /// 商品链接.
    Listing,
    /// 抽样领域.
    Channel,
    /// 认证机构.
    CertBody,
}

/// Where a sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// At the producer.
    Production,
    /// At a seller.
    Distribution,
    /// Online.
    Ecommerce,
}

/// One simulated batch, with everything any layout might print.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The product type.
    pub product: &'static Product,
    /// The sample's own name.
    pub sample_name: String,
    /// The producer.
    pub enterprise: Enterprise,
    /// Where sampled.
    pub channel: Channel,
    /// Who was sampled.
    pub inspected_unit: String,
    /// Platform for online samples.
    pub platform: Option<&'static str>,
    /// Listing id for online samples.
    pub listing: Option<String>,
    /// Model and specification, canonical.
    pub model: String,
    /// Production date.
    pub produced: Date,
    /// Sampling date.
    pub sampled: Date,
    /// Failed.
    pub fail: bool,
    /// Failed items.
    pub items: Vec<&'static str>,
    /// Remark text and its flag.
    pub remark: Option<(&'static str, &'static str)>,
    /// Suspected counterfeit.
    pub counterfeit: bool,
    /// Inspection agency.
    pub agency: String,
    /// Certification body (Shanghai tables).
    pub cert_body: Option<&'static str>,
    /// Commissioned producer (`委托…`), printed inside the enterprise cell.
    pub entrusted: Option<String>,
}

/// Simulates one batch of `product` with fail probability `p_fail`, for a notice published on
/// `announced`.
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    rng: &mut Rng,
    seed: u64,
    product: &'static Product,
    pool: usize,
    home: Option<&'static Province>,
    announced: Date,
    p_fail: f64,
    channel: Channel,
    agency: &str,
) -> Batch {
    // Enterprises of the home province for local checks; the pool recurs across years.
    let mut ent = enterprise::enterprise(seed, product, rng.below(pool));
    if let Some(home) = home {
        for _ in 0..12 {
            if ent.province.code == home.code {
                break;
            }
            ent = enterprise::enterprise(seed, product, rng.below(pool));
        }
    }
    let size_mult = crate::vocab::SIZE_FAIL_MULT[ent.size];
    let fail = rng.chance((p_fail * size_mult).min(0.95));
    let mut items = Vec::new();
    if fail {
        let n = 1 + usize::from(rng.chance(0.45)) + usize::from(rng.chance(0.15));
        while items.len() < n.min(product.items.len()) {
            // The first items of the list are the typical fails.
            let w: Vec<f64> = (0..product.items.len())
                .map(|i| 1.0 / (1.0 + i as f64))
                .collect();
            let item = product.items[rng.weighted(&w)];
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    let counterfeit = fail && rng.chance(0.01);
    let remark = if counterfeit {
        Some(REMARK_FLAGS[2])
    } else if fail && rng.chance(0.02) {
        Some(REMARK_FLAGS[0])
    } else if !fail && rng.chance(0.005) {
        Some(REMARK_FLAGS[1])
    } else if fail && rng.chance(0.004) {
        Some(REMARK_FLAGS[4])
    } else if rng.chance(0.002) {
        Some(REMARK_FLAGS[5])
    } else {
        None
    };
    // Sampled weeks to months before the notice that publishes the result.
    let sampled = announced.minus_days(rng.range(15, 150) as u32);
    let produced = sampled.minus_days(rng.range(5, 200) as u32);
    let (inspected_unit, platform, listing) = match channel {
        Channel::Production => (ent.name.clone(), None, None),
        Channel::Distribution => (
            enterprise::seller(rng, home.unwrap_or(ent.province)),
            None,
            None,
        ),
        Channel::Ecommerce => (
            enterprise::shop(rng, &ent.brand),
            Some(*rng.pick(crate::vocab::PLATFORMS)),
            Some(format!("{}", rng.range(100_000_000_000, 999_999_999_999))),
        ),
    };
    let model = model_spec(rng, product);
    let sample_name = if rng.chance(0.35) {
        format!(
            "{}{}",
            rng.pick(&["家用", "多功能", "智能", "普通", "新款", "标准型"]),
            product.name
        )
    } else {
        product.name.to_owned()
    };
    let entrusted = rng.chance(0.02).then(|| {
        let other = enterprise::enterprise(seed, product, rng.below(pool));
        other.name_gbk
    });
    Batch {
        product,
        sample_name,
        enterprise: ent,
        channel,
        inspected_unit,
        platform,
        listing,
        model,
        produced,
        sampled,
        fail,
        items,
        remark,
        counterfeit,
        agency: agency.to_owned(),
        cert_body: rng.chance(0.3).then(|| {
            *rng.pick(&[
                "中国质量认证中心有限公司",
                "威凯认证检测有限公司",
                "广东质检中诚认证有限公司",
            ])
        }),
        entrusted,
    }
}

fn model_spec(rng: &mut Rng, product: &Product) -> String {
    let letters = ["HD", "SL", "XY", "LB", "BV", "KX", "ZD", "TDR", "JF", "HC"];
    let code = format!(
        "{}-{}{}",
        rng.pick(&letters),
        rng.range(10, 9999),
        rng.pick(&["", "A", "B", "S", "D"])
    );
    match product.industry {
        "电器" => format!(
            "{code} {}W {}L",
            rng.pick(&["800", "1500", "1800", "2000", "2200"]),
            rng.pick(&["1.2", "1.5", "1.7", "2.0"])
        ),
        "线缆" => format!("BV 450/750V 1×{}mm²", rng.pick(&["1.5", "2.5", "4", "6"])),
        "服饰" | "鞋业" => format!(
            "{}/{}",
            rng.pick(&["90", "100", "110", "120", "130"]),
            rng.pick(&["48", "52", "56", "60"])
        ),
        "化肥" => format!(
            "{}-{}-{} 40kg/袋",
            rng.range(8, 20),
            rng.range(8, 20),
            rng.range(8, 20)
        ),
        "陶瓷" => format!(
            "{}×{}mm",
            rng.pick(&["600", "800"]),
            rng.pick(&["600", "800", "1200"])
        ),
        "建材" => rng
            .pick(&["P·O 42.5", "P·C 32.5R", "P·S·A 32.5"])
            .to_string(),
        _ => code,
    }
}

/// The publication a row belongs to, as `publication.toml` states it.
#[derive(Debug, Clone)]
pub struct PubMeta {
    /// Resource id.
    pub resource_id: String,
    /// Publication directory name.
    pub publication_id: String,
    /// national, provincial, …
    pub check_level: &'static str,
    /// Publishing authority.
    pub authority: String,
    /// Notice number.
    pub announcement_no: Option<String>,
    /// Publication date.
    pub announced_on: Date,
    /// Plan year.
    pub plan_year: i32,
    /// Round as published.
    pub round: Option<String>,
    /// Special campaign.
    pub campaign: Option<String>,
    /// Notice title.
    pub title: String,
    /// full, fail_only or pass_only.
    pub scope: &'static str,
}

fn gbk_safe(unit: &str, e: &Enterprise) -> String {
    if unit == e.name {
        e.name_gbk.clone()
    } else {
        unit.to_owned()
    }
}

fn set_place(t: &mut Map<String, Value>, e: &Enterprise, with_city: bool) {
    t.insert("enterprise_province_code".into(), json!(e.province.code));
    t.insert("enterprise_province".into(), json!(e.province.full));
    if with_city && let Some(city) = e.city {
        t.insert("enterprise_city".into(), json!(city));
    }
}

/// A location cell in one of the spellings of docs/REAL-DATA.md §4.11; `None` for a placeholder.
/// The bool says whether the spelling names the city.
fn spell_location(rng: &mut Rng, e: &Enterprise, placeholder: bool) -> (Option<String>, bool) {
    if placeholder {
        return (None, false);
    }
    let p = e.province;
    let choice = rng.below(10);
    match (choice, e.city) {
        (0..=2, _) => (Some(p.short.to_owned()), false),
        (3..=4, _) => (Some(p.full.to_owned()), false),
        (5, _) if !p.abbr.is_empty() => (Some(p.abbr.to_owned()), false),
        (6..=7, Some(city)) => (Some(format!("{}{}", p.full, city)), true),
        (8, Some(city)) => (
            Some(format!("{}{}", p.short, city.trim_end_matches('市'))),
            true,
        ),
        (9, Some(city)) => (Some(city.to_owned()), true),
        _ => (Some(p.short.to_owned()), false),
    }
}

fn join_items(rng: &mut Rng, items: &[&str], star: bool) -> String {
    let mut sep = *rng.pick(&["、", "、", "，", ",", "；", ";", "\n"]);
    // A list uses one separator; one that occurs inside an item (`电气间隙、爬电距离…`) would
    // make the list unreadable, so such lists use `；`.
    if items.iter().any(|i| i.contains(['、', '，', ','])) {
        sep = "；";
    }
    items
        .iter()
        .map(|i| {
            if star && rng.chance(0.6) {
                format!("{i}*")
            } else {
                (*i).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Result cells that say neither pass nor fail.
const UNREADABLE_RESULTS: [&str; 4] = ["待定", "见附件", "？", "复检中"];

/// Why a row must be rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The result cell says something that is neither pass nor fail.
    Result(&'static str),
    /// Nothing names the product.
    NoProduct,
}

/// The messiness applied to one row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mess {
    /// Optional cells hold placeholders.
    pub placeholder: bool,
    /// Names use half-width brackets.
    pub half_brackets: bool,
    /// The model is printed in full-width characters.
    pub fullwidth: bool,
    /// A non-breaking space inside the model.
    pub nbsp: bool,
    /// The row appears twice.
    pub duplicate: bool,
    /// The batch cell holds an impossible date.
    pub bad_date: bool,
    /// The credit code has a wrong check character.
    pub bad_uscc: bool,
    /// A counterfeit row whose producer cell is empty.
    pub blank_producer: bool,
    /// A row that lost a cell (HTML only).
    pub ragged: bool,
    /// A row that cannot be published.
    pub reject: Option<RejectKind>,
}

impl Mess {
    /// Draws the messiness of one row at the rates of docs/REAL-DATA.md §4 and §7.
    pub fn draw(rng: &mut Rng, table: &Table<'_>) -> Self {
        let mut m = Self {
            placeholder: rng.chance(0.08),
            half_brackets: rng.chance(0.2),
            fullwidth: rng.chance(0.04),
            nbsp: table.html && rng.chance(0.05),
            duplicate: rng.chance(0.003),
            bad_date: rng.chance(0.002),
            bad_uscc: rng.chance(0.05),
            blank_producer: rng.chance(0.5),
            ragged: false,
            reject: None,
        };
        if rng.chance(0.002) {
            let has = |c: Col| table.layout.cols.iter().any(|(x, _)| *x == c);
            if has(Result) {
                m.reject = Some(RejectKind::Result(
                    UNREADABLE_RESULTS[rng.below(UNREADABLE_RESULTS.len())],
                ));
            } else if has(Name) && !has(Product) && table.product_elsewhere().is_none() {
                m.reject = Some(RejectKind::NoProduct);
            }
        }
        if m.reject.is_some() {
            m.duplicate = false;
        }
        m
    }
}
