//! Drawing the measure and goal popups: the instrument list; PHQ-9 and GAD-7 item by item with
//! the answers so far and, after the last item, the total, band, item 9 and change from
//! baseline; a scale's total; the intentions to promote; the goal form; the goal list and the
//! check-in form. Reads the app only.

use super::layout::{centered, list_popup_area};
use super::panes::prefix;
use super::popups::{filtered_list, footer, popup_block};
use super::theme::Theme;
use crate::app::goals::{
    CheckInForm, DOMAINS, GoalField, GoalForm, GoalPopup, GoalTarget, IntentionRow, STATUSES,
    sessions_preview,
};
use crate::app::measures::{ItemAnswers, MeasureForm, MeasureStep, TotalEntry, review};
use crate::app::{Action, App};
use crate::model::measure::{ANSWER_LABELS, MAX_ENTERED_TOTAL, STEM};
use crate::model::{Instrument, PatientRecords};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

/// The measure popup, at whatever step it is.
pub fn measure(frame: &mut Frame, area: Rect, app: &App, f: &MeasureForm, theme: &Theme) {
    match &f.step {
        MeasureStep::Pick(list) => {
            let rect = centered(area, 84, (list.rows.len() as u16 + 5).min(area.height));
            let title = format!(" Record a measure for {} (type to filter) ", f.patient_name);
            let keys = footer(
                app,
                &[
                    (Action::PopupConfirm, "choose"),
                    (Action::PopupClose, "close"),
                ],
            );
            filtered_list(frame, rect, title, list, &keys, theme, |row, _| {
                let mut spans = vec![
                    Span::styled(format!(" {:<7}", row.instrument.label()), theme.label),
                    Span::styled(row.what.to_string(), theme.text),
                ];
                if let Some(k) = &row.kept {
                    spans.push(Span::styled(format!("  ({k})"), theme.draft));
                }
                spans
            });
        }
        MeasureStep::Items(a) => items(frame, area, app, f, a, theme),
        MeasureStep::Total(t) => total(frame, area, app, f, t, theme),
    }
}

/// The frame of a form popup: cleared, bordered, titled; returns the inside.
fn form_frame(frame: &mut Frame, rect: Rect, title: String, theme: &Theme) -> Rect {
    frame.render_widget(Clear, rect);
    let block = popup_block(title, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// The last row of `inner`, for key hints.
fn footer_row(frame: &mut Frame, inner: Rect, text: String, theme: &Theme) {
    if inner.height == 0 {
        return;
    }
    frame.render_widget(
        Paragraph::new(Span::styled(text, theme.dim)),
        Rect {
            y: inner.bottom() - 1,
            height: 1,
            ..inner
        },
    );
}

/// "1:2 2:1 3:· ..." with the item on screen marked and a PHQ-9 item 9 above 0 flagged.
fn answers_line<'a>(a: &ItemAnswers, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled("Answers  ", theme.label)];
    for (i, v) in a.answers.iter().enumerate() {
        let text = match v {
            Some(v) => format!("{}:{v}", i + 1),
            None => format!("{}:·", i + 1),
        };
        let style = if i == a.current {
            theme.selected
        } else if a.instrument == Instrument::Phq9 && i == 8 && v.is_some_and(|v| v > 0) {
            theme.flag
        } else if v.is_some() {
            theme.text
        } else {
            theme.dim
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn session_line<'a>(f: &MeasureForm, theme: &Theme) -> Option<Line<'a>> {
    f.session.as_ref().map(|(_, summary)| {
        Line::from(vec![
            Span::styled("Taken at ", theme.label),
            Span::styled(summary.clone(), theme.text),
        ])
    })
}

fn items(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    f: &MeasureForm,
    a: &ItemAnswers,
    theme: &Theme,
) {
    let texts = a.instrument.items().unwrap_or(&[]);
    let rect = centered(area, 80, items_height(area, texts, f.session.is_some()));
    let label = a.instrument.label();
    let inner = form_frame(
        frame,
        rect,
        format!(" {label} for {} ", f.patient_name),
        theme,
    );
    let mut lines: Vec<Line> = Vec::new();
    let keys = if a.reviewing() {
        lines.push(Line::from(Span::styled(
            format!("All {} items answered", a.item_count()),
            theme.heading,
        )));
        lines.push(Line::default());
        lines.push(answers_line(a, theme));
        lines.push(Line::default());
        match app.patient.as_ref().map(|v| &v.records) {
            Some(records) if records.patient.id == f.patient => {
                review_lines(&mut lines, records, a, app, theme)
            }
            _ => lines.push(Line::from(Span::styled(
                "(the patient's earlier scores are not loaded)",
                theme.dim,
            ))),
        }
        if let Some(s) = session_line(f, theme) {
            lines.push(Line::default());
            lines.push(s);
        }
        footer(
            app,
            &[
                (Action::PopupConfirm, "save"),
                (Action::MoveUp, "back to change an answer"),
                (Action::PopupClose, "close, kept"),
            ],
        )
    } else {
        lines.push(Line::from(Span::styled(STEM, theme.dim)));
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!("Item {} of {}", a.current + 1, a.item_count()),
            theme.heading,
        )));
        let text = texts.get(a.current).copied().unwrap_or("");
        lines.push(Line::from(Span::styled(text, theme.title)));
        lines.push(Line::default());
        let given = a.answers.get(a.current).copied().flatten();
        for (v, answer) in ANSWER_LABELS.iter().enumerate() {
            let chosen = given == Some(v as u8);
            let style = if chosen { theme.selected } else { theme.text };
            lines.push(Line::from(vec![
                Span::styled(format!("  {v}  "), theme.key),
                Span::styled(answer.to_string(), style),
                Span::styled(if chosen { "  (given)" } else { "" }, theme.dim),
            ]));
        }
        lines.push(Line::default());
        lines.push(answers_line(a, theme));
        if let Some(s) = session_line(f, theme) {
            lines.push(s);
        }
        let back = if a.current == 0 {
            "other measure"
        } else {
            "back"
        };
        let mut hints = vec![(Action::MoveUp, back)];
        if a.complete().is_some() {
            hints.push((Action::PopupConfirm, "save"));
        }
        hints.push((Action::PopupClose, "close, kept"));
        format!("0-3 answer · {}", footer(app, &hints))
    };
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    footer_row(frame, inner, keys, theme);
}

/// Rows the text takes when wrapped at word boundaries at `width`, as the paragraph does.
fn rows_for(text: &str, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let (mut rows, mut used) = (1u16, 0usize);
    for word in text.split(' ') {
        let len = word.chars().count();
        if used > 0 && used + 1 + len > width {
            rows += 1;
            used = 0;
        }
        used += if used > 0 { 1 + len } else { len };
        // A word longer than the row is broken across rows.
        while used > width {
            rows += 1;
            used -= width;
        }
    }
    rows
}

/// The questionnaire's height: enough for its longest item, the same for every item so the
/// popup does not jump while answering.
fn items_height(area: Rect, texts: &[&str], with_session: bool) -> u16 {
    let inner_w = area.width.min(80).saturating_sub(2);
    let longest = texts
        .iter()
        .map(|t| rows_for(t, inner_w))
        .max()
        .unwrap_or(1);
    // Stem, blank, "Item n of m", the item, blank, four answers, blank, answers so far,
    // the session, blank, keys; and the border.
    rows_for(STEM, inner_w) + 2 + longest + 1 + 4 + 1 + 1 + u16::from(with_session) + 2 + 2
}

fn review_lines(
    lines: &mut Vec<Line<'_>>,
    records: &PatientRecords,
    a: &ItemAnswers,
    app: &App,
    theme: &Theme,
) {
    for (i, l) in review(records, a, &app.settings.time_zone)
        .into_iter()
        .enumerate()
    {
        let style = if l.alert {
            theme.flag
        } else if i == 0 {
            theme.title
        } else {
            theme.text
        };
        lines.push(Line::from(Span::styled(super::safe(&l.text), style)));
    }
}

fn total(frame: &mut Frame, area: Rect, app: &App, f: &MeasureForm, t: &TotalEntry, theme: &Theme) {
    let rect = centered(area, 76, 10);
    let label = t.instrument.label();
    let inner = form_frame(
        frame,
        rect,
        format!(" {label} total for {} ", f.patient_name),
        theme,
    );
    if inner.height < 4 {
        return;
    }
    let row = |y: u16| Rect {
        y: inner.y + y,
        height: 1,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!("The total you scored; kitnotes does not ship the {label} items."),
            theme.dim,
        )),
        row(0),
    );
    text_row(frame, row(2), "Total", 6, &t.field, true, theme);
    let under = match &t.error {
        Some(e) => Span::styled(format!("       ! {}", super::safe(e)), theme.error),
        None => Span::styled(
            match t.instrument.total_range() {
                Some(r) => format!(
                    "       {} from 0 to {} ({})",
                    if r.whole {
                        "a whole number"
                    } else {
                        "a number"
                    },
                    r.max,
                    r.made_of
                ),
                None => format!("       a number from 0 to {MAX_ENTERED_TOTAL}"),
            },
            theme.dim,
        ),
    };
    frame.render_widget(Paragraph::new(under), row(3));
    if let Some(s) = session_line(f, theme)
        && inner.height > 6
    {
        frame.render_widget(Paragraph::new(s), row(5));
    }
    let keys = footer(
        app,
        &[
            (Action::PopupConfirm, "save"),
            (Action::PopupClose, "close, kept"),
        ],
    );
    footer_row(frame, inner, keys, theme);
}

/// One labelled text field; the cursor is placed in it when `focused`. Long text scrolls so
/// the cursor stays in view.
fn text_row(
    frame: &mut Frame,
    row: Rect,
    label: &str,
    label_w: u16,
    field: &crate::app::field::TextField,
    focused: bool,
    theme: &Theme,
) {
    let value = field.text();
    let width = row.width.saturating_sub(label_w + 1) as usize;
    let cursor = field.cursor_column();
    let skip = if focused {
        cursor.saturating_sub(width.saturating_sub(1))
    } else {
        0
    };
    let shown: String = value.chars().skip(skip).take(width).collect();
    let spans = vec![
        Span::styled(
            format!("{label:>w$} ", w = label_w as usize),
            if focused { theme.key } else { theme.label },
        ),
        Span::styled(
            super::safe(&shown),
            if focused {
                theme.selected_unfocused
            } else {
                theme.text
            },
        ),
    ];
    frame.render_widget(Paragraph::new(Line::from(spans)), row);
    if focused {
        let x = row.x + label_w + 1 + super::cols(prefix(&shown, cursor - skip));
        if x < row.right() {
            frame.set_cursor_position((x, row.y));
        }
    }
}

/// A row of a form: a label, the value (a text field or a fixed text) and the line under it.
struct FormRow<'a> {
    label: &'a str,
    value: RowValue<'a>,
    focused: bool,
    /// An error, or else a hint, preview or the choices, under the value.
    under: Line<'a>,
}

enum RowValue<'a> {
    Field(&'a crate::app::field::TextField),
    Text(String),
}

const LABEL_W: u16 = 12;

/// A form's fields under its two header lines, and the footer every saving form shows.
fn rows_and_save_footer(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    rows: Vec<FormRow<'_>>,
    theme: &Theme,
) {
    form_rows(
        frame,
        Rect {
            y: inner.y + 2,
            height: inner.height.saturating_sub(2),
            ..inner
        },
        rows,
        theme,
    );
    let keys = footer(
        app,
        &[
            (Action::FieldNext, "next field"),
            (Action::PopupConfirm, "save"),
            (Action::PopupClose, "close, kept"),
        ],
    );
    footer_row(frame, inner, keys, theme);
}

fn form_rows(frame: &mut Frame, inner: Rect, rows: Vec<FormRow<'_>>, theme: &Theme) {
    let mut y = inner.y;
    for r in rows {
        if y + 1 >= inner.bottom() {
            break;
        }
        let row = Rect {
            y,
            height: 1,
            ..inner
        };
        match r.value {
            RowValue::Field(f) => text_row(frame, row, r.label, LABEL_W, f, r.focused, theme),
            RowValue::Text(t) => frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(
                        format!("{:>w$} ", r.label, w = LABEL_W as usize),
                        if r.focused { theme.key } else { theme.label },
                    ),
                    Span::styled(
                        super::safe(&t),
                        if r.focused {
                            theme.selected_unfocused
                        } else {
                            theme.text
                        },
                    ),
                ])),
                row,
            ),
        }
        frame.render_widget(
            Paragraph::new(r.under),
            Rect {
                y: y + 1,
                height: 1,
                ..inner
            },
        );
        y += 2;
    }
}

/// The line under a field: its error, else `other`.
fn under<'a>(error: &Option<String>, other: Line<'a>, theme: &Theme) -> Line<'a> {
    let pad = " ".repeat(LABEL_W as usize + 1);
    match error {
        Some(e) => Line::from(Span::styled(
            format!("{pad}! {}", super::safe(e)),
            theme.error,
        )),
        None => {
            let mut spans = vec![Span::raw(pad)];
            spans.extend(other.spans);
            Line::from(spans)
        }
    }
}

/// The choices of a field, the current one marked.
fn choices_line<'a>(choices: &[&str], current: &str, extra: &str, theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim));
        }
        let style = if c.eq_ignore_ascii_case(current.trim()) {
            theme.key
        } else {
            theme.dim
        };
        spans.push(Span::styled(super::safe(c), style));
    }
    spans.push(Span::styled(super::safe(extra), theme.dim));
    Line::from(spans)
}

pub fn goal(frame: &mut Frame, area: Rect, app: &App, p: &GoalPopup, theme: &Theme) {
    let name = app
        .patient
        .as_ref()
        .map(|v| v.records.patient.name.clone())
        .unwrap_or_default();
    match p {
        GoalPopup::Intentions { list, .. } => {
            let rect = list_popup_area(area);
            let title = format!(" Set a goal for {name}: an intention, or a new one ");
            let keys = footer(
                app,
                &[
                    (Action::PopupConfirm, "choose"),
                    (Action::PopupClose, "close"),
                ],
            );
            filtered_list(frame, rect, title, list, &keys, theme, |row, _| match row {
                IntentionRow::NewGoal => vec![Span::styled(" A new goal…", theme.key)],
                IntentionRow::Intention {
                    note_date,
                    text,
                    already,
                    ..
                } => {
                    let mut spans = vec![
                        Span::styled(format!(" {note_date}  "), theme.dim),
                        Span::styled(
                            super::safe(text),
                            if already.is_some() {
                                theme.dim
                            } else {
                                theme.text
                            },
                        ),
                    ];
                    if already.is_some() {
                        spans.push(Span::styled("  (already a goal)", theme.label));
                    }
                    spans
                }
            });
        }
        GoalPopup::Pick { list, .. } => {
            let rect = centered(area, 90, (list.rows.len() as u16 + 5).min(area.height));
            let keys = footer(
                app,
                &[
                    (Action::PopupConfirm, "check in"),
                    (Action::PopupClose, "close"),
                ],
            );
            let title = format!(" Check in: which of {name}'s active goals? ");
            filtered_list(frame, rect, title, list, &keys, theme, |row, _| {
                vec![
                    Span::styled(format!(" {} ", super::fit(&row.title, 44)), theme.text),
                    Span::styled(format!("{} ", super::fit(&row.domain, 14)), theme.label),
                    Span::styled(super::safe(&row.last), theme.dim),
                ]
            });
        }
        GoalPopup::Form(f) => goal_form(frame, area, app, f, theme),
        GoalPopup::CheckIn(c) => check_in(frame, area, app, c, theme),
    }
}

fn goal_form(frame: &mut Frame, area: Rect, app: &App, f: &GoalForm, theme: &Theme) {
    let height = f.fields.len() as u16 * 2 + 5;
    let rect = centered(area, 80, height);
    let inner = form_frame(frame, rect, format!(" {} ", f.heading()), theme);
    if inner.height < 3 {
        return;
    }
    let tz = &app.settings.time_zone;
    let records = app.patient.as_ref().map(|v| &v.records);
    let source = match &f.target {
        GoalTarget::New {
            source_note: Some(n),
            intention,
            ..
        } => {
            let date = records
                .and_then(|r| r.notes.iter().find(|x| &x.id == n))
                .map(|x| x.at.to_zoned(tz.clone()).date().to_string())
                .unwrap_or_default();
            format!(
                "From the preparation note of {date}: \"{}\"",
                intention.as_deref().unwrap_or("")
            )
        }
        GoalTarget::New { .. } => "A goal of the patient's own, set today".into(),
        GoalTarget::Edit(g) => format!(
            "Set {} · {} check-in{} (kept as they are)",
            g.at.to_zoned(tz.clone()).date(),
            g.check_ins.len(),
            if g.check_ins.len() == 1 { "" } else { "s" }
        ),
    };
    frame.render_widget(
        Paragraph::new(Span::styled(super::safe(&source), theme.dim)),
        Rect { height: 1, ..inner },
    );
    let rows = f
        .fields
        .iter()
        .enumerate()
        .map(|(i, &field)| {
            let focused = i == f.focused;
            let value = f.values[i].text();
            let other = match field {
                GoalField::Domain => choices_line(&DOMAINS, value, " (←/→ or type)", theme),
                GoalField::Status => {
                    let names: Vec<&str> = STATUSES.iter().map(|s| s.as_str()).collect();
                    choices_line(&names, value, "  (←/→)", theme)
                }
                GoalField::Sessions => match records
                    .and_then(|r| sessions_preview(value, r, tz))
                    .filter(|_| !value.trim().is_empty())
                {
                    Some(p) => Line::from(Span::styled(super::safe(&p), theme.dim)),
                    None if focused || value.is_empty() => {
                        Line::from(Span::styled(field.hint(), theme.dim))
                    }
                    None => Line::default(),
                },
                _ if focused || value.is_empty() => {
                    Line::from(Span::styled(field.hint(), theme.dim))
                }
                _ => Line::default(),
            };
            FormRow {
                label: field.label(),
                value: RowValue::Field(&f.values[i]),
                focused,
                under: under(&f.errors[i], other, theme),
            }
        })
        .collect();
    rows_and_save_footer(frame, inner, app, rows, theme);
}

/// The safety follow-up and course forms: what it answers or starts, then the fields.
pub fn record_form(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    f: &crate::app::record_form::RecordForm,
    theme: &Theme,
) {
    let rect = centered(area, 84, (f.fields.len() as u16) * 2 + 5);
    let inner = form_frame(frame, rect, f.title.clone(), theme);
    if inner.height < 3 {
        return;
    }
    frame.render_widget(
        Paragraph::new(Span::styled(super::safe(&f.about), theme.title)),
        Rect { height: 1, ..inner },
    );
    let rows = f
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let focused = f.focused == i;
            let other = if field.choices.is_empty() {
                Line::from(Span::styled(
                    if focused { field.hint } else { "" },
                    theme.dim,
                ))
            } else {
                choices_line(field.choices, field.value.text(), "  (←/→)", theme)
            };
            FormRow {
                label: field.label,
                value: RowValue::Field(&field.value),
                focused,
                under: under(&field.error, other, theme),
            }
        })
        .collect();
    rows_and_save_footer(frame, inner, app, rows, theme);
}

fn check_in(frame: &mut Frame, area: Rect, app: &App, c: &CheckInForm, theme: &Theme) {
    let rect = centered(area, 80, 12);
    let inner = form_frame(frame, rect, " Check-in ".into(), theme);
    if inner.height < 3 {
        return;
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!("On \"{}\"", super::safe(&c.goal_title)),
            theme.title,
        )),
        Rect { height: 1, ..inner },
    );
    let hint = |i: usize, text: &'static str| {
        if c.focused == i || i == 0 {
            Line::from(Span::styled(text, theme.dim))
        } else {
            Line::default()
        }
    };
    let link = match c.link_label() {
        Some(l) => l.to_string(),
        None if c.notes.is_empty() => "(no integration notes)".into(),
        None => "(none)".into(),
    };
    let rows = vec![
        FormRow {
            label: CheckInForm::LABELS[0],
            value: RowValue::Field(&c.progress),
            focused: c.focused == 0,
            under: under(&c.errors[0], hint(0, "0 (none) to 10 (achieved)"), theme),
        },
        FormRow {
            label: CheckInForm::LABELS[1],
            value: RowValue::Field(&c.note),
            focused: c.focused == 1,
            under: under(&c.errors[1], hint(1, "one line, optional"), theme),
        },
        FormRow {
            label: CheckInForm::LABELS[2],
            value: RowValue::Text(link),
            focused: c.focused == 2,
            under: under(
                &c.errors[2],
                hint(2, "←/→ another integration note, Backspace: none"),
                theme,
            ),
        },
    ];
    rows_and_save_footer(frame, inner, app, rows, theme);
}
