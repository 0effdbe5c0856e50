//! The goal form and the check-in form: what each field takes, how typed text becomes a goal
//! or a check-in, and the messages that say what is wrong and where. Pure: the records and the
//! time come in as arguments, so every rule is tested here without an app.
//!
//! Domain and status are choices cycled with Left/Right; the domain also takes the clinician's
//! own word, typed. Sessions are named by their numbers ("3, 4"), as clinicians say them.

use super::field::TextField;
use crate::model::{
    CheckIn, GoalStatus, IntegrationGoal, LifeDomain, NoteKind, PatientId, PatientRecords, RecordId,
};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The life domains offered, in the order Left/Right cycles them.
pub const DOMAINS: [&str; 5] = ["relationships", "work", "health", "meaning", "self-care"];

/// The statuses a goal can have, in the order Left/Right cycles them.
pub const STATUSES: [GoalStatus; 4] = [
    GoalStatus::Active,
    GoalStatus::Achieved,
    GoalStatus::Paused,
    GoalStatus::Dropped,
];

/// A check-in links to an integration note this recent by default.
const RECENT_INTEGRATION_DAYS: i64 = 7;

/// The fields of the goal form, in the order Tab walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GoalField {
    Title,
    Domain,
    Target,
    Sessions,
    /// Only when editing: a new goal is active.
    Status,
}

impl GoalField {
    pub fn label(self) -> &'static str {
        match self {
            GoalField::Title => "Goal",
            GoalField::Domain => "Life domain",
            GoalField::Target => "Target date",
            GoalField::Sessions => "Sessions",
            GoalField::Status => "Status",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            GoalField::Title => "required: what the patient will do",
            GoalField::Domain => "←/→ choose, or type your own word",
            GoalField::Target => "YYYY-MM-DD, optional",
            GoalField::Sessions => "dosing session numbers, e.g. 3, 4 (optional)",
            GoalField::Status => "←/→ choose",
        }
    }

    /// The fixed choices Left/Right cycle through, if the field has them.
    fn choices(self) -> Option<Vec<&'static str>> {
        match self {
            GoalField::Domain => Some(DOMAINS.to_vec()),
            GoalField::Status => Some(STATUSES.iter().map(|s| s.as_str()).collect()),
            _ => None,
        }
    }
}

/// A new goal (from an intention or from nothing), or an existing goal being edited.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum GoalTarget {
    New {
        patient: PatientId,
        /// The preparation note the intention comes from.
        source_note: Option<RecordId>,
        intention: Option<String>,
    },
    Edit(Box<IntegrationGoal>),
}

/// The goal form. Every field is text while typing and is checked on save.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GoalForm {
    pub target: GoalTarget,
    pub fields: Vec<GoalField>,
    pub values: Vec<TextField>,
    pub focused: usize,
    /// A message per field after a failed save.
    pub errors: Vec<Option<String>>,
    /// The text when the form opened, to tell whether anything was typed.
    initial: Vec<String>,
    /// The clinician's own domain word, kept while Left/Right cycle through the five.
    own_domain: String,
}

impl GoalForm {
    /// A new goal; `title` is the intention it is promoted from, if any.
    pub fn new_goal(patient: PatientId, source_note: Option<RecordId>, title: &str) -> Self {
        let intention = (!title.is_empty() && source_note.is_some()).then(|| title.to_string());
        let fields = vec![
            GoalField::Title,
            GoalField::Domain,
            GoalField::Target,
            GoalField::Sessions,
        ];
        let mut f = Self::with(
            GoalTarget::New {
                patient,
                source_note,
                intention,
            },
            fields,
            vec![
                title.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ],
        );
        // A title not taken from an intention was typed (into the list's filter): it counts as
        // typed, so Esc keeps it.
        if f.intention_title().is_none() {
            f.initial[0] = String::new();
        }
        // With the title already written, the domain is what is left to say.
        if !title.trim().is_empty() {
            f.focused = 1;
        }
        f
    }

    /// Editing `goal`; its sessions are shown by number (`records` holds its patient's sessions).
    pub fn edit(goal: &IntegrationGoal, records: &PatientRecords) -> Self {
        let sessions = goal
            .sessions
            .iter()
            .filter_map(|id| records.sessions.iter().find(|s| &s.id == id))
            .filter_map(|s| s.number)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let values = vec![
            goal.title.clone(),
            goal.domain.as_str().to_string(),
            goal.target_date.map(|d| d.to_string()).unwrap_or_default(),
            sessions,
            goal.status.as_str().to_string(),
        ];
        let mut f = Self::with(
            GoalTarget::Edit(Box::new(goal.clone())),
            vec![
                GoalField::Title,
                GoalField::Domain,
                GoalField::Target,
                GoalField::Sessions,
                GoalField::Status,
            ],
            values,
        );
        if let LifeDomain::Other(own) = &goal.domain {
            f.own_domain = own.clone();
        }
        f
    }

    fn with(target: GoalTarget, fields: Vec<GoalField>, values: Vec<String>) -> Self {
        Self {
            target,
            errors: vec![None; fields.len()],
            values: values.iter().map(|v| TextField::new(v)).collect(),
            fields,
            focused: 0,
            initial: values,
            own_domain: String::new(),
        }
    }

    fn intention_title(&self) -> Option<&str> {
        match &self.target {
            GoalTarget::New { intention, .. } => intention.as_deref(),
            GoalTarget::Edit(_) => None,
        }
    }

    pub fn heading(&self) -> String {
        match &self.target {
            GoalTarget::New {
                intention: Some(_), ..
            } => "New goal from an intention".into(),
            GoalTarget::New { .. } => "New integration goal".into(),
            GoalTarget::Edit(_) => "Edit goal".into(),
        }
    }

    /// The title as typed, for messages.
    pub fn display_title(&self) -> String {
        self.value(GoalField::Title).trim().to_string()
    }

    pub fn patient(&self) -> &PatientId {
        match &self.target {
            GoalTarget::New { patient, .. } => patient,
            GoalTarget::Edit(g) => &g.patient,
        }
    }

    /// Whether `other` is a form for the same goal, or the same intention of the same note.
    pub(super) fn same_target(&self, other: &GoalTarget) -> bool {
        match (&self.target, other) {
            (GoalTarget::Edit(a), GoalTarget::Edit(b)) => a.id == b.id,
            (a @ GoalTarget::New { .. }, b @ GoalTarget::New { .. }) => a == b,
            _ => false,
        }
    }

    pub fn value(&self, f: GoalField) -> &str {
        self.fields
            .iter()
            .position(|x| *x == f)
            .map_or("", |i| self.values[i].text())
    }

    pub fn focused_field(&self) -> GoalField {
        self.fields[self.focused]
    }

    pub(super) fn field(&mut self) -> &mut TextField {
        &mut self.values[self.focused]
    }

    pub fn is_dirty(&self) -> bool {
        self.values
            .iter()
            .zip(&self.initial)
            .any(|(f, v)| f.text() != v)
    }

    pub fn move_focus(&mut self, delta: isize) {
        let n = self.fields.len() as isize;
        self.focused = (self.focused as isize + delta).rem_euclid(n) as usize;
    }

    /// Left/Right on a field with choices: the next (or previous) one. The domain's cycle has
    /// the clinician's own word in it too, so cycling past it never loses it. False when the
    /// focused field has no choices.
    pub fn cycle(&mut self, delta: isize) -> bool {
        let field = self.focused_field();
        let Some(mut choices) = field.choices() else {
            return false;
        };
        let current = self.values[self.focused].text().trim().to_string();
        let is_choice = |c: &str| c.eq_ignore_ascii_case(&current);
        if field == GoalField::Domain
            && !current.is_empty()
            && !choices.iter().any(|c| is_choice(c))
        {
            self.own_domain = current.clone();
        }
        let own = self.own_domain.clone();
        if field == GoalField::Domain && !own.is_empty() {
            choices.push(&own);
        }
        let n = choices.len() as isize;
        let next = match choices.iter().position(|c| is_choice(c)) {
            Some(i) => (i as isize + delta).rem_euclid(n) as usize,
            None if delta > 0 => 0,
            None => (n - 1) as usize,
        };
        self.values[self.focused] = TextField::new(choices[next]);
        self.errors[self.focused] = None;
        true
    }

    pub fn error_count(&self) -> usize {
        self.errors.iter().flatten().count()
    }

    fn set_error(&mut self, f: GoalField, message: String) {
        if let Some(i) = self.fields.iter().position(|x| *x == f) {
            self.errors[i] = Some(message);
        }
    }

    /// Checks every field. On success gives the goal to write (a new one gets `new_id` and
    /// `now`); on failure the messages are set and focus goes to the first bad field. What
    /// was typed is never changed.
    pub fn submit(
        &mut self,
        records: &PatientRecords,
        new_id: RecordId,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Option<IntegrationGoal> {
        self.errors = vec![None; self.fields.len()];
        let mut goal = match &self.target {
            GoalTarget::New {
                patient,
                source_note,
                ..
            } => IntegrationGoal {
                id: new_id,
                patient: patient.clone(),
                at: now,
                title: String::new(),
                domain: LifeDomain::Other(String::new()),
                status: GoalStatus::Active,
                target_date: None,
                source_note: source_note.clone(),
                sessions: Vec::new(),
                check_ins: Vec::new(),
            },
            GoalTarget::Edit(g) => (**g).clone(),
        };
        goal.title = self.value(GoalField::Title).trim().to_string();
        if goal.title.is_empty() {
            self.set_error(
                GoalField::Title,
                "a goal needs a title: what the patient will do".into(),
            );
        }
        match parse_domain(self.value(GoalField::Domain)) {
            Ok(d) => goal.domain = d,
            Err(e) => self.set_error(GoalField::Domain, e),
        }
        let set_on = goal.at.to_zoned(tz.clone()).date();
        let target_text = self.value(GoalField::Target);
        let target_unchanged = self.unchanged(GoalField::Target);
        match parse_target(target_text, set_on) {
            Ok(d) => goal.target_date = d,
            // An old goal keeps the target it has, even if that date has passed.
            Err(_) if target_unchanged => {}
            Err(e) => self.set_error(GoalField::Target, e),
        }
        // Unchanged numbers keep the links as they are: a number can name a session of an
        // earlier course too, and re-resolving it could move the link.
        if !self.unchanged(GoalField::Sessions) {
            match resolve_sessions(self.value(GoalField::Sessions), records) {
                Ok(ids) => goal.sessions = ids,
                Err(e) => self.set_error(GoalField::Sessions, e),
            }
        }
        if self.fields.contains(&GoalField::Status) {
            match parse_status(self.value(GoalField::Status)) {
                Ok(s) => goal.status = s,
                Err(e) => self.set_error(GoalField::Status, e),
            }
        }
        if let Some(first_bad) = self.errors.iter().position(Option::is_some) {
            self.focused = first_bad;
            return None;
        }
        if let Err(e) = goal.validate() {
            let at = match e.field.as_str() {
                "domain" => GoalField::Domain,
                _ => GoalField::Title,
            };
            self.set_error(at, e.message);
            self.focused = self.fields.iter().position(|x| *x == at).unwrap_or(0);
            return None;
        }
        Some(goal)
    }

    fn unchanged(&self, f: GoalField) -> bool {
        self.fields
            .iter()
            .position(|x| *x == f)
            .is_some_and(|i| self.values[i].text() == self.initial[i])
    }
}

/// A life domain: one of the five (any case; "self care" too), or the clinician's own word.
pub fn parse_domain(text: &str) -> Result<LifeDomain, String> {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return Err("a goal needs a life domain: ←/→ choose one, or type your own".into());
    }
    let lower = t.to_lowercase();
    let preset = if lower == "self care" || lower == "selfcare" {
        "self-care".to_string()
    } else {
        lower
    };
    Ok(if DOMAINS.contains(&preset.as_str()) {
        LifeDomain::from(preset)
    } else {
        LifeDomain::Other(t)
    })
}

/// A goal status by its word, or the start of it ("ach", "pau").
pub fn parse_status(text: &str) -> Result<GoalStatus, String> {
    let t = text.trim().to_lowercase();
    let matches: Vec<GoalStatus> = STATUSES
        .into_iter()
        .filter(|s| !t.is_empty() && s.as_str().starts_with(&t))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!(
            "\"{}\" is not a status: ←/→ choose one",
            text.trim()
        )),
    }
}

/// An optional target date, not before the day the goal was set.
pub fn parse_target(text: &str, set_on: Date) -> Result<Option<Date>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let date: Date = t
        .parse()
        .map_err(|_| format!("\"{t}\" is not a date: write it as YYYY-MM-DD"))?;
    if date < set_on {
        return Err(format!("{date} is before the goal is set ({set_on})"));
    }
    Ok(Some(date))
}

/// Session numbers ("3, 4", "3 4") to the patient's dosing sessions. A number used in more than
/// one course (a re-induction starts at 1 again) names the most recent session with it.
pub fn resolve_sessions(text: &str, records: &PatientRecords) -> Result<Vec<RecordId>, String> {
    let mut ids: Vec<RecordId> = Vec::new();
    for token in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let digits = token.trim_start_matches('#');
        let n: u32 = digits
            .parse()
            .map_err(|_| format!("\"{token}\" is not a session number; write numbers like 3, 4"))?;
        let found = records
            .sessions
            .iter()
            .filter(|s| s.number == Some(n))
            .max_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        match found {
            Some(s) if !ids.contains(&s.id) => ids.push(s.id.clone()),
            Some(_) => {}
            None => {
                let numbers = records.sessions.iter().filter_map(|s| s.number);
                let known = match (numbers.clone().min(), numbers.max()) {
                    (Some(lo), Some(hi)) if lo == hi => format!("the only one is {lo}"),
                    (Some(lo), Some(hi)) => format!("they are numbered {lo} to {hi}"),
                    _ => "this patient has no numbered dosing sessions".into(),
                };
                return Err(format!("no dosing session {n}: {known}"));
            }
        }
    }
    Ok(ids)
}

/// What the session numbers typed so far stand for, for the line under the field.
pub fn sessions_preview(text: &str, records: &PatientRecords, tz: &TimeZone) -> Option<String> {
    let ids = resolve_sessions(text, records).ok()?;
    let parts: Vec<String> = ids
        .iter()
        .filter_map(|id| records.sessions.iter().find(|s| &s.id == id))
        .map(|s| {
            format!(
                "{} on {}",
                s.number.map_or("session".into(), |n| format!("#{n}")),
                s.at.to_zoned(tz.clone()).date()
            )
        })
        .collect();
    (!parts.is_empty()).then(|| format!("= {}", parts.join(", ")))
}

/// Progress of a check-in: a whole number from 0 to 10.
pub fn parse_progress(text: &str) -> Result<u8, String> {
    let t = text.trim().trim_end_matches("/10").trim();
    if t.is_empty() {
        return Err("type the progress: 0 (none) to 10 (achieved)".into());
    }
    match t.parse::<u8>() {
        Ok(v) if v <= 10 => Ok(v),
        _ => Err(format!(
            "progress is a whole number from 0 to 10 (got \"{}\")",
            text.trim()
        )),
    }
}

/// An integration note a check-in can point to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NoteChoice {
    pub id: RecordId,
    /// "Integration after session 9 · 2026-11-20".
    pub label: String,
    pub at: Timestamp,
}

/// The check-in form: progress, a one-line note, and the integration note it was discussed in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckInForm {
    pub goal: RecordId,
    pub patient: PatientId,
    pub goal_title: String,
    pub progress: TextField,
    pub note: TextField,
    /// The patient's integration notes, newest first.
    pub notes: Vec<NoteChoice>,
    /// The linked one, by index into `notes`.
    pub link: Option<usize>,
    /// 0 progress, 1 note, 2 the link.
    pub focused: usize,
    pub errors: [Option<String>; 3],
    initial_link: Option<usize>,
}

impl CheckInForm {
    pub const LABELS: [&'static str; 3] = ["Progress", "Note", "Discussed in"];

    /// A check-in on `goal`, linked by default to the newest integration note of the last week.
    pub fn new(
        goal: &IntegrationGoal,
        records: &PatientRecords,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Self {
        let mut notes: Vec<NoteChoice> = records
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Integration && n.at <= now)
            .map(|n| NoteChoice {
                id: n.id.clone(),
                label: format!("{} · {}", n.title, n.at.to_zoned(tz.clone()).date()),
                at: n.at,
            })
            .collect();
        notes.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
        let week_ago = now
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * RECENT_INTEGRATION_DAYS,
            ))
            .unwrap_or(Timestamp::MIN);
        let link = notes.first().filter(|n| n.at >= week_ago).map(|_| 0);
        Self {
            goal: goal.id.clone(),
            patient: goal.patient.clone(),
            goal_title: goal.title.clone(),
            progress: TextField::default(),
            note: TextField::default(),
            notes,
            link,
            focused: 0,
            errors: Default::default(),
            initial_link: link,
        }
    }

    pub fn is_dirty(&self) -> bool {
        !self.progress.text().is_empty()
            || !self.note.text().is_empty()
            || self.link != self.initial_link
    }

    pub fn link_label(&self) -> Option<&str> {
        self.link
            .and_then(|i| self.notes.get(i))
            .map(|n| n.label.as_str())
    }

    pub(super) fn field(&mut self) -> Option<&mut TextField> {
        match self.focused {
            0 => Some(&mut self.progress),
            1 => Some(&mut self.note),
            _ => None,
        }
    }

    pub fn move_focus(&mut self, delta: isize) {
        self.focused = (self.focused as isize + delta).rem_euclid(3) as usize;
    }

    /// Left/Right on the link: the next older or newer integration note, through "none".
    pub fn cycle_link(&mut self, delta: isize) {
        // Positions: 0 = none, 1.. = notes.
        let n = self.notes.len() as isize + 1;
        let at = self.link.map_or(0, |i| i as isize + 1);
        let next = (at + delta).rem_euclid(n);
        self.link = (next > 0).then(|| next as usize - 1);
    }

    /// The check-in to append, or the messages under the bad fields.
    pub fn submit(&mut self, now: Timestamp) -> Option<CheckIn> {
        self.errors = Default::default();
        match parse_progress(self.progress.text()) {
            Ok(progress) => Some(CheckIn {
                at: now,
                progress,
                note: self.note.text().trim().to_string(),
                integration_note: self
                    .link
                    .and_then(|i| self.notes.get(i))
                    .map(|n| n.id.clone()),
            }),
            Err(e) => {
                self.errors[0] = Some(e);
                self.focused = 0;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DosingSession, Note, Patient, Route, Section};
    use jiff::civil::date;

    fn rid(s: &str) -> RecordId {
        RecordId::parse(s).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn records() -> PatientRecords {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        for (id, at, number) in [
            ("s1", "2026-03-01T09:00:00Z", 1),
            ("s2", "2026-03-05T09:00:00Z", 2),
            ("s7", "2026-10-01T09:00:00Z", 1),
        ] {
            r.sessions.push(DosingSession {
                number: Some(number),
                ..DosingSession::new(rid(id), pid.clone(), ts(at), "ketamine", Route::Iv)
            });
        }
        r
    }

    #[test]
    fn session_numbers_name_the_most_recent_session_with_that_number() {
        let r = records();
        assert_eq!(resolve_sessions("1, 2", &r), Ok(vec![rid("s7"), rid("s2")]));
        assert_eq!(resolve_sessions(" #2 2 ", &r), Ok(vec![rid("s2")]));
        assert_eq!(resolve_sessions("", &r), Ok(vec![]));
        assert_eq!(
            resolve_sessions("2, 9", &r),
            Err("no dosing session 9: they are numbered 1 to 2".into())
        );
        assert!(
            resolve_sessions("3rd", &r)
                .unwrap_err()
                .contains("not a session number")
        );
        assert_eq!(
            sessions_preview("1", &r, &TimeZone::UTC).as_deref(),
            Some("= #1 on 2026-10-01")
        );
    }

    #[test]
    fn dates_statuses_domains_and_progress_say_what_is_wrong() {
        let set = date(2026, 11, 21);
        assert_eq!(parse_target("", set), Ok(None));
        assert_eq!(parse_target("2027-02-01", set), Ok(Some(date(2027, 2, 1))));
        assert!(
            parse_target("2027-02-30", set)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            parse_target("2026-11-20", set)
                .unwrap_err()
                .contains("before the goal is set")
        );
        assert_eq!(parse_status("ach"), Ok(GoalStatus::Achieved));
        assert!(parse_status("a").is_err(), "active or achieved?");
        assert_eq!(parse_domain(" Self  care "), Ok(LifeDomain::SelfCare));
        assert_eq!(parse_domain("Work"), Ok(LifeDomain::Work));
        assert_eq!(
            parse_domain("creativity"),
            Ok(LifeDomain::Other("creativity".into()))
        );
        assert!(parse_domain("  ").is_err());
        assert_eq!(parse_progress("7"), Ok(7));
        assert_eq!(parse_progress("10/10"), Ok(10));
        assert!(parse_progress("11").unwrap_err().contains("0 to 10"));
        assert!(parse_progress("-1").is_err());
        assert!(parse_progress("").is_err());
    }

    #[test]
    fn cycling_the_domain_keeps_the_clinicians_own_word() {
        let mut f = GoalForm::new_goal(PatientId::parse("p1").unwrap(), None, "");
        f.focused = 1;
        assert!(f.cycle(1));
        assert_eq!(f.value(GoalField::Domain), "relationships");
        assert!(f.cycle(-1));
        assert_eq!(f.value(GoalField::Domain), "self-care");
        f.values[1] = TextField::new("creativity");
        f.cycle(1);
        assert_eq!(f.value(GoalField::Domain), "relationships");
        f.cycle(-1);
        assert_eq!(
            f.value(GoalField::Domain),
            "creativity",
            "the own word is in the cycle"
        );
        f.focused = 0;
        assert!(!f.cycle(1), "the title has no choices");
    }

    #[test]
    fn a_form_submits_a_goal_or_names_every_bad_field() {
        let r = records();
        let now = ts("2026-11-21T15:30:00Z");
        let mut f = GoalForm::new_goal(r.patient.id.clone(), Some(rid("n1")), "Walk daily");
        assert_eq!(f.focused, 1, "the domain is next when the title is written");
        f.values[2] = TextField::new("2026-02-30");
        f.values[3] = TextField::new("4");
        assert!(f.submit(&r, rid("g9"), now, &TimeZone::UTC).is_none());
        assert_eq!(f.error_count(), 3);
        assert_eq!(f.focused, 1);
        assert_eq!(
            f.value(GoalField::Target),
            "2026-02-30",
            "nothing typed is changed"
        );
        f.values[1] = TextField::new("health");
        f.values[2] = TextField::new("2027-01-31");
        f.values[3] = TextField::new("1");
        let g = f.submit(&r, rid("g9"), now, &TimeZone::UTC).unwrap();
        assert_eq!(g.id, rid("g9"));
        assert_eq!(g.source_note, Some(rid("n1")));
        assert_eq!(g.status, GoalStatus::Active);
        assert_eq!(g.sessions, vec![rid("s7")]);
        assert_eq!(g.target_date, Some(date(2027, 1, 31)));
        assert_eq!(g.at, now);
    }

    #[test]
    fn editing_keeps_links_it_cannot_show_and_a_passed_target() {
        let r = records();
        let goal = IntegrationGoal {
            id: rid("g1"),
            patient: r.patient.id.clone(),
            at: ts("2026-03-01T10:00:00Z"),
            title: "Walk".into(),
            domain: LifeDomain::Other("movement".into()),
            status: GoalStatus::Active,
            target_date: Some(date(2026, 6, 1)),
            source_note: None,
            // Session 1 of the first course: the number 1 now means s7.
            sessions: vec![rid("s1")],
            check_ins: vec![],
        };
        let mut f = GoalForm::edit(&goal, &r);
        assert_eq!(f.value(GoalField::Sessions), "1");
        assert_eq!(f.value(GoalField::Status), "active");
        f.focused = 4;
        f.cycle(1);
        let g = f
            .submit(
                &r,
                rid("unused"),
                ts("2026-11-21T15:30:00Z"),
                &TimeZone::UTC,
            )
            .unwrap();
        assert_eq!(g.status, GoalStatus::Achieved);
        assert_eq!(g.sessions, vec![rid("s1")]);
        assert_eq!(g.target_date, Some(date(2026, 6, 1)));
        assert_eq!(g.domain, LifeDomain::Other("movement".into()));
    }

    #[test]
    fn a_check_in_links_the_newest_integration_note_of_the_last_week() {
        let mut r = records();
        let note = |id: &str, at: &str| {
            Note::draft(
                rid(id),
                r.patient.id.clone(),
                NoteKind::Integration,
                ts(at),
                format!("Integration {id}"),
                vec![Section::new("x", "y")],
            )
        };
        let (old, recent) = (
            note("n1", "2026-11-01T10:00:00Z"),
            note("n2", "2026-11-16T10:00:00Z"),
        );
        r.notes.extend([old, recent]);
        let goal = IntegrationGoal {
            id: rid("g1"),
            patient: r.patient.id.clone(),
            at: ts("2026-03-01T10:00:00Z"),
            title: "Walk".into(),
            domain: LifeDomain::Health,
            status: GoalStatus::Active,
            target_date: None,
            source_note: None,
            sessions: vec![],
            check_ins: vec![],
        };
        let now = ts("2026-11-21T15:30:00Z");
        let mut c = CheckInForm::new(&goal, &r, now, &TimeZone::UTC);
        assert_eq!(c.link_label(), Some("Integration n2 · 2026-11-16"));
        assert!(!c.is_dirty());
        c.cycle_link(1);
        assert_eq!(c.link_label(), Some("Integration n1 · 2026-11-01"));
        c.cycle_link(1);
        assert_eq!(c.link, None);
        assert!(c.submit(now).is_none(), "progress is required");
        c.progress = TextField::new("6");
        let made = c.submit(now).unwrap();
        assert_eq!((made.progress, made.integration_note), (6, None));
        // Eight days later the same note is too old to be the default.
        let later = ts("2026-11-24T10:00:01Z");
        assert_eq!(
            CheckInForm::new(&goal, &r, later, &TimeZone::UTC).link,
            None
        );
    }
}
