//! The `kitnotes` binary as a user runs it: help on every subcommand, clear errors, exit codes.

use crate::common::*;
use std::process::{Command, Output};

/// The binary with its data and config kept inside `data`.
fn command(data: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kitnotes"));
    cmd.args(args)
        .env("KITNOTES_DATA_DIR", data)
        .env("KITNOTES_CONFIG_DIR", data.join("config"))
        .env("KITNOTES_PASSPHRASE_FILE", passphrase_file());
    cmd
}

fn kitnotes(data: &std::path::Path, args: &[&str]) -> Output {
    command(data, args).output().expect("kitnotes runs")
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let top = kitnotes(dir.path(), &["--help"]);
    assert!(top.status.success());
    let help = text(&top.stdout);
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(subcommands.contains(&"check".to_string()), "{help}");
    for sub in subcommands {
        let out = kitnotes(dir.path(), &[&sub, "--help"]);
        assert!(out.status.success(), "kitnotes {sub} --help failed");
        assert!(
            text(&out.stdout).contains("Usage: kitnotes"),
            "kitnotes {sub} --help"
        );
    }
}

#[test]
fn check_on_a_missing_store_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!(
            "kitnotes: error: there is no kitnotes store at {} yet",
            dir.path().join("store").display()
        )
    );
}

#[test]
fn a_second_kitnotes_on_the_same_store_gets_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let _held = kitnotes::store::SledStore::open(&store_dir).unwrap();
    let out = kitnotes(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "the store at {} is already open in another kitnotes process",
            store_dir.display()
        )),
        "{err}"
    );
}

#[test]
fn a_bad_config_file_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/config.toml"),
        "clinician = \"Dr. Q\"\ncolour = \"red\"\n",
    )
    .unwrap();
    drop(kitnotes::store::SledStore::open(&dir.path().join("store")).unwrap());
    let out = kitnotes(dir.path(), &["check"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("config.toml:2:1: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn demo_then_check_then_export_import_export_round_trips_through_the_binary() {
    let a = tempfile::tempdir().unwrap();
    let demo = kitnotes(
        a.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "4",
            "--notes-per-patient",
            "9",
            "--anchor",
            "2026-11-01",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    let out = text(&demo.stdout);
    assert!(
        out.contains(&format!(
            "Built the demo store at {}",
            a.path().join("demo").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("4 patients") && out.contains("36 notes"),
        "{out}"
    );

    let again = kitnotes(
        a.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "4",
            "--notes-per-patient",
            "9",
        ],
    );
    assert!(
        text(&again.stdout).contains("Using the existing demo store"),
        "a rerun keeps the user's demo store"
    );

    let check = kitnotes(a.path(), &["--demo", "check"]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    let report = text(&check.stdout);
    assert!(report.contains("Patients: 4"), "{report}");
    assert!(report.contains("Notes: 36 ("), "{report}");
    assert!(report.contains("Integrity: OK"), "{report}");

    let first = a.path().join("first.jsonl");
    let export = kitnotes(
        a.path(),
        &[
            "--demo",
            "export",
            "--include-psychotherapy-notes",
            "-o",
            first.to_str().unwrap(),
        ],
    );
    assert!(export.status.success(), "{}", text(&export.stderr));
    let b = tempfile::tempdir().unwrap();
    let import = kitnotes(b.path(), &["import", first.to_str().unwrap()]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert!(
        text(&import.stdout).starts_with("Imported 4 patients, 36 notes"),
        "{}",
        text(&import.stdout)
    );
    let second = kitnotes(b.path(), &["export", "--include-psychotherapy-notes"]);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        second.stdout,
        "export -> import -> export is byte-identical"
    );
}

#[test]
fn a_bad_import_names_the_line_and_field_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"type\":\"kitnotes\",\"version\":1}\n",
            "{\"type\":\"patient\",\"id\":\"p1\",\"name\":\"Test Person\",\"born\":\"1980-04-02\"}\n",
            "{\"type\":\"measure\",\"id\":\"m1\",\"patient\":\"p1\",\"instrument\":\"gad7\",\"at\":\"2026-03-02T10:00:00Z\",\"items\":[0,1,2,3,0,1,7]}\n",
        ),
    )
    .unwrap();
    let out = kitnotes(dir.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!(
            "kitnotes: error: {}: line 3, field items[6]: item 7 is 7; each item is scored 0 to 3\nNothing was imported.",
            file.display()
        )
    );
    let export = kitnotes(dir.path(), &["export"]);
    assert_eq!(
        text(&export.stdout),
        "{\"type\":\"kitnotes\",\"version\":1}\n",
        "the store is still empty"
    );
}

#[test]
fn import_reads_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path(), &["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"type\":\"kitnotes\",\"version\":1}\n{\"type\":\"patient\",\"id\":\"p1\",\"name\":\"Test Person\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Imported 1 patients"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn without_a_terminal_the_ui_says_so_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the kitnotes UI needs a terminal"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn today_prints_what_needs_doing_with_a_cadence_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let built = kitnotes(dir.path(), &["demo", "--no-ui", "--anchor", "2026-11-21"]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let at = ["--demo", "today", "--at", "2026-11-21T15:30:00Z"];
    let out = kitnotes(dir.path(), &at);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("Today, Saturday 21 November 2026"), "{s}");
    assert!(
        s.contains("PHQ-9 item 9 above 0, not yet followed up (1):"),
        "{s}"
    );
    assert!(s.contains("ITEM 9 = 1") && s.contains("planned"), "{s}");
    assert!(s.contains("24 h after session 3"), "{s}");
    // Without a 24 h step the same moment has no 24 h check-ins to do.
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/config.toml"),
        "[check_ins]\ncadence = [\"72h\", \"1w\"]\n",
    )
    .unwrap();
    let s = text(&kitnotes(dir.path(), &at).stdout);
    assert!(!s.contains("24 h after"), "{s}");
    // A bad cadence is refused with where and why.
    std::fs::write(
        dir.path().join("config/config.toml"),
        "[check_ins]\ncadence = [\"72h\", \"2m\"]\n",
    )
    .unwrap();
    let out = kitnotes(dir.path(), &at);
    assert!(!out.status.success());
    let e = text(&out.stderr);
    assert!(
        e.contains("config.toml:2:19: check_ins.cadence: \"2m\"") && e.contains("\"mo\""),
        "{e}"
    );
}

/// `-o` naming a pipe or a device writes into it: moving the export over it would replace it
/// (run as root, `-o /dev/null` once replaced /dev/null with a file).
#[test]
fn export_into_a_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let demo = kitnotes(
        dir.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "2",
            "--notes-per-patient",
            "3",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    let fifo = dir.path().join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = kitnotes(
        dir.path(),
        &["--demo", "export", "-o", fifo.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = reader.join().unwrap();
    assert!(read.starts_with(r#"{"type":"kitnotes""#), "{read}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

/// A file from before courses were records: the import and the check say the courses are
/// inferred from the dose dates, with the configured gap.
#[test]
fn importing_a_file_without_course_records_says_courses_are_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[courses]\nreinduction_gap = \"10 weeks\"\n",
    )
    .unwrap();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/interchange/varied.jsonl"
    );
    let out = kitnotes(dir.path(), &["import", file]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(
            "No course records: courses are inferred from the dose dates (a dose more than \
             10 weeks after the one before starts a re-induction"
        ),
        "{}",
        text(&out.stdout)
    );
    let check = kitnotes(dir.path(), &["check"]);
    assert!(
        text(&check.stdout).contains("Courses: none recorded; inferred from the dose dates"),
        "{}",
        text(&check.stdout)
    );
}

/// Issue 20: `search --order date` lists the oldest match first, over every match (the limit
/// keeps the oldest); a bad order is named.
#[test]
fn search_order_date_prints_the_oldest_matches_first() {
    let dir = tempfile::tempdir().unwrap();
    let built = kitnotes(dir.path(), &["demo", "--no-ui", "--anchor", "2026-11-21"]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let hits = |args: &[&str]| -> Vec<String> {
        let out = kitnotes(dir.path(), args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["at"].as_str().unwrap().to_owned())
            .collect()
    };
    let every = hits(&["--demo", "search", "--json", "--limit", "100000", "session"]);
    let oldest = hits(&[
        "--demo", "search", "--json", "--order", "date", "--limit", "5", "session",
    ]);
    let ts =
        |v: &[String]| -> Vec<jiff::Timestamp> { v.iter().map(|s| s.parse().unwrap()).collect() };
    let mut all = ts(&every);
    all.sort();
    assert_eq!(
        ts(&oldest),
        all[..5].to_vec(),
        "the five oldest of {}",
        all.len()
    );
    let newest = ts(&hits(&[
        "--demo", "search", "--json", "--order", "newest", "session",
    ]));
    assert!(newest.windows(2).all(|w| w[0] >= w[1]), "{newest:?}");
    let bad = kitnotes(
        dir.path(),
        &["--demo", "search", "--order", "sideways", "session"],
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("orders are best, date"),
        "{}",
        text(&bad.stderr)
    );
}

/// pdftotext (poppler-utils) reads the PDF back. `.ci/run` installs it and sets
/// KITNOTES_REQUIRE_PDFTOTEXT=1, so CI fails without it; elsewhere its absence only skips.
fn pdftotext_or_skip(test: &str) -> bool {
    let found = Command::new("pdftotext").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("KITNOTES_REQUIRE_PDFTOTEXT").is_none(),
            "KITNOTES_REQUIRE_PDFTOTEXT is set but pdftotext is not installed (apt-get install poppler-utils)"
        );
        eprintln!("NOTICE: {test} skipped: pdftotext is not installed (poppler-utils)");
    }
    found
}

/// Whitespace (line ends from wrapping, layout spaces) as single spaces.
fn squeezed(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_pdf_chart_names_the_patient_and_numbers_every_page_and_holds_the_records() {
    if !pdftotext_or_skip(
        "the_pdf_chart_names_the_patient_and_numbers_every_page_and_holds_the_records",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/config.toml"),
        "timezone = \"America/New_York\"\n",
    )
    .unwrap();
    let demo = kitnotes(
        dir.path(),
        &[
            "demo",
            "--no-ui",
            "--patients",
            "3",
            "--anchor",
            "2026-11-01",
        ],
    );
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    // The records as the store has them, psychotherapy notes included, to compare with.
    let jsonl = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--patient",
            "p0003",
            "--include-psychotherapy-notes",
        ],
    );
    assert!(jsonl.status.success(), "{}", text(&jsonl.stderr));
    let records =
        kitnotes::interchange::parse(&jsonl.stdout[..], &kitnotes::interchange::NothingStored)
            .unwrap()
            .records;
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();

    let pdf = dir.path().join("chart.pdf");
    let export = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--format",
            "pdf",
            "--patient",
            "p0003",
            "-o",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert!(
        text(&export.stderr).contains("psychotherapy notes left out"),
        "{}",
        text(&export.stderr)
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the chart is readable by this user only");
    }
    let read = |path: &std::path::Path| {
        let out = Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(path)
            .arg("-")
            .output()
            .unwrap();
        assert!(out.status.success(), "pdftotext: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let chart = read(&pdf);

    let mut name = String::new();
    let mut born = String::new();
    for r in &records {
        if let kitnotes::model::Record::Patient(p) = r {
            name = p.name.clone();
            born = p.born.unwrap().to_string();
        }
    }
    assert_eq!(name, "Maite Kowalczyk");
    // pdftotext ends every page with a form feed.
    let pages: Vec<&str> = chart
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(
        pages.len() >= 3,
        "a chart of several pages, got {}",
        pages.len()
    );
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains(&format!("{name}, born {born}")),
            "page {} does not name the patient:\n{page}",
            i + 1
        );
        assert!(
            page.contains(&format!("page {} of {}", i + 1, pages.len())),
            "page {} has no page number:\n{page}",
            i + 1
        );
    }
    let flat = squeezed(&chart);
    assert!(flat.contains("Times shown in: America/New_York"), "{flat}");
    // Every PHQ-9 as the store has it: its time in the clinic's zone and its total.
    let mut phq9 = 0;
    for r in &records {
        if let kitnotes::model::Record::Measure(m) = r
            && m.instrument == kitnotes::model::Instrument::Phq9
        {
            let Ok(kitnotes::model::Score::Scored { total, .. }) = m.score() else {
                continue;
            };
            let when =
                m.at.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string();
            let heading = format!("{when} · PHQ-9: {total},");
            assert!(flat.contains(&heading), "no {heading:?} in the chart");
            // Its answers with their questions.
            assert!(flat.contains(&format!(
                "Item 9, Thoughts that you would be better off dead, or of hurting yourself in some way: {}",
                m.items[8]
            )));
            phq9 += 1;
        }
    }
    assert!(phq9 >= 2, "the demo patient has PHQ-9 scores ({phq9})");
    // The summary comes first, and its score table matches the records: each scored PHQ-9 and
    // GAD-7 as a row with its day in the clinic's zone, the scale and the total, on page 1 or 2.
    let summary_pages = squeezed(&pages[..2.min(pages.len())].join(" "));
    assert!(summary_pages.contains("Summary"), "{summary_pages}");
    let mut rows = 0;
    for r in &records {
        if let kitnotes::model::Record::Measure(m) = r
            && let Ok(kitnotes::model::Score::Scored { total, .. }) = m.score()
        {
            let day = m.at.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
            let row = format!("{day} {} {total} ", m.instrument.label());
            assert!(
                summary_pages.contains(&row),
                "no summary row {row:?} in:\n{summary_pages}"
            );
            rows += 1;
        }
    }
    assert!(rows >= 4, "summary rows checked: {rows}");
    // A signed note's text, and no psychotherapy note's without the flag.
    let note_text = |private: bool| {
        records
            .iter()
            .find_map(|r| match r {
                kitnotes::model::Record::Note(n)
                    if n.kind.is_private() == private && !n.sections.is_empty() =>
                {
                    let body = &n.sections.iter().find(|s| !s.body.trim().is_empty())?.body;
                    Some(
                        squeezed(body)
                            .split(' ')
                            .take(8)
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                }
                _ => None,
            })
            .unwrap()
    };
    let note = note_text(false);
    assert!(flat.contains(&note), "no {note:?} in the chart");
    let private = note_text(true);
    assert!(
        !flat.contains(&private),
        "a psychotherapy note went out without the flag"
    );
    assert!(!flat.contains("PRIVATE psychotherapy note"));

    let with_private = dir.path().join("private.pdf");
    let export = kitnotes(
        dir.path(),
        &[
            "--demo",
            "export",
            "--format",
            "pdf",
            "--patient",
            "p0003",
            "--include-psychotherapy-notes",
            "-o",
            with_private.to_str().unwrap(),
        ],
    );
    assert!(export.status.success(), "{}", text(&export.stderr));
    let flat = squeezed(&read(&with_private));
    assert!(flat.contains("PRIVATE psychotherapy note"));
    assert!(
        flat.contains(&private),
        "no {private:?} in the chart with the flag"
    );
}

#[test]
fn a_pdf_chart_needs_a_patient() {
    let dir = tempfile::tempdir().unwrap();
    let out = kitnotes(dir.path(), &["export", "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--format pdf needs --patient ID"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_pdf_chart_shows_western_letters_as_typed_and_others_as_a_stand_in() {
    if !pdftotext_or_skip("the_pdf_chart_shows_western_letters_as_typed_and_others_as_a_stand_in") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/interchange/varied.jsonl"
    );
    let import = kitnotes(dir.path(), &["import", fixture]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    for (id, header) in [
        ("p1", "Zoë Ångström-Test, born 1980-04-02 · patient p1"),
        ("p10", "Test Person ? · patient p10"),
        ("p2", "Rowan \"Ro\" Example \\ Test · patient p2"),
    ] {
        let export = kitnotes(dir.path(), &["export", "--format", "pdf", "--patient", id]);
        assert!(export.status.success(), "{}", text(&export.stderr));
        assert!(export.stdout.starts_with(b"%PDF-"));
        let pdf = dir.path().join(format!("{id}.pdf"));
        std::fs::write(&pdf, &export.stdout).unwrap();
        let out = Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let chart = text(&out.stdout);
        assert!(chart.starts_with(header), "{id}:\n{chart}");
    }
}
