//! Reading templates: the compiled-in built-ins and the user's `<config dir>/templates/*.toml`,
//! parsed strictly and checked, every problem located by file, line and column.

use super::{LoadedTemplate, Template, TemplateSection, TemplateSource, Templates};
use crate::layered::{self, Layered};
use crate::model::NoteKind;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The built-in templates, in the order they are listed: file name and text.
pub const BUILT_IN_FILES: &[(&str, &str)] = &[
    (
        "preparation.toml",
        include_str!("../../templates/preparation.toml"),
    ),
    (
        "dosing-session.toml",
        include_str!("../../templates/dosing-session.toml"),
    ),
    (
        "integration.toml",
        include_str!("../../templates/integration.toml"),
    ),
    (
        "psychotherapy-process.toml",
        include_str!("../../templates/psychotherapy-process.toml"),
    ),
    ("soap.toml", include_str!("../../templates/soap.toml")),
    ("dap.toml", include_str!("../../templates/dap.toml")),
    ("birp.toml", include_str!("../../templates/birp.toml")),
];

/// A template file that cannot be used, with where and why. The other files still load.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl TemplateError {
    /// The file the problem is in.
    pub fn path(&self) -> &Path {
        match self {
            TemplateError::Read { path, .. } | TemplateError::Invalid { path, .. } => path,
        }
    }
}

/// What loading found: the templates in use, and one error per file that could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub templates: Templates,
    pub errors: Vec<TemplateError>,
}

/// A template file as written, with the spans of the values later checks may complain about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: Spanned<String>,
    name: Spanned<String>,
    kind: NoteKind,
    sections: Spanned<Vec<RawSection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    heading: Spanned<String>,
    #[serde(default)]
    prompt: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    starter: String,
}

fn invalid(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> TemplateError {
    let (line, column) = crate::config::line_column(text, offset);
    TemplateError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: message.into(),
    }
}

/// Ids go into every note made from the template and are typed on the command line, so they
/// are kept to a plain set of characters.
fn id_is_plain(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses and checks one template file; `path` is only used to name it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Template, TemplateError> {
    parse_spanned(path, text).map(|(t, _)| t)
}

/// Like [`parse`], also returning the byte offset of the id, so a duplicate can be located.
fn parse_spanned(path: &Path, text: &str) -> Result<(Template, usize), TemplateError> {
    let raw: RawTemplate = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        invalid(path, text, offset, e.message().trim_end())
    })?;
    let id_at = raw.id.span().start;
    let id = raw.id.get_ref().trim();
    if id.is_empty() {
        return Err(invalid(path, text, id_at, "the template id is empty"));
    }
    if !id_is_plain(id) {
        return Err(invalid(
            path,
            text,
            id_at,
            format!("the template id {id:?} may only hold letters, digits, `-` and `_`"),
        ));
    }
    if raw.name.get_ref().trim().is_empty() {
        return Err(invalid(
            path,
            text,
            raw.name.span().start,
            "the template name is empty",
        ));
    }
    if raw.sections.get_ref().is_empty() {
        return Err(invalid(
            path,
            text,
            raw.sections.span().start,
            "a template needs at least one [[sections]] entry",
        ));
    }
    // Headings are how signing finds a required section, so two that differ only in case or
    // spacing would be ambiguous.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut sections = Vec::with_capacity(raw.sections.get_ref().len());
    for (i, s) in raw.sections.into_inner().into_iter().enumerate() {
        let at = s.heading.span().start;
        let heading = s.heading.into_inner().trim().to_owned();
        if heading.is_empty() {
            return Err(invalid(
                path,
                text,
                at,
                format!("section {} has an empty heading", i + 1),
            ));
        }
        if let Some(first) = seen.insert(heading.to_lowercase(), i + 1) {
            return Err(invalid(
                path,
                text,
                at,
                format!(
                    "section {} repeats the heading {heading:?} of section {first}",
                    i + 1
                ),
            ));
        }
        sections.push(TemplateSection {
            heading,
            prompt: s.prompt.trim().to_owned(),
            required: s.required,
            starter: s.starter,
        });
    }
    let template = Template {
        id: id.to_owned(),
        name: raw.name.into_inner().trim().to_owned(),
        kind: raw.kind,
        sections,
    };
    Ok((template, id_at))
}

/// The built-in templates alone. They are tested to load; `errors` is there so that a broken
/// one would be reported like any other file rather than vanish.
pub fn builtin() -> Loaded {
    let (list, errors) = layered::load::<Template>(BUILT_IN_FILES, None);
    Loaded {
        templates: Templates::from_list(list),
        errors,
    }
}

/// The built-ins with the user's `<config_dir>/templates/*.toml` layered over them. Files are
/// read in name order; other files in the folder (a README) are ignored; a missing folder is
/// no templates. A file that cannot be read or parsed, or whose id an earlier file already
/// uses, is reported and skipped; the rest load.
pub fn load(config_dir: &Path) -> Loaded {
    let user_dir = config_dir.join("templates");
    let (list, errors) = layered::load::<Template>(BUILT_IN_FILES, Some(&user_dir));
    Loaded {
        templates: Templates::from_list(list),
        errors,
    }
}

impl Layered for Template {
    type Loaded = LoadedTemplate;
    type Error = TemplateError;
    const KIND: &'static str = "template";

    fn id(&self) -> &str {
        &self.id
    }
    fn parse_spanned(path: &Path, text: &str) -> Result<(Self, usize), TemplateError> {
        parse_spanned(path, text)
    }
    fn invalid(path: &Path, text: &str, offset: usize, message: String) -> TemplateError {
        invalid(path, text, offset, message)
    }
    fn read_error(path: PathBuf, source: std::io::Error) -> TemplateError {
        TemplateError::Read { path, source }
    }
    fn into_built_in(self) -> LoadedTemplate {
        LoadedTemplate {
            template: self,
            source: TemplateSource::BuiltIn,
        }
    }
    fn into_user_file(self, path: PathBuf, overrides_builtin: bool) -> LoadedTemplate {
        LoadedTemplate {
            template: self,
            source: TemplateSource::User {
                path,
                overrides_builtin,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("t.toml"), text).unwrap_err().to_string()
    }

    const OK: &str =
        "id = \"x\"\nname = \"X\"\nkind = \"session\"\n\n[[sections]]\nheading = \"A\"\n";

    #[test]
    fn a_minimal_template_parses_with_defaults() {
        let t = parse(Path::new("t.toml"), OK).unwrap();
        assert_eq!(t.id, "x");
        assert_eq!(t.kind, NoteKind::Session);
        assert_eq!(
            t.sections,
            vec![TemplateSection {
                heading: "A".into(),
                prompt: String::new(),
                required: false,
                starter: String::new(),
            }]
        );
    }

    #[test]
    fn problems_are_located() {
        assert_eq!(
            err(&OK.replace("\"x\"", "\"\"")),
            "t.toml:1:6: the template id is empty"
        );
        assert_eq!(
            err(&OK.replace("\"x\"", "\"a b\"")),
            "t.toml:1:6: the template id \"a b\" may only hold letters, digits, `-` and `_`"
        );
        assert!(
            err(&OK.replace("\"session\"", "\"dosing\""))
                .starts_with("t.toml:3:8: unknown variant `dosing`, expected one of `preparation`"),
            "{}",
            err(&OK.replace("\"session\"", "\"dosing\""))
        );
        assert!(
            err(&format!("{OK}colour = 1\n")).starts_with("t.toml:7:1: unknown field `colour`")
        );
        assert_eq!(
            err(&format!("{OK}\n[[sections]]\nheading = \" a \"\n")),
            "t.toml:9:11: section 2 repeats the heading \"a\" of section 1"
        );
        assert_eq!(
            err("id = \"x\"\nname = \"X\"\nkind = \"session\"\nsections = []\n"),
            "t.toml:4:12: a template needs at least one [[sections]] entry"
        );
        assert_eq!(
            err(&OK.replace("heading = \"A\"", "heading = \"\"")),
            "t.toml:6:11: section 1 has an empty heading"
        );
        assert!(err("id = \"x\"\nname = \n").starts_with("t.toml:2:"));
    }
}
