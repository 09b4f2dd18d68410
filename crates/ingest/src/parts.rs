//! Parts: what one publication yields, kept in the warehouse so that the next ingest re-reads
//! only publications that are new or whose bytes changed.
//!
//! A part is named by its key: the sha256 of the ingester's build, the resource, the
//! publication's directory name and the name and sha256 of every file in it. The same bytes
//! read by the same ingester give the same rows, so a part with that key can be used as it is.
//!
//! ```text
//! <warehouse>/parts/<resource>/<key>.json            what the publication yielded (written last)
//! <warehouse>/parts/<resource>/<key>.arrow           its published rows in raw order (Arrow IPC)
//! <warehouse>/parts/<resource>/<key>.rejects.ndjson  its rejected rows
//! <warehouse>/parts/<resource>/<key>.keys.ndjson     its rows' primary keys (keyed registers)
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zhijian_catalog::Catalog;

use crate::error::{IngestError, Result, io};
use crate::pipeline::{
    Accounting, FileError, Lineage, ResourceRows, RowKey, Source, ingest_publication, sha256_hex,
};

/// The directory of parts, relative to the warehouse.
pub const PARTS_DIR: &str = "parts";

/// What one publication yielded, without its rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartMeta {
    /// The part's key.
    pub key: String,
    /// The resource.
    pub resource: String,
    /// The publication's directory name.
    pub publication: String,
    /// Rows published (before the register's key is enforced across publications).
    pub rows: u64,
    /// Row accounting.
    pub accounting: Accounting,
    /// Attachments read, with their sha256.
    pub sources: Vec<Source>,
    /// Files that could not be read.
    pub errors: Vec<FileError>,
    /// Rows rejected.
    pub rejects: u64,
    /// Whether the keys file is there (registers keyed by their own fields).
    pub keyed: bool,
}

/// The ingester's build: parts of another build are never used (its rows could differ). The
/// executable is known by its size and modification time (hashing a binary with debug
/// information took seconds of every ingest).
pub fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
            .unwrap_or_default();
        format!(
            "{}+{}",
            env!("CARGO_PKG_VERSION"),
            &sha256_hex(exe.as_bytes())[..16]
        )
    })
}

/// Where part files of `resource` live.
fn dir_of(warehouse: &Path, resource: &str) -> PathBuf {
    warehouse.join(PARTS_DIR).join(resource)
}

/// A part's file with the given suffix (`json`, `arrow`, `rejects.ndjson`, `keys.ndjson`).
pub fn part_file(warehouse: &Path, resource: &str, key: &str, suffix: &str) -> PathBuf {
    dir_of(warehouse, resource).join(format!("{key}.{suffix}"))
}

/// The key of the publication in `dir`. A file that cannot be read counts by its size and
/// modification time (its error is reported when the publication is read); a directory that
/// cannot be listed gets a key of this moment, so it is read again every time.
pub fn part_key(resource: &str, dir: &Path) -> String {
    let mut h = Sha256::new();
    for part in ["zhijian-part-1", build_id(), resource] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(dir.file_name().unwrap_or_default().as_encoded_bytes());
    h.update([0]);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    };
    let entries: Option<Vec<PathBuf>> = std::fs::read_dir(dir)
        .ok()
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect());
    let Some(mut entries) = entries else {
        h.update(format!("unlisted {}", now()).as_bytes());
        return sha256_hex(&h.finalize())[..32].to_owned();
    };
    entries.sort();
    for path in entries {
        h.update(path.file_name().unwrap_or_default().as_encoded_bytes());
        h.update([0]);
        if path.is_dir() {
            h.update(b"dir");
        } else {
            match std::fs::read(&path) {
                Ok(bytes) => h.update(Sha256::digest(bytes)),
                Err(_) => {
                    let stamp = std::fs::metadata(&path)
                        .ok()
                        .and_then(|m| Some((m.len(), m.modified().ok()?)))
                        .map(|(len, t)| format!("unreadable {len} {t:?}"))
                        .unwrap_or_else(|| format!("unreadable {}", now()));
                    h.update(stamp.as_bytes());
                }
            }
        }
        h.update([0]);
    }
    sha256_hex(&h.finalize())[..32].to_owned()
}

/// The part `key` of `resource` if it is complete in the warehouse.
pub fn load(warehouse: &Path, resource: &str, key: &str) -> Option<PartMeta> {
    let text = std::fs::read(part_file(warehouse, resource, key, "json")).ok()?;
    let meta: PartMeta = serde_json::from_slice(&text).ok()?;
    let present = |suffix| part_file(warehouse, resource, key, suffix).is_file();
    let complete = meta.key == key
        && (meta.rows == 0 || present("arrow"))
        && (meta.rejects == 0 || present("rejects.ndjson"))
        && (!meta.keyed || present("keys.ndjson"));
    complete.then_some(meta)
}

/// Reads the publication in `dir` and keeps what it yields as part `key` (files written into
/// `tmp` and renamed into place, the description last, so a killed run leaves no part that
/// looks complete).
pub fn make(
    raw: &Path,
    warehouse: &Path,
    tmp: &Path,
    catalog: &Catalog,
    resource: &str,
    dir: &Path,
    key: &str,
) -> Result<PartMeta> {
    let mut rows = ResourceRows::default();
    ingest_publication(raw, catalog, resource, dir, &mut rows);
    let publication = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let key = key.to_owned();
    let meta = PartMeta {
        key: key.clone(),
        resource: resource.to_owned(),
        publication,
        rows: rows.row_count() as u64,
        accounting: rows.accounting.clone(),
        sources: rows.sources.clone(),
        errors: rows.errors.clone(),
        rejects: rows.rejects.len() as u64,
        keyed: !rows.keys.is_empty(),
    };
    let target = dir_of(warehouse, resource);
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    let stage = |suffix: &str, write: &dyn Fn(&mut BufWriter<File>) -> Result<()>| -> Result<()> {
        let tmp_path = tmp.join(format!("{resource}-{key}.{suffix}"));
        let file = File::create(&tmp_path).map_err(io(&tmp_path))?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| IngestError::Io {
            path: tmp_path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io(&tmp_path))?;
        let path = part_file(warehouse, resource, &key, suffix);
        std::fs::rename(&tmp_path, &path).map_err(io(&path))
    };
    let fail = |e: String| IngestError::Publish {
        resource: resource.to_owned(),
        problem: e,
    };
    if meta.rows > 0 {
        stage("arrow", &|w| {
            let schema = rows.batches[0].schema();
            let options = crate::sort::ipc_options().map_err(|e| fail(e.to_string()))?;
            let mut ipc = arrow_ipc::writer::FileWriter::try_new_with_options(w, &schema, options)
                .map_err(|e| fail(e.to_string()))?;
            for b in &rows.batches {
                ipc.write(b).map_err(|e| fail(e.to_string()))?;
            }
            ipc.finish().map_err(|e| fail(e.to_string()))
        })?;
    }
    if meta.rejects > 0 {
        stage("rejects.ndjson", &|w| {
            for r in &rows.rejects {
                serde_json::to_writer(&mut *w, r).map_err(|e| fail(e.to_string()))?;
                w.write_all(b"\n").map_err(|e| fail(e.to_string()))?;
            }
            Ok(())
        })?;
    }
    if meta.keyed {
        stage("keys.ndjson", &|w| {
            for k in &rows.keys {
                let line = serde_json::json!([
                    k.key,
                    k.at.source_file,
                    k.at.source_sheet,
                    k.at.source_row
                ]);
                serde_json::to_writer(&mut *w, &line).map_err(|e| fail(e.to_string()))?;
                w.write_all(b"\n").map_err(|e| fail(e.to_string()))?;
            }
            Ok(())
        })?;
    }
    stage("json", &|w| {
        serde_json::to_writer(&mut *w, &meta).map_err(|e| fail(e.to_string()))
    })?;
    Ok(meta)
}

/// A part's published rows, in raw order.
pub fn batches(
    warehouse: &Path,
    meta: &PartMeta,
) -> Result<Box<dyn Iterator<Item = Result<RecordBatch>>>> {
    if meta.rows == 0 {
        return Ok(Box::new(std::iter::empty()));
    }
    let path = part_file(warehouse, &meta.resource, &meta.key, "arrow");
    let file = File::open(&path).map_err(io(&path))?;
    let reader =
        arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None).map_err(|e| {
            IngestError::Json {
                path: path.clone(),
                problem: e.to_string(),
            }
        })?;
    Ok(Box::new(reader.map(move |b| {
        b.map_err(|e| IngestError::Json {
            path: path.clone(),
            problem: e.to_string(),
        })
    })))
}

/// A part's primary keys, in raw order.
pub fn keys(warehouse: &Path, meta: &PartMeta) -> Result<Vec<RowKey>> {
    if !meta.keyed {
        return Ok(Vec::new());
    }
    let path = part_file(warehouse, &meta.resource, &meta.key, "keys.ndjson");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    text.lines()
        .map(|line| {
            let (key, source_file, source_sheet, source_row): (
                String,
                String,
                Option<String>,
                u32,
            ) = serde_json::from_str(line).map_err(|e| IngestError::Json {
                path: path.clone(),
                problem: e.to_string(),
            })?;
            Ok(RowKey {
                key,
                at: Lineage {
                    source_file,
                    source_sheet,
                    source_row,
                },
            })
        })
        .collect()
}

/// Copies a part's rejected rows (NDJSON) to `out`.
pub fn copy_rejects(
    warehouse: &Path,
    meta: &PartMeta,
    out: &mut (impl Write + ?Sized),
) -> Result<()> {
    if meta.rejects == 0 {
        return Ok(());
    }
    let path = part_file(warehouse, &meta.resource, &meta.key, "rejects.ndjson");
    let mut file = File::open(&path).map_err(io(&path))?;
    std::io::copy(&mut file, out).map_err(io(&path))?;
    Ok(())
}
