//! Integration goals and their check-ins.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};

/// The part of life a goal is about; clinicians may name their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LifeDomain {
    Relationships,
    Work,
    Health,
    Meaning,
    SelfCare,
    /// A domain the clinician named.
    Other(String),
}

impl LifeDomain {
    pub fn as_str(&self) -> &str {
        match self {
            LifeDomain::Relationships => "relationships",
            LifeDomain::Work => "work",
            LifeDomain::Health => "health",
            LifeDomain::Meaning => "meaning",
            LifeDomain::SelfCare => "self-care",
            LifeDomain::Other(s) => s,
        }
    }
}

impl From<String> for LifeDomain {
    fn from(s: String) -> Self {
        match s.as_str() {
            "relationships" => LifeDomain::Relationships,
            "work" => LifeDomain::Work,
            "health" => LifeDomain::Health,
            "meaning" => LifeDomain::Meaning,
            "self-care" => LifeDomain::SelfCare,
            _ => LifeDomain::Other(s),
        }
    }
}

impl From<LifeDomain> for String {
    fn from(d: LifeDomain) -> Self {
        d.as_str().to_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalStatus {
    Active,
    Achieved,
    Paused,
    Dropped,
}

impl GoalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Active => "active",
            GoalStatus::Achieved => "achieved",
            GoalStatus::Paused => "paused",
            GoalStatus::Dropped => "dropped",
        }
    }
}

/// A dated look at how a goal is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub at: Timestamp,
    /// Progress as the patient and clinician judge it, 0 (none) to 10 (achieved).
    pub progress: u8,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The integration note where it was discussed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_note: Option<RecordId>,
}

/// An integration goal: an intention from preparation turned into a change to work on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationGoal {
    pub id: RecordId,
    pub patient: PatientId,
    /// When the goal was set.
    pub at: Timestamp,
    pub title: String,
    pub domain: LifeDomain,
    pub status: GoalStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_date: Option<Date>,
    /// The preparation note whose intention became this goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_note: Option<RecordId>,
    /// Dosing sessions the goal relates to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<RecordId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_ins: Vec<CheckIn>,
}

impl IntegrationGoal {
    /// The notes the goal links to: its source note, then each check-in's integration note.
    pub fn note_links(&self) -> impl Iterator<Item = &RecordId> {
        self.source_note.iter().chain(
            self.check_ins
                .iter()
                .filter_map(|c| c.integration_note.as_ref()),
        )
    }

    /// Cuts the goal's links (its source note, each check-in's integration note) to the notes
    /// `gone` names; returns how many were cut. For an export that withholds psychotherapy notes
    /// and for the notes a sync never sends.
    pub fn cut_note_links(&mut self, gone: impl Fn(&RecordId) -> bool) -> usize {
        let mut cut = 0;
        for link in std::iter::once(&mut self.source_note)
            .chain(self.check_ins.iter_mut().map(|c| &mut c.integration_note))
        {
            if link.as_ref().is_some_and(&gone) {
                *link = None;
                cut += 1;
            }
        }
        cut
    }

    /// The most recent check-in, if any.
    pub fn latest_check_in(&self) -> Option<&CheckIn> {
        self.check_ins.iter().max_by_key(|c| c.at)
    }

    /// Checks fields a file can get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.title.trim().is_empty() {
            return Err(ValidationError::new("title", "a goal needs a title"));
        }
        if self.domain.as_str().trim().is_empty() {
            return Err(ValidationError::new("domain", "a goal needs a life domain"));
        }
        for (i, c) in self.check_ins.iter().enumerate() {
            if c.progress > 10 {
                return Err(ValidationError::new(
                    format!("check_ins[{i}].progress"),
                    format!("progress is 0 to 10 (got {})", c.progress),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_round_trip_and_keep_the_clinicians_own() {
        for d in [
            "relationships",
            "work",
            "health",
            "meaning",
            "self-care",
            "creativity",
        ] {
            let parsed = LifeDomain::from(d.to_string());
            assert_eq!(String::from(parsed.clone()), d);
        }
        assert_eq!(
            LifeDomain::from("creativity".to_string()),
            LifeDomain::Other("creativity".into())
        );
    }

    #[test]
    fn progress_is_zero_to_ten_and_latest_check_in_is_by_time() {
        let mut g = IntegrationGoal {
            id: RecordId::parse("g1").unwrap(),
            patient: PatientId::parse("p1").unwrap(),
            at: "2026-03-01T10:00:00Z".parse().unwrap(),
            title: "Walk every morning".into(),
            domain: LifeDomain::Health,
            status: GoalStatus::Active,
            target_date: None,
            source_note: None,
            sessions: vec![],
            check_ins: vec![
                CheckIn {
                    at: "2026-03-10T10:00:00Z".parse().unwrap(),
                    progress: 6,
                    note: String::new(),
                    integration_note: None,
                },
                CheckIn {
                    at: "2026-03-03T10:00:00Z".parse().unwrap(),
                    progress: 2,
                    note: String::new(),
                    integration_note: None,
                },
            ],
        };
        assert_eq!(g.latest_check_in().unwrap().progress, 6);
        assert!(g.validate().is_ok());
        g.check_ins[1].progress = 11;
        assert_eq!(g.validate().unwrap_err().field, "check_ins[1].progress");
    }
}
