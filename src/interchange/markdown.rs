//! The printable Markdown chart: one patient's whole course, oldest first, as a clinician reads
//! it before an integration session or a case review.
//!
//! The output depends only on the records, the time zone and the thresholds (never on today's
//! date), so the same data always gives the same chart. Text typed into notes is escaped so it
//! cannot turn into headings, tables, code fences or HTML that would swallow the rest of the
//! chart, and control characters are removed so a chart shown in a terminal cannot drive it.

use super::ExportSummary;
use crate::model::RecordRef;
use crate::model::measure::ANSWER_LABELS;
use crate::model::monitoring::{Thresholds, check_vitals, is_sedated};
use crate::model::session::mg_from_mg_per_kg;
use crate::model::{
    Course, DosingSession, GoalStatus, Instrument, IntegrationGoal, Measure, Note, NoteKind,
    NoteStatus, PatientRecords, SafetyFollowUp, Score,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::io::{self, Write};

/// What goes between two patients' charts: a horizontal rule.
pub const CHART_SEPARATOR: &str = "\n---\n\n";

/// How to render a chart.
#[derive(Debug, Clone)]
pub struct ChartOptions {
    /// The zone every time is shown in (the clinician's; tests use UTC).
    pub tz: TimeZone,
    /// Include psychotherapy notes, marked as private. Off unless the patient authorised it.
    pub include_psychotherapy_notes: bool,
    /// The limits vitals are flagged against.
    pub thresholds: Thresholds,
    /// Where courses are split when they are not recorded (config.toml's `[courses]`).
    pub reinduction_gap: crate::model::cadence::CadenceStep,
    /// The moment the summary's "stalled" marks are judged at (the export's time); `None`:
    /// as of the patient's newest entry, so the same records give the same chart.
    pub now: Option<jiff::Timestamp>,
    /// Weeks without a check-in or progress that stall a goal (`[goals]`).
    pub stalled_weeks: u32,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            tz: TimeZone::UTC,
            include_psychotherapy_notes: false,
            thresholds: Thresholds::default(),
            reinduction_gap: crate::model::course::DEFAULT_REINDUCTION_GAP,
            now: None,
            stalled_weeks: crate::model::summary::STALLED_WEEKS,
        }
    }
}

/// Writes one patient's chart.
pub fn write_chart(
    out: &mut impl Write,
    records: &PatientRecords,
    opts: &ChartOptions,
) -> io::Result<ExportSummary> {
    let (text, summary) = render(records, opts);
    out.write_all(text.as_bytes())?;
    Ok(summary)
}

/// Writes each patient's chart in turn, ordered by patient id, separated by a horizontal rule.
pub fn write_charts<'a>(
    out: &mut impl Write,
    patients: impl IntoIterator<Item = &'a PatientRecords>,
    opts: &ChartOptions,
) -> io::Result<ExportSummary> {
    let mut patients: Vec<&PatientRecords> = patients.into_iter().collect();
    patients.sort_by(|a, b| a.patient.id.cmp(&b.patient.id));
    let mut summary = ExportSummary::default();
    for (i, p) in patients.into_iter().enumerate() {
        if i > 0 {
            out.write_all(CHART_SEPARATOR.as_bytes())?;
        }
        summary.add(&write_chart(out, p, opts)?);
    }
    out.flush()?;
    Ok(summary)
}

/// One patient's chart as a string, with what it contains.
pub fn render(records: &PatientRecords, opts: &ChartOptions) -> (String, ExportSummary) {
    let mut chart = Chart {
        out: String::with_capacity(4096),
        opts,
        records,
        notes_by_id: records.notes.iter().map(|n| (n.id.as_str(), n)).collect(),
        sessions_by_id: records
            .sessions
            .iter()
            .map(|s| (s.id.as_str(), s))
            .collect(),
        summary: ExportSummary::default(),
    };
    chart.header();
    chart.course_summary();
    chart.entries();
    (chart.out, chart.summary)
}

struct Chart<'a> {
    out: String,
    opts: &'a ChartOptions,
    records: &'a PatientRecords,
    notes_by_id: HashMap<&'a str, &'a Note>,
    sessions_by_id: HashMap<&'a str, &'a DosingSession>,
    summary: ExportSummary,
}

impl<'a> Chart<'a> {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    fn header(&mut self) {
        let p = &self.records.patient;
        self.summary.patients += 1;
        self.line(&format!("# {}", inline(&p.name)));
        self.blank();
        self.line(&format!("- **Patient id:** {}", inline(p.id.as_str())));
        if let Some(born) = p.born {
            self.line(&format!("- **Born:** {born}"));
        }
        if let Some(sex) = p.sex {
            self.line(&format!("- **Sex:** {}", sex.label()));
        }
        if let Some(pronouns) = &p.pronouns {
            self.line(&format!("- **Pronouns:** {}", inline(pronouns)));
        }
        if let Some(w) = p.weight_kg {
            self.line(&format!("- **Weight:** {w} kg"));
        }
        if !p.tags.is_empty() {
            let tags: Vec<String> = p.tags.iter().map(|t| inline(t)).collect();
            self.line(&format!("- **Tags:** {}", tags.join(", ")));
        }
        if !p.contact_note.trim().is_empty() {
            self.line(&format!("- **Contact:** {}", inline(&p.contact_note)));
        }
        if p.archived {
            self.line("- **Archived:** yes");
        }
        let zone = self
            .opts
            .tz
            .iana_name()
            .map(str::to_owned)
            .unwrap_or_else(|| "the zone written after each date".to_owned());
        self.line(&format!("- **Times shown in:** {}", inline(&zone)));
        // The course at a glance, as the Course view shows it: the current course, its scores
        // against its own baseline, and every course.
        let r = self.records;
        let induction = crate::protocols::builtins()
            .induction_sessions(&r.sessions, crate::protocols::DEFAULT_INDUCTION_SESSIONS);
        let (all, current) =
            crate::model::course::latest(r, self.opts.reinduction_gap, &self.opts.tz);
        self.line(&format!(
            "- **Course:** {}",
            match all.last() {
                Some(c) => crate::model::course::progress_words(c, induction),
                None => "no sessions yet".to_string(),
            }
        ));
        // One course is the whole story; several are listed, the current first.
        if all.len() > 1 || all.iter().any(|c| !c.inferred()) {
            let lines = crate::model::course::course_lines(&all, &self.opts.tz);
            self.line(&format!("- **Courses:** {}", inline(&lines.join("; "))));
        }
        let scores: Vec<String> = [Instrument::Phq9, Instrument::Gad7]
            .into_iter()
            .filter_map(|i| crate::model::course::progress(&current, i))
            .map(|p| {
                let mut text = inline(&p.describe());
                if let Some(v) = p.latest.item9 {
                    text.push_str(&format!(", **ITEM 9 = {v} at the latest**"));
                }
                text
            })
            .collect();
        if !scores.is_empty() {
            self.line(&format!("- **Scores:** {}", scores.join("; ")));
        }
        if !r.goals.is_empty() {
            let count = |s: GoalStatus| r.goals.iter().filter(|g| g.status == s).count();
            let parts: Vec<String> = [
                GoalStatus::Active,
                GoalStatus::Paused,
                GoalStatus::Achieved,
                GoalStatus::Dropped,
            ]
            .into_iter()
            .filter(|s| count(*s) > 0)
            .map(|s| format!("{} {}", count(s), s.as_str()))
            .collect();
            self.line(&format!("- **Integration goals:** {}", parts.join(", ")));
        }
        self.lists();
    }

    /// The problem, medication and allergy lists: entries not stopped, then those stopped (with
    /// their dates), so the chart's first page answers "what is she on, what is she allergic to".
    fn lists(&mut self) {
        use crate::model::ListKind;
        let r = self.records;
        for (kind, heading) in [
            (ListKind::Problem, "Problems"),
            (ListKind::Medication, "Medications"),
            (ListKind::Allergy, "Allergies"),
        ] {
            let mut entries: Vec<&crate::model::ListEntry> =
                r.lists.iter().filter(|e| e.list == kind).collect();
            if entries.is_empty() {
                continue;
            }
            entries.sort_by_key(|e| (e.stopped.is_some(), e.name.to_lowercase(), e.id.clone()));
            let items: Vec<String> = entries
                .iter()
                .map(|e| {
                    let dates = e.dates();
                    if dates.is_empty() {
                        inline(&e.what())
                    } else {
                        format!("{} ({})", inline(&e.what()), dates)
                    }
                })
                .collect();
            self.line(&format!("- **{heading}:** {}", items.join("; ")));
        }
    }

    /// The one-page summary (`model::summary`), as tables: what the next provider reads first.
    fn course_summary(&mut self) {
        let r = self.records;
        let now = self.opts.now.unwrap_or_else(|| {
            let check_ins = r
                .goals
                .iter()
                .flat_map(|g| g.check_ins.iter().map(|c| c.at));
            r.chronological(true)
                .iter()
                .filter_map(|e| e.at())
                .chain(check_ins)
                .max()
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        });
        let s = crate::model::summary::Summary::of(
            r,
            now,
            self.opts.reinduction_gap,
            self.opts.stalled_weeks,
            &self.opts.tz,
        );
        let day = |t: jiff::Timestamp| format_time(t, &self.opts.tz, "%Y-%m-%d");
        self.blank();
        self.line("## Summary");
        // The lists are in the header above; the tables follow.
        if !s.scores.is_empty() {
            self.blank();
            self.line(
                "| Date | Scale | Score | Severity | Course | When | Against the course baseline |",
            );
            self.line("|---|---|---|---|---|---|---|");
            for row in &s.scores {
                let mut change = row.change.clone();
                if let Some(i9) = row.item9 {
                    change.push_str(&format!(", **ITEM 9 = {i9}**"));
                }
                self.line(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    day(row.at),
                    row.instrument.label(),
                    row.total,
                    row.band,
                    row.course,
                    row.place,
                    change
                ));
            }
        }
        if !s.sessions.is_empty() {
            self.blank();
            self.line("| Date | Course | Session | Dose | Signed | Flags | Adverse events |");
            self.line("|---|---|---|---|---|---|---|");
            for row in &s.sessions {
                let adverse: Vec<String> = row.adverse.iter().map(|a| table_cell(a)).collect();
                self.line(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    day(row.at),
                    row.course,
                    row.number
                        .map_or_else(|| "not dosed".to_owned(), |n| n.to_string()),
                    table_cell(&row.dose),
                    if row.signed { "yes" } else { "no" },
                    row.flags.join(", "),
                    adverse.join("; ")
                ));
            }
        }
        if !s.goals.is_empty() {
            self.blank();
            self.line("| Goal | Status | Target | Last check-in | Stalled |");
            self.line("|---|---|---|---|---|");
            for g in &s.goals {
                self.line(&format!(
                    "| {} | {} | {} | {} | {} |",
                    table_cell(&g.title),
                    g.status.as_str(),
                    g.target.map_or_else(String::new, |t| t.to_string()),
                    g.last.map_or_else(
                        || "none".to_owned(),
                        |(at, p)| format!("{} {p}/10", day(at))
                    ),
                    g.stalled.as_deref().map_or_else(String::new, table_cell)
                ));
            }
        }
        if s.scores.is_empty()
            && s.sessions.is_empty()
            && s.goals.is_empty()
            && s.lists.iter().all(|l| l.1.is_empty())
        {
            self.blank();
            self.line("No scores, sessions or goals yet.");
        }
    }

    fn entries(&mut self) {
        let r = self.records;
        if !self.opts.include_psychotherapy_notes {
            self.summary.psychotherapy_notes_withheld +=
                r.notes.iter().filter(|n| n.kind.is_private()).count();
        }
        for entry in r.chronological(self.opts.include_psychotherapy_notes) {
            self.blank();
            match entry {
                RecordRef::Note(n) => self.note(n),
                RecordRef::Session(s) => self.session(s),
                RecordRef::Measure(m) => self.measure(m),
                RecordRef::Goal(g) => self.goal(g),
                RecordRef::SafetyFollowUp(f) => self.follow_up(f),
                RecordRef::Course(c) => self.course(c),
                RecordRef::ListEntry(l) => self.list_entry(l),
                RecordRef::Patient(_) => {}
            }
        }
    }

    fn when(&self, t: Timestamp) -> String {
        format_time(t, &self.opts.tz, "%Y-%m-%d %H:%M %Z")
    }

    /// A time inside a session: the clock time when it is on the session's day, else the full
    /// date and time.
    fn clock(&self, t: Timestamp, day_of: Timestamp) -> String {
        let tz = &self.opts.tz;
        if t.to_zoned(tz.clone()).date() == day_of.to_zoned(tz.clone()).date() {
            format_time(t, tz, "%H:%M")
        } else {
            format_time(t, tz, "%Y-%m-%d %H:%M")
        }
    }

    fn note(&mut self, n: &Note) {
        self.summary.notes += 1;
        let private = n.kind == NoteKind::Psychotherapy;
        let label = if private {
            "PRIVATE psychotherapy note"
        } else {
            n.kind.label()
        };
        self.line(&format!(
            "## {} · {label}: {}",
            self.when(n.at),
            inline(&n.title)
        ));
        self.blank();
        if private {
            self.line(
                "**PRIVATE psychotherapy note.** The therapist's private process notes, \
                 included because this export asked for them; share only with the patient's \
                 authorisation.",
            );
            self.blank();
        }
        match (n.status, &n.signed_by, n.signed_at) {
            (NoteStatus::Signed, Some(by), Some(at)) => {
                let line = format!("*Signed by {} at {}*", inline(by), self.when(at));
                self.line(&line);
            }
            (NoteStatus::Signed, _, _) => self.line("*Signed (signature details missing)*"),
            (NoteStatus::Draft, _, _) => self.line("*Draft, not signed*"),
        }
        let mut facts = Vec::new();
        if let Some(s) = &n.session {
            facts.push(format!(
                "- **Dosing session:** {}",
                self.session_link(s.as_str())
            ));
        }
        if let Some(t) = &n.template {
            facts.push(format!("- **Template:** {}", inline(t)));
        }
        if !facts.is_empty() {
            self.blank();
            for f in facts {
                self.line(&f);
            }
        }
        // A template's optional sections left empty say nothing; a chart of empty headings
        // would only hide what was written.
        for s in n.sections.iter().filter(|s| !s.body.trim().is_empty()) {
            self.blank();
            self.line(&format!("### {}", inline(&s.heading)));
            self.blank();
            self.line(&block(&s.body));
        }
        for a in &n.addenda {
            self.blank();
            let heading = format!("### Addendum, {}, by {}", self.when(a.at), inline(&a.by));
            self.line(&heading);
            self.blank();
            self.line(&block(&a.text));
        }
    }

    fn since_dose(s: &DosingSession, t: Timestamp) -> Option<String> {
        s.minutes_since_dose(t).map(|m| {
            if m >= 0 {
                format!("T+{m} min")
            } else {
                format!("T{m} min")
            }
        })
    }

    /// "09:40 (T+30 min)", or just the time before T0 is marked.
    fn stamp(&self, s: &DosingSession, t: Timestamp) -> String {
        let clock = self.clock(t, s.at);
        match Self::since_dose(s, t) {
            Some(rel) => format!("{clock} ({rel})"),
            None => clock,
        }
    }

    fn session(&mut self, s: &DosingSession) {
        self.summary.sessions += 1;
        let title = match s.number {
            Some(n) => format!("Dosing session {n}"),
            None => "Dosing session".to_owned(),
        };
        self.line(&format!(
            "## {} · {title}: {}, {}",
            self.when(s.at),
            inline(&s.medication),
            s.route.label()
        ));
        self.blank();
        self.line(&format!("- **Medication:** {}", inline(&s.medication)));
        self.line(&format!("- **Route:** {}", s.route.label()));
        let dose = match (s.dose_mg, s.dose_mg_per_kg, s.weight_kg) {
            (Some(mg), Some(per_kg), Some(w)) => format!("{mg} mg ({per_kg} mg/kg × {w} kg)"),
            (Some(mg), Some(per_kg), None) => format!("{mg} mg ({per_kg} mg/kg)"),
            (Some(mg), None, _) => format!("{mg} mg"),
            (None, Some(per_kg), Some(w)) => format!(
                "{} mg, computed from {per_kg} mg/kg × {w} kg",
                mg_from_mg_per_kg(per_kg, w)
            ),
            (None, Some(per_kg), None) => format!("{per_kg} mg/kg (weight not recorded)"),
            (None, None, _) => "not recorded".to_owned(),
        };
        self.line(&format!("- **Dose:** {dose}"));
        if let Some(lot) = &s.lot {
            self.line(&format!("- **Lot:** {}", inline(lot)));
        }
        if let Some(p) = &s.protocol {
            self.line(&format!("- **Protocol:** {}", inline(p)));
        }
        let t0 = match s.dose_time {
            Some(t) => self.when(t),
            None => "not marked".to_owned(),
        };
        self.line(&format!("- **T0 (dose given):** {t0}"));

        self.vitals(s);

        if !s.observations.is_empty() {
            self.blank();
            self.line("### Observations");
            self.blank();
            let mut obs: Vec<_> = s.observations.iter().collect();
            obs.sort_by_key(|o| o.at);
            for o in obs {
                let marker = if o.adverse { "**ADVERSE EVENT:** " } else { "" };
                let line = format!("- {}: {marker}{}", self.stamp(s, o.at), inline(&o.text));
                self.line(&line);
            }
        }

        if !s.sedation.is_empty() {
            self.blank();
            self.line("### Sedation (MOAA/S)");
            self.blank();
            let predose = s.predose_moaas();
            let mut ratings: Vec<_> = s.sedation.iter().collect();
            ratings.sort_by_key(|r| r.at);
            for r in ratings {
                let before_t0 = s.dose_time.is_none_or(|t0| r.at <= t0);
                let note = if before_t0 {
                    ", pre-dose".to_owned()
                } else if is_sedated(predose, r.moaas) {
                    format!(", **sedated** (pre-dose {})", predose.unwrap_or(5))
                } else {
                    String::new()
                };
                let line = format!("- {}: {}{note}", self.stamp(s, r.at), r.moaas);
                self.line(&line);
            }
        }

        if !s.dissociation.is_empty() {
            self.blank();
            self.line("### Dissociation");
            self.blank();
            let mut ratings: Vec<_> = s.dissociation.iter().collect();
            ratings.sort_by_key(|r| r.at);
            for r in ratings {
                let line = format!(
                    "- {}: {} {}",
                    self.stamp(s, r.at),
                    inline(&r.scale),
                    r.total
                );
                self.line(&line);
            }
        }

        if !s.dose_overrides().is_empty() {
            self.blank();
            self.line("### Doses outside the protocol");
            self.blank();
            for o in s.dose_overrides() {
                let line = format!(
                    "- {} ({}): confirmed by {}, {}: {}",
                    inline(&o.dose),
                    inline(&o.check),
                    inline(&o.by),
                    self.when(o.at),
                    inline(&o.why)
                );
                self.line(&line);
            }
        }

        if !s.corrections().is_empty() {
            self.blank();
            self.line("### Corrections");
            self.blank();
            self.line("The original of each corrected entry, struck through, then the correction.");
            self.blank();
            for k in s.corrections() {
                let entry = match k.entry_at {
                    Some(at) => format!("{} of {}", k.field.label(), self.stamp(s, at)),
                    None => k.field.label().to_owned(),
                };
                let line = format!(
                    "- {entry}: ~~{}~~ → {}; corrected by {}, {}: {}",
                    inline(&k.old),
                    inline(&k.new),
                    inline(&k.by),
                    self.when(k.at),
                    inline(&k.why)
                );
                self.line(&line);
            }
        }

        if !s.adverse_resolved().is_empty() {
            self.blank();
            self.line("### Adverse events resolved");
            self.blank();
            for r in s.adverse_resolved() {
                let line = format!(
                    "- the adverse event of {}: resolved {}, by {}",
                    self.stamp(s, r.event_at),
                    self.stamp(s, r.at),
                    inline(&r.by)
                );
                self.line(&line);
            }
        }

        if s.discharge.is_some() || s.early_end_reason.is_some() {
            self.blank();
            self.line("### Discharge");
            self.blank();
        }
        if let Some(d) = &s.discharge {
            let line = format!("- **Discharged:** {}", self.stamp(s, d.at));
            self.line(&line);
            match (d.transport_arranged, d.without_transport()) {
                (true, _) => self.line("- **Transport arranged:** yes"),
                (false, Some(how)) => self.line(&format!(
                    "- **Transport arranged:** **no**; {how} (the patient must not drive today)"
                )),
                (false, None) => {
                    self.line("- **Transport arranged:** **no** (the patient must not drive today)")
                }
            }
            if let Some(m) = d.ready_minutes {
                self.line(&format!(
                    "- **Ready to leave without the 2-hour rule:** T+{m} min"
                ));
            }
        }
        if let Some(why) = &s.early_end_reason {
            self.line(&format!("- **Ended early because:** {}", inline(why)));
        }
    }

    fn vitals(&mut self, s: &DosingSession) {
        if s.vitals.is_empty() {
            return;
        }
        self.blank();
        self.line("### Vitals");
        self.blank();
        self.line("| Time | Since dose | BP | HR | SpO2 | Flags |");
        self.line("| --- | --- | --- | --- | --- | --- |");
        let baseline = s.baseline_vitals();
        let mut readings: Vec<_> = s.vitals.iter().collect();
        readings.sort_by_key(|v| v.at);
        for v in readings {
            // The same rule as `monitoring::session_flags`, applied per reading so that two
            // readings at the same minute each keep their own flags.
            let predose = s.dose_time.is_none_or(|t0| v.at <= t0);
            let flags: Vec<String> = check_vitals(v, predose, baseline, &self.opts.thresholds)
                .iter()
                .map(|f| format!("**{}**", f.message(&self.opts.thresholds)))
                .collect();
            let dash = || "—".to_owned();
            let bp = match (v.systolic, v.diastolic) {
                (None, None) => dash(),
                (sys, dia) => format!(
                    "{}/{}",
                    sys.map_or_else(dash, |x| x.to_string()),
                    dia.map_or_else(dash, |x| x.to_string())
                ),
            };
            let line = format!(
                "| {} | {} | {bp} | {} | {} | {} |",
                self.clock(v.at, s.at),
                Self::since_dose(s, v.at).unwrap_or_else(dash),
                v.heart_rate.map_or_else(dash, |x| x.to_string()),
                v.spo2.map_or_else(dash, |x| format!("{x}%")),
                if flags.is_empty() {
                    String::new()
                } else {
                    flags.join("; ")
                }
            );
            self.line(&line);
        }
    }

    fn measure(&mut self, m: &Measure) {
        self.summary.measures += 1;
        let label = m.instrument.label();
        let score = m.score();
        let headline = match &score {
            Ok(Score::Scored { total, band, .. }) => format!("{label}: {total}, {}", band.label()),
            Ok(Score::Entered(t)) => format!("{label}: {t}"),
            Err(_) => format!("{label}: cannot be scored"),
        };
        self.line(&format!("## {} · {headline}", self.when(m.at)));
        if let Ok(s) = &score
            && s.item9_flag()
            && m.instrument == Instrument::Phq9
        {
            let answer = m.items.get(8).copied().unwrap_or(0);
            let label = ANSWER_LABELS
                .get(usize::from(answer))
                .copied()
                .unwrap_or("");
            self.blank();
            self.line(&format!(
                "**ITEM 9 above 0: needs follow-up** (item 9 answered {answer}, \"{label}\")"
            ));
            use crate::model::safety::{Answered, answered_after};
            let answered = match answered_after(self.records, m.at) {
                Some(Answered::FollowUp(f)) => format!(
                    "Followed up {} by {} (safety follow-up, risk {}).",
                    self.when(f.at),
                    inline(&f.by),
                    f.risk.as_str()
                ),
                Some(Answered::SignedNote { signed_at }) => {
                    format!("Followed up by a note signed {}.", self.when(signed_at))
                }
                None => "**Not followed up: no note signed and no safety follow-up after it.**"
                    .to_string(),
            };
            self.blank();
            self.line(&answered);
        }
        if let Err(e) = &score {
            self.blank();
            self.line(&format!("*Cannot score: {}*", inline(&e.to_string())));
        }
        let mut facts = Vec::new();
        // Answers read with their questions (PHQ-9, GAD-7); bare numbers only where the items
        // are not the instrument's (a measure that cannot be scored).
        let texts = m
            .instrument
            .items()
            .filter(|texts| texts.len() == m.items.len());
        if !m.items.is_empty() && texts.is_none() {
            let items: Vec<String> = m.items.iter().map(u8::to_string).collect();
            facts.push(format!("- **Items:** {}", items.join(", ")));
        }
        if let Some(s) = &m.session {
            facts.push(format!(
                "- **Dosing session:** {}",
                self.session_link(s.as_str())
            ));
        }
        if !facts.is_empty() {
            self.blank();
            for f in facts {
                self.line(&f);
            }
        }
        if let Some(texts) = texts {
            self.blank();
            self.line("### Answers");
            self.blank();
            self.line(&format!("*{}*", crate::model::measure::STEM));
            self.blank();
            for (n, (text, &answer)) in texts.iter().zip(&m.items).enumerate() {
                let label = ANSWER_LABELS
                    .get(usize::from(answer))
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default();
                self.line(&format!("- Item {}, {text}: **{answer}**{label}", n + 1));
            }
        }
    }

    /// How a goal's link to a note reads: its title and date when the note is in this chart.
    fn note_link(&self, id: &str) -> String {
        match self.notes_by_id.get(id) {
            Some(n)
                if n.kind == NoteKind::Psychotherapy && !self.opts.include_psychotherapy_notes =>
            {
                "a private note, not included".to_owned()
            }
            Some(n) => format!(
                "{} \"{}\" of {} ({})",
                n.kind.label(),
                inline(&n.title),
                format_time(n.at, &self.opts.tz, "%Y-%m-%d"),
                inline(id)
            ),
            None => format!("{} (not in this chart)", inline(id)),
        }
    }

    /// How a link to a dosing session reads: "Dosing session 1 of 2026-03-05 (s1)".
    fn session_link(&self, id: &str) -> String {
        match self.sessions_by_id.get(id) {
            Some(s) => {
                let number = s.number.map(|n| format!(" {n}")).unwrap_or_default();
                format!(
                    "Dosing session{number} of {} ({})",
                    format_time(s.at, &self.opts.tz, "%Y-%m-%d"),
                    inline(id)
                )
            }
            None => format!("{} (not in this chart)", inline(id)),
        }
    }

    fn follow_up(&mut self, f: &SafetyFollowUp) {
        self.summary.safety_follow_ups += 1;
        self.line(&format!(
            "## {} · Safety follow-up (PHQ-9 item 9)",
            self.when(f.at)
        ));
        self.blank();
        self.line(&format!("- **Risk assessed:** {}", f.risk.as_str()));
        self.line(&format!("- **Plan:** {}", inline(&f.plan)));
        self.line(&format!("- **By:** {}", inline(&f.by)));
        if let Some(m) = f
            .measure
            .as_ref()
            .and_then(|id| self.records.measures.iter().find(|m| &m.id == id))
        {
            self.line(&format!(
                "- **Answers:** {} of {}",
                inline(&crate::model::timeline::measure_summary(m)),
                self.when(m.at)
            ));
        }
    }

    fn course(&mut self, c: &Course) {
        self.summary.courses += 1;
        self.line(&format!(
            "## {} · Course started: {}",
            self.when(c.at),
            c.kind.label()
        ));
        self.blank();
        self.line(&format!("- **Started by:** {}", inline(&c.by)));
        if let Some(n) = c.planned_sessions {
            self.line(&format!("- **Induction sessions planned:** {n}"));
        }
        if !c.reason.trim().is_empty() {
            self.line(&format!("- **Reason:** {}", inline(&c.reason)));
        }
    }

    /// A list entry where it was recorded, with its stop and each correction, the values it
    /// replaced struck through and still readable.
    fn list_entry(&mut self, l: &crate::model::ListEntry) {
        use crate::model::lists::RevisionKind;
        self.summary.list_entries += 1;
        self.line(&format!(
            "## {} · {} list: {}",
            self.when(l.at),
            l.list.label(),
            inline(&l.name)
        ));
        self.blank();
        if !l.detail.trim().is_empty() {
            let label = match l.list {
                crate::model::ListKind::Medication => "Dose",
                crate::model::ListKind::Allergy => "Reaction",
                crate::model::ListKind::Problem => "Detail",
            };
            self.line(&format!("- **{label}:** {}", inline(&l.detail)));
        }
        if let Some(c) = l.class {
            self.line(&format!("- **Class:** {}", c.label()));
        }
        if let Some(d) = l.started {
            self.line(&format!("- **Started:** {d}"));
        }
        if let Some(d) = l.stopped {
            self.line(&format!("- **{}:** {d}", l.list.stopped_label()));
        }
        self.line(&format!("- **Recorded by:** {}", inline(&l.by)));
        let mut after = l.values();
        let mut lines = Vec::new();
        for r in l.revisions.iter().rev() {
            let line = match r.kind {
                RevisionKind::Stopped => format!(
                    "- {} by {}, {}{}",
                    l.list.stopped_word(),
                    inline(&r.by),
                    self.when(r.at),
                    if r.why.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", inline(&r.why))
                    }
                ),
                RevisionKind::Corrected => format!(
                    "- corrected: ~~{}~~ → {}; by {}, {}: {}",
                    inline(&r.before.describe(l.list)),
                    inline(&after.describe(l.list)),
                    inline(&r.by),
                    self.when(r.at),
                    inline(&r.why)
                ),
            };
            lines.push(line);
            after = r.before.clone();
        }
        for line in lines.into_iter().rev() {
            self.line(&line);
        }
    }

    fn goal(&mut self, g: &IntegrationGoal) {
        self.summary.goals += 1;
        self.line(&format!(
            "## {} · Integration goal: {}",
            self.when(g.at),
            inline(&g.title)
        ));
        self.blank();
        self.line(&format!("- **Status:** {}", g.status.as_str()));
        self.line(&format!("- **Life domain:** {}", inline(g.domain.as_str())));
        if let Some(d) = g.target_date {
            self.line(&format!("- **Target date:** {d}"));
        }
        if let Some(n) = &g.source_note {
            let link = self.note_link(n.as_str());
            self.line(&format!("- **Set from:** {link}"));
        }
        if !g.sessions.is_empty() {
            let links: Vec<String> = g
                .sessions
                .iter()
                .map(|s| self.session_link(s.as_str()))
                .collect();
            self.line(&format!("- **Related sessions:** {}", links.join(", ")));
        }
        if !g.check_ins.is_empty() {
            self.blank();
            self.line("### Check-ins");
            self.blank();
            let mut check_ins: Vec<_> = g.check_ins.iter().collect();
            check_ins.sort_by_key(|c| c.at);
            for c in check_ins {
                let mut line = format!("- {} · progress {}/10", self.when(c.at), c.progress);
                if !c.note.trim().is_empty() {
                    line.push_str(&format!(" · {}", inline(&c.note)));
                }
                if let Some(n) = &c.integration_note {
                    line.push_str(&format!(" · discussed in {}", self.note_link(n.as_str())));
                }
                self.line(&line);
            }
        }
    }
}

/// Text for a Markdown table cell: on one line, a `|` escaped.
fn table_cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

fn format_time(t: Timestamp, tz: &TimeZone, format: &str) -> String {
    jiff::fmt::strtime::format(format, &t.to_zoned(tz.clone())).unwrap_or_else(|_| t.to_string())
}

/// Removes control characters (C0, DEL and C1) except newline and tab. A carriage return, alone
/// or before a newline, ends a line. Terminal escape sequences lose their ESC and become inert
/// text.
pub fn strip_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text inside a line (a heading, a list item): one line, with every character that could
/// start Markdown markup escaped, so it renders exactly as typed.
pub fn inline(s: &str) -> String {
    let clean = strip_controls(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// A note's body: its lines and paragraphs kept (each line ends in a hard break), prose left
/// readable, and anything at the start of a line that would open a block of its own (a
/// heading, quote, list, rule, table, code fence, HTML, link definition) escaped. `<` is
/// escaped everywhere, as inline HTML such as `<!--` could hide the rest of the chart.
pub fn block(s: &str) -> String {
    let clean = strip_controls(s);
    let mut paragraphs: Vec<Vec<String>> = vec![Vec::new()];
    for raw in clean.split('\n') {
        let line = raw.trim_end();
        if line.is_empty() {
            if paragraphs.last().is_some_and(|p| !p.is_empty()) {
                paragraphs.push(Vec::new());
            }
            continue;
        }
        if let Some(p) = paragraphs.last_mut() {
            p.push(escape_block_line(line));
        }
    }
    paragraphs.retain(|p| !p.is_empty());
    if paragraphs.is_empty() {
        return "*(empty)*".to_owned();
    }
    paragraphs
        .iter()
        .map(|p| p.join("  \n"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn escape_block_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 4);
    let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
    let (indent, rest) = line.split_at(indent_len);
    out.push_str(indent);
    let mut chars = rest.char_indices().peekable();
    // A line's first character decides whether Markdown starts a block there.
    if let Some(&(_, first)) = chars.peek() {
        if matches!(
            first,
            '#' | '>' | '-' | '+' | '*' | '_' | '=' | '`' | '~' | '|' | '['
        ) {
            out.push('\\');
        } else if first.is_ascii_digit() {
            // "1. " or "1) " opens an ordered list: escape the dot or parenthesis.
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if matches!(rest.as_bytes().get(digits), Some(b'.' | b')')) {
                out.push_str(&rest[..digits]);
                out.push('\\');
                for _ in 0..digits {
                    chars.next();
                }
            }
        }
    }
    for (_, c) in chars {
        if c == '<' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_stripped_but_lines_and_tabs_kept() {
        assert_eq!(strip_controls("a\u{1b}[2Jb\u{7}c"), "a[2Jbc");
        assert_eq!(strip_controls("a\u{9b}31mb\u{7f}"), "a31mb");
        assert_eq!(
            strip_controls("one\r\ntwo\rthree\tfour"),
            "one\ntwo\nthree\tfour"
        );
    }

    #[test]
    fn inline_text_is_one_line_and_renders_as_typed() {
        assert_eq!(inline("Session #3\nnext"), "Session \\#3 next");
        assert_eq!(inline("<!-- x"), "\\<!-- x");
        assert_eq!(inline("a|b *c* [d]"), "a\\|b \\*c\\* \\[d\\]");
    }

    #[test]
    fn block_markers_at_line_start_are_escaped() {
        assert_eq!(block("# not a heading"), "\\# not a heading");
        assert_eq!(block("  ```"), "  \\```");
        assert_eq!(block("1. first\n10) tenth"), "1\\. first  \n10\\) tenth");
        assert_eq!(block("text\n---"), "text  \n\\---");
        assert_eq!(
            block("[x]: http://example.invalid"),
            "\\[x]: http://example.invalid"
        );
        assert_eq!(block("a <b> c"), "a \\<b> c");
        assert_eq!(block("2026 was fine"), "2026 was fine");
    }

    #[test]
    fn paragraphs_are_kept_and_blank_runs_collapse() {
        assert_eq!(block("a\nb\n\n\n\nc\n"), "a  \nb\n\nc");
        assert_eq!(block(" \n\t\n"), "*(empty)*");
    }
}
