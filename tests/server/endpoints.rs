use crate::served;

#[test]
fn catalog_is_six_by_twenty_four_by_one_hundred_and_eight_with_row_counts() {
    let s = served();
    let c = s.json("/api/v1/catalog");
    assert_eq!(c["counts"]["categories"], 6);
    assert_eq!(c["counts"]["subcategories"], 24);
    assert_eq!(c["counts"]["resources"], 108);
    let resources: Vec<&serde_json::Value> = c["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .flat_map(|cat| cat["subcategories"].as_array().expect("subs"))
        .flat_map(|sub| sub["resources"].as_array().expect("resources"))
        .collect();
    assert_eq!(resources.len(), 108);
    assert!(resources.iter().all(|r| r["rows"].as_u64().is_some()));
    let manifest = crate::manifest(s);
    assert_eq!(c["snapshot"], manifest["id"]);

    let list = s.json("/api/v1/resources");
    assert_eq!(list["resources"].as_array().map(Vec::len), Some(108));
}

#[test]
fn a_resource_carries_schema_lineage_downloads_and_citation() {
    let s = served();
    let r = s.json("/api/v1/resources/A1-02");
    assert_eq!(r["id"], "A1-02");
    assert!(r["title_zh"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(r["title_en"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        r["schema"]["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["name"] == "failed_items"))
    );
    assert!(r["rows"].as_u64().unwrap_or(0) > 100);
    assert!(r["sources"].as_array().is_some_and(|s| !s.is_empty()));
    for fmt in ["parquet", "csv", "xlsx"] {
        let url = r["downloads"][fmt]["url"].as_str().expect(fmt);
        assert!(url.starts_with(&s.base()), "{url}");
        assert_eq!(
            r["downloads"][fmt]["sha256"].as_str().map(str::len),
            Some(64)
        );
    }
    let cite = r["citation"]["text_zh"].as_str().expect("citation");
    assert!(
        cite.contains(r["snapshot"].as_str().expect("snapshot")),
        "{cite}"
    );
}

#[test]
fn unknown_things_are_json_404s_and_empty_results_are_200() {
    let s = served();
    for path in [
        "/api/v1/resources/Z9-99",
        "/api/v1/nothing",
        "/api/v1/resources/Z9-99/rows",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}");
        let e = r.json();
        assert!(
            e["error"]["code"].is_string() && e["error"]["message"].is_string(),
            "{e}"
        );
    }
    let r = s.json("/api/v1/resources/A1-02/rows?product=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E4%BA%A7%E5%93%81");
    assert_eq!(r["rows"].as_array().map(Vec::len), Some(0));
    assert_eq!(r["count"], 0);
    assert!(r["next_cursor"].is_null());
}

#[test]
fn operations_endpoints_answer() {
    let s = served();
    assert_eq!(s.json("/healthz")["status"], "ok");
    let ready = s.json("/readyz");
    assert_eq!(ready["status"], "ready");
    let _ = s.get("/api/v1/catalog");
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    let text = m.text();
    assert!(
        text.contains("zhijian_http_requests_total{route=\"/api/v1/catalog\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("zhijian_snapshot_info{snapshot="));
    // Request ids are set and returned.
    let r = s.get("/healthz");
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[test]
fn metadata_documents_describe_the_whole_catalog() {
    let s = served();
    let dp = s.json("/datapackage.json");
    let resources = dp["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 108);
    let snapshot = crate::manifest(s)["id"].as_str().expect("id").to_owned();
    assert!(
        resources
            .iter()
            .all(|r| r["path"].as_str().is_some_and(|p| p.contains(&snapshot))),
        "paths point at this snapshot's downloads"
    );
    let r = s.get("/catalog.jsonld");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/ld+json"));
    assert!(r.json()["@context"].is_object() || r.json()["@context"].is_array());
}

#[test]
fn openapi_json_is_served_committed_and_current() {
    let s = served();
    let served_doc = s.json("/openapi.json");
    assert!(
        served_doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let committed_path = zhijian_tests::repo_root().join("openapi.json");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    let generated = zhijian_server::openapi_json();
    assert!(
        committed == generated,
        "openapi.json is stale: run `cargo run -p zhijian -- openapi > openapi.json` and commit it"
    );
    let paths = served_doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/catalog",
        "/api/v1/resources",
        "/api/v1/resources/{id}",
        "/api/v1/resources/{id}/rows",
        "/api/v1/resources/{id}/facets",
        "/api/v1/spot-checks/stats",
        "/api/v1/snapshots",
        "/api/v1/snapshots/{id}/changes",
        "/downloads/{snapshot}/{file}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[test]
fn docs_are_served_without_any_cdn() {
    let s = served();
    let mut r = s.get("/docs/");
    if r.status == 303 || r.status == 301 || r.status == 308 {
        r = s.get(r.header("location").expect("location"));
    }
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("swagger"), "{html}");
    for needle in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "googleapis"] {
        assert!(!html.contains(needle), "the docs page loads {needle}");
    }
    // Its script and stylesheet are served by us.
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        assert_eq!(s.get(asset).status, 200, "{asset}");
    }
}

/// A client that never finishes its request head is cut off (docs/SECURITY.md: `axum::serve` set
/// no header-read timeout), and the server answers others meanwhile.
#[test]
fn a_request_head_that_never_ends_is_cut_off() {
    use std::io::{Read, Write};
    let s = served();
    let mut slow = std::net::TcpStream::connect(s.addr).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: zhijian\r\nX-Slow: ")
        .expect("write");
    let limit = zhijian_server::HEADER_READ_TIMEOUT * 3;
    slow.set_read_timeout(Some(limit)).expect("timeout");
    assert_eq!(s.json("/healthz")["status"], "ok");
    let mut answer = Vec::new();
    match slow.read_to_end(&mut answer) {
        // Closed, with a 408 or without a word.
        Ok(_) => {
            let text = String::from_utf8_lossy(&answer);
            assert!(
                answer.is_empty() || text.starts_with("HTTP/1.1 408"),
                "{text}"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open past {limit:?}: {e}"),
    }
}
