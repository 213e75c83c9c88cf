//! `tempora check SPEC --baseline FILE [--tolerance X]`: compares an
//! experiment's cached results with a baseline (an earlier report's
//! `results.json`, `results.csv` or `summary.csv`) and prints one verdict
//! per (model, hop); see `tempora::regression` for what fails and the
//! statistic. Never trains: run the experiment first (`tempora run`).
//!
//! Exit codes: 0 when every row passes; 1 when a parameter count changed, a
//! model or fold is missing, or accuracy dropped beyond the allowed drop;
//! 2 when the spec, cache or baseline cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tempora::regression::{self, Current, Tolerance, MIN_MARGIN};
use tempora::workspace::Check;

use super::args::SpecArgs;

/// Arguments of `tempora check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// The baseline: a report's results.json, results.csv or summary.csv.
    #[arg(long, value_name = "FILE")]
    pub baseline: PathBuf,
    /// The allowed drop in mean song accuracy, as a fraction (0.02 = 2
    /// percentage points); replaces the fold-variance statistic.
    #[arg(long, value_name = "X")]
    pub tolerance: Option<f64>,
}

/// Runs `tempora check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let tolerance = match args.tolerance {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            anyhow::bail!("--tolerance {x}: give a fraction in 0..1 (0.02 = 2 percentage points)")
        }
        Some(x) => Tolerance::Fixed(x),
        None => Tolerance::Statistical { margin: MIN_MARGIN },
    };
    let baseline = regression::read_baseline(&args.baseline)
        .with_context(|| format!("reading the baseline {}", args.baseline.display()))?;
    let (workspace, plan, _device) = args.common.plan(Check::Sizes)?;
    let input = workspace
        .report_input(&plan)
        .context("reading the experiment's results from the cache")?;
    let report = regression::compare(&baseline, &Current::from_report(&input), tolerance);
    println!(
        "{} against {} ({}):\n",
        input.experiment,
        args.baseline.display(),
        match tolerance {
            Tolerance::Fixed(x) => format!("allowed drop {:.2} pp", 100.0 * x),
            Tolerance::Statistical { margin } => format!(
                "allowed drop t(0.95, n−1)·sd/√n of the paired fold differences + {:.2} pp",
                100.0 * margin
            ),
        }
    );
    print!("{}", regression::render(&report));
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
