//! Full-text search in the terminal UI, driven with keys on the demo store at a fixed clock:
//! what the popup shows as a query is typed, the scope, bad queries, coming back to a search,
//! and the jump to an entry whose found words the detail pane marks.

use crate::common::*;
use kitnotes::app::search::Outcome;
use kitnotes::app::{App, Pane, Popup, ThemeKind};
use kitnotes::cli::screenshot::render;
use kitnotes::model::EntryKind;
use kitnotes::ui::layout::{Screen, search_popup_area};
use kitnotes::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

/// The count line of the open search popup: "124 matches", "No matches", ...
fn count_line(app: &App) -> String {
    // The popup's own text, between its thick borders.
    screen(app)
        .lines()
        .flat_map(|l| l.split('┃'))
        .find(|l| {
            l.starts_with(" No matches") || l.starts_with(" 1 match") || l.contains(" matches")
        })
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

/// The number at the start of the count line (0 for "No matches").
fn count(app: &App) -> usize {
    let line = count_line(app);
    let first = line.split_whitespace().next().unwrap_or("");
    first.parse().unwrap_or(0)
}

/// Opens Maite Kowalczyk, whose records the demo has "father" in once, and searches them.
fn search_maite(app: &mut App, text: &str) -> kitnotes::model::PatientId {
    let id = open_patient(app, "Maite");
    press(app, "/");
    type_text(app, text);
    id
}

/// `F` and `text`: a search of every patient that finds something.
fn search_everyone(app: &mut App, text: &str) {
    press(app, "F");
    type_text(app, text);
    assert!(count(app) > 0, "{}", screen(app));
}

fn query(app: &App) -> Option<String> {
    match &app.popup {
        Some(Popup::Search(p)) => Some(p.field.text().to_string()),
        _ => None,
    }
}

/// The style of each cell of every place `word` is written (any case) inside `area`.
fn word_styles(b: &Buffer, area: Rect, word: &str) -> Vec<Vec<Style>> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    let mut out = Vec::new();
    for y in area.top()..area.bottom() {
        let row: Vec<(char, Style)> = (area.left()..area.right())
            .map(|x| {
                let c = &b[(x, y)];
                (
                    c.symbol()
                        .chars()
                        .next()
                        .unwrap_or(' ')
                        .to_ascii_lowercase(),
                    c.style(),
                )
            })
            .collect();
        for start in 0..row.len().saturating_sub(word.len() - 1) {
            let at = &row[start..start + word.len()];
            let whole = |i: Option<&(char, Style)>| i.is_none_or(|(c, _)| !c.is_alphanumeric());
            if at.iter().map(|(c, _)| *c).eq(word.iter().copied())
                && whole(start.checked_sub(1).and_then(|i| row.get(i)))
                && whole(row.get(start + word.len()))
            {
                out.push(at.iter().map(|(_, s)| *s).collect());
            }
        }
    }
    out
}

/// The styles of `word` wherever the detail pane shows it, as drawn now.
fn in_detail(app: &App, word: &str) -> Vec<Vec<Style>> {
    let area = Screen::new(Rect::new(0, 0, app.size.0, app.size.1), app.focus)
        .pane(Pane::Detail)
        .expect("the detail pane is on screen");
    word_styles(&render(app, app.size.0, app.size.1).unwrap(), area, word)
}

/// The foreground colours `word` is drawn in inside the search popup, as drawn now.
fn in_popup(app: &App, word: &str) -> Vec<Option<Color>> {
    let area = search_popup_area(Rect::new(0, 0, app.size.0, app.size.1));
    let b = render(app, app.size.0, app.size.1).unwrap();
    word_styles(&b, area, word)
        .into_iter()
        .flatten()
        .map(|s| s.fg)
        .collect()
}

fn is_found(s: &Style) -> bool {
    let found = Theme::new(ThemeKind::Standard).found;
    s.fg == found.fg && s.bg == found.bg
}

#[test]
fn the_popup_at_120x40_and_80x24() {
    for size in [(120, 40), (80, 24)] {
        let mut f = demo_app(size);
        press(&mut f.app, "F");
        insta::assert_snapshot!(
            format!("search_syntax_{}x{}", size.0, size.1),
            screen(&f.app)
        );
        type_text(&mut f.app, "father");
        insta::assert_snapshot!(
            format!("search_father_{}x{}", size.0, size.1),
            screen(&f.app)
        );
    }
}

#[test]
fn typing_a_query_character_by_character_narrows_the_count_on_screen() {
    let mut f = demo_app((120, 40));
    press(&mut f.app, "F");
    let mut counts = Vec::new();
    for c in "sleep".chars() {
        type_text(&mut f.app, &c.to_string());
        counts.push(count(&f.app));
    }
    // From its first letter the word being typed matches as a prefix ("s" finds "sleep",
    // "slept", "session"), so each letter can only narrow the results.
    assert!(counts.windows(2).all(|w| w[1] <= w[0]), "{counts:?}");
    assert!(
        counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > 0,
        "{counts:?}"
    );
    // Many matches: while typing, the best 60 are read (what a key must make); the popup says
    // so, and going to the end of them reads the best 200.
    let mut g = demo_app((120, 40));
    press(&mut g.app, "F");
    type_text(&mut g.app, "th");
    let many = count_line(&g.app);
    assert!(
        many.contains("showing the best 60: more as you go down"),
        "{many}"
    );
    press(&mut g.app, "<End>");
    let all = count_line(&g.app);
    assert!(all.contains("showing the best 200"), "{all}");
    let Some(Popup::Search(p)) = &g.app.popup else {
        panic!("the search is open")
    };
    assert_eq!(
        p.cursor.selected, 199,
        "<End> goes on to the last result read"
    );
    // A second word narrows further; its first letter already does.
    let before = count(&f.app);
    type_text(&mut f.app, " father");
    let after = count(&f.app);
    assert!(after < before, "{before} -> {after}");
}

#[test]
fn enter_opens_the_entry_in_the_detail_with_the_found_words_marked() {
    let mut f = demo_app((120, 40));
    let maite = search_maite(&mut f.app, "father");
    assert!(screen(&f.app).contains("This patient: Maite Kowalczyk"));
    assert_eq!(count(&f.app), 1, "{}", screen(&f.app));
    press(&mut f.app, "<Enter>");

    assert!(f.app.popup.is_none());
    assert_eq!(f.app.focus, Pane::Detail);
    let v = f.app.patient.as_ref().unwrap();
    assert_eq!(v.records.patient.id, maite);
    // The hit is a check-in: that check-in's entry is selected, not its goal's.
    let e = v.selected().unwrap();
    assert_eq!(e.kind, EntryKind::CheckIn, "{e:?}");
    assert!(
        status(&f.app).starts_with("Result 1 of 1"),
        "{}",
        status(&f.app)
    );

    let found = in_detail(&f.app, "father");
    assert!(!found.is_empty(), "{}", screen(&f.app));
    for cells in &found {
        assert!(cells.iter().all(is_found), "{cells:?}");
    }
    // The words around it are not marked.
    let around = in_detail(&f.app, "talked");
    assert!(!around.is_empty() && around.iter().flatten().all(|s| !is_found(s)));

    // Another entry selected and back again: the marks are gone.
    press(&mut f.app, "2<Down><Up>");
    let found = in_detail(&f.app, "father");
    assert!(!found.is_empty() && found.iter().flatten().all(|s| !is_found(s)));
}

#[test]
fn an_observation_deep_in_a_session_is_scrolled_into_view_at_80x24() {
    let mut f = demo_app((80, 24));
    search_everyone(&mut f.app, "tearful kind:observation");
    press(&mut f.app, "<Enter>");
    let s = screen(&f.app);
    let v = f.app.patient.as_ref().unwrap();
    assert_eq!(v.selected().unwrap().kind, EntryKind::Session);
    assert!(
        v.detail_scroll > 0,
        "the session's observations are below the fold: {s}"
    );
    let found = in_detail(&f.app, "tearful");
    assert!(
        !found.is_empty() && found.iter().flatten().all(is_found),
        "{s}"
    );
}

#[test]
fn tab_switches_between_this_patient_and_all_patients() {
    let mut f = demo_app((120, 40));
    search_maite(&mut f.app, "father");
    let mine = count(&f.app);
    press(&mut f.app, "<Tab>");
    let s = screen(&f.app);
    assert!(
        s.contains("All patients") && s.contains("this patient: Maite"),
        "{s}"
    );
    let all = count(&f.app);
    assert!(all > mine, "{mine} -> {all}");
    // Other patients are named in the results.
    assert!(s.contains("Mateo Tanaka-Reid"), "{s}");
    press(&mut f.app, "<Tab>");
    assert_eq!(count(&f.app), mine);
    assert!(screen(&f.app).contains("This patient: Maite Kowalczyk"));
}

#[test]
fn an_unclosed_quote_says_at_which_column_instead_of_results() {
    let mut f = demo_app((120, 40));
    search_maite(&mut f.app, "sleep \"first sess");
    let s = screen(&f.app);
    assert!(s.contains("Column 7: this quote is never closed"), "{s}");
    assert!(!s.contains(" matches"), "no results under an error: {s}");
    // In the alert style.
    let cells = in_popup(&f.app, "column");
    let error = Theme::new(ThemeKind::Standard).error;
    assert!(
        !cells.is_empty() && cells.iter().all(|fg| *fg == error.fg),
        "{cells:?}"
    );
    // Enter does not jump anywhere; closing the quote brings results back.
    press(&mut f.app, "<Enter>");
    assert!(f.app.popup.is_some());
    type_text(&mut f.app, "ion\"");
    assert!(!screen(&f.app).contains("Column 7"));
    assert!(matches!(
        &f.app.popup,
        Some(Popup::Search(p)) if matches!(p.outcome, Outcome::Found(_))
    ));
}

#[test]
fn esc_keeps_the_query_and_slash_brings_it_back() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "3/");
    type_text(&mut f.app, "call");
    press(&mut f.app, "<Down><Esc>");
    assert!(f.app.popup.is_none());
    press(&mut f.app, "/");
    assert_eq!(query(&f.app).as_deref(), Some("call"));
    let s = screen(&f.app);
    assert!(s.contains("› call"), "{s}");
    assert!(count(&f.app) > 1, "{s}");
    // The same result is still selected, and typing goes on at the end of the query.
    let Some(Popup::Search(p)) = &f.app.popup else {
        unreachable!()
    };
    assert_eq!(p.cursor.selected, 1);
    type_text(&mut f.app, " sister");
    assert_eq!(query(&f.app).as_deref(), Some("call sister"));
    // All patients is kept too.
    press(&mut f.app, "<Tab><Esc>/");
    assert!(screen(&f.app).contains(" All patients"));
}

#[test]
fn f_from_the_roster_searches_every_patient_and_slash_still_filters_names() {
    let mut f = demo_app((120, 40));
    assert_eq!(f.app.focus, Pane::Roster);
    press(&mut f.app, "/");
    assert!(f.app.roster.input.is_some() && f.app.popup.is_none());
    press(&mut f.app, "<Esc>F");
    let s = screen(&f.app);
    assert!(s.contains(" All patients") && s.contains("SEARCH"), "{s}");
    type_text(&mut f.app, "father");
    let names: std::collections::HashSet<String> = match &f.app.popup {
        Some(Popup::Search(p)) => match &p.outcome {
            Outcome::Found(found) => found.names.iter().cloned().collect(),
            other => panic!("{other:?}"),
        },
        _ => panic!("no search open"),
    };
    assert!(names.len() > 3, "{names:?}");
    // Enter opens the first result's patient, whoever is selected in the roster.
    let first = match &f.app.popup {
        Some(Popup::Search(p)) => p.hits()[0].patient.clone(),
        _ => unreachable!(),
    };
    press(&mut f.app, "<Enter>");
    let v = f.app.patient.as_ref().unwrap();
    assert_eq!(v.records.patient.id, first);
    assert_eq!(f.app.focus, Pane::Detail);
}

#[test]
fn psychotherapy_notes_are_found_and_drawn_private() {
    let mut f = demo_app((120, 40));
    search_everyone(&mut f.app, "process kind:psychotherapy");
    let private = Theme::new(ThemeKind::Standard).private;
    let psy = in_popup(&f.app, "psy");
    // Private everywhere; on the selected row (blue) magenta would be unreadable, so the
    // contrast pass draws that row's label white, still bold.
    assert!(
        psy.iter().filter(|fg| **fg == private.fg).count() > psy.len() / 2
            && psy
                .iter()
                .all(|fg| *fg == private.fg || *fg == Some(ratatui::style::Color::White)),
        "{psy:?}"
    );
}

#[test]
fn the_course_view_searches_its_patient_and_enter_leaves_it() {
    let mut f = demo_app((120, 40));
    open_patient(&mut f.app, "Maite");
    press(&mut f.app, "c/");
    assert!(screen(&f.app).contains("This patient: Maite Kowalczyk"));
    type_text(&mut f.app, "father");
    press(&mut f.app, "<Enter>");
    assert!(f.app.view.is_none() && f.app.popup.is_none());
    assert_eq!(f.app.focus, Pane::Detail);
}

#[test]
fn home_and_end_move_in_the_results_and_help_lists_the_keys() {
    let mut f = demo_app((120, 40));
    search_maite(&mut f.app, "call");
    let n = f.app.popup.as_ref().map_or(0, |p| match p {
        Popup::Search(p) => p.hits().len(),
        _ => 0,
    });
    assert!(n > 2);
    let selected = |app: &App| match &app.popup {
        Some(Popup::Search(p)) => p.cursor.selected,
        _ => usize::MAX,
    };
    press(&mut f.app, "<End>");
    assert_eq!(selected(&f.app), n - 1);
    press(&mut f.app, "<Home>");
    assert_eq!(selected(&f.app), 0);
    assert_eq!(query(&f.app).as_deref(), Some("call"));
    // Help in the timeline names both searches.
    press(&mut f.app, "<Esc>2?");
    type_text(&mut f.app, "search");
    let s = screen(&f.app);
    assert!(
        s.contains("search.patient") && s.contains("search.all"),
        "{s}"
    );
}

/// Issue 20: "when did she first mention her father?" Ctrl+O orders the results oldest first
/// (then newest first, then best match again); the popup says which, and the order is kept
/// when the search comes back. With a limit, the oldest hits are the ones kept.
#[test]
fn ctrl_o_orders_the_results_oldest_first_then_newest_first() {
    let mut f = demo_app((120, 40));
    search_everyone(&mut f.app, "session");
    let dates = |app: &App| -> Vec<jiff::Timestamp> {
        match &app.popup {
            Some(Popup::Search(p)) => p.hits().iter().map(|h| h.at).collect(),
            _ => panic!("no search popup"),
        }
    };
    assert!(screen(&f.app).contains("best first"), "{}", screen(&f.app));
    let best = dates(&f.app);
    assert!(best.len() > 3);
    press(&mut f.app, "<C-o>");
    assert!(
        screen(&f.app).contains("oldest first"),
        "{}",
        screen(&f.app)
    );
    let oldest = dates(&f.app);
    assert!(oldest.windows(2).all(|w| w[0] <= w[1]), "{oldest:?}");
    assert_ne!(oldest, best, "a different order from the best match");
    // The first result is the oldest of all the matches, not of the best 200.
    let all = kitnotes::search::Query::parse(
        "session",
        kitnotes::search::Filter {
            include_private: true,
            ..Default::default()
        },
        &jiff::tz::TimeZone::UTC,
    )
    .unwrap();
    let every = f.app.store().search(&all, usize::MAX).unwrap();
    let first = every.hits.iter().map(|h| h.at).min().unwrap();
    assert_eq!(oldest[0], first);
    press(&mut f.app, "<C-o>");
    assert!(
        screen(&f.app).contains("newest first"),
        "{}",
        screen(&f.app)
    );
    let newest = dates(&f.app);
    assert!(newest.windows(2).all(|w| w[0] >= w[1]), "{newest:?}");
    // Esc and back: still newest first.
    press(&mut f.app, "<Esc>F");
    assert!(
        screen(&f.app).contains("newest first"),
        "{}",
        screen(&f.app)
    );
    press(&mut f.app, "<C-o>");
    assert!(screen(&f.app).contains("best first"), "{}", screen(&f.app));
}

/// Issue 22: after a search, `n` and `N` open the next and previous result without the popup,
/// as vim's n and N do; past either end they go round and say so. In every preset.
#[test]
fn n_and_shift_n_step_through_the_results_of_the_last_search() {
    for preset in [
        kitnotes::keymap::Preset::Default,
        kitnotes::keymap::Preset::Vim,
        kitnotes::keymap::Preset::Emacs,
    ] {
        let dir = tempfile::TempDir::new().unwrap();
        let mut app = app_on(demo_store(&dir), preset, (120, 40));
        open_patient(&mut app, "Maite");
        press(&mut app, "n");
        assert!(
            status(&app).starts_with("No search yet"),
            "{preset:?}: nothing before a search: {}",
            status(&app)
        );
        search_everyone(&mut app, "father");
        let total = count(&app);
        assert!(total >= 3, "{preset:?}: {total}");
        press(&mut app, "<Enter>");
        assert!(status(&app).starts_with("Result 1 of"), "{}", status(&app));
        let first = app
            .patient
            .as_ref()
            .unwrap()
            .selected()
            .unwrap()
            .record
            .clone();
        press(&mut app, "n");
        assert!(
            status(&app).starts_with("Result 2 of"),
            "{preset:?}: {}",
            status(&app)
        );
        assert!(app.popup.is_none(), "no popup: the entry is open");
        assert_eq!(app.focus, Pane::Detail);
        press(&mut app, "N");
        assert!(status(&app).starts_with("Result 1 of"), "{}", status(&app));
        assert_eq!(
            app.patient.as_ref().unwrap().selected().unwrap().record,
            first
        );
        press(&mut app, "N");
        assert!(
            status(&app).starts_with(&format!("Result {total} of {total}"))
                && status(&app).contains("went round to the last"),
            "{preset:?}: {}",
            status(&app)
        );
    }
}
