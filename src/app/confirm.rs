//! The one question before something becomes final: signing a note (and, with a session note,
//! its dosing session) and archiving a patient. The popup says what becomes final and asks once:
//! Enter does it, Esc leaves everything as it was.

use super::popup::Popup;
use super::{Action, App, KeyContext};
use crate::model::{NoteKind, PatientId, Record, RecordId};

/// What Enter does in the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    /// Sign the note open in the editor.
    SignEditorNote,
    /// Sign the draft note selected on the timeline.
    SignNote(RecordId),
    /// Archive the patient.
    Archive(PatientId),
    /// Discard the draft note selected on the timeline.
    DiscardDraft(RecordId),
}

/// A confirmation popup: a title, what becomes final, and what Enter does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    /// What Enter does, in a word or two: "sign", "archive".
    pub yes: String,
    pub action: ConfirmAction,
}

impl App {
    /// The lines of "what becomes final" for signing `note`, as `who`.
    fn signing_lines(&self, note: &crate::model::Note, who: &str) -> Vec<String> {
        let mut lines = vec![
            "After this the note never changes: corrections become addenda,".to_string(),
            "each dated and signed.".to_string(),
            format!("Signed by {who}, now."),
        ];
        let words: usize = note
            .sections
            .iter()
            .map(|s| s.body.split_whitespace().count())
            .sum();
        lines.push(format!(
            "{} sections, {words} words, as they are now.",
            note.sections.len()
        ));
        if note.kind == NoteKind::Session
            && let Some(sid) = &note.session
            && let Ok(Some(Record::Session(s))) = self.store.record(sid.as_str())
            && !s.is_signed()
        {
            lines.push(String::new());
            lines.push("Its dosing session is signed with it: the dose, lot, T0, vitals,".into());
            lines.push(format!(
                "ratings, {} observations and {} corrections become final.",
                s.observations.len(),
                s.corrections().len()
            ));
        }
        lines
    }

    /// `note.sign` in the editor: the required sections are checked first (the cursor goes to
    /// the first empty one), then the question.
    pub(super) fn ask_sign_editor_note(&mut self) {
        if !self.save_editor_for_signing() {
            return;
        }
        let Some(who) = self.signer() else {
            return;
        };
        let Some(e) = self.editor.as_mut() else {
            return;
        };
        let empty = e.empty_required();
        if let Some(first) = empty.first() {
            if let Some(i) = e.sections.iter().position(|s| &s.heading == first) {
                e.current = i;
            }
            let names: Vec<String> = empty.iter().map(|h| format!("\"{h}\"")).collect();
            self.say_error(format!(
                "Not signed: {} must have text first",
                names.join(", ")
            ));
            return;
        }
        let note = e.current_note();
        if self.refuse_rems_signing(&note, true) {
            return;
        }
        let lines = self.signing_lines(&note, &who);
        self.popup = Some(Popup::Confirm(Confirm {
            title: format!("Sign \"{}\"?", note.title),
            lines,
            yes: "sign".into(),
            action: ConfirmAction::SignEditorNote,
        }));
    }

    /// `note.sign` on the timeline or the detail: the selected draft.
    pub(super) fn ask_sign_selected_note(&mut self) {
        let Some(note) = self.selected_draft_to_sign() else {
            return;
        };
        let Some(who) = self.signer() else {
            return;
        };
        if self.refuse_rems_signing(&note, true) {
            return;
        }
        let lines = self.signing_lines(&note, &who);
        self.popup = Some(Popup::Confirm(Confirm {
            title: format!("Sign \"{}\"?", note.title),
            lines,
            yes: "sign".into(),
            action: ConfirmAction::SignNote(note.id),
        }));
    }

    /// `note.discard` on the timeline or the detail: the selected draft, after one question.
    /// Signed notes never; a session's note neither (the session is signed with it).
    pub(super) fn ask_discard_selected_draft(&mut self) {
        let Some(note) = self.selected_note() else {
            self.no_note_selected();
            return;
        };
        if note.is_signed() {
            self.say_error("A signed note is never discarded: an addendum corrects it".into());
            return;
        }
        if note.session.is_some() {
            self.say_error(
                "A session's note is not discarded: the session is signed with it; edit it instead"
                    .into(),
            );
            return;
        }
        let words: usize = note
            .sections
            .iter()
            .map(|s| s.body.split_whitespace().count())
            .sum();
        self.popup = Some(Popup::Confirm(Confirm {
            title: format!("Discard the draft \"{}\"?", note.title),
            lines: vec![
                format!("Its {words} words leave the timeline and the store for good."),
                "The audit log keeps that the draft existed and who discarded it, when.".into(),
            ],
            yes: "discard".into(),
            action: ConfirmAction::DiscardDraft(note.id),
        }));
    }

    /// Discards the draft `id` (confirmed), if it is still the selected, unsigned draft.
    fn discard_draft(&mut self, id: &RecordId) {
        match self.selected_note() {
            Some(n) if &n.id == id && !n.is_signed() => {}
            _ => {
                self.say_error("The selection moved: nothing was discarded".into());
                return;
            }
        }
        let removed = self.delete_draft(id);
        self.refresh_patient();
        match removed {
            Ok(()) => self.say("Draft discarded".into()),
            Err(e) => self.say_error(format!("The draft could not be discarded: {e:#}")),
        }
    }

    /// `patient.archive`: archiving asks first; bringing a patient back does not.
    pub(super) fn ask_archive(&mut self) -> anyhow::Result<()> {
        let Some(p) = self.current_patient() else {
            anyhow::bail!("No patient selected");
        };
        if p.archived {
            return self.toggle_archive();
        }
        let back = self.key_hint(KeyContext::Roster, Action::PatientArchive);
        let shows = self.key_hint(KeyContext::Roster, Action::ToggleArchived);
        self.popup = Some(Popup::Confirm(Confirm {
            title: format!("Archive {}?", p.name),
            lines: vec![
                "They leave the active patient list. Every record stays as it is:".into(),
                "nothing is deleted, and signed notes stay signed.".into(),
                format!("{shows} shows archived patients; {back} on them brings them back."),
            ],
            yes: "archive".into(),
            action: ConfirmAction::Archive(p.id),
        }));
        Ok(())
    }

    /// Enter or Esc in the confirmation.
    pub(super) fn update_confirm(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::PopupConfirm => {
                let Some(Popup::Confirm(c)) = self.popup.take() else {
                    return Ok(());
                };
                match c.action {
                    ConfirmAction::SignEditorNote => self.sign_editor_note(),
                    ConfirmAction::SignNote(id) => self.sign_note_by_id(&id),
                    ConfirmAction::Archive(id) => {
                        if self.current_patient().is_some_and(|p| p.id == id) {
                            self.toggle_archive()?;
                        }
                    }
                    ConfirmAction::DiscardDraft(id) => self.discard_draft(&id),
                }
            }
            Action::PopupClose => {
                self.popup = None;
                self.say("Nothing changed".into());
            }
            Action::Quit => self.request_quit(),
            other => anyhow::bail!(
                "{} does nothing here: {} confirms, {} cancels",
                other.name(),
                self.key_hint(KeyContext::Popup, Action::PopupConfirm),
                self.key_hint(KeyContext::Popup, Action::PopupClose)
            ),
        }
        Ok(())
    }
}

/// A question asked once: every key goes to `App::update_confirm`.
impl super::component::Component for Confirm {
    fn mode(&self) -> &'static str {
        "CONFIRM"
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        match action {
            Action::PopupConfirm => Some("yes"),
            Action::PopupClose => Some("cancel"),
            _ => None,
        }
    }
    fn hints(&self) -> &'static [Action] {
        &[Action::PopupConfirm, Action::PopupClose]
    }
}
