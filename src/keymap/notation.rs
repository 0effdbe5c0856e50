//! Key notation: how one key is written in keymap files, help and status-bar hints (`j`, `A`,
//! `?`, `<C-s>`, `<S-Tab>`, `<A-lt>`), and how a terminal's key event becomes that same key.
//!
//! Every key has exactly one spelling, so help can print keys exactly as users write them and a
//! file can be checked strictly: `parse(print(k)) == k` and `print(parse(s)) == s`. Other
//! spellings (`<c-s>`, `<Return>`, `<S-a>`, `<A-C-x>`) are errors that name the accepted one.
//!
//! The rules (keymaps/README.md has the user's version):
//! - A character is written as itself: `a`, `A`, `?`, `:`. An uppercase letter already means
//!   Shift, so `<S-a>` is an error ("write `A`"). Shift with any other character is not written
//!   either: the terminal sends the shifted character itself (`!`, `?`), which is what to write.
//! - Every other key goes in angle brackets: `<Esc> <Enter> <Tab> <Backspace> <Delete> <Insert>
//!   <Home> <End> <PageUp> <PageDown> <Up> <Down> <Left> <Right> <Space> <F1>`..`<F12>`, and
//!   `<lt>` for the `<` character.
//! - Modifiers go inside the brackets, in the order C- (Ctrl), A- (Alt), S- (Shift):
//!   `<C-s>`, `<A-Enter>`, `<C-A-x>`, `<S-Up>`, `<A-lt>`, `<A->>`.
//! - Shift+Tab is `<S-Tab>`. Terminals report it as a separate "BackTab" key; [`Key::from_event`]
//!   turns that into `<S-Tab>`, and `<BackTab>` in a file is an error that says so.
//! - A sequence ([`KeySeq`]) prints as its keys run together (`gg`, `<C-x><C-c>`); that is
//!   unambiguous because `<` always starts a bracketed key.

use ratatui::crossterm::event::{KeyCode as TermCode, KeyEvent, KeyModifiers};
use std::fmt;
use std::ops::{BitOr, Deref};
use std::str::FromStr;

/// The highest function key a keymap can name. Terminals disagree about F13 and up (several send
/// them for Shift+F1..), so they are left out rather than bound to something unreliable.
pub const MAX_FUNCTION_KEY: u8 = 12;

/// A key without its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    /// A printable character, including space (`<Space>`) and `<` (`<lt>`).
    Char(char),
    Esc,
    Enter,
    Tab,
    Backspace,
    Delete,
    Insert,
    Home,
    End,
    PageUp,
    PageDown,
    Up,
    Down,
    Left,
    Right,
    /// F1 to F12.
    F(u8),
}

/// Names written inside angle brackets, in their one accepted spelling.
const NAMED: [(&str, KeyCode); 16] = [
    ("Esc", KeyCode::Esc),
    ("Enter", KeyCode::Enter),
    ("Tab", KeyCode::Tab),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Space", KeyCode::Char(' ')),
    ("lt", KeyCode::Char('<')),
];

/// Spellings people carry over from vim, emacs or other apps. They are understood only so the
/// error can name the accepted spelling.
const ALIASES: [(&str, &str); 11] = [
    ("escape", "Esc"),
    ("return", "Enter"),
    ("cr", "Enter"),
    ("bs", "Backspace"),
    ("del", "Delete"),
    ("ins", "Insert"),
    ("pgup", "PageUp"),
    ("pgdn", "PageDown"),
    ("pgdown", "PageDown"),
    ("less", "lt"),
    ("spc", "Space"),
];

const NAME_LIST: &str = "Esc, Enter, Tab, Backspace, Delete, Insert, Home, End, PageUp, PageDown, Up, Down, Left, \
     Right, Space, lt, F1 to F12";

/// Ctrl, Alt and Shift, the modifiers a terminal can report reliably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Modifiers(u8);

impl Modifiers {
    pub const NONE: Self = Self(0);
    pub const CTRL: Self = Self(1);
    pub const ALT: Self = Self(2);
    pub const SHIFT: Self = Self(4);

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl BitOr for Modifiers {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// One key press as a keymap names it: a key and its modifiers, always in canonical form (a
/// character never carries Shift; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCode,
    modifiers: Modifiers,
}

impl Key {
    /// `<Esc>`: cancels a pending key sequence.
    pub const ESC: Key = Key {
        code: KeyCode::Esc,
        modifiers: Modifiers::NONE,
    };

    /// The key for `code` with `modifiers`, made canonical: Shift with a character becomes the
    /// shifted character where that is a single uppercase letter, and is dropped otherwise,
    /// because the terminal has already applied it (Shift+1 arrives as `!`). `None` for a key no
    /// keymap can name: a control character or a function key above F12.
    pub fn new(code: KeyCode, modifiers: Modifiers) -> Option<Key> {
        match code {
            KeyCode::Char(c) if c.is_control() => None,
            KeyCode::Char(c) => {
                let c = if modifiers.contains(Modifiers::SHIFT) {
                    single_uppercase(c).unwrap_or(c)
                } else {
                    c
                };
                Some(Key {
                    code: KeyCode::Char(c),
                    modifiers: modifiers.without(Modifiers::SHIFT),
                })
            }
            KeyCode::F(n) if !(1..=MAX_FUNCTION_KEY).contains(&n) => None,
            code => Some(Key { code, modifiers }),
        }
    }

    /// A character with no modifiers, e.g. `Key::char('j')`; `None` for a control character.
    pub fn char(c: char) -> Option<Key> {
        Key::new(KeyCode::Char(c), Modifiers::NONE)
    }

    pub fn code(self) -> KeyCode {
        self.code
    }

    pub fn modifiers(self) -> Modifiers {
        self.modifiers
    }

    /// The key a terminal event means, normalised so it equals the key as a user writes it:
    /// - crossterm reports Shift+a as `Char('A')` with SHIFT (legacy terminals), or as `Char('a')`
    ///   with SHIFT (kitty keyboard protocol without alternate keys): both become `A`.
    /// - Shift+Tab arrives as `BackTab` (with SHIFT): it becomes `<S-Tab>`.
    /// - Shift on any other character is dropped: the character is already the shifted one.
    ///
    /// `None` when no keymap can name the key: Super, Hyper or Meta held (those belong to the
    /// desktop), lone modifier keys, media keys, Caps Lock and the like, F13 and up. The event's
    /// kind (press, repeat, release) is not looked at here.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let held = event.modifiers;
        if held.intersects(KeyModifiers::SUPER | KeyModifiers::HYPER | KeyModifiers::META) {
            return None;
        }
        let mut modifiers = Modifiers::NONE;
        for (term, ours) in [
            (KeyModifiers::CONTROL, Modifiers::CTRL),
            (KeyModifiers::ALT, Modifiers::ALT),
            (KeyModifiers::SHIFT, Modifiers::SHIFT),
        ] {
            if held.contains(term) {
                modifiers = modifiers | ours;
            }
        }
        let code = match event.code {
            TermCode::Char(c) => KeyCode::Char(c),
            TermCode::BackTab => {
                modifiers = modifiers | Modifiers::SHIFT;
                KeyCode::Tab
            }
            TermCode::Esc => KeyCode::Esc,
            TermCode::Enter => KeyCode::Enter,
            TermCode::Tab => KeyCode::Tab,
            TermCode::Backspace => KeyCode::Backspace,
            TermCode::Delete => KeyCode::Delete,
            TermCode::Insert => KeyCode::Insert,
            TermCode::Home => KeyCode::Home,
            TermCode::End => KeyCode::End,
            TermCode::PageUp => KeyCode::PageUp,
            TermCode::PageDown => KeyCode::PageDown,
            TermCode::Up => KeyCode::Up,
            TermCode::Down => KeyCode::Down,
            TermCode::Left => KeyCode::Left,
            TermCode::Right => KeyCode::Right,
            TermCode::F(n) => KeyCode::F(n),
            _ => return None,
        };
        Key::new(code, modifiers)
    }
}

/// The event a legacy terminal produces for this key, as crossterm reports it: uppercase letters
/// carry SHIFT and `<S-Tab>` is `BackTab` with SHIFT. Tests use it to type keys in the notation.
impl From<Key> for KeyEvent {
    fn from(key: Key) -> KeyEvent {
        let mut held = KeyModifiers::NONE;
        if key.modifiers.contains(Modifiers::CTRL) {
            held |= KeyModifiers::CONTROL;
        }
        if key.modifiers.contains(Modifiers::ALT) {
            held |= KeyModifiers::ALT;
        }
        let shift = key.modifiers.contains(Modifiers::SHIFT);
        if shift {
            held |= KeyModifiers::SHIFT;
        }
        let code = match key.code {
            KeyCode::Char(c) => {
                if c.is_uppercase() {
                    held |= KeyModifiers::SHIFT;
                }
                TermCode::Char(c)
            }
            KeyCode::Tab if shift => TermCode::BackTab,
            KeyCode::Tab => TermCode::Tab,
            KeyCode::Esc => TermCode::Esc,
            KeyCode::Enter => TermCode::Enter,
            KeyCode::Backspace => TermCode::Backspace,
            KeyCode::Delete => TermCode::Delete,
            KeyCode::Insert => TermCode::Insert,
            KeyCode::Home => TermCode::Home,
            KeyCode::End => TermCode::End,
            KeyCode::PageUp => TermCode::PageUp,
            KeyCode::PageDown => TermCode::PageDown,
            KeyCode::Up => TermCode::Up,
            KeyCode::Down => TermCode::Down,
            KeyCode::Left => TermCode::Left,
            KeyCode::Right => TermCode::Right,
            KeyCode::F(n) => TermCode::F(n),
        };
        KeyEvent::new(code, held)
    }
}

/// The uppercase form of `c` when it is one character and differs from `c`.
fn single_uppercase(c: char) -> Option<char> {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if u != c => Some(u),
        _ => None,
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let KeyCode::Char(c) = self.code
            && self.modifiers.is_empty()
            && c != ' '
            && c != '<'
        {
            return write!(f, "{c}");
        }
        f.write_str("<")?;
        for (modifier, prefix) in [
            (Modifiers::CTRL, "C-"),
            (Modifiers::ALT, "A-"),
            (Modifiers::SHIFT, "S-"),
        ] {
            if self.modifiers.contains(modifier) {
                f.write_str(prefix)?;
            }
        }
        match self.code {
            KeyCode::F(n) => write!(f, "F{n}")?,
            code => match NAMED.iter().find(|(_, named)| *named == code) {
                Some((name, _)) => f.write_str(name)?,
                None => match code {
                    KeyCode::Char(c) => write!(f, "{c}")?,
                    // Every non-character code is in NAMED; F is handled above.
                    _ => f.write_str("?")?,
                },
            },
        }
        f.write_str(">")
    }
}

impl FromStr for Key {
    type Err = NotationError;

    /// Exactly one key in its canonical spelling.
    fn from_str(text: &str) -> Result<Key, NotationError> {
        let seq: KeySeq = text.parse()?;
        match seq.0.as_slice() {
            [key] => Ok(*key),
            keys => Err(NotationError::NotOneKey {
                written: text.to_owned(),
                count: keys.len(),
            }),
        }
    }
}

/// Keys pressed one after another, e.g. `gg` or `<C-x><C-c>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySeq(Vec<Key>);

impl KeySeq {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn push(&mut self, key: Key) {
        self.0.push(key);
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn keys(&self) -> &[Key] {
        &self.0
    }
}

impl Deref for KeySeq {
    type Target = [Key];
    fn deref(&self) -> &[Key] {
        &self.0
    }
}

impl From<Vec<Key>> for KeySeq {
    fn from(keys: Vec<Key>) -> Self {
        Self(keys)
    }
}

impl From<Key> for KeySeq {
    fn from(key: Key) -> Self {
        Self(vec![key])
    }
}

impl fmt::Display for KeySeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|k| write!(f, "{k}"))
    }
}

impl FromStr for KeySeq {
    type Err = NotationError;

    /// Keys run together, each in its canonical spelling: `gg`, `<C-x><C-c>`, `g<Esc>`.
    fn from_str(text: &str) -> Result<KeySeq, NotationError> {
        if text.is_empty() {
            return Err(NotationError::Empty);
        }
        let mut keys = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (key, len) = parse_token(rest)?;
            keys.push(key);
            rest = &rest[len..];
        }
        Ok(KeySeq(keys))
    }
}

/// What is wrong with a piece of key notation. Each message quotes the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotationError {
    #[error("no key given")]
    Empty,
    #[error("`{written}` is written `{canonical}` ({why})")]
    NotCanonical {
        written: String,
        canonical: String,
        why: String,
    },
    #[error("`{written}` has no closing `>` (the < key itself is written <lt>)")]
    Unclosed { written: String },
    #[error("`{written}` is not a key: `{name}` is not a key name (the names are {NAME_LIST})")]
    UnknownName { written: String, name: String },
    #[error(
        "`{written}`: `{modifier}-` is not a modifier; write C- (Ctrl), A- (Alt) or S- (Shift)"
    )]
    UnknownModifier { written: String, modifier: char },
    #[error("`{written}`: the modifier `{modifier}-` is written twice")]
    RepeatedModifier { written: String, modifier: char },
    #[error("`{written}` names no key inside the brackets")]
    MissingKey { written: String },
    #[error(
        "`{written}`: Shift with `{character}` is not a key of its own: the terminal sends the \
         shifted character itself (such as `!` for Shift+1), so write that character"
    )]
    ShiftedSymbol { written: String, character: char },
    #[error("`{written}`: function keys go from F1 to F{MAX_FUNCTION_KEY}")]
    FunctionKeyRange { written: String },
    #[error("`{written}` holds the control character U+{code:04X}; write such keys like <C-a>")]
    ControlChar { written: String, code: u32 },
    #[error(
        "`{written}` is {count} keys, not one; write a sequence as a list of keys, \
         like on = [\"g\", \"g\"]"
    )]
    NotOneKey { written: String, count: usize },
}

/// Parses the first key of `text` and checks its spelling is the canonical one; returns the key
/// and how many bytes it took.
fn parse_token(text: &str) -> Result<(Key, usize), NotationError> {
    let (key, len, why) = parse_token_leniently(text)?;
    let written = &text[..len];
    let canonical = key.to_string();
    if canonical == written {
        return Ok((key, len));
    }
    let why = if why.is_empty() {
        "each key has one spelling".to_owned()
    } else {
        why.join("; ")
    };
    Err(NotationError::NotCanonical {
        written: written.to_owned(),
        canonical,
        why,
    })
}

/// Reads the first key of `text`, accepting other spellings (lowercase modifiers, any modifier
/// order, aliases like `<Return>`) so an error can suggest the right one. Returns the key, the
/// bytes taken, and why the spelling differs from the canonical one, if it does.
fn parse_token_leniently(text: &str) -> Result<(Key, usize, Vec<String>), NotationError> {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return Err(NotationError::Empty);
    };
    if first != '<' {
        if first.is_control() {
            return Err(NotationError::ControlChar {
                written: first.to_string(),
                code: u32::from(first),
            });
        }
        let mut why = Vec::new();
        if first == ' ' {
            why.push("the space bar is written <Space>".to_owned());
        }
        let key = Key {
            code: KeyCode::Char(first),
            modifiers: Modifiers::NONE,
        };
        return Ok((key, first.len_utf8(), why));
    }

    // Inside brackets: (MODIFIER '-')* KEY '>', where KEY is one character or a name.
    let body: Vec<(usize, char)> = text.char_indices().skip(1).collect();
    let at = |i: usize| body.get(i).map(|&(_, c)| c);
    let written_until = |i: usize| -> String {
        // The token as far as it goes: up to and including the closing '>' at body index `i`,
        // or the whole rest of the text.
        match body.get(i) {
            Some(&(offset, c)) => text[..offset + c.len_utf8()].to_owned(),
            None => text.to_owned(),
        }
    };
    let unclosed = || {
        if text == "<" {
            // A lone `<` is most likely meant as the key itself.
            NotationError::NotCanonical {
                written: "<".into(),
                canonical: "<lt>".into(),
                why: "the < key is written <lt>".into(),
            }
        } else {
            NotationError::Unclosed {
                written: text.to_owned(),
            }
        }
    };

    let mut why = Vec::new();
    let mut modifiers = Modifiers::NONE;
    let mut order = Vec::new();
    let mut i = 0;
    while let (Some(m), Some('-')) = (at(i), at(i + 1)) {
        if !m.is_ascii_alphabetic() {
            break;
        }
        match (at(i + 2), at(i + 3)) {
            // `<C->`: a modifier with nothing after it.
            (Some('>'), next) if next != Some('>') => {
                return Err(NotationError::MissingKey {
                    written: written_until(i + 2),
                });
            }
            (None, _) => return Err(unclosed()),
            _ => {}
        }
        let written = || {
            written_until(
                body.iter()
                    .position(|&(_, c)| c == '>')
                    .unwrap_or(body.len()),
            )
        };
        let modifier = match m {
            'C' => Modifiers::CTRL,
            'A' => Modifiers::ALT,
            'S' => Modifiers::SHIFT,
            'c' | 'a' | 's' => {
                why.push("modifiers are written C-, A- and S-".to_owned());
                match m {
                    'c' => Modifiers::CTRL,
                    'a' => Modifiers::ALT,
                    _ => Modifiers::SHIFT,
                }
            }
            'M' | 'm' => {
                why.push("Alt (Meta) is written A-".to_owned());
                Modifiers::ALT
            }
            _ => {
                return Err(NotationError::UnknownModifier {
                    written: written(),
                    modifier: m,
                });
            }
        };
        if modifiers.contains(modifier) {
            return Err(NotationError::RepeatedModifier {
                written: written(),
                modifier: m,
            });
        }
        modifiers = modifiers | modifier;
        order.push(modifier);
        i += 2;
    }
    if order.windows(2).any(|w| w[0] > w[1]) {
        why.push("modifiers go in the order C-, A-, S-".to_owned());
    }

    // The key: one character right before '>', or a name.
    let Some(c) = at(i) else {
        return Err(unclosed());
    };
    let (code, close) = if at(i + 1) == Some('>') {
        match c {
            ' ' => why.push("the space bar is written <Space>".to_owned()),
            '<' => why.push("the < key is written <lt>".to_owned()),
            _ if modifiers.is_empty() => {
                why.push("a plain character needs no angle brackets".to_owned());
            }
            _ => {}
        }
        if c.is_control() {
            return Err(NotationError::ControlChar {
                written: written_until(i + 1),
                code: u32::from(c),
            });
        }
        (KeyCode::Char(c), i + 1)
    } else {
        let end = (i..body.len())
            .find(|&j| at(j).is_none_or(|c| !c.is_alphanumeric()))
            .unwrap_or(body.len());
        match at(end) {
            Some('>') => {}
            None => return Err(unclosed()),
            Some(_) => {
                // Something like `<Page-Up>` or `<Esc`: report up to the next '>' if any.
                let written = match (end..body.len()).find(|&j| at(j) == Some('>')) {
                    Some(j) => written_until(j),
                    None => return Err(unclosed()),
                };
                let name = written[1..written.len() - 1].to_owned();
                return Err(NotationError::UnknownName { written, name });
            }
        }
        let name: String = body[i..end].iter().map(|&(_, c)| c).collect();
        let written = written_until(end);
        if name.is_empty() {
            return Err(NotationError::MissingKey { written });
        }
        let code = name_to_code(&name, &written, &mut why, &mut modifiers)?;
        (code, end)
    };
    let len = body[close].0 + 1;
    let written = &text[..len];

    if modifiers.contains(Modifiers::SHIFT)
        && let KeyCode::Char(c) = code
    {
        if c.is_uppercase() || single_uppercase(c).is_some() {
            why.push("an uppercase letter already means Shift".to_owned());
        } else {
            return Err(NotationError::ShiftedSymbol {
                written: written.to_owned(),
                character: c,
            });
        }
    }
    let key = Key::new(code, modifiers).ok_or_else(|| match code {
        KeyCode::F(_) => NotationError::FunctionKeyRange {
            written: written.to_owned(),
        },
        _ => NotationError::UnknownName {
            written: written.to_owned(),
            name: written[1..written.len() - 1].to_owned(),
        },
    })?;
    Ok((key, len, why))
}

/// The key a bracketed name stands for, noting in `why` when the spelling is not canonical.
/// `<BackTab>` adds Shift to `modifiers`.
fn name_to_code(
    name: &str,
    written: &str,
    why: &mut Vec<String>,
    modifiers: &mut Modifiers,
) -> Result<KeyCode, NotationError> {
    if let Some((canonical, code)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        if *canonical != name {
            why.push(format!("the key name is spelled {canonical}"));
        }
        return Ok(*code);
    }
    if let Some((_, canonical)) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) {
        why.push(format!("{name} is called {canonical}"));
        if let Some((_, code)) = NAMED.iter().find(|(n, _)| n == canonical) {
            return Ok(*code);
        }
    }
    if name.eq_ignore_ascii_case("backtab") {
        why.push("Shift+Tab is written <S-Tab>; terminals call it BackTab".to_owned());
        *modifiers = *modifiers | Modifiers::SHIFT;
        return Ok(KeyCode::Tab);
    }
    if let Some(number) = name.strip_prefix(['F', 'f'])
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
    {
        if name.starts_with('f') {
            why.push(format!("the key name is spelled F{number}"));
        }
        return match number.parse::<u8>() {
            Ok(n) if (1..=MAX_FUNCTION_KEY).contains(&n) => Ok(KeyCode::F(n)),
            _ => Err(NotationError::FunctionKeyRange {
                written: written.to_owned(),
            }),
        };
    }
    Err(NotationError::UnknownName {
        written: written.to_owned(),
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::crossterm::event::{KeyEventKind, KeyEventState};

    fn key(text: &str) -> Key {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    fn error(text: &str) -> String {
        match text.parse::<Key>() {
            Ok(k) => panic!("{text:?} should be rejected, parsed as {k}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_characters_are_themselves() {
        for text in ["a", "A", "?", ":", "/", "1", ">", "-", "é", "Ж"] {
            let k = key(text);
            assert_eq!(k.modifiers(), Modifiers::NONE, "{text}");
            assert_eq!(k.to_string(), text);
        }
        assert_eq!(key("A").code(), KeyCode::Char('A'));
    }

    #[test]
    fn special_keys_and_modifiers_print_back() {
        for text in [
            "<Esc>",
            "<Enter>",
            "<Tab>",
            "<S-Tab>",
            "<Backspace>",
            "<Delete>",
            "<Insert>",
            "<Home>",
            "<End>",
            "<PageUp>",
            "<PageDown>",
            "<Up>",
            "<Down>",
            "<Left>",
            "<Right>",
            "<Space>",
            "<lt>",
            "<F1>",
            "<F12>",
            "<C-s>",
            "<C-A-x>",
            "<A-Enter>",
            "<C-A-S-Up>",
            "<A-lt>",
            "<A->>",
            "<C-->",
            "<C-Space>",
            "<A-A>",
            "<C-F5>",
        ] {
            assert_eq!(key(text).to_string(), text);
        }
        assert_eq!(key("<C-A-x>").modifiers(), Modifiers::CTRL | Modifiers::ALT);
        assert_eq!(key("<lt>").code(), KeyCode::Char('<'));
        assert_eq!(key("<A->>").code(), KeyCode::Char('>'));
    }

    #[test]
    fn other_spellings_name_the_canonical_one() {
        for (written, canonical, why) in [
            ("<c-s>", "<C-s>", "modifiers are written C-, A- and S-"),
            ("<A-C-x>", "<C-A-x>", "order C-, A-, S-"),
            ("<S-a>", "A", "an uppercase letter already means Shift"),
            ("<S-A>", "A", "an uppercase letter already means Shift"),
            (
                "<C-S-a>",
                "<C-A>",
                "an uppercase letter already means Shift",
            ),
            ("<esc>", "<Esc>", "spelled Esc"),
            ("<ESC>", "<Esc>", "spelled Esc"),
            ("<Return>", "<Enter>", "Return is called Enter"),
            ("<CR>", "<Enter>", "CR is called Enter"),
            ("<BackTab>", "<S-Tab>", "BackTab"),
            ("<x>", "x", "no angle brackets"),
            ("<<>", "<lt>", "<lt>"),
            ("<", "<lt>", "<lt>"),
            (" ", "<Space>", "<Space>"),
            ("<space>", "<Space>", "spelled Space"),
            ("<M-x>", "<A-x>", "Alt (Meta) is written A-"),
            ("<f1>", "<F1>", "spelled F1"),
            ("<F01>", "<F1>", "one spelling"),
        ] {
            let message = error(written);
            assert!(
                message.contains(&format!("`{written}` is written `{canonical}`")),
                "{written}: {message}"
            );
            assert!(message.contains(why), "{written}: {message}");
        }
    }

    #[test]
    fn impossible_keys_say_what_is_wrong() {
        for (written, reason) in [
            ("", "no key given"),
            ("<Tab", "no closing `>`"),
            ("<C-x", "no closing `>`"),
            ("<Foo>", "`Foo` is not a key name"),
            ("<Page-Up>", "is not a key name"),
            ("<X-a>", "`X-` is not a modifier"),
            ("<C-C-x>", "`C-` is written twice"),
            ("<C->", "names no key"),
            ("<>", "names no key"),
            ("<S-1>", "Shift with `1` is not a key of its own"),
            ("<S-Space>", "Shift with ` ` is not a key of its own"),
            ("<F13>", "function keys go from F1 to F12"),
            ("<F0>", "function keys go from F1 to F12"),
            ("gg", "is 2 keys, not one"),
            ("\u{1}", "control character U+0001"),
        ] {
            let message = error(written);
            assert!(message.contains(reason), "{written:?}: {message}");
        }
    }

    #[test]
    fn sequences_run_keys_together() {
        let seq: KeySeq = "g<C-x><Esc>>-<A->><C-->".parse().unwrap();
        let printed: Vec<String> = seq.iter().map(|k| k.to_string()).collect();
        assert_eq!(printed, ["g", "<C-x>", "<Esc>", ">", "-", "<A->>", "<C-->"]);
        assert_eq!(seq.to_string(), "g<C-x><Esc>>-<A->><C-->");
    }

    /// Events exactly as crossterm 0.29's parser builds them (event/sys/unix/parse.rs).
    #[test]
    fn terminal_events_become_the_written_keys() {
        let ev = |code, mods| KeyEvent::new(code, mods);
        let cases = [
            // Legacy: an uppercase char arrives with SHIFT (char_code_to_event).
            (ev(TermCode::Char('A'), KeyModifiers::SHIFT), "A"),
            // Kitty protocol, no alternate keys: the base key with SHIFT.
            (ev(TermCode::Char('a'), KeyModifiers::SHIFT), "A"),
            // Kitty protocol with alternate keys: the shifted char, SHIFT removed.
            (ev(TermCode::Char('A'), KeyModifiers::NONE), "A"),
            // `?` is a shifted character on most layouts; Windows reports SHIFT with it.
            (ev(TermCode::Char('?'), KeyModifiers::NONE), "?"),
            (ev(TermCode::Char('?'), KeyModifiers::SHIFT), "?"),
            // CSI Z: BackTab with SHIFT; kitty: Tab+Shift is also turned into BackTab.
            (ev(TermCode::BackTab, KeyModifiers::SHIFT), "<S-Tab>"),
            (ev(TermCode::BackTab, KeyModifiers::NONE), "<S-Tab>"),
            (ev(TermCode::Tab, KeyModifiers::SHIFT), "<S-Tab>"),
            (ev(TermCode::Tab, KeyModifiers::NONE), "<Tab>"),
            // 0x01..0x1A: Ctrl+letter as the lowercase letter with CONTROL.
            (ev(TermCode::Char('s'), KeyModifiers::CONTROL), "<C-s>"),
            // 0x00: Ctrl+Space.
            (ev(TermCode::Char(' '), KeyModifiers::CONTROL), "<C-Space>"),
            (ev(TermCode::Char(' '), KeyModifiers::NONE), "<Space>"),
            // ESC prefix: Alt added to the following key, Shift kept from the uppercase char.
            (
                ev(TermCode::Char('A'), KeyModifiers::ALT | KeyModifiers::SHIFT),
                "<A-A>",
            ),
            (ev(TermCode::Char('<'), KeyModifiers::ALT), "<A-lt>"),
            (ev(TermCode::Char('<'), KeyModifiers::SHIFT), "<lt>"),
            (ev(TermCode::Enter, KeyModifiers::ALT), "<A-Enter>"),
            (ev(TermCode::Up, KeyModifiers::SHIFT), "<S-Up>"),
            (ev(TermCode::F(2), KeyModifiers::NONE), "<F2>"),
            (ev(TermCode::Esc, KeyModifiers::NONE), "<Esc>"),
        ];
        for (event, written) in cases {
            assert_eq!(
                Key::from_event(&event),
                Some(key(written)),
                "{event:?} should be {written}"
            );
        }
    }

    #[test]
    fn keys_no_keymap_can_name_are_none() {
        for event in [
            KeyEvent::new(TermCode::Char('q'), KeyModifiers::SUPER),
            KeyEvent::new(TermCode::Char('q'), KeyModifiers::META),
            KeyEvent::new(TermCode::F(13), KeyModifiers::NONE),
            KeyEvent::new(TermCode::CapsLock, KeyModifiers::NONE),
            KeyEvent::new(TermCode::Null, KeyModifiers::NONE),
            KeyEvent::new(TermCode::Char('\u{7}'), KeyModifiers::NONE),
        ] {
            assert_eq!(Key::from_event(&event), None, "{event:?}");
        }
    }

    fn any_code() -> impl Strategy<Value = KeyCode> {
        prop_oneof![
            any::<char>().prop_map(KeyCode::Char),
            prop::sample::select(b"abzAZ<> -?:/".to_vec()).prop_map(|c| KeyCode::Char(c as char)),
            (1..=MAX_FUNCTION_KEY).prop_map(KeyCode::F),
            prop::sample::select(NAMED.map(|(_, code)| code).to_vec()),
        ]
    }

    fn any_key() -> impl Strategy<Value = Key> {
        (any_code(), 0u8..8)
            .prop_filter_map("not a key", |(code, bits)| Key::new(code, Modifiers(bits)))
    }

    /// Text that looks like key notation, right or wrong.
    fn key_like_text() -> impl Strategy<Value = String> {
        let modifier = prop::sample::select(vec!["C-", "A-", "S-", "c-", "a-", "s-", "M-", "X-"]);
        let name = prop::sample::select(vec![
            "a", "A", "x", "-", ">", "<", " ", "1", "é", "Esc", "esc", "Enter", "Return", "Tab",
            "BackTab", "Space", "lt", "F1", "f12", "F13", "Up", "PageUp", "pgdn", "Foo", "",
        ]);
        prop_oneof![
            "\\PC{1,3}",
            (prop::collection::vec(modifier, 0..4), name, any::<bool>()).prop_map(
                |(mods, name, closed)| {
                    format!("<{}{name}{}", mods.concat(), if closed { ">" } else { "" })
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn printed_keys_parse_back(k in any_key()) {
            let text = k.to_string();
            prop_assert_eq!(text.parse::<Key>(), Ok(k), "{}", text);
        }

        #[test]
        fn accepted_text_prints_back(text in key_like_text()) {
            match text.parse::<KeySeq>() {
                Ok(seq) => prop_assert_eq!(seq.to_string(), text),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn sequences_round_trip(keys in prop::collection::vec(any_key(), 1..5)) {
            let seq = KeySeq::from(keys);
            prop_assert_eq!(seq.to_string().parse::<KeySeq>(), Ok(seq.clone()));
        }

        #[test]
        fn a_key_survives_the_terminal(k in any_key()) {
            let event = KeyEvent::from(k);
            prop_assert_eq!(event.kind, KeyEventKind::Press);
            prop_assert_eq!(event.state, KeyEventState::NONE);
            prop_assert_eq!(Key::from_event(&event), Some(k));
        }
    }
}
