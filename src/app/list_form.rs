//! The problem, medication and allergy lists from the timeline, in a few keys: add an entry,
//! stop the selected one (a stop date: it stays on the list, readable), or correct it (the
//! values replaced are kept with who, when and why). Each is a [`RecordForm`] whose fields are
//! one line of text; a field with choices also takes ←/→ and a typed prefix.

use super::popup::Popup;
use super::record_form::{FormPurpose, RecordForm, field};
use super::{Action, App};
use crate::model::lists::{ListEntry, ListKind, ListValues, MedicationClass};
use crate::model::{EntryKind, Record, RecordId};
use jiff::Timestamp;
use jiff::civil::Date;

const LISTS: &[&str] = &["problem", "medication", "allergy"];
const CLASSES: &[&str] = &[
    "benzodiazepine",
    "sedative-hypnotic",
    "psychostimulant",
    "maoi",
    "opioid",
    "other",
];
const CLASS_HINT: &str =
    "medications only: benzodiazepine, sedative-hypnotic, psychostimulant, MAOI, opioid, other";
const DATE_HINT: &str = "a date, 2026-03-01 (optional)";

impl RecordForm {
    /// A new entry for the open patient.
    fn list_add(v: &super::PatientView, clinician: &str) -> Self {
        Self {
            purpose: FormPurpose::ListAdd,
            patient: v.records.patient.id.clone(),
            title: format!(" Add to a list · {} ", v.records.patient.name),
            patient_name: v.records.patient.name.clone(),
            about: "A problem, a medication (with its class) or an allergy".into(),
            fields: vec![
                field(
                    "List",
                    "medication",
                    LISTS,
                    "problem · medication · allergy (←/→ or type)",
                ),
                field("Name", "", &[], "the problem, medicine or allergen"),
                field(
                    "Detail",
                    "",
                    &[],
                    "dose and how often; for an allergy, the reaction",
                ),
                field("Class", "", CLASSES, CLASS_HINT),
                field("Started", "", &[], DATE_HINT),
                field("By", clinician, &[], "who recorded it"),
            ],
            focused: 1,
        }
    }

    /// A stop date for `e`, today by default.
    fn list_stop(v: &super::PatientView, e: &ListEntry, today: Date, clinician: &str) -> Self {
        Self {
            purpose: FormPurpose::ListStop {
                entry: e.id.clone(),
            },
            patient: v.records.patient.id.clone(),
            title: format!(" Stop · {} ", v.records.patient.name),
            patient_name: v.records.patient.name.clone(),
            about: format!(
                "{}: {} (it stays on the list, marked {})",
                e.list.label(),
                e.what(),
                e.list.stopped_word()
            ),
            fields: vec![
                field(
                    "Stopped on",
                    &today.to_string(),
                    &[],
                    "the date, 2026-03-01",
                ),
                field(
                    "Why",
                    "",
                    &[],
                    "optional: tapered off, side effects, resolved...",
                ),
                field("By", clinician, &[], "who stopped it"),
            ],
            focused: 1,
        }
    }

    /// A correction of `e`, its values filled in.
    fn list_correct(v: &super::PatientView, e: &ListEntry, clinician: &str) -> Self {
        let day = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            purpose: FormPurpose::ListCorrect {
                entry: e.id.clone(),
            },
            patient: v.records.patient.id.clone(),
            title: format!(" Correct · {} ", v.records.patient.name),
            patient_name: v.records.patient.name.clone(),
            about: format!(
                "{}: {} (the original stays readable)",
                e.list.label(),
                e.what()
            ),
            fields: vec![
                field("Name", &e.name, &[], "the problem, medicine or allergen"),
                field(
                    "Detail",
                    &e.detail,
                    &[],
                    "dose and how often; for an allergy, the reaction",
                ),
                field(
                    "Class",
                    e.class.map_or("", |c| c.as_str()),
                    CLASSES,
                    CLASS_HINT,
                ),
                field("Started", &day(e.started), &[], DATE_HINT),
                field("Stopped", &day(e.stopped), &[], DATE_HINT),
                field(
                    "Why",
                    "",
                    &[],
                    "why it is corrected (kept with the original)",
                ),
                field("By", clinician, &[], "who corrected it"),
            ],
            focused: 5,
        }
    }

    /// A date field: empty is `None`; anything else must read as a date.
    fn date_at(&mut self, i: usize) -> Result<Option<Date>, ()> {
        let t = self.text(i).to_string();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<Date>().map(Some).map_err(|_| {
            self.fail(i, format!("{t:?}: a date such as 2026-03-01"));
        })
    }

    /// The class field at `i`, checked against the list: a medication needs one, nothing else
    /// has one.
    fn class_at(&mut self, i: usize, list: Option<ListKind>) -> Option<MedicationClass> {
        let text = self.text(i).to_string();
        let class = MedicationClass::parse(&text);
        match (list, class) {
            (Some(ListKind::Medication), None) => {
                self.fail(i, "choose the medication's class (←/→)".into());
            }
            (Some(ListKind::Problem | ListKind::Allergy), _) if !text.is_empty() => {
                self.fail(i, "only a medication has a class: leave it empty".into());
            }
            _ => {}
        }
        class.filter(|_| list == Some(ListKind::Medication))
    }

    /// The list entry the form writes (`existing` for a stop or correction), or `None` with the
    /// messages under the fields.
    pub(super) fn submit_list(
        &mut self,
        id: RecordId,
        now: Timestamp,
        existing: Option<&ListEntry>,
    ) -> Option<Record> {
        let by_field = self.fields.len() - 1;
        let by = self.text(by_field).to_string();
        if by.is_empty() {
            self.fail(by_field, "name who recorded it".into());
        }
        match self.purpose.clone() {
            FormPurpose::ListAdd => {
                let list = ListKind::parse(self.text(0));
                if list.is_none() {
                    self.fail(0, "choose problem, medication or allergy".into());
                }
                if self.text(1).is_empty() {
                    self.fail(1, "write what it is".into());
                }
                let class = self.class_at(3, list);
                let started = self.date_at(4);
                let values = ListValues {
                    name: self.text(1).to_string(),
                    detail: self.text(2).to_string(),
                    class,
                    started: started.ok().flatten(),
                    stopped: None,
                };
                let e = ListEntry::new(id, self.patient.clone(), now, list?, by, values);
                self.checked(e, 1)
            }
            FormPurpose::ListStop { .. } => {
                let mut e = existing?.clone();
                let on = match self.date_at(0) {
                    Ok(Some(d)) => Some(d),
                    Ok(None) => {
                        self.fail(0, "the date it stopped".into());
                        None
                    }
                    Err(()) => None,
                };
                if self.error_count() > 0 {
                    return None;
                }
                let why = self.text(1).to_string();
                match e.stop(on?, &by, &why, now) {
                    Ok(()) => Some(Record::ListEntry(e)),
                    Err(err) => {
                        self.fail(0, err.to_string());
                        None
                    }
                }
            }
            FormPurpose::ListCorrect { .. } => {
                let mut e = existing?.clone();
                if self.text(0).is_empty() {
                    self.fail(0, "write what it is".into());
                }
                if self.text(5).is_empty() {
                    self.fail(
                        5,
                        "say why: the correction is kept with the original".into(),
                    );
                }
                let class = self.class_at(2, Some(e.list));
                let (started, stopped) = (self.date_at(3), self.date_at(4));
                if self.error_count() > 0 {
                    return None;
                }
                let values = ListValues {
                    name: self.text(0).to_string(),
                    detail: self.text(1).to_string(),
                    class,
                    started: started.ok().flatten(),
                    stopped: stopped.ok().flatten(),
                };
                let why = self.text(5).to_string();
                match e.correct(values, &by, &why, now) {
                    Ok(()) => Some(Record::ListEntry(e)),
                    Err(err) => {
                        self.fail(0, err.to_string());
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// `e` if its rules hold and no field failed, else the message under field `at`.
    fn checked(&mut self, e: ListEntry, at: usize) -> Option<Record> {
        if self.error_count() > 0 {
            return None;
        }
        match e.validate() {
            Ok(()) => Some(Record::ListEntry(e)),
            Err(err) => {
                self.fail(at, err.to_string());
                None
            }
        }
    }
}

/// The status line after a list form saved.
pub(super) fn saved_words(e: &ListEntry, purpose: &FormPurpose, name: &str) -> String {
    match purpose {
        FormPurpose::ListStop { .. } => format!(
            "{name}: {} {} on {}; it stays on the list",
            e.name,
            e.list.stopped_word(),
            e.stopped.map(|d| d.to_string()).unwrap_or_default()
        ),
        FormPurpose::ListCorrect { .. } => {
            format!("{name}: {} corrected; the original is kept", e.name)
        }
        _ => format!("{name}: {} added to the {} list", e.name, e.list.as_str()),
    }
}

impl App {
    /// The list entry selected on the timeline, if one is.
    fn selected_list_entry(&self) -> Option<&ListEntry> {
        let v = self.patient.as_ref()?;
        let e = v.selected()?;
        if !matches!(e.kind, EntryKind::List(_)) {
            return None;
        }
        v.records.lists.iter().find(|l| l.id == e.record)
    }

    /// `list.add`, `list.stop`, `list.correct` on the open patient.
    pub(super) fn open_list_form(&mut self, action: Action) {
        let clinician = self.clinician_name();
        let today = self.today();
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        let form = match action {
            Action::ListAdd => RecordForm::list_add(v, &clinician),
            _ => {
                let Some(e) = self.selected_list_entry() else {
                    let hint = self.key_hint(self.pane_context(), Action::ListAdd);
                    self.say_error(format!(
                        "Select a problem, medication or allergy on the timeline ({hint} adds one)"
                    ));
                    return;
                };
                if action == Action::ListStop {
                    if let Some(on) = e.stopped {
                        self.say_error(format!(
                            "{} is already {} (on {on})",
                            e.name,
                            e.list.stopped_word()
                        ));
                        return;
                    }
                    RecordForm::list_stop(v, e, today, &clinician)
                } else {
                    RecordForm::list_correct(v, e, &clinician)
                }
            }
        };
        self.popup = Some(Popup::Record(Box::new(form)));
    }
}
