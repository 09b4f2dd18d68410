use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zhijian_catalog::Catalog;

use crate::served;

/// Starts Flight SQL (and the HTTP API, for comparison) on the shared warehouse, each on a
/// free port, with these SQL limits.
fn start_flight(warehouse: &Path, limits: zhijian_query::sql::SqlLimits) -> SocketAddr {
    let catalog = Arc::new(Catalog::builtin().expect("catalog"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let mut state =
        zhijian_server::AppState::new(warehouse.to_path_buf(), catalog, "http://127.0.0.1")
            .expect("state");
    state.sql_limits = limits;
    let state = Arc::new(state);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            zhijian_server::flight::serve_flight(state, listener, std::future::pending())
                .await
                .expect("serve Flight SQL");
        });
    });
    addr
}

/// The Python ADBC Flight SQL driver (the one DBeaver-less analysts and pandas/polars use):
/// anonymous and with basic credentials, plain and prepared statements, the table catalog,
/// whole results equal to the HTTP API's, and the guard's refusals.
const ADBC: &str = r#"
import json, sys, time, urllib.parse, urllib.request
import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow as pa

flight, http = sys.argv[1], sys.argv[2]

def http_sql(sql, fmt="ndjson"):
    q = urllib.parse.urlencode({"sql": sql, "_format": fmt})
    with urllib.request.urlopen(f"http://{http}/api/v1/sql?{q}") as r:
        return [json.loads(l) for l in r.read().decode().splitlines() if l]

out = {}
# Anonymous, and with basic credentials (ADBC sends them as unpadded base64).
for name, kwargs in [("anonymous", {}), ("basic", {"db_kwargs": {"username": "analyst", "password": "x"}})]:
    with flightsql.connect(f"grpc://{flight}", **kwargs) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM spot_checks")
        out[name] = cur.fetchone()[0]

with flightsql.connect(f"grpc://{flight}") as conn:
    with conn.cursor() as cur:
        # A whole table, typed: lists and dates arrive as Arrow lists and dates.
        cur.execute("SELECT record_id, result, failed_items, sampled_on FROM spot_checks")
        table = cur.fetch_arrow_table()
        out["rows"] = table.num_rows
        out["types"] = {f.name: str(f.type) for f in table.schema}
        ids = sorted(table.column("record_id").to_pylist())
        web = sorted(r["record_id"] for r in http_sql("SELECT record_id FROM spot_checks"))
        out["same_ids_as_http"] = ids == web
        # A join and an aggregate, compared with the HTTP endpoint.
        sql = ("SELECT s.plan_year, count(*) AS batches FROM national_spot_checks s "
               "JOIN spot_checks a ON s.record_id = a.record_id GROUP BY s.plan_year ORDER BY s.plan_year")
        cur.execute(sql)
        flight_rows = [list(r) for r in cur.fetchall()]
        web_rows = [[r["plan_year"], r["batches"]] for r in http_sql(sql)]
        out["join_equal"] = flight_rows == web_rows and len(flight_rows) > 0
        # Refusals and errors that help, each a clean error and the connection still usable.
        errors = {}
        for label, bad in [
            ("copy", "COPY (SELECT 1) TO '/tmp/zhijian-flight-copy.csv'"),
            ("ddl", "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'"),
            ("file", "SELECT * FROM '/etc/passwd'"),
            ("insert", "INSERT INTO spot_checks SELECT * FROM spot_checks"),
            ("unknown table", "SELECT * FROM spot_check"),
            ("syntax", "SELEC 1"),
            ("deadline", "SELECT sum(value) FROM generate_series(1, 1000000000000)"),
        ]:
            started = time.monotonic()
            try:
                cur.execute(bad)
                cur.fetchall()
                errors[label] = None
            except adbc_driver_manager.Error as e:
                errors[label] = {"message": str(e), "seconds": time.monotonic() - started}
        out["errors"] = errors
        cur.execute("SELECT count(*) FROM spot_checks WHERE plan_year > 2000")
        out["after"] = cur.fetchone()[0]
    # The catalog as ADBC sees it (GetTables with schemas).
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    tables = [t["table_name"] for c in objects for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]]
    out["tables"] = sorted(tables)
    schema = conn.adbc_get_table_schema("spot_checks")
    out["spot_checks_fields"] = len(schema)
    out["table_types"] = sorted(conn.adbc_get_table_types())
print(json.dumps(out))
"#;

#[test]
fn adbc_client_runs_guarded_sql_over_flight_sql() {
    let s = served();
    let flight = start_flight(
        &s.warehouse,
        zhijian_query::sql::SqlLimits {
            deadline: Duration::from_secs(2),
            ..Default::default()
        },
    );
    let output = zhijian_tests::python()
        .arg("-c")
        .arg(ADBC)
        .arg(flight.to_string())
        .arg(s.addr.to_string())
        .output()
        .expect("python starts");
    assert!(
        output.status.success(),
        "ADBC client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let http_count = s.json(&format!(
        "/api/v1/sql?sql={}",
        zhijian_tests::url_encode("SELECT count(*) AS n FROM spot_checks")
    ))["rows"][0]["n"]
        .as_u64()
        .expect("count");
    assert!(http_count > 1000);
    assert_eq!(out["anonymous"].as_u64(), Some(http_count), "{out}");
    assert_eq!(out["basic"].as_u64(), Some(http_count), "{out}");
    assert_eq!(out["rows"].as_u64(), Some(http_count), "{out}");
    assert_eq!(out["same_ids_as_http"], true, "{out}");
    assert_eq!(out["join_equal"], true, "{out}");
    assert!(
        out["types"]["failed_items"]
            .as_str()
            .is_some_and(|t| t.starts_with("list<")),
        "{out}"
    );
    assert_eq!(out["types"]["sampled_on"], "date32[day]", "{out}");

    let errors = &out["errors"];
    for (label, needle) in [
        ("copy", "not supported"),
        ("ddl", "not supported"),
        ("file", ""),
        ("insert", "not supported"),
        ("unknown table", "spot_checks"),
        ("syntax", "line 1"),
        ("deadline", "deadline"),
    ] {
        let e = &errors[label];
        let message = e["message"].as_str().unwrap_or_else(|| {
            panic!("{label}: the statement was not refused: {out}");
        });
        assert!(
            message.to_lowercase().contains(needle),
            "{label}: `{message}` should mention `{needle}`"
        );
        // Everything answers within the 2 s deadline and a margin for the client.
        assert!(
            e["seconds"].as_f64().is_some_and(|t| t < 8.0),
            "{label}: {e}"
        );
    }
    assert!(out["after"].as_u64().is_some_and(|n| n > 0), "{out}");

    // Every table of the catalog, and the spot_checks view, with its schema.
    let resources = s.json("/api/v1/resources");
    let mut expected: Vec<String> = resources["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["table"].as_str().map(str::to_owned))
        .collect();
    expected.push("spot_checks".into());
    expected.sort();
    expected.dedup();
    let tables: Vec<String> = out["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    assert_eq!(tables, expected);
    assert!(
        out["spot_checks_fields"].as_u64().is_some_and(|n| n > 20),
        "{out}"
    );
    assert_eq!(out["table_types"], serde_json::json!(["TABLE", "VIEW"]));
}
