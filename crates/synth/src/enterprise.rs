//! Enterprises: a pure function of (seed, product, index), so a pool of any size costs no
//! memory, and the same enterprise recurs across years, rounds and resources.

use crate::rng::Rng;
use crate::text;
use crate::vocab::{
    self, NAME_A, NAME_B, NAME_GBK_ONLY, NAME_RARE, PROVINCES, Product, Province, SUFFIX, TOWNS,
};

/// How the name shows where the enterprise is (it decides what the ingester can infer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePrefix {
    /// Starts with the city (`温州市…` or `温州…`).
    City,
    /// Starts with the province's short name (`浙江…`).
    Province,
    /// Starts with nothing geographic.
    None,
}

/// A producer.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// Name as registered (full-width brackets).
    pub name: String,
    /// The name with GBK-encodable characters only (equal to `name` for most).
    pub name_gbk: String,
    /// Province.
    pub province: &'static Province,
    /// Prefecture-level city, if the province has cities.
    pub city: Option<&'static str>,
    /// What the name starts with.
    pub prefix: NamePrefix,
    /// 0 large, 1 medium, 2 small.
    pub size: usize,
    /// Valid 统一社会信用代码, for most.
    pub uscc: Option<String>,
    /// Trade name, used as the brand.
    pub brand: String,
    /// Street address (starts with the province's full name and the city).
    pub address: String,
}

/// The enterprise number `k` among those that make `product`.
pub fn enterprise(seed: u64, product: &Product, k: usize) -> Enterprise {
    let mut rng = Rng::new(seed, &["enterprise", product.name, &k.to_string()]);
    let weights: Vec<f64> = PROVINCES.iter().map(|p| p.weight).collect();
    let province = &PROVINCES[rng.weighted(&weights)];
    let city = (!province.is_municipality()).then(|| *rng.pick(province.cities));
    let size = rng.weighted(&[0.06, 0.14, 0.80]);
    let mut trade = format!("{}{}", rng.pick(NAME_A), rng.pick(NAME_B));
    let mut trade_gbk = trade.clone();
    if rng.chance(0.01) {
        let rare = rng.pick(NAME_RARE);
        trade = format!("{rare}{}", rng.pick(NAME_B));
        trade_gbk = format!("吉{}", &trade[rare.len()..]);
    } else if rng.chance(0.03) {
        trade = format!("{}{}", rng.pick(NAME_GBK_ONLY), rng.pick(NAME_B));
        trade_gbk = trade.clone();
    }
    let suffix = rng.pick(SUFFIX[size]);
    let city_name = city.unwrap_or(province.full);
    let city_short = city_name.trim_end_matches('市');
    let industry = product.industry;
    let style = rng.below(20);
    let (prefix, head, tail) = match style {
        0..=9 => (NamePrefix::City, city_name.to_owned(), String::new()),
        10..=12 => (NamePrefix::City, city_short.to_owned(), String::new()),
        13..=15 => (
            NamePrefix::Province,
            province.short.to_owned(),
            String::new(),
        ),
        16..=17 => (NamePrefix::None, String::new(), format!("（{city_short}）")),
        _ if size == 2 => (
            NamePrefix::City,
            format!("{city_name}{}", rng.pick(TOWNS)),
            String::new(),
        ),
        _ => (NamePrefix::None, String::new(), String::new()),
    };
    let make = |trade: &str| {
        if tail.is_empty() {
            format!("{head}{trade}{industry}{suffix}")
        } else {
            format!("{trade}{industry}{tail}{suffix}")
        }
    };
    let name = make(&trade);
    let name_gbk = make(&trade_gbk);
    let division = division_code(province, city, &mut rng);
    let uscc = rng.chance(0.7).then(|| text::uscc(&mut rng, &division));
    let street = format!(
        "{}{}路{}号",
        rng.pick(NAME_A),
        rng.pick(&["兴", "工业", "科技", "创业", "园区", "东方"]),
        rng.range(1, 999)
    );
    let address = format!("{}{}{}", province.full, city.unwrap_or_default(), street);
    let brand = if rng.chance(0.05) {
        pinyin_brand(&mut rng)
    } else {
        trade_gbk.clone()
    };
    Enterprise {
        name,
        name_gbk,
        province,
        city,
        prefix,
        size,
        uscc,
        brand,
        address,
    }
}

fn division_code(province: &Province, city: Option<&str>, rng: &mut Rng) -> String {
    let city_index = city
        .and_then(|c| province.cities.iter().position(|x| *x == c))
        .map_or(1, |i| i + 1);
    format!(
        "{}{:02}{:02}",
        &province.code[..2],
        city_index,
        rng.range(1, 9)
    )
}

fn pinyin_brand(rng: &mut Rng) -> String {
    let parts = [
        "HENG", "DA", "MEI", "JIA", "XIN", "KANG", "TAI", "RUI", "LE", "HUA", "AN", "BAO",
    ];
    format!("{}{}", rng.pick(&parts), rng.pick(&parts))
}

/// A seller for distribution-channel samples (`…商行`, `…超市`).
pub fn seller(rng: &mut Rng, province: &Province) -> String {
    let city = if province.is_municipality() {
        province.full
    } else {
        *rng.pick(province.cities)
    };
    let kind = rng.pick(&[
        "商贸有限公司",
        "超市",
        "经营部",
        "商行",
        "百货商场",
        "五金店",
        "家电城",
    ]);
    format!("{city}{}{}{kind}", rng.pick(NAME_A), rng.pick(NAME_B))
}

/// An online shop for e-commerce samples.
pub fn shop(rng: &mut Rng, brand: &str) -> String {
    let kind = rng.pick(&["旗舰店", "专营店", "官方旗舰店", "专卖店", "优选店"]);
    format!("{brand}{kind}")
}

/// The provincial inspection institute of a province.
pub fn provincial_agency(rng: &mut Rng, province: &Province) -> String {
    let pattern = rng.pick(vocab::PROVINCIAL_AGENCY_PATTERNS);
    pattern.replace("{}", province.full)
}
