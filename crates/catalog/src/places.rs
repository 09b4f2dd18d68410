//! GB/T 2260 provincial-level divisions and their prefecture-level cities, with the spellings
//! publications use (`广东`, `广东省`, `粤`; `深圳市`, `深圳`), so a location cell, an address or
//! the start of an enterprise name resolves to a province code, its full name and the city.
//!
//! Below them, every prefecture- and county-level division of GB/T 2260 (`data/divisions.tsv`,
//! 2020) with its usual short form (`义乌市`, `义乌`; `长阳土家族自治县`, `长阳`), so that a
//! producer's province is found from a county or county-level city too (`义乌市…` → 浙江).
//!
//! The ingester's table (the search reads it too); the synthetic corpus keeps a separate one
//! on purpose.

mod counties;
use counties::county_index;
pub use counties::county_prefix;

/// A provincial-level division.
#[derive(Debug, PartialEq, Eq)]
pub struct Province {
    /// GB/T 2260 code (660000 for the XPCC by convention).
    pub code: &'static str,
    /// Official full name.
    pub full: &'static str,
    /// Short name.
    pub short: &'static str,
    /// One-character abbreviations.
    pub abbr: &'static [&'static str],
    /// Prefecture-level cities, leagues and prefectures (official names); empty for
    /// municipalities.
    pub cities: &'static [&'static str],
}

/// The 31 provinces, the XPCC, Taiwan, Hong Kong and Macao.
pub static PROVINCES: &[Province] = &[
    Province {
        code: "110000",
        full: "北京市",
        short: "北京",
        abbr: &["京"],
        cities: &[],
    },
    Province {
        code: "120000",
        full: "天津市",
        short: "天津",
        abbr: &["津"],
        cities: &[],
    },
    Province {
        code: "130000",
        full: "河北省",
        short: "河北",
        abbr: &["冀"],
        cities: &[
            "石家庄市",
            "唐山市",
            "秦皇岛市",
            "邯郸市",
            "邢台市",
            "保定市",
            "张家口市",
            "承德市",
            "沧州市",
            "廊坊市",
            "衡水市",
        ],
    },
    Province {
        code: "140000",
        full: "山西省",
        short: "山西",
        abbr: &["晋"],
        cities: &[
            "太原市",
            "大同市",
            "阳泉市",
            "长治市",
            "晋城市",
            "朔州市",
            "晋中市",
            "运城市",
            "忻州市",
            "临汾市",
            "吕梁市",
        ],
    },
    Province {
        code: "150000",
        full: "内蒙古自治区",
        short: "内蒙古",
        abbr: &["蒙"],
        cities: &[
            "呼和浩特市",
            "包头市",
            "乌海市",
            "赤峰市",
            "通辽市",
            "鄂尔多斯市",
            "呼伦贝尔市",
            "巴彦淖尔市",
            "乌兰察布市",
            "兴安盟",
            "锡林郭勒盟",
            "阿拉善盟",
        ],
    },
    Province {
        code: "210000",
        full: "辽宁省",
        short: "辽宁",
        abbr: &["辽"],
        cities: &[
            "沈阳市",
            "大连市",
            "鞍山市",
            "抚顺市",
            "本溪市",
            "丹东市",
            "锦州市",
            "营口市",
            "阜新市",
            "辽阳市",
            "盘锦市",
            "铁岭市",
            "朝阳市",
            "葫芦岛市",
        ],
    },
    Province {
        code: "220000",
        full: "吉林省",
        short: "吉林",
        abbr: &["吉"],
        cities: &[
            "长春市",
            "吉林市",
            "四平市",
            "辽源市",
            "通化市",
            "白山市",
            "松原市",
            "白城市",
            "延边朝鲜族自治州",
        ],
    },
    Province {
        code: "230000",
        full: "黑龙江省",
        short: "黑龙江",
        abbr: &["黑"],
        cities: &[
            "哈尔滨市",
            "齐齐哈尔市",
            "鸡西市",
            "鹤岗市",
            "双鸭山市",
            "大庆市",
            "伊春市",
            "佳木斯市",
            "七台河市",
            "牡丹江市",
            "黑河市",
            "绥化市",
            "大兴安岭地区",
        ],
    },
    Province {
        code: "310000",
        full: "上海市",
        short: "上海",
        abbr: &["沪"],
        cities: &[],
    },
    Province {
        code: "320000",
        full: "江苏省",
        short: "江苏",
        abbr: &["苏"],
        cities: &[
            "南京市",
            "无锡市",
            "徐州市",
            "常州市",
            "苏州市",
            "南通市",
            "连云港市",
            "淮安市",
            "盐城市",
            "扬州市",
            "镇江市",
            "泰州市",
            "宿迁市",
        ],
    },
    Province {
        code: "330000",
        full: "浙江省",
        short: "浙江",
        abbr: &["浙"],
        cities: &[
            "杭州市",
            "宁波市",
            "温州市",
            "嘉兴市",
            "湖州市",
            "绍兴市",
            "金华市",
            "衢州市",
            "舟山市",
            "台州市",
            "丽水市",
        ],
    },
    Province {
        code: "340000",
        full: "安徽省",
        short: "安徽",
        abbr: &["皖"],
        cities: &[
            "合肥市",
            "芜湖市",
            "蚌埠市",
            "淮南市",
            "马鞍山市",
            "淮北市",
            "铜陵市",
            "安庆市",
            "黄山市",
            "滁州市",
            "阜阳市",
            "宿州市",
            "六安市",
            "亳州市",
            "池州市",
            "宣城市",
        ],
    },
    Province {
        code: "350000",
        full: "福建省",
        short: "福建",
        abbr: &["闽"],
        cities: &[
            "福州市",
            "厦门市",
            "莆田市",
            "三明市",
            "泉州市",
            "漳州市",
            "南平市",
            "龙岩市",
            "宁德市",
        ],
    },
    Province {
        code: "360000",
        full: "江西省",
        short: "江西",
        abbr: &["赣"],
        cities: &[
            "南昌市",
            "景德镇市",
            "萍乡市",
            "九江市",
            "新余市",
            "鹰潭市",
            "赣州市",
            "吉安市",
            "宜春市",
            "抚州市",
            "上饶市",
        ],
    },
    Province {
        code: "370000",
        full: "山东省",
        short: "山东",
        abbr: &["鲁"],
        cities: &[
            "济南市",
            "青岛市",
            "淄博市",
            "枣庄市",
            "东营市",
            "烟台市",
            "潍坊市",
            "济宁市",
            "泰安市",
            "威海市",
            "日照市",
            "临沂市",
            "德州市",
            "聊城市",
            "滨州市",
            "菏泽市",
        ],
    },
    Province {
        code: "410000",
        full: "河南省",
        short: "河南",
        abbr: &["豫"],
        cities: &[
            "郑州市",
            "开封市",
            "洛阳市",
            "平顶山市",
            "安阳市",
            "鹤壁市",
            "新乡市",
            "焦作市",
            "濮阳市",
            "许昌市",
            "漯河市",
            "三门峡市",
            "南阳市",
            "商丘市",
            "信阳市",
            "周口市",
            "驻马店市",
        ],
    },
    Province {
        code: "420000",
        full: "湖北省",
        short: "湖北",
        abbr: &["鄂"],
        cities: &[
            "武汉市",
            "黄石市",
            "十堰市",
            "宜昌市",
            "襄阳市",
            "鄂州市",
            "荆门市",
            "孝感市",
            "荆州市",
            "黄冈市",
            "咸宁市",
            "随州市",
            "恩施土家族苗族自治州",
        ],
    },
    Province {
        code: "430000",
        full: "湖南省",
        short: "湖南",
        abbr: &["湘"],
        cities: &[
            "长沙市",
            "株洲市",
            "湘潭市",
            "衡阳市",
            "邵阳市",
            "岳阳市",
            "常德市",
            "张家界市",
            "益阳市",
            "郴州市",
            "永州市",
            "怀化市",
            "娄底市",
            "湘西土家族苗族自治州",
        ],
    },
    Province {
        code: "440000",
        full: "广东省",
        short: "广东",
        abbr: &["粤"],
        cities: &[
            "广州市",
            "韶关市",
            "深圳市",
            "珠海市",
            "汕头市",
            "佛山市",
            "江门市",
            "湛江市",
            "茂名市",
            "肇庆市",
            "惠州市",
            "梅州市",
            "汕尾市",
            "河源市",
            "阳江市",
            "清远市",
            "东莞市",
            "中山市",
            "潮州市",
            "揭阳市",
            "云浮市",
        ],
    },
    Province {
        code: "450000",
        full: "广西壮族自治区",
        short: "广西",
        abbr: &["桂"],
        cities: &[
            "南宁市",
            "柳州市",
            "桂林市",
            "梧州市",
            "北海市",
            "防城港市",
            "钦州市",
            "贵港市",
            "玉林市",
            "百色市",
            "贺州市",
            "河池市",
            "来宾市",
            "崇左市",
        ],
    },
    Province {
        code: "460000",
        full: "海南省",
        short: "海南",
        abbr: &["琼"],
        cities: &["海口市", "三亚市", "三沙市", "儋州市"],
    },
    Province {
        code: "500000",
        full: "重庆市",
        short: "重庆",
        abbr: &["渝"],
        cities: &[],
    },
    Province {
        code: "510000",
        full: "四川省",
        short: "四川",
        abbr: &["川", "蜀"],
        cities: &[
            "成都市",
            "自贡市",
            "攀枝花市",
            "泸州市",
            "德阳市",
            "绵阳市",
            "广元市",
            "遂宁市",
            "内江市",
            "乐山市",
            "南充市",
            "眉山市",
            "宜宾市",
            "广安市",
            "达州市",
            "雅安市",
            "巴中市",
            "资阳市",
            "阿坝藏族羌族自治州",
            "甘孜藏族自治州",
            "凉山彝族自治州",
        ],
    },
    Province {
        code: "520000",
        full: "贵州省",
        short: "贵州",
        abbr: &["黔", "贵"],
        cities: &[
            "贵阳市",
            "六盘水市",
            "遵义市",
            "安顺市",
            "毕节市",
            "铜仁市",
            "黔西南布依族苗族自治州",
            "黔东南苗族侗族自治州",
            "黔南布依族苗族自治州",
        ],
    },
    Province {
        code: "530000",
        full: "云南省",
        short: "云南",
        abbr: &["滇", "云"],
        cities: &[
            "昆明市",
            "曲靖市",
            "玉溪市",
            "保山市",
            "昭通市",
            "丽江市",
            "普洱市",
            "临沧市",
            "楚雄彝族自治州",
            "红河哈尼族彝族自治州",
            "文山壮族苗族自治州",
            "西双版纳傣族自治州",
            "大理白族自治州",
            "德宏傣族景颇族自治州",
            "怒江傈僳族自治州",
            "迪庆藏族自治州",
        ],
    },
    Province {
        code: "540000",
        full: "西藏自治区",
        short: "西藏",
        abbr: &["藏"],
        cities: &[
            "拉萨市",
            "日喀则市",
            "昌都市",
            "林芝市",
            "山南市",
            "那曲市",
            "阿里地区",
        ],
    },
    Province {
        code: "610000",
        full: "陕西省",
        short: "陕西",
        abbr: &["陕", "秦"],
        cities: &[
            "西安市",
            "铜川市",
            "宝鸡市",
            "咸阳市",
            "渭南市",
            "延安市",
            "汉中市",
            "榆林市",
            "安康市",
            "商洛市",
        ],
    },
    Province {
        code: "620000",
        full: "甘肃省",
        short: "甘肃",
        abbr: &["甘", "陇"],
        cities: &[
            "兰州市",
            "嘉峪关市",
            "金昌市",
            "白银市",
            "天水市",
            "武威市",
            "张掖市",
            "平凉市",
            "酒泉市",
            "庆阳市",
            "定西市",
            "陇南市",
            "临夏回族自治州",
            "甘南藏族自治州",
        ],
    },
    Province {
        code: "630000",
        full: "青海省",
        short: "青海",
        abbr: &["青"],
        cities: &[
            "西宁市",
            "海东市",
            "海北藏族自治州",
            "黄南藏族自治州",
            "海南藏族自治州",
            "果洛藏族自治州",
            "玉树藏族自治州",
            "海西蒙古族藏族自治州",
        ],
    },
    Province {
        code: "640000",
        full: "宁夏回族自治区",
        short: "宁夏",
        abbr: &["宁"],
        cities: &["银川市", "石嘴山市", "吴忠市", "固原市", "中卫市"],
    },
    Province {
        code: "650000",
        full: "新疆维吾尔自治区",
        short: "新疆",
        abbr: &["新"],
        cities: &[
            "乌鲁木齐市",
            "克拉玛依市",
            "吐鲁番市",
            "哈密市",
            "昌吉回族自治州",
            "博尔塔拉蒙古自治州",
            "巴音郭楞蒙古自治州",
            "阿克苏地区",
            "克孜勒苏柯尔克孜自治州",
            "喀什地区",
            "和田地区",
            "伊犁哈萨克自治州",
            "塔城地区",
            "阿勒泰地区",
        ],
    },
    Province {
        code: "660000",
        full: "新疆生产建设兵团",
        short: "兵团",
        abbr: &[],
        cities: &[],
    },
    Province {
        code: "710000",
        full: "台湾省",
        short: "台湾",
        abbr: &["台"],
        cities: &[],
    },
    Province {
        code: "810000",
        full: "香港特别行政区",
        short: "香港",
        abbr: &["港"],
        cities: &[],
    },
    Province {
        code: "820000",
        full: "澳门特别行政区",
        short: "澳门",
        abbr: &["澳"],
        cities: &[],
    },
];

/// A resolved place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The province.
    pub province: &'static Province,
    /// The city, when the text names one.
    pub city: Option<&'static str>,
}

/// The short form of a city name (`温州市` → `温州`; autonomous prefectures keep their name).
fn city_short(city: &str) -> &str {
    city.strip_suffix('市').unwrap_or(city)
}

/// Resolves a location cell: a province in any spelling, a city alone, or both
/// (`浙江温州`, `浙江省温州市`, `温州市`, `粤`). The whole cell must be a place.
pub fn resolve_location(text: &str) -> Option<Place> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return None;
    }
    for p in PROVINCES {
        for name in [p.full, p.short].into_iter().chain(p.abbr.iter().copied()) {
            if let Some(rest) = t.strip_prefix(name) {
                if rest.is_empty() {
                    return Some(Place {
                        province: p,
                        city: None,
                    });
                }
                if let Some(city) = p
                    .cities
                    .iter()
                    .find(|c| rest == **c || rest == city_short(c))
                {
                    return Some(Place {
                        province: p,
                        city: Some(city),
                    });
                }
            }
        }
    }
    city_only(&t)
        .filter(|(_, rest)| rest.is_empty())
        .map(|(place, _)| place)
        .or_else(|| {
            let (full, short) = county_index();
            full.get(t.as_str())
                .or_else(|| short.get(t.as_str()))
                .copied()
                .flatten()
        })
}

/// A city at the start of a text: the place and what follows it.
fn city_only(t: &str) -> Option<(Place, &str)> {
    let mut best: Option<(Place, &str)> = None;
    for p in PROVINCES {
        for city in p.cities {
            for name in [*city, city_short(city)] {
                if name.chars().count() < 2 {
                    continue;
                }
                if let Some(rest) = t.strip_prefix(name) {
                    let longer = best.is_none_or(|(_, r)| rest.len() < r.len());
                    if longer {
                        best = Some((
                            Place {
                                province: p,
                                city: Some(city),
                            },
                            rest,
                        ));
                    }
                }
            }
        }
    }
    best
}

/// The place an address or an enterprise name starts with: a province (full or short name,
/// optionally followed by a city), or a city alone. Municipalities have no city.
pub fn resolve_prefix(text: &str) -> Option<Place> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // The longest province name wins: `新疆生产建设兵团…` is not `新疆…`.
    let mut names: Vec<(&'static Province, &'static str)> = PROVINCES
        .iter()
        .flat_map(|p| [(p, p.full), (p, p.short)])
        .collect();
    names.sort_by_key(|(_, n)| std::cmp::Reverse(n.len()));
    for (p, name) in names {
        {
            if let Some(rest) = t.strip_prefix(name) {
                // `吉林市…` is the city of 吉林省, not the province alone.
                if let Some((place, _)) = city_only(&t).filter(|(pl, _)| {
                    pl.province.code == p.code && t.starts_with(pl.city.unwrap_or_default())
                }) {
                    return Some(place);
                }
                let city = p
                    .cities
                    .iter()
                    .find(|c| rest.starts_with(**c) || rest.starts_with(city_short(c)))
                    .copied()
                    // `浙江省义乌市…`: the county's city.
                    .or_else(|| {
                        county_prefix(rest, true)
                            .filter(|c| c.province.code == p.code)
                            .and_then(|c| c.city)
                    });
                return Some(Place { province: p, city });
            }
        }
    }
    city_only(&t).map(|(place, _)| place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_resolve() {
        let code = |t: &str| resolve_location(t).map(|p| (p.province.code, p.city));
        assert_eq!(code("粤"), Some(("440000", None)));
        assert_eq!(code("广东省"), Some(("440000", None)));
        assert_eq!(code("浙江温州"), Some(("330000", Some("温州市"))));
        assert_eq!(code("浙江省温州市"), Some(("330000", Some("温州市"))));
        assert_eq!(code("深圳市"), Some(("440000", Some("深圳市"))));
        assert_eq!(code("兵团"), Some(("660000", None)));
        assert_eq!(code("未标注"), None);
        let prefix = |t: &str| resolve_prefix(t).map(|p| (p.province.code, p.city));
        assert_eq!(
            prefix("温州市恒达电器有限公司"),
            Some(("330000", Some("温州市")))
        );
        assert_eq!(
            prefix("温州恒达电器有限公司"),
            Some(("330000", Some("温州市")))
        );
        assert_eq!(prefix("浙江恒达电器有限公司"), Some(("330000", None)));
        assert_eq!(prefix("北京市恒达电器有限公司"), Some(("110000", None)));
        assert_eq!(prefix("恒达电器有限公司"), None);
        assert_eq!(
            prefix("新疆生产建设兵团恒达电工有限公司"),
            Some(("660000", None))
        );
        assert_eq!(
            prefix("浙江省义乌市恒达电器有限公司"),
            Some(("330000", Some("金华市")))
        );
    }
}
