//! Reading a query as people type it: the product thesaurus, the words that are filters, and
//! matching that forgives partial, reordered and mistyped words.
//!
//! A query that some value matches as typed (a substring, pinyin, a model, or a thesaurus word
//! for a product) is searched as it is. Otherwise it is read left to right
//! ([`Lexicon::read`]): product words (the thesaurus' words and the snapshot's product names,
//! longest first), years (`2023`, `2023年`) → `plan_year`, 不合格/合格 → `result`, 国抽/省抽 …
//! → `check_level`, provinces and cities → `enterprise_province`; what is left between them is
//! searched as words, filler (的, 质量, 怎么样, 查询 …) set aside. A word that matches no value
//! as typed is tried as part of a product name ([`partial`]: its characters mostly in a name,
//! in order or not) and by its sound (电热水胡 → dianreshuihu → 电热水壶).

use std::collections::HashMap;
use std::sync::OnceLock;

use pinyin::ToPinyin;
use zhijian_catalog::Catalog;
use zhijian_catalog::places::PROVINCES;

use crate::text::fold;

/// Words that say nothing about which rows: questions, "quality", "results" (longest first
/// when read).
const FILLER: &[&str] = &[
    "怎么样",
    "怎么办",
    "有没有",
    "是不是",
    "查一下",
    "查一查",
    "哪些",
    "哪个",
    "什么",
    "是否",
    "质量",
    "查询",
    "查看",
    "产品",
    "抽查",
    "抽检",
    "检查",
    "检测",
    "检验",
    "监督",
    "结果",
    "情况",
    "名单",
    "批次",
    "信息",
    "问题",
    "品牌",
    "牌子",
    "东西",
    "企业",
    "公司",
    "厂家",
    "最近",
    "国家",
    "年度",
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "吧",
    "在",
    "有",
    "是",
    "和",
    "及",
    "年",
    "款",
    "个",
    "哪",
    "the",
    "of",
    "in",
    "for",
    "and",
    "with",
    "which",
    "any",
    "quality",
    "check",
    "checks",
    "spot",
    "result",
    "results",
    "product",
    "products",
    "brand",
    "test",
    "tests",
    "tested",
    "inspection",
];

/// Words for a result.
const RESULTS: &[(&str, &str)] = &[
    ("抽检不合格", "fail"),
    ("不合格", "fail"),
    ("不达标", "fail"),
    ("未通过", "fail"),
    ("没通过", "fail"),
    ("不过关", "fail"),
    ("有问题", "fail"),
    ("合格", "pass"),
    ("达标", "pass"),
    ("通过", "pass"),
    ("unqualified", "fail"),
    ("failed", "fail"),
    ("failing", "fail"),
    ("fails", "fail"),
    ("fail", "fail"),
    ("qualified", "pass"),
    ("passed", "pass"),
    ("pass", "pass"),
];

/// Words for a level of check.
const LEVELS: &[(&str, &str)] = &[
    ("国家监督抽查", "national"),
    ("国家抽查", "national"),
    ("国家级", "national"),
    ("国抽", "national"),
    ("省级监督抽查", "provincial"),
    ("省监督抽查", "provincial"),
    ("省级抽查", "provincial"),
    ("省级", "provincial"),
    ("省抽", "provincial"),
    ("市级", "municipal"),
    ("市抽", "municipal"),
    ("专项抽查", "special"),
    ("专项", "special"),
    ("电商", "ecommerce"),
    ("网购", "ecommerce"),
    ("网店", "ecommerce"),
    ("联动抽查", "joint"),
    ("national", "national"),
    ("provincial", "provincial"),
    ("municipal", "municipal"),
    ("ecommerce", "ecommerce"),
    ("online", "ecommerce"),
];

/// What a part of a query was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A word of the thesaurus or a product's name.
    Product,
    /// Words searched as typed (a producer, brand, model …).
    Words,
    /// `result`.
    Result,
    /// `plan_year`.
    Year,
    /// `enterprise_province`.
    Province,
    /// `check_level`.
    Level,
    /// Filler.
    Ignored,
}

impl Role {
    /// Its name in answers, the filter's field for filters.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Words => "words",
            Self::Result => "result",
            Self::Year => "plan_year",
            Self::Province => "enterprise_province",
            Self::Level => "check_level",
            Self::Ignored => "ignored",
        }
    }
}

/// A part of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// Its text (folded).
    pub text: String,
    pub role: Role,
    /// The filter's value (`fail`, `2023`, `广东省`, `national`).
    pub value: Option<String>,
}

/// The thesaurus and the places, folded for reading queries; built once per process.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    /// Official names as published.
    pub names: Vec<String>,
    /// Folded word → the products it means (indices into `names`).
    words: HashMap<String, Vec<u16>>,
    /// The words' pinyin (plain syllables, run together) → products.
    sounds: Vec<(String, Vec<u16>)>,
    /// Folded place names → province (official full name), longest first.
    places: Vec<(String, &'static str)>,
    /// The longest thesaurus word, in characters (how far the reader looks ahead).
    longest_word: usize,
}

/// Letters or digits of ASCII, which an English word or a model number is made of.
fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// The plain pinyin of a text whose every character is Han (`None` otherwise).
pub(crate) fn spoken(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        out.push_str(c.to_pinyin()?.plain());
    }
    (!out.is_empty()).then_some(out)
}

impl Lexicon {
    /// The lexicon of the catalog's thesaurus (the first catalog asked for: a process serves
    /// one).
    pub(crate) fn of(catalog: &Catalog) -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| Lexicon::new(catalog))
    }

    fn new(catalog: &Catalog) -> Self {
        let mut lex = Lexicon::default();
        for (i, p) in catalog.products.products.iter().enumerate() {
            lex.names.push(p.name.clone());
            for (_, word) in p.words() {
                let key = fold(word);
                let owners = lex.words.entry(key).or_default();
                if !owners.contains(&(i as u16)) {
                    owners.push(i as u16);
                }
            }
        }
        let mut sounds: HashMap<String, Vec<u16>> = HashMap::new();
        for (word, owners) in &lex.words {
            if let Some(s) = spoken(word) {
                let slot = sounds.entry(s).or_default();
                slot.extend(
                    owners
                        .iter()
                        .filter(|o| !slot.contains(o))
                        .collect::<Vec<_>>(),
                );
            }
        }
        lex.sounds = sounds.into_iter().collect();
        lex.sounds.sort();
        for p in PROVINCES {
            lex.places.push((p.full.to_owned(), p.full));
            lex.places.push((p.short.to_owned(), p.full));
            for city in p.cities {
                lex.places.push(((*city).to_owned(), p.full));
                let short = city.strip_suffix('市').unwrap_or(city);
                if short.chars().count() >= 2 {
                    lex.places.push((short.to_owned(), p.full));
                }
            }
        }
        lex.places
            .sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.cmp(b)));
        lex.places.dedup_by(|a, b| a.0 == b.0);
        lex.longest_word = lex
            .words
            .keys()
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        lex
    }

    /// The products a folded word means.
    pub(crate) fn products_of(&self, folded: &str) -> &[u16] {
        self.words.get(folded).map_or(&[], Vec::as_slice)
    }

    /// The products a folded word means: its own, or when it is spelled in pinyin, those of
    /// the word it spells (chongdianbao → 充电宝 → 移动电源).
    pub(crate) fn meant(&self, folded: &str) -> Vec<u16> {
        let mut owners = self.products_of(folded).to_vec();
        if owners.is_empty() && folded.len() > 3 && folded.chars().all(|c| c.is_ascii_lowercase()) {
            for (s, o) in &self.sounds {
                if s == folded {
                    owners.extend(o.iter().filter(|x| !owners.contains(x)).collect::<Vec<_>>());
                }
            }
        }
        owners
    }

    /// The official names a folded word means ([`Self::meant`]), folded.
    pub(crate) fn names_of(&self, folded: &str) -> Vec<String> {
        self.meant(folded)
            .iter()
            .filter_map(|&i| self.names.get(i as usize))
            .map(|n| fold(n))
            .collect()
    }

    /// Products whose words sound like the text (all Han), with the word.
    pub(crate) fn sounding(&self, text: &str) -> Vec<u16> {
        let Some(said) = spoken(text) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (s, owners) in &self.sounds {
            if *s == said {
                out.extend(
                    owners
                        .iter()
                        .filter(|o| !out.contains(*o))
                        .collect::<Vec<_>>(),
                );
            }
        }
        out
    }

    /// Every thesaurus word with its products (for partial matching).
    pub(crate) fn words(&self) -> impl Iterator<Item = (&str, &[u16])> {
        self.words.iter().map(|(w, o)| (w.as_str(), o.as_slice()))
    }

    /// Reads a query into parts. `product_names` are the snapshot's product values (folded),
    /// read as product words like the thesaurus' own.
    pub(crate) fn read(&self, q: &str, product_names: &[&str]) -> Vec<Part> {
        // The query's pieces (split at spaces and punctuation), folded and run together, with
        // where each piece starts: an English or ASCII word must start and end at a piece's
        // edge or beside a character that is not a letter or digit.
        let mut chars: Vec<char> = Vec::new();
        let mut starts: Vec<bool> = Vec::new();
        for piece in q.split(|c: char| {
            c.is_whitespace()
                || (c.is_ascii_punctuation() && c != '-')
                || "，。、；：？！“”‘’（）《》【】".contains(c)
        }) {
            let folded: Vec<char> = fold(piece).chars().collect();
            for (i, c) in folded.iter().enumerate() {
                chars.push(*c);
                starts.push(i == 0);
            }
        }
        let n = chars.len();
        let edge_before =
            |i: usize| i == 0 || starts[i] || !alnum(chars[i - 1]) || !alnum(chars[i]);
        let edge_after = |j: usize| j >= n || starts[j] || !alnum(chars[j - 1]) || !alnum(chars[j]);
        let at = |i: usize, word: &str| -> Option<usize> {
            let len = word.chars().count();
            (i + len <= n
                && word.chars().zip(&chars[i..i + len]).all(|(a, b)| a == *b)
                && edge_before(i)
                && edge_after(i + len))
            .then_some(len)
        };
        let mut parts: Vec<Part> = Vec::new();
        let mut chunk = String::new();
        let flush = |chunk: &mut String, parts: &mut Vec<Part>| {
            if !chunk.is_empty() {
                parts.push(Part {
                    text: std::mem::take(chunk),
                    role: Role::Words,
                    value: None,
                });
            }
        };
        let mut i = 0;
        while i < n {
            if starts[i] {
                flush(&mut chunk, &mut parts);
            }
            // The longest product word here.
            let mut best: Option<usize> = None;
            let reach = self.longest_word.min(n - i);
            for len in (2..=reach).rev() {
                let word: String = chars[i..i + len].iter().collect();
                if (self.words.contains_key(&word) || product_names.contains(&word.as_str()))
                    && at(i, &word).is_some()
                {
                    best = Some(len);
                    break;
                }
            }
            if best.is_none() {
                best = product_names
                    .iter()
                    .filter(|p| p.chars().count() > reach)
                    .filter_map(|p| at(i, p))
                    .max();
            }
            if let Some(len) = best {
                flush(&mut chunk, &mut parts);
                parts.push(Part {
                    text: chars[i..i + len].iter().collect(),
                    role: Role::Product,
                    value: None,
                });
                i += len;
                continue;
            }
            if let Some((len, year)) =
                year_at(&chars, i).filter(|(len, _)| edge_before(i) && edge_after(i + len))
            {
                flush(&mut chunk, &mut parts);
                parts.push(Part {
                    text: chars[i..i + len].iter().collect(),
                    role: Role::Year,
                    value: Some(year),
                });
                i += len;
                continue;
            }
            let filter = RESULTS
                .iter()
                .map(|(w, v)| (Role::Result, *w, (*v).to_owned()))
                .chain(
                    LEVELS
                        .iter()
                        .map(|(w, v)| (Role::Level, *w, (*v).to_owned())),
                )
                .chain(
                    self.places
                        .iter()
                        .map(|(w, v)| (Role::Province, w.as_str(), (*v).to_owned())),
                )
                .find_map(|(role, w, v)| at(i, w).map(|len| (role, len, v)));
            if let Some((role, len, value)) = filter {
                flush(&mut chunk, &mut parts);
                parts.push(Part {
                    text: chars[i..i + len].iter().collect(),
                    role,
                    value: Some(value),
                });
                i += len;
                continue;
            }
            chunk.push(chars[i]);
            i += 1;
        }
        flush(&mut chunk, &mut parts);
        parts
    }

    /// The chunk without one filler word at its start or end (the longest), and that word.
    pub(crate) fn strip_edge(&self, chunk: &str) -> Option<(String, String)> {
        let ascii_edge =
            |rest: &str, w: &str| !w.is_ascii() || rest.chars().next().is_none_or(|c| !alnum(c));
        let front = FILLER
            .iter()
            .filter(|w| chunk.starts_with(**w) && ascii_edge(&chunk[w.len()..], w))
            .max_by_key(|w| w.len());
        if let Some(w) = front {
            return Some((chunk[w.len()..].to_owned(), (*w).to_owned()));
        }
        let back = FILLER
            .iter()
            .filter(|w| {
                chunk.ends_with(**w)
                    && (!w.is_ascii()
                        || chunk[..chunk.len() - w.len()]
                            .chars()
                            .last()
                            .is_none_or(|c| !alnum(c)))
            })
            .max_by_key(|w| w.len())?;
        Some((
            chunk[..chunk.len() - back.len()].to_owned(),
            (*back).to_owned(),
        ))
    }

    /// A chunk of words without its filler: the pieces between filler words, and the filler.
    pub(crate) fn unfill(&self, chunk: &str) -> (Vec<String>, Vec<String>) {
        let chars: Vec<char> = chunk.chars().collect();
        let mut kept = Vec::new();
        let mut filler = Vec::new();
        let mut cur = String::new();
        let mut i = 0;
        while i < chars.len() {
            let hit = FILLER.iter().find(|w| {
                let len = w.chars().count();
                i + len <= chars.len()
                    && w.chars().zip(&chars[i..i + len]).all(|(a, b)| a == *b)
                    && (!w.is_ascii()
                        || ((i == 0 || !alnum(chars[i - 1]))
                            && chars.get(i + len).is_none_or(|c| !alnum(*c))))
            });
            match hit {
                Some(w) => {
                    if !cur.is_empty() {
                        kept.push(std::mem::take(&mut cur));
                    }
                    filler.push((*w).to_owned());
                    i += w.chars().count();
                }
                None => {
                    cur.push(chars[i]);
                    i += 1;
                }
            }
        }
        if !cur.is_empty() {
            kept.push(cur);
        }
        (kept, filler)
    }
}

/// A year at `i` (1990–2099, four digits), with `年` or `年度` after it taken along; the reader
/// checks it is not inside a longer number or model.
fn year_at(chars: &[char], i: usize) -> Option<(usize, String)> {
    let digits: String = chars.get(i..i + 4)?.iter().collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: u32 = digits.parse().ok()?;
    if !(1990..=2099).contains(&year) {
        return None;
    }
    let mut len = 4;
    if chars.get(i + 4) == Some(&'年') {
        len += 1;
        if chars.get(i + 5) == Some(&'度') {
            len += 1;
        }
    }
    Some((len, digits))
}

/// How much of a folded query a folded name holds: `None` when too little; else a score in
/// (0, 1], higher the more of the query and of the name is shared. Most of the query's
/// characters must be in the name in order (电水壶 in 电热水壶, 一次性餐具 in 塑料一次性餐饮具),
/// or all of them in any order with a pair of them side by side (水壶电热), or, in a name of the
/// same length, all but one with a pair side by side (吹风鸡 for 吹风机: one character mistyped).
pub(crate) fn partial(query: &str, name: &str) -> Option<f64> {
    let q: Vec<char> = query.chars().filter(|c| c.is_alphanumeric()).collect();
    let m: Vec<char> = name.chars().filter(|c| c.is_alphanumeric()).collect();
    if q.len() < 2 || m.is_empty() || q == m {
        return None;
    }
    // Longest common subsequence.
    let mut prev = vec![0usize; m.len() + 1];
    for a in &q {
        let mut cur = vec![0usize; m.len() + 1];
        for (j, b) in m.iter().enumerate() {
            cur[j + 1] = if a == b {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        prev = cur;
    }
    let lcs = prev[m.len()];
    let mut pool = m.clone();
    let mut bag = 0;
    for c in &q {
        if let Some(k) = pool.iter().position(|x| x == c) {
            pool.swap_remove(k);
            bag += 1;
        }
    }
    let pair = q.windows(2).any(|w| m.windows(2).any(|v| v == w));
    let need = (q.len() * 3).div_ceil(4);
    let ok = lcs >= need.max(2)
        || (bag == q.len() && pair)
        || (q.len() >= 3 && m.len() == q.len() && lcs + 1 >= q.len() && pair);
    if !ok {
        return None;
    }
    let shared = lcs.max(bag) as f64;
    Some(0.7 * shared / q.len() as f64 + 0.3 * shared / m.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> &'static Lexicon {
        Lexicon::of(&Catalog::builtin().expect("catalog"))
    }

    fn roles(q: &str) -> Vec<(String, &'static str, Option<String>)> {
        lexicon()
            .read(q, &["电热水壶", "烧结砖"])
            .into_iter()
            .map(|p| (p.text, p.role.name(), p.value))
            .collect()
    }

    #[test]
    fn a_question_reads_as_a_product_and_filters() {
        let r = roles("2023 广东 电热水壶 不合格");
        assert_eq!(
            r,
            vec![
                ("2023".into(), "plan_year", Some("2023".into())),
                ("广东".into(), "enterprise_province", Some("广东省".into())),
                ("电热水壶".into(), "product", None),
                ("不合格".into(), "result", Some("fail".into())),
            ]
        );
        // Run together, with filler and a city.
        let r = roles("深圳的电水壶质量怎么样");
        assert_eq!(
            r[0],
            ("深圳".into(), "enterprise_province", Some("广东省".into()))
        );
        assert_eq!(r[1], ("的".into(), "words", None));
        assert_eq!(r[2], ("电水壶".into(), "product", None));
        assert_eq!(r[3], ("质量怎么样".into(), "words", None));
        // A product of the snapshot that the thesaurus does not know.
        assert_eq!(roles("烧结砖 国抽")[0].1, "product");
        assert_eq!(roles("烧结砖 国抽")[1].2.as_deref(), Some("national"));
    }

    #[test]
    fn english_words_stop_at_word_edges() {
        let r = roles("electric kettle failed 2022");
        assert_eq!(r[0], ("electrickettle".into(), "product", None));
        assert_eq!(r[1].2.as_deref(), Some("fail"));
        assert_eq!(r[2].2.as_deref(), Some("2022"));
        // A model number is not a year, `pass` inside a word is not a result.
        assert_eq!(roles("KJ2023")[0].1, "words");
        assert_eq!(roles("passat")[0].1, "words");
    }

    #[test]
    fn filler_is_set_aside() {
        let (kept, filler) = lexicon().unfill("美的质量怎么样");
        assert_eq!(kept, vec!["美".to_owned()]);
        assert_eq!(filler, vec!["的", "质量", "怎么样"]);
    }

    #[test]
    fn partial_names_match_in_order_or_reordered() {
        assert!(partial("电水壶", "电热水壶").is_some());
        assert!(partial("一次性餐具", "塑料一次性餐饮具").is_some());
        assert!(partial("食品包装纸", "食品包装用纸和纸板材料").is_some());
        assert!(partial("水壶电热", "电热水壶").is_some());
        assert!(partial("吹风鸡", "吹风机").is_some());
        assert!(partial("电水壶", "储水式电热水器").is_none());
        assert!(partial("热水器", "电热水壶").is_none());
        // The closer name scores higher.
        let a = partial("电水壶", "电热水壶").unwrap_or(0.0);
        let b = partial("电热水", "储水式电热水器").unwrap_or(0.0);
        assert!(a > b, "{a} {b}");
    }

    #[test]
    fn words_that_sound_alike_find_the_product() {
        let lex = lexicon();
        let kettle = lex
            .names
            .iter()
            .position(|n| n == "电热水壶")
            .expect("kettle");
        assert!(lex.sounding("电热水胡").contains(&(kettle as u16)));
        let dryer = lex.names.iter().position(|n| n == "电吹风").expect("dryer");
        assert!(lex.sounding("吹风鸡").contains(&(dryer as u16)));
    }
}
