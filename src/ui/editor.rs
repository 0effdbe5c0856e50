//! The note editor, drawn over the panes: the note's title, then its sections, each heading
//! above its text. The section with the cursor gets the room; the others show their first lines
//! (or their prompt, dimmed, while empty), so the whole note's shape stays in view.

use super::theme::Theme;
use crate::app::App;
use crate::app::editor::{Editor, EditorMode, SectionEditor};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Lines a section without the cursor shows at most.
const PREVIEW_LINES: u16 = 2;
/// The section with the cursor gets at least this many lines when the note is long.
const MIN_CURRENT: u16 = 4;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, e: &Editor, theme: &Theme) {
    frame.render_widget(Clear, area);
    let patient = app
        .patient
        .as_ref()
        .filter(|v| v.records.patient.id == e.note.patient)
        .map(|v| v.records.patient.name.as_str())
        .unwrap_or("");
    let mode = match e.mode {
        EditorMode::Insert => "",
        EditorMode::Normal => " · NORMAL",
    };
    let title = format!(
        " {} · {} · {} · draft{mode} ",
        e.note.kind.label(),
        super::safe(&e.note.title),
        super::safe(patient)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(theme.border_type_focused)
        .border_style(theme.border_focused)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::from(Span::styled(
            format!(
                " section {} of {} · * required to sign ",
                e.current + 1,
                e.sections.len()
            ),
            theme.dim,
        )));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || e.sections.is_empty() {
        return;
    }
    let width = inner.width.saturating_sub(2).max(1);
    let preview = |s: &SectionEditor| -> u16 { 1 + wrapped_lines(s, width).min(PREVIEW_LINES) };

    // Which sections fit: the current one, then neighbours after and before it in turn.
    let budget = inner.height.saturating_sub(MIN_CURRENT.min(inner.height));
    let (mut lo, mut hi, mut used) = (e.current, e.current, 0u16);
    loop {
        let mut grew = false;
        if hi + 1 < e.sections.len() && used + preview(&e.sections[hi + 1]) <= budget {
            hi += 1;
            used += preview(&e.sections[hi]);
            grew = true;
        }
        if lo > 0 && used + preview(&e.sections[lo - 1]) <= budget {
            lo -= 1;
            used += preview(&e.sections[lo]);
            grew = true;
        }
        if !grew {
            break;
        }
    }
    let mut y = inner.y;
    for i in lo..=hi {
        let s = &e.sections[i];
        let current = i == e.current;
        let h = if current {
            inner.height.saturating_sub(used)
        } else {
            preview(s)
        };
        let rect = Rect {
            y,
            height: h.min(inner.bottom().saturating_sub(y)),
            ..inner
        };
        y += rect.height;
        section(frame, rect, s, current, theme);
    }
}

fn section(frame: &mut Frame, rect: Rect, s: &SectionEditor, current: bool, theme: &Theme) {
    if rect.height == 0 {
        return;
    }
    let marker = if current { "▸ " } else { "  " };
    let mut heading = vec![Span::styled(
        format!("{marker}{}", super::safe(&s.heading)),
        if current { theme.heading } else { theme.label },
    )];
    if s.required {
        heading.push(Span::styled(" *", theme.flag));
    }
    frame.render_widget(
        Paragraph::new(Line::from(heading)),
        Rect { height: 1, ..rect },
    );
    let body = Rect {
        x: rect.x + 2,
        y: rect.y + 1,
        width: rect.width.saturating_sub(2),
        height: rect.height - 1,
    };
    if body.height == 0 {
        return;
    }
    if current && s.is_empty() {
        // The text area's own placeholder does not wrap; a long prompt must stay readable.
        frame.render_widget(
            Paragraph::new(Span::styled(super::safe(&s.prompt), theme.dim))
                .wrap(Wrap { trim: true }),
            body,
        );
        if let Some(cell) = frame.buffer_mut().cell_mut((body.x, body.y)) {
            cell.set_style(
                ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::REVERSED),
            );
        }
    } else if current {
        // Styles come from the theme at draw time; the copy is as large as one section.
        let mut area = s.area.clone();
        area.set_placeholder_style(theme.dim);
        area.set_style(theme.text);
        frame.render_widget(&area, body);
    } else if s.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(super::safe(&s.prompt), theme.dim))
                .wrap(Wrap { trim: true }),
            body,
        );
    } else {
        // The text area of the section with the cursor draws no control character (ratatui
        // drops them, and its cursor counts them as no column); a preview shows them as
        // stand-ins, like every other pane.
        frame.render_widget(
            Paragraph::new(crate::text_safety::paragraph(&s.text()).into_owned())
                .style(theme.text)
                .wrap(Wrap { trim: false }),
            body,
        );
    }
}

/// Lines the section's text (or its prompt) takes at `width`, roughly as wrapped.
fn wrapped_lines(s: &SectionEditor, width: u16) -> u16 {
    let w = usize::from(width.max(1));
    let text = if s.is_empty() {
        s.prompt.clone()
    } else {
        s.text()
    };
    text.split('\n')
        .map(|l| {
            crate::text_safety::width(&crate::text_safety::one_line(l))
                .div_ceil(w)
                .max(1)
        })
        .sum::<usize>()
        .min(u16::MAX as usize) as u16
}
