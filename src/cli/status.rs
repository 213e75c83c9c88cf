//! `tempora status SPEC`: what of an experiment is done, running (another
//! process holds the task's lock), interrupted (an incomplete work directory
//! will resume) or missing — per task kind and per model. Computes nothing
//! and checks cached entries by size only (`run` re-hashes them).

use std::collections::BTreeMap;
use std::process::ExitCode;

use tempora::plan::{Freshness, Locator, StaleReason, TaskKind};
use tempora::workspace::Check;

use super::args::SpecArgs;

/// Arguments of `tempora status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: SpecArgs,
}

#[derive(Default)]
struct Counts {
    done: usize,
    running: usize,
    interrupted: usize,
    missing: usize,
}

impl Counts {
    fn add(&mut self, freshness: Option<&Freshness>) {
        match freshness {
            Some(Freshness::Fresh) => self.done += 1,
            Some(Freshness::Stale(StaleReason::Running)) => self.running += 1,
            Some(Freshness::Stale(StaleReason::Incomplete)) => self.interrupted += 1,
            _ => self.missing += 1,
        }
    }

    fn row(&self, name: &str) -> String {
        format!(
            "{:<28} {:>6} {:>8} {:>12} {:>8}\n",
            name, self.done, self.running, self.interrupted, self.missing
        )
    }
}

fn header(first: &str) -> String {
    format!(
        "{:<28} {:>6} {:>8} {:>12} {:>8}\n",
        first, "done", "running", "interrupted", "missing"
    )
}

/// `tempora status`.
pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (workspace, plan, _device) = args.common.plan(Check::Sizes)?;
    let mut kinds: BTreeMap<TaskKind, Counts> = BTreeMap::new();
    let mut models: BTreeMap<usize, Counts> = BTreeMap::new();
    for task in plan.graph.tasks() {
        let freshness = plan.freshness.get(&task.id);
        kinds.entry(task.kind()).or_default().add(freshness);
        if let (TaskKind::Train, Locator::Model(m)) = (task.kind(), &task.locator) {
            models.entry(*m).or_default().add(freshness);
        }
    }
    let mut out = format!("{} — {}\n\n", plan.experiment.name, plan.dataset.name);
    out.push_str(&header("kind"));
    for (kind, counts) in &kinds {
        out.push_str(&counts.row(kind.name()));
    }
    out.push('\n');
    out.push_str(&header("model (train tasks)"));
    for (m, counts) in &models {
        if let Some(model) = plan.experiment.models.get(*m) {
            out.push_str(&counts.row(&model.name));
        }
    }
    match workspace.slurm_queue(&plan) {
        Ok(Some((pending, running))) => out.push_str(&format!(
            "\nslurm: {pending} element(s) queued, {running} running\n"
        )),
        Ok(None) => {}
        Err(e) => out.push_str(&format!("\nslurm: cannot read the queue: {e}\n")),
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
