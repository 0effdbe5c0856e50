//! Full-text search as a user of the store and the command line sees it: exact counts on a
//! corpus built with known word counts; phrases, prefixes, exclusions and every filter; results
//! that stay right after notes, sessions and goals are edited or deleted; `check` proving index
//! and records agree, and `check --reindex` repairing it.

use crate::common::*;
use kitnotes::model::*;
use kitnotes::search::{DocKind, DocStatus, Filter, Query, Results};
use kitnotes::store::sled_store::{SledStore, raw_db};
use kitnotes::store::{Change, Store};
use proptest::prelude::*;

fn patient(id: &str) -> Change {
    Change::Put(Record::Patient(Patient::new(
        pid(id),
        format!("Patient {id}"),
    )))
}

fn note(id: &str, p: &str, day: u32, kind: NoteKind, body: &str) -> Note {
    Note::draft(
        rid(id),
        pid(p),
        kind,
        ts(&format!("2026-03-{day:02}T10:00:00Z")),
        format!("Note {id}"),
        vec![Section::new("Experience", body)],
    )
}

fn put(n: &Note) -> Change {
    Change::Put(Record::Note(n.clone()))
}

fn find_in(store: &impl Store, text: &str, filter: Filter) -> Results {
    let q = Query::parse(text, filter, &jiff::tz::TimeZone::UTC).unwrap();
    store.search(&q, 10_000).unwrap()
}

fn find(store: &impl Store, text: &str) -> Results {
    find_in(
        store,
        text,
        Filter {
            include_private: true,
            ..Filter::default()
        },
    )
}

fn count(store: &impl Store, text: &str) -> usize {
    let r = find(store, text);
    assert_eq!(r.hits.len(), r.total, "{text}: every match fits the limit");
    r.total
}

fn ids(r: &Results) -> Vec<String> {
    let mut v: Vec<String> = r.hits.iter().map(|h| h.record.clone()).collect();
    v.sort();
    v
}

fn assert_agrees(store: &SledStore) {
    let report = store.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// 120 notes over 3 patients; note i holds "alpha" when i % 3 == 0, "beta" when i % 5 == 0,
/// "gamma" when i % 7 == 0, the phrase "quiet harbour" when i % 4 == 0, and "harbour ... quiet"
/// (both words, not the phrase) when i % 4 == 1. Case and accents vary.
fn corpus(store: &SledStore) -> Vec<Note> {
    let mut changes = vec![patient("p1"), patient("p2"), patient("p3")];
    let mut notes = Vec::new();
    for i in 0..120u32 {
        let mut words = vec!["Session".to_owned()];
        if i % 3 == 0 {
            words.push(["alpha", "ALPHA", "Álpha"][(i as usize / 3) % 3].to_owned());
        }
        if i % 5 == 0 {
            words.push("beta".into());
        }
        if i % 7 == 0 {
            words.push("Gamma,".into());
        }
        match i % 4 {
            0 => words.push("a quiet harbour".into()),
            1 => words.push("harbour then quiet".into()),
            _ => {}
        }
        if i % 6 == 0 {
            words.push("harbours harbor".into());
        }
        let kind = [
            NoteKind::Preparation,
            NoteKind::Integration,
            NoteKind::Session,
        ][(i % 3) as usize];
        let n = note(
            &format!("n{i:03}"),
            ["p1", "p2", "p3"][(i % 3) as usize],
            1 + i % 28,
            kind,
            &words.join(" "),
        );
        changes.push(put(&n));
        notes.push(n);
    }
    store.apply(&changes).unwrap();
    notes
}

fn expected(pred: impl Fn(u32) -> bool) -> usize {
    (0..120u32).filter(|i| pred(*i)).count()
}

#[test]
fn a_corpus_with_known_word_counts_returns_exactly_those_counts() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    corpus(&s);
    assert_eq!(count(&s, "alpha"), expected(|i| i % 3 == 0));
    assert_eq!(count(&s, "Alpha"), 40, "case does not matter");
    assert_eq!(count(&s, "álphá"), 40, "accents do not matter");
    assert_eq!(count(&s, "beta"), expected(|i| i % 5 == 0));
    assert_eq!(count(&s, "gamma"), expected(|i| i % 7 == 0));
    assert_eq!(count(&s, "session"), 120);
    assert_eq!(
        count(&s, "alpha beta"),
        expected(|i| i % 15 == 0),
        "AND by default"
    );
    assert_eq!(count(&s, "alpha beta gamma"), expected(|i| i % 105 == 0));
    assert_eq!(count(&s, "nowhere"), 0);
    assert_eq!(count(&s, "alpha nowhere"), 0);
    assert_agrees(&s);
}

#[test]
fn phrases_need_the_words_together_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    corpus(&s);
    assert_eq!(count(&s, "\"quiet harbour\""), expected(|i| i % 4 == 0));
    assert_eq!(count(&s, "quiet harbour"), expected(|i| i % 4 <= 1));
    assert_eq!(count(&s, "\"harbour quiet\""), 0);
    assert_eq!(
        count(&s, "\"harbour then quiet\""),
        expected(|i| i % 4 == 1)
    );
    // A phrase never runs from the title into the body: "n000 experience" would.
    assert_eq!(count(&s, "\"n000 experience\""), 0);
    assert_eq!(count(&s, "\"note n000\""), 1);
    let r = find(&s, "\"quiet harbour\" beta");
    assert_eq!(r.total, expected(|i| i % 20 == 0));
    let hit = &r.hits[0];
    let marked: Vec<&str> = hit
        .snippet
        .highlights
        .iter()
        .map(|h| &hit.snippet.text[h.clone()])
        .collect();
    assert_eq!(marked, ["beta", "quiet", "harbour"], "{:?}", hit.snippet);
}

#[test]
fn prefixes_match_every_word_that_starts_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    corpus(&s);
    // harbour (i % 4 <= 1), harbours and harbor (i % 6 == 0).
    assert_eq!(count(&s, "harb*"), expected(|i| i % 4 <= 1 || i % 6 == 0));
    assert_eq!(count(&s, "harbours*"), expected(|i| i % 6 == 0));
    assert_eq!(count(&s, "harbo*"), count(&s, "harb*"));
    assert_eq!(count(&s, "alp* bet*"), expected(|i| i % 15 == 0));
    assert_eq!(count(&s, "zz*"), 0);
}

#[test]
fn exclusions_leave_out_words_phrases_and_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    corpus(&s);
    assert_eq!(
        count(&s, "alpha -beta"),
        expected(|i| i % 3 == 0 && i % 5 != 0)
    );
    assert_eq!(
        count(&s, "session -\"quiet harbour\""),
        expected(|i| i % 4 != 0)
    );
    assert_eq!(
        count(&s, "session -harb*"),
        expected(|i| !(i % 4 <= 1 || i % 6 == 0))
    );
    assert_eq!(count(&s, "alpha -alpha"), 0);
}

#[test]
fn filters_by_patient_kind_status_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let mut notes = corpus(&s);
    let tz = jiff::tz::TimeZone::UTC;
    let by = |f: Filter| find_in(&s, "session", f).total;
    assert_eq!(
        by(Filter {
            patient: Some(pid("p2")),
            ..Filter::default()
        }),
        40
    );
    assert_eq!(
        by(Filter {
            patient: Some(pid("nobody")),
            ..Filter::default()
        }),
        0
    );
    assert_eq!(
        by(Filter {
            kinds: vec![DocKind::Note(NoteKind::Integration)],
            ..Filter::default()
        }),
        40
    );
    // Day d holds notes i with 1 + i % 28 == d.
    let mut f = Filter::default();
    f.since_date(jiff::civil::date(2026, 3, 5), &tz);
    f.until_date(jiff::civil::date(2026, 3, 6), &tz);
    assert_eq!(by(f), expected(|i| (4..=5).contains(&(i % 28))));
    // In the text too, ANDed with the flags' filter.
    let inline = find_in(
        &s,
        "session since:2026-03-05 until:2026-03-06 patient:p1",
        Filter::default(),
    );
    assert_eq!(
        inline.total,
        expected(|i| (4..=5).contains(&(i % 28)) && i % 3 == 0)
    );
    // Status: sign two notes.
    let clinician = "Dr Test";
    for n in notes.iter_mut().take(2) {
        n.sign(clinician, ts("2026-03-29T10:00:00Z"), &[]).unwrap();
    }
    s.apply(&[put(&notes[0]), put(&notes[1])]).unwrap();
    let signed = find_in(
        &s,
        "session",
        Filter {
            statuses: vec![DocStatus::Signed],
            ..Filter::default()
        },
    );
    assert_eq!(ids(&signed), ["n000", "n001"]);
    assert_eq!(
        find_in(&s, "session status:draft", Filter::default()).total,
        118
    );
    assert_agrees(&s);
}

#[test]
fn psychotherapy_notes_are_found_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    s.apply(&[
        patient("p1"),
        put(&note(
            "n1",
            "p1",
            1,
            NoteKind::Psychotherapy,
            "her father, privately",
        )),
        put(&note(
            "n2",
            "p1",
            2,
            NoteKind::Integration,
            "her father visited",
        )),
    ])
    .unwrap();
    let plain = find_in(&s, "father", Filter::default());
    assert_eq!(ids(&plain), ["n2"]);
    assert_eq!(plain.private_hidden, 1);
    assert_eq!(ids(&find(&s, "father")), ["n1", "n2"]);
}

#[test]
fn results_stay_right_after_edits_deletes_and_new_observations_and_check_ins() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let mut n = note(
        "n1",
        "p1",
        1,
        NoteKind::Integration,
        "walked by the harbour",
    );
    s.apply(&[patient("p1"), put(&n)]).unwrap();
    assert_eq!(count(&s, "harbour"), 1);
    // Edit the draft: the old word goes, the new one comes.
    n.set_section_body(0, "walked in the forest").unwrap();
    s.apply(&[put(&n)]).unwrap();
    assert_eq!(count(&s, "harbour"), 0);
    assert_eq!(count(&s, "forest"), 1);
    assert_eq!(count(&s, "walked"), 1);
    assert_agrees(&s);

    // A dosing session: each observation is its own entry, found as it is added.
    let mut session = DosingSession::new(
        rid("s1"),
        pid("p1"),
        ts("2026-03-02T10:00:00Z"),
        "ketamine",
        Route::Im,
    );
    session.observations.push(Observation {
        at: ts("2026-03-02T10:05:00Z"),
        text: "Calm, eyes closed".into(),
        adverse: false,
    });
    s.put(Record::Session(session.clone())).unwrap();
    session.observations.push(Observation {
        at: ts("2026-03-02T10:20:00Z"),
        text: "Spoke about the forest".into(),
        adverse: false,
    });
    s.put(Record::Session(session.clone())).unwrap();
    let r = find(&s, "forest");
    assert_eq!(r.total, 2);
    let obs = r.hits.iter().find(|h| h.record == "s1").unwrap();
    assert_eq!((obs.kind, obs.part), (DocKind::Observation, 1));
    assert_eq!(obs.at, ts("2026-03-02T10:20:00Z"));

    // A goal and its check-ins.
    let mut goal = IntegrationGoal {
        id: rid("g1"),
        patient: pid("p1"),
        at: ts("2026-03-03T10:00:00Z"),
        title: "Walk in the forest weekly".into(),
        domain: LifeDomain::Health,
        status: GoalStatus::Active,
        target_date: None,
        source_note: None,
        sessions: vec![],
        check_ins: vec![],
    };
    s.put(Record::Goal(goal.clone())).unwrap();
    goal.check_ins.push(CheckIn {
        at: ts("2026-03-10T10:00:00Z"),
        progress: 4,
        note: "Twice this week, once with her sister".into(),
        integration_note: None,
    });
    s.put(Record::Goal(goal.clone())).unwrap();
    let r = find(&s, "sister");
    assert_eq!(r.hits.len(), 1);
    assert_eq!(
        (r.hits[0].kind, r.hits[0].part, r.hits[0].title.as_str()),
        (DocKind::CheckIn, 1, "Walk in the forest weekly")
    );
    assert_eq!(count(&s, "forest"), 3);
    goal.status = GoalStatus::Achieved;
    s.put(Record::Goal(goal.clone())).unwrap();
    let achieved = find_in(&s, "forest status:achieved", Filter::default());
    assert_eq!(achieved.total, 1, "the goal itself: {achieved:?}");
    assert_agrees(&s);

    // Deleting takes every part out.
    s.apply(&[Change::Delete("n1".into()), Change::Delete("s1".into())])
        .unwrap();
    assert_eq!(count(&s, "forest"), 1);
    assert_eq!(count(&s, "walked"), 0);
    assert_eq!(count(&s, "calm"), 0);
    // Put then delete in one write, and a note written twice in one write.
    let a = note("n2", "p1", 4, NoteKind::Integration, "first version");
    let mut b = a.clone();
    b.set_section_body(0, "second version").unwrap();
    s.apply(&[put(&a), put(&b)]).unwrap();
    assert_eq!(count(&s, "first"), 0);
    assert_eq!(count(&s, "second"), 1);
    s.apply(&[
        put(&note("n3", "p1", 5, NoteKind::Integration, "brief")),
        Change::Delete("n3".into()),
    ])
    .unwrap();
    assert_eq!(count(&s, "brief"), 0);
    assert_agrees(&s);
}

#[test]
fn a_word_said_more_often_ranks_higher_and_ties_go_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    s.apply(&[
        patient("p1"),
        put(&note(
            "once",
            "p1",
            3,
            NoteKind::Integration,
            "sleep came late and work was busy",
        )),
        put(&note(
            "often",
            "p1",
            1,
            NoteKind::Integration,
            "sleep sleep sleep, better sleep",
        )),
        put(&note(
            "older",
            "p1",
            2,
            NoteKind::Integration,
            "sleep came late and work was busy",
        )),
    ])
    .unwrap();
    let r = find(&s, "sleep");
    let order: Vec<&str> = r.hits.iter().map(|h| h.record.as_str()).collect();
    assert_eq!(order, ["often", "once", "older"]);
    let limited = s
        .search(
            &Query::parse("sleep", Filter::default(), &jiff::tz::TimeZone::UTC).unwrap(),
            1,
        )
        .unwrap();
    assert_eq!((limited.hits.len(), limited.total), (1, 3));
}

#[test]
fn check_finds_a_damaged_index_and_reindex_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    corpus(&s);
    let db = raw_db(&s);
    let victim = db.scan_prefix(b"X\0beta\0").keys().next().unwrap().unwrap();
    db.remove(victim).unwrap();
    let report = s.check().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("search index: the words indexed for note")),
        "{:?}",
        report.problems
    );
    assert_eq!(count(&s, "beta"), 0, "the damaged index really lost it");
    assert_eq!(s.reindex().unwrap(), 120);
    assert_agrees(&s);
    assert_eq!(count(&s, "beta"), 24);
}

#[test]
fn a_store_from_before_search_is_indexed_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    {
        // Schema 1 (no migrations known): no index is kept.
        let old = SledStore::open_with(dir.path(), &[]).unwrap();
        old.apply(&[
            patient("p1"),
            put(&note(
                "n1",
                "p1",
                1,
                NoteKind::Integration,
                "by the harbour",
            )),
        ])
        .unwrap();
        old.flush().unwrap();
        assert!(raw_db(&old).get(b"M\0search").unwrap().is_none());
    }
    let s = SledStore::open(dir.path()).unwrap();
    // Both migrations ran: the search index (schema 2), then the agenda index (schema 3).
    assert_eq!(s.schema_version().unwrap(), Some(3));
    assert_eq!(count(&s, "harbour"), 1);
    assert_agrees(&s);
    assert!(
        raw_db(&s).get(b"G\0p1").unwrap().is_some(),
        "p1's agenda is built"
    );
    assert!(s.check().unwrap().is_ok());
}

const VOCAB: [&str; 6] = ["calm", "father", "sleep", "water", "anger", "light"];

#[derive(Debug, Clone)]
enum Op {
    Put { id: u8, words: Vec<u8> },
    Delete { id: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..8, prop::collection::vec(0u8..6, 0..6))
            .prop_map(|(id, words)| Op::Put { id, words }),
        1 => (0u8..8).prop_map(|id| Op::Delete { id }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any sequence of writes and deletes, some several to a write: every word's count is what
    /// a plain scan of the notes says, and check finds index and records in agreement.
    #[test]
    fn counts_match_a_plain_scan_after_any_edits(batches in prop::collection::vec(prop::collection::vec(op(), 1..4), 1..10)) {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        s.apply(&[patient("p1")]).unwrap();
        let mut live: std::collections::BTreeMap<u8, Vec<u8>> = Default::default();
        for batch in batches {
            let mut changes = Vec::new();
            let mut after = live.clone();
            for op in batch {
                match op {
                    Op::Put { id, words } => {
                        let body: Vec<&str> = words.iter().map(|w| VOCAB[*w as usize]).collect();
                        changes.push(put(&note(&format!("n{id}"), "p1", 1 + u32::from(id), NoteKind::Integration, &body.join(" "))));
                        after.insert(id, words);
                    }
                    Op::Delete { id } => {
                        if after.remove(&id).is_some() {
                            changes.push(Change::Delete(format!("n{id}")));
                        }
                    }
                }
            }
            s.apply(&changes).unwrap();
            live = after;
        }
        for (w, word) in VOCAB.iter().enumerate() {
            let want = live.values().filter(|ws| ws.contains(&(w as u8))).count();
            prop_assert_eq!(count(&s, word), want, "{}", word);
        }
        prop_assert_eq!(count(&s, "experience"), live.len());
        let report = s.check().unwrap();
        prop_assert!(report.is_ok(), "{:?}", report.problems);
    }
}

#[test]
fn the_command_line_prints_one_hit_per_line_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    {
        let s = SledStore::open(&data.join("store")).unwrap();
        corpus(&s);
        s.apply(&[put(&note(
            "priv",
            "p1",
            9,
            NoteKind::Psychotherapy,
            "beta privately",
        ))])
        .unwrap();
        s.flush().unwrap();
    }
    let out = kitnotes(
        data,
        &[
            "search",
            "\"quiet harbour\"",
            "beta",
            "--patient",
            "p1",
            "--limit",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    // i % 60 == 0 and i % 3 == 0 (p1): n000 (day 1) and n060 (day 5); newest first on a tie.
    assert!(
        lines[0].starts_with("p1  Patient p1  2026-03-05  preparation  Note n060  "),
        "{stdout}"
    );
    assert!(lines[0].contains("a quiet harbour"), "{stdout}");
    assert!(
        text(&out.stderr).starts_with("2 matches"),
        "{}",
        text(&out.stderr)
    );

    let out = kitnotes(
        data,
        &["search", "beta", "--kind", "note", "--json", "--limit", "1"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"], 24);
    assert_eq!(json["private_hidden"], 1);
    let hit = &json["hits"][0];
    let snippet = hit["snippet"].as_str().unwrap();
    let range = hit["highlights"][0].as_array().unwrap();
    let (a, b) = (
        range[0].as_u64().unwrap() as usize,
        range[1].as_u64().unwrap() as usize,
    );
    assert_eq!(&snippet[a..b], "beta");
    let out = kitnotes(data, &["search", "beta", "--include-private", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"], 25);

    let out = kitnotes(data, &["search", "\"quiet harbour"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("column 1") && err.contains("never closed"),
        "{err}"
    );
    let out = kitnotes(data, &["search", "beta", "--kind", "vitals"]);
    assert!(
        text(&out.stderr).contains("--kind vitals: kinds are"),
        "{}",
        text(&out.stderr)
    );

    let out = kitnotes(data, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = kitnotes(data, &["check", "--reindex"]);
    assert!(
        text(&out.stdout).contains("Search index rebuilt: 121 entries"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_large_import_is_indexed_in_the_same_write_a_group_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let mut changes = vec![patient("p1")];
    // More records than one index group (2,048), so the index is written group by group.
    for i in 0..5_000u32 {
        let body = if i % 10 == 0 {
            "river stones"
        } else {
            "field notes"
        };
        changes.push(put(&note(
            &format!("n{i:04}"),
            "p1",
            1 + i % 28,
            NoteKind::Integration,
            body,
        )));
    }
    s.apply(&changes).unwrap();
    assert_eq!(find(&s, "river").total, 500);
    assert_eq!(find(&s, "\"field notes\"").total, 4_500);
    assert_agrees(&s);
    // Edits in the middle of long postings: segments are rewritten, split and re-keyed.
    let edit = |i: u32, body: &str| {
        put(&note(
            &format!("n{i:04}"),
            "p1",
            1 + i % 28,
            NoteKind::Integration,
            body,
        ))
    };
    s.apply(&[
        edit(100, "field notes"),
        edit(101, "river stones and field notes"),
        edit(0, "field notes"),
        Change::Delete("n2000".into()),
        Change::Delete("n2001".into()),
    ])
    .unwrap();
    assert_eq!(find(&s, "river").total, 498);
    assert_eq!(find(&s, "\"field notes\"").total, 4_501);
    assert_agrees(&s);
    // A large change that is refused leaves the index as it was.
    let mut bad = changes[1..].to_vec();
    bad.push(Change::Delete("missing".into()));
    assert!(s.apply(&bad).is_err());
    assert_eq!(find(&s, "river").total, 498);
    assert_agrees(&s);
}

/// While the query is typed (`Filter::typing`), a prefix in one patient's records stands for
/// its shortest words only, so a first letter answers at once; the search run when the word is
/// complete, and the command line's, find every word.
#[test]
fn a_prefix_typed_in_one_patient_stands_for_its_shortest_words() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let mut changes = vec![patient("p1"), patient("p2")];
    // Note i holds one word: "s" and i + 1 letters "x" (30 words, each longer than the last).
    for i in 0..30u32 {
        let word = format!("s{}", "x".repeat(i as usize + 1));
        changes.push(put(&note(
            &format!("n{i}"),
            "p1",
            1 + i % 28,
            NoteKind::Integration,
            &word,
        )));
    }
    s.apply(&changes).unwrap();
    let one_patient = |typing| Filter {
        patient: Some(pid("p1")),
        include_private: true,
        typing,
        ..Filter::default()
    };
    let typed = find_in(&s, "s*", one_patient(true));
    let words = kitnotes::search::query::PATIENT_PREFIX_WORDS;
    assert_eq!(typed.total, words);
    let expected: std::collections::BTreeSet<String> =
        (0..words).map(|i| format!("n{i}")).collect();
    assert_eq!(
        ids(&typed)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    assert_eq!(find_in(&s, "s*", one_patient(false)).total, 30);
    // The longest word, typed whole, is found while typing too.
    let whole = format!("s{}", "x".repeat(30));
    assert_eq!(ids(&find_in(&s, &whole, one_patient(true))), vec!["n29"]);
    assert_agrees(&s);
}
