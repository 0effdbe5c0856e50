//! Every demo patient's FHIR bundle, checked against HL7's own FHIR R4 (4.0.1) JSON Schema
//! (tests/fixtures/fhir/, see PROVENANCE.md there) by an independent validator, the `jsonschema`
//! crate: not the project's types, nor the `fhir` crate that tests/fhir.rs uses. Every reference
//! must resolve to an entry of the bundle. Collections and transactions, with and without the
//! psychotherapy notes. All data is invented.

use crate::common::group_one;
use flate2::read::GzDecoder;
use jiff::civil::date;
use kitnotes::demo::{self, DemoSpec};
use kitnotes::interchange::fhir::BundleKind;
use kitnotes::interchange::{FhirOptions, fhir_bundle};
use kitnotes::model::PatientRecords;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

const SCHEMA_GZ: &[u8] = include_bytes!("fixtures/fhir/fhir.schema.json.gz");

/// The validator, built once: the schema holds every R4 resource.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let mut text = String::new();
        GzDecoder::new(SCHEMA_GZ)
            .read_to_string(&mut text)
            .expect("the vendored schema unzips");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        assert_eq!(schema["id"], "http://hl7.org/fhir/json-schema/4.0", "R4");
        jsonschema::draft6::new(&schema).expect("HL7's schema compiles")
    })
}

/// The schema's complaints about `json`, each with where it is.
fn schema_errors(json: &Value) -> Vec<String> {
    validator()
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect()
}

/// The usual demo: every patient of it.
fn demo_patients() -> Vec<PatientRecords> {
    demo::generate(&DemoSpec::new(date(2026, 11, 21)))
        .map(group_one)
        .collect()
}

fn bundle(p: &PatientRecords, bundle: BundleKind, include_private: bool) -> Value {
    let opts = FhirOptions {
        include_psychotherapy_notes: include_private,
        generated_at: Some("2026-11-21T15:30:00Z".parse().unwrap()),
        identifier_system: "https://clinic.example.org/fhir/sid/patient-id".into(),
        bundle,
        ..FhirOptions::default()
    };
    serde_json::to_value(fhir_bundle(p, &opts).0).unwrap()
}

/// References that resolve to no entry's fullUrl.
fn unresolved(json: &Value) -> Vec<String> {
    let urls: HashSet<&str> = json["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    let mut out = Vec::new();
    fn walk(v: &Value, urls: &HashSet<&str>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("reference", Some(r)) if urls.contains(r) => {}
                        ("reference", _) => out.push(v.to_string()),
                        _ => walk(v, urls, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, urls, out)),
            _ => {}
        }
    }
    walk(json, &urls, &mut out);
    out
}

#[test]
fn every_demo_patients_bundle_validates_against_hl7s_r4_schema_and_resolves() {
    let patients = demo_patients();
    assert_eq!(patients.len(), 12);
    let mut kinds = HashSet::new();
    for p in &patients {
        for (kind, private) in [
            (BundleKind::Collection, false),
            (BundleKind::Collection, true),
            (BundleKind::Transaction, false),
        ] {
            let json = bundle(p, kind, private);
            assert_eq!(
                schema_errors(&json),
                Vec::<String>::new(),
                "{} {kind:?}",
                p.patient.id
            );
            assert_eq!(unresolved(&json), Vec::<String>::new(), "{}", p.patient.id);
            for e in json["entry"].as_array().unwrap() {
                kinds.insert(e["resource"]["resourceType"].as_str().unwrap().to_owned());
            }
        }
    }
    // The demo covers every resource type the export writes, so each was checked.
    let mut kinds: Vec<String> = kinds.into_iter().collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "AdverseEvent",
            "AllergyIntolerance",
            "CarePlan",
            "Condition",
            "DocumentReference",
            "Encounter",
            "EpisodeOfCare",
            "Goal",
            "Medication",
            "MedicationAdministration",
            "MedicationStatement",
            "Observation",
            "Patient",
            "QuestionnaireResponse",
        ]
    );
}

#[test]
fn the_schema_refuses_what_r4_does_not_allow() {
    // Without these, a validator that accepted anything would pass the test above.
    let patients = demo_patients();
    let json = bundle(&patients[0], BundleKind::Collection, false);
    let first = |j: &Value, kind: &str| -> usize {
        j["entry"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["resource"]["resourceType"] == kind)
            .unwrap()
    };
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut j = json.clone();
        f(&mut j);
        schema_errors(&j)
    };
    assert!(
        !broken(&|j| {
            let i = first(j, "Observation");
            j["entry"][i]["resource"]["status"] = "done".into();
        })
        .is_empty(),
        "an unknown status"
    );
    assert!(
        !broken(&|j| {
            let i = first(j, "Patient");
            j["entry"][i]["resource"]["gender"] = "woman".into();
        })
        .is_empty(),
        "a gender outside the value set"
    );
    assert!(
        !broken(&|j| {
            let i = first(j, "Encounter");
            let r = j["entry"][i]["resource"].as_object_mut().unwrap();
            let v = r.remove("period").unwrap();
            r.insert("perid".into(), v);
        })
        .is_empty(),
        "a misspelt element"
    );
    assert!(
        !broken(&|j| {
            let i = first(j, "Observation");
            j["entry"][i]["resource"]["effectiveDateTime"] = "21 Nov 2026".into();
        })
        .is_empty(),
        "a dateTime FHIR cannot read"
    );
    assert!(
        !broken(&|j| {
            j["type"] = "pile".into();
        })
        .is_empty(),
        "a bundle type R4 does not have"
    );
    assert!(
        !broken(&|j| {
            let i = first(j, "Patient");
            j["entry"][i]["request"] = serde_json::json!({"method": "SEND", "url": "Patient/x"});
        })
        .is_empty(),
        "an HTTP verb a transaction cannot use"
    );
}
