//! The automatic lock (issue 8): after `lock_after` without a key (5 minutes by default), or at
//! once with the lock key, the screen shows nothing from any record, drafts are saved first, the
//! store's keys are dropped, and only the passphrase brings the same screen back.
//!
//! The store here is a wrapper around the demo store with a fixed passphrase, standing in for the
//! encrypted store: while it is locked every read and write fails and is counted, so the tests
//! prove that nothing touches the store while the screen is locked.

use crate::common::*;
use jiff::{SignedDuration, Timestamp};
use kitnotes::app::lock::LockAfter;
use kitnotes::app::{App, AppSettings, Pane, Popup};
use kitnotes::clock::{FixedClock, IdSource};
use kitnotes::keymap::{Keymap, Preset as KeymapPreset};
use kitnotes::model::*;
use kitnotes::store::sled_store::SledStore;
use kitnotes::store::{Store, StoreError};
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

const PASSPHRASE: &str = "correct horse battery staple";

/// What the app asked of the store, in order, and whether it is locked.
#[derive(Default)]
struct Probe {
    locked: AtomicBool,
    /// Writes fail as on a full disk while set.
    failing: AtomicBool,
    calls: Mutex<Vec<&'static str>>,
    /// Calls made while locked (each one failed with `Sealed`).
    while_locked: Mutex<Vec<&'static str>>,
}

impl Probe {
    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self, what: &str) -> usize {
        self.calls().iter().filter(|c| **c == what).count()
    }

    fn while_locked(&self) -> Vec<&'static str> {
        self.while_locked.lock().unwrap().clone()
    }
}

/// The demo store with a passphrase: `lock` seals it, `unlock` takes only [`PASSPHRASE`] (or
/// anything, when `encrypted` is false, as a plain store does).
struct ProbeStore {
    inner: Arc<SledStore>,
    encrypted: bool,
    probe: Arc<Probe>,
}

impl ProbeStore {
    fn call(&self, what: &'static str) -> kitnotes::store::Result<()> {
        if self.probe.locked.load(Ordering::SeqCst) {
            self.probe.while_locked.lock().unwrap().push(what);
            return Err(StoreError::Sealed);
        }
        self.probe.calls.lock().unwrap().push(what);
        Ok(())
    }
}

impl Store for ProbeStore {
    fn apply_with_audit(
        &self,
        changes: &[kitnotes::store::Change],
        audit: kitnotes::store::Audit<'_>,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        self.call("write")?;
        if self.probe.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io(std::io::Error::other(
                "No space left on device",
            )));
        }
        self.inner.apply_with_audit(changes, audit)
    }
    fn patient(&self, id: &PatientId) -> kitnotes::store::Result<Option<Patient>> {
        self.call("read")?;
        self.inner.patient(id)
    }
    fn patients(&self) -> kitnotes::store::Result<Vec<Patient>> {
        self.call("read")?;
        self.inner.patients()
    }
    fn patient_records(&self, id: &PatientId) -> kitnotes::store::Result<Option<PatientRecords>> {
        self.call("read")?;
        self.inner.patient_records(id)
    }
    fn record(&self, id: &str) -> kitnotes::store::Result<Option<Record>> {
        self.call("read")?;
        self.inner.record(id)
    }
    fn id_kind(&self, id: &str) -> kitnotes::store::Result<Option<RecordKind>> {
        self.call("read")?;
        self.inner.id_kind(id)
    }
    fn put_unsaved(&self, body: Option<&[u8]>) -> kitnotes::store::Result<()> {
        self.call("write")?;
        self.inner.put_unsaved(body)
    }
    fn unsaved(&self) -> kitnotes::store::Result<Option<Vec<u8>>> {
        self.call("read")?;
        self.inner.unsaved()
    }
    fn seal_rescue(&self, body: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.call("read")?;
        self.inner.seal_rescue(body)
    }
    fn open_rescue(&self, sealed: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.call("read")?;
        self.inner.open_rescue(sealed)
    }
    fn flush(&self) -> kitnotes::store::Result<()> {
        self.call("flush")?;
        self.inner.flush()
    }
    fn counts(&self) -> kitnotes::store::Result<kitnotes::store::Counts> {
        self.call("read")?;
        self.inner.counts()
    }
    fn check(&self) -> kitnotes::store::Result<kitnotes::store::CheckReport> {
        self.call("read")?;
        self.inner.check()
    }
    fn audit_log(
        &self,
        filter: &kitnotes::store::AuditFilter,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        self.call("read")?;
        self.inner.audit_log(filter)
    }
    fn verify_audit(&self) -> kitnotes::store::Result<kitnotes::store::AuditVerdict> {
        self.call("read")?;
        self.inner.verify_audit()
    }
    fn search(
        &self,
        query: &kitnotes::search::Query,
        limit: usize,
    ) -> kitnotes::store::Result<kitnotes::search::Results> {
        self.call("read")?;
        self.inner.search(query, limit)
    }
    fn reindex(&self) -> kitnotes::store::Result<u64> {
        self.call("write")?;
        self.inner.reindex()
    }
    fn suspend_index(&self) -> kitnotes::store::Result<()> {
        self.call("write")?;
        self.inner.suspend_index()
    }
    fn is_encrypted(&self) -> bool {
        self.encrypted
    }
    fn lock(&self) {
        self.probe.calls.lock().unwrap().push("lock");
        self.probe.locked.store(true, Ordering::SeqCst);
    }
    fn unlock(&self, passphrase: &[u8]) -> kitnotes::store::Result<()> {
        self.probe.calls.lock().unwrap().push("unlock");
        if self.encrypted && passphrase != PASSPHRASE.as_bytes() {
            return Err(StoreError::WrongPassphrase);
        }
        self.probe.locked.store(false, Ordering::SeqCst);
        Ok(())
    }
}

struct Locking {
    app: App,
    clock: Arc<FixedClock>,
    probe: Arc<Probe>,
    /// The same store, read behind the app's back (never sealed): what is really saved.
    inner: Arc<SledStore>,
    _dir: TempDir,
}

fn locking(size: (u16, u16), encrypted: bool, lock_after: LockAfter) -> Locking {
    let dir = TempDir::new().unwrap();
    let inner = Arc::new(demo_store(&dir));
    let probe = Arc::new(Probe::default());
    let store = ProbeStore {
        inner: inner.clone(),
        encrypted,
        probe: probe.clone(),
    };
    let clock = Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
    let settings = AppSettings {
        store_label: "demo".into(),
        clinician: Some("Dr. Rowan Vale".into()),
        resume_file: Some(dir.path().join("editing.json")),
        lock_after,
        lock_during_session: lock_after,
        ..AppSettings::default()
    };
    let mut app = App::new(
        Box::new(store),
        Box::new(clock.clone()),
        IdSource::new(7),
        Keymap::builtin(KeymapPreset::Default),
        settings,
    )
    .unwrap();
    app.resize(size.0, size.1);
    Locking {
        app,
        clock,
        probe,
        inner,
        _dir: dir,
    }
}

fn encrypted(size: (u16, u16)) -> Locking {
    locking(size, true, LockAfter::default())
}

fn wait(l: &mut Locking, d: SignedDuration) {
    l.clock.advance(d);
    l.app.tick();
}

const TYPED: &str = "Tearful when speaking of the move; grounding with breath helped";

/// Opens the second patient, starts a note and types into it: a screen full of patient text.
fn write_a_note(l: &mut Locking) -> RecordId {
    press(&mut l.app, "<Down><Enter>w<Enter>");
    type_text(&mut l.app, TYPED);
    open_note_id(&l.app)
}

/// Pieces of every record in the store that must never be on a locked screen: each patient's
/// name and the parts of it, every note's title and the start of each line of its text, every
/// observation, goal and check-in note.
fn record_texts(store: &SledStore) -> (Vec<String>, Vec<String>) {
    let mut words = Vec::new();
    let mut texts = Vec::new();
    let mut add_text = |t: &str| {
        for line in t.lines().map(str::trim) {
            let start: String = line.chars().take(24).collect();
            if start.chars().count() >= 8 {
                texts.push(start);
            }
        }
    };
    for p in store.patients().unwrap() {
        add_text(&p.name);
        words.extend(
            p.name
                .split_whitespace()
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_owned),
        );
        let r = store.patient_records(&p.id).unwrap().unwrap();
        for n in &r.notes {
            add_text(&n.title);
            for s in &n.sections {
                add_text(&s.body);
            }
        }
        for s in &r.sessions {
            for o in &s.observations {
                add_text(&o.text);
            }
        }
        for g in &r.goals {
            add_text(&g.title);
            for c in &g.check_ins {
                add_text(&c.note);
            }
        }
    }
    (words, texts)
}

/// Which of the store's names and texts are on `screen`.
fn leaks(screen: &str, store: &SledStore) -> Vec<String> {
    let (words, texts) = record_texts(store);
    let on_screen: std::collections::HashSet<&str> = screen
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .collect();
    let mut found: Vec<String> = words
        .into_iter()
        .filter(|w| on_screen.contains(w.as_str()))
        .collect();
    found.extend(texts.into_iter().filter(|t| screen.contains(t.as_str())));
    found.sort();
    found.dedup();
    found
}

/// The only words a lock screen may show: its own.
fn assert_only_lock_screen_words(screen: &str) {
    let allowed = [
        "kitnotes",
        "is",
        "locked",
        "Locked",
        "at",
        "after",
        "min",
        "without",
        "a",
        "key",
        "store",
        "demo",
        "Passphrase",
        "Enter",
        "unlocks",
        "Esc",
        "clears",
        "C-c",
        "quits",
        "Press",
        "to",
        "unlock",
        "this",
        "has",
        "no",
        "passphrase",
        "Wrong",
        "Type",
        "it",
        "again",
        "s",
        "h",
    ];
    for word in screen.split(|c: char| !c.is_alphanumeric() && c != '-') {
        if word.is_empty() || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        assert!(
            allowed.contains(&word),
            "{word:?} is on the lock screen:\n{screen}"
        );
    }
}

#[test]
fn idle_for_five_minutes_saves_the_draft_then_locks_and_hides_every_record() {
    for size in [(120, 40), (80, 24)] {
        let mut l = encrypted(size);
        let id = write_a_note(&mut l);
        // The check below finds patient text when there is some: the name in the header and
        // the text being typed.
        let before = screen(&l.app);
        let found = leaks(&before, &l.inner);
        let name = l.app.patient.as_ref().unwrap().records.patient.name.clone();
        assert!(
            found.iter().any(|f| name.contains(f.as_str())),
            "{found:?}\n{before}"
        );
        assert!(before.contains("Tearful when speaking"), "{before}");

        wait(&mut l, SignedDuration::from_secs(4 * 60 + 59));
        assert!(!l.app.is_locked(), "locked before 5 minutes");
        wait(&mut l, SignedDuration::from_secs(1));
        assert!(
            l.app.is_locked(),
            "not locked after 5 minutes without a key"
        );

        let s = screen(&l.app);
        assert_eq!(leaks(&s, &l.inner), Vec::<String>::new(), "{s}");
        assert!(!s.contains("Tearful"), "{s}");
        assert_only_lock_screen_words(&s);
        assert!(s.contains("kitnotes is locked"), "{s}");
        insta::assert_snapshot!(format!("lock_screen_{}x{}", size.0, size.1), s);

        // What was typed reached the store, and was flushed, before the keys were dropped.
        let saved = match l.inner.record(id.as_str()).unwrap() {
            Some(Record::Note(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(saved.sections[0].body, TYPED);
        let calls = l.probe.calls();
        let at_lock = calls.iter().position(|c| *c == "lock").unwrap();
        let last_write = calls[..at_lock].iter().rposition(|c| *c == "write");
        let last_flush = calls[..at_lock].iter().rposition(|c| *c == "flush");
        assert!(last_write < last_flush, "{calls:?}");
        assert_eq!(l.probe.count("lock"), 1);

        // While locked nothing reads or writes the store: ticks, time, focus, resize, mouse.
        for _ in 0..8 {
            wait(&mut l, SignedDuration::from_secs(30));
        }
        l.app.focus_lost();
        l.app.resize(size.0 - 1, size.1);
        l.app.resize(size.0, size.1);
        l.app.mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row: 5,
            modifiers: ratatui::crossterm::event::KeyModifiers::NONE,
        });
        let _ = screen(&l.app);
        assert_eq!(l.probe.while_locked(), Vec::<&str>::new());
        assert_eq!(&l.probe.calls()[at_lock..], ["lock"]);
        assert!(l.app.is_locked());
    }
}

#[test]
fn a_wrong_passphrase_says_so_and_the_right_one_returns_to_the_same_place() {
    let mut l = encrypted((120, 40));
    write_a_note(&mut l);
    press(&mut l.app, "<Left><Left>");
    let before = screen(&l.app);
    let focus = l.app.focus;
    let selected = l.app.patient.as_ref().unwrap().cursor;
    let e = l.app.editor.as_ref().unwrap();
    let (text, position) = (e.sections[0].text(), e.position());

    wait(&mut l, SignedDuration::from_mins(5));
    assert!(l.app.is_locked());

    // The passphrase shows as bullets, never as its characters.
    type_text(&mut l.app, "hunter22");
    let s = screen(&l.app);
    assert!(s.contains("Passphrase: ••••••••"), "{s}");
    assert!(!s.contains("hunter"), "{s}");
    press(&mut l.app, "<Enter>");
    let s = screen(&l.app);
    assert!(l.app.is_locked());
    assert!(s.contains("Wrong passphrase. Type it again."), "{s}");
    assert!(
        s.contains("Passphrase: \n") || s.lines().any(|r| r.trim_end().ends_with("Passphrase:")),
        "the field is cleared for the next try:\n{s}"
    );
    assert_only_lock_screen_words(&s);
    insta::assert_snapshot!("lock_screen_wrong_passphrase", s);
    assert_eq!(l.probe.while_locked(), Vec::<&str>::new());

    // Backspace corrects, Esc clears.
    type_text(&mut l.app, "xx");
    press(&mut l.app, "<Backspace>");
    assert!(screen(&l.app).contains("Passphrase: •\n"));
    press(&mut l.app, "<Esc>");
    type_text(&mut l.app, PASSPHRASE);
    press(&mut l.app, "<Enter>");
    assert!(!l.app.is_locked(), "{}", screen(&l.app));
    assert_eq!(l.probe.count("unlock"), 2);

    // Exactly where it was: the same pane, entry, editor text and cursor.
    assert_eq!(l.app.focus, focus);
    assert_eq!(l.app.patient.as_ref().unwrap().cursor, selected);
    let e = l.app.editor.as_ref().expect("the editor is open again");
    assert_eq!(e.sections[0].text(), text);
    assert_eq!(e.position(), position);
    assert!(status(&l.app).starts_with("Unlocked"), "{}", status(&l.app));
    // The same screen comes back, all but the status bar (it says "Unlocked").
    let after = screen(&l.app);
    assert_eq!(
        after.lines().take(39).collect::<Vec<_>>(),
        before.lines().take(39).collect::<Vec<_>>(),
        "{after}"
    );

    // And the store is read again and takes writing again.
    type_text(&mut l.app, " Calmer by the end.");
    wait(&mut l, SignedDuration::from_secs(1));
    let id = open_note_id(&l.app);
    // Typed where the cursor was left, two characters from the end.
    assert_eq!(
        stored_note(&l.app, &id).sections[0].body,
        "Tearful when speaking of the move; grounding with breath help Calmer by the end.ed"
    );
}

#[test]
fn a_key_at_four_minutes_fifty_nine_starts_the_five_minutes_again() {
    let mut l = encrypted((120, 40));
    write_a_note(&mut l);
    wait(&mut l, SignedDuration::from_secs(4 * 60 + 59));
    type_text(&mut l.app, "!");
    wait(&mut l, SignedDuration::from_secs(4 * 60 + 59));
    assert!(!l.app.is_locked(), "the key at 4:59 did not count");
    // A click and a paste count as using kitnotes too.
    l.app.paste(" pasted");
    wait(&mut l, SignedDuration::from_secs(4 * 60 + 59));
    assert!(!l.app.is_locked(), "the paste did not count");
    wait(&mut l, SignedDuration::from_secs(1));
    assert!(l.app.is_locked());
    let id = open_note_id(&l.app);
    assert_eq!(
        match l.inner.record(id.as_str()).unwrap() {
            Some(Record::Note(n)) => n.sections[0].body.clone(),
            other => panic!("{other:?}"),
        },
        format!("{TYPED}! pasted")
    );
}

#[test]
fn a_key_after_the_idle_time_locks_before_any_tick_and_does_nothing_else() {
    // The machine slept: no tick ran, and the first key comes 6 minutes later.
    let mut l = encrypted((120, 40));
    press(&mut l.app, "<Down>");
    let selected = l.app.roster.cursor.selected;
    l.clock.advance(SignedDuration::from_mins(6));
    press(&mut l.app, "<Down>");
    assert!(l.app.is_locked());
    assert_eq!(
        l.app.roster.cursor.selected, selected,
        "the key was acted on"
    );
    assert!(screen(&l.app).contains("Locked at 15:36 after 6 min without a key"));
}

#[test]
fn lock_after_off_never_locks_and_a_shorter_time_is_kept() {
    let mut l = locking((120, 40), true, LockAfter::Never);
    write_a_note(&mut l);
    wait(&mut l, SignedDuration::from_hours(24));
    assert!(!l.app.is_locked());
    press(&mut l.app, "<Left>");
    assert!(!l.app.is_locked());

    let mut l = locking((120, 40), true, LockAfter::parse("90s").unwrap());
    wait(&mut l, SignedDuration::from_secs(89));
    assert!(!l.app.is_locked());
    wait(&mut l, SignedDuration::from_secs(1));
    assert!(l.app.is_locked());
    assert!(screen(&l.app).contains("after 90 s without a key"));
}

#[test]
fn the_lock_key_locks_at_once_from_a_pane_the_editor_a_popup_and_the_palette() {
    let mut l = locking((120, 40), false, LockAfter::default());
    // Where letters are typed, L is a letter.
    press(&mut l.app, "/");
    type_text(&mut l.app, "L");
    assert!(!l.app.is_locked());
    assert_eq!(l.app.roster.query, "L");
    press(&mut l.app, "<Esc>");
    // In a pane: L.
    press(&mut l.app, "<Down><Enter>");
    press(&mut l.app, "L");
    assert!(l.app.is_locked());
    let s = screen(&l.app);
    assert!(s.contains("Locked at 15:30"), "{s}");
    // A plain store has no passphrase: Enter unlocks.
    assert!(
        s.contains("Press <Enter> to unlock (this store has no passphrase)"),
        "{s}"
    );
    assert!(!s.contains("Passphrase:"), "{s}");
    assert_only_lock_screen_words(&s);
    insta::assert_snapshot!("lock_screen_plain_store", s);
    press(&mut l.app, "<Enter>");
    assert!(!l.app.is_locked());
    assert_eq!(l.app.focus, Pane::Timeline);

    // In the editor, L is a letter and <A-l> locks, saving the draft.
    press(&mut l.app, "w<Enter>");
    type_text(&mut l.app, "Lately sleeping better");
    assert!(!l.app.is_locked());
    let id = open_note_id(&l.app);
    press(&mut l.app, "<A-l>");
    assert!(l.app.is_locked());
    match l.inner.record(id.as_str()).unwrap() {
        Some(Record::Note(n)) => assert_eq!(n.sections[0].body, "Lately sleeping better"),
        other => panic!("{other:?}"),
    }
    press(&mut l.app, "<Enter>");
    press(&mut l.app, "<Esc>");
    assert!(l.app.editor.is_none());

    // In a popup (help lists the key), and from the palette by name.
    press(&mut l.app, "?");
    type_text(&mut l.app, "lock");
    let s = screen(&l.app);
    assert!(s.contains("Lock now"), "{s}");
    assert!(s.contains("<A-l>") && s.contains("L "), "{s}");
    press(&mut l.app, "<A-l>");
    assert!(l.app.is_locked());
    press(&mut l.app, "<Enter>");
    assert!(matches!(l.app.popup, Some(Popup::Help(_))), "help is back");
    press(&mut l.app, "<Esc>:");
    type_text(&mut l.app, "lock now");
    press(&mut l.app, "<Enter>");
    assert!(l.app.is_locked());
    assert_eq!(l.probe.count("lock"), 4);
}

#[test]
fn the_privacy_blank_gives_way_to_the_lock() {
    let mut l = encrypted((120, 40));
    write_a_note(&mut l);
    press(&mut l.app, "<F12>");
    assert!(l.app.privacy);
    press(&mut l.app, "<A-l>");
    assert!(l.app.is_locked());
    assert!(screen(&l.app).contains("kitnotes is locked"));
    type_text(&mut l.app, PASSPHRASE);
    press(&mut l.app, "<Enter>");
    assert!(!l.app.privacy && !l.app.is_locked());
    assert!(screen(&l.app).contains("Tearful when speaking"));
}

#[test]
fn a_line_typed_in_the_session_console_is_kept_as_typed_under_the_lock() {
    let mut l = encrypted((120, 40));
    press(&mut l.app, "/");
    type_text(&mut l.app, "Xiomara");
    press(&mut l.app, "<Enter><Enter>s");
    type_text(&mut l.app, "esketamine");
    // The REMS form's first question opens as the session starts; Esc leaves it for later.
    press(&mut l.app, "<Enter><Esc>o");
    type_text(&mut l.app, "Eyes closed, hands relaxed");
    let session = l.app.console.as_ref().unwrap().session.id.clone();
    assert!(screen(&l.app).contains("Eyes closed, hands relaxed"));

    wait(&mut l, SignedDuration::from_mins(5));
    assert!(l.app.is_locked());
    let s = screen(&l.app);
    assert_eq!(leaks(&s, &l.inner), Vec::<String>::new(), "{s}");
    assert!(!s.contains("Eyes closed"), "{s}");
    // Not dosed yet: the session's state, no more.
    assert!(s.contains("Session open since"), "{s}");
    // The line is in the store (sealed, not a record): nothing was entered for it.
    let stored = match l.inner.record(session.as_str()).unwrap() {
        Some(Record::Session(s)) => s,
        other => panic!("{other:?}"),
    };
    assert!(stored.observations.is_empty());
    assert!(l.inner.unsaved().unwrap().is_some());

    type_text(&mut l.app, PASSPHRASE);
    press(&mut l.app, "<Enter>");
    assert!(l.app.console.is_some(), "back in the console");
    let c = l.app.console.as_ref().unwrap();
    assert_eq!(
        c.input.as_ref().unwrap().field.text(),
        "Eyes closed, hands relaxed"
    );
}

#[test]
fn a_failed_save_still_hides_the_screen_says_so_and_keeps_kitnotes_open() {
    let mut l = encrypted((120, 40));
    write_a_note(&mut l);
    l.probe.failing.store(true, Ordering::SeqCst);
    type_text(&mut l.app, " More");
    wait(&mut l, SignedDuration::from_mins(5));
    assert!(
        l.app.is_locked(),
        "a failed save must not keep the screen open"
    );
    let s = screen(&l.app);
    assert!(
        s.contains("Could not save before locking: the note you were writing"),
        "{s}"
    );
    assert!(s.contains("No space left on device"), "{s}");
    assert!(!s.contains("More") && !s.contains("Tearful"), "{s}");
    assert_eq!(leaks(&s, &l.inner), Vec::<String>::new(), "{s}");

    // Quitting now would lose the text: refused, with the reason.
    press(&mut l.app, "<C-c>");
    assert!(!l.app.quit);
    assert!(
        screen(&l.app).contains("Not quitting: what you typed is not saved yet"),
        "{}",
        screen(&l.app)
    );

    // The disk recovers: after the unlock the next tick saves it.
    l.probe.failing.store(false, Ordering::SeqCst);
    type_text(&mut l.app, PASSPHRASE);
    press(&mut l.app, "<Enter>");
    assert!(!l.app.is_locked());
    wait(&mut l, SignedDuration::from_millis(250));
    let id = open_note_id(&l.app);
    assert_eq!(
        stored_note(&l.app, &id).sections[0].body,
        format!("{TYPED} More")
    );
}

#[test]
fn ctrl_c_on_the_lock_screen_quits_with_drafts_and_forms_kept() {
    let mut l = encrypted((120, 40));
    write_a_note(&mut l);
    press(&mut l.app, "<A-l>");
    press(&mut l.app, "<C-c>");
    assert!(l.app.quit, "drafts were saved: Ctrl-c quits");

    // A patient form half filled was kept in the store (sealed) when it locked: Ctrl-c quits.
    let mut l = encrypted((120, 40));
    press(&mut l.app, "n");
    type_text(&mut l.app, "Iris Vale");
    wait(&mut l, SignedDuration::from_mins(5));
    let s = screen(&l.app);
    assert!(!s.contains("Iris"), "{s}");
    press(&mut l.app, "<C-c>");
    assert!(l.app.quit);
    assert_eq!(l.probe.while_locked(), Vec::<&str>::new());
}

#[test]
fn an_open_form_comes_back_after_unlocking_as_it_was() {
    let mut l = encrypted((80, 24));
    press(&mut l.app, "n");
    type_text(&mut l.app, "Iris Vale");
    press(&mut l.app, "<A-l>");
    let s = screen(&l.app);
    assert!(!s.contains("Iris") && !s.contains("New patient"), "{s}");
    l.app.paste(PASSPHRASE);
    press(&mut l.app, "<Enter>");
    assert!(!l.app.is_locked());
    assert!(matches!(l.app.popup, Some(Popup::Patient(_))));
    assert!(screen(&l.app).contains("Iris Vale"));
}

/// The same lock on the real thing: an encrypted store. While locked its keys are gone (a read
/// behind the app's back fails with `Sealed`), a wrong passphrase leaves it sealed, and the right
/// one brings back the draft typed before the lock.
#[test]
fn on_an_encrypted_store_the_lock_drops_the_keys_and_the_passphrase_brings_them_back() {
    let dir = TempDir::new().unwrap();
    let passphrase = "invented lock passphrase";
    let store = Arc::new(
        SledStore::create_encrypted(
            dir.path(),
            passphrase.as_bytes(),
            kitnotes::store::crypt::KdfParams::DEFAULT,
        )
        .unwrap(),
    );
    let spec = kitnotes::demo::DemoSpec {
        patients: 3,
        notes_per_patient: 6,
        seed: 42,
        ..kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 21))
    };
    let actor = kitnotes::store::Actor::new("Demo Builder", NOW.parse::<Timestamp>().unwrap());
    kitnotes::demo::build(store.as_ref(), &spec, &actor, &mut |_| {}).unwrap();
    let clock = Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
    let mut app = App::new(
        Box::new(Shared(store.clone())),
        Box::new(clock.clone()),
        IdSource::new(7),
        Keymap::builtin(KeymapPreset::Default),
        AppSettings::default(),
    )
    .unwrap();
    app.resize(120, 40);
    press(&mut app, "<Down><Enter>w<Enter>");
    type_text(&mut app, TYPED);
    let id = open_note_id(&app);
    clock.advance(SignedDuration::from_mins(5));
    app.tick();
    assert!(app.is_locked());
    assert!(matches!(store.patients(), Err(StoreError::Sealed)));
    let s = screen(&app);
    for p in ["Tearful", "grounding"] {
        assert!(!s.contains(p), "{s}");
    }
    type_text(&mut app, "not the passphrase");
    press(&mut app, "<Enter>");
    assert!(app.is_locked());
    assert!(matches!(store.patients(), Err(StoreError::Sealed)));
    type_text(&mut app, passphrase);
    press(&mut app, "<Enter>");
    assert!(!app.is_locked(), "{}", screen(&app));
    assert_eq!(stored_note(&app, &id).sections[0].body, TYPED);
}

/// The app owns its store; the test keeps a handle on the same one.
struct Shared(Arc<SledStore>);

impl Store for Shared {
    fn apply_with_audit(
        &self,
        changes: &[kitnotes::store::Change],
        audit: kitnotes::store::Audit<'_>,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        self.0.apply_with_audit(changes, audit)
    }
    fn patient(&self, id: &PatientId) -> kitnotes::store::Result<Option<Patient>> {
        self.0.patient(id)
    }
    fn patients(&self) -> kitnotes::store::Result<Vec<Patient>> {
        self.0.patients()
    }
    fn patient_records(&self, id: &PatientId) -> kitnotes::store::Result<Option<PatientRecords>> {
        self.0.patient_records(id)
    }
    fn record(&self, id: &str) -> kitnotes::store::Result<Option<Record>> {
        self.0.record(id)
    }
    fn id_kind(&self, id: &str) -> kitnotes::store::Result<Option<RecordKind>> {
        self.0.id_kind(id)
    }
    fn put_unsaved(&self, body: Option<&[u8]>) -> kitnotes::store::Result<()> {
        self.0.put_unsaved(body)
    }
    fn unsaved(&self) -> kitnotes::store::Result<Option<Vec<u8>>> {
        self.0.unsaved()
    }
    fn seal_rescue(&self, body: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.0.seal_rescue(body)
    }
    fn open_rescue(&self, sealed: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.0.open_rescue(sealed)
    }
    fn flush(&self) -> kitnotes::store::Result<()> {
        self.0.flush()
    }
    fn counts(&self) -> kitnotes::store::Result<kitnotes::store::Counts> {
        self.0.counts()
    }
    fn check(&self) -> kitnotes::store::Result<kitnotes::store::CheckReport> {
        self.0.check()
    }
    fn audit_log(
        &self,
        filter: &kitnotes::store::AuditFilter,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        self.0.audit_log(filter)
    }
    fn verify_audit(&self) -> kitnotes::store::Result<kitnotes::store::AuditVerdict> {
        self.0.verify_audit()
    }
    fn search(
        &self,
        query: &kitnotes::search::Query,
        limit: usize,
    ) -> kitnotes::store::Result<kitnotes::search::Results> {
        self.0.search(query, limit)
    }
    fn reindex(&self) -> kitnotes::store::Result<u64> {
        self.0.reindex()
    }
    fn is_encrypted(&self) -> bool {
        self.0.is_encrypted()
    }
    fn lock(&self) {
        self.0.lock()
    }
    fn unlock(&self, passphrase: &[u8]) -> kitnotes::store::Result<()> {
        self.0.unlock(passphrase)
    }
}

/// A therapist who types vitals onto the session's lock screen of a store with no passphrase
/// loses none of it: the keys come back in an observation line once unlocked, not entered.
#[test]
fn keys_typed_on_a_sessions_lock_screen_without_a_passphrase_come_back_in_a_line() {
    let mut w = writer((120, 40));
    crate::common::console::start(&mut w, "esketamine");
    press(&mut w.app, "L");
    assert!(w.app.lock.is_some(), "L locks the console");
    type_text(&mut w.app, "BP 150/90");
    press(&mut w.app, "<Enter>");
    assert!(
        w.app.lock.is_none(),
        "Enter unlocks a store with no passphrase"
    );
    let c = w.app.console.as_ref().expect("the console is back");
    let line = c.input.as_ref().expect("an observation line is open");
    assert_eq!(line.field.text(), "BP 150/90");
    assert!(
        status(&w.app).contains("while the screen was locked"),
        "{}",
        status(&w.app)
    );
}
