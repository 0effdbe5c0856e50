//! Reading protocol profiles: the compiled-in built-ins and the user's
//! `<config dir>/protocols/*.toml`, parsed strictly and checked, every problem located by file,
//! line and column.

use super::{
    Checkpoint, CheckpointKind, LoadedProtocol, Protocol, ProtocolSource, Protocols, UsualDose,
    default_checkpoints,
};
use crate::layered::{self, Layered};
use crate::model::monitoring::Thresholds;
use crate::model::{Route, VitalSign};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The built-in profiles, in the order they are listed: file name and text.
pub const BUILT_IN_FILES: &[(&str, &str)] = &[
    (
        "iv-ketamine.toml",
        include_str!("../../protocols/iv-ketamine.toml"),
    ),
    (
        "im-ketamine.toml",
        include_str!("../../protocols/im-ketamine.toml"),
    ),
    (
        "sublingual-ketamine.toml",
        include_str!("../../protocols/sublingual-ketamine.toml"),
    ),
    (
        "esketamine-rems.toml",
        include_str!("../../protocols/esketamine-rems.toml"),
    ),
];

/// A profile file that cannot be used, with where and why. The other files still load.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl ProtocolError {
    /// The file the problem is in.
    pub fn path(&self) -> &Path {
        match self {
            ProtocolError::Read { path, .. } | ProtocolError::Invalid { path, .. } => path,
        }
    }
}

/// What loading found: the profiles in use, and one error per file that could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub protocols: Protocols,
    pub errors: Vec<ProtocolError>,
}

/// A profile file as written, with the spans of the values later checks may complain about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProtocol {
    id: Spanned<String>,
    name: Spanned<String>,
    medication: Spanned<String>,
    route: Route,
    #[serde(default)]
    dose_mg: Option<Spanned<f64>>,
    #[serde(default)]
    dose_mg_per_kg: Option<Spanned<f64>>,
    #[serde(default)]
    rems: bool,
    #[serde(default)]
    dose_range: Option<Spanned<[f64; 2]>>,
    #[serde(default)]
    device_mg: Option<Spanned<f64>>,
    #[serde(default)]
    first_session_dose_mg: Option<Spanned<f64>>,
    #[serde(default)]
    anaesthetic_mg_per_kg: Option<Spanned<f64>>,
    #[serde(default)]
    induction_sessions: Option<Spanned<u32>>,
    #[serde(default)]
    thresholds: Option<RawThresholds>,
    #[serde(default)]
    checkpoints: Option<Spanned<Vec<RawCheckpoint>>>,
}

/// Thresholds as written: any of them may be left out and then takes its default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    predose_systolic_max: Option<Spanned<u16>>,
    predose_diastolic_max: Option<Spanned<u16>>,
    rise_systolic: Option<Spanned<u16>>,
    rise_diastolic: Option<Spanned<u16>>,
    spo2_floor: Option<Spanned<u8>>,
    systolic_high: Option<Spanned<u16>>,
    diastolic_high: Option<Spanned<u16>>,
    systolic_low: Option<Spanned<u16>>,
    heart_rate_high: Option<Spanned<u16>>,
    heart_rate_low: Option<Spanned<u16>>,
    remeasure_minutes: Option<Spanned<u32>>,
    min_observation_minutes: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckpoint {
    label: Spanned<String>,
    kind: Spanned<CheckpointKind>,
    #[serde(default)]
    at_minutes: Option<Spanned<i64>>,
}

/// Sessions in an induction course when a profile does not say: about 6 infusions over 2-3
/// weeks is the common IV course (domain.md).
pub const DEFAULT_INDUCTION_SESSIONS: u32 = 6;

/// The longest a checkpoint or observation time may be: a day.
const MAX_MINUTES: i64 = 24 * 60;

fn invalid(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> ProtocolError {
    let (line, column) = crate::config::line_column(text, offset);
    ProtocolError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: message.into(),
    }
}

/// Ids go into every session started from the profile and are typed on the command line, so
/// they are kept to a plain set of characters.
fn id_is_plain(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses and checks one profile file; `path` is only used to name it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Protocol, ProtocolError> {
    parse_spanned(path, text).map(|(p, _)| p)
}

/// Checks one threshold against its range and returns the value, or the default when it was
/// left out.
fn threshold<T: Copy + Into<u32>>(
    path: &Path,
    text: &str,
    raw: Option<Spanned<T>>,
    default: T,
    name: &str,
    (lo, hi): (u32, u32),
    unit: &str,
) -> Result<T, ProtocolError> {
    let Some(v) = raw else {
        return Ok(default);
    };
    let value: u32 = (*v.get_ref()).into();
    if !(lo..=hi).contains(&value) {
        return Err(invalid(
            path,
            text,
            v.span().start,
            format!("thresholds.{name} {value} is outside {lo}-{hi}{unit}"),
        ));
    }
    Ok(*v.get_ref())
}

fn thresholds(path: &Path, text: &str, raw: RawThresholds) -> Result<Thresholds, ProtocolError> {
    let d = Thresholds::default();
    let mmhg = " mmHg";
    let bpm = " bpm";
    let minutes = " minutes";
    let day = (1, MAX_MINUTES as u32);
    Ok(Thresholds {
        predose_systolic_max: threshold(
            path,
            text,
            raw.predose_systolic_max,
            d.predose_systolic_max,
            "predose_systolic_max",
            VitalSign::Systolic.range(),
            mmhg,
        )?,
        predose_diastolic_max: threshold(
            path,
            text,
            raw.predose_diastolic_max,
            d.predose_diastolic_max,
            "predose_diastolic_max",
            VitalSign::Diastolic.range(),
            mmhg,
        )?,
        rise_systolic: threshold(
            path,
            text,
            raw.rise_systolic,
            d.rise_systolic,
            "rise_systolic",
            (1, 200),
            mmhg,
        )?,
        rise_diastolic: threshold(
            path,
            text,
            raw.rise_diastolic,
            d.rise_diastolic,
            "rise_diastolic",
            (1, 200),
            mmhg,
        )?,
        spo2_floor: threshold(
            path,
            text,
            raw.spo2_floor,
            d.spo2_floor,
            "spo2_floor",
            VitalSign::Spo2.range(),
            "%",
        )?,
        systolic_high: threshold(
            path,
            text,
            raw.systolic_high,
            d.systolic_high,
            "systolic_high",
            VitalSign::Systolic.range(),
            mmhg,
        )?,
        diastolic_high: threshold(
            path,
            text,
            raw.diastolic_high,
            d.diastolic_high,
            "diastolic_high",
            VitalSign::Diastolic.range(),
            mmhg,
        )?,
        systolic_low: threshold(
            path,
            text,
            raw.systolic_low,
            d.systolic_low,
            "systolic_low",
            VitalSign::Systolic.range(),
            mmhg,
        )?,
        heart_rate_high: threshold(
            path,
            text,
            raw.heart_rate_high,
            d.heart_rate_high,
            "heart_rate_high",
            VitalSign::HeartRate.range(),
            bpm,
        )?,
        heart_rate_low: threshold(
            path,
            text,
            raw.heart_rate_low,
            d.heart_rate_low,
            "heart_rate_low",
            VitalSign::HeartRate.range(),
            bpm,
        )?,
        remeasure_minutes: threshold(
            path,
            text,
            raw.remeasure_minutes,
            d.remeasure_minutes,
            "remeasure_minutes",
            day,
            minutes,
        )?,
        min_observation_minutes: threshold(
            path,
            text,
            raw.min_observation_minutes,
            d.min_observation_minutes,
            "min_observation_minutes",
            day,
            minutes,
        )?,
    })
}

/// A number from a profile that must be above 0 and at most `max`, or a located error.
fn positive(
    path: &Path,
    text: &str,
    v: &Spanned<f64>,
    name: &str,
    max: f64,
    unit: &str,
) -> Result<f64, ProtocolError> {
    let x = *v.get_ref();
    if x.is_finite() && x > 0.0 && x <= max {
        Ok(x)
    } else {
        Err(invalid(
            path,
            text,
            v.span().start,
            format!("{name} must be more than 0 and at most {max} {unit} (got {x})"),
        ))
    }
}

fn usual_dose(path: &Path, text: &str, raw: &RawProtocol) -> Result<UsualDose, ProtocolError> {
    let check = |v: &Spanned<f64>, name: &str, max: f64, unit: &str| {
        positive(path, text, v, name, max, unit)
    };
    match (&raw.dose_mg, &raw.dose_mg_per_kg) {
        (Some(mg), None) => Ok(UsualDose::Mg(check(mg, "dose_mg", 5_000.0, "mg")?)),
        (None, Some(k)) => Ok(UsualDose::MgPerKg(check(
            k,
            "dose_mg_per_kg",
            20.0,
            "mg/kg",
        )?)),
        (Some(_), Some(k)) => Err(invalid(
            path,
            text,
            k.span().start,
            "give the usual dose once: dose_mg or dose_mg_per_kg, not both",
        )),
        (None, None) => Err(invalid(
            path,
            text,
            raw.medication.span().start,
            "a protocol needs its usual dose: dose_mg = 56 or dose_mg_per_kg = 0.5",
        )),
    }
}

/// The dose limits: a range around the usual dose (min at most max, the usual dose inside),
/// devices and a first-session dose in mg, an anaesthetic line in mg/kg; all above 0.
fn dose_limits(
    path: &Path,
    text: &str,
    raw: &RawProtocol,
    usual: UsualDose,
) -> Result<super::DoseLimits, ProtocolError> {
    let range = match &raw.dose_range {
        None => None,
        Some(r) => {
            let [lo, hi] = *r.get_ref();
            let at = r.span().start;
            let (usual_value, unit) = match usual {
                UsualDose::Mg(x) => (x, "mg"),
                UsualDose::MgPerKg(x) => (x, "mg/kg"),
            };
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
                return Err(invalid(
                    path,
                    text,
                    at,
                    format!(
                        "dose_range is [lowest, highest] above 0, in {unit} (got [{lo}, {hi}])"
                    ),
                ));
            }
            if !(lo..=hi).contains(&usual_value) {
                return Err(invalid(
                    path,
                    text,
                    at,
                    format!(
                        "dose_range [{lo}, {hi}] {unit} does not hold the usual dose {usual_value} {unit}"
                    ),
                ));
            }
            Some((lo, hi))
        }
    };
    let opt = |v: &Option<Spanned<f64>>, name: &str, unit: &str| {
        v.as_ref()
            .map(|v| positive(path, text, v, name, 5_000.0, unit))
            .transpose()
    };
    Ok(super::DoseLimits {
        range,
        device_mg: opt(&raw.device_mg, "device_mg", "mg")?,
        first_session_mg: opt(&raw.first_session_dose_mg, "first_session_dose_mg", "mg")?,
        anaesthetic_mg_per_kg: opt(&raw.anaesthetic_mg_per_kg, "anaesthetic_mg_per_kg", "mg/kg")?,
    })
}

fn checkpoints(
    path: &Path,
    text: &str,
    raw: Vec<RawCheckpoint>,
) -> Result<Vec<Checkpoint>, ProtocolError> {
    let mut out: Vec<Checkpoint> = Vec::with_capacity(raw.len());
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut once: HashMap<CheckpointKind, usize> = HashMap::new();
    let mut timed: HashMap<(CheckpointKind, i64), usize> = HashMap::new();
    for (i, c) in raw.into_iter().enumerate() {
        let n = i + 1;
        let label_at = c.label.span().start;
        let label = c.label.into_inner().trim().to_owned();
        if label.is_empty() {
            return Err(invalid(
                path,
                text,
                label_at,
                format!("checkpoint {n} has an empty label"),
            ));
        }
        if let Some(first) = labels.insert(label.to_lowercase(), n) {
            return Err(invalid(
                path,
                text,
                label_at,
                format!("checkpoint {n} repeats the label {label:?} of checkpoint {first}"),
            ));
        }
        let kind_at = c.kind.span().start;
        let kind = *c.kind.get_ref();
        let at_minutes = match (kind.is_timed(), c.at_minutes) {
            (true, Some(m)) => {
                let minutes = *m.get_ref();
                if !(0..=MAX_MINUTES).contains(&minutes) {
                    return Err(invalid(
                        path,
                        text,
                        m.span().start,
                        format!(
                            "checkpoint {n}: at_minutes {minutes} is outside 0-{MAX_MINUTES} \
                             minutes after dosing"
                        ),
                    ));
                }
                if let Some(first) = timed.insert((kind, minutes), n) {
                    return Err(invalid(
                        path,
                        text,
                        m.span().start,
                        format!(
                            "checkpoint {n} repeats the {} check at {minutes} min of checkpoint \
                             {first}",
                            kind.as_str()
                        ),
                    ));
                }
                Some(minutes)
            }
            (true, None) => {
                return Err(invalid(
                    path,
                    text,
                    kind_at,
                    format!(
                        "checkpoint {n} ({}) needs at_minutes: how many minutes after dosing",
                        kind.as_str()
                    ),
                ));
            }
            (false, Some(m)) => {
                let why = match kind {
                    CheckpointKind::VitalsBeforeDose => "is before dosing",
                    CheckpointKind::VitalsBeforeDischarge => {
                        "follows the discharge and thresholds.min_observation_minutes"
                    }
                    _ => "takes its time from thresholds.min_observation_minutes",
                };
                return Err(invalid(
                    path,
                    text,
                    m.span().start,
                    format!(
                        "checkpoint {n} ({}) {why}; remove at_minutes",
                        kind.as_str()
                    ),
                ));
            }
            (false, None) => {
                if let Some(first) = once.insert(kind, n) {
                    return Err(invalid(
                        path,
                        text,
                        kind_at,
                        format!(
                            "checkpoint {n} repeats the {} checkpoint {first}; a checklist has \
                             one",
                            kind.as_str()
                        ),
                    ));
                }
                None
            }
        };
        out.push(Checkpoint {
            label,
            kind,
            at_minutes,
        });
    }
    Ok(out)
}

/// Like [`parse`], also returning the byte offset of the id, so a duplicate can be located.
fn parse_spanned(path: &Path, text: &str) -> Result<(Protocol, usize), ProtocolError> {
    let raw: RawProtocol = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        invalid(path, text, offset, e.message().trim_end())
    })?;
    let id_at = raw.id.span().start;
    let id = raw.id.get_ref().trim();
    if id.is_empty() {
        return Err(invalid(path, text, id_at, "the protocol id is empty"));
    }
    if !id_is_plain(id) {
        return Err(invalid(
            path,
            text,
            id_at,
            format!("the protocol id {id:?} may only hold letters, digits, `-` and `_`"),
        ));
    }
    for (field, value) in [("name", &raw.name), ("medication", &raw.medication)] {
        if value.get_ref().trim().is_empty() {
            return Err(invalid(
                path,
                text,
                value.span().start,
                format!("the protocol {field} is empty"),
            ));
        }
    }
    let dose = usual_dose(path, text, &raw)?;
    let limits = dose_limits(path, text, &raw, dose)?;
    let induction_sessions = match &raw.induction_sessions {
        None => DEFAULT_INDUCTION_SESSIONS,
        Some(n) if (1..=52).contains(n.get_ref()) => *n.get_ref(),
        Some(n) => {
            return Err(invalid(
                path,
                text,
                n.span().start,
                format!(
                    "induction_sessions is {}; a course has 1 to 52 induction sessions",
                    n.get_ref()
                ),
            ));
        }
    };
    let thresholds = thresholds(path, text, raw.thresholds.unwrap_or_default())?;
    let checkpoints = match raw.checkpoints {
        Some(list) => checkpoints(path, text, list.into_inner())?,
        None => default_checkpoints(&thresholds),
    };
    let protocol = Protocol {
        id: id.to_owned(),
        name: raw.name.into_inner().trim().to_owned(),
        medication: raw.medication.into_inner().trim().to_owned(),
        route: raw.route,
        dose,
        thresholds,
        checkpoints,
        rems: raw.rems,
        induction_sessions,
        limits,
    };
    Ok((protocol, id_at))
}

/// The built-in profiles alone. They are tested to load; `errors` is there so that a broken one
/// would be reported like any other file rather than vanish.
pub fn builtin() -> Loaded {
    let (list, errors) = layered::load::<Protocol>(BUILT_IN_FILES, None);
    Loaded {
        protocols: Protocols::from_list(list),
        errors,
    }
}

/// The built-ins with the user's `<config_dir>/protocols/*.toml` layered over them. Files are
/// read in name order; other files in the folder (a README) are ignored; a missing folder is no
/// profiles. A file that cannot be read or parsed, or whose id an earlier file already uses, is
/// reported and skipped; the rest load.
pub fn load(config_dir: &Path) -> Loaded {
    let user_dir = config_dir.join("protocols");
    let (list, errors) = layered::load::<Protocol>(BUILT_IN_FILES, Some(&user_dir));
    Loaded {
        protocols: Protocols::from_list(list),
        errors,
    }
}

impl Layered for Protocol {
    type Loaded = LoadedProtocol;
    type Error = ProtocolError;
    const KIND: &'static str = "protocol";

    fn id(&self) -> &str {
        &self.id
    }
    fn parse_spanned(path: &Path, text: &str) -> Result<(Self, usize), ProtocolError> {
        parse_spanned(path, text)
    }
    fn invalid(path: &Path, text: &str, offset: usize, message: String) -> ProtocolError {
        invalid(path, text, offset, message)
    }
    fn read_error(path: PathBuf, source: std::io::Error) -> ProtocolError {
        ProtocolError::Read { path, source }
    }
    fn into_built_in(self) -> LoadedProtocol {
        LoadedProtocol {
            protocol: self,
            source: ProtocolSource::BuiltIn,
        }
    }
    fn into_user_file(self, path: PathBuf, overrides_builtin: bool) -> LoadedProtocol {
        LoadedProtocol {
            protocol: self,
            source: ProtocolSource::User {
                path,
                overrides_builtin,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("p.toml"), text).unwrap_err().to_string()
    }

    const OK: &str = "id = \"x\"\nname = \"X\"\nmedication = \"ketamine\"\nroute = \"im\"\n\
                      dose_mg_per_kg = 0.5\n";

    #[test]
    fn a_minimal_profile_gets_the_default_thresholds_and_checklist() {
        let p = parse(Path::new("p.toml"), OK).unwrap();
        assert_eq!(p.id, "x");
        assert_eq!(p.route, Route::Im);
        assert_eq!(p.dose, UsualDose::MgPerKg(0.5));
        assert_eq!(p.thresholds, Thresholds::default());
        assert_eq!(p.checkpoints, default_checkpoints(&Thresholds::default()));
        assert!(!p.rems);
        // A whole number of mg is written without a decimal point.
        let p = parse(
            Path::new("p.toml"),
            &OK.replace("dose_mg_per_kg = 0.5", "dose_mg = 56"),
        )
        .unwrap();
        assert_eq!(p.dose, UsualDose::Mg(56.0));
    }

    #[test]
    fn thresholds_left_out_take_their_defaults() {
        let p = parse(
            Path::new("p.toml"),
            &format!("{OK}\n[thresholds]\nspo2_floor = 94\nremeasure_minutes = 30\n"),
        )
        .unwrap();
        assert_eq!(
            p.thresholds,
            Thresholds {
                spo2_floor: 94,
                remeasure_minutes: 30,
                ..Thresholds::default()
            }
        );
        assert_eq!(
            p.checkpoints[1].label, "BP at about 30 min",
            "the default checklist follows remeasure_minutes"
        );
        assert_eq!(p.checkpoints[1].at_minutes, Some(30));
    }

    #[test]
    fn checkpoints_are_read_in_order() {
        let p = parse(
            Path::new("p.toml"),
            &format!(
                "{OK}\n[[checkpoints]]\nlabel = \"MOAA/S at 20\"\nkind = \"sedation\"\n\
                 at_minutes = 20\n\n[[checkpoints]]\nlabel = \"Observed\"\n\
                 kind = \"min-observation\"\n"
            ),
        )
        .unwrap();
        assert_eq!(
            p.checkpoints,
            vec![
                Checkpoint {
                    label: "MOAA/S at 20".into(),
                    kind: CheckpointKind::Sedation,
                    at_minutes: Some(20)
                },
                Checkpoint {
                    label: "Observed".into(),
                    kind: CheckpointKind::MinObservation,
                    at_minutes: None
                },
            ]
        );
    }

    #[test]
    fn problems_are_located_with_the_reason() {
        assert_eq!(
            err(&OK.replace("\"x\"", "\"a b\"")),
            "p.toml:1:6: the protocol id \"a b\" may only hold letters, digits, `-` and `_`"
        );
        assert_eq!(
            err(&OK.replace("\"ketamine\"", "\" \"")),
            "p.toml:3:14: the protocol medication is empty"
        );
        let e = err(&format!("{OK}colour = 1\n"));
        assert!(e.starts_with("p.toml:6:1: unknown field `colour`"), "{e}");
        let e = err(&OK.replace("\"im\"", "\"rectal\""));
        assert!(
            e.starts_with("p.toml:4:9: unknown variant `rectal`, expected one of `iv`"),
            "{e}"
        );
        assert_eq!(
            err(&format!("{OK}dose_mg = 56\n")),
            "p.toml:5:18: give the usual dose once: dose_mg or dose_mg_per_kg, not both"
        );
        assert_eq!(
            err(&OK.replace("dose_mg_per_kg = 0.5\n", "")),
            "p.toml:3:14: a protocol needs its usual dose: dose_mg = 56 or dose_mg_per_kg = 0.5"
        );
        assert_eq!(
            err(&OK.replace("0.5", "-1")),
            "p.toml:5:18: dose_mg_per_kg must be more than 0 and at most 20 mg/kg (got -1)"
        );
        assert_eq!(
            err(&format!("{OK}[thresholds]\nspo2_floor = 40\n")),
            "p.toml:7:14: thresholds.spo2_floor 40 is outside 50-100%"
        );
        assert_eq!(
            err(&format!("{OK}[thresholds]\nmin_observation_minutes = 0\n")),
            "p.toml:7:27: thresholds.min_observation_minutes 0 is outside 1-1440 minutes"
        );
        let e = err(&format!("{OK}[thresholds]\nspo2_flor = 92\n"));
        assert!(
            e.starts_with("p.toml:7:1: unknown field `spo2_flor`"),
            "{e}"
        );
        let e = err(&format!("{OK}[thresholds]\nspo2_floor = 300\n"));
        assert!(e.starts_with("p.toml:7:14: "), "{e}");
    }

    #[test]
    fn checkpoint_problems_are_located() {
        let with = |c: &str| err(&format!("{OK}\n[[checkpoints]]\n{c}"));
        assert_eq!(
            with("label = \"BP\"\nkind = \"vitals\"\n"),
            "p.toml:9:8: checkpoint 1 (vitals) needs at_minutes: how many minutes after dosing"
        );
        assert_eq!(
            with("label = \"Obs\"\nkind = \"min-observation\"\nat_minutes = 120\n"),
            "p.toml:10:14: checkpoint 1 (min-observation) takes its time from \
             thresholds.min_observation_minutes; remove at_minutes"
        );
        assert_eq!(
            with("label = \"BP\"\nkind = \"vitals-before-dose\"\nat_minutes = 0\n"),
            "p.toml:10:14: checkpoint 1 (vitals-before-dose) is before dosing; remove at_minutes"
        );
        assert_eq!(
            with("label = \"BP\"\nkind = \"vitals\"\nat_minutes = 2000\n"),
            "p.toml:10:14: checkpoint 1: at_minutes 2000 is outside 0-1440 minutes after dosing"
        );
        assert_eq!(
            with("label = \" \"\nkind = \"vitals-before-dose\"\n"),
            "p.toml:8:9: checkpoint 1 has an empty label"
        );
        let e = with("label = \"BP\"\nkind = \"blood\"\n");
        assert!(
            e.starts_with("p.toml:9:8: unknown variant `blood`, expected one of"),
            "{e}"
        );
        assert_eq!(
            with(
                "label = \"BP\"\nkind = \"vitals-before-dose\"\n\n[[checkpoints]]\n\
                 label = \"bp\"\nkind = \"vitals-before-discharge\"\n"
            ),
            "p.toml:12:9: checkpoint 2 repeats the label \"bp\" of checkpoint 1"
        );
        assert_eq!(
            with(
                "label = \"A\"\nkind = \"vitals-before-dose\"\n\n[[checkpoints]]\n\
                 label = \"B\"\nkind = \"vitals-before-dose\"\n"
            ),
            "p.toml:13:8: checkpoint 2 repeats the vitals-before-dose checkpoint 1; a checklist \
             has one"
        );
        assert_eq!(
            with(
                "label = \"A\"\nkind = \"vitals\"\nat_minutes = 40\n\n[[checkpoints]]\n\
                 label = \"B\"\nkind = \"vitals\"\nat_minutes = 40\n"
            ),
            "p.toml:15:14: checkpoint 2 repeats the vitals check at 40 min of checkpoint 1"
        );
    }
}
