//! The vocabulary of the corpus: places, products, failure items, agencies and name parts,
//! with the statistics of `docs/REAL-DATA.md` §2 that drive the simulation.
//!
//! This is the generator's own knowledge; the ingester keeps its own tables (the accuracy
//! tests would prove nothing if both read one list).

/// A provincial-level division.
#[derive(Debug)]
pub struct Province {
    /// GB/T 2260 code.
    pub code: &'static str,
    /// Official full name.
    pub full: &'static str,
    /// Common short name.
    pub short: &'static str,
    /// One-character abbreviation (empty for 兵团).
    pub abbr: &'static str,
    /// Share of national spot-check batches, percent (2023 national figures, docs/REAL-DATA.md §2.3).
    pub weight: f64,
    /// Prefecture-level cities (official names); empty for municipalities.
    pub cities: &'static [&'static str],
}

impl Province {
    /// Whether this is a municipality directly under the central government.
    pub fn is_municipality(&self) -> bool {
        self.cities.is_empty()
    }
}

macro_rules! p {
    ($code:literal, $full:literal, $short:literal, $abbr:literal, $w:literal, [$($c:literal),*]) => {
        Province { code: $code, full: $full, short: $short, abbr: $abbr, weight: $w, cities: &[$($c),*] }
    };
}

/// The 31 provinces and the XPCC, with national batch shares summing to 100.
pub static PROVINCES: &[Province] = &[
    p!("110000", "北京市", "北京", "京", 1.6, []),
    p!("120000", "天津市", "天津", "津", 1.8, []),
    p!(
        "130000",
        "河北省",
        "河北",
        "冀",
        6.8,
        ["石家庄市", "唐山市", "保定市", "邢台市", "沧州市", "衡水市"]
    ),
    p!(
        "140000",
        "山西省",
        "山西",
        "晋",
        0.9,
        ["太原市", "大同市", "运城市"]
    ),
    p!(
        "150000",
        "内蒙古自治区",
        "内蒙古",
        "蒙",
        0.4,
        ["呼和浩特市", "包头市", "赤峰市"]
    ),
    p!(
        "210000",
        "辽宁省",
        "辽宁",
        "辽",
        2.0,
        ["沈阳市", "大连市", "鞍山市", "营口市"]
    ),
    p!(
        "220000",
        "吉林省",
        "吉林",
        "吉",
        0.8,
        ["长春市", "吉林市", "四平市"]
    ),
    p!(
        "230000",
        "黑龙江省",
        "黑龙江",
        "黑",
        0.7,
        ["哈尔滨市", "齐齐哈尔市", "大庆市"]
    ),
    p!("310000", "上海市", "上海", "沪", 3.5, []),
    p!(
        "320000",
        "江苏省",
        "江苏",
        "苏",
        9.3,
        [
            "南京市",
            "无锡市",
            "苏州市",
            "常州市",
            "南通市",
            "扬州市",
            "泰州市"
        ]
    ),
    p!(
        "330000",
        "浙江省",
        "浙江",
        "浙",
        15.8,
        [
            "杭州市",
            "宁波市",
            "温州市",
            "嘉兴市",
            "湖州市",
            "金华市",
            "台州市",
            "绍兴市"
        ]
    ),
    p!(
        "340000",
        "安徽省",
        "安徽",
        "皖",
        3.5,
        ["合肥市", "芜湖市", "蚌埠市", "安庆市"]
    ),
    p!(
        "350000",
        "福建省",
        "福建",
        "闽",
        4.5,
        ["福州市", "厦门市", "泉州市", "莆田市", "漳州市"]
    ),
    p!(
        "360000",
        "江西省",
        "江西",
        "赣",
        2.3,
        ["南昌市", "赣州市", "九江市", "上饶市"]
    ),
    p!(
        "370000",
        "山东省",
        "山东",
        "鲁",
        5.7,
        ["济南市", "青岛市", "淄博市", "潍坊市", "临沂市", "烟台市"]
    ),
    p!(
        "410000",
        "河南省",
        "河南",
        "豫",
        3.4,
        ["郑州市", "洛阳市", "新乡市", "许昌市"]
    ),
    p!(
        "420000",
        "湖北省",
        "湖北",
        "鄂",
        2.3,
        ["武汉市", "宜昌市", "襄阳市", "荆州市"]
    ),
    p!(
        "430000",
        "湖南省",
        "湖南",
        "湘",
        1.7,
        ["长沙市", "株洲市", "湘潭市", "衡阳市"]
    ),
    p!(
        "440000",
        "广东省",
        "广东",
        "粤",
        24.9,
        [
            "广州市",
            "深圳市",
            "佛山市",
            "东莞市",
            "中山市",
            "汕头市",
            "江门市",
            "揭阳市",
            "潮州市"
        ]
    ),
    p!(
        "450000",
        "广西壮族自治区",
        "广西",
        "桂",
        1.2,
        ["南宁市", "柳州市", "桂林市"]
    ),
    p!("460000", "海南省", "海南", "琼", 0.5, ["海口市", "三亚市"]),
    p!("500000", "重庆市", "重庆", "渝", 1.2, []),
    p!(
        "510000",
        "四川省",
        "四川",
        "川",
        2.0,
        ["成都市", "绵阳市", "宜宾市", "德阳市"]
    ),
    p!("520000", "贵州省", "贵州", "黔", 0.5, ["贵阳市", "遵义市"]),
    p!(
        "530000",
        "云南省",
        "云南",
        "滇",
        0.7,
        ["昆明市", "曲靖市", "玉溪市"]
    ),
    p!("540000", "西藏自治区", "西藏", "藏", 0.05, ["拉萨市"]),
    p!(
        "610000",
        "陕西省",
        "陕西",
        "陕",
        0.9,
        ["西安市", "宝鸡市", "咸阳市"]
    ),
    p!(
        "620000",
        "甘肃省",
        "甘肃",
        "甘",
        0.3,
        ["兰州市", "天水市", "平凉市"]
    ),
    p!("630000", "青海省", "青海", "青", 0.1, ["西宁市"]),
    p!(
        "640000",
        "宁夏回族自治区",
        "宁夏",
        "宁",
        0.2,
        ["银川市", "石嘴山市"]
    ),
    p!(
        "650000",
        "新疆维吾尔自治区",
        "新疆",
        "新",
        0.45,
        ["乌鲁木齐市", "克拉玛依市", "昌吉回族自治州"]
    ),
    p!("660000", "新疆生产建设兵团", "兵团", "", 0.1, []),
];

/// The province with this code.
pub fn province(code: &str) -> Option<&'static Province> {
    PROVINCES.iter().find(|p| p.code == code)
}

mod products;

pub use products::{INSTRUMENTS, PRODUCTS, Product};

/// National fail share (percent of batches) per year 2005–2025: docs/REAL-DATA.md §2.3, with the
/// gaps interpolated (2005–2010) or carried (2024–2025).
pub fn national_fail_rate(year: i32) -> f64 {
    match year {
        ..=2005 => 20.0,
        2006 => 18.0,
        2007 => 15.5,
        2008 => 13.5,
        2009 => 13.0,
        2010 => 12.8,
        2011 => 12.5,
        2012 => 10.2,
        2013 => 11.1,
        2014 => 7.7,
        2015 => 8.9,
        2016 => 8.4,
        2017 => 8.5,
        2018 => 10.3,
        2019 => 12.3,
        2020 => 9.7,
        2021 => 12.2,
        2022 => 9.4,
        2023 => 12.3,
        2024 => 11.5,
        _ => 11.0,
    }
}

/// Fail-rate multipliers of large, medium and small enterprises (2017–2023 ratios).
pub const SIZE_FAIL_MULT: [f64; 3] = [0.25, 0.6, 1.15];

/// First characters of invented trade names.
pub static NAME_A: &[&str] = &[
    "恒", "顺", "美", "金", "乐", "华", "新", "安", "贝", "宏", "鑫", "盛", "富", "佳", "嘉", "永",
    "康", "泰", "瑞", "祥", "丰", "利", "达", "通", "万", "福", "润", "和", "德", "信", "诚", "光",
    "明", "星", "宇", "天", "海", "东", "博", "创", "卓", "凯", "远", "正", "中", "亚", "欧", "雅",
    "爱", "好",
];
/// Second characters of invented trade names.
pub static NAME_B: &[&str] = &[
    "达", "联", "佳", "丰", "宝", "冠", "源", "兴", "乐", "盛", "发", "隆", "升", "泰", "美", "力",
    "通", "翔", "宇", "辉", "腾", "邦", "威", "特", "诺", "尔", "星", "顺", "昌", "鸿", "凯", "豪",
    "森", "灵", "巧", "立", "科", "创", "信", "安",
];
/// Trade-name characters only GB18030 can encode (not GBK): used in a few names.
pub static NAME_RARE: &[&str] = &["𠮷", "䶮", "㐂"];
/// GBK-only characters (not in GB2312), as seen in real names.
pub static NAME_GBK_ONLY: &[&str] = &["堃", "喆", "镕", "珺", "犇"];
/// Legal-form suffixes, by enterprise size (large, medium, small).
pub static SUFFIX: [&[&str]; 3] = [
    &["股份有限公司", "集团有限公司", "集团股份有限公司"],
    &["有限公司", "有限公司", "有限责任公司", "实业有限公司"],
    &[
        "有限公司",
        "厂",
        "制品厂",
        "商行",
        "经营部",
        "有限公司",
        "科技有限公司",
    ],
];
/// Districts and towns used in small enterprises' names (`中山市城关镇…`).
pub static TOWNS: &[&str] = &[
    "经济技术开发区",
    "高新区",
    "工业园区",
    "城关镇",
    "新城镇",
    "开发区",
];

/// E-commerce platforms.
pub static PLATFORMS: &[&str] = &[
    "淘宝网",
    "天猫",
    "京东",
    "拼多多",
    "苏宁易购",
    "抖音电商",
    "快手电商",
    "1688",
];

/// Check-level roles for inspection agencies of provinces (`{省}产品质量监督检验研究院`).
pub static PROVINCIAL_AGENCY_PATTERNS: &[&str] = &[
    "{}产品质量监督检验研究院",
    "{}产品质量检验研究院",
    "{}产品质量监督检验院",
];

/// Commercial labs.
pub static COMMERCIAL_LABS: &[&str] = &[
    "谱尼测试集团股份有限公司",
    "华测检测认证集团股份有限公司",
    "通标标准技术服务有限公司",
    "中国检验认证集团",
    "广电计量检测集团股份有限公司",
    "威凯检测技术有限公司",
];

/// Recheck, refusal and other remark texts with the flag they mean.
pub static REMARK_FLAGS: &[(&str, &str)] = &[
    ("复检仍不合格", "recheck_failed"),
    ("复查检验合格", "recheck_passed"),
    ("涉嫌假冒", "counterfeit_suspected"),
    ("拒检", "refused"),
    ("标称生产企业否认为其生产", "producer_denied"),
    ("无证生产", "unlicensed"),
];

/// Placeholder cells of raw publications (docs/REAL-DATA.md §1.3, §4.7).
pub static PLACEHOLDERS: &[&str] = &[
    "/",
    "/",
    "/",
    "//",
    "-",
    "--",
    "—",
    "——",
    "无",
    "未标注",
    "未注明",
    "不详",
    "暂无",
    "N/A",
];
