//! What is typed but is not a record yet: the session console's entry line and the lines kept
//! with Esc, every open or kept form (patient, questionnaire, goal, check-in, addendum), and
//! where the note editor's cursor is. It is kept in the store (`store::keys::UNSAVED_KEY`),
//! sealed like every value, within about a second of the last key and at once when kitnotes
//! locks, quits or is told to stop, so that whatever ends the process, the next start brings
//! each back where it was: the console on its session with the half-typed line and the time it
//! was opened, the form with its answers.
//!
//! When the store itself cannot be written (a full disk), the same value, with the draft note
//! the store could not take, can be sealed into a rescue file beside the store; the next start
//! offers it back.

use super::App;
use super::console::{ConsoleInput, CorrectTarget, Ending, InputKind};
use super::editor::Resume;
use super::field::TextField;
use super::goal_form::{CheckInForm, GoalForm};
use super::goals::GoalPopup;
use super::measures::{ItemAnswers, MeasureForm, MeasureStep, TotalEntry};
use super::patient_form::PatientForm;
use super::popup::{AddendumForm, Popup};
use crate::model::{DosingSession, Instrument, Note, PatientId, Record, RecordId};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Typing paused this long, or this long since the last write: keep what is typed.
const EVERY: SignedDuration = SignedDuration::from_millis(700);

/// Everything typed that is not a record yet.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Unsaved {
    /// The draft open in the editor and where its cursor was (the text is the draft itself, a
    /// record). Kept while kitnotes runs, so a crash reopens it; a quit leaves it out.
    pub editor: Option<Resume>,
    pub console: Option<ConsoleLines>,
    /// The form that was open.
    pub form: Option<OpenForm>,
    /// Forms closed with Esc, to come back with their key.
    pub kept_measures: Vec<KeptMeasure>,
    pub kept_goals: Vec<GoalForm>,
    pub kept_check_ins: Vec<CheckInForm>,
    pub kept_patients: Vec<PatientForm>,
    /// Only in a rescue file: the draft note the store could not take.
    pub note: Option<Note>,
    /// Only in a rescue file: sessions written but never made durable (the console's session
    /// with the entries made while the disk was full). Every other write that failed left its
    /// text in its form or editor, which the rescue keeps already.
    pub sessions: Vec<DosingSession>,
    /// The template of the last note started, offered first again after a restart.
    pub last_template: Option<String>,
}

impl Unsaved {
    fn is_empty(&self) -> bool {
        self.editor.is_none()
            && self.console.is_none()
            && self.form.is_none()
            && self.kept_measures.is_empty()
            && self.kept_goals.is_empty()
            && self.kept_check_ins.is_empty()
            && self.kept_patients.is_empty()
            && self.note.is_none()
            && self.sessions.is_empty()
            && self.last_template.is_none()
    }
}

/// The session console: which session, the line being typed, the lines kept with Esc, and the
/// answers given so far while ending it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsoleLines {
    pub session: RecordId,
    pub input: Option<Line>,
    #[serde(default)]
    pub drafts: Vec<Line>,
    #[serde(default)]
    pub ending: Option<Ending>,
}

/// One line of the console: what it is, the text, and the time it is stamped with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub kind: InputKind,
    pub text: String,
    pub at: Timestamp,
    /// The entry being corrected, when the line corrects one.
    #[serde(default)]
    pub editing: Option<CorrectTarget>,
}

/// A form that was open. (Held once, only while kept or brought back: its size does not
/// matter, so the variants are not boxed.)
#[derive(Debug, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum OpenForm {
    Patient(PatientForm),
    Measure(KeptMeasure),
    Goal(Box<GoalForm>),
    CheckIn(Box<CheckInForm>),
    Addendum(AddendumForm),
}

/// A questionnaire with answers, or a total being typed. (The instrument list itself holds
/// nothing typed.)
#[derive(Debug, Serialize, Deserialize)]
pub struct KeptMeasure {
    pub patient: PatientId,
    pub patient_name: String,
    pub session: Option<(RecordId, String)>,
    pub step: KeptStep,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum KeptStep {
    Items(ItemAnswers),
    Total {
        instrument: Instrument,
        text: String,
    },
}

impl KeptMeasure {
    fn of(m: &MeasureForm) -> Option<Self> {
        let step = match &m.step {
            MeasureStep::Pick(_) => return None,
            MeasureStep::Items(a) => KeptStep::Items(a.clone()),
            MeasureStep::Total(t) => KeptStep::Total {
                instrument: t.instrument,
                text: t.field.text().to_string(),
            },
        };
        Some(Self {
            patient: m.patient.clone(),
            patient_name: m.patient_name.clone(),
            session: m.session.clone(),
            step,
        })
    }

    fn form(self) -> MeasureForm {
        MeasureForm {
            patient: self.patient,
            patient_name: self.patient_name,
            session: self.session,
            step: match self.step {
                KeptStep::Items(a) => MeasureStep::Items(a),
                KeptStep::Total { instrument, text } => MeasureStep::Total(TotalEntry {
                    instrument,
                    field: TextField::new(&text),
                    error: None,
                }),
            },
        }
    }
}

impl Line {
    fn of(i: &ConsoleInput) -> Self {
        Self {
            kind: i.kind,
            text: i.field.text().to_string(),
            at: i.at,
            editing: i.editing,
        }
    }

    fn input(self) -> ConsoleInput {
        ConsoleInput {
            kind: self.kind,
            field: TextField::new(&self.text),
            at: self.at,
            error: None,
            editing: self.editing,
        }
    }
}

/// Where the last write of [`Unsaved`] stands.
#[derive(Debug, Default)]
pub(super) struct UnsavedState {
    /// The bytes last written (so an unchanged state is not written again).
    written: Vec<u8>,
    written_at: Option<Timestamp>,
    /// The draft open in the editor and the session open in the console when last written:
    /// opening or closing either is written at once, so a restart reopens exactly what was
    /// open.
    written_shape: (Option<RecordId>, Option<RecordId>),
    /// Why the last write failed; retried on every tick.
    pub(super) error: Option<String>,
}

/// How the process is ending, for what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    /// While running, and when told to stop from outside: the editor is reopened next time.
    Everything,
    /// A quit the user asked for: the editor is not reopened.
    WithoutEditor,
}

impl App {
    /// Everything typed that is not a record yet, as it is now.
    fn unsaved_now(&self, keep: Keep) -> Unsaved {
        let console = self.console.as_ref().map(|c| ConsoleLines {
            session: c.session.id.clone(),
            input: c.input.as_ref().map(Line::of),
            drafts: c
                .drafts
                .iter()
                .map(|(kind, text, at)| Line {
                    kind: *kind,
                    text: text.clone(),
                    at: *at,
                    editing: None,
                })
                .collect(),
            ending: c.ending.clone(),
        });
        let form = match &self.popup {
            Some(Popup::Patient(f)) => Some(OpenForm::Patient(f.clone())),
            Some(Popup::Measure(m)) => KeptMeasure::of(m).map(OpenForm::Measure),
            Some(Popup::Goal(GoalPopup::Form(g))) => Some(OpenForm::Goal(Box::new(g.clone()))),
            Some(Popup::Goal(GoalPopup::CheckIn(c))) => Some(OpenForm::CheckIn(c.clone())),
            Some(Popup::Addendum(a)) => Some(OpenForm::Addendum(AddendumForm {
                note: a.note.clone(),
                title: a.title.clone(),
                field: a.field.clone(),
            })),
            _ => None,
        };
        Unsaved {
            editor: match keep {
                Keep::Everything => self.editor.as_ref().map(|e| e.position_in_store()),
                Keep::WithoutEditor => None,
            },
            console,
            form,
            kept_measures: self
                .kept
                .measures
                .iter()
                .filter_map(KeptMeasure::of)
                .collect(),
            kept_goals: self.kept.goals.clone(),
            kept_check_ins: self.kept.check_ins.clone(),
            kept_patients: self.stashed_forms.clone(),
            note: None,
            sessions: Vec::new(),
            last_template: self.last_template.clone(),
        }
    }

    /// Keeps what is typed in the store when it changed: on a tick, at most every
    /// [`EVERY`]; at once when `now` is set (locking, quitting, a signal). Returns whether the
    /// store has it.
    pub(super) fn keep_unsaved(&mut self, keep: Keep, at_once: bool) -> bool {
        if self.lock.is_some() {
            // The store is sealed; everything was kept when it locked.
            return self.unsaved.error.is_none();
        }
        // Typing between writes costs nothing here: the state is only built when a write may
        // follow (at once, a changed shape, a retry, or the pause since the last write).
        let now = self.now();
        let shape = (
            self.editor.as_ref().map(|e| e.note.id.clone()),
            self.console.as_ref().map(|c| c.session.id.clone()),
        );
        let at_once = at_once || shape != self.unsaved.written_shape;
        if !at_once
            && self.unsaved.error.is_none()
            && self
                .unsaved
                .written_at
                .is_some_and(|t| now.duration_since(t) < EVERY)
        {
            return false;
        }
        let state = self.unsaved_now(keep);
        let bytes = if state.is_empty() {
            Vec::new()
        } else {
            match serde_json::to_vec(&state) {
                Ok(b) => b,
                Err(e) => {
                    self.unsaved.error = Some(e.to_string());
                    return false;
                }
            }
        };
        if bytes == self.unsaved.written && self.unsaved.error.is_none() {
            return true;
        }
        let put = self
            .store
            .put_unsaved((!bytes.is_empty()).then_some(bytes.as_slice()))
            .map_err(anyhow::Error::from)
            .and_then(|()| self.flush_store());
        match put {
            Ok(()) => {
                self.unsaved.written = bytes;
                self.unsaved.written_at = Some(now);
                self.unsaved.written_shape = shape;
                if self.unsaved.error.take().is_some() {
                    self.say("Saved again: what you typed is in the store".into());
                }
                true
            }
            Err(e) => {
                let first = self.unsaved.error.is_none();
                self.unsaved.error = Some(format!("{e:#}"));
                self.unsaved.written_at = Some(now);
                // A failing draft save has said so already; one message is enough.
                let said = self.status.as_ref().is_some_and(|s| s.error);
                if first && !said {
                    self.say_error(format!(
                        "What you are typing is NOT saved yet (kept here, retrying): {e:#}"
                    ));
                }
                false
            }
        }
    }

    /// At start: brings back what was typed when kitnotes last stopped, and says what.
    pub(super) fn bring_back_unsaved(&mut self) {
        let bytes = match self.store.unsaved() {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                self.say_error(format!("Cannot read what you were typing last time: {e:#}"));
                return;
            }
        };
        let state: Unsaved = match serde_json::from_slice(&bytes) {
            Ok(s) => s,
            Err(e) => {
                // Kept as it is (a newer kitnotes may have written it): never dropped unread.
                self.say_error(format!(
                    "What you were typing last time cannot be read by this kitnotes ({e}); it is kept"
                ));
                return;
            }
        };
        self.unsaved.written = bytes;
        let said = self.restore_unsaved(state);
        self.unsaved.written_shape = (
            self.editor.as_ref().map(|e| e.note.id.clone()),
            self.console.as_ref().map(|c| c.session.id.clone()),
        );
        if !said.is_empty() {
            self.say(format!("Brought back {}", said.join(", ")));
        }
    }

    /// Puts `state` back; returns what came back, in a few words each.
    fn restore_unsaved(&mut self, state: Unsaved) -> Vec<String> {
        let mut said = Vec::new();
        if self.last_template.is_none() {
            self.last_template = state.last_template;
        }
        for m in state.kept_measures {
            self.kept.measures.push(m.form());
        }
        self.kept.goals.extend(state.kept_goals);
        self.kept.check_ins.extend(state.kept_check_ins);
        self.stashed_forms
            .extend(state.kept_patients.into_iter().map(|mut p| {
                p.upgrade();
                p
            }));
        let kept = self.kept.len() + self.stashed_forms.len();
        if kept > 0 {
            said.push(format!(
                "{kept} form{} closed with Esc (the same key opens {})",
                if kept == 1 { "" } else { "s" },
                if kept == 1 { "it" } else { "each" }
            ));
        }
        if let Some(r) = state.editor
            && self.reopen_draft(&r)
        {
            said.push("your draft, where you left off".into());
        }
        if let Some(c) = state.console
            && let Some(what) = self.reopen_console(c)
        {
            said.push(what);
        }
        if let Some(f) = state.form {
            said.push(self.reopen_form(f));
        }
        said
    }

    /// Opens the console on the session it was open on, with its lines. None if the session
    /// is gone or signed since.
    fn reopen_console(&mut self, c: ConsoleLines) -> Option<String> {
        let session = match self.store.record(c.session.as_str()) {
            Ok(Some(Record::Session(s))) if !s.is_signed() => s,
            _ => return None,
        };
        let patient = self.store.patient(&session.patient).ok().flatten()?;
        self.show_record(&patient.id, &session.id);
        self.open_console(session, patient);
        let typing = c.input.as_ref().is_some_and(|l| !l.text.trim().is_empty());
        let con = self.console.as_mut()?;
        con.input = c.input.map(Line::input);
        con.drafts = c
            .drafts
            .into_iter()
            .map(|l| (l.kind, l.text, l.at))
            .collect();
        con.ending = c.ending;
        Some(if typing {
            "the session console with the line you were typing".into()
        } else {
            "the session console".into()
        })
    }

    fn reopen_form(&mut self, f: OpenForm) -> String {
        let (popup, what) = match f {
            OpenForm::Patient(mut p) => {
                p.upgrade();
                (Popup::Patient(p), "the patient form".to_string())
            }
            OpenForm::Measure(m) => {
                let form = m.form();
                let what = format!("the {}", form.progress());
                (Popup::Measure(form), what)
            }
            OpenForm::Goal(g) => (
                Popup::Goal(GoalPopup::Form(*g)),
                "the goal form".to_string(),
            ),
            OpenForm::CheckIn(c) => {
                let what = format!("the check-in on \"{}\"", c.goal_title);
                (Popup::Goal(GoalPopup::CheckIn(c)), what)
            }
            OpenForm::Addendum(a) => {
                let what = format!("the addendum to \"{}\"", a.title);
                (Popup::Addendum(a), what)
            }
        };
        self.popup = Some(popup);
        what
    }

    /// Told to stop from outside (a signal, the terminal gone): the draft and everything typed
    /// go to the store as they are, to be reopened where they were at the next start; when the
    /// store cannot take them, the rescue file. Returns what to say once the terminal is back.
    pub fn stop(&mut self) -> Option<String> {
        if let Some(l) = &self.lock {
            // Everything was kept when it locked; without the keys nothing more can be written.
            return l
                .not_saved
                .as_ref()
                .map(|what| format!("locked with something not saved: {what}"));
        }
        let editor = self.save_editor();
        let kept = !self.settings.keep_unsaved || self.keep_unsaved(Keep::Everything, true);
        self.flush_if_needed();
        if editor && kept && !self.unflushed {
            return None;
        }
        Some(match self.write_rescue() {
            Ok(path) => format!(
                "not everything could be saved to the store; it is sealed in {}, and the next start brings it back",
                path.display()
            ),
            Err(why) => format!(
                "not everything typed could be saved, and the rescue file could not be written ({why})"
            ),
        })
    }

    /// Seals everything typed, with the draft the store could not take, into the rescue file
    /// beside the store. Returns where, or why not.
    pub(super) fn write_rescue(&mut self) -> Result<std::path::PathBuf, String> {
        let Some(path) = self.store.rescue_path() else {
            return Err("this store has no place on disk".into());
        };
        let mut state = self.unsaved_now(Keep::Everything);
        // The rescue holds the text as it is now, so the cursor goes back where it is now.
        state.editor = self.editor.as_ref().map(|e| e.position());
        state.note = self
            .editor
            .as_ref()
            .filter(|e| e.is_dirty())
            .map(|e| e.current_note());
        if self.flush_failed {
            state.sessions = self
                .undurable
                .iter()
                .filter_map(|r| match r {
                    Record::Session(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
        }
        let bytes = serde_json::to_vec(&state).map_err(|e| e.to_string())?;
        let sealed = self
            .store
            .seal_rescue(&bytes)
            .map_err(|e| format!("{e:#}"))?;
        write_durably(&path, &sealed).map_err(|e| crate::store::explain_io(&e))?;
        Ok(path)
    }

    /// At start: a rescue file beside the store is brought back: the draft note is saved again
    /// as it was (unless it was signed since), the rest comes back as after a restart. The
    /// file is removed only once the store has it all.
    pub(super) fn bring_back_rescue(&mut self) {
        let Some(path) = self.store.rescue_path() else {
            return;
        };
        let sealed = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Ok(m) if !m.is_file() => Err("it is not a regular file".to_string()),
            _ => crate::limits::read(&path, RESCUE_LIMIT, "a rescue file")
                .map_err(|e| crate::store::explain_io(&e)),
        };
        let sealed = match sealed {
            Ok(b) => b,
            Err(why) => {
                self.say_error(format!(
                    "A rescue file is at {} but cannot be read: {why}",
                    path.display()
                ));
                return;
            }
        };
        let state: Unsaved = match self
            .store
            .open_rescue(&sealed)
            .map_err(|e| format!("{e:#}"))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(why) => {
                self.say_error(format!(
                    "A rescue file is at {} but does not open ({why}); it is left there",
                    path.display()
                ));
                return;
            }
        };
        self.restore_rescue(&path, state);
    }

    fn restore_rescue(&mut self, path: &std::path::Path, mut state: Unsaved) {
        // Sessions written while the disk was full: the rescued copy has every entry the store
        // had and the ones it lost, unless the session was signed since (then it is final).
        let records: Vec<Record> = std::mem::take(&mut state.sessions)
            .into_iter()
            .filter(|r| {
                !matches!(
                    self.store.record(r.id.as_str()),
                    Ok(Some(Record::Session(s))) if s.is_signed()
                )
            })
            .map(Record::Session)
            .collect();
        if !records.is_empty()
            && let Err(e) = self.write_all(records)
        {
            self.say_error(format!(
                "The rescue file at {} could not be brought back yet: {e:#}",
                path.display()
            ));
            return;
        }
        if let Some(note) = state.note.take() {
            let id = note.id.clone();
            let signed = matches!(
                self.store.record(id.as_str()),
                Ok(Some(Record::Note(n))) if n.is_signed()
            );
            if signed {
                self.say_error(format!(
                    "The rescued draft \"{}\" was signed since; the rescue file is left at {}",
                    note.title,
                    path.display()
                ));
                return;
            }
            if let Err(e) = self.write(Record::Note(note)) {
                self.say_error(format!(
                    "The rescue file at {} could not be brought back yet: {e:#}",
                    path.display()
                ));
                return;
            }
            if state.editor.is_none() {
                state.editor = Some(Resume {
                    note: id.to_string(),
                    section: 0,
                    row: 0,
                    col: 0,
                });
            }
        }
        let said = self.restore_unsaved(state);
        if !self.keep_unsaved(Keep::Everything, true) {
            self.say_error(format!(
                "What the rescue file held is back on screen but NOT in the store yet; the file stays at {}",
                path.display()
            ));
            return;
        }
        let _ = std::fs::remove_file(path);
        let what = if said.is_empty() {
            String::new()
        } else {
            format!(": {}", said.join(", "))
        };
        self.say(format!(
            "Brought back what the rescue file kept when kitnotes could not save last time{what}"
        ));
    }
}

/// A rescue file is what was typed, never this large.
const RESCUE_LIMIT: u64 = 64 * 1024 * 1024;

/// Writes `bytes` to `path` through a temporary file beside it, synced before and after the
/// rename, so the file is either whole or absent.
fn write_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        crate::store::backup::sync_dir(dir)?;
    }
    Ok(())
}
