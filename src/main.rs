//! The `kitnotes` binary: parse the command line, run it, and print errors readably.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kitnotes::cli::Cli::parse();
    match kitnotes::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kitnotes: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
