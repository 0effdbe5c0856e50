//! Note templates and a note's life as a clinician sees it: every built-in template loads, a
//! user's file overrides a built-in, a broken file is reported with its place while the others
//! load, required sections block signing, a signed note is final in the store, and an addendum
//! reaches both exports while psychotherapy notes stay out of them by default.

use crate::common::*;
use kitnotes::interchange::{ExportOptions, export_jsonl, export_markdown};
use kitnotes::model::*;
use kitnotes::store::{SledStore, Store, StoreError};
use kitnotes::templates::{self, BUILT_IN_FILES, TemplateError, TemplateSource};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates").join(name), text).unwrap();
}

/// A copy of a built-in template's text.
fn builtin_text(file: &str) -> &'static str {
    BUILT_IN_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
        .unwrap()
}

#[test]
fn every_built_in_template_loads_and_makes_a_valid_draft() {
    let loaded = templates::builtin();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let ids: Vec<&str> = loaded
        .templates
        .iter()
        .map(|l| l.template.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "preparation",
            "dosing-session",
            "integration",
            "psychotherapy-process",
            "soap",
            "dap",
            "birp"
        ]
    );
    assert_eq!(loaded.templates.len(), BUILT_IN_FILES.len());
    for kind in NoteKind::ALL {
        assert!(
            loaded.templates.for_kind(kind).next().is_some(),
            "a template for {kind} notes"
        );
    }
    for l in loaded.templates.iter() {
        let t = &l.template;
        assert_eq!(l.source, TemplateSource::BuiltIn);
        assert!(
            !t.required_headings().is_empty(),
            "{}: something required",
            t.id
        );
        for s in &t.sections {
            assert!(!s.prompt.is_empty(), "{} / {}: a prompt", t.id, s.heading);
        }
        let note = t.new_note(rid("n1"), pid("p1"), ts("2026-03-02T10:00:00Z"));
        note.validate().unwrap();
        assert_eq!(note.template.as_deref(), Some(t.id.as_str()));
        assert_eq!(note.kind, t.kind);
        let headings: Vec<&str> = note.sections.iter().map(|s| s.heading.as_str()).collect();
        let expected: Vec<&str> = t.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, expected);
    }
    // The issue's preparation sections, in order.
    let prep = loaded.templates.get("preparation").unwrap();
    let headings: Vec<&str> = prep.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        &headings[..6],
        [
            "Screening and contraindications",
            "Current medications",
            "Intentions",
            "Set and setting",
            "Plan for difficult moments",
            "Consent"
        ]
    );
    // A starter is where a draft begins.
    let session = loaded.templates.get("dosing-session").unwrap();
    let draft = session.new_note(rid("n2"), pid("p1"), ts("2026-03-02T10:00:00Z"));
    assert!(draft.sections[1].body.starts_with("Medication: "));
}

#[test]
fn a_user_template_overrides_a_built_in_in_its_place_and_adds_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let soap = builtin_text("soap.toml")
        .replace("SOAP progress note", "SOAP (our clinic)")
        .replace("kind = \"integration\"", "kind = \"session\"");
    write(dir.path(), "soap.toml", &soap);
    write(
        dir.path(),
        "phone-check-in.toml",
        "id = \"phone-check-in\"\nname = \"Phone check-in\"\nkind = \"integration\"\n\n\
         [[sections]]\nheading = \"Call\"\nprompt = \"How the patient is doing.\"\nrequired = true\n",
    );
    write(dir.path(), "README.md", "not a template");
    let loaded = templates::load(dir.path());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let t = &loaded.templates;
    assert_eq!(t.len(), BUILT_IN_FILES.len() + 1);
    assert_eq!(t.get("soap").unwrap().name, "SOAP (our clinic)");
    assert_eq!(t.get("soap").unwrap().kind, NoteKind::Session);
    assert_eq!(
        t.loaded("soap").unwrap().source,
        TemplateSource::User {
            path: dir.path().join("templates/soap.toml"),
            overrides_builtin: true
        }
    );
    assert_eq!(
        t.loaded("soap").unwrap().source.to_string(),
        format!(
            "{} (overrides built-in)",
            dir.path().join("templates/soap.toml").display()
        )
    );
    let order: Vec<&str> = t.iter().map(|l| l.template.id.as_str()).collect();
    assert_eq!(order[4], "soap", "an override keeps the built-in's place");
    assert_eq!(order.last(), Some(&"phone-check-in"));
    assert!(matches!(
        t.loaded("phone-check-in").unwrap().source,
        TemplateSource::User {
            overrides_builtin: false,
            ..
        }
    ));
    assert!(t.for_kind(NoteKind::Session).any(|x| x.id == "soap"));
}

#[test]
fn a_broken_file_is_reported_with_file_line_and_column_and_the_others_still_load() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a-broken.toml",
        "id = \"broken\"\nname = \"Broken\"\nkind = \"dosing\"\n\n[[sections]]\nheading = \"A\"\n",
    );
    write(
        dir.path(),
        "b-good.toml",
        "id = \"good\"\nname = \"Good\"\nkind = \"session\"\n\n[[sections]]\nheading = \"A\"\n",
    );
    write(
        dir.path(),
        "c-same-id.toml",
        "name = \"Again\"\nid = \"good\"\nkind = \"session\"\n\n[[sections]]\nheading = \"B\"\n",
    );
    write(
        dir.path(),
        "d-twice.toml",
        "id = \"twice\"\nname = \"T\"\nkind = \"session\"\n\n[[sections]]\nheading = \"Plan\"\n\n\
         [[sections]]\nheading = \"plan\"\n",
    );
    let loaded = templates::load(dir.path());
    let t = &loaded.templates;
    assert!(t.get("good").is_some());
    assert_eq!(
        t.get("good").unwrap().name,
        "Good",
        "the first file keeps its id"
    );
    assert!(t.get("broken").is_none() && t.get("twice").is_none());
    assert_eq!(
        t.len(),
        BUILT_IN_FILES.len() + 1,
        "every built-in still loads"
    );
    let messages: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let path = |name: &str| dir.path().join("templates").join(name);
    assert!(
        messages[0].starts_with(&format!(
            "{}:3:8: unknown variant `dosing`, expected one of `preparation`, `session`, \
             `integration`, `psychotherapy`",
            path("a-broken.toml").display()
        )),
        "{}",
        messages[0]
    );
    assert_eq!(
        messages[1],
        format!(
            "{}:2:6: the template id \"good\" is already used by {}; this file is skipped",
            path("c-same-id.toml").display(),
            path("b-good.toml").display()
        )
    );
    assert_eq!(
        messages[2],
        format!(
            "{}:9:11: section 2 repeats the heading \"plan\" of section 1",
            path("d-twice.toml").display()
        )
    );
    assert!(matches!(
        &loaded.errors[0],
        TemplateError::Invalid {
            line: 3,
            column: 8,
            ..
        }
    ));
}

#[test]
fn required_sections_block_signing_until_filled_in() {
    let loaded = templates::builtin();
    let t = loaded.templates.get("dosing-session").unwrap();
    let mut note = t.new_note(rid("n1"), pid("p1"), ts("2026-03-02T10:00:00Z"));
    let at = ts("2026-03-02T13:00:00Z");
    let err = loaded
        .templates
        .sign(&mut note, "Dr. Rivera", at)
        .unwrap_err();
    assert_eq!(
        err,
        NoteError::RequiredSectionsEmpty(vec![
            "Before dosing".into(),
            "Dose".into(),
            "Course of the session".into(),
            "Monitoring".into(),
            "Discharge".into(),
        ]),
        "a section holding only its starter labels counts as empty"
    );
    assert!(!note.is_signed());

    for (i, text) in [
        "Calm, fasted since 07:00. BP 128/82, HR 72, SpO2 98%.",
        "Medication: ketamine\nRoute: IM\nDose: 70 mg (1.0 mg/kg)\nLot: DEMO-0001\nT0: 10:05",
        "+5 min: eyes closed, music on.",
        "BP before dosing: 128/82\nBP at about 40 min: 141/88",
    ]
    .into_iter()
    .enumerate()
    {
        note.set_section_body(i, text).unwrap();
    }
    let err = loaded
        .templates
        .sign(&mut note, "Dr. Rivera", at)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot sign: required section is empty: Discharge"
    );
    note.set_section_body(4, "12:20, home with partner, not driving.")
        .unwrap();
    loaded.templates.sign(&mut note, "Dr. Rivera", at).unwrap();
    assert!(note.is_signed());
    assert_eq!(note.signed_by.as_deref(), Some("Dr. Rivera"));
    assert_eq!(
        loaded.templates.sign(&mut note, "Dr. Rivera", at),
        Err(NoteError::AlreadySigned(rid("n1")))
    );

    // A note whose template is gone (or never had one) signs with nothing required.
    let mut orphan = t.new_note(rid("n2"), pid("p1"), ts("2026-03-02T10:00:00Z"));
    orphan.template = Some("removed-template".into());
    loaded
        .templates
        .sign(&mut orphan, "Dr. Rivera", at)
        .unwrap();
}

fn store_with_patient() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store
        .put(Record::Patient(Patient::new(pid("p1"), "Ada Example")))
        .unwrap();
    (dir, store)
}

fn export(store: &SledStore, md: bool) -> String {
    let mut out = Vec::new();
    let opts = ExportOptions::default();
    if md {
        export_markdown(store, &mut out, &opts, &jiff::tz::TimeZone::UTC).unwrap();
    } else {
        export_jsonl(store, &mut out, &opts).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_signed_note_from_a_template_is_final_in_the_store_and_its_addendum_is_exported() {
    let (_dir, store) = store_with_patient();
    let loaded = templates::builtin();
    let t = loaded.templates.get("integration").unwrap();
    let mut note = t.new_note(rid("n1"), pid("p1"), ts("2026-03-03T10:00:00Z"));
    for (heading, text) in [
        ("Experience", "Felt held by the music; remembered the lake."),
        (
            "Goal check-ins",
            "- Walk daily: four of seven days, progress 5/10.",
        ),
        ("Plan", "Journal after walks; next dose 2026-03-06."),
    ] {
        let i = note
            .sections
            .iter()
            .position(|s| s.heading == heading)
            .unwrap();
        note.set_section_body(i, text).unwrap();
    }
    store.put(Record::Note(note.clone())).unwrap();
    loaded
        .templates
        .sign(&mut note, "Dr. Rivera", ts("2026-03-03T11:00:00Z"))
        .unwrap();
    store.put(Record::Note(note.clone())).unwrap();

    let mut rewritten = note.clone();
    rewritten.sections[0].body = "Changed after signing".into();
    assert!(matches!(
        store.put(Record::Note(rewritten)),
        Err(StoreError::Refused(NoteError::Signed(_)))
    ));

    note.add_addendum(
        "Patient called: the lake memory is from age nine, not twelve.",
        "Dr. Rivera",
        ts("2026-03-04T09:30:00Z"),
    )
    .unwrap();
    store.put(Record::Note(note)).unwrap();

    let jsonl = export(&store, false);
    assert!(
        jsonl.contains(
            r#""addenda":[{"at":"2026-03-04T09:30:00Z","by":"Dr. Rivera","text":"Patient called: the lake memory is from age nine, not twelve."}]"#
        ),
        "{jsonl}"
    );
    assert!(jsonl.contains(r#""template":"integration""#));
    let md = export(&store, true);
    assert!(
        md.contains("### Addendum, 2026-03-04 09:30 UTC, by Dr. Rivera"),
        "{md}"
    );
    assert!(md.contains("Patient called: the lake memory is from age nine, not twelve."));
    assert!(md.contains("*Signed by Dr. Rivera at 2026-03-03 11:00 UTC*"));
    // Optional sections left empty are not printed as empty headings.
    assert!(!md.contains("### Safety"), "{md}");
    assert!(md.contains("### Experience"));
}

#[test]
fn psychotherapy_notes_from_their_template_stay_out_of_exports_by_default() {
    let (_dir, store) = store_with_patient();
    let loaded = templates::builtin();
    let t = loaded.templates.get("psychotherapy-process").unwrap();
    let mut note = t.new_note(rid("n1"), pid("p1"), ts("2026-03-03T10:00:00Z"));
    note.set_section_body(0, "Long silence before speaking of the brother.")
        .unwrap();
    store.put(Record::Note(note)).unwrap();
    for md in [false, true] {
        let out = export(&store, md);
        assert!(!out.contains("brother"), "{out}");
        assert!(out.contains("Ada Example"));
    }
}

#[test]
fn the_templates_command_lists_what_loaded_and_reports_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write(&config, "soap.toml", builtin_text("soap.toml"));
    write(
        &config,
        "oops.toml",
        "id = \"oops\"\nname = \"Oops\"\nkind = \"session\"\n",
    );
    let run = |args: &[&str]| kitnotes_with(dir.path(), &config, args);
    let out = run(&["templates"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.starts_with("ID "), "{stdout}");
    assert!(stdout.contains("dosing-session"), "{stdout}");
    assert!(stdout.contains("overrides built-in"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1 + BUILT_IN_FILES.len());
    assert!(
        stderr.contains(&format!(
            "{}:1:1: missing field `sections`",
            config.join("templates/oops.toml").display()
        )),
        "{stderr}"
    );

    std::fs::remove_file(config.join("templates/oops.toml")).unwrap();
    let out = run(&["templates", "show", "preparation"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("6. Consent (required to sign)"), "{stdout}");
    assert!(stdout.contains("   Prompt: Informed consent"), "{stdout}");

    let out = run(&["templates", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no template with id \"nope\""));
}

#[test]
fn a_broken_template_is_reported_in_the_status_bar_when_the_ui_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write(
        &config,
        "oops.toml",
        "id = \"oops\"\nname = \"Oops\"\nkind = \"session\"\n",
    );
    let run = |args: &[&str]| kitnotes_with(dir.path(), &config, args);
    let out = run(&["demo", "--no-ui", "--patients", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "screenshot",
        "--demo",
        "--size",
        "220x12",
        "--at",
        "2026-11-21T15:30:00Z",
    ]);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = screen.lines().last().unwrap();
    let expected = format!(
        "A template did not load: {}:1:1: missing field `sections`",
        config.join("templates/oops.toml").display()
    );
    assert!(status.contains(&expected), "{screen}");
}

#[test]
fn the_example_in_the_docs_parses() {
    let doc = include_str!("../docs/TEMPLATES.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let t = templates::parse(Path::new("docs/TEMPLATES.md"), text).unwrap();
    assert_eq!(t.id, "phone-check-in");
    assert_eq!(t.required_headings(), ["Call"]);
    assert_eq!(t.sections[1].starter, "BP: \nHR: ");
}
