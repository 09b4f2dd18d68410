//! Search recall on a held-out query set labelled from the generator's truth: the values the
//! generator wrote into the spot-check rows (its truth files, not the search code, nor SQL on
//! the served data) say what each query must find, and how many rows hold it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use zhijian_tests::url_encode as enc;

use crate::{Served, served};

/// The searched fields a query is labelled for.
const FIELDS: &[&str] = &[
    "product",
    "enterprise",
    "brand",
    "model_spec",
    "inspection_agency",
];

/// Rows per (field, value) in the truth's data rows of the spot-check resources (the truth
/// mirrors the raw layout: `<resource>/<publication>/<attachment>.ndjson`).
fn truth_counts(truth: &Path) -> BTreeMap<(String, String), u64> {
    let catalog = zhijian_catalog::Catalog::builtin().expect("catalog");
    let mut counts = BTreeMap::new();
    let mut stack: Vec<std::path::PathBuf> = catalog
        .resources
        .iter()
        .filter(|r| r.spot_check)
        .map(|r| truth.join(&r.id))
        .filter(|dir| dir.is_dir())
        .collect();
    assert!(!stack.is_empty(), "no spot-check resource in the truth");
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("truth directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "ndjson") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("truth file");
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).expect("truth line");
                if v["kind"] != "data" {
                    continue;
                }
                for f in FIELDS {
                    if let Some(value) = v["row"][f].as_str().filter(|s| !s.trim().is_empty()) {
                        *counts
                            .entry(((*f).to_owned(), value.to_owned()))
                            .or_insert(0) += 1;
                    }
                }
            }
        }
    }
    counts
}

/// The held-out values: a fixed sample of each field's values (every 13th, by value), at most
/// 25 per field.
fn held_out(counts: &BTreeMap<(String, String), u64>) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for f in FIELDS {
        out.extend(
            counts
                .iter()
                .filter(|((field, _), _)| field == f)
                .step_by(13)
                .take(25)
                .map(|((field, value), n)| (field.clone(), value.clone(), *n)),
        );
    }
    out
}

/// Letters, digits and ASCII punctuation as full-width characters (as some publications print
/// model numbers).
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// Equal up to ASCII case and width: how the public types a published value.
fn same_text(a: &str, b: &str) -> bool {
    let norm = |t: &str| {
        t.chars()
            .map(|c| match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .flat_map(char::to_lowercase)
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
    };
    norm(a) == norm(b)
}

/// Whether a search for `q` lists the value among its matches in `field`, with at least the
/// rows the truth says hold it.
fn finds(s: &Served, q: &str, field: &str, value: &str, rows: u64) -> bool {
    let r = s.json(&format!("/api/v1/search?q={}&_limit=1", enc(q)));
    r["matches"].as_array().is_some_and(|m| {
        m.iter().any(|m| {
            m["field"] == field
                && m["value"].as_str().is_some_and(|v| same_text(v, value))
                && m["batches"].as_u64() >= Some(rows)
        })
    })
}

/// A producer name without its company form, when enough is left to name it.
fn stem(name: &str) -> Option<&str> {
    ["股份有限公司", "有限责任公司", "有限公司"]
        .iter()
        .find_map(|form| name.strip_suffix(form))
        .filter(|s| s.chars().count() >= 4)
}

#[test]
fn search_finds_a_held_out_query_set_labelled_from_the_generators_truth() {
    let s = served();
    let counts = truth_counts(&s.truth);
    let held = held_out(&counts);
    assert!(held.len() >= 60, "a held-out set of {} values", held.len());
    // (kind, found, asked)
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    let mut score = |kind: &'static str, ok: bool, what: String| {
        let t = tally.entry(kind).or_insert((0, 0));
        t.1 += 1;
        if ok {
            t.0 += 1;
        } else {
            missed.push(format!("{kind}: {what}"));
        }
    };
    for (field, value, rows) in &held {
        // The value as published.
        score(
            "as published",
            finds(s, value, field, value, *rows),
            format!("{field}={value}"),
        );
        if field == "model_spec" && value.chars().any(|c| c.is_ascii_alphanumeric()) {
            // Full width, and lower case.
            let wide = full_width(value);
            score(
                "full width",
                finds(s, &wide, field, value, *rows),
                wide.clone(),
            );
            if value.chars().any(|c| c.is_ascii_uppercase()) {
                let lower = value.to_ascii_lowercase();
                score(
                    "lower case",
                    finds(s, &lower, field, value, *rows),
                    lower.clone(),
                );
            }
        }
        if field == "enterprise"
            && let Some(stem) = stem(value)
        {
            // The producer, by its name without the company form.
            let r = s.json(&format!("/api/v1/enterprises?q={}&_limit=100", enc(stem)));
            let named = r["enterprises"].as_array().is_some_and(|list| {
                list.iter().any(|e| {
                    e["names"].as_array().is_some_and(|names| {
                        names
                            .iter()
                            .any(|n| n["name"].as_str() == Some(value.as_str()))
                    })
                })
            });
            score("producer by stem", named, format!("{stem} → {value}"));
        }
    }
    eprintln!("held-out search queries (found, asked) by kind: {tally:?}; missed: {missed:?}");
    for (kind, (found, asked)) in &tally {
        assert!(
            *found as f64 >= 0.95 * *asked as f64,
            "{kind}: {found} of {asked} found; missed: {missed:?}"
        );
    }
    assert!(tally.len() >= 3, "{tally:?}");
}
