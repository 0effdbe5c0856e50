//! Keymaps: key notation, loading and layering of the keymap files, and resolving key presses
//! to [`Action`]s in a [`KeyContext`].
//!
//! Three layers, each a TOML file with one section per context (see keymaps/README.md):
//! 1. keymaps/default.toml, compiled in;
//! 2. a preset, chosen with `keymap = "vim"` or `"emacs"` in config.toml, also compiled in;
//! 3. the user's `<config dir>/keymap.toml`.
//!
//! Each higher layer changes a context with `prepend_keymap` (its bindings go first and win),
//! `append_keymap` (they go last and lose), or `keymap` (it replaces the context). Within one
//! context the first binding for a key wins and later ones for the same key are shadowed:
//! dropped from the map and from help. `run = "noop"` binds a key to nothing, which hides the
//! lower layers' binding for it and any `global` one.
//!
//! Every mistake in a file is an error with file, line and column ([`KeymapError`]); a keymap
//! that loads has no key bound twice and no binding that is the start of another one in the same
//! context, so every binding it shows in help can be pressed.

mod error;
mod file;
mod notation;
mod resolve;

pub use error::{KeymapError, Location, Problem, ProblemKind, Source};
use file::Run;
pub use notation::{Key, KeyCode, KeySeq, MAX_FUNCTION_KEY, Modifiers, NotationError};
pub use resolve::{Lookup, NextKey, NextStep, Resolved};

use crate::action::{Action, KeyContext};
use file::Entry;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The file name of the user's keymap, in the config directory.
pub const USER_FILE: &str = "keymap.toml";

const DEFAULT_FILE: (&str, &str) = (
    "keymaps/default.toml",
    include_str!("../../keymaps/default.toml"),
);
const VIM_FILE: (&str, &str) = ("keymaps/vim.toml", include_str!("../../keymaps/vim.toml"));
const EMACS_FILE: (&str, &str) = (
    "keymaps/emacs.toml",
    include_str!("../../keymaps/emacs.toml"),
);

/// The built-in layer between the defaults and the user's file: `keymap = "..."` in
/// config.toml. It deserializes from the names `default`, `vim` and `emacs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// No preset: default.toml alone (arrow keys and single letters).
    #[default]
    Default,
    Vim,
    Emacs,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Default, Preset::Vim, Preset::Emacs];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Vim => "vim",
            Preset::Emacs => "emacs",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The compiled-in file (its repository path and text); `None` for `Default`, whose only
    /// layer is default.toml.
    pub fn file(self) -> Option<(&'static str, &'static str)> {
        match self {
            Preset::Default => None,
            Preset::Vim => Some(VIM_FILE),
            Preset::Emacs => Some(EMACS_FILE),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Self::from_name(name).ok_or_else(|| {
            format!("unknown keymap preset {name:?}; the presets are default, vim and emacs")
        })
    }
}

/// A key sequence bound to an action, after layering.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: KeySeq,
    pub action: Action,
    /// The file's `desc`, or else [`Action::description`].
    pub desc: String,
    /// Where it was bound, for error messages and a "where is this key from" view.
    pub origin: Location,
}

/// A key bound to `noop` after layering: it does nothing in its context.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbinding {
    pub keys: KeySeq,
    pub origin: Location,
}

/// One context's bindings, in priority order (earlier wins; no two share keys).
#[derive(Debug, Clone, Default)]
struct ContextMap {
    bindings: Vec<Binding>,
    noops: Vec<Unbinding>,
}

/// The merged keymap for every context. Build it once at start-up with [`Keymap::load`] (or
/// [`Keymap::from_config_dir`]) and ask it about each key press with [`Keymap::resolve`].
#[derive(Debug, Clone)]
pub struct Keymap {
    preset: Preset,
    sources: Vec<Source>,
    contexts: BTreeMap<KeyContext, ContextMap>,
}

impl Keymap {
    /// The built-in keymap for `preset`, without a user file.
    pub fn builtin(preset: Preset) -> Keymap {
        // The built-in files are compiled in and tests/keymaps.rs loads every preset, so this
        // cannot fail in a build that passed its tests.
        Self::load(preset, None).expect("the built-in keymaps load (tests/keymaps.rs)")
    }

    /// default.toml, then `preset`, then the user's file (its path, for messages, and text).
    /// Every problem in the user's file is reported, each with its line and column.
    pub fn load(preset: Preset, user_file: Option<(&Path, &str)>) -> Result<Keymap, KeymapError> {
        let mut layers: Vec<(Source, &str)> =
            vec![(Source::BuiltIn(DEFAULT_FILE.0), DEFAULT_FILE.1)];
        if let Some((name, text)) = preset.file() {
            layers.push((Source::BuiltIn(name), text));
        }
        if let Some((path, text)) = user_file {
            layers.push((Source::File(Arc::from(path)), text));
        }

        let mut problems = Vec::new();
        let mut parsed = Vec::new();
        for (source, text) in &layers {
            match file::parse(source, text) {
                Ok(layer) => parsed.push(layer),
                Err(found) => problems.extend(found),
            }
        }
        if !problems.is_empty() {
            return Err(KeymapError::Invalid(problems));
        }

        let mut contexts = BTreeMap::new();
        for context in KeyContext::ALL {
            let entries = merge(parsed.iter().filter_map(|layer| {
                layer
                    .sections
                    .iter()
                    .find(|(c, _)| *c == context)
                    .map(|(_, section)| section)
            }));
            let map = context_map(entries);
            problems.extend(prefix_conflicts(context, &map, &layers));
            contexts.insert(context, map);
        }
        if !problems.is_empty() {
            return Err(KeymapError::Invalid(problems));
        }
        let keymap = Keymap {
            preset,
            sources: layers.into_iter().map(|(source, _)| source).collect(),
            contexts,
        };
        keymap.way_out()?;
        Ok(keymap)
    }

    /// Refuses a keymap that leaves the patient list (where kitnotes starts) with no key to
    /// quit or to open help, or popups with no key to close them.
    fn way_out(&self) -> Result<(), KeymapError> {
        let mut missing = Vec::new();
        for (context, action, what) in [
            (
                KeyContext::Roster,
                Action::Quit,
                "quit from the patient list",
            ),
            (
                KeyContext::Roster,
                Action::Help,
                "open help from the patient list",
            ),
            (KeyContext::Popup, Action::PopupClose, "close a popup"),
        ] {
            if self.keys_for(context, action).is_empty() {
                missing.push(format!("{what} ({})", action.name()));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(KeymapError::NoWayOut(missing))
        }
    }

    /// Like [`Keymap::load`], reading `<config_dir>/keymap.toml` if it exists. A file over
    /// [`MAX_SETTINGS_FILE_BYTES`](crate::limits::MAX_SETTINGS_FILE_BYTES) is refused unread.
    pub fn from_config_dir(preset: Preset, config_dir: &Path) -> Result<Keymap, KeymapError> {
        let path = config_dir.join(USER_FILE);
        let limit = crate::limits::MAX_SETTINGS_FILE_BYTES;
        match crate::limits::read_to_string(&path, limit, "a keymap file") {
            Ok(text) => Self::load(preset, Some((&path, &text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::load(preset, None),
            Err(source) => Err(KeymapError::Read { path, source }),
        }
    }

    pub fn preset(&self) -> Preset {
        self.preset
    }

    /// The files this keymap was built from, lowest layer first.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// A context's own bindings, before `global` is added; see [`Keymap::bindings`] for help.
    pub fn own_bindings(&self, context: KeyContext) -> &[Binding] {
        self.contexts
            .get(&context)
            .map_or(&[], |map| map.bindings.as_slice())
    }

    /// A context's keys bound to `noop`.
    pub fn unbindings(&self, context: KeyContext) -> &[Unbinding] {
        self.contexts
            .get(&context)
            .map_or(&[], |map| map.noops.as_slice())
    }
}

/// Stacks one context's sections, lowest layer first: each either replaces what is below or
/// wraps it in its prepend and append lists. The first entry for a key wins.
fn merge<'a>(sections: impl Iterator<Item = &'a file::Section>) -> Vec<Entry> {
    let mut merged: Vec<Entry> = Vec::new();
    for section in sections {
        merged = match &section.replace {
            Some(entries) => entries.clone(),
            None => section
                .prepend
                .iter()
                .cloned()
                .chain(merged)
                .chain(section.append.iter().cloned())
                .collect(),
        };
        let mut seen = HashSet::new();
        merged.retain(|entry| seen.insert(entry.keys.clone()));
    }
    merged
}

fn context_map(entries: Vec<Entry>) -> ContextMap {
    let mut map = ContextMap::default();
    for entry in entries {
        match entry.run {
            Run::Action(action) => map.bindings.push(Binding {
                keys: entry.keys,
                action,
                desc: entry
                    .desc
                    .unwrap_or_else(|| action.description().to_owned()),
                origin: entry.at,
            }),
            Run::Noop => map.noops.push(Unbinding {
                keys: entry.keys,
                origin: entry.at,
            }),
        }
    }
    map
}

/// Bindings of which one starts the other (`g` and `gg`): the shorter could never run. Each is
/// reported at whichever of the two was bound later (a higher layer, or further down the file),
/// which is most likely the one just written.
fn prefix_conflicts(
    context: KeyContext,
    map: &ContextMap,
    layers: &[(Source, &str)],
) -> Vec<Problem> {
    let rank = |at: &Location| {
        let layer = layers.iter().position(|(s, _)| *s == at.source);
        (layer, at.line, at.column)
    };
    let mut problems = Vec::new();
    for shorter in &map.bindings {
        for longer in &map.bindings {
            if shorter.keys.len() < longer.keys.len() && longer.keys.starts_with(&shorter.keys) {
                let at = if rank(&shorter.origin) > rank(&longer.origin) {
                    &shorter.origin
                } else {
                    &longer.origin
                };
                problems.push(Problem {
                    at: at.clone(),
                    kind: ProblemKind::PrefixConflict {
                        context,
                        shorter: shorter.keys.clone(),
                        shorter_at: shorter.origin.clone(),
                        longer: longer.keys.clone(),
                        longer_at: longer.origin.clone(),
                    },
                });
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Result<Keymap, KeymapError> {
        Keymap::load(Preset::Default, Some((Path::new("keymap.toml"), text)))
    }

    fn keys(context: KeyContext, map: &Keymap) -> Vec<String> {
        map.own_bindings(context)
            .iter()
            .map(|b| format!("{}={}", b.keys, b.action))
            .collect()
    }

    #[test]
    fn every_preset_loads() {
        for preset in Preset::ALL {
            let map = Keymap::builtin(preset);
            assert_eq!(map.preset(), preset);
            assert_eq!(
                map.sources().len(),
                1 + usize::from(preset != Preset::Default)
            );
        }
    }

    #[test]
    fn presets_read_from_config_names() {
        for preset in Preset::ALL {
            assert_eq!(preset.name().parse::<Preset>(), Ok(preset));
        }
        assert!(
            "vi".parse::<Preset>()
                .is_err_and(|e| e.contains("default, vim and emacs"))
        );
    }

    #[test]
    fn layers_prepend_append_replace() {
        let map = user(
            "[popup]\n\
             keymap = [ { on = \"x\", run = \"popup.close\" } ]\n\
             [editor_normal]\n\
             prepend_keymap = [ { on = \"b\", run = \"move.up\" } ]\n\
             append_keymap = [ { on = \"a\", run = \"move.down\" }, { on = \"F\", run = \"move.down\" } ]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys(KeyContext::Popup, &map), ["x=popup.close"]);
        let normal = keys(KeyContext::EditorNormal, &map);
        // Prepended: first, and it replaces the default's b. Appended: last, and only where
        // the key was free (the default's a stays).
        assert_eq!(normal.first().map(String::as_str), Some("b=move.up"));
        assert_eq!(normal.last().map(String::as_str), Some("F=move.down"));
        assert!(normal.iter().any(|k| k == "a=editor.append"), "{normal:?}");
        assert!(
            !normal
                .iter()
                .any(|k| k == "b=cursor.word_prev" || k == "a=move.down")
        );
    }

    #[test]
    fn a_prefix_conflict_across_layers_is_reported_at_the_later_binding() {
        let e = Keymap::load(
            Preset::Vim,
            Some((
                Path::new("keymap.toml"),
                "[roster]\nprepend_keymap = [ { on = \"g\", run = \"focus.roster\" } ]\n",
            )),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("keymap.toml:2:27: in [roster], `g` (keymap.toml:2:27) is the start of `gg` (built-in keymaps/vim.toml:"), "{e}");
    }
}
