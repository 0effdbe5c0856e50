//! The search popup: the query, whose records it searches, how many match (or why the query
//! cannot be read), and the results, two lines each: date, patient, kind and title, then the
//! snippet with the found words marked.

use super::layout::{SEARCH_FOOT_LINES, SEARCH_HEAD_LINES, search_popup_area};
use super::popups::{footer, popup_block, prompt_line};
use super::theme::Theme;
use super::{fit, marked};
use crate::app::search::{Outcome, Scope, SearchPopup, entry_kind};
use crate::app::{Action, App, KeyContext};
use crate::search::{DocStatus, Hit, Order};
use crate::text_safety::width as width_of;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

const KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "open it"),
    (Action::PopupClose, "close (kept for next time)"),
];

/// The query syntax, shown while nothing is typed: (example, what it does).
const SYNTAX: &[(&str, &str)] = &[
    ("father", "the word, in any case, with or without accents"),
    ("fath*", "words that start with \"fath\""),
    (
        "\"first session\"",
        "a phrase: these words together, in this order",
    ),
    (
        "-alcohol",
        "leave out entries with it (also -\"a phrase\", -alc*)",
    ),
    (
        "kind:integration",
        "preparation, session, integration, psychotherapy,",
    ),
    ("", "observation, goal, check-in, or note (any note)"),
    (
        "status:draft",
        "draft, signed, active, achieved, paused, dropped",
    ),
    (
        "since:2026-01-01",
        "until:2026-03-31 too: days in your time zone",
    ),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, p: &SearchPopup, theme: &Theme) {
    let rect = search_popup_area(area);
    frame.render_widget(Clear, rect);
    let block = popup_block(" Search ".into(), theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let head = SEARCH_HEAD_LINES + SEARCH_FOOT_LINES;
    if inner.height <= head {
        return;
    }
    let row = |i: u16| Rect {
        y: inner.y + i,
        height: 1,
        ..inner
    };
    let mark = match &p.outcome {
        Outcome::Invalid(e) => Some(e.column.saturating_sub(1)),
        _ => None,
    };
    prompt_line(
        frame,
        row(0),
        p.field.text(),
        p.field.cursor_column(),
        mark,
        theme,
    );
    frame.render_widget(
        Paragraph::new(scope_line(app, &p.scope, p.order, theme)),
        row(1),
    );
    frame.render_widget(Paragraph::new(summary(p, theme)), row(2));
    let list = Rect {
        y: inner.y + SEARCH_HEAD_LINES,
        height: inner.height - head,
        ..inner
    };
    match &p.outcome {
        Outcome::Empty => syntax(frame, list, theme),
        Outcome::Found(f) => {
            let width = list.width as usize;
            let all = p.scope == Scope::All;
            let lines: Vec<Line> = p
                .cursor
                .visible(f.results.hits.len(), (list.height / 2).max(1) as usize)
                .flat_map(|i| {
                    let name = all.then(|| f.names[i].as_str());
                    let selected = i == p.cursor.selected;
                    let [a, b] = result(app, &f.results.hits[i], name, selected, width, theme);
                    if selected {
                        [a.style(theme.selected), b.style(theme.selected)]
                    } else {
                        [a, b]
                    }
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), list);
        }
        Outcome::Invalid(_) | Outcome::Failed(_) => {}
    }
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" {}", footer(app, KEYS)), theme.dim)),
        row(inner.height - 1),
    );
}

/// "This patient: Ana" or "All patients", with the key that switches; then the order, with its
/// key.
fn scope_line<'a>(app: &App, scope: &Scope, order: Order, theme: &Theme) -> Line<'a> {
    let key = app.key_hint(KeyContext::Popup, Action::FieldNext);
    let open = app
        .patient
        .as_ref()
        .map(|v| v.records.patient.name.as_str());
    let (now, other) = match (scope, open) {
        (Scope::Patient { name, .. }, _) => (
            format!("This patient: {}", super::safe(name)),
            Some("all patients".into()),
        ),
        (Scope::All, Some(name)) => (
            "All patients".to_string(),
            Some(format!("this patient: {}", super::safe(name))),
        ),
        (Scope::All, None) => ("All patients".to_string(), None),
    };
    let mut spans = vec![Span::styled(format!(" {now}"), theme.label)];
    if let Some(other) = other {
        spans.push(Span::styled(format!("   {key} {other}"), theme.dim));
    }
    let key = app.key_hint(KeyContext::Popup, Action::SearchOrder);
    spans.push(Span::styled(" · ", theme.dim));
    spans.push(Span::styled(order.describe(), theme.label));
    spans.push(Span::styled(format!(" ({key})"), theme.dim));
    Line::from(spans)
}

/// How many match, or why the query cannot be read (at which column), in the alert style.
fn summary<'a>(p: &SearchPopup, theme: &Theme) -> Line<'a> {
    match &p.outcome {
        Outcome::Empty => Line::default(),
        Outcome::Invalid(e) => Line::from(Span::styled(
            format!(" Column {}: {}", e.column, super::safe(&e.message)),
            theme.error,
        )),
        Outcome::Failed(m) => Line::from(Span::styled(format!(" {}", super::safe(m)), theme.error)),
        Outcome::Found(f) => {
            let (shown, total) = (f.results.hits.len(), f.results.total);
            let text = match total {
                0 => "No matches".to_string(),
                1 => "1 match".to_string(),
                t if shown < t && shown < crate::app::search::LIMIT => {
                    format!("{t} matches, showing the best {shown}: more as you go down")
                }
                t if shown < t => format!("{t} matches, showing the best {shown}"),
                t => format!("{t} matches"),
            };
            Line::from(Span::styled(format!(" {text}"), theme.title))
        }
    }
}

fn syntax(frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::default(),
        Line::from(Span::styled(
            " Type what to find. Every word must be in an entry:",
            theme.text,
        )),
    ];
    lines.extend(SYNTAX.iter().map(|(example, what)| {
        Line::from(vec![
            Span::styled(format!("   {example:<19}"), theme.key),
            Span::styled(*what, theme.dim),
        ])
    }));
    lines.push(Line::from(Span::styled(
        " The word you are typing finds longer words too, until you type a space.",
        theme.text,
    )));
    frame.render_widget(Paragraph::new(lines), area);
}

/// One result: date, patient (all-patients scope), kind, status and title; then the snippet.
fn result<'a>(
    app: &App,
    h: &'a Hit,
    name: Option<&str>,
    selected: bool,
    width: usize,
    theme: &Theme,
) -> [Line<'a>; 2] {
    let date =
        h.at.to_zoned(app.settings.time_zone.clone())
            .strftime("%Y-%m-%d");
    let kind = entry_kind(h.kind);
    let (mark, mark_style) = match h.status {
        DocStatus::Signed => ("✓", theme.signed),
        DocStatus::Draft => ("✎", theme.draft),
        DocStatus::Goal(_) => (" ", theme.text),
    };
    let title_style = if h.kind.is_private() {
        theme.private
    } else {
        theme.text
    };
    // Dim text would vanish into the selection's background.
    let date_style = if selected { Style::new() } else { theme.dim };
    let mut first = vec![Span::styled(format!(" {date}  "), date_style)];
    if let Some(n) = name {
        first.push(Span::styled(fit(n, 22), theme.label));
        first.push(Span::raw(" "));
    }
    first.extend([
        Span::styled(format!("{:<5}", kind.tag()), theme.tag(kind)),
        Span::styled(mark, mark_style),
        Span::raw(" "),
        Span::styled(super::safe(&h.title), title_style),
    ]);
    let snippet = marked(
        &h.snippet.text,
        &h.snippet.highlights,
        theme.text,
        theme.found,
    );
    let mut second = vec![Span::raw("    ")];
    second.extend(cut(snippet, width.saturating_sub(5)));
    [Line::from(first), Line::from(second)]
}

/// Spans cut to `width` columns, ending in "…" when something was cut.
fn cut(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| width_of(&s.content)).sum();
    if total <= width {
        return spans;
    }
    let mut out = Vec::new();
    let mut left = width.saturating_sub(1);
    let mut last = Style::default();
    for s in spans {
        let w = width_of(&s.content);
        if w <= left {
            left -= w;
            out.push(s);
            continue;
        }
        // Whole clusters only: no accent cut from its letter, no half of a wide character.
        let (head, _) = crate::text_safety::take_width(&s.content, left);
        last = s.style;
        out.push(Span::styled(head.to_string(), s.style));
        break;
    }
    out.push(Span::styled("…", last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_snippet_is_cut_to_the_width_with_one_ellipsis() {
        let spans = vec![
            Span::raw("about her "),
            Span::raw("father"),
            Span::raw(" and the long drive home"),
        ];
        let text = |v: Vec<Span>| v.iter().map(|s| s.content.to_string()).collect::<String>();
        assert_eq!(
            text(cut(spans.clone(), 40)),
            "about her father and the long drive home"
        );
        let short = cut(spans, 15);
        assert_eq!(text(short.clone()), "about her fath…");
        assert!(short.iter().map(|s| width_of(&s.content)).sum::<usize>() <= 15);
    }
}
