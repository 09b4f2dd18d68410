//! `zhijian synth`: writes the synthetic raw corpus (and its truth).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use zhijian_synth::{DEMO, Options, generate};

use crate::CliError;

/// Arguments of `zhijian synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The raw root to create (`<out>/<resource_id>/<publication_id>/…`); must be new or empty.
    #[arg(long, env = "ZHIJIAN_SYNTH_OUT", value_name = "DIR")]
    out: PathBuf,
    /// About how many spot-check rows to write; the other resources grow in proportion.
    #[arg(long, env = "ZHIJIAN_SYNTH_SCALE", default_value_t = DEMO.0)]
    scale: u64,
    /// Random seed: the same seed and scale give byte-identical files.
    #[arg(long, env = "ZHIJIAN_SYNTH_SEED", default_value_t = DEMO.1)]
    seed: u64,
    /// Also write the ground truth here: per attachment, the rows to publish, to reject and the non-data rows.
    #[arg(long, value_name = "DIR")]
    truth: Option<PathBuf>,
}

pub(crate) fn run(args: &SynthArgs, out: &mut impl Write) -> Result<(), CliError> {
    let started = Instant::now();
    let bar = crate::progress_bar("synth", "publications");
    let opts = Options {
        raw: args.out.clone(),
        truth: args.truth.clone(),
        scale: args.scale,
        seed: args.seed,
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let stats = generate(&opts, &progress)?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let catalog = zhijian_catalog::Catalog::builtin()?;
    let sc_rows = stats.spot_check_rows(&catalog);
    let all_rows: u64 = stats
        .resources
        .values()
        .map(|c| c.data + c.reject + c.non_data)
        .sum();
    writeln!(
        out,
        "wrote {} publications, {} attachments, {} resources into {}",
        stats.publications,
        stats.attachments,
        stats.resources.len(),
        args.out.display()
    )?;
    writeln!(
        out,
        "spot-check rows: {sc_rows}; all rows (incl. non-data): {all_rows}"
    )?;
    writeln!(
        out,
        "{secs:.1} s, {:.0} rows/s",
        all_rows as f64 / secs.max(1e-9)
    )?;
    writeln!(
        out,
        "{:<8} {:>10} {:>8} {:>9}",
        "resource", "data", "reject", "non-data"
    )?;
    for (id, c) in &stats.resources {
        writeln!(
            out,
            "{id:<8} {:>10} {:>8} {:>9}",
            c.data, c.reject, c.non_data
        )?;
    }
    writeln!(
        out,
        "formats: {}",
        stats
            .formats
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(())
}
