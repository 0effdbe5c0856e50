//! Dosing sessions: medication, route, dose, lot, the dose time (T0), vitals, timed observations,
//! sedation and dissociation ratings, and discharge.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the medication is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// Intravenous infusion.
    Iv,
    /// Intramuscular injection.
    Im,
    /// Sublingual lozenge or troche.
    Sublingual,
    /// Intranasal spray (esketamine).
    Intranasal,
    Oral,
}

impl Route {
    pub const ALL: [Route; 5] = [
        Route::Iv,
        Route::Im,
        Route::Sublingual,
        Route::Intranasal,
        Route::Oral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Iv => "iv",
            Route::Im => "im",
            Route::Sublingual => "sublingual",
            Route::Intranasal => "intranasal",
            Route::Oral => "oral",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Route::Iv => "IV",
            Route::Im => "IM",
            Route::Sublingual => "sublingual",
            Route::Intranasal => "intranasal",
            Route::Oral => "oral",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One set of vital signs; any part may be missing (a BP-only reading is common).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vitals {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systolic: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diastolic: Option<u16>,
    /// Heart rate, beats per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate: Option<u16>,
    /// Oxygen saturation, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spo2: Option<u8>,
}

impl Vitals {
    /// Systolic and diastolic together, when both were taken.
    pub fn bp(&self) -> Option<(u16, u16)> {
        Some((self.systolic?, self.diastolic?))
    }

    /// Checks that at least one value was taken, that each is in a plausible range and that the
    /// diastolic is below the systolic. `field` names the reading in errors (`vitals[2]`); the
    /// quick vitals syntax passes an empty one.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let path = |f: &str| {
            if field.is_empty() {
                f.to_owned()
            } else {
                format!("{field}.{f}")
            }
        };
        if self.systolic.is_none()
            && self.diastolic.is_none()
            && self.heart_rate.is_none()
            && self.spo2.is_none()
        {
            return Err(ValidationError::new(
                field.to_owned(),
                "a vitals reading needs at least one value",
            ));
        }
        for (sign, value) in [
            (VitalSign::Systolic, self.systolic),
            (VitalSign::Diastolic, self.diastolic),
            (VitalSign::HeartRate, self.heart_rate),
            (VitalSign::Spo2, self.spo2.map(u16::from)),
        ] {
            if let Some(v) = value
                && let Some(message) = sign.out_of_range(u32::from(v))
            {
                return Err(ValidationError::new(path(sign.field()), message));
            }
        }
        if let (Some(s), Some(d)) = (self.systolic, self.diastolic)
            && d >= s
        {
            return Err(ValidationError::new(
                path("diastolic"),
                format!("diastolic {d} is not below systolic {s}"),
            ));
        }
        Ok(())
    }
}

/// One value in a vitals reading, with the range a reading must fall in. The ranges are wide on
/// purpose: they catch typing slips (`1280/84`), not clinical findings, which are flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitalSign {
    Systolic,
    Diastolic,
    HeartRate,
    Spo2,
}

impl VitalSign {
    /// The field's name in files.
    pub fn field(self) -> &'static str {
        match self {
            VitalSign::Systolic => "systolic",
            VitalSign::Diastolic => "diastolic",
            VitalSign::HeartRate => "heart_rate",
            VitalSign::Spo2 => "spo2",
        }
    }

    /// How a clinician names it in a message.
    pub fn label(self) -> &'static str {
        match self {
            VitalSign::Systolic => "systolic",
            VitalSign::Diastolic => "diastolic",
            VitalSign::HeartRate => "heart rate",
            VitalSign::Spo2 => "SpO2",
        }
    }

    /// The plausible range, inclusive.
    pub fn range(self) -> (u32, u32) {
        match self {
            VitalSign::Systolic => (40, 300),
            VitalSign::Diastolic => (20, 200),
            VitalSign::HeartRate => (20, 250),
            VitalSign::Spo2 => (50, 100),
        }
    }

    /// The range with its unit, as messages show it: "40-300 mmHg", "50-100%".
    pub fn range_text(self) -> String {
        let (lo, hi) = self.range();
        let unit = match self {
            VitalSign::Systolic | VitalSign::Diastolic => " mmHg",
            VitalSign::HeartRate => " bpm",
            VitalSign::Spo2 => "%",
        };
        format!("{lo}-{hi}{unit}")
    }

    /// Why `value` cannot be this sign, or `None` when it is in range.
    pub fn out_of_range(self, value: u32) -> Option<String> {
        let (lo, hi) = self.range();
        (!(lo..=hi).contains(&value))
            .then(|| format!("{} {value} is outside {}", self.label(), self.range_text()))
    }
}

/// A timed observation; `adverse` marks an adverse event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub at: Timestamp,
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adverse: bool,
}

/// A MOAA/S sedation rating: 5 responds readily to name in a normal tone, down to 0 no response
/// to a painful stimulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SedationRating {
    pub at: Timestamp,
    pub moaas: u8,
}

/// A dissociation score entered as a number, e.g. a CADSS total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DissociationRating {
    pub at: Timestamp,
    /// The scale's name, e.g. "CADSS".
    pub scale: String,
    pub total: f64,
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discharge {
    pub at: Timestamp,
    /// The patient must not drive that day: was someone else taking them home?
    pub transport_arranged: bool,
    /// Without transport arranged: who collects the patient instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_by: Option<String>,
    /// Without transport arranged: the patient refused it, and what was said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_refused: Option<String>,
    /// Minutes after dosing at which the patient would have been ready to leave without the
    /// 2-hour rule (asked by the esketamine REMS monitoring form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_minutes: Option<u32>,
}

impl Discharge {
    /// Who collects the patient, or their refusal, when transport was not arranged:
    /// "collected by Sam (partner)", "REFUSED by the patient: will walk home". `None` when
    /// transport was arranged or nothing more was recorded.
    pub fn without_transport(&self) -> Option<String> {
        if self.transport_arranged {
            return None;
        }
        match (&self.transport_refused, &self.collected_by) {
            (Some(why), _) => Some(format!("REFUSED by the patient: {why}")),
            (None, Some(who)) => Some(format!("collected by {who}")),
            (None, None) => None,
        }
    }
}

/// An adverse event marked resolved: the event (by its time), who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdverseResolved {
    /// The `at` of the adverse-event observation.
    pub event_at: Timestamp,
    pub by: String,
    pub at: Timestamp,
}

/// Which timed entry of a session a correction is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryField {
    Observation,
    Vitals,
    Sedation,
    Dissociation,
    Dose,
    Lot,
    /// T0, the dose time.
    DoseTime,
}

impl EntryField {
    /// How the console, the detail and the exports name it.
    pub fn label(self) -> &'static str {
        match self {
            EntryField::Observation => "observation",
            EntryField::Vitals => "vitals",
            EntryField::Sedation => "MOAA/S",
            EntryField::Dissociation => "dissociation",
            EntryField::Dose => "dose",
            EntryField::Lot => "lot",
            EntryField::DoseTime => "T0",
        }
    }

    /// Whether the entry is one of a list, found by its time (`entry_at`).
    pub fn is_timed_list(self) -> bool {
        !matches!(
            self,
            EntryField::Dose | EntryField::Lot | EntryField::DoseTime
        )
    }
}

/// A correction of a timed entry before the session is signed. The entry holds the new value;
/// the original stays readable here, with who corrected it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub field: EntryField,
    /// The corrected entry's time, for entries of a list (an observation, a reading, a rating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_at: Option<Timestamp>,
    /// Which of the entries of that kind taken at `entry_at` it is, from 0 (entries keep their
    /// order, so two taken the same second stay apart).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub entry_n: u32,
    /// The original, as it was typed or shown ("145/92 80 97", "CADSS 18", "56 mg").
    pub old: String,
    pub new: String,
    pub by: String,
    pub at: Timestamp,
    pub why: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A dose outside the protocol's range, given after the clinician confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseOverride {
    /// The dose confirmed, as shown: "1.2 mg/kg = 86.9 mg".
    pub dose: String,
    /// What the check said about it.
    pub check: String,
    pub why: String,
    pub by: String,
    pub at: Timestamp,
}

/// What a session's record gained after its entries were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amendments {
    /// Corrections of timed entries, oldest first; each keeps the original.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<Correction>,
    /// Doses given outside the protocol's range after a confirmation (who, why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dose_overrides: Vec<DoseOverride>,
    /// Adverse events marked resolved; an adverse event not here is open (a live flag).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adverse_resolved: Vec<AdverseResolved>,
    /// The time a booked session was booked for, when it started at another time (`at` then
    /// holds the real start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked_at: Option<Timestamp>,
}

/// One dosing session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DosingSession {
    pub id: RecordId,
    pub patient: PatientId,
    /// When the session starts (or is planned to). A booked session that starts at another time
    /// gets the time it really started here, and keeps the booking in its amendments
    /// ([`DosingSession::booked_at`]).
    pub at: Timestamp,
    /// Which session of the course this is, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// The protocol profile it follows, e.g. "esketamine-rems".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub medication: String,
    pub route: Route,
    /// The dose given, in mg. For weight-based doses it is computed from mg/kg and weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_mg_per_kg: Option<f64>,
    /// The weight the mg/kg dose was computed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// T0: when the dose was given. Every time in the session is shown relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vitals: Vec<Vitals>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sedation: Vec<SedationRating>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dissociation: Vec<DissociationRating>,
    /// Boxed, so a session (and `Record`) stays small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discharge: Option<Box<Discharge>>,
    /// Why the session ended before the minimum observation time, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_end_reason: Option<String>,
    /// The REMS form's answers the readings do not give (esketamine sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rems: Option<Box<super::rems::RemsAnswers>>,
    /// What was added to the record after the entries: corrections, confirmed doses, adverse
    /// events resolved. Boxed, and left out while empty, so a session (and `Record`, which
    /// holds one) stays small; read it through [`DosingSession::corrections`] and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amendments: Option<Box<Amendments>>,
    /// Who signed the session (together with its session note). A signed session never changes
    /// again: corrections are addenda to the session note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
}

/// Why a change to a dosing session was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(
        "dosing session {0} is signed and cannot be changed; add an addendum to its session note \
         instead"
    )]
    Signed(RecordId),
    #[error("dosing session {0} is already signed")]
    AlreadySigned(RecordId),
    #[error("a signature needs the clinician's name (set `clinician` in config.toml)")]
    NoSigner,
}

/// mg from a weight-based dose, rounded to 0.1 mg as it would be drawn up, halves up
/// (0.5 mg/kg x 70.1 kg = 35.05 mg -> 35.1 mg).
pub fn mg_from_mg_per_kg(mg_per_kg: f64, weight_kg: f64) -> f64 {
    // 35.05 is 35.04999... in binary; settling the product to 0.0001 mg first makes a true half
    // round up instead of down by chance.
    let ten_thousandths = (mg_per_kg * weight_kg * 10_000.0).round();
    (ten_thousandths / 1_000.0).round() / 10.0
}

/// Whole minutes from `t0` to `at`, counted toward T0: 3 min 14 s after is 3, and 3 min 14 s
/// before is -3 (not -4). The one rule for every "+12 min" and "-3 min" kitnotes shows: the
/// console, the session note, the REMS summary and the checklist.
pub fn minutes_from_t0(t0: Timestamp, at: Timestamp) -> i64 {
    at.duration_since(t0).as_secs() / 60
}

/// "+12 min", "-3 min" ("-0 min" under a minute before T0), by [`minutes_from_t0`].
pub fn minutes_label(t0: Timestamp, at: Timestamp) -> String {
    let m = minutes_from_t0(t0, at);
    if at < t0 {
        format!("-{} min", m.abs())
    } else {
        format!("+{m} min")
    }
}

impl DosingSession {
    /// A session of `medication` by `route` for `patient`, starting at `at`, with nothing
    /// recorded yet: no dose, no T0, no readings, not ended, not signed.
    pub fn new(
        id: RecordId,
        patient: PatientId,
        at: Timestamp,
        medication: impl Into<String>,
        route: Route,
    ) -> Self {
        Self {
            id,
            patient,
            at,
            number: None,
            protocol: None,
            medication: medication.into(),
            route,
            dose_mg: None,
            dose_mg_per_kg: None,
            weight_kg: None,
            lot: None,
            dose_time: None,
            vitals: Vec::new(),
            observations: Vec::new(),
            sedation: Vec::new(),
            dissociation: Vec::new(),
            discharge: None,
            early_end_reason: None,
            rems: None,
            amendments: None,
            signed_by: None,
            signed_at: None,
        }
    }

    /// Whether the session is signed, and so final.
    pub fn is_signed(&self) -> bool {
        self.signed_at.is_some()
    }

    /// Signs the session: records who and when. After this the store refuses any change to it
    /// (the observation list, vitals and discharge can be edited until then).
    pub fn sign(&mut self, by: &str, at: Timestamp) -> Result<(), SessionError> {
        if self.is_signed() {
            return Err(SessionError::AlreadySigned(self.id.clone()));
        }
        if by.trim().is_empty() {
            return Err(SessionError::NoSigner);
        }
        self.signed_by = Some(by.trim().to_owned());
        self.signed_at = Some(at);
        Ok(())
    }

    /// Whether `newer` may replace this stored version: anything goes before signing; a signed
    /// session may only be written again unchanged.
    pub fn may_become(&self, newer: &DosingSession) -> Result<(), SessionError> {
        if self.is_signed() && self != newer {
            return Err(SessionError::Signed(self.id.clone()));
        }
        Ok(())
    }

    /// The dose in mg: as recorded, or computed from mg/kg and weight.
    pub fn dose_in_mg(&self) -> Option<f64> {
        self.dose_mg
            .or_else(|| Some(mg_from_mg_per_kg(self.dose_mg_per_kg?, self.weight_kg?)))
    }

    /// Minutes since T0 at `at` (negative before dosing), or `None` before T0 is marked; counted
    /// as [`minutes_from_t0`] counts them.
    pub fn minutes_since_dose(&self, at: Timestamp) -> Option<i64> {
        Some(minutes_from_t0(self.dose_time?, at))
    }

    /// The REMS answers, to add to.
    pub fn rems_mut(&mut self) -> &mut super::rems::RemsAnswers {
        self.rems.get_or_insert_with(Default::default)
    }

    /// The pre-dose MOAA/S rating: the last one at or before T0.
    pub fn predose_moaas(&self) -> Option<u8> {
        let t0 = self.dose_time?;
        self.sedation
            .iter()
            .filter(|r| r.at <= t0)
            .max_by_key(|r| r.at)
            .map(|r| r.moaas)
    }

    /// The baseline vitals: the last reading with a BP at or before T0.
    pub fn baseline_vitals(&self) -> Option<&Vitals> {
        let t0 = self.dose_time?;
        self.vitals
            .iter()
            .filter(|v| v.at <= t0 && v.bp().is_some())
            .max_by_key(|v| v.at)
    }

    /// Corrections of timed entries, oldest first.
    pub fn corrections(&self) -> &[Correction] {
        self.amendments.as_deref().map_or(&[], |a| &a.corrections)
    }

    /// Doses given outside the protocol after a confirmation.
    pub fn dose_overrides(&self) -> &[DoseOverride] {
        self.amendments
            .as_deref()
            .map_or(&[], |a| &a.dose_overrides)
    }

    /// Adverse events marked resolved.
    pub fn adverse_resolved(&self) -> &[AdverseResolved] {
        self.amendments
            .as_deref()
            .map_or(&[], |a| &a.adverse_resolved)
    }

    /// The time the session was booked for, when it started at another time.
    pub fn booked_at(&self) -> Option<Timestamp> {
        self.amendments.as_deref().and_then(|a| a.booked_at)
    }

    /// The amendments, to add to.
    pub fn amendments_mut(&mut self) -> &mut Amendments {
        self.amendments.get_or_insert_with(Default::default)
    }

    /// Where entry `index` of `field`'s list is: its time and which of the entries taken then
    /// it is. `(None, 0)` for the dose, lot and T0, and for an index past the list.
    pub fn entry_place(&self, field: EntryField, index: usize) -> (Option<Timestamp>, u32) {
        let times: Vec<Timestamp> = match field {
            EntryField::Observation => self.observations.iter().map(|o| o.at).collect(),
            EntryField::Vitals => self.vitals.iter().map(|v| v.at).collect(),
            EntryField::Sedation => self.sedation.iter().map(|r| r.at).collect(),
            EntryField::Dissociation => self.dissociation.iter().map(|r| r.at).collect(),
            EntryField::Dose | EntryField::Lot | EntryField::DoseTime => Vec::new(),
        };
        match times.get(index) {
            Some(at) => {
                let n = times[..index].iter().filter(|t| *t == at).count();
                (Some(*at), u32::try_from(n).unwrap_or(u32::MAX))
            }
            None => (None, 0),
        }
    }

    /// The corrections of entry `index` of `field`'s list (0 for the dose, lot and T0), oldest
    /// first.
    pub fn corrections_of(
        &self,
        field: EntryField,
        index: usize,
    ) -> impl Iterator<Item = &Correction> {
        let (at, n) = self.entry_place(field, index);
        self.corrections()
            .iter()
            .filter(move |c| c.field == field && c.entry_at == at && c.entry_n == n)
    }

    /// Checks fields a file can get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.medication.trim().is_empty() {
            return Err(ValidationError::new(
                "medication",
                "a session needs its medication",
            ));
        }
        for (name, v) in [
            ("dose_mg", self.dose_mg),
            ("dose_mg_per_kg", self.dose_mg_per_kg),
            ("weight_kg", self.weight_kg),
        ] {
            if let Some(x) = v
                && !(x.is_finite() && x > 0.0 && x < 10_000.0)
            {
                return Err(ValidationError::new(
                    name,
                    format!("{name} must be a positive number (got {x})"),
                ));
            }
        }
        if self.dose_mg_per_kg.is_some() && self.weight_kg.is_none() && self.dose_mg.is_none() {
            return Err(ValidationError::new(
                "weight_kg",
                "a mg/kg dose needs the weight it was computed with",
            ));
        }
        if let (Some(mg), Some(per_kg), Some(w)) =
            (self.dose_mg, self.dose_mg_per_kg, self.weight_kg)
        {
            let computed = mg_from_mg_per_kg(per_kg, w);
            if (mg - computed).abs() > 0.5 {
                return Err(ValidationError::new(
                    "dose_mg",
                    format!("dose_mg {mg} does not match {per_kg} mg/kg x {w} kg = {computed} mg"),
                ));
            }
        }
        for (i, v) in self.vitals.iter().enumerate() {
            v.validate(&format!("vitals[{i}]"))?;
        }
        for (i, o) in self.observations.iter().enumerate() {
            if o.text.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("observations[{i}].text"),
                    "an observation needs text",
                ));
            }
        }
        for (i, r) in self.sedation.iter().enumerate() {
            if r.moaas > 5 {
                return Err(ValidationError::new(
                    format!("sedation[{i}].moaas"),
                    format!("MOAA/S is rated 0 to 5 (got {})", r.moaas),
                ));
            }
        }
        for (i, r) in self.dissociation.iter().enumerate() {
            if r.scale.trim().is_empty() || !(r.total.is_finite() && r.total >= 0.0) {
                return Err(ValidationError::new(
                    format!("dissociation[{i}]"),
                    "a dissociation rating needs a scale name and a total of 0 or more",
                ));
            }
            if let Some(why) = super::measure::Instrument::from_label(&r.scale)
                .and_then(|scale| scale.total_error(r.total))
            {
                return Err(ValidationError::new(
                    format!("dissociation[{i}].total"),
                    why,
                ));
            }
        }
        if let (Some(t0), Some(d)) = (self.dose_time, &self.discharge)
            && d.at < t0
        {
            return Err(ValidationError::new(
                "discharge.at",
                "discharge cannot come before the dose time",
            ));
        }
        match (&self.signed_by, self.signed_at) {
            (None, None) => {}
            (Some(by), Some(_)) if !by.trim().is_empty() => {}
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "signed_by",
                    "a signed session needs the name of who signed it",
                ));
            }
            (Some(_), None) => {
                return Err(ValidationError::new(
                    "signed_at",
                    "signed_by needs signed_at: when the session was signed",
                ));
            }
            (None, Some(_)) => {
                return Err(ValidationError::new(
                    "signed_by",
                    "signed_at needs signed_by: who signed the session",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn session() -> DosingSession {
        DosingSession {
            number: Some(1),
            protocol: Some("iv-ketamine".into()),
            dose_mg_per_kg: Some(0.5),
            weight_kg: Some(72.4),
            lot: Some("LOT-TEST-1".into()),
            dose_time: Some("2026-03-05T09:10:00Z".parse().unwrap()),
            ..DosingSession::new(
                RecordId::parse("s1").unwrap(),
                PatientId::parse("p1").unwrap(),
                "2026-03-05T09:00:00Z".parse().unwrap(),
                "ketamine",
                Route::Iv,
            )
        }
    }

    #[test]
    fn mg_per_kg_dose_is_computed_from_weight() {
        // 0.5 mg/kg is the common IV protocol: 72.4 kg -> 36.2 mg.
        assert_eq!(session().dose_in_mg(), Some(36.2));
        assert_eq!(mg_from_mg_per_kg(0.75, 80.0), 60.0);
        assert_eq!(mg_from_mg_per_kg(0.5, 68.33), 34.2);
        let mut s = session();
        s.dose_mg = Some(56.0);
        s.dose_mg_per_kg = None;
        assert_eq!(s.dose_in_mg(), Some(56.0));
    }

    #[test]
    fn mg_per_kg_rounds_to_a_tenth_of_a_mg_halves_up() {
        // Products that are exact halves in decimal but not in binary still round up.
        assert_eq!(mg_from_mg_per_kg(0.5, 70.1), 35.1);
        assert_eq!(mg_from_mg_per_kg(0.5, 70.3), 35.2);
        assert_eq!(mg_from_mg_per_kg(0.75, 66.6), 50.0); // 49.95
        assert_eq!(mg_from_mg_per_kg(0.6, 83.25), 50.0); // 49.95
        assert_eq!(mg_from_mg_per_kg(1.0, 72.44), 72.4);
        assert_eq!(mg_from_mg_per_kg(1.0, 72.46), 72.5);
        assert_eq!(mg_from_mg_per_kg(0.5, 72.4), 36.2);
        // IM ketamine-assisted psychotherapy range and the top of the studied IV range.
        assert_eq!(mg_from_mg_per_kg(1.0, 58.0), 58.0);
        assert_eq!(mg_from_mg_per_kg(0.75, 94.3), 70.7); // 70.725
    }

    #[test]
    fn the_dose_in_mg_prefers_what_was_recorded_and_needs_weight_for_mg_per_kg() {
        let mut s = session();
        s.weight_kg = None;
        assert_eq!(s.dose_in_mg(), None, "mg/kg without a weight gives no mg");
        s.weight_kg = Some(72.4);
        s.dose_mg_per_kg = None;
        assert_eq!(s.dose_in_mg(), None, "no dose recorded at all");
        s.dose_mg = Some(84.0);
        assert_eq!(s.dose_in_mg(), Some(84.0));
        s.dose_mg_per_kg = Some(0.5);
        s.dose_mg = Some(36.2);
        assert_eq!(
            s.dose_in_mg(),
            Some(36.2),
            "recorded mg wins when it agrees with mg/kg"
        );
    }

    #[test]
    fn a_session_is_signed_once_and_then_may_not_change() {
        let mut s = session();
        assert!(!s.is_signed());
        assert_eq!(s.sign("  ", s.at), Err(SessionError::NoSigner));
        let before = s.clone();
        let at: Timestamp = "2026-03-05T12:00:00Z".parse().unwrap();
        s.sign(" Dr. Rivera ", at).unwrap();
        assert!(s.is_signed());
        assert_eq!(s.signed_by.as_deref(), Some("Dr. Rivera"));
        assert_eq!(s.signed_at, Some(at));
        assert!(s.validate().is_ok());
        assert_eq!(
            s.sign("Dr. Rivera", at),
            Err(SessionError::AlreadySigned(s.id.clone()))
        );
        // Before signing anything may change; after, nothing may, not even the signature.
        assert!(before.may_become(&s).is_ok());
        assert!(s.may_become(&s.clone()).is_ok());
        let mut edited = s.clone();
        edited.observations.push(Observation {
            at,
            text: "Added after signing".into(),
            adverse: false,
        });
        let e = s.may_become(&edited).unwrap_err();
        assert_eq!(
            e.to_string(),
            "dosing session s1 is signed and cannot be changed; add an addendum to its session \
             note instead"
        );
        assert!(s.may_become(&before).is_err(), "unsigning is a change");
    }

    #[test]
    fn a_signature_needs_both_who_and_when() {
        let mut s = session();
        s.signed_by = Some("Dr. Rivera".into());
        assert_eq!(s.validate().unwrap_err().field, "signed_at");
        s.signed_by = None;
        s.signed_at = Some(s.at);
        assert_eq!(s.validate().unwrap_err().field, "signed_by");
        s.signed_by = Some(" ".into());
        assert_eq!(s.validate().unwrap_err().field, "signed_by");
    }

    #[test]
    fn an_unsigned_session_is_written_as_before_and_old_files_still_read() {
        let s = session();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("signed"), "{json}");
        let back: DosingSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let mut signed = s.clone();
        signed.sign("Dr. Rivera", s.at).unwrap();
        let json = serde_json::to_string(&signed).unwrap();
        assert!(
            json.ends_with(r#","signed_by":"Dr. Rivera","signed_at":"2026-03-05T09:00:00Z"}"#),
            "{json}"
        );
    }

    #[test]
    fn a_recorded_mg_dose_must_agree_with_mg_per_kg() {
        let mut s = session();
        s.dose_mg = Some(36.2);
        assert!(s.validate().is_ok());
        s.dose_mg = Some(50.0);
        let e = s.validate().unwrap_err();
        assert_eq!(e.field, "dose_mg");
        assert!(
            e.message.contains("0.5 mg/kg x 72.4 kg = 36.2 mg"),
            "{}",
            e.message
        );
    }

    #[test]
    fn minutes_count_from_t0() {
        let s = session();
        assert_eq!(
            s.minutes_since_dose("2026-03-05T09:50:00Z".parse().unwrap()),
            Some(40)
        );
        assert_eq!(
            s.minutes_since_dose("2026-03-05T09:05:00Z".parse().unwrap()),
            Some(-5)
        );
        let mut s = session();
        s.dose_time = None;
        assert_eq!(
            s.minutes_since_dose("2026-03-05T09:50:00Z".parse().unwrap()),
            None
        );
    }

    #[test]
    fn minutes_before_t0_count_toward_t0_like_those_after() {
        let t0: Timestamp = "2026-03-05T09:10:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // 3 min 14 s before T0 is -3 min, as 3 min 14 s after is +3 min.
        assert_eq!(minutes_from_t0(t0, at("2026-03-05T09:06:46Z")), -3);
        assert_eq!(minutes_label(t0, at("2026-03-05T09:06:46Z")), "-3 min");
        assert_eq!(minutes_label(t0, at("2026-03-05T09:13:14Z")), "+3 min");
        assert_eq!(minutes_label(t0, at("2026-03-05T09:09:30Z")), "-0 min");
        assert_eq!(minutes_label(t0, t0), "+0 min");
    }

    #[test]
    fn vitals_out_of_range_name_the_reading() {
        let mut s = session();
        s.vitals.push(Vitals {
            at: s.at,
            systolic: Some(120),
            diastolic: Some(130),
            heart_rate: None,
            spo2: None,
        });
        assert_eq!(s.validate().unwrap_err().field, "vitals[0].diastolic");
        s.vitals[0] = Vitals {
            at: s.at,
            systolic: None,
            diastolic: None,
            heart_rate: None,
            spo2: Some(101),
        };
        assert_eq!(s.validate().unwrap_err().field, "vitals[0].spo2");
        s.vitals[0].spo2 = None;
        assert_eq!(s.validate().unwrap_err().field, "vitals[0]");
    }

    #[test]
    fn a_known_scale_is_held_to_its_range_and_others_are_not() {
        let mut s = session();
        s.dissociation.push(DissociationRating {
            at: s.at,
            scale: "CADSS".into(),
            total: 500.0,
        });
        let e = s.validate().unwrap_err();
        assert_eq!(e.field, "dissociation[0].total");
        assert!(e.message.contains("0 to 92"), "{}", e.message);
        s.dissociation[0].total = 12.5;
        assert!(s.validate().is_err(), "CADSS totals are whole numbers");
        s.dissociation[0].total = 12.0;
        assert!(s.validate().is_ok());
        s.dissociation[0].scale = "DSS-4".into();
        s.dissociation[0].total = 500.0;
        assert!(
            s.validate().is_ok(),
            "a scale kitnotes does not know keeps its total"
        );
    }

    #[test]
    fn a_correction_belongs_to_its_entry_even_beside_one_of_the_same_second() {
        let mut s = session();
        let v = |sys| Vitals {
            at: s.at,
            systolic: Some(sys),
            diastolic: Some(80),
            heart_rate: None,
            spo2: None,
        };
        s.vitals = vec![v(145), v(130)];
        assert_eq!(s.entry_place(EntryField::Vitals, 1), (Some(s.at), 1));
        let at = s.at;
        s.amendments_mut().corrections.push(Correction {
            field: EntryField::Vitals,
            entry_at: Some(at),
            entry_n: 1,
            old: "130/80".into(),
            new: "132/80".into(),
            by: "Dr. Test".into(),
            at,
            why: "typo".into(),
        });
        assert_eq!(s.corrections_of(EntryField::Vitals, 0).count(), 0);
        assert_eq!(s.corrections_of(EntryField::Vitals, 1).count(), 1);
        // The field is left out of files while it is 0, and old files read as 0.
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""entry_n":1"#), "{json}");
        let back: DosingSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn moaas_is_zero_to_five() {
        let mut s = session();
        s.sedation.push(SedationRating { at: s.at, moaas: 6 });
        assert_eq!(s.validate().unwrap_err().field, "sedation[0].moaas");
    }
}
