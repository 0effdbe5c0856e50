//! The Today view and the Course view, driven with keys on the demo store at a fixed clock.

use crate::common::*;
use kitnotes::model::{CheckIn, GoalStatus, Record};

#[test]
fn today_lists_what_needs_doing_across_patients() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "t");
        let s = screen(&f.app);
        insta::assert_snapshot!(format!("today_{}x{}", size.0, size.1), s);
    }
}

#[test]
fn course_view_of_a_patient() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "<Down>c");
        let s = screen(&f.app);
        insta::assert_snapshot!(format!("course_{}x{}", size.0, size.1), s);
    }
}

/// Issue 20: `s` in the course view shows the one-page summary of a patient with a
/// re-induction: both courses, each score with its course's own baseline and the session it
/// followed, the sessions with their dose and adverse events, the goals; `s` again, the chart.
#[test]
fn the_course_summary_at_120x40_and_80x24() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "/");
        type_text(&mut f.app, "Maite");
        press(&mut f.app, "<Enter>cs");
        let s = screen(&f.app);
        assert!(s.contains("Summary: Maite Kowalczyk"), "{s}");
        insta::assert_snapshot!(format!("course_summary_{}x{}", size.0, size.1), s);
        // The table matches the records: every scored PHQ-9 is a row with its total.
        let summary = f.app.course_summary().unwrap();
        let phq: Vec<_> = kitnotes::model::course::series(
            &f.app.patient.as_ref().unwrap().records,
            kitnotes::model::Instrument::Phq9,
        );
        let rows: Vec<_> = summary
            .scores
            .iter()
            .filter(|r| r.instrument == kitnotes::model::Instrument::Phq9)
            .map(|r| (r.at, r.total))
            .collect();
        assert_eq!(
            rows,
            phq.iter().map(|p| (p.at, p.total)).collect::<Vec<_>>()
        );
        // A re-induction's first score is its own baseline.
        let baselines = summary
            .scores
            .iter()
            .filter(|r| r.change == "baseline")
            .count();
        assert!(
            baselines >= 4,
            "a baseline per course and scale: {baselines}"
        );
        press(&mut f.app, "<End>");
        assert!(screen(&f.app).contains("Goals"), "{}", screen(&f.app));
        press(&mut f.app, "s");
        assert!(screen(&f.app).contains("PHQ-9 and GAD-7 over time"));
    }
}

/// The rows of the open Today view, as (group heading word, patient, what) for assertions.
fn today_rows(app: &kitnotes::app::App) -> Vec<String> {
    let Some(kitnotes::app::views::View::Today(t)) = &app.view else {
        panic!("Today is not open");
    };
    t.rows()
        .map(|r| format!("{} · {:?}", r.patient_name, std::mem::discriminant(&r.item)))
        .collect()
}

#[test]
fn today_holds_each_kind_and_enter_goes_to_the_right_place() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "t");
    let s = screen(&f.app);
    // The demo's item-9 answer without a signed note since is first, loudly.
    assert!(s.contains("PHQ-9 13 · ITEM 9 = 1"), "{s}");
    assert!(s.contains("planned"), "a session booked today: {s}");
    assert!(s.contains("overdue"), "{s}");
    assert!(s.contains("Unsigned drafts, oldest first (8)"), "{s}");
    // Enter on the follow-up shows the PHQ-9 on the patient's timeline.
    press(&mut f.app, "<Enter>");
    assert!(f.app.view.is_none());
    let v = f.app.patient.as_ref().unwrap();
    assert_eq!(v.records.patient.name, "Wren Chaudhry");
    assert_eq!(v.selected().unwrap().kind.tag(), "PHQ9");
    // A check-in row opens that patient's course.
    press(&mut f.app, "t");
    let first_check_in = today_rows(&f.app)
        .iter()
        .position(|r| r.starts_with("Wren Vasquez"))
        .unwrap();
    for _ in 0..first_check_in {
        press(&mut f.app, "<Down>");
    }
    press(&mut f.app, "<Enter>");
    assert!(matches!(
        f.app.view,
        Some(kitnotes::app::views::View::Course(_))
    ));
    let s = screen(&f.app);
    assert!(s.contains("Wren Vasquez") && s.contains("overdue"), "{s}");
    // The last row is a draft: Enter opens it in the editor.
    press(&mut f.app, "<Esc>t<End><Enter>");
    assert!(f.app.editor.is_some(), "{}", screen(&f.app));
}

#[test]
fn today_follows_the_clock_due_overdue_then_done() {
    let mut w = writer((120, 40));
    let count = |app: &mut kitnotes::app::App, who: &str| {
        press(app, "t");
        let n = screen(app)
            .lines()
            .filter(|l| l.contains(who) && l.contains("after session") && !l.contains("note ·"))
            .map(str::to_owned)
            .collect::<Vec<_>>();
        press(app, "<Esc>");
        n
    };
    // At 15:30 Wren Chaudhry's 24 h check-in after session 3 is overdue.
    let rows = count(&mut w.app, "Wren Chaudhry");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("overdue") && rows[0].contains("24 h after session 3"));
    // Two days later the 72 h one has come due instead (the 24 h one is missed).
    later(&w, 2 * 24 * 3600 * 1000);
    let rows = count(&mut w.app, "Wren Chaudhry");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("72 h after session 3"), "{rows:?}");
    // A check-in on one of the goals is done: nothing left for Wren.
    let id = w.app.store().patients().unwrap();
    let wren = id.iter().find(|p| p.name == "Wren Chaudhry").unwrap();
    let records = w.app.store().patient_records(&wren.id).unwrap().unwrap();
    let mut goal = records
        .goals
        .iter()
        .find(|g| g.status == GoalStatus::Active)
        .unwrap()
        .clone();
    goal.check_ins.push(CheckIn {
        at: w.app.now(),
        progress: 4,
        note: "Phoned in; doing a little better.".into(),
        integration_note: None,
    });
    w.app.store().put(Record::Goal(goal)).unwrap();
    assert!(count(&mut w.app, "Wren Chaudhry").is_empty());
}

/// The flow: an intention from a preparation note becomes a goal, two check-ins follow,
/// and both show in the course view and in both exports.
#[test]
fn an_intention_becomes_a_goal_with_two_check_ins_seen_in_the_course_and_the_export() {
    use kitnotes::interchange::{ExportOptions, export_jsonl, export_markdown};
    let intention = "Ask for help before things pile up";
    let mut w = writer((120, 40));
    let patient = open_patient(&mut w.app, "Maite");
    // g: the intentions; this one is from her first course and not yet a goal.
    press(&mut w.app, "g");
    type_text(&mut w.app, "ask for help");
    // The form opens on the domain, which has to be chosen: <Left> picks self-care.
    press(&mut w.app, "<Enter><Left><Enter>");
    assert!(w.app.popup.is_none(), "{}", screen(&w.app));
    // The course view lists it; i on it checks in, twice.
    press(&mut w.app, "c");
    let s = screen(&w.app);
    assert!(s.contains(intention), "{s}");
    let row = s
        .lines()
        .find(|l| l.contains(intention))
        .unwrap()
        .to_owned();
    assert!(row.contains("–/10"), "no check-in yet: {row}");
    for (progress, note) in [
        ("3", "Asked a friend for a lift"),
        ("5", "Asked at work too"),
    ] {
        // Select the new goal (the course lists active goals oldest first: it is the last).
        press(&mut w.app, "<End>i");
        type_text(&mut w.app, progress);
        press(&mut w.app, "<Tab>");
        type_text(&mut w.app, note);
        press(&mut w.app, "<Enter>");
        assert!(w.app.popup.is_none(), "{}", screen(&w.app));
        later(&w, 3_600_000);
    }
    let s = screen(&w.app);
    assert!(
        matches!(w.app.view, Some(kitnotes::app::views::View::Course(_))),
        "still in the course view"
    );
    let row = s.lines().find(|l| l.contains(intention)).unwrap();
    assert!(row.contains("5/10") && row.contains("21 Nov"), "{row}");
    // The check-in did the overdue 24 h step of the cadence.
    assert!(s.contains("done    24 h after session 2"), "{s}");
    assert!(!s.contains("overdue"), "{s}");
    // Both exports carry the goal, its source and the two check-ins.
    let opts = ExportOptions {
        patient: Some(patient),
        include_psychotherapy_notes: false,
    };
    let mut jsonl = Vec::new();
    export_jsonl(w.app.store(), &mut jsonl, &opts).unwrap();
    let jsonl = String::from_utf8(jsonl).unwrap();
    let line = jsonl
        .lines()
        .find(|l| l.contains("\"type\":\"goal\"") && l.contains(intention))
        .expect("the goal is exported");
    assert!(line.contains("\"source_note\":\"p0003-n002\""), "{line}");
    assert!(
        line.contains("Asked a friend for a lift") && line.contains("\"progress\":5"),
        "{line}"
    );
    let mut md = Vec::new();
    export_markdown(w.app.store(), &mut md, &opts, &jiff::tz::TimeZone::UTC).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains(&format!("Integration goal: {intention}")),
        "{md}"
    );
    assert!(
        md.contains("progress 3/10 · Asked a friend for a lift")
            && md.contains("progress 5/10 · Asked at work too"),
        "{md}"
    );
}

#[test]
fn s_on_a_patient_with_a_session_booked_today_starts_that_session() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "t<Down><Enter>");
    let name = f.app.patient.as_ref().unwrap().records.patient.name.clone();
    assert_eq!(name, "Maite Kowalczyk");
    press(&mut f.app, "s");
    let c = f.app.console.as_ref().expect("the console is open");
    assert_eq!(c.session.number, Some(3));
    assert!(c.session.dose_time.is_none());
    // Started half an hour before the booking: the session records when it really started.
    assert_eq!(
        status(&f.app),
        "The session booked for Sat 21 Nov 16:00 starts now, at 15:30; the booking stays in the \
         record"
    );
    assert_eq!(c.session.at, NOW.parse::<jiff::Timestamp>().unwrap());
    assert_eq!(
        c.session.booked_at(),
        Some("2026-11-21T16:00:00Z".parse::<jiff::Timestamp>().unwrap())
    );
    // Booked at the dose of her last session.
    assert!(screen(&f.app).contains("0.6 mg/kg"), "{}", screen(&f.app));
}

/// The safety case at the keys: `f` on Today's item-9 row opens the follow-up form (risk,
/// plan, by whom, the clinician filled in); once saved, the row leaves Today, the entry is on
/// the patient's timeline with its detail, and the PHQ-9's detail says it was followed up.
#[test]
fn f_on_an_item9_row_records_a_safety_follow_up_and_the_row_leaves_today() {
    let mut w = writer((120, 40));
    press(&mut w.app, "t");
    assert!(screen(&w.app).contains("PHQ-9 13 · ITEM 9 = 1"));
    press(&mut w.app, "f");
    let s = screen(&w.app);
    assert!(s.contains("Safety follow-up · Wren Chaudhry"), "{s}");
    assert!(
        s.contains("Dr. Rowan Vale"),
        "the clinician is filled in: {s}"
    );
    // Saving without a risk or a plan says which fields are missing, and keeps the form.
    press(&mut w.app, "<Enter>");
    assert!(
        screen(&w.app).contains("2 fields to fix"),
        "{}",
        screen(&w.app)
    );
    press(&mut w.app, "<Right><Right><Tab>");
    for c in "Safety plan reviewed; phone call tomorrow".chars() {
        press(&mut w.app, &c.to_string().replace(' ', "<Space>"));
    }
    press(&mut w.app, "<Enter>");
    let s = screen(&w.app);
    assert!(w.app.popup.is_none(), "saved: {s}");
    assert!(!s.contains("PHQ-9 13 · ITEM 9 = 1"), "answered, gone: {s}");
    assert!(s.contains("risk moderate"), "{s}");

    let patients = w.app.store().patients().unwrap();
    let wren = patients.iter().find(|p| p.name == "Wren Chaudhry").unwrap();
    let r = w.app.store().patient_records(&wren.id).unwrap().unwrap();
    assert_eq!(r.follow_ups.len(), 1);
    let f = &r.follow_ups[0];
    assert_eq!(f.risk, kitnotes::model::RiskLevel::Moderate);
    assert_eq!(f.plan, "Safety plan reviewed; phone call tomorrow");
    assert_eq!(f.by, "Dr. Rowan Vale");
    assert!(f.measure.is_some());
    // `kitnotes today`'s list (the same model) no longer has it either.
    let tz = jiff::tz::TimeZone::UTC;
    let t = kitnotes::app::views::read_today(
        w.app.store(),
        &Default::default(),
        kitnotes::model::course::DEFAULT_REINDUCTION_GAP,
        w.app.now(),
        &tz,
    )
    .unwrap();
    assert!(t.follow_ups.iter().all(|row| row.patient != wren.id));
    // On the timeline: the SAFE entry, and the PHQ-9's detail says it was followed up.
    let entries = kitnotes::model::timeline::timeline(&r);
    let safe = entries.iter().find(|e| e.kind.tag() == "SAFE").unwrap();
    assert_eq!(
        safe.title,
        "Safety follow-up: risk moderate · by Dr. Rowan Vale"
    );
    let phq = entries
        .iter()
        .find(|e| Some(&e.record) == f.measure.as_ref())
        .unwrap();
    let th = kitnotes::model::monitoring::Thresholds::default();
    let text: Vec<String> = kitnotes::app::detail::document(&r, phq, &tz, &th)
        .iter()
        .map(|l| l.iter().map(|s| s.1.as_str()).collect())
        .collect();
    assert!(
        text.iter()
            .any(|l| l.starts_with("Followed up: ") && l.contains("risk moderate")),
        "{text:?}"
    );
}

/// Maite Kowalczyk (demo p0003) as an older store holds her: the demo's records without course
/// records, imported from JSON Lines into a new store.
fn maite_from_an_older_file() -> Writer {
    use kitnotes::demo::{self, DemoSpec};
    let spec = DemoSpec {
        patients: 12,
        notes_per_patient: 24,
        seed: 42,
        ..DemoSpec::new(jiff::civil::date(2026, 11, 21))
    };
    let records = demo::generate(&spec).nth(2).unwrap();
    let mut it = records.into_iter();
    let Some(Record::Patient(p)) = it.next() else {
        panic!("the patient comes first")
    };
    assert_eq!(p.name, "Maite Kowalczyk");
    let mut r = kitnotes::model::PatientRecords::new(p);
    for x in it {
        r.push(x);
    }
    assert!(!r.courses.is_empty(), "the demo records her courses");
    r.courses.clear();
    let mut file = Vec::new();
    kitnotes::interchange::write_jsonl(&mut file, &[r], true).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains("\"type\":\"course\""));
    let dir = tempfile::TempDir::new().unwrap();
    let store = kitnotes::store::sled_store::SledStore::open(dir.path()).unwrap();
    let actor = kitnotes::store::Actor::new("Importer", ts(NOW));
    kitnotes::interchange::import_into(&store, &file[..], &actor, "older.jsonl").unwrap();
    writer_on(dir, store, (120, 40), kitnotes::keymap::Preset::Default)
}

/// The re-induction: after months without a dose, Maite's second course has its own
/// baseline, session numbers and check-ins, inferred from the dose dates of a file with no
/// course records, and the course view lists both courses, the current one first.
#[test]
fn an_older_store_gets_courses_inferred_and_a_reinduction_reads_as_its_own_course() {
    let mut w = maite_from_an_older_file();
    press(&mut w.app, "c");
    let s = screen(&w.app);
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].starts_with(" Maite Kowalczyk · re-induction · session 2 of 6, then maintenance"),
        "{s}"
    );
    // Her own baseline, not the first course's PHQ-9 21.
    assert!(
        lines[1].starts_with(" PHQ-9 18 moderately severe (baseline)"),
        "{s}"
    );
    // Inferred courses start at their first dose.
    assert!(
        lines[3].starts_with(
            " Courses: 2 re-induction from 2026-11-14, 2 sessions (inferred from the dose dates) · \
             1 induction 2026-03-02 to 2026-04-"
        ),
        "{s}"
    );
    // Check-ins of this course only, numbered within it.
    assert!(s.contains("24 h after session 2"), "{s}");
    assert!(s.contains("This course: 2 of 2 done"), "{s}");
    // The header over the panes says the same.
    press(&mut w.app, "<Esc>");
    assert!(
        screen(&w.app).contains("re-induction · session 2 of 6, then maintenance"),
        "{}",
        screen(&w.app)
    );
}

/// The clinician starts a course from the course view: a re-induction is offered, the record is
/// written, and the view follows the new course (no sessions yet, listed first). Ten weeks
/// without a dose, the view suggests a re-induction first.
#[test]
fn n_in_the_course_view_starts_a_reinduction_and_a_long_gap_suggests_one() {
    let mut w = maite_from_an_older_file();
    press(&mut w.app, "c");
    assert!(!screen(&w.app).contains("consider a re-induction"));
    later(&w, 10 * 7 * 24 * 3600 * 1000);
    let s = screen(&w.app);
    assert!(
        s.contains("last dose 10 weeks ago, longer than the 8 weeks re-induction gap: consider a re-induction: n starts one"),
        "{s}"
    );
    press(&mut w.app, "n");
    let s = screen(&w.app);
    assert!(s.contains("Start a course · Maite Kowalczyk"), "{s}");
    assert!(s.contains("re-induction"), "{s}");
    press(&mut w.app, "<Tab><Tab>"); // past Sessions, to Reason
    for c in "Relapse".chars() {
        press(&mut w.app, &c.to_string());
    }
    press(&mut w.app, "<Enter>");
    let s = screen(&w.app);
    assert!(w.app.popup.is_none(), "{s}");
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].starts_with(" Maite Kowalczyk · re-induction · no sessions yet"),
        "{s}"
    );
    assert!(
        lines[3]
            .starts_with(" Courses: 3 re-induction from 2027-01-30, 0 sessions · 2 re-induction"),
        "{s}"
    );
    let v = w.app.patient.as_ref().unwrap();
    let c = &v.records.courses;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, kitnotes::model::CourseKind::Reinduction);
    assert_eq!(c[0].by, "Dr. Rowan Vale");
    assert_eq!(c[0].planned_sessions, Some(6));
    assert_eq!(c[0].reason, "Relapse");
}
