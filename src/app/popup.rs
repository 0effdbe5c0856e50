//! Popups: help (the live keymap of the pane underneath), the command palette (every action),
//! the patient form, the new-note template picker and the addendum field. A popup takes every
//! key first.

use super::Action;
use super::field::TextField;
use super::fuzzy::{self, Hit};
use super::list::ListCursor;
use super::patient_form::PatientForm;
use crate::model::{NoteKind, PatientId, RecordId};

pub enum Popup {
    Help(ListPopup),
    Palette(ListPopup),
    Patient(PatientForm),
    NewNote(TemplatePicker),
    Addendum(AddendumForm),
}

/// One template offered for a new note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub id: String,
    pub kind: NoteKind,
    pub name: String,
}

impl TemplateRow {
    /// The kind is part of what the filter matches, so typing "integ" picks the kind and
    /// "integ soap" a template of it.
    fn haystack(&self) -> String {
        format!("{} {} {}", self.kind.label(), self.name, self.id)
    }
}

/// "Write a new note": every template with its kind, the last one used first, so that the
/// key that opens it and Enter start a note.
#[derive(Debug)]
pub struct TemplatePicker {
    pub patient: PatientId,
    pub filter: TextField,
    pub rows: Vec<TemplateRow>,
    pub hits: Vec<Hit>,
    pub cursor: ListCursor,
    visible_rows: usize,
}

impl TemplatePicker {
    pub fn new(patient: PatientId, rows: Vec<TemplateRow>, size: (u16, u16)) -> Self {
        let mut p = Self {
            patient,
            filter: TextField::default(),
            rows,
            hits: Vec::new(),
            cursor: ListCursor::default(),
            visible_rows: crate::ui::layout::popup_list_rows(size),
        };
        p.refilter();
        p
    }

    pub fn refilter(&mut self) {
        let hay: Vec<String> = self.rows.iter().map(TemplateRow::haystack).collect();
        self.hits = fuzzy::rank(self.filter.text(), hay.iter().map(String::as_str));
        self.cursor.top(self.hits.len(), self.visible_rows);
    }

    pub fn height(&self) -> usize {
        self.visible_rows.max(1)
    }

    pub fn selected(&self) -> Option<&TemplateRow> {
        self.hits
            .get(self.cursor.selected)
            .map(|h| &self.rows[h.index])
    }
}

/// The text of an addendum to a signed note.
#[derive(Debug)]
pub struct AddendumForm {
    pub note: RecordId,
    /// The note's title, so the user sees what they are adding to.
    pub title: String,
    pub field: TextField,
}

/// One row of help or the palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopupRow {
    /// The key or sequence in keymap notation; empty when the action has no key here.
    pub keys: String,
    pub action: Action,
    pub desc: String,
}

impl PopupRow {
    /// What the filter matches against: description, action name and key.
    fn haystack(&self) -> String {
        format!("{} {} {}", self.desc, self.action.name(), self.keys)
    }
}

/// A filterable list in a popup.
#[derive(Debug)]
pub struct ListPopup {
    pub filter: TextField,
    pub rows: Vec<PopupRow>,
    pub hits: Vec<Hit>,
    pub cursor: ListCursor,
    /// Rows the popup shows at the terminal size it opened at.
    visible_rows: usize,
}

impl ListPopup {
    pub fn new(rows: Vec<PopupRow>, size: (u16, u16)) -> Self {
        let mut p = Self {
            filter: TextField::default(),
            rows,
            hits: Vec::new(),
            cursor: ListCursor::default(),
            visible_rows: crate::ui::layout::popup_list_rows(size),
        };
        p.refilter();
        p
    }

    pub fn refilter(&mut self) {
        let hay: Vec<String> = self.rows.iter().map(PopupRow::haystack).collect();
        self.hits = fuzzy::rank(self.filter.text(), hay.iter().map(String::as_str));
        self.cursor.top(self.hits.len(), self.visible_rows);
    }

    pub fn height(&self) -> usize {
        self.visible_rows.max(1)
    }

    pub fn selected(&self) -> Option<&PopupRow> {
        self.hits
            .get(self.cursor.selected)
            .map(|h| &self.rows[h.index])
    }
}

impl Action {
    /// Actions that only mean something inside a popup or form; the palette leaves them out.
    pub fn is_popup_only(self) -> bool {
        matches!(
            self,
            Action::PopupClose | Action::PopupConfirm | Action::FieldNext | Action::FieldPrev
        )
    }
}
