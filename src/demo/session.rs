//! One demo dosing session and its session note: dose by protocol, lot, T0, vitals before dosing,
//! at about 40 minutes and before discharge, timed observations, MOAA/S and CADSS ratings, and
//! discharge after the observation period.

use super::course::{Calendar, Ctx, SessionSlot, plus};
use super::notes;
use super::profile::{Protocol, Trajectory};
use super::text::{self, Writer};
use crate::model::session::mg_from_mg_per_kg;
use crate::model::timeline::session_summary;
use crate::model::{
    Discharge, DissociationRating, DosingSession, Note, NoteKind, Observation, PatientId, RecordId,
    Route, SedationRating, Vitals,
};
use jiff::Timestamp;

/// What carries over from one session to the next: the current lot and the titrated dose.
#[derive(Debug, Clone, Default)]
pub(super) struct DoseState {
    lot: String,
    /// Index into the protocol's dose steps.
    step: usize,
}

/// IV: the common 0.5 mg/kg, titrated towards 0.75 (the top of the studied range) only for
/// patients who respond poorly.
const IV_STEPS: [f64; 3] = [0.5, 0.6, 0.75];
/// IM ketamine for KAP, mg/kg.
const IM_STEPS: [f64; 5] = [0.5, 0.6, 0.75, 0.9, 1.0];
/// Sublingual lozenges, mg.
const SL_STEPS: [f64; 5] = [100.0, 150.0, 200.0, 250.0, 300.0];
/// Esketamine: 56 mg on day 1, then 56 or 84 mg (28 mg devices).
const ESK_STEPS: [f64; 2] = [56.0, 84.0];

/// Facts a later addendum may quote.
#[derive(Debug, Clone)]
pub(super) struct SessionFacts {
    pub dose: String,
    pub lot: String,
    pub devices: Option<u32>,
}

fn minutes(a: Timestamp, b: Timestamp) -> i64 {
    b.duration_since(a).as_secs().div_euclid(60)
}

fn clock_time(cal: &Calendar, at: Timestamp) -> String {
    let dt = cal.local(at);
    format!("{:02}:{:02}", dt.hour(), dt.minute())
}

fn bp(v: &Vitals) -> String {
    match v.bp() {
        Some((s, d)) => format!("{s}/{d}"),
        None => "not taken".to_owned(),
    }
}

/// Builds the session for `slot`, moving the dose and lot on as a clinician would.
pub(super) fn dosing_session(
    ctx: &mut Ctx<'_>,
    slot: &SessionSlot,
    id: RecordId,
    patient: &PatientId,
    state: &mut DoseState,
) -> DosingSession {
    let p = ctx.profile;
    let rng = &mut *ctx.rng;
    let protocol = p.protocol;
    let weight = p.patient.weight_kg.unwrap_or(70.0);
    let slow_response = matches!(p.trajectory, Trajectory::Partial | Trajectory::NonResponder);

    // Titration: a first session starts at the bottom step; later ones sometimes move up.
    if slot.number == 1 {
        state.step = match protocol {
            Protocol::SublingualKetamine => rng.below(2) as usize,
            _ => 0,
        };
    } else {
        let (max, p_up) = match protocol {
            Protocol::IvKetamine if slow_response && slot.number >= 4 => (IV_STEPS.len() - 1, 0.4),
            Protocol::IvKetamine => (0, 0.0),
            Protocol::ImKetamine => (if slow_response { 4 } else { 2 }, 0.35),
            Protocol::SublingualKetamine => (if slow_response { 4 } else { 3 }, 0.3),
            Protocol::Esketamine => (1, 0.45),
        };
        if state.step < max && rng.chance(p_up) {
            state.step += 1;
        }
    }
    if slot.number == 1 || state.lot.is_empty() || rng.chance(0.2) {
        let letter = (b'A' + rng.below(26) as u8) as char;
        state.lot = match protocol {
            Protocol::Esketamine => format!("ESK-{letter}{:05}", rng.below(100_000)),
            _ => format!("KT{}{letter}{:04}", rng.range(23, 26), rng.below(10_000)),
        };
    }

    let (medication, route, dose_mg, mg_per_kg, weight_kg) = match protocol {
        Protocol::IvKetamine => {
            let k = IV_STEPS[state.step.min(IV_STEPS.len() - 1)];
            (
                "ketamine",
                Route::Iv,
                mg_from_mg_per_kg(k, weight),
                Some(k),
                Some(weight),
            )
        }
        Protocol::ImKetamine => {
            let k = IM_STEPS[state.step.min(IM_STEPS.len() - 1)];
            (
                "ketamine",
                Route::Im,
                mg_from_mg_per_kg(k, weight),
                Some(k),
                Some(weight),
            )
        }
        Protocol::SublingualKetamine => (
            "ketamine",
            Route::Sublingual,
            SL_STEPS[state.step.min(SL_STEPS.len() - 1)],
            None,
            None,
        ),
        Protocol::Esketamine => (
            "esketamine",
            Route::Intranasal,
            ESK_STEPS[state.step.min(ESK_STEPS.len() - 1)],
            None,
            None,
        ),
    };

    let t0 = slot.t0;
    let discharge_at = slot.discharge;
    let observed = minutes(t0, discharge_at);

    // Vitals: resting values for this patient, the ketamine rise at about 40 minutes, and a
    // return towards baseline before discharge.
    let base_s = i64::from(p.systolic) + rng.range(-8, 8);
    let base_d = i64::from(p.diastolic) + rng.range(-6, 6);
    let hr = i64::from(p.heart_rate) + rng.range(-6, 6);
    let reading = |at: Timestamp, s: i64, d: i64, h: i64, o: i64| {
        let s = s.clamp(90, 220) as u16;
        let d = (d.clamp(50, 130) as u16).min(s.saturating_sub(25));
        Vitals {
            at,
            systolic: Some(s),
            diastolic: Some(d),
            heart_rate: Some(h.clamp(45, 160) as u16),
            spo2: Some(o.clamp(85, 100) as u8),
        }
    };
    let mut vitals = Vec::with_capacity(5);
    let mut extra_obs: Vec<Observation> = Vec::new();
    let pre_at = plus(t0, -rng.range(5, 12));
    if slot.high_bp {
        let first_at = plus(t0, -rng.range(20, 26));
        let high = reading(
            first_at,
            rng.range(142, 158),
            rng.range(86, 98),
            hr + 8,
            rng.range(96, 99),
        );
        let again = reading(pre_at, rng.range(126, 138), rng.range(78, 88), hr, 98);
        extra_obs.push(Observation {
            at: plus(pre_at, 1),
            text: format!(
                "Pre-dose BP {} is above 140/90; rested 10 min, repeat {}. Proceeded after discussion with the patient.",
                bp(&high),
                bp(&again)
            ),
            adverse: false,
        });
        vitals.push(high);
        vitals.push(again);
    } else {
        vitals.push(reading(pre_at, base_s, base_d, hr, rng.range(96, 99)));
    }
    if protocol == Protocol::IvKetamine && rng.chance(0.4) {
        let at = plus(t0, rng.range(18, 22));
        vitals.push(reading(
            at,
            base_s + rng.range(4, 14),
            base_d + rng.range(2, 8),
            hr + rng.range(2, 10),
            rng.range(95, 99),
        ));
    }
    let at40 = plus(t0, rng.range(38, 43));
    let (rise_s, rise_d) = if slot.bp_rise {
        (rng.range(40, 52), rng.range(18, 28))
    } else {
        (rng.range(6, 24), rng.range(3, 12))
    };
    let low_spo2 = rng.chance(0.01);
    let v40 = reading(
        at40,
        base_s + rise_s,
        base_d + rise_d,
        hr + rng.range(4, 15),
        if low_spo2 { 89 } else { rng.range(94, 99) },
    );
    if slot.bp_rise {
        extra_obs.push(Observation {
            at: plus(at40, 2),
            text: format!(
                "BP {} at 40 min, a marked rise from {}/{}; no headache or chest pain. Rechecked every 10 min, settling.",
                bp(&v40),
                base_s,
                base_d
            ),
            adverse: true,
        });
    }
    if low_spo2 {
        extra_obs.push(Observation {
            at: plus(at40, 1),
            text: "SpO2 dipped to 89%; prompted deep breaths, back to 96% within a minute."
                .to_owned(),
            adverse: false,
        });
    }
    vitals.push(v40);
    let end_at = plus(discharge_at, -rng.range(5, 10));
    vitals.push(reading(
        end_at,
        base_s + rng.range(0, 8),
        base_d + rng.range(0, 5),
        hr + rng.range(-3, 4),
        rng.range(97, 99),
    ));

    // Sedation (MOAA/S): 5 before dosing, a dip, back to 5 before discharge.
    // Sub-anaesthetic doses sedate lightly; only the larger IM doses of KAP reach MOAA/S 2.
    let dip = match protocol {
        Protocol::ImKetamine if state.step >= 2 => rng.range(2, 4) as u8,
        _ => rng.range(3, 4) as u8,
    };
    let sedation = vec![
        SedationRating {
            at: plus(t0, -3),
            moaas: 5,
        },
        SedationRating {
            at: plus(t0, rng.range(15, 35)),
            moaas: dip,
        },
        SedationRating {
            at: plus(t0, rng.range(60, 75)),
            moaas: (dip + 1).clamp(4, 5),
        },
        SedationRating {
            at: plus(t0, rng.range(95, 105)),
            moaas: 5,
        },
    ];

    // Dissociation: higher for IM and IV, easing as the course goes on.
    let cadss_base = match protocol {
        Protocol::ImKetamine => 34.0,
        Protocol::IvKetamine => 28.0,
        Protocol::Esketamine => 24.0,
        Protocol::SublingualKetamine => 18.0,
    };
    let cadss = (cadss_base - 1.5 * f64::from(slot.number.min(12)) + rng.range(-6, 6) as f64)
        .max(2.0)
        .round();
    let dissociation = vec![DissociationRating {
        at: plus(t0, rng.range(40, 46)),
        scale: "CADSS".to_owned(),
        total: cadss,
    }];

    // Observations: how the dose was given, onset, the peak, the return, discharge.
    let mut obs: Vec<Observation> = Vec::with_capacity(8);
    let o = |at: Timestamp, text: String| Observation {
        at,
        text,
        adverse: false,
    };
    match protocol {
        Protocol::IvKetamine => {
            obs.push(o(
                t0,
                format!(
                    "Infusion started: {} mg/kg ({dose_mg} mg) over 40 min by pump.",
                    mg_per_kg.unwrap_or(0.5)
                ),
            ));
            obs.push(o(
                plus(t0, 40),
                "Infusion complete; line flushed, cannula left in until discharge.".to_owned(),
            ));
        }
        Protocol::ImKetamine => {
            let side = if rng.chance(0.5) { "left" } else { "right" };
            obs.push(o(
                t0,
                format!("IM injection {dose_mg} mg to the {side} deltoid."),
            ));
        }
        Protocol::SublingualKetamine => {
            obs.push(o(
                t0,
                format!(
                    "Lozenge {dose_mg} mg placed under the tongue; asked to hold it without swallowing."
                ),
            ));
            obs.push(o(
                plus(t0, 15),
                "Spat out the remaining saliva after 15 min as instructed.".to_owned(),
            ));
        }
        Protocol::Esketamine => {
            obs.push(o(
                t0,
                "Device 1 (28 mg) self-administered: one spray in each nostril, head reclined."
                    .to_owned(),
            ));
            let text = if dose_mg > 60.0 {
                "Devices 2 and 3 given at 5 and 10 min; no difficulties."
            } else {
                "Device 2 given 5 min after device 1; no difficulties."
            };
            obs.push(o(
                plus(t0, if dose_mg > 60.0 { 10 } else { 5 }),
                text.to_owned(),
            ));
        }
    }
    let onset = match protocol {
        Protocol::ImKetamine => rng.range(3, 6),
        Protocol::IvKetamine => rng.range(8, 15),
        Protocol::SublingualKetamine => rng.range(16, 20),
        Protocol::Esketamine => rng.range(12, 20),
    };
    let voice = &p.voice;
    let mut w = Writer { rng, voice };
    let line = |w: &mut Writer<'_>, bank: &'static [&'static str]| {
        let mut s = String::new();
        w.sentence(&mut s, bank);
        s
    };
    let onset_text = line(&mut w, text::ONSET);
    obs.push(o(plus(t0, onset), onset_text));
    let peak_at = w.rng.range(25, 55);
    let peak_text = line(&mut w, text::PEAK);
    obs.push(o(plus(t0, peak_at), peak_text));
    let return_text = line(&mut w, text::RETURN);
    obs.push(o(plus(t0, w.rng.range(80, 105)), return_text));
    let transport = if w.rng.chance(0.75) {
        let mut s = String::new();
        w.fill(&mut s, "{their} {escort}");
        s
    } else {
        "a booked taxi (not driving today)".to_owned()
    };
    obs.push(o(
        discharge_at,
        format!("Discharge: alert, walking steadily, going home with {transport}."),
    ));
    // Optional entries, most important first, while there is room for 8 in all.
    for x in extra_obs {
        if obs.len() < 8 {
            obs.push(x);
        }
    }
    if obs.len() < 8 && w.rng.chance(0.12) {
        let text = line(&mut w, text::NAUSEA);
        let at = plus(t0, w.rng.range(30, 70));
        obs.push(Observation {
            at,
            text,
            adverse: true,
        });
    }
    if obs.len() < 8 && w.rng.chance(0.5) {
        let text = line(&mut w, text::PEAK);
        let at = plus(t0, w.rng.range(56, 75));
        obs.push(o(at, text));
    }
    obs.sort_by_key(|o| o.at);

    let ready_minutes = (protocol == Protocol::Esketamine)
        .then(|| (w.rng.range(60, 115) as u32).min(u32::try_from(observed).unwrap_or(120)));

    DosingSession {
        id,
        patient: patient.clone(),
        at: slot.arrive,
        number: Some(slot.number),
        protocol: Some(protocol.profile_name().to_owned()),
        medication: medication.to_owned(),
        route,
        dose_mg: Some(dose_mg),
        dose_mg_per_kg: mg_per_kg,
        weight_kg,
        lot: Some(state.lot.clone()),
        dose_time: Some(t0),
        vitals,
        observations: obs,
        sedation,
        dissociation,
        discharge: Some(Box::new(Discharge {
            at: discharge_at,
            transport_arranged: true,
            collected_by: None,
            transport_refused: None,
            ready_minutes,
        })),
        early_end_reason: None,
        // The REMS form's answers: the first esketamine session is the first treatment, the
        // patient enrolled before it; the demo's esketamine patients take none of the classes.
        rems: (protocol == Protocol::Esketamine).then(|| {
            let first = slot.course == 0 && slot.number == 1;
            Box::new(crate::model::RemsAnswers {
                first_treatment: Some(first),
                enrolled: first.then_some(true),
                concomitant: Some(Default::default()),
            })
        }),
        amendments: None,
        signed_by: None,
        signed_at: None,
    }
}

/// How the dose reads in prose: "ketamine 0.5 mg/kg (36.2 mg) IV over 40 minutes".
pub(super) fn dose_text(s: &DosingSession) -> String {
    let mg = s.dose_mg.unwrap_or(0.0);
    match (s.route, s.dose_mg_per_kg) {
        (Route::Iv, Some(k)) => format!("{} {k} mg/kg ({mg} mg) IV over 40 minutes", s.medication),
        (route, Some(k)) => format!("{} {k} mg/kg ({mg} mg) {}", s.medication, route.label()),
        (Route::Intranasal, None) => format!(
            "{} {mg} mg intranasal ({} devices)",
            s.medication,
            crate::model::monitoring::esketamine_devices(mg).unwrap_or(2)
        ),
        (Route::Sublingual, None) => format!("{} {mg} mg sublingual lozenge", s.medication),
        (route, None) => format!("{} {mg} mg {}", s.medication, route.label()),
    }
}

/// The session note, written after discharge, as a draft (signing happens later).
pub(super) fn session_note(
    ctx: &mut Ctx<'_>,
    s: &DosingSession,
    id: RecordId,
    at: Timestamp,
) -> (Note, SessionFacts) {
    let p = ctx.profile;
    let cal = ctx.cal;
    let mut w = Writer {
        rng: &mut *ctx.rng,
        voice: &p.voice,
    };
    let t0 = s.dose_time.unwrap_or(s.at);
    let dose = dose_text(s);
    let lot = s.lot.clone().unwrap_or_default();

    let mut before = String::new();
    w.sentence(&mut before, text::BEFORE_DOSING);
    if w.rng.chance(0.5) {
        w.sentence(&mut before, text::BEFORE_DOSING);
    }
    if let Some(v) = s.baseline_vitals() {
        before.push_str(&format!(
            " Pre-dose BP {}, HR {}, SpO2 {}%.",
            bp(v),
            v.heart_rate.unwrap_or(0),
            v.spo2.unwrap_or(0)
        ));
    }

    let mut dose_section = format!("{dose}; lot {lot}; T0 {}.", clock_time(cal, t0));
    if s.route == Route::Intranasal {
        dose_section.push_str(" Devices checked for residual liquid after use.");
    }

    let mut course = String::new();
    w.sentence(
        &mut course,
        if s.number == Some(1) {
            text::FIRST_SESSION_NARRATIVE
        } else {
            text::SESSION_NARRATIVE
        },
    );
    if w.rng.chance(0.6) {
        w.theme_sentence(&mut course);
    }
    for o in &s.observations {
        let m = minutes(t0, o.at);
        course.push_str(&format!(
            "\n{}{m} min: {}{}",
            if m >= 0 { "+" } else { "" },
            o.text,
            if o.adverse { " (adverse event)" } else { "" }
        ));
    }

    let nadir = s.sedation.iter().map(|r| r.moaas).min().unwrap_or(5);
    let cadss = s.dissociation.first().map(|d| d.total).unwrap_or(0.0);
    let readings: Vec<String> = s
        .vitals
        .iter()
        .map(|v| format!("{} at {:+} min", bp(v), minutes(t0, v.at)))
        .collect();
    let monitoring = format!(
        "BP {}. MOAA/S 5 before dosing, lowest {nadir}, back to 5 before discharge. CADSS {cadss}.",
        readings.join(", ")
    );

    let mut discharge = String::new();
    if let Some(d) = &s.discharge {
        let m = minutes(t0, d.at);
        discharge.push_str(&format!(
            "Discharged at {} ({m} min after dosing); transport home arranged, not driving today.",
            clock_time(cal, d.at)
        ));
        if let Some(r) = d.ready_minutes {
            discharge.push_str(&format!(
                " Would have been ready to leave at about {r} min without the 2-hour rule."
            ));
        }
    }

    let mut plan = String::new();
    w.sentence(&mut plan, text::SESSION_PLAN);
    if s.route == Route::Intranasal {
        plan.push_str(" REMS patient monitoring form to be submitted within 7 days.");
    }

    let mut title = session_summary(s);
    if s.number.is_some_and(|n| n > p.protocol.induction_len()) {
        title.push_str(" (booster)");
    }
    let mut note = notes::from_template(
        notes::SESSION_TEMPLATE,
        NoteKind::Session,
        id,
        &s.patient,
        at,
        title,
        vec![
            ("Before dosing", before),
            ("Dose", dose_section),
            ("Course of the session", course),
            ("Monitoring", monitoring),
            ("Discharge", discharge),
            ("Plan", plan),
        ],
    );
    note.session = Some(s.id.clone());
    let devices = (s.route == Route::Intranasal)
        .then(|| crate::model::monitoring::esketamine_devices(s.dose_mg.unwrap_or(0.0)))
        .flatten();
    (note, SessionFacts { dose, lot, devices })
}
