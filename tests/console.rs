//! The session console (issue 5), driven with keys and a fake clock: a whole esketamine session
//! from protocol to signed note and REMS summary, ending early, bad input, the privacy key, and
//! the screen at 120x40 and 80x24.

use crate::common::console::*;
use crate::common::*;
use jiff::SignedDuration;
use kitnotes::app::Popup;
use kitnotes::app::console::InputKind;
use kitnotes::model::*;

/// Up to +41 min of an esketamine session: lot, pre-dose vitals and MOAA/S, T0, an
/// observation, sedation, dissociation, the 40-minute BP with a rise.
fn esketamine_to_41_minutes(w: &mut Writer) {
    start(w, "esketamine");
    enter(w, "l", "LOT-4471B");
    enter(w, "v", "132/84 72 98");
    enter(w, "s", "5");
    minutes(w, 2);
    press(&mut w.app, "t");
    minutes(w, 5);
    enter(
        w,
        "o",
        "Eyes closed, calm breathing; said the room feels far away",
    );
    minutes(w, 15);
    enter(w, "s", "4");
    minutes(w, 10);
    enter(w, "c", "CADSS 18");
    minutes(w, 10);
    enter(w, "v", "176/96 84 97");
    minutes(w, 1);
}

#[test]
fn a_whole_esketamine_session_becomes_a_signed_note_and_a_rems_summary() {
    let mut w = writer((120, 40));
    esketamine_to_41_minutes(&mut w);
    let s = session(&w);
    assert_eq!(s.protocol.as_deref(), Some("esketamine-rems"));
    assert_eq!(s.dose_in_mg(), Some(56.0));
    assert_eq!(s.lot.as_deref(), Some("LOT-4471B"));
    let t0 = s.dose_time.expect("T0 marked");
    assert_eq!(s.vitals.len(), 2);
    assert!(s.vitals[0].at < t0, "the first reading is pre-dose");
    assert_eq!(s.minutes_since_dose(s.vitals[1].at), Some(40));
    assert_eq!(
        s.sedation.iter().map(|r| r.moaas).collect::<Vec<_>>(),
        [5, 4]
    );
    assert_eq!(s.dissociation[0].scale, "CADSS");
    assert_eq!(
        s.observations[0].text,
        "Eyes closed, calm breathing; said the room feels far away"
    );
    assert_eq!(s.minutes_since_dose(s.observations[0].at), Some(5));
    let screen41 = screen(&w.app);
    assert!(screen41.contains("rise +44/+12"), "{screen41}");
    assert!(screen41.contains("+41 min since dose"), "{screen41}");

    // An adverse event, and a line kept as a draft with Esc and brought back by its key.
    enter(&mut w, "!", "Nausea, no vomiting; settled with rest");
    press(&mut w.app, "o");
    type_text(&mut w.app, "Talking about her father");
    press(&mut w.app, "<Esc>");
    assert!(w.app.console.as_ref().unwrap().input.is_none());
    minutes(&mut w, 3);
    press(&mut w.app, "o");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(
        c.input.as_ref().unwrap().field.text(),
        "Talking about her father"
    );
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    let father = s
        .observations
        .iter()
        .find(|o| o.text.contains("father"))
        .unwrap();
    assert_eq!(
        s.minutes_since_dose(father.at),
        Some(41),
        "stamped when first opened"
    );
    assert!(
        s.observations
            .iter()
            .any(|o| o.adverse && o.text.starts_with("Nausea"))
    );

    // The BP before discharge, then discharge at +125 minutes.
    minutes(&mut w, 118 - 44);
    enter(&mut w, "v", "138/86 74 98");
    minutes(&mut w, 7);
    press(&mut w.app, "x");
    let kind = |w: &Writer| w.app.console.as_ref().unwrap().input.as_ref().unwrap().kind;
    assert_eq!(
        kind(&w),
        InputKind::Transport,
        "no reason asked at 125 minutes"
    );
    type_text(&mut w.app, "y");
    press(&mut w.app, "<Enter>");
    assert_eq!(
        kind(&w),
        InputKind::ReadyMinutes,
        "the REMS asks when ready"
    );
    type_text(&mut w.app, "95");
    press(&mut w.app, "<Enter>");
    assert!(w.app.console.is_none());
    let e = w
        .app
        .editor
        .as_ref()
        .expect("the session note opens to be read and signed");
    assert_eq!(e.note.kind, NoteKind::Session);
    let s = session(&w);
    let d = s.discharge.clone().unwrap();
    assert_eq!(s.minutes_since_dose(d.at), Some(125));
    assert!(d.transport_arranged);
    assert_eq!(d.ready_minutes, Some(95));
    assert_eq!(s.early_end_reason, None);
    let text: String = e
        .sections
        .iter()
        .map(|s| format!("{}\n{}\n", s.heading, s.text()))
        .collect();
    for needle in [
        "56 mg",
        "LOT-4471B",
        "132/84",
        "176/96",
        "138/86",
        "Eyes closed",
        "Nausea",
        "father",
        "CADSS",
        "125",
        "95",
    ] {
        assert!(text.contains(needle), "the note lacks {needle:?}:\n{text}");
    }

    // Signing the note signs the session: it says what becomes final and asks once; from then
    // on the store refuses to change it.
    press(&mut w.app, "<A-s>");
    let asked = screen(&w.app);
    assert!(
        asked.contains("Its dosing session is signed with it"),
        "{asked}"
    );
    assert!(
        session(&w).signed_by.is_none(),
        "nothing is signed before Enter"
    );
    // Esc changes nothing; asked again, Enter signs (once: no second question).
    press(&mut w.app, "<Esc>");
    assert!(w.app.popup.is_none() && w.app.editor.is_some());
    assert!(session(&w).signed_by.is_none());
    press(&mut w.app, "<A-s><Enter>");
    assert!(w.app.editor.is_none(), "{:?}", w.app.status);
    let s = session_by_id(&w, &s.id);
    assert_eq!(s.signed_by.as_deref(), Some("Dr. Rowan Vale"));
    let mut changed = s.clone();
    changed.observations.clear();
    assert!(w.app.store().put(Record::Session(changed)).is_err());

    // The REMS monitoring summary holds every field the form asks for.
    let patient = w.app.patient.as_ref().unwrap().records.patient.clone();
    let rems = kitnotes::interchange::rems::rems_summary(
        &patient,
        &s,
        &clinic(),
        &jiff::tz::TimeZone::UTC,
    )
    .unwrap();
    for needle in [
        "56",
        "2",
        "LOT-4471B",
        "132/84",
        "176/96",
        "138/86",
        "125",
        "95",
    ] {
        assert!(
            rems.contains(needle),
            "the summary lacks {needle:?}:\n{rems}"
        );
    }
    // The timeline shows the session with its duration and flag.
    let v = w.app.patient.as_ref().unwrap();
    let entry = v.entries.iter().find(|e| e.record == s.id).unwrap();
    assert!(entry.title.contains("125 min"), "{}", entry.title);
    assert!(entry.flagged);
}

fn session_by_id(w: &Writer, id: &RecordId) -> DosingSession {
    match w.app.store().record(id.as_str()).unwrap() {
        Some(Record::Session(s)) => s,
        other => panic!("no session: {other:?}"),
    }
}

#[test]
fn ending_before_the_minimum_observation_time_asks_why_and_records_it() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "t");
    minutes(&mut w, 60);
    press(&mut w.app, "x");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(c.input.as_ref().unwrap().kind, InputKind::EarlyEndReason);
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    let err = c.input.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("reason is required"), "{err}");
    type_text(
        &mut w.app,
        "Patient asked to leave; escorted by partner, observed in lobby",
    );
    press(&mut w.app, "<Enter><Enter>");
    // "y" was not typed: the transport answer is refused and asked again.
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(c.input.as_ref().unwrap().kind, InputKind::Transport);
    type_text(&mut w.app, "y");
    press(&mut w.app, "<Enter>");
    type_text(&mut w.app, "55");
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    assert_eq!(
        s.early_end_reason.as_deref(),
        Some("Patient asked to leave; escorted by partner, observed in lobby")
    );
    assert_eq!(
        s.minutes_since_dose(s.discharge.as_ref().unwrap().at),
        Some(60)
    );
}

#[test]
fn bad_vitals_get_an_inline_message_and_the_text_stays() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "v");
    type_text(&mut w.app, "12x/84 76");
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    let i = c.input.as_ref().expect("the line stays open");
    assert_eq!(i.field.text(), "12x/84 76");
    let err = i.error.clone().expect("an inline message");
    assert!(err.contains("12x"), "{err}");
    assert!(screen(&w.app).contains(&err), "{}", screen(&w.app));
    assert!(session(&w).vitals.is_empty());
    // Fixing the text and Enter stores it; the message goes.
    press(&mut w.app, "<Home><Delete><Delete><Delete>");
    type_text(&mut w.app, "128");
    press(&mut w.app, "<Enter>");
    assert_eq!(session(&w).vitals[0].bp(), Some((128, 84)));
}

#[test]
fn the_privacy_key_blanks_everything_at_once_and_brings_it_back() {
    let mut w = writer((120, 40));
    esketamine_to_41_minutes(&mut w);
    press(&mut w.app, "o");
    type_text(&mut w.app, "Crying softly");
    let before = screen(&w.app);
    press(&mut w.app, "<F12>");
    let blank = screen(&w.app);
    assert!(blank.chars().all(char::is_whitespace), "{blank}");
    // Typing on while blank goes into the line it was typed into, unseen: nothing is dropped.
    type_text(&mut w.app, ", then still");
    assert!(screen(&w.app).chars().all(char::is_whitespace));
    press(&mut w.app, "<F12>");
    assert_ne!(screen(&w.app), before);
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(
        c.input.as_ref().unwrap().field.text(),
        "Crying softly, then still"
    );
    // `b` blanks when not typing, and outside the console F12 still does.
    press(&mut w.app, "<Enter>b");
    assert!(screen(&w.app).chars().all(char::is_whitespace));
    // A word typed blind (with a `b` in it) neither shows the screen nor runs as commands:
    // it waits in an observation line, not entered, for when the screen is back.
    type_text(&mut w.app, "about to sleep");
    assert!(w.app.privacy, "a printable b never brings the screen back");
    assert!(screen(&w.app).chars().all(char::is_whitespace));
    let observed = session(&w).observations.len();
    press(&mut w.app, "<Esc>");
    assert!(!w.app.privacy);
    let c = w.app.console.as_ref().expect("still in the console");
    assert_eq!(c.input.as_ref().unwrap().field.text(), "about to sleep");
    assert_eq!(
        session(&w).observations.len(),
        observed,
        "nothing entered blind"
    );
    assert!(status(&w.app).contains("hidden"), "{}", status(&w.app));
    press(&mut w.app, "<Enter>");
    assert_eq!(
        session(&w).observations.last().unwrap().text,
        "about to sleep"
    );
    // Outside the console, keys typed blind run nothing and are said afterwards.
    press(&mut w.app, "q");
    assert!(w.app.console.is_none());
    press(&mut w.app, "<F12>");
    assert!(w.app.privacy);
    type_text(&mut w.app, "jjq");
    assert!(!w.app.quit);
    press(&mut w.app, "<F12>");
    assert!(
        status(&w.app).contains("3 keys typed while the screen was hidden did nothing"),
        "{}",
        status(&w.app)
    );
}

#[test]
fn starting_again_returns_to_the_open_session() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    let id = w.app.console.as_ref().unwrap().session.id.clone();
    press(&mut w.app, "q");
    assert!(w.app.console.is_none());
    press(&mut w.app, "s");
    assert_eq!(w.app.console.as_ref().unwrap().session.id, id);
}

#[test]
fn a_mg_per_kg_protocol_computes_the_dose_from_the_weight() {
    let mut w = writer((120, 40));
    start(&mut w, "IV ketamine");
    let c = w.app.console.as_ref().unwrap();
    let weight = c.patient.weight_kg.unwrap();
    let s = &c.session;
    assert_eq!(s.weight_kg, Some(weight));
    assert_eq!(
        s.dose_in_mg(),
        Some(kitnotes::model::session::mg_from_mg_per_kg(
            s.dose_mg_per_kg.unwrap(),
            weight
        ))
    );
    enter(&mut w, "d", "0.75 mg/kg");
    let s = session(&w);
    assert_eq!(s.dose_mg_per_kg, Some(0.75));
    assert_eq!(
        s.dose_in_mg(),
        Some((0.75 * weight * 10.0_f64).round() / 10.0)
    );
    // A dose in mg replaces the weight-based one.
    enter(&mut w, "d", "40 mg");
    let s = session(&w);
    assert_eq!((s.dose_mg, s.dose_mg_per_kg), (Some(40.0), None));
}

#[test]
fn the_console_at_120x40_and_80x24() {
    for (wd, h) in [(120, 40), (80, 24)] {
        let mut w = writer((wd, h));
        esketamine_to_41_minutes(&mut w);
        enter(&mut w, "!", "Nausea, no vomiting; settled with rest");
        insta::assert_snapshot!(format!("console_{wd}x{h}"), screen(&w.app));
        press(&mut w.app, "v");
        type_text(&mut w.app, "12x/84");
        press(&mut w.app, "<Enter>");
        insta::assert_snapshot!(format!("console_bad_vitals_{wd}x{h}"), screen(&w.app));
    }
}

#[test]
fn an_observation_can_be_corrected_until_the_session_is_signed() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "t");
    minutes(&mut w, 5);
    enter(&mut w, "o", "Eyes closed");
    minutes(&mut w, 10);
    enter(&mut w, "o", "Smiling");
    // The newest is selected; Up selects the one before, e opens it with its text.
    press(&mut w.app, "<Up>e");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(c.input.as_ref().unwrap().field.text(), "Eyes closed");
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "Eyes closed, slow breathing");
    press(&mut w.app, "<Enter>");
    // A correction asks why before it is stored.
    assert_eq!(session(&w).observations[0].text, "Eyes closed");
    type_text(&mut w.app, "added the breathing I saw");
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    assert_eq!(s.observations.len(), 2, "corrected, not added");
    assert_eq!(s.observations[0].text, "Eyes closed, slow breathing");
    assert_eq!(s.corrections().len(), 1);
    assert_eq!(
        s.corrections()[0].old,
        "Eyes closed",
        "the original is kept"
    );
    assert_eq!(s.corrections()[0].why, "added the breathing I saw");
    assert_eq!(
        s.minutes_since_dose(s.observations[0].at),
        Some(5),
        "its time kept"
    );
}

/// The top of the console: the header line and the clock with what it says beside it.
fn header(w: &Writer) -> String {
    screen(&w.app)
        .lines()
        .take(6)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opens the input with `key`, types `text`, Enter, and returns what the line says (the
/// question or the refusal), with the line still open.
fn refused_or_asked(w: &mut Writer, key: &str, text: &str) -> String {
    press(&mut w.app, key);
    type_text(&mut w.app, text);
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    let input = c.input.as_ref().expect("the line stays open");
    match &input.error {
        Some(e) => e.clone(),
        None => c.prompt(input, &jiff::tz::TimeZone::UTC),
    }
}

#[test]
fn the_header_shows_every_flag_that_holds_now_and_a_normal_reading_clears_it() {
    use kitnotes::model::monitoring::{Thresholds, VitalsFlag, session_flags};
    // Wide enough that the flags of this test never wrap past the big digits.
    let mut w = writer((180, 40));
    start(&mut w, "esketamine");
    enter(&mut w, "l", "LOT-1");
    enter(&mut w, "v", "145/92 80 98");
    assert!(
        header(&w).contains("pre-dose BP 145/92 high"),
        "{}",
        header(&w)
    );
    minutes(&mut w, 3);
    enter(&mut w, "v", "132/84 76 98");
    assert!(
        !header(&w).contains('⚠'),
        "a normal re-measure clears it:\n{}",
        header(&w)
    );
    enter(&mut w, "s", "5");
    press(&mut w.app, "t");
    minutes(&mut w, 20);
    // Two flags at once are both shown.
    enter(&mut w, "v", "130/80 155 88");
    let h = header(&w);
    assert!(h.contains("2 flags"), "{h}");
    assert!(
        h.contains("HR 155 high") && h.contains("SpO2 88% low"),
        "{h}"
    );
    // A BP-only reading leaves the heart rate and SpO2 flags standing.
    minutes(&mut w, 5);
    enter(&mut w, "v", "128/80");
    assert!(header(&w).contains("SpO2 88% low"), "{}", header(&w));
    // The 40-minute BP is due from +35 min, then overdue: the header says which, with minutes.
    minutes(&mut w, 12);
    let h = header(&w);
    assert!(h.contains("due now (2 min): BP at about 40 min"), "{h}");
    minutes(&mut w, 18);
    let h = header(&w);
    assert!(h.contains("OVERDUE 5 min: BP at about 40 min"), "{h}");
    // At +81 min, SpO2 96% and HR 90 clear them; BP 182/112 and a low heart rate are flagged.
    minutes(&mut w, 26);
    enter(&mut w, "v", "182/112 90 96");
    let h = header(&w);
    assert!(!h.contains("SpO2 88"), "{h}");
    assert!(h.contains("BP 182/112 high"), "{h}");
    enter(&mut w, "v", "89/50 38 97");
    let h = header(&w);
    assert!(h.contains("BP 89 low") && h.contains("HR 38 low"), "{h}");
    // Sedation: a drop from the pre-dose MOAA/S, cleared when it is back.
    enter(&mut w, "s", "3");
    assert!(header(&w).contains("sedated: MOAA/S 3, pre-dose 5"));
    enter(&mut w, "s", "5");
    assert!(!header(&w).contains("sedated"));
    // An adverse event is open until it is marked resolved (r on the selected event).
    enter(&mut w, "!", "Vomited once");
    assert!(header(&w).contains("adverse event open"));
    press(&mut w.app, "r");
    assert!(!header(&w).contains("adverse event open"), "{}", header(&w));
    enter(&mut w, "v", "120/80 72 98");
    assert!(!header(&w).contains('⚠'), "{}", header(&w));
    // The flagged readings stay flagged in the record, with the clinic defaults they crossed.
    let s = session(&w);
    let flags: Vec<String> = session_flags(&s, &Thresholds::default())
        .iter()
        .map(|(_, f)| f.message(&Thresholds::default()))
        .collect();
    assert!(
        flags.contains(&"HR 155 is above 120 bpm (clinic default)".to_string()),
        "{flags:?}"
    );
    assert!(flags.iter().any(|f| f.starts_with("SpO2 88% is below 90%")));
    assert!(
        session_flags(&s, &Thresholds::default())
            .iter()
            .any(|(_, f)| matches!(f, VitalsFlag::BpLow { systolic: 89 }))
    );
    // The timeline names the kinds of flag the session holds.
    press(&mut w.app, "q");
    let v = w.app.patient.as_ref().unwrap();
    let entry = v.entries.iter().find(|e| e.record == s.id).unwrap();
    assert!(
        entry
            .title
            .starts_with("BP, HR, SpO2, adverse event · Session"),
        "{}",
        entry.title
    );
    // Open until signed: the row's mark says which.
    assert_eq!(entry.status, Some(NoteStatus::Draft));
    assert!(entry.flagged);
}

#[test]
fn dose_slips_are_caught_and_a_confirmed_override_is_kept_with_who_and_why() {
    let mut w = writer((120, 40));
    start(&mut w, "IV ketamine");
    let usual = session(&w).dose_mg_per_kg;
    let asked = refused_or_asked(&mut w, "d", "5 mg/kg");
    assert!(
        asked.contains("5 mg/kg is outside the protocol's range 0.1-0.75 mg/kg")
            && asked.contains("anaesthetic range"),
        "{asked}"
    );
    assert_eq!(
        session(&w).dose_mg_per_kg,
        usual,
        "not taken before it is confirmed"
    );
    // Esc goes back to the dose as typed, to change it.
    press(&mut w.app, "<Esc>");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(c.input.as_ref().unwrap().field.text(), "5 mg/kg");
    press(&mut w.app, "<Enter>");
    type_text(
        &mut w.app,
        "Anaesthetist's plan for a procedure, agreed by phone",
    );
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    assert_eq!(s.dose_mg_per_kg, Some(5.0));
    assert_eq!(s.dose_overrides().len(), 1);
    let o = &s.dose_overrides()[0];
    assert_eq!(o.by, "Dr. Rowan Vale");
    assert!(o.why.starts_with("Anaesthetist's plan"));
    assert!(o.check.contains("0.1-0.75 mg/kg"), "{}", o.check);
    assert!(screen(&w.app).contains("outside the protocol, confirmed"));
    // A usual dose needs no question.
    enter(&mut w, "d", "0.5 mg/kg");

    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    let refused = refused_or_asked(&mut w, "d", "540");
    assert!(
        refused.contains("540 mg is not a whole number of 28 mg devices"),
        "{refused}"
    );
    press(&mut w.app, "<Esc>");
    let asked = refused_or_asked(&mut w, "d<C-u>", "84");
    assert!(
        asked.contains("the first session of a course is 56 mg, not 84 mg"),
        "{asked}"
    );
    press(&mut w.app, "<Esc><Esc>");
    assert_eq!(session(&w).dose_in_mg(), Some(56.0));
    assert!(session(&w).dose_overrides().is_empty());
}

#[test]
fn scale_totals_outside_their_range_are_refused_with_the_range() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    let e = refused_or_asked(&mut w, "c", "CADSS 500");
    assert!(
        e.contains("a CADSS total is a whole number from 0 to 92"),
        "{e}"
    );
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "CADSS 12.5");
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    let e = c.input.as_ref().unwrap().error.clone().unwrap();
    assert!(e.contains("whole number") && e.contains("not 12.5"), "{e}");
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "MEQ30 151");
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    assert!(
        c.input
            .as_ref()
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .contains("0 to 150")
    );
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "CADSS 92");
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    assert_eq!(s.dissociation.len(), 1);
    assert_eq!(s.dissociation[0].total, 92.0);
    let e = refused_or_asked(&mut w, "s", "6");
    assert!(e.contains("0-5"), "{e}");
}

#[test]
fn every_timed_entry_can_be_corrected_and_the_original_stays_readable() {
    let mut w = writer((120, 40));
    esketamine_to_41_minutes(&mut w);
    // C lists every entry; the 40-minute reading is picked by typing part of it.
    press(&mut w.app, "C");
    assert!(matches!(w.app.popup, Some(Popup::Correct(_))));
    type_text(&mut w.app, "176/96");
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(c.input.as_ref().unwrap().field.text(), "176/96 84 97%");
    press(&mut w.app, "<C-u>");
    type_text(&mut w.app, "156/96 84 97");
    press(&mut w.app, "<Enter>");
    let asked = w.app.console.as_ref().unwrap();
    let prompt = asked.prompt(asked.input.as_ref().unwrap(), &jiff::tz::TimeZone::UTC);
    assert!(
        prompt.contains("why correct vitals 176/96 84 97% to 156/96 84 97%"),
        "{prompt}"
    );
    // A correction needs its reason.
    press(&mut w.app, "<Enter>");
    assert!(session(&w).corrections().is_empty());
    type_text(&mut w.app, "misread the cuff");
    press(&mut w.app, "<Enter>");
    // MOAA/S, the dose and lot (after T0 `d` and `l` correct them), T0 itself.
    press(&mut w.app, "C");
    type_text(&mut w.app, "MOAA/S 4");
    press(&mut w.app, "<Enter><C-u>");
    type_text(&mut w.app, "3");
    press(&mut w.app, "<Enter>");
    type_text(&mut w.app, "rated before she answered");
    press(&mut w.app, "<Enter>");
    press(&mut w.app, "l<C-u>");
    type_text(&mut w.app, "LOT-4471C");
    press(&mut w.app, "<Enter>");
    type_text(&mut w.app, "typo");
    press(&mut w.app, "<Enter>");
    press(&mut w.app, "C");
    type_text(&mut w.app, "T0");
    press(&mut w.app, "<Enter><C-u>");
    type_text(&mut w.app, "15:31");
    press(&mut w.app, "<Enter>");
    type_text(&mut w.app, "first device was a minute earlier");
    press(&mut w.app, "<Enter>");
    let s = session(&w);
    assert_eq!(s.vitals[1].systolic, Some(156));
    assert_eq!(s.sedation[1].moaas, 3);
    assert_eq!(s.lot.as_deref(), Some("LOT-4471C"));
    let fields: Vec<_> = s.corrections().iter().map(|k| k.field.label()).collect();
    assert_eq!(fields, ["vitals", "MOAA/S", "lot", "T0"]);
    let k = &s.corrections()[0];
    assert_eq!(
        (k.old.as_str(), k.new.as_str()),
        ("176/96 84 97%", "156/96 84 97%")
    );
    assert_eq!(
        (k.by.as_str(), k.why.as_str()),
        ("Dr. Rowan Vale", "misread the cuff")
    );
    assert_eq!(k.entry_at, Some(s.vitals[1].at));
    assert_eq!(s.corrections()[3].old, "15:32:00");
    // The console shows the originals (struck through on screen) with who and why.
    let sc = screen(&w.app);
    assert!(
        sc.contains("176/96 84 97%") && sc.contains("misread the cuff"),
        "{sc}"
    );
    assert!(sc.contains("LOT-4471B"), "{sc}");
    // The detail pane, the exports and the audit log keep both.
    press(&mut w.app, "q");
    let v = w.app.patient.as_ref().unwrap();
    let entry = v.entries.iter().find(|e| e.record == s.id).unwrap();
    let detail: String = kitnotes::app::detail::document(
        &v.records,
        entry,
        &jiff::tz::TimeZone::UTC,
        &Default::default(),
    )
    .iter()
    .map(|l| l.iter().map(|(_, t)| t.as_str()).collect::<String>() + "\n")
    .collect();
    assert!(detail.contains("was 176/96 84 97%"), "{detail}");
    assert!(detail.contains("corrected by Dr. Rowan Vale"), "{detail}");
    let pid = s.patient.clone();
    let records = w.app.store().patient_records(&pid).unwrap().unwrap();
    let mut md = Vec::new();
    kitnotes::interchange::write_chart(&mut md, &records, &Default::default()).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("~~176/96 84 97%~~ → 156/96 84 97%"), "{md}");
    let mut jsonl = Vec::new();
    let opts = kitnotes::interchange::ExportOptions {
        patient: Some(pid.clone()),
        ..Default::default()
    };
    kitnotes::interchange::export_jsonl(w.app.store(), &mut jsonl, &opts).unwrap();
    let jsonl = String::from_utf8(jsonl).unwrap();
    assert!(
        jsonl.contains(r#""old":"176/96 84 97%","new":"156/96 84 97%""#),
        "{jsonl}"
    );
    let (bundle, _) = kitnotes::interchange::fhir_bundle(&records, &Default::default());
    let fhir = serde_json::to_string(&bundle).unwrap();
    assert!(
        fhir.contains(r#"originally \"176/96 84 97%\", now \"156/96 84 97%\""#),
        "{fhir}"
    );
    let log = w.app.store().audit_log(&Default::default()).unwrap();
    assert!(
        log.iter().any(|e| e.detail.contains("corrected vitals")
            && e.detail.contains("176/96 84 97% -> 156/96 84 97%")),
        "{log:#?}"
    );
}

#[test]
fn esc_twice_stays_in_the_console_and_a_long_entry_keeps_its_end_in_view() {
    let mut w = writer((80, 24));
    start(&mut w, "esketamine");
    press(&mut w.app, "o");
    let long = "The patient describes a long walk by the sea with her sister, the light on the water, and then says END";
    type_text(&mut w.app, long);
    let sc = screen(&w.app);
    assert!(
        sc.contains("says END"),
        "the end of the line is in view:\n{sc}"
    );
    press(&mut w.app, "<Esc><Esc>");
    assert!(w.app.console.is_some(), "two Esc never leave the console");
    let status = w.app.status.clone().unwrap();
    assert!(status.text.contains("q leaves"), "{status:?}");
    press(&mut w.app, "o");
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(
        c.input.as_ref().unwrap().field.text(),
        long,
        "the draft came back"
    );
}

#[test]
fn the_console_with_several_flags_at_120x40_and_80x24() {
    for (wd, h) in [(120, 40), (80, 24)] {
        let mut w = writer((wd, h));
        start(&mut w, "esketamine");
        enter(&mut w, "l", "LOT-4471B");
        enter(&mut w, "v", "132/84 72 98");
        enter(&mut w, "s", "5");
        minutes(&mut w, 2);
        press(&mut w.app, "t");
        minutes(&mut w, 25);
        enter(&mut w, "s", "3");
        minutes(&mut w, 15);
        enter(&mut w, "v", "184/112 128 88");
        enter(&mut w, "!", "Vomited once; settled");
        minutes(&mut w, 1);
        insta::assert_snapshot!(format!("console_flags_{wd}x{h}"), screen(&w.app));
    }
}

#[test]
fn quitting_keeps_the_line_being_typed_and_the_next_start_brings_it_back() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "t");
    minutes(&mut w, 12);
    press(&mut w.app, "o");
    let opened = w.app.now();
    type_text(&mut w.app, "Laughing, then quiet");
    minutes(&mut w, 1);
    // <C-c> while typing closes the line, kept as a draft; again, it quits, never refused for
    // a line: it is kept as it is, not entered.
    press(&mut w.app, "<C-c>");
    assert!(!w.app.quit);
    // The patient is dosed: the first quit asks, the next one quits.
    press(&mut w.app, "<C-c>");
    assert!(!w.app.quit);
    assert!(status(&w.app).contains("dosed"), "{}", status(&w.app));
    press(&mut w.app, "<C-c>");
    assert!(w.app.quit);
    assert!(session(&w).observations.is_empty(), "nothing entered");
    let mut w = restart(w);
    assert!(w.app.console.is_some(), "the console is open again");
    assert!(
        status(&w.app).contains("Brought back"),
        "{}",
        status(&w.app)
    );
    press(&mut w.app, "o");
    let c = w.app.console.as_ref().unwrap();
    let line = c.input.as_ref().expect("the same key brings the line back");
    assert_eq!(line.field.text(), "Laughing, then quiet");
    assert_eq!(
        line.at, opened,
        "stamped when it was opened, not at the restart"
    );
}

#[test]
fn a_line_typed_is_back_after_a_crash_where_it_was() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "t");
    minutes(&mut w, 30);
    press(&mut w.app, "o");
    let opened = w.app.now();
    type_text(&mut w.app, "Describes colours, smiling");
    // About a second after the last key the line is in the store; then the process dies.
    later(&w, 1000);
    w.app.tick();
    let w = restart(w);
    let c = w.app.console.as_ref().expect("the console is open again");
    let line = c.input.as_ref().expect("with the line open");
    assert_eq!(line.field.text(), "Describes colours, smiling");
    assert_eq!(line.at, opened);
    assert!(screen(&w.app).contains("Describes colours, smiling"));
}

#[test]
fn leaving_the_console_keeps_a_line_being_typed_as_a_draft_observation() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    press(&mut w.app, "t");
    minutes(&mut w, 12);
    press(&mut w.app, "o");
    type_text(&mut w.app, "Laughing, then quiet");
    let id = w.app.console.as_ref().unwrap().session.id.clone();
    press(&mut w.app, "<Esc>q");
    assert!(w.app.console.is_none());
    let Some(Record::Session(s)) = w.app.store().record(id.as_str()).unwrap() else {
        panic!("no session")
    };
    assert_eq!(s.observations.len(), 1);
    assert_eq!(
        s.observations[0].text,
        "(draft, not entered) Laughing, then quiet"
    );
}

#[test]
fn quitting_while_the_patient_is_dosed_asks_once_and_says_what_happens() {
    let mut w = writer((120, 40));
    start(&mut w, "esketamine");
    // Not dosed yet: quit quits.
    press(&mut w.app, "<C-c>");
    assert!(w.app.quit);
    let mut w = restart(w);
    press(&mut w.app, "t");
    minutes(&mut w, 20);
    press(&mut w.app, "<C-c>");
    assert!(!w.app.quit);
    assert!(
        status(&w.app).contains("The patient is dosed (+20 min) and not discharged"),
        "{}",
        status(&w.app)
    );
    // Any other key in between, and the question is asked again.
    press(&mut w.app, "<Down><C-c>");
    assert!(!w.app.quit);
    press(&mut w.app, "<C-c>");
    assert!(w.app.quit);
    let w = restart(w);
    assert!(
        w.app.console.is_some(),
        "the console reopens on the open session"
    );
}

#[test]
fn locked_during_a_session_the_screen_keeps_the_clock_and_checks_but_no_name_or_text() {
    let mut w = writer((120, 40));
    esketamine_to_41_minutes(&mut w);
    press(&mut w.app, "o");
    type_text(&mut w.app, "Whispering about the ocean");
    w.app.settings.lock_after = kitnotes::app::lock::LockAfter::Idle(SignedDuration::from_mins(5));
    w.app.settings.lock_during_session =
        kitnotes::app::lock::LockAfter::Idle(SignedDuration::from_mins(15));
    // Five quiet minutes lock outside a session, not during one.
    minutes(&mut w, 6);
    assert!(!w.app.is_locked());
    minutes(&mut w, 10);
    assert!(w.app.is_locked());
    minutes(&mut w, 40);
    let s = screen(&w.app);
    assert!(s.contains("kitnotes is locked"), "{s}");
    assert!(s.contains("Session in progress: +97 min since dose"), "{s}");
    assert!(s.contains("observe until"), "{s}");
    assert!(s.contains("BP before discharge"), "{s}");
    assert!(!s.contains(PATIENT), "no name on the lock screen:\n{s}");
    assert!(
        !s.contains("Whispering"),
        "no text on the lock screen:\n{s}"
    );
    assert!(!s.contains("ocean"), "{s}");
    // Unlocked (the demo store has no passphrase), the line is still there as typed.
    press(&mut w.app, "<Enter>");
    assert!(!w.app.is_locked());
    let c = w.app.console.as_ref().unwrap();
    assert_eq!(
        c.input.as_ref().unwrap().field.text(),
        "Whispering about the ocean"
    );
}

/// The machine's clock set back below T0 during a session (a correction, a wrong time zone):
/// the console says the clock is before T0, never "+-8 min", and the upcoming checks count
/// down with a plain minus.
#[test]
fn a_clock_set_back_before_t0_is_said_as_such() {
    let mut w = writer((120, 40));
    esketamine_to_41_minutes(&mut w);
    w.clock.advance(SignedDuration::from_mins(-50));
    let s = screen(&w.app);
    assert!(s.contains("9 min before T0 by this clock"), "{s}");
    assert!(!s.contains("+-"), "{s}");
}
