//! Drawing only: one file per pane and popup, the theme and the layout. Everything here reads
//! [`App`] and never changes it, so a frame can be drawn at any time, and drawn again.

pub mod console;
pub mod course;
mod editor;
mod forms;
pub use crate::layout;
mod lock;
mod panes;
mod popups;
mod search;
mod status;
mod status_forms;
pub mod summary;
pub mod theme;
mod today;

use crate::app::{App, Pane};
use layout::Screen;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use theme::Theme;

/// Draws one frame of the whole app.
///
/// Record text is made safe where each pane draws it (`crate::text_safety`); the frame is
/// then scrubbed once more, so no widget can pass a control character on to the terminal.
pub fn draw(frame: &mut Frame, app: &App) {
    draw_frame(frame, app);
    crate::text_safety::scrub(frame.buffer_mut());
    crate::text_safety::mend_wide_overlaps(frame.buffer_mut());
    theme::mend_contrast(frame.buffer_mut());
}

fn draw_frame(frame: &mut Frame, app: &App) {
    let area = frame.area();
    // Locked: the lock screen alone, whatever is open under it, at any terminal size.
    if let Some(l) = &app.lock {
        lock::draw(frame, area, app, l, &Theme::new(app.theme));
        return;
    }
    // The privacy key: nothing at all on screen, not even what kitnotes is.
    if app.privacy {
        frame.render_widget(ratatui::widgets::Clear, area);
        return;
    }
    let theme = Theme::new(app.theme);
    let screen = Screen::new(area, app.focus);
    if screen.too_small {
        too_small(frame, area, &theme);
        return;
    }
    if let (Some(c), None) = (&app.console, &app.editor) {
        let body = Rect {
            height: screen.status.y.saturating_sub(area.y),
            ..area
        };
        console::draw(frame, body, app, c, &theme);
        status::bar(frame, screen.status, app, &theme);
        popups::draw(frame, area, app, &theme);
        return;
    }
    if let (Some(view), None) = (&app.view, &app.editor) {
        let body = Rect {
            height: screen.status.y.saturating_sub(area.y),
            ..area
        };
        match view {
            crate::app::views::View::Today(t) => today::draw(frame, body, app, t, &theme),
            crate::app::views::View::Course(c) if c.summary => {
                summary::draw(frame, body, app, c, &theme)
            }
            crate::app::views::View::Course(c) => course::draw(frame, body, app, c, &theme),
        }
        status::bar(frame, screen.status, app, &theme);
        popups::draw(frame, area, app, &theme);
        if !app.pending.is_empty() && app.popup.is_none() {
            popups::pending_keys(frame, area, app, &theme);
        }
        return;
    }
    panes::header(frame, screen.header, app, &theme);
    for &(pane, rect) in &screen.panes {
        match pane {
            Pane::Roster => panes::roster(frame, rect, app, &theme),
            Pane::Timeline => panes::timeline(frame, rect, app, &theme),
            Pane::Detail => panes::detail(frame, rect, app, &theme),
        }
    }
    if let Some(e) = &app.editor {
        let body = Rect {
            y: screen.header.bottom(),
            height: screen.status.y.saturating_sub(screen.header.bottom()),
            ..area
        };
        editor::draw(frame, body, app, e, &theme);
    }
    status::bar(frame, screen.status, app, &theme);
    popups::draw(frame, area, app, &theme);
    if !app.pending.is_empty() && app.popup.is_none() {
        popups::pending_keys(frame, area, app, &theme);
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "Terminal too small ({}x{}): kitnotes needs {}x{}.",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.text)
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// `text` cut or padded to exactly `width` columns; a cut ends in "…".
fn fit(text: &str, width: usize) -> String {
    crate::text_safety::fit(text, width)
}

/// Record text for one line on screen (see [`crate::text_safety::one_line`]), owned.
fn safe(text: &str) -> String {
    crate::text_safety::one_line(text).into_owned()
}

/// Columns `text` takes once made safe for one line: where a cursor after it goes.
fn cols(text: &str) -> u16 {
    let w = crate::text_safety::width(&crate::text_safety::one_line(text));
    u16::try_from(w).unwrap_or(u16::MAX)
}

/// A pane's frame: thick and bright when focused, with its key hint in the title.
fn pane_block<'a>(title: Vec<Span<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Line::from(title));
    if focused {
        block
            .border_style(theme.border_focused)
            .border_type(theme.border_type_focused)
    } else {
        block.border_style(theme.border)
    }
}

/// Text with the characters at `positions` (fuzzy matches) highlighted.
fn highlighted<'a>(
    text: &'a str,
    positions: &[u32],
    base: ratatui::style::Style,
    hl: ratatui::style::Style,
) -> Vec<Span<'a>> {
    // One character for one: the match positions still point at the same characters.
    let text = crate::text_safety::one_line(text);
    if positions.is_empty() {
        return vec![Span::styled(text, base)];
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_hl = false;
    for (i, c) in text.chars().enumerate() {
        let is_hl = positions.binary_search(&(i as u32)).is_ok();
        if is_hl != run_hl && !run.is_empty() {
            let style = if run_hl { base.patch(hl) } else { base };
            spans.push(Span::styled(std::mem::take(&mut run), style));
        }
        run_hl = is_hl;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(
            run,
            if run_hl { base.patch(hl) } else { base },
        ));
    }
    spans
}

/// `text` with the byte `ranges` (in order, on character boundaries) in `hl` over `base`: the
/// words a search found.
fn marked(
    text: &str,
    ranges: &[std::ops::Range<usize>],
    base: ratatui::style::Style,
    hl: ratatui::style::Style,
) -> Vec<Span<'static>> {
    crate::search::snippet::pieces(text, ranges)
        .into_iter()
        .map(|(p, found)| Span::styled(safe(p), if found { base.patch(hl) } else { base }))
        .collect()
}
