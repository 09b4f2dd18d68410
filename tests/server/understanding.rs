//! Search as people type: everyday product words, partial and mistyped names, questions whose
//! words are filters. Measured on a held-out query set (`data/search_queries.tsv`, labelled
//! from the plans' product lists and everyday usage, see its header), and the product
//! thesaurus checked against what the search shows.

use std::collections::BTreeMap;

use serde_json::Value;
use zhijian_tests::url_encode as enc;

use crate::{Served, served, sql_rows};

/// A labelled query.
struct Labelled {
    kind: String,
    q: String,
    products: Vec<String>,
    filters: Vec<(String, String)>,
}

fn queries() -> Vec<Labelled> {
    include_str!("data/search_queries.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 4, "a query line has 5 columns: {l}");
            Labelled {
                kind: cols[0].to_owned(),
                q: cols[1].to_owned(),
                products: cols[2].split('、').map(str::to_owned).collect(),
                filters: cols[3]
                    .split(';')
                    .filter(|f| !f.is_empty())
                    .map(|f| {
                        let (k, v) = f.split_once('=').expect("field=value");
                        (k.to_owned(), v.to_owned())
                    })
                    .collect(),
            }
        })
        .collect()
}

fn lit(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Rows the label selects, by SQL: what a correct answer must show.
fn truth(s: &Served, l: &Labelled) -> u64 {
    let mut cond = vec![format!(
        "product IN ({})",
        l.products
            .iter()
            .map(|p| lit(p))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    for (k, v) in &l.filters {
        cond.push(match k.as_str() {
            "plan_year" => format!("plan_year = {v}"),
            _ => format!("{k} = {}", lit(v)),
        });
    }
    let rows = sql_rows(
        s,
        &format!(
            "SELECT count(*) AS n FROM spot_checks WHERE {}",
            cond.join(" AND ")
        ),
    );
    rows.first().and_then(|r| r["n"].as_u64()).unwrap_or(0)
}

/// The filters the answer says it read, as (field, value) text.
fn understood_filters(r: &Value) -> BTreeMap<String, String> {
    let u = &r["understood"];
    ["result", "plan_year", "enterprise_province", "check_level"]
        .iter()
        .filter_map(|k| {
            let v = &u[*k];
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some(((*k).to_owned(), text))
        })
        .collect()
}

#[test]
fn held_out_queries_people_type_find_their_product() {
    let s = served();
    let all = queries();
    assert!(all.len() >= 150, "{} queries", all.len());
    // Per kind: (measured, found, sum of reciprocal ranks).
    let mut by_kind: BTreeMap<String, (u32, u32, f64)> = BTreeMap::new();
    let mut unmeasured = Vec::new();
    let mut missed = Vec::new();
    for l in &all {
        if truth(s, l) == 0 {
            unmeasured.push(l.q.clone());
            continue;
        }
        let r = s.json(&format!("/api/v1/search?q={}&_limit=10", enc(&l.q)));
        let read = understood_filters(&r);
        let wanted: BTreeMap<String, String> = l.filters.iter().cloned().collect();
        let rank = r["rows"].as_array().and_then(|rows| {
            rows.iter().position(|row| {
                row["product"]
                    .as_str()
                    .is_some_and(|p| l.products.iter().any(|w| w == p))
            })
        });
        let slot = by_kind.entry(l.kind.clone()).or_default();
        slot.0 += 1;
        match rank {
            Some(k) if read == wanted => {
                slot.1 += 1;
                slot.2 += 1.0 / (k as f64 + 1.0);
            }
            _ => missed.push(format!(
                "{} `{}`: first right row {rank:?}, read {read:?} (wanted {wanted:?}), understood {}",
                l.kind, l.q, r["understood"]
            )),
        }
    }
    let (mut n, mut found, mut rr) = (0, 0, 0.0);
    println!("kind         queries  recall@10  MRR");
    for (kind, (k, f, r)) in &by_kind {
        println!(
            "{kind:<12} {k:>7}  {:>9.3}  {:.3}",
            f64::from(*f) / f64::from(*k),
            r / f64::from(*k)
        );
        n += k;
        found += f;
        rr += r;
    }
    let recall = f64::from(found) / f64::from(n);
    println!(
        "all          {n:>7}  {recall:>9.3}  {:.3}   ({} of {} queries have no rows in this snapshot)",
        rr / f64::from(n),
        unmeasured.len(),
        all.len()
    );
    for m in &missed {
        println!("missed: {m}");
    }
    assert!(
        n >= 150,
        "only {n} queries measurable; without rows: {unmeasured:?}"
    );
    assert!(
        recall >= 0.95,
        "recall@10 {recall:.3} below 0.95:\n{}",
        missed.join("\n")
    );
}

#[test]
fn a_question_is_read_into_a_product_and_filters() {
    let s = served();
    let r = s.json(&format!(
        "/api/v1/search?q={}&_limit=50",
        enc("浙江的电水壶质量怎么样 不合格")
    ));
    let u = &r["understood"];
    assert_eq!(u["product"], "电热水壶", "{u}");
    assert_eq!(u["enterprise_province"], "浙江省", "{u}");
    assert_eq!(u["result"], "fail", "{u}");
    let roles: Vec<&str> = u["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter_map(|p| p["role"].as_str())
        .collect();
    assert!(roles.contains(&"ignored"), "{roles:?}");
    // The rows are what the filters and the product say, and as many as SQL counts.
    let rows = r["rows"].as_array().expect("rows");
    for row in rows {
        assert_eq!(row["product"], "电热水壶");
        assert_eq!(row["enterprise_province"], "浙江省");
        assert_eq!(row["result"], "fail");
    }
    let n = sql_rows(
        s,
        "SELECT count(*) AS n FROM spot_checks WHERE product = '电热水壶' \
         AND enterprise_province = '浙江省' AND result = 'fail'",
    )[0]["n"]
        .as_u64();
    assert_eq!(r["count"].as_u64(), n);
    // A parameter for the same field wins over the word.
    let r = s.json(&format!(
        "/api/v1/search?q={}&result=pass&_limit=5",
        enc("电水壶 不合格")
    ));
    assert!(r["understood"]["result"].is_null(), "{}", r["understood"]);
    for row in r["rows"].as_array().expect("rows") {
        assert_eq!(row["result"], "pass");
    }
}

#[test]
fn words_and_a_product_both_hold_the_rows() {
    let s = served();
    // A producer that made kettles, by its name's first characters.
    let row = &sql_rows(
        s,
        "SELECT enterprise FROM spot_checks WHERE product = '电热水壶' \
         AND enterprise IS NOT NULL ORDER BY enterprise LIMIT 1",
    )[0];
    let name = row["enterprise"].as_str().expect("enterprise");
    let r = s.json(&format!(
        "/api/v1/search?q={}&_limit=100",
        enc(&format!("{name} 烧水壶"))
    ));
    assert!(r["count"].as_u64() > Some(0), "{r}");
    for row in r["rows"].as_array().expect("rows") {
        assert_eq!(row["product"], "电热水壶", "{row}");
        assert!(
            row["enterprise"].as_str().is_some_and(|e| e.contains(name)),
            "{row}"
        );
    }
}

#[test]
fn nothing_matched_suggests_the_nearest_products() {
    let s = served();
    // 空调 is a word for 房间空气调节器, which this snapshot has no rows of.
    let r = s.json(&format!("/api/v1/search?q={}", enc("空调")));
    assert_eq!(r["count"], 0, "{r}");
    assert_eq!(r["understood"]["product"], "房间空气调节器", "{r}");
    let suggestions = r["suggestions"].as_array().expect("suggestions");
    assert!(!suggestions.is_empty(), "{r}");
    for sug in suggestions {
        let q = sug["q"].as_str().expect("q");
        let again = s.json(&format!("/api/v1/search?q={}&_limit=1", enc(q)));
        assert_eq!(again["count"], sug["batches"], "{q}");
    }
    // The page says so too.
    let page = s.get(&format!("/search?q={}", enc("空调"))).text();
    assert!(page.contains("id=\"suggestions\""), "{page}");
}

#[test]
fn the_thesaurus_is_published_and_every_shared_word_shows_all_its_products() {
    let s = served();
    let list = s.json("/api/v1/products");
    let catalog = zhijian_catalog::Catalog::builtin().expect("catalog");
    assert_eq!(
        list["count"].as_u64(),
        Some(catalog.products.products.len() as u64)
    );
    // Every product of the generator's corpus has an entry.
    assert_eq!(
        list["unlisted"],
        serde_json::json!([]),
        "{}",
        list["unlisted"]
    );
    let kettle = list["products"]
        .as_array()
        .expect("products")
        .iter()
        .find(|p| p["name"] == "电热水壶")
        .expect("电热水壶");
    let n = sql_rows(
        s,
        "SELECT count(*) AS n FROM spot_checks WHERE product = '电热水壶'",
    )[0]["n"]
        .as_u64();
    assert_eq!(kettle["batches"].as_u64(), n);
    assert!(kettle["everyday"].as_array().is_some_and(|w| !w.is_empty()));
    // A shared word shows the rows of every product that lists it (those the snapshot has).
    let batches: BTreeMap<String, u64> = list["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["batches"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for word in &catalog.products.shared {
        let owners: Vec<&str> = catalog
            .products
            .products
            .iter()
            .filter(|p| {
                p.words().any(|(_, w)| {
                    zhijian_catalog::thesaurus::word_key(w)
                        == zhijian_catalog::thesaurus::word_key(word)
                })
            })
            .map(|p| p.name.as_str())
            .filter(|n| batches.get(*n).is_some_and(|b| *b > 0))
            .collect();
        if owners.len() < 2 {
            continue;
        }
        let r = s.json(&format!("/api/v1/search?q={}&_limit=1", enc(word)));
        let shown: Vec<&str> = r["facets"]["product"]["values"]
            .as_array()
            .expect("product facet")
            .iter()
            .filter_map(|v| v["value"].as_str())
            .collect();
        for o in &owners {
            assert!(shown.contains(o), "`{word}` does not show {o}: {shown:?}");
        }
    }
}

#[test]
fn the_search_page_shows_how_it_read_the_query_as_removable_chips() {
    let s = served();
    let page = s
        .get(&format!("/search?q={}", enc("2023 电热水壶 不合格")))
        .text();
    assert!(page.contains("id=\"understood\""), "{page}");
    assert!(page.contains("年度: 2023"), "{page}");
    // Removing the year searches the rest.
    let without_year = format!("/search?q={}", enc("电热水壶 不合格"));
    assert!(
        page.contains(&without_year.replace('&', "&amp;")) || page.contains(&without_year),
        "no chip dropping the year: {page}"
    );
}
