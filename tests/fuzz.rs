//! Hostile input, fuzzed: every parser that reads what someone else wrote (the import format,
//! note templates, keymaps, config.toml, protocol profiles, the quick vitals syntax, search
//! queries) is given arbitrary text and mutations of the shipped, valid files: flipped bits,
//! truncations, swapped and repeated lines, huge numbers, deep nesting, invalid UTF-8, NUL bytes,
//! very long strings. Whatever the input, nothing panics, and every refusal says where (file,
//! line and column; a query's column; the span of a vitals entry) and why.
//!
//! Huge inputs are refused or streamed: a 100 MB import line, a million-line import, and a 100 MB
//! (or endless) config, keymap, template, protocol or passphrase file.
//!
//! Case counts: each property runs the count given to [`cases`], chosen so that the whole file
//! takes well under a minute in a debug build. `PROPTEST_CASES=N` runs N cases of every property
//! instead, for a long run:
//! `PROPTEST_CASES=20000 cargo test --release --test all fuzz::`.
//! All data is invented.

use crate::common::*;
use kitnotes::config::{Config, ConfigError};
use kitnotes::interchange::markdown::{self, ChartOptions};
use kitnotes::interchange::{
    FhirOptions, HEADER_LINE, ImportError, NothingStored, fhir_bundle, parse, rems_summary,
    write_jsonl,
};
use kitnotes::keymap::{Keymap, KeymapError, Preset, Source};
use kitnotes::limits::{self, MAX_PASSPHRASE_FILE_BYTES, MAX_SETTINGS_FILE_BYTES};
use kitnotes::model::{PatientRecords, Record, RecordKind, parse_vitals};
use kitnotes::protocols::{self, ProtocolError};
use kitnotes::search::{Filter, MAX_QUERY_CHARS, Query};
use kitnotes::templates::{self, TemplateError};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Case counts and the mutator shared by every parser

/// `default` cases, or `PROPTEST_CASES` when it is set.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, u8),
    Truncate(Index),
    SwapLines(Index, Index),
    RepeatLine(Index),
}

/// Bytes that a parser has to think about: the syntax of TOML and JSON, numbers too big for any
/// field, dates at the edges of the calendar, text that is not UTF-8, NUL, a byte order mark,
/// a right-to-left override, very long strings and deep nesting.
fn hostile_piece() -> impl Strategy<Value = Vec<u8>> {
    let short: Vec<&'static [u8]> = vec![
        b"\"",
        b"'",
        b"[",
        b"]",
        b"{",
        b"}",
        b"=",
        b",",
        b":",
        b".",
        b"#",
        b"\\",
        b"\n",
        b"\r\n",
        b"\r",
        b" ",
        b"\t",
        b"-",
        b"+",
        b"*",
        b"/",
        b"%",
        b"<",
        b">",
        b"[[",
        b"]]",
        b"\"\"\"",
        b"'''",
        b"0",
        b"1",
        b"9",
        b"e",
        b"true",
        b"null",
        b"\0",
        b"\xFF",
        b"\xC3",
        b"\xC0\x80",
        b"\xED\xA0\x80",
        b"\xEF\xBB\xBF",
        "\u{202E}".as_bytes(),
        "\u{0301}".as_bytes(),
        "é".as_bytes(),
        "漢".as_bytes(),
        "🙂".as_bytes(),
        b"\x1b[2J",
        b"-1",
        b"256",
        b"65536",
        b"4294967296",
        b"18446744073709551616",
        b"99999999999999999999999999999999",
        b"-9223372036854775809",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"nan",
        b"inf",
        b"-0",
        b"0x7f",
        b"1_000",
        b"0.0000001",
        b"9999-12-30T22:00:00.999999999Z",
        b"-009999-01-02T01:59:59Z",
        b"0000-01-01",
        b"2026-02-30",
        b"2026-13-01",
        b"1980-02-29",
        b"24:00",
        b"T",
        b"\"type\":\"note\",",
        b"\"id\":\"p1\",",
        b"kind = \"vitals\"\n",
        b"[[sections]]\n",
        b"[[checkpoints]]\n",
        b"[roster]\n",
        b"[check_ins]\n",
    ];
    prop_oneof![
        8 => prop::sample::select(short).prop_map(<[u8]>::to_vec),
        1 => (1usize..70_000).prop_map(|n| "a".repeat(n).into_bytes()),
        1 => (1usize..5_000).prop_map(|n| "[".repeat(n).into_bytes()),
        1 => (1usize..2_000).prop_map(|n| "{\"a\":".repeat(n).into_bytes()),
        1 => (1usize..2_000).prop_map(|n| "{a=".repeat(n).into_bytes()),
        1 => (1usize..2_000).prop_map(|n| "a.".repeat(n).into_bytes()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::SetByte(i, b)),
        5 => (any::<Index>(), hostile_piece()).prop_map(|(i, p)| Edit::Insert(i, p)),
        2 => (any::<Index>(), 1u8..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => any::<Index>().prop_map(Edit::RepeatLine),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

/// `seed` with `edits` applied in order.
fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for e in edits {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
        match e {
            Edit::FlipBit(i, bit) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Edit::SetByte(i, b) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] = *b;
            }
            Edit::Insert(i, piece) => {
                let i = at(i, bytes.len() + 1);
                bytes.splice(i..i, piece.iter().copied());
            }
            Edit::Delete(i, n) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                let end = (i + usize::from(*n)).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate(i) => {
                let i = at(i, bytes.len() + 1);
                bytes.truncate(i);
            }
            Edit::SwapLines(a, b) => {
                let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let (i, j) = (at(a, lines.len()), at(b, lines.len()));
                lines.swap(i, j);
                bytes = lines.join(&b'\n');
            }
            Edit::RepeatLine(a) => {
                let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let i = at(a, lines.len());
                lines.insert(i, lines[i]);
                bytes = lines.join(&b'\n');
            }
            _ => {}
        }
    }
    bytes
}

/// A replacement for one TOML value: usually of the same type as the value it replaces (so the
/// checks after parsing are reached: ranges, empty names, unknown kinds, duplicates), sometimes
/// of any type.
#[derive(Debug, Clone)]
struct TomlValue {
    string: String,
    number: String,
    array: String,
    any_type: bool,
}

impl TomlValue {
    /// The replacement for `old`, a value as written in the file.
    fn for_value(&self, old: &str) -> &str {
        let old = old.trim_start();
        let pick = if self.any_type {
            self.array.len() % 3
        } else {
            3
        };
        match pick {
            0 => &self.string,
            1 => &self.number,
            2 => &self.array,
            _ if old.starts_with('"') || old.starts_with('\'') => &self.string,
            _ if old.starts_with('[') => &self.array,
            _ => &self.number,
        }
    }
}

fn toml_value() -> impl Strategy<Value = TomlValue> {
    let strings: Vec<String> = [
        "",
        " ",
        "x",
        "a b",
        "\\u0000",
        "\\u001b[2J",
        "é漢🙂\u{202E}",
        "vitals",
        "vitals-before-dose",
        "vitals-before-discharge",
        "min-observation",
        "discharge",
        "iv",
        "im",
        "intranasal",
        "sublingual",
        "session",
        "psychotherapy",
        "preparation",
        "integration",
        "24h",
        "0h",
        "1mo",
        "99999999999mo",
        "-1h",
        "off",
        "0s",
        "UTC",
        "Europe/Berlin",
        "Mars/Olympus",
        "vim",
        "emacs",
        "monochrome",
        "high-contrast",
        "ketamine",
        "esketamine",
        "A",
        "a",
    ]
    .iter()
    .map(|s| format!("\"{s}\""))
    .collect();
    let numbers: Vec<&'static str> = vec![
        "0",
        "-1",
        "1",
        "20",
        "40",
        "52",
        "53",
        "90",
        "100",
        "120",
        "141",
        "200",
        "201",
        "255",
        "256",
        "1440",
        "1441",
        "5000",
        "5001",
        "65535",
        "65536",
        "4294967296",
        "9223372036854775807",
        "-9223372036854775808",
        "0.0",
        "-0.0",
        "0.5",
        "1.5",
        "20.0",
        "20.000001",
        "1e308",
        "5e-324",
        "nan",
        "inf",
        "-inf",
        "true",
        "false",
    ];
    let arrays: Vec<&'static str> = vec![
        "[]",
        "[\"24h\"]",
        "[\"a\", \"a\"]",
        "[\"1w\", \"24h\", \"1w\"]",
        "[\"0h\"]",
        "[\"99999mo\"]",
        "[\"\"]",
        "[1, 2]",
        "[[]]",
        "[\"g\", \"g\"]",
        "[\"<Esc>\", \"x\"]",
    ];
    (
        prop_oneof![
            6 => prop::sample::select(strings),
            1 => "\"\\PC{0,12}\"",
            1 => (1usize..100_000).prop_map(|n| format!("\"{}\"", "a".repeat(n))),
        ],
        prop_oneof![
            6 => prop::sample::select(numbers).prop_map(str::to_owned),
            1 => "-?[0-9]{1,25}(\\.[0-9]{1,5})?",
        ],
        prop_oneof![
            4 => prop::sample::select(arrays).prop_map(str::to_owned),
            1 => prop::collection::vec("[0-9]{1,4}(h|d|w|mo|y)", 0..40)
                .prop_map(|v| format!("{v:?}")),
        ],
        prop::bool::weighted(0.2),
    )
        .prop_map(|(string, number, array, any_type)| TomlValue {
            string,
            number,
            array,
            any_type,
        })
}

/// `text` with the value of its `n`th `key = value` line replaced: the file stays TOML more
/// often than a byte edit leaves it, so the checks after parsing are reached.
fn replace_toml_value(text: &str, n: Index, value: &TomlValue) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let assignments: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let l = lines[i].trim_start();
            !l.starts_with('#') && !l.starts_with('[') && l.contains(" = ")
        })
        .collect();
    if assignments.is_empty() {
        return text.to_owned();
    }
    let i = assignments[n.index(assignments.len())];
    if let Some((key, old)) = lines[i].split_once(" = ") {
        lines[i] = format!("{key} = {}", value.for_value(old));
    }
    lines.join("\n") + "\n"
}

/// Checks that `line`:`column` (both from 1, the column in characters) is a place in `text`:
/// an error that points past the end of the file points nowhere.
fn assert_place(text: &str, line: usize, column: usize) -> Result<(), TestCaseError> {
    prop_assert!(line >= 1 && column >= 1, "{line}:{column}");
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(
        line <= lines.len(),
        "line {line} of a {}-line text",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    prop_assert!(
        column <= width + 1,
        "column {column} of a {width}-character line {line}"
    );
    Ok(())
}

/// A reason a user can read: not empty, not a debug dump.
/// A settings file's refusal: at `path` (the file parsed), at a line and column that exist in
/// `text`, with a reason, and shown as `path:line:column: ...`.
fn assert_located(
    shown: &str,
    at: &Path,
    path: &Path,
    text: &str,
    line: usize,
    column: usize,
    message: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(at, path);
    assert_place(text, line, column)?;
    assert_reason(message)?;
    let place = format!("{}:{line}:{column}: ", path.display());
    prop_assert!(shown.starts_with(&place), "{shown}");
    Ok(())
}

fn assert_reason(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "a refusal without a reason");
    Ok(())
}

/// Text that reaches a settings parser went through [`limits::text`]; bytes that are not UTF-8
/// stop there, at a line and column of their own.
fn as_text(bytes: Vec<u8>) -> Result<Option<String>, TestCaseError> {
    match limits::text(bytes.clone()) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..])
                .err()
                .map(|u| u.valid_up_to());
            let before = String::from_utf8_lossy(&bytes[..valid.unwrap_or(0)]).into_owned();
            assert_place(&format!("{before}\u{FFFD}"), e.line, e.column)?;
            prop_assert!(e.to_string().contains("not valid UTF-8"), "{e}");
            Ok(None)
        }
    }
}

const USER_DIR: &str = "/home/clinician/.config/kitnotes";

// ---------------------------------------------------------------------------------------------
// Note templates

fn check_template(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Some(text) = as_text(bytes)? else {
        return Ok(());
    };
    let path = Path::new(USER_DIR).join("templates/fuzzed.toml");
    match templates::parse(&path, &text) {
        Ok(t) => {
            prop_assert!(!t.sections.is_empty());
            // What loads must make a draft the store accepts.
            let note = t.new_note(rid("n1"), pid("p1"), ts("2026-03-02T10:00:00Z"));
            let valid = Record::Note(note).validate();
            prop_assert!(valid.is_ok(), "{:?}", valid.err());
        }
        Err(
            ref e @ TemplateError::Invalid {
                path: ref at,
                line,
                column,
                ref message,
            },
        ) => assert_located(&e.to_string(), at, &path, &text, line, column, message)?,
        Err(e) => prop_assert!(false, "parsing text reads no file: {e}"),
    }
    Ok(())
}

/// The three properties every kind of settings file gets: the shipped files mutated byte by
/// byte, the shipped files with values of every type swapped in, and arbitrary text.
macro_rules! settings_file_properties {
    ($files:expr, $check:ident, $mutated:ident, $values:ident, $arbitrary:ident) => {
        proptest! {
            #![proptest_config(cases(300))]

            #[test]
            fn $mutated(seed in any::<Index>(), edits in edits()) {
                let (_, text) = $files[seed.index($files.len())];
                $check(mutate(text.as_bytes(), &edits))?;
            }

            #[test]
            fn $values(
                seed in any::<Index>(),
                values in prop::collection::vec((any::<Index>(), toml_value()), 1..4),
            ) {
                let (_, text) = $files[seed.index($files.len())];
                let mut text = text.to_owned();
                for (n, value) in values {
                    text = replace_toml_value(&text, n, &value);
                }
                $check(text.into_bytes())?;
            }

            #[test]
            fn $arbitrary(text in "(\\PC|[\\[\\]{}=\"'#\\n.]){0,300}") {
                $check(text.into_bytes())?;
            }
        }
    };
}

settings_file_properties!(
    templates::BUILT_IN_FILES,
    check_template,
    templates_mutated_from_the_shipped_ones,
    templates_with_values_of_every_type,
    templates_from_arbitrary_text
);

// ---------------------------------------------------------------------------------------------
// Protocol profiles

fn check_protocol(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Some(text) = as_text(bytes)? else {
        return Ok(());
    };
    let path = Path::new(USER_DIR).join("protocols/fuzzed.toml");
    match protocols::parse(&path, &text) {
        Ok(p) => {
            // What loads must start a session the store accepts, and draw its checklist.
            let patient = kitnotes::model::Patient::new(pid("p1"), "Test Person");
            let at = ts("2026-03-02T10:00:00Z");
            let s = p.start_session(rid("s1"), &patient, Some(1), at);
            let valid = Record::Session(s.clone()).validate();
            prop_assert!(valid.is_ok(), "{:?}", valid.err());
            let states = protocols::checkpoint_states(&s, &p, ts("2026-03-02T13:00:00Z"));
            prop_assert_eq!(states.len(), p.checkpoints.len());
        }
        Err(
            ref e @ ProtocolError::Invalid {
                path: ref at,
                line,
                column,
                ref message,
            },
        ) => assert_located(&e.to_string(), at, &path, &text, line, column, message)?,
        Err(e) => prop_assert!(false, "parsing text reads no file: {e}"),
    }
    Ok(())
}

settings_file_properties!(
    protocols::BUILT_IN_FILES,
    check_protocol,
    protocols_mutated_from_the_shipped_ones,
    protocols_with_values_of_every_type,
    protocols_from_arbitrary_text
);

// ---------------------------------------------------------------------------------------------
// config.toml

/// Every setting config.toml has, each with a valid value.
const FULL_CONFIG: &str = r#"clinician = "Dr. Test Clinician (invented)"
timezone = "UTC"
keymap = "vim"
theme = "high-contrast"
mouse = true
lock_after = "90s"

[check_ins]
cadence = ["24h", "72h", "1w", "2w", "1mo", "3mo"]
"#;

fn check_config(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Some(text) = as_text(bytes)? else {
        return Ok(());
    };
    let path = Path::new(USER_DIR).join("config.toml");
    match Config::parse(&path, &text) {
        Ok(c) => {
            prop_assert!(c.time_zone().is_ok());
            let _ = (c.cadence(), c.lock_after(), c.reinduction_gap());
        }
        Err(e) => {
            let (at, line, column, message) = match &e {
                ConfigError::Parse {
                    path,
                    line,
                    column,
                    message,
                }
                | ConfigError::Cadence {
                    path,
                    line,
                    column,
                    message,
                }
                | ConfigError::LockAfter {
                    path,
                    line,
                    column,
                    message,
                    ..
                }
                | ConfigError::ReinductionGap {
                    path,
                    line,
                    column,
                    message,
                } => (path, *line, *column, message.clone()),
                ConfigError::TimeZone {
                    path,
                    line,
                    column,
                    detail,
                    ..
                } => (path, *line, *column, detail.clone()),
                ConfigError::IdentifierSystem {
                    path,
                    line,
                    column,
                    value,
                } => (path, *line, *column, format!("{value:?} is not a URI")),
                ConfigError::Read { .. } => {
                    return Err(TestCaseError::fail(format!("parsing reads no file: {e}")));
                }
            };
            prop_assert_eq!(at, &path);
            assert_place(&text, line, column)?;
            assert_reason(&message)?;
            let place = format!("{}:{line}:{column}: ", path.display());
            prop_assert!(e.to_string().starts_with(&place), "{e}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn config_mutated_from_a_full_one(edits in edits()) {
        check_config(mutate(FULL_CONFIG.as_bytes(), &edits))?;
    }

    #[test]
    fn config_with_values_of_every_type(
        values in prop::collection::vec((any::<Index>(), toml_value()), 1..4),
    ) {
        let mut text = FULL_CONFIG.to_owned();
        for (n, value) in values {
            text = replace_toml_value(&text, n, &value);
        }
        check_config(text.into_bytes())?;
    }

    #[test]
    fn config_from_arbitrary_text(text in "(\\PC|[\\[\\]{}=\"'#\\n.]){0,200}") {
        check_config(text.into_bytes())?;
    }

    #[test]
    fn config_values_of_every_shape(
        key in prop::sample::select(vec![
            "clinician", "timezone", "keymap", "theme", "mouse", "lock_after", "check_ins.cadence",
        ]),
        value in prop_oneof![
            "\"\\PC{0,20}\"",
            "[0-9]{1,30}(h|d|w|mo|m|s)?",
            Just("[]".to_string()),
            "\\[(\"[0-9]{0,6}(h|d|w|mo|m|s|y)?\", ?){0,8}\\]",
            Just("\"off\"".to_string()),
            Just("{}".to_string()),
            Just("true".to_string()),
            Just("1979-05-27T07:32:00Z".to_string()),
        ],
    ) {
        let text = match key.split_once('.') {
            Some((table, field)) => format!("[{table}]\n{field} = {value}\n"),
            None => format!("{key} = {value}\n"),
        };
        check_config(text.into_bytes())?;
    }
}

// ---------------------------------------------------------------------------------------------
// Keymaps

/// The text a keymap problem's location is in: the user's file, or a compiled-in one.
fn keymap_source_text<'a>(source: &Source, user_text: &'a str) -> &'a str {
    match source {
        Source::File(_) => user_text,
        Source::BuiltIn(name) => [Preset::Vim, Preset::Emacs]
            .iter()
            .filter_map(|p| p.file())
            .find(|(n, _)| n == name)
            .map_or(DEFAULT_KEYMAP, |(_, text)| text),
    }
}

const DEFAULT_KEYMAP: &str = include_str!("../keymaps/default.toml");

fn check_keymap(preset: Preset, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Some(text) = as_text(bytes)? else {
        return Ok(());
    };
    let path = Path::new(USER_DIR).join("keymap.toml");
    match Keymap::load(preset, Some((&path, &text))) {
        Ok(keymap) => {
            // Every binding prints in the notation and reads back as the same keys.
            for context in kitnotes::app::KeyContext::ALL {
                for b in keymap.own_bindings(context) {
                    let printed = b.keys.to_string();
                    let again = printed.parse::<kitnotes::keymap::KeySeq>();
                    prop_assert_eq!(again.as_ref(), Ok(&b.keys), "{}", printed);
                }
            }
        }
        Err(KeymapError::Invalid(problems)) => {
            prop_assert!(!problems.is_empty(), "a refusal with no problem in it");
            for p in &problems {
                let in_text = keymap_source_text(&p.at.source, &text);
                assert_place(in_text, p.at.line, p.at.column)?;
                assert_reason(&p.kind.to_string())?;
                if let Source::File(file) = &p.at.source {
                    prop_assert_eq!(&**file, path.as_path());
                }
                let place = format!("{}:{}:{}: ", p.at.source, p.at.line, p.at.column);
                prop_assert!(p.to_string().starts_with(&place), "{p}");
            }
        }
        // Bindings that take away every way out are refused as a whole, saying what is gone.
        Err(KeymapError::NoWayOut(gone)) => {
            prop_assert!(!gone.is_empty(), "a refusal that names nothing");
        }
        Err(e) => prop_assert!(false, "loading text reads no file: {e}"),
    }
    Ok(())
}

fn preset() -> impl Strategy<Value = Preset> {
    prop::sample::select(Preset::ALL.to_vec())
}

proptest! {
    #![proptest_config(cases(200))]

    #[test]
    fn keymaps_mutated_from_the_shipped_ones(
        preset in preset(),
        seed in 0usize..3,
        edits in edits(),
    ) {
        let text = match seed {
            0 => DEFAULT_KEYMAP,
            1 => include_str!("../keymaps/vim.toml"),
            _ => include_str!("../keymaps/emacs.toml"),
        };
        check_keymap(preset, mutate(text.as_bytes(), &edits))?;
    }

    #[test]
    fn keymaps_from_arbitrary_text(preset in preset(), text in "(\\PC|[\\[\\]{}=\"'#\\n.<>]){0,200}") {
        check_keymap(preset, text.into_bytes())?;
    }

    #[test]
    fn keymap_bindings_of_every_shape(
        preset in preset(),
        context in prop::sample::select(vec![
            "global", "roster", "timeline", "detail", "editor_normal", "editor_insert", "popup",
        ]),
        list in prop::sample::select(vec!["keymap", "prepend_keymap", "append_keymap"]),
        bindings in prop::collection::vec(
            (
                "<([CAS]-){0,3}([a-zA-Z0-9]|F[0-9]{1,3}|Esc|Tab|Enter|Space|Up|Foo)>|\\PC{1,2}",
                prop::sample::select(vec!["move.down", "move.top", "noop", "app.quit", "nope", ""]),
                prop::option::of("\\PC{0,6}"),
            ),
            0..6,
        ),
    ) {
        let mut text = format!("[{context}]\n{list} = [\n");
        for (on, run, desc) in bindings {
            let on = on.replace('\\', "\\\\").replace('"', "\\\"");
            text.push_str(&format!("  {{ on = \"{on}\", run = \"{run}\""));
            if let Some(d) = desc {
                text.push_str(&format!(", desc = \"{}\"", d.replace('\\', "\\\\").replace('"', "\\\"")));
            }
            text.push_str(" },\n");
        }
        text.push_str("]\n");
        check_keymap(preset, text.into_bytes())?;
    }
}

// ---------------------------------------------------------------------------------------------
// The quick vitals syntax (its own unit proptest covers arbitrary printable text and the
// syntax's pieces; this adds control characters, long runs and where every refusal points)

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn every_vitals_refusal_points_into_the_input(
        input in "([0-9]{1,12}|/|%|bpm|mmHg|hr|spo2|sat|sys|dia|bp|pulse|[:=.,;x]|\\s|\\PC|[\\x00-\\x1f]|\u{202E}|\u{0301}|漢){0,30}",
    ) {
        let at = ts("2026-03-05T09:40:00Z");
        match parse_vitals(&input, at) {
            Ok(v) => prop_assert!(v.validate("").is_ok()),
            Err(e) => {
                assert_reason(&e.message)?;
                let blank = input.chars().all(|c| c.is_whitespace() || c == ',' || c == ';');
                // Only an entry with nothing in it has no place to point at.
                prop_assert_eq!(e.span.is_none(), blank, "{:?}: {}", input, e.message);
                if let Some((a, b)) = e.span {
                    prop_assert!(a < b && b <= input.chars().count(), "{a}..{b} of {input:?}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Search queries

const QUERY: &str = r#"father fath* "first session" -alcohol -"low mood" -sle* kind:integration kind:check-in status:draft since:2026-01-01 until:2026-03-31 patient:p0001 10:30"#;

fn check_query(text: &str) -> Result<(), TestCaseError> {
    let tz = jiff::tz::TimeZone::UTC;
    // As typed in the search box (the last word a prefix) and as given to `kitnotes search`.
    let typed = kitnotes::app::search::as_typed(text);
    for q in [text, &*typed] {
        match Query::parse(q, Filter::default(), &tz) {
            Ok(query) => prop_assert!(!query.must.is_empty()),
            Err(e) => {
                assert_reason(&e.message)?;
                let chars = q.chars().count();
                prop_assert!(
                    e.column >= 1 && e.column <= chars.max(1),
                    "column {} of a {chars}-character query {q:?}: {}",
                    e.column,
                    e.message
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn queries_mutated_from_one_using_every_feature(edits in edits()) {
        // A query is text: the bytes that are not UTF-8 never reach it.
        let bytes = mutate(QUERY.as_bytes(), &edits);
        check_query(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn queries_from_arbitrary_text(
        text in "(\\PC|[\"*:\\- ]|kind:|status:|since:|until:|patient:|[\\x00-\\x1f]){0,60}",
    ) {
        check_query(&text)?;
    }
}

#[test]
fn a_query_over_the_limit_is_refused_saying_so_wherever_it_is_typed() {
    let long = "word ".repeat(MAX_QUERY_CHARS);
    let e = Query::parse(&long, Filter::default(), &jiff::tz::TimeZone::UTC).unwrap_err();
    assert_eq!(e.column, MAX_QUERY_CHARS + 1);
    assert!(e.message.contains("longer than 1000 characters"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(dir.path(), &["search", &long]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("column 1001: the query is longer than 1000 characters"),
        "{err}"
    );
}

#[test]
fn a_pasted_query_over_the_limit_says_so_in_the_search_box() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "F");
    f.app.paste(&"sleep ".repeat(200));
    let s = screen(&f.app);
    assert!(
        s.contains("Column 1001: the query is longer than 1000 characters"),
        "{s}"
    );
    assert!(!s.contains(" matches"), "no results under an error: {s}");
    // Cut back under the limit, it searches again.
    for _ in 0..200 {
        press(&mut f.app, "<Backspace>");
    }
    let s = screen(&f.app);
    assert!(!s.contains("Column 1001"), "{s}");
    assert!(s.contains(" matches"), "{s}");
}

// ---------------------------------------------------------------------------------------------
// The import format (tests/interchange.rs fuzzes arbitrary bytes and byte, line and value
// mutations of the fixture, checking refusals name a line and accepted files export back; this
// adds the hostile pieces above, truncations, both FORMAT.md examples as seeds, and uses every
// accepted file the way kitnotes would: chart, FHIR bundle, REMS summary, timeline, checklist)

const FIXTURE: &str = include_str!("fixtures/interchange/varied.jsonl");

fn format_md_short_example() -> &'static str {
    let doc = include_str!("../docs/FORMAT.md");
    doc.split("```jsonl\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or(FIXTURE)
}

fn group(records: Vec<Record>) -> Vec<PatientRecords> {
    let mut by_patient: Vec<PatientRecords> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let (patients, others): (Vec<Record>, Vec<Record>) = records
        .into_iter()
        .partition(|r| r.kind() == RecordKind::Patient);
    for p in patients {
        if let Record::Patient(p) = p {
            index.insert(p.id.to_string(), by_patient.len());
            by_patient.push(PatientRecords::new(p));
        }
    }
    for r in others {
        if let Some(&i) = index.get(r.patient().as_str()) {
            by_patient[i].push(r);
        }
    }
    by_patient
}

/// Checks one file; true when it was accepted.
fn check_import(bytes: &[u8]) -> Result<bool, TestCaseError> {
    match parse(bytes, &NothingStored) {
        Err(e) => {
            check_import_refusal(bytes, &e)?;
            Ok(false)
        }
        Ok(parsed) => {
            let patients = group(parsed.records);
            let mut out = Vec::new();
            prop_assert!(write_jsonl(&mut out, &patients, true).is_ok());
            let again = parse(&out[..], &NothingStored);
            prop_assert!(
                again.is_ok(),
                "an accepted file's export was refused: {again:?}"
            );
            let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC);
            for p in &patients {
                let chart = ChartOptions {
                    tz: tz.clone(),
                    include_psychotherapy_notes: true,
                    ..Default::default()
                };
                let mut md = Vec::new();
                prop_assert!(markdown::write_chart(&mut md, p, &chart).is_ok());
                let pdf = kitnotes::interchange::pdf::render(p, &chart);
                prop_assert!(pdf.bytes.starts_with(b"%PDF-") && pdf.pages >= 1);
                let fhir = FhirOptions {
                    include_psychotherapy_notes: true,
                    generated_at: Some(ts("2026-03-10T12:00:00Z")),
                    tz: tz.clone(),
                    ..Default::default()
                };
                let _ = fhir_bundle(p, &fhir);
                let _ = kitnotes::model::timeline::timeline(p);
                for instrument in kitnotes::model::Instrument::ALL {
                    let _ = kitnotes::model::course::progress(p, instrument);
                }
                for s in &p.sessions {
                    let _ = rems_summary(&p.patient, s, &Default::default(), &tz);
                    let protocol = protocols::builtins()
                        .for_session(s)
                        .cloned()
                        .unwrap_or_else(|| kitnotes::protocols::Protocol::fallback_for(s));
                    let _ = protocols::checkpoint_states(s, &protocol, ts("2026-03-10T12:00:00Z"));
                }
            }
            // The Today list and every check-in schedule, at an ordinary moment and at the ends
            // of time.
            let cadence = kitnotes::model::cadence::Cadence::default();
            for now in [
                ts("2026-03-10T12:00:00Z"),
                jiff::Timestamp::MAX,
                jiff::Timestamp::MIN,
            ] {
                let _ = kitnotes::model::today::today(
                    &patients,
                    &cadence,
                    kitnotes::model::course::DEFAULT_REINDUCTION_GAP,
                    now,
                    &tz,
                );
            }
            Ok(true)
        }
    }
}

fn check_import_refusal(bytes: &[u8], e: &ImportError) -> Result<(), TestCaseError> {
    let Some(line) = e.line else {
        return Err(TestCaseError::fail(format!(
            "a refusal without a line: {e}"
        )));
    };
    let lines = bytes.split(|&b| b == b'\n').count();
    prop_assert!(
        line >= 1 && line <= lines.max(1),
        "line {line} of {lines}: {e}"
    );
    assert_reason(&e.message)?;
    let place = match &e.field {
        Some(field) => {
            prop_assert!(!field.is_empty(), "an empty field name: {e}");
            format!("line {line}, field {field}: ")
        }
        None => format!("line {line}: "),
    };
    prop_assert!(e.to_string().starts_with(&place), "{e}");
    Ok(())
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn imports_mutated_with_hostile_pieces(short in any::<bool>(), edits in edits()) {
        let seed = if short { format_md_short_example() } else { FIXTURE };
        check_import(&mutate(seed.as_bytes(), &edits))?;
    }

    #[test]
    fn import_values_replaced_by_hostile_json(
        line in any::<Index>(),
        field in any::<Index>(),
        value in prop_oneof![
            Just("1e308".to_string()),
            Just("-1e308".to_string()),
            Just("18446744073709551616".to_string()),
            Just("-9223372036854775808".to_string()),
            Just("4.9e-324".to_string()),
            Just("\"9999-12-30T22:00:00.999999999Z\"".to_string()),
            Just("\"-009999-01-02T01:59:59Z\"".to_string()),
            Just("\"9999-12-31\"".to_string()),
            Just("\"-009999-01-01\"".to_string()),
            Just("\"1970-01-01T00:00:00Z\"".to_string()),
            Just(format!("\"{}\"", "x".repeat(100_000))),
            Just("\"\\u0000\\u001b[2J\\u202e\"".to_string()),
            Just("\"\\ud800\"".to_string()),
            Just(format!("{}1{}", "[".repeat(1000), "]".repeat(1000))),
            Just(format!("{}1{}", "{\"a\":".repeat(1000), "}".repeat(1000))),
            Just("[]".to_string()),
            Just("{}".to_string()),
            Just("null".to_string()),
        ],
    ) {
        // Replaces the value of one field of one line, keeping the rest of the line intact.
        let mut lines: Vec<String> = FIXTURE.lines().map(str::to_owned).collect();
        let i = line.index(lines.len());
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&lines[i]) {
            let keys: Vec<&String> = map.keys().filter(|k| *k != "type").collect();
            if !keys.is_empty() {
                let key = keys[field.index(keys.len())].clone();
                let mut parts: Vec<String> = Vec::new();
                for (k, v) in &map {
                    let v = if *k == key { value.clone() } else { v.to_string() };
                    parts.push(format!("{}:{v}", serde_json::Value::from(k.as_str())));
                }
                lines[i] = format!("{{{}}}", parts.join(","));
            }
        }
        check_import(lines.join("\n").as_bytes())?;
    }
}

/// Replaces the `n`th leaf (counting depth first) of a JSON value; false when it has fewer.
fn replace_leaf(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(map) => map.values_mut().any(|x| replace_leaf(x, n, with)),
        Value::Array(items) => items.iter_mut().any(|x| replace_leaf(x, n, with)),
        leaf => {
            if *n == 0 {
                *leaf = with.clone();
                true
            } else {
                *n -= 1;
                false
            }
        }
    }
}

/// Not random: every leaf of every line of the fixture (times, doses, scores, ids, text in
/// nested vitals, observations and check-ins) replaced in turn by each extreme value, and the
/// accepted files used as kitnotes uses them. Times at the ends of jiff's range are where date
/// arithmetic (a 40-minute re-measure, a 7-day REMS deadline, a check-in cadence) would overflow.
#[test]
fn every_field_of_every_line_at_its_extremes() {
    use serde_json::{Value, json};
    let extremes = [
        // The first and last instants jiff (and so kitnotes) can hold.
        json!(jiff::Timestamp::MAX.to_string()),
        json!(jiff::Timestamp::MIN.to_string()),
        json!("9999-12-31"),
        json!("-009999-01-01"),
        json!(1e308),
        json!(-1e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0),
        json!(""),
    ];
    let lines: Vec<&str> = FIXTURE.lines().collect();
    let (mut files, mut accepted) = (0, 0);
    for (i, line) in lines.iter().enumerate() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for leaf in 0.. {
            let mut replaced_any = false;
            for with in &extremes {
                let mut v = value.clone();
                let mut n = leaf;
                if !replace_leaf(&mut v, &mut n, with) {
                    break;
                }
                replaced_any = true;
                let mut file: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                file[i] = v.to_string();
                files += 1;
                match check_import(file.join("\n").as_bytes()) {
                    Ok(true) => accepted += 1,
                    Ok(false) => {}
                    Err(e) => panic!("line {} leaf {leaf} = {with}: {e}", i + 1),
                }
            }
            if !replaced_any {
                break;
            }
        }
    }
    println!("{files} files, {accepted} accepted");
    assert!(files > 1000, "only {files} files tried");
    // Enough get through to exercise the chart, FHIR, REMS and checklist code with extremes.
    assert!(accepted > 100, "only {accepted} of {files} accepted");
}

/// Counts the bytes a reader hands out.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[test]
fn a_100_mb_import_line_is_refused_after_reading_16_mib() {
    let head = format!("{HEADER_LINE}\n");
    let line = std::io::repeat(b'a').take(100 * 1024 * 1024);
    let mut reader = std::io::BufReader::new(Counting {
        inner: head.as_bytes().chain(line),
        read: 0,
    });
    let e = parse(&mut reader, &NothingStored).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: the line is longer than 16777216 bytes; kitnotes refuses lines that long"
    );
    let read = reader.get_ref().read;
    assert!(read <= 16 * 1024 * 1024 + 64 * 1024, "read {read} bytes");
}

#[test]
fn kitnotes_import_refuses_a_100_mb_one_line_file_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.jsonl");
    sparse(&file, HUNDRED_MB);
    let out = kitnotes(dir.path(), &["import", &file.display().to_string()]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "kitnotes: error: {}: line 1: the line is longer than 16777216 bytes; kitnotes \
             refuses lines that long\nNothing was imported.\n",
            file.display()
        )
    );
}

/// A million-line import made on the fly, one line at a time, never held whole: the header, a
/// patient, a measure per line (each a separate record, ids m2..), and on the last line a
/// measure for a patient the file does not have.
struct MillionLines {
    next: usize,
    pending: Vec<u8>,
    at: usize,
}

const MILLION: usize = 1_000_000;

impl Read for MillionLines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            self.next += 1;
            self.at = 0;
            self.pending = match self.next {
                1 => format!("{HEADER_LINE}\n").into_bytes(),
                2 => b"{\"type\":\"patient\",\"id\":\"p1\",\"name\":\"Test Person\"}\n".to_vec(),
                n if n < MILLION => b"\n".to_vec(),
                MILLION => b"{\"type\":\"measure\",\"id\":\"m1\",\"patient\":\"p404\",\"instrument\":\"phq9\",\"at\":\"2026-03-02T10:00:00Z\",\"items\":[1,1,1,1,1,1,1,1,0]}\n".to_vec(),
                _ => Vec::new(),
            };
        }
        let n = (self.pending.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_million_line_import_is_read_line_by_line_and_refused_at_its_last_line() {
    let reader = std::io::BufReader::new(MillionLines {
        next: 0,
        pending: Vec::new(),
        at: 0,
    });
    let e = parse(reader, &NothingStored).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1000000, field patient: no patient p404 in the file or the store"
    );
}

// ---------------------------------------------------------------------------------------------
// Huge and endless settings files: refused after reading at most the limit, naming the file and
// the limit. A sparse file costs no disk; /dev/zero is only ever read.

/// A sparse file of `len` bytes at `path`.
fn sparse(path: &Path, len: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
}

const HUNDRED_MB: u64 = 100 * 1024 * 1024;

#[test]
fn a_100_mb_settings_file_of_each_kind_is_refused_naming_it_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refusal = |path: &Path, what: &str| {
        format!(
            "cannot read {}: it is 104857600 bytes; kitnotes reads at most 1048576 bytes from {what}",
            path.display()
        )
    };

    let config = d.join("config.toml");
    sparse(&config, HUNDRED_MB);
    let e = Config::load(d).unwrap_err();
    assert_eq!(e.to_string(), refusal(&config, "a config file"));

    let keymap = d.join("keymap.toml");
    sparse(&keymap, HUNDRED_MB);
    let e = Keymap::from_config_dir(Preset::Default, d).unwrap_err();
    assert_eq!(e.to_string(), refusal(&keymap, "a keymap file"));

    let template = d.join("templates/huge.toml");
    sparse(&template, HUNDRED_MB);
    let loaded = templates::load(d);
    assert_eq!(loaded.errors.len(), 1);
    assert_eq!(
        loaded.errors[0].to_string(),
        refusal(&template, "a template file")
    );
    // The other templates still load.
    assert_eq!(loaded.templates.len(), templates::BUILT_IN_FILES.len());

    let protocol = d.join("protocols/huge.toml");
    sparse(&protocol, HUNDRED_MB);
    let loaded = protocols::load(d);
    assert_eq!(loaded.errors.len(), 1);
    assert_eq!(
        loaded.errors[0].to_string(),
        refusal(&protocol, "a protocol file")
    );
    assert_eq!(loaded.protocols.len(), protocols::BUILT_IN_FILES.len());

    let passphrase = d.join("passphrase");
    sparse(&passphrase, HUNDRED_MB);
    let e = kitnotes::cli::passphrase::read_file(&passphrase).unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!(
            "cannot read the passphrase file {}: it is 104857600 bytes; kitnotes reads at most \
             65536 bytes from a passphrase file",
            passphrase.display()
        )
    );
}

#[test]
fn settings_files_at_the_limit_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A valid file padded with a comment to exactly the limit.
    let pad = |text: &str, limit: u64| {
        let mut t = format!("{text}#");
        let fill = usize::try_from(limit).unwrap() - t.len() - 1;
        t.push_str(&"x".repeat(fill));
        t.push('\n');
        t
    };
    std::fs::write(
        d.join("config.toml"),
        pad(FULL_CONFIG, MAX_SETTINGS_FILE_BYTES),
    )
    .unwrap();
    assert!(Config::load(d).is_ok());
    std::fs::write(
        d.join("config.toml"),
        pad(FULL_CONFIG, MAX_SETTINGS_FILE_BYTES + 1),
    )
    .unwrap();
    assert!(
        Config::load(d)
            .unwrap_err()
            .to_string()
            .contains("it is 1048577 bytes")
    );
    let passphrase = d.join("passphrase");
    std::fs::write(
        &passphrase,
        pad("correct horse battery staple\n", MAX_PASSPHRASE_FILE_BYTES),
    )
    .unwrap();
    let p = kitnotes::cli::passphrase::read_file(&passphrase).unwrap();
    assert_eq!(&p[..], b"correct horse battery staple");
}

#[test]
fn an_endless_settings_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A symlink to /dev/zero: a file with no length that never ends. Never read, never written.
    std::os::unix::fs::symlink("/dev/zero", d.join("keymap.toml")).unwrap();
    let e = Keymap::from_config_dir(Preset::Vim, d).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot read {}: it is a device, not a regular file; kitnotes reads a keymap file \
             only from a regular file",
            d.join("keymap.toml").display()
        )
    );
}

#[test]
fn a_settings_file_that_is_not_utf8_is_refused_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bytes = FULL_CONFIG.as_bytes().to_vec();
    // A Latin-1 é after "Dr": line 1, column 16.
    bytes.splice(15..15, [0xE9]);
    std::fs::write(d.join("config.toml"), &bytes).unwrap();
    assert_eq!(
        Config::load(d).unwrap_err().to_string(),
        format!(
            "cannot read {}: line 1, column 16: the text is not valid UTF-8 (byte 0xE9); save \
             the file as UTF-8",
            d.join("config.toml").display()
        )
    );
}
