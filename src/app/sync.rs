//! The background sync of the open kitnotes (`[sync]` in config.toml): one sync at a time, on a
//! thread of its own with the app's shared store, so typing never waits on the network. It runs
//! at start, every `[sync] every` (5 minutes by default), and a few seconds after the clinician
//! signs something (a note, an addendum, a dosing session). Never while the app is locked: the
//! ticks that start it stop, and an encrypted store is sealed anyway.
//!
//! The thread takes the [`Runner`] with it and hands it back with the result over a channel,
//! so a second sync cannot start while one runs. The UI thread reads the result on its tick:
//! the header's label ("syncing…", "synced 15:30", "sync: queued (server unreachable), 3
//! changes waiting", conflicts), and, when records came in, the patient list, the open
//! patient's timeline and the author marks, read again without touching what is being typed.

use super::App;
use crate::model::Record;
use crate::store::Store;
use crate::sync::{Standing, SyncError, SyncReport};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// What one sync ended with.
pub type SyncRun = (SyncReport, Result<(), SyncError>);

/// Runs one sync with the store at the given time (`sync::sync` with the practice's server;
/// tests give their own). Called on the sync thread only.
pub type Runner = Box<dyn FnMut(&dyn Store, Timestamp) -> SyncRun + Send>;

/// How long after a signature the sync starts: a few signatures in a row (a note and its
/// addendum, a session and the note after it) go in one sync.
pub const AFTER_SIGNING: SignedDuration = SignedDuration::from_secs(5);

/// A background sync is installed in this process (`kitnotes sync` asked of the open kitnotes
/// says whether it will sync).
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// `kitnotes sync` asked the open kitnotes to sync now.
static ASKED: AtomicBool = AtomicBool::new(false);
/// A sync thread is running (settling a conflict waits for it: both write the sync state).
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Whether the open kitnotes syncs in the background.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

/// Whether a background sync is running now.
pub fn running() -> bool {
    RUNNING.load(Ordering::SeqCst)
}

/// Asks the open kitnotes to sync at its next tick (or right after the one running).
pub fn ask_now() {
    ASKED.store(true, Ordering::SeqCst);
}

/// What the sync thread hands back.
struct Finished {
    runner: Runner,
    report: SyncReport,
    result: Result<(), SyncError>,
    /// Who wrote the records that came from others, read on the sync thread.
    authors: Option<HashMap<String, String>>,
    conflicts: usize,
}

/// The background sync's schedule and the sync under way.
pub struct BackgroundSync {
    /// `None` while the thread has it.
    runner: Option<Runner>,
    every: Option<SignedDuration>,
    /// When the next sync starts.
    due: Option<Timestamp>,
    running: Option<mpsc::Receiver<Finished>>,
    /// The app was locked while the sync ran: a store sealed under it stops it, so it runs
    /// again once unlocked.
    locked_meanwhile: bool,
    /// Makes the event loop tick when the thread is done (`tui::wake`).
    wake: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
    /// Conflicts open after the last sync.
    conflicts: usize,
    /// Changed whenever what is shown of the sync changes, so the loop draws again.
    generation: u64,
    /// The last stop said in the status line, so the same error is not said at every retry.
    said: Option<String>,
}

impl BackgroundSync {
    /// A sync with `runner` at start and every `every` (`None`: only at start, after a
    /// signature and when asked).
    pub fn new(runner: Runner, every: Option<SignedDuration>) -> Self {
        Self {
            runner: Some(runner),
            every,
            due: None,
            running: None,
            locked_meanwhile: false,
            wake: None,
            conflicts: 0,
            generation: 0,
            said: None,
        }
    }

    /// Calls `wake` on the sync thread when a sync is done.
    pub fn with_wake(mut self, wake: std::sync::Arc<dyn Fn() + Send + Sync>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The practice's server as the runner: `sync::sync` with a new connection each time.
    pub fn server_runner(
        settings: crate::sync::config::SyncSettings,
        fhir: crate::interchange::fhir::FhirOptions,
        who: String,
    ) -> Runner {
        Box::new(move |store, at| {
            let server = crate::sync::http::Server::new(settings.clone());
            let opts = crate::sync::SyncOptions {
                fhir: fhir.clone(),
                at,
                who: who.clone(),
                direction: crate::sync::Direction::Both,
            };
            crate::sync::sync(store, &server, &opts)
        })
    }

    /// Whether a sync is under way.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }
}

/// Whether writing `r` is a signature: a signed note (also when an addendum is added to it) or
/// a signed dosing session.
fn is_signature(r: &Record) -> bool {
    match r {
        Record::Note(n) => n.is_signed(),
        Record::Session(s) => s.is_signed(),
        _ => false,
    }
}

impl App {
    /// Syncs in the background from now on: the first sync starts at the next tick.
    pub fn start_background_sync(&mut self, mut sync: BackgroundSync) {
        sync.due = Some(self.now());
        sync.conflicts = crate::sync::state::read(self.store()).map_or(0, |s| s.conflicts.len());
        INSTALLED.store(true, Ordering::SeqCst);
        self.background_sync = Some(sync);
    }

    /// The background sync, if one is installed (tests read its state).
    pub fn background_sync(&self) -> Option<&BackgroundSync> {
        self.background_sync.as_ref()
    }

    /// At the end: waits up to `wait` for a sync under way, so the store closes cleanly after
    /// it. Returns what to say when it did not end in time (it stops with the process; a sync
    /// stopped at any point loses nothing, and the next one finishes it).
    pub fn end_background_sync(&mut self, wait: std::time::Duration) -> Option<String> {
        let b = self.background_sync.as_mut()?;
        let rx = b.running.take()?;
        match rx.recv_timeout(wait) {
            Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                RUNNING.store(false, Ordering::SeqCst);
                None
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Some(format!(
                "a background sync was still under way after {} s and stopped with kitnotes; \
                 nothing is lost, and the next sync finishes it",
                wait.as_secs()
            )),
        }
    }

    /// After a write: a signature brings the next sync to a few seconds from now.
    pub(super) fn sync_after_writing(&mut self, records: &[Record]) {
        let now = self.now();
        if let Some(b) = self.background_sync.as_mut()
            && records.iter().any(is_signature)
        {
            let soon = now.checked_add(AFTER_SIGNING).unwrap_or(now);
            b.due = Some(b.due.map_or(soon, |d| d.min(soon)));
        }
    }

    /// On a tick while locked: no sync starts, and one running is noted to run again after.
    pub(super) fn sync_while_locked(&mut self) {
        if let Some(b) = self.background_sync.as_mut()
            && b.running.is_some()
        {
            b.locked_meanwhile = true;
        }
    }

    /// On a tick (unlocked): takes a finished sync's result, and starts the next when due.
    pub(super) fn tick_background_sync(&mut self) {
        let now = self.now();
        let Some(b) = self.background_sync.as_mut() else {
            return;
        };
        if ASKED.swap(false, Ordering::SeqCst) {
            b.due = Some(now);
        }
        if let Some(rx) = &b.running {
            match rx.try_recv() {
                Ok(done) => {
                    b.running = None;
                    RUNNING.store(false, Ordering::SeqCst);
                    self.background_sync_done(done, now);
                }
                Err(mpsc::TryRecvError::Empty) => return,
                Err(mpsc::TryRecvError::Disconnected) => {
                    // The thread ended without an answer (it panicked): its runner is gone.
                    b.running = None;
                    RUNNING.store(false, Ordering::SeqCst);
                    b.generation += 1;
                    self.settings.sync_label =
                        "sync: stopped (its thread failed); restart kitnotes to sync again".into();
                    return;
                }
            }
        }
        let Some(b) = self.background_sync.as_mut() else {
            return;
        };
        if b.runner.is_some() && b.due.is_some_and(|d| d <= now) {
            self.start_sync_thread(now);
        }
    }

    fn start_sync_thread(&mut self, now: Timestamp) {
        let store = self.shared_store();
        let Some(b) = self.background_sync.as_mut() else {
            return;
        };
        let Some(mut runner) = b.runner.take() else {
            return;
        };
        b.due = b.every.and_then(|e| now.checked_add(e).ok());
        b.locked_meanwhile = false;
        let (tx, rx) = mpsc::channel();
        let wake = b.wake.clone();
        let spawned = std::thread::Builder::new()
            .name("kitnotes sync".into())
            .spawn(move || {
                let (report, result) = runner(store.as_ref(), now);
                let state = crate::sync::state::read(store.as_ref());
                let done = Finished {
                    runner,
                    report,
                    result,
                    conflicts: state.as_ref().map_or(0, |s| s.conflicts.len()),
                    authors: state
                        .map(|s| s.authors.into_iter().map(|(id, a)| (id, a.name)).collect()),
                };
                // Let go of the store before answering: the app may close it right after.
                drop(store);
                let _ = tx.send(done);
                if let Some(wake) = wake {
                    wake();
                }
            });
        b.generation += 1;
        match spawned {
            Ok(_) => {
                b.running = Some(rx);
                RUNNING.store(true, Ordering::SeqCst);
                let conflicts = b.conflicts;
                self.settings.sync_label = self.sync_label(Standing::Syncing, conflicts);
            }
            Err(e) => {
                self.settings.sync_label =
                    format!("sync: off (cannot start its thread: {e}); restart kitnotes to sync");
            }
        }
    }

    fn background_sync_done(&mut self, done: Finished, now: Timestamp) {
        let Some(b) = self.background_sync.as_mut() else {
            return;
        };
        b.runner = Some(done.runner);
        b.generation += 1;
        // A conflict settled (`kitnotes sync --keep-theirs` beside the app) changed a record.
        let settled = done.conflicts < b.conflicts;
        b.conflicts = done.conflicts;
        // Stopped by the store sealed under it: again now that it is open, and nothing said of
        // a stop the lock made (the label stays "syncing…").
        let interrupted = b.locked_meanwhile && done.result.is_err();
        if interrupted {
            b.due = Some(now);
        } else {
            let stopped = match &done.result {
                Err(e) if !matches!(e, SyncError::Unreachable(_)) => Some(e.to_string()),
                _ => None,
            };
            let say = stopped.is_some() && stopped != b.said;
            b.said = stopped.clone();
            let standing = match &done.result {
                Ok(()) => Standing::Synced(now),
                Err(error) => Standing::Stopped {
                    error,
                    queued: done.report.queued,
                },
            };
            self.settings.sync_label = self.sync_label(standing, done.conflicts);
            // A refused token or a server error in full, once: the header has only its name.
            if say && let Some(text) = stopped {
                self.say_error(format!("Background sync stopped: {text}"));
            }
        }
        if let Some(authors) = done.authors {
            self.settings.synced_from = authors;
        }
        if done.report.received_total() > 0 || settled {
            // Read again, keeping the selected patient and the place in the timeline; the
            // editor, the console and forms keep what is typed (they are not read again).
            if let Err(e) = self.reload_roster(None) {
                self.say_error(format!("Cannot read the patient list after a sync: {e:#}"));
            }
        }
    }

    fn sync_label(&self, standing: Standing<'_>, conflicts: usize) -> String {
        crate::sync::label(standing, conflicts, &self.settings.time_zone, self.today())
    }
}
