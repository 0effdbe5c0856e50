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
    Discharge, DissociationRating, DosingSession, Observation, SedationRating,
};
use crate::model::{Patient, PatientId, Record, RecordId};
use crate::protocols::session_note::dose_text;
use crate::protocols::{Protocol, UsualDose};
use jiff::Timestamp;

/// What the console's input line is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl InputKind {
    /// Whether Esc keeps the text to come back to: the entries of the session. The questions
    /// of ending are asked again from the start.
    pub fn keeps_draft(self) -> bool {
        !matches!(
            self,
            InputKind::EarlyEndReason | InputKind::Transport | InputKind::ReadyMinutes
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
    /// The observation being corrected, by index, when editing one.
    pub editing: Option<usize>,
}

/// Answers given so far while ending the session.
#[derive(Debug, Clone, Default)]
struct Ending {
    at: Option<Timestamp>,
    reason: Option<String>,
    transport: Option<bool>,
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
    drafts: Vec<(InputKind, String, Timestamp)>,
    /// The selected observation (for correcting one).
    pub observations: ListCursor,
    ending: Option<Ending>,
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
            InputKind::Observation if input.editing.is_some() => "correct observation".into(),
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
            InputKind::ReadyMinutes => {
                "minute the patient would have been ready to leave without the 2-hour rule (blank: not recorded)"
                    .into()
            }
        }
    }
}

/// Lower-case words of `s`, split at anything not a letter or digit.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parses "56", "56 mg", "0.5 mg/kg", "0.5mg/kg" into a dose.
pub fn parse_dose(text: &str) -> Result<UsualDose, String> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Err("type the dose, e.g. 56 or 0.5 mg/kg".into());
    }
    let (number, per_kg) = if let Some(n) = t.strip_suffix("mg/kg") {
        (n.trim(), true)
    } else if let Some(n) = t.strip_suffix("mg") {
        (n.trim(), false)
    } else {
        (t.as_str(), false)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{}\" is not a number of mg or mg/kg", text.trim()))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("the dose must be above 0, not {value}"));
    }
    if per_kg {
        if value > 10.0 {
            return Err(format!("{value} mg/kg is above 10 mg/kg: check the dose"));
        }
        Ok(UsualDose::MgPerKg(value))
    } else {
        if value > 2000.0 {
            return Err(format!("{value} mg is above 2000 mg: check the dose"));
        }
        Ok(UsualDose::Mg(value))
    }
}

const NO_WEIGHT: &str =
    "no weight on file for a mg/kg dose: give the dose in mg, or add the weight to the patient";

/// Sets `s`'s dose; a mg/kg dose needs the patient's weight. Returns what to say.
fn set_dose(s: &mut DosingSession, dose: UsualDose, weight: Option<f64>) -> Result<String, String> {
    if dose.apply_to(s, weight) {
        Ok(format!("Dose {}", dose_text(s)))
    } else {
        Err(NO_WEIGHT.into())
    }
}

/// "CADSS 12", "12" (the scale defaults to CADSS), "MEQ30 3.2".
fn parse_dissociation(text: &str) -> Result<(String, f64), String> {
    let t = text.trim();
    let mut parts = t.split_whitespace();
    let (scale, number) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), None, None) => ("CADSS", n),
        (Some(s), Some(n), None) => (s, n),
        _ => return Err("type a score, e.g. 12 or CADSS 12".into()),
    };
    let total: f64 = number
        .parse()
        .map_err(|_| format!("\"{number}\" is not a number"))?;
    if !total.is_finite() || !(0.0..=10_000.0).contains(&total) {
        return Err(format!("{total} is outside 0-10000"));
    }
    Ok((scale.to_uppercase(), total))
}

fn parse_moaas(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(n) if n <= 5 => Ok(n),
        _ => Err(format!(
            "MOAA/S is a whole number 0-5 (5 = responds readily to name), not \"{}\"",
            text.trim()
        )),
    }
}

fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        other => Err(format!("answer y or n, not \"{other}\"")),
    }
}

fn parse_ready_minutes(text: &str) -> Result<Option<u32>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(m) if m <= 24 * 60 => Ok(Some(m)),
        _ => Err(format!("a number of minutes after the dose, not \"{t}\"")),
    }
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
            let at = open
                .at
                .to_zoned(self.settings.time_zone.clone())
                .strftime("%a %-d %b %H:%M")
                .to_string();
            self.open_console(open, patient);
            self.say(if booked {
                format!("The session booked for {at}: nothing recorded yet")
            } else {
                "Back in the session console: the session is still open".into()
            });
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
        let session = protocol.start_session(id, &patient, Some(number), now);
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
    }

    fn open_console(&mut self, session: DosingSession, patient: Patient) {
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
        });
    }

    /// Writes the session and its audit entry; the flush to disk waits for the next tick.
    fn write_session(&mut self, s: &DosingSession) -> anyhow::Result<()> {
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let actor = crate::store::Actor::new(who, self.now());
        self.store.apply_audited(
            &[crate::store::Change::Put(Record::Session(s.clone()))],
            &actor,
        )?;
        self.unflushed = true;
        Ok(())
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

    fn open_input(&mut self, kind: InputKind) {
        let now = self.now();
        let Some(c) = self.console.as_mut() else {
            return;
        };
        if c.session.is_signed() {
            self.say_error("This session is signed and final".into());
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

    fn edit_observation(&mut self) {
        let Some(c) = self.console.as_mut() else {
            return;
        };
        if c.session.is_signed() {
            self.say_error("This session is signed and final".into());
            return;
        }
        let i = c.observations.selected;
        let Some(o) = c.session.observations.get(i) else {
            self.say_error("No observation to correct yet".into());
            return;
        };
        c.input = Some(ConsoleInput {
            kind: if o.adverse {
                InputKind::Adverse
            } else {
                InputKind::Observation
            },
            field: TextField::new(&o.text),
            at: o.at,
            error: None,
            editing: Some(i),
        });
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

    /// Enter on the input line: parse, store, close; or say why not and keep the text.
    fn confirm_input(&mut self) {
        let Some(c) = self.console.as_ref() else {
            return;
        };
        let Some(input) = c.input.clone() else {
            return;
        };
        let text = input.field.text().trim().to_string();
        let mut s = c.session.clone();
        let weight = c.patient.weight_kg;
        let mut said = None;
        let outcome: Result<(), String> = match input.kind {
            InputKind::Observation | InputKind::Adverse => {
                if text.is_empty() {
                    Err("type what you observed, or Esc".into())
                } else {
                    let adverse = input.kind == InputKind::Adverse;
                    match input.editing {
                        Some(i) if i < s.observations.len() => {
                            s.observations[i].text = text.clone();
                        }
                        _ => {
                            s.observations.push(Observation {
                                at: input.at,
                                text: text.clone(),
                                adverse,
                            });
                            s.observations.sort_by_key(|o| o.at);
                        }
                    }
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
            InputKind::Dose => parse_dose(&text)
                .and_then(|d| set_dose(&mut s, d, weight))
                .map(|msg| said = Some(msg)),
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
            InputKind::ReadyMinutes => match parse_ready_minutes(&text) {
                Ok(m) => {
                    self.finish_ending(m);
                    return;
                }
                Err(e) => Err(e),
            },
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
                    InputKind::Observation if input.editing.is_some() => "Observation corrected",
                    InputKind::Observation => "Observation stored",
                    InputKind::Adverse => "Adverse event stored",
                    InputKind::Vitals => "Vitals stored",
                    InputKind::Sedation => "MOAA/S stored",
                    InputKind::Dissociation => "Dissociation score stored",
                    _ => "Stored",
                };
                self.say(said.unwrap_or_else(|| format!("{what} at {stamp}")));
            }
            Err(e) => {
                if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                    i.error = Some(e);
                }
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
            self.say_error("This session is signed and final".into());
            return;
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

    /// `x`: the questions of ending, one line at a time.
    fn begin_ending(&mut self) {
        let now = self.now();
        let Some(c) = self.console.as_mut() else {
            return;
        };
        if c.session.is_signed() || c.session.discharge.is_some() {
            self.say_error("This session has ended already".into());
            return;
        }
        c.ending = Some(Ending {
            at: Some(now),
            ..Ending::default()
        });
        self.next_ending_step(|_| {});
    }

    /// Records one answer and asks the next question, or finishes.
    fn next_ending_step(&mut self, answer: impl FnOnce(&mut Ending)) {
        let Some(c) = self.console.as_mut() else {
            return;
        };
        let thresholds = c.thresholds();
        let Some(ending) = c.ending.as_mut() else {
            return;
        };
        answer(ending);
        let end = ending.at.unwrap_or(c.session.at);
        // Never dosed (e.g. BP too high to proceed): also say why it stopped.
        let early = c.session.dose_time.is_none()
            || !monitoring::observation_time_met(&c.session, end, &thresholds);
        let next = if early && ending.reason.is_none() {
            Some(InputKind::EarlyEndReason)
        } else if ending.transport.is_none() {
            Some(InputKind::Transport)
        } else if c.is_rems() && c.session.dose_time.is_some() {
            Some(InputKind::ReadyMinutes)
        } else {
            None
        };
        match next {
            Some(kind) => {
                c.input = Some(ConsoleInput {
                    kind,
                    field: TextField::default(),
                    at: end,
                    error: None,
                    editing: None,
                });
            }
            None => self.finish_ending(None),
        }
    }

    /// Writes the discharge and the session's note (a draft), and opens the note.
    fn finish_ending(&mut self, ready_minutes: Option<u32>) {
        let Some(c) = self.console.as_ref() else {
            return;
        };
        let Some(ending) = c.ending.clone() else {
            return;
        };
        let at = ending.at.unwrap_or_else(|| self.now());
        let mut s = c.session.clone();
        s.discharge = Some(Discharge {
            at,
            transport_arranged: ending.transport.unwrap_or(false),
            ready_minutes,
        });
        s.early_end_reason = ending.reason.clone();
        let protocol = c.protocol.clone();
        let Some(template) = self.settings.templates.get("dosing-session").cloned() else {
            self.say_error("The dosing-session note template is not installed".into());
            return;
        };
        let now = self.now();
        let id = RecordId::from_uuid(self.ids.next(now));
        let tz = self.settings.time_zone.clone();
        let note =
            crate::protocols::session_note_draft(&s, Some(&protocol), &template, id.clone(), &tz);
        if let Err(e) = self.write_all(vec![Record::Session(s), Record::Note(note.clone())]) {
            if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                i.error = Some(format!("NOT saved: {e:#}"));
            }
            return;
        }
        self.console = None;
        self.refresh_patient();
        self.focus = Pane::Timeline;
        self.select_entry(&id);
        self.open_editor(note, None);
        // Read from the top: the whole note is new.
        if let Some(e) = self.editor.as_mut() {
            e.current = 0;
        }
        self.say(format!(
            "Discharged. The session note is written from what you recorded: read it, complete it, {} signs it",
            self.key_hint(KeyContext::EditorInsert, Action::NoteSign)
        ));
    }

    /// Lines typed but not entered (the open one and Esc drafts) are stored as observations
    /// marked as drafts, so that leaving or quitting never drops them; they can be corrected
    /// until the session is signed. False if they could not be written.
    pub(super) fn keep_unsent_lines(&mut self) -> bool {
        let Some(c) = self.console.as_mut() else {
            return true;
        };
        let mut lines = std::mem::take(&mut c.drafts);
        if let Some(i) = c.input.take() {
            let unchanged = i.editing.is_some_and(|n| {
                c.session
                    .observations
                    .get(n)
                    .is_some_and(|o| o.text == i.field.text())
            });
            if !unchanged && !matches!(i.kind, InputKind::Transport | InputKind::ReadyMinutes) {
                lines.push((i.kind, i.field.text().to_string(), i.at));
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
            match self.store.flush() {
                Ok(()) => self.unflushed = false,
                Err(e) => {
                    self.say_error(format!("Could not make the session durable on disk: {e:#}"))
                }
            }
        }
    }

    pub(super) fn update_console(&mut self, action: Action) {
        let typing = self.console.as_ref().is_some_and(|c| c.input.is_some());
        if typing {
            match action {
                Action::PopupConfirm => self.confirm_input(),
                Action::PopupClose => self.close_input(),
                Action::Quit => self.request_quit(),
                Action::Privacy => self.toggle_privacy(),
                other => self.say_error(format!("{} does nothing while typing", other.name())),
            }
            return;
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
            Action::SessionEnd => self.begin_ending(),
            Action::SessionLeave | Action::Back => self.leave_console(),
            Action::Privacy => self.toggle_privacy(),
            Action::Help => self.open_help(),
            Action::Palette => self.open_palette(),
            Action::Quit => self.request_quit(),
            Action::ToggleTheme => self.cycle_theme(),
            Action::MoveUp | Action::MoveDown | Action::MoveTop | Action::MoveBottom => {
                if let Some(c) = self.console.as_mut() {
                    match action {
                        Action::MoveUp => c.observations.step(-1, n, h),
                        Action::MoveDown => c.observations.step(1, n, h),
                        Action::MoveTop => c.observations.top(n, h),
                        _ => c.observations.bottom(n, h),
                    }
                }
            }
            other => self.say_error(format!(
                "{} does not work in the session console; {} leaves it",
                other.name(),
                self.key_hint(KeyContext::Console, Action::SessionLeave)
            )),
        }
    }

    /// Rows of the observation list on screen, for scrolling.
    pub fn console_list_height(&self) -> usize {
        crate::ui::console::observation_rows(self.size)
    }
}
