//! The interchange format and the Markdown chart, as a user meets them: files in, records and
//! exact messages out; records in, exact bytes out. All data is invented.

use kitnotes::interchange::markdown::{self, ChartOptions};
use kitnotes::interchange::{
    HEADER_LINE, ImportError, KnownIds, NothingStored, ParsedImport, parse, write_jsonl,
};
use kitnotes::model::{PatientId, PatientRecords, Record, RecordKind, Score};
use std::collections::HashMap;
use std::io::Read;

const FIXTURE: &str = include_str!("fixtures/interchange/varied.jsonl");

fn parse_str(s: &str) -> Result<ParsedImport, ImportError> {
    parse(s.as_bytes(), &NothingStored)
}

/// The error a file gets, for tests that expect a refusal.
fn refusal(s: &str) -> ImportError {
    match parse_str(s) {
        Ok(p) => panic!("expected a refusal, got {:?}", p.summary),
        Err(e) => e,
    }
}

/// A file made of the header and these record lines.
fn file(lines: &[&str]) -> String {
    let mut s = format!("{HEADER_LINE}\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// What a store would hand back: records grouped by patient.
fn group(records: Vec<Record>) -> Vec<PatientRecords> {
    let mut by_patient: Vec<PatientRecords> = Vec::new();
    let mut index: HashMap<PatientId, usize> = HashMap::new();
    let (patients, others): (Vec<Record>, Vec<Record>) = records
        .into_iter()
        .partition(|r| r.kind() == RecordKind::Patient);
    for p in patients {
        if let Record::Patient(p) = p {
            index.insert(p.id.clone(), by_patient.len());
            by_patient.push(PatientRecords::new(p));
        }
    }
    for r in others {
        let i = index[r.patient()];
        by_patient[i].push(r);
    }
    by_patient
}

fn export(records: &[PatientRecords], include_psychotherapy_notes: bool) -> String {
    let mut out = Vec::new();
    write_jsonl(&mut out, records, include_psychotherapy_notes).unwrap();
    String::from_utf8(out).unwrap()
}

fn fixture_records() -> Vec<PatientRecords> {
    group(parse_str(FIXTURE).unwrap().records)
}

const PATIENT: &str = r#"{"type":"patient","id":"p1","name":"Test Person"}"#;

fn phq9(items: &str) -> String {
    format!(
        r#"{{"type":"measure","id":"m1","patient":"p1","instrument":"phq9","at":"2026-03-02T10:00:00Z","items":{items}}}"#
    )
}

fn note_with(extra: &str) -> String {
    format!(
        r#"{{"type":"note","id":"n1","patient":"p1","kind":"session","at":"2026-03-02T10:00:00Z","title":"Session","sections":[{{"heading":"Notes","body":"x"}}],"status":"draft"{extra}}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// Round trips and order

#[test]
fn the_varied_fixture_exports_back_to_the_same_bytes() {
    let parsed = parse_str(FIXTURE).unwrap();
    let first = export(&group(parsed.records), true);
    assert_eq!(first, FIXTURE);
    // And again from what the first export wrote.
    let second = export(&group(parse_str(&first).unwrap().records), true);
    assert_eq!(second, first);
}

#[test]
fn import_counts_each_kind() {
    let s = parse_str(FIXTURE).unwrap().summary;
    assert_eq!(
        (s.patients, s.notes, s.sessions, s.measures, s.goals),
        (3, 4, 2, 5, 1)
    );
    assert_eq!(s.total(), 16 - 1);
    assert_eq!(
        s.to_string(),
        "3 patients, 4 notes, 2 dosing sessions, 5 measures, 1 goals"
    );
}

#[test]
fn export_order_depends_only_on_the_data_not_on_the_input_order() {
    let mut lines: Vec<&str> = FIXTURE.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let shuffled = format!("{header}\n{}\n", lines.join("\n"));
    let mut groups = group(parse_str(&shuffled).unwrap().records);
    groups.reverse();
    assert_eq!(export(&groups, true), FIXTURE);
}

#[test]
fn messy_but_valid_input_is_normalised_to_the_canonical_form() {
    // A BOM, CRLF endings, blank lines, `type` last, an offset timestamp, keys in another order,
    // whole numbers for floats, a default written out, and a lying PHQ-9 total.
    let messy = "\u{feff}{\"version\":1,\"type\":\"kitnotes\"}\r\n\r\n   \r\n\
        {\"name\":\"Test Person\",\"id\":\"p1\",\"weight_kg\":70,\"archived\":false,\"type\":\"patient\"}\r\n\
        {\"type\":\"measure\",\"patient\":\"p1\",\"id\":\"m1\",\"instrument\":\"phq9\",\
         \"at\":\"2026-03-02T12:00:00+02:00\",\"items\":[0,0,0,0,0,0,0,0,1],\"total\":0,\
         \"band\":\"severe\",\"item9_flag\":false}\r\n";
    let out = export(&group(parse_str(messy).unwrap().records), false);
    assert_eq!(
        out,
        file(&[
            r#"{"type":"patient","id":"p1","name":"Test Person","weight_kg":70.0}"#,
            r#"{"type":"measure","id":"m1","patient":"p1","instrument":"phq9","at":"2026-03-02T10:00:00Z","items":[0,0,0,0,0,0,0,0,1],"total":1,"band":"minimal","item9_flag":true}"#,
        ])
    );
}

#[test]
fn a_lying_total_band_and_item9_flag_are_ignored_and_recomputed() {
    let line = r#"{"type":"measure","id":"m1","patient":"p1","instrument":"phq9","at":"2026-03-02T10:00:00Z","items":[3,3,3,3,3,3,3,3,2],"total":2,"band":"minimal","item9_flag":false}"#;
    let parsed = parse_str(&file(&[PATIENT, line])).unwrap();
    let Record::Measure(m) = &parsed.records[1] else {
        panic!("expected a measure")
    };
    assert_eq!(m.entered_total, None, "a PHQ-9 keeps no entered total");
    assert_eq!(
        m.score().unwrap(),
        Score::Scored {
            total: 26,
            band: kitnotes::model::Band::Severe,
            item9_flag: true
        }
    );
    let out = export(&group(parsed.records), false);
    assert!(
        out.contains(r#""total":26,"band":"severe","item9_flag":true"#),
        "{out}"
    );
}

#[test]
fn gad7_is_exported_with_total_and_band_but_no_item9_flag() {
    let out = export(&fixture_records(), false);
    let gad = out.lines().find(|l| l.contains(r#""gad7""#)).unwrap();
    assert!(gad.ends_with(r#""total":4,"band":"minimal"}"#), "{gad}");
}

#[test]
fn the_examples_in_format_md_are_real() {
    let doc = include_str!("../docs/FORMAT.md");
    let blocks: Vec<&str> = doc
        .split("```jsonl\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "FORMAT.md has a short and a full example");
    // The short example is canonical too: it exports back to itself.
    let short = parse_str(blocks[0]).unwrap();
    assert_eq!(export(&group(short.records), true), blocks[0]);
    assert_eq!(blocks[1], FIXTURE, "the full example is the test fixture");
}

// ---------------------------------------------------------------------------------------------
// Psychotherapy notes

#[test]
fn psychotherapy_notes_are_left_out_unless_asked_for() {
    let records = fixture_records();
    let mut out = Vec::new();
    let summary = write_jsonl(&mut out, &records, false).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("Process note"));
    assert!(!out.contains(r#""kind":"psychotherapy""#));
    assert_eq!(summary.psychotherapy_notes_withheld, 1);
    assert_eq!(summary.notes, 3);
    assert_eq!(out.lines().count(), FIXTURE.lines().count() - 1);

    let mut all = Vec::new();
    let summary = write_jsonl(&mut all, &records, true).unwrap();
    assert_eq!(summary.psychotherapy_notes_withheld, 0);
    assert!(String::from_utf8(all).unwrap().contains("Process note"));
}

#[test]
fn a_goal_linked_to_a_withheld_note_loses_the_link_so_the_file_still_imports() {
    let psy = r#"{"type":"note","id":"n9","patient":"p1","kind":"psychotherapy","at":"2026-03-01T10:00:00Z","title":"Private","sections":[],"status":"draft"}"#;
    let goal = r#"{"type":"goal","id":"g1","patient":"p1","at":"2026-03-02T10:00:00Z","title":"Walk","domain":"health","status":"active","source_note":"n9","check_ins":[{"at":"2026-03-03T10:00:00Z","progress":2,"integration_note":"n9"}]}"#;
    let records = group(parse_str(&file(&[PATIENT, psy, goal])).unwrap().records);
    let mut out = Vec::new();
    let summary = write_jsonl(&mut out, &records, false).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(summary.links_withheld, 2);
    assert!(!out.contains("n9"), "{out}");
    assert_eq!(
        out,
        file(&[
            PATIENT,
            r#"{"type":"goal","id":"g1","patient":"p1","at":"2026-03-02T10:00:00Z","title":"Walk","domain":"health","status":"active","check_ins":[{"at":"2026-03-03T10:00:00Z","progress":2}]}"#
        ])
    );
    assert!(parse_str(&out).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Refusals: every kind of bad input names its line and field

fn assert_refused(input: &str, expected: &str) {
    let e = refusal(input);
    assert_eq!(e.to_string(), expected);
    assert!(
        e.line.is_some(),
        "every refusal of a file names a line: {e}"
    );
}

#[test]
fn an_item_out_of_range_names_line_and_item() {
    let input = file(&[
        PATIENT,
        r#"{"type":"note","id":"n1","patient":"p1","kind":"session","at":"2026-03-02T10:00:00Z","title":"t","sections":[],"status":"draft"}"#,
        &phq9("[0,0,4,0,0,0,0,0,0]"),
    ]);
    let e = refusal(&input);
    assert_eq!(e.line, Some(4));
    assert_eq!(e.field.as_deref(), Some("items[2]"));
    assert_eq!(
        e.to_string(),
        "line 4, field items[2]: item 3 is 4; each item is scored 0 to 3"
    );
}

#[test]
fn wrong_item_counts_and_values_that_are_not_small_numbers_are_refused() {
    assert_refused(
        &file(&[PATIENT, &phq9("[0,0,0]")]),
        "line 3, field items: PHQ-9 has 9 items, found 3",
    );
    assert_refused(
        &file(&[PATIENT, &phq9("[0,0,0,0,0,0,0,300,0]")]),
        "line 3, field items[7]: invalid value: integer `300`, expected u8 (column 117)",
    );
    assert_refused(
        &file(&[PATIENT, &phq9("[0,0,0,0,0,0,0,-1,0]")]),
        "line 3, field items[7]: invalid value: integer `-1`, expected u8 (column 116)",
    );
    assert_refused(
        &file(&[PATIENT, &phq9("[0,0,0,0,0,0,0,0,\"3\"]")]),
        "line 3, field items[8]: invalid type: string \"3\", expected u8 (column 119)",
    );
}

#[test]
fn entered_scales_need_a_total_and_take_no_band() {
    let cadss = |extra: &str| {
        format!(
            r#"{{"type":"measure","id":"m1","patient":"p1","instrument":"cadss","at":"2026-03-02T10:00:00Z"{extra}}}"#
        )
    };
    assert_refused(
        &file(&[PATIENT, &cadss("")]),
        "line 3, field total: CADSS needs its total",
    );
    assert_refused(
        &file(&[PATIENT, &cadss(r#","total":12,"band":"mild""#)]),
        "line 3, field band: CADSS has no bands in kitnotes; give only its total",
    );
    assert_refused(
        &file(&[PATIENT, &cadss(r#","total":-1"#)]),
        "line 3, field total: a CADSS total is a whole number from 0 to 92 (23 subjective items \
         scored 0-4; the observer items are not part of it), not -1",
    );
    // Past the scale's range, or not a whole number: refused (domain.md, "Instruments").
    assert_refused(
        &file(&[PATIENT, &cadss(r#","total":500"#)]),
        "line 3, field total: a CADSS total is a whole number from 0 to 92 (23 subjective items \
         scored 0-4; the observer items are not part of it), not 500",
    );
    assert_refused(
        &file(&[PATIENT, &cadss(r#","total":12.5"#)]),
        "line 3, field total: a CADSS total is a whole number from 0 to 92 (23 subjective items \
         scored 0-4; the observer items are not part of it), not 12.5",
    );
    assert_refused(
        &file(&[PATIENT, &cadss(r#","items":[1,2]"#)]),
        "line 3, field items: kitnotes records only the total for CADSS; give `total`, not items",
    );
}

#[test]
fn broken_json_is_refused_with_the_column() {
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","#]),
        "line 2: not valid JSON: EOF while parsing a value (column 28)",
    );
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","name":"A"} trailing"#]),
        "line 2: not valid JSON: trailing characters (column 41)",
    );
    assert_refused(
        &file(&["[1,2,3]"]),
        r#"line 2: each line must be one JSON object, such as {"type":"note", ...}"#,
    );
}

#[test]
fn wrong_types_name_the_field() {
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","name":"A","born":19800402}"#]),
        "line 2, field born: invalid type: integer `19800402`, expected a date string (column 54); write a date as 1980-04-02",
    );
    assert_refused(
        &file(&[
            PATIENT,
            &note_with("").replace(r#"[{"heading":"Notes","body":"x"}]"#, r#""none""#),
        ]),
        "line 3, field sections: invalid type: string \"none\", expected a sequence (column 120)",
    );
    assert_refused(
        &file(&[PATIENT, &note_with(r#","title":"again""#)]),
        "line 3, field title: duplicate field `title` (column 171)",
    );
}

#[test]
fn unknown_record_types_and_unknown_fields_are_refused() {
    assert_refused(
        &file(&[r#"{"type":"visit","id":"v1"}"#]),
        r#"line 2, field type: unknown record type "visit"; expected patient, note, session, measure or goal"#,
    );
    assert_refused(
        &file(&[r#"{"id":"p1","name":"A"}"#]),
        "line 2, field type: the record has no type; expected patient, note, session, measure or goal",
    );
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","name":"A","nickname":"B"}"#]),
        "line 2, field nickname: unknown field `nickname`, expected one of `id`, `name`, `born`, `sex`, `pronouns`, `weight_kg`, `contact_note`, `tags`, `archived` (column 49)",
    );
    assert_refused(
        &file(&[PATIENT, &note_with(r#","mood":"good""#)]),
        "line 3, field mood: unknown field `mood`, expected one of `id`, `patient`, `kind`, `at`, `title`, `template`, `session`, `sections`, `status`, `signed_by`, `signed_at`, `addenda` (column 170)",
    );
}

#[test]
fn a_missing_required_field_is_named() {
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1"}"#]),
        "line 2, field name: missing field `name` (column 28)",
    );
}

#[test]
fn headers_that_are_missing_wrong_or_newer_are_refused() {
    assert_refused(
        &format!("{PATIENT}\n"),
        r#"line 1: the file must start with the header line {"type":"kitnotes","version":1}, but this line is a patient; is the header missing?"#,
    );
    assert_refused(
        "{\"type\":\"kitnotes\",\"version\":2}\n",
        "line 1, field version: this file is format version 2, written by a newer kitnotes; this one reads version 1: upgrade kitnotes to import it",
    );
    assert_refused(
        "{\"type\":\"kitnotes\",\"version\":0}\n",
        "line 1, field version: unknown format version 0; this kitnotes reads version 1",
    );
    assert_refused(
        "{\"type\":\"kitnotes\",\"version\":\"1\"}\n",
        "line 1, field version: invalid type: string \"1\", expected u64 (column 32)",
    );
    assert_refused(
        "{\"type\":\"kitnotes\",\"version\":1,\"app\":\"x\"}\n",
        "line 1, field app: unknown field `app`, expected `type` or `version` (column 36)",
    );
    assert_refused(
        "{\"type\":\"csv\"}\n",
        r#"line 1: the file must start with the header line {"type":"kitnotes","version":1}, but this line is of type "csv""#,
    );
    assert_refused(
        "name,born\n",
        r#"line 1: the file must start with the header line {"type":"kitnotes","version":1}, but this line is not one (each line must be one JSON object, such as {"type":"note", ...})"#,
    );
    assert_refused(
        &file(&[PATIENT, HEADER_LINE]),
        "line 3: a second header line; the header belongs on the first line only",
    );
}

#[test]
fn empty_files_are_refused() {
    assert_refused(
        "",
        r#"line 1: the file is empty; it must start with the header line {"type":"kitnotes","version":1}"#,
    );
    assert_refused(
        "\n  \r\n\n",
        r#"line 4: the file is empty; it must start with the header line {"type":"kitnotes","version":1}"#,
    );
}

#[test]
fn a_header_alone_imports_nothing() {
    let p = parse_str(&file(&[])).unwrap();
    assert!(p.records.is_empty());
    assert_eq!(p.summary.total(), 0);
}

#[test]
fn bad_dates_and_timestamps_are_refused() {
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","name":"A","born":"1980-02-30"}"#]),
        "line 2, field born: parsed date is not valid: parameter 'day' for `1980-02` is invalid, must be in range `1..=29` (column 58); write a date as 1980-04-02",
    );
    let at = |t: &str| phq9("[0,0,0,0,0,0,0,0,0]").replace("2026-03-02T10:00:00Z", t);
    assert_refused(
        &file(&[PATIENT, &at("2026-03-02T10:00:00")]),
        "line 3, field at: failed to find offset component, which is required for parsing a timestamp (column 89); write a time as 2026-03-02T10:00:00Z, or with its offset as 2026-03-02T12:00:00+02:00",
    );
    assert_refused(
        &file(&[PATIENT, &at("2026-02-30T10:00:00Z")]),
        "line 3, field at: parsed date is not valid: parameter 'day' for `2026-02` is invalid, must be in range `1..=28` (column 90); write a time as 2026-03-02T10:00:00Z, or with its offset as 2026-03-02T12:00:00+02:00",
    );
    assert_refused(
        &file(&[PATIENT, &at("yesterday")]),
        "line 3, field at: failed to parse four digit integer as year: invalid digit, expected 0-9 but got y (column 79); write a time as 2026-03-02T10:00:00Z, or with its offset as 2026-03-02T12:00:00+02:00",
    );
}

#[test]
fn invalid_utf8_names_line_and_byte() {
    let mut bytes = file(&[PATIENT]).into_bytes();
    bytes.extend_from_slice(b"{\"type\":\"patient\",\"id\":\"p2\",\"name\":\"Bad \xC3\x28\"}\n");
    let e = parse(&bytes[..], &NothingStored).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3: the text is not valid UTF-8 (byte 41 of the line is 0xC3); save the file as UTF-8"
    );
}

#[test]
fn a_line_over_16_mib_is_refused_without_reading_it_whole() {
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
    // A line that never ends: reading it whole would never finish.
    let head = file(&[PATIENT]);
    let mut reader = std::io::BufReader::new(Counting {
        inner: head.as_bytes().chain(std::io::repeat(b'a')),
        read: 0,
    });
    let e = parse(&mut reader, &NothingStored).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3: the line is longer than 16777216 bytes; kitnotes refuses lines that long"
    );
    let read = reader.get_ref().read;
    assert!(
        read < 17 * 1024 * 1024,
        "read {read} bytes for a refused line"
    );
}

#[test]
fn model_rules_are_checked_on_import() {
    assert_refused(
        &file(&[
            PATIENT,
            &note_with("").replace(r#""status":"draft""#, r#""status":"signed""#),
        ]),
        "line 3, field signed_by: a signed note needs both signed_by and signed_at",
    );
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p1","name":" "}"#]),
        "line 2, field name: a patient needs a name",
    );
    assert_refused(
        &file(&[r#"{"type":"patient","id":"p 1","name":"A"}"#]),
        "line 2, field id: an id cannot contain whitespace or control characters (found ' ') (column 28)",
    );
}

#[test]
fn records_for_unknown_patients_are_refused() {
    assert_refused(
        &file(&[
            PATIENT,
            &note_with("").replace(r#""patient":"p1""#, r#""patient":"p9""#),
        ]),
        "line 3, field patient: no patient p9 in the file or the store",
    );
}

#[test]
fn references_may_point_forward_and_must_resolve() {
    let session = r#"{"type":"session","id":"s1","patient":"p1","at":"2026-03-05T09:00:00Z","medication":"ketamine","route":"im"}"#;
    // The note comes before both its patient and its session: fine.
    assert!(parse_str(&file(&[&note_with(r#","session":"s1""#), PATIENT, session])).is_ok());

    assert_refused(
        &file(&[PATIENT, &note_with(r#","session":"s9""#)]),
        "line 3, field session: no dosing session s9 in the file or the store",
    );
    assert_refused(
        &file(&[
            PATIENT,
            session,
            &phq9("[0,0,0,0,0,0,0,0,0]").replace("}", r#","session":"s8"}"#),
        ]),
        "line 4, field session: no dosing session s8 in the file or the store",
    );
    let goal = |extra: &str| {
        format!(
            r#"{{"type":"goal","id":"g1","patient":"p1","at":"2026-03-02T10:00:00Z","title":"Walk","domain":"health","status":"active"{extra}}}"#
        )
    };
    assert_refused(
        &file(&[PATIENT, &goal(r#","source_note":"n7""#)]),
        "line 3, field source_note: no note n7 in the file or the store",
    );
    assert_refused(
        &file(&[PATIENT, session, &goal(r#","sessions":["s1","s2"]"#)]),
        "line 4, field sessions[1]: no dosing session s2 in the file or the store",
    );
    assert_refused(
        &file(&[
            PATIENT,
            &note_with(""),
            &goal(
                r#","check_ins":[{"at":"2026-03-03T10:00:00Z","progress":1,"integration_note":"n1"},{"at":"2026-03-04T10:00:00Z","progress":2,"integration_note":"n2"}]"#,
            ),
        ]),
        "line 4, field check_ins[1].integration_note: no note n2 in the file or the store",
    );
}

#[test]
fn references_must_be_to_the_right_kind_and_the_same_patient() {
    let session = r#"{"type":"session","id":"s1","patient":"p1","at":"2026-03-05T09:00:00Z","medication":"ketamine","route":"im"}"#;
    assert_refused(
        &file(&[PATIENT, session, &note_with(r#","session":"p1""#)]),
        "line 4, field session: p1 is a patient on line 2, not a dosing session",
    );
    let other = r#"{"type":"patient","id":"p2","name":"Other Person"}"#;
    let their_session =
        session.replace(r#""id":"s1","patient":"p1""#, r#""id":"s2","patient":"p2""#);
    assert_refused(
        &file(&[
            PATIENT,
            other,
            &their_session,
            &note_with(r#","session":"s2""#),
        ]),
        "line 5, field session: dosing session s2 on line 4 belongs to patient p2, not p1",
    );
    assert_refused(
        &file(&[
            PATIENT,
            session,
            &note_with("").replace(r#""patient":"p1""#, r#""patient":"s1""#),
        ]),
        "line 4, field patient: s1 is a dosing session on line 3, not a patient",
    );
}

#[test]
fn duplicate_ids_are_refused_across_all_kinds() {
    assert_refused(
        &file(&[PATIENT, PATIENT]),
        "line 3, field id: id p1 is already used by a patient on line 2",
    );
    assert_refused(
        &file(&[
            PATIENT,
            &note_with("").replace(r#""id":"n1""#, r#""id":"p1""#),
        ]),
        "line 3, field id: id p1 is already used by a patient on line 2",
    );
}

/// A store as import sees it: ids with their kind and patient.
struct FakeStore(HashMap<String, (RecordKind, PatientId)>);

impl FakeStore {
    fn with(entries: &[(&str, RecordKind, &str)]) -> Self {
        Self(
            entries
                .iter()
                .map(|(id, k, p)| (id.to_string(), (*k, PatientId::parse(p).unwrap())))
                .collect(),
        )
    }
}

impl KnownIds for FakeStore {
    fn kind_of(&self, id: &str) -> Result<Option<RecordKind>, String> {
        Ok(self.0.get(id).map(|e| e.0))
    }
    fn patient_of(&self, id: &str) -> Result<Option<PatientId>, String> {
        Ok(self.0.get(id).map(|e| e.1.clone()))
    }
}

#[test]
fn ids_already_in_the_store_are_refused_and_references_into_it_resolve() {
    let store = FakeStore::with(&[
        ("p1", RecordKind::Patient, "p1"),
        ("s1", RecordKind::Session, "p1"),
        ("p2", RecordKind::Patient, "p2"),
        ("s2", RecordKind::Session, "p2"),
    ]);
    let e = parse(file(&[PATIENT]).as_bytes(), &store).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, field id: id p1 is already used by a patient in the store"
    );
    // A note for a stored patient, about a stored session: fine.
    let ok = parse(file(&[&note_with(r#","session":"s1""#)]).as_bytes(), &store).unwrap();
    assert_eq!(ok.summary.notes, 1);
    let e = parse(file(&[&note_with(r#","session":"s2""#)]).as_bytes(), &store).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, field session: dosing session s2 in the store belongs to patient p2, not p1"
    );
}

#[test]
fn a_store_that_cannot_answer_stops_the_import_with_its_reason() {
    struct Broken;
    impl KnownIds for Broken {
        fn kind_of(&self, _: &str) -> Result<Option<RecordKind>, String> {
            Err("disk on fire (invented)".into())
        }
        fn patient_of(&self, _: &str) -> Result<Option<PatientId>, String> {
            Err("disk on fire (invented)".into())
        }
    }
    let e = parse(file(&[PATIENT]).as_bytes(), &Broken).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: cannot check id p1 against the store, nothing was written: disk on fire (invented)"
    );
}

// ---------------------------------------------------------------------------------------------
// Markdown chart

fn chart(id: &str, opts: &ChartOptions) -> String {
    let records = fixture_records();
    let r = records
        .iter()
        .find(|r| r.patient.id.as_str() == id)
        .unwrap();
    markdown::render(r, opts).0
}

#[test]
fn the_chart_of_the_varied_patient_is_exactly_as_expected() {
    let got = chart("p1", &ChartOptions::default());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/interchange/p1.md"
    );
    // After a deliberate change to the chart, `UPDATE_FIXTURES=1 cargo test` rewrites the file;
    // review its diff before committing it.
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    assert_eq!(got, std::fs::read_to_string(path).unwrap());
}

#[test]
fn the_chart_flags_what_a_clinician_must_see() {
    let md = chart("p1", &ChartOptions::default());
    assert!(
        md.contains("**ITEM 9 above 0: needs follow-up** (item 9 answered 1, \"Several days\")")
    );
    assert!(md.contains("**ADVERSE EVENT:** Nausea; ondansetron 4 mg given."));
    assert!(md.contains(
        "**pre-dose BP 150/85 is above 140/90 (clinic default): consider delaying treatment**"
    ));
    // 192/95 crosses the absolute line too; each flag names its threshold and where it is from.
    assert!(md.contains(
        "**BP 192/95 is high: systolic 180 or more, or diastolic 110 or more (clinic default)**; \
         **BP up +42/+10 from baseline (flagged from +40/+25, clinic default)**; \
         **SpO2 89% is below 90% (clinic default)**"
    ));
    assert!(md.contains("- 09:40 (T+30 min): 3, **sedated** (pre-dose 5)"));
}

#[test]
fn psychotherapy_notes_are_out_of_the_chart_unless_asked_and_then_marked_private() {
    let md = chart("p1", &ChartOptions::default());
    assert!(!md.contains("Process note"));
    assert!(!md.contains("Transference"));
    let opts = ChartOptions {
        include_psychotherapy_notes: true,
        ..ChartOptions::default()
    };
    let md = chart("p1", &opts);
    assert!(md.contains("## 2026-03-06 11:00 UTC · PRIVATE psychotherapy note: Process note"));
    assert!(md.contains("**PRIVATE psychotherapy note.**"));
}

#[test]
fn the_chart_never_carries_terminal_control_characters() {
    let opts = ChartOptions {
        include_psychotherapy_notes: true,
        ..ChartOptions::default()
    };
    let md = chart("p1", &opts);
    assert!(md.contains("Transference themes [31mred[0m; revisit."));
    assert!(
        !md.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a control character survived"
    );
}

#[test]
fn note_text_cannot_break_the_chart_structure() {
    let md = chart("p1", &ChartOptions::default());
    assert!(md.contains("Reconnect with my brother.  \n\\# not a heading  \nSecond line"));
    assert!(!md.lines().any(|l| l == "# not a heading"));
}

#[test]
fn a_session_stopped_before_dosing_reads_as_such() {
    let md = chart("p10", &ChartOptions::default());
    assert!(md.contains("- **Archived:** yes"));
    assert!(md.contains("- **Dose:** 56 mg\n"));
    assert!(md.contains("- **T0 (dose given):** not marked"));
    // Without T0 every reading counts as pre-dose, and there is no time since dose.
    assert!(md.contains(
        "| 09:00 | — | 162/98 | — | — | **pre-dose BP 162/98 is above 140/90 (clinic default): \
         consider delaying treatment** |"
    ));
    assert!(md.contains("- **Ended early because:** Pre-dose BP 162/98; treatment delayed."));
    // Each answer with its question and its words, item 9 among them.
    assert!(md.contains("## 2026-02-01 09:00 UTC · PHQ-9: 0, minimal\n\n### Answers\n"));
    assert!(md.contains(
        "- Item 9, Thoughts that you would be better off dead, or of hurting yourself in some \
         way: **0** (Not at all)\n"
    ));
    assert!(!md.contains("ITEM 9"));
}

#[test]
fn hostile_note_text_stays_inside_its_section() {
    let body = "```\n<!-- hide the rest\n| a | b |\n|---|---|\ntext\n===\n> quoted\n[ref]: http://example.invalid\n    # indented\n\u{1b}]0;title\u{7}\u{9b}2J";
    let note = serde_json::json!({
        "type": "note", "id": "n1", "patient": "p1", "kind": "session",
        "at": "2026-03-02T10:00:00Z", "title": "Title\n# injected <b>",
        "sections": [{"heading": "## also injected", "body": body}], "status": "draft"
    });
    let records = group(
        parse_str(&file(&[PATIENT, &note.to_string()]))
            .unwrap()
            .records,
    );
    let md = markdown::render(&records[0], &ChartOptions::default()).0;
    let ours = [
        "# Test Person",
        "## Summary",
        "## 2026-03-02 10:00 UTC · Session note: ",
        "### \\#\\# also",
    ];
    for line in md.lines() {
        let opens_block = line.starts_with('#')
            || line.starts_with("```")
            || line.starts_with('<')
            || line.starts_with('|')
            || line.starts_with('=')
            || line.starts_with('>')
            || line.starts_with('[');
        assert!(
            !opens_block || ours.iter().any(|o| line.starts_with(o)),
            "note text opened a block: {line:?}\n{md}"
        );
    }
    assert!(md.contains("## 2026-03-02 10:00 UTC · Session note: Title \\# injected \\<b\\>\n"));
    assert!(md.contains("\\```  \n\\<!-- hide the rest  \n\\| a | b |  \n\\|---|---|  \ntext  \n\\===  \n\\> quoted  \n\\[ref]: http://example.invalid  \n    \\# indented  \n]0;title2J\n"), "{md}");
}

#[test]
fn times_are_shown_in_the_zone_given() {
    let opts = ChartOptions {
        tz: jiff::tz::TimeZone::fixed(jiff::tz::offset(-5)),
        ..ChartOptions::default()
    };
    let md = chart("p1", &opts);
    assert!(
        md.contains("## 2026-03-01 04:00 -05 · PHQ-9: 13, moderate"),
        "{md}"
    );
    assert!(md.contains("- **Times shown in:** the zone written after each date"));
}

#[test]
fn several_charts_are_ordered_by_id_and_separated_by_a_rule() {
    let records = fixture_records();
    let mut out = Vec::new();
    let summary =
        markdown::write_charts(&mut out, records.iter().rev(), &ChartOptions::default()).unwrap();
    let md = String::from_utf8(out).unwrap();
    let titles: Vec<&str> = md.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        titles,
        vec![
            "# Zoë Ångström-Test",
            "# Test Person 李",
            "# Rowan \"Ro\" Example \\\\ Test"
        ]
    );
    assert_eq!(md.matches("\n---\n").count(), 2);
    assert_eq!(summary.patients, 3);
    assert_eq!(summary.psychotherapy_notes_withheld, 1);
}

// ---------------------------------------------------------------------------------------------
// Through the sled store

mod through_the_store {
    use super::*;
    use kitnotes::interchange::{
        ExportError, ExportOptions, export_jsonl, export_markdown, import_into,
    };
    use kitnotes::store::{Actor, SledStore, Store};

    fn actor() -> Actor {
        Actor::new("Dr. Test", "2026-03-02T12:00:00Z".parse().unwrap())
    }

    fn empty_store() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn export_all(store: &SledStore, include_psychotherapy_notes: bool) -> String {
        let mut out = Vec::new();
        let opts = ExportOptions {
            patient: None,
            include_psychotherapy_notes,
        };
        export_jsonl(store, &mut out, &opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn export_import_into_an_empty_store_export_is_byte_identical() {
        let (_d1, first) = empty_store();
        let summary = import_into(&first, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        assert_eq!(summary.total(), 15);
        let exported = export_all(&first, true);
        assert_eq!(exported, FIXTURE);

        let (_d2, second) = empty_store();
        import_into(&second, exported.as_bytes(), &actor(), "test.jsonl").unwrap();
        assert_eq!(export_all(&second, true), exported);
    }

    #[test]
    fn an_import_survives_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(export_all(&store, true), FIXTURE);
    }

    #[test]
    fn one_bad_line_at_the_end_writes_nothing() {
        let (_d, store) = empty_store();
        let bad = format!(
            "{FIXTURE}{}\n",
            phq9("[0,0,0,0,0,0,0,0,9]").replace("m1", "m99")
        );
        let e = import_into(&store, bad.as_bytes(), &actor(), "test.jsonl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 17, field items[8]: item 9 is 9; each item is scored 0 to 3"
        );
        assert_eq!(store.counts().unwrap(), Default::default());
        assert!(store.patients().unwrap().is_empty());
    }

    /// A header, then `n` records spread over patients p1 to p3, every other one a PHQ-9 score
    /// and a note with words to index, with the patients' own lines first or last.
    fn measures(n: usize, patients_last: bool) -> String {
        let patients: String = (1..=3)
            .map(|p| {
                format!("{{\"type\":\"patient\",\"id\":\"p{p}\",\"name\":\"Invented {p}\"}}\n")
            })
            .collect();
        let records: String = (0..n)
            .map(|i| {
                let p = 1 + i % 3;
                if i % 2 == 0 {
                    format!(
                        "{{\"type\":\"measure\",\"id\":\"m{i}\",\"patient\":\"p{p}\",\
                         \"instrument\":\"phq9\",\"at\":\"2026-03-02T10:00:00Z\",\
                         \"items\":[1,1,1,1,1,1,1,1,0]}}\n"
                    )
                } else {
                    format!(
                        "{{\"type\":\"note\",\"id\":\"n{i}\",\"patient\":\"p{p}\",\
                         \"kind\":\"integration\",\"at\":\"2026-03-02T11:00:00Z\",\
                         \"title\":\"Integration {i}\",\"status\":\"draft\",\"sections\":[\
                         {{\"heading\":\"Reflection\",\"body\":\"Invented word{i} calm\"}}]}}\n"
                    )
                }
            })
            .collect();
        if patients_last {
            format!("{HEADER_LINE}\n{records}{patients}")
        } else {
            format!("{HEADER_LINE}\n{patients}{records}")
        }
    }

    /// A file that reads as `first` the first time and as `then` every time after.
    struct Changing {
        first: String,
        then: String,
        readings: std::cell::Cell<usize>,
    }

    impl kitnotes::interchange::ImportSource for Changing {
        fn read_from_start(&self) -> std::io::Result<Box<dyn std::io::BufRead + '_>> {
            let n = self.readings.get();
            self.readings.set(n + 1);
            let text = if n == 0 { &self.first } else { &self.then };
            Ok(Box::new(text.as_bytes()))
        }
    }

    #[test]
    fn records_before_their_patients_line_are_written_after_it() {
        let (_d, store) = empty_store();
        // More records than one part, every one before its patient's line.
        let summary = import_into(
            &store,
            measures(4_500, true).as_bytes(),
            &actor(),
            "t.jsonl",
        )
        .unwrap();
        assert_eq!(
            (summary.patients, summary.measures, summary.notes),
            (3, 2_250, 2_250)
        );
        let counts = store.counts().unwrap();
        assert_eq!(
            (counts.patients, counts.measures, counts.notes),
            (3, 2_250, 2_250)
        );
        // An audit entry per part, binding its records, then one per patient, saying what came
        // for them.
        let log = store.audit_log(&Default::default()).unwrap();
        let (parts, patients): (Vec<_>, Vec<_>) = log.iter().partition(|e| e.patient.is_none());
        let details: Vec<&str> = parts.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "part 1: 2048 records from t.jsonl",
                "part 2: 2048 records from t.jsonl",
                "part 3: 407 records from t.jsonl"
            ]
        );
        let bound: Vec<usize> = parts.iter().map(|e| e.values.len()).collect();
        assert_eq!(bound, [2_048, 2_048, 407]);
        assert_eq!(patients.len(), 3);
        assert_eq!(
            patients[0].detail,
            "1 patients, 750 notes, 0 dosing sessions, 750 measures, 0 goals from t.jsonl"
        );
        // The search index written a part at a time agrees with the records, and finds them;
        // every record is bound to the entry of its part.
        let report = store.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.unbound, Default::default());
        let query = kitnotes::search::Query::parse(
            "word4499",
            Default::default(),
            &jiff::tz::TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(store.search(&query, 10).unwrap().total, 1);
    }

    #[test]
    fn a_file_that_changes_between_its_two_readings_is_rolled_back_whole() {
        let (_d, store) = empty_store();
        let first = measures(4_500, false);
        // Still valid, but not what was checked; the change is on the last line, so every
        // part before it was written before it is read.
        let cut = first.trim_end().rfind('\n').unwrap();
        let then = format!(
            "{}{}",
            &first[..cut],
            first[cut..].replace("calm", "calmer")
        );
        assert_ne!(first, then);
        let source = Changing {
            first,
            then,
            readings: Default::default(),
        };
        let e = import_into(&store, source, &actor(), "t.jsonl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the file changed while it was being imported (its bytes differ from those checked); \
             nothing was written. Import it again once nothing else writes to it"
        );
        assert_eq!(store.counts().unwrap(), Default::default());
        assert!(store.audit_log(&Default::default()).unwrap().is_empty());
        assert!(store.check().unwrap().is_ok());
        // And the same file, unchanged, imports whole afterwards.
        let summary = import_into(
            &store,
            measures(4_500, false).as_bytes(),
            &actor(),
            "t.jsonl",
        )
        .unwrap();
        assert_eq!(summary.measures, 2_250);
    }

    #[test]
    fn importing_the_same_file_twice_is_refused_and_changes_nothing() {
        let (_d, store) = empty_store();
        import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        let before = store.counts().unwrap();
        let e = import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2, field id: id p1 is already used by a patient in the store"
        );
        assert_eq!(store.counts().unwrap(), before);
    }

    #[test]
    fn a_file_may_add_records_to_patients_and_sessions_already_stored() {
        let (_d, store) = empty_store();
        import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        let more =
            file(&[&note_with(r#","session":"s1""#).replace(r#""id":"n1""#, r#""id":"n50""#)]);
        let summary = import_into(&store, more.as_bytes(), &actor(), "test.jsonl").unwrap();
        assert_eq!(summary.notes, 1);
        let r = store
            .patient_records(&PatientId::parse("p1").unwrap())
            .unwrap()
            .unwrap();
        assert!(r.notes.iter().any(|n| n.id.as_str() == "n50"));

        // But not to another patient's session.
        let wrong =
            file(&[&note_with(r#","session":"s10""#).replace(r#""id":"n1""#, r#""id":"n51""#)]);
        assert_eq!(
            import_into(&store, wrong.as_bytes(), &actor(), "test.jsonl")
                .unwrap_err()
                .to_string(),
            "line 2, field session: dosing session s10 in the store belongs to patient p10, not p1"
        );
    }

    #[test]
    fn export_of_one_patient_and_of_an_unknown_one() {
        let (_d, store) = empty_store();
        import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        let mut out = Vec::new();
        let opts = ExportOptions {
            patient: Some(PatientId::parse("p10").unwrap()),
            include_psychotherapy_notes: false,
        };
        let summary = export_jsonl(&store, &mut out, &opts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected: Vec<&str> = FIXTURE
            .lines()
            .filter(|l| {
                l.contains(r#""id":"p10""#)
                    || l.contains(r#""patient":"p10""#)
                    || l.contains("kitnotes")
            })
            .collect();
        assert_eq!(text, format!("{}\n", expected.join("\n")));
        assert_eq!(
            (summary.patients, summary.measures, summary.sessions),
            (1, 1, 1)
        );

        let opts = ExportOptions {
            patient: Some(PatientId::parse("p9").unwrap()),
            include_psychotherapy_notes: false,
        };
        let e = export_jsonl(&store, Vec::new(), &opts).unwrap_err();
        assert!(matches!(e, ExportError::UnknownPatient(_)));
        assert_eq!(e.to_string(), "no patient with id p9 in the store");
        let e = export_markdown(&store, Vec::new(), &opts, &jiff::tz::TimeZone::UTC).unwrap_err();
        assert_eq!(e.to_string(), "no patient with id p9 in the store");
    }

    #[test]
    fn store_exports_leave_psychotherapy_notes_out_by_default() {
        let (_d, store) = empty_store();
        import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        let text = export_all(&store, false);
        assert!(!text.contains("psychotherapy"));
        assert_eq!(text.lines().count(), FIXTURE.lines().count() - 1);
    }

    /// Every chart of the store, times in UTC.
    fn chart(store: &SledStore) -> (String, kitnotes::interchange::ExportSummary) {
        let mut out = Vec::new();
        let summary = export_markdown(
            store,
            &mut out,
            &ExportOptions::default(),
            &jiff::tz::TimeZone::UTC,
        )
        .unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    /// A patient's sex goes out and comes back in JSON Lines and shows in the chart; a line
    /// from before it was asked imports with it unknown.
    #[test]
    fn sex_round_trips_and_older_lines_read_as_unknown() {
        let (_d, store) = empty_store();
        let lines = file(&[
            r#"{"type":"patient","id":"p1","name":"Ada Example","sex":"female"}"#,
            r#"{"type":"patient","id":"p2","name":"Bo Example"}"#,
        ]);
        import_into(&store, lines.as_bytes(), &actor(), "test.jsonl").unwrap();
        let text = export_all(&store, false);
        assert!(
            text.contains(r#"{"type":"patient","id":"p1","name":"Ada Example","sex":"female"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"type":"patient","id":"p2","name":"Bo Example"}"#),
            "{text}"
        );
        let p2 = store
            .patient(&PatientId::parse("p2").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(p2.sex, None);
        let (md, _) = chart(&store);
        assert_eq!(md.matches("- **Sex:** female\n").count(), 1, "{md}");
    }

    #[test]
    fn the_markdown_export_is_every_chart_in_id_order() {
        let (_d, store) = empty_store();
        import_into(&store, FIXTURE.as_bytes(), &actor(), "test.jsonl").unwrap();
        let (md, summary) = chart(&store);
        let p1 = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/interchange/p1.md"
        ))
        .unwrap();
        assert!(
            md.starts_with(&format!("{p1}\n---\n\n# Test Person 李\n")),
            "{md}"
        );
        assert!(md.ends_with("\n---\n\n# Rowan \"Ro\" Example \\\\ Test\n\n- **Patient id:** p2\n- **Pronouns:** they/them\n- **Times shown in:** UTC\n- **Course:** no sessions yet\n\n## Summary\n\nNo scores, sessions or goals yet.\n"));
        assert_eq!(summary.patients, 3);
        assert_eq!(summary.psychotherapy_notes_withheld, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput (run with `cargo test --release --test all interchange:: -- --ignored --nocapture --test-threads 1`)

/// 1,000 patients with 99 signed integration notes each: 100,000 lines, about 39 MB.
fn generated_file() -> String {
    let mut s = format!("{HEADER_LINE}\n");
    let patients = 1_000;
    for p in 0..patients {
        s.push_str(&format!(
            r#"{{"type":"patient","id":"p{p}","name":"Generated Person {p}","born":"1980-04-02"}}"#
        ));
        s.push('\n');
        for n in 0..99 {
            s.push_str(&format!(
                r#"{{"type":"note","id":"n{p}-{n}","patient":"p{p}","kind":"integration","at":"2026-03-02T10:{:02}:00Z","title":"Integration {n}","sections":[{{"heading":"Themes","body":"Generated text about the session, long enough to look like a real paragraph of an integration note."}},{{"heading":"Plan","body":"Check in next week."}}],"status":"signed","signed_by":"Dr. Generated","signed_at":"2026-03-02T11:00:00Z"}}"#,
                n % 60
            ));
            s.push('\n');
        }
    }
    s
}

/// The whole import into sled, by phase. Prints rather than asserts: the write phase is the
/// store's one atomic sled batch (about 3 s of it is sled applying 200,000 keys), which this
/// module does not control; the parse rate test below holds interchange to the target.
#[test]
#[ignore = "a measurement: run in release mode"]
fn import_rate_into_sled_for_100k_generated_lines() {
    use kitnotes::interchange::StoreIds;
    use kitnotes::store::{Change, SledStore, Store};
    let s = generated_file();
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let start = std::time::Instant::now();
    let parsed = parse(s.as_bytes(), &StoreIds(&store)).unwrap();
    let parse_took = start.elapsed();
    let notes = parsed.summary.notes as f64;
    let changes: Vec<Change> = parsed.records.into_iter().map(Change::Put).collect();
    let write = std::time::Instant::now();
    store.apply(&changes).unwrap();
    store.flush().unwrap();
    let write_took = write.elapsed();
    let total = start.elapsed();
    println!(
        "parse and check against the store: {:.3} s ({:.0} notes/s); apply and flush: {:.3} s; \
         end to end: {:.0} notes/s",
        parse_took.as_secs_f64(),
        notes / parse_took.as_secs_f64(),
        write_took.as_secs_f64(),
        notes / total.as_secs_f64()
    );
}

#[test]
#[ignore = "a measurement: run in release mode"]
fn parse_rate_for_100k_generated_lines() {
    let s = generated_file();
    let start = std::time::Instant::now();
    let parsed = parse_str(&s).unwrap();
    let took = start.elapsed();
    let rate = parsed.summary.notes as f64 / took.as_secs_f64();
    println!(
        "parsed {} lines ({} MB) in {:.3} s: {:.0} notes/s",
        parsed.summary.total(),
        s.len() / 1_000_000,
        took.as_secs_f64(),
        rate
    );
    assert!(
        rate >= 20_000.0,
        "{rate:.0} notes/s is below the 20,000 target"
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: no input panics the parser, every refusal names a line, and whatever is accepted
// exports to a file that imports back to the same bytes.

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        match parse(bytes, &NothingStored) {
            Err(e) => {
                prop_assert!(e.line.is_some(), "a refusal without a line: {e}");
                prop_assert!(!e.message.is_empty());
            }
            Ok(parsed) => {
                let out = export(&group(parsed.records), true);
                let again = parse_str(&out);
                prop_assert!(
                    again.is_ok(),
                    "an accepted file's export was refused: {again:?}"
                );
                if let Ok(again) = again {
                    prop_assert_eq!(export(&group(again.records), true), out);
                }
            }
        }
        Ok(())
    }

    /// Replaces the `n`th leaf (counting depth first) of a JSON value.
    fn replace_leaf(v: &mut Value, n: &mut usize, with: &Value) -> bool {
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

    fn interesting_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-5i64..40).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(vec![
                "p1",
                "p2",
                "p10",
                "n1",
                "n3",
                "n4",
                "s1",
                "s10",
                "g1",
                "m1",
                "",
                " ",
                "2026-03-05T09:00:00Z",
                "1980-02-29",
                "draft",
                "signed",
                "phq9",
                "cadss",
                "psychotherapy",
                "iv",
                "kitnotes",
                "note",
            ])
            .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn no_note_text_opens_a_block_or_carries_a_control_character(
            text in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]|[ #>*_=`~|\\[<0-9.)+-]){0,80}"
        ) {
            let body = markdown::block(&text);
            // The one line the renderer writes itself, for a body with no text.
            for line in body.lines().filter(|l| *l != "*(empty)*") {
                let rest = line.trim_start_matches(' ');
                let indent = line.len() - rest.len();
                let first = rest.chars().next();
                let opens = indent < 4
                    && !line.starts_with('\t')
                    && matches!(first, Some('#' | '>' | '-' | '+' | '*' | '_' | '=' | '`' | '~' | '|' | '[' | '<'));
                prop_assert!(!opens, "{line:?} from {text:?}");
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                prop_assert!(
                    !(indent < 4 && digits > 0 && matches!(rest.as_bytes().get(digits), Some(b'.' | b')'))),
                    "{line:?} opens a list"
                );
            }
            prop_assert!(!body.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            let one = markdown::inline(&text);
            prop_assert!(!one.chars().any(char::is_control), "{one:?}");
        }

        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            check(&bytes)?;
        }

        #[test]
        fn arbitrary_bytes_after_a_header(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let mut input = format!("{HEADER_LINE}\n").into_bytes();
            input.extend_from_slice(&bytes);
            check(&input)?;
        }

        #[test]
        fn byte_mutations_of_a_valid_file(
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6)
        ) {
            let mut bytes = FIXTURE.as_bytes().to_vec();
            for (at, op, b) in edits {
                let i = at.index(bytes.len().max(1)).min(bytes.len());
                let structural = b"\"{}[],:0123456789\n\\"[usize::from(b) % 19];
                match op {
                    0 if i < bytes.len() => bytes[i] = b,
                    1 => bytes.insert(i, structural),
                    2 if i < bytes.len() => { bytes.remove(i); }
                    _ if i < bytes.len() => bytes[i] = structural,
                    _ => {}
                }
            }
            check(&bytes)?;
        }

        #[test]
        fn line_mutations_of_a_valid_file(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..3), 1..4)
        ) {
            let mut lines: Vec<String> = FIXTURE.lines().map(str::to_owned).collect();
            for (a, b, op) in edits {
                let (i, j) = (a.index(lines.len()), b.index(lines.len()));
                match op {
                    0 => lines.swap(i, j),
                    1 => { let l = lines[i].clone(); lines.insert(j, l); }
                    _ => { lines.remove(i); }
                }
                if lines.is_empty() { break; }
            }
            check(lines.join("\n").as_bytes())?;
        }

        #[test]
        fn value_mutations_of_a_valid_file(
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), any::<prop::sample::Index>(), interesting_value()),
                1..4,
            )
        ) {
            let mut lines: Vec<String> = FIXTURE.lines().map(str::to_owned).collect();
            for (line, leaf, with) in edits {
                let i = line.index(lines.len());
                let Ok(mut v) = serde_json::from_str::<Value>(&lines[i]) else { continue };
                let mut n = leaf.index(64);
                replace_leaf(&mut v, &mut n, &with);
                lines[i] = v.to_string();
            }
            check(lines.join("\n").as_bytes())?;
        }
    }
}

#[test]
fn a_signed_session_round_trips_and_a_half_signature_is_refused() {
    let signed = r#"{"type":"session","id":"s1","patient":"p1","at":"2026-03-05T09:00:00Z","medication":"esketamine","route":"intranasal","dose_mg":56.0,"signed_by":"Dr. Rivera (invented)","signed_at":"2026-03-05T12:00:00Z"}"#;
    let parsed = parse_str(&file(&[PATIENT, signed])).unwrap();
    let out = export(&group(parsed.records), false);
    assert!(out.lines().any(|l| l == signed), "{out}");
    assert_refused(
        &file(&[
            PATIENT,
            &signed.replace(r#","signed_at":"2026-03-05T12:00:00Z""#, ""),
        ]),
        "line 3, field signed_at: signed_by needs signed_at: when the session was signed",
    );
}

// ---------------------------------------------------------------------------------------------
// Safety follow-ups and courses

const FOLLOW_UP: &str = r#"{"type":"safety_follow_up","id":"f1","patient":"p1","at":"2026-03-02T10:05:00Z","risk":"moderate","plan":"Safety plan reviewed; call tomorrow","by":"Dr. Test","measure":"m1"}"#;
const COURSE: &str = r#"{"type":"course","id":"c1","patient":"p1","at":"2026-05-01T09:00:00Z","kind":"reinduction","by":"Dr. Test","planned_sessions":6,"reason":"Relapse after 10 weeks without a dose"}"#;

#[test]
fn a_safety_follow_up_and_a_course_round_trip_and_show_in_the_chart() {
    let input = file(&[PATIENT, &phq9("[1,1,1,1,1,1,1,1,1]"), FOLLOW_UP, COURSE]);
    let parsed = parse_str(&input).unwrap();
    assert_eq!(
        (parsed.summary.safety_follow_ups, parsed.summary.courses),
        (1, 1)
    );
    assert!(
        parsed
            .summary
            .to_string()
            .ends_with(", 1 safety follow-ups, 1 courses"),
        "{}",
        parsed.summary
    );
    let records = group(parsed.records);
    let out = export(&records, false);
    assert!(out.contains(FOLLOW_UP), "{out}");
    assert!(out.contains(COURSE), "{out}");
    assert_eq!(export(&group(parse_str(&out).unwrap().records), false), out);

    let (chart, summary) = markdown::render(&records[0], &ChartOptions::default());
    assert_eq!((summary.safety_follow_ups, summary.courses), (1, 1));
    assert!(
        chart.contains("· Safety follow-up (PHQ-9 item 9)\n\n- **Risk assessed:** moderate\n- **Plan:** Safety plan reviewed; call tomorrow\n- **By:** Dr. Test\n- **Answers:** PHQ-9 9 mild, ITEM 9 = 1 of 2026-03-02 10:00"),
        "{chart}"
    );
    assert!(chart.contains("· Course started: re-induction"), "{chart}");
    assert!(chart.contains("- **Reason:** Relapse after 10 weeks without a dose"));
}

#[test]
fn a_follow_up_without_a_plan_or_pointing_at_no_measure_is_refused() {
    let no_plan = FOLLOW_UP.replace("Safety plan reviewed; call tomorrow", " ");
    let e = refusal(&file(&[PATIENT, &phq9("[1,1,1,1,1,1,1,1,1]"), &no_plan]));
    assert!(e.to_string().contains("plan"), "{e}");
    let e = refusal(&file(&[PATIENT, FOLLOW_UP]));
    assert!(e.to_string().contains("m1"), "{e}");
    let bad_risk = FOLLOW_UP.replace("moderate", "severe");
    let e = refusal(&file(&[PATIENT, &phq9("[1,1,1,1,1,1,1,1,1]"), &bad_risk]));
    assert!(e.to_string().contains("risk"), "{e}");
}

const MEDICATION: &str = r#"{"type":"list_entry","id":"l1","patient":"p1","at":"2026-03-02T10:00:00Z","list":"medication","name":"alprazolam","detail":"0.5 mg as needed","class":"benzodiazepine","started":"2025-01-10","stopped":"2026-03-09","by":"Dr. Test","revisions":[{"at":"2026-03-03T09:00:00Z","by":"Dr. Test","kind":"corrected","why":"wrong drug entered","before":{"name":"lorazepam","detail":"0.5 mg as needed","class":"benzodiazepine","started":"2025-01-10"}},{"at":"2026-03-09T09:00:00Z","by":"Dr. Test","kind":"stopped","why":"tapered off","before":{"name":"alprazolam","detail":"0.5 mg as needed","class":"benzodiazepine","started":"2025-01-10"}}]}"#;
const PROBLEM: &str = r#"{"type":"list_entry","id":"l2","patient":"p1","at":"2026-03-02T10:00:00Z","list":"problem","name":"Major depressive disorder, recurrent","started":"2019-06-01","by":"Dr. Test"}"#;
const ALLERGY: &str = r#"{"type":"list_entry","id":"l3","patient":"p1","at":"2026-03-02T10:00:00Z","list":"allergy","name":"penicillin","detail":"hives","by":"Dr. Test"}"#;

#[test]
fn the_lists_round_trip_through_json_lines_and_show_in_the_chart() {
    let input = file(&[PATIENT, MEDICATION, PROBLEM, ALLERGY]);
    let parsed = parse_str(&input).unwrap();
    assert_eq!(parsed.summary.list_entries, 3);
    assert!(
        parsed.summary.to_string().ends_with(", 3 list entries"),
        "{}",
        parsed.summary
    );
    let records = group(parsed.records);
    let med = &records[0]
        .lists
        .iter()
        .find(|l| l.id.as_str() == "l1")
        .unwrap();
    assert_eq!(
        med.revisions[0].before.name, "lorazepam",
        "the original is kept"
    );
    let out = export(&records, false);
    for line in [MEDICATION, PROBLEM, ALLERGY] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    assert_eq!(export(&group(parse_str(&out).unwrap().records), false), out);

    let (chart, summary) = markdown::render(&records[0], &ChartOptions::default());
    assert_eq!(summary.list_entries, 3);
    assert!(
        chart.contains(
            "- **Problems:** Major depressive disorder, recurrent (since 2019-06-01)\n\
             - **Medications:** alprazolam 0.5 mg as needed (benzodiazepine) (since 2025-01-10, \
             stopped 2026-03-09)\n- **Allergies:** penicillin: hives\n"
        ),
        "{chart}"
    );
    assert!(
        chart.contains(
            "· Medication list: alprazolam\n\n- **Dose:** 0.5 mg as needed\n- **Class:** \
             benzodiazepine\n- **Started:** 2025-01-10\n- **Stopped:** 2026-03-09\n- **Recorded \
             by:** Dr. Test\n- corrected: ~~lorazepam 0.5 mg as needed (benzodiazepine), since \
             2025-01-10~~ → alprazolam 0.5 mg as needed (benzodiazepine), since 2025-01-10; by \
             Dr. Test, 2026-03-03 09:00 UTC: wrong drug entered\n- stopped by Dr. Test, \
             2026-03-09 09:00 UTC: tapered off\n"
        ),
        "{chart}"
    );
}

#[test]
fn a_list_entry_that_breaks_a_rule_is_refused_with_its_field() {
    let no_class = MEDICATION.replace(
        r#""class":"benzodiazepine","started":"2025-01-10","stopped""#,
        r#""started":"2025-01-10","stopped""#,
    );
    let e = refusal(&file(&[PATIENT, &no_class]));
    assert!(e.to_string().contains("class"), "{e}");
    let backwards = PROBLEM.replace("2019-06-01", "2027-01-01").replace(
        r#""by":"Dr. Test"}"#,
        r#""stopped":"2026-01-01","by":"Dr. Test"}"#,
    );
    let e = refusal(&file(&[PATIENT, &backwards]));
    assert!(e.to_string().contains("stopped"), "{e}");
    let bad_class = MEDICATION.replace("benzodiazepine", "barbiturate");
    let e = refusal(&file(&[PATIENT, &bad_class]));
    assert!(e.to_string().contains("class"), "{e}");
    let erased = MEDICATION.replace(r#""why":"wrong drug entered""#, r#""why":"""#);
    let e = refusal(&file(&[PATIENT, &erased]));
    assert!(e.to_string().contains("why"), "{e}");
}
