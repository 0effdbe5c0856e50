//! The course view's one-page summary (`s` in the course view): the patient's courses, the
//! problem, medication and allergy lists, a dated score table, every dosing session with its dose, adverse events and flags, and the goals
//! with their last check-in and a stalled mark. Read top to bottom; it scrolls when it is
//! longer than the screen. Below 100 columns, "course 2 session 3" is written "c2 s3".

use super::safe;
use super::theme::Theme;
use crate::app::App;
use crate::app::views::CourseView;
use crate::model::summary::Summary;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// What a summary line is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Heading,
    Text,
    Dim,
    Alert,
}

/// The summary as lines of text with their tone, for a screen `width` columns wide.
pub fn lines(s: &Summary, tz: &TimeZone, width: u16) -> Vec<(Tone, String)> {
    let day = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
    let wide = width >= 100;
    let mut out = vec![(Tone::Heading, "Courses".to_owned())];
    if s.courses.is_empty() {
        out.push((Tone::Dim, "  no doses yet".to_owned()));
    }
    out.extend(s.courses.iter().map(|c| (Tone::Text, format!("  {c}"))));
    out.push((Tone::Text, String::new()));
    for (kind, entries) in &s.lists {
        let heading = match kind {
            crate::model::lists::ListKind::Problem => "Problems",
            crate::model::lists::ListKind::Medication => "Medications",
            crate::model::lists::ListKind::Allergy => "Allergies",
        };
        if entries.is_empty() {
            out.push((Tone::Dim, format!("{heading}: none recorded")));
            continue;
        }
        out.push((Tone::Heading, heading.to_owned()));
        let alert = *kind == crate::model::lists::ListKind::Allergy;
        for (e, current) in entries {
            let tone = if !current {
                Tone::Dim
            } else if alert {
                Tone::Alert
            } else {
                Tone::Text
            };
            out.push((tone, format!("  {e}")));
        }
    }
    if out.last().is_some_and(|l| !l.1.is_empty()) {
        out.push((Tone::Text, String::new()));
    }
    out.push((Tone::Heading, "Scores".to_owned()));
    if s.scores.is_empty() {
        out.push((Tone::Dim, "  no PHQ-9 or GAD-7 yet".to_owned()));
    }
    for r in &s.scores {
        let mut line = if wide {
            format!(
                "  {}  {:<5} {:>2} {:<17} course {} {:<18} {}",
                day(r.at),
                r.instrument.label(),
                r.total,
                r.band,
                r.course,
                r.place,
                r.change
            )
        } else {
            format!(
                "  {} {:<5} {:>2} {:<17} c{} {:<10} {}",
                day(r.at),
                r.instrument.label(),
                r.total,
                r.band,
                r.course,
                r.place.replace("session ", "s"),
                r.change
            )
        };
        let mut tone = Tone::Text;
        if let Some(i9) = r.item9 {
            line.push_str(&format!("  ITEM 9 = {i9}"));
            tone = Tone::Alert;
        }
        out.push((tone, line));
    }
    out.push((Tone::Text, String::new()));
    out.push((Tone::Heading, "Dosing sessions".to_owned()));
    if s.sessions.is_empty() {
        out.push((Tone::Dim, "  none yet".to_owned()));
    }
    for r in &s.sessions {
        let number = r
            .number
            .map_or_else(|| "  -".to_owned(), |n| format!("{n:>3}"));
        let open = if r.signed { "" } else { "  (not signed)" };
        let mut line = if wide {
            format!(
                "  {}  course {} session {number}  {}{open}",
                day(r.at),
                r.course,
                r.dose
            )
        } else {
            format!(
                "  {} c{} s{}  {}{open}",
                day(r.at),
                r.course,
                number.trim(),
                r.dose
            )
        };
        let alert = !r.flags.is_empty() || !r.adverse.is_empty();
        if !r.flags.is_empty() {
            line.push_str(&format!("  flags: {}", r.flags.join(", ")));
        }
        out.push((if alert { Tone::Alert } else { Tone::Text }, line));
        for a in &r.adverse {
            let a = if wide { a.clone() } else { cut(a, 60) };
            out.push((Tone::Alert, format!("      adverse event: {a}")));
        }
    }
    out.push((Tone::Text, String::new()));
    out.push((Tone::Heading, "Goals".to_owned()));
    if s.goals.is_empty() {
        out.push((Tone::Dim, "  none yet".to_owned()));
    }
    for g in &s.goals {
        let last = match g.last {
            Some((at, p)) => format!("last check-in {} {p}/10", day(at)),
            None => "no check-in yet".to_owned(),
        };
        let target = g
            .target
            .map_or_else(String::new, |t| format!(", target {t}"));
        out.push((
            Tone::Text,
            format!("  {} ({}{target}): {last}", g.title, g.status.as_str()),
        ));
        if let Some(why) = &g.stalled {
            out.push((Tone::Alert, format!("      STALLED: {why}")));
        }
    }
    out
}

/// `text` cut to `n` characters with `…`.
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
    s.push('…');
    s
}

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
