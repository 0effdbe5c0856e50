//! The course view's one-page summary (`s` in the course view): the patient's courses, the
//! problem, medication and allergy lists, a dated score table, every dosing session with its dose, adverse events and flags, and the goals
//! with their last check-in and a stalled mark. Read top to bottom; it scrolls when it is
//! longer than the screen. Below 100 columns, "course 2 session 3" is written "c2 s3".

use super::safe;
use super::theme::Theme;
use crate::app::App;
use crate::app::views::CourseView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub use crate::layout::summary::{Tone, lines};

pub fn draw(frame: &mut Frame, body: Rect, app: &App, view: &CourseView, theme: &Theme) {
    let (Some(p), Some(s)) = (&app.patient, app.course_summary()) else {
        return;
    };
    let name = &p.records.patient.name;
    let born = p
        .records
        .patient
        .born
        .map_or_else(String::new, |b| format!(", born {b}"));
    let key = app.key_hint(
        crate::app::KeyContext::Course,
        crate::app::Action::ViewSummary,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            format!(" Summary: {}{born} ", safe(name)),
            theme.title,
        ))
        .title_bottom(Span::styled(
            format!(" {key} the chart · scrolls with the arrows "),
            theme.dim,
        ));
    let lines: Vec<Line> = lines(&s, &app.settings.time_zone, body.width)
        .into_iter()
        .map(|(tone, text)| {
            let style = match tone {
                Tone::Heading => theme.title,
                Tone::Text => theme.text,
                Tone::Dim => theme.dim,
                Tone::Alert => theme.flag,
            };
            Line::from(Span::styled(safe(&text), style))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((view.scroll, 0)),
        body,
    );
}
