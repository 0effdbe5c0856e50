//! The app's state and everything that changes it: named actions, focus, popups. No drawing
//! and no terminal I/O here: `ui` reads this state and `tui` feeds it events.
//!
//! A key travels: `App::key` -> the keymap resolves it in the current [`KeyContext`] to an
//! [`Action`] (or hands it to the focused text field) -> `App::update` changes state, writing
//! to the store where the action saves something -> the next frame draws from state.

pub mod background;
mod chart;
pub mod component;
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
pub mod layer;
pub mod list;
mod list_form;
pub mod lock;
pub mod measures;
mod mouse;
mod notes;
mod panes;
pub mod patient_form;
mod popup;
pub mod record_form;
mod rems;
mod roster;
pub mod search;
pub mod sync;
mod unsaved;
pub mod views;

pub use crate::action::{Action, KeyContext};
pub use crate::layout::Pane;
pub use drafts::{DraftRow, unsigned_drafts};
pub use popup::{
    AddendumForm, CommandList, Filterable, FilteredList, ListPopup, Popup, PopupRow,
    TemplatePicker, TemplateRow,
};
pub use roster::Roster;

use crate::clock::{Clock, IdSource};
use crate::keymap::{KeySeq, Keymap};
use crate::model::monitoring::Thresholds;
use crate::model::{PatientRecords, Record, TimelineEntry};
use crate::store::Store;
use crate::templates::Templates;
use editor::Editor;
use field::TextField;
use jiff::tz::TimeZone;
use list::ListCursor;
use patient_form::{FormTarget, PatientForm};

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
pub struct VisibleState(
    Option<Status>,
    bool,
    Option<(bool, bool)>,
    bool,
    Vec<u64>,
    usize,
    Option<u64>,
);

/// Work running off the UI thread (`app::background`), as the status bar shows it: since when
/// (by the app's clock, when it first saw it).
#[derive(Debug, Clone)]
pub struct JobShown {
    pub line: background::JobLine,
    pub since: jiff::Timestamp,
}

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
    /// Records that came from another clinician through `kitnotes sync`: record id to the
    /// author's name, shown beside them in the timeline.
    pub synced_from: std::collections::HashMap<String, String>,
    /// How the last `kitnotes sync` ended ("synced 2026-11-21 15:30", "sync: 1 conflict"),
    /// shown in the header; empty when no server is configured.
    pub sync_label: String,
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
            synced_from: Default::default(),
            sync_label: String::new(),
        }
    }
}

/// Work another thread hands the app that needs its store, run on every tick (the audit entry of
/// a backup written while kitnotes is open: `cli::backup`); what it returns is shown in the
/// status bar.
pub type StoreTask = Box<dyn FnMut(&dyn Store) -> Option<String>>;

/// All state of a running kitnotes.
pub struct App {
    /// Shared with work done off the UI thread (commands answered over the socket, a sync).
    store: std::sync::Arc<dyn Store + Send + Sync>,
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
    /// Shared with the threads that answer commands for other terminals: the lock's gate, what
    /// runs and how it ended.
    background: std::sync::Arc<background::Background>,
    /// The work running off the UI thread, as last seen on a tick (the status bar draws it).
    pub jobs: Vec<JobShown>,
    /// Requests from other terminals held until the screen is unlocked (the lock screen says so).
    pub jobs_waiting: usize,
    /// What is typed but not a record yet, as last kept in the store.
    unsaved: unsaved::UnsavedState,
    /// Said on standard error once the terminal is restored (where a rescue file went).
    pub exit_message: Option<String>,
    /// Syncing with the practice's server on a thread of its own (`app::sync`).
    background_sync: Option<sync::BackgroundSync>,
}

impl App {
    pub fn new(
        store: Box<dyn Store + Send + Sync>,
        clock: Box<dyn Clock>,
        ids: IdSource,
        keymap: Keymap,
        settings: AppSettings,
    ) -> anyhow::Result<Self> {
        let last_input = clock.now();
        let mut app = Self {
            store: store.into(),
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
            background: Default::default(),
            jobs: Vec::new(),
            jobs_waiting: 0,
            unsaved: Default::default(),
            exit_message: None,
            background_sync: None,
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

    /// The store, shared, for work done off the UI thread.
    pub fn shared_store(&self) -> std::sync::Arc<dyn Store + Send + Sync> {
        self.store.clone()
    }

    /// What the app shares with work done off the UI thread: the lock's gate, the status bar's
    /// view of what runs.
    pub fn background(&self) -> std::sync::Arc<background::Background> {
        self.background.clone()
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

    /// A new terminal size.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        self.keep_cursors_visible();
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
        self.sync_after_writing(&records);
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
        let mut rows: Vec<PopupRow> = self
            .keymap
            .bindings(ctx)
            .map(|b| PopupRow {
                keys: b.keys.to_string(),
                action: Some(b.action),
                desc: b.desc.clone(),
            })
            .collect();
        // In insert mode the keys the keymap leaves alone go to the note's text area, which
        // has its own: listed after the keymap's, without the ones the keymap took.
        if ctx == KeyContext::EditorInsert {
            let bound: std::collections::HashSet<String> =
                rows.iter().map(|r| r.keys.clone()).collect();
            rows.extend(editor::TEXT_KEYS.iter().filter_map(|&(keys, desc)| {
                let free: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| !bound.contains(*k))
                    .collect();
                (!free.is_empty()).then(|| PopupRow {
                    keys: free.join(" "),
                    action: None,
                    desc: desc.to_string(),
                })
            }));
        }
        self.popup = Some(Popup::Help(popup::CommandList::help(rows, self.size)));
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
                action: Some(action),
                desc: action.description().to_string(),
            })
            .collect();
        self.popup = Some(Popup::Palette(popup::CommandList::palette(rows, self.size)));
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
            self.jobs.iter().map(|j| j.line.id).collect(),
            self.jobs_waiting,
            self.background_sync.as_ref().map(|b| b.generation()),
        )
    }

    /// How often the screen is drawn again with nothing happening: every second while the
    /// session console is open (its time since dose, shown under the lock and the privacy
    /// screen too) or work runs off the UI thread (its progress and time in the status bar),
    /// else every minute (ages and what is due turn over by the day).
    pub fn redraw_every(&self) -> std::time::Duration {
        if self.console.is_some() || !self.jobs.is_empty() {
            std::time::Duration::from_secs(1)
        } else {
            std::time::Duration::from_secs(60)
        }
    }

    /// Called by the event loop at least every quarter second: autosave and the idle lock
    /// hang off this. While locked it does nothing at all (the store cannot be read).
    pub fn tick(&mut self) {
        // Reads no store: what runs off the UI thread is watched while locked too.
        self.watch_background();
        if self.lock.is_some() {
            self.sync_while_locked();
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
        self.tick_background_sync();
        let store = self.store.as_ref();
        let said: Vec<String> = self
            .store_tasks
            .iter_mut()
            .filter_map(|task| task(store))
            .collect();
        if let Some(text) = said.into_iter().last() {
            self.say(text);
        }
        for ended in self.background.take_ended() {
            match ended.words() {
                (text, false) => self.say(text),
                (text, true) => self.say_error(text),
            }
        }
    }

    /// The work running off the UI thread, for the status bar: each piece with when the app
    /// first saw it, by its clock.
    fn watch_background(&mut self) {
        let now = self.now();
        let running = self.background.running();
        let before = std::mem::take(&mut self.jobs);
        self.jobs = running
            .into_iter()
            .map(|line| {
                let since = before
                    .iter()
                    .find(|j| j.line.id == line.id)
                    .map_or(now, |j| j.since);
                JobShown { line, since }
            })
            .collect();
        self.jobs_waiting = self.background.waiting();
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
        self.give_back_held_keys("the screen was hidden");
        let ignored = std::mem::take(&mut self.hidden.ignored);
        if ignored > 0 {
            let keys = if ignored == 1 { "key" } else { "keys" };
            self.say_error(format!(
                "{ignored} {keys} typed while the screen was hidden did nothing (kitnotes does not run commands it cannot show)"
            ));
        }
    }

    /// Printable keys typed in the console while it could not be seen (hidden, or locked on a
    /// store with no passphrase) are put in an observation line, not entered: a word typed
    /// blind is kept, never run as commands nor dropped.
    fn give_back_held_keys(&mut self, while_: &str) {
        let held = std::mem::take(&mut self.hidden.held);
        if !held.is_empty() && self.console.as_ref().is_some_and(|c| c.input.is_none()) {
            self.update(Action::SessionObserve);
            if let Some(i) = self.console.as_mut().and_then(|c| c.input.as_mut()) {
                i.field.paste(&held);
                self.say(format!(
                    "What you typed while {while_} is in this observation line: \
                     Enter stores it, Esc keeps it as a draft"
                ));
            }
        }
    }

    /// The terminal lost focus (the user switched windows): save now.
    pub fn focus_lost(&mut self) {
        if self.lock.is_some() {
            return;
        }
        self.save_editor();
    }
}
