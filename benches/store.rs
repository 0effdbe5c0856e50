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
