//! Ingestion against the synthetic corpus and its truth (seeds the generator's tests never use).

/// Spot-check rows normalize to the truth: publication rate and field agreement.
mod accuracy;
/// Every published Parquet file reads the same in DuckDB, polars and pyarrow.
mod interop;
/// Header detection and row classes agree with the truth.
mod layout;
/// Malformed files are survived, unreadable ones reported, and every row accounted for.
mod malformed;
/// Containers, encodings and row numbers: every attachment reads, every truth row is found.
mod readers;
/// Streaming, spilling and killed ingests publish the bytes of the in-memory path.
mod streaming;

use std::path::PathBuf;
use std::sync::OnceLock;

/// A corpus with truth, generated once per run of this binary.
pub struct Corpus {
    _dir: tempfile::TempDir,
    /// The raw root.
    pub raw: PathBuf,
    /// The truth root.
    pub truth: PathBuf,
}

/// The corpus of this run.
pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("raw");
        let truth = dir.path().join("truth");
        let opts = zhijian_synth::Options {
            raw: raw.clone(),
            truth: Some(truth.clone()),
            scale: 30_000,
            seed: 4_242,
        };
        zhijian_synth::generate(&opts, &|_, _| {}).expect("corpus");
        Corpus {
            _dir: dir,
            raw,
            truth,
        }
    })
}

/// Every attachment listed in the truth, with its entry.
pub fn attachments() -> Vec<serde_json::Value> {
    let c = corpus();
    let mut out = Vec::new();
    let mut stack = vec![c.truth.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.ends_with("attachments.json") {
                let doc: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
                out.extend(doc.as_array().cloned().unwrap_or_default());
            }
        }
    }
    out.sort_by(|a, b| a["source_file"].as_str().cmp(&b["source_file"].as_str()));
    out
}

/// The truth lines of an attachment keyed by (sheet, row).
pub fn truth_of(
    source: &str,
) -> std::collections::BTreeMap<(Option<String>, u64), serde_json::Value> {
    let text =
        std::fs::read_to_string(corpus().truth.join(format!("{source}.ndjson"))).expect("truth");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                (
                    v["source_sheet"].as_str().map(str::to_owned),
                    v["source_row"].as_u64().unwrap_or_default(),
                ),
                v,
            )
        })
        .collect()
}
