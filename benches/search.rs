//! Benchmarks of search and start-up on the 1,000 x 100 demo (100,000 notes): searches of a
//! rare word, a lot number, a common word, a phrase, a prefix and one patient's entries (limit
//! 20, the command line's default), opening the store to the first drawn frame, and importing
//! 10,000 notes. Run with `cargo bench --bench search`; `benches/compare.sh` runs it after the
//! side-by-side with ripgrep, and docs/PERFORMANCE.md has the figures.
//!
//! Before divan's table, the run prints the words it searches for with how many entries each
//! matches, and the p50 / p95 / max of every search over many runs (divan reports medians only).
//! `KITNOTES_BENCH_P95=0` leaves that part out.
//!
//! The demo store takes about a minute to build, so it is kept in
//! `<target>/tmp/bench-data/demo` (or `$KITNOTES_BENCH_DATA_DIR/demo`) with the spec it was
//! built from in `demo-spec.json`, the file `kitnotes demo` writes: a store built by
//! `KITNOTES_DATA_DIR=<target>/tmp/bench-data kitnotes demo --no-ui --patients 1000
//! --notes-per-patient 100 --seed 42 --anchor 2026-11-01` is reused here and the other way round.
//! A store with another spec is built again.
//!
//! `KITNOTES_BENCH_ENCRYPTED=1` runs everything on an encrypted store instead (the clinic's
//! kind: sealed values, hashed keys; kept in `demo-encrypted`, passphrase `bench passphrase`):
//! every open then includes unlocking, Argon2id and all, and imports write sealed values.

use kitnotes::app::{App, AppSettings};
use kitnotes::clock::{FixedClock, IdSource};
use kitnotes::demo::DemoSpec;
use kitnotes::keymap::{Keymap, Preset};
use kitnotes::model::PatientId;
use kitnotes::search::{Filter, Query};
use kitnotes::store::{Actor, SledStore, Store};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const PATIENTS: u32 = 1_000;
const NOTES_PER_PATIENT: u32 = 100;
const SEED: u64 = 42;
/// The CLI's default `--limit`.
const LIMIT: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    if !listing && std::env::var("KITNOTES_BENCH_P95").as_deref() != Ok("0") {
        report_words_and_percentiles();
        report_typing();
        report_key_sizes();
    }
    divan::main();
}

fn anchor() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 1)
}

fn spec(patients: u32, notes: u32) -> DemoSpec {
    let mut s = DemoSpec::new(anchor());
    s.patients = patients;
    s.notes_per_patient = notes;
    s.seed = SEED;
    s
}

// ---------------------------------------------------------------------------------------------
// The cached demo store

/// Whether this run is on encrypted stores (`KITNOTES_BENCH_ENCRYPTED=1`).
fn encrypted() -> bool {
    std::env::var("KITNOTES_BENCH_ENCRYPTED").as_deref() == Ok("1")
}

const PASSPHRASE: &[u8] = b"bench passphrase";

/// Opens a bench store, unlocking it when it is encrypted: what a user waits for.
fn open_bench(dir: &Path) -> SledStore {
    let store = SledStore::open(dir).expect("open the bench store");
    store.unlock(PASSPHRASE).expect("unlock the bench store");
    store
}

/// A new bench store in `dir`: encrypted or plain, as the run asks.
fn create_bench(dir: &Path) -> SledStore {
    if encrypted() {
        SledStore::create_encrypted(dir, PASSPHRASE, kitnotes::store::crypt::KdfParams::DEFAULT)
            .expect("create the encrypted bench store")
    } else {
        SledStore::open(dir).expect("create the bench store")
    }
}

/// The 1,000 x 100 demo store's directory, built on first use if no store of that spec is there.
fn store_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let data = std::env::var_os("KITNOTES_BENCH_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data"));
        let dir = data.join(if encrypted() {
            "demo-encrypted"
        } else {
            "demo"
        });
        // The fields and format of `kitnotes demo`'s demo-spec.json, written only once the build
        // is complete, so a half-built store is never taken for a whole one.
        let wanted = serde_json::json!({
            "patients": PATIENTS,
            "notes_per_patient": NOTES_PER_PATIENT,
            "seed": SEED,
            "anchor": anchor().to_string(),
        });
        let built: Option<serde_json::Value> = std::fs::read_to_string(dir.join("demo-spec.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if built.as_ref() == Some(&wanted) {
            eprintln!("Reusing the demo store at {}", dir.display());
            return dir;
        }
        remove_old_store(&dir);
        eprintln!(
            "Building the {PATIENTS} x {NOTES_PER_PATIENT} demo store at {} (once; about a minute \
             or more)",
            dir.display()
        );
        let started = Instant::now();
        let store = create_bench(&dir);
        let actor = Actor::new("bench", jiff::Timestamp::UNIX_EPOCH);
        kitnotes::demo::build(
            &store,
            &spec(PATIENTS, NOTES_PER_PATIENT),
            &actor,
            &mut |_| {},
        )
        .expect("build the demo");
        drop(store);
        let text = serde_json::to_string_pretty(&wanted).expect("spec as JSON");
        std::fs::write(dir.join("demo-spec.json"), text).expect("write demo-spec.json");
        eprintln!("Built in {:.1} s", started.elapsed().as_secs_f64());
        dir
    })
}

/// Removes a store of another spec (or a half-built one), but only a directory that holds
/// nothing but a kitnotes store: a mistaken path must never lose anything else.
fn remove_old_store(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = ["db", "kitnotes.lock", "demo-spec.json"];
    for e in entries.flatten() {
        let name = e.file_name();
        assert!(
            ours.contains(&name.to_string_lossy().as_ref()),
            "{} holds {}, which is not a kitnotes store; not removing it",
            dir.display(),
            e.path().display()
        );
    }
    std::fs::remove_dir_all(dir).expect("remove the old bench store");
}

/// The store, open, shared by the search benchmarks. The start-up benchmark takes it out
/// (a store is opened by one owner at a time); the next search opens it again.
static OPEN: Mutex<Option<SledStore>> = Mutex::new(None);

fn with_store<R>(f: impl FnOnce(&SledStore) -> R) -> R {
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    let store = open.get_or_insert_with(|| open_bench(store_dir()));
    f(store)
}

fn close_store() {
    OPEN.lock().unwrap_or_else(|e| e.into_inner()).take();
}

// ---------------------------------------------------------------------------------------------
// What is searched for

/// Uncommon words of the demo's phrase banks (src/demo/text.rs). The demo's prose is made of a
/// few hundred templates, so even its rarest words are in dozens of entries; the rarest of these
/// in the store is the "rare word".
const RARE_CANDIDATES: &[&str] = &[
    "sinus",
    "ecg",
    "benzodiazepine",
    "borderline",
    "melatonin",
    "aripiprazole",
    "lamotrigine",
    "propranolol",
    "breastfeeding",
    "vortioxetine",
];

/// One benchmarked search.
struct Case {
    name: &'static str,
    text: String,
    patient: Option<&'static str>,
}

impl Case {
    fn query(&self) -> Query {
        let filter = Filter {
            patient: self
                .patient
                .map(|p| PatientId::parse(p).expect("patient id")),
            ..Filter::default()
        };
        Query::parse(&self.text, filter, &jiff::tz::TimeZone::UTC).expect("query")
    }

    fn total(&self, store: &SledStore) -> usize {
        store.search(&self.query(), LIMIT).expect("search").total
    }
}

/// The searches, found in the store once: the rarest candidate word, and the lot number of a
/// patient's first dosing session (a lot is in a handful of entries: its session notes).
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        with_store(|store| {
            let rare = RARE_CANDIDATES
                .iter()
                .map(|w| {
                    let c = Case {
                        name: "",
                        text: (*w).to_owned(),
                        patient: None,
                    };
                    (c.total(store), *w)
                })
                .filter(|(n, _)| *n > 0)
                // The first of the rarest, as benches/compare.sh picks it.
                .min_by_key(|(n, _)| *n)
                .map(|(_, w)| w.to_owned())
                .expect("a candidate rare word is in the store");
            let p = PatientId::parse("p0500").expect("id");
            let lot = store
                .patient_records(&p)
                .expect("read p0500")
                .and_then(|r| r.sessions.iter().find_map(|s| s.lot.clone()))
                .expect("p0500 has a session with a lot number");
            let case = |name, text: &str, patient| Case {
                name,
                text: text.to_owned(),
                patient,
            };
            vec![
                case("lot number", &lot, None),
                case("rare word", &rare, None),
                case("common word", "sleep", None),
                case("very common word", "session", None),
                case("phrase", "\"first session\"", None),
                case("phrase of common words", "\"sense of\"", None),
                case("prefix", "fath*", None),
                case("one patient", "sleep", Some("p0500")),
            ]
        })
    })
}

fn case(name: &str) -> &'static Case {
    cases()
        .iter()
        .find(|c| c.name == name)
        .expect("a case of that name")
}

/// Prints every candidate word's total, the chosen words, and each search's percentiles over
/// 200 runs on the open store (after 10 unmeasured runs; the first run after opening is shown
/// apart, as a command-line search is a first run).
fn report_words_and_percentiles() {
    with_store(|store| {
        println!("Candidate rare words (entries matching, psychotherapy notes left out):");
        for w in RARE_CANDIDATES {
            let c = Case {
                name: "",
                text: (*w).to_owned(),
                patient: None,
            };
            println!("  {w:<16} {}", c.total(store));
        }
    });
    // Reopen, so each first run below is as cold as the store's caches get in one process.
    close_store();
    println!();
    println!(
        "{:<24} {:<18} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "search (limit 20)", "query", "entries", "first", "p50", "p95", "max"
    );
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    for c in cases() {
        with_store(|store| {
            let q = c.query();
            let started = Instant::now();
            let total = store.search(&q, LIMIT).expect("search").total;
            let first = started.elapsed();
            for _ in 0..10 {
                store.search(&q, LIMIT).expect("search");
            }
            let mut times: Vec<Duration> = (0..200)
                .map(|_| {
                    let started = Instant::now();
                    divan::black_box(store.search(&q, LIMIT).expect("search"));
                    started.elapsed()
                })
                .collect();
            times.sort();
            let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize - 1).min(199)];
            let text = match c.patient {
                Some(p) => format!("{} patient:{p}", c.text),
                None => c.text.clone(),
            };
            println!(
                "{:<24} {:<18} {:>8} {:>9} {:>9} {:>9} {:>9}",
                c.name,
                text,
                total,
                ms(first),
                ms(at(0.50)),
                ms(at(0.95)),
                ms(times[199])
            );
        });
    }
    println!();
}

/// Words typed into search-all a letter at a time, as the clinician types them, and one
/// patient's search the same way.
const TYPED: &[&str] = &[
    "sleep",
    "session",
    "father",
    "anxiety",
    "integration",
    "breathing",
    "nausea",
    "dissociation",
    "mother",
    "work",
    "sleep father",
    "grief",
];

/// The search the UI runs after one key: the query as typed (the last word a prefix), the
/// popup's filter and limit.
fn typed_query(text: &str, patient: Option<&PatientId>) -> Query {
    let filter = Filter {
        patient: patient.cloned(),
        include_private: true,
        typing: true,
        ..Filter::default()
    };
    let typed = kitnotes::app::search::as_typed(text);
    Query::parse(&typed, filter, &jiff::tz::TimeZone::UTC).expect("query")
}

/// p50 / p95 / max of every keystroke of [`TYPED`] in search-all (limit 60, as the popup reads
/// while typing), and
/// of one-letter prefixes apart; then the same scoped to one patient. Each word is typed 10
/// times after one unmeasured time.
fn report_typing() {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let p500 = PatientId::parse("p0500").expect("id");
    println!(
        "{:<40} {:>6} {:>9} {:>9} {:>9}",
        "search as you type (limit 60)", "keys", "p50", "p95", "max"
    );
    for (scope, patient) in [
        ("every patient", None),
        ("one patient (p0500)", Some(&p500)),
    ] {
        let mut all = Vec::new();
        let mut first = Vec::new();
        with_store(|store| {
            for word in TYPED {
                let prefixes: Vec<&str> = word
                    .char_indices()
                    .map(|(i, c)| &word[..i + c.len_utf8()])
                    .filter(|p| !p.ends_with(' '))
                    .collect();
                for round in 0..11 {
                    for p in &prefixes {
                        let q = typed_query(p, patient);
                        let started = Instant::now();
                        divan::black_box(
                            store
                                .search(&q, kitnotes::app::search::FIRST)
                                .expect("search"),
                        );
                        let took = started.elapsed();
                        if round > 0 {
                            all.push(took);
                            if p.len() == 1 {
                                first.push(took);
                            }
                        }
                    }
                }
            }
        });
        for (what, times) in [("every key", &mut all), ("the first letter", &mut first)] {
            times.sort();
            let at =
                |p: f64| times[((times.len() as f64 * p).ceil() as usize - 1).min(times.len() - 1)];
            println!(
                "{:<40} {:>6} {:>9} {:>9} {:>9}",
                format!("{scope}: {what}"),
                times.len(),
                ms(at(0.50)),
                ms(at(0.95)),
                ms(times[times.len() - 1])
            );
        }
    }
    println!();
}

/// What the store holds by part, in keys and bytes (key + value as sled is given them; the files
/// on disk are larger, sled being log-structured): records, audit log, and the search index by
/// kind of key. sled's start-up time follows its number of keys.
fn report_key_sizes() {
    use kitnotes::store::keys;
    let parts: [(&str, &[&[u8]]); 8] = [
        (
            "records",
            &[
                keys::PATIENT_PREFIX,
                keys::TIMELINE_PREFIX,
                keys::INDEX_PREFIX,
            ],
        ),
        ("audit log", &[keys::AUDIT_PREFIX, keys::AUDIT_HEAD_KEY]),
        ("index: postings", &[keys::POSTINGS_PREFIX]),
        ("index: doc table", &[keys::DOCS_PREFIX]),
        ("index: doc names", &[keys::DOC_REF_PREFIX]),
        ("index: record docs", &[keys::RECORD_DOCS_PREFIX]),
        (
            "index: patients, stats",
            &[keys::PATIENT_NO_PREFIX, keys::SEARCH_STATS_KEY],
        ),
        ("other", &[]),
    ];
    with_store(|store| {
        let db = kitnotes::store::sled_store::raw_db(store);
        let mut sums = [(0u64, 0u64); 8];
        for kv in db.iter() {
            let (k, v) = kv.expect("read the store");
            let i = parts
                .iter()
                .position(|(_, ps)| ps.iter().any(|p| k.starts_with(p)))
                .unwrap_or(parts.len() - 1);
            sums[i].0 += 1;
            sums[i].1 += (k.len() + v.len()) as u64;
        }
        println!("What the store holds (keys, and key + value bytes):");
        for ((name, _), (n, bytes)) in parts.iter().zip(sums) {
            println!(
                "  {name:<24} {n:>9} keys {:>8.1} MB",
                bytes as f64 / 1_000_000.0
            );
        }
        println!();
    });
}

// ---------------------------------------------------------------------------------------------
// Searching

fn bench_search(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    with_store(|store| {
        let q = c.query();
        bencher.bench_local(|| store.search(divan::black_box(&q), LIMIT).expect("search"));
    });
}

/// A word in only a handful of entries: a lot number.
#[divan::bench]
fn search_lot_number(bencher: divan::Bencher) {
    bench_search(bencher, "lot number");
}

/// The rarest of the candidate words.
#[divan::bench]
fn search_rare_word(bencher: divan::Bencher) {
    bench_search(bencher, "rare word");
}

/// "sleep", in about one entry in seven.
#[divan::bench]
fn search_common_word(bencher: divan::Bencher) {
    bench_search(bencher, "common word");
}

/// "session", in most notes: the most work a one-word search does.
#[divan::bench]
fn search_very_common_word(bencher: divan::Bencher) {
    bench_search(bencher, "very common word");
}

/// "first session": two common words, next to each other.
#[divan::bench]
fn search_phrase(bencher: divan::Bencher) {
    bench_search(bencher, "phrase");
}

/// "sense of": a phrase of two very common words, the costliest kind of phrase.
#[divan::bench]
fn search_phrase_of_common_words(bencher: divan::Bencher) {
    bench_search(bencher, "phrase of common words");
}

/// "fath*": father, fathers, ...
#[divan::bench]
fn search_prefix(bencher: divan::Bencher) {
    bench_search(bencher, "prefix");
}

/// "sleep" in one patient's entries (the search inside an open chart).
#[divan::bench]
fn search_one_patient(bencher: divan::Bencher) {
    bench_search(bencher, "one patient");
}

// ---------------------------------------------------------------------------------------------
// Start-up

/// From nothing open to the first frame drawn: open the 100,000-note store, make the App (it
/// reads the roster), draw one 120x40 frame. The process start and terminal set-up of the real
/// binary are not in it; benches/compare.sh times those on the real binary.
///
/// Drawing a frame with a 10,000-entry timeline open is `draw_frame_10k_timeline` in
/// benches/ui.rs.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_store_to_first_frame(bencher: divan::Bencher) {
    let dir = store_dir();
    close_store();
    bencher.bench_local(|| {
        let store = open_bench(dir);
        let mut app = App::new(
            Box::new(store),
            Box::new(FixedClock::new(
                "2026-11-01T12:00:00Z".parse().expect("time"),
            )),
            IdSource::new(1),
            Keymap::builtin(Preset::Default),
            AppSettings::default(),
        )
        .expect("app");
        app.resize(120, 40);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        terminal
            .draw(|f| kitnotes::ui::draw(f, &app))
            .expect("draw");
        // Returned, so closing the store is not timed.
        app
    });
}

/// Opening the store alone (and closing it, untimed): most of the first frame's time, and of a
/// whole `kitnotes search` process.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_store(bencher: divan::Bencher) {
    let dir = store_dir();
    close_store();
    bencher.bench_local(|| open_bench(dir));
}

// ---------------------------------------------------------------------------------------------
// Import

/// Importing a 10,000-note JSON Lines file (100 demo patients x 100 notes with their sessions,
/// measures and goals, psychotherapy notes included) into an empty store, through the code path
/// of `kitnotes import`: read and check every line, one atomic change, flushed to disk. The
/// throughput is in notes per second.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn import_10k_notes(bencher: divan::Bencher) {
    let source = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(source.path()).expect("store");
    let actor = Actor::new("bench", jiff::Timestamp::UNIX_EPOCH);
    kitnotes::demo::build(&store, &spec(100, 100), &actor, &mut |_| {}).expect("demo");
    let mut file = Vec::new();
    let opts = kitnotes::interchange::ExportOptions {
        patient: None,
        include_psychotherapy_notes: true,
    };
    let exported = kitnotes::interchange::export_jsonl(&store, &mut file, &opts).expect("export");
    drop(store);
    bencher
        .counter(divan::counter::ItemsCount::new(exported.notes))
        .with_inputs(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = create_bench(&dir.path().join("store"));
            (dir, store)
        })
        .bench_local_values(|(dir, store)| {
            let summary =
                kitnotes::interchange::import_into(&store, &file[..], &actor, "bench.jsonl")
                    .expect("import");
            assert_eq!(summary.notes, exported.notes);
            // Returned, so removing the store is not timed.
            (dir, store)
        });
}
