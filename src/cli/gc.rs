//! `tempora gc [SPEC...]`: removes cache entries no plan refers to (default
//! specs: every `*.toml` under `experiments/`). What is kept is
//! [`tempora::workspace::Workspace::referenced_keys`]'s to say. First it
//! removes the run directories of finished Slurm runs
//! ([`tempora::workspace::slurm::gc`]: one `squeue` call when Slurm is there).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::args::{open_workspace, DEFAULT_CACHE};

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

/// `tempora gc`.
pub fn run(args: GcArgs) -> anyhow::Result<ExitCode> {
    let mut specs = args.specs.clone();
    if specs.is_empty() {
        find_specs(Path::new(DEFAULT_SPECS_DIR), &mut specs)?;
        specs.sort();
    }
    let workspace = open_workspace(&args.cache)?;
    let report = workspace
        .gc(&specs, args.dry_run)
        .context("collecting garbage")?;
    let (runs, collected) = (report.runs, report.entries);
    if args.dry_run {
        for entry in &collected.removed {
            println!("would remove {entry}");
        }
        for entry in &collected.removed_work {
            println!("would remove interrupted work/{entry}");
        }
        for dir in &runs.removed {
            println!("would remove finished Slurm run {}", dir.display());
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} entries, kept {} referenced by {} spec(s)",
        collected.removed.len() + collected.removed_work.len(),
        collected.kept,
        specs.len()
    );
    if !runs.removed.is_empty() || !runs.kept.is_empty() {
        println!(
            "{verb} {} finished Slurm run director{}, kept {}",
            runs.removed.len(),
            if runs.removed.len() == 1 { "y" } else { "ies" },
            runs.kept.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
