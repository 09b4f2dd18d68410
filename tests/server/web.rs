use std::path::PathBuf;

use zhijian_tests::url_encode as enc;

use crate::served;

/// Where screenshots are kept after the run: `$CARGO_TARGET_DIR/artefacts/screenshots`.
fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| zhijian_tests::repo_root().join("target"));
    let dir = target.join("artefacts").join("screenshots");
    std::fs::create_dir_all(&dir).expect("artefact directory");
    dir
}

#[test]
fn pages_in_headless_chromium_in_both_languages_and_without_javascript() {
    let s = served();
    let dir = artefacts();
    let script = zhijian_tests::repo_root().join("tests/server/browser.py");
    let output = zhijian_tests::python()
        .arg(&script)
        .arg(s.base())
        .arg(&dir)
        .output()
        .expect("python starts");
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    for (lang, html_lang, label_word) in [("zh", "zh-CN", "搜索"), ("en", "en", "Search")] {
        let p = &r[lang];
        assert_eq!(p["html_lang"], html_lang, "{p}");
        assert_eq!(p["first_tab"], "skip", "keyboard: {p}");
        assert!(
            p["search_label"]
                .as_str()
                .is_some_and(|l| l.contains(label_word)),
            "{p}"
        );
        assert!(p["results_rows"].as_u64().is_some_and(|n| n > 0), "{p}");
        assert!(p["facet_links"].as_u64().is_some_and(|n| n > 0), "{p}");
        assert!(p["filter_chips"].as_u64() == Some(1), "{p}");
        assert_eq!(p["url_has_filter"], true, "{p}");
        assert!(p["history_rows"].as_u64().is_some_and(|n| n > 0), "{p}");
        assert!(
            p["pass_rate"].as_str().is_some_and(|t| !t.is_empty()),
            "{p}"
        );
        assert_eq!(p["charts"], 2, "{p}");
        assert!(p["chart_bars"].as_u64().is_some_and(|n| n > 2), "{p}");
        assert_eq!(p["dataset_links"], 108, "{p}");
        assert!(
            p["citation"].as_str().is_some_and(|c| c.contains("A1-02")),
            "{p}"
        );
        assert_eq!(p["download_sha256_ok"], true, "{p}");
        assert_eq!(p["jsonld"], "Dataset", "{p}");
        // What a researcher checks first: a sample, distributions, the coverage in time.
        assert_eq!(p["sample_rows"], 10, "{p}");
        assert!(
            p["distribution_charts"].as_u64().is_some_and(|n| n >= 2),
            "{p}"
        );
        assert!(
            p["coverage"]
                .as_str()
                .is_some_and(|c| c.chars().filter(char::is_ascii_digit).count() >= 8),
            "declared and observed years: {p}"
        );
        let register = p["register_sample"].as_array().expect("register sample");
        assert!(
            register
                .first()
                .and_then(|v| v.as_str())
                .is_some_and(|c| c.len() == 16 && c.chars().all(|ch| ch.is_ascii_digit())),
            "a CCC certificate number opens the E1-01 sample: {p}"
        );
        assert!(p["register_charts"].as_u64().is_some_and(|n| n >= 2), "{p}");
        assert_eq!(p["sql_rows"], 5, "{p}");
        assert!(
            p["sql_error"]
                .as_str()
                .is_some_and(|e| e.contains("spot_checks")),
            "the error suggests the table: {p}"
        );
    }
    assert!(
        r["zh"]["results_text"]
            .as_str()
            .is_some_and(|t| t.contains("电热")),
        "{r}"
    );
    assert_eq!(r["toggle_lang"], "en");
    assert!(
        r["toggle_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/datasets?lang=en")),
        "{r}"
    );
    assert!(
        r["nojs"]["results_rows"].as_u64().is_some_and(|n| n > 0),
        "{r}"
    );
    assert!(
        r["nojs"]["history_rows"].as_u64().is_some_and(|n| n > 0),
        "{r}"
    );
    let shots = std::fs::read_dir(&dir).expect("screenshots").count();
    assert!(shots >= 15, "{shots} screenshots in {}", dir.display());
}

#[test]
fn pages_are_findable_and_self_contained() {
    let s = served();
    let base = s.base();
    for path in [
        "/",
        "/datasets",
        "/datasets/A1-02",
        "/sql",
        &format!("/search?q={}", enc("电热")),
        &format!("/products/{}", enc("电热水壶")),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{path}"
        );
        let html = r.text();
        for needle in [
            "<title>",
            "name=\"description\"",
            "rel=\"canonical\"",
            "hreflang=\"en\"",
        ] {
            assert!(html.contains(needle), "{path} lacks {needle}");
        }
        // No CDN: every script, stylesheet and image is ours.
        for tag in ["src=\"http", "href=\"//", "src=\"//"] {
            assert!(
                !html.contains(tag),
                "{path} loads something from elsewhere: {tag}"
            );
        }
        assert!(html.contains("/assets/site.css"));
    }
    let sitemap = s.get("/sitemap.xml");
    assert_eq!(sitemap.status, 200);
    let xml = sitemap.text();
    assert!(xml.contains(&format!("<loc>{base}/datasets/A1-02</loc>")));
    assert!(xml.contains("/products/"));
    assert!(xml.contains("/enterprises/"));
    assert!(s.get("/robots.txt").text().contains("Sitemap:"));
    let missing = s.get("/enterprises/no-such-producer");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<h1>"));
    let bad = s.get("/search?q=x&nosuchfield=1");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("nosuchfield"));
}

#[test]
fn usage_is_counted_per_day_without_anything_personal() {
    let s = served();
    let term = "羽绒服装";
    let before = usage_count(s, "searches", term);
    s.get(&format!("/search?q={}", enc(term)));
    // Alone: the twin with the index off shares the warehouse, and would count it too. Four
    // times, so that the term is among the most searched of the shared server (other tests
    // search many terms once or twice).
    for _ in 0..4 {
        s.get_alone(&format!("/api/v1/search?q={}", enc(term)));
    }
    s.get("/datasets");
    let manifest = crate::manifest(s);
    let table = manifest["resources"]["A1-02"]["table"]
        .as_str()
        .expect("table")
        .to_owned();
    let snapshot = manifest["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            std::fs::read_to_string(s.warehouse.join("CURRENT"))
                .expect("CURRENT")
                .trim()
                .to_owned()
        });
    let download = s.get(&format!("/downloads/{snapshot}/{table}.csv"));
    assert_eq!(download.status, 200);
    assert_eq!(usage_count(s, "searches", term), before + 5);
    assert!(usage_count(s, "pages", "datasets") >= 1);
    assert!(usage_count(s, "downloads", &format!("{table}.csv")) >= 1);
    assert!(usage_count(s, "api", "/api/v1/search") >= 1);
    // Nothing personal: no address or agent anywhere in the report.
    let report = s.get("/api/v1/usage?days=366").text();
    assert!(!report.contains("127.0.0.1"));
    let page = s.get("/stats");
    assert_eq!(page.status, 200);
    assert!(page.text().contains(term));
    assert_eq!(s.get("/api/v1/usage?days=0").status, 400);
}

/// A key's count over every day kept (so the test does not depend on the date).
fn usage_count(s: &crate::Served, kind: &str, key: &str) -> u64 {
    s.json("/api/v1/usage?days=366")["totals"][kind]
        .as_array()
        .expect("kind")
        .iter()
        .find(|e| e["key"] == key)
        .and_then(|e| e["count"].as_u64())
        .unwrap_or(0)
}
