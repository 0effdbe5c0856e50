//! The snippet shown with a result: a few words around the best place where the query's words
//! are, with those words marked.

use super::query::Clause;
use super::text::{Word, words};
use std::ops::Range;

/// Words in a snippet, at most.
const WINDOW: usize = 24;
/// Words of context kept before the first match.
const LEAD: usize = 5;

/// A short text with the matched words marked by byte ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

/// `text` cut at the byte `ranges` (in order, on character boundaries): each piece, and whether
/// it is one of the ranges. How a snippet or a note's text is drawn with its found words marked.
pub fn pieces<'t>(text: &'t str, ranges: &[Range<usize>]) -> Vec<(&'t str, bool)> {
    let mut out = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut at = 0;
    for r in ranges {
        let (Some(before), Some(word)) = (text.get(at..r.start), text.get(r.clone())) else {
            continue;
        };
        if !before.is_empty() {
            out.push((before, false));
        }
        out.push((word, true));
        at = r.end;
    }
    if let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) {
        out.push((rest, false));
    }
    out
}

/// Which words of `ws` the clauses match (phrases only where the whole phrase is).
pub fn matched(ws: &[Word], clauses: &[&Clause]) -> Vec<Option<usize>> {
    let mut hit = vec![None; ws.len()];
    for (c, clause) in clauses.iter().enumerate() {
        match clause {
            Clause::Word(t) => ws
                .iter()
                .zip(hit.iter_mut())
                .filter(|(w, _)| w.text == *t)
                .for_each(|(_, h)| *h = Some(c)),
            Clause::Prefix(p) => ws
                .iter()
                .zip(hit.iter_mut())
                .filter(|(w, _)| w.text.starts_with(p.as_str()))
                .for_each(|(_, h)| *h = Some(c)),
            Clause::Phrase(p) => {
                if p.is_empty() || ws.len() < p.len() {
                    continue;
                }
                for i in 0..=ws.len() - p.len() {
                    if ws[i..i + p.len()].iter().zip(p).all(|(w, t)| w.text == *t) {
                        hit[i..i + p.len()].iter_mut().for_each(|h| *h = Some(c));
                    }
                }
            }
        }
    }
    hit
}

/// The snippet of a part's `fields` for `clauses`. The title (field 0 of a note) is used only
/// when nothing else matches.
pub fn snippet(fields: &[&str], clauses: &[&Clause]) -> Snippet {
    // (distinct clauses in window, not the first field, -field, -start): the best is the largest.
    type Rank = (usize, bool, isize, isize);
    let mut best: Option<(Rank, usize, usize)> = None;
    let mut split: Vec<(Vec<Word>, Vec<Option<usize>>)> = Vec::with_capacity(fields.len());
    for (f, field) in fields.iter().enumerate() {
        let ws = words(field);
        let hits = matched(&ws, clauses);
        for (i, h) in hits.iter().enumerate() {
            if h.is_none() {
                continue;
            }
            let end = (i + WINDOW - LEAD).min(ws.len());
            let mut distinct: Vec<usize> = hits[i..end].iter().flatten().copied().collect();
            distinct.sort_unstable();
            distinct.dedup();
            let rank = (distinct.len(), f > 0, -(f as isize), -(i as isize));
            if best.as_ref().is_none_or(|b| rank > b.0) {
                best = Some((rank, f, i));
            }
        }
        split.push((ws, hits));
    }
    let (field, first) = match best {
        Some((_, f, i)) => (f, i),
        // Nothing matched the text as written (it cannot happen for a result, but a snippet is
        // never empty for want of it): the start of the first field with words after the title.
        None => (
            (1..fields.len())
                .find(|f| !split[*f].0.is_empty())
                .unwrap_or(0),
            0,
        ),
    };
    let Some((ws, hits)) = split.get(field) else {
        return Snippet::default();
    };
    if ws.is_empty() {
        return Snippet::default();
    }
    let text = fields[field];
    let from = first.saturating_sub(LEAD);
    let to = (from + WINDOW).min(ws.len());
    let mut out = Snippet::default();
    if from > 0 {
        out.text.push('…');
    }
    let mut cursor = ws[from].start;
    for (w, h) in ws[from..to].iter().zip(&hits[from..to]) {
        push_collapsed(&mut out.text, &text[cursor..w.start]);
        let start = out.text.len();
        out.text.push_str(&text[w.start..w.end]);
        if h.is_some() {
            out.highlights.push(start..out.text.len());
        }
        cursor = w.end;
    }
    // The punctuation right after the last word, up to the next space.
    let tail: &str = text[cursor..]
        .split(char::is_whitespace)
        .next()
        .unwrap_or("");
    out.text.push_str(tail);
    if to < ws.len() {
        out.text.push('…');
    }
    out
}

/// Appends the text between two words with each run of white space (line breaks too) as one
/// space, so a snippet is one line.
fn push_collapsed(out: &mut String, between: &str) {
    let mut space = false;
    for c in between.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(s: &Snippet) -> String {
        pieces(&s.text, &s.highlights)
            .into_iter()
            .map(|(p, hit)| if hit { format!("[{p}]") } else { p.to_owned() })
            .collect()
    }

    #[test]
    fn marks_words_prefixes_and_whole_phrases_only() {
        let w = Clause::Word("father".into());
        let p = Clause::Prefix("sle".into());
        let ph = Clause::Phrase(vec!["first".into(), "session".into()]);
        let s = snippet(
            &[
                "Title",
                "Her Father\nvisited. Sleep was poor; first time, first session.",
            ],
            &[&w, &p, &ph],
        );
        assert_eq!(
            marked(&s),
            "Her [Father] visited. [Sleep] was poor; first time, [first] [session]."
        );
    }

    #[test]
    fn long_text_is_cut_around_the_match() {
        let body = format!("{} needle {}", "word ".repeat(50), "more ".repeat(50));
        let s = snippet(&["T", &body], &[&Clause::Word("needle".into())]);
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert_eq!(&s.text[s.highlights[0].clone()], "needle");
        assert!(s.text.split(' ').count() <= WINDOW + 1);
    }

    #[test]
    fn the_title_is_used_only_when_the_body_has_nothing() {
        let w = Clause::Word("sleep".into());
        let s = snippet(&["Sleep", "Sleep was better."], &[&w]);
        assert_eq!(marked(&s), "[Sleep] was better.");
        let s = snippet(&["Sleep", "Nothing here."], &[&w]);
        assert_eq!(marked(&s), "[Sleep]");
    }
}
