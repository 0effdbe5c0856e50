//! The terminal UI in-process: keys in keymap notation go in, the screen and the app's state
//! come out. Screens are compared with insta snapshots at fixed sizes and a fixed clock.

use crate::common::*;
use jiff::Timestamp;
use jiff::civil::date;
use kitnotes::app::{App, AppSettings, Pane, Popup, ThemeKind};
use kitnotes::cli::screenshot::render;
use kitnotes::clock::{FixedClock, IdSource};

use kitnotes::keymap::{Keymap, Preset as KeymapPreset};
use kitnotes::model::*;
use kitnotes::store::Store;
use kitnotes::store::sled_store::SledStore;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tempfile::TempDir;

#[test]
fn roster_and_timeline_at_120x40() {
    let f = demo_app((120, 40));
    insta::assert_snapshot!(screen(&f.app));
}

#[test]
fn roster_at_80x24_shows_two_panes() {
    let f = demo_app((80, 24));
    let s = screen(&f.app);
    assert!(s.contains("Patients (") && s.contains("Timeline ("));
    assert!(!s.contains("Detail"), "80 columns show two panes:\n{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_panic() {
    let mut f = demo_app((20, 5));
    let s = screen(&f.app);
    assert!(s.contains("Terminal too"), "{s}");
    // Keys still work at that size, and growing the terminal brings the panes back.
    press(&mut f.app, "<Down><Enter>?<Esc>");
    for (w, h) in [(1, 1), (39, 9), (40, 10), (63, 20), (64, 20), (109, 30)] {
        f.app.resize(w, h);
        let _ = screen(&f.app);
    }
    f.app.resize(120, 40);
    assert!(screen(&f.app).contains("Patients ("));
}

#[test]
fn opening_a_patient_and_an_entry_fills_header_timeline_and_detail() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "<Down><Enter>");
    assert_eq!(f.app.focus, Pane::Timeline);
    let v = f.app.patient.as_ref().unwrap();
    let name = v.records.patient.name.clone();
    let first = v.entries[0].title.clone();
    let s = screen(&f.app);
    assert!(s.lines().next().unwrap().contains(&name), "{s}");
    let start: String = first.chars().take(20).collect();
    assert!(s.contains(&start), "{s}");
    press(&mut f.app, "<Enter>");
    assert_eq!(f.app.focus, Pane::Detail);
    insta::assert_snapshot!(screen(&f.app));
}

#[test]
fn every_kind_of_entry_has_a_detail_screen() {
    let mut f = demo_app((120, 40));
    // Open the patient whose timeline has the most kinds of entry.
    let best = (0..f.app.roster.rows.len())
        .max_by_key(|&i| {
            f.app.roster.cursor.selected = 0;
            press(&mut f.app, "<Home>");
            for _ in 0..i {
                press(&mut f.app, "<Down>");
            }
            let v = f.app.patient.as_ref().unwrap();
            let mut tags: Vec<&str> = v.entries.iter().map(|e| e.kind.tag()).collect();
            tags.sort();
            tags.dedup();
            (tags.len(), std::cmp::Reverse(i))
        })
        .unwrap();
    press(&mut f.app, "<Home>");
    for _ in 0..best {
        press(&mut f.app, "<Down>");
    }
    press(&mut f.app, "<Enter>");
    let kinds: Vec<(usize, EntryKind)> = {
        let v = f.app.patient.as_ref().unwrap();
        let mut seen: Vec<(usize, EntryKind)> = Vec::new();
        for (i, e) in v.entries.iter().enumerate() {
            if !seen.iter().any(|(_, k)| k.tag() == e.kind.tag()) {
                seen.push((i, e.kind));
            }
        }
        seen
    };
    let tags: Vec<&str> = kinds.iter().map(|(_, k)| k.tag()).collect();
    for needed in [
        "PREP", "SESS", "INTG", "DOSE", "PHQ9", "GAD7", "GOAL", "CHK",
    ] {
        assert!(
            tags.contains(&needed),
            "demo patient lacks {needed}: {tags:?}"
        );
    }
    for (i, kind) in kinds {
        press(&mut f.app, "<Home>");
        for _ in 0..i {
            press(&mut f.app, "<Down>");
        }
        let s = screen(&f.app);
        insta::assert_snapshot!(format!("detail_{}", kind.tag()), s);
    }
}

#[test]
fn the_roster_filter_is_fuzzy_and_enter_opens_the_match() {
    let mut f = demo_app((120, 40));
    let target = f.app.roster.patients[5].name.clone();
    let first_name = target.split(' ').next().unwrap().to_lowercase();
    press(&mut f.app, "/");
    type_text(&mut f.app, &first_name);
    assert!(f.app.roster.rows.len() < f.app.roster.patients.len());
    assert_eq!(f.app.roster.selected().unwrap().name, target);
    let s = screen(&f.app);
    assert!(
        s.contains(&format!("/{first_name}")) && s.contains("FILTER"),
        "{s}"
    );
    press(&mut f.app, "<Enter>");
    assert_eq!(f.app.focus, Pane::Timeline);
    assert_eq!(f.app.patient.as_ref().unwrap().records.patient.name, target);
    // Back in the roster, Esc clears the kept filter.
    press(&mut f.app, "<Esc><Esc>");
    assert_eq!(f.app.focus, Pane::Roster);
    assert_eq!(
        f.app.roster.rows.len(),
        f.app.roster.patients.iter().filter(|p| !p.archived).count()
    );
}

#[test]
fn adding_a_patient_validates_inline_and_keeps_what_was_typed() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "n");
    type_text(&mut f.app, "Iris Vale");
    press(&mut f.app, "<Tab>");
    type_text(&mut f.app, "1984-13-40");
    press(&mut f.app, "<Enter>");
    let s = screen(&f.app);
    assert!(s.contains("YYYY-MM-DD") && s.contains("1984-13-40"), "{s}");
    insta::assert_snapshot!(s);
    // Esc closes the form but keeps it; n brings it back as it was.
    press(&mut f.app, "<Esc>");
    assert!(f.app.popup.is_none());
    press(&mut f.app, "n");
    let Some(Popup::Patient(form)) = &f.app.popup else {
        panic!("form not reopened")
    };
    assert_eq!(form.fields[0].text(), "Iris Vale");
    // The cursor waits in the field to fix; <C-u> clears it as in a shell.
    assert_eq!(form.focused, 1);
    press(&mut f.app, "<C-u>");
    type_text(&mut f.app, "1984-07-09");
    // Past sex and pronouns to the weight.
    press(&mut f.app, "<Tab><Tab><Tab>");
    type_text(&mut f.app, "61.5");
    press(&mut f.app, "<Enter>");
    assert!(f.app.popup.is_none(), "{}", screen(&f.app));
    let p = f.app.roster.selected().unwrap().clone();
    assert_eq!((p.name.as_str(), p.weight_kg), ("Iris Vale", Some(61.5)));
    assert!(screen(&f.app).contains("Added Iris Vale"));
    // It is on disk: a fresh store handle sees it.
    drop(f.app);
    let store = SledStore::open(f.dir.path()).unwrap();
    let saved = store.patient(&p.id).unwrap().unwrap();
    assert_eq!(saved.born, Some(date(1984, 7, 9)));
    // And the audit log says who added them, and when.
    let filter = kitnotes::store::AuditFilter {
        patient: Some(p.id.clone()),
        ..Default::default()
    };
    let log = store.audit_log(&filter).unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].action, kitnotes::store::AuditAction::PatientCreated);
    assert_eq!(log[0].at, NOW.parse::<Timestamp>().unwrap());
}

#[test]
fn editing_and_archiving_a_patient() {
    let mut f = demo_app((120, 40));
    let before = f.app.roster.rows.len();
    let name = f.app.roster.selected().unwrap().name.clone();
    press(&mut f.app, "e");
    // Past the date of birth and sex to the pronouns.
    press(&mut f.app, "<Tab><Tab><Tab>");
    press(&mut f.app, "<C-u>");
    type_text(&mut f.app, "ze/zir");
    press(&mut f.app, "<Enter>");
    assert_eq!(
        f.app
            .patient
            .as_ref()
            .unwrap()
            .records
            .patient
            .pronouns
            .as_deref(),
        Some("ze/zir")
    );
    let id = f.app.roster.selected().unwrap().id.clone();
    // Archiving says what it does and asks once: Esc leaves the patient as they were.
    press(&mut f.app, "a");
    let s = screen(&f.app);
    assert!(s.contains(&format!("Archive {name}?")), "{s}");
    assert!(s.contains("nothing is deleted"), "{s}");
    press(&mut f.app, "<Esc>");
    assert_eq!(f.app.roster.rows.len(), before, "Esc archives nothing");
    press(&mut f.app, "a<Enter>");
    let s = screen(&f.app);
    assert!(s.contains(&format!("Archived {name}")), "{s}");
    // The archived patient leaves the active list; A shows archived ones again.
    assert_eq!(f.app.roster.rows.len(), before - 1);
    press(&mut f.app, "A");
    assert_eq!(f.app.roster.rows.len(), before + demo_archived(&f.app));
    drop(f.app);
    let store = SledStore::open(f.dir.path()).unwrap();
    let filter = kitnotes::store::AuditFilter {
        patient: Some(id),
        ..Default::default()
    };
    let actions: Vec<_> = store
        .audit_log(&filter)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    use kitnotes::store::AuditAction as A;
    assert_eq!(
        actions[actions.len() - 2..],
        [A::PatientEdited, A::PatientArchived]
    );
}

fn demo_archived(app: &App) -> usize {
    app.roster.patients.iter().filter(|p| p.archived).count() - 1
}

#[test]
fn help_lists_the_live_keymap_and_filters_as_you_type() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "?");
    let s = screen(&f.app);
    assert!(
        s.contains("Keys in the patient list") && s.contains("Add a patient"),
        "{s}"
    );
    insta::assert_snapshot!(s);
    type_text(&mut f.app, "archive");
    let Some(Popup::Help(p)) = &f.app.popup else {
        panic!()
    };
    assert!(p.hits.len() >= 2 && p.hits.len() < p.rows.len());
    // Rows that say "archive" come first; a loose match scattered over other words may follow.
    let says = |h: &kitnotes::app::fuzzy::Hit| {
        p.rows[h.index].desc.to_lowercase().contains("archive")
            || p.rows[h.index].name().contains("archive")
    };
    let first_other = p.hits.iter().position(|h| !says(h)).unwrap_or(p.hits.len());
    assert!(first_other >= 2, "archive rows first");
    assert!(p.hits[first_other..].iter().all(|h| !says(h)));
    // Enter runs the chosen binding: archiving, which asks first.
    press(&mut f.app, "<Enter>");
    assert!(matches!(f.app.popup, Some(Popup::Confirm(_))));
    press(&mut f.app, "<Esc>");
    assert!(f.app.popup.is_none());
}

#[test]
fn the_palette_lists_every_action_with_its_key_and_runs_one() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, ":");
    let s = screen(&f.app);
    assert!(s.contains("Commands") && s.contains("patient.new"), "{s}");
    type_text(&mut f.app, "show hide archived");
    press(&mut f.app, "<Enter>");
    assert!(f.app.roster.show_archived);
}

#[test]
fn a_user_remap_shows_in_hints_and_help() {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let user = "[roster]\nprepend_keymap = [ { on = \"<C-n>\", run = \"patient.new\" } ]\n";
    let keymap = Keymap::load(
        KeymapPreset::Default,
        Some((std::path::Path::new("keymap.toml"), user)),
    )
    .unwrap();
    let mut app = App::new(
        Box::new(store),
        Box::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap())),
        IdSource::new(7),
        keymap,
        AppSettings::default(),
    )
    .unwrap();
    app.resize(120, 40);
    assert!(screen(&app).contains("<C-n> new"), "{}", screen(&app));
    press(&mut app, "<C-n>");
    assert!(matches!(app.popup, Some(Popup::Patient(_))));
}

#[test]
fn vim_sequences_show_the_next_keys_and_complete() {
    let dir = TempDir::new().unwrap();
    let mut app = app_on(demo_store(&dir), KeymapPreset::Vim, (120, 40));
    press(&mut app, "jjj");
    assert_eq!(app.roster.cursor.selected, 3);
    press(&mut app, "g");
    let s = screen(&app);
    assert!(s.contains("g…"), "{s}");
    insta::assert_snapshot!(s);
    press(&mut app, "g");
    assert_eq!(app.roster.cursor.selected, 0);
    assert!(app.pending.is_empty());
}

#[test]
fn key_releases_do_not_double_keys() {
    let mut f = demo_app((120, 40));
    let mut down = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
    f.app.key(down);
    down.kind = KeyEventKind::Release;
    f.app.key(down);
    assert_eq!(f.app.roster.cursor.selected, 1);
}

#[test]
fn paste_goes_into_the_field_and_never_runs_commands() {
    let mut f = demo_app((120, 40));
    let before = f.app.roster.cursor.selected;
    f.app.paste("jjjjq");
    assert!(!f.app.quit);
    assert_eq!(f.app.roster.cursor.selected, before);
    press(&mut f.app, "n");
    f.app.paste("Pasted\nName");
    let Some(Popup::Patient(form)) = &f.app.popup else {
        panic!()
    };
    assert_eq!(form.fields[0].text(), "Pasted Name");
}

#[test]
fn monochrome_still_shows_focus_and_selection() {
    use ratatui::style::Modifier;
    let dir = TempDir::new().unwrap();
    let mut app = app_on(demo_store(&dir), KeymapPreset::Default, (120, 40));
    app.theme = ThemeKind::Monochrome;
    let b = render(&app, 120, 40).unwrap();
    // The selected roster row (first row inside the border) is reversed, with no colour.
    let cell = &b[(3, 3)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
    assert_eq!(cell.fg, ratatui::style::Color::Reset);
    // The focused pane's border is drawn thick, the others thin.
    assert_eq!(b[(0, 2)].symbol(), "┏");
    assert_eq!(b[(28, 2)].symbol(), "┌");
}

#[test]
fn a_timeline_of_ten_thousand_entries_pages_to_its_end() {
    let dir = TempDir::new().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let pid = PatientId::parse("p-long").unwrap();
    store
        .put(Record::Patient(Patient::new(pid.clone(), "Long Course")))
        .unwrap();
    let start: Timestamp = "2020-01-01T09:00:00Z".parse().unwrap();
    let changes: Vec<kitnotes::store::Change> = (0..10_000)
        .map(|i| {
            let at = start + jiff::SignedDuration::from_hours(i);
            kitnotes::store::Change::Put(Record::Measure(Measure {
                id: RecordId::parse(&format!("m{i:05}")).unwrap(),
                patient: pid.clone(),
                instrument: Instrument::Gad7,
                at,
                items: vec![(i % 4) as u8; 7],
                entered_total: None,
                session: None,
            }))
        })
        .collect();
    store.apply(&changes).unwrap();
    let mut app = app_on(store, KeymapPreset::Default, (120, 40));
    press(&mut app, "<Enter>");
    assert_eq!(app.patient.as_ref().unwrap().entries.len(), 10_000);
    for _ in 0..300 {
        press(&mut app, "<PageDown>");
    }
    press(&mut app, "<End>");
    let s = screen(&app);
    assert!(
        s.contains("2020-01-01 09:00"),
        "the oldest entry is on the last page:\n{s}"
    );
    assert_eq!(app.patient.as_ref().unwrap().cursor.selected, 9_999);
}

/// Every screen, reached by its keys, at the two sizes the issue names.
#[test]
fn every_screen_at_120x40_and_80x24() {
    let screens = [
        ("roster", ""),
        ("timeline", "<Down><Enter>"),
        ("detail", "<Down><Enter><Down><Enter>"),
        ("filter", "/wren"),
        ("help", "?"),
        ("help_filtered", "?archive"),
        ("palette", ":"),
        ("palette_filtered", ":theme"),
        ("new_patient", "n"),
        ("edit_patient", "e"),
        ("archived_shown", "A"),
    ];
    for (w, h) in [(120, 40), (80, 24)] {
        for (name, keys) in screens {
            let mut f = demo_app((w, h));
            if !keys.is_empty() {
                press(&mut f.app, keys);
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&f.app));
        }
    }
}

#[test]
fn the_mouse_scrolls_and_selects_the_pane_under_it() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut f = demo_app((120, 40));
    let at = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Click the fourth patient (rows start under the header and the pane's border).
    f.app
        .mouse(at(MouseEventKind::Down(MouseButton::Left), 5, 6));
    assert_eq!(f.app.roster.cursor.selected, 3);
    // The wheel over the timeline focuses it and moves its selection.
    f.app.mouse(at(MouseEventKind::ScrollDown, 60, 10));
    f.app.mouse(at(MouseEventKind::ScrollDown, 60, 10));
    assert_eq!(f.app.focus, Pane::Timeline);
    assert_eq!(f.app.patient.as_ref().unwrap().cursor.selected, 2);
}

#[test]
fn an_unbound_key_says_where_help_is() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "z");
    assert!(screen(&f.app).contains("z does nothing here; ? shows the keys"));
}

// ---- The note editor (issue 4) ----

/// Opens the first patient's timeline and starts a note with `w`, Enter.
fn start_note(w: &mut Writer) {
    press(&mut w.app, "<Enter>");
    assert_eq!(w.app.focus, Pane::Timeline);
    press(&mut w.app, "w");
    assert!(matches!(w.app.popup, Some(Popup::NewNote(_))));
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{:?}", w.app.status);
}

#[test]
fn a_new_note_takes_two_keys_and_typing_lands_in_its_first_section() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    type_text(&mut w.app, "Calm, slept well; q and w are text here");
    let e = w.app.editor.as_ref().unwrap();
    assert_eq!(e.current, 0);
    assert_eq!(
        e.sections[0].text(),
        "Calm, slept well; q and w are text here"
    );
    assert!(!w.app.quit, "q typed into the note must not quit");
    // It was written at once, and the timeline lists it as a draft.
    let id = open_note_id(&w.app);
    let stored = stored_note(&w.app, &id);
    assert_eq!(stored.status, NoteStatus::Draft);
    let v = w.app.patient.as_ref().unwrap();
    assert!(v.entries.iter().any(|e| e.record == id));
    let s = screen(&w.app);
    assert!(
        s.contains(&e.sections[0].heading) && s.contains("EDIT"),
        "{s}"
    );
}

#[test]
fn the_template_picker_filters_by_kind_and_name() {
    let mut w = writer((120, 40));
    press(&mut w.app, "<Enter>w");
    type_text(&mut w.app, "soap");
    press(&mut w.app, "<Enter>");
    let e = w.app.editor.as_ref().unwrap();
    assert_eq!(e.note.template.as_deref(), Some("soap"));
    assert_eq!(e.sections[0].heading, "Subjective");
    // The next new note offers the last template first.
    press(&mut w.app, "<Esc>w<Enter>");
    assert_eq!(
        w.app.editor.as_ref().unwrap().note.template.as_deref(),
        Some("soap")
    );
}

#[test]
fn tab_moves_between_sections_and_saves_on_the_way() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "first");
    press(&mut w.app, "<Tab>");
    // Changing section saved at once, without waiting for a tick.
    assert_eq!(stored_note(&w.app, &id).sections[0].body, "first");
    type_text(&mut w.app, "second");
    let e = w.app.editor.as_ref().unwrap();
    assert_eq!(e.current, 1);
    assert_eq!(e.sections[1].text(), "second");
    press(&mut w.app, "<S-Tab><S-Tab>");
    let e = w.app.editor.as_ref().unwrap();
    assert_eq!(e.current, e.sections.len() - 1, "S-Tab wraps to the last");
    // Undo and redo work per section, a typed character at a time.
    press(&mut w.app, "<Tab><Tab>");
    press(&mut w.app, "<C-z><C-z>");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[1].text(), "seco");
    press(&mut w.app, "<C-y>");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[1].text(), "secon");
}

#[test]
fn autosave_writes_within_a_second_of_typing() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "BP 128/82");
    w.app.tick();
    assert_eq!(stored_note(&w.app, &id).sections[0].body, "", "not yet");
    assert!(screen(&w.app).contains("saving…"));
    later(&w, 1000);
    w.app.tick();
    assert_eq!(stored_note(&w.app, &id).sections[0].body, "BP 128/82");
    assert!(
        screen(&w.app).contains("saved 15:30:01"),
        "{}",
        screen(&w.app)
    );
    // Typing that never pauses is still saved every second.
    for c in " at 40 min".chars() {
        type_text(&mut w.app, &c.to_string());
        later(&w, 200);
        w.app.tick();
    }
    let saved = stored_note(&w.app, &id).sections[0].body.clone();
    assert!(saved.starts_with("BP 128/82 at 4"), "{saved:?}");
}

#[test]
fn quitting_saves_what_was_typed_first() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "typed just before quitting");
    press(&mut w.app, "<C-c>");
    assert!(w.app.quit);
    assert_eq!(
        stored_note(&w.app, &id).sections[0].body,
        "typed just before quitting"
    );
}

#[test]
fn closing_the_editor_saves_and_the_draft_reopens_with_e() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "kept");
    press(&mut w.app, "<Esc>");
    assert!(w.app.editor.is_none());
    assert_eq!(stored_note(&w.app, &id).sections[0].body, "kept");
    assert_eq!(
        w.app.patient.as_ref().unwrap().selected().unwrap().record,
        id
    );
    press(&mut w.app, "e");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[0].text(), "kept");
}

#[test]
fn a_restart_reopens_the_draft_with_the_cursor_in_it() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let id = open_note_id(&w.app);
    press(&mut w.app, "<Tab>");
    type_text(&mut w.app, "mid-sentence when the laptop di");
    later(&w, 1000);
    w.app.tick();
    // The process dies here: no close, no quit.
    let Writer { app, dir, .. } = w;
    drop(app);
    let store = SledStore::open(dir.path()).unwrap();
    let w = writer_on(dir, store, (120, 40), KeymapPreset::Default);
    let e = w.app.editor.as_ref().expect("the draft is open again");
    assert_eq!(e.note.id, id);
    assert_eq!(e.current, 1);
    assert_eq!(e.sections[1].text(), "mid-sentence when the laptop di");
    assert_eq!(e.sections[1].area.cursor().1, 31, "cursor at the end");
    assert!(screen(&w.app).contains("your draft, where you left off"));
}

#[test]
fn signing_is_blocked_by_an_empty_required_section_and_says_which() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    let required: Vec<String> = w
        .app
        .editor
        .as_ref()
        .unwrap()
        .sections
        .iter()
        .filter(|s| s.required)
        .map(|s| s.heading.clone())
        .collect();
    assert!(!required.is_empty());
    press(&mut w.app, "<A-s>");
    let status = w.app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains(&required[0]),
        "{status:?}"
    );
    assert!(w.app.editor.is_some(), "the editor stays open");
}

#[test]
fn signing_without_a_clinician_name_says_how_to_set_it() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "<Enter>w<Enter>");
    press(&mut f.app, "<A-s>");
    let status = f.app.status.clone().unwrap();
    assert!(status.text.contains("clinician = "), "{status:?}");
}

/// Fills every section, signs, and returns the note's id.
fn write_and_sign(w: &mut Writer) -> RecordId {
    start_note(w);
    let id = open_note_id(&w.app);
    let n = w.app.editor.as_ref().unwrap().sections.len();
    for i in 0..n {
        type_text(&mut w.app, &format!("text {i}"));
        press(&mut w.app, "<Tab>");
    }
    press(&mut w.app, "<A-s>");
    // Signing shows what becomes final and asks once: Enter signs.
    assert!(screen(&w.app).contains("After this the note never changes"));
    press(&mut w.app, "<Enter>");
    assert!(w.app.editor.is_none(), "{:?}", w.app.status);
    id
}

#[test]
fn a_signed_note_is_final_and_takes_addenda() {
    let mut w = writer((120, 40));
    let id = write_and_sign(&mut w);
    let note = stored_note(&w.app, &id);
    assert!(note.is_signed());
    assert_eq!(note.signed_by.as_deref(), Some("Dr. Rowan Vale"));
    assert_eq!(
        w.app.patient.as_ref().unwrap().selected().unwrap().record,
        id
    );
    // It cannot be opened for editing; the message points to addenda.
    press(&mut w.app, "e");
    assert!(w.app.editor.is_none());
    assert!(w.app.status.as_ref().unwrap().text.contains("addendum"));
    press(&mut w.app, "+");
    assert!(matches!(w.app.popup, Some(Popup::Addendum(_))));
    type_text(&mut w.app, "Dose was 0.5 mg/kg, not 0.4");
    later(&w, 60_000);
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none(), "{:?}", w.app.status);
    let note = stored_note(&w.app, &id);
    assert_eq!(note.addenda.len(), 1);
    assert_eq!(note.addenda[0].text, "Dose was 0.5 mg/kg, not 0.4");
    press(&mut w.app, "<Enter>");
    let s = screen(&w.app);
    assert!(
        s.contains("Addendum 1") && s.contains("Dose was 0.5 mg/kg"),
        "{s}"
    );
}

#[test]
fn paste_goes_into_the_note_with_its_line_breaks() {
    let mut w = writer((120, 40));
    start_note(&mut w);
    w.app.paste("line one\nline two q");
    assert!(!w.app.quit);
    let e = w.app.editor.as_ref().unwrap();
    assert_eq!(e.sections[0].text(), "line one\nline two q");
    assert!(e.is_dirty());
}

#[test]
fn vim_preset_has_normal_and_insert_modes_in_the_editor() {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let mut w = writer_on(dir, store, (120, 40), KeymapPreset::Vim);
    press(&mut w.app, "<Enter>w<Enter>");
    type_text(&mut w.app, "abc");
    press(&mut w.app, "<Esc>");
    assert_eq!(w.app.key_context(), kitnotes::app::KeyContext::EditorNormal);
    press(&mut w.app, "0xu");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[0].text(), "abc");
    press(&mut w.app, "0x");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[0].text(), "bc");
    press(&mut w.app, "iZ");
    assert_eq!(w.app.editor.as_ref().unwrap().sections[0].text(), "Zbc");
    press(&mut w.app, "<Esc>");
    press(&mut w.app, "ZZ");
    assert!(w.app.editor.is_none());
}

#[test]
fn vim_editor_keeps_esc_q_and_ctrl_c_inside_and_takes_colon_commands() {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let mut w = writer_on(dir, store, (120, 40), KeymapPreset::Vim);
    press(&mut w.app, "<Enter>w<Enter>");
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "Calm, warm hands");
    // <C-c> in insert mode is vim's <Esc>; <Esc>, q and <C-c> in normal mode stay.
    press(&mut w.app, "<C-c>");
    assert_eq!(w.app.key_context(), kitnotes::app::KeyContext::EditorNormal);
    press(&mut w.app, "<Esc>q<C-c>");
    assert!(!w.app.quit, "nothing in the editor quits kitnotes");
    assert!(w.app.editor.is_some(), "still in the note");
    assert!(
        status(&w.app).contains("leaves the note"),
        "{}",
        status(&w.app)
    );
    // :w saves, :wq saves and leaves.
    press(&mut w.app, ":w<Enter>");
    assert_eq!(status(&w.app), "Draft saved");
    assert_eq!(
        stored_note(&w.app, &id).sections[0].body,
        "Calm, warm hands"
    );
    press(&mut w.app, "a");
    type_text(&mut w.app, ", slow breath");
    press(&mut w.app, "<Esc>:wq<Enter>");
    assert!(w.app.editor.is_none());
    assert_eq!(
        stored_note(&w.app, &id).sections[0].body,
        "Calm, warm hands, slow breath"
    );
    assert!(!w.app.quit);
    // :q and :x leave too.
    for leave in [":q<Enter>", ":x<Enter>"] {
        press(&mut w.app, "e");
        assert!(w.app.editor.is_some(), "{}", status(&w.app));
        press(&mut w.app, "<Esc>");
        press(&mut w.app, leave);
        assert!(w.app.editor.is_none(), "{leave}");
    }
}

#[test]
fn emacs_preset_moves_saves_and_undoes_in_the_editor_with_emacs_keys() {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let mut w = writer_on(dir, store, (120, 40), KeymapPreset::Emacs);
    press(&mut w.app, "<Enter>w<Enter>");
    let id = open_note_id(&w.app);
    type_text(&mut w.app, "calm breath");
    let text = |w: &Writer| w.app.editor.as_ref().unwrap().sections[0].text();
    press(&mut w.app, "<C-a>");
    type_text(&mut w.app, "[+5] ");
    assert_eq!(text(&w), "[+5] calm breath");
    press(&mut w.app, "<C-e><C-b><C-b><C-d>");
    assert_eq!(text(&w), "[+5] calm breah");
    press(&mut w.app, "<C-x>u");
    assert_eq!(text(&w), "[+5] calm breath");
    // <C-x> waits for its second key and says which ones follow.
    press(&mut w.app, "<C-x>");
    assert!(screen(&w.app).contains("<C-s>"), "{}", screen(&w.app));
    press(&mut w.app, "<C-s>");
    assert_eq!(
        stored_note(&w.app, &id).sections[0].body,
        "[+5] calm breath"
    );
    press(&mut w.app, "<C-g>");
    assert!(w.app.editor.is_none());
}

#[test]
fn the_editor_at_120x40_and_80x24() {
    for (wd, h) in [(120, 40), (80, 24)] {
        let mut w = writer((wd, h));
        start_note(&mut w);
        type_text(
            &mut w.app,
            "Arrived on time with partner; slept 7 h; no alcohol in 48 h.",
        );
        press(&mut w.app, "<Tab>");
        insta::assert_snapshot!(format!("editor_{wd}x{h}"), screen(&w.app));
    }
    let mut w = writer((120, 40));
    press(&mut w.app, "<Enter>w");
    insta::assert_snapshot!("new_note_picker_120x40", screen(&w.app));
}

/// A store that refuses every write while `failing` is set, as a full or read-only disk would.
/// While `flush_failing` is set, writes seem to be taken but never reach the store and every
/// flush fails: what sled does with writes made before a full disk once kitnotes reopens it
/// (`SledStore::mend`), audit entries and all.
struct FlakyStore {
    inner: SledStore,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    flush_failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FlakyStore {
    fn new(inner: SledStore, failing: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self {
            inner,
            failing,
            flush_failing: Default::default(),
        }
    }
}

impl Store for FlakyStore {
    fn apply_with_audit(
        &self,
        changes: &[kitnotes::store::Change],
        audit: kitnotes::store::Audit<'_>,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(kitnotes::store::StoreError::Io(std::io::Error::other(
                "No space left on device",
            )));
        }
        if self.flush_failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        self.inner.apply_with_audit(changes, audit)
    }
    fn patient(&self, id: &PatientId) -> kitnotes::store::Result<Option<Patient>> {
        self.inner.patient(id)
    }
    fn patients(&self) -> kitnotes::store::Result<Vec<Patient>> {
        self.inner.patients()
    }
    fn patient_records(&self, id: &PatientId) -> kitnotes::store::Result<Option<PatientRecords>> {
        self.inner.patient_records(id)
    }
    fn record(&self, id: &str) -> kitnotes::store::Result<Option<Record>> {
        self.inner.record(id)
    }
    fn id_kind(&self, id: &str) -> kitnotes::store::Result<Option<RecordKind>> {
        self.inner.id_kind(id)
    }
    fn put_unsaved(&self, body: Option<&[u8]>) -> kitnotes::store::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(kitnotes::store::StoreError::Io(std::io::Error::other(
                "No space left on device",
            )));
        }
        self.inner.put_unsaved(body)
    }
    fn unsaved(&self) -> kitnotes::store::Result<Option<Vec<u8>>> {
        self.inner.unsaved()
    }
    fn seal_rescue(&self, body: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.inner.seal_rescue(body)
    }
    fn open_rescue(&self, sealed: &[u8]) -> kitnotes::store::Result<Vec<u8>> {
        self.inner.open_rescue(sealed)
    }
    fn flush(&self) -> kitnotes::store::Result<()> {
        if self.flush_failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(kitnotes::store::StoreError::Io(std::io::Error::other(
                "No space left on device",
            )));
        }
        self.inner.flush()
    }
    fn counts(&self) -> kitnotes::store::Result<kitnotes::store::Counts> {
        self.inner.counts()
    }
    fn check(&self) -> kitnotes::store::Result<kitnotes::store::CheckReport> {
        self.inner.check()
    }
    fn audit_log(
        &self,
        filter: &kitnotes::store::AuditFilter,
    ) -> kitnotes::store::Result<Vec<kitnotes::store::AuditEntry>> {
        self.inner.audit_log(filter)
    }
    fn verify_audit(&self) -> kitnotes::store::Result<kitnotes::store::AuditVerdict> {
        self.inner.verify_audit()
    }
    fn search(
        &self,
        query: &kitnotes::search::Query,
        limit: usize,
    ) -> kitnotes::store::Result<kitnotes::search::Results> {
        self.inner.search(query, limit)
    }
    fn reindex(&self) -> kitnotes::store::Result<u64> {
        self.inner.reindex()
    }
}

#[test]
fn a_failed_save_keeps_the_text_says_so_and_is_retried_until_it_lands() {
    let dir = TempDir::new().unwrap();
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = FlakyStore::new(demo_store(&dir), failing.clone());
    let clock = std::sync::Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
    let settings = AppSettings {
        clinician: Some("Dr. Rowan Vale".into()),
        ..AppSettings::default()
    };
    let mut app = App::new(
        Box::new(store),
        Box::new(clock.clone()),
        IdSource::new(7),
        Keymap::builtin(KeymapPreset::Default),
        settings,
    )
    .unwrap();
    app.resize(120, 40);
    press(&mut app, "<Enter>w<Enter>");
    let id = open_note_id(&app);

    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    type_text(&mut app, "Tearful at +20 min");
    clock.advance(jiff::SignedDuration::from_millis(1000));
    app.tick();
    let s = screen(&app);
    assert!(s.contains("Draft NOT saved, kept here, retrying"), "{s}");
    assert!(s.contains("No space left on device"), "{s}");
    assert_eq!(stored_note(&app, &id).sections[0].body, "");
    // Leaving the editor or quitting must not drop the unsaved text.
    press(&mut app, "<Esc>");
    assert!(
        app.editor.is_some(),
        "the editor stays open while its text is unsaved"
    );
    press(&mut app, "<C-c>");
    assert!(
        !app.quit,
        "quitting with an unsaved draft is refused while saving fails"
    );
    assert_eq!(
        app.editor.as_ref().unwrap().sections[0].text(),
        "Tearful at +20 min"
    );

    // The disk recovers: the next tick saves without another keystroke.
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(jiff::SignedDuration::from_millis(250));
    app.tick();
    assert_eq!(
        stored_note(&app, &id).sections[0].body,
        "Tearful at +20 min"
    );
    assert!(screen(&app).contains("saved 15:30:01"), "{}", screen(&app));
}

/// Issue 18: a console entry is stored, then the flush fails and the store forgets it (sled
/// reopened after a full disk). The entry stays on screen, the status says NOT SAVED, and once
/// the disk takes writes again the next tick writes the session again: the entry is stored,
/// with no key pressed.
#[test]
fn console_entries_a_failed_flush_lost_are_written_again_once_the_disk_recovers() {
    let dir = TempDir::new().unwrap();
    let store = FlakyStore::new(demo_store(&dir), Default::default());
    let flush_failing = store.flush_failing.clone();
    let clock = std::sync::Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
    let mut app = App::new(
        Box::new(store),
        Box::new(clock.clone()),
        IdSource::new(7),
        Keymap::builtin(KeymapPreset::Default),
        AppSettings::default(),
    )
    .unwrap();
    app.resize(120, 40);
    press(&mut app, "/");
    type_text(&mut app, "Xiomara");
    press(&mut app, "<Enter><Enter>s");
    type_text(&mut app, "IV ketamine");
    press(&mut app, "<Enter>");
    let id = app
        .console
        .as_ref()
        .expect("the console")
        .session
        .id
        .clone();
    let stored = |app: &App| match app.store().record(id.as_str()).unwrap() {
        Some(Record::Session(s)) => s.observations.len(),
        other => panic!("{other:?}"),
    };
    let first = stored(&app);

    flush_failing.store(true, std::sync::atomic::Ordering::SeqCst);
    press(&mut app, "o");
    type_text(&mut app, "Calm, eyes closed, written as the disk filled");
    press(&mut app, "<Enter>");
    clock.advance(jiff::SignedDuration::from_millis(300));
    app.tick();
    assert_eq!(stored(&app), first, "the entry never reached the disk");
    let s = screen(&app);
    assert!(
        s.contains("written as the disk filled"),
        "still on screen: {s}"
    );
    assert!(s.contains("NOT SAVED"), "{s}");

    flush_failing.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(jiff::SignedDuration::from_millis(300));
    app.tick();
    assert_eq!(
        stored(&app),
        first + 1,
        "written again, with no key pressed"
    );
    let s = screen(&app);
    assert!(!s.contains("NOT SAVED"), "{s}");
    assert!(s.contains("Saved again"), "{s}");
}

#[test]
fn the_drafts_list_shows_every_patients_unsigned_notes_oldest_first_and_opens_one() {
    let mut w = writer((120, 40));
    press(&mut w.app, "D");
    let Some(Popup::Drafts(list)) = &w.app.popup else {
        panic!("no drafts popup: {:?}", w.app.status);
    };
    let rows: Vec<_> = list
        .hits
        .iter()
        .map(|h| list.rows[h.index].clone())
        .collect();
    assert!(rows.len() >= 2, "the demo has drafts");
    assert!(rows.windows(2).all(|p| p[0].at <= p[1].at), "oldest first");
    let all = kitnotes::app::unsigned_drafts(w.app.store()).unwrap();
    assert_eq!(all.len(), rows.len());
    let patients: std::collections::HashSet<_> = rows.iter().map(|r| &r.patient).collect();
    assert!(patients.len() > 1, "drafts of more than one patient");
    insta::assert_snapshot!(screen(&w.app));

    // Filtering by a patient's name, then Enter: that patient, that note, in the editor.
    let target = rows.last().unwrap().clone();
    type_text(&mut w.app, &target.title);
    press(&mut w.app, "<Enter>");
    assert!(w.app.popup.is_none());
    let e = w
        .app
        .editor
        .as_ref()
        .expect("the draft opens in the editor");
    assert_eq!(e.note.id, target.note);
    let v = w.app.patient.as_ref().unwrap();
    assert_eq!(v.records.patient.id, target.patient);
    assert_eq!(v.selected().unwrap().record, target.note);

    // Exactly the unsigned notes: counted the long way round, patient by patient.
    let store = w.app.store();
    let unsigned: usize = store
        .patients()
        .unwrap()
        .iter()
        .map(|p| {
            let r = store.patient_records(&p.id).unwrap().unwrap();
            r.notes.iter().filter(|n| !n.is_signed()).count()
        })
        .sum();
    assert_eq!(all.len(), unsigned);
}

#[test]
fn an_empty_draft_left_at_once_is_not_kept_and_the_last_template_survives_a_restart() {
    let mut w = writer((120, 40));
    press(&mut w.app, "<Enter>");
    let entries = |w: &Writer| w.app.patient.as_ref().unwrap().entries.len();
    let before = entries(&w);
    press(&mut w.app, "w<Down>");
    let chosen = match &w.app.popup {
        Some(Popup::NewNote(p)) => p.list.selected().unwrap().id.clone(),
        _ => panic!("the template picker"),
    };
    press(&mut w.app, "<Enter>");
    let id = open_note_id(&w.app);
    assert_eq!(entries(&w), before + 1);
    press(&mut w.app, "<Esc>");
    assert!(w.app.editor.is_none());
    assert_eq!(status(&w.app), "The draft was empty: not kept");
    assert_eq!(entries(&w), before, "no empty draft left in the timeline");
    assert!(w.app.store().record(id.as_str()).unwrap().is_none());
    // A draft with a word in it is kept.
    press(&mut w.app, "w<Enter>");
    type_text(&mut w.app, "x");
    press(&mut w.app, "<Esc>");
    assert_eq!(entries(&w), before + 1);
    // The template last used is offered first after a restart too.
    later(&w, 2000);
    w.app.tick();
    let mut w = restart(w);
    press(&mut w.app, "<Esc><Esc>1");
    press(&mut w.app, "<Enter>w");
    match &w.app.popup {
        Some(Popup::NewNote(p)) => assert_eq!(p.list.selected().unwrap().id, chosen),
        _ => panic!("the template picker: {}", screen(&w.app)),
    }
}

#[test]
fn with_no_color_the_theme_key_stays_monochrome_and_the_selection_stays_marked() {
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let settings = AppSettings {
        theme: ThemeKind::Monochrome,
        no_color: true,
        ..AppSettings::default()
    };
    let mut app = App::new(
        Box::new(store),
        Box::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap())),
        IdSource::new(7),
        Keymap::builtin(KeymapPreset::Default),
        settings,
    )
    .unwrap();
    app.resize(120, 40);
    press(&mut app, "T");
    assert_eq!(app.theme, ThemeKind::Monochrome);
    assert!(status(&app).contains("NO_COLOR"), "{}", status(&app));
    // The selected row is marked without colour: reversed video.
    let buffer = render(&app, 120, 40).unwrap();
    let marked = (0..120).any(|x| {
        (0..40).any(|y| {
            buffer[(x, y)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
    });
    assert!(marked, "the selection has a mark without colour");
}

#[test]
fn the_timeline_key_writes_the_patients_chart_as_a_pdf_never_over_an_earlier_one_and_logs_it() {
    let mut f = demo_app((120, 40));
    let out = TempDir::new().unwrap();
    let exports = out.path().join("exports");
    f.app.settings.export_dir = Some(exports.clone());
    // The palette lists it too.
    press(&mut f.app, ":");
    type_text(&mut f.app, "chart pdf");
    assert!(
        screen(&f.app).contains("chart as a PDF"),
        "{}",
        screen(&f.app)
    );
    press(&mut f.app, "<Esc>");

    press(&mut f.app, "<Enter>");
    let p = f.app.roster.selected().unwrap().clone();
    press(&mut f.app, "E");
    let first = exports.join(format!("chart-{}-2026-11-21.pdf", p.id));
    let status = f.app.status.clone().unwrap();
    assert!(!status.error, "{}", status.text);
    assert!(
        status.text.starts_with(&format!(
            "Chart of {} written to {} (",
            p.name,
            first.display()
        )),
        "{}",
        status.text
    );
    let bytes = std::fs::read(&first).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the chart is readable by this user only");
    }
    // Again the same day: a second file; the first is kept as it was.
    press(&mut f.app, "E");
    let second = exports.join(format!("chart-{}-2026-11-21-2.pdf", p.id));
    assert!(second.exists(), "{:?}", f.app.status);
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
    // The same records give the same bytes (no creation time in the file).
    assert_eq!(std::fs::read(&second).unwrap(), bytes);
    let files: Vec<_> = std::fs::read_dir(&exports).unwrap().collect();
    assert_eq!(files.len(), 2, "no temporary file is left behind");

    let filter = kitnotes::store::AuditFilter {
        patient: Some(p.id.clone()),
        ..Default::default()
    };
    let log = f.app.store().audit_log(&filter).unwrap();
    let exported: Vec<_> = log
        .iter()
        .filter(|e| e.action == kitnotes::store::AuditAction::Exported)
        .collect();
    assert_eq!(exported.len(), 2, "{log:?}");
    assert!(
        exported[0]
            .detail
            .starts_with(&format!("PDF chart to {}: ", first.display())),
        "{}",
        exported[0].detail
    );
}

/// Issue 22: Home and End go to the first and last row of every picker (help, the palette,
/// the drafts list, the template and protocol pickers), in every preset; the filter keeps its
/// text.
#[test]
fn home_and_end_move_to_the_first_and_last_row_of_every_picker() {
    for preset in [
        KeymapPreset::Default,
        KeymapPreset::Vim,
        KeymapPreset::Emacs,
    ] {
        let dir = TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), preset, (120, 40));
        for (open, name) in [("<F1>", "help"), ("D", "drafts"), ("<Enter>w", "templates")] {
            press(&mut app, open);
            let rows = |app: &App| -> (usize, usize) {
                match &app.popup {
                    Some(Popup::Help(p)) | Some(Popup::Palette(p)) => {
                        (p.cursor.selected, p.hits.len())
                    }
                    Some(Popup::Drafts(p)) => (p.cursor.selected, p.hits.len()),
                    Some(Popup::NewNote(p)) => (p.list.cursor.selected, p.list.hits.len()),
                    _ => panic!("{preset:?} {name}: not the picker: {}", screen(app)),
                }
            };
            let (_, len) = rows(&app);
            assert!(len > 2, "{preset:?} {name}: {len} rows");
            press(&mut app, "<End>");
            assert_eq!(rows(&app), (len - 1, len), "{preset:?} {name}: End");
            press(&mut app, "<Home>");
            assert_eq!(rows(&app), (0, len), "{preset:?} {name}: Home");
            press(&mut app, "<Esc>");
            if app.patient.is_some() && name == "templates" {
                press(&mut app, "<Esc>");
            }
        }
    }
}

/// Issue 22: `<End>` in the detail scrolls until the entry's last line is at the bottom of the
/// pane, never further: the pane stays full, in every preset, at 80x24 and 120x40.
#[test]
fn end_in_the_detail_stops_with_the_last_line_at_the_bottom_of_the_pane() {
    for size in [(80u16, 24u16), (120, 40)] {
        let dir = TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), KeymapPreset::Default, size);
        // An entry with a long detail: Priya's latest dosing session.
        open_patient(&mut app, "Priya");
        let dose = app
            .patient
            .as_ref()
            .unwrap()
            .entries
            .iter()
            .position(|e| e.kind == kitnotes::model::EntryKind::Session);
        let Some(dose) = dose else {
            panic!("no session")
        };
        for _ in 0..dose {
            press(&mut app, "<Down>");
        }
        press(&mut app, "<Right>");
        press(&mut app, "<End>");
        let layout = kitnotes::ui::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, size.0, size.1),
            app.focus,
        );
        let pane = layout.pane(Pane::Detail).unwrap();
        let s = screen(&app);
        let lines: Vec<&str> = s.lines().collect();
        let inside = |y: u16| -> String {
            lines[usize::from(y)]
                .chars()
                .skip(usize::from(pane.x) + 1)
                .take(usize::from(pane.width.saturating_sub(2)))
                .collect()
        };
        // The entry's last line is on the pane's last row (not at the top over empty rows).
        let doc = app.detail_document();
        let last: String = doc
            .last()
            .unwrap()
            .iter()
            .map(|(_, t)| t.as_str())
            .collect();
        let bottom = inside(pane.bottom() - 2);
        let tail: String = last
            .chars()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(
            bottom.trim_end().ends_with(tail.trim_end()),
            "{size:?}: the last line {last:?} is not on the bottom row after <End>:\n{s}"
        );
        // And <End> again does not move it.
        let scroll = app.patient.as_ref().unwrap().detail_scroll;
        assert!(
            scroll > 0,
            "{size:?}: the session's detail is longer than the pane"
        );
        press(&mut app, "<End>");
        assert_eq!(app.patient.as_ref().unwrap().detail_scroll, scroll);
    }
}

/// Issue 22: one draft, one age. The drafts list and Today say how old each unsigned draft is
/// the same way (calendar days in the clinic's zone), where they used to say "9 days" and "8 d".
#[test]
fn a_draft_has_the_same_age_in_the_drafts_list_and_in_today() {
    let mut w = writer((120, 40));
    let drafts = kitnotes::app::unsigned_drafts(w.app.store()).unwrap();
    let oldest = drafts.iter().min_by_key(|d| d.at).unwrap().clone();
    let now = w.app.now();
    let (days, age) = kitnotes::model::today::draft_age(oldest.at, now, &w.app.settings.time_zone);
    assert!(days > 1, "an old draft in the demo: {days}");
    press(&mut w.app, "D");
    let list = screen(&w.app);
    let row = list
        .lines()
        .find(|l| l.contains(&oldest.title[..oldest.title.len().min(20)]))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains(&age), "{age:?} in the drafts list: {row}");
    press(&mut w.app, "<Esc>t");
    let today = screen(&w.app);
    assert!(
        today.contains(&format!("({age})")),
        "{age:?} in Today:\n{today}"
    );
    assert!(!today.contains(&format!("({days} d)")), "{today}");
}

/// Issue 22: the palette lists what can run where it opens: the console's entries only in
/// the console, the search popup's order key nowhere else.
#[test]
fn the_palette_offers_console_actions_in_the_console_only() {
    let mut w = writer((120, 40));
    let listed = |app: &App| -> Vec<kitnotes::app::Action> {
        match &app.popup {
            Some(Popup::Palette(p)) => p.rows.iter().filter_map(|r| r.action).collect(),
            _ => panic!("no palette: {}", screen(app)),
        }
    };
    press(&mut w.app, ":");
    let roster = listed(&w.app);
    assert!(!roster.contains(&kitnotes::app::Action::SessionVitals));
    assert!(!roster.contains(&kitnotes::app::Action::SearchOrder));
    assert!(roster.contains(&kitnotes::app::Action::SessionStart));
    press(&mut w.app, "<Esc>");
    open_patient(&mut w.app, "Priya");
    press(&mut w.app, "s");
    type_text(&mut w.app, "IV ketamine");
    press(&mut w.app, "<Enter>");
    assert!(w.app.console.is_some(), "{}", screen(&w.app));
    press(&mut w.app, ":");
    let console = listed(&w.app);
    assert!(console.contains(&kitnotes::app::Action::SessionVitals));
    // And running it from there opens the vitals line.
    type_text(&mut w.app, "record vitals");
    press(&mut w.app, "<Enter>");
    assert_eq!(
        crate::common::console::line_kind(&w),
        Some(kitnotes::app::console::InputKind::Vitals)
    );
}

/// Issue 22: help and the palette fit their width: a description or action name too long is
/// cut with `…`, and every row still ends with its action's name (or the start of it and `…`),
/// at 120x40 and 80x24; help's title names where it is in words.
#[test]
fn help_and_palette_rows_fit_their_width_with_an_ellipsis() {
    for size in [(120u16, 40u16), (80, 24)] {
        let mut f = demo_app(size);
        for open in [":", "<Enter>?"] {
            press(&mut f.app, open);
            let names: Vec<String> = match &f.app.popup {
                Some(Popup::Help(p)) | Some(Popup::Palette(p)) => {
                    p.rows.iter().map(|r| r.name().to_string()).collect()
                }
                _ => panic!("no popup: {}", screen(&f.app)),
            };
            let s = screen(&f.app);
            let rows: Vec<&str> = s
                .lines()
                .filter_map(|l| l.split('┃').nth(1))
                .filter(|r| r.contains('.') && !r.contains(" of ") && !r.starts_with('›'))
                .collect();
            assert!(rows.len() > 5, "{size:?} {open}: {s}");
            for row in rows {
                let last = row.split_whitespace().last().unwrap();
                assert!(
                    names.iter().any(|n| n == last)
                        || (last.ends_with('…')
                            && names
                                .iter()
                                .any(|n| n.starts_with(last.trim_end_matches('…')))),
                    "{size:?} {open}: a row cut at the border: {row:?}\n{s}"
                );
            }
            if open.ends_with('?') {
                assert!(s.contains("Keys in the timeline"), "{s}");
            }
            press(&mut f.app, "<Esc>");
        }
    }
}

/// Issue 22: any draft can be discarded from the timeline, after one question; `<Esc>` keeps
/// it; a signed note never is.
#[test]
fn delete_discards_the_selected_draft_after_one_question() {
    let mut w = writer((120, 40));
    open_patient(&mut w.app, "Anouk");
    let draft = {
        let v = w.app.patient.as_ref().unwrap();
        let i = v
            .entries
            .iter()
            .position(|e| {
                e.status == Some(NoteStatus::Draft) && matches!(e.kind, EntryKind::Note(_))
            })
            .expect("Anouk has a draft");
        (i, v.entries[i].record.clone())
    };
    let signed = {
        let v = w.app.patient.as_ref().unwrap();
        v.entries
            .iter()
            .position(|e| {
                e.status == Some(NoteStatus::Signed) && matches!(e.kind, EntryKind::Note(_))
            })
            .expect("Anouk has a signed note")
    };
    let select = |w: &mut Writer, i: usize| {
        press(&mut w.app, "<Home>");
        for _ in 0..i {
            press(&mut w.app, "<Down>");
        }
    };
    select(&mut w, signed);
    press(&mut w.app, "<Delete>");
    assert!(w.app.popup.is_none());
    assert!(
        status(&w.app).contains("never discarded"),
        "{}",
        status(&w.app)
    );
    select(&mut w, draft.0);
    press(&mut w.app, "<Delete>");
    assert!(
        screen(&w.app).contains("Discard the draft"),
        "{}",
        screen(&w.app)
    );
    press(&mut w.app, "<Esc>");
    assert!(w.app.store().record(draft.1.as_str()).unwrap().is_some());
    press(&mut w.app, "<Delete><Enter>");
    assert_eq!(status(&w.app), "Draft discarded");
    assert!(w.app.store().record(draft.1.as_str()).unwrap().is_none());
    let log = w
        .app
        .store()
        .audit_log(&kitnotes::store::AuditFilter::default())
        .unwrap();
    assert!(
        log.iter().any(|e| e.detail.contains(draft.1.as_str())
            || e.record.as_deref() == Some(draft.1.as_str())),
        "the audit log keeps the discard"
    );
}
