//! The `kitnotes` binary: parse the command line, run it, and print errors readably.

use clap::Parser;
use kitnotes::cli::output::{self, CLOSED_PIPE_STATUS};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match kitnotes::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    match kitnotes::cli::run(cli) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// `--help` and `--version` go to standard output through the same checked writer as every
/// command's output; a mistake on the command line goes to standard error with clap's status.
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // Coloured as clap colours it, on a terminal only.
        let rendered = e.render();
        let text = if std::io::stdout().is_terminal() {
            rendered.ansi().to_string()
        } else {
            rendered.to_string()
        };
        let mut out = output::stdout();
        let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(&anyhow::Error::from(err)),
        };
    }
    // clap colours and prints the usage error itself; a failure to print it is ignored there.
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// Reports `e` on standard error. A reader that closed standard output early (`| head`) ends
/// the command quietly, as Unix tools do.
fn fail(e: &anyhow::Error) -> ExitCode {
    if output::failed_output(e).is_some_and(|f| f.is_closed_pipe()) {
        return ExitCode::from(CLOSED_PIPE_STATUS);
    }
    // Errors quote file contents and names: nothing in them may act on the terminal.
    let message = output::readable(e);
    // Standard error itself may be closed or full: then there is nowhere left to say it.
    let _ = writeln!(
        std::io::stderr(),
        "kitnotes: error: {}",
        kitnotes::text_safety::printable(&message)
    );
    ExitCode::FAILURE
}
