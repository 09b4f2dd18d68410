use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use zhijian_tests::{HttpResponse, http};

use crate::{index, publish, serve_new, start};

/// GET that must answer 200; returns the response.
fn ok(addr: SocketAddr, path: &str) -> HttpResponse {
    let r = http(addr, path, &[]);
    assert_eq!(r.status, 200, "{addr}{path}: {}", r.text());
    r
}

/// The snapshot a response names.
fn named(r: &HttpResponse) -> String {
    r.header("x-zhijian-snapshot")
        .expect("the response names its snapshot")
        .to_owned()
}

/// The path of a `next` link, on any server.
fn path_of(next: &str) -> String {
    let rest = next.split_once("://").map_or(next, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..]).to_owned()
}

#[test]
fn replicas_on_one_warehouse_answer_alike_switch_together_and_share_cursors() {
    let s = serve_new(3_000, 41);
    let a = s.addr;
    let b = start(&s.warehouse);
    let first = std::fs::read_to_string(s.warehouse.join("CURRENT"))
        .expect("CURRENT")
        .trim()
        .to_owned();

    // Every data answer names its snapshot; operations and documents read none.
    for path in [
        "/api/v1/catalog",
        "/api/v1/resources/spot_checks/rows?_limit=5",
        "/api/v1/search?q=%E7%94%B5%E7%83%AD",
        "/api/v1/snapshots",
        "/readyz",
        "/",
    ] {
        for addr in [a, b] {
            assert_eq!(named(&ok(addr, path)), first, "{path}");
        }
    }
    assert!(ok(a, "/healthz").header("x-zhijian-snapshot").is_none());
    assert!(
        ok(a, "/openapi.json")
            .header("x-zhijian-snapshot")
            .is_none()
    );

    // Both replicas give the same answers, and a cursor of one continues on the other.
    let page = "/api/v1/resources/spot_checks/rows?_limit=7&_sort=-announced_on";
    let (pa, pb) = (ok(a, page).json(), ok(b, page).json());
    assert_eq!(pa["rows"], pb["rows"]);
    let next = path_of(pa["next"].as_str().expect("a next page"));
    let (na, nb) = (ok(a, &next), ok(b, &next));
    assert_eq!(na.json()["rows"], nb.json()["rows"], "{next}");
    assert_ne!(na.json()["rows"], pa["rows"]);

    // A new snapshot: both replicas switch without restart.
    let raw_resource = s.raw.join("A1-03");
    let mut pubs: Vec<_> = std::fs::read_dir(&raw_resource)
        .expect("A1-03 publications")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    pubs.sort();
    std::fs::remove_dir_all(&pubs[0]).expect("remove a publication");
    let second = publish(&s.raw, &s.warehouse);
    index(&s.warehouse);
    assert_ne!(second, first);
    for addr in [a, b] {
        let started = Instant::now();
        loop {
            let id = named(&ok(addr, "/api/v1/catalog"));
            if id == second {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{addr} still serves {id}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let (ra, rb) = (
        ok(a, "/api/v1/resources/spot_checks/rows?_limit=20"),
        ok(b, "/api/v1/resources/spot_checks/rows?_limit=20"),
    );
    assert_eq!((named(&ra), named(&rb)), (second.clone(), second.clone()));
    assert_eq!(ra.json()["rows"], rb.json()["rows"]);
    // The old cursor still reads the snapshot it was made on, on either replica, and says so.
    for addr in [a, b] {
        let r = ok(addr, &next);
        assert_eq!(named(&r), first, "{addr}{next}");
        assert_eq!(r.json()["rows"], na.json()["rows"]);
    }
    // So does `_as_of`.
    let old = ok(
        b,
        &format!("/api/v1/resources/A1-03/rows?_limit=1&_as_of={first}"),
    );
    assert_eq!(named(&old), first);
    let current: Value = ok(a, "/api/v1/resources/A1-03/rows?_limit=1").json();
    assert_ne!(old.json()["count"], current["count"]);
}
