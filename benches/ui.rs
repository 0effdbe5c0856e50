//! Benchmarks of the terminal UI: drawing a whole frame and moving through a patient with a
//! 10,000-entry timeline (the "scrolls without lag"). Run with `cargo bench --bench ui`.

use kitnotes::app::{Action, App, AppSettings};
use kitnotes::clock::{FixedClock, IdSource};
use kitnotes::demo::generate_patient;
use kitnotes::keymap::{Keymap, Preset};
use kitnotes::model::{Instrument, Measure, Record, RecordId};
use kitnotes::store::{Change, SledStore, Store};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

/// One patient with 10,000 notes (and the sessions, scores and goals around them), opened.
fn long_course() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    // A demo patient's course, then GAD-7 scores every 6 hours back to make 10,000+ entries.
    let mut spec = kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 1));
    spec.patients = 1;
    let mut records = generate_patient(&spec, 0);
    let Some(Record::Patient(p)) = records.first_mut() else {
        unreachable!("the patient comes first")
    };
    p.archived = false;
    let pid = p.id.clone();
    let start: jiff::Timestamp = "2019-01-01T09:00:00Z".parse().unwrap();
    records.extend((0..10_000).map(|i| {
        Record::Measure(Measure {
            id: RecordId::parse(&format!("bench-m{i:05}")).unwrap(),
            patient: pid.clone(),
            instrument: Instrument::Gad7,
            at: start + jiff::SignedDuration::from_hours(6 * i),
            items: vec![(i % 4) as u8; 7],
            entered_total: None,
            session: None,
        })
    }));
    let changes: Vec<Change> = records.into_iter().map(Change::Put).collect();
    store.apply(&changes).unwrap();
    let mut app = App::new(
        Box::new(store),
        Box::new(FixedClock::new("2026-11-01T12:00:00Z".parse().unwrap())),
        IdSource::new(1),
        Keymap::builtin(Preset::Default),
        AppSettings::default(),
    )
    .unwrap();
    app.resize(120, 40);
    app.update(Action::Open);
    (dir, app)
}

/// Drawing one full 120x40 frame with the long timeline in view.
#[divan::bench]
fn draw_frame_10k_timeline(bencher: divan::Bencher) {
    let (_dir, app) = long_course();
    let n = app.patient.as_ref().unwrap().entries.len();
    assert!(n >= 10_000, "{n} entries");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    bencher.bench_local(|| {
        terminal.draw(|f| kitnotes::ui::draw(f, &app)).unwrap();
    });
}

/// One page down in the long timeline, then drawing the frame: what a held <PageDown> costs.
#[divan::bench]
fn page_down_and_draw_10k_timeline(bencher: divan::Bencher) {
    let (_dir, mut app) = long_course();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    bencher.bench_local(|| {
        app.update(Action::PageDown);
        terminal.draw(|f| kitnotes::ui::draw(f, &app)).unwrap();
    });
}

/// The session console: an observation typed (20 keys) and Enter, then a frame drawn. Enter
/// writes to the store without waiting for the disk; the flush happens on the next tick,
/// measured on its own below. 100 observations in all, about a long session's worth.
#[divan::bench(sample_count = 20, sample_size = 5)]
fn console_observation_enter_and_draw(bencher: divan::Bencher) {
    let (_dir, mut app) = console_app();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    bencher.bench_local(|| {
        type_line(&mut app, "Eyes closed, calm.. ");
        terminal.draw(|f| kitnotes::ui::draw(f, &app)).unwrap();
    });
}

/// What the next tick does after an entry: flush the store to disk.
#[divan::bench(sample_count = 20, sample_size = 5)]
fn console_tick_flush_after_entry(bencher: divan::Bencher) {
    let (_dir, mut app) = console_app();
    bencher.with_inputs(|| ()).bench_local_values(|()| {
        type_line(&mut app, "Eyes closed, calm.. ");
        app.tick();
    });
}

/// A patient's console open on a new session from the first protocol.
fn console_app() -> (tempfile::TempDir, App) {
    let (dir, mut app) = long_course();
    app.update(Action::SessionStart);
    app.update(Action::PopupConfirm);
    assert!(app.console.is_some());
    app.update(Action::SessionMarkDose);
    (dir, app)
}

fn type_line(app: &mut App, text: &str) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    app.update(Action::SessionObserve);
    for c in text.chars() {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    app.update(Action::PopupConfirm);
}

/// The course view of the 10,000-entry patient (10,000 GAD-7 points in the chart), drawn.
#[divan::bench]
fn draw_course_view_10k_scores(bencher: divan::Bencher) {
    let (_dir, mut app) = long_course();
    app.update(Action::ViewCourse);
    assert!(app.view.is_some());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    bencher.bench_local(|| {
        terminal.draw(|f| kitnotes::ui::draw(f, &app)).unwrap();
    });
}

/// Opening Today on the usual 12-patient demo: every patient read from the store, the list made.
#[divan::bench]
fn open_today_12_patients(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let spec = kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 21));
    let changes: Vec<Change> = kitnotes::demo::generate(&spec)
        .flatten()
        .map(Change::Put)
        .collect();
    store.apply(&changes).unwrap();
    let mut app = App::new(
        Box::new(store),
        Box::new(FixedClock::new("2026-11-21T15:30:00Z".parse().unwrap())),
        IdSource::new(1),
        Keymap::builtin(Preset::Default),
        AppSettings::default(),
    )
    .unwrap();
    bencher.bench_local(|| {
        app.update(Action::ViewToday);
        assert!(app.view.is_some());
        app.update(Action::Back);
    });
}
