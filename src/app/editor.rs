//! The note editor's state: one text area per section of a draft note, which section has the
//! cursor, the mode (typing or moving), and the autosave bookkeeping. The text areas have no
//! modes of their own; the keymap decides what a key means and `App` calls into here.
//!
//! Autosave rule (issue 4, "nothing typed is ever lost"): a change marks the editor dirty; a
//! save is due once typing paused for [`PAUSE`], or [`MAX_UNSAVED`] after the first unsaved
//! change, whichever comes first, so even someone who never stops typing is saved every second.

use crate::model::{Note, RecordId};
use crate::templates::Template;
use jiff::{SignedDuration, Timestamp};
use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::{CursorMove, TextArea, WrapMode};

/// The keys the note's text area (ratatui-textarea) handles itself when the keymap does not
/// bind them, for help in the editor: the keys in keymap notation and what they do. Kept to what
/// `TextArea::input` does in the version in Cargo.toml.
pub const TEXT_KEYS: &[(&[&str], &str)] = &[
    (&["<Enter>"], "Start a new line"),
    (
        &["<Backspace>", "<C-h>"],
        "Delete the character before the cursor",
    ),
    (
        &["<Delete>", "<C-d>"],
        "Delete the character under the cursor",
    ),
    (
        &["<C-w>", "<A-Backspace>"],
        "Delete the word before the cursor",
    ),
    (&["<A-d>", "<A-Delete>"], "Delete the word after the cursor"),
    (&["<C-k>"], "Delete to the end of the line"),
    (&["<C-j>"], "Delete to the start of the line"),
    (&["<C-u>"], "Undo"),
    (&["<C-r>"], "Redo"),
    (&["<Left>", "<C-b>"], "Move the cursor left"),
    (&["<Right>", "<C-f>"], "Move the cursor right"),
    (&["<Up>", "<C-p>"], "Move the cursor up a line"),
    (&["<Down>", "<C-n>"], "Move the cursor down a line"),
    (&["<C-Left>", "<A-b>"], "Move to the previous word"),
    (&["<C-Right>", "<A-f>"], "Move to the next word"),
    (&["<Home>", "<C-a>"], "Move to the start of the line"),
    (&["<End>", "<C-e>"], "Move to the end of the line"),
    (&["<C-Up>", "<A-p>"], "Move to the previous paragraph"),
    (&["<C-Down>", "<A-n>"], "Move to the next paragraph"),
    (&["<A-lt>"], "Move to the start of the section"),
    (&["<A->>"], "Move to the end of the section"),
    (&["<PageUp>", "<A-v>"], "Scroll up a page"),
    (&["<PageDown>", "<C-v>"], "Scroll down a page"),
];
use std::path::Path;

/// Typing paused this long: save.
pub const PAUSE: SignedDuration = SignedDuration::from_millis(700);
/// Unsaved changes are never older than this while the app runs.
pub const MAX_UNSAVED: SignedDuration = SignedDuration::from_secs(1);

/// Typing into the note, or moving around in it (the vim preset's normal mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorMode {
    Insert,
    Normal,
}

/// One section being edited.
#[derive(Debug, Clone)]
pub struct SectionEditor {
    pub heading: String,
    pub prompt: String,
    pub required: bool,
    pub area: TextArea<'static>,
}

impl SectionEditor {
    fn new(heading: &str, body: &str, prompt: &str, required: bool) -> Self {
        // A control character already in the note (from an import) is shown as its stand-in,
        // as when pasted: the text area would otherwise draw it as nothing, and a save writes
        // back what the clinician saw. Opening alone changes nothing in the store.
        let body = crate::text_safety::pasted_prose(body);
        let lines: Vec<String> = body.split('\n').map(str::to_owned).collect();
        let mut area = TextArea::new(lines);
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        area.set_placeholder_text(prompt);
        // The editor draws the heading itself; the widget's own cursor line underline would
        // make a one-line section look like a link.
        area.set_cursor_line_style(ratatui::style::Style::default());
        area.move_cursor(CursorMove::Bottom);
        area.move_cursor(CursorMove::End);
        Self {
            heading: heading.to_owned(),
            prompt: prompt.to_owned(),
            required,
            area,
        }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.text().trim().is_empty()
    }
}

/// A draft note open for writing.
#[derive(Debug)]
pub struct Editor {
    /// The note as last saved, with the sections' text from the editor put in at each save.
    pub note: Note,
    pub sections: Vec<SectionEditor>,
    pub current: usize,
    pub mode: EditorMode,
    /// Changes not yet in the store.
    dirty: bool,
    first_unsaved: Option<Timestamp>,
    last_change: Option<Timestamp>,
    pub saved_at: Option<Timestamp>,
    /// Where the cursor was when the store last took the text: the place a restart reopens,
    /// which must lie in the text the store has (a later place may be in words not saved).
    position_saved: Option<Resume>,
    /// The last save failed with this; the text stays here and the next tick tries again.
    pub save_error: Option<String>,
}

impl Editor {
    /// Opens `note` (a draft) with its template's prompts and required marks, if the
    /// template is still installed.
    pub fn open(note: Note, template: Option<&Template>) -> Self {
        let sections = note
            .sections
            .iter()
            .map(|s| {
                let t = template.and_then(|t| t.section(&s.heading));
                SectionEditor::new(
                    &s.heading,
                    &s.body,
                    t.map(|t| t.prompt.as_str()).unwrap_or(""),
                    t.is_some_and(|t| t.required),
                )
            })
            .collect();
        // Continue where the writing stopped: the last section with more in it than the
        // template's starter text (the first section of a new note).
        let current = note
            .sections
            .iter()
            .rposition(|s| {
                let starter = template
                    .and_then(|t| t.section(&s.heading))
                    .map_or("", |t| t.starter.as_str());
                !s.body.trim().is_empty() && s.body.trim() != starter.trim()
            })
            .unwrap_or(0);
        Self {
            note,
            sections,
            current,
            mode: EditorMode::Insert,
            dirty: false,
            first_unsaved: None,
            last_change: None,
            saved_at: None,
            position_saved: None,
            save_error: None,
        }
    }

    pub fn note_id(&self) -> &RecordId {
        &self.note.id
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn section(&mut self) -> Option<&mut SectionEditor> {
        self.sections.get_mut(self.current)
    }

    /// Records that the text changed at `now`.
    pub fn changed(&mut self, now: Timestamp) {
        self.dirty = true;
        self.first_unsaved.get_or_insert(now);
        self.last_change = Some(now);
    }

    /// Whether autosave should write now (see the module docs).
    pub fn save_due(&self, now: Timestamp) -> bool {
        if !self.dirty {
            return false;
        }
        let paused = self
            .last_change
            .is_none_or(|t| now.duration_since(t) >= PAUSE);
        let too_old = self
            .first_unsaved
            .is_none_or(|t| now.duration_since(t) >= MAX_UNSAVED);
        // After a failed save, retry on every tick rather than wait for more typing.
        paused || too_old || self.save_error.is_some()
    }

    /// The note with the editor's text in it: what a save writes.
    pub fn current_note(&self) -> Note {
        let mut note = self.note.clone();
        for (s, e) in note.sections.iter_mut().zip(&self.sections) {
            s.body = e.text();
        }
        note
    }

    /// The store now holds `note`, as of `now`.
    pub fn saved(&mut self, note: Note, now: Timestamp) {
        self.note = note;
        self.position_saved = Some(self.position());
        self.dirty = false;
        self.first_unsaved = None;
        self.saved_at = Some(now);
        self.save_error = None;
    }

    /// Offers a key the keymap did not claim to the section's text; returns whether the text
    /// changed.
    pub fn type_key(&mut self, key: KeyEvent) -> bool {
        match self.section() {
            Some(s) => s.area.input(key),
            None => false,
        }
    }

    /// Inserts pasted text at the cursor; line breaks and tabs are kept (a note is prose), a
    /// carriage return ends a line, and any other control character (an escape sequence copied
    /// from a terminal) goes in as its visible stand-in (`␛`), never as a control: the note
    /// keeps everything that was pasted, in a form that is safe to show and to export.
    pub fn paste(&mut self, text: &str) -> bool {
        let text = crate::text_safety::pasted_prose(text);
        match self.section() {
            Some(s) => s.area.insert_str(text),
            None => false,
        }
    }

    /// Moves to section `delta` away, wrapping around.
    pub fn move_section(&mut self, delta: isize) {
        let n = self.sections.len().max(1) as isize;
        self.current = (self.current as isize + delta).rem_euclid(n) as usize;
    }

    /// Where the cursor is, for the resume marker: section, row, column.
    pub fn position(&self) -> Resume {
        let (row, col) = self
            .sections
            .get(self.current)
            .map(|s| {
                let c = s.area.cursor();
                (c.0, c.1)
            })
            .unwrap_or((0, 0));
        Resume {
            note: self.note.id.to_string(),
            section: self.current,
            row,
            col,
        }
    }

    /// Where a restart reopens the cursor: where it was at the last save (the text opened
    /// from the store, before any save).
    pub fn position_in_store(&self) -> Resume {
        match (self.is_dirty(), &self.position_saved) {
            // The text is the store's: the cursor is where it is.
            (false, _) => self.position(),
            (true, Some(p)) => p.clone(),
            // Typed into, never saved: the store has the note as opened; its start is safe.
            (true, None) => Resume {
                note: self.note.id.to_string(),
                section: 0,
                row: 0,
                col: 0,
            },
        }
    }

    /// Puts the cursor back where a marker says it was; a place not in the text goes to its end.
    pub fn restore(&mut self, r: &Resume) {
        if r.section < self.sections.len() {
            self.current = r.section;
        }
        if let Some(s) = self.section() {
            // A place that is not in the text (written for text since changed) goes to its
            // end, never into the middle of a word.
            let fits = s
                .area
                .lines()
                .get(r.row)
                .is_some_and(|line| r.col <= line.chars().count());
            if fits {
                let row = u16::try_from(r.row).unwrap_or(u16::MAX);
                let col = u16::try_from(r.col).unwrap_or(u16::MAX);
                s.area.move_cursor(CursorMove::Jump(row, col));
            } else {
                s.area.move_cursor(CursorMove::Bottom);
                s.area.move_cursor(CursorMove::End);
            }
        }
    }

    /// Names of required sections still empty, in note order.
    pub fn empty_required(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| s.required && s.is_empty())
            .map(|s| s.heading.clone())
            .collect()
    }
}

/// Which note was open in the editor and where its cursor was: kept in the store with what is
/// typed (`app::unsaved`), so that after a crash or SIGKILL the next start reopens the same
/// place. (Older versions kept it in a file beside the store, read once and removed.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    pub note: String,
    pub section: usize,
    pub row: usize,
    pub col: usize,
}

impl Resume {
    /// Reads the marker; a missing or unreadable marker is no marker (the draft itself is
    /// safe in the store either way, and still listed in the timeline).
    pub fn read(path: &Path) -> Option<Self> {
        // Only a small regular file: a FIFO or a device in its place must not hang the start.
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.is_file() || meta.len() > 64 * 1024 {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn clear(path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor() -> Editor {
        let t = crate::templates::builtins().iter().next().unwrap();
        let note = t.template.new_note(
            RecordId::parse("n1").unwrap(),
            crate::model::PatientId::parse("p1").unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        Editor::open(note, Some(&t.template))
    }

    #[test]
    fn autosave_waits_for_a_pause_but_never_more_than_a_second() {
        let mut e = editor();
        let t0: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        assert!(!e.save_due(t0), "nothing typed, nothing to save");
        e.changed(t0);
        assert!(!e.save_due(t0 + SignedDuration::from_millis(300)));
        assert!(e.save_due(t0 + PAUSE));
        // Typing every 200 ms never pauses, yet a save falls due after one second.
        let mut t = t0;
        while t.duration_since(t0) < MAX_UNSAVED {
            assert!(!e.save_due(t), "{t}");
            t += SignedDuration::from_millis(200);
            e.changed(t);
        }
        assert!(e.save_due(t));
        let note = e.current_note();
        e.saved(note, t);
        assert!(!e.save_due(t + MAX_UNSAVED));
    }

    #[test]
    fn a_new_note_opens_at_its_first_section_and_a_draft_where_writing_stopped() {
        let t = crate::templates::builtins().get("dosing-session").unwrap();
        let mut note = t.new_note(
            RecordId::parse("n1").unwrap(),
            crate::model::PatientId::parse("p1").unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        // Starter text (the "Dose" and "Monitoring" sections have some) is not writing.
        assert_eq!(Editor::open(note.clone(), Some(t)).current, 0);
        note.sections[2].body = "+5 min: eyes closed, calm".into();
        let e = Editor::open(note, Some(t));
        assert_eq!(e.current, 2);
        let c = e.sections[2].area.cursor();
        let (row, col) = (c.0, c.1);
        assert_eq!((row, col), (0, "+5 min: eyes closed, calm".chars().count()));
    }
}

#[cfg(test)]
mod text_key_tests {
    #[test]
    fn every_text_key_is_written_in_keymap_notation() {
        for (keys, desc) in super::TEXT_KEYS {
            for k in *keys {
                assert!(k.parse::<crate::keymap::KeySeq>().is_ok(), "{k} ({desc})");
            }
        }
    }
}
