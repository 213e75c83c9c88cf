//! `tempora report SPEC`: regenerates `reports/<experiment>/` from what the
//! cache holds — never trains — and prints Table 1.
//!
//! Where the [`ReportInput`] comes from:
//! - the experiment's report entry, when the whole experiment has run;
//! - otherwise every finished train entry of the plan, gathered the same way
//!   (a partial report: missing folds are marked, missing rows show —);
//! - or `--input FILE`, a `ReportInput` JSON (a saved bundle, or one a script
//!   assembled).
//!
//! Exit codes: 0 when the report was written; an error (exit 2, printed by
//! `main`) when the input cannot be read or the report cannot be written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use tempora::report::ReportInput;
use tempora::workspace::Check;

use super::args::{SpecArgs, Target};
use super::output::{note_full_command, write_and_print};

/// Arguments of `tempora report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The experiment spec whose cached results to report (e.g. `experiments/table1.toml`).
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    pub spec: Option<PathBuf>,
    /// The `[profile.NAME]` the experiment ran under (e.g. `quick`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The dataset, cache and device the experiment ran with (as for `run`).
    #[command(flatten)]
    pub target: Target,
    /// Report from a `ReportInput` JSON file instead of the cache.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Directory that holds one report directory per experiment.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub reports_dir: PathBuf,
    /// Write the report to exactly this directory instead of
    /// `<reports-dir>/<experiment>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not print the table.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `tempora report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let input = match (&args.input, &args.spec) {
        (Some(path), _) => read_input_file(path)?,
        (None, Some(spec)) => {
            let common = SpecArgs {
                spec: spec.clone(),
                profile: args.profile.clone(),
                target: args.target.clone(),
            };
            let (workspace, plan, _device) = common.plan(Check::Sizes)?;
            let mut input = workspace
                .report_input(&plan)
                .context("reading the experiment's results from the cache")?;
            note_full_command(&mut input, &common);
            input
        }
        (None, None) => bail!("give a spec (e.g. experiments/table1.toml) or --input FILE"),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.reports_dir.join(&input.experiment));
    write_and_print(&input, &out, !args.quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads a `ReportInput` JSON file.
fn read_input_file(path: &Path) -> anyhow::Result<ReportInput> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading report input {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a report input (expected the JSON of tempora::report::ReportInput)",
            path.display()
        )
    })
}
