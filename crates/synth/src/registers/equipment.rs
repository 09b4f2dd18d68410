//! B: special equipment safety: counts, elevator registrations, licensed manufacturers and
//! operators, type tests, inspection bodies and statistics, accidents and the 96333 hotline.

use serde_json::{Value, json};

use crate::rng::{Rng, hash};
use crate::vocab::{PROVINCES, Province};

use super::lists;
use super::names::{company, company_for, foreign_company};
use super::words::{self, country};
use super::{Ctx, address_in, city_of, round, valid_for};

/// Equipment types of the statistics: name, national count of 2021, unit, yearly growth,
/// share of accidents, the industry word of its makers, the national test centre.
static TYPES: &[(&str, f64, &str, f64, f64, &str, &str)] = &[
    (
        "锅炉",
        330_000.0,
        "台",
        0.98,
        0.05,
        "锅炉",
        "国家锅炉压力容器质量检验检测中心",
    ),
    (
        "压力容器",
        4_400_000.0,
        "台",
        1.05,
        0.07,
        "压力容器",
        "国家锅炉压力容器质量检验检测中心",
    ),
    (
        "电梯",
        8_800_000.0,
        "台",
        1.08,
        0.25,
        "电梯",
        "国家电梯质量检验检测中心",
    ),
    (
        "起重机械",
        2_500_000.0,
        "台",
        1.04,
        0.30,
        "起重机械",
        "国家起重运输机械质量检验检测中心",
    ),
    (
        "客运索道",
        1_100.0,
        "台",
        1.02,
        0.01,
        "索道",
        "国家客运架空索道安全监督检验中心",
    ),
    (
        "大型游乐设施",
        25_000.0,
        "台",
        1.03,
        0.03,
        "游乐设备",
        "国家游乐设施质量检验检测中心",
    ),
    (
        "场（厂）内专用机动车辆",
        1_200_000.0,
        "台",
        1.06,
        0.20,
        "叉车",
        "国家叉车质量检验检测中心",
    ),
    (
        "气瓶",
        200_000_000.0,
        "只",
        1.03,
        0.05,
        "气瓶",
        "国家气瓶质量检验检测中心",
    ),
    (
        "压力管道",
        1_000_000.0,
        "公里",
        1.05,
        0.03,
        "管道",
        "国家压力管道元件质量检验检测中心",
    ),
];

fn equipment(
    name: &str,
) -> &'static (
    &'static str,
    f64,
    &'static str,
    f64,
    f64,
    &'static str,
    &'static str,
) {
    TYPES.iter().find(|t| t.0 == name).unwrap_or(&TYPES[2])
}

/// Share of a province in the national equipment stock.
fn share(p: &Province) -> f64 {
    let total: f64 = PROVINCES.iter().map(|p| p.weight + 0.8).sum();
    (p.weight + 0.8) / total
}

/// Growth factor of a stock from 2021 to a year.
fn grown(rate: f64, year: i32) -> f64 {
    rate.powi(year - 2021)
}

/// Elevator makers and their model series.
static ELEVATOR_MAKERS: &[(&str, &[&str])] = &[
    (
        "通力电梯有限公司",
        &["MonoSpace 500", "MiniSpace", "TransysDD"],
    ),
    ("日立电梯（中国）有限公司", &["HGP", "UAX", "HGE"]),
    ("上海三菱电梯有限公司", &["LEHY-III", "HOPE-II", "ELENESSA"]),
    ("奥的斯机电电梯有限公司", &["GeN2-MRL", "SkyBuild"]),
    ("迅达（中国）电梯有限公司", &["3300", "5500", "7000"]),
    ("蒂升电梯（中国）有限公司", &["synergy", "evolution"]),
    ("康力电梯股份有限公司", &["KLK2", "KLW", "KLA"]),
    ("广州广日电梯工业有限公司", &["GRPS", "GRPS-L"]),
    ("东芝电梯（中国）有限公司", &["SPACEL-GR", "CV-N"]),
];

/// Licensed items of special-equipment production with their parameters, the equipment
/// code digit of the licence number, and the industry word of their holders.
static LICENCE_ITEMS: &[(&str, &[&str], u8, &str)] = &[
    ("锅炉制造", &["A级", "B级"], 1, "锅炉"),
    (
        "压力容器制造",
        &["A1级", "A2级", "C2级", "D级"],
        2,
        "压力容器",
    ),
    (
        "电梯制造",
        &["曳引驱动乘客电梯（A1）", "自动扶梯与自动人行道（A）"],
        3,
        "电梯",
    ),
    (
        "电梯安装（含修理）",
        &["A1级", "A2级", "B级"],
        3,
        "电梯工程",
    ),
    (
        "起重机械制造",
        &["桥式、门式起重机（A）", "流动式起重机（B）"],
        4,
        "起重机械",
    ),
    ("起重机械安装（含修理）", &["A级", "B级"], 4, "起重设备"),
    ("大型游乐设施制造", &["A级", "B级"], 6, "游乐设备"),
    ("场（厂）内专用机动车辆制造", &["叉车", "观光车"], 5, "叉车"),
    ("气瓶制造", &["无缝气瓶", "焊接气瓶"], 2, "气瓶"),
    (
        "气瓶充装",
        &["永久气体", "液化石油气", "溶解乙炔"],
        2,
        "气体",
    ),
    (
        "压力管道元件制造",
        &["无缝钢管（B1）", "阀门（B2）"],
        8,
        "管道",
    ),
    ("安全附件制造", &["安全阀", "爆破片装置"], 2, "阀门"),
];

/// Accident types by equipment type, with the usual cause.
fn accident(name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match name {
        "电梯" => (
            &["剪切挤压", "坠落", "困人"],
            &["维护保养不到位", "违章作业", "安全部件失效"],
        ),
        "起重机械" => (
            &["倾覆", "坠落", "剪切挤压", "物体打击"],
            &["违章作业", "超载作业", "设备缺陷"],
        ),
        "锅炉" | "压力容器" | "气瓶" => {
            (&["爆炸", "泄漏"], &["安全附件失效", "超压运行", "违规充装"])
        }
        "压力管道" => (&["泄漏", "爆炸"], &["腐蚀减薄", "第三方施工破坏"]),
        "场（厂）内专用机动车辆" => {
            (&["碰撞", "倾覆", "剪切挤压"], &["违章驾驶", "无证作业"])
        }
        _ => (
            &["坠落", "碰撞", "剪切挤压"],
            &["设备缺陷", "管理不善", "违章操作"],
        ),
    }
}

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let province = ctx.grid_province();
    let year = ctx.year;
    Some(match id {
        "B1-01" => {
            let t = equipment(ctx.grid_str("equipment_type").unwrap_or("电梯"));
            let q = t.1 * share(province) * grown(t.3, year) * (0.85 + 0.3 * ctx.rng.f64());
            json!({
                "province": province.full,
                "quantity": if t.2 == "公里" { round(q, 1) } else { q.round() },
                "unit": t.2,
            })
        }
        "B1-02" => {
            let (maker, models) = *ctx.pick(ELEVATOR_MAKERS);
            let city = city_of(ctx.rng, province);
            let division = format!(
                "{}{:02}{:02}",
                &province.code[..2],
                ctx.int(1, 9),
                ctx.int(1, 20)
            );
            let floors = ctx.int(6, 33);
            let load = *ctx.pick(&[630.0, 800.0, 1000.0, 1050.0, 1350.0, 1600.0]);
            let speed = if floors > 18 {
                *ctx.pick(&[2.0, 2.5])
            } else {
                *ctx.pick(&[1.0, 1.5, 1.75])
            };
            let short = city.trim_end_matches('市');
            let unit = match ctx.int(0, 3) {
                0 => format!(
                    "{short}{}{}物业服务有限公司",
                    ctx.pick(crate::vocab::NAME_A),
                    ctx.pick(crate::vocab::NAME_B)
                ),
                1 => format!("{city}第一人民医院"),
                2 => format!(
                    "{short}{}{}置业有限公司",
                    ctx.pick(crate::vocab::NAME_A),
                    ctx.pick(crate::vocab::NAME_B)
                ),
                _ => format!(
                    "{short}{}{}商业管理有限公司",
                    ctx.pick(crate::vocab::NAME_A),
                    ctx.pick(crate::vocab::NAME_B)
                ),
            };
            let abbr = if province.abbr.is_empty() {
                "兵"
            } else {
                province.abbr
            };
            let installed = ctx.date_back(8);
            let next = super::plus_days(ctx.as_of(), ctx.int(10, 360) as u32);
            json!({
                "registration_no": format!("梯11{abbr}{}{}({:02})", ctx.pick(&["A", "B", "C", "D"]), ctx.serial(5), installed.y % 100),
                "device_code": format!("3110{division}{}{}", installed.y, ctx.serial(6)),
                "user_unit": unit,
                "installation_address": address_in(ctx.rng, province, city),
                "province_code": province.code,
                "manufacturer": maker,
                "model": *ctx.pick(models),
                "rated_load_kg": load,
                "rated_speed_ms": speed,
                "floors_stops_doors": format!("{floors}/{floors}/{floors}"),
                "next_inspection_on": next.iso(),
            })
        }
        "B1-03" => {
            let kind = ctx.grid_str("cylinder_type").unwrap_or("无缝气瓶");
            let part = match kind {
                "液化石油气钢瓶" => 0.45,
                "车用气瓶" => 0.08,
                "溶解乙炔气瓶" => 0.05,
                "焊接气瓶" => 0.12,
                _ => 0.30,
            };
            let n = 200_000_000.0
                * part
                * share(province)
                * grown(1.03, year)
                * (0.85 + 0.3 * ctx.rng.f64());
            json!({
                "province": province.full,
                "cylinders": n.round() as i64,
                "filling_stations": (n / 60_000.0).round().max(1.0) as i64,
            })
        }
        "B1-04" => {
            let kind = ctx.grid_str("boiler_type").unwrap_or("工业锅炉");
            let (lo, hi) = match kind {
                "电站锅炉" => (90.0, 94.5),
                "工业锅炉" => (76.0, 88.0),
                _ => (72.0, 86.0),
            };
            json!({
                "province": province.full,
                "tested": ctx.int(20, 1500),
                "mean_efficiency": ctx.num(lo, hi, 1),
                "compliance_rate": ctx.num(68.0, 98.0, 1),
            })
        }
        "B1-05" => {
            let name = ctx.grid_str("indicator").unwrap_or("特种设备总量");
            let (_, unit, from, to) = *lists::INDICATORS
                .iter()
                .find(|x| x.0 == name)
                .unwrap_or(&lists::INDICATORS[0]);
            let at = |y: i32| from + (to - from) * f64::from((y - 2005).clamp(0, 20)) / 20.0;
            let noise = 0.97 + 0.06 * ctx.rng.f64();
            let value = at(year) * noise;
            let places = if value < 10.0 {
                3
            } else if value < 1000.0 {
                2
            } else {
                0
            };
            json!({
                "value": round(value, places),
                "unit": unit,
                "yoy_change": round((100.0 * (at(year) / at(year - 1) - 1.0)).abs(), 1),
            })
        }
        "B2-01" => {
            let licence = ctx.i / 3;
            let mut rng = Rng::new(ctx.seed, &["B2-01", &licence.to_string()]);
            let first = rng.below(LICENCE_ITEMS.len());
            let (item, params, digit, _) = LICENCE_ITEMS[(first + ctx.i % 3) % LICENCE_ITEMS.len()];
            let industry = LICENCE_ITEMS[first].3;
            let e = company(ctx.seed, industry, licence);
            // Issued within the four years before the publication.
            let issued = year - rng.range(0, 3) as i32;
            json!({
                "licence_no": format!("TS{digit}{}{}-{}", &e.province.code[..2], super::serial(licence, 5), issued + 4),
                "enterprise": e.name,
                "uscc": e.uscc,
                "province_code": e.province.code,
                "licensed_item": item,
                "parameters": *ctx.pick(params),
                "valid_until": format!("{}-{:02}-{:02}", issued + 4, rng.range(1, 12), rng.range(1, 28)),
            })
        }
        "B2-02" => {
            let code = ctx.grid_str("work_code").unwrap_or("A");
            let name = lists::WORK_CODES
                .iter()
                .find(|w| w.0 == code)
                .map_or("特种设备安全管理", |w| w.1);
            let weight = match code {
                "N1" | "A" | "Q2" => 3.0,
                "T" | "P" | "G1" => 1.0,
                _ => 0.2,
            };
            json!({
                "province": province.full,
                "work_name": name,
                "certificates": (12_000_000.0 * weight / 12.0 * share(province) * grown(1.05, year) * (0.8 + 0.4 * ctx.rng.f64())).round() as i64,
            })
        }
        "B2-03" => {
            let t = *ctx.pick(TYPES);
            let kind = *ctx.pick(&["型式试验", "型式试验", "设计文件鉴定"]);
            let e = company_for(ctx, t.5, 1500);
            let letter = if kind == "型式试验" { "X" } else { "S" };
            let model = format!(
                "{}{}-{}",
                ctx.pick(&["JX", "TK", "HS", "QD", "GL"]),
                ctx.int(10, 99),
                ctx.int(100, 990)
            );
            json!({
                "certificate_no": format!("TS{letter}{}{}", year, ctx.serial(6)),
                "kind": kind,
                "enterprise": e.name,
                "equipment_type": t.0,
                "model": model,
                "agency": t.6,
                "issued_on": ctx.date().iso(),
            })
        }
        "B2-04" => {
            let t = *ctx.pick(&TYPES[..8]);
            let (origins, word): (&[&str], &str) = match t.0 {
                "电梯" => (&["芬兰", "瑞士", "日本", "德国"], "Elevator"),
                "起重机械" => (&["德国", "日本", "美国", "芬兰"], "Cranes"),
                "锅炉" => (&["德国", "意大利", "芬兰"], "Boilers"),
                "客运索道" => (&["奥地利", "瑞士", "法国"], "Ropeways"),
                "大型游乐设施" => (&["荷兰", "瑞士", "意大利", "德国"], "Amusement Rides"),
                "场（厂）内专用机动车辆" => (&["日本", "德国", "美国"], "Forklift"),
                "气瓶" => (&["美国", "英国", "德国"], "Cylinders"),
                _ => (&["德国", "日本", "美国", "韩国"], "Pressure Vessels"),
            };
            let origin = *ctx.pick(origins);
            let maker = foreign_company(ctx.rng, country(origin), word);
            json!({
                "equipment_type": t.0,
                "origin_country": origin,
                "manufacturer": maker,
                "quantity": ctx.int(1, if t.0 == "气瓶" { 5000 } else { 40 }),
                "conclusion": if ctx.rng.chance(0.04) { "不合格" } else { "合格" },
                "port": *ctx.pick(words::PORTS),
            })
        }
        "B3-01" => {
            let kind = *ctx.pick(&[
                "综合检验机构",
                "综合检验机构",
                "无损检测机构",
                "无损检测机构",
                "气瓶检验机构",
                "安全阀校验机构",
                "型式试验机构",
                "房屋建筑工地和市政工程工地起重机械检验机构",
            ]);
            let (name, p, items, digit) = match kind {
                "综合检验机构" => {
                    let p = province;
                    let city = city_of(ctx.rng, p);
                    let name = if ctx.rng.chance(0.3) || p.cities.is_empty() {
                        format!("{}特种设备检验研究院", p.full)
                    } else {
                        format!("{city}特种设备检验检测研究院")
                    };
                    (
                        name,
                        p,
                        "锅炉、压力容器、电梯、起重机械、场（厂）内专用机动车辆定期检验和监督检验",
                        1,
                    )
                }
                "型式试验机构" => {
                    let t = *ctx.pick(TYPES);
                    (
                        t.6.to_owned(),
                        PROVINCES
                            .iter()
                            .find(|p| p.code == "110000")
                            .unwrap_or(province),
                        "型式试验",
                        2,
                    )
                }
                other => {
                    let (industry, items): (&'static str, &str) = match other {
                        "无损检测机构" => (
                            "无损检测",
                            "射线检测（RT）、超声检测（UT）、磁粉检测（MT）、渗透检测（PT）",
                        ),
                        "气瓶检验机构" => ("气瓶检验", "无缝气瓶、焊接气瓶定期检验"),
                        "安全阀校验机构" => ("安全阀校验", "安全阀校验"),
                        _ => ("建筑起重机械检测", "塔式起重机、施工升降机检验"),
                    };
                    let e = company_for(ctx, industry, 3000);
                    (e.name, e.province, items, 3)
                }
            };
            let valid = valid_for(ctx.date(), 4);
            json!({
                "approval_no": format!("TS7{digit}{}{}-{}", &p.code[..2], ctx.serial(5), valid.y),
                "enterprise": name,
                "province_code": p.code,
                "body_type": kind,
                "approved_items": items,
                "valid_until": valid.iso(),
            })
        }
        "B3-02" | "B3-03" => {
            let t = equipment(ctx.grid_str("equipment_type").unwrap_or("电梯"));
            let stock = t.1 * share(province) * grown(t.3, year);
            let inspected = if id == "B3-02" {
                stock * (0.6 + 0.3 * ctx.rng.f64())
            } else {
                stock * (0.04 + 0.06 * ctx.rng.f64())
            };
            let inspected = inspected.round().max(1.0) as i64;
            let found = (inspected as f64 * ctx.num(0.005, 0.04, 4)).round() as i64;
            let mut o = json!({ "province": province.full, "inspected": inspected });
            if let Some(m) = o.as_object_mut() {
                m.insert(
                    if id == "B3-02" { "hazards" } else { "problems" }.into(),
                    json!(found),
                );
            }
            o
        }
        "B3-04" => {
            let grade = ctx.grid_str("grade").unwrap_or("检验员");
            let base = if grade == "检验员" {
                40_000.0
            } else {
                15_000.0
            };
            json!({
                "province": province.full,
                "inspectors": (base * share(province) * (0.85 + 0.3 * ctx.rng.f64())).round() as i64,
            })
        }
        "B4-01" => {
            let t = equipment(ctx.grid_str("equipment_type").unwrap_or("电梯"));
            let total = 320.0 + (95.0 - 320.0) * f64::from((year - 2005).clamp(0, 20)) / 20.0;
            let accidents = (total * t.4 * (0.7 + 0.6 * ctx.rng.f64())).round() as i64;
            let deaths = (accidents as f64 * ctx.num(0.6, 1.2, 2)).round() as i64;
            let stock = t.1 * grown(t.3, year) / 10_000.0;
            json!({
                "accidents": accidents,
                "deaths": deaths,
                "injuries": (accidents as f64 * ctx.num(0.2, 0.6, 2)).round() as i64,
                "deaths_per_10k_units": round(deaths as f64 / stock.max(0.01), 3),
            })
        }
        "B4-02" => {
            let t = *ctx.pick(TYPES);
            let (kinds, causes) = accident(t.0);
            let city = city_of(ctx.rng, province);
            let place = *ctx.pick(&[
                "某住宅小区",
                "某建筑工地",
                "某化工企业",
                "某商场",
                "某物流园区",
                "某游乐园",
            ]);
            let deaths = ctx.int(0, 3);
            json!({
                "occurred_on": ctx.date().iso(),
                "province_code": province.code,
                "province": province.full,
                "location": format!("{}{place}", if city == province.full { "" } else { city }),
                "equipment_type": t.0,
                "accident_type": *ctx.pick(kinds),
                "deaths": deaths,
                "injuries": ctx.int(i64::from(deaths == 0), 4),
                "cause": *ctx.pick(causes),
                "handling": *ctx.pick(&["责令停产整顿，对相关责任人依法追责", "移送司法机关处理", "对使用单位处以罚款并责令整改", "吊销相关作业人员证书"]),
            })
        }
        "B4-03" => {
            let orders = (162_800.0 * share(province) * (0.7 + 0.6 * ctx.rng.f64())).round() as i64;
            json!({
                "province": province.full,
                "orders": orders,
                "hazards": orders * ctx.int(2, 5),
                "units_stopped": (orders as f64 * ctx.num(0.005, 0.02, 4)).round() as i64,
            })
        }
        "B4-04" => {
            let city = ctx.grid_str("city").unwrap_or("杭州市");
            let code = lists::HOTLINE_CITIES
                .iter()
                .find(|c| c.0 == city)
                .map_or("330000", |c| c.1);
            let size = 0.5 + (hash(0, &[city]) % 100) as f64 / 40.0;
            let calls = (3000.0 * size * (0.8 + 0.4 * ctx.rng.f64())).round() as i64;
            json!({
                "province_code": code,
                "calls": calls,
                "entrapments": (calls as f64 * ctx.num(0.3, 0.6, 3)).round() as i64,
                "mean_arrival_minutes": ctx.num(8.0, 22.0, 1),
            })
        }
        _ => return None,
    })
}
