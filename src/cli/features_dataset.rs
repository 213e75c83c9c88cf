//! The dataset form of `tempora features`: computes (or finds in the cache)
//! the features of every track of a dataset, in parallel, with a progress bar
//! and a final summary (tracks, seconds of audio, time, cache hits). A bad file
//! is named, counted and reported; the others go on (exit code 1 if any).
//!
//! It plans the dataset's features tasks only (same keys as in an
//! experiment's plan) and runs them through the same executor as `run`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;

use tempora::dataset::DatasetSource;
use tempora::device::ComputeDevice;
use tempora::exec::log::{new_log_path, RunLog};
use tempora::exec::progress::Progress;
use tempora::exec::runner::{Mode, Observer, Runner, Tee};
use tempora::exec::store::{Check, Store};
use tempora::features::FeatureConfig;
use tempora::plan::build::features_tasks;
use tempora::plan::sources::SourceIndex;
use tempora::plan::{freshness, Freshness, TaskGraph, TaskId, TaskKind};
use tempora::tasks::{self, features::read_shape, Context};

/// Arguments of `tempora features <DATASET>`.
#[derive(Debug)]
pub struct FeaturesDatasetArgs {
    /// The dataset: `synthetic:tiny|small|full[:SEED]`, `ballroom:DIR`, `folder:DIR`.
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
    let store = Store::open(&args.cache)
        .with_context(|| format!("opening the cache {}", args.cache.display()))?;
    let mut index = SourceIndex::load(store.root());
    let hashes = index.hash_tracks(&dataset.tracks)?;
    index.save()?;
    let mut graph = TaskGraph::new();
    for task in features_tasks(&dataset, &hashes, &FeatureConfig::default()) {
        graph.insert(task)?;
    }
    let judged = freshness::judge(&graph, &store, Check::Hashes, None)?;
    let stale: BTreeSet<TaskId> = judged
        .iter()
        .filter(|(_, f)| !matches!(f, Freshness::Fresh))
        .map(|(id, _)| id.clone())
        .collect();
    let hits = graph.len() - stale.len();
    let ctx = Arc::new(Context {
        store: store.clone(),
        dataset,
        models: Vec::new(),
        keys: graph
            .tasks()
            .map(|t| (t.id.clone(), (t.kind, t.key)))
            .collect(),
        device: ComputeDevice::Cpu,
    });
    let mut failed = Vec::new();
    if !stale.is_empty() {
        let queue = tasks::job_queue(&graph, &stale, &ctx)?;
        let log = Arc::new(RunLog::create(&new_log_path(&store.logs_dir()))?);
        let progress = Arc::new(Progress::new(stale.len() as u64, false));
        let observer: Arc<dyn Observer> = Arc::new(Tee(vec![progress.clone(), log]));
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        failed = Runner {
            jobs,
            mode: Mode::Run,
        }
        .run(queue, observer)?
        .failed;
        progress.finish();
    }
    let seconds: f64 = graph
        .tasks()
        .collect::<Vec<_>>()
        .par_iter()
        .filter(|t| !failed.iter().any(|(id, _)| id == &t.id.0))
        .filter_map(|t| read_shape(&ctx, t, &t.key).ok().map(|s| s.seconds))
        .sum();
    println!(
        "{}: {} tracks, {:.0} s of audio ({:.1} h), {} cache hits, {} computed, {} bad, in {:.2} s",
        args.dataset,
        graph.of_kind(TaskKind::Features).count(),
        seconds,
        seconds / 3600.0,
        hits,
        stale.len() - failed.len(),
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
