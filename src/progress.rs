//! How far long work has got, for whoever watches it: the UI shows it while it answers a
//! command for another terminal (`cli::serve`, `app::background`). Work that walks the store
//! says each step ([`step`]); on a thread nobody watches a step is one thread-local read.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// Steps done of a known total: "312 of 1,000 patients".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub done: u64,
    pub total: u64,
    /// What is counted, plural: "patients".
    pub unit: &'static str,
}

/// The latest [`Count`] of one piece of work, written by the thread doing it and read by the UI.
#[derive(Debug, Default)]
pub struct Progress(Mutex<Option<Count>>);

impl Progress {
    /// The last count said, if the work says any.
    pub fn get(&self) -> Option<Count> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, count: Count) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(count);
    }
}

thread_local! {
    static WATCHED: RefCell<Option<Arc<Progress>>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread with its steps going to `progress`.
pub fn watching<T>(progress: Arc<Progress>, work: impl FnOnce() -> T) -> T {
    struct Reset(Option<Arc<Progress>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let before = self.0.take();
            WATCHED.with(|w| *w.borrow_mut() = before);
        }
    }
    let before = WATCHED.with(|w| w.borrow_mut().replace(progress));
    let _reset = Reset(before);
    work()
}

/// `done` of `total` `unit` (plural: "patients") are done, for whoever watches this thread.
pub fn step(done: u64, total: u64, unit: &'static str) {
    WATCHED.with(|w| {
        if let Some(p) = w.borrow().as_ref() {
            p.set(Count { done, total, unit });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_reach_the_watcher_of_this_thread_only_while_it_watches() {
        let p = Arc::new(Progress::default());
        step(1, 2, "patients");
        assert_eq!(p.get(), None);
        watching(p.clone(), || {
            step(3, 10, "patients");
            // Another thread's steps are not this work's.
            std::thread::spawn(|| step(9, 10, "patients"))
                .join()
                .unwrap();
        });
        step(5, 10, "patients");
        assert_eq!(
            p.get(),
            Some(Count {
                done: 3,
                total: 10,
                unit: "patients"
            })
        );
    }
}
