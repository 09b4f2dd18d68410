//! Chinese-aware text folding for search: full-/half-width (NFKC), case, traditional →
//! simplified, whitespace; pinyin spellings and initials of names, with the other readings of
//! polyphonic characters (重庆 is chongqing as well as zhongqing).

use pinyin::ToPinyinMulti;
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

/// How many readings of each polyphonic character the spellings try, and how many
/// polyphonic characters of a name vary (the others take their first reading): 2 × 2 gives
/// at most 4 spellings per name.
const READINGS: usize = 2;
const VARIED: usize = 2;

/// The pinyin spellings of a name: each spelling is the syllables of its Han characters
/// (others are kept as folded text), with the byte offsets where syllables start, and the
/// initials. Empty when the name has no Han character.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spellings {
    /// `(spelling, syllable starts, initials)`.
    pub variants: Vec<(String, Vec<u32>, String)>,
}

impl Spellings {
    /// The spellings of `folded` (a [`fold`]ed name).
    pub fn of(folded: &str) -> Self {
        if !has_han(folded) {
            return Self::default();
        }
        // Each character's readings (up to READINGS), or itself when it has none.
        let readings: Vec<Vec<String>> = folded
            .chars()
            .map(|c| match c.to_pinyin_multi() {
                Some(multi) => {
                    let mut r: Vec<String> =
                        multi.into_iter().map(|p| p.plain().to_owned()).collect();
                    r.dedup();
                    r.truncate(READINGS);
                    r
                }
                None => vec![c.to_string()],
            })
            .collect();
        let polyphonic: Vec<usize> = readings
            .iter()
            .enumerate()
            .filter(|(_, r)| r.len() > 1)
            .map(|(i, _)| i)
            .take(VARIED)
            .collect();
        let mut variants = Vec::new();
        for choice in 0..(1usize << polyphonic.len()) {
            let mut spelling = String::new();
            let mut starts = Vec::new();
            let mut initials = String::new();
            for (i, r) in readings.iter().enumerate() {
                let pick = polyphonic
                    .iter()
                    .position(|&p| p == i)
                    .map_or(0, |bit| (choice >> bit) & 1);
                let syllable = &r[pick.min(r.len() - 1)];
                starts.push(spelling.len() as u32);
                spelling.push_str(syllable);
                if let Some(first) = syllable.chars().next() {
                    initials.push(first);
                }
            }
            variants.push((spelling, starts, initials));
        }
        Self { variants }
    }

    /// Whether `q` (folded ASCII) spells consecutive syllables of the name, starting at a
    /// syllable and ending anywhere in one (`meidi`, `meid`, `zhongqing`): `Some(true)` when
    /// it spells the whole name, `Some(false)` for a part, `None` when it does not.
    pub fn spells(&self, q: &str) -> Option<bool> {
        if q.is_empty() {
            return None;
        }
        let mut found = None;
        for (s, starts, _) in &self.variants {
            for (at, _) in s.match_indices(q) {
                if starts.binary_search(&(at as u32)).is_ok() {
                    if at == 0 && q.len() == s.len() {
                        return Some(true);
                    }
                    found = Some(false);
                }
            }
        }
        found
    }

    /// Whether `q` is the initials of the whole name (`Some(true)`), or, with three letters or
    /// more, of consecutive characters in it (`Some(false)`).
    pub fn initials(&self, q: &str) -> Option<bool> {
        if self.variants.iter().any(|(_, _, i)| i == q) {
            Some(true)
        } else if q.len() >= 3 && self.variants.iter().any(|(_, _, i)| i.contains(q)) {
            Some(false)
        } else {
            None
        }
    }
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
    fn pinyin_spells_names_from_any_syllable() {
        let s = Spellings::of(&fold("广东美的制冷设备有限公司"));
        assert_eq!(s.spells("meidi"), Some(false));
        assert_eq!(s.spells("meid"), Some(false));
        assert_eq!(s.spells("guangdongmeidi"), Some(false));
        assert_eq!(s.spells("eidi"), None, "must start at a syllable");
        assert_eq!(Spellings::of("美的").spells("meidi"), Some(true));
        let cq = Spellings::of(&fold("重庆"));
        assert_eq!(cq.spells("chongqing"), Some(true));
        assert_eq!(cq.spells("zhongqing"), Some(true));
        assert_eq!(Spellings::of("美的").initials("md"), Some(true));
        assert_eq!(Spellings::of(&fold("广东美的制冷")).initials("md"), None);
        assert_eq!(
            Spellings::of(&fold("广东美的制冷")).initials("gdmd"),
            Some(false)
        );
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
