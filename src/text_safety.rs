//! Text from records and files made safe to show on a terminal, and measured the way the
//! terminal draws it. Used by everything that draws (ui/) and by the commands that print
//! records (cli/).
//!
//! Why: a patient's name or a note can hold anything an import file or a paste put there,
//! including terminal escape sequences (`ESC [2J` clears the screen, `ESC ]0;…BEL` sets the
//! window title) and bidi overrides (U+202E turns the rest of a line around, so a dose can read
//! backwards). ratatui drops C0/C1 controls silently, which hides them but leaves the rest of the
//! sequence ("[2J") looking like text, and it passes format characters such as U+202E on to the
//! terminal inside a neighbouring cell. Here every such character becomes a visible stand-in of
//! one column instead: C0 controls their Control Picture (ESC shows as `␛`), DEL `␡`, C1
//! controls and bidi embeddings/overrides/isolates `␦` (the picture of SUB, the substitute
//! character). Not U+FFFD: terminals and emulators may take that for a decoding error of their
//! own and draw nothing (vt100 does), which would shift every column after it. Right-to-left
//! letters, combining marks, emoji and CJK are text and stay as they are.
//!
//! Widths count grapheme clusters with ratatui's own cell width, so a column measured here is a
//! column on screen, and a cut never splits a cluster (an accent from its letter, a skin tone or
//! a ZWJ sequence from its emoji, half of a wide character).

use ratatui::buffer::{Buffer, CellWidth};
use ratatui::text::Span;
use std::borrow::Cow;

/// Control characters and bidi embedding, override and isolate controls: the characters that
/// must never reach a terminal from a record. Plain right-to-left marks (U+200E, U+200F,
/// U+061C) are left alone: they change no order beyond their neighbour and RTL text uses them.
pub fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The visible one-column stand-in for a hazard (see [`is_hazard`]); other characters as
/// they are.
pub fn stand_in(c: char) -> char {
    match c {
        // C0 controls have Control Pictures at the same offset: NUL ␀ .. US ␟.
        '\0'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('␦'),
        '\u{7F}' => '\u{2421}',
        c if is_hazard(c) => '␦',
        c => c,
    }
}

/// `text` for one line on screen: every hazard, a line break and a carriage return included,
/// becomes its stand-in (a line break shows as `␊`), and a tab a space, so the text keeps one
/// character per character (fuzzy-match positions still point at the same characters).
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c == '\t' { ' ' } else { stand_in(c) })
            .collect(),
    )
}

/// `text` for a wrapped paragraph: line breaks stay line breaks (a carriage return before one,
/// or alone, ends the line too), a tab becomes a space, every other hazard its stand-in.
pub fn paragraph(text: &str) -> Cow<'_, str> {
    rewrite_lines(text, ' ', is_hazard)
}

/// `text` for a terminal that is not ours to draw on (a command's output): as [`paragraph`],
/// but tabs are kept, since a terminal moves a tab to its next stop and nothing else.
pub fn printable(text: &str) -> Cow<'_, str> {
    rewrite_lines(text, '\t', is_hazard)
}

/// Line breaks kept (carriage returns end lines), each tab as `tab`, every other character
/// `unsafe_char` says is unsafe as its stand-in.
fn rewrite_lines(text: &str, tab: char, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    let kept = |c: char| c == '\n' || (c == '\t' && tab == '\t');
    if !text.chars().any(|c| !kept(c) && unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push('\n'),
            '\t' => out.push(tab),
            c if unsafe_char(c) => out.push(stand_in(c)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Pasted text for a note: a carriage return (alone or before a line break) ends a line, line
/// breaks and tabs stay, and every other control character becomes its visible stand-in, so a
/// paste cannot put an escape sequence into a record while the user sees what arrived and can
/// delete it. Bidi controls stay: unlike ESC, someone writing in a right-to-left script may mean
/// them, and they are shown as stand-ins wherever the note is drawn.
pub fn pasted_prose(text: &str) -> Cow<'_, str> {
    rewrite_lines(text, '\t', char::is_control)
}

/// Text for a one-line field (a name, a filter), pasted or loaded: line breaks and tabs become
/// spaces, every other control character its visible stand-in; bidi controls stay, as in
/// [`pasted_prose`].
pub fn field_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => stand_in(c),
            c => c,
        })
        .collect()
}

/// The grapheme clusters of `text` as byte ranges with the columns ratatui gives each (a
/// cluster holding a control character is dropped by ratatui and takes none, nor appears here).
fn clusters(text: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    // `Span::styled_graphemes` is ratatui's own segmentation and control filter, so what is
    // measured here is what is drawn.
    let span = Span::raw(text);
    let base = text.as_ptr() as usize;
    span.styled_graphemes(ratatui::style::Style::default())
        .map(|g| {
            let start = g.symbol.as_ptr() as usize - base;
            (
                start..start + g.symbol.len(),
                usize::from(g.symbol.cell_width()),
            )
        })
        .collect()
}

/// Columns `text` takes on one line, as ratatui draws it.
pub fn width(text: &str) -> usize {
    clusters(text).into_iter().map(|(_, w)| w).sum()
}

/// The longest start of `text` that takes at most `max` columns, cut between grapheme clusters,
/// with its width.
pub fn take_width(text: &str, max: usize) -> (&str, usize) {
    let mut used = 0;
    let mut end = 0;
    for (range, w) in clusters(text) {
        if used + w > max {
            break;
        }
        used += w;
        end = range.end;
    }
    (&text[..end], used)
}

/// `text` (made safe for one line) cut or padded to exactly `width` columns; a cut ends in "…"
/// and never splits a cluster, so a wide character that does not fit leaves a space instead.
pub fn fit(text: &str, width: usize) -> String {
    let text = one_line(text);
    let total = self::width(&text);
    let (mut out, used) = if total <= width {
        (text.into_owned(), total)
    } else if width > 0 {
        let (cut, used) = take_width(&text, width - 1);
        (format!("{cut}…"), used + 1)
    } else {
        (String::new(), 0)
    };
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// Every cell of `buf` whose symbol still holds a hazard gets the symbol with stand-ins, so
/// nothing drawn can reach the terminal as a control, whichever widget drew it.
pub fn scrub(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(is_hazard) {
            // A hazard a widget appended to a cell takes no column: dropping it keeps the
            // columns. One that is the cell's whole symbol shows as its stand-in.
            let kept: String = cell.symbol().chars().filter(|&c| !is_hazard(c)).collect();
            let clean = if kept.is_empty() {
                cell.symbol()
                    .chars()
                    .next()
                    .map(stand_in)
                    .unwrap_or(' ')
                    .to_string()
            } else {
                kept
            };
            cell.set_symbol(&clean);
        }
    }
}

/// A wide character whose second column something else was drawn on (a frame, a popup's
/// edge) becomes a blank: a terminal would draw the character over that column and hide what is
/// there. ratatui's word wrap can end a line with a wide character one column past the area, so
/// without this an emoji or CJK character at the end of a wrapped line erased a pane's border.
pub fn mend_wide_overlaps(buf: &mut Buffer) {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let w = buf[(x, y)].symbol().cell_width();
            if w < 2 {
                continue;
            }
            let covered = (1..w).any(|d| {
                x.checked_add(d)
                    .filter(|&cx| cx < area.right())
                    .is_some_and(|cx| buf[(cx, y)].symbol() != " ")
            });
            let past_edge = x.saturating_add(w) > area.right();
            if covered || past_edge {
                buf[(x, y)].set_symbol(" ");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_controls_become_visible_single_columns() {
        assert_eq!(one_line("a\x1b[2Jb"), "a␛[2Jb");
        assert_eq!(one_line("\x1b]0;pwned\x07"), "␛]0;pwned␇");
        assert_eq!(one_line("x\u{9b}y\u{7f}"), "x␦y␡");
        assert_eq!(one_line("dose \u{202E}gm 05"), "dose ␦gm 05");
        assert_eq!(one_line("l1\nl2\tend\r"), "l1␊l2 end␍");
        assert_eq!(paragraph("l1\r\nl2\rl3\tx\x1b"), "l1\nl2\nl3 x␛");
        assert_eq!(printable("a\tb\x1b[0m\r\n"), "a\tb␛[0m\n");
    }

    #[test]
    fn pasted_text_keeps_its_lines_and_shows_its_controls() {
        assert_eq!(pasted_prose("a\r\nb\rc\td\x1b[2J"), "a\nb\nc\td␛[2J");
        assert_eq!(pasted_prose("rtl \u{202E}x"), "rtl \u{202E}x");
        assert!(matches!(pasted_prose("plain\n\ttext"), Cow::Borrowed(_)));
        assert_eq!(field_line("a\nb\tc\r\x1b]0;t\x07"), "a b c ␛]0;t␇");
    }

    #[test]
    fn plain_text_of_any_script_is_left_as_it_is() {
        for s in [
            "Zoë Ōkubo",
            "שלום עליכם",
            "مرحبا",
            "e\u{301}",
            "👩🏽‍⚕️",
            "山田花子",
            "",
        ] {
            assert!(matches!(one_line(s), Cow::Borrowed(_)), "{s}");
            assert!(matches!(paragraph(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn widths_count_clusters_as_drawn() {
        assert_eq!(width("山田"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("Z\u{351}\u{34b}\u{35b}a"), 2);
        assert_eq!(width("👩🏽‍⚕️"), 2);
        assert_eq!(width("👨‍👩‍👧"), 2);
        assert_eq!(width("👍🏽"), 2);
    }

    #[test]
    fn fitting_never_splits_a_cluster_or_a_wide_character() {
        assert_eq!(fit("山田花子", 5), "山田…");
        assert_eq!(fit("山田花子", 4), "山… ");
        assert_eq!(fit("e\u{301}e\u{301}e\u{301}", 2), "e\u{301}…");
        assert_eq!(fit("👩🏽‍⚕️👩🏽‍⚕️", 3), "👩🏽‍⚕️…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("a\x1bb", 3), "a␛b");
        for w in 0..12 {
            assert_eq!(width(&fit("山田👍🏽 e\u{301}x", w)), w);
        }
    }

    #[test]
    fn a_wide_character_drawn_under_a_border_gives_way_to_it() {
        let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 4, 2));
        buf[(1, 0)].set_symbol("山");
        buf[(2, 0)].set_symbol("│");
        buf[(1, 1)].set_symbol("山");
        buf[(3, 1)].set_symbol("山");
        mend_wide_overlaps(&mut buf);
        assert_eq!(buf[(1, 0)].symbol(), " ");
        assert_eq!(buf[(2, 0)].symbol(), "│");
        assert_eq!(buf[(1, 1)].symbol(), "山", "nothing under it");
        assert_eq!(buf[(3, 1)].symbol(), " ", "it would run past the edge");
    }

    #[test]
    fn scrub_replaces_what_a_widget_left_in_a_cell() {
        let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 3, 1));
        buf[(0, 0)].set_symbol("a\u{202E}");
        buf[(1, 0)].set_symbol("\x1b");
        scrub(&mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(1, 0)].symbol(), "␛");
    }
}
