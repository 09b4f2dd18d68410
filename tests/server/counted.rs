//! Aggregates of public SQL over `spot_checks` answered from the index's counted rows
//! (`zhijian_query::counted`): every query is posted to the shared server (index on) and to
//! its twin (index off, SQL reads Parquet), and the rows must be the same; the shared server's
//! `x-answered-by` says which queries the counted rows answered and which it declined.

use std::net::SocketAddr;

use serde_json::{Value, json};
use zhijian_tests::{HttpResponse, post_json};

use crate::{served, sql_rows};

/// A SQL query posted to one server, retried while its slots are busy.
fn post(addr: SocketAddr, sql: &str) -> HttpResponse {
    for _ in 0..60 {
        let r = post_json(addr, "/api/v1/sql", &json!({ "sql": sql, "limit": 10000 }));
        if r.status != 503 {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("{sql}: the SQL slots stayed busy for 30 s");
}

/// Posts `sql` to both servers; asserts the same status, columns and rows, that the twin
/// answered by SQL and the shared server by `engine`; returns the rows.
fn same(sql: &str, engine: &str) -> Vec<Value> {
    let s = served();
    let twin = s.sql_twin.expect("twin");
    let (a, b) = (post(s.addr, sql), post(twin, sql));
    assert_eq!(a.status, 200, "{sql}: {}", a.text());
    assert_eq!(b.status, 200, "{sql}: {}", b.text());
    assert_eq!(b.header("x-answered-by"), Some("sql"), "{sql}: the twin");
    assert_eq!(
        a.header("x-answered-by"),
        Some(engine),
        "{sql}: {:?}",
        a.header("x-answered-by-reason")
    );
    let (a, b) = (a.json(), b.json());
    assert_eq!(a["columns"], b["columns"], "{sql}: columns");
    assert_eq!(a["rows"], b["rows"], "{sql}: rows (index, then SQL)");
    a["rows"].as_array().cloned().unwrap_or_default()
}

/// The most common product and province, so that filters select something.
fn common() -> (String, String) {
    let row = &sql_rows(
        served(),
        "SELECT (SELECT product FROM spot_checks GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) \
         AS p, (SELECT enterprise_province FROM spot_checks WHERE enterprise_province IS NOT \
         NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS v",
    )[0];
    let text = |k: &str| row[k].as_str().expect("text").replace('\'', "''");
    (text("p"), text("v"))
}

#[test]
fn group_by_and_filters_over_coded_columns_match_sql() {
    let (p, v) = common();
    let queries = [
        "SELECT product, count(*) AS n FROM spot_checks GROUP BY product ORDER BY n DESC, product"
            .to_owned(),
        "SELECT plan_year, result, count(*) FROM spot_checks GROUP BY plan_year, result \
         ORDER BY 1, 2"
            .to_owned(),
        format!("SELECT count(*) FROM spot_checks WHERE product = '{p}'"),
        format!(
            "SELECT result, count(*) FROM spot_checks WHERE product <> '{p}' \
             AND plan_year IN (2021, 2023) GROUP BY 1 ORDER BY 1"
        ),
        format!(
            "SELECT enterprise_province, round(avg(CASE WHEN result = 'pass' THEN 1.0 ELSE 0.0 \
             END), 9) AS r FROM spot_checks WHERE plan_year >= 2022 OR enterprise_province = \
             '{v}' GROUP BY 1 ORDER BY 1 NULLS FIRST"
        ),
        "SELECT product, count(*) FILTER (WHERE result = 'fail') AS f, count(*) AS n \
         FROM spot_checks GROUP BY product HAVING count(*) > 10 ORDER BY f DESC, product LIMIT 20"
            .to_owned(),
        "SELECT count(DISTINCT product), min(plan_year), max(plan_year), sum(plan_year), \
         sum(DISTINCT plan_year) FROM spot_checks"
            .to_owned(),
        // NULL provinces are counted by count(*) and not by count(column).
        "SELECT count(enterprise_province), count(*), count(DISTINCT enterprise_province) \
         FROM spot_checks"
            .to_owned(),
        "SELECT sub.p, sum(sub.y) AS s, avg(sub.y) AS a FROM (SELECT product AS p, plan_year \
         AS y FROM spot_checks WHERE result = 'fail') AS sub GROUP BY 1 ORDER BY 1"
            .to_owned(),
        "SELECT publication_scope, count(*) FROM spot_checks WHERE product LIKE '%电%' \
         GROUP BY 1 ORDER BY 1"
            .to_owned(),
        "SELECT plan_year % 2 AS odd, upper(result) AS r, count(*) FROM spot_checks \
         GROUP BY 1, 2 ORDER BY 1, 2"
            .to_owned(),
        "SELECT DISTINCT product FROM spot_checks ORDER BY 1".to_owned(),
        // An empty selection: count is 0, sum and avg are NULL.
        "SELECT count(*), count(product), sum(plan_year), avg(plan_year), min(product) \
         FROM spot_checks WHERE product = '无此产品'"
            .to_owned(),
        "SELECT product, count(*) FROM spot_checks WHERE product = '无此产品' GROUP BY 1"
            .to_owned(),
        // Both parts of a union, and an aggregate under a window.
        "SELECT count(*) AS n FROM spot_checks UNION ALL SELECT count(*) FROM spot_checks \
         WHERE result = 'pass' ORDER BY n"
            .to_owned(),
        "SELECT product, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS k \
         FROM spot_checks GROUP BY product ORDER BY k, product"
            .to_owned(),
    ];
    for sql in &queries {
        same(sql, "index");
    }
    let rows = same(
        &format!("SELECT count(*) AS n FROM spot_checks WHERE product = '{p}'"),
        "index",
    );
    assert!(
        rows[0]["n"].as_i64() > Some(0),
        "the common product is there"
    );
}

#[test]
fn failed_items_taken_apart_by_unnest_are_counted_item_by_item() {
    let (p, _) = common();
    let queries = [
        "SELECT item, count(*) AS n FROM (SELECT unnest(failed_items) AS item FROM spot_checks \
         WHERE result = 'fail') GROUP BY item ORDER BY n DESC, item"
            .to_owned(),
        format!(
            "SELECT plan_year, item, count(*) AS n FROM (SELECT plan_year, \
             unnest(failed_items) AS item FROM spot_checks WHERE product = '{p}') \
             GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        "SELECT count(*), count(DISTINCT item), count(item) FROM \
         (SELECT unnest(failed_items) AS item FROM spot_checks)"
            .to_owned(),
        // A filter on the items once taken apart, and a province beside them.
        "SELECT enterprise_province, count(*) FROM (SELECT enterprise_province, \
         unnest(failed_items) AS item FROM spot_checks) WHERE item LIKE '%标%' \
         GROUP BY 1 ORDER BY 1 NULLS FIRST"
            .to_owned(),
    ];
    for sql in &queries {
        let rows = same(sql, "index");
        assert!(!rows.is_empty(), "{sql}: some rows");
    }
    let first = same(&queries[0], "index");
    assert!(
        first[0]["n"].as_i64() > Some(1),
        "an item failed more than one batch: {first:?}"
    );
    // The list read otherwise than by unnest: its items are not what counts.
    for sql in [
        "SELECT count(*) FROM spot_checks WHERE cardinality(failed_items) > 1",
        "SELECT item, count(*) FROM (SELECT unnest(failed_items) AS item FROM spot_checks \
         WHERE cardinality(failed_items) > 1) GROUP BY 1 ORDER BY 2 DESC, 1",
        "SELECT k, count(*) FROM (SELECT unnest(failed_items) AS item, \
         cardinality(failed_items) AS k FROM spot_checks) GROUP BY 1 ORDER BY 1",
        "SELECT count(*) FROM (SELECT unnest(failed_items) AS item, failed_items AS l \
         FROM spot_checks) WHERE cardinality(l) > 1",
    ] {
        same(sql, "sql");
    }
}

#[test]
fn the_named_queries_of_spot_checks_read_the_counted_rows() {
    let s = served();
    let twin = s.sql_twin.expect("twin");
    let (p, _) = common();
    let p = p.replace("''", "'");
    let one_product = format!(
        "/api/v1/queries/top_failed_items?product={}",
        zhijian_tests::url_encode(&p)
    );
    for path in [
        "/api/v1/queries/pass_rate_by_product_year?year_from=2021",
        "/api/v1/queries/worst_products?min_batches=5",
        "/api/v1/queries/top_failed_items",
        one_product.as_str(),
    ] {
        let a = zhijian_tests::http(s.addr, path, &[]);
        let b = zhijian_tests::http(twin, path, &[]);
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.header("x-answered-by"), Some("index"), "{path}");
        assert_eq!(b.header("x-answered-by"), Some("sql"), "{path}");
        assert_eq!(a.json()["rows"], b.json()["rows"], "{path}");
        assert!(
            !a.json()["rows"].as_array().expect("rows").is_empty(),
            "{path}"
        );
    }
}

#[test]
fn aggregates_it_cannot_restate_are_left_to_sql() {
    let queries = [
        // Not a coded column.
        "SELECT enterprise, count(*) FROM spot_checks GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        // Volatile: counted rows would draw one number per combination, not per row.
        "SELECT count(*) > 0 FROM spot_checks WHERE random() < 2",
        // A LIMIT beneath the aggregate picks rows, not combinations.
        "SELECT count(*) FROM (SELECT product FROM spot_checks LIMIT 5)",
        // Grouping sets, ordered and other aggregates.
        "SELECT product, result, count(*) FROM spot_checks GROUP BY ROLLUP (product, result) \
         ORDER BY 1 NULLS FIRST, 2 NULLS FIRST",
        "SELECT array_agg(DISTINCT result ORDER BY result) FROM spot_checks",
        "SELECT plan_year, median(plan_year) FROM spot_checks GROUP BY 1 ORDER BY 1",
    ];
    for sql in queries {
        same(sql, "sql");
    }
}
