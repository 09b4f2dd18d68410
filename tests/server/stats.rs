use serde_json::Value;

use crate::served;

#[test]
fn facets_are_exact_and_say_when_they_are_cut() {
    let s = served();
    let total = s.json("/api/v1/resources/spot_checks/rows?_limit=1")["count"]
        .as_u64()
        .expect("count");
    let f =
        s.json("/api/v1/resources/spot_checks/facets?_facet=product&_facet=result&_facet_size=5");
    let facets = f["facets"].as_array().expect("facets");
    assert_eq!(facets.len(), 2);
    for facet in facets {
        let shown: u64 = facet["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v["count"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(facet["total"].as_u64(), Some(total), "{facet}");
        assert_eq!(
            shown + facet["other"].as_u64().unwrap_or(0),
            total,
            "{facet}"
        );
        let distinct = facet["distinct_values"].as_u64().unwrap_or(0);
        assert_eq!(facet["truncated"].as_bool(), Some(distinct > 5), "{facet}");
    }
    assert_eq!(
        facets[1]["values"].as_array().map(Vec::len),
        Some(2),
        "pass and fail"
    );
    // A facet count is the count of the equality filter.
    let top = &facets[0]["values"][0];
    let product = top["value"].as_str().expect("product");
    let n = s.json(&format!(
        "/api/v1/resources/spot_checks/rows?_limit=1&product={}",
        product
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    ))["count"]
        .as_u64();
    assert_eq!(n, top["count"].as_u64());
    // Facets obey the filters.
    let fails = s.json("/api/v1/resources/spot_checks/facets?_facet=result&result=fail");
    assert_eq!(
        fails["facets"][0]["values"].as_array().map(Vec::len),
        Some(1)
    );
    // List fields count items; date histograms bucket every value.
    let items = s.json("/api/v1/resources/spot_checks/facets?_facet=failed_items&_facet_size=1000");
    assert!(
        items["facets"][0]["values"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    let months = s.json("/api/v1/resources/spot_checks/facets?_facet=announced_on:month");
    let buckets = months["facets"][0]["values"].as_array().expect("buckets");
    assert!(buckets.len() > 12);
    assert!(
        buckets
            .iter()
            .filter(|b| b["value"].is_string())
            .all(|b| b["value"].as_str().is_some_and(|v| v.len() == 7))
    );
    let bucketed: u64 = buckets
        .iter()
        .map(|b| b["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(bucketed, total);
    let quarters = s.json("/api/v1/resources/spot_checks/facets?_facet=announced_on:quarter");
    assert!(
        quarters["facets"][0]["values"][0]["value"]
            .as_str()
            .is_some_and(|v| v.contains("-Q"))
    );
}

#[test]
fn pass_rates_use_only_full_scope_publications_with_wilson_intervals() {
    let s = served();
    let st = s.json("/api/v1/spot-checks/stats?group_by=plan_year");
    let groups = st["groups"].as_array().expect("groups");
    assert!(groups.len() > 5);
    assert!(
        st["denominator"]
            .as_str()
            .is_some_and(|d| d.contains("full"))
    );
    let (mut batches, mut fail_only) = (0u64, 0u64);
    for g in groups {
        let n = g["batches"].as_u64().expect("batches");
        let fails = g["fails"].as_u64().expect("fails");
        assert_eq!(g["passes"].as_u64(), Some(n - fails));
        batches += n;
        fail_only += g["fail_only_failures"].as_u64().unwrap_or(0);
        if n > 0 {
            let rate = g["pass_rate"].as_f64().expect("rate");
            let ci: Vec<f64> = g["pass_rate_ci95"]
                .as_array()
                .expect("ci")
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            assert!(
                ci[0] <= rate && rate <= ci[1] && ci[0] >= 0.0 && ci[1] <= 1.0,
                "{g}"
            );
        } else {
            assert!(g["pass_rate"].is_null());
        }
    }
    // The same figures from the rows API.
    let full =
        s.json("/api/v1/resources/spot_checks/rows?_limit=1&publication_scope=full")["count"]
            .as_u64();
    assert_eq!(Some(batches), full);
    let fo = s.json(
        "/api/v1/resources/spot_checks/rows?_limit=1&publication_scope=fail_only&result=fail",
    )["count"]
        .as_u64();
    assert_eq!(Some(fail_only), fo);
    assert!(fail_only > 0, "the corpus has fail-only lists");

    // Filters apply; several groups at once; no grouping is one group.
    let one = s.json("/api/v1/spot-checks/stats?plan_year=2020");
    assert_eq!(one["groups"].as_array().map(Vec::len), Some(1));
    let two = s.json("/api/v1/spot-checks/stats?group_by=check_level,product_category&_limit=3");
    assert_eq!(two["groups"].as_array().map(Vec::len), Some(3));
    assert_eq!(two["truncated"], true);
}
