//! The lock screen: the whole terminal, with nothing from any record on it. It says that
//! kitnotes is locked, which store (its label), and asks for the passphrase, shown as bullets.
//! During a dosing session it also keeps what the session needs in view: the time since dose,
//! the checks due and overdue and the live flags, with no name and no text.

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
    // How many, never which: a command line can name a patient.
    match app.jobs_waiting {
        0 => {}
        n => {
            lines.push(Line::default());
            lines.push(Line::styled(
                match n {
                    1 => "A command from another terminal waits for the unlock.".to_string(),
                    n => format!("{n} commands from other terminals wait for the unlock."),
                },
                theme.text,
            ));
        }
    }
    if let Some(c) = app.console.as_ref() {
        lines.extend(session_lines(app, c, theme));
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

/// Locked during a dosing session: what the session needs in view, and nothing that names the
/// patient or quotes the record: the time since dose, the monitoring checks with their state,
/// and every flag that holds now.
fn session_lines<'a>(app: &App, c: &crate::app::console::Console, theme: &Theme) -> Vec<Line<'a>> {
    use crate::protocols::CheckpointState;
    let now = app.now();
    let tz = app.settings.time_zone.clone();
    let hm = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
    let mut lines = vec![Line::default()];
    let s = &c.session;
    match (s.dose_time, &s.discharge) {
        (Some(t0), None) => {
            let m = c.minutes(now).unwrap_or_default();
            let min = c.thresholds().min_observation_minutes;
            let until = t0 + jiff::SignedDuration::from_mins(i64::from(min));
            let observe = if now >= until {
                format!("{min} min of observation met at {}", hm(until))
            } else {
                format!("observe until {} ({min} min)", hm(until))
            };
            lines.push(Line::styled(
                format!("Session in progress: +{m} min since dose (T0 {})", hm(t0)),
                theme.title,
            ));
            lines.push(Line::styled(observe, theme.text));
        }
        (None, None) => lines.push(Line::styled(
            format!("Session open since {}, not dosed yet", hm(s.at)),
            theme.title,
        )),
        (_, Some(d)) => lines.push(Line::styled(
            format!("Session ended at {}", hm(d.at)),
            theme.title,
        )),
    }
    for (cp, state) in crate::protocols::checkpoint_states(s, &c.protocol, now) {
        let (mark, text, style) = match state {
            CheckpointState::Done { .. } => ("✓", "done".to_string(), theme.signed),
            CheckpointState::Due { .. } => ("●", "due now".to_string(), theme.draft),
            CheckpointState::Overdue { since } => (
                "!",
                format!("overdue {} min", now.duration_since(since).as_mins().max(0)),
                theme.flag,
            ),
            CheckpointState::Upcoming { due } => (
                "○",
                c.minutes(due)
                    .map_or("later".to_string(), |m| format!("at +{m} min")),
                theme.dim,
            ),
            CheckpointState::NotYet => ("○", "after T0".to_string(), theme.dim),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(format!("{}: ", super::safe(&cp.label)), theme.text),
            Span::styled(text, style),
        ]));
    }
    // Every flag that holds now, in a few words (an adverse event without its text).
    for f in crate::model::monitoring::live_flags(s, &c.thresholds()) {
        lines.push(Line::styled(format!("⚠ {}", f.short()), theme.flag));
    }
    lines
}

/// Rows `line` takes when wrapped at `width` (word wrap, as the paragraph draws it).
fn rows(line: &Line, width: u16) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    textwrap::wrap(&text, usize::from(width.max(1)))
        .len()
        .max(1)
}
