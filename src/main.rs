//! The `kitnotes` binary: parse the command line, run it, and print errors readably.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kitnotes::cli::Cli::parse();
    match kitnotes::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors quote file contents and names: nothing in them may act on the terminal.
            let message = readable(&e);
            eprintln!(
                "kitnotes: error: {}",
                kitnotes::text_safety::printable(&message)
            );
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause left out when the message already says it (errors that
/// quote their source, "cannot read X: Not a directory", would otherwise say it twice).
fn readable(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}
