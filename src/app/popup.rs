//! Popups: help (the live keymap of the pane underneath), the command palette (every action),
//! the patient form, the new-note template picker, the addendum field and search. A popup takes
//! every key first.

use super::Action;
use super::component::Component;
use super::field::TextField;
use super::fuzzy::{self, Hit};
use super::list::ListCursor;
use super::patient_form::PatientForm;
use crate::model::{NoteKind, PatientId, RecordId};

pub enum Popup {
    Help(CommandList),
    Palette(CommandList),
    Patient(PatientForm),
    NewNote(TemplatePicker),
    Addendum(AddendumForm),
    /// Unsigned drafts across all patients, oldest first.
    Drafts(FilteredList<super::drafts::DraftRow>),
    /// "Start a dosing session": pick the protocol.
    Protocols(super::console::ProtocolPicker),
    /// "Correct an entry" in the session console: pick the entry.
    Correct(FilteredList<super::console::CorrectRow>),
    /// "Sign this note?", "Archive this patient?": what becomes final, asked once.
    Confirm(super::confirm::Confirm),
    /// "Record a measure": the instrument, then its items or total.
    Measure(super::measures::MeasureForm),
    /// Goals: promote an intention, the goal form, check-ins.
    Goal(super::goals::GoalPopup),
    /// Full-text search of one patient's records or everyone's.
    Search(super::search::SearchPopup),
    /// A small form that writes one record: a safety follow-up, the start of a course.
    Record(Box<super::record_form::RecordForm>),
}

/// One template offered for a new note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub id: String,
    pub kind: NoteKind,
    pub name: String,
}

impl Filterable for TemplateRow {
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
    pub list: FilteredList<TemplateRow>,
}

/// The text of an addendum to a signed note.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
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
    /// The action the key runs; none for a key the note's text area takes itself (help in the
    /// editor lists those too: `<C-w>` deletes a word whatever the keymap says).
    pub action: Option<Action>,
    pub desc: String,
}

impl PopupRow {
    /// What the row's last column shows: the action's name, or `text` for a text key.
    pub fn name(&self) -> &'static str {
        self.action.map_or("text", Action::name)
    }
}

/// A row of a filterable popup list: what the typed filter is matched against.
pub trait Filterable {
    fn haystack(&self) -> String;
}

impl Filterable for PopupRow {
    /// Description, action name and key.
    fn haystack(&self) -> String {
        format!("{} {} {}", self.desc, self.name(), self.keys)
    }
}

/// A list in a popup, narrowed by fuzzy matching as the user types into its filter field.
#[derive(Debug)]
pub struct FilteredList<R> {
    pub filter: TextField,
    pub rows: Vec<R>,
    /// The rows that match, best first.
    pub hits: Vec<Hit>,
    pub cursor: ListCursor,
    /// Rows the popup shows at the terminal size it opened at.
    visible_rows: usize,
}

/// The rows of help and the command palette.
pub type ListPopup = FilteredList<PopupRow>;

/// Help (the keys of the pane underneath) or the command palette (every action that can run
/// there): one list of commands, read as the list it holds.
#[derive(Debug)]
pub struct CommandList {
    /// The palette (Enter runs any row) rather than help (Enter runs a key's action).
    pub palette: bool,
    list: ListPopup,
}

impl CommandList {
    pub fn help(rows: Vec<PopupRow>, size: (u16, u16)) -> Self {
        Self {
            palette: false,
            list: ListPopup::new(rows, size),
        }
    }

    pub fn palette(rows: Vec<PopupRow>, size: (u16, u16)) -> Self {
        Self {
            palette: true,
            list: ListPopup::new(rows, size),
        }
    }
}

impl std::ops::Deref for CommandList {
    type Target = ListPopup;
    fn deref(&self) -> &ListPopup {
        &self.list
    }
}

impl std::ops::DerefMut for CommandList {
    fn deref_mut(&mut self) -> &mut ListPopup {
        &mut self.list
    }
}

super::component::list_component!(
    CommandList,
    |p| p.list,
    if p.palette { "COMMAND" } else { "HELP" },
    "run"
);

super::component::list_component!(TemplatePicker, |p| p.list, "NEW NOTE", "start");

impl Component for AddendumForm {
    fn mode(&self) -> &'static str {
        "ADDENDUM"
    }
    fn hints(&self) -> &'static [Action] {
        &[Action::PopupConfirm, Action::PopupClose]
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        (action == Action::PopupConfirm).then_some("add")
    }
    fn field(&mut self) -> Option<&mut TextField> {
        Some(&mut self.field)
    }
    fn update(&mut self, action: Action) -> super::component::Outcome {
        super::component::list_update(self, action)
    }
}

impl<R: Filterable> FilteredList<R> {
    pub fn new(rows: Vec<R>, size: (u16, u16)) -> Self {
        let mut p = Self {
            filter: TextField::default(),
            rows,
            hits: Vec::new(),
            cursor: ListCursor::default(),
            visible_rows: crate::layout::popup_list_rows(size),
        };
        p.refilter();
        p
    }

    pub fn refilter(&mut self) {
        let hay: Vec<String> = self.rows.iter().map(R::haystack).collect();
        self.hits = fuzzy::rank(self.filter.text(), hay.iter().map(String::as_str));
        self.cursor.top(self.hits.len(), self.visible_rows);
    }

    pub fn height(&self) -> usize {
        self.visible_rows.max(1)
    }

    pub fn selected(&self) -> Option<&R> {
        self.hits
            .get(self.cursor.selected)
            .map(|h| &self.rows[h.index])
    }

    /// Moves the selection for a movement action; false for any other action.
    pub fn navigate(&mut self, action: Action) -> bool {
        let (len, h) = (self.hits.len(), self.height());
        self.cursor.navigate(action, len, h)
    }
}

impl Action {
    /// Actions that only mean something inside a popup or form; the palette leaves them out.
    pub fn is_popup_only(self) -> bool {
        matches!(
            self,
            Action::PopupClose
                | Action::PopupConfirm
                | Action::FieldNext
                | Action::FieldPrev
                | Action::SearchOrder
        )
    }

    /// Actions that only mean something in the session console (an entry of the open
    /// session); the palette offers them there only.
    pub fn is_console_only(self) -> bool {
        matches!(
            self,
            Action::SessionObserve
                | Action::SessionAdverse
                | Action::SessionVitals
                | Action::SessionSedation
                | Action::SessionDissociation
                | Action::SessionDose
                | Action::SessionLot
                | Action::SessionMarkDose
                | Action::SessionEditObservation
                | Action::SessionCorrect
                | Action::SessionResolveAdverse
                | Action::SessionEnd
                | Action::SessionLeave
        )
    }
}
