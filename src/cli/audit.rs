//! `kitnotes audit`: list the audit log (who did what when, filtered by patient and dates), and
//! `kitnotes audit verify`: walk its hash chain and report the first entry changed, removed or
//! reordered.

use super::{Env, print_table};
use crate::model::PatientId;
use crate::store::audit::ChainHash;
use crate::store::{AuditFilter, Store};
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
        #[arg(long, value_name = "HASH")]
        kept_head: Option<String>,
    },
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(AuditCommand::Verify { kept_head }) => verify(env, kept_head.as_deref()),
        None => list(env, &args),
    }
}

fn list(env: &Env, args: &Args) -> anyhow::Result<ExitCode> {
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
    let store = env.open_existing_store()?;
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

fn verify(env: &Env, kept_head: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut out = super::output::stdout();
    let kept =
        match kept_head {
            Some(h) => Some(ChainHash::from_hex(&h.to_ascii_lowercase()).ok_or_else(|| {
                anyhow::anyhow!("--kept-head {h:?} is not a hash (64 hex digits)")
            })?),
            None => None,
        };
    let store = env.open_existing_store()?;
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
    if let Some(kept) = kept {
        let all = store.audit_log(&AuditFilter::default())?;
        match all.iter().find(|e| e.hash == kept) {
            Some(e) => writeln!(out, "The kept head is entry {} of this log.", e.seq)?,
            None => {
                writeln!(
                    out,
                    "The kept head {kept} is NOT in this log: the log was rewritten since that \
                     hash was taken."
                )?;
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
