//! The `tempora` command line (minimal wiring by the report helper; the lead
//! owns this file).

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// tempora: declarative, reproducible studies of CNN filter shapes.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Regenerate reports/<experiment>/ from existing results and print Table 1.
    Report(cli::report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Report(args) => cli::report::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
