use calamine::{Data, Reader, open_workbook_auto};
use serde_json::Value;

use crate::shared::{attachments, corpus};

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::DateTime(dt) => format!("serial:{}", dt.as_f64()),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn workbooks_open_in_calamine_with_rows_where_the_truth_says() {
    let c = corpus();
    let mut checked = [0usize; 2];
    for a in attachments(&c.truth) {
        let kind = match a["format"].as_str() {
            Some("xls") => 0,
            Some("xlsx") => 1,
            _ => continue,
        };
        if checked[kind] >= 40 {
            continue;
        }
        checked[kind] += 1;
        let source = a["source_file"].as_str().unwrap_or_default();
        let mut wb =
            open_workbook_auto(c.raw.join(source)).unwrap_or_else(|e| panic!("{source}: {e}"));
        let truth =
            std::fs::read_to_string(c.truth.join(format!("{source}.ndjson"))).expect("truth");
        for line in truth.lines().take(60) {
            let v: Value = serde_json::from_str(line).expect("json");
            let sheet = v["source_sheet"].as_str().expect("sheet name");
            let range = wb
                .worksheet_range(sheet)
                .unwrap_or_else(|e| panic!("{source} [{sheet}]: {e}"));
            let n = v["source_row"].as_u64().expect("row") as usize;
            // calamine's range starts at the first used cell; rows here always start at A1.
            let row: Vec<String> = range
                .rows()
                .nth(n - 1)
                .map(|r| r.iter().map(text).collect())
                .unwrap_or_default();
            if v["kind"] == "data" {
                let r = &v["row"];
                let probe = ["model_spec", "enterprise", "standard_no", "product"]
                    .iter()
                    .find_map(|k| r[*k].as_str())
                    .unwrap_or_default()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let joined: String = row
                    .join("|")
                    .chars()
                    .map(|c| match c {
                        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                        c => c,
                    })
                    .collect();
                let joined = joined.replace('(', "（").replace(')', "）");
                assert!(
                    joined.contains(&probe),
                    "{source} [{sheet}] row {n}: `{joined}` lacks `{probe}`"
                );
            }
            if v["class"] == "header" && kind == 0 {
                assert!(
                    row.iter().any(|c| c == "序号" || !c.is_empty()),
                    "{source}: empty header row {n}"
                );
            }
        }
    }
    assert!(checked[0] > 0, "no XLS attachment in the corpus");
    assert!(checked[1] > 0, "no XLSX attachment in the corpus");
}

#[test]
fn xls_serials_are_floats_and_dates_are_dates() {
    let c = corpus();
    let mut saw_float_serial = false;
    let mut saw_date = false;
    for a in attachments(&c.truth)
        .into_iter()
        .filter(|a| a["format"] == "xls")
    {
        let source = a["source_file"].as_str().unwrap_or_default();
        let mut wb = open_workbook_auto(c.raw.join(source)).expect("opens");
        for name in wb.sheet_names() {
            let range = wb.worksheet_range(&name).expect("sheet");
            for row in range.rows() {
                saw_float_serial |= matches!(row.first(), Some(Data::Float(f)) if *f == 1.0);
                saw_date |= row.iter().any(|d| matches!(d, Data::DateTime(_)));
            }
        }
        if saw_float_serial && saw_date {
            break;
        }
    }
    assert!(
        saw_float_serial,
        "XLS serial numbers are stored as floats (1.0)"
    );
    assert!(saw_date, "some XLS cells are real Excel dates");
}
