//! `kitnotes audit`: list the audit log (who did what when, filtered by patient and dates), and
//! `kitnotes audit verify`: walk its hash chain and report the first entry changed, removed or
//! reordered, and `kitnotes audit anchor`: a short line to keep apart from the store, which
//! `verify --kept-head` later holds the log against.

use super::serve::{Access, Got};
use super::{Env, print_table};
use crate::model::PatientId;
use crate::store::AuditFilter;
use crate::store::audit::ChainHash;
use jiff::ToSpan;
use jiff::civil::Date;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries about this patient (by id).
    #[arg(long, value_name = "ID")]
    pub patient: Option<String>,
    /// Only entries on or after this day (YYYY-MM-DD, in the configured time zone).
    #[arg(long, value_name = "DATE")]
    pub since: Option<Date>,
    /// Only entries on or before this day (YYYY-MM-DD, in the configured time zone).
    #[arg(long, value_name = "DATE")]
    pub until: Option<Date>,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first entry changed, removed or reordered.
    Verify {
        /// A head hash printed by an earlier `kitnotes audit verify` and kept elsewhere: the log
        /// must still contain it, else it was rewritten since.
        /// An anchor from `kitnotes audit anchor` is accepted too.
        #[arg(long, value_name = "HASH|ANCHOR")]
        kept_head: Option<String>,
    },
    /// Print a short anchor (store, entry number, hash) to keep apart from the store, on paper
    /// or with the backups: `audit verify --kept-head ANCHOR` later proves the log still holds
    /// it, which catches the store and its counter rolled back together.
    Anchor,
}

/// What an anchor names: the store (the first 12 hex digits of its id), an entry and the
/// start of its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchor {
    store: String,
    seq: u64,
    hash: String,
}

const ANCHOR_TAG: &str = "kn1";

impl Anchor {
    fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().split(':');
        let (tag, store, seq, hash) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit());
        (tag == ANCHOR_TAG && parts.next().is_none() && hex(store) && hex(hash) && hash.len() == 16)
            .then(|| {
                Some(Self {
                    store: store.to_ascii_lowercase(),
                    seq: seq.parse().ok()?,
                    hash: hash.to_ascii_lowercase(),
                })
            })
            .flatten()
    }

    fn print(&self) -> String {
        format!("{ANCHOR_TAG}:{}:{}:{}", self.store, self.seq, self.hash)
    }
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    run_with(env, args, Access::Open)
}

/// The command, with the store `access` gives (a running kitnotes' own, when it holds it).
pub fn run_with(env: &Env, args: Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(AuditCommand::Verify { kept_head }) => verify(env, kept_head.as_deref(), access),
        Some(AuditCommand::Anchor) => anchor(env, access),
        None => list(env, &args, access),
    }
}

fn list(env: &Env, args: &Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let start_of = |d: Date, flag: &str| {
        tz.to_timestamp(d.at(0, 0, 0, 0))
            .map_err(|e| anyhow::anyhow!("--{flag} {d}: {e}"))
    };
    let patient = match &args.patient {
        Some(id) => {
            Some(PatientId::parse(id).map_err(|e| anyhow::anyhow!("--patient {id:?}: {e}"))?)
        }
        None => None,
    };
    if let (Some(s), Some(u)) = (args.since, args.until)
        && s > u
    {
        anyhow::bail!("--since {s} is after --until {u}");
    }
    let filter = AuditFilter {
        patient,
        since: args.since.map(|d| start_of(d, "since")).transpose()?,
        // --until names a whole day: everything before the next one.
        until: args
            .until
            .map(|d| {
                let next = d
                    .checked_add(1.day())
                    .map_err(|e| anyhow::anyhow!("--until {d}: {e}"))?;
                start_of(next, "until")
            })
            .transpose()?,
    };
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let entries = store.audit_log(&filter).map_err(|e| {
        anyhow::anyhow!("{e}\nRun `kitnotes audit verify` to see where the log is damaged.")
    })?;
    if entries.is_empty() {
        writeln!(out, "No audit entries match.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.at.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                e.who.clone(),
                e.action.as_str().to_owned(),
                e.patient.as_ref().map_or("-", |p| p.as_str()).to_owned(),
                e.record.clone().unwrap_or_else(|| "-".to_owned()),
                e.detail.clone(),
            ]
        })
        .collect();
    let zone = tz.iana_name().unwrap_or("local time");
    print_table(
        &[
            "SEQ",
            &format!("TIME ({zone})"),
            "WHO",
            "ACTION",
            "PATIENT",
            "RECORD",
            "DETAIL",
        ],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A kept head: a whole hash, or an anchor.
enum Kept {
    Hash(ChainHash),
    Anchor(Anchor),
}

fn anchor(env: &Env, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let verdict = store.verify_audit()?;
    writeln!(out, "Store: {}", env.store_dir().display())?;
    if let Some(problem) = &verdict.problem {
        writeln!(
            out,
            "Audit log: NOT intact: {problem}. No anchor is given for a damaged log."
        )?;
        return Ok(ExitCode::FAILURE);
    }
    let (Some(head), Some(id)) = (verdict.head, store.store_id()) else {
        writeln!(
            out,
            "The audit log is empty: there is nothing to anchor yet."
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    let a = Anchor {
        store: id.chars().take(12).collect(),
        seq: verdict.entries,
        hash: head.to_hex()[..16].to_owned(),
    };
    writeln!(out, "Anchor: {}", a.print())?;
    writeln!(
        out,
        "Keep it apart from the store (on paper, with the backups). `kitnotes audit verify \
         --kept-head {}` later proves the log still holds entry {}: a store rolled back to an \
         older copy, counter and all, does not.",
        a.print(),
        a.seq
    )?;
    Ok(ExitCode::SUCCESS)
}

fn verify(env: &Env, kept_head: Option<&str>, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let kept = match kept_head {
        Some(h) => Some(
            ChainHash::from_hex(&h.trim().to_ascii_lowercase())
                .map(Kept::Hash)
                .or_else(|| Anchor::parse(h).map(Kept::Anchor))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--kept-head {h:?} is neither a hash (64 hex digits) nor an anchor \
                         (kn1:STORE:ENTRY:HASH, from `kitnotes audit anchor`)"
                    )
                })?,
        ),
        None => None,
    };
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let verdict = store.verify_audit()?;
    writeln!(out, "Store: {}", env.store_dir().display())?;
    if let Some(problem) = &verdict.problem {
        writeln!(out, "Audit log: NOT intact: {problem}.")?;
        writeln!(
            out,
            "The {} entries before that are in order. Restore the store from a backup to see \
             the original log.",
            verdict.entries
        )?;
        return Ok(ExitCode::FAILURE);
    }
    writeln!(out, "Audit log: {} entries, chain intact.", verdict.entries)?;
    if let Some(head) = verdict.head {
        writeln!(out, "Head: {head}")?;
        writeln!(
            out,
            "Keep this hash apart from the store (with a backup, on paper); `kitnotes audit \
             verify --kept-head HASH` then proves the log was not rewritten since."
        )?;
    }
    match kept {
        None => {}
        Some(Kept::Hash(kept)) => {
            let all = store.audit_log(&AuditFilter::default())?;
            match all.iter().find(|e| e.hash == kept) {
                Some(e) => writeln!(out, "The kept head is entry {} of this log.", e.seq)?,
                None => {
                    writeln!(
                        out,
                        "The kept head {kept} is NOT in this log: the log was rewritten since \
                         that hash was taken."
                    )?;
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Some(Kept::Anchor(a)) => {
            if !store.store_id().is_some_and(|id| id.starts_with(&a.store)) {
                writeln!(
                    out,
                    "The anchor {} is NOT this store's (its store id starts {}): it was taken \
                     from another store, or this database was swapped for another's.",
                    a.print(),
                    a.store
                )?;
                return Ok(ExitCode::FAILURE);
            }
            let all = store.audit_log(&AuditFilter::default())?;
            match all.iter().find(|e| e.seq == a.seq) {
                Some(e) if e.hash.to_hex().starts_with(&a.hash) => {
                    writeln!(out, "The anchor is entry {} of this log.", e.seq)?
                }
                found => {
                    writeln!(
                        out,
                        "The anchor {} is NOT in this log ({}): the store was rolled back or its \
                         log rewritten since the anchor was taken. Restore the newest backup \
                         that holds it.",
                        a.print(),
                        match found {
                            Some(_) => format!("entry {} differs", a.seq),
                            None => format!("the log ends at entry {}", all.len()),
                        }
                    )?;
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
