//! `kitnotes demo`: build the invented demo caseload in `<data dir>/demo` (never the real store)
//! and open kitnotes on it.

use super::Env;
use crate::demo::{self, DemoSpec};
use crate::store::{Counts, Store};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many invented patients.
    #[arg(long, default_value_t = 12)]
    pub patients: u32,
    /// Exactly this many notes per patient (sessions, scores and goals come on top).
    #[arg(long, default_value_t = 24)]
    pub notes_per_patient: u32,
    /// The same seed (and anchor date) gives the same store.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// "Today" in the demo, YYYY-MM-DD: every record lies before it [default: today].
    #[arg(long, value_name = "DATE")]
    pub anchor: Option<jiff::civil::Date>,
    /// Rebuild the demo store even if one with the same settings exists.
    #[arg(long)]
    pub fresh: bool,
    /// Only build the store and print its path; do not open the terminal UI.
    #[arg(long)]
    pub no_ui: bool,
}

/// What a demo store was built from, kept beside it so a rerun can reuse it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct BuiltFrom {
    patients: u32,
    notes_per_patient: u32,
    seed: u64,
    anchor: jiff::civil::Date,
}

const BUILT_FROM: &str = "demo-spec.json";

fn read_built_from(dir: &Path) -> Option<BuiltFrom> {
    let text = std::fs::read_to_string(dir.join(BUILT_FROM)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Removes an old demo store. Only a directory that is recognisably a kitnotes store (or empty)
/// is removed, so a mistaken --data-dir never deletes anything else.
fn remove_demo_store(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let ours = ["db", "kitnotes.lock", "kitnotes.sock", BUILT_FROM];
    let entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    if let Some(stranger) = entries
        .iter()
        .find(|e| !ours.contains(&e.file_name().to_string_lossy().as_ref()))
    {
        anyhow::bail!(
            "{} holds {}, which kitnotes did not put there; not replacing it. Move it away or pick \
             another --data-dir",
            dir.display(),
            stranger.path().display()
        );
    }
    std::fs::remove_dir_all(dir)
        .with_context(|| format!("cannot remove the old demo store at {}", dir.display()))
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    if !args.no_ui {
        // A bad keymap is said at once, before the demo store is built or opened.
        crate::keymap::Keymap::from_config_dir(env.config.keymap, &env.paths.config_dir)?;
    }
    let mut out = super::output::stdout();
    let dir = env.paths.demo_dir();
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let anchor = match args.anchor {
        Some(d) => d,
        None => jiff::Timestamp::now().to_zoned(tz.clone()).date(),
    };
    let wanted = BuiltFrom {
        patients: args.patients,
        notes_per_patient: args.notes_per_patient,
        seed: args.seed,
        anchor,
    };
    let mut spec = DemoSpec::new(anchor);
    spec.patients = args.patients;
    spec.notes_per_patient = args.notes_per_patient;
    spec.seed = args.seed;
    spec.tz = tz;
    if let Some(name) = &env.config.clinician {
        spec.clinician = name.clone();
    }
    spec.validate()?;

    let existing = read_built_from(&dir);
    // Reuse a store built from the same settings (any anchor unless one is asked for), so
    // whatever the user did in the demo survives a rerun.
    let reusable = existing.as_ref().is_some_and(|b| {
        (b.patients, b.notes_per_patient, b.seed)
            == (wanted.patients, wanted.notes_per_patient, wanted.seed)
            && (args.anchor.is_none() || b.anchor == anchor)
    });
    let (store, counts) = if reusable && !args.fresh {
        let store = env.open_store(&dir)?;
        let counts = store.counts()?;
        writeln!(
            out,
            "Using the existing demo store at {} (--fresh rebuilds it)",
            dir.display()
        )?;
        (store, counts)
    } else {
        // Take the lock first, so a demo store open in another kitnotes is never deleted.
        if dir.join("db").exists() {
            drop(env.open_store(&dir)?);
        }
        remove_demo_store(&dir)?;
        let store = env.open_store(&dir)?;
        let started = std::time::Instant::now();
        let step = (args.patients / 10).max(1);
        let counts = demo::build(&store, &spec, &env.actor(), &mut |done| {
            if args.patients >= 100 && (done % step == 0 || done == args.patients) {
                eprintln!("  {done} of {} patients", args.patients);
            }
        })?;
        let built = serde_json::to_string_pretty(&wanted)?;
        std::fs::write(dir.join(BUILT_FROM), built)
            .with_context(|| format!("cannot write {}", dir.join(BUILT_FROM).display()))?;
        writeln!(
            out,
            "Built the demo store at {} in {:.1} s (seed {}, anchor {})",
            dir.display(),
            started.elapsed().as_secs_f64(),
            args.seed,
            anchor
        )?;
        (store, counts)
    };
    print_counts(&counts)?;
    if args.no_ui {
        writeln!(
            out,
            "Try: kitnotes --demo check, kitnotes --demo export --format md --patient p0001"
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let env = Env {
        paths: env.paths.clone(),
        config: env.config.clone(),
        demo: true,
        passphrase_file: env.passphrase_file.clone(),
    };
    super::open_ui(&env, store)
}

pub fn print_counts(c: &Counts) -> std::io::Result<()> {
    writeln!(
        super::output::stdout(),
        "{} patients ({} archived), {} notes ({} signed, {} drafts, {} psychotherapy, {} addenda), \
         {} dosing sessions, {} measures, {} goals with {} check-ins",
        c.patients,
        c.archived_patients,
        c.notes,
        c.signed_notes,
        c.draft_notes,
        c.psychotherapy_notes,
        c.addenda,
        c.sessions,
        c.measures,
        c.goals,
        c.check_ins
    )
}
