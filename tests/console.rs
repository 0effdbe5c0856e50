//! The session console (issue 5), driven with keys and a fake clock: a whole esketamine session
//! from protocol to signed note and REMS summary, ending early, bad input, the privacy key, and
//! the screen at 120x40 and 80x24.

mod common;

use common::*;
use jiff::SignedDuration;
use kitnotes::app::Popup;
use kitnotes::app::console::InputKind;
use kitnotes::model::*;

/// The demo patient on esketamine under the REMS, with a weight and no sessions yet.
const PATIENT: &str = "Xiomara";

/// Opens PATIENT's timeline and starts a session from the protocol matching `protocol`.
fn start(w: &mut Writer, protocol: &str) {
    press(&mut w.app, "/");
    type_text(&mut w.app, PATIENT);
    press(&mut w.app, "<Enter><Enter>s");
    assert!(
        matches!(w.app.popup, Some(Popup::Protocols(_))),
        "{:?}",
        w.app.status
    );
    type_text(&mut w.app, protocol);
    press(&mut w.app, "<Enter>");
    assert!(w.app.console.is_some(), "{:?}", w.app.status);
}

/// Lets `m` minutes pass, the app ticking as it does every 250 ms.
fn minutes(w: &mut Writer, m: i64) {
    w.clock.advance(SignedDuration::from_mins(m));
    w.app.tick();
}

/// Opens the input with `key`, types `text`, Enter.
fn enter(w: &mut Writer, key: &str, text: &str) {
    press(&mut w.app, key);
    type_text(&mut w.app, text);
    press(&mut w.app, "<Enter>");
    let c = w.app.console.as_ref().unwrap();
    assert!(
        c.input.is_none(),
        "{key} {text:?} was refused: {:?}",
        c.input.as_ref().and_then(|i| i.error.clone())
    );
}

fn session(w: &Writer) -> DosingSession {
    let id = w.app.console.as_ref().map(|c| c.session.id.clone());
    let id = id.unwrap_or_else(|| {
        w.app
            .editor
            .as_ref()
            .and_then(|e| e.note.session.clone())
            .unwrap()
    });
    match w.app.store().record(id.as_str()).unwrap() {
        Some(Record::Session(s)) => s,
        other => panic!("no session: {other:?}"),
    }
}

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

    // Signing the note signs the session: from then on the store refuses to change it.
    press(&mut w.app, "<C-l>");
    assert!(w.app.editor.is_none(), "{:?}", w.app.status);
    let s = session_by_id(&w, &s.id);
    assert_eq!(s.signed_by.as_deref(), Some("Dr. Rowan Vale"));
    let mut changed = s.clone();
    changed.observations.clear();
    assert!(w.app.store().put(Record::Session(changed)).is_err());

    // The REMS monitoring summary holds every field the form asks for.
    let patient = w.app.patient.as_ref().unwrap().records.patient.clone();
    let rems =
        kitnotes::interchange::rems::rems_summary(&patient, &s, &jiff::tz::TimeZone::UTC).unwrap();
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
    let s = session(&w);
    assert_eq!(s.observations.len(), 2, "corrected, not added");
    assert_eq!(s.observations[0].text, "Eyes closed, slow breathing");
    assert_eq!(
        s.minutes_since_dose(s.observations[0].at),
        Some(5),
        "its time kept"
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
