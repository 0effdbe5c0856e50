//! Standard measures: PHQ-9 and GAD-7 with their exact published scoring, and clinician-entered
//! totals for the experience scales whose item texts kitnotes does not ship.
//!
//! Scoring follows Kroenke, Spitzer & Williams 2001 (PHQ-9) and Spitzer et al. 2006 (GAD-7), as
//! summarised in ../shared/domain.md. Public code gets the bands wrong; the tests here check
//! every boundary.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// LOINC codes for exchange (FHIR). Checked against domain.md; do not swap them.
pub mod loinc {
    /// PHQ-9 quick depression assessment panel.
    pub const PHQ9_PANEL: &str = "44249-1";
    /// PHQ-9 total score.
    pub const PHQ9_TOTAL: &str = "44261-6";
    /// PHQ-9 item 9: thoughts that you would be better off dead or of hurting yourself.
    pub const PHQ9_ITEM9: &str = "44260-8";
    /// GAD-7 panel.
    pub const GAD7_PANEL: &str = "69737-5";
    /// GAD-7 total score.
    pub const GAD7_TOTAL: &str = "70274-6";
}

/// The answer scale both PHQ-9 and GAD-7 use, item by item.
pub const ANSWER_LABELS: [&str; 4] = [
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
];

/// The question both instruments ask before their items.
pub const STEM: &str =
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?";

/// PHQ-9 items (public domain; Pfizer grants free reproduction).
pub const PHQ9_ITEMS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
];

/// GAD-7 items (same terms as PHQ-9).
pub const GAD7_ITEMS: [&str; 7] = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
];

/// Which instrument a measure uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Instrument {
    /// Patient Health Questionnaire, 9 items, depression.
    Phq9,
    /// Generalized Anxiety Disorder scale, 7 items.
    Gad7,
    /// Clinician-Administered Dissociative States Scale: total entered by the clinician.
    Cadss,
    /// Mystical Experience Questionnaire (30 items): total entered by the clinician.
    Meq30,
    /// Emotional Breakthrough Inventory: total entered by the clinician.
    Ebi,
    /// Challenging Experience Questionnaire: total entered by the clinician.
    Ceq,
}

impl Instrument {
    pub const ALL: [Instrument; 6] = [
        Instrument::Phq9,
        Instrument::Gad7,
        Instrument::Cadss,
        Instrument::Meq30,
        Instrument::Ebi,
        Instrument::Ceq,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Phq9 => "phq9",
            Instrument::Gad7 => "gad7",
            Instrument::Cadss => "cadss",
            Instrument::Meq30 => "meq30",
            Instrument::Ebi => "ebi",
            Instrument::Ceq => "ceq",
        }
    }

    /// The name clinicians write.
    pub fn label(self) -> &'static str {
        match self {
            Instrument::Phq9 => "PHQ-9",
            Instrument::Gad7 => "GAD-7",
            Instrument::Cadss => "CADSS",
            Instrument::Meq30 => "MEQ30",
            Instrument::Ebi => "EBI",
            Instrument::Ceq => "CEQ",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// The item texts, for instruments kitnotes scores itself; `None` for entered totals.
    pub fn items(self) -> Option<&'static [&'static str]> {
        match self {
            Instrument::Phq9 => Some(&PHQ9_ITEMS),
            Instrument::Gad7 => Some(&GAD7_ITEMS),
            _ => None,
        }
    }
}

/// The range of a clinician-entered total, from the instrument's published item count and item
/// range (domain.md, "Instruments"). MEQ30 is often reported as a mean (0-5): a value with a
/// fraction up to `mean_max` is taken as one. (EBI's mean, 0-100, lies inside its total's range.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TotalRange {
    pub max: f64,
    /// Whether totals are whole numbers (items scored in whole points).
    pub whole: bool,
    /// A value with a fraction up to this is a mean of the items, not a total.
    pub mean_max: Option<f64>,
    /// How the total is made, for messages: "23 items scored 0-4".
    pub made_of: &'static str,
}

impl Instrument {
    /// The range of an entered total; `None` for instruments scored from their items. CADSS is
    /// the 23 subjective items (0-92), the total the ketamine trials report; the 5 observer
    /// items (which would make 0-112) are not part of it.
    pub fn total_range(self) -> Option<TotalRange> {
        let (max, whole, mean_max, made_of) = match self {
            Instrument::Phq9 | Instrument::Gad7 => return None,
            Instrument::Cadss => (
                92.0,
                true,
                None,
                "23 subjective items scored 0-4; the observer items are not part of it",
            ),
            Instrument::Meq30 => (150.0, true, Some(5.0), "30 items scored 0-5"),
            Instrument::Ebi => (600.0, false, None, "6 items scored 0-100"),
            Instrument::Ceq => (130.0, true, None, "26 items scored 0-5"),
        };
        Some(TotalRange {
            max,
            whole,
            mean_max,
            made_of,
        })
    }

    /// Why `total` cannot be a total of this instrument, or `None` when it can.
    pub fn total_error(self, total: f64) -> Option<String> {
        let r = self.total_range()?;
        let label = self.label();
        let kind = if r.whole {
            "a whole number"
        } else {
            "a number"
        };
        let or_mean = r
            .mean_max
            .map_or(String::new(), |m| format!(", or a mean from 0 to {m}"));
        let refusal = || {
            Some(format!(
                "a {label} total is {kind} from 0 to {} ({}){or_mean}, not {total}",
                r.max, r.made_of
            ))
        };
        if !total.is_finite() || !(0.0..=r.max).contains(&total) {
            return refusal();
        }
        let a_mean = r.mean_max.is_some_and(|m| total <= m);
        if r.whole && total.fract() != 0.0 && !a_mean {
            return refusal();
        }
        None
    }

    /// The instrument a scale name as typed names ("cadss", "MEQ30", "meq-30"), if any.
    pub fn from_label(name: &str) -> Option<Self> {
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Self::parse(&n)
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Severity bands of a total score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Minimal,
    Mild,
    Moderate,
    ModeratelySevere,
    Severe,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Minimal => "minimal",
            Band::Mild => "mild",
            Band::Moderate => "moderate",
            Band::ModeratelySevere => "moderately_severe",
            Band::Severe => "severe",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Band::Minimal => "minimal",
            Band::Mild => "mild",
            Band::Moderate => "moderate",
            Band::ModeratelySevere => "moderately severe",
            Band::Severe => "severe",
        }
    }
}

/// PHQ-9 bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe.
pub fn phq9_band(total: u8) -> Band {
    match total {
        0..=4 => Band::Minimal,
        5..=9 => Band::Mild,
        10..=14 => Band::Moderate,
        15..=19 => Band::ModeratelySevere,
        _ => Band::Severe,
    }
}

/// GAD-7 bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe (no "moderately severe").
pub fn gad7_band(total: u8) -> Band {
    match total {
        0..=4 => Band::Minimal,
        5..=9 => Band::Mild,
        10..=14 => Band::Moderate,
        _ => Band::Severe,
    }
}

/// A scored measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// PHQ-9 or GAD-7, scored by kitnotes. `item9_flag` is only ever true for PHQ-9.
    Scored {
        total: u8,
        band: Band,
        item9_flag: bool,
    },
    /// A total the clinician entered for a scale kitnotes does not score itself.
    Entered(f64),
}

impl Score {
    /// The total as a number, for charts and exports.
    pub fn total(&self) -> f64 {
        match *self {
            Score::Scored { total, .. } => f64::from(total),
            Score::Entered(t) => t,
        }
    }

    pub fn band(&self) -> Option<Band> {
        match *self {
            Score::Scored { band, .. } => Some(band),
            Score::Entered(_) => None,
        }
    }

    /// PHQ-9 item 9 above 0: needs follow-up whatever the total.
    pub fn item9_flag(&self) -> bool {
        matches!(
            *self,
            Score::Scored {
                item9_flag: true,
                ..
            }
        )
    }
}

/// One administration of an instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub id: RecordId,
    pub patient: PatientId,
    pub instrument: Instrument,
    pub at: Timestamp,
    /// Item responses (0-3) for PHQ-9 and GAD-7, in item order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<u8>,
    /// The total for clinician-entered scales (CADSS, MEQ30, EBI, CEQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_total: Option<f64>,
    /// The dosing session the measure was taken at, if any (CADSS usually is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<RecordId>,
}

/// The largest total of a scale kitnotes does not know (a dissociation scale other than the
/// four); the known ones have their own ranges ([`Instrument::total_range`]).
pub const MAX_ENTERED_TOTAL: f64 = 10_000.0;

impl Measure {
    /// Scores the measure by the published rules, or says which field is wrong.
    pub fn score(&self) -> Result<Score, ValidationError> {
        match self.instrument.items() {
            Some(texts) => {
                if self.entered_total.is_some() {
                    return Err(ValidationError::new(
                        "total",
                        format!(
                            "{} is scored from its items; give items, not a total",
                            self.instrument.label()
                        ),
                    ));
                }
                if self.items.len() != texts.len() {
                    return Err(ValidationError::new(
                        "items",
                        format!(
                            "{} has {} items, found {}",
                            self.instrument.label(),
                            texts.len(),
                            self.items.len()
                        ),
                    ));
                }
                if let Some((i, v)) = self.items.iter().enumerate().find(|(_, v)| **v > 3) {
                    return Err(ValidationError::new(
                        format!("items[{i}]"),
                        format!("item {} is {v}; each item is scored 0 to 3", i + 1),
                    ));
                }
                let total: u8 = self.items.iter().sum();
                let (band, item9_flag) = match self.instrument {
                    Instrument::Phq9 => (phq9_band(total), self.items[8] > 0),
                    _ => (gad7_band(total), false),
                };
                Ok(Score::Scored {
                    total,
                    band,
                    item9_flag,
                })
            }
            None => {
                if !self.items.is_empty() {
                    return Err(ValidationError::new(
                        "items",
                        format!(
                            "kitnotes records only the total for {}; give `total`, not items",
                            self.instrument.label()
                        ),
                    ));
                }
                match self.entered_total {
                    Some(t) => match self.instrument.total_error(t) {
                        None => Ok(Score::Entered(t)),
                        Some(why) => Err(ValidationError::new("total", why)),
                    },
                    None => Err(ValidationError::new(
                        "total",
                        format!("{} needs its total", self.instrument.label()),
                    )),
                }
            }
        }
    }
}

/// How a score compares with the course's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The baseline total, if the course has one.
    pub baseline: Option<u8>,
    pub current: u8,
    /// Percent change from baseline (negative is improvement); `None` without a usable baseline.
    pub change_percent: Option<f64>,
    /// Response: the total dropped by at least 50% from baseline. Never true without a baseline
    /// above 0 (check `baseline` to tell "no response" from "no baseline yet").
    pub response: bool,
    /// Remission: PHQ-9 total below 5. `None` for instruments where domain.md defines none.
    pub remission: Option<bool>,
}

/// Compares a PHQ-9 or GAD-7 total with the baseline total of the same instrument.
///
/// Response is a drop of at least 50% from baseline (`current * 2 <= baseline`, exact in
/// integers); without a baseline, or with a baseline of 0 that cannot halve, there is no response.
/// Remission is defined for PHQ-9 only: a total below 5, whatever the baseline.
pub fn outcome(instrument: Instrument, baseline: Option<u8>, current: u8) -> Outcome {
    let usable = baseline.filter(|b| *b > 0);
    Outcome {
        baseline,
        current,
        change_percent: usable.map(|b| (f64::from(current) - f64::from(b)) * 100.0 / f64::from(b)),
        response: usable.is_some_and(|b| u16::from(current) * 2 <= u16::from(b)),
        remission: (instrument == Instrument::Phq9).then_some(current < 5),
    }
}

/// The course baseline: the earliest measure of `instrument` that scores (ties broken by id).
pub fn baseline<'a>(
    measures: impl IntoIterator<Item = &'a Measure>,
    instrument: Instrument,
) -> Option<&'a Measure> {
    measures
        .into_iter()
        .filter(|m| m.instrument == instrument && m.score().is_ok())
        .min_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(instrument: Instrument, items: Vec<u8>) -> Measure {
        Measure {
            id: RecordId::parse("m1").unwrap(),
            patient: PatientId::parse("p1").unwrap(),
            instrument,
            at: "2026-03-02T10:00:00Z".parse().unwrap(),
            items,
            entered_total: None,
            session: None,
        }
    }

    /// Items summing to `total` with item 9 = 0 (so the flag is tested separately).
    fn phq9_items(total: u8) -> Vec<u8> {
        let mut items = vec![0u8; 9];
        let mut left = total;
        for slot in items.iter_mut().take(8) {
            let v = left.min(3);
            *slot = v;
            left -= v;
        }
        assert_eq!(left, 0, "PHQ-9 items 1-8 reach only 24");
        items
    }

    #[test]
    fn phq9_bands_at_every_boundary() {
        let expect = [
            (0, Band::Minimal),
            (4, Band::Minimal),
            (5, Band::Mild),
            (9, Band::Mild),
            (10, Band::Moderate),
            (14, Band::Moderate),
            (15, Band::ModeratelySevere),
            (19, Band::ModeratelySevere),
            (20, Band::Severe),
            (27, Band::Severe),
        ];
        for (total, band) in expect {
            assert_eq!(phq9_band(total), band, "PHQ-9 total {total}");
        }
        // And through the whole scoring path, from items.
        for total in 0..=24 {
            let s = measure(Instrument::Phq9, phq9_items(total))
                .score()
                .unwrap();
            assert_eq!(s.total(), f64::from(total));
            assert_eq!(s.band(), Some(phq9_band(total)));
            assert!(!s.item9_flag());
        }
        let max = measure(Instrument::Phq9, vec![3; 9]).score().unwrap();
        assert_eq!(max.total(), 27.0);
        assert_eq!(max.band(), Some(Band::Severe));
    }

    #[test]
    fn gad7_bands_at_every_boundary_and_no_moderately_severe() {
        let expect = [
            (0, Band::Minimal),
            (4, Band::Minimal),
            (5, Band::Mild),
            (9, Band::Mild),
            (10, Band::Moderate),
            (14, Band::Moderate),
            (15, Band::Severe),
            (19, Band::Severe),
            (21, Band::Severe),
        ];
        for (total, band) in expect {
            assert_eq!(gad7_band(total), band, "GAD-7 total {total}");
        }
        let s = measure(Instrument::Gad7, vec![3, 3, 3, 3, 3, 3, 3])
            .score()
            .unwrap();
        assert_eq!((s.total(), s.band()), (21.0, Some(Band::Severe)));
        let s = measure(Instrument::Gad7, vec![3, 3, 3, 3, 3, 0, 0])
            .score()
            .unwrap();
        assert_eq!((s.total(), s.band()), (15.0, Some(Band::Severe)));
    }

    #[test]
    fn phq9_item9_above_zero_flags_whatever_the_total() {
        let mut items = vec![0u8; 9];
        items[8] = 1;
        let s = measure(Instrument::Phq9, items).score().unwrap();
        assert_eq!(s.total(), 1.0);
        assert_eq!(s.band(), Some(Band::Minimal));
        assert!(
            s.item9_flag(),
            "item 9 = 1 with a minimal total still needs follow-up"
        );
        let s = measure(Instrument::Phq9, vec![3, 3, 3, 3, 3, 3, 3, 3, 0])
            .score()
            .unwrap();
        assert!(!s.item9_flag());
    }

    #[test]
    fn gad7_never_raises_the_item9_flag() {
        let s = measure(Instrument::Gad7, vec![3; 7]).score().unwrap();
        assert!(!s.item9_flag());
    }

    #[test]
    fn wrong_item_counts_and_ranges_name_the_field() {
        let e = measure(Instrument::Phq9, vec![0; 8]).score().unwrap_err();
        assert_eq!(e.field, "items");
        assert_eq!(e.message, "PHQ-9 has 9 items, found 8");
        let e = measure(Instrument::Gad7, vec![0, 0, 4, 0, 0, 0, 0])
            .score()
            .unwrap_err();
        assert_eq!(e.field, "items[2]");
        assert_eq!(e.message, "item 3 is 4; each item is scored 0 to 3");
        let mut m = measure(Instrument::Cadss, vec![]);
        assert_eq!(m.score().unwrap_err().field, "total");
        m.entered_total = Some(f64::NAN);
        assert_eq!(m.score().unwrap_err().field, "total");
        m.entered_total = Some(17.0);
        assert_eq!(m.score().unwrap(), Score::Entered(17.0));
        m.items = vec![1];
        assert_eq!(m.score().unwrap_err().field, "items");
    }

    #[test]
    fn response_is_a_drop_of_at_least_half_from_baseline() {
        // 20 -> 10 is exactly 50%: response.
        assert!(outcome(Instrument::Phq9, Some(20), 10).response);
        // 20 -> 11 is 45%: no response.
        assert!(!outcome(Instrument::Phq9, Some(20), 11).response);
        // Odd baseline: 15 -> 7 is 53%, 15 -> 8 is 47%.
        assert!(outcome(Instrument::Phq9, Some(15), 7).response);
        assert!(!outcome(Instrument::Phq9, Some(15), 8).response);
        assert!(outcome(Instrument::Gad7, Some(16), 8).response);
        let o = outcome(Instrument::Phq9, Some(20), 10);
        assert_eq!(o.change_percent, Some(-50.0));
    }

    #[test]
    fn remission_is_phq9_below_five_only() {
        assert_eq!(outcome(Instrument::Phq9, Some(20), 4).remission, Some(true));
        assert_eq!(
            outcome(Instrument::Phq9, Some(20), 5).remission,
            Some(false)
        );
        assert_eq!(outcome(Instrument::Gad7, Some(20), 2).remission, None);
    }

    #[test]
    fn missing_or_zero_baseline_gives_no_response_but_remission_still_counts() {
        let o = outcome(Instrument::Phq9, None, 3);
        assert!(!o.response);
        assert_eq!(o.change_percent, None);
        assert_eq!(o.remission, Some(true));
        let o = outcome(Instrument::Phq9, Some(0), 0);
        assert!(!o.response, "a baseline of 0 cannot drop by half");
        assert_eq!(o.change_percent, None);
    }

    #[test]
    fn baseline_is_the_earliest_scorable_measure_of_that_instrument() {
        let mut first = measure(Instrument::Phq9, phq9_items(18));
        first.at = "2026-01-05T09:00:00Z".parse().unwrap();
        let mut broken = measure(Instrument::Phq9, vec![1, 2]);
        broken.at = "2026-01-01T09:00:00Z".parse().unwrap();
        let later = measure(Instrument::Phq9, phq9_items(6));
        let mut gad = measure(Instrument::Gad7, vec![1; 7]);
        gad.at = "2025-12-01T09:00:00Z".parse().unwrap();
        let all = [later.clone(), broken, gad, first.clone()];
        assert_eq!(baseline(&all, Instrument::Phq9), Some(&first));
        assert_eq!(baseline(&all[..1], Instrument::Gad7), None);
    }

    #[test]
    fn loinc_codes_match_domain_md() {
        assert_eq!(loinc::PHQ9_PANEL, "44249-1");
        assert_eq!(loinc::PHQ9_TOTAL, "44261-6");
        assert_eq!(loinc::PHQ9_ITEM9, "44260-8");
        assert_eq!(loinc::GAD7_PANEL, "69737-5");
        assert_eq!(loinc::GAD7_TOTAL, "70274-6");
        assert_eq!(Instrument::Phq9.items().unwrap().len(), 9);
        assert_eq!(Instrument::Gad7.items().unwrap().len(), 7);
        assert!(
            Instrument::Cadss.items().is_none(),
            "CADSS item texts are not shipped"
        );
    }
}
