use zhijian_catalog::Catalog;
use zhijian_catalog::export::dcat;
use zhijian_tests::run_python;

/// Expands the document with PyLD (the JSON-LD reference processor for Python) and reports
/// datasets, their titles' languages, themes and publishers as the expanded graph has them.
const EXPAND: &str = r#"
import json, sys
from pyld import jsonld
doc = json.load(open(sys.argv[1]))
expanded = jsonld.expand(doc)
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
datasets = [n for n in expanded if DCAT + "Dataset" in n.get("@type", [])]
catalogs = [n for n in expanded if DCAT + "Catalog" in n.get("@type", [])]
out = {
    "datasets": len(datasets),
    "catalogs": len(catalogs),
    "catalog_members": len(catalogs[0].get(DCAT + "dataset", [])) if catalogs else 0,
    "bilingual": sum(1 for d in datasets if {t.get("@language") for t in d.get(DCT + "title", [])} == {"zh", "en"}),
    "themed": sum(1 for d in datasets if len(d.get(DCAT + "theme", [])) == 2),
    "with_periodicity": sum(1 for d in datasets if d.get(DCT + "accrualPeriodicity")),
}
print(json.dumps(out))
"#;

#[test]
fn dcat_jsonld_expands_to_108_bilingual_datasets() {
    let catalog = Catalog::builtin().expect("catalog");
    let doc = dcat(&catalog, "https://zhijian.example/");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("catalog.jsonld");
    std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write");
    let output = run_python(EXPAND, &[&path]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("report");
    assert_eq!(report["catalogs"], 1, "{report}");
    for key in [
        "datasets",
        "catalog_members",
        "bilingual",
        "themed",
        "with_periodicity",
    ] {
        assert_eq!(report[key], 108, "{key}: {report}");
    }
}
