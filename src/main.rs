//! The `tempora` command line.
//!
//! Exit codes: 0 success; 1 some tasks failed (`run`); 2 an error stopped the
//! command (printed with its causes).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Reproducible studies of CNN filter shapes for music audio.
#[derive(Parser)]
#[command(name = "tempora", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute the paper's log-mel features of an audio file (or a dataset).
    Features(cli::features::FeaturesArgs),
    /// Features of every track of a dataset, cached (joined into `features` by the lead).
    #[command(name = "features-dataset")]
    FeaturesDataset(cli::features_dataset::FeaturesDatasetArgs),
    /// Show what an experiment would compute, why, and what it costs.
    Plan(cli::plan::PlanArgs),
    /// Compute what an experiment is missing (resumes interrupted work).
    Run(cli::run::RunArgs),
    /// Show what of an experiment is done, running, interrupted or missing.
    Status(cli::status::StatusArgs),
    /// Remove cache entries that no spec refers to.
    Gc(cli::gc::GcArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Features(args) => cli::features::run(args),
        Command::FeaturesDataset(args) => cli::features_dataset::run(args),
        Command::Plan(args) => cli::plan::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Status(args) => cli::status::run(args),
        Command::Gc(args) => cli::gc::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
