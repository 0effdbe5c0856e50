//! Corrections in the session console: an entry's text as recorded, the line that reads it
//! again, and applying a correction that keeps the original readable (struck through).

use super::*;
use crate::app::App;
use crate::app::field::TextField;
use crate::app::popup::{FilteredList, Popup};
use crate::model::session::{Correction, DosingSession, EntryField};
use crate::protocols::DoseCheck;
use crate::protocols::session_note::dose_text;
use jiff::Timestamp;

/// The entry `t` of `s` as it reads in the record: "145/92 80 98%", "CADSS 18", "56 mg (2
/// devices of 28 mg)", a lot, T0's clock time. `None` when there is no such entry.
pub fn entry_text(s: &DosingSession, t: CorrectTarget, tz: &jiff::tz::TimeZone) -> Option<String> {
    Some(match t.field {
        EntryField::Observation => s.observations.get(t.index)?.text.clone(),
        EntryField::Vitals => crate::model::format_vitals(s.vitals.get(t.index)?),
        EntryField::Sedation => s.sedation.get(t.index)?.moaas.to_string(),
        EntryField::Dissociation => {
            let d = s.dissociation.get(t.index)?;
            format!("{} {}", d.scale, d.total)
        }
        EntryField::Dose => {
            s.dose_in_mg()?;
            dose_text(s)
        }
        EntryField::Lot => s.lot.clone()?,
        EntryField::DoseTime => s
            .dose_time?
            .to_zoned(tz.clone())
            .strftime("%H:%M:%S")
            .to_string(),
    })
}

/// The entry as it is typed, to start a correction from.
pub(super) fn entry_input_text(
    s: &DosingSession,
    t: CorrectTarget,
    tz: &jiff::tz::TimeZone,
) -> Option<String> {
    match t.field {
        EntryField::Dose => Some(match s.dose_mg_per_kg {
            Some(k) => format!("{k} mg/kg"),
            None => format!("{}", s.dose_in_mg()?),
        }),
        _ => entry_text(s, t, tz),
    }
}

/// When the entry was taken, for entries of a list.
pub(super) fn entry_at(s: &DosingSession, t: CorrectTarget) -> Option<Timestamp> {
    match t.field {
        EntryField::Observation => s.observations.get(t.index).map(|o| o.at),
        EntryField::Vitals => s.vitals.get(t.index).map(|v| v.at),
        EntryField::Sedation => s.sedation.get(t.index).map(|r| r.at),
        EntryField::Dissociation => s.dissociation.get(t.index).map(|r| r.at),
        EntryField::Dose | EntryField::Lot | EntryField::DoseTime => None,
    }
}

/// Puts the corrected value `text` into entry `t` of `s`, read as a new entry of its kind is.
pub(super) fn apply_entry(
    s: &mut DosingSession,
    t: CorrectTarget,
    text: &str,
    weight: Option<f64>,
    tz: &jiff::tz::TimeZone,
) -> Result<(), String> {
    let gone = || "that entry is no longer there".to_string();
    match t.field {
        EntryField::Observation => {
            if text.is_empty() {
                return Err("type the corrected observation, or Esc".into());
            }
            s.observations.get_mut(t.index).ok_or_else(gone)?.text = text.to_owned();
        }
        EntryField::Vitals => {
            let v = s.vitals.get_mut(t.index).ok_or_else(gone)?;
            *v =
                crate::model::vitals_syntax::parse_vitals(text, v.at).map_err(|e| e.to_string())?;
        }
        EntryField::Sedation => {
            let moaas = parse_moaas(text)?;
            s.sedation.get_mut(t.index).ok_or_else(gone)?.moaas = moaas;
        }
        EntryField::Dissociation => {
            let (scale, total) = parse_dissociation(text)?;
            let d = s.dissociation.get_mut(t.index).ok_or_else(gone)?;
            d.scale = scale;
            d.total = total;
        }
        EntryField::Dose => {
            parse_dose(text).and_then(|d| set_dose(s, d, weight))?;
        }
        EntryField::Lot => {
            if text.is_empty() {
                return Err("type the corrected lot number, or Esc".into());
            }
            s.lot = Some(text.to_owned());
        }
        EntryField::DoseTime => {
            let t0 = s.dose_time.ok_or("T0 is not marked yet")?;
            s.dose_time = Some(parse_clock_time(text, t0, tz)?);
        }
    }
    Ok(())
}

/// The input line that reads entry `t`'s kind.
pub(super) fn input_kind_for(s: &DosingSession, t: CorrectTarget) -> InputKind {
    match t.field {
        EntryField::Observation => match s.observations.get(t.index) {
            Some(o) if o.adverse => InputKind::Adverse,
            _ => InputKind::Observation,
        },
        EntryField::Vitals => InputKind::Vitals,
        EntryField::Sedation => InputKind::Sedation,
        EntryField::Dissociation => InputKind::Dissociation,
        EntryField::Dose => InputKind::Dose,
        EntryField::Lot => InputKind::Lot,
        EntryField::DoseTime => InputKind::DoseTime,
    }
}

impl App {
    pub(in crate::app) fn edit_observation(&mut self) {
        let Some(c) = self.console.as_ref() else {
            return;
        };
        if c.session
            .observations
            .get(c.observations.selected)
            .is_none()
        {
            self.say_error("No observation to correct yet".into());
            return;
        }
        let index = c.observations.selected;
        self.open_correction(CorrectTarget {
            field: EntryField::Observation,
            index,
        });
    }

    /// Opens the input line on entry `t`, holding its value to correct.
    pub(in crate::app) fn open_correction(&mut self, t: CorrectTarget) {
        let now = self.now();
        let tz = self.settings.time_zone.clone();
        let Some(c) = self.console.as_mut() else {
            return;
        };
        if c.session.is_signed() {
            return self.say_signed();
        }
        let Some(text) = entry_input_text(&c.session, t, &tz) else {
            self.say_error(format!("No {} recorded to correct", t.field.label()));
            return;
        };
        c.input = Some(ConsoleInput {
            kind: input_kind_for(&c.session, t),
            field: TextField::new(&text),
            at: entry_at(&c.session, t).unwrap_or(now),
            error: None,
            editing: Some(t),
        });
    }

    /// `C`: every entry of the session, newest first, then the dose, lot and T0, to pick one to
    /// correct.
    pub(in crate::app) fn open_correct_picker(&mut self) {
        let tz = self.settings.time_zone.clone();
        let Some(c) = self.console.as_ref() else {
            return;
        };
        if c.session.is_signed() {
            return self.say_signed();
        }
        let s = &c.session;
        let mut timed: Vec<(Timestamp, CorrectRow)> = Vec::new();
        let lists = [
            (EntryField::Observation, s.observations.len()),
            (EntryField::Vitals, s.vitals.len()),
            (EntryField::Sedation, s.sedation.len()),
            (EntryField::Dissociation, s.dissociation.len()),
        ];
        for (field, n) in lists {
            for index in 0..n {
                let target = CorrectTarget { field, index };
                let (Some(at), Some(text)) = (entry_at(s, target), entry_text(s, target, &tz))
                else {
                    continue;
                };
                let text: String = crate::text_safety::one_line(&text)
                    .chars()
                    .take(70)
                    .collect();
                timed.push((
                    at,
                    CorrectRow {
                        target,
                        label: format!("{:<9} {:<13} {text}", c.stamp(at, &tz), field.label()),
                    },
                ));
            }
        }
        timed.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let mut rows: Vec<CorrectRow> = timed.into_iter().map(|(_, r)| r).collect();
        for field in [EntryField::Dose, EntryField::Lot, EntryField::DoseTime] {
            let target = CorrectTarget { field, index: 0 };
            if let Some(text) = entry_text(s, target, &tz) {
                rows.push(CorrectRow {
                    target,
                    label: format!("{:<9} {:<13} {text}", "", field.label()),
                });
            }
        }
        if rows.is_empty() {
            self.say_error("Nothing recorded yet to correct".into());
            return;
        }
        self.popup = Some(Popup::Correct(FilteredList::new(rows, self.size)));
    }

    /// Enter in the correction picker: the chosen entry opens in the input line.
    pub(in crate::app) fn choose_correct_entry(&mut self) {
        let Some(Popup::Correct(list)) = self.popup.as_ref() else {
            return;
        };
        let Some(row) = list.selected().cloned() else {
            self.say_error("No entry matches".into());
            return;
        };
        self.popup = None;
        self.open_correction(row.target);
    }

    /// Enter on a correction's line: the new value is read and checked, then the reason asked.
    pub(in crate::app) fn read_correction(
        &mut self,
        input: ConsoleInput,
        target: CorrectTarget,
        text: &str,
    ) {
        let now = self.now();
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let tz = self.settings.time_zone.clone();
        let Some(c) = self.console.as_ref() else {
            return;
        };
        let Some(old) = entry_text(&c.session, target, &tz) else {
            self.input_error(format!("the {} is no longer there", target.field.label()));
            return;
        };
        let mut s = c.session.clone();
        if let Err(e) = apply_entry(&mut s, target, text, c.patient.weight_kg, &tz) {
            self.input_error(e);
            return;
        }
        let new = entry_text(&s, target, &tz).unwrap_or_default();
        if new == old {
            self.input_error("That is what the record says now: type the corrected value".into());
            return;
        }
        let dose_check = match target.field {
            EntryField::Dose => match self.dose_check(&s) {
                DoseCheck::Usual => None,
                DoseCheck::Refuse(why) => {
                    self.input_error(why);
                    return;
                }
                DoseCheck::Confirm(why) => Some(why),
            },
            _ => None,
        };
        let (entry_at, entry_n) = c.session.entry_place(target.field, target.index);
        let correction = Correction {
            field: target.field,
            entry_at,
            entry_n,
            old,
            new,
            by: who,
            at: now,
            why: String::new(),
        };
        self.ask_why(Pending::Correction {
            session: s,
            correction,
            dose_check,
            back: input,
        });
    }
}

crate::app::component::list_component!(FilteredList<CorrectRow>, |p| p, "CORRECT", "correct");
