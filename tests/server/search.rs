use serde_json::{Value, json};
use zhijian_tests::url_encode as enc;

use crate::{Served, served, sql_rows};

/// A labelled query: what the public types, and the words (simplified, lower case) whose
/// values are the relevant answers, in any searched field.
struct Label {
    q: &'static str,
    words: &'static [&'static str],
}

const fn l(q: &'static str, words: &'static [&'static str]) -> Label {
    Label { q, words }
}

/// The labelled query set: two-character words, colloquial product names, full-width and
/// traditional input, pinyin of trade names and products, initials. Model numbers with typos
/// are added from the corpus at run time.
const LABELS: &[Label] = &[
    // Two-character words inside longer names: what trigram indexes miss.
    l("电热", &["电热"]),
    l("玩具", &["玩具"]),
    l("童车", &["童车"]),
    l("文具", &["文具"]),
    l("毛巾", &["毛巾"]),
    l("皮鞋", &["皮鞋"]),
    l("箱包", &["箱包"]),
    l("灯具", &["灯具"]),
    l("家具", &["家具"]),
    l("眼镜", &["眼镜"]),
    l("燃气", &["燃气"]),
    l("水泥", &["水泥"]),
    l("涂料", &["涂料"]),
    l("肥料", &["肥料"]),
    l("薄膜", &["薄膜"]),
    l("电线", &["电线"]),
    l("插座", &["插座"]),
    l("血压", &["血压"]),
    l("甲醛", &["甲醛"]),
    l("纤维", &["纤维"]),
    l("水表", &["水表"]),
    l("床垫", &["床垫"]),
    // What people call products.
    l("童装", &["儿童及婴幼儿服装"]),
    l("热水壶", &["电热水壶"]),
    l("电饭煲", &["电饭锅"]),
    l("瓷砖", &["陶瓷砖"]),
    l("油烟机", &["吸油烟机"]),
    l("电磁炉", &["电磁灶"]),
    l("电动车", &["电动自行车"]),
    // Full-width and traditional input.
    l("ＬＥＤ", &["led"]),
    l("ｐＨ", &["ph"]),
    l("電熱水壺", &["电热水壶"]),
    l("陶瓷磚", &["陶瓷砖"]),
    l("電線電纜", &["电线电缆"]),
    l("紙尿褲", &["纸尿裤"]),
    l("眼鏡", &["眼镜"]),
    l("電動自行車", &["电动自行车"]),
    // Pinyin of trade names and products.
    l("hengda", &["恒达"]),
    l("meile", &["美乐"]),
    l("kangtai", &["康泰"]),
    l("yongchang", &["永昌"]),
    l("ruixiang", &["瑞翔"]),
    l("dianchuifeng", &["电吹风"]),
    l("shuini", &["水泥"]),
    l("maojin", &["毛巾"]),
    // Initials.
    l("dcf", &["电吹风"]),
    l("aqm", &["安全帽"]),
    l("dzxyj", &["电子血压计"]),
];

const COLUMNS: &[(&str, &str)] = &[
    ("enterprise", "enterprise"),
    ("brand", "brand"),
    ("product", "product"),
    ("model_spec", "model_spec"),
    ("inspection_agency", "inspection_agency"),
];

/// Distinct (field, value) pairs whose lower-cased value contains one of `words`: the
/// relevant answers, by plain SQL.
fn relevant(s: &Served, words: &[&str]) -> Vec<(String, String)> {
    let cond = |col: &str| {
        words
            .iter()
            .map(|w| format!("strpos(lower({col}), '{w}') > 0"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let mut parts: Vec<String> = COLUMNS
        .iter()
        .map(|(name, col)| {
            format!(
                "SELECT DISTINCT '{name}' AS f, {col} AS v FROM spot_checks WHERE {}",
                cond(col)
            )
        })
        .collect();
    parts.push(format!(
        "SELECT DISTINCT 'failed_item' AS f, item AS v FROM (SELECT unnest(failed_items) AS item FROM spot_checks) WHERE {}",
        cond("item")
    ));
    sql_rows(s, &parts.join(" UNION ALL "))
        .iter()
        .filter_map(|r| Some((r["f"].as_str()?.to_owned(), r["v"].as_str()?.to_owned())))
        .collect()
}

/// recall@10 of one query: relevant values among the first ten matches, over the relevant
/// values there are (at most ten).
fn recall_at_10(s: &Served, q: &str, relevant: &[(String, String)]) -> (f64, Vec<Value>) {
    let r = s.json(&format!("/api/v1/search?q={}&_limit=5", enc(q)));
    assert!(
        r["count"].as_u64().is_some_and(|n| n > 0),
        "{q}: no rows: {r}"
    );
    let top: Vec<(String, String)> = r["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .take(10)
        .filter_map(|m| {
            Some((
                m["field"].as_str()?.to_owned(),
                m["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let found = top.iter().filter(|t| relevant.contains(t)).count();
    let top: Vec<Value> = top.into_iter().map(|(f, v)| json!([f, v])).collect();
    (found as f64 / relevant.len().min(10) as f64, top)
}

#[test]
fn search_recall_at_10_over_a_labelled_query_set() {
    let s = served();
    // (query, recall@10, its first ten matches)
    let mut scores: Vec<(String, f64, Vec<Value>)> = Vec::new();
    let mut invalid = Vec::new();
    for label in LABELS {
        let rel = relevant(s, label.words);
        if rel.is_empty() {
            invalid.push(label.q);
            continue;
        }
        let (recall, top) = recall_at_10(s, label.q, &rel);
        scores.push((label.q.to_owned(), recall, top));
    }
    assert!(
        invalid.is_empty(),
        "labels with no relevant value in the corpus: {invalid:?}"
    );
    // Model numbers with a typo: one digit changed in a model word of the corpus (letters
    // and digits, as model numbers are), where the misspelt word is in no model.
    let models = sql_rows(
        s,
        "SELECT DISTINCT model_spec FROM spot_checks WHERE model_spec IS NOT NULL ORDER BY model_spec LIMIT 2000",
    );
    let mut typos = 0;
    for m in models.iter().filter_map(|m| m["model_spec"].as_str()) {
        let Some(word) = m.split_whitespace().find(|w| {
            w.len() >= 6
                && w.is_ascii()
                && w.chars().filter(char::is_ascii_digit).count() >= 3
                && w.chars().any(|c| c.is_ascii_alphabetic())
        }) else {
            continue;
        };
        let at = word.rfind(|c: char| c.is_ascii_digit()).expect("a digit");
        let digit = word.as_bytes()[at] - b'0';
        let typo = format!("{}{}{}", &word[..at], (digit + 1) % 10, &word[at + 1..]);
        if !relevant(s, &[&typo.to_lowercase()]).is_empty() {
            continue;
        }
        let rel: Vec<(String, String)> = relevant(s, &[&word.to_lowercase()])
            .into_iter()
            .filter(|(f, _)| f == "model_spec")
            .collect();
        let (recall, top) = recall_at_10(s, &typo, &rel);
        scores.push((format!("{typo} (for {word})"), recall, top));
        typos += 1;
        if typos == 8 {
            break;
        }
    }
    assert_eq!(typos, 8, "the corpus has model numbers to misspell");
    assert!(scores.len() >= 40, "{} labelled queries", scores.len());
    let mean = scores.iter().map(|(_, r, _)| r).sum::<f64>() / scores.len() as f64;
    let misses: Vec<_> = scores.iter().filter(|(_, r, _)| *r < 1.0).collect();
    eprintln!(
        "search recall@10 over {} labelled queries: {mean:.3}; below 1: {misses:?}",
        scores.len()
    );
    assert!(mean >= 0.95, "recall@10 {mean:.3}; misses: {misses:?}");
}

#[test]
fn search_pages_facets_and_filters_with_the_rows_grammar() {
    let s = served();
    let all = s.json(&format!("/api/v1/search?q={}&_limit=100", enc("电热")));
    let count = all["count"].as_u64().expect("count");
    assert!(count > 0);
    // Every row matched one of the values, and says which.
    for row in all["rows"].as_array().expect("rows") {
        let m = &row["_matched"];
        let field = m["field"].as_str().expect("matched field");
        assert!(row.get(field).is_some() || field == "failed_item", "{row}");
    }
    // Facets add up to the count (product: one value per row).
    let facet_sum: u64 = all["facets"]["product"]["values"]
        .as_array()
        .expect("product facet")
        .iter()
        .filter_map(|v| v["count"].as_u64())
        .sum::<u64>()
        + all["facets"]["product"]["other"].as_u64().unwrap_or(0);
    assert_eq!(facet_sum, count, "{}", all["facets"]["product"]);
    // The rows grammar narrows the result: fail + pass = all.
    let fail = s.json(&format!("/api/v1/search?q={}&result=fail", enc("电热")))["count"]
        .as_u64()
        .expect("count");
    let pass = s.json(&format!("/api/v1/search?q={}&result=pass", enc("电热")))["count"]
        .as_u64()
        .expect("count");
    assert_eq!(fail + pass, count);
    // Pages do not overlap.
    let p1 = s.json(&format!("/api/v1/search?q={}&_limit=10", enc("电热")));
    let p2 = s.json(&format!(
        "/api/v1/search?q={}&_limit=10&_offset=10",
        enc("电热")
    ));
    let ids = |p: &Value| -> Vec<String> {
        p["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|r| r["record_id"].as_str().map(str::to_owned))
            .collect()
    };
    let (a, b) = (ids(&p1), ids(&p2));
    assert_eq!(a.len(), 10);
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    // Bad input names the parameter.
    for (path, parameter) in [
        ("/api/v1/search", "q"),
        ("/api/v1/search?q=%20", "q"),
        ("/api/v1/search?q=a&_limit=1000", "_limit"),
        ("/api/v1/search?q=a&_offset=x", "_offset"),
        ("/api/v1/search?q=a&_sort=product", "_sort"),
        ("/api/v1/search?q=a&nosuchfield=1", "nosuchfield"),
        ("/api/v1/enterprises", "q"),
        ("/api/v1/enterprises?q=a&x=1", "x"),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["parameter"], parameter, "{path}");
    }
    // Nothing found is an empty 200.
    let none = s.json(&format!("/api/v1/search?q={}", enc("不存在的东西")));
    assert_eq!(none["count"], 0);
    assert_eq!(none["rows"], json!([]));
}

#[test]
fn producers_resolve_by_code_and_name_with_their_whole_history() {
    let s = served();
    // The producer with the most batches whose name has rows both with and without a code.
    let pick = sql_rows(
        s,
        "SELECT a.enterprise_uscc AS uscc, a.enterprise AS name FROM spot_checks a \
         JOIN (SELECT DISTINCT enterprise FROM spot_checks WHERE enterprise_uscc IS NULL) b \
         ON a.enterprise = b.enterprise WHERE a.enterprise_uscc IS NOT NULL \
         GROUP BY a.enterprise_uscc, a.enterprise ORDER BY count(*) DESC, 1 LIMIT 1",
    );
    let uscc = pick[0]["uscc"]
        .as_str()
        .expect("a producer with a code")
        .to_owned();
    let name = pick[0]["name"].as_str().expect("name").to_owned();
    // Found by name (and by code), one entity.
    let found = s.json(&format!("/api/v1/enterprises?q={}", enc(&name)));
    assert_eq!(found["enterprises"][0]["key"], uscc.as_str(), "{found}");
    let by_code = s.json(&format!(
        "/api/v1/enterprises?q={}",
        enc(&uscc.to_lowercase())
    ));
    assert_eq!(by_code["enterprises"][0]["key"], uscc.as_str());
    let url = found["enterprises"][0]["url"].as_str().expect("url");
    let path = url.strip_prefix(&s.base()).expect("same server");
    let e = s.json(path);
    // Its history has every row with its code, and the rows of its name that have none.
    let expected = sql_rows(
        s,
        &format!(
            "SELECT count(*) AS n, sum(CASE WHEN publication_scope = 'full' THEN 1 ELSE 0 END) AS full_rows \
             FROM spot_checks WHERE enterprise_uscc = '{uscc}' OR (enterprise_uscc IS NULL AND enterprise = '{}')",
            name.replace('\'', "''")
        ),
    );
    let n = expected[0]["n"].as_u64().expect("n");
    let without_code = sql_rows(
        s,
        &format!(
            "SELECT count(*) AS n FROM spot_checks WHERE enterprise_uscc IS NULL AND enterprise = '{}'",
            name.replace('\'', "''")
        ),
    )[0]["n"]
        .as_u64()
        .expect("n");
    assert!(without_code > 0);
    assert!(
        e["pass_rate"]["rows"].as_u64().is_some_and(|r| r >= n),
        "{e}"
    );
    assert_eq!(
        e["history"].as_array().map(Vec::len),
        e["pass_rate"]["rows"].as_u64().map(|r| r as usize)
    );
    // The denominator is full-scope rows only; years add up.
    assert!(e["pass_rate"]["batches"].as_u64() >= expected[0]["full_rows"].as_u64());
    let years: u64 = e["by_year"]
        .as_array()
        .expect("by_year")
        .iter()
        .filter_map(|y| y["rows"].as_u64())
        .sum();
    assert_eq!(Some(years), e["pass_rate"]["rows"].as_u64());
    // Every history row belongs to it.
    for row in e["history"].as_array().expect("history") {
        let names: Vec<&str> = e["names"]
            .as_array()
            .expect("names")
            .iter()
            .filter_map(|n| n["name"].as_str())
            .collect();
        assert!(
            row["enterprise_uscc"] == uscc.as_str()
                || (row["enterprise_uscc"].is_null()
                    && names.contains(&row["enterprise"].as_str().unwrap_or(""))),
            "{row}"
        );
    }
    // The export selects the same rows.
    let export = e["export"]["csv"].as_str().expect("export");
    let ndjson = export.replace("_format=csv", "_format=ndjson");
    let csv = s.get(ndjson.strip_prefix(&s.base()).expect("same server"));
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.text().lines().count() as u64,
        e["pass_rate"]["rows"].as_u64().expect("rows")
    );
    // The breakdowns (read from the index once it is built) equal SQL's over its condition.
    let sql = e["sql"].as_str().expect("sql");
    let cond = sql
        .split_once(" WHERE ")
        .and_then(|(_, rest)| rest.rsplit_once(" ORDER BY "))
        .map(|(c, _)| c)
        .expect("a condition");
    for (part, select) in [
        (
            "products",
            "product AS value, count(*) AS count, sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails",
        ),
        (
            "provinces",
            "enterprise_province AS value, count(*) AS count",
        ),
        ("check_levels", "check_level AS value, count(*) AS count"),
    ] {
        let expected = sql_rows(
            s,
            &format!("SELECT {select} FROM spot_checks WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1"),
        );
        assert_eq!(e[part], json!(expected), "{part}");
    }
    let items = sql_rows(
        s,
        &format!(
            "SELECT item AS value, count(*) AS count FROM (SELECT unnest(failed_items) AS item FROM spot_checks WHERE {cond}) GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
    );
    assert_eq!(e["failed_items"], json!(items));
    let newest = sql_rows(
        s,
        &format!(
            "{} LIMIT 5",
            sql.replacen("SELECT *", "SELECT record_id", 1)
        ),
    );
    let history_ids: Vec<&Value> = e["history"]
        .as_array()
        .expect("history")
        .iter()
        .take(5)
        .map(|r| &r["record_id"])
        .collect();
    let sql_ids: Vec<&Value> = newest.iter().map(|r| &r["record_id"]).collect();
    assert_eq!(history_ids, sql_ids);
    // Unknown producers are 404.
    let missing = s.get("/api/v1/enterprises/no-such-producer");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "unknown_enterprise");
}

/// The search answers count, facets, equality filters and order from its index; any other
/// filter runs as SQL. Each answer is compared with the twin's (index off) by `Served::get`.
#[test]
fn search_from_the_index_agrees_with_sql() {
    let s = served();
    for q in ["电热", "meile", "有限公司"] {
        let path = format!("/api/v1/search?q={}&_limit=100", enc(q));
        let r = s.get(&path);
        assert_eq!(r.header("x-answered-by"), Some("index"), "{path}");
        assert!(r.json()["count"].as_u64() > Some(0), "{q}");
        // A filter outside the index: SQL answers on the indexed server too, and says why.
        let r = s.get(&format!("{path}&plan_year__gte=2000"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-answered-by"), Some("sql"), "{path}");
        assert!(
            r.header("x-answered-by-reason")
                .is_some_and(|w| w.contains("filter"))
        );
    }
    // Equality on a facet field (memory) and the same as a one-value list (SQL).
    let all = s.json(&format!("/api/v1/search?q={}", enc("电热")));
    let product = all["facets"]["product"]["values"][0]["value"]
        .as_str()
        .expect("a product")
        .to_owned();
    let eq = s.json(&format!(
        "/api/v1/search?q={}&product={}&result=fail",
        enc("电热"),
        enc(&product)
    ));
    let listed = s.json(&format!(
        "/api/v1/search?q={}&product__in={}&result=fail",
        enc("电热"),
        enc(&product)
    ));
    assert_eq!(eq["count"], listed["count"]);
    assert!(
        eq["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["product"] == json!(product) && r["result"] == "fail")
    );
    // A value no row has: nothing, not everything.
    let nothing = s.json(&format!("/api/v1/search?q={}&product=x", enc("电热")));
    assert_eq!(nothing["count"], 0);
}

/// A point lookup by record id is answered from the search index (the row read by position)
/// once it is built; it must equal what SQL says, for a resource and for `spot_checks`.
#[test]
fn point_lookups_by_record_id_equal_sql() {
    let s = served();
    // The index is built once a search has been answered.
    assert!(s.json("/api/v1/search?q=a")["index"]["rows"].as_u64() > Some(0));
    let ids = sql_rows(
        s,
        "SELECT record_id, resource_id FROM spot_checks ORDER BY record_id LIMIT 3",
    );
    let resources: Vec<String> = sql_rows(
        s,
        "SELECT DISTINCT resource_id FROM spot_checks ORDER BY resource_id",
    )
    .iter()
    .filter_map(|r| r["resource_id"].as_str().map(str::to_owned))
    .collect();
    for row in ids {
        let id = row["record_id"].as_str().expect("id");
        let resource = row["resource_id"].as_str().expect("resource");
        let expected = sql_rows(
            s,
            &format!("SELECT * FROM spot_checks WHERE record_id = '{id}'"),
        );
        assert_eq!(expected.len(), 1);
        for table in [resource, "spot_checks"] {
            let got = s.json(&format!("/api/v1/resources/{table}/rows?record_id={id}"));
            assert_eq!(got["count"], 1, "{table} {id}");
            assert_eq!(got["rows"][0], expected[0], "{table} {id}");
            let some = s.json(&format!(
                "/api/v1/resources/{table}/rows?record_id={id}&_fields=product,record_id,failed_items"
            ));
            let keys: Vec<&String> = some["rows"][0].as_object().expect("row").keys().collect();
            assert_eq!(keys, ["product", "record_id", "failed_items"], "{some}");
            assert_eq!(some["rows"][0]["failed_items"], expected[0]["failed_items"]);
            let bare = s.json(&format!(
                "/api/v1/resources/{table}/rows?record_id={id}&_fields=product"
            ));
            assert_eq!(bare["rows"][0], json!({"product": expected[0]["product"]}));
        }
        // Under another spot-check resource, and an id no row has: nothing.
        let other = resources
            .iter()
            .find(|r| r.as_str() != resource)
            .expect("two spot-check resources");
        let elsewhere = s.json(&format!("/api/v1/resources/{other}/rows?record_id={id}"));
        assert_eq!(elsewhere["count"], 0, "{elsewhere}");
        assert_eq!(elsewhere["rows"], json!([]));
    }
    let missing = s.json("/api/v1/resources/spot_checks/rows?record_id=nosuchrecord");
    assert_eq!(missing["count"], 0);
    assert_eq!(missing["rows"], json!([]));
}

/// Facets, counts and pass-rate statistics under filters the search index holds are counted
/// from it once it is built (the `x-answered-by` header says so); they must equal SQL's (the
/// twin's, compared by `Served::get`).
#[test]
fn facets_counts_and_stats_from_the_index_equal_sql() {
    let s = served();
    let by_index = |path: &str| {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.header("x-answered-by"),
            Some("index"),
            "{path}: {:?}",
            r.header("x-answered-by-reason")
        );
    };
    let resources: Vec<String> = sql_rows(s, "SELECT DISTINCT resource_id FROM spot_checks")
        .iter()
        .filter_map(|r| r["resource_id"].as_str().map(str::to_owned))
        .collect();
    let products: Vec<String> = sql_rows(
        s,
        "SELECT product, count(*) AS n FROM spot_checks GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2",
    )
    .iter()
    .filter_map(|r| r["product"].as_str().map(str::to_owned))
    .collect();
    let filters = [
        "",
        "&result=fail",
        "&result=fail&plan_year=2022",
        "&plan_year__gte=2020",
        "&plan_year__lt=2019&publication_scope=full",
        &format!(
            "&result__in=fail,pass&enterprise_province__ne={}",
            enc("广东省")
        ),
        "&result=nosuchresult",
        // Text filters from the index's values: exact and case-sensitive, as SQL's strpos
        // (values published otherwise than they fold are searched as published).
        &format!("&enterprise__contains={}", enc("有限")),
        &format!("&brand__contains={}&result=fail", enc("美")),
        "&product__contains=LED",
        "&product__contains=led",
        &format!("&enterprise__contains={}", enc("（")),
        // A product's rows walked from its postings.
        &format!("&product={}&result=fail", enc(&products[0])),
        &format!(
            "&product__in={},{}&enterprise__contains={}",
            enc(&products[0]),
            enc(&products[1]),
            enc("有限")
        ),
    ];
    for table in ["spot_checks", resources[0].as_str()] {
        for facet in [
            "product",
            "enterprise_province",
            "plan_year",
            "result",
            "publication_scope",
            "enterprise",
            "brand",
            "model_spec",
            "inspection_agency",
        ] {
            for f in &filters {
                by_index(&format!(
                    "/api/v1/resources/{table}/facets?_facet={facet}&_facet_size=5{f}"
                ));
            }
        }
        for f in &filters {
            for sort in [
                "",
                "&_sort=-announced_on",
                "&_sort=announced_on",
                "&_sort=-announced_on&_fields=product",
            ] {
                by_index(&format!("/api/v1/resources/{table}/rows?_limit=7{sort}{f}"));
            }
        }
    }
    for group in ["plan_year", "product,plan_year", "enterprise_province", ""] {
        for f in &filters {
            by_index(&format!("/api/v1/spot-checks/stats?group_by={group}{f}"));
        }
    }
}

/// The spot-check resource with the most rows.
fn largest_spot_check_resource(s: &Served) -> String {
    sql_rows(
        s,
        "SELECT resource_id, count(*) AS n FROM spot_checks GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )[0]["resource_id"]
        .as_str()
        .map(str::to_owned)
        .expect("a spot-check resource")
}

/// Keyset pages in the default order come from the index once it is built (the files merged
/// for `spot_checks`, a resource's own file order, a cursor found by binary search): following
/// `next_cursor` through a whole result must give SQL's rows in SQL's order (each page is
/// compared with the twin's), each once.
#[test]
fn keyset_pages_from_the_index_follow_sql_through_a_whole_result() {
    let s = served();
    let resource = largest_spot_check_resource(s);
    let walk = |path: &str, pages: usize| -> Vec<Value> {
        let mut ids = Vec::new();
        let mut next = path.to_owned();
        for _ in 0..pages {
            let r = s.get(&next);
            assert_eq!(r.header("x-answered-by"), Some("index"), "{next}");
            let page = r.json();
            let rows = page["rows"].as_array().cloned().unwrap_or_default();
            ids.extend(rows.iter().map(|r| r["record_id"].clone()));
            match page["next_cursor"].as_str() {
                Some(c) => next = format!("{path}&_cursor={c}"),
                None => break,
            }
        }
        ids
    };
    let filters = [
        "",
        "&result=fail",
        "&plan_year__gte=2020&publication_scope=full",
    ];
    for table in ["spot_checks", resource.as_str()] {
        for f in filters {
            for (limit, pages) in [(1000, usize::MAX), (7, 40)] {
                let path = format!(
                    "/api/v1/resources/{table}/rows?_fields=record_id&_count=none&_limit={limit}{f}"
                );
                let a = walk(&path, pages);
                let unique: std::collections::HashSet<&Value> = a.iter().collect();
                assert_eq!(unique.len(), a.len(), "{path}: a row twice");
                if pages == usize::MAX {
                    let n = s.json(&format!("/api/v1/resources/{table}/rows?_limit=1{f}"))["count"]
                        .as_u64();
                    assert_eq!(Some(a.len() as u64), n, "{path}: every row once");
                }
            }
        }
    }
}

/// Exports in the default order (CSV with lists joined, NDJSON) are read by position from the
/// files once the index is built, with no query and no merge; byte for byte they must be
/// what SQL streams (the twin's, compared by `Served::get`), whole, cut by `_limit`, narrowed
/// by `_fields` and after a cursor.
#[test]
fn exports_read_by_position_equal_sql() {
    let s = served();
    let resource = largest_spot_check_resource(s);
    for table in ["spot_checks", resource.as_str()] {
        let page = s.json(&format!(
            "/api/v1/resources/{table}/rows?_limit=333&result=fail&_fields=record_id"
        ));
        let cursor = page["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_owned();
        for f in [
            String::new(),
            "&result=fail".into(),
            "&plan_year__gte=2020&_fields=record_id,failed_items,product,plan_year".into(),
            "&_limit=500&_bom=true".into(),
            "&_limit=3&result=nosuchresult".into(),
            format!("&result=fail&_cursor={cursor}"),
        ] {
            for format in ["csv", "ndjson"] {
                let path = format!("/api/v1/resources/{table}/rows?_format={format}{f}");
                let a = s.get(&path);
                assert_eq!(a.status, 200, "{path}: {}", a.text());
                assert_eq!(a.header("x-answered-by"), Some("index"), "{path}");
                if format == "csv" {
                    assert!(a.body.len() > 10, "{path}: a header at least");
                }
            }
        }
    }
}

/// Pinyin spells names from any syllable and with either reading of a polyphonic character
/// (重庆 is chongqing and zhongqing); initials find whole names.
#[test]
fn pinyin_reads_heteronyms_and_initials() {
    let s = served();
    let names = sql_rows(
        s,
        "SELECT enterprise FROM spot_checks WHERE strpos(enterprise, '重庆') > 0 LIMIT 1",
    );
    if let Some(name) = names.first().and_then(|r| r["enterprise"].as_str()) {
        for spelling in ["chongqing", "zhongqing"] {
            let found = s.json(&format!("/api/v1/enterprises?q={spelling}&_limit=100"));
            let names: Vec<&str> = found["enterprises"]
                .as_array()
                .expect("enterprises")
                .iter()
                .filter_map(|e| e["name"].as_str())
                .collect();
            assert!(
                names.iter().any(|n| n.contains("重庆")),
                "{spelling}: {names:?} (expected names like {name})"
            );
        }
    }
    // A starting syllable is required: `eile` is inside `meile` but spells nothing.
    let meile = s.json("/api/v1/search?q=meile");
    assert!(meile["matches"].as_array().is_some_and(|m| !m.is_empty()));
    let inside = s.json("/api/v1/search?q=eile");
    assert!(
        inside["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .all(|m| m["match"] != "pinyin_within"
                || !m["value"].as_str().unwrap_or("").contains("美乐")),
        "{inside}"
    );
}
