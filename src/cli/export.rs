//! `kitnotes export`: write the store (or one patient) as JSON Lines or as a Markdown chart.

use super::Env;
use crate::interchange::{self, ExportError, ExportOptions, ExportSummary};
use crate::model::PatientId;
use crate::store::{AuditAction, Store};
use anyhow::Context;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON Lines, the interchange format (docs/FORMAT.md); imports back byte for byte.
    Jsonl,
    /// A readable chart per patient, chronological, for printing.
    Md,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this patient (by id).
    #[arg(long, value_name = "ID")]
    pub patient: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write here instead of standard output (written whole, then moved into place).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Include psychotherapy notes (private process notes). Only with the patient's authorisation.
    #[arg(long)]
    pub include_psychotherapy_notes: bool,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let patient = match &args.patient {
        Some(id) => {
            Some(PatientId::parse(id).map_err(|e| anyhow::anyhow!("--patient {id:?}: {e}"))?)
        }
        None => None,
    };
    let opts = ExportOptions {
        patient,
        include_psychotherapy_notes: args.include_psychotherapy_notes,
    };
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let store = env.open_existing_store()?;
    let write = |out: &mut dyn Write| -> Result<interchange::ExportSummary, ExportError> {
        match args.format {
            Format::Jsonl => interchange::export_jsonl(&store, out, &opts),
            Format::Md => interchange::export_markdown(&store, out, &opts, &tz),
        }
    };
    let (summary, destination) = match &args.output {
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            match write(&mut out).and_then(|s| out.flush().map(|_| s).map_err(ExportError::Io)) {
                Ok(s) => (Some(s), "standard output".to_owned()),
                // A reader that stops early (`| head`) is not an error, but part of the export
                // went out, so it is still recorded.
                Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => (
                    None,
                    "standard output (the reader stopped early)".to_owned(),
                ),
                Err(e) => return Err(e.into()),
            }
        }
        Some(path) => {
            let summary = write_atomically(path, |out| write(out).map_err(anyhow::Error::from))?;
            let mut line = format!(
                "Exported {} patients, {} notes, {} dosing sessions, {} measures, {} goals to {}",
                summary.patients,
                summary.notes,
                summary.sessions,
                summary.measures,
                summary.goals,
                path.display()
            );
            if summary.psychotherapy_notes_withheld > 0 {
                line.push_str(&format!(
                    " ({} psychotherapy notes left out; --include-psychotherapy-notes adds them)",
                    summary.psychotherapy_notes_withheld
                ));
            }
            eprintln!("{line}");
            (Some(summary), path.display().to_string())
        }
    };
    // A disclosure is logged once it has happened, with what went out.
    let mut event = env
        .actor()
        .event(AuditAction::Exported)
        .detail(export_detail(&args, summary.as_ref(), &destination));
    if let Some(p) = &opts.patient {
        event = event.patient(p);
    }
    store
        .log_event(&event)
        .and_then(|_| store.flush())
        .with_context(|| {
            format!(
                "the export to {destination} was written, but the audit log could not record it"
            )
        })?;
    Ok(ExitCode::SUCCESS)
}

/// "JSON Lines to out.jsonl: 12 patients, 230 notes, ...; psychotherapy notes left out (58)".
fn export_detail(args: &Args, summary: Option<&ExportSummary>, destination: &str) -> String {
    let format = match args.format {
        Format::Jsonl => "JSON Lines",
        Format::Md => "Markdown chart",
    };
    let mut detail = format!("{format} to {destination}");
    if let Some(s) = summary {
        detail.push_str(&format!(
            ": {} patients, {} notes, {} dosing sessions, {} measures, {} goals",
            s.patients, s.notes, s.sessions, s.measures, s.goals
        ));
        if s.psychotherapy_notes_withheld > 0 {
            detail.push_str(&format!(
                "; psychotherapy notes left out ({})",
                s.psychotherapy_notes_withheld
            ));
        }
    }
    if args.include_psychotherapy_notes {
        detail.push_str("; psychotherapy notes included (--include-psychotherapy-notes)");
    }
    detail
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over `path`, so a crash
/// or an error never leaves half an export under the real name.
fn write_atomically<T>(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = parent.join(format!(".{}.kitnotes-tmp", file_name.to_string_lossy()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut out = BufWriter::new(file);
        let value = body(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move the export into place at {}", path.display()))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
