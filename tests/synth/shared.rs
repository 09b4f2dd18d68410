use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use zhijian_synth::{Options, Stats, generate};

/// The shared corpus: big enough for per-year statistics, small enough for a test run.
pub const SCALE: u64 = 150_000;
/// Its seed (one the generator's authors never tuned against).
pub const SEED: u64 = 90_210;

pub struct Corpus {
    _dir: tempfile::TempDir,
    pub raw: PathBuf,
    pub truth: PathBuf,
    pub stats: Stats,
}

pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("raw");
        let truth = dir.path().join("truth");
        let opts = Options {
            raw: raw.clone(),
            truth: Some(truth.clone()),
            scale: SCALE,
            seed: SEED,
        };
        let stats = generate(&opts, &|_, _| {}).expect("the corpus generates");
        Corpus {
            _dir: dir,
            raw,
            truth,
            stats,
        }
    })
}

/// All files under a directory, sorted, relative to it.
pub fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Every `attachments.json` entry of the truth.
pub fn attachments(truth: &Path) -> Vec<Value> {
    files(truth)
        .into_iter()
        .filter(|p| p.ends_with("attachments.json"))
        .flat_map(|p| {
            let doc: Value = serde_json::from_slice(&std::fs::read(truth.join(&p)).expect("read"))
                .expect("json");
            doc.as_array().cloned().unwrap_or_default()
        })
        .collect()
}

/// The truth lines of one resource.
pub fn truth_lines(truth: &Path, resource: &str) -> Vec<Value> {
    let dir = truth.join(resource);
    files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .flat_map(|p| {
            let text = std::fs::read_to_string(dir.join(&p)).expect("read truth");
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("truth line is JSON"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The data rows of one resource's truth.
pub fn data_rows(truth: &Path, resource: &str) -> Vec<Value> {
    truth_lines(truth, resource)
        .into_iter()
        .filter(|l| l["kind"] == "data")
        .map(|l| l["row"].clone())
        .collect()
}
