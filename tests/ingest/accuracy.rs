use std::collections::BTreeMap;

use serde_json::Value;
use zhijian_catalog::Catalog;
use zhijian_ingest::layout::detect;
use zhijian_ingest::normalize::{Outcome, Publication, SpotChecks, Typed};
use zhijian_ingest::read::read_file;

use crate::{attachments, corpus, truth_of};

#[test]
fn spot_check_rows_match_the_truth() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let schema = catalog.schema("spot_checks").expect("schema");
    let (mut truth_rows, mut published, mut bad_published, mut fields, mut agree) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut per_field: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut compared: BTreeMap<String, u64> = BTreeMap::new();
    let mut missed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    // Pages whose header and cells are joined by `rowspan`/`colspan` and end in empty cells:
    // (truth rows, published, wrong fields with an example).
    let mut spanned = (0usize, 0usize, Vec::<String>::new());
    for a in attachments() {
        let source = a["source_file"].as_str().expect("source");
        let is_spanned = a["layout"] == "H12" && source.ends_with(".html");
        let mut parts = source.splitn(3, '/');
        let (resource, publication, file) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if !catalog.resource(resource).is_ok_and(|r| r.spot_check) {
            continue;
        }
        let toml = std::fs::read_to_string(
            c.raw
                .join(resource)
                .join(publication)
                .join("publication.toml"),
        )
        .expect("toml");
        let publication =
            Publication::parse(resource, publication, &toml).expect("publication.toml parses");
        let truth = truth_of(source);
        let read = read_file(&c.raw.join(source)).expect("reads");
        let normalizer = SpotChecks::new(schema, &publication, file);
        for table in &read.tables {
            let layout = detect(table, schema).expect("layout");
            let outcomes = normalizer.rows(&table.rows, &layout);
            for (row, outcome) in table.rows.iter().zip(outcomes) {
                let Some(t) = truth.get(&(table.sheet.clone(), u64::from(row.number))) else {
                    continue;
                };
                match (t["kind"].as_str(), &outcome) {
                    (Some("data"), Outcome::Row(ours)) => {
                        truth_rows += 1;
                        published += 1;
                        if is_spanned {
                            spanned.0 += 1;
                            spanned.1 += 1;
                            for (k, want) in t["row"].as_object().into_iter().flatten() {
                                let got = ours.get(k).cloned().unwrap_or(Value::Null);
                                if !k.starts_with("source_") && &got != want {
                                    spanned.2.push(format!(
                                        "{source}:{} {k} want {want} got {got}",
                                        row.number
                                    ));
                                }
                            }
                        }
                        for (k, want) in t["row"].as_object().into_iter().flatten() {
                            if k.starts_with("source_") {
                                continue;
                            }
                            fields += 1;
                            *compared.entry(k.clone()).or_default() += 1;
                            let got = ours.get(k).cloned().unwrap_or(Value::Null);
                            if &got == want {
                                agree += 1;
                            } else {
                                let e = per_field.entry(k.clone()).or_default();
                                e.0 += 1;
                                e.1 = format!("{source}:{} want {want} got {got}", row.number);
                            }
                        }
                    }
                    (Some("data"), other) => {
                        truth_rows += 1;
                        spanned.0 += usize::from(is_spanned);
                        let e = missed
                            .entry(format!("{:?}", std::mem::discriminant(other)))
                            .or_default();
                        e.0 += 1;
                        e.1 = format!("{source}:{} {other:?} {:?}", row.number, row.cells);
                    }
                    (Some("reject"), Outcome::Row(_)) => {
                        bad_published += 1;
                        println!(
                            "published a must-reject row: {source}:{} {} {:?}",
                            row.number, t["reason"], row.cells
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    let pub_rate = published as f64 / truth_rows.max(1) as f64;
    let field_rate = agree as f64 / fields.max(1) as f64;
    println!(
        "spot checks: published {published} of {truth_rows} truth rows ({:.3}%), must-reject rows published: {bad_published}, field agreement {:.3}% of {fields}",
        100.0 * pub_rate,
        100.0 * field_rate
    );
    println!("disagreements by field: {per_field:#?}");
    println!("truth rows not published: {missed:#?}");
    assert!(pub_rate >= 0.995, "published {pub_rate:.4}");
    // Spans laid out again put every cell of every row under its header: all rows, all fields.
    println!(
        "spanned HTML: published {} of {} truth rows",
        spanned.1, spanned.0
    );
    assert!(spanned.0 > 0, "no HTML page with spans in the corpus");
    assert_eq!(spanned.0, spanned.1, "rows of spanned pages not published");
    assert!(spanned.2.is_empty(), "spanned pages: {:#?}", spanned.2);
    assert_eq!(bad_published, 0, "must-reject rows were published");
    assert!(
        field_rate >= 0.995,
        "field agreement {field_rate:.4}: {per_field:#?}"
    );
    // Every field on its own, not only the mean: a field wrong in one row of a hundred is a
    // field a researcher cannot use.
    for (field, n) in &compared {
        let wrong = per_field.get(field).map_or(0, |e| e.0);
        let rate = 1.0 - wrong as f64 / *n as f64;
        assert!(
            rate >= 0.99,
            "{field}: {rate:.4} of {n} rows agree: {per_field:#?}"
        );
    }
}

#[test]
fn rows_of_the_other_resources_match_the_truth() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let (mut truth_rows, mut published, mut bad_published, mut fields, mut agree) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut per_field: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut missed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for a in attachments() {
        let source = a["source_file"].as_str().expect("source");
        let mut parts = source.splitn(3, '/');
        let (resource, publication) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let r = catalog.resource(resource).expect("resource");
        if r.spot_check {
            continue;
        }
        let schema = catalog.schema_of(r).expect("schema");
        let toml = std::fs::read_to_string(
            c.raw
                .join(resource)
                .join(publication)
                .join("publication.toml"),
        )
        .expect("toml");
        let publication =
            Publication::parse(resource, publication, &toml).expect("publication.toml parses");
        let truth = truth_of(source);
        let read = read_file(&c.raw.join(source)).expect("reads");
        let normalizer = Typed::new(schema, &publication);
        for table in &read.tables {
            let layout = detect(table, schema).expect("layout");
            for (row, outcome) in table.rows.iter().zip(normalizer.rows(&table.rows, &layout)) {
                let Some(t) = truth.get(&(table.sheet.clone(), u64::from(row.number))) else {
                    continue;
                };
                match (t["kind"].as_str(), &outcome) {
                    (Some("data"), Outcome::Row(ours)) => {
                        truth_rows += 1;
                        published += 1;
                        for (k, want) in t["row"].as_object().into_iter().flatten() {
                            if k.starts_with("source_") {
                                continue;
                            }
                            fields += 1;
                            let got = ours.get(k).cloned().unwrap_or(Value::Null);
                            let same = &got == want
                                || matches!((got.as_f64(), want.as_f64()), (Some(x), Some(y)) if (x - y).abs() < 1e-9);
                            if same {
                                agree += 1;
                            } else {
                                let e = per_field.entry(format!("{resource}.{k}")).or_default();
                                e.0 += 1;
                                e.1 = format!("{source}:{} want {want} got {got}", row.number);
                            }
                        }
                    }
                    (Some("data"), other) => {
                        truth_rows += 1;
                        let e = missed.entry(resource.to_owned()).or_default();
                        e.0 += 1;
                        e.1 = format!("{source}:{} {other:?} {:?}", row.number, row.cells);
                    }
                    // Duplicate keys are decided over the whole resource (the pipeline's
                    // rule, tested below), not by the normalizer of one table.
                    (Some("reject"), Outcome::Row(_)) if t["reason"] != "duplicate_key" => {
                        bad_published += 1
                    }
                    _ => {}
                }
            }
        }
    }
    let pub_rate = published as f64 / truth_rows.max(1) as f64;
    let field_rate = agree as f64 / fields.max(1) as f64;
    println!(
        "other resources: published {published} of {truth_rows} truth rows ({:.3}%), must-reject rows published: {bad_published}, field agreement {:.3}% of {fields}",
        100.0 * pub_rate,
        100.0 * field_rate
    );
    println!("disagreements: {per_field:#?}\nnot published: {missed:#?}");
    assert!(pub_rate >= 0.995, "published {pub_rate:.4}: {missed:#?}");
    assert_eq!(bad_published, 0, "must-reject rows were published");
    assert!(
        field_rate >= 0.99,
        "field agreement {field_rate:.4}: {per_field:#?}"
    );
}

#[test]
fn repeated_keys_are_rejected_where_the_truth_says_and_published_keys_are_unique() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let ingested = zhijian_ingest::pipeline::ingest(&c.raw, &catalog, &[], &|_, _| {});
    let mut want = std::collections::BTreeSet::new();
    for a in attachments() {
        let source = a["source_file"].as_str().expect("source");
        for ((sheet, row), t) in truth_of(source) {
            if t["kind"] == "reject" && t["reason"] == "duplicate_key" {
                want.insert((source.to_owned(), sheet, row));
            }
        }
    }
    let got: std::collections::BTreeSet<(String, Option<String>, u64)> = ingested
        .resources
        .values()
        .flat_map(|r| &r.rejects)
        .filter(|r| r.reason == "duplicate_key")
        .map(|r| {
            (
                r.source_file.clone(),
                r.source_sheet.clone(),
                u64::from(r.source_row),
            )
        })
        .collect();
    assert!(
        want.len() >= 5,
        "the corpus lists some keys twice: {want:?}"
    );
    assert_eq!(got, want, "rows rejected as duplicate keys");
    for (id, r) in &ingested.resources {
        let schema = catalog
            .schema_of(catalog.resource(id).expect("resource"))
            .expect("schema");
        if zhijian_ingest::pipeline::key_fields(schema).is_empty() {
            continue;
        }
        assert_eq!(r.keys.len(), r.row_count(), "{id}: a key per published row");
        let distinct: std::collections::HashSet<&str> =
            r.keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(distinct.len(), r.keys.len(), "{id}: published keys repeat");
    }
}
