//! The header and the three panes: roster, timeline, detail.

use super::theme::Theme;
use super::{fit, highlighted, marked, pane_block, safe};
use crate::app::detail::{Tone, when};
use crate::app::search::found_in;
use crate::app::{Action, App, KeyContext, Pane};
use crate::model::timeline::measure_summary;
use crate::model::{EntryKind, Instrument, NoteStatus};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut store = if app.settings.store_label.is_empty() {
        String::new()
    } else {
        format!("  [{}]", safe(&app.settings.store_label))
    };
    if !app.settings.sync_label.is_empty() {
        store.push_str(&format!("  [{}]", safe(&app.settings.sync_label)));
    }
    let lines = match &app.patient {
        None => vec![
            Line::from(vec![
                Span::styled(" kitnotes", theme.title),
                Span::styled(store, theme.dim),
            ]),
            Line::from(Span::styled(
                format!(
                    " {} patients · {} adds one · {} shows every key",
                    app.roster.rows.len(),
                    app.key_hint(KeyContext::Roster, Action::PatientNew),
                    app.key_hint(KeyContext::Roster, Action::Help)
                ),
                theme.dim,
            )),
        ],
        Some(v) => {
            let p = &v.records.patient;
            let mut first = vec![Span::styled(format!(" {}", safe(&p.name)), theme.title)];
            let mut facts = Vec::new();
            if let Some(age) = p.age_on(app.today()) {
                facts.push(format!("{age} y"));
            }
            if let Some(pr) = &p.pronouns {
                facts.push(safe(pr));
            }
            if let Some(w) = p.weight_kg {
                facts.push(format!("{w} kg"));
            }
            if !p.tags.is_empty() {
                facts.push(safe(&p.tags.join(", ")));
            }
            if !facts.is_empty() {
                first.push(Span::styled(
                    format!(" · {}", facts.join(" · ")),
                    theme.text,
                ));
            }
            if p.archived {
                first.push(Span::styled("  ARCHIVED", theme.draft));
            }
            first.push(Span::styled(store, theme.dim));

            let mut second = vec![Span::styled(
                format!(" {}", app.course_words(v)),
                theme.text,
            )];
            for inst in [Instrument::Phq9, Instrument::Gad7] {
                if let Some((m, score)) = v.records.latest(inst) {
                    second.push(Span::styled(" · ", theme.dim));
                    let style = if score.item9_flag() {
                        theme.flag
                    } else {
                        theme.text
                    };
                    second.push(Span::styled(measure_summary(m), style));
                    second.push(Span::styled(
                        format!(
                            " ({})",
                            m.at.to_zoned(app.settings.time_zone.clone()).date()
                        ),
                        theme.dim,
                    ));
                }
            }
            vec![Line::from(first), Line::from(second)]
        }
    };
    frame.render_widget(Paragraph::new(lines), area);
}

fn pane_title<'a>(app: &App, pane: Pane, label: String, theme: &Theme) -> Vec<Span<'a>> {
    let action = match pane {
        Pane::Roster => Action::FocusRoster,
        Pane::Timeline => Action::FocusTimeline,
        Pane::Detail => Action::FocusDetail,
    };
    let mut spans = Vec::new();
    if let Some(k) = app.keymap.keys_for(KeyContext::Global, action).first() {
        spans.push(Span::styled(format!("[{k}]"), theme.key));
    }
    spans.push(Span::styled(format!(" {label} "), theme.title));
    spans
}

/// Draws a pane's frame titled `label`; gives the area inside it and whether the pane has focus.
fn pane_frame(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    pane: Pane,
    label: String,
    theme: &Theme,
) -> (Rect, bool) {
    let focused = app.focus == pane && app.popup.is_none();
    let block = pane_block(pane_title(app, pane, label, theme), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    (inner, focused)
}

/// A dim line of text where a pane has nothing to list.
fn nothing_here(frame: &mut Frame, area: Rect, text: String, theme: &Theme) {
    frame.render_widget(
        Paragraph::new(Span::styled(text, theme.dim)).wrap(Wrap { trim: true }),
        area,
    );
}

pub fn roster(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let r = &app.roster;
    let mut label = format!("Patients ({})", r.rows.len());
    if r.show_archived {
        label.push_str(" +archived");
    }
    let (inner, focused) = pane_frame(frame, area, app, Pane::Roster, label, theme);

    let mut list_area = inner;
    if r.input.is_some() || !r.query.is_empty() {
        let filter_row = Rect { height: 1, ..inner };
        list_area.y += 1;
        list_area.height = list_area.height.saturating_sub(1);
        let typing = r.input.is_some();
        let text = r.input.as_ref().map(|f| f.text()).unwrap_or(&r.query);
        let line = Line::from(vec![
            Span::styled("/", theme.key),
            Span::styled(safe(text), if typing { theme.text } else { theme.matched }),
        ]);
        frame.render_widget(Paragraph::new(line), filter_row);
        if let Some(f) = &r.input {
            let x = filter_row.x + 1 + super::cols(prefix(f.text(), f.cursor_column()));
            if x < filter_row.right() {
                frame.set_cursor_position((x, filter_row.y));
            }
        }
    }
    let height = list_area.height as usize;
    if r.rows.is_empty() {
        let msg = if r.query.is_empty() {
            format!(
                "No patients yet. {} adds one.",
                app.key_hint(KeyContext::Roster, Action::PatientNew)
            )
        } else {
            "No patient matches.".to_string()
        };
        nothing_here(frame, list_area, msg, theme);
        return;
    }
    let today = app.today();
    let width = list_area.width as usize;
    let lines: Vec<Line> = r
        .cursor
        .visible(r.rows.len(), height)
        .map(|i| {
            let hit = &r.rows[i];
            let p = &r.patients[hit.index];
            let selected = i == r.cursor.selected;
            let base = if p.archived { theme.dim } else { theme.text };
            let right = match (p.archived, p.age_on(today)) {
                (true, _) => "archived".to_string(),
                (false, Some(a)) => a.to_string(),
                (false, None) => String::new(),
            };
            // A name too long for the pane gives way to the age, cut with `…`.
            let room = width.saturating_sub(right.len() + 3);
            let cut = crate::text_safety::width(&safe(&p.name)) > room;
            let name = if cut {
                fit(&p.name, room).trim_end().to_owned()
            } else {
                p.name.clone()
            };
            let kept = name.chars().count().saturating_sub(usize::from(cut));
            let positions: Vec<u32> = hit
                .positions
                .iter()
                .copied()
                .filter(|&c| (c as usize) < kept)
                .collect();
            let mut spans = vec![Span::raw(" ")];
            spans.extend(
                highlighted(&name, &positions, base, theme.matched)
                    .into_iter()
                    .map(|s| Span::styled(s.content.into_owned(), s.style)),
            );
            let used: usize = spans
                .iter()
                .map(|s| crate::text_safety::width(&s.content))
                .sum();
            let pad = width.saturating_sub(used + right.len() + 1);
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(format!("{right} "), theme.dim));
            row_line(spans, selected, focused, theme)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list_area);
}

/// A list row, styled as the selection (strongly in the focused pane) when it is one.
fn row_line<'a>(spans: Vec<Span<'a>>, selected: bool, focused: bool, theme: &Theme) -> Line<'a> {
    let line = Line::from(spans);
    match (selected, focused) {
        (false, _) => line,
        (true, true) => line.style(theme.selected),
        (true, false) => line.style(theme.selected_unfocused),
    }
}

/// The first `chars` characters of `s`.
pub(super) fn prefix(s: &str, chars: usize) -> &str {
    match s.char_indices().nth(chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub fn timeline(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(v) = &app.patient else {
        let (inner, _) = pane_frame(frame, area, app, Pane::Timeline, "Timeline".into(), theme);
        nothing_here(frame, inner, "Choose a patient.".into(), theme);
        return;
    };
    let label = format!("Timeline ({})", v.entries.len());
    let (inner, focused) = pane_frame(frame, area, app, Pane::Timeline, label, theme);
    if v.entries.is_empty() {
        nothing_here(frame, inner, "Nothing recorded yet.".into(), theme);
        return;
    }
    let wide = inner.width >= 56;
    let tz = &app.settings.time_zone;
    // Only the rows on screen are built: a timeline of any length costs one screenful.
    let lines: Vec<Line> = v
        .cursor
        .visible(v.entries.len(), inner.height as usize)
        .map(|i| {
            let e = &v.entries[i];
            let stamp = when(e.at, tz);
            let stamp = if wide { stamp } else { stamp[..10].to_string() };
            let (mark, mark_style) = match e.status {
                Some(NoteStatus::Signed) => ("✓", theme.signed),
                Some(_) => ("✎", theme.draft),
                None => (" ", theme.text),
            };
            let mut spans = vec![
                Span::styled(format!(" {stamp} "), theme.dim),
                Span::styled(format!("{:<5}", e.kind.tag()), theme.tag(e.kind)),
                Span::styled(mark, mark_style),
                Span::raw(" "),
            ];
            if e.flagged {
                spans.push(Span::styled("!", theme.flag));
                spans.push(Span::raw(" "));
            }
            let title_style = match e.kind {
                EntryKind::Note(k) if k.is_private() => theme.private,
                _ => theme.text,
            };
            spans.push(Span::styled(safe(&e.title), title_style));
            // Written by another clinician of the practice (`kitnotes sync`).
            if let Some(author) = app.settings.synced_from.get(e.record.as_str()) {
                spans.push(Span::styled(format!(" ⇣ {}", safe(author)), theme.dim));
            }
            row_line(spans, i == v.cursor.selected, focused, theme)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A detail line whose text holds line breaks (an observation, a check-in's note) as the lines
/// it means, so a break shows as a break and not as a stand-in.
fn split_breaks(line: crate::app::detail::DetailLine) -> Vec<crate::app::detail::DetailLine> {
    let mut out = vec![Vec::new()];
    for (tone, text) in line {
        let text = text.replace("\r\n", "\n");
        for (i, piece) in text.split('\n').enumerate() {
            if i > 0 {
                out.push(Vec::new());
            }
            if let Some(last) = out.last_mut()
                && (!piece.is_empty() || i == 0)
            {
                last.push((tone, piece.to_string()));
            }
        }
    }
    out
}

pub fn detail(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let (inner, _) = pane_frame(frame, area, app, Pane::Detail, "Detail".into(), theme);
    let doc = app.detail_document();
    if doc.is_empty() {
        nothing_here(frame, inner, "Nothing selected.".into(), theme);
        return;
    }
    let style = |t: Tone| -> Style {
        match t {
            Tone::Title => theme.title,
            Tone::Heading => theme.heading,
            Tone::Label => theme.label,
            Tone::Text => theme.text,
            Tone::Dim => theme.dim,
            Tone::Flag => theme.flag,
            Tone::Signed => theme.signed,
            Tone::Draft => theme.draft,
            Tone::Private => theme.private,
            Tone::Struck => theme
                .dim
                .add_modifier(ratatui::style::Modifier::CROSSED_OUT),
        }
    };
    let scroll = app.patient.as_ref().map_or(0, |v| v.detail_scroll);
    // Opened from a search: the query's words are marked until another entry is selected.
    let found = app.detail_found();
    let lines: Vec<Line> = doc
        .into_iter()
        .flat_map(split_breaks)
        .skip(scroll)
        .take(inner.height as usize * 4)
        .map(|l| {
            Line::from(
                l.into_iter()
                    .flat_map(|(t, s)| match found {
                        Some(clauses) => marked(&s, &found_in(&s, clauses), style(t), theme.found),
                        None => vec![Span::styled(safe(&s), style(t))],
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
