//! `kitnotes today`: the Today list as text, for a morning glance, a script or a printout. The
//! same rules as the Today view (`t` in the app): item-9 answers not followed up, the day's
//! dosing sessions, check-ins overdue or due today, unsigned drafts.

use super::serve::{Access, Got};
use super::{Env, print_table};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The moment to make the list for, e.g. 2026-11-21T08:00:00Z [default: now].
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    run_with(env, args, Access::Open)
}

/// The list, with the store `access` gives (a running kitnotes' own, when it holds it).
pub fn run_with(env: &Env, args: Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let mut out = super::output::stdout();
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let now = args.at.unwrap_or_else(jiff::Timestamp::now);
    let t = crate::app::views::read_today(
        &*store,
        &env.config.cadence(),
        env.config.reinduction_gap(),
        now,
        &tz,
    )?;
    writeln!(
        out,
        "Today, {}",
        now.to_zoned(tz.clone()).strftime("%A %-d %B %Y, %H:%M %Z")
    )?;
    for (name, rows) in t.groups() {
        writeln!(out)?;
        if rows.is_empty() {
            writeln!(out, "{name}: none")?;
            continue;
        }
        writeln!(out, "{name} ({}):", rows.len())?;
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let text = r.item.text(now, &tz);
                vec![
                    text.when,
                    r.patient_name.clone(),
                    r.patient.to_string(),
                    text.what,
                    text.remark,
                ]
            })
            .collect();
        print_table(&["when", "patient", "id", "what", ""], &table)?;
    }
    Ok(ExitCode::SUCCESS)
}
