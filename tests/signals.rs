//! Issue 18, end to end: the real binary in a pseudo-terminal, ended from outside the way a
//! user's machine ends it (SIGTERM, SIGHUP, SIGINT, SIGQUIT, closing the terminal window) a
//! moment after text was typed, in the note editor and in the session console's entry line.
//! After each: the terminal modes were restored (where the terminal is still there to look
//! at), the exit status is the conventional one, and the next start brings the text back.

#[path = "support/pty.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{Session, kitnotes_command};

const ARGS: [&str; 3] = ["demo", "--anchor", "2026-11-21"];

fn start(dir: &Path) -> Session {
    let mut cmd = kitnotes_command(&[]);
    cmd.arg("--data-dir");
    cmd.arg(dir.join("data"));
    cmd.arg("--config-dir");
    cmd.arg(dir.join("config"));
    for a in ARGS {
        cmd.arg(a);
    }
    cmd.env_remove("KITNOTES_PASSPHRASE_FILE");
    Session::spawn(cmd, 120, 40)
}

/// How a run ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Signal(&'static str, i32),
    CloseTerminal,
}

/// Where the text is typed.
#[derive(Debug, Clone, Copy)]
enum Place {
    Editor,
    ConsoleLine,
}

/// Opens the place, types `text`, and ends kitnotes the moment the last key is on the screen
/// (for the closed terminal, as soon as it is drawn), long before an autosave is due.
fn type_then_end(dir: &Path, place: Place, text: &str, end: End) {
    let mut s = start(dir);
    s.wait_for("Patients (");
    s.send("\r");
    s.wait_for("TIMELINE");
    match place {
        Place::Editor => {
            s.send("w");
            s.wait_for("New note: pick a template");
            s.send("\r");
            s.wait_for("section 1 of");
        }
        Place::ConsoleLine => {
            // An open session of this patient, or a new one from the first protocol.
            s.send("s");
            let started = Instant::now();
            while !s.screen().contains("Observations (") {
                if s.screen().contains("Start a dosing session") {
                    s.send("\r");
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{}",
                    s.screen()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            s.send("o");
            s.wait_for("<Enter> stores it");
        }
    }
    let (head, last) = text.split_at(text.len() - 1);
    s.send(head);
    s.wait_for(head);
    match end {
        End::Signal(name, number) => {
            s.send(last);
            s.wait_for(text);
            let pid = s.child.process_id().expect("a pid").to_string();
            let killed = std::process::Command::new("kill")
                .args([&format!("-{name}"), &pid])
                .status()
                .unwrap();
            assert!(killed.success());
            let status = s.wait_exit();
            assert_eq!(
                status.exit_code(),
                128 + number as u32,
                "{name}: the conventional status"
            );
            std::thread::sleep(Duration::from_millis(200));
            let p = s.parser.lock().unwrap();
            let screen = p.screen();
            assert!(
                !screen.alternate_screen(),
                "{name}: left the alternate screen"
            );
            assert!(!screen.hide_cursor(), "{name}: the cursor is shown again");
            assert!(!screen.bracketed_paste(), "{name}: bracketed paste is off");
        }
        End::CloseTerminal => {
            let parser = s.parser.clone();
            let mut child = s.close_terminal(last, text);
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "kitnotes did not end when its terminal closed ({end:?} {place:?}): {}",
                    parser.lock().unwrap().screen().contents()
                );
                std::thread::sleep(Duration::from_millis(30));
            };
            // SIGHUP from the kernel (129), or the terminal's end read first (then 1: an
            // error); never killed without saving.
            assert!(!status.success(), "{status:?}");
        }
    }
}

/// Starts again and waits for `text` on the screen, where it was typed.
fn comes_back(dir: &Path, place: Place, text: &str, what: &str) {
    let mut s = start(dir);
    s.wait_for("Brought back");
    s.wait_for(text);
    match place {
        Place::Editor => assert!(
            s.screen().contains("section 1 of"),
            "{what}: {}",
            s.screen()
        ),
        Place::ConsoleLine => assert!(
            s.screen().contains("<Enter> stores it"),
            "{what}: the entry line is open: {}",
            s.screen()
        ),
    }
    // Esc keeps the line as a draft (console) or closes the note (editor); then quit.
    s.send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    s.send("\x03");
    let status = s.wait_exit();
    assert!(status.success(), "{what}: {status:?}");
}

#[test]
fn text_typed_a_moment_before_a_signal_or_a_closed_window_is_back_after_a_restart() {
    let ends = [
        End::Signal("TERM", 15),
        End::Signal("HUP", 1),
        End::Signal("INT", 2),
        End::Signal("QUIT", 3),
        End::CloseTerminal,
    ];
    let mut runs = 0;
    for (i, end) in ends.into_iter().enumerate() {
        for place in [Place::Editor, Place::ConsoleLine] {
            let dir = tempfile::tempdir().unwrap();
            let text = format!("Quiet, eyes closed, run {i} {place:?} zq");
            let what = format!("{end:?} in the {place:?}");
            type_then_end(dir.path(), place, &text, end);
            comes_back(dir.path(), place, &text, &what);
            runs += 1;
        }
    }
    // Past the harness's capture, so every run shows it.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "signals: {runs} runs (SIGTERM, SIGHUP, SIGINT, SIGQUIT, closed terminal x editor, console line): 0 lost"
    );
    assert_eq!(runs, 10);
}
