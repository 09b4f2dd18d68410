use serde_json::{Value, json};
use zhijian_catalog::Catalog;
use zhijian_ingest::pipeline::ingest;
use zhijian_ingest::snapshot::publish;
use zhijian_tests::run_python;

use crate::corpus;

/// Reads every Parquet file of the snapshot with DuckDB, polars and pyarrow and checks, per
/// file, the row count and a sample of rows (looked up by record_id) against our rows.
const READ_BACK: &str = r#"
import json, sys, datetime
import duckdb, polars as pl, pyarrow.parquet as pq

spec = json.load(open(sys.argv[1]))
problems, checked = [], 0

def norm(v):
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()[:10]
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, float) and v == int(v) and abs(v) < 2**53:
        return v
    return v

for f in spec:
    path, rows, sample = f["path"], f["rows"], f["sample"]
    t = pq.read_table(path)
    p = pl.read_parquet(path)
    d = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    for name, n in (("pyarrow", t.num_rows), ("polars", p.height), ("duckdb", d)):
        if n != rows:
            problems.append(f"{path}: {name} reads {n} rows, manifest says {rows}")
    by_id_arrow = {r["record_id"]: r for r in t.to_pylist()}
    by_id_polars = {r["record_id"]: r for r in p.to_dicts()}
    ids = [s["record_id"] for s in sample]
    con = duckdb.connect()
    duck_rows = con.execute(
        f"SELECT * FROM read_parquet('{path}') WHERE record_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()
    cols = [c[0] for c in con.description]
    by_id_duck = {r[cols.index("record_id")]: dict(zip(cols, r)) for r in duck_rows}
    for want in sample:
        rid = want["record_id"]
        for name, got_rows in (("pyarrow", by_id_arrow), ("polars", by_id_polars), ("duckdb", by_id_duck)):
            got = got_rows.get(rid)
            if got is None:
                problems.append(f"{path}: {name} has no row {rid}")
                continue
            for k, v in want.items():
                g = norm(got.get(k))
                if g != v and not (isinstance(v, (int, float)) and isinstance(g, (int, float)) and abs(g - v) < 1e-9):
                    problems.append(f"{path}: {name} row {rid} field {k}: {g!r} != {v!r}")
            checked += 1
print(json.dumps({"files": len(spec), "rows_checked": checked, "problems": problems[:40]}))
"#;

#[test]
fn every_parquet_file_reads_the_same_in_duckdb_polars_and_pyarrow() {
    let c = corpus();
    let catalog = Catalog::builtin().expect("catalog");
    let ingested = ingest(&c.raw, &catalog, &[], &|_, _| {});
    let warehouse = tempfile::tempdir().expect("tempdir");
    let manifest = publish(warehouse.path(), &catalog, &ingested).expect("publish");
    let mut spec = Vec::new();
    for (id, entry) in &manifest.resources {
        let rows = ingested.resources[id].rows();
        // The first, a middle and the last row as we ingested them.
        let sample: Vec<Value> = [0, rows.len() / 2, rows.len().saturating_sub(1)]
            .iter()
            .filter_map(|&i| rows.get(i))
            .map(|r| Value::Object(r.clone()))
            .collect();
        for f in &entry.files {
            spec.push(json!({
                "path": warehouse.path().join(&f.path),
                "rows": f.rows,
                "sample": sample,
            }));
        }
    }
    assert_eq!(spec.len(), 108, "one Parquet file per resource");
    let spec_path = warehouse.path().join("spec.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("json")).expect("write spec");
    let out = run_python(READ_BACK, &[&spec_path]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    println!("interop: {report}");
    assert!(
        report["problems"].as_array().is_some_and(Vec::is_empty),
        "{report:#}"
    );
    // Three readers, up to three sample rows per file.
    assert!(report["rows_checked"].as_u64().unwrap_or_default() >= 3 * 108);
}
