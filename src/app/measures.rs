//! Recording a measure: pick the instrument, then PHQ-9 and GAD-7 item by item on the keyboard
//! (a digit answers and moves to the next item), or the clinician-entered total of a scale whose
//! items kitnotes does not ship. Scoring is the model's ([`Measure::score`], [`outcome`]); this
//! module only collects answers, shows what they add up to, and saves.
//!
//! A questionnaire closed with Esc is kept for its patient and comes back with the same key.

use super::field::TextField;
use super::popup::{Filterable, FilteredList, Popup};
use super::{Action, App, KeyContext, Pane};
use crate::model::measure::{MAX_ENTERED_TOTAL, baseline, outcome};
use crate::model::timeline::{EntryKind, session_summary};
use crate::model::{Instrument, Measure, PatientId, PatientRecords, Record, RecordId, Score};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One instrument offered in the list.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentRow {
    pub instrument: Instrument,
    /// What it measures and how it is entered.
    pub what: &'static str,
    /// Answers kept from an earlier Esc, e.g. "3 of 9 answered, kept".
    pub kept: Option<String>,
}

impl Filterable for InstrumentRow {
    fn haystack(&self) -> String {
        format!(
            "{} {} {}",
            self.instrument.label(),
            self.instrument.as_str(),
            self.what
        )
    }
}

fn what(i: Instrument) -> &'static str {
    match i {
        Instrument::Phq9 => "depression, 9 items, scored here",
        Instrument::Gad7 => "anxiety, 7 items, scored here",
        Instrument::Cadss => "dissociation: the total you scored",
        Instrument::Meq30 => "mystical experience: the total you scored",
        Instrument::Ebi => "emotional breakthrough: the total you scored",
        Instrument::Ceq => "challenging experience: the total you scored",
    }
}

/// PHQ-9 or GAD-7 answers being given, one item at a time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemAnswers {
    pub instrument: Instrument,
    /// One slot per item, in item order.
    pub answers: Vec<Option<u8>>,
    /// The item on screen; equal to the item count once past the last one (the review).
    pub current: usize,
}

impl ItemAnswers {
    pub fn new(instrument: Instrument) -> Self {
        let n = instrument.items().map_or(0, <[_]>::len);
        Self {
            instrument,
            answers: vec![None; n],
            current: 0,
        }
    }

    pub fn item_count(&self) -> usize {
        self.answers.len()
    }

    pub fn answered(&self) -> usize {
        self.answers.iter().flatten().count()
    }

    /// Past the last item: the total is on screen.
    pub fn reviewing(&self) -> bool {
        self.current >= self.item_count()
    }

    /// Records `value` for the item on screen and moves to the next.
    pub fn answer(&mut self, value: u8) {
        if let Some(slot) = self.answers.get_mut(self.current) {
            *slot = Some(value.min(3));
            self.current += 1;
        }
    }

    /// One item back; false on the first item.
    pub fn back(&mut self) -> bool {
        if self.current == 0 {
            return false;
        }
        self.current -= 1;
        true
    }

    /// One item on, over an answered one; false when the item on screen has no answer yet.
    pub fn forward(&mut self) -> bool {
        match self.answers.get(self.current) {
            Some(Some(_)) => {
                self.current += 1;
                true
            }
            _ => false,
        }
    }

    /// Every answer, when all are given.
    pub fn complete(&self) -> Option<Vec<u8>> {
        self.answers.iter().copied().collect()
    }

    /// The first item (0-based) without an answer.
    pub fn first_unanswered(&self) -> Option<usize> {
        self.answers.iter().position(Option::is_none)
    }
}

/// A clinician-entered total being typed.
#[derive(Debug, Clone)]
pub struct TotalEntry {
    pub instrument: Instrument,
    pub field: TextField,
    /// Why the last save was refused; the text stays in the field.
    pub error: Option<String>,
}

#[derive(Debug)]
pub enum MeasureStep {
    Pick(FilteredList<InstrumentRow>),
    Items(ItemAnswers),
    Total(TotalEntry),
}

/// The "record a measure" popup.
#[derive(Debug)]
pub struct MeasureForm {
    pub patient: PatientId,
    pub patient_name: String,
    /// The dosing session the measure is taken at: the session selected in the timeline when
    /// the popup was opened, with its one-line summary.
    pub session: Option<(RecordId, String)>,
    pub step: MeasureStep,
}

impl MeasureForm {
    /// Whether closing it would drop something the user entered.
    pub fn has_input(&self) -> bool {
        match &self.step {
            MeasureStep::Pick(_) => false,
            MeasureStep::Items(a) => a.answered() > 0,
            MeasureStep::Total(t) => !t.field.text().trim().is_empty(),
        }
    }

    pub fn instrument(&self) -> Option<Instrument> {
        match &self.step {
            MeasureStep::Pick(_) => None,
            MeasureStep::Items(a) => Some(a.instrument),
            MeasureStep::Total(t) => Some(t.instrument),
        }
    }

    /// "PHQ-9 (3 of 9 answered)" or "CADSS (total 12)", for messages.
    pub fn progress(&self) -> String {
        match self.instrument() {
            Some(i) => format!("{} ({})", i.label(), self.entered()),
            None => String::new(),
        }
    }

    /// "3 of 9 answered" or "total 12".
    pub fn entered(&self) -> String {
        match &self.step {
            MeasureStep::Pick(_) => String::new(),
            MeasureStep::Items(a) => format!("{} of {} answered", a.answered(), a.item_count()),
            MeasureStep::Total(t) => format!("total {}", t.field.text().trim()),
        }
    }

    pub(super) fn field(&mut self) -> Option<&mut TextField> {
        match &mut self.step {
            MeasureStep::Pick(l) => Some(&mut l.filter),
            MeasureStep::Items(_) => None,
            MeasureStep::Total(t) => Some(&mut t.field),
        }
    }

    pub(super) fn after_typing(&mut self) {
        match &mut self.step {
            MeasureStep::Pick(l) => l.refilter(),
            MeasureStep::Items(_) => {}
            MeasureStep::Total(t) => t.error = None,
        }
    }
}

/// Reads a clinician-entered total of `instrument`: a number in its range
/// ([`Instrument::total_range`]), whole where the scale is; a decimal comma is taken as a point.
pub fn parse_total(text: &str, instrument: Instrument) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("type the total, e.g. 12".into());
    }
    match t.replace(',', ".").parse::<f64>() {
        Ok(v) if !(v.is_finite() && (0.0..=MAX_ENTERED_TOTAL).contains(&v)) => Err(format!(
            "{t} is out of range: {}",
            instrument
                .total_error(v)
                .unwrap_or_else(|| format!("a total is from 0 to {MAX_ENTERED_TOTAL}"))
        )),
        Ok(v) => match instrument.total_error(v) {
            Some(why) => Err(why),
            None => Ok(v),
        },
        Err(_) => Err(format!("\"{t}\" is not a number; type the total, e.g. 12")),
    }
}

/// A line of the review after the last item; `alert` lines are drawn in the flag style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewLine {
    pub alert: bool,
    pub text: String,
}

/// What the answers add up to, before saving: the total and band, PHQ-9 item 9 when above 0,
/// and the change from the patient's baseline (their earliest scored measure of the instrument)
/// with response and remission. Empty until every item is answered.
pub fn review(records: &PatientRecords, a: &ItemAnswers, tz: &TimeZone) -> Vec<ReviewLine> {
    let Some(items) = a.complete() else {
        return Vec::new();
    };
    let m = Measure {
        id: records_placeholder_id(),
        patient: records.patient.id.clone(),
        instrument: a.instrument,
        at: Timestamp::UNIX_EPOCH,
        items: items.clone(),
        entered_total: None,
        session: None,
    };
    let line = |alert, text: String| ReviewLine { alert, text };
    let (total, band) = match m.score() {
        Ok(Score::Scored { total, band, .. }) => (total, band),
        Ok(Score::Entered(_)) => return Vec::new(),
        Err(e) => return vec![line(true, format!("Cannot score: {e}"))],
    };
    let max = 3 * a.item_count();
    let mut out = vec![line(
        false,
        format!("Total {total} of {max}: {}", band.label()),
    )];
    if a.instrument == Instrument::Phq9
        && let Some(&v) = items.get(8)
        && v > 0
    {
        out.push(line(
            true,
            format!("Item 9 = {v}: thoughts of self-harm. Follow up today."),
        ));
    }
    let label = a.instrument.label();
    match baseline(&records.measures, a.instrument)
        .and_then(|b| b.score().ok().map(|s| (b.at, s.total())))
    {
        None => out.push(line(
            false,
            format!("No earlier {label}: this is the baseline."),
        )),
        Some((at, base)) => {
            // A scored total is 0 to 27, so it fits a u8 exactly.
            let o = outcome(a.instrument, Some(base as u8), total);
            let date = at.to_zoned(tz.clone()).date();
            let mut s = format!("Baseline {base} on {date} → {total}");
            if let Some(c) = o.change_percent {
                s.push_str(&format!(" ({c:+.0}%)"));
            }
            s.push_str(if o.response {
                ": response"
            } else {
                ": no response"
            });
            match o.remission {
                Some(true) => s.push_str(", remission"),
                Some(false) => s.push_str(", not in remission"),
                None => {}
            }
            out.push(line(false, s));
        }
    }
    out
}

/// The id a measure is scored under before it has its own; scoring never looks at it.
fn records_placeholder_id() -> RecordId {
    RecordId::from_uuid(uuid::Uuid::nil())
}

impl App {
    /// `m`: the instrument list, or the questionnaire this patient's last Esc kept.
    pub(super) fn open_measure(&mut self) {
        let Some(v) = self.patient.as_ref() else {
            self.say_error("Choose a patient first".into());
            return;
        };
        let patient = v.records.patient.id.clone();
        if let Some(i) = self
            .kept
            .measures
            .iter()
            .rposition(|f| f.patient == patient)
        {
            let form = self.kept.measures.remove(i);
            let back = self.key_hint(KeyContext::Popup, Action::PopupClose);
            self.say(format!(
                "Your unsaved {} is back ({back} keeps it again)",
                form.progress()
            ));
            self.popup = Some(Popup::Measure(form));
            return;
        }
        // Linked to a dosing session only when the user is looking at one in the timeline.
        let session = (self.focus != Pane::Roster && self.view.is_none())
            .then(|| v.selected())
            .flatten()
            .filter(|e| e.kind == EntryKind::Session)
            .and_then(|e| v.records.sessions.iter().find(|s| s.id == e.record))
            .map(|s| (s.id.clone(), session_summary(s)));
        let form = MeasureForm {
            patient_name: v.records.patient.name.clone(),
            patient,
            session,
            step: MeasureStep::Pick(FilteredList::new(Vec::new(), self.size)),
        };
        self.popup = Some(Popup::Measure(form));
        self.refresh_instrument_rows();
    }

    /// The instrument list, each row saying whether answers for it are kept.
    fn refresh_instrument_rows(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        let MeasureStep::Pick(list) = &mut f.step else {
            return;
        };
        list.rows = Instrument::ALL
            .into_iter()
            .map(|instrument| InstrumentRow {
                instrument,
                what: what(instrument),
                kept: self
                    .kept
                    .measures
                    .iter()
                    .find(|k| k.patient == f.patient && k.instrument() == Some(instrument))
                    .map(|k| format!("{}, kept", k.entered())),
            })
            .collect();
        list.refilter();
    }

    fn choose_instrument(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        let MeasureStep::Pick(list) = &f.step else {
            return;
        };
        let Some(instrument) = list.selected().map(|r| r.instrument) else {
            self.say_error("No instrument matches; Backspace widens the filter".into());
            return;
        };
        let patient = f.patient.clone();
        if let Some(i) = self
            .kept
            .measures
            .iter()
            .position(|k| k.patient == patient && k.instrument() == Some(instrument))
        {
            let kept = self.kept.measures.remove(i);
            self.say(format!("Your unsaved {} is back", kept.progress()));
            self.popup = Some(Popup::Measure(kept));
            return;
        }
        f.step = match instrument.items() {
            Some(_) => MeasureStep::Items(ItemAnswers::new(instrument)),
            None => MeasureStep::Total(TotalEntry {
                instrument,
                field: TextField::default(),
                error: None,
            }),
        };
    }

    /// Keys the keymap left unbound, while items are being answered: digits answer, Backspace
    /// and Left go back, Right goes on. True when the key was the questionnaire's.
    pub(super) fn measure_key(&mut self, key: KeyEvent) -> bool {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return false;
        };
        let MeasureStep::Items(a) = &mut f.step else {
            return false;
        };
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return true;
        }
        match key.code {
            KeyCode::Char(c @ '0'..='3') => {
                if a.reviewing() {
                    let back = self.key_hint(KeyContext::Popup, Action::MoveUp);
                    self.say_error(format!(
                        "Every item is answered: {back} goes back to change one"
                    ));
                } else {
                    a.answer(c as u8 - b'0');
                }
            }
            KeyCode::Char(c) if c.is_ascii_digit() => {
                self.say_error(format!(
                    "{c} is not an answer: each item is answered 0 to 3"
                ));
            }
            KeyCode::Backspace | KeyCode::Left => self.measure_back(),
            KeyCode::Right => self.measure_forward(),
            KeyCode::Char(_) => self.say_error(
                "Type 0, 1, 2 or 3 to answer; Backspace goes back to the item before".into(),
            ),
            _ => {}
        }
        true
    }

    fn measure_back(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        let MeasureStep::Items(a) = &mut f.step else {
            return;
        };
        if a.back() {
            return;
        }
        // Before the first item: back to the list, keeping any answers for this instrument.
        let step = std::mem::replace(
            &mut f.step,
            MeasureStep::Pick(FilteredList::new(Vec::new(), self.size)),
        );
        if let MeasureStep::Items(a) = step
            && a.answered() > 0
        {
            self.kept.measures.push(MeasureForm {
                patient: f.patient.clone(),
                patient_name: f.patient_name.clone(),
                session: f.session.clone(),
                step: MeasureStep::Items(a),
            });
        }
        self.refresh_instrument_rows();
    }

    fn measure_forward(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        let MeasureStep::Items(a) = &mut f.step else {
            return;
        };
        if !a.reviewing() && !a.forward() {
            let item = a.current + 1;
            self.say_error(format!("Item {item} has no answer yet: type 0 to 3"));
        }
    }

    pub(super) fn update_measure_popup(&mut self, action: Action) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        if let MeasureStep::Pick(list) = &mut f.step
            && list.navigate(action)
        {
            return;
        }
        match (&f.step, action) {
            (_, Action::PopupClose) => self.close_measure(),
            // A form open at a quit is kept in the store and comes back at the next start.
            (_, Action::Quit) => self.request_quit(),
            (MeasureStep::Pick(_), Action::PopupConfirm) => self.choose_instrument(),
            (MeasureStep::Items(_), Action::MoveUp | Action::FieldPrev) => self.measure_back(),
            (MeasureStep::Items(_), Action::MoveDown | Action::FieldNext) => self.measure_forward(),
            (MeasureStep::Items(_) | MeasureStep::Total(_), Action::PopupConfirm) => {
                self.save_measure()
            }
            (_, other) => self.say_error(format!("{} does nothing here", other.name())),
        }
    }

    /// Esc: the popup closes; answers or a typed total are kept for this patient.
    fn close_measure(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.take() else {
            return;
        };
        if f.has_input() {
            let key = self.key_hint(self.focus.context(), Action::MeasureNew);
            self.say(format!(
                "Closed; your {} is kept: {key} brings it back",
                f.progress()
            ));
            self.kept.measures.push(f);
        }
    }

    fn save_measure(&mut self) {
        let Some(Popup::Measure(f)) = self.popup.as_mut() else {
            return;
        };
        let (instrument, items, entered_total) = match &mut f.step {
            MeasureStep::Pick(_) => return,
            MeasureStep::Items(a) => match a.complete() {
                Some(items) => (a.instrument, items, None),
                None => {
                    let missing = a.first_unanswered().unwrap_or(0);
                    a.current = missing;
                    self.say_error(format!(
                        "Item {} has no answer yet: type 0 to 3",
                        missing + 1
                    ));
                    return;
                }
            },
            MeasureStep::Total(t) => match parse_total(t.field.text(), t.instrument) {
                Ok(v) => (t.instrument, Vec::new(), Some(v)),
                Err(e) => {
                    t.error = Some(e.clone());
                    self.say_error(format!("Not saved: {e}"));
                    return;
                }
            },
        };
        let (patient, name) = (f.patient.clone(), f.patient_name.clone());
        let session = f.session.as_ref().map(|(id, _)| id.clone());
        let now = self.now();
        let id = RecordId::from_uuid(self.ids.next(now));
        let m = Measure {
            id: id.clone(),
            patient,
            instrument,
            at: now,
            items,
            entered_total,
            session,
        };
        // The model has the last word on what is a valid measure.
        let score = match m.score() {
            Ok(s) => s,
            Err(e) => {
                self.say_error(format!("Not saved: {e}"));
                return;
            }
        };
        let summary = crate::model::timeline::measure_summary(&m);
        if let Err(e) = self.write(Record::Measure(m)) {
            // The popup stays open with every answer.
            self.say_error(format!("Not saved: {e:#}"));
            return;
        }
        self.popup = None;
        self.refresh_patient();
        self.select_entry(&id);
        if score.item9_flag() {
            self.say_error(format!(
                "Saved {summary} for {name}: thoughts of self-harm. Follow up today."
            ));
        } else {
            self.say(format!("Saved {summary} for {name}"));
        }
    }
}

/// Recording a measure: the instrument, then its items (digits answer, `App::measure_key`) or
/// total. Every action goes to `App::update_measure_popup`.
impl super::component::Component for MeasureForm {
    fn mode(&self) -> &'static str {
        "MEASURE"
    }
    fn hints(&self) -> &'static [Action] {
        match self.step {
            MeasureStep::Pick(_) => super::component::LIST_HINTS,
            MeasureStep::Items(_) => &[Action::PopupConfirm, Action::MoveUp, Action::PopupClose],
            MeasureStep::Total(_) => &[Action::PopupConfirm, Action::PopupClose],
        }
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        let choosing = matches!(self.step, MeasureStep::Pick(_));
        match action {
            Action::MoveUp if matches!(self.step, MeasureStep::Items(_)) => Some("back"),
            Action::PopupConfirm if choosing => Some("choose"),
            Action::PopupConfirm => Some("save"),
            Action::PopupClose if !choosing => Some("close, kept"),
            _ => None,
        }
    }
    fn field(&mut self) -> Option<&mut TextField> {
        MeasureForm::field(self)
    }
    fn after_typing(&mut self) {
        MeasureForm::after_typing(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Patient;

    #[test]
    fn answers_move_on_go_back_and_complete() {
        let mut a = ItemAnswers::new(Instrument::Gad7);
        assert_eq!(a.item_count(), 7);
        assert!(!a.back(), "nothing before the first item");
        assert!(!a.forward(), "an unanswered item cannot be skipped");
        for v in [1, 2, 3] {
            a.answer(v);
        }
        assert_eq!(a.current, 3);
        assert!(a.back());
        a.answer(0);
        assert_eq!(a.answers[2], Some(0));
        assert_eq!(a.complete(), None);
        assert_eq!(a.first_unanswered(), Some(3));
        for _ in 0..4 {
            a.answer(1);
        }
        assert!(a.reviewing());
        a.answer(3); // past the end: nothing changes
        assert_eq!(a.complete(), Some(vec![1, 2, 0, 1, 1, 1, 1]));
    }

    #[test]
    fn a_total_is_a_finite_number_in_range() {
        let cadss = Instrument::Cadss;
        assert_eq!(parse_total(" 12 ", cadss), Ok(12.0));
        assert_eq!(parse_total("7,5", Instrument::Ebi), Ok(7.5));
        assert!(
            parse_total("", cadss)
                .unwrap_err()
                .contains("type the total")
        );
        assert!(
            parse_total("12x", cadss)
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_total("-1", cadss).unwrap_err().contains("0 to 92"));
        assert!(
            parse_total("1e9", cadss)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_total("NaN", cadss).is_err());
        assert!(parse_total("inf", cadss).is_err());
        assert_eq!(
            parse_total("500", cadss).unwrap_err(),
            "a CADSS total is a whole number from 0 to 92 (23 subjective items scored 0-4; the \
             observer items are not part of it), not 500"
        );
        assert!(
            parse_total("12.5", cadss)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_total("151", Instrument::Meq30).is_err());
        assert!(parse_total("601", Instrument::Ebi).is_err());
        assert!(parse_total("131", Instrument::Ceq).is_err());
        assert_eq!(parse_total("130", Instrument::Ceq), Ok(130.0));
    }

    fn records() -> PatientRecords {
        PatientRecords::new(Patient::new(PatientId::parse("p1").unwrap(), "Test Person"))
    }

    fn answers(instrument: Instrument, items: &[u8]) -> ItemAnswers {
        let mut a = ItemAnswers::new(instrument);
        for &v in items {
            a.answer(v);
        }
        a
    }

    #[test]
    fn the_review_names_total_band_item9_and_the_baseline() {
        let mut r = records();
        let a = answers(Instrument::Phq9, &[1, 1, 1, 1, 1, 0, 0, 0, 2]);
        let lines = review(&r, &a, &TimeZone::UTC);
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            text,
            [
                "Total 7 of 27: mild",
                "Item 9 = 2: thoughts of self-harm. Follow up today.",
                "No earlier PHQ-9: this is the baseline.",
            ]
        );
        assert_eq!(
            lines.iter().map(|l| l.alert).collect::<Vec<_>>(),
            [false, true, false]
        );

        r.measures.push(Measure {
            id: RecordId::parse("m1").unwrap(),
            patient: r.patient.id.clone(),
            instrument: Instrument::Phq9,
            at: "2026-06-05T10:00:00Z".parse().unwrap(),
            items: vec![2, 2, 2, 2, 2, 2, 1, 1, 0],
            entered_total: None,
            session: None,
        });
        let a = answers(Instrument::Phq9, &[1, 1, 1, 1, 0, 0, 0, 0, 0]);
        let lines = review(&r, &a, &TimeZone::UTC);
        assert_eq!(
            lines[1].text,
            "Baseline 14 on 2026-06-05 → 4 (-71%): response, remission"
        );
        let a = answers(Instrument::Phq9, &[2, 2, 2, 1, 1, 0, 0, 0, 0]);
        assert_eq!(
            review(&r, &a, &TimeZone::UTC)[1].text,
            "Baseline 14 on 2026-06-05 → 8 (-43%): no response, not in remission"
        );
        // GAD-7 has its own baseline and no remission rule.
        let a = answers(Instrument::Gad7, &[3, 3, 3, 3, 3, 0, 0]);
        let text: Vec<String> = review(&r, &a, &TimeZone::UTC)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(
            text,
            [
                "Total 15 of 21: severe",
                "No earlier GAD-7: this is the baseline."
            ]
        );
        assert!(review(&r, &ItemAnswers::new(Instrument::Gad7), &TimeZone::UTC).is_empty());
    }
}
