use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use zhijian_catalog::{Catalog, FieldType};

use crate::shared::{corpus, data_rows};

/// Every published row of every resource that is not a spot check, with its schema.
fn registers() -> Vec<(String, &'static zhijian_catalog::TableSchema, Vec<Value>)> {
    let catalog: &'static Catalog = Box::leak(Box::new(Catalog::builtin().expect("catalog")));
    let c = corpus();
    catalog
        .resources
        .iter()
        .filter(|r| !r.spot_check)
        .map(|r| {
            (
                r.id.clone(),
                catalog.schema_of(r).expect("schema"),
                data_rows(&c.truth, &r.id),
            )
        })
        .collect()
}

fn s<'a>(row: &'a Value, field: &str) -> Option<&'a str> {
    row[field].as_str()
}

fn n(row: &Value, field: &str) -> Option<f64> {
    row[field].as_f64()
}

fn cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn no_value_is_a_column_label_with_a_counter() {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for (id, schema, rows) in registers() {
        assert!(!rows.is_empty(), "{id} has rows");
        for row in &rows {
            for f in schema
                .fields
                .iter()
                .filter(|f| f.field_type == FieldType::String)
            {
                let Some(v) = s(row, &f.name) else { continue };
                let rest = v.strip_prefix(f.title.as_str()).unwrap_or(v);
                let labelled = rest.len() < v.len()
                    && !rest.is_empty()
                    && rest.chars().all(|c| c.is_ascii_digit());
                if labelled {
                    found.insert(format!("{id}.{}", f.name), v.to_owned());
                }
            }
        }
    }
    assert!(found.is_empty(), "placeholder values: {found:#?}");
}

#[test]
fn keys_are_unique_within_each_register() {
    for (id, schema, rows) in registers() {
        let keys: Vec<&str> = schema
            .primary_key
            .iter()
            .map(String::as_str)
            .filter(|k| *k != "record_id")
            .collect();
        if keys.is_empty() {
            continue;
        }
        let mut seen = HashSet::new();
        for row in &rows {
            let key: Vec<String> = keys.iter().map(|k| row[*k].to_string()).collect();
            assert!(seen.insert(key.clone()), "{id}: key {key:?} repeats");
        }
    }
}

/// Names of institutions that keep standards, run committees or are listed as public bodies
/// are institutions' names (an institute, a centre, an association, a certification or
/// testing body), never a shop or a producer from the spot-check pools.
#[test]
fn institutions_are_institutions_and_foreign_producers_are_foreign() {
    let institutional: &[(&str, &str)] = &[
        ("C1-01", "custodian"),
        ("C1-04", "producer"),
        ("D1-05", "producer"),
        ("D3-01", "secretariat"),
        ("D3-02", "secretariat"),
        ("D3-03", "counterpart"),
        ("C3-01", "institute"),
        ("F1-03", "centre"),
        ("E1-03", "body"),
    ];
    let institution = ["院", "所", "中心", "会", "局", "站", "认证", "检测", "检验"];
    let foreign: &[(&str, &str, &str)] = &[
        ("F3-01", "origin_country", "producer"),
        ("F3-02", "origin_country", "producer"),
        ("E4-02", "country", "enterprise"),
        ("C2-02", "origin_country", "manufacturer"),
        ("B2-04", "origin_country", "manufacturer"),
    ];
    let mut bad = Vec::new();
    for (id, _, rows) in registers() {
        for row in &rows {
            for (_, field) in institutional.iter().filter(|(r, _)| *r == id) {
                if let Some(name) = s(row, field)
                    && (!institution.iter().any(|w| name.contains(w))
                        || name.ends_with("商行")
                        || name.ends_with("经营部")
                        || name.ends_with('厂'))
                {
                    bad.push(format!("{id}.{field} = {name}"));
                }
            }
            for (_, country, producer) in foreign.iter().filter(|(r, _, _)| *r == id) {
                if let (Some(c), Some(p)) = (s(row, country), s(row, producer))
                    && c != "中国"
                    && cjk(p)
                {
                    bad.push(format!("{id}: {p} from {c}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{:#?}", &bad[..bad.len().min(20)]);
}

/// HS codes belong to the product's chapter: foods in 01–24, cosmetics in 33–34,
/// manufactured goods from 39 on.
#[test]
fn hs_codes_agree_with_the_product() {
    for (id, _, rows) in registers() {
        let chapters = match id.as_str() {
            "F3-01" => 1..=24,
            "F3-02" => 33..=34,
            "F4-01" => 39..=97,
            _ => continue,
        };
        for row in &rows {
            if let Some(hs) = s(row, "hs_code") {
                let chapter: u32 = hs[..2].parse().expect("two-digit chapter");
                assert!(
                    chapters.contains(&chapter),
                    "{id}: {} has HS {hs}",
                    row["product"]
                );
            }
        }
    }
}

#[test]
fn dates_come_in_their_order_and_parts_add_up() {
    let mut bad = Vec::new();
    let before = |row: &Value, a: &str, b: &str| match (s(row, a), s(row, b)) {
        (Some(x), Some(y)) => x <= y,
        _ => true,
    };
    let at_most = |row: &Value, a: &str, b: &str| match (n(row, a), n(row, b)) {
        (Some(x), Some(y)) => x <= y,
        _ => true,
    };
    for (id, _, rows) in registers() {
        for row in &rows {
            for (a, b) in [
                ("issued_on", "valid_until"),
                ("registered_on", "valid_until"),
                ("production_start", "production_end"),
                ("production_end", "published_on"),
                ("published_on", "recall_start"),
                ("published_on", "effective_on"),
                ("notified_on", "comment_deadline"),
                ("notice_on", "effective_on"),
            ] {
                if !before(row, a, b) {
                    bad.push(format!("{id}: {a} {} after {b} {}", row[a], row[b]));
                }
            }
            for (a, b) in [
                ("passed_batches", "batches"),
                ("failed_batches", "batches"),
                ("problem_samples", "samples"),
                ("abnormal", "examined"),
                ("instruments_failed", "instruments_checked"),
                ("entrapments", "calls"),
                ("failed_batches_10k", "batches_10k"),
            ] {
                if !at_most(row, a, b) {
                    bad.push(format!("{id}: {a} {} exceeds {b} {}", row[a], row[b]));
                }
            }
            if let (Some(r), Some(c), Some(p), Some(e)) = (
                n(row, "received"),
                n(row, "complaints"),
                n(row, "reports"),
                n(row, "enquiries"),
            ) && (r - (c + p + e)).abs() > 0.5
            {
                bad.push(format!("{id}: received {r} is not {c} + {p} + {e}"));
            }
        }
    }
    assert!(bad.is_empty(), "{:#?}", &bad[..bad.len().min(20)]);
}
