//! `kitnotes search`: full-text search from the command line, one hit per line or JSON.
//!
//! The query language is the terminal UI's (see `search::query`): words, `prefix*`,
//! `"a phrase"`, `-left-out`, and `kind:` `status:` `since:` `until:` `patient:` filters.

use super::Env;
use super::serve::{Access, Got, Held};
use crate::model::PatientId;
use crate::search::{DocKind, DocStatus, Filter, Hit, Order, Query, Results};
use crate::store::snapshot::{self, Snapshot};
use crate::store::{SledStore, Store};
use crate::text_safety::one_line;
use anyhow::Context;
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to find: words (all must be there), `prefix*`, `"a phrase"`, `-word` to leave out,
    /// and filters such as `kind:integration` or `since:2026-01-01`. Put `--` before a query
    /// that starts with `-`: `kitnotes search -- -alcohol sleep`.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only this patient's entries.
    #[arg(long, value_name = "ID")]
    pub patient: Option<String>,
    /// Only entries of these kinds: preparation, session, integration, psychotherapy,
    /// observation, goal, check-in, or note (every note kind). Repeat or separate with commas.
    #[arg(long, value_name = "K", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only entries with this status: draft, signed (notes and sessions) or a goal's status.
    #[arg(long, value_name = "S", value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only entries on or after this day (YYYY-MM-DD, in config.toml's time zone).
    #[arg(long, value_name = "DATE")]
    pub since: Option<jiff::civil::Date>,
    /// Only entries on or before this day.
    #[arg(long, value_name = "DATE")]
    pub until: Option<jiff::civil::Date>,
    /// How many hits to print, in the order of --order.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// best (the best match first), date (the oldest first: "when did she first mention…"),
    /// or newest. The limit keeps the first hits in this order.
    #[arg(long, default_value = "best", value_name = "ORDER", value_parser = parse_order)]
    pub order: Order,
    /// Print the hits as one JSON document (with the total and the highlighted ranges).
    #[arg(long)]
    pub json: bool,
    /// Search psychotherapy notes too. They are left out unless asked for, as in exports.
    #[arg(long)]
    pub include_private: bool,
}

fn parse_order(s: &str) -> Result<Order, String> {
    Order::parse(s).ok_or_else(|| "orders are best, date (oldest first) and newest".to_owned())
}

/// The filter the flags ask for.
fn filter(args: &Args, tz: &jiff::tz::TimeZone) -> anyhow::Result<Filter> {
    let mut f = Filter {
        include_private: args.include_private,
        order: args.order,
        ..Filter::default()
    };
    if let Some(p) = &args.patient {
        f.patient = Some(PatientId::parse(p).with_context(|| format!("--patient {p}"))?);
    }
    for k in &args.kind {
        let kinds = DocKind::parse_many(k).with_context(|| {
            format!(
                "--kind {k}: kinds are {}, or note",
                crate::search::query::kind_names()
            )
        })?;
        f.kinds.extend(kinds);
    }
    for s in &args.status {
        let status = DocStatus::parse(s).with_context(|| {
            format!(
                "--status {s}: statuses are {}",
                crate::search::query::status_names()
            )
        })?;
        f.statuses.push(status);
    }
    if let Some(d) = args.since {
        f.since_date(d, tz);
    }
    if let Some(d) = args.until {
        f.until_date(d, tz);
    }
    Ok(f)
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    run_with(env, args, Access::Open)
}

/// The search, with the store `access` gives (a running kitnotes' own, when it holds it).
pub fn run_with(env: &Env, args: Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let text = args.query.join(" ");
    let query = Query::parse(&text, filter(&args, &tz)?, &tz)
        .map_err(|e| anyhow::anyhow!("the query {text:?}, {e}"))?;
    // A plain store closed cleanly answers from its snapshot, without being opened
    // (`store::snapshot`); anything the snapshot cannot answer asks the store.
    if matches!(access, Access::Open)
        && !args.include_private
        && let Some(snap) = Snapshot::open(&env.store_dir())
    {
        let started = std::time::Instant::now();
        if let Ok(results) = snap.search(&query, args.limit) {
            let took = started.elapsed();
            if let Ok(names) = names_of(&results, |p| snap.patient(p)) {
                return print(&args, &text, &tz, &results, &names, took);
            }
        }
    }
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let started = std::time::Instant::now();
    let results = store.search(&query, args.limit)?;
    let took = started.elapsed();
    let names = names_of(&results, |p| store.patient(p))?;
    let code = print(&args, &text, &tz, &results, &names, took)?;
    if let Held::Own(store) = store {
        leave_snapshot(*store);
    }
    Ok(code)
}

/// After a search that opened the store itself: a plain store leaves a snapshot for the next
/// search to answer from, written once the answer is out and the store closed; an encrypted
/// store must have none. A snapshot that cannot be written is simply not there (the next
/// search opens the store).
fn leave_snapshot(store: SledStore) {
    let dir = store.dir().to_owned();
    if store.is_encrypted() {
        drop(store);
        snapshot::remove(&dir);
        return;
    }
    // The answer is out before the snapshot is written.
    let _ = std::io::stdout().flush();
    // Another kitnotes opening the store while this copies waits for it (until the store is
    // closed), rather than being told it is open elsewhere.
    let copying = snapshot::Copying::start(&dir);
    let Ok(mut out) = snapshot::Writer::create(&dir) else {
        return;
    };
    if store.copy_for_search(&mut out).is_err() {
        return;
    }
    drop(store);
    drop(copying);
    let _ = out.finish();
}

/// Each hit's patient's name.
fn names_of(
    results: &Results,
    patient: impl Fn(&PatientId) -> crate::store::Result<Option<crate::model::Patient>>,
) -> crate::store::Result<HashMap<PatientId, String>> {
    let mut names: HashMap<PatientId, String> = HashMap::new();
    for h in &results.hits {
        if !names.contains_key(&h.patient) {
            let name = patient(&h.patient)?.map(|p| p.name).unwrap_or_default();
            names.insert(h.patient.clone(), name);
        }
    }
    Ok(names)
}

/// Writes the hits (one a line, or JSON) and the summary.
fn print(
    args: &Args,
    text: &str,
    tz: &jiff::tz::TimeZone,
    results: &Results,
    names: &HashMap<PatientId, String>,
    took: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let written = if args.json {
        let hits: Vec<serde_json::Value> = results
            .hits
            .iter()
            .map(|h| json_hit(h, names, tz))
            .collect();
        let doc = serde_json::json!({
            "query": text,
            "total": results.total,
            "private_hidden": results.private_hidden,
            "hits": hits,
        });
        writeln!(out, "{doc}")
    } else {
        let colour = super::output::colour();
        results
            .hits
            .iter()
            .try_for_each(|h| writeln!(out, "{}", line(h, names.get(&h.patient), tz, colour)))
    };
    match written {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other?,
    }
    if !args.json {
        let shown = results.hits.len();
        let mut summary = match results.total {
            0 => "No matches".to_owned(),
            t if shown < t => format!("{shown} of {t} matches (--limit shows more)"),
            t => format!("{t} match{}", if t == 1 { "" } else { "es" }),
        };
        summary.push_str(&format!(", {:.1} ms", took.as_secs_f64() * 1000.0));
        super::output::note(&summary);
        if results.private_hidden > 0 {
            super::output::note(&format!(
                "{} more in psychotherapy notes, left out (--include-private searches them)",
                results.private_hidden
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One hit as a line: patient, name, date, kind, title, snippet.
fn line(h: &Hit, name: Option<&String>, tz: &jiff::tz::TimeZone, colour: bool) -> String {
    let date = h.at.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
    let snippet: String = crate::search::snippet::pieces(&h.snippet.text, &h.snippet.highlights)
        .into_iter()
        .map(|(p, found)| {
            // The only escape codes written are these, around text made inert.
            let p = one_line(p);
            if found && colour {
                format!("\x1b[1;31m{p}\x1b[0m")
            } else {
                p.into_owned()
            }
        })
        .collect();
    format!(
        "{}  {}  {}  {}  {}  {}",
        h.patient,
        one_line(name.map_or("", String::as_str)),
        date,
        h.kind.as_str(),
        one_line(&h.title),
        snippet
    )
}

fn json_hit(
    h: &Hit,
    names: &HashMap<PatientId, String>,
    tz: &jiff::tz::TimeZone,
) -> serde_json::Value {
    serde_json::json!({
        "patient": h.patient.as_str(),
        "patient_name": names.get(&h.patient),
        "record": h.record,
        "part": h.part,
        "kind": h.kind.as_str(),
        "status": h.status.as_str(),
        "at": h.at.to_string(),
        "date": h.at.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string(),
        "title": h.title,
        "snippet": h.snippet.text,
        "highlights": h.snippet.highlights.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
        "score": h.score,
    })
}
