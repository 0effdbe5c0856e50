//! Damaged stores: truncated, bit-flipped and deleted files, a damaged tally and a newer schema.
//! kitnotes must refuse with what is wrong and how to restore, leave the files exactly as they
//! were, never panic, and `kitnotes check` must say where the damage is. Run through the real
//! binary, as a clinician would meet it.

use crate::common::{PASSPHRASE, copy_dir, text};
use kitnotes::demo::{self, DemoSpec};
use kitnotes::store::SledStore;
use kitnotes::store::crypt::KdfParams;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// A data directory whose encrypted store holds an invented caseload, closed cleanly, and the
/// export of it as it was.
struct Pristine {
    data: tempfile::TempDir,
    export: Vec<u8>,
}

fn pristine() -> Pristine {
    let data = tempfile::tempdir().unwrap();
    let store = SledStore::create_encrypted(
        &data.path().join("store"),
        PASSPHRASE.as_bytes(),
        KdfParams::DEFAULT,
    )
    .unwrap();
    let spec = DemoSpec {
        patients: 6,
        notes_per_patient: 12,
        seed: 9,
        ..DemoSpec::new(jiff::civil::date(2026, 11, 21))
    };
    let actor = kitnotes::store::Actor::new("Dr. Invented", crate::common::ts(crate::common::NOW));
    demo::build(&store, &spec, &actor, &mut |_| {}).unwrap();
    drop(store);
    // A later session: a day's notes, each saved on its own, as the editor does.
    assert!(bounded(data.path(), &["check"]).status.success());
    {
        use kitnotes::model::{Note, NoteKind, PatientId, Record, RecordId, Section};
        use kitnotes::store::Store;
        let store = crate::common::open_unlocked(&data.path().join("store"));
        let patient = store.patients().unwrap()[0].id.clone();
        for i in 0..30 {
            let note = Note::draft(
                RecordId::parse(&format!("later-{i}")).unwrap(),
                PatientId::parse(patient.as_str()).unwrap(),
                NoteKind::Integration,
                crate::common::ts(crate::common::NOW),
                format!("Integration {i}"),
                vec![Section::new("Reflection", "Invented text. ".repeat(40))],
            );
            store
                .apply_audited(&[kitnotes::store::Change::Put(Record::Note(note))], &actor)
                .unwrap();
            store.flush().unwrap();
        }
    }
    let out = bounded(data.path(), &["export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    Pristine {
        data,
        export: out.stdout,
    }
}

/// A fresh copy of the pristine data directory to damage.
fn copy_of(p: &Pristine) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    copy_dir(p.data.path(), to.path());
    to
}

/// Every file under `dir` with its bytes (the lock file aside: it is empty and only locked).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else if e.file_name() != "kitnotes.lock" {
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn db_file(data: &Path) -> PathBuf {
    data.join("store").join("db").join("db")
}

fn assert_no_panic(what: &str, out: &Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains("panicked") && out.status.code() != Some(101),
        "{what}: kitnotes panicked:\n{all}"
    );
}

/// The damage is refused by `check` (which then reads a copy) and by `export`, each saying what
/// is wrong and how to restore, and nothing under the store changes.
fn assert_refused(what: &str, data: &Path, needle: &str) {
    let before = files(&data.join("store"));
    let check = bounded(data, &["check"]);
    assert_no_panic(what, &check);
    assert!(!check.status.success(), "{what}: check passed");
    let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
    let store = data.join("store").display().to_string();
    for expected in [needle, &store, "kitnotes restore", "docs/BACKUP.md"] {
        assert!(
            report.contains(expected),
            "{what}: no {expected:?} in\n{report}"
        );
    }
    let export = bounded(data, &["export"]);
    assert_no_panic(what, &export);
    assert!(
        !export.status.success(),
        "{what}: export ran on a damaged store"
    );
    assert!(export.stdout.is_empty(), "{what}: export wrote records");
    let err = text(&export.stderr);
    assert!(
        err.contains(needle) && err.contains("kitnotes restore"),
        "{what}: {err}"
    );
    assert!(
        files(&data.join("store")) == before,
        "{what}: refusing changed the store's files"
    );
}

#[test]
fn a_cut_short_or_missing_database_is_refused_and_left_as_it_is() {
    let p = pristine();
    let len = std::fs::metadata(db_file(p.data.path())).unwrap().len();
    type Damage = Box<dyn Fn(&Path)>;
    let cuts: [(&str, Damage); 5] = [
        (
            "emptied",
            Box::new(|d| std::fs::write(db_file(d), b"").unwrap()),
        ),
        ("cut to 100 bytes", Box::new(|d| truncate(d, 100))),
        ("cut in half", Box::new(move |d| truncate(d, len / 2))),
        (
            "db file deleted",
            Box::new(|d| std::fs::remove_file(db_file(d)).unwrap()),
        ),
        (
            "db directory deleted",
            Box::new(|d| std::fs::remove_dir_all(d.join("store").join("db")).unwrap()),
        ),
    ];
    for (what, cut) in &cuts {
        let data = copy_of(&p);
        cut(data.path());
        // sled either fails to read what is left ("cannot be opened") or reads less than the
        // tally counted ("has lost saves"); never a smaller store that looks whole.
        let export = text(&bounded(data.path(), &["export"]).stderr);
        let needle = if export.contains("cannot be opened") {
            "cannot be opened: the database is damaged"
        } else {
            "has lost saves"
        };
        assert_refused(what, data.path(), needle);
        // Refused again on the next try: the first refusal did not make it look whole.
        let again = bounded(data.path(), &["check"]);
        assert!(
            !again.status.success(),
            "{what}: accepted on the second try"
        );
    }
}

fn truncate(data: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(db_file(data))
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// What `check` made of one flipped byte.
#[derive(Debug, Default)]
struct Outcomes {
    refused: usize,
    pinpointed: usize,
    intact: usize,
}

#[test]
fn every_flipped_byte_is_refused_or_pinpointed_or_provably_harmless() {
    let p = pristine();
    let len = std::fs::metadata(db_file(p.data.path())).unwrap().len();
    let mut seen = Outcomes::default();
    // Offsets spread over the whole file, from a fixed seed: the same run every time.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let flips = 36;
    for round in 0..flips {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let offset = (len / flips) * round + x % (len / flips);
        let data = copy_of(&p);
        let mut bytes = std::fs::read(db_file(data.path())).unwrap();
        bytes[offset as usize] ^= 1 << (x % 8);
        std::fs::write(db_file(data.path()), &bytes).unwrap();
        let what = format!("bit {} of byte {offset}", x % 8);
        let before = files(&data.path().join("store"));
        let check = bounded(data.path(), &["check"]);
        assert_no_panic(&what, &check);
        let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
        if check.status.success() {
            // Only if every record is exactly as it was: the flip hit space sled no longer uses.
            let export = bounded(data.path(), &["export"]);
            assert!(
                export.stdout == p.export,
                "{what}: check passed but the records changed\n{report}"
            );
            seen.intact += 1;
        } else if report.contains("Integrity:") && !report.contains("Refused: ") {
            // It opened: every problem says which record, or where in which file. (A store
            // refused outright, such as one whose database lost its last save, is reported
            // with what a copy still holds, whose own check may find nothing wrong: that is a
            // refusal, below, not a failure with no problem named.)
            let problems: Vec<&str> = report.lines().filter(|l| l.starts_with("  - ")).collect();
            assert!(
                !problems.is_empty(),
                "{what}: failed with no problem named\n{report}"
            );
            for line in problems {
                assert!(
                    line.contains("record ")
                        || line.contains("byte ")
                        || line.contains("search index")
                        || line.contains("index entry")
                        || line.contains("audit"),
                    "{what}: a problem that says neither which record nor where: {line}"
                );
            }
            assert!(report.contains("kitnotes restore"), "{what}: {report}");
            seen.pinpointed += 1;
        } else {
            assert!(
                report.contains("kitnotes restore") && report.contains("docs/BACKUP.md"),
                "{what}: refused without the way back\n{report}"
            );
            assert!(
                files(&data.path().join("store")) == before,
                "{what}: refusing changed the store's files"
            );
            seen.refused += 1;
        }
    }
    // Past the test harness's capture, so the figures show in every `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "corruption: {flips} flipped bits: {seen:?}"
    );
    // The flips must have reached data that matters, not only free space.
    assert!(seen.refused + seen.pinpointed > 0, "{seen:?}");
}

#[test]
fn a_damaged_tally_is_refused_and_check_reads_a_copy() {
    let p = pristine();
    let data = copy_of(&p);
    let tally = data.path().join("store").join("kitnotes.tally");
    std::fs::write(&tally, b"{\"saves\": 3, \"clo").unwrap();
    assert_refused("damaged tally", data.path(), "tally file");
    let check = text(&bounded(data.path(), &["check"]).stdout);
    // What the copy holds, read with the passphrase.
    assert!(check.contains("Patients: 6 (0 archived)"), "{check}");
    assert!(check.contains("Integrity: OK"), "{check}");
    // The message says what to do if it is all there: a new tally from the database. Deleting
    // the tally instead is refused too (the database was stamped: it had one).
    std::fs::remove_file(&tally).unwrap();
    let export = bounded(data.path(), &["export"]);
    assert!(!export.status.success());
    assert!(
        text(&export.stderr).contains("kitnotes check --new-tally"),
        "{}",
        text(&export.stderr)
    );
    let check = bounded(data.path(), &["check", "--new-tally"]);
    let said = text(&check.stdout);
    assert!(check.status.success(), "{said}{}", text(&check.stderr));
    assert!(said.contains("A new tally was started"), "{said}");
    let export = bounded(data.path(), &["export"]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert_eq!(export.stdout, p.export);
}

#[test]
fn a_store_that_lost_saves_is_checked_on_a_copy_which_says_what_is_left() {
    let p = pristine();
    // The tally counts five saves more than the database holds: what a database that lost
    // its last saves looks like, whichever way it lost them.
    let data = copy_of(&p);
    let tally = data.path().join("store").join("kitnotes.tally");
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&tally).unwrap()).unwrap();
    let saves = t["saves"].as_u64().unwrap();
    std::fs::write(
        &tally,
        format!("{{\"saves\":{},\"closed\":null}}", saves + 5),
    )
    .unwrap();
    let check = bounded(data.path(), &["check"]);
    let out = text(&check.stdout);
    assert!(
        out.contains("Refused: the store at"),
        "{out}{}",
        text(&check.stderr)
    );
    assert!(out.contains("What a copy of it still holds"), "{out}");
    assert!(out.contains("Patients: 6 (0 archived)"), "{out}");
    // The copy is gone afterwards.
    let left: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().contains("inspecting")),
        "{left:?}"
    );
}

#[test]
fn a_store_from_a_newer_kitnotes_is_refused_with_how_to_restore() {
    let p = pristine();
    let data = copy_of(&p);
    {
        let store = crate::common::open_unlocked(&data.path().join("store"));
        kitnotes::store::sled_store::raw_db(&store)
            .insert(b"M\0schema", &9u32.to_be_bytes())
            .unwrap();
        kitnotes::store::Store::flush(&store).unwrap();
    }
    let pairs = |data: &Path| -> Vec<(Vec<u8>, Vec<u8>)> {
        // Read through a copy, so that reading cannot change the store itself.
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&data.join("store").join("db"), copy.path());
        let db = sled::open(copy.path()).unwrap();
        db.iter()
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
            .collect()
    };
    let before = pairs(data.path());
    for args in [&["check"][..], &["export"], &["today"]] {
        let out = bounded(data.path(), args);
        assert_no_panic("newer schema", &out);
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains("written by a newer kitnotes (schema 9")
                && err.contains("kitnotes restore"),
            "{args:?}: {err}"
        );
    }
    // Every key and value is as it was, the newer version included.
    assert!(pairs(data.path()) == before);
}

#[test]
fn a_crash_is_recovered_on_a_copy_and_the_store_opens_whole() {
    let p = pristine();
    let data = copy_of(&p);
    // What a crash leaves: the tally says "open", so the next open recovers a copy first.
    let tally = data.path().join("store").join("kitnotes.tally");
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&tally).unwrap()).unwrap();
    let saves = t["saves"].as_u64().unwrap();
    std::fs::write(&tally, format!("{{\"saves\":{saves},\"closed\":null}}")).unwrap();
    let export = bounded(data.path(), &["export"]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert_eq!(export.stdout, p.export);
    assert!(!data.path().join("store").join("db.recovering").exists());
}

/// How long any one run of kitnotes on a damaged store may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// kitnotes run as a clinician would, on a store that may be damaged: every run is bounded in
/// time, and one that does not finish fails the test as a hang.
fn bounded(data: &Path, args: &[&str]) -> Output {
    kitnotes_within(data, args, LIMIT)
        .unwrap_or_else(|| panic!("kitnotes {args:?} gave no answer within {LIMIT:?}: a hang"))
}

/// Runs kitnotes with `args`, killed if it has not finished after `limit`: `None` then.
fn kitnotes_within(data: &Path, args: &[&str], limit: Duration) -> Option<Output> {
    // Into files, not pipes: a full pipe nobody reads would stop kitnotes and look like a hang.
    let outputs = tempfile::tempdir().unwrap();
    let (out, err) = (outputs.path().join("out"), outputs.path().join("err"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", crate::common::passphrase_file())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(Output {
                status,
                stdout: std::fs::read(&out).unwrap(),
                stderr: std::fs::read(&err).unwrap(),
            });
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the damage sweep saw.
#[derive(Debug, Default)]
struct Sweep {
    runs: usize,
    hangs: usize,
    refused: usize,
    opened: usize,
}

/// Damage of many kinds (bytes flipped in bursts, cuts at many lengths, zeroed ranges, garbage
/// appended, another store's snapshot file), each opened with a time bound: every open ends,
/// in a message that never quotes sled's internals and names a file that is there, or in the
/// records exactly as they were. (Every other run of kitnotes in this file is bounded too.)
#[test]
fn every_damaged_open_ends_in_a_message_within_its_time_bound() {
    let p = pristine();
    let other = pristine();
    let len = std::fs::metadata(db_file(p.data.path())).unwrap().len() as usize;
    let mut x: u64 = 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut sweep = Sweep::default();
    let limit = LIMIT;
    let kinds = 5;
    let rounds = 40;
    for round in 0..rounds {
        let data = copy_of(&p);
        let db = db_file(data.path());
        let mut bytes = std::fs::read(&db).unwrap();
        let at = (next() as usize) % len;
        let what = match round % kinds {
            0 => {
                for i in 0..8 {
                    let o = (at + i * 97) % len;
                    bytes[o] ^= (next() as u8) | 1;
                }
                format!("8 bytes changed from byte {at}")
            }
            1 => {
                bytes.truncate(at);
                format!("cut to {at} bytes")
            }
            2 => {
                let end = (at + 4096).min(len);
                bytes[at..end].iter_mut().for_each(|b| *b = 0);
                format!("bytes {at}..{end} zeroed")
            }
            3 => {
                bytes.extend((0..4096).map(|_| next() as u8));
                "4096 bytes of garbage appended".to_owned()
            }
            _ => {
                // Another store's snapshot in place of this one's (or beside it).
                let theirs = other.data.path().join("store").join("db");
                for e in std::fs::read_dir(&theirs).unwrap() {
                    let e = e.unwrap();
                    if e.file_name().to_string_lossy().starts_with("snap.") {
                        let ours = data.path().join("store").join("db");
                        for o in std::fs::read_dir(&ours).unwrap() {
                            let o = o.unwrap();
                            if o.file_name().to_string_lossy().starts_with("snap.") {
                                std::fs::remove_file(o.path()).unwrap();
                            }
                        }
                        std::fs::copy(e.path(), ours.join(e.file_name())).unwrap();
                    }
                }
                "another store's snapshot file".to_owned()
            }
        };
        std::fs::write(&db, &bytes).unwrap();
        sweep.runs += 1;
        let before = files(&data.path().join("store"));
        let Some(out) = kitnotes_within(data.path(), &["export"], limit) else {
            sweep.hangs += 1;
            eprintln!("corruption: {what}: no answer within {limit:?}");
            continue;
        };
        assert_no_panic(&what, &out);
        let err = text(&out.stderr);
        for internal in [
            "index out of bounds",
            "ReportableBug",
            "Corruption {",
            "called `",
        ] {
            assert!(
                !err.contains(internal),
                "{what}: sled's internals reach the user: {err}"
            );
        }
        if out.status.success() {
            // Opened: only if every record is exactly as it was (the damage hit what sled no
            // longer uses, or what its recovery rebuilds).
            assert!(
                out.stdout == p.export,
                "{what}: opened, but the records changed"
            );
            sweep.opened += 1;
        } else {
            sweep.refused += 1;
            assert!(err.contains("kitnotes"), "{what}: {err}");
            if err.contains("has lost saves") || err.contains("cannot be opened") {
                assert!(
                    files(&data.path().join("store")) == before,
                    "{what}: refusing changed the store's files"
                );
            }
            // The file a message names is one that is there.
            if let Some(i) = err.find("db/") {
                let named: String = err[i..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ')' && *c != ':')
                    .collect();
                let named = named.trim_end_matches('.');
                assert!(
                    data.path().join("store").join(named).exists(),
                    "{what}: names {named}, which is not there: {err}"
                );
            }
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "corruption: damaged opens, each bounded to {limit:?}: {sweep:?}"
    );
    assert_eq!(sweep.hangs, 0, "{sweep:?}");
}
