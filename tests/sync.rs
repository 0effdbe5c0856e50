//! `kitnotes sync` against a real FHIR R4 server: helios-hfs, started on 127.0.0.1 with a fresh
//! SQLite file for each test (scripts/install-hfs.sh builds it once; `.ci/run` sets
//! KITNOTES_HFS to it and KITNOTES_REQUIRE_HFS=1, so CI fails without it, where elsewhere its
//! absence only skips).

use crate::common::{PASSPHRASE, passphrase_file, text};
use kitnotes::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The server binary, or `None` (with a note) when it is not installed and not required.
fn hfs_binary() -> Option<PathBuf> {
    let found = std::env::var_os("KITNOTES_HFS")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".cache/kitnotes/tools/helios-hfs-0.2.7/bin/hfs"))
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("KITNOTES_REQUIRE_HFS").is_none(),
            "KITNOTES_REQUIRE_HFS is set but the FHIR server is not installed: run \
             scripts/install-hfs.sh and set KITNOTES_HFS to the path it prints"
        );
        eprintln!("skipped: helios-hfs is not installed (scripts/install-hfs.sh)");
    }
    found
}

/// A running helios-hfs with its own SQLite file, stopped when dropped.
struct Hfs {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Hfs {
    fn start(bin: &Path) -> Hfs {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        Hfs::start_at(bin, dir, port)
    }

    /// On `port` with the database in `dir` (again after a stop: the same records).
    fn start_at(bin: &Path, dir: tempfile::TempDir, port: u16) -> Hfs {
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let child = Command::new(bin)
            .arg("--port")
            .arg(port.to_string())
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--database-url")
            .arg(dir.path().join("fhir.db"))
            .arg("--base-url")
            .arg(format!("http://127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--log-level")
            .arg("error")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("hfs starts");
        let hfs = Hfs { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = get(&format!("{}/metadata", hfs.url()))
                && r.0 == 200
            {
                return hfs;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("hfs did not answer on port {port} within 60 s");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server, keeping its database for [`Hfs::start_at`].
    fn stop(mut self) -> (tempfile::TempDir, u16) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.port)
    }

    /// Every version the server keeps of everything, as its raw history pages.
    fn history_text(&self) -> String {
        let mut all = String::new();
        let mut url = format!("{}/_history?_count=100", self.url());
        for _ in 0..1000 {
            let (status, body) = get(&url).unwrap();
            assert_eq!(status, 200, "{body}");
            all.push_str(&body);
            let page: serde_json::Value = serde_json::from_str(&body).unwrap();
            let next = page["link"]
                .as_array()
                .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned);
            match next {
                Some(n) if n != url => url = n,
                _ => break,
            }
        }
        all
    }

    /// What the server holds now: each resource's newest content (without `meta`).
    fn contents(&self) -> BTreeMap<String, String> {
        let mut newest: BTreeMap<String, (u64, String)> = BTreeMap::new();
        for page in split_pages(&self.history_text()) {
            let page: serde_json::Value = serde_json::from_str(&page).unwrap();
            for e in page["entry"].as_array().cloned().unwrap_or_default() {
                let mut r = e["resource"].clone();
                let Some(kind) = r["resourceType"].as_str().map(str::to_owned) else {
                    continue;
                };
                let key = format!("{kind}/{}", r["id"].as_str().unwrap());
                let v: u64 = r["meta"]["versionId"].as_str().unwrap().parse().unwrap();
                r.as_object_mut().unwrap().remove("meta");
                let body = kitnotes::sync::resources::hash_resource(&r);
                if newest.get(&key).is_none_or(|(n, _)| v > *n) {
                    newest.insert(key, (v, body));
                }
            }
        }
        newest.into_iter().map(|(k, (_, b))| (k, b)).collect()
    }
}

impl Drop for Hfs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The history pages `history_text` joined, apart again.
fn split_pages(all: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut de = serde_json::Deserializer::from_str(all).into_iter::<serde_json::Value>();
    while let Some(Ok(v)) = de.next() {
        pages.push(v.to_string());
    }
    pages
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut r = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// One clinician's laptop: a data directory and a config directory.
struct Laptop {
    dir: tempfile::TempDir,
}

impl Laptop {
    fn new(name: &str, practitioner: &str, server: &str) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        let l = Laptop { dir };
        l.configure(name, practitioner, server);
        l
    }

    fn configure(&self, name: &str, practitioner: &str, server: &str) {
        std::fs::write(
            self.dir.path().join("config/config.toml"),
            format!(
                "clinician = \"{name}\"\ntimezone = \"UTC\"\n\n[sync]\nserver = \"{server}\"\n\
                 practitioner = \"{practitioner}\"\n"
            ),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kitnotes"));
        cmd.args(args)
            .env("KITNOTES_DATA_DIR", self.dir.path())
            .env("KITNOTES_CONFIG_DIR", self.dir.path().join("config"))
            .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
            .env_remove("KITNOTES_SYNC_ABORT_AFTER")
            // Where anything a killed run leaves behind goes.
            .current_dir(self.dir.path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kitnotes runs")
    }

    /// Runs and expects success; returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kitnotes {args:?} failed: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn import(&self, lines: &str) {
        let file = self.dir.path().join("in.jsonl");
        std::fs::write(
            &file,
            format!("{{\"type\":\"kitnotes\",\"version\":1}}\n{lines}"),
        )
        .unwrap();
        self.ok(&["import", file.to_str().unwrap()]);
    }

    fn export(&self) -> String {
        let file = self.dir.path().join("out.jsonl");
        let _ = std::fs::remove_file(&file);
        self.ok(&["export", "--format", "jsonl", "-o", file.to_str().unwrap()]);
        std::fs::read_to_string(file).unwrap()
    }

    fn sync(&self) -> String {
        self.ok(&["sync"])
    }

    /// The store itself, unlocked (the laptop's kitnotes must not be running).
    fn store(&self) -> kitnotes::store::SledStore {
        let s = kitnotes::store::SledStore::open(&self.dir.path().join("store")).unwrap();
        s.unlock(PASSPHRASE.as_bytes()).unwrap();
        s
    }
}

/// Invented records of clinician A: a patient with a signed preparation note, a signed dosing
/// session, a PHQ-9 and a goal; and what must never leave the laptop: a psychotherapy note
/// (signed) and a draft.
const A_RECORDS: &str = r#"{"type":"patient","id":"pa1","name":"Ada Synctest (invented)","born":"1980-04-02","tags":["trd"]}
{"type":"measure","id":"ma1","patient":"pa1","instrument":"phq9","at":"2026-03-01T09:00:00Z","items":[2,2,2,2,1,1,1,1,0],"total":12,"band":"moderate","item9_flag":false}
{"type":"note","id":"na1","patient":"pa1","kind":"preparation","at":"2026-03-02T10:00:00Z","title":"Preparation SHARED-A","sections":[{"heading":"Intentions","body":"Reconnect with my brother."}],"status":"signed","signed_by":"Dr. Avery (invented)","signed_at":"2026-03-02T11:00:00Z"}
{"type":"goal","id":"ga1","patient":"pa1","at":"2026-03-02T10:30:00Z","title":"Call my brother every Sunday","domain":"relationships","status":"active","source_note":"na1","check_ins":[{"at":"2026-03-06T10:00:00Z","progress":3,"note":"Called once."}]}
{"type":"session","id":"sa1","patient":"pa1","at":"2026-03-05T09:00:00Z","number":1,"protocol":"iv-ketamine","medication":"ketamine","route":"iv","dose_mg":36.2,"dose_mg_per_kg":0.5,"weight_kg":72.4,"lot":"LOT-TEST-1","dose_time":"2026-03-05T09:10:00Z","vitals":[{"at":"2026-03-05T09:05:00Z","systolic":128,"diastolic":82,"heart_rate":72,"spo2":98}],"observations":[{"at":"2026-03-05T09:15:00Z","text":"Eyes closed, relaxed."}],"discharge":{"at":"2026-03-05T11:20:00Z","transport_arranged":true,"ready_minutes":95},"signed_by":"Dr. Avery (invented)","signed_at":"2026-03-05T11:30:00Z"}
{"type":"note","id":"na2","patient":"pa1","kind":"psychotherapy","at":"2026-03-06T11:00:00Z","title":"Process PSYCHOTHERAPY-SECRET-A","sections":[{"heading":"Process","body":"PSYCHOTHERAPY-SECRET-A transference."}],"status":"signed","signed_by":"Dr. Avery (invented)","signed_at":"2026-03-06T11:30:00Z"}
{"type":"note","id":"na3","patient":"pa1","kind":"integration","at":"2026-03-07T10:00:00Z","title":"Integration DRAFT-SECRET-A","sections":[{"heading":"Themes","body":"DRAFT-SECRET-A unfinished."}],"status":"draft"}
"#;

/// Clinician B's own patient, with the same kinds of records kept back.
const B_RECORDS: &str = r#"{"type":"patient","id":"pb1","name":"Bo Synctest (invented)","born":"1975-11-30"}
{"type":"measure","id":"mb1","patient":"pb1","instrument":"gad7","at":"2026-04-01T09:00:00Z","items":[1,1,1,1,0,0,0],"total":4,"band":"minimal"}
{"type":"note","id":"nb1","patient":"pb1","kind":"integration","at":"2026-04-02T10:00:00Z","title":"Integration SHARED-B","sections":[{"heading":"Themes","body":"Sleeping better."}],"status":"signed","signed_by":"Dr. Blake (invented)","signed_at":"2026-04-02T11:00:00Z"}
{"type":"note","id":"nb2","patient":"pb1","kind":"psychotherapy","at":"2026-04-03T11:00:00Z","title":"Process PSYCHOTHERAPY-SECRET-B","sections":[{"heading":"Process","body":"PSYCHOTHERAPY-SECRET-B."}],"status":"draft"}
{"type":"note","id":"nb3","patient":"pb1","kind":"preparation","at":"2026-04-04T10:00:00Z","title":"Preparation DRAFT-SECRET-B","sections":[{"heading":"Intentions","body":"DRAFT-SECRET-B"}],"status":"draft"}
"#;

/// A second patient of B's: one more transaction in B's sync.
const B_SECOND_PATIENT: &str = r#"{"type":"patient","id":"pb2","name":"Cy Synctest (invented)"}
{"type":"measure","id":"mb2","patient":"pb2","instrument":"phq9","at":"2026-04-05T09:00:00Z","items":[1,1,1,1,1,1,1,1,0],"total":8,"band":"mild","item9_flag":false}
"#;

/// B's integration note for A's patient, written after B pulled that patient.
const B_ON_A: &str = r#"{"type":"note","id":"nb4","patient":"pa1","kind":"integration","at":"2026-03-08T10:00:00Z","title":"Integration SHARED-B-ON-A","sections":[{"heading":"Themes","body":"Met with Ada after session 1."}],"status":"signed","signed_by":"Dr. Blake (invented)","signed_at":"2026-03-08T11:00:00Z"}
"#;

/// The lines of an export that may be shared: without drafts (psychotherapy notes are left
/// out of every export unless asked).
fn shared_lines(export: &str) -> BTreeSet<String> {
    export
        .lines()
        .filter(|l| !l.contains("DRAFT-SECRET"))
        .map(str::to_owned)
        .collect()
}

fn number_after(out: &str, before: &str) -> usize {
    let at = out
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} in {out}"))
        + before.len();
    out[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn two_clinicians_share_through_the_server_and_a_third_holds_both() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let a = Laptop::new("Dr. Avery (invented)", "avery", &hfs.url());
    let b = Laptop::new("Dr. Blake (invented)", "blake", &hfs.url());
    a.import(A_RECORDS);
    b.import(B_RECORDS);

    let out = a.sync();
    assert!(out.contains("received 0 records"), "{out}");
    // Patient, PHQ-9, signed preparation note, goal, signed session: 5 records.
    assert_eq!(number_after(&out, "resources ("), 5, "{out}");
    assert!(out.contains("1 draft(s), 1 psychotherapy note(s)"), "{out}");

    let out = b.sync();
    assert!(
        out.contains("received 5 records (5 from Dr. Avery (invented))"),
        "{out}"
    );
    assert_eq!(number_after(&out, "resources ("), 3, "{out}");
    // B writes on A's patient, now on B's laptop too.
    b.import(B_ON_A);
    let out = b.sync();
    assert_eq!(number_after(&out, "resources ("), 1, "{out}");
    let out = a.sync();
    assert!(
        out.contains("received 4 records (4 from Dr. Blake (invented))"),
        "{out}"
    );

    // Nothing changed anywhere: nothing more goes either way (the laptops agree with the
    // server, so they do not keep sending each other what they made from the same records).
    for laptop in [&a, &b, &a] {
        let out = laptop.sync();
        assert!(out.contains("sent 0 resources (0 records)"), "{out}");
        assert!(out.contains("received 0 records"), "{out}");
    }

    // A new laptop pulls everything shared, byte for byte as the authors hold it.
    let c = Laptop::new("Dr. Cruz (invented)", "cruz", &hfs.url());
    let out = c.sync();
    assert!(
        out.contains(
            "received 9 records (5 from Dr. Avery (invented), 4 from Dr. Blake (invented))"
        ),
        "{out}"
    );
    let held = shared_lines(&c.export());
    assert_eq!(held, shared_lines(&a.export()));
    assert_eq!(held, shared_lines(&b.export()));
    assert!(held.iter().any(|l| l.contains("SHARED-B-ON-A")));
    // Signed there is signed here: the note cannot be changed on C.
    let store = c.store();
    let mut note = match store.record("na1").unwrap() {
        Some(kitnotes::model::Record::Note(n)) => n,
        other => panic!("{other:?}"),
    };
    assert!(note.is_signed());
    note.title = "Changed".into();
    assert!(store.put(kitnotes::model::Record::Note(note)).is_err());
    drop(store);

    // Read in the app as a user would: the other clinicians' records are marked with their
    // names, and the header says when the last sync was.
    let screen = c.ok(&[
        "screenshot",
        "--keys",
        "/Ada<Enter>",
        "--size",
        "240x40",
        "--at",
        "2026-11-21T15:30:00Z",
    ]);
    assert!(screen.contains("[synced "), "{screen}");
    assert!(
        screen.contains("SHARED-B-ON-A ⇣ Dr. Blake (invented)"),
        "{screen}"
    );
    assert!(screen.contains("⇣ Dr. Avery (invented)"), "{screen}");
    let screen = a.ok(&["screenshot", "--keys", "/Ada<Enter>", "--size", "240x40"]);
    assert!(
        screen.contains("SHARED-B-ON-A ⇣ Dr. Blake (invented)"),
        "{screen}"
    );
    assert!(!screen.contains("⇣ Dr. Avery"), "{screen}");

    // What never leaves: not one version on the server holds their text.
    let history = hfs.history_text();
    assert!(history.contains("SHARED-B-ON-A"));
    for secret in ["PSYCHOTHERAPY-SECRET", "DRAFT-SECRET"] {
        assert!(!history.contains(secret), "{secret} reached the server");
    }
    // The sync state kept in the store is part of a store that checks clean.
    let check = c.run(&["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    // Each sync is an audit entry.
    let audit = a.ok(&["audit"]);
    assert!(audit.matches("synced").count() >= 4, "{audit}");
}

#[test]
fn a_sync_killed_at_any_point_ends_as_an_uninterrupted_one_after_a_rerun() {
    let Some(bin) = hfs_binary() else { return };
    // The uninterrupted run: A sends, then B pulls and sends.
    let reference = |abort_after: Option<u32>| {
        let hfs = Hfs::start(&bin);
        let a = Laptop::new("Dr. Avery (invented)", "avery", &hfs.url());
        let b = Laptop::new("Dr. Blake (invented)", "blake", &hfs.url());
        a.import(A_RECORDS);
        b.import(B_RECORDS);
        b.import(B_SECOND_PATIENT);
        a.sync();
        let killed = abort_after.map(|n| {
            let out = b
                .command(&["sync"])
                .env("KITNOTES_SYNC_ABORT_AFTER", n.to_string())
                .output()
                .unwrap();
            !out.status.success()
        });
        b.sync();
        // Settled: a further sync has nothing to send.
        let out = b.sync();
        assert!(out.contains("sent 0 resources"), "{out}");
        (hfs.contents(), b.export(), killed)
    };
    let (server, local, _) = reference(None);
    let mut killed_runs = 0;
    for n in 1..=8 {
        let (s, l, killed) = reference(Some(n));
        assert_eq!(s, server, "server after a kill at request {n}");
        assert_eq!(l, local, "records after a kill at request {n}");
        if killed == Some(true) {
            killed_runs += 1;
        } else {
            break;
        }
    }
    // B's sync makes 3 requests (the history, a transaction for each of B's two patients):
    // it was killed after each.
    assert!(killed_runs >= 3, "killed {killed_runs} times");
}

/// Writes a changed patient straight into a laptop's store, as an edit in the app would.
fn rename(l: &Laptop, patient: &str, name: &str) {
    let store = l.store();
    let mut p = store
        .patient(&kitnotes::model::PatientId::parse(patient).unwrap())
        .unwrap()
        .unwrap();
    p.name = name.into();
    store.put(kitnotes::model::Record::Patient(p)).unwrap();
    store.flush().unwrap();
}

#[test]
fn a_stale_write_is_refused_and_kept_as_a_conflict() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let (a, b) = both_hold_a_records(&hfs, "");
    // Both change the patient's details; A's goes first.
    rename(&a, "pa1", "Ada Synctest-Avery (invented)");
    rename(&b, "pa1", "Ada Synctest-Blake (invented)");
    a.sync();
    // B writes without reading first: the server refuses the stale version.
    let out = b.ok(&["sync", "--push-only"]);
    assert!(out.contains("1 new conflict(s): pa1"), "{out}");
    assert!(out.contains("stale write (412)"), "{out}");
    assert!(out.contains("Ada Synctest-Blake (invented)"), "{out}");
    assert!(out.contains("Ada Synctest-Avery (invented)"), "{out}");
    // Nothing was overwritten: each keeps its own, the server A's.
    assert!(b.export().contains("Ada Synctest-Blake"));
    assert!(!hfs.history_text().contains("Ada Synctest-Blake"));
    // A full sync still holds it open, reported once, and nothing of B's side is sent.
    let out = b.sync();
    assert!(out.contains("1 conflict(s) open"), "{out}");
    assert!(!out.contains("new conflict"), "{out}");
    assert!(!hfs.history_text().contains("Ada Synctest-Blake"));
    let out = b.ok(&["sync", "--conflicts"]);
    assert!(out.contains("name"), "{out}");
    // B chooses A's version.
    b.ok(&["sync", "--keep-theirs", "pa1"]);
    assert!(b.export().contains("Ada Synctest-Avery"));
    let out = b.sync();
    assert!(!out.contains("conflict"), "{out}");
    assert!(shared_lines(&b.export()) == shared_lines(&a.export()));
    let audit = b.ok(&["audit"]);
    assert!(audit.contains("conflict settled"), "{audit}");
}

#[test]
fn changed_in_two_places_is_a_conflict_found_on_pull_and_mine_can_win() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let (a, b) = both_hold_a_records(&hfs, "");
    rename(&a, "pa1", "Ada Synctest-Avery (invented)");
    rename(&b, "pa1", "Ada Synctest-Blake (invented)");
    a.sync();
    let out = b.sync();
    assert!(out.contains("changed here and on the server"), "{out}");
    b.ok(&["sync", "--keep-mine", "pa1"]);
    let out = b.sync();
    assert_eq!(number_after(&out, "resources ("), 1, "{out}");
    let out = a.sync();
    assert!(out.contains("1 from Dr. Blake (invented)"), "{out}");
    assert!(a.export().contains("Ada Synctest-Blake"));
}

#[test]
fn the_server_down_queues_and_a_later_sync_sends() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let url = hfs.url();
    let (db, port) = hfs.stop();
    let a = Laptop::new("Dr. Avery (invented)", "avery", &url);
    a.import(A_RECORDS);
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("kept here and go at the next sync"), "{err}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Sync stopped with"), "{stdout}");
    assert!(stdout.contains("resources queued"), "{stdout}");
    let status = a.ok(&["sync", "--status"]);
    assert!(status.contains("The last try stopped"), "{status}");
    assert!(status.contains("unreachable"), "{status}");

    let hfs = Hfs::start_at(&bin, db, port);
    let out = a.sync();
    assert_eq!(number_after(&out, "resources ("), 5, "{out}");
    assert!(!out.contains("queued"), "{out}");
    let status = a.ok(&["sync", "--status"]);
    assert!(!status.contains("stopped"), "{status}");
    assert!(hfs.history_text().contains("SHARED-A"));
}

#[test]
fn a_token_file_others_can_read_is_refused_before_anything_is_sent() {
    let a = Laptop::new(
        "Dr. Avery (invented)",
        "avery",
        "https://fhir.example.org/r4",
    );
    let config = a.dir.path().join("config/config.toml");
    let mut text_ = std::fs::read_to_string(&config).unwrap();
    text_.push_str("token_file = \"token\"\n");
    std::fs::write(&config, text_).unwrap();
    let token = a.dir.path().join("config/token");
    std::fs::write(&token, "invented-token\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = a.run(&["sync"]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains("chmod 600"), "{err}");
    }
    // Plain http to another computer is refused too.
    a.configure(
        "Dr. Avery (invented)",
        "avery",
        "http://fhir.example.org/r4",
    );
    let out = a.run(&["sync"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("plain http is allowed only for this computer"),
        "{err}"
    );
}

/// Clinician A's open kitnotes, in-process, syncing in the background with the server at
/// `url` as `kitnotes` would (`cli::sync::in_background`), on a clock the test moves.
fn open_ui(
    a: &Laptop,
    url: &str,
) -> (
    kitnotes::app::App,
    std::sync::Arc<kitnotes::clock::FixedClock>,
) {
    use kitnotes::app::sync::BackgroundSync;
    use kitnotes::interchange::fhir::{DEFAULT_IDENTIFIER_SYSTEM, FhirOptions};
    use kitnotes::sync::config::{SyncConfig, SyncSettings};
    let config = SyncConfig {
        server: url.into(),
        practitioner: "avery".into(),
        ..SyncConfig::default()
    };
    let settings = SyncSettings::from_config(
        Some(&config),
        &a.dir.path().join("config"),
        Some("Dr. Avery (invented)"),
    )
    .unwrap();
    // What `kitnotes sync` makes from a config.toml without [fhir] or [courses].
    let fhir = FhirOptions {
        tz: jiff::tz::TimeZone::UTC,
        reinduction_gap: kitnotes::model::course::DEFAULT_REINDUCTION_GAP,
        identifier_system: DEFAULT_IDENTIFIER_SYSTEM.into(),
        ..FhirOptions::default()
    };
    let clock = std::sync::Arc::new(kitnotes::clock::FixedClock::new(
        crate::common::NOW.parse().unwrap(),
    ));
    let store = a.store();
    let synced_from = kitnotes::sync::state::read(&store)
        .map(|s| s.authors.into_iter().map(|(id, a)| (id, a.name)).collect())
        .unwrap_or_default();
    let mut app = kitnotes::app::App::new(
        Box::new(store),
        Box::new(clock.clone()),
        kitnotes::clock::IdSource::new(7),
        kitnotes::keymap::Keymap::builtin(kitnotes::keymap::Preset::Default),
        kitnotes::app::AppSettings {
            clinician: Some("Dr. Avery (invented)".into()),
            lock_after: kitnotes::app::lock::LockAfter::Never,
            lock_during_session: kitnotes::app::lock::LockAfter::Never,
            synced_from,
            ..kitnotes::app::AppSettings::default()
        },
    )
    .unwrap();
    app.resize(240, 40);
    let runner = BackgroundSync::server_runner(settings, fhir, "Dr. Avery (invented)".into());
    app.start_background_sync(BackgroundSync::new(
        runner,
        Some(jiff::SignedDuration::from_mins(5)),
    ));
    (app, clock)
}

/// A second PHQ-9 for A's patient, recorded after A's last sync: it waits while the server is
/// down.
const A_LATER: &str = r#"{"type":"measure","id":"ma2","patient":"pa1","instrument":"phq9","at":"2026-03-09T09:00:00Z","items":[1,1,1,1,1,1,1,1,0],"total":8,"band":"mild","item9_flag":false}
"#;

#[test]
fn the_open_ui_receives_a_colleagues_note_in_the_background_while_a_draft_is_typed() {
    use crate::common::{press, screen, type_text};
    use crate::sync_ui::settle;
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let url = hfs.url();
    let a = Laptop::new("Dr. Avery (invented)", "avery", &url);
    let b = Laptop::new("Dr. Blake (invented)", "blake", &url);
    a.import(A_RECORDS);
    a.sync();
    b.sync();
    a.import(A_LATER);
    b.import(B_ON_A);
    assert!(!hfs.history_text().contains("ma2"));

    // The server is down when A opens kitnotes: A's new PHQ-9 waits, and A writes on.
    let (db, port) = hfs.stop();
    let (mut app, clock) = open_ui(&a, &url);
    settle(&mut app);
    let label = app.settings.sync_label.clone();
    assert!(
        label.starts_with("sync: queued (server unreachable), ") && label.contains("waiting"),
        "{label}"
    );
    assert!(screen(&app).contains(&format!("[{label}]")));
    press(&mut app, "/Ada<Enter><Enter>w<Enter>");
    assert!(app.editor.is_some(), "{:?}", app.status);
    type_text(&mut app, "Ada described the week; ");

    // The server is back, B sends the note written on A's patient; A's next sync brings it.
    let hfs = Hfs::start_at(&bin, db, port);
    let out = b.sync();
    assert_eq!(number_after(&out, "resources ("), 1, "{out}");
    clock.advance(jiff::SignedDuration::from_mins(5));
    app.tick();
    type_text(&mut app, "sleep is better");
    settle(&mut app);
    assert_eq!(app.settings.sync_label, "synced 15:35");
    let v = app.patient.as_ref().unwrap();
    assert!(
        v.entries
            .iter()
            .any(|e| e.title == "Integration SHARED-B-ON-A"),
        "B's note is in A's timeline"
    );
    assert_eq!(
        app.editor.as_ref().unwrap().sections[0].text(),
        "Ada described the week; sleep is better"
    );
    // A's PHQ-9 went when the server came back.
    assert!(hfs.history_text().contains("ma2"));
    type_text(&mut app, ".");
    press(&mut app, "<Esc>");
    let s = screen(&app);
    assert!(
        s.contains("Integration SHARED-B-ON-A ⇣ Dr. Blake (invented)"),
        "{s}"
    );
    assert!(s.contains("[synced 15:35]"), "{s}");
    let v = app.patient.as_ref().unwrap();
    assert!(
        v.records
            .notes
            .iter()
            .any(|n| !n.is_signed()
                && n.sections[0].body == "Ada described the week; sleep is better."),
        "A's draft is stored as typed"
    );
}

/// Adds an addendum to a signed note straight in a laptop's store, as the app's `+` does.
fn add_addendum(l: &Laptop, note: &str, text: &str, by: &str, at: &str) {
    let store = l.store();
    let Some(kitnotes::model::Record::Note(mut n)) = store.record(note).unwrap() else {
        panic!("no note {note}");
    };
    let at: jiff::Timestamp = at.parse().unwrap();
    n.add_addendum(text, by, at).unwrap();
    let change = kitnotes::store::Change::Put(kitnotes::model::Record::Note(n));
    store
        .apply_audited(&[change], &kitnotes::store::Actor::new(by, at))
        .unwrap();
    store.flush().unwrap();
}

fn addenda(l: &Laptop, note: &str) -> Vec<String> {
    let Some(kitnotes::model::Record::Note(n)) = l.store().record(note).unwrap() else {
        panic!("no note {note}");
    };
    n.addenda.iter().map(|a| a.text.clone()).collect()
}

/// A's and B's laptops on `hfs`, A's records (and `more` of A's) sent by A and pulled by B.
fn both_hold_a_records(hfs: &Hfs, more: &str) -> (Laptop, Laptop) {
    let a = Laptop::new("Dr. Avery (invented)", "avery", &hfs.url());
    let b = Laptop::new("Dr. Blake (invented)", "blake", &hfs.url());
    a.import(&format!("{A_RECORDS}{more}"));
    a.sync();
    b.sync();
    (a, b)
}

#[test]
fn addenda_two_clinicians_add_to_one_signed_note_are_both_kept_everywhere() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let (a, b) = both_hold_a_records(&hfs, "");
    add_addendum(
        &a,
        "na1",
        "ADDENDUM-A: intention clarified",
        "Dr. Avery (invented)",
        "2026-03-03T09:00:00Z",
    );
    add_addendum(
        &b,
        "na1",
        "ADDENDUM-B: brother is abroad",
        "Dr. Blake (invented)",
        "2026-03-04T09:00:00Z",
    );
    a.sync();
    let out = b.sync();
    assert!(!out.contains("conflict"), "{out}");
    assert!(out.contains("1 from Dr. Avery (invented)"), "{out}");
    let out = a.sync();
    assert!(!out.contains("conflict"), "{out}");
    assert!(out.contains("1 from Dr. Blake (invented)"), "{out}");
    let both = [
        "ADDENDUM-A: intention clarified".to_owned(),
        "ADDENDUM-B: brother is abroad".to_owned(),
    ];
    assert_eq!(addenda(&a, "na1"), both);
    assert_eq!(addenda(&b, "na1"), both);
    assert_eq!(shared_lines(&a.export()), shared_lines(&b.export()));
    // Settled: nothing more goes either way.
    for l in [&b, &a] {
        let out = l.sync();
        assert!(out.contains("sent 0 resources"), "{out}");
        assert!(out.contains("received 0 records"), "{out}");
    }
}

/// A goal linked to notes that stay on A's laptop: set in the psychotherapy note, a check-in
/// talked over in a draft.
const A_LOCAL_LINKS: &str = r#"{"type":"goal","id":"ga2","patient":"pa1","at":"2026-03-06T11:30:00Z","title":"Sleep before midnight","domain":"health","status":"active","source_note":"na2","check_ins":[{"at":"2026-03-07T10:30:00Z","progress":4,"note":"Twice this week.","integration_note":"na3"}]}
"#;

#[test]
fn a_goal_changed_elsewhere_keeps_its_links_to_notes_that_stay_here() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let (a, b) = both_hold_a_records(&hfs, A_LOCAL_LINKS);
    // B records a check-in on the goal.
    {
        let store = b.store();
        let Some(kitnotes::model::Record::Goal(mut g)) = store.record("ga2").unwrap() else {
            panic!("B holds the goal");
        };
        assert_eq!(
            g.source_note, None,
            "the link to a psychotherapy note never left"
        );
        g.check_ins.push(kitnotes::model::CheckIn {
            at: "2026-03-09T10:00:00Z".parse().unwrap(),
            progress: 6,
            note: "CHECKIN-B: most nights.".into(),
            integration_note: None,
        });
        store.put(kitnotes::model::Record::Goal(g)).unwrap();
        store.flush().unwrap();
    }
    b.sync();
    let out = a.sync();
    assert!(out.contains("1 from Dr. Blake (invented)"), "{out}");
    let Some(kitnotes::model::Record::Goal(g)) = a.store().record("ga2").unwrap() else {
        panic!("A holds the goal");
    };
    assert_eq!(g.check_ins.len(), 2);
    assert_eq!(g.check_ins[1].note, "CHECKIN-B: most nights.");
    assert_eq!(g.source_note.as_ref().map(|n| n.as_str()), Some("na2"));
    assert_eq!(
        g.check_ins[0].integration_note.as_ref().map(|n| n.as_str()),
        Some("na3")
    );
    // Nothing to send back, and the links never reach the server.
    let out = a.sync();
    assert!(out.contains("sent 0 resources"), "{out}");
    let history = hfs.history_text();
    assert!(history.contains("CHECKIN-B"));
    assert!(!history.contains("na2") && !history.contains("na3"));
}

/// A pull larger than one write of the store (`sync::pull`'s parts of 64 records, so that the
/// open UI's next save never waits behind a whole practice's first pull): every record arrives,
/// each once, as its author holds it, and a second sync receives nothing.
#[test]
fn a_pull_of_many_records_arrives_whole_in_parts() {
    let Some(bin) = hfs_binary() else { return };
    let hfs = Hfs::start(&bin);
    let a = Laptop::new("Dr. Avery (invented)", "avery", &hfs.url());
    let mut lines = String::from(
        "{\"type\":\"patient\",\"id\":\"pm1\",\"name\":\"Mo Manytest (invented)\",\"born\":\"1970-01-01\"}\n\
         {\"type\":\"patient\",\"id\":\"pm2\",\"name\":\"Ny Manytest (invented)\",\"born\":\"1971-01-01\"}\n",
    );
    for i in 0..150 {
        let patient = if i % 3 == 0 { "pm2" } else { "pm1" };
        lines.push_str(&format!(
            "{{\"type\":\"measure\",\"id\":\"mm{i:03}\",\"patient\":\"{patient}\",\"instrument\":\"gad7\",\
             \"at\":\"2026-0{}-{:02}T09:00:00Z\",\"items\":[1,1,1,1,0,0,{}],\"total\":{},\"band\":\"minimal\"}}\n",
            1 + i / 28,
            1 + i % 28,
            i % 2,
            4 + i % 2
        ));
    }
    a.import(&lines);
    let out = a.sync();
    assert_eq!(number_after(&out, "resources ("), 152, "{out}");
    let c = Laptop::new("Dr. Cruz (invented)", "cruz", &hfs.url());
    let out = c.sync();
    assert!(
        out.contains("received 152 records (152 from Dr. Avery (invented))"),
        "{out}"
    );
    assert_eq!(shared_lines(&c.export()), shared_lines(&a.export()));
    let out = c.sync();
    assert!(out.contains("received 0 records"), "{out}");
}
