//! Protocol profiles: what a dosing session of one kind gives and watches. A profile sets the
//! medication, the route, the usual dose (mg, or mg/kg of the patient's weight), the alert
//! thresholds, the checkpoints of the monitoring checklist and whether the esketamine REMS
//! applies.
//!
//! Profiles are TOML files (docs/PROTOCOLS.md). The built-in ones live in the top-level
//! `protocols/` folder and are compiled in; a clinician adds or overrides them (same `id`) with
//! files in `<config dir>/protocols/*.toml`. Loading never stops at a broken file: [`load`]
//! returns every profile that loaded together with one located error per broken file.
//!
//! Also here, because they need a profile: the checklist's due and overdue states
//! ([`checkpoint_states`]) and the session note's text drawn from a session
//! ([`session_note_sections`]).

mod checkpoints;
mod load;
pub(crate) mod session_note;

pub use checkpoints::{
    BEFORE_DISCHARGE_DUE_MINUTES, CheckpointState, DUE_EARLY_MINUTES, LATE_MINUTES,
    OVERDUE_AFTER_MINUTES, bp_before_discharge, bp_near, checkpoint_states, ended_early,
};
pub use load::{
    BUILT_IN_FILES, DEFAULT_INDUCTION_SESSIONS, Loaded, ProtocolError, builtin, load, parse,
};
pub use session_note::{is_rems_session, session_note_draft, session_note_sections};

use crate::model::monitoring::Thresholds;
use crate::model::session::mg_from_mg_per_kg;
use crate::model::{DosingSession, Patient, RecordId, Route};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The built-in profiles, parsed once. The tests prove each one parses; [`builtin`] reports a
/// broken one like any other file.
pub fn builtins() -> &'static Protocols {
    static BUILT_IN: OnceLock<Protocols> = OnceLock::new();
    BUILT_IN.get_or_init(|| builtin().protocols)
}

/// A protocol profile, checked: a plain id, a name, a medication, one usual dose, thresholds in
/// range and a consistent checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    /// Stored in every session started from the profile (`DosingSession::protocol`).
    pub id: String,
    pub name: String,
    pub medication: String,
    pub route: Route,
    /// The usual dose: where a new session's dose starts, which the clinician may change.
    pub dose: UsualDose,
    pub thresholds: Thresholds,
    /// The monitoring checklist, in the order it is shown.
    pub checkpoints: Vec<Checkpoint>,
    /// The esketamine REMS applies: the patient monitoring form is due within 7 days.
    pub rems: bool,
    /// Doses in the induction course before maintenance, for "session 4 of 6, then
    /// maintenance". In TOML: `induction_sessions = 8`; 6 when left out.
    pub induction_sessions: u32,
    /// The doses the protocol expects: a dose outside asks for a confirmation.
    pub limits: DoseLimits,
}

/// What a dose is checked against. In TOML: `dose_range = [0.1, 0.75]` (in the usual dose's
/// unit), `device_mg = 28`, `first_session_dose_mg = 56`, `anaesthetic_mg_per_kg = 1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DoseLimits {
    /// The usual range, inclusive, in the unit of the usual dose (mg or mg/kg).
    pub range: Option<(f64, f64)>,
    /// The dose comes in whole devices of this many mg (esketamine: 28 mg nasal sprays).
    pub device_mg: Option<f64>,
    /// The dose of the first session of a course (esketamine: 56 mg).
    pub first_session_mg: Option<f64>,
    /// From this many mg/kg the dose is in the anaesthetic range (ketamine: about 1 mg/kg).
    pub anaesthetic_mg_per_kg: Option<f64>,
}

/// What a dose check found.
#[derive(Debug, Clone, PartialEq)]
pub enum DoseCheck {
    /// Within the protocol.
    Usual,
    /// Outside the protocol: given only once the clinician confirms it, saying why.
    Confirm(String),
    /// Cannot be given this way at all (not a whole number of devices).
    Refuse(String),
}

/// A number as a clinician writes it: 56, 0.5, not 56.0.
fn num(x: f64) -> String {
    format!("{x}")
}

impl DoseLimits {
    /// Checks the dose recorded on `s`; `weight_kg` is the patient's weight on file (for a dose
    /// in mg against a range in mg/kg); `first_of_course` says whether `s` is the first session
    /// of the patient's course. `usual` gives the unit of the range.
    pub fn check(
        &self,
        s: &DosingSession,
        usual: UsualDose,
        weight_kg: Option<f64>,
        first_of_course: bool,
    ) -> DoseCheck {
        let Some(mg) = s.dose_in_mg() else {
            return DoseCheck::Usual;
        };
        let per_kg = s.dose_mg_per_kg.or_else(|| {
            s.weight_kg
                .or(weight_kg)
                .map(|w| mg / w)
                .filter(|k| k.is_finite())
        });
        if let Some(device) = self.device_mg {
            let devices = mg / device;
            if (devices - devices.round()).abs() > 1e-6 || devices.round() < 1.0 {
                return DoseCheck::Refuse(format!(
                    "{} mg is not a whole number of {} mg devices ({} mg = {:.1} devices): check \
                     the dose",
                    num(mg),
                    num(device),
                    num(mg),
                    devices
                ));
            }
        }
        let mut reasons = Vec::new();
        if first_of_course
            && let Some(first) = self.first_session_mg
            && (mg - first).abs() > 1e-6
        {
            reasons.push(format!(
                "the first session of a course is {} mg, not {} mg",
                num(first),
                num(mg)
            ));
        }
        if let Some((lo, hi)) = self.range {
            let (value, unit) = match usual {
                UsualDose::Mg(_) => (Some(mg), "mg"),
                UsualDose::MgPerKg(_) => (per_kg, "mg/kg"),
            };
            match value {
                Some(v) if v < lo - 1e-9 || v > hi + 1e-9 => {
                    let shown = (v * 1000.0).round() / 1000.0;
                    reasons.push(format!(
                        "{} {unit} is outside the protocol's range {}-{} {unit}",
                        num(shown),
                        num(lo),
                        num(hi)
                    ));
                }
                Some(_) => {}
                None => reasons.push(format!(
                    "no weight on file to check {} mg against {}-{} {unit}",
                    num(mg),
                    num(lo),
                    num(hi)
                )),
            }
        }
        if let (Some(a), Some(k)) = (self.anaesthetic_mg_per_kg, per_kg)
            && k >= a
        {
            reasons.push(format!(
                "about {} mg/kg and above is the anaesthetic range",
                num(a)
            ));
        }
        if reasons.is_empty() {
            DoseCheck::Usual
        } else {
            DoseCheck::Confirm(reasons.join("; "))
        }
    }
}

/// The usual dose of a profile. In TOML: `dose_mg = 56` or `dose_mg_per_kg = 0.5` (read by the
/// loader, which also checks the range).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UsualDose {
    /// A fixed dose in mg.
    Mg(f64),
    /// A weight-based dose in mg per kg of body weight.
    MgPerKg(f64),
}

impl UsualDose {
    /// The dose in mg for a patient of `weight_kg`, rounded as drawn up; `None` for a mg/kg
    /// dose without a weight.
    pub fn mg_for(self, weight_kg: Option<f64>) -> Option<f64> {
        match self {
            UsualDose::Mg(mg) => Some(mg),
            UsualDose::MgPerKg(k) => weight_kg.map(|w| mg_from_mg_per_kg(k, w)),
        }
    }

    /// Records this dose on `s`: mg as given; mg/kg with `weight_kg` and the mg it makes.
    /// False, leaving the dose unset, for a mg/kg dose without a weight.
    pub fn apply_to(self, s: &mut DosingSession, weight_kg: Option<f64>) -> bool {
        let (mg, per_kg, weight) = match (self, weight_kg) {
            (UsualDose::Mg(mg), _) => (Some(mg), None, None),
            (UsualDose::MgPerKg(k), Some(w)) => (Some(mg_from_mg_per_kg(k, w)), Some(k), Some(w)),
            (UsualDose::MgPerKg(_), None) => (None, None, None),
        };
        s.dose_mg = mg;
        s.dose_mg_per_kg = per_kg;
        s.weight_kg = weight;
        mg.is_some()
    }

    /// "56 mg", "0.5 mg/kg".
    pub fn label(self) -> String {
        match self {
            UsualDose::Mg(mg) => format!("{mg} mg"),
            UsualDose::MgPerKg(k) => format!("{k} mg/kg"),
        }
    }
}

/// One item of the monitoring checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// As the checklist shows it: "BP at about 40 min".
    pub label: String,
    pub kind: CheckpointKind,
    /// Minutes after T0, for [`CheckpointKind::Vitals`] and [`CheckpointKind::Sedation`] (always
    /// set for those, never for the others: their times follow from T0, the discharge and
    /// `thresholds.min_observation_minutes`).
    pub at_minutes: Option<i64>,
}

/// What a checkpoint asks for. In TOML: `kind = "vitals-before-dose"` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointKind {
    /// A blood pressure at or before T0.
    VitalsBeforeDose,
    /// A blood pressure at about `at_minutes` after T0.
    Vitals,
    /// A blood pressure near the end: once the minimum observation time is near, or shortly
    /// before an early discharge.
    VitalsBeforeDischarge,
    /// A MOAA/S rating at about `at_minutes` after T0.
    Sedation,
    /// The minimum observation time (`thresholds.min_observation_minutes`) has passed.
    MinObservation,
}

impl CheckpointKind {
    pub const ALL: [CheckpointKind; 5] = [
        CheckpointKind::VitalsBeforeDose,
        CheckpointKind::Vitals,
        CheckpointKind::VitalsBeforeDischarge,
        CheckpointKind::Sedation,
        CheckpointKind::MinObservation,
    ];

    /// The word used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::VitalsBeforeDose => "vitals-before-dose",
            CheckpointKind::Vitals => "vitals",
            CheckpointKind::VitalsBeforeDischarge => "vitals-before-discharge",
            CheckpointKind::Sedation => "sedation",
            CheckpointKind::MinObservation => "min-observation",
        }
    }

    /// Whether the kind is timed by `at_minutes`.
    pub fn is_timed(self) -> bool {
        matches!(self, CheckpointKind::Vitals | CheckpointKind::Sedation)
    }
}

/// The checklist a profile gets when its file lists no `[[checkpoints]]`: BP before dosing, BP
/// at `remeasure_minutes`, BP before discharge, and the minimum observation time (the esketamine
/// label's schedule).
pub fn default_checkpoints(t: &Thresholds) -> Vec<Checkpoint> {
    vec![
        Checkpoint {
            label: "BP before dosing".into(),
            kind: CheckpointKind::VitalsBeforeDose,
            at_minutes: None,
        },
        Checkpoint {
            label: format!("BP at about {} min", t.remeasure_minutes),
            kind: CheckpointKind::Vitals,
            at_minutes: Some(i64::from(t.remeasure_minutes)),
        },
        Checkpoint {
            label: "BP before discharge".into(),
            kind: CheckpointKind::VitalsBeforeDischarge,
            at_minutes: None,
        },
        Checkpoint {
            label: format!("Observed at least {} min", t.min_observation_minutes),
            kind: CheckpointKind::MinObservation,
            at_minutes: None,
        },
    ]
}

impl Protocol {
    /// A new session from this profile for `patient`, starting at `at`: the profile's
    /// medication, route and usual dose. A mg/kg dose is computed with the patient's weight;
    /// without a recorded weight the dose is left for the clinician to enter.
    pub fn start_session(
        &self,
        id: RecordId,
        patient: &Patient,
        number: Option<u32>,
        at: Timestamp,
    ) -> DosingSession {
        let mut s = DosingSession {
            number,
            protocol: Some(self.id.clone()),
            ..DosingSession::new(id, patient.id.clone(), at, &self.medication, self.route)
        };
        self.dose.apply_to(&mut s, patient.weight_kg);
        s
    }

    /// Checks the dose recorded on `s` against the profile's limits.
    pub fn check_dose(
        &self,
        s: &DosingSession,
        weight_kg: Option<f64>,
        first_of_course: bool,
    ) -> DoseCheck {
        self.limits.check(s, self.dose, weight_kg, first_of_course)
    }

    /// The profile a session without a known profile is checked against: its own medication and
    /// route, the default thresholds and checklist, and the REMS when it is esketamine.
    pub fn fallback_for(s: &DosingSession) -> Protocol {
        let thresholds = Thresholds::default();
        Protocol {
            id: s.protocol.clone().unwrap_or_default(),
            name: "Default monitoring".into(),
            medication: s.medication.clone(),
            route: s.route,
            dose: match (s.dose_mg_per_kg, s.dose_mg) {
                (Some(k), _) => UsualDose::MgPerKg(k),
                (None, mg) => UsualDose::Mg(mg.unwrap_or(0.0)),
            },
            checkpoints: default_checkpoints(&thresholds),
            thresholds,
            rems: session_note::is_esketamine(&s.medication),
            induction_sessions: if session_note::is_esketamine(&s.medication) {
                8
            } else {
                load::DEFAULT_INDUCTION_SESSIONS
            },
            // Without its profile a session is still held to the esketamine label's doses.
            limits: if session_note::is_esketamine(&s.medication) {
                DoseLimits {
                    range: Some((56.0, 84.0)),
                    device_mg: Some(28.0),
                    first_session_mg: Some(56.0),
                    anaesthetic_mg_per_kg: None,
                }
            } else {
                DoseLimits::default()
            },
        }
    }
}

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolSource {
    BuiltIn,
    /// A file in `<config dir>/protocols/`; `overrides_builtin` when its id is a built-in's.
    User {
        path: PathBuf,
        overrides_builtin: bool,
    },
}

impl std::fmt::Display for ProtocolSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolSource::BuiltIn => f.write_str("built-in"),
            ProtocolSource::User {
                path,
                overrides_builtin: false,
            } => write!(f, "{}", path.display()),
            ProtocolSource::User {
                path,
                overrides_builtin: true,
            } => write!(f, "{} (overrides built-in)", path.display()),
        }
    }
}

/// A profile with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedProtocol {
    pub protocol: Protocol,
    pub source: ProtocolSource,
}

/// The profiles in use: built-ins in their fixed order (a user file with the same id takes the
/// built-in's place), then profiles only the user has, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protocols {
    list: Vec<LoadedProtocol>,
}

impl Protocols {
    pub(crate) fn from_list(list: Vec<LoadedProtocol>) -> Self {
        Self { list }
    }

    pub fn iter(&self) -> impl Iterator<Item = &LoadedProtocol> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Protocol> {
        self.loaded(id).map(|l| &l.protocol)
    }

    pub fn loaded(&self, id: &str) -> Option<&LoadedProtocol> {
        self.list.iter().find(|l| l.protocol.id == id)
    }

    /// The profile `s` was started from, if it names one that is loaded.
    pub fn for_session(&self, s: &DosingSession) -> Option<&Protocol> {
        s.protocol.as_deref().and_then(|id| self.get(id))
    }

    /// How many induction sessions the patient's course has: what the profile of their latest
    /// session says (or the fallback for its medication); `default` before any session.
    pub fn induction_sessions(&self, sessions: &[DosingSession], default: u32) -> u32 {
        match sessions.iter().max_by_key(|s| s.at) {
            Some(s) => self.for_session(s).map_or_else(
                || Protocol::fallback_for(s).induction_sessions,
                |p| p.induction_sessions,
            ),
            None => default,
        }
    }
}
