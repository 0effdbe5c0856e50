//! Resource limits, through the real binary: a missing config directory, a read-only data
//! directory and a full disk each give a clear message and lose nothing already saved.

use crate::common::{kitnotes_with, passphrase_file, text};
use std::path::Path;
use std::process::{Command, Output};

/// A data directory with an encrypted store holding an invented caseload, and its export.
fn store_with_records() -> (tempfile::TempDir, Vec<u8>) {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("config");
    let import = data.path().join("caseload.jsonl");
    std::fs::write(&import, caseload(0, 8)).unwrap();
    let out = kitnotes_with(data.path(), &config, &["import", import.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let export = kitnotes_with(data.path(), &config, &["export"]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    (data, export.stdout)
}

/// An import file with `n` invented patients from number `from`, each with a long note.
fn caseload(from: usize, n: usize) -> String {
    let mut out = String::from("{\"type\":\"kitnotes\",\"version\":1}\n");
    for i in from..from + n {
        out.push_str(&format!(
            "{{\"type\":\"patient\",\"id\":\"r{i}\",\"name\":\"Invented Person {i}\"}}\n\
             {{\"type\":\"note\",\"id\":\"r{i}-n1\",\"patient\":\"r{i}\",\"kind\":\"integration\",\
             \"at\":\"2026-11-0{}T10:00:00Z\",\"title\":\"Integration\",\"status\":\"draft\",\"sections\":[\
             {{\"heading\":\"Reflection\",\"body\":\"{}\"}}]}}\n",
            1 + i % 9,
            "Invented reflection, calmer this week. ".repeat(60)
        ));
    }
    out
}

#[test]
fn a_missing_config_directory_means_the_defaults_and_is_not_created() {
    let (data, export) = store_with_records();
    let missing = data.path().join("no").join("such").join("config");
    for args in [&["today"][..], &["check"], &["templates"], &["protocols"]] {
        let out = kitnotes_with(data.path(), &missing, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let again = kitnotes_with(data.path(), &missing, &["export"]);
    assert_eq!(again.stdout, export);
    assert!(
        !missing.exists(),
        "reading commands created the config directory"
    );
}

#[test]
fn a_config_path_that_is_a_file_is_named() {
    let (data, _) = store_with_records();
    let file = data.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = kitnotes_with(data.path(), &file, &["today"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "cannot read {}",
            file.join("config.toml").display()
        )),
        "{err}"
    );
    // Said once, not once per layer of the error.
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}

/// Whether this process can write where permissions say it may not (root can).
fn privileged() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// kitnotes as a user the permissions apply to: this one, or `nobody` when running as root.
fn unprivileged(data: &Path, config: &Path, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_kitnotes");
    let mut cmd = if privileged() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", config)
        .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
        .output()
        .expect("kitnotes runs")
}

fn set_mode(path: &Path, dirs: u32, files: u32) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { dirs } else { files };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            set_mode(&e.unwrap().path(), dirs, files);
        }
    }
}

#[test]
fn a_read_only_data_directory_is_refused_with_what_to_do_and_keeps_everything() {
    let (data, export) = store_with_records();
    let config = data.path().join("config");
    // Readable by anyone (the test may run the binary as another user), writable by no one.
    set_mode(data.path(), 0o555, 0o444);
    let before = std::fs::read(data.path().join("store").join("db").join("db")).unwrap();
    for args in [&["check"][..], &["export"], &["today"]] {
        let out = unprivileged(data.path(), &config, args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} ran on a read-only store");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains(&data.path().join("store").display().to_string())
                && err.contains("make the directory writable"),
            "{args:?}: {err}"
        );
    }
    set_mode(data.path(), 0o755, 0o644);
    let after = std::fs::read(data.path().join("store").join("db").join("db")).unwrap();
    assert!(before == after, "the read-only store was changed");
    let out = kitnotes_with(data.path(), &config, &["export"]);
    assert_eq!(out.stdout, export, "{}", text(&out.stderr));
}

/// kitnotes with every file it writes limited to `bytes` (as a full disk does: writes past it
/// fail with EFBIG instead of killing the process).
fn with_file_limit(bytes: u64, data: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; exec prlimit --fsize=\"$0\" \"$@\"")
        .arg(bytes.to_string())
        .arg(env!("CARGO_BIN_EXE_kitnotes"))
        .args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
        .output()
        .expect("sh and prlimit run")
}

#[test]
fn a_full_disk_stops_an_import_with_a_message_and_keeps_what_was_saved() {
    let (data, export) = store_with_records();
    let db = data.path().join("store").join("db").join("db");
    let size = std::fs::metadata(&db).unwrap().len();
    let more = data.path().join("more.jsonl");
    std::fs::write(&more, caseload(100, 400)).unwrap();
    // Room for a little more than the store holds now, not for 400 more patients.
    let out = with_file_limit(
        size + 64 * 1024,
        data.path(),
        &["import", more.to_str().unwrap()],
    );
    let err = text(&out.stderr);
    eprintln!("full disk: {err}");
    assert!(!out.status.success(), "the import fitted: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("The disk is full (or a size limit was reached)"),
        "{err}"
    );
    // With room again, the store opens, checks clean and holds exactly what it held.
    let check = crate::common::kitnotes(data.path(), &["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    let after = crate::common::kitnotes(data.path(), &["export"]);
    assert_eq!(after.stdout, export);
}
