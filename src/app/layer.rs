//! Who has the keyboard. [`App::layer`] is the one place that decides it, from the top: the
//! lock screen, a popup, the editor, the console's entry line, the console, the roster's
//! filter line, a full-screen view, the panes (as yazi's `Core::layer`). The key context the
//! keymap resolves in, the hints, where typing and pasting go, the mouse, and which `update_*`
//! an action reaches all derive from it. The privacy screen is not a layer: it hides whatever
//! layer is on top and filters keys before they reach it (`key_while_hidden`).

use super::editor::EditorMode;
use super::field::TextField;
use super::views::View;
use super::{Action, App, KeyContext, Pane, Popup, lock};
use crate::keymap::Resolved;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

/// What has the keyboard, top first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The lock screen's passphrase field.
    Lock,
    /// A popup or form: help, the palette, a picker, a form, a question.
    Popup,
    /// The note editor, in its mode.
    Editor(EditorMode),
    /// The session console's one-line entry (an observation, vitals, a REMS question).
    ConsoleLine,
    /// The session console.
    Console,
    /// The patient list's filter line.
    RosterFilter,
    /// Today or the course view, over the panes.
    View(ViewKind),
    /// The three panes, one focused.
    Panes(Pane),
}

/// Which full-screen view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Today,
    Course,
}

impl Layer {
    /// The keymap context keys resolve in on this layer.
    pub fn context(self) -> KeyContext {
        match self {
            Layer::Lock | Layer::Popup | Layer::ConsoleLine | Layer::RosterFilter => {
                KeyContext::Popup
            }
            Layer::Editor(EditorMode::Insert) => KeyContext::EditorInsert,
            Layer::Editor(_) => KeyContext::EditorNormal,
            Layer::Console => KeyContext::Console,
            Layer::View(ViewKind::Today) => KeyContext::Today,
            Layer::View(ViewKind::Course) => KeyContext::Course,
            Layer::Panes(p) => p.context(),
        }
    }

    /// Whether keys on this layer are typed into text (a field, a line, the editor).
    pub fn takes_typing(self) -> bool {
        matches!(
            self,
            Layer::Lock
                | Layer::Popup
                | Layer::ConsoleLine
                | Layer::RosterFilter
                | Layer::Editor(EditorMode::Insert)
        )
    }

    /// Whether unbound keys go into a one-line text field (not the editor).
    pub(super) fn types_into_field(self) -> bool {
        matches!(
            self,
            Layer::Popup | Layer::ConsoleLine | Layer::RosterFilter
        )
    }
}

impl App {
    /// Who has the keyboard now.
    pub fn layer(&self) -> Layer {
        if self.lock.is_some() {
            Layer::Lock
        } else if self.popup.is_some() {
            Layer::Popup
        } else {
            self.layer_under_popups()
        }
    }

    /// The layer under any popup (and under the lock): what help describes and the palette
    /// acts on.
    pub fn layer_under_popups(&self) -> Layer {
        if let Some(e) = &self.editor {
            Layer::Editor(e.mode)
        } else if let Some(c) = &self.console {
            if c.input.is_some() {
                Layer::ConsoleLine
            } else {
                Layer::Console
            }
        } else if self.roster.input.is_some() {
            Layer::RosterFilter
        } else {
            match &self.view {
                Some(View::Today(_)) => Layer::View(ViewKind::Today),
                Some(View::Course(_)) => Layer::View(ViewKind::Course),
                None => Layer::Panes(self.focus),
            }
        }
    }

    /// Where keys go now.
    pub fn key_context(&self) -> KeyContext {
        self.layer().context()
    }

    /// The context under any popup or entry line: what help describes and the palette acts on
    /// (the console for its entry line, the focused pane for the roster's filter).
    pub fn pane_context(&self) -> KeyContext {
        match self.layer_under_popups() {
            Layer::ConsoleLine => KeyContext::Console,
            Layer::RosterFilter => self.focus.context(),
            other => other.context(),
        }
    }

    /// One key press from the terminal. Releases and repeats of a release are ignored, so a
    /// terminal that reports both never doubles a key.
    pub fn key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let layer = self.layer();
        if layer == Layer::Lock {
            self.lock_key(key);
            return;
        }
        if !self.user_activity() {
            return;
        }
        let ctx = layer.context();
        if self.privacy {
            if !self.key_while_hidden(layer, key) {
                return;
            }
        } else if self.pending.is_empty() && self.is_single_key_for(ctx, &key, Action::Privacy) {
            // The privacy key works everywhere, even while typing (where it is never a
            // printable key: the keymap binds <F12> there).
            self.toggle_privacy();
            return;
        }
        self.status = None;
        // A key the keymap cannot name (a lone modifier, a media key) or does not bind, alone,
        // is typed where the layer takes typing; an unbound sequence is said.
        let typed = match self.keymap.resolve(ctx, &mut self.pending, &key) {
            Resolved::Action(a) => {
                self.update(a);
                None
            }
            Resolved::Pending | Resolved::Noop | Resolved::Cancelled => None,
            Resolved::Ignored => self.pending.is_empty().then_some(key),
            Resolved::Unbound(seq) if seq.len() == 1 && layer.takes_typing() => Some(key),
            Resolved::Unbound(seq) => {
                self.say_error(format!(
                    "{seq} does nothing here; {} shows the keys",
                    self.key_hint(ctx, Action::Help)
                ));
                None
            }
        };
        if let Some(key) = typed {
            match layer {
                Layer::Editor(EditorMode::Insert) => self.type_into_editor(key),
                l if l.types_into_field() => self.type_into_field(key),
                _ => {}
            }
        }
        self.after_key();
    }

    /// After every key: what is typed is kept in the store (at most every 0.7 s while typing,
    /// at once when the editor or the console opened or closed).
    pub(super) fn after_key(&mut self) {
        if self.settings.keep_unsaved && self.lock.is_none() && !self.quit {
            self.keep_unsaved(super::unsaved::Keep::Everything, false);
        }
    }

    /// Pasted text goes into the text field that has focus; elsewhere it is refused with a
    /// message, never taken as a burst of commands.
    pub fn paste(&mut self, text: &str) {
        let layer = self.layer();
        if layer == Layer::Lock {
            self.lock_paste(text);
            return;
        }
        if !self.user_activity() || self.privacy {
            return;
        }
        match layer {
            // Into the note in either mode, at the cursor.
            Layer::Editor(_) => {
                let now = self.clock.now();
                if let Some(e) = self.editor.as_mut()
                    && e.paste(text)
                {
                    e.changed(now);
                }
            }
            _ => match self.focused_field() {
                Some(f) => {
                    f.paste(text);
                    self.after_typing();
                }
                None => self.say_error("Nothing to paste into here".to_string()),
            },
        }
    }

    /// The one-line text field keys are typed into on this layer.
    pub(super) fn focused_field(&mut self) -> Option<&mut TextField> {
        match self.layer() {
            Layer::Popup => self.popup.as_mut()?.component_mut().field(),
            Layer::ConsoleLine => self
                .console
                .as_mut()
                .and_then(|c| c.input.as_mut())
                .map(|i| &mut i.field),
            Layer::RosterFilter => self.roster.input.as_mut(),
            _ => None,
        }
    }

    pub(super) fn type_into_field(&mut self, key: KeyEvent) {
        // A popup's own keys come before its text field: a list's Home and End, an answer
        // digit, a choice with the arrows.
        if self.layer() == Layer::Popup && self.popup_key(key) {
            return;
        }
        if let Some(f) = self.focused_field()
            && f.key(key)
        {
            self.after_typing();
        }
    }

    /// After the text of the focused field changed.
    pub(super) fn after_typing(&mut self) {
        match self.layer() {
            // Search runs as the words are typed.
            Layer::Popup if matches!(self.popup, Some(Popup::Search(_))) => self.run_search(),
            Layer::Popup => {
                if let Some(p) = self.popup.as_mut() {
                    p.component_mut().after_typing();
                }
            }
            Layer::ConsoleLine => {
                if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                    i.error = None;
                }
            }
            Layer::RosterFilter => {
                let height = self.list_height(Pane::Roster);
                if let Some(input) = &self.roster.input {
                    self.roster.query = input.text().to_string();
                    self.roster.refilter();
                    self.roster.cursor.top(self.roster.rows.len(), height);
                    self.load_selected_patient();
                }
            }
            _ => {}
        }
    }

    /// Changes state for one action, on the layer that has the keyboard. A handler that fails
    /// returns its error, which is said here, in the status line: one place for every message
    /// of a failed action.
    pub fn update(&mut self, action: Action) {
        if action != Action::Quit {
            self.quit_armed = false;
            self.quit_dosed_asked = false;
        }
        // Locking works the same from every pane, popup, form and the editor: what is typed
        // there stays as it is, under the lock screen.
        if action == Action::Lock {
            self.lock_now(lock::LockCause::Key);
            return;
        }
        let done = match self.layer() {
            // The lock screen's keys never become actions.
            Layer::Lock => Ok(()),
            Layer::Popup => self.update_popup(action),
            Layer::Editor(_) => {
                self.update_editor(action);
                Ok(())
            }
            Layer::ConsoleLine | Layer::Console => self.update_console(action),
            Layer::RosterFilter => {
                self.update_filter(action);
                Ok(())
            }
            Layer::View(_) => self.update_view(action),
            Layer::Panes(_) => self.update_panes(action),
        };
        if let Err(e) = done {
            self.say_error(format!("{e:#}"));
        }
    }

    /// Whether `key` alone is bound to `action` in `ctx` or in `global` (for the privacy key,
    /// which works in every context, even while typing).
    pub(super) fn is_single_key_for(
        &self,
        ctx: KeyContext,
        key: &KeyEvent,
        action: Action,
    ) -> bool {
        let Some(k) = crate::keymap::Key::from_event(key) else {
            return false;
        };
        [ctx, KeyContext::Global].into_iter().any(|c| {
            self.keymap
                .keys_for(c, action)
                .iter()
                .any(|seq| seq.keys() == [k])
        })
    }

    /// A key while the screen is hidden. The privacy key and the lock key (when not printable
    /// ones) and `<Esc>` do what they say; where text is being typed (a console line, a form,
    /// the editor) the key goes there as usual (true: handle it normally); elsewhere no command
    /// runs blind: in the console printable keys are held for an observation, other keys are
    /// counted and said when the screen comes back.
    pub(super) fn key_while_hidden(&mut self, layer: Layer, key: KeyEvent) -> bool {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let ctx = layer.context();
        let printable = matches!(key.code, KeyCode::Char(_))
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if self.is_single_key_for(ctx, &key, Action::Lock) && !printable {
            self.lock_now(lock::LockCause::Key);
            return false;
        }
        let privacy = self.is_single_key_for(ctx, &key, Action::Privacy)
            || self.is_single_key_for(KeyContext::Global, &key, Action::Privacy);
        if (privacy && !printable) || (key.code == KeyCode::Esc && !layer.takes_typing()) {
            self.toggle_privacy();
            return false;
        }
        if layer.takes_typing() {
            return true;
        }
        match key.code {
            KeyCode::Char(c) if printable && self.console.is_some() => self.hidden.held.push(c),
            _ => self.hidden.ignored += 1,
        }
        false
    }
}
