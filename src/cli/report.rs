//! `tempora report`: regenerates `reports/<experiment>/` from results that
//! already exist, and prints Table 1.
//!
//! This file owns the second half of the command: given a gathered
//! [`ReportInput`], write the report directory atomically and print the
//! table. Where the input comes from is decided before: `--input FILE` reads a
//! `ReportInput` JSON (a saved bundle, or one a script assembled); gathering
//! it from the cache for a spec is the planner's part (`gather` below is the
//! seam it plugs into).
//!
//! Exit codes: 0 when the report was written; an error (exit 2, printed by
//! `main`) when the input cannot be read or the report cannot be written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tempora::report::{self, ReportInput};

/// Arguments of `tempora report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A `ReportInput` JSON file (provenance, models in spec order with the
    /// paper's numbers, and every run's test and epoch metrics).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
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
    let input = gather(&args.input)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.reports_dir.join(&input.experiment));
    write_and_print(&input, &out, !args.quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads a `ReportInput` JSON file.
fn gather(path: &Path) -> anyhow::Result<ReportInput> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading report input {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a report input (expected the JSON of tempora::report::ReportInput)",
            path.display()
        )
    })
}

/// Writes the report of `input` to `out` (replacing any previous one as a
/// whole), then prints the table, the files written and the plots left out.
pub fn write_and_print(input: &ReportInput, out: &Path, print: bool) -> anyhow::Result<()> {
    let summary = report::write_report(input, out)
        .with_context(|| format!("writing the report to {}", out.display()))?;
    if print {
        println!("{}", summary.text);
        println!(
            "wrote {} ({} files: {})",
            summary.dir.display(),
            summary.files.len(),
            summary.files.join(", ")
        );
        for skipped in &summary.skipped_plots {
            println!("plot left out: {skipped}");
        }
    }
    Ok(())
}
