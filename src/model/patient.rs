//! Patients: who the records belong to.

use super::ids::PatientId;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A patient in the clinician's caseload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patient {
    pub id: PatientId,
    pub name: String,
    /// Date of birth, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<Date>,
    /// Sex as the REMS monitoring form asks it; `None` is unknown (older stores and imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<String>,
    /// Body weight in kilograms, used for weight-based (mg/kg) dosing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    /// Free text such as an emergency contact or how they prefer to be reached.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub contact_note: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Archived patients are kept but hidden from the roster unless asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

impl Patient {
    pub fn new(id: PatientId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            born: None,
            sex: None,
            pronouns: None,
            weight_kg: None,
            contact_note: String::new(),
            tags: Vec::new(),
            archived: false,
        }
    }

    /// Age in whole years on `today`, or `None` without a date of birth (or born after `today`).
    pub fn age_on(&self, today: Date) -> Option<u32> {
        let born = self.born?;
        if born > today {
            return None;
        }
        let mut years = today.year() - born.year();
        if (today.month(), today.day()) < (born.month(), born.day()) {
            years -= 1;
        }
        u32::try_from(years).ok()
    }

    /// Checks the fields a user or a file can get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), super::ValidationError> {
        use super::ValidationError as E;
        if self.name.trim().is_empty() {
            return Err(E::new("name", "a patient needs a name"));
        }
        if let Some(w) = self.weight_kg
            && !is_plausible_weight(w)
        {
            return Err(E::new(
                "weight_kg",
                format!("weight must be between 0 and 700 kg (got {w})"),
            ));
        }
        Ok(())
    }
}

/// A patient's sex, as forms such as the esketamine REMS monitoring form ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
}

impl Sex {
    pub const ALL: [Sex; 3] = [Sex::Female, Sex::Male, Sex::Other];

    pub fn label(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
        }
    }

    /// "f", "female", "M", "other"...; `None` for anything else.
    pub fn parse(text: &str) -> Option<Sex> {
        match text.trim().to_lowercase().as_str() {
            "f" | "female" => Some(Sex::Female),
            "m" | "male" => Some(Sex::Male),
            "o" | "other" => Some(Sex::Other),
            _ => None,
        }
    }
}

/// A body weight in kilograms that can be real: above 0 and below 700.
pub fn is_plausible_weight(kg: f64) -> bool {
    kg.is_finite() && kg > 0.0 && kg < 700.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn born(d: Date) -> Patient {
        let mut p = Patient::new(PatientId::parse("p1").unwrap(), "Test Person");
        p.born = Some(d);
        p
    }

    #[test]
    fn age_counts_whole_years_and_turns_on_the_birthday() {
        let p = born(date(1980, 4, 2));
        assert_eq!(p.age_on(date(2026, 4, 1)), Some(45));
        assert_eq!(p.age_on(date(2026, 4, 2)), Some(46));
        assert_eq!(p.age_on(date(1979, 1, 1)), None);
    }

    #[test]
    fn leap_day_birthdays_age_on_march_first() {
        let p = born(date(2000, 2, 29));
        assert_eq!(p.age_on(date(2026, 2, 28)), Some(25));
        assert_eq!(p.age_on(date(2026, 3, 1)), Some(26));
    }

    #[test]
    fn sex_is_read_and_written_and_older_records_read_it_as_unknown() {
        let p: Patient = serde_json::from_str(r#"{"id":"p1","name":"A"}"#).unwrap();
        assert_eq!(p.sex, None);
        let mut p = p;
        p.sex = Sex::parse(" F ");
        assert_eq!(p.sex, Some(Sex::Female));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"id":"p1","name":"A","sex":"female"}"#);
        assert_eq!(Sex::parse("x"), None);
    }

    #[test]
    fn a_patient_needs_a_name_and_a_plausible_weight() {
        let mut p = born(date(1980, 4, 2));
        p.name = "  ".into();
        assert_eq!(p.validate().unwrap_err().field, "name");
        p.name = "A".into();
        p.weight_kg = Some(-3.0);
        assert_eq!(p.validate().unwrap_err().field, "weight_kg");
        p.weight_kg = Some(72.5);
        assert!(p.validate().is_ok());
    }
}
