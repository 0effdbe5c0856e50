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
            EntryKind::List(crate::model::ListKind::Allergy) => Color::LightRed,
            EntryKind::List(_) => Color::LightBlue,
        };
        Style::new().fg(color).add_modifier(Modifier::BOLD)
    }
}

/// The weakest contrast kitnotes draws text in: WCAG's 3:1 for large or bold text, which a
/// terminal cell of text on a coloured background must at least reach to be read at a glance.
pub const MIN_CONTRAST: f64 = 3.0;

/// Relative luminance (WCAG) of a colour as xterm's default palette draws it; `None` for the
/// terminal's own default colour, which kitnotes cannot know.
pub fn luminance(c: Color) -> Option<f64> {
    let (r, g, b) = match c {
        Color::Reset => return None,
        Color::Black => (0, 0, 0),
        Color::Red => (205, 0, 0),
        Color::Green => (0, 205, 0),
        Color::Yellow => (205, 205, 0),
        Color::Blue => (0, 0, 238),
        Color::Magenta => (205, 0, 205),
        Color::Cyan => (0, 205, 205),
        Color::Gray => (229, 229, 229),
        Color::DarkGray => (127, 127, 127),
        Color::LightRed => (255, 0, 0),
        Color::LightGreen => (0, 255, 0),
        Color::LightYellow => (255, 255, 0),
        Color::LightBlue => (92, 92, 255),
        Color::LightMagenta => (255, 0, 255),
        Color::LightCyan => (0, 255, 255),
        Color::White => (255, 255, 255),
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => indexed_rgb(i),
    };
    let channel = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b))
}

/// xterm's 256-colour palette: the 16 system colours, the 6x6x6 cube, the grey ramp.
fn indexed_rgb(i: u8) -> (u8, u8, u8) {
    const SYSTEM: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match i {
        0..=15 => {
            let l = luminance(SYSTEM[usize::from(i)]).unwrap_or(0.0);
            let v = (l.powf(1.0 / 2.2) * 255.0) as u8;
            (v, v, v)
        }
        16..=231 => {
            let i = i - 16;
            let step = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (step(i / 36), step((i / 6) % 6), step(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// WCAG contrast ratio of two colours, when both are known.
pub fn contrast(fg: Color, bg: Color) -> Option<f64> {
    let (a, b) = (luminance(fg)?, luminance(bg)?);
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// The last pass over every frame: text whose colour is too close to its background (a dim
/// date in a selected row, a label on the unfocused selection) is drawn in black or white,
/// whichever reads better there, so no theme ever draws unreadable text.
pub fn mend_contrast(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.symbol().trim().is_empty() {
            continue;
        }
        let (fg, bg) = if cell.modifier.contains(Modifier::REVERSED) {
            (cell.bg, cell.fg)
        } else {
            (cell.fg, cell.bg)
        };
        if contrast(fg, bg).is_some_and(|c| c < MIN_CONTRAST) {
            let readable = match (contrast(Color::White, bg), contrast(Color::Black, bg)) {
                (Some(w), Some(b)) if b > w => Color::Black,
                _ => Color::White,
            };
            if cell.modifier.contains(Modifier::REVERSED) {
                cell.bg = readable;
            } else {
                cell.fg = readable;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_colour_on_itself_is_mended_and_good_pairs_are_left() {
        let area = ratatui::layout::Rect::new(0, 0, 3, 1);
        let mut buf = ratatui::buffer::Buffer::empty(area);
        buf[(0, 0)]
            .set_symbol("a")
            .set_style(Style::new().fg(Color::DarkGray).bg(Color::DarkGray));
        buf[(1, 0)]
            .set_symbol("b")
            .set_style(Style::new().fg(Color::White).bg(Color::Blue));
        buf[(2, 0)]
            .set_symbol("c")
            .set_style(Style::new().fg(Color::Gray).bg(Color::Gray));
        mend_contrast(&mut buf);
        assert_ne!(buf[(0, 0)].fg, Color::DarkGray);
        assert_eq!(
            buf[(1, 0)].fg,
            Color::White,
            "a readable pair is left alone"
        );
        assert_eq!(buf[(2, 0)].fg, Color::Black);
        for x in 0..3 {
            let c = &buf[(x, 0)];
            assert!(contrast(c.fg, c.bg).unwrap() >= MIN_CONTRAST, "{c:?}");
        }
    }
}
