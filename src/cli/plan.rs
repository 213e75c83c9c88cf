//! `tempora plan SPEC`: what would be computed, why, and what it costs —
//! without computing anything. Also home of the arguments and helpers that
//! `run` and `status` share with it (spec, profile, cache, device).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use tempora::device::{ComputeDevice, DeviceChoice};
use tempora::exec::store::{Check, Store};
use tempora::plan::estimate;
use tempora::plan::{self, Freshness, Plan, PlanOptions, TaskKind};
use tempora::workspace::{SpecTarget, Workspace};

/// Default cache directory, relative to the working directory.
pub const DEFAULT_CACHE: &str = "cache";

/// Arguments shared by `plan`, `run` and `status` (and, with an optional
/// spec, `report`).
#[derive(Debug, Clone, clap::Args)]
pub struct SpecArgs {
    /// The experiment spec (TOML), e.g. `experiments/table1.toml`.
    pub spec: PathBuf,
    /// A `[profile.NAME]` of the spec to apply (e.g. `quick`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// What an experiment runs on and where its results live: the dataset
/// override, the cache and the device (shared by every experiment command).
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Replace the spec's dataset: `ballroom:/path/to/BallroomData`, `ballroom`
    /// (reads TEMPORA_BALLROOM), `folder:/path` or `synthetic:tiny|small|full`.
    #[arg(long, value_name = "DATASET")]
    pub data: Option<String>,
    /// The cache directory (created on demand; safe to delete).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// Where training runs: `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
    /// CPU and CUDA results are cached separately.
    #[arg(long, value_name = "DEVICE", default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
}

/// Arguments of `tempora plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// Print the task graph as Graphviz DOT instead of the tables.
    #[arg(long, conflicts_with = "json")]
    pub dot: bool,
    /// Print the task graph as JSON instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Also freeze the plan into the cache (`frozen/`) and print the file:
    /// `tempora exec-task --plan FILE --task ID` runs one of its tasks.
    #[arg(long)]
    pub freeze: bool,
    #[command(flatten)]
    pub executor: super::executor::ExecutorArgs,
}

/// Parses `auto`, `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(text: &str) -> Result<DeviceChoice, String> {
    match text {
        "auto" => Ok(DeviceChoice::Auto),
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" => Ok(DeviceChoice::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(DeviceChoice::Cuda)
            .ok_or_else(|| format!("unknown device {other:?}: expected auto, cpu, cuda or cuda:N")),
    }
}

/// Resolves the device choice (probing for a CUDA driver; `auto` falls back
/// to the CPU with one line on stderr, never a panic).
pub fn resolve_device(choice: DeviceChoice) -> anyhow::Result<ComputeDevice> {
    let device = tempora::device::resolve(choice)?;
    if choice == DeviceChoice::Auto && device == ComputeDevice::Cpu {
        eprintln!("device: no usable CUDA driver/device found; running on the CPU");
    }
    Ok(device)
}

/// The workspace (cache) and the spec target the arguments name.
pub fn workspace_and_target(args: &SpecArgs) -> anyhow::Result<(Workspace, SpecTarget)> {
    let workspace = Workspace::open(&args.target.cache)
        .with_context(|| format!("opening the cache {}", args.target.cache.display()))?;
    let target = SpecTarget {
        spec: args.spec.clone(),
        profile: args.profile.clone(),
        data: args.target.data.clone(),
    };
    Ok((workspace, target))
}

/// Loads the spec, opens the cache and plans (checking entries with `check`).
pub fn prepare(
    args: &SpecArgs,
    opts: PlanOptions,
    check: Check,
) -> anyhow::Result<(Workspace, Plan)> {
    let (workspace, target) = workspace_and_target(args)?;
    let plan = workspace
        .plan_spec(&target, &opts, check)
        .with_context(|| format!("planning {}", args.spec.display()))?;
    Ok((workspace, plan))
}

/// `tempora plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let device = resolve_device(args.common.target.device)?;
    let opts = PlanOptions {
        device: device.into(),
        ..PlanOptions::default()
    };
    let (workspace, plan) = prepare(&args.common, opts, Check::Sizes)?;
    let store = workspace.store();
    if args.dot {
        print!("{}", plan::dot::to_dot(&plan.graph, &plan.freshness));
    } else if args.json {
        let text = plan::json::to_json(&plan.experiment.name, &plan.graph, &plan.freshness)
            .context("encoding the plan as JSON")?;
        println!("{text}");
    } else {
        print!("{}", render(&plan, store, device));
    }
    if args.executor.executor == super::executor::ExecutorKind::Slurm {
        print!("{}", super::executor::slurm_plan(&plan, &args.executor)?);
    }
    if args.freeze {
        let path = workspace.freeze(&plan).context("freezing the plan")?;
        println!("frozen plan: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The per-kind table, then the first reasons, then the per-model table with
/// estimates. Ends with `N to run`.
pub fn render(plan: &Plan, store: &Store, device: ComputeDevice) -> String {
    let mut out = String::new();
    let exp = &plan.experiment;
    out.push_str(&format!(
        "{}{} — dataset {}, {} tracks, {} models, {} folds, training on {}\n\n",
        exp.name,
        exp.profile
            .as_ref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default(),
        plan.dataset.name,
        plan.dataset.tracks.len(),
        exp.models.len(),
        exp.protocol.folds,
        device_words(device),
    ));
    out.push_str(&kind_table(plan));
    out.push_str(&reasons(plan, 8));
    out.push_str(&model_table(plan, store, device));
    let to_run: usize = plan.summary().iter().map(|k| k.to_run).sum();
    out.push_str(&format!("\n{to_run} to run\n"));
    out
}

fn device_words(device: ComputeDevice) -> String {
    match device {
        ComputeDevice::Cpu => "cpu".into(),
        ComputeDevice::Cuda(n) => format!("cuda:{n}"),
    }
}

/// `kind  total  cached  to run  why`.
pub fn kind_table(plan: &Plan) -> String {
    let mut out = format!(
        "{:<10} {:>6} {:>7} {:>7}  why\n",
        "kind", "total", "cached", "to run"
    );
    for row in plan.summary() {
        let why: Vec<String> = row
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        out.push_str(&format!(
            "{:<10} {:>6} {:>7} {:>7}  {}\n",
            row.kind.name(),
            row.total,
            row.cached,
            row.to_run,
            why.join(", ")
        ));
    }
    out
}

/// The first `limit` stale tasks past the features stage, with their reason.
fn reasons(plan: &Plan, limit: usize) -> String {
    let stale: Vec<String> = plan
        .graph
        .tasks()
        .filter(|t| t.kind != TaskKind::Features)
        .filter_map(|t| match plan.freshness.get(&t.id) {
            Some(Freshness::Stale(r)) => Some(format!("  {}: {r}\n", t.id)),
            _ => None,
        })
        .collect();
    if stale.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nwhy (first tasks):\n");
    for line in stale.iter().take(limit) {
        out.push_str(line);
    }
    if stale.len() > limit {
        out.push_str(&format!("  … and {} more\n", stale.len() - limit));
    }
    out
}

fn model_table(plan: &Plan, store: &Store, device: ComputeDevice) -> String {
    let exp = &plan.experiment;
    let flops = estimate::train_task_flops(plan);
    let mut per_model: BTreeMap<usize, (usize, usize, f64)> = BTreeMap::new();
    for (id, &(m, f)) in &flops {
        let entry = per_model.entry(m).or_insert((0, 0, 0.0));
        entry.0 += 1;
        if plan.is_stale(id) {
            entry.1 += 1;
            entry.2 += f;
        }
    }
    let mut out = format!(
        "\n{:<28} {:>10} {:>9} {:>6} {:>7} {:>16}\n",
        "model", "params", "hops", "tasks", "to run", "FLOPs to run (≤)"
    );
    let mut total = 0.0;
    for (m, model) in exp.models.iter().enumerate() {
        let Some(&(tasks, stale, f)) = per_model.get(&m) else {
            continue;
        };
        total += f;
        let hops: Vec<String> = model.hops.iter().map(|h| h.to_string()).collect();
        out.push_str(&format!(
            "{:<28} {:>10} {:>9} {:>6} {:>7} {:>16}\n",
            model.name,
            thousands(model.arch.param_count()),
            hops.join(","),
            tasks,
            stale,
            estimate::human_flops(f)
        ));
    }
    out.push_str(&format!(
        "\ntraining to run: ≤ {} (every epoch counted)\n",
        estimate::human_flops(total)
    ));
    match estimate::rate(plan, store, &flops, device) {
        Some(cal) => out.push_str(&format!(
            "time on {}: ≈ {} at {:.2} GFLOP/s (measured with {}; {})\n",
            cal.label,
            estimate::human_seconds(total / cal.flops_per_second.max(1.0)),
            cal.flops_per_second / 1e9,
            cal.measured_with,
            cal.when_utc(),
        )),
        None if device == ComputeDevice::Cpu => {
            out.push_str("time on cpu: unknown; run `tempora calibrate` for a time estimate\n")
        }
        None => out.push_str(&format!(
            "time on {}: unknown until one training task has run there \
             (`tempora calibrate` measures the CPU only)\n",
            device_words(device)
        )),
    }
    out
}

/// `11608` → `11,608`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
