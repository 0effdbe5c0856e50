//! Writing the open patient's chart as a PDF from the UI (`chart.pdf`): into the exports
//! folder, readable by this user only, never over an earlier file, logged in the audit trail
//! like `kitnotes export`, and said in the status bar with its path.

use super::App;
use crate::interchange::markdown::ChartOptions;
use crate::interchange::pdf;
use crate::store::AuditAction;
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

impl App {
    pub(super) fn export_chart_pdf(&mut self) -> anyhow::Result<()> {
        let Some(patient) = self.current_patient() else {
            anyhow::bail!("No patient selected: open a patient to write their chart");
        };
        match self.write_chart_pdf(&patient.id) {
            Ok(said) => self.say(said),
            Err(e) => return Err(e.context("The chart was not written")),
        }
        Ok(())
    }

    fn write_chart_pdf(&mut self, id: &crate::model::PatientId) -> anyhow::Result<String> {
        let Some(dir) = self.settings.export_dir.clone() else {
            anyhow::bail!("no exports folder is set; `kitnotes export --format pdf` writes one");
        };
        let records = self
            .store
            .patient_records(id)?
            .with_context(|| format!("patient {id} is not in the store"))?;
        let opts = ChartOptions {
            tz: self.settings.time_zone.clone(),
            thresholds: self.settings.thresholds,
            reinduction_gap: self.settings.reinduction_gap,
            include_psychotherapy_notes: false,
            now: Some(self.now()),
            stalled_weeks: self.settings.stalled_weeks,
        };
        let chart = pdf::render(&records, &opts);
        let day = self.now().to_zoned(self.settings.time_zone.clone()).date();
        let path = write_new_private(&dir, &format!("chart-{id}-{day}"), &chart.bytes)?;
        let withheld = chart.summary.psychotherapy_notes_withheld;
        let mut detail = format!("PDF chart to {}: {} pages", path.display(), chart.pages);
        if withheld > 0 {
            detail.push_str(&format!("; psychotherapy notes left out ({withheld})"));
        }
        // A disclosure is logged once it has happened, with what went out.
        let who = crate::store::audit::who(self.settings.clinician.as_deref());
        let event = crate::store::Actor::new(who, self.now())
            .event(AuditAction::Exported)
            .patient(id)
            .detail(detail);
        self.log_disclosure(&event).with_context(|| {
            format!(
                "it is at {}, but the audit log could not record the export",
                path.display()
            )
        })?;
        let mut said = format!(
            "Chart of {} written to {} ({} pages)",
            records.patient.name,
            path.display(),
            chart.pages
        );
        if withheld > 0 {
            said.push_str(&format!(
                "; {withheld} psychotherapy notes left out (kitnotes export --format pdf \
                 --include-psychotherapy-notes adds them, with the patient's authorisation)"
            ));
        }
        Ok(said)
    }
}

/// Writes `bytes` to `<dir>/<stem>.pdf`, or `<stem>-2.pdf`, `-3`... when that exists: an
/// earlier chart is never replaced. Written whole to a temporary file (0600) and synced first,
/// so the name never holds half a chart. Makes `dir` (0700) when it is missing.
fn write_new_private(dir: &Path, stem: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let tmp = private_temp(dir, &format!(".{stem}.pdf.kitnotes-tmp"), bytes)?;
    for n in 1..10_000 {
        let path = match n {
            1 => dir.join(format!("{stem}.pdf")),
            n => dir.join(format!("{stem}-{n}.pdf")),
        };
        // A hard link never replaces an existing file: the name is taken or it is ours.
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
                let _ = crate::store::backup::sync_dir(dir);
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(anyhow::Error::from(e).context(format!(
                    "cannot move the chart into place at {}",
                    path.display()
                )));
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    anyhow::bail!("{} holds too many charts named {stem}", dir.display())
}

/// Makes `dir` (0700, with its parents) and writes `bytes` into a synced temporary file
/// `tmp_name` in it, readable by this user only (0600), for the caller to move into place; a
/// file that could not be written whole is removed.
impl App {
    /// Records an export that has happened in the audit log, durably.
    pub(super) fn log_disclosure(
        &mut self,
        event: &crate::store::AuditEvent,
    ) -> anyhow::Result<()> {
        self.store.log_event(event)?;
        self.flush_store()
    }
}

pub(super) fn private_temp(dir: &Path, tmp_name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot make the folder {}", dir.display()))?;
    let tmp = dir.join(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| -> std::io::Result<()> {
        let mut file = crate::store::backup::create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::from(e).context(format!("cannot write {}", tmp.display())));
    }
    Ok(tmp)
}
