//! Standard output for the commands. `print!` panics when a write fails; every command writes
//! through [`stdout`] instead, whose errors are returned and say they were standard output's.
//! `main.rs` ends the program quietly when the reader closed the pipe (`kitnotes audit | head
//! -1`), as Unix tools do, and reports anything else ("the device is full").

use std::fmt;
use std::io::{self, Write};

/// The exit status of a command whose reader closed standard output early: what the shell shows
/// for a Unix tool ended by SIGPIPE (128 + 13), so `set -o pipefail` scripts see the cut.
pub const CLOSED_PIPE_STATUS: u8 = 141;

/// Standard output, locked, whose write errors are [`OutputFailed`] (kind kept, so a caller can
/// still tell a closed pipe from a full disk).
pub struct Stdout(io::StdoutLock<'static>);

/// Standard output for one command's lines.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(on_stdout)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).map_err(on_stdout)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(on_stdout)
    }
}

/// A write to standard output that failed, with what it means for the user.
#[derive(Debug)]
pub struct OutputFailed(io::Error);

impl OutputFailed {
    /// Whether the reader closed the pipe before everything was written.
    pub fn is_closed_pipe(&self) -> bool {
        self.0.kind() == io::ErrorKind::BrokenPipe
    }
}

impl fmt::Display for OutputFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot write to standard output: ")?;
        match self.0.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                write!(f, "the device is full ({})", self.0)
            }
            io::ErrorKind::BrokenPipe => write!(f, "its reader closed it ({})", self.0),
            _ => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for OutputFailed {}

/// `e` marked as standard output's, keeping its kind.
fn on_stdout(e: io::Error) -> io::Error {
    if as_output_failed(&e).is_some() {
        return e;
    }
    io::Error::new(e.kind(), OutputFailed(e))
}

fn as_output_failed(e: &io::Error) -> Option<&OutputFailed> {
    e.get_ref().and_then(|inner| inner.downcast_ref())
}

/// The failed write to standard output behind `e`, if that is what ended the command: found
/// anywhere in its chain of causes, also inside an `io::Error`.
pub fn failed_output(e: &anyhow::Error) -> Option<&OutputFailed> {
    e.chain().find_map(|cause| {
        cause
            .downcast_ref::<OutputFailed>()
            .or_else(|| cause.downcast_ref::<io::Error>().and_then(as_output_failed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_device_and_a_closed_pipe_are_told_apart_through_the_chain() {
        let full = on_stdout(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        let e = anyhow::Error::from(full).context("cannot write the export");
        let failed = failed_output(&e).expect("found in the chain");
        assert!(!failed.is_closed_pipe());
        assert!(
            failed.to_string().contains("the device is full"),
            "{failed}"
        );

        let closed = on_stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        // Marking twice keeps one layer.
        let closed = on_stdout(closed);
        assert!(as_output_failed(&closed).is_some_and(|f| f.is_closed_pipe()));
        let other = anyhow::anyhow!("cannot open x");
        assert!(failed_output(&other).is_none());
    }
}
