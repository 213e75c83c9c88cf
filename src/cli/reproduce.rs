//! `tempora reproduce`: Table 1 end to end — plan, run what is missing,
//! write `reports/<experiment>/`, print the table. What `just reproduce` runs.
//!
//! Choices it makes, each said on its first line of output:
//! - **protocol**: `--protocol auto` (the default) runs the paper protocol on a
//!   CUDA device and the spec's `quick` profile on the CPU, where the paper
//!   protocol would take days (the line quotes `tempora plan`'s estimate);
//!   `--protocol paper` forces the paper protocol, `--profile NAME` runs any
//!   profile of the spec (whatever its name, `auto` and `paper` included);
//! - **data**: real Ballroom when `--data` or `TEMPORA_BALLROOM` points to a
//!   copy, else the spec's dataset (the embedded synthetic corpus).
//!
//! Exit codes as `tempora run`: 0 when everything ran, 1 when some tasks
//! failed (the report then shows what finished), 2 on errors before running.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tempora::calibration::{self, Calibration};
use tempora::dataset::source::BALLROOM_ENV;
use tempora::device::{self, ComputeDevice};
use tempora::exec::store::Check;
use tempora::plan::estimate::{human_seconds, training_seconds_to_run};
use tempora::plan::PlanOptions;

use super::plan::{prepare, SpecArgs, Target};
use super::report::{note_full_command, write_and_print};
use super::run::{execute, RunArgs};

/// The profile `--profile auto` picks on a CPU.
pub const CPU_PROFILE: &str = "quick";

/// Which protocol `reproduce` runs when no profile is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// The paper protocol on a CUDA device, the CPU profile otherwise.
    Auto,
    /// The paper protocol (the spec as written), whatever the device.
    Paper,
}

/// Arguments of `tempora reproduce`.
#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// The Table 1 spec.
    #[arg(long, value_name = "SPEC", default_value = "experiments/table1.toml")]
    pub spec: PathBuf,
    /// `auto`: the paper protocol on a CUDA device, the spec's `quick`
    /// profile on a CPU; `paper`: the spec as written, whatever the device.
    #[arg(long, value_enum, default_value = "auto", conflicts_with = "profile")]
    pub protocol: Protocol,
    /// Run this `[profile.NAME]` of the spec instead.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Dataset (default: `ballroom` when TEMPORA_BALLROOM is set, else the
    /// spec's or profile's), cache and device.
    #[command(flatten)]
    pub target: Target,
    /// CPU worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub executor: super::executor::ExecutorArgs,
    /// Directory that holds one report directory per experiment.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub reports_dir: PathBuf,
}

/// Runs `tempora reproduce`.
pub fn run(args: ReproduceArgs) -> anyhow::Result<ExitCode> {
    let device = device::resolve(args.target.device)?;
    let data = args.target.data.clone().or_else(|| {
        std::env::var_os(BALLROOM_ENV)
            .filter(|p| !p.is_empty())
            .map(|_| "ballroom".to_owned())
    });
    let profile = match (&args.profile, args.protocol, device) {
        (Some(name), _, _) => Some(name.clone()),
        (None, Protocol::Auto, ComputeDevice::Cpu) => Some(CPU_PROFILE.to_owned()),
        (None, Protocol::Auto, ComputeDevice::Cuda(_)) | (None, Protocol::Paper, _) => None,
    };
    let common = SpecArgs {
        spec: args.spec.clone(),
        profile: profile.clone(),
        target: Target {
            data: data.clone(),
            ..args.target.clone()
        },
    };
    println!("{}", first_line(&args, &common, device)?);
    if let Some(data) = &data {
        println!("data: {data} (from --data or {BALLROOM_ENV})");
    }
    let run_args = RunArgs {
        common: common.clone(),
        only: Vec::new(),
        folds: None,
        jobs: args.jobs,
        dry_run: false,
        reports_dir: args.reports_dir.clone(),
        executor: args.executor.clone(),
    };
    let outcome = execute(&run_args, device)?;
    if outcome.detached {
        return Ok(outcome.code);
    }
    let mut input = match outcome.report {
        Some(input) => input,
        // Nothing ran: the plan's freshness is still true.
        None if outcome.ran == 0 && outcome.failed == 0 => {
            outcome.workspace.report_input(&outcome.plan)?
        }
        // Some tasks failed: report what finished, judged anew.
        None => {
            let opts = PlanOptions {
                device: device.into(),
                ..PlanOptions::default()
            };
            let (workspace, plan) = prepare(&common, opts, Check::Sizes)?;
            workspace.report_input(&plan)?
        }
    };
    note_full_command(&mut input, &common);
    let dir = args.reports_dir.join(&input.experiment);
    write_and_print(&input, &dir, true)?;
    if outcome.failed > 0 {
        eprintln!(
            "{} tasks failed (see the log above); the report shows what finished. Rerun to retry.",
            outcome.failed
        );
    }
    Ok(outcome.code)
}

/// Measures and caches the CPU's rate when no calibration is cached yet
/// (what `tempora calibrate` does; a fraction of a second), so the first line
/// can quote the paper protocol's cost. A failure only loses the estimate.
fn calibrate_once(cache: &std::path::Path, device: ComputeDevice) {
    if device != ComputeDevice::Cpu || matches!(Calibration::load(cache, device), Ok(Some(_))) {
        return;
    }
    if let Err(e) = calibration::measure_cpu().save(cache) {
        eprintln!("reproduce: cannot cache the CPU calibration: {e}");
    }
}

/// Says which protocol, on which device, and why.
fn first_line(
    args: &ReproduceArgs,
    common: &SpecArgs,
    device: ComputeDevice,
) -> anyhow::Result<String> {
    let on = match device {
        ComputeDevice::Cpu => "the CPU".to_owned(),
        ComputeDevice::Cuda(n) => format!("CUDA device {n}"),
    };
    let auto = args.profile.is_none() && args.protocol == Protocol::Auto;
    Ok(match (auto, &common.profile) {
        (true, Some(profile)) => {
            let paper = SpecArgs {
                profile: None,
                ..common.clone()
            };
            let opts = PlanOptions {
                device: device.into(),
                ..PlanOptions::default()
            };
            let (workspace, plan) = prepare(&paper, opts, Check::Sizes)
                .context("estimating the paper protocol's cost")?;
            calibrate_once(workspace.store().root(), device);
            let cost = match training_seconds_to_run(&plan, workspace.store(), device) {
                Some((seconds, _)) => format!("≈ {} of training here", human_seconds(seconds)),
                None => "an unknown time here (`tempora calibrate` measures this CPU)".to_owned(),
            };
            format!(
                "reproduce: no CUDA device, so this runs the `{profile}` profile on {on} — a \
                 reduced protocol (fewer models and folds, training until validation accuracy \
                 stops improving), not the paper protocol, which would need {cost} \
                 (`tempora plan {} --device cpu`). Force it with `just reproduce paper`.",
                args.spec.display()
            )
        }
        (_, None) => format!(
            "reproduce: the paper protocol ({}) on {on}",
            args.spec.display()
        ),
        (_, Some(profile)) => format!("reproduce: profile `{profile}` on {on}, as asked"),
    })
}
