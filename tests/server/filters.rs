use serde_json::Value;
use zhijian_tests::{HttpResponse, url_encode as enc};

use crate::{Served, served};

fn rows(s: &Served, query: &str) -> Value {
    s.json(&format!(
        "/api/v1/resources/spot_checks/rows?_limit=1000&{query}"
    ))
}

fn count(s: &Served, query: &str) -> u64 {
    rows(s, query)["count"].as_u64().expect("count")
}

fn top_value(s: &Served, field: &str) -> String {
    let f = s.json(&format!(
        "/api/v1/resources/spot_checks/facets?_facet={field}&_facet_size=3"
    ));
    f["facets"][0]["values"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["value"].is_string()))
        .and_then(|v| v["value"].as_str())
        .expect("a value")
        .to_owned()
}

#[test]
fn every_operator_selects_what_it_says() {
    let s = served();
    let total = count(s, "");
    assert!(total > 1000, "{total}");
    let product = top_value(s, "product");
    let p = enc(&product);

    // eq / ne partition the rows (product is required).
    let eq = rows(s, &format!("product={p}"));
    assert!(
        eq["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["product"] == product.as_str())
    );
    let n_eq = eq["count"].as_u64().expect("count");
    assert!(n_eq > 0);
    assert_eq!(n_eq + count(s, &format!("product__ne={p}")), total);
    assert_eq!(count(s, &format!("product__eq={p}")), n_eq);

    // lt / gte and lte / gt partition plan_year.
    let with_year = count(s, "plan_year__notnull=true");
    assert_eq!(
        count(s, "plan_year__lt=2015") + count(s, "plan_year__gte=2015"),
        with_year
    );
    assert_eq!(
        count(s, "plan_year__lte=2015") + count(s, "plan_year__gt=2015"),
        with_year
    );
    let later = rows(s, "plan_year__gt=2020");
    assert!(
        later["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["plan_year"].as_i64() > Some(2020))
    );

    // in / notin.
    let other = s.json("/api/v1/resources/spot_checks/facets?_facet=product&_facet_size=2")["facets"][0]["values"][1]["value"]
        .as_str()
        .expect("second product")
        .to_owned();
    let both = format!("{p},{}", enc(&other));
    let n_in = count(s, &format!("product__in={both}"));
    assert_eq!(n_in, n_eq + count(s, &format!("product={}", enc(&other))));
    assert_eq!(n_in + count(s, &format!("product__notin={both}")), total);

    // contains / startswith on text.
    let c = rows(s, &format!("enterprise__contains={}", enc("有限公司")));
    let list = c["rows"].as_array().expect("rows");
    assert!(!list.is_empty());
    assert!(list.iter().all(|r| {
        r["enterprise"]
            .as_str()
            .is_some_and(|e| e.contains("有限公司"))
    }));
    let st = rows(s, &format!("enterprise__startswith={}", enc("广东")));
    assert!(st["rows"].as_array().expect("rows").iter().all(|r| {
        r["enterprise"]
            .as_str()
            .is_some_and(|e| e.starts_with("广东"))
    }));

    // isnull / notnull partition.
    assert_eq!(
        count(s, "enterprise_uscc__isnull=true") + count(s, "enterprise_uscc__notnull=true"),
        total
    );
    assert_eq!(
        count(s, "enterprise_uscc__isnull=false"),
        count(s, "enterprise_uscc__notnull=true")
    );

    // Dates are typed.
    let d = rows(s, "announced_on__gte=2020-01-01");
    assert!(d["rows"].as_array().expect("rows").iter().all(|r| {
        r["announced_on"]
            .as_str()
            .is_some_and(|v| v >= "2020-01-01")
    }));

    // Lists: equality means "contains the item"; isnull means "no items".
    let item = top_value(s, "failed_items");
    let with_item = rows(s, &format!("failed_items={}", enc(&item)));
    let items = with_item["rows"].as_array().expect("rows");
    assert!(!items.is_empty());
    assert!(items.iter().all(|r| {
        r["failed_items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i == item.as_str()))
    }));
    let no_items = rows(s, "failed_items__isnull=true&result=pass");
    assert!(
        no_items["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["failed_items"].as_array().is_none_or(Vec::is_empty))
    );
    assert!(
        count(s, &format!("failed_items__contains={}", enc(&item)))
            >= with_item["count"].as_u64().unwrap_or(0)
    );

    // Booleans, and filters combine with AND.
    let fails = count(s, "result=fail");
    assert!(fails > 0 && fails < total);
    assert!(count(s, &format!("result=fail&product={p}")) <= fails.min(n_eq));
}

#[test]
fn text_search_fields_and_sort_do_what_they_say() {
    let s = served();
    let q = rows(s, &format!("_q={}", enc("电")));
    assert!(
        q["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r.to_string().contains('电'))
    );
    let f = s.json("/api/v1/resources/spot_checks/rows?_fields=product,result&_limit=5");
    for r in f["rows"].as_array().expect("rows") {
        let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
        assert_eq!(keys, vec!["product", "result"]);
    }
    let sorted = rows(s, "_sort=-plan_year,product");
    let years: Vec<i64> = sorted["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["plan_year"].as_i64())
        .collect();
    assert!(years.windows(2).all(|w| w[0] >= w[1]), "{years:?}");
}

fn bad(r: &HttpResponse, parameter: &str) -> Value {
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["code"], "bad_parameter", "{e}");
    assert_eq!(e["error"]["parameter"], parameter, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    e
}

#[test]
fn bad_input_of_each_kind_is_a_400_that_names_it() {
    let s = served();
    let get = |q: &str| s.get(&format!("/api/v1/resources/A1-02/rows?{q}"));

    let e = bad(&get("nosuch=1"), "nosuch");
    assert!(
        e["error"]["allowed"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f == "product")),
        "{e}"
    );
    let e = bad(&get("product__like=x"), "product__like");
    assert!(
        e["error"]["allowed"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f == "contains")),
        "{e}"
    );
    let e = bad(&get("plan_year=abc"), "plan_year");
    assert_eq!(e["error"]["value"], "abc");
    bad(&get("announced_on=2024-02-30"), "announced_on");
    bad(&get("announced_on__gte=yesterday"), "announced_on__gte");
    bad(&get("plan_year__contains=20"), "plan_year__contains");
    bad(&get("failed_items__lt=x"), "failed_items__lt");
    bad(
        &get("enterprise_uscc__isnull=maybe"),
        "enterprise_uscc__isnull",
    );
    bad(&get("_limit=0"), "_limit");
    bad(&get("_limit=5000"), "_limit");
    bad(&get("_limit=ten"), "_limit");
    bad(&get("_sort=failed_items"), "_sort");
    bad(&get("_sort=nosuch"), "_sort");
    bad(&get("_fields=product,nosuch"), "_fields");
    bad(&get("_cursor=not-a-cursor"), "_cursor");
    bad(&get("_count=maybe"), "_count");
    bad(&get("_frobnicate=1"), "_frobnicate");
    bad(&get("_sort=product&_sort=plan_year"), "_sort");
    let f = get("_format=pdf");
    assert_eq!(f.status, 400);
    assert_eq!(f.json()["error"]["parameter"], "_format");
    let e = bad(
        &s.get("/api/v1/spot-checks/stats?group_by=enterprise"),
        "group_by",
    );
    assert!(
        e["error"]["allowed"]
            .as_array()
            .is_some_and(|a| a.iter().any(|g| g == "plan_year"))
    );
    bad(&s.get("/api/v1/resources/A1-02/facets"), "_facet");
    bad(
        &s.get("/api/v1/resources/A1-02/facets?_facet=product:month"),
        "_facet",
    );
    let snap = get("_as_of=ffffffffffffffff");
    assert_eq!(snap.status, 404);
    assert_eq!(snap.json()["error"]["code"], "unknown_snapshot");
    // Quotes in values are values, never SQL.
    let q = s.json(&format!(
        "/api/v1/resources/A1-02/rows?product={}",
        enc("x' OR '1'='1")
    ));
    assert_eq!(q["count"], 0);
}
