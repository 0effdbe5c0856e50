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

/// `kitnotes --demo ARGS` as a plain process; its exit status, standard output and error.
fn kitnotes(dir: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let (data, config) = dirs(dir);
    let out = Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .arg("--demo")
        .args(args)
        .env("KITNOTES_DATA_DIR", &data)
        .env("KITNOTES_CONFIG_DIR", &config)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .current_dir(dir)
        .output()
        .unwrap();
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
