use std::path::Path;

use serde_json::Value;
use zhijian_tests::{copy_dir, http, url_encode as enc};

use crate::{comparable, served, sql_rows, start};

/// The shared warehouse copied without its index directory.
fn without_index(to: &Path) -> std::path::PathBuf {
    let w = to.join("warehouse");
    copy_dir(&served().warehouse, &w);
    std::fs::remove_dir_all(w.join("index")).expect("the shared warehouse has an index");
    w
}

/// `/readyz` once the index is ready (it builds or reads in the background).
fn ready(addr: std::net::SocketAddr) -> Value {
    for _ in 0..600 {
        let r = http(addr, "/readyz", &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        if v["index"]["state"] == "ready" {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the index was not ready within 60 s");
}

/// The only file of the warehouse's index directory.
fn index_file(warehouse: &Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(warehouse.join("index"))
        .expect("index dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn a_server_reading_the_index_file_answers_as_one_that_builds_the_index() {
    let s = served();
    let loaded = ready(s.addr);
    assert_eq!(loaded["index"]["source"], "file", "{loaded}");
    assert!(
        loaded["index"]["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("index/")
                && f.ends_with(&format!("-v{}.zjidx", zhijian_query::search::INDEX_FORMAT))),
        "{loaded}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let built_addr = start(&without_index(dir.path()));
    let built = ready(built_addr);
    assert_eq!(built["index"]["source"], "built", "{built}");
    assert!(
        built["index"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no index file")),
        "{built}"
    );
    assert_eq!(built["snapshot"], loaded["snapshot"]);

    // Requests drawn from the data: searches by every searched field (whole values, their
    // first characters), record lookups, producers, facets, statistics and pages.
    let rows = sql_rows(
        s,
        "SELECT record_id, enterprise, enterprise_uscc, brand, product, model_spec \
         FROM spot_checks ORDER BY record_id LIMIT 40",
    );
    let mut paths: Vec<String> = vec![
        "/".into(),
        "/api/v1/search?q=%E7%94%B5%E7%83%AD".into(),
        "/api/v1/search?q=dianre".into(),
        "/api/v1/search?q=dr".into(),
        "/api/v1/search?q=%E7%AB%A5%E8%A3%85&_limit=100".into(),
        "/api/v1/spot-checks/stats?group_by=product".into(),
        "/api/v1/spot-checks/stats?group_by=enterprise_province&result=fail".into(),
        "/api/v1/resources/spot_checks/facets?_facet=product&_facet=enterprise_province&_facet=plan_year&_facet=result".into(),
        "/api/v1/resources/spot_checks/rows?_limit=50".into(),
        "/api/v1/resources/spot_checks/rows?_limit=20&result=fail&_sort=-announced_on".into(),
        "/api/v1/enterprises?q=%E6%9C%89%E9%99%90".into(),
    ];
    for r in &rows {
        for field in ["enterprise", "brand", "product", "model_spec"] {
            let Some(v) = r[field].as_str() else { continue };
            paths.push(format!("/api/v1/search?q={}", enc(v)));
            let head: String = v.chars().take(2).collect();
            paths.push(format!("/api/v1/search?q={}&_limit=5", enc(&head)));
        }
        if let Some(id) = r["record_id"].as_str() {
            paths.push(format!(
                "/api/v1/resources/spot_checks/rows?record_id={}",
                enc(id)
            ));
        }
        if let Some(name) = r["enterprise"].as_str() {
            paths.push(format!("/api/v1/enterprises?q={}", enc(name)));
        }
    }
    // A keyset page deep in the default order, followed once.
    let first = http(s.addr, "/api/v1/resources/spot_checks/rows?_limit=500", &[]).json();
    if let Some(next) = first["next"].as_str() {
        paths.push(next.replace(&s.base(), ""));
    }
    let base_loaded = s.base();
    let base_built = format!("http://{built_addr}");
    for path in &paths {
        let a = http(s.addr, path, &[]);
        let b = http(built_addr, path, &[]);
        assert_eq!(a.status, b.status, "{path}: {} / {}", a.text(), b.text());
        let json = a
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"));
        if json {
            let b_text = b.text().replace(&base_built, &base_loaded);
            let b: Value = serde_json::from_str(&b_text).expect("json");
            assert_eq!(
                comparable(a.json()),
                comparable(b),
                "{path}: the index read from its file answers differently"
            );
        } else {
            assert_eq!(
                a.text(),
                b.text().replace(&base_built, &base_loaded),
                "{path}"
            );
        }
    }
    // Producers by key, from what the search found.
    let found = http(
        s.addr,
        "/api/v1/enterprises?q=%E5%85%AC%E5%8F%B8&_limit=20",
        &[],
    )
    .json();
    let keys: Vec<String> = found["enterprises"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["key"].as_str().map(str::to_owned))
        .collect();
    assert!(!keys.is_empty(), "{found}");
    for key in keys {
        let path = format!("/api/v1/enterprises/{}", enc(&key));
        let (a, b) = (http(s.addr, &path, &[]), http(built_addr, &path, &[]));
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        let b_text = b.text().replace(&base_built, &base_loaded);
        assert_eq!(
            comparable(a.json()),
            comparable(serde_json::from_str(&b_text).expect("json")),
            "{path}"
        );
    }
}

#[test]
fn a_damaged_stale_or_foreign_index_file_is_refused_and_the_index_built() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = index_file(&served().warehouse);
    let bytes = std::fs::read(&original).expect("index file");
    let name = original
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    let flipped = {
        let mut b = bytes.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
        b
    };
    // The stored digest itself: only the digest can tell.
    let mut digest = bytes.clone();
    let at = digest.len() - 40;
    digest[at] ^= 0x55;
    let mut foreign = bytes.clone();
    // The key is stored after the magic, the version and its length: another key.
    foreign[20] = if foreign[20] == b'0' { b'1' } else { b'0' };
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        // Refused by the check of the section the byte lands in, or else by the digest.
        ("flipped", name.clone(), flipped, "index file refused"),
        ("digest", name.clone(), digest, "digest"),
        (
            "truncated",
            name.clone(),
            bytes[..bytes.len() / 3].to_vec(),
            "",
        ),
        ("foreign", name.clone(), foreign, "other spot-check files"),
        (
            "older format",
            name.replace(
                &format!("-v{}.zjidx", zhijian_query::search::INDEX_FORMAT),
                "-v1.zjidx",
            ),
            bytes.clone(),
            "format [1]",
        ),
        (
            "not an index",
            name.clone(),
            b"hello".repeat(20),
            "not a zhijian index",
        ),
    ];
    for (i, (case, file, content, reason)) in cases.into_iter().enumerate() {
        let w = without_index(&dir.path().join(i.to_string()));
        std::fs::create_dir_all(w.join("index")).expect("mkdir");
        std::fs::write(w.join("index").join(&file), &content).expect("write");
        let addr = start(&w);
        let r = ready(addr);
        assert_eq!(r["index"]["source"], "built", "{case}: {r}");
        let why = r["index"]["reason"].as_str().unwrap_or_default();
        assert!(why.contains(reason), "{case}: {why}");
        // And it answers from what it built.
        let found = http(addr, "/api/v1/search?q=%E7%94%B5%E7%83%AD", &[]);
        assert_eq!(found.status, 200, "{case}: {}", found.text());
        assert_eq!(
            comparable(found.json()),
            comparable(http(served().addr, "/api/v1/search?q=%E7%94%B5%E7%83%AD", &[]).json()),
            "{case}"
        );
    }
}
