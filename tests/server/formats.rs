use serde_json::Value;
use zhijian_tests::{http, run_python};

use crate::served;

/// Reads each saved file with the client made for its format and prints row counts.
const READ: &str = r#"
import csv, io, json, sys
import pyarrow.parquet as pq, pyarrow.ipc as ipc, openpyxl
d = sys.argv[1]
out = {}
out["ndjson"] = sum(1 for l in open(f"{d}/rows.ndjson", encoding="utf-8") if l.strip())
with open(f"{d}/rows.ndjson", encoding="utf-8") as f:
    first = json.loads(f.readline())
out["ndjson_has_list"] = isinstance(first.get("failed_items"), list)
raw = open(f"{d}/rows.csv", "rb").read()
out["csv_bom"] = raw.startswith(b"\xef\xbb\xbf")
rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
out["csv"] = len(rows) - 1
out["csv_header"] = rows[0][:2]
raw = open(f"{d}/rows-bom.csv", "rb").read()
out["csv_bom_variant"] = raw.startswith(b"\xef\xbb\xbf")
out["csv_bom_rows"] = len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) - 1
t = pq.read_table(f"{d}/rows.parquet")
out["parquet"] = t.num_rows
out["parquet_list_type"] = str(t.schema.field("failed_items").type)
out["parquet_date_type"] = str(t.schema.field("announced_on").type)
with open(f"{d}/rows.arrow", "rb") as f:
    out["arrow"] = ipc.open_stream(f).read_all().num_rows
wb = openpyxl.load_workbook(f"{d}/rows.xlsx", read_only=True)
out["xlsx"] = sum(1 for _ in wb.active.iter_rows()) - 1
print(json.dumps(out))
"#;

#[test]
fn every_format_is_read_back_by_a_real_client() {
    let s = served();
    let filter = "plan_year__gte=2012";
    let page: Value = s.json(&format!(
        "/api/v1/resources/spot_checks/rows?{filter}&_limit=1"
    ));
    let n = page["count"].as_u64().expect("count");
    assert!(n > 1000, "{n}: the export must be larger than a JSON page");
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, query) in [
        ("rows.ndjson", "_format=ndjson"),
        ("rows.csv", "_format=csv"),
        ("rows-bom.csv", "_format=csv&_bom=true"),
        ("rows.parquet", "_format=parquet"),
        ("rows.arrow", "_format=arrow"),
        ("rows.xlsx", "_format=xlsx"),
    ] {
        let r = s.get(&format!(
            "/api/v1/resources/spot_checks/rows?{filter}&{query}"
        ));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert!(
            r.header("content-disposition")
                .is_some_and(|d| d.contains("attachment")),
            "{query}"
        );
        std::fs::write(dir.path().join(name), &r.body).expect("save");
    }
    let out = run_python(READ, &[dir.path()]);
    let got: Value = serde_json::from_slice(&out.stdout).expect("report");
    for fmt in ["ndjson", "csv", "csv_bom_rows", "parquet", "arrow", "xlsx"] {
        assert_eq!(got[fmt].as_u64(), Some(n), "{fmt}: {got}");
    }
    assert_eq!(got["csv_bom"], false);
    assert_eq!(got["csv_bom_variant"], true);
    assert_eq!(
        got["csv_header"],
        serde_json::json!(["record_id", "resource_id"])
    );
    assert_eq!(got["ndjson_has_list"], true);
    assert!(
        got["parquet_list_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("list")),
        "{got}"
    );
    assert_eq!(got["parquet_date_type"], "date32[day]");
}

#[test]
fn accept_headers_choose_the_format() {
    let s = served();
    let r = http(
        s.addr,
        "/api/v1/resources/A1-02/rows?_limit=3",
        &[("Accept", "text/csv")],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    assert_eq!(r.text().lines().count(), 4, "header and three rows");
    let r = http(
        s.addr,
        "/api/v1/resources/A1-02/rows?_limit=3",
        &[("Accept", "application/x-ndjson")],
    );
    assert_eq!(r.text().lines().count(), 3);
    let r = http(
        s.addr,
        "/api/v1/resources/A1-02/rows?_limit=3",
        &[("Accept", "text/html,application/json")],
    );
    assert_eq!(r.json()["rows"].as_array().map(Vec::len), Some(3));
}

#[test]
fn an_empty_export_is_still_a_valid_file() {
    let s = served();
    let r = s.get("/api/v1/resources/A1-02/rows?plan_year=1900&_format=csv");
    assert_eq!(r.status, 200);
    let text = r.text();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("record_id,"));
}
