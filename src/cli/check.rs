//! `kitnotes check`: verify the store and report what it holds.

use super::Env;
use crate::store::Store;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the search index and the agenda index (Today, the drafts list) again from the
    /// records first (then check as usual).
    #[arg(long)]
    pub reindex: bool,
    /// The tally file (kitnotes.tally) is damaged or gone and the database is the one to keep:
    /// start a new tally from what the database says of itself, then check as usual.
    #[arg(long)]
    pub new_tally: bool,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let dir = env.store_dir();
    if args.new_tally {
        new_tally(&dir)?;
    }
    let store = match env.open_existing_store() {
        Ok(store) => store,
        Err(e) => return inspect_refused(env, &dir, e),
    };
    if args.reindex {
        let started = std::time::Instant::now();
        let docs = store.reindex()?;
        writeln!(
            out,
            "Search index rebuilt: {docs} entries, and the agenda index, in {:.1} s",
            started.elapsed().as_secs_f64()
        )?;
    }
    report(&dir, &store.check()?)
}

/// `check --new-tally`: a tally that is damaged or gone is replaced by one the database's own
/// count and stamp start; an intact one is kept.
fn new_tally(dir: &std::path::Path) -> anyhow::Result<()> {
    use crate::store::tally;
    if let Ok(Some(_)) = tally::read(dir) {
        println!("The tally file is intact: it is kept.");
        return Ok(());
    }
    let _ = std::fs::remove_file(dir.join(tally::FILE));
    let stamp = tally::adopt(dir)
        .map_err(|e| anyhow::anyhow!("cannot start a new tally for {}: {e}", dir.display()))?;
    match stamp {
        Some(s) => println!(
            "A new tally was started from the database (store id {}, {} audit entries).",
            s.store, s.entries
        ),
        None => println!("A new tally was started from the database."),
    }
    Ok(())
}

/// A store that lost saves, whose tally is damaged or gone, whose audit log was cut, or whose database
/// is another store's is refused; check says so, then reads a copy of it to say what it still
/// holds and where it is damaged. The store is not touched.
fn inspect_refused(env: &Env, dir: &std::path::Path, e: anyhow::Error) -> anyhow::Result<ExitCode> {
    use crate::store::StoreError;
    let refused = matches!(
        e.downcast_ref::<StoreError>(),
        Some(
            StoreError::LostSaves { .. }
                | StoreError::TallyDamaged { .. }
                | StoreError::AuditCut { .. }
                | StoreError::CounterForged { .. }
                | StoreError::ForeignDatabase { .. }
                | StoreError::TallyMissing { .. }
        )
    );
    if !refused {
        return Err(e);
    }
    let mut out = super::output::stdout();
    writeln!(out, "Store: {}", dir.display())?;
    writeln!(out, "Refused: {e:#}")?;
    writeln!(out)?;
    writeln!(
        out,
        "What a copy of it still holds (the store itself was not opened or changed):"
    )?;
    let copy = crate::store::sled_store::InspectedCopy::open(dir)?;
    super::passphrase::unlock(copy.store(), env.passphrase_file.as_deref())?;
    report(dir, &copy.store().check()?)?;
    Ok(ExitCode::FAILURE)
}

fn report(dir: &std::path::Path, report: &crate::store::CheckReport) -> anyhow::Result<ExitCode> {
    let c = &report.counts;
    let mut out = super::output::stdout();
    writeln!(out, "Store: {}", dir.display())?;
    print_counts(c, "")?;
    if report.audit.is_ok() {
        writeln!(
            out,
            "Audit log: {} entries, chain intact",
            report.audit.entries
        )?;
    }
    let u = &report.unbound;
    if u.imported > 0 {
        writeln!(
            out,
            "Not verifiable: {} records imported before imports were bound to the audit log (no \
             entry names their values); each is bound from its next change",
            u.imported
        )?;
    }
    if u.other > 0 {
        writeln!(
            out,
            "Not verifiable: {} records last written before records were bound to the audit \
             log, or written without an entry; each is bound from its next change",
            u.other
        )?;
    }
    if report.is_ok() {
        writeln!(
            out,
            "Integrity: OK (every record decoded and checked; the id index, the search index, the \
             agenda index and references agree)"
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "Integrity: {} problem(s):", report.problems.len())?;
        for p in &report.problems {
            // A problem may quote a damaged key or value: nothing in it may act on the terminal.
            writeln!(out, "  - {}", crate::text_safety::one_line(p))?;
        }
        if report
            .problems
            .iter()
            .all(|p| p.starts_with("search index") || p.starts_with("agenda index"))
        {
            writeln!(
                out,
                "Only the search or agenda index is out of step: `kitnotes check --reindex` \
                 rebuilds them."
            )?;
        } else {
            writeln!(
                out,
                "Restore the store from a backup: {}. Or export what still reads and import it \
                 into a new store.",
                crate::store::sled_store::restore_advice(dir)
            )?;
        }
        Ok(ExitCode::FAILURE)
    }
}

/// What a store holds, a line per kind, each line after `indent` (`check` and `restore`).
pub fn print_counts(c: &crate::store::Counts, indent: &str) -> std::io::Result<()> {
    let mut out = super::output::stdout();
    writeln!(
        out,
        "{indent}Patients: {} ({} archived)",
        c.patients, c.archived_patients
    )?;
    writeln!(
        out,
        "{indent}Notes: {} ({} signed, {} drafts, {} psychotherapy), {} addenda",
        c.notes, c.signed_notes, c.draft_notes, c.psychotherapy_notes, c.addenda
    )?;
    writeln!(out, "{indent}Dosing sessions: {}", c.sessions)?;
    writeln!(out, "{indent}Measures: {}", c.measures)?;
    writeln!(
        out,
        "{indent}Integration goals: {} ({} check-ins)",
        c.goals, c.check_ins
    )?;
    writeln!(out, "{indent}Safety follow-ups: {}", c.safety_follow_ups)?;
    if c.sessions > 0 && c.courses == 0 {
        writeln!(
            out,
            "{indent}Courses: none recorded; inferred from the dose dates (a long gap between \
             doses starts a re-induction)"
        )?;
    } else {
        writeln!(out, "{indent}Courses: {}", c.courses)?;
    }
    if c.list_entries > 0 {
        writeln!(
            out,
            "{indent}Problem, medication and allergy list entries: {}",
            c.list_entries
        )?;
    }
    Ok(())
}
