//! Every screen in every theme keeps its text readable: on every styled cell of the frame the
//! foreground stands out from the background (WCAG's 3:1, xterm's palette), focused selection
//! or not. Colours the terminal chooses itself (`Reset`) are read as a dark terminal's: its
//! light grey text on black, which the themes are made for. Monochrome has no colours: there
//! the selection must still be marked (reverse video, underline).

use crate::common::*;
use kitnotes::app::{App, ThemeKind};
use kitnotes::cli::screenshot::render;
use kitnotes::ui::theme::{MIN_CONTRAST, contrast};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use tempfile::TempDir;

/// Every screen a user reaches, as the keys from the patient list that open it.
const SCREENS: &[(&str, &str)] = &[
    ("roster", ""),
    ("roster, a patient selected below", "<Down><Down>"),
    ("timeline", "<Down><Enter>"),
    ("timeline, the roster unfocused", "<Enter><Down><Down>"),
    ("detail", "<Down><Enter><Down><Enter>"),
    ("roster filter", "/wren"),
    ("help", "?"),
    ("palette", ":"),
    ("new patient", "n"),
    ("edit patient", "e"),
    ("archived shown", "A"),
    ("today", "t"),
    ("today, moved", "t<Down><Down>"),
    ("drafts", "D"),
    ("search all", "Fsleep"),
    ("search a patient", "<Enter>/calm"),
    ("template picker", "<Enter>w"),
    ("editor", "<Enter>w<Enter>Typed<Tab>more"),
    ("course", "<Enter>c"),
    ("course summary", "<Enter>cs"),
    ("measure picker", "<Enter>m"),
    ("goal", "<Enter>g"),
    ("session protocols", "<Enter>s"),
    ("session console", "<Enter>sesketamine<Enter>"),
    ("archive question", "a"),
    ("lock", "L"),
];

/// The colour the terminal draws for `Reset`: a dark terminal's default text and background.
fn resolve(c: Color, background: bool) -> Color {
    match c {
        Color::Reset if background => Color::Black,
        Color::Reset => Color::Gray,
        c => c,
    }
}

/// The cells whose text does not stand out from its background, as "x,y 'symbol' fg on bg".
fn unreadable(buf: &Buffer) -> Vec<String> {
    let mut bad = Vec::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if cell.symbol().trim().is_empty() {
                continue;
            }
            let (fg, bg) = if cell.modifier.contains(Modifier::REVERSED) {
                (resolve(cell.bg, false), resolve(cell.fg, true))
            } else {
                (resolve(cell.fg, false), resolve(cell.bg, true))
            };
            // Reversed default colours are the terminal's own pair, swapped: readable.
            if cell.fg == Color::Reset && cell.bg == Color::Reset {
                continue;
            }
            let ratio = contrast(fg, bg).unwrap_or(0.0);
            if ratio < MIN_CONTRAST {
                bad.push(format!(
                    "{x},{y} {:?} {fg:?} on {bg:?} ({ratio:.2})",
                    cell.symbol()
                ));
            }
        }
    }
    bad
}

/// A copy of one demo store made once for the whole file: building one per screen would take
/// most of the test's time.
fn demo_copy(dir: &TempDir) -> kitnotes::store::sled_store::SledStore {
    static TEMPLATE: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let t = TempDir::new().unwrap();
        drop(demo_store(&t));
        t
    });
    copy_dir(template.path(), dir.path());
    kitnotes::store::sled_store::SledStore::open(dir.path()).unwrap()
}

fn app_in(theme: ThemeKind, size: (u16, u16), dir: &TempDir) -> App {
    let mut app = app_on(demo_copy(dir), kitnotes::keymap::Preset::Default, size);
    while app.theme != theme {
        press(&mut app, "T");
    }
    app.status = None;
    app
}

#[test]
fn every_screen_in_every_theme_keeps_text_readable_on_its_background() {
    let dir = TempDir::new().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for theme in [ThemeKind::Standard, ThemeKind::HighContrast] {
        for size in [(120, 40), (80, 24)] {
            for (name, keys) in SCREENS {
                let dir = TempDir::new_in(dir.path()).unwrap();
                let mut app = app_in(theme, size, &dir);
                press(&mut app, keys);
                let buf = render(&app, size.0, size.1).unwrap();
                let bad = unreadable(&buf);
                checked += 1;
                if !bad.is_empty() {
                    failures.push(format!(
                        "{theme:?} {}x{} {name}: {} cells, e.g. {}\n{}",
                        size.0,
                        size.1,
                        bad.len(),
                        bad[..bad.len().min(5)].join("; "),
                        screen(&app)
                    ));
                }
            }
        }
    }
    assert_eq!(checked, 2 * 2 * SCREENS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The test above must be able to fail: the colour pairs the issue found (the unfocused
/// selection's grey on grey) are caught.
#[test]
fn the_check_catches_text_in_its_backgrounds_colour() {
    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 2, 1));
    buf[(0, 0)]
        .set_symbol("4")
        .set_fg(Color::DarkGray)
        .set_bg(Color::DarkGray);
    buf[(1, 0)]
        .set_symbol("7")
        .set_fg(Color::Gray)
        .set_bg(Color::Gray);
    assert_eq!(unreadable(&buf).len(), 2);
    buf[(0, 0)].set_fg(Color::White);
    buf[(1, 0)].set_fg(Color::Black);
    assert!(unreadable(&buf).is_empty());
}

#[test]
fn monochrome_marks_the_selection_focused_or_not_on_every_list_screen() {
    let dir = TempDir::new().unwrap();
    for (name, keys) in [
        ("roster", ""),
        ("timeline", "<Down><Enter>"),
        ("today", "t"),
        ("drafts", "D"),
        ("help", "?"),
    ] {
        let dir = TempDir::new_in(dir.path()).unwrap();
        let mut app = app_in(ThemeKind::Monochrome, (120, 40), &dir);
        press(&mut app, keys);
        let buf = render(&app, 120, 40).unwrap();
        let marked = |m: Modifier| buf.content.iter().any(|c| c.modifier.contains(m));
        assert!(
            marked(Modifier::REVERSED),
            "monochrome {name}: the focused selection is in reverse video\n{}",
            screen(&app)
        );
        assert!(
            buf.content
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "monochrome {name} draws no colour"
        );
    }
    // The timeline focused: the roster's selection is underlined.
    let dir = TempDir::new_in(dir.path()).unwrap();
    let mut app = app_in(ThemeKind::Monochrome, (120, 40), &dir);
    press(&mut app, "<Enter>");
    let buf = render(&app, 120, 40).unwrap();
    assert!(
        buf.content
            .iter()
            .any(|c| c.modifier.contains(Modifier::UNDERLINED)),
        "the unfocused selection is underlined"
    );
}
