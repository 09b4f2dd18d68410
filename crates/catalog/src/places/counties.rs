//! Every prefecture- and county-level division of GB/T 2260 (`data/divisions.tsv`, 2020) with
//! its usual short form, resolved to its province and city.

use super::{PROVINCES, Place};

/// The divisions below the provinces: GB/T 2260 code and official name, one per line.
static DIVISIONS: &str = include_str!("../../data/divisions.tsv");

/// The 55 minority nationalities, whose names make up autonomous counties' names
/// (`长阳土家族自治县`): the usual short form is the part before them.
const NATIONALITIES: [&str; 55] = [
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
];

/// The usual short form of a county-level name, when it has one of two characters or more.
fn county_short(name: &str) -> Option<&str> {
    if name.ends_with("自治县") || name.ends_with("自治旗") {
        let cut = NATIONALITIES
            .iter()
            .filter_map(|n| name.find(n))
            .min()
            .unwrap_or(name.len() - "自治县".len());
        return Some(&name[..cut]).filter(|s| s.chars().count() >= 2);
    }
    ["林区", "特区", "市", "县", "区", "旗"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|s| s.chars().count() >= 2)
}

/// A division name (full or short) → where it is; `None` where the name is shared by places
/// in different provinces (鼓楼区, 朝阳区), which therefore resolve nowhere.
type CountyIndex = std::collections::HashMap<&'static str, Option<Place>>;

pub(super) fn county_index() -> &'static (CountyIndex, CountyIndex) {
    static INDEX: std::sync::OnceLock<(CountyIndex, CountyIndex)> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let rows: Vec<(&str, &str)> = DIVISIONS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect();
        let prefectures: std::collections::HashMap<&str, &str> = rows
            .iter()
            .filter(|(code, _)| code.ends_with("00"))
            .map(|(code, name)| (&code[..4], *name))
            .collect();
        let (mut full, mut short) = (CountyIndex::new(), CountyIndex::new());
        let add = |index: &mut CountyIndex, key: &'static str, place: Place| {
            let entry = index.entry(key).or_insert(Some(place));
            if let Some(seen) = entry {
                if seen.province.code != place.province.code {
                    *entry = None;
                } else if seen.city != place.city {
                    seen.city = None;
                }
            }
        };
        for (code, name) in rows {
            if code.ends_with("00") || code.len() != 6 {
                continue;
            }
            let Some(province) = PROVINCES.iter().find(|p| p.code[..2] == code[..2]) else {
                continue;
            };
            // The county's city, as the province's table spells it (none for a county-level
            // city or county governed by the province itself).
            let city = prefectures
                .get(&code[..4])
                .and_then(|c| province.cities.iter().find(|pc| *pc == c))
                .copied();
            let place = Place { province, city };
            add(&mut full, name, place);
            if let Some(s) = county_short(name) {
                add(&mut short, s, place);
            }
        }
        (full, short)
    })
}

/// A county-level division at the start of `text` (its official name, or with `short` also
/// its usual short form): its province and city. Names shared by divisions of different
/// provinces resolve to nothing.
pub fn county_prefix(text: &str, short: bool) -> Option<Place> {
    let (full, shorts) = county_index();
    let t: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    let ends: Vec<usize> = t.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    for &end in ends.iter().rev() {
        let key = &t[..end];
        if let Some(found) = full.get(key) {
            return *found;
        }
        if short && let Some(found) = shorts.get(key) {
            return *found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::resolve_location;

    #[test]
    fn counties_resolve_to_their_province_and_city() {
        let county = |t: &str, short| county_prefix(t, short).map(|p| (p.province.code, p.city));
        assert_eq!(
            county("义乌市恒达电器有限公司", false),
            Some(("330000", Some("金华市")))
        );
        assert_eq!(
            county("义乌恒达电器有限公司", false),
            None,
            "short forms only when asked"
        );
        assert_eq!(
            county("义乌稠城街道", true),
            Some(("330000", Some("金华市")))
        );
        assert_eq!(
            county("长阳县龙舟坪镇", true),
            Some(("420000", Some("宜昌市")))
        );
        assert_eq!(
            resolve_location("义乌").map(|p| p.province.code),
            Some("330000")
        );
        assert_eq!(
            county("长阳土家族自治县", false),
            Some(("420000", Some("宜昌市")))
        );
        assert_eq!(
            county("长阳龙舟坪镇", true),
            Some(("420000", Some("宜昌市")))
        );
        assert_eq!(county("鼓楼区中山路", false), None, "in several provinces");
        assert_eq!(
            county("仙桃市", false),
            Some(("420000", None)),
            "governed by the province"
        );
        assert_eq!(county("恒达电器有限公司", true), None);
        // Every division of the table is there.
        assert!(DIVISIONS.lines().filter(|l| !l.starts_with('#')).count() > 3_000);
    }
}
