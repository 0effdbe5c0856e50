//! The three panes (patients, timeline, detail): actions on them, focus, moving and paging.

use super::{Action, App, FormTarget, KeyContext, Pane, PatientForm, Popup, TextField};

impl App {
    /// An action on the panes (no popup, editor, console or view on top).
    pub(super) fn update_panes(&mut self, action: Action) -> anyhow::Result<()> {
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
            Action::PatientArchive => self.ask_archive()?,
            Action::PopupClose | Action::PopupConfirm | Action::FieldNext | Action::FieldPrev => {
                self.say_error(format!("{} works in popups and forms", action.name()));
            }
            Action::NoteNew => self.open_template_picker(),
            Action::NoteEdit => self.edit_selected_note()?,
            Action::NoteSign => self.ask_sign_selected_note(),
            Action::NoteDiscard => self.ask_discard_selected_draft(),
            Action::NoteAddendum => self.open_addendum(),
            Action::DraftsList => self.open_drafts()?,
            Action::ViewToday => self.toggle_today(),
            Action::ViewCourse => self.toggle_course(),
            Action::SessionStart => self.start_or_resume_session(),
            Action::SessionRemsSummary => self.write_rems_summary()?,
            Action::MeasureNew => self.open_measure(),
            Action::GoalNew => self.open_intentions(),
            Action::GoalCheckIn => self.open_check_in(),
            Action::ListAdd | Action::ListStop | Action::ListCorrect => self.open_list_form(action),
            Action::ChartPdf => self.export_chart_pdf()?,
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
        Ok(())
    }

    pub(super) fn cycle_focus(&mut self, delta: isize) {
        let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0) as isize;
        let next = Pane::ALL[(i + delta).rem_euclid(3) as usize];
        self.focus_pane(next);
    }

    pub(super) fn focus_pane(&mut self, pane: Pane) {
        if pane != Pane::Roster && self.patient.is_none() {
            self.say_error("Choose a patient first".into());
            return;
        }
        self.focus = pane;
        self.keep_cursors_visible();
    }

    pub(super) fn page(&self) -> usize {
        self.list_height(self.focus).saturating_sub(1).max(1)
    }

    pub(super) fn move_by(&mut self, delta: isize) {
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
    pub(super) fn detail_max_scroll(&self) -> usize {
        let layout = crate::layout::Screen::new(
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
        let layout = crate::layout::Screen::new(
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

    pub(super) fn keep_cursors_visible(&mut self) {
        let hr = self.list_height(Pane::Roster);
        let ht = self.list_height(Pane::Timeline);
        self.roster.cursor.keep_visible(self.roster.rows.len(), hr);
        if let Some(v) = self.patient.as_mut() {
            v.cursor.keep_visible(v.entries.len(), ht);
        }
    }
}
