//! Full-text search in the terminal UI: the popup's state (query, scope, results), searching on
//! every keystroke, and the jump from a result to its timeline entry, whose matched words the
//! detail pane then highlights. The query language is `search::query`'s, as on the command line,
//! with one thing added for typing: the word being typed also finds longer words (see
//! [`as_typed`]).

use super::field::TextField;
use super::list::ListCursor;
use super::{Action, App, KeyContext, Pane, Popup};
use crate::model::{EntryKind, Patient, PatientId, RecordId, TimelineEntry};
use crate::search::text::words;
use crate::search::{Clause, DocKind, Filter, Hit, Order, Query, QueryError, Results};
use jiff::tz::TimeZone;
use ratatui::crossterm::event::KeyEvent;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

/// Results kept and shown at most; the popup says how many more match.
pub const LIMIT: usize = 200;

/// Results read for each key while the query is typed: two screens of rows. Most of a key's
/// time is making each result (its record read and checked, its snippet cut), so a key makes
/// only what can be seen; moving the selection near the last of them reads up to [`LIMIT`].
pub const FIRST: usize = 60;

/// Whose records a search looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The open patient's.
    Patient {
        id: PatientId,
        name: String,
    },
    All,
}

impl Scope {
    fn patient(&self) -> Option<&PatientId> {
        match self {
            Scope::Patient { id, .. } => Some(id),
            Scope::All => None,
        }
    }
}

/// What the popup shows under the query.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing typed yet: the popup shows the query syntax.
    Empty,
    /// The query cannot be read: where and why.
    Invalid(QueryError),
    /// The store could not search.
    Failed(String),
    Found(Found),
}

/// Results with what is needed to draw them and to highlight their words after a jump.
#[derive(Debug)]
pub struct Found {
    pub results: Results,
    /// Each hit's patient name ("(archived)" added when they are), in the order of the hits.
    pub names: Vec<String>,
    /// What the query looks for (not what it leaves out).
    pub clauses: Vec<Clause>,
}

/// The search popup.
#[derive(Debug)]
pub struct SearchPopup {
    pub field: TextField,
    pub scope: Scope,
    pub order: Order,
    pub outcome: Outcome,
    /// The selected result.
    pub cursor: ListCursor,
    /// How many results the last run read: [`FIRST`] for a query as typed, [`LIMIT`] once
    /// the selection went near the end of them.
    pub limit: usize,
}

impl SearchPopup {
    pub fn hits(&self) -> &[Hit] {
        match &self.outcome {
            Outcome::Found(f) => &f.results.hits,
            _ => &[],
        }
    }

    /// Runs the query as typed on `store`; an empty field or a bad query searches nothing.
    fn run(&mut self, store: &dyn crate::store::Store, tz: &TimeZone, patients: &[Patient]) {
        self.cursor = ListCursor::default();
        let text = self.field.text();
        if text.trim().is_empty() {
            self.outcome = Outcome::Empty;
            return;
        }
        let filter = Filter {
            patient: self.scope.patient().cloned(),
            // The clinician's own screen: psychotherapy notes are searched (and drawn in the
            // private style), unlike exports and the command line's default.
            include_private: true,
            order: self.order,
            typing: true,
            ..Filter::default()
        };
        let query = match Query::parse(&as_typed(text), filter, tz) {
            Ok(q) => q,
            Err(e) => {
                self.outcome = Outcome::Invalid(e);
                return;
            }
        };
        self.outcome = match store.search(&query, self.limit) {
            Ok(results) => {
                let by_id: HashMap<&PatientId, &Patient> =
                    patients.iter().map(|p| (&p.id, p)).collect();
                let names = results
                    .hits
                    .iter()
                    .map(|h| match by_id.get(&h.patient) {
                        Some(p) if p.archived => format!("{} (archived)", p.name),
                        Some(p) => p.name.clone(),
                        None => h.patient.to_string(),
                    })
                    .collect();
                Outcome::Found(Found {
                    results,
                    names,
                    clauses: query.must,
                })
            }
            Err(e) => Outcome::Failed(format!("The search failed: {e}")),
        };
    }

    /// Moves the selection for a movement action; false for any other action.
    fn navigate(&mut self, action: Action, height: usize) -> bool {
        let len = self.hits().len();
        self.cursor.navigate(action, len, height)
    }

    /// Whether the selection is near the end of what was read while more match: a screen
    /// from the last result read, or `<End>` on them.
    fn wants_more(&self, height: usize) -> bool {
        let Outcome::Found(f) = &self.outcome else {
            return false;
        };
        let read = f.results.hits.len();
        self.limit < LIMIT && read < f.results.total && self.cursor.selected + height >= read
    }
}

/// What is kept of a closed search, so the key that opens it brings it back as it was.
#[derive(Debug, Clone)]
pub(super) struct KeptSearch {
    text: String,
    scope: Scope,
    order: Order,
    selected: usize,
}

/// The last word counts as a prefix while it is typed from this many letters: from the first,
/// since a search over every patient reads a prefix's shortest words only (`Filter::typing`).
pub const MIN_TYPED_PREFIX: usize = 1;

/// The query as searched while it is typed: the last word, until a space follows it, is a
/// prefix too (`fath` finds "father"), so each key narrows the results instead of showing
/// none until a word is complete. Quoted phrases, exclusions, filters, words already ending
/// in `*` are left as typed.
pub fn as_typed(text: &str) -> Cow<'_, str> {
    const FILTERS: [&str; 5] = ["kind", "status", "since", "until", "patient"];
    if text.ends_with(char::is_whitespace) || text.matches('"').count() % 2 == 1 {
        return Cow::Borrowed(text);
    }
    let last = text.split_whitespace().next_back().unwrap_or("");
    let is_filter = last
        .split_once(':')
        .is_some_and(|(name, _)| FILTERS.contains(&name.to_ascii_lowercase().as_str()));
    if last.is_empty()
        || last.starts_with('-')
        || last.contains('"')
        || last.ends_with('*')
        || is_filter
        || last.chars().filter(|c| c.is_alphanumeric()).count() < MIN_TYPED_PREFIX
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{text}*"))
}

/// The byte ranges of the words of `text` that `clauses` match, for highlighting.
pub fn found_in(text: &str, clauses: &[Clause]) -> Vec<Range<usize>> {
    let ws = words(text);
    let wanted: Vec<&Clause> = clauses.iter().collect();
    crate::search::snippet::matched(&ws, &wanted)
        .iter()
        .zip(&ws)
        .filter(|(m, _)| m.is_some())
        .map(|(_, w)| w.start..w.end)
        .collect()
}

/// The timeline entry a hit is shown as: a note or session, the goal, or one check-in.
pub fn entry_kind(kind: DocKind) -> EntryKind {
    match kind {
        DocKind::Note(k) => EntryKind::Note(k),
        DocKind::Observation => EntryKind::Session,
        DocKind::Goal => EntryKind::GoalSet,
        DocKind::CheckIn => EntryKind::CheckIn,
    }
}

fn is_entry_of(e: &TimelineEntry, record: &RecordId, kind: DocKind, part: u32) -> bool {
    e.record == *record
        && match kind {
            DocKind::Goal => e.kind == EntryKind::GoalSet,
            DocKind::CheckIn => e.check_in == (part as usize).checked_sub(1),
            _ => true,
        }
}

/// A search result opened in the detail pane: its words stay highlighted while it is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundEntry {
    pub record: RecordId,
    pub check_in: Option<usize>,
    pub clauses: Vec<Clause>,
}

impl App {
    /// Opens the search popup. `all`: every patient (`F`); otherwise the last search comes back
    /// as it was left, or the open patient's records are searched.
    pub(super) fn open_search(&mut self, all: bool) {
        let open = self
            .patient
            .as_ref()
            .map(|v| (v.records.patient.id.clone(), v.records.patient.name.clone()));
        let kept = self.kept_search.take();
        if !all && open.is_none() && kept.is_none() {
            self.say_error(format!(
                "Choose a patient first; {} searches every patient",
                self.key_hint(KeyContext::Roster, Action::SearchAll)
            ));
            return;
        }
        let last_all = kept.as_ref().is_some_and(|k| k.scope == Scope::All);
        let scope = match open {
            Some((id, name)) if !all && !last_all => Scope::Patient { id, name },
            _ => Scope::All,
        };
        let mut p = SearchPopup {
            field: TextField::new(kept.as_ref().map_or("", |k| k.text.as_str())),
            scope,
            order: kept.as_ref().map_or(Order::Best, |k| k.order),
            outcome: Outcome::Empty,
            cursor: ListCursor::default(),
            // Back on a result further down than a typed query reads: all of them.
            limit: if kept
                .as_ref()
                .is_some_and(|k| k.selected + self.search_rows() >= FIRST)
            {
                LIMIT
            } else {
                FIRST
            },
        };
        p.run(
            self.store.as_ref(),
            &self.settings.time_zone,
            &self.roster.patients,
        );
        // The same search over the same records: back on the result left selected.
        if let Some(k) = kept.filter(|k| k.scope == p.scope) {
            let len = p.hits().len();
            p.cursor.select(k.selected, len, self.search_rows());
        }
        self.popup = Some(Popup::Search(p));
    }

    /// Results the popup shows at the current size.
    pub fn search_rows(&self) -> usize {
        crate::layout::search_result_rows(self.size)
    }

    /// After the query changed: search again.
    /// Runs the query again as it now is (typed, another scope or order): from its first
    /// results.
    pub(super) fn run_search(&mut self) {
        if let Some(Popup::Search(p)) = self.popup.as_mut() {
            p.limit = FIRST;
            p.run(
                self.store.as_ref(),
                &self.settings.time_zone,
                &self.roster.patients,
            );
        }
    }

    /// Keys the results take before the query field: Home and End go to the first and last
    /// result (the field's own start and end stay on Ctrl+A and Ctrl+E).
    pub(super) fn search_key(&mut self, key: KeyEvent) -> bool {
        let Some(action) = super::component::list_move(key) else {
            return false;
        };
        let height = self.search_rows();
        let moved = match self.popup.as_mut() {
            Some(Popup::Search(p)) => p.navigate(action, height),
            _ => false,
        };
        if moved {
            self.read_more_results(action);
        }
        moved
    }

    /// After a move near the end of the results read while typing: reads up to [`LIMIT`],
    /// keeping the selection (`<End>` goes on to the new last result).
    fn read_more_results(&mut self, action: Action) {
        let height = self.search_rows();
        let Some(Popup::Search(p)) = self.popup.as_mut() else {
            return;
        };
        if !p.wants_more(height) {
            return;
        }
        let cursor = p.cursor;
        p.limit = LIMIT;
        p.run(
            self.store.as_ref(),
            &self.settings.time_zone,
            &self.roster.patients,
        );
        p.cursor = cursor;
        if action == Action::MoveBottom {
            let len = p.hits().len();
            p.cursor.bottom(len, height);
        }
    }

    pub(super) fn update_search_popup(&mut self, action: Action) {
        let height = self.search_rows();
        let Some(Popup::Search(p)) = self.popup.as_mut() else {
            return;
        };
        match action {
            _ if p.navigate(action, height) => self.read_more_results(action),
            Action::FieldNext | Action::FieldPrev => self.switch_search_scope(),
            Action::SearchOrder => {
                p.order = p.order.next();
                self.run_search();
            }
            Action::PopupClose => {
                self.close_search();
            }
            Action::PopupConfirm => self.open_search_hit(),
            Action::Quit => self.request_quit(),
            other => self.say_error(format!("{} does nothing in the search", other.name())),
        }
    }

    /// This patient <-> all patients.
    fn switch_search_scope(&mut self) {
        let open = self
            .patient
            .as_ref()
            .map(|v| (v.records.patient.id.clone(), v.records.patient.name.clone()));
        let Some(Popup::Search(p)) = self.popup.as_mut() else {
            return;
        };
        p.scope = match (&p.scope, open) {
            (Scope::All, Some((id, name))) => Scope::Patient { id, name },
            (Scope::All, None) => {
                self.say_error("Choose a patient first to search only their records".into());
                return;
            }
            (Scope::Patient { .. }, _) => Scope::All,
        };
        self.run_search();
    }

    /// `n` and `N`: the next or previous result of the last search, opened as Enter on it
    /// would, without the popup; past the last it goes round to the first, and says so.
    pub(super) fn search_step(&mut self, delta: isize) {
        let Some(k) = self.kept_search.take() else {
            self.say_error(format!(
                "No search yet: {} searches this patient's records, {} everyone's",
                self.key_hint(KeyContext::Timeline, Action::SearchPatient),
                self.key_hint(KeyContext::Roster, Action::SearchAll)
            ));
            return;
        };
        let mut p = SearchPopup {
            field: TextField::new(&k.text),
            scope: k.scope.clone(),
            order: k.order,
            outcome: Outcome::Empty,
            cursor: ListCursor::default(),
            // n and N go through every result kept, as the popup shows them.
            limit: LIMIT,
        };
        p.run(
            self.store.as_ref(),
            &self.settings.time_zone,
            &self.roster.patients,
        );
        let len = p.hits().len();
        if len == 0 {
            self.kept_search = Some(k);
            self.say_error("The last search finds nothing now".into());
            return;
        }
        let target = k.selected as isize + delta;
        let wrapped = target < 0 || target >= len as isize;
        let next = target.rem_euclid(len as isize) as usize;
        p.cursor.select(next, len, self.search_rows());
        self.popup = Some(Popup::Search(p));
        self.open_search_hit();
        if wrapped && let Some(s) = self.status.as_mut() {
            s.text = format!(
                "{} (went round to the {})",
                s.text,
                if delta > 0 { "first" } else { "last" }
            );
        }
    }

    /// Closes the popup, keeping the query, scope and selection for next time.
    fn close_search(&mut self) -> Option<SearchPopup> {
        let Some(Popup::Search(p)) = self.popup.take() else {
            return None;
        };
        self.kept_search = Some(KeptSearch {
            text: p.field.text().to_string(),
            scope: p.scope.clone(),
            order: p.order,
            selected: p.cursor.selected,
        });
        Some(p)
    }

    /// Enter on a result: its patient opens with the entry selected in the timeline and shown
    /// in the detail pane, scrolled to the matched part, the query's words highlighted.
    fn open_search_hit(&mut self) {
        let chosen = match self.popup.as_ref() {
            Some(Popup::Search(p)) => match &p.outcome {
                Outcome::Found(f) => f
                    .results
                    .hits
                    .get(p.cursor.selected)
                    .map(|h| (h.clone(), f.clauses.clone(), f.results.total)),
                Outcome::Invalid(e) => {
                    let e = e.to_string();
                    self.say_error(format!("The query cannot be read: {e}"));
                    return;
                }
                Outcome::Empty | Outcome::Failed(_) => None,
            },
            _ => return,
        };
        let Some((hit, clauses, total)) = chosen else {
            self.say_error("No result to open".into());
            return;
        };
        let selected = self.close_search().map_or(0, |p| p.cursor.selected);
        let Ok(record) = RecordId::parse(&hit.record) else {
            self.say_error(format!(
                "The result's record id {:?} is not valid",
                hit.record
            ));
            return;
        };
        self.view = None;
        self.show_record(&hit.patient, &record);
        if !self.patient_is(&hit.patient) {
            self.say_error("That patient is no longer in the store".into());
            return;
        }
        let h = self.list_height(Pane::Timeline);
        let Some(v) = self.patient.as_mut() else {
            return;
        };
        let Some(i) = v
            .entries
            .iter()
            .position(|e| is_entry_of(e, &record, hit.kind, hit.part))
        else {
            self.say_error(format!("\"{}\" is no longer in the store", hit.title));
            return;
        };
        v.cursor.select(i, v.entries.len(), h);
        v.detail_scroll = 0;
        v.found = Some(FoundEntry {
            record,
            check_in: v.entries[i].check_in,
            clauses,
        });
        self.focus = Pane::Detail;
        self.scroll_to_part(&hit);
        self.say(format!(
            "Result {} of {total}: {}; {} goes back to the results",
            selected + 1,
            hit.title,
            self.key_hint(KeyContext::Detail, Action::SearchPatient)
        ));
    }

    /// Scrolls the detail pane so the hit's part (an observation, a check-in, the first
    /// matched line of a note) is on screen.
    fn scroll_to_part(&mut self, hit: &Hit) {
        let doc = self.detail_document();
        let Some(v) = self.patient.as_ref() else {
            return;
        };
        let Some(found) = &v.found else {
            return;
        };
        let part_text = match hit.kind {
            DocKind::Observation => v
                .records
                .sessions
                .iter()
                .find(|s| s.id == found.record)
                .and_then(|s| s.observations.get(hit.part as usize))
                .map(|o| o.text.clone()),
            DocKind::CheckIn => v
                .records
                .goals
                .iter()
                .find(|g| g.id == found.record)
                .and_then(|g| g.check_ins.get((hit.part as usize).checked_sub(1)?))
                .map(|c| c.note.clone()),
            _ => None,
        };
        let has = |line: &super::detail::DetailLine, pred: &dyn Fn(&str) -> bool| {
            line.iter().any(|(_, s)| pred(s))
        };
        let target = match part_text.filter(|t| !t.trim().is_empty()) {
            Some(t) => doc.iter().position(|l| has(l, &|s| s.contains(t.trim()))),
            // A note: the first matched line after the title.
            None => doc
                .iter()
                .skip(1)
                .position(|l| has(l, &|s| !found_in(s, &found.clauses).is_empty()))
                .map(|i| i + 1),
        };
        let Some(target) = target else {
            return;
        };
        let screen = crate::layout::Screen::new(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            Pane::Detail,
        );
        let Some(pane) = screen.pane(Pane::Detail) else {
            return;
        };
        let (width, height) = (
            pane.width.saturating_sub(2).max(1) as usize,
            pane.height.saturating_sub(2) as usize,
        );
        // Rows the lines up to the target take once wrapped (at least; words wrap early).
        let rows: usize = doc[..=target]
            .iter()
            .map(|l| {
                let chars: usize = l.iter().map(|(_, s)| s.chars().count()).sum();
                chars.div_ceil(width).max(1)
            })
            .sum();
        if rows + 1 > height
            && let Some(v) = self.patient.as_mut()
        {
            // Keep a line of what comes before it (the heading, the previous observation).
            v.detail_scroll = target.saturating_sub(1);
        }
    }

    /// The query's clauses while the entry a search result opened is still selected.
    pub fn detail_found(&self) -> Option<&[Clause]> {
        let v = self.patient.as_ref()?;
        let f = v.found.as_ref()?;
        let e = v.selected()?;
        (e.record == f.record && e.check_in == f.check_in).then_some(f.clauses.as_slice())
    }
}

/// Search: typing searches at once (`App::after_typing` runs it); every action goes to
/// `App::update_search_popup`, which knows the list's height and the store.
impl super::component::Component for SearchPopup {
    fn mode(&self) -> &'static str {
        "SEARCH"
    }
    fn hints(&self) -> &'static [Action] {
        &[
            Action::PopupConfirm,
            Action::PopupClose,
            Action::FieldNext,
            Action::MoveDown,
            Action::MoveUp,
        ]
    }
    fn hint_word(&self, action: Action) -> Option<&'static str> {
        match action {
            Action::PopupConfirm => Some("open"),
            Action::FieldNext => Some("this patient / all"),
            _ => None,
        }
    }
    fn field(&mut self) -> Option<&mut TextField> {
        Some(&mut self.field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_being_typed_is_a_prefix_until_a_space_follows() {
        assert_eq!(as_typed("fath"), "fath*");
        assert_eq!(as_typed("sleep fath"), "sleep fath*");
        assert_eq!(as_typed("father "), "father ");
        assert_eq!(as_typed("fath*"), "fath*");
        // Left as typed: exclusions, phrases (open or closed), filters, punctuation.
        assert_eq!(as_typed("sleep -alc"), "sleep -alc");
        assert_eq!(as_typed("\"first sess"), "\"first sess");
        assert_eq!(as_typed("\"first session\""), "\"first session\"");
        assert_eq!(as_typed("sleep kind:goal"), "sleep kind:goal");
        assert_eq!(as_typed("sleep Since:2026"), "sleep Since:2026");
        assert_eq!(as_typed("sleep ..."), "sleep ...");
        assert_eq!(as_typed("sleep f"), "sleep f*");
        assert_eq!(as_typed(""), "");
        // A time is words, not a filter.
        assert_eq!(as_typed("10:30"), "10:30*");
    }

    #[test]
    fn found_in_marks_words_prefixes_and_whole_phrases() {
        let text = "Her Father's visit; fathers, a first session.";
        let marked = |clauses: &[Clause]| -> Vec<&str> {
            found_in(text, clauses)
                .into_iter()
                .map(|r| &text[r])
                .collect()
        };
        assert_eq!(marked(&[Clause::Word("father".into())]), ["Father"]);
        assert_eq!(
            marked(&[Clause::Prefix("fath".into())]),
            ["Father", "fathers"]
        );
        assert_eq!(
            marked(&[Clause::Phrase(vec!["first".into(), "session".into()])]),
            ["first", "session"]
        );
        assert!(marked(&[Clause::Phrase(vec!["session".into(), "first".into()])]).is_empty());
    }
}
