use std::collections::HashSet;

use serde_json::Value;

use crate::{Served, publish, serve_new, served};

/// Follows `next` from the first page to the last; returns (record ids, snapshots seen, count).
fn walk(
    s: &Served,
    first: &str,
    between: &mut dyn FnMut(usize),
) -> (Vec<String>, HashSet<String>, u64) {
    let mut ids = Vec::new();
    let mut snapshots = HashSet::new();
    let mut page: Value = s.json(first);
    let count = page["count"].as_u64().expect("count");
    let mut n = 0;
    loop {
        snapshots.insert(page["snapshot"].as_str().expect("snapshot").to_owned());
        for r in page["rows"].as_array().expect("rows") {
            ids.push(r["record_id"].as_str().expect("record_id").to_owned());
        }
        n += 1;
        between(n);
        let Some(next) = page["next"].as_str() else {
            break;
        };
        let path = next
            .strip_prefix(&s.base())
            .expect("next is on this server")
            .to_owned();
        page = s.json(&path);
    }
    (ids, snapshots, count)
}

fn assert_complete(ids: &[String], count: u64, want: u64) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates across pages");
    assert_eq!(ids.len() as u64, count, "pages hold every counted row");
    assert_eq!(count, want);
}

#[test]
fn keyset_pages_cover_a_whole_resource_without_duplicates_or_gaps() {
    let s = served();
    let manifest = crate::manifest(s);
    let want = manifest["resources"]["A1-02"]["rows"]
        .as_u64()
        .expect("rows");
    let (ids, snaps, count) = walk(s, "/api/v1/resources/A1-02/rows?_limit=997", &mut |_| {});
    assert_eq!(snaps.len(), 1);
    assert_complete(&ids, count, want);

    // A sort over columns with nulls and ties, descending.
    let (ids2, _, count2) = walk(
        s,
        "/api/v1/resources/A1-02/rows?_limit=1000&_sort=-sampled_on,enterprise_uscc,-plan_year&_fields=record_id,sampled_on",
        &mut |_| {},
    );
    assert_complete(&ids2, count2, want);
    let a: HashSet<&String> = ids.iter().collect();
    let b: HashSet<&String> = ids2.iter().collect();
    assert_eq!(a, b, "both orders list the same rows");

    // A filtered walk over the spot_checks view.
    let fails: u64 = s.json("/api/v1/resources/spot_checks/rows?result=fail&_limit=1")["count"]
        .as_u64()
        .expect("count");
    let (ids3, _, count3) = walk(
        s,
        "/api/v1/resources/spot_checks/rows?result=fail&_limit=1000&_sort=product,-announced_on",
        &mut |_| {},
    );
    assert_complete(&ids3, count3, fails);
}

#[test]
fn a_cursor_finishes_on_its_snapshot_while_a_new_one_is_published() {
    let s = serve_new(6_000, 31);
    let before = crate::manifest(&s);
    let want = before["resources"]["A1-02"]["rows"].as_u64().expect("rows");
    // A different corpus to publish in the middle of the walk.
    let other_raw = s.raw.parent().expect("dir").join("raw-2");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: other_raw.clone(),
            truth: None,
            scale: 6_000,
            seed: 32,
        },
        &|_, _| {},
    )
    .expect("second corpus");
    let mut published = None;
    let warehouse = s.warehouse.clone();
    let (ids, snaps, count) = walk(&s, "/api/v1/resources/A1-02/rows?_limit=200", &mut |page| {
        if page == 2 {
            published = Some(publish(&other_raw, &warehouse));
        }
    });
    let new_id = published.expect("published during the walk");
    assert_ne!(new_id, before["id"].as_str().expect("id"));
    assert_eq!(
        snaps.len(),
        1,
        "every page came from the snapshot the walk started on"
    );
    assert_complete(&ids, count, want);
    // A new request sees the new snapshot without a restart.
    let fresh = s.json("/api/v1/resources/A1-02/rows?_limit=1");
    assert_eq!(fresh["snapshot"], new_id.as_str());
    // The old one stays reachable with _as_of.
    let old = s.json(&format!(
        "/api/v1/resources/A1-02/rows?_limit=1&_as_of={}",
        before["id"].as_str().expect("id")
    ));
    assert_eq!(old["count"].as_u64(), Some(want));
}
