//! The monitoring checklist of a session: each checkpoint of its profile as done, upcoming, due or
//! overdue at a given moment. Time is passed in, so the states are exact in tests.
//!
//! The windows (docs/PROTOCOLS.md has a picture):
//! - **BP before dosing** is done by any BP reading at or before T0. Before T0 it is due from the
//!   session's start; once T0 is marked without one it is overdue (since T0).
//! - **Timed checks** (`vitals` or `sedation` at N minutes) are upcoming until N-5, due from
//!   N-5 ([`DUE_EARLY_MINUTES`]), overdue from N+10 ([`OVERDUE_AFTER_MINUTES`]). A reading
//!   (a BP, or a MOAA/S rating) from N-5 to N+30 ([`LATE_MINUTES`]) does it, the one nearest N
//!   when there are several; a reading never counts for the next check of the same kind, whose
//!   window starts at its own N-5.
//! - **BP before discharge** is due from 15 minutes before the minimum observation time ends
//!   ([`BEFORE_DISCHARGE_DUE_MINUTES`]) and overdue when it has ended. A BP from the time it is
//!   due until the discharge does it; after an early discharge, one in the 30 minutes before it.
//! - **Minimum observation** is upcoming until T0 + the minimum, then done.
//!
//! Post-dose checkpoints are [`CheckpointState::NotYet`] before T0 is marked. Once the patient is
//! discharged the list is frozen at the discharge: whatever is not done by then is overdue.

use super::{Checkpoint, CheckpointKind, Protocol};
use crate::model::monitoring::{Thresholds, observation_time_met};
use crate::model::{DosingSession, SedationRating, Vitals};
use jiff::{Timestamp, ToSpan};

/// A timed checkpoint becomes due this many minutes before its time.
pub const DUE_EARLY_MINUTES: i64 = 5;
/// A timed checkpoint is overdue this many minutes after its time.
pub const OVERDUE_AFTER_MINUTES: i64 = 10;
/// A reading this many minutes after a timed checkpoint's time still does it (late).
pub const LATE_MINUTES: i64 = 30;
/// The BP before discharge is due this many minutes before the minimum observation time ends.
pub const BEFORE_DISCHARGE_DUE_MINUTES: i64 = 15;
/// After an early discharge, a BP this many minutes before it counts as the one before discharge.
const EARLY_DISCHARGE_WINDOW_MINUTES: i64 = 30;

/// Where one checkpoint stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointState {
    /// Done by the reading taken `at` (for the minimum observation: when it was reached).
    Done { at: Timestamp },
    /// Not due yet; due from `due`.
    Upcoming { due: Timestamp },
    /// Due now, since `since`.
    Due { since: Timestamp },
    /// Not done and past its time (or the patient left without it), since `since`.
    Overdue { since: Timestamp },
    /// A post-dose checkpoint before T0 is marked.
    NotYet,
}

fn plus_minutes(t: Timestamp, minutes: i64) -> Timestamp {
    t.checked_add(minutes.minutes()).unwrap_or(if minutes < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Minutes from `t0` to `at`, by the one rule ([`crate::model::session::minutes_from_t0`]).
fn minutes_after(t0: Timestamp, at: Timestamp) -> i64 {
    crate::model::session::minutes_from_t0(t0, at)
}

/// The reading nearest `n` minutes after T0 among those from `n - 5` to `n + 30` minutes (and
/// before `until` minutes, when given), taken at or before `now`; ties go to the earlier one.
fn nearest<'a, T>(
    items: impl Iterator<Item = &'a T>,
    at: impl Fn(&T) -> Timestamp,
    t0: Timestamp,
    n: i64,
    until: Option<i64>,
    now: Timestamp,
) -> Option<&'a T>
where
    T: 'a,
{
    items
        .filter(|x| at(x) <= now)
        .filter(|x| {
            let m = minutes_after(t0, at(x));
            m >= n - DUE_EARLY_MINUTES && m <= n + LATE_MINUTES && until.is_none_or(|u| m < u)
        })
        .min_by_key(|x| ((minutes_after(t0, at(x)) - n).abs(), at(x)))
}

/// Where the window of the next timed check of `kind` after `n` minutes starts: a reading from
/// then on is that check's, not this one's.
fn next_window(checkpoints: &[Checkpoint], kind: CheckpointKind, n: i64) -> Option<i64> {
    checkpoints
        .iter()
        .filter(|o| o.kind == kind)
        .filter_map(|o| o.at_minutes)
        .filter(|m| *m > n)
        .min()
        .map(|m| m - DUE_EARLY_MINUTES)
}

/// The BP reading that does the timed vitals check at `n` minutes of a checklist, as known at
/// `now`.
pub(crate) fn timed_bp<'a>(
    s: &'a DosingSession,
    checkpoints: &[Checkpoint],
    n: i64,
    now: Timestamp,
) -> Option<&'a Vitals> {
    let t0 = s.dose_time?;
    nearest(
        s.vitals.iter().filter(|v| v.bp().is_some()),
        |v| v.at,
        t0,
        n,
        next_window(checkpoints, CheckpointKind::Vitals, n),
        now,
    )
}

/// The MOAA/S rating that does the timed sedation check at `n` minutes of a checklist, as known
/// at `now`.
pub(crate) fn timed_moaas<'a>(
    s: &'a DosingSession,
    checkpoints: &[Checkpoint],
    n: i64,
    now: Timestamp,
) -> Option<&'a SedationRating> {
    let t0 = s.dose_time?;
    nearest(
        s.sedation.iter(),
        |r| r.at,
        t0,
        n,
        next_window(checkpoints, CheckpointKind::Sedation, n),
        now,
    )
}

/// The BP reading taken at about `minutes` after T0: the nearest one from 5 minutes before to
/// 30 minutes after. What the REMS form's "BP at about 40 minutes" is.
pub fn bp_near(s: &DosingSession, minutes: i64) -> Option<&Vitals> {
    let t0 = s.dose_time?;
    nearest(
        s.vitals.iter().filter(|v| v.bp().is_some()),
        |v| v.at,
        t0,
        minutes,
        None,
        Timestamp::MAX,
    )
}

/// The BP reading before discharge (see the module documentation), as known at `now`: the latest
/// one after T0 from 15 minutes before the minimum observation time ends, or, when the patient
/// left earlier, from 30 minutes before the discharge.
fn bp_before_discharge_at<'a>(
    s: &'a DosingSession,
    t: &Thresholds,
    now: Timestamp,
) -> Option<&'a Vitals> {
    let t0 = s.dose_time?;
    let due = plus_minutes(
        t0,
        i64::from(t.min_observation_minutes) - BEFORE_DISCHARGE_DUE_MINUTES,
    );
    let discharge = s.discharge.as_ref().map(|d| d.at);
    let from = match discharge {
        Some(d) => due.min(plus_minutes(d, -EARLY_DISCHARGE_WINDOW_MINUTES)),
        None => due,
    };
    let until = discharge.map_or(now, |d| d.min(now));
    s.vitals
        .iter()
        .filter(|v| v.bp().is_some() && v.at > t0 && v.at >= from && v.at <= until)
        .max_by_key(|v| v.at)
}

/// The BP reading before discharge of a finished session (see the module documentation); for a
/// session still running, the one that would count if the patient left now.
pub fn bp_before_discharge<'a>(s: &'a DosingSession, t: &Thresholds) -> Option<&'a Vitals> {
    bp_before_discharge_at(s, t, Timestamp::MAX)
}

/// Upcoming, due or overdue by the clock, for a checkpoint that is not done: due from `due`,
/// overdue from `overdue`.
fn by_the_clock(now: Timestamp, due: Timestamp, overdue: Timestamp) -> CheckpointState {
    if now < due {
        CheckpointState::Upcoming { due }
    } else if now < overdue {
        CheckpointState::Due { since: due }
    } else {
        CheckpointState::Overdue { since: overdue }
    }
}

/// Each checkpoint of `protocol` with its state for `session` at `now`, in the profile's order.
pub fn checkpoint_states(
    session: &DosingSession,
    protocol: &Protocol,
    now: Timestamp,
) -> Vec<(Checkpoint, CheckpointState)> {
    let t = &protocol.thresholds;
    let discharged = session.discharge.as_ref().map(|d| d.at);
    // After discharge the list is what it was when the patient left.
    let now = discharged.unwrap_or(now);
    let t0 = session.dose_time;
    let state = |c: &Checkpoint| -> CheckpointState {
        match c.kind {
            CheckpointKind::VitalsBeforeDose => {
                let limit = t0.unwrap_or(now).min(now);
                if let Some(v) = session
                    .vitals
                    .iter()
                    .filter(|v| v.bp().is_some() && v.at <= limit)
                    .max_by_key(|v| v.at)
                {
                    return CheckpointState::Done { at: v.at };
                }
                match t0 {
                    Some(t0) if t0 <= now => CheckpointState::Overdue { since: t0 },
                    _ if now < session.at => CheckpointState::Upcoming { due: session.at },
                    _ => CheckpointState::Due { since: session.at },
                }
            }
            CheckpointKind::Vitals | CheckpointKind::Sedation => {
                let Some(t0) = t0.filter(|t0| *t0 <= now) else {
                    return CheckpointState::NotYet;
                };
                let n = c
                    .at_minutes
                    .unwrap_or_else(|| i64::from(t.remeasure_minutes));
                let done = if c.kind == CheckpointKind::Vitals {
                    timed_bp(session, &protocol.checkpoints, n, now).map(|v| v.at)
                } else {
                    timed_moaas(session, &protocol.checkpoints, n, now).map(|r| r.at)
                };
                match done {
                    Some(at) => CheckpointState::Done { at },
                    None => by_the_clock(
                        now,
                        plus_minutes(t0, n - DUE_EARLY_MINUTES),
                        plus_minutes(t0, n + OVERDUE_AFTER_MINUTES),
                    ),
                }
            }
            CheckpointKind::VitalsBeforeDischarge => {
                let Some(t0) = t0.filter(|t0| *t0 <= now) else {
                    return CheckpointState::NotYet;
                };
                if let Some(v) = bp_before_discharge_at(session, t, now) {
                    return CheckpointState::Done { at: v.at };
                }
                let end = plus_minutes(t0, i64::from(t.min_observation_minutes));
                by_the_clock(now, plus_minutes(end, -BEFORE_DISCHARGE_DUE_MINUTES), end)
            }
            CheckpointKind::MinObservation => {
                let Some(t0) = t0.filter(|t0| *t0 <= now) else {
                    return CheckpointState::NotYet;
                };
                let end = plus_minutes(t0, i64::from(t.min_observation_minutes));
                if now >= end {
                    CheckpointState::Done { at: end }
                } else {
                    CheckpointState::Upcoming { due: end }
                }
            }
        }
    };
    protocol
        .checkpoints
        .iter()
        .map(|c| {
            let st = match (state(c), discharged) {
                // The patient left without it.
                (CheckpointState::Upcoming { .. } | CheckpointState::Due { .. }, Some(d)) => {
                    CheckpointState::Overdue { since: d }
                }
                (st, _) => st,
            };
            (c.clone(), st)
        })
        .collect()
}

/// Whether ending the session at `end` is before the profile's minimum observation time after
/// T0, so a reason must be recorded. A session without T0 (no dose given) never ends early.
pub fn ended_early(session: &DosingSession, protocol: &Protocol, end: Timestamp) -> bool {
    session.dose_time.is_some() && !observation_time_met(session, end, &protocol.thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Discharge, PatientId, RecordId, Route, SedationRating};
    use crate::protocols::{UsualDose, default_checkpoints};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// 09:00 plus `m` minutes; T0 is 09:10 in these tests.
    fn at(m: i64) -> Timestamp {
        plus_minutes(ts("2026-03-05T09:00:00Z"), m)
    }

    /// `m` minutes after T0.
    fn t(m: i64) -> Timestamp {
        at(10 + m)
    }

    fn bp(at: Timestamp) -> Vitals {
        Vitals {
            at,
            systolic: Some(128),
            diastolic: Some(84),
            heart_rate: None,
            spo2: None,
        }
    }

    fn esketamine() -> Protocol {
        let thresholds = Thresholds::default();
        Protocol {
            id: "esketamine-rems".into(),
            name: "Esketamine".into(),
            medication: "esketamine".into(),
            route: Route::Intranasal,
            dose: UsualDose::Mg(56.0),
            checkpoints: default_checkpoints(&thresholds),
            thresholds,
            rems: true,
            induction_sessions: 8,
            limits: Default::default(),
        }
    }

    fn session() -> DosingSession {
        let mut s = esketamine().start_session(
            RecordId::parse("s1").unwrap(),
            &crate::model::Patient::new(PatientId::parse("p1").unwrap(), "Test Patient"),
            Some(1),
            at(0),
        );
        s.dose_time = Some(t(0));
        s
    }

    fn states(s: &DosingSession, p: &Protocol, now: Timestamp) -> Vec<CheckpointState> {
        checkpoint_states(s, p, now)
            .into_iter()
            .map(|(_, st)| st)
            .collect()
    }

    use CheckpointState::*;

    #[test]
    fn the_default_checklist_is_bp_before_at_40_before_discharge_and_120_minutes() {
        let labels: Vec<String> = esketamine()
            .checkpoints
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(
            labels,
            [
                "BP before dosing",
                "BP at about 40 min",
                "BP before discharge",
                "Observed at least 120 min"
            ]
        );
    }

    #[test]
    fn before_t0_the_predose_bp_is_due_and_the_rest_not_yet() {
        let mut s = session();
        s.dose_time = None;
        let p = esketamine();
        assert_eq!(
            states(&s, &p, at(-5)),
            vec![Upcoming { due: at(0) }, NotYet, NotYet, NotYet],
            "before the session starts"
        );
        assert_eq!(
            states(&s, &p, at(3)),
            vec![Due { since: at(0) }, NotYet, NotYet, NotYet]
        );
        s.vitals.push(bp(at(4)));
        assert_eq!(states(&s, &p, at(5))[0], Done { at: at(4) });
        // A reading typed in later than `now` is not known yet.
        assert_eq!(states(&s, &p, at(3))[0], Due { since: at(0) });
    }

    #[test]
    fn dosing_without_a_predose_bp_makes_it_overdue_since_t0() {
        let s = session();
        assert_eq!(states(&s, &esketamine(), t(1))[0], Overdue { since: t(0) });
        let mut s = session();
        s.vitals.push(bp(t(2)));
        assert_eq!(
            states(&s, &esketamine(), t(3))[0],
            Overdue { since: t(0) },
            "a reading after T0 is not a pre-dose reading"
        );
    }

    #[test]
    fn the_40_minute_bp_is_upcoming_due_from_35_overdue_from_50() {
        let s = session();
        let p = esketamine();
        let at40 = |now| states(&s, &p, now)[1];
        assert_eq!(at40(t(0)), Upcoming { due: t(35) });
        assert_eq!(at40(t(34)), Upcoming { due: t(35) });
        assert_eq!(at40(t(35)), Due { since: t(35) });
        assert_eq!(at40(t(49)), Due { since: t(35) });
        assert_eq!(at40(t(50)), Overdue { since: t(50) });
        assert_eq!(at40(t(90)), Overdue { since: t(50) });
    }

    #[test]
    fn a_bp_from_35_to_70_minutes_does_the_40_minute_check_the_nearest_counts() {
        let p = esketamine();
        for (taken, counts) in [(34, false), (35, true), (52, true), (70, true), (71, false)] {
            let mut s = session();
            s.vitals.push(bp(t(taken)));
            let st = states(&s, &p, t(80))[1];
            assert_eq!(
                matches!(st, Done { .. }),
                counts,
                "a BP at +{taken} min: {st:?}"
            );
        }
        let mut s = session();
        s.vitals = vec![bp(t(36)), bp(t(41)), bp(t(55))];
        assert_eq!(states(&s, &p, t(80))[1], Done { at: t(41) });
        // A reading without BP (SpO2 only) does not do a BP check.
        let mut s = session();
        s.vitals.push(Vitals {
            spo2: Some(97),
            ..Vitals {
                at: t(40),
                systolic: None,
                diastolic: None,
                heart_rate: None,
                spo2: None,
            }
        });
        assert_eq!(states(&s, &p, t(45))[1], Due { since: t(35) });
    }

    #[test]
    fn a_reading_counts_for_one_timed_check_only() {
        let mut p = esketamine();
        p.checkpoints.insert(
            1,
            Checkpoint {
                label: "BP at about 20 min".into(),
                kind: CheckpointKind::Vitals,
                at_minutes: Some(20),
            },
        );
        let mut s = session();
        s.vitals.push(bp(t(38)));
        let st = states(&s, &p, t(60));
        assert_eq!(
            st[1],
            Overdue { since: t(30) },
            "+38 is in the 40-minute window, not the 20-minute one"
        );
        assert_eq!(st[2], Done { at: t(38) });
    }

    #[test]
    fn a_sedation_check_is_done_by_a_moaas_rating() {
        let mut p = esketamine();
        p.checkpoints.push(Checkpoint {
            label: "MOAA/S at about 20 min".into(),
            kind: CheckpointKind::Sedation,
            at_minutes: Some(20),
        });
        let mut s = session();
        assert_eq!(states(&s, &p, t(16))[4], Due { since: t(15) });
        assert_eq!(states(&s, &p, t(30))[4], Overdue { since: t(30) });
        s.sedation.push(SedationRating {
            at: t(24),
            moaas: 4,
        });
        assert_eq!(states(&s, &p, t(30))[4], Done { at: t(24) });
    }

    #[test]
    fn the_bp_before_discharge_is_due_from_105_minutes_and_overdue_at_120() {
        let mut s = session();
        let p = esketamine();
        let before_discharge = |s: &DosingSession, now| states(s, &p, now)[2];
        assert_eq!(before_discharge(&s, t(60)), Upcoming { due: t(105) });
        assert_eq!(before_discharge(&s, t(105)), Due { since: t(105) });
        assert_eq!(before_discharge(&s, t(120)), Overdue { since: t(120) });
        // The 40-minute reading is not the one before discharge.
        s.vitals.push(bp(t(40)));
        assert_eq!(before_discharge(&s, t(110)), Due { since: t(105) });
        s.vitals.push(bp(t(112)));
        assert_eq!(before_discharge(&s, t(113)), Done { at: t(112) });
    }

    #[test]
    fn minimum_observation_is_upcoming_until_120_minutes_then_done() {
        let s = session();
        let p = esketamine();
        assert_eq!(states(&s, &p, t(119))[3], Upcoming { due: t(120) });
        assert_eq!(states(&s, &p, t(120))[3], Done { at: t(120) });
        assert_eq!(states(&s, &p, t(300))[3], Done { at: t(120) });
    }

    #[test]
    fn a_full_session_is_all_done_and_stays_so_after_discharge() {
        let mut s = session();
        s.vitals = vec![bp(t(-5)), bp(t(41)), bp(t(115))];
        s.discharge = Some(Box::new(Discharge {
            at: t(125),
            transport_arranged: true,
            collected_by: None,
            transport_refused: None,
            ready_minutes: Some(90),
        }));
        let want = vec![
            Done { at: t(-5) },
            Done { at: t(41) },
            Done { at: t(115) },
            Done { at: t(120) },
        ];
        assert_eq!(states(&s, &esketamine(), t(126)), want);
        assert_eq!(
            states(&s, &esketamine(), t(10_000)),
            want,
            "reviewed days later"
        );
        assert!(!ended_early(&s, &esketamine(), t(125)));
    }

    #[test]
    fn an_early_discharge_leaves_what_was_not_done_overdue() {
        let mut s = session();
        s.vitals = vec![bp(t(-5)), bp(t(75))];
        s.discharge = Some(Box::new(Discharge {
            at: t(90),
            transport_arranged: true,
            collected_by: None,
            transport_refused: None,
            ready_minutes: None,
        }));
        s.early_end_reason = Some("Patient insisted on leaving; escorted by partner.".into());
        let p = esketamine();
        assert_eq!(
            states(&s, &p, t(200)),
            vec![
                Done { at: t(-5) },
                Overdue { since: t(50) },
                // Within 30 minutes before the early discharge: that is the BP before discharge.
                Done { at: t(75) },
                Overdue { since: t(90) },
            ]
        );
        assert!(ended_early(&s, &p, t(90)));
        assert!(ended_early(&s, &p, t(119)));
        assert!(!ended_early(&s, &p, t(120)));
        s.dose_time = None;
        assert!(
            !ended_early(&s, &p, t(10)),
            "without a dose there is nothing to observe"
        );
    }

    #[test]
    fn the_profile_thresholds_move_the_windows() {
        let mut p = esketamine();
        p.thresholds.min_observation_minutes = 90;
        let s = session();
        assert_eq!(states(&s, &p, t(75))[2], Due { since: t(75) });
        assert_eq!(states(&s, &p, t(90))[3], Done { at: t(90) });
        assert!(ended_early(&s, &p, t(89)));
        assert!(!ended_early(&s, &p, t(90)));
    }

    #[test]
    fn bp_near_and_before_discharge_pick_the_readings_the_rems_form_asks_for() {
        let mut s = session();
        s.vitals = vec![bp(t(-5)), bp(t(38)), bp(t(44)), bp(t(100)), bp(t(118))];
        assert_eq!(bp_near(&s, 40).map(|v| v.at), Some(t(38)));
        assert_eq!(
            bp_before_discharge(&s, &Thresholds::default()).map(|v| v.at),
            Some(t(118))
        );
        s.vitals = vec![bp(t(-5))];
        assert_eq!(bp_near(&s, 40), None);
        assert_eq!(bp_before_discharge(&s, &Thresholds::default()), None);
    }
}
