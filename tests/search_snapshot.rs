//! `kitnotes search` answering from the search snapshot beside a plain store
//! (`store::snapshot`): the same answer as the store's, byte for byte; never a stale one after
//! any write or open; a damaged snapshot ignored; never a snapshot of an encrypted store.

use crate::common::*;
use kitnotes::model::{Note, NoteKind, Record, Section};
use kitnotes::store::crypt::KdfParams;
use kitnotes::store::snapshot::Snapshot;
use kitnotes::store::{Actor, Change, SledStore, Store};
use std::path::{Path, PathBuf};
use std::process::Output;

fn store_dir(data: &Path) -> PathBuf {
    data.join("demo")
}

fn snap(data: &Path) -> PathBuf {
    store_dir(data).join("search.snap")
}

fn tally(data: &Path) -> Vec<u8> {
    std::fs::read(store_dir(data).join("kitnotes.tally")).unwrap()
}

/// A small plain demo store at `<data>/demo`.
fn demo() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let out = kitnotes(
        data.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "6",
            "--notes-per-patient",
            "12",
            "--seed",
            "42",
            "--anchor",
            "2026-11-21",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    data
}

fn search(data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--demo", "search"];
    all.extend_from_slice(args);
    let out = kitnotes(data, &all);
    assert!(
        out.status.success(),
        "search {args:?}: {}",
        text(&out.stderr)
    );
    out
}

/// Standard error without the search's own time, which differs from run to run.
fn notes(out: &Output) -> String {
    text(&out.stderr)
        .lines()
        .map(|l| match l.rfind(", ") {
            Some(i) if l.ends_with(" ms") => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A search answered from the snapshot: there is one, and the store was not opened (opening
/// it rewrites its tally).
fn from_snapshot(data: &Path, args: &[&str]) -> Output {
    assert!(snap(data).exists(), "no snapshot before search {args:?}");
    let before = tally(data);
    let out = search(data, args);
    assert_eq!(
        before,
        tally(data),
        "search {args:?} opened the store instead of answering from the snapshot"
    );
    out
}

/// A search answered by the store: the snapshot is taken away first. The search leaves a new
/// snapshot behind.
fn from_store(data: &Path, args: &[&str]) -> Output {
    let _ = std::fs::remove_file(snap(data));
    let before = tally(data);
    let out = search(data, args);
    assert_ne!(
        before,
        tally(data),
        "search {args:?} did not open the store"
    );
    out
}

/// A search that must open the store even though a snapshot is there.
fn opens_the_store(data: &Path, args: &[&str]) -> Output {
    let before = tally(data);
    let out = search(data, args);
    assert_ne!(
        before,
        tally(data),
        "search {args:?} answered from a snapshot that no longer matches the store"
    );
    out
}

fn first_patient(data: &Path) -> String {
    let out = search(data, &["--json", "--limit", "1", "sleep"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["hits"][0]["patient"].as_str().unwrap().to_owned()
}

/// Changes the store in this process, as the terminal UI would, and closes it.
fn change(data: &Path, edit: impl FnOnce(&SledStore)) {
    let store = SledStore::open(&store_dir(data)).unwrap();
    edit(&store);
    drop(store);
}

fn actor() -> Actor {
    Actor::new("Dr Invented", ts("2026-11-22T10:00:00Z"))
}

#[test]
fn the_snapshot_answers_every_search_as_the_store_does() {
    let data = demo();
    let data = data.path();
    // The first search opens the store and leaves the snapshot.
    let _ = from_store(data, &["sleep"]);
    assert!(
        snap(data).exists(),
        "a plain store's search left no snapshot"
    );
    let p = first_patient(data);
    let queries: Vec<Vec<&str>> = vec![
        vec!["sleep"],
        vec!["session", "--limit", "3"],
        vec!["\"first session\""],
        vec!["fath*"],
        vec!["s*", "--patient", &p],
        vec!["sleep", "--patient", &p, "--limit", "2"],
        vec!["--", "sleep", "-dream"],
        vec!["sleep", "--order", "date", "--limit", "5"],
        vec!["sleep", "--order", "newest", "--kind", "note"],
        vec!["session", "--since", "2026-09-01", "--until", "2026-10-31"],
        vec!["--json", "sleep", "--limit", "7"],
        vec!["--json", "\"first session\""],
        vec!["nosuchwordanywhere"],
        vec!["sleep", "--patient", "p9999"],
        vec!["session", "--limit", "100000"],
    ];
    let mut with_hits = 0;
    for q in &queries {
        let snapped = from_snapshot(data, q);
        let stored = from_store(data, q);
        assert_eq!(
            text(&snapped.stdout),
            text(&stored.stdout),
            "search {q:?}: the snapshot's answer differs from the store's"
        );
        assert_eq!(notes(&snapped), notes(&stored), "search {q:?}: its summary");
        with_hits += usize::from(!snapped.stdout.is_empty());
    }
    assert!(with_hits >= 10, "too few queries found anything to compare");
}

#[test]
fn psychotherapy_notes_stay_out_of_the_snapshot_and_a_search_for_them_opens_the_store() {
    let data = demo();
    let data = data.path();
    let _ = from_store(data, &["sleep"]);
    // Every psychotherapy note is left out of the snapshot; the other notes are in it.
    let store = SledStore::open(&store_dir(data)).unwrap();
    let (mut private, mut other) = (Vec::new(), Vec::new());
    for p in store.patients().unwrap() {
        let records = store.patient_records(&p.id).unwrap().unwrap();
        for n in records.notes {
            if n.kind == NoteKind::Psychotherapy {
                private.push(n.id.to_string());
            } else {
                other.push(n.id.to_string());
            }
        }
    }
    drop(store);
    assert!(!private.is_empty(), "the demo has psychotherapy notes");
    let _ = from_store(data, &["sleep"]);
    let snapshot = Snapshot::open(&store_dir(data)).expect("the snapshot matches the store");
    for id in &private {
        assert_eq!(
            snapshot.record(id).unwrap(),
            None,
            "psychotherapy note {id}"
        );
    }
    for id in &other {
        assert!(snapshot.record(id).unwrap().is_some(), "note {id}");
    }
    drop(snapshot);
    // Left out and counted as the store counts them; searched only by the store.
    let snapped = from_snapshot(data, &["session"]);
    let stored = from_store(data, &["session"]);
    assert_eq!(notes(&snapped), notes(&stored));
    let private_too = opens_the_store(data, &["--include-private", "session"]);
    assert!(!text(&private_too.stdout).is_empty());
}

#[test]
fn any_write_or_open_after_the_snapshot_makes_the_next_search_ask_the_store() {
    let data = demo();
    let data = data.path();
    let _ = from_store(data, &["sleep"]);
    let p = first_patient(data);
    let pid = kitnotes::model::PatientId::parse(&p).unwrap();

    // A new note.
    let _ = from_store(data, &["sleep"]);
    assert!(from_snapshot(data, &["quokkaberry"]).stdout.is_empty());
    change(data, |s| {
        let note = Note::draft(
            rid("0193f0c2-7a1b-7c3d-9e4f-00112233aa01"),
            pid.clone(),
            NoteKind::Integration,
            ts("2026-11-22T09:00:00Z"),
            "Walk in the garden",
            vec![Section {
                heading: "Notes".into(),
                body: "Spoke about the quokkaberry bushes".into(),
            }],
        );
        s.apply_audited(&[Change::Put(Record::Note(note))], &actor())
            .unwrap();
    });
    let out = opens_the_store(data, &["quokkaberry"]);
    assert!(text(&out.stdout).contains("Walk in the garden"), "{out:?}");
    // Answered from the new snapshot the same.
    assert_eq!(from_snapshot(data, &["quokkaberry"]).stdout, out.stdout);

    // An addendum to a signed note, with the old snapshot put back over the new one.
    let old = std::fs::read(snap(data)).unwrap();
    change(data, |s| {
        let records = s.patient_records(&pid).unwrap().unwrap();
        let mut note = records
            .notes
            .iter()
            .find(|n| n.is_signed() && n.kind != NoteKind::Psychotherapy)
            .cloned()
            .expect("a signed note");
        note.add_addendum(
            "Correction: the wombatfern dose",
            "Dr Invented",
            ts("2026-11-22T11:00:00Z"),
        )
        .unwrap();
        s.apply_audited(&[Change::Put(Record::Note(note))], &actor())
            .unwrap();
    });
    std::fs::write(snap(data), &old).unwrap();
    let out = opens_the_store(data, &["wombatfern"]);
    assert_eq!(text(&out.stdout).lines().count(), 1, "{out:?}");

    // A correction of a draft: the old word is gone, the new one found.
    change(data, |s| {
        let records = s.patient_records(&pid).unwrap().unwrap();
        let mut note = records
            .notes
            .iter()
            .find(|n| n.title == "Walk in the garden")
            .cloned()
            .unwrap();
        note.set_section_body(0, "Spoke about the bilbyroot path")
            .unwrap();
        s.apply_audited(&[Change::Put(Record::Note(note))], &actor())
            .unwrap();
    });
    assert!(opens_the_store(data, &["quokkaberry"]).stdout.is_empty());
    assert!(!from_snapshot(data, &["bilbyroot"]).stdout.is_empty());

    // The patient renamed (and archived): only the patient record changes, not the index.
    change(data, |s| {
        let mut patient = s.patient(&pid).unwrap().unwrap();
        patient.name = "Renamed Invented".into();
        patient.archived = true;
        s.apply_audited(&[Change::Put(Record::Patient(patient))], &actor())
            .unwrap();
    });
    let out = opens_the_store(data, &["bilbyroot"]);
    assert!(text(&out.stdout).contains("Renamed Invented"), "{out:?}");

    // Held open by another kitnotes (with no socket to ask): never answered from the snapshot,
    // which may be older than what that kitnotes holds.
    let held = SledStore::open(&store_dir(data)).unwrap();
    let out = kitnotes(data, &["--demo", "search", "bilbyroot"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(text(&out.stderr).contains("already open"), "{out:?}");
    drop(held);

    // Only opened and closed, as the terminal UI does when nothing is typed.
    change(data, |_| {});
    let _ = opens_the_store(data, &["bilbyroot"]);
    let _ = from_snapshot(data, &["bilbyroot"]);
}

#[test]
fn a_damaged_snapshot_is_ignored() {
    let data = demo();
    let data = data.path();
    let expected = from_store(data, &["sleep", "--limit", "50"]);
    let whole = std::fs::read(snap(data)).unwrap();
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("cut in half", whole[..whole.len() / 2].to_vec()),
        ("cut by one byte", whole[..whole.len() - 1].to_vec()),
        ("empty", Vec::new()),
        ("not a snapshot", b"hello".repeat(100)),
        ("a byte flipped in its values", {
            let mut b = whole.clone();
            b[whole.len() / 3] ^= 0x20;
            b
        }),
        ("a byte flipped in its table", {
            let mut b = whole.clone();
            b[whole.len() - 200] ^= 0x01;
            b
        }),
    ];
    for (what, bytes) in damaged {
        std::fs::write(snap(data), &bytes).unwrap();
        let out = search(data, &["sleep", "--limit", "50"]);
        assert_eq!(
            text(&out.stdout),
            text(&expected.stdout),
            "a snapshot {what} changed the answer"
        );
        assert_eq!(notes(&out), notes(&expected), "a snapshot {what}");
    }
}

#[test]
fn an_encrypted_store_never_has_a_snapshot() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("store");
    let store =
        SledStore::create_encrypted(&dir, PASSPHRASE.as_bytes(), KdfParams::DEFAULT).unwrap();
    let patient = kitnotes::model::Patient::new(pid("p1"), "Ada Invented");
    let note = Note::draft(
        rid("0193f0c2-7a1b-7c3d-9e4f-00112233aa02"),
        pid("p1"),
        NoteKind::Integration,
        ts("2026-11-22T09:00:00Z"),
        "Garden",
        vec![Section {
            heading: "Notes".into(),
            body: "Spoke about the quokkaberry bushes".into(),
        }],
    );
    store
        .apply_audited(
            &[
                Change::Put(Record::Patient(patient)),
                Change::Put(Record::Note(note)),
            ],
            &actor(),
        )
        .unwrap();
    drop(store);
    let out = kitnotes(data.path(), &["search", "quokkaberry"]);
    assert!(text(&out.stdout).contains("Garden"), "{out:?}");
    assert!(
        !dir.join("search.snap").exists(),
        "an encrypted store got a snapshot"
    );
    // One put there (copied from a plain store) is removed, never read.
    let plain = demo();
    let _ = from_store(plain.path(), &["sleep"]);
    std::fs::copy(snap(plain.path()), dir.join("search.snap")).unwrap();
    let out = kitnotes(data.path(), &["search", "quokkaberry"]);
    assert!(text(&out.stdout).contains("Garden"), "{out:?}");
    assert!(
        !dir.join("search.snap").exists(),
        "the planted snapshot stayed"
    );
}

/// Opening the store (the terminal UI, any command) removes the snapshot beside it: no copy of
/// the records lingers once it can no longer answer.
#[test]
fn opening_the_store_removes_its_snapshot() {
    let data = demo();
    let data = data.path();
    let _ = from_store(data, &["sleep"]);
    assert!(snap(data).exists());
    change(data, |_| {});
    assert!(
        !snap(data).exists(),
        "the open left the snapshot beside the store"
    );
    // The next search opens the store and leaves a new one.
    let _ = opens_the_store(data, &["sleep"]);
    assert!(snap(data).exists());
}

/// A store held by a search that is only copying its snapshot out (its marker says so) is
/// waited for, not refused as open elsewhere; held without the marker, it is refused.
#[test]
fn a_store_held_to_copy_its_snapshot_is_waited_for() {
    let data = demo();
    let data = data.path();
    let dir = store_dir(data);
    let held = SledStore::open(&dir).unwrap();
    assert!(matches!(
        SledStore::open(&dir),
        Err(kitnotes::store::StoreError::Locked { .. })
    ));
    let copying = kitnotes::store::snapshot::Copying::start(&dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let opener = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            let opened = SledStore::open(&dir).map(drop);
            tx.send(()).unwrap();
            opened
        })
    };
    // Still waiting while the copy goes on (it waits up to 15 s; the check is not a timing).
    assert!(rx.recv_timeout(std::time::Duration::from_secs(1)).is_err());
    drop(held);
    drop(copying);
    opener.join().unwrap().expect("opened once the copy ended");
}
