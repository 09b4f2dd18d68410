//! `zhijian gc`: keep some snapshots of a warehouse and delete every file no kept snapshot
//! needs (with `--dry-run`, list them with their sizes).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Args;
use zhijian_ingest::gc::{Retention, collect};

use crate::CliError;

/// Arguments of `zhijian gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The warehouse to collect.
    #[arg(long, env = "ZHIJIAN_WAREHOUSE", value_name = "DIR")]
    warehouse: PathBuf,
    /// Keep the N most recent snapshots (the current one counts).
    #[arg(long, value_name = "N")]
    keep: Option<usize>,
    /// Keep the snapshots published in the last D days.
    #[arg(long, value_name = "D")]
    keep_days: Option<u64>,
    /// Keep a snapshot that was current less than this many minutes ago (a server may still
    /// be answering from it), and every file younger than that.
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    grace_minutes: u64,
    /// List what would be deleted, with sizes; delete nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(args: &GcArgs, out: &mut impl Write) -> Result<(), CliError> {
    if crate::remote::url_of(&args.warehouse).is_some() {
        return Err(CliError::LocalOnly {
            command: "gc",
            hint: "retention of an s3:// warehouse is not implemented yet (its files are shared between snapshots: do not expire them by age)",
        });
    }
    let policy = Retention {
        keep: args.keep,
        keep_days: args.keep_days,
        grace: Duration::from_secs(args.grace_minutes.saturating_mul(60)),
        now: SystemTime::now(),
    };
    let c = collect(&args.warehouse, &policy, args.dry_run)?;
    let verb = if c.dry_run { "would delete" } else { "deleted" };
    for f in &c.files {
        writeln!(out, "{verb} {:>12}  {}", f.bytes, f.path)?;
    }
    writeln!(
        out,
        "{} snapshots retained ({}); {} collected{}; {verb} {} files, {:.1} MiB",
        c.retained.len(),
        c.retained.join(", "),
        c.collected.len(),
        if c.collected.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.collected.join(", "))
        },
        c.files.len(),
        c.bytes as f64 / (1024.0 * 1024.0)
    )?;
    Ok(())
}
