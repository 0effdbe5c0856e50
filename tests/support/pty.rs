//! The real `kitnotes` binary in a pseudo-terminal of a fixed size, its screen read back through
//! a terminal emulator (vt100): shared by the end-to-end tests (`#[path]`-included, so only
//! they build it).

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary with `args`, a colour terminal, and no `NO_COLOR` from the caller's environment.
pub fn kitnotes_command(args: &[&str]) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kitnotes"));
    for a in args {
        cmd.arg(a);
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("NO_COLOR");
    cmd
}

pub struct Session {
    pub parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Set to close the terminal: the reader drops its side once the screen shows this.
    hang_up: Arc<Mutex<Option<String>>>,
    /// When kitnotes last wrote to the terminal.
    last_output: Arc<Mutex<Instant>>,
    /// The terminal's device (`/dev/pts/N`).
    tty: Option<std::path::PathBuf>,
}

#[allow(dead_code)] // each test file uses its own part
impl Session {
    /// Runs `cmd` in a `cols` x `rows` pseudo-terminal.
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let tty = pty.master.tty_name();
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let p = parser.clone();
        let hang_up: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let h = hang_up.clone();
        let last_output = Arc::new(Mutex::new(Instant::now()));
        let l = last_output.clone();
        std::thread::spawn(move || {
            // Keep the master alive as long as the reader runs.
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut parser = p.lock().unwrap();
                parser.process(&buf[..n]);
                *l.lock().unwrap() = Instant::now();
                if let Some(shown) = h.lock().unwrap().as_deref()
                    && parser.screen().contents().contains(shown)
                {
                    break;
                }
            }
        });
        Self {
            parser,
            writer,
            child,
            hang_up,
            last_output,
            tty,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`; fails with the screen after 30 s.
    pub fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!("{text:?} never appeared; the screen:\n{}", self.screen());
    }

    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for kitnotes to exit; fails with the screen after 30 s.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "kitnotes did not exit; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Waits until kitnotes has written nothing for `quiet`; fails after 30 s.
    /// How long since kitnotes last wrote anything to the terminal.
    pub fn quiet_for(&self) -> Duration {
        self.last_output.lock().unwrap().elapsed()
    }

    pub fn wait_idle(&self, quiet: Duration) {
        let start = Instant::now();
        while self.last_output.lock().unwrap().elapsed() < quiet {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Closes the terminal as closing its window does: `last` is typed, and as soon as the
    /// screen shows `shown` (kitnotes has taken the key) the terminal's side is closed (the
    /// kernel then sends SIGHUP).
    pub fn close_terminal(
        mut self,
        last: &str,
        shown: &str,
    ) -> Box<dyn portable_pty::Child + Send + Sync> {
        // portable-pty's writer types a newline and the end-of-file character when dropped;
        // a window that closes types nothing: no end-of-file character, so it types nothing.
        if let Some(tty) = &self.tty {
            let stty = std::process::Command::new("stty")
                .arg("-F")
                .arg(tty)
                .args(["eof", "undef"])
                .status()
                .unwrap();
            assert!(stty.success());
        }
        *self.hang_up.lock().unwrap() = Some(shown.to_string());
        self.send(last);
        drop(self.writer);
        self.child
    }

    /// `q`, then a clean exit.
    pub fn quit(&mut self) {
        self.send("q");
        let status = self.wait_exit();
        assert!(status.success(), "{status:?}");
    }
}
