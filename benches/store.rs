//! Benchmarks of the foundation: scoring, timeline assembly, one patient's read, and writes.
//! Run with `cargo bench`. Search and start-up benchmarks come with the search issue.

use kitnotes::demo::{DemoSpec, build, generate_patient};
use kitnotes::model::{PatientId, PatientRecords, Record, timeline};
use kitnotes::store::{SledStore, Store};

fn main() {
    divan::main();
}

fn spec(patients: u32, notes: u32) -> DemoSpec {
    let mut s = DemoSpec::new(jiff::civil::date(2026, 11, 1));
    s.patients = patients;
    s.notes_per_patient = notes;
    s
}

fn chart(notes: u32) -> PatientRecords {
    let mut it = generate_patient(&spec(1, notes), 0).into_iter();
    let Some(Record::Patient(p)) = it.next() else {
        unreachable!("the patient comes first")
    };
    let mut r = PatientRecords::new(p);
    it.for_each(|x| r.push(x));
    r
}

/// Scoring every measure of a 100-note patient.
#[divan::bench]
fn score_measures(bencher: divan::Bencher) {
    let r = chart(100);
    bencher.bench(|| r.measures.iter().filter_map(|m| m.score().ok()).count());
}

/// Assembling the newest-first timeline of a 100-note patient.
#[divan::bench]
fn assemble_timeline(bencher: divan::Bencher) {
    let r = chart(100);
    bencher.bench(|| timeline::timeline(divan::black_box(&r)).len());
}

/// Reading one patient's whole record (one prefix scan) from a 200-patient store.
#[divan::bench]
fn read_one_patient(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(dir.path()).expect("store");
    let actor = kitnotes::store::Actor::new("bench", jiff::Timestamp::UNIX_EPOCH);
    build(&store, &spec(200, 100), &actor, &mut |_| {}).expect("demo");
    let id = PatientId::parse("p0100").expect("id");
    bencher.bench(|| {
        store
            .patient_records(&id)
            .expect("read")
            .map(|r| r.notes.len())
    });
}

/// Writing one new patient with 100 notes and their other records as one atomic change.
#[divan::bench(sample_count = 20)]
fn write_one_patient(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(dir.path()).expect("store");
    let many = spec(100_000, 100);
    let mut index = 0;
    bencher.bench_local(|| {
        let changes: Vec<_> = generate_patient(&many, index)
            .into_iter()
            .map(kitnotes::store::Change::Put)
            .collect();
        index += 1;
        store.apply(&changes).expect("a new patient is written")
    });
}

/// The 1,000 x 100 demo store that issue 23 measured Today and the drafts list on, built once
/// per run (about half a minute) in a temporary directory, or the store in
/// `$KITNOTES_BENCH_TODAY_STORE` when set (a store `kitnotes demo --no-ui --patients 1000
/// --notes-per-patient 100 --seed 42 --anchor 2026-11-01` made).
fn caseload() -> &'static SledStore {
    static STORE: std::sync::OnceLock<(Option<tempfile::TempDir>, SledStore)> =
        std::sync::OnceLock::new();
    &STORE
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os("KITNOTES_BENCH_TODAY_STORE") {
                let store = SledStore::open(std::path::Path::new(&dir)).expect("store");
                return (None, store);
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SledStore::open(dir.path()).expect("store");
            let actor = kitnotes::store::Actor::new("bench", jiff::Timestamp::UNIX_EPOCH);
            let mut s = spec(1000, 100);
            s.seed = 42;
            build(&store, &s, &actor, &mut |_| {}).expect("demo");
            (Some(dir), store)
        })
        .1
}

/// The morning of the demo's anchor day, when its sessions and check-ins fall due.
fn morning() -> jiff::Timestamp {
    "2026-11-01T08:00:00Z".parse().expect("time")
}

/// Reading and decoding every patient's agenda: the part of Today that is the store's.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn today_agendas_read(bencher: divan::Bencher) {
    let store = caseload();
    bencher.bench(|| store.agendas().expect("agendas").len());
}

/// Working out Today from agendas already read: the part of Today that is not the store's.
#[divan::bench(sample_count = 20)]
fn today_from_read_agendas(bencher: divan::Bencher) {
    let agendas = caseload().agendas().expect("agendas");
    let cadence = kitnotes::model::cadence::Cadence::default();
    let gap = kitnotes::model::cadence::CadenceStep::Weeks(8);
    bencher.bench(|| {
        let mut t = kitnotes::model::today::Today::default();
        for a in &agendas {
            t.add_agenda(a, &cadence, gap, morning(), &jiff::tz::TimeZone::UTC);
        }
        t.sort();
        t.len()
    });
}

/// Today (`t`, `kitnotes today`) from the agenda index: one small value per patient.
#[divan::bench(sample_count = 20)]
fn today_from_the_index(bencher: divan::Bencher) {
    let store = caseload();
    let cadence = kitnotes::model::cadence::Cadence::default();
    let gap = kitnotes::model::cadence::CadenceStep::Weeks(8);
    bencher.bench(|| {
        kitnotes::app::views::read_today(store, &cadence, gap, morning(), &jiff::tz::TimeZone::UTC)
            .expect("today")
            .len()
    });
}

/// Today as it was read before the agenda index: every patient's every record.
#[divan::bench(sample_count = 5)]
fn today_from_every_record(bencher: divan::Bencher) {
    let store = caseload();
    let cadence = kitnotes::model::cadence::Cadence::default();
    let gap = kitnotes::model::cadence::CadenceStep::Weeks(8);
    bencher.bench(|| {
        let mut t = kitnotes::model::today::Today::default();
        for p in store.patients().expect("patients") {
            let r = store
                .patient_records(&p.id)
                .expect("read")
                .expect("patient");
            t.add_scanned(&r, &cadence, gap, morning(), &jiff::tz::TimeZone::UTC);
        }
        t.sort();
        t.len()
    });
}

/// The drafts list (`D`) from the agenda index.
#[divan::bench(sample_count = 20)]
fn drafts_from_the_index(bencher: divan::Bencher) {
    let store = caseload();
    bencher.bench(|| {
        kitnotes::app::drafts::unsigned_drafts(store)
            .expect("drafts")
            .len()
    });
}

/// The drafts list as it was read before the agenda index: every patient's every record.
#[divan::bench(sample_count = 5)]
fn drafts_from_every_record(bencher: divan::Bencher) {
    let store = caseload();
    bencher.bench(|| {
        let mut n = 0;
        for p in store.patients().expect("patients") {
            let r = store
                .patient_records(&p.id)
                .expect("read")
                .expect("patient");
            n += r.notes.iter().filter(|n| !n.is_signed()).count();
        }
        n
    });
}
