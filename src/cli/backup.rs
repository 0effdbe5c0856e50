//! `kitnotes backup PATH`: the whole store in one verified file, as encrypted as the store
//! itself, also while kitnotes is open on it.
//!
//! An open kitnotes holds the store's lock, so no second process can open the store. While the
//! terminal UI runs it therefore answers on a Unix socket, `<store dir>/kitnotes.sock` (readable
//! and writable by this user only), exactly one request: "write a backup of the store to this
//! absolute path". It answers with the entry count, size and SHA-256, or what went wrong. No
//! record passes through the socket, and the file holds the store's values as they are on disk
//! (sealed), so a process of the same user learns nothing it could not read from the store's
//! files. The open kitnotes records the backup in its audit log on its next tick.
//!
//! The same socket answers `kitnotes export --format rems --session ID`: the request goes to the
//! app's own loop (a task run on its ticks with its store, through a channel), which reads the
//! session, makes the summary, logs the export and hands the text back; the asking process
//! writes it where it was told. Only that summary passes, the text the user asked for.

use super::Env;
use crate::app::App;
use crate::store::backup::{BackupError, BackupSource, BackupSummary};
use crate::store::{Actor, AuditAction, AuditEvent, Store, StoreError};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The socket an open kitnotes answers backup requests on, in the store's directory.
pub const SOCKET: &str = "kitnotes.sock";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to write, e.g. `kitnotes-2026-11-21.kbak`. An existing file is refused, unless
    /// --force.
    pub path: PathBuf,
    /// Replace PATH if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let path = std::path::absolute(&args.path)
        .with_context(|| format!("cannot tell where {} is", args.path.display()))?;
    if !args.force && std::fs::symlink_metadata(&path).is_ok() {
        return Err(BackupError::Exists { path }.into());
    }
    let dir = env.store_dir();
    if std::path::absolute(&dir).is_ok_and(|d| path.starts_with(d)) {
        anyhow::bail!(
            "{} is inside the store's directory {}; write the backup somewhere else (ideally \
             another disk)",
            path.display(),
            dir.display()
        );
    }
    let store = match env.open_existing_store() {
        Ok(store) => store,
        Err(e) if is_locked(&e) => {
            let who = crate::store::audit::who(env.config.clinician.as_deref());
            return ask_open_kitnotes(&dir, &path, args.force, who);
        }
        Err(e) => return Err(e),
    };
    let started = Instant::now();
    let summary = store.backup_source().write_file(&path, args.force)?;
    print_written(&dir, &path, &summary, started.elapsed())?;
    // Recorded once the file is in place, and never while the store is being read.
    let event = backed_up(env.actor(), &path, &summary, None);
    store
        .log_event(&event)
        .and_then(|_| store.flush())
        .with_context(|| {
            format!(
                "the backup was written to {}, but the audit log could not record it",
                path.display()
            )
        })?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<StoreError>(),
            Some(StoreError::Locked { .. })
        )
    })
}

fn print_written(
    dir: &Path,
    path: &Path,
    s: &BackupSummary,
    took: Duration,
) -> std::io::Result<()> {
    let mut out = super::output::stdout();
    writeln!(
        out,
        "Backed up {} ({} entries, {}) to {} in {:.2} s",
        dir.display(),
        s.entries,
        human_bytes(s.bytes),
        path.display(),
        took.as_secs_f64()
    )?;
    writeln!(out, "SHA-256 {}", s.sha256_hex())
}

/// "1.3 MB", "812 kB", "96 bytes".
pub fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// The audit entry of a backup.
fn backed_up(actor: Actor, path: &Path, s: &BackupSummary, served_by: Option<u32>) -> AuditEvent {
    let mut detail = format!(
        "the whole store, copied as stored (raw), to {}: {} entries, {} bytes, SHA-256 {}",
        path.display(),
        s.entries,
        s.bytes,
        s.sha256_hex()
    );
    if let Some(pid) = served_by {
        detail.push_str(&format!(
            "; written by the open kitnotes (pid {pid}) at the request of `kitnotes backup`"
        ));
    }
    actor.event(AuditAction::BackedUp).detail(detail)
}

/// What the open kitnotes needs from its config to answer `kitnotes export --format rems`.
#[derive(Debug, Clone)]
pub struct RemsSettings {
    pub clinic: crate::model::Clinic,
    pub time_zone: jiff::tz::TimeZone,
}

impl Default for RemsSettings {
    fn default() -> Self {
        Self {
            clinic: Default::default(),
            time_zone: jiff::tz::TimeZone::UTC,
        }
    }
}

#[cfg(not(unix))]
pub(super) fn ask_open_kitnotes_for_rems(
    dir: &Path,
    _session: &str,
    _patient: Option<&str>,
    _destination: &str,
    _who: String,
) -> anyhow::Result<String> {
    anyhow::bail!(
        "the store at {} is open in another kitnotes process; on this system the summary needs \
         kitnotes closed: quit it there and run the export again",
        dir.display()
    )
}

#[cfg(not(unix))]
fn ask_open_kitnotes(
    dir: &Path,
    _path: &Path,
    _force: bool,
    _who: String,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "the store at {} is open in another kitnotes process; on this system a backup needs \
         kitnotes closed: quit it there and run `kitnotes backup` again",
        dir.display()
    )
}

/// While the terminal UI runs: answers backup requests for the store in `dir` and records them in
/// the audit log from the app's ticks. Returns what stops the server when dropped (drop it before
/// the store closes). If the socket cannot be made, the app says so and runs without it.
pub fn serve_while_open(app: &mut App, dir: &Path, source: BackupSource) -> Option<BackupServer> {
    let rems = RemsSettings {
        clinic: app.settings.clinic.clone(),
        time_zone: app.settings.time_zone.clone(),
    };
    #[cfg(unix)]
    let commands = Commands {
        store: app.shared_store(),
        background: app.background(),
    };
    #[cfg(unix)]
    match serve_with_commands(dir, source, rems, commands) {
        Ok((server, task)) => {
            app.add_store_task(task);
            Some(server)
        }
        Err(e) => {
            let mut message = Some(format!(
                "`kitnotes backup` cannot reach this kitnotes while it is open (cannot listen on \
                 {}: {e})",
                dir.join(SOCKET).display()
            ));
            app.add_store_task(Box::new(move |_| message.take()));
            None
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (app, dir, source, rems);
        None
    }
}

/// Stands in for the socket server where there is none.
#[cfg(not(unix))]
pub struct BackupServer;

#[cfg(unix)]
use socket::ask_open_kitnotes;
#[cfg(unix)]
pub(super) use socket::ask_open_kitnotes_for_rems;
#[cfg(unix)]
pub(super) use socket::run_request;
#[cfg(unix)]
pub use socket::{BackupServer, Commands, serve, serve_answering, serve_with_commands};

#[cfg(unix)]
mod socket {
    //! The socket: one request and its answer, each one line of JSON; the client
    //! (`kitnotes backup`) and the server (the open kitnotes).

    use super::*;
    use crate::app::StoreTask;
    use serde::{Deserialize, Serialize};

    pub use server::{BackupServer, Commands, serve, serve_answering, serve_with_commands};

    /// The longest request line.
    const MAX_MESSAGE: u64 = 64 * 1024;
    /// The longest answer line (a REMS summary with long adverse-event texts).
    const MAX_REPLY: u64 = 4 * 1024 * 1024;
    /// How long the server waits for the app's loop to make a REMS summary.
    const SUMMARY_WAIT: Duration = Duration::from_secs(30);
    /// How long the server waits for the app to record the backup in the audit log before
    /// answering that it will.
    const AUDIT_WAIT: Duration = Duration::from_secs(3);
    /// How long `kitnotes backup` waits for the open kitnotes to write the backup.
    const REPLY_WAIT: Duration = Duration::from_secs(30 * 60);

    /// One request over the socket, as one line of JSON.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "request", rename_all = "kebab-case", deny_unknown_fields)]
    enum Request {
        Backup {
            path: PathBuf,
            force: bool,
            /// Who asked, for the audit log (the clinician from the asking side's config).
            who: String,
        },
        /// A command run with the open kitnotes' store (`cli::serve`); answered in frames.
        Run { run: crate::cli::serve::RunRequest },
        /// The REMS monitoring summary of one session (`kitnotes export --format rems`).
        Rems {
            session: String,
            /// `--patient`, which the session must belong to.
            patient: Option<String>,
            /// Where the asking process writes it, for the audit log.
            destination: String,
            who: String,
        },
    }

    /// The answer, as one line of JSON.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "reply", rename_all = "kebab-case")]
    enum Reply {
        Written {
            pid: u32,
            entries: u64,
            trees: u64,
            bytes: u64,
            sha256: String,
            audit: Recorded,
        },
        Failed {
            pid: u32,
            message: String,
        },
        /// The summary's text; the export is in the open kitnotes' audit log.
        Rems {
            pid: u32,
            text: String,
        },
    }

    /// Whether the open kitnotes recorded the backup in its audit log.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Recorded {
        /// As this entry number.
        Entry(u64),
        /// Not yet: the store is locked; it is recorded once it is unlocked.
        Pending,
        Failed(String),
    }

    /// The store is open in another process: ask it to write the backup.
    pub(super) fn ask_open_kitnotes(
        dir: &Path,
        path: &Path,
        force: bool,
        who: String,
    ) -> anyhow::Result<ExitCode> {
        let mut out = crate::cli::output::stdout();
        let socket = dir.join(SOCKET);
        let started = Instant::now();
        let request = Request::Backup {
            path: path.to_owned(),
            force,
            who,
        };
        let reply = ask(&socket, &request).map_err(|e| {
            anyhow::anyhow!(
                "the store at {} is open in another kitnotes process, which did not take the \
                 backup request ({}: {e}). If kitnotes is open on this store, quit it there (q) \
                 and run `kitnotes backup` again; if another command (an import, an export) is \
                 running, wait for it to finish",
                dir.display(),
                socket.display()
            )
        })?;
        match reply {
            Reply::Written {
                pid,
                entries,
                trees: _,
                bytes,
                sha256,
                audit,
            } => {
                writeln!(
                    out,
                    "kitnotes is open on this store (pid {pid}); it wrote the backup."
                )?;
                writeln!(
                    out,
                    "Backed up {} ({entries} entries, {}) to {} in {:.2} s",
                    dir.display(),
                    human_bytes(bytes),
                    path.display(),
                    started.elapsed().as_secs_f64()
                )?;
                writeln!(out, "SHA-256 {sha256}")?;
                match audit {
                    Recorded::Entry(seq) => {
                        writeln!(out, "Recorded in its audit log as entry {seq}.")?
                    }
                    Recorded::Pending => writeln!(
                        out,
                        "It records the backup in its audit log as soon as the store is unlocked."
                    )?,
                    Recorded::Failed(why) => anyhow::bail!(
                        "the backup was written to {}, but the open kitnotes could not record \
                         it in the audit log: {why}",
                        path.display()
                    ),
                }
                Ok(ExitCode::SUCCESS)
            }
            Reply::Failed { pid, message } => anyhow::bail!(
                "kitnotes is open on this store (pid {pid}) and could not write the backup: \
                 {message}"
            ),
            Reply::Rems { .. } => anyhow::bail!(
                "kitnotes is open on this store and answered with a REMS summary, not a backup"
            ),
        }
    }

    /// The store is open in another process: ask it for the REMS summary of `session`.
    pub(in crate::cli) fn ask_open_kitnotes_for_rems(
        dir: &Path,
        session: &str,
        patient: Option<&str>,
        destination: &str,
        who: String,
    ) -> anyhow::Result<String> {
        let socket = dir.join(SOCKET);
        let request = Request::Rems {
            session: session.to_owned(),
            patient: patient.map(str::to_owned),
            destination: destination.to_owned(),
            who,
        };
        let reply = ask(&socket, &request).map_err(|e| {
            anyhow::anyhow!(
                "the store at {} is open in another kitnotes process, which did not answer the \
                 request for the REMS summary ({}: {e}). If kitnotes is open on this store, \
                 write the summary from there (R on the session) or quit it and export again",
                dir.display(),
                socket.display()
            )
        })?;
        match reply {
            // Made safe to print by the open kitnotes; made safe again here, whatever answered.
            Reply::Rems { text, .. } => Ok(crate::text_safety::printable(&text).into_owned()),
            Reply::Failed { message, .. } => anyhow::bail!("{message}"),
            Reply::Written { pid, .. } => anyhow::bail!(
                "kitnotes is open on this store (pid {pid}) and answered with a backup, not a \
                 REMS summary"
            ),
        }
    }

    /// The request line that asks the open kitnotes to run a command (`cli::serve`).
    pub(in crate::cli) fn run_request(run: crate::cli::serve::RunRequest) -> impl Serialize {
        Request::Run { run }
    }

    /// Sends one request and reads the answer.
    fn ask(socket: &Path, request: &Request) -> std::io::Result<Reply> {
        use std::io::Write;
        let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        stream.set_read_timeout(Some(REPLY_WAIT))?;
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        stream.write_all(&line)?;
        let answer = read_line(&stream, MAX_REPLY)?;
        serde_json::from_slice(&answer).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("it answered something this kitnotes does not understand ({e})"),
            )
        })
    }

    /// One line of at most `max` bytes, without its newline.
    fn read_line(stream: &std::os::unix::net::UnixStream, max: u64) -> std::io::Result<Vec<u8>> {
        use std::io::{BufRead, Read};
        let mut line = Vec::new();
        std::io::BufReader::new(stream.take(max + 1)).read_until(b'\n', &mut line)?;
        if line.pop() != Some(b'\n') {
            let why = if line.len() as u64 >= max {
                "the message is too long"
            } else {
                "the connection closed before a whole message came"
            };
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
        }
        Ok(line)
    }

    mod server {
        use super::*;
        use std::os::unix::net::{UnixListener, UnixStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
        use std::sync::{Arc, Mutex};

        /// A backup written on request, for the app to record in the audit log.
        struct ToRecord {
            event: AuditEvent,
            path: PathBuf,
            done: SyncSender<Result<u64, String>>,
        }

        /// A REMS summary asked for, for the app's loop to make with its store.
        struct ToSummarise {
            session: String,
            patient: Option<String>,
            destination: String,
            who: String,
            done: SyncSender<Result<String, String>>,
        }

        /// What runs the commands other terminals ask the open kitnotes for (`cli::serve`): the
        /// app's store, shared, and what the app shows of the work (`app::background`).
        pub struct Commands {
            pub store: Arc<dyn Store + Send + Sync>,
            pub background: Arc<crate::app::background::Background>,
        }

        /// The most commands run at once; more are refused until one ends.
        const MAX_COMMANDS: usize = 8;

        /// The threads running commands for other terminals, one per request: the UI's thread
        /// never runs them, and a slow reader (`kitnotes export | less`) holds only its own.
        struct Workers {
            commands: Commands,
            dir: PathBuf,
            running: Mutex<Vec<Worker>>,
        }

        struct Worker {
            thread: std::thread::JoinHandle<()>,
            /// The asker's connection, to cut the answer short when kitnotes closes.
            stream: UnixStream,
        }

        impl Workers {
            /// Runs `request` on a thread of its own, answering on `stream`.
            fn run(self: &Arc<Self>, request: crate::cli::serve::RunRequest, stream: UnixStream) {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                let (done, going): (Vec<Worker>, Vec<Worker>) =
                    running.drain(..).partition(|w| w.thread.is_finished());
                *running = going;
                for w in done {
                    let _ = w.thread.join();
                }
                if self.commands.background.is_closing() {
                    return crate::cli::serve::refuse(stream, "kitnotes is closing");
                }
                if running.len() >= MAX_COMMANDS {
                    return crate::cli::serve::refuse(
                        stream,
                        &format!(
                            "the open kitnotes is already running {MAX_COMMANDS} commands for \
                             other terminals; run this one again when one of them ends"
                        ),
                    );
                }
                let Ok(kept) = stream.try_clone() else {
                    return crate::cli::serve::refuse(stream, "kitnotes cannot take it now");
                };
                // The answer waits for its reader as a direct run would (a pager that reads
                // one page); the thread blocks, never the UI.
                let _ = stream.set_write_timeout(None);
                let me = self.clone();
                let thread = std::thread::Builder::new()
                    .name(crate::tui::COMMAND_THREAD.into())
                    .spawn(move || me.work(request, stream));
                match thread {
                    Ok(thread) => running.push(Worker {
                        thread,
                        stream: kept,
                    }),
                    Err(e) => crate::cli::serve::refuse(
                        kept,
                        &format!("kitnotes cannot start the command ({e})"),
                    ),
                }
            }

            /// One command: held while the screen is locked and dropped if its asker went away
            /// meanwhile, then run with the shared store, shown in the status bar while it runs.
            fn work(&self, request: crate::cli::serve::RunRequest, stream: UnixStream) {
                use crate::app::background::Outcome;
                use crate::cli::serve::asker_waits;
                let background = &self.commands.background;
                let what = request.words();
                if !background.wait_unlocked(|| !asker_waits(&stream)) {
                    if background.is_closing() {
                        crate::cli::serve::refuse(stream, "kitnotes is closing");
                    } else {
                        background.not_run(
                            what,
                            "the asking process stopped waiting while kitnotes was locked".into(),
                        );
                    }
                    return;
                }
                // A request that waited for the unlock may have outlived its asker, which gives
                // up after a while: it is not run (an export nobody receives is no disclosure to
                // log).
                if !asker_waits(&stream) {
                    background.not_run(what, "the asking process had stopped waiting".into());
                    return;
                }
                let job = background.start(what);
                let answered = crate::progress::watching(job.progress(), || {
                    crate::cli::serve::answer(
                        self.commands.store.as_ref(),
                        &self.dir,
                        &request,
                        stream,
                    )
                });
                job.end(match answered.status {
                    Ok(0) => Outcome::Done(answered.said),
                    Ok(code) => Outcome::Status(code),
                    Err(e) => Outcome::Failed(e),
                });
                crate::tui::wake();
            }

            /// kitnotes closes: nothing new starts, held requests are refused, running answers
            /// are cut short (each command then ends as it does when its reader goes away: an
            /// export still logs what went out) and waited for.
            fn close(&self) {
                self.commands.background.close();
                let running =
                    std::mem::take(&mut *self.running.lock().unwrap_or_else(|e| e.into_inner()));
                for w in running {
                    let _ = w.stream.shutdown(std::net::Shutdown::Both);
                    let _ = w.thread.join();
                }
            }
        }

        /// The channels from the server's thread to the app's loop, and the commands' workers.
        struct ToApp {
            record: Sender<ToRecord>,
            summarise: Sender<ToSummarise>,
            commands: Option<Arc<Workers>>,
        }

        /// Answers backup requests on `<dir>/kitnotes.sock` until dropped.
        pub struct BackupServer {
            socket: PathBuf,
            stop: Arc<AtomicBool>,
            /// Taken on drop, so the database is let go even if the thread cannot be woken.
            source: Arc<Mutex<Option<BackupSource>>>,
            thread: Option<std::thread::JoinHandle<()>>,
            commands: Option<Arc<Workers>>,
        }

        impl std::fmt::Debug for BackupServer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("BackupServer")
                    .field("socket", &self.socket)
                    .finish()
            }
        }

        /// Starts answering backup requests for the store in `dir` (which this process holds open),
        /// and returns the server and the task that records each backup in the audit log: run it
        /// with the store from time to time ([`App::add_store_task`] does).
        pub fn serve(
            dir: &Path,
            source: BackupSource,
        ) -> std::io::Result<(BackupServer, StoreTask)> {
            serve_answering(dir, source, RemsSettings::default())
        }

        /// [`serve`], also answering REMS summary requests with the clinic and time zone of
        /// `rems` (the open kitnotes' config).
        pub fn serve_answering(
            dir: &Path,
            source: BackupSource,
            rems: RemsSettings,
        ) -> std::io::Result<(BackupServer, StoreTask)> {
            start(dir, source, rems, None)
        }

        /// [`serve_answering`], also running `search`, `export`, `today` and `audit` for other
        /// terminals (`cli::serve`) with `commands`' store, each on a thread of its own.
        pub fn serve_with_commands(
            dir: &Path,
            source: BackupSource,
            rems: RemsSettings,
            commands: Commands,
        ) -> std::io::Result<(BackupServer, StoreTask)> {
            start(dir, source, rems, Some(commands))
        }

        fn start(
            dir: &Path,
            source: BackupSource,
            rems: RemsSettings,
            commands: Option<Commands>,
        ) -> std::io::Result<(BackupServer, StoreTask)> {
            let socket = dir.join(SOCKET);
            let listener = bind_private(dir, &socket)?;
            let stop = Arc::new(AtomicBool::new(false));
            let source = Arc::new(Mutex::new(Some(source)));
            let (to_record, recorded) = mpsc::channel();
            let (to_summarise, summarise) = mpsc::channel();
            let commands = commands.map(|commands| {
                Arc::new(Workers {
                    commands,
                    dir: dir.to_owned(),
                    running: Mutex::new(Vec::new()),
                })
            });
            let to_app = ToApp {
                record: to_record,
                summarise: to_summarise,
                commands: commands.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(crate::tui::SOCKET_THREAD.into())
                .spawn({
                    let (stop, source) = (stop.clone(), source.clone());
                    move || accept(listener, &stop, &source, &to_app)
                });
            let thread = match thread {
                Ok(t) => t,
                Err(e) => {
                    let _ = std::fs::remove_file(&socket);
                    return Err(e);
                }
            };
            let server = BackupServer {
                socket,
                stop,
                source,
                thread: Some(thread),
                commands,
            };
            let mut record = record_task(recorded);
            let mut summaries = summary_task(summarise, rems);
            let task: StoreTask = Box::new(move |store: &dyn Store| {
                let a = record(store);
                let b = summaries(store);
                b.or(a)
            });
            Ok((server, task))
        }

        /// Binds the socket in a directory only this user can enter, makes it this user's only,
        /// then moves it into place: no other account can connect in between. A socket left by a
        /// kitnotes that crashed is replaced (this process holds the store's lock, so no other
        /// kitnotes can be answering on it).
        fn bind_private(dir: &Path, socket: &Path) -> std::io::Result<UnixListener> {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            let private = dir.join(format!(".s{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&private);
            std::fs::DirBuilder::new().mode(0o700).create(&private)?;
            let result = (|| {
                let staged = private.join("k");
                let listener = UnixListener::bind(&staged)?;
                std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
                std::fs::rename(&staged, socket)?;
                Ok(listener)
            })();
            let _ = std::fs::remove_dir_all(&private);
            result
        }

        fn accept(
            listener: UnixListener,
            stop: &AtomicBool,
            source: &Mutex<Option<BackupSource>>,
            to_app: &ToApp,
        ) {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                match conn {
                    Ok(stream) => {
                        // Nothing here should panic; if something does, the request fails and the
                        // server goes on.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            answer(stream, source, to_app)
                        }));
                    }
                    // Out of file descriptors and the like: wait rather than spin.
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        }

        fn answer(mut stream: UnixStream, source: &Mutex<Option<BackupSource>>, to_app: &ToApp) {
            use std::io::Write;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
            let pid = std::process::id();
            let request = read_line(&stream, MAX_MESSAGE).and_then(|line| {
                serde_json::from_slice::<Request>(&line)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            });
            let reply = match request {
                Ok(Request::Run { run }) => {
                    // Answered in frames by a thread of its own, when it has run the command.
                    let _ = stream.set_read_timeout(None);
                    match &to_app.commands {
                        Some(workers) => workers.run(run, stream),
                        None => crate::cli::serve::refuse(
                            stream,
                            "this kitnotes does not run commands for other processes",
                        ),
                    }
                    return;
                }
                Err(e) => Reply::Failed {
                    pid,
                    message: format!("a request this kitnotes does not understand ({e})"),
                },
                Ok(Request::Backup { path, force, who }) => {
                    back_up(&path, force, &who, source, &to_app.record)
                }
                Ok(Request::Rems {
                    session,
                    patient,
                    destination,
                    who,
                }) => summarise(session, patient, destination, who, &to_app.summarise),
            };
            if let Ok(mut line) = serde_json::to_vec(&reply) {
                line.push(b'\n');
                let _ = stream.write_all(&line);
            }
        }

        fn back_up(
            path: &Path,
            force: bool,
            who: &str,
            source: &Mutex<Option<BackupSource>>,
            to_record: &Sender<ToRecord>,
        ) -> Reply {
            let pid = std::process::id();
            let failed = |message: String| Reply::Failed { pid, message };
            if !path.is_absolute() {
                return failed(format!("{} is not an absolute path", path.display()));
            }
            let written = {
                let source = source.lock().unwrap_or_else(|e| e.into_inner());
                match source.as_ref() {
                    Some(source) => source.write_file(path, force),
                    None => return failed("kitnotes is closing".into()),
                }
            };
            let summary = match written {
                Ok(s) => s,
                Err(e) => return failed(e.to_string()),
            };
            let who: String = match who.trim() {
                "" => "unknown".into(),
                w => w.chars().take(200).collect(),
            };
            let event = backed_up(
                Actor::new(who, jiff::Timestamp::now()),
                path,
                &summary,
                Some(pid),
            );
            let (done, outcome) = mpsc::sync_channel(1);
            let sent = to_record.send(ToRecord {
                event,
                path: path.to_owned(),
                done,
            });
            let audit = match sent {
                Err(_) => Recorded::Failed("kitnotes is closing".into()),
                Ok(()) => match outcome.recv_timeout(AUDIT_WAIT) {
                    Ok(Ok(seq)) => Recorded::Entry(seq),
                    Ok(Err(why)) => Recorded::Failed(why),
                    Err(RecvTimeoutError::Timeout) => Recorded::Pending,
                    Err(RecvTimeoutError::Disconnected) => {
                        Recorded::Failed("kitnotes closed before it could record it".into())
                    }
                },
            };
            Reply::Written {
                pid,
                entries: summary.entries,
                trees: summary.trees,
                bytes: summary.bytes,
                sha256: summary.sha256_hex(),
                audit,
            }
        }

        /// Hands a REMS summary request to the app's loop and waits for the text.
        fn summarise(
            session: String,
            patient: Option<String>,
            destination: String,
            who: String,
            to_app: &Sender<ToSummarise>,
        ) -> Reply {
            let pid = std::process::id();
            let failed = |message: String| Reply::Failed { pid, message };
            let (done, outcome) = mpsc::sync_channel(1);
            let sent = to_app.send(ToSummarise {
                session,
                patient,
                destination: destination.chars().take(4096).collect(),
                who: who.chars().take(200).collect(),
                done,
            });
            if sent.is_err() {
                return failed("kitnotes is closing".into());
            }
            match outcome.recv_timeout(SUMMARY_WAIT) {
                Ok(Ok(text)) => Reply::Rems { pid, text },
                Ok(Err(message)) => failed(message),
                Err(RecvTimeoutError::Timeout) => failed(format!(
                    "kitnotes is open on this store (pid {pid}) but did not make the summary \
                     within {} s",
                    SUMMARY_WAIT.as_secs()
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    failed("kitnotes closed before it could make the summary".into())
                }
            }
        }

        /// Makes each REMS summary asked for with the app's store, on its ticks, and logs the
        /// export in its audit log. A locked store answers at once that it is locked: the
        /// summary holds the patient's name, so it waits for the passphrase like the screen.
        fn summary_task(asked: Receiver<ToSummarise>, rems: RemsSettings) -> StoreTask {
            Box::new(move |store: &dyn Store| {
                let mut said = None;
                for r in asked.try_iter() {
                    let made = crate::cli::export::rems_text(
                        store,
                        &r.session,
                        r.patient.as_deref(),
                        &rems.clinic,
                        &rems.time_zone,
                    );
                    let reply = match made {
                        Err(e)
                            if e.chain().any(|c| {
                                matches!(c.downcast_ref::<StoreError>(), Some(StoreError::Sealed))
                            }) =>
                        {
                            Err(format!(
                                "kitnotes is open on this store (pid {}) and locked: unlock it \
                                 there, then ask again",
                                std::process::id()
                            ))
                        }
                        Err(e) => Err(format!("{e:#}")),
                        Ok((text, patient)) => {
                            let who = match r.who.trim() {
                                "" => "unknown".to_owned(),
                                w => w.to_owned(),
                            };
                            let event = Actor::new(who, jiff::Timestamp::now())
                                .event(AuditAction::Exported)
                                .patient(&patient)
                                .record(r.session.as_str())
                                .detail(format!(
                                    "REMS monitoring summary of dosing session {} to {}, made by \
                                     the open kitnotes (pid {}) at the request of `kitnotes \
                                     export`",
                                    r.session,
                                    r.destination,
                                    std::process::id()
                                ));
                            match store.log_event(&event).and_then(|_| store.flush()) {
                                Ok(()) => {
                                    said = Some(format!(
                                        "The REMS summary of session {} was exported to {} \
                                         (kitnotes export)",
                                        r.session, r.destination
                                    ));
                                    Ok(text)
                                }
                                Err(e) => Err(format!(
                                    "the audit log could not record the export, so no summary \
                                     was given: {e}"
                                )),
                            }
                        }
                    };
                    let _ = r.done.send(reply);
                }
                said
            })
        }

        /// Records each backup written on request in the audit log, with the app's store. A locked
        /// store keeps it waiting until it is unlocked.
        fn record_task(recorded: Receiver<ToRecord>) -> StoreTask {
            let mut waiting: Vec<ToRecord> = Vec::new();
            Box::new(move |store: &dyn Store| {
                waiting.extend(recorded.try_iter());
                let mut said = None;
                for r in std::mem::take(&mut waiting) {
                    match store
                        .log_event(&r.event)
                        .and_then(|e| store.flush().map(|()| e))
                    {
                        Ok(entry) => {
                            let _ = r.done.send(Ok(entry.seq));
                            said = Some(format!(
                                "A backup of this store was written to {} (kitnotes backup)",
                                r.path.display()
                            ));
                        }
                        Err(StoreError::Sealed) => waiting.push(r),
                        Err(e) => {
                            let _ = r.done.send(Err(e.to_string()));
                            said = Some(format!(
                                "A backup was written to {}, but the audit log could not \
                                 record it: {e}",
                                r.path.display()
                            ));
                        }
                    }
                }
                said
            })
        }

        impl Drop for BackupServer {
            fn drop(&mut self) {
                self.stop.store(true, Ordering::SeqCst);
                // Waits for a backup being written to finish, then lets go of the database.
                drop(self.source.lock().unwrap_or_else(|e| e.into_inner()).take());
                // Wakes the thread from `accept` so it sees `stop`.
                let woken = UnixStream::connect(&self.socket).is_ok();
                let _ = std::fs::remove_file(&self.socket);
                if woken && let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
                if let Some(commands) = self.commands.take() {
                    commands.close();
                }
            }
        }
    }
}
