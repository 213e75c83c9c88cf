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
//! failed (the report then shows what finished), 2 on errors before running,
//! 128 + N when signal N stopped it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tempora::dataset::source::BALLROOM_ENV;
use tempora::device::ComputeDevice;
use tempora::plan::estimate::human_seconds;
use tempora::workspace::{Mode, Observer, ProgressBars, ReportWhen, RunRequest, Workspace};

use super::args::{resolve_device, ExecutorArgs, SpecArgs, Target};
use super::{interrupt, output};

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
    pub executor: ExecutorArgs,
    /// Directory that holds one report directory per experiment.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub reports_dir: PathBuf,
}

/// Runs `tempora reproduce`.
pub fn run(args: ReproduceArgs) -> anyhow::Result<ExitCode> {
    let device = resolve_device(args.target.device)?;
    let data = args.target.data.clone().or_else(|| {
        std::env::var_os(BALLROOM_ENV)
            .filter(|p| !p.is_empty())
            .map(|_| "ballroom".to_owned())
    });
    let profile = match (&args.profile, args.protocol, device) {
        (Some(name), _, _) => Some(name.clone()),
        (None, Protocol::Auto, ComputeDevice::Cpu | ComputeDevice::Wgpu(_)) => {
            Some(CPU_PROFILE.to_owned())
        }
        (None, Protocol::Auto, ComputeDevice::Cuda(_)) | (None, Protocol::Paper, _) => None,
    };
    let common = SpecArgs {
        spec: args.spec.clone(),
        profile,
        target: Target {
            data: data.clone(),
            ..args.target.clone()
        },
    };
    let workspace = common.workspace()?;
    println!("{}", first_line(&args, &common, &workspace, device)?);
    if let Some(data) = &data {
        println!("data: {data} (from --data or {BALLROOM_ENV})");
    }
    let interrupt = interrupt::install(args.executor.executor.stop_note())?;
    let executor = args
        .executor
        .executor(args.jobs, Mode::Run, interrupt.stop())?;
    let progress = Arc::new(ProgressBars::new(false));
    let observers: Vec<Arc<dyn Observer>> = vec![progress.clone()];
    let print_plan = |plan: &tempora::plan::Plan| eprintln!("{}", output::plan_header(plan));
    let request = RunRequest {
        device,
        only: Vec::new(),
        folds: None,
        executor: executor.as_ref(),
        observers,
        dry_run: false,
        report: ReportWhen::Always,
        on_planned: &print_plan,
    };
    let outcome = workspace
        .run_experiment(&common.spec_target(), request)
        .with_context(|| format!("running {}", common.spec.display()))?;
    progress.finish();
    if let Some(code) = output::end_of_run(&outcome, &common, &interrupt, false) {
        return Ok(code);
    }
    let failed = outcome.failed();
    if let Some(mut input) = outcome.report {
        output::note_full_command(&mut input, &common);
        let dir = args.reports_dir.join(&input.experiment);
        output::write_and_print(&input, &dir, true)?;
    }
    if failed > 0 {
        eprintln!(
            "{failed} tasks failed (see the log above); the report shows what finished. Rerun to retry."
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Says which protocol, on which device, and why.
fn first_line(
    args: &ReproduceArgs,
    common: &SpecArgs,
    workspace: &Workspace,
    device: ComputeDevice,
) -> anyhow::Result<String> {
    let on = match device {
        ComputeDevice::Cpu => "the CPU".to_owned(),
        ComputeDevice::Cuda(n) => format!("CUDA device {n}"),
        ComputeDevice::Wgpu(n) => format!("wgpu adapter {n}"),
    };
    let auto = args.profile.is_none() && args.protocol == Protocol::Auto;
    Ok(match (auto, &common.profile) {
        (true, Some(profile)) => {
            let paper = SpecArgs {
                profile: None,
                ..common.clone()
            };
            let seconds = workspace
                .training_estimate(&paper.spec_target(), device)
                .context("estimating the paper protocol's cost")?;
            let cost = match seconds {
                Some(seconds) => format!("≈ {} of training here", human_seconds(seconds)),
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
