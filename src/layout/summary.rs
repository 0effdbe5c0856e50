//! The course summary laid out as lines of text for a screen width: the app scrolls by them,
//! the ui styles them by their tone.

use crate::model::summary::Summary;
use jiff::tz::TimeZone;

/// What a summary line is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Heading,
    Text,
    Dim,
    Alert,
}

/// The summary as lines of text with their tone, for a screen `width` columns wide.
pub fn lines(s: &Summary, tz: &TimeZone, width: u16) -> Vec<(Tone, String)> {
    let day = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
    let wide = width >= 100;
    let mut out = vec![(Tone::Heading, "Courses".to_owned())];
    if s.courses.is_empty() {
        out.push((Tone::Dim, "  no doses yet".to_owned()));
    }
    out.extend(s.courses.iter().map(|c| (Tone::Text, format!("  {c}"))));
    out.push((Tone::Text, String::new()));
    for (kind, entries) in &s.lists {
        let heading = match kind {
            crate::model::lists::ListKind::Problem => "Problems",
            crate::model::lists::ListKind::Medication => "Medications",
            crate::model::lists::ListKind::Allergy => "Allergies",
        };
        if entries.is_empty() {
            out.push((Tone::Dim, format!("{heading}: none recorded")));
            continue;
        }
        out.push((Tone::Heading, heading.to_owned()));
        let alert = *kind == crate::model::lists::ListKind::Allergy;
        for (e, current) in entries {
            let tone = if !current {
                Tone::Dim
            } else if alert {
                Tone::Alert
            } else {
                Tone::Text
            };
            out.push((tone, format!("  {e}")));
        }
    }
    if out.last().is_some_and(|l| !l.1.is_empty()) {
        out.push((Tone::Text, String::new()));
    }
    out.push((Tone::Heading, "Scores".to_owned()));
    if s.scores.is_empty() {
        out.push((Tone::Dim, "  no PHQ-9 or GAD-7 yet".to_owned()));
    }
    for r in &s.scores {
        let mut line = if wide {
            format!(
                "  {}  {:<5} {:>2} {:<17} course {} {:<18} {}",
                day(r.at),
                r.instrument.label(),
                r.total,
                r.band,
                r.course,
                r.place,
                r.change
            )
        } else {
            format!(
                "  {} {:<5} {:>2} {:<17} c{} {:<10} {}",
                day(r.at),
                r.instrument.label(),
                r.total,
                r.band,
                r.course,
                r.place.replace("session ", "s"),
                r.change
            )
        };
        let mut tone = Tone::Text;
        if let Some(i9) = r.item9 {
            line.push_str(&format!("  ITEM 9 = {i9}"));
            tone = Tone::Alert;
        }
        out.push((tone, line));
    }
    out.push((Tone::Text, String::new()));
    out.push((Tone::Heading, "Dosing sessions".to_owned()));
    if s.sessions.is_empty() {
        out.push((Tone::Dim, "  none yet".to_owned()));
    }
    for r in &s.sessions {
        let number = r
            .number
            .map_or_else(|| "  -".to_owned(), |n| format!("{n:>3}"));
        let open = if r.signed { "" } else { "  (not signed)" };
        let mut line = if wide {
            format!(
                "  {}  course {} session {number}  {}{open}",
                day(r.at),
                r.course,
                r.dose
            )
        } else {
            format!(
                "  {} c{} s{}  {}{open}",
                day(r.at),
                r.course,
                number.trim(),
                r.dose
            )
        };
        let alert = !r.flags.is_empty() || !r.adverse.is_empty();
        if !r.flags.is_empty() {
            line.push_str(&format!("  flags: {}", r.flags.join(", ")));
        }
        out.push((if alert { Tone::Alert } else { Tone::Text }, line));
        for a in &r.adverse {
            let a = if wide { a.clone() } else { cut(a, 60) };
            out.push((Tone::Alert, format!("      adverse event: {a}")));
        }
    }
    out.push((Tone::Text, String::new()));
    out.push((Tone::Heading, "Goals".to_owned()));
    if s.goals.is_empty() {
        out.push((Tone::Dim, "  none yet".to_owned()));
    }
    for g in &s.goals {
        let last = match g.last {
            Some((at, p)) => format!("last check-in {} {p}/10", day(at)),
            None => "no check-in yet".to_owned(),
        };
        let target = g
            .target
            .map_or_else(String::new, |t| format!(", target {t}"));
        out.push((
            Tone::Text,
            format!("  {} ({}{target}): {last}", g.title, g.status.as_str()),
        ));
        if let Some(why) = &g.stalled {
            out.push((Tone::Alert, format!("      STALLED: {why}")));
        }
    }
    out
}

/// `text` cut to `n` characters with `…`.
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
    s.push('…');
    s
}
