use sha2::{Digest, Sha256};
use zhijian_tests::{http, run_python};

use crate::{publish, serve_new, served};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn downloads_are_immutable_checksummed_and_support_etag_and_range() {
    let s = served();
    let r = s.json("/api/v1/resources/A1-02");
    let rows = r["rows"].as_u64().expect("rows");
    let dir = tempfile::tempdir().expect("tempdir");
    for fmt in ["parquet", "csv", "xlsx"] {
        let url = r["downloads"][fmt]["url"].as_str().expect("url");
        let path = url.strip_prefix(&s.base()).expect("on this server");
        let sha = r["downloads"][fmt]["sha256"].as_str().expect("sha");
        let full = s.get(path);
        assert_eq!(full.status, 200, "{path}");
        assert_eq!(hex(&full.body), sha, "{path}: bytes match the manifest");
        let etag = format!("\"{sha}\"");
        assert_eq!(full.header("etag"), Some(etag.as_str()));
        assert!(
            full.header("cache-control")
                .is_some_and(|c| c.contains("immutable"))
        );
        assert!(
            full.header("content-disposition")
                .is_some_and(|c| c.contains(fmt))
        );
        let again = http(s.addr, path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304);
        let part = http(s.addr, path, &[("Range", "bytes=0-99")]);
        assert_eq!(part.status, 206);
        assert_eq!(part.body, full.body[..100]);
        std::fs::write(dir.path().join(format!("a.{fmt}")), &full.body).expect("save");
    }
    let out = run_python(
        r#"
import csv, sys, json, pyarrow.parquet as pq, openpyxl
d = sys.argv[1]
with open(f"{d}/a.csv", encoding="utf-8", newline="") as f:
    c = sum(1 for _ in csv.reader(f)) - 1
p = pq.read_table(f"{d}/a.parquet").num_rows
x = sum(1 for _ in openpyxl.load_workbook(f"{d}/a.xlsx", read_only=True).active.iter_rows()) - 1
print(json.dumps([c, p, x]))
"#,
        &[dir.path()],
    );
    let counts: Vec<u64> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(counts, vec![rows, rows, rows]);
    assert_eq!(
        s.get("/downloads/0000000000000000/spot_checks_national.parquet")
            .status,
        404
    );
    let snapshot = r["snapshot"].as_str().expect("snapshot");
    assert_eq!(
        s.get(&format!("/downloads/{snapshot}/no_such_table.csv"))
            .status,
        404
    );
    assert_eq!(s.get(&format!("/downloads/{snapshot}/x")).status, 404);
}

#[test]
fn snapshots_are_listed_and_changes_add_up() {
    let s = serve_new(5_000, 77);
    let first = crate::manifest(&s);
    let list = s.json("/api/v1/snapshots");
    assert_eq!(list["snapshots"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["current"], first["id"]);
    let other = s.raw.parent().expect("dir").join("raw-b");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: other.clone(),
            truth: None,
            scale: 5_000,
            seed: 78,
        },
        &|_, _| {},
    )
    .expect("corpus");
    let second_id = publish(&other, &s.warehouse);
    let second = crate::manifest(&s);
    assert_eq!(second["id"], second_id.as_str());
    let list = s.json("/api/v1/snapshots");
    let snaps = list["snapshots"].as_array().expect("list");
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0]["id"], second_id.as_str(), "newest first");
    assert!(
        snaps[0]["published_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let ch = s.json(&format!(
        "/api/v1/snapshots/{second_id}/changes?_limit=100000"
    ));
    assert_eq!(ch["since"], first["id"]);
    let a = &ch["resources"]["A1-02"];
    let old_rows = first["resources"]["A1-02"]["rows"].as_u64().expect("rows");
    let new_rows = second["resources"]["A1-02"]["rows"].as_u64().expect("rows");
    let added = a["added"].as_u64().expect("added");
    let removed = a["removed"].as_u64().expect("removed");
    assert!(added > 0 && removed > 0, "{a}");
    assert_eq!(old_rows + added - removed, new_rows);
    assert_eq!(
        a["added_ids"].as_array().map(Vec::len),
        Some(added as usize)
    );
    // Paged by `next` links, the same ids, each once, and the pages end.
    let (mut paged_added, mut paged_removed) = (Vec::new(), Vec::new());
    let mut next = Some(format!(
        "/api/v1/snapshots/{second_id}/changes?resource=A1-02&_limit=7"
    ));
    let mut pages = 0;
    while let Some(path) = next {
        pages += 1;
        assert!(
            pages <= 1 + added.max(removed) as usize / 7 + 1,
            "the next links do not end"
        );
        let page = s.json(&path);
        let r = &page["resources"]["A1-02"];
        assert_eq!(r["added"], added, "counts are whole on every page");
        for (list, out) in [
            ("added_ids", &mut paged_added),
            ("removed_ids", &mut paged_removed),
        ] {
            out.extend(
                r[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned)),
            );
        }
        next = r["next"].as_str().map(|u| {
            u.strip_prefix(&s.base())
                .expect("on this server")
                .to_owned()
        });
        assert_eq!(r["truncated"].as_bool(), Some(next.is_some()), "{r}");
    }
    let whole = |list: &str| -> Vec<String> {
        a[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(paged_added, whole("added_ids"));
    assert_eq!(paged_removed, whole("removed_ids"));
    // The ids really are new: each is found in the new snapshot and not in the old one.
    let id = a["added_ids"][0].as_str().expect("id");
    let now = s.json(&format!("/api/v1/resources/A1-02/rows?record_id={id}"));
    assert_eq!(now["count"], 1);
    let then = s.json(&format!(
        "/api/v1/resources/A1-02/rows?record_id={id}&_as_of={}",
        first["id"].as_str().expect("id")
    ));
    assert_eq!(then["count"], 0);
}
