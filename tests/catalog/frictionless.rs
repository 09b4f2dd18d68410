use std::path::PathBuf;

use zhijian_catalog::Catalog;
use zhijian_catalog::export::{DataPackageOptions, datapackage};
use zhijian_tests::{frictionless_validate, schemas_dir};

#[test]
fn every_table_schema_passes_frictionless_validate() {
    let dir = schemas_dir().join("tables");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("schemas/tables")
        .map(|e| PathBuf::from(e.expect("entry").file_name()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        99,
        "spot_checks plus one schema per other resource"
    );
    let verdicts = frictionless_validate(Some("schema"), &files, &dir);
    assert_eq!(verdicts.len(), files.len());
    let invalid: Vec<_> = verdicts.iter().filter(|v| !v.valid).collect();
    assert!(invalid.is_empty(), "frictionless rejects: {invalid:#?}");
}

/// One realistic spot-check row, so Frictionless checks our types, patterns and enums
/// against values like the ones we will publish.
const SPOT_CHECK_ROW: &[(&str, &str)] = &[
    ("record_id", "3f2a9c1d5e7b8a60"),
    ("resource_id", "A1-02"),
    ("publication_id", "2015Q3"),
    ("check_level", "national"),
    ("announced_on", "2015-10-20"),
    ("plan_year", "2015"),
    ("round", "第3季度"),
    ("product", "电热水壶"),
    ("enterprise", "中山市东凤镇顺联电器厂"),
    ("enterprise_province_code", "440000"),
    ("enterprise_province", "广东省"),
    ("enterprise_uscc", "91442000MA4UJ6EE5Y"),
    ("sampling_channel", "production"),
    ("production_date", "2015-05-08"),
    ("result", "fail"),
    ("failed_items", "输入功率和电流;接地措施;结构"),
    ("flags", "recheck_failed"),
    ("source_file", "A1-02/2015Q3/电热水壶.html"),
    ("source_sheet", "1"),
    ("source_row", "3"),
];

#[test]
fn exported_datapackage_passes_frictionless_validate() {
    let catalog = Catalog::builtin().expect("catalog");
    let dir = tempfile::tempdir().expect("tempdir");
    let package = datapackage(&catalog, &DataPackageOptions::default());
    std::fs::write(
        dir.path().join("datapackage.json"),
        serde_json::to_vec_pretty(&package).expect("json"),
    )
    .expect("write datapackage.json");
    std::fs::create_dir(dir.path().join("data")).expect("data dir");
    for r in &catalog.resources {
        let schema = catalog.schema_of(r).expect("schema");
        let mut csv = schema
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        csv.push('\n');
        if r.id == "A1-02" {
            let row: Vec<&str> = schema
                .fields
                .iter()
                .map(|f| {
                    SPOT_CHECK_ROW
                        .iter()
                        .find(|(n, _)| *n == f.name)
                        .map_or("", |(_, v)| *v)
                })
                .collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        std::fs::write(dir.path().join(format!("data/{}.csv", r.table)), csv).expect("write csv");
    }
    let verdicts = frictionless_validate(None, &[PathBuf::from("datapackage.json")], dir.path());
    assert_eq!(verdicts.len(), 108, "one task per resource: {verdicts:#?}");
    let invalid: Vec<_> = verdicts.iter().filter(|v| !v.valid).collect();
    assert!(invalid.is_empty(), "frictionless rejects: {invalid:#?}");
}

#[test]
fn frictionless_also_rejects_the_broken_fixture() {
    let fixtures = zhijian_tests::repo_root().join("tests/fixtures/broken-schema");
    let verdicts = frictionless_validate(
        Some("schema"),
        &[PathBuf::from("vehicle_recalls.json")],
        &fixtures,
    );
    assert!(!verdicts[0].valid, "{verdicts:#?}");
}
