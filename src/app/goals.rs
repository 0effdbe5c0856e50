//! Integration goals in the app: promoting an intention from a preparation note to a goal (or
//! setting a new one), editing a goal, and checking in on one. Each is a popup over the panes;
//! the forms themselves are in [`super::goal_form`]. A form closed with Esc is kept (see
//! [`super::kept`]).

use super::field::TextField;
pub use super::goal_form::{
    CheckInForm, DOMAINS, GoalField, GoalForm, GoalTarget, NoteChoice, STATUSES, parse_domain,
    parse_progress, parse_status, parse_target, resolve_sessions, sessions_preview,
};
use super::popup::{Filterable, FilteredList, Popup};
use super::{Action, App, KeyContext, Pane};
use crate::model::intentions::{note_intentions, promoted_as, same_title};
use crate::model::timeline::EntryKind;
use crate::model::{
    GoalStatus, IntegrationGoal, NoteKind, PatientId, PatientRecords, Record, RecordId,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// A row of "set a goal": a new goal, or one intention of a preparation note.
#[derive(Debug, Clone, PartialEq)]
pub enum IntentionRow {
    NewGoal,
    Intention {
        note: RecordId,
        note_title: String,
        note_date: Date,
        text: String,
        /// When the intention is already a goal: when that goal was set.
        already: Option<Date>,
    },
}

impl Filterable for IntentionRow {
    fn haystack(&self) -> String {
        match self {
            IntentionRow::NewGoal => "A new goal…".into(),
            IntentionRow::Intention {
                text,
                note_title,
                note_date,
                ..
            } => format!("{text} {note_title} {note_date}"),
        }
    }
}

/// One goal offered for a check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalRow {
    pub goal: RecordId,
    pub title: String,
    pub domain: String,
    /// "last 6/10 on 2026-11-12", or "no check-ins yet".
    pub last: String,
}

impl Filterable for GoalRow {
    fn haystack(&self) -> String {
        format!("{} {}", self.title, self.domain)
    }
}

/// The goal popups.
#[derive(Debug)]
pub enum GoalPopup {
    /// "Set a goal": a new one, or an intention of a preparation note.
    Intentions {
        patient: PatientId,
        list: FilteredList<IntentionRow>,
    },
    Form(GoalForm),
    /// "Check in": which active goal.
    Pick {
        patient: PatientId,
        list: FilteredList<GoalRow>,
    },
    CheckIn(Box<CheckInForm>),
}

impl GoalPopup {
    pub(super) fn field(&mut self) -> Option<&mut TextField> {
        match self {
            GoalPopup::Intentions { list, .. } => Some(&mut list.filter),
            GoalPopup::Pick { list, .. } => Some(&mut list.filter),
            GoalPopup::Form(f) => Some(f.field()),
            GoalPopup::CheckIn(c) => c.field(),
        }
    }

    pub(super) fn after_typing(&mut self) {
        match self {
            GoalPopup::Intentions { list, .. } => list.refilter(),
            GoalPopup::Pick { list, .. } => list.refilter(),
            GoalPopup::Form(f) => f.errors[f.focused] = None,
            GoalPopup::CheckIn(c) => {
                if let Some(e) = c.errors.get_mut(c.focused) {
                    *e = None;
                }
            }
        }
    }
}

/// The rows of "set a goal": a new goal first, then every intention of the patient's
/// preparation notes, newest note first, except that the note `first` (the one selected in the
/// timeline) comes before the others. An intention is usually written again in each
/// preparation note of a course, so each is listed once, from the first note that has it.
pub fn intention_rows(
    records: &PatientRecords,
    first: Option<&RecordId>,
    tz: &TimeZone,
) -> Vec<IntentionRow> {
    let mut notes: Vec<_> = records
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::Preparation)
        .collect();
    notes.sort_by(|a, b| {
        (Some(&b.id) == first)
            .cmp(&(Some(&a.id) == first))
            .then_with(|| b.at.cmp(&a.at))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut rows = vec![IntentionRow::NewGoal];
    for n in notes {
        for text in note_intentions(n) {
            let listed = rows.iter().any(
                |r| matches!(r, IntentionRow::Intention { text: t, .. } if same_title(t, &text)),
            );
            if listed {
                continue;
            }
            let already =
                promoted_as(&records.goals, &n.id, &text).map(|g| g.at.to_zoned(tz.clone()).date());
            rows.push(IntentionRow::Intention {
                note: n.id.clone(),
                note_title: n.title.clone(),
                note_date: n.at.to_zoned(tz.clone()).date(),
                text,
                already,
            });
        }
    }
    rows
}

impl App {
    /// The timeline entry the user is looking at, if a pane other than the roster has focus.
    fn looked_at(&self) -> Option<&crate::model::TimelineEntry> {
        // In the roster or a full-screen view the timeline's selection is out of sight.
        if self.focus == Pane::Roster || self.view.is_some() {
            return None;
        }
        self.patient.as_ref()?.selected()
    }

    /// The goal selected in the Course view, else that of the selected GOAL or CHK entry.
    fn selected_goal(&self) -> Option<IntegrationGoal> {
        if let Some(id) = self.course_selected_goal() {
            let v = self.patient.as_ref()?;
            return v.records.goals.iter().find(|g| g.id == id).cloned();
        }
        let e = self.looked_at()?;
        if !matches!(e.kind, EntryKind::GoalSet | EntryKind::CheckIn) {
            return None;
        }
        let v = self.patient.as_ref()?;
        v.records.goals.iter().find(|g| g.id == e.record).cloned()
    }

    /// `g`: the patient's intentions to promote, or a new goal.
    pub(super) fn open_intentions(&mut self) {
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        let first = self
            .looked_at()
            .filter(|e| e.kind == EntryKind::Note(NoteKind::Preparation))
            .map(|e| e.record.clone());
        let rows = intention_rows(&v.records, first.as_ref(), &self.settings.time_zone);
        let patient = v.records.patient.id.clone();
        let n = rows.len() - 1;
        self.popup = Some(Popup::Goal(GoalPopup::Intentions {
            patient,
            list: FilteredList::new(rows, self.size),
        }));
        if n == 0 {
            self.say(
                "No intentions in this patient's preparation notes: Enter sets a new goal".into(),
            );
        }
    }

    fn choose_intention(&mut self) {
        let Some(Popup::Goal(GoalPopup::Intentions { patient, list })) = self.popup.as_ref() else {
            return;
        };
        let patient = patient.clone();
        let (source, title) = match list.selected() {
            Some(IntentionRow::NewGoal) => (None, String::new()),
            // Nothing matches what was typed: it is the title of a new goal.
            None => (None, list.filter.text().trim().to_string()),
            Some(IntentionRow::Intention {
                text,
                already: Some(set),
                ..
            }) => {
                let (check_in, edit) = (
                    self.key_hint(KeyContext::Timeline, Action::GoalCheckIn),
                    self.key_hint(KeyContext::Timeline, Action::NoteEdit),
                );
                self.say_error(format!(
                    "\"{text}\" is already a goal (set {set}): select it in the timeline; \
                     {edit} edits it, {check_in} checks in"
                ));
                return;
            }
            Some(IntentionRow::Intention { note, text, .. }) => (Some(note.clone()), text.clone()),
        };
        let form = GoalForm::new_goal(patient, source, &title);
        self.open_goal_form(form);
    }

    /// Shows `form`, or the form for the same goal that Esc kept earlier.
    fn open_goal_form(&mut self, form: GoalForm) {
        let kept = self
            .kept
            .goals
            .iter()
            .position(|k| k.same_target(&form.target));
        let form = match kept {
            Some(i) => {
                self.say("What you typed before is back".into());
                self.kept.goals.remove(i)
            }
            None => form,
        };
        self.popup = Some(Popup::Goal(GoalPopup::Form(form)));
    }

    /// `e` on a goal or check-in: the goal form with its status. False when no goal is selected
    /// (the key then means "continue the selected draft").
    pub(super) fn edit_selected_goal(&mut self) -> bool {
        let Some(goal) = self.selected_goal() else {
            return false;
        };
        let Some(v) = self.patient.as_ref() else {
            return false;
        };
        let form = GoalForm::edit(&goal, &v.records);
        self.open_goal_form(form);
        true
    }

    /// `i`: a check-in on the selected goal, or first the list of active goals.
    pub(super) fn open_check_in(&mut self) {
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        if let Some(goal) = self.selected_goal() {
            self.open_check_in_form(&goal);
            return;
        }
        let tz = self.settings.time_zone.clone();
        let rows: Vec<GoalRow> = v
            .records
            .goals
            .iter()
            .filter(|g| g.status == GoalStatus::Active)
            .map(|g| GoalRow {
                goal: g.id.clone(),
                title: g.title.clone(),
                domain: g.domain.as_str().to_string(),
                last: match g.latest_check_in() {
                    Some(c) => format!(
                        "last {}/10 on {}",
                        c.progress,
                        c.at.to_zoned(tz.clone()).date()
                    ),
                    None => "no check-ins yet".into(),
                },
            })
            .collect();
        if rows.is_empty() {
            let hint = self.key_hint(self.pane_context(), Action::GoalNew);
            self.say_error(format!("No active goals to check in on; {hint} sets one"));
            return;
        }
        let patient = v.records.patient.id.clone();
        self.popup = Some(Popup::Goal(GoalPopup::Pick {
            patient,
            list: FilteredList::new(rows, self.size),
        }));
    }

    fn choose_goal_for_check_in(&mut self) {
        let Some(Popup::Goal(GoalPopup::Pick { list, .. })) = self.popup.as_ref() else {
            return;
        };
        let Some(id) = list.selected().map(|r| r.goal.clone()) else {
            self.say_error("No goal matches".into());
            return;
        };
        let goal = self
            .patient
            .as_ref()
            .and_then(|v| v.records.goals.iter().find(|g| g.id == id).cloned());
        match goal {
            Some(g) => self.open_check_in_form(&g),
            None => self.say_error("That goal is no longer in the store".into()),
        }
    }

    fn open_check_in_form(&mut self, goal: &IntegrationGoal) {
        if let Some(i) = self.kept.check_ins.iter().position(|c| c.goal == goal.id) {
            let form = self.kept.check_ins.remove(i);
            self.say("What you typed before is back".into());
            self.popup = Some(Popup::Goal(GoalPopup::CheckIn(Box::new(form))));
            return;
        }
        let Some(v) = self.patient.as_ref() else {
            return;
        };
        let form = CheckInForm::new(goal, &v.records, self.now(), &self.settings.time_zone);
        self.popup = Some(Popup::Goal(GoalPopup::CheckIn(Box::new(form))));
    }

    /// Keys the keymap left unbound, on a field with choices: Left/Right choose, and on the
    /// check-in's note link Backspace clears it. True when the key was taken here.
    pub(super) fn goal_key(&mut self, key: KeyEvent) -> bool {
        let delta = match key.code {
            KeyCode::Left => -1,
            KeyCode::Right => 1,
            _ => 0,
        };
        match self.popup.as_mut() {
            Some(Popup::Goal(GoalPopup::Form(f))) => delta != 0 && f.cycle(delta),
            Some(Popup::Goal(GoalPopup::CheckIn(c))) if c.focused == 2 => {
                match key.code {
                    KeyCode::Left | KeyCode::Right => c.cycle_link(delta),
                    KeyCode::Backspace | KeyCode::Delete => c.link = None,
                    _ => self.say_error(
                        "←/→ choose the integration note, Backspace clears the link".into(),
                    ),
                }
                true
            }
            _ => false,
        }
    }

    pub(super) fn update_goal_popup(&mut self, action: Action) {
        let Some(Popup::Goal(p)) = self.popup.as_mut() else {
            return;
        };
        let navigated = match p {
            GoalPopup::Intentions { list, .. } => list.navigate(action),
            GoalPopup::Pick { list, .. } => list.navigate(action),
            GoalPopup::Form(_) | GoalPopup::CheckIn(_) => false,
        };
        if navigated {
            return;
        }
        match (p, action) {
            (_, Action::PopupClose) => self.close_goal_popup(),
            // A form open at a quit is kept in the store and comes back at the next start.
            (_, Action::Quit) => self.request_quit(),
            (GoalPopup::Intentions { .. }, Action::PopupConfirm) => self.choose_intention(),
            (GoalPopup::Pick { .. }, Action::PopupConfirm) => self.choose_goal_for_check_in(),
            (GoalPopup::Form(f), Action::FieldNext | Action::MoveDown) => f.move_focus(1),
            (GoalPopup::Form(f), Action::FieldPrev | Action::MoveUp) => f.move_focus(-1),
            (GoalPopup::Form(_), Action::PopupConfirm) => self.save_goal_form(),
            (GoalPopup::CheckIn(c), Action::FieldNext | Action::MoveDown) => c.move_focus(1),
            (GoalPopup::CheckIn(c), Action::FieldPrev | Action::MoveUp) => c.move_focus(-1),
            (GoalPopup::CheckIn(_), Action::PopupConfirm) => self.save_check_in(),
            (_, other) => self.say_error(format!("{} does nothing here", other.name())),
        }
    }

    /// Esc: a form with anything typed is kept for the same goal (or intention).
    fn close_goal_popup(&mut self) {
        let Some(Popup::Goal(p)) = self.popup.take() else {
            return;
        };
        let key = |app: &App, a| app.key_hint(app.focus.context(), a);
        match p {
            GoalPopup::Form(f) if f.is_dirty() => {
                let again = match f.target {
                    GoalTarget::Edit(_) => key(self, Action::NoteEdit),
                    GoalTarget::New { .. } => key(self, Action::GoalNew),
                };
                self.say(format!(
                    "Closed; what you typed is kept: {again} brings it back"
                ));
                self.kept.goals.push(f);
            }
            GoalPopup::CheckIn(c) if c.is_dirty() => {
                let again = key(self, Action::GoalCheckIn);
                self.say(format!(
                    "Closed; the check-in is kept: {again} on the goal brings it back"
                ));
                self.kept.check_ins.push(*c);
            }
            _ => {}
        }
    }

    fn save_goal_form(&mut self) {
        let now = self.now();
        let tz = self.settings.time_zone.clone();
        let Some(records) = self.patient.as_ref().map(|v| v.records.clone()) else {
            return;
        };
        let new_id = RecordId::from_uuid(self.ids.next(now));
        let Some(Popup::Goal(GoalPopup::Form(form))) = self.popup.as_mut() else {
            return;
        };
        if form.patient() != &records.patient.id {
            self.say_error("This form is for another patient; Esc keeps it".into());
            return;
        }
        let Some(mut goal) = form.submit(&records, new_id, now, &tz) else {
            let n = form.error_count();
            self.say_error(format!(
                "{n} field{} to fix before saving",
                if n == 1 { "" } else { "s" }
            ));
            return;
        };
        let is_new = matches!(form.target, GoalTarget::New { .. });
        if !is_new {
            // Check-ins may have been added since the form opened: keep the stored ones.
            match self.store.record(goal.id.as_str()) {
                Ok(Some(Record::Goal(stored))) => goal.check_ins = stored.check_ins,
                Ok(_) => {
                    self.say_error(
                        "That goal is no longer in the store; Esc keeps the form".into(),
                    );
                    return;
                }
                Err(e) => {
                    self.say_error(format!("Not saved: {e:#}"));
                    return;
                }
            }
        }
        let (id, title, domain, status) = (
            goal.id.clone(),
            goal.title.clone(),
            goal.domain.as_str().to_string(),
            goal.status,
        );
        if let Err(e) = self.write(Record::Goal(goal)) {
            // The form stays open with everything typed.
            self.say_error(format!("Not saved: {e:#}"));
            return;
        }
        self.popup = None;
        self.refresh_patient();
        self.select_goal_entry(&id, None);
        self.say(if is_new {
            format!("Goal set: {title} ({domain})")
        } else {
            format!("Saved the goal: {title} ({domain}, {})", status.as_str())
        });
    }

    fn save_check_in(&mut self) {
        let now = self.now();
        let Some(Popup::Goal(GoalPopup::CheckIn(form))) = self.popup.as_mut() else {
            return;
        };
        let Some(check_in) = form.submit(now) else {
            let why = form.errors[0].clone().unwrap_or_default();
            self.say_error(format!("Not saved: {why}"));
            return;
        };
        let id = form.goal.clone();
        // Appended to the goal as stored, so nothing written since the form opened is undone.
        let mut goal = match self.store.record(id.as_str()) {
            Ok(Some(Record::Goal(g))) => g,
            Ok(_) => {
                self.say_error(
                    "That goal is no longer in the store; Esc keeps the check-in".into(),
                );
                return;
            }
            Err(e) => {
                self.say_error(format!("Not saved: {e:#}"));
                return;
            }
        };
        let progress = check_in.progress;
        goal.check_ins.push(check_in);
        let index = goal.check_ins.len() - 1;
        let title = goal.title.clone();
        if let Err(e) = self.write(Record::Goal(goal)) {
            self.say_error(format!("Not saved: {e:#}"));
            return;
        }
        self.popup = None;
        self.refresh_patient();
        self.select_goal_entry(&id, Some(index));
        self.say(format!("Checked in on \"{title}\": {progress}/10"));
    }

    /// Selects a goal's GOAL entry, or one of its check-ins, in the timeline.
    fn select_goal_entry(&mut self, id: &RecordId, check_in: Option<usize>) {
        let h = self.list_height(Pane::Timeline);
        if let Some(v) = self.patient.as_mut()
            && let Some(i) = v
                .entries
                .iter()
                .position(|e| &e.record == id && e.check_in == check_in)
        {
            v.cursor.select(i, v.entries.len(), h);
            v.detail_scroll = 0;
        }
    }
}

/// Goals: choosing an intention or a goal, the goal form, a check-in. Every action goes to
/// `App::update_goal_popup`; the arrows choose in a form (`App::goal_key`).
impl super::component::Component for GoalPopup {
    fn mode(&self) -> &'static str {
        match self {
            GoalPopup::CheckIn(_) | GoalPopup::Pick { .. } => "CHECK-IN",
            _ => "GOAL",
        }
    }
    fn hints(&self) -> &'static [Action] {
        match self {
            GoalPopup::Form(_) | GoalPopup::CheckIn(_) => super::component::FORM_HINTS,
            _ => super::component::LIST_HINTS,
        }
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        let in_form = matches!(self, GoalPopup::Form(_) | GoalPopup::CheckIn(_));
        match action {
            Action::PopupConfirm if in_form => Some("save"),
            Action::PopupConfirm => Some("choose"),
            Action::PopupClose if in_form => Some("close, kept"),
            _ => None,
        }
    }
    fn field(&mut self) -> Option<&mut TextField> {
        GoalPopup::field(self)
    }
    fn after_typing(&mut self) {
        GoalPopup::after_typing(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LifeDomain, Note, Patient, Section};

    fn rid(s: &str) -> RecordId {
        RecordId::parse(s).unwrap()
    }

    #[test]
    fn intentions_are_listed_once_selected_note_first_and_marked_when_goals() {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        let prep = |id: &str, at: &str, body: &str| {
            Note::draft(
                rid(id),
                pid.clone(),
                NoteKind::Preparation,
                at.parse().unwrap(),
                "Prep",
                vec![Section::new("Intentions", body)],
            )
        };
        r.notes.push(prep(
            "n1",
            "2026-01-01T10:00:00Z",
            "Hopes:\n- Rest more\n- Walk daily",
        ));
        r.notes.push(prep(
            "n2",
            "2026-02-01T10:00:00Z",
            "- walk  daily\n- Call Sam",
        ));
        r.goals.push(IntegrationGoal {
            id: rid("g1"),
            patient: pid.clone(),
            at: "2026-02-02T10:00:00Z".parse().unwrap(),
            title: "Call Sam".into(),
            domain: LifeDomain::Relationships,
            status: GoalStatus::Active,
            target_date: None,
            source_note: Some(rid("n2")),
            sessions: vec![],
            check_ins: vec![],
        });
        let listed = |first: Option<&RecordId>| -> Vec<(String, String, bool)> {
            intention_rows(&r, first, &TimeZone::UTC)
                .into_iter()
                .map(|row| match row {
                    IntentionRow::NewGoal => ("new".into(), String::new(), false),
                    IntentionRow::Intention {
                        note,
                        text,
                        already,
                        ..
                    } => (note.to_string(), text, already.is_some()),
                })
                .collect()
        };
        let row = |n: &str, t: &str, a| (n.to_string(), t.to_string(), a);
        assert_eq!(
            listed(None),
            [
                row("new", "", false),
                row("n2", "walk  daily", false),
                row("n2", "Call Sam", true),
                row("n1", "Rest more", false),
            ]
        );
        assert_eq!(
            listed(Some(&rid("n1"))),
            [
                row("new", "", false),
                row("n1", "Rest more", false),
                row("n1", "Walk daily", false),
                row("n2", "Call Sam", true),
            ]
        );
    }
}
