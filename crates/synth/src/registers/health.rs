//! Diseases and pests of the quarantine lists, with where they occur and what carries them.

/// Human infectious diseases: name, the advice of travel notices, where they break out, and
/// about how many travellers a port finds in a month.
pub static HUMAN_DISEASES: &[(&str, &str, &[&str], u32)] = &[
    (
        "登革热",
        "前往者应采取防蚊措施，出现发热、皮疹等症状及时就医并主动申报",
        &["泰国", "越南", "马来西亚", "巴西", "印度"],
        12,
    ),
    (
        "疟疾",
        "前往者应预防性服药并做好防蚊，回国后出现发热应告知旅行史",
        &["尼日利亚", "刚果（金）", "印度"],
        8,
    ),
    (
        "霍乱",
        "注意饮食和饮水卫生，不食用生冷海产品",
        &["尼日利亚", "印度", "刚果（金）"],
        1,
    ),
    (
        "黄热病",
        "前往疫区前至少10天接种黄热病疫苗",
        &["巴西", "尼日利亚", "刚果（金）"],
        1,
    ),
    (
        "中东呼吸综合征",
        "避免接触骆驼及饮用生骆驼奶，出现呼吸道症状及时就医",
        &["沙特阿拉伯"],
        1,
    ),
    (
        "猴痘",
        "避免与病例及可疑动物密切接触",
        &["刚果（金）", "尼日利亚", "美国"],
        2,
    ),
    (
        "基孔肯雅热",
        "前往者应采取防蚊措施",
        &["巴西", "印度", "泰国"],
        3,
    ),
    ("寨卡病毒病", "孕妇及计划怀孕者暂缓前往", &["巴西"], 1),
    (
        "埃博拉病毒病",
        "避免前往疫情发生地区，避免接触野生动物",
        &["刚果（金）"],
        1,
    ),
    (
        "麻疹",
        "前往前确认已接种麻疹疫苗",
        &["印度", "俄罗斯", "尼日利亚"],
        4,
    ),
    (
        "流行性感冒",
        "注意个人卫生，出现症状佩戴口罩并及时就医",
        &["日本", "韩国", "美国", "澳大利亚"],
        40,
    ),
    ("诺如病毒感染", "注意饮食卫生和手卫生", &["日本", "韩国"], 6),
];

/// Animal diseases: name, the species they strike, where they are reported.
pub static ANIMAL_DISEASES: &[(&str, &str, &[&str])] = &[
    (
        "非洲猪瘟",
        "猪",
        &["俄罗斯", "越南", "德国", "意大利", "韩国"],
    ),
    ("口蹄疫", "牛", &["韩国", "俄罗斯", "巴西", "印度"]),
    (
        "高致病性禽流感",
        "禽",
        &["美国", "法国", "日本", "荷兰", "韩国"],
    ),
    ("牛结节性皮肤病", "牛", &["泰国", "越南", "印度"]),
    ("小反刍兽疫", "羊", &["印度", "尼日利亚", "希腊"]),
    ("新城疫", "禽", &["巴西", "印度", "尼日利亚"]),
    ("牛海绵状脑病", "牛", &["英国", "加拿大", "美国", "巴西"]),
    ("蓝舌病", "羊", &["德国", "荷兰", "法国", "比利时"]),
    ("猪繁殖与呼吸综合征", "猪", &["美国", "加拿大", "西班牙"]),
    ("布鲁氏菌病", "牛", &["法国", "阿根廷", "俄罗斯"]),
];

/// Live animals and animal products, with their species.
pub static ANIMAL_GOODS: &[(&str, &str)] = &[
    ("种猪", "猪"),
    ("冷冻猪肉", "猪"),
    ("猪肠衣", "猪"),
    ("种牛", "牛"),
    ("冷冻牛肉", "牛"),
    ("牛皮", "牛"),
    ("种羊", "羊"),
    ("羊毛", "羊"),
    ("冷冻羊肉", "羊"),
    ("冻鸡爪", "禽"),
    ("种禽", "禽"),
    ("羽毛羽绒", "禽"),
];

/// Pests intercepted at entry: Chinese name, Latin name, the goods that carry them.
pub static PESTS: &[(&str, &str, &[&str])] = &[
    (
        "松材线虫",
        "Bursaphelenchus xylophilus",
        &["木质包装", "原木"],
    ),
    (
        "双钩异翅长蠹",
        "Heterobostrychus aequalis",
        &["木质包装", "原木"],
    ),
    ("红脂大小蠹", "Dendroctonus valens", &["原木"]),
    ("地中海实蝇", "Ceratitis capitata", &["水果"]),
    ("橘小实蝇", "Bactrocera dorsalis", &["水果"]),
    ("苹果蠹蛾", "Cydia pomonella", &["水果"]),
    ("谷斑皮蠹", "Trogoderma granarium", &["粮谷"]),
    ("菜豆象", "Acanthoscelides obtectus", &["粮谷", "种子种苗"]),
    ("大谷蠹", "Prostephanus truncatus", &["粮谷"]),
    ("假高粱", "Sorghum halepense", &["粮谷", "种子种苗"]),
    ("毒麦", "Lolium temulentum", &["粮谷"]),
    ("刺萼龙葵", "Solanum rostratum", &["粮谷"]),
    ("红火蚁", "Solenopsis invicta", &["集装箱", "种子种苗"]),
    ("非洲大蜗牛", "Achatina fulica", &["集装箱", "木质包装"]),
];

/// Where each kind of goods carrying pests comes from.
pub fn pest_origins(goods: &str) -> &'static [&'static str] {
    match goods {
        "原木" => &["新西兰", "俄罗斯", "加拿大", "美国", "巴西"],
        "水果" => &["泰国", "越南", "智利", "美国", "新西兰"],
        "粮谷" => &["美国", "巴西", "阿根廷", "加拿大", "澳大利亚", "俄罗斯"],
        "种子种苗" => &["荷兰", "日本", "美国", "泰国"],
        _ => &["美国", "日本", "韩国", "德国", "越南", "马来西亚", "巴西"],
    }
}
