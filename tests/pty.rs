//! End to end: the real `kitnotes` binary in a pseudo-terminal of a fixed size, keys typed as
//! a user would, and the screen read back through a terminal emulator (vt100).

use crate::term as support;

use std::time::{Duration, Instant};
use support::{Session, kitnotes_command};

/// kitnotes with its data in `<dir>/data` and config in `<dir>/config`, in a `cols` x `rows`
/// terminal, the passphrase read from a file.
fn start(dir: &std::path::Path, args: &[&str], cols: u16, rows: u16) -> Session {
    start_with(dir, args, cols, rows, true)
}

/// `passphrase_file`: false to have kitnotes ask for the passphrase on the terminal.
fn start_with(
    dir: &std::path::Path,
    args: &[&str],
    cols: u16,
    rows: u16,
    passphrase_file: bool,
) -> Session {
    let mut cmd = kitnotes_command(&[]);
    cmd.arg("--data-dir");
    cmd.arg(dir.join("data"));
    cmd.arg("--config-dir");
    cmd.arg(dir.join("config"));
    for a in args {
        cmd.arg(a);
    }
    if passphrase_file {
        let passphrase = dir.join("passphrase");
        std::fs::write(&passphrase, "invented pty passphrase\n").unwrap();
        cmd.env("KITNOTES_PASSPHRASE_FILE", &passphrase);
    } else {
        cmd.env_remove("KITNOTES_PASSPHRASE_FILE");
    }
    Session::spawn(cmd, cols, rows)
}

#[test]
fn demo_opens_help_works_and_quit_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path(), &["demo", "--anchor", "2026-11-21"], 100, 30);
    s.wait_for("Patients (");
    {
        let p = s.parser.lock().unwrap();
        assert!(
            p.screen().alternate_screen(),
            "the UI runs on the alternate screen"
        );
        assert!(p.screen().bracketed_paste(), "bracketed paste is on");
    }
    // Open the first patient, then help for the timeline; filter it by typing.
    s.send("\r");
    s.wait_for("TIMELINE");
    s.send("?");
    s.wait_for("Keys in the timeline");
    s.send("back");
    s.wait_for("Back to the patient list");
    s.send("\x1b");
    // Esc alone must reach the app as Esc, not wait for more bytes forever.
    let start = Instant::now();
    while s.screen().contains("Keys in the timeline") {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", s.screen());
        std::thread::sleep(Duration::from_millis(30));
    }
    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    std::thread::sleep(Duration::from_millis(200));
    let p = s.parser.lock().unwrap();
    assert!(!p.screen().alternate_screen(), "left the alternate screen");
    assert!(!p.screen().hide_cursor(), "the cursor is shown again");
    assert!(
        !p.screen().bracketed_paste(),
        "bracketed paste is off again"
    );
}

#[test]
fn a_bad_keymap_is_reported_with_its_line_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/keymap.toml"),
        "[roster]\nprepend_keymap = [\n  { on = \"x\", run = \"patient.explode\" },\n]\n",
    )
    .unwrap();
    let mut s = start(dir.path(), &[], 100, 30);
    let status = s.wait_exit();
    assert!(!status.success());
    std::thread::sleep(Duration::from_millis(200));
    let screen = s.screen();
    assert!(
        screen.contains("keymap.toml:3") && screen.contains("patient.explode"),
        "{screen}"
    );
    assert!(!s.parser.lock().unwrap().screen().alternate_screen());
    // Said before anything else: no store was made or opened for a start that cannot run.
    assert!(!dir.path().join("data/store/db").exists());
}

/// Issue 4: type into a note, kill kitnotes with SIGKILL (no chance to save on the way out),
/// start it again, and the text is there with the editor open on it.
#[test]
fn text_typed_before_a_sigkill_is_there_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["demo", "--anchor", "2026-11-21"];
    let mut s = start(dir.path(), &args, 120, 40);
    s.wait_for("Patients (");
    s.send("\r");
    s.wait_for("TIMELINE");
    s.send("w");
    s.wait_for("New note: pick a template");
    s.send("\r");
    s.wait_for("section 1 of");
    s.send("Patient calm, BP 128/82 before dosing");
    s.wait_for("BP 128/82 before dosing");
    // Autosave is due at most about a second after the last key; allow the poll interval.
    std::thread::sleep(Duration::from_millis(1500));
    s.wait_for(" saved ");
    let pid = s.child.process_id().expect("the child has a pid");
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = s.wait_exit();
    assert!(!exit.success(), "killed, not exited: {exit:?}");

    let mut s = start(dir.path(), &args, 120, 40);
    s.wait_for("Brought back");
    s.wait_for("Patient calm, BP 128/82 before dosing");
    assert!(s.screen().contains("section 1 of"), "{}", s.screen());
    // The cursor is back in the note: typing goes on where it stopped. Ctrl-C saves and quits.
    s.send(", pulse 72");
    s.wait_for("before dosing, pulse 72");
    s.send("\x03");
    assert!(s.wait_exit().success());
}

/// Issue 8: the first start explains that a forgotten passphrase loses the records and asks for
/// one twice; the next start asks for it, says so when it is wrong, and opens with the right one.
#[test]
fn the_first_start_asks_for_a_passphrase_twice_and_the_next_start_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start_with(dir.path(), &[], 100, 30, false);
    s.wait_for("New passphrase:");
    let screen = s.screen();
    assert!(
        screen.contains("the records are lost for good"),
        "the first-run screen says it plainly: {screen}"
    );
    s.send("short\r");
    s.wait_for("use at least 8");
    s.send("invented passphrase one\r");
    s.wait_for("Type it again:");
    s.send("invented passphrase two\r");
    s.wait_for("The two did not match");
    s.send("invented passphrase one\r");
    s.wait_for("Type it again:");
    s.send("invented passphrase one\r");
    s.wait_for("Patients (0)");
    assert!(
        !s.screen().contains("invented passphrase"),
        "the passphrase is never echoed"
    );
    s.send("q");
    assert!(s.wait_exit().success());

    let mut s = start_with(dir.path(), &[], 100, 30, false);
    s.wait_for("Passphrase for");
    s.send("invented passphrase two\r");
    s.wait_for("That passphrase is not this store's");
    s.send("invented passphrase one\r");
    s.wait_for("Patients (0)");
    s.send("q");
    assert!(s.wait_exit().success());
}

/// An idle kitnotes writes nothing to the terminal: no frame is drawn when nothing changed
/// (the patient list has no clock on it; the console's clock is drawn every second).
#[test]
fn an_idle_patient_list_writes_nothing_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path(), &["demo", "--anchor", "2026-11-21"], 100, 30);
    s.wait_for("Patients (");
    s.wait_idle(Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        s.quiet_for() >= Duration::from_millis(2500),
        "kitnotes wrote to the terminal {:?} ago with nothing happening",
        s.quiet_for()
    );
    // A key still draws at once.
    s.send("t");
    s.wait_for("TODAY");
    s.quit();
}

/// Search-all, typed a letter at a time on a store of a few thousand entries: every letter
/// shows in the query line with its results under it, from the first letter on (a one-letter
/// prefix answers as fast as a word: `Filter::typing`), and the popup keeps taking keys.
#[test]
fn typing_into_search_all_answers_every_letter_from_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config-dir")
        .arg(dir.path().join("config"))
        .args([
            "demo",
            "--no-ui",
            "--patients",
            "40",
            "--notes-per-patient",
            "30",
        ])
        .args(["--seed", "5", "--anchor", "2026-11-01"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut s = start(dir.path(), &["--demo"], 120, 40);
    s.wait_for("Patients (");
    s.send("F");
    s.wait_for("All patients");
    let word = "session";
    let mut counts = Vec::new();
    for (i, c) in word.char_indices() {
        s.send(&c.to_string());
        let typed = &word[..=i];
        // The letter is in the query line and the count under it is the new query's.
        s.wait_for(&format!("› {typed} "));
        let start = Instant::now();
        let count = loop {
            let screen = s.screen();
            let found = screen.lines().find_map(|l| {
                let l = l
                    .trim_start_matches(|c: char| c != '┃')
                    .trim_start_matches('┃');
                let (n, rest) = l.trim_start().split_once(' ')?;
                (rest.starts_with("match"))
                    .then(|| n.parse::<usize>().ok())
                    .flatten()
            });
            if let Some(n) = found {
                break n;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{screen}");
            std::thread::sleep(Duration::from_millis(30));
        };
        counts.push(count);
    }
    // Found from the first letter ("s" finds "session", "sleep", ...), and the last letter
    // still finds the word.
    assert!(counts[0] > 0 && counts[word.len() - 1] > 0, "{counts:?}");
    assert!(counts[0] >= counts[word.len() - 1], "{counts:?}");
    s.send("\x1b");
    let closing = Instant::now();
    while s.screen().contains("All patients") {
        assert!(
            closing.elapsed() < Duration::from_secs(10),
            "{}",
            s.screen()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    s.quit();
}
