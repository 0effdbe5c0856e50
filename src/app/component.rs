//! Popups as components (as gitui's `Component`): each popup type says, next to its own code,
//! what the status bar calls it, which keys it hints, where typing goes, what it does with a
//! list move or a key of its own, and what an action does to it. The app asks the popup on top
//! through [`Popup::component`] and acts on the [`Outcome`]; only what needs the store (saving a
//! form, starting a note) stays with the app, reached by `App::confirm_popup` and
//! `App::popup_app_update`. A new popup is a type with this trait, a line in the `Popup` enum
//! and its lines in those two functions.

use super::field::TextField;
use super::{Action, App, Popup};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// What an action did to a popup, for the app to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done inside the popup (a move, a field change).
    Done,
    /// Close the popup (a form asks the app to keep what was typed: `App::close_popup`).
    Close,
    /// What the popup is for: open the draft, start the note, save the form.
    Confirm,
    /// Quit kitnotes (what is typed is kept).
    Quit,
    /// The popup's own app-side handler takes it (forms that read or write the store).
    App,
    /// Nothing here: the app says so.
    NotHere,
}

/// The hints of a list popup.
pub const LIST_HINTS: &[Action] = &[
    Action::PopupConfirm,
    Action::PopupClose,
    Action::MoveDown,
    Action::MoveUp,
];

/// The hints of a form with fields.
pub const FORM_HINTS: &[Action] = &[
    Action::FieldNext,
    Action::FieldPrev,
    Action::PopupConfirm,
    Action::PopupClose,
];

pub trait Component {
    /// The status bar's mode while it is open: "HELP", "DRAFTS".
    fn mode(&self) -> &'static str;

    /// The actions the status bar hints, most useful first.
    fn hints(&self) -> &'static [Action] {
        LIST_HINTS
    }

    /// The status bar's word for `action` here, where it is not the usual one.
    fn hint_word(&self, _action: Action) -> Option<&'static str> {
        None
    }

    /// The text field typed keys go into.
    fn field(&mut self) -> Option<&mut TextField> {
        None
    }

    /// After the field's text changed: a list narrows to what matches.
    fn after_typing(&mut self) {}

    /// A list move (a row, a page, the first or last); false when it is not one here.
    fn navigate(&mut self, _action: Action) -> bool {
        false
    }

    /// A key the popup takes before its field does. By default none: the forms whose keys need
    /// the app have them in `App::popup_key`; lists take `<Home>` and `<End>` ([`list_key`]).
    fn key(&mut self, _key: KeyEvent) -> bool {
        false
    }

    /// What `action` does here. By default the popup's app-side handler takes it
    /// (`App::popup_app_update`: forms that read or write the store); lists answer themselves
    /// ([`list_update`]).
    fn update(&mut self, _action: Action) -> Outcome {
        Outcome::App
    }
}

/// A list's own keys: `<Home>` and `<End>` go to the first and last row (the filter's start and
/// end stay on `<C-a>` and `<C-e>`).
pub fn list_key<C: Component + ?Sized>(c: &mut C, key: KeyEvent) -> bool {
    list_move(key).is_some_and(|action| c.navigate(action))
}

/// The move a list's own key makes: `<Home>` the first row, `<End>` the last.
pub fn list_move(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Home if key.modifiers.is_empty() => Some(Action::MoveTop),
        KeyCode::End if key.modifiers.is_empty() => Some(Action::MoveBottom),
        _ => None,
    }
}

/// What an action does to a list (or a one-field) popup: moves, close, confirm, quit.
pub fn list_update<C: Component + ?Sized>(c: &mut C, action: Action) -> Outcome {
    match action {
        _ if c.navigate(action) => Outcome::Done,
        Action::PopupClose => Outcome::Close,
        Action::PopupConfirm => Outcome::Confirm,
        Action::Quit => Outcome::Quit,
        _ => Outcome::NotHere,
    }
}

/// A filterable list popup as a component: typing narrows the list (`$list`, reached from `$s`,
/// the popup), the moves select, Enter does what the popup is for (its status word `$confirm`).
macro_rules! list_component {
    ($ty:ty, |$s:ident| $list:expr, $mode:expr, $confirm:literal) => {
        impl $crate::app::component::Component for $ty {
            #[allow(unused_variables)]
            fn mode(&self) -> &'static str {
                let $s = self;
                $mode
            }
            fn hint_word(&self, action: $crate::action::Action) -> Option<&'static str> {
                (action == $crate::action::Action::PopupConfirm).then_some($confirm)
            }
            fn field(&mut self) -> Option<&mut $crate::app::field::TextField> {
                let $s = self;
                Some(&mut $list.filter)
            }
            fn after_typing(&mut self) {
                let $s = self;
                $list.refilter();
            }
            fn navigate(&mut self, action: $crate::action::Action) -> bool {
                let $s = self;
                $list.navigate(action)
            }
            fn key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> bool {
                $crate::app::component::list_key(self, key)
            }
            fn update(
                &mut self,
                action: $crate::action::Action,
            ) -> $crate::app::component::Outcome {
                $crate::app::component::list_update(self, action)
            }
        }
    };
}
pub(crate) use list_component;

impl Popup {
    /// The popup as a component.
    pub fn component(&self) -> &dyn Component {
        match self {
            Popup::Help(p) => p,
            Popup::Palette(p) => p,
            Popup::Patient(p) => p,
            Popup::NewNote(p) => p,
            Popup::Addendum(p) => p,
            Popup::Drafts(p) => p,
            Popup::Protocols(p) => p,
            Popup::Correct(p) => p,
            Popup::Confirm(p) => p,
            Popup::Measure(p) => p,
            Popup::Goal(p) => p,
            Popup::Search(p) => p,
            Popup::Record(p) => p.as_ref(),
        }
    }

    /// The popup as a component, to change.
    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Popup::Help(p) => p,
            Popup::Palette(p) => p,
            Popup::Patient(p) => p,
            Popup::NewNote(p) => p,
            Popup::Addendum(p) => p,
            Popup::Drafts(p) => p,
            Popup::Protocols(p) => p,
            Popup::Correct(p) => p,
            Popup::Confirm(p) => p,
            Popup::Measure(p) => p,
            Popup::Goal(p) => p,
            Popup::Search(p) => p,
            Popup::Record(p) => p.as_mut(),
        }
    }
}

impl App {
    /// An action while a popup is open: the popup answers, the app finishes.
    pub(super) fn update_popup(&mut self, action: Action) -> anyhow::Result<()> {
        let Some(popup) = self.popup.as_mut() else {
            return Ok(());
        };
        match popup.component_mut().update(action) {
            Outcome::Done => {}
            Outcome::Close => self.close_popup(),
            Outcome::Confirm => self.confirm_popup()?,
            Outcome::Quit => self.request_quit(),
            Outcome::App => self.popup_app_update(action)?,
            Outcome::NotHere => {
                let form = matches!(self.popup, Some(Popup::Patient(_)));
                anyhow::bail!(
                    "{} does nothing in this {}",
                    action.name(),
                    if form { "form" } else { "popup" }
                );
            }
        }
        Ok(())
    }

    /// Closes the popup. A patient form with something typed in it is kept, to open again.
    pub(super) fn close_popup(&mut self) {
        if let Some(Popup::Patient(form)) = self.popup.take()
            && form.is_dirty()
        {
            self.stashed_forms.push(form);
            self.say(format!(
                "Form closed; what you typed is kept: {} opens it again",
                self.key_hint(super::KeyContext::Roster, Action::PatientNew)
            ));
        }
    }

    /// What a popup is for, done with the store: run the chosen command, open the draft,
    /// start the note or the session, save the form.
    fn confirm_popup(&mut self) -> anyhow::Result<()> {
        match &self.popup {
            Some(Popup::Help(_) | Popup::Palette(_)) => self.run_chosen_command(),
            Some(Popup::NewNote(_)) => self.start_note()?,
            Some(Popup::Protocols(_)) => self.start_session(),
            Some(Popup::Correct(_)) => self.choose_correct_entry(),
            Some(Popup::Drafts(_)) => self.open_chosen_draft()?,
            Some(Popup::Addendum(_)) => self.save_addendum()?,
            Some(Popup::Patient(_)) => self.save_patient_form()?,
            _ => {}
        }
        Ok(())
    }

    /// The popups whose every action needs the app: questions, measures, goals, search and the
    /// small record forms.
    fn popup_app_update(&mut self, action: Action) -> anyhow::Result<()> {
        match &self.popup {
            Some(Popup::Confirm(_)) => self.update_confirm(action)?,
            Some(Popup::Measure(_)) => self.update_measure_popup(action),
            Some(Popup::Goal(_)) => self.update_goal_popup(action),
            Some(Popup::Search(_)) => self.update_search_popup(action),
            Some(Popup::Record(_)) => self.update_record_form(action),
            _ => {}
        }
        Ok(())
    }

    /// A key a popup takes before its text field: its own first (a list's `<Home>`), then the
    /// app-side keys of the forms (an answer digit, a choice with the arrows, search's list).
    pub(super) fn popup_key(&mut self, key: KeyEvent) -> bool {
        if self
            .popup
            .as_mut()
            .is_some_and(|p| p.component_mut().key(key))
        {
            return true;
        }
        match &self.popup {
            Some(Popup::Measure(_)) => self.measure_key(key),
            Some(Popup::Goal(_)) => self.goal_key(key),
            Some(Popup::Search(_)) => self.search_key(key),
            Some(Popup::Record(_)) => self.record_form_key(key),
            _ => false,
        }
    }

    /// Help or the palette: Enter runs the chosen binding (from help too: finding a key and
    /// using it are one step).
    fn run_chosen_command(&mut self) {
        let (chosen, is_palette) = match &self.popup {
            Some(Popup::Help(p)) => (p.selected().map(|r| (r.action, r.keys.clone())), false),
            Some(Popup::Palette(p)) => (p.selected().map(|r| (r.action, r.keys.clone())), true),
            _ => return,
        };
        self.popup = None;
        match chosen {
            Some((Some(a), _)) if is_palette || !a.is_popup_only() => self.update(a),
            Some((Some(_), _)) => {}
            Some((None, keys)) => self.say(format!(
                "{keys}: a key of the text itself; press it in the note"
            )),
            None => self.say_error("Nothing matches".into()),
        }
    }
}
