//! Who a demo patient is and what shape their course of care takes, drawn once per patient.
//!
//! The caseload is built from twelve archetypes in rotation (offset by the seed), so any demo of
//! twelve or more patients shows every situation the app must handle: someone just screened,
//! someone mid-induction with a high pre-dose BP, a remitter, a responder, a non-responder, an
//! archived patient, a PHQ-9 with item 9 above 0. Everything else (names, protocols' details,
//! themes, doses, timing) is drawn from the patient's own generator.

use super::text::{self, Intention, Theme, Voice};
use crate::clock::SeededRng;
use crate::model::Patient;
use jiff::ToSpan;
use jiff::civil::Date;

/// How the patient is dosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// IV ketamine 0.5 mg/kg over 40 minutes (the most common protocol).
    IvKetamine,
    /// Ketamine-assisted psychotherapy with an intramuscular injection.
    ImKetamine,
    /// Ketamine-assisted psychotherapy with a sublingual lozenge.
    SublingualKetamine,
    /// Intranasal esketamine under the REMS program.
    Esketamine,
}

impl Protocol {
    const ALL: [Protocol; 4] = [
        Protocol::IvKetamine,
        Protocol::ImKetamine,
        Protocol::SublingualKetamine,
        Protocol::Esketamine,
    ];

    /// Sessions in the induction. Ketamine courses are about 6 infusions or KAP sessions;
    /// esketamine follows its label: twice weekly in weeks 1-4, which is 8 doses.
    pub(super) fn induction_len(self) -> u32 {
        match self {
            Protocol::Esketamine => 8,
            _ => 6,
        }
    }

    /// Days from session `number` to the next one.
    pub(super) fn gap_after(self, number: u32, esk_interval: i32, rng: &mut SeededRng) -> i32 {
        let next = number + 1;
        match self {
            // Twice weekly in weeks 1-4, weekly in weeks 5-8, then weekly or every 2 weeks.
            Protocol::Esketamine if next <= 8 => {
                if number % 2 == 1 {
                    3
                } else {
                    4
                }
            }
            Protocol::Esketamine if next <= 12 => 7,
            Protocol::Esketamine => esk_interval,
            // About 6 infusions over 2-3 weeks, then boosters every few weeks.
            Protocol::IvKetamine if next <= 6 => rng.range(2, 4) as i32,
            // KAP sessions roughly weekly.
            _ if next <= 6 => rng.range(5, 9) as i32,
            _ => rng.range(21, 42) as i32,
        }
    }

    pub(super) fn tag(self) -> &'static str {
        match self {
            Protocol::IvKetamine => "iv-ketamine",
            Protocol::ImKetamine => "kap-im",
            Protocol::SublingualKetamine => "kap-sublingual",
            Protocol::Esketamine => "esketamine",
        }
    }

    /// The id of the built-in protocol profile (`protocols/*.toml`) stored on each session.
    pub(super) fn profile_name(self) -> &'static str {
        match self {
            Protocol::IvKetamine => "iv-ketamine",
            Protocol::ImKetamine => "im-ketamine",
            Protocol::SublingualKetamine => "sublingual-ketamine",
            Protocol::Esketamine => "esketamine-rems",
        }
    }
}

/// Where the patient's course stands on the anchor date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Preparation only; the first dose is still to come.
    JustScreened,
    /// Part-way through the induction, with `done` sessions given.
    MidInduction { done: u32 },
    /// Induction finished, boosters ongoing.
    Maintenance,
    /// Course ended months ago.
    Finished,
}

/// How the scores move over the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trajectory {
    /// PHQ-9 ends below 5.
    Remitter,
    /// PHQ-9 drops by at least half but stays at 5 or more.
    Responder,
    /// Some improvement, less than half.
    Partial,
    NonResponder,
}

/// Where a PHQ-9 item 9 above 0 appears: at the n-th PHQ-9 of the patient (0 is baseline;
/// `usize::MAX` is the latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Item9 {
    pub at_measure: usize,
    pub value: u8,
}

/// Everything drawn once per patient.
#[derive(Debug, Clone)]
pub(super) struct Profile {
    pub patient: Patient,
    pub voice: Voice,
    pub protocol: Protocol,
    pub stage: Stage,
    pub trajectory: Trajectory,
    /// Preparation notes wanted for the current course (1-3).
    pub prep_count: u32,
    /// Preparation notes for an earlier course, if the budget calls for one.
    pub prior_prep_count: u32,
    /// Whether the clinician also keeps psychotherapy (process) notes for this patient.
    pub therapy: bool,
    /// Share of the note budget that goes to psychotherapy notes.
    pub psy_fraction: f64,
    /// The latest session's integration visit has not happened yet.
    pub pending_integration: bool,
    pub intentions: Vec<&'static Intention>,
    pub prior_intentions: Vec<&'static Intention>,
    pub phq_base: u8,
    pub gad_base: u8,
    pub phq_end: u8,
    pub gad_end: u8,
    pub item9: Option<Item9>,
    /// Resting BP and heart rate.
    pub systolic: u16,
    pub diastolic: u16,
    pub heart_rate: u16,
    pub raised_bp_history: bool,
    /// The first session has a pre-dose BP above 140/90.
    pub force_high_bp: bool,
    /// The first session has a BP rise worth flagging at 40 minutes.
    pub force_bp_rise: bool,
    /// Days between esketamine sessions after week 8.
    pub esk_interval: i32,
    /// Notes left unsigned at the end of the record.
    pub drafts: u32,
    /// Chance that a signed note gets addenda.
    pub addendum_rate: f64,
    /// Leave the latest check-in steps missing so they are due or overdue at the anchor.
    pub leave_due: bool,
    pub pregnancy_test: bool,
    pub antidepressant: &'static str,
    pub other_meds: Vec<&'static str>,
}

/// One row of the archetype table.
struct Archetype {
    stage: Stage,
    protocol: Option<Protocol>,
    trajectory: Option<Trajectory>,
    therapy: bool,
    item9_baseline: bool,
    item9_later: bool,
    /// Item 9 above 0 at the latest PHQ-9, with no signed note since: Today's follow-up.
    item9_recent: bool,
    high_bp: bool,
    bp_rise: bool,
    drafts: Option<u32>,
    archived: Option<f64>,
    addendum_rate: f64,
}

const fn arch(
    stage: Stage,
    protocol: Option<Protocol>,
    trajectory: Option<Trajectory>,
) -> Archetype {
    Archetype {
        stage,
        protocol,
        trajectory,
        therapy: false,
        item9_baseline: false,
        item9_later: false,
        item9_recent: false,
        high_bp: false,
        bp_rise: false,
        drafts: None,
        archived: None,
        addendum_rate: 0.06,
    }
}

fn archetype(n: u64) -> Archetype {
    use Protocol::*;
    use Stage::*;
    use Trajectory::*;
    match n % 12 {
        0 => Archetype {
            therapy: true,
            addendum_rate: 0.3,
            ..arch(Maintenance, Some(IvKetamine), Some(Remitter))
        },
        1 => Archetype {
            high_bp: true,
            drafts: Some(2),
            item9_recent: true,
            ..arch(MidInduction { done: 3 }, Some(Esketamine), Some(Responder))
        },
        2 => Archetype {
            item9_baseline: true,
            addendum_rate: 0.15,
            ..arch(Maintenance, Some(Esketamine), Some(Responder))
        },
        3 => Archetype {
            therapy: true,
            drafts: Some(1),
            ..arch(JustScreened, None, None)
        },
        4 => Archetype {
            archived: Some(0.5),
            ..arch(Maintenance, Some(ImKetamine), Some(NonResponder))
        },
        5 => Archetype {
            drafts: Some(1),
            ..arch(MidInduction { done: 5 }, Some(IvKetamine), Some(Remitter))
        },
        6 => Archetype {
            archived: Some(1.0),
            ..arch(Finished, Some(SublingualKetamine), Some(Responder))
        },
        7 => Archetype {
            item9_later: true,
            therapy: true,
            ..arch(Maintenance, Some(SublingualKetamine), Some(Remitter))
        },
        8 => arch(MidInduction { done: 2 }, Some(ImKetamine), Some(Partial)),
        9 => Archetype {
            bp_rise: true,
            ..arch(Maintenance, Some(IvKetamine), Some(Partial))
        },
        10 => arch(JustScreened, Some(Esketamine), None),
        _ => arch(Maintenance, None, None),
    }
}

/// Picks `k` distinct items (fewer if the bank is smaller).
fn distinct<T: Copy + PartialEq>(rng: &mut SeededRng, bank: &[T], k: usize) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(k);
    let mut guard = 0;
    while out.len() < k.min(bank.len()) && guard < 1000 {
        let x = *rng.pick(bank);
        if !out.contains(&x) {
            out.push(x);
        }
        guard += 1;
    }
    out
}

fn trajectory(rng: &mut SeededRng) -> Trajectory {
    match rng.below(10) {
        0..=2 => Trajectory::Remitter,
        3..=5 => Trajectory::Responder,
        6..=7 => Trajectory::Partial,
        _ => Trajectory::NonResponder,
    }
}

/// The end-of-induction total for a baseline on a trajectory. `max` is the instrument's range.
pub(super) fn end_score(t: Trajectory, base: u8, rng: &mut SeededRng) -> u8 {
    let b = i64::from(base);
    let end = match t {
        Trajectory::Remitter => rng.range(1, 4),
        Trajectory::Responder => rng.range(5.max(b / 2 - 3), (b / 2).max(5)),
        Trajectory::Partial => rng.range(b / 2 + 1, (b * 7 / 10).max(b / 2 + 1)),
        Trajectory::NonResponder => rng.range(b * 3 / 4, b),
    };
    end.clamp(0, b) as u8
}

/// Draws the profile of patient `index` (0-based) from its generator.
pub(super) fn draw(index: u32, seed: u64, anchor: Date, rng: &mut SeededRng) -> Profile {
    let a = archetype(u64::from(index) + seed % 12);
    let id = super::course::patient_id(index);

    // Name and pronouns.
    let (first, usual) = *rng.pick(text::FIRST_NAMES);
    let last = *rng.pick(text::LAST_NAMES);
    let (pronouns, their, them) = match (usual, rng.below(10)) {
        ('f', 0) | ('m', 0) | ('n', 0..=4) => ("they/them", "their", "them"),
        ('f', _) | ('n', 5..=7) => ("she/her", "her", "her"),
        _ => ("he/him", "his", "him"),
    };
    let age = rng.range(22, 75);
    let born = anchor
        .checked_sub(age.years())
        .and_then(|d| d.checked_sub(rng.range(0, 364).days()))
        .ok();
    let weight = (rng.range(480, 1250) as f64) / 10.0;

    let protocol = a.protocol.unwrap_or_else(|| *rng.pick(&Protocol::ALL));
    let trajectory = a.trajectory.unwrap_or_else(|| trajectory(rng));

    // The people and things this patient talks about.
    let n_relations = rng_count(rng, 1, 3);
    let mut relations = distinct(rng, text::RELATIONS, n_relations);
    let n_themes = rng_count(rng, 3, 5);
    let mut themes: Vec<(Theme, u32)> = distinct(rng, &Theme::ALL, n_themes)
        .into_iter()
        .map(|t| (t, rng.range(1, 6) as u32))
        .collect();
    if !themes.iter().any(|(t, _)| *t == Theme::Family) && rng.chance(0.7) {
        themes.push((Theme::Family, rng.range(1, 4) as u32));
    }

    let intentions: Vec<&'static Intention> = {
        let k = rng_count(rng, 2, 4);
        let picks = distinct(rng, &index_list(text::INTENTIONS.len()), k);
        picks.into_iter().map(|i| &text::INTENTIONS[i]).collect()
    };
    let prior_intentions: Vec<&'static Intention> =
        distinct(rng, &index_list(text::INTENTIONS.len()), 2)
            .into_iter()
            .map(|i| &text::INTENTIONS[i])
            .collect();
    // Intentions that name a person make that person part of the patient's story.
    for i in &intentions {
        for who in ["sister", "father"] {
            if i.title.contains(who) && !relations.contains(&who) {
                relations.insert(0, who);
            }
        }
    }

    let escort = escort(&relations, age);
    let voice = Voice {
        first,
        their,
        them,
        relations,
        escort,
        age,
        lost: word(rng, text::LOST),
        place: word(rng, text::PLACES),
        music: word(rng, text::MUSIC_WORDS),
        activity: word(rng, text::ACTIVITIES),
        work: word(rng, text::WORK_WORDS),
        themes,
    };

    let stage = a.stage;
    let therapy = a.therapy || rng.chance(0.3);
    let pending_integration = matches!(stage, Stage::MidInduction { .. }) && rng.chance(0.5);

    let phq_base = rng.range(12, 24) as u8;
    let gad_base = rng.range(10, 19) as u8;
    let phq_end = end_score(trajectory, phq_base, rng);
    let gad_end = end_score(trajectory, gad_base, rng);
    let item9 = if a.item9_recent {
        // usize::MAX: the last measure, whichever that turns out to be.
        Some(Item9 {
            at_measure: usize::MAX,
            value: 1,
        })
    } else if a.item9_baseline {
        Some(Item9 {
            at_measure: 0,
            value: 1,
        })
    } else if a.item9_later {
        Some(Item9 {
            at_measure: 1,
            value: rng.range(1, 2) as u8,
        })
    } else if phq_base >= 20 && rng.chance(0.25) {
        Some(Item9 {
            at_measure: 0,
            value: 1,
        })
    } else {
        None
    };

    let raised_bp_history = rng.chance(0.15);
    let systolic = rng.range(105, 132) as u16 + if raised_bp_history { 6 } else { 0 };
    let diastolic = rng.range(65, 84) as u16;

    let archived = a.archived.is_some_and(|p| rng.chance(p));
    let drafts = match (stage, a.drafts) {
        (Stage::Finished, _) => 0,
        _ if archived => 0,
        (_, Some(d)) => d,
        _ if rng.chance(0.35) => rng.range(1, 2) as u32,
        _ => 0,
    };

    let mut tags = vec![if rng.chance(0.6) { "TRD" } else { "MDD" }.to_owned()];
    for (t, p) in [
        ("PTSD", 0.2),
        ("GAD", 0.25),
        ("chronic pain", 0.08),
        ("OCD", 0.05),
    ] {
        if rng.chance(p) {
            tags.push(t.to_owned());
        }
    }
    tags.push(protocol.tag().to_owned());
    if protocol == Protocol::Esketamine {
        tags.push("REMS".to_owned());
    }

    let mut contact = String::new();
    {
        let mut w = text::Writer { rng, voice: &voice };
        let t = w.pick(text::CONTACT_NOTES);
        let num2 = format!("{:02}", w.rng.below(100));
        w.fill(&mut contact, &t.replace("{num2}", &num2));
    }

    let patient = Patient {
        id,
        name: format!("{first} {last}"),
        born,
        // From the name's usual use and the pronouns, so no draw from the generator changes.
        sex: Some(match (usual, pronouns) {
            ('f', _) | (_, "she/her") => crate::model::Sex::Female,
            ('m', _) | (_, "he/him") => crate::model::Sex::Male,
            _ => crate::model::Sex::Other,
        }),
        pronouns: Some(pronouns.to_owned()),
        weight_kg: Some(weight),
        contact_note: contact,
        tags,
        archived,
    };

    let n_meds = rng_count(rng, 0, 2);
    let mut other_meds = distinct(rng, text::OTHER_MEDS, n_meds);
    if raised_bp_history {
        other_meds.push("amlodipine 5 mg daily");
    }
    Profile {
        patient,
        voice,
        protocol,
        stage,
        trajectory,
        prep_count: rng.range(1, 3) as u32,
        prior_prep_count: rng.range(1, 2) as u32,
        therapy,
        psy_fraction: rng.range(8, 18) as f64 / 100.0,
        pending_integration,
        intentions,
        prior_intentions,
        phq_base,
        gad_base,
        phq_end,
        gad_end,
        item9,
        systolic,
        diastolic,
        heart_rate: rng.range(60, 88) as u16,
        raised_bp_history,
        force_high_bp: a.high_bp,
        force_bp_rise: a.bp_rise,
        esk_interval: if rng.chance(0.5) { 7 } else { 14 },
        drafts,
        addendum_rate: a.addendum_rate,
        leave_due: !archived && stage != Stage::Finished && rng.chance(0.75),
        pregnancy_test: (pronouns == "she/her" && age < 50)
            || (pronouns == "they/them" && age < 50 && rng.chance(0.5)),
        antidepressant: word(rng, text::ANTIDEPRESSANTS),
        other_meds,
    }
}

fn rng_count(rng: &mut SeededRng, lo: i64, hi: i64) -> usize {
    rng.range(lo, hi) as usize
}

fn index_list(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// One word from a bank, keeping its `'static` lifetime.
fn word(rng: &mut SeededRng, bank: &'static [&'static str]) -> &'static str {
    bank.get(rng.below(bank.len() as u64) as usize)
        .copied()
        .unwrap_or_default()
}

/// Whether `relation` is someone a patient aged `age` plausibly still has around to talk to,
/// call or bring along: grandparents are gone by 50 in these stories, parents by 60.
pub(super) fn fits_age(relation: &str, age: i64) -> bool {
    match relation {
        "grandmother" | "grandfather" => age < 50,
        "father" | "mother" | "stepfather" => age < 60,
        "son" | "daughter" => age >= 30,
        _ => true,
    }
}

/// Who brings the patient and collects them after a dose (and is their emergency contact): the
/// first person they talk about who would plausibly do it at their age, else someone usual for
/// the age. Chosen without a random draw, so the rest of the demo stays as it was.
fn escort(relations: &[&'static str], age: i64) -> &'static str {
    let usual: &[&'static str] = if age < 30 {
        &[
            "mother",
            "partner",
            "father",
            "sister",
            "brother",
            "best friend",
        ]
    } else if age < 60 {
        &[
            "partner",
            "sister",
            "best friend",
            "husband",
            "wife",
            "brother",
        ]
    } else {
        &[
            "partner",
            "daughter",
            "son",
            "husband",
            "wife",
            "sister",
            "best friend",
        ]
    };
    relations
        .iter()
        .find(|r| usual.contains(r))
        .copied()
        .unwrap_or(usual[(age as usize) % usual.len()])
}
