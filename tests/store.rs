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
            "the store at {} was written by a newer kitnotes (schema 7, this one reads up to 3); \
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

// ---------------------------------------------------------------------------------------------
// The agenda index: Today and the drafts list read it instead of every patient's records.

/// A small seeded generator (xorshift64*), so a failing round can be run again by its seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// A moment within `days` of `around`, to the minute.
    fn near(&mut self, around: jiff::Timestamp, days: i64) -> jiff::Timestamp {
        let mins = (self.next() % (2 * days as u64 * 1440)) as i64 - days * 1440;
        around + jiff::SignedDuration::from_mins(mins)
    }
    fn pick<'a, T>(&mut self, list: &'a [T]) -> Option<&'a T> {
        (!list.is_empty()).then(|| &list[self.below(list.len())])
    }
}

/// Today as every patient's records give it, with the rules applied to the records directly.
fn today_scanned(
    store: &SledStore,
    cadence: &kitnotes::model::cadence::Cadence,
    gap: kitnotes::model::cadence::CadenceStep,
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
) -> kitnotes::model::today::Today {
    let mut t = kitnotes::model::today::Today::default();
    for p in store.patients().unwrap() {
        let r = store.patient_records(&p.id).unwrap().unwrap();
        t.add_scanned(&r, cadence, gap, now, tz);
    }
    t.sort();
    t
}

/// The drafts list as every patient's records give it: each unsigned note, oldest first.
fn drafts_scanned(store: &SledStore) -> Vec<(RecordId, String, bool, jiff::Timestamp, String)> {
    let mut rows = Vec::new();
    for p in store.patients().unwrap() {
        let r = store.patient_records(&p.id).unwrap().unwrap();
        for n in r.notes.iter().filter(|n| !n.is_signed()) {
            rows.push((
                n.id.clone(),
                p.name.clone(),
                p.archived,
                n.at,
                n.title.clone(),
            ));
        }
    }
    rows.sort_by(|a, b| a.3.cmp(&b.3).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// Today and the drafts list from the index equal the full scan, at several moments and in two
/// zones, and the index equals the agendas made from the records.
fn assert_index_matches(store: &SledStore, now: jiff::Timestamp, context: &str) {
    let mut indexed = store.agendas().unwrap();
    let mut scanned = kitnotes::store::scan_agendas(store).unwrap();
    indexed.sort_by(|a, b| a.patient.cmp(&b.patient));
    scanned.sort_by(|a, b| a.patient.cmp(&b.patient));
    assert_eq!(indexed, scanned, "{context}: the agendas");
    let cadence = kitnotes::model::cadence::Cadence::default();
    let gap = kitnotes::model::cadence::CadenceStep::Weeks(8);
    let zones = [
        jiff::tz::TimeZone::UTC,
        jiff::tz::TimeZone::fixed(jiff::tz::offset(-5)),
    ];
    for tz in &zones {
        for hours in [-80, -3, 0, 20, 24 * 6, 24 * 40] {
            let at = now + jiff::SignedDuration::from_hours(hours);
            let from_index =
                kitnotes::app::views::read_today(store, &cadence, gap, at, tz).unwrap();
            let full = today_scanned(store, &cadence, gap, at, tz);
            assert_eq!(from_index, full, "{context}: Today at {at} in {tz:?}");
        }
    }
    let drafts: Vec<_> = kitnotes::app::drafts::unsigned_drafts(store)
        .unwrap()
        .into_iter()
        .map(|d| (d.note, d.patient_name, d.archived, d.at, d.title))
        .collect();
    assert_eq!(drafts, drafts_scanned(store), "{context}: the drafts list");
}

/// One random write of the kinds Today and the drafts list read; `None` if it was refused
/// (a random change may break a rule, and the store must refuse it whole).
fn random_write(
    store: &SledStore,
    dice: &mut Dice,
    now: jiff::Timestamp,
    n: usize,
) -> &'static str {
    let patients: Vec<Patient> = store.patients().unwrap();
    let id = |what: &str| rid(&format!("{what}{n}"));
    let Some(p) = dice.pick(&patients).cloned() else {
        store
            .put(patient(&format!("p{n}"), &format!("Invented Person {n}")))
            .unwrap();
        return "patient";
    };
    let r = store.patient_records(&p.id).unwrap().unwrap();
    let drafts: Vec<&Note> = r.notes.iter().filter(|n| !n.is_signed()).collect();
    let kind = dice.below(15);
    let (what, result) = match kind {
        0 => (
            "patient",
            store.put(patient(&format!("p{n}"), &format!("Invented Person {n}"))),
        ),
        1 | 2 => {
            let mut note = note(&format!("n{n}"), p.id.as_str(), "2026-01-01T00:00:00Z");
            note.at = dice.near(now, 20);
            note.kind = NoteKind::ALL[dice.below(4)];
            ("draft", store.put(Record::Note(note)))
        }
        3 | 4 => match dice.pick(&drafts) {
            Some(d) => {
                let mut d = (*d).clone();
                let at = dice.near(d.at, 3).max(d.at);
                d.sign("Dr. Invented", at, &[]).unwrap();
                ("sign", store.put(Record::Note(d)))
            }
            None => ("sign", Ok(())),
        },
        5 => match dice.pick(&drafts) {
            Some(d) => ("discard", store.apply(&[Change::Delete(d.id.to_string())])),
            None => ("discard", Ok(())),
        },
        6 | 7 => {
            let mut items: Vec<u8> = (0..9).map(|_| dice.below(4) as u8).collect();
            if dice.chance(70) {
                items[8] = 1 + dice.below(3) as u8;
            }
            let mut m = phq9(
                &format!("m{n}"),
                p.id.as_str(),
                "2026-01-01T00:00:00Z",
                items,
            );
            if let Record::Measure(m) = &mut m {
                m.at = dice.near(now, 20);
            }
            ("phq9", store.put(m))
        }
        8 => (
            "follow-up",
            store.put(Record::SafetyFollowUp(SafetyFollowUp {
                id: id("f"),
                patient: p.id.clone(),
                at: dice.near(now, 20),
                risk: RiskLevel::Low,
                plan: "Invented plan: call tomorrow".into(),
                by: "Dr. Invented".into(),
                measure: None,
            })),
        ),
        9 => {
            let status = [
                GoalStatus::Active,
                GoalStatus::Active,
                GoalStatus::Paused,
                GoalStatus::Achieved,
                GoalStatus::Dropped,
            ][dice.below(5)];
            (
                "goal",
                store.put(Record::Goal(IntegrationGoal {
                    id: id("g"),
                    patient: p.id.clone(),
                    // Set before the doses around now, mostly, so their check-ins are expected.
                    at: dice.near(now - jiff::SignedDuration::from_hours(24 * 40), 40),
                    title: "Walk by the water".into(),
                    domain: LifeDomain::Health,
                    status,
                    target_date: None,
                    source_note: None,
                    sessions: Vec::new(),
                    check_ins: Vec::new(),
                })),
            )
        }
        10 => match dice.pick(&r.goals).cloned() {
            Some(mut g) => {
                g.check_ins.push(CheckIn {
                    at: dice.near(now, 20),
                    progress: dice.below(11) as u8,
                    note: String::new(),
                    integration_note: None,
                });
                ("check-in", store.put(Record::Goal(g)))
            }
            None => ("check-in", Ok(())),
        },
        11 | 12 => {
            // Half of them about today, so the day's sessions and fresh cadences are tested.
            let days = if dice.chance(50) { 2 } else { 30 };
            let at = dice.near(now, days);
            let mut s = DosingSession::new(id("s"), p.id.clone(), at, "ketamine", Route::Im);
            s.dose_mg = Some(35.0);
            if dice.chance(75) {
                s.dose_time = Some(at + jiff::SignedDuration::from_mins(10));
                if dice.chance(50) {
                    s.discharge = Some(Box::new(Discharge {
                        at: at + jiff::SignedDuration::from_mins(130),
                        transport_arranged: true,
                        collected_by: None,
                        transport_refused: None,
                        ready_minutes: None,
                    }));
                }
            }
            ("session", store.put(Record::Session(s)))
        }
        13 => {
            let mut p = p.clone();
            if dice.chance(50) {
                p.archived = !p.archived;
            } else {
                p.name = format!("Invented Renamed {n}");
            }
            ("archive or rename", store.put(Record::Patient(p)))
        }
        _ => (
            "course",
            store.put(Record::Course(Course {
                id: id("c"),
                patient: p.id.clone(),
                // Mostly before the doses around now, so the current course has doses.
                at: dice.near(now - jiff::SignedDuration::from_hours(24 * 45), 30),
                kind: CourseKind::ALL[dice.below(3)],
                by: "Dr. Invented".into(),
                planned_sessions: None,
                reason: String::new(),
            })),
        ),
    };
    match result {
        Ok(()) => what,
        Err(_) => "refused",
    }
}

#[test]
fn today_and_the_drafts_list_from_the_index_equal_the_full_scan_after_random_writes() {
    let now = ts("2026-11-01T15:00:00Z");
    for seed in [1u64, 7, 42, 2026] {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let mut dice = Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut done: std::collections::HashMap<&str, usize> = Default::default();
        for n in 0..160 {
            let what = random_write(&store, &mut dice, now, n);
            *done.entry(what).or_default() += 1;
            if n % 20 == 19 {
                assert_index_matches(&store, now, &format!("seed {seed}, after write {n}"));
            }
        }
        // An import: a new patient's records added in two parts.
        let actor = kitnotes::store::Actor::new("import", now);
        let mut parts = vec![
            Ok(vec![
                patient("imported", "Invented Imported"),
                Record::Note(note("in1", "imported", "2026-10-31T09:00:00Z")),
            ]),
            Ok(vec![
                phq9(
                    "im1",
                    "imported",
                    "2026-10-31T10:00:00Z",
                    vec![1, 1, 1, 1, 1, 1, 1, 1, 2],
                ),
                Record::Note(note("in2", "imported", "2026-10-30T09:00:00Z")),
            ]),
        ]
        .into_iter();
        store
            .add_in_parts(
                &mut parts,
                &mut std::iter::empty(),
                &actor.event(kitnotes::store::AuditAction::Imported),
            )
            .unwrap();
        assert_index_matches(&store, now, &format!("seed {seed}, after an import"));
        // Every kind of write happened, so the comparison covered each.
        for what in [
            "draft",
            "sign",
            "discard",
            "phq9",
            "follow-up",
            "goal",
            "check-in",
            "session",
            "archive or rename",
            "course",
        ] {
            assert!(
                done.get(what).is_some_and(|n| *n > 0),
                "seed {seed}: no {what} in {done:?}"
            );
        }
        let report = store.check().unwrap();
        assert!(report.is_ok(), "seed {seed}: {:?}", report.problems);
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_index_matches(&store, now, &format!("seed {seed}, reopened"));
    }
}

#[test]
fn check_reports_an_agenda_out_of_step_and_reindex_mends_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store.put(patient("p1", "Invented One")).unwrap();
    store
        .put(Record::Note(note("n1", "p1", "2026-10-31T09:00:00Z")))
        .unwrap();
    // The draft's agenda entry goes behind the store's back: the list would miss it.
    let db = raw_db(&store);
    let key: Vec<u8> = [&b"G\0"[..], b"p1"].concat();
    let before = db.get(&key).unwrap().unwrap();
    db.remove(&key).unwrap();
    let report = store.check().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("agenda index: patient p1 has no agenda")),
        "{:?}",
        report.problems
    );
    assert!(
        kitnotes::app::drafts::unsigned_drafts(&store)
            .unwrap()
            .is_empty()
    );
    store.reindex().unwrap();
    assert_eq!(db.get(&key).unwrap().unwrap(), before);
    assert!(store.check().unwrap().is_ok());
    let drafts = kitnotes::app::drafts::unsigned_drafts(&store).unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].title, "Note n1");
}

/// A practice large enough that Today's agendas are read and worked out on two threads
/// (`store::agenda::PARALLEL_FROM`): the same Today and drafts list as every record gives.
#[test]
fn todays_two_threads_give_what_every_record_gives() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let actor = kitnotes::store::Actor::new("test", jiff::Timestamp::UNIX_EPOCH);
    let mut spec = kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 1));
    spec.patients = (kitnotes::store::agenda::PARALLEL_FROM + 37) as u32;
    spec.notes_per_patient = 3;
    kitnotes::demo::build(&store, &spec, &actor, &mut |_| {}).unwrap();
    assert!(store.agendas().unwrap().len() > kitnotes::store::agenda::PARALLEL_FROM);
    let at = ts("2026-11-01T08:00:00Z");
    let today = kitnotes::app::views::read_today(
        &store,
        &kitnotes::model::cadence::Cadence::default(),
        kitnotes::model::cadence::CadenceStep::Weeks(8),
        at,
        &jiff::tz::TimeZone::UTC,
    )
    .unwrap();
    assert!(
        !today.check_ins.is_empty() && !today.drafts.is_empty() && !today.sessions.is_empty(),
        "the demo gives Today something in each group to compare: {today:?}"
    );
    assert_index_matches(&store, at, "two threads");
}
