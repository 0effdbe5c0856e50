//! Export to JSON Lines: a canonical, deterministic file. The order and bytes depend only on the
//! stored records, so exporting, importing into an empty store and exporting again gives the
//! same file, and two exports of the same data can be compared with `diff`.

use super::wire;
use super::{ExportSummary, HEADER_LINE};
use crate::model::RecordRef;
use crate::model::{IntegrationGoal, NoteKind, PatientRecords, RecordId, RecordKind};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Write};

/// Writes an interchange file one patient at a time, so an export never needs the whole store in
/// memory. The header is written on creation.
pub struct JsonlWriter<W: Write> {
    out: W,
    include_psychotherapy_notes: bool,
    line: Vec<u8>,
    summary: ExportSummary,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(mut out: W, include_psychotherapy_notes: bool) -> io::Result<Self> {
        out.write_all(HEADER_LINE.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(Self {
            out,
            include_psychotherapy_notes,
            line: Vec::with_capacity(4096),
            summary: ExportSummary::default(),
        })
    }

    /// Writes one patient line, then their records oldest first; records at the same moment go
    /// by kind (note, session, measure, goal) and then by id, so the order is total.
    pub fn write_patient(&mut self, r: &PatientRecords) -> io::Result<()> {
        self.write_line(RecordRef::Patient(&r.patient))?;
        self.summary.patients += 1;

        let withheld: HashSet<&RecordId> = if self.include_psychotherapy_notes {
            HashSet::new()
        } else {
            r.notes
                .iter()
                .filter(|n| n.kind == NoteKind::Psychotherapy)
                .map(|n| &n.id)
                .collect()
        };
        self.summary.psychotherapy_notes_withheld += withheld.len();

        for record in r.chronological(self.include_psychotherapy_notes) {
            match record {
                RecordRef::Goal(g) => {
                    self.summary.goals += 1;
                    let (goal, cut) = without_links_to(g, &withheld);
                    self.summary.links_withheld += cut;
                    self.write_line(RecordRef::Goal(&goal))?;
                }
                other => {
                    match other.kind() {
                        RecordKind::Note => self.summary.notes += 1,
                        RecordKind::Session => self.summary.sessions += 1,
                        RecordKind::Measure => self.summary.measures += 1,
                        RecordKind::SafetyFollowUp => self.summary.safety_follow_ups += 1,
                        RecordKind::Course => self.summary.courses += 1,
                        RecordKind::ListEntry => self.summary.list_entries += 1,
                        RecordKind::Patient | RecordKind::Goal => {}
                    }
                    self.write_line(other)?;
                }
            }
        }
        Ok(())
    }

    fn write_line(&mut self, record: RecordRef<'_>) -> io::Result<()> {
        self.line.clear();
        wire::write_record(&mut self.line, record).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    /// Flushes the output and hands it back with what was written.
    pub fn finish(mut self) -> io::Result<(W, ExportSummary)> {
        self.out.flush()?;
        Ok((self.out, self.summary))
    }
}

/// A goal that pointed at a withheld psychotherapy note loses that link in the export: keeping
/// it would make the file refuse to import (the note is not in it), and the link is all that
/// would be left of a note the patient did not authorise sharing.
fn without_links_to<'a>(
    goal: &'a IntegrationGoal,
    withheld: &HashSet<&RecordId>,
) -> (Cow<'a, IntegrationGoal>, usize) {
    if !goal.note_links().any(|n| withheld.contains(n)) {
        return (Cow::Borrowed(goal), 0);
    }
    let mut goal = goal.clone();
    let cut = goal.cut_note_links(|n| withheld.contains(n));
    (Cow::Owned(goal), cut)
}

/// Writes a whole interchange file for these patients, ordered by patient id whatever order they
/// come in.
pub fn write_jsonl<'a, W: Write>(
    out: W,
    patients: impl IntoIterator<Item = &'a PatientRecords>,
    include_psychotherapy_notes: bool,
) -> io::Result<ExportSummary> {
    let mut patients: Vec<&PatientRecords> = patients.into_iter().collect();
    patients.sort_by(|a, b| a.patient.id.cmp(&b.patient.id));
    let mut w = JsonlWriter::new(out, include_psychotherapy_notes)?;
    for p in patients {
        w.write_patient(p)?;
    }
    Ok(w.finish()?.1)
}
