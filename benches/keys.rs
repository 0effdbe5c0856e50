//! Issue 23's "nothing on the key path takes more than a frame's worth of work": the keys a
//! clinician presses on a practice's whole caseload (the 1,000 x 100 demo store), each pair of
//! keys there and back again, with the frame drawn after each key as the event loop does.
//!
//! Run with `cargo bench --bench keys`. The store is built once per run in a temporary
//! directory (about half a minute), or opened from `$KITNOTES_BENCH_TODAY_STORE` (a store
//! `kitnotes demo --no-ui --patients 1000 --notes-per-patient 100 --seed 42 --anchor
//! 2026-11-01` made; benches/compare.sh passes its own).

use kitnotes::app::{App, AppSettings};
use kitnotes::clock::{FixedClock, IdSource};
use kitnotes::keymap::{KeySeq, Keymap, Preset};
use kitnotes::store::SledStore;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

/// The caseload's store: from the environment, or built now (kept until the run ends).
fn store() -> (Option<tempfile::TempDir>, SledStore) {
    if let Some(dir) = std::env::var_os("KITNOTES_BENCH_TODAY_STORE") {
        return (
            None,
            SledStore::open(std::path::Path::new(&dir)).expect("store"),
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(dir.path()).expect("store");
    let actor = kitnotes::store::Actor::new("bench", jiff::Timestamp::UNIX_EPOCH);
    let mut s = kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 1));
    s.patients = 1000;
    s.notes_per_patient = 100;
    s.seed = 42;
    kitnotes::demo::build(&store, &s, &actor, &mut |_| {}).expect("demo");
    (Some(dir), store)
}

thread_local! {
    static APP: std::cell::RefCell<Option<(Option<tempfile::TempDir>, App)>> =
        const { std::cell::RefCell::new(None) };
}

/// Presses `keys` one at a time, drawing a 120x40 frame after each, on the caseload's app
/// (made once per thread, `before` pressed then).
fn keys(bencher: divan::Bencher, before: &str, keys: &str) {
    let seq: KeySeq = keys.parse().expect("keys");
    let before: KeySeq = if before.is_empty() {
        KeySeq::default()
    } else {
        before.parse().expect("keys")
    };
    APP.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (_, app) = cell.get_or_insert_with(|| {
            let (dir, store) = store();
            let mut app = App::new(
                Box::new(store),
                Box::new(FixedClock::new(
                    "2026-11-01T08:00:00Z".parse().expect("time"),
                )),
                IdSource::new(1),
                Keymap::builtin(Preset::Default),
                AppSettings::default(),
            )
            .expect("app");
            app.resize(120, 40);
            (dir, app)
        });
        for &k in before.keys() {
            app.key(k.into());
        }
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        bencher.bench_local(|| {
            for &k in seq.keys() {
                app.key(k.into());
                terminal.draw(|f| kitnotes::ui::draw(f, app)).expect("draw");
            }
        });
        // Back where the next bench expects the app: the patient list, nothing open.
        let back: KeySeq = "<Esc><Esc><Esc>1<Home>".parse().expect("keys");
        for &k in back.keys() {
            app.key(k.into());
        }
    });
}

/// The next patient and back.
#[divan::bench]
fn roster_down_up(bencher: divan::Bencher) {
    keys(bencher, "", "<Down><Up>");
}

/// The last patient of 1,000 and back to the first.
#[divan::bench]
fn roster_end_home(bencher: divan::Bencher) {
    keys(bencher, "", "<End><Home>");
}

/// Today over every patient, and closed.
#[divan::bench]
fn today_open_close(bencher: divan::Bencher) {
    keys(bencher, "", "t<Esc>");
}

/// The drafts list over every patient, and closed.
#[divan::bench]
fn drafts_open_close(bencher: divan::Bencher) {
    keys(bencher, "", "D<Esc>");
}

/// A patient's timeline opened (100 notes and their sessions, scores, goals), and back.
#[divan::bench]
fn patient_open_back(bencher: divan::Bencher) {
    keys(bencher, "<Down><Down>", "<Enter><Esc>");
}

/// In an open patient's timeline: the next entry and back.
#[divan::bench]
fn timeline_down_up(bencher: divan::Bencher) {
    keys(bencher, "<Down><Down><Enter>", "<Down><Up>");
}

/// In an open patient's timeline: an entry's detail and back.
#[divan::bench]
fn detail_open_back(bencher: divan::Bencher) {
    keys(bencher, "<Down><Down><Enter>", "<Enter><Esc>");
}

/// The selected patient's course view (scores, goals, check-ins), and closed.
#[divan::bench]
fn course_open_close(bencher: divan::Bencher) {
    keys(bencher, "<Down><Down>", "c<Esc>");
}

/// Help, and closed.
#[divan::bench]
fn help_open_close(bencher: divan::Bencher) {
    keys(bencher, "", "?<Esc>");
}

/// The roster filter: one letter typed over 1,000 names, and cleared.
#[divan::bench]
fn roster_filter_letter(bencher: divan::Bencher) {
    keys(bencher, "", "/a<Esc>");
}

/// Search over every patient: the popup, one letter, and closed.
#[divan::bench]
fn search_all_letter(bencher: divan::Bencher) {
    keys(bencher, "", "Fs<Esc>");
}
