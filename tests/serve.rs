//! The command line beside a running kitnotes: while the terminal UI (the real binary, in a
//! pseudo-terminal) holds the store, `search`, `export`, `today` and `audit` are answered by it
//! over its socket, and print exactly what they print when run directly.

use crate::term as support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Session, kitnotes_command};

const ANCHOR: &str = "2026-11-01";

fn dirs(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("data"), dir.join("config"))
}

/// `kitnotes --demo ARGS` in `dir`, on its demo store.
fn command(dir: &Path, args: &[&str]) -> Command {
    let (data, config) = dirs(dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_kitnotes"));
    c.arg("--demo")
        .args(args)
        .env("KITNOTES_DATA_DIR", &data)
        .env("KITNOTES_CONFIG_DIR", &config)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .current_dir(dir);
    c
}

/// `kitnotes --demo ARGS` as a plain process; its exit status, standard output and error.
fn kitnotes(dir: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = command(dir, args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The terminal UI on the demo store.
fn open_ui(dir: &Path) -> Session {
    let (data, config) = dirs(dir);
    let mut cmd = kitnotes_command(&["--demo"]);
    cmd.env("KITNOTES_DATA_DIR", &data);
    cmd.env("KITNOTES_CONFIG_DIR", &config);
    cmd.env("TZ", "UTC");
    let s = Session::spawn(cmd, 120, 40);
    s.wait_for("Patients (");
    s
}

/// What each command prints, run directly and then while the UI holds the store, compared byte
/// for byte. Exports are logged in the audit log both ways, so the audit log is compared first.
#[test]
fn search_export_today_and_audit_answer_the_same_while_the_ui_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(dirs(d).1).unwrap();
    let (code, _, err) = kitnotes(
        d,
        &[
            "demo",
            "--no-ui",
            "--patients",
            "6",
            "--notes-per-patient",
            "12",
            "--seed",
            "7",
            "--anchor",
            ANCHOR,
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A patient and a session of the demo, by the export.
    let (_, jsonl, _) = kitnotes(d, &["export"]);
    let jsonl = String::from_utf8(jsonl).unwrap();
    let patient = jsonl
        .lines()
        .find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["type"] == "patient").then(|| v["id"].as_str().unwrap().to_owned())
        })
        .expect("a patient");

    let audit_before = kitnotes(d, &["audit"]);
    assert_eq!(audit_before.0, 0, "{}", audit_before.2);
    let commands: Vec<Vec<&str>> = vec![
        vec!["search", "sleep"],
        vec![
            "search",
            "--json",
            "--limit",
            "5",
            "--",
            "\"first session\"",
        ],
        vec!["search", "--patient", &patient, "--order", "date", "sleep"],
        vec!["search", "--", "-sleep"],
        vec!["search", "zzqxj"],
        vec!["today", "--at", "2026-10-20T09:00:00Z"],
        vec!["export"],
        vec!["export", "--format", "md", "--patient", &patient],
        vec!["export", "--include-psychotherapy-notes"],
        vec!["export", "--patient", "p9999"],
        vec!["search", "kind:nonsense"],
    ];
    let direct: Vec<_> = commands.iter().map(|c| kitnotes(d, c)).collect();
    // Something was found, so the comparison below compares something.
    assert!(!direct[0].1.is_empty(), "{}", direct[0].2);
    assert!(direct[5].1.starts_with(b"Today, "), "{}", direct[5].2);
    let audit_direct = kitnotes(d, &["audit"]);

    let mut ui = open_ui(d);
    // The UI holds the store: opening it again is refused.
    let held = Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .args(["--demo", "check"])
        .env("KITNOTES_DATA_DIR", dirs(d).0)
        .env("KITNOTES_CONFIG_DIR", dirs(d).1)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&held.stderr).contains("already open in another kitnotes"),
        "{}",
        String::from_utf8_lossy(&held.stderr)
    );
    let audit_served = kitnotes(d, &["audit"]);
    assert_eq!(audit_served.0, 0, "{}", audit_served.2);
    assert_eq!(
        String::from_utf8_lossy(&audit_served.1),
        String::from_utf8_lossy(&audit_direct.1),
        "`kitnotes audit` while the UI is open"
    );
    for (c, want) in commands.iter().zip(&direct) {
        let got = kitnotes(d, c);
        assert_eq!(got.0, want.0, "exit status of {c:?}: {}", got.2);
        assert_eq!(
            String::from_utf8_lossy(&got.1),
            String::from_utf8_lossy(&want.1),
            "standard output of {c:?} while the UI is open"
        );
        // The search's own time differs from run to run; the rest of standard error does not.
        let strip = |s: &str| {
            s.lines()
                .map(|l| {
                    l.rsplit_once(", ")
                        .filter(|(_, t)| t.ends_with(" ms"))
                        .map_or(l, |(a, _)| a)
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&got.2), strip(&want.2), "standard error of {c:?}");
    }
    // An export written to a file, relative to the asking process's directory.
    let written = kitnotes(
        d,
        &[
            "export",
            "--format",
            "md",
            "--patient",
            &patient,
            "-o",
            "chart.md",
        ],
    );
    assert_eq!(written.0, 0, "{}", written.2);
    assert_eq!(std::fs::read(d.join("chart.md")).unwrap(), direct[7].1);
    // Every export is in the log, each once, as a direct run logs it.
    let audit_after = kitnotes(d, &["audit"]);
    let exported = |a: &[u8]| String::from_utf8_lossy(a).matches("exported").count();
    assert_eq!(
        exported(&audit_after.1),
        exported(&audit_direct.1) * 2 - exported(&audit_before.1) + 1,
        "{}",
        String::from_utf8_lossy(&audit_after.1)
    );
    // The UI kept answering its keys throughout.
    ui.send("?");
    ui.wait_for("Show the keys for this pane");
    ui.send("\x1b");
    let closing = std::time::Instant::now();
    while ui.screen().contains("Keys in the patient list") {
        assert!(closing.elapsed().as_secs() < 10, "{}", ui.screen());
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    ui.quit();
}

/// A demo store of `patients` x `notes` (invented), built directly.
fn demo_store(dir: &Path, patients: &str, notes: &str) {
    std::fs::create_dir_all(dirs(dir).1).unwrap();
    let (code, _, err) = kitnotes(
        dir,
        &[
            "demo",
            "--no-ui",
            "--patients",
            patients,
            "--notes-per-patient",
            notes,
            "--seed",
            "7",
            "--anchor",
            ANCHOR,
        ],
    );
    assert_eq!(code, 0, "{err}");
}

/// `kitnotes --demo ARGS` started as a plain process, its standard output and error piped (and
/// not read until the caller reads them).
fn start_kitnotes(dir: &Path, args: &[&str]) -> std::process::Child {
    command(dir, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// How many exports the audit log holds (asked of the open kitnotes).
fn exports_logged(dir: &Path) -> usize {
    let (code, out, err) = kitnotes(dir, &["audit"]);
    assert_eq!(code, 0, "{err}");
    String::from_utf8_lossy(&out).matches("exported").count()
}

/// While the open kitnotes answers a whole-store export for another terminal (held open here:
/// its reader takes nothing until the keys are checked), the UI says so and how far it got, and
/// its patient list still moves with the keys; the export, once read, is byte for byte the
/// direct run's, and the UI says it was answered.
#[test]
fn the_ui_keeps_taking_keys_while_it_answers_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_store(d, "40", "30");
    let (code, want, err) = kitnotes(d, &["export"]);
    assert_eq!(code, 0, "{err}");
    // More than the pipes between the two processes hold, so the export waits for its reader.
    assert!(want.len() > 1 << 20, "{}", want.len());

    let mut ui = open_ui(d);
    // The first patient in the list is selected; the header names them.
    ui.wait_for(" Dagny Juszczak · 35 y");
    let mut export = start_kitnotes(d, &["export"]);
    ui.wait_for("answering `kitnotes export` for another terminal…");
    ui.wait_for(" of 40 patients");
    // Three patients down the list, while the export waits for its reader.
    ui.send("\x1b[B\x1b[B\x1b[B");
    ui.wait_for(" Ezra Iwu · 42 y");
    assert!(
        ui.screen()
            .contains("answering `kitnotes export` for another terminal…"),
        "the export cannot have ended: nothing read it yet\n{}",
        ui.screen()
    );
    let mut got = Vec::new();
    std::io::Read::read_to_end(export.stdout.as_mut().unwrap(), &mut got).unwrap();
    let status = export.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the served export differs from the direct run's"
    );
    ui.wait_for("Answered `kitnotes export` for another terminal");
    assert!(!ui.screen().contains("answering `kitnotes export`"));
    ui.quit();
}

/// A command sent while the screen is locked waits for the unlock; if its asker has gone by
/// then (it gave up, or was ended), it is not run: no file written, no export in the audit
/// log, and the UI says it was not run.
#[test]
fn a_request_whose_asker_went_away_while_locked_is_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_store(d, "4", "5");
    let mut ui = open_ui(d);
    let before = exports_logged(d);
    ui.send("L");
    ui.wait_for("kitnotes is locked");
    let mut export = start_kitnotes(d, &["export", "-o", "all.jsonl"]);
    ui.wait_for("A command from another terminal waits for the unlock.");
    export.kill().unwrap();
    export.wait().unwrap();
    ui.send("\r");
    ui.wait_for("`kitnotes export -o all.jsonl`, asked from another terminal, was not run");
    assert!(!d.join("all.jsonl").exists());
    assert_eq!(exports_logged(d), before, "no export was logged");
    // One asked now is run.
    let (code, _, err) = kitnotes(d, &["export", "-o", "all.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(d.join("all.jsonl").exists());
    assert_eq!(exports_logged(d), before + 1);
    ui.quit();
}

/// In process: work running for another terminal stays in the status bar (its seconds, when it
/// says no count) whatever the keys do, the screen is drawn each second meanwhile, and its end
/// is said once, with the exit status when it failed.
#[test]
fn work_for_another_terminal_is_in_the_status_bar_until_it_ends() {
    use crate::common::{later, press, screen, status, writer};
    use kitnotes::app::background::Outcome;
    use std::time::Duration;
    let mut w = writer((120, 40));
    let bg = w.app.background();
    assert_eq!(w.app.redraw_every(), Duration::from_secs(60));
    let job = bg.start("`kitnotes audit`".into());
    w.app.tick();
    later(&w, 3_000);
    w.app.tick();
    let shown = "3 s: answering `kitnotes audit` for another terminal…";
    assert!(screen(&w.app).contains(shown), "{}", screen(&w.app));
    assert_eq!(w.app.redraw_every(), Duration::from_secs(1));
    let before = w.app.roster.cursor.selected;
    press(&mut w.app, "<Down>");
    assert_eq!(w.app.roster.cursor.selected, before + 1);
    assert!(screen(&w.app).contains(shown), "{}", screen(&w.app));
    job.end(Outcome::Status(1));
    w.app.tick();
    assert!(!screen(&w.app).contains("answering"), "{}", screen(&w.app));
    assert_eq!(
        status(&w.app),
        "`kitnotes audit`, asked from another terminal, ended with exit status 1"
    );
    assert_eq!(w.app.redraw_every(), Duration::from_secs(60));
}

/// Quitting while an export is answered for another terminal (whose reader has not read it
/// yet) does not hang: the answer is cut short, the asker says the command did not finish, and
/// the part that went out is in the audit log, as when a reader stops early.
#[test]
fn quitting_while_an_export_is_answered_cuts_it_short_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_store(d, "40", "30");
    let mut ui = open_ui(d);
    let export = start_kitnotes(d, &["export"]);
    ui.wait_for(" of 40 patients");
    ui.quit();
    let out = export.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not finish the command"), "{err}");
    // The UI has let go of the store: this runs directly.
    let (code, log, err) = kitnotes(d, &["audit"]);
    assert_eq!(code, 0, "{err}");
    let log = String::from_utf8_lossy(&log);
    assert!(
        log.lines()
            .any(|l| l.contains("exported") && l.contains("the reader stopped early")),
        "{log}"
    );
}

/// On an encrypted store whose screen is locked (its keys forgotten), a search from another
/// terminal waits; once the passphrase is typed on the lock screen it is answered, and prints
/// what a direct run prints.
#[test]
fn on_a_locked_encrypted_store_a_search_waits_for_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_store(d, "4", "5");
    let (code, _, err) = kitnotes(d, &["export", "-o", "demo.jsonl"]);
    assert_eq!(code, 0, "{err}");
    let passphrase = d.join("passphrase");
    std::fs::write(&passphrase, "invented serve passphrase\n").unwrap();
    // The same records in an encrypted store (not the demo's).
    let encrypted = |args: &[&str]| {
        let (data, config) = dirs(d);
        let mut c = Command::new(env!("CARGO_BIN_EXE_kitnotes"));
        c.args(args)
            .env("KITNOTES_DATA_DIR", &data)
            .env("KITNOTES_CONFIG_DIR", &config)
            .env("KITNOTES_PASSPHRASE_FILE", &passphrase)
            .env("TZ", "UTC")
            .env_remove("NO_COLOR")
            .current_dir(d);
        c
    };
    let imported = encrypted(&["import", "demo.jsonl"]).output().unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let want = encrypted(&["search", "sleep"]).output().unwrap();
    assert!(want.status.success() && !want.stdout.is_empty(), "{want:?}");

    let (data, config) = dirs(d);
    let mut cmd = kitnotes_command(&[]);
    cmd.env("KITNOTES_DATA_DIR", &data);
    cmd.env("KITNOTES_CONFIG_DIR", &config);
    cmd.env("KITNOTES_PASSPHRASE_FILE", &passphrase);
    cmd.env("TZ", "UTC");
    let mut ui = Session::spawn(cmd, 120, 40);
    ui.wait_for("Patients (");
    ui.send("L");
    ui.wait_for("kitnotes is locked");
    let search = encrypted(&["search", "sleep"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    ui.wait_for("A command from another terminal waits for the unlock.");
    ui.send("invented serve passphrase\r");
    let got = search.wait_with_output().unwrap();
    assert!(got.status.success(), "{got:?}");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    ui.wait_for("Answered `kitnotes search sleep` for another terminal");
    ui.quit();
}
