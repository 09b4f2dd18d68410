use std::collections::BTreeMap;

use serde_json::Value;

use crate::shared::{corpus, data_rows, files, truth_lines};

/// National pass rates (percent) as published (docs/REAL-DATA.md §2.3).
const PASS_RATES: &[(i64, f64)] = &[
    (2011, 87.5),
    (2012, 89.8),
    (2013, 88.9),
    (2014, 92.3),
    (2015, 91.1),
    (2016, 91.6),
    (2017, 91.5),
    (2018, 89.7),
    (2019, 87.7),
    (2020, 90.3),
    (2021, 87.8),
    (2022, 90.6),
    (2023, 87.7),
];

#[test]
fn national_pass_rates_per_year_match_the_published_ones() {
    let c = corpus();
    // To 2017 the national lists are full: count the published rows.
    let mut per_year: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for row in data_rows(&c.truth, "A1-02") {
        let e = per_year
            .entry(row["plan_year"].as_i64().unwrap_or_default())
            .or_default();
        e.0 += 1;
        e.1 += u64::from(row["result"] == "pass");
    }
    // From 2018 they are fail-only: the A1-04 summary carries the denominators.
    for row in data_rows(&c.truth, "A1-04") {
        let year = row["year"].as_i64().unwrap_or_default();
        if year >= 2018 {
            let e = per_year.entry(year).or_default();
            let batches = row["batches"].as_u64().unwrap_or_default();
            e.0 += batches;
            e.1 += batches - row["failed_batches"].as_u64().unwrap_or_default();
        }
    }
    let mut report = Vec::new();
    for (year, want) in PASS_RATES {
        let (n, pass) = per_year.get(year).copied().unwrap_or_default();
        assert!(n > 1_000, "{year}: only {n} batches");
        let got = 100.0 * pass as f64 / n as f64;
        report.push(format!("{year}: {got:.1} (target {want}, n={n})"));
        assert!(
            (got - want).abs() <= 1.5,
            "{year}: pass rate {got:.2} vs {want} over {n} batches\n{}",
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}

#[test]
fn province_shares_follow_the_national_pattern() {
    let c = corpus();
    let rows = data_rows(&c.truth, "A1-02");
    let coded: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["enterprise_province_code"].as_str())
        .collect();
    assert!(
        coded.len() as f64 > 0.8 * rows.len() as f64,
        "most rows resolve a province"
    );
    let share = |codes: &[&str]| {
        100.0 * coded.iter().filter(|c| codes.contains(c)).count() as f64 / coded.len() as f64
    };
    for (code, want, tol) in [
        ("440000", 24.9, 2.5),
        ("330000", 15.8, 2.0),
        ("320000", 9.3, 1.5),
        ("130000", 6.8, 1.5),
        ("370000", 5.7, 1.5),
    ] {
        let got = share(&[code]);
        assert!((got - want).abs() <= tol, "{code}: {got:.1}% vs {want}%");
    }
    let east = [
        "110000", "120000", "130000", "210000", "310000", "320000", "330000", "350000", "370000",
        "440000", "460000",
    ];
    let central = [
        "140000", "220000", "230000", "340000", "360000", "410000", "420000", "430000",
    ];
    assert!(
        (share(&east) - 76.4).abs() <= 2.5,
        "east {:.1}",
        share(&east)
    );
    assert!(
        (share(&central) - 15.6).abs() <= 2.5,
        "central {:.1}",
        share(&central)
    );
}

#[test]
fn national_lists_are_fail_only_from_2018() {
    let c = corpus();
    for rel in files(&c.raw.join("A1-03"))
        .into_iter()
        .filter(|p| p.ends_with("publication.toml"))
    {
        let text = std::fs::read_to_string(c.raw.join("A1-03").join(&rel)).expect("read");
        let doc: toml::Table = text.parse().expect("publication.toml is TOML");
        assert_eq!(
            doc.get("scope").and_then(toml::Value::as_str),
            Some("fail_only"),
            "{}",
            rel.display()
        );
    }
    for row in data_rows(&c.truth, "A1-03") {
        assert_eq!(row["result"], "fail", "{row}");
    }
    let full_years: Vec<i64> = data_rows(&c.truth, "A1-02")
        .iter()
        .filter_map(|r| r["plan_year"].as_i64())
        .collect();
    assert!(
        full_years.iter().all(|y| *y <= 2017),
        "full national lists end in 2017"
    );
    let fail_years: Vec<i64> = data_rows(&c.truth, "A1-03")
        .iter()
        .filter_map(|r| r["plan_year"].as_i64())
        .collect();
    assert!(fail_years.iter().any(|y| *y >= 2018) && fail_years.iter().any(|y| *y <= 2017));
}

#[test]
fn small_enterprises_fail_more_and_special_rows_exist() {
    let c = corpus();
    let rows = data_rows(&c.truth, "A1-04");
    let mean = |k: &str| {
        let v: Vec<f64> = rows.iter().filter_map(|r| r[k].as_f64()).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    assert!(
        mean("pass_rate_large") > mean("pass_rate_small") + 3.0,
        "large {:.1} small {:.1}",
        mean("pass_rate_large"),
        mean("pass_rate_small")
    );
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    for resource in ["A1-02", "A2-01", "A3-04", "A2-04"] {
        for row in data_rows(&c.truth, resource) {
            for f in row["flags"].as_array().into_iter().flatten() {
                *flags
                    .entry(f.as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
    }
    for f in ["counterfeit_suspected", "recheck_failed", "recheck_passed"] {
        assert!(
            flags.get(f).copied().unwrap_or_default() > 0,
            "no {f} rows: {flags:?}"
        );
    }
    let a105 = data_rows(&c.truth, "A1-05");
    let situations: std::collections::BTreeSet<&str> = a105
        .iter()
        .filter_map(|r| r["situation"].as_str())
        .collect();
    assert!(
        situations.contains("refused") && situations.contains("counterfeit_suspected"),
        "{situations:?}"
    );
}

#[test]
fn enterprises_recur_across_years_and_some_carry_valid_credit_codes() {
    let c = corpus();
    let mut years: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
    for row in data_rows(&c.truth, "A1-02") {
        if let (Some(e), Some(y)) = (row["enterprise"].as_str(), row["plan_year"].as_i64()) {
            years.entry(e.to_owned()).or_default().insert(y);
        }
    }
    let recurring = years.values().filter(|y| y.len() >= 3).count();
    assert!(
        recurring > 100,
        "only {recurring} enterprises appear in 3+ years"
    );
    let codes: Vec<String> = data_rows(&c.truth, "A2-04")
        .iter()
        .filter_map(|r| r["enterprise_uscc"].as_str().map(str::to_owned))
        .collect();
    assert!(codes.len() > 100);
    for code in &codes {
        assert!(uscc_valid(code), "{code} has a wrong check character");
    }
    // Some raw cells carry a code with a wrong check character: the truth leaves those null.
    let lines = truth_lines(&c.truth, "A2-04");
    let nulls = lines
        .iter()
        .filter(|l| l["kind"] == "data" && l["row"]["enterprise_uscc"] == Value::Null)
        .count();
    assert!(nulls > 0);
}

/// GB 32100, implemented here independently of the generator.
fn uscc_valid(code: &str) -> bool {
    const CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let values: Option<Vec<usize>> = code.chars().map(|c| CHARS.find(c)).collect();
    let Some(values) = values else { return false };
    if values.len() != 18 {
        return false;
    }
    let sum: usize = values[..17].iter().zip(W).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31 == values[17]
}
