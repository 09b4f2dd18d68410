use std::path::Path;

use zhijian_catalog::{Catalog, CatalogError};
use zhijian_tests::{copy_dir, repo_root, schemas_dir};

/// A copy of `schemas/` to break.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&schemas_dir(), dir.path());
    dir
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).expect("read");
    let changed = f(text.clone());
    assert_ne!(
        changed,
        text,
        "the edit changed nothing in {}",
        path.display()
    );
    std::fs::write(path, changed).expect("write");
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    f(&mut doc);
    std::fs::write(path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
}

fn field_mut<'a>(doc: &'a mut serde_json::Value, name: &str) -> &'a mut serde_json::Value {
    doc["fields"]
        .as_array_mut()
        .expect("fields")
        .iter_mut()
        .find(|f| f["name"] == name)
        .expect("field exists")
}

fn load_err(dir: &Path) -> (CatalogError, String) {
    let err = Catalog::load_dir(dir).expect_err("the broken catalog must be rejected");
    let message = err.to_string();
    (err, message)
}

#[test]
fn broken_schema_fixture_names_file_and_field() {
    let dir = scratch();
    std::fs::copy(
        repo_root().join("tests/fixtures/broken-schema/vehicle_recalls.json"),
        dir.path().join("tables/vehicle_recalls.json"),
    )
    .expect("install fixture");
    let (err, message) = load_err(dir.path());
    match &err {
        CatalogError::Json {
            path,
            field,
            location,
            ..
        } => {
            assert!(path.ends_with("tables/vehicle_recalls.json"), "{message}");
            assert_eq!(field.as_deref(), Some("units"), "{message}");
            assert!(location.ends_with(".type"), "{message}");
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    assert!(
        message.contains("vehicle_recalls.json") && message.contains("`units`"),
        "{message}"
    );
    assert!(
        message.contains("int"),
        "the message says what was wrong: {message}"
    );
}

#[test]
fn colliding_aliases_name_both_fields() {
    let dir = scratch();
    edit_json(&dir.path().join("tables/vehicle_recalls.json"), |doc| {
        field_mut(doc, "manufacturer")["x-aliases"]
            .as_array_mut()
            .expect("aliases")
            .push("召回 编号".into());
    });
    let (_, message) = load_err(dir.path());
    assert!(message.contains("vehicle_recalls.json"), "{message}");
    assert!(
        message.contains("`manufacturer`") && message.contains("`recall_no`"),
        "{message}"
    );
}

#[test]
fn invalid_pattern_is_reported_with_its_field() {
    let dir = scratch();
    edit_json(&dir.path().join("tables/ccc_certificates.json"), |doc| {
        field_mut(doc, "certificate_no")["constraints"]["pattern"] = "^[0-9{16}$".into();
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("ccc_certificates.json: field `certificate_no`"),
        "{message}"
    );
    assert!(
        message.contains("not a valid regular expression"),
        "{message}"
    );
}

#[test]
fn primary_key_must_name_fields_and_lineage_must_exist() {
    let dir = scratch();
    edit_json(&dir.path().join("tables/national_standards.json"), |doc| {
        doc["primaryKey"] = serde_json::json!(["standard_number"]);
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("national_standards.json") && message.contains("`standard_number`"),
        "{message}"
    );

    let dir = scratch();
    edit_json(&dir.path().join("tables/national_standards.json"), |doc| {
        doc["fields"]
            .as_array_mut()
            .expect("fields")
            .retain(|f| f["name"] != "source_row");
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("national_standards.json") && message.contains("source_row"),
        "{message}"
    );
}

#[test]
fn constraint_that_does_not_fit_the_type_is_rejected() {
    let dir = scratch();
    edit_json(&dir.path().join("tables/vehicle_recalls.json"), |doc| {
        field_mut(doc, "units")["constraints"] = serde_json::json!({ "pattern": "^[0-9]+$" });
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("field `units`") && message.contains("pattern"),
        "{message}"
    );
}

#[test]
fn catalog_entries_are_checked() {
    let catalog = |dir: &tempfile::TempDir| dir.path().join("catalog.toml");

    // A duplicate id.
    let dir = scratch();
    edit(&catalog(&dir), |t| {
        t.replacen("id = \"A1-03\"", "id = \"A1-02\"", 1)
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("catalog.toml: resource `A1-02`: id appears twice"),
        "{message}"
    );

    // A resource whose schema file does not exist.
    let dir = scratch();
    edit(&catalog(&dir), |t| {
        t.replacen(
            "schema = \"vehicle_recalls\"",
            "schema = \"vehicle_recall\"",
            1,
        )
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("resource `A4-03`") && message.contains("tables/vehicle_recall.json"),
        "{message}"
    );

    // A spot-check flag that disagrees with the schema.
    let dir = scratch();
    edit(&catalog(&dir), |t| {
        let at = t.find("id = \"A1-01\"").expect("A1-01");
        let (head, tail) = t.split_at(at);
        format!(
            "{head}{}",
            tail.replacen("spot_check = false", "spot_check = true", 1)
        )
    });
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("resource `A1-01`") && message.contains("spot_checks"),
        "{message}"
    );

    // An unknown key is a TOML error with its position.
    let dir = scratch();
    edit(&catalog(&dir), |t| {
        t.replacen(
            "title_zh = \"产品质量监督\"",
            "titel_zh = \"产品质量监督\"",
            1,
        )
    });
    let (err, message) = load_err(dir.path());
    assert!(matches!(err, CatalogError::Toml { .. }), "{message}");
    assert!(
        message.contains("catalog.toml")
            && message.contains("titel_zh")
            && message.contains("line"),
        "{message}"
    );
}

#[test]
fn the_counts_are_enforced() {
    let dir = scratch();
    // Drop the last resource (F4-04) and its schema file.
    edit(&dir.path().join("catalog.toml"), |t| {
        let at = t.rfind("[[resources]]").expect("a resource");
        t[..at].to_owned()
    });
    std::fs::remove_file(
        dir.path()
            .join("tables/recalls_abroad_involving_china.json"),
    )
    .expect("remove");
    let (err, message) = load_err(dir.path());
    assert!(
        matches!(
            err,
            CatalogError::Count {
                level: "resources",
                expected: 108,
                found: 107,
                ..
            }
        ),
        "{message}"
    );
}

#[test]
fn an_orphan_schema_file_is_reported() {
    let dir = scratch();
    std::fs::copy(
        dir.path().join("tables/vehicle_recalls.json"),
        dir.path().join("tables/vehicle_recalls_old.json"),
    )
    .expect("copy");
    let (_, message) = load_err(dir.path());
    assert!(
        message.contains("vehicle_recalls_old.json")
            && message.contains("not the schema of any resource"),
        "{message}"
    );
}
