//! Recording measures in the app, in-process: the instrument list, PHQ-9 and GAD-7 item by item
//! on the keyboard, clinician-entered totals, and nothing lost on Esc.

use crate::common::*;
use kitnotes::app::goals::GoalPopup;
use kitnotes::app::measures::MeasureStep;
use kitnotes::app::{App, Popup};
use kitnotes::cli::screenshot::render;
use kitnotes::model::*;

/// The measure the selected timeline entry shows, as stored.
fn selected_measure(app: &App) -> Measure {
    let e = app
        .patient
        .as_ref()
        .and_then(|v| v.selected())
        .expect("an entry is selected");
    match app.store().record(e.record.as_str()).unwrap() {
        Some(Record::Measure(m)) => m,
        other => panic!("the selected entry is not a measure: {other:?}"),
    }
}

fn measures_now(app: &App) -> usize {
    let v = app.patient.as_ref().unwrap();
    v.records
        .measures
        .iter()
        .filter(|m| m.at == ts(NOW))
        .count()
}

#[test]
fn a_phq9_is_entered_item_by_item_with_a_correction() {
    let mut f = demo_app((120, 40));
    let patient = open_patient(&mut f.app, "Maite");
    // The newest entry is the session booked for today; a PHQ-9 taken with a note selected is
    // not linked to any session.
    press(&mut f.app, "<Down>");
    press(&mut f.app, "m");
    assert!(screen(&f.app).contains("PHQ-9  depression, 9 items"));
    press(&mut f.app, "<Enter>");
    type_text(&mut f.app, "2213");
    assert!(screen(&f.app).contains("Item 5 of 9"));
    // Back one item: item 4 shows its answer, and a new digit replaces it.
    press(&mut f.app, "<Backspace>");
    let s = screen(&f.app);
    assert!(s.contains("Item 4 of 9"), "{s}");
    assert!(s.contains("Feeling tired or having little energy"), "{s}");
    assert!(s.contains("Nearly every day  (given)"), "{s}");
    type_text(&mut f.app, "2");
    // Not an answer: said, and nothing moves.
    type_text(&mut f.app, "5");
    assert!(status(&f.app).contains("each item is answered 0 to 3"));
    assert!(screen(&f.app).contains("Item 5 of 9"));
    type_text(&mut f.app, "11100");
    let s = screen(&f.app);
    assert!(s.contains("Total 10 of 27: moderate"), "{s}");
    assert!(
        s.contains("Answers  1:2 2:2 3:1 4:2 5:1 6:1 7:1 8:0 9:0"),
        "{s}"
    );
    assert!(!s.contains("Item 9 ="), "item 9 is 0: no alarm\n{s}");
    assert_eq!(measures_now(&f.app), 0, "nothing is saved before Enter");
    press(&mut f.app, "<Enter>");
    assert!(f.app.popup.is_none());
    let m = selected_measure(&f.app);
    assert_eq!(m.instrument, Instrument::Phq9);
    assert_eq!(m.items, vec![2, 2, 1, 2, 1, 1, 1, 0, 0]);
    assert_eq!((m.patient, m.at, m.session), (patient, ts(NOW), None));
    assert_eq!(
        status(&f.app),
        "Saved PHQ-9 10 moderate for Maite Kowalczyk"
    );
    assert!(
        screen(&f.app).contains("PHQ-9 10 moderate (2026-11-21)"),
        "header"
    );
}

#[test]
fn item_9_above_0_is_loud_before_saving_and_flagged_after() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m<Enter>");
    type_text(&mut f.app, "000000002");
    let loud = "Item 9 = 2: thoughts of self-harm. Follow up today.";
    let s = screen(&f.app);
    assert!(s.contains(loud), "{s}");
    // Drawn in the alert style, like item 9 and adverse events elsewhere.
    let buf = render(&f.app, 120, 40).unwrap();
    let (row, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(loud))
        .unwrap();
    let col = line[..line.find(loud).unwrap()].chars().count() as u16;
    let theme = kitnotes::ui::theme::Theme::new(f.app.theme);
    assert_eq!(buf[(col, row as u16)].bg, theme.flag.bg.unwrap());
    assert!(s.contains("Total 2 of 27: minimal"), "{s}");
    press(&mut f.app, "<Enter>");
    let e = f.app.patient.as_ref().unwrap().selected().unwrap().clone();
    assert_eq!(e.kind, EntryKind::Measure(Instrument::Phq9));
    assert!(e.flagged, "the new PHQ9 entry is flagged");
    assert_eq!(e.title, "PHQ-9 2 minimal, ITEM 9 = 2");
    let st = f.app.status.clone().unwrap();
    assert!(st.error && st.text.contains("Follow up today"), "{st:?}");
}

#[test]
fn gad7_is_scored_with_its_own_bands() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m<Down><Enter>");
    assert!(screen(&f.app).contains("Item 1 of 7"));
    type_text(&mut f.app, "3333300");
    let s = screen(&f.app);
    assert!(s.contains("Total 15 of 21: severe"), "{s}");
    assert!(s.contains("Baseline"), "Maite has earlier GAD-7s\n{s}");
    assert!(!s.contains("remission"), "GAD-7 has no remission rule\n{s}");
    press(&mut f.app, "<Enter>");
    let m = selected_measure(&f.app);
    assert_eq!(m.instrument, Instrument::Gad7);
    assert_eq!(m.items, vec![3, 3, 3, 3, 3, 0, 0]);
    assert_eq!(m.score().unwrap().band(), Some(Band::Severe));
}

#[test]
fn a_cadss_total_is_stored_as_entered_and_linked_to_the_selected_session() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    let (index, session) = {
        let v = f.app.patient.as_ref().unwrap();
        let i = v
            .entries
            .iter()
            .position(|e| {
                e.kind == EntryKind::Session
                    && v.records
                        .sessions
                        .iter()
                        .any(|x| x.id == e.record && x.dose_time.is_some())
            })
            .unwrap();
        (i, v.entries[i].record.clone())
    };
    for _ in 0..index {
        press(&mut f.app, "<Down>");
    }
    press(&mut f.app, "m");
    type_text(&mut f.app, "cadss");
    press(&mut f.app, "<Enter>");
    let s = screen(&f.app);
    assert!(s.contains("CADSS total for Maite Kowalczyk"), "{s}");
    assert!(s.contains("Taken at Session 2: ketamine"), "{s}");
    // CADSS totals are whole numbers (23 items scored 0-4): 23.5 is refused, 23 is taken.
    type_text(&mut f.app, "23.5");
    press(&mut f.app, "<Enter>");
    assert!(status(&f.app).contains("a CADSS total is a whole number from 0 to 92"));
    press(&mut f.app, "<C-u>");
    type_text(&mut f.app, "23");
    press(&mut f.app, "<Enter>");
    let m = selected_measure(&f.app);
    assert_eq!(m.instrument, Instrument::Cadss);
    assert_eq!(m.entered_total, Some(23.0));
    assert!(m.items.is_empty());
    assert_eq!(m.session, Some(session));
    let e = f.app.patient.as_ref().unwrap().selected().unwrap();
    assert_eq!((e.kind.tag(), e.title.as_str()), ("SCALE", "CADSS 23"));
}

#[test]
fn a_bad_total_keeps_the_text_and_says_why() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m");
    type_text(&mut f.app, "meq");
    press(&mut f.app, "<Enter>");
    for (typed, why) in [
        ("12x", "\"12x\" is not a number"),
        ("-3", "-3 is out of range: a MEQ30 total"),
        ("20000", "20000 is out of range"),
        ("151", "a MEQ30 total is a whole number"),
        ("12.5", "a MEQ30 total is a whole number"),
    ] {
        type_text(&mut f.app, typed);
        press(&mut f.app, "<Enter>");
        let s = screen(&f.app);
        assert!(matches!(f.app.popup, Some(Popup::Measure(_))), "stays open");
        assert!(s.contains(&format!("Total {typed}")), "text kept\n{s}");
        assert!(s.contains(&format!("! {why}")), "{s}");
        assert!(status(&f.app).contains(why));
        press(&mut f.app, "<C-u>");
    }
    assert_eq!(measures_now(&f.app), 0);
    type_text(&mut f.app, "61");
    press(&mut f.app, "<Enter>");
    assert_eq!(selected_measure(&f.app).entered_total, Some(61.0));
}

#[test]
fn esc_keeps_the_half_entered_answers_and_m_brings_them_back() {
    let mut f = demo_app((120, 40));
    let maite = open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m<Enter>");
    type_text(&mut f.app, "123");
    press(&mut f.app, "<Esc>");
    assert!(f.app.popup.is_none());
    assert_eq!(
        status(&f.app),
        "Closed; your PHQ-9 (3 of 9 answered) is kept: m brings it back"
    );
    assert_eq!(measures_now(&f.app), 0);

    // Another patient starts afresh.
    press(&mut f.app, "<Esc><Esc>");
    press(&mut f.app, "<Down>");
    assert_ne!(f.app.patient.as_ref().unwrap().records.patient.id, maite);
    press(&mut f.app, "m");
    assert!(matches!(
        &f.app.popup,
        Some(Popup::Measure(m)) if matches!(m.step, MeasureStep::Pick(_))
    ));
    press(&mut f.app, "<Esc>");

    // Quitting does not ask: the kept answers are in the store, sealed, for the next start.
    press(&mut f.app, "q");
    assert!(f.app.quit);
    assert!(f.app.store().unsaved().unwrap().is_some());
    f.app.quit = false; // the test goes on in the same app

    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m");
    assert!(status(&f.app).contains("Your unsaved PHQ-9 (3 of 9 answered) is back"));
    let s = screen(&f.app);
    assert!(s.contains("Item 4 of 9"), "{s}");
    assert!(s.contains("Answers  1:1 2:2 3:3 4:·"), "{s}");
    type_text(&mut f.app, "000000");
    press(&mut f.app, "<Enter>");
    assert_eq!(
        selected_measure(&f.app).items,
        vec![1, 2, 3, 0, 0, 0, 0, 0, 0]
    );
    // Nothing is kept any more: quitting goes straight through.
    press(&mut f.app, "q");
    assert!(f.app.quit);
}

#[test]
fn back_from_the_first_item_picks_another_measure_and_keeps_the_answers() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m<Enter>");
    type_text(&mut f.app, "2");
    press(&mut f.app, "<Up><Up>");
    let s = screen(&f.app);
    assert!(
        s.contains("PHQ-9  depression, 9 items, scored here  (1 of 9 answered, kept)"),
        "{s}"
    );
    // Another measure can be recorded meanwhile...
    press(&mut f.app, "<Down><Enter>");
    type_text(&mut f.app, "0000000");
    press(&mut f.app, "<Enter>");
    assert_eq!(selected_measure(&f.app).instrument, Instrument::Gad7);
    // ...and the PHQ-9 answers come back.
    press(&mut f.app, "m");
    assert!(screen(&f.app).contains("Answers  1:2 2:·"));
}

#[test]
fn keys_that_mean_nothing_here_never_panic_or_type() {
    let mut f = demo_app((80, 24));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "m<Enter>");
    press(
        &mut f.app,
        "x<Right><Tab><Home><PageDown><Delete><C-a><F5><Space>",
    );
    f.app.paste("123");
    let Some(Popup::Measure(m)) = &f.app.popup else {
        panic!("the questionnaire is open");
    };
    let MeasureStep::Items(a) = &m.step else {
        panic!("answering items");
    };
    assert_eq!(a.answered(), 0, "only digits answer");
    assert_eq!(a.current, 0);
}

#[test]
fn phq9_popup_snapshots() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut f = demo_app((w, h));
        open_patient(&mut f.app, "Maite");
        press(&mut f.app, "m<Enter>");
        type_text(&mut f.app, "12");
        insta::assert_snapshot!(format!("phq9_item_{w}x{h}"), screen(&f.app));
        type_text(&mut f.app, "1230002");
        insta::assert_snapshot!(format!("phq9_review_{w}x{h}"), screen(&f.app));
    }
}

/// A long stream of keys through the measure, goal and check-in popups at a small and a usual
/// size, drawing after every key: nothing panics, and every popup keeps drawing.
#[test]
fn no_key_stream_panics_in_the_new_popups() {
    let keys = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "9",
        "a",
        "x",
        "<Enter>",
        "<Esc>",
        "<Backspace>",
        "<Delete>",
        "<Left>",
        "<Right>",
        "<Up>",
        "<Down>",
        "<Tab>",
        "<S-Tab>",
        "<Home>",
        "<End>",
        "<PageUp>",
        "<PageDown>",
        "<C-u>",
        "<Space>",
        "m",
        "g",
        "i",
        "e",
        // Ways into each popup, so the stream spends its time inside them.
        "<Esc><Esc>m<Enter>",
        "<Esc><Esc>m<Down><Down><Enter>",
        "<Esc><Esc>g<Enter>",
        "<Esc><Esc>i<Enter>",
    ];
    for size in [(40, 10), (64, 16), (80, 24)] {
        let mut f = demo_app(size);
        open_patient(&mut f.app, "Maite");
        // A small deterministic generator, so a failure can be replayed.
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut seen = std::collections::BTreeSet::new();
        for step in 0..1500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let key = keys[(seed % keys.len() as u64) as usize];
            // Never quit or blank the screen half-way: the point is the popups.
            press(&mut f.app, key);
            f.app.quit = false;
            if step % 3 == 0 {
                let _ = screen(&f.app);
            }
            seen.insert(match &f.app.popup {
                Some(Popup::Measure(m)) => match m.step {
                    MeasureStep::Pick(_) => "instruments",
                    MeasureStep::Items(_) => "items",
                    MeasureStep::Total(_) => "total",
                },
                Some(Popup::Goal(GoalPopup::Intentions { .. })) => "intentions",
                Some(Popup::Goal(GoalPopup::Form(_))) => "goal form",
                Some(Popup::Goal(GoalPopup::Pick { .. })) => "goals",
                Some(Popup::Goal(GoalPopup::CheckIn(_))) => "check-in",
                _ => "other",
            });
        }
        assert_eq!(
            seen.len(),
            8,
            "the stream reached every popup at {size:?}: {seen:?}"
        );
    }
}
