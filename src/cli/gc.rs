//! `tempora gc [SPEC...]`: removes cache entries no plan refers to.
//!
//! Kept: every key of the current plan of each given spec (default: every
//! `*.toml` under `experiments/`), for both device classes, plus every key in
//! the cache's plan records (which cover profiles and `--only` runs that were
//! run). A spec that cannot be planned stops gc before anything is removed.
//! Interrupted work directories of unreferenced keys are removed too, unless
//! a process is computing them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use tempora::exec::store::{Check, Store};
use tempora::plan::{self, DeviceClass, PlanOptions, PlanRecord};
use tempora::spec;

use super::plan::DEFAULT_CACHE;

/// Where specs are looked for when none is given.
const DEFAULT_SPECS_DIR: &str = "experiments";

/// Arguments of `tempora gc`.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Specs whose entries to keep (default: every `*.toml` under `experiments/`).
    pub specs: Vec<PathBuf>,
    /// The cache directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// List what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,
}

fn find_specs(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            find_specs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn referenced(store: &Store, specs: &[PathBuf]) -> anyhow::Result<BTreeSet<String>> {
    let mut keep = BTreeSet::new();
    for path in specs {
        let experiment =
            spec::load(path, None).with_context(|| format!("loading {}", path.display()))?;
        for device in [DeviceClass::Cpu, DeviceClass::Cuda] {
            let opts = PlanOptions {
                device,
                ..PlanOptions::default()
            };
            let plan = plan::prepare(experiment.clone(), store, &opts, Check::Sizes)
                .with_context(|| format!("planning {} (nothing was removed)", path.display()))?;
            keep.extend(plan.graph.tasks().map(|t| t.key.hex()));
        }
    }
    let plans = store.root().join("plans");
    if plans.is_dir() {
        let mut records = Vec::new();
        find_specs_json(&plans, &mut records)?;
        for record in records.iter().filter_map(|p| PlanRecord::load(p)) {
            keep.extend(record.tasks.values().map(|t| t.key.hex()));
        }
    }
    Ok(keep)
}

fn find_specs_json(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// `tempora gc`.
pub fn run(args: GcArgs) -> anyhow::Result<ExitCode> {
    let mut specs = args.specs.clone();
    if specs.is_empty() {
        find_specs(Path::new(DEFAULT_SPECS_DIR), &mut specs)?;
        specs.sort();
    }
    let store = Store::open(&args.cache)
        .with_context(|| format!("opening the cache {}", args.cache.display()))?;
    let keep = referenced(&store, &specs)?;
    let (mut removed, mut kept) = (0usize, 0usize);
    for (kind, key) in store.entries()? {
        if keep.contains(&key) {
            kept += 1;
            continue;
        }
        if args.dry_run {
            println!("would remove {kind}/{key}");
        } else {
            store.remove(&kind, &key)?;
        }
        removed += 1;
    }
    for (kind, key) in store.incomplete_entries()? {
        if keep.contains(&key) {
            continue;
        }
        if args.dry_run {
            println!("would remove interrupted work/{kind}/{key}");
        } else if store.remove_incomplete(&kind, &key)? {
            removed += 1;
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {removed} entries, kept {kept} referenced by {} spec(s)",
        specs.len()
    );
    Ok(ExitCode::SUCCESS)
}
