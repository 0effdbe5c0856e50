//! What the esketamine REMS patient monitoring form asks that the session's readings do not
//! answer: whether this is the patient's first treatment (and then whether they are enrolled),
//! the concomitant medications by class, and who the monitoring provider and setting are (the
//! clinic, from config.toml).

use serde::{Deserialize, Serialize};

/// The medication classes the REMS form asks about, yes or no each (the 11/2021 form's four, and
/// the current form's opioids and other respiratory depressants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedClass {
    Benzodiazepines,
    /// Non-benzodiazepine sedative-hypnotics (zolpidem and the like).
    SedativeHypnotics,
    Psychostimulants,
    Maois,
    Opioids,
    /// Other central nervous system or respiratory depressants.
    OtherRespiratoryDepressants,
}

impl MedClass {
    pub const ALL: [MedClass; 6] = [
        MedClass::Benzodiazepines,
        MedClass::SedativeHypnotics,
        MedClass::Psychostimulants,
        MedClass::Maois,
        MedClass::Opioids,
        MedClass::OtherRespiratoryDepressants,
    ];

    /// As the form names it.
    pub fn label(self) -> &'static str {
        match self {
            MedClass::Benzodiazepines => "Benzodiazepines",
            MedClass::SedativeHypnotics => "Non-benzodiazepine sedative-hypnotics",
            MedClass::Psychostimulants => "Psychostimulants",
            MedClass::Maois => "MAOIs",
            MedClass::Opioids => "Opioids",
            MedClass::OtherRespiratoryDepressants => "Other respiratory depressants",
        }
    }

    /// The short word typed for it in the console's question.
    pub fn word(self) -> &'static str {
        match self {
            MedClass::Benzodiazepines => "benzo",
            MedClass::SedativeHypnotics => "hypnotic",
            MedClass::Psychostimulants => "stimulant",
            MedClass::Maois => "maoi",
            MedClass::Opioids => "opioid",
            MedClass::OtherRespiratoryDepressants => "depressant",
        }
    }

    /// The class a typed word names: its short word, the word with an `s`, or the label.
    pub fn from_word(w: &str) -> Option<MedClass> {
        let w = w.trim().to_lowercase();
        MedClass::ALL.into_iter().find(|c| {
            w == c.word() || w == format!("{}s", c.word()) || w == c.label().to_lowercase()
        })
    }
}

/// The concomitant medications of a session by the form's classes: the classes the patient takes
/// (every other class is "no") and, optionally, the medicines' names. A medication list on the
/// patient's record can fill it with [`ConcomitantMedications::from_classes`]; until there is one
/// it is asked at the start of a REMS session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcomitantMedications {
    /// The classes answered "yes"; empty means "none of them".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<MedClass>,
    /// What was named, e.g. "lorazepam 0.5 mg at night".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl ConcomitantMedications {
    /// From classes found elsewhere (a medication list), sorted and without repeats.
    pub fn from_classes(classes: impl IntoIterator<Item = MedClass>, detail: &str) -> Self {
        let mut classes: Vec<MedClass> = classes.into_iter().collect();
        classes.sort();
        classes.dedup();
        Self {
            classes,
            detail: detail.trim().to_owned(),
        }
    }

    /// Reads the console's answer: `none`, or the classes' words separated by commas or spaces,
    /// optionally followed by `:` and the medicines' names ("benzo, opioid: lorazepam, tramadol").
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (head, detail) = match t.split_once(':') {
            Some((h, d)) => (h, d.trim()),
            None => (t, ""),
        };
        let words: Vec<&str> = head
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Err(format!(
                "type none, or the classes taken: {}",
                Self::words_hint()
            ));
        }
        if words.len() == 1 && words[0].eq_ignore_ascii_case("none") {
            return Ok(Self::from_classes([], detail));
        }
        let mut classes = Vec::new();
        for w in words {
            match MedClass::from_word(w) {
                Some(c) => classes.push(c),
                None => {
                    return Err(format!(
                        "\"{w}\" is not one of the form's classes: {}; or none",
                        Self::words_hint()
                    ));
                }
            }
        }
        Ok(Self::from_classes(classes, detail))
    }

    /// "benzo, hypnotic, stimulant, maoi, opioid, depressant".
    pub fn words_hint() -> String {
        MedClass::ALL
            .iter()
            .map(|c| c.word())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The answer as it is typed in the console ("none", "benzo, opioid: lorazepam"), which
    /// [`ConcomitantMedications::parse`] reads back.
    pub fn as_typed(&self) -> String {
        let mut out = if self.classes.is_empty() {
            "none".to_owned()
        } else {
            self.classes
                .iter()
                .map(|c| c.word())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }

    pub fn takes(&self, class: MedClass) -> bool {
        self.classes.contains(&class)
    }
}

/// The REMS form's answers kept on a session that its readings do not give.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemsAnswers {
    /// Whether this is the patient's first esketamine treatment (worked out when the session
    /// starts, from the patient's earlier sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_treatment: Option<bool>,
    /// On a first treatment: whether the patient is enrolled in the REMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<bool>,
    /// Asked at the start of the session; `None` until answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concomitant: Option<ConcomitantMedications>,
}

/// The monitoring health-care provider and the treatment setting, as the form asks for them:
/// `[clinic]` in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clinic {
    /// The monitoring health-care provider's name.
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The healthcare setting's name.
    #[serde(default)]
    pub setting_name: Option<String>,
    /// Street address of the setting.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
}

impl Clinic {
    /// Each field with its key in config.toml and its value when it has text.
    pub fn fields(&self) -> [(&'static str, &'static str, Option<&str>); 8] {
        fn v(o: &Option<String>) -> Option<&str> {
            o.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        [
            ("provider_name", "Provider name", v(&self.provider_name)),
            ("phone", "Provider phone", v(&self.phone)),
            ("email", "Provider email", v(&self.email)),
            ("setting_name", "Setting name", v(&self.setting_name)),
            ("address", "Setting address", v(&self.address)),
            ("city", "City", v(&self.city)),
            ("state", "State", v(&self.state)),
            ("zip", "ZIP", v(&self.zip)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_reads_none_or_the_classes_with_names() {
        assert_eq!(
            ConcomitantMedications::parse(" None ").unwrap(),
            ConcomitantMedications::default()
        );
        let m =
            ConcomitantMedications::parse("opioids, benzo: lorazepam 0.5 mg, tramadol").unwrap();
        assert_eq!(
            m.classes,
            vec![MedClass::Benzodiazepines, MedClass::Opioids]
        );
        assert_eq!(m.detail, "lorazepam 0.5 mg, tramadol");
        let e = ConcomitantMedications::parse("benzo aspirin").unwrap_err();
        assert!(
            e.starts_with("\"aspirin\" is not one of the form's classes"),
            "{e}"
        );
        assert!(ConcomitantMedications::parse(" ").is_err());
    }

    #[test]
    fn older_sessions_without_answers_still_read() {
        let a: RemsAnswers = serde_json::from_str("{}").unwrap();
        assert_eq!(a, RemsAnswers::default());
        let json = serde_json::to_string(&RemsAnswers {
            concomitant: Some(ConcomitantMedications::from_classes(
                [MedClass::Maois, MedClass::Benzodiazepines],
                "",
            )),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"concomitant":{"classes":["benzodiazepines","maois"]}}"#
        );
    }
}
