//! The `tempora` command line.

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Features(args) => cli::features::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
