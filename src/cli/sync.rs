//! `kitnotes sync`: exchange records with the practice's FHIR server (`[sync]` in config.toml),
//! list the conflicts, and settle one.

use super::Env;
use super::serve::{Access, Got, Held};
use crate::app::sync::{self as background, BackgroundSync};
use crate::interchange::fhir::{DEFAULT_IDENTIFIER_SYSTEM, FhirOptions};
use crate::sync::config::SyncSettings;
use crate::sync::state::{Conflict, SyncState};
use crate::sync::{self, Direction, Keep, SyncOptions};
use crate::text_safety::one_line;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").args(["conflicts", "keep_mine", "keep_theirs", "status"])))]
pub struct Args {
    /// List the open conflicts: this laptop's version and the server's, side by side.
    #[arg(long)]
    pub conflicts: bool,
    /// Settle the conflict on record ID by keeping this laptop's version (sent at the next
    /// sync, replacing the server's knowingly).
    #[arg(long, value_name = "ID")]
    pub keep_mine: Option<String>,
    /// Settle the conflict on record ID by keeping the server's version (written here now).
    #[arg(long, value_name = "ID")]
    pub keep_theirs: Option<String>,
    /// Say how the last sync ended and what waits, without reaching the server.
    #[arg(long)]
    pub status: bool,
    /// Only read what others sent.
    #[arg(long, conflicts_with = "push_only")]
    pub pull_only: bool,
    /// Only send what changed here.
    #[arg(long)]
    pub push_only: bool,
}

/// The FHIR mapping's settings for sync: every laptop of the practice must make the same
/// resources from the same records, so the identifier system is config.toml's `[fhir]
/// identifier_system` or the shared default, never a store's own id.
pub fn fhir_options(env: &Env) -> FhirOptions {
    FhirOptions {
        tz: env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC),
        reinduction_gap: env.config.reinduction_gap(),
        identifier_system: env
            .config
            .fhir_identifier_system()
            .unwrap_or(DEFAULT_IDENTIFIER_SYSTEM)
            .to_owned(),
        ..FhirOptions::default()
    }
}

/// Syncs the open UI's store in the background when `[sync]` is configured: at start, every
/// `[sync] every`, after each signature (`app::sync`). A `[sync]` that cannot be used is said in
/// the header instead; the notes open all the same.
pub fn in_background(env: &Env, app: &mut crate::app::App) {
    let Some(config) = env.config.sync.as_ref() else {
        return;
    };
    let settings = SyncSettings::from_config(
        Some(config),
        &env.paths.config_dir,
        env.config.clinician.as_deref(),
    )
    .and_then(|s| Ok((s, config.every()?)));
    match settings {
        Ok((settings, every)) => {
            let runner =
                BackgroundSync::server_runner(settings, fhir_options(env), env.actor().who);
            app.start_background_sync(
                BackgroundSync::new(runner, every).with_wake(std::sync::Arc::new(crate::tui::wake)),
            );
        }
        Err(e) => app.settings.sync_label = format!("sync off: {e}"),
    }
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    run_with(env, args, Access::Open)
}

/// `kitnotes sync`, with its own store or (`Access::Served`) as the open kitnotes runs it for
/// another process: there the status and conflicts are read and settled with the open store,
/// and a sync is left to the background sync, asked to run now (it never runs on the UI's
/// thread).
pub fn run_with(env: &Env, args: Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let settings = SyncSettings::from_config(
        env.config.sync.as_ref(),
        &env.paths.config_dir,
        env.config.clinician.as_deref(),
    )?;
    // A laptop joining the practice starts with an empty store and fills it from the server.
    let store = if !env.demo
        && matches!(access, Access::Open)
        && !crate::store::SledStore::is_in(&env.store_dir())
    {
        Held::Own(Box::new(env.open_store(&env.store_dir())?))
    } else {
        match access.store(env)? {
            Got::Store(store) => store,
            Got::Answered(code) => return Ok(code),
        }
    };
    let served = matches!(store, Held::Served(_));
    let store: &dyn crate::store::Store = &*store;
    let mut out = super::output::stdout();
    let actor = env.actor();
    if args.conflicts || args.status {
        let state = SyncState::load(store, &settings.server)?;
        if args.status {
            status(&mut out, &state)?;
        }
        if args.conflicts || !state.conflicts.is_empty() {
            list_conflicts(&mut out, store, &state)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((id, keep)) = args
        .keep_mine
        .as_ref()
        .map(|id| (id, Keep::Mine))
        .or(args.keep_theirs.as_ref().map(|id| (id, Keep::Theirs)))
    {
        if served && background::running() {
            anyhow::bail!(
                "the open kitnotes is syncing in the background; run this again when its header \
                 no longer says \"syncing…\""
            );
        }
        let c = sync::resolve(store, &settings.server, id, keep, actor.at, &actor.who)?;
        if served {
            // The open kitnotes' next sync sends this laptop's version, or shows the server's.
            background::ask_now();
        }
        writeln!(
            out,
            "Conflict on {} settled: {}",
            one_line(&c.record),
            match keep {
                Keep::Mine => "this laptop's version is kept and goes at the next sync",
                Keep::Theirs => "the server's version is written here",
            }
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if served {
        // The network never on the UI's thread: the background sync does it.
        if !background::installed() {
            anyhow::bail!(
                "the open kitnotes holds the store and does not sync in the background (it \
                 started without a usable [sync], or with an older config.toml); quit it to sync \
                 from here, or restart it to sync in the background"
            );
        }
        background::ask_now();
        writeln!(
            out,
            "The open kitnotes syncs now, in the background: its header says how it ends \
             (`kitnotes sync --status` too, once it has)."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let server = sync::http::Server::new(settings);
    let opts = SyncOptions {
        fhir: fhir_options(env),
        at: actor.at,
        who: actor.who,
        direction: if args.pull_only {
            Direction::PullOnly
        } else if args.push_only {
            Direction::PushOnly
        } else {
            Direction::Both
        },
    };
    let (report, result) = sync::sync(store, &server, &opts);
    writeln!(
        out,
        "{} {}: {}",
        if result.is_ok() {
            "Synced with"
        } else {
            "Sync stopped with"
        },
        server.base(),
        one_line(&report.summary())
    )?;
    let k = report.kept_here;
    if k.drafts + k.psychotherapy_notes + k.unsigned_sessions + k.local_patients > 0 {
        writeln!(
            out,
            "Kept on this laptop: {} draft(s), {} psychotherapy note(s), {} unsigned dosing \
             session(s), {} patient(s) marked local",
            k.drafts, k.psychotherapy_notes, k.unsigned_sessions, k.local_patients
        )?;
    }
    for p in &report.problems {
        writeln!(out, "  not written here: {}", one_line(p))?;
    }
    if report.open_conflicts > 0 {
        let state = SyncState::load(store, server.base())?;
        list_conflicts(&mut out, store, &state)?;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// How the last sync ended, in a few words for the app's header (`sync::label`).
pub fn label(
    store: &dyn crate::store::Store,
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) -> String {
    use crate::sync::Standing;
    let Some(state) = crate::sync::state::read(store) else {
        return sync::label(Standing::Never, 0, tz, today);
    };
    let standing = match (&state.last_error, state.last_success) {
        (Some(_), _) => Standing::StoppedEarlier,
        (None, Some(t)) => Standing::Synced(t),
        (None, None) => Standing::Never,
    };
    sync::label(standing, state.conflicts.len(), tz, today)
}

fn status(out: &mut impl Write, state: &SyncState) -> anyhow::Result<()> {
    match &state.last_success {
        Some(t) => writeln!(out, "Last sync: {t}")?,
        None => writeln!(out, "Last sync: never")?,
    }
    if let Some(e) = &state.last_error {
        writeln!(out, "The last try stopped: {}", one_line(e))?;
    }
    writeln!(
        out,
        "Records from others: {}; conflicts open: {}",
        state.authors.len(),
        state.conflicts.len()
    )?;
    Ok(())
}

/// Each open conflict with the fields that differ, this laptop's value beside the server's.
fn list_conflicts(
    out: &mut impl Write,
    store: &dyn crate::store::Store,
    state: &SyncState,
) -> anyhow::Result<()> {
    if state.conflicts.is_empty() {
        writeln!(out, "No conflicts.")?;
        return Ok(());
    }
    writeln!(
        out,
        "{} conflict(s): the same record changed here and on the server; nothing was \
         overwritten. Keep one with --keep-mine ID or --keep-theirs ID.",
        state.conflicts.len()
    )?;
    for c in &state.conflicts {
        conflict(out, store, c)?;
    }
    Ok(())
}

fn conflict(
    out: &mut impl Write,
    store: &dyn crate::store::Store,
    c: &Conflict,
) -> anyhow::Result<()> {
    let by = c
        .their_author
        .as_ref()
        .map_or("another clinician".to_owned(), |a| a.name.clone());
    writeln!(
        out,
        "\n{} (patient {}): {}; server version {} by {}",
        one_line(&c.record),
        one_line(&c.patient),
        one_line(&c.found),
        one_line(&c.their_version),
        one_line(&by)
    )?;
    let mine = store
        .record(&c.record)?
        .map(|r| crate::interchange::record_line::to_line(r.as_ref()));
    let fields = |line: &str| -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(line).unwrap_or_default()
    };
    let theirs = fields(&c.theirs);
    let mine = mine.as_deref().map(fields).unwrap_or_default();
    let mut keys = crate::store::audit::differing_keys(&mine, &theirs);
    keys.sort();
    let show = |v: Option<&serde_json::Value>| {
        v.map_or("(none)".to_owned(), |v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let rows: Vec<Vec<String>> = keys
        .into_iter()
        .map(|k| {
            let (here, there) = (show(mine.get(&k)), show(theirs.get(&k)));
            vec![k, here, there]
        })
        .collect();
    super::print_table(&["field", "here", &format!("server ({by})")], &rows)?;
    Ok(())
}
