//! The 98 resources that are not spot-check results: registers, catalogues, lists and
//! statistics, generated from each resource's Table Schema with domain-aware values.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use zhijian_catalog::{Field, FieldType, Frequency, Resource, TableSchema};

use crate::corpus::{publish, simple_meta};
use crate::error::Result;
use crate::rng::Rng;
use crate::sink::{Attachment, Cell, Encoding, Format, Shape, Sheet, Truth};
use crate::text::{self, Date};
use crate::vocab::{self, PLACEHOLDERS, PROVINCES};
use crate::{Output, Stats};

/// A raw table being built: header texts, the schema field of each column (`""` for a column
/// the ingester ignores, such as 序号), and rows with their truth.
pub struct RawTable {
    headers: Vec<String>,
    fields: Vec<String>,
    rows: Vec<(Vec<Cell>, Truth)>,
    spreadsheet_dates: bool,
}

impl RawTable {
    /// A table with these headers over these fields.
    pub fn new(headers: &[&str], fields: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            fields: fields.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            spreadsheet_dates: false,
        }
    }

    /// Appends one row of canonical values (in column order); `custom` may spell a value
    /// differently in the raw cell. Nulls become placeholder cells.
    pub fn push_values(
        &mut self,
        rng: &mut Rng,
        values: Vec<Value>,
        custom: impl Fn(&str, &Value) -> Option<String>,
    ) {
        let mut cells = Vec::with_capacity(values.len());
        let mut truth = Map::new();
        for (field, value) in self.fields.iter().zip(&values) {
            let cell = match custom(field, value) {
                Some(raw) => Cell::text(raw),
                None => match value {
                    Value::Null => Cell::text(*rng.pick(PLACEHOLDERS)),
                    Value::Number(n) if field.is_empty() => {
                        Cell::Num(n.as_f64().unwrap_or_default())
                    }
                    Value::Number(n) => Cell::text(n.to_string()),
                    Value::Array(items) => Cell::text(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("、"),
                    ),
                    Value::String(s) => Cell::text(s.clone()),
                    other => Cell::text(other.to_string()),
                },
            };
            cells.push(cell);
            if !field.is_empty() {
                truth.insert(field.clone(), value.clone());
            }
        }
        self.rows.push((cells, Truth::Data(truth)));
    }
}

/// Lays a raw table out as an attachment: optional title row, header, rows.
pub fn table_attachment(
    table: RawTable,
    file: &str,
    format: Format,
    title: &str,
    title_row: bool,
) -> Attachment {
    let width = table.headers.len();
    let mut rows: Vec<(Shape, Truth)> = Vec::new();
    if title_row && format != Format::Json {
        rows.push((Shape::Span(title.to_owned()), Truth::NonData("title")));
    }
    rows.push((
        Shape::Cells(
            table
                .headers
                .iter()
                .map(|h| Cell::text(h.clone()))
                .collect(),
        ),
        Truth::NonData("header"),
    ));
    for (cells, truth) in table.rows {
        rows.push((Shape::Cells(cells), truth));
    }
    let name = match format {
        Format::Html { .. } => "1",
        _ => "Sheet1",
    };
    let _ = table.spreadsheet_dates;
    Attachment {
        file: file.to_owned(),
        format,
        title: title.to_owned(),
        layout: "",
        sheets: vec![Sheet {
            name: name.to_owned(),
            width,
            rows,
        }],
    }
}

/// Rows of a resource at a scale (before the grid of a statistic caps them).
fn target_rows(resource: &Resource, scale: u64) -> usize {
    let ratio = match resource.id.as_str() {
        "D1-01" => 0.14,
        "D4-03" => 0.10,
        "E1-01" | "D2-04" | "D4-01" => 0.08,
        "A4-01" | "E2-01" | "D4-02" | "D2-03" => 0.05,
        "F3-01" | "F3-02" | "F4-01" | "F2-01" => 0.02,
        _ => match resource.frequency {
            Frequency::Weekly | Frequency::Monthly => 0.01,
            _ => 0.004,
        },
    };
    ((scale as f64 * ratio) as usize).max(40)
}

/// Jobs of the non-spot-check side: a few publications per resource.
pub fn jobs(catalog: &zhijian_catalog::Catalog, scale: u64) -> Vec<crate::Job> {
    let mut jobs = Vec::new();
    for r in &catalog.resources {
        if r.spot_check || r.id == "A1-04" || r.id == "A1-05" {
            continue;
        }
        let rows = target_rows(r, scale);
        let per_pub = match r.frequency {
            Frequency::Monthly | Frequency::Weekly => 400,
            _ => 3000,
        };
        let pubs = (rows / per_pub).clamp(2, 400);
        for i in 0..pubs {
            jobs.push(crate::Job::Other {
                resource: r.id.clone(),
                index: i,
                of: pubs,
            });
        }
    }
    jobs
}

/// The values a primary-key column ranges over, for statistics laid out on a grid.
fn domain(field: &Field, years: &[i32]) -> Option<Vec<Value>> {
    Some(match field.name.as_str() {
        "year" => years.iter().map(|y| json!(y)).collect(),
        "month" => (1..=12).map(|m| json!(m)).collect(),
        "quarter" => (1..=4).map(|q| json!(q)).collect(),
        "province_code" => PROVINCES.iter().map(|p| json!(p.code)).collect(),
        "port" => vocab_ports().iter().map(|p| json!(p)).collect(),
        _ => match &field.constraints.enum_values {
            Some(values) => values.clone(),
            None => pool(&field.name)?.iter().map(|s| json!(s)).collect(),
        },
    })
}

fn vocab_ports() -> &'static [&'static str] {
    &[
        "上海",
        "天津",
        "深圳",
        "广州",
        "青岛",
        "宁波",
        "厦门",
        "大连",
        "南京",
        "拱北",
        "黄埔",
        "北京",
        "杭州",
        "福州",
        "武汉",
        "满洲里",
        "乌鲁木齐",
        "昆明",
        "南宁",
        "海口",
    ]
}

/// Phrase pools for text fields.
fn pool(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "indicator" => &[
            "特种设备总量",
            "万台特种设备死亡率",
            "事故起数",
            "死亡人数",
            "受伤人数",
            "检验机构数",
            "持证作业人员",
            "生产单位数",
        ],
        "disease" => &[
            "登革热",
            "疟疾",
            "霍乱",
            "新型冠状病毒感染",
            "猴痘",
            "非洲猪瘟",
            "禽流感",
            "口蹄疫",
            "黄热病",
            "基孔肯雅热",
        ],
        "domain" => &[
            "行政区划",
            "产品分类",
            "组织机构",
            "行业分类",
            "物流编码",
            "信息分类编码",
        ],
        "cylinder_type" => &[
            "无缝气瓶",
            "焊接气瓶",
            "溶解乙炔气瓶",
            "车用气瓶",
            "液化石油气钢瓶",
        ],
        "boiler_type" => &["工业锅炉", "电站锅炉", "生活锅炉"],
        "work_code" => &["G1", "G2", "R1", "Q1", "Q2", "T", "N1", "A"],
        "city" => &[
            "广州", "深圳", "杭州", "宁波", "南京", "苏州", "武汉", "成都", "西安", "青岛",
        ],
        "campaign" => &[
            "加油机计量专项检查",
            "集贸市场计量专项检查",
            "眼镜制配场所计量专项检查",
            "医疗机构计量专项检查",
        ],
        "product_category" => &[
            "肉类",
            "乳制品",
            "水产品",
            "酒类",
            "饮料",
            "糕点饼干",
            "粮谷及制品",
            "调味品",
            "干坚果",
            "化妆品",
        ],
        "reason" => &[
            "标签不合格",
            "货证不符",
            "未获检验检疫准入",
            "未按要求提供证书或合格证明材料",
            "检出动物疫病",
            "超范围使用食品添加剂",
            "菌落总数超标",
            "品质不合格",
            "农兽药残留超标",
            "重金属超标",
            "超过保质期",
            "包装不合格",
            "携带有害生物",
        ],
        "defect" | "risk" | "consequence" | "hazard" => &[
            "制动软管可能破裂，导致制动失效",
            "安全气囊可能无法正常展开",
            "电源线绝缘不良，存在触电风险",
            "小零件易脱落，存在窒息风险",
            "充电时可能过热起火",
            "检出沙门氏菌",
            "铅含量超过限量",
        ],
        "remedy" | "measures" | "handling" => &[
            "免费更换零部件",
            "召回并退款",
            "退运",
            "销毁",
            "暂停进口",
            "加强检验",
            "责令整改",
            "依法查处",
        ],
        "cause" => &[
            "违章作业",
            "设备缺陷",
            "安全附件失效",
            "管理不善",
            "维护保养不到位",
        ],
        "pest" => &[
            "地中海实蝇",
            "松材线虫",
            "谷斑皮蠹",
            "红火蚁",
            "苹果蠹蛾",
            "菜豆象",
        ],
        "animal" => &["牛肉", "猪肉", "冻鸡爪", "种猪", "水产品", "乳制品"],
        "accident_type" => &["爆炸", "泄漏", "坠落", "剪切挤压", "倾覆", "困人"],
        "injury_type" => &["烧烫伤", "骨折", "挫伤", "割伤", "窒息", "电击伤"],
        "hospital" => &["市第一人民医院", "儿童医院", "中心医院", "人民医院急诊科"],
        "goods_category" => &["木质包装", "原木", "粮谷", "水果", "种子种苗", "集装箱"],
        "hot_products" => &[
            "电动自行车",
            "汽车",
            "手机",
            "家用电器",
            "儿童用品",
            "装饰装修材料",
        ],
        "sector" => &["钢铁", "有色金属", "化工", "建材", "电力", "纺织"],
        "org_type" => &["企业法人", "事业单位", "社会团体", "机关法人"],
        "technical_committee" | "competent_department" => &[
            "全国电工电子产品安全标准化技术委员会",
            "全国家用电器标准化技术委员会",
            "全国纺织品标准化技术委员会",
            "国家市场监督管理总局",
        ],
        _ => return None,
    })
}

/// A value for a field of a row; `i` is the row's index within its resource.
#[allow(clippy::too_many_lines)]
fn value(
    rng: &mut Rng,
    seed: u64,
    r: &Resource,
    f: &Field,
    i: usize,
    year: i32,
    province: &vocab::Province,
) -> Value {
    let name = f.name.as_str();
    let unique = |width: usize| format!("{:0width$}", (i * 7919 + 13) % 10usize.pow(width as u32));
    let product = || *rng_pick_product(r, i);
    let v: Value = match name {
        "year" => json!(year),
        "month" => json!(1 + i % 12),
        "quarter" => json!(1 + i % 4),
        "province_code" => json!(province.code),
        "province" => json!(province.full),
        "uscc" => json!(text::uscc(rng, &format!("{}0101", &province.code[..2]))),
        "address" | "domicile" | "production_address" | "installation_address" => {
            let city = province.cities.first().copied().unwrap_or_default();
            json!(format!(
                "{}{}{}路{}号",
                province.full,
                city,
                rng.pick(vocab::NAME_A),
                rng.range(1, 800)
            ))
        }
        "division_code" => json!(format!("{}{:02}", &province.code[..4], rng.range(1, 20))),
        "inspection_no" => json!(format!(
            "{}{year}{}",
            rng.range(110_000, 469_999),
            unique(6)
        )),
        "notification_no" => json!(format!(
            "G/{}/N/{}/{}",
            rng.pick(&["TBT", "SPS"]),
            rng.pick(&["USA", "EUR", "JPN", "KOR", "BRA", "IND", "CAN"]),
            100 + i
        )),
        "phone" => json!(format!(
            "0{}-{}",
            rng.range(10, 999),
            rng.range(2_000_000, 89_999_999)
        )),
        "sector_code" => json!(rng.pick(&["QB", "HG", "FZ", "JB", "JC", "SN", "YY", "GA"])),
        "product_code" => json!(format!("{:02}{:02}", rng.range(1, 22), rng.range(1, 15))),
        "rules_no" if r.id == "A1-01" => json!(format!(
            "CCGF {}.{}-{}",
            rng.range(100, 600),
            rng.range(1, 9),
            year.min(2025) - rng.range(0, 3) as i32
        )),
        "rules_no" => json!(format!(
            "CNCA-C{:02}-{:02}:{}",
            rng.range(1, 22),
            rng.range(1, 9),
            year
        )),
        "ccs" => json!(format!(
            "{}{:02}",
            rng.pick(&["A", "B", "C", "G", "K", "L", "N", "Q", "X", "Y"]),
            rng.range(0, 99)
        )),
        "ics" => json!(format!(
            "{:02}.{:03}.{:02}",
            rng.pick(&[13, 29, 43, 59, 67, 91, 97]),
            rng.range(10, 199),
            rng.range(1, 60)
        )),
        "port" => json!(rng.pick(vocab_ports())),
        "origin_country" | "country" | "destination_country" | "notifying_country" | "member" => {
            json!(rng.pick(&[
                "美国",
                "日本",
                "韩国",
                "德国",
                "法国",
                "澳大利亚",
                "新西兰",
                "泰国",
                "越南",
                "意大利",
                "巴西",
                "马来西亚",
                "加拿大",
                "西班牙",
                "荷兰"
            ]))
        }
        "hs_code" => json!(format!(
            "{}{:06}",
            rng.pick(&[
                "02", "03", "04", "08", "09", "16", "19", "20", "21", "22", "33", "85", "94", "95"
            ]),
            rng.range(0, 999_999)
        )),
        "standard_no" => json!(match r.id.as_str() {
            "D2-01" => format!(
                "{} {}-{}",
                rng.pick(&["QB/T", "HG/T", "FZ/T", "JB/T", "JC/T"]),
                1000 + i,
                year
            ),
            "D2-02" => format!("DB{}/T {}-{}", &province.code[..2], 100 + i, year),
            "D2-03" => format!(
                "T/{} {}-{}",
                rng.pick(&["CAS", "CNTAC", "CEEIA", "CCSA", "CHEAA"]),
                1 + i,
                year
            ),
            "D2-04" => format!(
                "Q/{} {:03}-{}",
                rng.pick(&["HD", "MD", "GL", "ZJ", "SH"]),
                1 + i % 999,
                year
            ),
            _ => format!(
                "GB{} {}-{}",
                rng.pick(&["/T", "/T", "", "/Z"]),
                1000 + i * 3,
                year
            ),
        }),
        "regulation_no" => json!(format!(
            "{} {}-{}",
            rng.pick(&["JJG", "JJF"]),
            100 + i,
            year
        )),
        "licence_no" if r.id.starts_with("A4") => json!(format!(
            "XK{:02}-{:03}-{}",
            rng.range(1, 30),
            rng.range(1, 999),
            unique(5)
        )),
        "licence_no" if r.id == "B2-01" => {
            json!(format!("TS{}{}-{}", rng.range(1, 7), unique(6), year + 4))
        }
        "certificate_no" if r.id.starts_with("E1") => json!(format!(
            "{year}{:02}{:02}{}",
            rng.range(1, 20),
            rng.range(1, 22),
            unique(8)
        )),
        "certificate_no" if r.id == "E3-03" => {
            json!(format!("{year}{:02}{}", rng.range(10, 35), unique(6)))
        }
        "certificate_no" if r.id == "C1-03" => json!(format!(
            "[{year}]国量标{}证字第{}号",
            province
                .abbr
                .chars()
                .next()
                .map_or("京".to_owned(), String::from),
            unique(3)
        )),
        "registration_no" if r.id == "E3-01" => json!(format!("CNAS L{}", unique(5))),
        "registration_no" if r.id == "E3-02" => json!(format!("CNAS IB{}", unique(4))),
        "crm_no" => json!(format!(
            "GBW{}{}",
            if rng.chance(0.6) { "(E)" } else { "" },
            unique(6)
        )),
        "approval_no" if r.id.starts_with("C2") => json!(format!(
            "{year}{}{}-{:02}",
            rng.pick(&["C", "F"]),
            unique(3),
            rng.range(10, 65)
        )),
        "approval_no" if r.id == "E2-05" => json!(format!("CNCA-R-{year}-{}", unique(3))),
        "recall_no" => json!(format!("S{year}-{}", unique(4))),
        "plan_no" => json!(format!(
            "{year}{}-{}-{:03}",
            unique(4),
            rng.pick(&["T", "Q", "Z"]),
            rng.range(100, 999)
        )),
        "tc_no" => json!(format!("SAC/TC {}", 1 + i % 999)),
        "sc_no" => json!(format!("SAC/TC {}/SC {}", 1 + i / 20 % 999, 1 + i % 20)),
        "international_body" => json!(format!("ISO/TC {}", 1 + i)),
        "sample_no" => json!(format!("GSB {:02}-{}-{year}", rng.range(1, 40), unique(4))),
        "gtin" => json!(format!("69{}{}", unique(7), rng.range(1000, 9999))),
        "company_prefix" => json!(format!("69{}", unique(7))),
        "device_code" => json!(format!("3{}{}{}", &province.code[..4], year, unique(11))),
        "org_code" => json!(format!("{}-{}", unique(8), rng.range(0, 9))),
        "filing_no" if r.id == "E4-01" => json!(format!("{}00/{}", &province.code[..2], unique(5))),
        "filing_no" if r.id == "D2-01" => json!(format!("{}-{year}", unique(5))),
        "product" | "products" | "instrument" | "models" | "animal" | "product_detail"
            if f.field_type == FieldType::String =>
        {
            json!(product())
        }
        "product_category" if r.id.starts_with('A') => {
            json!(vocab::PRODUCTS[i % vocab::PRODUCTS.len()].category)
        }
        _ => match f.field_type {
            FieldType::Date => {
                let d = Date::random_in(rng, year);
                let valid_until = name.starts_with("valid")
                    || name.contains("deadline")
                    || name.starts_with("next");
                if valid_until {
                    let y = year + rng.range(2, 6) as i32;
                    json!(
                        Date {
                            y,
                            m: d.m,
                            d: d.d.min(text::days_in_month(y, d.m))
                        }
                        .iso()
                    )
                } else {
                    json!(d.iso())
                }
            }
            FieldType::Integer | FieldType::Year => {
                let lo = f
                    .constraints
                    .minimum
                    .as_ref()
                    .and_then(serde_json::Number::as_i64)
                    .unwrap_or(0);
                let hi = f
                    .constraints
                    .maximum
                    .as_ref()
                    .and_then(serde_json::Number::as_i64)
                    .unwrap_or(lo + 5000)
                    .min(lo + 5000);
                json!(rng.range(lo, hi))
            }
            FieldType::Number => {
                let hi = f
                    .constraints
                    .maximum
                    .as_ref()
                    .and_then(serde_json::Number::as_f64)
                    .unwrap_or(10_000.0);
                let lo = f
                    .constraints
                    .minimum
                    .as_ref()
                    .and_then(serde_json::Number::as_f64)
                    .unwrap_or(0.0);
                let x = if hi <= 100.0 {
                    60.0 + (hi - 60.0).max(0.0) * rng.f64()
                } else {
                    lo + (hi.min(50_000.0) - lo) * rng.f64()
                };
                json!((x * 10.0).round() / 10.0)
            }
            FieldType::List => json!(vec![*rng.pick(&[
                "标签",
                "重金属",
                "微生物",
                "安全性能",
                "电气性能"
            ])]),
            FieldType::Boolean => json!(rng.chance(0.5)),
            _ => match &f.constraints.enum_values {
                Some(values) => rng.pick(values).clone(),
                None if f.constraints.pattern.is_some() => {
                    let example = f
                        .example
                        .as_ref()
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    json!(
                        example
                            .chars()
                            .map(|c| if c.is_ascii_digit() {
                                char::from(b'0' + rng.below(10) as u8)
                            } else {
                                c
                            })
                            .collect::<String>()
                    )
                }
                None => match pool(name) {
                    Some(words) => json!(rng.pick(words)),
                    None if f.title.contains("单位")
                        || f.title.contains("企业")
                        || f.title.contains("机构")
                        || f.title.contains("名称") && name != "title" =>
                    {
                        let e = crate::enterprise::enterprise(
                            seed,
                            &vocab::PRODUCTS[i % vocab::PRODUCTS.len()],
                            i,
                        );
                        json!(e.name)
                    }
                    None => json!(format!("{}{}", f.title, 1 + i % 997)),
                },
            },
        },
    };
    v
}

fn rng_pick_product(r: &Resource, i: usize) -> &'static &'static str {
    static FOOD: &[&str] = &[
        "牛肉",
        "冷冻虾仁",
        "葡萄酒",
        "婴幼儿配方乳粉",
        "橄榄油",
        "巧克力",
        "饼干",
        "咖啡豆",
        "坚果",
        "矿泉水",
    ];
    static COSMETICS: &[&str] = &["面霜", "洗发水", "口红", "防晒霜", "香水", "面膜"];
    static INSTR: &[&str] = &[
        "电子计价秤",
        "水表",
        "电能表",
        "燃气表",
        "加油机",
        "血压计",
        "出租车计价器",
        "压力表",
    ];
    static GOODS: &[&str] = &[
        "电热水壶",
        "儿童玩具",
        "服装",
        "鞋类",
        "灯具",
        "电线电缆",
        "机动车零部件",
        "家具",
    ];
    let list: &'static [&'static str] = match r.id.as_str() {
        "F3-02" => COSMETICS,
        id if id.starts_with("F3") || id.starts_with("F2") || id.starts_with("E4") => FOOD,
        id if id.starts_with('C') => INSTR,
        _ => GOODS,
    };
    &list[i % list.len()]
}

/// One publication of a non-spot-check resource.
pub fn publication(
    out: &Output,
    r: &Resource,
    schema: &TableSchema,
    index: usize,
    of: usize,
) -> Result<Stats> {
    let seed = out.seed;
    let mut rng = Rng::new(seed, &["other", &r.id, &index.to_string()]);
    let end = r.temporal_end.map_or(2025, i32::from);
    let start = i32::from(r.temporal_start).max(end - 20);
    let years: Vec<i32> = (start..=end).collect();
    let year = years[index * years.len() / of.max(1)];
    let fields: Vec<&Field> = schema
        .fields
        .iter()
        .filter(|f| !zhijian_catalog::LINEAGE_FIELDS.contains(&f.name.as_str()))
        .collect();

    // Statistics keyed by dimensions: walk the grid of the key (within the year) instead of
    // drawing rows, so keys stay unique.
    let grid_keys: Vec<&Field> = schema
        .primary_key
        .iter()
        .filter(|k| k.as_str() != "record_id" && k.as_str() != "year")
        .filter_map(|k| schema.field(k))
        .collect();
    let grid: Option<Vec<Vec<Value>>> = if schema.primary_key.iter().any(|k| k == "year") {
        grid_keys.iter().map(|f| domain(f, &years)).collect()
    } else {
        None
    };
    let rows_target = target_rows(r, out.scale) / of.max(1) + 1;
    let rows = match &grid {
        Some(dims) => dims
            .iter()
            .map(Vec::len)
            .product::<usize>()
            .min(rows_target.max(12)),
        None => rows_target,
    };

    let headers: Vec<String> = fields.iter().map(|f| header_for(&mut rng, f)).collect();
    let with_serial = rng.chance(0.5);
    let mut all_headers: Vec<&str> = Vec::new();
    let mut all_fields: Vec<&str> = Vec::new();
    if with_serial {
        all_headers.push("序号");
        all_fields.push("");
    }
    for (h, f) in headers.iter().zip(&fields) {
        all_headers.push(h);
        all_fields.push(&f.name);
    }
    let format = pick_format(&mut rng, r, index);
    let mut table = RawTable::new(&all_headers, &all_fields);
    let spreadsheet = format == Format::Xlsx;
    let gbk = format.is_gbk_family();
    let mut seen_keys: BTreeMap<String, ()> = BTreeMap::new();
    for row in 0..rows {
        let global = index * rows_target + row;
        let province = &PROVINCES[(global * 31 + index) % PROVINCES.len()];
        let mut values: Vec<Value> = Vec::new();
        if with_serial {
            values.push(json!(row + 1));
        }
        let mut grid_values: BTreeMap<&str, Value> = BTreeMap::new();
        if let Some(dims) = &grid {
            let mut k = row;
            for (f, dim) in grid_keys.iter().zip(dims) {
                grid_values.insert(f.name.as_str(), dim[k % dim.len()].clone());
                k /= dim.len();
            }
        }
        let mut row_province = province;
        if let Some(code) = grid_values.get("province_code").and_then(Value::as_str) {
            row_province = vocab::province(code).unwrap_or(province);
        }
        for f in &fields {
            let mut v = match grid_values.get(f.name.as_str()) {
                Some(v) => v.clone(),
                None => value(&mut rng, seed, r, f, global, year, row_province),
            };
            if f.name == "record_id" {
                continue;
            }
            // Optional cells are sometimes empty in real lists.
            if !f.constraints.required && !schema.primary_key.contains(&f.name) && rng.chance(0.04)
            {
                v = Value::Null;
            }
            if gbk
                && let Value::String(s) = &v
                && !crate::sink::gbk_encodable(s)
            {
                v = json!(
                    s.chars()
                        .map(|c| if crate::sink::gbk_encodable(&c.to_string()) {
                            c
                        } else {
                            '吉'
                        })
                        .collect::<String>()
                );
            }
            values.push(v);
        }
        // Keys must be unique within the resource: skip a rare repeat of a drawn key.
        let key: String = schema
            .primary_key
            .iter()
            .filter(|k| k.as_str() != "record_id")
            .filter_map(|k| {
                all_fields
                    .iter()
                    .position(|f| f == k)
                    .map(|p| values[p].to_string())
            })
            .collect::<Vec<_>>()
            .join("|");
        if !key.is_empty() && seen_keys.insert(key, ()).is_some() {
            continue;
        }
        let dates_as_cells = spreadsheet && rng.chance(0.5);
        let fields_by_name: BTreeMap<&str, &&Field> =
            fields.iter().map(|f| (f.name.as_str(), f)).collect();
        table.push_values(&mut rng.clone(), values, |field, v| {
            let f = fields_by_name.get(field)?;
            match (f.field_type, v) {
                (FieldType::Date, Value::String(iso)) if !dates_as_cells => {
                    Some(spell_date(iso, global))
                }
                (FieldType::Number, Value::Number(n))
                    if f.title.contains("率") && global.is_multiple_of(3) =>
                {
                    Some(format!("{n}%"))
                }
                (FieldType::Integer, Value::Number(n))
                    if f.name != "year"
                        && global.is_multiple_of(17)
                        && n.as_i64().is_some_and(|x| x >= 1000) =>
                {
                    let x = n.as_i64().unwrap_or_default();
                    Some(format!("{},{:03}", x / 1000, x % 1000))
                }
                _ => None,
            }
        });
        rng.next_u64();
        if dates_as_cells && let Some((cells, _)) = table.rows.last_mut() {
            for (cell, field) in cells.iter_mut().zip(&all_fields) {
                if let (Some(f), Cell::Text(s)) = (fields_by_name.get(field), &*cell)
                    && f.field_type == FieldType::Date
                    && let Some(d) = parse_iso(s)
                {
                    *cell = Cell::Date(d);
                }
            }
        }
        // A few rows lose a required value: they must be rejected, not published.
        if rng.chance(0.002)
            && let Some(pos) = all_fields.iter().position(|f| {
                fields_by_name
                    .get(f)
                    .is_some_and(|f| f.constraints.required && f.field_type == FieldType::String)
            })
            && let Some((cells, truth)) = table.rows.last_mut()
        {
            cells[pos] = Cell::Empty;
            *truth = Truth::Reject {
                reason: "missing_required",
                field: all_fields[pos].to_owned(),
                value: String::new(),
            };
        }
    }
    let authority = r.publisher_zh.clone();
    let mut meta = simple_meta(
        &r.id,
        &format!("{year}-{index:04}"),
        &authority,
        year,
        format!("{year}年{}", r.title_zh),
    );
    meta.announcement_no = None;
    let file = format!(
        "{}.{}",
        r.title_zh.replace(['/', '"', '“', '”'], ""),
        format.ext()
    );
    let att = table_attachment(table, &file, format, &meta.title, rng.chance(0.4));
    let hint = match format {
        Format::Csv {
            encoding: Encoding::Gbk,
            ..
        } => Some("gbk"),
        _ => None,
    };
    publish(out, &meta, vec![att], Vec::new(), hint)
}

fn header_for(rng: &mut Rng, f: &Field) -> String {
    if !f.aliases.is_empty() && rng.chance(0.7) {
        rng.pick(&f.aliases).clone()
    } else {
        f.title.clone()
    }
}

fn pick_format(rng: &mut Rng, r: &Resource, index: usize) -> Format {
    let h = crate::rng::hash(0, &[&r.id]) as usize + index;
    let _ = rng;
    match h % 8 {
        0 => Format::Csv {
            encoding: Encoding::Utf8,
            crlf: false,
        },
        1 => Format::Csv {
            encoding: Encoding::Utf8Bom,
            crlf: true,
        },
        2 => Format::Csv {
            encoding: Encoding::Gbk,
            crlf: true,
        },
        3 => Format::Csv {
            encoding: Encoding::Gb18030,
            crlf: true,
        },
        4 | 5 => Format::Xlsx,
        6 => Format::Html {
            encoding: Encoding::Utf8,
        },
        _ => Format::Json,
    }
}

fn parse_iso(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some(Date { y, m, d })
}

fn spell_date(iso: &str, salt: usize) -> String {
    let Some(d) = parse_iso(iso) else {
        return iso.to_owned();
    };
    match salt % 5 {
        0 | 1 => d.iso(),
        2 => format!("{}年{}月{}日", d.y, d.m, d.d),
        3 => format!("{}/{}/{}", d.y, d.m, d.d),
        _ => format!("{}.{:02}.{:02}", d.y, d.m, d.d),
    }
}
