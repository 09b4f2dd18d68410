//! Publishing and mirroring against an in-memory object store (the same `ObjectStore` trait,
//! conditional puts included): what is uploaded, in which order it becomes visible, a stale
//! publisher refused, and a bounded mirror. The same paths against a real S3 server are in
//! `crates/cli/tests/s3.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::memory::InMemory;
use zhijian_catalog::{Catalog, layout};
use zhijian_ingest::build::{self, DEFAULT_MEMORY, Options};
use zhijian_remote::mirror::Mirror;
use zhijian_remote::{Remote, RemoteError, publish};

fn corpus(dir: &Path) -> PathBuf {
    let raw = dir.join("raw");
    zhijian_synth::generate(
        &zhijian_synth::Options {
            raw: raw.clone(),
            truth: None,
            scale: 2_000,
            seed: 3,
        },
        &|_, _| {},
    )
    .expect("corpus");
    raw
}

/// Removes the first publication of A1-03 (a new snapshot next time).
fn change(raw: &Path) {
    let mut pubs: Vec<PathBuf> = std::fs::read_dir(raw.join("A1-03"))
        .expect("A1-03")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    pubs.sort();
    std::fs::remove_dir_all(&pubs[0]).expect("remove");
}

fn ingest(raw: &Path, staging: &Path) -> String {
    let catalog = Catalog::builtin().expect("catalog");
    build::ingest(
        raw,
        staging,
        &catalog,
        &Options {
            only: &[],
            memory: DEFAULT_MEMORY,
            progress: &|_, _, _| {},
            before_current: None,
        },
    )
    .expect("ingest")
    .manifest
    .id
}

async fn current(store: &InMemory) -> Option<String> {
    use object_store::ObjectStoreExt;
    let got = store.get(&"w/CURRENT".into()).await.ok()?;
    Some(
        String::from_utf8_lossy(&got.bytes().await.ok()?)
            .trim()
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_uploads_before_current_refuses_a_stale_base_and_the_mirror_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = corpus(dir.path());
    let store = Arc::new(InMemory::new());
    let remote = Remote::with_store(store.clone(), "memory://w", "w");
    let stage = |n: &str| dir.path().join(n);

    // An empty warehouse: the first publish creates CURRENT.
    let base = publish::pull(&remote, &stage("a")).await.expect("pull");
    assert_eq!(base.id(), None);
    let first = ingest(&raw, &stage("a"));
    let pushed = publish::push(&remote, &stage("a"), &first, &base)
        .await
        .expect("push");
    assert!(pushed.files > 0);
    assert_eq!(current(&store).await.as_deref(), Some(first.as_str()));

    // Two publishers start from the first snapshot; the second to finish is refused.
    let (b, c) = (stage("b"), stage("c"));
    let base_b = publish::pull(&remote, &b).await.expect("pull b");
    let base_c = publish::pull(&remote, &c).await.expect("pull c");
    assert_eq!(base_b.id(), Some(first.as_str()));
    assert_eq!(
        layout::current_id(&b).as_deref(),
        Some(first.as_str()),
        "the staging copy starts from the remote snapshot"
    );
    change(&raw);
    let second = ingest(&raw, &b);
    publish::push(&remote, &b, &second, &base_b)
        .await
        .expect("push b");
    change(&raw);
    let third = ingest(&raw, &c);
    match publish::push(&remote, &c, &third, &base_c).await {
        Err(RemoteError::Conflict {
            expected,
            found,
            snapshot,
            ..
        }) => {
            assert_eq!(
                (expected, found, snapshot),
                (first.clone(), second.clone(), third.clone())
            );
        }
        other => panic!("a stale publisher must be refused: {other:?}"),
    }
    assert_eq!(current(&store).await.as_deref(), Some(second.as_str()));

    // A mirror holds the current snapshot whole and an older one when asked.
    let cache = stage("mirror");
    let mirror = Mirror::new(remote.clone(), cache.clone(), 0);
    let synced = mirror.sync().await.expect("sync");
    assert!(synced.moved);
    assert_eq!(layout::current_id(&cache).as_deref(), Some(second.as_str()));
    let files_of = |id: &str| -> Vec<String> {
        let m = layout::read_manifest(&cache, id)
            .expect("read")
            .expect("manifest");
        m.resources
            .values()
            .flat_map(|r| r.files.iter().map(|f| f.path.clone()))
            .collect()
    };
    for f in files_of(&second) {
        assert!(cache.join(&f).is_file(), "{f}");
    }
    mirror.fetch(&first).await.expect("fetch");
    for f in files_of(&first) {
        assert!(cache.join(&f).is_file(), "{f}");
    }
    // A new snapshot, properly based: the mirror moves, and with a limit of 0 bytes only the
    // current snapshot's files stay.
    let d = stage("d");
    let base_d = publish::pull(&remote, &d).await.expect("pull d");
    let fourth = ingest(&raw, &d);
    assert_eq!(fourth, third, "the same input is the same snapshot");
    publish::push(&remote, &d, &fourth, &base_d)
        .await
        .expect("push d");
    assert!(mirror.sync().await.expect("sync").moved);
    let kept: Vec<String> = files_of(&fourth);
    for f in files_of(&first) {
        assert_eq!(cache.join(&f).is_file(), kept.contains(&f), "{f}");
    }
    let history = std::fs::read_to_string(cache.join("snapshots/history.ndjson")).expect("history");
    for id in [&first, &second, &fourth] {
        assert!(history.contains(id.as_str()), "{id} in {history}");
    }
}
