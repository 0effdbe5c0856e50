//! The unsigned drafts of every patient, oldest first: the list a clinician works through at
//! the end of a day so that nothing stays unsigned. Enter opens the chosen draft in the editor.

use super::popup::{Filterable, FilteredList, Popup};
use super::{App, Pane};
use crate::model::{NoteKind, PatientId, RecordId};
use crate::store::Store;
use jiff::Timestamp;

/// One unsigned draft in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    pub patient: PatientId,
    pub patient_name: String,
    pub archived: bool,
    pub note: RecordId,
    pub kind: NoteKind,
    pub title: String,
    /// When the note was started.
    pub at: Timestamp,
}

impl Filterable for DraftRow {
    /// The patient's name, the note's title and its kind.
    fn haystack(&self) -> String {
        format!("{} {} {}", self.patient_name, self.title, self.kind.label())
    }
}

/// Every unsigned note in the store with its patient, oldest first (ties by id, so the order
/// is the same every time).
/// Read from the start of the patients' agendas (`store::agenda`), not their records.
pub fn unsigned_drafts(store: &dyn Store) -> anyhow::Result<Vec<DraftRow>> {
    let mut rows = Vec::new();
    for a in store.patient_drafts()? {
        rows.extend(a.drafts.iter().map(|n| DraftRow {
            patient: a.patient.clone(),
            patient_name: a.name.clone(),
            archived: a.archived,
            note: n.id.clone(),
            kind: n.kind,
            title: n.title.clone(),
            at: n.at,
        }));
    }
    rows.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.note.cmp(&b.note)));
    Ok(rows)
}

impl App {
    pub(super) fn open_drafts(&mut self) -> anyhow::Result<()> {
        match unsigned_drafts(self.store.as_ref()) {
            Ok(rows) if rows.is_empty() => {
                self.say("No unsigned drafts: everything is signed".into())
            }
            Ok(rows) => {
                let n = rows.len();
                self.popup = Some(Popup::Drafts(FilteredList::new(rows, self.size)));
                self.say(format!(
                    "{n} unsigned draft{}, oldest first",
                    if n == 1 { "" } else { "s" }
                ));
            }
            Err(e) => return Err(e.context("Cannot read the drafts")),
        }
        Ok(())
    }

    /// Opens the draft chosen in the list: its patient, its timeline entry, then the editor.
    pub(super) fn open_chosen_draft(&mut self) -> anyhow::Result<()> {
        let Some(Popup::Drafts(list)) = self.popup.as_ref() else {
            return Ok(());
        };
        let Some(row) = list.selected().cloned() else {
            anyhow::bail!("No draft matches");
        };
        self.popup = None;
        self.continue_draft(&row.patient, &row.note, &row.title, &row.patient_name);
        Ok(())
    }

    /// Shows the draft on its patient's timeline and opens it in the editor, unless it has been
    /// signed or removed since the list that offered it was read.
    pub(super) fn continue_draft(
        &mut self,
        patient: &PatientId,
        note_id: &RecordId,
        title: &str,
        patient_name: &str,
    ) {
        let note = match self.store.record(note_id.as_str()) {
            Ok(Some(crate::model::Record::Note(n))) => n,
            Ok(_) => {
                self.say_error(format!("\"{title}\" is no longer in the store"));
                return;
            }
            Err(e) => {
                self.say_error(format!("Cannot read \"{title}\": {e:#}"));
                return;
            }
        };
        if note.is_signed() {
            self.say_error(format!("\"{title}\" has been signed since"));
            return;
        }
        self.show_record(patient, note_id);
        self.open_editor(note, None);
        self.say(format!("Continuing \"{title}\" for {patient_name}"));
    }

    /// Shows `patient`'s timeline with `record` selected: clears a roster filter that hides
    /// them and shows archived patients when they are archived.
    pub(super) fn show_record(&mut self, patient: &PatientId, record: &RecordId) {
        let visible = |app: &App| {
            app.roster
                .rows
                .iter()
                .any(|h| &app.roster.patients[h.index].id == patient)
        };
        if !visible(self) {
            if self
                .roster
                .patients
                .iter()
                .any(|p| &p.id == patient && p.archived)
            {
                self.roster.show_archived = true;
            }
            self.roster.query.clear();
            self.roster.refilter();
        }
        if !visible(self) {
            return;
        }
        self.reselect(Some(patient));
        self.focus = Pane::Timeline;
        self.select_entry(record);
    }
}

super::component::list_component!(super::FilteredList<DraftRow>, |p| p, "DRAFTS", "open");
