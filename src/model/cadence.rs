//! The check-in cadence after each dosing session (24 h, 72 h, 1 week, ... by default) and which
//! of its check-ins are done, overdue, missed or still to come at a given moment.
//!
//! The rules, in a clinician's words:
//! - Each dose starts a cadence at its T0. The next dose starts a new one, so steps of the old
//!   cadence that would fall after the next dose are not expected.
//! - A step's window runs from halfway after the previous step's due time (the first: from T0)
//!   to the next step's due time (the last: as far after its due time as the gap before it).
//! - A check-in on any of the patient's goals does the earliest step still open whose window
//!   holds it: it makes up an overdue step first, else counts early for the next one.
//! - A step not done is upcoming before its due time, then overdue until its window closes or a
//!   later step is done; after that it is missed, no longer something to do today. So each dose
//!   has at most one overdue check-in.
//! - Check-ins belong to goals: a patient with no active goal has nothing due, and a step is
//!   expected only when a goal was open at its due time (set by then, and still open or checked
//!   in on after it), so months without goals do not pile up missed steps; steps already done
//!   are still shown.
//! - The schedule is a course's: pass the records of one course ([`super::course::scoped`]) and
//!   a re-induction has its own, numbered from its first session.

use super::goal::GoalStatus;
use super::ids::RecordId;
use super::session::DosingSession;
use super::timeline::PatientRecords;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};
use std::fmt;

/// How long after a dose a check-in is due. Months are calendar months in the clinician's
/// zone, so "1 month" after 31 January is the end of February.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CadenceStep {
    Hours(u32),
    Days(u32),
    Weeks(u32),
    Months(u32),
}

impl CadenceStep {
    /// The common cadence: 24 h, 72 h, 1 week, 2 weeks, 1 month, 3 months (domain.md).
    pub const DEFAULT: [CadenceStep; 6] = [
        CadenceStep::Hours(24),
        CadenceStep::Hours(72),
        CadenceStep::Weeks(1),
        CadenceStep::Weeks(2),
        CadenceStep::Months(1),
        CadenceStep::Months(3),
    ];

    /// When this check-in falls due after a dose at `from`.
    pub fn due_after(self, from: Timestamp, tz: &TimeZone) -> Timestamp {
        let span: Span = match self {
            CadenceStep::Hours(h) => i64::from(h).hours(),
            CadenceStep::Days(d) => i64::from(d).days(),
            CadenceStep::Weeks(w) => i64::from(w).weeks(),
            CadenceStep::Months(m) => i64::from(m).months(),
        };
        from.to_zoned(tz.clone())
            .checked_add(span)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// Roughly how many hours, to order steps and find two that mean the same.
    fn approx_hours(self) -> u64 {
        match self {
            CadenceStep::Hours(h) => u64::from(h),
            CadenceStep::Days(d) => u64::from(d) * 24,
            CadenceStep::Weeks(w) => u64::from(w) * 24 * 7,
            CadenceStep::Months(m) => u64::from(m) * 24 * 30,
        }
    }

    /// As a clinician says it: "24 h", "3 days", "1 week", "3 months".
    pub fn label(self) -> String {
        let plural = |n: u32, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        match self {
            CadenceStep::Hours(h) => format!("{h} h"),
            CadenceStep::Days(d) => plural(d, "day"),
            CadenceStep::Weeks(w) => plural(w, "week"),
            CadenceStep::Months(m) => plural(m, "month"),
        }
    }

    /// The notation config.toml uses: "24h", "3d", "1w", "3mo".
    pub fn notation(self) -> String {
        match self {
            CadenceStep::Hours(n) => format!("{n}h"),
            CadenceStep::Days(n) => format!("{n}d"),
            CadenceStep::Weeks(n) => format!("{n}w"),
            CadenceStep::Months(n) => format!("{n}mo"),
        }
    }

    /// Reads "24h", "3d", "1w", "2mo" (also with a space: "24 h").
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: u32 = number.parse().map_err(|_| {
            format!("{text:?} should be a number and a unit, like \"24h\", \"1w\" or \"3mo\"")
        })?;
        let step = match unit.trim() {
            "h" => CadenceStep::Hours(n),
            "d" => CadenceStep::Days(n),
            "w" => CadenceStep::Weeks(n),
            "mo" => CadenceStep::Months(n),
            "m" => {
                return Err(format!(
                    "{text:?}: \"m\" could be minutes or months; write \"mo\" for months"
                ));
            }
            "" => return Err(format!("{text:?} needs a unit: h, d, w or mo")),
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?}; use h (hours), d (days), w (weeks) or mo (months)"
                ));
            }
        };
        if n == 0 {
            return Err(format!(
                "{text:?}: a check-in is due some time after the dose"
            ));
        }
        if step.approx_hours() > 24 * 366 * 2 {
            return Err(format!("{text:?} is more than two years after the dose"));
        }
        Ok(step)
    }
}

impl fmt::Display for CadenceStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A cadence that cannot be used: which entry (0-based; none for the list itself) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", entry.map(|i| format!("entry {}: ", i + 1)).unwrap_or_default())]
pub struct CadenceError {
    pub entry: Option<usize>,
    pub message: String,
}

/// The steps at which check-ins are due after each dose, shortest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    steps: Vec<CadenceStep>,
}

impl Default for Cadence {
    /// 24 h, 72 h, 1 week, 2 weeks, 1 month, 3 months (domain.md: a common cadence).
    fn default() -> Self {
        Self {
            steps: CadenceStep::DEFAULT.to_vec(),
        }
    }
}

impl Cadence {
    /// A cadence from config notation; the error names the entry that is wrong.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, CadenceError> {
        if entries.is_empty() {
            return Err(CadenceError {
                entry: None,
                message: "the cadence needs at least one step, e.g. [\"24h\", \"1w\"]".into(),
            });
        }
        let mut steps = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let at = |message| CadenceError {
                entry: Some(i),
                message,
            };
            let step = CadenceStep::parse(e.as_ref()).map_err(at)?;
            if let Some(same) = steps
                .iter()
                .find(|s: &&CadenceStep| s.approx_hours() == step.approx_hours())
            {
                return Err(at(format!(
                    "{} is the same step as {}, listed before",
                    step.notation(),
                    same.notation()
                )));
            }
            steps.push(step);
        }
        steps.sort_by_key(|s| s.approx_hours());
        Ok(Self { steps })
    }

    pub fn steps(&self) -> &[CadenceStep] {
        &self.steps
    }
}

/// Where a check-in of the cadence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInState {
    /// A check-in was recorded in the step's window, at this moment.
    Done(Timestamp),
    /// Not yet due.
    Upcoming,
    /// Past its due time and not done; still worth doing.
    Overdue,
    /// Its window closed without a check-in.
    Missed,
}

/// One expected check-in: a step of the cadence after one dose.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledCheckIn {
    /// The dosing session whose dose started the cadence.
    pub session: RecordId,
    pub session_number: Option<u32>,
    pub step: CadenceStep,
    pub due: Timestamp,
    /// Check-ins from `opens` (inclusive) to `closes` (exclusive) can count for this step.
    pub opens: Timestamp,
    pub closes: Timestamp,
    pub state: CheckInState,
}

impl ScheduledCheckIn {
    /// "72 h after session 3" (or "after the dose of 2026-11-12" for an unnumbered session).
    pub fn describe(&self) -> String {
        match self.session_number {
            Some(n) => format!("{} after session {n}", self.step),
            None => format!("{} after a dose", self.step),
        }
    }

    /// Still to be done (upcoming or overdue).
    pub fn is_open(&self) -> bool {
        matches!(self.state, CheckInState::Upcoming | CheckInState::Overdue)
    }
}

fn midpoint(a: Timestamp, b: Timestamp) -> Timestamp {
    let half = b.duration_since(a) / 2;
    a.checked_add(half).unwrap_or(b)
}

fn add(t: Timestamp, d: jiff::SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// Every check-in the cadence expects of this patient, oldest first, with its state at `now`;
/// calendar steps (months) are counted in `tz`.
pub fn schedule(
    r: &PatientRecords,
    cadence: &Cadence,
    now: Timestamp,
    tz: &TimeZone,
) -> Vec<ScheduledCheckIn> {
    let mut doses: Vec<(&DosingSession, Timestamp)> = r
        .sessions
        .iter()
        .filter_map(|s| s.dose_time.map(|t| (s, t)))
        .collect();
    doses.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));
    let mut done_at: Vec<Timestamp> = r
        .goals
        .iter()
        .flat_map(|g| g.check_ins.iter().map(|c| c.at))
        .collect();
    done_at.sort();
    let any_active = r.goals.iter().any(|g| g.status == GoalStatus::Active);
    // When each goal was open: from when it was set; an achieved or dropped goal until its last
    // check-in (kitnotes keeps no closing date), an active or paused one until now and on.
    let open_spans: Vec<(Timestamp, Timestamp)> = r
        .goals
        .iter()
        .map(|g| {
            let until = match g.status {
                GoalStatus::Active | GoalStatus::Paused => Timestamp::MAX,
                GoalStatus::Achieved | GoalStatus::Dropped => {
                    g.check_ins.iter().map(|c| c.at).max().unwrap_or(g.at)
                }
            };
            (g.at, until)
        })
        .collect();
    let goal_open_at = |t: Timestamp| open_spans.iter().any(|&(a, b)| a <= t && t <= b);

    let mut out = Vec::new();
    for (k, &(session, t0)) in doses.iter().enumerate() {
        let next_dose = doses.get(k + 1).map(|d| d.1);
        let dues: Vec<(CadenceStep, Timestamp)> = cadence
            .steps
            .iter()
            .map(|&s| (s, s.due_after(t0, tz)))
            .take_while(|(_, due)| next_dose.is_none_or(|n| *due < n))
            .collect();
        // Each step's window: from halfway after the previous step (the first: from the dose)
        // to the next step's due time (the last: as far after its due time as the gap before
        // it), never past the next dose. Neighbouring windows overlap in the half before a due
        // time, where a check-in may make up the overdue step or count early for the next.
        let mut steps: Vec<ScheduledCheckIn> = Vec::with_capacity(dues.len());
        for (i, &(step, due)) in dues.iter().enumerate() {
            let before = if i == 0 { t0 } else { dues[i - 1].1 };
            let opens = if i == 0 { t0 } else { midpoint(before, due) };
            let mut closes = match dues.get(i + 1) {
                Some(&(_, next)) => next,
                None => add(due, due.duration_since(before) / 2),
            };
            if let Some(n) = next_dose {
                closes = closes.min(n);
            }
            steps.push(ScheduledCheckIn {
                session: session.id.clone(),
                session_number: session.number,
                step,
                due,
                opens,
                closes,
                state: CheckInState::Upcoming,
            });
        }
        // In time order, each check-in does the earliest step still open whose window holds it.
        let from = done_at.partition_point(|t| *t < t0);
        for &t in &done_at[from..] {
            if next_dose.is_some_and(|n| t >= n) {
                break;
            }
            if let Some(c) = steps
                .iter_mut()
                .find(|c| !matches!(c.state, CheckInState::Done(_)) && c.opens <= t && t < c.closes)
            {
                c.state = CheckInState::Done(t);
            }
        }
        // An undone step is overdue from its due time until its window closes (the next step
        // comes due), unless a later step is already done: one overdue check-in per dose at
        // most, and none right after a check-in.
        for i in 0..steps.len() {
            if matches!(steps[i].state, CheckInState::Done(_)) || now < steps[i].due {
                continue;
            }
            let later_done = steps[i + 1..]
                .iter()
                .any(|c| matches!(c.state, CheckInState::Done(_)));
            steps[i].state = if !later_done && now < steps[i].closes {
                CheckInState::Overdue
            } else {
                CheckInState::Missed
            };
        }
        out.extend(steps.into_iter().filter(|c| {
            matches!(c.state, CheckInState::Done(_)) || (any_active && goal_open_at(c.due))
        }));
    }
    out
}

/// What still needs doing: overdue check-ins and the next upcoming one, soonest first.
pub fn open_check_ins(schedule: &[ScheduledCheckIn]) -> Vec<&ScheduledCheckIn> {
    let mut open: Vec<&ScheduledCheckIn> = schedule
        .iter()
        .filter(|c| c.state == CheckInState::Overdue)
        .collect();
    if let Some(next) = schedule
        .iter()
        .filter(|c| c.state == CheckInState::Upcoming)
        .min_by_key(|c| c.due)
    {
        open.push(next);
    }
    open.sort_by_key(|c| c.due);
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_print_back() {
        for (text, step, label) in [
            ("24h", CadenceStep::Hours(24), "24 h"),
            ("72h", CadenceStep::Hours(72), "72 h"),
            ("1w", CadenceStep::Weeks(1), "1 week"),
            ("2w", CadenceStep::Weeks(2), "2 weeks"),
            ("1mo", CadenceStep::Months(1), "1 month"),
            ("3mo", CadenceStep::Months(3), "3 months"),
            ("5d", CadenceStep::Days(5), "5 days"),
            ("36 h", CadenceStep::Hours(36), "36 h"),
        ] {
            let s = CadenceStep::parse(text).unwrap();
            assert_eq!(s, step, "{text}");
            assert_eq!(s.label(), label);
            assert_eq!(CadenceStep::parse(&s.notation()).unwrap(), s);
        }
    }

    #[test]
    fn months_are_calendar_months_in_the_clinicians_zone() {
        let tz = TimeZone::UTC;
        let from: Timestamp = "2026-01-31T10:00:00Z".parse().unwrap();
        let due: Vec<String> = CadenceStep::DEFAULT
            .iter()
            .map(|c| c.due_after(from, &tz).to_string())
            .collect();
        assert_eq!(
            due,
            [
                "2026-02-01T10:00:00Z",
                "2026-02-03T10:00:00Z",
                "2026-02-07T10:00:00Z",
                "2026-02-14T10:00:00Z",
                "2026-02-28T10:00:00Z",
                "2026-04-30T10:00:00Z",
            ]
        );
    }

    #[test]
    fn bad_steps_say_why() {
        assert!(CadenceStep::parse("3m").unwrap_err().contains("\"mo\""));
        assert!(
            CadenceStep::parse("24")
                .unwrap_err()
                .contains("needs a unit")
        );
        assert!(
            CadenceStep::parse("1y")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(CadenceStep::parse("h").unwrap_err().contains("number"));
        assert!(CadenceStep::parse("0h").is_err());
        assert!(CadenceStep::parse("99999999999w").is_err());
        assert!(CadenceStep::parse("200w").is_err());
        let e = Cadence::parse(&["24h", "1w", "7d"]).unwrap_err();
        assert_eq!(e.entry, Some(2));
        assert_eq!(
            e.to_string(),
            "entry 3: 7d is the same step as 1w, listed before"
        );
        assert!(Cadence::parse::<&str>(&[]).is_err());
        let c = Cadence::parse(&["1w", "24h"]).unwrap();
        assert_eq!(c.steps(), &[CadenceStep::Hours(24), CadenceStep::Weeks(1)]);
    }
}
