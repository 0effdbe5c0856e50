//! The app's state and everything that changes it: named actions, focus, popups. No drawing
//! and no terminal I/O here: `ui` reads this state and `tui` feeds it events.
//!
//! A key travels: `App::key` -> the keymap resolves it in the current [`KeyContext`] to an
//! [`Action`] (or hands it to the focused text field) -> `App::update` changes state, writing
//! to the store where the action saves something -> the next frame draws from state.

pub mod action;
mod chart;
pub mod confirm;
pub mod console;
pub mod detail;
pub mod drafts;
pub mod editor;
pub mod field;
pub mod fuzzy;
pub mod goal_form;
pub mod goals;
mod kept;
pub mod list;
mod list_form;
pub mod lock;
pub mod measures;
mod notes;
pub mod patient_form;
mod popup;
pub mod record_form;
mod rems;
pub mod search;
mod unsaved;
pub mod views;

pub use action::{Action, KeyContext};
pub use drafts::{DraftRow, unsigned_drafts};
pub use popup::{
    AddendumForm, Filterable, FilteredList, ListPopup, Popup, PopupRow, TemplatePicker, TemplateRow,
};

use crate::clock::{Clock, IdSource};
use crate::keymap::{KeySeq, Keymap, Resolved};
use crate::model::monitoring::Thresholds;
use crate::model::{Patient, PatientId, PatientRecords, Record, TimelineEntry};
use crate::store::Store;
use crate::templates::Templates;
use editor::{Editor, EditorMode};
use field::TextField;
use fuzzy::Hit;
use jiff::tz::TimeZone;
use list::ListCursor;
use patient_form::{FormTarget, PatientForm};
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

/// The three panes. Narrow terminals show two of them at a time, wide ones all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Roster,
    Timeline,
    Detail,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Roster, Pane::Timeline, Pane::Detail];

    pub fn context(self) -> KeyContext {
        match self {
            Pane::Roster => KeyContext::Roster,
            Pane::Timeline => KeyContext::Timeline,
            Pane::Detail => KeyContext::Detail,
        }
    }
}

/// Colours: the standard theme, one with stronger contrast, and monochrome (also what
/// `NO_COLOR` gives), where focus and selection are shown by reverse video and bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeKind {
    Standard,
    HighContrast,
    Monochrome,
}

impl ThemeKind {
    pub fn label(self) -> &'static str {
        match self {
            ThemeKind::Standard => "standard",
            ThemeKind::HighContrast => "high contrast",
            ThemeKind::Monochrome => "monochrome",
        }
    }
}

/// What a tick can change on screen (`App::visible_state`).
#[derive(Debug, PartialEq, Eq)]
pub struct VisibleState(Option<Status>, bool, Option<(bool, bool)>, bool);

/// Keys typed while the screen was hidden that had no text input to go to.
#[derive(Debug, Default)]
struct HiddenKeys {
    /// Printable keys in the session console: put into an observation line when it is back.
    held: String,
    /// Other keys: counted and said.
    ignored: usize,
}

/// A one-line message in the status bar until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// The patient list: everyone in the store, the filter, and the selection.
#[derive(Debug, Default)]
pub struct Roster {
    pub patients: Vec<Patient>,
    pub show_archived: bool,
    /// The filter as typed; rows are the patients that match it, best first.
    pub query: String,
    /// The filter field while the user is typing in it.
    pub input: Option<TextField>,
    pub rows: Vec<Hit>,
    pub cursor: ListCursor,
}

impl Roster {
    pub fn selected(&self) -> Option<&Patient> {
        self.rows
            .get(self.cursor.selected)
            .map(|h| &self.patients[h.index])
    }

    fn refilter(&mut self) {
        let keep = |p: &Patient| self.show_archived || !p.archived;
        let candidates: Vec<usize> = (0..self.patients.len())
            .filter(|&i| keep(&self.patients[i]))
            .collect();
        self.rows = fuzzy::rank(
            &self.query,
            candidates.iter().map(|&i| self.patients[i].name.as_str()),
        )
        .into_iter()
        .map(|h| Hit {
            index: candidates[h.index],
            positions: h.positions,
        })
        .collect();
    }
}

/// The selected patient's records and where the user is in their timeline.
#[derive(Debug)]
pub struct PatientView {
    pub records: PatientRecords,
    pub entries: Vec<TimelineEntry>,
    /// The patient's courses and the current one's records, read with the records.
    pub course: crate::model::course::CourseNow,
    pub cursor: ListCursor,
    /// Lines scrolled off the top of the detail pane.
    pub detail_scroll: usize,
    /// The search result last opened here, whose words the detail pane highlights while its
    /// entry stays selected.
    pub found: Option<search::FoundEntry>,
}

impl PatientView {
    pub fn selected(&self) -> Option<&TimelineEntry> {
        self.entries.get(self.cursor.selected)
    }
}

/// Settings the app needs from config.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub clinician: Option<String>,
    pub time_zone: TimeZone,
    pub theme: ThemeKind,
    pub thresholds: Thresholds,
    /// Doses in an induction course, for "session 3 of 6".
    pub induction_sessions: u32,
    /// How long without a dose before kitnotes suggests a re-induction (`[courses]
    /// reinduction_gap`), and where the courses of a store without course records split.
    pub reinduction_gap: crate::model::cadence::CadenceStep,
    /// Weeks without a check-in or progress that mark a goal stalled (`[goals]`).
    pub stalled_weeks: u32,
    /// When integration check-ins are due after each dose.
    pub cadence: crate::model::cadence::Cadence,
    /// A short name for the store, shown in the header ("demo" for the demo store).
    pub store_label: String,
    /// The note templates: built-ins and the user's own.
    pub templates: Templates,
    /// Template files that did not load, one message each; shown at start-up, never dropped.
    pub template_errors: Vec<String>,
    /// The dosing protocols: built-ins and the user's own.
    pub protocols: crate::protocols::Protocols,
    /// Protocol files that did not load, one message each; shown at start-up.
    pub protocol_errors: Vec<String>,
    /// Where the editor records which note is open and where its cursor is, so a restart after
    /// a crash reopens it. None: no such memory (tests that do not need it).
    pub resume_file: Option<std::path::PathBuf>,
    /// When the screen locks by itself (`lock_after` in config.toml).
    pub lock_after: lock::LockAfter,
    /// The same while a patient is dosed in the console (`lock_during_session`).
    pub lock_during_session: lock::LockAfter,
    /// `NO_COLOR` is set: the theme stays monochrome.
    pub no_color: bool,
    /// Where `chart.pdf` writes a patient's chart (`<data dir>/exports`); None: nowhere, and the
    /// action says so.
    pub export_dir: Option<std::path::PathBuf>,
    /// Whether what is typed but not yet a record is kept in the store and brought back at the
    /// next start (`app::unsaved`). Off for pictures, which must not change what a real start
    /// brings back.
    pub keep_unsaved: bool,
    /// The monitoring provider and setting for the REMS form (`[clinic]` in config.toml).
    pub clinic: crate::model::Clinic,
    /// Where `session.rems_summary` writes the REMS summaries (`<data dir>/rems`). None: it
    /// says there is no folder.
    pub rems_dir: Option<std::path::PathBuf>,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            clinician: None,
            time_zone: TimeZone::UTC,
            theme: ThemeKind::Standard,
            thresholds: Thresholds::default(),
            induction_sessions: 6,
            reinduction_gap: crate::model::course::DEFAULT_REINDUCTION_GAP,
            stalled_weeks: crate::model::summary::STALLED_WEEKS,
            cadence: Default::default(),
            store_label: String::new(),
            templates: crate::templates::builtins().clone(),
            template_errors: Vec::new(),
            protocols: crate::protocols::builtin().protocols,
            protocol_errors: Vec::new(),
            resume_file: None,
            lock_after: lock::LockAfter::default(),
            lock_during_session: lock::LockAfter::DURING_SESSION,
            no_color: false,
            export_dir: None,
            keep_unsaved: true,
            clinic: crate::model::Clinic::default(),
            rems_dir: None,
        }
    }
}

/// Work another thread hands the app that needs its store, run on every tick (the audit entry of
/// a backup written while kitnotes is open: `cli::backup`); what it returns is shown in the
/// status bar.
pub type StoreTask = Box<dyn FnMut(&dyn Store) -> Option<String>>;

/// All state of a running kitnotes.
pub struct App {
    store: Box<dyn Store>,
    clock: Box<dyn Clock>,
    ids: IdSource,
    pub settings: AppSettings,
    pub keymap: Keymap,
    pub theme: ThemeKind,
    pub focus: Pane,
    pub roster: Roster,
    pub patient: Option<PatientView>,
    pub popup: Option<Popup>,
    /// The draft note being written, drawn over the panes.
    pub editor: Option<Editor>,
    /// The session console, full screen, while a dosing session is open in it.
    pub console: Option<console::Console>,
    /// Today or the Course view, full screen over the panes.
    pub view: Option<views::View>,
    /// The screen is blanked (the privacy key); see `key_while_hidden` for the keys then.
    pub privacy: bool,
    /// Keys typed while the screen was blank that went nowhere.
    hidden: HiddenKeys,
    /// Locked (after idle time or the lock key): only the lock screen is drawn, and nothing
    /// reads the store until the passphrase unlocks it.
    pub lock: Option<lock::LockScreen>,
    /// The last key, paste or mouse event, for the idle lock.
    last_input: jiff::Timestamp,
    /// Written to the store but not yet flushed to disk; the next tick flushes.
    unflushed: bool,
    /// The records written since the last durable flush (the console's session), and whether a
    /// flush failed since: after a failed flush the store may reopen its database (a full
    /// disk, `SledStore::mend`), which forgets them, so they are written again before the next
    /// flush, and go into a rescue file if the store never takes them.
    undurable: Vec<Record>,
    flush_failed: bool,
    /// A write or flush failed and none has worked since: the first that works says so.
    write_trouble: bool,
    /// The template of the last note started, offered first next time.
    last_template: Option<String>,
    /// Keys of a sequence typed so far (`g` of `g g`).
    pub pending: KeySeq,
    pub status: Option<Status>,
    /// Forms closed with Esc, kept so nothing typed is lost: the new-patient draft, and edits
    /// by patient id.
    stashed_forms: Vec<PatientForm>,
    /// Questionnaires, goals and check-ins closed with Esc, kept to come back.
    kept: kept::KeptForms,
    /// The last search (query, scope, selected result), brought back by the key that opens it.
    kept_search: Option<search::KeptSearch>,
    /// Set only by [`App::request_quit`], which saves the open draft first.
    pub quit: bool,
    /// Set when Quit was refused once because of an unsaved form.
    quit_armed: bool,
    /// Set when Quit was refused once because a patient is dosed in the console.
    quit_dosed_asked: bool,
    /// The terminal's size, for paging and for which panes are shown.
    pub size: (u16, u16),
    store_tasks: Vec<StoreTask>,
    /// What is typed but not a record yet, as last kept in the store.
    unsaved: unsaved::UnsavedState,
    /// Said on standard error once the terminal is restored (where a rescue file went).
    pub exit_message: Option<String>,
}

impl App {
    pub fn new(
        store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        ids: IdSource,
        keymap: Keymap,
        settings: AppSettings,
    ) -> anyhow::Result<Self> {
        let last_input = clock.now();
        let mut app = Self {
            store,
            clock,
            ids,
            theme: settings.theme,
            settings,
            keymap,
            focus: Pane::Roster,
            roster: Roster::default(),
            patient: None,
            popup: None,
            editor: None,
            console: None,
            view: None,
            privacy: false,
            hidden: HiddenKeys::default(),
            lock: None,
            last_input,
            unflushed: false,
            undurable: Vec::new(),
            flush_failed: false,
            write_trouble: false,
            last_template: None,
            pending: KeySeq::default(),
            status: None,
            stashed_forms: Vec::new(),
            kept: Default::default(),
            kept_search: None,
            quit: false,
            quit_armed: false,
            quit_dosed_asked: false,
            size: (120, 40),
            store_tasks: Vec::new(),
            unsaved: Default::default(),
            exit_message: None,
        };
        app.reload_roster(None)?;
        // Files that did not load, said at start-up (both kinds, if both failed).
        let mut problems = Vec::new();
        for (what, errors) in [
            ("template", &app.settings.template_errors),
            ("protocol", &app.settings.protocol_errors),
        ] {
            match errors.as_slice() {
                [] => {}
                [one] => problems.push(format!("A {what} did not load: {one}")),
                [first, ..] => problems.push(format!(
                    "{} {what}s did not load; the first: {first}",
                    errors.len()
                )),
            }
        }
        if !problems.is_empty() {
            app.say_error(problems.join(" · "));
        }
        if app.settings.keep_unsaved {
            app.resume_editor();
            app.bring_back_unsaved();
            app.bring_back_rescue();
        }
        Ok(app)
    }

    /// The store, for reading (tests check what a save wrote).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Runs `task` with the store on every tick from now on.
    pub fn add_store_task(&mut self, task: StoreTask) {
        self.store_tasks.push(task);
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Where the patient's current course stands, in words: "session 3 of 6, then
    /// maintenance", "re-induction · session 2 of 6, then maintenance", "no sessions yet".
    pub fn course_words(&self, v: &PatientView) -> String {
        match v.course.all.last() {
            Some(c) => crate::model::course::progress_words(c, self.induction_sessions(&v.records)),
            None => "no sessions yet".to_string(),
        }
    }

    /// Induction sessions in this patient's course, by the profile of their latest session.
    pub fn induction_sessions(&self, r: &PatientRecords) -> u32 {
        self.settings
            .protocols
            .induction_sessions(&r.sessions, self.settings.induction_sessions)
    }

    pub fn today(&self) -> jiff::civil::Date {
        self.now().to_zoned(self.settings.time_zone.clone()).date()
    }

    /// Where keys go now.
    pub fn key_context(&self) -> KeyContext {
        if self.popup.is_some()
            || self.roster.input.is_some()
            || self.console.as_ref().is_some_and(|c| c.input.is_some())
        {
            KeyContext::Popup
        } else {
            self.pane_context()
        }
    }

    /// The context under any popup: what help describes and the palette acts on.
    pub fn pane_context(&self) -> KeyContext {
        match &self.editor {
            Some(e) if e.mode == EditorMode::Insert => KeyContext::EditorInsert,
            Some(_) => KeyContext::EditorNormal,
            None if self.console.is_some() => KeyContext::Console,
            None => match &self.view {
                Some(views::View::Today(_)) => KeyContext::Today,
                Some(views::View::Course(_)) => KeyContext::Course,
                None => self.focus.context(),
            },
        }
    }

    /// A new terminal size.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        self.keep_cursors_visible();
    }

    /// One key press from the terminal. Releases and repeats of a release are ignored, so a
    /// terminal that reports both never doubles a key.
    pub fn key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if self.lock.is_some() {
            self.lock_key(key);
            return;
        }
        if !self.user_activity() {
            return;
        }
        let ctx = self.key_context();
        if self.privacy {
            if !self.key_while_hidden(ctx, key) {
                return;
            }
        } else if self.pending.is_empty() && self.is_single_key_for(ctx, &key, Action::Privacy) {
            // The privacy key works everywhere, even while typing (where it is never a
            // printable key: the keymap binds <F12> there).
            self.toggle_privacy();
            return;
        }
        self.status = None;
        match self.keymap.resolve(ctx, &mut self.pending, &key) {
            Resolved::Action(a) => self.update(a),
            Resolved::Pending | Resolved::Noop | Resolved::Cancelled => {}
            // A key the keymap cannot name (a lone modifier, a media key) may still be
            // something a text field understands.
            Resolved::Ignored => {
                if ctx == KeyContext::Popup && self.pending.is_empty() {
                    self.type_into_field(key);
                } else if ctx == KeyContext::EditorInsert && self.pending.is_empty() {
                    self.type_into_editor(key);
                }
            }
            Resolved::Unbound(seq) => {
                if ctx == KeyContext::EditorInsert && seq.len() == 1 {
                    self.type_into_editor(key);
                } else if ctx == KeyContext::Popup && seq.len() == 1 {
                    self.type_into_field(key);
                } else {
                    self.say_error(format!(
                        "{seq} does nothing here; {} shows the keys",
                        self.key_hint(ctx, Action::Help)
                    ));
                }
            }
        }
        self.after_key();
    }

    /// After every key: what is typed is kept in the store (at most every 0.7 s while typing,
    /// at once when the editor or the console opened or closed).
    fn after_key(&mut self) {
        if self.settings.keep_unsaved && self.lock.is_none() && !self.quit {
            self.keep_unsaved(unsaved::Keep::Everything, false);
        }
    }

    /// Pasted text goes into the text field that has focus; elsewhere it is refused with a
    /// message, never taken as a burst of commands.
    pub fn paste(&mut self, text: &str) {
        if self.lock.is_some() {
            self.lock_paste(text);
            return;
        }
        if !self.user_activity() || self.privacy {
            return;
        }
        if self.popup.is_none()
            && let Some(e) = self.editor.as_mut()
        {
            if e.paste(text) {
                let now = self.clock.now();
                e.changed(now);
            }
        } else if let Some(f) = self.focused_field() {
            f.paste(text);
            self.after_typing();
        } else {
            self.say_error("Nothing to paste into here".to_string());
        }
    }

    fn focused_field(&mut self) -> Option<&mut TextField> {
        match &mut self.popup {
            Some(Popup::Help(p)) | Some(Popup::Palette(p)) => Some(&mut p.filter),
            Some(Popup::Patient(f)) => Some(f.field()),
            Some(Popup::NewNote(p)) => Some(&mut p.list.filter),
            Some(Popup::Drafts(p)) => Some(&mut p.filter),
            Some(Popup::Addendum(a)) => Some(&mut a.field),
            Some(Popup::Protocols(p)) => Some(&mut p.list.filter),
            Some(Popup::Correct(p)) => Some(&mut p.filter),
            Some(Popup::Confirm(_)) => None,
            Some(Popup::Measure(m)) => m.field(),
            Some(Popup::Goal(g)) => g.field(),
            Some(Popup::Record(f)) => f.field(),
            Some(Popup::Search(s)) => Some(&mut s.field),
            None => match self.console.as_mut().and_then(|c| c.input.as_mut()) {
                Some(i) => Some(&mut i.field),
                None => self.roster.input.as_mut(),
            },
        }
    }

    fn type_into_field(&mut self, key: KeyEvent) {
        // Questionnaire answers and choice fields take some keys before any text field does.
        if self.measure_key(key)
            || self.goal_key(key)
            || self.search_key(key)
            || self.picker_key(key)
            || self.record_form_key(key)
        {
            return;
        }
        if let Some(f) = self.focused_field()
            && f.key(key)
        {
            self.after_typing();
        }
    }

    /// Keys a picker's list takes before its filter: Home and End go to the first and last row
    /// (the filter's own start and end stay on Ctrl+A and Ctrl+E), as in the search popup.
    fn picker_key(&mut self, key: KeyEvent) -> bool {
        use ratatui::crossterm::event::KeyCode;
        let action = match key.code {
            KeyCode::Home if key.modifiers.is_empty() => Action::MoveTop,
            KeyCode::End if key.modifiers.is_empty() => Action::MoveBottom,
            _ => return false,
        };
        match &mut self.popup {
            Some(Popup::Help(p)) | Some(Popup::Palette(p)) => p.navigate(action),
            Some(Popup::NewNote(p)) => p.list.navigate(action),
            Some(Popup::Drafts(p)) => p.navigate(action),
            Some(Popup::Protocols(p)) => p.list.navigate(action),
            Some(Popup::Correct(p)) => p.navigate(action),
            _ => false,
        }
    }

    fn after_typing(&mut self) {
        if matches!(self.popup, Some(Popup::Search(_))) {
            self.run_search();
            return;
        }
        let height = self.list_height(Pane::Roster);
        match &mut self.popup {
            Some(Popup::Help(p)) | Some(Popup::Palette(p)) => p.refilter(),
            Some(Popup::NewNote(p)) => p.list.refilter(),
            Some(Popup::Drafts(p)) => p.refilter(),
            Some(Popup::Protocols(p)) => p.list.refilter(),
            Some(Popup::Correct(p)) => p.refilter(),
            Some(Popup::Confirm(_)) => {}
            Some(Popup::Measure(m)) => m.after_typing(),
            Some(Popup::Goal(g)) => g.after_typing(),
            Some(Popup::Record(f)) => f.after_typing(),
            Some(Popup::Patient(_)) | Some(Popup::Addendum(_)) | Some(Popup::Search(_)) => {}
            None if self.console.is_some() => {
                if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                    i.error = None;
                }
            }
            None => {
                if let Some(input) = &self.roster.input {
                    self.roster.query = input.text().to_string();
                    self.roster.refilter();
                    self.roster.cursor.top(self.roster.rows.len(), height);
                    self.load_selected_patient();
                }
            }
        }
    }

    /// The first key bound to `action` in `ctx` as the user would type it, for hints.
    pub fn key_hint(&self, ctx: KeyContext, action: Action) -> String {
        self.keymap
            .keys_for(ctx, action)
            .first()
            .map(|k| k.to_string())
            .unwrap_or_else(|| format!(":{}", action.name()))
    }

    fn say(&mut self, text: String) {
        self.status = Some(Status { text, error: false });
    }

    fn say_error(&mut self, text: String) {
        self.status = Some(Status { text, error: true });
    }

    /// Changes state for one action.
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
        if self.popup.is_some() {
            self.update_popup(action);
            return;
        }
        if self.editor.is_some() {
            self.update_editor(action);
            return;
        }
        if self.console.is_some() {
            self.update_console(action);
            return;
        }
        if self.roster.input.is_some() {
            self.update_filter(action);
            return;
        }
        if self.view.is_some() {
            self.update_view(action);
            return;
        }
        match action {
            Action::Quit => self.request_quit(),
            Action::Help => self.open_help(),
            Action::Palette => self.open_palette(),
            Action::ToggleTheme => self.cycle_theme(),
            Action::FocusNext => self.cycle_focus(1),
            Action::FocusPrev => self.cycle_focus(-1),
            Action::FocusRoster => self.focus_pane(Pane::Roster),
            Action::FocusTimeline => self.focus_pane(Pane::Timeline),
            Action::FocusDetail => self.focus_pane(Pane::Detail),
            Action::MoveUp => self.move_by(-1),
            Action::MoveDown => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page() as isize)),
            Action::PageDown => self.move_by(self.page() as isize),
            Action::MoveTop => self.move_by(isize::MIN / 2),
            Action::MoveBottom => self.move_by(isize::MAX / 2),
            Action::Open => match self.focus {
                Pane::Roster => self.focus_pane(Pane::Timeline),
                Pane::Timeline => self.focus_pane(Pane::Detail),
                Pane::Detail => {}
            },
            Action::Back => match self.focus {
                Pane::Roster => {
                    if !self.roster.query.is_empty() {
                        self.set_roster_query(String::new());
                        self.say("Filter cleared".into());
                    }
                }
                Pane::Timeline => self.focus_pane(Pane::Roster),
                Pane::Detail => self.focus_pane(Pane::Timeline),
            },
            Action::RosterFilter => {
                self.focus = Pane::Roster;
                self.roster.input = Some(TextField::new(&self.roster.query));
            }
            Action::ToggleArchived => {
                self.roster.show_archived = !self.roster.show_archived;
                let keep = self.roster.selected().map(|p| p.id.clone());
                self.roster.refilter();
                self.reselect(keep.as_ref());
                self.say(if self.roster.show_archived {
                    "Showing archived patients too".into()
                } else {
                    "Archived patients hidden".into()
                });
            }
            Action::PatientNew => {
                let form = self
                    .take_stashed(|f| f.target == FormTarget::New)
                    .unwrap_or_else(PatientForm::new_patient);
                self.popup = Some(Popup::Patient(form));
            }
            Action::PatientEdit => match self.current_patient() {
                Some(p) => {
                    let id = p.id.clone();
                    let form = self
                        .take_stashed(|f| matches!(&f.target, FormTarget::Edit(q) if q.id == id))
                        .unwrap_or_else(|| PatientForm::edit(&p));
                    self.popup = Some(Popup::Patient(form));
                }
                None => self.say_error("No patient selected".into()),
            },
            Action::PatientArchive => self.ask_archive(),
            Action::PopupClose | Action::PopupConfirm | Action::FieldNext | Action::FieldPrev => {
                self.say_error(format!("{} works in popups and forms", action.name()));
            }
            Action::NoteNew => self.open_template_picker(),
            Action::NoteEdit => self.edit_selected_note(),
            Action::NoteSign => self.ask_sign_selected_note(),
            Action::NoteDiscard => self.ask_discard_selected_draft(),
            Action::NoteAddendum => self.open_addendum(),
            Action::DraftsList => self.open_drafts(),
            Action::ViewToday => self.toggle_today(),
            Action::ViewCourse => self.toggle_course(),
            Action::SessionStart => self.start_or_resume_session(),
            Action::SessionRemsSummary => self.write_rems_summary(),
            Action::MeasureNew => self.open_measure(),
            Action::GoalNew => self.open_intentions(),
            Action::GoalCheckIn => self.open_check_in(),
            Action::ListAdd | Action::ListStop | Action::ListCorrect => self.open_list_form(action),
            Action::ChartPdf => self.export_chart_pdf(),
            Action::SearchPatient => self.open_search(false),
            Action::SearchNext => self.search_step(1),
            Action::SearchPrev => self.search_step(-1),
            Action::SearchAll => self.open_search(true),
            Action::Privacy => self.toggle_privacy(),
            a if a.is_editor_only() => {
                let hint = self.key_hint(KeyContext::Timeline, Action::NoteEdit);
                self.say_error(format!(
                    "{} works in the note editor; {hint} opens the selected draft",
                    a.name()
                ));
            }
            _ => {}
        }
    }

    fn cycle_theme(&mut self) {
        // The terminal drops colours under NO_COLOR: a colour theme would leave the selection
        // with no mark at all, so monochrome stays.
        if self.settings.no_color {
            self.theme = ThemeKind::Monochrome;
            self.say("Theme: monochrome (NO_COLOR is set, so colour themes are off)".into());
            return;
        }
        self.theme = match self.theme {
            ThemeKind::Standard => ThemeKind::HighContrast,
            ThemeKind::HighContrast => ThemeKind::Monochrome,
            ThemeKind::Monochrome => ThemeKind::Standard,
        };
        self.say(format!("Theme: {}", self.theme.label()));
    }

    fn update_filter(&mut self, action: Action) {
        match action {
            Action::PopupClose => {
                self.roster.input = None;
                self.set_roster_query(String::new());
            }
            Action::PopupConfirm => {
                self.roster.input = None;
                if self.roster.rows.is_empty() {
                    self.say_error(format!("No patient matches {:?}", self.roster.query));
                } else {
                    self.focus_pane(Pane::Timeline);
                }
            }
            Action::MoveUp | Action::MoveDown | Action::PageUp | Action::PageDown => {
                let (h, len) = (self.list_height(Pane::Roster), self.roster.rows.len());
                let step = match action {
                    Action::MoveUp => -1,
                    Action::MoveDown => 1,
                    Action::PageUp => -(h as isize),
                    _ => h as isize,
                };
                self.roster.cursor.step(step, len, h);
                self.load_selected_patient();
            }
            Action::Quit => self.request_quit(),
            other => self.say_error(format!(
                "{} is not available while filtering; Enter keeps the filter, Esc clears it",
                other.name()
            )),
        }
    }

    fn set_roster_query(&mut self, q: String) {
        let keep = self.roster.selected().map(|p| p.id.clone());
        self.roster.query = q;
        self.roster.refilter();
        self.reselect(keep.as_ref());
    }

    fn update_popup(&mut self, action: Action) {
        let Some(popup) = self.popup.as_mut() else {
            return;
        };
        match popup {
            Popup::Help(p) | Popup::Palette(p) => match action {
                _ if p.navigate(action) => {}
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => {
                    let chosen = p.selected().map(|r| r.action);
                    let is_palette = matches!(popup, Popup::Palette(_));
                    self.popup = None;
                    match chosen {
                        // From help, Enter runs the chosen binding too: finding a key and
                        // using it are one step.
                        Some(a) if is_palette || !a.is_popup_only() => self.update(a),
                        Some(_) => {}
                        None => self.say_error("Nothing matches".into()),
                    }
                }
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in this popup", other.name())),
            },
            Popup::NewNote(p) => match action {
                _ if p.list.navigate(action) => {}
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => self.start_note(),
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in this popup", other.name())),
            },
            Popup::Protocols(p) => match action {
                _ if p.list.navigate(action) => {}
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => self.start_session(),
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in this popup", other.name())),
            },
            Popup::Correct(p) => match action {
                _ if p.navigate(action) => {}
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => self.choose_correct_entry(),
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in this popup", other.name())),
            },
            Popup::Confirm(_) => self.update_confirm(action),
            Popup::Drafts(p) => match action {
                _ if p.navigate(action) => {}
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => self.open_chosen_draft(),
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in this popup", other.name())),
            },
            Popup::Measure(_) => self.update_measure_popup(action),
            Popup::Goal(_) => self.update_goal_popup(action),
            Popup::Search(_) => self.update_search_popup(action),
            Popup::Record(_) => self.update_record_form(action),
            Popup::Addendum(_) => match action {
                Action::PopupClose => self.popup = None,
                Action::PopupConfirm => self.save_addendum(),
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing here", other.name())),
            },
            Popup::Patient(form) => match action {
                Action::FieldNext | Action::MoveDown => form.move_focus(1),
                Action::FieldPrev | Action::MoveUp => form.move_focus(-1),
                Action::PopupConfirm => self.save_patient_form(),
                Action::PopupClose => {
                    if let Some(Popup::Patient(form)) = self.popup.take()
                        && form.is_dirty()
                    {
                        self.stashed_forms.push(form);
                        self.say(format!(
                            "Form closed; what you typed is kept: {} opens it again",
                            self.key_hint(KeyContext::Roster, Action::PatientNew)
                        ));
                    }
                }
                // A form open at a quit is kept in the store and comes back at the next start.
                Action::Quit => self.request_quit(),
                other => self.say_error(format!("{} does nothing in a form", other.name())),
            },
        }
    }

    fn take_stashed(&mut self, which: impl Fn(&PatientForm) -> bool) -> Option<PatientForm> {
        let i = self.stashed_forms.iter().position(which)?;
        Some(self.stashed_forms.remove(i))
    }

    fn save_patient_form(&mut self) {
        let today = self.today();
        let new_id = PatientId::from_uuid(self.ids.next(self.now()));
        let Some(Popup::Patient(form)) = self.popup.as_mut() else {
            return;
        };
        let Some(patient) = form.submit(new_id, today) else {
            let n = form.error_count();
            self.say_error(format!(
                "{n} field{} to fix before saving",
                if n == 1 { "" } else { "s" }
            ));
            return;
        };
        let is_new = form.target == FormTarget::New;
        match self.write(Record::Patient(patient.clone())) {
            Ok(()) => {
                self.popup = None;
                // A new patient must be visible even under a filter that would hide them.
                if is_new && !self.roster.query.is_empty() {
                    self.roster.query.clear();
                }
                if let Err(e) = self.reload_roster(Some(&patient.id)) {
                    self.say_error(format!("Saved, but the list could not be reloaded: {e:#}"));
                    return;
                }
                self.say(format!(
                    "{} {}",
                    if is_new { "Added" } else { "Saved" },
                    patient.name
                ));
            }
            // The form stays open with everything typed, so nothing is lost.
            Err(e) => self.say_error(format!("Not saved: {e:#}")),
        }
    }

    fn toggle_archive(&mut self) {
        let Some(mut p) = self.current_patient() else {
            self.say_error("No patient selected".into());
            return;
        };
        p.archived = !p.archived;
        let (id, name, archived) = (p.id.clone(), p.name.clone(), p.archived);
        if let Err(e) = self.write(Record::Patient(p)) {
            self.say_error(format!("Not saved: {e:#}"));
            return;
        }
        if let Err(e) = self.reload_roster(Some(&id)) {
            self.say_error(format!("{e:#}"));
            return;
        }
        let hint = self.key_hint(KeyContext::Roster, Action::ToggleArchived);
        self.say(if archived && !self.roster.show_archived {
            format!("Archived {name}; {hint} shows archived patients")
        } else if archived {
            format!("Archived {name}")
        } else {
            format!("{name} is back in the active list")
        });
    }

    /// Writes one record with its audit entry (who, when, what) and makes both durable before
    /// the UI says it is saved.
    fn write(&mut self, record: Record) -> anyhow::Result<()> {
        self.write_all(vec![record])
    }

    /// Writes `records` in one atomic, audited batch and flushes it to disk.
    pub(super) fn write_all(&mut self, records: Vec<Record>) -> anyhow::Result<()> {
        self.write_unflushed(records)?;
        self.flush_store()
    }

    /// Writes `records` in one atomic, audited batch, to be made durable by the next flush
    /// ([`App::flush_store`]). After a failed flush, the records written since the last durable
    /// one go again in the same batch (the newest copy of each).
    pub(super) fn write_unflushed(&mut self, records: Vec<Record>) -> anyhow::Result<()> {
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let actor = crate::store::Actor::new(who, self.now());
        let mut batch: Vec<Record> = Vec::new();
        if self.flush_failed {
            batch.extend(
                self.undurable
                    .iter()
                    .filter(|r| !records.iter().any(|n| n.id() == r.id()))
                    .cloned(),
            );
        }
        batch.extend(records.iter().cloned());
        let changes: Vec<_> = batch.into_iter().map(crate::store::Change::Put).collect();
        if let Err(e) = self.store.apply_audited(&changes, &actor) {
            self.write_trouble = true;
            return Err(e.into());
        }
        // Written again: what was lost is back in the store, to be flushed.
        self.flush_failed = false;
        for r in records {
            self.undurable.retain(|u| u.id() != r.id());
            self.undurable.push(r);
        }
        self.unflushed = true;
        Ok(())
    }

    /// Whether something written or typed is not on disk because the store refused it (a full
    /// disk): the status bar says so for as long as it lasts, whatever else it shows.
    pub fn saving_trouble(&self) -> bool {
        self.write_trouble || self.unsaved.error.is_some()
    }

    /// Makes every write so far durable. When an earlier flush failed, what was written since
    /// the last durable flush is written again first (the store may have reopened its database
    /// in between, which forgets it).
    pub(super) fn flush_store(&mut self) -> anyhow::Result<()> {
        if self.flush_failed && !self.undurable.is_empty() {
            self.write_unflushed(Vec::new())?;
        }
        match self.store.flush() {
            Ok(()) => {
                self.undurable.clear();
                self.flush_failed = false;
                self.unflushed = false;
                if std::mem::take(&mut self.write_trouble) {
                    self.say("Saved again: everything typed is on disk".into());
                }
                Ok(())
            }
            Err(e) => {
                self.flush_failed = true;
                self.write_trouble = true;
                Err(e.into())
            }
        }
    }

    /// The selected patient as stored (not the roster's possibly stale copy).
    fn current_patient(&self) -> Option<Patient> {
        self.patient
            .as_ref()
            .map(|v| v.records.patient.clone())
            .or_else(|| self.roster.selected().cloned())
    }

    /// Reads the patient list again, keeping `select` (or the current patient) selected.
    pub fn reload_roster(&mut self, select: Option<&PatientId>) -> anyhow::Result<()> {
        self.read_patients(select)?;
        // The list was reread because something was written: so is the patient.
        self.refresh_patient();
        Ok(())
    }

    /// Reads the patient list again, keeping `select` (or the selected patient) selected,
    /// without changing the open patient.
    fn read_patients(&mut self, select: Option<&PatientId>) -> anyhow::Result<()> {
        let keep = select
            .cloned()
            .or_else(|| self.roster.selected().map(|p| p.id.clone()));
        let mut patients = self.store.patients()?;
        patients.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        self.roster.patients = patients;
        self.roster.refilter();
        self.select_roster_row(keep.as_ref());
        Ok(())
    }

    /// Selects the patient `id` if shown, else keeps the row position, and shows them.
    fn reselect(&mut self, id: Option<&PatientId>) {
        self.select_roster_row(id);
        self.load_selected_patient();
    }

    fn select_roster_row(&mut self, id: Option<&PatientId>) {
        let index = id
            .and_then(|id| {
                self.roster
                    .rows
                    .iter()
                    .position(|h| &self.roster.patients[h.index].id == id)
            })
            .unwrap_or(self.roster.cursor.selected);
        let h = self.list_height(Pane::Roster);
        self.roster.cursor.select(index, self.roster.rows.len(), h);
    }

    /// After a move: shows the roster's selected patient, reading the store only when the
    /// selection is a different patient.
    fn load_selected_patient(&mut self) {
        self.show_selected_patient(false);
    }

    /// After a write: reads the selected patient's records again, keeping the place in the
    /// timeline.
    fn refresh_patient(&mut self) {
        self.show_selected_patient(true);
    }

    fn show_selected_patient(&mut self, refresh: bool) {
        let Some(id) = self.roster.selected().map(|p| p.id.clone()) else {
            self.patient = None;
            return;
        };
        if self
            .patient
            .as_ref()
            .is_some_and(|v| v.records.patient.id == id)
        {
            if refresh
                && let Ok(Some(records)) = self.store.patient_records(&id)
                && let Some(v) = self.patient.as_mut()
            {
                v.entries = crate::model::timeline::timeline(&records);
                v.course = crate::model::course::CourseNow::of(
                    &records,
                    self.settings.reinduction_gap,
                    &self.settings.time_zone,
                );
                v.records = records;
            }
            self.keep_cursors_visible();
            return;
        }
        match self.store.patient_records(&id) {
            Ok(Some(records)) => {
                let entries = crate::model::timeline::timeline(&records);
                let course = crate::model::course::CourseNow::of(
                    &records,
                    self.settings.reinduction_gap,
                    &self.settings.time_zone,
                );
                self.patient = Some(PatientView {
                    records,
                    entries,
                    course,
                    cursor: ListCursor::default(),
                    detail_scroll: 0,
                    found: None,
                });
            }
            Ok(None) => self.patient = None,
            Err(e) => {
                self.patient = None;
                self.say_error(format!("Cannot read this patient's records: {e:#}"));
            }
        }
    }

    fn cycle_focus(&mut self, delta: isize) {
        let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0) as isize;
        let next = Pane::ALL[(i + delta).rem_euclid(3) as usize];
        self.focus_pane(next);
    }

    fn focus_pane(&mut self, pane: Pane) {
        if pane != Pane::Roster && self.patient.is_none() {
            self.say_error("Choose a patient first".into());
            return;
        }
        self.focus = pane;
        self.keep_cursors_visible();
    }

    fn page(&self) -> usize {
        self.list_height(self.focus).saturating_sub(1).max(1)
    }

    fn move_by(&mut self, delta: isize) {
        let h = self.list_height(self.focus);
        match self.focus {
            Pane::Roster => {
                self.roster.cursor.step(delta, self.roster.rows.len(), h);
                self.load_selected_patient();
            }
            Pane::Timeline => {
                if let Some(v) = self.patient.as_mut() {
                    v.cursor.step(delta, v.entries.len(), h);
                    v.detail_scroll = 0;
                    v.found = None;
                }
            }
            Pane::Detail => {
                let last = self.detail_max_scroll();
                if let Some(v) = self.patient.as_mut() {
                    let target = v.detail_scroll as isize + delta;
                    v.detail_scroll = target.clamp(0, last as isize) as usize;
                }
            }
        }
    }

    /// How far the detail scrolls: until its last line is at the bottom of the pane, never
    /// past (the pane is never left holding one line over empty rows). Counted in the lines
    /// the pane draws from (one per line break), each as many rows as it wraps to.
    fn detail_max_scroll(&self) -> usize {
        let layout = crate::ui::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.focus,
        );
        let Some(pane) = layout.pane(Pane::Detail) else {
            return 0;
        };
        let (width, height) = (
            usize::from(pane.width.saturating_sub(2)).max(1),
            usize::from(pane.height.saturating_sub(2)).max(1),
        );
        let mut rows = Vec::new();
        for line in self.detail_document() {
            let text: String = line.iter().map(|(_, s)| s.as_str()).collect();
            for piece in text.replace("\r\n", "\n").split('\n') {
                rows.push(crate::text_safety::width(piece).div_ceil(width).max(1));
            }
        }
        let (mut first, mut used) = (rows.len(), 0);
        while first > 0 && used + rows[first - 1] <= height {
            used += rows[first - 1];
            first -= 1;
        }
        first
    }

    /// Rows a pane's list can show at the current size.
    pub fn list_height(&self, pane: Pane) -> usize {
        let layout = crate::ui::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.focus,
        );
        let filter_row =
            pane == Pane::Roster && (self.roster.input.is_some() || !self.roster.query.is_empty());
        layout
            .pane(pane)
            .map(|r| r.height.saturating_sub(2 + u16::from(filter_row)) as usize)
            .unwrap_or(1)
            .max(1)
    }

    fn keep_cursors_visible(&mut self) {
        let hr = self.list_height(Pane::Roster);
        let ht = self.list_height(Pane::Timeline);
        self.roster.cursor.keep_visible(self.roster.rows.len(), hr);
        if let Some(v) = self.patient.as_mut() {
            v.cursor.keep_visible(v.entries.len(), ht);
        }
    }

    /// The detail pane's content for the selected entry.
    pub fn detail_document(&self) -> Vec<detail::DetailLine> {
        let Some(v) = &self.patient else {
            return Vec::new();
        };
        let Some(e) = v.selected() else {
            return Vec::new();
        };
        detail::document(
            &v.records,
            e,
            &self.settings.time_zone,
            &self.settings.thresholds,
        )
    }

    fn open_help(&mut self) {
        let ctx = self.pane_context();
        let rows = self
            .keymap
            .bindings(ctx)
            .map(|b| PopupRow {
                keys: b.keys.to_string(),
                action: b.action,
                desc: b.desc.clone(),
            })
            .collect();
        self.popup = Some(Popup::Help(ListPopup::new(rows, self.size)));
    }

    fn open_palette(&mut self) {
        let ctx = self.pane_context();
        let in_editor = self.editor.is_some();
        let in_console = self.console.is_some();
        // What can run here: an editor's actions in the editor, a console's in the console.
        let rows = Action::ALL
            .iter()
            .filter(|a| {
                !a.is_popup_only()
                    && (in_editor || !a.is_editor_only())
                    && (in_console || !a.is_console_only())
            })
            .map(|&action| PopupRow {
                keys: self
                    .keymap
                    .keys_for(ctx, action)
                    .first()
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                action,
                desc: action.description().to_string(),
            })
            .collect();
        self.popup = Some(Popup::Palette(ListPopup::new(rows, self.size)));
    }
}

impl App {
    /// What a tick can change on screen without a key: the status line, the lock, the editor's
    /// save state. The event loop draws again when it differs.
    pub fn visible_state(&self) -> VisibleState {
        VisibleState(
            self.status.clone(),
            self.lock.is_some(),
            self.editor
                .as_ref()
                .map(|e| (e.is_dirty(), e.save_error.is_some())),
            self.unsaved.error.is_some(),
        )
    }

    /// Called by the event loop at least every quarter second: autosave and the idle lock
    /// hang off this. While locked it does nothing at all (the store cannot be read).
    pub fn tick(&mut self) {
        if self.lock.is_some() {
            return;
        }
        let now = self.now();
        if self.idle_lock_due(now) {
            self.lock_now(lock::LockCause::Idle(now.duration_since(self.last_input)));
            return;
        }
        if self.editor.as_ref().is_some_and(|e| e.save_due(now)) {
            self.save_editor();
        }
        if self.settings.keep_unsaved {
            self.keep_unsaved(unsaved::Keep::Everything, false);
        }
        self.flush_if_needed();
        let store = self.store.as_ref();
        let said: Vec<String> = self
            .store_tasks
            .iter_mut()
            .filter_map(|task| task(store))
            .collect();
        if let Some(text) = said.into_iter().last() {
            self.say(text);
        }
    }

    /// Whether `key` alone is bound to `action` in `ctx` or in `global` (for the privacy key,
    /// which works in every context, even while typing).
    fn is_single_key_for(&self, ctx: KeyContext, key: &KeyEvent, action: Action) -> bool {
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

    /// Blanks the screen, or brings it back. Keys typed while it was blank that went nowhere
    /// are said when it comes back; in the session console, printable ones are put in an
    /// observation line (not entered), so a word typed blind is kept, never run as commands.
    fn toggle_privacy(&mut self) {
        self.privacy = !self.privacy;
        self.pending = KeySeq::default();
        if self.privacy {
            return;
        }
        let held = std::mem::take(&mut self.hidden.held);
        let ignored = std::mem::take(&mut self.hidden.ignored);
        if !held.is_empty() && self.console.as_ref().is_some_and(|c| c.input.is_none()) {
            self.update_console(Action::SessionObserve);
            if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                i.field.paste(&held);
                self.say(
                    "What you typed while the screen was hidden is in this observation line: \
                     Enter stores it, Esc keeps it as a draft"
                        .into(),
                );
            }
        }
        if ignored > 0 {
            let keys = if ignored == 1 { "key" } else { "keys" };
            self.say_error(format!(
                "{ignored} {keys} typed while the screen was hidden did nothing (kitnotes does not run commands it cannot show)"
            ));
        }
    }

    /// A key while the screen is hidden. The privacy key and the lock key (when not printable
    /// ones) and `<Esc>` do what they say; where text is being typed (a console line, a form,
    /// the editor) the key goes there as usual (true: handle it normally); elsewhere no command
    /// runs blind: in the console printable keys are held for an observation, other keys are
    /// counted and said when the screen comes back.
    fn key_while_hidden(&mut self, ctx: KeyContext, key: KeyEvent) -> bool {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
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
        if (privacy && !printable) || (key.code == KeyCode::Esc && !self.typing(ctx)) {
            self.toggle_privacy();
            return false;
        }
        if self.typing(ctx) {
            return true;
        }
        match key.code {
            KeyCode::Char(c) if printable && self.console.is_some() => self.hidden.held.push(c),
            _ => self.hidden.ignored += 1,
        }
        false
    }

    /// Whether keys in `ctx` are typed into text (a field, the console's line, the editor).
    fn typing(&self, ctx: KeyContext) -> bool {
        matches!(ctx, KeyContext::EditorInsert | KeyContext::Popup)
    }

    /// The terminal lost focus (the user switched windows): save now.
    pub fn focus_lost(&mut self) {
        if self.lock.is_some() {
            return;
        }
        self.save_editor();
    }

    /// A mouse event (only sent when the user turned the mouse on): the wheel scrolls the pane
    /// under the pointer, a click focuses a pane and selects the row under it.
    pub fn mouse(&mut self, m: ratatui::crossterm::event::MouseEvent) {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        // Moving the pointer is not using kitnotes: only clicks and the wheel keep it unlocked.
        if self.lock.is_some() || m.kind == MouseEventKind::Moved || !self.user_activity() {
            return;
        }
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => Some(Action::MoveDown),
            MouseEventKind::ScrollUp => Some(Action::MoveUp),
            _ => None,
        };
        if let Some(Popup::Help(p) | Popup::Palette(p)) = self.popup.as_mut() {
            wheel.map(|a| p.navigate(a));
            return;
        }
        if let (Some(Popup::Search(_)), Some(a)) = (&self.popup, wheel) {
            self.update_search_popup(a);
            return;
        }
        if self.popup.is_some() || self.roster.input.is_some() || self.editor.is_some() {
            return;
        }
        let screen = crate::ui::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.focus,
        );
        let pos = ratatui::layout::Position::new(m.column, m.row);
        let Some(&(pane, rect)) = screen.panes.iter().find(|(_, r)| r.contains(pos)) else {
            return;
        };
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                if self.focus != pane {
                    self.focus_pane(pane);
                }
                if self.focus == pane {
                    let step = if m.kind == MouseEventKind::ScrollDown {
                        1
                    } else {
                        -1
                    };
                    self.move_by(step);
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus_pane(pane);
                if self.focus != pane || m.row <= rect.y || m.row + 1 >= rect.bottom() {
                    return;
                }
                let row = (m.row - rect.y - 1) as usize;
                let h = self.list_height(pane);
                match pane {
                    Pane::Roster => {
                        // The filter line, when shown, takes the first row.
                        let filter_rows = usize::from(!self.roster.query.is_empty());
                        if row >= filter_rows {
                            let index = self.roster.cursor.offset + row - filter_rows;
                            if index < self.roster.rows.len() {
                                self.roster.cursor.select(index, self.roster.rows.len(), h);
                                self.load_selected_patient();
                            }
                        }
                    }
                    Pane::Timeline => {
                        if let Some(v) = self.patient.as_mut() {
                            let index = v.cursor.offset + row;
                            if index < v.entries.len() {
                                v.cursor.select(index, v.entries.len(), h);
                                v.detail_scroll = 0;
                                v.found = None;
                            }
                        }
                    }
                    Pane::Detail => {}
                }
            }
            _ => {}
        }
    }
}
