//! `publication.toml`: the notice's metadata beside its attachments (docs/DESIGN.md §4).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Result, SynthError};
use crate::spot::PubMeta;

/// Per-attachment facts not present in the table itself.
#[derive(Debug, Clone)]
pub struct FileHint {
    /// Attachment file name.
    pub file: String,
    /// The product the attachment covers (named only in a page title, say).
    pub product: Option<&'static str>,
    /// The attachment's scope when it differs from the publication's.
    pub scope: Option<&'static str>,
}

/// What `publication.toml` says.
pub struct Publication<'a> {
    /// The notice.
    pub meta: &'a PubMeta,
    /// Per-file facts.
    pub hints: &'a [FileHint],
    /// The encoding hint (sometimes absent, sometimes wrong).
    pub encoding_hint: Option<&'a str>,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Writes `publication.toml` into a publication directory.
pub fn write_publication(dir: &Path, p: &Publication<'_>) -> Result<()> {
    let m = p.meta;
    let mut s = String::new();
    let _ = writeln!(s, "title = {}", q(&m.title));
    let _ = writeln!(s, "authority = {}", q(&m.authority));
    if let Some(no) = &m.announcement_no {
        let _ = writeln!(s, "announcement_no = {}", q(no));
    }
    let _ = writeln!(s, "published = {}", m.announced_on.iso());
    if !m.check_level.is_empty() {
        let _ = writeln!(s, "check_level = {}", q(m.check_level));
    }
    let _ = writeln!(s, "plan_year = {}", m.plan_year);
    if let Some(round) = &m.round {
        let _ = writeln!(s, "round = {}", q(round));
    }
    if let Some(campaign) = &m.campaign {
        let _ = writeln!(s, "campaign = {}", q(campaign));
    }
    let _ = writeln!(s, "scope = {}", q(m.scope));
    if let Some(enc) = p.encoding_hint {
        let _ = writeln!(s, "encoding = {}", q(enc));
    }
    for hint in p.hints {
        let _ = writeln!(s, "\n[files.{}]", q(&hint.file));
        if let Some(product) = hint.product {
            let _ = writeln!(s, "product = {}", q(product));
        }
        if let Some(scope) = hint.scope {
            let _ = writeln!(s, "scope = {}", q(scope));
        }
    }
    let path = dir.join("publication.toml");
    std::fs::write(&path, s).map_err(|source| SynthError::Write { path, source })
}
