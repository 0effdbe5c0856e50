//! The two full-screen views over the panes: Today (what needs doing across all patients, the
//! first screen of a morning) and Course (one patient's scores, goals and check-ins at a glance).
//! They hold only a cursor; Today's list is read from the store when it opens, the Course view
//! reads the open patient's records, so it is current after every save.

use super::list::ListCursor;
use super::{Action, App};
use crate::model::today::{Today, TodayItem, TodayRow};
use crate::model::{GoalStatus, IntegrationGoal, PatientId, PatientRecords, RecordId};

/// A full-screen view.
#[derive(Debug)]
pub enum View {
    Today(TodayView),
    Course(CourseView),
}

/// The Today list and the selected row.
#[derive(Debug)]
pub struct TodayView {
    pub today: Today,
    /// The moment it was read, shown so a list left open is not mistaken for a live one.
    pub read_at: jiff::Timestamp,
    pub cursor: ListCursor,
}

impl TodayView {
    /// Every row in the order shown: follow-ups, sessions, check-ins, drafts.
    pub fn rows(&self) -> impl Iterator<Item = &TodayRow> {
        self.today
            .follow_ups
            .iter()
            .chain(&self.today.sessions)
            .chain(&self.today.check_ins)
            .chain(&self.today.drafts)
    }

    pub fn selected(&self) -> Option<&TodayRow> {
        self.rows().nth(self.cursor.selected)
    }
}

/// The course of the open patient, with the selected goal.
#[derive(Debug, Default)]
pub struct CourseView {
    pub cursor: ListCursor,
    /// Showing the one-page summary (`s`) instead of the chart and goals, scrolled this far.
    pub summary: bool,
    pub scroll: u16,
}

/// A patient's goals in the order the Course view lists them: active first, then paused,
/// achieved and dropped; within each, the oldest first.
pub fn goals_in_order(r: &PatientRecords) -> Vec<&IntegrationGoal> {
    let rank = |s: GoalStatus| match s {
        GoalStatus::Active => 0,
        GoalStatus::Paused => 1,
        GoalStatus::Achieved => 2,
        GoalStatus::Dropped => 3,
    };
    let mut goals: Vec<&IntegrationGoal> = r.goals.iter().collect();
    goals.sort_by(|a, b| (rank(a.status), a.at, &a.id).cmp(&(rank(b.status), b.at, &b.id)));
    goals
}

/// Makes the Today list at `now` from every patient's agenda (`store::agenda`): one small
/// value per patient, not their records (docs/PERFORMANCE.md, "Today and the drafts list").
pub fn read_today(
    store: &dyn crate::store::Store,
    cadence: &crate::model::cadence::Cadence,
    gap: crate::model::cadence::CadenceStep,
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<Today> {
    let agendas = store.agendas()?;
    let rows = |part: &[crate::model::agenda::Agenda]| {
        let mut t = Today::default();
        for a in part {
            t.add_agenda(a, cadence, gap, now, tz);
        }
        t
    };
    // Working out each patient's schedule is the other half of Today's time: a large
    // practice's is split over two threads (the rows are sorted after, so the halves' order
    // does not matter).
    let mut t = if agendas.len() < crate::store::agenda::PARALLEL_FROM {
        rows(&agendas)
    } else {
        let (first, second) = agendas.split_at(agendas.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| rows(second));
            let mut t = rows(first);
            t.append(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
            t
        })
    };
    t.sort();
    Ok(t)
}

impl App {
    /// Opens Today, or closes it when it is open.
    pub(super) fn toggle_today(&mut self) {
        if matches!(self.view, Some(View::Today(_))) {
            self.view = None;
            return;
        }
        let now = self.now();
        let t = match read_today(
            self.store.as_ref(),
            &self.settings.cadence,
            self.settings.reinduction_gap,
            now,
            &self.settings.time_zone,
        ) {
            Ok(t) => t,
            Err(e) => {
                self.say_error(format!("Cannot read today's list: {e:#}"));
                return;
            }
        };
        self.say(if t.is_empty() {
            "Nothing needs doing today".to_string()
        } else {
            format!(
                "Today: {} to act on; {} opens one",
                t.len(),
                self.key_hint(super::KeyContext::Today, Action::Open)
            )
        });
        self.view = Some(View::Today(TodayView {
            today: t,
            read_at: now,
            cursor: ListCursor::default(),
        }));
    }

    /// Opens the Course view of the selected patient, or closes it.
    pub(super) fn toggle_course(&mut self) {
        if matches!(self.view, Some(View::Course(_))) {
            self.view = None;
            return;
        }
        if self.patient.is_none() {
            self.say_error("Choose a patient first: the course view shows one patient".into());
            return;
        }
        self.view = Some(View::Course(CourseView::default()));
    }

    /// Rows the Today list shows at the current size (the body less headings and margins).
    pub fn today_list_height(&self) -> usize {
        usize::from(self.size.1).saturating_sub(10).max(1)
    }

    pub(super) fn update_view(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::Back => self.view = None,
            Action::ViewToday => self.toggle_today(),
            Action::ViewCourse => self.toggle_course(),
            Action::ViewSummary if matches!(self.view, Some(View::Course(_))) => {
                if let Some(View::Course(c)) = &mut self.view {
                    c.summary = !c.summary;
                    c.scroll = 0;
                }
            }
            Action::MoveUp
            | Action::MoveDown
            | Action::PageUp
            | Action::PageDown
            | Action::MoveTop
            | Action::MoveBottom => self.move_in_view(action),
            Action::Open => self.open_from_view(),
            // Going to a pane leaves the view.
            Action::FocusRoster
            | Action::FocusTimeline
            | Action::FocusDetail
            | Action::FocusNext
            | Action::FocusPrev => {
                self.view = None;
                self.update(action);
            }
            Action::Quit => self.request_quit(),
            Action::Help => self.open_help(),
            Action::Palette => self.open_palette(),
            Action::ToggleTheme => self.cycle_theme(),
            Action::Privacy => self.toggle_privacy(),
            Action::DraftsList => self.open_drafts()?,
            Action::SearchAll => self.open_search(true),
            // The course view is one patient's: `/` searches their records.
            Action::SearchPatient if matches!(self.view, Some(View::Course(_))) => {
                self.open_search(false)
            }
            // Recording for the patient whose course is open; the popup opens over the view and
            // the view shows what was saved.
            Action::SafetyFollowUp if matches!(self.view, Some(View::Today(_))) => {
                self.open_safety_follow_up()
            }
            Action::CourseStart if matches!(self.view, Some(View::Course(_))) => {
                self.open_course_start()
            }
            Action::MeasureNew | Action::GoalNew | Action::GoalCheckIn
                if matches!(self.view, Some(View::Course(_))) =>
            {
                match action {
                    Action::MeasureNew => self.open_measure(),
                    Action::GoalNew => self.open_intentions(),
                    _ => self.open_check_in(),
                }
            }
            other => self.say_error(format!(
                "{} does not work in this view; {} goes back",
                other.description(),
                self.key_hint(self.pane_context(), Action::Back)
            )),
        }
        Ok(())
    }

    fn move_in_view(&mut self, action: Action) {
        // The summary scrolls as a page; it stops at its last screenful.
        let page = self.size.1.saturating_sub(4).max(1);
        let lines = self.summary_lines();
        if let Some(View::Course(c)) = &mut self.view
            && c.summary
        {
            let last = lines.saturating_sub(page);
            c.scroll = match action {
                Action::MoveUp => c.scroll.saturating_sub(1),
                Action::MoveDown => c.scroll.saturating_add(1),
                Action::PageUp => c.scroll.saturating_sub(page),
                Action::PageDown => c.scroll.saturating_add(page),
                Action::MoveTop => 0,
                _ => last,
            }
            .min(last);
            return;
        }
        let (len, height) = match &self.view {
            Some(View::Today(t)) => (t.today.len(), self.today_list_height()),
            Some(View::Course(_)) => (
                self.patient.as_ref().map_or(0, |p| p.records.goals.len()),
                self.course_goal_rows(),
            ),
            None => return,
        };
        let cursor = match &mut self.view {
            Some(View::Today(t)) => &mut t.cursor,
            Some(View::Course(c)) => &mut c.cursor,
            None => return,
        };
        cursor.navigate(action, len, height);
    }

    /// The open patient's course summary as of now.
    pub fn course_summary(&self) -> Option<crate::model::summary::Summary> {
        self.patient.as_ref().map(|p| {
            crate::model::summary::Summary::of(
                &p.records,
                self.now(),
                self.settings.reinduction_gap,
                self.settings.stalled_weeks,
                &self.settings.time_zone,
            )
        })
    }

    /// How many lines the summary takes at the current width.
    fn summary_lines(&self) -> u16 {
        self.course_summary().map_or(0, |s| {
            u16::try_from(
                crate::layout::summary::lines(&s, &self.settings.time_zone, self.size.0).len(),
            )
            .unwrap_or(u16::MAX)
        })
    }

    /// Goal rows the Course view shows at the current size.
    pub fn course_goal_rows(&self) -> usize {
        crate::layout::course::goal_rows((self.size.0, self.size.1))
    }

    fn open_from_view(&mut self) {
        match &self.view {
            Some(View::Today(t)) => {
                let Some(row) = t.selected().cloned() else {
                    self.say("Nothing to open: the list is empty".into());
                    return;
                };
                self.open_today_row(row);
            }
            Some(View::Course(c)) => {
                let goal = self.patient.as_ref().and_then(|p| {
                    goals_in_order(&p.records)
                        .get(c.cursor.selected)
                        .map(|g| (p.records.patient.id.clone(), g.id.clone()))
                });
                match goal {
                    Some((patient, goal)) => {
                        self.view = None;
                        self.show_record(&patient, &goal);
                    }
                    None => self.say_error(format!(
                        "No goals yet: {} promotes an intention to a goal",
                        self.key_hint(super::KeyContext::Course, Action::GoalNew)
                    )),
                }
            }
            None => {}
        }
    }

    /// Enter on a Today row: a draft opens in the editor, a check-in opens the patient's course,
    /// anything else is shown on the patient's timeline.
    fn open_today_row(&mut self, row: TodayRow) {
        self.view = None;
        match &row.item {
            TodayItem::Draft { note, title, .. } => {
                self.continue_draft(&row.patient, note, title, &row.patient_name);
            }
            TodayItem::CheckIn(c) => {
                self.show_record(&row.patient, &c.session);
                if self.patient_is(&row.patient) {
                    self.view = Some(View::Course(CourseView::default()));
                    self.say(format!(
                        "{}: the {} check-in; {} checks in on the selected goal",
                        row.patient_name,
                        c.describe(),
                        self.key_hint(super::KeyContext::Course, Action::GoalCheckIn)
                    ));
                }
            }
            item => self.show_record(&row.patient, item.record()),
        }
        if !self.patient_is(&row.patient) {
            self.say_error(format!("{} is no longer in the store", row.patient_name));
        }
    }

    pub(super) fn patient_is(&self, id: &PatientId) -> bool {
        self.patient
            .as_ref()
            .is_some_and(|p| &p.records.patient.id == id)
    }

    /// The goal selected in the Course view, if it is open.
    pub fn course_selected_goal(&self) -> Option<RecordId> {
        let Some(View::Course(c)) = &self.view else {
            return None;
        };
        let p = self.patient.as_ref()?;
        goals_in_order(&p.records)
            .get(c.cursor.selected)
            .map(|g| g.id.clone())
    }
}
