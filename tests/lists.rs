//! The problem, medication and allergy lists driven from the timeline with keys, on the demo
//! store at a fixed clock: a medication added with its class, stopped (it stays, readable, with
//! its stop date) and corrected (the original kept). All data is invented.

use crate::common::*;
use jiff::civil::date;
use kitnotes::model::lists::{RevisionKind, current_medications};
use kitnotes::model::{ListKind, MedicationClass};
use kitnotes::store::Store;

#[test]
fn a_medication_is_added_stopped_and_corrected_from_the_timeline_in_a_few_keys() {
    let mut w = writer((120, 40));
    let patient = open_patient(&mut w.app, "Wren");
    let before = w.app.patient.as_ref().unwrap().records.lists.len();
    // a on the timeline: the form opens on the name, the list preset to medication.
    press(&mut w.app, "2a");
    let s = screen(&w.app);
    assert!(s.contains("Add to a list · Wren Chaudhry"), "{s}");
    assert!(
        s.contains("Dr. Rowan Vale"),
        "the clinician is filled in: {s}"
    );
    type_text(&mut w.app, "diazepam");
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "5 mg at night");
    // Saving without a class says so and keeps everything typed.
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_some());
    assert!(screen(&w.app).contains("choose the medication's class"));
    // The focus is on the field to fix: a typed prefix chooses the class.
    type_text(&mut w.app, "b");
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "2026-02-01");
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{}", screen(&w.app));
    assert!(
        status(&w.app).contains("diazepam added to the medication list"),
        "{}",
        status(&w.app)
    );
    let r = w.app.store().patient_records(&patient).unwrap().unwrap();
    assert_eq!(r.lists.len(), before + 1);
    let added = r
        .lists
        .iter()
        .find(|l| l.name == "diazepam")
        .unwrap()
        .clone();
    assert_eq!(added.list, ListKind::Medication);
    assert_eq!(added.class, Some(MedicationClass::Benzodiazepine));
    assert_eq!(added.detail, "5 mg at night");
    assert_eq!(added.started, Some(date(2026, 2, 1)));
    assert_eq!(added.by, "Dr. Rowan Vale");
    let today = w.app.today();
    assert!(
        current_medications(&r, today)
            .iter()
            .any(|(e, c)| e.id == added.id && *c == MedicationClass::Benzodiazepine),
        "REMS screening sees it"
    );
    // It is on the timeline, under the session booked for later today.
    press(&mut w.app, "<Home><Down>");
    let selected = w.app.patient.as_ref().unwrap().selected().unwrap().clone();
    assert_eq!(selected.kind.tag(), "MED");
    assert_eq!(
        selected.title,
        "Medication: diazepam 5 mg at night (benzodiazepine) · since 2026-02-01"
    );
    assert!(
        screen(&w.app).contains("Class: benzodiazepine"),
        "the detail: {}",
        screen(&w.app)
    );

    // x: stopped today; it stays on the list, marked stopped.
    press(&mut w.app, "x");
    assert!(screen(&w.app).contains("Stop · Wren Chaudhry"));
    type_text(&mut w.app, "tapered before dosing");
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{}", screen(&w.app));
    assert!(
        status(&w.app).contains("it stays on the list"),
        "{}",
        status(&w.app)
    );
    let stored = |w: &Writer| {
        let r = w.app.store().patient_records(&patient).unwrap().unwrap();
        r.lists.iter().find(|l| l.id == added.id).unwrap().clone()
    };
    let stopped = stored(&w);
    assert_eq!(stopped.stopped, Some(today));
    assert_eq!(stopped.name, "diazepam");
    assert_eq!(stopped.revisions.len(), 1);
    assert_eq!(stopped.revisions[0].kind, RevisionKind::Stopped);
    assert_eq!(stopped.revisions[0].why, "tapered before dosing");
    assert!(screen(&w.app).contains(&format!("stopped {today}")));
    // Stopping again is refused with the date it stopped.
    press(&mut w.app, "x");
    assert!(w.app.popup.is_none());
    assert!(
        status(&w.app).contains("already stopped"),
        "{}",
        status(&w.app)
    );

    // C: a correction of the dose; the original stays, struck, in the detail.
    press(&mut w.app, "C");
    assert!(screen(&w.app).contains("Correct · Wren Chaudhry"));
    press(&mut w.app, "<Enter>");
    assert!(
        screen(&w.app).contains("say why"),
        "a correction needs a why"
    );
    press(&mut w.app, "<S-Tab><S-Tab><S-Tab><S-Tab>"); // from Why back to Detail
    for _ in 0.."5 mg at night".len() {
        press(&mut w.app, "<Backspace>");
    }
    type_text(&mut w.app, "2 mg at night");
    press(&mut w.app, "<Tab><Tab><Tab><Tab>");
    type_text(&mut w.app, "dose misread");
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{}", screen(&w.app));
    let corrected = stored(&w);
    assert_eq!(corrected.detail, "2 mg at night");
    assert_eq!(corrected.stopped, Some(today), "the stop is kept");
    assert_eq!(corrected.revisions.len(), 2);
    assert_eq!(corrected.revisions[1].before.detail, "5 mg at night");
    assert_eq!(corrected.revisions[1].why, "dose misread");
    press(&mut w.app, "<Enter>");
    let s = screen(&w.app);
    assert!(s.contains("was: diazepam 5 mg at night"), "{s}");
    assert!(s.contains("Stopped: 2026-11-21"), "{s}");
    assert!(s.contains("dose misread"), "{s}");
}

#[test]
fn stop_and_correct_need_a_list_entry_selected() {
    let mut w = writer((120, 40));
    open_patient(&mut w.app, "Wren");
    press(&mut w.app, "2x");
    assert!(w.app.popup.is_none());
    assert!(
        status(&w.app)
            .contains("Select a problem, medication or allergy on the timeline (a adds one)"),
        "{}",
        status(&w.app)
    );
    press(&mut w.app, "C");
    assert!(w.app.popup.is_none());
}

/// The REMS form reads the medication list: a benzodiazepine on Xiomara's list is offered as
/// the answer to the medications question when her esketamine session starts.
#[test]
fn the_medication_list_fills_in_the_rems_medications_question() {
    let mut w = writer((120, 40));
    open_patient(&mut w.app, "Xiomara");
    press(&mut w.app, "2a");
    type_text(&mut w.app, "lorazepam");
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "0.5 mg at night");
    press(&mut w.app, "<Tab>b<Enter>");
    assert!(w.app.popup.is_none(), "{}", screen(&w.app));
    press(&mut w.app, "s");
    type_text(&mut w.app, "esketamine");
    press(&mut w.app, "<Enter>");
    let line = |w: &Writer| {
        let i = w.app.console.as_ref()?.input.as_ref()?;
        Some((i.kind, i.field.text().to_string()))
    };
    // Enrolment first (a first treatment), then the medications, filled in.
    for _ in 0..3 {
        match line(&w) {
            Some((kitnotes::app::console::InputKind::Concomitant, text)) => {
                assert!(
                    text.starts_with("benzo: ") && text.contains("lorazepam 0.5 mg at night"),
                    "{text:?}"
                );
                press(&mut w.app, "<Enter>");
                let s = w.app.console.as_ref().unwrap();
                let answered = s
                    .session
                    .rems
                    .as_ref()
                    .unwrap()
                    .concomitant
                    .clone()
                    .unwrap();
                assert!(answered.takes(kitnotes::model::MedClass::Benzodiazepines));
                return;
            }
            Some(_) => {
                type_text(&mut w.app, "y");
                press(&mut w.app, "<Enter>");
            }
            None => panic!("no REMS question: {}", screen(&w.app)),
        }
    }
    panic!("the medications question never came: {}", screen(&w.app));
}

/// Nothing on a list is erased, whoever writes: the store refuses a list entry rewritten
/// without a stop or correction that keeps the values it replaces, and takes a stop.
#[test]
fn the_store_refuses_a_list_entry_rewritten_without_a_revision() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = demo_store(&dir);
    let patient = store.patients().unwrap()[0].id.clone();
    let values = kitnotes::model::lists::ListValues {
        name: "penicillin".into(),
        detail: "rash".into(),
        class: None,
        started: None,
        stopped: None,
    };
    let entry = kitnotes::model::lists::ListEntry::new(
        kitnotes::model::RecordId::parse("allergy-test-1").unwrap(),
        patient,
        "2026-11-01T10:00:00Z".parse().unwrap(),
        ListKind::Allergy,
        "Dr. Rowan Vale",
        values,
    );
    let put = |e: &kitnotes::model::lists::ListEntry| {
        store.apply(&[kitnotes::store::Change::Put(
            kitnotes::model::Record::ListEntry(e.clone()),
        )])
    };
    put(&entry).unwrap();
    let mut erased = entry.clone();
    erased.name = "nothing".into();
    let e = put(&erased).unwrap_err().to_string();
    assert!(e.contains("allergy-test-1") && e.contains("changed"), "{e}");
    let mut stopped = entry.clone();
    stopped
        .stop(
            date(2026, 11, 20),
            "Dr. Rowan Vale",
            "tolerated amoxicillin",
            "2026-11-20T10:00:00Z".parse().unwrap(),
        )
        .unwrap();
    put(&stopped).unwrap();
    match store.record("allergy-test-1").unwrap() {
        Some(kitnotes::model::Record::ListEntry(l)) => {
            assert_eq!(l.name, "penicillin");
            assert_eq!(l.stopped, Some(date(2026, 11, 20)));
        }
        other => panic!("{other:?}"),
    }
}
