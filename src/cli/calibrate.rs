//! `tempora calibrate [--cache DIR]`: measures how fast this CPU computes the
//! models' hot loop and saves the rate in the cache root, where `tempora plan`
//! reads it to turn FLOPs into time (plan itself never runs a kernel).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use tempora::calibration;

use super::args::DEFAULT_CACHE;

/// Arguments of `tempora calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The cache directory the calibration is saved in (created on demand).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
}

/// `tempora calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let cal = calibration::measure_cpu();
    println!(
        "{}: {:.2} GFLOP/s, measured with {}",
        cal.label,
        cal.flops_per_second / 1e9,
        cal.measured_with
    );
    let path = cal
        .save(&args.cache)
        .with_context(|| format!("saving the calibration in {}", args.cache.display()))?;
    println!(
        "saved to {} (`tempora plan --device cpu --cache {}` uses it)",
        path.display(),
        args.cache.display()
    );
    Ok(ExitCode::SUCCESS)
}
