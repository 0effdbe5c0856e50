//! Forms closed with Esc before they were saved: a half-answered questionnaire, a goal, a
//! check-in. They are kept per patient (or per goal) and come back when the same key is pressed
//! again, so nothing typed is lost; quitting while any is kept asks once first.

use super::goals::{CheckInForm, GoalForm};
use super::measures::MeasureForm;
use super::{Action, App};

#[derive(Debug, Default)]
pub struct KeptForms {
    pub(super) measures: Vec<MeasureForm>,
    pub(super) goals: Vec<GoalForm>,
    pub(super) check_ins: Vec<CheckInForm>,
}

impl KeptForms {
    pub fn len(&self) -> usize {
        self.measures.len() + self.goals.len() + self.check_ins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kept forms in a few words: "the PHQ-9, 3 of 9 answered, for Ana Example".
    fn describe(&self) -> String {
        if self.len() > 1 {
            return format!("{} forms closed with Esc are", self.len());
        }
        let one = if let Some(m) = self.measures.first() {
            format!("the {} for {}", m.progress(), m.patient_name)
        } else if let Some(g) = self.goals.first() {
            format!("the goal \"{}\"", g.display_title())
        } else if let Some(c) = self.check_ins.first() {
            format!("the check-in on \"{}\"", c.goal_title)
        } else {
            String::new()
        };
        format!("{one} is")
    }
}

impl App {
    /// Before quitting: forms closed with Esc live only in memory, so the first Quit says what
    /// would be lost and the second one quits. True when quitting may go on.
    pub(super) fn kept_forms_allow_quit(&mut self) -> bool {
        if self.kept.is_empty() || self.quit_armed {
            return true;
        }
        self.quit_armed = true;
        let quit = self.key_hint(self.pane_context(), Action::Quit);
        let what = self.kept.describe();
        let it = if self.kept.len() == 1 { "it" } else { "them" };
        self.say_error(format!(
            "Not quitting yet: {what} not saved (kept since Esc); {quit} again quits without {it}"
        ));
        false
    }
}
