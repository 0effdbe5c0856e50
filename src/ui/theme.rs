//! Colours and emphasis. Every theme shows focus and selection without colour too (bold,
//! reverse, thick borders), so monochrome, `NO_COLOR`, and colour-blind users lose nothing.

use crate::app::ThemeKind;
use crate::model::{EntryKind, Instrument, NoteKind};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::BorderType;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub kind: ThemeKind,
    pub text: Style,
    pub dim: Style,
    pub border: Style,
    pub border_focused: Style,
    pub border_type_focused: BorderType,
    pub title: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub heading: Style,
    pub label: Style,
    pub flag: Style,
    pub signed: Style,
    pub draft: Style,
    pub private: Style,
    pub error: Style,
    pub status_bar: Style,
    pub mode: Style,
    pub key: Style,
    /// Letters a fuzzy filter matched (patient names, help, the palette).
    pub matched: Style,
    /// Words a full-text search found, in its results and in the detail pane after a jump;
    /// marked like a highlighter pen, so they stand out of a selected row too.
    pub found: Style,
}

impl Theme {
    pub fn new(kind: ThemeKind) -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        match kind {
            ThemeKind::Monochrome => Self {
                kind,
                text: Style::new(),
                dim: Style::new().add_modifier(Modifier::DIM),
                border: Style::new(),
                border_focused: bold,
                border_type_focused: BorderType::Thick,
                title: bold,
                selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
                selected_unfocused: Style::new().add_modifier(Modifier::UNDERLINED),
                heading: bold.add_modifier(Modifier::UNDERLINED),
                label: bold,
                flag: bold.add_modifier(Modifier::REVERSED),
                signed: Style::new(),
                draft: Style::new().add_modifier(Modifier::ITALIC),
                private: bold.add_modifier(Modifier::ITALIC),
                error: bold.add_modifier(Modifier::REVERSED),
                status_bar: Style::new(),
                mode: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
                key: bold,
                matched: bold.add_modifier(Modifier::UNDERLINED),
                // Reverse video marks it in plain text; in a selected (reversed) row the
                // underline still does.
                found: bold.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
            },
            ThemeKind::HighContrast => Self {
                kind,
                text: Style::new().fg(Color::White),
                dim: Style::new().fg(Color::Gray),
                border: Style::new().fg(Color::White),
                border_focused: bold.fg(Color::LightYellow),
                border_type_focused: BorderType::Thick,
                title: bold.fg(Color::White),
                selected: bold.fg(Color::Black).bg(Color::LightYellow),
                selected_unfocused: bold.fg(Color::Black).bg(Color::Gray),
                heading: bold.fg(Color::LightCyan).add_modifier(Modifier::UNDERLINED),
                label: bold.fg(Color::White),
                flag: bold.fg(Color::White).bg(Color::Red),
                signed: bold.fg(Color::LightGreen),
                draft: bold.fg(Color::LightYellow),
                private: bold.fg(Color::LightMagenta),
                error: bold.fg(Color::White).bg(Color::Red),
                status_bar: Style::new().fg(Color::White).bg(Color::Black),
                mode: bold.fg(Color::Black).bg(Color::LightCyan),
                key: bold.fg(Color::LightYellow),
                matched: bold.fg(Color::LightCyan).add_modifier(Modifier::UNDERLINED),
                found: bold.fg(Color::Black).bg(Color::LightCyan),
            },
            ThemeKind::Standard => Self {
                kind,
                text: Style::new(),
                dim: Style::new().fg(Color::DarkGray),
                border: Style::new().fg(Color::DarkGray),
                border_focused: bold.fg(Color::Cyan),
                border_type_focused: BorderType::Thick,
                title: bold,
                selected: bold.bg(Color::Blue).fg(Color::White),
                selected_unfocused: Style::new().bg(Color::DarkGray),
                heading: bold.fg(Color::Cyan),
                label: Style::new().fg(Color::Gray),
                flag: bold.fg(Color::White).bg(Color::Red),
                signed: Style::new().fg(Color::Green),
                draft: Style::new().fg(Color::Yellow),
                private: bold.fg(Color::Magenta),
                error: bold.fg(Color::Red),
                status_bar: Style::new().bg(Color::Black),
                mode: bold.fg(Color::Black).bg(Color::Cyan),
                key: bold.fg(Color::Yellow),
                matched: bold.fg(Color::Yellow),
                found: bold.fg(Color::Black).bg(Color::Yellow),
            },
        }
    }

    /// The colour of a timeline tag, so kinds can be told apart at a glance.
    pub fn tag(&self, kind: EntryKind) -> Style {
        if self.kind == ThemeKind::Monochrome {
            return match kind {
                EntryKind::Note(NoteKind::Psychotherapy) => self.private,
                EntryKind::Session => Style::new().add_modifier(Modifier::BOLD),
                _ => Style::new(),
            };
        }
        let color = match kind {
            EntryKind::Note(NoteKind::Preparation) => Color::LightBlue,
            EntryKind::Note(NoteKind::Session) => Color::LightMagenta,
            EntryKind::Note(NoteKind::Integration) => Color::LightGreen,
            EntryKind::Note(NoteKind::Psychotherapy) => return self.private,
            EntryKind::Session => Color::LightCyan,
            EntryKind::Measure(Instrument::Phq9 | Instrument::Gad7) => Color::LightYellow,
            EntryKind::Measure(_) => Color::Gray,
            EntryKind::GoalSet => Color::Green,
            EntryKind::CheckIn => Color::Green,
            EntryKind::SafetyFollowUp => Color::LightRed,
            EntryKind::Course => Color::White,
        };
        Style::new().fg(color).add_modifier(Modifier::BOLD)
    }
}
