use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use zhijian_catalog::Catalog;
use zhijian_ingest::build::{self, DEFAULT_MEMORY, Fate, Options, Published};
use zhijian_ingest::gc::{Retention, collect};
use zhijian_tests::{copy_dir, http};

use crate::start;

/// A raw corpus of its own, to change, and an empty place for warehouses.
struct Scratch {
    dir: tempfile::TempDir,
    raw: PathBuf,
}

fn scratch(scale: u64, seed: u64) -> Scratch {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("raw");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: raw.clone(),
            truth: None,
            scale,
            seed,
        },
        &|_, _| {},
    )
    .expect("corpus");
    Scratch { dir, raw }
}

fn ingest(raw: &Path, warehouse: &Path, only: &[String]) -> Published {
    let catalog = Catalog::builtin().expect("catalog");
    // The search index is written as `zhijian ingest` writes it: before `CURRENT` moves.
    let before = zhijian_catalog::layout::current_id(warehouse);
    let index = |m: &zhijian_catalog::layout::Manifest| {
        assert_eq!(
            zhijian_catalog::layout::current_id(warehouse),
            before,
            "CURRENT moved to {} before its index was written",
            m.id
        );
        crate::index_snapshot(warehouse, &m.id);
    };
    build::ingest(
        raw,
        warehouse,
        &catalog,
        &Options {
            only,
            memory: DEFAULT_MEMORY,
            progress: &|_, _, _| {},
            before_current: Some(&index),
        },
    )
    .expect("ingest")
}

/// The publication directories of a resource, in order.
fn publications(raw: &Path, resource: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(raw.join(resource))
        .expect("resource dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("publication.toml").is_file())
        .collect();
    out.sort();
    out
}

/// How many attachments a publication has.
fn attachments(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "publication.toml")
        .count()
}

/// Every file of a snapshot's manifest, with its bytes.
fn snapshot_files(warehouse: &Path, id: &str) -> Vec<(String, Vec<u8>)> {
    let m = zhijian_catalog::layout::read_manifest(warehouse, id)
        .expect("manifest")
        .expect("exists");
    let mut out = Vec::new();
    for r in m.resources.values() {
        for f in r
            .files
            .iter()
            .chain(r.downloads.values())
            .chain(r.rejects.iter())
        {
            let bytes = std::fs::read(warehouse.join(&f.path)).expect("file of the snapshot");
            out.push((f.path.clone(), bytes));
        }
    }
    out.sort();
    out
}

/// Rows of a Parquet file matching a SQL predicate, counted by DataFusion.
fn parquet_count(path: &Path, predicate: &str) -> u64 {
    use datafusion::prelude::{ParquetReadOptions, SessionContext};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ctx = SessionContext::new();
        ctx.register_parquet(
            "t",
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
        let batches = ctx
            .sql(&format!("SELECT count(*) FROM t WHERE {predicate}"))
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let column = batches[0].column(0);
        datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(
            column.as_ref(),
        )
        .value(0) as u64
    })
}

/// Adds a publication (a copy of another under a new name), changes one (a second copy of its
/// attachment) and removes one, in spot-check resource A1-02; returns the removed one's name.
fn change_a1_02(raw: &Path) -> String {
    let pubs = publications(raw, "A1-02");
    assert!(pubs.len() >= 3, "A1-02 has publications to change");
    let added = raw.join("A1-02").join("9999-added");
    copy_dir(&pubs[0], &added);
    // The next publication with an attachment (a publication may have none).
    let (changed, attachment) = pubs[1..pubs.len() - 1]
        .iter()
        .find_map(|dir| {
            std::fs::read_dir(dir)
                .expect("dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.file_name().is_some_and(|n| n != "publication.toml"))
                .map(|a| (dir.clone(), a))
        })
        .expect("a publication with an attachment");
    let name = attachment
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    std::fs::copy(&attachment, changed.join(format!("again-{name}"))).expect("copy");
    let removed = pubs
        .iter()
        .rev()
        .find(|p| **p != changed && attachments(p) > 0)
        .cloned()
        .expect("another publication with an attachment");
    std::fs::remove_dir_all(&removed).expect("remove");
    removed
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn incremental_ingest_reads_only_what_changed_and_equals_a_full_reingest_byte_for_byte() {
    let s = scratch(4_000, 17);
    let warehouse = s.dir.path().join("w");
    let first = ingest(&s.raw, &warehouse, &[]);
    assert_eq!(
        first.read, first.publications,
        "a new warehouse reads everything"
    );
    assert!(first.resources.values().all(|r| r.fate == Fate::Written));

    // Nothing changed: nothing is read, nothing written, the same snapshot.
    let again = ingest(&s.raw, &warehouse, &[]);
    assert_eq!(again.read, 0);
    assert!(again.resources.values().all(|r| r.fate == Fate::Unchanged));
    assert_eq!(again.manifest.id, first.manifest.id);

    let removed = change_a1_02(&s.raw);
    let second = ingest(&s.raw, &warehouse, &[]);
    assert_eq!(second.read, 2, "the added and the changed publication only");
    for (id, r) in &second.resources {
        let want = if id == "A1-02" {
            Fate::Written
        } else {
            Fate::Unchanged
        };
        assert_eq!(r.fate, want, "{id}");
    }
    assert_ne!(second.manifest.id, first.manifest.id);

    let full = s.dir.path().join("full");
    let reference = ingest(&s.raw, &full, &[]);
    assert_eq!(
        second.manifest.id, reference.manifest.id,
        "the incremental snapshot is the full re-ingest's"
    );
    assert_eq!(
        snapshot_files(&warehouse, &second.manifest.id),
        snapshot_files(&full, &reference.manifest.id)
    );
    let sources = second.manifest.resources["A1-02"].sources.clone();
    assert!(
        !sources.iter().any(|s| s["source_file"]
            .as_str()
            .is_some_and(|f| f.contains(&removed))),
        "the removed publication left the snapshot"
    );

    // The server reports the removed publication's rows as removed.
    let addr = start(&warehouse);
    let url = format!(
        "/api/v1/snapshots/{}/changes?since={}&_limit=100000",
        second.manifest.id, first.manifest.id
    );
    let r = http(addr, &url, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let changes: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let a = &changes["resources"]["A1-02"];
    let a1_02 = |id: &str| {
        let m = zhijian_catalog::layout::read_manifest(&warehouse, id)
            .expect("manifest")
            .expect("exists");
        warehouse.join(&m.resources["A1-02"].files[0].path)
    };
    let like = format!("source_file LIKE 'A1-02/{removed}/%'");
    let old = parquet_count(&a1_02(&first.manifest.id), &like);
    assert_eq!(parquet_count(&a1_02(&second.manifest.id), &like), 0);
    assert!(old > 0, "the removed publication had published rows");
    assert!(a["removed"].as_u64() >= Some(old), "{changes}");
    let ids = a["removed_ids"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default() as u64;
    assert_eq!(
        Some(ids),
        a["removed"].as_u64(),
        "every removed id is listed"
    );
    assert_eq!(
        changes["resources"].as_object().map(|o| o.len()),
        Some(1),
        "only A1-02 changed: {changes}"
    );
}

#[test]
fn ingest_of_one_resource_carries_every_other_resource_over() {
    let s = scratch(3_000, 23);
    let warehouse = s.dir.path().join("w");
    let catalog = Catalog::builtin().expect("catalog");
    let first = ingest(&s.raw, &warehouse, &[]);
    assert_eq!(first.manifest.resources.len(), catalog.resources.len());

    change_a1_02(&s.raw);
    // A change elsewhere, not asked for, is not read.
    let other = publications(&s.raw, "A1-03");
    std::fs::remove_dir_all(&other[0]).expect("remove");
    let only = ingest(&s.raw, &warehouse, &["A1-02".to_owned()]);
    assert_eq!(
        only.manifest.resources.len(),
        catalog.resources.len(),
        "all 108 resources are still in CURRENT"
    );
    for (id, entry) in &only.manifest.resources {
        if id == "A1-02" {
            assert_ne!(entry, &first.manifest.resources[id]);
            assert_eq!(only.resources[id].fate, Fate::Written);
        } else {
            assert_eq!(entry, &first.manifest.resources[id], "{id} carried over");
            assert_eq!(only.resources[id].fate, Fate::CarriedOver, "{id}");
        }
    }
    assert_eq!(
        zhijian_catalog::layout::current_id(&warehouse).as_deref(),
        Some(only.manifest.id.as_str())
    );
    assert_eq!(
        only.manifest.totals["published"].as_u64(),
        Some(only.totals().published)
    );
}

/// The files of a warehouse directory, as `<dir>/<name>`.
fn listing(warehouse: &Path, dir: &str) -> Vec<String> {
    std::fs::read_dir(warehouse.join(dir))
        .expect(dir)
        .filter_map(Result::ok)
        .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
        .collect()
}

#[test]
fn gc_keeps_what_retained_snapshots_need_and_collected_snapshots_answer_410() {
    let s = scratch(3_000, 29);
    let warehouse = s.dir.path().join("w");
    let first = ingest(&s.raw, &warehouse, &[]);
    change_a1_02(&s.raw);
    let second = ingest(&s.raw, &warehouse, &[]);
    std::fs::remove_dir_all(&publications(&s.raw, "A1-03")[0]).expect("remove");
    let third = ingest(&s.raw, &warehouse, &[]);
    // A killed run's leftovers in the temporary area.
    std::fs::write(warehouse.join("tmp").join("A1-02.parquet"), b"half").expect("write");

    let policy = |keep| Retention {
        keep: Some(keep),
        keep_days: None,
        grace: Duration::ZERO,
        now: SystemTime::now() + Duration::from_secs(5),
    };
    let dry = collect(&warehouse, &policy(2), true).expect("dry run");
    assert_eq!(
        dry.retained,
        vec![third.manifest.id.clone(), second.manifest.id.clone()]
    );
    assert_eq!(dry.collected, vec![first.manifest.id.clone()]);
    assert!(dry.files.iter().any(|f| f.path == "tmp/A1-02.parquet"));
    assert!(dry.bytes > 0);
    for f in &dry.files {
        assert!(
            warehouse.join(&f.path).exists(),
            "a dry run deletes nothing: {}",
            f.path
        );
    }

    let before_third = snapshot_files(&warehouse, &third.manifest.id);
    let done = collect(&warehouse, &policy(1), false).expect("gc");
    assert_eq!(done.retained, vec![third.manifest.id.clone()]);
    assert_eq!(
        done.collected,
        vec![second.manifest.id.clone(), first.manifest.id.clone()]
    );
    for f in &done.files {
        assert!(!warehouse.join(&f.path).exists(), "{} deleted", f.path);
    }
    assert_eq!(
        snapshot_files(&warehouse, &third.manifest.id),
        before_third,
        "no file of the current snapshot was touched"
    );
    // The current snapshot's parts and builds stayed: nothing is read again.
    let again = ingest(&s.raw, &warehouse, &[]);
    assert_eq!(again.read, 0);
    assert_eq!(again.manifest.id, third.manifest.id);
    // Only the shared files of the collected snapshots stayed.
    let data = listing(&warehouse, "data");
    let current: Vec<String> = third
        .manifest
        .resources
        .values()
        .flat_map(|r| r.files.iter().map(|f| f.path.clone()))
        .collect();
    for d in &data {
        assert!(
            current.contains(d),
            "{d} is not the current snapshot's and was kept"
        );
    }
    // Row stores live and go with the Parquet files they repeat: A1-02 changed, so a
    // collected snapshot's A1-02 row store went, and every current one stayed.
    let rows = listing(&warehouse, "rows");
    let current_rows: Vec<String> = current
        .iter()
        .filter_map(|f| zhijian_catalog::rowstore::rel_for(f))
        .filter(|r| warehouse.join(r).exists())
        .collect();
    assert!(
        !current_rows.is_empty(),
        "the spot-check resources have row stores"
    );
    let mut sorted = rows.clone();
    sorted.sort();
    let mut expected = current_rows.clone();
    expected.sort();
    assert_eq!(
        sorted, expected,
        "the row stores left are the current snapshot's"
    );
    assert!(
        done.files.iter().any(|f| f.path.starts_with("rows/")),
        "a collected snapshot's row store was deleted"
    );
    // So do search indexes: the current snapshot's stayed, the collected ones' went.
    let current_index = zhijian_catalog::layout::index_key(&third.manifest)
        .map(|k| zhijian_catalog::layout::index_rel(&k, zhijian_query::search::INDEX_FORMAT))
        .expect("spot checks");
    assert_eq!(listing(&warehouse, "index"), vec![current_index]);
    assert_eq!(
        done.files
            .iter()
            .filter(|f| f.path.starts_with("index/"))
            .count(),
        2,
        "{:?}",
        done.files
    );

    let addr = start(&warehouse);
    let r = http(
        addr,
        &format!("/api/v1/resources/A1-02/rows?_as_of={}", first.manifest.id),
        &[],
    );
    assert_eq!(r.status, 410, "{}", String::from_utf8_lossy(&r.body));
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let text = body.to_string();
    assert!(
        text.contains(&third.manifest.id),
        "names the oldest retained: {text}"
    );
    let list: serde_json::Value =
        serde_json::from_slice(&http(addr, "/api/v1/snapshots", &[]).body).expect("json");
    let retained: Vec<(String, bool)> = list["snapshots"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["retained"] == true,
            )
        })
        .collect();
    assert_eq!(
        retained,
        vec![
            (third.manifest.id.clone(), true),
            (second.manifest.id.clone(), false),
            (first.manifest.id.clone(), false)
        ]
    );
    assert_eq!(
        http(
            addr,
            "/api/v1/resources/A1-02/rows?_as_of=0123456789abcdef",
            &[]
        )
        .status,
        404,
        "a snapshot that never was is still unknown"
    );
}

#[test]
fn gc_needs_a_policy_keeps_the_snapshot_current_a_moment_ago_and_waits_for_an_ingest() {
    let s = scratch(3_000, 31);
    let warehouse = s.dir.path().join("w");
    let first = ingest(&s.raw, &warehouse, &[]);
    change_a1_02(&s.raw);
    let second = ingest(&s.raw, &warehouse, &[]);
    let none = Retention {
        keep: None,
        keep_days: None,
        grace: Duration::ZERO,
        now: SystemTime::now(),
    };
    let e = collect(&warehouse, &none, true).expect_err("no policy");
    assert!(e.to_string().contains("--keep"), "{e}");
    let grace = Retention {
        keep: Some(1),
        grace: Duration::from_secs(600),
        ..none.clone()
    };
    let kept = collect(&warehouse, &grace, false).expect("gc");
    assert_eq!(
        kept.retained,
        vec![second.manifest.id.clone(), first.manifest.id.clone()],
        "the snapshot current a moment ago is kept"
    );
    assert!(snapshot_files(&warehouse, &first.manifest.id).len() > 1);

    let held = build::hold(&warehouse).expect("hold");
    let e = collect(
        &warehouse,
        &Retention {
            keep: Some(1),
            ..none.clone()
        },
        false,
    )
    .expect_err("busy");
    assert!(e.to_string().contains(".lock"), "{e}");
    drop(held);
}
