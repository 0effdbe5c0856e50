//! Reading what the therapist types into the console's line: doses, ratings, yes and no, who
//! collects the patient, clock times. Each says what it expected when the text is not that.

use crate::model::Instrument;
use crate::model::session::DosingSession;
use crate::protocols::UsualDose;
use crate::protocols::session_note::dose_text;
use jiff::Timestamp;

/// Lower-case words of `s`, split at anything not a letter or digit.
pub(super) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parses "56", "56 mg", "0.5 mg/kg", "0.5mg/kg" into a dose.
pub fn parse_dose(text: &str) -> Result<UsualDose, String> {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return Err("type the dose, e.g. 56 or 0.5 mg/kg".into());
    }
    let (number, per_kg) = if let Some(n) = t.strip_suffix("mg/kg") {
        (n.trim(), true)
    } else if let Some(n) = t.strip_suffix("mg") {
        (n.trim(), false)
    } else {
        (t.as_str(), false)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{}\" is not a number of mg or mg/kg", text.trim()))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("the dose must be above 0, not {value}"));
    }
    if per_kg {
        if value > 10.0 {
            return Err(format!("{value} mg/kg is above 10 mg/kg: check the dose"));
        }
        Ok(UsualDose::MgPerKg(value))
    } else {
        if value > 2000.0 {
            return Err(format!("{value} mg is above 2000 mg: check the dose"));
        }
        Ok(UsualDose::Mg(value))
    }
}

pub(super) const NO_WEIGHT: &str =
    "no weight on file for a mg/kg dose: give the dose in mg, or add the weight to the patient";

/// Sets `s`'s dose; a mg/kg dose needs the patient's weight. Returns what to say.
pub(super) fn set_dose(
    s: &mut DosingSession,
    dose: UsualDose,
    weight: Option<f64>,
) -> Result<String, String> {
    if dose.apply_to(s, weight) {
        Ok(format!("Dose {}", dose_text(s)))
    } else {
        Err(NO_WEIGHT.into())
    }
}

/// "CADSS 12", "12" (the scale defaults to CADSS), "MEQ30 96". A known scale's total is checked
/// against its range ([`Instrument::total_range`]).
pub(super) fn parse_dissociation(text: &str) -> Result<(String, f64), String> {
    let t = text.trim();
    let mut parts = t.split_whitespace();
    let (scale, number) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), None, None) => ("CADSS", n),
        (Some(s), Some(n), None) => (s, n),
        _ => return Err("type a score, e.g. 12 or CADSS 12".into()),
    };
    let total: f64 = number
        .parse()
        .map_err(|_| format!("\"{number}\" is not a number"))?;
    if let Some(why) = Instrument::from_label(scale).and_then(|i| i.total_error(total)) {
        return Err(why);
    }
    if !total.is_finite() || !(0.0..=10_000.0).contains(&total) {
        return Err(format!("{total} is outside 0-10000"));
    }
    Ok((scale.to_uppercase(), total))
}

pub(super) fn parse_moaas(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(n) if n <= 5 => Ok(n),
        _ => Err(format!(
            "MOAA/S is a whole number 0-5 (5 = responds readily to name), not \"{}\"",
            text.trim()
        )),
    }
}

pub(super) fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        other => Err(format!("answer y or n, not \"{other}\"")),
    }
}

pub(super) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Who collects a patient without transport arranged, or their refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Collector {
    By(String),
    Refused(String),
}

/// "Sam (partner)" or "refused: will walk home, declined a taxi".
pub(super) fn parse_collector(text: &str) -> Result<Collector, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("type who collects the patient, or refused: and what the patient said".into());
    }
    let lower = t.to_lowercase();
    for word in ["refused", "refuses", "refusal"] {
        if let Some(rest) = lower.strip_prefix(word) {
            let why = t[t.len() - rest.len()..]
                .trim_start_matches([':', ' ', '-', ','])
                .trim();
            if why.is_empty() {
                return Err(
                    "refused: say what the patient said or plans, e.g. refused: will walk home"
                        .into(),
                );
            }
            return Ok(Collector::Refused(why.to_owned()));
        }
    }
    Ok(Collector::By(t.to_owned()))
}

pub(super) fn parse_ready_minutes(text: &str) -> Result<Option<u32>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(m) if m <= 24 * 60 => Ok(Some(m)),
        _ => Err(format!("a number of minutes after the dose, not \"{t}\"")),
    }
}

/// A clock time on T0's day, in `tz`: "14:09", "14:09:30".
pub(super) fn parse_clock_time(
    text: &str,
    t0: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
) -> Result<Timestamp, String> {
    let t = text.trim();
    let bad = || format!("a clock time such as 14:09 or 14:09:30, not \"{t}\"");
    let parts: Vec<&str> = t.split(':').collect();
    let num = |p: &str, max: i8| p.parse::<i8>().ok().filter(|n| (0..=max).contains(n));
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (num(h, 23), num(m, 59), Some(0)),
        [h, m, sec] => (num(h, 23), num(m, 59), num(sec, 59)),
        _ => return Err(bad()),
    };
    let (Some(h), Some(m), Some(sec)) = (h, m, sec) else {
        return Err(bad());
    };
    let day = t0.to_zoned(tz.clone()).date();
    day.at(h, m, sec, 0)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("{t} is not a time on {day}: {e}"))
}
