//! Layering the user's `<config dir>/<kind>/*.toml` over compiled-in built-ins: the one loading
//! rule that note templates and protocol profiles share, so the two cannot drift apart.
//!
//! The rule: built-ins in their listed order; then the user's files in name order (a missing
//! folder is none, an unreadable folder or file is a read error); a file whose id an earlier
//! user file already has is reported at its id and skipped; a user file with a built-in's id
//! takes that built-in's place; user-only items follow, by id. A broken file never stops the
//! others loading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What one kind of layered file (a template, a protocol profile) supplies to the shared rule.
pub(crate) trait Layered: Sized {
    /// The item with where it came from, as the kind keeps it (`LoadedTemplate`).
    type Loaded;
    /// The kind's located error (`TemplateError`).
    type Error;
    /// The kind as named in messages: `"template"`, `"protocol"`.
    const KIND: &'static str;

    /// The id a user file overrides a built-in by.
    fn id(&self) -> &str;
    /// Parses and checks one file, also returning the byte offset of its id.
    fn parse_spanned(path: &Path, text: &str) -> Result<(Self, usize), Self::Error>;
    /// An error in `path` at byte `offset` of `text`.
    fn invalid(path: &Path, text: &str, offset: usize, message: String) -> Self::Error;
    /// A folder or file that cannot be read.
    fn read_error(path: PathBuf, source: std::io::Error) -> Self::Error;
    fn into_built_in(self) -> Self::Loaded;
    fn into_user_file(self, path: PathBuf, overrides_builtin: bool) -> Self::Loaded;
}

/// The built-ins, parsed from the compiled-in `(file name, text)` pairs in their order and
/// named `<built-in>/<name>` in errors, with the `*.toml` files of `user_dir`, when given,
/// layered over them by the rule in the module documentation. Returns the items in use and one
/// error per file that cannot be used (a broken built-in too, rather than it vanishing).
pub(crate) fn load<L: Layered>(
    built_in_files: &[(&str, &str)],
    user_dir: Option<&Path>,
) -> (Vec<L::Loaded>, Vec<L::Error>) {
    let mut errors = Vec::new();
    // Each item is kept with its id, which the layering looks up.
    let mut list: Vec<(String, L::Loaded)> = Vec::with_capacity(built_in_files.len());
    for (name, text) in built_in_files {
        let path = Path::new("<built-in>").join(name);
        match L::parse_spanned(&path, text) {
            Ok((item, _)) => list.push((item.id().to_owned(), item.into_built_in())),
            Err(e) => errors.push(e),
        }
    }
    if let Some(dir) = user_dir {
        layer_user_files::<L>(&mut list, dir, &mut errors);
    }
    (list.into_iter().map(|(_, loaded)| loaded).collect(), errors)
}

fn layer_user_files<L: Layered>(
    list: &mut Vec<(String, L::Loaded)>,
    dir: &Path,
    errors: &mut Vec<L::Error>,
) {
    let files = toml_files::<L>(dir, errors);
    let built_ins = list.len();
    let mut user_only: Vec<(String, L::Loaded)> = Vec::new();
    let mut from_file: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let limit = crate::limits::MAX_SETTINGS_FILE_BYTES;
        let what = format!("a {} file", L::KIND);
        let text = match crate::limits::read_to_string(&path, limit, &what) {
            Ok(t) => t,
            Err(source) => {
                errors.push(L::read_error(path, source));
                continue;
            }
        };
        let (item, id_at) = match L::parse_spanned(&path, &text) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let id = item.id().to_owned();
        if let Some(first) = from_file.get(&id) {
            errors.push(L::invalid(
                &path,
                &text,
                id_at,
                format!(
                    "the {} id {id:?} is already used by {}; this file is skipped",
                    L::KIND,
                    first.display()
                ),
            ));
            continue;
        }
        from_file.insert(id.clone(), path.clone());
        // Only built-ins can be found here: user-only items wait in `user_only`, and a second
        // file with an id was refused above.
        let slot = list[..built_ins].iter_mut().find(|(have, _)| *have == id);
        let entry = item.into_user_file(path, slot.is_some());
        match slot {
            Some((_, loaded)) => *loaded = entry,
            None => user_only.push((id, entry)),
        }
    }
    user_only.sort_by(|a, b| a.0.cmp(&b.0));
    list.extend(user_only);
}

/// The `*.toml` files in `dir`, in name order; other files (a README) are ignored and a
/// missing folder is none.
fn toml_files<L: Layered>(dir: &Path, errors: &mut Vec<L::Error>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(source) => {
            errors.push(L::read_error(dir.to_owned(), source));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let path = e.path();
                // A directory or a FIFO named *.toml is listed too: reading it is refused, by name.
                if path.extension().is_some_and(|x| x == "toml") {
                    files.push(path);
                }
            }
            Err(source) => errors.push(L::read_error(dir.to_owned(), source)),
        }
    }
    files.sort();
    files
}
