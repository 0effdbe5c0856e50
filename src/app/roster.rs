//! The patient list: reading it, filtering it, selecting and opening a patient, and the
//! patient form's save and archive.

use super::fuzzy::{self, Hit};
use super::list::ListCursor;
use super::{
    Action, App, FormTarget, KeyContext, Pane, PatientForm, PatientView, Popup, TextField,
};
use crate::model::Record;
use crate::model::{Patient, PatientId};
use anyhow::Context;

/// The patient list: everyone in the store, the filter, and the selection.
#[derive(Debug, Default)]
pub struct Roster {
    pub patients: Vec<Patient>,
    pub show_archived: bool,
    /// The filter as typed; rows are the patients that match it, best first.
    pub query: String,
    /// The filter field while the user is typing in it.
    pub input: Option<TextField>,
    pub rows: Vec<Hit>,
    pub cursor: ListCursor,
}

impl Roster {
    pub fn selected(&self) -> Option<&Patient> {
        self.rows
            .get(self.cursor.selected)
            .map(|h| &self.patients[h.index])
    }

    pub(super) fn refilter(&mut self) {
        let keep = |p: &Patient| self.show_archived || !p.archived;
        let candidates: Vec<usize> = (0..self.patients.len())
            .filter(|&i| keep(&self.patients[i]))
            .collect();
        self.rows = fuzzy::rank(
            &self.query,
            candidates.iter().map(|&i| self.patients[i].name.as_str()),
        )
        .into_iter()
        .map(|h| Hit {
            index: candidates[h.index],
            positions: h.positions,
        })
        .collect();
    }
}

impl App {
    pub(super) fn update_filter(&mut self, action: Action) {
        match action {
            Action::PopupClose => {
                self.roster.input = None;
                self.set_roster_query(String::new());
            }
            Action::PopupConfirm => {
                self.roster.input = None;
                if self.roster.rows.is_empty() {
                    self.say_error(format!("No patient matches {:?}", self.roster.query));
                } else {
                    self.focus_pane(Pane::Timeline);
                }
            }
            Action::MoveUp | Action::MoveDown | Action::PageUp | Action::PageDown => {
                let (h, len) = (self.list_height(Pane::Roster), self.roster.rows.len());
                let step = match action {
                    Action::MoveUp => -1,
                    Action::MoveDown => 1,
                    Action::PageUp => -(h as isize),
                    _ => h as isize,
                };
                self.roster.cursor.step(step, len, h);
                self.load_selected_patient();
            }
            Action::Quit => self.request_quit(),
            other => self.say_error(format!(
                "{} is not available while filtering; Enter keeps the filter, Esc clears it",
                other.name()
            )),
        }
    }

    pub(super) fn set_roster_query(&mut self, q: String) {
        let keep = self.roster.selected().map(|p| p.id.clone());
        self.roster.query = q;
        self.roster.refilter();
        self.reselect(keep.as_ref());
    }

    pub(super) fn take_stashed(
        &mut self,
        which: impl Fn(&PatientForm) -> bool,
    ) -> Option<PatientForm> {
        let i = self.stashed_forms.iter().position(which)?;
        Some(self.stashed_forms.remove(i))
    }

    pub(super) fn save_patient_form(&mut self) -> anyhow::Result<()> {
        let today = self.today();
        let new_id = PatientId::from_uuid(self.ids.next(self.now()));
        let Some(Popup::Patient(form)) = self.popup.as_mut() else {
            return Ok(());
        };
        let Some(patient) = form.submit(new_id, today) else {
            let n = form.error_count();
            anyhow::bail!(
                "{n} field{} to fix before saving",
                if n == 1 { "" } else { "s" }
            );
        };
        let is_new = form.target == FormTarget::New;
        match self.write(Record::Patient(patient.clone())) {
            Ok(()) => {
                self.popup = None;
                // A new patient must be visible even under a filter that would hide them.
                if is_new && !self.roster.query.is_empty() {
                    self.roster.query.clear();
                }
                self.reload_roster(Some(&patient.id))
                    .context("Saved, but the list could not be reloaded")?;
                self.say(format!(
                    "{} {}",
                    if is_new { "Added" } else { "Saved" },
                    patient.name
                ));
            }
            // The form stays open with everything typed, so nothing is lost.
            Err(e) => return Err(e.context("Not saved")),
        }
        Ok(())
    }

    pub(super) fn toggle_archive(&mut self) -> anyhow::Result<()> {
        let Some(mut p) = self.current_patient() else {
            anyhow::bail!("No patient selected");
        };
        p.archived = !p.archived;
        let (id, name, archived) = (p.id.clone(), p.name.clone(), p.archived);
        self.write(Record::Patient(p)).context("Not saved")?;
        self.reload_roster(Some(&id))?;
        let hint = self.key_hint(KeyContext::Roster, Action::ToggleArchived);
        self.say(if archived && !self.roster.show_archived {
            format!("Archived {name}; {hint} shows archived patients")
        } else if archived {
            format!("Archived {name}")
        } else {
            format!("{name} is back in the active list")
        });
        Ok(())
    }

    /// The selected patient as stored (not the roster's possibly stale copy).
    pub(super) fn current_patient(&self) -> Option<Patient> {
        self.patient
            .as_ref()
            .map(|v| v.records.patient.clone())
            .or_else(|| self.roster.selected().cloned())
    }

    /// Reads the patient list again, keeping `select` (or the current patient) selected.
    pub fn reload_roster(&mut self, select: Option<&PatientId>) -> anyhow::Result<()> {
        self.read_patients(select)?;
        // The list was reread because something was written: so is the patient.
        self.refresh_patient();
        Ok(())
    }

    /// Reads the patient list again, keeping `select` (or the selected patient) selected,
    /// without changing the open patient.
    pub(super) fn read_patients(&mut self, select: Option<&PatientId>) -> anyhow::Result<()> {
        let keep = select
            .cloned()
            .or_else(|| self.roster.selected().map(|p| p.id.clone()));
        let mut patients = self.store.patients()?;
        patients.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        self.roster.patients = patients;
        self.roster.refilter();
        self.select_roster_row(keep.as_ref());
        Ok(())
    }

    /// Selects the patient `id` if shown, else keeps the row position, and shows them.
    pub(super) fn reselect(&mut self, id: Option<&PatientId>) {
        self.select_roster_row(id);
        self.load_selected_patient();
    }

    pub(super) fn select_roster_row(&mut self, id: Option<&PatientId>) {
        let index = id
            .and_then(|id| {
                self.roster
                    .rows
                    .iter()
                    .position(|h| &self.roster.patients[h.index].id == id)
            })
            .unwrap_or(self.roster.cursor.selected);
        let h = self.list_height(Pane::Roster);
        self.roster.cursor.select(index, self.roster.rows.len(), h);
    }

    /// After a move: shows the roster's selected patient, reading the store only when the
    /// selection is a different patient.
    pub(super) fn load_selected_patient(&mut self) {
        self.show_selected_patient(false);
    }

    /// After a write: reads the selected patient's records again, keeping the place in the
    /// timeline.
    pub(super) fn refresh_patient(&mut self) {
        self.show_selected_patient(true);
    }

    pub(super) fn show_selected_patient(&mut self, refresh: bool) {
        let Some(id) = self.roster.selected().map(|p| p.id.clone()) else {
            self.patient = None;
            return;
        };
        if self
            .patient
            .as_ref()
            .is_some_and(|v| v.records.patient.id == id)
        {
            if refresh
                && let Ok(Some(records)) = self.store.patient_records(&id)
                && let Some(v) = self.patient.as_mut()
            {
                v.entries = crate::model::timeline::timeline(&records);
                v.course = crate::model::course::CourseNow::of(
                    &records,
                    self.settings.reinduction_gap,
                    &self.settings.time_zone,
                );
                v.records = records;
            }
            self.keep_cursors_visible();
            return;
        }
        match self.store.patient_records(&id) {
            Ok(Some(records)) => {
                let entries = crate::model::timeline::timeline(&records);
                let course = crate::model::course::CourseNow::of(
                    &records,
                    self.settings.reinduction_gap,
                    &self.settings.time_zone,
                );
                self.patient = Some(PatientView {
                    records,
                    entries,
                    course,
                    cursor: ListCursor::default(),
                    detail_scroll: 0,
                    found: None,
                });
            }
            Ok(None) => self.patient = None,
            Err(e) => {
                self.patient = None;
                self.say_error(format!("Cannot read this patient's records: {e:#}"));
            }
        }
    }
}
