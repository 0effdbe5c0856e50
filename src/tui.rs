//! The terminal: set it up, feed the app its events, draw, and put the terminal back the way
//! it was on every way out (quit, error, panic).

use crate::app::App;
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, Event,
};
use ratatui::crossterm::execute;
use std::io::stdout;
use std::time::Duration;

/// Runs the app until it quits. The terminal is restored before this returns, whatever
/// happened, and by ratatui's panic hook (extended here to turn paste and mouse off) on a panic.
pub fn run(app: &mut App, mouse: bool) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the kitnotes UI needs a terminal (standard input and output are not one); \
             for scripts use `kitnotes export`, `import`, `check` or `screenshot`"
        );
    }
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
            ratatui::restore();
            return Err(e.into());
        }
    };
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
        .and_then(|()| event_loop(&mut terminal, app));
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        DisableFocusChange
    );
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> anyhow::Result<()> {
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    while !app.quit {
        terminal.draw(|f| crate::ui::draw(f, app))?;
        // Wait for the first event, then take everything already queued before drawing
        // again, so a burst (a paste without bracketing, a held key) costs one frame.
        // Ticks come at least every quarter second, also while keys keep arriving, so
        // autosave runs on time for someone who never stops typing.
        if !event::poll(Duration::from_millis(250))? {
            app.tick();
            continue;
        }
        loop {
            match event::read()? {
                Event::Key(k) => app.key(k),
                Event::Paste(text) => app.paste(&text),
                Event::Resize(w, h) => app.resize(w, h),
                Event::Mouse(m) => app.mouse(m),
                Event::FocusLost => app.focus_lost(),
                Event::FocusGained => {}
            }
            if app.quit || !event::poll(Duration::ZERO)? {
                break;
            }
        }
        app.tick();
    }
    Ok(())
}
