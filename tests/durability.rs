//! Durability: a process killed with SIGKILL right after `flush` returned loses nothing it was
//! told was saved, and the store opens and checks clean afterwards.
//!
//! The test runs its own binary again as the writing child (selected by an environment
//! variable), reads "saved N" lines from it, and kills it at varied points.

use kitnotes::model::*;
use kitnotes::store::sled_store::SledStore;
use kitnotes::store::{Actor, AuditAction, AuditFilter, Change, Store};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "KITNOTES_TEST_KILL_CHILD_DIR";

fn note(i: u64) -> Record {
    let at = jiff::Timestamp::from_second(1_770_000_000 + i as i64).unwrap();
    Record::Note(Note::draft(
        RecordId::parse(&format!("n{i}")).unwrap(),
        PatientId::parse("p1").unwrap(),
        NoteKind::Session,
        at,
        format!("Observation {i}"),
        vec![Section::new(
            "Observations",
            format!("Line {i}: patient resting, eyes closed."),
        )],
    ))
}

/// The child: append and flush notes forever, confirming each on stdout.
fn run_child(dir: &str) {
    let store = SledStore::open(std::path::Path::new(dir)).expect("child opens the store");
    let start = store.counts().expect("counts").notes;
    if store
        .patient(&PatientId::parse("p1").unwrap())
        .expect("read")
        .is_none()
    {
        store
            .put(Record::Patient(Patient::new(
                PatientId::parse("p1").unwrap(),
                "Kill Test",
            )))
            .expect("patient");
    }
    let mut out = std::io::stdout().lock();
    let actor = Actor::new(
        "Dr. Kill Test",
        jiff::Timestamp::from_second(1_770_000_000).unwrap(),
    );
    for i in start.. {
        // With its audit entry, in the same batch: the two must survive or vanish together.
        store
            .apply_audited(&[Change::Put(note(i))], &actor)
            .expect("write");
        store.flush().expect("flush");
        writeln!(out, "saved {i}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn records_confirmed_saved_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        run_child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // Kill points: after this many confirmations, plus a pause in microseconds so that the kill
    // lands at different places inside the next write.
    let plan: &[(u64, u64)] = &[
        (1, 0),
        (5, 150),
        (12, 900),
        (3, 40),
        (20, 2_000),
        (8, 5),
        (15, 400),
        (2, 3_000),
    ];
    let mut confirmed_total: Option<u64> = None;
    for (round, (after, pause_us)) in plan.iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                // The test's name in the test binary: its module path without the crate.
                concat!(module_path!(), "::records_confirmed_saved_survive_sigkill")
                    .split_once("::")
                    .map_or("records_confirmed_saved_survive_sigkill", |(_, name)| name),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut last = None;
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("saved ") {
                last = Some(n.parse::<u64>().unwrap());
                seen += 1;
                if seen == *after {
                    break;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(*pause_us));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let last = last.expect("the child confirmed at least one write");
        confirmed_total = Some(last);

        let store = SledStore::open(dir.path())
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        for i in 0..=last {
            assert!(
                store.record(&format!("n{i}")).unwrap().is_some(),
                "round {round}: note n{i} was confirmed saved but is missing after SIGKILL"
            );
        }
        let report = store.check().unwrap();
        assert!(
            report.is_ok(),
            "round {round}: check found {:?}",
            report.problems
        );
        // Every note in the store has its entry and every entry its note.
        let logged: Vec<String> = store
            .audit_log(&AuditFilter::default())
            .unwrap()
            .into_iter()
            .filter(|e| e.action == AuditAction::NoteCreated)
            .filter_map(|e| e.record)
            .collect();
        let notes = store.counts().unwrap().notes;
        assert_eq!(
            logged.len() as u64,
            notes,
            "round {round}: one entry per note"
        );
        for i in 0..notes {
            assert!(
                logged.contains(&format!("n{i}")),
                "round {round}: entry for n{i}"
            );
        }
    }
    // Past the test harness's capture, so the figures show in every `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "SIGKILL rounds: {}, notes confirmed and found afterwards: {}",
        plan.len(),
        confirmed_total.unwrap() + 1
    );
}

/// `kitnotes import` killed at varied points leaves either the whole file or nothing.
#[test]
fn an_import_killed_part_way_leaves_all_or_nothing() {
    use kitnotes::demo::{DemoSpec, generate};
    use kitnotes::model::PatientRecords;
    let work = tempfile::tempdir().unwrap();
    // A file large enough for many chunks: 150 patients x 40 notes and their other records.
    let mut spec = DemoSpec::new(jiff::civil::date(2026, 11, 1));
    spec.patients = 150;
    spec.notes_per_patient = 40;
    let charts: Vec<PatientRecords> = generate(&spec)
        .map(|records| {
            let mut it = records.into_iter();
            let Some(Record::Patient(p)) = it.next() else {
                panic!("the patient comes first")
            };
            let mut chart = PatientRecords::new(p);
            it.for_each(|r| chart.push(r));
            chart
        })
        .collect();
    let file = work.path().join("import.jsonl");
    let summary =
        kitnotes::interchange::write_jsonl(std::fs::File::create(&file).unwrap(), &charts, true)
            .unwrap();
    let total_notes = summary.notes as u64;
    assert_eq!(total_notes, 6_000);

    let exe = env!("CARGO_BIN_EXE_kitnotes");
    // The clinic's store is encrypted: the kills land on sealed writes.
    let passphrase = work.path().join("passphrase");
    std::fs::write(&passphrase, "invented durability passphrase\n").unwrap();
    // One uninterrupted run sets the time scale, so the kills spread over the whole import
    // (parsing, then the chunked writes, then the commit) whatever the machine's speed.
    let started = std::time::Instant::now();
    let full = Command::new(exe)
        .arg("import")
        .arg(&file)
        .env("KITNOTES_DATA_DIR", work.path().join("full"))
        .env("KITNOTES_CONFIG_DIR", work.path().join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", &passphrase)
        .output()
        .unwrap();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let duration_ms = started.elapsed().as_millis() as u64;
    // A developer's `cargo test` kills it three times (early, late, after it finished);
    // `.ci/run` sets KITNOTES_DURABILITY_FULL for every point.
    let fractions: &[f64] = if std::env::var_os("KITNOTES_DURABILITY_FULL").is_some() {
        &[0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97, 1.2]
    } else {
        &[0.5, 0.9, 1.2]
    };
    let (mut whole, mut nothing, mut rolled_back) = (0, 0, 0);
    for (round, delay_ms) in fractions
        .iter()
        .map(|f| (f * duration_ms as f64) as u64)
        .enumerate()
    {
        let data = work.path().join(format!("data{round}"));
        let mut child = Command::new(exe)
            .args(["import"])
            .arg(&file)
            .env("KITNOTES_DATA_DIR", &data)
            .env("KITNOTES_CONFIG_DIR", work.path().join("config"))
            .env("KITNOTES_PASSPHRASE_FILE", &passphrase)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if fractions[round] < 1.0 {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            let _ = child.kill();
        }
        // The last round is "killed" after it finished: waited for, so that a loaded machine
        // running it slower than the timing run cannot turn it into one more early kill.
        child.wait().unwrap();
        if !data.join("store").join("db").exists() {
            nothing += 1;
            continue;
        }
        let store = SledStore::open(&data.join("store")).unwrap();
        store.unlock(b"invented durability passphrase").unwrap();
        rolled_back += usize::from(store.rolled_back_on_open() > 0);
        let notes = store.counts().unwrap().notes;
        assert!(
            notes == 0 || notes == total_notes,
            "round {round} (killed after {delay_ms} ms): {notes} of {total_notes} notes: a partial import"
        );
        let report = store.check().unwrap();
        assert!(report.is_ok(), "round {round}: check failed");
        // Every record it brought is bound to an entry of the log.
        assert_eq!(report.unbound, Default::default(), "round {round}");
        // The import's entries (one per patient, and one per part that binds its records)
        // come and go with its records.
        let log = store.audit_log(&AuditFilter::default()).unwrap();
        let (parts, patients) = (
            log.iter().filter(|e| e.patient.is_none()).count(),
            log.iter().filter(|e| e.patient.is_some()).count(),
        );
        assert_eq!(
            (patients, parts > 1),
            if notes == 0 { (0, false) } else { (150, true) },
            "round {round}: audit entries of a {} import",
            if notes == 0 { "rolled back" } else { "whole" }
        );
        assert_eq!(parts == 0, notes == 0, "round {round}: part entries");
        if notes == 0 { nothing += 1 } else { whole += 1 }
    }
    let _ = writeln!(
        std::io::stderr(),
        "import of {total_notes} notes ({duration_ms} ms uninterrupted) killed {} times: {whole} whole, \
         {nothing} nothing ({rolled_back} of them rolled back from part-way through the writes), 0 partial",
        fractions.len()
    );
    assert!(
        whole >= 1,
        "the kill after the import finished must find it whole"
    );
}
