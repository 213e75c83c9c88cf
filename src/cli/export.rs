//! `tempora export SPEC --model NAME [--hop H] [--fold F|best] --out DIR`:
//! writes a model package (weights + `package.json`, see
//! `tempora::package`) from an experiment's trained entry. Never trains: a
//! model that has not run is an error that says which command runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tempora::package::{self, ExportRequest, FoldChoice};
use tempora::workspace::Check;

use super::args::SpecArgs;

/// Arguments of `tempora export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: SpecArgs,
    /// The model to export, by its name in the spec (e.g. `O-net`).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// The chunk hop it ran at (needed when the spec runs it at several).
    #[arg(long, value_name = "H")]
    pub hop: Option<usize>,
    /// Which fold's weights: a fold number (0-based) or `best` (highest test
    /// song accuracy among the finished folds; ties: the lowest fold).
    #[arg(long, value_name = "F|best", default_value = "best")]
    pub fold: FoldChoice,
    /// The package directory to write (created; its two files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `tempora export`.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (workspace, plan, _device) = args.common.plan(Check::Sizes)?;
    let request = ExportRequest {
        model: args.model.clone(),
        hop: args.hop,
        fold: args.fold,
    };
    let exported = package::export(workspace.store(), &plan, &request, &args.out)
        .with_context(|| format!("exporting `{}` to {}", args.model, args.out.display()))?;
    let m = &exported.manifest;
    println!(
        "exported {} (hop {}, fold {}: song accuracy {:.2} %, {} parameters, {} classes) to {}",
        m.model,
        m.hop,
        m.fold,
        100.0 * m.metrics.song_accuracy,
        m.metrics.params,
        m.class_names.len(),
        args.out.display()
    );
    println!(
        "  {} and {}; try: tempora predict {} AUDIO...",
        package::MANIFEST_FILE,
        package::WEIGHTS_FILE,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
