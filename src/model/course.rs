//! Measurement-based care over a course: each instrument's scores in time order, and how the
//! latest compares with the baseline (response, remission), in the words the Course view and
//! the exports use.

use super::measure::{Band, Instrument, Outcome, Score, outcome};
use super::timeline::PatientRecords;
use jiff::Timestamp;

/// One scored PHQ-9 or GAD-7.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScorePoint {
    pub at: Timestamp,
    pub total: u8,
    pub band: Band,
    /// PHQ-9 item 9, when above 0.
    pub item9: Option<u8>,
}

/// The scored measures of `instrument`, oldest first. Measures that do not score (a file can
/// hold one) are left out, as they are of the baseline.
pub fn series(r: &PatientRecords, instrument: Instrument) -> Vec<ScorePoint> {
    let mut out: Vec<(ScorePoint, &str)> = r
        .measures
        .iter()
        .filter(|m| m.instrument == instrument)
        .filter_map(|m| match m.score() {
            Ok(Score::Scored {
                total,
                band,
                item9_flag,
            }) => Some((
                ScorePoint {
                    at: m.at,
                    total,
                    band,
                    item9: item9_flag.then(|| m.items[8]),
                },
                m.id.as_str(),
            )),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| (a.0.at, a.1).cmp(&(b.0.at, b.1)));
    out.into_iter().map(|(p, _)| p).collect()
}

/// The latest score of an instrument against the course baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub instrument: Instrument,
    pub latest: ScorePoint,
    /// The baseline, when the latest is not itself the baseline.
    pub baseline: Option<ScorePoint>,
    pub outcome: Outcome,
}

impl Progress {
    /// "PHQ-9 18 → 6 mild (−67%), response", "GAD-7 12 moderate (baseline)"; remission is
    /// named for PHQ-9 only. Item 9 is left to the caller, which shows it loudly.
    pub fn describe(&self) -> String {
        let l = &self.latest;
        let mut s = match self.baseline {
            Some(b) => format!(
                "{} {} → {} {}",
                self.instrument.label(),
                b.total,
                l.total,
                l.band.label()
            ),
            None => format!(
                "{} {} {} (baseline)",
                self.instrument.label(),
                l.total,
                l.band.label()
            ),
        };
        if let Some(p) = self
            .outcome
            .change_percent
            .filter(|_| self.baseline.is_some())
        {
            s.push_str(&format!(" ({})", signed_percent(p)));
        }
        // A single score is where the course starts, not an outcome: no verdict on it.
        let mut verdicts = Vec::new();
        if self.baseline.is_none() {
            return s;
        }
        if self.outcome.response {
            verdicts.push("response");
        }
        if self.outcome.remission == Some(true) {
            verdicts.push("remission");
        }
        if !verdicts.is_empty() {
            s.push_str(", ");
            s.push_str(&verdicts.join(", "));
        }
        s
    }
}

/// "−67%", "+20%", "0%": a minus sign that reads as one, rounded to whole percent.
fn signed_percent(p: f64) -> String {
    let r = p.round();
    if r < 0.0 {
        format!("\u{2212}{}%", -r)
    } else if r > 0.0 {
        format!("+{r}%")
    } else {
        "0%".to_string()
    }
}

/// How the instrument's latest score compares with the baseline (the earliest scored one);
/// `None` when it has never been scored.
pub fn progress(r: &PatientRecords, instrument: Instrument) -> Option<Progress> {
    // The series is already the scored measures in (time, id) order, so its first point is
    // `measure::baseline`'s pick, without scoring every measure a second time.
    let points = series(r, instrument);
    let latest = *points.last()?;
    let baseline = (points.len() > 1).then(|| points[0]);
    Some(Progress {
        instrument,
        latest,
        baseline,
        outcome: outcome(instrument, baseline.map(|b| b.total), latest.total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Measure, Patient, PatientId, RecordId};

    fn with(scores: &[(&str, Instrument, Vec<u8>)]) -> PatientRecords {
        let pid = PatientId::parse("p1").unwrap();
        let mut r = PatientRecords::new(Patient::new(pid.clone(), "Test Person"));
        for (i, (at, instrument, items)) in scores.iter().enumerate() {
            r.measures.push(Measure {
                id: RecordId::parse(&format!("m{i}")).unwrap(),
                patient: pid.clone(),
                instrument: *instrument,
                at: at.parse().unwrap(),
                items: items.clone(),
                entered_total: None,
                session: None,
            });
        }
        r
    }

    fn phq(total: u8, item9: u8) -> Vec<u8> {
        let mut items = vec![0u8; 9];
        items[8] = item9;
        let mut left = total - item9;
        for slot in items.iter_mut().take(8) {
            let v = left.min(3);
            *slot = v;
            left -= v;
        }
        items
    }

    #[test]
    fn no_scores_no_progress_and_one_score_is_the_baseline() {
        assert_eq!(progress(&with(&[]), Instrument::Phq9), None);
        let r = with(&[("2026-03-01T10:00:00Z", Instrument::Phq9, phq(14, 0))]);
        let p = progress(&r, Instrument::Phq9).unwrap();
        assert_eq!(p.describe(), "PHQ-9 14 moderate (baseline)");
        assert!(!p.outcome.response);
        assert_eq!(p.baseline, None);
        // A low first score is not a remission: nothing has been treated yet.
        let r = with(&[("2026-03-01T10:00:00Z", Instrument::Phq9, phq(3, 0))]);
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 3 minimal (baseline)"
        );
    }

    #[test]
    fn response_and_remission_read_in_words() {
        let r = with(&[
            ("2026-03-20T10:00:00Z", Instrument::Phq9, phq(4, 0)),
            ("2026-03-01T10:00:00Z", Instrument::Phq9, phq(18, 1)),
            ("2026-03-10T10:00:00Z", Instrument::Phq9, phq(10, 0)),
            ("2026-03-01T10:00:00Z", Instrument::Gad7, vec![2; 7]),
            (
                "2026-03-20T10:00:00Z",
                Instrument::Gad7,
                vec![1, 1, 1, 1, 1, 1, 2],
            ),
        ]);
        let s = series(&r, Instrument::Phq9);
        assert_eq!(
            s.iter().map(|p| p.total).collect::<Vec<_>>(),
            [18, 10, 4],
            "oldest first"
        );
        assert_eq!(s[0].item9, Some(1));
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 18 → 4 minimal (\u{2212}78%), response, remission"
        );
        // GAD-7 14 -> 8 is a 43% drop: no response, and GAD-7 has no remission rule here.
        assert_eq!(
            progress(&r, Instrument::Gad7).unwrap().describe(),
            "GAD-7 14 → 8 mild (\u{2212}43%)"
        );
    }

    #[test]
    fn a_rise_is_shown_with_a_plus() {
        let r = with(&[
            ("2026-03-01T10:00:00Z", Instrument::Phq9, phq(10, 0)),
            ("2026-03-10T10:00:00Z", Instrument::Phq9, phq(12, 0)),
        ]);
        assert_eq!(
            progress(&r, Instrument::Phq9).unwrap().describe(),
            "PHQ-9 10 → 12 moderate (+20%)"
        );
    }
}
