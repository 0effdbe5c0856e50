//! What leaves this laptop, as FHIR resources: the export's mapping (docs/FHIR.md) of the
//! shareable records, with references made literal (`Patient/<id>`), and beside them one
//! `Basic` resource per record carrying the record's own interchange line, so another kitnotes
//! gets it back byte for byte, with its author.

use crate::interchange::fhir::{BundleKind, FhirOptions, fhir_bundle};
use crate::interchange::record_line;
use crate::model::{PatientRecords, RecordId, RecordRef};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The extension on a `Basic` that carries a kitnotes record's interchange line.
pub const RECORD_EXTENSION: &str = "urn:kitnotes:fhir:extension:record-line";
/// The identifier system of a carried record's kitnotes id.
pub const RECORD_ID_SYSTEM: &str = "urn:kitnotes:record-id";
/// The identifier system of the practice's Practitioner ids in a carrier's `author`.
pub const PRACTITIONER_SYSTEM: &str = "urn:kitnotes:practitioner";
/// A patient with this tag never leaves the laptop, nor anything of theirs.
pub const LOCAL_TAG: &str = "local";

/// The namespace of carriers' ids (UUID v5 of "kitnotes-record <id>"). Fixed for good.
const CARRIER_NAMESPACE: uuid::Uuid = uuid::uuid!("8f3d6c2a-1b47-5e90-a3c4-2d7e9f0b6a15");

/// Why a record stays on this laptop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptHere {
    pub drafts: usize,
    pub psychotherapy_notes: usize,
    pub unsigned_sessions: usize,
    pub local_patients: usize,
}

/// The records of a patient that may be shared with the practice: `None` for a patient marked
/// local. Drafts, psychotherapy notes (signed or not) and dosing sessions not signed yet stay;
/// a goal's link to a note that stays is cut, as in a JSON Lines export without them.
pub fn shareable(mut r: PatientRecords, kept: &mut KeptHere) -> Option<PatientRecords> {
    if r.patient
        .tags
        .iter()
        .any(|t| t.eq_ignore_ascii_case(LOCAL_TAG))
    {
        kept.local_patients += 1;
        return None;
    }
    r.notes.retain(|n| {
        if n.kind.is_private() {
            kept.psychotherapy_notes += 1;
            false
        } else if !n.is_signed() {
            kept.drafts += 1;
            false
        } else {
            true
        }
    });
    r.sessions.retain(|s| {
        kept.unsigned_sessions += usize::from(!s.is_signed());
        s.is_signed()
    });
    let notes: HashSet<RecordId> = r.notes.iter().map(|n| n.id.clone()).collect();
    for g in &mut r.goals {
        g.cut_note_links(|n| !notes.contains(n));
    }
    Some(r)
}

/// One resource as it goes to the server.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `Type/id`.
    pub key: String,
    pub resource: Value,
    pub hash: String,
    /// For a carrier: the record's id and its line.
    pub record: Option<(String, String)>,
}

/// Each shareable record's line, by record id.
pub fn lines(r: &PatientRecords) -> HashMap<String, String> {
    std::iter::once(RecordRef::Patient(&r.patient))
        .chain(r.chronological(false))
        .map(|rec| (rec.id().to_owned(), record_line::to_line(rec)))
        .collect()
}

/// The carrier's key for a record id.
pub fn carrier_key(record_id: &str) -> String {
    let name = format!("kitnotes-record {record_id}");
    format!(
        "Basic/{}",
        uuid::Uuid::new_v5(&CARRIER_NAMESPACE, name.as_bytes())
    )
}

/// Every resource of one patient's shareable records: the export's, then the carriers.
/// `author_of` names who wrote a record that came from another laptop; others are `me`.
pub fn outgoing(
    r: &PatientRecords,
    opts: &FhirOptions,
    me: &super::state::Author,
    author_of: &dyn Fn(&str) -> Option<super::state::Author>,
) -> Vec<Outgoing> {
    let opts = FhirOptions {
        include_psychotherapy_notes: false,
        generated_at: None,
        bundle: BundleKind::Transaction,
        ..opts.clone()
    };
    let (bundle, _) = fhir_bundle(r, &opts);
    let bundle = serde_json::to_value(&bundle).unwrap_or(Value::Null);
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Each entry's urn:uuid: full URL becomes its literal `Type/id`, which is what the server
    // keeps (a server rewrites urn references in a transaction), so what was sent and what is
    // pulled back compare equal.
    let mut literal: HashMap<String, String> = HashMap::new();
    let mut resources = Vec::new();
    for e in entries {
        let (Some(url), Some(resource)) =
            (e.get("fullUrl").and_then(Value::as_str), e.get("resource"))
        else {
            continue;
        };
        let (Some(kind), Some(id)) = (
            resource.get("resourceType").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) else {
            continue;
        };
        let key = format!("{kind}/{id}");
        literal.insert(url.to_owned(), key.clone());
        resources.push((key, resource.clone()));
    }
    let patient_key = resources
        .iter()
        .find(|(k, _)| k.starts_with("Patient/"))
        .map(|(k, _)| k.clone());
    let mut out: Vec<Outgoing> = resources
        .into_iter()
        .map(|(key, mut resource)| {
            make_literal(&mut resource, &literal);
            let hash = hash_resource(&resource);
            Outgoing {
                key,
                resource,
                hash,
                record: None,
            }
        })
        .collect();
    let records = std::iter::once(RecordRef::Patient(&r.patient)).chain(r.chronological(false));
    for record in records {
        let id = record.id();
        let line = record_line::to_line(record);
        let author = author_of(id).unwrap_or_else(|| me.clone());
        let key = carrier_key(id);
        let resource = carrier(
            &key,
            id,
            record.kind().as_str(),
            &line,
            patient_key.as_deref(),
            &author,
        );
        out.push(Outgoing {
            key,
            resource,
            hash: hash_line(&line),
            record: Some((id.to_owned(), line)),
        });
    }
    out
}

/// A `Basic` carrying a record's line.
fn carrier(
    key: &str,
    record_id: &str,
    kind: &str,
    line: &str,
    patient: Option<&str>,
    author: &super::state::Author,
) -> Value {
    let id = key.trim_start_matches("Basic/");
    let mut b = serde_json::json!({
        "resourceType": "Basic",
        "id": id,
        "extension": [{"url": RECORD_EXTENSION, "valueString": line}],
        "identifier": [{"system": RECORD_ID_SYSTEM, "value": record_id}],
        "code": {"text": format!("kitnotes record: {kind}")},
        "author": {
            "identifier": {"system": PRACTITIONER_SYSTEM, "value": author.practitioner},
            "display": author.name,
        },
    });
    if let (Some(p), Value::Object(m)) = (patient, &mut b) {
        m.insert("subject".into(), serde_json::json!({ "reference": p }));
    }
    b
}

/// What a pulled `Basic` carries: the record's line and its author, if it is a carrier.
pub fn carried(resource: &Value) -> Option<(String, Option<super::state::Author>)> {
    let line = resource
        .get("extension")?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(RECORD_EXTENSION))?
        .get("valueString")?
        .as_str()?
        .to_owned();
    let author = resource.get("author").and_then(|a| {
        Some(super::state::Author {
            practitioner: a.get("identifier")?.get("value")?.as_str()?.to_owned(),
            name: a.get("display")?.as_str()?.to_owned(),
        })
    });
    Some((line, author))
}

fn make_literal(v: &mut Value, literal: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(k) = literal.get(s.as_str()) {
                *s = k.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| make_literal(x, literal)),
        Value::Object(m) => m.values_mut().for_each(|x| make_literal(x, literal)),
        _ => {}
    }
}

/// The hash of a carried record: its line.
pub fn hash_line(line: &str) -> String {
    format!("line:{}", blake3::hash(line.as_bytes()).to_hex())
}

/// The hash of a resource's content: its JSON with keys sorted, without `meta` (which the
/// server fills in) and without `text`.
pub fn hash_resource(resource: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(resource, &mut canonical, true);
    format!("json:{}", blake3::hash(canonical.as_bytes()).to_hex())
}

fn write_canonical(v: &Value, out: &mut String, top: bool) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                if top && (k == "meta" || k == "text") {
                    continue;
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out, false);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                write_canonical(x, out, false);
                out.push(',');
            }
            out.push(']');
        }
        Value::Number(n) => {
            // 13 and 13.0 are the same FHIR decimal.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    out.push_str(&(f as i64).to_string())
                }
                _ => out.push_str(&n.to_string()),
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A resource's `Type/id`, from its own elements.
pub fn key_of(resource: &Map<String, Value>) -> Option<String> {
    let kind = resource.get("resourceType")?.as_str()?;
    let id = resource.get("id")?.as_str()?;
    Some(format!("{kind}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interchange::{NothingStored, parse};
    use crate::model::{PatientId, Record};

    /// The interchange fixture's first patient: a signed and a draft note, a psychotherapy
    /// draft, an unsigned dosing session, measures and a goal linking to them.
    fn fixture() -> PatientRecords {
        let text = include_str!("../../tests/fixtures/interchange/varied.jsonl");
        let parsed = parse(text.as_bytes(), &NothingStored).unwrap();
        let p1 = PatientId::parse("p1").unwrap();
        let mut records: Option<PatientRecords> = None;
        for r in parsed.records {
            if r.patient() != &p1 {
                continue;
            }
            match (&mut records, r) {
                (None, Record::Patient(p)) => records = Some(PatientRecords::new(p)),
                (Some(rs), r) => rs.push(r),
                (None, _) => panic!("the patient comes first"),
            }
        }
        records.unwrap()
    }

    #[test]
    fn drafts_psychotherapy_notes_and_unsigned_sessions_stay() {
        let mut kept = KeptHere::default();
        let r = shareable(fixture(), &mut kept).unwrap();
        assert_eq!(kept.drafts, 1);
        assert_eq!(kept.psychotherapy_notes, 1);
        assert_eq!(kept.unsigned_sessions, 1);
        assert!(
            r.notes
                .iter()
                .all(|n| n.is_signed() && !n.kind.is_private())
        );
        assert!(r.sessions.is_empty());
        // The goal's check-in pointed at a signed note (kept); nothing points at a draft.
        let kept_ids: HashSet<&str> = r.notes.iter().map(|n| n.id.as_str()).collect();
        for g in &r.goals {
            for link in g
                .check_ins
                .iter()
                .filter_map(|c| c.integration_note.as_ref())
            {
                assert!(kept_ids.contains(link.as_str()));
            }
        }
        let mut local = fixture();
        local.patient.tags.push("Local".into());
        assert!(shareable(local, &mut kept).is_none());
        assert_eq!(kept.local_patients, 1);
    }

    #[test]
    fn resources_refer_literally_and_carriers_give_the_record_back() {
        let mut kept = KeptHere::default();
        let r = shareable(fixture(), &mut kept).unwrap();
        let me = super::super::state::Author {
            practitioner: "ana".into(),
            name: "Dr. Ana (invented)".into(),
        };
        let out = outgoing(&r, &FhirOptions::default(), &me, &|_| None);
        let all =
            serde_json::to_string(&out.iter().map(|o| &o.resource).collect::<Vec<_>>()).unwrap();
        assert!(!all.contains("urn:uuid:"), "{all}");
        assert!(
            !all.contains("Transference"),
            "a psychotherapy note went out"
        );
        let carriers: Vec<&Outgoing> = out.iter().filter(|o| o.record.is_some()).collect();
        // The patient, the signed notes, the measures and the goal.
        assert_eq!(
            carriers.len(),
            1 + r.notes.len() + r.measures.len() + r.goals.len()
        );
        for c in carriers {
            let (line, author) = carried(&c.resource).unwrap();
            assert_eq!(author.unwrap(), me);
            let record = record_line::from_line(&line).unwrap();
            assert_eq!(carrier_key(record.id()), c.key);
            assert_eq!(record_line::to_line(record.as_ref()), line);
        }
        // Same records, same resources: nothing would be sent twice.
        let again = outgoing(&r, &FhirOptions::default(), &me, &|_| None);
        let hashes = |o: &[Outgoing]| o.iter().map(|o| o.hash.clone()).collect::<Vec<_>>();
        assert_eq!(hashes(&out), hashes(&again));
    }

    #[test]
    fn the_content_hash_ignores_meta_and_key_order() {
        let a = serde_json::json!({"resourceType": "Goal", "id": "x", "note": [{"text": "a"}],
            "meta": {"versionId": "1"}, "x": 13});
        let b = serde_json::json!({"x": 13.0, "id": "x", "resourceType": "Goal",
            "note": [{"text": "a"}]});
        assert_eq!(hash_resource(&a), hash_resource(&b));
        let c = serde_json::json!({"x": 13.0, "id": "x", "resourceType": "Goal",
            "note": [{"text": "b"}]});
        assert_ne!(hash_resource(&a), hash_resource(&c));
    }
}
