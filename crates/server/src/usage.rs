//! Usage insight for the publisher, with nothing personal kept: per day, how often each
//! search term was searched, each kind of page viewed, each resource downloaded in each
//! format, each API route and SQL surface called. No addresses, no user agents, no ids, no
//! timestamps finer than the day. Counts live in memory and are written every minute and at
//! shutdown to `<warehouse>/usage/YYYY-MM-DD/<replica>.json`, a file of this server process
//! alone (`<replica>`: `ZHIJIAN_REPLICA`, else host name, process id and start time), so
//! replicas sharing a warehouse never overwrite one another, and a restarted process starts
//! a file of its own instead of counting again what another wrote. A day's counts are the
//! **sum of its files** (and of `usage/YYYY-MM-DD.json`, where servers before replicas wrote);
//! `/api/v1/usage` and the `/stats` page read them back that way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A search term (folded, at most 40 characters).
    Search,
    /// A web page, by its type (home, search, enterprise, product, datasets, dataset, sql, stats).
    Page,
    /// A download, as `table.format`.
    Download,
    /// An API call, by its route template.
    Api,
    /// A SQL query, by surface (`http`, `page`, `flight`, `named`).
    Sql,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Self; 5] = [
        Self::Search,
        Self::Page,
        Self::Download,
        Self::Api,
        Self::Sql,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Search => "searches",
            Self::Page => "pages",
            Self::Download => "downloads",
            Self::Api => "api",
            Self::Sql => "sql",
        }
    }
}

/// One day's counts: kind → key → count.
pub type Day = BTreeMap<String, BTreeMap<String, u64>>;

/// The counters of this server process.
#[derive(Debug)]
pub struct Usage {
    dir: PathBuf,
    replica: String,
    today: Mutex<(String, Day)>,
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = zhijian_catalog::civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

fn read_day(path: &Path) -> Day {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Adds `more` into `into`.
fn add(into: &mut Day, more: &Day) {
    for (kind, keys) in more {
        let to = into.entry(kind.clone()).or_default();
        for (key, n) in keys {
            *to.entry(key.clone()).or_default() += n;
        }
    }
}

/// Whether `day` reads `YYYY-MM-DD`.
fn is_day(day: &str) -> bool {
    day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// This process's name among the replicas of a warehouse: `ZHIJIAN_REPLICA`, else the host
/// name, the process id and the start time (a file name's characters only).
pub fn replica_name() -> String {
    let given = std::env::var("ZHIJIAN_REPLICA")
        .ok()
        .filter(|r| !r.trim().is_empty());
    let name = given.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .unwrap_or_else(|_| "host".into());
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("{}-{}-{started:x}", host.trim(), std::process::id())
    });
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

impl Usage {
    /// Counters of this process under `<warehouse>/usage` (see [`replica_name`]).
    pub fn new(warehouse: &Path) -> Self {
        Self::for_replica(warehouse, &replica_name())
    }

    /// Counters of replica `replica`, continuing today's file of that name if there is one.
    pub fn for_replica(warehouse: &Path, replica: &str) -> Self {
        let dir = warehouse.join("usage");
        let day = today();
        let counts = read_day(&dir.join(&day).join(format!("{replica}.json")));
        Self {
            dir,
            replica: replica.to_owned(),
            today: Mutex::new((day, counts)),
        }
    }

    /// This process's name among the replicas (its files are `usage/<day>/<replica>.json`).
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Counts one use.
    pub fn record(&self, kind: Kind, key: &str) {
        let key: String = key.trim().chars().take(40).collect();
        if key.is_empty() {
            return;
        }
        let day = today();
        let Ok(mut guard) = self.today.lock() else {
            return;
        };
        if guard.0 != day {
            // A new day: the old one is written out before its counts are dropped.
            let old = std::mem::take(&mut guard.1);
            let old_day = std::mem::replace(&mut guard.0, day);
            if let Err(e) = self.write(&old_day, &old) {
                tracing::warn!(error = %e, "cannot write usage counts");
            }
        }
        *guard
            .1
            .entry(kind.name().to_owned())
            .or_default()
            .entry(key)
            .or_default() += 1;
    }

    fn write(&self, day: &str, counts: &Day) -> std::io::Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let dir = self.dir.join(day);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.replica));
        let tmp = dir.join(format!(".{}.json.tmp", self.replica));
        std::fs::write(&tmp, serde_json::to_vec_pretty(counts).unwrap_or_default())?;
        std::fs::rename(tmp, path)
    }

    /// Writes today's counts to this process's file.
    pub fn flush(&self) -> std::io::Result<()> {
        let (day, counts) = match self.today.lock() {
            Ok(guard) => (guard.0.clone(), guard.1.clone()),
            Err(_) => return Ok(()),
        };
        self.write(&day, &counts)
    }

    /// The last `days` days that have counts, newest first: per day, the sum of every
    /// replica's file (this process's today from memory, fresher than its file).
    pub fn days(&self, days: usize) -> Vec<(String, Day)> {
        let mut out: BTreeMap<String, Day> = BTreeMap::new();
        let (today, mine) = match self.today.lock() {
            Ok(guard) => (guard.0.clone(), guard.1.clone()),
            Err(_) => (today(), Day::new()),
        };
        let own = format!("{}.json", self.replica);
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(day) = name.strip_suffix(".json").filter(|d| is_day(d)) {
                // Written by a server before replicas had files of their own.
                add(
                    out.entry(day.to_owned()).or_default(),
                    &read_day(&entry.path()),
                );
            } else if is_day(&name) {
                let sum = out.entry(name.clone()).or_default();
                for file in std::fs::read_dir(entry.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let file_name = file.file_name().to_string_lossy().into_owned();
                    let skip = file_name.starts_with('.')
                        || !file_name.ends_with(".json")
                        || (name == today && file_name == own);
                    if !skip {
                        add(sum, &read_day(&file.path()));
                    }
                }
            }
        }
        add(out.entry(today).or_default(), &mine);
        out.retain(|_, d| !d.is_empty());
        out.into_iter().rev().take(days).collect()
    }
}

/// Counts of one kind, most first, summed over days.
pub fn totals(days: &[(String, Day)], kind: Kind, top: usize) -> Vec<(String, u64)> {
    let mut sum: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, day) in days {
        for (key, n) in day.get(kind.name()).into_iter().flatten() {
            *sum.entry(key.as_str()).or_default() += n;
        }
    }
    let mut list: Vec<(String, u64)> = sum.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(top);
    list
}

/// Usage per day and in total: search terms, page views, downloads, API and SQL calls.
#[utoipa::path(get, path = "/api/v1/usage", tag = "operations",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 366, description = "Days back, newest first (default 30)")),
    responses(
        (status = 200, description = "Counts per day and totals; nothing personal is kept (no addresses, agents or ids)", body = Object),
        (status = 400, description = "A bad parameter", body = crate::error::ErrorBody),
    ))]
pub async fn usage_api(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::AppState>>,
    axum::extract::Query(params): axum::extract::Query<Vec<(String, String)>>,
) -> crate::ApiResult<axum::Json<serde_json::Value>> {
    zhijian_query::api::only(&params, &["days"])?;
    let days = match params.iter().find(|(k, _)| k == "days") {
        None => 30,
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=366).contains(&n) => n,
            _ => {
                return Err(zhijian_query::QueryError::BadParameter {
                    parameter: "days".into(),
                    value: v.clone(),
                    problem: "expected a whole number from 1 to 366".into(),
                    allowed: Vec::new(),
                }
                .into());
            }
        },
    };
    let list = app.usage.days(days);
    let as_json = |pairs: Vec<(String, u64)>| -> Vec<serde_json::Value> {
        pairs
            .into_iter()
            .map(|(key, count)| serde_json::json!({"key": key, "count": count}))
            .collect()
    };
    let per_day: Vec<serde_json::Value> = list
        .iter()
        .map(|(date, day)| {
            let mut v = serde_json::json!({"date": date});
            for kind in Kind::ALL {
                v[kind.name()] = serde_json::Value::Array(as_json(totals(
                    std::slice::from_ref(&(date.clone(), day.clone())),
                    kind,
                    100,
                )));
            }
            v
        })
        .collect();
    let mut total = serde_json::Map::new();
    for kind in Kind::ALL {
        total.insert(
            kind.name().into(),
            serde_json::Value::Array(as_json(totals(&list, kind, 1000))),
        );
    }
    Ok(axum::Json(serde_json::json!({
        "privacy": "Counts only: no addresses, user agents, ids or times finer than the day are kept. 只计数，不保存任何个人信息。",
        "days": per_day,
        "totals": total,
    })))
}

/// What a request counts as, from its route template and URI.
pub fn classify(route: &str, uri: &axum::http::Uri) -> Vec<(Kind, String)> {
    let query = uri.query().unwrap_or("");
    let param = |name: &str| {
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
    };
    let mut out = Vec::new();
    let page = match route {
        "/" => Some("home"),
        "/search" => Some("search"),
        "/enterprises/{key}" => Some("enterprise"),
        "/products/{name}" => Some("product"),
        "/datasets" => Some("datasets"),
        "/datasets/{id}" => Some("dataset"),
        "/sql" => Some("sql"),
        "/stats" => Some("stats"),
        _ => None,
    };
    if let Some(p) = page {
        out.push((Kind::Page, p.to_owned()));
    }
    if matches!(route, "/search" | "/api/v1/search")
        && let Some(q) = param("q")
    {
        out.push((Kind::Search, zhijian_query::text::fold(&q)));
    }
    if route == "/sql" && param("sql").is_some_and(|s| !s.trim().is_empty()) {
        out.push((Kind::Sql, "page".into()));
    }
    if route.starts_with("/api/") {
        out.push((Kind::Api, route.to_owned()));
        if route == "/api/v1/sql" {
            out.push((Kind::Sql, "http".into()));
        } else if route == "/api/v1/queries/{name}" {
            out.push((Kind::Sql, "named".into()));
        }
    }
    if route == "/downloads/{snapshot}/{file}"
        && let Some(file) = uri.path().rsplit('/').next()
    {
        out.push((Kind::Download, file.to_owned()));
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `%XX` and `+` decoded; invalid UTF-8 replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_without_anything_personal() {
        let uri: axum::http::Uri = "/search?q=%E7%94%B5%E7%83%AD&lang=en".parse().expect("uri");
        let c = classify("/search", &uri);
        assert!(c.contains(&(Kind::Page, "search".into())));
        assert!(c.contains(&(Kind::Search, "电热".into())));
        let d: axum::http::Uri = "/downloads/abc/national_spot_checks.csv"
            .parse()
            .expect("uri");
        assert_eq!(
            classify("/downloads/{snapshot}/{file}", &d),
            vec![(Kind::Download, "national_spot_checks.csv".into())]
        );
        assert_eq!(percent_decode("a%2Bb+c%zz%"), "a+b c%zz%");
    }

    #[test]
    fn replicas_keep_their_own_files_and_a_day_is_their_sum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir = dir.path();
        let day = today();
        // Counts a server wrote before replicas had files of their own.
        std::fs::create_dir_all(dir.join("usage")).expect("mkdir");
        std::fs::write(
            dir.join("usage").join(format!("{day}.json")),
            r#"{"searches": {"电热": 5}}"#,
        )
        .expect("legacy file");
        let a = Usage::for_replica(dir, "a");
        let b = Usage::for_replica(dir, "b");
        a.record(Kind::Search, "电热");
        a.record(Kind::Search, "电热");
        b.record(Kind::Search, "电热");
        b.record(Kind::Search, "童装");
        a.flush().expect("flush a");
        b.flush().expect("flush b");
        // Flushed again and again: a replica's file holds its counts once, never the others'.
        a.flush().expect("flush a");
        b.flush().expect("flush b");
        for usage in [&a, &b] {
            assert_eq!(
                totals(&usage.days(1), Kind::Search, 10),
                vec![("电热".to_owned(), 8), ("童装".to_owned(), 1)]
            );
        }
        // A's counts after its last flush are its own until the next one; b sees them then.
        a.record(Kind::Search, "童装");
        assert_eq!(totals(&a.days(1), Kind::Search, 10)[1].1, 2);
        assert_eq!(totals(&b.days(1), Kind::Search, 10)[1].1, 1);
        a.flush().expect("flush a");
        assert_eq!(totals(&b.days(1), Kind::Search, 10)[1].1, 2);
        // A restarted replica of the same name continues its file: nothing lost, nothing twice.
        drop(a);
        let a = Usage::for_replica(dir, "a");
        a.record(Kind::Search, "电热");
        a.flush().expect("flush a");
        assert_eq!(
            totals(&b.days(1), Kind::Search, 10),
            vec![("电热".to_owned(), 9), ("童装".to_owned(), 2)]
        );
        // A process of another name starts from zero and adds to the sum.
        let c = Usage::new(dir);
        c.record(Kind::Search, "电热");
        assert_eq!(totals(&c.days(1), Kind::Search, 10)[0].1, 10);
    }
}
