//! Standard output for the commands. `print!` panics when a write fails; every command writes
//! through [`stdout`] instead, whose errors are returned and say they were standard output's.
//! `main.rs` ends the program quietly when the reader closed the pipe (`kitnotes audit | head
//! -1`), as Unix tools do, and reports anything else ("the device is full").

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::rc::Rc;

/// The exit status of a command whose reader closed standard output early: what the shell shows
/// for a Unix tool ended by SIGPIPE (128 + 13), so `set -o pipefail` scripts see the cut.
pub const CLOSED_PIPE_STATUS: u8 = 141;

/// Standard output, locked, whose write errors are [`OutputFailed`] (kind kept, so a caller can
/// still tell a closed pipe from a full disk). While an open kitnotes runs a command for another
/// process ([`serving`]), what the command writes goes to that process instead.
pub struct Stdout(Inner);

enum Inner {
    Own(io::StdoutLock<'static>),
    Served(Rc<RefCell<dyn Sink>>),
}

/// Standard output for one command's lines.
pub fn stdout() -> Stdout {
    match served() {
        Some((sink, _)) => Stdout(Inner::Served(sink)),
        None => Stdout(Inner::Own(io::stdout().lock())),
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.0 {
            Inner::Own(out) => out.write_all(buf),
            Inner::Served(sink) => sink.borrow_mut().out(buf),
        }
        .map_err(on_stdout)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Inner::Own(out) => out.flush().map_err(on_stdout),
            // The sink sends what it holds when the command ends.
            Inner::Served(_) => Ok(()),
        }
    }
}

/// Where a command's output goes when an open kitnotes runs it for another process
/// (`cli::serve`): that process's standard output and standard error, in order.
pub trait Sink {
    fn out(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn err(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// The asking process's output, and whether its standard output is a terminal that takes
/// colour, while this thread runs a command for it.
type Served = (Rc<RefCell<dyn Sink>>, bool);

thread_local! {
    /// Per thread: each command asked from another terminal runs on a thread of its own
    /// (`cli::backup`), so several answers never mix, and nothing of theirs reaches the UI's
    /// terminal, whose thread never sets this.
    static SERVED: RefCell<Option<Served>> = const { RefCell::new(None) };
}

fn served() -> Option<Served> {
    SERVED.with(|s| s.borrow().clone())
}

/// Runs `command` with its standard output and standard error going to `sink` (another process
/// asked an open kitnotes to run it); `colour` is whether that process's standard output is a
/// terminal that takes colour.
pub fn serving<T>(sink: Rc<RefCell<dyn Sink>>, colour: bool, command: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SERVED.with(|s| s.borrow_mut().take());
        }
    }
    SERVED.with(|s| *s.borrow_mut() = Some((sink, colour)));
    let _reset = Reset;
    command()
}

/// Says `line` on standard error, as `eprintln!` does (a failure to say it is ignored), or to
/// the process that asked for the command.
pub fn note(line: &str) {
    match served() {
        Some((sink, _)) => {
            let mut sink = sink.borrow_mut();
            let _ = sink.err(line.as_bytes()).and_then(|()| sink.err(b"\n"));
        }
        None => eprintln!("{line}"),
    }
}

/// Whether highlights may be coloured: standard output is a terminal and `NO_COLOR` is not set
/// (for a served command, the asking process's).
pub fn colour() -> bool {
    use std::io::IsTerminal;
    match served() {
        Some((_, colour)) => colour,
        None => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The error and its causes as one line, each cause left out when the message already says it
/// (errors that quote their source, "cannot read X: Not a directory", would otherwise say it
/// twice).
pub fn readable(e: &anyhow::Error) -> String {
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
