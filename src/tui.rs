//! The terminal: set it up, feed the app its events, draw, and put the terminal back the way
//! it was on every way out (quit, error, panic, a signal).
//!
//! SIGTERM, SIGHUP (the terminal window closed, an ssh connection dropped), SIGINT and SIGQUIT
//! sent from outside do not kill kitnotes: each sets a flag that the event loop reads at least
//! every [`POLL`]; then everything typed is saved (`App::stop`), the terminal is restored, and
//! kitnotes exits with the conventional status (128 + the signal's number). A second signal
//! during the save only sets the flag again, so no write is cut in half. (Inside the terminal,
//! `<C-c>` is a key in raw mode, not a signal.)

use crate::app::App;
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, Event,
};
use ratatui::crossterm::execute;
use std::io::stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The name of the thread that answers on the store's socket (`cli::backup`).
pub const SOCKET_THREAD: &str = "kitnotes backups";
/// The name of each thread that runs a command for another terminal (`cli::serve`).
pub const COMMAND_THREAD: &str = "kitnotes command";
/// The threads that answer other terminals beside the UI. They catch their own panics.
const SERVING_THREADS: [&str; 2] = [SOCKET_THREAD, COMMAND_THREAD];

/// How long the loop waits for an event before it looks at the signal flag and ticks.
const POLL: Duration = Duration::from_millis(100);

/// The signals that ask kitnotes to stop.
pub const STOP_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGQUIT,
];

/// How the UI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// A signal (its number) asked kitnotes to stop.
    Signal(i32),
}

impl Ending {
    /// The exit status a shell expects: 0 after a quit, 128 + the signal's number after one.
    pub fn exit_code(self) -> u8 {
        match self {
            Ending::Quit => 0,
            Ending::Signal(n) => u8::try_from(128 + n).unwrap_or(1),
        }
    }
}

/// The stop signals, while the UI runs: the number of the last one caught, 0 for none.
struct StopSignals {
    caught: Arc<AtomicUsize>,
    ids: Vec<signal_hook::SigId>,
}

impl StopSignals {
    fn register() -> std::io::Result<Self> {
        let caught = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for sig in STOP_SIGNALS {
            ids.push(signal_hook::flag::register_usize(
                sig,
                Arc::clone(&caught),
                sig as usize,
            )?);
        }
        // A file size limit (`ulimit -f`) reached while saving would end kitnotes at once with
        // SIGXFSZ, losing what is typed. Caught, the write fails with an error instead, which is
        // handled as a full disk: the text stays, saving is retried.
        ids.push(signal_hook::flag::register(
            signal_hook::consts::SIGXFSZ,
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        )?);
        Ok(Self { caught, ids })
    }

    fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n as i32),
        }
    }
}

impl Drop for StopSignals {
    /// After the UI the default actions are back (the process is about to end anyway).
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Runs the app until it quits or a stop signal comes. The terminal is restored before this
/// returns, whatever happened, and by ratatui's panic hook (extended here to turn paste,
/// focus reports and mouse off) on a panic. Whatever ends the loop (an error too: the terminal
/// gone), what is typed is saved first.
pub fn run(app: &mut App, mouse: bool) -> anyhow::Result<Ending> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the kitnotes UI needs a terminal (standard input and output are not one); \
             for scripts use `kitnotes export`, `import`, `check` or `screenshot`"
        );
    }
    // Before the terminal changes, so a signal from now on finds its handler.
    let signals = StopSignals::register()?;
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(
            stdout(),
            DisableBracketedPaste,
            DisableMouseCapture,
            DisableFocusChange
        );
        previous_hook(info);
    }));
    // `init` enters raw mode and the alternate screen, and installs a panic hook that undoes
    // both before the message is printed.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            restore_quietly(None);
            return Err(e.into());
        }
    };
    // A panic on a thread that answers another terminal (`cli::backup`, `cli::serve`) is caught
    // there and ends that request, its asker told; the UI goes on, so its terminal is left as
    // it is and nothing is printed over the screen.
    let ui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let name = std::thread::current().name().map(str::to_owned);
        if !name.is_some_and(|n| SERVING_THREADS.contains(&n.as_str())) {
            ui_hook(info);
        }
    }));
    // Focus reports let the editor save when the user switches to another window.
    let setup = execute!(stdout(), EnableBracketedPaste, EnableFocusChange).and_then(|()| {
        if mouse {
            execute!(stdout(), EnableMouseCapture)
        } else {
            Ok(())
        }
    });
    let result = setup
        .map_err(anyhow::Error::from)
        .and_then(|()| event_loop(&mut terminal, app, &signals).map_err(anyhow::Error::from));
    // However the loop ended: a quit has saved already (this finds nothing to do); a signal
    // or an error (a terminal that is gone cannot be drawn on or read) saves here.
    if !matches!(result, Ok(Ending::Quit)) {
        app.exit_message = app.stop().or(app.exit_message.take());
    }
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        DisableFocusChange
    );
    restore_quietly(Some(terminal));
    drop(signals);
    result
}

/// Gives the terminal back (raw mode off, the main screen, the cursor shown) without ever
/// panicking. ratatui's `restore` and its terminal's drop say a failure with `eprintln!`, which
/// panics when standard error is the terminal that was just closed (the window closed under
/// kitnotes: writes to it fail); that panic would end the process before the store is closed.
/// A terminal whose cursor could not be shown is forgotten, not dropped, so its drop does not
/// try again (the process is ending; nothing of it is needed).
fn restore_quietly(terminal: Option<ratatui::DefaultTerminal>) {
    use std::io::Write;
    let shown = terminal.map(|mut t| (t.show_cursor().is_ok(), t));
    if let Err(e) = ratatui::try_restore() {
        let _ = writeln!(
            std::io::stderr(),
            "kitnotes: the terminal could not be restored: {e}"
        );
    }
    match shown {
        Some((true, t)) => drop(t),
        Some((false, t)) => std::mem::forget(t),
        None => {}
    }
}

/// The terminal failed under the loop (it may be gone: a closed window).
#[derive(Debug)]
struct LoopError(std::io::Error);

impl std::fmt::Display for LoopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the terminal failed: {}", self.0)
    }
}

impl std::error::Error for LoopError {}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    signals: &StopSignals,
) -> Result<Ending, LoopError> {
    let size = terminal.size().map_err(LoopError)?;
    app.resize(size.width, size.height);
    let events = spawn_reader();
    // Frames are drawn when something happened, and as often as the clocks on screen need
    // (`App::redraw_every`: each second for the console's time since dose, each minute
    // elsewhere); an idle kitnotes draws nothing more.
    let mut changed = true;
    let mut drawn = Instant::now();
    loop {
        if let Some(sig) = signals.caught() {
            return Ok(Ending::Signal(sig));
        }
        if app.quit {
            return Ok(Ending::Quit);
        }
        // Drawing also asks the terminal its size: a terminal that is gone (its window
        // closed) fails here within a second, whatever the reader thread is doing.
        if changed || drawn.elapsed() >= app.redraw_every() {
            terminal
                .draw(|f| crate::ui::draw(f, app))
                .map_err(LoopError)?;
            drawn = Instant::now();
            changed = false;
        }
        // Wait for the first event, then take everything already queued before drawing
        // again, so a burst (a paste without bracketing, a held key) costs one frame.
        // Ticks come at least every poll, also while keys keep arriving, so autosave runs
        // on time for someone who never stops typing.
        let mut next = events.recv_timeout(POLL);
        let before = app.visible_state();
        loop {
            let event = match next {
                Ok(Input::Terminal(event)) => event.map_err(LoopError)?,
                // Work for the app's store arrived (`wake`): tick now.
                Ok(Input::Wake) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(LoopError(std::io::Error::other(
                        "the terminal's input ended",
                    )));
                }
            };
            changed = true;
            match event {
                Event::Key(k) => app.key(k),
                Event::Paste(text) => app.paste(&text),
                Event::Resize(w, h) => app.resize(w, h),
                Event::Mouse(m) => app.mouse(m),
                Event::FocusLost => app.focus_lost(),
                Event::FocusGained => {}
            }
            if app.quit || signals.caught().is_some() {
                break;
            }
            next = events.try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => std::sync::mpsc::RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => {
                    std::sync::mpsc::RecvTimeoutError::Disconnected
                }
            });
        }
        app.tick();
        changed |= app.visible_state() != before;
    }
}

/// Reads the terminal's events on a thread of their own and hands them over, so that the loop
/// goes on ticking and reading the signal flag whatever a read does (crossterm's read spins
/// without returning on a terminal that has hung up). The thread ends with the process.
fn spawn_reader() -> std::sync::mpsc::Receiver<Input> {
    let (tx, rx) = std::sync::mpsc::channel();
    *WAKE.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx.clone());
    std::thread::spawn(move || {
        loop {
            let event = match event::read() {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => other,
            };
            let failed = event.is_err();
            if tx.send(Input::Terminal(event)).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// What wakes the event loop: the terminal's events, and [`wake`].
enum Input {
    Terminal(std::io::Result<Event>),
    Wake,
}

/// The running event loop's input, for [`wake`].
static WAKE: std::sync::Mutex<Option<std::sync::mpsc::Sender<Input>>> = std::sync::Mutex::new(None);

/// Makes the running UI tick now rather than at its next [`POLL`]: another thread has something
/// for it to show (a command run for another terminal ended, `cli::serve`). Does nothing when
/// no UI runs.
pub fn wake() {
    if let Some(tx) = WAKE.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        let _ = tx.send(Input::Wake);
    }
}
