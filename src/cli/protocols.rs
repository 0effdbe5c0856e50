//! `kitnotes protocols [ID]`: list the protocol profiles in use, or show one in full.
//!
//! Broken user profile files are reported on standard error with file, line and column, and make
//! the command exit with 1, while everything that loaded is still listed: a typo in one file is
//! never silent and never hides the other profiles.

use super::{Env, print_table};
use crate::protocols::{self, CheckpointKind, LoadedProtocol};
use crate::text_safety::one_line;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show this profile's dose, thresholds and checklist (an id as the list shows it).
    pub id: Option<String>,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let loaded = protocols::load(&env.paths.config_dir);
    let mut code = ExitCode::SUCCESS;
    match args.id {
        None => list(loaded.protocols.iter())?,
        Some(id) => match loaded.protocols.loaded(&id) {
            Some(p) => show(p)?,
            None => {
                eprintln!(
                    "kitnotes: error: no protocol with id {id:?}; `kitnotes protocols` lists them"
                );
                code = ExitCode::FAILURE;
            }
        },
    }
    if super::report_skipped("protocol", &loaded.errors) {
        code = ExitCode::FAILURE;
    }
    Ok(code)
}

fn list<'a>(protocols: impl Iterator<Item = &'a LoadedProtocol>) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = protocols
        .map(|l| {
            let p = &l.protocol;
            vec![
                p.id.clone(),
                p.medication.clone(),
                p.route.label().to_owned(),
                p.dose.label(),
                if p.rems { "yes" } else { "" }.to_owned(),
                p.name.clone(),
                l.source.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "MEDICATION",
            "ROUTE",
            "DOSE",
            "REMS",
            "NAME",
            "SOURCE",
        ],
        &rows,
    )
}

fn show(l: &LoadedProtocol) -> std::io::Result<()> {
    let mut out = super::output::stdout();
    let p = &l.protocol;
    let t = &p.thresholds;
    // A protocol profile is a user's file: its text is made inert before it reaches the
    // terminal.
    writeln!(out, "{} ({})", one_line(&p.name), one_line(&p.id))?;
    writeln!(out, "Source: {}", l.source)?;
    writeln!(out, "Medication: {}", one_line(&p.medication))?;
    writeln!(out, "Route: {}", p.route.label())?;
    writeln!(out, "Usual dose: {}", one_line(&p.dose.label()))?;
    writeln!(
        out,
        "REMS: {}",
        if p.rems {
            "yes (patient monitoring form due within 7 days)"
        } else {
            "no"
        }
    )?;
    writeln!(out)?;
    writeln!(out, "Thresholds:")?;
    writeln!(
        out,
        "  Pre-dose BP above {}/{}: consider delaying treatment",
        t.predose_systolic_max, t.predose_diastolic_max
    )?;
    writeln!(
        out,
        "  BP rise from baseline of at least {} systolic or {} diastolic",
        t.rise_systolic, t.rise_diastolic
    )?;
    writeln!(out, "  Flagged at any time: {}", t.absolute_summary())?;
    writeln!(out, "  Observe at least {} min", t.min_observation_minutes)?;
    writeln!(out)?;
    writeln!(out, "Checklist:")?;
    for (i, c) in p.checkpoints.iter().enumerate() {
        let when = match (c.kind, c.at_minutes) {
            (_, Some(m)) => format!("at +{m} min"),
            (CheckpointKind::VitalsBeforeDose, None) => "at or before T0".to_owned(),
            (CheckpointKind::VitalsBeforeDischarge, None) => format!(
                "from +{} min, or before an early discharge",
                i64::from(t.min_observation_minutes) - protocols::BEFORE_DISCHARGE_DUE_MINUTES
            ),
            (_, None) => format!("at +{} min", t.min_observation_minutes),
        };
        writeln!(
            out,
            "  {}. {} ({}, {when})",
            i + 1,
            one_line(&c.label),
            c.kind.as_str()
        )?;
    }
    Ok(())
}
