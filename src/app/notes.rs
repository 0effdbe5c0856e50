//! Writing notes: starting one from a template, the editor's actions and autosave, signing,
//! addenda, and reopening the draft that was open when kitnotes last stopped.
//!
//! Every save writes the whole note with its audit entry and flushes before the status bar says
//! "saved". A failed save keeps the text in the editor and is retried on the next tick; the
//! editor is never closed, and the app never quits, with text the store does not have.

use super::editor::{Editor, EditorMode, Resume};
use super::popup::{AddendumForm, FilteredList, Popup, TemplatePicker, TemplateRow};
use super::{Action, App, KeyContext, Pane};
use crate::model::timeline::EntryKind;
use crate::model::{Note, NoteError, Record, RecordId};
use anyhow::Context;
use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::CursorMove;

impl Action {
    /// Actions that only mean something while a note is open in the editor.
    pub fn is_editor_only(self) -> bool {
        matches!(
            self,
            Action::EditorClose
                | Action::EditorSave
                | Action::SectionNext
                | Action::SectionPrev
                | Action::Undo
                | Action::Redo
                | Action::EditorInsert
                | Action::EditorAppend
                | Action::EditorOpenLine
                | Action::EditorNormal
                | Action::DeleteChar
        ) || self.cursor_move().is_some()
    }

    /// The text-area motion of a cursor action.
    fn cursor_move(self) -> Option<CursorMove> {
        Some(match self {
            Action::CursorLeft => CursorMove::Back,
            Action::CursorRight => CursorMove::Forward,
            Action::CursorUp => CursorMove::Up,
            Action::CursorDown => CursorMove::Down,
            Action::CursorWordNext => CursorMove::WordForward,
            Action::CursorWordPrev => CursorMove::WordBack,
            Action::CursorLineStart => CursorMove::Head,
            Action::CursorLineEnd => CursorMove::End,
            _ => return None,
        })
    }
}

impl App {
    /// The only way to quit: the open draft is saved first, and what is typed elsewhere (the
    /// console line, forms) is kept in the store to come back at the next start. If the store
    /// cannot take it, kitnotes stays open with the text and says why; the same key again
    /// seals it into a rescue file beside the store and quits.
    pub fn request_quit(&mut self) {
        // A patient dosed and not discharged: the first quit asks.
        let dosed = self.console.as_ref().and_then(|c| {
            (c.session.dose_time.is_some() && c.session.discharge.is_none())
                .then(|| c.minutes(self.now()).unwrap_or_default())
        });
        if let Some(m) = dosed
            && !self.quit_dosed_asked
        {
            self.quit_dosed_asked = true;
            let quit = self.key_hint(self.pane_context(), Action::Quit);
            let end = self.key_hint(KeyContext::Console, Action::SessionEnd);
            self.say_error(format!(
                "The patient is dosed (+{m} min) and not discharged. {quit} again quits: the \
                 session stays open and its console reopens at the next start; {end} ends the \
                 session"
            ));
            return;
        }
        self.flush_if_needed();
        let editor = self.save_editor();
        let kept = !self.settings.keep_unsaved
            || self.keep_unsaved(super::unsaved::Keep::WithoutEditor, true);
        if editor && kept && !self.unflushed {
            self.quit = true;
            return;
        }
        let why = self
            .editor
            .as_ref()
            .and_then(|e| e.save_error.clone())
            .or_else(|| self.unsaved.error.clone())
            .unwrap_or_else(|| "the store cannot be written".into());
        let quit = self.key_hint(self.pane_context(), Action::Quit);
        if !self.quit_armed {
            self.quit_armed = true;
            self.say_error(format!(
                "Not quitting, NOT saved: {quit} again seals it in a rescue file and quits. \
                 Kept here, retrying ({why})"
            ));
            return;
        }
        match self.write_rescue() {
            Ok(path) => {
                self.exit_message = Some(format!(
                    "what could not be saved is sealed in {}; the next start brings it back",
                    path.display()
                ));
                self.quit = true;
            }
            Err(e) => self.say_error(format!(
                "Not quitting: the rescue file could not be written either ({e}); what you typed \
                 is kept here"
            )),
        }
    }

    pub(super) fn type_into_editor(&mut self, key: KeyEvent) {
        let now = self.now();
        if let Some(e) = self.editor.as_mut()
            && e.type_key(key)
        {
            e.changed(now);
        }
    }

    /// Writes the editor's text if it changed. Returns whether the store now has everything
    /// typed (true also when nothing was open or nothing changed).
    pub(super) fn save_editor(&mut self) -> bool {
        let Some(e) = self.editor.as_ref() else {
            return true;
        };
        if !e.is_dirty() {
            return true;
        }
        let note = e.current_note();
        let now = self.now();
        match self.write(Record::Note(note.clone())) {
            Ok(()) => {
                if let Some(e) = self.editor.as_mut() {
                    e.saved(note, now);
                }
                // Where the cursor is goes with the text it is in: a restart must not put it
                // back in the middle of a word typed since.
                if self.settings.keep_unsaved && !self.quit {
                    self.keep_unsaved(super::unsaved::Keep::Everything, true);
                }
                true
            }
            Err(err) => {
                let msg = format!("{err:#}");
                if let Some(e) = self.editor.as_mut() {
                    e.save_error = Some(msg.clone());
                }
                self.say_error(format!("Draft NOT saved, kept here, retrying: {msg}"));
                false
            }
        }
    }

    /// On start-up: a marker file from a kitnotes before the marker moved into the store
    /// (`app::unsaved`) is read once and removed, since it names a record in plain text.
    pub(super) fn resume_editor(&mut self) {
        let Some(path) = self.settings.resume_file.clone() else {
            return;
        };
        let Some(r) = Resume::read(&path) else {
            return;
        };
        let _ = Resume::clear(&path);
        if self.reopen_draft(&r) {
            self.say("Brought back your draft, where you left off".into());
        }
    }

    /// Reopens the draft `r` names, cursor and all, unless it was signed or removed since.
    pub(super) fn reopen_draft(&mut self, r: &Resume) -> bool {
        let note = match self.store.record(&r.note) {
            Ok(Some(Record::Note(n))) if !n.is_signed() => n,
            // Signed since, or gone: nothing to reopen.
            _ => return false,
        };
        self.show_record(&note.patient.clone(), &note.id.clone());
        self.open_editor(note, Some(r));
        true
    }

    /// Selects the timeline entry of record `id`, if the open patient has it.
    pub(super) fn select_entry(&mut self, id: &RecordId) {
        let h = self.list_height(Pane::Timeline);
        if let Some(v) = self.patient.as_mut()
            && let Some(i) = v.entries.iter().position(|e| &e.record == id)
        {
            v.cursor.select(i, v.entries.len(), h);
            v.detail_scroll = 0;
            v.found = None;
        }
    }

    pub(super) fn open_editor(&mut self, note: Note, at: Option<&Resume>) {
        let template = self.settings.templates.for_note(&note);
        let mut e = Editor::open(note, template);
        if let Some(r) = at {
            e.restore(r);
        }
        self.editor = Some(e);
    }

    /// The note selected in the timeline, as loaded.
    pub(super) fn selected_note(&self) -> Option<Note> {
        let v = self.patient.as_ref()?;
        let e = v.selected()?;
        if !matches!(e.kind, EntryKind::Note(_)) {
            return None;
        }
        v.records.notes.iter().find(|n| n.id == e.record).cloned()
    }

    pub(super) fn no_note_selected(&mut self) {
        let hint = self.key_hint(KeyContext::Timeline, Action::NoteNew);
        self.say_error(format!(
            "Select a note in the timeline first; {hint} writes a new one"
        ));
    }

    pub(super) fn open_template_picker(&mut self) {
        let Some(patient) = self.patient.as_ref().map(|v| v.records.patient.id.clone()) else {
            self.say_error("Choose a patient first".into());
            return;
        };
        let mut rows: Vec<TemplateRow> = self
            .settings
            .templates
            .iter()
            .map(|l| TemplateRow {
                id: l.template.id.clone(),
                kind: l.template.kind,
                name: l.template.name.clone(),
            })
            .collect();
        if rows.is_empty() {
            self.say_error("No note templates are installed".into());
            return;
        }
        // The template used last comes first: one key and Enter repeat it.
        if let Some(last) = &self.last_template
            && let Some(i) = rows.iter().position(|r| &r.id == last)
        {
            rows[..=i].rotate_right(1);
        }
        self.popup = Some(Popup::NewNote(TemplatePicker {
            patient,
            list: FilteredList::new(rows, self.size),
        }));
    }

    /// Creates the draft from the chosen template, writes it, and opens it in the editor.
    pub(super) fn start_note(&mut self) -> anyhow::Result<()> {
        let Some(Popup::NewNote(p)) = self.popup.as_ref() else {
            return Ok(());
        };
        let Some(row) = p.list.selected().cloned() else {
            anyhow::bail!("No template matches");
        };
        let patient = p.patient.clone();
        let Some(template) = self.settings.templates.get(&row.id).cloned() else {
            anyhow::bail!("Template {} is no longer loaded", row.id);
        };
        let now = self.now();
        let id = RecordId::from_uuid(self.ids.next(now));
        let note = template.new_note(id.clone(), patient, now);
        self.write(Record::Note(note.clone()))
            .context("The note could not be created")?;
        self.popup = None;
        self.last_template = Some(row.id);
        self.refresh_patient();
        self.select_entry(&id);
        self.open_editor(note, None);
        self.say(format!("New {}: type away, it saves itself", row.name));
        Ok(())
    }

    pub(super) fn edit_selected_note(&mut self) -> anyhow::Result<()> {
        if self.edit_selected_goal() {
            return Ok(());
        }
        let Some(note) = self.selected_note() else {
            self.no_note_selected();
            return Ok(());
        };
        if note.is_signed() {
            let hint = self.key_hint(self.focus.context(), Action::NoteAddendum);
            self.say_error(format!(
                "This note is signed and final; {hint} adds an addendum"
            ));
            return Ok(());
        }
        self.open_editor(note, None);
        Ok(())
    }

    fn clinician(&mut self) -> Option<String> {
        match self.settings.clinician.clone() {
            Some(c) if !c.trim().is_empty() => Some(c),
            _ => {
                self.say_error(
                    "Signing needs your name: add clinician = \"Your Name\" to config.toml".into(),
                );
                None
            }
        }
    }

    /// Signs `note` and writes it; on refusal says why (naming empty required sections).
    fn sign_and_write(&mut self, mut note: Note) -> bool {
        let Some(by) = self.clinician() else {
            return false;
        };
        // Checked again here: the form may have lost a field since the question was asked.
        if self.refuse_rems_signing(&note, false) {
            return false;
        }
        let now = self.now();
        if let Err(e) = self.settings.templates.sign(&mut note, &by, now) {
            self.say_error(match e {
                NoteError::RequiredSectionsEmpty(ref s) => format!(
                    "Not signed: {} must have text first",
                    s.iter()
                        .map(|h| format!("\"{h}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => format!("Not signed: {other}"),
            });
            return false;
        }
        let title = note.title.clone();
        // A session note signs its dosing session with it, in the same write: from then on
        // the vitals and observations are as final as the note.
        let mut records = Vec::new();
        if let Some(sid) = note.session.as_ref()
            && let Ok(Some(Record::Session(mut s))) = self.store.record(sid.as_str())
            && !s.is_signed()
            && note.kind == crate::model::NoteKind::Session
            && s.sign(&by, now).is_ok()
        {
            records.push(Record::Session(s));
        }
        let with_session = !records.is_empty();
        records.push(Record::Note(note));
        if let Err(e) = self.write_all(records) {
            self.say_error(format!("Not signed: {e:#}"));
            return false;
        }
        let also = if with_session {
            " with its session record"
        } else {
            ""
        };
        self.say(format!("Signed \"{title}\"{also} as {by}; it is final now"));
        true
    }

    /// The clinician's name for a signature, or says how to set it.
    pub(super) fn signer(&mut self) -> Option<String> {
        self.clinician()
    }

    /// The draft selected on the timeline, or says why there is none to sign.
    pub(super) fn selected_draft_to_sign(&mut self) -> Option<Note> {
        let Some(note) = self.selected_note() else {
            self.no_note_selected();
            return None;
        };
        if note.is_signed() {
            self.say_error("This note is already signed".into());
            return None;
        }
        Some(note)
    }

    /// Signs the note `id` (confirmed in the popup), if it is still the selected draft.
    pub(super) fn sign_note_by_id(&mut self, id: &crate::model::RecordId) {
        let Some(note) = self.selected_draft_to_sign() else {
            return;
        };
        if &note.id != id {
            self.say_error("The selection moved: nothing was signed".into());
            return;
        }
        if self.sign_and_write(note) {
            self.refresh_patient();
            self.select_entry(id);
        }
    }

    /// Saves the editor's draft before the signing question; false (and said why) if not saved.
    pub(super) fn save_editor_for_signing(&mut self) -> bool {
        self.save_editor()
    }

    /// Signs the note open in the editor (confirmed in the popup) and closes the editor.
    pub(super) fn sign_editor_note(&mut self) {
        if !self.save_editor() {
            return;
        }
        let Some(e) = self.editor.as_mut() else {
            return;
        };
        let note = e.current_note();
        if self.sign_and_write(note) {
            let status = self.status.take();
            self.editor = None;
            self.refresh_patient();
            if let Some(v) = self.patient.as_ref()
                && v.selected().is_none()
            {
                self.focus = Pane::Timeline;
            }
            self.status = status;
        }
    }

    pub(super) fn open_addendum(&mut self) {
        let Some(note) = self.selected_note() else {
            self.no_note_selected();
            return;
        };
        if !note.is_signed() {
            let hint = self.key_hint(self.focus.context(), Action::NoteEdit);
            self.say_error(format!(
                "This note is a draft: {hint} continues writing it; addenda are for signed notes"
            ));
            return;
        }
        if self.clinician().is_none() {
            return;
        }
        self.popup = Some(Popup::Addendum(AddendumForm {
            note: note.id,
            title: note.title,
            field: Default::default(),
        }));
    }

    pub(super) fn save_addendum(&mut self) -> anyhow::Result<()> {
        let Some(Popup::Addendum(form)) = self.popup.as_ref() else {
            return Ok(());
        };
        let (id, text) = (form.note.clone(), form.field.text().to_string());
        let Some(by) = self.clinician() else {
            return Ok(());
        };
        let mut note = match self.store.record(id.as_str()) {
            Ok(Some(Record::Note(n))) => n,
            Ok(_) => {
                anyhow::bail!("That note is no longer in the store");
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context("Cannot read the note"));
            }
        };
        let now = self.now();
        // The popup stays open with the text on any refusal, so nothing typed is lost.
        if let Err(e) = note.add_addendum(&text, &by, now) {
            anyhow::bail!("Not added: {e}");
        }
        self.write(Record::Note(note)).context("Not added")?;
        self.popup = None;
        self.refresh_patient();
        self.select_entry(&id);
        self.say(format!("Addendum added, signed by {by}"));
        Ok(())
    }

    /// Leaves the editor once the store has everything typed.
    /// A draft with nothing written in any section (opened and left at once: blank or its
    /// template's starter text) is not kept: it is removed, with its audit entry, rather than
    /// left as an empty draft to sign or delete.
    fn close_editor(&mut self) -> bool {
        if !self.save_editor() {
            return false;
        }
        let Some(e) = self.editor.take() else {
            return true;
        };
        let id = e.note.id.clone();
        let note = e.current_note();
        let untouched = match self.settings.templates.for_note(&note) {
            Some(t) => t.untouched(&note),
            None => e.sections.iter().all(|s| s.is_empty()),
        };
        let empty = untouched && !note.is_signed() && note.addenda.is_empty();
        if empty {
            let removed = self.delete_draft(&id);
            self.refresh_patient();
            match removed {
                Ok(()) => self.say("The draft was empty: not kept".into()),
                Err(err) => self.say_error(format!(
                    "The empty draft could not be removed ({err:#}); it stays in the timeline"
                )),
            }
            return false;
        }
        self.refresh_patient();
        self.select_entry(&id);
        true
    }

    /// Removes the unsigned draft `id` with its audit entry, and makes it durable.
    pub(super) fn delete_draft(&mut self, id: &crate::model::RecordId) -> anyhow::Result<()> {
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let actor = crate::store::Actor::new(who, self.now());
        self.store
            .apply_audited(&[crate::store::Change::Delete(id.to_string())], &actor)?;
        self.flush_store()
    }

    pub(super) fn update_editor(&mut self, action: Action) {
        let now = self.now();
        match action {
            Action::Quit => self.request_quit(),
            Action::Help => self.open_help(),
            Action::Palette => self.open_palette(),
            Action::EditorClose => {
                if self.close_editor() {
                    let hint = self.key_hint(KeyContext::Timeline, Action::NoteEdit);
                    self.say(format!("Draft saved; {hint} continues it"));
                }
            }
            Action::EditorSave => {
                if self.save_editor() {
                    self.say("Draft saved".into());
                }
            }
            Action::SectionNext | Action::SectionPrev => {
                // Moving on is a natural moment to make what was written durable.
                self.save_editor();
                if let Some(e) = self.editor.as_mut() {
                    e.move_section(if action == Action::SectionNext { 1 } else { -1 });
                }
            }
            // Shows what becomes final and asks once (app/confirm.rs).
            Action::NoteSign => self.ask_sign_editor_note(),
            Action::ToggleTheme => self.cycle_theme(),
            a => {
                let Some(e) = self.editor.as_mut() else {
                    return;
                };
                let mut changed = false;
                if let Some(m) = a.cursor_move() {
                    if let Some(s) = e.section() {
                        s.area.move_cursor(m);
                    }
                    return;
                }
                match a {
                    Action::EditorInsert => e.mode = EditorMode::Insert,
                    Action::EditorNormal if e.mode == EditorMode::Normal => {
                        // Already moving, not typing: say how to go on rather than nothing.
                        let ctx = KeyContext::EditorNormal;
                        let close = self.key_hint(ctx, Action::EditorClose);
                        let insert = self.key_hint(ctx, Action::EditorInsert);
                        let save = self.key_hint(ctx, Action::EditorSave);
                        self.say(format!(
                            "Normal mode: {insert} types, {save} saves, {close} leaves the note"
                        ));
                        return;
                    }
                    Action::EditorNormal => e.mode = EditorMode::Normal,
                    Action::EditorAppend => {
                        if let Some(s) = e.section() {
                            s.area.move_cursor(CursorMove::Forward);
                        }
                        e.mode = EditorMode::Insert;
                    }
                    Action::EditorOpenLine => {
                        if let Some(s) = e.section() {
                            s.area.move_cursor(CursorMove::End);
                            s.area.insert_newline();
                            changed = true;
                        }
                        e.mode = EditorMode::Insert;
                    }
                    Action::Undo => changed = e.section().is_some_and(|s| s.area.undo()),
                    Action::Redo => changed = e.section().is_some_and(|s| s.area.redo()),
                    Action::DeleteChar => {
                        changed = e.section().is_some_and(|s| s.area.delete_next_char())
                    }
                    other => {
                        let hint = self.key_hint(self.pane_context(), Action::EditorClose);
                        self.say_error(format!(
                            "{} does not work in the note editor; {hint} leaves it (the draft is saved)",
                            other.name()
                        ));
                    }
                }
                if changed && let Some(e) = self.editor.as_mut() {
                    e.changed(now);
                }
            }
        }
    }
}
