//! The audit trail as a clinician and an auditor see it: every change a user makes leaves an
//! entry saying who did what when, in the same write as the change; a refused change leaves
//! none; and `verify` (and `check`) fail after one entry is changed, removed or reordered, and
//! pass on an untouched log.

use crate::common::*;
use kitnotes::model::*;
use kitnotes::store::audit::{AuditProblem, ChainHash};
use kitnotes::store::crypt::Crypt;
use kitnotes::store::sled_store::raw_db;
use kitnotes::store::{
    Actor, AuditAction, AuditEntry, AuditFilter, Change, SledStore, Store, codec, keys,
};
use kitnotes::templates;
use std::path::Path;

fn rivera(at: &str) -> Actor {
    Actor::new("Dr. Rivera", ts(at))
}

fn all(store: &SledStore) -> Vec<AuditEntry> {
    store.audit_log(&AuditFilter::default()).unwrap()
}

/// A clinician's morning: a patient, a note from a template saved twice, signed, corrected by an
/// addendum, a second patient created and archived, and an export: 8 entries.
fn a_morning(dir: &Path) -> SledStore {
    let store = SledStore::open(dir).unwrap();
    let ada = Patient::new(pid("p1"), "Ada Example");
    store
        .apply_audited(
            &[Change::Put(Record::Patient(ada))],
            &rivera("2026-03-02T08:00:00Z"),
        )
        .unwrap();
    let template = templates::builtins().get("integration").unwrap();
    let mut note = template.new_note(rid("n1"), pid("p1"), ts("2026-03-02T09:00:00Z"));
    store
        .apply_audited(
            &[Change::Put(Record::Note(note.clone()))],
            &rivera("2026-03-02T09:00:05Z"),
        )
        .unwrap();
    for (i, text) in [
        (0, "Remembered the lake."),
        (3, "- Walk daily: 4 of 7 days."),
        (4, "Journal after walks."),
    ] {
        note.set_section_body(i, text).unwrap();
    }
    store
        .apply_audited(
            &[Change::Put(Record::Note(note.clone()))],
            &rivera("2026-03-02T09:20:00Z"),
        )
        .unwrap();
    // Saving what is already stored changes nothing and logs nothing.
    store
        .apply_audited(
            &[Change::Put(Record::Note(note.clone()))],
            &rivera("2026-03-02T09:20:01Z"),
        )
        .unwrap();
    templates::builtins()
        .sign(&mut note, "Dr. Rivera", ts("2026-03-02T09:30:00Z"))
        .unwrap();
    store
        .apply_audited(
            &[Change::Put(Record::Note(note.clone()))],
            &rivera("2026-03-02T09:30:00Z"),
        )
        .unwrap();
    note.add_addendum(
        "The lake is from age nine.",
        "Dr. Rivera",
        ts("2026-03-03T08:00:00Z"),
    )
    .unwrap();
    store
        .apply_audited(
            &[Change::Put(Record::Note(note))],
            &rivera("2026-03-03T08:00:00Z"),
        )
        .unwrap();
    let mut ben = Patient::new(pid("p2"), "Ben Example");
    store
        .apply_audited(
            &[Change::Put(Record::Patient(ben.clone()))],
            &rivera("2026-03-03T08:10:00Z"),
        )
        .unwrap();
    ben.archived = true;
    store
        .apply_audited(
            &[Change::Put(Record::Patient(ben))],
            &rivera("2026-03-03T08:11:00Z"),
        )
        .unwrap();
    store
        .log_event(
            &rivera("2026-03-03T08:20:00Z")
                .event(AuditAction::Exported)
                .patient(&pid("p1"))
                .detail("Markdown chart to chart.md"),
        )
        .unwrap();
    store.flush().unwrap();
    store
}

#[test]
fn each_change_a_user_makes_is_logged_with_who_what_and_when() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let log = all(&store);
    let rows: Vec<(u64, &str, &str, Option<&str>, &str)> = log
        .iter()
        .map(|e| {
            (
                e.seq,
                e.action.as_str(),
                e.patient.as_ref().map_or("", |p| p.as_str()),
                e.record.as_deref(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "patient-created", "p1", Some("p1"), ""),
            (
                2,
                "note-created",
                "p1",
                Some("n1"),
                "integration note from template integration"
            ),
            (
                3,
                "draft-saved",
                "p1",
                Some("n1"),
                "changed: sections (Experience, Goal check-ins, Plan)"
            ),
            (
                4,
                "note-signed",
                "p1",
                Some("n1"),
                "integration note signed by Dr. Rivera"
            ),
            (
                5,
                "addendum-added",
                "p1",
                Some("n1"),
                "addendum 1 by Dr. Rivera"
            ),
            (6, "patient-created", "p2", Some("p2"), ""),
            (7, "patient-archived", "p2", Some("p2"), ""),
            (8, "exported", "p1", None, "Markdown chart to chart.md"),
        ]
    );
    assert!(log.iter().all(|e| e.who == "Dr. Rivera"));
    assert_eq!(log[3].at, ts("2026-03-02T09:30:00Z"));
    for w in log.windows(2) {
        assert_eq!(
            w[1].prev, w[0].hash,
            "each entry is chained to the one before"
        );
    }
    assert_eq!(log[0].prev, ChainHash::GENESIS);
    // The log names sections, never what was written in them, and never the patient's name.
    let text = format!("{log:?}");
    assert!(
        !text.contains("lake") && !text.contains("Example"),
        "{text}"
    );

    let v = store.verify_audit().unwrap();
    assert!(v.is_ok(), "{:?}", v.problem);
    assert_eq!(v.entries, 8);
    assert_eq!(v.head, Some(log[7].hash));
    let report = store.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.audit.entries, 8);
}

#[test]
fn the_log_filters_by_patient_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let p2 = store
        .audit_log(&AuditFilter {
            patient: Some(pid("p2")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        p2.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [6, 7],
        "only p2's entries"
    );
    let day2 = store
        .audit_log(&AuditFilter {
            patient: None,
            since: Some(ts("2026-03-03T00:00:00Z")),
            until: Some(ts("2026-03-03T08:15:00Z")),
        })
        .unwrap();
    assert_eq!(day2.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
}

#[test]
fn a_refused_change_writes_no_entry_and_a_signed_note_stays_final() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let before = all(&store);
    let Some(Record::Note(mut signed)) = store.record("n1").unwrap() else {
        panic!("n1 is a note")
    };
    signed.sections[0].body = "Rewritten after signing".into();
    let err = store
        .apply_audited(
            &[Change::Put(Record::Note(signed))],
            &rivera("2026-03-04T08:00:00Z"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "note n1 is signed and cannot be changed; add an addendum instead"
    );
    assert!(
        store
            .apply_audited(
                &[Change::Delete("n1".into())],
                &rivera("2026-03-04T08:00:00Z")
            )
            .is_err()
    );
    assert_eq!(
        all(&store),
        before,
        "nothing logged for what did not happen"
    );
    assert!(store.verify_audit().unwrap().is_ok());
}

#[test]
fn a_draft_deleted_and_a_session_recorded_are_logged_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let template = templates::builtins().get("soap").unwrap();
    let draft = template.new_note(rid("n2"), pid("p1"), ts("2026-03-04T09:00:00Z"));
    let actor = rivera("2026-03-04T09:00:00Z");
    let measure = Record::Measure(Measure {
        id: rid("m1"),
        patient: pid("p1"),
        instrument: Instrument::Gad7,
        at: ts("2026-03-04T09:00:00Z"),
        items: vec![1; 7],
        entered_total: None,
        session: None,
    });
    let written = store
        .apply_audited(
            &[Change::Put(Record::Note(draft)), Change::Put(measure)],
            &actor,
        )
        .unwrap();
    assert_eq!(
        written.iter().map(|e| e.action).collect::<Vec<_>>(),
        [AuditAction::NoteCreated, AuditAction::RecordCreated]
    );
    let written = store
        .apply_audited(&[Change::Delete("n2".into())], &actor)
        .unwrap();
    assert_eq!(written[0].action, AuditAction::DraftDeleted);
    assert_eq!(written[0].seq, 11);
    assert!(store.verify_audit().unwrap().is_ok());
}

// Tampering, through the store's raw database: what someone with the files could do.

fn entry_at(store: &SledStore, seq: u64) -> (Vec<u8>, Vec<u8>) {
    let key = keys::audit_key(seq);
    let value = raw_db(store).get(&key).unwrap().unwrap().to_vec();
    (key, value)
}

fn problem(store: &SledStore) -> AuditProblem {
    let v = store.verify_audit().unwrap();
    let p = v.problem.expect("verify must fail");
    let report = store.check().unwrap();
    assert!(
        report.problems.contains(&p.to_string()),
        "check reports it too: {:?}",
        report.problems
    );
    p
}

#[test]
fn verify_fails_after_one_entrys_bytes_are_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    // A flipped byte in the body: the envelope's checksum no longer matches.
    let (key, mut value) = entry_at(&store, 3);
    let last = value.len() - 2;
    value[last] ^= 0x01;
    raw_db(&store).insert(&key, value).unwrap();
    let p = problem(&store);
    assert!(matches!(p, AuditProblem::Damaged { seq: 3, .. }), "{p}");
    assert!(
        p.to_string().starts_with("audit entry 3 cannot be read"),
        "{p}"
    );
}

#[test]
fn verify_fails_after_an_entry_is_rewritten_with_a_valid_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    // Someone who knows the format: changes who signed, re-encodes with a correct checksum.
    let (key, value) = entry_at(&store, 4);
    let mut e = codec::decode_audit(&Crypt::Plain, &key, &value).unwrap();
    e.who = "Dr. Somebody Else".into();
    raw_db(&store)
        .insert(&key, codec::encode_audit(&Crypt::Plain, &key, &e))
        .unwrap();
    assert_eq!(problem(&store), AuditProblem::Changed { seq: 4 });
    // ...and recomputes that entry's hash too: the next entry no longer follows it.
    e.hash = e.hash_after(e.prev);
    raw_db(&store)
        .insert(&key, codec::encode_audit(&Crypt::Plain, &key, &e))
        .unwrap();
    let p = problem(&store);
    assert_eq!(p, AuditProblem::BrokenLink { seq: 5 });
    assert_eq!(
        p.to_string(),
        "audit entry 5 does not follow entry 4: an entry before it was changed, removed or reordered"
    );
}

#[test]
fn verify_fails_after_an_entry_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    raw_db(&store).remove(keys::audit_key(4)).unwrap();
    assert_eq!(problem(&store), AuditProblem::Missing { seq: 4, found: 5 });

    // The newest entry: the head beside the log still counts it.
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    raw_db(&store).remove(keys::audit_key(8)).unwrap();
    let p = problem(&store);
    assert_eq!(
        p,
        AuditProblem::TailRemoved {
            last: 7,
            written: 8
        }
    );
    // Writing on does not paper over the gap: the next entry follows the head, not the cut.
    store
        .log_event(&rivera("2026-03-05T08:00:00Z").event(AuditAction::Exported))
        .unwrap();
    assert_eq!(problem(&store), AuditProblem::Missing { seq: 8, found: 9 });
}

#[test]
fn verify_fails_after_two_entries_are_swapped() {
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    // The stored values swapped as they are: each checksum covers its key, so both no longer
    // belong where they are.
    let ((k2, v2), (k3, v3)) = (entry_at(&store, 2), entry_at(&store, 3));
    raw_db(&store).insert(&k2, v3.clone()).unwrap();
    raw_db(&store).insert(&k3, v2.clone()).unwrap();
    let p = problem(&store);
    assert!(matches!(p, AuditProblem::Damaged { seq: 2, .. }), "{p}");
    assert!(p.to_string().contains("moved from another key"), "{p}");

    // Swapped and re-encoded for their new keys: the entry numbers give it away.
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let ((k2, v2), (k3, v3)) = (entry_at(&store, 2), entry_at(&store, 3));
    let (e2, e3) = (
        codec::decode_audit(&Crypt::Plain, &k2, &v2).unwrap(),
        codec::decode_audit(&Crypt::Plain, &k3, &v3).unwrap(),
    );
    raw_db(&store)
        .insert(&k2, codec::encode_audit(&Crypt::Plain, &k2, &e3))
        .unwrap();
    raw_db(&store)
        .insert(&k3, codec::encode_audit(&Crypt::Plain, &k3, &e2))
        .unwrap();
    let p = problem(&store);
    assert_eq!(
        p,
        AuditProblem::Misplaced {
            position: 2,
            claims: 3
        }
    );
    assert_eq!(
        p.to_string(),
        "the audit entry at position 2 says it is entry 3: entries were moved or reordered"
    );

    // Renumbered as well: their hashes cover their numbers.
    let dir = tempfile::tempdir().unwrap();
    let store = a_morning(dir.path());
    let (mut e2, mut e3) = (
        codec::decode_audit(&Crypt::Plain, &k2, &entry_at(&store, 2).1).unwrap(),
        codec::decode_audit(&Crypt::Plain, &k3, &entry_at(&store, 3).1).unwrap(),
    );
    std::mem::swap(&mut e2.seq, &mut e3.seq);
    raw_db(&store)
        .insert(&k2, codec::encode_audit(&Crypt::Plain, &k2, &e3))
        .unwrap();
    raw_db(&store)
        .insert(&k3, codec::encode_audit(&Crypt::Plain, &k3, &e2))
        .unwrap();
    assert_eq!(problem(&store), AuditProblem::Changed { seq: 2 });
}

#[test]
fn an_untouched_log_passes_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let store = a_morning(dir.path());
        store.verify_audit().unwrap().head
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let store = SledStore::open(dir.path()).unwrap();
    let v = store.verify_audit().unwrap();
    assert!(v.is_ok());
    assert_eq!(v.head, head);
    // Appending continues the chain after a reopen.
    let e = store
        .log_event(&rivera("2026-03-05T08:00:00Z").event(AuditAction::Exported))
        .unwrap();
    assert_eq!((e.seq, Some(e.prev)), (9, head));
    assert!(store.verify_audit().unwrap().is_ok());
}

// Through the binary.

#[test]
fn import_export_and_the_audit_commands_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::create_dir_all(data.join("config")).unwrap();
    std::fs::write(
        data.join("config/config.toml"),
        "clinician = \"Dr. Test Clinician\"\ntimezone = \"UTC\"\n",
    )
    .unwrap();
    let file = data.join("in.jsonl");
    std::fs::write(
        &file,
        "{\"type\":\"kitnotes\",\"version\":1}\n\
         {\"type\":\"patient\",\"id\":\"p1\",\"name\":\"Ada Example\"}\n\
         {\"type\":\"patient\",\"id\":\"p2\",\"name\":\"Ben Example\"}\n\
         {\"type\":\"note\",\"id\":\"n1\",\"patient\":\"p1\",\"kind\":\"session\",\"at\":\"2026-03-02T10:00:00Z\",\"title\":\"S1\",\"sections\":[],\"status\":\"draft\"}\n",
    )
    .unwrap();
    let out = kitnotes(data, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kitnotes(
        data,
        &[
            "export",
            "--patient",
            "p1",
            "-o",
            data.join("p1.jsonl").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = kitnotes(data, &["audit"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(lines[0].starts_with("SEQ  TIME (UTC)"), "{listing}");
    assert!(
        lines[1].contains("Dr. Test Clinician  imported  p1"),
        "{listing}"
    );
    assert!(
        lines[1].contains("1 patients, 1 notes, 0 dosing sessions, 0 measures, 0 goals from"),
        "{listing}"
    );
    assert!(lines[2].contains("imported  p2"), "{listing}");
    assert!(
        lines[3].contains("exported  p1") && lines[3].contains("JSON Lines to"),
        "{listing}"
    );

    let out = kitnotes(data, &["audit", "--patient", "p2"]);
    assert_eq!(text(&out.stdout).lines().count(), 2);
    let out = kitnotes(
        data,
        &["audit", "--since", "2000-01-01", "--until", "2000-12-31"],
    );
    assert_eq!(text(&out.stdout).trim(), "No audit entries match.");
    let out = kitnotes(
        data,
        &["audit", "--since", "2001-01-01", "--until", "2000-12-31"],
    );
    assert_eq!(out.status.code(), Some(1));

    let out = kitnotes(data, &["audit", "verify"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("Audit log: 3 entries, chain intact."),
        "{report}"
    );
    let head = report
        .lines()
        .find_map(|l| l.strip_prefix("Head: "))
        .unwrap()
        .to_owned();
    let out = kitnotes(data, &["audit", "verify", "--kept-head", &head]);
    assert!(
        text(&out.stdout).contains("The kept head is entry 3 of this log."),
        "{}",
        text(&out.stdout)
    );
    let out = kitnotes(data, &["check"]);
    assert!(text(&out.stdout).contains("Audit log: 3 entries, chain intact"));

    // Tamper with the middle entry, then ask again.
    {
        let store = SledStore::open(&data.join("store")).unwrap();
        let (key, mut value) = entry_at(&store, 2);
        let at = value.len() - 3;
        value[at] ^= 0x20;
        raw_db(&store).insert(&key, value).unwrap();
        store.flush().unwrap();
    }
    let out = kitnotes(data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("Audit log: NOT intact: audit entry 2 cannot be read"),
        "{report}"
    );
    assert!(
        report.contains("The 1 entries before that are in order."),
        "{report}"
    );
    let out = kitnotes(data, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("audit entry 2 cannot be read"));
    let out = kitnotes(data, &["audit", "verify", "--kept-head", "not-a-hash"]);
    assert_eq!(out.status.code(), Some(1));
}
