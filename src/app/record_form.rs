//! Two small forms that each write one record: a safety follow-up of a PHQ-9 item 9 answer (risk
//! assessed, plan, by whom), recorded from Today in a few keys, and the start of a course
//! (induction, re-induction, maintenance), from the Course view. Each field is one line of
//! text; a field with choices also takes ←/→ and a typed prefix ("m" is moderate).

use super::field::TextField;
use super::popup::Popup;
use super::{Action, App, KeyContext};
use crate::model::course::{Course, CourseKind};
use crate::model::safety::{RiskLevel, SafetyFollowUp};
use crate::model::{PatientId, Record, RecordId};
use jiff::Timestamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// What the form writes.
#[derive(Debug, Clone, PartialEq)]
pub enum FormPurpose {
    /// A safety follow-up of the PHQ-9 `measure`.
    SafetyFollowUp { measure: Option<RecordId> },
    /// A new course.
    Course,
    /// A new problem, medication or allergy list entry (`list_form.rs`).
    ListAdd,
    /// A stop date for the list entry `entry`.
    ListStop { entry: RecordId },
    /// A correction of the list entry `entry` (the values replaced are kept).
    ListCorrect { entry: RecordId },
}

/// One field: its label, the text, the choices it offers (if any) and the hint under it.
#[derive(Debug, Clone)]
pub struct FormField {
    pub label: &'static str,
    pub value: TextField,
    pub choices: &'static [&'static str],
    pub hint: &'static str,
    pub error: Option<String>,
    /// What the field held when the form opened (a filled-in default is not typed text).
    pub initial: String,
}

/// A small form that writes one record for `patient`.
#[derive(Debug, Clone)]
pub struct RecordForm {
    pub purpose: FormPurpose,
    pub patient: PatientId,
    pub patient_name: String,
    /// The popup's title and the line under it (what the record answers or starts).
    pub title: String,
    pub about: String,
    pub fields: Vec<FormField>,
    pub focused: usize,
}

const RISKS: &[&str] = &["low", "moderate", "high"];
const KINDS: &[&str] = &["induction", "re-induction", "maintenance"];

impl RecordForm {
    /// The follow-up of `measure` ("PHQ-9 13 · ITEM 9 = 1 of 20 Nov"), by the clinician.
    pub fn safety(
        patient: PatientId,
        patient_name: String,
        measure: Option<RecordId>,
        about: String,
        clinician: &str,
    ) -> Self {
        Self {
            purpose: FormPurpose::SafetyFollowUp { measure },
            patient,
            title: format!(" Safety follow-up · {patient_name} "),
            patient_name,
            about,
            fields: vec![
                field("Risk", "", RISKS, "low · moderate · high (←/→ or type)"),
                field(
                    "Plan",
                    "",
                    &[],
                    "the plan agreed: safety plan, contacts, next contact",
                ),
                field("By", clinician, &[], "who assessed the risk"),
            ],
            focused: 0,
        }
    }

    /// A new course starting now; `suggested` is the kind to offer first.
    pub fn course(
        patient: PatientId,
        patient_name: String,
        suggested: CourseKind,
        about: String,
        planned: u32,
        clinician: &str,
    ) -> Self {
        Self {
            purpose: FormPurpose::Course,
            patient,
            title: format!(" Start a course · {patient_name} "),
            patient_name,
            about,
            fields: vec![
                field(
                    "Course",
                    suggested.label(),
                    KINDS,
                    "a new induction or re-induction has its own baseline and numbering",
                ),
                field(
                    "Sessions",
                    &planned.to_string(),
                    &[],
                    "induction sessions planned (maintenance: ignored)",
                ),
                field("Reason", "", &[], "optional: relapse, a long gap, ..."),
                field("By", clinician, &[], "who started it"),
            ],
            focused: 0,
        }
    }

    pub fn is_dirty(&self) -> bool {
        // The defaults are filled in; only the free-text fields count as typed.
        self.fields.iter().any(|f| {
            f.choices.is_empty()
                && f.label != "By"
                && f.label != "Sessions"
                && !f.value.text().trim().is_empty()
                && f.value.text() != f.initial
        })
    }

    pub(super) fn field(&mut self) -> Option<&mut TextField> {
        self.fields.get_mut(self.focused).map(|f| &mut f.value)
    }

    pub(super) fn after_typing(&mut self) {
        if let Some(f) = self.fields.get_mut(self.focused) {
            f.error = None;
        }
    }

    pub fn move_focus(&mut self, delta: isize) {
        let n = self.fields.len() as isize;
        self.focused = (self.focused as isize + delta).rem_euclid(n) as usize;
    }

    /// ←/→ on a field with choices: the next or previous choice. False elsewhere.
    pub fn cycle(&mut self, delta: isize) -> bool {
        let Some(f) = self.fields.get_mut(self.focused) else {
            return false;
        };
        if f.choices.is_empty() {
            return false;
        }
        let n = f.choices.len() as isize;
        let at = f
            .choices
            .iter()
            .position(|c| c.eq_ignore_ascii_case(f.value.text().trim()))
            .map_or(if delta > 0 { -1 } else { 0 }, |i| i as isize);
        f.value = TextField::new(f.choices[(at + delta).rem_euclid(n) as usize]);
        f.error = None;
        true
    }

    pub(super) fn text(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", |f| f.value.text().trim())
    }

    pub(super) fn fail(&mut self, i: usize, message: String) {
        if let Some(f) = self.fields.get_mut(i) {
            f.error = Some(message);
        }
    }

    pub fn error_count(&self) -> usize {
        self.fields.iter().filter(|f| f.error.is_some()).count()
    }

    /// The record to write, or the messages under the bad fields (focus on the first).
    /// `existing` is the list entry a stop or a correction changes.
    pub fn submit(
        &mut self,
        id: RecordId,
        now: Timestamp,
        existing: Option<&crate::model::ListEntry>,
    ) -> Option<Record> {
        for f in &mut self.fields {
            f.error = None;
        }
        let record = match self.purpose.clone() {
            FormPurpose::ListAdd
            | FormPurpose::ListStop { .. }
            | FormPurpose::ListCorrect { .. } => self.submit_list(id, now, existing),
            FormPurpose::SafetyFollowUp { measure } => {
                let risk = RiskLevel::parse(self.text(0));
                if risk.is_none() {
                    self.fail(0, "choose the risk assessed: low, moderate or high".into());
                }
                if self.text(1).is_empty() {
                    self.fail(1, "write the plan agreed".into());
                }
                if self.text(2).is_empty() {
                    self.fail(2, "name who assessed the risk".into());
                }
                risk.map(|risk| {
                    Record::SafetyFollowUp(SafetyFollowUp {
                        id,
                        patient: self.patient.clone(),
                        at: now,
                        risk,
                        plan: self.text(1).to_string(),
                        by: self.text(2).to_string(),
                        measure,
                    })
                })
            }
            FormPurpose::Course => {
                let kind = CourseKind::parse(self.text(0));
                if kind.is_none() {
                    self.fail(0, "choose induction, re-induction or maintenance".into());
                }
                let planned = match self.text(1) {
                    "" => None,
                    t => match t.parse::<u32>() {
                        Ok(n) if (1..=52).contains(&n) => Some(n),
                        _ => {
                            self.fail(1, format!("{t:?}: a number of sessions, 1 to 52"));
                            None
                        }
                    },
                };
                if self.text(3).is_empty() {
                    self.fail(3, "name who started the course".into());
                }
                kind.map(|kind| {
                    Record::Course(Course {
                        id,
                        patient: self.patient.clone(),
                        at: now,
                        kind,
                        by: self.text(3).to_string(),
                        planned_sessions: if kind == CourseKind::Maintenance {
                            None
                        } else {
                            planned
                        },
                        reason: self.text(2).to_string(),
                    })
                })
            }
        };
        if let Some(i) = self.fields.iter().position(|f| f.error.is_some()) {
            self.focused = i;
            return None;
        }
        record
    }
}

pub(super) fn field(
    label: &'static str,
    value: &str,
    choices: &'static [&'static str],
    hint: &'static str,
) -> FormField {
    FormField {
        label,
        value: TextField::new(value),
        choices,
        hint,
        error: None,
        initial: value.to_owned(),
    }
}

impl App {
    /// Quit from a form: with something typed in it, the first press warns and a second quits.
    pub(super) fn quit_from_form(&mut self, dirty: bool) {
        if dirty && !self.quit_armed {
            self.quit_armed = true;
            let save = self.key_hint(KeyContext::Popup, Action::PopupConfirm);
            self.say_error(format!(
                "This form is not saved: {save} saves it; quit again to leave without it"
            ));
        } else {
            self.request_quit();
        }
    }

    /// The clinician named in config.toml, else empty (the form then asks).
    pub(super) fn clinician_name(&self) -> String {
        self.settings.clinician.clone().unwrap_or_default()
    }

    /// `f` on a Today row of an item-9 answer: the safety follow-up form for it.
    pub(super) fn open_safety_follow_up(&mut self) {
        use crate::model::today::TodayItem;
        let row = match &self.view {
            Some(super::views::View::Today(t)) => t.selected().cloned(),
            _ => None,
        };
        let Some(row) = row else {
            self.say_error("Nothing selected: choose a PHQ-9 item 9 row in Today".into());
            return;
        };
        let TodayItem::SelfHarmFollowUp {
            measure,
            at,
            item9,
            total,
        } = &row.item
        else {
            self.say_error(
                "A safety follow-up answers a PHQ-9 item 9 row: select one in the first group"
                    .into(),
            );
            return;
        };
        let about = format!(
            "Answers PHQ-9 {total} · ITEM 9 = {item9} of {}",
            super::detail::when(*at, &self.settings.time_zone)
        );
        let form = RecordForm::safety(
            row.patient.clone(),
            row.patient_name.clone(),
            Some(measure.clone()),
            about,
            &self.clinician_name(),
        );
        self.popup = Some(Popup::Record(Box::new(form)));
    }

    /// `n` in the Course view: start a course for the open patient, a re-induction offered
    /// first once the patient has had a course.
    pub(super) fn open_course_start(&mut self) {
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        let now = self.now();
        let tz = self.settings.time_zone.clone();
        let courses = crate::model::course::courses(&v.records, self.settings.reinduction_gap, &tz);
        let (kind, about) = match courses.last() {
            None => (CourseKind::Induction, "The first course".to_string()),
            Some(c) => (
                CourseKind::Reinduction,
                match crate::model::course::suggestion(
                    &courses,
                    self.settings.reinduction_gap,
                    now,
                    &tz,
                ) {
                    Some(s) => format!("Course {} under way; {s}", c.number),
                    None => format!("Course {} under way ({})", c.number, c.kind.label()),
                },
            ),
        };
        let planned = self.induction_sessions(&v.records);
        let form = RecordForm::course(
            v.records.patient.id.clone(),
            v.records.patient.name.clone(),
            kind,
            about,
            planned,
            &self.clinician_name(),
        );
        self.popup = Some(Popup::Record(Box::new(form)));
    }

    /// Keys the keymap left unbound in the form: ←/→ on a field with choices.
    pub(super) fn record_form_key(&mut self, key: KeyEvent) -> bool {
        let Some(Popup::Record(f)) = self.popup.as_mut() else {
            return false;
        };
        match key.code {
            KeyCode::Left => f.cycle(-1),
            KeyCode::Right => f.cycle(1),
            _ => false,
        }
    }

    pub(super) fn update_record_form(&mut self, action: Action) {
        let Some(Popup::Record(f)) = self.popup.as_mut() else {
            return;
        };
        match action {
            Action::FieldNext | Action::MoveDown => f.move_focus(1),
            Action::FieldPrev | Action::MoveUp => f.move_focus(-1),
            Action::PopupConfirm => self.save_record_form(),
            Action::PopupClose => {
                let dirty = f.is_dirty();
                self.popup = None;
                if dirty {
                    self.say("Closed without saving".into());
                }
            }
            Action::Quit => {
                let dirty = f.is_dirty();
                self.quit_from_form(dirty);
            }
            other => self.say_error(format!("{} does nothing here", other.name())),
        }
    }

    fn save_record_form(&mut self) {
        let now = self.now();
        let id = RecordId::from_uuid(self.ids.next(now));
        let Some(Popup::Record(f)) = self.popup.as_mut() else {
            return;
        };
        let existing = match &f.purpose {
            FormPurpose::ListStop { entry } | FormPurpose::ListCorrect { entry } => self
                .patient
                .as_ref()
                .and_then(|v| v.records.lists.iter().find(|l| &l.id == entry)),
            _ => None,
        };
        let Some(Popup::Record(f)) = self.popup.as_mut() else {
            return;
        };
        let Some(record) = f.submit(id, now, existing) else {
            let n = f.error_count();
            self.say_error(format!(
                "{n} field{} to fix before saving",
                if n == 1 { "" } else { "s" }
            ));
            return;
        };
        let (patient, name) = (f.patient.clone(), f.patient_name.clone());
        let what = match &record {
            Record::SafetyFollowUp(s) => format!(
                "Safety follow-up saved for {name} (risk {})",
                s.risk.as_str()
            ),
            Record::Course(c) => format!("{name}: {} started", c.kind.label()),
            Record::ListEntry(l) => super::list_form::saved_words(l, &f.purpose, &name),
            _ => "Saved".to_string(),
        };
        // The form stays open with everything typed if the write fails.
        if let Err(e) = self.write(record) {
            self.say_error(format!("Not saved: {e:#}"));
            return;
        }
        self.popup = None;
        if self.patient_is(&patient) {
            self.refresh_patient();
        }
        // Today is read again, so the answered row leaves the list at once.
        if matches!(self.view, Some(super::views::View::Today(_))) {
            self.view = None;
            self.toggle_today();
        }
        self.say(what);
    }
}

/// A small form that writes one record. Every action goes to `App::update_record_form`; the
/// arrows choose in a choice field (`App::record_form_key`).
impl super::component::Component for RecordForm {
    fn mode(&self) -> &'static str {
        match self.purpose {
            FormPurpose::SafetyFollowUp { .. } => "SAFETY",
            FormPurpose::Course => "COURSE",
            FormPurpose::ListAdd
            | FormPurpose::ListStop { .. }
            | FormPurpose::ListCorrect { .. } => "LIST",
        }
    }
    fn hints(&self) -> &'static [Action] {
        super::component::FORM_HINTS
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        (action == Action::PopupConfirm).then_some("save")
    }
    fn field(&mut self) -> Option<&mut TextField> {
        RecordForm::field(self)
    }
    fn after_typing(&mut self) {
        RecordForm::after_typing(self)
    }
}
