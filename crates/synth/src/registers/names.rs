//! Names of the organisations that registers list: Chinese enterprises that make what the row
//! is about, foreign producers named as their country writes them, and public institutes.

use crate::enterprise::{Enterprise, enterprise};
use crate::rng::Rng;
use crate::vocab::{NAME_A, NAME_B, Product};

use super::Ctx;
use super::words::Country;

/// The enterprise number `k` of an industry (`电梯`, `计量仪器`, `食品`): a pure function of
/// the seed, the industry and `k`, so the same company recurs across resources. Registers
/// list producers, not shops: a name the pool gives a trading form (`…商行`, `…经营部`) is
/// registered as a limited company.
pub fn company(seed: u64, industry: &'static str, k: usize) -> Enterprise {
    let product = Product {
        category: "",
        subcategory: "",
        name: industry,
        fail_mult: 1.0,
        items: &[],
        agency: "",
        industry,
    };
    let mut e = enterprise(seed, &product, k);
    for name in [&mut e.name, &mut e.name_gbk] {
        for shop in ["商行", "经营部"] {
            if let Some(stem) = name.strip_suffix(shop) {
                *name = format!("{stem}有限公司");
            }
        }
    }
    e
}

/// A company of an industry for this row, drawn from a pool of `pool` companies.
pub fn company_for(ctx: &mut Ctx, industry: &'static str, pool: usize) -> Enterprise {
    let k = ctx.rng.below(pool.max(1));
    company(ctx.seed, industry, k)
}

/// A producer abroad, named as its country writes company names (`Maison Laurent Wines
/// SAS`, `Waikato Dairy Limited`); ASCII only, as it is printed in Chinese lists.
pub fn foreign_company(rng: &mut Rng, country: &Country, industry_en: &str) -> String {
    let stem = rng.pick(country.stems);
    let suffix = rng.pick(country.suffixes);
    format!("{stem} {industry_en} {suffix}")
}

/// A street address abroad.
pub fn foreign_address(rng: &mut Rng, country: &Country) -> String {
    let city = rng.pick(country.cities);
    format!(
        "{} {} {}, {city}, {}",
        rng.range(1, 480),
        rng.pick(&["Industrial", "Harbour", "Mill", "Station", "Valley", "Park"]),
        rng.pick(&["Road", "Street", "Avenue", "Way"]),
        country.en
    )
}

/// A Chinese trading company of a city (`宁波恒达进出口有限公司`), the importers of lists.
pub fn trader(rng: &mut Rng, city: &str) -> String {
    format!(
        "{}{}{}{}",
        city.trim_end_matches('市'),
        rng.pick(NAME_A),
        rng.pick(NAME_B),
        rng.pick(&[
            "进出口有限公司",
            "国际贸易有限公司",
            "贸易有限公司",
            "供应链管理有限公司",
            "食品进出口有限公司",
        ])
    )
}

/// Two uppercase letters standing for a trade name in enterprise-standard numbers.
pub fn initials(rng: &mut Rng) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTWXYZ";
    (0..rng.range(2, 4))
        .map(|_| char::from(*rng.pick(LETTERS)))
        .collect()
}
