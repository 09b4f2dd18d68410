//! Publishing into a remote warehouse: an ingest into a local staging copy, then an upload in
//! the order that keeps every reader safe — content-addressed files, then the manifest, then
//! `CURRENT` by a conditional put from the snapshot the ingest started from, then a line of
//! history (a conditional read-modify-write, retried).

use std::collections::BTreeSet;
use std::path::Path;

use object_store::{PutMode, UpdateVersion};
use zhijian_catalog::layout;

use crate::{Remote, RemoteError, Result};

/// The remote snapshot an ingest starts from: its id and the version of `CURRENT` naming it
/// (`None`: the warehouse has no snapshot yet).
#[derive(Debug, Clone)]
pub struct Base(Option<(String, UpdateVersion)>);

impl Base {
    /// The snapshot id, if any.
    pub fn id(&self) -> Option<&str> {
        self.0.as_ref().map(|(id, _)| id.as_str())
    }
}

/// What [`push`] uploaded.
#[derive(Debug, Clone, Default)]
pub struct Pushed {
    /// Files uploaded (the rest were on the remote already).
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

fn local(path: &Path) -> impl Fn(std::io::Error) -> RemoteError + '_ {
    move |source| RemoteError::Local {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `text` to `path` through a temporary file.
fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(local(dir))?;
    }
    let tmp = path.with_extension("tmp-remote");
    std::fs::write(&tmp, text).map_err(local(&tmp))?;
    std::fs::rename(&tmp, path).map_err(local(path))
}

/// Fetches into `staging` what an incremental ingest needs of the remote's current snapshot
/// (its manifest and builds record, the builds and parts of its resources, its Parquet files
/// and row stores for the search index) and points the staging `CURRENT` at it. Files the
/// staging copy has already are not fetched again: they are content-addressed.
pub async fn pull(remote: &Remote, staging: &Path) -> Result<Base> {
    std::fs::create_dir_all(staging).map_err(local(staging))?;
    let base = remote.current().await?;
    let history = format!("{}/{}", layout::SNAPSHOTS_DIR, layout::HISTORY_FILE);
    remote.download(&history, staging).await?;
    let current = staging.join(layout::CURRENT);
    let Some((id, version)) = base else {
        // A staging copy of a warehouse that was emptied must not carry anything over.
        match std::fs::remove_file(&current) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(local(&current)(e)),
            _ => {}
        }
        return Ok(Base(None));
    };
    let manifest_rel = format!("{}/{id}.json", layout::SNAPSHOTS_DIR);
    if remote.download(&manifest_rel, staging).await?.is_none() {
        return Err(RemoteError::Data {
            url: remote.url().to_owned(),
            key: manifest_rel,
            problem: format!("CURRENT names snapshot {id}, whose manifest is missing"),
        });
    }
    let builds_rel = format!("{}/{id}.builds.json", layout::SNAPSHOTS_DIR);
    remote.download(&builds_rel, staging).await?;
    for key in zhijian_ingest::snapshot::builds_of(staging, &id).values() {
        let rel = format!("{}/{key}.json", zhijian_ingest::build::BUILDS_DIR);
        if !staging.join(&rel).exists() {
            remote.download(&rel, staging).await?;
        }
    }
    let manifest = layout::read_manifest(staging, &id)
        .ok()
        .flatten()
        .ok_or_else(|| RemoteError::Data {
            url: remote.url().to_owned(),
            key: format!("{}/{id}.json", layout::SNAPSHOTS_DIR),
            problem: "not a manifest".into(),
        })?;
    let wanted = zhijian_ingest::gc::needed_files(staging, &manifest);
    let spot: BTreeSet<String> = manifest
        .resources
        .values()
        .filter(|r| r.schema == zhijian_catalog::SPOT_CHECK_SCHEMA)
        .flat_map(|r| r.files.iter().map(|f| f.path.clone()))
        .collect();
    for rel in wanted {
        // Downloads and reject lists are not read by an ingest; Parquet files are read only
        // for the search index, which is over the spot checks.
        let skip = rel.starts_with("downloads/")
            || rel.starts_with("rejects/")
            || (rel.starts_with("data/") && !spot.contains(&rel))
            || (rel.starts_with("rows/")
                && !spot
                    .iter()
                    .any(|f| zhijian_catalog::rowstore::rel_for(f).as_deref() == Some(&rel)));
        if skip || staging.join(&rel).exists() {
            continue;
        }
        // Row stores and some files of a part may not exist: that is not an error.
        remote.download(&rel, staging).await?;
    }
    write_atomic(&current, format!("{id}\n").as_bytes())?;
    Ok(Base(Some((id, version))))
}

/// Uploads snapshot `id` of `staging` and makes it current on the remote, from `base`.
pub async fn push(remote: &Remote, staging: &Path, id: &str, base: &Base) -> Result<Pushed> {
    let manifest = layout::read_manifest(staging, id)
        .ok()
        .flatten()
        .ok_or_else(|| RemoteError::Data {
            url: staging.display().to_string(),
            key: format!("{}/{id}.json", layout::SNAPSHOTS_DIR),
            problem: "the staged snapshot has no manifest".into(),
        })?;
    let mut wanted = zhijian_ingest::gc::needed_files(staging, &manifest);
    wanted.extend(crate::index_files(
        &manifest,
        crate::local_index_dir(staging),
    ));
    let (records, content): (Vec<String>, Vec<String>) = wanted
        .into_iter()
        .filter(|rel| staging.join(rel).is_file())
        .partition(|rel| rel.starts_with(&format!("{}/", layout::SNAPSHOTS_DIR)));
    // What the remote holds already, one listing per directory.
    let mut present: BTreeSet<String> = BTreeSet::new();
    let dirs: BTreeSet<&str> = content
        .iter()
        .filter_map(|rel| rel.split('/').next())
        .collect();
    for dir in dirs {
        present.extend(remote.list(dir).await?.into_iter().map(|(rel, _)| rel));
    }
    let mut pushed = Pushed::default();
    for rel in content.iter().filter(|rel| !present.contains(*rel)) {
        pushed.bytes += remote.upload(staging, rel).await?;
        pushed.files += 1;
    }
    // The manifest (and its builds record) next: named by content, written whole.
    for rel in &records {
        pushed.bytes += remote.upload(staging, rel).await?;
        pushed.files += 1;
    }
    // `CURRENT` last, and only from the snapshot this ingest started from.
    let mode = match &base.0 {
        Some((_, version)) => PutMode::Update(version.clone()),
        None => PutMode::Create,
    };
    if !remote
        .put(layout::CURRENT, format!("{id}\n").into_bytes(), mode)
        .await?
    {
        let found = remote.current().await?.map(|(id, _)| id);
        return Err(RemoteError::Conflict {
            url: remote.url().to_owned(),
            expected: base.id().unwrap_or("none").to_owned(),
            found: found.unwrap_or_else(|| "none".into()),
            snapshot: id.to_owned(),
        });
    }
    append_history(remote, staging, id).await?;
    tracing::info!(
        snapshot = id,
        warehouse = remote.url(),
        files = pushed.files,
        bytes = pushed.bytes,
        "snapshot published to the remote warehouse"
    );
    Ok(pushed)
}

/// Appends the staged history's line for `id` to the remote history: read, append, write
/// only over what was read; another publisher's line written in between makes it try again.
async fn append_history(remote: &Remote, staging: &Path, id: &str) -> Result<()> {
    let rel = format!("{}/{}", layout::SNAPSHOTS_DIR, layout::HISTORY_FILE);
    let line = std::fs::read_to_string(staging.join(&rel))
        .unwrap_or_default()
        .lines()
        .rev()
        .find(|l| serde_json::from_str::<layout::HistoryEntry>(l).is_ok_and(|h| h.id == id))
        .map(str::to_owned)
        .unwrap_or_else(|| serde_json::json!({ "id": id, "published_at": "" }).to_string());
    for _ in 0..20 {
        let (mut text, mode) = match remote.read(&rel).await? {
            Some(r) => (r.bytes.to_vec(), PutMode::Update(r.version)),
            None => (Vec::new(), PutMode::Create),
        };
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
        if remote.put(&rel, text, mode).await? {
            return Ok(());
        }
    }
    Err(RemoteError::Data {
        url: remote.url().to_owned(),
        key: rel,
        problem: "the history kept changing under 20 attempts to append to it".into(),
    })
}
