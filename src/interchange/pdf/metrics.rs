//! What the PDF's base-14 fonts can show and how wide it is: the WinAnsi encoding (Windows code
//! page 1252) of a character, a readable ASCII stand-in for common characters outside it, and
//! Helvetica's and Helvetica-Bold's glyph widths from Adobe's standard AFM files (Helvetica-Oblique
//! and Helvetica-BoldOblique have the same widths as the upright faces).

/// Widths in thousandths of the font size of WinAnsi codes 32 to 255, Helvetica (AFM 003.001).
/// Codes WinAnsi leaves undefined are 0; nothing is ever encoded to them.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, //
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 333, 556, //
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, //
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 333, 0, //
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, //
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, //
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 333, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 333, 834, 834, 834, 611, //
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, //
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, //
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 333, 556, //
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, //
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 333, 0, //
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, //
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, //
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 333, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 333, 834, 834, 834, 611, //
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, //
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, //
];

/// The width of WinAnsi byte `b` at font size 1 (bytes below 32 never occur).
pub fn width(b: u8, bold: bool) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let i = usize::from(b.saturating_sub(32));
    f32::from(table.get(i).copied().unwrap_or(556)) / 1000.0
}

/// The width of WinAnsi bytes at font size 1.
pub fn text_width(bytes: &[u8], bold: bool) -> f32 {
    bytes.iter().map(|&b| width(b, bold)).sum()
}

/// The WinAnsi byte of a character, if it has one.
fn winansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    match code {
        0x20..=0x7e | 0xa0..=0xff => u8::try_from(code).ok(),
        _ => Some(match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => return None,
        }),
    }
}

/// A readable stand-in for a character the base-14 fonts cannot show: arrows and comparison
/// signs in ASCII, typographic spaces as a space, and `?` for everything else (emoji, CJK,
/// letters outside Western European).
fn stand_in(c: char) -> &'static str {
    match c {
        '→' | '⟶' | '⇒' => "->",
        '←' | '⟵' | '⇐' => "<-",
        '↔' | '⇔' => "<->",
        '↑' => "^",
        '↓' => "v",
        '−' | '‐' | '‑' | '‒' => "-",
        '≥' => ">=",
        '≤' => "<=",
        '≠' => "!=",
        '≈' => "~",
        '✓' | '✔' => "v",
        '✗' | '✘' => "x",
        '\t' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => " ",
        // Zero-width characters and joiners show as nothing.
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => "",
        _ => "?",
    }
}

/// Text as WinAnsi bytes, every character outside WinAnsi replaced by its stand-in; control
/// characters dropped.
pub fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            continue;
        }
        match winansi(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(stand_in(c).as_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn western_text_is_winansi_and_the_rest_has_stand_ins() {
        assert_eq!(
            encode("Café · 5 × 2 — ok"),
            b"Caf\xe9 \xb7 5 \xd7 2 \x97 ok"
        );
        assert_eq!(encode("21 → 18 (−14%), ≥ 5"), b"21 -> 18 (-14%), >= 5");
        assert_eq!(encode("日本 😀"), b"?? ?");
        assert_eq!(encode("a\u{1b}b"), b"ab");
    }

    #[test]
    fn widths_are_helvetica_s() {
        // Helvetica: space 278, "A" 667, "i" 222; bold "i" 278.
        assert!((text_width(b" Ai", false) - 1.167).abs() < 1e-4);
        assert!((width(b'i', true) - 0.278).abs() < 1e-6);
        assert!((width(0xe9, false) - 0.556).abs() < 1e-6); // é
    }
}
