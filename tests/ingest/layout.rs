use std::collections::BTreeMap;

use zhijian_catalog::Catalog;
use zhijian_ingest::layout::{RowClass, detect};
use zhijian_ingest::read::read_file;

use crate::{attachments, corpus, truth_of};

#[test]
fn header_and_row_classes_agree_with_the_truth() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let mut total = 0usize;
    let mut wrong: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut unknown_columns: BTreeMap<String, String> = BTreeMap::new();
    for a in attachments() {
        let source = a["source_file"].as_str().expect("source");
        let resource = source.split('/').next().expect("resource");
        let schema = catalog
            .schema_of(catalog.resource(resource).expect("resource"))
            .expect("schema");
        let truth = truth_of(source);
        let read = read_file(&c.raw.join(source)).expect("reads");
        for table in &read.tables {
            let layout =
                detect(table, schema).unwrap_or_else(|| panic!("{source}: no header found"));
            if catalog.resource(resource).is_ok_and(|r| r.spot_check) {
                for col in layout.columns.iter().filter(|c| c.field.is_none()) {
                    if zhijian_catalog::header_key(&col.header) != "序号" && !col.header.is_empty()
                    {
                        unknown_columns
                            .insert(format!("{resource}: {}", col.header), source.to_owned());
                    }
                }
            }
            for (row, class) in table.rows.iter().zip(&layout.classes) {
                if row.number == 0 {
                    continue;
                }
                let Some(t) = truth.get(&(table.sheet.clone(), u64::from(row.number))) else {
                    continue;
                };
                let want = match t["kind"].as_str() {
                    Some("non_data") if t["class"] != "duplicate" => {
                        t["class"].as_str().unwrap_or_default()
                    }
                    _ => "data",
                };
                total += 1;
                if class.name() != want {
                    let e = wrong
                        .entry(format!(
                            "{resource} {}: truth {want}, read {}",
                            a["layout"],
                            class.name()
                        ))
                        .or_default();
                    e.0 += 1;
                    e.1 = format!("{source} row {} {:?}", row.number, row.cells);
                }
                if let (RowClass::Section(product), Some(_)) =
                    (class, t["class"].as_str().filter(|c| *c == "section"))
                {
                    assert!(!product.is_empty());
                }
            }
        }
    }
    let errors: usize = wrong.values().map(|(n, _)| n).sum();
    println!(
        "row classes: {} of {total} agree ({errors} differ)",
        total - errors
    );
    assert!(
        wrong.is_empty(),
        "{errors} of {total} rows classed differently: {wrong:#?}"
    );
    assert!(
        unknown_columns.is_empty(),
        "spot-check columns mapped to no field: {unknown_columns:#?}"
    );
}
