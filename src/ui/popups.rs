//! Popups: help, the command palette, the patient form, and the "which key next" box shown
//! while a key sequence is in progress.

use super::layout::{centered, list_popup_area};
use super::panes::prefix;
use super::theme::Theme;
use super::{fit, highlighted, safe};
use crate::app::console::ProtocolPicker;
use crate::app::fuzzy::Hit;
use crate::app::patient_form::{FormField, PatientForm};
use crate::app::{
    Action, AddendumForm, App, DraftRow, FilteredList, KeyContext, ListPopup, Popup, TemplatePicker,
};
use crate::model::EntryKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match &app.popup {
        None => {}
        Some(Popup::Help(p)) => {
            let title = format!(" Keys in {} (type to filter) ", app.pane_context().words());
            list_popup(frame, area, p, title, &footer(app, LIST_KEYS), theme);
        }
        Some(Popup::Palette(p)) => {
            let footer = footer(app, LIST_KEYS);
            list_popup(frame, area, p, " Commands ".into(), &footer, theme);
        }
        Some(Popup::Patient(f)) => form(frame, area, f, &footer(app, FORM_KEYS), theme),
        Some(Popup::NewNote(p)) => template_picker(frame, area, p, &footer(app, PICK_KEYS), theme),
        Some(Popup::Addendum(a)) => addendum(frame, area, a, &footer(app, ADDENDUM_KEYS), theme),
        Some(Popup::Drafts(p)) => drafts(frame, area, app, p, &footer(app, DRAFT_KEYS), theme),
        Some(Popup::Protocols(p)) => {
            protocol_picker(frame, area, p, &footer(app, PROTOCOL_KEYS), theme)
        }
        Some(Popup::Correct(p)) => {
            let rect = list_popup_area(area);
            let footer = footer(app, CORRECT_KEYS);
            let title =
                " Correct which entry? The original stays, struck through (type to filter) ";
            filtered_list(frame, rect, title.into(), p, &footer, theme, |row, _| {
                vec![Span::styled(format!(" {}", safe(&row.label)), theme.text)]
            });
        }
        Some(Popup::Confirm(c)) => confirm(frame, area, app, c, theme),
        Some(Popup::Measure(f)) => super::forms::measure(frame, area, app, f, theme),
        Some(Popup::Goal(g)) => super::forms::goal(frame, area, app, g, theme),
        Some(Popup::Search(s)) => super::search::draw(frame, area, app, s, theme),
        Some(Popup::Record(f)) => super::forms::record_form(frame, area, app, f, theme),
    }
}

const PICK_KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "start writing"),
    (Action::PopupClose, "cancel"),
];
const PROTOCOL_KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "start the session"),
    (Action::PopupClose, "cancel"),
];
const CORRECT_KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "correct it"),
    (Action::PopupClose, "cancel"),
];
const DRAFT_KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "continue writing"),
    (Action::PopupClose, "close"),
];
const ADDENDUM_KEYS: &[(Action, &str)] = &[
    (Action::PopupConfirm, "sign and add"),
    (Action::PopupClose, "cancel"),
];

/// A one-line filter field with the cursor placed in it.
fn filter_line(frame: &mut Frame, row: Rect, text: &str, cursor: usize, theme: &Theme) {
    prompt_line(frame, row, text, cursor, None, theme);
}

/// A one-line text field with the cursor placed in it, scrolled so the cursor stays in view;
/// `mark`: a character to show in the alert style (where a query cannot be read).
pub(super) fn prompt_line(
    frame: &mut Frame,
    row: Rect,
    text: &str,
    cursor: usize,
    mark: Option<usize>,
    theme: &Theme,
) {
    let width = row.width.saturating_sub(3) as usize;
    let skip = cursor.saturating_sub(width.saturating_sub(1));
    let mut spans = vec![Span::styled("› ", theme.key)];
    for (i, c) in crate::text_safety::one_line(text)
        .chars()
        .enumerate()
        .skip(skip)
    {
        let style = if Some(i) == mark {
            theme.error
        } else {
            theme.text
        };
        match spans.last_mut() {
            // Not the prompt itself, which is the first span.
            Some(last) if last.content != "› " && last.style == style => {
                last.content.to_mut().push(c)
            }
            _ => spans.push(Span::styled(c.to_string(), style)),
        }
    }
    // A mark just past the text (a query that ends too early) shows as a space.
    if mark.is_some_and(|m| m == text.chars().count()) {
        spans.push(Span::styled(" ", theme.error));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), row);
    let shown: String = text.chars().skip(skip).collect();
    let x = row.x + 2 + super::cols(prefix(&shown, cursor - skip));
    if x < row.right() {
        frame.set_cursor_position((x, row.y));
    }
}

fn template_picker(frame: &mut Frame, area: Rect, p: &TemplatePicker, footer: &str, theme: &Theme) {
    let rows = p.list.rows.len() as u16;
    let rect = centered(area, 72, (rows + 5).min(list_popup_area(area).height));
    let title = " New note: pick a template (type to filter) ".to_string();
    filtered_list(frame, rect, title, &p.list, footer, theme, |row, _| {
        let kind_style = if row.kind.is_private() {
            theme.private
        } else {
            theme.label
        };
        vec![
            Span::styled(format!(" {:<30}", row.kind.label()), kind_style),
            Span::styled(safe(&row.name), theme.text),
        ]
    });
}

/// "Sign this note?", "Archive this patient?": what becomes final, and the two keys.
fn confirm(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    c: &crate::app::confirm::Confirm,
    theme: &Theme,
) {
    // Long lines (a long name) wrap: the height counts the rows they take.
    let width: u16 = 78;
    let rows: usize = c
        .lines
        .iter()
        .map(|l| {
            (crate::text_safety::width(l) + 1)
                .div_ceil(usize::from(width - 2))
                .max(1)
        })
        .sum();
    let height = rows as u16 + 4;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = popup_block(format!(" {} ", c.title), theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(format!(" {}", safe(l)), theme.text)))
        .collect();
    lines.push(Line::default());
    let yes = app.key_hint(KeyContext::Popup, Action::PopupConfirm);
    let no = app.key_hint(KeyContext::Popup, Action::PopupClose);
    lines.push(Line::from(vec![
        Span::styled(format!(" {yes}"), theme.key),
        Span::styled(format!(" {}   ", c.yes), theme.text),
        Span::styled(no, theme.key),
        Span::styled(" cancel: nothing changes", theme.dim),
    ]));
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        inner,
    );
}

fn protocol_picker(frame: &mut Frame, area: Rect, p: &ProtocolPicker, footer: &str, theme: &Theme) {
    let rows = p.list.rows.len() as u16;
    let rect = centered(area, 84, (rows + 5).min(list_popup_area(area).height));
    let title = " Start a dosing session: pick the protocol (type to filter) ".to_string();
    filtered_list(frame, rect, title, &p.list, footer, theme, |row, _| {
        vec![
            Span::styled(format!(" {}", safe(&row.name)), theme.text),
            Span::styled(format!("  ·  {}", safe(&row.dose)), theme.label),
        ]
    });
}

/// Unsigned drafts, oldest first: when each was started (and how long ago), the patient, the
/// kind and the title.
fn drafts(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    p: &FilteredList<DraftRow>,
    footer: &str,
    theme: &Theme,
) {
    let rect = list_popup_area(area);
    let tz = &app.settings.time_zone;
    let now = app.now();
    filtered_list(
        frame,
        rect,
        " Unsigned drafts, oldest first (type to filter) ".into(),
        p,
        footer,
        theme,
        |row, _| {
            let date = row.at.to_zoned(tz.clone()).date();
            let (days, age) = crate::model::today::draft_age(row.at, now, tz);
            let kind = EntryKind::Note(row.kind);
            let mut name = row.patient_name.clone();
            if row.archived {
                name.push_str(" (archived)");
            }
            let age_style = if days > 7 { theme.draft } else { theme.dim };
            vec![
                Span::styled(format!(" {date} {age:>8}  "), age_style),
                // Padded by columns, not characters: a wide name keeps the columns after it.
                Span::styled(format!("{} ", fit(&name, 24)), theme.text),
                Span::styled(format!("{:<5}", kind.tag()), theme.tag(kind)),
                Span::styled(safe(&row.title), theme.text),
            ]
        },
    );
}

/// A popup of a filter line, the matching rows (drawn by `row`, the selected one highlighted)
/// and a footer with the count and key hints.
pub(super) fn filtered_list<'a, R>(
    frame: &mut Frame,
    rect: Rect,
    title: String,
    p: &'a FilteredList<R>,
    footer: &str,
    theme: &Theme,
    row: impl Fn(&'a R, &'a Hit) -> Vec<Span<'a>>,
) {
    frame.render_widget(Clear, rect);
    let block = popup_block(title, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 3 {
        return;
    }
    let filter_row = Rect { height: 1, ..inner };
    let list = Rect {
        y: inner.y + 1,
        height: inner.height - 2,
        ..inner
    };
    let footer_row = Rect {
        y: inner.bottom() - 1,
        height: 1,
        ..inner
    };
    filter_line(
        frame,
        filter_row,
        p.filter.text(),
        p.filter.cursor_column(),
        theme,
    );
    let lines: Vec<Line> = p
        .cursor
        .visible(p.hits.len(), list.height as usize)
        .map(|i| {
            let hit = &p.hits[i];
            let line = Line::from(row(&p.rows[hit.index], hit));
            if i == p.cursor.selected {
                line.style(theme.selected)
            } else {
                line
            }
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(" Nothing matches.", theme.dim)),
            list,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), list);
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!("{} of {} · {footer}", p.hits.len(), p.rows.len()),
            theme.dim,
        )),
        footer_row,
    );
}

fn addendum(frame: &mut Frame, area: Rect, a: &AddendumForm, footer: &str, theme: &Theme) {
    let rect = centered(area, 76, 6);
    frame.render_widget(Clear, rect);
    let block = popup_block(format!(" Addendum to \"{}\" ", a.title), theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 3 {
        return;
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "A signed note stays as it is; this is added under it, dated and signed.",
            theme.dim,
        )),
        Rect { height: 1, ..inner },
    );
    let text = a.field.text();
    let width = inner.width.saturating_sub(3) as usize;
    let cursor = a.field.cursor_column();
    // Long text scrolls so the cursor stays in view.
    let skip = cursor.saturating_sub(width.saturating_sub(1));
    let shown: String = text.chars().skip(skip).collect();
    filter_line(
        frame,
        Rect {
            y: inner.y + 1,
            height: 1,
            ..inner
        },
        &shown,
        cursor - skip,
        theme,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(footer.to_string(), theme.dim)),
        Rect {
            y: inner.bottom() - 1,
            height: 1,
            ..inner
        },
    );
}

const LIST_KEYS: &[(Action, &str)] =
    &[(Action::PopupConfirm, "run"), (Action::PopupClose, "close")];
const FORM_KEYS: &[(Action, &str)] = &[
    (Action::FieldNext, "next field"),
    (Action::PopupConfirm, "save"),
    (Action::PopupClose, "close, kept"),
];

/// A popup's key hints, from the live keymap.
pub(super) fn footer(app: &App, keys: &[(Action, &str)]) -> String {
    keys.iter()
        .map(|(a, what)| format!("{} {what}", app.key_hint(KeyContext::Popup, *a)))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) fn popup_block<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(theme.border_type_focused)
        .border_style(theme.border_focused)
        .title(Span::styled(safe(&title), theme.title))
}

fn list_popup(
    frame: &mut Frame,
    area: Rect,
    p: &ListPopup,
    title: String,
    footer: &str,
    theme: &Theme,
) {
    let rect = list_popup_area(area);
    // Inside the border: the width the rows get.
    let list_width = rect.width.saturating_sub(2) as usize;
    let key_width = p
        .rows
        .iter()
        .map(|r| Span::raw(r.keys.as_str()).width())
        .max()
        .unwrap_or(0)
        .clamp(3, 14);
    let name_width = p
        .rows
        .iter()
        .map(|r| r.name().len())
        .max()
        .unwrap_or(0)
        .min(24)
        .min(list_width / 4);
    // Every column fits: a description or name too long for the width is cut with `…`.
    let desc_width = p
        .rows
        .iter()
        .map(|r| crate::text_safety::width(&r.desc))
        .max()
        .unwrap_or(0)
        .min(list_width.saturating_sub(1 + key_width + 2 + 2 + name_width));
    filtered_list(frame, rect, title, p, footer, theme, |row, hit| {
        let mut spans = vec![Span::styled(
            format!(" {}  ", fit(&row.keys, key_width)),
            theme.key,
        )];
        // Highlight the matched letters of the description (the start of the haystack), of
        // what is shown of it.
        let shown = fit(&row.desc, desc_width).trim_end().to_owned();
        let shown = shown.as_str();
        let cut = shown.ends_with('…') && !row.desc.ends_with('…');
        let visible = (shown.chars().count() - usize::from(cut)) as u32;
        let in_desc: Vec<u32> = hit
            .positions
            .iter()
            .copied()
            .filter(|&c| c < visible)
            .collect();
        spans.extend(
            highlighted(shown, &in_desc, theme.text, theme.matched)
                .into_iter()
                .map(|s| Span::styled(s.content.into_owned(), s.style)),
        );
        let pad = desc_width.saturating_sub(crate::text_safety::width(shown));
        spans.push(Span::styled(
            format!("{:pad$}  {}", "", fit(row.name(), name_width).trim_end()),
            theme.dim,
        ));
        spans
    });
}

fn form(frame: &mut Frame, area: Rect, f: &PatientForm, footer_text: &str, theme: &Theme) {
    let height = FormField::ALL.len() as u16 * 2 + 4;
    let rect = centered(area, 72, height);
    frame.render_widget(Clear, rect);
    let block = popup_block(format!(" {} ", f.title()), theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let label_w = 15u16;
    let mut y = inner.y;
    for (i, field) in FormField::ALL.iter().enumerate() {
        if y + 1 >= inner.bottom() {
            break;
        }
        let focused = i == f.focused;
        let value = f.fields[i].text();
        let label_style = if focused { theme.key } else { theme.label };
        let value_area_w = inner.width.saturating_sub(label_w + 1) as usize;
        let cursor = f.fields[i].cursor_column();
        // Long values scroll so the cursor stays in view.
        let skip = if focused {
            cursor.saturating_sub(value_area_w.saturating_sub(1))
        } else {
            0
        };
        let shown: String = value.chars().skip(skip).take(value_area_w).collect();
        let mut spans = vec![Span::styled(
            format!("{:>w$} ", field.label(), w = label_w as usize),
            label_style,
        )];
        if value.is_empty() && !focused {
            spans.push(Span::styled(field.hint(), theme.dim));
        } else {
            spans.push(Span::styled(
                safe(&shown),
                if focused {
                    theme.selected_unfocused
                } else {
                    theme.text
                },
            ));
        }
        let row = Rect {
            y,
            height: 1,
            ..inner
        };
        frame.render_widget(Paragraph::new(Line::from(spans)), row);
        if focused {
            let x = row.x
                + label_w
                + 1
                + super::cols(prefix(
                    &value.chars().skip(skip).collect::<String>(),
                    cursor - skip,
                ));
            if x < row.right() {
                frame.set_cursor_position((x, y));
            }
        }
        y += 1;
        let under = match &f.errors[i] {
            Some(e) => Span::styled(
                format!("{:w$} ! {}", "", safe(e), w = label_w as usize),
                theme.error,
            ),
            None if focused && value.is_empty() => Span::styled(
                format!("{:w$} {}", "", field.hint(), w = label_w as usize),
                theme.dim,
            ),
            None => Span::raw(""),
        };
        frame.render_widget(
            Paragraph::new(under),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
        y += 1;
    }
    let footer = Rect {
        y: inner.bottom().saturating_sub(1),
        height: 1,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(Span::styled(footer_text.to_string(), theme.dim)),
        footer,
    );
}

/// While a sequence is half typed: which keys can come next and what they do.
pub fn pending_keys(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    use crate::keymap::NextStep;
    let next: Vec<(String, String)> = app
        .keymap
        .pending_next(app.key_context(), &app.pending)
        .into_iter()
        .map(|n| {
            let what = match n.step {
                NextStep::Runs(b) => b.desc.clone(),
                NextStep::More(count) => format!("… {count} more"),
            };
            (n.key.to_string(), what)
        })
        .collect();
    if next.is_empty() {
        return;
    }
    let width = next
        .iter()
        .map(|(k, d)| k.chars().count() + d.chars().count() + 5)
        .max()
        .unwrap_or(10)
        .min(area.width as usize) as u16;
    let height = (next.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = Rect {
        x: area.right().saturating_sub(width + 1),
        y: area.bottom().saturating_sub(height + 1),
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = popup_block(format!(" {}… ", app.pending), theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let lines: Vec<Line> = next
        .iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(format!(" {k} "), theme.key),
                Span::styled(d.clone(), theme.text),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
