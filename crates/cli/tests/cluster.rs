//! Analyst SQL on DataFusion Ballista, with the real binary in every role: `zhijian
//! scheduler`, two `zhijian executor`s and `zhijian serve --ballista` on loopback, against a
//! `zhijian serve` without a cluster on the same warehouse. The SQL surface (every statement
//! of `queries/*.slt`), the named queries and the refusals answer the same; the executors did
//! the work; a cluster that is gone answers 503 while every other request still works.
#![cfg(feature = "cluster")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zhijian_tests::{
    HttpResponse, Running, files_under, free_port, http, repo_root, serve, url_encode,
};

fn zhijian() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zhijian"));
    c.env("ZHIJIAN_LOG", "warn");
    c
}

fn ok(c: &mut Command) {
    let out = c.output().expect("zhijian runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start(c: &mut Command) -> Running {
    Running {
        child: c
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("zhijian starts"),
    }
}

/// Every statement of an `.slt` file: the lines after a `query` or `statement` record line, up
/// to its expected output or a blank line.
fn statements(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("slt file");
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !(line.starts_with("query") || line.starts_with("statement")) {
            continue;
        }
        let sql: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.trim().is_empty() && *l != "----")
            .collect();
        out.push(sql.join("\n"));
    }
    out
}

/// An answer reduced to what must agree: the status, and the columns and rows of a success
/// (rows sorted unless the statement orders them) or the code of an error (and its message
/// for a refusal: the guard runs in the server either way).
fn answer(r: &HttpResponse, sql: &str) -> Value {
    let body = r.json();
    if r.status != 200 {
        let code = &body["error"]["code"];
        let message = if code == "refused" {
            body["error"]["message"].clone()
        } else {
            Value::Null
        };
        return serde_json::json!({"status": r.status, "code": code, "message": message});
    }
    let mut rows: Vec<String> = body["rows"]
        .as_array()
        .map(|rows| rows.iter().map(Value::to_string).collect())
        .unwrap_or_default();
    if !sql.to_ascii_uppercase().contains("ORDER BY") {
        rows.sort();
    }
    serde_json::json!({"status": 200, "columns": body["columns"], "rows": rows})
}

/// What differs between two answers, short: status, code, columns, row counts and the first
/// rows that are not in the other.
fn difference(ballista: &Value, local: &Value) -> String {
    let only = |a: &Value, b: &Value| -> Vec<String> {
        let theirs: Vec<&Value> = b["rows"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        a["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !theirs.contains(r))
            .take(3)
            .map(Value::to_string)
            .collect()
    };
    let rows = |a: &Value| a["rows"].as_array().map_or(0, Vec::len);
    format!(
        "  ballista: status {} code {} message {} columns {} rows {}, first of its own {:?}\n  \
         local:    status {} code {} message {} columns {} rows {}, first of its own {:?}",
        ballista["status"],
        ballista["code"],
        ballista["message"],
        ballista["columns"],
        rows(ballista),
        only(ballista, local),
        local["status"],
        local["code"],
        local["message"],
        local["columns"],
        rows(local),
        only(local, ballista),
    )
}

fn sql(addr: SocketAddr, text: &str) -> HttpResponse {
    http(
        addr,
        &format!("/api/v1/sql?sql={}&_limit=10000", url_encode(text)),
        &[],
    )
}

#[test]
fn sql_on_a_ballista_cluster_answers_as_the_server_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    let warehouse = dir.path().join("warehouse");
    let w = warehouse.to_str().expect("utf-8 path");
    ok(zhijian()
        .args(["synth", "--scale", "3000", "--seed", "11", "--out"])
        .arg(&raw));
    ok(zhijian()
        .args(["ingest", "--warehouse", w, "--raw"])
        .arg(&raw));

    let scheduler = format!("127.0.0.1:{}", free_port());
    let scheduler_process = start(zhijian().args(["scheduler", "--addr", &scheduler]));
    // Executors and servers dial only once it listens (see the README on ports).
    let started = Instant::now();
    while std::net::TcpStream::connect(&scheduler).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "no scheduler");
        std::thread::sleep(Duration::from_millis(50));
    }
    let work: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("executor-{i}")))
        .collect();
    let _executors: Vec<Running> = work
        .iter()
        .map(|work| {
            start(zhijian().args([
                "executor",
                "--scheduler",
                &scheduler,
                "--addr",
                &format!("127.0.0.1:{}", free_port()),
                "--grpc-port",
                &free_port().to_string(),
                "--memory",
                "512M",
                "--concurrency",
                "2",
                "--work-dir",
                work.to_str().expect("utf-8 path"),
            ]))
        })
        .collect();
    let cluster = serve(
        zhijian(),
        &["--warehouse", w, "--ballista", &format!("df://{scheduler}")],
    );
    let local = serve(zhijian(), &["--warehouse", w]);
    assert_eq!(http(cluster.addr, "/readyz", &[]).json()["sql"], "ballista");
    assert_eq!(http(local.addr, "/readyz", &[]).json()["sql"], "local");

    // The SQL surface: every statement of the .slt files, and analyst SQL of the benches.
    let mut all: Vec<String> = std::fs::read_dir(repo_root().join("queries"))
        .expect("queries/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .flat_map(|p| statements(&p))
        .collect();
    all.extend(
        [
            "SELECT enterprise_province, result, count(*) AS n FROM spot_checks GROUP BY enterprise_province, result",
            "SELECT s.product, count(*) AS n, count(DISTINCT s.enterprise) AS producers FROM spot_checks s WHERE s.result = 'fail' GROUP BY s.product HAVING count(*) > 1",
            "SELECT a.enterprise, a.plan_year, b.n FROM spot_checks a JOIN (SELECT enterprise, count(*) AS n FROM spot_checks GROUP BY enterprise) b ON a.enterprise = b.enterprise WHERE b.n > 3",
            "SELECT product, plan_year, count(*) OVER (PARTITION BY product) AS per_product FROM spot_checks WHERE result = 'fail'",
            "SELECT record_id FROM spot_checks ORDER BY record_id LIMIT 25",
            "SELECT 1/0",
        ]
        .map(str::to_owned),
    );
    assert!(all.len() > 20, "{} statements", all.len());
    let mut differ = Vec::new();
    let mut succeeded = 0;
    for text in &all {
        let (a, b) = (sql(cluster.addr, text), sql(local.addr, text));
        let (a, b) = (answer(&a, text), answer(&b, text));
        succeeded += usize::from(b["status"] == 200);
        if a != b {
            differ.push(format!("{text}\n{}", difference(&a, &b)));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(succeeded >= 10, "{succeeded} statements answered");

    // The named queries, with their parameters.
    let queries = http(local.addr, "/api/v1/queries", &[]).json();
    let mut params: BTreeMap<&str, &str> = BTreeMap::new();
    params.insert("company", "%E5%85%AC%E5%8F%B8");
    let mut named = 0;
    for q in queries["queries"].as_array().expect("queries") {
        let name = q["name"].as_str().expect("name");
        let given: Vec<String> = q["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .filter_map(|p| params.get(p).map(|v| format!("{p}={v}")))
            .collect();
        let path = format!("/api/v1/queries/{name}?{}", given.join("&"));
        let (a, b) = (http(cluster.addr, &path, &[]), http(local.addr, &path, &[]));
        assert_eq!(b.status, 200, "{path}: {}", b.text());
        let sql_text = q["sql"].as_str().unwrap_or_default();
        let (a, b) = (answer(&a, sql_text), answer(&b, sql_text));
        assert!(a == b, "{path}\n{}", difference(&a, &b));
        named += 1;
    }
    assert!(named >= 5, "{named} named queries");

    // The executors did the work: both wrote shuffle files for the jobs they ran.
    for dir in &work {
        assert!(files_under(dir) > 0, "{} holds no job data", dir.display());
    }

    // Without a scheduler, SQL answers 503 (retry later), not the query's fault; the rest of
    // the API does not need the cluster.
    drop(scheduler_process);
    let started = Instant::now();
    let gone = loop {
        let r = sql(cluster.addr, "SELECT count(*) FROM spot_checks");
        if r.status != 200 || started.elapsed() > Duration::from_secs(30) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(gone.status, 503, "{}", gone.text());
    assert_eq!(gone.json()["error"]["code"], "cluster_unavailable");
    assert!(gone.header("retry-after").is_some());
    let rows = http(
        cluster.addr,
        "/api/v1/resources/spot_checks/rows?_limit=5",
        &[],
    );
    assert_eq!(rows.status, 200, "{}", rows.text());
}

#[test]
fn a_scheduler_that_does_not_answer_is_named_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = zhijian()
        .args(["serve", "--warehouse"])
        .arg(dir.path())
        .args(["--ballista", "df://127.0.0.1:1", "--addr"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("zhijian runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Ballista scheduler answers at df://127.0.0.1:1"),
        "{err}"
    );
    let bad = zhijian()
        .args(["executor", "--scheduler", "nowhere"])
        .output()
        .expect("zhijian runs");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("--scheduler") && err.contains("nowhere"),
        "{err}"
    );
}
