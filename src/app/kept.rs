//! Forms closed with Esc before they were saved: a half-answered questionnaire, a goal, a
//! check-in. They are kept per patient (or per goal) and come back when the same key is pressed
//! again, so nothing typed is lost. They are kept in the store too (`app::unsaved`), so they
//! come back after a restart.

use super::goals::{CheckInForm, GoalForm};
use super::measures::MeasureForm;

#[derive(Debug, Default)]
pub struct KeptForms {
    pub(super) measures: Vec<MeasureForm>,
    pub(super) goals: Vec<GoalForm>,
    pub(super) check_ins: Vec<CheckInForm>,
}

impl KeptForms {
    pub(super) fn len(&self) -> usize {
        self.measures.len() + self.goals.len() + self.check_ins.len()
    }
}
