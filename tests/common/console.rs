//! Driving the session console with keys and a clock the test moves: start a session from a
//! protocol, enter lines, let minutes pass, read the session back from the store.

use super::*;
use jiff::SignedDuration;
use kitnotes::app::Popup;
use kitnotes::app::console::InputKind;

/// The demo patient on esketamine under the REMS, with a weight and no sessions yet.
pub const PATIENT: &str = "Xiomara";

/// Opens PATIENT's timeline and starts a session from the protocol matching `protocol`,
/// answering the REMS form's questions a REMS session asks as it starts.
pub fn start(w: &mut Writer, protocol: &str) {
    start_unanswered(w, protocol);
    answer_rems_questions(w);
}

/// [`start`], leaving the REMS form's first question open.
pub fn start_unanswered(w: &mut Writer, protocol: &str) {
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

/// A REMS session asks its form's questions as it starts: on a first treatment, enrolled; no
/// concomitant medications.
pub fn answer_rems_questions(w: &mut Writer) {
    loop {
        let kind = w
            .app
            .console
            .as_ref()
            .and_then(|c| c.input.as_ref())
            .map(|i| i.kind);
        match kind {
            // The line may come filled in from the medication list: cleared first.
            Some(InputKind::Concomitant) => {
                press(&mut w.app, "<C-u>");
                type_text(&mut w.app, "none")
            }
            Some(InputKind::Enrolled | InputKind::FirstTreatment) => type_text(&mut w.app, "y"),
            _ => return,
        }
        press(&mut w.app, "<Enter>");
    }
}

/// Lets `m` minutes pass, the app ticking as it does every 250 ms.
pub fn minutes(w: &mut Writer, m: i64) {
    w.clock.advance(SignedDuration::from_mins(m));
    w.app.tick();
}

/// Opens the input with `key`, types `text`, Enter.
pub fn enter(w: &mut Writer, key: &str, text: &str) {
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

pub fn session(w: &Writer) -> DosingSession {
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

/// The kind of the console's open line, if one is open.
pub fn line_kind(w: &Writer) -> Option<InputKind> {
    w.app
        .console
        .as_ref()
        .and_then(|c| c.input.as_ref())
        .map(|i| i.kind)
}
