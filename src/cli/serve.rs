//! `search`, `export`, `today` and `audit` beside a running kitnotes: the open kitnotes holds
//! the store's lock, so these commands ask it over its socket (`<store dir>/kitnotes.sock`, as
//! `kitnotes backup` does) to run them with its own store: no second open, no second unlock.
//!
//! The asking process sends its command line, its data and config directories, its working
//! directory and whether its standard output takes colour. The socket's thread hands the
//! request to a thread of its own (`cli::backup`), never to the UI's: it waits while the screen
//! is locked (and is dropped if its asker went away meanwhile), then runs the very code a
//! direct run would, with the asking process's settings (its `config.toml`), on the app's
//! shared store, while the UI goes on and shows it running (`app::background`). What the
//! command writes is sent back as it is written, standard output and standard error apart, then
//! its exit status or its error. The asking process writes it all where it
//! would have itself, so the bytes are those of a direct run. An export's `-o FILE` is written by
//! the open kitnotes (a relative path is taken from the asking process's working directory), and
//! the export is recorded in its audit log, as a direct run records it.
//!
//! On the wire, after the request's line of JSON, the answer is frames: one byte (`o` standard
//! output, `e` standard error, `x` the end), a length (u32, big-endian), then that many bytes;
//! the end's bytes are JSON, `{"code":N}` or `{"error":"..."}`.

use super::{Command, Env};
use crate::store::{SledStore, Store};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// How a command gets its store: it opens it (asking a running kitnotes when that holds it),
/// or a running kitnotes runs the command with its own.
#[derive(Clone, Copy)]
pub enum Access<'a> {
    Open,
    Served(&'a dyn Store),
}

/// A store a command reads: its own, opened for it, or the running kitnotes'.
pub enum Held<'a> {
    Own(Box<SledStore>),
    Served(&'a dyn Store),
}

impl<'a> std::ops::Deref for Held<'a> {
    type Target = dyn Store + 'a;
    fn deref(&self) -> &(dyn Store + 'a) {
        match self {
            Held::Own(s) => s.as_ref(),
            Held::Served(s) => *s,
        }
    }
}

/// What [`Access::store`] gives: the store, or the exit status of the command as the running
/// kitnotes ran it (its output already written).
pub enum Got<'a> {
    Store(Held<'a>),
    Answered(ExitCode),
}

impl<'a> Access<'a> {
    /// The store for this command: opened here, or the running kitnotes' (while this process
    /// runs the command for another). A store open in a running kitnotes is not opened at all:
    /// the command is sent there, and what it wrote is written here ([`Got::Answered`]).
    pub fn store(self, env: &Env) -> anyhow::Result<Got<'a>> {
        match self {
            Access::Served(s) => Ok(Got::Store(Held::Served(s))),
            Access::Open => {
                // A kitnotes answering on the store's socket holds it: ask it at once, rather
                // than wait for the store's lock first.
                #[cfg(unix)]
                if let Ok(stream) = std::os::unix::net::UnixStream::connect(
                    env.store_dir().join(super::backup::SOCKET),
                ) {
                    return ask_on(env, stream).map(Got::Answered);
                }
                match env.open_existing_store() {
                    Ok(s) => Ok(Got::Store(Held::Own(Box::new(s)))),
                    Err(e) if super::backup::is_locked(&e) => ask(env, e).map(Got::Answered),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// A command sent to the running kitnotes, as one line of JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The asking process's command line, as typed (its first word the program).
    argv: Vec<String>,
    data_dir: PathBuf,
    config_dir: PathBuf,
    demo: bool,
    /// Where relative paths (`-o FILE`) are from.
    cwd: PathBuf,
    /// Whether its standard output is a terminal that takes colour.
    colour: bool,
}

/// The longest frame the asking process accepts.
const MAX_FRAME: usize = 16 << 20;
/// What the running kitnotes buffers before it sends a frame.
const FRAME: usize = 64 << 10;
/// How long the asking process waits for the next frame: the running kitnotes answers on its
/// next tick, unless it is locked.
const FRAME_WAIT: Duration = Duration::from_secs(30);

#[cfg(not(unix))]
fn ask(_env: &Env, locked: anyhow::Error) -> anyhow::Result<ExitCode> {
    Err(locked)
}

/// Sends this process's command to the running kitnotes that holds the store (`locked` says so),
/// writes what it answers where this process would have, and returns its exit status.
#[cfg(unix)]
fn ask(env: &Env, locked: anyhow::Error) -> anyhow::Result<ExitCode> {
    let socket = env.store_dir().join(super::backup::SOCKET);
    match std::os::unix::net::UnixStream::connect(&socket) {
        Ok(stream) => ask_on(env, stream),
        Err(e) => Err(locked.context(format!(
            "and it does not answer on {} ({e}): if kitnotes is open on this store, quit it \
             there and run the command again; if another command (an import, a check) holds \
             it, wait for it to finish",
            socket.display()
        ))),
    }
}

/// Sends this process's command over `stream` to the running kitnotes, writes what it answers
/// where this process would have, and returns its exit status.
#[cfg(unix)]
fn ask_on(env: &Env, mut stream: std::os::unix::net::UnixStream) -> anyhow::Result<ExitCode> {
    let dir = env.store_dir();
    let socket = dir.join(super::backup::SOCKET);
    let argv: Option<Vec<String>> = std::env::args_os().map(|a| a.into_string().ok()).collect();
    let Some(argv) = argv else {
        anyhow::bail!(
            "the store at {} is open in another kitnotes process, and this command line is not \
             valid UTF-8, so it cannot be sent there",
            dir.display()
        );
    };
    let request = RunRequest {
        argv,
        data_dir: env.paths.data_dir.clone(),
        config_dir: env.paths.config_dir.clone(),
        demo: env.demo,
        cwd: std::env::current_dir().context("cannot tell the working directory")?,
        colour: super::output::colour(),
    };
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    stream.set_read_timeout(Some(FRAME_WAIT))?;
    let mut line = serde_json::to_vec(&super::backup::run_request(request))?;
    line.push(b'\n');
    stream.write_all(&line).with_context(|| {
        format!(
            "cannot send the command to the open kitnotes on {}",
            socket.display()
        )
    })?;
    let mut input = std::io::BufReader::new(stream);
    let mut out = super::output::stdout();
    loop {
        let (kind, body) = read_frame(&mut input).map_err(|e| {
            let why = if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                format!(
                    "it did not answer within {} s; if its screen is locked, unlock it there and run the command again",
                    FRAME_WAIT.as_secs()
                )
            } else {
                e.to_string()
            };
            anyhow::anyhow!(
                "the store at {} is open in another kitnotes process, which did not finish the command ({why})",
                dir.display()
            )
        })?;
        match kind {
            b'o' => out.write_all(&body)?,
            b'e' => {
                let _ = std::io::stderr().write_all(&body);
            }
            b'x' => {
                out.flush()?;
                return match serde_json::from_slice::<End>(&body) {
                    Ok(End::Code(code)) => Ok(ExitCode::from(code)),
                    Ok(End::Error(message)) => Err(anyhow::anyhow!("{message}")),
                    Err(e) => anyhow::bail!(
                        "the open kitnotes ended its answer with something this kitnotes does not understand ({e})"
                    ),
                };
            }
            _ => anyhow::bail!(
                "the open kitnotes answered something this kitnotes does not understand"
            ),
        }
    }
}

/// How a served command ended.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum End {
    Code(u8),
    /// Its error, as `kitnotes: error:` would say it.
    Error(String),
}

/// One frame; an answer that is one line of JSON (a kitnotes that does not know this request)
/// is read as an error with its message.
fn read_frame(input: &mut impl std::io::BufRead) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    input.read_exact(&mut head[..1])?;
    if head[0] == b'{' {
        let mut line = vec![b'{'];
        input.by_ref().take(64 << 10).read_until(b'\n', &mut line)?;
        let message = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "it answered something this kitnotes does not understand".into());
        let end = serde_json::to_vec(&End::Error(message)).map_err(std::io::Error::other)?;
        return Ok((b'x', end));
    }
    input.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it sent a frame too long",
        ));
    }
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok((head[0], body))
}

/// What the running kitnotes sends: frames of standard output and standard error, in the order
/// they were written, each up to [`FRAME`] bytes.
struct Frames<W: Write> {
    to: W,
    kind: u8,
    held: Vec<u8>,
    /// A write to the asker failed (kind kept): a frame may be cut in the middle, so nothing
    /// more is sent, not even the end, whose bytes the asker would take for the cut frame's.
    broken: Option<std::io::ErrorKind>,
}

impl<W: Write> Frames<W> {
    fn new(to: W) -> Self {
        Self {
            to,
            kind: b'o',
            held: Vec::new(),
            broken: None,
        }
    }

    fn check(&self) -> std::io::Result<()> {
        match self.broken {
            Some(kind) => Err(std::io::Error::new(
                kind,
                "the asking process stopped taking the answer",
            )),
            None => Ok(()),
        }
    }

    fn push(&mut self, kind: u8, bytes: &[u8]) -> std::io::Result<()> {
        self.check()?;
        if kind != self.kind {
            self.send()?;
            self.kind = kind;
        }
        self.held.extend_from_slice(bytes);
        if self.held.len() >= FRAME {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        self.frame(self.kind, &held)
    }

    fn frame(&mut self, kind: u8, body: &[u8]) -> std::io::Result<()> {
        self.check()?;
        let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
        let written = (|| {
            self.to.write_all(&[kind])?;
            self.to.write_all(&len.to_be_bytes())?;
            self.to.write_all(body)
        })();
        if let Err(e) = &written {
            self.broken = Some(e.kind());
        }
        written
    }

    /// Sends what is held, then the end; nothing once a write failed.
    fn end(&mut self, end: &End) -> std::io::Result<()> {
        self.send()?;
        let body = serde_json::to_vec(end).map_err(std::io::Error::other)?;
        self.frame(b'x', &body)?;
        let flushed = self.to.flush();
        if let Err(e) = &flushed {
            self.broken = Some(e.kind());
        }
        flushed
    }
}

impl<W: Write> super::output::Sink for Frames<W> {
    fn out(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.push(b'o', bytes)
    }

    fn err(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.push(b'e', bytes)
    }
}

/// How a command run for another process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Its exit status, or its error as `kitnotes: error:` says it.
    pub status: Result<u8, String>,
    /// What the status bar says about it (an export written to a file: a disclosure), if
    /// anything.
    pub said: Option<String>,
}

impl RunRequest {
    /// The command as the asker typed it, for the status bar: "`kitnotes export -o all.jsonl`",
    /// one line, cut at 60 characters.
    pub fn words(&self) -> String {
        let mut words: Vec<&str> = vec!["kitnotes"];
        words.extend(
            self.argv
                .iter()
                .skip(1)
                .map(String::as_str)
                .filter(|w| *w != "--demo"),
        );
        let line = crate::text_safety::one_line(&words.join(" ")).into_owned();
        let cut: String = line.chars().take(60).collect();
        if cut.len() < line.len() {
            format!("`{cut}…`")
        } else {
            format!("`{cut}`")
        }
    }
}

/// Whether the process at the other end of `stream` still waits for its answer: it sends
/// nothing after its request, so a read that finds the end of the stream (or an error) means it
/// is gone (it gave up, or was ended).
#[cfg(unix)]
pub fn asker_waits(stream: &std::os::unix::net::UnixStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let waits = match (&*stream).read(&mut byte) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    };
    waits && stream.set_nonblocking(false).is_ok()
}

/// Runs `request` with `store` (the running kitnotes', whose store is in `dir`), its output
/// going to `to` as frames, and ends the answer (on this thread, not the UI's: its output is
/// routed by `cli::output` per thread).
pub fn answer<W: Write + 'static>(
    store: &dyn Store,
    dir: &std::path::Path,
    request: &RunRequest,
    to: W,
) -> Answered {
    let frames = std::rc::Rc::new(std::cell::RefCell::new(Frames::new(to)));
    // Whatever goes wrong in the command ends the command, never the open kitnotes.
    let (ran, said) = super::output::serving(frames.clone(), request.colour, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_served(store, dir, request)
        }))
        .unwrap_or_else(|_| {
            let failed = anyhow::anyhow!("the open kitnotes failed while running the command");
            (Err(failed), None)
        })
    });
    let status = match ran {
        Ok(code) => Ok(exit_status(code)),
        Err(e) => Err(super::output::readable(&e)),
    };
    let end = match &status {
        Ok(code) => End::Code(*code),
        Err(e) => End::Error(e.clone()),
    };
    let _ = frames.borrow_mut().end(&end);
    Answered { status, said }
}

/// The number behind an `ExitCode` (which does not give it back).
fn exit_status(code: ExitCode) -> u8 {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(1)
}

/// Runs the asking process's command as it would have, with `store`.
fn run_served(
    store: &dyn Store,
    dir: &std::path::Path,
    r: &RunRequest,
) -> (anyhow::Result<ExitCode>, Option<String>) {
    let mut said = None;
    let ran = (|| {
        let cli = <super::Cli as clap::Parser>::try_parse_from(&r.argv)
            .map_err(|e| anyhow::anyhow!("{}", e.render()))?;
        let paths = super::Paths {
            data_dir: r.data_dir.clone(),
            config_dir: r.config_dir.clone(),
        };
        let config = crate::config::Config::load(&paths.config_dir)?;
        let env = Env {
            paths,
            config,
            demo: r.demo,
            passphrase_file: None,
        };
        if env.store_dir() != dir {
            anyhow::bail!(
                "this kitnotes holds the store at {}, not {}",
                dir.display(),
                env.store_dir().display()
            );
        }
        let access = Access::Served(store);
        match cli.command {
            Some(Command::Search(args)) => super::search::run_with(&env, args, access),
            Some(Command::Today(args)) => super::today::run_with(&env, args, access),
            Some(Command::Audit(args)) => super::audit::run_with(&env, args, access),
            Some(Command::Sync(args)) => super::sync::run_with(&env, args, access),
            Some(Command::Export(mut args)) => {
                if let Some(path) = args.output.as_mut()
                    && path.is_relative()
                {
                    *path = r.cwd.join(&*path);
                }
                let to = args.output.as_ref().map(|p| p.display().to_string());
                let code = super::export::run_with(&env, args, access)?;
                if let Some(to) = to {
                    said = Some(format!("An export was written to {to} (kitnotes export)"));
                }
                Ok(code)
            }
            _ => anyhow::bail!(
                "the open kitnotes runs search, export, today, audit and sync for other \
                 processes; quit it to run this command"
            ),
        }
    })();
    (ran, said)
}

/// Ends an answer at once with `message` as its error (the command was not run).
pub fn refuse<W: Write>(to: W, message: &str) {
    let _ = Frames::new(to).end(&End::Error(message.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails as a reader that went away does.
    struct GoesAway {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for GoesAway {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.taken.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn nothing_is_sent_after_a_frame_was_cut() {
        let mut frames = Frames::new(GoesAway {
            taken: Vec::new(),
            room: 100,
        });
        let cut = frames.frame(b'o', &[b'a'; 200]).unwrap_err();
        assert_eq!(cut.kind(), std::io::ErrorKind::BrokenPipe);
        frames.to.room = usize::MAX;
        // The command's next write and the end fail, kind kept, and send nothing.
        let next = super::super::output::Sink::out(&mut frames, b"more").unwrap_err();
        assert_eq!(next.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(frames.end(&End::Code(0)).is_err());
        assert_eq!(
            frames.to.taken.len(),
            100,
            "only the cut frame's first bytes"
        );
    }

    #[test]
    fn the_status_bar_shows_the_command_as_typed_in_one_short_line() {
        let request = |argv: &[&str]| RunRequest {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            data_dir: PathBuf::new(),
            config_dir: PathBuf::new(),
            demo: true,
            cwd: PathBuf::new(),
            colour: false,
        };
        assert_eq!(
            request(&["/usr/bin/kitnotes", "--demo", "export", "-o", "a.jsonl"]).words(),
            "`kitnotes export -o a.jsonl`"
        );
        let long = "x".repeat(100);
        let words = request(&["kitnotes", "search", &long, "\u{1b}[2J"]).words();
        assert!(
            words.ends_with("…`") && words.chars().count() == 63,
            "{words}"
        );
        assert!(!words.contains('\u{1b}'));
    }
}
