//! E: certification and accreditation: CCC certificates and their catalogue, bodies and
//! actions, voluntary certificates, accredited laboratories and bodies, and the registers of
//! food exporters and importers.

use serde_json::{Value, json};

use crate::vocab::{self, NAME_A, NAME_B, PROVINCES, Province};

use super::lists::{self, CCC_BODIES, CERT_BODIES};
use super::names::{company, company_for, foreign_address, foreign_company, trader};
use super::words::{self, country};
use super::{Ctx, address_in, city_of, regulator, serial, status, valid_for};

/// A CCC class's makers' industry word, the standards certified against before and from a
/// year (the editions in force when the certificate was issued), and the certification body.
struct CccRules {
    industry: &'static str,
    old: &'static str,
    new: &'static str,
    from: i32,
    body: &'static str,
}

impl CccRules {
    /// The standards a certificate issued in `year` cites.
    fn standards(&self, year: i32) -> &'static str {
        if year >= self.from {
            self.new
        } else {
            self.old
        }
    }
}

fn ccc_class(class: &str) -> CccRules {
    const CQC: &str = "中国质量认证中心";
    let (industry, old, new, from, body) = match class {
        "01" => ("电缆", "GB 5023.3-1997", "GB/T 5023.3-2008", 2009, CQC),
        "02" => ("电器", "GB 2099.1-1996", "GB/T 2099.1-2021", 2022, CQC),
        "03" => ("电器", "GB 10963-1999", "GB/T 10963.1-2020", 2021, CQC),
        "05" => ("电动工具", "GB 3883.1-2000", "GB/T 3883.1-2014", 2015, CQC),
        "06" => ("焊机", "GB 15579-1995", "GB/T 15579.1-2013", 2014, CQC),
        "07" => (
            "电器",
            "GB 4706.1-1998；GB 4343-1995；GB 17625.1-1998",
            "GB 4706.1-2005；GB 4343.1-2018；GB 17625.1-2012",
            2019,
            CQC,
        ),
        "08" => (
            "电子",
            "GB 8898-2001；GB 13837-1997",
            "GB 8898-2011；GB/T 13837-2012",
            2013,
            CQC,
        ),
        "09" => (
            "电子",
            "GB 4943-2001；GB 9254-1998",
            "GB 4943.1-2022；GB/T 9254.1-2021",
            2023,
            CQC,
        ),
        "10" => (
            "照明",
            "GB 7000.1-2002；GB 17743-1999",
            "GB 7000.1-2015；GB/T 17743-2021",
            2022,
            CQC,
        ),
        "11" => (
            "汽车",
            "GB 7258-1997",
            "GB 7258-2017",
            2018,
            "中汽认证中心有限公司",
        ),
        "12" => (
            "轮胎",
            "GB 9743-1997",
            "GB 9743-2015",
            2016,
            "中汽认证中心有限公司",
        ),
        "13" => (
            "玻璃",
            "GB 9656-1996",
            "GB 9656-2021",
            2022,
            "中国建材检验认证集团股份有限公司",
        ),
        "16" => ("通信", "GB 4943-2001", "GB 4943.1-2022", 2023, CQC),
        "17" => ("车业", "GB 17761-1999", "GB 17761-2018", 2019, CQC),
        "21" => (
            "涂料",
            "GB 18581-2001",
            "GB 18581-2020",
            2021,
            "中国建材检验认证集团股份有限公司",
        ),
        _ => ("玩具", "GB 6675-2003", "GB 6675.1-2014", 2016, CQC),
    };
    CccRules {
        industry,
        old,
        new,
        from,
        body,
    }
}

/// The number of a certification body in CCC certificate numbers.
fn ccc_body_code(body: &str) -> &'static str {
    match body {
        "中汽认证中心有限公司" => "11",
        "中国建材检验认证集团股份有限公司" => "06",
        _ => "01",
    }
}

/// Food exporters' categories.
static EXPORT_FOODS: &[&str] = &[
    "水产品",
    "蔬菜及制品",
    "肉类",
    "罐头",
    "茶叶",
    "果蔬汁",
    "调味品",
];

/// Organic crops: crop, yield (t/ha), area range (ha), industry word.
static ORGANIC: &[(&str, f64, f64, f64, &str)] = &[
    ("大米", 7.0, 20.0, 800.0, "生态农业"),
    ("茶叶", 1.2, 10.0, 400.0, "茶业"),
    ("猕猴桃", 20.0, 5.0, 200.0, "果业"),
    ("蓝莓", 8.0, 5.0, 150.0, "农业"),
    ("蔬菜", 30.0, 5.0, 100.0, "农业"),
    ("枸杞", 2.0, 20.0, 500.0, "生态农业"),
];

/// The port that serves a province's exporters.
fn port_of(p: &Province) -> &'static str {
    match &p.code[..2] {
        "33" => "宁波",
        "44" => "广州",
        "37" => "青岛",
        "32" => "南京",
        "35" => "厦门",
        "21" => "大连",
        "31" => "上海",
        "12" | "13" => "天津",
        "45" => "南宁",
        "46" => "海口",
        "53" => "昆明",
        "65" | "66" => "乌鲁木齐",
        "15" => "满洲里",
        "42" | "43" | "36" => "武汉",
        _ => "北京",
    }
}

fn cert_body(ctx: &mut Ctx, codes: &[&str]) -> (&'static str, &'static str) {
    let code = *ctx.pick(codes);
    CERT_BODIES
        .iter()
        .find(|b| b.1 == code)
        .map_or((CERT_BODIES[0].0, CERT_BODIES[0].1), |b| (b.0, b.1))
}

fn cooperative(ctx: &mut Ctx, crop: &str) -> (String, &'static Province) {
    let p = ctx.province;
    let city = city_of(ctx.rng, p).trim_end_matches('市');
    (
        format!(
            "{city}{}{}{crop}专业合作社",
            ctx.pick(NAME_A),
            ctx.pick(NAME_B)
        ),
        p,
    )
}

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let year = ctx.year;
    let seed = ctx.seed;
    Some(match id {
        "E1-01" | "E1-04" => {
            let products = lists::ccc_products();
            let (class, _, _, code, product, _) = products[ctx.rng.below(products.len())];
            let rules = ccc_class(class);
            let (industry, body) = (rules.industry, rules.body);
            let e = company_for(ctx, industry, 3000);
            let issued = ctx.date_back(4);
            let number = format!("{}{}{code}{}", issued.y, ccc_body_code(body), ctx.serial(6));
            if id == "E1-04" {
                let action = *ctx.pick(&["暂停", "暂停", "撤销", "注销"]);
                let reason = match action {
                    "暂停" => *ctx.pick(&[
                        "获证产品监督抽查不合格",
                        "未按期接受监督检查",
                        "获证企业申请暂停",
                    ]),
                    "撤销" => *ctx.pick(&[
                        "暂停期满未整改",
                        "监督检查结论不合格",
                        "获证产品存在缺陷导致质量安全事故",
                    ]),
                    _ => *ctx.pick(&[
                        "证书有效期届满未申请延续",
                        "获证产品不再生产",
                        "企业申请注销",
                    ]),
                };
                return Some(json!({
                    "certificate_no": number,
                    "enterprise": e.name,
                    "product": product,
                    "action": action,
                    "reason": reason,
                    "effective_on": ctx.date().iso(),
                    "certification_body": body,
                }));
            }
            let valid = valid_for(issued, 5);
            let factory = if ctx.rng.chance(0.15) {
                company_for(ctx, industry, 3000).name
            } else {
                e.name.clone()
            };
            let prefix = format!(
                "{}{}",
                ctx.pick(&["ZD", "HX", "MK", "SF", "LT", "KB"]),
                ctx.int(1, 9)
            );
            let models: Vec<String> = (0..ctx.int(1, 3))
                .map(|k| format!("{prefix}{:03}", 100 + k * 10))
                .collect();
            json!({
                "certificate_no": number,
                "applicant": e.name,
                "manufacturer": e.name,
                "factory": factory,
                "product": product,
                "models": models.join("、"),
                "standards": rules.standards(issued.y),
                "issued_on": issued.iso(),
                "valid_until": valid.iso(),
                "status": status(ctx, valid, "过期", &["暂停", "撤销", "注销"]),
                "certification_body": body,
            })
        }
        "E1-02" => {
            let products = lists::ccc_products();
            let (class, name, rules, code, product, scope) = products[ctx.i % products.len()];
            json!({
                "product_code": code,
                "product_class": name,
                "product": product,
                "scope": scope,
                "rules_no": format!("CNCA-C{class}-01:{rules}"),
            })
        }
        "E1-03" => {
            let (body, role, province, scope) = CCC_BODIES[ctx.i % CCC_BODIES.len()];
            let letter = if role == "认证机构" { "R" } else { "L" };
            json!({
                "body": body,
                "role": role,
                "approval_no": format!("CNCA-{letter}-{}-{:03}", 2002 + ctx.i % 7, ctx.i + 1),
                "scope": scope,
                "province_code": province,
            })
        }
        "E1-05" => {
            let products = lists::ccc_products();
            let (class, _, _, _, product, _) = products[ctx.rng.below(products.len())];
            let purpose = *ctx.pick(&["科研测试", "认证测试", "展览", "整机配套", "援外", "其他"]);
            let applicant = if purpose == "整机配套" {
                company_for(ctx, ccc_class(class).industry, 3000).name
            } else {
                let p = ctx.province;
                let city = city_of(ctx.rng, p);
                trader(ctx.rng, city)
            };
            let quantity = match purpose {
                "整机配套" => ctx.int(500, 50_000),
                "展览" => ctx.int(1, 20),
                _ => ctx.int(1, 200),
            };
            json!({
                "exemption_no": format!("MB{year}{}", ctx.serial(6)),
                "applicant": applicant,
                "product": product,
                "quantity": quantity,
                "purpose": purpose,
                "port": *ctx.pick(words::PORTS),
                "approved_on": ctx.date().iso(),
            })
        }
        "E2-01" => {
            let product = &vocab::PRODUCTS[ctx.rng.below(vocab::PRODUCTS.len())];
            let e = crate::enterprise::enterprise(seed, product, ctx.rng.below(4000));
            let issued = ctx.date_back(2);
            let (letter, standard, scope) = match ctx.int(0, 5) {
                0..=2 => (
                    "Q",
                    if issued.y < 2017 {
                        "GB/T 19001-2008/ISO 9001:2008"
                    } else {
                        "GB/T 19001-2016/ISO 9001:2015"
                    },
                    format!("{}的设计、生产和销售", product.name),
                ),
                3 => (
                    "E",
                    if issued.y < 2017 {
                        "GB/T 24001-2004/ISO 14001:2004"
                    } else {
                        "GB/T 24001-2016/ISO 14001:2015"
                    },
                    format!("{}的设计、生产和销售所涉及的相关环境管理活动", product.name),
                ),
                4 => (
                    "S",
                    if issued.y < 2021 {
                        "GB/T 28001-2011/OHSAS 18001:2007"
                    } else {
                        "GB/T 45001-2020/ISO 45001:2018"
                    },
                    format!("{}的生产所涉及的相关职业健康安全管理活动", product.name),
                ),
                _ => (
                    "En",
                    if issued.y < 2021 {
                        "GB/T 23331-2012"
                    } else {
                        "GB/T 23331-2020/ISO 50001:2018"
                    },
                    format!("{}生产所涉及的能源管理活动", product.name),
                ),
            };
            let (body, code) = cert_body(
                ctx,
                &[
                    "001", "002", "003", "004", "007", "008", "009", "010", "015", "016",
                ],
            );
            let valid = valid_for(issued, 3);
            json!({
                "certificate_no": format!("{code}{:02}{letter}{}R{}M", issued.y % 100, ctx.serial(5), ctx.int(0, 4)),
                "organisation": e.name,
                "uscc": e.uscc,
                "scope": scope,
                "standard": standard,
                "certification_body": body,
                "issued_on": issued.iso(),
                "valid_until": valid.iso(),
                "status": status(ctx, valid, "过期", &["暂停", "撤销", "注销"]),
            })
        }
        "E2-02" => {
            let (crop, tonnes_per_ha, lo, hi, industry) = *ctx.pick(ORGANIC);
            let (name, p) = if ctx.rng.chance(0.5) {
                cooperative(ctx, crop)
            } else {
                let e = company_for(ctx, industry, 1500);
                (e.name, e.province)
            };
            let area = ctx.num(lo, hi, 1);
            let (body, code) = cert_body(ctx, &["001", "011", "012", "013", "014"]);
            let issued = ctx.date();
            let valid = valid_for(issued, 1);
            json!({
                "certificate_no": format!("{code}OP{:02}{}", year % 100, ctx.serial(6)),
                "organisation": name,
                "province_code": p.code,
                "products": crop,
                "area_ha": area,
                "output_t": super::round(area * tonnes_per_ha * ctx.num(0.7, 1.1, 2), 1),
                "certification_body": body,
                "valid_until": valid.iso(),
                "status": status(ctx, valid, "过期", &["暂停", "撤销"]),
            })
        }
        "E2-03" => {
            let (scheme, product, industry, model, code): (&str, &str, &str, &str, &str) = *ctx
                .pick(&[
                    ("节能", "房间空气调节器", "电器", "KFR-35GW/", "701"),
                    ("节能", "家用电冰箱", "电器", "BCD-", "701"),
                    ("节能", "储水式电热水器", "电器", "DSZF-", "701"),
                    ("节能", "LED筒灯", "照明", "TD-", "701"),
                    ("节水", "坐便器", "卫浴", "W", "702"),
                    ("节水", "水嘴", "卫浴", "SZ-", "702"),
                    ("环保", "内墙涂料", "涂料", "NQ-", "703"),
                    ("环保", "人造板", "木业", "E0-", "703"),
                    ("低碳", "通用硅酸盐水泥", "水泥", "P·O 42.5-", "704"),
                    ("低碳", "中小型三相异步电动机", "电机", "YE3-", "704"),
                ]);
            let e = company_for(ctx, industry, 2000);
            json!({
                "certificate_no": format!("CQC{:02}{code}{}", year % 100, ctx.serial(6)),
                "scheme": scheme,
                "organisation": e.name,
                "product": product,
                "models": format!("{model}{}", ctx.int(10, 500)),
                "valid_until": valid_for(ctx.date(), 5).iso(),
            })
        }
        "E2-04" => {
            let gap = ctx.rng.chance(0.5);
            let (body, code) = cert_body(ctx, &["001", "009", "011", "012"]);
            let (name, scope) = if gap {
                let crop = *ctx.pick(&["苹果", "柑橘", "茶叶", "蔬菜", "葡萄"]);
                (
                    cooperative(ctx, crop).0,
                    format!("{crop}的种植、采收和初加工"),
                )
            } else {
                let food = *ctx.pick(&["速冻水饺", "肉制品", "乳制品", "饮料", "罐头"]);
                (company_for(ctx, "食品", 3000).name, format!("{food}的生产"))
            };
            json!({
                "certificate_no": format!("{code}{}{:02}{}", if gap { "GAP" } else { "HACCP" }, year % 100, ctx.serial(5)),
                "scheme": if gap { "GAP" } else { "HACCP" },
                "organisation": name,
                "scope": scope,
                "certification_body": body,
                "valid_until": valid_for(ctx.date(), 3).iso(),
            })
        }
        "E2-05" => {
            let (body, p) = match CERT_BODIES.get(ctx.i) {
                Some((name, _, code)) => (
                    (*name).to_owned(),
                    vocab::province(code).unwrap_or(&PROVINCES[0]),
                ),
                None => {
                    let p = ctx.province;
                    let city = city_of(ctx.rng, p).trim_end_matches('市');
                    (
                        format!("{city}{}{}认证有限公司", ctx.pick(NAME_A), ctx.pick(NAME_B)),
                        p,
                    )
                }
            };
            let scope = *ctx.pick(&[
                "管理体系认证：质量管理体系、环境管理体系、职业健康安全管理体系",
                "产品认证：自愿性产品认证",
                "服务认证：商品售后服务认证",
                "管理体系认证：食品安全管理体系、危害分析与关键控制点（HACCP）体系",
            ]);
            json!({
                "approval_no": format!("CNCA-R-{}-{}", 2002 + ctx.i % 23, serial(ctx.i, 3)),
                "body": body,
                "uscc": crate::text::uscc(ctx.rng, &format!("{}0100", &p.code[..2])),
                "province_code": p.code,
                "scope": scope,
                "valid_until": valid_for(ctx.date(), 6).iso(),
            })
        }
        "E3-01" => {
            let p = ctx.province;
            let city = city_of(ctx.rng, p);
            let (name, scope, p, address) = match ctx.int(0, 3) {
                0 => (
                    format!("{}产品质量监督检验研究院", p.full),
                    "电器安全、纺织品、玩具、建材",
                    p,
                    address_in(ctx.rng, p, city),
                ),
                1 => (
                    format!("{city}疾病预防控制中心"),
                    "食品理化、食品微生物、职业卫生",
                    p,
                    address_in(ctx.rng, p, city),
                ),
                2 => {
                    let product = &vocab::PRODUCTS[ctx.rng.below(vocab::PRODUCTS.len())];
                    let e = crate::enterprise::enterprise(seed, product, ctx.rng.below(2000));
                    (
                        format!("{}检测中心", e.name),
                        product.name,
                        e.province,
                        e.address,
                    )
                }
                _ => (
                    format!(
                        "{}{}分公司",
                        ctx.pick(vocab::COMMERCIAL_LABS),
                        city.trim_end_matches('市')
                    ),
                    "环境监测、食品、消费品",
                    p,
                    address_in(ctx.rng, p, city),
                ),
            };
            json!({
                "registration_no": format!("CNAS L{}", ctx.serial(5)),
                "laboratory": name,
                "address": address,
                "province_code": p.code,
                "scope": scope,
                "valid_until": valid_for(ctx.date(), 6).iso(),
                "status": *ctx.pick(&["有效", "有效", "有效", "有效", "有效", "有效", "暂停", "撤销"]),
            })
        }
        "E3-02" => {
            let p = ctx.province;
            let city = city_of(ctx.rng, p).trim_end_matches('市');
            let (kind, code, name, scope) = match ctx.int(0, 3) {
                0 => (
                    "检验机构",
                    "IB",
                    format!("{city}{}{}检验有限公司", ctx.pick(NAME_A), ctx.pick(NAME_B)),
                    "进出口商品检验、公估鉴定",
                ),
                1 => (
                    "认证机构",
                    "C",
                    ctx.pick(CERT_BODIES).0.to_owned(),
                    "质量管理体系、环境管理体系认证",
                ),
                2 => (
                    "能力验证提供者",
                    "P",
                    format!("{}计量科学研究院", p.full),
                    "校准和检测能力验证",
                ),
                _ => (
                    "审定与核查机构",
                    "V",
                    format!("{city}{}碳排放核查有限公司", ctx.pick(NAME_A)),
                    "温室气体排放核查",
                ),
            };
            json!({
                "registration_no": format!("CNAS {code}{}", ctx.serial(4)),
                "body": name,
                "kind": kind,
                "scope": scope,
                "valid_until": valid_for(ctx.date(), 6).iso(),
            })
        }
        "E3-03" => {
            let e = company_for(ctx, "检测技术", 5000);
            json!({
                "certificate_no": format!("{:02}{}{}", year % 100, &e.province.code[..2], ctx.serial(8)),
                "body": e.name,
                "uscc": e.uscc,
                "address": e.address,
                "province_code": e.province.code,
                "issuing_authority": regulator(e.province, year),
                "valid_until": valid_for(ctx.date(), 6).iso(),
            })
        }
        "E3-04" => {
            let p = ctx.grid_province();
            let bodies =
                (52_000.0 * (p.weight + 0.8) / 40.0 * (0.8 + 0.4 * ctx.rng.f64())).round() as i64;
            json!({
                "province": p.full,
                "bodies": bodies,
                "staff": bodies * ctx.int(20, 32),
                "revenue_100m_cny": super::round(bodies as f64 * ctx.num(0.0045, 0.0085, 5), 1),
                "reports_10k": bodies * ctx.int(1, 3) / 2 + 1,
            })
        }
        "E4-01" => {
            let e = company(seed, "食品", ctx.i);
            json!({
                "filing_no": format!("{}00/{}", &e.province.code[..2], ctx.serial(5)),
                "enterprise": e.name,
                "address": e.address,
                "product_category": *ctx.pick(EXPORT_FOODS),
                "port": port_of(e.province),
            })
        }
        "E4-02" => {
            let food = ctx.pick(words::FOODS);
            let origin = country(ctx.pick::<&str>(food.origins));
            let registered = ctx.date_back(5);
            let valid = valid_for(registered, 5);
            let status = if valid < ctx.as_of() {
                "注销"
            } else if ctx.rng.chance(0.04) {
                *ctx.pick(&["暂停", "撤销"])
            } else {
                "有效"
            };
            json!({
                "country": origin.zh,
                "registration_no": format!("C{}{}", origin.iso3, ctx.serial(6)),
                "enterprise": foreign_company(ctx.rng, origin, food.en),
                "address": foreign_address(ctx.rng, origin),
                "product_category": food.category,
                "registered_on": registered.iso(),
                "valid_until": valid.iso(),
                "status": status,
            })
        }
        "E4-03" => {
            let role = *ctx.pick(&["境外出口商", "境外代理商", "境内进口商", "境内进口商"]);
            let (filing, name, place) = if role == "境内进口商" {
                let p = ctx.province;
                let city = city_of(ctx.rng, p);
                (
                    format!("{}00{}", &p.code[..2], ctx.serial(6)),
                    trader(ctx.rng, city),
                    "中国".to_owned(),
                )
            } else {
                let food = ctx.pick(words::FOODS);
                let origin = country(ctx.pick::<&str>(food.origins));
                (
                    format!("{}{year}{}", origin.iso3, ctx.serial(5)),
                    foreign_company(ctx.rng, origin, food.en),
                    origin.zh.to_owned(),
                )
            };
            json!({
                "filing_no": filing,
                "role": role,
                "enterprise": name,
                "country": place,
                "filed_on": ctx.date().iso(),
            })
        }
        "E4-04" => {
            let e = company_for(ctx, "食品", 4000);
            let destination = *ctx.pick(&["欧盟", "美国", "俄罗斯", "韩国", "智利", "新西兰"]);
            let number = match destination {
                "欧盟" => format!("{}00/{}", &e.province.code[..2], ctx.serial(5)),
                "美国" => format!("FEI {}", ctx.serial(10)),
                "俄罗斯" => format!("CN-{}", ctx.serial(5)),
                other => format!("{}-{}", country(other).iso3, ctx.serial(6)),
            };
            json!({
                "destination_country": destination,
                "enterprise": e.name,
                "products": *ctx.pick(&["水产品", "禽肉制品", "蜂蜜", "肠衣", "乳制品", "罐头"]),
                "registration_no": number,
                "registered_on": ctx.date().iso(),
            })
        }
        _ => return None,
    })
}
