//! Fuzzy matching for the roster filter, help and the command palette, with nucleo (the
//! matcher helix uses): smart case, and accents matched loosely so "jose" finds "José".

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// One item that matched: its index in the input and the matched character positions (for
/// highlighting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub index: usize,
    pub positions: Vec<u32>,
}

/// Ranks `items` against `query`, best first; ties keep input order. An empty query keeps
/// every item in order.
pub fn rank<'a>(query: &str, items: impl IntoIterator<Item = &'a str>) -> Vec<Hit> {
    let query = query.trim();
    if query.is_empty() {
        return items
            .into_iter()
            .enumerate()
            .map(|(index, _)| Hit {
                index,
                positions: Vec::new(),
            })
            .collect();
    }
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, Hit)> = items
        .into_iter()
        .enumerate()
        .filter_map(|(index, text)| {
            let mut positions = Vec::new();
            let score =
                pattern.indices(Utf32Str::new(text, &mut buf), &mut matcher, &mut positions)?;
            positions.sort_unstable();
            positions.dedup();
            Some((score, Hit { index, positions }))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.index.cmp(&b.1.index)));
    scored.into_iter().map(|(_, h)| h).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_scattered_letters_and_ranks_tighter_matches_first() {
        let names = ["Rowan Adeyemi", "Mara Okafor", "Ana Rivera", "Ramona Ellis"];
        let hits = rank("ra", names);
        assert!(!hits.is_empty());
        let found: Vec<&str> = hits.iter().map(|h| names[h.index]).collect();
        assert!(found.contains(&"Mara Okafor") && found.contains(&"Ana Rivera"));
        assert!(rank("zzz", names).is_empty());
        assert_eq!(rank("", names).len(), 4);
    }

    #[test]
    fn accents_and_case_do_not_hide_a_patient() {
        let names = ["José Núñez"];
        assert_eq!(rank("jose nunez", names).len(), 1);
        assert_eq!(
            rank("JOSE", names).len(),
            0,
            "an uppercase query is case-sensitive"
        );
        assert_eq!(rank("José", names).len(), 1);
    }
}
