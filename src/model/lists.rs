//! The problem list, the medication list and the allergy list: structured entries with start and
//! stop dates, one record each ([`ListEntry`]).
//!
//! An entry is never erased. Stopping a medication (or resolving a problem) gives it a stop date
//! and keeps it readable; a correction replaces the values and keeps the ones it replaced, with
//! who, when and why, in the entry's `revisions` (domain.md, "Records and privacy": a correction
//! never erases).
//!
//! Medications carry their class (benzodiazepine, non-benzodiazepine sedative-hypnotic,
//! psychostimulant, MAOI, opioid, other): the concomitant medications the esketamine REMS
//! monitoring form and the pre-treatment screening ask about (domain.md, "The REMS patient
//! monitoring form"). [`current_medications`] is what they read.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use super::timeline::PatientRecords;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Which list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Problem,
    Medication,
    Allergy,
}

impl ListKind {
    pub const ALL: [ListKind; 3] = [ListKind::Problem, ListKind::Medication, ListKind::Allergy];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Problem => "problem",
            ListKind::Medication => "medication",
            ListKind::Allergy => "allergy",
        }
    }

    /// "Problem", "Medication", "Allergy".
    pub fn label(self) -> &'static str {
        match self {
            ListKind::Problem => "Problem",
            ListKind::Medication => "Medication",
            ListKind::Allergy => "Allergy",
        }
    }

    /// What a stop date means on this list, in a clinician's words.
    pub fn stopped_word(self) -> &'static str {
        match self {
            ListKind::Problem => "resolved",
            ListKind::Medication => "stopped",
            ListKind::Allergy => "no longer applies",
        }
    }

    /// The same as a label: "Stopped", "Resolved", "No longer applies".
    pub fn stopped_label(self) -> &'static str {
        match self {
            ListKind::Problem => "Resolved",
            ListKind::Medication => "Stopped",
            ListKind::Allergy => "No longer applies",
        }
    }

    /// Reads a typed prefix: "m" is medication, "a" allergy, "p" problem.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| !s.is_empty() && k.as_str().starts_with(&s))
    }
}

/// The class of a medication, as the REMS form and screening ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MedicationClass {
    Benzodiazepine,
    /// Non-benzodiazepine sedative-hypnotics (zolpidem, zopiclone, ...).
    SedativeHypnotic,
    Psychostimulant,
    /// Monoamine oxidase inhibitors.
    Maoi,
    /// Opioids and other respiratory depressants (the current REMS form asks about them).
    Opioid,
    Other,
}

impl MedicationClass {
    pub const ALL: [MedicationClass; 6] = [
        MedicationClass::Benzodiazepine,
        MedicationClass::SedativeHypnotic,
        MedicationClass::Psychostimulant,
        MedicationClass::Maoi,
        MedicationClass::Opioid,
        MedicationClass::Other,
    ];

    /// The word in files: "benzodiazepine", "sedative-hypnotic", "psychostimulant", "maoi",
    /// "opioid", "other".
    pub fn as_str(self) -> &'static str {
        match self {
            MedicationClass::Benzodiazepine => "benzodiazepine",
            MedicationClass::SedativeHypnotic => "sedative-hypnotic",
            MedicationClass::Psychostimulant => "psychostimulant",
            MedicationClass::Maoi => "maoi",
            MedicationClass::Opioid => "opioid",
            MedicationClass::Other => "other",
        }
    }

    /// How a clinician writes it: "MAOI", "sedative-hypnotic".
    pub fn label(self) -> &'static str {
        match self {
            MedicationClass::Maoi => "MAOI",
            other => other.as_str(),
        }
    }

    /// Whether the REMS form and screening ask about this class (all but "other").
    pub fn is_screened(self) -> bool {
        self != MedicationClass::Other
    }

    /// The REMS form's class for it; `None` for "other", which the form does not ask about.
    pub fn rems_class(self) -> Option<super::rems::MedClass> {
        use super::rems::MedClass as R;
        match self {
            MedicationClass::Benzodiazepine => Some(R::Benzodiazepines),
            MedicationClass::SedativeHypnotic => Some(R::SedativeHypnotics),
            MedicationClass::Psychostimulant => Some(R::Psychostimulants),
            MedicationClass::Maoi => Some(R::Maois),
            MedicationClass::Opioid => Some(R::Opioids),
            MedicationClass::Other => None,
        }
    }

    /// Reads a typed prefix or the label ("b", "MAOI", "sed").
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| !s.is_empty() && k.as_str().starts_with(&s))
    }
}

/// The values of an entry that a correction can change; a revision keeps the ones it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListValues {
    /// The problem, medicine or allergen: "Major depressive disorder, recurrent", "sertraline",
    /// "penicillin".
    pub name: String,
    /// Dose and how often for a medication; the reaction for an allergy; anything for a problem.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// A medication's class (medications only, and always for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<MedicationClass>,
    /// Onset, or the day a medication was started; unknown is allowed (an allergy since childhood).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Date>,
    /// The day it stopped (a medication stopped, a problem resolved, an allergy refuted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Date>,
}

impl ListValues {
    /// The values in one line, for a correction's "before" and "after": "sertraline 100 mg
    /// daily (other), since 2024-05-01, stopped 2026-03-09".
    pub fn describe(&self, list: ListKind) -> String {
        let mut out = self.name.clone();
        if !self.detail.trim().is_empty() {
            out.push_str(&format!(" {}", self.detail.trim()));
        }
        if let Some(c) = self.class {
            out.push_str(&format!(" ({})", c.label()));
        }
        if let Some(d) = self.started {
            out.push_str(&format!(", since {d}"));
        }
        if let Some(d) = self.stopped {
            out.push_str(&format!(", {} {d}", list.stopped_word()));
        }
        out
    }
}

/// What a revision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionKind {
    /// A stop date was set.
    Stopped,
    /// The values were corrected.
    Corrected,
}

/// One change to an entry after it was recorded, with the values it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRevision {
    pub at: Timestamp,
    pub by: String,
    pub kind: RevisionKind,
    /// Why (required for a correction; optional when stopping).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// The entry's values before this change.
    pub before: ListValues,
}

/// One entry on a patient's problem, medication or allergy list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListEntry {
    pub id: RecordId,
    pub patient: PatientId,
    /// When it was first recorded (where it sits on the timeline; never changes).
    pub at: Timestamp,
    pub list: ListKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<MedicationClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Date>,
    /// Who recorded it.
    pub by: String,
    /// Stops and corrections, oldest first, each with the values it replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<ListRevision>,
}

/// Why a stop or a correction is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("{name} is already {word} (on {on})")]
    AlreadyStopped {
        name: String,
        word: &'static str,
        on: Date,
    },
    #[error("nothing changed: a correction needs a new value")]
    NothingChanged,
    #[error("{0}")]
    Invalid(ValidationError),
    #[error(
        "list entry {id}: {what}; an entry is changed only by a stop or a correction that keeps \
         the values it replaces"
    )]
    Rewritten { id: RecordId, what: &'static str },
}

impl ListEntry {
    /// A new entry on `list`, recorded at `at` by `by`.
    pub fn new(
        id: RecordId,
        patient: PatientId,
        at: Timestamp,
        list: ListKind,
        by: impl Into<String>,
        values: ListValues,
    ) -> Self {
        let mut e = Self {
            id,
            patient,
            at,
            list,
            name: String::new(),
            detail: String::new(),
            class: None,
            started: None,
            stopped: None,
            by: by.into(),
            revisions: Vec::new(),
        };
        e.set_values(values);
        e
    }

    /// The values as they stand.
    pub fn values(&self) -> ListValues {
        ListValues {
            name: self.name.clone(),
            detail: self.detail.clone(),
            class: self.class,
            started: self.started,
            stopped: self.stopped,
        }
    }

    fn set_values(&mut self, v: ListValues) {
        self.name = v.name;
        self.detail = v.detail;
        self.class = v.class;
        self.started = v.started;
        self.stopped = v.stopped;
    }

    /// Whether it is on the list on `day`: started by then (or start unknown) and not stopped
    /// before it. The stop day itself still counts: a medication stopped on the morning of a
    /// dosing session is still in the body that day, so screening and the REMS form count it.
    pub fn is_current_on(&self, day: Date) -> bool {
        self.started.is_none_or(|s| s <= day) && self.stopped.is_none_or(|s| day <= s)
    }

    /// Stops it on `on`: the entry stays readable with its stop date, and the stop is a revision.
    pub fn stop(&mut self, on: Date, by: &str, why: &str, at: Timestamp) -> Result<(), ListError> {
        if let Some(stopped) = self.stopped {
            return Err(ListError::AlreadyStopped {
                name: self.name.clone(),
                word: self.list.stopped_word(),
                on: stopped,
            });
        }
        let mut next = self.clone();
        next.revisions.push(ListRevision {
            at,
            by: by.trim().to_owned(),
            kind: RevisionKind::Stopped,
            why: why.trim().to_owned(),
            before: self.values(),
        });
        next.stopped = Some(on);
        next.validate().map_err(ListError::Invalid)?;
        *self = next;
        Ok(())
    }

    /// Corrects the values; the ones replaced stay in the revision, with who, when and why.
    pub fn correct(
        &mut self,
        values: ListValues,
        by: &str,
        why: &str,
        at: Timestamp,
    ) -> Result<(), ListError> {
        if values == self.values() {
            return Err(ListError::NothingChanged);
        }
        let mut next = self.clone();
        next.revisions.push(ListRevision {
            at,
            by: by.trim().to_owned(),
            kind: RevisionKind::Corrected,
            why: why.trim().to_owned(),
            before: self.values(),
        });
        next.set_values(values);
        next.validate().map_err(ListError::Invalid)?;
        *self = next;
        Ok(())
    }

    /// Whether `newer` may replace this stored version: the same entry (list, time, who recorded
    /// it), its revisions kept as they were, and any change of values carried by new revisions
    /// whose first holds the values as they stand here. Nothing is erased.
    pub fn may_become(&self, newer: &ListEntry) -> Result<(), ListError> {
        let fail = |what| {
            Err(ListError::Rewritten {
                id: self.id.clone(),
                what,
            })
        };
        if self == newer {
            return Ok(());
        }
        if (&self.id, &self.patient, self.at, self.list, &self.by)
            != (&newer.id, &newer.patient, newer.at, newer.list, &newer.by)
        {
            return fail("its list, time or recorder changed");
        }
        if !newer.revisions.starts_with(&self.revisions) {
            return fail("a stop or correction was removed or changed");
        }
        match newer.revisions.get(self.revisions.len()) {
            Some(r) if r.before == self.values() => Ok(()),
            Some(_) => fail("a new revision does not keep the values it replaces"),
            None => fail("its values changed without a stop or correction"),
        }
    }

    /// Checks the fields a user or a file can get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        use ValidationError as E;
        values_valid(self.list, &self.values(), "")?;
        if self.by.trim().is_empty() {
            return Err(E::new("by", "a list entry names who recorded it"));
        }
        let mut after = self.at;
        for (i, r) in self.revisions.iter().enumerate() {
            if r.by.trim().is_empty() {
                return Err(E::new(
                    format!("revisions[{i}].by"),
                    "a stop or correction names who made it",
                ));
            }
            if r.kind == RevisionKind::Corrected && r.why.trim().is_empty() {
                return Err(E::new(
                    format!("revisions[{i}].why"),
                    "a correction says why it was made",
                ));
            }
            if r.at < after {
                return Err(E::new(
                    format!("revisions[{i}].at"),
                    "a revision comes after the entry and the revisions before it",
                ));
            }
            after = r.at;
            values_valid(self.list, &r.before, &format!("revisions[{i}].before."))?;
        }
        Ok(())
    }

    /// "sertraline 100 mg daily (other)", "penicillin: hives", "Major depressive disorder".
    pub fn what(&self) -> String {
        let mut out = self.name.clone();
        match self.list {
            ListKind::Allergy if !self.detail.trim().is_empty() => {
                out.push_str(&format!(": {}", self.detail.trim()));
            }
            _ if !self.detail.trim().is_empty() => {
                out.push(' ');
                out.push_str(self.detail.trim());
            }
            _ => {}
        }
        if let Some(c) = self.class {
            out.push_str(&format!(" ({})", c.label()));
        }
        out
    }

    /// "since 2025-03-01, stopped 2026-10-02", or "" when neither date is known.
    pub fn dates(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.started {
            parts.push(format!("since {s}"));
        }
        if let Some(s) = self.stopped {
            parts.push(format!("{} {s}", self.list.stopped_word()));
        }
        parts.join(", ")
    }

    /// The timeline's line: "Medication: lorazepam 0.5 mg as needed (benzodiazepine) · since
    /// 2026-01-03, stopped 2026-10-02 · corrected".
    pub fn summary(&self) -> String {
        let mut out = format!("{}: {}", self.list.label(), self.what());
        let dates = self.dates();
        if !dates.is_empty() {
            out.push_str(&format!(" · {dates}"));
        }
        if self
            .revisions
            .iter()
            .any(|r| r.kind == RevisionKind::Corrected)
        {
            out.push_str(" · corrected");
        }
        out
    }
}

fn values_valid(list: ListKind, v: &ListValues, at: &str) -> Result<(), ValidationError> {
    use ValidationError as E;
    let f = |name: &str| format!("{at}{name}");
    if v.name.trim().is_empty() {
        return Err(E::new(
            f("name"),
            format!("a {} needs a name", list.as_str()),
        ));
    }
    match (list, v.class) {
        (ListKind::Medication, None) => {
            return Err(E::new(
                f("class"),
                "a medication needs its class: benzodiazepine, sedative-hypnotic, \
                 psychostimulant, maoi, opioid or other",
            ));
        }
        (ListKind::Problem | ListKind::Allergy, Some(_)) => {
            return Err(E::new(
                f("class"),
                format!("only a medication has a class, not a {}", list.as_str()),
            ));
        }
        _ => {}
    }
    if let (Some(start), Some(stop)) = (v.started, v.stopped)
        && stop < start
    {
        return Err(E::new(
            f("stopped"),
            format!("stopped {stop} is before started {start}"),
        ));
    }
    Ok(())
}

/// A patient's medications current on `day`, with their class, in name order: what the REMS
/// form's concomitant-medication questions and the screening read.
pub fn current_medications(r: &PatientRecords, day: Date) -> Vec<(&ListEntry, MedicationClass)> {
    let mut out: Vec<(&ListEntry, MedicationClass)> = r
        .lists
        .iter()
        .filter(|e| e.list == ListKind::Medication && e.is_current_on(day))
        .filter_map(|e| e.class.map(|c| (e, c)))
        .collect();
    out.sort_by(|a, b| (a.0.name.to_lowercase(), &a.0.id).cmp(&(b.0.name.to_lowercase(), &b.0.id)));
    out
}

/// The REMS form's concomitant medications on `day`, from the medication list: the classes of
/// the medications current that day, and their names and doses as the detail ("lorazepam 0.5 mg
/// as needed; tramadol 50 mg"). A medication of class "other" is not asked about and left out.
pub fn rems_concomitant(r: &PatientRecords, day: Date) -> super::rems::ConcomitantMedications {
    let current = current_medications(r, day);
    let screened: Vec<(&ListEntry, super::rems::MedClass)> = current
        .iter()
        .filter_map(|(e, c)| c.rems_class().map(|k| (*e, k)))
        .collect();
    let detail: Vec<String> = screened
        .iter()
        .map(|(e, _)| match e.detail.trim() {
            "" => e.name.trim().to_owned(),
            d => format!("{} {d}", e.name.trim()),
        })
        .collect();
    super::rems::ConcomitantMedications::from_classes(
        screened.iter().map(|(_, k)| *k),
        &detail.join("; "),
    )
}

/// The entries of `list` current on `day`, in name order.
pub fn current(r: &PatientRecords, list: ListKind, day: Date) -> Vec<&ListEntry> {
    let mut out: Vec<&ListEntry> = r
        .lists
        .iter()
        .filter(|e| e.list == list && e.is_current_on(day))
        .collect();
    out.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Patient;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn med(id: &str, name: &str, class: MedicationClass) -> ListEntry {
        ListEntry::new(
            RecordId::parse(id).unwrap(),
            PatientId::parse("p1").unwrap(),
            ts("2026-01-05T10:00:00Z"),
            ListKind::Medication,
            "Dr. Test",
            ListValues {
                name: name.into(),
                detail: "0.5 mg as needed".into(),
                class: Some(class),
                started: Some(date(2026, 1, 3)),
                stopped: None,
            },
        )
    }

    #[test]
    fn a_stopped_medication_stays_readable_and_counts_on_its_stop_day_only() {
        let mut m = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        assert!(!m.is_current_on(date(2026, 1, 2)), "before it started");
        assert!(m.is_current_on(date(2026, 1, 3)));
        m.stop(
            date(2026, 10, 2),
            "Dr. Test",
            "tapered",
            ts("2026-10-02T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(m.name, "lorazepam");
        assert_eq!(m.stopped, Some(date(2026, 10, 2)));
        assert!(m.is_current_on(date(2026, 10, 2)), "the stop day counts");
        assert!(!m.is_current_on(date(2026, 10, 3)));
        assert_eq!(m.revisions.len(), 1);
        assert_eq!(m.revisions[0].before.stopped, None);
        assert_eq!(
            m.summary(),
            "Medication: lorazepam 0.5 mg as needed (benzodiazepine) · since 2026-01-03, \
             stopped 2026-10-02"
        );
        let again = m.stop(
            date(2026, 10, 5),
            "Dr. Test",
            "",
            ts("2026-10-05T09:00:00Z"),
        );
        assert!(matches!(again, Err(ListError::AlreadyStopped { .. })));
    }

    #[test]
    fn a_stop_before_the_start_is_refused_and_changes_nothing() {
        let mut m = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        let before = m.clone();
        let e = m
            .stop(
                date(2025, 12, 1),
                "Dr. Test",
                "",
                ts("2026-10-02T09:00:00Z"),
            )
            .unwrap_err();
        assert!(e.to_string().contains("before started"), "{e}");
        assert_eq!(m, before);
    }

    #[test]
    fn a_correction_keeps_the_original_with_who_when_and_why() {
        let mut m = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        let mut v = m.values();
        v.name = "alprazolam".into();
        assert!(matches!(
            m.correct(m.values(), "Dr. Test", "x", ts("2026-02-01T09:00:00Z")),
            Err(ListError::NothingChanged)
        ));
        assert!(
            m.correct(v.clone(), "Dr. Test", " ", ts("2026-02-01T09:00:00Z"))
                .is_err(),
            "a correction says why"
        );
        m.correct(
            v,
            "Dr. Test",
            "wrong drug entered",
            ts("2026-02-01T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(m.name, "alprazolam");
        assert_eq!(m.revisions[0].before.name, "lorazepam");
        assert_eq!(m.revisions[0].why, "wrong drug entered");
        assert!(m.summary().ends_with("· corrected"), "{}", m.summary());
    }

    #[test]
    fn a_stored_entry_may_only_become_a_stop_or_a_correction_of_itself() {
        let old = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        let mut stopped = old.clone();
        stopped
            .stop(date(2026, 3, 1), "Dr. Test", "", ts("2026-03-01T09:00:00Z"))
            .unwrap();
        assert_eq!(old.may_become(&stopped), Ok(()));
        assert_eq!(old.may_become(&old), Ok(()));
        // Values changed in place, with no revision: refused.
        let mut silent = old.clone();
        silent.name = "alprazolam".into();
        assert!(old.may_become(&silent).is_err());
        // A stop taken back by dropping its revision: refused.
        let mut unstopped = stopped.clone();
        unstopped.revisions.clear();
        unstopped.stopped = None;
        assert!(stopped.may_become(&unstopped).is_err());
        // A revision that claims other original values: refused.
        let mut forged = old.clone();
        let mut v = old.values();
        v.detail = "1 mg".into();
        forged
            .correct(v, "Dr. Test", "dose", ts("2026-02-01T09:00:00Z"))
            .unwrap();
        forged.revisions[0].before.name = "clonazepam".into();
        let e = old.may_become(&forged).unwrap_err();
        assert!(e.to_string().contains("does not keep the values"), "{e}");
    }

    #[test]
    fn a_medication_needs_its_class_and_nothing_else_has_one() {
        let mut m = med("l1", "sertraline", MedicationClass::Other);
        m.class = None;
        assert_eq!(m.validate().unwrap_err().field, "class");
        m.class = Some(MedicationClass::Other);
        m.list = ListKind::Allergy;
        assert_eq!(m.validate().unwrap_err().field, "class");
        m.class = None;
        assert!(m.validate().is_ok());
        m.name = " ".into();
        assert_eq!(m.validate().unwrap_err().field, "name");
    }

    #[test]
    fn current_medications_on_a_day_give_each_class() {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid, "Test Person"));
        let mut stopped = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        stopped
            .stop(date(2026, 3, 1), "Dr. Test", "", ts("2026-03-01T09:00:00Z"))
            .unwrap();
        r.lists.push(stopped);
        r.lists.push(med(
            "l2",
            "methylphenidate",
            MedicationClass::Psychostimulant,
        ));
        r.lists.push(med("l3", "Bupropion", MedicationClass::Other));
        let on = |d| -> Vec<(String, MedicationClass)> {
            current_medications(&r, d)
                .into_iter()
                .map(|(e, c)| (e.name.clone(), c))
                .collect()
        };
        assert_eq!(
            on(date(2026, 3, 1)),
            vec![
                ("Bupropion".into(), MedicationClass::Other),
                ("lorazepam".into(), MedicationClass::Benzodiazepine),
                ("methylphenidate".into(), MedicationClass::Psychostimulant),
            ]
        );
        assert_eq!(on(date(2026, 3, 2)).len(), 2);
        assert!(on(date(2025, 12, 31)).is_empty());
    }

    #[test]
    fn the_rems_form_reads_the_screened_classes_current_that_day() {
        use crate::model::rems::MedClass;
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid, "Test Person"));
        let mut benzo = med("l1", "lorazepam", MedicationClass::Benzodiazepine);
        benzo
            .stop(date(2026, 3, 1), "Dr. Test", "", ts("2026-03-01T09:00:00Z"))
            .unwrap();
        r.lists.push(benzo);
        r.lists.push(med("l2", "tramadol", MedicationClass::Opioid));
        r.lists
            .push(med("l3", "sertraline", MedicationClass::Other));
        let on_stop_day = rems_concomitant(&r, date(2026, 3, 1));
        assert_eq!(
            on_stop_day.classes,
            vec![MedClass::Benzodiazepines, MedClass::Opioids]
        );
        assert_eq!(
            on_stop_day.detail,
            "lorazepam 0.5 mg as needed; tramadol 0.5 mg as needed"
        );
        let later = rems_concomitant(&r, date(2026, 3, 2));
        assert_eq!(later.classes, vec![MedClass::Opioids]);
        assert!(
            rems_concomitant(&r, date(2025, 1, 1)).classes.is_empty(),
            "nothing started yet: none"
        );
    }

    #[test]
    fn classes_and_lists_read_typed_prefixes_and_write_stable_words() {
        assert_eq!(MedicationClass::parse("MAOI"), Some(MedicationClass::Maoi));
        assert_eq!(
            MedicationClass::parse("sed"),
            Some(MedicationClass::SedativeHypnotic)
        );
        assert_eq!(MedicationClass::parse(""), None);
        assert_eq!(ListKind::parse("a"), Some(ListKind::Allergy));
        assert_eq!(
            serde_json::to_string(&MedicationClass::SedativeHypnotic).unwrap(),
            "\"sedative-hypnotic\""
        );
    }
}
