//! `kitnotes check`: verify the store and report what it holds.

use super::Env;
use crate::store::Store;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the search index again from the records first (then check as usual).
    #[arg(long)]
    pub reindex: bool,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let dir = env.store_dir();
    let store = match env.open_existing_store() {
        Ok(store) => store,
        Err(e) => return inspect_refused(env, &dir, e),
    };
    if args.reindex {
        let started = std::time::Instant::now();
        let docs = store.reindex()?;
        println!(
            "Search index rebuilt: {docs} entries in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    report(&dir, &store.check()?)
}

/// A store that lost saves (or whose tally is damaged) is refused; check says so, then reads
/// a copy of it to say what it still holds and where it is damaged. The store is not touched.
fn inspect_refused(env: &Env, dir: &std::path::Path, e: anyhow::Error) -> anyhow::Result<ExitCode> {
    use crate::store::StoreError;
    let refused = matches!(
        e.downcast_ref::<StoreError>(),
        Some(StoreError::LostSaves { .. } | StoreError::TallyDamaged { .. })
    );
    if !refused {
        return Err(e);
    }
    println!("Store: {}", dir.display());
    println!("Refused: {e:#}");
    println!();
    println!("What a copy of it still holds (the store itself was not opened or changed):");
    let copy = crate::store::sled_store::InspectedCopy::open(dir)?;
    super::passphrase::unlock(copy.store(), env.passphrase_file.as_deref())?;
    report(dir, &copy.store().check()?)?;
    Ok(ExitCode::FAILURE)
}

fn report(dir: &std::path::Path, report: &crate::store::CheckReport) -> anyhow::Result<ExitCode> {
    let c = &report.counts;
    println!("Store: {}", dir.display());
    print_counts(c, "");
    if report.audit.is_ok() {
        println!("Audit log: {} entries, chain intact", report.audit.entries);
    }
    if report.is_ok() {
        println!(
            "Integrity: OK (every record decoded and checked; the id index, the search index and \
             references agree)"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Integrity: {} problem(s):", report.problems.len());
        for p in &report.problems {
            // A problem may quote a damaged key or value: nothing in it may act on the terminal.
            println!("  - {}", crate::text_safety::one_line(p));
        }
        if report
            .problems
            .iter()
            .all(|p| p.starts_with("search index"))
        {
            println!(
                "Only the search index is out of step: `kitnotes check --reindex` rebuilds it."
            );
        } else {
            println!(
                "Restore the store from a backup: {}. Or export what still reads and import it \
                 into a new store.",
                crate::store::sled_store::restore_advice(dir)
            );
        }
        Ok(ExitCode::FAILURE)
    }
}

/// What a store holds, a line per kind, each line after `indent` (`check` and `restore`).
pub fn print_counts(c: &crate::store::Counts, indent: &str) {
    println!(
        "{indent}Patients: {} ({} archived)",
        c.patients, c.archived_patients
    );
    println!(
        "{indent}Notes: {} ({} signed, {} drafts, {} psychotherapy), {} addenda",
        c.notes, c.signed_notes, c.draft_notes, c.psychotherapy_notes, c.addenda
    );
    println!("{indent}Dosing sessions: {}", c.sessions);
    println!("{indent}Measures: {}", c.measures);
    println!(
        "{indent}Integration goals: {} ({} check-ins)",
        c.goals, c.check_ins
    );
    println!("{indent}Safety follow-ups: {}", c.safety_follow_ups);
    if c.sessions > 0 && c.courses == 0 {
        println!(
            "{indent}Courses: none recorded; inferred from the dose dates (a long gap between \
             doses starts a re-induction)"
        );
    } else {
        println!("{indent}Courses: {}", c.courses);
    }
}
