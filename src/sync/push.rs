//! The push: every resource whose content differs from what the server was last seen holding,
//! one transaction bundle per patient, `PUT Type/id` with `If-Match` on the version last seen.

use super::resources::{self, Outgoing, shareable};
use super::state::{Author, Conflict, Seen, SyncState};
use super::{SyncError, SyncOptions, SyncReport};
use crate::store::Store;
use serde_json::{Value, json};

/// Entries in one transaction at most (a patient with more is sent in several).
const MAX_ENTRIES: usize = 500;

/// One patient's resources that wait to be sent.
pub(super) struct Waiting {
    patient: String,
    resources: Vec<Outgoing>,
}

/// Whether `o`, one of `patient`'s resources, still waits to be sent by `state`: its content
/// differs from what the server was last seen holding, it is not in conflict, and (unless it
/// carries a record) none of the patient's records is.
fn waits(o: &Outgoing, patient: &str, state: &SyncState) -> bool {
    state.seen.get(&o.key).is_none_or(|s| s.hash != o.hash)
        && state.conflict(&o.key).is_none()
        && (o.record.is_some() || !state.conflicts.iter().any(|c| c.patient == patient))
}

/// The resources of every shareable patient that wait to be sent, patient by patient.
fn pending(
    store: &dyn Store,
    state: &SyncState,
    opts: &SyncOptions,
    me: &Author,
    kept: &mut resources::KeptHere,
) -> Result<Vec<Waiting>, SyncError> {
    let mut out = Vec::new();
    for p in store.patients()? {
        let Some(records) = store.patient_records(&p.id)? else {
            continue;
        };
        let Some(records) = shareable(records, kept) else {
            continue;
        };
        // A record from another clinician goes again under their name only to a server that
        // never had it (a new server); once seen there, what this laptop sends is its own change.
        let author_of = |id: &str| {
            if state.seen.contains_key(&resources::carrier_key(id)) {
                None
            } else {
                state.authors.get(id).cloned()
            }
        };
        // While one of the patient's records is in conflict, the resources made from their
        // records wait too: they would carry this laptop's side over the server's (`waits`).
        let patient = records.patient.id.as_str().to_owned();
        let waiting: Vec<Outgoing> = resources::outgoing(&records, &opts.fhir, me, &author_of)
            .into_iter()
            .filter(|o| waits(o, &patient, state))
            .collect();
        if !waiting.is_empty() {
            out.push(Waiting {
                patient,
                resources: waiting,
            });
        }
    }
    Ok(out)
}

/// How many resources wait to be sent.
pub(super) fn pending_count(
    store: &dyn Store,
    state: &SyncState,
    opts: &SyncOptions,
    me: &Author,
) -> Result<usize, SyncError> {
    let mut kept = resources::KeptHere::default();
    Ok(still_waiting(
        &pending(store, state, opts, me, &mut kept)?,
        state,
    ))
}

/// How many of `found` (what a push found waiting) still wait by `state` (after it sent what
/// it could): the queue after a push, without reading the store again.
pub(super) fn still_waiting(found: &[Waiting], state: &SyncState) -> usize {
    found
        .iter()
        .map(|w| {
            w.resources
                .iter()
                .filter(|o| waits(o, &w.patient, state))
                .count()
        })
        .sum()
}

pub(super) fn push(
    store: &dyn Store,
    server: &super::Server,
    opts: &SyncOptions,
    me: &Author,
    state: &mut SyncState,
    report: &mut SyncReport,
    found: &mut Option<Vec<Waiting>>,
) -> Result<(), SyncError> {
    let mut kept = resources::KeptHere::default();
    // Kept for the caller, which counts from it what still waits afterwards, however the
    // push ended.
    let patients = found.insert(pending(store, state, opts, me, &mut kept)?);
    report.kept_here = kept;
    for waiting in patients.iter() {
        for chunk in waiting.resources.chunks(MAX_ENTRIES) {
            send(server, chunk, state, report)?;
            state.save(store)?;
        }
    }
    Ok(())
}

fn if_match(state: &SyncState, key: &str) -> Option<String> {
    state.seen.get(key).map(|s| s.version.clone())
}

fn send(
    server: &super::Server,
    chunk: &[Outgoing],
    state: &mut SyncState,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let entries: Vec<Value> = chunk
        .iter()
        .map(|o| {
            let mut request = json!({"method": "PUT", "url": o.key});
            if let Some(v) = if_match(state, &o.key) {
                request["ifMatch"] = json!(format!("W/\"{v}\""));
            }
            json!({
                "fullUrl": format!("{}/{}", server.base(), o.key),
                "resource": o.resource,
                "request": request,
            })
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let body = serde_json::to_vec(&bundle).unwrap_or_default();
    let reply = server.transaction(&body)?;
    match reply.status {
        200 | 201 => {
            let answer: Value =
                serde_json::from_str(&reply.body).map_err(|e| SyncError::Malformed {
                    server: server.base().to_owned(),
                    what: "a transaction".into(),
                    detail: e.to_string(),
                })?;
            let answers = answer
                .get("entry")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, o) in chunk.iter().enumerate() {
                let version = answers.get(i).and_then(version_of_answer);
                match version {
                    Some(v) => sent(o, v, state, report),
                    // Written, but the version is not known: the next pull brings it.
                    None => count(o, report),
                }
            }
            Ok(())
        }
        // A stale If-Match refuses the whole bundle (412, or 409; helios-hfs answers 400 "Entry
        // failed with status 412"): each resource alone finds which. A bundle refused for
        // another reason is refused again entry by entry, with that entry's own answer.
        409 | 412 => one_by_one(server, chunk, state, report),
        400 if chunk.iter().any(|o| state.seen.contains_key(&o.key)) => {
            one_by_one(server, chunk, state, report)
        }
        _ => Err(SyncError::from_status(server, "a transaction", &reply)),
    }
}

fn count(o: &Outgoing, report: &mut SyncReport) {
    let kind = o.key.split('/').next().unwrap_or_default().to_owned();
    *report.sent.entry(kind).or_default() += 1;
    report.sent_records += usize::from(o.record.is_some());
}

fn sent(o: &Outgoing, version: String, state: &mut SyncState, report: &mut SyncReport) {
    count(o, report);
    // Changed and sent from here: this clinician is its author now, here too.
    if let Some((id, _)) = &o.record {
        let sent_as = resources::carried(&o.resource).and_then(|(_, a)| a);
        if state.authors.get(id) != sent_as.as_ref() {
            state.authors.remove(id);
        }
    }
    state.seen.insert(
        o.key.clone(),
        Seen {
            version,
            hash: o.hash.clone(),
        },
    );
}

fn one_by_one(
    server: &super::Server,
    chunk: &[Outgoing],
    state: &mut SyncState,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    for o in chunk {
        let body = serde_json::to_vec(&o.resource).unwrap_or_default();
        let reply = server.put(&o.key, &body, if_match(state, &o.key).as_deref())?;
        match reply.status {
            200 | 201 => {
                let version = serde_json::from_str::<Value>(&reply.body)
                    .ok()
                    .and_then(|r| r.get("meta")?.get("versionId")?.as_str().map(str::to_owned));
                match version {
                    Some(v) => sent(o, v, state, report),
                    None => count(o, report),
                }
            }
            409 | 412 => {
                // Only a record is a conflict; a resource made from records is made again
                // from them once the next pull has brought the others'.
                let Some((record, _)) = &o.record else {
                    continue;
                };
                let current = server.get(&o.key)?;
                if current.status != 200 {
                    return Err(SyncError::from_status(server, "reading a record", &current));
                }
                let current: Value =
                    serde_json::from_str(&current.body).map_err(|e| SyncError::Malformed {
                        server: server.base().to_owned(),
                        what: format!("reading {}", o.key),
                        detail: e.to_string(),
                    })?;
                let version = current
                    .get("meta")
                    .and_then(|m| m.get("versionId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let Some((theirs, author)) = resources::carried(&current) else {
                    continue;
                };
                let patient = crate::interchange::record_line::from_line(&theirs)
                    .map(|r| r.patient().as_str().to_owned())
                    .unwrap_or_default();
                let conflict = Conflict {
                    key: o.key.clone(),
                    record: record.clone(),
                    patient,
                    theirs,
                    their_version: version,
                    their_author: author,
                    found: format!(
                        "the server refused a stale write ({}): it holds a newer version",
                        reply.status
                    ),
                };
                state.conflicts.retain(|c| c.key != o.key);
                state.conflicts.push(conflict.clone());
                report.new_conflicts.push(conflict);
            }
            _ => {
                return Err(SyncError::from_status(
                    server,
                    &format!("writing {}", o.key),
                    &reply,
                ));
            }
        }
    }
    Ok(())
}

/// The version a transaction's answer gives: its etag, else its location's `_history/N`.
fn version_of_answer(entry: &Value) -> Option<String> {
    let response = entry.get("response")?;
    if let Some(etag) = response.get("etag").and_then(Value::as_str) {
        return Some(version_of_etag(etag));
    }
    if let Some(v) = entry
        .get("resource")
        .and_then(|r| r.get("meta"))
        .and_then(|m| m.get("versionId"))
        .and_then(Value::as_str)
    {
        return Some(v.to_owned());
    }
    let location = response.get("location").and_then(Value::as_str)?;
    let (_, v) = location.rsplit_once("/_history/")?;
    Some(v.to_owned())
}

/// `W/"3"` is version 3.
pub(super) fn version_of_etag(etag: &str) -> String {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_owned()
}
