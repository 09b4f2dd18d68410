//! A deterministic synthetic corpus of raw quality-supervision publications.
//!
//! No real data can be downloaded where this project is built, so the demo, the tests and the
//! benchmarks stand on this corpus. It imitates what authorities really publish
//! (`docs/REAL-DATA.md`): spot-check tables in the header sets H1–H12, fail-only national lists
//! after 2018, provincial and municipal variants, P/F codes with footnote legends, product
//! section rows, title and scope rows, GB2312 pages with the product only in the title,
//! CSV in UTF-8 (with and without BOM), GBK and GB18030, XLSX with merged titles, float
//! serials and real dates, HTML tables and JSON — and the messiness of docs/REAL-DATA.md §4 at
//! realistic rates, including rows no correct ingester may publish. The other 98 resources
//! (registers, lists, statistics) are generated as each is really published (`registers`):
//! numbers in the issuing body's format, names that belong to the register, dates in order,
//! keys unique by construction, statistics whose parts add up.
//!
//! With a truth directory it also writes, for every attachment, what a correct ingester
//! produces: the canonical row of each data row (keyed by `source_file`, `source_sheet`,
//! `source_row`), the rows to reject and why, and the non-data rows with their class.
//! See `crates/synth/README.md` for the rules the truth follows.
//!
//! The same seed and scale give byte-identical files. Every publication is generated from its
//! own random stream, in parallel, and no attachment holds more than a few hundred rows of a
//! product, so memory stays flat as `scale` grows.
//!
//! This crate never depends on the ingester: a generator sharing the ingester's normalization
//! would make the accuracy tests prove nothing.

mod corpus;
mod enterprise;
mod error;
mod others;
mod publication;
mod registers;
mod rng;
mod sink;
mod spot;
mod text;
mod vocab;
mod xls;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::Serialize;
use zhijian_catalog::Catalog;

pub use error::{Result, SynthError};
pub use sink::Counts;

/// What to generate, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The raw root: `<out>/<resource_id>/<publication_id>/…`.
    pub raw: PathBuf,
    /// Where to write the truth, mirroring the raw layout (`<file>.ndjson` per attachment).
    pub truth: Option<PathBuf>,
    /// About how many spot-check rows to write; the other resources grow in proportion.
    pub scale: u64,
    /// The random seed.
    pub seed: u64,
}

pub(crate) type Output = Options;

/// The smallest scale that still covers every layout and resource.
pub const MIN_SCALE: u64 = 2_000;

/// The demo corpus's scale and seed (README's serve command).
pub const DEMO: (u64, u64) = (300_000, 2026);

/// A unit of work: one publication, or one national year (which writes several).
#[derive(Debug, Clone)]
pub(crate) enum Job {
    National(i32),
    Local {
        resource: &'static str,
        index: usize,
        of: usize,
    },
    Other {
        resource: String,
        index: usize,
        of: usize,
    },
}

/// What was written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Publication directories.
    pub publications: u64,
    /// Attachment files.
    pub attachments: u64,
    /// Row accounting per resource id.
    pub resources: BTreeMap<String, CountsJson>,
    /// Attachments per container and encoding (`csv/gbk`, `xlsx/binary`, …).
    pub formats: BTreeMap<String, u64>,
    /// Spot-check attachments per header set (`H1` … `H12` and our variants).
    pub layouts: BTreeMap<String, u64>,
}

/// Row accounting in serializable form.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct CountsJson {
    /// Rows a correct ingester publishes.
    pub data: u64,
    /// Rows it must reject.
    pub reject: u64,
    /// Rows that are not data.
    pub non_data: u64,
}

impl Stats {
    pub(crate) fn record(&mut self, resource: &str, att: &sink::Attachment, counts: Counts) {
        let format = att.format;
        self.attachments += 1;
        if !att.layout.is_empty() {
            *self.layouts.entry(att.layout.to_owned()).or_default() += 1;
        }
        let c = self.resources.entry(resource.to_owned()).or_default();
        c.data += counts.data;
        c.reject += counts.reject;
        c.non_data += counts.non_data;
        *self
            .formats
            .entry(format!("{}/{}", format.ext(), format.encoding_label()))
            .or_default() += 1;
    }

    pub(crate) fn add(&mut self, other: Self) {
        self.publications += other.publications;
        self.attachments += other.attachments;
        for (k, v) in other.resources {
            let c = self.resources.entry(k).or_default();
            c.data += v.data;
            c.reject += v.reject;
            c.non_data += v.non_data;
        }
        for (k, v) in other.formats {
            *self.formats.entry(k).or_default() += v;
        }
        for (k, v) in other.layouts {
            *self.layouts.entry(k).or_default() += v;
        }
    }

    /// Data rows of the spot-check resources.
    pub fn spot_check_rows(&self, catalog: &Catalog) -> u64 {
        catalog
            .resources
            .iter()
            .filter(|r| r.spot_check)
            .filter_map(|r| self.resources.get(&r.id))
            .map(|c| c.data + c.reject)
            .sum()
    }
}

/// Generates the corpus; `progress(done, total)` is called as publications finish.
pub fn generate(opts: &Options, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Stats> {
    if opts.scale < MIN_SCALE {
        return Err(SynthError::Option {
            option: "scale",
            problem: format!("{} is below the minimum of {MIN_SCALE} rows", opts.scale),
        });
    }
    for dir in std::iter::once(&opts.raw).chain(opts.truth.as_ref()) {
        if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return Err(SynthError::Option {
                option: if Some(dir) == opts.truth.as_ref() {
                    "truth"
                } else {
                    "out"
                },
                problem: format!(
                    "{} is not empty; choose a new directory so two corpora never mix",
                    dir.display()
                ),
            });
        }
    }
    let catalog = Catalog::builtin()?;
    let mut jobs = corpus::jobs(opts.scale);
    jobs.extend(others::jobs(&catalog, opts.scale));
    let total = jobs.len() as u64;
    let done = AtomicU64::new(0);
    let stats = jobs
        .par_iter()
        .map(|job| {
            let stats = match job {
                Job::National(year) => corpus::national_year(opts, *year),
                Job::Local {
                    resource,
                    index,
                    of,
                } => corpus::local_publication(opts, resource, *index, *of),
                Job::Other {
                    resource,
                    index,
                    of,
                } => {
                    let r = catalog.resource(resource)?;
                    others::publication(opts, r, catalog.schema_of(r)?, *index, *of)
                }
            };
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            stats
        })
        .try_reduce(Stats::default, |mut a, b| {
            a.add(b);
            Ok(a)
        })?;
    if let Some(truth) = &opts.truth {
        let summary = serde_json::json!({ "seed": opts.seed, "scale": opts.scale, "stats": stats });
        let path = truth.join("summary.json");
        let bytes = serde_json::to_vec_pretty(&summary).unwrap_or_default();
        std::fs::write(&path, bytes).map_err(|source| SynthError::Write { path, source })?;
    }
    Ok(stats)
}
