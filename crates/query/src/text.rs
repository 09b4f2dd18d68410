//! Chinese-aware text folding for search: full-/half-width (NFKC), case, traditional →
//! simplified, whitespace; bounded edit distance; producers' normalised names. (Pinyin
//! spellings live in the search index, as syllable ids.)

use unicode_normalization::UnicodeNormalization;

/// The folded form that matching compares: NFKC (full-width letters, digits and brackets
/// become half-width), lower case, traditional characters simplified, no whitespace.
pub fn fold(text: &str) -> String {
    let nfkc: String = text
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    fast2s::convert(&nfkc)
}

/// Whether the text has a Han character.
pub fn has_han(text: &str) -> bool {
    text.chars().any(is_han)
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF)
}

/// Edit distance between `a` and `b` if it is at most `max`, by characters.
pub fn within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// The name of a producer as one entity: folded, `有限责任公司` as `有限公司`, and a bracketed
/// 委托 note (`XX有限公司（委托YY公司）`) left out.
pub fn entity_name(name: &str) -> String {
    let mut folded = fold(name);
    if let Some(open) = folded.find('(')
        && folded[open..].contains("委托")
    {
        folded.truncate(open);
    }
    folded.replace("有限责任公司", "有限公司")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_joins_widths_cases_and_scripts() {
        assert_eq!(fold("ＭＥＩＤＩ　美的"), "meidi美的");
        assert_eq!(fold("電熱水壺"), "电热水壶");
        assert_eq!(fold("HD-1718 1800W"), "hd-17181800w");
        assert_eq!(fold("（顺德）"), "(顺德)");
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(within("hd1718", "hd1719", 1), Some(1));
        assert_eq!(within("hd1718", "hd171", 1), Some(1));
        assert_eq!(within("hd1718", "xy2718", 1), None);
    }

    #[test]
    fn entity_names_fold_company_forms() {
        assert_eq!(
            entity_name("宁波乐学文具有限责任公司"),
            entity_name("宁波乐学文具有限公司")
        );
        assert_eq!(
            entity_name("临沂金丰农资有限公司（委托山东沂蒙金丰化肥有限公司）"),
            "临沂金丰农资有限公司"
        );
    }
}
