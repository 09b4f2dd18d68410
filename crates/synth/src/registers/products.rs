//! A: product quality supervision beyond the spot-check results: the national plan, local
//! statistics, risk monitoring, injury surveillance, production licences, recalls and the
//! 12365 hotline.

use serde_json::{Value, json};

use crate::vocab;

use super::names::company_for;
use super::{Ctx, city_of, plus_days, regulator, round, valid_for};

/// Products under production licence (XK category code, product, its details, industry).
static LICENSED: &[(&str, &str, &[&str], &str)] = &[
    (
        "06",
        "电线电缆",
        &["电力电缆", "架空绞线", "塑料绝缘控制电缆"],
        "电缆",
    ),
    ("13", "危险化学品", &["工业硫酸", "液氯", "甲醇"], "化工"),
    ("13", "化肥", &["复混肥料", "磷肥", "钾肥"], "化肥"),
    (
        "04",
        "水泥",
        &["通用硅酸盐水泥", "P·O 42.5", "P·C 32.5R"],
        "水泥",
    ),
    (
        "05",
        "建筑用钢筋",
        &["热轧带肋钢筋", "热轧光圆钢筋"],
        "钢铁",
    ),
    (
        "16",
        "食品相关产品",
        &["塑料包装", "纸包装", "餐具洗涤剂"],
        "包装",
    ),
    (
        "14",
        "危险化学品包装物及容器",
        &["钢桶", "塑料桶", "危险货物包装袋"],
        "包装",
    ),
    (
        "12",
        "防爆电气",
        &["防爆电机", "防爆灯具", "防爆开关"],
        "电气",
    ),
    ("09", "人民币鉴别仪", &["点验钞机", "人民币鉴别仪"], "电子"),
    ("10", "电热毯", &["电热毯", "电热垫"], "电器"),
    (
        "17",
        "建筑防水卷材",
        &["弹性体改性沥青防水卷材", "高分子防水卷材"],
        "建材",
    ),
];

/// Risk monitoring: project, product, risk item, limit, unit.
static RISKS: &[(&str, &str, &str, f64, &str)] = &[
    (
        "儿童玩具中邻苯二甲酸酯风险监测",
        "塑胶玩具",
        "邻苯二甲酸酯（DEHP+DBP+BBP）",
        0.1,
        "%",
    ),
    (
        "儿童服装有害物质风险监测",
        "儿童及婴幼儿服装",
        "甲醛含量",
        20.0,
        "mg/kg",
    ),
    (
        "童鞋有害物质风险监测",
        "童鞋",
        "可分解致癌芳香胺染料",
        20.0,
        "mg/kg",
    ),
    (
        "食品接触用塑料制品风险监测",
        "塑料一次性餐饮具",
        "总迁移量",
        10.0,
        "mg/dm2",
    ),
    (
        "不锈钢餐厨具重金属迁移风险监测",
        "不锈钢餐厨具",
        "锰迁移量",
        0.01,
        "mg/dm2",
    ),
    (
        "学生文具有害元素风险监测",
        "学生文具",
        "可迁移元素铅",
        90.0,
        "mg/kg",
    ),
    (
        "木家具甲醛释放风险监测",
        "木家具",
        "甲醛释放量",
        0.124,
        "mg/m3",
    ),
    (
        "内墙涂料挥发性有机物风险监测",
        "内墙涂料",
        "挥发性有机化合物（VOC）",
        80.0,
        "g/L",
    ),
    (
        "电热水壶食品接触材料风险监测",
        "电热水壶",
        "镍迁移量",
        0.1,
        "mg/kg",
    ),
    (
        "纸尿裤卫生指标风险监测",
        "纸尿裤",
        "细菌菌落总数",
        200.0,
        "CFU/g",
    ),
];

/// Injury surveillance: product category, the injuries it causes, the ages it strikes.
static INJURIES: &[(&str, &[&str], &[&str])] = &[
    (
        "家用电器",
        &["电击伤", "烧烫伤", "割伤"],
        &["25-44", "45-64", "65+"],
    ),
    ("燃气器具", &["烧烫伤", "中毒"], &["25-44", "45-64", "65+"]),
    ("儿童用品", &["窒息", "挫伤", "骨折"], &["0-4", "5-14"]),
    ("玩具", &["窒息", "割伤", "挫伤"], &["0-4", "5-14"]),
    ("家具", &["挫伤", "骨折"], &["0-4", "5-14", "65+"]),
    (
        "电动自行车",
        &["骨折", "挫伤", "烧烫伤"],
        &["15-24", "25-44", "45-64"],
    ),
    ("运动器材", &["骨折", "挫伤"], &["5-14", "15-24", "25-44"]),
    ("厨房用具", &["割伤", "烧烫伤"], &["25-44", "45-64"]),
];

/// Vehicle makers: name, brand, models.
static VEHICLE_MAKERS: &[(&str, &str, &[&str])] = &[
    (
        "上汽大众汽车有限公司",
        "大众",
        &["朗逸", "帕萨特", "途观L", "ID.4 X"],
    ),
    (
        "一汽-大众汽车有限公司",
        "大众",
        &["速腾", "迈腾", "探岳", "ID.4 CROZZ"],
    ),
    ("广汽本田汽车有限公司", "本田", &["雅阁", "缤智", "皓影"]),
    ("东风日产乘用车公司", "日产", &["轩逸", "天籁", "奇骏"]),
    (
        "长城汽车股份有限公司",
        "哈弗",
        &["哈弗H6", "哈弗大狗", "哈弗M6"],
    ),
    (
        "比亚迪汽车工业有限公司",
        "比亚迪",
        &["秦PLUS", "宋PLUS", "汉", "元PLUS"],
    ),
    (
        "北京奔驰汽车有限公司",
        "梅赛德斯-奔驰",
        &["C级", "E级", "GLC"],
    ),
    ("华晨宝马汽车有限公司", "宝马", &["3系", "5系", "X3"]),
    ("特斯拉（上海）有限公司", "特斯拉", &["Model 3", "Model Y"]),
    ("吉利汽车集团有限公司", "吉利", &["帝豪", "星越L", "博越"]),
    ("上汽通用汽车有限公司", "别克", &["英朗", "昂科威", "GL8"]),
    (
        "长安汽车股份有限公司",
        "长安",
        &["CS75 PLUS", "逸动", "UNI-K"],
    ),
];

/// Vehicle defects: defect, consequence, remedy.
static VEHICLE_DEFECTS: &[(&str, &str, &str)] = &[
    (
        "制动软管在极端情况下可能与悬架部件干涉，导致软管磨损",
        "制动液泄漏，制动性能下降，存在安全隐患",
        "免费更换制动软管并调整走向",
    ),
    (
        "安全气囊气体发生器在长期高温高湿环境下可能异常展开",
        "气囊展开时金属碎片飞出，可能造成乘员伤害",
        "免费更换安全气囊气体发生器",
    ),
    (
        "燃油泵叶轮可能变形，导致燃油泵失效",
        "行驶中发动机熄火，增加碰撞风险",
        "免费更换燃油泵",
    ),
    (
        "后悬架控制臂焊接质量不良，可能出现裂纹",
        "极端情况下控制臂断裂，影响车辆操控",
        "免费检查并更换后悬架控制臂",
    ),
    (
        "动力电池包密封不良，可能进水",
        "电池绝缘失效，极端情况下可能起火",
        "免费检查并更换电池包密封件",
    ),
    (
        "电子驻车制动软件存在缺陷",
        "驻车制动可能无法释放或意外启用",
        "免费升级电子驻车制动软件",
    ),
    (
        "座椅安全带预紧器点火线束布置不当",
        "碰撞时预紧器可能无法正常工作",
        "免费重新布置线束",
    ),
    (
        "转向横拉杆球头润滑不足",
        "转向沉重，极端情况下球头脱出",
        "免费更换转向横拉杆总成",
    ),
];

/// Consumer product recalls: product, industry of its maker, model prefix, defect, risk,
/// remedy.
static CONSUMER_RECALLS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "儿童推车",
        "童车",
        "BC",
        "折叠锁止机构强度不足",
        "推车意外折叠，可能夹伤儿童",
        "免费更换锁止机构",
    ),
    (
        "电暖器",
        "电器",
        "NSB",
        "倾倒开关失效",
        "倾倒后继续加热，可能引发火灾",
        "召回并退款",
    ),
    (
        "移动电源",
        "电子",
        "PB",
        "电芯隔膜存在缺陷",
        "充电时可能过热起火",
        "召回并更换",
    ),
    (
        "电吹风",
        "电器",
        "HD",
        "电源线绝缘层厚度不足",
        "绝缘破损，存在触电风险",
        "免费更换电源线",
    ),
    (
        "儿童玩具",
        "玩具",
        "TY",
        "小零件易脱落",
        "儿童误吞，存在窒息风险",
        "召回并退款",
    ),
    (
        "婴儿床",
        "家具",
        "YC",
        "护栏间隙过大",
        "婴儿头部卡入，存在窒息风险",
        "免费更换护栏",
    ),
    (
        "电动自行车充电器",
        "电器",
        "CD",
        "输出端短路保护失效",
        "充电时可能起火",
        "免费更换充电器",
    ),
    (
        "儿童服装",
        "服饰",
        "TZ",
        "帽绳过长",
        "绳带缠绕，存在勒伤风险",
        "免费剪除帽绳或退货",
    ),
    (
        "燃气灶",
        "厨具",
        "JZ",
        "熄火保护装置响应时间过长",
        "燃气泄漏，存在中毒和爆炸风险",
        "免费更换熄火保护装置",
    ),
];

pub fn row(id: &str, ctx: &mut Ctx) -> Option<Value> {
    let year = ctx.year;
    Some(match id {
        "A1-01" => {
            let name = ctx.grid_str("product").unwrap_or("电热水壶");
            let p = vocab::PRODUCTS
                .iter()
                .find(|p| p.name == name)
                .unwrap_or(&vocab::PRODUCTS[0]);
            let number = 100 + crate::rng::hash(0, &[p.name]) % 400;
            let channel = ctx.grid_str("sampling_channel").unwrap_or("production");
            let batches = match channel {
                "production" => ctx.int(80, 600),
                "distribution" => ctx.int(30, 200),
                _ => ctx.int(20, 150),
            };
            json!({
                "product_category": p.category,
                "product_subcategory": if p.subcategory.is_empty() { Value::Null } else { json!(p.subcategory) },
                "planned_batches": batches,
                "rules_no": format!("CCGF {number}.{}-{}", ctx.int(1, 4), year - ctx.int(0, 3) as i32),
                "inspection_agency": p.agency,
                "remarks": match channel {
                    "ecommerce" => json!("网络购买抽样"),
                    "distribution" => json!("在流通领域抽样"),
                    _ => Value::Null,
                },
            })
        }
        "A2-05" => {
            let province = ctx.grid_province();
            let batches = ctx.int(300, 6000);
            let rate = ctx.num(86.0, 98.5, 1);
            let passed = (batches as f64 * rate / 100.0).round() as i64;
            json!({
                "province": province.full,
                "products": ctx.int(20, 160),
                "enterprises": batches * 7 / 10,
                "batches": batches,
                "passed_batches": passed,
                "pass_rate": round(100.0 * passed as f64 / batches as f64, 1),
            })
        }
        "A3-03" => {
            let (project, product, item, limit, unit) = *ctx.pick(RISKS);
            let samples = ctx.int(30, 300);
            let problems = ctx.int(0, samples / 5);
            let measured = if problems > 0 {
                round(limit * (1.2 + 4.0 * ctx.rng.f64()), 3)
            } else {
                round(limit * 0.6 * ctx.rng.f64(), 3)
            };
            let share = problems as f64 / samples as f64;
            json!({
                "project": format!("{year}年{project}"),
                "product": product,
                "samples": samples,
                "problem_samples": problems,
                "risk_item": item,
                "measured_value": measured,
                "limit_value": limit,
                "unit": unit,
                "risk_level": if share > 0.1 { "高" } else if share > 0.03 { "中" } else { "低" },
            })
        }
        "A3-05" => {
            let province = ctx.province;
            let city = city_of(ctx.rng, province);
            let (category, injuries, ages) = *ctx.pick(INJURIES);
            let hospital = match ctx.int(0, 3) {
                0 => format!("{city}第一人民医院"),
                1 => format!("{city}儿童医院"),
                2 => format!("{}人民医院", province.full),
                _ => format!("{city}中心医院"),
            };
            let severity = ["轻度", "轻度", "轻度", "中度", "中度", "重度"];
            json!({
                "reported_on": ctx.date().iso(),
                "hospital": hospital,
                "province_code": province.code,
                "province": province.full,
                "product_category": category,
                "injury_type": *ctx.pick(injuries),
                "age_group": *ctx.pick(ages),
                "severity": *ctx.pick(&severity),
            })
        }
        "A4-01" => {
            let (code, product, details, industry) = *ctx.pick(LICENSED);
            let e = company_for(ctx, industry, 4000);
            let issued = ctx.date_back(4);
            let valid = valid_for(issued, 5);
            let status = super::status(ctx, valid, "过期", &["注销", "撤销", "吊销"]);
            let national = matches!(code, "06" | "13" | "12");
            json!({
                "licence_no": format!("XK{code}-{:03}-{}", ctx.int(1, 999), ctx.serial(5)),
                "enterprise": e.name,
                "uscc": e.uscc,
                "domicile": e.address,
                "production_address": e.address,
                "province_code": e.province.code,
                "product": product,
                "product_detail": details.join("、"),
                "issued_on": issued.iso(),
                "valid_until": valid.iso(),
                "issuing_authority": if national && issued.y >= 2019 { "国家市场监督管理总局".to_owned() } else { regulator(e.province, issued.y) },
                "status": status,
            })
        }
        "A4-02" => {
            let (code, product, _, industry) = *ctx.pick(LICENSED);
            let e = company_for(ctx, industry, 4000);
            let action = *ctx.pick(&["注销", "注销", "注销", "撤销", "吊销"]);
            let reason = match action {
                "注销" => *ctx.pick(&["企业申请注销", "许可证有效期届满未延续", "企业依法终止"]),
                "撤销" => "以欺骗、贿赂等不正当手段取得许可",
                _ => *ctx.pick(&[
                    "监督抽查不合格且整改后仍不合格",
                    "生产条件发生变化不再符合许可要求",
                ]),
            };
            let abbr = if e.province.abbr.is_empty() {
                "兵"
            } else {
                e.province.abbr
            };
            json!({
                "licence_no": format!("XK{code}-{:03}-{}", ctx.int(1, 999), ctx.serial(5)),
                "enterprise": e.name,
                "product": product,
                "action": action,
                "reason": reason,
                "effective_on": ctx.date().iso(),
                "announcement_no": format!("{abbr}市监公告〔{year}〕{}号", ctx.int(1, 80)),
            })
        }
        "A4-03" => {
            let (maker, brand, models) = *ctx.pick(VEHICLE_MAKERS);
            let (defect, consequence, remedy) = *ctx.pick(VEHICLE_DEFECTS);
            let published = ctx.date();
            let recall_start = plus_days(published, ctx.int(7, 30) as u32);
            let end = published.minus_days(ctx.int(60, 400) as u32);
            let start = end.minus_days(ctx.int(90, 900) as u32);
            let n = ctx.int(1, 2.min(models.len() as i64)) as usize;
            let first = ctx.rng.below(models.len());
            let picked: Vec<&str> = (0..n).map(|k| models[(first + k) % models.len()]).collect();
            json!({
                "recall_no": format!("S{}-{}", ctx.year, ctx.serial(4)),
                "manufacturer": maker,
                "brand": brand,
                "models": picked.join("、"),
                "production_start": start.iso(),
                "production_end": end.iso(),
                "units": ctx.int(30, 400_000),
                "defect": defect,
                "consequence": consequence,
                "remedy": remedy,
                "recall_start": recall_start.iso(),
                "published_on": published.iso(),
            })
        }
        "A4-04" => {
            let (product, industry, prefix, defect, risk, remedy) = *ctx.pick(CONSUMER_RECALLS);
            let e = company_for(ctx, industry, 2000);
            json!({
                "product": product,
                "model": format!("{prefix}-{}", ctx.int(100, 9999)),
                "producer": e.name,
                "units": ctx.int(50, 80_000),
                "defect": defect,
                "risk": risk,
                "remedy": remedy,
                "published_on": ctx.date().iso(),
            })
        }
        "A4-05" => {
            let province = ctx.grid_province();
            let scale = (province.weight + 1.0) * 800.0;
            let complaints = (scale * (0.6 + ctx.rng.f64())) as i64;
            let reports = complaints / ctx.int(3, 8);
            let enquiries = (scale * (0.8 + ctx.rng.f64())) as i64;
            let hot = [
                "电动自行车",
                "汽车",
                "手机",
                "家用电器",
                "儿童用品",
                "装饰装修材料",
                "预付式消费",
            ];
            json!({
                "province": province.full,
                "received": complaints + reports + enquiries,
                "complaints": complaints,
                "reports": reports,
                "enquiries": enquiries,
                "hot_products": *ctx.pick(&hot),
                "completion_rate": ctx.num(92.0, 99.9, 1),
            })
        }
        _ => return None,
    })
}
