//! The quick vitals syntax typed during a session: `128/84 76 98` is BP 128/84, heart rate 76 and
//! SpO2 98%, and any part may be left out.
//!
//! Values are separated by spaces (commas and semicolons work too):
//! - a value with `/` is the blood pressure, systolic/diastolic (`128/84`, `128/84mmHg`);
//! - a value ending in `%` is SpO2 (`98%`), one ending in `bpm` is heart rate (`76bpm`);
//! - a label names the value after it, or joined to it: `hr 76`, `pulse 76`, `spo2 98`,
//!   `sat 98`, `bp 128/84`, `sys 128`, `dia 84`, `hr:76`, `spo2=98`;
//! - a plain number fills heart rate, then SpO2, whichever is still free.
//!
//! Every value is checked with the same ranges as a stored reading ([`Vitals::validate`]), and an
//! error says which value is wrong and why, with where it is in the input so the field can point
//! at it. No input makes the parser panic.

use super::session::{VitalSign, Vitals};
use jiff::Timestamp;
use std::fmt;

/// Why a quick vitals entry cannot be read. `message` is for the user, e.g.
/// `"12x/84": systolic is not a number`; `span` is where in the input, in characters
/// (start inclusive, end exclusive), when the problem is one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VitalsSyntaxError {
    pub message: String,
    pub span: Option<(usize, usize)>,
}

impl fmt::Display for VitalsSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VitalsSyntaxError {}

/// What the syntax shows when nothing was typed.
pub const VITALS_EXAMPLE: &str = "128/84 76 98";

/// One whitespace-separated piece of the input, with its place in characters.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Token<'_> {
    fn span(&self) -> Option<(usize, usize)> {
        Some((self.start, self.end))
    }

    fn error(&self, why: impl fmt::Display) -> VitalsSyntaxError {
        VitalsSyntaxError {
            message: format!("{:?}: {why}", self.text),
            span: self.span(),
        }
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == ',' || c == ';'
}

fn tokens(input: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (byte, char)
    let mut chars = 0;
    for (byte, c) in input.char_indices() {
        if is_separator(c) {
            if let Some((b, ch)) = start.take() {
                out.push(Token {
                    text: &input[b..byte],
                    start: ch,
                    end: chars,
                });
            }
        } else if start.is_none() {
            start = Some((byte, chars));
        }
        chars += 1;
    }
    if let Some((b, ch)) = start {
        out.push(Token {
            text: &input[b..],
            start: ch,
            end: chars,
        });
    }
    out
}

/// What a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Bp,
    Sign(VitalSign),
}

/// Labels, longest first so that `spo2` is not read as `sp` + `o2`.
const LABELS: &[(&str, Label)] = &[
    ("pulse", Label::Sign(VitalSign::HeartRate)),
    ("spo2", Label::Sign(VitalSign::Spo2)),
    ("sat", Label::Sign(VitalSign::Spo2)),
    ("sys", Label::Sign(VitalSign::Systolic)),
    ("dia", Label::Sign(VitalSign::Diastolic)),
    ("hr", Label::Sign(VitalSign::HeartRate)),
    ("bp", Label::Bp),
];

/// A label at the start of `text`, and what follows it (`hr:76` -> heart rate, `76`). Only a
/// label followed by nothing, `:`, `=` or a digit counts, so `saturday` is not `sat` + `urday`.
fn split_label(text: &str) -> Option<(Label, &str)> {
    LABELS.iter().find_map(|(name, label)| {
        let head = text.get(..name.len())?;
        if !head.eq_ignore_ascii_case(name) {
            return None;
        }
        let rest = &text[name.len()..];
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('='))
            .unwrap_or(rest);
        (rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()))
            .then_some((*label, rest))
    })
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..cut])
}

/// Why a value is not a usable number: either it is not a whole number (the message quotes it
/// as typed) or it is out of range (the message names the number already).
enum NumberError {
    NotANumber(String),
    OutOfRange(String),
}

/// A whole number for `sign`, range-checked.
fn number(text: &str, sign: VitalSign) -> Result<u16, NumberError> {
    use NumberError::*;
    if text.is_empty() {
        return Err(NotANumber(format!("{} is missing", sign.label())));
    }
    if !text.chars().all(|c| c.is_ascii_digit()) {
        let decimal = text.split_once(['.', ',']).is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.chars().chain(b.chars())).all(|c| c.is_ascii_digit())
        });
        return Err(NotANumber(if decimal {
            format!("{} must be a whole number", sign.label())
        } else {
            format!("{} is not a number", sign.label())
        }));
    }
    let digits = text.trim_start_matches('0');
    // Anything longer than 6 digits is out of every range; parsing it could overflow.
    let value: u32 = if digits.len() > 6 {
        u32::MAX
    } else {
        digits.parse().unwrap_or(0)
    };
    if value == u32::MAX || sign.out_of_range(value).is_some() {
        return Err(OutOfRange(format!(
            "{} {} is outside {}",
            sign.label(),
            if digits.is_empty() { "0" } else { digits },
            sign.range_text()
        )));
    }
    // In range, so it fits: every range ends below u16::MAX.
    Ok(u16::try_from(value).unwrap_or(u16::MAX))
}

/// The reading being built, with where each value came from for later errors.
#[derive(Default)]
struct Reading {
    systolic: Option<(u16, (usize, usize))>,
    diastolic: Option<(u16, (usize, usize))>,
    heart_rate: Option<(u16, (usize, usize))>,
    spo2: Option<(u16, (usize, usize))>,
    bp_token: Option<String>,
}

impl Reading {
    fn slot(&mut self, sign: VitalSign) -> &mut Option<(u16, (usize, usize))> {
        match sign {
            VitalSign::Systolic => &mut self.systolic,
            VitalSign::Diastolic => &mut self.diastolic,
            VitalSign::HeartRate => &mut self.heart_rate,
            VitalSign::Spo2 => &mut self.spo2,
        }
    }

    fn set(
        &mut self,
        sign: VitalSign,
        text: &str,
        tok: &Token<'_>,
    ) -> Result<(), VitalsSyntaxError> {
        let value = number(text, sign).map_err(|e| match e {
            NumberError::NotANumber(why) => tok.error(why),
            NumberError::OutOfRange(message) => VitalsSyntaxError {
                message,
                span: tok.span(),
            },
        })?;
        let slot = self.slot(sign);
        if let Some((first, _)) = slot {
            return Err(tok.error(format!("{} given twice (first {first})", sign.label())));
        }
        *slot = Some((value, (tok.start, tok.end)));
        Ok(())
    }

    fn set_bp(&mut self, text: &str, tok: &Token<'_>) -> Result<(), VitalsSyntaxError> {
        if let Some(first) = &self.bp_token {
            return Err(tok.error(format!("blood pressure given twice (first {first:?})")));
        }
        let text = strip_suffix_ignore_case(text, "mmhg").unwrap_or(text);
        let Some((sys, dia)) = text.split_once('/') else {
            return Err(tok.error("a blood pressure is systolic/diastolic, e.g. 128/84"));
        };
        if dia.contains('/') {
            return Err(tok.error("a blood pressure is systolic/diastolic, with one \"/\""));
        }
        if sys.is_empty() {
            return Err(tok.error("systolic missing before \"/\""));
        }
        if dia.is_empty() {
            return Err(tok.error("diastolic missing after \"/\""));
        }
        self.set(VitalSign::Systolic, sys, tok)?;
        self.set(VitalSign::Diastolic, dia, tok)?;
        self.bp_token = Some(tok.text.to_owned());
        Ok(())
    }

    /// A plain number: heart rate if that is free, else SpO2.
    fn set_next(&mut self, tok: &Token<'_>) -> Result<(), VitalsSyntaxError> {
        let sign = if self.heart_rate.is_none() {
            VitalSign::HeartRate
        } else if self.spo2.is_none() {
            VitalSign::Spo2
        } else {
            return Err(tok.error("too many values: expected BP, heart rate, SpO2"));
        };
        if !tok.text.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(
                tok.error("not a number or a label: write e.g. 128/84 76 98, or hr 76, spo2 98")
            );
        }
        self.set(sign, tok.text, tok)
    }

    fn assign(
        &mut self,
        label: Label,
        text: &str,
        tok: &Token<'_>,
    ) -> Result<(), VitalsSyntaxError> {
        match label {
            Label::Bp => self.set_bp(text, tok),
            Label::Sign(VitalSign::Spo2) => {
                self.set(VitalSign::Spo2, text.strip_suffix('%').unwrap_or(text), tok)
            }
            Label::Sign(VitalSign::HeartRate) => {
                let text = strip_suffix_ignore_case(text, "bpm").unwrap_or(text);
                self.set(VitalSign::HeartRate, text, tok)
            }
            Label::Sign(sign) => self.set(sign, text, tok),
        }
    }
}

fn label_name(label: Label) -> &'static str {
    match label {
        Label::Bp => "blood pressure",
        Label::Sign(s) => s.label(),
    }
}

/// Reads a quick vitals entry taken at `at`. See the module documentation for the syntax.
pub fn parse_vitals(input: &str, at: Timestamp) -> Result<Vitals, VitalsSyntaxError> {
    let toks = tokens(input);
    if toks.is_empty() {
        return Err(VitalsSyntaxError {
            message: format!(
                "nothing to record: type BP, heart rate and SpO2, e.g. {VITALS_EXAMPLE}"
            ),
            span: None,
        });
    }
    let mut r = Reading::default();
    let mut pending: Option<(Label, Token<'_>)> = None;
    for tok in &toks {
        if let Some((label, label_tok)) = pending.take() {
            // The value after a bare label: an error quotes and points at both.
            let both = input_slice(input, label_tok.start, tok.end);
            let shown = Token {
                text: &both,
                start: label_tok.start,
                end: tok.end,
            };
            r.assign(label, tok.text, &shown)?;
            continue;
        }
        if let Some((label, rest)) = split_label(tok.text) {
            if rest.is_empty() {
                pending = Some((label, *tok));
            } else {
                r.assign(label, rest, tok)?;
            }
            continue;
        }
        if tok.text.contains('/') {
            r.set_bp(tok.text, tok)?;
        } else if let Some(n) = tok.text.strip_suffix('%') {
            r.set(VitalSign::Spo2, n, tok)?;
        } else if let Some(n) = strip_suffix_ignore_case(tok.text, "bpm") {
            r.set(VitalSign::HeartRate, n, tok)?;
        } else {
            r.set_next(tok)?;
        }
    }
    if let Some((label, tok)) = pending {
        return Err(tok.error(format!("{} missing after the label", label_name(label))));
    }
    let v = Vitals {
        at,
        systolic: r.systolic.map(|(v, _)| v),
        diastolic: r.diastolic.map(|(v, _)| v),
        heart_rate: r.heart_rate.map(|(v, _)| v),
        spo2: r.spo2.and_then(|(v, _)| u8::try_from(v).ok()),
    };
    v.validate("").map_err(|e| {
        let span = match e.field.as_str() {
            "systolic" => r.systolic.map(|(_, s)| s),
            "diastolic" => r.diastolic.map(|(_, s)| s),
            "heart_rate" => r.heart_rate.map(|(_, s)| s),
            "spo2" => r.spo2.map(|(_, s)| s),
            _ => None,
        };
        VitalsSyntaxError {
            message: e.message,
            span,
        }
    })?;
    Ok(v)
}

/// The characters `start..end` of `input`.
fn input_slice(input: &str, start: usize, end: usize) -> String {
    input.chars().skip(start).take(end - start).collect()
}

/// A reading in the quick syntax, so it can be edited again: `128/84 76 98%` (SpO2 carries its
/// `%` so it reads back as SpO2 when the heart rate is missing).
pub fn format_vitals(v: &Vitals) -> String {
    let mut parts = Vec::with_capacity(3);
    match (v.systolic, v.diastolic) {
        (Some(s), Some(d)) => parts.push(format!("{s}/{d}")),
        (Some(s), None) => parts.push(format!("sys {s}")),
        (None, Some(d)) => parts.push(format!("dia {d}")),
        (None, None) => {}
    }
    if let Some(h) = v.heart_rate {
        parts.push(h.to_string());
    }
    if let Some(o) = v.spo2 {
        parts.push(format!("{o}%"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-03-05T09:40:00Z".parse().unwrap()
    }

    fn ok(input: &str) -> (Option<u16>, Option<u16>, Option<u16>, Option<u8>) {
        let v = parse_vitals(input, at()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(v.at, at(), "the reading keeps the time it was typed");
        (v.systolic, v.diastolic, v.heart_rate, v.spo2)
    }

    fn err(input: &str) -> String {
        match parse_vitals(input, at()) {
            Ok(v) => panic!("{input:?} was read as {v:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn a_full_reading_is_bp_heart_rate_and_spo2() {
        assert_eq!(
            ok("128/84 76 98"),
            (Some(128), Some(84), Some(76), Some(98))
        );
        assert_eq!(
            ok("  128/84,\t76 ; 98  "),
            (Some(128), Some(84), Some(76), Some(98))
        );
        assert_eq!(
            ok("128/84mmHg 76bpm 98%"),
            (Some(128), Some(84), Some(76), Some(98))
        );
    }

    #[test]
    fn any_part_may_be_left_out() {
        assert_eq!(ok("128/84"), (Some(128), Some(84), None, None));
        assert_eq!(ok("128/84 76"), (Some(128), Some(84), Some(76), None));
        assert_eq!(ok("76"), (None, None, Some(76), None));
        assert_eq!(ok("76 98"), (None, None, Some(76), Some(98)));
        assert_eq!(ok("98%"), (None, None, None, Some(98)));
        assert_eq!(ok("128/84 98%"), (Some(128), Some(84), None, Some(98)));
    }

    #[test]
    fn labels_and_suffixes_say_which_value_is_which() {
        assert_eq!(ok("spo2 98"), (None, None, None, Some(98)));
        assert_eq!(ok("SpO2: 97%"), (None, None, None, Some(97)));
        assert_eq!(ok("hr 76 spo2 98"), (None, None, Some(76), Some(98)));
        assert_eq!(ok("hr:76 sat=95"), (None, None, Some(76), Some(95)));
        assert_eq!(
            ok("pulse 64 BP 118/76"),
            (Some(118), Some(76), Some(64), None)
        );
        assert_eq!(ok("sys 150"), (Some(150), None, None, None));
        // A plain number fills whichever of heart rate and SpO2 is still free.
        assert_eq!(ok("98% 76"), (None, None, Some(76), Some(98)));
        assert_eq!(ok("hr 76 97"), (None, None, Some(76), Some(97)));
        assert_eq!(ok("76 128/84"), (Some(128), Some(84), Some(76), None));
    }

    #[test]
    fn invalid_input_says_which_value_and_why() {
        assert_eq!(err("12x/84 76"), "\"12x/84\": systolic is not a number");
        assert_eq!(err("128/"), "\"128/\": diastolic missing after \"/\"");
        assert_eq!(err("/84"), "\"/84\": systolic missing before \"/\"");
        assert_eq!(
            err("128/84/70"),
            "\"128/84/70\": a blood pressure is systolic/diastolic, with one \"/\""
        );
        assert_eq!(err("80/90"), "diastolic 90 is not below systolic 80");
        assert_eq!(err("128/84 76 104"), "SpO2 104 is outside 50-100%");
        assert_eq!(err("spo2 104%"), "SpO2 104 is outside 50-100%");
        assert_eq!(err("1280/84"), "systolic 1280 is outside 40-300 mmHg");
        assert_eq!(err("hr 0"), "heart rate 0 is outside 20-250 bpm");
        assert_eq!(
            err("128/84 99999999999999999999"),
            "heart rate 99999999999999999999 is outside 20-250 bpm"
        );
        assert_eq!(
            err("128/84 76 98 99"),
            "\"99\": too many values: expected BP, heart rate, SpO2"
        );
        assert_eq!(err("98.5%"), "\"98.5%\": SpO2 must be a whole number");
        assert_eq!(err("hr"), "\"hr\": heart rate missing after the label");
        assert_eq!(err("hr x"), "\"hr x\": heart rate is not a number");
        assert_eq!(
            err("bp 128"),
            "\"bp 128\": a blood pressure is systolic/diastolic, e.g. 128/84"
        );
        assert_eq!(
            err("128/84 130/80"),
            "\"130/80\": blood pressure given twice (first \"128/84\")"
        );
        assert_eq!(
            err("76 hr 80"),
            "\"hr 80\": heart rate given twice (first 76)"
        );
        assert_eq!(
            err("calm"),
            "\"calm\": not a number or a label: write e.g. 128/84 76 98, or hr 76, spo2 98"
        );
        assert_eq!(
            err("-5"),
            "\"-5\": not a number or a label: write e.g. 128/84 76 98, or hr 76, spo2 98"
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        for input in ["", "   ", " , ; "] {
            let e = parse_vitals(input, at()).unwrap_err();
            assert_eq!(
                e.message,
                "nothing to record: type BP, heart rate and SpO2, e.g. 128/84 76 98"
            );
            assert_eq!(e.span, None);
        }
    }

    #[test]
    fn errors_point_at_the_value_in_characters() {
        assert_eq!(
            parse_vitals("128/84 7x", at()).unwrap_err().span,
            Some((7, 9))
        );
        // Characters, not bytes: "é" is one character.
        assert_eq!(parse_vitals("é 76", at()).unwrap_err().span, Some((0, 1)));
        assert_eq!(
            parse_vitals("76 hr 300", at()).unwrap_err().span,
            Some((3, 9))
        );
        // A rule across two values points at the blood pressure.
        assert_eq!(
            parse_vitals("76 80/90", at()).unwrap_err().span,
            Some((3, 8))
        );
    }

    #[test]
    fn a_formatted_reading_reads_back_the_same() {
        let mut v = parse_vitals("128/84 76 98", at()).unwrap();
        assert_eq!(format_vitals(&v), "128/84 76 98%");
        v.heart_rate = None;
        assert_eq!(format_vitals(&v), "128/84 98%");
        assert_eq!(parse_vitals(&format_vitals(&v), at()).unwrap(), v);
        v.diastolic = None;
        assert_eq!(format_vitals(&v), "sys 128 98%");
        assert_eq!(parse_vitals(&format_vitals(&v), at()).unwrap(), v);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_input_gives_a_reading_or_a_message_never_a_panic(input in "\\PC{0,40}") {
                match parse_vitals(&input, at()) {
                    Ok(v) => prop_assert!(v.validate("").is_ok()),
                    Err(e) => {
                        prop_assert!(!e.message.is_empty());
                        if let Some((a, b)) = e.span {
                            prop_assert!(a < b && b <= input.chars().count());
                        }
                    }
                }
            }

            #[test]
            fn inputs_made_of_the_syntax_pieces_never_panic(
                parts in proptest::collection::vec(
                    "[0-9]{0,4}|/|%|hr|spo2|bp|bpm|mmhg|sat|:|=|\\.|x", 0..12)
            ) {
                let input: String = parts.concat();
                let _ = parse_vitals(&input, at());
                let spaced = parts.join(" ");
                let _ = parse_vitals(&spaced, at());
            }

            #[test]
            fn every_valid_reading_round_trips_through_the_syntax(
                s in proptest::option::of(40u16..=300),
                d in proptest::option::of(20u16..=200),
                h in proptest::option::of(20u16..=250),
                o in proptest::option::of(50u8..=100),
            ) {
                let v = Vitals { at: at(), systolic: s, diastolic: d, heart_rate: h, spo2: o };
                prop_assume!(v.validate("").is_ok());
                prop_assert_eq!(parse_vitals(&format_vitals(&v), at()), Ok(v));
            }
        }
    }
}
