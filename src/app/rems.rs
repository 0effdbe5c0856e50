//! The esketamine REMS form from inside the app: signing a REMS session's note is refused while
//! the form lacks a field (the message names each, and the cursor goes where the first is filled
//! in), and `session.rems_summary` writes the summary to a file readable by this user only.

use super::console::InputKind;
use super::patient_form::{FormField, PatientForm};
use super::popup::Popup;
use super::{Action, App, KeyContext};
use crate::interchange::{MissingField, rems_missing, rems_summary};
use crate::model::{DosingSession, EntryKind, Note, NoteKind, Patient, Record};
use crate::store::AuditAction;
use anyhow::Context;
use std::path::Path;

impl App {
    /// The dosing session a session note belongs to, when it is an unsigned REMS session, with
    /// its patient.
    fn rems_session_of(&self, note: &Note) -> Option<(DosingSession, Patient)> {
        if note.kind != NoteKind::Session {
            return None;
        }
        let sid = note.session.as_ref()?;
        let Ok(Some(Record::Session(s))) = self.store.record(sid.as_str()) else {
            return None;
        };
        if s.is_signed() || !crate::protocols::is_rems_session(&s, None) {
            return None;
        }
        let patient = self.store.patient(&s.patient).ok()??;
        Some((s, patient))
    }

    /// Whether signing `note` must wait for the REMS form: says which fields are missing and,
    /// with `place_cursor`, goes where the first one is filled in (the patient form, or the
    /// console's question or entry line for it).
    pub(super) fn refuse_rems_signing(&mut self, note: &Note, place_cursor: bool) -> bool {
        let Some((session, patient)) = self.rems_session_of(note) else {
            return false;
        };
        let missing = rems_missing(&patient, &session, &self.settings.clinic);
        if missing.is_empty() {
            return false;
        }
        let names: Vec<String> = missing.iter().map(|m| m.label()).collect();
        let message = format!("Not signed: the REMS form still needs {}", names.join(", "));
        let first = missing
            .iter()
            .copied()
            .find(|m| !matches!(m, MissingField::Clinic(_)));
        let whole = |app: &App, m: MissingField| match m {
            MissingField::DoseTime => format!(
                "{message} ({} in the console marks T0)",
                app.key_hint(KeyContext::Console, Action::SessionMarkDose)
            ),
            MissingField::Discharge => format!(
                "{message} ({} in the console ends the session)",
                app.key_hint(KeyContext::Console, Action::SessionEnd)
            ),
            _ => message.clone(),
        };
        match first.filter(|_| place_cursor) {
            Some(m @ (MissingField::DateOfBirth | MissingField::Sex)) => {
                let field = if m == MissingField::Sex {
                    FormField::Sex
                } else {
                    FormField::Born
                };
                // The note is saved before the question: closing the editor loses nothing.
                self.editor = None;
                self.popup = Some(Popup::Patient(PatientForm::edit(&patient).focus(field)));
                self.say_error(message);
            }
            Some(m) => {
                let said = whole(self, m);
                self.editor = None;
                self.popup = None;
                self.open_console(session, patient);
                match m {
                    MissingField::FirstTreatment
                    | MissingField::Enrolled
                    | MissingField::Concomitant => self.ask_next_rems_question(),
                    MissingField::Dose => self.open_console_line(InputKind::Dose),
                    MissingField::Lot => self.open_console_line(InputKind::Lot),
                    MissingField::ReadyMinutes => self.open_console_line(InputKind::ReadyMinutes),
                    _ => {}
                }
                self.say_error(said);
            }
            None => self.say_error(message),
        }
        true
    }

    /// The session `session.rems_summary` is about: the console's, or the one selected on the
    /// timeline (a dosing session, or a session note's session).
    fn rems_target(&self) -> Option<DosingSession> {
        if let Some(c) = self.console.as_ref() {
            return Some(c.session.clone());
        }
        let v = self.patient.as_ref()?;
        let e = v.selected()?;
        match e.kind {
            EntryKind::Session => v
                .records
                .sessions
                .iter()
                .find(|s| s.id == e.record)
                .cloned(),
            EntryKind::Note(_) => {
                let note = v.records.notes.iter().find(|n| n.id == e.record)?;
                let sid = note.session.as_ref()?;
                v.records.sessions.iter().find(|s| &s.id == sid).cloned()
            }
            _ => None,
        }
    }

    /// `session.rems_summary`: writes the REMS monitoring summary of the session to
    /// `<folder>/rems-<session>.txt` (this user's only), logs the export and names the file.
    pub(super) fn write_rems_summary(&mut self) -> anyhow::Result<()> {
        let Some(session) = self.rems_target() else {
            anyhow::bail!(
                "Select an esketamine dosing session (or its note) first, or open its console"
            );
        };
        let Some(dir) = self.settings.rems_dir.clone() else {
            anyhow::bail!("No folder to write the REMS summary in");
        };
        let patient = match self.store.patient(&session.patient) {
            Ok(Some(p)) => p,
            Ok(None) => {
                anyhow::bail!(
                    "Dosing session {} names patient {}, who is not in the store",
                    session.id,
                    session.patient
                );
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context("Cannot read the patient"));
            }
        };
        let text = match rems_summary(
            &patient,
            &session,
            &self.settings.clinic,
            &self.settings.time_zone,
        ) {
            Ok(t) => crate::text_safety::printable(&t).into_owned(),
            Err(e) => {
                anyhow::bail!("No REMS summary: {e}");
            }
        };
        let path = dir.join(format!("rems-{}.txt", session.id));
        write_private(&dir, &path, text.as_bytes()).context("The REMS summary was not written")?;
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let event = crate::store::Actor::new(who, self.now())
            .event(AuditAction::Exported)
            .patient(&session.patient)
            .record(session.id.as_str())
            .detail(format!(
                "REMS monitoring summary of dosing session {} to {}",
                session.id,
                path.display()
            ));
        let logged = self.log_disclosure(&event);
        let missing = rems_missing(&patient, &session, &self.settings.clinic);
        let gaps = if missing.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = missing.iter().map(|m| m.label()).collect();
            format!("; the form still lacks {}", names.join(", "))
        };
        match logged {
            Ok(()) => self.say(format!("REMS summary written to {}{gaps}", path.display())),
            Err(e) => anyhow::bail!(
                "REMS summary written to {}, but the audit log could not record it: {e:#}",
                path.display()
            ),
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` through a private temporary file moved into place: the file is
/// readable by this user only (0600) and never half-written. `dir` is made (0700) if missing.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = super::chart::private_temp(dir, &format!(".{name}.kitnotes-tmp"), bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::from(e).context(format!("cannot move it into place at {}", path.display()))
    })
}
