//! Notes: preparation, session, integration and psychotherapy notes, their sections, signing and
//! addenda.
//!
//! A signed note never changes again; corrections are addenda, each time-stamped and signed
//! (domain.md, "Sign and lock"). The rules live here so the UI, import and the store all get the
//! same answer.

use super::ValidationError;
use super::ids::{PatientId, RecordId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a note is for. `Psychotherapy` is the therapist's private process note: kept apart and
/// left out of exports unless the patient authorised it (HIPAA psychotherapy notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    Preparation,
    Session,
    Integration,
    Psychotherapy,
}

impl NoteKind {
    pub const ALL: [NoteKind; 4] = [
        NoteKind::Preparation,
        NoteKind::Session,
        NoteKind::Integration,
        NoteKind::Psychotherapy,
    ];

    /// The word used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Preparation => "preparation",
            NoteKind::Session => "session",
            NoteKind::Integration => "integration",
            NoteKind::Psychotherapy => "psychotherapy",
        }
    }

    /// How a clinician names it in a heading.
    pub fn label(self) -> &'static str {
        match self {
            NoteKind::Preparation => "Preparation note",
            NoteKind::Session => "Session note",
            NoteKind::Integration => "Integration note",
            NoteKind::Psychotherapy => "Psychotherapy note (private)",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Psychotherapy notes are private process notes under HIPAA.
    pub fn is_private(self) -> bool {
        self == NoteKind::Psychotherapy
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note is a draft until it is signed; then it is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteStatus {
    Draft,
    Signed,
}

impl NoteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Draft => "draft",
            NoteStatus::Signed => "signed",
        }
    }
}

/// One headed part of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub heading: String,
    #[serde(default)]
    pub body: String,
}

impl Section {
    pub fn new(heading: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            heading: heading.into(),
            body: body.into(),
        }
    }
}

/// A correction or later remark on a signed note: time-stamped and signed by its author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addendum {
    pub at: Timestamp,
    pub by: String,
    pub text: String,
}

/// A clinical note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub id: RecordId,
    pub patient: PatientId,
    pub kind: NoteKind,
    /// When the encounter the note describes took place.
    pub at: Timestamp,
    pub title: String,
    /// The template the note was started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The dosing session this note belongs to, for session and integration notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<RecordId>,
    pub sections: Vec<Section>,
    pub status: NoteStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addenda: Vec<Addendum>,
}

/// Why a change to a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note {0} is signed and cannot be changed; add an addendum instead")]
    Signed(RecordId),
    #[error("note {0} is already signed")]
    AlreadySigned(RecordId),
    #[error("note {0} is a draft: edit it instead of adding an addendum")]
    AddendumOnDraft(RecordId),
    #[error("cannot sign: required section{} empty: {}", if .0.len() == 1 { " is" } else { "s are" }, .0.join(", "))]
    RequiredSectionsEmpty(Vec<String>),
    #[error("a signature needs the clinician's name (set `clinician` in config.toml)")]
    NoSigner,
    #[error("an addendum cannot be empty")]
    EmptyAddendum,
    #[error("an addendum cannot be dated before the note was signed ({0})")]
    AddendumBeforeSignature(Timestamp),
    #[error("note {note} has no section {index}")]
    NoSuchSection { note: RecordId, index: usize },
}

impl Note {
    /// A new draft with the given sections.
    pub fn draft(
        id: RecordId,
        patient: PatientId,
        kind: NoteKind,
        at: Timestamp,
        title: impl Into<String>,
        sections: Vec<Section>,
    ) -> Self {
        Self {
            id,
            patient,
            kind,
            at,
            title: title.into(),
            template: None,
            session: None,
            sections,
            status: NoteStatus::Draft,
            signed_by: None,
            signed_at: None,
            addenda: Vec::new(),
        }
    }

    pub fn is_signed(&self) -> bool {
        self.status == NoteStatus::Signed
    }

    /// Replaces one section's text. Refused once the note is signed.
    pub fn set_section_body(
        &mut self,
        index: usize,
        body: impl Into<String>,
    ) -> Result<(), NoteError> {
        if self.is_signed() {
            return Err(NoteError::Signed(self.id.clone()));
        }
        let id = self.id.clone();
        let section = self
            .sections
            .get_mut(index)
            .ok_or(NoteError::NoSuchSection { note: id, index })?;
        section.body = body.into();
        Ok(())
    }

    /// Signs the note: checks that every section named in `required` has text, then records who
    /// signed and when. After this the note is final.
    pub fn sign(&mut self, by: &str, at: Timestamp, required: &[&str]) -> Result<(), NoteError> {
        if self.is_signed() {
            return Err(NoteError::AlreadySigned(self.id.clone()));
        }
        if by.trim().is_empty() {
            return Err(NoteError::NoSigner);
        }
        let empty: Vec<String> = required
            .iter()
            .filter(|heading| {
                !self
                    .sections
                    .iter()
                    .any(|s| s.heading == **heading && !s.body.trim().is_empty())
            })
            .map(|h| h.to_string())
            .collect();
        if !empty.is_empty() {
            return Err(NoteError::RequiredSectionsEmpty(empty));
        }
        self.status = NoteStatus::Signed;
        self.signed_by = Some(by.trim().to_owned());
        self.signed_at = Some(at);
        Ok(())
    }

    /// Adds a signed, time-stamped addendum to a signed note.
    pub fn add_addendum(&mut self, text: &str, by: &str, at: Timestamp) -> Result<(), NoteError> {
        if !self.is_signed() {
            return Err(NoteError::AddendumOnDraft(self.id.clone()));
        }
        if by.trim().is_empty() {
            return Err(NoteError::NoSigner);
        }
        if text.trim().is_empty() {
            return Err(NoteError::EmptyAddendum);
        }
        if let Some(signed_at) = self.signed_at
            && at < signed_at
        {
            return Err(NoteError::AddendumBeforeSignature(signed_at));
        }
        self.addenda.push(Addendum {
            at,
            by: by.trim().to_owned(),
            text: text.to_owned(),
        });
        Ok(())
    }

    /// Whether `newer` is an allowed successor of this stored version: anything goes for a draft;
    /// a signed note may only gain addenda, everything else identical and every addendum it has
    /// kept. New addenda come at the end, except where two clinicians' addenda to the same note
    /// meet through the practice's server: then they are in the order of
    /// [`Note::merge_addenda`], which may put another's earlier addendum before this one's.
    pub fn may_become(&self, newer: &Note) -> Result<(), NoteError> {
        if !self.is_signed() {
            return Ok(());
        }
        if self.same_but_addenda(newer) && newer.new_addenda_since(self).is_some() {
            return Ok(());
        }
        Err(NoteError::Signed(self.id.clone()))
    }

    /// Whether `other` is this note but for its addenda.
    pub fn same_but_addenda(&self, other: &Note) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.addenda.clear();
        b.addenda.clear();
        a == b
    }

    /// The positions of this note's addenda that `older` does not have, when this note has
    /// every addendum of `older` (each as often); `None` when one is missing or changed.
    pub fn new_addenda_since(&self, older: &Note) -> Option<Vec<usize>> {
        let mut unmatched: Vec<&Addendum> = older.addenda.iter().collect();
        let mut new = Vec::new();
        for (i, a) in self.addenda.iter().enumerate() {
            match unmatched.iter().position(|o| *o == a) {
                Some(at) => {
                    unmatched.swap_remove(at);
                }
                None => new.push(i),
            }
        }
        unmatched.is_empty().then_some(new)
    }

    /// This signed note with the addenda of `other` (the same note, addenda added elsewhere)
    /// that it lacks: every addendum of both, each once, in order of time, then signer, then
    /// text, so that every laptop that merges the same two ends with the same note. `None` when
    /// the two differ in anything but their addenda.
    pub fn merge_addenda(&self, other: &Note) -> Option<Note> {
        if !self.is_signed() || !self.same_but_addenda(other) {
            return None;
        }
        let mut merged = self.clone();
        // Each addendum once: as many of each as the one of the two that has more.
        let mut have: Vec<&Addendum> = self.addenda.iter().collect();
        for a in &other.addenda {
            match have.iter().position(|h| *h == a) {
                Some(i) => {
                    have.swap_remove(i);
                }
                None => merged.addenda.push(a.clone()),
            }
        }
        merged
            .addenda
            .sort_by(|a, b| (a.at, &a.by, &a.text).cmp(&(b.at, &b.by, &b.text)));
        Some(merged)
    }

    /// Checks fields a file can get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.title.trim().is_empty() {
            return Err(ValidationError::new("title", "a note needs a title"));
        }
        for (i, s) in self.sections.iter().enumerate() {
            if s.heading.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("sections[{i}].heading"),
                    "a section needs a heading",
                ));
            }
        }
        match (self.status, &self.signed_by, &self.signed_at) {
            (NoteStatus::Draft, None, None) => {}
            (NoteStatus::Draft, _, _) => {
                return Err(ValidationError::new(
                    "status",
                    "a draft cannot carry signed_by or signed_at",
                ));
            }
            (NoteStatus::Signed, Some(by), Some(_)) if !by.trim().is_empty() => {}
            (NoteStatus::Signed, _, _) => {
                return Err(ValidationError::new(
                    "signed_by",
                    "a signed note needs both signed_by and signed_at",
                ));
            }
        }
        if self.status == NoteStatus::Draft && !self.addenda.is_empty() {
            return Err(ValidationError::new(
                "addenda",
                "only a signed note can have addenda",
            ));
        }
        for (i, a) in self.addenda.iter().enumerate() {
            if a.by.trim().is_empty() || a.text.trim().is_empty() {
                return Err(ValidationError::new(
                    format!("addenda[{i}]"),
                    "an addendum needs text and the name of who signed it",
                ));
            }
            if let Some(signed_at) = self.signed_at
                && a.at < signed_at
            {
                return Err(ValidationError::new(
                    format!("addenda[{i}].at"),
                    "an addendum cannot be dated before the note was signed",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn prep() -> Note {
        Note::draft(
            RecordId::parse("n1").unwrap(),
            PatientId::parse("p1").unwrap(),
            NoteKind::Preparation,
            ts("2026-03-02T10:00:00Z"),
            "Preparation 1",
            vec![
                Section::new("Intentions", "Reconnect with my brother"),
                Section::new("Consent", ""),
            ],
        )
    }

    #[test]
    fn drafts_change_freely_and_signed_notes_never() {
        let mut n = prep();
        n.set_section_body(1, "Informed consent discussed and signed")
            .unwrap();
        n.sign("Dr. Rivera", ts("2026-03-02T11:00:00Z"), &["Consent"])
            .unwrap();
        assert!(n.is_signed());
        assert_eq!(n.signed_by.as_deref(), Some("Dr. Rivera"));
        assert_eq!(
            n.set_section_body(0, "changed"),
            Err(NoteError::Signed(n.id.clone()))
        );
        assert_eq!(n.sections[0].body, "Reconnect with my brother");
        assert!(matches!(
            n.sign("Dr. Rivera", ts("2026-03-02T12:00:00Z"), &[]),
            Err(NoteError::AlreadySigned(_))
        ));
    }

    #[test]
    fn required_sections_block_signing_and_are_named() {
        let mut n = prep();
        let err = n
            .sign(
                "Dr. Rivera",
                ts("2026-03-02T11:00:00Z"),
                &["Consent", "Intentions"],
            )
            .unwrap_err();
        assert_eq!(
            err,
            NoteError::RequiredSectionsEmpty(vec!["Consent".into()])
        );
        assert_eq!(
            err.to_string(),
            "cannot sign: required section is empty: Consent"
        );
        assert!(!n.is_signed());
    }

    #[test]
    fn signing_needs_a_name() {
        let mut n = prep();
        assert_eq!(
            n.sign("  ", ts("2026-03-02T11:00:00Z"), &[]),
            Err(NoteError::NoSigner)
        );
    }

    #[test]
    fn addenda_only_on_signed_notes_in_order_and_not_backdated() {
        let mut n = prep();
        assert!(matches!(
            n.add_addendum("x", "Dr. Rivera", ts("2026-03-03T09:00:00Z")),
            Err(NoteError::AddendumOnDraft(_))
        ));
        n.sign("Dr. Rivera", ts("2026-03-02T11:00:00Z"), &[])
            .unwrap();
        assert!(matches!(
            n.add_addendum("x", "Dr. Rivera", ts("2026-03-02T10:30:00Z")),
            Err(NoteError::AddendumBeforeSignature(_))
        ));
        n.add_addendum(
            "Dose was 56 mg, not 84 mg.",
            "Dr. Rivera",
            ts("2026-03-03T09:00:00Z"),
        )
        .unwrap();
        n.add_addendum(
            "Patient called, doing well.",
            "Dr. Chen",
            ts("2026-03-04T09:00:00Z"),
        )
        .unwrap();
        assert_eq!(n.addenda.len(), 2);
        assert_eq!(n.addenda[1].by, "Dr. Chen");
    }

    #[test]
    fn a_signed_note_may_only_gain_addenda() {
        let mut stored = prep();
        stored
            .sign("Dr. Rivera", ts("2026-03-02T11:00:00Z"), &[])
            .unwrap();
        let mut with_addendum = stored.clone();
        with_addendum
            .add_addendum("Correction", "Dr. Rivera", ts("2026-03-05T09:00:00Z"))
            .unwrap();
        assert!(stored.may_become(&with_addendum).is_ok());
        let mut edited = with_addendum.clone();
        edited.sections[0].body.push('!');
        assert!(stored.may_become(&edited).is_err());
        assert!(
            with_addendum.may_become(&stored).is_err(),
            "addenda cannot be removed"
        );
        let mut draft = prep();
        draft.title = "anything".into();
        assert!(prep().may_become(&draft).is_ok());
    }

    #[test]
    fn addenda_added_in_two_places_merge_the_same_way_on_both() {
        let mut signed = prep();
        signed
            .sign("Dr. Rivera", ts("2026-03-02T11:00:00Z"), &[])
            .unwrap();
        let mut here = signed.clone();
        here.add_addendum(
            "Dose was 0.5 mg/kg",
            "Dr. Rivera",
            ts("2026-03-05T09:00:00Z"),
        )
        .unwrap();
        let mut there = signed.clone();
        there
            .add_addendum("Called the patient", "Dr. Chen", ts("2026-03-04T09:00:00Z"))
            .unwrap();
        let a = here.merge_addenda(&there).unwrap();
        let b = there.merge_addenda(&here).unwrap();
        assert_eq!(a, b);
        let texts: Vec<&str> = a.addenda.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(texts, ["Called the patient", "Dose was 0.5 mg/kg"]);
        // Each laptop's store takes the merge: nothing it had is lost.
        assert!(here.may_become(&a).is_ok());
        assert!(there.may_become(&b).is_ok());
        // Merging again changes nothing; a note changed otherwise does not merge.
        assert_eq!(a.merge_addenda(&here).unwrap(), a);
        let mut edited = there.clone();
        edited.title.push('!');
        assert!(here.merge_addenda(&edited).is_none());
        // An addendum changed in place is refused, whatever its position.
        let mut forged = a.clone();
        forged.addenda[0].text = "Never called".into();
        assert!(a.may_become(&forged).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut n = prep();
        n.status = NoteStatus::Signed;
        assert_eq!(n.validate().unwrap_err().field, "signed_by");
        let mut n = prep();
        n.sections[1].heading = " ".into();
        assert_eq!(n.validate().unwrap_err().field, "sections[1].heading");
    }

    #[test]
    fn note_kinds_parse_and_print_back() {
        for k in NoteKind::ALL {
            assert_eq!(NoteKind::parse(k.as_str()), Some(k));
        }
        assert!(NoteKind::Psychotherapy.is_private());
        assert!(!NoteKind::Session.is_private());
    }
}
