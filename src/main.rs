//! The `tempora` command line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Declarative, reproducible studies of CNN filter shapes for music audio.
#[derive(Debug, Parser)]
#[command(name = "tempora", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Inspect datasets and write the synthetic corpus as wav files.
    Datasets(cli::datasets::DatasetsArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Datasets(args) => cli::datasets::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
