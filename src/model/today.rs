//! The Today list: across all patients, what a clinician has to act on today, most urgent first.
//! PHQ-9 answers with item 9 above 0 that nothing after them has answered (a note signed after
//! the score, or a safety follow-up entry: [`super::safety`]), the dosing sessions of
//! the day, check-ins overdue or due today, and unsigned drafts.

use super::cadence::{self, Cadence, CadenceStep, CheckInState, ScheduledCheckIn};
use super::ids::{PatientId, RecordId};
use super::measure::{Measure, Score};
use super::note::NoteKind;
use super::session::DosingSession;
use super::timeline::{PatientRecords, session_summary};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Where a dosing session of the day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Not started: no dose given and not ended.
    Planned,
    /// Dosed and not yet discharged.
    InProgress,
    /// Discharged.
    Ended,
    /// Ended without a dose.
    NotDosed,
}

impl SessionStage {
    pub fn of(s: &DosingSession) -> Self {
        match (s.dose_time.is_some(), s.discharge.is_some()) {
            (false, false) => SessionStage::Planned,
            (true, false) => SessionStage::InProgress,
            (true, true) => SessionStage::Ended,
            (false, true) => SessionStage::NotDosed,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SessionStage::Planned => "planned",
            SessionStage::InProgress => "in progress",
            SessionStage::Ended => "ended",
            SessionStage::NotDosed => "ended, not dosed",
        }
    }
}

/// One thing to act on.
#[derive(Debug, Clone, PartialEq)]
pub enum TodayItem {
    /// A PHQ-9 with item 9 above 0 and no note signed, nor safety follow-up recorded, after it.
    SelfHarmFollowUp {
        measure: RecordId,
        at: Timestamp,
        item9: u8,
        total: u8,
    },
    /// A dosing session dated today.
    Session {
        session: RecordId,
        at: Timestamp,
        summary: String,
        stage: SessionStage,
    },
    /// A check-in of the cadence, overdue or due before the day ends.
    CheckIn(ScheduledCheckIn),
    /// An unsigned note.
    Draft {
        note: RecordId,
        at: Timestamp,
        kind: NoteKind,
        title: String,
    },
}

impl TodayItem {
    /// The record to open for it: the measure, session or note; for a check-in, the session
    /// whose dose started the cadence.
    pub fn record(&self) -> &RecordId {
        match self {
            TodayItem::SelfHarmFollowUp { measure, .. } => measure,
            TodayItem::Session { session, .. } => session,
            TodayItem::CheckIn(c) => &c.session,
            TodayItem::Draft { note, .. } => note,
        }
    }
}

/// An item with its patient.
#[derive(Debug, Clone, PartialEq)]
pub struct TodayRow {
    pub patient: PatientId,
    pub patient_name: String,
    pub item: TodayItem,
}

/// A row in words: when, what, and a remark, as both the Today view and `kitnotes today` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowText {
    pub when: String,
    pub what: String,
    pub remark: String,
}

/// "Thu 19 Nov", or "19 Nov 2025" in another year; without the weekday when `short`.
fn day(at: Timestamp, now: Timestamp, tz: &TimeZone, short: bool) -> String {
    let z = at.to_zoned(tz.clone());
    if z.year() != now.to_zoned(tz.clone()).year() {
        z.strftime("%-d %b %Y").to_string()
    } else if short {
        z.strftime("%-d %b").to_string()
    } else {
        z.strftime("%a %-d %b").to_string()
    }
}

/// How old a draft is, in calendar days in `tz`: "today", "1 day", "9 days". One wording for
/// the drafts list and Today, so one draft has one age.
pub fn draft_age(at: Timestamp, now: Timestamp, tz: &TimeZone) -> (i32, String) {
    let days = (now.to_zoned(tz.clone()).date() - at.to_zoned(tz.clone()).date()).get_days();
    let text = match days {
        i32::MIN..=0 => "today".to_string(),
        1 => "1 day".to_string(),
        d => format!("{d} days"),
    };
    (days, text)
}

/// "3 d", "5 h", "40 min" between two moments, whichever comes first.
pub fn span_text(from: Timestamp, to: Timestamp) -> String {
    let mins = to.duration_since(from).as_mins().abs();
    if mins >= 48 * 60 {
        format!("{} d", mins / (24 * 60))
    } else if mins >= 60 {
        format!("{} h", mins / 60)
    } else {
        format!("{mins} min")
    }
}

impl TodayItem {
    pub fn text(&self, now: Timestamp, tz: &TimeZone) -> RowText {
        let clock = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%H:%M").to_string();
        let (when, what, remark) = match self {
            TodayItem::SelfHarmFollowUp {
                at, item9, total, ..
            } => (
                format!("{} ({})", day(*at, now, tz, true), span_text(*at, now)),
                format!("PHQ-9 {total} · ITEM 9 = {item9}"),
                "no follow-up since".to_string(),
            ),
            TodayItem::Session {
                at, summary, stage, ..
            } => (clock(*at), summary.clone(), stage.label().to_string()),
            TodayItem::CheckIn(c) => (
                match c.state {
                    CheckInState::Overdue => format!("overdue {}", span_text(c.due, now)),
                    _ => format!("due {}", clock(c.due)),
                },
                c.describe(),
                format!("due {}", day(c.due, now, tz, false)),
            ),
            TodayItem::Draft {
                at, kind, title, ..
            } => (
                format!(
                    "{} ({})",
                    day(*at, now, tz, true),
                    draft_age(*at, now, tz).1
                ),
                format!("{} · {title}", kind.label()),
                String::new(),
            ),
        };
        RowText { when, what, remark }
    }
}

/// The four groups' headings, in the order shown.
pub const GROUPS: [&str; 4] = [
    "PHQ-9 item 9 above 0, not yet followed up",
    "Dosing sessions today",
    "Check-ins overdue or due today",
    "Unsigned drafts, oldest first",
];

/// Everything for today, in four groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Today {
    pub follow_ups: Vec<TodayRow>,
    pub sessions: Vec<TodayRow>,
    pub check_ins: Vec<TodayRow>,
    pub drafts: Vec<TodayRow>,
}

impl Today {
    /// The groups in the order shown, with their headings.
    pub fn groups(&self) -> [(&'static str, &[TodayRow]); 4] {
        [
            (GROUPS[0], &self.follow_ups),
            (GROUPS[1], &self.sessions),
            (GROUPS[2], &self.check_ins),
            (GROUPS[3], &self.drafts),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.follow_ups.is_empty()
            && self.sessions.is_empty()
            && self.check_ins.is_empty()
            && self.drafts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.follow_ups.len() + self.sessions.len() + self.check_ins.len() + self.drafts.len()
    }
}

/// PHQ-9 measures with item 9 above 0 that nothing after them has answered: no note signed
/// after the score's time (to the second; a note signed earlier the same day, or the same minute
/// but before, does not count, nor does a draft), and no safety follow-up entry after it. Any
/// signed note counts: the rule cannot read what a note says, and a clinician who signed a note
/// after the answer had it in front of them.
pub fn unfollowed_item9(r: &PatientRecords) -> Vec<&Measure> {
    super::safety::unanswered_item9(r)
}

/// The Today list of the given patients at `now`, with days in `tz`; check-ins follow each
/// patient's current course (its doses, numbered within it), courses split by `gap` where they
/// are not recorded.
pub fn today(
    records: &[PatientRecords],
    cadence: &Cadence,
    gap: CadenceStep,
    now: Timestamp,
    tz: &TimeZone,
) -> Today {
    let mut t = Today::default();
    for r in records {
        t.add(r, cadence, gap, now, tz);
    }
    t.sort();
    t
}

impl Today {
    /// Adds one patient's rows (unsorted), so a caller can read patients one at a time and keep
    /// none of them; [`Today::sort`] puts the rows in order at the end. The rules are
    /// [`Today::add_agenda`]'s, on the patient's agenda.
    pub fn add(
        &mut self,
        r: &PatientRecords,
        cadence: &Cadence,
        gap: CadenceStep,
        now: Timestamp,
        tz: &TimeZone,
    ) {
        self.add_agenda(&super::agenda::Agenda::of(r), cadence, gap, now, tz);
    }

    /// [`Today::add`] from the whole records, the rules applied to them directly rather than
    /// through the patient's agenda: the full scan, kept to prove that Today from the agenda
    /// index is the same list (the tests after random writes, `store::agenda`).
    pub fn add_scanned(
        &mut self,
        r: &PatientRecords,
        cadence: &Cadence,
        gap: CadenceStep,
        now: Timestamp,
        tz: &TimeZone,
    ) {
        let date = now.to_zoned(tz.clone()).date();
        let end_of_day = date
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(tz.clone()).ok())
            .map_or(Timestamp::MAX, |z| z.timestamp());
        let t = self;
        let p = &r.patient;
        let row = |item| TodayRow {
            patient: p.id.clone(),
            patient_name: p.name.clone(),
            item,
        };
        // Safety and unsigned work stay on the list even for an archived patient.
        for m in unfollowed_item9(r) {
            if let Ok(Score::Scored { total, .. }) = m.score() {
                t.follow_ups.push(row(TodayItem::SelfHarmFollowUp {
                    measure: m.id.clone(),
                    at: m.at,
                    item9: m.items[8],
                    total,
                }));
            }
        }
        for n in r.notes.iter().filter(|n| !n.is_signed()) {
            t.drafts.push(row(TodayItem::Draft {
                note: n.id.clone(),
                at: n.at,
                kind: n.kind,
                title: n.title.clone(),
            }));
        }
        if p.archived {
            return;
        }
        for s in &r.sessions {
            if s.at.to_zoned(tz.clone()).date() == date {
                t.sessions.push(row(TodayItem::Session {
                    session: s.id.clone(),
                    at: s.at,
                    summary: session_summary(s),
                    stage: SessionStage::of(s),
                }));
            }
        }
        // The current course's schedule: its doses, numbered within it.
        let (_, course) = super::course::latest(r, gap, tz);
        for c in cadence::schedule(&course, cadence, now, tz) {
            let due_today = c.state == CheckInState::Upcoming && c.due < end_of_day;
            if c.state == CheckInState::Overdue || due_today {
                t.check_ins.push(row(TodayItem::CheckIn(c)));
            }
        }
    }

    /// Puts each group in order: oldest (or soonest) first, then by patient.
    /// Adds `other`'s rows to these (unsorted, as [`Today::add_agenda`] leaves them).
    pub fn append(&mut self, mut other: Today) {
        self.follow_ups.append(&mut other.follow_ups);
        self.sessions.append(&mut other.sessions);
        self.check_ins.append(&mut other.check_ins);
        self.drafts.append(&mut other.drafts);
    }

    pub fn sort(&mut self) {
        let at = |r: &TodayRow| match &r.item {
            TodayItem::SelfHarmFollowUp { at, .. }
            | TodayItem::Session { at, .. }
            | TodayItem::Draft { at, .. } => *at,
            TodayItem::CheckIn(c) => c.due,
        };
        for group in [
            &mut self.follow_ups,
            &mut self.sessions,
            &mut self.check_ins,
            &mut self.drafts,
        ] {
            group.sort_by(|a, b| {
                at(a)
                    .cmp(&at(b))
                    .then_with(|| a.patient_name.cmp(&b.patient_name))
                    .then_with(|| a.item.record().cmp(b.item.record()))
            });
        }
    }
}
