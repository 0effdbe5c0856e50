//! FHIR R4 export: one patient's records as a Bundle another clinical system can read.
//!
//! The bundle is of type `collection`: a set of resources put together to hand over, which is
//! what an offline export is. A `document` bundle would need a Composition that a clinician
//! attests as one document, and a `transaction` asks a server to write every entry; kitnotes
//! has neither a composed document nor a server. Entries are named by `urn:uuid:` full URLs,
//! UUID v5 of the record ids, so every reference resolves inside the bundle and the same record
//! gets the same URL in every export.
//!
//! What goes in, record by record (docs/FHIR.md has the table and the reasons):
//! - the patient: Patient;
//! - each dosing session: an Encounter; a MedicationAdministration for its dose (completed at
//!   T0, or not-done when the session ended without one), with a Medication carrying the lot
//!   number when there is one; an Observation per vital sign reading (blood pressure panel,
//!   heart rate, SpO2), per MOAA/S rating and per dissociation rating;
//! - each preparation and integration note: an Encounter for the session it describes;
//! - each signed note: a DocumentReference (LOINC 34904-3) holding the note and its addenda as
//!   Markdown. Drafts are left out (a DocumentReference is for a finished document), and so are
//!   psychotherapy notes unless asked for;
//! - each PHQ-9 and GAD-7: a QuestionnaireResponse with the item answers and an Observation of
//!   the total (LOINC 44261-6 / 70274-6, unit `{score}`) derived from it; a clinician-entered
//!   total (CADSS, MEQ30, EBI, CEQ) is an Observation alone, named in text;
//! - each integration goal: a Goal, with check-ins as notes; and one CarePlan over them.
//!
//! Codes are only ones checked against their published sources (LOINC, UCUM, the FHIR code
//! systems); where no code is known for sure, the concept is text only rather than a guess.
//!
//! The builder is pure: the records, the time zone for calendar dates, and the bundle's
//! timestamp come in; nothing reads the clock or the disk.

use super::markdown::{block, inline, strip_controls};
use crate::model::measure::{Instrument, Measure, Score, loinc};
use crate::model::{
    DosingSession, GoalStatus, IntegrationGoal, Note, NoteKind, PatientRecords, RecordId,
    RecordRef, Route, SafetyFollowUp, Vitals,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Serialize, Serializer};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use uuid::Uuid;

const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const SNOMED: &str = "http://snomed.info/sct";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
const GOAL_ACHIEVEMENT: &str = "http://terminology.hl7.org/CodeSystem/goal-achievement";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ADVERSE_EVENT_OUTCOME: &str = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome";

/// The identifier system of patients when config.toml sets none and the store's id is not
/// known: kitnotes ids are unique within one store only, so a clinic should set its own.
pub const DEFAULT_IDENTIFIER_SYSTEM: &str = "urn:kitnotes:patient-id";

/// The identifier system for a store's patients when config.toml sets none: the store's own
/// id (`store::tally`, 32 hex digits) as a `urn:uuid:`, so two clinics' `p0001` never match.
pub fn store_identifier_system(store_id: Option<&str>) -> String {
    store_id
        .and_then(|id| Uuid::try_parse(id).ok())
        .map_or_else(
            || DEFAULT_IDENTIFIER_SYSTEM.to_owned(),
            |u| format!("urn:uuid:{}", u.hyphenated()),
        )
}

/// LOINC codes beyond the instruments' (which live in [`crate::model::measure::loinc`]).
pub mod codes {
    /// Mental health Note: the document type of every exported note.
    pub const MENTAL_HEALTH_NOTE: &str = "34904-3";
    /// Blood pressure panel with all children optional (the FHIR vital-signs BP profile's code).
    pub const BP_PANEL: &str = "85354-9";
    pub const SYSTOLIC: &str = "8480-6";
    pub const DIASTOLIC: &str = "8462-4";
    pub const HEART_RATE: &str = "8867-4";
    /// Oxygen saturation in arterial blood (the FHIR vital-signs profile's code).
    pub const OXYGEN_SATURATION: &str = "2708-6";
    /// Oxygen saturation in arterial blood by pulse oximetry (what kitnotes records).
    pub const PULSE_OXIMETRY: &str = "59408-5";
}

/// The namespace of the UUID v5 names of exported records. Fixed: changing it would give every
/// record a new URL in the next export.
const NAMESPACE: Uuid = uuid::uuid!("5e0c4a8e-3f5b-4d47-9a57-6b1c0f8d2e41");

/// What to put in a FHIR export.
#[derive(Debug, Clone)]
pub struct FhirOptions {
    /// Psychotherapy notes (private process notes, special under HIPAA) are left out unless
    /// this is set, which should need the patient's authorisation.
    pub include_psychotherapy_notes: bool,
    /// The bundle's `timestamp`: when it was assembled. `None` leaves it out.
    pub generated_at: Option<Timestamp>,
    /// The clinic's zone: calendar dates (a goal's start) are the day there, and times inside
    /// a note's text are shown there. Instants are written in UTC.
    pub tz: TimeZone,
    /// Where courses are split when they are not recorded (config.toml's `[courses]`).
    pub reinduction_gap: crate::model::cadence::CadenceStep,
    /// The system URI of `Patient.identifier` (config.toml's `[fhir] identifier_system`, else
    /// [`store_identifier_system`]); its value is the kitnotes patient id.
    pub identifier_system: String,
    /// The lines vitals are flagged against (`interpretation` H or L).
    pub thresholds: crate::model::monitoring::Thresholds,
    /// A `collection` to hand over, or a `transaction` of PUTs for a FHIR server.
    pub bundle: BundleKind,
}

/// What kind of Bundle to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BundleKind {
    /// A set of resources to hand over (the default).
    #[default]
    Collection,
    /// Every entry a `PUT Type/id` with its stable id: sent twice, it updates rather than
    /// duplicates.
    Transaction,
}

impl Default for FhirOptions {
    fn default() -> Self {
        Self {
            include_psychotherapy_notes: false,
            generated_at: None,
            tz: TimeZone::UTC,
            reinduction_gap: crate::model::course::DEFAULT_REINDUCTION_GAP,
            identifier_system: DEFAULT_IDENTIFIER_SYSTEM.to_owned(),
            thresholds: crate::model::monitoring::Thresholds::default(),
            bundle: BundleKind::Collection,
        }
    }
}

/// What a FHIR export holds, by resource, and what it deliberately left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FhirSummary {
    pub patients: usize,
    /// One per dosing session and per preparation or integration note.
    pub encounters: usize,
    pub medication_administrations: usize,
    /// Medications that carry a lot number.
    pub medications: usize,
    pub questionnaire_responses: usize,
    /// PHQ-9, GAD-7 and clinician-entered totals.
    pub score_observations: usize,
    /// Blood pressure, heart rate and SpO2.
    pub vital_sign_observations: usize,
    /// MOAA/S and dissociation ratings taken in dosing sessions.
    pub rating_observations: usize,
    pub goals: usize,
    /// One per course of treatment, recorded or inferred.
    pub episodes_of_care: usize,
    /// Safety follow-ups of PHQ-9 item 9 (Observations).
    pub safety_follow_ups: usize,
    pub care_plans: usize,
    pub document_references: usize,
    /// One per adverse event of a dosing session, signed or not.
    pub adverse_events: usize,
    /// Problem list entries.
    pub conditions: usize,
    pub medication_statements: usize,
    pub allergy_intolerances: usize,
    /// Psychotherapy notes left out because they were not asked for.
    pub psychotherapy_notes_withheld: usize,
    /// Unsigned notes: not exported as documents (their sessions are still Encounters).
    pub drafts_left_out: usize,
    /// Dosing sessions whose dose has not been given yet (booked or under way, no T0).
    pub doses_not_given: usize,
    /// Measures that do not score (cannot happen for records the store accepted).
    pub measures_left_out: usize,
}

impl FhirSummary {
    /// Every resource in the bundle.
    pub fn resources(&self) -> usize {
        self.patients
            + self.encounters
            + self.medication_administrations
            + self.medications
            + self.questionnaire_responses
            + self.score_observations
            + self.vital_sign_observations
            + self.rating_observations
            + self.goals
            + self.episodes_of_care
            + self.safety_follow_ups
            + self.care_plans
            + self.document_references
            + self.adverse_events
            + self.conditions
            + self.medication_statements
            + self.allergy_intolerances
    }
}

/// The `urn:uuid:` URL of a resource: UUID v5 of its kind and the kitnotes ids it comes from.
/// Ids cannot hold spaces, so the space-joined name is unambiguous.
fn urn(kind: &str, parts: &[&str]) -> String {
    let mut name = kind.to_owned();
    for p in parts {
        name.push(' ');
        name.push_str(p);
    }
    format!("urn:uuid:{}", Uuid::new_v5(&NAMESPACE, name.as_bytes()))
}

/// A FHIR instant: always with seconds and a zone (UTC, written `Z`).
fn instant(t: Timestamp) -> String {
    t.to_string()
}

/// A FHIR decimal: whole numbers without a fraction (a score of 13 is `13`, not `13.0`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal(f64);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The resources, as far as kitnotes fills them. Field order is FHIR's element order, so the
// JSON reads like the specification's examples.

/// A FHIR R4 Bundle of type `collection`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    entry: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    full_url: String,
    resource: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Request>,
}

/// A transaction entry's request: PUT the resource at its own stable id.
#[derive(Debug, Clone, Serialize)]
struct Request {
    method: &'static str,
    url: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "resourceType")]
enum Resource {
    Patient(Patient),
    Encounter(Encounter),
    Medication(Medication),
    MedicationAdministration(MedicationAdministration),
    QuestionnaireResponse(QuestionnaireResponse),
    Observation(Observation),
    Goal(Goal),
    CarePlan(CarePlan),
    EpisodeOfCare(EpisodeOfCare),
    DocumentReference(DocumentReference),
    AdverseEvent(AdverseEvent),
    Condition(Condition),
    MedicationStatement(MedicationStatement),
    AllergyIntolerance(AllergyIntolerance),
}

impl Resource {
    fn type_name(&self) -> &'static str {
        match self {
            Resource::Patient(_) => "Patient",
            Resource::Encounter(_) => "Encounter",
            Resource::Medication(_) => "Medication",
            Resource::MedicationAdministration(_) => "MedicationAdministration",
            Resource::QuestionnaireResponse(_) => "QuestionnaireResponse",
            Resource::Observation(_) => "Observation",
            Resource::Goal(_) => "Goal",
            Resource::CarePlan(_) => "CarePlan",
            Resource::EpisodeOfCare(_) => "EpisodeOfCare",
            Resource::DocumentReference(_) => "DocumentReference",
            Resource::AdverseEvent(_) => "AdverseEvent",
            Resource::Condition(_) => "Condition",
            Resource::MedicationStatement(_) => "MedicationStatement",
            Resource::AllergyIntolerance(_) => "AllergyIntolerance",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
struct Coding {
    system: &'static str,
    code: &'static str,
    /// The code system's own display text for the code ([`display`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'static str>,
}

impl Coding {
    /// A coding with its display from [`display`].
    fn of(system: &'static str, code: &'static str) -> Self {
        Self {
            system,
            code,
            display: display(system, code),
        }
    }
}

/// The display text each code system gives the codes kitnotes writes (LOINC's long common
/// names, SNOMED CT's preferred terms, the HL7 code systems' displays). A receiving EHR shows
/// it where it does not know the code. Every code the export writes is here (tested).
fn display(system: &str, code: &str) -> Option<&'static str> {
    Some(match (system, code) {
        (LOINC, "44261-6") => "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
        (LOINC, "70274-6") => {
            "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"
        }
        (LOINC, codes::MENTAL_HEALTH_NOTE) => "Mental health Note",
        (LOINC, codes::BP_PANEL) => "Blood pressure panel with all children optional",
        (LOINC, codes::SYSTOLIC) => "Systolic blood pressure",
        (LOINC, codes::DIASTOLIC) => "Diastolic blood pressure",
        (LOINC, codes::HEART_RATE) => "Heart rate",
        (LOINC, codes::OXYGEN_SATURATION) => "Oxygen saturation in Arterial blood",
        (LOINC, codes::PULSE_OXIMETRY) => "Oxygen saturation in Arterial blood by Pulse oximetry",
        (SNOMED, "47625008") => "Intravenous route",
        (SNOMED, "78421000") => "Intramuscular route",
        (SNOMED, "37839007") => "Sublingual route",
        (SNOMED, "46713006") => "Nasal route",
        (SNOMED, "26643006") => "Oral route",
        (OBSERVATION_CATEGORY, "vital-signs") => "Vital Signs",
        (OBSERVATION_CATEGORY, "survey") => "Survey",
        (OBSERVATION_CATEGORY, "exam") => "Exam",
        (ACT_CODE, "AMB") => "ambulatory",
        (CONFIDENTIALITY, "R") => "restricted",
        (DATA_ABSENT_REASON, "unknown") => "Unknown",
        (GOAL_ACHIEVEMENT, "achieved") => "Achieved",
        (INTERPRETATION, "H") => "High",
        (INTERPRETATION, "L") => "Low",
        (INTERPRETATION, "N") => "Normal",
        (CONDITION_CLINICAL, "active") => "Active",
        (CONDITION_CLINICAL, "resolved") => "Resolved",
        (CONDITION_CATEGORY, "problem-list-item") => "Problem List Item",
        (ALLERGY_CLINICAL, "active") => "Active",
        (ALLERGY_CLINICAL, "resolved") => "Resolved",
        (ADVERSE_EVENT_OUTCOME, "resolved") => "Resolved",
        (ADVERSE_EVENT_OUTCOME, "ongoing") => "Ongoing",
        _ => return None,
    })
}

#[derive(Debug, Clone, Default, Serialize)]
struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

impl CodeableConcept {
    fn coded(system: &'static str, code: &'static str, text: impl Into<String>) -> Self {
        Self {
            coding: vec![Coding::of(system, code)],
            text: Some(text.into()),
        }
    }

    fn text(text: impl Into<String>) -> Self {
        Self {
            coding: Vec::new(),
            text: Some(text.into()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

impl Reference {
    fn to(url: &str) -> Self {
        Self {
            reference: Some(url.to_owned()),
            display: None,
        }
    }

    /// A person named only by name (a signer), with no resource of their own.
    fn named(name: &str) -> Self {
        Self {
            reference: None,
            display: Some(name.to_owned()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Quantity {
    value: Decimal,
    unit: &'static str,
    system: &'static str,
    code: &'static str,
}

impl Quantity {
    fn ucum(value: f64, code: &'static str) -> Self {
        Self {
            value: Decimal(value),
            unit: code,
            system: UCUM,
            code,
        }
    }

    /// A score: UCUM's annotation `{score}`, as LOINC gives for questionnaire totals.
    fn score(value: f64) -> Self {
        Self::ucum(value, "{score}")
    }

    fn mm_hg(value: u16) -> Self {
        Self {
            value: Decimal(f64::from(value)),
            unit: "mmHg",
            system: UCUM,
            code: "mm[Hg]",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
struct Period {
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Annotation {
    time: String,
    text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct HumanName {
    text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Identifier {
    #[serde(rename = "use")]
    kind: &'static str,
    system: String,
    value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Patient {
    id: String,
    identifier: Vec<Identifier>,
    active: bool,
    name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<String>,
    /// FHIR's administrative gender from the patient's sex (female, male, other); left out when
    /// unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Encounter {
    id: String,
    status: &'static str,
    class: Coding,
    #[serde(rename = "type")]
    kind: Vec<CodeableConcept>,
    subject: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    episode_of_care: Vec<Reference>,
    period: Period,
}

/// A course of treatment: an induction, or a re-induction after a relapse or a long gap.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct EpisodeOfCare {
    id: String,
    status: &'static str,
    #[serde(rename = "type")]
    kind: Vec<CodeableConcept>,
    patient: Reference,
    period: Period,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    lot_number: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Medication {
    id: String,
    code: CodeableConcept,
    batch: Batch,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Dosage {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    route: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    dose: Option<Quantity>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct MedicationAdministration {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    status_reason: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medication_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medication_reference: Option<Reference>,
    subject: Reference,
    context: Reference,
    effective_date_time: String,
    dosage: Dosage,
    /// Corrections of the dose, lot or T0 (the original kept) and doses confirmed outside the
    /// protocol.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
}

/// A correction as an annotation: the original, the new value, who, when and why.
fn correction_note(k: &crate::model::Correction) -> Annotation {
    Annotation {
        time: instant(k.at),
        text: strip_controls(&format!(
            "Corrected {}: originally \"{}\", now \"{}\"; by {}: {}",
            k.field.label(),
            k.old,
            k.new,
            k.by,
            k.why
        )),
    }
}

/// The corrections of entry `index` of `field`, as annotations.
fn corrections_of(
    s: &DosingSession,
    field: crate::model::EntryField,
    index: usize,
) -> Vec<Annotation> {
    s.corrections_of(field, index)
        .map(correction_note)
        .collect()
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    value_integer: u8,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    link_id: String,
    text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answer: Vec<Answer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    item: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct QuestionnaireResponse {
    id: String,
    status: &'static str,
    subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    encounter: Option<Reference>,
    authored: String,
    item: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Component {
    code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_absent_reason: Option<CodeableConcept>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Observation {
    id: String,
    status: &'static str,
    category: Vec<CodeableConcept>,
    code: CodeableConcept,
    subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    encounter: Option<Reference>,
    effective_date_time: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    performer: Vec<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_integer: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    interpretation: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    derived_from: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    component: Vec<Component>,
}

impl Observation {
    fn new(
        id: String,
        category: &'static str,
        code: CodeableConcept,
        patient: &str,
        at: Timestamp,
    ) -> Self {
        Self {
            id,
            status: "final",
            category: vec![CodeableConcept::coded(
                OBSERVATION_CATEGORY,
                category,
                match category {
                    "vital-signs" => "Vital Signs",
                    "exam" => "Exam",
                    _ => "Survey",
                },
            )],
            code,
            subject: Reference::to(patient),
            encounter: None,
            effective_date_time: instant(at),
            performer: Vec::new(),
            value_quantity: None,
            value_codeable_concept: None,
            value_integer: None,
            interpretation: Vec::new(),
            note: Vec::new(),
            derived_from: Vec::new(),
            component: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    due_date: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Goal {
    id: String,
    lifecycle_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    achievement_status: Option<CodeableConcept>,
    category: Vec<CodeableConcept>,
    description: CodeableConcept,
    subject: Reference,
    start_date: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target: Vec<Target>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct CarePlan {
    id: String,
    status: &'static str,
    intent: &'static str,
    category: Vec<CodeableConcept>,
    title: &'static str,
    subject: Reference,
    period: Period,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supporting_info: Vec<Reference>,
    goal: Vec<Reference>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    content_type: &'static str,
    data: String,
    size: usize,
    title: String,
    creation: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    attachment: Attachment,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentContext {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    encounter: Vec<Reference>,
    period: Period,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentReference {
    id: String,
    status: &'static str,
    doc_status: &'static str,
    #[serde(rename = "type")]
    kind: CodeableConcept,
    category: Vec<CodeableConcept>,
    subject: Reference,
    date: String,
    author: Vec<Reference>,
    authenticator: Reference,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_label: Vec<CodeableConcept>,
    content: Vec<Content>,
    context: DocumentContext,
}

/// An adverse event of a dosing session (an observation marked adverse).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct AdverseEvent {
    id: String,
    actuality: &'static str,
    event: CodeableConcept,
    subject: Reference,
    encounter: Reference,
    date: String,
    recorded_date: String,
    outcome: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    recorder: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suspect_entity: Vec<SuspectEntity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reference_document: Vec<Reference>,
}

#[derive(Debug, Clone, Serialize)]
struct SuspectEntity {
    instance: Reference,
}

/// A problem list entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    id: String,
    clinical_status: CodeableConcept,
    category: Vec<CodeableConcept>,
    code: CodeableConcept,
    subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    onset_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abatement_date_time: Option<String>,
    recorded_date: String,
    recorder: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
}

#[derive(Debug, Clone, Serialize)]
struct DosageText {
    text: String,
}

/// A medication list entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct MedicationStatement {
    id: String,
    status: &'static str,
    medication_codeable_concept: CodeableConcept,
    subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_period: Option<Period>,
    date_asserted: String,
    information_source: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dosage: Vec<DosageText>,
}

#[derive(Debug, Clone, Serialize)]
struct Reaction {
    manifestation: Vec<CodeableConcept>,
}

/// An allergy list entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct AllergyIntolerance {
    id: String,
    clinical_status: CodeableConcept,
    code: CodeableConcept,
    patient: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    onset_date_time: Option<String>,
    recorded_date: String,
    recorder: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reaction: Vec<Reaction>,
}

// ---------------------------------------------------------------------------------------------

/// The entry's id: the UUID part of its `urn:uuid:` URL (FHIR ids allow it as it is).
fn id_of(url: &str) -> String {
    url.trim_start_matches("urn:uuid:").to_owned()
}

/// The session's route as SNOMED CT (the codes of FHIR's SNOMED CT Route Codes value set).
fn route(r: Route) -> CodeableConcept {
    let (code, text) = match r {
        Route::Iv => ("47625008", "Intravenous route"),
        Route::Im => ("78421000", "Intramuscular route"),
        Route::Sublingual => ("37839007", "Sublingual route"),
        Route::Intranasal => ("46713006", "Nasal route"),
        Route::Oral => ("26643006", "Oral route"),
    };
    CodeableConcept::coded(SNOMED, code, text)
}

/// Builds the bundle of one patient's records, and says what it holds and what it left out.
pub fn fhir_bundle(records: &PatientRecords, opts: &FhirOptions) -> (Bundle, FhirSummary) {
    let mut b = Builder {
        records,
        opts,
        patient: urn("Patient", &[records.patient.id.as_str()]),
        sessions: records
            .sessions
            .iter()
            .map(|s| (&s.id, urn("Encounter", &[s.id.as_str()])))
            .collect(),
        documents: HashMap::new(),
        courses: crate::model::course::courses(records, opts.reinduction_gap, &opts.tz),
        episodes: HashMap::new(),
        entries: Vec::new(),
        summary: FhirSummary::default(),
    };
    b.patient();
    b.episodes_of_care();
    // Which notes become documents is known before any goal points at one.
    for n in &records.notes {
        if n.is_signed() && (opts.include_psychotherapy_notes || !n.kind.is_private()) {
            b.documents
                .insert(&n.id, urn("DocumentReference", &[n.id.as_str()]));
        }
    }
    for r in records.chronological(true) {
        match r {
            RecordRef::Note(n) => b.note(n),
            RecordRef::Session(s) => b.session(s),
            RecordRef::Measure(m) => b.measure(m),
            RecordRef::Goal(g) => b.goal(g),
            RecordRef::SafetyFollowUp(f) => b.follow_up(f),
            // Courses are not resources of their own yet (an EpisodeOfCare would be): the
            // sessions and scores they group are exported as they are.
            RecordRef::Course(_) | RecordRef::Patient(_) => {}
            RecordRef::ListEntry(l) => b.list_entry(l),
        }
    }
    b.care_plan();
    let mut entry = b.entries;
    let kind = match opts.bundle {
        BundleKind::Collection => "collection",
        BundleKind::Transaction => {
            // PUT at the stable id: the same bundle sent again updates what the first made.
            for e in &mut entry {
                e.request = Some(Request {
                    method: "PUT",
                    url: format!("{}/{}", e.resource.type_name(), id_of(&e.full_url)),
                });
            }
            "transaction"
        }
    };
    let bundle = Bundle {
        resource_type: "Bundle",
        kind,
        timestamp: opts.generated_at.map(instant),
        entry,
    };
    (bundle, b.summary)
}

/// Writes the bundle of one patient's records as indented JSON, ending in a newline.
pub fn write_fhir(
    mut out: impl Write,
    records: &PatientRecords,
    opts: &FhirOptions,
) -> io::Result<FhirSummary> {
    let (bundle, summary) = fhir_bundle(records, opts);
    // An I/O error keeps its kind (a reader that stopped early is a broken pipe, not a failure).
    serde_json::to_writer_pretty(&mut out, &bundle).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(summary)
}

struct Builder<'a> {
    records: &'a PatientRecords,
    opts: &'a FhirOptions,
    patient: String,
    /// Each dosing session's Encounter.
    sessions: HashMap<&'a RecordId, String>,
    /// Each exported note's DocumentReference.
    documents: HashMap<&'a RecordId, String>,
    /// The patient's courses (recorded or inferred) and each one's EpisodeOfCare, by number.
    courses: Vec<crate::model::course::CoursePeriod>,
    episodes: HashMap<usize, String>,
    entries: Vec<Entry>,
    summary: FhirSummary,
}

impl<'a> Builder<'a> {
    fn push(&mut self, full_url: String, resource: Resource) {
        self.entries.push(Entry {
            full_url,
            resource,
            request: None,
        });
    }

    fn subject(&self) -> Reference {
        Reference::to(&self.patient)
    }

    /// The Encounter of a dosing session of this patient, if it is one.
    fn session_encounter(&self, id: Option<&RecordId>) -> Option<Reference> {
        id.and_then(|id| self.sessions.get(id))
            .map(|u| Reference::to(u))
    }

    fn patient(&mut self) {
        let p = &self.records.patient;
        let resource = Patient {
            id: id_of(&self.patient),
            identifier: vec![Identifier {
                kind: "usual",
                system: self.opts.identifier_system.clone(),
                value: p.id.as_str().to_owned(),
            }],
            active: !p.archived,
            name: vec![HumanName {
                text: strip_controls(&p.name),
            }],
            birth_date: p.born.map(|d| d.to_string()),
            gender: p.sex.map(|x| x.label()),
        };
        self.summary.patients += 1;
        self.push(self.patient.clone(), Resource::Patient(resource));
    }

    /// Each course is an EpisodeOfCare, active for the latest (unless the patient is archived),
    /// finished for the earlier ones, from its start to its last dose; the dosing sessions'
    /// Encounters point to theirs. An inferred course says so in its type's text.
    fn episodes_of_care(&mut self) {
        let courses = std::mem::take(&mut self.courses);
        let last = courses.len();
        for c in &courses {
            let url = match &c.record {
                Some(id) => urn("EpisodeOfCare", &[id.as_str()]),
                None => urn(
                    "EpisodeOfCare",
                    &[
                        self.records.patient.id.as_str(),
                        "inferred",
                        &c.start.as_second().to_string(),
                    ],
                ),
            };
            let current = c.number == last && !self.records.patient.archived;
            let mut text = format!("Ketamine treatment course {}: {}", c.number, c.kind.label());
            if c.inferred() {
                text.push_str(" (inferred from the dose dates)");
            }
            let resource = EpisodeOfCare {
                id: id_of(&url),
                status: if current { "active" } else { "finished" },
                kind: vec![CodeableConcept::text(text)],
                patient: self.subject(),
                period: Period {
                    start: Some(instant(c.start)),
                    end: if current {
                        None
                    } else {
                        Some(instant(c.last_dose.unwrap_or(c.start)))
                    },
                },
            };
            self.summary.episodes_of_care += 1;
            self.episodes.insert(c.number, url.clone());
            self.push(url, Resource::EpisodeOfCare(resource));
        }
        self.courses = courses;
    }

    fn encounter(&mut self, url: String, status: &'static str, kind: String, period: Period) {
        let resource = Encounter {
            id: id_of(&url),
            status,
            class: Coding::of(ACT_CODE, "AMB"),
            kind: vec![CodeableConcept::text(kind)],
            subject: self.subject(),
            episode_of_care: Vec::new(),
            period,
        };
        self.summary.encounters += 1;
        self.push(url, Resource::Encounter(resource));
    }

    fn note(&mut self, n: &'a Note) {
        if n.kind.is_private() && !self.opts.include_psychotherapy_notes {
            self.summary.psychotherapy_notes_withheld += 1;
            return;
        }
        // Preparation and integration notes each describe a session of their own; a session
        // note belongs to its dosing session's Encounter.
        let own_encounter = match n.kind {
            NoteKind::Preparation => Some("Preparation session"),
            NoteKind::Integration => Some("Integration session"),
            NoteKind::Session | NoteKind::Psychotherapy => None,
        };
        let encounter = match own_encounter {
            Some(kind) => {
                let url = urn("Encounter", &[n.id.as_str()]);
                self.encounter(
                    url.clone(),
                    "finished",
                    kind.to_owned(),
                    Period {
                        start: Some(instant(n.at)),
                        end: None,
                    },
                );
                Some(Reference::to(&url))
            }
            None => self.session_encounter(n.session.as_ref()),
        };
        let Some(url) = self.documents.get(&n.id).cloned() else {
            self.summary.drafts_left_out += 1;
            return;
        };
        let (Some(by), Some(signed_at)) = (n.signed_by.as_deref(), n.signed_at) else {
            // A signed note always has both (the store checks); without them it is no document.
            self.summary.drafts_left_out += 1;
            return;
        };
        let text = note_markdown(n, &self.opts.tz);
        let security_label = if n.kind.is_private() {
            // Restricted: the patient authorised this disclosure; it goes no further.
            vec![CodeableConcept::coded(
                CONFIDENTIALITY,
                "R",
                "Psychotherapy note: restricted",
            )]
        } else {
            Vec::new()
        };
        let resource = DocumentReference {
            id: id_of(&url),
            status: "current",
            doc_status: if n.addenda.is_empty() {
                "final"
            } else {
                "amended"
            },
            kind: CodeableConcept::coded(LOINC, codes::MENTAL_HEALTH_NOTE, "Mental health note"),
            category: vec![CodeableConcept::text(n.kind.label())],
            subject: self.subject(),
            date: instant(signed_at),
            author: vec![Reference::named(by)],
            authenticator: Reference::named(by),
            description: strip_controls(&n.title),
            security_label,
            content: vec![Content {
                attachment: Attachment {
                    content_type: "text/markdown; charset=UTF-8",
                    size: text.len(),
                    data: base64(text.as_bytes()),
                    title: strip_controls(&n.title),
                    creation: instant(n.at),
                },
            }],
            context: DocumentContext {
                encounter: encounter.into_iter().collect(),
                period: Period {
                    start: Some(instant(n.at)),
                    end: None,
                },
            },
        };
        self.summary.document_references += 1;
        self.push(url, Resource::DocumentReference(resource));
    }

    fn session(&mut self, s: &'a DosingSession) {
        let encounter_url = urn("Encounter", &[s.id.as_str()]);
        let ended = s.discharge.is_some() || s.early_end_reason.is_some() || s.is_signed();
        let under_way = s.dose_time.is_some()
            || !s.vitals.is_empty()
            || !s.observations.is_empty()
            || !s.sedation.is_empty();
        let status = if ended {
            "finished"
        } else if under_way {
            "in-progress"
        } else {
            "planned"
        };
        let mut kind = match s.number {
            Some(n) => format!("Dosing session {n}"),
            None => "Dosing session".to_owned(),
        };
        kind.push_str(&format!(
            ": {} {}",
            strip_controls(&s.medication),
            s.route.label()
        ));
        self.encounter(
            encounter_url.clone(),
            status,
            kind,
            Period {
                start: Some(instant(s.at)),
                end: s.discharge.as_ref().map(|d| instant(d.at)),
            },
        );
        // The session belongs to the course its dose (or booking) falls in.
        let course = crate::model::course::course_of(&self.courses, s.dose_time.unwrap_or(s.at))
            .map(|c| c.number);
        if let (
            Some(n),
            Some(Entry {
                resource: Resource::Encounter(e),
                ..
            }),
        ) = (course, self.entries.last_mut())
            && let Some(url) = self.episodes.get(&n)
        {
            e.episode_of_care = vec![Reference::to(url)];
        }
        self.dose(s, &encounter_url, ended);
        self.adverse_events(s, &encounter_url);
        for (i, v) in s.vitals.iter().enumerate() {
            self.vitals(s, i, v, &encounter_url);
        }
        for (i, r) in s.sedation.iter().enumerate() {
            let mut o = Observation::new(
                id_of(&urn(
                    "Observation",
                    &[s.id.as_str(), "moaas", &i.to_string()],
                )),
                "survey",
                CodeableConcept::text(
                    "MOAA/S sedation rating (0 no response to pain, 5 responds readily to name)",
                ),
                &self.patient,
                r.at,
            );
            o.encounter = Some(Reference::to(&encounter_url));
            o.value_integer = Some(r.moaas);
            o.note = corrections_of(s, crate::model::EntryField::Sedation, i);
            if !o.note.is_empty() {
                o.status = "corrected";
            }
            self.summary.rating_observations += 1;
            self.push(format!("urn:uuid:{}", o.id), Resource::Observation(o));
        }
        for (i, r) in s.dissociation.iter().enumerate() {
            if !r.total.is_finite() {
                continue;
            }
            let mut o = Observation::new(
                id_of(&urn(
                    "Observation",
                    &[s.id.as_str(), "dissociation", &i.to_string()],
                )),
                "survey",
                CodeableConcept::text(format!(
                    "{} dissociation score (entered by the clinician)",
                    strip_controls(&r.scale)
                )),
                &self.patient,
                r.at,
            );
            o.encounter = Some(Reference::to(&encounter_url));
            o.value_quantity = Some(Quantity::score(r.total));
            o.note = corrections_of(s, crate::model::EntryField::Dissociation, i);
            if !o.note.is_empty() {
                o.status = "corrected";
            }
            self.summary.rating_observations += 1;
            self.push(format!("urn:uuid:{}", o.id), Resource::Observation(o));
        }
    }

    /// The dose: given at T0 (completed), or not given in a session that ended without one
    /// (not-done). A session still waiting for its dose has no administration yet.
    fn dose(&mut self, s: &DosingSession, encounter: &str, ended: bool) {
        let (status, effective) = match (s.dose_time, ended) {
            (Some(t0), _) => ("completed", t0),
            (None, true) => ("not-done", s.at),
            (None, false) => {
                self.summary.doses_not_given += 1;
                return;
            }
        };
        let medication_text = strip_controls(&s.medication);
        let lot = s.lot.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let (medication_codeable_concept, medication_reference) = match lot {
            Some(lot) => {
                let url = urn("Medication", &[s.id.as_str()]);
                let medication = Medication {
                    id: id_of(&url),
                    code: CodeableConcept::text(medication_text.clone()),
                    batch: Batch {
                        lot_number: strip_controls(lot),
                    },
                };
                self.summary.medications += 1;
                self.push(url.clone(), Resource::Medication(medication));
                (None, Some(Reference::to(&url)))
            }
            None => (Some(CodeableConcept::text(medication_text.clone())), None),
        };
        let mg = s.dose_in_mg().filter(|mg| mg.is_finite());
        let text = match (s.dose_mg_per_kg, s.weight_kg, mg) {
            (Some(per_kg), Some(kg), Some(mg)) => Some(format!(
                "{medication_text} {per_kg} mg/kg x {kg} kg = {mg} mg {}",
                s.route.label()
            )),
            (_, _, Some(mg)) => Some(format!("{medication_text} {mg} mg {}", s.route.label())),
            _ => None,
        };
        let url = urn("MedicationAdministration", &[s.id.as_str()]);
        let resource = MedicationAdministration {
            id: id_of(&url),
            status,
            status_reason: match (status, s.early_end_reason.as_deref()) {
                ("not-done", Some(why)) if !why.trim().is_empty() => {
                    vec![CodeableConcept::text(strip_controls(why))]
                }
                _ => Vec::new(),
            },
            medication_codeable_concept,
            medication_reference,
            subject: self.subject(),
            context: Reference::to(encounter),
            effective_date_time: instant(effective),
            dosage: Dosage {
                text,
                route: route(s.route),
                dose: mg.map(|mg| Quantity::ucum(mg, "mg")),
            },
            note: {
                use crate::model::EntryField;
                let mut notes: Vec<Annotation> =
                    [EntryField::Dose, EntryField::Lot, EntryField::DoseTime]
                        .into_iter()
                        .flat_map(|f| corrections_of(s, f, 0))
                        .collect();
                notes.extend(s.dose_overrides().iter().map(|o| Annotation {
                    time: instant(o.at),
                    text: strip_controls(&format!(
                        "Dose outside the protocol: {} ({}); confirmed by {}: {}",
                        o.dose, o.check, o.by, o.why
                    )),
                }));
                notes
            },
        };
        self.summary.medication_administrations += 1;
        self.push(url, Resource::MedicationAdministration(resource));
    }

    fn vitals(&mut self, s: &DosingSession, index: usize, v: &Vitals, encounter: &str) {
        let i = index.to_string();
        let sid = s.id.as_str();
        let flags = crate::model::monitoring::reading_flags(s, v, &self.opts.thresholds);
        let thresholds = &self.opts.thresholds;
        // H or L with the flag's words where the reading is flagged, else N: every reading
        // is checked against the clinic's lines.
        let interpretation = |kind: crate::model::monitoring::FlagKind| -> Vec<CodeableConcept> {
            use crate::model::monitoring::VitalsFlag as F;
            let mine: Vec<&F> = flags.iter().filter(|f| f.kind() == kind).collect();
            if mine.is_empty() {
                return vec![CodeableConcept::coded(INTERPRETATION, "N", "Normal")];
            }
            let low = mine.iter().all(|f| {
                matches!(
                    f,
                    F::BpLow { .. } | F::HeartRateLow { .. } | F::Spo2Low { .. }
                )
            });
            let text: Vec<String> = mine.iter().map(|f| f.message(thresholds)).collect();
            vec![CodeableConcept::coded(
                INTERPRETATION,
                if low { "L" } else { "H" },
                text.join("; "),
            )]
        };
        let mut found: Vec<Observation> = Vec::new();
        let vital = |part: &str, code: CodeableConcept| {
            let mut o = Observation::new(
                id_of(&urn("Observation", &[sid, "vitals", &i, part])),
                "vital-signs",
                code,
                &self.patient,
                v.at,
            );
            o.encounter = Some(Reference::to(encounter));
            o.note = corrections_of(s, crate::model::EntryField::Vitals, index);
            if !o.note.is_empty() {
                o.status = "corrected";
            }
            o
        };
        if v.systolic.is_some() || v.diastolic.is_some() {
            let mut o = vital(
                "bp",
                CodeableConcept::coded(LOINC, codes::BP_PANEL, "Blood pressure"),
            );
            o.interpretation = interpretation(crate::model::monitoring::FlagKind::BloodPressure);
            for (code, text, value) in [
                (codes::SYSTOLIC, "Systolic blood pressure", v.systolic),
                (codes::DIASTOLIC, "Diastolic blood pressure", v.diastolic),
            ] {
                o.component.push(Component {
                    code: CodeableConcept::coded(LOINC, code, text),
                    value_quantity: value.map(Quantity::mm_hg),
                    // One half of a reading was not taken down.
                    data_absent_reason: value.is_none().then(|| {
                        CodeableConcept::coded(DATA_ABSENT_REASON, "unknown", "Not recorded")
                    }),
                });
            }
            found.push(o);
        }
        if let Some(hr) = v.heart_rate {
            let mut o = vital(
                "hr",
                CodeableConcept::coded(LOINC, codes::HEART_RATE, "Heart rate"),
            );
            o.value_quantity = Some(Quantity::ucum(f64::from(hr), "/min"));
            o.interpretation = interpretation(crate::model::monitoring::FlagKind::HeartRate);
            found.push(o);
        }
        if let Some(spo2) = v.spo2 {
            let mut o = vital(
                "spo2",
                CodeableConcept {
                    coding: vec![
                        Coding::of(LOINC, codes::OXYGEN_SATURATION),
                        Coding::of(LOINC, codes::PULSE_OXIMETRY),
                    ],
                    text: Some("Oxygen saturation (pulse oximetry)".to_owned()),
                },
            );
            o.value_quantity = Some(Quantity::ucum(f64::from(spo2), "%"));
            o.interpretation = interpretation(crate::model::monitoring::FlagKind::Spo2);
            found.push(o);
        }
        for o in found {
            self.summary.vital_sign_observations += 1;
            self.push(format!("urn:uuid:{}", o.id), Resource::Observation(o));
        }
    }

    fn measure(&mut self, m: &Measure) {
        let Ok(score) = m.score() else {
            self.summary.measures_left_out += 1;
            return;
        };
        let encounter = self.session_encounter(m.session.as_ref());
        let label = m.instrument.label();
        let observation_url = urn("Observation", &[m.id.as_str()]);
        let mut o = Observation::new(
            id_of(&observation_url),
            "survey",
            CodeableConcept::text(""),
            &self.patient,
            m.at,
        );
        o.encounter = encounter.clone();
        o.value_quantity = Some(Quantity::score(score.total()));
        match (m.instrument, score) {
            (
                Instrument::Phq9 | Instrument::Gad7,
                Score::Scored {
                    band, item9_flag, ..
                },
            ) => {
                let (total_code, items) = match m.instrument {
                    Instrument::Phq9 => (loinc::PHQ9_TOTAL, &crate::model::measure::PHQ9_ITEMS[..]),
                    _ => (loinc::GAD7_TOTAL, &crate::model::measure::GAD7_ITEMS[..]),
                };
                o.code = CodeableConcept::coded(LOINC, total_code, format!("{label} total score"));
                o.interpretation = vec![CodeableConcept::text(band.label())];
                if item9_flag {
                    let answer = m.items.get(8).copied().unwrap_or_default();
                    o.note.push(Annotation {
                        time: instant(m.at),
                        text: format!(
                            "Item 9 (thoughts of self-harm) is {answer}: needs follow-up whatever \
                             the total."
                        ),
                    });
                }
                let response_url = urn("QuestionnaireResponse", &[m.id.as_str()]);
                let slug = m.instrument.as_str();
                let response = QuestionnaireResponse {
                    id: id_of(&response_url),
                    status: "completed",
                    subject: self.subject(),
                    encounter,
                    authored: instant(m.at),
                    item: vec![Item {
                        link_id: slug.to_owned(),
                        text: format!("{label}: {}", crate::model::measure::STEM),
                        answer: Vec::new(),
                        item: items
                            .iter()
                            .zip(&m.items)
                            .enumerate()
                            .map(|(i, (text, &value))| Item {
                                link_id: format!("{slug}-{}", i + 1),
                                text: (*text).to_owned(),
                                answer: vec![Answer {
                                    value_integer: value,
                                }],
                                item: Vec::new(),
                            })
                            .collect(),
                    }],
                };
                o.derived_from = vec![Reference::to(&response_url)];
                self.summary.questionnaire_responses += 1;
                self.push(response_url, Resource::QuestionnaireResponse(response));
            }
            _ => {
                // No code is sure for these scales: the name says what the number is.
                o.code = CodeableConcept::text(format!(
                    "{label} total score (entered by the clinician)"
                ));
            }
        }
        self.summary.score_observations += 1;
        self.push(observation_url, Resource::Observation(o));
    }

    /// A safety follow-up is an Observation: the clinician's assessment of suicide risk, with
    /// the risk as its value, the plan as a note and the assessor as performer, derived from the
    /// PHQ-9 total whose item 9 prompted it. An Observation, not a ClinicalImpression: R4 gives
    /// ClinicalImpression the maturity level 0 and few receivers read it, while an Observation
    /// with `derivedFrom` the PHQ-9 sits beside the score it answers in every EHR. No LOINC code
    /// is certain for "suicide risk assessment", so the code is text only.
    fn follow_up(&mut self, f: &SafetyFollowUp) {
        let url = urn("Observation", &[f.id.as_str(), "safety-follow-up"]);
        let mut o = Observation::new(
            id_of(&url),
            "exam",
            CodeableConcept::text("Suicide risk assessment (safety follow-up of PHQ-9 item 9)"),
            &self.patient,
            f.at,
        );
        o.performer = vec![Reference::named(&strip_controls(&f.by))];
        o.value_codeable_concept = Some(CodeableConcept::text(format!("{} risk", f.risk.as_str())));
        o.note = vec![Annotation {
            time: instant(f.at),
            text: format!("Plan: {}", strip_controls(&f.plan)),
        }];
        if let Some(m) = f.measure.as_ref().and_then(|id| {
            self.records
                .measures
                .iter()
                .find(|m| &m.id == id && m.score().is_ok())
        }) {
            o.derived_from = vec![Reference::to(&urn("Observation", &[m.id.as_str()]))];
        }
        self.summary.safety_follow_ups += 1;
        self.push(url, Resource::Observation(o));
    }

    /// Every observation marked adverse is an AdverseEvent (`actuality` actual), whether or not
    /// the session and its note are signed: a receiving system must see it either way. The
    /// event's text says when the session is not signed yet (its entries may still be
    /// corrected); a signed session note is its `referenceDocument`. `outcome` is resolved once
    /// the clinician marked it so, else ongoing; the dose given is the suspect.
    fn adverse_events(&mut self, s: &DosingSession, encounter: &str) {
        let given = s.dose_time.is_some();
        let session_note = self
            .records
            .notes
            .iter()
            .filter(|n| n.session.as_ref() == Some(&s.id))
            .find_map(|n| self.documents.get(&n.id).cloned());
        for (i, o) in s.observations.iter().enumerate() {
            if !o.adverse {
                continue;
            }
            let url = urn("AdverseEvent", &[s.id.as_str(), "adverse", &i.to_string()]);
            let resolved = s.adverse_resolved().iter().find(|r| r.event_at == o.at);
            let mut text = strip_controls(&o.text);
            if !s.is_signed() {
                text.push_str(" [recorded in a dosing session not signed yet]");
            }
            for k in s.corrections_of(crate::model::EntryField::Observation, i) {
                text.push_str(&format!(
                    " [corrected {}: originally \"{}\"; by {}: {}]",
                    instant(k.at),
                    strip_controls(&k.old),
                    strip_controls(&k.by),
                    strip_controls(&k.why)
                ));
            }
            let resource = AdverseEvent {
                id: id_of(&url),
                actuality: "actual",
                event: CodeableConcept::text(text),
                subject: self.subject(),
                encounter: Reference::to(encounter),
                date: instant(o.at),
                recorded_date: instant(o.at),
                outcome: match resolved {
                    Some(_) => {
                        CodeableConcept::coded(ADVERSE_EVENT_OUTCOME, "resolved", "Resolved")
                    }
                    None => CodeableConcept::coded(ADVERSE_EVENT_OUTCOME, "ongoing", "Ongoing"),
                },
                recorder: s
                    .signed_by
                    .as_deref()
                    .map(|by| Reference::named(&strip_controls(by))),
                suspect_entity: if given {
                    vec![SuspectEntity {
                        instance: Reference::to(&urn("MedicationAdministration", &[s.id.as_str()])),
                    }]
                } else {
                    Vec::new()
                },
                reference_document: session_note.iter().map(|u| Reference::to(u)).collect(),
            };
            self.summary.adverse_events += 1;
            self.push(url, Resource::AdverseEvent(resource));
        }
    }

    /// A problem, medication or allergy list entry: Condition (category problem-list-item),
    /// MedicationStatement or AllergyIntolerance. A stop date is the abatement, the end of the
    /// period, or the allergy resolved; each stop and correction is a note with the values it
    /// replaced, so the original stays readable.
    fn list_entry(&mut self, l: &crate::model::ListEntry) {
        use crate::model::ListKind;
        use crate::model::lists::RevisionKind;
        let mut after = l.values();
        let mut note: Vec<Annotation> = l
            .revisions
            .iter()
            .rev()
            .map(|r| {
                let text = match r.kind {
                    RevisionKind::Stopped => format!(
                        "{} by {}{}",
                        l.list.stopped_word(),
                        r.by,
                        if r.why.trim().is_empty() {
                            String::new()
                        } else {
                            format!(": {}", r.why)
                        }
                    ),
                    RevisionKind::Corrected => format!(
                        "Corrected by {}: {}. Before: {}; after: {}",
                        r.by,
                        r.why,
                        r.before.describe(l.list),
                        after.describe(l.list)
                    ),
                };
                after = r.before.clone();
                Annotation {
                    time: instant(r.at),
                    text: strip_controls(&text),
                }
            })
            .collect();
        note.reverse();
        let name = strip_controls(&l.name);
        let detail = strip_controls(l.detail.trim());
        let recorder = Reference::named(&strip_controls(&l.by));
        match l.list {
            ListKind::Problem => {
                let url = urn("Condition", &[l.id.as_str()]);
                if !detail.is_empty() {
                    note.insert(
                        0,
                        Annotation {
                            time: instant(l.at),
                            text: detail.clone(),
                        },
                    );
                }
                let resource = Condition {
                    id: id_of(&url),
                    clinical_status: match l.stopped {
                        None => CodeableConcept::coded(CONDITION_CLINICAL, "active", "Active"),
                        Some(_) => {
                            CodeableConcept::coded(CONDITION_CLINICAL, "resolved", "Resolved")
                        }
                    },
                    category: vec![CodeableConcept::coded(
                        CONDITION_CATEGORY,
                        "problem-list-item",
                        "Problem list item",
                    )],
                    code: CodeableConcept::text(name),
                    subject: self.subject(),
                    onset_date_time: l.started.map(|d| d.to_string()),
                    abatement_date_time: l.stopped.map(|d| d.to_string()),
                    recorded_date: instant(l.at),
                    recorder,
                    note,
                };
                self.summary.conditions += 1;
                self.push(url, Resource::Condition(resource));
            }
            ListKind::Medication => {
                let url = urn("MedicationStatement", &[l.id.as_str()]);
                if let Some(c) = l.class {
                    // No code system carries these classes as the REMS form asks them: text.
                    note.insert(
                        0,
                        Annotation {
                            time: instant(l.at),
                            text: format!("Medication class: {}", c.label()),
                        },
                    );
                }
                let resource = MedicationStatement {
                    id: id_of(&url),
                    status: if l.stopped.is_some() {
                        "stopped"
                    } else {
                        "active"
                    },
                    medication_codeable_concept: CodeableConcept::text(name),
                    subject: self.subject(),
                    effective_period: (l.started.is_some() || l.stopped.is_some()).then(|| {
                        Period {
                            start: l.started.map(|d| d.to_string()),
                            end: l.stopped.map(|d| d.to_string()),
                        }
                    }),
                    date_asserted: instant(l.at),
                    information_source: recorder,
                    note,
                    dosage: if detail.is_empty() {
                        Vec::new()
                    } else {
                        vec![DosageText { text: detail }]
                    },
                };
                self.summary.medication_statements += 1;
                self.push(url, Resource::MedicationStatement(resource));
            }
            ListKind::Allergy => {
                let url = urn("AllergyIntolerance", &[l.id.as_str()]);
                let resource = AllergyIntolerance {
                    id: id_of(&url),
                    clinical_status: match l.stopped {
                        None => CodeableConcept::coded(ALLERGY_CLINICAL, "active", "Active"),
                        Some(_) => CodeableConcept::coded(ALLERGY_CLINICAL, "resolved", "Resolved"),
                    },
                    code: CodeableConcept::text(name),
                    patient: self.subject(),
                    onset_date_time: l.started.map(|d| d.to_string()),
                    recorded_date: instant(l.at),
                    recorder,
                    note,
                    reaction: if detail.is_empty() {
                        Vec::new()
                    } else {
                        vec![Reaction {
                            manifestation: vec![CodeableConcept::text(detail)],
                        }]
                    },
                };
                self.summary.allergy_intolerances += 1;
                self.push(url, Resource::AllergyIntolerance(resource));
            }
        }
    }

    fn goal(&mut self, g: &IntegrationGoal) {
        let url = urn("Goal", &[g.id.as_str()]);
        let (lifecycle_status, achievement_status) = match g.status {
            GoalStatus::Active => ("active", None),
            GoalStatus::Achieved => (
                "completed",
                Some(CodeableConcept::coded(
                    GOAL_ACHIEVEMENT,
                    "achieved",
                    "Achieved",
                )),
            ),
            GoalStatus::Paused => ("on-hold", None),
            GoalStatus::Dropped => ("cancelled", None),
        };
        let mut check_ins: Vec<_> = g.check_ins.iter().collect();
        check_ins.sort_by_key(|c| c.at);
        let resource = Goal {
            id: id_of(&url),
            lifecycle_status,
            achievement_status,
            category: vec![CodeableConcept::text(format!(
                "Integration goal: {}",
                strip_controls(g.domain.as_str())
            ))],
            description: CodeableConcept::text(strip_controls(&g.title)),
            subject: self.subject(),
            start_date: g.at.to_zoned(self.opts.tz.clone()).date().to_string(),
            target: g
                .target_date
                .map(|d| Target {
                    due_date: d.to_string(),
                })
                .into_iter()
                .collect(),
            note: check_ins
                .into_iter()
                .map(|c| {
                    let mut text = format!("Check-in: progress {}/10.", c.progress);
                    if !c.note.trim().is_empty() {
                        text.push(' ');
                        text.push_str(&inline(&c.note));
                    }
                    Annotation {
                        time: instant(c.at),
                        text,
                    }
                })
                .collect(),
        };
        self.summary.goals += 1;
        self.push(url, Resource::Goal(resource));
    }

    /// One integration plan over all the patient's goals, pointing at the signed notes their
    /// intentions came from and where their check-ins were discussed.
    fn care_plan(&mut self) {
        let records = self.records;
        let goals = &records.goals;
        if goals.is_empty() {
            return;
        }
        let mut goals_in_order: Vec<&IntegrationGoal> = goals.iter().collect();
        goals_in_order.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        let mut seen = HashSet::new();
        let mut supporting_info = Vec::new();
        for g in &goals_in_order {
            for n in g.note_links() {
                if let Some(url) = self.documents.get(n)
                    && seen.insert(url.clone())
                {
                    supporting_info.push(Reference::to(url));
                }
            }
        }
        let open = goals
            .iter()
            .any(|g| matches!(g.status, GoalStatus::Active | GoalStatus::Paused));
        let url = urn("CarePlan", &[records.patient.id.as_str(), "integration"]);
        let resource = CarePlan {
            id: id_of(&url),
            status: if open { "active" } else { "completed" },
            intent: "plan",
            category: vec![CodeableConcept::text(
                "Integration after ketamine-assisted therapy",
            )],
            title: "Integration goals",
            subject: self.subject(),
            period: Period {
                start: goals_in_order.first().map(|g| instant(g.at)),
                end: None,
            },
            supporting_info,
            goal: goals_in_order
                .iter()
                .map(|g| Reference::to(&urn("Goal", &[g.id.as_str()])))
                .collect(),
        };
        self.summary.care_plans += 1;
        self.push(url, Resource::CarePlan(resource));
    }
}

/// The note as Markdown: title, kind, signature, its sections with text, then each addendum.
/// Text is escaped as in the Markdown chart, so it renders exactly as typed.
fn note_markdown(n: &Note, tz: &TimeZone) -> String {
    let when = |t: Timestamp| {
        jiff::fmt::strtime::format("%Y-%m-%d %H:%M %Z", &t.to_zoned(tz.clone()))
            .unwrap_or_else(|_| t.to_string())
    };
    let mut out = format!(
        "# {}\n\n{}, {}",
        inline(&n.title),
        n.kind.label(),
        when(n.at)
    );
    if let (Some(by), Some(at)) = (&n.signed_by, n.signed_at) {
        out.push_str(&format!(". Signed by {} at {}.", inline(by), when(at)));
    }
    out.push('\n');
    for s in n.sections.iter().filter(|s| !s.body.trim().is_empty()) {
        out.push_str(&format!(
            "\n## {}\n\n{}\n",
            inline(&s.heading),
            block(&s.body)
        ));
    }
    for a in &n.addenda {
        out.push_str(&format!(
            "\n## Addendum, {}, by {}\n\n{}\n",
            when(a.at),
            inline(&a.by),
            block(&a.text)
        ));
    }
    out
}

/// Standard base64 with padding (RFC 4648), as FHIR's `base64Binary` is written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PatientId, Section};

    #[test]
    fn base64_matches_rfc_4648s_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64("Zoë".as_bytes()), "Wm/Dqw==");
    }

    #[test]
    fn urls_are_uuid_v5_the_same_every_time_and_distinct_per_record_and_part() {
        let a = urn("Encounter", &["s1"]);
        assert_eq!(a, urn("Encounter", &["s1"]));
        assert!(a.starts_with("urn:uuid:"));
        let u = Uuid::parse_str(&a["urn:uuid:".len()..]).unwrap();
        assert_eq!(u.get_version_num(), 5);
        let all = [
            a.clone(),
            urn("Encounter", &["s2"]),
            urn("Observation", &["s1"]),
            urn("Observation", &["s1", "vitals", "0", "bp"]),
            urn("Observation", &["s1", "vitals", "0", "hr"]),
            urn("Observation", &["s1", "vitals", "1", "bp"]),
            urn("Observation", &["s1 vitals", "0", "bp"]),
        ];
        let distinct: HashSet<&String> = all.iter().collect();
        // Ids hold no spaces, so the last name is not one a store can produce; the others differ.
        assert_eq!(distinct.len(), all.len() - 1);
    }

    #[test]
    fn decimals_are_whole_when_whole() {
        let j = |v: f64| serde_json::to_string(&Decimal(v)).unwrap();
        assert_eq!(j(13.0), "13");
        assert_eq!(j(0.0), "0");
        assert_eq!(j(36.2), "36.2");
        assert_eq!(j(4.5), "4.5");
    }

    #[test]
    fn a_note_is_markdown_with_its_signature_sections_and_addenda_escaped() {
        let mut n = Note::draft(
            RecordId::parse("n1").unwrap(),
            PatientId::parse("p1").unwrap(),
            NoteKind::Integration,
            "2026-03-06T10:00:00Z".parse().unwrap(),
            "Integration *1*",
            vec![
                Section::new("Themes", "# not a heading\nRelief."),
                Section::new("Empty", "  "),
            ],
        );
        n.sign("Dr. Test", "2026-03-06T11:00:00Z".parse().unwrap(), &[])
            .unwrap();
        n.add_addendum(
            "Called back.",
            "Dr. Other",
            "2026-03-07T09:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(
            note_markdown(&n, &TimeZone::UTC),
            "# Integration \\*1\\*\n\nIntegration note, 2026-03-06 10:00 UTC. Signed by Dr. Test \
             at 2026-03-06 11:00 UTC.\n\n## Themes\n\n\\# not a heading  \nRelief.\n\n\
             ## Addendum, 2026-03-07 09:00 UTC, by Dr. Other\n\nCalled back.\n"
        );
    }
}
