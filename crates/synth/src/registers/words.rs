//! Trade vocabularies shared by the registers: countries and how they name companies, traded
//! foods, cosmetics and goods with their HS codes and origins, and the ports.

/// A country or region as Chinese lists name it, and how its companies are named.
pub struct Country {
    /// Chinese name.
    pub zh: &'static str,
    /// English name.
    pub en: &'static str,
    /// ISO 3166 alpha-3 (WTO notification numbers use it).
    pub iso3: &'static str,
    /// Cities for addresses.
    pub cities: &'static [&'static str],
    /// First words of company names.
    pub stems: &'static [&'static str],
    /// Legal-form suffixes.
    pub suffixes: &'static [&'static str],
}

macro_rules! country {
    ($zh:literal, $en:literal, $iso:literal, [$($c:literal),*], [$($s:literal),*], [$($x:literal),*]) => {
        Country { zh: $zh, en: $en, iso3: $iso, cities: &[$($c),*], stems: &[$($s),*], suffixes: &[$($x),*] }
    };
}

/// Trading partners of the quarantine and registration lists.
pub static COUNTRIES: &[Country] = &[
    country!(
        "美国",
        "United States",
        "USA",
        ["Chicago", "Fresno", "Omaha", "Seattle"],
        [
            "Pacific",
            "Golden Valley",
            "Blue Ridge",
            "Summit",
            "Great Lakes",
            "Liberty"
        ],
        ["Inc.", "LLC", "Corp."]
    ),
    country!(
        "日本",
        "Japan",
        "JPN",
        ["Osaka", "Yokohama", "Kobe", "Sapporo"],
        [
            "Yamada",
            "Sakura",
            "Fujimoto",
            "Hokkaido",
            "Nishimura",
            "Takara"
        ],
        ["Co., Ltd.", "Corporation"]
    ),
    country!(
        "韩国",
        "Korea",
        "KOR",
        ["Seoul", "Busan", "Incheon", "Daegu"],
        ["Hanil", "Daesung", "Samil", "Haesol", "Jinmi"],
        ["Co., Ltd.", "Corporation"]
    ),
    country!(
        "德国",
        "Germany",
        "DEU",
        ["Hamburg", "Munich", "Bremen", "Cologne"],
        [
            "Mueller",
            "Schneider",
            "Rheinland",
            "Hoffmann",
            "Weber",
            "Bavaria"
        ],
        ["GmbH", "GmbH & Co. KG", "AG"]
    ),
    country!(
        "法国",
        "France",
        "FRA",
        ["Lyon", "Bordeaux", "Rennes", "Marseille"],
        [
            "Maison Laurent",
            "Bretagne",
            "Provence",
            "Moreau",
            "Domaine Dubois"
        ],
        ["SAS", "SARL", "S.A."]
    ),
    country!(
        "意大利",
        "Italy",
        "ITA",
        ["Milano", "Parma", "Verona", "Bari"],
        ["Rossi", "Toscana", "Bianchi", "Fratelli Conti", "Piemonte"],
        ["S.p.A.", "S.r.l."]
    ),
    country!(
        "西班牙",
        "Spain",
        "ESP",
        ["Sevilla", "Valencia", "Jaen", "Zaragoza"],
        ["Garcia", "Andalucia", "Bodegas Martinez", "Olivar", "Lopez"],
        ["S.L.", "S.A."]
    ),
    country!(
        "希腊",
        "Greece",
        "GRC",
        ["Kalamata", "Athens", "Patras"],
        ["Kalamata", "Olympia", "Papadakis", "Crete"],
        ["S.A.", "Ltd."]
    ),
    country!(
        "澳大利亚",
        "Australia",
        "AUS",
        ["Brisbane", "Adelaide", "Melbourne", "Perth"],
        [
            "Southern Cross",
            "Murray Valley",
            "Tasman",
            "Outback",
            "Coastal"
        ],
        ["Pty Ltd"]
    ),
    country!(
        "新西兰",
        "New Zealand",
        "NZL",
        ["Auckland", "Hamilton", "Christchurch"],
        ["Waikato", "Canterbury", "Southland", "Tasman Bay"],
        ["Limited"]
    ),
    country!(
        "泰国",
        "Thailand",
        "THA",
        ["Bangkok", "Samut Sakhon", "Chiang Mai"],
        ["Siam", "Chao Phraya", "Rayong", "Lanna"],
        ["Co., Ltd.", "Public Company Limited"]
    ),
    country!(
        "越南",
        "Viet Nam",
        "VNM",
        ["Ho Chi Minh City", "Can Tho", "Hai Phong"],
        ["Saigon", "Mekong", "Viet Thanh", "Hoang Long"],
        ["Joint Stock Company", "Co., Ltd."]
    ),
    country!(
        "马来西亚",
        "Malaysia",
        "MYS",
        ["Kuala Lumpur", "Penang", "Johor Bahru"],
        ["Malaya", "Penang", "Selangor", "Borneo"],
        ["Sdn. Bhd.", "Berhad"]
    ),
    country!(
        "巴西",
        "Brazil",
        "BRA",
        ["Sao Paulo", "Curitiba", "Porto Alegre"],
        ["Parana", "Minas", "Santa Catarina", "Rio Grande"],
        ["Ltda.", "S.A."]
    ),
    country!(
        "阿根廷",
        "Argentina",
        "ARG",
        ["Buenos Aires", "Rosario", "Mendoza"],
        ["Pampa", "Patagonia", "Mendoza", "Del Plata"],
        ["S.A."]
    ),
    country!(
        "智利",
        "Chile",
        "CHL",
        ["Santiago", "Valparaiso", "Puerto Montt"],
        ["Andes", "Valle Central", "Maipo", "Austral"],
        ["S.A.", "Ltda."]
    ),
    country!(
        "加拿大",
        "Canada",
        "CAN",
        ["Vancouver", "Toronto", "Halifax", "Winnipeg"],
        ["Northern", "Prairie", "Laurentian", "Pacific Coast"],
        ["Inc.", "Ltd."]
    ),
    country!(
        "荷兰",
        "Netherlands",
        "NLD",
        ["Rotterdam", "Utrecht", "Leeuwarden"],
        ["Holland", "Van der Berg", "Zeeland", "De Vries"],
        ["B.V."]
    ),
    country!(
        "比利时",
        "Belgium",
        "BEL",
        ["Brussels", "Antwerp", "Bruges"],
        ["Brugge", "Ardennes", "Flandre", "Meuse"],
        ["NV", "SA"]
    ),
    country!(
        "瑞士",
        "Switzerland",
        "CHE",
        ["Zurich", "Bern", "Lausanne"],
        ["Alpine", "Helvetia", "Lac Leman", "Jura"],
        ["AG", "SA"]
    ),
    country!(
        "爱尔兰",
        "Ireland",
        "IRL",
        ["Cork", "Dublin", "Limerick"],
        ["Emerald", "Munster", "Shannon", "Leinster"],
        ["Ltd.", "Unlimited Company"]
    ),
    country!(
        "挪威",
        "Norway",
        "NOR",
        ["Bergen", "Alesund", "Tromso"],
        ["Fjord", "Nordland", "Hardanger", "Lofoten"],
        ["AS", "ASA"]
    ),
    country!(
        "芬兰",
        "Finland",
        "FIN",
        ["Helsinki", "Tampere", "Espoo"],
        ["Nordic", "Suomi", "Tampere", "Karelia"],
        ["Oy", "Oyj"]
    ),
    country!(
        "奥地利",
        "Austria",
        "AUT",
        ["Wolfurt", "Salzburg", "Graz"],
        ["Tirol", "Alpen", "Salzburg", "Vorarlberg"],
        ["GmbH"]
    ),
    country!(
        "英国",
        "United Kingdom",
        "GBR",
        ["Manchester", "Leeds", "Glasgow"],
        ["Albion", "Highland", "Thames", "Pennine"],
        ["Ltd.", "plc"]
    ),
    country!(
        "印度",
        "India",
        "IND",
        ["Mumbai", "Chennai", "Kolkata"],
        ["Bharat", "Deccan", "Ganga", "Malabar"],
        ["Pvt. Ltd.", "Ltd."]
    ),
    country!(
        "俄罗斯",
        "Russian Federation",
        "RUS",
        ["Vladivostok", "Novosibirsk", "Kazan"],
        ["Sibir", "Volga", "Baikal", "Amur"],
        ["LLC", "JSC"]
    ),
    country!(
        "尼日利亚",
        "Nigeria",
        "NGA",
        ["Lagos", "Kano", "Abuja"],
        ["Niger Delta", "Lagos", "Sahel"],
        ["Ltd."]
    ),
    country!(
        "刚果（金）",
        "DR Congo",
        "COD",
        ["Kinshasa", "Lubumbashi"],
        ["Congo", "Kivu"],
        ["SARL"]
    ),
    country!(
        "沙特阿拉伯",
        "Saudi Arabia",
        "SAU",
        ["Riyadh", "Jeddah"],
        ["Najd", "Hijaz"],
        ["Co."]
    ),
    country!(
        "欧盟",
        "European Union",
        "EU",
        ["Brussels"],
        ["Europa"],
        ["SA"]
    ),
];

/// A country by its Chinese name.
pub fn country(zh: &str) -> &'static Country {
    COUNTRIES
        .iter()
        .find(|c| c.zh == zh)
        .unwrap_or(&COUNTRIES[0])
}

/// A traded food: HS code, the import category of the registration lists, where it comes
/// from, the word its producers' names carry, and what refuses it at the border.
pub struct Food {
    /// Product as listed.
    pub zh: &'static str,
    /// Industry word of its producers' names.
    pub en: &'static str,
    /// Ten-digit HS code.
    pub hs: &'static str,
    /// 产品类别 of the registration and access lists.
    pub category: &'static str,
    /// Chinese names of the countries it is imported from.
    pub origins: &'static [&'static str],
    /// Reasons specific to it (besides labels and certificates).
    pub reasons: &'static [&'static str],
}

macro_rules! food {
    ($zh:literal, $en:literal, $hs:literal, $cat:literal, [$($o:literal),*], [$($r:literal),*]) => {
        Food { zh: $zh, en: $en, hs: $hs, category: $cat, origins: &[$($o),*], reasons: &[$($r),*] }
    };
}

/// Foods of the refused-import, access and registration lists.
pub static FOODS: &[Food] = &[
    food!(
        "橄榄油",
        "Olive Oil",
        "1509200000",
        "食用植物油",
        ["西班牙", "意大利", "希腊"],
        ["酸价超标", "过氧化值超标"]
    ),
    food!(
        "葡萄酒",
        "Wines",
        "2204210000",
        "酒类",
        ["法国", "意大利", "西班牙", "澳大利亚", "智利", "阿根廷"],
        ["二氧化硫超标", "超范围使用食品添加剂"]
    ),
    food!(
        "冷冻牛肉",
        "Meat",
        "0202300090",
        "肉类",
        ["澳大利亚", "巴西", "新西兰", "阿根廷", "加拿大"],
        ["检出动物疫病", "未获检验检疫准入", "污秽腐败"]
    ),
    food!(
        "冷冻猪肉",
        "Meat",
        "0203290090",
        "肉类",
        ["西班牙", "德国", "巴西", "加拿大", "荷兰"],
        ["检出动物疫病", "兽药残留超标"]
    ),
    food!(
        "冷冻虾仁",
        "Seafood",
        "0306171900",
        "水产品",
        ["越南", "泰国", "阿根廷", "加拿大"],
        ["菌落总数超标", "检出氯霉素", "微生物污染"]
    ),
    food!(
        "冷冻三文鱼",
        "Seafood",
        "0303130000",
        "水产品",
        ["挪威", "智利", "澳大利亚"],
        ["检出单核细胞增生李斯特氏菌", "感官检验不合格"]
    ),
    food!(
        "婴幼儿配方乳粉",
        "Dairy",
        "1901101000",
        "乳制品",
        ["新西兰", "荷兰", "爱尔兰", "法国", "澳大利亚", "德国"],
        ["营养强化剂使用问题", "未获检验检疫准入"]
    ),
    food!(
        "奶酪",
        "Cheese",
        "0406900000",
        "乳制品",
        ["法国", "新西兰", "意大利", "荷兰"],
        ["霉菌超标", "超过保质期"]
    ),
    food!(
        "巧克力",
        "Chocolate",
        "1806320000",
        "糖果巧克力",
        ["比利时", "瑞士", "意大利", "德国"],
        ["超范围使用食品添加剂", "品质不合格"]
    ),
    food!(
        "糖果",
        "Confectionery",
        "1704900000",
        "糖果巧克力",
        ["日本", "韩国", "德国", "美国"],
        ["超范围使用着色剂", "超过保质期"]
    ),
    food!(
        "饼干",
        "Biscuits",
        "1905310000",
        "糕点饼干",
        ["马来西亚", "德国", "意大利", "日本", "韩国"],
        ["超范围使用食品添加剂", "霉变"]
    ),
    food!(
        "咖啡豆",
        "Coffee",
        "0901210000",
        "咖啡",
        ["越南", "巴西", "意大利", "美国"],
        ["赭曲霉毒素A超标", "霉变"]
    ),
    food!(
        "开心果",
        "Nuts",
        "0802510000",
        "坚果炒货",
        ["美国"],
        ["黄曲霉毒素超标", "霉变"]
    ),
    food!(
        "矿泉水",
        "Mineral Water",
        "2201101000",
        "饮料",
        ["法国", "意大利", "德国"],
        ["菌落总数超标", "铜绿假单胞菌超标"]
    ),
    food!(
        "啤酒",
        "Brewery",
        "2203000000",
        "酒类",
        ["德国", "比利时", "荷兰", "日本", "韩国"],
        ["甲醛超标", "超过保质期"]
    ),
    food!(
        "燕窝",
        "Edible Bird Nest",
        "0410901000",
        "燕窝",
        ["马来西亚", "泰国"],
        ["亚硝酸盐超标", "未获检验检疫准入"]
    ),
    food!(
        "方便面",
        "Noodles",
        "1902300000",
        "粮谷及制品",
        ["韩国", "日本", "泰国"],
        ["检出转基因成分", "超范围使用食品添加剂"]
    ),
    food!(
        "酱油",
        "Seasonings",
        "2103100000",
        "调味品",
        ["日本", "韩国"],
        ["3-氯-1,2-丙二醇超标", "菌落总数超标"]
    ),
    food!(
        "蜂蜜",
        "Honey",
        "0409000000",
        "蜂产品",
        ["新西兰", "澳大利亚", "加拿大"],
        ["检出抗生素残留", "果糖和葡萄糖含量不合格"]
    ),
    food!(
        "大米",
        "Rice",
        "1006301000",
        "粮谷及制品",
        ["泰国", "越南", "日本"],
        ["携带有害生物", "检出稻米象"]
    ),
];

/// Reasons that refuse any food or cosmetic (labels and papers are the most common).
pub static COMMON_REASONS: &[&str] = &[
    "标签不合格",
    "标签不合格",
    "货证不符",
    "未按要求提供证书或合格证明材料",
    "包装不合格",
    "超过保质期",
];

/// Cosmetics of the refused-import lists: product, HS code, origins.
pub static COSMETICS: &[(&str, &str, &[&str])] = &[
    (
        "面霜",
        "3304990099",
        &["法国", "韩国", "日本", "美国", "瑞士"],
    ),
    (
        "洗发水",
        "3305100090",
        &["日本", "韩国", "泰国", "德国", "美国"],
    ),
    ("口红", "3304100090", &["法国", "意大利", "美国", "韩国"]),
    (
        "防晒霜",
        "3304990099",
        &["日本", "澳大利亚", "韩国", "法国"],
    ),
    ("香水", "3303000000", &["法国", "意大利", "西班牙", "美国"]),
    ("面膜", "3304990099", &["韩国", "日本", "泰国"]),
    ("沐浴露", "3401300000", &["德国", "泰国", "日本", "法国"]),
    ("牙膏", "3306100000", &["韩国", "泰国", "德国"]),
];

/// Why a cosmetic is refused.
pub static COSMETIC_REASONS: &[&str] = &[
    "检出禁用物质",
    "菌落总数超标",
    "微生物污染",
    "超范围使用防腐剂",
    "未获准入许可",
];

/// Manufactured goods of the refused-import and recall lists: product of the spot-check
/// vocabulary (its failing items), HS code.
pub static GOODS: &[(&str, &str)] = &[
    ("电热水壶", "8516719000"),
    ("电吹风", "8516310000"),
    ("玩具", "9503008900"),
    ("儿童及婴幼儿服装", "6111200090"),
    ("皮鞋", "6403990090"),
    ("电源适配器", "8504401990"),
    ("移动电源", "8507600090"),
    ("自镇流LED灯", "8539520000"),
    ("电线电缆", "8544492100"),
    ("插头插座", "8536690000"),
    ("木家具", "9403609990"),
    ("童车", "8715000000"),
    ("眼镜", "9004900000"),
    ("液晶显示器", "8528521200"),
];

/// Ports (直属海关, formerly 直属检验检疫局) of the border lists.
pub static PORTS: &[&str] = &[
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
];
