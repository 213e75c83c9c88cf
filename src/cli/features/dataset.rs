//! The dataset form of `tempora features`: computes (or finds in the cache)
//! the features of every track of a dataset, in parallel, with a progress bar
//! and a final summary (tracks, seconds of audio, time, cache hits). A bad file
//! is named, counted and reported; the others go on (exit code 1 if any).
//!
//! It plans the dataset's features tasks only (same keys as in an
//! experiment's plan) and runs them through the same executor as `run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;

use tempora::dataset::DatasetSource;
use tempora::device::ComputeDevice;
use tempora::features::FeatureConfig;
use tempora::plan::TaskKind;
use tempora::tasks::features::read_shape;
use tempora::workspace::{LocalExecutor, Mode, ProgressBars};

use crate::cli::args::open_workspace;

/// Arguments of `tempora features <DATASET>`.
#[derive(Debug)]
pub struct FeaturesDatasetArgs {
    /// The dataset: `synthetic:tiny|small|full[@seed]`, `ballroom:DIR`, `folder:DIR`.
    pub dataset: String,
    /// The cache directory.
    pub cache: PathBuf,
    /// Worker threads (default: all cores).
    pub jobs: Option<usize>,
}

/// `tempora features <DATASET>`.
pub fn run(args: FeaturesDatasetArgs) -> anyhow::Result<ExitCode> {
    let clock = Instant::now();
    let source: DatasetSource = args
        .dataset
        .parse()
        .context("reading the dataset argument")?;
    let dataset = source.load().context("listing the dataset")?;
    let workspace = open_workspace(&args.cache)?;
    let plan = workspace.plan_features(dataset, &FeatureConfig::default())?;
    let hits = plan.graph.len() - plan.stale.len();
    let mut executor = LocalExecutor::all_cores(Mode::Run);
    executor.jobs = args.jobs.unwrap_or(executor.jobs);
    let progress = Arc::new(ProgressBars::new(false));
    let run = workspace.run_features(&plan, &executor, vec![progress.clone()])?;
    progress.finish();
    let failed = run.summary.failed;
    let ctx = workspace.context(plan.dataset.clone(), ComputeDevice::Cpu);
    let seconds: f64 = plan
        .graph
        .tasks()
        .collect::<Vec<_>>()
        .par_iter()
        .filter(|t| !failed.iter().any(|(id, _)| id == &t.id.0))
        .filter_map(|t| read_shape(&ctx, t, &t.key).ok().map(|s| s.seconds))
        .sum();
    println!(
        "{}: {} tracks, {:.0} s of audio ({:.1} h), {} cache hits, {} computed, {} bad, in {:.2} s",
        args.dataset,
        plan.graph.of_kind(TaskKind::Features).count(),
        seconds,
        seconds / 3600.0,
        hits,
        plan.stale.len() - failed.len(),
        failed.len(),
        clock.elapsed().as_secs_f64()
    );
    for (id, error) in &failed {
        eprintln!("bad: {id}: {error}");
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
