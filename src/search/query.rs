//! The query language, read the same way in the terminal UI and on the command line.
//!
//! ```text
//! father              a word (any case, any accents)
//! fath*               words starting with "fath"
//! "first session"     a phrase: the words next to each other, in order
//! -alcohol  -"low mood"  -sleep*   leave out entries with the word, phrase or prefix
//! kind:integration  status:draft  since:2026-01-01  until:2026-03-31  patient:p0001
//! ```
//! Every word, phrase and prefix must be in an entry (AND). `kind:` takes a note kind,
//! `observation`, `goal`, `check-in` or `note`, and may be given more than once (any of them).

use super::text::{DocKind, DocStatus, fold_words};
use crate::model::PatientId;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// What an entry must (or must not) contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    Word(String),
    Prefix(String),
    /// Two or more words, next to each other in order.
    Phrase(Vec<String>),
}

impl Clause {
    /// A typed word becomes a word, or a phrase when it holds several ("father's", "well-being").
    fn from_words(mut words: Vec<String>, prefix: bool) -> Option<Clause> {
        match words.len() {
            0 => None,
            1 if prefix => words.pop().map(Clause::Prefix),
            1 => words.pop().map(Clause::Word),
            _ => Some(Clause::Phrase(words)),
        }
    }
}

/// Which entries a search looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub patient: Option<PatientId>,
    /// Any of these kinds; empty: every kind.
    pub kinds: Vec<DocKind>,
    /// Any of these statuses; empty: every status.
    pub statuses: Vec<DocStatus>,
    /// On or after this instant.
    pub since: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
    /// Psychotherapy notes are searched only when asked for (the CLI leaves them out unless
    /// `--include-private`; the clinician's own terminal UI includes them).
    pub include_private: bool,
    /// The order of the results (and so which ones a limit keeps).
    pub order: Order,
    /// Searching as the query is typed: a prefix stands for its shortest words only (the
    /// exact word first). Over every patient, for their newest entries, as many as
    /// [`PREFIX_BUDGET`] bytes of postings hold, so a one-letter prefix answers as fast as a
    /// word; for one patient, for at most [`PATIENT_PREFIX_WORDS`] words. The total counts
    /// what was read. A prefix left out (`-wor*`) reads every word.
    pub typing: bool,
}

/// The postings a prefix reads at most while typing over every patient ([`Filter::typing`]).
pub const PREFIX_BUDGET: usize = 48 * 1024;
/// The words a prefix stands for at most while typing in one patient's records
/// ([`Filter::typing`]): the shortest.
pub const PATIENT_PREFIX_WORDS: usize = 24;

/// The order of search results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// The best match first (BM25); equal scores newest first.
    #[default]
    Best,
    /// The oldest entry first: "when did she first mention her father?"
    Oldest,
    /// The newest entry first.
    Newest,
}

impl Order {
    pub const ALL: [Order; 3] = [Order::Best, Order::Oldest, Order::Newest];

    /// The name on the command line (`--order`) and in a query (`order:`).
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Best => "best",
            Order::Oldest => "date",
            Order::Newest => "newest",
        }
    }

    /// Reads a name: `best` (or `relevance`), `date` (or `oldest`), `newest`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "best" | "relevance" => Some(Order::Best),
            "date" | "oldest" => Some(Order::Oldest),
            "newest" => Some(Order::Newest),
            _ => None,
        }
    }

    /// What the UI says of it.
    pub fn describe(self) -> &'static str {
        match self {
            Order::Best => "best first",
            Order::Oldest => "oldest first",
            Order::Newest => "newest first",
        }
    }

    /// The next order, for the key that switches.
    pub fn next(self) -> Self {
        match self {
            Order::Best => Order::Oldest,
            Order::Oldest => Order::Newest,
            Order::Newest => Order::Best,
        }
    }
}

impl Filter {
    /// Everything on or after the start of `date` in `tz`.
    pub fn since_date(&mut self, date: Date, tz: &TimeZone) {
        self.since = date.to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    }

    /// Everything up to the end of `date` in `tz`.
    pub fn until_date(&mut self, date: Date, tz: &TimeZone) {
        self.until = date
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(tz.clone()).ok())
            .map(|z| z.timestamp());
    }
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub must: Vec<Clause>,
    pub must_not: Vec<Clause>,
    pub filter: Filter,
}

/// The longest query read, in characters. A query is typed, so anything longer is a paste gone
/// wrong; without a cap a pasted document would be split into thousands of clauses, each a
/// lookup in the index, on every key press in the search box.
pub const MAX_QUERY_CHARS: usize = 1000;

/// A query that cannot be read, with where (the character column, from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl Query {
    /// Reads `text`; dates in filters are days in `tz`. Filters in the text are added to
    /// `filter` (the command line's flags, the UI's scope).
    pub fn parse(text: &str, filter: Filter, tz: &TimeZone) -> Result<Query, QueryError> {
        // A closing `*` is not counted: the search box adds one to the word being typed, and a
        // query that fits as typed must fit then too.
        let counted = text.strip_suffix('*').unwrap_or(text);
        if counted.chars().nth(MAX_QUERY_CHARS).is_some() {
            return Err(QueryError {
                column: MAX_QUERY_CHARS + 1,
                message: format!(
                    "the query is longer than {MAX_QUERY_CHARS} characters; kitnotes searches \
                     for at most {MAX_QUERY_CHARS}"
                ),
            });
        }
        let mut q = Query {
            filter,
            ..Query::default()
        };
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut i = 0;
        let err = |at: usize, message: String| QueryError {
            column: at + 1,
            message,
        };
        while i < chars.len() {
            if chars[i].1.is_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let negated = chars[i].1 == '-';
            if negated {
                i += 1;
            }
            let clause = if i < chars.len() && chars[i].1 == '"' {
                let open = i;
                i += 1;
                let from = i;
                while i < chars.len() && chars[i].1 != '"' {
                    i += 1;
                }
                if i == chars.len() {
                    return Err(err(
                        open,
                        "this quote is never closed: end the phrase with another \"".into(),
                    ));
                }
                let phrase = slice(text, &chars, from, i);
                i += 1;
                let words = fold_words(phrase);
                match words.len() {
                    0 => None,
                    1 => words.into_iter().next().map(Clause::Word),
                    _ => Some(Clause::Phrase(words)),
                }
            } else {
                let from = i;
                while i < chars.len() && !chars[i].1.is_whitespace() {
                    i += 1;
                }
                let token = slice(text, &chars, from, i);
                if !negated && let Some((name, value)) = token.split_once(':') {
                    match q.filter_term(name, value, tz) {
                        Some(Ok(())) => continue,
                        Some(Err(m)) => return Err(err(start, format!("{name}:{value}: {m}"))),
                        None => {}
                    }
                }
                let prefix = token.ends_with('*');
                Clause::from_words(fold_words(token.trim_end_matches('*')), prefix)
            };
            if let Some(clause) = clause {
                if negated {
                    q.must_not.push(clause);
                } else {
                    q.must.push(clause);
                }
            }
        }
        if q.must.is_empty() {
            return Err(QueryError {
                column: 1,
                message: if q.must_not.is_empty() {
                    "type a word to search for".into()
                } else {
                    "a search needs at least one word to find, not only words to leave out".into()
                },
            });
        }
        Ok(q)
    }

    /// Applies `name:value` when `name` is a filter; `None` when it is not one (then the text
    /// is searched as words, as in "10:30").
    fn filter_term(
        &mut self,
        name: &str,
        value: &str,
        tz: &TimeZone,
    ) -> Option<Result<(), String>> {
        let date = |v: &str| {
            v.parse::<Date>()
                .map_err(|_| "expects a date as YYYY-MM-DD".to_owned())
        };
        Some(match name.to_ascii_lowercase().as_str() {
            "kind" => match DocKind::parse_many(value) {
                Some(k) => {
                    self.filter.kinds.extend(k);
                    Ok(())
                }
                None => Err(format!("kinds are {}, or note", kind_names())),
            },
            "status" => match DocStatus::parse(value) {
                Some(s) => {
                    self.filter.statuses.push(s);
                    Ok(())
                }
                None => Err(format!("statuses are {}", status_names())),
            },
            "since" => date(value).map(|d| self.filter.since_date(d, tz)),
            "until" => date(value).map(|d| self.filter.until_date(d, tz)),
            "patient" => PatientId::parse(value)
                .map(|p| self.filter.patient = Some(p))
                .map_err(|e| e.to_string()),
            "order" => match Order::parse(value) {
                Some(o) => {
                    self.filter.order = o;
                    Ok(())
                }
                None => Err("orders are best, date (oldest first) and newest".to_owned()),
            },
            _ => return None,
        })
    }

    /// Every word the query looks for (not those it leaves out), for highlighting.
    pub fn wanted(&self) -> Vec<&Clause> {
        self.must.iter().collect()
    }
}

fn slice<'a>(text: &'a str, chars: &[(usize, char)], from: usize, to: usize) -> &'a str {
    let start = chars.get(from).map_or(text.len(), |c| c.0);
    let end = chars.get(to).map_or(text.len(), |c| c.0);
    &text[start..end]
}

/// The kinds, for messages and help.
pub fn kind_names() -> String {
    DocKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statuses, for messages and help.
pub fn status_names() -> String {
    DocStatus::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NoteKind;

    fn parse(s: &str) -> Result<Query, QueryError> {
        Query::parse(s, Filter::default(), &TimeZone::UTC)
    }

    #[test]
    fn words_prefixes_phrases_and_exclusions() {
        let q = parse(r#"Father fath* "First  Session" -alcohol -"low mood" -sle*"#).unwrap();
        assert_eq!(
            q.must,
            [
                Clause::Word("father".into()),
                Clause::Prefix("fath".into()),
                Clause::Phrase(vec!["first".into(), "session".into()]),
            ]
        );
        assert_eq!(
            q.must_not,
            [
                Clause::Word("alcohol".into()),
                Clause::Phrase(vec!["low".into(), "mood".into()]),
                Clause::Prefix("sle".into()),
            ]
        );
    }

    #[test]
    fn a_word_with_punctuation_inside_is_a_phrase() {
        let q = parse("father's well-being 10:30").unwrap();
        assert_eq!(
            q.must,
            [
                Clause::Phrase(vec!["father".into(), "s".into()]),
                Clause::Phrase(vec!["well".into(), "being".into()]),
                Clause::Phrase(vec!["10".into(), "30".into()]),
            ]
        );
    }

    #[test]
    fn filters_in_the_text() {
        let q = parse("sleep kind:integration kind:check-in status:draft since:2026-01-01 until:2026-01-31 patient:p0001").unwrap();
        assert_eq!(q.must, [Clause::Word("sleep".into())]);
        assert_eq!(
            q.filter.kinds,
            [DocKind::Note(NoteKind::Integration), DocKind::CheckIn]
        );
        assert_eq!(q.filter.statuses, [DocStatus::Draft]);
        assert_eq!(
            q.filter.since,
            Some("2026-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            q.filter.until,
            Some("2026-02-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(q.filter.patient.as_ref().map(|p| p.as_str()), Some("p0001"));
    }

    #[test]
    fn bad_queries_say_where_and_why() {
        let e = parse(r#"sleep "first session"#).unwrap_err();
        assert_eq!(e.column, 7);
        assert!(e.message.contains("never closed"), "{e}");
        let e = parse("sleep since:yesterday").unwrap_err();
        assert_eq!(e.column, 7);
        assert!(e.message.contains("YYYY-MM-DD"), "{e}");
        let e = parse("kind:vitals sleep").unwrap_err();
        assert!(e.message.contains("observation"), "{e}");
        let e = parse("-alcohol").unwrap_err();
        assert!(e.message.contains("at least one word"), "{e}");
        assert!(parse("   ").is_err());
        assert!(parse("\"\"").is_err());
    }

    #[test]
    fn a_query_over_the_limit_is_refused_at_the_first_character_too_many() {
        let fits = "é".repeat(MAX_QUERY_CHARS);
        assert!(parse(&fits).is_ok());
        // The search box's typed prefix does not tip a query that fits over the limit.
        assert!(parse(&format!("{fits}*")).is_ok());
        let e = parse(&format!("{fits}e")).unwrap_err();
        assert_eq!(e.column, MAX_QUERY_CHARS + 1);
        assert_eq!(
            e.to_string(),
            "column 1001: the query is longer than 1000 characters; kitnotes searches for at \
             most 1000"
        );
    }
}
