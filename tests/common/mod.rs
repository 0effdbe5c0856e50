//! What the test files share: ids and times from strings, the kitnotes binary run with its own
//! data and config folders, and the in-process UI harness (a demo store, an app on it with a
//! fixed clock, keys in keymap notation, and the screen as text).
#![allow(dead_code)]

pub mod console;

use jiff::Timestamp;
use jiff::civil::date;
use kitnotes::app::lock::LockAfter;
use kitnotes::app::{App, AppSettings};
use kitnotes::cli::screenshot::{render, to_text};
use kitnotes::clock::{FixedClock, IdSource};
use kitnotes::demo::{self, DemoSpec};
use kitnotes::keymap::{KeySeq, Keymap, Preset as KeymapPreset};
use kitnotes::model::*;
use kitnotes::store::sled_store::SledStore;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn pid(s: &str) -> PatientId {
    PatientId::parse(s).unwrap()
}

pub fn rid(s: &str) -> RecordId {
    RecordId::parse(s).unwrap()
}

/// The passphrase of every encrypted store the tests make (invented, like all test data).
pub const PASSPHRASE: &str = "invented test passphrase";

/// A file holding [`PASSPHRASE`], for `KITNOTES_PASSPHRASE_FILE` (one per test process).
pub fn passphrase_file() -> std::path::PathBuf {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("kitnotes-test-passphrase-{}", std::process::id()));
        std::fs::write(&path, format!("{PASSPHRASE}\n")).unwrap();
        path
    })
    .clone()
}

/// Opens a store made by the binary (encrypted with [`PASSPHRASE`]) and unlocks it.
#[allow(dead_code)]
pub fn open_unlocked(dir: &Path) -> SledStore {
    use kitnotes::store::Store;
    let store = SledStore::open(dir).unwrap();
    store.unlock(PASSPHRASE.as_bytes()).unwrap();
    store
}

/// The kitnotes binary run with its data in `data` and its config in `config`.
pub fn kitnotes_with(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", config)
        .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
        .output()
        .expect("kitnotes runs")
}

/// The kitnotes binary with its data and config kept inside `data`.
pub fn kitnotes(data: &Path, args: &[&str]) -> Output {
    kitnotes_with(data, &data.join("config"), args)
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub const NOW: &str = "2026-11-21T15:30:00Z";

pub struct Fixture {
    pub app: App,
    pub dir: TempDir,
}

pub fn demo_store(dir: &TempDir) -> SledStore {
    let store = SledStore::open(dir.path()).unwrap();
    let spec = DemoSpec {
        patients: 12,
        notes_per_patient: 24,
        seed: 42,
        ..DemoSpec::new(date(2026, 11, 21))
    };
    let actor = kitnotes::store::Actor::new("Demo Builder", NOW.parse::<Timestamp>().unwrap());
    demo::build(&store, &spec, &actor, &mut |_| {}).unwrap();
    store
}

pub fn app_on(store: SledStore, preset: KeymapPreset, size: (u16, u16)) -> App {
    let settings = AppSettings {
        store_label: "demo".into(),
        // These tests move the clock by minutes and days; tests/lock.rs tests the lock.
        lock_after: LockAfter::Never,
        lock_during_session: LockAfter::Never,
        ..AppSettings::default()
    };
    let mut app = App::new(
        Box::new(store),
        Box::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap())),
        IdSource::new(7),
        Keymap::builtin(preset),
        settings,
    )
    .unwrap();
    app.resize(size.0, size.1);
    app
}

pub fn demo_app(size: (u16, u16)) -> Fixture {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    Fixture {
        app: app_on(store, KeymapPreset::Default, size),
        dir,
    }
}

/// Presses keys written as in a keymap file, e.g. `"<Down><Down><Enter>"`.
pub fn press(app: &mut App, keys: &str) {
    if keys.is_empty() {
        return;
    }
    let seq: KeySeq = keys.parse().unwrap();
    for &k in seq.keys() {
        app.key(k.into());
    }
}

/// Types text into whatever field has focus, one key per character.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

/// Finds a patient by name with the roster filter and opens them.
pub fn open_patient(app: &mut App, name: &str) -> PatientId {
    press(app, "/");
    type_text(app, name);
    press(app, "<Enter>");
    let v = app.patient.as_ref().expect("a patient is open");
    assert!(v.records.patient.name.contains(name));
    v.records.patient.id.clone()
}

/// The status bar's message, or "" when there is none.
pub fn status(app: &App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

pub fn screen(app: &App) -> String {
    let (w, h) = app.size;
    to_text(&render(app, w, h).unwrap())
}

/// A demo app whose clock the test can move, signing as `clinician`, remembering the open
/// editor in the fixture's folder.
pub struct Writer {
    pub app: App,
    pub clock: std::sync::Arc<FixedClock>,
    pub dir: TempDir,
}

pub fn writer_on(dir: TempDir, store: SledStore, size: (u16, u16), preset: KeymapPreset) -> Writer {
    let clock = std::sync::Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
    writer_with(dir, store, size, Keymap::builtin(preset), clock, 7)
}

/// Ends the app the way a crash or SIGKILL would (nothing more is saved: no quit, no stop;
/// only what the store already has survives), then starts kitnotes again on the same store,
/// at the same time, with the same keys and size.
pub fn restart(w: Writer) -> Writer {
    let Writer { app, clock, dir } = w;
    let (size, keymap) = (app.size, app.keymap.clone());
    drop(app);
    let store = SledStore::open(dir.path()).unwrap();
    // Another seed: ids made at the same clock time must not repeat the first run's.
    writer_with(dir, store, size, keymap, clock, 8)
}

fn writer_with(
    dir: TempDir,
    store: SledStore,
    size: (u16, u16),
    keymap: Keymap,
    clock: std::sync::Arc<FixedClock>,
    seed: u64,
) -> Writer {
    let settings = AppSettings {
        store_label: "demo".into(),
        clinician: Some("Dr. Rowan Vale".into()),
        resume_file: Some(dir.path().join("editing.json")),
        clinic: clinic(),
        rems_dir: Some(dir.path().join("rems")),
        lock_after: LockAfter::Never,
        lock_during_session: LockAfter::Never,
        ..AppSettings::default()
    };
    let mut app = App::new(
        Box::new(store),
        Box::new(clock.clone()),
        IdSource::new(seed),
        keymap,
        settings,
    )
    .unwrap();
    app.resize(size.0, size.1);
    Writer { app, clock, dir }
}

/// An invented clinic for the REMS form's provider and setting (`[clinic]` in config.toml).
pub fn clinic() -> Clinic {
    Clinic {
        provider_name: Some("Dr. Test Provider".into()),
        phone: Some("555-0100".into()),
        email: Some("provider@example.test".into()),
        setting_name: Some("Example Ketamine Clinic".into()),
        address: Some("1 Example Street".into()),
        city: Some("Exampleton".into()),
        state: Some("EX".into()),
        zip: Some("00000".into()),
    }
}

pub fn writer(size: (u16, u16)) -> Writer {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    writer_on(dir, store, size, KeymapPreset::Default)
}

pub fn later(w: &Writer, ms: i64) {
    w.clock.advance(jiff::SignedDuration::from_millis(ms));
}

/// The note in the store, as saved.
pub fn stored_note(app: &App, id: &RecordId) -> Note {
    match app.store().record(id.as_str()).unwrap() {
        Some(Record::Note(n)) => n,
        other => panic!("no note {id}: {other:?}"),
    }
}

pub fn open_note_id(app: &App) -> RecordId {
    app.editor
        .as_ref()
        .expect("the editor is open")
        .note
        .id
        .clone()
}

/// One generated demo patient's records (the patient first) as the store hands them to an
/// export.
pub fn group_one(records: Vec<Record>) -> PatientRecords {
    let mut it = records.into_iter();
    let Some(Record::Patient(p)) = it.next() else {
        panic!("the patient comes first");
    };
    let mut pr = PatientRecords::new(p);
    for r in it {
        pr.push(r);
    }
    pr
}

/// Copies the folder `from` (a store, a data folder) into `to`, file by file.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
