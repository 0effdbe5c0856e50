//! Tamper evidence: an attacker who can write the store's files but has no passphrase writes
//! them with sled directly (the version kitnotes uses), copying sealed values around as a
//! 60-line program would. Each attack must be caught: a signed note rolled back, any other
//! record rolled back, the audit log's tail cut with its old head put back, the database
//! swapped for another store's, or for an older copy of the same store. Every attack runs
//! several times on fresh stores, and the counts go to stderr past the harness's capture.

use crate::common::{PASSPHRASE, copy_dir, pid, rid, ts};
use kitnotes::model::{Note, NoteKind, Patient, Record, Section};
use kitnotes::store::crypt::KdfParams;
use kitnotes::store::{Actor, Change, SledStore, Store, StoreError};
use std::path::{Path, PathBuf};

/// The cheapest Argon2id parameters a store accepts: unlocking takes milliseconds.
const FAST: KdfParams = KdfParams {
    m_cost_kib: 7_168,
    t_cost: 5,
    p_cost: 1,
};

/// Runs of each attack.
const RUNS: usize = 4;

fn actor(at: &str) -> Actor {
    Actor::new("Dr. Invented", ts(at))
}

fn store_dir(data: &Path) -> PathBuf {
    data.join("store")
}

fn unlocked(dir: &Path) -> kitnotes::store::Result<SledStore> {
    let s = SledStore::open(dir)?;
    s.unlock(PASSPHRASE.as_bytes())?;
    Ok(s)
}

fn note(id: &str, patient: &str) -> Note {
    Note::draft(
        rid(id),
        pid(patient),
        NoteKind::Integration,
        ts("2026-11-20T10:00:00Z"),
        "Integration",
        vec![Section::new("Reflection", "Invented reflection text.")],
    )
}

/// A new encrypted store with two patients and a draft note each, written as the app writes.
fn new_store(data: &Path) -> SledStore {
    let s = SledStore::create_encrypted(&store_dir(data), PASSPHRASE.as_bytes(), FAST).unwrap();
    let a = actor("2026-11-20T10:00:00Z");
    for (p, n) in [("p1", "n1"), ("p2", "n2")] {
        s.apply_audited(
            &[Change::Put(Record::Patient(Patient::new(
                pid(p),
                "Invented Patient",
            )))],
            &a,
        )
        .unwrap();
        s.apply_audited(&[Change::Put(Record::Note(note(n, p)))], &a)
            .unwrap();
    }
    s.flush().unwrap();
    s
}

/// The attacker: copies every value of `older`'s database that differs into `store`'s
/// database, with sled and nothing else, except the keys `keep` spares.
fn copy_back(older: &Path, store: &Path, keep: impl Fn(&[u8]) -> bool) -> usize {
    let from = sled::open(older.join("db")).unwrap();
    let to = sled::open(store.join("db")).unwrap();
    let mut copied = 0;
    for kv in from.iter() {
        let (k, v) = kv.unwrap();
        if keep(&k) {
            continue;
        }
        if to.get(&k).unwrap().as_ref() != Some(&v) {
            to.insert(k, v).unwrap();
            copied += 1;
        }
    }
    to.flush().unwrap();
    drop((from, to));
    // sled's flusher thread lets go of its lock a moment after the handle is dropped.
    std::thread::sleep(std::time::Duration::from_millis(50));
    copied
}

/// Keys the attacker left alone: the audit log, its head and every `M\0` entry (the
/// save counter, the schema, the header).
fn log_and_counters(k: &[u8]) -> bool {
    k.starts_with(b"A\0") || k.starts_with(b"M\0")
}

/// Runs `attack` on [`RUNS`] fresh stores (made by [`new_store`] in the data directory it is
/// given, with the run's number); each says whether it was caught. Prints the count, straight
/// to stderr past the harness's capture, so every run shows it.
fn counted_runs(name: &str, attack: impl Fn(usize, &Path) -> bool) {
    use std::io::Write as _;
    let caught = (0..RUNS)
        .filter(|run| {
            let data = tempfile::tempdir().unwrap();
            drop(new_store(data.path()));
            attack(*run, data.path())
        })
        .count();
    let _ = writeln!(
        std::io::stderr(),
        "tamper: {name}: caught {caught} of {RUNS} runs"
    );
    assert_eq!(caught, RUNS, "{name}");
}

/// A copy of the whole store directory as it is now (tally included), to put back later.
fn keep_older(data: &Path) -> PathBuf {
    let older = data.join("older");
    copy_dir(&store_dir(data), &older);
    older
}

#[test]
fn a_signed_note_rolled_back_to_its_draft_is_refused_and_named() {
    counted_runs("signed note rolled back to its draft", |run, data| {
        let dir = store_dir(data);
        let older = keep_older(data);
        {
            let s = unlocked(&dir).unwrap();
            let mut n = note("n1", "p1");
            n.sign("Dr. Invented", ts("2026-11-20T11:00:00Z"), &[])
                .unwrap();
            if run % 2 == 1 {
                n.add_addendum(
                    "Invented addendum.",
                    "Dr. Invented",
                    ts("2026-11-21T09:00:00Z"),
                )
                .unwrap();
            }
            s.apply_audited(
                &[Change::Put(Record::Note(n))],
                &actor("2026-11-20T11:00:00Z"),
            )
            .unwrap();
            s.flush().unwrap();
        }
        assert!(copy_back(&older, &dir, log_and_counters) > 0);
        // The newest entry about the note: its signature, or the addendum written with it.
        let expected = if run % 2 == 1 {
            "audit entry 6 (addendum-added)"
        } else {
            "audit entry 5 (note-signed)"
        };
        let s = unlocked(&dir).unwrap();
        let read = s.record("n1");
        let timeline = s.patient_records(&pid("p1"));
        let problems = s.check().unwrap().problems;
        let named = problems
            .iter()
            .any(|p| p.contains("note n1") && p.contains(expected));
        // The other patient's chart is untouched and still opens.
        assert!(s.patient_records(&pid("p2")).unwrap().is_some());
        drop(s);
        // Through the binary: check names it, export refuses.
        let out = crate::common::kitnotes(data, &["check"]);
        let said = crate::common::text(&out.stdout);
        assert!(!out.status.success() && said.contains("note n1"), "{said}");
        let out = crate::common::kitnotes(data, &["export"]);
        let err = crate::common::text(&out.stderr);
        assert!(
            !out.status.success(),
            "export of a rolled-back note must fail"
        );
        assert!(
            err.contains("note n1") && err.contains("kitnotes did not write"),
            "{err}"
        );
        match (&read, &timeline) {
            (Err(StoreError::Tampered { what, .. }), Err(StoreError::Tampered { .. })) => {
                what.contains("note n1") && named
            }
            _ => false,
        }
    });
}

#[test]
fn any_other_record_rolled_back_is_named_by_check() {
    let kinds = ["patient", "draft note", "note deleted then put back"];
    counted_runs("another record rolled back", |run, data| {
        let kind = kinds[run % kinds.len()];
        let dir = store_dir(data);
        let older = keep_older(data);
        let (id, entry) = {
            let s = unlocked(&dir).unwrap();
            let a = actor("2026-11-20T12:00:00Z");
            let written = match kind {
                "patient" => {
                    let mut p = Patient::new(pid("p2"), "Invented Patient");
                    p.archived = true;
                    s.apply_audited(&[Change::Put(Record::Patient(p))], &a)
                }
                "draft note" => {
                    let mut n = note("n2", "p2");
                    n.title = "Integration, revised".into();
                    s.apply_audited(&[Change::Put(Record::Note(n))], &a)
                }
                _ => s.apply_audited(&[Change::Delete("n2".into())], &a),
            }
            .unwrap();
            s.flush().unwrap();
            let e = written.last().unwrap().clone();
            (e.record.unwrap(), e.seq)
        };
        assert!(copy_back(&older, &dir, log_and_counters) > 0);
        let problems = unlocked(&dir).unwrap().check().unwrap().problems;
        problems
            .iter()
            .any(|p| p.contains(&id) && p.contains(&format!("audit entry {entry} ")))
    });
}

#[test]
fn a_change_written_without_an_entry_is_named_and_records_without_entries_still_read() {
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    let s = new_store(data.path());
    // Written without an entry (tests and tools can): a note no entry binds reads as before.
    s.put(Record::Note(note("n3", "p1"))).unwrap();
    assert!(s.record("n3").unwrap().is_some());
    assert!(
        s.check().unwrap().is_ok(),
        "{:?}",
        s.check().unwrap().problems
    );
    // A note the log bound, changed without an entry: refused and named.
    let mut n = note("n1", "p1");
    n.title = "Changed quietly".into();
    s.put(Record::Note(n)).unwrap();
    assert!(matches!(s.record("n1"), Err(StoreError::Tampered { .. })));
    let problems = s.check().unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("note n1") && p.contains("changed without an entry")),
        "{problems:?}"
    );
    drop(s);
    let _ = dir;
}

/// Saves `n` more versions of note n2, each with its audit entry, as the editor does.
fn more_saves(dir: &Path, n: usize) {
    let s = unlocked(dir).unwrap();
    for i in 0..n {
        let mut note = note("n2", "p2");
        note.title = format!("Integration, version {i}");
        s.apply_audited(
            &[Change::Put(Record::Note(note))],
            &actor("2026-11-21T09:00:00Z"),
        )
        .unwrap();
        s.flush().unwrap();
    }
}

/// The store's files: each one's bytes and modification time, to show an open changed nothing.
fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else if e.file_name() != "kitnotes.lock" {
                out.push((
                    e.path(),
                    std::fs::read(e.path()).unwrap(),
                    m.modified().unwrap(),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Opens and unlocks as kitnotes does, returning the refusal (and checking that the refused
/// open left every file as it was).
fn refusal(dir: &Path) -> Option<StoreError> {
    let before = files_of(dir);
    let result = unlocked(dir);
    let err = result.as_ref().err().map(|e| e.to_string());
    let refused = result.err();
    if refused.is_some() {
        let after = files_of(dir);
        assert!(
            before == after,
            "a refused open changed the store's files ({err:?})"
        );
    }
    refused
}

#[test]
fn the_audit_tail_cut_with_its_old_head_put_back_is_refused() {
    counted_runs("audit tail cut, old head put back", |run, data| {
        let dir = store_dir(data);
        let older = keep_older(data);
        more_saves(&dir, 3);
        // The attacker: the entries past the old head go, the old head comes back; in odd
        // runs the old save counter and stamp inside the database come back too.
        let old = sled::open(older.join("db")).unwrap();
        let old_head = old.get(b"M\0audit").unwrap().unwrap();
        let old_last = old.scan_prefix(b"A\0").count() as u64;
        let put_back: Vec<_> = [&b"M\0tally"[..], b"M\0stamp"]
            .iter()
            .filter_map(|k| old.get(k).unwrap().map(|v| (k.to_vec(), v)))
            .collect();
        drop(old);
        {
            let db = sled::open(dir.join("db")).unwrap();
            let mut cut = 0;
            for kv in db.scan_prefix(b"A\0") {
                let (k, _) = kv.unwrap();
                if u64::from_be_bytes(k[2..].try_into().unwrap()) > old_last {
                    db.remove(k).unwrap();
                    cut += 1;
                }
            }
            assert_eq!(cut, 3);
            db.insert(b"M\0audit", old_head).unwrap();
            if run % 2 == 1 {
                for (k, v) in &put_back {
                    db.insert(k.as_slice(), v.clone()).unwrap();
                }
            }
            db.flush().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let refused = refusal(&dir);
        if let Some(e @ StoreError::AuditCut { .. }) = &refused {
            let m = e.to_string();
            assert!(
                m.contains("7 audit entries") && m.contains("entry 4"),
                "{m}"
            );
        }
        // check says so too, and what a copy holds, and the cut again in the copy's log.
        let out = crate::common::kitnotes(data, &["check"]);
        let said = crate::common::text(&out.stdout);
        assert!(!out.status.success() && said.contains("Refused"), "{said}");
        if refused
            .as_ref()
            .is_some_and(|e| matches!(e, StoreError::AuditCut { .. }))
        {
            assert!(said.contains("Patients: 2"), "{said}");
            assert!(
                said.contains("  - the save counter says 7 audit entries"),
                "{said}"
            );
        }
        matches!(
            refused,
            Some(StoreError::AuditCut { .. } | StoreError::LostSaves { .. })
        )
    });
}

#[test]
fn another_stores_database_is_refused_and_named() {
    counted_runs("database swapped for another store's", |_, data| {
        let dir = store_dir(data);
        // Another store with the same passphrase and the same shape.
        let other = tempfile::tempdir().unwrap();
        drop(new_store(other.path()));
        std::fs::remove_dir_all(dir.join("db")).unwrap();
        copy_dir(&store_dir(other.path()).join("db"), &dir.join("db"));
        let refused = refusal(&dir);
        let out = crate::common::kitnotes(data, &["today"]);
        let err = crate::common::text(&out.stderr);
        assert!(
            !out.status.success() && err.contains("belongs to another store"),
            "{err}"
        );
        matches!(refused, Some(StoreError::ForeignDatabase { found, expected, .. }) if found != expected)
    });
}

#[test]
fn an_older_copy_of_the_database_under_a_newer_counter_is_refused() {
    counted_runs("database swapped for an older copy", |run, data| {
        let dir = store_dir(data);
        let older = keep_older(data);
        more_saves(&dir, 2);
        std::fs::remove_dir_all(dir.join("db")).unwrap();
        copy_dir(&older.join("db"), &dir.join("db"));
        if run % 2 == 1 {
            // The attacker also lowers the tally's plain save number to the older copy's.
            let tally = dir.join("kitnotes.tally");
            let read = |p: &Path| -> serde_json::Value {
                serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
            };
            let mut t = read(&tally);
            t["saves"] = read(&older.join("kitnotes.tally"))["saves"].clone();
            std::fs::write(&tally, serde_json::to_vec(&t).unwrap()).unwrap();
        }
        matches!(
            refusal(&dir),
            Some(StoreError::LostSaves { .. } | StoreError::AuditCut { .. })
        )
    });
}

#[test]
fn a_store_rolled_back_with_its_counter_opens_but_the_kept_anchor_catches_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    drop(new_store(data.path()));
    let older = data.path().join("older");
    copy_dir(&dir, &older);
    more_saves(&dir, 2);
    let out = crate::common::kitnotes(data.path(), &["audit", "anchor"]);
    let said = crate::common::text(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        crate::common::text(&out.stderr)
    );
    let anchor = said
        .lines()
        .find_map(|l| l.strip_prefix("Anchor: "))
        .unwrap_or_else(|| panic!("{said}"))
        .to_owned();
    assert!(
        anchor.starts_with("kn1:") && anchor.contains(":6:"),
        "{anchor}"
    );
    let out = crate::common::kitnotes(data.path(), &["audit", "verify", "--kept-head", &anchor]);
    assert!(out.status.success(), "{}", crate::common::text(&out.stdout));

    // Database and counter rolled back together: one machine cannot tell (the limit).
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&older, &dir);
    assert!(unlocked(&dir).is_ok());
    let out = crate::common::kitnotes(data.path(), &["audit", "verify", "--kept-head", &anchor]);
    let said = crate::common::text(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("NOT in this log") && said.contains("ends at entry 4"),
        "{said}"
    );
    // Another store's anchor is named as such.
    let other = tempfile::tempdir().unwrap();
    drop(new_store(other.path()));
    let out = crate::common::kitnotes(other.path(), &["audit", "verify", "--kept-head", &anchor]);
    let said = crate::common::text(&out.stdout);
    assert!(
        !out.status.success() && said.contains("NOT this store's"),
        "{said}"
    );
}

#[test]
fn passphrase_tries_at_the_lock_screen_wait_longer_after_three_wrong_ones() {
    use kitnotes::app::lock::{LockAfter, LockCause};
    use kitnotes::app::{App, AppSettings};
    use kitnotes::clock::{FixedClock, IdSource};
    use kitnotes::keymap::{Keymap, Preset};
    use std::sync::Arc;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(ts(crate::common::NOW)));
    let mut app = App::new(
        Box::new(new_store(data.path())),
        Box::new(clock.clone()),
        IdSource::new(7),
        Keymap::builtin(Preset::Default),
        AppSettings {
            store_label: "test".into(),
            lock_after: LockAfter::Never,
            ..AppSettings::default()
        },
    )
    .unwrap();
    app.resize(100, 30);
    app.lock_now(LockCause::Key);
    for n in 1..=3 {
        crate::common::type_text(&mut app, "an invented wrong guess");
        crate::common::press(&mut app, "<Enter>");
        let s = crate::common::screen(&app);
        if n < 3 {
            assert!(s.contains("Wrong passphrase. Type it again."), "{s}");
        } else {
            assert!(
                s.contains("(3 in a row). The next try is taken in 5 s"),
                "{s}"
            );
        }
    }
    // The right passphrase, too soon: not tried, and kept for when the wait is over.
    crate::common::type_text(&mut app, PASSPHRASE);
    clock.advance(jiff::SignedDuration::from_secs(3));
    crate::common::press(&mut app, "<Enter>");
    assert!(app.is_locked());
    let s = crate::common::screen(&app);
    assert!(s.contains("the next try is taken in 2 s"), "{s}");
    clock.advance(jiff::SignedDuration::from_secs(2));
    crate::common::press(&mut app, "<Enter>");
    assert!(!app.is_locked(), "{}", crate::common::screen(&app));
}

#[cfg(unix)]
#[test]
fn the_store_its_files_and_exports_are_readable_by_this_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    drop(new_store(data.path()));
    // A later start, as every command opens it.
    drop(unlocked(&store_dir(data.path())).unwrap());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = store_dir(data.path());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("db")), 0o700);
    assert_eq!(mode(&dir.join("kitnotes.tally")), 0o600);
    assert_eq!(mode(&dir.join("kitnotes.lock")), 0o600);
    for (path, _, _) in files_of(&dir.join("db")) {
        // Files sled made since the last open are inside the 0700 folder; these were there.
        assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
    }
    let out_file = data.path().join("export.jsonl");
    let out = crate::common::kitnotes(data.path(), &["export", "-o", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::common::text(&out.stderr));
    assert_eq!(mode(&out_file), 0o600);
}

#[test]
fn opening_without_the_passphrase_writes_nothing_but_where_sled_left_its_files() {
    // `kitnotes backup` opens a store without its passphrase: nothing is verified, so nothing
    // of kitnotes' is written, and the next open still finds the files as this close left them.
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    drop(new_store(data.path()));
    use kitnotes::store::tally;
    let before = tally::read(&dir).unwrap().unwrap();
    let s = SledStore::open(&dir).unwrap();
    assert!(s.patients().is_err(), "locked until the passphrase");
    drop(s);
    // sled may rewrite its own files on closing: the tally says how it left them, and its
    // count and stamp are the ones the last verified save wrote.
    let after = tally::read(&dir).unwrap().unwrap();
    assert_eq!(after.closed, Some(tally::stamps(&dir.join("db")).unwrap()));
    assert_eq!((after.saves, after.stamp), (before.saves, before.stamp));
}

/// Rewrites a closed plain store as a kitnotes before issue 21 left it: its entries carry no
/// digests (and hash as v1), no stamp in the database or the tally, no snapshot.
fn as_before_bindings(dir: &Path) {
    use kitnotes::store::audit::{AuditEntry, AuditEvent, AuditHead, ChainHash};
    use kitnotes::store::crypt::Crypt;
    use kitnotes::store::{codec, keys};
    {
        let db = sled::open(dir.join("db")).unwrap();
        let mut prev = ChainHash::GENESIS;
        let mut seq = 0;
        while let Some(v) = db.get(keys::audit_key(seq + 1)).unwrap() {
            seq += 1;
            let key = keys::audit_key(seq);
            let e = codec::decode_audit(&Crypt::Plain, &key, &v).unwrap();
            let event = AuditEvent {
                at: e.at,
                who: e.who,
                action: e.action,
                patient: e.patient,
                record: e.record,
                detail: e.detail,
            };
            let old = AuditEntry::chain(event, seq, prev);
            prev = old.hash;
            db.insert(&key, codec::encode_audit(&Crypt::Plain, &key, &old))
                .unwrap();
        }
        let head = AuditHead { seq, hash: prev };
        db.insert(
            keys::AUDIT_HEAD_KEY,
            codec::encode_audit_head(&Crypt::Plain, keys::AUDIT_HEAD_KEY, &head),
        )
        .unwrap();
        db.remove(b"M\0stamp").unwrap();
        db.remove(b"M\0binds").unwrap();
        db.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let saves = kitnotes::store::tally::read(dir).unwrap().unwrap().saves;
    std::fs::write(
        dir.join("kitnotes.tally"),
        format!("{{\"saves\":{saves},\"closed\":null}}"),
    )
    .unwrap();
}

/// A new plain store with patient p1 and draft notes of theirs, written as the app writes.
fn plain_store(dir: &Path, notes: &[&str]) -> SledStore {
    let s = SledStore::open(dir).unwrap();
    let a = actor("2026-11-20T10:00:00Z");
    let p1 = Patient::new(pid("p1"), "Invented Patient");
    s.apply_audited(&[Change::Put(Record::Patient(p1))], &a)
        .unwrap();
    for n in notes {
        s.apply_audited(&[Change::Put(Record::Note(note(n, "p1")))], &a)
            .unwrap();
    }
    s
}

#[test]
fn a_store_from_before_bindings_and_stamps_opens_and_binds_from_its_next_change() {
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    // A plain store as an older kitnotes left it: its entries carry no digests (and hash as
    // v1), no stamp in the database or the tally, no snapshot.
    drop(plain_store(&dir, &["n1", "n2"]));
    let older = keep_older(data.path());
    {
        // A second version of n1, still before bindings.
        let s = SledStore::open(&dir).unwrap();
        let mut n = note("n1", "p1");
        n.title = "Integration, second version".into();
        s.apply_audited(
            &[Change::Put(Record::Note(n))],
            &actor("2026-11-20T11:00:00Z"),
        )
        .unwrap();
    }
    as_before_bindings(&dir);

    // It opens, reads, checks and verifies as before; it gets its id and first stamp.
    let s = SledStore::open(&dir).unwrap();
    assert!(s.record("n1").unwrap().is_some());
    let report = s.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.audit.entries, 4);
    assert!(s.store_id().is_some());
    // Its next change binds the record it writes.
    let mut n = note("n2", "p1");
    n.sign("Dr. Invented", ts("2026-11-21T10:00:00Z"), &[])
        .unwrap();
    let written = s
        .apply_audited(
            &[Change::Put(Record::Note(n))],
            &actor("2026-11-21T10:00:00Z"),
        )
        .unwrap();
    assert_eq!(written.last().unwrap().values.len(), 1);
    s.flush().unwrap();
    drop(s);
    // Now rolling n2 back is caught; n1, last written before bindings, is not (the limit
    // docs/SECURITY.md states).
    copy_back(&older, &dir, |k| {
        log_and_counters(k) || !(k.starts_with(b"T\0") || k.starts_with(b"I\0"))
    });
    let s = SledStore::open(&dir).unwrap();
    assert!(matches!(s.record("n2"), Err(StoreError::Tampered { .. })));
    let n1 = s.record("n1").unwrap();
    assert!(
        matches!(&n1, Some(Record::Note(n)) if n.title == "Integration"),
        "n1 is back at its first version, unseen: {n1:?}"
    );
}

#[test]
fn a_swapped_database_with_the_tally_deleted_is_refused_until_check_adopts_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    drop(new_store(data.path()));
    let other = tempfile::tempdir().unwrap();
    drop(new_store(other.path()));
    std::fs::remove_dir_all(dir.join("db")).unwrap();
    copy_dir(&store_dir(other.path()).join("db"), &dir.join("db"));
    std::fs::remove_file(dir.join("kitnotes.tally")).unwrap();
    // Refused, the files as they were, and the message says what to do.
    let err = refusal(&dir).map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("tally file (kitnotes.tally) is gone") && err.contains("--new-tally"),
        "{err}"
    );
    let out = crate::common::kitnotes(data.path(), &["check"]);
    assert!(!out.status.success());
    assert!(crate::common::text(&out.stdout).contains("What a copy of it still holds"));
    // Whoever runs `check --new-tally` takes the database as this store's from then on.
    let out = crate::common::kitnotes(data.path(), &["check", "--new-tally"]);
    let said = crate::common::text(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        crate::common::text(&out.stderr)
    );
    assert!(unlocked(&dir).is_ok());
}

/// A JSON Lines file of draft notes for patient p3 (and p3's own line first, with
/// `with_patient`), in the order given: note `m<n>` for each n, at a time of its own (so its key
/// is the same from one file to the next), its text saying which `version` of the file it is.
fn notes_file(notes: &[usize], with_patient: bool, version: &str) -> String {
    let mut out = String::from("{\"type\":\"kitnotes\",\"version\":1}\n");
    if with_patient {
        out.push_str("{\"type\":\"patient\",\"id\":\"p3\",\"name\":\"Invented Imported\"}\n");
    }
    for n in notes {
        out.push_str(&format!(
            "{{\"type\":\"note\",\"id\":\"m{n}\",\"patient\":\"p3\",\"kind\":\"integration\",\
             \"at\":\"2026-11-{:02}T10:00:00Z\",\"title\":\"Integration {n}\",\"sections\":\
             [{{\"heading\":\"Plan\",\"body\":\"Invented plan, {version}.\"}}],\
             \"status\":\"draft\"}}\n",
            1 + n
        ));
    }
    out
}

fn import(s: &SledStore, file: &str, part_records: usize) {
    kitnotes::interchange::import_in_parts_of(
        s,
        file.as_bytes(),
        &actor("2026-11-22T09:00:00Z"),
        "invented.jsonl",
        part_records,
    )
    .unwrap();
}

/// The audit entry that binds `id` now: the newest that names it.
fn binding_entry(s: &SledStore, id: &str) -> kitnotes::store::AuditEntry {
    let log = s.audit_log(&Default::default()).unwrap();
    log.into_iter()
        .rev()
        .find(|e| e.values.iter().any(|b| b.record == id))
        .unwrap_or_else(|| panic!("no entry binds {id}"))
}

#[test]
fn a_record_from_a_streamed_import_put_back_or_removed_is_named_by_check() {
    // Each run: the attack, the note it is aimed at, where that note is in the second import
    // (with 3 records a part: 0 is in its first part, 4 in its second, 7 in its last), and the
    // part size. With 100 records a part the import is one part, which the entry per patient
    // binds.
    let runs = [
        ("put back", 0, 3),
        ("removed", 4, 3),
        ("put back", 7, 3),
        ("put back", 4, 100),
    ];
    counted_runs("an imported record put back or removed", |run, data| {
        let (attack, at, part) = runs[run];
        let dir = store_dir(data);
        let s = unlocked(&dir).unwrap();
        // A first import (several parts), then note m1 deleted as a draft may be (its id is
        // free again), and a second import of seven new notes and m1 again, with other text,
        // at the same key.
        import(&s, &notes_file(&[1, 2, 3, 4, 5, 6, 7, 8], true, "first"), 3);
        s.flush().unwrap();
        let older = keep_older(data);
        s.apply_audited(
            &[Change::Delete("m1".into())],
            &actor("2026-11-22T10:00:00Z"),
        )
        .unwrap();
        s.flush().unwrap();
        let before_second: std::collections::BTreeSet<Vec<u8>> =
            kitnotes::store::sled_store::raw_db(&s)
                .iter()
                .keys()
                .map(|k| k.unwrap().to_vec())
                .collect();
        let mut second = vec![9, 10, 11, 12, 13, 14, 15];
        second.insert(at, 1);
        import(&s, &notes_file(&second, false, "second"), part);
        s.flush().unwrap();
        // As kitnotes left it: every record bound, none flagged (a note deleted and imported
        // again is the import's).
        let report = s.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.unbound, Default::default());
        let id = match attack {
            "put back" => "m1".to_owned(),
            _ => format!("m{}", second[at]),
        };
        let entry = binding_entry(&s, &id);
        // The entry of the note's own part, or for a one-part import its patient's.
        let expected = match part {
            3 => format!("part {}: ", at / 3 + 1),
            _ => "0 patients, 8 notes".to_owned(),
        };
        assert!(
            entry.detail.starts_with(&expected),
            "{id} is bound by {entry:?}"
        );
        drop(s);
        let named_entry = format!("audit entry {} (imported)", entry.seq);
        // The attacker, with sled and no passphrase.
        if attack == "put back" {
            // The first import's sealed value of m1 and its id index entry, copied back.
            assert!(copy_back(&older, &dir, log_and_counters) > 0);
        } else {
            // The second import's new records taken out (timeline values and their id index
            // entries), the audit log left alone.
            let db = sled::open(dir.join("db")).unwrap();
            let mut removed = 0;
            let keys: Vec<sled::IVec> = db.iter().keys().map(|k| k.unwrap()).collect();
            for k in keys {
                if (k.starts_with(b"T\0") || k.starts_with(b"I\0"))
                    && !before_second.contains(k.as_ref())
                {
                    db.remove(&k).unwrap();
                    removed += 1;
                }
            }
            // Its eight notes: seven new, and m1 (deleted before it) again.
            assert_eq!(removed, 2 * 8);
            db.flush().unwrap();
            drop(db);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let s = unlocked(&dir).unwrap();
        let read = s.record(&id);
        let problems = s.check().unwrap().problems;
        drop(s);
        let named = problems
            .iter()
            .any(|p| p.contains(&format!(" {id} ")) && p.contains(&named_entry));
        let out = crate::common::kitnotes(data, &["check"]);
        let said = crate::common::text(&out.stdout);
        let by_binary = !out.status.success() && said.contains(&named_entry);
        // Reading the note: refused when put back, gone when removed.
        let read_right = match attack {
            "put back" => {
                matches!(&read, Err(StoreError::Tampered { what, .. }) if what.contains(&named_entry))
            }
            _ => matches!(read, Ok(None)),
        };
        if !(named && by_binary && read_right) {
            eprintln!("run {run} ({id} {attack}): {problems:?}\n{said}\n{read:?}");
        }
        named && by_binary && read_right
    });
}

#[test]
fn an_interrupted_streamed_import_rolls_back_whole_its_part_entries_too() {
    use kitnotes::store::AuditAction;
    use kitnotes::store::sled_store::raw_db;
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    let killed = data.path().join("killed");
    let s = new_store(data.path());
    // What the log binds is known in memory once a note was read.
    assert!(s.record("n1").unwrap().is_some());
    let (counts, log, head) = (
        s.counts().unwrap(),
        s.audit_log(&Default::default()).unwrap(),
        s.verify_audit().unwrap().head,
    );
    let a = actor("2026-11-22T09:00:00Z");
    let part_entry = a.event(AuditAction::Imported).detail("from invented.jsonl");
    let patient_entry = || {
        a.event(AuditAction::Imported)
            .patient(&pid("p3"))
            .detail("1 patients, 8 notes from invented.jsonl")
    };
    let part = |n: usize| -> Vec<Record> {
        let mut records = Vec::new();
        if n == 1 {
            records.push(Record::Patient(Patient::new(
                pid("p3"),
                "Invented Imported",
            )));
        }
        let first = if n == 1 { 1 } else { 3 * n - 3 };
        records.extend((first..3 * n).map(|m| Record::Note(note(&format!("m{m}"), "p3"))));
        records
    };
    // Three parts of three records; as a fourth is asked for, the store's files are copied as
    // a kill would leave them (two parts' entries written, nothing committed), and then the
    // supplier stops, as a file that went away stops an import.
    let mut asked = 0;
    let mut parts = std::iter::from_fn(|| {
        asked += 1;
        if asked <= 3 {
            return Some(Ok(part(asked)));
        }
        raw_db(&s).flush().unwrap();
        copy_dir(&dir, &killed);
        Some(Err(StoreError::PartsStopped(
            "invented: the file went away".into(),
        )))
    });
    let stopped = s.add_in_parts(
        &mut parts,
        &mut std::iter::once(patient_entry()),
        &part_entry,
    );
    assert!(
        matches!(stopped, Err(StoreError::PartsStopped(_))),
        "{stopped:?}"
    );
    let as_before = |s: &SledStore, what: &str| {
        assert_eq!(s.counts().unwrap(), counts, "{what}: records");
        assert_eq!(
            s.audit_log(&Default::default()).unwrap(),
            log,
            "{what}: the log"
        );
        let verdict = s.verify_audit().unwrap();
        assert!(
            verdict.is_ok() && verdict.head == head,
            "{what}: {verdict:?}"
        );
        assert!(s.record("m1").unwrap().is_none(), "{what}");
        assert!(s.record("n1").unwrap().is_some(), "{what}");
        let report = s.check().unwrap();
        assert!(report.is_ok(), "{what}: {:?}", report.problems);
        assert_eq!(report.unbound, Default::default(), "{what}");
    };
    as_before(&s, "stopped in the process");
    // The same import again, whole: each part bound by its own entry, after the log as it was.
    let mut asked = 0;
    let mut parts = std::iter::from_fn(|| {
        asked += 1;
        (asked <= 3).then(|| Ok(part(asked)))
    });
    let written = s
        .add_in_parts(
            &mut parts,
            &mut std::iter::once(patient_entry()),
            &part_entry,
        )
        .unwrap();
    assert_eq!(written, 4, "three part entries and one for the patient");
    assert_eq!(
        binding_entry(&s, "m4").detail,
        "part 2: 3 records from invented.jsonl"
    );
    assert_eq!(binding_entry(&s, "m4").seq, log.len() as u64 + 2);
    assert!(s.record("m4").unwrap().is_some());
    let report = s.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.unbound, Default::default());
    drop(s);
    // The files as the kill left them: the first two parts' entries are there, uncommitted,
    let db = sled::open(killed.join("db")).unwrap();
    let entries = db.scan_prefix(b"A\0").count();
    drop(db);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(entries, log.len() + 2);
    // and opening rolls the import back whole, part entries and all.
    let s = unlocked(&killed).unwrap();
    assert!(s.rolled_back_on_open() > 0);
    as_before(&s, "killed, then opened");
}

#[test]
fn records_imported_before_imports_were_bound_are_counted_as_not_verifiable_not_refused() {
    let data = tempfile::tempdir().unwrap();
    let dir = store_dir(data.path());
    // A plain store whose import, and everything else, an older kitnotes wrote: no entry binds
    // a record. Two records written in the app, nine imported.
    {
        let s = plain_store(&dir, &["n1"]);
        import(
            &s,
            &notes_file(&[1, 2, 3, 4, 5, 6, 7, 8], true, "older"),
            100,
        );
    }
    as_before_bindings(&dir);
    let s = SledStore::open(&dir).unwrap();
    let report = s.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(
        (report.unbound.imported, report.unbound.other),
        (9, 2),
        "nine imported, two written in the app"
    );
    assert!(s.record("m2").unwrap().is_some());
    drop(s);
    let out = crate::common::kitnotes(data.path(), &["check"]);
    let said = crate::common::text(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        crate::common::text(&out.stderr)
    );
    assert!(
        said.contains("Not verifiable: 9 records imported before imports were bound")
            && said.contains("Not verifiable: 2 records last written before records were bound")
            && said.contains("Integrity: OK"),
        "{said}"
    );
    // An imported note's next change binds it.
    let s = SledStore::open(&dir).unwrap();
    let mut m2 = note("m2", "p3");
    m2.at = ts("2026-11-03T10:00:00Z");
    m2.title = "Integration 2, revised".into();
    s.apply_audited(
        &[Change::Put(Record::Note(m2))],
        &actor("2026-11-23T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(s.check().unwrap().unbound.imported, 8);
}
