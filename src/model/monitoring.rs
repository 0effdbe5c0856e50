//! Monitoring rules for dosing sessions, and the follow-up calendar after them.
//!
//! Sources: the SPRAVATO (esketamine) prescribing information, section 5 and 2.1 (blood pressure
//! before dosing and about 40 minutes after, observation for at least 2 hours), the SPRAVATO REMS
//! patient monitoring form (submitted within 7 days), and MOAA/S as used in the label's sedation
//! data. Every number is a default in [`Thresholds`] that a clinician can change.

use super::session::{DosingSession, Vitals};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// Alert thresholds and timings; defaults follow the esketamine label and can be overridden
/// per protocol profile.
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
            remeasure_minutes: 40,
            min_observation_minutes: 120,
        }
    }
}

/// Something in a vitals reading the clinician must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitalsFlag {
    /// Pre-dose BP above the threshold: consider delaying treatment.
    PredoseBpHigh { systolic: u16, diastolic: u16 },
    /// BP rose from baseline by at least the threshold.
    BpRise {
        systolic_rise: i32,
        diastolic_rise: i32,
    },
    /// SpO2 below the floor.
    Spo2Low { spo2: u8 },
}

impl VitalsFlag {
    pub fn message(&self) -> String {
        match *self {
            VitalsFlag::PredoseBpHigh {
                systolic,
                diastolic,
            } => {
                format!("pre-dose BP {systolic}/{diastolic} is high: consider delaying treatment")
            }
            VitalsFlag::BpRise {
                systolic_rise,
                diastolic_rise,
            } => {
                format!("BP up {systolic_rise:+}/{diastolic_rise:+} from baseline")
            }
            VitalsFlag::Spo2Low { spo2 } => format!("SpO2 {spo2}% is low"),
        }
    }
}

/// Checks one reading. `predose` says whether it was taken before T0; `baseline` is the pre-dose
/// reading that rises are measured from.
pub fn check_vitals(
    v: &Vitals,
    predose: bool,
    baseline: Option<&Vitals>,
    t: &Thresholds,
) -> Vec<VitalsFlag> {
    let mut flags = Vec::new();
    if predose
        && let Some((s, d)) = v.bp()
        && (s > t.predose_systolic_max || d > t.predose_diastolic_max)
    {
        flags.push(VitalsFlag::PredoseBpHigh {
            systolic: s,
            diastolic: d,
        });
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
    if let Some(o) = v.spo2
        && o < t.spo2_floor
    {
        flags.push(VitalsFlag::Spo2Low { spo2: o });
    }
    flags
}

/// Checks every reading of a session against its own baseline.
pub fn session_flags(s: &DosingSession, t: &Thresholds) -> Vec<(Timestamp, VitalsFlag)> {
    let baseline = s.baseline_vitals();
    s.vitals
        .iter()
        .flat_map(|v| {
            let predose = s.dose_time.is_none_or(|t0| v.at <= t0);
            check_vitals(v, predose, baseline, t)
                .into_iter()
                .map(move |f| (v.at, f))
        })
        .collect()
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
        assert_eq!(flags.len(), 2);
        assert!(matches!(flags[0].1, VitalsFlag::PredoseBpHigh { .. }));
        assert_eq!(
            flags[1],
            (
                ts("2026-03-05T09:50:00Z"),
                VitalsFlag::BpRise {
                    systolic_rise: 42,
                    diastolic_rise: 10
                }
            )
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
