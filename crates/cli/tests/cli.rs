//! `zhijian catalog` as a user runs it: the real binary, its stdout, stderr and exit code.

use std::process::{Command, Output};

fn zhijian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(args)
        .env_remove("ZHIJIAN_SCHEMAS")
        .output()
        .expect("zhijian runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn tree_lists_every_resource_under_its_subcategory() {
    let out = stdout(&zhijian(&["catalog"]));
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.contains("6 categories, 24 subcategories, 108 resources (10 spot-check)"),
        "{first}"
    );
    let resources = out.lines().filter(|l| l.starts_with("    ")).count();
    assert_eq!(resources, 108);
    assert!(
        out.contains("\nA 产品质量监督 Product quality supervision (20)\n"),
        "{out}"
    );
    assert!(out.contains(
        "    A1-02 国家监督抽查结果明细 · National spot-check results (national_spot_checks)  [SC]"
    ));
    assert!(out.contains("  F4 进出口商品检验 Import and export commodity inspection\n"));
}

#[test]
fn json_tree_has_the_counts_and_nesting() {
    let out = stdout(&zhijian(&["catalog", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["counts"]["resources"], 108);
    assert_eq!(doc["counts"]["spot_check_resources"], 10);
    let categories = doc["categories"].as_array().expect("categories");
    assert_eq!(categories.len(), 6);
    let nested: usize = categories
        .iter()
        .flat_map(|c| c["subcategories"].as_array().into_iter().flatten())
        .map(|s| s["resources"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(nested, 108);
    assert_eq!(
        categories[0]["subcategories"][0]["resources"][1]["schema"],
        "spot_checks"
    );
}

#[test]
fn one_resource_shows_its_schema_by_id_or_table() {
    let by_id = stdout(&zhijian(&["catalog", "--resource", "F3-01"]));
    let by_table = stdout(&zhijian(&["catalog", "--resource", "refused_food_imports"]));
    assert_eq!(by_id, by_table);
    assert!(by_id.contains("hs_code"), "{by_id}");
    assert!(
        by_id.contains("Int16 not null"),
        "year is a required Int16: {by_id}"
    );

    let json = stdout(&zhijian(&[
        "catalog",
        "--resource",
        "A1-02",
        "--format",
        "json",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(doc["table"], "national_spot_checks");
    assert_eq!(doc["table_schema"]["primaryKey"][0], "record_id");
}

#[test]
fn unknown_resource_is_a_clear_error() {
    let out = zhijian(&["catalog", "--resource", "Z9-99"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Z9-99"), "{err}");
}

#[test]
fn datapackage_and_dcat_formats_are_json() {
    let dp: serde_json::Value =
        serde_json::from_str(&stdout(&zhijian(&["catalog", "--format", "datapackage"])))
            .expect("JSON");
    assert_eq!(dp["resources"].as_array().map(Vec::len), Some(108));
    let dcat: serde_json::Value = serde_json::from_str(&stdout(&zhijian(&[
        "catalog",
        "--format",
        "dcat",
        "--base-url",
        "https://data.example/",
    ])))
    .expect("JSON");
    let graph = dcat["@graph"].as_array().expect("graph");
    assert!(
        graph
            .iter()
            .any(|n| n["@id"] == "https://data.example/datasets/A1-02")
    );
}

#[test]
fn a_broken_schemas_dir_fails_naming_file_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schemas = zhijian_tests::repo_root().join("schemas");
    let tables = dir.path().join("tables");
    std::fs::create_dir(&tables).expect("mkdir");
    std::fs::copy(
        schemas.join("catalog.toml"),
        dir.path().join("catalog.toml"),
    )
    .expect("copy");
    for entry in std::fs::read_dir(schemas.join("tables")).expect("tables") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), tables.join(entry.file_name())).expect("copy");
    }
    let path = tables.join("elevator_registrations.json");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replacen("\"type\": \"number\"", "\"type\": \"float\"", 1),
    )
    .expect("write");

    let out = zhijian(&[
        "catalog",
        "--schemas",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("elevator_registrations.json"), "{err}");
    assert!(err.contains("field `rated_load_kg`"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn synth_writes_a_corpus_and_reports_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    let truth = dir.path().join("truth");
    let out = stdout(&zhijian(&[
        "synth",
        "--out",
        raw.to_str().expect("utf-8"),
        "--truth",
        truth.to_str().expect("utf-8"),
        "--scale",
        "3000",
        "--seed",
        "4",
    ]));
    assert!(out.contains("108 resources"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("A1-02 ")), "{out}");
    assert!(raw.join("A1-02").is_dir() && raw.join("F4-04").is_dir());
    assert!(truth.join("summary.json").is_file());

    // A second run into the same directory is refused: corpora never mix.
    let again = zhijian(&[
        "synth",
        "--out",
        raw.to_str().expect("utf-8"),
        "--scale",
        "3000",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--out"));
}
