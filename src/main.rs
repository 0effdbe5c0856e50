//! The `kitnotes` binary: parse the command line, run it, and print errors readably.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kitnotes::cli::Cli::parse();
    match kitnotes::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors quote file contents and names: nothing in them may act on the terminal.
            let message = format!("{e:#}");
            eprintln!(
                "kitnotes: error: {}",
                kitnotes::text_safety::printable(&message)
            );
            ExitCode::FAILURE
        }
    }
}
