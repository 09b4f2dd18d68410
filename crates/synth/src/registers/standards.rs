//! D: standardization: national standards (one catalogue that the approval notices, foreign
//! editions and projects refer to), sector, local, association and enterprise standards,
//! technical committees, and the coding centres' registers.

use serde_json::{Value, json};

use crate::rng::hash;
use crate::text::{self, Date};
use crate::vocab;

use super::catalogue::{ASPECTS, EDITIONS, standard};
use super::names::{company, company_for, initials};
use super::{Ctx, city_of, plus_days, serial, valid_for};

/// Sectors of sector standards: code, subjects.
static SECTOR_STANDARDS: &[(&str, &[&str])] = &[
    (
        "QB",
        &[
            "日用陶瓷器",
            "皮鞋",
            "牙膏",
            "自行车",
            "铅笔",
            "保温容器",
            "眼镜架",
            "家用燃气灶具",
        ],
    ),
    (
        "HG",
        &[
            "工业硫酸",
            "橡胶软管",
            "农用硫酸铵",
            "塑料薄膜",
            "涂料用颜料",
        ],
    ),
    (
        "FZ",
        &["针织内衣", "羽绒服装", "毛针织品", "床上用品", "丝绸围巾"],
    ),
    (
        "JB",
        &["滚动轴承", "小功率电动机", "液压泵", "数控车床", "电动葫芦"],
    ),
    (
        "JC",
        &[
            "陶瓷砖",
            "纸面石膏板",
            "建筑用腻子",
            "玻璃纤维网布",
            "人造石",
        ],
    ),
    (
        "SN",
        &[
            "进出口食品中农药残留量的测定",
            "进出口玩具检验规程",
            "进境水果检疫规程",
            "出口危险货物包装检验规程",
        ],
    ),
    (
        "YY",
        &[
            "一次性使用输液器",
            "医用外科口罩",
            "电子血压计",
            "医用防护服",
        ],
    ),
    (
        "GA",
        &[
            "防盗安全门",
            "机动车号牌",
            "消防应急照明灯具",
            "手提式灭火器",
        ],
    ),
];

/// Associations publishing standards: code, name, subjects.
static ASSOCIATIONS: &[(&str, &str, &[&str])] = &[
    (
        "CAS",
        "中国标准化协会",
        &[
            "电动汽车充电设施",
            "智能家居系统",
            "养老服务",
            "绿色产品评价",
        ],
    ),
    (
        "CNTAC",
        "中国纺织工业联合会",
        &["功能性面料", "再生纤维素纤维", "防护服装"],
    ),
    (
        "CEEIA",
        "中国电器工业协会",
        &["永磁同步电动机", "干式变压器", "光伏逆变器"],
    ),
    (
        "CCSA",
        "中国通信标准化协会",
        &["5G基站设备", "物联网终端", "数据中心能效"],
    ),
    (
        "CHEAA",
        "中国家用电器协会",
        &["洗碗机", "集成灶", "净水器", "扫地机器人"],
    ),
    (
        "CSAE",
        "中国汽车工程学会",
        &["自动驾驶功能", "车用动力电池回收", "智能座舱"],
    ),
    (
        "CNFIA",
        "中国食品工业协会",
        &["植物基饮品", "预制菜", "特色酱卤肉制品"],
    ),
    (
        "CNLIC",
        "中国轻工业联合会",
        &["竹制品", "智能锁", "电动晾衣架"],
    ),
];

/// Topics of local standards.
static LOCAL_TOPICS: &[&str] = &[
    "公共机构能耗定额",
    "农村生活污水处理设施运行维护规范",
    "政务服务中心服务规范",
    "养老机构服务质量规范",
    "电动自行车停放充电场所消防安全规范",
    "智慧社区建设指南",
    "高标准农田建设规范",
    "餐饮服务食品安全操作规范",
    "茶叶栽培技术规程",
    "柑橘栽培技术规程",
    "水稻机械化插秧技术规程",
    "猕猴桃采后贮藏技术规程",
    "地理标志产品 特色农产品",
    "城镇燃气管道安全运行规范",
];

/// Physical standard samples: name, producer, class.
static SAMPLES: &[(&str, &str, &str)] = &[
    ("棉花品级实物标准", "中国纤维质量监测中心", "16"),
    (
        "大米加工精度标准样品",
        "国家粮食和物资储备局标准质量中心",
        "02",
    ),
    (
        "茶叶感官审评标准样品",
        "中华全国供销合作总社杭州茶叶研究所",
        "16",
    ),
    ("纺织品色牢度评定用灰色样卡", "纺织工业标准化研究所", "16"),
    ("小麦硬度标准样品", "国家粮食和物资储备局标准质量中心", "02"),
    ("烟叶分级实物标准", "中国烟草总公司郑州烟草研究院", "08"),
    ("羊毛细度标准样品", "中国纤维质量监测中心", "16"),
    (
        "水泥强度检验用标准砂",
        "中国建筑材料科学研究总院有限公司",
        "08",
    ),
    ("煤炭发热量标准样品", "煤炭科学技术研究院有限公司", "06"),
    ("生丝均匀度标准样照", "中国纤维质量监测中心", "16"),
    (
        "食用植物油色泽标准样品",
        "国家粮食和物资储备局标准质量中心",
        "02",
    ),
];

/// Technical committees: subject, secretariat.
static COMMITTEES: &[(&str, &str)] = &[
    ("家用电器", "中国家用电器研究院"),
    ("纺织品", "纺织工业标准化研究所"),
    ("玩具", "中国玩具和婴童用品协会"),
    ("电线电缆", "上海电缆研究所有限公司"),
    ("水泥", "中国建筑材料科学研究总院有限公司"),
    ("涂料和颜料", "中海油常州涂料化工研究院有限公司"),
    ("汽车", "中国汽车技术研究中心有限公司"),
    ("质量管理和质量保证", "中国标准化研究院"),
    ("信息技术", "中国电子技术标准化研究院"),
    ("危险化学品管理", "中国化学品安全协会"),
    ("起重机械", "北京起重运输机械设计研究院有限公司"),
    ("电梯", "中国建筑科学研究院有限公司"),
    ("锅炉压力容器", "中国特种设备检测研究院"),
    ("食品质量控制与管理", "中国标准化研究院"),
    ("粮油", "国家粮食和物资储备局标准质量中心"),
    ("茶叶", "中华全国供销合作总社杭州茶叶研究所"),
    ("包装", "中国出口商品包装研究所"),
    ("塑料", "轻工业塑料加工应用研究所"),
    ("橡胶与橡胶制品", "北京橡胶工业研究设计院有限公司"),
    ("钢", "冶金工业信息标准研究院"),
    ("有色金属", "有色金属技术经济研究院有限责任公司"),
    ("电工术语", "机械工业北京电工技术经济研究所"),
    ("低压电器", "上海电器科学研究所（集团）有限公司"),
    ("照明电器", "北京电光源研究所有限公司"),
    ("电动工具", "上海电动工具研究所（集团）有限公司"),
    ("消防", "应急管理部天津消防研究所"),
    ("安全生产", "中国安全生产科学研究院"),
    ("个体防护装备", "中国安全生产科学研究院"),
    ("环境管理", "中国标准化研究院"),
    ("能源基础与管理", "中国标准化研究院"),
    ("建筑节能", "中国建筑科学研究院有限公司"),
    ("家具", "上海市质量监督检验技术研究院"),
    ("皮革工业", "中国皮革制鞋研究院有限公司"),
    ("日用陶瓷", "中国日用陶瓷研究院"),
    ("眼镜光学", "上海眼镜研究所"),
    ("自行车", "天津自行车研究院有限公司"),
    ("医用电器", "上海市医疗器械检验研究院"),
    ("计量器具", "中国计量科学研究院"),
    ("物流", "中国物流与采购联合会"),
    ("服务标准化", "中国标准化研究院"),
    ("电子商务", "中国电子技术标准化研究院"),
    ("农业机械", "中国农业机械化科学研究院集团有限公司"),
    ("肥料和土壤调理剂", "上海化工研究院有限公司"),
    ("燃气器具", "国家燃气用具质量检验检测中心"),
    ("卫生陶瓷", "咸阳陶瓷研究设计院有限公司"),
];

/// Technical committees in the register.
pub fn committee_count() -> usize {
    COMMITTEES.len()
}

/// A committee's SAC/TC number.
fn committee_no(k: usize) -> usize {
    1 + (k * 97 + 31) % 580
}

/// Industries of organisation-code holders with their economic sector (GB/T 4754).
static ORG_SECTORS: &[(&str, &str)] = &[
    ("电器", "C38 电气机械和器材制造业"),
    ("服饰", "C18 纺织服装、服饰业"),
    ("食品", "C14 食品制造业"),
    ("化工", "C26 化学原料和化学制品制造业"),
    ("家具", "C21 家具制造业"),
    ("建材", "C30 非金属矿物制品业"),
    ("贸易", "F51 批发业"),
    ("物业", "K70 房地产业"),
    ("软件", "I65 软件和信息技术服务业"),
    ("检测", "M74 专业技术服务业"),
];

/// What a company of an industry puts a barcode on: product, specification.
fn barcoded(industry: &str) -> &'static [(&'static str, &'static str)] {
    match industry {
        "电器" => &[("电热水壶", "1.7L"), ("电吹风", "1800W"), ("电饭锅", "4L")],
        "服饰" => &[
            ("纯棉T恤", "170/92A"),
            ("儿童外套", "120cm"),
            ("羽绒服", "175/96A"),
        ],
        "食品" => &[("饼干", "200g"), ("薯片", "70g"), ("方便面", "5连包")],
        "化工" => &[("洗衣液", "2kg"), ("洗洁精", "1.5kg"), ("消毒液", "500mL")],
        "家具" => &[("实木餐桌", "1400×800mm"), ("书架", "5层")],
        "建材" => &[("瓷砖胶", "20kg"), ("内墙乳胶漆", "18L")],
        "贸易" => &[("饮用纯净水", "550mL"), ("茶饮料", "500mL")],
        _ => &[("中性笔", "0.5mm"), ("笔记本", "A5")],
    }
}

/// The company that holds barcode prefix number `k` (D4-02 and D4-03 name the same one).
fn barcode_company(seed: u64, k: usize) -> (crate::enterprise::Enterprise, &'static str, String) {
    let industry = ORG_SECTORS[k % 8].0;
    (
        company(seed, industry, k),
        industry,
        format!("69{}", serial(k, 7)),
    )
}

/// The EAN-13 check digit of twelve digits.
fn ean_check(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    (10 - sum % 10) % 10
}

fn standard_status(ctx: &Ctx, effective: Date, withdrawn: bool) -> &'static str {
    if withdrawn {
        "废止"
    } else if effective > ctx.as_of() {
        "即将实施"
    } else {
        "现行"
    }
}

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let year = ctx.year;
    let seed = ctx.seed;
    Some(match id {
        "D1-01" => {
            let s = standard(seed, ctx.i);
            let status = if s.latest {
                if s.effective.y >= 2026 {
                    "即将实施"
                } else {
                    "现行"
                }
            } else {
                "废止"
            };
            let issuer = if s.published.y >= 2018 {
                "国家市场监督管理总局、国家标准化管理委员会"
            } else if s.published.y >= 2001 {
                "中华人民共和国国家质量监督检验检疫总局、中国国家标准化管理委员会"
            } else {
                "国家质量技术监督局"
            };
            json!({
                "standard_no": s.no,
                "title_zh": s.title_zh,
                "title_en": s.title_en,
                "status": status,
                "nature": s.nature,
                "ccs": s.ccs,
                "ics": s.ics,
                "published_on": s.published.iso(),
                "effective_on": s.effective.iso(),
                "competent_department": s.dept,
                "technical_committee": s.tc,
                "issuer": issuer,
                "adopted_international": s.adopted,
                "replaces": s.replaces,
                "remarks": if s.latest { Value::Null } else { json!("已被新版本代替") },
            })
        }
        "D1-02" => {
            // The notices since 2001: the two newer editions of each title.
            let s = standard(seed, ctx.i / 2 * EDITIONS + EDITIONS - 2 + ctx.i % 2);
            // One notice per half month: its number and date follow from the standard's.
            let late = s.published.d > 15;
            let batch = 2 * (s.published.m - 1) + u32::from(late) + 1;
            let notice_on = Date {
                d: if late { 25 } else { 10 },
                ..s.published
            };
            json!({
                "notice_no": format!("{}年第{batch}号", s.published.y),
                "notice_on": notice_on.iso(),
                "standard_no": s.no,
                "title": s.title_zh,
                "replaces": s.replaces,
                "effective_on": s.effective.iso(),
            })
        }
        "D1-03" => {
            let s = standard(seed, ctx.i * 5 + 2);
            let letter = match s.nature {
                "强制性" => "Q",
                "指导性技术文件" => "Z",
                _ => "T",
            };
            let e = company_for(ctx, "科技", 3000);
            json!({
                "plan_no": format!("{year}{}-{letter}-{}", ctx.serial(4), 300 + hash(0, &[s.dept]) % 300),
                "title": s.title_zh,
                "nature": match letter { "Q" => "强制", "Z" => "指导", _ => "推荐" },
                "kind": if ctx.rng.chance(0.6) { "修订" } else { "制定" },
                "competent_department": s.dept,
                "technical_committee": s.tc,
                "drafters": format!("中国标准化研究院、{}", e.name),
                "deadline_months": *ctx.pick(&[12, 18, 24]),
            })
        }
        "D1-04" => {
            let s = standard(seed, ctx.i * EDITIONS + EDITIONS - 1);
            let language = *ctx.pick(&["en", "en", "en", "en", "fr", "ru", "es"]);
            json!({
                "standard_no": s.no,
                "title_en": s.title_en,
                "language": language,
                "published_on": plus_days(s.published, ctx.int(200, 700) as u32).iso(),
            })
        }
        "D1-05" => {
            let (name, producer, class) = *ctx.pick(SAMPLES);
            json!({
                "sample_no": format!("GSB {class}-{}-{year}", ctx.serial(4)),
                "name": name,
                "producer": producer,
                "valid_until": valid_for(ctx.date(), ctx.int(3, 5) as i32).iso(),
            })
        }
        "D2-01" => {
            let (code, subjects) = *ctx.pick(SECTOR_STANDARDS);
            let (aspect, ..) = *ctx.pick(ASPECTS);
            json!({
                "filing_no": format!("{}-{year}", ctx.serial(5)),
                "sector_code": code,
                "standard_no": format!("{code}/T {}-{year}", 1000 + ctx.i),
                "title": format!("{} {aspect}", ctx.pick(subjects)),
                "approved_on": ctx.date().iso(),
            })
        }
        "D2-02" => {
            let p = ctx.province;
            let published = ctx.date();
            let effective = plus_days(published, ctx.int(30, 120) as u32);
            let withdrawn = year < 2015 && ctx.rng.chance(0.3);
            json!({
                "standard_no": format!("DB{}/T {}-{year}", &p.code[..2], 100 + ctx.i),
                "title": *ctx.pick(LOCAL_TOPICS),
                "province_code": p.code,
                "published_on": published.iso(),
                "effective_on": effective.iso(),
                "status": standard_status(ctx, effective, withdrawn),
            })
        }
        "D2-03" => {
            let (code, name, subjects) = *ctx.pick(ASSOCIATIONS);
            let (aspect, ..) = *ctx.pick(ASPECTS);
            json!({
                "standard_no": format!("T/{code} {}-{year}", 1 + ctx.i),
                "title": format!("{} {aspect}", ctx.pick(subjects)),
                "association": name,
                "published_on": ctx.date().iso(),
            })
        }
        "D2-04" => {
            let product = &vocab::PRODUCTS[ctx.rng.below(vocab::PRODUCTS.len())];
            let e = crate::enterprise::enterprise(seed, product, ctx.rng.below(4000));
            let uscc = e
                .uscc
                .clone()
                .unwrap_or_else(|| text::uscc(ctx.rng, &format!("{}0100", &e.province.code[..2])));
            json!({
                "enterprise": e.name,
                "uscc": uscc,
                "standard_no": format!("Q/{} {}-{year}", initials(ctx.rng), ctx.serial(4)),
                "product": product.name,
                "declared_on": ctx.date().iso(),
            })
        }
        "D3-01" => {
            let (subject, secretariat) = COMMITTEES[ctx.i % COMMITTEES.len()];
            json!({
                "tc_no": format!("SAC/TC {}", committee_no(ctx.i % COMMITTEES.len())),
                "name": format!("全国{subject}标准化技术委员会"),
                "secretariat": secretariat,
                "term": ctx.int(3, 8),
                "members": ctx.int(35, 90),
                "chair": format!("{}{}", ctx.pick(&["王", "李", "张", "刘", "陈", "杨", "赵", "黄"]), ctx.pick(&["建国", "志强", "海燕", "卫东", "晓明", "丽华", "立新", "文涛"])),
            })
        }
        "D3-02" => {
            let k = ctx.i / 3 % COMMITTEES.len();
            let sc = ctx.i % 3;
            let (subject, secretariat) = COMMITTEES[k];
            let part = ["基础与通用", "产品", "试验方法"][sc];
            json!({
                "sc_no": format!("SAC/TC {}/SC {}", committee_no(k), sc + 1),
                "name": format!("全国{subject}标准化技术委员会{part}分技术委员会"),
                "secretariat": secretariat,
                "members": ctx.int(25, 60),
            })
        }
        "D3-03" => {
            let (body, name, counterpart, participation) =
                super::lists::ISO_COMMITTEES[ctx.i % super::lists::ISO_COMMITTEES.len()];
            json!({
                "international_body": body,
                "name": name,
                "counterpart": counterpart,
                "participation": participation,
            })
        }
        "D3-04" => {
            let p = ctx.province;
            let city = city_of(ctx.rng, p);
            let (kind, project) = match ctx.int(0, 3) {
                0 => (
                    "农业标准化示范区",
                    format!(
                        "{city}{}标准化示范区",
                        ctx.pick(&["茶叶", "柑橘", "水稻", "蔬菜", "生猪养殖"])
                    ),
                ),
                1 => (
                    "服务业标准化试点",
                    format!(
                        "{city}{}服务业标准化试点",
                        ctx.pick(&["养老", "旅游", "物流", "家政"])
                    ),
                ),
                2 => (
                    "社会管理和公共服务综合标准化试点",
                    format!(
                        "{city}{}综合标准化试点",
                        ctx.pick(&["政务服务", "社区治理", "公共文化服务"])
                    ),
                ),
                _ => (
                    "循环经济标准化试点",
                    format!("{}循环经济标准化试点", company_for(ctx, "环保", 800).name),
                ),
            };
            let unit = if kind == "循环经济标准化试点" {
                project.trim_end_matches("循环经济标准化试点").to_owned()
            } else {
                format!("{}市场监督管理局", city)
            };
            json!({
                "project": project,
                "unit": unit,
                "province_code": p.code,
                "kind": kind,
                "batch": format!("第{}批", 1 + (year - 2005).clamp(0, 11) / 2),
                "status": if year + 3 < ctx.as_of().y { *ctx.pick(&["通过验收", "通过验收", "通过验收", "未通过验收", "撤销"]) } else { "在建" },
            })
        }
        "D4-01" => {
            let (industry, sector) = ORG_SECTORS[ctx.i % ORG_SECTORS.len()];
            let e = company(seed, industry, ctx.i / ORG_SECTORS.len());
            let (name, kind) = match ctx.int(0, 19) {
                0 => (
                    format!("{}第一中学", city_of(ctx.rng, e.province)),
                    "事业单位",
                ),
                1 => (
                    format!("{}{}行业协会", e.province.short, industry),
                    "社会团体",
                ),
                _ => (e.name.clone(), "企业法人"),
            };
            let code = serial(ctx.i, 8);
            let issued = ctx.date_back(3);
            json!({
                "org_code": format!("{code}-{}", text::org_code_check(code.as_bytes())),
                "enterprise": name,
                "org_type": kind,
                "address": e.address,
                "division_code": e.uscc.as_ref().map_or_else(|| format!("{}0100", &e.province.code[..2]), |u| u[2..8].to_owned()),
                "sector": if kind == "企业法人" { sector } else if kind == "事业单位" { "P83 教育" } else { "S95 社会组织" },
                "issued_on": issued.iso(),
                "valid_until": valid_for(issued, 4).iso(),
            })
        }
        "D4-02" => {
            let (e, _, prefix) = barcode_company(seed, ctx.i);
            let registered = ctx.date_back(10);
            let renewals = ((ctx.as_of().y - registered.y) / 2).max(0);
            let renewed = if ctx.rng.chance(0.85) {
                renewals + 1
            } else {
                renewals.max(1)
            };
            let valid = valid_for(registered, 2 * renewed);
            let status = if ctx.rng.chance(0.03) {
                "注销"
            } else if valid < ctx.as_of() {
                "过期"
            } else {
                "有效"
            };
            json!({
                "company_prefix": prefix,
                "enterprise": e.name,
                "province_code": e.province.code,
                "registered_on": registered.iso(),
                "valid_until": valid.iso(),
                "status": status,
            })
        }
        "D4-03" => {
            let k = ctx.i / 25;
            let (e, industry, prefix) = barcode_company(seed, k);
            let digits = format!("{prefix}{:03}", ctx.i % 25);
            let (product, spec) = *ctx.pick(barcoded(industry));
            json!({
                "gtin": format!("{digits}{}", ean_check(&digits)),
                "product": product,
                "brand": e.brand,
                "specification": spec,
                "enterprise": e.name,
                "company_prefix": prefix,
            })
        }
        "D4-04" => {
            let base = 20 + (hash(0, &[ctx.grid_str("domain").unwrap_or("")]) % 60) as i64;
            let total = base + i64::from(year - 2005).max(0) * ctx.int(1, 4);
            json!({
                "standards": total,
                "new_standards": ctx.int(0, (total / 10).max(1)),
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        assert_eq!(ean_check("690123456789"), 2);
        assert_eq!(text::org_code_check(b"12345678"), '8');
    }

    #[test]
    fn committees_have_distinct_numbers() {
        let n: std::collections::HashSet<usize> =
            (0..committee_count()).map(committee_no).collect();
        assert_eq!(n.len(), committee_count());
    }
}
