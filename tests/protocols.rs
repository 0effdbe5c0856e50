//! Protocol profiles as a clinician sees them: every built-in loads with the facts the domain
//! needs, a session started from one is valid, a user's file overrides a built-in, a broken
//! file is reported with its place while the others load, `kitnotes protocols` lists and shows
//! them, and the example in docs/PROTOCOLS.md parses.

use crate::common::*;
use kitnotes::model::monitoring::Thresholds;
use kitnotes::model::*;
use kitnotes::protocols::{
    self, BUILT_IN_FILES, CheckpointKind, CheckpointState, ProtocolError, ProtocolSource,
    UsualDose, checkpoint_states,
};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("protocols")).unwrap();
    std::fs::write(dir.join("protocols").join(name), text).unwrap();
}

fn builtin_text(file: &str) -> &'static str {
    BUILT_IN_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
        .unwrap()
}

fn patient(weight: Option<f64>) -> Patient {
    let mut p = Patient::new(PatientId::parse("p1").unwrap(), "Test Patient");
    p.weight_kg = weight;
    p
}

#[test]
fn every_built_in_loads_with_its_dose_route_and_checklist() {
    let loaded = protocols::builtin();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let p = &loaded.protocols;
    let ids: Vec<&str> = p.iter().map(|l| l.protocol.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "iv-ketamine",
            "im-ketamine",
            "sublingual-ketamine",
            "esketamine-rems"
        ]
    );
    let iv = p.get("iv-ketamine").unwrap();
    assert_eq!((iv.route, iv.dose), (Route::Iv, UsualDose::MgPerKg(0.5)));
    assert_eq!(p.get("im-ketamine").unwrap().route, Route::Im);
    let sl = p.get("sublingual-ketamine").unwrap();
    assert_eq!(
        (sl.route, sl.dose),
        (Route::Sublingual, UsualDose::Mg(100.0))
    );

    let esk = p.get("esketamine-rems").unwrap();
    assert_eq!(
        (esk.medication.as_str(), esk.route, esk.dose, esk.rems),
        ("esketamine", Route::Intranasal, UsualDose::Mg(56.0), true)
    );
    // The label's monitoring: BP before dosing, at about 40 min, before discharge; 2 hours.
    assert_eq!(esk.thresholds, Thresholds::default());
    let checklist: Vec<(CheckpointKind, Option<i64>)> = esk
        .checkpoints
        .iter()
        .map(|c| (c.kind, c.at_minutes))
        .collect();
    assert_eq!(
        checklist,
        [
            (CheckpointKind::VitalsBeforeDose, None),
            (CheckpointKind::Vitals, Some(40)),
            (CheckpointKind::VitalsBeforeDischarge, None),
            (CheckpointKind::MinObservation, None),
        ]
    );
    assert_eq!(esk.thresholds.min_observation_minutes, 120);
    for l in p.iter() {
        assert_eq!(l.source, ProtocolSource::BuiltIn);
        assert!(!l.protocol.rems || l.protocol.id == "esketamine-rems");
    }
}

#[test]
fn a_session_started_from_a_profile_is_valid_and_computes_mg_per_kg() {
    let at = ts("2026-03-05T09:00:00Z");
    for l in protocols::builtins().iter() {
        let s = l.protocol.start_session(
            RecordId::parse("s1").unwrap(),
            &patient(Some(72.4)),
            Some(1),
            at,
        );
        assert!(
            s.validate().is_ok(),
            "{}: {:?}",
            l.protocol.id,
            s.validate()
        );
        assert_eq!(s.protocol.as_deref(), Some(l.protocol.id.as_str()));
        assert_eq!(s.route, l.protocol.route);
    }
    let iv = protocols::builtins().get("iv-ketamine").unwrap();
    let s = iv.start_session(
        RecordId::parse("s1").unwrap(),
        &patient(Some(72.4)),
        None,
        at,
    );
    assert_eq!(
        (s.dose_mg, s.dose_mg_per_kg, s.weight_kg),
        (Some(36.2), Some(0.5), Some(72.4)),
        "0.5 mg/kg x 72.4 kg = 36.2 mg"
    );
    // Without a weight, the dose is left for the clinician rather than guessed.
    let s = iv.start_session(RecordId::parse("s2").unwrap(), &patient(None), None, at);
    assert_eq!(
        (s.dose_mg, s.dose_mg_per_kg, s.weight_kg),
        (None, None, None)
    );
    assert!(s.validate().is_ok());
    let esk = protocols::builtins().get("esketamine-rems").unwrap();
    let s = esk.start_session(RecordId::parse("s3").unwrap(), &patient(None), None, at);
    assert_eq!(s.dose_mg, Some(56.0));
    assert_eq!(monitoring::esketamine_devices(56.0), Some(2));
}

#[test]
fn a_user_profile_overrides_a_built_in_in_its_place_and_adds_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ours = builtin_text("esketamine-rems.toml")
        .replace("dose_mg = 56", "dose_mg = 84")
        .replace("spo2_floor = 90", "spo2_floor = 94");
    write(dir.path(), "esketamine.toml", &ours);
    write(
        dir.path(),
        "oral.toml",
        "id = \"oral-ketamine\"\nname = \"Oral ketamine\"\nmedication = \"ketamine\"\n\
         route = \"oral\"\ndose_mg = 50\n\n[thresholds]\nmin_observation_minutes = 90\n",
    );
    write(dir.path(), "README.md", "not a profile");
    let loaded = protocols::load(dir.path());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let p = &loaded.protocols;
    assert_eq!(p.len(), BUILT_IN_FILES.len() + 1);
    let esk = p.get("esketamine-rems").unwrap();
    assert_eq!(esk.dose, UsualDose::Mg(84.0));
    assert_eq!(esk.thresholds.spo2_floor, 94);
    assert_eq!(
        p.loaded("esketamine-rems").unwrap().source.to_string(),
        format!(
            "{} (overrides built-in)",
            dir.path().join("protocols/esketamine.toml").display()
        )
    );
    let order: Vec<&str> = p.iter().map(|l| l.protocol.id.as_str()).collect();
    assert_eq!(order[3], "esketamine-rems", "an override keeps its place");
    assert_eq!(order[4], "oral-ketamine");
    let oral = p.get("oral-ketamine").unwrap();
    assert_eq!(
        oral.thresholds,
        Thresholds {
            min_observation_minutes: 90,
            ..Thresholds::default()
        },
        "thresholds left out keep their defaults"
    );
    assert_eq!(
        oral.checkpoints.last().unwrap().label,
        "Observed at least 90 min"
    );
}

#[test]
fn a_broken_file_is_reported_with_file_line_and_column_and_the_others_still_load() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a-broken.toml",
        "id = \"broken\"\nname = \"Broken\"\nmedication = \"ketamine\"\nroute = \"iv\"\n\
         dose_mg_per_kg = 0.5\ncolour = \"blue\"\n",
    );
    write(
        dir.path(),
        "b-good.toml",
        "id = \"good\"\nname = \"Good\"\nmedication = \"ketamine\"\nroute = \"im\"\n\
         dose_mg_per_kg = 0.75\n",
    );
    write(
        dir.path(),
        "c-same-id.toml",
        "name = \"Again\"\nid = \"good\"\nmedication = \"ketamine\"\nroute = \"im\"\n\
         dose_mg = 50\n",
    );
    write(
        dir.path(),
        "d-thresholds.toml",
        "id = \"t\"\nname = \"T\"\nmedication = \"ketamine\"\nroute = \"im\"\ndose_mg = 50\n\n\
         [thresholds]\nspo2_floor = 30\n",
    );
    let loaded = protocols::load(dir.path());
    let p = &loaded.protocols;
    assert_eq!(
        p.get("good").unwrap().name,
        "Good",
        "the first file keeps its id"
    );
    assert!(p.get("broken").is_none() && p.get("t").is_none());
    assert_eq!(
        p.len(),
        BUILT_IN_FILES.len() + 1,
        "every built-in still loads"
    );
    let path = |name: &str| dir.path().join("protocols").join(name);
    let messages: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with(&format!(
            "{}:6:1: unknown field `colour`, expected one of",
            path("a-broken.toml").display()
        )),
        "{}",
        messages[0]
    );
    assert_eq!(
        messages[1],
        format!(
            "{}:2:6: the protocol id \"good\" is already used by {}; this file is skipped",
            path("c-same-id.toml").display(),
            path("b-good.toml").display()
        )
    );
    assert_eq!(
        messages[2],
        format!(
            "{}:8:14: thresholds.spo2_floor 30 is outside 50-100%",
            path("d-thresholds.toml").display()
        )
    );
    assert!(matches!(
        &loaded.errors[2],
        ProtocolError::Invalid {
            line: 8,
            column: 14,
            ..
        }
    ));
}

#[test]
fn the_protocols_command_lists_shows_and_reports_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    write(
        &config,
        "esk.toml",
        &builtin_text("esketamine-rems.toml").replace("dose_mg = 56", "dose_mg = 84"),
    );
    write(&config, "oops.toml", "id = \"oops\"\nname = \"Oops\"\n");
    let run = |args: &[&str]| kitnotes_with(dir.path(), &config, args);
    let out = run(&["protocols"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.starts_with("ID "), "{stdout}");
    assert_eq!(stdout.lines().count(), 1 + BUILT_IN_FILES.len());
    let esk = stdout
        .lines()
        .find(|l| l.starts_with("esketamine-rems"))
        .unwrap();
    assert!(esk.contains("84 mg") && esk.contains("yes"), "{esk}");
    assert!(esk.ends_with("(overrides built-in)"), "{esk}");
    assert!(
        stderr.contains(&format!(
            "{}:1:1: missing field `medication`",
            config.join("protocols/oops.toml").display()
        )),
        "{stderr}"
    );

    std::fs::remove_file(config.join("protocols/oops.toml")).unwrap();
    let out = run(&["protocols", "iv-ketamine"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "IV ketamine infusion (0.5 mg/kg over 40 min) (iv-ketamine)",
        "Usual dose: 0.5 mg/kg",
        "  Pre-dose BP above 140/90: consider delaying treatment",
        "  3. BP at about 40 min (end of infusion) (vitals, at +40 min)",
        "  5. Observed at least 120 min (min-observation, at +120 min)",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in\n{stdout}");
    }

    let out = run(&["protocols", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "kitnotes: error: no protocol with id \"nope\"; `kitnotes protocols` lists them"
    );
}

#[test]
fn the_example_in_the_docs_parses_and_drives_a_checklist() {
    let doc = include_str!("../docs/PROTOCOLS.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let p = protocols::parse(Path::new("docs/PROTOCOLS.md"), text).unwrap();
    assert_eq!(p.id, "esketamine-84");
    assert_eq!(p.dose, UsualDose::Mg(84.0));
    assert_eq!(p.thresholds.spo2_floor, 92);
    assert_eq!(p.checkpoints.len(), 5);

    let mut s = p.start_session(
        RecordId::parse("s1").unwrap(),
        &patient(None),
        None,
        ts("2026-03-05T09:00:00Z"),
    );
    s.dose_time = Some(ts("2026-03-05T09:10:00Z"));
    s.vitals
        .push(parse_vitals("128/84 76 98", ts("2026-03-05T09:05:00Z")).unwrap());
    let states: Vec<CheckpointState> = checkpoint_states(&s, &p, ts("2026-03-05T10:12:00Z"))
        .into_iter()
        .map(|(_, st)| st)
        .collect();
    assert_eq!(
        states,
        [
            CheckpointState::Done {
                at: ts("2026-03-05T09:05:00Z")
            },
            CheckpointState::Overdue {
                since: ts("2026-03-05T10:00:00Z")
            },
            CheckpointState::Due {
                since: ts("2026-03-05T10:05:00Z")
            },
            CheckpointState::Upcoming {
                due: ts("2026-03-05T10:55:00Z")
            },
            CheckpointState::Upcoming {
                due: ts("2026-03-05T11:10:00Z")
            },
        ]
    );
}

#[test]
fn the_induction_length_comes_from_the_profile_and_a_bad_one_is_located() {
    let b = protocols::builtins();
    assert_eq!(b.get("esketamine-rems").unwrap().induction_sessions, 8);
    assert_eq!(b.get("iv-ketamine").unwrap().induction_sessions, 6);
    let e = protocols::parse(
        Path::new("x.toml"),
        "id = \"x\"\nname = \"X\"\nmedication = \"ketamine\"\nroute = \"iv\"\ndose_mg = 50\n\
         induction_sessions = 0\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "x.toml:6:22: induction_sessions is 0; a course has 1 to 52 induction sessions"
    );
    // A patient's course counts against the profile of their latest session.
    let mut s = b.get("esketamine-rems").unwrap().start_session(
        kitnotes::model::RecordId::parse("s1").unwrap(),
        &patient(None),
        Some(1),
        "2026-03-02T10:00:00Z".parse().unwrap(),
    );
    s.dose_time = Some("2026-03-02T10:10:00Z".parse().unwrap());
    let n = b.induction_sessions(std::slice::from_ref(&s), 6);
    assert_eq!(
        kitnotes::model::timeline::course_progress(&[s], n),
        "session 1 of 8, then maintenance"
    );
}

#[test]
fn each_built_in_declares_its_dose_range_and_slips_are_caught() {
    use kitnotes::protocols::DoseCheck;
    let all = protocols::builtins();
    let esk = all.get("esketamine-rems").unwrap();
    let iv = all.get("iv-ketamine").unwrap();
    assert_eq!(esk.limits.range, Some((56.0, 84.0)));
    assert_eq!(esk.limits.device_mg, Some(28.0));
    assert_eq!(esk.limits.first_session_mg, Some(56.0));
    assert_eq!(iv.limits.range, Some((0.1, 0.75)));
    assert_eq!(iv.limits.anaesthetic_mg_per_kg, Some(1.0));
    for id in ["im-ketamine", "sublingual-ketamine"] {
        assert!(all.get(id).unwrap().limits.range.is_some(), "{id}");
    }
    // Absolute vitals flags are the clinic defaults in every built-in.
    for p in all.iter().map(|l| &l.protocol) {
        assert_eq!(
            (
                p.thresholds.systolic_high,
                p.thresholds.diastolic_high,
                p.thresholds.systolic_low,
                p.thresholds.heart_rate_high,
                p.thresholds.heart_rate_low,
                p.thresholds.spo2_floor
            ),
            (180, 110, 90, 120, 50, 90),
            "{}",
            p.id
        );
    }

    let with_dose = |p: &protocols::Protocol, dose: UsualDose, number: u32| {
        let mut s = p.start_session(rid("s1"), &patient(Some(70.0)), Some(number), ts(NOW));
        dose.apply_to(&mut s, Some(70.0));
        s
    };
    let check = |p: &protocols::Protocol, dose: UsualDose, number: u32| {
        let s = with_dose(p, dose, number);
        p.check_dose(&s, Some(70.0), number == 1)
    };
    assert_eq!(check(esk, UsualDose::Mg(56.0), 1), DoseCheck::Usual);
    assert_eq!(check(esk, UsualDose::Mg(84.0), 2), DoseCheck::Usual);
    assert!(matches!(
        check(esk, UsualDose::Mg(540.0), 2),
        DoseCheck::Refuse(why) if why.contains("not a whole number of 28 mg devices")
    ));
    assert_eq!(
        check(esk, UsualDose::Mg(84.0), 1),
        DoseCheck::Confirm("the first session of a course is 56 mg, not 84 mg".into())
    );
    assert!(matches!(
        check(esk, UsualDose::Mg(28.0), 3),
        DoseCheck::Confirm(_)
    ));
    assert_eq!(check(iv, UsualDose::MgPerKg(0.5), 1), DoseCheck::Usual);
    assert_eq!(check(iv, UsualDose::MgPerKg(0.75), 1), DoseCheck::Usual);
    assert_eq!(
        check(iv, UsualDose::MgPerKg(5.0), 1),
        DoseCheck::Confirm(
            "5 mg/kg is outside the protocol's range 0.1-0.75 mg/kg; about 1 mg/kg and above is \
             the anaesthetic range"
                .into()
        )
    );
    // A dose in mg against a range in mg/kg uses the weight on file: 540 mg at 70 kg.
    assert!(matches!(
        check(iv, UsualDose::Mg(540.0), 1),
        DoseCheck::Confirm(why) if why.starts_with("7.714 mg/kg is outside")
    ));
    let s = with_dose(iv, UsualDose::Mg(35.0), 1);
    assert!(matches!(
        iv.check_dose(&s, None, false),
        DoseCheck::Confirm(why) if why.starts_with("no weight on file")
    ));
}

#[test]
fn a_dose_range_that_leaves_out_the_usual_dose_is_located() {
    let text = builtin_text("iv-ketamine.toml").replace("[0.1, 0.75]", "[0.6, 0.75]");
    let e = protocols::parse(Path::new("iv.toml"), &text).unwrap_err();
    assert!(
        e.to_string()
            .contains("dose_range [0.6, 0.75] mg/kg does not hold the usual dose 0.5 mg/kg"),
        "{e}"
    );
    assert!(e.to_string().starts_with("iv.toml:"), "{e}");
}
