//! How one record looks on one line: the `type` tag, the measure's wire shape (`total`, `band`,
//! `item9_flag`), and turning serde errors into a field path and a plain message.
//!
//! The model's structs refuse unknown fields, and `type` is not one of their fields. Rather than
//! copy every struct into a wire twin with a `type` field (which would drift from the model),
//! lines are deserialized through [`WithoutTypeKey`], which hides the `type` key from the model's
//! own `Deserialize`.

use super::FORMAT_VERSION;
use crate::model::{
    Band, Course, DosingSession, Instrument, IntegrationGoal, ListEntry, Measure, Note, Patient,
    PatientId, Record, RecordId, RecordKind, RecordRef, SafetyFollowUp, Score,
};
use jiff::Timestamp;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

/// What the `type` of a line says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineType<'a> {
    Header,
    Record(RecordKind),
    Unknown(Cow<'a, str>),
    Missing,
}

impl<'a> LineType<'a> {
    fn from_tag(tag: Cow<'a, str>) -> Self {
        if tag == "kitnotes" {
            LineType::Header
        } else if let Some(kind) = RecordKind::parse(&tag) {
            LineType::Record(kind)
        } else {
            LineType::Unknown(tag)
        }
    }
}

/// A problem with a line's JSON: where in the record it is (if anywhere) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    pub field: Option<String>,
    pub message: String,
}

/// Finds a line's `type`. Export writes it first, so the common case is answered by looking at
/// the first bytes; anything else is read as JSON, skipping every other value unparsed.
pub(crate) fn line_type(line: &str) -> Result<LineType<'_>, LineError> {
    const PREFIX: &str = r#"{"type":""#;
    if let Some(rest) = line.strip_prefix(PREFIX)
        && let Some(end) = rest.find('"')
        && !rest[..end].contains('\\')
        && matches!(rest.as_bytes().get(end + 1), Some(b',' | b'}'))
    {
        return Ok(LineType::from_tag(Cow::Borrowed(&rest[..end])));
    }

    if !line.trim_start().starts_with('{') {
        return Err(LineError {
            field: None,
            message: "each line must be one JSON object, such as {\"type\":\"note\", ...}".into(),
        });
    }

    #[derive(Deserialize)]
    struct TypeOnly<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = TypeOnly::deserialize(&mut de)
        .and_then(|t| de.end().map(|()| t))
        .map_err(|e| LineError {
            // Valid JSON that still fails here has a `type` that is not a string.
            field: (!is_syntax(&e)).then(|| "type".to_owned()),
            message: json_message(&e),
        })?;
    Ok(parsed.kind.map_or(LineType::Missing, LineType::from_tag))
}

/// The header line's content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(rename = "type")]
    _kind: String,
    version: u64,
}

/// Checks a line already known to be a header: the version must be one this kitnotes reads.
pub(crate) fn check_header(line: &str) -> Result<(), LineError> {
    let header: Header = from_line(line, false)?;
    match header.version {
        v if v == u64::from(FORMAT_VERSION) => Ok(()),
        v if v > u64::from(FORMAT_VERSION) => Err(LineError {
            field: Some("version".into()),
            message: format!(
                "this file is format version {v}, written by a newer kitnotes; this one reads \
                 version {FORMAT_VERSION}: upgrade kitnotes to import it"
            ),
        }),
        v => Err(LineError {
            field: Some("version".into()),
            message: format!(
                "unknown format version {v}; this kitnotes reads version {FORMAT_VERSION}"
            ),
        }),
    }
}

/// Reads a record line of a known kind into its model record (not yet validated).
pub(crate) fn record_from_line(kind: RecordKind, line: &str) -> Result<Record, LineError> {
    Ok(match kind {
        RecordKind::Patient => Record::Patient(from_record_line::<Patient>(line)?),
        RecordKind::Note => Record::Note(from_record_line::<Note>(line)?),
        RecordKind::Session => Record::Session(from_record_line::<DosingSession>(line)?),
        RecordKind::Goal => Record::Goal(from_record_line::<IntegrationGoal>(line)?),
        RecordKind::SafetyFollowUp => {
            Record::SafetyFollowUp(from_record_line::<SafetyFollowUp>(line)?)
        }
        RecordKind::Course => Record::Course(from_record_line::<Course>(line)?),
        RecordKind::ListEntry => Record::ListEntry(from_record_line::<ListEntry>(line)?),
        RecordKind::Measure => {
            Record::Measure(from_record_line::<MeasureLine>(line)?.into_measure()?)
        }
    })
}

fn from_record_line<T: DeserializeOwned>(line: &str) -> Result<T, LineError> {
    from_line(line, true)
}

/// Deserializes a line, hiding its `type` key when `skip_type` is set. The fast path runs without
/// path tracking; only a line that fails is read again to find the path of the failing field.
fn from_line<T: DeserializeOwned>(line: &str, skip_type: bool) -> Result<T, LineError> {
    let fast = {
        let mut de = serde_json::Deserializer::from_str(line);
        let value = if skip_type {
            T::deserialize(WithoutTypeKey(&mut de))
        } else {
            T::deserialize(&mut de)
        };
        value.and_then(|v| de.end().map(|()| v))
    };
    let first_error = match fast {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut de = serde_json::Deserializer::from_str(line);
    let tracked: Result<T, serde_path_to_error::Error<serde_json::Error>> = if skip_type {
        serde_path_to_error::deserialize(WithoutTypeKey(&mut de))
    } else {
        serde_path_to_error::deserialize(&mut de)
    };
    match tracked {
        Err(e) => Err(line_error(e.path(), e.inner())),
        // The object parsed with tracking, so what failed was what follows it.
        Ok(_) => Err(LineError {
            field: None,
            message: json_message(&first_error),
        }),
    }
}

fn line_error(path: &serde_path_to_error::Path, e: &serde_json::Error) -> LineError {
    let message = json_message(e);
    if is_syntax(e) {
        // Broken JSON has no meaningful field: the path would only say where parsing gave up.
        return LineError {
            field: None,
            message,
        };
    }
    // A key that is the empty string leaves an empty last segment ("", "sections[0]."): the
    // field is then the object holding it, or none at the top, and the message says "``".
    let path = path.to_string();
    let mut field = Some(path.strip_suffix('.').unwrap_or(&path).to_owned())
        .filter(|p| !p.is_empty() && !p.contains('?'));
    if field.is_none() {
        // "missing field `title`" concerns a field with no place of its own in the line, and a
        // duplicate is reported at the object: name the field from the message.
        field = ["missing field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
    }
    let message = with_time_hint(field.as_deref(), message);
    LineError { field, message }
}

/// jiff explains precisely what it could not parse, but not what it wanted; add an example for
/// the model's time fields and calendar dates.
fn with_time_hint(field: Option<&str>, message: String) -> String {
    let last = field.and_then(|f| f.rsplit('.').next()).unwrap_or("");
    let about_the_name = ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|p| message.starts_with(p));
    if about_the_name {
        return message;
    }
    match last {
        "born" | "target_date" => format!("{message}; write a date as 1980-04-02"),
        "at" | "signed_at" | "dose_time" => format!(
            "{message}; write a time as 2026-03-02T10:00:00Z, or with its offset as \
             2026-03-02T12:00:00+02:00"
        ),
        _ => message,
    }
}

fn is_syntax(e: &serde_json::Error) -> bool {
    matches!(
        e.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    )
}

/// serde_json's message without its " at line 1 column 17" suffix: every line is line 1 to it,
/// and the import error names the file's line itself. The column stays, as it helps find a typo
/// in a long line. Broken JSON is said to be broken JSON, in words a clinician can act on.
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let bare = match full.strip_suffix(&suffix) {
        Some(bare) if e.column() > 0 => format!("{bare} (column {})", e.column()),
        Some(bare) => bare.to_owned(),
        None => full,
    };
    if is_syntax(e) {
        format!("not valid JSON: {bare}")
    } else {
        bare
    }
}

/// A measure as it appears on a line. `total` carries the clinician-entered total of the scales
/// kitnotes does not score (the model's `entered_total`); for PHQ-9 and GAD-7 export writes the
/// computed `total`, `band` and (PHQ-9) `item9_flag`, and import recomputes them from the items.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureLine {
    id: RecordId,
    patient: PatientId,
    instrument: Instrument,
    at: Timestamp,
    #[serde(default)]
    items: Vec<u8>,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    band: Option<Band>,
    #[serde(default)]
    item9_flag: Option<bool>,
    #[serde(default)]
    session: Option<RecordId>,
}

impl MeasureLine {
    fn into_measure(self) -> Result<Measure, LineError> {
        let scored = self.instrument.items().is_some();
        if !scored {
            // A band or an item-9 flag on a scale kitnotes only records the total of would be
            // silently lost; say so instead.
            if self.band.is_some() {
                return Err(LineError {
                    field: Some("band".into()),
                    message: format!(
                        "{} has no bands in kitnotes; give only its total",
                        self.instrument.label()
                    ),
                });
            }
            if self.item9_flag.is_some() {
                return Err(LineError {
                    field: Some("item9_flag".into()),
                    message: "item9_flag belongs to PHQ-9 only".into(),
                });
            }
        }
        Ok(Measure {
            id: self.id,
            patient: self.patient,
            instrument: self.instrument,
            at: self.at,
            items: self.items,
            // Never trust a given total, band or flag for a scored instrument: the items decide.
            entered_total: if scored { None } else { self.total },
            session: self.session,
        })
    }
}

/// A measure as export writes it.
#[derive(Serialize)]
struct MeasureOut<'a> {
    id: &'a RecordId,
    patient: &'a PatientId,
    instrument: Instrument,
    at: Timestamp,
    #[serde(skip_serializing_if = "<[u8]>::is_empty")]
    items: &'a [u8],
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<Total>,
    #[serde(skip_serializing_if = "Option::is_none")]
    band: Option<Band>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item9_flag: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a RecordId>,
}

/// A computed total is a whole number on the wire (`13`); an entered one keeps its decimal form
/// (`17.0`, `4.5`), exactly as it reads back.
#[derive(Serialize)]
#[serde(untagged)]
enum Total {
    Scored(u8),
    Entered(f64),
}

impl<'a> MeasureOut<'a> {
    fn new(m: &'a Measure) -> Self {
        let (total, band, item9_flag) = match m.score() {
            Ok(Score::Scored {
                total,
                band,
                item9_flag,
            }) => (
                Some(Total::Scored(total)),
                Some(band),
                (m.instrument == Instrument::Phq9).then_some(item9_flag),
            ),
            Ok(Score::Entered(t)) => (Some(Total::Entered(t)), None, None),
            // The store validates what it keeps, so this is only reached for damaged data:
            // write what is there and let import report it, rather than invent a score.
            Err(_) => (m.entered_total.map(Total::Entered), None, None),
        };
        Self {
            id: &m.id,
            patient: &m.patient,
            instrument: m.instrument,
            at: m.at,
            items: &m.items,
            total,
            band,
            item9_flag,
            session: m.session.as_ref(),
        }
    }
}

/// A record with its `type` written first.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    record: &'a T,
}

/// Appends a record's canonical line (without the newline) to `out`.
pub(crate) fn write_record(out: &mut Vec<u8>, record: RecordRef<'_>) -> serde_json::Result<()> {
    fn tagged<T: Serialize>(
        out: &mut Vec<u8>,
        kind: RecordKind,
        record: &T,
    ) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &Tagged {
                kind: kind.as_str(),
                record,
            },
        )
    }
    match record {
        RecordRef::Patient(p) => tagged(out, RecordKind::Patient, p),
        RecordRef::Note(n) => tagged(out, RecordKind::Note, n),
        RecordRef::Session(s) => tagged(out, RecordKind::Session, s),
        RecordRef::Goal(g) => tagged(out, RecordKind::Goal, g),
        RecordRef::SafetyFollowUp(f) => tagged(out, RecordKind::SafetyFollowUp, f),
        RecordRef::Course(c) => tagged(out, RecordKind::Course, c),
        RecordRef::ListEntry(l) => tagged(out, RecordKind::ListEntry, l),
        RecordRef::Measure(m) => tagged(out, RecordKind::Measure, &MeasureOut::new(m)),
    }
}

/// A deserializer for one record object that passes every key but `type` through to the model.
struct WithoutTypeKey<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for WithoutTypeKey<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(SkipTypeVisitor(visitor))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct SkipTypeVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for SkipTypeVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(SkipTypeMap {
            inner: map,
            seen_type: false,
        })
    }
}

struct SkipTypeMap<A> {
    inner: A,
    /// A second `type` would make the line mean two things; it is refused like any duplicate.
    seen_type: bool,
}

impl<'de, A: MapAccess<'de>> SkipTypeMap<A> {
    fn skip_type_value(&mut self) -> Result<(), A::Error> {
        if std::mem::replace(&mut self.seen_type, true) {
            return Err(de::Error::duplicate_field("type"));
        }
        self.inner.next_value::<IgnoredAny>().map(|_| ())
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipTypeMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        loop {
            match self.inner.next_key::<Key<'de>>()? {
                None => return Ok(None),
                Some(Key::Borrowed("type")) => self.skip_type_value()?,
                Some(Key::Owned(k)) if k == "type" => self.skip_type_value()?,
                Some(Key::Borrowed(k)) => {
                    return seed
                        .deserialize(de::value::BorrowedStrDeserializer::new(k))
                        .map(Some);
                }
                Some(Key::Owned(k)) => {
                    return seed
                        .deserialize(de::value::StringDeserializer::new(k))
                        .map(Some);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// An object key, borrowed from the line when it has no escapes (no allocation per key).
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_found_first_or_anywhere() {
        assert_eq!(
            line_type(r#"{"type":"note","id":"n1"}"#).unwrap(),
            LineType::Record(RecordKind::Note)
        );
        assert_eq!(
            line_type(r#"{ "id":"n1", "type" : "goal" }"#).unwrap(),
            LineType::Record(RecordKind::Goal)
        );
        assert_eq!(
            line_type(r#"{"type":"kitnotes","version":1}"#).unwrap(),
            LineType::Header
        );
        assert_eq!(line_type(r#"{"id":"n1"}"#).unwrap(), LineType::Missing);
        assert_eq!(
            line_type(r#"{"type":"visit"}"#).unwrap(),
            LineType::Unknown("visit".into())
        );
        // An escaped tag still reads as what it spells.
        assert_eq!(
            line_type(r#"{"type":"no\u0074e","id":"n1"}"#).unwrap(),
            LineType::Record(RecordKind::Note)
        );
        assert!(line_type(r#"{"type":"note""#).is_err());
        assert_eq!(
            line_type(r#"["kitnotes",1]"#).unwrap_err().message,
            r#"each line must be one JSON object, such as {"type":"note", ...}"#
        );
    }

    #[test]
    fn the_type_key_is_hidden_from_the_model_wherever_it_is() {
        let line = r#"{"id":"p1","type":"patient","name":"Test Person"}"#;
        let r = record_from_line(RecordKind::Patient, line).unwrap();
        assert_eq!(r.id(), "p1");
    }

    #[test]
    fn a_second_type_key_is_refused_wherever_the_first_is() {
        for line in [
            r#"{"type":"patient","type":"note","id":"p1","name":"A"}"#,
            r#"{"id":"p1","type":"patient","name":"A","type":"patient"}"#,
        ] {
            let e = line_type(line)
                .and_then(|_| record_from_line(RecordKind::Patient, line))
                .unwrap_err();
            assert!(
                e.message.starts_with("duplicate field `type`"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn field_paths_reach_into_arrays_and_objects() {
        let line = r#"{"type":"note","id":"n1","patient":"p1","kind":"session","at":"2026-03-02T10:00:00Z","title":"t","sections":[{"heading":"a","body":7}],"status":"draft"}"#;
        let e = record_from_line(RecordKind::Note, line).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sections[0].body"));
        assert!(
            e.message
                .starts_with("invalid type: integer `7`, expected a string"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_empty_key_is_named_in_the_message_not_as_an_empty_field() {
        let e = check_header(r#"{"type":"kitnotes","":1}"#).unwrap_err();
        assert_eq!(e.field, None);
        assert!(e.message.starts_with("unknown field ``"), "{}", e.message);
        let line = r#"{"type":"note","id":"n1","patient":"p1","kind":"session","at":"2026-03-02T10:00:00Z","title":"t","sections":[{"heading":"a","":7}],"status":"draft"}"#;
        let e = record_from_line(RecordKind::Note, line).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sections[0]"));
        assert!(e.message.starts_with("unknown field ``"), "{}", e.message);
    }

    #[test]
    fn json_messages_lose_serdes_line_but_keep_the_column() {
        let e = serde_json::from_str::<serde_json::Value>("{\"a\":}").unwrap_err();
        assert_eq!(
            json_message(&e),
            "not valid JSON: expected value (column 6)"
        );
        let e = line_type(r#"{"id":"n1","type":5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("type"));
    }
}
