//! C: metrology: measurement standards and reference materials, instrument approvals and
//! licences, legal metrology institutes, technical regulations and metrological supervision.

use serde_json::{Value, json};

use crate::vocab::{self, PROVINCES, Province};

use super::lists;
use super::names::{company_for, foreign_company};
use super::words::country;
use super::{Ctx, address_in, city_of, plus_days, round, valid_for};

/// National primary measurement standards: name, range, uncertainty, custodian.
pub static NATIONAL_STANDARDS: &[(&str, &str, &str, &str)] = &[
    (
        "质量国家基准（千克）",
        "1 kg",
        "Urel=2×10^-8 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "长度国家基准（碘稳频激光波长）",
        "633 nm",
        "Urel=2.5×10^-11 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "时间频率国家基准（铯原子喷泉钟）",
        "1 s",
        "Urel=5×10^-16 (k=1)",
        "中国计量科学研究院",
    ),
    (
        "热力学温度国家基准（水三相点）",
        "273.16 K",
        "U=0.1 mK (k=2)",
        "中国计量科学研究院",
    ),
    (
        "直流电压国家基准（约瑟夫森）",
        "1 V～10 V",
        "Urel=1×10^-9 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "直流电阻国家基准（量子化霍尔）",
        "1 Ω～100 kΩ",
        "Urel=5×10^-9 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "发光强度国家基准",
        "0.1 cd～1000 cd",
        "Urel=0.5% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "声压国家基准",
        "20 Hz～20 kHz",
        "U=0.05 dB (k=2)",
        "中国计量科学研究院",
    ),
    (
        "空气比释动能国家基准（γ射线）",
        "10 mGy/h～1 Gy/h",
        "Urel=0.4% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "压力国家基准（活塞式）",
        "0.05 MPa～500 MPa",
        "Urel=2×10^-5 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "力值国家基准（静重式）",
        "10 N～1 MN",
        "Urel=2×10^-5 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "大力值国家基准",
        "1 MN～20 MN",
        "Urel=1×10^-4 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "洛氏硬度国家基准",
        "20 HRC～70 HRC",
        "U=0.3 HRC (k=2)",
        "中国计量科学研究院",
    ),
    (
        "扭矩国家基准",
        "1 N·m～20 kN·m",
        "Urel=5×10^-5 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "水流量国家基准",
        "0.1 m3/h～1000 m3/h",
        "Urel=0.05% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "气体流量国家基准",
        "0.01 m3/h～1000 m3/h",
        "Urel=0.1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "高频功率国家基准",
        "10 MHz～18 GHz",
        "Urel=0.5% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "交流电压国家基准",
        "10 mV～1000 V",
        "Urel=5×10^-6 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "电容国家基准",
        "1 pF～10 nF",
        "Urel=1×10^-7 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "电感国家基准",
        "10 μH～10 H",
        "Urel=2×10^-5 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "光谱辐射亮度国家基准",
        "250 nm～2500 nm",
        "Urel=1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "激光功率国家基准",
        "1 mW～1 W",
        "Urel=0.3% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "振动国家基准",
        "1 Hz～10 kHz",
        "Urel=0.5% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "平面角国家基准",
        "0°～360°",
        "U=0.05″ (k=2)",
        "中国计量科学研究院",
    ),
    (
        "真空国家基准",
        "10^-6 Pa～10^3 Pa",
        "Urel=1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "运动粘度国家基准",
        "1 mm2/s～100000 mm2/s",
        "Urel=0.1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "pH国家基准",
        "pH 1～pH 13",
        "U=0.003 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "电导率国家基准",
        "0.1 μS/cm～10 S/m",
        "Urel=0.1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "固体密度国家基准",
        "1 g/cm3～23 g/cm3",
        "Urel=2×10^-6 (k=2)",
        "中国计量科学研究院",
    ),
    (
        "湿度国家基准",
        "-80 ℃～+20 ℃ 露点",
        "U=0.05 ℃ (k=2)",
        "中国计量科学研究院",
    ),
    (
        "中子注量国家基准",
        "0.1 MeV～20 MeV",
        "Urel=3% (k=2)",
        "中国原子能科学研究院",
    ),
    (
        "放射性活度国家基准",
        "10 Bq～10^10 Bq",
        "Urel=1% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "超声功率国家基准",
        "10 mW～20 W",
        "Urel=5% (k=2)",
        "中国计量科学研究院",
    ),
    (
        "水声声压国家基准",
        "1 Hz～1 MHz",
        "U=0.5 dB (k=2)",
        "杭州应用声学研究所",
    ),
    (
        "辐射温度国家基准",
        "-50 ℃～3000 ℃",
        "U=0.1 ℃ (k=2)",
        "中国计量科学研究院",
    ),
    (
        "冲击加速度国家基准",
        "100 m/s2～100000 m/s2",
        "Urel=1% (k=2)",
        "中国测试技术研究院",
    ),
    (
        "线纹国家基准",
        "0 m～1 m",
        "U=(0.02+0.1L) μm (k=2)",
        "中国计量科学研究院",
    ),
    (
        "色度国家基准",
        "380 nm～780 nm",
        "U=0.002 (k=2)",
        "中国计量科学研究院",
    ),
];

/// Measurement standard devices: name, range, uncertainty or class.
static STANDARD_DEVICES: &[(&str, &str, &str)] = &[
    ("砝码标准装置", "1 mg～20 kg", "E2等级"),
    ("电子天平检定装置", "(0.1～2000) g", "F1等级砝码"),
    ("压力表标准装置", "(0～60) MPa", "0.05级"),
    ("出租汽车计价器检定装置", "(0～99) km", "Urel=0.2% (k=2)"),
    ("水表检定装置", "DN15～DN50", "Urel=0.2% (k=2)"),
    ("电能表检定装置", "(57.7～380) V，(0.01～100) A", "0.05级"),
    ("燃油加油机检定装置", "(5～100) L/min", "二等标准金属量器"),
    ("血压计检定装置", "(0～40) kPa", "U=0.1 kPa (k=2)"),
    ("心电图机检定装置", "(0.1～10) mV", "Urel=1% (k=2)"),
    ("热电偶检定装置", "(300～1300) ℃", "U=0.8 ℃ (k=2)"),
    (
        "工作用玻璃液体温度计标准装置",
        "(-30～300) ℃",
        "U=0.05 ℃ (k=2)",
    ),
    ("声级计检定装置", "(40～130) dB", "U=0.3 dB (k=2)"),
    ("电子汽车衡检定装置", "(0～100) t", "M1等级砝码"),
    ("燃气表检定装置", "(0.016～16) m3/h", "Urel=0.5% (k=2)"),
    (
        "呼出气体酒精含量检测仪检定装置",
        "(0～200) mg/100mL",
        "U=2 mg/100mL (k=2)",
    ),
    ("验光仪检定装置", "(-25～+25) m^-1", "U=0.06 m^-1 (k=2)"),
    (
        "机动车雷达测速仪检定装置",
        "(20～300) km/h",
        "U=0.5 km/h (k=2)",
    ),
];

/// Certified reference materials: name, value, unit, relative uncertainty (%), producer.
static CRMS: &[(&str, f64, &str, f64, &str)] = &[
    (
        "土壤中铅成分分析标准物质",
        25.0,
        "mg/kg",
        6.0,
        "中国地质科学院地球物理地球化学勘查研究所",
    ),
    (
        "水中铅溶液标准物质",
        1000.0,
        "μg/mL",
        0.7,
        "国家有色金属及电子材料分析测试中心",
    ),
    (
        "甲醛溶液标准物质",
        1000.0,
        "μg/mL",
        1.0,
        "国家标准物质研究中心",
    ),
    (
        "氮中一氧化碳气体标准物质",
        100.0,
        "μmol/mol",
        1.0,
        "中国计量科学研究院",
    ),
    (
        "大米粉中镉成分分析标准物质",
        0.52,
        "mg/kg",
        6.0,
        "中国计量科学研究院",
    ),
    (
        "奶粉中三聚氰胺成分分析标准物质",
        2.35,
        "mg/kg",
        5.0,
        "中国计量科学研究院",
    ),
    (
        "乙醇中水分标准物质",
        1.0,
        "mg/g",
        2.0,
        "国家标准物质研究中心",
    ),
    (
        "低合金钢成分分析标准物质（碳）",
        0.182,
        "%",
        2.0,
        "钢研纳克检测技术股份有限公司",
    ),
    (
        "煤灰分标准物质",
        15.2,
        "%",
        1.5,
        "煤炭科学技术研究院有限公司",
    ),
    (
        "黄铜成分分析标准物质（铜）",
        62.1,
        "%",
        0.2,
        "国家有色金属及电子材料分析测试中心",
    ),
    (
        "甲醇中毒死蜱溶液标准物质",
        100.0,
        "μg/mL",
        2.0,
        "农业农村部环境保护科研监测所",
    ),
    (
        "乙腈中黄曲霉毒素B1溶液标准物质",
        10.0,
        "μg/mL",
        3.0,
        "中国计量科学研究院",
    ),
    (
        "人血清葡萄糖标准物质",
        5.62,
        "mmol/L",
        1.5,
        "国家卫生健康委临床检验中心",
    ),
    (
        "pH标准物质（邻苯二甲酸氢钾）",
        4.003,
        "pH",
        0.1,
        "中国计量科学研究院",
    ),
];

/// Instruments approved and licensed: name, model prefix, accuracy class, industry word.
static INSTRUMENTS: &[(&str, &str, &str, &str)] = &[
    ("电子计价秤", "ACS-", "Ⅲ级", "衡器"),
    ("电子汽车衡", "SCS-", "Ⅲ级", "衡器"),
    ("单相电能表", "DDZY", "2级", "电表"),
    ("三相电能表", "DTZY", "1级", "电表"),
    ("冷水水表", "LXS-", "2级", "水表"),
    ("膜式燃气表", "G", "1.5级", "燃气表"),
    ("燃油加油机", "CS", "0.3级", "加油机"),
    ("出租汽车计价器", "JJ", "±1%", "计价器"),
    ("电子血压计", "BP", "±0.4 kPa", "医疗器械"),
    ("弹簧管式压力表", "Y-", "1.6级", "仪表"),
    ("声级计", "AWA", "1级", "仪器"),
    ("呼出气体酒精含量检测仪", "ALC-", "±5%", "电子"),
    ("可燃气体检测报警器", "GT-", "±5%LEL", "安全设备"),
    ("热能表", "RL", "2级", "仪表"),
];

/// Imported instruments: name, where their makers are, the makers' industry word.
static IMPORTED: &[(&str, &[&str], &str)] = &[
    ("电子天平", &["瑞士", "德国"], "Weighing"),
    ("三相电能表", &["瑞士", "德国"], "Metering"),
    ("超声波流量计", &["德国", "日本"], "Flow"),
    ("电子血压计", &["日本", "德国"], "Healthcare"),
    ("数字多用表", &["美国", "德国"], "Instruments"),
    ("气相色谱仪", &["美国", "日本"], "Analytical"),
    ("压力变送器", &["日本", "德国"], "Process Automation"),
    ("声级计", &["德国", "日本"], "Acoustics"),
    ("冷水水表", &["法国", "德国"], "Water Meters"),
    ("膜式燃气表", &["德国", "意大利"], "Gas Meters"),
];

/// Prepackaged goods: product, labelled quantity, nominal value, unit, industry word.
static PREPACKED: &[(&str, &str, f64, &str, &str)] = &[
    ("大米", "5 kg", 5000.0, "g", "粮油"),
    ("食用植物油", "5 L", 5000.0, "mL", "粮油"),
    ("洗衣液", "2 kg", 2000.0, "g", "日化"),
    ("饮用纯净水", "550 mL", 550.0, "mL", "饮品"),
    ("小麦粉", "2.5 kg", 2500.0, "g", "面粉"),
    ("牙膏", "120 g", 120.0, "g", "日化"),
    ("饼干", "200 g", 200.0, "g", "食品"),
    ("酱油", "500 mL", 500.0, "mL", "调味品"),
    ("茶叶", "250 g", 250.0, "g", "茶业"),
    ("月饼", "500 g", 500.0, "g", "食品"),
];

/// Energy-intensive sectors: sector, industry word, range of yearly consumption (tce).
static SECTORS: &[(&str, &str, f64, f64)] = &[
    ("钢铁", "钢铁", 500_000.0, 10_000_000.0),
    ("有色金属", "铝业", 100_000.0, 3_000_000.0),
    ("化工", "化工", 50_000.0, 2_000_000.0),
    ("建材", "水泥", 50_000.0, 800_000.0),
    ("电力", "发电", 300_000.0, 5_000_000.0),
    ("纺织", "纺织", 10_000.0, 200_000.0),
];

/// Institutes listed before the provinces' and cities' own.
static NATIONAL_INSTITUTES: &[(&str, &str)] = &[
    ("中国计量科学研究院", "110000"),
    ("中国测试技术研究院", "510000"),
];

/// Legal metrology institutes: the national ones, one per province, one per city.
pub fn institute_count() -> usize {
    NATIONAL_INSTITUTES.len()
        + PROVINCES.len()
        + PROVINCES.iter().map(|p| p.cities.len()).sum::<usize>()
}

/// The institute number `i`: name, level, province, city (the capital's for national and
/// provincial ones).
fn institute(i: usize) -> (String, &'static str, &'static Province, &'static str) {
    let capital = |p: &'static Province| p.cities.first().copied().unwrap_or(p.full);
    if let Some((name, code)) = NATIONAL_INSTITUTES.get(i) {
        let p = vocab::province(code).unwrap_or(&PROVINCES[0]);
        return ((*name).to_owned(), "国家", p, capital(p));
    }
    let i = i - NATIONAL_INSTITUTES.len();
    if let Some(p) = PROVINCES.get(i) {
        return (format!("{}计量科学研究院", p.full), "省级", p, capital(p));
    }
    let mut k = i - PROVINCES.len();
    for p in PROVINCES {
        if let Some(city) = p.cities.get(k) {
            return (format!("{city}计量检定测试所"), "地市级", p, city);
        }
        k -= p.cities.len();
    }
    let p = &PROVINCES[0];
    (format!("{}计量科学研究院", p.full), "省级", p, capital(p))
}

/// A metrology institute of a province (the holders of public standards).
fn local_institute(ctx: &mut Ctx, p: &'static Province) -> String {
    let city = city_of(ctx.rng, p);
    match ctx.int(0, 2) {
        0 => format!("{}计量科学研究院", p.full),
        1 if city != p.full => format!("{city}计量检定测试所"),
        _ => format!("{}质量技术监督检测研究院", city.trim_end_matches('市')),
    }
}

fn abbr(p: &Province) -> &'static str {
    if p.abbr.is_empty() { "兵" } else { p.abbr }
}

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let year = ctx.year;
    Some(match id {
        "C1-01" => {
            let n = NATIONAL_STANDARDS.len();
            let (name, range, uncertainty, custodian) = NATIONAL_STANDARDS[ctx.i % n];
            let secondary = ctx.i >= n;
            json!({
                "standard_code": format!("国基证〔{}〕第{:03}号", 1985 + (ctx.i % n) as i32 % 35, ctx.i + 1),
                "name": if secondary { name.replacen("国家基准", "国家副基准", 1) } else { name.to_owned() },
                "measuring_range": range,
                "uncertainty": if secondary { format!("{uncertainty}（副基准）") } else { uncertainty.to_owned() },
                "custodian": custodian,
            })
        }
        "C1-02" => {
            let (name, range, uncertainty) = *ctx.pick(STANDARD_DEVICES);
            let p = ctx.province;
            json!({
                "certificate_no": format!("[{year}]{}社标证字第{}号", abbr(p), ctx.serial(5)),
                "name": name,
                "measuring_range": range,
                "uncertainty": uncertainty,
                "holder": local_institute(ctx, p),
                "province_code": p.code,
            })
        }
        "C1-03" => {
            let (name, range, _) = *ctx.pick(STANDARD_DEVICES);
            let (holder, p, kind) = if ctx.rng.chance(0.6) {
                let product = &vocab::PRODUCTS[ctx.rng.below(vocab::PRODUCTS.len())];
                let e = crate::enterprise::enterprise(ctx.seed, product, ctx.rng.below(3000));
                (e.name, e.province, "企")
            } else {
                let p = ctx.province;
                (local_institute(ctx, p), p, "社")
            };
            let issued = ctx.date();
            json!({
                "certificate_no": format!("[{year}]{}量标{kind}证字第{}号", abbr(p), ctx.serial(5)),
                "name": name,
                "measuring_range": range,
                "holder": holder,
                "valid_until": valid_for(issued, 4).iso(),
            })
        }
        "C1-04" => {
            let (name, value, unit, rel, producer) = *ctx.pick(CRMS);
            let level = *ctx.pick(&[0.5, 1.0, 1.0, 2.0, 5.0]);
            let x = value * level;
            let places = if x < 1.0 {
                3
            } else if x < 100.0 {
                2
            } else {
                0
            };
            let second = ctx.rng.chance(0.6);
            json!({
                "crm_no": if second { format!("GBW(E){}", ctx.serial(6)) } else { format!("GBW{}", ctx.serial(5)) },
                "name": name,
                "property_value": format!("{} {unit}", round(x, places)),
                "uncertainty": format!("{} {unit} (k=2)", round(x * rel / 100.0, places + 1)),
                "producer": producer,
                "valid_until": valid_for(ctx.date(), ctx.int(1, 5) as i32).iso(),
            })
        }
        "C2-01" => {
            let (name, prefix, class, industry) = *ctx.pick(INSTRUMENTS);
            let e = company_for(ctx, industry, 1500);
            json!({
                "approval_no": format!("{year}C{}-{}", ctx.serial(4), &e.province.code[..2]),
                "instrument": name,
                "model": format!("{prefix}{}", ctx.int(1, 300) * 5),
                "accuracy_class": class,
                "manufacturer": e.name,
                "approved_on": ctx.date().iso(),
            })
        }
        "C2-02" => {
            let (name, origins, word) = *ctx.pick(IMPORTED);
            let origin = *ctx.pick(origins);
            let maker = foreign_company(ctx.rng, country(origin), word);
            json!({
                "approval_no": format!("{year}F{}-10", ctx.serial(4)),
                "instrument": name,
                "model": format!("{}{}", ctx.pick(&["XP", "EM", "PM", "MX", "TS"]), ctx.int(10, 999)),
                "manufacturer": maker,
                "origin_country": origin,
                "approved_on": ctx.date().iso(),
            })
        }
        "C2-03" => {
            let (no, item, instrument, scope, form) =
                lists::MANDATORY_INSTRUMENTS[ctx.i % lists::MANDATORY_INSTRUMENTS.len()];
            json!({
                "item_no": no,
                "item": item,
                "instrument": instrument,
                "use_scope": scope,
                "verification_form": form,
            })
        }
        "C2-04" => {
            let (name, _, _, industry) = *ctx.pick(INSTRUMENTS);
            let kind = if ctx.rng.chance(0.8) {
                "制造"
            } else {
                "修理"
            };
            let e = company_for(ctx, industry, 1500);
            let issued = ctx.date();
            json!({
                "licence_no": format!("（{}）{}{}{}号", abbr(e.province), if kind == "制造" { "制" } else { "修" }, year, ctx.serial(5)),
                "enterprise": e.name,
                "uscc": e.uscc,
                "kind": kind,
                "instruments": name,
                "issued_on": issued.iso(),
                "valid_until": valid_for(issued, 3).iso(),
            })
        }
        "C3-01" => {
            let (name, level, p, city) = institute(ctx.i);
            let items = match level {
                "国家" => ctx.int(800, 1200),
                "省级" => ctx.int(300, 700),
                _ => ctx.int(60, 300),
            };
            json!({
                "institute": name,
                "level": level,
                "province_code": p.code,
                "address": address_in(ctx.rng, p, city),
                "authorised_items": items,
            })
        }
        "C3-02" => {
            let p = ctx.province;
            let city = city_of(ctx.rng, p).trim_end_matches('市');
            let (body, items) = match ctx.int(0, 3) {
                0 => (
                    format!("{}电力科学研究院", p.full.trim_end_matches(['省', '市'])),
                    "电能表、互感器检定",
                ),
                1 => (format!("{city}自来水有限公司水表检定站"), "冷水水表检定"),
                2 => (
                    format!("{city}燃气集团有限公司计量检定站"),
                    "膜式燃气表检定",
                ),
                _ => (
                    company_for(ctx, "衡器", 800).name + "计量室",
                    "电子计价秤、电子台秤检定",
                ),
            };
            json!({
                "certificate_no": format!("（{}）法计（{year}）{}号", abbr(p), ctx.serial(5)),
                "body": body,
                "province_code": p.code,
                "authorised_items": items,
                "valid_until": valid_for(ctx.date(), 5).iso(),
            })
        }
        "C3-03" => {
            let p = ctx.grid_province();
            let base = if ctx.grid_str("grade") == Some("一级") {
                2000.0
            } else {
                9000.0
            };
            json!({
                "province": p.full,
                "registered": (base * (p.weight + 0.8) / 40.0 * (0.8 + 0.4 * ctx.rng.f64())).round() as i64,
            })
        }
        "C3-04" => {
            let verification = ctx.i % 3 != 2;
            let name = if verification {
                INSTRUMENTS[ctx.i / 3 % INSTRUMENTS.len()].0
            } else {
                STANDARD_DEVICES[ctx.i / 3 % STANDARD_DEVICES.len()].0
            };
            let kind = if verification { "JJG" } else { "JJF" };
            let title = if verification {
                format!("{name}检定规程")
            } else if ctx.rng.chance(0.5) {
                format!(
                    "{}校准规范",
                    name.trim_end_matches("检定装置")
                        .trim_end_matches("标准装置")
                )
            } else {
                format!("{name}校准规范")
            };
            let published = ctx.date();
            let number = 100 + ctx.i;
            json!({
                "regulation_no": format!("{kind} {number}-{year}"),
                "title": title,
                "published_on": published.iso(),
                "effective_on": plus_days(published, ctx.int(90, 180) as u32).iso(),
                "replaces": if year > 2000 && ctx.rng.chance(0.4) { json!(format!("{kind} {number}-{}", year - ctx.int(6, 15) as i32)) } else { Value::Null },
            })
        }
        "C4-01" => {
            let (product, labelled, nominal, _, industry) = *ctx.pick(PREPACKED);
            let e = company_for(ctx, industry, 2000);
            let fail = ctx.rng.chance(0.08);
            let mean = if fail {
                nominal * ctx.num(0.97, 0.995, 4)
            } else {
                nominal * ctx.num(1.0, 1.015, 4)
            };
            json!({
                "product": product,
                "enterprise": e.name,
                "province_code": e.province.code,
                "labelled_content": labelled,
                "mean_actual": round(mean, 1),
                "short_units": if fail { ctx.int(1, 5) } else { 0 },
                "conclusion": if fail { "不合格" } else { "合格" },
            })
        }
        "C4-02" => {
            let (product, _, _, _, industry) = *ctx.pick(PREPACKED);
            let e = company_for(ctx, industry, 2000);
            json!({
                "certificate_no": format!("（{}）C字（{year}）第{}号", abbr(e.province), ctx.serial(5)),
                "enterprise": e.name,
                "uscc": e.uscc,
                "province_code": e.province.code,
                "products": product,
                "valid_until": valid_for(ctx.date(), 5).iso(),
            })
        }
        "C4-03" => {
            let (sector, industry, lo, hi) = *ctx.pick(SECTORS);
            let e = company_for(ctx, industry, 600);
            json!({
                "enterprise": e.name,
                "province_code": e.province.code,
                "sector": sector,
                "energy_tce": ctx.num(lo, hi, 0),
                "conclusion": *ctx.pick(&["合格", "合格", "合格", "基本合格", "不合格"]),
            })
        }
        "C4-04" => {
            let p = ctx.grid_province();
            let units = ctx.int(50, 3000);
            let instruments = units * ctx.int(3, 12);
            json!({
                "province": p.full,
                "units_checked": units,
                "instruments_checked": instruments,
                "instruments_failed": (instruments as f64 * ctx.num(0.002, 0.03, 4)).round() as i64,
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn institutes_are_distinct() {
        let names: std::collections::HashSet<String> =
            (0..institute_count()).map(|i| institute(i).0).collect();
        assert_eq!(names.len(), institute_count());
    }
}
