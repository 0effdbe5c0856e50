//! The esketamine REMS monitoring summary: every field the REMS patient monitoring form asks for,
//! "not recorded" where the session lacks it, and `kitnotes export --format rems --session ID`
//! with its errors and its audit entry.

use crate::common::*;
use jiff::civil::date;
use jiff::tz::TimeZone;
use kitnotes::interchange::{RemsError, rems_summary};
use kitnotes::model::*;
use kitnotes::protocols;
use kitnotes::store::{AuditFilter, Change, Store};
use std::path::Path;
use std::process::Output;

fn patient() -> Patient {
    let mut p = Patient::new(PatientId::parse("p1").unwrap(), "Robin Jo Example");
    p.born = Some(date(1980, 4, 2));
    p.sex = Some(Sex::Female);
    p
}

fn reading(at: &str, s: u16, d: u16) -> Vitals {
    Vitals {
        at: ts(at),
        systolic: Some(s),
        diastolic: Some(d),
        heart_rate: Some(74),
        spo2: Some(97),
    }
}

/// A complete esketamine session: T0 09:10, discharged 11:20 (130 min).
fn esketamine() -> DosingSession {
    let mut s = protocols::builtins()
        .get("esketamine-rems")
        .unwrap()
        .start_session(
            RecordId::parse("s1").unwrap(),
            &patient(),
            Some(4),
            ts("2026-03-05T09:00:00Z"),
        );
    s.dose_mg = Some(84.0);
    s.lot = Some("TEST-LOT-7".into());
    s.dose_time = Some(ts("2026-03-05T09:10:00Z"));
    s.vitals = vec![
        reading("2026-03-05T09:04:00Z", 132, 84),
        reading("2026-03-05T09:49:00Z", 150, 90),
        reading("2026-03-05T11:12:00Z", 128, 80),
    ];
    s.sedation = vec![
        SedationRating {
            at: ts("2026-03-05T09:05:00Z"),
            moaas: 5,
        },
        SedationRating {
            at: ts("2026-03-05T09:40:00Z"),
            moaas: 4,
        },
        SedationRating {
            at: ts("2026-03-05T10:30:00Z"),
            moaas: 5,
        },
    ];
    s.dissociation = vec![
        DissociationRating {
            at: ts("2026-03-05T09:06:00Z"),
            scale: "CADSS".into(),
            total: 1.0,
        },
        DissociationRating {
            at: ts("2026-03-05T09:55:00Z"),
            scale: "CADSS".into(),
            total: 18.0,
        },
        DissociationRating {
            at: ts("2026-03-05T10:50:00Z"),
            scale: "CADSS".into(),
            total: 1.0,
        },
    ];
    s.rems = Some(Box::new(RemsAnswers {
        first_treatment: Some(false),
        enrolled: None,
        concomitant: Some(ConcomitantMedications::from_classes(
            [MedClass::Benzodiazepines],
            "lorazepam 0.5 mg at night",
        )),
    }));
    s.observations = vec![
        Observation {
            at: ts("2026-03-05T09:10:00Z"),
            text: "Device 1 given.".into(),
            adverse: false,
        },
        Observation {
            at: ts("2026-03-05T09:45:00Z"),
            text: "Nausea, settled\nwith rest.".into(),
            adverse: true,
        },
    ];
    s.discharge = Some(Box::new(Discharge {
        at: ts("2026-03-05T11:20:00Z"),
        transport_arranged: true,
        collected_by: None,
        transport_refused: None,
        ready_minutes: Some(90),
    }));
    s.sign("Dr. Test Clinician", ts("2026-03-05T12:00:00Z"))
        .unwrap();
    s
}

const FULL: &str = "\
SPRAVATO REMS patient monitoring summary
For the REMS patient monitoring form; written by kitnotes from the session record.

Patient
  First name: Robin
  Middle initial: J
  Last name: Example
  Date of birth: 1980-04-02
  Sex: female
  Patient id (kitnotes): p1
  First treatment: no

Concomitant medications
  Benzodiazepines: yes
  Non-benzodiazepine sedative-hypnotics: no
  Psychostimulants: no
  MAOIs: no
  Opioids: no
  Other respiratory depressants: no
  Named: lorazepam 0.5 mg at night

Monitoring health-care provider
  Name: Dr. Test Provider
  Phone: 555-0100
  Email: provider@example.test

Healthcare setting
  Name: Example Ketamine Clinic
  Address: 1 Example Street
  City: Exampleton
  State: EX
  ZIP: 00000

Session
  Date: 2026-03-05
  Session: s1 (session 4), protocol esketamine-rems
  Dose: 84 mg
  Nasal spray devices (28 mg each): 3
  Lot number: TEST-LOT-7
  Time of the first device (T0): 09:10
  Total minutes from the first device to the end of monitoring: 130 (09:10 to 11:20)
  At least 120 minutes: yes
  Ready to leave without the 2-hour rule at: 90 minutes
  Transport home: arranged (not driving today)

Vital signs
  Acceptable before administration: yes (no flag on the reading at -6 min)
  Acceptable before the end of monitoring: yes (no flag on the reading at +122 min)
  Blood pressure before dosing: 132/84 at 09:04 (-6 min)
  Blood pressure at about 40 minutes: 150/90 at 09:49 (+39 min)
  Blood pressure before the end of monitoring: 128/80 at 11:12 (+122 min)
  Thresholds: BP 180/110 or more, systolic below 90, HR above 120 or below 50, SpO2 below 90% (clinic defaults)
  Flagged readings: none

Adverse effects
  Sedation (MOAA/S below the pre-dose rating): yes; lowest 4 at +30 min (pre-dose 5); back to 5 at +80 min
  Dissociation: yes (above the pre-dose 1: CADSS 1 at -4 min; CADSS 18 at +45 min; CADSS 1 at +100 min)
  Dissociation resolved: yes (CADSS 1 at +100 min)
  Respiratory depression (SpO2 below 90%): no (lowest SpO2 97% at +39 min; 2 pulse-oximetry readings after dosing)
  Adverse events:
    +35 min  Nausea, settled with rest.
  Serious adverse events: kitnotes does not mark an event serious: judge from the adverse events above

Form due by: 2026-03-12 (within 7 days of the session)
Clinician: Dr. Test Clinician (signed the session 2026-03-05 12:00)
";

#[test]
fn a_complete_session_fills_every_field_of_the_form() {
    assert_eq!(
        rems_summary(&patient(), &esketamine(), &clinic(), &TimeZone::UTC).unwrap(),
        FULL
    );
}

#[test]
fn times_and_dates_are_in_the_clinicians_zone() {
    // A fixed offset, so the test needs no time zone database.
    let tz = TimeZone::fixed(jiff::tz::offset(-5));
    let text = rems_summary(&patient(), &esketamine(), &clinic(), &tz).unwrap();
    assert!(
        text.contains("  Time of the first device (T0): 04:10\n"),
        "{text}"
    );
    assert!(text.contains("(04:10 to 06:20)"), "{text}");
}

#[test]
fn what_the_session_lacks_reads_not_recorded_and_nothing_is_invented() {
    let mut s = esketamine();
    s.signed_by = None;
    s.signed_at = None;
    s.lot = None;
    s.vitals.clear();
    s.sedation.clear();
    s.dissociation.clear();
    s.observations.clear();
    s.discharge = None;
    let mut p = patient();
    p.born = None;
    p.sex = None;
    s.rems = None;
    let text = rems_summary(&p, &s, &clinic(), &TimeZone::UTC).unwrap();
    for line in [
        "  Date of birth: not recorded",
        "  Sex: not recorded",
        "  First treatment: not recorded",
        "  Enrolled in the REMS: not recorded",
        "  Benzodiazepines: not recorded",
        "  Opioids: not recorded",
        "  Lot number: not recorded",
        "  Transport home: not recorded",
        "  Acceptable before administration: not recorded",
        "  Acceptable before the end of monitoring: not recorded",
        "  Blood pressure before dosing: not recorded",
        "  Blood pressure at about 40 minutes: not recorded",
        "  Blood pressure before the end of monitoring: not recorded",
        "  Total minutes from the first device to the end of monitoring: not recorded (no discharge recorded)",
        "  At least 120 minutes: not recorded",
        "  Ready to leave without the 2-hour rule at: not recorded",
        "  Sedation (MOAA/S below the pre-dose rating): not recorded",
        "  Dissociation: not recorded",
        "  Respiratory depression (SpO2 below 90%): not recorded (no pulse oximetry after dosing)",
        "  Adverse events: none recorded",
        "Clinician: not recorded (the session is not signed yet)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    s.dose_time = None;
    s.dose_mg = None;
    let text = rems_summary(&p, &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(text.contains("  Dose: not recorded\n"), "{text}");
    assert!(text.contains("  Nasal spray devices (28 mg each): not recorded\n"));
    assert!(text.contains("  Time of the first device (T0): not recorded\n"));
    assert!(text.contains("end of monitoring: not recorded (T0 not marked)\n"));
}

#[test]
fn an_early_end_is_answered_no_with_its_reason() {
    let mut s = esketamine();
    s.signed_at = None;
    s.signed_by = None;
    s.discharge.as_mut().unwrap().at = ts("2026-03-05T10:55:00Z");
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(text.contains("  At least 120 minutes: no\n  Ended early because: not recorded\n"));
    s.early_end_reason = Some("Family emergency; left with partner driving.".into());
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(text.contains(
        "  Total minutes from the first device to the end of monitoring: 105 (09:10 to 10:55)\n  \
         At least 120 minutes: no\n  Ended early because: Family emergency; left with partner \
         driving.\n"
    ));
}

#[test]
fn a_dose_that_is_not_whole_devices_is_pointed_out() {
    let mut s = esketamine();
    s.dose_mg = Some(50.0);
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(text.contains(
        "  Dose: other: 50 mg\n  Nasal spray devices (28 mg each): not a whole number of 28 mg \
         devices: check the dose\n"
    ));
}

#[test]
fn flagged_readings_are_listed_with_the_clinic_default_they_crossed() {
    let mut s = esketamine();
    let at = s.vitals[1].at;
    s.vitals[1].spo2 = Some(88);
    s.vitals[1].heart_rate = Some(131);
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    let clock = at.to_zoned(TimeZone::UTC).strftime("%H:%M").to_string();
    let rel = format!("+{} min", s.minutes_since_dose(at).unwrap());
    assert!(
        text.contains(&format!(
            "    {rel} ({clock}): HR 131 is above 120 bpm (clinic default)\n    {rel} ({clock}): SpO2 \
             88% is below 90% (clinic default)\n"
        )),
        "{text}"
    );
}

#[test]
fn only_esketamine_sessions_of_the_patient_get_a_summary() {
    let mut s = esketamine();
    s.medication = "ketamine".into();
    s.protocol = Some("iv-ketamine".into());
    let e = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap_err();
    assert!(matches!(e, RemsError::NotEsketamine { .. }));
    assert_eq!(
        e.to_string(),
        "dosing session s1 is ketamine, not esketamine: the REMS monitoring summary is only for \
         esketamine sessions"
    );
    let other = Patient::new(PatientId::parse("p2").unwrap(), "Other Example");
    assert_eq!(
        rems_summary(&other, &esketamine(), &clinic(), &TimeZone::UTC)
            .unwrap_err()
            .to_string(),
        "dosing session s1 belongs to patient p1, not p2"
    );
}

/// config.toml with the clinic of [`clinic`], for the binary run by [`kitnotes`].
fn write_clinic_config(data: &Path) {
    std::fs::create_dir_all(data.join("config")).unwrap();
    std::fs::write(
        data.join("config/config.toml"),
        "[clinic]\nprovider_name = \"Dr. Test Provider\"\nphone = \"555-0100\"\n\
         email = \"provider@example.test\"\nsetting_name = \"Example Ketamine Clinic\"\n\
         address = \"1 Example Street\"\ncity = \"Exampleton\"\nstate = \"EX\"\nzip = \"00000\"\n",
    )
    .unwrap();
}

/// A store in `data/store` with the patient, the esketamine session and a ketamine session.
fn store_with_sessions(data: &Path) {
    let store = kitnotes::store::SledStore::open(&data.join("store")).unwrap();
    let mut ketamine = protocols::builtins()
        .get("iv-ketamine")
        .unwrap()
        .start_session(
            RecordId::parse("s2").unwrap(),
            &patient(),
            Some(1),
            ts("2026-02-01T09:00:00Z"),
        );
    ketamine.dose_mg = Some(35.0);
    write_clinic_config(data);
    store
        .apply(&[
            Change::Put(Record::Patient(patient())),
            Change::Put(Record::Session(esketamine())),
            Change::Put(Record::Session(ketamine)),
        ])
        .unwrap();
    store.flush().unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_owned()
}

#[test]
fn export_format_rems_prints_the_summary_and_logs_the_export() {
    let dir = tempfile::tempdir().unwrap();
    store_with_sessions(dir.path());
    let out = kitnotes(
        dir.path(),
        &["export", "--format", "rems", "--session", "s1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), FULL);

    let file = dir.path().join("rems-s1.txt");
    let out = kitnotes(
        dir.path(),
        &[
            "export",
            "--format",
            "rems",
            "--session",
            "s1",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FULL);

    let store = kitnotes::store::SledStore::open(&dir.path().join("store")).unwrap();
    let log = store.audit_log(&AuditFilter::default()).unwrap();
    let exports: Vec<(String, String, String)> = log
        .iter()
        .filter(|e| e.action == kitnotes::store::AuditAction::Exported)
        .map(|e| {
            (
                e.patient
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                e.record.clone().unwrap_or_default(),
                e.detail.clone(),
            )
        })
        .collect();
    assert_eq!(
        exports,
        vec![
            (
                "p1".into(),
                "s1".into(),
                "REMS monitoring summary of dosing session s1 to standard output".into()
            ),
            (
                "p1".into(),
                "s1".into(),
                format!(
                    "REMS monitoring summary of dosing session s1 to {}",
                    file.display()
                )
            ),
        ]
    );
}

#[test]
fn export_format_rems_refuses_clearly() {
    let dir = tempfile::tempdir().unwrap();
    store_with_sessions(dir.path());
    let cases: [(&[&str], &str); 6] = [
        (
            &["export", "--format", "rems"],
            "kitnotes: error: --format rems needs --session ID: the esketamine session to summarise",
        ),
        (
            &["export", "--format", "rems", "--session", "s9"],
            "kitnotes: error: no dosing session with id s9 in the store",
        ),
        (
            &["export", "--format", "rems", "--session", "p1"],
            "kitnotes: error: p1 is a patient, not a dosing session",
        ),
        (
            &["export", "--format", "rems", "--session", "s2"],
            "kitnotes: error: dosing session s2 is ketamine, not esketamine: the REMS monitoring \
             summary is only for esketamine sessions",
        ),
        (
            &["export", "--session", "s1"],
            "kitnotes: error: --session is only used with --format rems",
        ),
        (
            &[
                "export",
                "--format",
                "rems",
                "--session",
                "s1",
                "--patient",
                "p2",
            ],
            "kitnotes: error: dosing session s1 belongs to patient p1, not p2",
        ),
    ];
    for (args, want) in cases {
        let out = kitnotes(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), want, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let store = kitnotes::store::SledStore::open(&dir.path().join("store")).unwrap();
    assert!(
        store
            .audit_log(&AuditFilter::default())
            .unwrap()
            .iter()
            .all(|e| e.action != kitnotes::store::AuditAction::Exported),
        "a refused export is not logged as one"
    );
}

/// The summary is text to read on a terminal or print: a name or lot number holding terminal
/// escapes shows them as visible stand-ins, whether written to standard output or a file.
#[test]
fn export_format_rems_never_writes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let store = kitnotes::store::SledStore::open(&dir.path().join("store")).unwrap();
    let mut p = patient();
    p.name = "Robin \u{1b}]0;pwned\u{7}Example\u{1b}[2J".into();
    let mut s = esketamine();
    s.lot = Some("LOT\u{1b}[10;10H7\u{9b}".into());
    store
        .apply(&[
            Change::Put(Record::Patient(p)),
            Change::Put(Record::Session(s)),
        ])
        .unwrap();
    store.flush().unwrap();
    drop(store);
    let file = dir.path().join("rems.txt");
    let out = kitnotes(
        dir.path(),
        &["export", "--format", "rems", "--session", "s1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let to_file = kitnotes(
        dir.path(),
        &[
            "export",
            "--format",
            "rems",
            "--session",
            "s1",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(to_file.status.success(), "{}", stderr(&to_file));
    for text in [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&file).unwrap(),
    ] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control characters in\n{text}"
        );
        assert!(text.contains("  First name: Robin\n"), "{text}");
        assert!(
            text.contains("  Last name: ␛]0;pwned␇Example␛[2J\n"),
            "{text}"
        );
        assert!(text.contains("LOT␛[10;10H7"), "{text}");
    }
}

/// One reading fills one slot of the form: a patient who leaves at +50 min with a reading at
/// +41 and one at +36 has the +41 one before the end and the +36 one at about 40 minutes; with
/// only one reading after dosing, the two slots share it and the form says so.
#[test]
fn one_reading_fills_one_blood_pressure_slot_and_a_shared_one_is_said() {
    let mut s = esketamine();
    s.signed_at = None;
    s.signed_by = None;
    s.discharge.as_mut().unwrap().at = ts("2026-03-05T10:00:00Z");
    s.early_end_reason = Some("Invented: left early for the test".into());
    s.vitals = vec![
        reading("2026-03-05T09:04:00Z", 132, 84),
        reading("2026-03-05T09:46:00Z", 136, 86),
        reading("2026-03-05T09:51:00Z", 140, 88),
    ];
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(
        text.contains(
            "  Blood pressure at about 40 minutes: 136/86 at 09:46 (+36 min)\n  Blood pressure \
             before the end of monitoring: 140/88 at 09:51 (+41 min)\n"
        ),
        "{text}"
    );
    s.vitals.remove(1);
    let text = rems_summary(&patient(), &s, &clinic(), &TimeZone::UTC).unwrap();
    assert!(
        text.contains(
            "  Blood pressure at about 40 minutes: 140/88 at 09:51 (+41 min)\n  Blood pressure \
             before the end of monitoring: 140/88 at 09:51 (+41 min) (the same reading as at \
             about 40 minutes: no other was taken)\n"
        ),
        "{text}"
    );
}

/// With kitnotes holding the store (as the terminal UI does, with its socket server running),
/// `kitnotes export --format rems` is answered by it: the summary made with its store, and the
/// export in its audit log.
#[cfg(unix)]
#[test]
fn export_format_rems_is_answered_by_the_kitnotes_holding_the_store() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    store_with_sessions(dir.path());
    let store_dir = dir.path().join("store");
    let store = kitnotes::store::SledStore::open(&store_dir).unwrap();
    let settings = kitnotes::cli::backup::RemsSettings {
        clinic: clinic(),
        time_zone: TimeZone::UTC,
    };
    let (server, mut task) =
        kitnotes::cli::backup::serve_answering(&store_dir, store.backup_source(), settings)
            .unwrap();
    let file = dir.path().join("rems-open.txt");
    // One export at a time, the app's ticks (the task, with its store) run meanwhile.
    let mut said = Vec::new();
    let mut outputs = Vec::new();
    for args in [
        vec!["export", "--format", "rems", "--session", "s1"],
        vec![
            "export",
            "--format",
            "rems",
            "--session",
            "s1",
            "-o",
            file.to_str().unwrap(),
        ],
        vec!["export", "--format", "rems", "--session", "s2"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kitnotes"))
            .args(&args)
            .env("KITNOTES_DATA_DIR", dir.path())
            .env("KITNOTES_CONFIG_DIR", dir.path().join("config"))
            .env("KITNOTES_PASSPHRASE_FILE", passphrase_file())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            said.extend(task(&store));
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the export hangs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        outputs.push(child.wait_with_output().unwrap());
    }
    assert!(outputs[0].status.success(), "{}", stderr(&outputs[0]));
    assert_eq!(String::from_utf8_lossy(&outputs[0].stdout), FULL);
    assert!(outputs[1].status.success(), "{}", stderr(&outputs[1]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FULL);
    // A refusal comes back as the open kitnotes gave it.
    assert_eq!(outputs[2].status.code(), Some(1));
    assert_eq!(
        stderr(&outputs[2]),
        "kitnotes: error: dosing session s2 is ketamine, not esketamine: the REMS monitoring \
         summary is only for esketamine sessions"
    );
    assert!(
        said.iter()
            .any(|s| s.starts_with("The REMS summary of session s1 was exported to")),
        "{said:?}"
    );
    let details: Vec<String> = store
        .audit_log(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == kitnotes::store::AuditAction::Exported)
        .map(|e| e.detail)
        .collect();
    let pid = std::process::id();
    assert_eq!(
        details,
        vec![
            format!(
                "REMS monitoring summary of dosing session s1 to standard output, made by the \
                 open kitnotes (pid {pid}) at the request of `kitnotes export`"
            ),
            format!(
                "REMS monitoring summary of dosing session s1 to {}, made by the open kitnotes \
                 (pid {pid}) at the request of `kitnotes export`",
                file.display()
            ),
        ]
    );
    drop(server);
}

/// What the form needs and the record lacks, in the form's order; a session that ended without
/// a dose was no treatment and needs nothing.
#[test]
fn what_is_missing_is_listed_in_the_forms_order_and_an_undosed_session_needs_nothing() {
    use kitnotes::interchange::{MissingField, rems_missing};
    let s = esketamine();
    assert_eq!(rems_missing(&patient(), &s, &clinic()), vec![]);
    let mut p = patient();
    p.sex = None;
    let mut s = esketamine();
    s.rems = None;
    s.lot = None;
    s.discharge.as_mut().unwrap().ready_minutes = None;
    let clinic = Clinic {
        email: None,
        ..clinic()
    };
    let missing = rems_missing(&p, &s, &clinic);
    assert_eq!(
        missing,
        vec![
            MissingField::Sex,
            MissingField::FirstTreatment,
            MissingField::Concomitant,
            MissingField::Clinic("email"),
            MissingField::Lot,
            MissingField::ReadyMinutes,
        ]
    );
    assert_eq!(
        missing.iter().map(|m| m.label()).collect::<Vec<_>>(),
        [
            "sex",
            "first treatment (yes/no)",
            "concomitant medications",
            "[clinic] email in config.toml",
            "lot number",
            "minute ready to leave without the 2-hour rule",
        ]
    );
    s.dose_time = None;
    s.early_end_reason = Some("Invented: pre-dose BP 182/112, not dosed".into());
    assert_eq!(rems_missing(&p, &s, &clinic), vec![]);
}
