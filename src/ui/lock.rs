//! The lock screen: the whole terminal, with nothing from any record on it. It says that
//! kitnotes is locked, which store (its label), and asks for the passphrase, shown as bullets.

use super::theme::Theme;
use crate::app::App;
use crate::app::lock::{LockCause, LockScreen};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

/// Widest the text block gets; it is centred in the terminal.
const WIDTH: u16 = 64;
const FIELD_LABEL: &str = "Passphrase: ";

pub fn draw(frame: &mut Frame, area: Rect, app: &App, lock: &LockScreen, theme: &Theme) {
    frame.render_widget(Clear, area);
    let width = area.width.min(WIDTH);
    let at = lock
        .at
        .to_zoned(app.settings.time_zone.clone())
        .strftime("%H:%M");
    let why = match lock.cause {
        LockCause::Idle(d) => format!(
            "Locked at {at} after {} without a key",
            crate::app::lock::LockAfter::Idle(d).label()
        ),
        LockCause::Key => format!("Locked at {at}"),
    };
    let store = if app.settings.store_label.is_empty() {
        String::new()
    } else {
        format!("  ·  store: {}", super::safe(&app.settings.store_label))
    };
    let mut lines = vec![
        Line::styled("kitnotes is locked", theme.title),
        Line::styled(format!("{why}{store}"), theme.dim),
        Line::default(),
    ];
    let field_row: usize = lines.iter().map(|l| rows(l, width)).sum();
    let bullets = lock
        .typed()
        .min(usize::from(width).saturating_sub(FIELD_LABEL.len() + 1));
    if lock.encrypted {
        lines.push(Line::from(vec![
            Span::styled(FIELD_LABEL, theme.label),
            Span::styled("•".repeat(bullets), theme.text),
        ]));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("<Enter>", theme.key),
            Span::styled(" unlocks   ", theme.dim),
            Span::styled("<Esc>", theme.key),
            Span::styled(" clears   ", theme.dim),
            Span::styled("<C-c>", theme.key),
            Span::styled(" quits", theme.dim),
        ]));
    } else {
        lines.push(Line::from(vec![
            Span::styled("Press ", theme.text),
            Span::styled("<Enter>", theme.key),
            Span::styled(" to unlock (this store has no passphrase)", theme.text),
        ]));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("<C-c>", theme.key),
            Span::styled(" quits", theme.dim),
        ]));
    }
    if let Some(m) = &lock.message {
        lines.push(Line::default());
        lines.push(Line::styled(super::safe(m), theme.error));
    }
    if let Some(what) = &lock.not_saved {
        lines.push(Line::default());
        lines.push(Line::styled(
            format!(
                "Could not save before locking: {}. It is kept in memory; unlock to save it.",
                super::safe(what)
            ),
            theme.error,
        ));
    }
    let height: usize = lines.iter().map(|l| rows(l, width)).sum();
    let height = u16::try_from(height).unwrap_or(u16::MAX).min(area.height);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: true });
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(paragraph, rect);
    let cursor_y = rect.y + field_row as u16;
    if lock.encrypted && cursor_y < rect.bottom() {
        let x = rect.x + (FIELD_LABEL.len() + bullets) as u16;
        frame.set_cursor_position((x.min(rect.right().saturating_sub(1)), cursor_y));
    }
}

/// Rows `line` takes when wrapped at `width` (word wrap, as the paragraph draws it).
fn rows(line: &Line, width: u16) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    textwrap::wrap(&text, usize::from(width.max(1)))
        .len()
        .max(1)
}
