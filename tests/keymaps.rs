//! The keymaps as a user meets them: every shipped file loads and binds every action, a mistake
//! in keymap.toml is reported with its file, line and reason, layering does what
//! keymaps/README.md says, and key presses as the terminal reports them reach the bindings
//! written in the notation. Keys are typed in that notation, as a user would write them.

use kitnotes::app::{Action, KeyContext};
use kitnotes::keymap::{
    Key, KeySeq, Keymap, KeymapError, NextStep, Preset, Resolved, Source, USER_FILE,
};
use ratatui::crossterm::event::{
    KeyCode as TermCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers,
};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const USER_PATH: &str = "/home/clinician/.config/kitnotes/keymap.toml";

fn with_user_file(preset: Preset, text: &str) -> Result<Keymap, KeymapError> {
    Keymap::load(preset, Some((Path::new(USER_PATH), text)))
}

fn user(text: &str) -> Keymap {
    with_user_file(Preset::Default, text).unwrap_or_else(|e| panic!("should load:\n{e}"))
}

fn error(preset: Preset, text: &str) -> String {
    match with_user_file(preset, text) {
        Ok(_) => panic!("should be rejected:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn seq(text: &str) -> KeySeq {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is not key notation: {e}"))
}

/// Types `keys` (in key notation) into `context` as a legacy terminal would report them.
fn press(map: &Keymap, context: KeyContext, pending: &mut KeySeq, keys: &str) -> Vec<Resolved> {
    seq(keys)
        .iter()
        .map(|&key| map.resolve(context, pending, &KeyEvent::from(key)))
        .collect()
}

/// What one complete key sequence does from a fresh start.
fn run(map: &Keymap, context: KeyContext, keys: &str) -> Resolved {
    let mut pending = KeySeq::new();
    let results = press(map, context, &mut pending, keys);
    let (last, before) = results.split_last().expect("at least one key");
    assert!(
        before.iter().all(|r| *r == Resolved::Pending),
        "{keys}: {results:?}"
    );
    last.clone()
}

fn help(map: &Keymap, context: KeyContext) -> Vec<String> {
    map.bindings(context)
        .map(|b| format!("{} {}", b.keys, b.action))
        .collect()
}

fn keymaps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keymaps")
}

#[test]
fn every_shipped_file_loads_and_layers_onto_the_defaults() {
    let mut seen = 0;
    for entry in std::fs::read_dir(keymaps_dir()).expect("keymaps/ exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        if let Err(e) = Keymap::load(Preset::Default, Some((&path, &text))) {
            panic!("{} does not layer onto default.toml:\n{e}", path.display());
        }
        seen += 1;
    }
    assert_eq!(seen, 3, "default.toml, vim.toml, emacs.toml");
}

#[test]
fn every_preset_is_the_file_in_keymaps() {
    for preset in Preset::ALL {
        let map = Keymap::builtin(preset);
        let mut expected = vec![Source::BuiltIn("keymaps/default.toml")];
        if let Some((name, text)) = preset.file() {
            let on_disk = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name));
            assert_eq!(on_disk.ok().as_deref(), Some(text), "{name}");
            expected.push(Source::BuiltIn(name));
        }
        assert_eq!(map.sources(), expected);
    }
}

#[test]
fn every_action_has_a_key_in_every_preset() {
    for preset in Preset::ALL {
        let map = Keymap::builtin(preset);
        for &action in Action::ALL {
            assert!(
                map.first_key_anywhere(action).is_some(),
                "{action} has no key in the {preset} keymap"
            );
        }
    }
}

#[test]
fn every_action_and_binding_is_described() {
    for &action in Action::ALL {
        assert!(!action.description().trim().is_empty(), "{action}");
    }
    for preset in Preset::ALL {
        let map = Keymap::builtin(preset);
        for context in KeyContext::ALL {
            for b in map.bindings(context) {
                assert!(!b.desc.trim().is_empty(), "{preset} {context} {}", b.keys);
            }
        }
    }
}

#[test]
fn no_context_binds_one_key_twice() {
    for preset in Preset::ALL {
        let map = Keymap::builtin(preset);
        for context in KeyContext::ALL {
            let mut own = HashSet::new();
            let own_keys = map
                .own_bindings(context)
                .iter()
                .map(|b| &b.keys)
                .chain(map.unbindings(context).iter().map(|u| &u.keys));
            for keys in own_keys {
                assert!(own.insert(keys), "{preset} [{context}] binds {keys} twice");
            }
            let mut shown = HashSet::new();
            for b in map.bindings(context) {
                assert!(
                    shown.insert(&b.keys),
                    "{preset} help for [{context}] shows {} twice",
                    b.keys
                );
            }
        }
    }
}

#[test]
fn the_default_keys_do_what_the_readme_says() {
    use KeyContext::*;
    let map = Keymap::builtin(Preset::Default);
    for (context, keys, action) in [
        (Roster, "q", Action::Quit),
        (Roster, "<C-c>", Action::Quit),
        (Timeline, "?", Action::Help),
        (Detail, ":", Action::Palette),
        (Roster, "<Tab>", Action::FocusNext),
        (Roster, "<S-Tab>", Action::FocusPrev),
        (Detail, "1", Action::FocusRoster),
        (Roster, "<Down>", Action::MoveDown),
        (Timeline, "<End>", Action::MoveBottom),
        (Roster, "<Enter>", Action::Open),
        (Timeline, "<Esc>", Action::Back),
        (Roster, "/", Action::RosterFilter),
        (Timeline, "/", Action::SearchPatient),
        (Detail, "/", Action::SearchPatient),
        (Course, "/", Action::SearchPatient),
        (Roster, "F", Action::SearchAll),
        (Today, "F", Action::SearchAll),
        (Roster, "a", Action::PatientArchive),
        (Roster, "A", Action::ToggleArchived),
        (Popup, "<Esc>", Action::PopupClose),
        (Popup, "<C-n>", Action::MoveDown),
        (Popup, "<S-Tab>", Action::FieldPrev),
    ] {
        assert_eq!(
            run(&map, context, keys),
            Resolved::Action(action),
            "{keys} in {context}"
        );
    }
    // Popups take typing: a global letter is handed back to be typed.
    assert_eq!(run(&map, Popup, "q"), Resolved::Unbound(seq("q")));
    assert_eq!(map.keys_for(Popup, Action::Quit), Vec::<KeySeq>::new());
}

// ---- Located errors: file name, line and reason ----

fn assert_located(message: &str, line: usize, reason: &str) {
    assert!(
        message.starts_with(&format!("{USER_PATH}:{line}:")),
        "expected {USER_PATH}:{line}: in\n{message}"
    );
    assert!(
        message.contains(reason),
        "expected {reason:?} in\n{message}"
    );
}

#[test]
fn an_unknown_action_is_located_with_a_suggestion() {
    let message = error(
        Preset::Default,
        "[roster]\nprepend_keymap = [\n  { on = \"x\", run = \"move.dwon\" },\n]\n",
    );
    assert_located(
        &message,
        3,
        "unknown action `move.dwon` (did you mean `move.down`?)",
    );
}

#[test]
fn a_bad_key_is_located_and_names_the_right_spelling() {
    let message = error(
        Preset::Default,
        "# my keys\n[global]\nprepend_keymap = [ { on = \"<c-s>\", run = \"app.quit\" } ]\n",
    );
    assert_located(&message, 3, "bad key: `<c-s>` is written `<C-s>`");
    let message = error(
        Preset::Default,
        "[roster]\nprepend_keymap = [ { on = \"<S-a>\", run = \"move.top\" } ]\n",
    );
    assert_located(&message, 2, "`<S-a>` is written `A`");
}

#[test]
fn an_unknown_field_is_located() {
    let message = error(
        Preset::Default,
        "[roster]\nprepend_keymap = [\n  { on = \"x\", rnu = \"move.down\" },\n]\n",
    );
    assert_located(&message, 3, "unknown field `rnu`");
    let message = error(Preset::Default, "[roster]\nprepend = []\n");
    assert_located(&message, 2, "unknown field `prepend`");
}

#[test]
fn an_unknown_context_is_located() {
    let message = error(Preset::Default, "\n[patients]\nkeymap = []\n");
    assert_located(&message, 2, "unknown section [patients]");
}

#[test]
fn a_duplicate_binding_names_both_lines() {
    let message = error(
        Preset::Default,
        "[roster]\n\
         prepend_keymap = [\n\
         { on = \"x\", run = \"move.down\" },\n\
         { on = \"y\", run = \"move.up\" },\n\
         { on = \"x\", run = \"move.up\" },\n\
         ]\n",
    );
    assert_located(
        &message,
        5,
        "`x` is bound twice in [roster]: on line 3 and on line 5",
    );
}

#[test]
fn a_prefix_conflict_names_both_bindings() {
    let message = error(
        Preset::Default,
        "[timeline]\n\
         prepend_keymap = [\n\
         { on = [\"g\", \"g\"], run = \"move.top\" },\n\
         { on = \"g\", run = \"move.bottom\" },\n\
         ]\n",
    );
    assert_located(
        &message,
        4,
        &format!("in [timeline], `g` ({USER_PATH}:4:8) is the start of `gg` ({USER_PATH}:3:8)"),
    );
    assert!(message.contains("could never run"), "{message}");

    // Against a preset's binding: the user's is the one reported, the preset's is named.
    let message = error(
        Preset::Vim,
        "[detail]\nprepend_keymap = [ { on = \"g\", run = \"focus.roster\" } ]\n",
    );
    assert_located(
        &message,
        2,
        "is the start of `gg` (built-in keymaps/vim.toml:",
    );
}

#[test]
fn every_problem_in_the_file_is_reported() {
    let message = error(
        Preset::Default,
        "[roster]\n\
         prepend_keymap = [\n\
         { on = \"<Foo>\", run = \"move.down\" },\n\
         { on = \"x\", run = \"scroll\" },\n\
         ]\n",
    );
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert_located(lines[0], 3, "`<Foo>` is not a key");
    assert_located(lines[1], 4, "unknown action `scroll`");
}

#[test]
fn the_user_file_is_read_from_the_config_dir() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let map = Keymap::from_config_dir(Preset::Vim, dir.path()).expect("no file is fine");
    assert_eq!(map.sources().len(), 2);

    let path = dir.path().join(USER_FILE);
    std::fs::write(&path, "[roster]\nkeymap = [ { on = \"j\" } ]\n").expect("writable");
    let message = Keymap::from_config_dir(Preset::Vim, dir.path())
        .expect_err("missing run")
        .to_string();
    assert!(
        message.starts_with(&format!("{}:2:", path.display())),
        "{message}"
    );
    assert!(message.contains("missing field `run`"), "{message}");
}

// ---- Layering ----

#[test]
fn prepend_wins_over_the_layer_below() {
    let map = user("[roster]\nprepend_keymap = [ { on = \"<Down>\", run = \"move.bottom\" } ]\n");
    assert_eq!(
        run(&map, KeyContext::Roster, "<Down>"),
        Resolved::Action(Action::MoveBottom)
    );
    let downs: Vec<String> = help(&map, KeyContext::Roster)
        .into_iter()
        .filter(|line| line.starts_with("<Down> "))
        .collect();
    assert_eq!(
        downs,
        ["<Down> move.bottom"],
        "the shadowed binding is not in help"
    );
}

#[test]
fn append_loses_to_the_layer_below() {
    let map = user(
        "[roster]\nappend_keymap = [\n\
         { on = \"<Down>\", run = \"move.bottom\" },\n\
         { on = \"x\", run = \"move.bottom\" },\n]\n",
    );
    assert_eq!(
        run(&map, KeyContext::Roster, "<Down>"),
        Resolved::Action(Action::MoveDown)
    );
    assert_eq!(
        run(&map, KeyContext::Roster, "x"),
        Resolved::Action(Action::MoveBottom)
    );
    let keys = map.keys_for(KeyContext::Roster, Action::MoveBottom);
    assert_eq!(keys, [seq("<End>"), seq("x")], "appended keys come last");
}

#[test]
fn noop_unbinds_a_key_and_hides_it_from_help() {
    let map = user(
        "[roster]\nprepend_keymap = [\n\
         { on = \"n\", run = \"noop\" },\n\
         { on = \"q\", run = \"noop\" },\n]\n",
    );
    assert_eq!(run(&map, KeyContext::Roster, "n"), Resolved::Noop);
    assert_eq!(map.keys_for(KeyContext::Roster, Action::PatientNew), []);
    // A context's noop also hides the global binding there, and only there.
    assert_eq!(run(&map, KeyContext::Roster, "q"), Resolved::Noop);
    assert_eq!(
        map.keys_for(KeyContext::Roster, Action::Quit),
        [seq("<C-c>")]
    );
    assert_eq!(
        run(&map, KeyContext::Timeline, "q"),
        Resolved::Action(Action::Quit)
    );
    let roster_help = help(&map, KeyContext::Roster);
    assert!(
        !roster_help
            .iter()
            .any(|l| l.starts_with("n ") || l.starts_with("q ")),
        "{roster_help:?}"
    );
}

#[test]
fn noop_makes_room_for_a_shorter_key() {
    let map = with_user_file(
        Preset::Vim,
        "[roster]\nprepend_keymap = [\n\
         { on = \"g\", run = \"focus.timeline\" },\n\
         { on = [\"g\", \"g\"], run = \"noop\" },\n]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(&map, KeyContext::Roster, "g"),
        Resolved::Action(Action::FocusTimeline)
    );
    // Other panes keep the preset's gg.
    assert_eq!(
        run(&map, KeyContext::Timeline, "gg"),
        Resolved::Action(Action::MoveTop)
    );
}

#[test]
fn keymap_replaces_a_whole_context() {
    let map =
        user("[popup]\nkeymap = [ { on = \"<C-q>\", run = \"popup.close\", desc = \"Shut\" } ]\n");
    assert_eq!(help(&map, KeyContext::Popup), ["<C-q> popup.close"]);
    assert_eq!(
        map.bindings(KeyContext::Popup)
            .next()
            .map(|b| b.desc.as_str()),
        Some("Shut")
    );
    assert_eq!(
        run(&map, KeyContext::Popup, "<Esc>"),
        Resolved::Unbound(seq("<Esc>"))
    );
    // Other contexts are untouched.
    assert_eq!(
        run(&map, KeyContext::Roster, "<Down>"),
        Resolved::Action(Action::MoveDown)
    );
}

#[test]
fn a_context_binding_hides_the_global_one_in_help_and_hints() {
    let map = user("[roster]\nprepend_keymap = [ { on = \"1\", run = \"move.top\" } ]\n");
    let roster_help = help(&map, KeyContext::Roster);
    assert!(roster_help.contains(&"1 move.top".to_owned()));
    assert!(!roster_help.contains(&"1 focus.roster".to_owned()));
    assert_eq!(map.keys_for(KeyContext::Roster, Action::FocusRoster), []);
    assert_eq!(
        map.keys_for(KeyContext::Timeline, Action::FocusRoster),
        [seq("1")]
    );
    // Help lists the pane's own keys first, then the global ones it inherits.
    let first_global = roster_help.iter().position(|l| l.ends_with("app.quit"));
    let last_own = roster_help
        .iter()
        .rposition(|l| l.ends_with("roster.toggle_archived"));
    assert!(last_own < first_global, "{roster_help:?}");
}

#[test]
fn presets_put_their_keys_first_in_hints() {
    let vim = Keymap::builtin(Preset::Vim);
    assert_eq!(
        vim.keys_for(KeyContext::Roster, Action::MoveDown),
        [seq("j"), seq("<Down>")]
    );
    let emacs = Keymap::builtin(Preset::Emacs);
    assert_eq!(
        emacs.keys_for(KeyContext::Roster, Action::MoveDown),
        [seq("<C-n>"), seq("<Down>")]
    );
    // emacs searches with <C-s>: the names in the roster, the patient's records elsewhere.
    for (context, action) in [
        (KeyContext::Roster, Action::RosterFilter),
        (KeyContext::Timeline, Action::SearchPatient),
        (KeyContext::Detail, Action::SearchPatient),
        (KeyContext::Course, Action::SearchPatient),
    ] {
        assert_eq!(
            emacs.keys_for(context, action)[0],
            seq("<C-s>"),
            "{context}"
        );
    }
    let default = Keymap::builtin(Preset::Default);
    assert_eq!(
        default.keys_for(KeyContext::Roster, Action::Quit),
        [seq("q"), seq("<C-c>")]
    );
    assert_eq!(
        default.first_key_anywhere(Action::PopupClose),
        Some((KeyContext::Popup, &seq("<Esc>")))
    );
    assert_eq!(
        default.first_key_anywhere(Action::Quit),
        Some((KeyContext::Global, &seq("q")))
    );
}

// ---- Sequences ----

#[test]
fn gg_waits_then_runs() {
    let map = Keymap::builtin(Preset::Vim);
    let mut pending = KeySeq::new();
    assert_eq!(
        press(&map, KeyContext::Timeline, &mut pending, "g"),
        [Resolved::Pending]
    );
    assert_eq!(pending, seq("g"));
    let next = map.pending_next(KeyContext::Timeline, &pending);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].key, seq("g")[0]);
    match next[0].step {
        NextStep::Runs(b) => {
            assert_eq!(b.action, Action::MoveTop);
            assert_eq!(b.desc, "Newest entry");
        }
        NextStep::More(_) => panic!("gg completes at the second g"),
    }
    assert_eq!(
        press(&map, KeyContext::Timeline, &mut pending, "g"),
        [Resolved::Action(Action::MoveTop)]
    );
    assert!(pending.is_empty());
}

#[test]
fn a_longer_sequence_is_shown_as_more_keys() {
    let map = Keymap::builtin(Preset::Emacs);
    assert_eq!(
        run(&map, KeyContext::Detail, "<C-x><C-c>"),
        Resolved::Action(Action::Quit)
    );
    let next = map.pending_next(KeyContext::Detail, &[]);
    let cx = next
        .iter()
        .find(|n| n.key == seq("<C-x>")[0])
        .expect("<C-x> starts a binding");
    assert_eq!(cx.step, NextStep::More(1));
    // Popups do not inherit global, so <C-x> is typed there.
    assert_eq!(
        run(&map, KeyContext::Popup, "<C-x>"),
        Resolved::Unbound(seq("<C-x>"))
    );
}

#[test]
fn esc_cancels_a_pending_sequence() {
    let map = Keymap::builtin(Preset::Vim);
    let mut pending = KeySeq::new();
    assert_eq!(
        press(&map, KeyContext::Roster, &mut pending, "g<Esc>j"),
        [
            Resolved::Pending,
            Resolved::Cancelled,
            Resolved::Action(Action::MoveDown)
        ]
    );
    // Esc with nothing pending is an ordinary key.
    assert_eq!(
        run(&map, KeyContext::Timeline, "<Esc>"),
        Resolved::Action(Action::Back)
    );
}

#[test]
fn a_wrong_second_key_hands_back_the_whole_sequence() {
    let map = Keymap::builtin(Preset::Vim);
    let mut pending = KeySeq::new();
    assert_eq!(
        press(&map, KeyContext::Roster, &mut pending, "gx"),
        [Resolved::Pending, Resolved::Unbound(seq("gx"))]
    );
    assert!(pending.is_empty());
}

#[test]
fn releases_and_unnamed_keys_leave_a_sequence_pending() {
    let map = Keymap::builtin(Preset::Vim);
    let mut pending = KeySeq::new();
    press(&map, KeyContext::Roster, &mut pending, "g");
    let release = KeyEvent::new_with_kind(
        TermCode::Char('g'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    let shift_alone = KeyEvent::new(
        TermCode::Modifier(ratatui::crossterm::event::ModifierKeyCode::LeftShift),
        KeyModifiers::SHIFT,
    );
    let super_q = KeyEvent::new(TermCode::Char('q'), KeyModifiers::SUPER);
    for event in [release, shift_alone, super_q] {
        assert_eq!(
            map.resolve(KeyContext::Roster, &mut pending, &event),
            Resolved::Ignored
        );
    }
    assert_eq!(pending, seq("g"));
    let repeat = KeyEvent::new_with_kind(
        TermCode::Char('g'),
        KeyModifiers::NONE,
        KeyEventKind::Repeat,
    );
    assert_eq!(
        map.resolve(KeyContext::Roster, &mut pending, &repeat),
        Resolved::Action(Action::MoveTop)
    );
}

// ---- Terminal events as crossterm reports them ----

#[test]
fn shift_tab_from_the_terminal_reaches_s_tab_bindings() {
    let map = Keymap::builtin(Preset::Default);
    // `CSI Z` (legacy) and kitty's Tab+Shift both arrive as BackTab with SHIFT.
    let back_tab = KeyEvent::new(TermCode::BackTab, KeyModifiers::SHIFT);
    for (context, action) in [
        (KeyContext::Roster, Action::FocusPrev),
        (KeyContext::Popup, Action::FieldPrev),
    ] {
        let mut pending = KeySeq::new();
        assert_eq!(
            map.resolve(context, &mut pending, &back_tab),
            Resolved::Action(action)
        );
    }
}

#[test]
fn uppercase_letters_from_the_terminal_reach_uppercase_bindings() {
    let map = Keymap::builtin(Preset::Default);
    let events = [
        // Legacy terminals: the uppercase char with SHIFT.
        KeyEvent::new(TermCode::Char('A'), KeyModifiers::SHIFT),
        // Kitty protocol without alternate keys: the base char with SHIFT.
        KeyEvent::new(TermCode::Char('a'), KeyModifiers::SHIFT),
        // Kitty protocol with alternate keys: the shifted char alone.
        KeyEvent::new_with_kind_and_state(
            TermCode::Char('A'),
            KeyModifiers::NONE,
            KeyEventKind::Press,
            KeyEventState::CAPS_LOCK,
        ),
    ];
    for event in events {
        let mut pending = KeySeq::new();
        assert_eq!(
            map.resolve(KeyContext::Roster, &mut pending, &event),
            Resolved::Action(Action::ToggleArchived),
            "{event:?}"
        );
    }
    let mut pending = KeySeq::new();
    let lowercase = KeyEvent::new(TermCode::Char('a'), KeyModifiers::NONE);
    assert_eq!(
        map.resolve(KeyContext::Roster, &mut pending, &lowercase),
        Resolved::Action(Action::PatientArchive)
    );
    assert_eq!(
        Key::from_event(&lowercase).map(|k| k.to_string()),
        Some("a".into())
    );
}

/// The README's example files (the ```toml blocks that start with a section) load under every
/// preset, so the documentation cannot drift from the format.
#[test]
fn the_readme_examples_load() {
    let readme = std::fs::read_to_string(keymaps_dir().join("README.md")).expect("README.md");
    let mut examples = 0;
    for block in readme.split("```toml").skip(1) {
        let text = block.split("```").next().unwrap_or_default();
        let text: String = text
            .lines()
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        if !text.trim_start().starts_with('[') {
            continue; // config.toml or a single binding
        }
        for preset in Preset::ALL {
            if let Err(e) = with_user_file(preset, &text) {
                panic!("README example fails under {preset}:\n{text}\n{e}");
            }
        }
        examples += 1;
    }
    assert!(examples >= 5, "found {examples} examples");
}

#[test]
fn a_keymap_that_leaves_no_way_to_quit_or_open_help_is_refused_with_a_way_back() {
    let e = error(Preset::Default, "[global]\nkeymap = []\n");
    assert!(
        e.contains("no key to quit from the patient list (app.quit)")
            && e.contains("open help from the patient list (app.help)"),
        "{e}"
    );
    assert!(
        e.contains("run = \"app.quit\""),
        "says how to get one back: {e}"
    );
    let e = error(Preset::Vim, "[popup]\nkeymap = []\n");
    assert!(e.contains("close a popup (popup.close)"), "{e}");
    // Emptying a section is fine while the way out stays.
    user(
        "[global]\nkeymap = [ { on = \"q\", run = \"app.quit\" }, { on = \"?\", run = \"app.help\" } ]\n",
    );
}

#[test]
fn an_unknown_section_names_every_section() {
    let e = error(Preset::Default, "[rooster]\nkeymap = []\n");
    for c in KeyContext::ALL {
        assert!(e.contains(c.name()), "{} missing from: {e}", c.name());
    }
}
