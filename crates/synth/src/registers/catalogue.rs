//! The national standards catalogue: standards of each field in editions (the newest
//! current, older ones withdrawn and replaced by the next), a pure function of the seed and
//! the standard's number so that notices, foreign editions and projects name the same ones.

use crate::rng::Rng;
use crate::text::Date;

use super::plus_days;

/// A field of standardization: CCS class, ICS, the technical committee in charge, its
/// competent department, and its subjects (Chinese, English).
struct Domain {
    ccs: &'static str,
    ics: &'static str,
    tc: &'static str,
    dept: &'static str,
    subjects: &'static [(&'static str, &'static str)],
}

static DOMAINS: &[Domain] = &[
    Domain {
        ccs: "Y6",
        ics: "97.040",
        tc: "全国家用电器标准化技术委员会",
        dept: "中国轻工业联合会",
        subjects: &[
            ("电热水壶", "Electric kettles"),
            ("电饭锅", "Electric rice cookers"),
            ("吸油烟机", "Range hoods"),
            ("储水式电热水器", "Storage water heaters"),
            ("电冰箱", "Household refrigerators"),
            ("空气净化器", "Air cleaners"),
            ("洗碗机", "Dishwashers"),
            ("电吹风", "Hair dryers"),
            ("电磁灶", "Induction cookers"),
            ("微波炉", "Microwave ovens"),
        ],
    },
    Domain {
        ccs: "W0",
        ics: "59.080",
        tc: "全国纺织品标准化技术委员会",
        dept: "中国纺织工业联合会",
        subjects: &[
            ("婴幼儿纺织产品", "Textile products for infants"),
            ("针织内衣", "Knitted underwear"),
            ("羽绒服装", "Down garments"),
            ("床上用品", "Bedding products"),
            ("毛巾", "Towels"),
            ("纺织品色牢度", "Textiles colour fastness"),
            ("纺织品甲醛", "Textiles formaldehyde"),
            ("纺织品纤维含量", "Textiles fibre content"),
        ],
    },
    Domain {
        ccs: "Y5",
        ics: "97.200",
        tc: "全国玩具标准化技术委员会",
        dept: "国家标准化管理委员会",
        subjects: &[
            ("玩具安全", "Safety of toys"),
            ("电玩具", "Electric toys"),
            ("童车", "Children's carriages"),
            ("儿童自行车", "Bicycles for young children"),
            ("婴幼儿安抚奶嘴", "Soothers for babies"),
        ],
    },
    Domain {
        ccs: "X0",
        ics: "67.040",
        tc: "全国食品质量控制与管理标准化技术委员会",
        dept: "国家标准化管理委员会",
        subjects: &[
            ("食用植物油", "Edible vegetable oils"),
            ("大米", "Rice"),
            ("小麦粉", "Wheat flour"),
            ("茶叶", "Tea"),
            ("蜂蜜", "Honey"),
            ("酱油", "Soy sauce"),
            ("葡萄酒", "Wines"),
            ("饮用天然矿泉水", "Drinking natural mineral water"),
        ],
    },
    Domain {
        ccs: "K1",
        ics: "29.060",
        tc: "全国电线电缆标准化技术委员会",
        dept: "中国电器工业协会",
        subjects: &[
            ("聚氯乙烯绝缘电缆", "Polyvinyl chloride insulated cables"),
            ("电力电缆", "Power cables"),
            ("架空绞线", "Overhead stranded conductors"),
            ("电缆导体", "Conductors of insulated cables"),
        ],
    },
    Domain {
        ccs: "Q1",
        ics: "91.100",
        tc: "全国水泥标准化技术委员会",
        dept: "中国建筑材料联合会",
        subjects: &[
            ("通用硅酸盐水泥", "Common Portland cement"),
            ("水泥胶砂强度", "Cement mortar strength"),
            ("陶瓷砖", "Ceramic tiles"),
            ("建筑防水卷材", "Waterproofing membranes for buildings"),
            ("纸面石膏板", "Gypsum plasterboard"),
        ],
    },
    Domain {
        ccs: "G5",
        ics: "71.100",
        tc: "全国涂料和颜料标准化技术委员会",
        dept: "中国石油和化学工业联合会",
        subjects: &[
            ("内墙涂料", "Interior wall coatings"),
            ("木器涂料", "Wood coatings"),
            ("工业硫酸", "Sulphuric acid for industrial use"),
            ("复混肥料", "Compound fertilizers"),
        ],
    },
    Domain {
        ccs: "T4",
        ics: "43.040",
        tc: "全国汽车标准化技术委员会",
        dept: "工业和信息化部",
        subjects: &[
            ("汽车制动软管", "Brake hoses for road vehicles"),
            (
                "电动汽车用动力蓄电池",
                "Traction batteries for electric vehicles",
            ),
            ("汽车安全带", "Safety belts for motor vehicles"),
            ("电动自行车", "Electric bicycles"),
            ("机动车辆制动液", "Brake fluids for motor vehicles"),
        ],
    },
    Domain {
        ccs: "A0",
        ics: "03.120",
        tc: "全国质量管理和质量保证标准化技术委员会",
        dept: "国家标准化管理委员会",
        subjects: &[
            ("质量管理体系", "Quality management systems"),
            ("抽样检验", "Sampling procedures for inspection"),
            (
                "计数抽样检验程序",
                "Sampling procedures for inspection by attributes",
            ),
            ("顾客满意", "Customer satisfaction"),
        ],
    },
    Domain {
        ccs: "L0",
        ics: "35.240",
        tc: "全国信息技术标准化技术委员会",
        dept: "工业和信息化部",
        subjects: &[
            ("信息技术 数据质量", "Information technology—Data quality"),
            ("信息技术 大数据", "Information technology—Big data"),
            (
                "信息安全技术 个人信息",
                "Information security technology—Personal information",
            ),
            (
                "信息技术 人工智能",
                "Information technology—Artificial intelligence",
            ),
        ],
    },
    Domain {
        ccs: "C7",
        ics: "13.300",
        tc: "全国危险化学品管理标准化技术委员会",
        dept: "国家标准化管理委员会",
        subjects: &[
            ("危险化学品", "Hazardous chemicals"),
            (
                "化学品分类和标签",
                "Classification and labelling of chemicals",
            ),
            ("危险货物包装", "Packaging of dangerous goods"),
        ],
    },
    Domain {
        ccs: "J7",
        ics: "53.020",
        tc: "全国起重机械标准化技术委员会",
        dept: "中国机械工业联合会",
        subjects: &[
            ("桥式起重机", "Overhead travelling cranes"),
            ("塔式起重机", "Tower cranes"),
            ("电梯", "Lifts"),
            ("自动扶梯", "Escalators"),
        ],
    },
];

/// Aspects a standard's title covers: Chinese, English, whether it is a safety requirement
/// (mandatory standards are).
pub static ASPECTS: &[(&str, &str, bool)] = &[
    ("安全要求", "Safety requirements", true),
    ("技术条件", "Technical specifications", false),
    ("试验方法", "Test methods", false),
    ("术语", "Vocabulary", false),
    ("通用规范", "General specification", false),
    (
        "能效限定值及能效等级",
        "Minimum allowable values of energy efficiency and energy efficiency grades",
        true,
    ),
    ("检验规则", "Inspection rules", false),
    (
        "标志、包装、运输和贮存",
        "Marking, packaging, transportation and storage",
        false,
    ),
    ("分类和型号", "Classification and types", false),
    ("性能测试方法", "Methods for measuring performance", false),
    ("有害物质限量", "Limits of harmful substances", true),
    ("质量分级", "Quality grading", false),
    ("使用说明", "Instructions for use", false),
    ("评价指南", "Guidelines for evaluation", false),
    ("可靠性试验", "Reliability tests", false),
    (
        "环境适应性要求",
        "Environmental adaptability requirements",
        false,
    ),
];

/// Editions of each title in the catalogue (the newest current, the older withdrawn).
pub const EDITIONS: usize = 3;

/// A national standard of the catalogue.
pub struct Standard {
    /// Its number, `GB/T 1234-2019`.
    pub no: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// 强制性, 推荐性 or 指导性技术文件 (from the prefix).
    pub nature: &'static str,
    /// China Standard Classification.
    pub ccs: String,
    /// International Classification for Standards.
    pub ics: String,
    /// The technical committee in charge.
    pub tc: &'static str,
    /// The competent department.
    pub dept: &'static str,
    /// Published on.
    pub published: Date,
    /// In force from.
    pub effective: Date,
    /// The edition this one replaces.
    pub replaces: Option<String>,
    /// Whether this is the newest edition.
    pub latest: bool,
    /// The international standard adopted, with its degree.
    pub adopted: Option<String>,
}

fn titles() -> usize {
    DOMAINS.iter().map(|d| d.subjects.len()).sum::<usize>() * ASPECTS.len()
}

/// How many titles the catalogue holds (each in several editions).
pub fn title_count() -> usize {
    titles()
}

/// How many standards the catalogue holds.
pub fn catalogue_size() -> usize {
    titles() * EDITIONS
}

/// The standard number `s` of the catalogue: a pure function of the seed and `s`, so the
/// notices, editions and projects of other resources name the same standards.
pub fn standard(seed: u64, s: usize) -> Standard {
    let s = s % catalogue_size();
    let (b, e) = (s / EDITIONS, s % EDITIONS);
    let subjects: usize = DOMAINS.iter().map(|d| d.subjects.len()).sum();
    let (subject, aspect) = (b % subjects, b / subjects % ASPECTS.len());
    let mut k = subject;
    let domain = DOMAINS
        .iter()
        .find(|d| {
            if k < d.subjects.len() {
                true
            } else {
                k -= d.subjects.len();
                false
            }
        })
        .unwrap_or(&DOMAINS[0]);
    let (zh, en) = domain.subjects[k];
    let (a_zh, a_en, safety) = ASPECTS[aspect];
    let mut rng = Rng::new(seed, &["national-standard", &b.to_string()]);
    let years = [
        1990 + rng.range(0, 9) as i32,
        2002 + rng.range(0, 8) as i32,
        2014 + rng.range(0, 11) as i32,
    ];
    let prefix = if safety {
        "GB"
    } else if rng.chance(0.04) {
        "GB/Z"
    } else {
        "GB/T"
    };
    let number = 3000 + b * 7 % 40_000 + b / 40_000;
    let year = years[e];
    let published = Date {
        y: year,
        m: 1 + (b % 12) as u32,
        d: 1 + (b % 27) as u32,
    };
    let effective = plus_days(published, 180 + (b % 5) as u32 * 30);
    let no = |y: i32| format!("{prefix} {number}-{y}");
    let adopted = (b % 5 == 0).then(|| {
        format!(
            "{} {}:{}, {}",
            if domain.ccs.starts_with('Y') || domain.ccs.starts_with('K') {
                "IEC"
            } else {
                "ISO"
            },
            1000 + b % 60_000,
            year - 2,
            if b % 2 == 0 { "MOD" } else { "IDT" }
        )
    });
    Standard {
        no: no(year),
        title_zh: format!("{zh} {a_zh}"),
        title_en: format!("{en}—{a_en}"),
        nature: match prefix {
            "GB" => "强制性",
            "GB/Z" => "指导性技术文件",
            _ => "推荐性",
        },
        ccs: format!("{}{}", domain.ccs, b % 10),
        ics: format!("{}.{:02}", domain.ics, 10 + b % 80),
        tc: domain.tc,
        dept: domain.dept,
        published,
        effective,
        replaces: (e > 0).then(|| no(years[e - 1])),
        latest: e == EDITIONS - 1,
        adopted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_numbers_are_unique_and_editions_replace_the_previous() {
        let mut seen = std::collections::HashSet::new();
        for s in 0..catalogue_size() {
            let st = standard(7, s);
            assert!(seen.insert(st.no.clone()), "{}", st.no);
            if let Some(r) = &st.replaces {
                assert!(seen.contains(r), "{} replaces {r}, listed before it", st.no);
            }
        }
    }
}
