//! `kitnotes export`: write the store (or one patient) as JSON Lines or as a Markdown chart, one
//! patient as a FHIR R4 bundle, or one esketamine session as the REMS monitoring summary.

use super::Env;
use super::serve::{Access, Got};
use crate::interchange::{
    self, ExportError, ExportOptions, ExportSummary, FhirOptions, FhirSummary,
};
use crate::model::{PatientId, Record, RecordId};
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
    /// The esketamine REMS patient monitoring summary of one session (needs --session ID).
    Rems,
    /// A FHIR R4 Bundle (JSON) of one patient's records (needs --patient ID); docs/FHIR.md.
    Fhir,
    /// One patient's chart as a PDF to hand over (needs --patient ID): the Markdown chart's
    /// content, each page naming the patient and numbered "page N of M".
    Pdf,
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
    /// The dosing session to summarise, with --format rems.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// With --format fhir: a `collection` to hand over (the default), or a `transaction` of
    /// PUT requests at the resources' stable ids, which a FHIR server can be sent twice.
    #[arg(long, value_enum, value_name = "KIND")]
    pub bundle: Option<BundleArg>,
}

/// `--bundle`: the kind of FHIR Bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BundleArg {
    Collection,
    Transaction,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    run_with(env, args, Access::Open)
}

/// The export, with the store `access` gives (a running kitnotes' own, when it holds it).
pub fn run_with(env: &Env, args: Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    if args.format == Format::Rems {
        return rems(env, &args, access);
    }
    if args.format == Format::Fhir {
        return fhir(env, &args, access);
    }
    if args.bundle.is_some() {
        anyhow::bail!("--bundle is only used with --format fhir");
    }
    if args.format == Format::Pdf {
        return pdf(env, &args, access);
    }
    if args.session.is_some() {
        anyhow::bail!("--session is only used with --format rems");
    }
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
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let write = |out: &mut dyn Write| -> Result<interchange::ExportSummary, ExportError> {
        match args.format {
            Format::Jsonl => interchange::export_jsonl(&*store, out, &opts),
            // `Rems`, `Fhir` and `Pdf` went their own ways at the top.
            Format::Md | Format::Rems | Format::Fhir | Format::Pdf => {
                let chart = chart_options(env, false);
                interchange::export_markdown_with(&*store, out, &opts, &chart)
            }
        }
    };
    let (summary, destination) = write_export(args.output.as_deref(), write)?;
    if let (Some(summary), Some(path)) = (&summary, &args.output) {
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
        super::output::note(&line);
    }
    // A disclosure is logged once it has happened, with what went out.
    let mut event = env
        .actor()
        .event(AuditAction::Exported)
        .detail(export_detail(&args, summary.as_ref(), &destination));
    if let Some(p) = &opts.patient {
        event = event.patient(p);
    }
    log_export(&*store, &event, &destination)
}

/// "JSON Lines to out.jsonl: 12 patients, 230 notes, ...; psychotherapy notes left out (58)".
fn export_detail(args: &Args, summary: Option<&ExportSummary>, destination: &str) -> String {
    let format = match args.format {
        Format::Jsonl => "JSON Lines",
        Format::Md => "Markdown chart",
        Format::Rems => "REMS monitoring summary",
        Format::Fhir => "FHIR R4 bundle",
        Format::Pdf => "PDF chart",
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

/// The REMS monitoring summary of session `id` in `store` (checked to belong to `patient` when
/// given), made safe to print: control characters in a name or a lot number show as visible
/// stand-ins, never act on the terminal. With the session's patient id.
pub(crate) fn rems_text(
    store: &dyn Store,
    id: &str,
    patient: Option<&str>,
    clinic: &crate::model::Clinic,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<(String, PatientId)> {
    let session_id = RecordId::parse(id).map_err(|e| anyhow::anyhow!("--session {id:?}: {e}"))?;
    let session = match store.record(session_id.as_str())? {
        Some(Record::Session(s)) => s,
        Some(other) => anyhow::bail!(
            "{session_id} is {}, not a dosing session",
            interchange::kind_with_article(other.kind())
        ),
        None => anyhow::bail!("no dosing session with id {session_id} in the store"),
    };
    if let Some(p) = patient
        && p != session.patient.as_str()
    {
        anyhow::bail!(
            "dosing session {session_id} belongs to patient {}, not {p}",
            session.patient
        );
    }
    let patient = store.patient(&session.patient)?.with_context(|| {
        format!(
            "dosing session {session_id} names patient {}, who is not in the store",
            session.patient
        )
    })?;
    let text = interchange::rems_summary(&patient, &session, clinic, tz)?;
    Ok((
        crate::text_safety::printable(&text).into_owned(),
        session.patient,
    ))
}

/// `--format rems --session ID`: the REMS monitoring summary of one esketamine session, to
/// standard output or `-o`, logged as an export of that patient's record. With kitnotes open on
/// the store, the open kitnotes makes the summary and logs the export (over its socket, as for
/// `kitnotes backup`); this process writes it.
fn rems(env: &Env, args: &Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let Some(id) = &args.session else {
        anyhow::bail!("--format rems needs --session ID: the esketamine session to summarise");
    };
    if args.include_psychotherapy_notes {
        anyhow::bail!(
            "--include-psychotherapy-notes does not apply to --format rems: the summary holds no notes"
        );
    }
    RecordId::parse(id).map_err(|e| anyhow::anyhow!("--session {id:?}: {e}"))?;
    let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
    let destination = match &args.output {
        None => "standard output".to_owned(),
        Some(path) => std::path::absolute(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
    };
    let store = match access {
        Access::Served(store) => Some(super::serve::Held::Served(store)),
        Access::Open => match env.open_existing_store() {
            Ok(store) => Some(super::serve::Held::Own(Box::new(store))),
            Err(e) if super::backup::is_locked(&e) => None,
            Err(e) => return Err(e),
        },
    };
    let (text, owner) = match &store {
        Some(store) => {
            let (text, owner) = rems_text(
                &**store,
                id,
                args.patient.as_deref(),
                &env.config.clinic,
                &tz,
            )?;
            (text, Some(owner))
        }
        None => {
            let who = crate::store::audit::who(env.config.clinician.as_deref());
            super::backup::ask_open_kitnotes_for_rems(
                &env.store_dir(),
                id,
                args.patient.as_deref(),
                &destination,
                who,
            )
            .map(|text| (text, None))?
        }
    };
    let destination = match &args.output {
        None => {
            let mut out = super::output::stdout();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => destination,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    "standard output (the reader stopped early)".to_owned()
                }
                Err(e) => return Err(anyhow::Error::from(e).context("cannot write the summary")),
            }
        }
        Some(path) => {
            write_atomically(path, |out| {
                out.write_all(text.as_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))
            })?;
            super::output::note(&format!(
                "Exported the REMS monitoring summary of dosing session {id} to {}",
                path.display()
            ));
            path.display().to_string()
        }
    };
    // Over the socket the open kitnotes has logged the export already.
    let (Some(store), Some(patient)) = (store, owner) else {
        return Ok(ExitCode::SUCCESS);
    };
    let event = env
        .actor()
        .event(AuditAction::Exported)
        .patient(&patient)
        .record(id.as_str())
        .detail(format!(
            "REMS monitoring summary of dosing session {id} to {destination}"
        ));
    store
        .log_event(&event)
        .and_then(|_| store.flush())
        .with_context(|| {
            format!(
                "the summary was written to {destination}, but the audit log could not record it"
            )
        })?;
    Ok(ExitCode::SUCCESS)
}

/// `--format fhir --patient ID`: one patient's records as a FHIR R4 Bundle, to standard output
/// or `-o`; says on standard error what went in and what was left out, and logs the export.
fn fhir(env: &Env, args: &Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let Some(id) = &args.patient else {
        anyhow::bail!(
            "--format fhir needs --patient ID: a FHIR bundle holds one patient's records"
        );
    };
    if args.session.is_some() {
        anyhow::bail!("--session is only used with --format rems");
    }
    let patient = PatientId::parse(id).map_err(|e| anyhow::anyhow!("--patient {id:?}: {e}"))?;
    let now = jiff::Timestamp::now();
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let opts = FhirOptions {
        include_psychotherapy_notes: args.include_psychotherapy_notes,
        // Whole seconds: the bundle says when it was made, not to the nanosecond.
        generated_at: jiff::Timestamp::from_second(now.as_second()).ok(),
        tz: env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC),
        reinduction_gap: env.config.reinduction_gap(),
        identifier_system: match env.config.fhir_identifier_system() {
            Some(system) => system.to_owned(),
            None => interchange::fhir::store_identifier_system(store.store_id().as_deref()),
        },
        bundle: match args.bundle {
            Some(BundleArg::Transaction) => interchange::fhir::BundleKind::Transaction,
            Some(BundleArg::Collection) | None => interchange::fhir::BundleKind::Collection,
        },
        ..FhirOptions::default()
    };
    let (summary, destination) = write_export(args.output.as_deref(), |out| {
        interchange::export_fhir(&*store, out, &patient, &opts)
    })?;
    let detail = fhir_detail(&patient, summary.as_ref(), &destination, args);
    if summary.is_some() {
        super::output::note(&format!("Exported {detail}"));
    }
    let event = env
        .actor()
        .event(AuditAction::Exported)
        .patient(&patient)
        .detail(detail);
    log_export(&*store, &event, &destination)
}

/// "patient p1 to out.json: 1 Patient, 4 Encounters, ...; left out: 2 psychotherapy notes
/// (--include-psychotherapy-notes adds them), 1 unsigned draft (only signed notes are documents)".
fn fhir_detail(
    patient: &PatientId,
    summary: Option<&FhirSummary>,
    destination: &str,
    args: &Args,
) -> String {
    let mut detail = format!("patient {patient} as a FHIR R4 bundle to {destination}");
    let Some(s) = summary else {
        return detail;
    };
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let went_in = [
        (s.patients, "Patient", "Patients"),
        (s.encounters, "Encounter", "Encounters"),
        (
            s.medication_administrations,
            "MedicationAdministration",
            "MedicationAdministrations",
        ),
        (s.medications, "Medication", "Medications"),
        (
            s.questionnaire_responses,
            "QuestionnaireResponse",
            "QuestionnaireResponses",
        ),
        (
            s.score_observations
                + s.vital_sign_observations
                + s.rating_observations
                + s.safety_follow_ups,
            "Observation",
            "Observations",
        ),
        (s.goals, "Goal", "Goals"),
        (s.episodes_of_care, "EpisodeOfCare", "EpisodesOfCare"),
        (s.care_plans, "CarePlan", "CarePlans"),
        (
            s.document_references,
            "DocumentReference",
            "DocumentReferences",
        ),
        (s.adverse_events, "AdverseEvent", "AdverseEvents"),
        (s.conditions, "Condition", "Conditions"),
        (
            s.medication_statements,
            "MedicationStatement",
            "MedicationStatements",
        ),
        (
            s.allergy_intolerances,
            "AllergyIntolerance",
            "AllergyIntolerances",
        ),
    ];
    let parts: Vec<String> = went_in
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|&(n, one, many)| count(n, one, many))
        .collect();
    detail.push_str(&format!(": {}", parts.join(", ")));
    let mut left_out = Vec::new();
    if s.psychotherapy_notes_withheld > 0 {
        left_out.push(format!(
            "{} (--include-psychotherapy-notes adds them)",
            count(
                s.psychotherapy_notes_withheld,
                "psychotherapy note",
                "psychotherapy notes"
            )
        ));
    }
    if s.drafts_left_out > 0 {
        left_out.push(format!(
            "{} (only signed notes are exported as documents)",
            count(s.drafts_left_out, "unsigned draft", "unsigned drafts")
        ));
    }
    if s.doses_not_given > 0 {
        left_out.push(format!(
            "{} not given yet",
            count(s.doses_not_given, "dose", "doses")
        ));
    }
    if s.measures_left_out > 0 {
        left_out.push(count(
            s.measures_left_out,
            "measure that does not score",
            "measures that do not score",
        ));
    }
    if !left_out.is_empty() {
        detail.push_str(&format!("; left out: {}", left_out.join(", ")));
    }
    if args.include_psychotherapy_notes {
        detail.push_str("; psychotherapy notes included (--include-psychotherapy-notes)");
    }
    detail
}

/// `--format pdf --patient ID`: one patient's chart as a PDF, to `-o` or standard output;
/// says on standard error what went in and logs the export.
fn pdf(env: &Env, args: &Args, access: Access<'_>) -> anyhow::Result<ExitCode> {
    let Some(id) = &args.patient else {
        anyhow::bail!("--format pdf needs --patient ID: a PDF chart holds one patient's records");
    };
    if args.session.is_some() {
        anyhow::bail!("--session is only used with --format rems");
    }
    let patient = PatientId::parse(id).map_err(|e| anyhow::anyhow!("--patient {id:?}: {e}"))?;
    let chart = chart_options(env, args.include_psychotherapy_notes);
    let store = match access.store(env)? {
        Got::Store(s) => s,
        Got::Answered(code) => return Ok(code),
    };
    let (summary, destination) = write_export(args.output.as_deref(), |out| {
        interchange::export_pdf(&*store, out, &patient, &chart)
    })?;
    let detail = export_detail(args, summary.as_ref(), &destination);
    if let Some(s) = &summary {
        let mut line = format!("Exported patient {patient}'s {detail}");
        if s.psychotherapy_notes_withheld > 0 {
            line.push_str(" (--include-psychotherapy-notes adds them)");
        }
        super::output::note(&line);
    }
    let event = env
        .actor()
        .event(AuditAction::Exported)
        .patient(&patient)
        .detail(detail);
    log_export(&*store, &event, &destination)
}

/// The chart as config.toml sets it (time zone, courses, stalled goals), judged now: for the
/// Markdown and the PDF alike.
fn chart_options(
    env: &Env,
    include_psychotherapy_notes: bool,
) -> interchange::markdown::ChartOptions {
    interchange::markdown::ChartOptions {
        tz: env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC),
        reinduction_gap: env.config.reinduction_gap(),
        include_psychotherapy_notes,
        now: Some(jiff::Timestamp::now()),
        stalled_weeks: env.config.stalled_weeks(),
        ..Default::default()
    }
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over `path`, so a crash
/// or an error never leaves half an export under the real name.
/// Records a disclosure that has happened (an export written, or cut short by its reader).
fn log_export(
    store: &dyn Store,
    event: &crate::store::AuditEvent,
    destination: &str,
) -> anyhow::Result<ExitCode> {
    store
        .log_event(event)
        .and_then(|_| store.flush())
        .with_context(|| {
            format!(
                "the export to {destination} was written, but the audit log could not record it"
            )
        })?;
    Ok(ExitCode::SUCCESS)
}

/// Writes an export to `path` (whole, then moved into place) or to standard output, where a
/// reader that stops early (`| head`) is not an error: part of the export went out, so the caller
/// still records it. Returns what was written (`None`: the reader stopped early) and where.
fn write_export<S>(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<S, ExportError>,
) -> anyhow::Result<(Option<S>, String)> {
    let Some(path) = path else {
        let mut out = BufWriter::new(super::output::stdout());
        return match write(&mut out).and_then(|s| out.flush().map(|_| s).map_err(ExportError::Io)) {
            Ok(s) => Ok((Some(s), "standard output".to_owned())),
            Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok((
                None,
                "standard output (the reader stopped early)".to_owned(),
            )),
            Err(e) => Err(e.into()),
        };
    };
    let summary = write_atomically(path, |out| write(out).map_err(anyhow::Error::from))?;
    Ok((Some(summary), path.display().to_string()))
}

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
    // A device, a pipe or a socket (`-o /dev/stdout`, a FIFO) is written into as it is: moving a
    // file over it would replace it (as root, even /dev/null).
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut out = BufWriter::new(file);
        let value = body(&mut out)?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(value);
    }
    let tmp = parent.join(format!(".{}.kitnotes-tmp", file_name.to_string_lossy()));
    let result = (|| {
        // Readable by this user only: an export holds the records in plain text.
        let _ = std::fs::remove_file(&tmp);
        let file = crate::store::backup::create_private(&tmp)
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
