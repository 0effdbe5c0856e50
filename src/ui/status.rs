//! The status bar: the mode, keys of a sequence in progress, and either the last message or
//! hints built from the live keymap, so a remapped key shows as the user set it.

use super::theme::Theme;
use crate::app::{Action, App, KeyContext};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The actions hinted in each context, most useful first.
fn hinted(ctx: KeyContext, app: &App) -> &'static [Action] {
    if let Some(p) = &app.popup {
        return p.component().hints();
    }
    if let Some(actions) = super::status_forms::hinted(ctx, app) {
        return actions;
    }
    match ctx {
        KeyContext::Roster => &[
            Action::Help,
            Action::Palette,
            Action::RosterFilter,
            Action::Open,
            Action::PatientNew,
            Action::PatientEdit,
            Action::PatientArchive,
            Action::NoteNew,
            Action::ViewToday,
            Action::SearchAll,
            Action::Quit,
        ],
        KeyContext::Timeline => &[
            Action::Help,
            Action::Palette,
            Action::Open,
            Action::NoteNew,
            Action::SessionStart,
            Action::NoteEdit,
            Action::NoteSign,
            Action::NoteAddendum,
            Action::ViewCourse,
            Action::SearchPatient,
            Action::Back,
            Action::Quit,
        ],
        KeyContext::Detail => &[
            Action::Help,
            Action::Palette,
            Action::Back,
            Action::PageDown,
            Action::SearchPatient,
            Action::SearchAll,
            Action::Quit,
        ],
        KeyContext::EditorInsert => &[
            Action::SectionNext,
            Action::SectionPrev,
            Action::NoteSign,
            Action::EditorClose,
            Action::Undo,
            Action::Help,
        ],
        KeyContext::Console => &[
            Action::SessionObserve,
            Action::SessionVitals,
            Action::SessionSedation,
            Action::SessionDissociation,
            Action::SessionAdverse,
            Action::SessionMarkDose,
            Action::SessionDose,
            Action::SessionLot,
            Action::SessionEnd,
            Action::Privacy,
            Action::SessionLeave,
            Action::Help,
        ],
        KeyContext::EditorNormal => &[
            Action::EditorInsert,
            Action::SectionNext,
            Action::NoteSign,
            Action::EditorClose,
            Action::Help,
        ],
        KeyContext::Popup if app.popup.is_none() && app.console.is_some() => {
            &[Action::PopupConfirm, Action::PopupClose, Action::Privacy]
        }
        KeyContext::Popup => &[
            Action::PopupConfirm,
            Action::PopupClose,
            Action::MoveDown,
            Action::MoveUp,
        ],
        KeyContext::Today => &[
            Action::Open,
            Action::SafetyFollowUp,
            Action::Back,
            Action::Help,
            Action::Quit,
        ],
        KeyContext::Course => &[
            Action::ViewSummary,
            Action::GoalCheckIn,
            Action::MeasureNew,
            Action::GoalNew,
            Action::CourseStart,
            Action::Open,
            Action::Back,
            Action::Help,
        ],
        _ => &[Action::Help, Action::Quit],
    }
}

/// A short word for a hint: "help", "new", "archive".
fn hint_word(a: Action, app: &App) -> &'static str {
    if let Some(word) = app.popup.as_ref().and_then(|p| p.component().hint_word(a)) {
        return word;
    }
    if let Some(word) = super::status_forms::hint_word(a, app) {
        return word;
    }
    match a {
        Action::Help => "help",
        Action::Palette => "commands",
        Action::RosterFilter => "find",
        Action::Open if app.key_context() == KeyContext::Course => "goal on timeline",
        Action::Open => "open",
        Action::ViewToday => "today",
        Action::SafetyFollowUp => "follow up item 9",
        Action::CourseStart => "new course",
        Action::ViewCourse => "course",
        Action::ViewSummary => "summary",
        Action::SearchPatient => "search",
        Action::SearchAll => "search all",
        Action::Back => "back",
        Action::PatientNew => "new",
        Action::PatientEdit => "edit",
        Action::PatientArchive => "archive",
        Action::Quit => "quit",
        Action::FocusNext => "next pane",
        Action::PageDown => "page",
        Action::NoteNew => "new note",
        Action::NoteEdit => "edit note",
        Action::NoteSign => "sign",
        Action::NoteAddendum => "addendum",
        Action::SectionNext => "next section",
        Action::SectionPrev => "previous",
        Action::EditorClose => "close",
        Action::EditorInsert => "type",
        Action::Undo => "undo",
        Action::PopupConfirm if app.console.is_some() => "store",
        Action::PopupClose
            if app
                .console
                .as_ref()
                .and_then(|c| c.input.as_ref())
                .is_some_and(|i| i.kind.is_ending_question()) =>
        {
            "do not end"
        }
        Action::PopupClose
            if app
                .console
                .as_ref()
                .and_then(|c| c.input.as_ref())
                .is_some_and(|i| !i.kind.keeps_draft() || i.editing.is_some()) =>
        {
            "back"
        }
        Action::PopupClose if app.console.is_some() => "keep as draft",
        Action::SessionObserve => "observe",
        Action::SessionAdverse => "adverse",
        Action::SessionVitals => "vitals",
        Action::SessionSedation => "MOAA/S",
        Action::SessionDissociation => "dissoc.",
        Action::SessionMarkDose => "T0",
        Action::SessionDose => "dose",
        Action::SessionLot => "lot",
        Action::SessionEnd => "end",
        Action::SessionEditObservation => "correct",
        Action::SessionCorrect => "correct…",
        Action::SessionResolveAdverse => "resolved",
        Action::SessionLeave => "leave",
        Action::Privacy => "blank",
        Action::SessionStart => "session",
        Action::PopupConfirm if app.popup.is_none() => "keep filter",
        Action::PopupConfirm => "run",
        Action::FieldPrev => "previous field",
        Action::MoveUp => "up",
        Action::PopupClose if app.popup.is_none() => "clear filter",
        Action::PopupClose => "close",
        Action::FieldNext => "next field",
        Action::MoveDown => "down",
        _ => a.name(),
    }
}

pub fn bar(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let ctx = app.key_context();
    let mode = match &app.popup {
        Some(p) => p.component().mode(),
        None if app.console.as_ref().is_some_and(|c| c.input.is_some()) => "ENTRY",
        None if app.roster.input.is_some() => "FILTER",
        None => match ctx {
            KeyContext::Roster => "PATIENTS",
            KeyContext::Timeline => "TIMELINE",
            KeyContext::Detail => "DETAIL",
            KeyContext::EditorInsert => "EDIT",
            KeyContext::EditorNormal => "NORMAL",
            KeyContext::Console => "SESSION",
            KeyContext::Today => "TODAY",
            KeyContext::Course => "COURSE",
            _ => "",
        },
    };
    let mut spans = vec![
        Span::styled(format!(" {mode} "), theme.mode),
        Span::raw(" "),
    ];
    if !app.pending.is_empty() {
        spans.push(Span::styled(format!("{}…  ", app.pending), theme.key));
    }
    if let Some(e) = &app.editor {
        // Whether what was typed is safe is always in view while writing.
        if e.save_error.is_some() {
            spans.push(Span::styled("NOT SAVED, retrying  ", theme.error));
        } else if e.is_dirty() {
            spans.push(Span::styled("saving…  ", theme.dim));
        } else if let Some(at) = e.saved_at {
            let t = at.to_zoned(app.settings.time_zone.clone());
            spans.push(Span::styled(
                format!("saved {}  ", t.strftime("%H:%M:%S")),
                theme.dim,
            ));
        }
    }
    // The console and the full-screen views hide the header: how syncing stands is here then.
    let header_shown = app.editor.is_some() || (app.console.is_none() && app.view.is_none());
    if !header_shown && !app.settings.sync_label.is_empty() {
        spans.push(Span::styled(
            format!(
                "[{}]  ",
                crate::text_safety::one_line(&app.settings.sync_label)
            ),
            theme.dim,
        ));
    }
    if app.saving_trouble() && app.editor.as_ref().is_none_or(|e| e.save_error.is_none()) {
        // The console's entries and lines, forms: the same warning, in view while it lasts.
        spans.push(Span::styled("NOT SAVED, retrying  ", theme.error));
    }
    // Work running for another terminal stays in view, over messages and hints, until it ends.
    for job in &app.jobs {
        spans.push(Span::styled(
            format!("{}  ", job_words(app, job)),
            theme.key,
        ));
    }
    match &app.status {
        Some(s) => spans.push(Span::styled(
            // Messages quote the user's text (a title, a name, a file's line).
            crate::text_safety::one_line(&s.text).into_owned(),
            if s.error { theme.error } else { theme.text },
        )),
        None => {
            for &a in hinted(ctx, app) {
                let Some(k) = app.keymap.keys_for(ctx, a).into_iter().next() else {
                    continue;
                };
                spans.push(Span::styled(k.to_string(), theme.key));
                spans.push(Span::styled(format!(" {}  ", hint_word(a, app)), theme.dim));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status_bar),
        area,
    );
}

/// "312 of 1,000 patients: answering `kitnotes export` for another terminal…", or its seconds
/// when it says no count: how far first, so a long command line cut at the edge leaves it.
fn job_words(app: &App, job: &crate::app::JobShown) -> String {
    let how_far = match job.line.count {
        Some(c) => format!("{} of {} {}", thousands(c.done), thousands(c.total), c.unit),
        None => format!("{} s", app.now().duration_since(job.since).as_secs().max(0)),
    };
    format!(
        "{how_far}: answering {} for another terminal…",
        job.line.what
    )
}

/// 78961 as "78,961".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}
