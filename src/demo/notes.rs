//! The text of preparation, integration and psychotherapy notes, from the phrase banks.

use super::course::Ctx;
use super::profile::Protocol;
use super::text::{self, Intention, Writer};
use crate::model::measure::{gad7_band, phq9_band};
use crate::model::{Note, NoteKind, PatientId, RecordId, Section};
use crate::templates;
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
    let mut sections: Vec<(&'static str, String)> = Vec::with_capacity(8);
    let mut set = String::new();
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
        sections.push(("Screening and contraindications", screening));

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
        sections.push(("Current medications", meds));
    } else {
        // A later visit reviews the screening and medications; what happened since the last
        // visit is about the patient's mindset, so it opens "Set and setting".
        let mut screening = String::new();
        w.sentence(&mut screening, text::SCREENING_REVIEWED);
        sections.push(("Screening and contraindications", screening));
        let mut meds = String::new();
        w.sentence(&mut meds, text::MEDS_UNCHANGED);
        sections.push(("Current medications", meds));
        w.sentence(&mut set, text::SINCE_LAST_PREP);
        w.theme_sentence(&mut set);
    }

    let mut intentions = String::new();
    w.sentence(&mut intentions, text::INTENTION_INTRO);
    for i in pc.intentions {
        intentions.push_str("\n- ");
        intentions.push_str(i.title);
    }
    sections.push(("Intentions", intentions));

    w.sentences(&mut set, text::SET_AND_SETTING, 2);
    sections.push(("Set and setting", set));

    let mut difficult = String::new();
    w.sentences(&mut difficult, text::DIFFICULT_MOMENTS, 2);
    sections.push(("Plan for difficult moments", difficult));

    let mut consent = String::new();
    let bank = match (pc.nth, p.protocol) {
        (1, Protocol::Esketamine) => text::CONSENT_ESKETAMINE,
        (1, _) => text::CONSENT_FIRST,
        _ => text::CONSENT_LATER,
    };
    w.sentence(&mut consent, bank);
    sections.push(("Consent", consent));

    if let Some(s) = &pc.scores {
        sections.push(("Measures", scores_line(s)));
        if s.item9 > 0 {
            let mut safety = String::new();
            w.sentence(&mut safety, text::SAFETY);
            sections.push(("Safety", safety));
        }
    }

    let title = match (pc.nth, pc.reinduction) {
        (1, true) => "Assessment for re-induction".to_owned(),
        (1, false) => "Assessment and preparation".to_owned(),
        (n, _) => format!("Preparation {n}"),
    };
    from_template(
        PREPARATION_TEMPLATE,
        NoteKind::Preparation,
        id,
        patient,
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
                let t = w.pick(text::GOAL_REVIEW_LINES);
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
        ("Experience", experience),
        ("Meaning", meaning),
        ("Insights", insights),
        ("Goal check-ins", checkins),
        ("Plan", plan),
    ];
    if let Some(s) = &ic.scores {
        sections.push(("Measures", scores_line(s)));
        if s.item9 > 0 {
            let mut safety = String::new();
            w.sentence(&mut safety, text::SAFETY);
            sections.push(("Safety", safety));
        }
    }
    let mut note = from_template(
        INTEGRATION_TEMPLATE,
        NoteKind::Integration,
        id,
        patient,
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
    from_template(
        PSYCHOTHERAPY_TEMPLATE,
        NoteKind::Psychotherapy,
        id,
        patient,
        at,
        "Psychotherapy process note",
        vec![
            ("Process", process),
            ("Themes", themes),
            ("Therapist reflections", reflections),
        ],
    )
}

/// The built-in templates the demo's notes are made from.
pub(super) const PREPARATION_TEMPLATE: &str = "preparation";
pub(super) const SESSION_TEMPLATE: &str = "dosing-session";
pub(super) const INTEGRATION_TEMPLATE: &str = "integration";
pub(super) const PSYCHOTHERAPY_TEMPLATE: &str = "psychotherapy-process";

/// A draft made from the built-in template `template`, as the app makes one, with `bodies`
/// written into the sections of the same heading; sections the demo has nothing for stay empty,
/// as a clinician would leave them. A heading the template lacks is appended, so text is never
/// dropped (the demo's tests prove none is).
pub(super) fn from_template(
    template: &str,
    kind: NoteKind,
    id: RecordId,
    patient: &PatientId,
    at: Timestamp,
    title: impl Into<String>,
    bodies: Vec<(&'static str, String)>,
) -> Note {
    let mut note = match templates::builtins().get(template) {
        Some(t) => t.new_note(id, patient.clone(), at),
        None => {
            let mut n = Note::draft(id, patient.clone(), kind, at, "", Vec::new());
            n.template = Some(template.to_owned());
            n
        }
    };
    note.title = title.into();
    for (heading, body) in bodies {
        match note.sections.iter_mut().find(|s| s.heading == heading) {
            Some(s) => s.body = body,
            None => note.sections.push(Section::new(heading, body)),
        }
    }
    note
}
