//! A server's local, bounded cache of a remote warehouse, laid out as a local warehouse (so
//! the server serves it unchanged): every manifest and the history, the current snapshot's
//! files whole, an older snapshot's files when a request asks for it (`_as_of`, a cursor of
//! it, its changes). Files are immutable and named by their content, so a cached file is
//! never stale; the cache's `CURRENT` moves only after the new snapshot's files are all
//! here. Past `limit` bytes, the least recently used files of other snapshots are deleted
//! (a request for them fetches them again).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use zhijian_catalog::layout;

use crate::{Remote, RemoteError, Result};

/// Directories of content-addressed files the cache holds (and evicts).
const CONTENT: [&str; 5] = ["data", "rows", "downloads", "rejects", "index"];

/// What a [`Mirror::sync`] found and did.
#[derive(Debug, Clone, Default)]
pub struct Synced {
    /// The remote's current snapshot (`None`: it has none yet).
    pub snapshot: Option<String>,
    /// Files downloaded.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Whether the cache's `CURRENT` moved.
    pub moved: bool,
}

/// A remote warehouse mirrored into a local directory.
#[derive(Debug)]
pub struct Mirror {
    remote: Remote,
    cache: PathBuf,
    limit: u64,
    /// One sync or fetch at a time (they write the same files).
    busy: tokio::sync::Mutex<()>,
}

fn local(path: &Path) -> impl Fn(std::io::Error) -> RemoteError + '_ {
    move |source| RemoteError::Local {
        path: path.to_path_buf(),
        source,
    }
}

impl Mirror {
    /// A mirror of `remote` in `cache`, holding at most about `limit` bytes of files beyond
    /// the current snapshot's.
    pub fn new(remote: Remote, cache: PathBuf, limit: u64) -> Self {
        Self {
            remote,
            cache,
            limit,
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// The local directory a server serves.
    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Brings the remote's current snapshot into the cache (every manifest and the history
    /// too) and then points the cache's `CURRENT` at it.
    pub async fn sync(&self) -> Result<Synced> {
        let _busy = self.busy.lock().await;
        std::fs::create_dir_all(&self.cache).map_err(local(&self.cache))?;
        let Some((id, _)) = self.remote.current().await? else {
            return Ok(Synced::default());
        };
        if layout::current_id(&self.cache).as_deref() == Some(id.as_str()) {
            return Ok(Synced {
                snapshot: Some(id),
                ..Synced::default()
            });
        }
        // The history and manifests change only with `CURRENT`.
        let mut synced = self.records().await?;
        synced.snapshot = Some(id.clone());
        let (files, bytes) = self.fetch_files(&id).await?;
        synced.files += files;
        synced.bytes += bytes;
        let current = self.cache.join(layout::CURRENT);
        let tmp = self.cache.join(".CURRENT.tmp-mirror");
        std::fs::write(&tmp, format!("{id}\n")).map_err(local(&tmp))?;
        std::fs::rename(&tmp, &current).map_err(local(&current))?;
        synced.moved = true;
        self.evict(&id)?;
        Ok(synced)
    }

    /// Makes snapshot `id`'s files local (what a request for an older snapshot needs): those
    /// the cache lacks are downloaded, those it has are marked used.
    pub async fn fetch(&self, id: &str) -> Result<()> {
        if !layout::is_snapshot_id(id) {
            return Ok(());
        }
        let _busy = self.busy.lock().await;
        let manifest = self.cache.join(layout::manifest_path(Path::new(""), id));
        if !manifest.exists() {
            self.records().await?;
        }
        if manifest.exists() {
            self.fetch_files(id).await?;
        }
        Ok(())
    }

    /// Every manifest (small) and the history: `/snapshots` lists them, `_as_of` needs them.
    async fn records(&self) -> Result<Synced> {
        let mut synced = Synced::default();
        let history = format!("{}/{}", layout::SNAPSHOTS_DIR, layout::HISTORY_FILE);
        if let Some(n) = self.remote.download(&history, &self.cache).await? {
            synced.files += 1;
            synced.bytes += n;
        }
        for (rel, _) in self.remote.list(layout::SNAPSHOTS_DIR).await? {
            let manifest = rel.ends_with(".json") && !rel.ends_with(".builds.json");
            if manifest
                && !self.cache.join(&rel).exists()
                && let Some(n) = self.remote.download(&rel, &self.cache).await?
            {
                synced.files += 1;
                synced.bytes += n;
            }
        }
        Ok(synced)
    }

    /// The files of snapshot `id` a server reads, relative to the warehouse.
    async fn files_of(&self, id: &str) -> Result<BTreeSet<String>> {
        let manifest = layout::read_manifest(&self.cache, id)
            .ok()
            .flatten()
            .ok_or_else(|| RemoteError::Data {
                url: self.remote.url().to_owned(),
                key: format!("{}/{id}.json", layout::SNAPSHOTS_DIR),
                problem: "not a manifest".into(),
            })?;
        let mut rels = crate::served_files(&manifest);
        let listed = self.remote.list(layout::INDEX_DIR).await?;
        rels.extend(crate::index_files(
            &manifest,
            listed.into_iter().map(|(rel, _)| rel),
        ));
        Ok(rels)
    }

    async fn fetch_files(&self, id: &str) -> Result<(usize, u64)> {
        let (mut files, mut bytes) = (0, 0);
        let now = SystemTime::now();
        for rel in self.files_of(id).await? {
            let path = self.cache.join(&rel);
            if path.exists() {
                // Used now: the last to be evicted.
                if let Ok(f) = std::fs::File::options().write(true).open(&path) {
                    let _ = f.set_modified(now);
                }
                continue;
            }
            // A row store may not exist (a snapshot published before them).
            if let Some(n) = self.remote.download(&rel, &self.cache).await? {
                files += 1;
                bytes += n;
            }
        }
        Ok((files, bytes))
    }

    /// Deletes the least recently used files no longer needed by the current snapshot `id`
    /// until the cache holds at most `limit` bytes (the current snapshot's files always stay).
    fn evict(&self, id: &str) -> Result<()> {
        let keep = self.local_files_of(id);
        let mut others = Vec::new();
        let mut total = 0u64;
        for dir in CONTENT {
            let root = self.cache.join(dir);
            for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                total += meta.len();
                let rel = format!("{dir}/{}", entry.file_name().to_string_lossy());
                if !keep.contains(&rel) {
                    let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    others.push((used, meta.len(), entry.path()));
                }
            }
        }
        others.sort();
        for (_, len, path) in others {
            if total <= self.limit {
                break;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => total -= len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
                Err(e) => return Err(local(&path)(e)),
            }
        }
        if total > self.limit {
            tracing::warn!(
                bytes = total,
                limit = self.limit,
                "the current snapshot alone is larger than the cache limit"
            );
        }
        Ok(())
    }

    /// The files of snapshot `id` by its local manifest (no remote listing: the index file is
    /// matched by key in the cache).
    fn local_files_of(&self, id: &str) -> BTreeSet<String> {
        let Some(manifest) = layout::read_manifest(&self.cache, id).ok().flatten() else {
            return BTreeSet::new();
        };
        let mut rels = crate::served_files(&manifest);
        rels.extend(crate::index_files(
            &manifest,
            crate::local_index_dir(&self.cache),
        ));
        rels
    }

    /// Uploads this process's usage files (`usage/<day>/<replica>.json`) and downloads the
    /// other replicas', so that every replica's `/api/v1/usage` sums them all.
    pub async fn sync_usage(&self, replica: &str) -> Result<()> {
        let own = format!("{replica}.json");
        let root = self.cache.join("usage");
        for day in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let rel = format!("usage/{}/{own}", day.file_name().to_string_lossy());
            if self.cache.join(&rel).is_file() {
                self.remote.upload(&self.cache, &rel).await?;
            }
        }
        for (rel, size) in self.remote.list("usage").await? {
            let theirs = rel.ends_with(".json") && !rel.ends_with(&format!("/{own}"));
            let same = std::fs::metadata(self.cache.join(&rel)).is_ok_and(|m| m.len() == size);
            if theirs && !same {
                self.remote.download(&rel, &self.cache).await?;
            }
        }
        Ok(())
    }

    /// Polls the remote every `every` (and exchanges usage files every minute) until the
    /// runtime stops.
    pub fn spawn(self: Arc<Self>, every: Duration, replica: String) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut usage_at = Instant::now();
            loop {
                tokio::time::sleep(every).await;
                match self.sync().await {
                    Ok(s) if s.moved => tracing::info!(
                        snapshot = s.snapshot.as_deref().unwrap_or_default(),
                        files = s.files,
                        bytes = s.bytes,
                        "mirrored a new snapshot"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot mirror the remote warehouse"),
                }
                if usage_at.elapsed() >= Duration::from_secs(60) {
                    usage_at = Instant::now();
                    if let Err(e) = self.sync_usage(&replica).await {
                        tracing::warn!(error = %e, "cannot exchange usage counts");
                    }
                }
            }
        })
    }
}
