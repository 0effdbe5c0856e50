//! `kitnotes check`: verify the store and report what it holds.

use super::Env;
use crate::store::Store;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(env: &Env, _args: Args) -> anyhow::Result<ExitCode> {
    let dir = env.store_dir();
    let store = env.open_existing_store()?;
    let report = store.check()?;
    let c = &report.counts;
    println!("Store: {}", dir.display());
    println!(
        "Patients: {} ({} archived)",
        c.patients, c.archived_patients
    );
    println!(
        "Notes: {} ({} signed, {} drafts, {} psychotherapy), {} addenda",
        c.notes, c.signed_notes, c.draft_notes, c.psychotherapy_notes, c.addenda
    );
    println!("Dosing sessions: {}", c.sessions);
    println!("Measures: {}", c.measures);
    println!("Integration goals: {} ({} check-ins)", c.goals, c.check_ins);
    if report.audit.is_ok() {
        println!("Audit log: {} entries, chain intact", report.audit.entries);
    }
    if report.is_ok() {
        println!(
            "Integrity: OK (every record decoded and checked; the id index and references agree)"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Integrity: {} problem(s):", report.problems.len());
        for p in &report.problems {
            println!("  - {p}");
        }
        println!(
            "Restore the store from a backup, or export what still reads and import it into a new store."
        );
        Ok(ExitCode::FAILURE)
    }
}
