//! The sled store as a user of the library sees it: data survives reopening, one patient's
//! timeline is one ordered scan, signed notes and signed dosing sessions cannot change, changes
//! are all or nothing, a second process is turned away with the path, and a newer schema is
//! refused.

use crate::common::*;
use kitnotes::model::*;
use kitnotes::store::sled_store::{Migration, SledStore, raw_db};
use kitnotes::store::{Change, Store, StoreError};
use std::path::Path;

fn patient(id: &str, name: &str) -> Record {
    Record::Patient(Patient::new(pid(id), name))
}

fn note(id: &str, patient: &str, at: &str) -> Note {
    Note::draft(
        rid(id),
        pid(patient),
        NoteKind::Integration,
        ts(at),
        format!("Note {id}"),
        vec![Section::new("Experience", "Felt calm by the water.")],
    )
}

fn phq9(id: &str, patient: &str, at: &str, items: Vec<u8>) -> Record {
    Record::Measure(Measure {
        id: rid(id),
        patient: pid(patient),
        instrument: Instrument::Phq9,
        at: ts(at),
        items,
        entered_total: None,
        session: None,
    })
}

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap()
}

#[test]
fn reopening_a_store_finds_everything_written() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.apply(&[
            Change::Put(patient("p1", "Ada Example")),
            Change::Put(Record::Note(note("n1", "p1", "2026-03-02T10:00:00Z"))),
            Change::Put(phq9("m1", "p1", "2026-03-01T10:00:00Z", vec![2; 9])),
        ])
        .unwrap();
        s.flush().unwrap();
    }
    let s = open(dir.path());
    let r = s
        .patient_records(&pid("p1"))
        .unwrap()
        .expect("patient is there");
    assert_eq!(r.patient.name, "Ada Example");
    assert_eq!(r.notes.len(), 1);
    assert_eq!(r.notes[0].sections[0].body, "Felt calm by the water.");
    assert_eq!(r.measures[0].score().unwrap().total(), 18.0);
    let c = s.counts().unwrap();
    assert_eq!(
        (c.patients, c.notes, c.measures, c.draft_notes),
        (1, 1, 1, 1)
    );
    assert!(s.check().unwrap().is_ok());
}

#[test]
fn a_timeline_is_one_patients_records_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.apply(&[
        Change::Put(patient("p1", "One")),
        Change::Put(patient("p10", "Ten")),
    ])
    .unwrap();
    for (id, p, at) in [
        ("n3", "p1", "2026-03-09T10:00:00Z"),
        ("n1", "p1", "2026-03-01T10:00:00Z"),
        ("x1", "p10", "2026-03-05T10:00:00Z"),
        ("n2", "p1", "2026-03-05T10:00:00Z"),
    ] {
        s.put(Record::Note(note(id, p, at))).unwrap();
    }
    let r = s.patient_records(&pid("p1")).unwrap().unwrap();
    let ids: Vec<&str> = r.notes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n1", "n2", "n3"]);
    let t = timeline::timeline(&r);
    assert_eq!(
        t[0].record.as_str(),
        "n3",
        "the timeline shows the newest first"
    );
    assert_eq!(
        s.patient_records(&pid("p10")).unwrap().unwrap().notes.len(),
        1
    );
    assert!(s.patient_records(&pid("p2")).unwrap().is_none());
}

#[test]
fn moving_a_draft_in_time_leaves_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.put(patient("p1", "One")).unwrap();
    let mut n = note("n1", "p1", "2026-03-01T10:00:00Z");
    s.put(Record::Note(n.clone())).unwrap();
    n.at = ts("2026-03-04T10:00:00Z");
    s.put(Record::Note(n)).unwrap();
    let r = s.patient_records(&pid("p1")).unwrap().unwrap();
    assert_eq!(r.notes.len(), 1);
    assert_eq!(r.notes[0].at, ts("2026-03-04T10:00:00Z"));
    assert!(s.check().unwrap().is_ok());
}

#[test]
fn the_store_refuses_to_change_a_signed_note_but_takes_addenda() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.put(patient("p1", "One")).unwrap();
    let mut n = note("n1", "p1", "2026-03-01T10:00:00Z");
    n.sign("Dr. Rivera", ts("2026-03-01T11:00:00Z"), &[])
        .unwrap();
    s.put(Record::Note(n.clone())).unwrap();

    let mut edited = n.clone();
    edited.sections[0].body = "Rewritten after signing".into();
    let err = s.put(Record::Note(edited)).unwrap_err();
    assert!(
        matches!(err, StoreError::Refused(NoteError::Signed(_))),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "note n1 is signed and cannot be changed; add an addendum instead"
    );

    let mut unsigned = n.clone();
    unsigned.status = NoteStatus::Draft;
    unsigned.signed_by = None;
    unsigned.signed_at = None;
    assert!(
        s.put(Record::Note(unsigned)).is_err(),
        "a signed note cannot be turned back into a draft"
    );
    assert!(matches!(
        s.apply(&[Change::Delete("n1".into())]),
        Err(StoreError::DeleteSigned(_))
    ));

    n.add_addendum("Dose was 56 mg.", "Dr. Rivera", ts("2026-03-02T09:00:00Z"))
        .unwrap();
    s.put(Record::Note(n)).unwrap();
    let stored = s
        .patient_records(&pid("p1"))
        .unwrap()
        .unwrap()
        .notes
        .remove(0);
    assert_eq!(stored.sections[0].body, "Felt calm by the water.");
    assert_eq!(stored.addenda.len(), 1);
}

fn esketamine_session(id: &str, patient: &str) -> DosingSession {
    DosingSession {
        number: Some(1),
        protocol: Some("esketamine-rems".into()),
        dose_mg: Some(56.0),
        lot: Some("TEST-LOT".into()),
        dose_time: Some(ts("2026-03-05T09:10:00Z")),
        observations: vec![Observation {
            at: ts("2026-03-05T09:25:00Z"),
            text: "Eyes closed, calm.".into(),
            adverse: false,
        }],
        ..DosingSession::new(
            rid(id),
            pid(patient),
            ts("2026-03-05T09:00:00Z"),
            "esketamine",
            Route::Intranasal,
        )
    }
}

#[test]
fn the_store_refuses_any_change_to_a_signed_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.put(patient("p1", "One")).unwrap();
    let mut session = esketamine_session("s1", "p1");
    s.put(Record::Session(session.clone())).unwrap();

    // Until it is signed the observation list can be edited.
    session.observations[0].text = "Eyes closed, calm; hands relaxed.".into();
    s.put(Record::Session(session.clone())).unwrap();
    session
        .sign("Dr. Rivera", ts("2026-03-05T12:00:00Z"))
        .unwrap();
    s.put(Record::Session(session.clone())).unwrap();
    // Writing the same signed session again is no change.
    s.put(Record::Session(session.clone())).unwrap();

    let mut edited = session.clone();
    edited.observations[0].text = "Rewritten after signing".into();
    let err = s.put(Record::Session(edited)).unwrap_err();
    assert!(
        matches!(err, StoreError::SessionRefused(SessionError::Signed(_))),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "dosing session s1 is signed and cannot be changed; add an addendum to its session note \
         instead"
    );
    let mut unsigned = session.clone();
    unsigned.signed_by = None;
    unsigned.signed_at = None;
    assert!(
        s.put(Record::Session(unsigned)).is_err(),
        "a signed session cannot be unsigned"
    );
    // Not in an atomic change with other records either: nothing of it is written.
    let mut edited = session.clone();
    edited.lot = Some("OTHER".into());
    assert!(
        s.apply(&[
            Change::Put(Record::Note(note("n9", "p1", "2026-03-05T13:00:00Z"))),
            Change::Put(Record::Session(edited)),
        ])
        .is_err()
    );
    assert!(s.record("n9").unwrap().is_none());
    let err = s.apply(&[Change::Delete("s1".into())]).unwrap_err();
    assert!(matches!(err, StoreError::DeleteSignedSession(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "signed dosing session s1 cannot be deleted"
    );

    let stored = s
        .patient_records(&pid("p1"))
        .unwrap()
        .unwrap()
        .sessions
        .remove(0);
    assert_eq!(stored, session);
    // An unsigned session can still be deleted.
    s.put(Record::Session(esketamine_session("s2", "p1")))
        .unwrap();
    s.apply(&[Change::Delete("s2".into())]).unwrap();
}

#[test]
fn a_change_with_one_bad_record_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let err = s
        .apply(&[
            Change::Put(patient("p1", "One")),
            Change::Put(Record::Note(note("n1", "p1", "2026-03-01T10:00:00Z"))),
            Change::Put(Record::Note(note("n2", "ghost", "2026-03-01T10:00:00Z"))),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "note n2 belongs to patient ghost, who is not in the store"
    );
    assert!(s.patients().unwrap().is_empty());
    assert!(s.record("n1").unwrap().is_none());

    let err = s
        .apply(&[
            Change::Put(patient("p1", "One")),
            Change::Put(phq9("m1", "p1", "2026-03-01T10:00:00Z", vec![1; 8])),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "record m1: items: PHQ-9 has 9 items, found 8"
    );
    assert!(s.patients().unwrap().is_empty());
}

#[test]
fn ids_are_unique_across_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.put(patient("p1", "One")).unwrap();
    let err = s
        .put(Record::Note(note("p1", "p1", "2026-03-01T10:00:00Z")))
        .unwrap_err();
    assert_eq!(err.to_string(), "id p1 is already used by a patient record");
    assert_eq!(s.id_kind("p1").unwrap(), Some(RecordKind::Patient));
}

#[test]
fn a_second_process_is_told_the_store_is_in_use_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }));
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(
        msg.contains("already open in another kitnotes process"),
        "{msg}"
    );
}

#[test]
fn a_store_from_a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.put(patient("p1", "One")).unwrap();
        raw_db(&s)
            .insert(b"M\0schema", &7u32.to_be_bytes())
            .unwrap();
        s.flush().unwrap();
    }
    let err = SledStore::open(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the store at {} was written by a newer kitnotes (schema 7, this one reads up to 2); \
             nothing was changed. Upgrade kitnotes, or move the store aside and restore a backup \
             made by this version with `kitnotes restore` (docs/BACKUP.md)",
            dir.path().display()
        )
    );
    // Refusing did not touch it: the version and the data are still there.
    let db = sled::open(dir.path().join("db")).unwrap();
    assert_eq!(
        db.get(b"M\0schema").unwrap().unwrap().as_ref(),
        7u32.to_be_bytes()
    );
    assert!(db.get(b"P\0p1").unwrap().is_some());
}

#[test]
fn migrations_run_once_in_order_and_bump_the_version() {
    fn add_marker(t: kitnotes::store::crypt::Vault<'_>) -> kitnotes::store::Result<()> {
        let runs = t.get(b"M\0test-runs")?.map(|v| v[0]).unwrap_or(0);
        t.insert(b"M\0test-runs", &[runs + 1])?;
        Ok(())
    }
    let dir = tempfile::tempdir().unwrap();
    // A store at schema 1 (no migrations known), then one migration to take it to 2.
    drop(SledStore::open_with(dir.path(), &[]).unwrap());
    let migrations: &[Migration] = &[add_marker];
    {
        let s = SledStore::open_with(dir.path(), migrations).unwrap();
        assert_eq!(s.schema_version().unwrap(), Some(2));
    }
    let s = SledStore::open_with(dir.path(), migrations).unwrap();
    assert_eq!(
        raw_db(&s).get(b"M\0test-runs").unwrap().unwrap().as_ref(),
        [1]
    );
}

#[test]
fn check_pinpoints_a_damaged_record_and_a_dangling_index() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.apply(&[
        Change::Put(patient("p1", "One")),
        Change::Put(Record::Note(note("n1", "p1", "2026-03-01T10:00:00Z"))),
    ])
    .unwrap();
    assert!(s.check().unwrap().is_ok());
    let db = raw_db(&s);
    let plain = kitnotes::store::crypt::Crypt::Plain;
    let entry = db.get(b"I\0n1").unwrap().unwrap();
    let key = kitnotes::store::codec::decode_ref(&plain, b"I\0n1", &entry).unwrap();
    let mut value = db.get(&key).unwrap().unwrap().to_vec();
    let last = value.len() - 3;
    value[last] ^= 0x20;
    db.insert(&key, value).unwrap();
    let dangling = kitnotes::store::codec::encode_ref(&plain, b"I\0gone", b"T\0p1\0nowhere");
    db.insert(b"I\0gone", dangling).unwrap();
    let report = s.check().unwrap();
    assert_eq!(
        sorted(report.problems),
        [
            "index entry gone points to a record that is missing",
            "note n1 (patient p1): checksum mismatch: the value was damaged or moved from another key",
        ]
    );
    let err = s.patient_records(&pid("p1")).unwrap_err();
    assert!(
        err.to_string()
            .contains("note n1 (patient p1) cannot be decoded: checksum mismatch"),
        "{err}"
    );
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A change set several chunks long, for the chunked write path.
fn many_notes(patient_id: &str, n: usize) -> Vec<Change> {
    let mut changes = vec![Change::Put(patient(patient_id, "Many Notes"))];
    for i in 0..n {
        let at = jiff::Timestamp::from_second(1_770_000_000 + i as i64)
            .unwrap()
            .to_string();
        changes.push(Change::Put(Record::Note(note(
            &format!("{patient_id}-n{i}"),
            patient_id,
            &at,
        ))));
    }
    changes
}

#[test]
fn a_large_change_is_written_whole_and_leaves_no_undo_behind() {
    use kitnotes::store::sled_store::CHUNK_OPS;
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let n = CHUNK_OPS * 3; // two keys per note: six chunks and more
    s.apply(&many_notes("p1", n)).unwrap();
    assert_eq!(s.counts().unwrap().notes, n as u64);
    assert_eq!(raw_db(&s).scan_prefix(b"M\0undo\0").count(), 0);
    assert!(s.check().unwrap().is_ok());
}

#[test]
fn a_large_change_refused_at_its_last_record_writes_nothing() {
    use kitnotes::store::sled_store::CHUNK_OPS;
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let mut changes = many_notes("p1", CHUNK_OPS * 2);
    changes.push(Change::Put(phq9(
        "bad",
        "p1",
        "2026-03-01T10:00:00Z",
        vec![4; 9],
    )));
    let err = s.apply(&changes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "record bad: items[0]: item 1 is 4; each item is scored 0 to 3"
    );
    assert!(s.patients().unwrap().is_empty());
    assert_eq!(s.counts().unwrap().notes, 0);
}

#[test]
fn an_interrupted_large_change_is_rolled_back_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.apply(&[Change::Put(patient("p1", "Before"))]).unwrap();
        // What a killed chunked write leaves behind: a chunk written with its undo entry, and
        // no commit. The undo holds the old value (or absence) of every key the change wrote:
        // the patient, the note and its id index entry, and the search index's keys.
        let db = raw_db(&s);
        let snapshot = |db: &sled::Db| -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
            db.iter()
                .map(|kv| kv.unwrap())
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect()
        };
        let before = snapshot(&db);
        s.apply(&[
            Change::Put(patient("p1", "After")),
            Change::Put(Record::Note(note("n1", "p1", "2026-03-01T10:00:00Z"))),
        ])
        .unwrap();
        let after = snapshot(&db);
        assert!(after.contains_key(b"I\0n1".as_slice()));
        let mut undo = Vec::new();
        for (key, value) in &after {
            let old = before.get(key);
            if old == Some(value) {
                continue;
            }
            undo.extend_from_slice(&(key.len() as u32).to_be_bytes());
            undo.extend_from_slice(key);
            match old {
                None => undo.push(0),
                Some(v) => {
                    undo.push(1);
                    undo.extend_from_slice(&(v.len() as u32).to_be_bytes());
                    undo.extend_from_slice(v);
                }
            }
        }
        db.insert(
            [b"M\0undo\0".as_slice(), &0u64.to_be_bytes()].concat(),
            undo,
        )
        .unwrap();
        s.flush().unwrap();
    }
    let s = open(dir.path());
    assert_eq!(s.rolled_back_on_open(), 1);
    assert_eq!(s.patient(&pid("p1")).unwrap().unwrap().name, "Before");
    assert!(s.record("n1").unwrap().is_none());
    assert!(s.check().unwrap().is_ok());
    drop(s);
    assert_eq!(
        open(dir.path()).rolled_back_on_open(),
        0,
        "rolled back once, not again"
    );
}
