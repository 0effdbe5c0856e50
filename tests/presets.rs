//! A power user's moves in every view of every preset, typed as key strings: the same keys move
//! through the patient list, the timeline, Today, the course view, the session console and the
//! pickers, and close what they opened.

use crate::common::*;
use kitnotes::app::Popup;
use kitnotes::app::views::View;
use kitnotes::keymap::Preset as KeymapPreset;
use tempfile::TempDir;

/// The keys of one preset for the moves every list has.
struct Moves {
    preset: KeymapPreset,
    down: &'static str,
    up: &'static str,
    top: &'static str,
    bottom: &'static str,
    page_down: &'static str,
    page_up: &'static str,
    /// Closes Today and the course view.
    back: &'static str,
}

const PRESETS: [Moves; 3] = [
    Moves {
        preset: KeymapPreset::Default,
        down: "<Down>",
        up: "<Up>",
        top: "<Home>",
        bottom: "<End>",
        page_down: "<PageDown>",
        page_up: "<PageUp>",
        back: "<Esc>",
    },
    Moves {
        preset: KeymapPreset::Vim,
        down: "j",
        up: "k",
        top: "gg",
        bottom: "G",
        page_down: "<C-d>",
        page_up: "<C-u>",
        back: "h",
    },
    Moves {
        preset: KeymapPreset::Emacs,
        down: "<C-n>",
        up: "<C-p>",
        top: "<A-lt>",
        bottom: "<A->>",
        page_down: "<C-v>",
        page_up: "<A-v>",
        back: "<C-g>",
    },
];

/// Runs the six moves on a list of `len` rows through `selected`, which reads the cursor.
fn walk(
    app: &mut kitnotes::app::App,
    m: &Moves,
    len: usize,
    selected: impl Fn(&kitnotes::app::App) -> usize,
    place: &str,
) {
    let who = format!("{:?} preset, {place}", m.preset);
    assert!(
        len > 2,
        "{who}: the demo should give more than two rows, has {len}"
    );
    press(app, m.bottom);
    assert_eq!(
        selected(app),
        len - 1,
        "{who}: {} goes to the last row\n{}",
        m.bottom,
        screen(app)
    );
    press(app, m.top);
    assert_eq!(
        selected(app),
        0,
        "{who}: {} goes to the first row\n{}",
        m.top,
        screen(app)
    );
    press(app, m.down);
    assert_eq!(selected(app), 1, "{who}: {} goes down a row", m.down);
    press(app, m.up);
    assert_eq!(selected(app), 0, "{who}: {} goes up a row", m.up);
    press(app, m.page_down);
    assert!(selected(app) > 1, "{who}: {} goes down a page", m.page_down);
    press(app, m.page_up);
    assert_eq!(selected(app), 0, "{who}: {} goes up a page", m.page_up);
    assert!(
        !status(app).contains("does nothing"),
        "{who}: {}",
        status(app)
    );
    assert!(
        !status(app).contains("does not work"),
        "{who}: {}",
        status(app)
    );
    assert!(!app.quit, "{who}");
}

fn today_row(app: &kitnotes::app::App) -> usize {
    match &app.view {
        Some(View::Today(t)) => t.cursor.selected,
        _ => panic!("Today is not open\n{}", screen(app)),
    }
}

fn course_row(app: &kitnotes::app::App) -> usize {
    match &app.view {
        Some(View::Course(c)) => c.cursor.selected,
        _ => panic!("the course view is not open\n{}", screen(app)),
    }
}

#[test]
fn today_moves_and_closes_with_each_presets_keys() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        // A short screen, so a page is less than the list.
        let mut app = app_on(demo_store(&dir), m.preset, (100, 14));
        press(&mut app, "t");
        let len = match &app.view {
            Some(View::Today(t)) => t.rows().count(),
            _ => panic!("{:?}: t opens Today\n{}", m.preset, screen(&app)),
        };
        walk(&mut app, m, len, today_row, "Today");
        press(&mut app, m.back);
        assert!(
            app.view.is_none(),
            "{:?}: {} closes Today\n{}",
            m.preset,
            m.back,
            screen(&app)
        );
    }
}

#[test]
fn the_course_view_moves_through_goals_and_closes_with_each_presets_keys() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), m.preset, (120, 30));
        // The patient with the most goals.
        let mut best = (0, 0);
        for i in 0..app.roster.rows.len() {
            app.roster.cursor.selected = i;
            press(&mut app, "c");
            let goals = app.patient.as_ref().map_or(0, |p| p.records.goals.len());
            if goals > best.1 {
                best = (i, goals);
            }
            press(&mut app, "<Esc>");
        }
        app.roster.cursor.selected = best.0;
        press(&mut app, "c");
        assert!(
            matches!(app.view, Some(View::Course(_))),
            "{:?}\n{}",
            m.preset,
            screen(&app)
        );
        walk(&mut app, m, best.1, course_row, "the course view");
        press(&mut app, m.back);
        assert!(
            app.view.is_none(),
            "{:?}: {} closes the course view\n{}",
            m.preset,
            m.back,
            screen(&app)
        );
    }
}

#[test]
fn the_patient_list_and_the_timeline_move_with_each_presets_keys() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), m.preset, (120, 20));
        let len = app.roster.rows.len();
        walk(
            &mut app,
            m,
            len,
            |a| a.roster.cursor.selected,
            "the patient list",
        );
        press(&mut app, "<Enter>");
        let len = app.patient.as_ref().map_or(0, |p| p.entries.len());
        walk(
            &mut app,
            m,
            len,
            |a| a.patient.as_ref().map_or(usize::MAX, |p| p.cursor.selected),
            "the timeline",
        );
    }
}

#[test]
fn pickers_move_with_each_presets_keys_and_home_and_end() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), m.preset, (120, 20));
        press(&mut app, "D");
        let Some(Popup::Drafts(p)) = &app.popup else {
            panic!("{:?}: D opens the drafts\n{}", m.preset, screen(&app));
        };
        let len = p.hits.len();
        let drafts = |a: &kitnotes::app::App| match &a.popup {
            Some(Popup::Drafts(p)) => p.cursor.selected,
            _ => usize::MAX,
        };
        // Pickers take typing, so their moves are the keys of the popup: the arrows, <C-n> and
        // <C-p> everywhere, and each preset's own where they are not letters.
        press(&mut app, "<End>");
        assert_eq!(drafts(&app), len - 1, "{:?}: <End> in a picker", m.preset);
        press(&mut app, "<Home>");
        assert_eq!(drafts(&app), 0, "{:?}: <Home> in a picker", m.preset);
        press(&mut app, "<C-n><C-n>");
        assert_eq!(drafts(&app), 2, "{:?}: <C-n> in a picker", m.preset);
        press(&mut app, "<C-p>");
        assert_eq!(drafts(&app), 1, "{:?}: <C-p> in a picker", m.preset);
        if m.preset == KeymapPreset::Emacs {
            press(&mut app, "<A->>");
            assert_eq!(drafts(&app), len - 1, "emacs <A->> in a picker");
            press(&mut app, "<C-g>");
        } else {
            press(&mut app, "<Esc>");
        }
        assert!(app.popup.is_none(), "{:?}: the picker closes", m.preset);
    }
}

#[test]
fn the_session_consoles_observations_move_with_each_presets_keys() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        let store = demo_store(&dir);
        let mut w = writer_on(dir, store, (120, 24), m.preset);
        crate::common::console::start(&mut w, "esketamine");
        for i in 0..30 {
            crate::common::console::enter(&mut w, "o", &format!("observation number {i}"));
        }
        let len = w
            .app
            .console
            .as_ref()
            .map_or(0, |c| c.session.observations.len());
        let row = |a: &kitnotes::app::App| {
            a.console
                .as_ref()
                .map_or(usize::MAX, |c| c.observations.selected)
        };
        let who = format!("{:?} preset, the console", m.preset);
        press(&mut w.app, m.top);
        assert_eq!(row(&w.app), 0, "{who}: {}\n{}", m.top, screen(&w.app));
        press(&mut w.app, m.down);
        assert_eq!(row(&w.app), 1, "{who}: {}", m.down);
        press(&mut w.app, m.up);
        assert_eq!(row(&w.app), 0, "{who}: {}", m.up);
        press(&mut w.app, m.page_down);
        assert!(row(&w.app) > 1, "{who}: {}", m.page_down);
        press(&mut w.app, m.page_up);
        assert_eq!(row(&w.app), 0, "{who}: {}", m.page_up);
        press(&mut w.app, m.bottom);
        assert_eq!(row(&w.app), len - 1, "{who}: {}", m.bottom);
        assert!(w.app.console.is_some(), "{who}: still in the console");
        assert!(
            !status(&w.app).contains("does not work"),
            "{who}: {}",
            status(&w.app)
        );
    }
}

/// Each preset's way out of kitnotes from the note editor: the default's `<C-c>` quits from the
/// editor; vim leaves the note with `:wq` then quits with `q`; emacs quits with `<C-x><C-c>`.
#[test]
fn after_a_quit_from_the_editor_the_next_start_shows_the_patient_list_not_the_note() {
    let quits: [(KeymapPreset, &str); 3] = [
        (KeymapPreset::Default, "<C-c>"),
        (KeymapPreset::Vim, "<Esc>:wq<Enter>q"),
        (KeymapPreset::Emacs, "<C-x><C-c>"),
    ];
    for (preset, quit) in quits {
        let dir = TempDir::new().unwrap();
        let store = demo_store(&dir);
        let mut w = writer_on(dir, store, (120, 40), preset);
        press(&mut w.app, "<Enter>w<Enter>");
        assert!(w.app.editor.is_some(), "{preset:?}: w<Enter> opens a note");
        let id = open_note_id(&w.app);
        type_text(&mut w.app, "typed before quitting");
        press(&mut w.app, quit);
        assert!(w.app.quit, "{preset:?}: {quit} quits\n{}", screen(&w.app));
        let mut w = restart(w);
        assert!(
            w.app.editor.is_none(),
            "{preset:?}: a quit the user asked for does not reopen the note\n{}",
            screen(&w.app)
        );
        assert_eq!(
            stored_note(&w.app, &id).sections[0].body,
            "typed before quitting"
        );
        // The keys typed at the next start move through the patient list, not into a note.
        let before = w.app.roster.cursor.selected;
        press(
            &mut w.app,
            if preset == KeymapPreset::Vim {
                "j"
            } else {
                "<Down>"
            },
        );
        assert_eq!(w.app.roster.cursor.selected, before + 1, "{preset:?}");
    }
}

/// Help in the editor lists the keys the text area takes itself, and they do what it says.
#[test]
fn editor_help_lists_the_text_keys_and_they_work() {
    for m in &PRESETS {
        let dir = TempDir::new().unwrap();
        let store = demo_store(&dir);
        let mut w = writer_on(dir, store, (120, 40), m.preset);
        press(&mut w.app, "<Enter>w<Enter>");
        type_text(&mut w.app, "calm and settled");
        press(&mut w.app, "<C-w>");
        let text = |w: &Writer| w.app.editor.as_ref().unwrap().sections[0].text();
        assert_eq!(
            text(&w),
            "calm and ",
            "{:?}: <C-w> deletes a word",
            m.preset
        );
        press(&mut w.app, "<Home>");
        type_text(&mut w.app, "Very ");
        assert_eq!(text(&w), "Very calm and ", "{:?}: <Home>", m.preset);
        press(&mut w.app, "<C-k>");
        assert_eq!(text(&w), "Very ", "{:?}: <C-k>", m.preset);
        press(&mut w.app, "<F1>");
        let Some(Popup::Help(help)) = &w.app.popup else {
            panic!("{:?}: <F1> opens help in the editor", m.preset)
        };
        let keys: Vec<&str> = help.rows.iter().flat_map(|r| r.keys.split(' ')).collect();
        for key in ["<C-w>", "<C-k>", "<Home>", "<Backspace>"] {
            assert!(
                keys.contains(&key),
                "{:?}: help in the editor lists {key}",
                m.preset
            );
        }
        type_text(&mut w.app, "word before");
        let s = screen(&w.app);
        assert!(
            s.contains("<C-w>") && s.contains("Delete the word before the cursor"),
            "{s}"
        );
        press(&mut w.app, "<Esc>");
        assert!(w.app.editor.is_some(), "{:?}", m.preset);
    }
}

/// A name longer than the patient list is wide is cut with `…`, and the age stays in view.
#[test]
fn a_long_name_is_cut_with_an_ellipsis_and_keeps_the_age_in_view() {
    use kitnotes::model::{Patient, Record};
    use kitnotes::store::Store;
    let dir = TempDir::new().unwrap();
    let store = demo_store(&dir);
    let mut p = Patient::new(
        pid("p-long-name"),
        "Aurelia Konstantinopoulou-Vanderberghe Fitzwilliam",
    );
    p.born = Some(jiff::civil::date(1980, 1, 2));
    store.put(Record::Patient(p)).unwrap();
    let mut app = app_on(store, KeymapPreset::Default, (120, 40));
    press(&mut app, "/Aurelia<Enter>");
    let s = screen(&app);
    // Below the header, which names the selected patient in full.
    let row = s
        .lines()
        .skip(2)
        .find(|l| l.contains("Aurelia") && !l.contains("/Aurelia"))
        .unwrap_or_else(|| panic!("the patient is listed\n{s}"));
    assert!(row.contains('…'), "the name is cut with …: {row:?}");
    assert!(row.contains(" 46 "), "the age stays in view: {row:?}");
}

/// The mouse reaches the panes only when they are on top: a click or the wheel over Today
/// (or the session console) does not change the patient selected under it.
#[test]
fn the_mouse_does_nothing_to_the_panes_hidden_under_a_view() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let dir = TempDir::new().unwrap();
    let mut app = app_on(demo_store(&dir), KeymapPreset::Default, (120, 40));
    let at = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    press(&mut app, "t");
    let before = app.roster.cursor.selected;
    app.mouse(at(MouseEventKind::Down(MouseButton::Left), 5, 8));
    app.mouse(at(MouseEventKind::ScrollDown, 5, 8));
    assert_eq!(
        app.roster.cursor.selected, before,
        "the hidden patient list did not move"
    );
    assert!(
        matches!(app.view, Some(View::Today(_))),
        "Today is still open"
    );
    // With Today closed, the same click selects a patient.
    press(&mut app, "<Esc>");
    app.mouse(at(MouseEventKind::Down(MouseButton::Left), 5, 8));
    assert_ne!(
        app.roster.cursor.selected, before,
        "a click on the list selects"
    );
}
