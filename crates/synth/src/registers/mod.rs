//! Rows of the 98 resources that are not spot-check results, each generated as its register,
//! list or statistic is really published: numbers in the issuing body's format, names that
//! belong to the register (a national measurement standard is kept by a metrology institute,
//! olive oil from Spain is made by a Spanish producer), dates in their order (issued before
//! valid until, production before recall), statuses as of the publication's date, and
//! statistics whose parts add up (passed ≤ batches, a rate that is their ratio).
//!
//! [`row`] fills every field of a resource's row that is not a key of a statistic's grid;
//! `others.rs` lays the rows out as messy publications. A resource with no generator here is
//! an error of the generator ([`crate::SynthError::Uncovered`]), never a column label with a
//! counter.

mod catalogue;
mod certification;
mod equipment;
mod health;
mod lists;
mod metrology;
mod names;
mod products;
mod quarantine;
mod standards;
mod words;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::rng::Rng;
use crate::text::{Date, days_in_month};
use crate::vocab::{self, Province};

/// What a row is generated from.
pub struct Ctx<'a> {
    /// The publication's random stream.
    pub rng: &'a mut Rng,
    /// The corpus seed (enterprises and standards are pure functions of it).
    pub seed: u64,
    /// The row's index within its resource, unique across the resource's publications.
    pub i: usize,
    /// The publication's year.
    pub year: i32,
    /// The first year the resource covers: no date of a row falls before it.
    pub start: i32,
    /// A province for rows that need one and have no enterprise to take it from.
    pub province: &'static Province,
    /// The values of the statistic's grid keys for this row (empty for registers).
    pub grid: &'a BTreeMap<&'a str, Value>,
}

impl<'a> Ctx<'a> {
    /// The publication's date: statuses and expiries are as of it.
    pub fn as_of(&self) -> Date {
        Date {
            y: self.year + i32::from(self.year < 2025),
            m: 3,
            d: 15,
        }
    }

    /// A date within the publication's year.
    pub fn date(&mut self) -> Date {
        Date::random_in(self.rng, self.year)
    }

    /// A date in one of the `back` years before the publication's year, or in it.
    pub fn date_back(&mut self, back: i32) -> Date {
        let y = (self.year - self.rng.range(0, i64::from(back)) as i32).max(self.start);
        Date::random_in(self.rng, y)
    }

    /// The grid value of a key, if this row has one.
    pub fn grid_str(&self, key: &str) -> Option<&'a str> {
        self.grid.get(key).and_then(Value::as_str)
    }

    /// The row's province: the grid's, else the context's.
    pub fn grid_province(&self) -> &'static Province {
        self.grid_str("province_code")
            .and_then(vocab::province)
            .unwrap_or(self.province)
    }

    /// A number that is unique for this row within `10^width` rows.
    pub fn serial(&self, width: u32) -> String {
        serial(self.i, width)
    }

    /// A pick from a list, by the random stream.
    pub fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        self.rng.pick(items)
    }

    /// A whole number in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range(lo, hi)
    }

    /// A number in `lo..hi`, rounded to `places` decimals.
    pub fn num(&mut self, lo: f64, hi: f64, places: i32) -> f64 {
        round(lo + (hi - lo) * self.rng.f64(), places)
    }
}

/// `i` spread over `10^width` without repeats (a multiplication by a unit modulo `10^width`,
/// then an offset), zero-padded: consecutive rows do not get consecutive numbers, and small
/// rows do not get numbers full of leading zeros, as in real registers.
pub fn serial(i: usize, width: u32) -> String {
    let modulus = 10u128.pow(width);
    let spread = (i as u128 % modulus * 7_919_363 + modulus / 3) % modulus;
    format!("{spread:0w$}", w = width as usize)
}

/// Rounds to decimal places.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// A date `days` later.
pub fn plus_days(d: Date, days: u32) -> Date {
    let mut d = d;
    for _ in 0..days {
        if d.d < days_in_month(d.y, d.m) {
            d.d += 1;
        } else if d.m < 12 {
            d.m += 1;
            d.d = 1;
        } else {
            d.y += 1;
            d.m = 1;
            d.d = 1;
        }
    }
    d
}

/// The same day `years` later (the 28th for 29 February), less one day: how validity
/// periods are written (issued 2019-05-08, valid until 2024-05-07).
pub fn valid_for(issued: Date, years: i32) -> Date {
    let y = issued.y + years;
    let d = Date {
        y,
        m: issued.m,
        d: issued.d.min(days_in_month(y, issued.m)),
    };
    d.minus_days(1)
}

/// A certificate's status as of a date: expired when its validity ended before it, else
/// mostly valid, sometimes one of the register's other states.
pub fn status(
    ctx: &mut Ctx,
    valid_until: Date,
    expired: &'static str,
    others: &[&'static str],
) -> &'static str {
    if valid_until < ctx.as_of() {
        expired
    } else if !others.is_empty() && ctx.rng.chance(0.06) {
        others[ctx.rng.below(others.len())]
    } else {
        "有效"
    }
}

/// The market regulator of a province in a year (质量技术监督局 before the 2018 reform).
pub fn regulator(province: &Province, year: i32) -> String {
    if year >= 2019 {
        format!("{}市场监督管理局", province.full)
    } else {
        format!("{}质量技术监督局", province.full)
    }
}

/// A city of a province (the province itself for a municipality).
pub fn city_of(rng: &mut Rng, province: &'static Province) -> &'static str {
    if province.cities.is_empty() {
        province.full
    } else {
        province.cities[rng.below(province.cities.len())]
    }
}

/// A street address in a city of a province (`""` for a municipality).
pub fn address_in(rng: &mut Rng, province: &Province, city: &str) -> String {
    let city = if city == province.full { "" } else { city };
    format!(
        "{}{city}{}{}路{}号",
        province.full,
        rng.pick(vocab::NAME_A),
        rng.pick(&[
            "兴", "工业", "科技", "创业", "园区", "东方", "人民", "解放", "建设"
        ]),
        rng.range(1, 999)
    )
}

/// Every field of a row of `resource` that is not a grid key, or `None` when the resource
/// has no generator.
pub fn row(resource: &str, ctx: &mut Ctx) -> Option<Map<String, Value>> {
    let value = match resource.as_bytes().first() {
        Some(b'A') => products::row(resource, ctx),
        Some(b'B') => equipment::row(resource, ctx),
        Some(b'C') => metrology::row(resource, ctx),
        Some(b'D') => standards::row(resource, ctx),
        Some(b'E') => certification::row(resource, ctx),
        Some(b'F') => quarantine::row(resource, ctx),
        _ => None,
    }?;
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The values a key of a statistic's grid ranges over, where the register decides them
/// (cities of the 96333 centres, work codes of certified operators …).
pub fn domain(resource: &str, field: &str) -> Option<Vec<Value>> {
    Some(match (resource, field) {
        ("A1-01", "product") => vocab::PRODUCTS.iter().map(|p| json!(p.name)).collect(),
        ("B1-05", "indicator") => lists::INDICATORS.iter().map(|x| json!(x.0)).collect(),
        ("B2-02", "work_code") => lists::WORK_CODES.iter().map(|x| json!(x.0)).collect(),
        ("B4-04", "city") => lists::HOTLINE_CITIES.iter().map(|x| json!(x.0)).collect(),
        ("F1-01", "disease") => health::HUMAN_DISEASES.iter().map(|x| json!(x.0)).collect(),
        ("F1-01" | "F1-02", "port") => words::PORTS.iter().map(|p| json!(p)).collect(),
        (_, "domain") => strings(&[
            "行政区划",
            "产品分类",
            "组织机构",
            "行业分类",
            "物流编码",
            "信息分类编码",
        ]),
        (_, "cylinder_type") => strings(&[
            "无缝气瓶",
            "焊接气瓶",
            "溶解乙炔气瓶",
            "车用气瓶",
            "液化石油气钢瓶",
        ]),
        (_, "boiler_type") => strings(&["工业锅炉", "电站锅炉", "生活锅炉"]),
        (_, "campaign") => strings(&[
            "加油机计量专项检查",
            "集贸市场计量专项检查",
            "眼镜制配场所计量专项检查",
            "医疗机构计量专项检查",
        ]),
        _ => return None,
    })
}

fn strings(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| json!(v)).collect()
}

/// How many rows a register can hold at most, where the real one is small and closed (the
/// national measurement standards, the technical committees, the CCC catalogue …): a
/// register does not grow with the corpus's scale past the things it lists.
pub fn capacity(resource: &str) -> Option<usize> {
    Some(match resource {
        "C1-01" => metrology::NATIONAL_STANDARDS.len() * 2,
        "C2-03" => lists::MANDATORY_INSTRUMENTS.len(),
        "C3-01" => metrology::institute_count(),
        "D3-01" => standards::committee_count(),
        "D3-02" => standards::committee_count() * 3,
        "D3-03" => lists::ISO_COMMITTEES.len(),
        "E1-02" => lists::ccc_products().len(),
        "E1-03" => lists::CCC_BODIES.len(),
        "F1-03" => quarantine::centre_count(),
        "F2-03" => quarantine::access_pairs(true).len(),
        "F3-04" => quarantine::access_pairs(false).len(),
        "D1-01" => catalogue::catalogue_size(),
        "D1-02" => catalogue::title_count() * 2,
        "D1-04" => catalogue::title_count(),
        "E2-05" => 999,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_do_not_repeat_below_their_modulus() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            assert!(seen.insert(serial(i, 5)), "{i}");
        }
    }

    #[test]
    fn validity_ends_the_day_before_the_anniversary() {
        let d = Date {
            y: 2020,
            m: 2,
            d: 29,
        };
        assert_eq!(valid_for(d, 5).iso(), "2025-02-27");
        assert_eq!(
            plus_days(
                Date {
                    y: 2019,
                    m: 12,
                    d: 31
                },
                1
            )
            .iso(),
            "2020-01-01"
        );
    }
}
