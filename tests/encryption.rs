//! Encryption at rest: sealed values, keyed names, the passphrase, and the proof that nothing a
//! patient said, their name or their date of birth can be read from the files of an encrypted
//! store.

use crate::common::*;
use kitnotes::demo::{self, DemoSpec};
use kitnotes::interchange::{self, ExportOptions};
use kitnotes::search::query::{Filter, Query};
use kitnotes::store::codec::{self, CodecError};
use kitnotes::store::crypt::{Crypt, KdfParams};
use kitnotes::store::sled_store::{SledStore, raw_db};
use kitnotes::store::{Actor, Store, StoreError};
use std::path::Path;

const PASS: &[u8] = b"invented passphrase for tests";

fn actor() -> Actor {
    Actor::new("Dr. Test (invented)", NOW.parse().unwrap())
}

fn fixture() -> std::io::BufReader<std::fs::File> {
    let f = std::fs::File::open("tests/fixtures/interchange/varied.jsonl").unwrap();
    std::io::BufReader::new(f)
}

fn encrypted_with_fixture(dir: &Path) -> SledStore {
    let s = SledStore::create_encrypted(dir, PASS, KdfParams::DEFAULT).unwrap();
    interchange::import_into(&s, fixture(), &actor(), "varied.jsonl").unwrap();
    s
}

fn export(store: &dyn Store) -> String {
    let mut out = Vec::new();
    let opts = ExportOptions {
        patient: None,
        include_psychotherapy_notes: true,
    };
    interchange::export_jsonl(store, &mut out, &opts).unwrap();
    String::from_utf8(out).unwrap()
}

/// The keys of the store's timeline records, as stored (in the order of their names).
fn timeline_keys(store: &SledStore) -> Vec<Vec<u8>> {
    raw_db(store)
        .scan_prefix(b"T\0")
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect()
}

#[test]
fn an_encrypted_store_reopens_only_with_its_passphrase_and_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let s = encrypted_with_fixture(dir.path());
        assert!(s.is_encrypted());
        assert!(s.check().unwrap().is_ok(), "{:?}", s.check().unwrap());
        export(&s)
    };
    let s = SledStore::open(dir.path()).unwrap();
    assert!(s.is_encrypted());
    assert!(matches!(s.patients(), Err(StoreError::Sealed)));
    assert!(matches!(
        s.unlock(b"invented passphrase for test"),
        Err(StoreError::WrongPassphrase)
    ));
    assert!(
        matches!(s.patients(), Err(StoreError::Sealed)),
        "a wrong passphrase leaves it locked"
    );
    s.unlock(PASS).unwrap();
    assert_eq!(export(&s), before);
    // Locking forgets the keys; unlocking brings everything back.
    s.lock();
    assert!(matches!(s.record("n1"), Err(StoreError::Sealed)));
    assert!(matches!(
        s.apply(&[]),
        Err(StoreError::Sealed) | Ok(()) // an empty write touches nothing
    ));
    s.unlock(PASS).unwrap();
    assert!(s.record("n1").unwrap().is_some());
}

#[test]
fn a_tampered_value_fails_loudly_and_check_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = encrypted_with_fixture(dir.path());
    let key = timeline_keys(&s)[0].clone();
    let db = raw_db(&s);
    let mut value = db.get(&key).unwrap().unwrap().to_vec();
    let at = value.len() - 20; // inside the ciphertext, before the tag
    value[at] ^= 0x01;
    db.insert(&key, value).unwrap();
    let errors: Vec<String> = s
        .patients()
        .unwrap()
        .iter()
        .filter_map(|p| s.patient_records(&p.id).err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("the seal does not open"), "{errors:?}");
    let report = s.check().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("the seal does not open")),
        "{:?}",
        report.problems
    );
}

#[test]
fn values_swapped_between_two_keys_do_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let s = encrypted_with_fixture(dir.path());
    let keys = timeline_keys(&s);
    let db = raw_db(&s);
    let (a, b) = (&keys[0], &keys[1]);
    let (va, vb) = (db.get(a).unwrap().unwrap(), db.get(b).unwrap().unwrap());
    db.insert(a, vb).unwrap();
    db.insert(b, va).unwrap();
    let problems = s.check().unwrap().problems;
    let sealed: Vec<_> = problems
        .iter()
        .filter(|p| p.contains("the seal does not open"))
        .collect();
    assert_eq!(sealed.len(), 2, "{problems:?}");
}

#[test]
fn plain_values_are_refused_in_an_encrypted_store_and_sealed_ones_in_a_plain_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = encrypted_with_fixture(dir.path());
    let key = timeline_keys(&s)[0].clone();
    let record = s.patient_records(&pid("p1")).unwrap().unwrap();
    let one = kitnotes::model::Record::Patient(record.patient.clone());
    let plain = codec::encode(&Crypt::Plain, &key, &one);
    raw_db(&s).insert(&key, plain.clone()).unwrap();
    assert!(
        s.check()
            .unwrap()
            .problems
            .iter()
            .any(|p| p.contains("not sealed")),
        "a plain value slipped in is named"
    );
    let sealed = raw_db(&s).get(&timeline_keys(&s)[1]).unwrap().unwrap();
    assert_eq!(
        codec::decode(&Crypt::Plain, &timeline_keys(&s)[1], &sealed),
        Err(CodecError::NoKey)
    );
}

#[test]
fn search_on_an_encrypted_store_finds_what_it_finds_on_a_plain_one() {
    let plain_dir = tempfile::tempdir().unwrap();
    let sealed_dir = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        patients: 6,
        notes_per_patient: 12,
        seed: 7,
        ..DemoSpec::new(jiff::civil::date(2026, 11, 21))
    };
    let plain = SledStore::open(plain_dir.path()).unwrap();
    demo::build(&plain, &spec, &actor(), &mut |_| {}).unwrap();
    let sealed = SledStore::create_encrypted(sealed_dir.path(), PASS, KdfParams::DEFAULT).unwrap();
    demo::build(&sealed, &spec, &actor(), &mut |_| {}).unwrap();
    assert!(sealed.check().unwrap().is_ok(), "{:?}", sealed.check());
    let tz = jiff::tz::TimeZone::UTC;
    let queries = [
        "calm",
        "fam*",
        "\"first session\"",
        "breath* -calm",
        "kind:session nause*",
        "s*",
    ];
    let mut found_any = 0;
    for q in queries {
        let filter = Filter {
            include_private: true,
            ..Filter::default()
        };
        let query = Query::parse(q, filter, &tz).unwrap();
        let a = plain.search(&query, 1000).unwrap();
        let b = sealed.search(&query, 1000).unwrap();
        assert_eq!(a.total, b.total, "{q}: totals differ");
        let ids = |r: &kitnotes::search::Results| {
            let mut v: Vec<_> = r.hits.iter().map(|h| (h.record.clone(), h.part)).collect();
            v.sort();
            v
        };
        assert_eq!(ids(&a), ids(&b), "{q}");
        found_any += usize::from(a.total > 0);
    }
    assert!(found_any >= 4, "the queries must find something to compare");
}

/// Every way `grep -a` could find `word` in a file: as typed, folded to lower and upper case,
/// and in UTF-16 either way round.
fn encodings(word: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for w in [word.to_owned(), word.to_lowercase(), word.to_uppercase()] {
        out.push(w.as_bytes().to_vec());
        out.push(w.encode_utf16().flat_map(|u| u.to_le_bytes()).collect());
        out.push(w.encode_utf16().flat_map(|u| u.to_be_bytes()).collect());
    }
    out
}

/// Each file under `dir` that holds any of `words` in any of its encodings, with the word.
fn files_revealing(dir: &Path, words: &[&str]) -> Vec<String> {
    let needles: Vec<(String, Vec<u8>)> = words
        .iter()
        .flat_map(|w| encodings(w).into_iter().map(move |e| (w.to_string(), e)))
        .collect();
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            for (word, needle) in &needles {
                if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    found.push(format!("{} holds {word}", path.display()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Invented markers: a patient's name and date of birth, and words in a note, an observation,
/// a goal and a check-in.
const MARKERS: [&str; 9] = [
    "Quillfeather",
    "Marwick",
    "1961-07-14",
    "19610714",
    "zanzibarquokka",
    "xylophonetic",
    "plumbagoid",
    "marmaladine",
    "Ångströmwick",
];

fn marker_file(dir: &Path) -> std::path::PathBuf {
    let lines = [
        r#"{"type":"kitnotes","version":1}"#,
        r#"{"type":"patient","id":"p-marker","name":"Quillfeather Marwick Ångströmwick","born":"1961-07-14","tags":["trd"]}"#,
        r#"{"type":"note","id":"n-marker","patient":"p-marker","kind":"preparation","at":"2026-03-02T10:00:00Z","title":"Zanzibarquokka preparation","sections":[{"heading":"Intentions","body":"Talk about the xylophonetic dream."}],"status":"signed","signed_by":"Dr. Rivera (invented)","signed_at":"2026-03-02T11:00:00Z"}"#,
        r#"{"type":"session","id":"s-marker","patient":"p-marker","at":"2026-03-05T09:00:00Z","number":1,"protocol":"iv-ketamine","medication":"ketamine","route":"iv","dose_mg":36.2,"dose_mg_per_kg":0.5,"weight_kg":72.4,"lot":"LOT-1","dose_time":"2026-03-05T09:10:00Z","vitals":[],"observations":[{"at":"2026-03-05T09:15:00Z","text":"Said plumbagoid twice, relaxed."}]}"#,
        r#"{"type":"goal","id":"g-marker","patient":"p-marker","at":"2026-03-06T10:30:00Z","title":"Bake marmaladine bread","domain":"relationships","status":"active","check_ins":[{"at":"2026-03-08T10:00:00Z","progress":3,"note":"One marmaladine loaf."}]}"#,
    ];
    let path = dir.join("markers.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn no_file_under_the_data_directory_holds_a_marker_word_name_or_birth_date() {
    let work = tempfile::tempdir().unwrap();
    let file = marker_file(work.path());
    let data = work.path().join("data");
    let run = |args: &[&str]| {
        let out = kitnotes_with(&data, &work.path().join("config"), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    run(&["import", file.to_str().unwrap()]);
    // Searching, checking and exporting read everything; none may leave plain text behind.
    assert!(run(&["search", "zanzibarquokka"]).contains("Zanzibarquokka preparation"));
    assert!(run(&["search", "plumb*"]).contains("plumbagoid"));
    run(&["check"]);
    let exported = work.path().join("export.jsonl");
    run(&[
        "export",
        "--patient",
        "p-marker",
        "-o",
        exported.to_str().unwrap(),
    ]);
    let found = files_revealing(&data, &MARKERS);
    assert!(found.is_empty(), "plain text on disk: {found:#?}");

    // The same records in a plain (demo) store are found by the same scan: the scan works.
    let control = work.path().join("control");
    let out = kitnotes_with(
        &control,
        &work.path().join("config"),
        &["--demo", "import", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found = files_revealing(&control, &MARKERS);
    for m in ["Quillfeather", "1961-07-14", "zanzibarquokka", "plumbagoid"] {
        assert!(
            found.iter().any(|f| f.ends_with(m)),
            "the scan should find {m} in a plain store: {found:#?}"
        );
    }
}

#[test]
fn passwd_keeps_the_records_and_only_the_new_passphrase_opens_them() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let config = work.path().join("config");
    let old = work.path().join("old");
    let new = work.path().join("new");
    std::fs::write(&old, "old invented passphrase\n").unwrap();
    std::fs::write(&new, "new invented passphrase\n").unwrap();
    let with = |pass: &Path, args: &[&str]| {
        let mut all = vec!["--passphrase-file", pass.to_str().unwrap()];
        all.extend_from_slice(args);
        kitnotes_with(&data, &config, &all)
    };
    let import = with(&old, &["import", "tests/fixtures/interchange/varied.jsonl"]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let before = with(&old, &["export"]);
    assert!(before.status.success());
    let passwd = with(
        &old,
        &["passwd", "--new-passphrase-file", new.to_str().unwrap()],
    );
    assert!(passwd.status.success(), "{}", text(&passwd.stderr));
    assert!(text(&passwd.stderr).contains("the old one no longer opens it"));

    let refused = with(&old, &["export"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.contains(&format!(
            "the passphrase in {} does not open the store at {}",
            old.display(),
            data.join("store").display()
        )),
        "{err}"
    );
    let after = with(&new, &["export"]);
    assert!(after.status.success(), "{}", text(&after.stderr));
    assert_eq!(text(&after.stdout), text(&before.stdout));
    let log = text(&with(&new, &["audit"]).stdout);
    assert!(log.contains("passphrase-changed"), "{log}");
}

#[test]
fn a_new_store_refuses_a_short_passphrase_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let short = work.path().join("short");
    std::fs::write(&short, "1234567\n").unwrap();
    let out = kitnotes_with(
        &work.path().join("data"),
        &work.path().join("config"),
        &[
            "--passphrase-file",
            short.to_str().unwrap(),
            "import",
            "tests/fixtures/interchange/varied.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("use at least 8"),
        "{}",
        text(&out.stderr)
    );
    assert!(!work.path().join("data/store/db").exists());
}
