//! The session console: one dosing session, full screen, for the therapist sitting with the
//! patient. One key opens a one-line input (an observation, vitals, a rating), Enter stores it
//! stamped with the time since dose and returns, Esc keeps the text as a draft. Every entry is
//! written to the store at once without waiting for the disk: the flush to disk happens on the
//! next tick (at most 250 ms later), so typing never stalls on a slow disk.
//!
//! Ending the session asks, one line at a time: why, when it is before the protocol's minimum
//! observation time; whether transport home is arranged; for REMS sessions, the minute the
//! patient would have been ready to leave without the 2-hour rule. Then the session's note is
//! written from everything recorded and opened in the editor, to be read, completed and signed.

use super::field::TextField;
use super::list::ListCursor;
use super::popup::{Filterable, FilteredList, Popup};
use super::{Action, App, KeyContext, Pane};
use crate::model::monitoring::{self, Thresholds};
use crate::model::session::{
    AdverseResolved, Correction, Discharge, DissociationRating, DoseOverride, DosingSession,
    EntryField, Observation, SedationRating,
};
use crate::model::{Patient, PatientId, Record, RecordId};
use crate::protocols::session_note::dose_text;
use crate::protocols::{DoseCheck, Protocol};
use jiff::Timestamp;

mod correct;
mod ending;
mod parse;
pub use correct::*;
pub use parse::*;

/// What the console's input line is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InputKind {
    Observation,
    /// An adverse event: an observation flagged as such.
    Adverse,
    Vitals,
    Sedation,
    Dissociation,
    Dose,
    Lot,
    /// Why the session ends before the minimum observation time.
    EarlyEndReason,
    /// Is someone taking the patient home? y/n.
    Transport,
    /// At what minute would the patient have been ready to leave without the 2-hour rule.
    ReadyMinutes,
    /// The dose time (T0) as a clock time, when correcting it.
    DoseTime,
    /// Why an entry is corrected (asked after the corrected value is read).
    CorrectionReason,
    /// Why a dose outside the protocol is given (asked after the dose is read).
    DoseOverrideReason,
    /// Transport home not arranged: who collects the patient, or the patient's refusal.
    Collector,
    /// REMS: the concomitant medications by the form's classes, asked at the start.
    Concomitant,
    /// REMS: is this the patient's first esketamine treatment? y/n (when it cannot be worked
    /// out from the record).
    FirstTreatment,
    /// REMS, on a first treatment: is the patient enrolled in the REMS? y/n.
    Enrolled,
}

impl InputKind {
    /// Whether it is one of the questions of ending the session, which Esc cancels.
    pub fn is_ending_question(self) -> bool {
        matches!(
            self,
            InputKind::EarlyEndReason
                | InputKind::Transport
                | InputKind::Collector
                | InputKind::ReadyMinutes
        )
    }

    /// Whether it is one of the REMS form's questions, asked at the start of the session (and
    /// again when signing finds them unanswered).
    pub fn is_rems_question(self) -> bool {
        matches!(
            self,
            InputKind::Concomitant | InputKind::FirstTreatment | InputKind::Enrolled
        )
    }

    /// Whether Esc keeps the text to come back to: the entries of the session. The questions
    /// of ending are asked again from the start.
    pub fn keeps_draft(self) -> bool {
        !matches!(
            self,
            InputKind::EarlyEndReason
                | InputKind::Transport
                | InputKind::ReadyMinutes
                | InputKind::DoseTime
                | InputKind::CorrectionReason
                | InputKind::DoseOverrideReason
                | InputKind::Collector
                | InputKind::Concomitant
                | InputKind::FirstTreatment
                | InputKind::Enrolled
        )
    }
}

/// The one-line input at the bottom of the console.
#[derive(Debug, Clone)]
pub struct ConsoleInput {
    pub kind: InputKind,
    pub field: TextField,
    /// When the line was opened: the time the entry is stamped with.
    pub at: Timestamp,
    /// Why the last Enter was refused; the text stays in the field.
    pub error: Option<String>,
    /// The entry being corrected, when correcting one.
    pub editing: Option<CorrectTarget>,
}

/// A timed entry of the session: which list (or field) and where in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CorrectTarget {
    pub field: EntryField,
    /// The index in its list; 0 for the dose, lot and T0.
    pub index: usize,
}

/// A change read from the line and waiting for its reason before it is stored.
#[derive(Debug, Clone)]
enum Pending {
    /// A corrected entry: the session with the new value, the correction without its reason,
    /// and a dose outside the protocol that the same reason confirms.
    Correction {
        session: DosingSession,
        correction: Correction,
        dose_check: Option<String>,
        back: ConsoleInput,
    },
    /// A dose outside the protocol, waiting for its confirmation.
    DoseOverride {
        session: DosingSession,
        dose: String,
        check: String,
        back: ConsoleInput,
    },
}

/// One entry offered for correction.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectRow {
    pub target: CorrectTarget,
    /// "+40 min  vitals  176/96, HR 84, SpO2 97%".
    pub label: String,
}

impl Filterable for CorrectRow {
    fn haystack(&self) -> String {
        self.label.clone()
    }
}

/// Answers given so far while ending the session.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Ending {
    at: Option<Timestamp>,
    reason: Option<String>,
    transport: Option<bool>,
    /// Without transport: who collects the patient.
    #[serde(default)]
    collected_by: Option<String>,
    /// Without transport: the patient refused it, and what was said.
    #[serde(default)]
    refused: Option<String>,
}

/// One protocol offered when starting a session.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolRow {
    pub id: String,
    pub name: String,
    pub dose: String,
}

impl Filterable for ProtocolRow {
    fn haystack(&self) -> String {
        format!("{} {} {}", self.name, self.id, self.dose)
    }
}

/// "Start a dosing session": the protocols, the one this patient had last first.
#[derive(Debug)]
pub struct ProtocolPicker {
    pub patient: PatientId,
    pub list: FilteredList<ProtocolRow>,
}

/// A running session console.
#[derive(Debug)]
pub struct Console {
    /// The session as last written to the store.
    pub session: DosingSession,
    /// Its protocol profile; when the profile is not installed, the default monitoring for
    /// its medication ([`Protocol::fallback_for`]).
    pub protocol: Protocol,
    /// False when `protocol` is that fallback.
    pub protocol_installed: bool,
    pub patient: Patient,
    pub input: Option<ConsoleInput>,
    /// Lines closed with Esc, by kind, with the time they were opened.
    pub(super) drafts: Vec<(InputKind, String, Timestamp)>,
    /// The selected observation (for correcting one).
    pub observations: ListCursor,
    pub(super) ending: Option<Ending>,
    /// A correction or an out-of-range dose waiting for its reason.
    pending: Option<Pending>,
}

impl Console {
    pub fn thresholds(&self) -> Thresholds {
        self.protocol.thresholds
    }

    /// Minutes since T0 at `at`, if dosed.
    pub fn minutes(&self, at: Timestamp) -> Option<i64> {
        self.session.minutes_since_dose(at)
    }

    pub fn is_rems(&self) -> bool {
        self.protocol.rems
    }

    /// The time label of an entry: `+12 min` after T0, `pre-dose` before, or the clock time
    /// when T0 is not marked.
    pub fn stamp(&self, at: Timestamp, tz: &jiff::tz::TimeZone) -> String {
        match self.minutes(at) {
            Some(m) if m >= 0 => format!("+{m} min"),
            Some(_) => "pre-dose".into(),
            None => at.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
        }
    }

    /// The prompt in front of the input line.
    pub fn prompt(&self, input: &ConsoleInput, tz: &jiff::tz::TimeZone) -> String {
        let stamp = self.stamp(input.at, tz);
        let min = self.thresholds().min_observation_minutes;
        match input.kind {
            _ if input.editing.is_some() && input.kind != InputKind::CorrectionReason => {
                let what = input.editing.map_or("entry", |t| t.field.label());
                format!("correct the {what} (the original stays, struck through)")
            }
            InputKind::DoseTime => "T0 as a clock time, e.g. 14:09 or 14:09:30".into(),
            InputKind::CorrectionReason => match &self.pending {
                Some(Pending::Correction {
                    correction,
                    dose_check,
                    ..
                }) => {
                    let also = dose_check
                        .as_deref()
                        .map_or(String::new(), |c| format!("; {c}"));
                    format!(
                        "why correct {} {} to {}{also}?",
                        correction.field.label(),
                        correction.old,
                        correction.new
                    )
                }
                _ => "why?".into(),
            },
            InputKind::DoseOverrideReason => match &self.pending {
                Some(Pending::DoseOverride { dose, check, .. }) => {
                    format!("{dose}: {check}. Give it anyway? Type why")
                }
                _ => "why?".into(),
            },
            InputKind::Observation => format!("{stamp}  observation"),
            InputKind::Adverse => format!("{stamp}  ADVERSE EVENT"),
            InputKind::Vitals => format!("{stamp}  vitals: BP HR SpO2, e.g. 128/84 76 98"),
            InputKind::Sedation => format!("{stamp}  MOAA/S 0-5"),
            InputKind::Dissociation => format!("{stamp}  dissociation, e.g. CADSS 12"),
            InputKind::Dose => {
                let s = &self.session;
                let now = match (s.dose_in_mg(), s.dose_mg_per_kg) {
                    (Some(mg), Some(k)) => format!(" (now {k} mg/kg = {mg} mg)"),
                    (Some(mg), None) => format!(" (now {mg} mg)"),
                    _ => String::new(),
                };
                format!("dose{now}: mg (e.g. 56) or mg/kg (e.g. 0.5 mg/kg)")
            }
            InputKind::Lot => match &self.session.lot {
                Some(lot) => format!("lot number (now {lot})"),
                None => "lot number".into(),
            },
            InputKind::EarlyEndReason => {
                format!("ending before {min} minutes of observation: why?")
            }
            InputKind::Transport => "transport home arranged (not driving today)? y/n".into(),
            InputKind::Collector => {
                "no transport arranged: who collects the patient? (a name; or refused: what the patient said)"
                    .into()
            }
            InputKind::Concomitant => format!(
                "REMS: concomitant medications? none, or the classes taken ({}), then : and names",
                crate::model::ConcomitantMedications::words_hint()
            ),
            InputKind::FirstTreatment => {
                "REMS: is this the patient's first esketamine treatment? y/n".into()
            }
            InputKind::Enrolled => {
                "REMS: first treatment: is the patient enrolled in the REMS? y/n".into()
            }
            InputKind::ReadyMinutes => {
                "minute the patient would have been ready to leave without the 2-hour rule (blank: not recorded)"
                    .into()
            }
        }
    }
}

/// Whether `s` is the first session of the patient's course: its number is 1. (Courses and
/// re-inductions are counted by `DosingSession::number`, which a new session gets from the
/// patient's sessions so far.)
fn first_of_course(s: &DosingSession) -> bool {
    s.number == Some(1)
}

impl App {
    /// `s`: the patient's open session (dosed or not, not yet discharged) again, or a new one.
    pub(super) fn start_or_resume_session(&mut self) {
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        if let Some(open) = v
            .records
            .sessions
            .iter()
            .rev()
            .find(|s| s.discharge.is_none() && !s.is_signed())
            .cloned()
        {
            let patient = v.records.patient.clone();
            let booked = open.dose_time.is_none()
                && open.vitals.is_empty()
                && open.observations.is_empty()
                && open.sedation.is_empty();
            let tz = self.settings.time_zone.clone();
            let clock = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
            let at = open
                .at
                .to_zoned(tz.clone())
                .strftime("%a %-d %b %H:%M")
                .to_string();
            let now = self.now();
            let mut open = open;
            // A booked session starts now: it records when it really started, and keeps the
            // booking beside it (so the chart never shows it after its own signature).
            let moved = booked && open.booked_at().is_none() && open.at != now;
            // A REMS session booked outside the console: whether it is the first treatment.
            let rems = self
                .settings
                .protocols
                .for_session(&open)
                .is_some_and(|p| p.rems)
                || crate::protocols::is_rems_session(&open, None);
            let unknown = rems
                && open.dose_time.is_none()
                && open
                    .rems
                    .as_ref()
                    .is_none_or(|a| a.first_treatment.is_none());
            if unknown {
                self.work_out_first_treatment(&mut open);
            }
            if moved || unknown {
                if moved {
                    open.amendments_mut().booked_at = Some(open.at);
                    open.at = now;
                }
                if let Err(e) = self.write_session(&open) {
                    self.say_error(format!("The session could not be started: {e:#}"));
                    return;
                }
                self.refresh_patient();
            }
            let started = clock(open.at);
            self.open_console(open, patient);
            self.say(if moved {
                format!("The session booked for {at} starts now, at {started}; the booking stays in the record")
            } else if booked {
                format!("The session booked for {at}: nothing recorded yet")
            } else {
                "Back in the session console: the session is still open".into()
            });
            self.ask_next_rems_question();
            return;
        }
        if self.settings.protocols.is_empty() {
            self.say_error("No protocol profiles are installed".into());
            return;
        }
        let last = v
            .records
            .sessions
            .iter()
            .rev()
            .find_map(|s| s.protocol.clone());
        let mut rows: Vec<ProtocolRow> = self
            .settings
            .protocols
            .iter()
            .map(|l| &l.protocol)
            .map(|p| ProtocolRow {
                id: p.id.clone(),
                name: p.name.clone(),
                dose: format!("{} {} {}", p.medication, p.dose.label(), p.route.label()),
            })
            .collect();
        // First the protocol of the patient's last session; failing that, the one their tags
        // name best (a patient tagged "esketamine" gets the esketamine profile first).
        let tags: Vec<String> = v
            .records
            .patient
            .tags
            .iter()
            .flat_map(|t| words(t))
            .collect();
        let score = |r: &ProtocolRow| {
            words(&format!("{} {}", r.id, r.dose))
                .iter()
                .filter(|w| tags.contains(w))
                .count()
        };
        let first = last
            .and_then(|last| rows.iter().position(|r| r.id == last))
            .or_else(|| {
                let best = rows.iter().map(score).max().unwrap_or(0);
                (best > 0).then(|| rows.iter().position(|r| score(r) == best))?
            });
        if let Some(i) = first {
            rows[..=i].rotate_right(1);
        }
        let patient = v.records.patient.id.clone();
        // After a long gap, say so before the first dose of what may be a new course.
        let suggestion = crate::model::course::suggestion(
            &crate::model::course::courses(
                &v.records,
                self.settings.reinduction_gap,
                &self.settings.time_zone,
            ),
            self.settings.reinduction_gap,
            self.now(),
            &self.settings.time_zone,
        );
        self.popup = Some(Popup::Protocols(ProtocolPicker {
            patient,
            list: FilteredList::new(rows, self.size),
        }));
        if let Some(s) = suggestion {
            self.say(format!(
                "{s}: Esc, then {} and {} start one first",
                self.key_hint(KeyContext::Timeline, Action::ViewCourse),
                self.key_hint(KeyContext::Course, Action::CourseStart)
            ));
        }
    }

    /// Sets whether `s` is the patient's first esketamine treatment: no other esketamine
    /// session of theirs was dosed.
    fn work_out_first_treatment(&self, s: &mut DosingSession) {
        let earlier = self.patient.as_ref().is_some_and(|v| {
            v.records.sessions.iter().any(|o| {
                o.id != s.id && o.dose_time.is_some() && crate::protocols::is_rems_session(o, None)
            })
        });
        s.rems_mut().first_treatment = Some(!earlier);
    }

    /// Creates the session from the chosen protocol, writes it, and opens the console.
    pub(super) fn start_session(&mut self) {
        let Some(Popup::Protocols(p)) = self.popup.as_ref() else {
            return;
        };
        let Some(row) = p.list.selected().cloned() else {
            self.say_error("No protocol matches".into());
            return;
        };
        let Some(protocol) = self.settings.protocols.get(&row.id).cloned() else {
            self.say_error(format!("Protocol {} is no longer loaded", row.id));
            return;
        };
        let Some(patient) = self.current_patient() else {
            return;
        };
        let now = self.now();
        // Numbered within the current course: a re-induction starts again at 1.
        let number = self.patient.as_ref().map_or(1, |v| {
            crate::model::course::next_session_number(
                &v.records,
                self.settings.reinduction_gap,
                &self.settings.time_zone,
            )
        });
        let id = RecordId::from_uuid(self.ids.next(now));
        let mut session = protocol.start_session(id, &patient, Some(number), now);
        if protocol.rems {
            self.work_out_first_treatment(&mut session);
        }
        let said = match session.dose_in_mg() {
            Some(_) => Ok(format!("Dose {}", dose_text(&session))),
            None => Err(NO_WEIGHT.to_string()),
        };
        if let Err(e) = self.write_session(&session) {
            self.say_error(format!("The session could not be started: {e:#}"));
            return;
        }
        self.popup = None;
        self.refresh_patient();
        self.open_console(session, patient);
        match said {
            Ok(dose) => self.say(format!(
                "{} started. {dose} (the protocol's usual dose; {} changes it)",
                protocol.name,
                self.key_hint(KeyContext::Console, Action::SessionDose)
            )),
            Err(why) => self.say_error(format!("{} started; {why}", protocol.name)),
        }
        self.ask_next_rems_question();
    }

    pub(super) fn open_console(&mut self, session: DosingSession, patient: Patient) {
        let installed = self.settings.protocols.for_session(&session).cloned();
        let protocol_installed = installed.is_some();
        let protocol = installed.unwrap_or_else(|| Protocol::fallback_for(&session));
        let mut observations = ListCursor::default();
        let n = session.observations.len();
        observations.bottom(n, n.max(1));
        self.console = Some(Console {
            session,
            protocol,
            protocol_installed,
            patient,
            input: None,
            drafts: Vec::new(),
            observations,
            ending: None,
            pending: None,
        });
    }

    /// Writes the session and its audit entry; the flush to disk waits for the next tick.
    fn write_session(&mut self, s: &DosingSession) -> anyhow::Result<()> {
        self.write_unflushed(vec![Record::Session(s.clone())])
    }

    /// Stores a changed copy of the console's session; on failure the console keeps the old one
    /// and the caller keeps what was typed.
    fn commit_session(&mut self, s: DosingSession) -> Result<(), String> {
        match self.write_session(&s) {
            Ok(()) => {
                let h = self.console_list_height();
                if let Some(c) = self.console.as_mut() {
                    let n = s.observations.len();
                    let added = n > c.session.observations.len();
                    c.session = s;
                    // A new observation is selected, so `e` corrects what was just written.
                    if added || c.observations.selected >= n {
                        c.observations.bottom(n, h);
                    }
                }
                Ok(())
            }
            Err(e) => Err(format!("NOT saved, kept in the line: {e:#}")),
        }
    }

    /// Says why nothing can be entered or corrected any more.
    fn say_signed(&mut self) {
        self.say_error("This session is signed and final".into());
    }

    /// Opens the console's line on `kind`, as its key does.
    pub(super) fn open_console_line(&mut self, kind: InputKind) {
        self.open_input(kind);
    }

    fn open_input(&mut self, kind: InputKind) {
        let now = self.now();
        let Some(c) = self.console.as_mut() else {
            return;
        };
        if c.session.is_signed() {
            return self.say_signed();
        }
        // Once the dose is given, a changed dose or lot is a correction of the record.
        let recorded = match kind {
            InputKind::Dose => c.session.dose_in_mg().is_some(),
            InputKind::Lot => c.session.lot.is_some(),
            _ => false,
        };
        if recorded && c.session.dose_time.is_some() {
            let field = if kind == InputKind::Dose {
                EntryField::Dose
            } else {
                EntryField::Lot
            };
            // A draft typed before T0 comes back as the corrected value.
            let draft = c
                .drafts
                .iter()
                .position(|d| d.0 == kind)
                .map(|i| c.drafts.remove(i).1);
            self.open_correction(CorrectTarget { field, index: 0 });
            if let Some(text) = draft
                && let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut())
            {
                i.field = TextField::new(&text);
            }
            return;
        }
        let (text, at) = match c.drafts.iter().position(|d| d.0 == kind) {
            Some(i) => {
                let (_, t, at) = c.drafts.remove(i);
                (t, at)
            }
            None => (String::new(), now),
        };
        c.input = Some(ConsoleInput {
            kind,
            field: TextField::new(&text),
            at,
            error: None,
            editing: None,
        });
    }

    /// `r`: the selected observation, an adverse event, is marked resolved; its live flag
    /// clears and it stays in the record.
    fn resolve_adverse(&mut self) {
        let now = self.now();
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let tz = self.settings.time_zone.clone();
        let Some(c) = self.console.as_ref() else {
            return;
        };
        if c.session.is_signed() {
            return self.say_signed();
        }
        let Some(o) = c.session.observations.get(c.observations.selected) else {
            self.say_error("Select the adverse event first".into());
            return;
        };
        if !o.adverse {
            self.say_error("The selected observation is not an adverse event".into());
            return;
        }
        if c.session
            .adverse_resolved()
            .iter()
            .any(|r| r.event_at == o.at)
        {
            self.say_error("This adverse event is already marked resolved".into());
            return;
        }
        let stamp = c.stamp(o.at, &tz);
        let mut s = c.session.clone();
        s.amendments_mut().adverse_resolved.push(AdverseResolved {
            event_at: o.at,
            by: who.clone(),
            at: now,
        });
        match self.commit_session(s) {
            Ok(()) => self.say(format!(
                "The adverse event at {stamp} is marked resolved by {who}; it stays in the record"
            )),
            Err(e) => self.say_error(e),
        }
    }

    /// Esc on the input line: an entry's text is kept as a draft; a question of ending
    /// cancels the ending.
    fn close_input(&mut self) {
        let Some(c) = self.console.as_mut() else {
            return;
        };
        let Some(input) = c.input.take() else {
            return;
        };
        if matches!(
            input.kind,
            InputKind::CorrectionReason | InputKind::DoseOverrideReason
        ) {
            if let Some(Pending::Correction { back, .. } | Pending::DoseOverride { back, .. }) =
                c.pending.take()
            {
                c.input = Some(back);
            }
            self.say("Not stored: change the value, or Esc again to leave it as it was".into());
            return;
        }
        if input.editing.is_some() {
            self.say("Not corrected: the entry stays as it was".into());
            return;
        }
        if c.ending.take().is_some() {
            self.say("Not ended: the session goes on".into());
            return;
        }
        let text = input.field.text().to_string();
        if input.kind.keeps_draft() && input.editing.is_none() && !text.trim().is_empty() {
            c.drafts.push((input.kind, text, input.at));
            self.say("Kept as a draft: the same key brings it back".into());
        }
    }

    /// Enter on the input line: parse, store, close; or say why not and keep the text. A
    /// correction, or a dose outside the protocol, first asks why.
    fn confirm_input(&mut self) {
        let Some(c) = self.console.as_ref() else {
            return;
        };
        let Some(input) = c.input.clone() else {
            return;
        };
        let text = input.field.text().trim().to_string();
        if matches!(
            input.kind,
            InputKind::CorrectionReason | InputKind::DoseOverrideReason
        ) {
            self.confirm_reason(text);
            return;
        }
        if let Some(target) = input.editing {
            self.read_correction(input, target, &text);
            return;
        }
        let mut s = c.session.clone();
        let weight = c.patient.weight_kg;
        let mut said = None;
        let outcome: Result<(), String> = match input.kind {
            InputKind::Observation | InputKind::Adverse => {
                if text.is_empty() {
                    Err("type what you observed, or Esc".into())
                } else {
                    s.observations.push(Observation {
                        at: input.at,
                        text: text.clone(),
                        adverse: input.kind == InputKind::Adverse,
                    });
                    s.observations.sort_by_key(|o| o.at);
                    Ok(())
                }
            }
            InputKind::Vitals => match crate::model::vitals_syntax::parse_vitals(&text, input.at) {
                Ok(v) => {
                    s.vitals.push(v);
                    s.vitals.sort_by_key(|v| v.at);
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            },
            InputKind::Sedation => parse_moaas(&text).map(|moaas| {
                s.sedation.push(SedationRating {
                    at: input.at,
                    moaas,
                });
                s.sedation.sort_by_key(|r| r.at);
            }),
            InputKind::Dissociation => parse_dissociation(&text).map(|(scale, total)| {
                s.dissociation.push(DissociationRating {
                    at: input.at,
                    scale,
                    total,
                });
                s.dissociation.sort_by_key(|r| r.at);
            }),
            InputKind::Dose => match parse_dose(&text).and_then(|d| set_dose(&mut s, d, weight)) {
                Err(e) => Err(e),
                Ok(msg) => match self.dose_check(&s) {
                    DoseCheck::Usual => {
                        said = Some(msg);
                        Ok(())
                    }
                    DoseCheck::Refuse(why) => Err(why),
                    DoseCheck::Confirm(check) => {
                        self.ask_why(Pending::DoseOverride {
                            dose: dose_text(&s),
                            session: s,
                            check,
                            back: input,
                        });
                        return;
                    }
                },
            },
            InputKind::Lot => {
                s.lot = (!text.is_empty()).then(|| text.clone());
                Ok(())
            }
            InputKind::EarlyEndReason => {
                if text.is_empty() {
                    Err("a reason is required to end early".into())
                } else {
                    return self.next_ending_step(|e| e.reason = Some(text));
                }
            }
            InputKind::Transport => match parse_yes_no(&text) {
                Ok(yes) => return self.next_ending_step(|e| e.transport = Some(yes)),
                Err(e) => Err(e),
            },
            InputKind::Collector => match parse_collector(&text) {
                Ok(Collector::By(who)) => {
                    return self.next_ending_step(|e| e.collected_by = Some(who));
                }
                Ok(Collector::Refused(why)) => {
                    return self.next_ending_step(|e| e.refused = Some(why));
                }
                Err(e) => Err(e),
            },
            InputKind::ReadyMinutes if c.ending.is_none() => {
                // Asked again after discharge, when signing found it missing.
                match (parse_ready_minutes(&text), s.discharge.as_mut()) {
                    (Ok(Some(m)), Some(d)) => {
                        d.ready_minutes = Some(m);
                        said = Some(format!("Ready to leave at {m} minutes: stored"));
                        Ok(())
                    }
                    (Ok(None), _) => Err("type the minute, e.g. 90".into()),
                    (Err(e), _) => Err(e),
                    (_, None) => Err("the session has not ended yet".into()),
                }
            }
            InputKind::ReadyMinutes => match parse_ready_minutes(&text) {
                Ok(m) => {
                    self.finish_ending(m);
                    return;
                }
                Err(e) => Err(e),
            },
            InputKind::Concomitant => match crate::model::ConcomitantMedications::parse(&text) {
                Ok(m) => {
                    said = Some(if m.classes.is_empty() {
                        "Concomitant medications: none of the REMS form's classes".to_owned()
                    } else {
                        format!(
                            "Concomitant medications: {}",
                            m.classes
                                .iter()
                                .map(|c| c.label())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    s.rems_mut().concomitant = Some(m);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            InputKind::FirstTreatment => parse_yes_no(&text).map(|yes| {
                s.rems_mut().first_treatment = Some(yes);
                said = Some(format!("First esketamine treatment: {}", yes_no(yes)));
            }),
            InputKind::Enrolled => parse_yes_no(&text).map(|yes| {
                s.rems_mut().enrolled = Some(yes);
                said = Some(format!("Enrolled in the REMS: {}", yes_no(yes)));
            }),
            InputKind::DoseTime | InputKind::CorrectionReason | InputKind::DoseOverrideReason => {
                Err("nothing to correct here: Esc closes the line".into())
            }
        };
        let outcome = outcome.and_then(|()| self.commit_session(s));
        match outcome {
            Ok(()) => {
                if let Some(c) = self.console.as_mut() {
                    c.input = None;
                }
                let stamp = self
                    .console
                    .as_ref()
                    .map(|c| c.stamp(input.at, &self.settings.time_zone))
                    .unwrap_or_default();
                let what = match input.kind {
                    InputKind::Observation => "Observation stored",
                    InputKind::Adverse => "Adverse event stored",
                    InputKind::Vitals => "Vitals stored",
                    InputKind::Sedation => "MOAA/S stored",
                    InputKind::Dissociation => "Dissociation score stored",
                    _ => "Stored",
                };
                self.say(said.unwrap_or_else(|| format!("{what} at {stamp}")));
                if input.kind.is_rems_question() {
                    self.ask_next_rems_question();
                }
            }
            Err(e) => self.input_error(e),
        }
    }

    /// Opens the line on the next unanswered REMS question of the console's session (the
    /// concomitant medications, whether it is the first treatment, enrolment), if any.
    pub(super) fn ask_next_rems_question(&mut self) {
        let now = self.now();
        let Some(c) = self.console.as_ref() else {
            return;
        };
        if !c.is_rems() || c.session.is_signed() || c.input.is_some() {
            return;
        }
        let a = c.session.rems.as_deref().cloned().unwrap_or_default();
        // In the form's order.
        let kind = if a.first_treatment.is_none() {
            InputKind::FirstTreatment
        } else if a.first_treatment == Some(true) && a.enrolled.is_none() {
            InputKind::Enrolled
        } else if a.concomitant.is_none() {
            InputKind::Concomitant
        } else {
            return;
        };
        // The medication list answers the medications question: its answer is offered in the
        // line, for the clinician to check and store with Enter (or change).
        let offered = match (kind, &self.patient) {
            (InputKind::Concomitant, Some(v))
                if v.records.patient.id == c.session.patient
                    && v.records
                        .lists
                        .iter()
                        .any(|l| l.list == crate::model::lists::ListKind::Medication) =>
            {
                let day = now.to_zoned(self.settings.time_zone.clone()).date();
                crate::model::lists::rems_concomitant(&v.records, day).as_typed()
            }
            _ => String::new(),
        };
        if let Some(c) = self.console.as_mut() {
            c.input = Some(ConsoleInput {
                kind,
                field: TextField::new(&offered),
                at: now,
                error: None,
                editing: None,
            });
        }
    }

    fn input_error(&mut self, e: String) {
        if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
            i.error = Some(e);
        }
    }

    /// The dose on `s` against the console's protocol.
    fn dose_check(&self, s: &DosingSession) -> DoseCheck {
        match self.console.as_ref() {
            Some(c) => c
                .protocol
                .check_dose(s, c.patient.weight_kg, first_of_course(s)),
            None => DoseCheck::Usual,
        }
    }

    /// Holds `pending` and turns the line into the question "why?".
    fn ask_why(&mut self, pending: Pending) {
        let Some(c) = self.console.as_mut() else {
            return;
        };
        let (kind, back) = match &pending {
            Pending::Correction { back, .. } => (InputKind::CorrectionReason, back),
            Pending::DoseOverride { back, .. } => (InputKind::DoseOverrideReason, back),
        };
        c.input = Some(ConsoleInput {
            kind,
            field: TextField::default(),
            at: back.at,
            error: None,
            editing: back.editing,
        });
        c.pending = Some(pending);
    }

    /// Enter on "why?": the held change is stored with who, when and why.
    fn confirm_reason(&mut self, why: String) {
        let now = self.now();
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        if why.is_empty() {
            self.input_error(format!(
                "type why (it is kept with your name, {who}), or Esc to change the value"
            ));
            return;
        }
        let Some(pending) = self.console.as_mut().and_then(|c| c.pending.take()) else {
            self.input_error(
                "the change this reason was for is no longer held: Esc, then enter it again".into(),
            );
            return;
        };
        let (session, said) = match pending.clone() {
            Pending::Correction {
                mut session,
                mut correction,
                dose_check,
                ..
            } => {
                correction.why = why.clone();
                correction.by = who.clone();
                correction.at = now;
                if let Some(check) = dose_check {
                    let dose = dose_text(&session);
                    session.amendments_mut().dose_overrides.push(DoseOverride {
                        dose,
                        check,
                        why: why.clone(),
                        by: who.clone(),
                        at: now,
                    });
                }
                let said = format!(
                    "Corrected the {} ({} → {}); the original stays, struck through",
                    correction.field.label(),
                    crate::text_safety::one_line(&correction.old),
                    crate::text_safety::one_line(&correction.new)
                );
                session.amendments_mut().corrections.push(correction);
                (session, said)
            }
            Pending::DoseOverride {
                mut session,
                dose,
                check,
                ..
            } => {
                let said = format!("Dose {dose}, outside the protocol, confirmed by {who}");
                session.amendments_mut().dose_overrides.push(DoseOverride {
                    dose,
                    check,
                    why,
                    by: who,
                    at: now,
                });
                (session, said)
            }
        };
        match self.commit_session(session) {
            Ok(()) => {
                if let Some(c) = self.console.as_mut() {
                    c.input = None;
                }
                self.say(said);
            }
            Err(e) => {
                if let Some(c) = self.console.as_mut() {
                    c.pending = Some(pending);
                }
                self.input_error(e);
            }
        }
    }

    fn mark_dose(&mut self) {
        let now = self.now();
        let Some(c) = self.console.as_ref() else {
            return;
        };
        if let Some(t0) = c.session.dose_time {
            let at = t0
                .to_zoned(self.settings.time_zone.clone())
                .strftime("%H:%M:%S");
            self.say_error(format!("T0 is already marked at {at}"));
            return;
        }
        if c.session.is_signed() {
            return self.say_signed();
        }
        let mut s = c.session.clone();
        s.dose_time = Some(now);
        let mut warn = Vec::new();
        if s.dose_in_mg().is_none() {
            warn.push("no dose recorded");
        }
        if s.lot.is_none() {
            warn.push("no lot number");
        }
        if !s.vitals.iter().any(|v| v.at <= now && v.bp().is_some()) {
            warn.push("no pre-dose BP");
        }
        match self.commit_session(s) {
            Ok(()) => {
                let at = now
                    .to_zoned(self.settings.time_zone.clone())
                    .strftime("%H:%M:%S");
                if warn.is_empty() {
                    self.say(format!("T0 marked at {at}"));
                } else {
                    self.say_error(format!(
                        "T0 marked at {at}; still missing: {}",
                        warn.join(", ")
                    ));
                }
            }
            Err(e) => self.say_error(format!("T0 {e}")),
        }
    }

    /// Lines typed but not entered (the open one and Esc drafts) are stored as observations
    /// marked as drafts, so that leaving or quitting never drops them; they can be corrected
    /// until the session is signed. False if they could not be written.
    pub(super) fn keep_unsent_lines(&mut self) -> bool {
        let Some(c) = self.console.as_mut() else {
            return true;
        };
        let mut lines = std::mem::take(&mut c.drafts);
        let tz = self.settings.time_zone.clone();
        let pending = c.pending.take();
        if let Some(i) = c.input.take() {
            // A correction waiting for its reason is kept as the value and the reason so far.
            let (i, why) = match pending {
                Some(Pending::Correction { back, .. } | Pending::DoseOverride { back, .. }) => {
                    (back, Some(i.field.text().trim().to_string()))
                }
                None => (i, None),
            };
            let text = i.field.text().to_string();
            let unchanged = i.editing.is_some_and(|t| {
                entry_input_text(&c.session, t, &tz).is_some_and(|now| now == text.trim())
            });
            let text = match (i.editing, why) {
                (Some(t), why) => format!(
                    "correction of the {}: {}{}",
                    t.field.label(),
                    text.trim(),
                    why.filter(|w| !w.is_empty())
                        .map_or(String::new(), |w| format!("; why: {w}"))
                ),
                (None, Some(why)) if !why.is_empty() => format!("{}; why: {why}", text.trim()),
                _ => text,
            };
            if !unchanged
                && !matches!(
                    i.kind,
                    InputKind::Transport
                        | InputKind::ReadyMinutes
                        | InputKind::FirstTreatment
                        | InputKind::Enrolled
                )
            {
                lines.push((i.kind, text, i.at));
            }
        }
        c.ending = None;
        lines.retain(|(_, t, _)| !t.trim().is_empty());
        if lines.is_empty() {
            return true;
        }
        let mut s = c.session.clone();
        for (kind, text, at) in &lines {
            let what = match kind {
                InputKind::Observation | InputKind::Adverse => "draft, not entered",
                InputKind::Vitals => "draft vitals, not entered",
                InputKind::Sedation => "draft MOAA/S, not entered",
                InputKind::Dissociation => "draft dissociation score, not entered",
                InputKind::Dose => "draft dose, not entered",
                InputKind::Lot => "draft lot, not entered",
                InputKind::EarlyEndReason => "draft reason for ending early, not entered",
                InputKind::Collector => "draft answer to who collects the patient, not entered",
                InputKind::Concomitant => "draft concomitant medications, not entered",
                _ => "draft",
            };
            s.observations.push(Observation {
                at: *at,
                text: format!("({what}) {}", text.trim()),
                adverse: *kind == InputKind::Adverse,
            });
        }
        s.observations.sort_by_key(|o| o.at);
        match self.commit_session(s) {
            Ok(()) => true,
            Err(e) => {
                // Put them back: nothing typed is dropped.
                if let Some(c) = self.console.as_mut() {
                    c.drafts = lines;
                }
                self.say_error(format!("Unsent lines {e}"));
                false
            }
        }
    }

    fn leave_console(&mut self) {
        if !self.keep_unsent_lines() {
            return;
        }
        self.flush_if_needed();
        self.console = None;
        self.refresh_patient();
        let hint = self.key_hint(KeyContext::Timeline, Action::SessionStart);
        self.say(format!(
            "Left the console; the session stays open: {hint} returns to it"
        ));
    }

    pub(super) fn flush_if_needed(&mut self) {
        if self.unflushed {
            match self.flush_store() {
                Ok(()) => {}
                Err(e) => {
                    self.say_error(format!("Could not make the session durable on disk: {e:#}"))
                }
            }
        }
    }

    pub(super) fn update_console(&mut self, action: Action) -> anyhow::Result<()> {
        let typing = self.console.as_ref().is_some_and(|c| c.input.is_some());
        if typing {
            match action {
                Action::PopupConfirm => self.confirm_input(),
                Action::PopupClose => self.close_input(),
                Action::Quit => self.request_quit(),
                Action::Privacy => self.toggle_privacy(),
                other => anyhow::bail!("{} does nothing while typing", other.name()),
            }
            return Ok(());
        }
        let n = self
            .console
            .as_ref()
            .map_or(0, |c| c.session.observations.len());
        let h = self.console_list_height();
        match action {
            Action::SessionObserve => self.open_input(InputKind::Observation),
            Action::SessionAdverse => self.open_input(InputKind::Adverse),
            Action::SessionVitals => self.open_input(InputKind::Vitals),
            Action::SessionSedation => self.open_input(InputKind::Sedation),
            Action::SessionDissociation => self.open_input(InputKind::Dissociation),
            Action::SessionDose => self.open_input(InputKind::Dose),
            Action::SessionLot => self.open_input(InputKind::Lot),
            Action::SessionMarkDose => self.mark_dose(),
            Action::SessionEditObservation => self.edit_observation(),
            Action::SessionCorrect => self.open_correct_picker(),
            Action::SessionResolveAdverse => self.resolve_adverse(),
            Action::SessionEnd => self.begin_ending(),
            Action::SessionLeave => self.leave_console(),
            Action::SessionRemsSummary => self.write_rems_summary()?,
            // Esc with no line open: a second Esc after closing a line must not take the
            // therapist out of the session.
            Action::Back => self.say(format!(
                "Still in the session console: {} leaves it",
                self.key_hint(KeyContext::Console, Action::SessionLeave)
            )),
            Action::Privacy => self.toggle_privacy(),
            Action::Help => self.open_help(),
            Action::Palette => self.open_palette(),
            Action::Quit => self.request_quit(),
            Action::ToggleTheme => self.cycle_theme(),
            Action::MoveUp
            | Action::MoveDown
            | Action::PageUp
            | Action::PageDown
            | Action::MoveTop
            | Action::MoveBottom => {
                if let Some(c) = self.console.as_mut() {
                    c.observations.navigate(action, n, h);
                }
            }
            other => self.say_error(format!(
                "{} does not work in the session console; {} leaves it",
                other.name(),
                self.key_hint(KeyContext::Console, Action::SessionLeave)
            )),
        }
        Ok(())
    }

    /// Rows of the observation list on screen, for scrolling.
    pub fn console_list_height(&self) -> usize {
        crate::layout::console::observation_rows(self.size)
    }
}

super::component::list_component!(ProtocolPicker, |p| p.list, "NEW SESSION", "start");
