//! What can be wrong with keymap files, always with the file, line and column, so a typo in
//! keymap.toml is a message the user can act on rather than a key that silently does nothing.

use super::notation::{KeySeq, NotationError};
use crate::action::KeyContext;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a layer of the keymap came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Compiled into the binary, e.g. `keymaps/vim.toml`.
    BuiltIn(&'static str),
    /// The user's file, e.g. `~/.config/kitnotes/keymap.toml`.
    File(Arc<Path>),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn(name) => write!(f, "built-in {name}"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A place in a keymap file; prints as `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: Source,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text`.
    pub(crate) fn at(source: &Source, text: &str, offset: usize) -> Location {
        let (line, column) = crate::config::line_column(text, offset);
        Location {
            source: source.clone(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// One thing wrong in a keymap file, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct Problem {
    pub at: Location,
    pub kind: ProblemKind,
}

/// What is wrong. Messages name the section, key or action as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    /// Not TOML, an unknown field, a value of the wrong type or a missing `on`/`run`.
    #[error("{0}")]
    Toml(String),
    #[error(
        "unknown section [{name}]; the sections are global, roster, timeline, detail, \
         editor_normal, editor_insert, popup, console, today and course"
    )]
    UnknownContext { name: String },
    #[error("unknown action `{name}`{}; the palette (:) lists every action", did_you_mean(.suggestion))]
    UnknownAction {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("bad key: {0}")]
    BadKey(NotationError),
    #[error("`on` is an empty list; give at least one key")]
    EmptySequence,
    #[error(
        "`{keys}`: <Esc> cancels a key sequence that has begun, so it can only be the first key"
    )]
    EscAfterFirst { keys: KeySeq },
    #[error("`desc` is empty; leave it out to use the action's own description")]
    EmptyDesc,
    #[error("a `noop` binding is not shown in help, so its `desc` would never be seen")]
    NoopDesc,
    #[error(
        "[{context}] has both `keymap` (which replaces the whole section) and \
         `prepend_keymap`/`append_keymap`; use one or the other"
    )]
    ReplaceAndLayer { context: KeyContext },
    #[error("`{keys}` is bound twice in [{context}]: on line {first_line} and on line {line}")]
    Duplicate {
        context: KeyContext,
        keys: KeySeq,
        first_line: usize,
        line: usize,
    },
    #[error(
        "in [{context}], `{shorter}` ({shorter_at}) is the start of `{longer}` ({longer_at}): \
         after `{shorter}` kitnotes waits for the next key, so `{shorter}` alone could never \
         run; bind another key, or unbind `{longer}` with run = \"noop\""
    )]
    PrefixConflict {
        context: KeyContext,
        shorter: KeySeq,
        shorter_at: Location,
        longer: KeySeq,
        longer_at: Location,
    },
}

fn did_you_mean(suggestion: &Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

/// Why the keymap could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, one per line of the message, in file order.
    #[error("{}", lines(.0))]
    Invalid(Vec<Problem>),
    /// The keymaps together leave no key for something a user must always be able to do.
    #[error(
        "the keymap leaves no key to {}; kitnotes would have no way out. Bind one again in \
         keymap.toml (for example {{ on = \"q\", run = \"app.quit\" }} in [global]) or remove the \
         `keymap = []` that emptied it",
        .0.join(", nor to ")
    )]
    NoWayOut(Vec<String>),
}

impl KeymapError {
    /// The problems found; empty for a file that could not be read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            KeymapError::Invalid(problems) => problems,
            KeymapError::Read { .. } | KeymapError::NoWayOut(_) => &[],
        }
    }
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let source = Source::BuiltIn("keymaps/x.toml");
        let text = "ab\néé = 1\n";
        let at = Location::at(&source, text, text.find('=').unwrap_or(0));
        assert_eq!((at.line, at.column), (2, 4));
        assert_eq!(at.to_string(), "built-in keymaps/x.toml:2:4");
        assert_eq!(Location::at(&source, text, 0).line, 1);
        // An offset inside a character or past the end is clamped, never a panic.
        assert_eq!(Location::at(&source, text, 4).column, 1);
        assert_eq!(Location::at(&source, text, 99).line, 3);
    }
}
