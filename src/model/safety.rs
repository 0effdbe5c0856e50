//! Safety follow-up of a PHQ-9 item 9 answer above 0 (thoughts of self-harm): the explicit entry
//! a clinician records (risk assessed, plan, by whom), and the rule for when an answer counts as
//! followed up (domain.md, "Safety follow-up").
//!
//! The rule, in a clinician's words: the answer stays flagged until something *after* it answers
//! it: a note signed after the score's time, or a safety follow-up entry made after it. A note
//! signed earlier, even the same minute, does not; a draft does not. Times compare to the second.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use super::measure::{Instrument, Measure};
use super::timeline::PatientRecords;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The suicide risk the clinician assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Moderate,
    High,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Moderate, RiskLevel::High];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Moderate => "moderate",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|r| !s.is_empty() && r.as_str().starts_with(&s))
    }
}

/// A safety follow-up: the clinician assessed the risk after an item-9 answer and made a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyFollowUp {
    pub id: RecordId,
    pub patient: PatientId,
    /// When it was recorded; it answers the item-9 answers before this moment.
    pub at: Timestamp,
    pub risk: RiskLevel,
    /// The plan agreed (safety plan, contacts, next appointment...).
    pub plan: String,
    /// Who assessed it.
    pub by: String,
    /// The PHQ-9 that prompted it, when recorded from that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<RecordId>,
}

impl SafetyFollowUp {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.plan.trim().is_empty() {
            return Err(ValidationError::new(
                "plan",
                "a safety follow-up needs the plan agreed",
            ));
        }
        if self.by.trim().is_empty() {
            return Err(ValidationError::new(
                "by",
                "a safety follow-up names who assessed the risk",
            ));
        }
        Ok(())
    }

    /// "Safety follow-up: risk low · by Dr. Rivera"
    pub fn summary(&self) -> String {
        format!(
            "Safety follow-up: risk {} · by {}",
            self.risk.as_str(),
            self.by
        )
    }
}

/// What answered an item-9 answer, the first thing after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answered<'a> {
    SignedNote { signed_at: Timestamp },
    FollowUp(&'a SafetyFollowUp),
}

/// The first signed note (by its signing time) or follow-up entry strictly after `at`.
pub fn answered_after(r: &PatientRecords, at: Timestamp) -> Option<Answered<'_>> {
    let note = r
        .notes
        .iter()
        .filter(|n| n.is_signed())
        .filter_map(|n| n.signed_at)
        .filter(|t| *t > at)
        .min();
    let follow_up = r
        .follow_ups
        .iter()
        .filter(|f| f.at > at)
        .min_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    match (note, follow_up) {
        (Some(n), Some(f)) if f.at <= n => Some(Answered::FollowUp(f)),
        (Some(n), _) => Some(Answered::SignedNote { signed_at: n }),
        (None, Some(f)) => Some(Answered::FollowUp(f)),
        (None, None) => None,
    }
}

/// Whether an item-9 answer given at `at` is still open: neither the latest signed note nor the
/// latest follow-up came after it (a note signed before the score answers nothing). The one
/// rule for the record ([`unanswered_item9`]) and the agenda index (`Agenda::unanswered_item9`).
pub fn item9_open(
    last_signed: Option<jiff::Timestamp>,
    last_follow_up: Option<jiff::Timestamp>,
    at: jiff::Timestamp,
) -> bool {
    last_signed.max(last_follow_up).is_none_or(|t| t <= at)
}

/// PHQ-9 measures with item 9 above 0 that nothing after them has answered, oldest first.
pub fn unanswered_item9(r: &PatientRecords) -> Vec<&Measure> {
    // The latest signing or follow-up answers every answer before it: one pass, not one per
    // measure.
    let last_note = r
        .notes
        .iter()
        .filter(|n| n.is_signed())
        .filter_map(|n| n.signed_at)
        .max();
    let last_follow_up = r.follow_ups.iter().map(|f| f.at).max();
    let mut out: Vec<&Measure> = r
        .measures
        .iter()
        .filter(|m| m.instrument == Instrument::Phq9)
        .filter(|m| m.score().is_ok_and(|s| s.item9_flag()))
        .filter(|m| item9_open(last_note, last_follow_up, m.at))
        .collect();
    out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Note, NoteKind, Patient, Section};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn with_score(at: &str) -> PatientRecords {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        r.measures.push(Measure {
            id: RecordId::parse("m1").unwrap(),
            patient: pid,
            instrument: Instrument::Phq9,
            at: ts(at),
            items: vec![1, 1, 1, 1, 1, 1, 1, 1, 1],
            entered_total: None,
            session: None,
        });
        r
    }

    fn note(r: &mut PatientRecords, id: &str, at: &str, signed_at: Option<&str>) {
        let mut n = Note::draft(
            RecordId::parse(id).unwrap(),
            r.patient.id.clone(),
            NoteKind::Integration,
            ts(at),
            "Integration",
            vec![Section::new("Notes", "seen")],
        );
        if let Some(s) = signed_at {
            n.sign("Dr. Rivera", ts(s), &[]).unwrap();
        }
        r.notes.push(n);
    }

    fn follow_up(r: &mut PatientRecords, at: &str) {
        r.follow_ups.push(SafetyFollowUp {
            id: RecordId::parse("f1").unwrap(),
            patient: r.patient.id.clone(),
            at: ts(at),
            risk: RiskLevel::Low,
            plan: "Safety plan reviewed; call tomorrow".into(),
            by: "Dr. Rivera".into(),
            measure: None,
        });
    }

    const SCORE: &str = "2026-11-20T09:43:20Z";

    fn flagged(r: &PatientRecords) -> bool {
        !unanswered_item9(r).is_empty()
    }

    #[test]
    fn a_note_signed_before_the_score_even_the_same_minute_does_not_answer_it() {
        let mut r = with_score(SCORE);
        assert!(flagged(&r), "nothing after it");
        note(
            &mut r,
            "n1",
            "2026-11-20T08:00:00Z",
            Some("2026-11-20T09:42:00Z"),
        );
        assert!(flagged(&r), "signed a minute before, the same day");
        note(
            &mut r,
            "n2",
            "2026-11-20T09:00:00Z",
            Some("2026-11-20T09:43:19Z"),
        );
        assert!(flagged(&r), "signed the same minute, a second before");
        note(&mut r, "n3", "2026-11-20T09:00:00Z", Some(SCORE));
        assert!(flagged(&r), "signed the same second is not after it");
        assert_eq!(answered_after(&r, ts(SCORE)), None);
    }

    #[test]
    fn a_note_signed_after_the_score_answers_it_whenever_it_was_written() {
        let mut r = with_score(SCORE);
        // Written (dated) before the score, signed after it: the signing is what counts.
        note(
            &mut r,
            "n1",
            "2026-11-20T09:00:00Z",
            Some("2026-11-20T09:43:21Z"),
        );
        assert!(!flagged(&r));
        assert_eq!(
            answered_after(&r, ts(SCORE)),
            Some(Answered::SignedNote {
                signed_at: ts("2026-11-20T09:43:21Z")
            })
        );
    }

    #[test]
    fn a_draft_never_answers_it() {
        let mut r = with_score(SCORE);
        note(&mut r, "n1", "2026-11-21T09:00:00Z", None);
        assert!(flagged(&r));
    }

    #[test]
    fn a_follow_up_entry_after_the_score_answers_it_and_one_before_does_not() {
        let mut r = with_score(SCORE);
        follow_up(&mut r, "2026-11-20T09:43:00Z");
        assert!(flagged(&r), "recorded before the score");
        r.follow_ups.clear();
        follow_up(&mut r, "2026-11-20T09:50:00Z");
        assert!(!flagged(&r));
        assert!(matches!(
            answered_after(&r, ts(SCORE)),
            Some(Answered::FollowUp(f)) if f.risk == RiskLevel::Low
        ));
    }

    #[test]
    fn risk_levels_parse_from_a_prefix_and_a_follow_up_needs_plan_and_assessor() {
        assert_eq!(RiskLevel::parse("Mod"), Some(RiskLevel::Moderate));
        assert_eq!(RiskLevel::parse("h"), Some(RiskLevel::High));
        assert_eq!(RiskLevel::parse(""), None);
        assert_eq!(RiskLevel::parse("severe"), None);
        let mut r = with_score(SCORE);
        follow_up(&mut r, "2026-11-20T09:50:00Z");
        let mut f = r.follow_ups[0].clone();
        assert!(f.validate().is_ok());
        f.plan = "  ".into();
        assert_eq!(f.validate().unwrap_err().field, "plan");
        f.plan = "x".into();
        f.by = String::new();
        assert_eq!(f.validate().unwrap_err().field, "by");
    }
}
