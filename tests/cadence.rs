//! The check-in cadence after each dose, read at different moments (the clock is a parameter):
//! upcoming, overdue, done, missed, and what the next dose does to the old cadence.

use crate::common::{pid, rid, ts};
use jiff::tz::TimeZone;
use kitnotes::model::cadence::{Cadence, CadenceStep, CheckInState, open_check_ins, schedule};
use kitnotes::model::*;

fn patient() -> PatientRecords {
    PatientRecords::new(Patient::new(pid("p1"), "Test Person"))
}

fn dosed(id: &str, number: u32, t0: &str) -> DosingSession {
    DosingSession {
        number: Some(number),
        dose_time: Some(ts(t0)),
        ..DosingSession::new(rid(id), pid("p1"), ts(t0), "ketamine", Route::Im)
    }
}

fn goal(check_ins: &[&str]) -> IntegrationGoal {
    IntegrationGoal {
        id: rid("g1"),
        patient: pid("p1"),
        at: ts("2026-03-01T10:00:00Z"),
        title: "Walk every morning".into(),
        domain: LifeDomain::Health,
        status: GoalStatus::Active,
        target_date: None,
        source_note: None,
        sessions: vec![],
        check_ins: check_ins
            .iter()
            .map(|at| CheckIn {
                at: ts(at),
                progress: 3,
                note: String::new(),
                integration_note: None,
            })
            .collect(),
    }
}

/// The states of the first three steps (24 h, 72 h, 1 week) after one dose on 5 March 10:00.
fn states(check_ins: &[&str], now: &str) -> Vec<CheckInState> {
    let mut r = patient();
    r.sessions.push(dosed("s1", 1, "2026-03-05T10:00:00Z"));
    r.goals.push(goal(check_ins));
    let cadence = Cadence::parse(&["24h", "72h", "1w"]).unwrap();
    schedule(&r, &cadence, ts(now), &TimeZone::UTC)
        .into_iter()
        .map(|c| c.state)
        .collect()
}

use CheckInState::*;

#[test]
fn before_its_time_a_check_in_is_upcoming_then_overdue_when_due() {
    assert_eq!(
        states(&[], "2026-03-05T12:00:00Z"),
        [Upcoming, Upcoming, Upcoming]
    );
    // 24 h after the dose, to the minute.
    assert_eq!(
        states(&[], "2026-03-06T10:00:00Z"),
        [Overdue, Upcoming, Upcoming]
    );
    // At 71 h the 24 h check-in is still worth doing...
    assert_eq!(
        states(&[], "2026-03-08T09:00:00Z"),
        [Overdue, Upcoming, Upcoming]
    );
    // ...when the 72 h one comes due it is missed and no longer on today's list.
    assert_eq!(
        states(&[], "2026-03-08T10:00:00Z"),
        [Missed, Overdue, Upcoming]
    );
}

#[test]
fn a_check_in_makes_up_an_overdue_step_first_then_counts_early_for_the_next() {
    // 20 h after the dose (a little early) is the 24 h check-in.
    assert_eq!(
        states(&["2026-03-06T06:00:00Z"], "2026-03-08T11:00:00Z"),
        [Done(ts("2026-03-06T06:00:00Z")), Overdue, Upcoming]
    );
    // At 60 h the 24 h check-in is overdue: a check-in then makes it up, and the 72 h one
    // comes due as usual.
    assert_eq!(
        states(&["2026-03-07T22:00:00Z"], "2026-03-08T10:00:00Z"),
        [Done(ts("2026-03-07T22:00:00Z")), Overdue, Upcoming]
    );
    // With the 24 h one done, a check-in at 60 h is the 72 h one, a little early.
    assert_eq!(
        states(
            &["2026-03-06T12:00:00Z", "2026-03-07T22:00:00Z"],
            "2026-03-09T10:00:00Z"
        ),
        [
            Done(ts("2026-03-06T12:00:00Z")),
            Done(ts("2026-03-07T22:00:00Z")),
            Upcoming
        ]
    );
    // The last step's window closes as far after its due time as the gap before it.
    assert_eq!(
        states(&[], "2026-03-14T09:00:00Z"),
        [Missed, Missed, Overdue]
    );
    assert_eq!(
        states(&[], "2026-03-14T10:00:00Z"),
        [Missed, Missed, Missed]
    );
}

#[test]
fn the_next_dose_starts_a_new_cadence() {
    let mut r = patient();
    r.sessions.push(dosed("s1", 1, "2026-03-05T10:00:00Z"));
    r.sessions.push(dosed("s2", 2, "2026-03-09T10:00:00Z"));
    r.goals.push(goal(&["2026-03-06T12:00:00Z"]));
    let all = schedule(
        &r,
        &Cadence::default(),
        ts("2026-03-10T12:00:00Z"),
        &TimeZone::UTC,
    );
    let described: Vec<(String, CheckInState)> =
        all.iter().map(|c| (c.describe(), c.state)).collect();
    // Session 1 keeps only the steps before session 2's dose; session 2 has all six.
    assert_eq!(
        described[..3],
        [
            (
                "24 h after session 1".to_string(),
                Done(ts("2026-03-06T12:00:00Z"))
            ),
            ("72 h after session 1".to_string(), Missed),
            ("24 h after session 2".to_string(), Overdue),
        ]
    );
    assert_eq!(all.len(), 2 + 6);
    assert_eq!(
        all[1].closes,
        ts("2026-03-09T10:00:00Z"),
        "cut at the next dose"
    );
    // What is left to do: the overdue one, then the next upcoming.
    let open: Vec<String> = open_check_ins(&all).iter().map(|c| c.describe()).collect();
    assert_eq!(open, ["24 h after session 2", "72 h after session 2"]);
}

#[test]
fn without_an_active_goal_nothing_is_due_but_done_check_ins_still_show() {
    let mut r = patient();
    r.sessions.push(dosed("s1", 1, "2026-03-05T10:00:00Z"));
    let mut g = goal(&["2026-03-06T10:00:00Z"]);
    g.status = GoalStatus::Achieved;
    r.goals.push(g);
    let all = schedule(
        &r,
        &Cadence::default(),
        ts("2026-03-20T10:00:00Z"),
        &TimeZone::UTC,
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, Done(ts("2026-03-06T10:00:00Z")));
    // An undosed (planned) session starts no cadence.
    let mut r = patient();
    r.sessions.push(DosingSession::new(
        rid("s9"),
        pid("p1"),
        ts("2026-03-05T10:00:00Z"),
        "ketamine",
        Route::Im,
    ));
    r.goals.push(goal(&[]));
    assert!(
        schedule(
            &r,
            &Cadence::default(),
            ts("2026-03-20T10:00:00Z"),
            &TimeZone::UTC
        )
        .is_empty()
    );
}

#[test]
fn a_configured_cadence_is_used() {
    let mut r = patient();
    r.sessions.push(dosed("s1", 1, "2026-03-05T10:00:00Z"));
    r.goals.push(goal(&[]));
    let cadence = Cadence::parse(&["48h", "5d"]).unwrap();
    let all = schedule(&r, &cadence, ts("2026-03-07T11:00:00Z"), &TimeZone::UTC);
    let got: Vec<(CadenceStep, String, CheckInState)> = all
        .iter()
        .map(|c| (c.step, c.due.to_string(), c.state))
        .collect();
    assert_eq!(
        got,
        [
            (
                CadenceStep::Hours(48),
                "2026-03-07T10:00:00Z".into(),
                Overdue
            ),
            (
                CadenceStep::Days(5),
                "2026-03-10T10:00:00Z".into(),
                Upcoming
            ),
        ]
    );
}
