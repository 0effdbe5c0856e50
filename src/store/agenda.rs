//! The agenda index: each patient's [`Agenda`] (what Today and the drafts list read), kept in
//! the same sled tree and changed in the same atomic write as the records, so Today, `kitnotes
//! today` and the drafts list read one small value per patient instead of every record.
//!
//! Layout (every value in the codec's envelope, kind `x`, like the search index's):
//! ```text
//! G\0<patient id>   the patient's agenda (below)
//! M\0agenda         the agenda format's version (u32), written last when the agendas are built
//! ```
//! In an encrypted store the patient id in the key is a keyed hash (`Crypt::name`) and every
//! value is sealed. The agenda's body: the patient (id, name, archived), then the drafts, the
//! latest signing, the follow-ups, the item-9 scores, the sessions, the goals and the courses,
//! each list a count and its entries; times are nanoseconds since 1970 (i128), strings a
//! length (u32) and UTF-8, all little-endian; a course is its JSON.
//!
//! `check` rebuilds every agenda from the records and reports one that differs as an "agenda
//! index" problem; `check --reindex` rebuilds them.

use super::codec;
use super::crypt::{NameOf, Vault};
use super::keys;
use super::{Result, StoreError};
use crate::model::agenda::{
    Agenda, DraftEntry, GoalEntry, Item9Entry, PatientDrafts, SessionEntry,
};
use crate::model::today::SessionStage;
use crate::model::{GoalStatus, NoteKind, PatientId, Record, RecordId};
use jiff::Timestamp;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// The format of the agenda values; a store whose agendas are of another is rebuilt on open.
pub const AGENDA_VERSION: u32 = 1;

pub fn agenda_key(tree: Vault<'_>, patient: &PatientId) -> Vec<u8> {
    [
        keys::AGENDA_PREFIX,
        &tree.crypt.name(NameOf::Id, patient.as_str().as_bytes()),
    ]
    .concat()
}

use super::index::corrupt;

// ---------------------------------------------------------------------------------------------
// The value

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn time(&mut self, t: Timestamp) {
        self.0.extend_from_slice(&t.as_nanosecond().to_le_bytes());
    }
    fn opt_time(&mut self, t: Option<Timestamp>) {
        match t {
            None => self.u8(0),
            Some(t) => {
                self.u8(1);
                self.time(t);
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
    /// A count of entries, each at least `min` bytes: a damaged count cannot ask for more
    /// memory than the value could hold.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.saturating_mul(min) <= self.0.len()).then_some(n)
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn id(&mut self) -> Option<RecordId> {
        RecordId::parse(self.str()?).ok()
    }
    fn time(&mut self) -> Option<Timestamp> {
        let nanos = i128::from_le_bytes(self.take(16)?.try_into().ok()?);
        Timestamp::from_nanosecond(nanos).ok()
    }
    fn opt_time(&mut self) -> Option<Option<Timestamp>> {
        match self.u8()? {
            0 => Some(None),
            1 => self.time().map(Some),
            _ => None,
        }
    }
}

fn note_kind_byte(k: NoteKind) -> u8 {
    NoteKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8
}

const GOAL_STATUSES: [GoalStatus; 4] = [
    GoalStatus::Active,
    GoalStatus::Achieved,
    GoalStatus::Paused,
    GoalStatus::Dropped,
];

const STAGES: [SessionStage; 4] = [
    SessionStage::Planned,
    SessionStage::InProgress,
    SessionStage::Ended,
    SessionStage::NotDosed,
];

fn byte_of<T: PartialEq>(all: &[T], v: &T) -> u8 {
    all.iter().position(|x| x == v).unwrap_or(0) as u8
}

/// The agenda as the bytes of its value (before the envelope).
pub fn encode(a: &Agenda) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256));
    w.str(a.patient.as_str());
    w.str(&a.name);
    w.u8(u8::from(a.archived));
    w.len(a.drafts.len());
    for d in &a.drafts {
        w.str(d.id.as_str());
        w.time(d.at);
        w.u8(note_kind_byte(d.kind));
        w.str(&d.title);
    }
    w.opt_time(a.last_signed);
    w.len(a.follow_ups.len());
    for (id, at) in &a.follow_ups {
        w.str(id.as_str());
        w.time(*at);
    }
    w.len(a.item9.len());
    for m in &a.item9 {
        w.str(m.id.as_str());
        w.time(m.at);
        w.u8(m.item9);
        w.u8(m.total);
    }
    w.len(a.sessions.len());
    for s in &a.sessions {
        w.str(s.id.as_str());
        w.time(s.at);
        w.opt_time(s.dose_time);
        w.str(&s.summary);
        w.u8(byte_of(&STAGES, &s.stage));
    }
    w.len(a.goals.len());
    for g in &a.goals {
        w.str(g.id.as_str());
        w.time(g.at);
        w.u8(byte_of(&GOAL_STATUSES, &g.status));
        w.len(g.check_ins.len());
        for t in &g.check_ins {
            w.time(*t);
        }
    }
    w.len(a.courses.len());
    for c in &a.courses {
        // A plain struct whose JSON serialization cannot fail.
        w.str(&serde_json::to_string(c).unwrap_or_default());
    }
    w.0
}

/// The start of an agenda's bytes: the patient and their drafts, all the drafts list reads.
fn decode_head(r: &mut Reader<'_>) -> Option<PatientDrafts> {
    let patient = PatientId::parse(r.str()?).ok()?;
    let name = r.str()?.to_owned();
    let archived = r.u8()? != 0;
    let n = r.count(17)?;
    let mut drafts = Vec::with_capacity(n);
    for _ in 0..n {
        drafts.push(DraftEntry {
            id: r.id()?,
            at: r.time()?,
            kind: *NoteKind::ALL.get(r.u8()? as usize)?,
            title: r.str()?.to_owned(),
        });
    }
    Some(PatientDrafts {
        patient,
        name,
        archived,
        drafts,
    })
}

/// Reads an agenda back; `None` if the bytes are not one.
pub fn decode(b: &[u8]) -> Option<Agenda> {
    let mut r = Reader(b);
    let PatientDrafts {
        patient,
        name,
        archived,
        drafts,
    } = decode_head(&mut r)?;
    let last_signed = r.opt_time()?;
    let n = r.count(16)?;
    let mut follow_ups = Vec::with_capacity(n);
    for _ in 0..n {
        follow_ups.push((r.id()?, r.time()?));
    }
    let n = r.count(18)?;
    let mut item9 = Vec::with_capacity(n);
    for _ in 0..n {
        item9.push(Item9Entry {
            id: r.id()?,
            at: r.time()?,
            item9: r.u8()?,
            total: r.u8()?,
        });
    }
    let n = r.count(22)?;
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push(SessionEntry {
            id: r.id()?,
            at: r.time()?,
            dose_time: r.opt_time()?,
            summary: r.str()?.to_owned(),
            stage: *STAGES.get(r.u8()? as usize)?,
        });
    }
    let n = r.count(21)?;
    let mut goals = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.id()?;
        let at = r.time()?;
        let status = *GOAL_STATUSES.get(r.u8()? as usize)?;
        let k = r.count(12)?;
        let mut check_ins = Vec::with_capacity(k);
        for _ in 0..k {
            check_ins.push(r.time()?);
        }
        goals.push(GoalEntry {
            id,
            at,
            status,
            check_ins,
        });
    }
    let n = r.count(4)?;
    let mut courses = Vec::with_capacity(n);
    for _ in 0..n {
        courses.push(serde_json::from_str(r.str()?).ok()?);
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Agenda {
        patient,
        name,
        archived,
        drafts,
        last_signed,
        follow_ups,
        item9,
        sessions,
        goals,
        courses,
    })
}

fn decode_value(tree: Vault<'_>, key: &[u8], value: &[u8]) -> Result<Agenda> {
    let body =
        codec::decode_index(tree.crypt, key, value).map_err(|e| corrupt(key, e.to_string()))?;
    // Names and titles: an opened seal is wiped once read.
    let body = Zeroizing::new(body.into_owned());
    decode(&body).ok_or_else(|| corrupt(key, "not an agenda"))
}

/// The patient and drafts of an agenda's value, the rest left unread.
fn decode_drafts_value(tree: Vault<'_>, key: &[u8], value: &[u8]) -> Result<PatientDrafts> {
    let body =
        codec::decode_index(tree.crypt, key, value).map_err(|e| corrupt(key, e.to_string()))?;
    let body = Zeroizing::new(body.into_owned());
    decode_head(&mut Reader(&body)).ok_or_else(|| corrupt(key, "not an agenda"))
}

fn encode_value(tree: Vault<'_>, key: &[u8], a: &Agenda) -> Vec<u8> {
    let body = Zeroizing::new(encode(a));
    codec::encode_index(tree.crypt, key, &body)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Whether the agendas are built (in this format).
pub fn built(tree: Vault<'_>) -> Result<bool> {
    Ok(tree
        .get(keys::AGENDA_VERSION_KEY)?
        .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
        .is_some_and(|v| u32::from_be_bytes(v) == AGENDA_VERSION))
}

/// Every patient's agenda, by the order of their keys.
pub fn all(tree: Vault<'_>) -> Result<Vec<Agenda>> {
    let raw: Vec<(sled::IVec, sled::IVec)> = tree
        .scan_prefix(keys::AGENDA_PREFIX)
        .collect::<std::result::Result<_, _>>()?;
    let decode = |part: &[(sled::IVec, sled::IVec)]| -> Result<Vec<Agenda>> {
        part.iter().map(|(k, v)| decode_value(tree, k, v)).collect()
    };
    // Opening and decoding is most of Today's reading (1,000 agendas: about 15 ms on one core):
    // a large practice's is split over two threads, each half in its order.
    if raw.len() < PARALLEL_FROM {
        return decode(&raw);
    }
    let (first, second) = raw.split_at(raw.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| decode(second));
        let mut out = decode(first)?;
        out.extend(
            other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
        );
        Ok(out)
    })
}

/// Below this many patients Today's agendas are read on one thread: a second costs more than
/// it saves.
pub const PARALLEL_FROM: usize = 200;

/// Every patient's drafts, from their agendas (read no further than the drafts).
pub fn all_drafts(tree: Vault<'_>) -> Result<Vec<PatientDrafts>> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix(keys::AGENDA_PREFIX) {
        let (k, v) = kv?;
        out.push(decode_drafts_value(tree, &k, &v)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A record change as the agendas see it: a record written, or one removed from a patient.
pub enum AgendaChange<'a> {
    Put(&'a Record),
    Remove { patient: PatientId, id: &'a str },
}

/// The agendas a write changes, read once and written once however many records it touches.
pub struct Planner<'t> {
    tree: Vault<'t>,
    /// Each agenda this write touches, with it as stored before (`None`: not stored yet).
    open: HashMap<PatientId, (Agenda, Option<Agenda>)>,
}

impl<'t> Planner<'t> {
    pub fn new(tree: Vault<'t>) -> Self {
        Self {
            tree,
            open: HashMap::new(),
        }
    }

    /// The patient's agenda as this write has it so far.
    fn agenda(&mut self, patient: &PatientId) -> Result<&mut Agenda> {
        if !self.open.contains_key(patient) {
            let key = agenda_key(self.tree, patient);
            let (agenda, stored) = match self.tree.get(&key)? {
                Some(v) => {
                    let a = decode_value(self.tree, &key, &v)?;
                    (a.clone(), Some(a))
                }
                // Not yet indexed (the patient is new to this write, or the agendas are being
                // built): from the patient's record.
                None => {
                    let pkey = keys::patient_key(self.tree.crypt, patient);
                    match self.tree.get(&pkey)? {
                        Some(v) => match codec::decode(self.tree.crypt, &pkey, &v) {
                            Ok(Record::Patient(p)) => (Agenda::new(&p), None),
                            Ok(_) => return Err(corrupt(&pkey, "not a patient")),
                            Err(e) => return Err(corrupt(&pkey, e.to_string())),
                        },
                        None => (
                            Agenda::new(&crate::model::Patient::new(patient.clone(), "")),
                            None,
                        ),
                    }
                }
            };
            self.open.insert(patient.clone(), (agenda, stored));
        }
        self.open
            .get_mut(patient)
            .map(|(a, _)| a)
            .ok_or_else(|| StoreError::NotFound(patient.to_string()))
    }

    pub fn change(&mut self, change: &AgendaChange<'_>) -> Result<()> {
        match change {
            AgendaChange::Put(r) => self.agenda(r.patient())?.put(r),
            AgendaChange::Remove { patient, id } => self.agenda(patient)?.remove(id),
        }
        Ok(())
    }

    /// The keys to write: every agenda the changes touched and changed (a draft saved again
    /// with the same title leaves its patient's agenda as it was, and unwritten).
    pub fn finish(self) -> super::index::IndexOps {
        let tree = self.tree;
        let mut ops: Vec<_> = self
            .open
            .into_values()
            .filter(|(a, stored)| stored.as_ref() != Some(a))
            .map(|(a, _)| {
                let key = agenda_key(tree, &a.patient);
                let value = encode_value(tree, &key, &a);
                (key, Some(value))
            })
            .collect();
        ops.sort();
        ops
    }
}

/// The keys that keep the agendas in step with `changes`, in order.
pub fn plan(tree: Vault<'_>, changes: &[AgendaChange<'_>]) -> Result<super::index::IndexOps> {
    if changes.is_empty() || !built(tree)? {
        // Not built yet (being built, or a store from before agendas): the next open builds
        // them from the records.
        return Ok(Vec::new());
    }
    let mut p = Planner::new(tree);
    for c in changes {
        p.change(c)?;
    }
    Ok(p.finish())
}

/// Removes every agenda, the version first, so a half-removed or half-built set is rebuilt
/// when the store opens.
pub fn clear(tree: Vault<'_>) -> Result<()> {
    tree.remove(keys::AGENDA_VERSION_KEY)?;
    let mut batch = sled::Batch::default();
    for k in tree.scan_prefix(keys::AGENDA_PREFIX).keys() {
        batch.remove(k?);
    }
    tree.apply_batch(batch)?;
    Ok(())
}

/// Agendas made from records read in key order (patients before their timelines), as `check`
/// and a rebuild read them.
#[derive(Default)]
pub struct Scan {
    agendas: HashMap<PatientId, Agenda>,
}

impl Scan {
    pub fn put(&mut self, r: &Record) {
        let patient = r.patient();
        match self.agendas.get_mut(patient) {
            Some(a) => a.put(r),
            None => {
                let mut a = Agenda::new(&crate::model::Patient::new(patient.clone(), ""));
                a.put(r);
                self.agendas.insert(patient.clone(), a);
            }
        }
    }

    pub fn finish(self) -> impl Iterator<Item = Agenda> {
        self.agendas.into_values()
    }
}

/// Every patient's agenda, made from the records in `tree`.
pub fn scan(tree: Vault<'_>) -> Result<Scan> {
    let mut s = Scan::default();
    for prefix in [keys::PATIENT_PREFIX, keys::TIMELINE_PREFIX] {
        for kv in tree.scan_prefix(prefix) {
            let (k, v) = kv?;
            let r = codec::decode(tree.crypt, &k, &v).map_err(|e| corrupt(&k, e.to_string()))?;
            s.put(&r);
        }
    }
    Ok(s)
}

/// Builds every agenda from the records, the version last. Returns how many patients have one.
pub fn rebuild(tree: Vault<'_>) -> Result<u64> {
    clear(tree)?;
    let mut n = 0;
    let mut batch = sled::Batch::default();
    for (i, a) in scan(tree)?.finish().enumerate() {
        let key = agenda_key(tree, &a.patient);
        batch.insert(key.clone(), encode_value(tree, &key, &a));
        n += 1;
        if i % 256 == 255 {
            tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    tree.apply_batch(batch)?;
    tree.insert(keys::AGENDA_VERSION_KEY, &AGENDA_VERSION.to_be_bytes())?;
    Ok(n)
}

/// The key of the agenda a patient's or timeline record's key belongs to, read from the key
/// alone (for a record that cannot be decoded).
pub fn agenda_key_of(tree: Vault<'_>, key: &[u8]) -> Option<Vec<u8>> {
    let name = if let Some(rest) = key.strip_prefix(keys::PATIENT_PREFIX) {
        rest
    } else {
        let rest = key.strip_prefix(keys::TIMELINE_PREFIX)?;
        let len = match tree.crypt.name_len() {
            None => rest.iter().position(|b| *b == 0)?,
            Some(n) => n,
        };
        rest.get(..len)?
    };
    Some([keys::AGENDA_PREFIX, name].concat())
}

/// Proves that every patient's agenda is `want` (what their records give), and that no agenda
/// is left for a patient the records do not have, leaving out the agendas in `unreadable` (of
/// patients with a record that cannot be read: that record is the problem, reported on its
/// own). One line per problem (at most 20, then how many more).
pub fn verify(
    tree: Vault<'_>,
    want: impl IntoIterator<Item = Agenda>,
    unreadable: &std::collections::HashSet<Vec<u8>>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if !built(tree)? {
        problems.push("agenda index: not built (`kitnotes check --reindex` builds it)".into());
        return Ok(problems);
    }
    let mut stored: HashMap<Vec<u8>, Option<Agenda>> = HashMap::new();
    for kv in tree.scan_prefix(keys::AGENDA_PREFIX) {
        let (k, v) = kv?;
        stored.insert(k.to_vec(), decode_value(tree, &k, &v).ok());
    }
    let mut want: Vec<Agenda> = want.into_iter().collect();
    want.sort_by(|a, b| a.patient.cmp(&b.patient));
    for key in unreadable {
        stored.remove(key);
    }
    for a in want {
        let key = agenda_key(tree, &a.patient);
        if unreadable.contains(&key) {
            continue;
        }
        match stored.remove(&key) {
            None => problems.push(format!("agenda index: patient {} has no agenda", a.patient)),
            Some(None) => problems.push(format!(
                "agenda index: patient {}'s agenda cannot be read",
                a.patient
            )),
            Some(Some(got)) if got != a => problems.push(format!(
                "agenda index: patient {}'s agenda does not match their records",
                a.patient
            )),
            Some(Some(_)) => {}
        }
    }
    let mut left: Vec<String> = stored
        .keys()
        .map(|k| super::sled_store::printable_key(k))
        .collect();
    left.sort();
    for k in left {
        problems.push(format!("agenda index: an agenda for no patient ({k})"));
    }
    if problems.len() > 20 {
        let more = problems.len() - 20;
        problems.truncate(20);
        problems.push(format!("agenda index: and {more} more problems"));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Note, NoteKind, Patient, Section};
    use crate::store::crypt::Crypt;

    fn apply(tree: &sled::Tree, ops: &super::super::index::IndexOps) {
        for (k, v) in ops {
            match v {
                Some(v) => tree.insert(k, v.as_slice()).unwrap(),
                None => tree.remove(k).unwrap(),
            };
        }
    }

    /// A draft saved again as it was (an autosave with nothing new in its title) leaves its
    /// patient's agenda unwritten; a new title writes it.
    #[test]
    fn an_unchanged_agenda_is_not_written_again() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let crypt = Crypt::Plain;
        let vault = Vault {
            tree: &db,
            crypt: &crypt,
        };
        db.insert(keys::AGENDA_VERSION_KEY, &AGENDA_VERSION.to_be_bytes())
            .unwrap();
        let p = PatientId::parse("p1").unwrap();
        let patient = Record::Patient(Patient::new(p.clone(), "Ada Example"));
        let at = "2026-11-02T10:00:00Z".parse().unwrap();
        let draft = |title: &str| {
            Record::Note(Note::draft(
                crate::model::RecordId::parse("n1").unwrap(),
                p.clone(),
                NoteKind::Preparation,
                at,
                title,
                vec![Section::new("Notes", "typed")],
            ))
        };
        let first = plan(
            vault,
            &[
                AgendaChange::Put(&patient),
                AgendaChange::Put(&draft("Prep")),
            ],
        )
        .unwrap();
        assert_eq!(first.len(), 1, "a new patient's agenda is written");
        apply(&db, &first);
        let again = plan(vault, &[AgendaChange::Put(&draft("Prep"))]).unwrap();
        assert!(
            again.is_empty(),
            "nothing changed, nothing written: {again:?}"
        );
        let renamed = plan(vault, &[AgendaChange::Put(&draft("Prep, second visit"))]).unwrap();
        assert_eq!(renamed.len(), 1);
        apply(&db, &renamed);
        let drafts = all_drafts(vault).unwrap();
        assert_eq!(drafts[0].drafts[0].title, "Prep, second visit");
    }
}
