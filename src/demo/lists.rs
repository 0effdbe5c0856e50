//! The demo patients' problem, medication and allergy lists: invented, plausible for adults in
//! ketamine-assisted therapy for treatment-resistant depression (an antidepressant kept on, a
//! benzodiazepine tapered off before dosing, as it can blunt the response; sleep and attention
//! medicines; hypertension, which the blood-pressure checks watch). Chosen from the patient id
//! alone (no random numbers), so the rest of the demo is the same as without them.

use super::course::rid;
use crate::model::PatientId;
use crate::model::lists::{ListEntry, ListKind, ListValues, MedicationClass};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// One invented entry: list, name, detail, class, years before the first visit it started.
type Item = (
    ListKind,
    &'static str,
    &'static str,
    Option<MedicationClass>,
    i64,
);

const P: ListKind = ListKind::Problem;
const M: ListKind = ListKind::Medication;
const A: ListKind = ListKind::Allergy;

/// The sets a patient is given one of, by id. The first medication of a set with a
/// benzodiazepine is the one tapered off during preparation.
const SETS: [&[Item]; 6] = [
    &[
        (
            P,
            "Major depressive disorder, recurrent, severe",
            "two antidepressant trials without remission",
            None,
            9,
        ),
        (P, "Generalized anxiety disorder", "", None, 12),
        (
            M,
            "lorazepam",
            "0.5 mg as needed for panic",
            Some(MedicationClass::Benzodiazepine),
            3,
        ),
        (
            M,
            "sertraline",
            "150 mg once daily",
            Some(MedicationClass::Other),
            4,
        ),
        (A, "penicillin", "hives", None, 20),
    ],
    &[
        (
            P,
            "Major depressive disorder, recurrent, moderate",
            "",
            None,
            6,
        ),
        (P, "Insomnia", "sleep onset", None, 2),
        (
            M,
            "zolpidem",
            "5 mg at night when needed",
            Some(MedicationClass::SedativeHypnotic),
            2,
        ),
        (
            M,
            "bupropion XL",
            "300 mg each morning",
            Some(MedicationClass::Other),
            3,
        ),
    ],
    &[
        (
            P,
            "Major depressive disorder, recurrent, severe",
            "",
            None,
            11,
        ),
        (
            P,
            "Attention-deficit hyperactivity disorder",
            "diagnosed in adulthood",
            None,
            5,
        ),
        (
            M,
            "methylphenidate ER",
            "36 mg each morning",
            Some(MedicationClass::Psychostimulant),
            5,
        ),
        (
            M,
            "escitalopram",
            "20 mg once daily",
            Some(MedicationClass::Other),
            2,
        ),
        (A, "sulfonamide antibiotics", "rash", None, 15),
    ],
    &[
        (
            P,
            "Major depressive disorder, recurrent, severe",
            "",
            None,
            14,
        ),
        (
            P,
            "Essential hypertension",
            "controlled on treatment",
            None,
            4,
        ),
        (
            M,
            "clonazepam",
            "0.5 mg at night",
            Some(MedicationClass::Benzodiazepine),
            6,
        ),
        (
            M,
            "venlafaxine XR",
            "225 mg once daily",
            Some(MedicationClass::Other),
            3,
        ),
        (
            M,
            "amlodipine",
            "5 mg once daily",
            Some(MedicationClass::Other),
            4,
        ),
    ],
    &[
        (P, "Post-traumatic stress disorder", "", None, 8),
        (
            P,
            "Major depressive disorder, single episode, severe",
            "",
            None,
            2,
        ),
        (
            M,
            "prazosin",
            "2 mg at night for nightmares",
            Some(MedicationClass::Other),
            1,
        ),
        (
            M,
            "duloxetine",
            "60 mg once daily",
            Some(MedicationClass::Other),
            2,
        ),
        (A, "latex", "contact dermatitis", None, 10),
    ],
    &[
        (
            P,
            "Major depressive disorder, recurrent, severe",
            "",
            None,
            7,
        ),
        (P, "Chronic low back pain", "", None, 5),
        (
            M,
            "tramadol",
            "50 mg up to twice daily",
            Some(MedicationClass::Opioid),
            2,
        ),
        (
            M,
            "mirtazapine",
            "30 mg at night",
            Some(MedicationClass::Other),
            3,
        ),
        (A, "codeine", "vomiting", None, 18),
    ],
];

/// The patient's list entries, recorded at the first visit by the clinician; nothing started
/// before the patient was 16. A benzodiazepine or
/// opioid is stopped a week later, when that day is before `anchor` (tapered off before dosing).
pub(super) fn list_records(
    patient: &PatientId,
    born: Option<Date>,
    first_visit: Timestamp,
    anchor: Date,
    clinician: &str,
    tz: &TimeZone,
) -> Vec<ListEntry> {
    let pick = patient.as_str().bytes().fold(0usize, |a, b| {
        a.wrapping_mul(31).wrapping_add(usize::from(b))
    }) % SETS.len();
    let first_day = first_visit.to_zoned(tz.clone()).date();
    let mut out = Vec::new();
    for (i, &(list, name, detail, class, years)) in SETS[pick].iter().enumerate() {
        // Not before 16: a start from childhood would not fit a younger adult.
        let sixteen = born.and_then(|b| b.checked_add(16.years()).ok());
        let started = first_day
            .checked_sub(years.years())
            .ok()
            .map(|d| sixteen.map_or(d, |s| d.max(s).min(first_day)));
        let mut e = ListEntry::new(
            rid(&format!("{}-l{}", patient.as_str(), i + 1)),
            patient.clone(),
            first_visit,
            list,
            clinician,
            ListValues {
                name: name.to_owned(),
                detail: detail.to_owned(),
                class,
                started: if list == A { None } else { started },
                stopped: None,
            },
        );
        let tapered = matches!(
            class,
            Some(MedicationClass::Benzodiazepine | MedicationClass::Opioid)
        );
        if tapered && let Ok(at) = first_visit.checked_add(jiff::SignedDuration::from_hours(7 * 24))
        {
            let day = at.to_zoned(tz.clone()).date();
            if day < anchor {
                // A valid stop cannot fail here: the start is years before.
                let _ = e.stop(day, clinician, "tapered off before ketamine dosing", at);
            }
        }
        out.push(e);
    }
    out
}
