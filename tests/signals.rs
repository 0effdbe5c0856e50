//! Issue 18, end to end: the real binary in a pseudo-terminal, ended from outside the way a
//! user's machine ends it (SIGTERM, SIGHUP, SIGINT, SIGQUIT, closing the terminal window) a
//! moment after text was typed, in the note editor and in the session console's entry line.
//! After each: the terminal modes were restored (where the terminal is still there to look
//! at), the exit status is the conventional one, and the next start brings the text back.

use crate::term as support;

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
    // However it ended, the store was closed as on a quit: its tally stamped closed (the next
    // start opens it in place, no recovery) and its socket gone. Before, a closed window made
    // ratatui's restore panic on writing to the closed terminal, skipping the close.
    let store = dir.join("data").join("demo");
    let tally = std::fs::read_to_string(store.join("kitnotes.tally")).unwrap();
    assert!(
        !tally.contains("\"closed\":null"),
        "{end:?} in the {place:?}: the store was not closed: {tally}"
    );
    assert!(
        !store.join("kitnotes.sock").exists(),
        "{end:?} in the {place:?}: the socket was left behind"
    );
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

/// kitnotes on the encrypted store in `<dir>/data`, its passphrase read from `passphrase`.
fn start_encrypted(dir: &Path, passphrase: &Path) -> Session {
    let mut cmd = kitnotes_command(&[]);
    cmd.arg("--data-dir");
    cmd.arg(dir.join("data"));
    cmd.arg("--config-dir");
    cmd.arg(dir.join("config"));
    cmd.env("KITNOTES_PASSPHRASE_FILE", passphrase);
    Session::spawn(cmd, 120, 40)
}

/// Every file under `dir` that holds `needle` in plain bytes.
fn files_holding(dir: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// Issue 18: with a note open in an encrypted store and text typed into it and into a form,
/// SIGKILL leaves nothing under the data directory that names the record or holds the text in
/// plain text (the open editor's place, the form and the console line are sealed in the store).
#[test]
fn after_a_sigkill_with_a_note_open_no_record_id_or_text_is_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "invented marker passphrase\n").unwrap();
    let import = dir.path().join("marker.jsonl");
    std::fs::write(
        &import,
        concat!(
            "{\"type\":\"kitnotes\",\"version\":1}\n",
            "{\"type\":\"patient\",\"id\":\"zanzibarov-suicide-risk-review\",\"name\":\"Quill Zanzibarov\"}\n",
            "{\"type\":\"note\",\"id\":\"zanzibarov-safety-plan-draft\",\"patient\":\"zanzibarov-suicide-risk-review\",",
            "\"kind\":\"session\",\"at\":\"2026-11-20T10:00:00Z\",\"title\":\"Safety plan\",",
            "\"sections\":[{\"heading\":\"Observations\",\"body\":\"\"}],\"status\":\"draft\"}\n",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitnotes"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--config-dir")
        .arg(dir.path().join("config"))
        .arg("import")
        .arg(&import)
        .env("KITNOTES_PASSPHRASE_FILE", &passphrase)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut s = start_encrypted(dir.path(), &passphrase);
    s.wait_for("Quill Zanzibarov");
    // The draft from the drafts list, text typed into it and saved; then a half-filled
    // patient form left open.
    s.send("D");
    s.wait_for("Safety plan");
    s.send("\r");
    s.wait_for("section 1 of");
    s.send("Plumtree lanternfish marker");
    s.wait_for("Plumtree lanternfish marker");
    std::thread::sleep(Duration::from_millis(1500));
    s.wait_for(" saved ");
    s.send("\x1b");
    s.wait_for("Draft saved");
    s.send("1n");
    s.wait_for("New patient");
    s.send("Orrery Quasimodo");
    s.wait_for("Orrery Quasimodo");
    std::thread::sleep(Duration::from_millis(1500));
    let pid = s.child.process_id().expect("a pid").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    s.wait_exit();
    for needle in [
        "zanzibarov",
        "Zanzibarov",
        "Plumtree",
        "lanternfish",
        "Orrery",
        "Quasimodo",
    ] {
        let found = files_holding(&data, needle);
        assert!(found.is_empty(), "{needle:?} in plain text in {found:?}");
    }
    // And the half-filled form is back after the restart, as it was.
    let mut s = start_encrypted(dir.path(), &passphrase);
    s.wait_for("Brought back");
    s.wait_for("Orrery Quasimodo");
    s.send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    s.send("q");
    assert!(s.wait_exit().success());
}

/// Sets the file size limit of process `pid` (soft; the hard limit stays unlimited), as a full
/// disk would stop it: every write past `bytes` into a file fails (EFBIG, or ENOSPC on a real
/// full disk: kitnotes treats both as "the disk refuses").
fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `limit` and writes nothing (the old limit is not asked for).
    let done = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Waits until the screen shows one of `texts`; returns the screen.
fn wait_for_any(s: &Session, texts: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let screen = s.screen();
        if texts.iter().any(|t| screen.contains(t)) {
            return screen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "none of {texts:?} appeared; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Opens the first patient's console (the demo's open session, or a new one), answering the
/// questions an esketamine session asks as it starts (REMS enrolment, other medicines).
fn into_console(s: &mut Session) {
    let started = Instant::now();
    loop {
        let screen = s.screen();
        if screen.contains("┏ REMS:") {
            // The medications line may come filled in from the list: Ctrl+U clears it first.
            s.send(if screen.contains("y/n") {
                "y\r"
            } else {
                "\x15none\r"
            });
        } else if screen.contains("Observations (") {
            return;
        } else if screen.contains("Start a dosing session") {
            s.send("\r");
        } else if screen.contains("TIMELINE") && !screen.contains("Brought back") {
            s.send("s");
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{screen}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Issue 18: a full disk in the middle of a session. The entries typed while the disk refuses
/// stay on screen and the status says they are not saved; once there is room again they are
/// saved without a restart (a SIGKILL right after loses nothing). With the disk still full,
/// quitting is possible: the second quit seals everything into the rescue file, and the next
/// start brings it back into the store.
#[test]
fn after_a_full_disk_saving_resumes_without_a_restart_and_a_quit_leaves_a_rescue_file() {
    let dir = tempfile::tempdir().unwrap();
    let saving_errors = [
        "NOT SAVED",
        "NOT saved",
        "not flushed",
        "durable on disk",
        "cannot be written",
    ];

    // 1. The disk fills during the session, and empties again.
    let mut s = start(dir.path());
    s.wait_for("Patients (");
    s.send("\r");
    s.wait_for("TIMELINE");
    into_console(&mut s);
    let pid = s.child.process_id().expect("a pid");
    limit_file_size(pid, Some(4096));
    let entry = "Pupils dilated, calm, typed while the disk was full";
    s.send("o");
    s.wait_for("<Enter> stores it");
    s.send(entry);
    s.wait_for(entry);
    wait_for_any(&s, &saving_errors);
    // Storing it fails too: the line stays, with the text, and says why.
    s.send("\r");
    s.wait_for("kept in the line");
    assert!(s.screen().contains(entry), "{}", s.screen());
    // Room again: saving resumes by itself, and the entry can be stored.
    limit_file_size(pid, None);
    s.wait_for("Saved again");
    s.send("\r");
    let started = Instant::now();
    while s.screen().contains("<Enter> stores it") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the entry is stored once there is room: {}",
            s.screen()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    s.wait_for(entry);
    // Durable: not even SIGKILL loses it.
    std::thread::sleep(Duration::from_millis(1500));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    s.wait_exit();
    let mut s = start(dir.path());
    s.wait_for("Observations (");
    s.wait_for(entry);

    // 2. The disk is full and stays full: quitting still works, through the rescue file.
    let pid = s.child.process_id().expect("a pid");
    limit_file_size(pid, Some(4096));
    let line = "Rescued line: breathing slow and even";
    s.send("o");
    s.wait_for("<Enter> stores it");
    s.send(line);
    s.wait_for(line);
    wait_for_any(&s, &saving_errors);
    // Esc keeps the line as a draft; the quit key asks, the second time it seals and quits.
    s.send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    s.send("\x03");
    s.wait_for("rescue file");
    s.send("\x03");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    let rescue = dir.path().join("data").join("demo").join("kitnotes.rescue");
    assert!(rescue.exists(), "the rescue file is beside the store");

    // 3. Room again: the next start brings the rescue back and into the store.
    let mut s = start(dir.path());
    s.wait_for("rescue file kept");
    assert!(
        !rescue.exists(),
        "the rescue file is gone once the store has it"
    );
    // The line kept with Esc comes back with its key.
    s.send("o");
    s.wait_for(line);
    let pid = s.child.process_id().expect("a pid");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    s.wait_exit();
    let s = start(dir.path());
    s.wait_for("Brought back");
    s.wait_for(line);
    s.wait_for(entry);
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "disk full: saving resumed once there was room, without a restart (the entry then survived SIGKILL); a quit on a full disk left a rescue file that brought the kept line back"
    );
}
