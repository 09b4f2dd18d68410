//! A warehouse on S3-compatible object storage (`s3://bucket/prefix`), through `object_store`
//! (the version DataFusion uses).
//!
//! The warehouse keeps the layout of a local one (`zhijian_catalog::layout`): immutable,
//! content-addressed files, one manifest per snapshot, a `CURRENT` pointer. Two things run
//! against it:
//!
//! - **Publishing** ([`publish`]): an ingest runs into a local staging copy (what the previous
//!   snapshot's incremental ingest needs is fetched first), then uploads what the remote
//!   lacks — content-addressed files first, the manifest next — and moves `CURRENT` last with
//!   a conditional put from the snapshot it started from. A publisher that lost the race gets
//!   [`RemoteError::Conflict`]; a killed one leaves the previous snapshot current.
//! - **Serving** ([`mirror`]): a server keeps a local, bounded, content-addressed cache of the
//!   snapshots it serves (the current one whole, older ones when asked for) and serves that
//!   cache as a local warehouse; a poller moves its `CURRENT` when the remote one moves.
//!
//! Credentials and endpoint come from the standard variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use tokio::io::AsyncWriteExt;
use zhijian_catalog::layout;

pub mod mirror;
pub mod publish;

/// What can go wrong with a remote warehouse.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The warehouse URL is not one this build reads.
    #[error("warehouse `{url}`: {problem}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A request to the object store failed.
    #[error("{url}/{key}: {source}")]
    Store {
        /// The warehouse.
        url: String,
        /// The object.
        key: String,
        /// Why (boxed: the store's error is large).
        source: Box<object_store::Error>,
    },
    /// A local file of the staging area or cache could not be read or written.
    #[error("{path}: {source}")]
    Local {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another publisher moved `CURRENT` since this one started.
    #[error(
        "another publisher moved CURRENT of {url} from {expected} to {found} while snapshot {snapshot} \
         was being published; its files are uploaded but it is not current: ingest again"
    )]
    Conflict {
        /// The warehouse.
        url: String,
        /// The snapshot this publisher started from (`none` for an empty warehouse).
        expected: String,
        /// What `CURRENT` names now.
        found: String,
        /// The snapshot that was not made current.
        snapshot: String,
    },
    /// Ingesting into the staging area failed.
    #[error(transparent)]
    Ingest(#[from] zhijian_ingest::IngestError),
    /// A manifest or record of the warehouse is not what it should be.
    #[error("{url}/{key}: {problem}")]
    Data {
        /// The warehouse.
        url: String,
        /// The object.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, RemoteError>;

/// The default local directory of a remote warehouse's `kind` of copy (`mirror`: what a
/// server serves; `staging`: where an ingest builds), under `ZHIJIAN_CACHE` (default
/// `$HOME/.cache/zhijian`), named by a hash of the URL.
pub fn default_cache(url: &str, kind: &str) -> PathBuf {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(url.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = std::env::var_os("ZHIJIAN_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/zhijian")))
        .unwrap_or_else(std::env::temp_dir);
    root.join("remote").join(hash).join(kind)
}

/// The files a server reads of a snapshot: its Parquet files with their row stores, its
/// downloads and reject lists (its index file is named by [`layout::index_key`]).
pub(crate) fn served_files(manifest: &layout::Manifest) -> BTreeSet<String> {
    let mut rels = BTreeSet::new();
    for entry in manifest.resources.values() {
        for f in zhijian_ingest::build::entry_files(entry) {
            rels.insert(f.path.clone());
            rels.extend(zhijian_catalog::rowstore::rel_for(&f.path));
        }
    }
    rels
}

/// The index files (any format version) of `manifest` among `rels`.
pub(crate) fn index_files(
    manifest: &layout::Manifest,
    rels: impl IntoIterator<Item = String>,
) -> Vec<String> {
    let Some(key) = layout::index_key(manifest) else {
        return Vec::new();
    };
    rels.into_iter()
        .filter(|rel| layout::index_of_rel(rel).is_some_and(|(k, _)| k == key))
        .collect()
}

/// The files of the local warehouse `root`'s index directory, relative to `root`.
pub(crate) fn local_index_dir(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join(layout::INDEX_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| format!("{}/{}", layout::INDEX_DIR, e.file_name().to_string_lossy()))
        .collect()
}

/// Whether `--warehouse` names a remote warehouse.
pub fn is_remote(warehouse: &Path) -> bool {
    warehouse.to_str().is_some_and(|w| w.starts_with("s3://"))
}

/// A warehouse on object storage.
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

/// An object read with its version (for a conditional update).
pub(crate) struct Read {
    pub(crate) bytes: bytes::Bytes,
    pub(crate) version: UpdateVersion,
}

impl Remote {
    /// The warehouse at `s3://bucket/prefix`, configured from the `AWS_*` variables.
    pub fn open(url: &str) -> Result<Self> {
        let bad = |problem: &str| RemoteError::Url {
            url: url.to_owned(),
            problem: problem.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("only s3://bucket/prefix warehouses are remote"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Self::with_store(Arc::new(store), url, prefix))
    }

    /// A warehouse under `prefix` of `store` (any object store: tests use memory ones too).
    pub fn with_store(store: Arc<dyn ObjectStore>, url: &str, prefix: &str) -> Self {
        Self {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    /// The warehouse's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(rel)
        } else {
            Key::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn rel_of<'a>(&self, key: &'a Key) -> Option<&'a str> {
        let k = key.as_ref();
        if self.prefix.is_empty() {
            Some(k)
        } else {
            k.strip_prefix(&self.prefix)?.strip_prefix('/')
        }
    }

    fn store_error(&self, rel: &str, source: object_store::Error) -> RemoteError {
        RemoteError::Store {
            url: self.url.clone(),
            key: rel.to_owned(),
            source: Box::new(source),
        }
    }

    /// An object and its version, `None` when there is none.
    pub(crate) async fn read(&self, rel: &str) -> Result<Option<Read>> {
        match self.store.get(&self.key(rel)).await {
            Ok(got) => {
                let version = UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                let bytes = got.bytes().await.map_err(|e| self.store_error(rel, e))?;
                Ok(Some(Read { bytes, version }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.store_error(rel, e)),
        }
    }

    /// The snapshot id `CURRENT` names, and its version.
    pub(crate) async fn current(&self) -> Result<Option<(String, UpdateVersion)>> {
        Ok(self
            .read(layout::CURRENT)
            .await?
            .map(|r| {
                (
                    String::from_utf8_lossy(&r.bytes).trim().to_owned(),
                    r.version,
                )
            })
            .filter(|(id, _)| !id.is_empty()))
    }

    /// Writes `bytes` to `rel`: always, only if absent (`PutMode::Create`), or only over the
    /// version read (`PutMode::Update`). A failed precondition is `Ok(false)`.
    pub(crate) async fn put(&self, rel: &str, bytes: Vec<u8>, mode: PutMode) -> Result<bool> {
        let options = PutOptions::from(mode);
        match self
            .store
            .put_opts(&self.key(rel), PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.store_error(rel, e)),
        }
    }

    /// Downloads `rel` into `root/rel` (through a temporary file, renamed into place);
    /// `Ok(false)` when the remote has no such object. Returns the bytes written.
    pub(crate) async fn download(&self, rel: &str, root: &Path) -> Result<Option<u64>> {
        let got = match self.store.get(&self.key(rel)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_error(rel, e)),
        };
        let path = root.join(rel);
        let local = |source| RemoteError::Local {
            path: path.clone(),
            source,
        };
        let dir = path.parent().unwrap_or(root);
        tokio::fs::create_dir_all(dir).await.map_err(local)?;
        let tmp = dir.join(format!(
            ".{}.part-{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
            std::process::id()
        ));
        let mut file = tokio::fs::File::create(&tmp).await.map_err(local)?;
        let mut stream = got.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| self.store_error(rel, e))?
        {
            file.write_all(&chunk).await.map_err(local)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(local)?;
        file.sync_all().await.map_err(local)?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await.map_err(local)?;
        Ok(Some(written))
    }

    /// Uploads `root/rel` to `rel` (in parts when large; an interrupted upload leaves no
    /// object).
    pub(crate) async fn upload(&self, root: &Path, rel: &str) -> Result<u64> {
        let path = root.join(rel);
        let local = |source| RemoteError::Local {
            path: path.clone(),
            source,
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(local)?;
        let mut out = object_store::buffered::BufWriter::new(self.store.clone(), self.key(rel));
        let written = tokio::io::copy(&mut file, &mut out).await.map_err(local)?;
        out.shutdown().await.map_err(|e| RemoteError::Store {
            url: self.url.clone(),
            key: rel.to_owned(),
            source: Box::new(object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            }),
        })?;
        Ok(written)
    }

    /// The objects under directory `dir` (relative paths and sizes).
    pub(crate) async fn list(&self, dir: &str) -> Result<Vec<(String, u64)>> {
        let prefix = self.key(dir);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.store_error(dir, e))?;
        Ok(metas
            .iter()
            .filter_map(|m| Some((self.rel_of(&m.location)?.to_owned(), m.size)))
            .collect())
    }
}
