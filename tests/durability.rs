//! Durability: a process killed with SIGKILL right after `flush` returned loses nothing it was
//! told was saved, and the store opens and checks clean afterwards.
//!
//! The test runs its own binary again as the writing child (selected by an environment
//! variable), reads "saved N" lines from it, and kills it at varied points.

use kitnotes::model::*;
use kitnotes::store::sled_store::SledStore;
use kitnotes::store::{Change, Store};
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
    for i in start.. {
        store.apply(&[Change::Put(note(i))]).expect("write");
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
                "records_confirmed_saved_survive_sigkill",
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
    }
    println!(
        "SIGKILL rounds: {}, notes confirmed and found afterwards: {}",
        plan.len(),
        confirmed_total.unwrap() + 1
    );
}
