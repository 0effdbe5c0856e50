//! What is searchable and how text becomes words.
//!
//! Words are the runs of letters and digits, folded to lower case without accents ("Café" and
//! "cafe" are the same word), the way the query is read too. Each record gives one or more
//! searchable parts: a note (title, headings, bodies and addenda), each observation of a dosing
//! session, a goal (its title) and each of its check-ins (their notes). Scores have no text.

use crate::model::{GoalStatus, NoteKind, NoteStatus, Record, RecordKind};
use jiff::Timestamp;

/// Longer words are cut to this many bytes, in the index and in queries alike.
pub const MAX_WORD_BYTES: usize = 48;

/// Folds one character the way every word is compared: lower case, accents off.
fn fold(c: char) -> char {
    nucleo_matcher::chars::normalize(nucleo_matcher::chars::to_lower_case(c))
}

/// A combining accent (as in a decomposed "e\u{301}"): part of the word, dropped by folding.
fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// One word of a text: its folded form and where it sits in the text (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    each_word(text, |w, start, end| {
        out.push(Word {
            text: w.to_owned(),
            start,
            end,
        })
    });
    out
}

/// Each word of `text` in order, folded, with where it sits (byte offsets), given to `each`
/// from one buffer: no allocation per word, for the index's writing and checking.
pub fn each_word(text: &str, mut each: impl FnMut(&str, usize, usize)) {
    let mut folded = String::with_capacity(MAX_WORD_BYTES);
    // The current word's start and end, while in one.
    let mut current: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        // ASCII, most of any text, without the Unicode tables: the same answers.
        let word_char = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphanumeric() || (is_combining(c) && current.is_some())
        };
        if word_char {
            let span = current.get_or_insert((i, i));
            if !is_combining(c) {
                let f = if c.is_ascii() {
                    c.to_ascii_lowercase()
                } else {
                    fold(c)
                };
                if folded.len() + f.len_utf8() <= MAX_WORD_BYTES {
                    folded.push(f);
                }
            }
            span.1 = i + c.len_utf8();
        } else if let Some((start, end)) = current.take() {
            each(&folded, start, end);
            folded.clear();
        }
    }
    if let Some((start, end)) = current {
        each(&folded, start, end);
    }
}

/// Folds a word as typed in a query.
pub fn fold_words(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.text).collect()
}

/// What kind of entry a searchable part is: the note kinds, then the parts of sessions and goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    Note(NoteKind),
    Observation,
    Goal,
    CheckIn,
}

impl DocKind {
    pub const ALL: [DocKind; 7] = [
        DocKind::Note(NoteKind::Preparation),
        DocKind::Note(NoteKind::Session),
        DocKind::Note(NoteKind::Integration),
        DocKind::Note(NoteKind::Psychotherapy),
        DocKind::Observation,
        DocKind::Goal,
        DocKind::CheckIn,
    ];

    /// The word used on the command line and in `kind:` filters.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Note(k) => k.as_str(),
            DocKind::Observation => "observation",
            DocKind::Goal => "goal",
            DocKind::CheckIn => "check-in",
        }
    }

    /// The kinds a word names: a kind, or `note` for every note kind.
    pub fn parse_many(s: &str) -> Option<Vec<DocKind>> {
        let s = s.trim().to_ascii_lowercase();
        if s == "note" || s == "notes" {
            return Some(NoteKind::ALL.into_iter().map(DocKind::Note).collect());
        }
        let s = s.trim_end_matches('s');
        let s = if s == "checkin" { "check-in" } else { s };
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .map(|k| vec![k])
    }

    /// Kinds whose text is private (psychotherapy notes).
    pub fn is_private(self) -> bool {
        matches!(self, DocKind::Note(k) if k.is_private())
    }

    /// The byte the index keeps. Never renumber.
    pub fn byte(self) -> u8 {
        match self {
            DocKind::Note(NoteKind::Preparation) => 1,
            DocKind::Note(NoteKind::Session) => 2,
            DocKind::Note(NoteKind::Integration) => 3,
            DocKind::Note(NoteKind::Psychotherapy) => 4,
            DocKind::Observation => 5,
            DocKind::Goal => 6,
            DocKind::CheckIn => 7,
        }
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.byte() == b)
    }
}

/// The status a part is filtered by: a note's (or its session's) draft or signed, a goal's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocStatus {
    Draft,
    Signed,
    Goal(GoalStatus),
}

impl DocStatus {
    pub const ALL: [DocStatus; 6] = [
        DocStatus::Draft,
        DocStatus::Signed,
        DocStatus::Goal(GoalStatus::Active),
        DocStatus::Goal(GoalStatus::Achieved),
        DocStatus::Goal(GoalStatus::Paused),
        DocStatus::Goal(GoalStatus::Dropped),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Draft => "draft",
            DocStatus::Signed => "signed",
            DocStatus::Goal(g) => g.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The byte the index keeps. Never renumber.
    pub fn byte(self) -> u8 {
        match self {
            DocStatus::Draft => 1,
            DocStatus::Signed => 2,
            DocStatus::Goal(GoalStatus::Active) => 3,
            DocStatus::Goal(GoalStatus::Achieved) => 4,
            DocStatus::Goal(GoalStatus::Paused) => 5,
            DocStatus::Goal(GoalStatus::Dropped) => 6,
        }
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.byte() == b)
    }
}

/// One searchable part of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    pub kind: DocKind,
    pub status: DocStatus,
    pub at: Timestamp,
    /// What a result is called: the note's title, "Observation" with the session, the goal.
    pub title: String,
    /// The texts searched, in order; a phrase never runs from one into the next.
    pub fields: Vec<&'a str>,
}

impl Part<'_> {
    /// Whether two versions of a part hold the same words.
    pub fn same_text(&self, other: &Part<'_>) -> bool {
        self.fields == other.fields
    }
}

/// Whether records of `kind` have searchable parts (notes, dosing sessions, goals; the kinds
/// [`parts`] returns parts for): the store
/// reads their old version on a change, to take its words out of the index.
pub fn has_text(kind: RecordKind) -> bool {
    matches!(
        kind,
        RecordKind::Note | RecordKind::Session | RecordKind::Goal
    )
}

/// The searchable parts of a record, by part number. A part number stays with its observation
/// or check-in as more are added, so an edit re-indexes only what changed. `None`: the part has
/// no text (a check-in with an empty note).
pub fn parts(record: &Record) -> Vec<Option<Part<'_>>> {
    fn non_empty(p: Part<'_>) -> Option<Part<'_>> {
        p.fields
            .iter()
            .any(|f| f.chars().any(char::is_alphanumeric))
            .then_some(p)
    }
    match record {
        // A follow-up's plan and a course's reason are short and not searched (yet).
        Record::Patient(_)
        | Record::Measure(_)
        | Record::SafetyFollowUp(_)
        | Record::Course(_)
        | Record::ListEntry(_) => Vec::new(),
        Record::Note(n) => {
            let mut fields = vec![n.title.as_str()];
            for s in &n.sections {
                fields.push(&s.heading);
                fields.push(&s.body);
            }
            fields.extend(n.addenda.iter().map(|a| a.text.as_str()));
            let status = match n.status {
                NoteStatus::Draft => DocStatus::Draft,
                NoteStatus::Signed => DocStatus::Signed,
            };
            vec![non_empty(Part {
                kind: DocKind::Note(n.kind),
                status,
                at: n.at,
                title: n.title.clone(),
                fields,
            })]
        }
        Record::Session(s) => {
            let status = if s.is_signed() {
                DocStatus::Signed
            } else {
                DocStatus::Draft
            };
            let title = match s.number {
                Some(n) => format!("Dosing session {n}"),
                None => "Dosing session".to_owned(),
            };
            s.observations
                .iter()
                .map(|o| {
                    non_empty(Part {
                        kind: DocKind::Observation,
                        status,
                        at: o.at,
                        title: title.clone(),
                        fields: vec![o.text.as_str()],
                    })
                })
                .collect()
        }
        Record::Goal(g) => {
            let status = DocStatus::Goal(g.status);
            let mut out = vec![non_empty(Part {
                kind: DocKind::Goal,
                status,
                at: g.at,
                title: g.title.clone(),
                fields: vec![g.title.as_str()],
            })];
            out.extend(g.check_ins.iter().map(|c| {
                non_empty(Part {
                    kind: DocKind::CheckIn,
                    status,
                    at: c.at,
                    title: g.title.clone(),
                    fields: vec![c.note.as_str()],
                })
            }));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_and_accents_and_keep_offsets() {
        let w = words("Café, naïve RÉSUMÉ-2 e\u{301}te");
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["cafe", "naive", "resume", "2", "ete"]);
        assert_eq!(
            &"Café, naïve RÉSUMÉ-2 e\u{301}te"[w[0].start..w[0].end],
            "Café"
        );
        assert_eq!(w[4].end, "Café, naïve RÉSUMÉ-2 e\u{301}te".len());
    }

    #[test]
    fn very_long_words_are_cut_not_dropped() {
        let long = "a".repeat(200);
        let w = words(&long);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].text.len(), MAX_WORD_BYTES);
    }

    #[test]
    fn kinds_parse_with_plurals_and_note_for_all_notes() {
        assert_eq!(
            DocKind::parse_many("check-ins"),
            Some(vec![DocKind::CheckIn])
        );
        assert_eq!(DocKind::parse_many("notes").map(|v| v.len()), Some(4));
        assert_eq!(DocKind::parse_many("vitals"), None);
        for k in DocKind::ALL {
            assert_eq!(DocKind::from_byte(k.byte()), Some(k));
        }
    }
}
