//! `kitnotes restore PATH`: a backup verified, written into a new store beside the target,
//! checked like `kitnotes check`, and only then moved into place. Nothing is ever written into
//! an existing store, and a failure leaves nothing behind.

use super::Env;
use super::backup::human_bytes;
use crate::store::backup::{self, BackupSummary};
use crate::store::{AuditAction, CheckReport, Store};
use anyhow::Context;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup file, written by `kitnotes backup`.
    pub path: PathBuf,
    /// Only check the file (header, every length, the entry count and the SHA-256); restore
    /// nothing.
    #[arg(long)]
    pub verify_only: bool,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let started = Instant::now();
    if args.verify_only {
        let s = backup::verify(&args.path)?;
        writeln!(
            out,
            "{} is a whole kitnotes backup: {} entries, {}, SHA-256 {}",
            args.path.display(),
            s.entries,
            human_bytes(s.bytes),
            s.sha256_hex()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let target = env.store_dir();
    refuse_existing(&target)?;
    let staging = staging_dir(&target)?;
    // Nothing is written before the whole file is known to be good.
    let verified = backup::verify(&args.path)?;
    writeln!(
        out,
        "Verified {}: {} entries, {}, SHA-256 {}",
        args.path.display(),
        verified.entries,
        human_bytes(verified.bytes),
        verified.sha256_hex()
    )?;
    let restored = restore_into(env, &args.path, &verified, &target, &staging);
    let (report, seq) = match restored {
        Ok(r) => r,
        Err(e) => {
            remove_staging(&staging);
            return Err(e.context(format!(
                "nothing was restored; {} is as it was",
                target.display()
            )));
        }
    };
    let c = &report.counts;
    writeln!(
        out,
        "Restored into {} in {:.1} s:",
        target.display(),
        started.elapsed().as_secs_f64()
    )?;
    super::check::print_counts(c, "  ")?;
    writeln!(
        out,
        "  Audit log: {} entries, chain intact; the restore is entry {seq}",
        report.audit.entries
    )?;
    writeln!(out, "  Integrity: OK (the same check as `kitnotes check`)")?;
    Ok(ExitCode::SUCCESS)
}

/// Restore only ever fills an empty place.
fn refuse_existing(target: &Path) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(target) {
        Ok(entries) => entries.count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", target.display())),
    };
    if entries > 0 {
        anyhow::bail!(
            "there is already a store at {}; restore never writes into an existing store. Pass \
             another --data-dir to restore beside it (then compare, and move it into place when \
             kitnotes is closed), or move {} away first",
            target.display(),
            target.display()
        );
    }
    Ok(())
}

/// `<store>.restoring` beside the target; one left by a restore that was interrupted is removed.
fn staging_dir(target: &Path) -> anyhow::Result<PathBuf> {
    let name = target
        .file_name()
        .with_context(|| format!("{} is not a directory name", target.display()))?;
    let staging = target.with_file_name(format!("{}.restoring", name.to_string_lossy()));
    if staging.exists() {
        // A restore still running there holds its lock.
        if let Ok(lock) = File::open(staging.join("kitnotes.lock"))
            && matches!(lock.try_lock(), Err(std::fs::TryLockError::WouldBlock))
        {
            anyhow::bail!(
                "another restore (or kitnotes) is using {}; wait for it to finish",
                staging.display()
            );
        }
        std::fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "cannot remove {}, left by an interrupted restore",
                staging.display()
            )
        })?;
    }
    Ok(staging)
}

fn restore_into(
    env: &Env,
    path: &Path,
    verified: &BackupSummary,
    target: &Path,
    staging: &Path,
) -> anyhow::Result<(CheckReport, u64)> {
    std::fs::create_dir_all(staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    {
        // Keeps a second restore out while the pairs go in; opening the store takes it below.
        let lock = File::create(staging.join("kitnotes.lock"))
            .with_context(|| format!("cannot create {}", staging.display()))?;
        lock.try_lock()
            .map_err(|_| anyhow::anyhow!("{} is in use", staging.display()))?;
        let written = backup::restore(path, &staging.join("db"))?;
        if written.sha256 != verified.sha256 {
            return Err(backup::BackupError::Changed {
                path: path.to_owned(),
            }
            .into());
        }
    }
    let db = staging.join("db");
    wait_released(&db)?;
    // An encrypted backup needs its passphrase here: the check opens every seal.
    let store = env.open_store(staging)?;
    let report = store.check()?;
    if !report.is_ok() {
        let mut message = format!(
            "the store in the backup does not pass its check: {} problem(s)",
            report.problems.len()
        );
        for p in report.problems.iter().take(5) {
            message.push_str(&format!("\n  - {p}"));
        }
        anyhow::bail!(message);
    }
    let event = env.actor().event(AuditAction::Restored).detail(format!(
        "from backup {}: {} entries, {} bytes, SHA-256 {}; into {}",
        path.display(),
        verified.entries,
        verified.bytes,
        verified.sha256_hex(),
        target.display()
    ));
    let entry = store
        .log_event(&event)
        .and_then(|e| store.flush().map(|()| e))
        .context("the audit log of the restored store could not record the restore")?;
    drop(store);
    wait_released(&db)?;
    backup::sync_dir(staging).with_context(|| format!("cannot sync {}", staging.display()))?;
    // Something may have appeared there meanwhile.
    refuse_existing(target)?;
    if target.is_dir() {
        std::fs::remove_dir(target)
            .with_context(|| format!("cannot replace the empty {}", target.display()))?;
    }
    std::fs::rename(staging, target).with_context(|| {
        format!(
            "cannot move the restored store from {} to {}",
            staging.display(),
            target.display()
        )
    })?;
    if let Some(parent) = target.parent() {
        backup::sync_dir(parent).with_context(|| format!("cannot sync {}", parent.display()))?;
    }
    Ok((report, entry.seq))
}

/// Waits until the database at `db` is closed for good: sled lets go of its lock file a moment
/// after the last handle is dropped, and its files must not be moved or removed before.
fn wait_released(db: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match File::open(db.join("db")).map(|f| f.try_lock()) {
            Ok(Ok(())) | Err(_) => return Ok(()),
            Ok(Err(std::fs::TryLockError::WouldBlock))
                if started.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(Err(_)) => anyhow::bail!("{} is still in use", db.display()),
        }
    }
}

fn remove_staging(staging: &Path) {
    let _ = wait_released(&staging.join("db"));
    let _ = std::fs::remove_dir_all(staging);
}
