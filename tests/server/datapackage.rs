use std::path::PathBuf;

use zhijian_tests::frictionless_validate;

use crate::{Served, publish, serve_new};

/// Saves the Data Package the server serves at `path` and runs the official `frictionless
/// validate` on it: every resource's CSV download is fetched from the server and checked
/// against its Table Schema (types, patterns, enums, required fields and the primary key).
fn validate_served(s: &Served, path: &str, snapshot: &str) {
    let package = s.json(path);
    let resources = package["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 108);
    assert!(
        resources.iter().all(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.contains(&format!("/downloads/{snapshot}/")))),
        "{path}: every path is a download of snapshot {snapshot}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("datapackage.json"),
        serde_json::to_vec_pretty(&package).expect("json"),
    )
    .expect("write datapackage.json");
    let verdicts = frictionless_validate(
        Some("package"),
        &[PathBuf::from("datapackage.json")],
        dir.path(),
    );
    assert_eq!(verdicts.len(), 108, "one task per resource: {verdicts:#?}");
    let invalid: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.valid)
        .map(|v| {
            format!(
                "{}: {}",
                v.place,
                v.errors
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        })
        .collect();
    assert!(
        invalid.is_empty(),
        "{path}: frictionless rejects {} resources:\n{}",
        invalid.len(),
        invalid.join("\n")
    );
}

#[test]
fn the_served_data_package_validates_for_the_current_and_an_older_snapshot() {
    let s = serve_new(4_000, 2_207);
    let first = std::fs::read_to_string(s.warehouse.join("CURRENT")).expect("CURRENT");
    let first = first.trim().to_owned();
    let other = s.raw.parent().expect("dir").join("raw-b");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: other.clone(),
            truth: None,
            scale: 4_000,
            seed: 2_208,
        },
        &|_, _| {},
    )
    .expect("corpus");
    let second = publish(&other, &s.warehouse);
    assert_ne!(first, second);
    validate_served(&s, "/datapackage.json", &second);
    validate_served(&s, &format!("/datapackage.json?_as_of={first}"), &first);
    assert_eq!(s.get("/datapackage.json?_as_of=nosuchsnapshot").status, 404);
}
