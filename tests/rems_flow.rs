//! The REMS form from the session console, driven with keys and a clock the test moves: signing
//! refused while a field is missing (each named, the cursor where it is filled in), the times
//! the form asks for (a booked session's real start, minutes before T0, "no" to transport),
//! the summary written from the app, and `kitnotes export --format rems` answered by the
//! kitnotes that holds the store.

use crate::common::console::*;
use crate::common::*;
use kitnotes::app::Popup;
use kitnotes::app::console::InputKind;
use kitnotes::app::patient_form::FormField;
use kitnotes::interchange::{rems_missing, rems_summary};
use kitnotes::model::*;

/// The demo patient PATIENT as stored.
fn stored_patient(w: &Writer) -> Patient {
    w.app
        .store()
        .patients()
        .unwrap()
        .into_iter()
        .find(|p| p.name.contains(PATIENT))
        .unwrap()
}

/// Ends the session at the app's clock: transport `transport` (y/n), then whatever follows.
fn end(w: &mut Writer, transport: &str) {
    press(&mut w.app, "x");
    assert_eq!(line_kind(w), Some(InputKind::Transport));
    type_text(&mut w.app, transport);
    press(&mut w.app, "<Enter>");
}

/// Pre-dose BP and MOAA/S, T0 two minutes later, BP at +40 and +120, MOAA/S back to 5.
fn dose_and_monitor(w: &mut Writer) {
    enter(w, "v", "132/84 72 98");
    enter(w, "s", "5");
    minutes(w, 2);
    press(&mut w.app, "t");
    minutes(w, 40);
    enter(w, "v", "140/88 76 97");
    enter(w, "s", "4");
    minutes(w, 80);
    enter(w, "v", "128/80 72 98");
    enter(w, "s", "5");
    minutes(w, 5);
}

#[test]
fn a_rems_session_is_not_signed_while_a_field_is_missing_and_each_refusal_goes_to_it() {
    let w = writer((120, 40));
    // Xiomara's sex is not on file (as in a store from before it was asked).
    let mut p = stored_patient(&w);
    p.sex = None;
    w.app.store().put(Record::Patient(p)).unwrap();
    w.app.store().flush().unwrap();
    let mut w = restart(w);

    // Her first esketamine treatment: the console asks about enrolment first; Esc leaves it.
    start_unanswered(&mut w, "esketamine");
    assert_eq!(line_kind(&w), Some(InputKind::Enrolled));
    press(&mut w.app, "<Esc>");
    assert_eq!(line_kind(&w), None);
    // No lot number is entered.
    dose_and_monitor(&mut w);
    end(&mut w, "y");
    assert_eq!(line_kind(&w), Some(InputKind::ReadyMinutes));
    press(&mut w.app, "<Enter>"); // not recorded
    assert!(w.app.editor.is_some(), "{}", status(&w.app));
    let sid = session(&w).id;

    // 1. Every missing field is named; the cursor goes to the first: sex, on the patient form.
    press(&mut w.app, "<A-s>");
    assert_eq!(
        status(&w.app),
        "Not signed: the REMS form still needs sex, enrolled in the REMS (yes/no), concomitant \
         medications, lot number, minute ready to leave without the 2-hour rule"
    );
    match &w.app.popup {
        Some(Popup::Patient(f)) => assert_eq!(f.focused, FormField::Sex as usize),
        _ => panic!("the patient form is not open: {}", status(&w.app)),
    }
    let signed = |w: &Writer| match w.app.store().record(sid.as_str()).unwrap() {
        Some(Record::Session(s)) => s.is_signed(),
        _ => false,
    };
    assert!(!signed(&w));
    type_text(&mut w.app, "f");
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{}", status(&w.app));
    assert_eq!(stored_patient(&w).sex, Some(Sex::Female));

    // 2. The rest are in the console: its questions, in the form's order, one after the other.
    press(&mut w.app, "S");
    assert_eq!(
        status(&w.app),
        "Not signed: the REMS form still needs enrolled in the REMS (yes/no), concomitant \
         medications, lot number, minute ready to leave without the 2-hour rule"
    );
    assert_eq!(line_kind(&w), Some(InputKind::Enrolled));
    type_text(&mut w.app, "y");
    press(&mut w.app, "<Enter>");
    assert_eq!(line_kind(&w), Some(InputKind::Concomitant));
    // The line comes filled in from the patient's medication list, as the form reads it.
    let offered = w
        .app
        .console
        .as_ref()
        .and_then(|c| c.input.as_ref())
        .map(|i| i.field.text().to_string())
        .unwrap_or_default();
    let records = &w.app.patient.as_ref().unwrap().records;
    let meds = records
        .lists
        .iter()
        .any(|l| l.list == kitnotes::model::lists::ListKind::Medication);
    if meds {
        let read = kitnotes::model::ConcomitantMedications::parse(&offered).unwrap();
        assert!(!offered.is_empty(), "the medication list fills the line");
        assert_eq!(read.as_typed(), offered);
    } else {
        assert_eq!(offered, "", "no medication list: nothing offered");
    }
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "benzo: lorazepam 0.5 mg at night");
    press(&mut w.app, "<Enter>");
    assert_eq!(line_kind(&w), None);
    enter(&mut w, "l", "LOT-TEST-9");
    press(&mut w.app, "q");

    // 3. The minute ready to leave: the console's question for it, after discharge.
    press(&mut w.app, "S");
    assert_eq!(
        status(&w.app),
        "Not signed: the REMS form still needs minute ready to leave without the 2-hour rule"
    );
    assert_eq!(line_kind(&w), Some(InputKind::ReadyMinutes));
    type_text(&mut w.app, "95");
    press(&mut w.app, "<Enter>");
    assert_eq!(line_kind(&w), None);
    press(&mut w.app, "q");

    // Complete: the question, then signed; the summary has no field left "not recorded" that
    // the record could answer.
    press(&mut w.app, "S");
    assert!(
        matches!(w.app.popup, Some(Popup::Confirm(_))),
        "{}",
        status(&w.app)
    );
    press(&mut w.app, "<Enter>");
    assert!(signed(&w), "{}", status(&w.app));
    let Some(Record::Session(s)) = w.app.store().record(sid.as_str()).unwrap() else {
        panic!("no session {sid}");
    };
    let patient = stored_patient(&w);
    assert_eq!(rems_missing(&patient, &s, &clinic()), vec![]);
    let text = rems_summary(&patient, &s, &clinic(), &jiff::tz::TimeZone::UTC).unwrap();
    for line in [
        "  Sex: female",
        "  First treatment: yes",
        "  Enrolled in the REMS: yes",
        "  Benzodiazepines: yes",
        "  Opioids: no",
        "  Named: lorazepam 0.5 mg at night",
        "  Lot number: LOT-TEST-9",
        "  Ready to leave without the 2-hour rule at: 95 minutes",
        "  Name: Dr. Test Provider",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

#[test]
fn without_the_clinic_in_config_the_refusal_names_its_keys() {
    let mut w = writer((120, 40));
    w.app.settings.clinic = Clinic {
        phone: None,
        zip: None,
        ..clinic()
    };
    start(&mut w, "esketamine");
    enter(&mut w, "l", "LOT-TEST-9");
    dose_and_monitor(&mut w);
    end(&mut w, "y");
    type_text(&mut w.app, "90");
    press(&mut w.app, "<Enter>");
    press(&mut w.app, "<A-s>");
    assert_eq!(
        status(&w.app),
        "Not signed: the REMS form still needs [clinic] phone in config.toml, [clinic] zip in \
         config.toml"
    );
    assert!(w.app.popup.is_none());
    assert!(!session(&w).is_signed());
}

#[test]
fn no_to_transport_asks_who_collects_the_patient_or_records_the_refusal() {
    for (answer, want) in [
        ("Sam (partner)", "collected by Sam (partner)"),
        (
            "refused: will walk home, told not to drive",
            "REFUSED by the patient: will walk home, told not to drive",
        ),
    ] {
        let mut w = writer((120, 40));
        start(&mut w, "esketamine");
        enter(&mut w, "l", "LOT-TEST-9");
        dose_and_monitor(&mut w);
        end(&mut w, "n");
        // Not discharged yet: the question comes first, and a blank answer is refused.
        assert_eq!(line_kind(&w), Some(InputKind::Collector));
        assert!(session(&w).discharge.is_none());
        press(&mut w.app, "<Enter>");
        assert_eq!(line_kind(&w), Some(InputKind::Collector));
        type_text(&mut w.app, answer);
        press(&mut w.app, "<Enter>");
        assert_eq!(line_kind(&w), Some(InputKind::ReadyMinutes));
        type_text(&mut w.app, "90");
        press(&mut w.app, "<Enter>");
        let e = w.app.editor.as_ref().expect("the note opens");
        let note: String = e.sections.iter().map(|s| s.text() + "\n").collect();
        assert!(
            note.contains(&format!(
                "Transport home arranged: no; {want} (the patient must not drive today)"
            )),
            "{note}"
        );
        let s = session(&w);
        let text =
            rems_summary(&stored_patient(&w), &s, &clinic(), &jiff::tz::TimeZone::UTC).unwrap();
        let line = match answer.starts_with("refused") {
            true => format!("  Transport home: {want}"),
            false => format!("  Transport home: not arranged beforehand; {want}"),
        };
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

#[test]
fn a_booked_session_records_when_it_really_started_and_keeps_the_booking() {
    let w = writer((120, 40));
    let p = stored_patient(&w);
    // Booked for 16:00 (the fixed clock says 15:30); started at 14:09 on another day's clock.
    let booked_at = ts("2026-11-21T16:00:00Z");
    let booked = kitnotes::protocols::builtins()
        .get("esketamine-rems")
        .unwrap()
        .start_session(rid("booked-1"), &p, Some(1), booked_at);
    w.app.store().put(Record::Session(booked)).unwrap();
    w.app.store().flush().unwrap();
    let mut w = restart(w);
    w.clock.set(ts("2026-11-21T14:09:00Z"));
    open_patient(&mut w.app, PATIENT);
    press(&mut w.app, "s");
    assert!(w.app.console.is_some(), "{}", status(&w.app));
    assert_eq!(
        status(&w.app),
        "The session booked for Sat 21 Nov 16:00 starts now, at 14:09; the booking stays in the \
         record"
    );
    let s = session(&w);
    assert_eq!(s.id, rid("booked-1"));
    assert_eq!(s.at, ts("2026-11-21T14:09:00Z"));
    assert_eq!(s.booked_at(), Some(booked_at));
    // The start asks the REMS questions of a session started in the console: her first
    // treatment, worked out from her record, so enrolment comes first.
    assert_eq!(s.rems.as_ref().and_then(|a| a.first_treatment), Some(true));
    assert_eq!(line_kind(&w), Some(InputKind::Enrolled));
    // The detail keeps the booking beside the real start.
    press(&mut w.app, "<Esc>q<Home>");
    let at = w
        .app
        .patient
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .position(|e| e.record == s.id)
        .unwrap();
    press(&mut w.app, &format!("{}<Enter>", "<Down>".repeat(at)));
    let screen = screen(&w.app);
    assert!(
        screen.contains("Dosing session · 2026-11-21 14:09")
            && screen.contains("Booked for: 2026-11-21 16:00"),
        "{screen}"
    );
}

#[test]
fn minutes_before_t0_read_the_same_in_the_note_and_the_rems_summary() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    enter(&mut w, "l", "LOT-TEST-9");
    enter(&mut w, "v", "132/84 72 98");
    // T0 3 min 14 s after the reading: it is "-3 min", not "-4 min".
    w.clock
        .advance(jiff::SignedDuration::from_secs(3 * 60 + 14));
    press(&mut w.app, "t");
    let s = session(&w);
    assert_eq!(s.minutes_since_dose(s.vitals[0].at), Some(-3));
    minutes(&mut w, 125);
    end(&mut w, "y");
    type_text(&mut w.app, "90");
    press(&mut w.app, "<Enter>");
    let e = w.app.editor.as_ref().expect("the note opens");
    let note: String = e.sections.iter().map(|s| s.text() + "\n").collect();
    assert!(note.contains("-3 min"), "{note}");
    assert!(!note.contains("-4 min"), "{note}");
    let s = session(&w);
    let text = rems_summary(&stored_patient(&w), &s, &clinic(), &jiff::tz::TimeZone::UTC).unwrap();
    assert!(
        text.lines().any(
            |l| l.starts_with("  Blood pressure before dosing: 132/84 at ")
                && l.ends_with(" (-3 min)")
        ),
        "{text}"
    );
}

#[test]
fn the_summary_is_written_from_the_console_and_the_timeline_to_a_private_file() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    enter(&mut w, "l", "LOT-TEST-9");
    dose_and_monitor(&mut w);
    let sid = session(&w).id;
    let path = w.dir.path().join("rems").join(format!("rems-{sid}.txt"));
    press(&mut w.app, "R");
    assert_eq!(
        status(&w.app),
        format!(
            "REMS summary written to {}; the form still lacks end of monitoring (discharge)",
            path.display()
        )
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.starts_with("SPRAVATO REMS patient monitoring summary\n"));
    assert!(written.contains("  Lot number: LOT-TEST-9\n"), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the summary is this user's only");
    }
    // From the timeline, on the session note, after discharge: the same file, complete now.
    end(&mut w, "y");
    type_text(&mut w.app, "90");
    press(&mut w.app, "<Enter>");
    press(&mut w.app, "<Esc>");
    assert!(w.app.editor.is_none() && w.app.console.is_none());
    press(&mut w.app, "R");
    assert_eq!(
        status(&w.app),
        format!("REMS summary written to {}", path.display())
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("  Ready to leave without the 2-hour rule at: 90 minutes\n"),
        "{written}"
    );
    let exports = w
        .app
        .store()
        .audit_log(&kitnotes::store::AuditFilter::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == kitnotes::store::AuditAction::Exported)
        .count();
    assert_eq!(exports, 2, "each summary written is in the audit log");
}
