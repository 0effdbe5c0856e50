//! `kitnotes import FILE`: add records from a JSON Lines file, all or nothing.

use super::Env;
use crate::interchange;
use anyhow::Context;
use std::io::BufReader;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import (docs/FORMAT.md); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
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
    writeln!(
        super::output::stdout(),
        "Imported {summary} into {} in {:.2} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}
