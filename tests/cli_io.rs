//! The binary's own input and output, as a shell or a mistake hands them to it: every subcommand
//! written into a pipe whose reader is gone and into a full device ends without a panic (quietly
//! for the pipe, saying the device is full otherwise), and a settings, passphrase or tally file
//! that is a FIFO, a device or a directory is refused by name, never read and never waited on.
//!
//! Every run has a time limit, so a hang fails the test instead of hanging it.

use crate::common::{passphrase_file, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longer than any command here takes on a loaded machine; a FIFO that blocks waits for ever.
const LIMIT: Duration = Duration::from_secs(60);

/// The binary with its data in `data`, its config in `data/config` and the test passphrase.
fn kitnotes(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kitnotes"));
    cmd.args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` with `stdout`, failing the test if it is still running after [`LIMIT`]. Standard
/// error goes to a file, so nothing the child writes can block it.
fn run(mut cmd: Command, stdout: Stdio, what: &str) -> Output {
    let err = tempfile::tempfile().unwrap();
    let mut child = cmd
        .stdout(stdout)
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {LIMIT:?}: it hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::io::{Read, Seek};
    let mut err = err;
    err.rewind().unwrap();
    let mut stderr = Vec::new();
    err.read_to_end(&mut stderr).unwrap();
    Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

/// A pipe whose reading end is closed before the child starts: its first write fails.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

/// `/dev/full`: every write fails with "no space left on device".
fn full_device() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// Runs `args` once, normally, and insists it worked.
fn setup(data: &Path, args: &[&str]) -> String {
    let out = kitnotes(data, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out.stdout)
}

/// The subcommands `kitnotes --help` lists.
fn subcommands(data: &Path) -> Vec<String> {
    let help = setup(data, &["--help"]);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// One command line of the test, and whether it writes to standard output at all.
struct Case {
    args: Vec<String>,
    writes: bool,
}

fn case(args: &[&str]) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        writes: true,
    }
}

/// The demo store's settings: 8 patients, so that one has an esketamine session (for the REMS
/// summary).
const DEMO: &[&str] = &[
    "demo",
    "--no-ui",
    "--patients",
    "8",
    "--notes-per-patient",
    "4",
    "--anchor",
    "2026-11-01",
];

/// What the test runs: a demo store (plain) and the clinic's store (encrypted, from an import),
/// built once and shared by every command, which run one after another.
struct Stores {
    dir: tempfile::TempDir,
    import: PathBuf,
    session: String,
    backup: PathBuf,
}

impl Stores {
    fn build() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        setup(d, DEMO);
        // The demo's export is the import file.
        let import = d.join("caseload.jsonl");
        setup(d, &["--demo", "export", "-o", import.to_str().unwrap()]);
        let exported = std::fs::read_to_string(&import).unwrap();
        let session = exported
            .lines()
            .find(|l| l.contains(r#""type":"session""#) && l.contains("esketamine"))
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .expect("the demo has an esketamine session");
        setup(d, &["import", import.to_str().unwrap()]);
        let backup = d.join("demo.kbak");
        setup(d, &["--demo", "backup", backup.to_str().unwrap()]);
        // A practice's server for `sync --status`, which reads only what is stored here.
        let token = d.join("sync-token");
        std::fs::write(&token, "invented-test-token\n").unwrap();
        std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        std::fs::create_dir_all(d.join("config")).unwrap();
        std::fs::write(
            d.join("config").join("config.toml"),
            format!(
                "[sync]\nserver = \"http://127.0.0.1:9/fhir\"\npractitioner = \"p1\"\ntoken_file = {:?}\n",
                token.to_str().unwrap()
            ),
        )
        .unwrap();
        Self {
            dir,
            import,
            session,
            backup,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Every subcommand, each way of calling it worth telling apart. `n` keeps the paths of
    /// commands that need a new place (import, backup, restore) apart between runs.
    fn cases(&self, n: &str) -> Vec<Case> {
        let d = self.path();
        let fresh = |name: &str| d.join(format!("{name}-{n}")).display().to_string();
        let import = self.import.display().to_string();
        let backup = self.backup.display().to_string();
        vec![
            // The same demo again: it says it reuses the store, and its counts.
            case(DEMO),
            case(&["--data-dir", &fresh("import"), "import", &import]),
            case(&["--demo", "export"]),
            case(&["--demo", "export", "--format", "md"]),
            case(&["--demo", "export", "--format", "fhir", "--patient", "p0001"]),
            case(&[
                "--demo",
                "export",
                "--format",
                "rems",
                "--session",
                &self.session,
            ]),
            case(&["export"]),
            case(&["--demo", "check"]),
            case(&["check"]),
            case(&["--demo", "screenshot", "--at", "2026-11-21T15:30:00Z"]),
            case(&["--demo", "audit"]),
            case(&["--demo", "audit", "verify"]),
            case(&["templates"]),
            case(&["templates", "show", "soap"]),
            case(&["protocols"]),
            case(&["protocols", "iv-ketamine"]),
            case(&["--demo", "today", "--at", "2026-11-21T08:00:00Z"]),
            case(&["--demo", "search", "session"]),
            case(&["--demo", "search", "--json", "session"]),
            case(&["search", "session"]),
            // Says what it did on standard error; standard output stays empty.
            Case {
                writes: false,
                ..case(&[
                    "passwd",
                    "--new-passphrase-file",
                    passphrase_file().to_str().unwrap(),
                ])
            },
            case(&["--demo", "backup", &fresh("backup.kbak")]),
            case(&["--data-dir", &fresh("restored"), "restore", &backup]),
            case(&["restore", "--verify-only", &backup]),
            case(&["--demo", "sync", "--status"]),
            case(&["--help"]),
            case(&["--version"]),
        ]
    }
}

#[test]
fn every_subcommand_into_a_closed_pipe_or_a_full_device_ends_without_a_panic() {
    let stores = Stores::build();
    let d = stores.path();
    let cases = stores.cases("pipe");
    for sub in subcommands(d) {
        assert!(
            cases.iter().any(|c| c.args.contains(&sub)),
            "kitnotes {sub} is not run into a closed pipe and a full device here: add it"
        );
    }

    for c in &cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let what = format!("kitnotes {} | (closed)", args.join(" "));
        let out = run(kitnotes(d, &args), closed_pipe(), &what);
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{what}: {err}");
        // Quietly, as Unix tools end when their reader goes: 141 is what a shell shows for one
        // ended by SIGPIPE. `export` and `search` end with 0: their output was cut by the
        // reader, which is not an error (an export is still recorded in the audit log).
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{what}: {:?}: {err}",
            out.status
        );
        assert!(!err.contains("error"), "{what}: not quiet: {err}");
    }

    for c in &stores.cases("full") {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let what = format!("kitnotes {} > /dev/full", args.join(" "));
        let out = run(kitnotes(d, &args), full_device(), &what);
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{what}: {err}");
        if c.writes {
            assert_eq!(out.status.code(), Some(1), "{what}: {err}");
            assert!(
                err.contains("cannot write to standard output: the device is full"),
                "{what}: {err}"
            );
        } else {
            assert!(out.status.success(), "{what}: {err}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outside files that are not files.

/// What a path can wrongly be.
#[derive(Debug, Clone, Copy)]
enum NotAFile {
    Fifo,
    /// A symbolic link to `/dev/zero`: endless, with no length to refuse it by.
    Device,
    Directory,
}

impl NotAFile {
    const ALL: [NotAFile; 3] = [NotAFile::Fifo, NotAFile::Device, NotAFile::Directory];

    /// Puts one at `path`, replacing whatever is there.
    fn make(self, path: &Path) {
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_dir(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match self {
            NotAFile::Fifo => assert!(Command::new("mkfifo").arg(path).status().unwrap().success()),
            NotAFile::Device => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
            NotAFile::Directory => std::fs::create_dir(path).unwrap(),
        }
    }

    /// How the refusal says what the path is.
    fn said(self) -> &'static str {
        match self {
            NotAFile::Fifo => "it is a FIFO (named pipe), not a regular file",
            NotAFile::Device => "it is a device, not a regular file",
            NotAFile::Directory => "it is a directory, not a regular file",
        }
    }

    fn remove(self, path: &Path) {
        match self {
            NotAFile::Directory => std::fs::remove_dir(path).unwrap(),
            _ => std::fs::remove_file(path).unwrap(),
        }
    }
}

/// Puts each kind of non-file at `path` in turn, runs `args` and checks the refusal names the
/// path, says what it is and ends with `code`; then puts back what was there.
fn refused_each_way(data: &Path, path: &Path, args: &[&str], code: i32) {
    let kept = std::fs::read(path).ok();
    for kind in NotAFile::ALL {
        kind.make(path);
        let what = format!(
            "{} as {kind:?}: kitnotes {}",
            path.display(),
            args.join(" ")
        );
        let out = run(kitnotes(data, args), Stdio::null(), &what);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(err.contains(&path.display().to_string()), "{what}: {err}");
        assert!(err.contains(kind.said()), "{what}: {err}");
        kind.remove(path);
    }
    if let Some(bytes) = kept {
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn settings_passphrase_and_tally_files_that_are_not_files_are_refused_by_name_unread() {
    // The demo store and the clinic's (encrypted) store.
    let stores = Stores::build();
    let d = stores.path();
    let config = d.join("config");

    // config.toml is read by every command.
    refused_each_way(d, &config.join("config.toml"), &["templates"], 1);
    // keymap.toml is read when the app is made (here for a picture of it).
    refused_each_way(d, &config.join("keymap.toml"), &["--demo", "screenshot"], 1);
    // A template or protocol file is skipped and reported; the others still list (exit 1).
    refused_each_way(
        d,
        &config.join("templates").join("x.toml"),
        &["templates"],
        1,
    );
    refused_each_way(
        d,
        &config.join("protocols").join("x.toml"),
        &["protocols"],
        1,
    );
    // The store's tally, read when the store opens.
    let tally = d.join("demo").join("kitnotes.tally");
    assert!(tally.exists(), "the demo store keeps a tally");
    refused_each_way(d, &tally, &["--demo", "today"], 1);
    // The passphrase file, read when the clinic's store is made or opened.
    let passphrase = d.join("passphrase");
    refused_each_way(
        d,
        &passphrase,
        &["--passphrase-file", passphrase.to_str().unwrap(), "export"],
        1,
    );
    // Everything put back: the demo store opens as before.
    setup(d, &["--demo", "today"]);
}

/// `import` reads its file twice, so a file it can read only once (a pipe, a device) is copied
/// first, a line at a time with the line limit: an endless one is refused, not copied for ever.
#[test]
fn an_endless_import_file_is_refused_at_its_first_line() {
    let data = tempfile::tempdir().unwrap();
    let out = run(
        kitnotes(data.path(), &["import", "/dev/zero"]),
        Stdio::null(),
        "kitnotes import /dev/zero",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "kitnotes: error: /dev/zero: line 1: the line is longer than 16777216 bytes; kitnotes \
         refuses lines that long\nNothing was imported.\n"
    );
}
