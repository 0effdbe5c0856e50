//! Hostile text on screen: patients whose names and records hold terminal escape sequences,
//! control characters, bidi overrides, right-to-left scripts, combining marks (Zalgo), emoji
//! sequences and wide CJK characters. Every screen is drawn in-process at a fixed size and
//! clock, and compared with the same screen for a patient with plain text: no cell may hold a
//! control character, the escape sequences show as visible text (`␛[2J`), and every pane border
//! sits in the same column. The real binary is also run in a pseudo-terminal (through vt100) and
//! `kitnotes search`'s output is read as bytes. All names and notes are invented.

use crate::term as pty;

use crate::common::*;
use kitnotes::app::App;
use kitnotes::cli::screenshot::render;
use kitnotes::keymap::Preset as KeymapPreset;
use kitnotes::model::*;
use kitnotes::store::sled_store::SledStore;
use kitnotes::store::{Change, Store};
use kitnotes::text_safety::is_hazard;
use ratatui::buffer::Buffer;
use serde_json::json;
use std::path::Path;
use tempfile::TempDir;

/// One kind of hostile text: the patient's name and the sentence written into every free-text
/// field of their records.
struct Flavor {
    key: &'static str,
    name: &'static str,
    text: &'static str,
}

const PLAIN: Flavor = Flavor {
    key: "plain",
    name: "Pat Plainfield",
    text: "Calm and settled, then resting quietly with eyes closed.",
};

const HOSTILE: &[Flavor] = &[
    Flavor {
        key: "esc",
        name: "Eve \x1b[2J\x1b]0;pwned\x07Escobar\x1b[10;10H\x1b[?1049l",
        text: "Calm \x1b[2J\x1b]0;pwned\x07 then \x1b[10;10Hmoved \x1b[?1049l\x1b[31mred\x1b[0m end",
    },
    Flavor {
        key: "ctl",
        name: "Carl \u{0}\u{8}\u{8}\u{7f}\u{85}\u{9b}Ctrl\r\n\tTabs",
        text: "Bell\u{7} back\u{8}\u{8}space\rreturn\u{c}feed\u{1b}c\u{9b}2J c1\u{9d}osc\u{9c} tab\tend",
    },
    Flavor {
        key: "bidi",
        name: "Bea \u{202E}draziW\u{202C} \u{2067}Iso\u{2069}",
        text: "dose \u{202E}gm 05\u{202C} given \u{2066}at 10:00\u{2069} \u{202B}embed\u{202A}x\u{202D}y",
    },
    Flavor {
        key: "rtl",
        name: "נועה حداد",
        text: "המטופלת רגועה. المريض هادئ وmixed 50 mg",
    },
    Flavor {
        key: "marks",
        name: "Zoe\u{301} Z\u{351}\u{34b}\u{35b}\u{36b}\u{30f}\u{31b}\u{320}\u{324}\u{32a}a\u{301}\u{302}\u{303}\u{304}lgo",
        text: "e\u{301}e\u{301} Z\u{351}\u{34b}\u{35b}\u{36b}\u{30f}\u{31b}\u{320}\u{324}\u{32a}\u{333}\u{347}a\u{301}\u{302}\u{303}\u{304}\u{305}\u{306}\u{307}lgo resting",
    },
    Flavor {
        key: "emoji",
        name: "Emi 👩🏽‍⚕️👨‍👩‍👧‍👦👍🏽🏳️‍🌈",
        text: "Smiled 👍🏽 family 👨‍👩‍👧‍👦 nurse 👩🏽‍⚕️ flag 🏳️‍🌈 keycap 1️⃣ done",
    },
    Flavor {
        key: "cjk",
        name: "山田花子 김민준 王芳",
        text: "患者は落ち着いている。평온함。病人很平静。ｆｕｌｌ",
    },
];

/// The records of one patient, all their free text `f.text`: a signed note with an addendum, a
/// draft, a dosing session under way today (observations, an adverse event, the lot), a PHQ-9
/// with item 9 above 0, and a goal in a domain of the clinician's own naming with check-ins.
fn records(f: &Flavor) -> Vec<Record> {
    let k = f.key;
    let t = f.text;
    let multi = format!("{t}\nSecond line: {t}\n\n\tIndented: {t}");
    let patient: Patient = serde_json::from_value(json!({
        "id": format!("p-{k}"), "name": f.name, "born": "1980-04-02",
        "pronouns": t, "weight_kg": 70.0, "contact_note": t, "tags": [t, "ok"],
    }))
    .unwrap();
    let signed: Note = serde_json::from_value(json!({
        "id": format!("n1-{k}"), "patient": format!("p-{k}"), "kind": "preparation",
        "at": "2026-11-10T10:00:00Z", "title": format!("Prep {t}"),
        "sections": [{"heading": format!("Intentions {t}"), "body": multi},
                     {"heading": "Plan", "body": t}],
        "status": "signed", "signed_by": f.name, "signed_at": "2026-11-10T11:00:00Z",
        "addenda": [{"at": "2026-11-11T09:00:00Z", "by": f.name, "text": t}],
    }))
    .unwrap();
    let draft: Note = serde_json::from_value(json!({
        "id": format!("n2-{k}"), "patient": format!("p-{k}"), "kind": "integration",
        "at": "2026-11-20T10:00:00Z", "title": format!("Draft {t}"),
        "sections": [{"heading": "Experience", "body": multi},
                     {"heading": format!("Meaning {t}"), "body": t}],
        "status": "draft",
    }))
    .unwrap();
    let session: DosingSession = serde_json::from_value(json!({
        "id": format!("s1-{k}"), "patient": format!("p-{k}"), "at": "2026-11-21T14:00:00Z",
        "number": 1, "medication": "ketamine", "route": "im", "dose_mg": 50.0,
        "lot": t, "dose_time": "2026-11-21T14:05:00Z",
        "vitals": [{"at": "2026-11-21T14:00:00Z", "systolic": 128, "diastolic": 82,
                    "heart_rate": 70, "spo2": 98}],
        "observations": [{"at": "2026-11-21T14:10:00Z", "text": t},
                         {"at": "2026-11-21T14:20:00Z", "text": multi, "adverse": true}],
    }))
    .unwrap();
    let phq9: Measure = serde_json::from_value(json!({
        "id": format!("m1-{k}"), "patient": format!("p-{k}"), "instrument": "phq9",
        "at": "2026-11-19T10:00:00Z", "items": [2, 2, 2, 2, 1, 1, 1, 1, 1],
    }))
    .unwrap();
    let goal: IntegrationGoal = serde_json::from_value(json!({
        "id": format!("g1-{k}"), "patient": format!("p-{k}"), "at": "2026-11-12T10:00:00Z",
        "title": format!("Goal {t}"), "domain": t, "status": "active",
        "check_ins": [{"at": "2026-11-13T10:00:00Z", "progress": 4, "note": t}],
    }))
    .unwrap();
    vec![
        Record::Patient(patient),
        Record::Note(signed),
        Record::Note(draft),
        Record::Session(session),
        Record::Measure(phq9),
        Record::Goal(goal),
    ]
}

/// A plain (unencrypted) store in `dir` holding the plain patient and every hostile one.
fn hostile_store(dir: &Path) -> SledStore {
    store_of(dir, HOSTILE.iter())
}

/// A plain store in `dir` holding the plain patient and `flavors`.
fn store_of<'a>(dir: &Path, flavors: impl Iterator<Item = &'a Flavor>) -> SledStore {
    let store = SledStore::open(dir).unwrap();
    for f in std::iter::once(&PLAIN).chain(flavors) {
        let changes: Vec<Change> = records(f).into_iter().map(Change::Put).collect();
        store.apply(&changes).unwrap();
    }
    store.flush().unwrap();
    store
}

fn hostile_app(size: (u16, u16)) -> (App, TempDir) {
    let dir = TempDir::new().unwrap();
    let store = hostile_store(dir.path());
    let w = writer_on(dir, store, size, KeymapPreset::Default);
    (w.app, w.dir)
}

/// Selects the patient `f` in the roster (by moving the cursor, since a name with controls
/// cannot be typed into the filter).
fn select(app: &mut App, f: &Flavor) {
    press(app, "<Home>");
    let at = app
        .roster
        .rows
        .iter()
        .position(|hit| app.roster.patients[hit.index].id.as_str() == format!("p-{}", f.key))
        .unwrap_or_else(|| panic!("{} is in the roster", f.key));
    for _ in 0..at {
        press(app, "<Down>");
    }
}

/// Every screen a patient's text reaches, as (what, keys after selecting the patient in the
/// roster, text the plain patient's screen shows). Timeline order, newest first: the session
/// (today), the draft, the PHQ-9, the check-in, the goal, the signed note.
const SCREENS: &[(&str, &str, &str)] = &[
    ("roster", "", "Patients (8)"),
    ("timeline", "<Enter>", "Timeline (6)"),
    ("detail of the session", "<Enter><Enter>", "Dose: 50 mg"),
    (
        "detail of the draft",
        "<Enter><Down><Enter>",
        "Meaning Calm",
    ),
    ("detail of the PHQ-9", "<Enter><Down><Down><Enter>", "Items"),
    (
        "detail of the check-in",
        "<Enter><Down><Down><Down><Enter>",
        "4/10",
    ),
    (
        "detail of the goal",
        "<Enter><Down><Down><Down><Down><Enter>",
        "Goal Calm",
    ),
    (
        "detail of the signed note",
        "<Enter><End><Enter>",
        "Preparation note",
    ),
    ("editor on the draft", "<Enter><Down>e", "section 2 of 2"),
    (
        "addendum to the signed note",
        "<Enter><End>+",
        "Addendum to",
    ),
    ("session console", "<Enter>s", "Observations (2)"),
    ("course view", "c", "Goals (1)"),
    ("check-in form", "ci", "Check-in"),
    ("measure form", "<Enter>m", "Record a measure for"),
    ("goal form", "<Enter>g", "Set a goal for"),
    ("patient form", "e", "Pronouns"),
    ("drafts", "D", "Unsigned drafts"),
    ("today", "t", "Today"),
    ("search everyone", "Fcalm", "matches"),
    ("search the patient", "<Enter>/resting", "matches"),
    (
        "signing the draft (status message)",
        "<Enter><Down>S",
        "Draft Calm",
    ),
    ("palette", ":", "Commands"),
    ("help", "?", "Keys in"),
    ("lock screen", "L", "kitnotes is locked"),
];

fn screen_of(f: &Flavor, keys: &str, size: (u16, u16)) -> Buffer {
    let (mut app, _dir) = hostile_app(size);
    select(&mut app, f);
    if !keys.is_empty() {
        press(&mut app, keys);
    }
    render(&app, size.0, size.1).unwrap()
}

fn text_of(b: &Buffer) -> String {
    kitnotes::cli::screenshot::to_text(b)
}

/// The columns of each row that hold a frame's vertical line or corner: a line-drawing cell
/// joined to one above or below it (a lone "│" between words is text, not a frame).
fn borders(b: &Buffer) -> Vec<Vec<u16>> {
    const FRAME: &str = "│┃║╭╮╰╯┌┐└┘┏┓┗┛├┤┣┫┼╋";
    let is_frame = |x: u16, y: u16| {
        let s = b[(x, y)].symbol();
        s.chars().count() == 1 && s.chars().all(|c| FRAME.contains(c))
    };
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .filter(|&x| {
                    is_frame(x, y)
                        && ((y > 0 && is_frame(x, y - 1))
                            || (y + 1 < b.area.height && is_frame(x, y + 1)))
                })
                .collect()
        })
        .collect()
}

/// Text that must show its hidden characters wherever it shows: (flavor, text, what must stand
/// right before it). ratatui on its own drops a control character and shows the rest of an
/// escape sequence ("[2J") as if the note said so.
const MARKERS: &[(&str, &str, char)] = &[
    ("esc", "[2J", '␛'),
    ("esc", "[10;10H", '␛'),
    ("ctl", "space", '␈'),
    ("ctl", "2J c1", '␦'),
    ("bidi", "gm 05", '␦'),
    ("bidi", "draziW", '␦'),
];

/// Where a marker of `f` shows without its stand-in before it: "row 3: ...".
fn hidden_controls(f: &Flavor, b: &Buffer) -> Vec<String> {
    let mut out = Vec::new();
    for (y, row) in text_of(b).lines().enumerate() {
        for &(_, marker, before) in MARKERS.iter().filter(|m| m.0 == f.key) {
            for (at, _) in row.match_indices(marker) {
                if !row[..at].ends_with(before) {
                    out.push(format!("row {y}: {marker:?} without {before:?} in {row:?}"));
                }
            }
        }
    }
    out
}

/// Cells that hold a control character or a bidi control: "(x, y) U+001B".
fn hazards(b: &Buffer) -> Vec<String> {
    let mut out = Vec::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            for c in b[(x, y)].symbol().chars().filter(|&c| is_hazard(c)) {
                out.push(format!("({x}, {y}) U+{:04X}", c as u32));
            }
        }
    }
    out
}

fn check_every_screen(size: (u16, u16)) {
    let mut compared = 0;
    let mut framed = 0;
    let mut failures = Vec::new();
    for &(what, keys, shows) in SCREENS {
        let plain = screen_of(&PLAIN, keys, size);
        assert!(
            text_of(&plain).contains(shows),
            "{what} at {size:?} shows {shows:?}:\n{}",
            text_of(&plain)
        );
        let plain_borders = borders(&plain);
        // Every screen but the lock screen is drawn in frames.
        if plain_borders.iter().any(|r| !r.is_empty()) {
            framed += 1;
        }
        for f in HOSTILE {
            let b = screen_of(f, keys, size);
            let bad = hazards(&b);
            if !bad.is_empty() {
                failures.push(format!(
                    "{what}, {}: control characters in cells {bad:?}:\n{}",
                    f.key,
                    text_of(&b)
                ));
            }
            // Search snippets are made by `search::snippet`, which turns every control
            // character into a space (inert, but not shown as a stand-in); the titles and
            // names around them are checked on the other screens.
            // In the section being edited a bidi control is kept as typed (a right-to-left
            // writer may mean it) and drawn as nothing, never sent.
            let hidden =
                if what.starts_with("search") || (what.starts_with("editor") && f.key == "bidi") {
                    Vec::new()
                } else {
                    hidden_controls(f, &b)
                };
            if !hidden.is_empty() {
                failures.push(format!("{what}, {}: {hidden:?}", f.key));
            }
            let got = borders(&b);
            if let Some(y) = (0..plain_borders.len()).find(|&y| plain_borders[y] != got[y]) {
                failures.push(format!(
                    "{what}, {}: row {y}'s frame columns moved from {:?} to {:?};\nplain:\n{}\nhostile:\n{}",
                    f.key,
                    plain_borders[y],
                    got[y],
                    text_of(&plain),
                    text_of(&b)
                ));
            }
            compared += 1;
        }
    }
    println!(
        "{compared} hostile screens at {}x{} compared with their plain twins",
        size.0, size.1
    );
    assert_eq!(framed, SCREENS.len() - 1, "the plain screens have frames");
    assert!(
        failures.is_empty(),
        "{} of {compared} screens at {size:?} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_screen_at_120x40_is_free_of_controls_and_keeps_its_frames() {
    check_every_screen((120, 40));
}

#[test]
fn every_screen_at_80x24_is_free_of_controls_and_keeps_its_frames() {
    check_every_screen((80, 24));
}

/// A paste into a note with an escape sequence and Windows line ends: the note keeps every
/// visible character and its lines, the controls arrive as stand-ins, and nothing a terminal
/// would act on is stored or drawn.
#[test]
fn a_paste_with_escape_sequences_is_kept_visible_and_inert() {
    let (mut app, _dir) = hostile_app((120, 40));
    select(&mut app, &PLAIN);
    press(&mut app, "<Enter><Down>e");
    let id = open_note_id(&app);
    app.paste("pasted \x1b[2J\x1b]0;pwned\x07title\r\nnext\tline \u{202E}rtl");
    press(&mut app, "<C-s>");
    let note = stored_note(&app, &id);
    // The editor opens at the end of the note: its last section.
    let body = &note.sections[1].body;
    assert!(
        body.ends_with("pasted ␛[2J␛]0;pwned␇title\nnext\tline \u{202E}rtl"),
        "{body:?}"
    );
    assert!(!body.contains(['\x1b', '\x07', '\r']), "{body:?}");
    let b = render(&app, 120, 40).unwrap();
    assert!(hazards(&b).is_empty(), "{:?}", hazards(&b));
    assert!(
        text_of(&b).contains("pasted ␛[2J␛]0;pwned␇title"),
        "{}",
        text_of(&b)
    );
}

/// What the terminal shows at one point of an end-to-end run.
struct Seen {
    contents: String,
    alternate: bool,
    cursor: (u16, u16),
    hidden_cursor: bool,
    frames: Vec<Vec<u16>>,
}

fn seen(s: &pty::Session) -> Seen {
    let p = s.parser.lock().unwrap();
    let screen = p.screen();
    let (rows, cols) = screen.size();
    let frame_at = |r: u16, c: u16| {
        screen.cell(r, c).is_some_and(|cell| {
            let t = cell.contents();
            t.chars().count() == 1 && "│┃║╭╮╰╯┌┐└┘┏┓┗┛├┤┣┫┼╋".contains(t)
        })
    };
    let frames = (0..rows)
        .map(|r| {
            (0..cols)
                .filter(|&c| {
                    frame_at(r, c)
                        && ((r > 0 && frame_at(r - 1, c)) || (r + 1 < rows && frame_at(r + 1, c)))
                })
                .collect()
        })
        .collect();
    Seen {
        contents: screen.contents(),
        alternate: screen.alternate_screen(),
        cursor: screen.cursor_position(),
        hidden_cursor: screen.hide_cursor(),
        frames,
    }
}

/// Runs the real binary in a 120x40 pseudo-terminal on the hostile store, opens the patient the
/// roster filter finds with `typed`, their draft in the detail pane, then in the editor;
/// returns what the terminal showed at each of the two.
fn run_binary(dir: &Path, typed: &str, name_shows: &str) -> [Seen; 2] {
    let mut cmd = pty::kitnotes_command(&[]);
    cmd.arg("--data-dir");
    cmd.arg(dir.join("data"));
    cmd.arg("--config-dir");
    cmd.arg(dir.join("config"));
    cmd.env("KITNOTES_PASSPHRASE_FILE", passphrase_file());
    let mut s = pty::Session::spawn(cmd, 120, 40);
    s.wait_for("Patients (7)");
    s.send("/");
    s.wait_for("┃/ ");
    s.send(typed);
    s.wait_for(&format!("/{typed}"));
    s.send("\r");
    s.wait_for("Timeline (6)");
    // The draft, second on the timeline, in the detail pane.
    s.send("\x1b[B\r");
    s.wait_for("Experience");
    // The frame's last bytes (the cursor hidden or placed) may come in a later read than its
    // text: the screen is read once kitnotes has written nothing for a moment.
    s.wait_idle(std::time::Duration::from_millis(300));
    let first = s.screen().lines().next().unwrap_or_default().to_string();
    assert!(first.contains(name_shows), "{first:?}\n{}", s.screen());
    let detail = seen(&s);
    s.send("e");
    s.wait_for("section 2 of 2");
    s.wait_idle(std::time::Duration::from_millis(300));
    let editor = seen(&s);
    // Leave the editor unchanged, then quit.
    s.send("\x1b");
    s.wait_for("Timeline (6)");
    s.quit();
    [detail, editor]
}

#[test]
fn the_real_binary_in_a_terminal_keeps_its_screen_title_and_cursor() {
    let dir = TempDir::new().unwrap();
    // Without the emoji patient: vt100, like some terminals, draws a ZWJ emoji sequence wider
    // than the two columns Unicode (and ratatui) give it, so its roster row leaves debris that
    // depends on when the filter redrew the list. The in-process tests cover emoji.
    let flavors = HOSTILE.iter().filter(|f| f.key != "emoji");
    drop(store_of(&dir.path().join("data").join("store"), flavors));
    // A name with controls cannot be typed; a plain part of it finds the patient.
    let plain = run_binary(dir.path(), "Plainfield", "Pat Plainfield");
    let mut runs = 1;
    for (typed, shows, must_show) in [
        (
            "Escobar",
            "Eve ␛[2J␛]0;pwned␇Escobar",
            "Calm ␛[2J␛]0;pwned␇ then ␛[10;10Hmoved",
        ),
        ("Ctrl", "Carl ␀␈␈␡", "back␈␈space"),
        ("draziW", "Bea ␦draziW␦", "dose ␦gm 05"),
    ] {
        let hostile = run_binary(dir.path(), typed, shows);
        runs += 1;
        for (what, (p, h)) in ["detail", "editor"].iter().zip(plain.iter().zip(&hostile)) {
            // ESC [?1049l would have left the alternate screen; ESC [2J cleared it (the
            // header would be gone); ESC ]0;… set the title, and then would not show as text.
            assert!(h.alternate, "{what}: still on the alternate screen");
            assert!(
                h.contents.contains("Timeline (6)") || h.contents.contains("section 2 of 2"),
                "{what}: the screen was not cleared:\n{}",
                h.contents
            );
            assert!(
                h.contents.contains(must_show),
                "{what}: the note's controls show as text, not acted on:\n{}",
                h.contents
            );
            // The cursor is shown or hidden as for the plain patient on the same screen, and
            // where the app put it when shown (a hidden cursor rests wherever the last write
            // ended, which depends on what changed since the last frame).
            assert_eq!(h.hidden_cursor, p.hidden_cursor, "{what}: the cursor shown");
            if !h.hidden_cursor {
                assert_eq!(h.cursor, p.cursor, "{what}: the cursor's place");
            }
            assert_eq!(h.frames, p.frames, "{what}: frame columns:\n{}", h.contents);
        }
    }
    println!("{runs} runs of the binary in a 120x40 pseudo-terminal, 2 screens each");
}

/// `kitnotes search`, `today` and `templates`-style output of hostile records, captured: no
/// byte a terminal would act on (the only escape codes search writes are its own colours, and
/// only to a terminal), and a table's columns line up whatever the names' scripts.
#[test]
fn command_output_holds_no_control_bytes_and_tables_line_up() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    drop(hostile_store(&data.join("store")));
    let clean = |args: &[&str]| -> String {
        let out = kitnotes(&data, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let s = text(bytes);
            let bad: Vec<String> = s
                .chars()
                .filter(|&c| is_hazard(c) && c != '\n')
                .map(|c| format!("U+{:04X}", c as u32))
                .collect();
            assert!(bad.is_empty(), "{args:?} {what}: {bad:?} in\n{s}");
        }
        text(&out.stdout)
    };
    let found = clean(&["search", "calm"]);
    assert!(found.contains("Calm ␛[2J␛]0;pwned␇ then"), "{found}");
    assert!(found.contains("Eve ␛[2J␛]0;pwned␇Escobar"), "{found}");
    let today = clean(&["today", "--at", NOW]);
    // Every row of a table puts its patient id in the same column, CJK and emoji names too.
    let id_columns: Vec<usize> = today
        .lines()
        .filter_map(|l| {
            let at = l.find("p-")?;
            Some(kitnotes::text_safety::width(&l[..at]))
        })
        .collect();
    assert!(id_columns.len() >= 16, "{today}");
    assert!(
        id_columns.windows(2).all(|w| w[0] == w[1]) || {
            // One table per group: the column is the same within each.
            today.split("\n\n").all(|group| {
                let cols: Vec<usize> = group
                    .lines()
                    .filter_map(|l| Some(kitnotes::text_safety::width(&l[..l.find("p-")?])))
                    .collect();
                cols.windows(2).all(|w| w[0] == w[1])
            })
        },
        "{today}"
    );
}
