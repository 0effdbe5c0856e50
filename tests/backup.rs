//! Backups as a user takes them: `kitnotes backup` then `kitnotes restore` gives the same
//! records, also when the backup is taken while kitnotes is open on the store (the open
//! kitnotes writes it), and damaged files, occupied stores and failures never cost anything.

use crate::term as support;

use crate::common::*;
use kitnotes::model::*;
use kitnotes::store::backup;
use kitnotes::store::sled_store::{SledStore, raw_db};
use kitnotes::store::{Actor, AuditAction, AuditFilter, Change, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Session, kitnotes_command};

/// The binary with data in `data` and config in `<data>/config`; `--demo` first when asked.
fn kn(data: &Path, demo: bool, args: &[&str]) -> Output {
    let mut all = Vec::new();
    if demo {
        all.push("--demo");
    }
    all.extend_from_slice(args);
    kitnotes(data, &all)
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// A small demo store at `<data>/demo`.
fn demo(data: &Path) {
    ok(kn(
        data,
        false,
        &[
            "demo",
            "--no-ui",
            "--patients",
            "4",
            "--notes-per-patient",
            "5",
            "--anchor",
            "2026-11-21",
        ],
    ));
}

/// Every record, psychotherapy notes too, as JSON Lines.
fn export(data: &Path, demo: bool) -> Vec<u8> {
    ok(kn(
        data,
        demo,
        &[
            "export",
            "--format",
            "jsonl",
            "--include-psychotherapy-notes",
        ],
    ))
    .stdout
}

/// What `kitnotes check` counts, without the lines that name the store or the audit log's
/// length (a backup and a restore each add an entry).
fn counts(data: &Path, demo: bool) -> Vec<String> {
    text(&ok(kn(data, demo, &["check"])).stdout)
        .lines()
        .filter(|l| !l.starts_with("Store:") && !l.starts_with("Audit log:"))
        .map(str::to_owned)
        .collect()
}

fn audit_actions(data: &Path, demo: bool) -> String {
    text(&ok(kn(data, demo, &["audit"])).stdout)
}

/// Nothing of a restore is left: no store and no staging directory.
fn nothing_restored(data: &Path) {
    assert!(!data.join("store").exists(), "a store was left behind");
    assert!(
        !data.join("store.restoring").exists(),
        "the staging directory was left behind"
    );
}

#[test]
fn backup_then_restore_gives_an_identical_export_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    demo(&a);
    let file = dir.path().join("caseload.kbak");
    let out = ok(kn(&a, true, &["backup", file.to_str().unwrap()]));
    let said = text(&out.stdout);
    assert!(
        said.contains("Backed up") && said.contains("SHA-256 "),
        "{said}"
    );
    assert!(audit_actions(&a, true).contains("backed-up"));

    let out = ok(kn(&b, false, &["restore", file.to_str().unwrap()]));
    let said = text(&out.stdout);
    assert!(
        said.contains("Verified") && said.contains("Integrity: OK"),
        "{said}"
    );
    assert!(said.contains("Patients: 4"), "{said}");

    assert_eq!(export(&a, true), export(&b, false));
    assert_eq!(counts(&a, true), counts(&b, false));
    assert!(audit_actions(&b, false).contains("restored"));
    // The restored store holds the log the backup had, and it still verifies.
    ok(kn(&b, false, &["audit", "verify"]));
    assert!(!b.join("store.restoring").exists());
}

#[test]
fn an_existing_backup_file_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    demo(&a);
    let file = dir.path().join("b.kbak");
    std::fs::write(&file, b"an older backup").unwrap();
    let err = failed(kn(&a, true, &["backup", file.to_str().unwrap()]));
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"an older backup");
    ok(kn(&a, true, &["backup", "--force", file.to_str().unwrap()]));
    ok(kn(
        &a,
        false,
        &["restore", "--verify-only", file.to_str().unwrap()],
    ));
}

#[test]
fn damaged_backups_are_refused_with_what_is_wrong_and_nothing_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    demo(&a);
    let file = dir.path().join("good.kbak");
    ok(kn(&a, true, &["backup", file.to_str().unwrap()]));
    let good = std::fs::read(&file).unwrap();

    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            &["truncated", "byte"],
        ),
        (
            "flipped",
            {
                // The last byte of the last value, just before the trailer.
                let mut b = good.clone();
                let at = b.len() - 32 - 8 - 1 - 1;
                b[at] ^= 0x20;
                b
            },
            &["damaged", "SHA-256"],
        ),
        (
            "magic",
            {
                let mut b = good.clone();
                b[..8].copy_from_slice(b"KITNOTES");
                b
            },
            &["not a kitnotes backup"],
        ),
        ("empty", Vec::new(), &["not a kitnotes backup"]),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(format!("{name}.kbak"));
        std::fs::write(&path, &bytes).unwrap();
        let b = dir.path().join(format!("restore-{name}"));
        let err = failed(kn(&b, false, &["restore", path.to_str().unwrap()]));
        for e in expected {
            assert!(err.contains(e), "{name}: {e:?} missing from: {err}");
        }
        assert!(err.contains(path.to_str().unwrap()), "{name}: {err}");
        nothing_restored(&b);
        let err = failed(kn(
            &b,
            false,
            &["restore", "--verify-only", path.to_str().unwrap()],
        ));
        assert!(err.contains(expected[0]), "{name}: {err}");
    }
}

#[test]
fn restore_never_writes_into_an_existing_store() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    demo(&a);
    let file = dir.path().join("a.kbak");
    ok(kn(&a, true, &["backup", file.to_str().unwrap()]));
    // Another store, with other records, where the restore would go.
    ok(kn(
        &b,
        false,
        &[
            "demo",
            "--no-ui",
            "--patients",
            "2",
            "--notes-per-patient",
            "3",
            "--seed",
            "7",
        ],
    ));
    let before = export(&b, true);
    let err = failed(kn(&b, true, &["restore", file.to_str().unwrap()]));
    let target = b.join("demo");
    assert!(
        err.contains(&format!("already a store at {}", target.display()))
            && err.contains("--data-dir"),
        "{err}"
    );
    assert_eq!(export(&b, true), before);
    assert!(!b.join("demo.restoring").exists());
}

/// A record no check would pass, behind a correct checksum: the restore stops after writing the
/// pairs, and leaves nothing.
#[test]
fn a_backup_of_a_damaged_store_is_not_restored_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store_at(&dir.path().join("damaged"));
    raw_db(&store)
        .insert(b"P\0p9999", b"not an envelope".as_slice())
        .unwrap();
    let file = dir.path().join("damaged.kbak");
    store.backup_source().write_file(&file, false).unwrap();
    let b = dir.path().join("b");
    let err = failed(kn(&b, false, &["restore", file.to_str().unwrap()]));
    assert!(
        err.contains("does not pass its check") && err.contains("p9999"),
        "{err}"
    );
    assert!(err.contains("nothing was restored"), "{err}");
    nothing_restored(&b);
}

/// The invented demo caseload `crate::common::demo_store` builds, in `dir`.
fn demo_store_at(dir: &Path) -> SledStore {
    let store = SledStore::open(dir).unwrap();
    let spec = kitnotes::demo::DemoSpec {
        patients: 5,
        notes_per_patient: 6,
        seed: 42,
        ..kitnotes::demo::DemoSpec::new(jiff::civil::date(2026, 11, 21))
    };
    kitnotes::demo::build(
        &store,
        &spec,
        &Actor::new("Demo Builder", ts(NOW)),
        &mut |_| {},
    )
    .unwrap();
    store
}

fn patient(i: u32) -> Record {
    Record::Patient(Patient::new(
        PatientId::parse(&format!("p{i}")).unwrap(),
        format!("Backup Test {i}"),
    ))
}

fn note(p: u32, i: u32) -> Change {
    let at = jiff::Timestamp::from_second(1_770_000_000 + i64::from(i)).unwrap();
    Change::Put(Record::Note(Note::draft(
        RecordId::parse(&format!("n{p}x{i}")).unwrap(),
        PatientId::parse(&format!("p{p}")).unwrap(),
        NoteKind::Integration,
        at,
        format!("Integration {i}"),
        vec![Section::new(
            "Observations",
            format!("Entry {i} for patient {p}: calmer, sleeping better, word{i}."),
        )],
    )))
}

const NOTES_PER_WRITE: u32 = 1_200;

/// Backups taken while large changes (written in several chunks) go in: each is one moment of
/// the store, so each restores to a store that checks clean with whole changes only.
#[test]
fn backups_taken_during_large_writes_are_each_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&dir.path().join("store")).unwrap();
    let source = store.backup_source();
    let actor = Actor::new("Dr. Backup", ts(NOW));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backups = std::thread::spawn({
        let (dir, done, taken) = (dir.path().to_owned(), done.clone(), taken.clone());
        move || {
            let mut files = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) || files.is_empty() {
                let path = dir.join(format!("{}.kbak", files.len()));
                source.write_file(&path, false).unwrap();
                files.push(path);
                taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
            }
            files
        }
    });
    for p in 0..4 {
        let mut changes = vec![Change::Put(patient(p))];
        changes.extend((0..NOTES_PER_WRITE).map(|i| note(p, i)));
        let before = taken.load(std::sync::atomic::Ordering::SeqCst);
        store.apply_audited(&changes, &actor).unwrap();
        // However fast this machine writes, at least one backup lands after each write.
        while taken.load(std::sync::atomic::Ordering::SeqCst) <= before + 1 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let files = backups.join().unwrap();
    assert!(files.len() >= 3, "only {} backups were taken", files.len());
    let mut seen = std::collections::BTreeSet::new();
    for (i, file) in files.iter().enumerate() {
        let restored = dir.path().join(format!("restored-{i}"));
        backup::restore(file, &restored.join("db")).unwrap();
        let store = SledStore::open(&restored).unwrap();
        assert_eq!(
            store.rolled_back_on_open(),
            0,
            "backup {i} caught a write half-way"
        );
        let report = store.check().unwrap();
        assert!(report.is_ok(), "backup {i}: {:?}", report.problems);
        let c = report.counts;
        assert_eq!(
            c.notes,
            c.patients * u64::from(NOTES_PER_WRITE),
            "backup {i}"
        );
        seen.insert(c.patients);
    }
    assert!(
        seen.contains(&4),
        "the last backup has every write: {seen:?}"
    );
}

/// The store held open in this process, the way the UI holds it, with the backup server
/// running: `kitnotes backup` (a second process, locked out) has this process write the backup,
/// and it is recorded in the audit log by the task the app would run on its ticks.
#[cfg(unix)]
#[test]
fn a_store_open_elsewhere_is_backed_up_by_the_process_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store_dir = data.join("store");
    let store = demo_store_at(&store_dir);
    let before: Vec<u8> = {
        let mut out = Vec::new();
        kitnotes::interchange::export_jsonl(
            &store,
            &mut out,
            &kitnotes::interchange::ExportOptions {
                include_psychotherapy_notes: true,
                ..Default::default()
            },
        )
        .unwrap();
        out
    };
    let (server, mut record) =
        kitnotes::cli::backup::serve(&store_dir, store.backup_source()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store_dir.join("kitnotes.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the socket is this user's only");
    }
    let file = dir.path().join("while-open.kbak");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .args(["backup", file.to_str().unwrap()])
        .env("KITNOTES_DATA_DIR", &data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The app's ticks: record what the server wrote, until the child is done.
    let mut said = Vec::new();
    let started = Instant::now();
    loop {
        said.extend(record(&store));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "kitnotes backup hangs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "kitnotes is open on this store (pid {}); it wrote the backup",
            std::process::id()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("Recorded in its audit log as entry"),
        "{stdout}"
    );
    assert!(
        said.iter()
            .any(|s| s.contains("A backup of this store was written")),
        "{said:?}"
    );
    let log = store.audit_log(&AuditFilter::default()).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, AuditAction::BackedUp);
    assert!(last.detail.contains("while-open.kbak"), "{}", last.detail);

    // A request for a relative path, or one that is not understood, fails without harm.
    {
        use std::io::BufRead;
        let mut s =
            std::os::unix::net::UnixStream::connect(store_dir.join("kitnotes.sock")).unwrap();
        s.write_all(
            b"{\"request\":\"backup\",\"path\":\"rel.kbak\",\"force\":false,\"who\":\"x\"}\n",
        )
        .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(&s).read_line(&mut line).unwrap();
        assert!(
            line.contains("\"failed\"") && line.contains("not an absolute path"),
            "{line}"
        );
        let mut s =
            std::os::unix::net::UnixStream::connect(store_dir.join("kitnotes.sock")).unwrap();
        s.write_all(b"{\"request\":\"read-records\"}\n").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(&s).read_line(&mut line).unwrap();
        assert!(line.contains("\"failed\""), "{line}");
    }

    drop(server);
    assert!(
        !store_dir.join("kitnotes.sock").exists(),
        "the socket is removed when the server stops"
    );
    drop(record);
    drop(store);

    let restored = dir.path().join("restored");
    ok(kn(&restored, false, &["restore", file.to_str().unwrap()]));
    let after = export(&restored, false);
    assert_eq!(after, before);
}

/// Another kitnotes process holds the store and answers no backup requests (an older one, or
/// a command such as an import): the message says what to do.
#[test]
fn a_store_held_by_a_process_that_does_not_answer_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    demo(&data);
    let held = SledStore::open(&data.join("demo")).unwrap();
    let file = dir.path().join("x.kbak");
    let err = failed(kn(&data, true, &["backup", file.to_str().unwrap()]));
    assert!(
        err.contains("open in another kitnotes process") && err.contains("quit it there"),
        "{err}"
    );
    assert!(!file.exists());
    drop(held);
}

/// kitnotes with its data in `data`, in a 160x40 terminal.
fn start_ui(data: &Path, args: &[&str]) -> Session {
    let mut cmd = kitnotes_command(args);
    cmd.env("KITNOTES_DATA_DIR", data);
    cmd.env("KITNOTES_CONFIG_DIR", data.join("config"));
    Session::spawn(cmd, 160, 40)
}

/// The case end to end: the terminal UI is open on the store, `kitnotes backup` from
/// another shell gets the backup written by it, the UI says so, and the backup restores to
/// the same records.
#[cfg(unix)]
#[test]
fn a_backup_taken_while_the_ui_is_open_restores_to_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    demo(&a);
    let mut ui = start_ui(&a, &["--demo"]);
    ui.wait_for("Patients (");
    let socket = a.join("demo").join("kitnotes.sock");
    let file = dir.path().join("open.kbak");
    let out = ok(kn(&a, true, &["backup", file.to_str().unwrap()]));
    let said = text(&out.stdout);
    assert!(
        said.contains("kitnotes is open on this store (pid")
            && said.contains("it wrote the backup"),
        "{said}"
    );
    assert!(
        said.contains("Recorded in its audit log as entry"),
        "{said}"
    );
    ui.wait_for("A backup of this store was written to");
    // Asking again for the same file is refused by the open kitnotes too, with --force allowed.
    let err = failed(kn(&a, true, &["backup", file.to_str().unwrap()]));
    assert!(err.contains("already exists"), "{err}");
    ok(kn(&a, true, &["backup", "--force", file.to_str().unwrap()]));
    ui.quit();
    assert!(!socket.exists(), "the socket goes when kitnotes quits");

    let b = dir.path().join("b");
    ok(kn(&b, false, &["restore", file.to_str().unwrap()]));
    assert_eq!(export(&a, true), export(&b, false));
    assert_eq!(counts(&a, true), counts(&b, false));
    let log = audit_actions(&a, true);
    assert_eq!(log.matches("backed-up").count(), 2, "{log}");
}

/// A socket left by a kitnotes that was killed does not stop the next one from serving.
#[cfg(unix)]
#[test]
fn a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = SledStore::open(&store_dir).unwrap();
    {
        let stale =
            std::os::unix::net::UnixListener::bind(store_dir.join("kitnotes.sock")).unwrap();
        drop(stale);
    }
    let (server, _record) =
        kitnotes::cli::backup::serve(&store_dir, store.backup_source()).unwrap();
    assert!(std::os::unix::net::UnixStream::connect(store_dir.join("kitnotes.sock")).is_ok());
    drop(server);
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".s"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A backup killed while writing leaves its hidden temporary file (as large as the store); the
/// next backup to that name removes it, and leaves files that are not its own alone.
#[test]
fn a_backup_removes_what_a_killed_backup_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&dir.path().join("store")).unwrap();
    store.put(patient(1)).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // No process has this id (Linux's largest is 4,194,304).
    let abandoned = out.join(".clinic.kbak.9999999.kitnotes-tmp");
    let other = out.join(".other.kbak.9999999.kitnotes-tmp");
    std::fs::write(&abandoned, b"half a backup").unwrap();
    std::fs::write(&other, b"another file's").unwrap();
    store
        .backup_source()
        .write_file(&out.join("clinic.kbak"), false)
        .unwrap();
    assert!(
        !abandoned.exists(),
        "the killed backup's file is still there"
    );
    assert!(other.exists(), "a file for another name was removed");
    assert!(out.join("clinic.kbak").exists());
}
