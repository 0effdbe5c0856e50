//! A patient's agenda: the few facts of their records that Today and the drafts list read, kept
//! small so that a whole caseload's agendas are read in milliseconds (the store keeps one per
//! patient, changed in the same write as the records: `store::agenda`).
//!
//! Nothing here depends on the clock: what a moment makes due (a check-in, a session of the
//! day) is worked out when the list is made ([`crate::model::today::Today::add_agenda`]), from
//! the dates kept here. [`Agenda::of`] makes an agenda from the records; [`Agenda::put`] and
//! [`Agenda::remove`] keep one up to date a record at a time, and always give what
//! [`Agenda::of`] gives for the records after the change (`check` proves it, and a test after
//! random writes).

use super::cadence::{self, Cadence, CadenceStep, CheckInState};
use super::course::Course;
use super::goal::{CheckIn, GoalStatus, IntegrationGoal, LifeDomain};
use super::ids::{PatientId, RecordId};
use super::measure::{Instrument, Measure, Score};
use super::note::{Note, NoteKind};
use super::patient::Patient;
use super::record::Record;
use super::session::{DosingSession, Route};
use super::timeline::{PatientRecords, session_summary};
use super::today::{SessionStage, Today, TodayItem, TodayRow};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// An unsigned note.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftEntry {
    pub id: RecordId,
    pub at: Timestamp,
    pub kind: NoteKind,
    pub title: String,
}

/// A scored PHQ-9 with item 9 above 0, answered or not (that is decided when read).
#[derive(Debug, Clone, PartialEq)]
pub struct Item9Entry {
    pub id: RecordId,
    pub at: Timestamp,
    pub item9: u8,
    pub total: u8,
}

/// A dosing session: when, its dose, and how Today words it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEntry {
    pub id: RecordId,
    pub at: Timestamp,
    pub dose_time: Option<Timestamp>,
    pub summary: String,
    pub stage: SessionStage,
}

/// A goal: when it was set, where it stands, and when it was checked in on.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalEntry {
    pub id: RecordId,
    pub at: Timestamp,
    pub status: GoalStatus,
    pub check_ins: Vec<Timestamp>,
}

/// The part of a patient's agenda the drafts list reads: who, and their unsigned notes.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientDrafts {
    pub patient: PatientId,
    pub name: String,
    pub archived: bool,
    pub drafts: Vec<DraftEntry>,
}

impl From<Agenda> for PatientDrafts {
    fn from(a: Agenda) -> Self {
        Self {
            patient: a.patient,
            name: a.name,
            archived: a.archived,
            drafts: a.drafts,
        }
    }
}

/// What Today and the drafts list need of one patient. Every list is sorted by id, so two
/// agendas of the same records are equal whatever order the records came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Agenda {
    pub patient: PatientId,
    pub name: String,
    pub archived: bool,
    pub drafts: Vec<DraftEntry>,
    /// The latest signing of any of the patient's notes (a signed note never changes again).
    pub last_signed: Option<Timestamp>,
    /// Safety follow-up entries, by id, with when each was made.
    pub follow_ups: Vec<(RecordId, Timestamp)>,
    pub item9: Vec<Item9Entry>,
    pub sessions: Vec<SessionEntry>,
    pub goals: Vec<GoalEntry>,
    pub courses: Vec<Course>,
}

/// Puts `v` in `list` in place of the entry with its id (or removes that entry, for `None`),
/// keeping the list sorted by id.
fn set<T>(list: &mut Vec<T>, id: &RecordId, key: impl Fn(&T) -> &RecordId, v: Option<T>) {
    match (list.binary_search_by(|e| key(e).cmp(id)), v) {
        (Ok(i), Some(v)) => list[i] = v,
        (Ok(i), None) => {
            list.remove(i);
        }
        (Err(i), Some(v)) => list.insert(i, v),
        (Err(_), None) => {}
    }
}

impl Agenda {
    /// The agenda of a patient with no records but themselves.
    pub fn new(patient: &Patient) -> Self {
        Self {
            patient: patient.id.clone(),
            name: patient.name.clone(),
            archived: patient.archived,
            drafts: Vec::new(),
            last_signed: None,
            follow_ups: Vec::new(),
            item9: Vec::new(),
            sessions: Vec::new(),
            goals: Vec::new(),
            courses: Vec::new(),
        }
    }

    /// The agenda of a patient's records.
    pub fn of(r: &PatientRecords) -> Self {
        let mut a = Self::new(&r.patient);
        for n in &r.notes {
            a.put_note(n);
        }
        for s in &r.sessions {
            a.put_session(s);
        }
        for m in &r.measures {
            a.put_measure(m);
        }
        for g in &r.goals {
            a.put_goal(g);
        }
        for f in &r.follow_ups {
            set(
                &mut a.follow_ups,
                &f.id,
                |e| &e.0,
                Some((f.id.clone(), f.at)),
            );
        }
        for c in &r.courses {
            set(&mut a.courses, &c.id, |e| &e.id, Some(c.clone()));
        }
        a
    }

    /// Takes in a record written for this patient: new, or a new version of one already in.
    pub fn put(&mut self, record: &Record) {
        match record {
            Record::Patient(p) => {
                self.patient = p.id.clone();
                self.name = p.name.clone();
                self.archived = p.archived;
            }
            Record::Note(n) => self.put_note(n),
            Record::Session(s) => self.put_session(s),
            Record::Measure(m) => self.put_measure(m),
            Record::Goal(g) => self.put_goal(g),
            Record::SafetyFollowUp(f) => set(
                &mut self.follow_ups,
                &f.id,
                |e| &e.0,
                Some((f.id.clone(), f.at)),
            ),
            Record::Course(c) => set(&mut self.courses, &c.id, |e| &e.id, Some(c.clone())),
            Record::ListEntry(_) => {}
        }
    }

    /// Leaves out a record removed from the store (a discarded draft, a score entered by
    /// mistake). A signed note is never removed, so the latest signing stays.
    pub fn remove(&mut self, id: &str) {
        let Ok(id) = RecordId::parse(id) else {
            return;
        };
        set(&mut self.drafts, &id, |e| &e.id, None);
        set(&mut self.follow_ups, &id, |e| &e.0, None);
        set(&mut self.item9, &id, |e| &e.id, None);
        set(&mut self.sessions, &id, |e| &e.id, None);
        set(&mut self.goals, &id, |e| &e.id, None);
        set(&mut self.courses, &id, |e| &e.id, None);
    }

    fn put_note(&mut self, n: &Note) {
        let draft = (!n.is_signed()).then(|| DraftEntry {
            id: n.id.clone(),
            at: n.at,
            kind: n.kind,
            title: n.title.clone(),
        });
        set(&mut self.drafts, &n.id, |e| &e.id, draft);
        if n.is_signed()
            && let Some(t) = n.signed_at
        {
            self.last_signed = self.last_signed.max(Some(t));
        }
    }

    fn put_session(&mut self, s: &DosingSession) {
        let entry = SessionEntry {
            id: s.id.clone(),
            at: s.at,
            dose_time: s.dose_time,
            summary: session_summary(s),
            stage: SessionStage::of(s),
        };
        set(&mut self.sessions, &s.id, |e| &e.id, Some(entry));
    }

    fn put_measure(&mut self, m: &Measure) {
        let entry = match m.score() {
            Ok(Score::Scored {
                total,
                item9_flag: true,
                ..
            }) if m.instrument == Instrument::Phq9 => m.items.get(8).map(|&item9| Item9Entry {
                id: m.id.clone(),
                at: m.at,
                item9,
                total,
            }),
            _ => None,
        };
        set(&mut self.item9, &m.id, |e| &e.id, entry);
    }

    fn put_goal(&mut self, g: &IntegrationGoal) {
        let entry = GoalEntry {
            id: g.id.clone(),
            at: g.at,
            status: g.status,
            check_ins: g.check_ins.iter().map(|c| c.at).collect(),
        };
        set(&mut self.goals, &g.id, |e| &e.id, Some(entry));
    }

    /// The records the check-in schedule reads, rebuilt from the agenda: the sessions' ids,
    /// times and doses, the goals' times, statuses and check-in times, and the courses. The
    /// course and cadence rules (`course::latest`, `cadence::schedule`) read nothing else of
    /// them, so they give the same schedule as for the whole records.
    fn schedule_records(&self) -> PatientRecords {
        let mut r = PatientRecords::new(Patient::new(self.patient.clone(), self.name.clone()));
        r.sessions = self
            .sessions
            .iter()
            .map(|s| {
                let mut d = DosingSession::new(
                    s.id.clone(),
                    self.patient.clone(),
                    s.at,
                    String::new(),
                    Route::Iv,
                );
                d.dose_time = s.dose_time;
                d
            })
            .collect();
        r.goals = self
            .goals
            .iter()
            .map(|g| IntegrationGoal {
                id: g.id.clone(),
                patient: self.patient.clone(),
                at: g.at,
                title: String::new(),
                domain: LifeDomain::Health,
                status: g.status,
                target_date: None,
                source_note: None,
                sessions: Vec::new(),
                check_ins: g
                    .check_ins
                    .iter()
                    .map(|&at| CheckIn {
                        at,
                        progress: 0,
                        note: String::new(),
                        integration_note: None,
                    })
                    .collect(),
            })
            .collect();
        r.courses = self.courses.clone();
        r
    }

    /// The item-9 answers nothing after them has answered (`safety::unanswered_item9`): no
    /// note signed and no follow-up entry made after the score.
    pub fn unanswered_item9(&self) -> impl Iterator<Item = &Item9Entry> {
        let last_follow_up = self.follow_ups.iter().map(|f| f.1).max();
        self.item9
            .iter()
            .filter(move |m| super::safety::item9_open(self.last_signed, last_follow_up, m.at))
    }
}

impl Today {
    /// Adds one patient's rows (unsorted) from their agenda: what [`Today::add`] gives for
    /// their records.
    pub fn add_agenda(
        &mut self,
        a: &Agenda,
        cadence: &Cadence,
        gap: CadenceStep,
        now: Timestamp,
        tz: &TimeZone,
    ) {
        let date = now.to_zoned(tz.clone()).date();
        // The day's first instant and the next day's: a session is today when it falls between
        // them (compared as instants, not turned into a date in the zone each time).
        let start_of_day = date
            .to_zoned(tz.clone())
            .map_or(Timestamp::MIN, |z| z.timestamp());
        let end_of_day = date
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(tz.clone()).ok())
            .map_or(Timestamp::MAX, |z| z.timestamp());
        let row = |item| TodayRow {
            patient: a.patient.clone(),
            patient_name: a.name.clone(),
            item,
        };
        // Safety and unsigned work stay on the list even for an archived patient.
        for m in a.unanswered_item9() {
            self.follow_ups.push(row(TodayItem::SelfHarmFollowUp {
                measure: m.id.clone(),
                at: m.at,
                item9: m.item9,
                total: m.total,
            }));
        }
        for n in &a.drafts {
            self.drafts.push(row(TodayItem::Draft {
                note: n.id.clone(),
                at: n.at,
                kind: n.kind,
                title: n.title.clone(),
            }));
        }
        if a.archived {
            return;
        }
        for s in &a.sessions {
            if start_of_day <= s.at && s.at < end_of_day {
                self.sessions.push(row(TodayItem::Session {
                    session: s.id.clone(),
                    at: s.at,
                    summary: s.summary.clone(),
                    stage: s.stage,
                }));
            }
        }
        // Check-ins need a dose and an active goal: skip the rebuilding otherwise.
        if !a.sessions.iter().any(|s| s.dose_time.is_some())
            || !a.goals.iter().any(|g| g.status == GoalStatus::Active)
        {
            return;
        }
        // The current course's schedule: its doses, numbered within it.
        let (_, mut course) = super::course::latest(&a.schedule_records(), gap, tz);
        keep_doses_still_open(&mut course, now);
        for c in cadence::schedule(&course, cadence, now, tz) {
            let due_today = c.state == CheckInState::Upcoming && c.due < end_of_day;
            if c.state == CheckInState::Overdue || due_today {
                self.check_ins.push(row(TodayItem::CheckIn(c)));
            }
        }
    }
}

/// Leaves out of a course's records the doses whose cadence is over by `now`: a dose followed
/// by another at or before `now` has no check-in left to do (each of its steps closes by the
/// next dose, and none is due after it), so only the last dose before `now` and any after it
/// can put a check-in on Today. The doses kept keep their numbers and their next dose, and the
/// check-ins stay, so the schedule of what is kept is what the whole course gives for them;
/// most of a long course's schedule is not worked out at every opening of Today.
fn keep_doses_still_open(course: &mut PatientRecords, now: Timestamp) {
    let mut times: Vec<Timestamp> = course.sessions.iter().filter_map(|s| s.dose_time).collect();
    times.sort();
    let Some(first) = (0..times.len()).find(|&k| times.get(k + 1).is_none_or(|n| *n > now)) else {
        return;
    };
    let from = times[first];
    course
        .sessions
        .retain(|s| s.dose_time.is_some_and(|t| t >= from));
}
