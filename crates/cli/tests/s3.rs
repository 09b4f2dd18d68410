//! A warehouse on S3: the real `zhijian` binary against a real S3 server on loopback (moto, from
//! the test venv). Ingest to S3, serve from S3 (answers equal to the same snapshot served from
//! local disk), two replicas through a new snapshot, `kill -9` during a publish, and a
//! publisher that lost the race.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zhijian_tests::{HttpResponse, free_port, http, python, serve};

/// A moto S3 server on a free loopback port, with one bucket; killed on drop.
struct S3 {
    child: Child,
    endpoint: String,
    /// `ZHIJIAN_CACHE` of the commands: default mirrors and staging copies stay in the test.
    cache: tempfile::TempDir,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3 {
    fn start() -> Self {
        let port = free_port();
        let child = python()
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server (moto[server] in the test venv)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let cache = tempfile::tempdir().expect("tempdir");
        let s3 = Self {
            child,
            endpoint,
            cache,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let made = python()
            .args([
                "-c",
                "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], \
                 aws_access_key_id='test', aws_secret_access_key='test', \
                 region_name='us-east-1').create_bucket(Bucket='zhijian')",
                &s3.endpoint,
            ])
            .output()
            .expect("python");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        s3
    }

    /// `zhijian` with the `AWS_*` variables of this server.
    fn zhijian(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zhijian"));
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("ZHIJIAN_CACHE", self.cache.path())
            .env("ZHIJIAN_LOG", "warn");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.zhijian().args(args).output().expect("zhijian runs")
    }

    /// The object at `key` of the bucket, `None` when absent.
    fn object(&self, key: &str) -> Option<String> {
        let out = python()
            .args([
                "-c",
                "import sys, boto3\n\
                 c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='test', \
                 aws_secret_access_key='test', region_name='us-east-1')\n\
                 try:\n    print(c.get_object(Bucket='zhijian', Key=sys.argv[2])['Body'].read().decode(), end='')\n\
                 except c.exceptions.NoSuchKey:\n    sys.exit(3)",
                &self.endpoint,
                key,
            ])
            .output()
            .expect("python");
        match out.status.code() {
            Some(0) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
            Some(3) => None,
            _ => panic!("{}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small synthetic corpus.
fn corpus(dir: &Path, seed: u64) -> PathBuf {
    let raw = dir.join(format!("raw-{seed}"));
    let out = Command::new(env!("CARGO_BIN_EXE_zhijian"))
        .args(["synth", "--out", s(&raw), "--scale", "2000", "--seed"])
        .arg(seed.to_string())
        .output()
        .expect("synth");
    ok(&out);
    raw
}

/// Removes the first publication of a spot-check resource: the next ingest is a new snapshot.
fn change(raw: &Path) {
    let mut pubs: Vec<PathBuf> = std::fs::read_dir(raw.join("A1-03"))
        .expect("A1-03")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    pubs.sort();
    std::fs::remove_dir_all(&pubs[0]).expect("remove a publication");
}

fn named(r: &HttpResponse) -> String {
    r.header("x-zhijian-snapshot")
        .unwrap_or_default()
        .to_owned()
}

/// `v` without `keys`, at any depth.
fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(o) => {
            for k in keys {
                o.remove(*k);
            }
            o.values_mut().for_each(|v| strip(v, keys));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| strip(v, keys)),
        _ => {}
    }
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..]).to_owned()
}

#[test]
fn ingest_to_s3_then_serve_from_it_answers_as_local_disk() {
    let s3 = S3::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = corpus(dir.path(), 5);
    let local = dir.path().join("local");
    let url = "s3://zhijian/warehouse";
    let text = ok(&s3.run(&[
        "ingest",
        "--raw",
        s(&raw),
        "--warehouse",
        url,
        "--staging",
        s(&dir.path().join("staging")),
    ]));
    assert!(
        text.contains("is current in s3://zhijian/warehouse"),
        "{text}"
    );
    ok(&s3.run(&["ingest", "--raw", s(&raw), "--warehouse", s(&local)]));
    let id = std::fs::read_to_string(local.join("CURRENT")).expect("CURRENT");
    assert_eq!(
        s3.object("warehouse/CURRENT").as_deref(),
        Some(id.as_str()),
        "the same input is the same snapshot on S3 and on disk"
    );

    let remote = serve(
        s3.zhijian(),
        &["--warehouse", url, "--cache", s(&dir.path().join("mirror"))],
    );
    let disk = serve(s3.zhijian(), &["--warehouse", s(&local)]);
    let ready = http(remote.addr, "/readyz", &[]).json();
    assert_eq!(ready["index"]["source"], "file", "{ready}");
    let catalog = http(disk.addr, "/api/v1/resources", &[]).json();
    let mut paths: Vec<String> = vec![
        "/api/v1/catalog".into(),
        "/api/v1/resources".into(),
        "/api/v1/snapshots".into(),
        "/api/v1/search?q=%E7%94%B5%E7%83%AD".into(),
        "/api/v1/enterprises?q=%E5%85%AC%E5%8F%B8".into(),
        "/api/v1/spot-checks/stats?group_by=product".into(),
        "/api/v1/resources/spot_checks/facets?_facet=product&_facet=result".into(),
        "/api/v1/resources/spot_checks/rows?_limit=50&_sort=-announced_on".into(),
        "/datapackage.json".into(),
    ];
    for r in catalog["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .take(40)
    {
        let rid = r["id"].as_str().expect("id");
        paths.push(format!("/api/v1/resources/{rid}/rows?_limit=20"));
        paths.push(format!("/api/v1/resources/{rid}/rows?_format=csv"));
    }
    let (rb, db) = (
        format!("http://{}", remote.addr),
        format!("http://{}", disk.addr),
    );
    for path in &paths {
        let (a, b) = (http(remote.addr, path, &[]), http(disk.addr, path, &[]));
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.status, b.status, "{path}");
        assert_eq!(named(&a), named(&b), "{path}");
        let (mut at, bt) = (a.text(), b.text().replace(&db, &rb));
        if a.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            let mut av: Value = serde_json::from_str(&at).expect("json");
            let mut bv: Value = serde_json::from_str(&bt).expect("json");
            // When each warehouse's ingest ran (a second apart) and timings differ by design.
            for v in [&mut av, &mut bv] {
                strip(v, &["elapsed_ms", "published_at", "build_ms", "created"]);
            }
            assert_eq!(av, bv, "{path}");
        } else {
            at = at.replace(&db, &rb);
            assert_eq!(at, bt, "{path}");
        }
    }
}

#[test]
fn replicas_on_s3_switch_to_a_new_snapshot_and_continue_each_others_cursors() {
    let s3 = S3::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = corpus(dir.path(), 6);
    let url = "s3://zhijian/w";
    let staging = dir.path().join("staging");
    ok(&s3.run(&[
        "ingest",
        "--raw",
        s(&raw),
        "--warehouse",
        url,
        "--staging",
        s(&staging),
    ]));
    let first = s3.object("w/CURRENT").expect("CURRENT").trim().to_owned();
    let replica = |n: &str| {
        serve(
            s3.zhijian(),
            &[
                "--warehouse",
                url,
                "--cache",
                s(&dir.path().join(n)),
                "--poll-seconds",
                "1",
            ],
        )
    };
    let (a, b) = (replica("a"), replica("b"));
    let page = "/api/v1/resources/spot_checks/rows?_limit=7";
    let pa = http(a.addr, page, &[]);
    assert_eq!(named(&pa), first);
    let next = path_of(pa.json()["next"].as_str().expect("next"));
    let (na, nb) = (http(a.addr, &next, &[]), http(b.addr, &next, &[]));
    assert_eq!(na.status, 200, "{}", na.text());
    assert_eq!(na.json()["rows"], nb.json()["rows"]);

    change(&raw);
    ok(&s3.run(&[
        "ingest",
        "--raw",
        s(&raw),
        "--warehouse",
        url,
        "--staging",
        s(&staging),
    ]));
    let second = s3.object("w/CURRENT").expect("CURRENT").trim().to_owned();
    assert_ne!(first, second);
    for server in [&a, &b] {
        let started = Instant::now();
        while named(&http(server.addr, "/api/v1/catalog", &[])) != second {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} did not switch",
                server.addr
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // The first snapshot's cursor still reads it, on either replica (its files are fetched
    // again where the mirror let them go).
    for server in [&a, &b] {
        let r = http(server.addr, &next, &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(named(&r), first);
        assert_eq!(r.json()["rows"], na.json()["rows"]);
    }
    let history = s3.object("w/snapshots/history.ndjson").expect("history");
    assert!(
        history.contains(&first) && history.contains(&second),
        "{history}"
    );
}

#[test]
fn kill_9_during_an_s3_publish_leaves_the_previous_snapshot_current_and_readable() {
    let s3 = S3::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = corpus(dir.path(), 7);
    let url = "s3://zhijian/k";
    ok(&s3.run(&[
        "ingest",
        "--raw",
        s(&raw),
        "--warehouse",
        url,
        "--staging",
        s(&dir.path().join("first")),
    ]));
    let before = s3.object("k/CURRENT").expect("CURRENT");
    change(&raw);
    for (i, delay) in [200u64, 700, 1500, 2500, 4000].into_iter().enumerate() {
        let mut child = s3
            .zhijian()
            .args(["ingest", "--raw", s(&raw), "--warehouse", url, "--staging"])
            .arg(dir.path().join(format!("killed-{i}")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let after = s3
            .object("k/CURRENT")
            .expect("CURRENT still names a snapshot");
        let id = after.trim();
        assert!(after == before || id.len() == 16, "{after}");
        // Whatever is current is whole: its manifest is there and SQL reads every row.
        assert!(s3.object(&format!("k/snapshots/{id}.json")).is_some());
        let counted = ok(&s3.run(&[
            "sql",
            "--warehouse",
            url,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM spot_checks",
        ]));
        assert!(
            counted
                .lines()
                .nth(1)
                .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0)),
            "{counted}"
        );
    }
}

#[test]
fn a_publisher_that_lost_the_race_says_so_and_no_snapshot_is_lost() {
    let s3 = S3::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = corpus(dir.path(), 8);
    let url = "s3://zhijian/c";
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    ok(&s3.run(&[
        "ingest",
        "--raw",
        s(&raw),
        "--warehouse",
        url,
        "--staging",
        s(&one),
    ]));
    let first = s3.object("c/CURRENT").expect("CURRENT").trim().to_owned();
    // Both start from the first snapshot; the second publisher is slowed down in its
    // staging copy by a changed corpus of its own.
    let raw_two = dir.path().join("raw-two");
    zhijian_tests::copy_dir(&raw, &raw_two);
    change(&raw);
    change(&raw_two);
    change(&raw_two);
    let spawn = |raw: &Path, staging: &Path| {
        s3.zhijian()
            .args([
                "ingest",
                "--raw",
                s(raw),
                "--warehouse",
                url,
                "--staging",
                s(staging),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(&raw, &one), spawn(&raw_two, &two));
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    let history = s3.object("c/snapshots/history.ndjson").expect("history");
    let current = s3.object("c/CURRENT").expect("CURRENT").trim().to_owned();
    let mut won = Vec::new();
    for (name, out) in [("one", &a), ("two", &b)] {
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            let id = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("snapshot ")
                        .and_then(|r| r.split(' ').next())
                        .filter(|_| l.contains("is current in"))
                })
                .unwrap_or_else(|| panic!("{name}: {text}"))
                .to_owned();
            assert!(
                history.contains(&id),
                "{name}'s snapshot {id} is in the history: {history}"
            );
            won.push(id);
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("another publisher moved CURRENT") && err.contains(&first),
                "{name}: {err}"
            );
        }
    }
    assert!(!won.is_empty(), "at least one publisher succeeds");
    assert!(
        won.contains(&current),
        "CURRENT {current} is a snapshot whose publisher succeeded: {won:?}"
    );
}
