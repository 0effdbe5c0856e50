//! Courses of treatment and measurement-based care over them.
//!
//! A course is an induction (about 6 IV infusions, or 8 esketamine sessions), then maintenance;
//! after a relapse or a long gap a clinician starts a re-induction: a new course with its own
//! baseline score, its own session numbers ("session 2 of 6") and its own check-in schedule
//! (domain.md, "Courses"). Courses are records ([`Course`]) the clinician starts; a patient's
//! doses before the first such record (every dose of a store made before courses were records)
//! get courses inferred from the dose dates: the first dose starts an induction, and a dose more
//! than the re-induction gap after the one before starts a re-induction. Once courses are
//! recorded, kitnotes does not split them by itself: it suggests a re-induction
//! ([`suggestion`]) and the clinician decides.
//!
//! Each instrument's scores in time order, and how the latest compares with the course's
//! baseline (response, remission), in the words the Course view and the exports use.

use super::ValidationError;
use super::cadence::CadenceStep;
use super::ids::{PatientId, RecordId};
use super::measure::{Band, Instrument, Outcome, Score, outcome};
use super::timeline::PatientRecords;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// What a course record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CourseKind {
    /// The first course: a new baseline, sessions numbered from 1.
    Induction,
    /// Boosters: the course under way moves to maintenance (same baseline and numbering); as the
    /// first record of a patient (one who came already on boosters) it starts a course.
    Maintenance,
    /// After a relapse or a long gap: a new course with its own baseline, numbering, schedule.
    Reinduction,
}

impl CourseKind {
    pub const ALL: [CourseKind; 3] = [
        CourseKind::Induction,
        CourseKind::Reinduction,
        CourseKind::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CourseKind::Induction => "induction",
            CourseKind::Maintenance => "maintenance",
            CourseKind::Reinduction => "reinduction",
        }
    }

    /// How a clinician says it.
    pub fn label(self) -> &'static str {
        match self {
            CourseKind::Induction => "induction",
            CourseKind::Maintenance => "maintenance",
            CourseKind::Reinduction => "re-induction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase().replace('-', "");
        Self::ALL
            .into_iter()
            .find(|k| !s.is_empty() && k.as_str().starts_with(&s))
    }

    /// Whether a record of this kind starts a new course (a new baseline and numbering).
    fn starts_course(self) -> bool {
        self != CourseKind::Maintenance
    }
}

/// A course record: the clinician started an induction, re-induction or maintenance at `at`.
/// Doses from `at` on belong to it until the next course starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    pub id: RecordId,
    pub patient: PatientId,
    pub at: Timestamp,
    pub kind: CourseKind,
    /// Who started it.
    pub by: String,
    /// Induction sessions planned ("of 6"); when left out, the protocol's induction length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_sessions: Option<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Course {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.by.trim().is_empty() {
            return Err(ValidationError::new("by", "a course names who started it"));
        }
        if let Some(n) = self.planned_sessions
            && !(1..=52).contains(&n)
        {
            return Err(ValidationError::new(
                "planned_sessions",
                format!("{n} planned sessions; a course has 1 to 52 induction sessions"),
            ));
        }
        Ok(())
    }
}

/// The re-induction gap when config.toml does not set one: 8 weeks. Maintenance boosters are
/// given every 1 to 4 weeks (esketamine weekly or every 2 weeks; IV boosters every few weeks),
/// so twice the longest usual interval never flags a booster on schedule, while two months
/// without a dose is the gap after which clinicians usually start over with an induction series.
pub const DEFAULT_REINDUCTION_GAP: CadenceStep = CadenceStep::Weeks(8);

/// Reads a gap as config.toml writes it: "8 weeks", "2 months", "60 days", "8w".
pub fn parse_gap(text: &str) -> Result<CadenceStep, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = match unit.trim() {
        "week" | "weeks" => "w",
        "day" | "days" => "d",
        "month" | "months" => "mo",
        "hour" | "hours" => "h",
        other => other,
    };
    let normalized = format!("{number}{unit}");
    CadenceStep::parse(&normalized).map_err(|e| {
        // The step's message quotes the text it read; quote what the user wrote instead.
        let e = e.replace(&format!("{normalized:?}"), &format!("{t:?}"));
        format!("{e} (e.g. \"8 weeks\", \"2 months\", \"60 days\")")
    })
}

/// One course of a patient, recorded or inferred.
#[derive(Debug, Clone, PartialEq)]
pub struct CoursePeriod {
    /// 1 for the patient's first course.
    pub number: usize,
    pub kind: CourseKind,
    /// Doses from here (inclusive) belong to it.
    pub start: Timestamp,
    /// The next course's start, if any (exclusive).
    pub end: Option<Timestamp>,
    /// The record that started it; `None` when inferred from the dose dates.
    pub record: Option<RecordId>,
    pub by: Option<String>,
    pub planned_sessions: Option<u32>,
    /// When a maintenance record moved it to maintenance.
    pub maintenance_from: Option<Timestamp>,
    /// When its last dose was given, if any.
    pub last_dose: Option<Timestamp>,
    /// Doses given in it.
    pub doses: u32,
}

impl CoursePeriod {
    pub fn inferred(&self) -> bool {
        self.record.is_none()
    }

    pub fn holds(&self, t: Timestamp) -> bool {
        self.start <= t && self.end.is_none_or(|e| t < e)
    }
}

/// The dose times of the patient with their sessions' booked times, oldest first.
fn dose_times(r: &PatientRecords) -> Vec<(Timestamp, Timestamp)> {
    let mut d: Vec<(Timestamp, Timestamp)> = r
        .sessions
        .iter()
        .filter_map(|s| s.dose_time.map(|t| (t, s.at.min(t))))
        .collect();
    d.sort();
    d
}

/// Every course of the patient, oldest first: inferred ones for doses before the first course
/// record (a dose more than `gap` after the previous starts a re-induction), then one per
/// induction or re-induction record; a maintenance record moves the course under way to
/// maintenance. Gaps in months are counted in `tz`.
pub fn courses(r: &PatientRecords, gap: CadenceStep, tz: &TimeZone) -> Vec<CoursePeriod> {
    let mut records: Vec<&Course> = r.courses.iter().collect();
    records.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let first_record = records.first().map(|c| c.at);
    let doses = dose_times(r);
    let mut out: Vec<CoursePeriod> = Vec::new();
    let period = |kind, start, record: Option<&Course>| CoursePeriod {
        number: 0,
        kind,
        start,
        end: None,
        record: record.map(|c| c.id.clone()),
        by: record.map(|c| c.by.clone()),
        planned_sessions: record.and_then(|c| c.planned_sessions),
        maintenance_from: None,
        last_dose: None,
        doses: 0,
    };
    // Inferred: the doses before the first record, split where the gap is too long.
    let mut previous: Option<Timestamp> = None;
    for &(t, session_at) in doses
        .iter()
        .filter(|d| first_record.is_none_or(|f| d.0 < f))
    {
        match previous {
            None => out.push(period(CourseKind::Induction, session_at, None)),
            Some(p) if gap.due_after(p, tz) < t => {
                out.push(period(CourseKind::Reinduction, session_at.max(p), None))
            }
            Some(_) => {}
        }
        previous = Some(t);
    }
    for c in records {
        match out.last_mut() {
            Some(last) if !c.kind.starts_course() => {
                last.maintenance_from.get_or_insert(c.at);
            }
            _ => out.push(period(c.kind, c.at, Some(c))),
        }
    }
    let starts: Vec<Timestamp> = out.iter().map(|c| c.start).collect();
    for (i, c) in out.iter_mut().enumerate() {
        c.number = i + 1;
        c.end = starts.get(i + 1).copied();
        let (start, end) = (c.start, c.end);
        let mine = doses
            .iter()
            .map(|d| d.0)
            .filter(|t| start <= *t && end.is_none_or(|e| *t < e));
        c.doses = mine.clone().count() as u32;
        c.last_dose = mine.clone().next_back();
    }
    out
}

/// The course under way at `now`: the last one that started by then (or the first, if all start
/// later).
pub fn current_at(courses: &[CoursePeriod], now: Timestamp) -> Option<&CoursePeriod> {
    courses
        .iter()
        .rev()
        .find(|c| c.start <= now)
        .or(courses.first())
}

/// The course a dose (or any moment) falls in.
pub fn course_of(courses: &[CoursePeriod], t: Timestamp) -> Option<&CoursePeriod> {
    courses.iter().find(|c| c.holds(t)).or_else(|| {
        // Before the first course (a score at screening): the first course.
        courses.first().filter(|c| t < c.start)
    })
}

/// The patient's records as one course sees them: its dosing sessions (numbered within the
/// course, 1 for its first dose), its scores (for each instrument, a score taken in the gap
/// before it, the latest, counts as its baseline; the first course also has the scores before
/// it) and the goals; no notes. The Course view, Today's check-ins and the exports read a
/// course's baseline, numbering and schedule through this.
pub fn scoped(r: &PatientRecords, all: &[CoursePeriod], c: &CoursePeriod) -> PatientRecords {
    let mut out = PatientRecords::new(r.patient.clone());
    out.goals = r.goals.clone();
    let previous = all.iter().rfind(|p| p.number < c.number);
    let mut sessions: Vec<_> = r
        .sessions
        .iter()
        .filter(|s| c.holds(s.dose_time.unwrap_or(s.at)))
        .cloned()
        .collect();
    sessions.sort_by(|a, b| {
        (a.dose_time.is_none(), a.dose_time, a.at, &a.id).cmp(&(
            b.dose_time.is_none(),
            b.dose_time,
            b.at,
            &b.id,
        ))
    });
    let mut n = 0;
    for s in &mut sessions {
        if s.dose_time.is_some() {
            n += 1;
            s.number = Some(n);
        } else {
            s.number = None;
        }
    }
    out.sessions = sessions;
    for instrument in Instrument::ALL {
        let of = |m: &&super::measure::Measure| m.instrument == instrument;
        // A course's scores begin with the latest score taken in the gap after the course
        // before it (its baseline), else at its start; the first course takes all before it.
        let begins = |before: &CoursePeriod, this: &CoursePeriod| {
            let gap_from = before.last_dose.unwrap_or(before.start);
            r.measures
                .iter()
                .filter(of)
                .filter(|m| m.at > gap_from && m.at < this.start && m.score().is_ok())
                .map(|m| m.at)
                .max()
                .unwrap_or(this.start)
        };
        let from = previous.map_or(Timestamp::MIN, |p| begins(p, c));
        let next_from = all
            .iter()
            .find(|n| n.number == c.number + 1)
            .map_or(Timestamp::MAX, |n| begins(c, n));
        out.measures.extend(
            r.measures
                .iter()
                .filter(of)
                .filter(|m| m.at >= from && (m.at < next_from || next_from == Timestamp::MAX))
                .cloned(),
        );
    }
    out
}

/// The course a session belongs to and its number in it ("session 2" of a re-induction), for
/// the console and the timeline; `None` for a session without a dose.
pub fn session_number(
    r: &PatientRecords,
    session: &RecordId,
    gap: CadenceStep,
    tz: &TimeZone,
) -> Option<(CoursePeriod, u32)> {
    let s = r.sessions.iter().find(|s| &s.id == session)?;
    let t = s.dose_time?;
    let all = courses(r, gap, tz);
    let c = course_of(&all, t)?.clone();
    let scoped = scoped(r, &all, &c);
    let n = scoped
        .sessions
        .iter()
        .find(|x| &x.id == session)
        .and_then(|x| x.number)?;
    Some((c, n))
}

/// The number the next dose gets: its place in the current course (1 for the first dose of a
/// course just started, or of the first course). For the console's new session.
pub fn next_session_number(r: &PatientRecords, gap: CadenceStep, tz: &TimeZone) -> u32 {
    courses(r, gap, tz).last().map_or(0, |c| c.doses) + 1
}

/// "session 3 of 6, then maintenance" during induction, "session 8, maintenance" after it (or
/// after a maintenance record), "no sessions yet" before; a re-induction says so first:
/// "re-induction · session 2 of 6, then maintenance". `planned` is the induction length when
/// the course does not set it.
pub fn progress_words(c: &CoursePeriod, planned: u32) -> String {
    let planned = c.planned_sessions.unwrap_or(planned);
    let given = c.doses;
    let in_maintenance = c
        .maintenance_from
        .is_some_and(|m| c.last_dose.is_some_and(|t| t >= m))
        || c.kind == CourseKind::Maintenance;
    let words = match given {
        0 => "no sessions yet".to_string(),
        n if in_maintenance => format!("session {n}, maintenance"),
        n if n <= planned => format!("session {n} of {planned}, then maintenance"),
        n => format!("session {n}, maintenance"),
    };
    match c.kind {
        CourseKind::Reinduction => format!("re-induction · {words}"),
        _ => words,
    }
}

/// Every course of the patient and the latest one's records ([`scoped`]); with no dose and no
/// course record yet, no course and the records' sessions, scores and goals as they are.
pub fn latest(
    r: &PatientRecords,
    gap: CadenceStep,
    tz: &TimeZone,
) -> (Vec<CoursePeriod>, PatientRecords) {
    let all = courses(r, gap, tz);
    let scoped = match all.last() {
        Some(c) => scoped(r, &all, c),
        None => {
            let mut out = PatientRecords::new(r.patient.clone());
            out.sessions = r.sessions.clone();
            out.measures = r.measures.clone();
            out.goals = r.goals.clone();
            out
        }
    };
    (all, scoped)
}

/// Every course of a patient and the current one's records ([`latest`]), worked out once when
/// the records are read rather than on every frame that shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseNow {
    pub all: Vec<CoursePeriod>,
    pub current: PatientRecords,
}

impl CourseNow {
    pub fn of(r: &PatientRecords, gap: CadenceStep, tz: &TimeZone) -> Self {
        let (all, current) = latest(r, gap, tz);
        Self { all, current }
    }
}

/// One line per course, the current (latest) first: "2 re-induction from 2026-10-05, 2
/// sessions", "1 induction 2026-03-05 to 2026-06-20, 8 sessions (inferred from the dose dates)".
pub fn course_lines(all: &[CoursePeriod], tz: &TimeZone) -> Vec<String> {
    let day = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
    all.iter()
        .rev()
        .map(|c| {
            let mut s = format!("{} {}", c.number, c.kind.label());
            match (c.end, c.last_dose) {
                (None, _) => s.push_str(&format!(" from {}", day(c.start))),
                (Some(_), Some(last)) => s.push_str(&format!(" {} to {}", day(c.start), day(last))),
                (Some(_), None) => s.push_str(&format!(" from {}, no dose", day(c.start))),
            }
            s.push_str(&format!(
                ", {} session{}",
                c.doses,
                if c.doses == 1 { "" } else { "s" }
            ));
            if c.inferred() {
                s.push_str(" (inferred from the dose dates)");
            }
            s
        })
        .collect()
}

/// "Last dose 10 weeks ago, more than the 8-week re-induction gap": said when the course under
/// way has had no dose for longer than `gap` by `now`, so the clinician may start a re-induction
/// before the next session. Nothing when the last course has no dose yet.
pub fn suggestion(
    courses: &[CoursePeriod],
    gap: CadenceStep,
    now: Timestamp,
    tz: &TimeZone,
) -> Option<String> {
    let last = courses.last()?;
    let dose = last.last_dose?;
    if gap.due_after(dose, tz) >= now {
        return None;
    }
    let weeks = now.duration_since(dose).as_hours() / (24 * 7);
    Some(format!(
        "last dose {weeks} weeks ago, longer than the {} re-induction gap: consider a re-induction",
        gap.label()
    ))
}

/// One scored PHQ-9 or GAD-7.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScorePoint {
    pub at: Timestamp,
    pub total: u8,
    pub band: Band,
    /// PHQ-9 item 9, when above 0.
    pub item9: Option<u8>,
}

/// The scored measures of `instrument`, oldest first. Measures that do not score (a file can
/// hold one) are left out, as they are of the baseline.
pub fn series(r: &PatientRecords, instrument: Instrument) -> Vec<ScorePoint> {
    let mut out: Vec<(ScorePoint, &str)> = r
        .measures
        .iter()
        .filter(|m| m.instrument == instrument)
        .filter_map(|m| match m.score() {
            Ok(Score::Scored {
                total,
                band,
                item9_flag,
            }) => Some((
                ScorePoint {
                    at: m.at,
                    total,
                    band,
                    item9: item9_flag.then(|| m.items[8]),
                },
                m.id.as_str(),
            )),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| (a.0.at, a.1).cmp(&(b.0.at, b.1)));
    out.into_iter().map(|(p, _)| p).collect()
}

/// The latest score of an instrument against the course baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub instrument: Instrument,
    pub latest: ScorePoint,
    /// The baseline, when the latest is not itself the baseline.
    pub baseline: Option<ScorePoint>,
    pub outcome: Outcome,
}

impl Progress {
    /// "PHQ-9 18 → 6 mild (−67%), response", "GAD-7 12 moderate (baseline)"; remission is
    /// named for PHQ-9 only. Item 9 is left to the caller, which shows it loudly.
    pub fn describe(&self) -> String {
        let l = &self.latest;
        let mut s = match self.baseline {
            Some(b) => format!(
                "{} {} → {} {}",
                self.instrument.label(),
                b.total,
                l.total,
                l.band.label()
            ),
            None => format!(
                "{} {} {} (baseline)",
                self.instrument.label(),
                l.total,
                l.band.label()
            ),
        };
        if let Some(p) = self
            .outcome
            .change_percent
            .filter(|_| self.baseline.is_some())
        {
            s.push_str(&format!(" ({})", signed_percent(p)));
        }
        // A single score is where the course starts, not an outcome: no verdict on it.
        let mut verdicts = Vec::new();
        if self.baseline.is_none() {
            return s;
        }
        if self.outcome.response {
            verdicts.push("response");
        }
        if self.outcome.remission == Some(true) {
            verdicts.push("remission");
        }
        if !verdicts.is_empty() {
            s.push_str(", ");
            s.push_str(&verdicts.join(", "));
        }
        s
    }
}

/// "−67%", "+20%", "0%": a minus sign that reads as one, rounded to whole percent.
pub(crate) fn signed_percent(p: f64) -> String {
    let r = p.round();
    if r < 0.0 {
        format!("\u{2212}{}%", -r)
    } else if r > 0.0 {
        format!("+{r}%")
    } else {
        "0%".to_string()
    }
}

/// How the instrument's latest score compares with the baseline (the earliest scored one of
/// the records given: pass [`scoped`] records for a course's own baseline); `None` when it has
/// never been scored.
pub fn progress(r: &PatientRecords, instrument: Instrument) -> Option<Progress> {
    // The series is already the scored measures in (time, id) order, so its first point is
    // `measure::baseline`'s pick, without scoring every measure a second time.
    let points = series(r, instrument);
    let latest = *points.last()?;
    let baseline = (points.len() > 1).then(|| points[0]);
    Some(Progress {
        instrument,
        latest,
        baseline,
        outcome: outcome(instrument, baseline.map(|b| b.total), latest.total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Measure, Patient, PatientId, RecordId};

    fn with(scores: &[(&str, Instrument, Vec<u8>)]) -> PatientRecords {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        for (i, (at, instrument, items)) in scores.iter().enumerate() {
            r.measures.push(Measure {
                id: RecordId::parse(&format!("m{i}")).unwrap(),
                patient: pid.clone(),
                instrument: *instrument,
                at: at.parse().unwrap(),
                items: items.clone(),
                entered_total: None,
                session: None,
            });
        }
        r
    }

    fn phq(total: u8, item9: u8) -> Vec<u8> {
        let mut items = vec![0u8; 9];
        items[8] = item9;
        let mut left = total - item9;
        for slot in items.iter_mut().take(8) {
            let v = left.min(3);
            *slot = v;
            left -= v;
        }
        items
    }

    #[test]
    fn no_scores_no_progress_and_one_score_is_the_baseline() {
        assert_eq!(progress(&with(&[]), Instrument::Phq9), None);
        let r = with(&[("2026-03-01T10:00:00Z", Instrument::Phq9, phq(14, 0))]);
        let p = progress(&r, Instrument::Phq9).unwrap();
        assert_eq!(p.describe(), "PHQ-9 14 moderate (baseline)");
        assert!(!p.outcome.response);
        assert_eq!(p.baseline, None);
        // A low first score is not a remission: nothing has been treated yet.
        let r = with(&[("2026-03-01T10:00:00Z", Instrument::Phq9, phq(3, 0))]);
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 3 minimal (baseline)"
        );
    }

    #[test]
    fn response_and_remission_read_in_words() {
        let r = with(&[
            ("2026-03-20T10:00:00Z", Instrument::Phq9, phq(4, 0)),
            ("2026-03-01T10:00:00Z", Instrument::Phq9, phq(18, 1)),
            ("2026-03-10T10:00:00Z", Instrument::Phq9, phq(10, 0)),
            ("2026-03-01T10:00:00Z", Instrument::Gad7, vec![2; 7]),
            (
                "2026-03-20T10:00:00Z",
                Instrument::Gad7,
                vec![1, 1, 1, 1, 1, 1, 2],
            ),
        ]);
        let s = series(&r, Instrument::Phq9);
        assert_eq!(
            s.iter().map(|p| p.total).collect::<Vec<_>>(),
            [18, 10, 4],
            "oldest first"
        );
        assert_eq!(s[0].item9, Some(1));
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 18 → 4 minimal (\u{2212}78%), response, remission"
        );
        // GAD-7 14 -> 8 is a 43% drop: no response, and GAD-7 has no remission rule here.
        assert_eq!(
            progress(&r, Instrument::Gad7).unwrap().describe(),
            "GAD-7 14 → 8 mild (\u{2212}43%)"
        );
    }

    #[test]
    fn a_rise_is_shown_with_a_plus() {
        let r = with(&[
            ("2026-03-01T10:00:00Z", Instrument::Phq9, phq(10, 0)),
            ("2026-03-10T10:00:00Z", Instrument::Phq9, phq(12, 0)),
        ]);
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 10 → 12 moderate (+20%)"
        );
    }

    // Courses: a patient dosed six times in March, then after four months without a dose twice
    // in August, with a PHQ-9 before each course, one after the first and one in the second.
    mod courses {
        use super::*;
        use crate::model::cadence::{Cadence, CheckInState, schedule};
        use crate::model::{
            CheckIn, DosingSession, GoalStatus, IntegrationGoal, LifeDomain, Route,
        };

        const EIGHT_WEEKS: CadenceStep = CadenceStep::Weeks(8);

        fn ts(s: &str) -> Timestamp {
            s.parse().unwrap()
        }

        fn dosed(r: &mut PatientRecords, id: &str, number: u32, t0: &str) {
            r.sessions.push(DosingSession {
                number: Some(number),
                dose_time: Some(ts(t0)),
                ..DosingSession::new(
                    RecordId::parse(id).unwrap(),
                    r.patient.id.clone(),
                    ts(t0),
                    "ketamine",
                    Route::Iv,
                )
            });
        }

        fn patient() -> PatientRecords {
            let mut r = with(&[
                ("2026-02-27T10:00:00Z", Instrument::Phq9, phq(21, 0)),
                ("2026-03-20T10:00:00Z", Instrument::Phq9, phq(9, 0)),
                // Months later, before the relapse is treated: the re-induction's baseline.
                ("2026-07-30T10:00:00Z", Instrument::Phq9, phq(18, 1)),
                ("2026-08-07T10:00:00Z", Instrument::Phq9, phq(8, 0)),
            ]);
            for (i, day) in [2, 4, 6, 9, 11, 13].iter().enumerate() {
                dosed(
                    &mut r,
                    &format!("s{}", i + 1),
                    i as u32 + 1,
                    &format!("2026-03-{day:02}T09:00:00Z"),
                );
            }
            // The stored numbers go on counting, as an older store has them.
            dosed(&mut r, "s7", 7, "2026-08-03T09:00:00Z");
            dosed(&mut r, "s8", 8, "2026-08-05T09:00:00Z");
            r
        }

        #[test]
        fn a_long_gap_between_doses_infers_a_reinduction_with_its_own_numbering_and_baseline() {
            let r = patient();
            let tz = TimeZone::UTC;
            let all = courses(&r, EIGHT_WEEKS, &tz);
            assert_eq!(all.len(), 2);
            assert_eq!(
                (all[0].kind, all[0].doses, all[0].inferred()),
                (CourseKind::Induction, 6, true)
            );
            assert_eq!(
                (all[1].kind, all[1].doses, all[1].start),
                (CourseKind::Reinduction, 2, ts("2026-08-03T09:00:00Z"))
            );
            assert_eq!(
                progress_words(&all[1], 6),
                "re-induction · session 2 of 6, then maintenance"
            );
            let second = scoped(&r, &all, &all[1]);
            let numbers: Vec<_> = second.sessions.iter().map(|s| s.number).collect();
            assert_eq!(numbers, [Some(1), Some(2)], "numbered within the course");
            // The score taken in the gap is this course's baseline, not the first course's 21.
            assert_eq!(
                progress(&second, Instrument::Phq9).unwrap().describe(),
                "PHQ-9 18 → 8 mild (\u{2212}56%), response"
            );
            let first = scoped(&r, &all, &all[0]);
            assert_eq!(
                progress(&first, Instrument::Phq9).unwrap().describe(),
                "PHQ-9 21 → 9 mild (\u{2212}57%), response"
            );
            assert_eq!(
                session_number(&r, &RecordId::parse("s8").unwrap(), EIGHT_WEEKS, &tz)
                    .map(|(c, n)| (c.number, n)),
                Some((2, 2))
            );
            // The console's next session continues the re-induction's numbering.
            assert_eq!(next_session_number(&r, EIGHT_WEEKS, &tz), 3);
            // A shorter gap than configured keeps one course.
            assert_eq!(courses(&r, CadenceStep::Months(6), &tz).len(), 1);
            assert_eq!(
                course_lines(&all, &tz),
                [
                    "2 re-induction from 2026-08-03, 2 sessions (inferred from the dose dates)",
                    "1 induction 2026-03-02 to 2026-03-13, 6 sessions (inferred from the dose dates)",
                ]
            );
        }

        #[test]
        fn a_reinductions_check_ins_are_its_own_and_months_without_goals_expect_none() {
            let mut r = patient();
            let tz = TimeZone::UTC;
            // A goal set for the re-induction only.
            r.goals.push(IntegrationGoal {
                id: RecordId::parse("g1").unwrap(),
                patient: r.patient.id.clone(),
                at: ts("2026-07-30T11:00:00Z"),
                title: "Walk every morning".into(),
                domain: LifeDomain::Health,
                status: GoalStatus::Active,
                target_date: None,
                source_note: None,
                sessions: vec![],
                check_ins: vec![CheckIn {
                    at: ts("2026-08-04T10:00:00Z"),
                    progress: 3,
                    note: String::new(),
                    integration_note: None,
                }],
            });
            let cadence = Cadence::default();
            let now = ts("2026-08-07T12:00:00Z");
            // Over the whole record, the first course's steps fall before any goal: none are
            // expected.
            let whole = schedule(&r, &cadence, now, &tz);
            assert!(
                whole.iter().all(|c| c.due > ts("2026-07-30T11:00:00Z")),
                "{whole:?}"
            );
            let (all, current) = latest(&r, EIGHT_WEEKS, &tz);
            assert_eq!(all.len(), 2);
            let steps = schedule(&current, &cadence, now, &tz);
            let described: Vec<(String, CheckInState)> =
                steps.iter().map(|c| (c.describe(), c.state)).collect();
            assert_eq!(
                described[0],
                (
                    "24 h after session 1".to_string(),
                    CheckInState::Done(ts("2026-08-04T10:00:00Z"))
                )
            );
            assert_eq!(described[1].0, "24 h after session 2");
            assert!(
                steps
                    .iter()
                    .all(|c| c.session_number.is_some_and(|n| n <= 2))
            );
        }

        #[test]
        fn recorded_courses_split_where_the_clinician_says_and_a_long_gap_is_a_suggestion() {
            let mut r = patient();
            let tz = TimeZone::UTC;
            let course = |id: &str, at: &str, kind| Course {
                id: RecordId::parse(id).unwrap(),
                patient: r.patient.id.clone(),
                at: ts(at),
                kind,
                by: "Dr. Test".into(),
                planned_sessions: Some(4),
                reason: String::new(),
            };
            // The first course recorded from the start, moved to maintenance after four doses,
            // and no re-induction recorded: the August doses stay in the first course.
            let c1 = course("c1", "2026-03-01T09:00:00Z", CourseKind::Induction);
            let c2 = course("c2", "2026-03-10T09:00:00Z", CourseKind::Maintenance);
            r.courses = vec![c2, c1];
            let all = courses(&r, EIGHT_WEEKS, &tz);
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].doses, 8);
            assert!(!all[0].inferred());
            assert_eq!(progress_words(&all[0], 6), "session 8, maintenance");
            // Long after the last dose kitnotes suggests a re-induction; the clinician starts it.
            let later = ts("2026-10-20T09:00:00Z");
            assert_eq!(
                suggestion(&all, EIGHT_WEEKS, later, &tz).as_deref(),
                Some(
                    "last dose 10 weeks ago, longer than the 8 weeks re-induction gap: \
                     consider a re-induction"
                )
            );
            assert_eq!(
                suggestion(&all, EIGHT_WEEKS, ts("2026-09-01T09:00:00Z"), &tz),
                None
            );
            r.courses.push(course(
                "c3",
                "2026-10-20T09:00:00Z",
                CourseKind::Reinduction,
            ));
            let all = courses(&r, EIGHT_WEEKS, &tz);
            assert_eq!(all.len(), 2);
            assert_eq!(progress_words(&all[1], 6), "re-induction · no sessions yet");
            assert_eq!(next_session_number(&r, EIGHT_WEEKS, &tz), 1);
            assert_eq!(suggestion(&all, EIGHT_WEEKS, later, &tz), None);
        }

        #[test]
        fn kinds_and_gaps_read_as_written() {
            assert_eq!(CourseKind::parse("re-ind"), Some(CourseKind::Reinduction));
            assert_eq!(CourseKind::parse("Maint"), Some(CourseKind::Maintenance));
            assert_eq!(CourseKind::parse("i"), Some(CourseKind::Induction));
            assert_eq!(CourseKind::parse(""), None);
            assert_eq!(parse_gap("8 weeks"), Ok(CadenceStep::Weeks(8)));
            assert_eq!(parse_gap("60 days"), Ok(CadenceStep::Days(60)));
            assert_eq!(parse_gap("2 months"), Ok(CadenceStep::Months(2)));
            assert_eq!(parse_gap("8w"), Ok(CadenceStep::Weeks(8)));
            let e = parse_gap("8 fortnights").unwrap_err();
            assert!(e.starts_with("\"8 fortnights\""), "{e}");
        }
    }
}
