//! The FHIR R4 export as a receiving system meets it: every bundle parses with an independent
//! FHIR R4 model (the `fhir` crate's R4 types) and passes its validation, loses nothing when
//! parsed (so no element is misspelt or misplaced), every reference resolves to an entry of the
//! bundle, the resources match the patient's records one for one, scores carry their LOINC
//! codes, and psychotherapy notes stay out unless asked for. All data is invented.

use crate::common::*;
use fhir::r4::resources::{self as r4r, Bundle as R4Bundle};
use fhir::validate::Validate;
use jiff::civil::date;
use kitnotes::demo::{self, DemoSpec};
use kitnotes::interchange::{FhirOptions, FhirSummary, NothingStored, fhir_bundle, parse};
use kitnotes::model::*;
use kitnotes::store::{AuditAction, AuditFilter, Store};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

const FIXTURE: &str = include_str!("fixtures/interchange/varied.jsonl");

fn spec() -> DemoSpec {
    DemoSpec {
        patients: 8,
        notes_per_patient: 16,
        seed: 42,
        ..DemoSpec::new(date(2026, 11, 21))
    }
}

/// Every demo patient's records, as the store hands them to an export.
fn demo_patients() -> Vec<PatientRecords> {
    demo::generate(&spec()).map(group_one).collect()
}

/// The patients of the interchange fixture, by id.
fn fixture_patients() -> BTreeMap<String, PatientRecords> {
    let parsed = parse(FIXTURE.as_bytes(), &NothingStored).unwrap();
    let mut out: BTreeMap<String, PatientRecords> = BTreeMap::new();
    let (patients, others): (Vec<_>, Vec<_>) = parsed
        .records
        .into_iter()
        .partition(|r| r.kind() == RecordKind::Patient);
    for p in patients {
        if let Record::Patient(p) = p {
            out.insert(p.id.to_string(), PatientRecords::new(p));
        }
    }
    for r in others {
        out.get_mut(r.patient().as_str()).unwrap().push(r);
    }
    out
}

/// A demo patient with every kind of record the export maps: signed notes, drafts, private
/// notes, dosing sessions with doses and vitals, PHQ-9, GAD-7 and goals with check-ins.
fn rich_patient(all: &[PatientRecords]) -> &PatientRecords {
    all.iter()
        .find(|r| {
            r.notes
                .iter()
                .any(|n| n.is_signed() && !n.kind.is_private())
                && r.notes.iter().any(|n| !n.is_signed())
                && r.notes.iter().any(|n| n.kind.is_private() && n.is_signed())
                && r.sessions
                    .iter()
                    .any(|s| s.dose_time.is_some() && !s.vitals.is_empty())
                && r.measures.iter().any(|m| m.instrument == Instrument::Phq9)
                && r.measures.iter().any(|m| m.instrument == Instrument::Gad7)
                && r.goals.iter().any(|g| !g.check_ins.is_empty())
        })
        .expect("the demo has a patient with every kind of record")
}

fn bundle_json(records: &PatientRecords, include_private: bool) -> (Value, FhirSummary) {
    let opts = FhirOptions {
        include_psychotherapy_notes: include_private,
        generated_at: Some(ts("2026-11-21T15:30:00Z")),
        ..FhirOptions::default()
    };
    let (bundle, summary) = fhir_bundle(records, &opts);
    (serde_json::to_value(&bundle).unwrap(), summary)
}

/// Parses the bundle and each of its resources with the FHIR R4 model and validates them. Each
/// resource must also serialize back to exactly what was written: an element the model does
/// not know (a misspelt name, an R5 element) would otherwise be dropped without a word.
fn check_r4(json: &Value) -> Result<(), String> {
    let bundle: R4Bundle =
        serde_json::from_value(json.clone()).map_err(|e| format!("Bundle: {e}"))?;
    let times = bad_times(json);
    if !times.is_empty() {
        return Err(format!("not FHIR dates or instants: {times:?}"));
    }
    let issues = bundle.validate();
    if !issues.is_empty() {
        return Err(format!("Bundle: {issues:?}"));
    }
    for (i, entry) in json["entry"].as_array().into_iter().flatten().enumerate() {
        let resource = &entry["resource"];
        let kind = resource["resourceType"].as_str().unwrap_or_default();
        let back = match kind {
            "Patient" => r4::<r4r::Patient>(resource),
            "Encounter" => r4::<r4r::Encounter>(resource),
            "Medication" => r4::<r4r::Medication>(resource),
            "MedicationAdministration" => r4::<r4r::MedicationAdministration>(resource),
            "QuestionnaireResponse" => r4::<r4r::QuestionnaireResponse>(resource),
            "Observation" => r4::<r4r::Observation>(resource),
            "Goal" => r4::<r4r::Goal>(resource),
            "CarePlan" => r4::<r4r::CarePlan>(resource),
            "EpisodeOfCare" => r4::<r4r::EpisodeOfCare>(resource),
            "DocumentReference" => r4::<r4r::DocumentReference>(resource),
            "AdverseEvent" => r4::<r4r::AdverseEvent>(resource),
            "Condition" => r4::<r4r::Condition>(resource),
            "MedicationStatement" => r4::<r4r::MedicationStatement>(resource),
            "AllergyIntolerance" => r4::<r4r::AllergyIntolerance>(resource),
            other => Err(format!(
                "a resource type the export does not make: {other:?}"
            )),
        }
        .map_err(|e| format!("entry {i} ({kind}): {e}"))?;
        if !same_json(&back, resource) {
            return Err(format!(
                "entry {i} ({kind}) does not survive the R4 model:\nwrote {resource}\nread  {back}"
            ));
        }
    }
    Ok(())
}

/// Dates and times FHIR cannot read, anywhere in `v`. The R4 model keeps them as text, so the
/// test checks the formats itself: a `date` is YYYY-MM-DD, and every time kitnotes writes is a
/// full instant, to the second, with a zone (FHIR's `instant`, which every `dateTime` accepts).
fn bad_times(v: &Value) -> Vec<String> {
    const DATES: [&str; 3] = ["birthDate", "startDate", "dueDate"];
    // A list entry's start and stop are calendar days (FHIR dateTime at day precision).
    const DATES_OR_TIMES: [&str; 4] = ["onsetDateTime", "abatementDateTime", "start", "end"];
    const TIMES: [&str; 8] = [
        "effectiveDateTime",
        "authored",
        "date",
        "timestamp",
        "creation",
        "time",
        "start",
        "end",
    ];
    fn digits(s: &[u8]) -> bool {
        s.iter().all(u8::is_ascii_digit)
    }
    fn is_date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && digits(&b[0..4])
            && b[4] == b'-'
            && digits(&b[5..7])
            && b[7] == b'-'
            && digits(&b[8..10])
    }
    fn is_instant(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() < 20 || !is_date(&s[..10]) || b[10] != b'T' {
            return false;
        }
        let clock = &b[11..19];
        if !(digits(&clock[0..2])
            && clock[2] == b':'
            && digits(&clock[3..5])
            && clock[5] == b':'
            && digits(&clock[6..8]))
        {
            return false;
        }
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return false;
            }
            rest = &frac[n..];
        }
        let z = rest.as_bytes();
        rest == "Z"
            || (z.len() == 6
                && matches!(z[0], b'+' | b'-')
                && digits(&z[1..3])
                && z[3] == b':'
                && digits(&z[4..6]))
    }
    let mut bad = Vec::new();
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if DATES.contains(&k.as_str()) && !is_date(s) => {
                        bad.push(format!("{k}: {s}"))
                    }
                    Some(s) if DATES_OR_TIMES.contains(&k.as_str()) => {
                        if !is_date(s) && !is_instant(s) {
                            bad.push(format!("{k}: {s}"))
                        }
                    }
                    Some(s) if TIMES.contains(&k.as_str()) && !is_instant(s) => {
                        bad.push(format!("{k}: {s}"))
                    }
                    _ => bad.extend(bad_times(v)),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| bad.extend(bad_times(v))),
        _ => {}
    }
    bad
}

/// Parses one resource as the R4 type `T` and validates it; gives back what the model holds, as
/// JSON. (Each type by name rather than the model's enum of all 146 resources, which would take
/// minutes more to compile for the same check.)
fn r4<T>(resource: &Value) -> Result<Value, String>
where
    T: serde::de::DeserializeOwned + serde::Serialize + Validate,
{
    let mut without_type = resource.clone();
    if let Some(m) = without_type.as_object_mut() {
        m.remove("resourceType");
    }
    let parsed: T = serde_json::from_value(without_type).map_err(|e| e.to_string())?;
    let issues = parsed.validate();
    if !issues.is_empty() {
        return Err(format!("{issues:?}"));
    }
    let mut back = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    if let (Some(m), Some(kind)) = (back.as_object_mut(), resource.get("resourceType")) {
        m.insert("resourceType".into(), kind.clone());
    }
    Ok(back)
}

/// JSON equality with numbers compared by value (13 and 13.0 are the same decimal).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn entries(json: &Value) -> &Vec<Value> {
    json["entry"].as_array().expect("a bundle has entries")
}

/// Every `reference` anywhere in the bundle that does not resolve to an entry's fullUrl, and
/// every fullUrl used twice or that disagrees with its resource's id.
fn unresolved(json: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut urls = HashSet::new();
    for e in entries(json) {
        let url = e["fullUrl"].as_str().unwrap_or_default().to_owned();
        if !url.starts_with("urn:uuid:") {
            problems.push(format!("fullUrl {url} is not a urn:uuid"));
        }
        let id = e["resource"]["id"].as_str().unwrap_or_default();
        if url != format!("urn:uuid:{id}") {
            problems.push(format!("fullUrl {url} but resource id {id}"));
        }
        if !urls.insert(url.clone()) {
            problems.push(format!("fullUrl {url} is used twice"));
        }
    }
    fn walk(v: &Value, urls: &HashSet<String>, problems: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "reference" {
                        match v.as_str() {
                            Some(r) if urls.contains(r) => {}
                            _ => problems.push(format!("reference {v} resolves to no entry")),
                        }
                    } else {
                        walk(v, urls, problems);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, urls, problems)),
            _ => {}
        }
    }
    walk(json, &urls, &mut problems);
    problems
}

fn of_type<'a>(json: &'a Value, kind: &str) -> Vec<&'a Value> {
    entries(json)
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn by_url(json: &Value) -> HashMap<&str, &Value> {
    entries(json)
        .iter()
        .map(|e| (e["fullUrl"].as_str().unwrap(), &e["resource"]))
        .collect()
}

fn has_loinc(resource: &Value, code: &str) -> bool {
    resource["code"]["coding"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["system"] == "http://loinc.org" && c["code"] == code)
    })
}

/// The decoded Markdown of every exported note.
fn documents_text(json: &Value) -> Vec<String> {
    of_type(json, "DocumentReference")
        .iter()
        .map(|d| {
            let data = d["content"][0]["attachment"]["data"].as_str().unwrap();
            String::from_utf8(decode_base64(data)).unwrap()
        })
        .collect()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk
            .iter()
            .map(|&c| if c == b'=' { 0 } else { u32::from(value(c)) })
            .fold(0u32, |acc, v| (acc << 6) | v);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_demo_patients_bundle_parses_as_r4_and_every_reference_resolves() {
    let all = demo_patients();
    let p = rich_patient(&all);
    let (json, summary) = bundle_json(p, false);
    assert_eq!(json["resourceType"], "Bundle");
    assert_eq!(json["type"], "collection");
    assert_eq!(json["timestamp"], "2026-11-21T15:30:00Z");
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    assert_eq!(entries(&json).len(), summary.resources());
}

#[test]
fn every_demo_patients_bundle_parses_and_resolves_with_and_without_private_notes() {
    for p in demo_patients() {
        for include in [false, true] {
            let (json, _) = bundle_json(&p, include);
            check_r4(&json).unwrap_or_else(|e| panic!("{}: {e}", p.patient.id));
            assert_eq!(unresolved(&json), Vec::<String>::new(), "{}", p.patient.id);
        }
    }
}

#[test]
fn the_check_refuses_what_r4_does_not_allow() {
    // Without these, a check that accepted anything would pass the tests above.
    let all = demo_patients();
    let (json, _) = bundle_json(rich_patient(&all), false);
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut j = json.clone();
        f(&mut j);
        j
    };
    let first = |j: &mut Value, kind: &str| -> usize {
        entries(j)
            .iter()
            .position(|e| e["resource"]["resourceType"] == kind)
            .unwrap()
    };
    let bad_status = mutate(&|j| {
        let i = first(j, "Observation");
        j["entry"][i]["resource"]["status"] = "done".into();
    });
    assert!(check_r4(&bad_status).is_err(), "an unknown status");
    let no_class = mutate(&|j| {
        let i = first(j, "Encounter");
        j["entry"][i]["resource"]
            .as_object_mut()
            .unwrap()
            .remove("class");
    });
    assert!(check_r4(&no_class).is_err(), "Encounter.class is required");
    let misspelt = mutate(&|j| {
        let i = first(j, "Observation");
        let r = j["entry"][i]["resource"].as_object_mut().unwrap();
        let v = r.remove("effectiveDateTime").unwrap();
        r.insert("effectiveDatetime".into(), v);
    });
    assert!(check_r4(&misspelt).is_err(), "a misspelt element");
    let bad_time = mutate(&|j| {
        let i = first(j, "Observation");
        j["entry"][i]["resource"]["effectiveDateTime"] = "21 Nov 2026".into();
    });
    assert!(check_r4(&bad_time).is_err(), "a dateTime FHIR cannot read");
    let dangling = mutate(&|j| {
        let i = first(j, "Observation");
        j["entry"][i]["resource"]["subject"]["reference"] = "urn:uuid:nobody".into();
    });
    assert_eq!(unresolved(&dangling).len(), 1);
}

#[test]
fn resources_match_the_patients_records_one_for_one() {
    let all = demo_patients();
    let p = rich_patient(&all);
    let (json, summary) = bundle_json(p, false);
    let count = |kind: &str| of_type(&json, kind).len();

    let own_sessions = p
        .notes
        .iter()
        .filter(|n| matches!(n.kind, NoteKind::Preparation | NoteKind::Integration))
        .count();
    assert_eq!(count("Patient"), 1);
    assert_eq!(count("Encounter"), p.sessions.len() + own_sessions);
    let given = p.sessions.iter().filter(|s| s.dose_time.is_some()).count();
    let ended_without = p
        .sessions
        .iter()
        .filter(|s| {
            s.dose_time.is_none() && (s.discharge.is_some() || s.early_end_reason.is_some())
        })
        .count();
    assert_eq!(count("MedicationAdministration"), given + ended_without);
    let scored = |i: Instrument| p.measures.iter().filter(|m| m.instrument == i).count();
    assert_eq!(
        count("QuestionnaireResponse"),
        scored(Instrument::Phq9) + scored(Instrument::Gad7)
    );
    let vital_signs: usize = p
        .sessions
        .iter()
        .flat_map(|s| &s.vitals)
        .map(|v| {
            usize::from(v.systolic.is_some() || v.diastolic.is_some())
                + usize::from(v.heart_rate.is_some())
                + usize::from(v.spo2.is_some())
        })
        .sum();
    let ratings: usize = p
        .sessions
        .iter()
        .map(|s| s.sedation.len() + s.dissociation.len())
        .sum();
    assert_eq!(
        count("Observation"),
        p.measures.len() + vital_signs + ratings
    );
    let vital_category = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| o["category"][0]["coding"][0]["code"] == "vital-signs")
        .count();
    assert_eq!(vital_category, vital_signs);
    assert_eq!(count("Goal"), p.goals.len());
    assert_eq!(count("CarePlan"), 1);
    let signed_shared = p
        .notes
        .iter()
        .filter(|n| n.is_signed() && !n.kind.is_private())
        .count();
    assert_eq!(count("DocumentReference"), signed_shared);
    assert_eq!(
        summary.drafts_left_out,
        p.notes
            .iter()
            .filter(|n| !n.is_signed() && !n.kind.is_private())
            .count()
    );
    assert_eq!(
        summary.psychotherapy_notes_withheld,
        p.notes.iter().filter(|n| n.kind.is_private()).count()
    );

    // Each goal is in the care plan; each check-in is a note on its goal.
    let plan = of_type(&json, "CarePlan")[0];
    assert_eq!(plan["goal"].as_array().unwrap().len(), p.goals.len());
    let notes: usize = of_type(&json, "Goal")
        .iter()
        .map(|g| g["note"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        notes,
        p.goals.iter().map(|g| g.check_ins.len()).sum::<usize>()
    );
}

#[test]
fn a_phq9_total_is_loinc_44261_6_in_score_units_derived_from_its_answers() {
    let all = demo_patients();
    let p = rich_patient(&all);
    let (json, _) = bundle_json(p, false);
    let urls = by_url(&json);
    let phq9: Vec<&Measure> = p
        .measures
        .iter()
        .filter(|m| m.instrument == Instrument::Phq9)
        .collect();
    let totals: Vec<&Value> = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| has_loinc(o, "44261-6"))
        .collect();
    assert_eq!(totals.len(), phq9.len());
    for m in phq9 {
        let total: u32 = m.items.iter().map(|&i| u32::from(i)).sum();
        let at = m.at.to_string();
        let o = totals
            .iter()
            .find(|o| o["effectiveDateTime"] == at.as_str())
            .expect("an Observation at the measure's time");
        assert_eq!(o["status"], "final");
        assert_eq!(o["category"][0]["coding"][0]["code"], "survey");
        assert_eq!(o["valueQuantity"]["value"], total);
        assert_eq!(o["valueQuantity"]["unit"], "{score}");
        assert_eq!(o["valueQuantity"]["code"], "{score}");
        assert_eq!(o["valueQuantity"]["system"], "http://unitsofmeasure.org");
        let band = kitnotes::model::measure::phq9_band(total as u8);
        assert_eq!(o["interpretation"][0]["text"], band.label());
        let source = o["derivedFrom"][0]["reference"].as_str().unwrap();
        let response = urls[source];
        assert_eq!(response["resourceType"], "QuestionnaireResponse");
        assert_eq!(response["status"], "completed");
        assert_eq!(response["authored"], at.as_str());
        let answers: Vec<u64> = response["item"][0]["item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["answer"][0]["valueInteger"].as_u64().unwrap())
            .collect();
        let items: Vec<u64> = m.items.iter().map(|&i| u64::from(i)).collect();
        assert_eq!(answers, items);
        let link_ids: Vec<&str> = response["item"][0]["item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["linkId"].as_str().unwrap())
            .collect();
        assert_eq!(link_ids[0], "phq9-1");
        assert_eq!(link_ids[8], "phq9-9");
    }
    // GAD-7 totals carry their own code, never PHQ-9's.
    let gad7 = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| has_loinc(o, "70274-6"))
        .count();
    assert_eq!(
        gad7,
        p.measures
            .iter()
            .filter(|m| m.instrument == Instrument::Gad7)
            .count()
    );
}

#[test]
fn the_fixture_maps_exactly_vitals_doses_item_9_and_entered_totals() {
    let patients = fixture_patients();
    let (json, summary) = bundle_json(&patients["p1"], false);
    check_r4(&json).unwrap();
    assert!(unresolved(&json).is_empty());
    let urls = by_url(&json);

    // s1: 0.5 mg/kg x 72.4 kg IV at T0 09:10, lot LOT-TEST-1.
    let admin = of_type(&json, "MedicationAdministration")[0];
    assert_eq!(admin["status"], "completed");
    assert_eq!(admin["effectiveDateTime"], "2026-03-05T09:10:00Z");
    assert_eq!(admin["dosage"]["dose"]["value"], 36.2);
    assert_eq!(admin["dosage"]["dose"]["code"], "mg");
    assert_eq!(admin["dosage"]["route"]["coding"][0]["code"], "47625008");
    assert_eq!(
        admin["dosage"]["text"],
        "ketamine 0.5 mg/kg x 72.4 kg = 36.2 mg IV"
    );
    let medication = urls[admin["medicationReference"]["reference"].as_str().unwrap()];
    assert_eq!(medication["batch"]["lotNumber"], "LOT-TEST-1");
    assert_eq!(medication["code"]["text"], "ketamine");
    let encounter = urls[admin["context"]["reference"].as_str().unwrap()];
    assert_eq!(encounter["status"], "finished");
    assert_eq!(encounter["period"]["end"], "2026-03-05T11:20:00Z");

    // Three readings: two full (BP, HR, SpO2), one without SpO2.
    let vitals: Vec<&Value> = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| o["category"][0]["coding"][0]["code"] == "vital-signs")
        .collect();
    assert_eq!(vitals.len(), 8);
    let bp = vitals
        .iter()
        .find(|o| has_loinc(o, "85354-9") && o["effectiveDateTime"] == "2026-03-05T09:50:00Z")
        .unwrap();
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], 192);
    assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
    assert_eq!(bp["component"][1]["valueQuantity"]["value"], 95);
    let spo2 = vitals
        .iter()
        .find(|o| has_loinc(o, "59408-5") && o["effectiveDateTime"] == "2026-03-05T09:50:00Z")
        .unwrap();
    assert_eq!(spo2["valueQuantity"]["value"], 89);
    assert_eq!(spo2["valueQuantity"]["code"], "%");
    let hr = vitals.iter().filter(|o| has_loinc(o, "8867-4")).count();
    assert_eq!(hr, 3);
    assert!(vitals.iter().all(|o| o["encounter"] == admin["context"]));

    // PHQ-9 item 9 above 0 is said on the total; CADSS and MEQ30 are text-only totals.
    let phq9 = of_type(&json, "Observation")
        .into_iter()
        .find(|o| has_loinc(o, "44261-6"))
        .unwrap();
    assert_eq!(phq9["valueQuantity"]["value"], 13);
    assert!(
        phq9["note"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Item 9 (thoughts of self-harm) is 1: needs follow-up")
    );
    let cadss = of_type(&json, "Observation")
        .into_iter()
        .find(|o| o["code"]["text"] == "CADSS total score (entered by the clinician)")
        .unwrap();
    assert_eq!(cadss["valueQuantity"]["value"], 12);
    assert!(cadss["code"].get("coding").is_none(), "no guessed code");
    assert!(cadss.get("derivedFrom").is_none());
    assert_eq!(cadss["encounter"], admin["context"]);

    // Notes: n1 (signed, two addenda) and n3 (signed) are documents; n2 is a draft; n4 private.
    assert_eq!(summary.document_references, 2);
    assert_eq!(summary.drafts_left_out, 1);
    assert_eq!(summary.psychotherapy_notes_withheld, 1);
    let docs = of_type(&json, "DocumentReference");
    let prep = docs
        .iter()
        .find(|d| d["description"] == "Preparation 1")
        .unwrap();
    assert_eq!(prep["docStatus"], "amended");
    assert_eq!(prep["type"]["coding"][0]["code"], "34904-3");
    assert_eq!(prep["date"], "2026-03-02T11:00:00Z");
    assert_eq!(
        prep["content"][0]["attachment"]["contentType"],
        "text/markdown; charset=UTF-8"
    );
    let text = &documents_text(&json)[0];
    assert!(text.starts_with("# Preparation 1\n"), "{text}");
    assert!(text.contains("Informed consent discussed and signed."));
    assert!(text.contains("Dose plan corrected: 0.5 mg/kg, not 0.75."));
    assert!(text.contains("Patient called; feeling ready."));
    assert!(
        text.contains("\\# not a heading"),
        "escaped as in the chart"
    );
    let integration = docs
        .iter()
        .find(|d| d["description"] == "Integration 1")
        .unwrap();
    assert_eq!(integration["docStatus"], "final");
    let own = urls[integration["context"]["encounter"][0]["reference"]
        .as_str()
        .unwrap()];
    assert_eq!(own["type"][0]["text"], "Integration session");

    // The goal: active, due 2026-06-01, its source note and check-in note in the plan.
    let goal = of_type(&json, "Goal")[0];
    assert_eq!(goal["lifecycleStatus"], "active");
    assert_eq!(goal["description"]["text"], "Call my brother every Sunday");
    assert_eq!(goal["target"][0]["dueDate"], "2026-06-01");
    assert_eq!(
        goal["note"][0]["text"],
        "Check-in: progress 3/10. Called once."
    );
    let plan = of_type(&json, "CarePlan")[0];
    assert_eq!(plan["status"], "active");
    assert_eq!(plan["intent"], "plan");
    let supporting: Vec<&str> = plan["supportingInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            urls[r["reference"].as_str().unwrap()]["description"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(supporting, ["Preparation 1", "Integration 1"]);
}

#[test]
fn a_session_stopped_before_dosing_is_a_dose_not_done_with_its_reason() {
    let patients = fixture_patients();
    let (json, summary) = bundle_json(&patients["p10"], false);
    check_r4(&json).unwrap();
    assert!(unresolved(&json).is_empty());
    let admin = of_type(&json, "MedicationAdministration")[0];
    assert_eq!(admin["status"], "not-done");
    assert_eq!(
        admin["statusReason"][0]["text"],
        "Pre-dose BP 162/98; treatment delayed."
    );
    assert_eq!(admin["dosage"]["route"]["coding"][0]["code"], "46713006");
    assert_eq!(of_type(&json, "Patient")[0]["active"], false, "archived");
    assert_eq!(summary.care_plans, 0, "no goals, no plan");

    // A patient with no records: the Patient alone, still a valid bundle.
    let (json, summary) = bundle_json(&patients["p2"], false);
    check_r4(&json).unwrap();
    assert_eq!(entries(&json).len(), 1);
    assert_eq!(summary.resources(), 1);
}

#[test]
fn psychotherapy_notes_stay_out_unless_asked_for() {
    let all = demo_patients();
    let p = rich_patient(&all);
    let private: Vec<&Note> = p
        .notes
        .iter()
        .filter(|n| n.kind.is_private() && n.is_signed())
        .collect();
    assert!(!private.is_empty());

    let (without, _) = bundle_json(p, false);
    let written = serde_json::to_string(&without).unwrap();
    let texts = documents_text(&without);
    for n in &private {
        assert!(!written.contains(&n.title), "title of {} leaked", n.id);
        for s in n.sections.iter().filter(|s| s.body.trim().len() > 20) {
            assert!(
                !texts.iter().any(|t| t.contains(s.body.trim())),
                "text of {} leaked",
                n.id
            );
        }
    }
    assert!(
        of_type(&without, "DocumentReference")
            .iter()
            .all(|d| d.get("securityLabel").is_none())
    );

    let (with, summary) = bundle_json(p, true);
    assert_eq!(summary.psychotherapy_notes_withheld, 0);
    let labelled: Vec<&Value> = of_type(&with, "DocumentReference")
        .into_iter()
        .filter(|d| d["securityLabel"][0]["coding"][0]["code"] == "R")
        .collect();
    assert_eq!(labelled.len(), private.len());
    for n in &private {
        assert!(
            labelled
                .iter()
                .any(|d| d["description"] == n.title.as_str()),
            "{} is included",
            n.id
        );
    }
}

// Through the binary.

fn demo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(
        dir.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "4",
            "--notes-per-patient",
            "12",
            "--anchor",
            "2026-11-21",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

#[test]
fn export_format_fhir_needs_a_patient_and_says_so() {
    let dir = demo_dir();
    let out = kitnotes(dir.path(), &["--demo", "export", "--format", "fhir"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "kitnotes: error: --format fhir needs --patient ID: a FHIR bundle holds one patient's records"
    );
    assert!(out.stdout.is_empty());
    let out = kitnotes(
        dir.path(),
        &["--demo", "export", "--format", "fhir", "--patient", "p9999"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "kitnotes: error: no patient with id p9999 in the store"
    );
    let store = kitnotes::store::SledStore::open(&dir.path().join("demo")).unwrap();
    assert!(
        store
            .audit_log(&AuditFilter::default())
            .unwrap()
            .iter()
            .all(|e| e.action != AuditAction::Exported),
        "a refused export is not logged as one"
    );
}

#[test]
fn export_format_fhir_writes_a_valid_bundle_reports_what_was_left_out_and_logs_it() {
    let dir = demo_dir();
    let file = dir.path().join("p0001.fhir.json");
    let out = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--format",
            "fhir",
            "--patient",
            "p0001",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    check_r4(&json).unwrap();
    assert!(unresolved(&json).is_empty());
    let report = text(&out.stderr);
    assert!(
        report.starts_with(&format!(
            "Exported patient p0001 as a FHIR R4 bundle to {}: 1 Patient, ",
            file.display()
        )),
        "{report}"
    );
    assert!(report.contains("DocumentReference"), "{report}");

    // Standard output gives the same resources; private notes only with the flag.
    let plain = kitnotes(
        dir.path(),
        &["--demo", "export", "--format", "fhir", "--patient", "p0001"],
    );
    assert!(plain.status.success());
    let from_stdout: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(entries(&from_stdout).len(), entries(&json).len());
    let with = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--format",
            "fhir",
            "--patient",
            "p0001",
            "--include-psychotherapy-notes",
        ],
    );
    assert!(with.status.success());
    let with_json: Value = serde_json::from_slice(&with.stdout).unwrap();
    check_r4(&with_json).unwrap();
    assert!(unresolved(&with_json).is_empty());

    let store = kitnotes::store::SledStore::open(&dir.path().join("demo")).unwrap();
    let exports: Vec<String> = store
        .audit_log(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Exported)
        .map(|e| {
            assert_eq!(e.patient.as_ref().map(|p| p.as_str()), Some("p0001"));
            e.detail
        })
        .collect();
    assert_eq!(exports.len(), 3, "{exports:?}");
    assert!(exports[0].starts_with("patient p0001 as a FHIR R4 bundle to "));
    assert!(exports[2].ends_with("; psychotherapy notes included (--include-psychotherapy-notes)"));
}

/// A safety follow-up is an Observation (category exam) with the risk as its value, the plan as
/// a note, the assessor as performer, derived from the PHQ-9 total it answers; it validates
/// and its reference resolves.
#[test]
fn a_safety_follow_up_is_a_valid_observation_derived_from_the_phq9_it_answers() {
    let all = demo_patients();
    let mut p = rich_patient(&all).clone();
    let phq = p
        .measures
        .iter()
        .find(|m| m.instrument == Instrument::Phq9)
        .unwrap()
        .clone();
    p.follow_ups.push(SafetyFollowUp {
        id: RecordId::parse("f-test-1").unwrap(),
        patient: p.patient.id.clone(),
        at: phq
            .at
            .checked_add(jiff::SignedDuration::from_mins(20))
            .unwrap(),
        risk: RiskLevel::Moderate,
        plan: "Safety plan reviewed; call tomorrow".into(),
        by: "Dr. Test (invented)".into(),
        measure: Some(phq.id.clone()),
    });
    let (json, summary) = bundle_json(&p, false);
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    assert_eq!(summary.safety_follow_ups, 1);
    assert_eq!(entries(&json).len(), summary.resources());
    let o: Vec<&Value> = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| o["category"][0]["coding"][0]["code"] == "exam")
        .collect();
    assert_eq!(o.len(), 1);
    let o = o[0];
    assert_eq!(o["valueCodeableConcept"]["text"], "moderate risk");
    assert_eq!(o["performer"][0]["display"], "Dr. Test (invented)");
    assert_eq!(
        o["note"][0]["text"],
        "Plan: Safety plan reviewed; call tomorrow"
    );
    let from = o["derivedFrom"][0]["reference"].as_str().unwrap();
    assert!(
        has_loinc(by_url(&json)[from], "44261-6"),
        "derived from the PHQ-9 total"
    );
}

/// Each course is an EpisodeOfCare (the earlier finished, the current active) and every dosing
/// session's Encounter points to the course its dose fell in.
#[test]
fn each_course_is_an_episode_of_care_and_sessions_point_to_theirs() {
    let all = demo_patients();
    let p = all
        .iter()
        .find(|p| p.courses.len() == 2 && !p.patient.archived)
        .expect("a demo patient with a re-induction");
    let (json, summary) = bundle_json(p, false);
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    assert_eq!(summary.episodes_of_care, 2);
    let episodes = of_type(&json, "EpisodeOfCare");
    let status: Vec<&str> = episodes
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["finished", "active"]);
    assert!(
        episodes[1]["type"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("course 2: re-induction")
    );
    let urls = by_url(&json);
    let second_start = ts(episodes[1]["period"]["start"].as_str().unwrap());
    for s in p.sessions.iter().filter(|s| s.dose_time.is_some()) {
        let enc = of_type(&json, "Encounter")
            .into_iter()
            .find(|e| e["period"]["start"] == s.at.to_string())
            .unwrap();
        let ep = enc["episodeOfCare"][0]["reference"].as_str().unwrap();
        let expected = if s.dose_time.unwrap() >= second_start {
            1
        } else {
            0
        };
        assert_eq!(urls[ep]["id"], episodes[expected]["id"], "{}", s.id);
    }
}

/// A patient's lists with one of each kind, a medication stopped and one corrected.
fn with_lists(p: &PatientRecords) -> PatientRecords {
    use kitnotes::model::lists::ListEntry;
    let mut p = p.clone();
    p.lists.clear();
    let at = ts("2026-03-02T10:00:00Z");
    let entry = |id: &str, list, name: &str, detail: &str, class| {
        ListEntry::new(
            rid(id),
            p.patient.id.clone(),
            at,
            list,
            "Dr. Test (invented)",
            ListValues {
                name: name.into(),
                detail: detail.into(),
                class,
                started: Some(date(2024, 5, 1)),
                stopped: None,
            },
        )
    };
    let mut benzo = entry(
        "l-benzo",
        ListKind::Medication,
        "lorazepam",
        "0.5 mg as needed",
        Some(MedicationClass::Benzodiazepine),
    );
    benzo
        .stop(
            date(2026, 3, 9),
            "Dr. Test (invented)",
            "tapered off",
            ts("2026-03-09T09:00:00Z"),
        )
        .unwrap();
    let mut ssri = entry(
        "l-ssri",
        ListKind::Medication,
        "sertralin",
        "100 mg daily",
        Some(MedicationClass::Other),
    );
    let mut v = ssri.values();
    v.name = "sertraline".into();
    ssri.correct(
        v,
        "Dr. Test (invented)",
        "misspelt",
        ts("2026-03-03T09:00:00Z"),
    )
    .unwrap();
    p.lists.push(benzo);
    p.lists.push(ssri);
    p.lists.push(entry(
        "l-mdd",
        ListKind::Problem,
        "Major depressive disorder, recurrent",
        "",
        None,
    ));
    let mut allergy = entry("l-pen", ListKind::Allergy, "penicillin", "hives", None);
    allergy.started = None;
    p.lists.push(allergy);
    p
}

/// Problems are Conditions on the problem list, medications MedicationStatements (stopped with
/// the end of their period), allergies AllergyIntolerances with their reaction; a correction
/// keeps the original readable in a note; all validate as R4 and resolve.
#[test]
fn the_lists_are_conditions_medication_statements_and_allergy_intolerances() {
    let all = demo_patients();
    let p = with_lists(rich_patient(&all));
    let (json, summary) = bundle_json(&p, false);
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    assert_eq!(entries(&json).len(), summary.resources());
    assert_eq!(
        (
            summary.conditions,
            summary.medication_statements,
            summary.allergy_intolerances
        ),
        (1, 2, 1)
    );
    let c = of_type(&json, "Condition")[0];
    assert_eq!(c["category"][0]["coding"][0]["code"], "problem-list-item");
    assert_eq!(c["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(c["code"]["text"], "Major depressive disorder, recurrent");
    assert_eq!(c["onsetDateTime"], "2024-05-01");
    let meds = of_type(&json, "MedicationStatement");
    let benzo = meds
        .iter()
        .find(|m| m["medicationCodeableConcept"]["text"] == "lorazepam")
        .unwrap();
    assert_eq!(benzo["status"], "stopped");
    assert_eq!(benzo["effectivePeriod"]["start"], "2024-05-01");
    assert_eq!(benzo["effectivePeriod"]["end"], "2026-03-09");
    assert_eq!(benzo["dosage"][0]["text"], "0.5 mg as needed");
    let notes: Vec<&str> = benzo["note"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        vec![
            "Medication class: benzodiazepine",
            "stopped by Dr. Test (invented): tapered off"
        ]
    );
    let ssri = meds
        .iter()
        .find(|m| m["medicationCodeableConcept"]["text"] == "sertraline")
        .unwrap();
    assert_eq!(ssri["status"], "active");
    assert!(
        ssri["note"][1]["text"]
            .as_str()
            .unwrap()
            .contains("Before: sertralin 100 mg daily (other)"),
        "{}",
        ssri["note"]
    );
    let a = of_type(&json, "AllergyIntolerance")[0];
    assert_eq!(a["clinicalStatus"]["coding"][0]["code"], "active");
    assert_eq!(a["code"]["text"], "penicillin");
    assert_eq!(a["reaction"][0]["manifestation"][0]["text"], "hives");
    assert!(a.get("onsetDateTime").is_none(), "no onset when unknown");
    assert_eq!(a["patient"]["reference"], entries(&json)[0]["fullUrl"]);
}

/// The Patient carries an identifier a receiving system can match on: the clinic's system URI
/// and the kitnotes id.
#[test]
fn the_patient_has_an_identifier_of_the_clinic_and_the_kitnotes_id() {
    let all = demo_patients();
    let p = rich_patient(&all);
    let opts = FhirOptions {
        identifier_system: "https://clinic.example.org/sid/patient".into(),
        ..FhirOptions::default()
    };
    let json = serde_json::to_value(fhir_bundle(p, &opts).0).unwrap();
    check_r4(&json).unwrap();
    let patient = of_type(&json, "Patient")[0];
    assert_eq!(
        patient["identifier"],
        serde_json::json!([{
            "use": "usual",
            "system": "https://clinic.example.org/sid/patient",
            "value": p.patient.id.as_str()
        }])
    );
    // Without a configured system: the store's own id, else kitnotes' fallback.
    assert_eq!(
        kitnotes::interchange::fhir::store_identifier_system(Some(
            "00112233445566778899aabbccddeeff"
        )),
        "urn:uuid:00112233-4455-6677-8899-aabbccddeeff"
    );
    assert_eq!(
        kitnotes::interchange::fhir::store_identifier_system(None),
        kitnotes::interchange::fhir::DEFAULT_IDENTIFIER_SYSTEM
    );
}

/// An adverse event is an AdverseEvent whether or not its session is signed: actual, in the
/// session's Encounter, the dose as suspect, ongoing until marked resolved; an unsigned
/// session says so in the event's text.
#[test]
fn every_adverse_event_is_an_adverse_event_signed_or_not() {
    let all = demo_patients();
    let mut p = rich_patient(&all).clone();
    let s = p
        .sessions
        .iter_mut()
        .find(|s| s.dose_time.is_some() && !s.is_signed());
    let s = match s {
        Some(s) => s,
        None => {
            let s = p
                .sessions
                .iter_mut()
                .find(|s| s.dose_time.is_some())
                .unwrap();
            s.signed_at = None;
            s.signed_by = None;
            s
        }
    };
    let at = s
        .dose_time
        .unwrap()
        .checked_add(jiff::SignedDuration::from_mins(25))
        .unwrap();
    s.observations.push(Observation {
        at,
        text: "Vomited once; settled".into(),
        adverse: true,
    });
    let sid = s.id.clone();
    let before = bundle_json(&p, false).1.adverse_events;
    let (json, summary) = bundle_json(&p, false);
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    assert!(summary.adverse_events >= 1);
    let events = of_type(&json, "AdverseEvent");
    let e = events
        .iter()
        .find(|e| {
            e["event"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Vomited once")
        })
        .unwrap();
    assert_eq!(e["actuality"], "actual");
    assert!(
        e["event"]["text"]
            .as_str()
            .unwrap()
            .ends_with("[recorded in a dosing session not signed yet]")
    );
    assert_eq!(e["outcome"]["coding"][0]["code"], "ongoing");
    assert_eq!(e["date"], at.to_string());
    let urls = by_url(&json);
    let enc = urls[e["encounter"]["reference"].as_str().unwrap()];
    assert_eq!(enc["resourceType"], "Encounter");
    let suspect = urls[e["suspectEntity"][0]["instance"]["reference"]
        .as_str()
        .unwrap()];
    assert_eq!(suspect["resourceType"], "MedicationAdministration");
    // Marked resolved: the outcome says so.
    let s = p.sessions.iter_mut().find(|s| s.id == sid).unwrap();
    s.amendments
        .get_or_insert_with(Box::default)
        .adverse_resolved
        .push(AdverseResolved {
            event_at: at,
            by: "Dr. Test (invented)".into(),
            at: at.checked_add(jiff::SignedDuration::from_mins(30)).unwrap(),
        });
    let (json, summary) = bundle_json(&p, false);
    assert_eq!(summary.adverse_events, before);
    let e = of_type(&json, "AdverseEvent")
        .into_iter()
        .find(|e| {
            e["event"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Vomited once")
        })
        .unwrap();
    assert_eq!(e["outcome"]["coding"][0]["code"], "resolved");
}

/// A flagged vital sign carries interpretation H or L (HL7 v3 ObservationInterpretation) with
/// the flag in words; an unflagged one N.
#[test]
fn flagged_vitals_are_interpreted_high_or_low_and_the_rest_normal() {
    let all = demo_patients();
    let mut p = rich_patient(&all).clone();
    let s = p
        .sessions
        .iter_mut()
        .find(|s| s.dose_time.is_some() && !s.vitals.is_empty())
        .unwrap();
    let at = s
        .dose_time
        .unwrap()
        .checked_add(jiff::SignedDuration::from_mins(50))
        .unwrap();
    s.vitals.push(Vitals {
        at,
        systolic: Some(186),
        diastolic: Some(96),
        heart_rate: Some(44),
        spo2: Some(97),
    });
    let (json, _) = bundle_json(&p, false);
    check_r4(&json).unwrap();
    let at = at.to_string();
    let mine: Vec<&Value> = of_type(&json, "Observation")
        .into_iter()
        .filter(|o| o["effectiveDateTime"] == at.as_str())
        .collect();
    let interp = |code: &str| {
        let o = mine.iter().find(|o| has_loinc(o, code)).unwrap();
        (
            o["interpretation"][0]["coding"][0]["code"]
                .as_str()
                .unwrap()
                .to_owned(),
            o["interpretation"][0]["coding"][0]["system"]
                .as_str()
                .unwrap()
                .to_owned(),
            o["interpretation"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let (bp, system, bp_text) = interp("85354-9");
    assert_eq!(bp, "H");
    assert_eq!(
        system,
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    );
    assert!(bp_text.contains("186/96 is high"), "{bp_text}");
    assert_eq!(interp("8867-4").0, "L");
    assert_eq!(interp("2708-6").0, "N");
}

/// Every coding names its display text, so a receiver that does not know a code can show it.
#[test]
fn every_coding_has_its_display() {
    for p in demo_patients() {
        let (json, _) = bundle_json(&with_lists(&p), true);
        fn walk(v: &Value, missing: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::Array(codings)) = m.get("coding") {
                        for c in codings {
                            if c.get("display")
                                .and_then(Value::as_str)
                                .is_none_or(str::is_empty)
                            {
                                missing.push(c.to_string());
                            }
                        }
                    }
                    m.values().for_each(|v| walk(v, missing));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, missing)),
                _ => {}
            }
        }
        let mut missing = Vec::new();
        walk(&json, &mut missing);
        assert_eq!(missing, Vec::<String>::new(), "{}", p.patient.id);
    }
}

/// `--bundle transaction`: every entry a PUT at `Type/id` with the stable id, so a server sent
/// the same bundle twice updates rather than duplicates; it validates as R4 and resolves.
#[test]
fn a_transaction_bundle_puts_every_resource_at_its_stable_id() {
    let all = demo_patients();
    let p = with_lists(rich_patient(&all));
    let opts = FhirOptions {
        bundle: kitnotes::interchange::fhir::BundleKind::Transaction,
        generated_at: Some(ts("2026-11-21T15:30:00Z")),
        ..FhirOptions::default()
    };
    let json = serde_json::to_value(fhir_bundle(&p, &opts).0).unwrap();
    assert_eq!(json["type"], "transaction");
    check_r4(&json).unwrap();
    assert_eq!(unresolved(&json), Vec::<String>::new());
    let mut urls = HashSet::new();
    for e in entries(&json) {
        let r = &e["resource"];
        assert_eq!(e["request"]["method"], "PUT");
        let url = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        assert_eq!(e["request"]["url"], url.as_str());
        assert!(urls.insert(url), "one PUT per resource");
    }
    // The same records give the same requests: sending it again only updates.
    let again = serde_json::to_value(fhir_bundle(&p, &opts).0).unwrap();
    assert_eq!(json, again);
    // A collection has no requests.
    let (collection, _) = bundle_json(&p, false);
    assert!(
        entries(&collection)
            .iter()
            .all(|e| e.get("request").is_none())
    );
}

/// `--bundle transaction` from the command line: PUTs at stable ids, the same twice; the
/// Patient's identifier system from config.toml, else the store's own id; `--bundle` is refused
/// with another format.
#[test]
fn export_bundle_transaction_and_the_identifier_system_from_the_command_line() {
    let dir = demo_dir();
    let export = |extra: &[&str]| -> Value {
        let mut args = vec!["--demo", "export", "--format", "fhir", "--patient", "p0001"];
        args.extend_from_slice(extra);
        let out = kitnotes(dir.path(), &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let identifier = |json: &Value| of_type(json, "Patient")[0]["identifier"][0].clone();
    let t1 = export(&["--bundle", "transaction"]);
    assert_eq!(t1["type"], "transaction");
    check_r4(&t1).unwrap();
    assert!(entries(&t1).iter().all(|e| {
        e["request"]["method"] == "PUT"
            && e["request"]["url"]
                == format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap(),
                    e["resource"]["id"].as_str().unwrap()
                )
                .as_str()
    }));
    let t2 = export(&["--bundle", "transaction"]);
    let requests =
        |j: &Value| -> Vec<Value> { entries(j).iter().map(|e| e["request"].clone()).collect() };
    assert_eq!(requests(&t1), requests(&t2), "sent twice: the same PUTs");
    // No identifier system configured: the store's own id, as a urn:uuid.
    let id = identifier(&t1);
    assert_eq!(id["value"], "p0001");
    let system = id["system"].as_str().unwrap();
    assert!(
        system.starts_with("urn:uuid:") && system.len() == "urn:uuid:".len() + 36,
        "{system}"
    );
    assert_eq!(identifier(&export(&[]))["system"], system, "stable");
    // The clinic's own, from config.toml.
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[fhir]\nidentifier_system = \"https://clinic.example.org/fhir/sid/patient-id\"\n",
    )
    .unwrap();
    assert_eq!(
        identifier(&export(&[]))["system"],
        "https://clinic.example.org/fhir/sid/patient-id"
    );
    let md = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--format",
            "md",
            "--bundle",
            "transaction",
        ],
    );
    assert!(!md.status.success());
    assert!(
        text(&md.stderr).contains("--bundle is only used with --format fhir"),
        "{}",
        text(&md.stderr)
    );
}

/// The patient's sex is FHIR's administrative gender; an unknown one is left out, not guessed.
#[test]
fn the_patients_sex_is_its_gender_and_unknown_is_left_out() {
    let patients = fixture_patients();
    let (json, _) = bundle_json(&patients["p2"], false);
    assert!(of_type(&json, "Patient")[0].get("gender").is_none());
    let mut records = patients["p2"].clone();
    records.patient.sex = Some(kitnotes::model::Sex::Other);
    let (json, _) = bundle_json(&records, false);
    check_r4(&json).unwrap();
    assert_eq!(of_type(&json, "Patient")[0]["gender"], "other");
}
