//! Work that runs off the UI thread while the UI goes on taking keys and drawing: a command
//! another terminal asked the open kitnotes to run (`cli::serve`). This is what the two sides
//! share: the gate that holds such work while the screen is locked, the work running (what it
//! is and how far it got, for the status bar), and how each ended (said once, on a tick).
//!
//! The worker holds a [`Job`] while it runs; the app reads [`Background::running`] on each
//! tick and says each [`Ended`] in the status line.

use crate::progress::{Count, Progress};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Shared by the app and the threads that work for it.
#[derive(Debug, Default)]
pub struct Background {
    state: Mutex<State>,
    /// Signalled when the lock is lifted or kitnotes is closing.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    locked: bool,
    closing: bool,
    next_id: u64,
    running: Vec<Running>,
    /// Requests held until the screen is unlocked.
    waiting: usize,
    ended: Vec<Ended>,
}

#[derive(Debug)]
struct Running {
    id: u64,
    what: String,
    progress: Arc<Progress>,
}

/// One piece of work running, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLine {
    pub id: u64,
    /// What it is, in the user's words: "`kitnotes export -o all.jsonl`".
    pub what: String,
    pub count: Option<Count>,
}

/// How a piece of work ended, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub what: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It finished; what it has to say, if anything (an export written to a file).
    Done(Option<String>),
    /// It ended with this exit status (not 0).
    Status(u8),
    /// It failed with this error.
    Failed(String),
    /// It was never run, for this reason.
    NotRun(String),
}

impl Ended {
    /// The status line's words, and whether they are an error's.
    pub fn words(&self) -> (String, bool) {
        let what = &self.what;
        match &self.outcome {
            Outcome::Done(Some(said)) => (said.clone(), false),
            Outcome::Done(None) => (format!("Answered {what} for another terminal"), false),
            Outcome::Status(code) => (
                format!("{what}, asked from another terminal, ended with exit status {code}"),
                true,
            ),
            Outcome::Failed(e) => (
                format!("{what}, asked from another terminal, failed: {e}"),
                true,
            ),
            Outcome::NotRun(why) => (
                format!("{what}, asked from another terminal, was not run: {why}"),
                true,
            ),
        }
    }
}

/// A piece of work running; dropped without [`Job::end`] (a panic), it ends as failed.
#[derive(Debug)]
pub struct Job {
    background: Arc<Background>,
    id: u64,
    progress: Arc<Progress>,
    ended: bool,
}

impl Job {
    /// Where the work says how far it got ([`crate::progress::watching`]).
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    pub fn end(mut self, outcome: Outcome) {
        self.ended = true;
        self.background.finish(self.id, outcome);
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if !self.ended {
            self.background
                .finish(self.id, Outcome::Failed("it stopped unexpectedly".into()));
        }
    }
}

/// How often a worker held by the lock looks whether it should give up.
const LOOK_AGAIN: Duration = Duration::from_millis(250);

impl Background {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Work starts: it shows in the status bar until it ends.
    pub fn start(self: &Arc<Self>, what: String) -> Job {
        let progress = Arc::new(Progress::default());
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.running.push(Running {
            id,
            what,
            progress: progress.clone(),
        });
        Job {
            background: self.clone(),
            id,
            progress,
            ended: false,
        }
    }

    fn finish(&self, id: u64, outcome: Outcome) {
        let mut s = self.state();
        if let Some(i) = s.running.iter().position(|r| r.id == id) {
            let r = s.running.remove(i);
            s.ended.push(Ended {
                what: r.what,
                outcome,
            });
        }
    }

    /// Says that `what` ended without running (it was never started).
    pub fn not_run(&self, what: String, why: String) {
        self.state().ended.push(Ended {
            what,
            outcome: Outcome::NotRun(why),
        });
    }

    /// The work running now, oldest first.
    pub fn running(&self) -> Vec<JobLine> {
        self.state()
            .running
            .iter()
            .map(|r| JobLine {
                id: r.id,
                what: r.what.clone(),
                count: r.progress.get(),
            })
            .collect()
    }

    /// How many requests wait for the screen to be unlocked.
    pub fn waiting(&self) -> usize {
        self.state().waiting
    }

    /// What ended since the last call.
    pub fn take_ended(&self) -> Vec<Ended> {
        std::mem::take(&mut self.state().ended)
    }

    /// The screen is locked (no work starts) or unlocked (held work goes on).
    pub fn set_locked(&self, locked: bool) {
        self.state().locked = locked;
        self.changed.notify_all();
    }

    pub fn is_locked(&self) -> bool {
        self.state().locked
    }

    /// kitnotes is closing: work held by the lock gives up, none starts.
    pub fn close(&self) {
        self.state().closing = true;
        self.changed.notify_all();
    }

    pub fn is_closing(&self) -> bool {
        self.state().closing
    }

    /// Waits while the screen is locked. True once it is unlocked; false when kitnotes is
    /// closing or `give_up` says so (asked now and then while waiting: its asker went away).
    pub fn wait_unlocked(&self, mut give_up: impl FnMut() -> bool) -> bool {
        let mut s = self.state();
        if !s.locked {
            return !s.closing;
        }
        s.waiting += 1;
        let unlocked = loop {
            if s.closing {
                break false;
            }
            if !s.locked {
                break true;
            }
            let (next, _) = self
                .changed
                .wait_timeout(s, LOOK_AGAIN)
                .unwrap_or_else(|e| e.into_inner());
            s = next;
            if s.locked && !s.closing {
                drop(s);
                let gone = give_up();
                s = self.state();
                if gone {
                    break false;
                }
            }
        };
        s.waiting -= 1;
        unlocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_held_by_the_lock_goes_on_once_unlocked_or_gives_up() {
        let bg = Arc::new(Background::default());
        assert!(bg.wait_unlocked(|| true), "not locked: no wait");
        bg.set_locked(true);
        assert!(!bg.wait_unlocked(|| true), "its asker went away");
        let waiter = {
            let bg = bg.clone();
            std::thread::spawn(move || bg.wait_unlocked(|| false))
        };
        while bg.waiting() == 0 {
            std::thread::yield_now();
        }
        bg.set_locked(false);
        assert!(waiter.join().unwrap());
        assert_eq!(bg.waiting(), 0);
        bg.set_locked(true);
        bg.close();
        assert!(!bg.wait_unlocked(|| false), "closing");
    }

    #[test]
    fn a_job_shows_while_it_runs_and_says_how_it_ended_once() {
        let bg = Arc::new(Background::default());
        let job = bg.start("`kitnotes export`".into());
        crate::progress::watching(job.progress(), || crate::progress::step(3, 9, "patients"));
        let running = bg.running();
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].count.map(|c| (c.done, c.total)), Some((3, 9)));
        job.end(Outcome::Status(2));
        assert!(bg.running().is_empty());
        let ended = bg.take_ended();
        assert_eq!(
            ended[0].words(),
            (
                "`kitnotes export`, asked from another terminal, ended with exit status 2".into(),
                true
            )
        );
        assert!(bg.take_ended().is_empty());
        // A job dropped without an end (a panic) does not stay on screen.
        drop(bg.start("`kitnotes audit`".into()));
        assert!(bg.running().is_empty());
        assert!(matches!(bg.take_ended()[0].outcome, Outcome::Failed(_)));
    }
}
