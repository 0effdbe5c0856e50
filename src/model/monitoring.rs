//! Monitoring rules for dosing sessions, and the follow-up calendar after them.
//!
//! Sources: the SPRAVATO (esketamine) prescribing information, section 5 and 2.1 (blood pressure
//! before dosing and about 40 minutes after, observation for at least 2 hours), the SPRAVATO REMS
//! patient monitoring form (submitted within 7 days), and MOAA/S as used in the label's sedation
//! data. Every number is a default in [`Thresholds`] that a clinician can change.

use super::session::{DosingSession, Vitals};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// Alert thresholds and timings; defaults follow the esketamine label and the clinic defaults of
/// the absolute vitals flags (domain.md, "Monitoring facts"), and can be overridden per protocol
/// profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Pre-dose systolic above this: weigh delaying treatment (label: "e.g., >140 mmHg").
    pub predose_systolic_max: u16,
    /// Pre-dose diastolic above this (label: "e.g., >90 mmHg").
    pub predose_diastolic_max: u16,
    /// A systolic rise from baseline of at least this many mmHg is flagged.
    pub rise_systolic: u16,
    /// A diastolic rise from baseline of at least this many mmHg is flagged.
    pub rise_diastolic: u16,
    /// SpO2 below this percentage is flagged. 90% is the conventional line for hypoxaemia.
    pub spo2_floor: u8,
    /// Systolic at or above this is flagged at any time (clinic default 180).
    pub systolic_high: u16,
    /// Diastolic at or above this is flagged at any time (clinic default 110).
    pub diastolic_high: u16,
    /// Systolic below this is flagged at any time (clinic default 90).
    pub systolic_low: u16,
    /// Heart rate above this is flagged (clinic default 120 bpm).
    pub heart_rate_high: u16,
    /// Heart rate below this is flagged (clinic default 50 bpm).
    pub heart_rate_low: u16,
    /// Re-measure BP about this many minutes after dosing.
    pub remeasure_minutes: u32,
    /// Observe the patient for at least this many minutes after dosing.
    pub min_observation_minutes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            predose_systolic_max: 140,
            predose_diastolic_max: 90,
            rise_systolic: 40,
            rise_diastolic: 25,
            spo2_floor: 90,
            systolic_high: 180,
            diastolic_high: 110,
            systolic_low: 90,
            heart_rate_high: 120,
            heart_rate_low: 50,
            remeasure_minutes: 40,
            min_observation_minutes: 120,
        }
    }
}

impl Thresholds {
    /// The absolute flag lines in one line, with where they come from: "BP 180/110 or more,
    /// systolic below 90, HR above 120 or below 50, SpO2 below 90% (clinic defaults)".
    pub fn absolute_summary(&self) -> String {
        let is_default = self.absolute_are_defaults();
        format!(
            "BP {}/{} or more, systolic below {}, HR above {} or below {}, SpO2 below {}% ({})",
            self.systolic_high,
            self.diastolic_high,
            self.systolic_low,
            self.heart_rate_high,
            self.heart_rate_low,
            self.spo2_floor,
            if is_default {
                "clinic defaults"
            } else {
                "set by the protocol profile"
            }
        )
    }
}

impl Thresholds {
    /// Whether the absolute lines are the clinic defaults (else the profile changed them).
    pub fn absolute_are_defaults(&self) -> bool {
        let d = Thresholds::default();
        self.systolic_high == d.systolic_high
            && self.diastolic_high == d.diastolic_high
            && self.systolic_low == d.systolic_low
            && self.heart_rate_high == d.heart_rate_high
            && self.heart_rate_low == d.heart_rate_low
            && self.spo2_floor == d.spo2_floor
    }

    /// The absolute lines in a few words, for a box's edge: "BP ≥180/110 <90 · HR 50-120 ·
    /// SpO2 <90%" (HR 50-120 is the range that is not flagged).
    pub fn absolute_short(&self) -> String {
        format!(
            "BP ≥{}/{} <{} · HR {}-{} · SpO2 <{}%",
            self.systolic_high,
            self.diastolic_high,
            self.systolic_low,
            self.heart_rate_low,
            self.heart_rate_high,
            self.spo2_floor,
        )
    }
}

/// Which kind of value a flag is about: a later reading of the same kind clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    BloodPressure,
    HeartRate,
    Spo2,
    Sedation,
    AdverseEvent,
}

impl FlagKind {
    /// The word the timeline and the summaries use: "BP", "HR", "SpO2", "sedation", "adverse".
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::BloodPressure => "BP",
            FlagKind::HeartRate => "HR",
            FlagKind::Spo2 => "SpO2",
            FlagKind::Sedation => "sedation",
            FlagKind::AdverseEvent => "adverse event",
        }
    }
}

/// Something in a vitals reading the clinician must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitalsFlag {
    /// Pre-dose BP above the threshold: consider delaying treatment.
    PredoseBpHigh {
        systolic: u16,
        diastolic: u16,
    },
    /// BP rose from baseline by at least the threshold.
    BpRise {
        systolic_rise: i32,
        diastolic_rise: i32,
    },
    /// BP at or above the absolute high line, before or after dosing.
    BpHigh {
        systolic: Option<u16>,
        diastolic: Option<u16>,
    },
    /// Systolic below the absolute low line.
    BpLow {
        systolic: u16,
    },
    HeartRateHigh {
        heart_rate: u16,
    },
    HeartRateLow {
        heart_rate: u16,
    },
    /// SpO2 below the floor.
    Spo2Low {
        spo2: u8,
    },
}

/// "(clinic default)" when a threshold is the default, "(protocol)" when the profile changed it.
fn source(is_default: bool) -> &'static str {
    if is_default {
        "clinic default"
    } else {
        "protocol"
    }
}

impl VitalsFlag {
    pub fn kind(&self) -> FlagKind {
        match self {
            VitalsFlag::PredoseBpHigh { .. }
            | VitalsFlag::BpRise { .. }
            | VitalsFlag::BpHigh { .. }
            | VitalsFlag::BpLow { .. } => FlagKind::BloodPressure,
            VitalsFlag::HeartRateHigh { .. } | VitalsFlag::HeartRateLow { .. } => {
                FlagKind::HeartRate
            }
            VitalsFlag::Spo2Low { .. } => FlagKind::Spo2,
        }
    }

    /// The flag with the line it crossed and where that line comes from: "HR 155 is above 120
    /// bpm (clinic default)".
    pub fn message(&self, t: &Thresholds) -> String {
        let d = Thresholds::default();
        let bp = |s: Option<u16>, dia: Option<u16>| {
            format!(
                "{}/{}",
                s.map_or("-".into(), |x| x.to_string()),
                dia.map_or("-".into(), |x| x.to_string())
            )
        };
        match *self {
            VitalsFlag::PredoseBpHigh {
                systolic,
                diastolic,
            } => format!(
                "pre-dose BP {systolic}/{diastolic} is above {}/{} ({}): consider delaying \
                 treatment",
                t.predose_systolic_max,
                t.predose_diastolic_max,
                source(
                    t.predose_systolic_max == d.predose_systolic_max
                        && t.predose_diastolic_max == d.predose_diastolic_max
                )
            ),
            VitalsFlag::BpRise {
                systolic_rise,
                diastolic_rise,
            } => format!(
                "BP up {systolic_rise:+}/{diastolic_rise:+} from baseline (flagged from +{}/+{}, {})",
                t.rise_systolic,
                t.rise_diastolic,
                source(t.rise_systolic == d.rise_systolic && t.rise_diastolic == d.rise_diastolic)
            ),
            VitalsFlag::BpHigh {
                systolic,
                diastolic,
            } => format!(
                "BP {} is high: systolic {} or more, or diastolic {} or more ({})",
                bp(systolic, diastolic),
                t.systolic_high,
                t.diastolic_high,
                source(t.systolic_high == d.systolic_high && t.diastolic_high == d.diastolic_high)
            ),
            VitalsFlag::BpLow { systolic } => format!(
                "BP low: systolic {systolic} is below {} ({})",
                t.systolic_low,
                source(t.systolic_low == d.systolic_low)
            ),
            VitalsFlag::HeartRateHigh { heart_rate } => format!(
                "HR {heart_rate} is above {} bpm ({})",
                t.heart_rate_high,
                source(t.heart_rate_high == d.heart_rate_high)
            ),
            VitalsFlag::HeartRateLow { heart_rate } => format!(
                "HR {heart_rate} is below {} bpm ({})",
                t.heart_rate_low,
                source(t.heart_rate_low == d.heart_rate_low)
            ),
            VitalsFlag::Spo2Low { spo2 } => format!(
                "SpO2 {spo2}% is below {}% ({})",
                t.spo2_floor,
                source(t.spo2_floor == d.spo2_floor)
            ),
        }
    }

    /// A few words for a narrow place: "BP 182/112 high", "HR 155 high", "SpO2 88% low".
    pub fn short(&self) -> String {
        match *self {
            VitalsFlag::PredoseBpHigh {
                systolic,
                diastolic,
            } => format!("pre-dose BP {systolic}/{diastolic} high"),
            VitalsFlag::BpRise {
                systolic_rise,
                diastolic_rise,
            } => format!("BP rise {systolic_rise:+}/{diastolic_rise:+}"),
            VitalsFlag::BpHigh {
                systolic,
                diastolic,
            } => match (systolic, diastolic) {
                (Some(s), Some(d)) => format!("BP {s}/{d} high"),
                (Some(s), None) => format!("systolic {s} high"),
                (None, Some(d)) => format!("diastolic {d} high"),
                (None, None) => "BP high".into(),
            },
            VitalsFlag::BpLow { systolic } => format!("BP {systolic} low"),
            VitalsFlag::HeartRateHigh { heart_rate } => format!("HR {heart_rate} high"),
            VitalsFlag::HeartRateLow { heart_rate } => format!("HR {heart_rate} low"),
            VitalsFlag::Spo2Low { spo2 } => format!("SpO2 {spo2}% low"),
        }
    }
}

/// Checks one reading. `predose` says whether it was taken before T0; `baseline` is the pre-dose
/// reading that rises are measured from. The absolute lines (BP high or low, heart rate, SpO2)
/// hold before and after dosing; a pre-dose BP at or above the absolute high line is flagged as
/// high, not also as "above 140/90".
pub fn check_vitals(
    v: &Vitals,
    predose: bool,
    baseline: Option<&Vitals>,
    t: &Thresholds,
) -> Vec<VitalsFlag> {
    let mut flags = Vec::new();
    let high = v.systolic.is_some_and(|s| s >= t.systolic_high)
        || v.diastolic.is_some_and(|d| d >= t.diastolic_high);
    if high {
        flags.push(VitalsFlag::BpHigh {
            systolic: v.systolic,
            diastolic: v.diastolic,
        });
    }
    if predose
        && !high
        && let Some((s, d)) = v.bp()
        && (s > t.predose_systolic_max || d > t.predose_diastolic_max)
    {
        flags.push(VitalsFlag::PredoseBpHigh {
            systolic: s,
            diastolic: d,
        });
    }
    if let Some(s) = v.systolic
        && s < t.systolic_low
    {
        flags.push(VitalsFlag::BpLow { systolic: s });
    }
    if !predose && let (Some((s, d)), Some((bs, bd))) = (v.bp(), baseline.and_then(Vitals::bp)) {
        let (rs, rd) = (i32::from(s) - i32::from(bs), i32::from(d) - i32::from(bd));
        if rs >= i32::from(t.rise_systolic) || rd >= i32::from(t.rise_diastolic) {
            flags.push(VitalsFlag::BpRise {
                systolic_rise: rs,
                diastolic_rise: rd,
            });
        }
    }
    if let Some(h) = v.heart_rate {
        if h > t.heart_rate_high {
            flags.push(VitalsFlag::HeartRateHigh { heart_rate: h });
        } else if h < t.heart_rate_low {
            flags.push(VitalsFlag::HeartRateLow { heart_rate: h });
        }
    }
    if let Some(o) = v.spo2
        && o < t.spo2_floor
    {
        flags.push(VitalsFlag::Spo2Low { spo2: o });
    }
    flags
}

/// Whether the reading was taken before T0 (every reading is, until T0 is marked).
fn is_predose(s: &DosingSession, v: &Vitals) -> bool {
    s.dose_time.is_none_or(|t0| v.at <= t0)
}

/// The flags of one reading of `s` (two readings at the same minute each keep their own).
pub fn reading_flags(s: &DosingSession, v: &Vitals, t: &Thresholds) -> Vec<VitalsFlag> {
    check_vitals(v, is_predose(s, v), s.baseline_vitals(), t)
}

/// Checks every reading of a session against its own baseline. A flag belongs to its reading:
/// it stays here (and in the record) when a later reading clears the live warning.
pub fn session_flags(s: &DosingSession, t: &Thresholds) -> Vec<(Timestamp, VitalsFlag)> {
    let baseline = s.baseline_vitals();
    s.vitals
        .iter()
        .flat_map(|v| {
            check_vitals(v, is_predose(s, v), baseline, t)
                .into_iter()
                .map(move |f| (v.at, f))
        })
        .collect()
}

/// A warning that holds now, on the latest readings.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveFlag {
    /// A flag of the latest reading of its kind (BP, heart rate, SpO2).
    Vitals { at: Timestamp, flag: VitalsFlag },
    /// The latest MOAA/S after T0 is below the pre-dose rating.
    Sedation {
        at: Timestamp,
        moaas: u8,
        predose: u8,
    },
    /// An adverse event not yet marked resolved.
    AdverseEvent { at: Timestamp, text: String },
}

impl LiveFlag {
    pub fn kind(&self) -> FlagKind {
        match self {
            LiveFlag::Vitals { flag, .. } => flag.kind(),
            LiveFlag::Sedation { .. } => FlagKind::Sedation,
            LiveFlag::AdverseEvent { .. } => FlagKind::AdverseEvent,
        }
    }

    pub fn at(&self) -> Timestamp {
        match self {
            LiveFlag::Vitals { at, .. }
            | LiveFlag::Sedation { at, .. }
            | LiveFlag::AdverseEvent { at, .. } => *at,
        }
    }

    /// A few words for the console's header.
    pub fn short(&self) -> String {
        match self {
            LiveFlag::Vitals { flag, .. } => flag.short(),
            LiveFlag::Sedation { moaas, predose, .. } => {
                format!("sedated: MOAA/S {moaas}, pre-dose {predose}")
            }
            LiveFlag::AdverseEvent { .. } => "adverse event open".into(),
        }
    }
}

/// Every warning that holds on the latest readings: for BP, heart rate and SpO2, the flags of the
/// latest reading holding that value (a later normal reading of the same kind clears an earlier
/// flag); sedation when the latest MOAA/S after T0 is below the pre-dose rating; each adverse
/// event not marked resolved.
pub fn live_flags(s: &DosingSession, t: &Thresholds) -> Vec<LiveFlag> {
    let baseline = s.baseline_vitals();
    let mut out = Vec::new();
    type Holds = fn(&Vitals) -> bool;
    let kinds: [(FlagKind, Holds); 3] = [
        (FlagKind::BloodPressure, |v| {
            v.systolic.is_some() || v.diastolic.is_some()
        }),
        (FlagKind::HeartRate, |v| v.heart_rate.is_some()),
        (FlagKind::Spo2, |v| v.spo2.is_some()),
    ];
    for (kind, has) in kinds {
        // The latest reading of the kind; of two at the same moment, the one entered last.
        let Some(v) = s
            .vitals
            .iter()
            .enumerate()
            .filter(|(_, v)| has(v))
            .max_by_key(|(i, v)| (v.at, *i))
            .map(|(_, v)| v)
        else {
            continue;
        };
        for flag in check_vitals(v, is_predose(s, v), baseline, t) {
            if flag.kind() == kind {
                out.push(LiveFlag::Vitals { at: v.at, flag });
            }
        }
    }
    if let Some(t0) = s.dose_time
        && let Some((_, r)) = s
            .sedation
            .iter()
            .enumerate()
            .filter(|(_, r)| r.at > t0)
            .max_by_key(|(i, r)| (r.at, *i))
        && is_sedated(s.predose_moaas(), r.moaas)
    {
        out.push(LiveFlag::Sedation {
            at: r.at,
            moaas: r.moaas,
            predose: s.predose_moaas().unwrap_or(5),
        });
    }
    for o in s.observations.iter().filter(|o| o.adverse) {
        if !s.adverse_resolved().iter().any(|r| r.event_at == o.at) {
            out.push(LiveFlag::AdverseEvent {
                at: o.at,
                text: o.text.clone(),
            });
        }
    }
    out
}

/// The kinds of flag a session's record holds, in a fixed order, for the timeline: "BP, SpO2,
/// adverse event". Every flagged reading counts, cleared or not. Sedation is left out: some
/// drop in MOAA/S is expected in most ketamine sessions, and a mark on nearly every session
/// would hide the ones that need a look (the console's header and the detail still show it).
pub fn flag_kinds(s: &DosingSession, t: &Thresholds) -> Vec<FlagKind> {
    let mut kinds: Vec<FlagKind> = session_flags(s, t).iter().map(|(_, f)| f.kind()).collect();
    if s.observations.iter().any(|o| o.adverse) {
        kinds.push(FlagKind::AdverseEvent);
    }
    let order = [
        FlagKind::BloodPressure,
        FlagKind::HeartRate,
        FlagKind::Spo2,
        FlagKind::Sedation,
        FlagKind::AdverseEvent,
    ];
    order.into_iter().filter(|k| kinds.contains(k)).collect()
}

/// Any drop from the pre-dose MOAA/S rating counts as sedation. Without a pre-dose rating the
/// patient is taken to have been fully alert (5).
pub fn is_sedated(predose_moaas: Option<u8>, moaas: u8) -> bool {
    moaas < predose_moaas.unwrap_or(5)
}

/// Whether the minimum observation time has passed between T0 and `at`.
pub fn observation_time_met(s: &DosingSession, at: Timestamp, t: &Thresholds) -> bool {
    s.minutes_since_dose(at)
        .is_some_and(|m| m >= i64::from(t.min_observation_minutes))
}

/// Whether the session may end at `at` without a recorded reason: observed long enough, and the
/// last sedation rating is back to the pre-dose level.
pub fn may_discharge(
    s: &DosingSession,
    at: Timestamp,
    t: &Thresholds,
) -> Result<(), DischargeBlock> {
    if !observation_time_met(s, at, t) {
        return Err(DischargeBlock::TooEarly {
            minutes: s.minutes_since_dose(at),
            required: t.min_observation_minutes,
        });
    }
    let pre = s.predose_moaas();
    if let Some(last) = s
        .sedation
        .iter()
        .filter(|r| r.at <= at)
        .max_by_key(|r| r.at)
        && is_sedated(pre, last.moaas)
    {
        return Err(DischargeBlock::StillSedated {
            moaas: last.moaas,
            predose: pre.unwrap_or(5),
        });
    }
    Ok(())
}

/// Why a patient should not be discharged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DischargeBlock {
    #[error("observed {} of the required {required} minutes", match .minutes { Some(m) => m.to_string(), None => "0 (no dose time)".into() })]
    TooEarly { minutes: Option<i64>, required: u32 },
    #[error("still sedated: MOAA/S {moaas}, pre-dose {predose}")]
    StillSedated { moaas: u8, predose: u8 },
}

/// The REMS patient monitoring form is due within 7 days of the session.
pub fn rems_form_due(session_at: Timestamp) -> Timestamp {
    session_at
        .checked_add((7 * 24).hours())
        .unwrap_or(Timestamp::MAX)
}

/// Spravato is supplied as 28 mg nasal spray devices; the number a dose uses, when it is a whole
/// number of devices.
pub fn esketamine_devices(dose_mg: f64) -> Option<u32> {
    let devices = dose_mg / 28.0;
    (devices.fract() == 0.0 && (1.0..=3.0).contains(&devices)).then_some(devices as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::{PatientId, RecordId};
    use crate::model::session::{Route, SedationRating};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn bp(at: &str, s: u16, d: u16) -> Vitals {
        Vitals {
            at: ts(at),
            systolic: Some(s),
            diastolic: Some(d),
            heart_rate: Some(72),
            spo2: Some(98),
        }
    }

    fn esketamine() -> DosingSession {
        DosingSession {
            number: Some(1),
            protocol: Some("esketamine-rems".into()),
            dose_mg: Some(56.0),
            lot: Some("TEST-LOT".into()),
            dose_time: Some(ts("2026-03-05T09:10:00Z")),
            ..DosingSession::new(
                RecordId::parse("s1").unwrap(),
                PatientId::parse("p1").unwrap(),
                ts("2026-03-05T09:00:00Z"),
                "esketamine",
                Route::Intranasal,
            )
        }
    }

    #[test]
    fn predose_bp_above_140_over_90_is_flagged_and_140_over_90_is_not() {
        let t = Thresholds::default();
        assert!(check_vitals(&bp("2026-03-05T09:00:00Z", 140, 90), true, None, &t).is_empty());
        assert_eq!(
            check_vitals(&bp("2026-03-05T09:00:00Z", 141, 80), true, None, &t),
            vec![VitalsFlag::PredoseBpHigh {
                systolic: 141,
                diastolic: 80
            }]
        );
        assert_eq!(
            check_vitals(&bp("2026-03-05T09:00:00Z", 130, 91), true, None, &t).len(),
            1
        );
        // The same reading after dosing is judged by the rise rule, not the pre-dose threshold.
        assert!(check_vitals(&bp("2026-03-05T09:00:00Z", 141, 80), false, None, &t).is_empty());
    }

    #[test]
    fn a_rise_of_40_systolic_or_25_diastolic_from_baseline_is_flagged() {
        let t = Thresholds::default();
        let base = bp("2026-03-05T09:00:00Z", 120, 80);
        let at = "2026-03-05T09:50:00Z";
        assert!(check_vitals(&bp(at, 159, 104), false, Some(&base), &t).is_empty());
        assert_eq!(
            check_vitals(&bp(at, 160, 80), false, Some(&base), &t),
            vec![VitalsFlag::BpRise {
                systolic_rise: 40,
                diastolic_rise: 0
            }]
        );
        assert_eq!(
            check_vitals(&bp(at, 120, 105), false, Some(&base), &t).len(),
            1
        );
    }

    #[test]
    fn spo2_below_the_floor_is_flagged_and_the_floor_is_configurable() {
        let mut v = bp("2026-03-05T09:00:00Z", 120, 80);
        v.spo2 = Some(89);
        let t = Thresholds::default();
        assert_eq!(
            check_vitals(&v, false, None, &t),
            vec![VitalsFlag::Spo2Low { spo2: 89 }]
        );
        v.spo2 = Some(90);
        assert!(check_vitals(&v, false, None, &t).is_empty());
        let strict = Thresholds {
            spo2_floor: 94,
            ..t
        };
        assert_eq!(check_vitals(&v, false, None, &strict).len(), 1);
    }

    #[test]
    fn session_flags_measure_rises_from_the_predose_reading() {
        let mut s = esketamine();
        s.vitals = vec![
            bp("2026-03-05T09:05:00Z", 150, 85),
            bp("2026-03-05T09:50:00Z", 192, 95),
        ];
        let flags = session_flags(&s, &Thresholds::default());
        assert_eq!(flags.len(), 3, "192 is also at or above the absolute 180");
        assert!(matches!(flags[0].1, VitalsFlag::PredoseBpHigh { .. }));
        assert!(matches!(flags[1].1, VitalsFlag::BpHigh { .. }));
        assert_eq!(
            flags[2],
            (
                ts("2026-03-05T09:50:00Z"),
                VitalsFlag::BpRise {
                    systolic_rise: 42,
                    diastolic_rise: 10
                }
            )
        );
    }

    fn reading(
        at: &str,
        s: Option<u16>,
        d: Option<u16>,
        hr: Option<u16>,
        o2: Option<u8>,
    ) -> Vitals {
        Vitals {
            at: ts(at),
            systolic: s,
            diastolic: d,
            heart_rate: hr,
            spo2: o2,
        }
    }

    #[test]
    fn the_absolute_lines_are_the_clinic_defaults_and_hold_before_and_after_dosing() {
        let t = Thresholds::default();
        let at = "2026-03-05T09:50:00Z";
        let flags = |v: Vitals, predose| check_vitals(&v, predose, None, &t);
        assert!(
            flags(
                reading(at, Some(179), Some(109), Some(120), Some(90)),
                false
            )
            .is_empty()
        );
        assert_eq!(
            flags(reading(at, Some(180), Some(100), None, None), false),
            vec![VitalsFlag::BpHigh {
                systolic: Some(180),
                diastolic: Some(100)
            }]
        );
        // Pre-dose, 182/112 is high: one flag, not also "above 140/90".
        assert_eq!(
            flags(reading(at, Some(182), Some(112), None, None), true).len(),
            1
        );
        assert_eq!(
            flags(reading(at, Some(170), Some(110), None, None), false)[0].kind(),
            FlagKind::BloodPressure
        );
        assert_eq!(
            flags(reading(at, Some(89), Some(50), None, None), false),
            vec![VitalsFlag::BpLow { systolic: 89 }]
        );
        assert!(flags(reading(at, Some(90), Some(50), None, None), false).is_empty());
        assert_eq!(
            flags(reading(at, None, None, Some(155), None), false),
            vec![VitalsFlag::HeartRateHigh { heart_rate: 155 }]
        );
        assert_eq!(
            flags(reading(at, None, None, Some(38), None), true),
            vec![VitalsFlag::HeartRateLow { heart_rate: 38 }]
        );
        assert!(flags(reading(at, None, None, Some(50), None), false).is_empty());
        let m = VitalsFlag::HeartRateHigh { heart_rate: 155 }.message(&t);
        assert_eq!(m, "HR 155 is above 120 bpm (clinic default)");
        let strict = Thresholds {
            heart_rate_high: 110,
            ..t
        };
        assert_eq!(
            VitalsFlag::HeartRateHigh { heart_rate: 115 }.message(&strict),
            "HR 115 is above 110 bpm (protocol)"
        );
        assert!(t.absolute_summary().ends_with("(clinic defaults)"));
    }

    #[test]
    fn live_flags_hold_on_the_latest_reading_of_their_kind_and_records_keep_theirs() {
        let t = Thresholds::default();
        let mut s = esketamine();
        // Pre-dose 145/92 is high; a normal re-measure before T0 clears the live warning.
        s.vitals = vec![reading(
            "2026-03-05T09:00:00Z",
            Some(145),
            Some(92),
            Some(80),
            Some(98),
        )];
        assert_eq!(live_flags(&s, &t).len(), 1);
        s.vitals.push(reading(
            "2026-03-05T09:05:00Z",
            Some(132),
            Some(84),
            Some(78),
            Some(98),
        ));
        assert!(live_flags(&s, &t).is_empty());
        assert_eq!(
            session_flags(&s, &t).len(),
            1,
            "the flagged reading stays flagged"
        );
        // SpO2 88 then a BP-only reading: the SpO2 flag holds; SpO2 96 clears it.
        s.vitals.push(reading(
            "2026-03-05T09:40:00Z",
            Some(130),
            Some(80),
            Some(155),
            Some(88),
        ));
        let live = live_flags(&s, &t);
        assert_eq!(
            live.iter().map(LiveFlag::kind).collect::<Vec<_>>(),
            [FlagKind::HeartRate, FlagKind::Spo2],
            "two flags at once are both live"
        );
        s.vitals.push(reading(
            "2026-03-05T09:50:00Z",
            Some(128),
            Some(80),
            None,
            None,
        ));
        assert_eq!(live_flags(&s, &t).len(), 2);
        s.vitals.push(reading(
            "2026-03-05T10:31:00Z",
            None,
            None,
            Some(90),
            Some(96),
        ));
        assert!(live_flags(&s, &t).is_empty());
        // Sedation: the latest rating after T0 below the pre-dose one; cleared when it is back.
        s.sedation = vec![
            SedationRating {
                at: ts("2026-03-05T09:05:00Z"),
                moaas: 5,
            },
            SedationRating {
                at: ts("2026-03-05T09:30:00Z"),
                moaas: 3,
            },
        ];
        assert_eq!(live_flags(&s, &t)[0].kind(), FlagKind::Sedation);
        s.sedation.push(SedationRating {
            at: ts("2026-03-05T10:00:00Z"),
            moaas: 5,
        });
        assert!(live_flags(&s, &t).is_empty());
        // An adverse event is live until marked resolved.
        s.observations.push(crate::model::Observation {
            at: ts("2026-03-05T09:45:00Z"),
            text: "Nausea".into(),
            adverse: true,
        });
        assert_eq!(live_flags(&s, &t)[0].kind(), FlagKind::AdverseEvent);
        s.amendments_mut()
            .adverse_resolved
            .push(crate::model::AdverseResolved {
                event_at: ts("2026-03-05T09:45:00Z"),
                by: "Dr. Test".into(),
                at: ts("2026-03-05T10:05:00Z"),
            });
        assert!(live_flags(&s, &t).is_empty());
        assert_eq!(
            flag_kinds(&s, &t),
            [
                FlagKind::BloodPressure,
                FlagKind::HeartRate,
                FlagKind::Spo2,
                FlagKind::AdverseEvent
            ]
        );
    }

    #[test]
    fn any_drop_from_predose_moaas_is_sedation() {
        assert!(!is_sedated(Some(5), 5));
        assert!(is_sedated(Some(5), 4));
        assert!(!is_sedated(Some(4), 4));
        assert!(is_sedated(Some(4), 3));
        assert!(
            is_sedated(None, 4),
            "without a pre-dose rating, 5 is the reference"
        );
    }

    #[test]
    fn discharge_needs_120_minutes_and_sedation_resolved() {
        let t = Thresholds::default();
        let mut s = esketamine();
        s.sedation = vec![
            SedationRating {
                at: ts("2026-03-05T09:05:00Z"),
                moaas: 5,
            },
            SedationRating {
                at: ts("2026-03-05T09:40:00Z"),
                moaas: 3,
            },
        ];
        let at_119 = ts("2026-03-05T11:09:00Z");
        let at_120 = ts("2026-03-05T11:10:00Z");
        assert_eq!(
            may_discharge(&s, at_119, &t),
            Err(DischargeBlock::TooEarly {
                minutes: Some(119),
                required: 120
            })
        );
        assert_eq!(
            may_discharge(&s, at_120, &t),
            Err(DischargeBlock::StillSedated {
                moaas: 3,
                predose: 5
            })
        );
        s.sedation.push(SedationRating {
            at: ts("2026-03-05T11:00:00Z"),
            moaas: 5,
        });
        assert_eq!(may_discharge(&s, at_120, &t), Ok(()));
        s.dose_time = None;
        assert!(matches!(
            may_discharge(&s, at_120, &t),
            Err(DischargeBlock::TooEarly { minutes: None, .. })
        ));
    }

    #[test]
    fn rems_form_is_due_seven_days_after_the_session() {
        assert_eq!(
            rems_form_due(ts("2026-03-05T09:00:00Z")),
            ts("2026-03-12T09:00:00Z")
        );
    }

    #[test]
    fn esketamine_doses_are_whole_28_mg_devices() {
        assert_eq!(esketamine_devices(56.0), Some(2));
        assert_eq!(esketamine_devices(84.0), Some(3));
        assert_eq!(esketamine_devices(28.0), Some(1));
        assert_eq!(esketamine_devices(50.0), None);
        assert_eq!(esketamine_devices(112.0), None);
    }
}
