use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use zhijian_tests::url_encode as enc;

use crate::{Served, served, sql_rows};

/// Values of a column, most frequent first.
fn common(s: &Served, column: &str, n: usize) -> Vec<String> {
    sql_rows(
        s,
        &format!(
            "SELECT CAST({column} AS VARCHAR) AS v, count(*) AS n FROM spot_checks \
             WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {n}"
        ),
    )
    .iter()
    .filter_map(|r| r["v"].as_str().map(str::to_owned))
    .collect()
}

/// One filter of the rows grammar: values that exist and that do not, lists, comparisons,
/// dates, text; some held by the index, some not.
fn filter(values: &Values) -> BoxedStrategy<String> {
    let pick = |list: &[String], extra: &[&str]| {
        let mut all: Vec<String> = list.to_vec();
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        proptest::sample::select(all)
    };
    let products = pick(&values.products, &["无此产品"]);
    let provinces = pick(&values.provinces, &["火星省"]);
    let years = pick(&values.years, &["1900", "2099"]);
    let results = pick(&["pass".into(), "fail".into()], &["nosuchresult"]);
    let scopes = pick(&["full".into(), "fail_only".into()], &[]);
    let words = pick(&values.words, &["有限", "LED", "led", "美", "（", "zz"]);
    let text_field = proptest::sample::select(vec!["enterprise", "brand", "product", "model_spec"]);
    let dates = pick(&values.dates, &["2000-01-01"]);
    let ids = pick(&values.ids, &["nosuchrecord"]);
    prop_oneof![
        (proptest::sample::select(vec!["", "__ne"]), products.clone())
            .prop_map(|(op, v)| format!("product{op}={}", enc(&v))),
        proptest::sample::subsequence(values.products.clone(), 1..4)
            .prop_map(|v| format!("product__in={}", enc(&v.join(",")))),
        (
            proptest::sample::select(vec!["", "__ne", "__in"]),
            provinces
        )
            .prop_map(|(op, v)| format!("enterprise_province{op}={}", enc(&v))),
        (
            proptest::sample::select(vec!["", "__ne", "__lt", "__lte", "__gt", "__gte"]),
            years
        )
            .prop_map(|(op, v)| format!("plan_year{op}={v}")),
        (proptest::sample::select(vec!["", "__ne", "__in"]), results)
            .prop_map(|(op, v)| format!("result{op}={v}")),
        scopes.prop_map(|v| format!("publication_scope={v}")),
        (text_field, words).prop_map(|(f, v)| format!("{f}__contains={}", enc(&v))),
        (proptest::sample::select(vec!["__gte", "__lt"]), dates)
            .prop_map(|(op, v)| format!("announced_on{op}={v}")),
        ids.prop_map(|v| format!("record_id={v}")),
        Just("failed_items__isnull=true".to_owned()),
    ]
    .boxed()
}

/// Values read from the served data.
struct Values {
    products: Vec<String>,
    provinces: Vec<String>,
    years: Vec<String>,
    words: Vec<String>,
    dates: Vec<String>,
    ids: Vec<String>,
    resource: String,
}

fn values(s: &Served) -> Values {
    let ids = sql_rows(
        s,
        "SELECT record_id FROM spot_checks ORDER BY record_id LIMIT 5",
    )
    .iter()
    .filter_map(|r| r["record_id"].as_str().map(str::to_owned))
    .collect();
    let words = common(s, "brand", 3)
        .into_iter()
        .chain(common(s, "enterprise", 2))
        .filter_map(|w| {
            let chars: Vec<char> = w.chars().collect();
            (chars.len() >= 2).then(|| chars[..2].iter().collect())
        })
        .collect();
    Values {
        products: common(s, "product", 6),
        provinces: common(s, "enterprise_province", 5),
        years: common(s, "plan_year", 6),
        words,
        dates: common(s, "announced_on", 3),
        ids,
        resource: sql_rows(
            s,
            "SELECT resource_id, count(*) AS n FROM spot_checks GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
        )[0]["resource_id"]
            .as_str()
            .unwrap_or("A1-02")
            .to_owned(),
    }
}

/// A request on rows: table, filters, sort, page size.
#[derive(Debug, Clone)]
struct Case {
    table: String,
    filters: Vec<String>,
    sort: &'static str,
    limit: usize,
    facets: Vec<&'static str>,
    facet_size: usize,
    group_by: Vec<&'static str>,
}

fn case(values: &Values) -> impl Strategy<Value = Case> {
    let tables = proptest::sample::select(vec!["spot_checks".to_owned(), values.resource.clone()]);
    let sorts = proptest::sample::select(vec![
        "",
        "",
        "-announced_on",
        "announced_on",
        "plan_year,-announced_on",
        "-plan_year",
        "enterprise",
    ]);
    let facets = proptest::sample::subsequence(
        vec![
            "product",
            "enterprise_province",
            "plan_year",
            "result",
            "publication_scope",
            "enterprise",
            "brand",
            "inspection_agency",
            "failed_items",
            "announced_on:year",
        ],
        1..3,
    );
    let groups = proptest::sample::subsequence(
        vec!["plan_year", "product", "enterprise_province", "check_level"],
        0..3,
    );
    (
        tables,
        proptest::collection::vec(filter(values), 0..4),
        sorts,
        1usize..60,
        facets,
        1usize..9,
        groups,
    )
        .prop_map(
            |(table, filters, sort, limit, facets, facet_size, group_by)| Case {
                table,
                filters,
                sort,
                limit,
                facets,
                facet_size,
                group_by,
            },
        )
}

/// Pages walked with cursors at most.
const PAGES: usize = 6;

/// Walks a case on the shared server; `Served::get` makes each request of the twin (index
/// off) too and requires the same answer: every page (rows, order, count, cursor), the facets
/// and the statistics.
fn check(s: &Served, c: &Case) {
    let mut query: Vec<String> = c.filters.clone();
    let filters = query.join("&");
    if !c.sort.is_empty() {
        query.push(format!("_sort={}", c.sort));
    }
    query.push(format!("_limit={}", c.limit));
    let base = format!("/api/v1/resources/{}/rows?{}", c.table, query.join("&"));
    let mut path = base.clone();
    let mut seen = 0u64;
    for _ in 0..PAGES {
        let r = s.get(&path);
        if r.status != 200 {
            // A rejected request is rejected alike by both (compared): nothing to walk.
            assert_eq!(r.status, 400, "{path}: {}", r.text());
            return;
        }
        let page = r.json();
        seen += page["rows"].as_array().map_or(0, |r| r.len() as u64);
        assert!(
            page["count"].as_u64() >= Some(seen),
            "{path}: more rows than counted"
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&_cursor={cursor}"),
            None => {
                assert_eq!(page["count"].as_u64(), Some(seen), "{path}: rows missing");
                break;
            }
        }
    }
    let sep = if filters.is_empty() { "" } else { "&" };
    let facets = c
        .facets
        .iter()
        .map(|f| format!("_facet={f}"))
        .collect::<Vec<_>>()
        .join("&");
    s.get(&format!(
        "/api/v1/resources/{}/facets?{facets}&_facet_size={}{sep}{filters}",
        c.table, c.facet_size
    ));
    if c.table == "spot_checks" {
        s.get(&format!(
            "/api/v1/spot-checks/stats?group_by={}{sep}{filters}",
            c.group_by.join(",")
        ));
    }
}

/// Random filter combinations, sorts and page sizes, walked with cursors to the end (or six
/// pages): the index and SQL give the same rows in the same order, and the same counts,
/// facets and statistics. Seeded (the same cases on every run), 48 cases.
#[test]
fn index_and_sql_agree_on_random_requests() {
    let s = served();
    let values = values(s);
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[19u8; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&case(&values), |c| {
            check(s, &c);
            answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answered.into_inner() >= 48);
}
