//! What several commands print: the per-kind table of a plan, the line a
//! finished run ends with, what a detached Slurm run says, and writing and
//! printing a report. A leaf: no command module is imported here.

use std::path::Path;

use anyhow::Context as _;

use std::process::ExitCode;
use tempora::device::ComputeDevice;
use tempora::plan::Plan;
use tempora::report::{self, ReportInput};

use tempora::workspace::{Detached, RunOutcome, RunSummary};

use super::args::SpecArgs;
use super::interrupt::Interrupt;

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

/// The data warnings, the per-kind table of a plan about to run, and how
/// many tasks will run.
pub fn plan_header(plan: &Plan) -> String {
    let stale = plan.graph.tasks().filter(|t| plan.is_stale(&t.id)).count();
    format!("{}{}{stale} to run", data_warnings(plan), kind_table(plan))
}

/// The plan's data warnings (class balance against the folds, a copy that
/// is not canonical), one `warning:` line each; empty when there are none.
pub fn data_warnings(plan: &Plan) -> String {
    plan.warnings
        .iter()
        .map(|w| format!("warning: {w}\n"))
        .collect()
}

/// `cpu` or `cuda:N`.
pub fn device_words(device: ComputeDevice) -> String {
    device.to_string()
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

/// The line a run ends with: what it computed, reused, failed and skipped,
/// and its log; or, for a dry run, how much would run.
pub fn run_line(run: &RunSummary, dry_run: bool) -> Option<String> {
    let s = &run.summary;
    if dry_run {
        return Some(format!(
            "dry run: {} would run; nothing computed",
            s.dry_run
        ));
    }
    let log = run.log.as_ref()?;
    Some(format!(
        "{} computed, {} reused, {} failed, {} skipped in {:.1}s; log: {}",
        s.computed,
        s.reused,
        s.failed.len(),
        s.skipped,
        run.seconds,
        log.display()
    ))
}

/// What a run that detached from its Slurm jobs says: where they go on and
/// the commands that re-attach, show and cancel them.
pub fn detached(detached: &Detached, spec: &SpecArgs) -> String {
    let again = spec.command_line();
    format!(
        "slurm: detached; {} task(s) go on in Slurm (run directory {}).\n  \
         re-attach: tempora run {again} --executor slurm\n  \
         queue:     tempora status {again}\n  \
         cancel:    tempora cancel {again}\n  (with the same --cache and --data)",
        detached.submitted,
        detached.run.display()
    )
}

/// Prints how a run of `run` or `reproduce` ended — detached from its Slurm
/// jobs, its summary line, or which tasks a signal stopped — and returns the
/// exit code when the command ends there (detached: 0; stopped: 128 + signal).
pub fn end_of_run(
    outcome: &RunOutcome,
    spec: &SpecArgs,
    interrupt: &Interrupt,
    dry_run: bool,
) -> Option<ExitCode> {
    if let Some(d) = &outcome.detached {
        eprintln!("{}", detached(d, spec));
        return Some(ExitCode::SUCCESS);
    }
    let run = outcome.run.as_ref()?;
    if let Some(line) = run_line(run, dry_run) {
        eprintln!("{line}");
    }
    let (message, code) = interrupt.ending(&run.summary.stopped, run.summary.not_started)?;
    eprintln!("{message}");
    Some(code)
}

/// Adds to the notes of a profile's report the command that runs the
/// experiment in full (the spec as given on this command line, no profile).
pub fn note_full_command(input: &mut ReportInput, common: &SpecArgs) {
    if common.profile.is_none() {
        return;
    }
    let data = common
        .target
        .data
        .as_ref()
        .map(|d| format!(" --data {d}"))
        .unwrap_or_default();
    let spec = common.spec.display();
    input.notes.push(format!(
        "Run this experiment in full with `tempora run {spec}{data}` (`tempora plan {spec}` \
         first says what it costs)."
    ));
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
