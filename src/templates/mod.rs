//! Note templates: the ordered sections a new note starts with, the prompt shown while a section
//! is empty, and which sections must have text before the note can be signed.
//!
//! Templates are TOML files (docs/TEMPLATES.md). The built-in ones live in the top-level
//! `templates/` folder and are compiled in; a clinician adds or overrides them (same `id`) with
//! files in `<config dir>/templates/*.toml`. Loading never stops at a broken file: [`load`]
//! returns every template that loaded together with one located error per broken file.
//!
//! A template is used twice in a note's life: [`Template::new_note`] makes the draft, and
//! [`Templates::sign`] supplies the required sections to [`Note::sign`] when it is signed.

mod load;

pub use load::{BUILT_IN_FILES, Loaded, TemplateError, builtin, load, parse};

use crate::model::{Note, NoteError, NoteKind, PatientId, RecordId, Section};
use jiff::Timestamp;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The built-in templates, parsed once: for code that needs them often (the demo generator
/// makes thousands of notes). A built-in that failed to parse would be missing here; the tests
/// prove each one parses, and [`builtin`] reports it like any other file.
pub fn builtins() -> &'static Templates {
    static BUILT_IN: OnceLock<Templates> = OnceLock::new();
    BUILT_IN.get_or_init(|| builtin().templates)
}

/// A note template, checked: a non-blank id and name, at least one section, headings unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Stored in every note made from the template (`Note::template`).
    pub id: String,
    pub name: String,
    pub kind: NoteKind,
    pub sections: Vec<TemplateSection>,
}

/// One section of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSection {
    pub heading: String,
    /// Shown as placeholder text while the section is empty.
    pub prompt: String,
    /// The note cannot be signed while this section is empty or still holds only its starter.
    pub required: bool,
    /// Text the section starts with, such as a list of labels to fill in.
    pub starter: String,
}

impl Template {
    /// A new draft from this template: its sections in order, each holding its starter text,
    /// titled with the template's name (the clinician may retitle it).
    pub fn new_note(&self, id: RecordId, patient: PatientId, at: Timestamp) -> Note {
        let sections = self
            .sections
            .iter()
            .map(|s| Section::new(s.heading.clone(), s.starter.clone()))
            .collect();
        let mut note = Note::draft(id, patient, self.kind, at, self.name.clone(), sections);
        note.template = Some(self.id.clone());
        note
    }

    pub fn section(&self, heading: &str) -> Option<&TemplateSection> {
        self.sections.iter().find(|s| s.heading == heading)
    }

    /// The placeholder for a section of a note made from this template, if it has one.
    pub fn prompt(&self, heading: &str) -> Option<&str> {
        self.section(heading)
            .map(|s| s.prompt.as_str())
            .filter(|p| !p.is_empty())
    }

    pub fn required_headings(&self) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.required)
            .map(|s| s.heading.as_str())
            .collect()
    }

    /// Required sections of `note` that are missing, blank, or still hold only the starter text
    /// (a filled-in form of labels is not a filled-in section).
    pub fn unfilled_required(&self, note: &Note) -> Vec<String> {
        self.sections
            .iter()
            .filter(|t| t.required)
            .filter(|t| {
                !note.sections.iter().any(|s| {
                    s.heading == t.heading
                        && !s.body.trim().is_empty()
                        && s.body.trim() != t.starter.trim()
                })
            })
            .map(|t| t.heading.clone())
            .collect()
    }

    /// Whether nothing was written in `note`: every section blank or still its starter text.
    pub fn untouched(&self, note: &Note) -> bool {
        note.sections.iter().all(|s| {
            s.body.trim().is_empty()
                || self
                    .sections
                    .iter()
                    .any(|t| t.heading == s.heading && s.body.trim() == t.starter.trim())
        })
    }

    /// Signs `note`, refusing while a required section is unfilled (see
    /// [`Template::unfilled_required`]).
    pub fn sign(&self, note: &mut Note, by: &str, at: Timestamp) -> Result<(), NoteError> {
        if note.is_signed() {
            return Err(NoteError::AlreadySigned(note.id.clone()));
        }
        let unfilled = self.unfilled_required(note);
        if !unfilled.is_empty() {
            return Err(NoteError::RequiredSectionsEmpty(unfilled));
        }
        note.sign(by, at, &self.required_headings())
    }
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    BuiltIn,
    /// A file in `<config dir>/templates/`; `overrides_builtin` when its id is a built-in's.
    User {
        path: PathBuf,
        overrides_builtin: bool,
    },
}

impl std::fmt::Display for TemplateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateSource::BuiltIn => f.write_str("built-in"),
            TemplateSource::User {
                path,
                overrides_builtin: false,
            } => write!(f, "{}", path.display()),
            TemplateSource::User {
                path,
                overrides_builtin: true,
            } => write!(f, "{} (overrides built-in)", path.display()),
        }
    }
}

/// A template with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedTemplate {
    pub template: Template,
    pub source: TemplateSource,
}

/// The templates in use: built-ins in their fixed order (a user file with the same id takes
/// the built-in's place), then templates only the user has, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates {
    list: Vec<LoadedTemplate>,
}

impl Templates {
    pub(crate) fn from_list(list: Vec<LoadedTemplate>) -> Self {
        Self { list }
    }

    pub fn iter(&self) -> impl Iterator<Item = &LoadedTemplate> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.loaded(id).map(|l| &l.template)
    }

    pub fn loaded(&self, id: &str) -> Option<&LoadedTemplate> {
        self.list.iter().find(|l| l.template.id == id)
    }

    /// The templates for one kind of note, in list order: what a "new note" picker offers.
    pub fn for_kind(&self, kind: NoteKind) -> impl Iterator<Item = &Template> {
        self.list
            .iter()
            .map(|l| &l.template)
            .filter(move |t| t.kind == kind)
    }

    /// The template `note` was made from, if it names one that is loaded.
    pub fn for_note(&self, note: &Note) -> Option<&Template> {
        note.template.as_deref().and_then(|id| self.get(id))
    }

    /// Signs `note` with its template's required sections. A note made without a template, or
    /// from one that is no longer installed, has no required sections: a removed file must not
    /// make a finished note unsignable.
    pub fn sign(&self, note: &mut Note, by: &str, at: Timestamp) -> Result<(), NoteError> {
        match self.for_note(note) {
            Some(t) => t.sign(note, by, at),
            None => note.sign(by, at, &[]),
        }
    }
}
