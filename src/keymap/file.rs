//! One keymap file (keymaps/default.toml, a preset, or the user's keymap.toml) read strictly into
//! located bindings. Layering them is `super::Keymap::load`'s job.
//!
//! The shape, one table per [`KeyContext`]:
//! ```toml
//! [roster]
//! keymap = [ { on = "<Down>", run = "move.down", desc = "Next patient" } ]  # replaces the section
//! prepend_keymap = [ { on = ["g", "g"], run = "move.top" } ]  # before the layer below: wins
//! append_keymap = [ { on = "x", run = "noop" } ]              # after the layer below: loses
//! ```
//! A section has either `keymap` or the prepend/append lists, not both. Structural mistakes (not
//! TOML, an unknown field, a wrong type) stop at the first one, because the TOML deserializer
//! does; every other problem in the file (unknown actions, bad keys, duplicates) is reported.

use super::error::{Location, Problem, ProblemKind, Source};
use super::notation::{Key, KeySeq};
use crate::action::{Action, KeyContext};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// The `run` word that unbinds a key.
pub(crate) const NOOP: &str = "noop";

/// What a binding does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    Action(Action),
    /// Does nothing, and hides the same keys in lower layers and in `global`.
    Noop,
}

/// One binding as a file writes it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub keys: KeySeq,
    pub run: Run,
    pub desc: Option<String>,
    /// Where its `on` is.
    pub at: Location,
}

/// One context's table in one file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    /// `keymap = [...]`: the whole section, replacing what lower layers bound.
    pub replace: Option<Vec<Entry>>,
    pub prepend: Vec<Entry>,
    pub append: Vec<Entry>,
}

/// A keymap file's sections.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerFile {
    pub sections: Vec<(KeyContext, Section)>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a section with keymap, prepend_keymap or append_keymap lists"
)]
struct RawSection {
    #[serde(default)]
    keymap: Option<Spanned<Vec<RawBinding>>>,
    #[serde(default)]
    prepend_keymap: Option<Vec<RawBinding>>,
    #[serde(default)]
    append_keymap: Option<Vec<RawBinding>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a binding like { on = \"j\", run = \"move.down\" }"
)]
struct RawBinding {
    on: Spanned<RawKeys>,
    run: Spanned<String>,
    #[serde(default)]
    desc: Option<Spanned<String>>,
}

/// `on = "j"` or `on = ["g", "g"]`. Deserialized by hand: serde's untagged enums buffer the
/// value and would lose the spans of the list's items.
enum RawKeys {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawKeys {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = RawKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key like \"j\" or a list of keys like [\"g\", \"g\"]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKeys, E> {
                Ok(RawKeys::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<Spanned<String>>()? {
                    keys.push(key);
                }
                Ok(RawKeys::Many(keys))
            }
        }
        deserializer.deserialize_any(KeysVisitor)
    }
}

/// Reads one keymap file. On failure returns every problem found, in file order.
pub(crate) fn parse(source: &Source, text: &str) -> Result<LayerFile, Vec<Problem>> {
    let mut file = FileReader {
        source,
        text,
        problems: Vec::new(),
    };
    // Section names first, so `[rooster]` is reported as an unknown section rather than as
    // whatever is wrong inside it.
    let names: BTreeMap<Spanned<String>, IgnoredAny> =
        toml::from_str(text).map_err(|e| vec![file.toml_problem(&e)])?;
    for name in names.keys() {
        if KeyContext::from_name(name.get_ref()).is_none() {
            file.problem(
                name.span(),
                ProblemKind::UnknownContext {
                    name: name.get_ref().clone(),
                },
            );
        }
    }
    if !file.problems.is_empty() {
        return Err(file.into_problems());
    }
    let raw: BTreeMap<Spanned<String>, RawSection> =
        toml::from_str(text).map_err(|e| vec![file.toml_problem(&e)])?;

    let mut layer = LayerFile::default();
    for (name, raw_section) in raw {
        let Some(context) = KeyContext::from_name(name.get_ref()) else {
            continue; // reported above
        };
        layer
            .sections
            .push((context, file.section(context, raw_section)));
    }
    if file.problems.is_empty() {
        Ok(layer)
    } else {
        Err(file.into_problems())
    }
}

struct FileReader<'a> {
    source: &'a Source,
    text: &'a str,
    problems: Vec<Problem>,
}

impl FileReader<'_> {
    /// The problems found, in file order (sections are read in name order).
    fn into_problems(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|p| (p.at.line, p.at.column));
        self.problems
    }

    fn locate(&self, span: Range<usize>) -> Location {
        Location::at(self.source, self.text, span.start)
    }

    fn problem(&mut self, span: Range<usize>, kind: ProblemKind) {
        let at = self.locate(span);
        self.problems.push(Problem { at, kind });
    }

    fn toml_problem(&self, error: &toml::de::Error) -> Problem {
        Problem {
            at: self.locate(error.span().unwrap_or(0..0)),
            kind: ProblemKind::Toml(error.message().trim_end().to_owned()),
        }
    }

    fn section(&mut self, context: KeyContext, raw: RawSection) -> Section {
        if let Some(replace) = &raw.keymap
            && (raw.prepend_keymap.is_some() || raw.append_keymap.is_some())
        {
            self.problem(replace.span(), ProblemKind::ReplaceAndLayer { context });
        }
        let mut list = |bindings: Vec<RawBinding>| -> Vec<Entry> {
            bindings.into_iter().filter_map(|b| self.entry(b)).collect()
        };
        let section = Section {
            replace: raw.keymap.map(|k| list(k.into_inner())),
            prepend: list(raw.prepend_keymap.unwrap_or_default()),
            append: list(raw.append_keymap.unwrap_or_default()),
        };
        self.check_duplicates(context, &section);
        section
    }

    /// The same keys twice in one section of one file is always a mistake: one of the two
    /// would never run. The lists may come in any order in the file, so compare by position.
    fn check_duplicates(&mut self, context: KeyContext, section: &Section) {
        let mut entries: Vec<&Entry> = section
            .replace
            .iter()
            .flatten()
            .chain(&section.prepend)
            .chain(&section.append)
            .collect();
        entries.sort_by_key(|e| (e.at.line, e.at.column));
        let mut first_line: HashMap<&KeySeq, usize> = HashMap::new();
        for entry in entries {
            if let Some(&first) = first_line.get(&entry.keys) {
                self.problems.push(Problem {
                    at: entry.at.clone(),
                    kind: ProblemKind::Duplicate {
                        context,
                        keys: entry.keys.clone(),
                        first_line: first,
                        line: entry.at.line,
                    },
                });
            } else {
                first_line.insert(&entry.keys, entry.at.line);
            }
        }
    }

    fn entry(&mut self, raw: RawBinding) -> Option<Entry> {
        let on_span = raw.on.span();
        let keys = self.keys(on_span.clone(), raw.on.into_inner());
        let run = match raw.run.get_ref().as_str() {
            NOOP => Some(Run::Noop),
            name => match Action::from_name(name) {
                Some(action) => Some(Run::Action(action)),
                None => {
                    let kind = ProblemKind::UnknownAction {
                        name: name.to_owned(),
                        suggestion: closest_action(name),
                    };
                    self.problem(raw.run.span(), kind);
                    None
                }
            },
        };
        let desc = match raw.desc {
            Some(desc) if desc.get_ref().trim().is_empty() => {
                self.problem(desc.span(), ProblemKind::EmptyDesc);
                None
            }
            Some(desc) if run == Some(Run::Noop) => {
                self.problem(desc.span(), ProblemKind::NoopDesc);
                None
            }
            desc => desc.map(Spanned::into_inner),
        };
        Some(Entry {
            keys: keys?,
            run: run?,
            desc,
            at: self.locate(on_span),
        })
    }

    fn keys(&mut self, span: Range<usize>, raw: RawKeys) -> Option<KeySeq> {
        let keys = match raw {
            RawKeys::One(text) => match text.parse::<Key>() {
                Ok(key) => KeySeq::from(key),
                Err(e) => {
                    self.problem(span, ProblemKind::BadKey(e));
                    return None;
                }
            },
            RawKeys::Many(list) if list.is_empty() => {
                self.problem(span, ProblemKind::EmptySequence);
                return None;
            }
            RawKeys::Many(list) => {
                let mut keys = KeySeq::new();
                let mut bad = false;
                for item in list {
                    match item.get_ref().parse::<Key>() {
                        Ok(key) => keys.push(key),
                        Err(e) => {
                            self.problem(item.span(), ProblemKind::BadKey(e));
                            bad = true;
                        }
                    }
                }
                if bad {
                    return None;
                }
                keys
            }
        };
        if keys.iter().skip(1).any(|&k| k == Key::ESC) {
            self.problem(span, ProblemKind::EscAfterFirst { keys });
            return None;
        }
        Some(keys)
    }
}

/// The action name, or `noop`, that `name` was most likely meant to be: `down` for
/// `move.down`, or a near miss like `move.dwon`.
fn closest_action(name: &str) -> Option<&'static str> {
    let candidates = || {
        Action::ALL
            .iter()
            .map(|a| a.name())
            .chain(std::iter::once(NOOP))
    };
    if let Some(full) = candidates().find(|c| c.rsplit('.').next() == Some(name)) {
        return Some(full);
    }
    let (best, distance) = candidates()
        .map(|c| (c, edit_distance(name, c)))
        .min_by_key(|&(_, d)| d)?;
    (distance <= (name.chars().count() / 4).max(2)).then_some(best)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn problems(text: &str) -> Vec<String> {
        let source = Source::File(Arc::from(Path::new("test.toml")));
        match parse(&source, text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(Problem::to_string).collect(),
        }
    }

    #[test]
    fn a_good_file_reads_every_list() {
        let source = Source::File(Arc::from(Path::new("test.toml")));
        let text = r#"
[roster]
prepend_keymap = [ { on = ["g", "g"], run = "move.top", desc = "Top" } ]
append_keymap = [ { on = "x", run = "noop" } ]
[popup]
keymap = []
"#;
        let file = parse(&source, text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(file.sections.len(), 2);
        let (context, roster) = &file.sections[1];
        assert_eq!(*context, KeyContext::Roster);
        assert_eq!(roster.prepend[0].keys.to_string(), "gg");
        assert_eq!(roster.prepend[0].run, Run::Action(Action::MoveTop));
        assert_eq!(roster.prepend[0].desc.as_deref(), Some("Top"));
        assert_eq!(
            (roster.prepend[0].at.line, roster.prepend[0].at.column),
            (3, 27)
        );
        assert_eq!(roster.append[0].run, Run::Noop);
        assert!(
            file.sections[0]
                .1
                .replace
                .as_ref()
                .is_some_and(Vec::is_empty)
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_place() {
        let got = problems(
            "[roster]\n\
             keymap = [\n\
             { on = \"<c-s>\", run = \"move.down\" },\n\
             { on = \"j\", run = \"down\" },\n\
             { on = [], run = \"move.up\" },\n\
             { on = [\"g\", \"<Esc>\"], run = \"move.up\" },\n\
             { on = \"k\", run = \"noop\", desc = \"x\" },\n\
             { on = \"l\", run = \"move.up\", desc = \" \" },\n\
             ]\n",
        );
        let expected = [
            "test.toml:3:8: bad key: `<c-s>` is written `<C-s>`",
            "test.toml:4:19: unknown action `down` (did you mean `move.down`?)",
            "test.toml:5:8: `on` is an empty list",
            "test.toml:6:8: `g<Esc>`: <Esc> cancels",
            "test.toml:7:34: a `noop` binding is not shown in help",
            "test.toml:8:37: `desc` is empty",
        ];
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (got, expected) in got.iter().zip(expected) {
            assert!(got.starts_with(expected), "{got}\n  expected {expected}");
        }
    }

    #[test]
    fn a_bad_key_in_a_sequence_points_at_that_key() {
        let got =
            problems("[roster]\nkeymap = [ { on = [\"g\", \"<Foo>\"], run = \"move.top\" } ]\n");
        assert!(
            got[0].starts_with("test.toml:2:25: bad key: `<Foo>`"),
            "{got:?}"
        );
    }

    #[test]
    fn structural_problems_come_from_toml_with_a_place() {
        let got = problems("[roster]\nkeymap = [ { on = \"j\", rn = \"move.down\" } ]\n");
        assert!(
            got[0].starts_with("test.toml:2:24: unknown field `rn`"),
            "{got:?}"
        );
        let got = problems("[rooster]\nkeymap = []\n[global]\n[nope]\n");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("test.toml:1:2: unknown section [rooster]"),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("test.toml:4:2: unknown section [nope]"),
            "{got:?}"
        );
        let got = problems("[roster]\nkeymap = [ { run = \"move.down\" } ]\n");
        assert!(got[0].contains("missing field `on`"), "{got:?}");
        let got = problems("[roster]\nkeymap = [ { on = 1, run = \"move.down\" } ]\n");
        assert!(
            got[0].contains("a key like \"j\" or a list of keys"),
            "{got:?}"
        );
        let got = problems("roster = 3\n");
        assert!(got[0].contains("a section with keymap"), "{got:?}");
    }

    #[test]
    fn duplicates_name_both_lines_across_lists() {
        let got = problems(
            "[roster]\n\
             append_keymap = [ { on = \"j\", run = \"move.down\" } ]\n\
             prepend_keymap = [\n\
             { on = \"j\", run = \"move.up\" },\n\
             ]\n",
        );
        assert_eq!(
            got,
            ["test.toml:4:8: `j` is bound twice in [roster]: on line 2 and on line 4"]
        );
        let got = problems("[roster]\nkeymap = []\nprepend_keymap = []\n");
        assert!(got[0].contains("has both `keymap`"), "{got:?}");
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(closest_action("move.dwon"), Some("move.down"));
        assert_eq!(closest_action("quit"), Some("app.quit"));
        assert_eq!(closest_action("nop"), Some("noop"));
        assert_eq!(closest_action("launch.rocket"), None);
    }
}
