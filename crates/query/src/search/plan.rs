//! From a query to what to search: the terms whose values select rows, the filters its words
//! mean, and how it was read (`understood`), or what it may have meant when nothing matched.

use super::understand::{Lexicon, Part, Role, partial, spoken};
use super::*;
use crate::answers::{QueryPart, Suggestion, Understood};

/// Names a partial match keeps at most, and how far below the best one they may score.
const PARTIAL_NAMES: usize = 6;
const PARTIAL_MARGIN: f64 = 0.25;
/// What a partial match gains when its name also sounds like the word.
const SOUND_BONUS: f64 = 0.2;

/// Suggestions when nothing matched.
const SUGGESTIONS: usize = 5;

/// What a query searches.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Each term's matched values (every term must hold a row).
    pub terms: Vec<Vec<Hit>>,
    /// The query's parts as read.
    pub parts: Vec<QueryPart>,
    /// Words no value matched: the search selects nothing.
    pub unmatched: Vec<String>,
    /// The filters the query's words mean: (field, value).
    pub filters: Vec<(String, String)>,
    /// Official products the query's product words mean.
    pub products: Vec<String>,
}

impl Plan {
    /// Whether the query selects nothing (a word matched nothing, or nothing is left to
    /// search or filter by).
    pub fn selects_nothing(&self) -> bool {
        !self.unmatched.is_empty() || (self.terms.is_empty() && self.filters.is_empty())
    }

    /// What the answer says it understood.
    pub fn understood(&self) -> Understood {
        let filter = |field: &str| {
            self.filters
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| v.clone())
        };
        Understood {
            product: (self.products.len() == 1).then(|| self.products[0].clone()),
            products: self.products.clone(),
            result: filter("result"),
            plan_year: filter("plan_year").and_then(|y| y.parse().ok()),
            enterprise_province: filter("enterprise_province"),
            check_level: filter("check_level"),
            parts: self.parts.clone(),
        }
    }
}

/// The official products (as the snapshot publishes them, else as the thesaurus names them)
/// that a folded product word means.
fn products_meant(index: &SearchIndex, lex: &Lexicon, word: &str) -> Vec<String> {
    let mut out: Vec<String> = lex
        .meant(word)
        .iter()
        .filter_map(|&i| lex.names.get(i as usize).cloned())
        .collect();
    if out.is_empty() {
        let product = index
            .entries_of(SearchField::Product)
            .find(|&e| index.folded(e) == word);
        if let Some(e) = product {
            out.push(index.value(e).to_owned());
        }
    }
    out
}

/// The values a word matches as typed (or through the thesaurus).
fn as_typed(index: &SearchIndex, lex: &Lexicon, word: &str) -> Vec<Hit> {
    index.find(word, &lex.names_of(word))
}

/// The product entries (of `products`) whose value holds the official name of thesaurus
/// product `o`.
fn named(index: &SearchIndex, lex: &Lexicon, products: &[u32], o: u16) -> Vec<u32> {
    let Some(name) = lex.names.get(o as usize).map(|n| fold(n)) else {
        return Vec::new();
    };
    products
        .iter()
        .copied()
        .filter(|&e| index.folded(e).contains(name.as_str()))
        .collect()
}

/// Product values close to a word that matches nothing as typed: names holding most of its
/// characters (the snapshot's product names and the thesaurus' words), else names that sound
/// like it. Closest first, graded.
fn forgiving(index: &SearchIndex, lex: &Lexicon, word: &str) -> Vec<Hit> {
    let products: Vec<u32> = index.entries_of(SearchField::Product).collect();
    // Per product entry, its best score.
    let mut best: Vec<(u32, f64)> = Vec::new();
    let add = |e: u32, s: f64, best: &mut Vec<(u32, f64)>| match best.iter_mut().find(|b| b.0 == e)
    {
        Some(b) => b.1 = b.1.max(s),
        None => best.push((e, s)),
    };
    // A name that also sounds like the word is the likelier one (电热水胡: 电热水壶, not
    // 电热水器).
    let said = spoken(word);
    let sounding = |name: &str| {
        if said.is_some() && spoken(name) == said {
            SOUND_BONUS
        } else {
            0.0
        }
    };
    for &e in &products {
        if let Some(s) = partial(word, index.folded(e)) {
            add(e, s + sounding(index.folded(e)), &mut best);
        }
    }
    for (w, owners) in lex.words() {
        let Some(s) = partial(word, w).map(|s| s + sounding(w)) else {
            continue;
        };
        for &o in owners {
            for e in named(index, lex, &products, o) {
                add(e, s, &mut best);
            }
        }
    }
    let kind = if best.is_empty() {
        // By sound: the thesaurus' words, then the snapshot's names by their readings.
        for o in lex.sounding(word) {
            for e in named(index, lex, &products, o) {
                add(e, 1.0, &mut best);
            }
        }
        if let Some(said) = &said {
            for (e, kind) in index.matches(said, &[SearchField::Product], &[]) {
                // The whole name: a few syllables inside a long name say too little.
                if kind == MatchKind::Pinyin {
                    add(e, 1.0, &mut best);
                }
            }
        }
        MatchKind::Sounds
    } else {
        MatchKind::Partial
    };
    best.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(index.batches(b.0).cmp(&index.batches(a.0)))
            .then(a.0.cmp(&b.0))
    });
    let top = best.first().map_or(0.0, |b| b.1);
    best.retain(|b| b.1 >= top - PARTIAL_MARGIN);
    best.truncate(PARTIAL_NAMES);
    let mut grade = 0u8;
    let mut last = top;
    best.into_iter()
        .map(|(e, s)| {
            if s < last {
                grade = grade.saturating_add(1).min(7);
                last = s;
            }
            Hit {
                entry: e,
                field: SearchField::Product,
                value: index.value(e).to_owned(),
                kind,
                grade,
                score: kind.base() * s,
                batches: index.batches(e),
            }
        })
        .collect()
}

fn part(text: &str, role: Role, value: Option<String>) -> QueryPart {
    QueryPart {
        text: text.to_owned(),
        role: role.name().to_owned(),
        value,
    }
}

/// Reads a query (`folded` is its folded form) into what to search.
pub(super) fn plan(index: &SearchIndex, lex: &Lexicon, q: &str, folded: &str) -> Plan {
    let mut plan = Plan::default();
    // As typed first: a name, a model, a thesaurus word.
    let hits = as_typed(index, lex, folded);
    if !hits.is_empty() {
        plan.products = products_meant(index, lex, folded);
        let role = if plan.products.is_empty() {
            Role::Words
        } else {
            Role::Product
        };
        let value = (role == Role::Product).then(|| plan.products.join("、"));
        plan.parts.push(part(folded, role, value));
        plan.terms.push(hits);
        return plan;
    }
    let product_names: Vec<&str> = index
        .entries_of(SearchField::Product)
        .map(|e| index.folded(e))
        .collect();
    for Part { text, role, value } in lex.read(q, &product_names) {
        match role {
            Role::Product => {
                let meant = products_meant(index, lex, &text);
                let hits = as_typed(index, lex, &text);
                plan.parts.push(part(
                    &text,
                    role,
                    Some(meant.join("、")).filter(|m| !m.is_empty()),
                ));
                for m in meant {
                    if !plan.products.contains(&m) {
                        plan.products.push(m);
                    }
                }
                if hits.is_empty() {
                    plan.unmatched.push(text);
                } else {
                    plan.terms.push(hits);
                }
            }
            Role::Words => {
                // As typed, then without filler at its edges (美的质量怎么样 → 美的), longest
                // first; filler alone is not searched (质量 would match every agency).
                let mut cur = text.clone();
                let mut edges = Vec::new();
                let mut found = None;
                loop {
                    let (core, _) = lex.unfill(&cur);
                    if cur.chars().count() > 1 && !core.is_empty() {
                        let hits = as_typed(index, lex, &cur);
                        if !hits.is_empty() {
                            found = Some((cur.clone(), hits));
                            break;
                        }
                    }
                    match lex.strip_edge(&cur) {
                        Some((rest, f)) => {
                            edges.push(f);
                            cur = rest;
                        }
                        None => break,
                    }
                }
                if let Some((word, hits)) = found {
                    for f in edges {
                        plan.parts.push(part(&f, Role::Ignored, None));
                    }
                    plan.parts.push(part(&word, Role::Words, None));
                    plan.terms.push(hits);
                    continue;
                }
                let (kept, filler) = lex.unfill(&text);
                for f in filler {
                    plan.parts.push(part(&f, Role::Ignored, None));
                }
                for word in kept {
                    // A lone character left over says too little to search by.
                    if word.chars().count() < 2 {
                        plan.parts.push(part(&word, Role::Ignored, None));
                        continue;
                    }
                    let mut hits = as_typed(index, lex, &word);
                    if hits.is_empty() {
                        hits = forgiving(index, lex, &word);
                    }
                    if hits.is_empty() {
                        plan.parts.push(part(&word, Role::Words, None));
                        plan.unmatched.push(word);
                    } else {
                        let meant: Vec<String> = hits
                            .iter()
                            .filter(|h| matches!(h.kind, MatchKind::Partial | MatchKind::Sounds))
                            .map(|h| h.value.clone())
                            .collect();
                        if meant.is_empty() {
                            plan.parts.push(part(&word, Role::Words, None));
                        } else {
                            plan.parts
                                .push(part(&word, Role::Product, Some(meant.join("、"))));
                            for m in meant {
                                if !plan.products.contains(&m) {
                                    plan.products.push(m);
                                }
                            }
                        }
                        plan.terms.push(hits);
                    }
                }
            }
            Role::Ignored => plan.parts.push(part(&text, role, None)),
            Role::Result | Role::Year | Role::Province | Role::Level => {
                let field = role.name().to_owned();
                if let Some(v) = value {
                    // The first word for a field wins.
                    if !plan.filters.iter().any(|(f, _)| *f == field) {
                        plan.filters.push((field, v.clone()));
                    }
                    plan.parts.push(part(&text, role, Some(v)));
                }
            }
        }
    }
    plan
}

/// What a query that selected nothing may have meant: the products closest to its words (by
/// their characters, then their sound), that the snapshot has rows of.
pub(super) fn suggest(index: &SearchIndex, lex: &Lexicon, words: &[String]) -> Vec<Suggestion> {
    let products: Vec<u32> = index.entries_of(SearchField::Product).collect();
    let mut scored: Vec<(u32, f64)> = Vec::new();
    for word in words {
        let q: Vec<char> = word.chars().collect();
        let said = spoken(word);
        let mut score_name = |name: &str, e: u32| {
            let m: Vec<char> = name.chars().collect();
            let shared = q.iter().filter(|c| m.contains(c)).count();
            let mut s = shared as f64 / q.len().max(1) as f64 * 0.6
                + shared as f64 / m.len().max(1) as f64 * 0.4;
            if let (Some(a), Some(b)) = (&said, spoken(name))
                && (b.contains(a.as_str()) || a.contains(b.as_str()))
            {
                s = s.max(0.9);
            }
            if s >= 0.3 {
                match scored.iter_mut().find(|x| x.0 == e) {
                    Some(x) => x.1 = x.1.max(s),
                    None => scored.push((e, s)),
                }
            }
        };
        for &e in &products {
            score_name(index.folded(e), e);
        }
        for (w, owners) in lex.words() {
            for &o in owners {
                let Some(name) = lex.names.get(o as usize).map(|n| fold(n)) else {
                    continue;
                };
                if let Some(&e) = products.iter().find(|&&e| index.folded(e) == name) {
                    score_name(w, e);
                }
            }
        }
    }
    scored.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(index.batches(b.0).cmp(&index.batches(a.0)))
            .then(a.0.cmp(&b.0))
    });
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(e, _)| Suggestion {
            q: index.value(e).to_owned(),
            batches: index.batches(e),
        })
        .collect()
}
