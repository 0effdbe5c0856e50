//! The open kitnotes syncing in the background (`app::sync`), in-process with a stand-in server:
//! it runs on its own thread while typing goes on, its state is in the header and the status
//! bar, records that come in are shown without a restart, a signature brings a sync, and a
//! locked app does not sync. tests/sync.rs has the same with the real FHIR server.

use crate::common::*;
use jiff::SignedDuration;
use kitnotes::app::App;
use kitnotes::app::sync::{BackgroundSync, Runner};
use kitnotes::model::Record;
use kitnotes::store::Store;
use kitnotes::sync::state::{Author, SyncState};
use kitnotes::sync::{SyncError, SyncReport};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// What the stand-in server does at the next sync.
#[derive(Default)]
pub struct FakeServer {
    /// Syncs run so far.
    pub syncs: AtomicUsize,
    /// Records another clinician sent, written here at the next sync.
    pub incoming: Mutex<Vec<(Record, String)>>,
    pub down: AtomicBool,
    pub refuses_token: AtomicBool,
    /// Open conflicts the sync leaves.
    pub conflicts: AtomicUsize,
    /// When set, a sync waits for a message on it before it ends (the network is slow).
    pub gate: Mutex<Option<mpsc::Receiver<()>>>,
}

impl FakeServer {
    /// Holds the next sync until the returned sender sends (or is dropped).
    pub fn hold(&self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(rx);
        tx
    }
}

pub fn runner(server: Arc<FakeServer>) -> Runner {
    Box::new(move |store: &dyn Store, _at| {
        server.syncs.fetch_add(1, Ordering::SeqCst);
        // Taken first: the lock on the gate is not held while waiting.
        let gate = server.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.recv_timeout(Duration::from_secs(60));
        }
        let mut report = SyncReport {
            queued: 3,
            ..SyncReport::default()
        };
        if server.down.load(Ordering::SeqCst) {
            let e = kitnotes::sync::http::HttpError::Unreachable {
                server: "http://127.0.0.1:9".into(),
                detail: "connection refused".into(),
            };
            return (report, Err(SyncError::Unreachable(e)));
        }
        if server.refuses_token.load(Ordering::SeqCst) {
            let e = SyncError::Unauthorized {
                server: "http://127.0.0.1:9".into(),
                status: 401,
                text: "the token has expired".into(),
            };
            return (report, Err(e));
        }
        report.queued = 0;
        let mut state = SyncState::load(store, "http://127.0.0.1:9").unwrap();
        for (record, author) in server.incoming.lock().unwrap().drain(..) {
            state.authors.insert(
                record.id().to_string(),
                Author {
                    practitioner: "blake".into(),
                    name: author.clone(),
                },
            );
            store.put(record).unwrap();
            *report.received.entry(author).or_default() += 1;
        }
        state.conflicts.clear();
        for i in 0..server.conflicts.load(Ordering::SeqCst) {
            state.conflicts.push(kitnotes::sync::state::Conflict {
                key: format!("Basic/c{i}"),
                record: format!("c{i}"),
                patient: "p".into(),
                theirs: String::new(),
                their_version: "2".into(),
                their_author: None,
                found: "changed here and on the server".into(),
            });
        }
        state.save(store).unwrap();
        (report, Ok(()))
    })
}

/// Ticks until the sync under way (or one started by this tick) has ended and its result is
/// shown; fails if it does not within a minute.
pub fn settle(app: &mut App) {
    app.tick();
    for _ in 0..6000 {
        if !app.background_sync().unwrap().is_running() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
        app.tick();
    }
    panic!("the background sync did not end within a minute");
}

fn syncing(server: &Arc<FakeServer>, every: Option<SignedDuration>) -> Writer {
    let mut w = writer((160, 40));
    w.app
        .start_background_sync(BackgroundSync::new(runner(server.clone()), every));
    w
}

fn label(app: &App) -> String {
    app.settings.sync_label.clone()
}

/// A signed note by another clinician for `patient` (invented).
fn their_note(patient: &str, id: &str, title: &str) -> Record {
    kitnotes::interchange::record_line::from_line(&format!(
        r#"{{"type":"note","id":"{id}","patient":"{patient}","kind":"integration","at":"2026-11-21T14:00:00Z","title":"{title}","sections":[{{"heading":"Themes","body":"Slept through the night."}}],"status":"signed","signed_by":"Dr. Blake (invented)","signed_at":"2026-11-21T14:30:00Z"}}"#
    ))
    .unwrap()
}

#[test]
fn a_note_pulled_while_a_draft_is_typed_appears_and_the_draft_stays_as_typed() {
    let server = Arc::new(FakeServer::default());
    let mut w = syncing(&server, Some(SignedDuration::from_mins(5)));
    // The first sync starts with the app and waits on a slow network: typing goes on.
    let release = server.hold();
    w.app.tick();
    assert!(w.app.background_sync().unwrap().is_running());
    assert!(screen(&w.app).contains("[syncing…]"), "{}", screen(&w.app));
    press(&mut w.app, "<Enter>w<Enter>");
    type_text(&mut w.app, "Talked about the move; ");
    assert!(w.app.background_sync().unwrap().is_running());
    release.send(()).unwrap();
    settle(&mut w.app);
    assert_eq!(label(&w.app), "synced 15:30");
    assert!(screen(&w.app).contains("[synced 15:30]"));

    // Dr. Blake signs a note for this patient; the next sync, five minutes on, brings it.
    let patient = w
        .app
        .patient
        .as_ref()
        .unwrap()
        .records
        .patient
        .id
        .to_string();
    server.incoming.lock().unwrap().push((
        their_note(&patient, "nblake1", "Integration BY-BLAKE"),
        "Dr. Blake (invented)".into(),
    ));
    type_text(&mut w.app, "grounding helped");
    later(&w, 5 * 60_000);
    let release = server.hold();
    w.app.tick();
    assert_eq!(label(&w.app), "syncing…");
    // Keys typed while the sync runs go into the draft.
    type_text(&mut w.app, " twice");
    release.send(()).unwrap();
    settle(&mut w.app);
    assert_eq!(server.syncs.load(Ordering::SeqCst), 2);
    assert_eq!(label(&w.app), "synced 15:35");
    // Shown at once, under the open draft: the timeline and the author mark were read again.
    let v = w.app.patient.as_ref().unwrap();
    assert!(
        v.entries.iter().any(|e| e.title == "Integration BY-BLAKE"),
        "the pulled note is in the timeline"
    );
    assert_eq!(
        w.app
            .settings
            .synced_from
            .get("nblake1")
            .map(String::as_str),
        Some("Dr. Blake (invented)")
    );
    let e = w.app.editor.as_ref().expect("the draft is still open");
    assert_eq!(
        e.sections[0].text(),
        "Talked about the move; grounding helped twice"
    );
    // The draft goes on as typed, then is left: B's note is in the timeline with its mark.
    type_text(&mut w.app, ".");
    press(&mut w.app, "<Esc>");
    let s = screen(&w.app);
    assert!(s.contains("Integration BY-BLAKE ⇣ Dr. Blake"), "{s}");
    let v = w.app.patient.as_ref().unwrap();
    let draft = v
        .records
        .notes
        .iter()
        .find(|n| !n.is_signed() && n.sections[0].body.starts_with("Talked about"))
        .expect("the draft is stored");
    assert_eq!(
        draft.sections[0].body,
        "Talked about the move; grounding helped twice."
    );
}

#[test]
fn the_server_down_shows_queued_then_synced_and_a_refused_token_in_words() {
    let server = Arc::new(FakeServer::default());
    server.down.store(true, Ordering::SeqCst);
    let mut w = syncing(&server, Some(SignedDuration::from_mins(5)));
    settle(&mut w.app);
    assert_eq!(
        label(&w.app),
        "sync: queued (server unreachable), 3 changes waiting"
    );
    // Unreachable is the header's business, not an error in the status line.
    assert!(status(&w.app).is_empty(), "{}", status(&w.app));
    assert!(screen(&w.app).contains("[sync: queued (server unreachable), 3 changes waiting]"));

    server.down.store(false, Ordering::SeqCst);
    server.refuses_token.store(true, Ordering::SeqCst);
    later(&w, 5 * 60_000);
    settle(&mut w.app);
    assert_eq!(
        label(&w.app),
        "sync: token refused (401), 3 changes waiting"
    );
    let said = status(&w.app);
    assert!(
        said.contains("refused the token (401): the token has expired")
            && said.contains("token_file"),
        "{said}"
    );

    server.refuses_token.store(false, Ordering::SeqCst);
    server.conflicts.store(2, Ordering::SeqCst);
    later(&w, 5 * 60_000);
    settle(&mut w.app);
    assert_eq!(
        label(&w.app),
        "synced 15:40 · 2 conflict(s): kitnotes sync --conflicts"
    );
    // Settled beside the app (`kitnotes sync --keep-theirs`, answered by it, writes the
    // server's version): the next sync's end shows the record as it is now.
    let mut p = w.app.roster.patients[0].clone();
    p.name = "Zed Settled-Theirs (invented)".into();
    w.app
        .store()
        .put(kitnotes::model::Record::Patient(p))
        .unwrap();
    server.conflicts.store(0, Ordering::SeqCst);
    later(&w, 5 * 60_000);
    settle(&mut w.app);
    assert!(screen(&w.app).contains("Zed Settled-Theirs"));
    // In Today, which hides the header, the status bar says it.
    w.app.update(kitnotes::app::Action::ViewToday);
    assert!(w.app.view.is_some());
    let s = screen(&w.app);
    assert!(s.lines().last().unwrap().contains("[synced 15:45]"), "{s}");
}

#[test]
fn a_signature_brings_a_sync_after_the_one_running_never_beside_it() {
    let server = Arc::new(FakeServer::default());
    // No interval: only at start, after a signature, and when `kitnotes sync` asks.
    let mut w = syncing(&server, None);
    // The sync at start waits on a slow network while a note is written and signed.
    let release = server.hold();
    w.app.tick();
    assert!(w.app.background_sync().unwrap().is_running());
    press(&mut w.app, "<Enter>w<Enter>");
    let n = w.app.editor.as_ref().unwrap().sections.len();
    for i in 0..n {
        type_text(&mut w.app, &format!("text {i}"));
        press(&mut w.app, "<Tab>");
    }
    press(&mut w.app, "<A-s><Enter>");
    assert!(w.app.editor.is_none(), "{:?}", w.app.status);
    later(&w, 10_000);
    w.app.tick();
    assert_eq!(server.syncs.load(Ordering::SeqCst), 1, "one at a time");
    release.send(()).unwrap();
    // The first ends, and the signature's starts on the same tick.
    settle(&mut w.app);
    assert_eq!(server.syncs.load(Ordering::SeqCst), 2);
    // Then none until something asks: an hour on, a tick starts nothing.
    later(&w, 60 * 60_000);
    w.app.tick();
    assert!(!w.app.background_sync().unwrap().is_running());
    assert_eq!(server.syncs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_locked_app_does_not_sync_until_it_is_unlocked() {
    let server = Arc::new(FakeServer::default());
    let mut w = syncing(&server, Some(SignedDuration::from_mins(5)));
    settle(&mut w.app);
    assert_eq!(server.syncs.load(Ordering::SeqCst), 1);
    press(&mut w.app, "L");
    assert!(w.app.lock.is_some());
    later(&w, 30 * 60_000);
    for _ in 0..3 {
        w.app.tick();
    }
    assert_eq!(
        server.syncs.load(Ordering::SeqCst),
        1,
        "no sync while locked"
    );
    // This demo store has no passphrase: Enter unlocks.
    press(&mut w.app, "<Enter>");
    assert!(w.app.lock.is_none());
    settle(&mut w.app);
    assert_eq!(server.syncs.load(Ordering::SeqCst), 2);
    assert_eq!(label(&w.app), "synced 16:00");
}

/// The real binary in a terminal, with `[sync]` naming a port nothing listens on: the header
/// says the changes are queued, and `kitnotes sync` run beside it is answered by it (the
/// status and conflicts read from its store; a sync asked of its background sync), where
/// before the store's lock refused it.
#[test]
fn kitnotes_sync_beside_the_open_ui_is_answered_by_it() {
    use crate::term::{Session, kitnotes_command};
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = (dir.path().join("data"), dir.path().join("config"));
    std::fs::create_dir_all(&config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "clinician = \"Dr. Avery (invented)\"\ntimezone = \"UTC\"\n\n[sync]\n\
             server = \"http://127.0.0.1:{port}\"\npractitioner = \"avery\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitnotes"))
            .arg("--demo")
            .args(args)
            .env("KITNOTES_DATA_DIR", &data)
            .env("KITNOTES_CONFIG_DIR", &config)
            .output()
            .unwrap();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, _, err) = run(&["demo", "--no-ui", "--patients", "3", "--seed", "7"]);
    assert!(ok, "{err}");

    let mut cmd = kitnotes_command(&["--demo"]);
    cmd.env("KITNOTES_DATA_DIR", &data);
    cmd.env("KITNOTES_CONFIG_DIR", &config);
    let mut ui = Session::spawn(cmd, 200, 40);
    ui.wait_for("[sync: queued (server unreachable)");

    let (ok, out, err) = run(&["sync", "--status"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("The last try stopped") && out.contains("unreachable"),
        "{out}"
    );
    let (ok, _, err) = run(&["sync", "--keep-mine", "n1"]);
    assert!(!ok);
    assert!(err.contains("no conflict is open for record n1"), "{err}");
    let synced = |audit: &str| audit.matches("synced").count();
    let (ok, audit, err) = run(&["audit"]);
    assert!(ok, "{err}");
    let before = synced(&audit);
    assert!(before >= 1, "{audit}");
    let (ok, out, err) = run(&["sync"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("The open kitnotes syncs now, in the background"),
        "{out}"
    );
    // The sync it asked for ran there, and is in the audit log.
    let asked = std::time::Instant::now();
    loop {
        let (_, audit, _) = run(&["audit"]);
        if synced(&audit) > before {
            break;
        }
        assert!(asked.elapsed().as_secs() < 60, "{audit}");
        std::thread::sleep(Duration::from_millis(100));
    }
    ui.quit();
}

/// A lock during a sync seals the encrypted store under it: that sync stops (the store refuses
/// it), nothing is said of it, and it runs again once the passphrase opens the store.
#[test]
fn a_sync_the_lock_interrupts_runs_again_after_the_unlock_without_a_word() {
    let dir = tempfile::TempDir::new().unwrap();
    let passphrase = "invented sync passphrase";
    let store = kitnotes::store::sled_store::SledStore::create_encrypted(
        dir.path(),
        passphrase.as_bytes(),
        kitnotes::store::crypt::KdfParams::DEFAULT,
    )
    .unwrap();
    let clock = Arc::new(kitnotes::clock::FixedClock::new(NOW.parse().unwrap()));
    let mut app = App::new(
        Box::new(store),
        Box::new(clock.clone()),
        kitnotes::clock::IdSource::new(7),
        kitnotes::keymap::Keymap::builtin(kitnotes::keymap::Preset::Default),
        kitnotes::app::AppSettings::default(),
    )
    .unwrap();
    app.resize(120, 40);
    let server = Arc::new(FakeServer::default());
    let syncs = server.clone();
    let mut inner = runner(server.clone());
    // The stand-in reads the store after the network, as a pull writes after it.
    let mut reading: Runner = Box::new(move |store: &dyn Store, at| match store.patients() {
        Ok(_) => inner(store, at),
        Err(e) => (SyncReport::default(), Err(SyncError::Store(e))),
    });
    let release = server.hold();
    // The first sync waits on the network until the app is locked, then reads.
    let gated: Runner = Box::new(move |store: &dyn Store, at| {
        let gate = syncs.gate.lock().unwrap().take();
        if let Some(g) = gate {
            let _ = g.recv_timeout(Duration::from_secs(60));
        }
        reading(store, at)
    });
    app.start_background_sync(BackgroundSync::new(gated, None));
    app.tick();
    assert!(app.background_sync().unwrap().is_running());
    app.update(kitnotes::app::Action::Lock);
    assert!(app.lock.is_some());
    release.send(()).unwrap();
    // Locked: the stopped sync is not taken, and no other starts.
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        app.tick();
    }
    assert_eq!(server.syncs.load(Ordering::SeqCst), 0);
    type_text(&mut app, passphrase);
    press(&mut app, "<Enter>");
    assert!(app.lock.is_none(), "{}", screen(&app));
    // The first tick takes the stopped sync and starts it again.
    settle(&mut app);
    assert_eq!(server.syncs.load(Ordering::SeqCst), 1);
    assert_eq!(app.settings.sync_label, "synced 15:30");
    assert!(!status(&app).contains("sync"), "{}", status(&app));
}

/// Quitting during a sync waits for it (bounded), so the store closes cleanly after it and
/// opens again at once; one that does not end in time is said, not waited for.
#[test]
fn quitting_during_a_sync_lets_it_end_then_the_store_closes() {
    let server = Arc::new(FakeServer::default());
    let mut w = syncing(&server, None);
    let release = server.hold();
    w.app.tick();
    assert!(w.app.background_sync().unwrap().is_running());
    let said = w.app.end_background_sync(Duration::from_millis(50));
    assert!(
        said.as_deref()
            .is_some_and(|s| s.contains("still under way") && s.contains("nothing is lost")),
        "{said:?}"
    );

    let mut w = syncing(&server, None);
    let release2 = server.hold();
    w.app.tick();
    assert!(w.app.background_sync().unwrap().is_running());
    let later = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        release2.send(()).unwrap();
    });
    assert_eq!(w.app.end_background_sync(Duration::from_secs(60)), None);
    later.join().unwrap();
    let Writer { app, dir, .. } = w;
    drop(app);
    // Nothing holds the store any more: it opens.
    kitnotes::store::sled_store::SledStore::open(dir.path()).unwrap();
    drop(release);
}
