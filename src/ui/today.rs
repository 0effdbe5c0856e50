//! The Today view: four groups, most urgent first, one row per thing to act on.

use super::fit;
use super::theme::Theme;
use crate::app::views::TodayView;
use crate::app::{Action, App, KeyContext};
use crate::model::cadence::CheckInState;
use crate::model::today::{SessionStage, TodayItem, TodayRow};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// A group's heading with its count, or "none".
fn group_heading(name: &str, count: usize) -> String {
    if count == 0 {
        format!("{name} · none")
    } else {
        format!("{name} ({count})")
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, view: &TodayView, theme: &Theme) {
    let tz = &app.settings.time_zone;
    let now = view.read_at;
    let t = &view.today;
    let store = if app.settings.store_label.is_empty() {
        String::new()
    } else {
        format!("  [{}]", super::safe(&app.settings.store_label))
    };
    let header = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    " Today · {}",
                    now.to_zoned(tz.clone()).strftime("%A %-d %B %Y, %H:%M")
                ),
                theme.title,
            ),
            Span::styled(store, theme.dim),
        ]),
        Line::from(Span::styled(
            format!(
                " {} follow-up{} · {} session{} · {} check-in{} · {} draft{}   {} opens · {} back",
                t.follow_ups.len(),
                plural(t.follow_ups.len()),
                t.sessions.len(),
                plural(t.sessions.len()),
                t.check_ins.len(),
                plural(t.check_ins.len()),
                t.drafts.len(),
                plural(t.drafts.len()),
                app.key_hint(KeyContext::Today, Action::Open),
                app.key_hint(KeyContext::Today, Action::Back),
            ),
            theme.dim,
        )),
    ];
    let header_area = Rect {
        height: 2.min(area.height),
        ..area
    };
    frame.render_widget(Paragraph::new(header), header_area);
    let body = Rect {
        y: area.y + header_area.height,
        height: area.height.saturating_sub(header_area.height),
        ..area
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .border_type(theme.border_type_focused);
    let inner = block.inner(body);
    frame.render_widget(block, body);

    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let mut index = 0;
    for (g, (name, rows)) in t.groups().into_iter().enumerate() {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        let style = if g == 0 && !rows.is_empty() {
            theme.flag
        } else if rows.is_empty() {
            theme.dim
        } else {
            theme.heading
        };
        lines.push(Line::from(Span::styled(
            group_heading(name, rows.len()),
            style,
        )));
        for row in rows {
            let selected = index == view.cursor.selected;
            if selected {
                selected_line = lines.len();
            }
            lines.push(row_line(row, now, tz, width, selected, theme));
            index += 1;
        }
    }
    if t.is_empty() {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            "Nothing needs doing today: no follow-ups, sessions, check-ins or drafts.",
            theme.text,
        )));
    }
    // Keep the selected row in view, with its heading when it is the first of a group.
    let height = usize::from(inner.height);
    let scroll = (selected_line + 1).saturating_sub(height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One row: what (left), whose (a fixed column), and the detail.
fn row_line<'a>(
    row: &'a TodayRow,
    now: Timestamp,
    tz: &TimeZone,
    width: usize,
    selected: bool,
    theme: &Theme,
) -> Line<'a> {
    let name_w = if width >= 100 { 22 } else { 16 };
    let when_w = if width >= 100 { 20 } else { 14 };
    let text = row.item.text(now, tz);
    let (when_style, what_style) = match &row.item {
        TodayItem::SelfHarmFollowUp { .. } => (theme.flag, theme.flag),
        TodayItem::Session { stage, .. } if *stage == SessionStage::InProgress => {
            (theme.text, theme.heading)
        }
        TodayItem::CheckIn(c) if c.state == CheckInState::Overdue => (theme.draft, theme.text),
        TodayItem::Draft { at, .. } if now.duration_since(*at).as_hours() >= 24 * 7 => {
            (theme.draft, theme.text)
        }
        _ => (theme.text, theme.text),
    };
    let (when, what, extra) = (text.when, text.what, text.remark);
    let fixed = 2 + when_w + 1 + name_w + 1;
    let rest = width.saturating_sub(fixed);
    let extra_w = if extra.is_empty() || rest < 40 {
        0
    } else {
        extra.chars().count().min(rest / 3)
    };
    let what_w = rest.saturating_sub(if extra_w > 0 { extra_w + 2 } else { 0 });
    let mut spans = vec![
        Span::styled(if selected { "▶ " } else { "  " }, theme.key),
        Span::styled(fit(&when, when_w), when_style),
        Span::raw(" "),
        Span::styled(fit(&row.patient_name, name_w), theme.label),
        Span::raw(" "),
        Span::styled(fit(&what, what_w), what_style),
    ];
    if extra_w > 0 {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(fit(&extra, extra_w), theme.dim));
    }
    let line = Line::from(spans);
    if selected {
        line.patch_style(theme.selected)
    } else {
        line
    }
}
