//! F: inspection and quarantine: health quarantine at ports, animal and plant quarantine,
//! import and export food safety, and commodity inspection.

use serde_json::{Value, json};

use crate::vocab::{self, NAME_A, NAME_B, PROVINCES, Province};

use super::health::{self, ANIMAL_DISEASES, ANIMAL_GOODS, HUMAN_DISEASES, PESTS};
use super::names::{company_for, foreign_company, trader};
use super::words::{self, FOODS, country};
use super::{Ctx, address_in, city_of, plus_days, round};

/// Port cities with their own travel health centre besides the provincial ones, and their
/// province.
static PORT_CENTRES: &[(&str, &str, &str)] = &[
    ("宁波", "330000", "0574"),
    ("厦门", "350000", "0592"),
    ("深圳", "440000", "0755"),
    ("青岛", "370000", "0532"),
    ("大连", "210000", "0411"),
    ("珠海", "440000", "0756"),
];

/// Telephone area codes of the provincial capitals.
fn area_code(p: &Province) -> &'static str {
    match p.code {
        "110000" => "010",
        "120000" => "022",
        "310000" => "021",
        "500000" => "023",
        "440000" => "020",
        "330000" => "0571",
        "320000" => "025",
        "370000" => "0531",
        "350000" => "0591",
        "420000" => "027",
        "430000" => "0731",
        "510000" => "028",
        "610000" => "029",
        "410000" => "0371",
        "130000" => "0311",
        "140000" => "0351",
        "150000" => "0471",
        "210000" => "024",
        "220000" => "0431",
        "230000" => "0451",
        "340000" => "0551",
        "360000" => "0791",
        "450000" => "0771",
        "460000" => "0898",
        "520000" => "0851",
        "530000" => "0871",
        "540000" => "0891",
        "620000" => "0931",
        "630000" => "0971",
        "640000" => "0951",
        _ => "0991",
    }
}

fn provinces_with_centres() -> impl Iterator<Item = &'static Province> {
    PROVINCES.iter().filter(|p| p.code != "660000")
}

/// Travel health centres in the register.
pub fn centre_count() -> usize {
    provinces_with_centres().count() + PORT_CENTRES.len()
}

/// Foods that are animal or plant products (the quarantine access list).
fn quarantine_foods() -> impl Iterator<Item = &'static words::Food> {
    FOODS.iter().filter(|f| {
        matches!(
            f.category,
            "肉类" | "水产品" | "乳制品" | "粮谷及制品" | "蜂产品" | "燕窝" | "坚果炒货" | "咖啡"
        )
    })
}

/// The `(food, country)` pairs of an access list: each food with each country it comes from.
pub fn access_pairs(quarantine: bool) -> Vec<(&'static words::Food, &'static str)> {
    let foods: Vec<&words::Food> = if quarantine {
        quarantine_foods().collect()
    } else {
        FOODS.iter().collect()
    };
    foods
        .into_iter()
        .flat_map(|f| f.origins.iter().map(move |c| (f, *c)))
        .collect()
}

/// A customs announcement of a year (质检总局 before the 2018 reform).
fn announcement(year: i32, n: i64) -> String {
    if year >= 2018 {
        format!("海关总署公告{year}年第{n}号")
    } else {
        format!("质检总局公告{year}年第{n}号")
    }
}

/// A port's four-digit customs code.
fn port_code(port: &str) -> u64 {
    2200 + crate::rng::hash(0, &[port]) % 7000
}

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let year = ctx.year;
    Some(match id {
        "F1-01" => {
            let disease = ctx.grid_str("disease").unwrap_or("登革热");
            let rate = HUMAN_DISEASES
                .iter()
                .find(|d| d.0 == disease)
                .map_or(1, |d| d.3);
            let port_size = if matches!(
                ctx.grid_str("port"),
                Some("上海" | "广州" | "深圳" | "北京")
            ) {
                3.0
            } else {
                1.0
            };
            json!({ "cases": (f64::from(rate) * port_size * ctx.rng.f64() * 1.6).round() as i64 })
        }
        "F1-02" => {
            let examined = ctx.int(1500, 40_000);
            json!({
                "examined": examined,
                "abnormal": (examined as f64 * ctx.num(0.01, 0.05, 4)).round() as i64,
            })
        }
        "F1-03" => {
            let n = provinces_with_centres().count();
            let (name, p, city, area) = match provinces_with_centres().nth(ctx.i) {
                Some(p) => (
                    format!(
                        "{}国际旅行卫生保健中心",
                        p.full.trim_end_matches(['省', '市'])
                    ),
                    p,
                    p.cities
                        .first()
                        .map_or_else(String::new, |c| (*c).to_owned()),
                    area_code(p),
                ),
                None => {
                    let (city, code, area) = PORT_CENTRES[(ctx.i - n) % PORT_CENTRES.len()];
                    (
                        format!("{city}国际旅行卫生保健中心"),
                        vocab::province(code).unwrap_or(&PROVINCES[0]),
                        format!("{city}市"),
                        area,
                    )
                }
            };
            json!({
                "centre": name,
                "province_code": p.code,
                "address": address_in(ctx.rng, p, &city),
                "phone": format!("{area}-{}", ctx.int(5_000_000, 8_999_999)),
                "services": *ctx.pick(&["国际旅行健康体检、预防接种、旅行健康咨询", "国际旅行健康体检、预防接种", "国际旅行健康体检、预防接种、旅行健康咨询、旅行保健药品供应"]),
            })
        }
        "F1-04" => {
            let p = ctx.province;
            let city = city_of(ctx.rng, p).trim_end_matches('市');
            let (category, applicant) = match ctx.int(0, 3) {
                0 => (
                    "微生物",
                    format!(
                        "{city}{}{}生物科技有限公司",
                        ctx.pick(NAME_A),
                        ctx.pick(NAME_B)
                    ),
                ),
                1 => ("人体组织", format!("{}人民医院", p.full)),
                2 => (
                    "血液及其制品",
                    format!("{city}{}生物制药有限公司", ctx.pick(NAME_A)),
                ),
                _ => (
                    "生物制品",
                    format!(
                        "{city}{}{}医药科技有限公司",
                        ctx.pick(NAME_A),
                        ctx.pick(NAME_B)
                    ),
                ),
            };
            json!({
                "approval_no": format!("{}{year}{}", &p.code[..2], ctx.serial(6)),
                "applicant": applicant,
                "category": category,
                "direction": *ctx.pick(&["入境", "入境", "出境"]),
                "port": *ctx.pick(words::PORTS),
                "approved_on": ctx.date().iso(),
            })
        }
        "F1-05" => {
            let (disease, advice, countries, _) = *ctx.pick(HUMAN_DISEASES);
            json!({
                "notice_on": ctx.date().iso(),
                "country": *ctx.pick(countries),
                "disease": disease,
                "advice": advice,
            })
        }
        "F2-01" => {
            let (pest, latin, goods) = *ctx.pick(PESTS);
            let goods = *ctx.pick(goods);
            json!({
                "port": *ctx.pick(words::PORTS),
                "goods_category": goods,
                "origin_country": *ctx.pick(health::pest_origins(goods)),
                "pest": pest,
                "pest_latin": latin,
                "batches": ctx.int(1, 30),
            })
        }
        "F2-02" => {
            let (disease, species, countries) = *ctx.pick(ANIMAL_DISEASES);
            let goods: Vec<&str> = ANIMAL_GOODS
                .iter()
                .filter(|g| g.1 == species)
                .map(|g| g.0)
                .collect();
            json!({
                "port": *ctx.pick(words::PORTS),
                "animal": *ctx.pick(&goods),
                "origin_country": *ctx.pick(countries),
                "disease": disease,
                "batches": ctx.int(1, 6),
            })
        }
        "F2-03" | "F3-04" => {
            let pairs = access_pairs(id == "F2-03");
            let (food, origin) = pairs[ctx.i % pairs.len()];
            let since = ctx.date_back(10);
            let mut o = json!({ "country": origin, "product": food.zh });
            if let Some(m) = o.as_object_mut() {
                if id == "F2-03" {
                    let banned = ctx.rng.chance(0.1);
                    m.insert("access".into(), json!(if banned { "禁止" } else { "准入" }));
                    m.insert(
                        "notice_no".into(),
                        json!(announcement(since.y, ctx.int(1, 180))),
                    );
                    m.insert("since".into(), json!(since.iso()));
                } else {
                    m.insert("product_category".into(), json!(food.category));
                    m.insert("admitted_on".into(), json!(since.iso()));
                }
            }
            o
        }
        "F2-04" => {
            let (disease, species, countries) = *ctx.pick(ANIMAL_DISEASES);
            let place = *ctx.pick(countries);
            let animals = match species {
                "猪" => "猪、野猪",
                "禽" => "禽类",
                "羊" => "绵羊、山羊",
                _ => "牛",
            };
            json!({
                "alert_no": format!("动植检警〔{year}〕{}号", ctx.i + 1),
                "alert_on": ctx.date().iso(),
                "country": place,
                "disease": disease,
                "measures": format!("禁止直接或间接从{place}输入{animals}及其相关产品，一经发现一律作退回或销毁处理"),
            })
        }
        "F2-05" => {
            let food = ctx
                .pick(&quarantine_foods().collect::<Vec<_>>()[..])
                .to_owned();
            let p = ctx.province;
            let city = city_of(ctx.rng, p);
            let issued = ctx.date();
            json!({
                "permit_no": format!("{}{year}{}", &p.code[..2], ctx.serial(7)),
                "applicant": trader(ctx.rng, city),
                "product": food.zh,
                "origin_country": *ctx.pick(food.origins),
                "quantity_t": ctx.num(5.0, 2000.0, 1),
                "port": *ctx.pick(words::PORTS),
                "valid_until": plus_days(issued, 180).iso(),
            })
        }
        "F3-01" | "F3-02" => {
            let (product, hs, origin, industry, specific): (&str, &str, &str, &str, &[&str]) =
                if id == "F3-01" {
                    let f = ctx.pick(FOODS);
                    (f.zh, f.hs, *ctx.pick(f.origins), f.en, f.reasons)
                } else {
                    let (product, hs, origins) = *ctx.pick(words::COSMETICS);
                    (
                        product,
                        hs,
                        *ctx.pick(origins),
                        "Cosmetics",
                        words::COSMETIC_REASONS,
                    )
                };
            let port = *ctx.pick(words::PORTS);
            let p = ctx.province;
            let reason = if ctx.rng.chance(0.5) {
                *ctx.pick(words::COMMON_REASONS)
            } else {
                *ctx.pick(specific)
            };
            json!({
                "hs_code": hs,
                "inspection_no": format!("{}{year}{}", port_code(port), ctx.serial(10)),
                "product": product,
                "origin_country": origin,
                "producer": foreign_company(ctx.rng, country(origin), industry),
                "importer": trader(ctx.rng, port),
                "importer_filing_no": format!("{}00{}", &p.code[..2], ctx.serial(6)),
                "weight_kg": ctx.num(5.0, 25_000.0, 1),
                "reason": reason,
                "port": port,
            })
        }
        "F3-03" => {
            let (product, reasons): (&str, &[&str]) = *ctx.pick(&[
                ("花生", &["黄曲霉毒素超标"][..]),
                ("茶叶", &["农药残留超标", "未经授权的转基因成分"][..]),
                ("冷冻虾仁", &["检出氯霉素", "检出硝基呋喃代谢物"][..]),
                ("大蒜", &["农药残留超标", "霉变"][..]),
                ("枸杞", &["农药残留超标"][..]),
                ("辣椒粉", &["检出苏丹红", "黄曲霉毒素超标"][..]),
                ("蜂蜜", &["检出抗生素残留"][..]),
                (
                    "冷冻鱼片",
                    &["检出单核细胞增生李斯特氏菌", "温度控制不当"][..],
                ),
            ]);
            json!({
                "notifying_country": *ctx.pick(&["欧盟", "美国", "日本", "韩国", "澳大利亚", "加拿大"]),
                "notified_on": ctx.date().iso(),
                "product": product,
                "enterprise": company_for(ctx, "食品", 4000).name,
                "reason": *ctx.pick(reasons),
                "measures": *ctx.pick(&["禁止入境", "退运", "销毁", "加强边境检查"]),
            })
        }
        "F3-05" => {
            let food = ctx.pick(FOODS);
            let hazard = *ctx.pick(food.reasons);
            json!({
                "alert_no": format!("食品警示〔{year}〕{}号", ctx.i + 1),
                "alert_on": ctx.date().iso(),
                "country": *ctx.pick(food.origins),
                "product": food.zh,
                "hazard": hazard,
                "measures": *ctx.pick(&["暂停进口", "加强检验检疫，每批抽样检测", "对该企业产品实施扣留检测"]),
            })
        }
        "F4-01" => {
            let (name, hs) = *ctx.pick(words::GOODS);
            let product = vocab::PRODUCTS
                .iter()
                .find(|p| p.name == name)
                .unwrap_or(&vocab::PRODUCTS[0]);
            let n = ctx.int(1, 2.min(product.items.len() as i64).max(1)) as usize;
            let items: Vec<&str> = product.items.iter().take(n).copied().collect();
            json!({
                "product": name,
                "hs_code": hs,
                "origin_country": *ctx.pick(&["日本", "韩国", "德国", "美国", "意大利", "越南", "泰国", "马来西亚"]),
                "failed_items": items,
                "port": *ctx.pick(words::PORTS),
                "disposal": *ctx.pick(&["退运", "销毁", "技术处理后放行", "技术处理后放行"]),
            })
        }
        "F4-02" => {
            let import = ctx.grid_str("direction") == Some("进口");
            let batches = if import {
                ctx.num(25.0, 45.0, 2)
            } else {
                ctx.num(60.0, 110.0, 2)
            };
            let failed = round(batches * ctx.num(0.005, 0.03, 4), 2);
            json!({
                "batches_10k": batches,
                "value_100m_usd": ctx.num(if import { 90.0 } else { 150.0 }, if import { 260.0 } else { 380.0 }, 1),
                "failed_batches_10k": failed,
                "failure_rate": round(100.0 * failed / batches, 2),
            })
        }
        "F4-03" => {
            let members = [
                "美国",
                "日本",
                "韩国",
                "巴西",
                "加拿大",
                "澳大利亚",
                "印度",
                "俄罗斯",
                "泰国",
                "沙特阿拉伯",
            ];
            let member = country(ctx.pick::<&str>(&members));
            let sps = ctx.rng.chance(0.4);
            let (products, content) = if sps {
                *ctx.pick(&[
                    ("牛肉", "进口牛肉及其制品检疫要求"),
                    ("新鲜水果", "部分农药最大残留限量修订"),
                    ("禽肉", "高致病性禽流感相关进口限制措施"),
                    ("乳制品", "乳制品微生物限量要求"),
                    ("水产品", "水产品兽药残留限量"),
                ])
            } else {
                *ctx.pick(&[
                    ("电子电气设备", "限制电子电气设备中有害物质的技术法规草案"),
                    ("玩具", "玩具安全要求修订"),
                    ("机动车", "轻型车辆排放标准"),
                    ("化学品", "化学品注册、分类与标签要求"),
                    ("锂离子电池", "锂离子电池安全要求"),
                    ("食品接触材料", "食品接触材料迁移限量"),
                ])
            };
            let notified = ctx.date();
            json!({
                "notification_no": format!("G/{}/N/{}/{}", if sps { "SPS" } else { "TBT" }, member.iso3, ctx.i + 1),
                "member": member.zh,
                "products": products,
                "content": content,
                "notified_on": notified.iso(),
                "comment_deadline": plus_days(notified, 60).iso(),
            })
        }
        "F4-04" => {
            let (product, industry, risk): (&str, &str, &str) = *ctx.pick(&[
                ("儿童玩具", "玩具", "小零件易脱落，存在窒息风险"),
                ("移动电源", "电子", "充电时可能过热起火"),
                ("儿童服装", "服饰", "绳带过长，存在勒伤风险"),
                ("电热水壶", "电器", "绝缘不良，存在触电风险"),
                ("婴儿床", "家具", "护栏间隙过大，存在卡夹风险"),
                ("LED灯串", "照明", "导线截面积不足，存在触电和火灾风险"),
                ("自行车头盔", "体育用品", "冲击防护性能不足"),
            ]);
            json!({
                "country": *ctx.pick(&["美国", "欧盟", "澳大利亚", "加拿大", "韩国", "日本"]),
                "notified_on": ctx.date().iso(),
                "product": product,
                "chinese_enterprise": company_for(ctx, industry, 3000).name,
                "risk": risk,
                "measures": *ctx.pick(&["召回", "下架", "禁止销售", "退运"]),
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_are_distinct() {
        let n = centre_count();
        assert!(n > PORT_CENTRES.len());
        let countries: std::collections::HashSet<&str> =
            words::COUNTRIES.iter().map(|c| c.zh).collect();
        for (_, origin) in access_pairs(false) {
            assert!(countries.contains(origin), "{origin} has no country entry");
        }
    }
}
