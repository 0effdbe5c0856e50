//! The automatic lock (issue 8, HIPAA's "automatic log-off"): after `lock_after` without a key
//! or mouse event, or at once with the lock key, the screen shows nothing from any record until
//! the store's passphrase is typed.
//!
//! Locking saves first, the way the app always saves typed text: the note in the editor is
//! written, a line typed in the session console is stored as a draft observation, and the store
//! is flushed; only then does [`crate::store::Store::lock`] forget the store's keys. Forms that
//! have no draft in the store (a patient form, a questionnaire, a goal, a check-in, an addendum)
//! stay in memory and are simply not drawn. If a save fails the screen is hidden all the same,
//! and the lock screen says what is not saved; quitting from the lock screen then refuses until
//! an unlock lets it be saved.
//!
//! While locked nothing reads or writes the store: `tick`, focus changes and the mouse do
//! nothing, and keys go to the passphrase field alone. Unlocking returns to exactly where the
//! user was, with the patient list, the open patient, Today and the console read again.

use super::{App, Status};
use crate::store::StoreError;
use jiff::{SignedDuration, Timestamp};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::{Zeroize, Zeroizing};

/// When the screen locks by itself: `lock_after` in config.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAfter {
    /// `"off"` or `"never"`: only the lock key locks.
    Never,
    /// After this long without a key or mouse event.
    Idle(SignedDuration),
}

impl Default for LockAfter {
    /// Five minutes, a common automatic log-off time for clinical workstations.
    fn default() -> Self {
        LockAfter::Idle(SignedDuration::from_mins(5))
    }
}

impl LockAfter {
    /// While a patient is dosed: longer than outside a session (a therapist sitting with a quiet
    /// patient may not touch the keyboard for a while), and the lock screen then keeps the time
    /// since dose and the due checks in view, so a lock never hides what the session needs.
    pub const DURING_SESSION: LockAfter = LockAfter::Idle(SignedDuration::from_mins(15));

    /// Shorter than this leaves no time to type a passphrase and read a note.
    pub const SHORTEST: SignedDuration = SignedDuration::from_secs(10);
    pub const LONGEST: SignedDuration = SignedDuration::from_hours(24);

    /// Reads `"5m"`, `"90s"`, `"1h"`, `"off"` or `"never"`; the error says why not, in words
    /// that fit after "lock_after: ".
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let example = "write a time such as \"5m\", \"90s\" or \"1h\", or \"off\"";
        if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("never") {
            return Ok(LockAfter::Never);
        }
        if t.is_empty() {
            return Err(format!("empty; {example}"));
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = (&t[..split], t[split..].trim());
        if digits.is_empty() {
            return Err(format!("{text:?} does not start with a number; {example}"));
        }
        let Ok(n) = digits.parse::<i64>() else {
            return Err(format!(
                "{text:?} is too long a time; write \"off\" to never lock"
            ));
        };
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "" => {
                return Err(format!(
                    "{text:?} has no unit: write \"{n}m\" for minutes or \"{n}s\" for seconds"
                ));
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?}; use s (seconds), m (minutes) or h (hours)"
                ));
            }
        };
        let d = n
            .checked_mul(seconds)
            .map(SignedDuration::from_secs)
            .unwrap_or(SignedDuration::MAX);
        if d.is_zero() {
            return Err(format!(
                "{text:?} would lock at once; write \"off\" to never lock by itself"
            ));
        }
        if d < Self::SHORTEST {
            return Err(format!(
                "{text:?} is too short to type a passphrase and work; at least \"10s\""
            ));
        }
        if d > Self::LONGEST {
            return Err(format!(
                "{text:?} is more than a day; at most \"24h\", or \"off\" to never lock by itself"
            ));
        }
        Ok(LockAfter::Idle(d))
    }

    /// "5 min", "90 s", "1 h": for the lock screen.
    pub fn label(self) -> String {
        match self {
            LockAfter::Never => "never".into(),
            LockAfter::Idle(d) => {
                let s = d.as_secs();
                if s % 3600 == 0 {
                    format!("{} h", s / 3600)
                } else if s % 60 == 0 {
                    format!("{} min", s / 60)
                } else {
                    format!("{s} s")
                }
            }
        }
    }
}

/// Longest passphrase the field takes, in bytes. The buffer is allocated at this size once, so
/// it never moves (a moved buffer would leave a copy of the passphrase behind, unzeroized).
const MAX_PASSPHRASE: usize = 1024;

/// Why the screen locked, for the lock screen's one line about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCause {
    Idle(SignedDuration),
    Key,
}

/// The lock screen's state. Nothing in it comes from a record.
#[derive(Debug)]
pub struct LockScreen {
    passphrase: Zeroizing<String>,
    /// Whether the store has a passphrase; a plain store (the demo) unlocks with Enter.
    pub encrypted: bool,
    pub at: Timestamp,
    pub cause: LockCause,
    /// Why the last Enter did not unlock ("Wrong passphrase ...").
    pub message: Option<String>,
    /// What could not be saved before locking, and why.
    pub not_saved: Option<String>,
    /// Wrong passphrases in a row, and when the next try is taken after too many of them.
    failures: u32,
    retry_at: Option<Timestamp>,
}

/// Wrong passphrases tried at once before each further try waits.
pub const FREE_TRIES: u32 = 3;

/// How long the lock screen waits before taking another try after `failures` wrong ones in a
/// row: nothing for the first [`FREE_TRIES`], then 5 s, doubling to at most 5 minutes. Each
/// guess already costs an Argon2id derivation; this makes guessing at the keyboard of an
/// unattended, locked kitnotes slow too.
pub fn retry_delay(failures: u32) -> SignedDuration {
    let Some(over) = failures.checked_sub(FREE_TRIES) else {
        return SignedDuration::ZERO;
    };
    let secs = 5i64.saturating_mul(1i64 << over.min(16));
    SignedDuration::from_secs(secs.min(300))
}

impl LockScreen {
    /// How many characters are typed: the field shows this many bullets, never the characters.
    pub fn typed(&self) -> usize {
        self.passphrase.chars().count()
    }

    fn push(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            if self.passphrase.len() + c.len_utf8() > MAX_PASSPHRASE {
                self.message = Some(format!(
                    "A passphrase is at most {MAX_PASSPHRASE} bytes; <Esc> clears the field"
                ));
                return;
            }
            self.passphrase.push(c);
        }
        self.message = None;
    }

    fn clear(&mut self) {
        // Zeroes the whole buffer, capacity included, and keeps it for the next try.
        self.passphrase.zeroize();
    }
}

impl App {
    /// Whether the screen is locked.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// The moment of the last key or mouse event (or of start-up, or of the last unlock).
    pub fn last_input(&self) -> Timestamp {
        self.last_input
    }

    /// Whether the idle time is up at `now`.
    pub(super) fn idle_lock_due(&self, now: Timestamp) -> bool {
        let during_session = self
            .console
            .as_ref()
            .is_some_and(|c| c.session.dose_time.is_some() && c.session.discharge.is_none());
        let after = if during_session {
            self.settings.lock_during_session
        } else {
            self.settings.lock_after
        };
        match after {
            LockAfter::Never => false,
            LockAfter::Idle(d) => self.lock.is_none() && now.duration_since(self.last_input) >= d,
        }
    }

    /// A key, paste or mouse event: locks first if the idle time ran out before any tick saw
    /// it (the machine slept), in which case the event is not acted on. False: the event is
    /// eaten.
    pub(super) fn user_activity(&mut self) -> bool {
        let now = self.now();
        if self.idle_lock_due(now) {
            self.lock_now(LockCause::Idle(now.duration_since(self.last_input)));
            return false;
        }
        self.last_input = now;
        true
    }

    /// Saves what can be saved, flushes, forgets the store's keys and shows the lock screen.
    pub fn lock_now(&mut self, cause: LockCause) {
        if self.lock.is_some() {
            return;
        }
        let mut not_saved = Vec::new();
        if !self.save_editor() {
            let why = self
                .editor
                .as_ref()
                .and_then(|e| e.save_error.clone())
                .unwrap_or_default();
            not_saved.push(format!("the note you were writing ({why})"));
        }
        // The console's line, forms open or kept: into the store as they are, under the lock.
        if self.settings.keep_unsaved && !self.keep_unsaved(super::unsaved::Keep::Everything, true)
        {
            let why = self.unsaved.error.clone().unwrap_or_default();
            not_saved.push(format!("the line or form you were typing ({why})"));
        }
        if let Err(e) = self.flush_store() {
            not_saved.push(format!("the last changes were not flushed to disk ({e:#})"));
        }
        // No command asked from another terminal starts until the passphrase is typed again.
        self.background.set_locked(true);
        self.store.lock();
        self.privacy = false;
        self.pending = Default::default();
        self.quit_armed = false;
        self.status = None;
        self.lock = Some(LockScreen {
            passphrase: Zeroizing::new(String::with_capacity(MAX_PASSPHRASE)),
            encrypted: self.store.is_encrypted(),
            at: self.now(),
            cause,
            message: None,
            not_saved: (!not_saved.is_empty()).then(|| not_saved.join("; ")),
            failures: 0,
            retry_at: None,
        });
    }

    /// A key while locked: it goes to the passphrase field, Enter unlocks, `<C-c>` quits.
    pub(super) fn lock_key(&mut self, key: KeyEvent) {
        let Some(l) = self.lock.as_mut() else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => self.quit_while_locked(),
            KeyCode::Enter => self.try_unlock(),
            KeyCode::Esc => {
                l.clear();
                l.message = None;
            }
            KeyCode::Backspace => {
                l.passphrase.pop();
            }
            // AltGr arrives as Ctrl+Alt on some systems: those are typed characters.
            KeyCode::Char(c)
                if l.encrypted && (!ctrl || key.modifiers.contains(KeyModifiers::ALT)) =>
            {
                l.push(c.encode_utf8(&mut [0; 4]));
            }
            // No passphrase to type: in a session, what is typed blind (vitals, a word) is
            // held and comes back in an observation line once unlocked, never dropped.
            KeyCode::Char(c) if !ctrl && self.console.is_some() => self.hidden.held.push(c),
            _ => {}
        }
    }

    /// Pasted text while locked goes into the passphrase field (a password manager).
    pub(super) fn lock_paste(&mut self, text: &str) {
        if let Some(l) = self.lock.as_mut()
            && l.encrypted
        {
            l.push(text.trim_end_matches(['\r', '\n']));
        }
    }

    fn try_unlock(&mut self) {
        let now = self.now();
        let Some(l) = self.lock.as_mut() else {
            return;
        };
        if l.encrypted && l.passphrase.is_empty() {
            l.message = Some("Type the passphrase, then <Enter>".into());
            return;
        }
        if let Some(at) = l.retry_at
            && now < at
        {
            // Not tried: what is typed stays, for <Enter> once the wait is over.
            let secs = (at.as_second() - now.as_second()).max(1);
            l.message = Some(format!(
                "{} wrong passphrases: the next try is taken in {secs} s",
                l.failures
            ));
            return;
        }
        let result = self.store.unlock(l.passphrase.as_bytes());
        l.clear();
        match result {
            Ok(()) => self.unlocked(),
            Err(StoreError::WrongPassphrase) => {
                l.failures += 1;
                let wait = retry_delay(l.failures);
                l.retry_at = if wait.is_zero() {
                    None
                } else {
                    now.checked_add(wait).ok()
                };
                l.message = Some(if wait.is_zero() {
                    "Wrong passphrase. Type it again.".into()
                } else {
                    format!(
                        "Wrong passphrase ({} in a row). The next try is taken in {} s.",
                        l.failures,
                        wait.as_secs()
                    )
                });
            }
            Err(e) => l.message = Some(format!("Not unlocked: {e}")),
        }
    }

    /// Back to where the user was, with what the screen shows read again from the store.
    fn unlocked(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        self.background.set_locked(false);
        self.last_input = self.now();
        let mut said = Vec::new();
        let mut error = false;
        if let Err(e) = self.reread_after_unlock() {
            said.push(format!("Could not read the store again: {e:#}"));
            error = true;
        }
        if let Some(why) = self.editor.as_ref().and_then(|e| e.save_error.clone()) {
            said.push(format!(
                "The draft is still NOT saved, kept here, retrying: {why}"
            ));
            error = true;
        } else if lock.not_saved.is_some() && !error {
            said.push("Saving again".into());
        }
        let text = std::iter::once("Unlocked".to_string())
            .chain(said)
            .collect::<Vec<_>>()
            .join(". ");
        self.status = Some(Status { text, error });
        if !error {
            self.give_back_held_keys("the screen was locked");
        }
    }

    /// The patient list, the open patient, Today and the console's session, read again.
    fn reread_after_unlock(&mut self) -> anyhow::Result<()> {
        self.read_patients(None)?;
        if let Some(id) = self.patient.as_ref().map(|v| v.records.patient.id.clone()) {
            match self.store.patient_records(&id)? {
                Some(records) => {
                    let course = crate::model::course::CourseNow::of(
                        &records,
                        self.settings.reinduction_gap,
                        &self.settings.time_zone,
                    );
                    if let Some(v) = self.patient.as_mut() {
                        v.entries = crate::model::timeline::timeline(&records);
                        v.course = course;
                        v.records = records;
                    }
                }
                None => self.patient = None,
            }
        }
        self.keep_cursors_visible();
        if let Some(super::views::View::Today(_)) = &self.view {
            let now = self.now();
            let today = super::views::read_today(
                self.store.as_ref(),
                &self.settings.cadence,
                self.settings.reinduction_gap,
                now,
                &self.settings.time_zone,
            )?;
            let h = self.today_list_height();
            if let Some(super::views::View::Today(t)) = self.view.as_mut() {
                t.cursor.keep_visible(today.len(), h);
                t.today = today;
                t.read_at = now;
            }
        }
        if let Some(id) = self.console.as_ref().map(|c| c.session.id.clone())
            && let Some(crate::model::Record::Session(s)) = self.store.record(id.as_str())?
            && let Some(c) = self.console.as_mut()
        {
            c.session = s;
        }
        Ok(())
    }

    /// `<C-c>` on the lock screen. Drafts were saved when it locked, so it quits, unless
    /// something typed could not be saved then (it needs an unlock to be saved), or a form that
    /// lives only in memory is open or kept (the first press says so, the second quits).
    fn quit_while_locked(&mut self) {
        let Some(l) = self.lock.as_mut() else {
            return;
        };
        if l.not_saved.is_some() || self.editor.as_ref().is_some_and(|e| e.is_dirty()) {
            l.message = Some(
                "Not quitting: what you typed is not saved yet. Unlock, and kitnotes saves it"
                    .into(),
            );
            return;
        }
        l.clear();
        self.quit = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_after_the_first_few_wait_longer_each_time_up_to_five_minutes() {
        let secs: Vec<i64> = (0..12).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(retry_delay(u32::MAX).as_secs(), 300);
    }

    #[test]
    fn lock_after_reads_times_and_off() {
        let ok = |s: &str| LockAfter::parse(s).unwrap();
        assert_eq!(ok("5m"), LockAfter::Idle(SignedDuration::from_mins(5)));
        assert_eq!(ok("90s"), LockAfter::Idle(SignedDuration::from_secs(90)));
        assert_eq!(ok(" 15m "), LockAfter::Idle(SignedDuration::from_mins(15)));
        assert_eq!(ok("1h"), LockAfter::Idle(SignedDuration::from_hours(1)));
        assert_eq!(ok("10s"), LockAfter::Idle(SignedDuration::from_secs(10)));
        assert_eq!(ok("off"), LockAfter::Never);
        assert_eq!(ok("Never"), LockAfter::Never);
        assert_eq!(LockAfter::default(), ok("5m"));
        assert_eq!(ok("90s").label(), "90 s");
        assert_eq!(ok("15m").label(), "15 min");
    }

    #[test]
    fn bad_lock_times_say_why() {
        let err = |s: &str| LockAfter::parse(s).unwrap_err();
        assert!(err("5").contains("no unit: write \"5m\""), "{}", err("5"));
        assert!(
            err("5 min").contains("unknown unit \"min\""),
            "{}",
            err("5 min")
        );
        assert!(err("1w").contains("s (seconds), m (minutes) or h"));
        assert!(err("0m").contains("lock at once"));
        assert!(err("5s").contains("at least \"10s\""));
        assert!(err("25h").contains("at most \"24h\""));
        assert!(err("99999999999999999999m").contains("too long"));
        assert!(err("").contains("empty"));
        assert!(err("m5").contains("does not start with a number"));
    }
}
