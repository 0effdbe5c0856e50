//! The course of care for one demo patient: how the note budget is spent, where every encounter
//! falls in time relative to the anchor date, and the records that result.
//!
//! Generation runs in three passes, all from the patient's own generator:
//! 1. **Shape**: how many preparation notes, sessions and psychotherapy notes the budget allows,
//!    and whether an earlier course is needed to fill it (a returning patient).
//! 2. **Plan**: encounters laid out forwards in days, then shifted so the recent part of the
//!    course ends just before the anchor; then turned into timestamps in the clinic's zone.
//! 3. **Records**: sessions, measures, notes (signed, some with addenda, a few left as drafts)
//!    and goals with check-ins, all in chronological order.

use super::notes::{self, IntegrationContext, PrepContext, Scores};
use super::profile::{self, Profile, Stage, Trajectory, end_score};
use super::session::{self, DoseState, SessionFacts};
use super::text::{self, Intention, Writer};

use super::{DemoSpec, MAX_NOTES_PER_PATIENT};
use crate::clock::SeededRng;
use crate::model::cadence::CadenceStep;
use crate::model::{
    CheckIn, Course, CourseKind, DosingSession, GoalStatus, Instrument, IntegrationGoal,
    LifeDomain, Measure, Note, NoteKind, PatientId, Record, RecordId,
};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// Turns day offsets from the anchor and minutes of the day into instants in the clinic's zone.
pub(super) struct Calendar {
    anchor: Date,
    tz: TimeZone,
    /// The first instant of the anchor date: everything generated lies before it.
    pub start: Timestamp,
}

impl Calendar {
    pub fn new(anchor: Date, tz: &TimeZone) -> Self {
        let start = tz
            .to_timestamp(anchor.at(0, 0, 0, 0))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Self {
            anchor,
            tz: tz.clone(),
            start,
        }
    }

    /// `day` days from the anchor (negative is before it) at `minute` past local midnight.
    pub fn at(&self, day: i32, minute: u32) -> Timestamp {
        let date = self
            .anchor
            .checked_add(i64::from(day).days())
            .unwrap_or(self.anchor);
        let m = minute.min(24 * 60 - 1);
        let dt = date.at((m / 60) as i8, (m % 60) as i8, 0, 0);
        self.tz.to_timestamp(dt).unwrap_or(self.start)
    }

    pub fn local(&self, at: Timestamp) -> DateTime {
        self.tz.to_datetime(at)
    }

    /// `days` calendar days after the local date of `at`, at `minute` past midnight: a working
    /// hour on a later day, for late signatures and addenda.
    pub fn days_after(&self, at: Timestamp, days: i64, minute: u32) -> Timestamp {
        let date = self.local(at).date();
        let date = date.checked_add(days.days()).unwrap_or(date);
        let m = minute.min(24 * 60 - 1);
        self.tz
            .to_timestamp(date.at((m / 60) as i8, (m % 60) as i8, 0, 0))
            .unwrap_or(at)
    }
}

/// `at` moved by whole minutes (saturating at the ends of time, which validated specs never
/// reach).
pub(super) fn plus(at: Timestamp, minutes: i64) -> Timestamp {
    at.checked_add(SignedDuration::from_mins(minutes))
        .unwrap_or(at)
}

/// Demo ids are a patient number and counters: short ASCII without whitespace, so they always
/// parse; the fallback only keeps this free of panics.
pub(super) fn rid(s: &str) -> RecordId {
    RecordId::parse(s).unwrap_or_else(|_| RecordId::from_uuid(uuid::Uuid::nil()))
}

/// What every builder needs: the calendar, the patient's profile and generator.
pub(super) struct Ctx<'a> {
    pub cal: &'a Calendar,
    pub profile: &'a Profile,
    pub rng: &'a mut SeededRng,
}

/// A generator for patient `index` that does not depend on any other patient, so one patient can
/// be generated alone and the whole caseload in any order.
pub(super) fn patient_rng(seed: u64, index: u32) -> SeededRng {
    let mut mix = SeededRng::new(seed ^ u64::from(index).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    SeededRng::new(mix.next_u64() ^ u64::from(index).rotate_left(32))
}

// ---------------------------------------------------------------------------------------------
// Pass 1: shape.

#[derive(Debug, Clone, Copy)]
struct CourseShape {
    prep: u32,
    sessions: u32,
    /// The last session's integration visit is still to come.
    pending: bool,
}

#[derive(Debug, Clone)]
struct Shape {
    /// Earlier course first, current course last.
    courses: Vec<CourseShape>,
    /// Psychotherapy notes written after a preparation or integration visit.
    psy_attached: u32,
    /// Weekly psychotherapy notes before the (first) course began.
    psy_before: u32,
}

/// A full course for `r` notes: preparation notes fix the parity, sessions take the rest.
fn complete_course(r: u32, want_prep: u32) -> CourseShape {
    if r <= 3 {
        return CourseShape {
            prep: r,
            sessions: 0,
            pending: false,
        };
    }
    let mut prep = want_prep.clamp(1, 3);
    if (r - prep) % 2 == 1 {
        prep = if prep == 3 { 2 } else { prep + 1 };
    }
    CourseShape {
        prep,
        sessions: (r - prep) / 2,
        pending: false,
    }
}

/// Spends exactly `n` notes. Each session costs two notes (session and integration), except a
/// latest session whose integration visit is still to come.
fn shape(n: u32, p: &Profile) -> Shape {
    let mut psy = if p.therapy && n >= 4 {
        ((f64::from(n) * p.psy_fraction).round() as u32).max(1)
    } else {
        0
    };
    let r = n - psy;
    let mut before = 0;
    let mut courses = Vec::with_capacity(2);
    match p.stage {
        Stage::JustScreened => {
            // A patient still in preparation: anything beyond it is their earlier therapy.
            let prep = p.prep_count.min(r);
            before = r - prep;
            courses.push(CourseShape {
                prep,
                sessions: 0,
                pending: false,
            });
        }
        Stage::MidInduction { done } => {
            let prep = p.prep_count.min(r);
            let rest = r - prep;
            let pending = p.pending_integration;
            let need = 2 * done - u32::from(pending);
            if rest <= need {
                // Truncate: fewer sessions, keeping the chronology.
                courses.push(CourseShape {
                    prep,
                    sessions: rest.div_ceil(2),
                    pending: rest % 2 == 1,
                });
            } else {
                // More notes than one part-course holds: a returning patient, re-induced after a
                // relapse, with the earlier course behind them.
                let surplus = rest - need;
                if surplus >= 6 {
                    courses.push(complete_course(surplus, p.prior_prep_count));
                } else {
                    before = surplus;
                }
                courses.push(CourseShape {
                    prep,
                    sessions: done,
                    pending,
                });
            }
        }
        Stage::Maintenance | Stage::Finished => courses.push(complete_course(r, p.prep_count)),
    }
    // Psychotherapy notes attach to preparation and integration visits; any beyond those become
    // earlier therapy sessions.
    let hosts: u32 = courses
        .iter()
        .map(|c| c.prep + c.sessions - u32::from(c.pending))
        .sum();
    if psy > hosts {
        before += psy - hosts;
        psy = hosts;
    }
    Shape {
        courses,
        psy_attached: psy,
        psy_before: before,
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 2: plan.

#[derive(Debug, Clone)]
struct PrepSlot {
    course: usize,
    nth: u32,
    at: Timestamp,
}

/// When each part of a dosing session happens.
#[derive(Debug, Clone)]
pub(super) struct SessionSlot {
    pub course: usize,
    /// Session number within its course, from 1.
    pub number: u32,
    pub arrive: Timestamp,
    pub t0: Timestamp,
    pub discharge: Timestamp,
    pub note_at: Timestamp,
    pub integration: Option<Timestamp>,
    pub high_bp: bool,
    pub bp_rise: bool,
}

#[derive(Debug, Clone)]
struct Plan {
    courses: Vec<CourseShape>,
    preps: Vec<PrepSlot>,
    sessions: Vec<SessionSlot>,
    psychotherapy: Vec<Timestamp>,
}

struct DaySession {
    course: usize,
    number: u32,
    day: i32,
    arrive: u32,
    wait: i64,
    observe: i64,
    note_delay: i64,
    integration: Option<(i32, u32)>,
}

fn range32(rng: &mut SeededRng, lo: i64, hi: i64) -> i32 {
    rng.range(lo, hi) as i32
}

fn minute(rng: &mut SeededRng, from_h: i64, to_h: i64) -> u32 {
    // Appointments start on the quarter hour.
    (rng.range(from_h * 4, to_h * 4) * 15) as u32
}

fn plan(shape: &Shape, p: &Profile, cal: &Calendar, rng: &mut SeededRng) -> Plan {
    let mut day = 0i32;
    let mut last_day = 0i32;
    let mut therapy: Vec<(i32, u32)> = Vec::new();
    for i in 0..shape.psy_before {
        if i > 0 {
            day += if rng.chance(0.1) {
                14
            } else {
                range32(rng, 6, 8)
            };
        }
        therapy.push((day, minute(rng, 10, 17)));
        last_day = day;
    }
    if shape.psy_before > 0 {
        day += range32(rng, 3, 10);
    }

    let mut preps: Vec<(usize, u32, i32, u32)> = Vec::new();
    let mut sessions: Vec<DaySession> = Vec::new();
    let observe_max = if p.protocol == profile::Protocol::Esketamine {
        165
    } else {
        180
    };
    for (ci, c) in shape.courses.iter().enumerate() {
        if ci > 0 {
            // Months of wellness before the relapse that brings the patient back.
            day = last_day + range32(rng, 90, 240);
        }
        for k in 0..c.prep {
            if k > 0 {
                day += range32(rng, 4, 10);
            }
            preps.push((ci, k + 1, day, minute(rng, 9, 16)));
            last_day = day;
        }
        if c.prep > 0 && c.sessions > 0 {
            day += range32(rng, 3, 10);
        }
        for s in 0..c.sessions {
            let number = s + 1;
            let last = number == c.sessions;
            let gap = if last {
                0
            } else {
                p.protocol.gap_after(number, p.esk_interval, rng)
            };
            // Integration 1-7 days after the session, before the next one.
            let integration = if last && c.pending {
                None
            } else {
                let max_day = if last { 7 } else { (gap - 1).clamp(1, 7) };
                Some((
                    day + range32(rng, 1, i64::from(max_day)),
                    minute(rng, 12, 17),
                ))
            };
            sessions.push(DaySession {
                course: ci,
                number,
                day,
                arrive: minute(rng, 8, 11),
                wait: rng.range(15, 30),
                observe: rng.range(120, observe_max),
                note_delay: rng.range(10, 40),
                integration,
            });
            last_day = last_day.max(day).max(integration.map_or(day, |(d, _)| d));
            day += gap;
        }
    }

    // Shift everything so the course's recent end sits just before the anchor.
    let pending_last = shape.courses.last().is_some_and(|c| c.pending);
    let end = match p.stage {
        Stage::JustScreened => -range32(rng, 1, 6),
        Stage::MidInduction { .. } if pending_last => -range32(rng, 1, 3),
        Stage::MidInduction { .. } => -range32(rng, 1, 4),
        Stage::Maintenance => -range32(rng, 1, 10),
        Stage::Finished => -range32(rng, 45, 200),
    };
    let shift = end - last_day;

    // Psychotherapy notes written after some preparation and integration visits.
    let mut hosts: Vec<(i32, u32)> = preps.iter().map(|&(_, _, d, m)| (d, m)).collect();
    hosts.extend(sessions.iter().filter_map(|s| s.integration));
    for i in 0..(shape.psy_attached as usize).min(hosts.len()) {
        let j = i + rng.below((hosts.len() - i) as u64) as usize;
        hosts.swap(i, j);
        let (d, m) = hosts[i];
        therapy.push((d, m + rng.range(55, 70) as u32));
    }

    let n_sessions = sessions.len();
    let session_slots = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let arrive = cal.at(s.day + shift, s.arrive);
            let t0 = plus(arrive, s.wait);
            let discharge = plus(t0, s.observe);
            let latest = i + 1 == n_sessions;
            SessionSlot {
                course: s.course,
                number: s.number,
                arrive,
                t0,
                discharge,
                note_at: plus(discharge, s.note_delay),
                integration: s.integration.map(|(d, m)| cal.at(d + shift, m)),
                high_bp: (latest && p.force_high_bp) || rng.chance(0.04),
                bp_rise: (latest && p.force_bp_rise) || rng.chance(0.02),
            }
        })
        .collect();
    let mut psychotherapy: Vec<Timestamp> = therapy
        .into_iter()
        .map(|(d, m)| cal.at(d + shift, m))
        .collect();
    psychotherapy.sort();
    Plan {
        courses: shape.courses.clone(),
        preps: preps
            .into_iter()
            .map(|(course, nth, d, m)| PrepSlot {
                course,
                nth,
                at: cal.at(d + shift, m),
            })
            .collect(),
        sessions: session_slots,
        psychotherapy,
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 3: records.

/// How one course's scores move.
struct CourseScores {
    trajectory: Trajectory,
    phq: (u8, u8),
    gad: (u8, u8),
}

/// Where a measure was taken.
#[derive(Debug, Clone, Copy)]
enum Host {
    Prep(usize),
    Integration(usize),
    Session(usize),
    Alone,
}

struct MeasureSlot {
    at: Timestamp,
    course: usize,
    /// How far through the induction (0 baseline, 1 finished).
    progress: f64,
    host: Host,
}

/// A score on a trajectory: a fast early drop (typical of ketamine), noise, and once the
/// induction is done, a value that keeps the trajectory's meaning (a remitter stays below 5).
fn score_at(
    c: &CourseScores,
    (base, end): (u8, u8),
    progress: f64,
    max: u8,
    rng: &mut SeededRng,
) -> u8 {
    if progress <= 0.0 {
        return base;
    }
    let (b, e) = (i64::from(base), i64::from(end));
    let ease = 1.0 - (1.0 - progress.min(1.0)).powi(2);
    let mut v = b + ((e - b) as f64 * ease).round() as i64 + rng.range(-1, 1);
    if progress >= 1.0 {
        v = match c.trajectory {
            Trajectory::Remitter => v.clamp(0, 4),
            Trajectory::Responder => v.clamp(5.min(b / 2), b / 2),
            Trajectory::Partial | Trajectory::NonResponder => v.clamp(b / 2 + 1, b.max(b / 2 + 1)),
        };
    }
    v.clamp(0, i64::from(max)) as u8
}

/// Item responses summing to `total`, with item 9 (PHQ-9 only) fixed to `item9`.
fn items_for(total: u8, count: usize, item9: Option<u8>, rng: &mut SeededRng) -> Vec<u8> {
    let mut items = vec![0u8; count];
    let free = if item9.is_some() { count - 1 } else { count };
    let fixed = item9.unwrap_or(0).min(3);
    if let Some(last) = items.last_mut()
        && item9.is_some()
    {
        *last = fixed;
    }
    let mut left = total.saturating_sub(fixed).min(3 * free as u8);
    while left > 0 {
        let i = rng.below(free as u64) as usize;
        if items[i] < 3 {
            items[i] += 1;
            left -= 1;
        }
    }
    items
}

/// Plans for the current course's goals: which intention, how it ends, how many of the course's
/// sessions it covers.
struct GoalPlan {
    intention: &'static Intention,
    status: GoalStatus,
    cut: usize,
}

fn goal_plans(p: &Profile, course_sessions: usize, rng: &mut SeededRng) -> Vec<GoalPlan> {
    p.intentions
        .iter()
        .map(|&intention| {
            let status = if p.stage == Stage::Finished {
                *rng.pick(&[
                    GoalStatus::Achieved,
                    GoalStatus::Achieved,
                    GoalStatus::Paused,
                    GoalStatus::Dropped,
                ])
            } else if course_sessions >= 4 && rng.chance(0.3) {
                if rng.chance(0.5) {
                    GoalStatus::Achieved
                } else {
                    GoalStatus::Paused
                }
            } else {
                GoalStatus::Active
            };
            // A goal that was reached stays with the course to its end; one paused or dropped
            // stops being reviewed part-way.
            let cut = match status {
                GoalStatus::Active => course_sessions,
                GoalStatus::Achieved if p.stage == Stage::Finished => course_sessions,
                _ => (course_sessions * rng.range(50, 90) as usize / 100)
                    .max(1)
                    .min(course_sessions),
            };
            GoalPlan {
                intention,
                status,
                cut,
            }
        })
        .collect()
}

fn domain(name: &str) -> LifeDomain {
    LifeDomain::from(name.to_owned())
}

/// When a note is signed: usually within a few hours, sometimes during the next working day,
/// now and then a few days later.
fn signing_time(cal: &Calendar, at: Timestamp, rng: &mut SeededRng) -> Timestamp {
    match rng.below(20) {
        0 => {
            let days = rng.range(2, 4);
            cal.days_after(at, days, minute(rng, 8, 17))
        }
        1..=5 => cal.days_after(at, 1, minute(rng, 8, 17)),
        _ => plus(at, rng.range(15, 180)),
    }
}

/// Generates every record of patient `index`: the patient first, then the timeline in order.
pub(super) fn generate(spec: &DemoSpec, index: u32) -> Vec<Record> {
    let mut rng = patient_rng(spec.seed, index);
    let cal = Calendar::new(spec.anchor, &spec.tz);
    let mut profile = profile::draw(index, spec.seed, spec.anchor, &mut rng);
    let n = spec.notes_per_patient.min(MAX_NOTES_PER_PATIENT);
    let shape = shape(n, &profile);
    let plan = plan(&shape, &profile, &cal, &mut rng);

    // A long history must not start before the patient was an adult.
    let first_at = [
        plan.preps.first().map(|x| x.at),
        plan.psychotherapy.first().copied(),
    ]
    .into_iter()
    .flatten()
    .min();
    if let (Some(first), Some(born)) = (first_at, profile.patient.born)
        && let Ok(adult) = cal.local(first).date().checked_sub(18.years())
        && born > adult
    {
        profile.patient.born = adult.checked_sub(rng.range(0, 3000).days()).ok();
        // Older now: the relatives named must fit the new age too.
        if let Some(a) = profile.patient.age_on(spec.anchor) {
            profile.voice.age = i64::from(a);
        }
    }
    if plan.courses.len() > 1 {
        profile.patient.tags.push("re-induction".to_owned());
    }
    if !plan.psychotherapy.is_empty() {
        profile.patient.tags.push("psychotherapy".to_owned());
    }

    let patient = profile.patient.id.clone();
    let pid = patient.as_str().to_owned();
    let mut ctx = Ctx {
        cal: &cal,
        profile: &profile,
        rng: &mut rng,
    };
    let last_course = plan.courses.len().saturating_sub(1);

    // Course score trajectories: an earlier course went well (and then relapsed); the current
    // one follows the profile.
    let scores: Vec<CourseScores> = (0..plan.courses.len())
        .map(|ci| {
            if ci == last_course {
                CourseScores {
                    trajectory: profile.trajectory,
                    phq: (profile.phq_base, profile.phq_end),
                    gad: (profile.gad_base, profile.gad_end),
                }
            } else {
                let t = if ctx.rng.chance(0.5) {
                    Trajectory::Responder
                } else {
                    Trajectory::Remitter
                };
                let phq = ctx.rng.range(14, 23) as u8;
                let gad = ctx.rng.range(10, 18) as u8;
                CourseScores {
                    trajectory: t,
                    phq: (phq, end_score(t, phq, ctx.rng)),
                    gad: (gad, end_score(t, gad, ctx.rng)),
                }
            }
        })
        .collect();

    // Sessions.
    let session_ids: Vec<RecordId> = (0..plan.sessions.len())
        .map(|i| rid(&format!("{pid}-s{:02}", i + 1)))
        .collect();
    let mut dose = DoseState::default();
    let mut sessions: Vec<_> = plan
        .sessions
        .iter()
        .zip(&session_ids)
        .map(|(slot, id)| session::dosing_session(&mut ctx, slot, id.clone(), &patient, &mut dose))
        .collect();

    // Measures: baseline at the first preparation visit, after sessions 2, 4, 6 (and 8 for
    // esketamine) at the integration visit, then monthly before a booster.
    let induction = profile.protocol.induction_len();
    let mut slots: Vec<MeasureSlot> = Vec::new();
    for ci in 0..plan.courses.len() {
        let mut last = None;
        if let Some(i) = plan.preps.iter().position(|x| x.course == ci) {
            let at = plus(plan.preps[i].at, -25);
            slots.push(MeasureSlot {
                at,
                course: ci,
                progress: 0.0,
                host: Host::Prep(i),
            });
            last = Some(at);
        }
        for (si, s) in plan.sessions.iter().enumerate() {
            if s.course != ci {
                continue;
            }
            let progress = f64::from(s.number) / f64::from(induction);
            if s.number <= induction && s.number % 2 == 0 {
                if let Some(at) = s.integration {
                    let at = plus(at, -15);
                    slots.push(MeasureSlot {
                        at,
                        course: ci,
                        progress,
                        host: Host::Integration(si),
                    });
                    last = Some(at);
                }
            } else if s.number > induction
                && last.is_none_or(|l| s.arrive.duration_since(l).as_hours() >= 28 * 24)
            {
                let at = plus(s.arrive, 5);
                slots.push(MeasureSlot {
                    at,
                    course: ci,
                    progress: 1.0,
                    host: Host::Session(si),
                });
                last = Some(at);
            }
        }
    }
    if slots.is_empty() {
        // No notes at all: the screening questionnaires are still on file.
        let day = -range32(ctx.rng, 3, 20);
        slots.push(MeasureSlot {
            at: cal.at(day, 600),
            course: last_course,
            progress: 0.0,
            host: Host::Alone,
        });
    }
    slots.sort_by_key(|m| m.at);
    let mut measures: Vec<Measure> = Vec::with_capacity(slots.len() * 2);
    let mut prep_scores: Vec<Option<Scores>> = vec![None; plan.preps.len()];
    let mut integration_scores: Vec<Option<Scores>> = vec![None; plan.sessions.len()];
    for (ordinal, m) in slots.iter().enumerate() {
        let c = &scores[m.course.min(scores.len().saturating_sub(1))];
        let last = ordinal + 1 == slots.len();
        let item9 = profile
            .item9
            .filter(|i| i.at_measure == ordinal || (i.at_measure == usize::MAX && last))
            .map_or(0, |i| i.value);
        let phq = score_at(c, c.phq, m.progress, 27, ctx.rng).max(item9);
        let gad = score_at(c, c.gad, m.progress, 21, ctx.rng);
        let session = match m.host {
            Host::Session(si) => Some(session_ids[si].clone()),
            _ => None,
        };
        // The totals quoted in notes are the items' sums, so note and measure always agree.
        let mut totals = [0u8; 2];
        for (k, (instrument, total, count, i9)) in [
            (Instrument::Phq9, phq, 9, Some(item9)),
            (Instrument::Gad7, gad, 7, None),
        ]
        .into_iter()
        .enumerate()
        {
            let items = items_for(total, count, i9, ctx.rng);
            totals[k] = items.iter().sum();
            measures.push(Measure {
                id: rid(&format!("{pid}-m{:02}", measures.len() + 1)),
                patient: patient.clone(),
                instrument,
                at: m.at,
                items,
                entered_total: None,
                session: session.clone(),
            });
        }
        let s = Scores {
            phq: totals[0],
            gad: totals[1],
            item9,
        };
        match m.host {
            Host::Prep(i) => prep_scores[i] = Some(s),
            Host::Integration(si) => integration_scores[si] = Some(s),
            Host::Session(_) | Host::Alone => {}
        }
    }

    // Goals come from the current course's intentions.
    let course_sessions: Vec<usize> = (0..plan.sessions.len())
        .filter(|&i| plan.sessions[i].course == last_course)
        .collect();
    let has_source = plan.preps.iter().any(|x| x.course == last_course);
    let goal_plans = if has_source {
        goal_plans(&profile, course_sessions.len(), ctx.rng)
    } else {
        Vec::new()
    };

    // Notes, in time order so their ids count up with the record.
    #[derive(Clone, Copy)]
    enum What {
        Prep(usize),
        Session(usize),
        Integration(usize),
        Psychotherapy,
    }
    let mut order: Vec<(Timestamp, What)> = Vec::with_capacity(n as usize);
    order.extend(
        plan.preps
            .iter()
            .enumerate()
            .map(|(i, x)| (x.at, What::Prep(i))),
    );
    for (i, s) in plan.sessions.iter().enumerate() {
        order.push((s.note_at, What::Session(i)));
        if let Some(at) = s.integration {
            order.push((at, What::Integration(i)));
        }
    }
    order.extend(
        plan.psychotherapy
            .iter()
            .map(|&at| (at, What::Psychotherapy)),
    );
    order.sort_by_key(|(at, _)| *at);

    // Ids first: goals name their source note and check-ins their integration visit, and the
    // integration notes quote the check-ins made at them.
    let note_ids: Vec<RecordId> = (0..order.len())
        .map(|k| rid(&format!("{pid}-n{:03}", k + 1)))
        .collect();
    let mut prep_note_ids: Vec<Option<RecordId>> = vec![None; plan.preps.len()];
    let mut integration_ids: Vec<Option<(RecordId, Timestamp)>> = vec![None; plan.sessions.len()];
    for ((at, what), id) in order.iter().zip(&note_ids) {
        match *what {
            What::Prep(i) => prep_note_ids[i] = Some(id.clone()),
            What::Integration(i) => integration_ids[i] = Some((id.clone(), *at)),
            What::Session(_) | What::Psychotherapy => {}
        }
    }

    // Goals and their check-ins on the 24 h / 72 h / 1 week / 2 weeks / 1 month / 3 months
    // cadence after each session.
    let mut goals: Vec<IntegrationGoal> = Vec::with_capacity(goal_plans.len());
    // For each session, the check-ins recorded at its integration visit: (goal, line).
    let mut at_visit: Vec<Vec<(usize, String)>> = vec![Vec::new(); plan.sessions.len()];
    let source = plan
        .preps
        .iter()
        .position(|x| x.course == last_course)
        .and_then(|i| prep_note_ids[i].clone().map(|id| (id, plan.preps[i].at)));
    if let Some((source_id, set_at)) = source {
        for (gi, gp) in goal_plans.iter().enumerate() {
            let covered = &course_sessions[..gp.cut.min(course_sessions.len())];
            let check_ins = check_ins(
                &mut ctx,
                gp,
                covered,
                course_sessions.last().copied(),
                &plan.sessions,
                &integration_ids,
                &spec.tz,
            );
            for c in &check_ins {
                let Some(nid) = &c.integration_note else {
                    continue;
                };
                if let Some(si) = covered.iter().copied().find(|&si| {
                    integration_ids[si]
                        .as_ref()
                        .is_some_and(|(id, _)| id == nid)
                }) {
                    let line = if c.note.is_empty() {
                        format!("progress {}/10.", c.progress)
                    } else {
                        format!("{} Progress {}/10.", c.note, c.progress)
                    };
                    at_visit[si].push((gi, line));
                }
            }
            let target_date = ctx
                .rng
                .chance(0.5)
                .then(|| cal.local(set_at).date().checked_add(90.days()).ok())
                .flatten();
            goals.push(IntegrationGoal {
                id: rid(&format!("{pid}-g{}", gi + 1)),
                patient: patient.clone(),
                at: set_at,
                title: gp.intention.title.to_owned(),
                domain: domain(gp.intention.domain),
                status: gp.status,
                target_date,
                source_note: Some(source_id.clone()),
                sessions: covered.iter().map(|&i| session_ids[i].clone()).collect(),
                check_ins,
            });
        }
    }

    let mut notes: Vec<(Note, Option<SessionFacts>)> = Vec::with_capacity(order.len());
    for ((at, what), id) in order.into_iter().zip(note_ids) {
        let note = match what {
            What::Prep(i) => {
                let slot = &plan.preps[i];
                let intentions = if slot.course == last_course {
                    &profile.intentions
                } else {
                    &profile.prior_intentions
                };
                let pc = PrepContext {
                    nth: slot.nth,
                    reinduction: slot.course > 0,
                    intentions,
                    scores: prep_scores[i],
                };
                (
                    notes::preparation_note(&mut ctx, id, &patient, at, &pc),
                    None,
                )
            }
            What::Session(i) => {
                let (note, facts) = session::session_note(&mut ctx, &sessions[i], id, at);
                (note, Some(facts))
            }
            What::Integration(i) => {
                let slot = &plan.sessions[i];
                // The current course reviews its goals (with what was recorded at this visit);
                // an earlier course's notes speak of that course's intentions.
                let goals: Vec<(&'static str, Option<String>)> = if slot.course == last_course {
                    let pos = course_sessions.iter().position(|&x| x == i).unwrap_or(0);
                    goal_plans
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| g.cut > pos)
                        .map(|(gi, g)| {
                            let line = at_visit[i].iter().find(|(x, _)| *x == gi).map_or_else(
                                || "not reviewed at this visit.".to_owned(),
                                |(_, l)| l.clone(),
                            );
                            (g.intention.title, Some(line))
                        })
                        .collect()
                } else {
                    profile
                        .prior_intentions
                        .iter()
                        .map(|i| (i.title, None))
                        .collect()
                };
                let ic = IntegrationContext {
                    session: session_ids[i].clone(),
                    number: slot.number,
                    goals: &goals,
                    scores: integration_scores[i],
                };
                (
                    notes::integration_note(&mut ctx, id, &patient, at, &ic),
                    None,
                )
            }
            What::Psychotherapy => (notes::psychotherapy_note(&mut ctx, id, &patient, at), None),
        };
        notes.push(note);
    }

    sign_notes(&mut ctx, &spec.clinician, &mut notes);
    // A session is signed with its session note, as the app does it.
    for (note, _) in &notes {
        if let (Some(sid), Some(by), Some(at)) = (&note.session, &note.signed_by, note.signed_at)
            && note.kind == NoteKind::Session
            && let Some(s) = sessions.iter_mut().find(|s| &s.id == sid)
            && !s.is_signed()
        {
            s.signed_by = Some(by.clone());
            s.signed_at = Some(at);
        }
    }

    // Mid-induction, the next dose is booked for the anchor day: the only record on that day,
    // planned (no dose, not ended), so Today has sessions to show.
    let planned = match (profile.stage, sessions.last()) {
        (Stage::MidInduction { .. }, Some(last)) if !profile.patient.archived => {
            let minute = [16 * 60, 16 * 60 + 30, 17 * 60][ctx.rng.below(3) as usize];
            let mut booked = DosingSession {
                number: last.number.map(|n| n + 1),
                protocol: last.protocol.clone(),
                ..DosingSession::new(
                    rid(&format!("{pid}-s{:02}", sessions.len() + 1)),
                    patient.clone(),
                    cal.at(0, minute),
                    &last.medication,
                    last.route,
                )
            };
            // Booked at the dose the last session gave.
            booked.dose_mg = last.dose_mg;
            booked.dose_mg_per_kg = last.dose_mg_per_kg;
            booked.weight_kg = last.weight_kg;
            Some(booked)
        }
        _ => None,
    };

    let mut timeline: Vec<Record> =
        Vec::with_capacity(notes.len() + sessions.len() + measures.len() + goals.len() + 2);
    timeline.extend(notes.into_iter().map(|(n, _)| Record::Note(n)));
    timeline.extend(sessions.into_iter().map(Record::Session));
    timeline.extend(measures.into_iter().map(Record::Measure));
    timeline.extend(goals.into_iter().map(Record::Goal));
    timeline.extend(
        course_records(&plan, &patient, &spec.clinician, induction)
            .into_iter()
            .map(Record::Course),
    );
    if let Some(first) = timeline.iter().filter_map(Record::at).min() {
        timeline.extend(
            super::lists::list_records(
                &patient,
                profile.patient.born,
                first,
                spec.anchor,
                &spec.clinician,
                &spec.tz,
            )
            .into_iter()
            .map(Record::ListEntry),
        );
    }
    // Stable: records at the same instant keep kind order (note, session, measure, goal, course,
    // list entry).
    timeline.sort_by_key(|r| r.at());
    timeline.extend(planned.map(Record::Session));
    let mut out = Vec::with_capacity(timeline.len() + 1);
    out.push(Record::Patient(profile.patient.clone()));
    out.extend(timeline);
    out
}

/// The clinician starts each course at its first visit (the assessment, else the first session):
/// an induction, and after the months of wellness a re-induction with its reason. Drawn from the
/// plan alone (no random numbers), so the rest of the demo is the same as without them.
fn course_records(
    plan: &Plan,
    patient: &PatientId,
    clinician: &str,
    induction: u32,
) -> Vec<Course> {
    let mut out: Vec<Course> = Vec::new();
    let mut last_dose: Option<Timestamp> = None;
    for ci in 0..plan.courses.len() {
        let first_prep = plan
            .preps
            .iter()
            .filter(|p| p.course == ci)
            .map(|p| p.at)
            .min();
        let first_session = plan
            .sessions
            .iter()
            .filter(|s| s.course == ci)
            .map(|s| s.arrive)
            .min();
        let Some(at) = first_prep.or(first_session) else {
            continue;
        };
        let (kind, reason) = match last_dose {
            None => (CourseKind::Induction, String::new()),
            Some(d) => {
                let months = at.duration_since(d).as_hours() / (24 * 30);
                (
                    CourseKind::Reinduction,
                    format!("Relapse after {months} months without a dose"),
                )
            }
        };
        out.push(Course {
            id: rid(&format!("{}-c{}", patient.as_str(), ci + 1)),
            patient: patient.clone(),
            at,
            kind,
            by: clinician.to_owned(),
            planned_sessions: Some(induction),
            reason,
        });
        last_dose = plan
            .sessions
            .iter()
            .filter(|s| s.course == ci)
            .map(|s| s.t0)
            .max()
            .or(last_dose);
    }
    out
}

/// Signs every note shortly after it was written, except the patient's most recent drafts, and
/// adds the occasional addendum (a dose clarification, a later remark) after the signature.
fn sign_notes(ctx: &mut Ctx<'_>, clinician: &str, notes: &mut [(Note, Option<SessionFacts>)]) {
    let cal = ctx.cal;
    let p = ctx.profile;
    let latest = plus(cal.start, -1);
    let recent = plus(cal.start, -21 * 1440);
    let total = notes.len();
    let drafts = p.drafts as usize;
    for (i, (note, facts)) in notes.iter_mut().enumerate() {
        if i + drafts >= total && note.at >= recent {
            continue;
        }
        let signed_at = signing_time(cal, note.at, ctx.rng).min(latest).max(note.at);
        // Signed the way the app signs: the note's template names the required sections.
        if crate::templates::builtins()
            .sign(note, clinician, signed_at)
            .is_err()
        {
            // Only an empty clinician name gets here (every demo note fills its required
            // sections, which the demo tests prove); the spec check reports it.
            continue;
        }
        let rate = if note.kind == NoteKind::Session {
            p.addendum_rate * 1.3
        } else {
            p.addendum_rate
        };
        let room = latest.duration_since(signed_at).as_mins();
        if room < 180 || !ctx.rng.chance(rate) {
            continue;
        }
        let count = if ctx.rng.chance(0.2) { 2 } else { 1 };
        let mut at = signed_at;
        for _ in 0..count {
            // Addenda come on a later working day when there is room before the anchor.
            let room_days = latest.duration_since(at).as_hours() / 24;
            at = if room_days >= 2 {
                let days = ctx.rng.range(1, (room_days - 1).min(10));
                cal.days_after(at, days, minute(ctx.rng, 8, 17))
            } else {
                plus(at, ctx.rng.range(30, 90))
            }
            .min(latest)
            .max(at);
            let bank = match (note.kind, facts.as_ref()) {
                (NoteKind::Session, Some(f)) if f.devices.is_some() && ctx.rng.chance(0.5) => {
                    text::ADDENDA_ESKETAMINE
                }
                (NoteKind::Session, _) => text::ADDENDA_SESSION,
                (NoteKind::Preparation, _) => text::ADDENDA_PREP,
                _ => text::ADDENDA_OTHER,
            };
            let mut w = Writer {
                rng: &mut *ctx.rng,
                voice: &p.voice,
            };
            let mut template = w.pick(bank).to_owned();
            if let Some(f) = facts {
                template = template
                    .replace("{dose}", &f.dose)
                    .replace("{lot}", &f.lot)
                    .replace("{devices}", &f.devices.unwrap_or(2).to_string());
            }
            let mut text_out = String::new();
            w.fill(&mut text_out, &template);
            if note.add_addendum(&text_out, clinician, at).is_err() {
                break;
            }
        }
    }
}

/// A goal's check-ins after each session it covers. A check-in falls inside a cadence step's
/// window (from its due time to halfway to the next step's, the next session or the anchor),
/// often at the
/// integration visit, which it then names. For a patient whose latest steps are left open, the
/// most recent due step of the latest session has no check-in, so it is due or overdue today.
fn check_ins(
    ctx: &mut Ctx<'_>,
    gp: &GoalPlan,
    covered: &[usize],
    latest_session: Option<usize>,
    sessions: &[SessionSlot],
    integration_ids: &[Option<(RecordId, Timestamp)>],
    tz: &TimeZone,
) -> Vec<CheckIn> {
    let cal = ctx.cal;
    let p = ctx.profile;
    let steps = CadenceStep::DEFAULT;
    let mut times: Vec<(Timestamp, Option<RecordId>)> = Vec::new();
    for &si in covered {
        let s = &sessions[si];
        let next = sessions
            .get(si + 1)
            .map_or(cal.start, |n| n.t0)
            .min(cal.start);
        let due: Vec<Timestamp> = steps.iter().map(|st| st.due_after(s.t0, tz)).collect();
        let open: Vec<usize> = (0..steps.len()).filter(|&i| due[i] < next).collect();
        // Check-ins count per patient (any goal's counts for the step), so the step left open
        // is left open on every goal.
        let skip_last = Some(si) == latest_session && p.leave_due;
        for (k, &i) in open.iter().enumerate() {
            if skip_last && k + 1 == open.len() {
                continue;
            }
            // A check-in counts for the step whose due time is nearest (model::cadence), so it
            // stays before halfway to the next step.
            let end = due
                .get(i + 1)
                .map_or(Timestamp::MAX, |n| {
                    plus(due[i], n.duration_since(due[i]).as_mins() / 2)
                })
                .min(next);
            let linked = integration_ids[si]
                .as_ref()
                .filter(|(_, at)| *at >= due[i] && *at < end);
            if let Some((id, at)) = linked {
                if ctx.rng.chance(0.85) {
                    times.push((*at, Some(id.clone())));
                }
            } else if ctx.rng.chance(0.25) {
                let window = end.duration_since(due[i]).as_mins().max(1);
                let at = plus(due[i], ctx.rng.range(0, (window - 1).min(480)));
                times.push((at, None));
            }
        }
    }
    let n = times.len();
    let start = ctx.rng.range(0, 3);
    let full = match (gp.status, p.trajectory) {
        (GoalStatus::Achieved, _) => ctx.rng.range(9, 10),
        (GoalStatus::Paused, _) => ctx.rng.range(2, 5),
        (GoalStatus::Dropped, _) => ctx.rng.range(0, 3),
        (_, Trajectory::Remitter) => ctx.rng.range(6, 9),
        (_, Trajectory::Responder) => ctx.rng.range(5, 8),
        (_, Trajectory::Partial) => ctx.rng.range(3, 6),
        (_, Trajectory::NonResponder) => ctx.rng.range(1, 4),
    };
    // Part-way through an induction a goal is only part-way to where it is heading.
    let reach = (covered.len() as f64 / f64::from(p.protocol.induction_len())).min(1.0);
    let target = if gp.status == GoalStatus::Achieved {
        full
    } else {
        start + ((full - start) as f64 * reach).round() as i64
    };
    let mut out = Vec::with_capacity(n);
    for (k, (at, link)) in times.into_iter().enumerate() {
        let mut progress = start + (target - start) * (k as i64 + 1) / n as i64;
        if k + 1 < n && ctx.rng.chance(0.35) {
            progress += ctx.rng.range(-1, 1);
        }
        let progress = progress.clamp(0, 10) as u8;
        let note = match ctx.rng.below(10) {
            0 => String::new(),
            1..=5 => {
                // The goal's own lines run from early to late progress; stay near the right one.
                let lines = gp.intention.checkins;
                let i = (usize::from(progress) * lines.len() / 11 + ctx.rng.below(2) as usize)
                    .min(lines.len().saturating_sub(1));
                lines.get(i).copied().unwrap_or_default().to_owned()
            }
            _ => {
                let mut w = Writer {
                    rng: &mut *ctx.rng,
                    voice: &p.voice,
                };
                let mut s = String::new();
                w.sentence(&mut s, text::checkin_lines(progress));
                s
            }
        };
        out.push(CheckIn {
            at,
            progress,
            note,
            integration_note: link,
        });
    }
    out
}

/// The patient id demo patient `index` (0-based) gets.
pub(super) fn patient_id(index: u32) -> PatientId {
    PatientId::parse(&format!("p{:04}", u64::from(index) + 1))
        .unwrap_or_else(|_| PatientId::from_uuid(uuid::Uuid::nil()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoSpec;
    use jiff::civil::date;

    fn notes_of(shape: &Shape) -> u32 {
        let courses: u32 = shape
            .courses
            .iter()
            .map(|c| c.prep + 2 * c.sessions - u32::from(c.pending))
            .sum();
        courses + shape.psy_attached + shape.psy_before
    }

    /// Every stage spends exactly the budget, for every budget up to a few hundred.
    #[test]
    fn the_shape_spends_exactly_the_note_budget() {
        let spec = DemoSpec::new(date(2026, 3, 2));
        for index in 0..24 {
            let mut rng = patient_rng(spec.seed, index);
            let mut p = profile::draw(index, spec.seed, spec.anchor, &mut rng);
            for stage in [
                Stage::JustScreened,
                Stage::MidInduction { done: 2 },
                Stage::MidInduction { done: 5 },
                Stage::Maintenance,
                Stage::Finished,
            ] {
                p.stage = stage;
                for therapy in [false, true] {
                    p.therapy = therapy;
                    for n in 0..=300 {
                        let s = shape(n, &p);
                        assert_eq!(notes_of(&s), n, "{stage:?}, therapy {therapy}, {n} notes");
                        assert!(s.courses.iter().all(|c| c.prep <= 3));
                        // Only the latest course may wait for its integration visit.
                        let early = &s.courses[..s.courses.len() - 1];
                        assert!(early.iter().all(|c| !c.pending));
                    }
                }
            }
        }
    }

    #[test]
    fn a_large_budget_for_a_patient_mid_induction_adds_an_earlier_course() {
        let spec = DemoSpec::new(date(2026, 3, 2));
        let mut rng = patient_rng(spec.seed, 0);
        let mut p = profile::draw(0, spec.seed, spec.anchor, &mut rng);
        p.stage = Stage::MidInduction { done: 3 };
        p.therapy = false;
        let s = shape(100, &p);
        assert_eq!(s.courses.len(), 2);
        assert_eq!(s.courses[1].sessions, 3);
        assert!(s.courses[0].sessions > 30);
    }

    #[test]
    fn item_responses_sum_to_the_total_and_respect_item_9() {
        let mut rng = SeededRng::new(5);
        for total in 0..=27u8 {
            for item9 in 0..=3u8 {
                let items = items_for(total, 9, Some(item9), &mut rng);
                assert_eq!(items[8], item9);
                assert!(items.iter().all(|v| *v <= 3));
                let sum: u8 = items.iter().sum();
                assert_eq!(sum, total.max(item9).min(24 + item9));
            }
        }
        for total in 0..=21u8 {
            let items = items_for(total, 7, None, &mut rng);
            assert_eq!(items.iter().sum::<u8>(), total);
        }
    }
}
