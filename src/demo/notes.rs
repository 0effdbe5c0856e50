//! The text of preparation, integration and psychotherapy notes, from the phrase banks.

use super::course::Ctx;
use super::profile::Protocol;
use super::text::{self, Intention, Writer};
use crate::model::measure::{gad7_band, phq9_band};
use crate::model::{Note, NoteKind, PatientId, RecordId, Section};
use jiff::Timestamp;

/// Scores taken at the same visit as a note, so the note can mention them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scores {
    pub phq: u8,
    pub gad: u8,
    pub item9: u8,
}

fn scores_line(s: &Scores) -> String {
    let mut line = format!(
        "PHQ-9 {} ({}), GAD-7 {} ({}).",
        s.phq,
        phq9_band(s.phq).label(),
        s.gad,
        gad7_band(s.gad).label()
    );
    if s.item9 > 0 {
        line.push_str(&format!(" PHQ-9 item 9 = {}.", s.item9));
    }
    line
}

/// What the preparation note needs to know about its course.
pub(super) struct PrepContext<'a> {
    pub nth: u32,
    /// A returning patient starting a new course after relapse.
    pub reinduction: bool,
    pub intentions: &'a [&'static Intention],
    pub scores: Option<Scores>,
}

pub(super) fn preparation_note(
    ctx: &mut Ctx<'_>,
    id: RecordId,
    patient: &PatientId,
    at: Timestamp,
    pc: &PrepContext<'_>,
) -> Note {
    let p = ctx.profile;
    let mut w = Writer {
        rng: &mut *ctx.rng,
        voice: &p.voice,
    };
    let mut sections = Vec::with_capacity(8);
    if pc.nth == 1 {
        let mut screening = String::new();
        if pc.reinduction {
            screening.push_str(
                "Returning after relapse following an earlier course; screening repeated. ",
            );
        }
        w.sentence(&mut screening, text::PSYCHOSIS_SCREEN);
        w.sentence(
            &mut screening,
            if p.raised_bp_history {
                text::BP_SCREEN_RAISED
            } else {
                text::BP_SCREEN_NORMAL
            },
        );
        w.sentence(
            &mut screening,
            if p.pregnancy_test {
                text::PREGNANCY_TESTED
            } else {
                text::PREGNANCY_NA
            },
        );
        w.sentence(&mut screening, text::SUBSTANCE_SCREEN);
        let mut interacting = false;
        for (drug, line) in text::MEDS_SCREEN_FOR {
            if p.other_meds.iter().any(|m| m.starts_with(drug)) {
                screening.push(' ');
                screening.push_str(line);
                interacting |= *drug != "amlodipine";
            }
        }
        if !interacting {
            w.sentence(&mut screening, text::MEDS_SCREEN_CLEAR);
        }
        w.sentence(&mut screening, text::PRIOR_TRIALS);
        sections.push(Section::new("Screening and contraindications", screening));

        let mut meds = format!("Current: {}", p.antidepressant);
        for m in &p.other_meds {
            meds.push_str(", ");
            meds.push_str(m);
        }
        meds.push_str(". Continue the antidepressant unchanged through the course.");
        if p.other_meds.iter().any(|m| m.starts_with("lorazepam")) {
            meds.push_str(" Hold lorazepam for 24 h before each session.");
        }
        if p.other_meds
            .iter()
            .any(|m| m.starts_with("lisdexamfetamine"))
        {
            meds.push_str(" Skip lisdexamfetamine on dosing mornings.");
        }
        sections.push(Section::new("Medications", meds));
    } else {
        let mut since = String::new();
        w.sentence(&mut since, text::SINCE_LAST_PREP);
        w.theme_sentence(&mut since);
        sections.push(Section::new("Since last visit", since));
    }

    let mut intentions = String::new();
    w.sentence(&mut intentions, text::INTENTION_INTRO);
    for i in pc.intentions {
        intentions.push_str("\n- ");
        intentions.push_str(i.title);
    }
    sections.push(Section::new("Intentions", intentions));

    let mut set = String::new();
    w.sentences(&mut set, text::SET_AND_SETTING, 2);
    sections.push(Section::new("Set and setting", set));

    let mut difficult = String::new();
    w.sentences(&mut difficult, text::DIFFICULT_MOMENTS, 2);
    sections.push(Section::new("Plan for difficult moments", difficult));

    let mut consent = String::new();
    let bank = match (pc.nth, p.protocol) {
        (1, Protocol::Esketamine) => text::CONSENT_ESKETAMINE,
        (1, _) => text::CONSENT_FIRST,
        _ => text::CONSENT_LATER,
    };
    w.sentence(&mut consent, bank);
    sections.push(Section::new("Consent", consent));

    if let Some(s) = &pc.scores {
        sections.push(Section::new("Measures", scores_line(s)));
        if s.item9 > 0 {
            let mut safety = String::new();
            w.sentence(&mut safety, text::SAFETY);
            sections.push(Section::new("Safety", safety));
        }
    }

    let title = match (pc.nth, pc.reinduction) {
        (1, true) => "Assessment for re-induction".to_owned(),
        (1, false) => "Assessment and preparation".to_owned(),
        (n, _) => format!("Preparation {n}"),
    };
    Note::draft(
        id,
        patient.clone(),
        NoteKind::Preparation,
        at,
        title,
        sections,
    )
}

/// What the integration note needs to know.
pub(super) struct IntegrationContext<'a> {
    pub session: RecordId,
    pub number: u32,
    /// Goals (or, for an earlier course, intentions) still being worked on, each with what was
    /// recorded at this visit (`None`: a line from the bank).
    pub goals: &'a [(&'static str, Option<String>)],
    pub scores: Option<Scores>,
}

pub(super) fn integration_note(
    ctx: &mut Ctx<'_>,
    id: RecordId,
    patient: &PatientId,
    at: Timestamp,
    ic: &IntegrationContext<'_>,
) -> Note {
    let p = ctx.profile;
    let mut w = Writer {
        rng: &mut *ctx.rng,
        voice: &p.voice,
    };
    let mut experience = String::new();
    w.sentence(&mut experience, text::EXPERIENCE);
    w.theme_sentence(&mut experience);

    let mut meaning = String::new();
    w.sentence(&mut meaning, text::MEANING);
    if w.rng.chance(0.5) {
        w.theme_sentence(&mut meaning);
    }

    let mut insights = String::new();
    w.sentence(&mut insights, text::INSIGHTS);

    let mut checkins = String::new();
    for (title, line) in ic.goals {
        if !checkins.is_empty() {
            checkins.push('\n');
        }
        checkins.push_str("- ");
        checkins.push_str(title);
        checkins.push_str(": ");
        match line {
            Some(l) => checkins.push_str(l),
            None => {
                let t = w.pick(text::GOAL_CHECKIN_LINES);
                w.fill(&mut checkins, t);
            }
        }
    }
    if checkins.is_empty() {
        checkins.push_str("No goals set yet.");
    }

    let mut plan = String::new();
    w.sentence(&mut plan, text::INTEGRATION_PLAN);
    if w.rng.chance(0.5) {
        w.sentence(&mut plan, text::INTEGRATION_PLAN);
    }

    let mut sections = vec![
        Section::new("Experience", experience),
        Section::new("Meaning", meaning),
        Section::new("Insights", insights),
        Section::new("Goal check-ins", checkins),
        Section::new("Plan", plan),
    ];
    if let Some(s) = &ic.scores {
        sections.push(Section::new("Measures", scores_line(s)));
        if s.item9 > 0 {
            let mut safety = String::new();
            w.sentence(&mut safety, text::SAFETY);
            sections.push(Section::new("Safety", safety));
        }
    }
    let mut note = Note::draft(
        id,
        patient.clone(),
        NoteKind::Integration,
        at,
        format!("Integration after session {}", ic.number),
        sections,
    );
    note.session = Some(ic.session.clone());
    note
}

pub(super) fn psychotherapy_note(
    ctx: &mut Ctx<'_>,
    id: RecordId,
    patient: &PatientId,
    at: Timestamp,
) -> Note {
    let p = ctx.profile;
    let mut w = Writer {
        rng: &mut *ctx.rng,
        voice: &p.voice,
    };
    let mut process = String::new();
    let count = 1 + w.rng.below(2) as usize;
    w.sentences(&mut process, text::PROCESS, count);
    let mut themes = String::new();
    w.theme_sentence(&mut themes);
    if w.rng.chance(0.5) {
        w.theme_sentence(&mut themes);
    }
    let mut reflections = String::new();
    w.sentence(&mut reflections, text::THERAPIST_REFLECTIONS);
    Note::draft(
        id,
        patient.clone(),
        NoteKind::Psychotherapy,
        at,
        "Psychotherapy process note",
        vec![
            Section::new("Process", process),
            Section::new("Themes", themes),
            Section::new("Therapist reflections", reflections),
        ],
    )
}
