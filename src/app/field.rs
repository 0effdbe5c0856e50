//! A one-line text field (filters, form fields) on ratatui-textarea, so editing keys behave as
//! in the note editor: arrows, Home/End, word moves, Backspace/Delete, undo.

use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::{CursorMove, TextArea};

/// One line of editable text. Newlines never get in: pasted text is flattened to spaces, and
/// other control characters to visible stand-ins.
#[derive(Debug, Clone, Default)]
pub struct TextField {
    area: TextArea<'static>,
}

impl TextField {
    pub fn new(text: &str) -> Self {
        let mut area = TextArea::new(vec![flatten(text)]);
        area.move_cursor(CursorMove::End);
        Self { area }
    }

    pub fn text(&self) -> &str {
        self.area.lines().first().map(String::as_str).unwrap_or("")
    }

    /// Offers a key the keymap did not claim; returns whether the text changed.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        // Enter is the form's, never a line break in a one-line field.
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        if key.code == KeyCode::Enter {
            return false;
        }
        // Readline's line keys, which shell users type without thinking; the text area's own
        // C-u is undo.
        if key.modifiers == KeyModifiers::CONTROL {
            match key.code {
                KeyCode::Char('u') => return self.area.delete_line_by_head(),
                KeyCode::Char('z') => return self.area.undo(),
                _ => {}
            }
        }
        self.area.input(key)
    }

    /// Inserts pasted text at the cursor, line breaks and tabs turned into spaces, other control
    /// characters into visible stand-ins.
    pub fn paste(&mut self, text: &str) -> bool {
        self.area.insert_str(flatten(text))
    }

    /// The cursor's column in characters, for drawing.
    pub fn cursor_column(&self) -> usize {
        self.area.cursor().1
    }
}

/// A field is kept (`app::unsaved`) as its text; it comes back with the cursor at the end.
impl serde::Serialize for TextField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

impl<'de> serde::Deserialize<'de> for TextField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|t| TextField::new(&t))
    }
}

/// Line breaks and tabs become spaces; any other control character (an escape sequence from a
/// paste or an imported name) its visible stand-in (`␛`), so it is seen, can be deleted, and
/// never reaches the terminal.
fn flatten(text: &str) -> String {
    crate::text_safety::field_line(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn press(f: &mut TextField, code: KeyCode) {
        f.key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    #[test]
    fn types_edits_and_refuses_line_breaks() {
        let mut f = TextField::new("Ana");
        press(&mut f, KeyCode::Char('!'));
        press(&mut f, KeyCode::Enter);
        assert_eq!(f.text(), "Ana!");
        press(&mut f, KeyCode::Backspace);
        press(&mut f, KeyCode::Home);
        press(&mut f, KeyCode::Char('>'));
        assert_eq!(f.text(), ">Ana");
        f.paste("a\nb\tc");
        assert_eq!(f.text(), ">a b cAna");
        assert_eq!(f.cursor_column(), 6);
        f.paste("\x1b[2J");
        assert_eq!(f.text(), ">a b c␛[2JAna");
    }
}
