//! The one-page course summary (issue 20): what a reviewing clinician, or the next provider,
//! reads first. A dated score table with the session each score followed and the course's
//! response and remission; each dosing session with its dose, adverse events and vitals flags;
//! the goals with their target date, last check-in and a "stalled" mark; the problem,
//! medication and allergy lists. The course view shows it (`s`), and the chart (Markdown and
//! PDF) starts with it.

use super::cadence::CadenceStep;
use super::course::{self, CoursePeriod};
use super::goal::GoalStatus;
use super::measure::{Instrument, outcome};
use super::monitoring::{Thresholds, flag_kinds};
use super::timeline::PatientRecords;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// When a goal counts as stalled: no check-in, or no progress, for this many weeks (or its
/// target date passed while it is still active). `[goals] stalled_weeks` in config.toml.
pub const STALLED_WEEKS: u32 = 4;

/// One scored PHQ-9 or GAD-7, with its place in the course.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    pub at: Timestamp,
    pub instrument: Instrument,
    pub total: u8,
    pub band: &'static str,
    /// "course 2", with the dose it followed: "after session 3", "before session 1".
    pub course: usize,
    pub place: String,
    /// Against the course's baseline: "baseline", "−45%", "−67%, response", "remission".
    pub change: String,
    /// PHQ-9 item 9 when above 0.
    pub item9: Option<u8>,
}

/// One dosing session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub at: Timestamp,
    pub course: usize,
    /// Its number in its course; `None` when no dose was given.
    pub number: Option<u32>,
    pub dose: String,
    pub adverse: Vec<String>,
    pub flags: Vec<&'static str>,
    pub signed: bool,
}

/// One goal.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalRow {
    pub title: String,
    pub status: GoalStatus,
    pub target: Option<Date>,
    /// The last check-in: when and the progress (0-10).
    pub last: Option<(Timestamp, u8)>,
    /// Why it counts as stalled, if it does.
    pub stalled: Option<String>,
}

/// The summary of one patient's care.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub courses: Vec<String>,
    pub scores: Vec<ScoreRow>,
    pub sessions: Vec<SessionRow>,
    pub goals: Vec<GoalRow>,
    /// Problems, medications, allergies: each list's entries, current first, each described
    /// in one line ("sertraline 100 mg daily (other), since 2024-05-01") with whether it is
    /// current.
    pub lists: Vec<(super::lists::ListKind, Vec<(String, bool)>)>,
}

impl Summary {
    /// The summary of `r` as of `now`. `gap` starts a re-induction (`[courses]`), `stalled`
    /// weeks without a check-in or without progress stall a goal; days are counted in `tz`.
    pub fn of(
        r: &PatientRecords,
        now: Timestamp,
        gap: CadenceStep,
        stalled: u32,
        tz: &TimeZone,
    ) -> Self {
        let all = course::courses(r, gap, tz);
        let mut scores = Vec::new();
        let mut sessions = Vec::new();
        for c in &all {
            let mine = course::scoped(r, &all, c);
            scores.extend(score_rows(&mine, c));
            sessions.extend(mine.sessions.iter().map(|s| {
                SessionRow {
                    at: s.dose_time.unwrap_or(s.at),
                    course: c.number,
                    number: s.number,
                    dose: dose_text(s),
                    adverse: s
                        .observations
                        .iter()
                        .filter(|o| o.adverse)
                        .map(|o| o.text.clone())
                        .collect(),
                    flags: flag_kinds(s, &Thresholds::default())
                        .into_iter()
                        .map(|k| k.label())
                        .collect(),
                    signed: s.is_signed(),
                }
            }));
        }
        if all.is_empty() {
            // Scores before any dose: the first course's baseline, with no course yet.
            let none = CoursePeriod {
                number: 0,
                kind: super::course::CourseKind::Induction,
                start: Timestamp::MAX,
                end: None,
                record: None,
                by: None,
                planned_sessions: None,
                maintenance_from: None,
                last_dose: None,
                doses: 0,
            };
            scores.extend(score_rows(r, &none));
        }
        scores.sort_by_key(|s| (s.at, s.instrument != Instrument::Phq9));
        sessions.sort_by_key(|s| s.at);
        let mut goals: Vec<GoalRow> = r
            .goals
            .iter()
            .map(|g| {
                let last = g
                    .check_ins
                    .iter()
                    .max_by_key(|c| c.at)
                    .map(|c| (c.at, c.progress));
                GoalRow {
                    title: g.title.clone(),
                    status: g.status,
                    target: g.target_date,
                    last,
                    stalled: (g.status == GoalStatus::Active)
                        .then(|| stalled_why(g, now, stalled, tz))
                        .flatten(),
                }
            })
            .collect();
        goals.sort_by_key(|g| (g.status != GoalStatus::Active, g.title.to_lowercase()));
        let today = now.to_zoned(tz.clone()).date();
        let lists = super::lists::ListKind::ALL
            .into_iter()
            .map(|kind| {
                let mut entries: Vec<&super::lists::ListEntry> =
                    r.lists.iter().filter(|l| l.list == kind).collect();
                entries.sort_by_key(|l| (!l.is_current_on(today), l.name.to_lowercase()));
                (
                    kind,
                    entries
                        .iter()
                        .map(|l| (l.values().describe(kind), l.is_current_on(today)))
                        .collect(),
                )
            })
            .collect();
        Summary {
            courses: course::course_lines(&all, tz),
            scores,
            sessions,
            goals,
            lists,
        }
    }
}

/// The course's scores with their change against the course's baseline (its first score).
fn score_rows(r: &PatientRecords, c: &CoursePeriod) -> Vec<ScoreRow> {
    let mut out = Vec::new();
    let doses: Vec<(Timestamp, u32)> = r
        .sessions
        .iter()
        .filter_map(|s| Some((s.dose_time?, s.number?)))
        .collect();
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        let points = course::series(r, instrument);
        let baseline = points.first().map(|p| p.total);
        for (i, p) in points.iter().enumerate() {
            let o = outcome(instrument, baseline.filter(|_| i > 0), p.total);
            let mut change = if i == 0 {
                "baseline".to_owned()
            } else {
                o.change_percent
                    .map(course::signed_percent)
                    .unwrap_or_else(|| "no change measurable".to_owned())
            };
            if i > 0 && o.response {
                change.push_str(", response");
            }
            if i > 0 && o.remission == Some(true) {
                change.push_str(", remission");
            }
            let after = doses.iter().filter(|d| d.0 <= p.at).map(|d| d.1).max();
            let place = match after {
                Some(n) => format!("after session {n}"),
                None => "before session 1".to_owned(),
            };
            out.push(ScoreRow {
                at: p.at,
                instrument,
                total: p.total,
                band: p.band.label(),
                course: c.number,
                place,
                change,
                item9: p.item9,
            });
        }
    }
    out
}

/// "ketamine 0.5 mg/kg (36 mg) IV", "esketamine 84 mg intranasal", "no dose".
fn dose_text(s: &super::session::DosingSession) -> String {
    if s.dose_time.is_none() {
        return format!("{}, not dosed", s.medication);
    }
    let mut out = s.medication.clone();
    if let Some(per_kg) = s.dose_mg_per_kg {
        out.push_str(&format!(" {per_kg} mg/kg"));
        if let Some(mg) = s.dose_in_mg() {
            out.push_str(&format!(" ({mg} mg)"));
        }
    } else if let Some(mg) = s.dose_in_mg() {
        out.push_str(&format!(" {mg} mg"));
    }
    out.push(' ');
    out.push_str(s.route.label());
    out
}

/// Why an active goal counts as stalled at `now`, if it does: its target date passed, no
/// check-in for `weeks` weeks (since it was set, when it has none), or no progress over the
/// check-ins of the last `weeks` weeks.
fn stalled_why(
    g: &super::goal::IntegrationGoal,
    now: Timestamp,
    weeks: u32,
    tz: &TimeZone,
) -> Option<String> {
    let today = now.to_zoned(tz.clone()).date();
    if let Some(t) = g.target_date
        && t < today
    {
        return Some(format!("past its target date {t}"));
    }
    let window = SignedDuration::from_hours(24 * 7 * i64::from(weeks));
    let mut check_ins: Vec<_> = g.check_ins.iter().collect();
    check_ins.sort_by_key(|c| c.at);
    let last_at = check_ins.last().map_or(g.at, |c| c.at);
    if now.duration_since(last_at) >= window {
        return Some(match check_ins.last() {
            Some(_) => format!("no check-in for {weeks}+ weeks"),
            None => format!("no check-in in the {weeks}+ weeks since it was set"),
        });
    }
    // Progress over the window: the last check-in against the latest one before the window.
    let from = now.checked_sub(window).unwrap_or(now);
    let before = check_ins.iter().rev().find(|c| c.at <= from);
    if let (Some(b), Some(l)) = (before, check_ins.last())
        && l.progress <= b.progress
    {
        return Some(format!("no progress in {weeks} weeks ({}/10)", l.progress));
    }
    None
}
