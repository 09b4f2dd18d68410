use std::collections::BTreeMap;

use serde_json::Value;
use zhijian_catalog::{Catalog, FieldType, TableSchema};

use crate::shared::{attachments, corpus, files};

/// Checks one canonical value against its field; returns what is wrong.
fn check(schema: &TableSchema, name: &str, value: &Value) -> Result<(), String> {
    let field = schema
        .field(name)
        .ok_or_else(|| format!("`{name}` is not a field of the schema"))?;
    let c = &field.constraints;
    if value.is_null() {
        return if c.required {
            Err(format!("`{name}` is required"))
        } else {
            Ok(())
        };
    }
    let ok = match field.field_type {
        FieldType::String => value.is_string(),
        FieldType::Integer | FieldType::Year => value.is_i64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Date => value.as_str().is_some_and(|s| {
            let p: Vec<&str> = s.split('-').collect();
            p.len() == 3 && p[0].len() == 4 && p[1].len() == 2 && p[2].len() == 2 && {
                let (y, m, d): (i32, u32, u32) = (
                    p[0].parse().unwrap_or(0),
                    p[1].parse().unwrap_or(0),
                    p[2].parse().unwrap_or(0),
                );
                let days = match m {
                    2 if y % 4 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                (1..=12).contains(&m) && (1..=days).contains(&d)
            }
        }),
        FieldType::List => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        FieldType::Datetime => value.is_string(),
    };
    if !ok {
        return Err(format!(
            "`{name}` = {value} is not a {}",
            field.field_type.as_str()
        ));
    }
    if let Some(values) = &c.enum_values {
        let items: Vec<&Value> = match value.as_array() {
            Some(a) => a.iter().collect(),
            None => vec![value],
        };
        if field.field_type != FieldType::List && !items.iter().all(|v| values.contains(v)) {
            return Err(format!("`{name}` = {value} is not one of {values:?}"));
        }
    }
    if let (Some(p), Some(s)) = (&c.pattern, value.as_str()) {
        thread_local! {
            static CACHE: std::cell::RefCell<BTreeMap<String, regex::Regex>> = const { std::cell::RefCell::new(BTreeMap::new()) };
        }
        let matches = CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if !cache.contains_key(p) {
                let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
                cache.insert(p.clone(), re);
            }
            Ok::<bool, String>(cache[p].is_match(s))
        })?;
        if !matches {
            return Err(format!("`{name}` = {s:?} does not match {p}"));
        }
    }
    if let (Some(min), Some(v)) = (
        c.minimum.as_ref().and_then(serde_json::Number::as_f64),
        value.as_f64(),
    ) && v < min
    {
        return Err(format!("`{name}` = {v} is below {min}"));
    }
    if let (Some(max), Some(v)) = (
        c.maximum.as_ref().and_then(serde_json::Number::as_f64),
        value.as_f64(),
    ) && v > max
    {
        return Err(format!("`{name}` = {v} is above {max}"));
    }
    Ok(())
}

#[test]
fn every_truth_row_is_publishable_under_its_schema() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let mut problems: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut rows = 0;
    for r in &catalog.resources {
        let schema = catalog.schema_of(r).expect("schema");
        for line in crate::shared::truth_lines(&c.truth, &r.id) {
            if line["kind"] != "data" {
                continue;
            }
            rows += 1;
            let row = line["row"].as_object().expect("row object");
            for f in &schema.fields {
                if f.name != "record_id" && !row.contains_key(&f.name) {
                    let e = problems
                        .entry(format!("{}: `{}` missing", r.id, f.name))
                        .or_default();
                    e.0 += 1;
                }
            }
            for (k, v) in row {
                if let Err(why) = check(schema, k, v) {
                    let e = problems
                        .entry(format!(
                            "{}: {}",
                            r.id,
                            why.split(" = ").next().unwrap_or_default()
                        ))
                        .or_default();
                    e.0 += 1;
                    e.1 = why;
                }
            }
        }
    }
    assert!(rows > 100_000, "{rows}");
    assert!(
        problems.is_empty(),
        "{} kinds of problems, e.g. {problems:#?}",
        problems.len()
    );
}

#[test]
fn every_raw_row_is_accounted_for_exactly_once() {
    let c = corpus();
    let mut truth_files = 0;
    for a in attachments(&c.truth) {
        let source = a["source_file"].as_str().expect("source_file");
        let lines = std::fs::read_to_string(c.truth.join(format!("{source}.ndjson")))
            .expect("truth of the attachment");
        let mut seen = std::collections::BTreeSet::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for l in lines.lines() {
            let v: Value = serde_json::from_str(l).expect("json");
            assert_eq!(v["source_file"], source);
            let key = (
                v["source_sheet"].to_string(),
                v["source_row"].as_u64().expect("row number"),
            );
            assert!(
                key.1 >= 1 && seen.insert(key.clone()),
                "{source}: row {key:?} twice"
            );
            *counts
                .entry(v["kind"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
            match v["kind"].as_str() {
                Some("reject") => assert!(v["reason"].is_string() && v["field"].is_string(), "{v}"),
                Some("non_data") => assert!(
                    [
                        "title",
                        "header",
                        "section",
                        "footnote",
                        "blank",
                        "duplicate"
                    ]
                    .contains(&v["class"].as_str().unwrap_or_default()),
                    "{v}"
                ),
                Some("data") => assert_eq!(v["row"]["source_row"], v["source_row"]),
                other => panic!("unknown kind {other:?}"),
            }
        }
        for kind in ["data", "reject", "non_data"] {
            assert_eq!(
                counts.get(kind).copied().unwrap_or_default(),
                a["rows"][kind].as_u64().unwrap_or_default(),
                "{source} {kind}"
            );
        }
        truth_files += 1;
    }
    let raw_attachments = files(&c.raw)
        .into_iter()
        .filter(|p| !p.ends_with("publication.toml"))
        .count();
    assert_eq!(
        truth_files, raw_attachments,
        "every attachment has its truth"
    );
}

#[test]
fn must_reject_rows_of_every_kind_exist() {
    let c = corpus();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for resource in [
        "A1-02", "A2-01", "A1-03", "A2-03", "D1-01", "E1-01", "A4-01",
    ] {
        for l in crate::shared::truth_lines(&c.truth, resource) {
            if l["kind"] == "reject" {
                *reasons
                    .entry(l["reason"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
    }
    for r in ["unreadable_result", "ragged_row", "missing_required"] {
        assert!(reasons.contains_key(r), "no {r} rows: {reasons:?}");
    }
}

#[test]
fn csv_row_numbers_are_physical_lines() {
    // A header cell with a line break (H7 "检验\n结论") takes two physical lines in CSV, so the
    // first data row is line 3 when the header starts on line 1.
    let c = corpus();
    for a in attachments(&c.truth)
        .into_iter()
        .filter(|a| a["format"] == "csv")
    {
        let source = a["source_file"].as_str().unwrap_or_default();
        let bytes = std::fs::read(c.raw.join(source)).expect("read");
        let text = match a["encoding"].as_str() {
            Some("gbk") => encoding_rs::GBK.decode(&bytes).0.into_owned(),
            Some("gb18030") => encoding_rs::GB18030.decode(&bytes).0.into_owned(),
            _ => String::from_utf8_lossy(&bytes)
                .trim_start_matches('\u{feff}')
                .to_owned(),
        };
        let physical: Vec<&str> = text.split('\n').collect();
        let truth =
            std::fs::read_to_string(c.truth.join(format!("{source}.ndjson"))).expect("truth");
        for l in truth.lines().take(40) {
            let v: Value = serde_json::from_str(l).expect("json");
            if v["kind"] != "data" {
                continue;
            }
            let n = v["source_row"].as_u64().expect("row") as usize;
            // Full-width ASCII folded back, as the published model is.
            let line: String = physical
                .get(n - 1)
                .copied()
                .unwrap_or_default()
                .chars()
                .map(|c| match c {
                    '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                    '\u{3000}' | '\u{a0}' => ' ',
                    c => c,
                })
                .collect();
            if let Some(model) = v["row"]["model_spec"].as_str() {
                let first = model.split(' ').next().unwrap_or_default();
                assert!(
                    line.contains(first),
                    "{source}:{n} is `{line}`, expected the row with model {model}"
                );
            }
        }
    }
}
