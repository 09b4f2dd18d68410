//! Hostile HTTP: what an anonymous client can send besides SQL. Each case gets a clear 4xx
//! (or a 503 with `Retry-After` when the server is busy), never another 5xx, and the server
//! keeps answering a normal request meanwhile.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use zhijian_query::govern::{Class, Governor, GovernorConfig};
use zhijian_tests::{HttpResponse, http, request};

use crate::{served, start_state};

/// A normal request: one filtered page of the national spot checks.
const NORMAL: &str = "/api/v1/resources/A1-02/rows?result=fail&_limit=10";

/// A 4xx in the error envelope (code and message), or a 503 with `Retry-After`; never
/// another 5xx.
fn clear_refusal(what: &str, r: &HttpResponse) {
    assert!(
        (400..500).contains(&r.status) || r.status == 503,
        "{what}: {} {}",
        r.status,
        r.text()
    );
    if r.status == 503 {
        assert!(
            r.header("retry-after").is_some(),
            "{what}: 503 without Retry-After"
        );
    }
}

/// The error envelope of a JSON error answer, with its code and message.
fn envelope(what: &str, r: &HttpResponse) -> Value {
    let e: Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|_| panic!("{what}: not JSON: {} {}", r.status, r.text()));
    assert!(
        e["error"]["code"].is_string() && e["error"]["message"].is_string(),
        "{what}: {e}"
    );
    e
}

/// Sends raw bytes on a new connection and reads the answer's status (or `None` when the
/// server closed without a word), waiting at most `limit`.
fn raw_status(addr: SocketAddr, bytes: &[u8], limit: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server kept the connection open past {limit:?}: {e}"),
    }
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

#[test]
fn oversized_headers_and_bodies_are_refused() {
    let s = served();
    // One header of 1 MiB, and 500 small ones: 431 from the HTTP layer.
    let big = "x".repeat(1024 * 1024);
    let r = raw_status(
        s.addr,
        format!("GET /healthz HTTP/1.1\r\nHost: z\r\nX-Big: {big}\r\n\r\n").as_bytes(),
        Duration::from_secs(10),
    );
    assert_eq!(r, Some(431), "one 1 MiB header");
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let r = raw_status(
        s.addr,
        format!("GET /healthz HTTP/1.1\r\nHost: z\r\n{many}\r\n").as_bytes(),
        Duration::from_secs(10),
    );
    assert_eq!(r, Some(431), "500 headers");
    // A body past 256 KiB: 413 in the envelope, whether it is sent or only announced.
    let body = format!(
        "{{\"sql\": \"SELECT 1\", \"pad\": \"{}\"}}",
        "y".repeat(300 * 1024)
    );
    let r = request(
        s.addr,
        "POST",
        "/api/v1/sql",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(
        envelope("300 KiB body", &r)["error"]["code"],
        "body_too_large"
    );
    let announced = raw_status(
        s.addr,
        b"POST /api/v1/sql HTTP/1.1\r\nHost: z\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{",
        Duration::from_secs(10),
    );
    assert_eq!(announced, Some(413), "a 10 GB Content-Length");
    // A chunked body that grows past the limit.
    let mut chunked = b"POST /api/v1/sql HTTP/1.1\r\nHost: z\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..40 {
        chunked.extend_from_slice(format!("{:x}\r\n{}\r\n", 8192, "z".repeat(8192)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        raw_status(s.addr, &chunked, Duration::from_secs(10)),
        Some(413),
        "a chunked body of 320 KiB"
    );
    assert_eq!(s.get_alone(NORMAL).status, 200);
}

#[test]
fn a_body_that_never_ends_is_cut_off() {
    let s = served();
    let mut slow = TcpStream::connect(s.addr).expect("connect");
    slow.write_all(
        b"POST /api/v1/sql HTTP/1.1\r\nHost: z\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"sql\": ",
    )
    .expect("write");
    let limit = zhijian_server::BODY_READ_TIMEOUT * 3;
    slow.set_read_timeout(Some(limit)).expect("timeout");
    let started = Instant::now();
    // Others are answered meanwhile.
    assert_eq!(s.get_alone(NORMAL).status, 200);
    let mut answer = Vec::new();
    match slow.read_to_end(&mut answer) {
        Ok(_) => {
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            assert!(text.contains("body_timeout"), "{text}");
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open past {limit:?}: {e}"),
    }
    assert!(started.elapsed() >= zhijian_server::BODY_READ_TIMEOUT / 2);
}

#[test]
fn many_idle_connections_do_not_keep_new_clients_out() {
    let s = served();
    // 400 connections that send nothing, and 100 that stop halfway through a head.
    let mut idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(s.addr).expect("connect"))
        .collect();
    for _ in 0..100 {
        let mut c = TcpStream::connect(s.addr).expect("connect");
        c.write_all(b"GET /api/v1/search?q=").expect("write");
        idle.push(c);
    }
    for path in [NORMAL, "/healthz", "/api/v1/search?q=%E5%84%BF%E7%AB%A5"] {
        let started = Instant::now();
        let r = s.get_alone(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} with 500 idle connections: {:?}",
            started.elapsed()
        );
    }
    drop(idle);
}

#[test]
fn range_abuse_on_downloads_is_refused_or_answered_exactly() {
    let s = served();
    let r = s.json("/api/v1/resources/A1-02");
    let url = r["downloads"]["csv"]["url"].as_str().expect("url");
    let path = url.strip_prefix(&s.base()).expect("on this server");
    let full = s.get_alone(path);
    assert_eq!(full.status, 200);
    let len = full.body.len();
    let cases: Vec<(String, &str)> = vec![
        ("bytes=0-9,20-29".into(), "multi-range"),
        ("bytes=0-99,50-149".into(), "overlapping"),
        ("bytes=100-10".into(), "inverted"),
        (format!("bytes={}-", len + 10), "past the end"),
        ("bytes=99999999999999999999-".into(), "overflowing"),
        ("bytes=abc".into(), "garbage"),
        ("items=0-9".into(), "another unit"),
        (
            format!(
                "bytes={}",
                (0..2000)
                    .map(|i| format!("{i}-{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            "2000 ranges",
        ),
    ];
    for (range, what) in &cases {
        let r = http(s.addr, path, &[("Range", range)]);
        match r.status {
            // Ignoring a range it will not serve is allowed (RFC 9110): then the whole file.
            200 => assert_eq!(r.body, full.body, "{what}: 200 with other bytes"),
            206 => {
                let (from, to) = r
                    .header("content-range")
                    .and_then(|c| c.strip_prefix("bytes "))
                    .and_then(|c| c.split_once('/'))
                    .and_then(|(span, _)| span.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
                    .unwrap_or_else(|| panic!("{what}: 206 without a Content-Range"));
                assert_eq!(r.body, full.body[from..=to], "{what}");
            }
            416 => {}
            other => panic!("{what}: {other} {}", r.text()),
        }
    }
    // A suffix range is a range like any other.
    let tail = http(s.addr, path, &[("Range", "bytes=-100")]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, full.body[len - 100..]);
}

#[test]
fn path_traversal_in_every_path_parameter_is_refused() {
    let s = served();
    let snapshot = crate::manifest(s)["id"].as_str().expect("id").to_owned();
    let hostile = [
        "..",
        "%2e%2e",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "....%2F%2F....%2F%2Fetc%2Fpasswd",
        "%00",
        "a%00.parquet",
        "%2Fetc%2Fpasswd",
        "C:%5Cwindows%5Cwin.ini",
        "%E2%80%AE",
    ];
    let long = "a".repeat(10_000);
    let mut paths = Vec::new();
    for h in hostile.iter().copied().chain([long.as_str()]) {
        paths.push(format!("/downloads/{h}/national_spot_checks.csv"));
        paths.push(format!("/downloads/{snapshot}/{h}"));
        paths.push(format!("/downloads/{snapshot}/{h}.csv"));
        paths.push(format!("/api/v1/resources/{h}"));
        paths.push(format!("/api/v1/resources/{h}/rows"));
        paths.push(format!("/api/v1/resources/{h}/facets?_facet=result"));
        paths.push(format!("/api/v1/enterprises/{h}"));
        paths.push(format!("/api/v1/queries/{h}"));
        paths.push(format!("/api/v1/snapshots/{h}/changes"));
        paths.push(format!("/assets/{h}"));
        // Web pages: a page that says nothing was found is fine, a leak or a 5xx is not.
        paths.push(format!("/enterprises/{h}"));
        paths.push(format!("/products/{h}"));
        paths.push(format!("/datasets/{h}"));
    }
    // Unencoded dot segments, as a raw client may send them.
    paths.push("/downloads/../../../etc/passwd".into());
    paths.push(format!("/downloads/{snapshot}/../../snapshots/CURRENT"));
    paths.push("/assets/../../Cargo.toml".into());
    for path in &paths {
        let r = s.get_alone(path);
        let shown: String = path.chars().take(120).collect();
        let page = ["/enterprises/", "/products/", "/datasets/"]
            .iter()
            .any(|p| path.starts_with(p));
        assert!(
            (400..500).contains(&r.status) || (page && r.status == 200),
            "{shown}: {} {}",
            r.status,
            r.text().chars().take(300).collect::<String>()
        );
        let text = r.text();
        assert!(!text.contains("root:x:0:0"), "{shown} leaked /etc/passwd");
        assert!(!text.contains("[package]"), "{shown} leaked a file");
        assert!(
            !text.contains("/tmp/"),
            "{shown} leaked a server path: {text}"
        );
    }
}

#[test]
fn absurd_parameters_get_a_400_naming_them() {
    let s = served();
    let big = "9".repeat(40);
    let columns = (0..500)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(String, &str)> = vec![
        (format!("{NORMAL}&_limit={big}"), "_limit"),
        ("/api/v1/resources/A1-02/rows?_limit=-1".into(), "_limit"),
        ("/api/v1/resources/A1-02/rows?_limit=1e9".into(), "_limit"),
        (
            "/api/v1/resources/A1-02/rows?_limit=100000000".into(),
            "_limit",
        ),
        (
            format!("/api/v1/resources/A1-02/facets?_facet=result&_facet_size={big}"),
            "_facet_size",
        ),
        (
            "/api/v1/resources/A1-02/facets?_facet=result&_facet_size=0".into(),
            "_facet_size",
        ),
        (format!("/api/v1/search?q=a&_offset={big}"), "_offset"),
        ("/api/v1/search?q=a&_offset=100000000".into(), "_offset"),
        ("/api/v1/search?q=a&_limit=100000".into(), "_limit"),
        (
            format!("/api/v1/spot-checks/stats?group_by={columns}"),
            "group_by",
        ),
        (
            "/api/v1/spot-checks/stats?group_by=record_id".into(),
            "group_by",
        ),
        (
            "/api/v1/spot-checks/stats?group_by=plan_year&_limit=99999999".into(),
            "_limit",
        ),
        (
            format!("/api/v1/resources/A1-02/rows?_sort={columns}"),
            "_sort",
        ),
        (
            format!("/api/v1/resources/A1-02/rows?_fields={columns}"),
            "_fields",
        ),
        (
            "/api/v1/resources/A1-02/rows?plan_year__gte=99999999999999999999999".into(),
            "plan_year__gte",
        ),
        (
            "/api/v1/resources/A1-02/rows?announced_on__gte=2024-13-45".into(),
            "announced_on__gte",
        ),
    ];
    for (path, parameter) in &cases {
        let r = s.get_alone(path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let e = envelope(path, &r);
        assert_eq!(e["error"]["parameter"], *parameter, "{path}: {e}");
    }
    // Thousands of filters in one query string are refused (DataFusion plans an expression
    // recursively: 3000 conditions overflowed a thread's stack), as many as allowed answer.
    let filters = |n: usize| {
        (0..n)
            .map(|i| format!("brand__ne=b{i}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let r = s.get_alone(&format!(
        "/api/v1/resources/A1-02/rows?{}&_limit=1",
        filters(3000)
    ));
    assert_eq!(r.status, 400, "{}", r.text());
    let e = envelope("3000 filters", &r);
    assert_eq!(e["error"]["parameter"], "brand__ne", "{e}");
    let most = zhijian_query::api::MAX_FILTERS;
    let r = s.get_alone(&format!(
        "/api/v1/resources/A1-02/rows?{}&_limit=1",
        filters(most)
    ));
    assert_eq!(r.status, 200, "{most} filters: {}", r.text());
}

/// 200, or a clear refusal.
fn clear_or_ok(what: &str, r: &HttpResponse) {
    if r.status != 200 {
        clear_refusal(what, r);
    }
}

#[test]
fn hostile_json_bodies_are_refused() {
    let s = served();
    let post = |body: &[u8], headers: &[(&str, &str)]| {
        request(s.addr, "POST", "/api/v1/sql", headers, body)
    };
    let json = [("Content-Type", "application/json")];
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        "{{\"sql\": {}\"SELECT 1\"{}}}",
        "{\"a\": ".repeat(50_000),
        "}".repeat(50_000)
    );
    let long_sql = format!("{{\"sql\": \"SELECT {}1\"}}", "1 + ".repeat(60_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nested arrays", nested.into_bytes()),
        ("nested objects", deep_object.into_bytes()),
        ("a 240 KiB expression", long_sql.into_bytes()),
        ("not JSON", b"\xff\xfe\x00garbage".to_vec()),
        ("a number", b"1e999999".to_vec()),
        ("sql not a string", br#"{"sql": ["SELECT 1"]}"#.to_vec()),
        (
            "duplicate keys",
            br#"{"sql": "SELECT 1", "sql": "SELECT 2", "limit": -5}"#.to_vec(),
        ),
    ];
    for (what, body) in &cases {
        let r = post(body, &json);
        clear_refusal(what, &r);
        envelope(what, &r);
    }
    // Request compression is not accepted: a gzip bomb is not inflated.
    let gzip_bomb = {
        // A gzip member of 1 GiB of zeros would be ~1 MiB; a small valid header is enough
        // to show the body is not inflated: the server reads it as the JSON it is not.
        let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        g.extend_from_slice(&[0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00, 0x00, 0xc2]);
        g
    };
    let r = post(
        &gzip_bomb,
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
    );
    clear_refusal("a gzip body", &r);
    assert_eq!(s.get_alone(NORMAL).status, 200);
}

/// A cursor as the API writes it: the hex of its JSON.
fn cursor_of(doc: &Value) -> String {
    doc.to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn tampered_and_foreign_cursors_are_refused() {
    let s = served();
    let base = "/api/v1/resources/A1-02/rows?_limit=5&_sort=-announced_on";
    let page = s.json(base);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).expect("hex"))
        .collect();
    let doc: Value = serde_json::from_slice(&bytes).expect("a cursor is JSON");
    let with = |key: &str, value: Value| {
        let mut d = doc.clone();
        d[key] = value;
        cursor_of(&d)
    };
    let n = doc["v"].as_array().map_or(0, Vec::len);
    // Refused with a 400 naming `_cursor`.
    let refused = [
        ("not hex", "zz".repeat(20)),
        ("odd length", cursor[..cursor.len() - 1].to_owned()),
        (
            "truncated JSON",
            cursor[..(cursor.len() / 2) & !1].to_owned(),
        ),
        ("a huge one", "ab".repeat(20_000)),
        ("no values", with("v", Value::Null)),
        ("too few values", with("v", serde_json::json!([]))),
        (
            "too many values",
            with("v", Value::Array(vec![Value::from(1); n + 3])),
        ),
        (
            "values of the wrong type",
            with("v", Value::Array(vec![serde_json::json!({"$ne": 1}); n])),
        ),
        (
            "another sort",
            with("o", Value::from("plan_year,record_id")),
        ),
        (
            "a sort on no field",
            with("o", Value::from("x); DROP TABLE t; --")),
        ),
    ];
    for (what, c) in &refused {
        let r = s.get_alone(&format!("{base}&_cursor={c}"));
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert_eq!(
            envelope(what, &r)["error"]["parameter"],
            "_cursor",
            "{what}"
        );
    }
    // A cursor of a snapshot this server never had: unknown (404).
    let r = s.get_alone(&format!(
        "{base}&_cursor={}",
        with("s", Value::from("0000000000000000"))
    ));
    assert!(r.status == 404 || r.status == 410, "{}", r.text());
    envelope("another snapshot", &r);
    // Values that are text where text is expected are positions like any other, never SQL.
    let mut values = doc["v"].as_array().cloned().unwrap_or_default();
    for v in values.iter_mut() {
        if v.is_string() {
            *v = Value::from("2024-01-01' OR '1'='1");
        }
    }
    let r = s.get_alone(&format!(
        "{base}&_cursor={}",
        with("v", Value::Array(values))
    ));
    assert!(r.status == 200 || r.status == 400, "{}", r.text());
    if r.status == 400 {
        assert_eq!(
            envelope("quoted values", &r)["error"]["parameter"],
            "_cursor"
        );
    }
}

/// A server with one heavy slot, a queue of one and a short wait, so that a burst of heavy
/// requests is shed at once.
fn narrow_server() -> (SocketAddr, Arc<Governor>) {
    let mut config = GovernorConfig::for_machine(1024 * 1024 * 1024, 1);
    for class in [Class::Heavy, Class::Export] {
        let c = config.class_mut(class);
        c.slots = 1;
        c.queue = 1;
        c.wait = Duration::from_millis(200);
    }
    let governor = Governor::new(config).expect("governor");
    let handle = governor.clone();
    let addr = start_state(&served().warehouse, move |state| {
        state.with_governor(governor)
    });
    (addr, handle)
}

#[test]
fn heavy_requests_in_parallel_are_answered_or_shed_and_light_ones_keep_going() {
    let (addr, governor) = narrow_server();
    // The index is not built on this server yet: these all go to SQL.
    let heavy: Vec<String> = vec![
        "/api/v1/resources/A1-02/facets?_facet=enterprise_address&_facet_size=1000&_q=%E6%9C%89%E9%99%90".into(),
        "/api/v1/resources/A1-02/facets?_facet=remarks&_facet_size=1000&_q=%E5%85%AC%E5%8F%B8".into(),
        "/api/v1/resources/A1-02/rows?_format=xlsx&_limit=100000".into(),
        "/api/v1/resources/A1-02/rows?_format=csv&_limit=100000&_sort=enterprise_address".into(),
        "/api/v1/spot-checks/stats?group_by=province&group_by=year&_q=%E6%9C%89%E9%99%90".into(),
        "/api/v1/resources/A1-02/rows?enterprise_address__contains=%E8%B7%AF&_sort=remarks&_limit=1000".into(),
    ];
    let burst: Vec<_> = (0..24)
        .map(|i| {
            let path = heavy[i % heavy.len()].clone();
            std::thread::spawn(move || (path.clone(), http(addr, &path, &[])))
        })
        .collect();
    // Meanwhile light requests keep answering.
    let mut light = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let r = http(addr, "/healthz", &[]);
        assert_eq!(r.status, 200);
        let r = http(addr, "/api/v1/resources/A1-02", &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        light.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let answers: Vec<(String, HttpResponse)> = burst
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let mut shed = 0;
    for (path, r) in &answers {
        if r.status == 503 {
            shed += 1;
            assert_eq!(envelope(path, r)["error"]["code"], "busy");
        }
        clear_or_ok(path, r);
    }
    assert!(shed > 0, "24 heavy requests on one slot: none shed");
    assert!(
        light.iter().all(|t| *t < Duration::from_secs(5)),
        "light requests while heavy ones ran: {light:?}"
    );
    // The governor counted them, and /metrics says so.
    let stats = governor.stats();
    let heavy_stats = stats
        .iter()
        .find(|c| c.class == Class::Heavy)
        .expect("heavy");
    assert!(heavy_stats.shed > 0 || stats.iter().any(|c| c.shed > 0));
    let metrics = http(addr, "/metrics", &[]).text();
    for needle in [
        "zhijian_memory_limit_bytes 1073741824",
        "zhijian_class_slots{class=\"heavy\"} 1",
        "zhijian_class_shed_total{class=\"heavy\"}",
        "zhijian_class_cancelled_total{class=\"export\",reason=\"deadline\"}",
        "zhijian_query_memory_used_bytes",
    ] {
        assert!(metrics.contains(needle), "/metrics lacks {needle}");
    }
    // Once the burst is over, a heavy request is answered again.
    let r = http(addr, &heavy[0], &[]);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_server_error_says_its_code_and_request_id_only() {
    // A manifest that lists a file the disk lacks: the download fails on the server's side.
    let dir = tempfile::tempdir().expect("tempdir");
    zhijian_tests::copy_dir(&served().warehouse, dir.path());
    let snapshot = crate::manifest(served())["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("snapshots")
                .join(format!("{snapshot}.json")),
        )
        .expect("manifest"),
    )
    .expect("json");
    let csv = manifest["resources"]["A1-02"]["downloads"]["csv"]["path"]
        .as_str()
        .expect("csv path");
    std::fs::remove_file(dir.path().join(csv)).expect("remove");
    let addr = start_state(dir.path(), |state| state);
    let url = http(addr, "/api/v1/resources/A1-02", &[]).json()["downloads"]["csv"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let path = url
        .strip_prefix(&format!("http://{addr}"))
        .expect("on this server");
    let r = http(addr, path, &[("X-Request-Id", "hostile-test-1")]);
    assert_eq!(r.status, 500, "{}", r.text());
    let e = envelope("missing file", &r);
    assert_eq!(e["error"]["code"], "internal");
    assert_eq!(e["error"]["request_id"], "hostile-test-1", "{e}");
    let text = r.text();
    assert!(!text.contains(csv), "the body names a server path: {text}");
    assert!(!text.contains(&dir.path().display().to_string()), "{text}");
}
