//! `kitnotes import FILE`: add records from a JSON Lines file, all or nothing.

use super::Env;
use crate::interchange;
use anyhow::Context;
use std::io::Write;
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
    let file = if name == "-" {
        spooled(&mut std::io::stdin().lock(), "standard input")?
    } else {
        let mut file =
            std::fs::File::open(&args.file).with_context(|| format!("cannot open {name}"))?;
        match file.metadata() {
            Ok(m) if m.is_dir() => anyhow::bail!("{name} is a directory, not a kitnotes file"),
            Ok(m) if m.is_file() => file,
            // A pipe (`<(zcat caseload.jsonl.gz)`) or a device: read once, so copied first.
            _ => spooled(&mut file, &name)?,
        }
    };
    let dir = env.store_dir();
    let store = env.open_store(&dir)?;
    let started = std::time::Instant::now();
    let source = if name == "-" { "standard input" } else { &name };
    let summary = interchange::import_into(&store, file, &env.actor(), source).map_err(|e| {
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
    if summary.sessions > 0 && summary.courses == 0 {
        writeln!(
            super::output::stdout(),
            "{}",
            inferred_courses(env.config.reinduction_gap())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `input` copied into an unnamed temporary file (in `$TMPDIR`, readable by this user only, and
/// gone when kitnotes ends however it ends), for import to read twice.
fn spooled(input: &mut dyn std::io::Read, name: &str) -> anyhow::Result<std::fs::File> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        ".kitnotes-import-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| {
        format!(
            "cannot make a temporary copy of {name} in {}",
            dir.display()
        )
    })?;
    // Unnamed from here on: nothing is left behind, even after a kill.
    let _ = std::fs::remove_file(&path);
    let mut out = std::io::BufWriter::new(&mut file);
    interchange::copy_lines(std::io::BufReader::new(input), &mut out)
        .map_err(|e| anyhow::anyhow!("{name}: {e}\nNothing was imported."))?;
    drop(out);
    Ok(file)
}
