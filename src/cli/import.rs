//! `kitnotes import FILE`: add records from a JSON Lines file, all or nothing.

use super::Env;
use crate::interchange;
use anyhow::Context;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import (docs/FORMAT.md); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// What kitnotes does with doses that no course record covers, said after an import or a check
/// that found none.
pub fn inferred_courses(gap: crate::model::cadence::CadenceStep) -> String {
    format!(
        "No course records: courses are inferred from the dose dates (a dose more than {} after \
         the one before starts a re-induction; [courses] reinduction_gap in config.toml)",
        gap.label()
    )
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let reader: Box<dyn std::io::BufRead> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(&args.file).with_context(|| format!("cannot open {name}"))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            anyhow::bail!("{name} is a directory, not a kitnotes file");
        }
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let dir = env.store_dir();
    let store = env.open_store(&dir)?;
    let started = std::time::Instant::now();
    let source = if name == "-" { "standard input" } else { &name };
    let summary = interchange::import_into(&store, reader, &env.actor(), source).map_err(|e| {
        let outcome = if e.records_were_written() {
            "The records are in the store; run `kitnotes check` once the disk problem is fixed."
        } else {
            "Nothing was imported."
        };
        anyhow::anyhow!("{source}: {e}\n{outcome}")
    })?;
    println!(
        "Imported {summary} into {} in {:.2} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    if summary.sessions > 0 && summary.courses == 0 {
        println!("{}", inferred_courses(env.config.reinduction_gap()));
    }
    Ok(ExitCode::SUCCESS)
}
