//! The pull: what the server holds that changed since the last pull, written here.

use super::resources::{self, carried, hash_line, hash_resource, shareable};
use super::state::{Author, Conflict, Seen, SyncState};
use super::{SyncError, SyncOptions, SyncReport};
use crate::interchange::record_line;
use crate::model::{PatientId, Record, RecordKind};
use crate::store::{AuditAction, AuditEvent, Change, Store};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// A history page's size.
const PAGE: usize = 100;
/// Pages followed at most in one pull (a server whose next link never ends).
const MAX_PAGES: usize = 100_000;

/// A resource's key, the version to note, the record that must be written here first (none when
/// this laptop already holds the same), and who wrote it.
type Adopt = (String, Seen, Option<String>, Option<Author>);

/// The newest version of one resource in the history read.
struct Latest {
    version: String,
    /// `None`: deleted on the server.
    resource: Option<Value>,
}

pub(super) fn pull(
    store: &dyn Store,
    server: &super::Server,
    opts: &SyncOptions,
    me: &Author,
    state: &mut SyncState,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut url = match &state.pulled_to {
        Some(t) => format!("_history?_since={}&_count={PAGE}", encode(t)),
        None => format!("_history?_count={PAGE}"),
    };
    let mut latest: BTreeMap<String, Latest> = BTreeMap::new();
    let mut newest: Option<(jiff::Timestamp, String)> = state
        .pulled_to
        .as_ref()
        .and_then(|t| Some((t.parse().ok()?, t.clone())));
    // Whether the history was read to its last page. A read that stops before it writes
    // nothing and keeps `pulled_to`: the pages not read are never skipped, and a push never
    // sends a record without the version the server holds.
    let mut whole = false;
    for _ in 0..MAX_PAGES {
        let reply = server.get(&url)?;
        if reply.status != 200 {
            return Err(SyncError::from_status(server, "the history read", &reply));
        }
        let page: Value = serde_json::from_str(&reply.body).map_err(|e| SyncError::Malformed {
            server: server.base().to_owned(),
            what: "the history read".into(),
            detail: e.to_string(),
        })?;
        for entry in page
            .get("entry")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            read_entry(entry, &mut latest, &mut newest);
        }
        let next = page
            .get("link")
            .and_then(Value::as_array)
            .and_then(|links| {
                links
                    .iter()
                    .find(|l| l.get("relation").and_then(Value::as_str) == Some("next"))
            })
            .and_then(|l| l.get("url"))
            .and_then(Value::as_str);
        match next.map(|n| on_this_server(server.base(), n)) {
            None => {
                whole = true;
                break;
            }
            Some(n) if !n.is_empty() && n != url => url = n,
            Some(_) => break,
        }
    }
    if !whole {
        return Err(SyncError::Malformed {
            server: server.base().to_owned(),
            what: "the history read".into(),
            detail: format!(
                "its next page could not be read (a link to another server, the same page \
                 again, or more than {MAX_PAGES} pages); nothing of it was written here"
            ),
        });
    }

    let mut local = LocalView::default();
    let mut changes: Vec<(Record, Option<Author>)> = Vec::new();
    // Each resource's key, its version to note once written, and who wrote the record.
    let mut adopt: Vec<Adopt> = Vec::new();
    for (key, l) in latest {
        if state.seen.get(&key).is_some_and(|s| s.version == l.version) {
            continue;
        }
        let Some(resource) = l.resource else {
            // Deleted on the server: the next push puts back what this laptop still holds.
            state.seen.remove(&key);
            continue;
        };
        let Some((line, author)) = carried(&resource) else {
            // A resource made from records (an Encounter, an Observation, the CarePlan): the
            // records themselves come in their carriers; its version is what the next write of
            // it must name.
            let hash = hash_resource(&resource);
            state.seen.insert(
                key,
                Seen {
                    version: l.version,
                    hash,
                },
            );
            continue;
        };
        let hash = hash_line(&line);
        let record = match record_line::from_line(&line) {
            Ok(r) => r,
            Err(e) => {
                report
                    .problems
                    .push(format!("{key} carries a record kitnotes cannot read: {e}"));
                continue;
            }
        };
        if super::resources::carrier_key(record.id()) != key {
            report.problems.push(format!(
                "{key} carries record {} under another resource's id; not written",
                record.id()
            ));
            continue;
        }
        let patient = record.patient().clone();
        if local.is_kept_local(store, &patient)? {
            report.problems.push(format!(
                "record {} of patient {patient} is kept local here; not written",
                record.id()
            ));
            continue;
        }
        let mine = local.line(store, &patient, record.id())?;
        let seen = state.seen.get(&key).map(|s| s.hash.clone());
        let record_author = author.clone().filter(|a| a.practitioner != me.practitioner);
        let seen_now = Seen {
            version: l.version.clone(),
            hash: hash.clone(),
        };
        match mine {
            Some(mine) if hash_line(&mine) == hash => {
                adopt.push((key, seen_now, None, None));
            }
            Some(mine)
                if seen.as_deref() != Some(hash_line(&mine).as_str())
                    && let Some(merged) = merge_addenda(&mine, &record) =>
            {
                // Addenda added to the same signed note here and there: addenda only ever add,
                // so both are kept, in the order every laptop makes (`Note::merge_addenda`);
                // the next push sends the merge. Who wrote the note stays as it was.
                let id = record.id().to_owned();
                changes.push((merged, author.clone()));
                adopt.push((key, seen_now, Some(id), None));
            }
            Some(mine) if seen.as_deref() != Some(hash_line(&mine).as_str()) => {
                // Changed here since the server was last seen, and changed there: both stay.
                let conflict = Conflict {
                    key: key.clone(),
                    record: record.id().to_owned(),
                    patient: patient.as_str().to_owned(),
                    theirs: line,
                    their_version: l.version,
                    their_author: author,
                    found: "changed here and on the server".into(),
                };
                // Known already (found by an earlier sync, or the server's version again):
                // kept with the newest version, reported once.
                let known = state
                    .conflicts
                    .iter()
                    .any(|c| c.key == key && c.theirs == conflict.theirs);
                state.conflicts.retain(|c| c.key != key);
                state.conflicts.push(conflict.clone());
                if !known {
                    report.new_conflicts.push(conflict);
                }
            }
            _ => {
                let id = record.id().to_owned();
                let mut record = record;
                keep_local_links(store, &mut record)?;
                changes.push((record, author.clone()));
                adopt.push((key, seen_now, Some(id), record_author));
            }
        }
    }
    let written = write(store, opts, changes, report)?;
    for (key, seen, record, author) in adopt {
        // A record the store refused here (a signed note changed, say) is not taken as seen,
        // whoever wrote it: else the next push would send this laptop's version over the
        // server's without a conflict.
        if let Some(id) = &record {
            if !written.contains_key(id.as_str()) {
                continue;
            }
            if let Some(a) = author {
                state.authors.insert(id.clone(), a);
            }
        }
        state.conflicts.retain(|c| c.key != key);
        state.seen.insert(key, seen);
    }
    if let Some((_, t)) = newest {
        state.pulled_to = Some(t);
    }
    state.save(store)?;
    Ok(())
}

fn read_entry(
    entry: &Value,
    latest: &mut BTreeMap<String, Latest>,
    newest: &mut Option<(jiff::Timestamp, String)>,
) {
    let resource = entry.get("resource").filter(|r| r.is_object());
    let key = resource
        .and_then(Value::as_object)
        .and_then(resources::key_of)
        .or_else(|| {
            // A deletion has no resource: its request names it (`Type/id`).
            let url = entry.get("request")?.get("url")?.as_str()?;
            let mut parts = url.trim_start_matches('/').split('/');
            Some(format!("{}/{}", parts.next()?, parts.next()?))
        });
    let Some(key) = key else { return };
    let meta = resource.and_then(|r| r.get("meta"));
    let version = meta
        .and_then(|m| m.get("versionId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            // A deletion's version is in its answer's etag.
            let etag = entry.get("response")?.get("etag")?.as_str()?;
            Some(super::push::version_of_etag(etag))
        })
        .unwrap_or_default();
    if let Some(t) = meta
        .and_then(|m| m.get("lastUpdated"))
        .and_then(Value::as_str)
        && let Ok(at) = t.parse::<jiff::Timestamp>()
        && newest.as_ref().is_none_or(|(n, _)| at > *n)
    {
        *newest = Some((at, t.to_owned()));
    }
    let deleted = entry
        .get("request")
        .and_then(|r| r.get("method"))
        .and_then(Value::as_str)
        == Some("DELETE");
    let newer = latest
        .get(&key)
        .is_none_or(|l| newer_version(&version, &l.version));
    if newer {
        latest.insert(
            key,
            Latest {
                version,
                resource: if deleted { None } else { resource.cloned() },
            },
        );
    }
}

fn newer_version(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

/// Writes what came from the server, patients first, in one atomic change with one audit
/// entry per patient; if that is refused, record by record, each refusal a problem. Returns
/// the ids written with who wrote them.
fn write(
    store: &dyn Store,
    opts: &SyncOptions,
    mut changes: Vec<(Record, Option<Author>)>,
    report: &mut SyncReport,
) -> Result<HashMap<String, String>, SyncError> {
    // Patients first, so each comes in a part before (or with) their records.
    changes.sort_by_key(|(r, _)| r.kind() != RecordKind::Patient);
    let mut written = HashMap::new();
    // In parts: the store's writer is shared with the open UI, whose next save waits for a
    // write under way, so a new laptop's first pull of a whole practice must not be one write
    // of many seconds. The read mark is saved only after every part is written, so a sync
    // ended between parts writes the rest (and the same records again, unchanged) next time.
    for part in changes.chunks(WRITE_PART) {
        write_part(store, opts, part, report, &mut written)?;
    }
    store.flush()?;
    Ok(written)
}

/// How many pulled records one write holds: tens of milliseconds of the store's writer.
const WRITE_PART: usize = 64;

/// Writes one part of what was pulled, with an audit entry per patient saying from whom; a
/// part the store refuses is written one record at a time, each refusal a problem of the
/// report.
fn write_part(
    store: &dyn Store,
    opts: &SyncOptions,
    changes: &[(Record, Option<Author>)],
    report: &mut SyncReport,
    written: &mut HashMap<String, String>,
) -> Result<(), SyncError> {
    let name = |a: &Option<Author>| {
        a.as_ref()
            .map_or("an unnamed clinician".to_owned(), |a| a.name.clone())
    };
    let event = |patient: &PatientId, detail: String| AuditEvent {
        at: opts.at,
        who: opts.who.clone(),
        action: AuditAction::Synced,
        patient: Some(patient.clone()),
        record: None,
        detail,
    };
    let mut by_patient: BTreeMap<PatientId, BTreeMap<String, usize>> = BTreeMap::new();
    for (r, a) in changes {
        *by_patient
            .entry(r.patient().clone())
            .or_default()
            .entry(name(a))
            .or_default() += 1;
    }
    let events: Vec<AuditEvent> = by_patient
        .iter()
        .map(|(p, from)| {
            let from: Vec<String> = from.iter().map(|(w, n)| format!("{n} from {w}")).collect();
            event(
                p,
                format!("received from the practice's server: {}", from.join(", ")),
            )
        })
        .collect();
    let puts: Vec<Change> = changes
        .iter()
        .map(|(r, _)| Change::Put(r.clone()))
        .collect();
    if puts.is_empty() {
        return Ok(());
    }
    match store.apply_with_events(&puts, &events) {
        Ok(_) => {
            for (r, a) in changes {
                *report.received.entry(name(a)).or_default() += 1;
                written.insert(r.id().to_owned(), name(a));
            }
        }
        Err(e) if e.is_disk() => return Err(e.into()),
        Err(_) => {
            for (r, a) in changes {
                let one = event(
                    r.patient(),
                    format!("received from the practice's server: 1 from {}", name(a)),
                )
                .record(r.id());
                match store.apply_with_events(&[Change::Put(r.clone())], &[one]) {
                    Ok(_) => {
                        *report.received.entry(name(a)).or_default() += 1;
                        written.insert(r.id().to_owned(), name(a));
                    }
                    Err(e) if e.is_disk() => return Err(e.into()),
                    Err(e) => report.problems.push(format!(
                        "{} {} from {}: not written here: {e}",
                        r.kind().as_str(),
                        r.id(),
                        name(a)
                    )),
                }
            }
        }
    }
    Ok(())
}

/// The same signed note as `mine` (this laptop's line) with the addenda of both, when `theirs`
/// differs from it only by addenda.
fn merge_addenda(mine: &str, theirs: &Record) -> Option<Record> {
    let (Ok(Record::Note(mine)), Record::Note(theirs)) = (record_line::from_line(mine), theirs)
    else {
        return None;
    };
    mine.merge_addenda(theirs).map(Record::Note)
}

/// A goal's links to notes that never leave this laptop (a draft, a psychotherapy note) are cut
/// from what is sent (`resources::shareable`), so the server's version of the goal lacks them:
/// written here, it keeps this laptop's links where the server's has none.
fn keep_local_links(store: &dyn Store, record: &mut Record) -> Result<(), SyncError> {
    let Record::Goal(theirs) = record else {
        return Ok(());
    };
    let Some(Record::Goal(mine)) = store.record(theirs.id.as_str())? else {
        return Ok(());
    };
    let local_only = |note: &crate::model::RecordId| -> Result<bool, SyncError> {
        Ok(matches!(
            store.record(note.as_str())?,
            Some(Record::Note(n)) if n.kind.is_private() || !n.is_signed()
        ))
    };
    if theirs.source_note.is_none()
        && let Some(note) = &mine.source_note
        && local_only(note)?
    {
        theirs.source_note = Some(note.clone());
    }
    for c in &mut theirs.check_ins {
        if c.integration_note.is_some() {
            continue;
        }
        let kept = mine
            .check_ins
            .iter()
            .find(|m| m.at == c.at && m.progress == c.progress && m.note == c.note)
            .and_then(|m| m.integration_note.clone());
        if let Some(note) = kept
            && local_only(&note)?
        {
            c.integration_note = Some(note);
        }
    }
    Ok(())
}

/// This laptop's shareable records, read once per patient.
#[derive(Default)]
struct LocalView {
    /// Each patient's records as they would be sent: record id to line.
    lines: HashMap<PatientId, HashMap<String, String>>,
    local: HashMap<PatientId, bool>,
}

impl LocalView {
    fn is_kept_local(&mut self, store: &dyn Store, p: &PatientId) -> Result<bool, SyncError> {
        if let Some(k) = self.local.get(p) {
            return Ok(*k);
        }
        let k = store.patient(p)?.is_some_and(|p| {
            p.tags
                .iter()
                .any(|t| t.eq_ignore_ascii_case(resources::LOCAL_TAG))
        });
        self.local.insert(p.clone(), k);
        Ok(k)
    }

    fn line(
        &mut self,
        store: &dyn Store,
        p: &PatientId,
        id: &str,
    ) -> Result<Option<String>, SyncError> {
        if !self.lines.contains_key(p) {
            let mut lines = HashMap::new();
            let mut kept = resources::KeptHere::default();
            if let Some(r) = store.patient_records(p)?
                && let Some(r) = shareable(r, &mut kept)
            {
                lines = resources::lines(&r);
            }
            self.lines.insert(p.clone(), lines);
        }
        Ok(self.lines.get(p).and_then(|l| l.get(id)).cloned())
    }
}

/// A next-page link as a request to the configured server: a server behind a proxy may name
/// itself by another address (its own idea of its base URL), and the token goes nowhere else,
/// so the link's `_history...` part is asked of the configured base.
fn on_this_server(base: &str, link: &str) -> String {
    if link.starts_with(base) {
        return link.to_owned();
    }
    match link.find("_history") {
        Some(at) => link[at..].to_owned(),
        None => String::new(),
    }
}

/// A `_since` value in a query: `:` and `+` escaped.
fn encode(t: &str) -> String {
    t.replace('%', "%25")
        .replace(':', "%3A")
        .replace('+', "%2B")
}
