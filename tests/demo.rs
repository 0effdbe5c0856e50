//! The demo caseload as a user of the library sees it: every record is valid and scores, the note
//! count is exact, a seed always gives the same caseload, each patient's course is in a sensible
//! order before the anchor date, the demo shows the situations the app must handle, and it
//! builds into a real store that reads back the same.

use jiff::civil::{Date, date};
use jiff::{Timestamp, tz::TimeZone};
use kitnotes::demo::{self, DemoSpec, DemoSpecError, DemoSummary};
use kitnotes::model::cadence::{Cadence, CheckInState, schedule};
use kitnotes::model::measure::{baseline, outcome};
use kitnotes::model::monitoring::{Thresholds, VitalsFlag, session_flags};
use kitnotes::model::*;
use kitnotes::store::Store;
use kitnotes::store::sled_store::SledStore;
use kitnotes::templates;
use std::collections::{HashMap, HashSet};

const ANCHOR: Date = date(2026, 3, 2);

fn spec(patients: u32, notes: u32, seed: u64) -> DemoSpec {
    DemoSpec {
        patients,
        notes_per_patient: notes,
        seed,
        ..DemoSpec::new(ANCHOR)
    }
}

fn actor() -> kitnotes::store::Actor {
    kitnotes::store::Actor::new("Dr. Demo Builder", "2026-03-02T08:00:00Z".parse().unwrap())
}

fn anchor_start(s: &DemoSpec) -> Timestamp {
    s.tz.to_timestamp(s.anchor.at(0, 0, 0, 0)).unwrap()
}

fn records(s: &DemoSpec) -> Vec<PatientRecords> {
    demo::generate(s)
        .map(|rs| {
            let mut it = rs.into_iter();
            let Some(Record::Patient(p)) = it.next() else {
                panic!("the patient record must come first");
            };
            let mut pr = PatientRecords::new(p);
            for r in it {
                assert!(
                    !matches!(r, Record::Patient(_)),
                    "only one patient record per patient"
                );
                pr.push(r);
            }
            pr
        })
        .collect()
}

fn local_date(s: &DemoSpec, at: Timestamp) -> Date {
    s.tz.to_datetime(at).date()
}

/// Everything the brief promises about every record, for one spec.
fn check_spec(s: &DemoSpec) {
    let start = anchor_start(s);
    let mut ids = HashSet::new();
    for (index, rs) in demo::generate(s).enumerate() {
        let Some(Record::Patient(p)) = rs.first() else {
            panic!("patient {index}: the patient record must come first");
        };
        assert_eq!(p.id.as_str(), format!("p{:04}", index + 1));
        let mut notes = 0;
        let mut last_at = None;
        for r in &rs {
            r.validate()
                .unwrap_or_else(|e| panic!("{} does not validate: {e}", r.id()));
            assert_eq!(r.patient(), &p.id, "{} belongs to its patient", r.id());
            assert!(ids.insert(r.id().to_owned()), "id {} is used twice", r.id());
            // The one record allowed on the anchor day: the next dose, booked, not started.
            let booked = matches!(r, Record::Session(x)
                if x.dose_time.is_none() && x.discharge.is_none()
                    && local_date(s, x.at) == s.anchor);
            if let Some(at) = r.at()
                && !booked
            {
                assert!(at < start, "{} is at {at}, not before the anchor", r.id());
                assert!(
                    last_at.is_none_or(|l| l <= at),
                    "{} is out of order",
                    r.id()
                );
                last_at = Some(at);
            }
            match r {
                Record::Measure(m) => {
                    m.score().unwrap();
                }
                Record::Note(n) => {
                    notes += 1;
                    // Made and signed the way the app makes and signs notes.
                    let t = templates::builtins()
                        .for_note(n)
                        .unwrap_or_else(|| panic!("{}: a built-in template", n.id));
                    assert_eq!(t.kind, n.kind, "{}", n.id);
                    let headings: Vec<&str> =
                        n.sections.iter().map(|x| x.heading.as_str()).collect();
                    let expected: Vec<&str> =
                        t.sections.iter().map(|x| x.heading.as_str()).collect();
                    assert_eq!(headings, expected, "{}: the template's sections", n.id);
                    if n.is_signed() {
                        assert_eq!(t.unfilled_required(n), Vec::<String>::new(), "{}", n.id);
                    }
                    for a in &n.addenda {
                        assert!(a.at < start, "addendum of {} after the anchor", n.id);
                    }
                    if let Some(t) = n.signed_at {
                        assert!(t < start, "{} signed after the anchor", n.id);
                    }
                }
                Record::Goal(g) => {
                    for c in &g.check_ins {
                        assert!(c.at < start, "check-in of {} after the anchor", g.id);
                    }
                }
                Record::Session(x) if x.dose_time.is_none() => {
                    assert!(
                        x.discharge.is_none() && local_date(s, x.at) == s.anchor,
                        "{}: the only undosed session is the next one, booked for the anchor day",
                        x.id
                    );
                }
                Record::Session(x) => {
                    let d = x.discharge.as_ref().unwrap();
                    assert!(d.at < start, "{} discharged after the anchor", x.id);
                }
                Record::ListEntry(l) => {
                    l.validate().unwrap();
                    if let (Some(start), Some(born)) = (l.started, p.born) {
                        let sixteen = born.checked_add(jiff::ToSpan::years(16)).unwrap();
                        assert!(start >= sixteen, "{} started before 16", l.id);
                    }
                    for r in &l.revisions {
                        assert!(r.at < start, "a stop of {} after the anchor", l.id);
                    }
                }
                Record::SafetyFollowUp(_) | Record::Course(_) | Record::Patient(_) => {}
            }
        }
        assert_eq!(notes, s.notes_per_patient, "note count of {}", p.id);
    }
}

#[test]
fn every_record_validates_and_the_note_count_is_exact_for_many_sizes_and_seeds() {
    for seed in [0, 1, 42, 7_777, u64::MAX] {
        for notes in [0, 1, 2, 3, 5, 7, 11, 24, 37] {
            check_spec(&spec(12, notes, seed));
        }
    }
    check_spec(&spec(24, 100, 42));
    check_spec(&spec(12, 100, 9));
    // The largest size, and anchors at the ends of the accepted range.
    check_spec(&spec(12, demo::MAX_NOTES_PER_PATIENT, 4));
    for anchor in [date(1900, 1, 1), date(2999, 12, 31)] {
        let s = DemoSpec {
            anchor,
            ..spec(12, 100, 6)
        };
        s.validate().unwrap();
        check_spec(&s);
    }
}

#[test]
fn a_long_history_never_starts_before_the_patient_is_an_adult() {
    let s = spec(12, demo::MAX_NOTES_PER_PATIENT, 8);
    for p in records(&s) {
        let first = p
            .notes
            .iter()
            .map(|n| n.at)
            .chain(p.measures.iter().map(|m| m.at))
            .min()
            .unwrap();
        let mut at_start = p.patient.clone();
        at_start.archived = false;
        let age = at_start.age_on(local_date(&s, first)).unwrap();
        assert!(age >= 18, "{} is {age} at their first visit", p.patient.id);
    }
}

#[test]
fn other_time_zones_and_anchors_work_too() {
    let mut s = spec(12, 24, 5);
    s.tz = TimeZone::fixed(jiff::tz::offset(-8));
    s.anchor = date(2024, 2, 29);
    check_spec(&s);
    // A zone with DST changes, when the system has one; the demo does not depend on it.
    if let Ok(tz) = TimeZone::get("Europe/Berlin") {
        s.tz = tz;
        s.anchor = date(2025, 10, 27);
        check_spec(&s);
    }
}

#[test]
fn a_seed_gives_the_same_caseload_and_another_seed_another() {
    let a: Vec<_> = demo::generate(&spec(12, 24, 42)).collect();
    let b: Vec<_> = demo::generate(&spec(12, 24, 42)).collect();
    assert_eq!(a, b);
    let c: Vec<_> = demo::generate(&spec(12, 24, 43)).collect();
    assert_ne!(a, c);
    // Each patient depends only on the spec and their index.
    assert_eq!(demo::generate_patient(&spec(12, 24, 42), 7), a[7]);
    assert_eq!(
        demo::generate_patient(&spec(500, 24, 42), 7),
        a[7],
        "the number of patients does not change patient 7"
    );
}

#[test]
fn ids_are_short_and_readable() {
    let rs = demo::generate_patient(&spec(12, 24, 42), 0);
    let ids: Vec<&str> = rs.iter().map(|r| r.id()).collect();
    assert_eq!(ids[0], "p0001");
    for prefix in ["p0001-n001", "p0001-s01", "p0001-m01", "p0001-g1"] {
        assert!(ids.contains(&prefix), "{prefix} missing from {ids:?}");
    }
    // Notes are numbered in time order.
    let notes: Vec<&Note> = rs
        .iter()
        .filter_map(|r| match r {
            Record::Note(n) => Some(n),
            _ => None,
        })
        .collect();
    for (i, n) in notes.iter().enumerate() {
        assert_eq!(n.id.as_str(), format!("p0001-n{:03}", i + 1));
    }
}

/// The order of one patient's course: sessions, their notes, integration, measures, goals.
fn check_chronology(s: &DemoSpec, pr: &PatientRecords) {
    let sessions: HashMap<&RecordId, &DosingSession> =
        pr.sessions.iter().map(|x| (&x.id, x)).collect();
    let notes: HashMap<&RecordId, &Note> = pr.notes.iter().map(|n| (&n.id, n)).collect();
    let min = |a: Timestamp, b: Timestamp| b.duration_since(a).as_mins();
    for x in pr.sessions.iter().filter(|x| x.dose_time.is_some()) {
        let t0 = x.dose_time.unwrap();
        assert!(x.at <= t0, "{}: arrival before T0", x.id);
        let d = x.discharge.as_ref().unwrap();
        assert!(d.transport_arranged, "{}: nobody drives home", x.id);
        assert!(min(t0, d.at) >= 120, "{}: observed at least 2 hours", x.id);
        if x.route == Route::Intranasal {
            let ready = d.ready_minutes.unwrap();
            assert!(ready as i64 <= min(t0, d.at));
            assert!(matches!(x.dose_mg, Some(56.0) | Some(84.0)));
        }
        if let (Some(k), Some(w)) = (x.dose_mg_per_kg, x.weight_kg) {
            assert_eq!(
                x.dose_mg,
                Some(kitnotes::model::session::mg_from_mg_per_kg(k, w))
            );
        }
        // BP before dosing, about 40 minutes after, and before discharge.
        let pre = x.baseline_vitals().unwrap();
        assert!(pre.at <= t0);
        assert!(
            x.vitals
                .iter()
                .any(|v| (35..=45).contains(&min(t0, v.at)) && v.bp().is_some()),
            "{}: BP at about 40 min",
            x.id
        );
        let last = x.vitals.iter().max_by_key(|v| v.at).unwrap();
        assert!(last.at <= d.at && min(last.at, d.at) <= 15);
        // MOAA/S: 5 before, a dip, 5 again.
        assert_eq!(x.predose_moaas(), Some(5));
        assert!(x.sedation.iter().any(|r| r.moaas < 5));
        assert_eq!(x.sedation.iter().max_by_key(|r| r.at).unwrap().moaas, 5);
        assert!((3..=8).contains(&x.observations.len()), "{}", x.id);
        assert!(x.observations.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(x.dissociation[0].scale, "CADSS");
    }
    for n in &pr.notes {
        if let (Some(signed), true) = (n.signed_at, n.is_signed()) {
            assert!(signed >= n.at, "{}: signed before it was written", n.id);
            for a in &n.addenda {
                assert!(a.at >= signed, "{}: addendum before signing", n.id);
            }
        }
        match n.kind {
            NoteKind::Session => {
                let x = sessions[n.session.as_ref().unwrap()];
                assert!(n.at > x.dose_time.unwrap(), "{}: written after T0", n.id);
            }
            NoteKind::Integration => {
                let x = sessions[n.session.as_ref().unwrap()];
                let days = local_date(s, x.dose_time.unwrap())
                    .until(local_date(s, n.at))
                    .unwrap()
                    .get_days();
                assert!((1..=7).contains(&days), "{}: {days} days after", n.id);
            }
            NoteKind::Preparation | NoteKind::Psychotherapy => assert!(n.session.is_none()),
        }
    }
    // Every session given has its session note; integration follows unless it is still to come.
    for x in pr.sessions.iter().filter(|x| x.dose_time.is_some()) {
        assert_eq!(
            pr.notes
                .iter()
                .filter(|n| n.kind == NoteKind::Session && n.session.as_ref() == Some(&x.id))
                .count(),
            1
        );
    }
    // A note written at the visit where questionnaires were filled in quotes their totals.
    for n in &pr.notes {
        // Every note has the template's Measures section; only some visits fill it in.
        let Some(quoted) = n
            .sections
            .iter()
            .find(|x| x.heading == "Measures" && !x.body.is_empty())
        else {
            continue;
        };
        let taken: Vec<&Measure> = pr
            .measures
            .iter()
            .filter(|m| m.at <= n.at && n.at.duration_since(m.at).as_mins() <= 30)
            .collect();
        assert_eq!(taken.len(), 2, "{}: PHQ-9 and GAD-7 at its visit", n.id);
        for m in taken {
            let total = m.score().unwrap().total();
            let expect = format!("{} {total} (", m.instrument.label());
            assert!(quoted.body.contains(&expect), "{}: {:?}", n.id, quoted.body);
        }
    }
    for m in &pr.measures {
        if let Some(sid) = &m.session {
            assert!(
                m.at <= sessions[sid].dose_time.unwrap(),
                "measured before dosing"
            );
        }
    }
    for g in &pr.goals {
        let source = notes[g.source_note.as_ref().unwrap()];
        assert_eq!(source.kind, NoteKind::Preparation);
        assert!(g.at >= source.at);
        assert!(
            source.sections.iter().any(|x| x.body.contains(&g.title)),
            "goal {} comes from an intention in its preparation note",
            g.id
        );
        for sid in &g.sessions {
            assert!(sessions.contains_key(sid));
        }
        for w in g.check_ins.windows(2) {
            assert!(w[0].at <= w[1].at);
        }
        for c in &g.check_ins {
            assert!(c.at >= g.at);
            if let Some(nid) = &c.integration_note {
                let n = notes[nid];
                assert_eq!(n.kind, NoteKind::Integration);
                assert_eq!(n.at, c.at, "a linked check-in is at its integration visit");
            }
        }
    }
}

#[test]
fn each_course_is_in_a_sensible_order() {
    for (seed, notes) in [(42, 24), (3, 100), (11, 5), (8, 13)] {
        let s = spec(12, notes, seed);
        for pr in records(&s) {
            check_chronology(&s, &pr);
        }
    }
}

fn item9(m: &Measure) -> bool {
    m.score().unwrap().item9_flag()
}

#[test]
fn the_demo_shows_what_the_app_must_handle() {
    for seed in [42, 1, 2, 3, 99] {
        let s = spec(12, 24, seed);
        let all = records(&s);
        let notes = || all.iter().flat_map(|p| &p.notes);
        assert!(notes().any(|n| n.is_signed() && !n.addenda.is_empty()));
        assert!(notes().any(|n| !n.is_signed()), "drafts");
        assert!(notes().any(|n| n.kind == NoteKind::Psychotherapy));
        assert!(all.iter().flat_map(|p| &p.measures).any(item9));
        let flags: Vec<VitalsFlag> = all
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|x| session_flags(x, &Thresholds::default()))
            .map(|(_, f)| f)
            .collect();
        assert!(
            flags
                .iter()
                .any(|f| matches!(f, VitalsFlag::PredoseBpHigh { .. }))
        );
        assert!(flags.iter().any(|f| matches!(f, VitalsFlag::BpRise { .. })));
        assert!(
            all.iter()
                .flat_map(|p| &p.sessions)
                .flat_map(|x| &x.observations)
                .any(|o| o.adverse)
        );

        // Outcomes by the model's own rules: the latest PHQ-9 against the course baseline.
        let outcomes: Vec<Outcome> = all
            .iter()
            .filter_map(|p| {
                let base = baseline(&p.measures, Instrument::Phq9)?;
                let (latest, score) = p.latest(Instrument::Phq9)?;
                (latest.id != base.id).then(|| {
                    outcome(
                        Instrument::Phq9,
                        Some(base.score().unwrap().total() as u8),
                        score.total() as u8,
                    )
                })
            })
            .collect();
        assert!(outcomes.iter().any(|o| o.response), "a responder");
        assert!(
            outcomes.iter().any(|o| o.remission == Some(true)),
            "a remitter"
        );
        assert!(outcomes.iter().any(|o| !o.response), "a non-responder");

        // Where courses stand.
        let archived = all.iter().filter(|p| p.patient.archived).count();
        assert!((1..=2).contains(&archived), "{archived} archived");
        let screened = all
            .iter()
            .filter(|p| p.sessions.is_empty() && !p.notes.is_empty())
            .count();
        assert!((1..=2).contains(&screened), "{screened} just screened");
        assert!(
            all.iter()
                .any(|p| p.patient.tags.iter().any(|t| t == "esketamine")),
            "an esketamine patient"
        );
        for route in [Route::Iv, Route::Im, Route::Sublingual, Route::Intranasal] {
            assert!(
                all.iter()
                    .flat_map(|p| &p.sessions)
                    .any(|x| x.route == route),
                "seed {seed}: a {route} session"
            );
        }
        assert!(
            all.iter()
                .flat_map(|p| &p.goals)
                .any(|g| g.status == GoalStatus::Active)
                && all
                    .iter()
                    .flat_map(|p| &p.goals)
                    .any(|g| g.status != GoalStatus::Active)
        );
    }
}

/// The Today view needs work to show: for most patients with an active goal, the latest
/// cadence step that has come due after their latest dose has no check-in yet. (Left to chance
/// alone, about half would; the demo leaves them open on purpose.)
#[test]
fn most_latest_check_ins_are_overdue_at_the_anchor() {
    for seed in [42, 1, 2] {
        let s = spec(48, 24, seed);
        let now = anchor_start(&s);
        let (mut open, mut total) = (0, 0);
        for p in records(&s).iter().filter(|p| !p.patient.archived) {
            let Some(latest) = p
                .sessions
                .iter()
                .filter(|x| x.dose_time.is_some())
                .max_by_key(|x| x.dose_time)
            else {
                continue;
            };
            let all = schedule(p, &Cadence::default(), now, &s.tz);
            if let Some(c) = all
                .iter()
                .filter(|c| c.session == latest.id)
                .rfind(|c| c.due <= now)
            {
                total += 1;
                open += usize::from(c.state == CheckInState::Overdue);
            }
        }
        assert!(total > 10, "seed {seed}: only {total} patients to look at");
        assert!(
            open * 4 >= total * 3,
            "seed {seed}: only {open} of {total} open"
        );
    }
}

#[test]
fn the_text_is_varied_and_has_recurring_themes() {
    let all = records(&spec(12, 24, 42));
    let mut sentences = HashSet::new();
    let mut words = 0usize;
    for n in all.iter().flat_map(|p| &p.notes) {
        for s in &n.sections {
            words += s.body.split_whitespace().count();
            for sentence in s.body.split(". ") {
                sentences.insert(sentence.to_owned());
            }
        }
    }
    assert!(
        sentences.len() > 1_000,
        "{} distinct sentences",
        sentences.len()
    );
    assert!(words > 30_000, "{words} words");
    // Themes recur for some patients and not others, so a search finds a few patients.
    for word in ["father", "sister", "sleep", "grief", "music", "work"] {
        let with: usize = all
            .iter()
            .filter(|p| {
                p.notes
                    .iter()
                    .any(|n| n.sections.iter().any(|s| s.body.contains(word)))
            })
            .count();
        assert!(with > 0, "nobody mentions {word}");
    }
    let father = |p: &PatientRecords| {
        p.notes
            .iter()
            .flat_map(|n| &n.sections)
            .filter(|s| s.body.contains("father"))
            .count()
    };
    let counts: HashSet<usize> = all.iter().map(father).collect();
    assert!(
        counts.len() > 3,
        "'father' has the same frequency for everyone"
    );
}

#[test]
fn bad_specs_are_refused_with_the_reason() {
    let mut s = spec(12, 24, 42);
    s.notes_per_patient = demo::MAX_NOTES_PER_PATIENT + 1;
    assert_eq!(
        s.validate(),
        Err(DemoSpecError::TooManyNotes {
            requested: demo::MAX_NOTES_PER_PATIENT + 1
        })
    );
    let mut s = spec(demo::MAX_PATIENTS + 1, 24, 42);
    assert!(matches!(
        s.validate(),
        Err(DemoSpecError::TooManyPatients { .. })
    ));
    s.patients = 1;
    s.clinician = "  ".into();
    assert_eq!(s.validate(), Err(DemoSpecError::NoClinician));
    // Generation itself never panics on a bad spec: notes simply stay drafts.
    let rs = demo::generate_patient(&s, 0);
    assert!(rs.iter().all(|r| match r {
        Record::Note(n) => !n.is_signed(),
        _ => true,
    }));
    s.clinician = "Dr. X".into();
    s.anchor = date(1066, 10, 14);
    assert!(matches!(
        s.validate(),
        Err(DemoSpecError::AnchorOutOfRange(_))
    ));
    assert_eq!(spec(12, 24, 42).validate(), Ok(()));
}

#[test]
fn the_demo_builds_into_a_store_and_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let s = spec(12, 24, 42);
    let mut seen = Vec::new();
    let summary: DemoSummary = demo::build(&store, &s, &actor(), &mut |n| seen.push(n)).unwrap();
    assert_eq!(seen, (1..=12).collect::<Vec<_>>());
    assert_eq!(store.counts().unwrap(), summary);
    assert_eq!(summary.patients, 12);
    assert_eq!(summary.notes, 12 * 24);
    let report = store.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // The audit log holds one entry per demo patient, written with its records.
    let log = store
        .audit_log(&kitnotes::store::AuditFilter::default())
        .unwrap();
    assert_eq!(log.len(), 12);
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.action, kitnotes::store::AuditAction::DemoGenerated);
        assert_eq!(e.who, "Dr. Demo Builder");
        let id = format!("p{:04}", i + 1);
        assert_eq!(e.patient.as_ref().map(|p| p.as_str()), Some(id.as_str()));
        assert!(e.detail.contains("24 notes ("), "{}", e.detail);
    }
    assert_eq!(report.audit.entries, 12);
    let by_id = |mut v: Vec<Record>| {
        v.sort_by(|a, b| a.id().cmp(b.id()));
        v
    };
    for (i, generated) in demo::generate(&s).enumerate() {
        let Record::Patient(p) = &generated[0] else {
            panic!()
        };
        let stored = store.patient_records(&p.id).unwrap().unwrap();
        let mut back = vec![Record::Patient(stored.patient)];
        back.extend(stored.notes.into_iter().map(Record::Note));
        back.extend(stored.sessions.into_iter().map(Record::Session));
        back.extend(stored.measures.into_iter().map(Record::Measure));
        back.extend(stored.goals.into_iter().map(Record::Goal));
        back.extend(stored.follow_ups.into_iter().map(Record::SafetyFollowUp));
        back.extend(stored.courses.into_iter().map(Record::Course));
        back.extend(stored.lists.into_iter().map(Record::ListEntry));
        assert_eq!(by_id(back), by_id(generated), "patient {i}");
    }
    drop(store);
    let again = SledStore::open(dir.path()).unwrap();
    assert_eq!(again.counts().unwrap(), summary);
    // Building the same demo again writes the same records: signed notes are unchanged, so the
    // store accepts it and nothing is duplicated.
    assert_eq!(
        demo::build(&again, &s, &actor(), &mut |_| {}).unwrap(),
        summary
    );
    assert_eq!(again.counts().unwrap(), summary);
}

#[test]
fn build_refuses_a_bad_spec_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut s = spec(3, 24, 42);
    s.clinician = String::new();
    assert!(matches!(
        demo::build(&store, &s, &actor(), &mut |_| {}),
        Err(demo::DemoError::Spec(DemoSpecError::NoClinician))
    ));
    assert_eq!(store.counts().unwrap().patients, 0);
}

/// `cargo test --release --test all demo:: -- --ignored --nocapture` prints the time to generate the
/// largest demo size the brief asks for, and to write it into a store.
#[test]
#[ignore]
fn generating_1000_patients_x_100_notes_is_fast() {
    let s = spec(1_000, 100, 42);
    let started = std::time::Instant::now();
    let mut summary = DemoSummary::default();
    let mut bytes = 0usize;
    for rs in demo::generate(&s) {
        for r in &rs {
            if let Record::Note(n) = r {
                bytes += n.sections.iter().map(|x| x.body.len()).sum::<usize>();
            }
        }
        demo::tally(&mut summary, &rs);
    }
    let took = started.elapsed();
    println!(
        "generated {} patients, {} notes ({} MB of text), {} sessions, {} measures, {} goals, {} check-ins in {took:.2?}",
        summary.patients,
        summary.notes,
        bytes / 1_000_000,
        summary.sessions,
        summary.measures,
        summary.goals,
        summary.check_ins
    );
    assert_eq!(summary.notes, 100_000);
    assert!(took.as_secs() < 10);
}

#[test]
#[ignore]
fn building_1000_patients_x_100_notes_into_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let s = spec(1_000, 100, 42);
    let started = std::time::Instant::now();
    let summary = demo::build(&store, &s, &actor(), &mut |_| {}).unwrap();
    let took = started.elapsed();
    println!(
        "built {} patients, {} notes into a sled store in {took:.2?}",
        summary.patients, summary.notes
    );
    assert_eq!(store.counts().unwrap(), summary);
}

#[test]
fn demo_sessions_follow_built_in_profiles_and_are_signed_with_their_session_note() {
    use kitnotes::protocols::{self, CheckpointState, checkpoint_states};
    let s = spec(12, 24, 42);
    let (mut signed, mut unsigned, mut all_done) = (0, 0, 0);
    for pr in records(&s) {
        for session in &pr.sessions {
            let id = session
                .protocol
                .as_deref()
                .expect("a demo session names its profile");
            let p = protocols::builtins()
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not a built-in protocol"));
            assert_eq!(
                (p.medication.as_str(), p.route),
                (session.medication.as_str(), session.route)
            );
            let note = pr
                .notes
                .iter()
                .find(|n| n.kind == NoteKind::Session && n.session.as_ref() == Some(&session.id));
            match note.filter(|n| n.is_signed()) {
                Some(n) => {
                    assert_eq!(
                        (&session.signed_by, session.signed_at),
                        (&n.signed_by, n.signed_at),
                        "{}",
                        session.id
                    );
                    signed += 1;
                }
                None => {
                    assert!(
                        !session.is_signed(),
                        "{} is signed without its note",
                        session.id
                    );
                    unsigned += 1;
                }
            }
            // Finished demo sessions leave no checkpoint of the esketamine schedule undone.
            if p.id == "esketamine-rems" && session.dose_time.is_some() {
                let states = checkpoint_states(session, p, anchor_start(&s));
                assert!(
                    states
                        .iter()
                        .all(|(_, st)| matches!(st, CheckpointState::Done { .. })),
                    "{}: {states:?}",
                    session.id
                );
                all_done += 1;
            }
        }
    }
    assert!(
        signed > 20 && unsigned > 0,
        "signed {signed}, unsigned {unsigned}"
    );
    assert!(all_done > 0, "the demo has esketamine sessions");
}

/// The person named after `marker` up to the first of `ends`: "going home with her sister." gives
/// "sister" (the possessive dropped).
fn named_after<'a>(text: &'a str, marker: &str, ends: &[char]) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &text[i + marker.len()..];
            let end = rest.find(ends).unwrap_or(rest.len());
            let who = rest[..end].trim();
            // "her sister", "their best friend": drop the possessive.
            who.split_once(' ').map(|(_, w)| w)
        })
        .collect()
}

/// A clinician reading a demo chart finds no contradiction in who brought the patient, who took
/// them home and who the emergency contact is; no relative the patient's age rules out; and
/// check-in words that fit the progress number.
#[test]
fn the_demo_reads_as_one_believable_story_per_patient() {
    let s = spec(40, 40, 7);
    let today = s.anchor;
    let mut checked_people = 0;
    let mut checked_check_ins = 0;
    for pr in records(&s) {
        let p = &pr.patient;
        let mut people: HashSet<&str> = HashSet::new();
        for x in &pr.sessions {
            for o in &x.observations {
                people.extend(named_after(&o.text, "arrived with ", &[',']));
                people.extend(named_after(&o.text, "going home with ", &['.']));
            }
        }
        for n in &pr.notes {
            for sec in &n.sections {
                people.extend(named_after(&sec.body, "arrived with ", &[',']));
                people.extend(named_after(&sec.body, "going home with ", &['.']));
            }
        }
        people.remove("booked taxi (not driving today)");
        let contact: Vec<&str> = p
            .contact_note
            .split("Emergency contact: ")
            .nth(1)
            .and_then(|c| c.split(',').next())
            .into_iter()
            .collect();
        people.extend(contact.iter().copied());
        assert!(
            people.len() <= 1,
            "{} ({}): brought, collected or to call by {people:?}",
            p.name,
            p.id
        );
        checked_people += people.len();
        let age = p.age_on(today).unwrap();
        for who in &people {
            let ruled_out = match *who {
                "grandmother" | "grandfather" => age >= 50,
                "mother" | "father" | "stepfather" => age >= 60,
                "son" | "daughter" => age < 30,
                _ => false,
            };
            assert!(!ruled_out, "{} is {age} and has their {who} along", p.name);
        }
        for g in &pr.goals {
            for c in &g.check_ins {
                let n = c.note.to_lowercase();
                if c.progress <= 3 {
                    assert!(
                        !["clear progress", "proud", "habit", "steady"]
                            .iter()
                            .any(|w| n.contains(w)),
                        "{}: progress {}/10 with {:?}",
                        p.name,
                        c.progress,
                        c.note
                    );
                }
                if c.progress >= 7 {
                    assert!(
                        !["stalled", "not much movement"]
                            .iter()
                            .any(|w| n.contains(w)),
                        "{}: progress {}/10 with {:?}",
                        p.name,
                        c.progress,
                        c.note
                    );
                }
                checked_check_ins += 1;
            }
        }
    }
    assert!(
        checked_people > 20,
        "the check saw the escorts: {checked_people}"
    );
    assert!(checked_check_ins > 100, "{checked_check_ins}");
}
