//! The `tempora` command line.
//!
//! `main` stays tiny and owns the exit codes:
//! - 0: success;
//! - 1: the command ran but some of its work failed (e.g. some tasks of `run`);
//! - 2: an error stopped the command (printed with its chain of causes).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Declarative, reproducible studies of CNN filter shapes for music audio.
///
/// Start with `tempora reproduce` (Table 1 of Pons & Serra, ICASSP 2017), or
/// write a spec (see experiments/) and use `plan`, `run`, `status`, `report`.
#[derive(Debug, Parser)]
#[command(name = "tempora", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Table 1 end to end: run what is missing, write reports/table1/, print it.
    Reproduce(cli::reproduce::ReproduceArgs),
    /// Compute the paper's log-mel features of an audio file (--out x.npy) or of a dataset.
    Features(cli::features::FeaturesArgs),
    /// Inspect datasets and write the synthetic corpus as wav files.
    Datasets(cli::datasets::DatasetsArgs),
    /// List the devices `--device` can name (CPU, CUDA, wgpu) and what `auto` picks.
    Devices(cli::devices::DevicesArgs),
    /// Measure this CPU's speed once, so `plan` can estimate training time.
    Calibrate(cli::calibrate::CalibrateArgs),
    /// Show what an experiment would compute, why, and what it costs.
    Plan(cli::plan::PlanArgs),
    /// Compute what an experiment is missing (resumes interrupted work).
    Run(cli::run::RunArgs),
    /// Show what of an experiment is done, running, interrupted or missing.
    Status(cli::status::StatusArgs),
    /// Regenerate reports/<experiment>/ from cached results and print Table 1.
    Report(cli::report::ReportArgs),
    /// Write TensorBoard event files of an experiment's finished trainings from the cache.
    Tensorboard(cli::tensorboard::TensorBoardArgs),
    /// Write a trained model of an experiment as a package (weights + manifest).
    Export(cli::export::ExportArgs),
    /// Classify recordings with a model package (majority vote over chunks).
    Predict(cli::predict::PredictArgs),
    /// Compare an experiment's results with a baseline (exit 1 on a regression).
    Check(cli::check::CheckArgs),
    /// Cancel the Slurm jobs of an experiment (`run --executor slurm`).
    Cancel(cli::cancel::CancelArgs),
    /// Remove cache entries that no spec refers to.
    Gc(cli::gc::GcArgs),
    /// Run one task of a frozen plan (what cluster jobs call).
    #[command(hide = true)]
    ExecTask(cli::exec_task::ExecTaskArgs),
    /// Run one element of a Slurm job array (what `--executor slurm` submits).
    #[command(hide = true)]
    SlurmWorker(cli::slurm_worker::SlurmWorkerArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // symphonia logs a failed probe before returning the error
                // tempora reports itself (one line per bad file).
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphonia_core=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    tempora::heap::keep_freed_memory();
    let result = match cli.command {
        Command::Reproduce(args) => cli::reproduce::run(args),
        Command::Features(args) => cli::features::run(args),
        Command::Datasets(args) => cli::datasets::run(args),
        Command::Devices(args) => cli::devices::run(args),
        Command::Tensorboard(args) => cli::tensorboard::run(args),
        Command::Calibrate(args) => cli::calibrate::run(args),
        Command::Plan(args) => cli::plan::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Status(args) => cli::status::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Export(args) => cli::export::run(args),
        Command::Predict(args) => cli::predict::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Gc(args) => cli::gc::run(args),
        Command::Cancel(args) => cli::cancel::run(args),
        Command::SlurmWorker(args) => cli::slurm_worker::run(args),
        Command::ExecTask(args) => cli::exec_task::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Each cause once: many errors quote the one they wrap.
            let line = tempora::workspace::join_causes(err.chain().map(|c| c.to_string()));
            eprintln!("error: {line}");
            ExitCode::from(2)
        }
    }
}
