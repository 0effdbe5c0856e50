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
    let store = env.open_existing_store()?;
    if args.reindex {
        let started = std::time::Instant::now();
        let docs = store.reindex()?;
        println!(
            "Search index rebuilt: {docs} entries in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let report = store.check()?;
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
                "Restore the store from a backup, or export what still reads and import it into a \
                 new store."
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
}
