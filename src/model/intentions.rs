//! Intentions: what a patient hopes to change, written in the "Intentions" section of a
//! preparation note, and which of them have become integration goals.
//!
//! The preparation template asks for one intention per line ("- ..."), often under a sentence in
//! the patient's own words. So when some lines are bulleted or numbered, those lines are the
//! intentions and the prose around them is not; when none are, every non-empty line is one.

use super::goal::IntegrationGoal;
use super::ids::RecordId;
use super::note::{Note, NoteKind};

/// The heading of the section the intentions are read from (matched ignoring case and spaces
/// around it, since clinicians' own templates may spell it "intentions").
pub const SECTION: &str = "Intentions";

/// The intentions written in `body`, in order, bullets and numbering removed, each trimmed.
pub fn parse_intentions(body: &str) -> Vec<String> {
    let lines: Vec<(bool, &str)> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match strip_bullet(l) {
            Some(rest) => (true, rest),
            None => (false, l),
        })
        .collect();
    let any_bullet = lines.iter().any(|(bulleted, _)| *bulleted);
    lines
        .into_iter()
        .filter(|(bulleted, text)| (*bulleted || !any_bullet) && !text.is_empty())
        .map(|(_, text)| text.to_string())
        .collect()
}

/// The text after a leading bullet ("-", "*", "•") or number ("1.", "12)"), or `None` when the
/// line has neither. A bullet must be followed by a space, so "-5 kg" or "3.5 hours" stay text.
fn strip_bullet(line: &str) -> Option<&str> {
    for bullet in ['-', '*', '•'] {
        if let Some(rest) = line.strip_prefix(bullet)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            return Some(rest.trim());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let rest = &line[digits..];
        for mark in ['.', ')'] {
            if let Some(after) = rest.strip_prefix(mark)
                && (after.is_empty() || after.starts_with(char::is_whitespace))
            {
                return Some(after.trim());
            }
        }
    }
    None
}

/// The intentions of a preparation note; none for other kinds of note.
pub fn note_intentions(note: &Note) -> Vec<String> {
    if note.kind != NoteKind::Preparation {
        return Vec::new();
    }
    note.sections
        .iter()
        .filter(|s| s.heading.trim().eq_ignore_ascii_case(SECTION))
        .flat_map(|s| parse_intentions(&s.body))
        .collect()
}

/// Whether two goal titles say the same thing: case, and spacing inside and around, do not count.
pub fn same_title(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_lowercase).collect() };
    words(a) == words(b)
}

/// The goal an intention already became, if any: a goal promoted from this very note with the
/// same title, or a goal with the same title that is still being worked on (active or paused),
/// since the same intention is usually written again in every preparation note of a course.
/// A finished goal from another note does not count: a later course may take it up again.
pub fn promoted_as<'a>(
    goals: &'a [IntegrationGoal],
    note: &RecordId,
    intention: &str,
) -> Option<&'a IntegrationGoal> {
    use super::goal::GoalStatus;
    goals.iter().find(|g| {
        same_title(&g.title, intention)
            && (g.source_note.as_ref() == Some(note)
                || matches!(g.status, GoalStatus::Active | GoalStatus::Paused))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::goal::{GoalStatus, LifeDomain};
    use crate::model::ids::PatientId;
    use crate::model::note::Section;

    #[test]
    fn bulleted_lines_are_the_intentions_and_the_prose_around_them_is_not() {
        let body = "In her own words, she wants 'to feel like a person again'.\n\
                    - Call my sister once a week\n\
                    \n\
                    *   Journal after difficult days  \n\
                    • Play music again\n\
                    1. Walk to work\n\
                    12) Sleep before midnight\n";
        assert_eq!(
            parse_intentions(body),
            [
                "Call my sister once a week",
                "Journal after difficult days",
                "Play music again",
                "Walk to work",
                "Sleep before midnight",
            ]
        );
    }

    #[test]
    fn without_bullets_every_non_empty_line_is_an_intention() {
        assert_eq!(
            parse_intentions("  Be kinder to myself \n\n\nReturn to work part-time\n"),
            ["Be kinder to myself", "Return to work part-time"]
        );
        assert!(parse_intentions("").is_empty());
        assert!(parse_intentions(" \n\t\n").is_empty());
    }

    #[test]
    fn a_dash_or_number_inside_the_text_is_not_a_bullet() {
        assert_eq!(
            parse_intentions("-5 kg by summer\n3.5 hours of sleep more"),
            ["-5 kg by summer", "3.5 hours of sleep more"]
        );
        // An empty bullet is no intention.
        assert_eq!(parse_intentions("-\n- Rest"), ["Rest"]);
    }

    fn note(kind: NoteKind, heading: &str, body: &str) -> Note {
        Note::draft(
            RecordId::parse("n1").unwrap(),
            PatientId::parse("p1").unwrap(),
            kind,
            "2026-03-01T10:00:00Z".parse().unwrap(),
            "Prep",
            vec![
                Section::new("Consent", "- signed"),
                Section::new(heading, body),
            ],
        )
    }

    #[test]
    fn only_the_intentions_section_of_a_preparation_note_counts() {
        let n = note(NoteKind::Preparation, " intentions ", "- Rest more");
        assert_eq!(note_intentions(&n), ["Rest more"]);
        assert!(note_intentions(&note(NoteKind::Integration, "Intentions", "- Rest")).is_empty());
        assert!(note_intentions(&note(NoteKind::Preparation, "Goals", "- Rest")).is_empty());
    }

    #[test]
    fn promoted_means_from_this_note_or_still_worked_on() {
        let goal = |source: &str, title: &str, status| IntegrationGoal {
            id: RecordId::parse("g1").unwrap(),
            patient: PatientId::parse("p1").unwrap(),
            at: "2026-03-01T10:00:00Z".parse().unwrap(),
            title: title.into(),
            domain: LifeDomain::Health,
            status,
            target_date: None,
            source_note: Some(RecordId::parse(source).unwrap()),
            sessions: vec![],
            check_ins: vec![],
        };
        let n1 = RecordId::parse("n1").unwrap();
        let achieved = [goal("n1", "Rest  More", GoalStatus::Achieved)];
        assert!(promoted_as(&achieved, &n1, "rest more").is_some());
        assert!(promoted_as(&achieved, &n1, "rest").is_none());
        let other_note = [goal("n0", "Rest more", GoalStatus::Achieved)];
        assert!(promoted_as(&other_note, &n1, "Rest more").is_none());
        let active_elsewhere = [goal("n0", "Rest more", GoalStatus::Paused)];
        assert!(promoted_as(&active_elsewhere, &n1, "Rest more").is_some());
    }
}
