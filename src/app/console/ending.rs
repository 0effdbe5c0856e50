//! Ending a session: one question at a time (why early, transport, the ready minute), then the
//! session note written from the record and opened in the editor.

use super::*;

impl App {
    /// `x`: the questions of ending, one line at a time.
    pub(in crate::app) fn begin_ending(&mut self) {
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
    pub(in crate::app) fn next_ending_step(&mut self, answer: impl FnOnce(&mut Ending)) {
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
        } else if ending.transport == Some(false)
            && ending.collected_by.is_none()
            && ending.refused.is_none()
        {
            Some(InputKind::Collector)
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
    pub(in crate::app) fn finish_ending(&mut self, ready_minutes: Option<u32>) {
        let Some(c) = self.console.as_ref() else {
            return;
        };
        let Some(ending) = c.ending.clone() else {
            return;
        };
        let at = ending.at.unwrap_or_else(|| self.now());
        let mut s = c.session.clone();
        s.discharge = Some(Box::new(Discharge {
            at,
            transport_arranged: ending.transport.unwrap_or(false),
            collected_by: ending.collected_by.clone(),
            transport_refused: ending.refused.clone(),
            ready_minutes,
        }));
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
}
