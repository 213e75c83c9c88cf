//! `tempora plan SPEC`: what would be computed, why, and what it costs —
//! without computing anything.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;

use tempora::device::ComputeDevice;
use tempora::plan::estimate;
use tempora::plan::{self, Freshness, Plan, TaskKind};
use tempora::workspace::{Check, Workspace};

use super::args::{ExecutorArgs, ExecutorKind, SpecArgs};
use super::output::{device_words, kind_table, thousands};

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
    pub executor: ExecutorArgs,
}

/// `tempora plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let (workspace, plan, device) = args.common.plan(Check::Sizes)?;
    eprint!("{}", super::output::data_warnings(&plan));
    if args.dot {
        print!("{}", plan::dot::to_dot(&plan.graph, &plan.freshness));
    } else if args.json {
        let text = plan::json::to_json(&plan.experiment.name, &plan.graph, &plan.freshness)
            .context("encoding the plan as JSON")?;
        println!("{text}");
    } else {
        print!("{}", render(&plan, &workspace, device));
    }
    if args.executor.executor == ExecutorKind::Slurm {
        let settings = args.executor.settings()?;
        print!("{}", workspace.slurm_preview(&plan, &settings)?);
    }
    if args.freeze {
        let path = workspace.freeze(&plan).context("freezing the plan")?;
        println!("frozen plan: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The per-kind table, then the first reasons, then the per-model table with
/// estimates. Ends with `N to run`.
fn render(plan: &Plan, workspace: &Workspace, device: ComputeDevice) -> String {
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
    out.push_str(&model_table(plan, workspace, device));
    let to_run: usize = plan.summary().iter().map(|k| k.to_run).sum();
    out.push_str(&format!("\n{to_run} to run\n"));
    out
}

/// The first `limit` stale tasks past the features stage, with their reason.
fn reasons(plan: &Plan, limit: usize) -> String {
    let stale: Vec<String> = plan
        .graph
        .tasks()
        .filter(|t| t.kind() != TaskKind::Features)
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

fn model_table(plan: &Plan, workspace: &Workspace, device: ComputeDevice) -> String {
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
    match estimate::rate(plan, workspace.store(), &flops, device) {
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
