//! Integration goals in the app, in-process: promoting an intention from a preparation note,
//! the goal form and its messages, editing a goal, and check-ins down to the export.

use crate::common::*;
use kitnotes::app::goals::{GoalPopup, IntentionRow};
use kitnotes::app::{App, Popup};
use kitnotes::interchange::{ExportOptions, export_jsonl};
use kitnotes::keymap::Preset as KeymapPreset;
use kitnotes::model::*;

fn goals_titled(app: &App, title: &str) -> Vec<IntegrationGoal> {
    let v = app.patient.as_ref().unwrap();
    v.records
        .goals
        .iter()
        .filter(|g| g.title == title)
        .cloned()
        .collect()
}

/// Selects the first timeline entry that `is` picks.
fn select(app: &mut App, is: impl Fn(&TimelineEntry) -> bool) -> TimelineEntry {
    press(app, "<Home>");
    let (i, e) = {
        let v = app.patient.as_ref().unwrap();
        let i = v.entries.iter().position(&is).expect("such an entry");
        (i, v.entries[i].clone())
    };
    for _ in 0..i {
        press(app, "<Down>");
    }
    assert_eq!(app.patient.as_ref().unwrap().selected(), Some(&e));
    e
}

const INTENTION: &str = "Ask for help before things pile up";

#[test]
fn promoting_an_intention_makes_a_goal_from_its_note_and_then_it_is_already_a_goal() {
    let mut f = demo_app((120, 40));
    let patient = open_patient(&mut f.app, "Maite");
    press(&mut f.app, "g");
    let s = screen(&f.app);
    assert!(s.contains("A new goal…"), "{s}");
    // Maite's current intentions are goals already; those of her first course are not.
    assert!(
        s.contains("2026-11-05  Call my sister once a week  (already a goal)"),
        "{s}"
    );
    let first_course = s
        .lines()
        .find(|l| l.contains(&format!("2026-02-26  {INTENTION}")))
        .expect("the first course's intentions are listed");
    assert!(!first_course.contains("already"), "{first_course}");
    type_text(&mut f.app, "ask for help");
    press(&mut f.app, "<Enter>");
    let s = screen(&f.app);
    assert!(
        s.contains(&format!(
            "From the preparation note of 2026-02-26: \"{INTENTION}\""
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!("Goal {INTENTION}")),
        "the title is the intention\n{s}"
    );
    // The domain is focused: Left from nothing is the last choice.
    press(&mut f.app, "<Left>");
    press(&mut f.app, "<Enter>");
    assert!(f.app.popup.is_none(), "{}", status(&f.app));
    assert_eq!(status(&f.app), format!("Goal set: {INTENTION} (self-care)"));
    let goals = goals_titled(&f.app, INTENTION);
    assert_eq!(goals.len(), 1);
    let g = &goals[0];
    assert_eq!(g.patient, patient);
    assert_eq!(g.source_note, Some(rid("p0003-n002")));
    assert_eq!(
        (g.status, &g.domain),
        (GoalStatus::Active, &LifeDomain::SelfCare)
    );
    assert_eq!(g.at, ts(NOW));
    assert!(g.check_ins.is_empty() && g.sessions.is_empty() && g.target_date.is_none());
    let e = f.app.patient.as_ref().unwrap().selected().unwrap();
    assert_eq!(e.kind, EntryKind::GoalSet);
    assert_eq!(e.title, format!("Goal set: {INTENTION} (self-care)"));

    // The second time: marked, and not promoted twice.
    press(&mut f.app, "g");
    type_text(&mut f.app, "ask for help");
    let s = screen(&f.app);
    assert!(
        s.contains(&format!("2026-02-26  {INTENTION}  (already a goal)")),
        "{s}"
    );
    press(&mut f.app, "<Enter>");
    assert!(status(&f.app).contains("is already a goal (set 2026-11-21)"));
    press(&mut f.app, "<Esc>");
    assert_eq!(goals_titled(&f.app, INTENTION).len(), 1);
}

#[test]
fn the_selected_preparation_notes_intentions_come_first() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    let oldest = rid("p0003-n001");
    select(&mut f.app, |e| e.record == oldest);
    press(&mut f.app, "g");
    let Some(Popup::Goal(GoalPopup::Intentions { list, .. })) = &f.app.popup else {
        panic!("the intentions list is open");
    };
    assert_eq!(list.rows[0], IntentionRow::NewGoal);
    let IntentionRow::Intention { note, text, .. } = &list.rows[1] else {
        panic!("an intention follows");
    };
    assert_eq!((note, text.as_str()), (&oldest, INTENTION));
    // From the roster, newest note first.
    press(&mut f.app, "<Esc>1g");
    let Some(Popup::Goal(GoalPopup::Intentions { list, .. })) = &f.app.popup else {
        panic!("the intentions list is open");
    };
    let IntentionRow::Intention { note, .. } = &list.rows[1] else {
        panic!("an intention follows");
    };
    assert_eq!(note, &rid("p0003-n019"));
}

#[test]
fn bad_fields_say_where_and_why_and_keep_the_text() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "g<Enter>");
    type_text(&mut f.app, "Walk to the river on Sundays");
    press(&mut f.app, "<Tab>");
    type_text(&mut f.app, "Creativity");
    press(&mut f.app, "<Tab>");
    type_text(&mut f.app, "2026-02-30");
    press(&mut f.app, "<Tab>");
    type_text(&mut f.app, "2, 9");
    press(&mut f.app, "<Enter>");
    let s = screen(&f.app);
    assert!(matches!(f.app.popup, Some(Popup::Goal(GoalPopup::Form(_)))));
    assert_eq!(status(&f.app), "2 fields to fix before saving");
    assert!(s.contains("Target date 2026-02-30"), "the text stays\n{s}");
    assert!(
        s.contains("! \"2026-02-30\" is not a date: write it as YYYY-MM-DD"),
        "{s}"
    );
    assert!(
        s.contains("! no dosing session 9: they are numbered 1 to 6"),
        "{s}"
    );
    // Focus is on the first bad field. A date before the goal is set is refused too.
    press(&mut f.app, "<C-u>");
    type_text(&mut f.app, "2026-01-31");
    press(&mut f.app, "<Enter>");
    assert!(screen(&f.app).contains("! 2026-01-31 is before the goal is set (2026-11-21)"));
    press(&mut f.app, "<C-u>");
    type_text(&mut f.app, "2027-03-01");
    press(&mut f.app, "<Tab><C-u>");
    type_text(&mut f.app, "2");
    assert!(
        screen(&f.app).contains("= #2 on 2026-11-20"),
        "the number is resolved as typed"
    );
    press(&mut f.app, "<Enter>");
    let goals = goals_titled(&f.app, "Walk to the river on Sundays");
    assert_eq!(goals.len(), 1, "{}", status(&f.app));
    let g = &goals[0];
    assert_eq!(g.domain, LifeDomain::Other("Creativity".into()));
    assert_eq!(g.target_date, Some("2027-03-01".parse().unwrap()));
    // Session 2 of the current course, not of the first one.
    assert_eq!(g.sessions, vec![rid("p0003-s08")]);
    assert_eq!(g.source_note, None);
}

#[test]
fn esc_keeps_a_goal_form_and_the_same_key_brings_it_back() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "g<Enter>");
    type_text(&mut f.app, "Sleep before midnight");
    press(&mut f.app, "<Esc>");
    assert!(f.app.popup.is_none());
    assert_eq!(
        status(&f.app),
        "Closed; what you typed is kept: g brings it back"
    );
    press(&mut f.app, "g<Enter>");
    assert!(screen(&f.app).contains("Goal Sleep before midnight"));
    assert_eq!(status(&f.app), "What you typed before is back");
}

#[test]
fn two_check_ins_show_on_the_timeline_and_in_the_export() {
    let mut w = writer((120, 40));
    let patient = open_patient(&mut w.app, "Maite");
    let goal = "Call my sister once a week";
    // Not on a goal: `i` lists the active goals first.
    press(&mut w.app, "<Home>i");
    let s = screen(&w.app);
    assert!(
        s.contains("Check in: which of Maite Kowalczyk's active goals?"),
        "{s}"
    );
    type_text(&mut w.app, "sister");
    press(&mut w.app, "<Enter>");
    let s = screen(&w.app);
    assert!(s.contains(&format!("On \"{goal}\"")), "{s}");
    // The integration note of the last 7 days is linked by default.
    assert!(
        s.contains("Discussed in Integration after session 1 · 2026-11-15"),
        "{s}"
    );
    type_text(&mut w.app, "12");
    press(&mut w.app, "<Enter>");
    assert!(screen(&w.app).contains("! progress is a whole number from 0 to 10 (got \"12\")"));
    press(&mut w.app, "<Backspace><Backspace>");
    type_text(&mut w.app, "6");
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "Called on Sunday");
    press(&mut w.app, "<Enter>");
    assert_eq!(status(&w.app), format!("Checked in on \"{goal}\": 6/10"));

    // On the new CHK entry, `i` checks in on its goal directly; this one is linked to nothing.
    later(&w, 60_000);
    press(&mut w.app, "i");
    type_text(&mut w.app, "7");
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "Long call");
    press(&mut w.app, "<Tab><Backspace>");
    assert!(screen(&w.app).contains("Discussed in (none)"));
    press(&mut w.app, "<Enter>");

    let v = w.app.patient.as_ref().unwrap();
    let chk: Vec<&str> = v
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::CheckIn && e.at >= ts(NOW))
        .map(|e| e.title.as_str())
        .collect();
    assert_eq!(
        chk,
        [
            format!("Check-in: {goal} — progress 7/10"),
            format!("Check-in: {goal} — progress 6/10"),
        ]
    );
    let s = screen(&w.app);
    assert!(
        s.contains("2026-11-21 CHK    Check-in: Call my sister"),
        "{s}"
    );

    let mut out = Vec::new();
    let opts = ExportOptions {
        patient: Some(patient),
        include_psychotherapy_notes: false,
    };
    export_jsonl(w.app.store(), &mut out, &opts).unwrap();
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"type\":\"goal\"") && l.contains(goal))
        .expect("the goal is exported");
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    let check_ins = json["check_ins"].as_array().unwrap();
    let new: Vec<&serde_json::Value> = check_ins
        .iter()
        .filter(|c| c["at"].as_str().is_some_and(|at| at >= NOW))
        .collect();
    assert_eq!(new.len(), 2, "{line}");
    assert_eq!(new[0]["progress"], 6);
    assert_eq!(new[0]["note"], "Called on Sunday");
    assert_eq!(new[0]["integration_note"], "p0003-n022");
    assert_eq!(new[1]["progress"], 7);
    assert_eq!(new[1]["at"], "2026-11-21T15:31:00Z");
    assert!(new[1].get("integration_note").is_none());
}

#[test]
fn editing_a_goal_sets_its_status_and_keeps_its_check_ins() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    let goal = "Spend time in nature every week";
    let before = goals_titled(&f.app, goal).remove(0);
    assert_eq!(before.status, GoalStatus::Active);
    select(&mut f.app, |e| {
        e.kind == EntryKind::CheckIn && e.title.contains(goal)
    });
    assert!(screen(&f.app).contains("i check in  e edit goal"));
    press(&mut f.app, "e");
    let s = screen(&f.app);
    assert!(s.contains("Edit goal"), "{s}");
    assert!(s.contains("Status active"), "{s}");
    press(&mut f.app, "<Tab><Tab><Tab><Tab><Right>");
    assert!(screen(&f.app).contains("Status achieved"));
    press(&mut f.app, "<Enter>");
    assert_eq!(
        status(&f.app),
        format!("Saved the goal: {goal} (meaning, achieved)")
    );
    let after = goals_titled(&f.app, goal).remove(0);
    assert_eq!(after.status, GoalStatus::Achieved);
    assert_eq!(
        IntegrationGoal {
            status: GoalStatus::Active,
            ..after.clone()
        },
        before,
        "only the status changed; check-ins untouched"
    );
    let e = f.app.patient.as_ref().unwrap().selected().unwrap();
    assert_eq!((e.kind, e.record.clone()), (EntryKind::GoalSet, after.id));
}

#[test]
fn the_vim_preset_sets_goals_with_o_and_keeps_gg() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = demo_store(&dir);
    let mut app = app_on(store, KeymapPreset::Vim, (120, 40));
    open_patient(&mut app, "Maite");
    press(&mut app, "jjgg");
    assert_eq!(app.patient.as_ref().unwrap().cursor.selected, 0);
    assert!(app.popup.is_none());
    press(&mut app, "o");
    assert!(matches!(
        app.popup,
        Some(Popup::Goal(GoalPopup::Intentions { .. }))
    ));
}
