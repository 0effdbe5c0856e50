//! The user's configuration file, `<config dir>/config.toml`: read strictly, so a typo is an
//! error with its line rather than a setting silently ignored.

use crate::app::lock::LockAfter;
use crate::model::cadence::{Cadence, CadenceStep};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Settings from config.toml. Every field is optional; unknown fields are errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The name written on signatures and addenda, e.g. "Dr. Ana Rivera, MD".
    #[serde(default)]
    pub clinician: Option<String>,
    /// The IANA time zone for showing times (e.g. "Europe/Berlin"); default: the system's.
    /// Kept with its place in the file so an unknown zone is reported there.
    #[serde(default)]
    pub timezone: Option<toml::Spanned<String>>,
    /// The keymap preset the user's `keymap.toml` is layered on: "default", "vim" or "emacs".
    #[serde(default)]
    pub keymap: crate::keymap::Preset,
    /// "standard", "high-contrast" or "monochrome". `NO_COLOR` in the environment always
    /// gives monochrome.
    #[serde(default)]
    pub theme: Option<crate::app::ThemeKind>,
    /// Let the mouse scroll and select (off by default: a keyboard tool first, and a terminal
    /// that keeps its own text selection).
    #[serde(default)]
    pub mouse: bool,
    /// How long without a key or mouse event before the screen locks: "5m" (the default),
    /// "90s", "1h", or "off". Kept with its place in the file so a bad value is reported there.
    #[serde(default)]
    pub lock_after: Option<toml::Spanned<String>>,
    /// The same while a patient is dosed and not yet discharged in the session console: the
    /// lock screen then keeps the time since dose, the due checks and the live flags on screen
    /// (no name, no text). "15m" by default.
    #[serde(default)]
    pub lock_during_session: Option<toml::Spanned<String>>,
    /// Integration check-ins.
    #[serde(default)]
    pub check_ins: CheckInConfig,
    /// Courses of treatment.
    #[serde(default)]
    pub courses: CourseConfig,
    /// The FHIR export.
    #[serde(default)]
    pub fhir: FhirConfig,
    /// Integration goals.
    #[serde(default)]
    pub goals: GoalConfig,
    /// The monitoring provider and the treatment setting the esketamine REMS monitoring form
    /// asks for: provider_name, phone, email, setting_name, address, city, state, zip.
    #[serde(default)]
    pub clinic: crate::model::Clinic,
    /// `kitnotes sync` with the practice's FHIR server (`sync::config`).
    #[serde(default)]
    pub sync: Option<crate::sync::config::SyncConfig>,
    /// `check_ins.cadence` parsed, once, by `load`.
    #[serde(skip)]
    cadence: Cadence,
    /// `courses.reinduction_gap` parsed, once, by `load`.
    #[serde(skip)]
    reinduction_gap: Option<CadenceStep>,
    /// `lock_after` parsed, once, by `load`.
    #[serde(skip)]
    idle_lock: LockAfter,
    /// `lock_during_session` parsed, once, by `load`.
    #[serde(skip)]
    session_lock: Option<LockAfter>,
}

/// `[check_ins]` in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInConfig {
    /// When check-ins are due after each dose, e.g. `["24h", "72h", "1w", "2w", "1mo", "3mo"]`
    /// (the default). Each entry keeps its place in the file so a bad one is reported there.
    #[serde(default)]
    pub cadence: Option<toml::Spanned<Vec<toml::Spanned<String>>>>,
}

/// `[courses]` in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseConfig {
    /// How long without a dose before kitnotes suggests a re-induction, and where the courses
    /// of doses recorded before courses were records are split: "8 weeks" (the default),
    /// "2 months", "60 days".
    #[serde(default)]
    pub reinduction_gap: Option<toml::Spanned<String>>,
}

/// `[fhir]` in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirConfig {
    /// The system URI of the clinic's patient identifiers (`Patient.identifier.system`), e.g.
    /// "https://clinic.example.org/fhir/sid/patient-id"; the value is the kitnotes patient id.
    /// Default: the store's own id as a `urn:uuid:` (docs/FHIR.md). Kept with its place in the
    /// file so a value that is not a URI is reported there.
    #[serde(default)]
    pub identifier_system: Option<toml::Spanned<String>>,
}

/// `[goals]` in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalConfig {
    /// An active goal with no check-in, or no progress, for this many weeks is marked
    /// "stalled" in the course summary (as is one past its target date). 4 by default.
    #[serde(default)]
    pub stalled_weeks: Option<u32>,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}:{column}: check_ins.cadence: {message}")]
    Cadence {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}:{column}: courses.reinduction_gap: {message}")]
    ReinductionGap {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}:{line}:{column}: fhir.identifier_system {value:?} is not a URI: write an \
         absolute URI such as \"https://clinic.example.org/fhir/sid/patient-id\" or \
         \"urn:oid:...\" (no spaces)"
    )]
    IdentifierSystem {
        path: PathBuf,
        line: usize,
        column: usize,
        value: String,
    },
    #[error("{path}:{line}:{column}: {key}: {message}")]
    LockAfter {
        key: &'static str,
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}:{line}:{column}: timezone {name:?} is not a known IANA time zone, such as \
         \"Europe/Berlin\" ({detail})"
    )]
    TimeZone {
        path: PathBuf,
        line: usize,
        column: usize,
        name: String,
        detail: String,
    },
}

impl Config {
    /// Loads `<dir>/config.toml`; a missing file gives the defaults. A file over
    /// [`MAX_SETTINGS_FILE_BYTES`](crate::limits::MAX_SETTINGS_FILE_BYTES) is refused unread.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join("config.toml");
        let text = match crate::limits::read_to_string(
            &path,
            crate::limits::MAX_SETTINGS_FILE_BYTES,
            "a config file",
        ) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&path, &text)
    }

    /// Reads and checks the text of a config file; `path` is only used to name it in errors,
    /// each of which gives the line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let path = path.to_owned();
        let mut config: Config = parse_toml(&path, text)?;
        if let Some(list) = &config.check_ins.cadence {
            let entries = list.get_ref();
            let texts: Vec<&String> = entries.iter().map(|e| e.get_ref()).collect();
            config.cadence = Cadence::parse(&texts).map_err(|e| {
                // At the entry that is wrong, or at the list for an empty one.
                let at = e
                    .entry
                    .and_then(|i| entries.get(i))
                    .map_or(list.span().start, |s| s.span().start);
                let (line, column) = line_column(text, at);
                ConfigError::Cadence {
                    path: path.clone(),
                    line,
                    column,
                    message: e.message,
                }
            })?;
        }
        if let Some(value) = &config.courses.reinduction_gap {
            let gap = crate::model::course::parse_gap(value.get_ref()).map_err(|message| {
                let (line, column) = line_column(text, value.span().start);
                ConfigError::ReinductionGap {
                    path: path.clone(),
                    line,
                    column,
                    message,
                }
            })?;
            config.reinduction_gap = Some(gap);
        }
        if let Some(value) = &config.fhir.identifier_system
            && !is_uri(value.get_ref())
        {
            let (line, column) = line_column(text, value.span().start);
            return Err(ConfigError::IdentifierSystem {
                path,
                line,
                column,
                value: value.get_ref().clone(),
            });
        }
        let lock = |key: &'static str, value: &toml::Spanned<String>| {
            LockAfter::parse(value.get_ref()).map_err(|message| {
                let (line, column) = line_column(text, value.span().start);
                ConfigError::LockAfter {
                    key,
                    path: path.clone(),
                    line,
                    column,
                    message,
                }
            })
        };
        if let Some(value) = &config.lock_after {
            config.idle_lock = lock("lock_after", value)?;
        }
        if let Some(value) = config.sync.as_ref().and_then(|s| s.every.as_ref())
            && let Err(why) = crate::sync::config::parse_every(value.get_ref())
        {
            let (line, column) = line_column(text, value.span().start);
            return Err(ConfigError::LockAfter {
                key: "sync.every",
                path,
                line,
                column,
                message: format!("{:?} {why}", value.get_ref()),
            });
        }
        if let Some(value) = &config.lock_during_session {
            config.session_lock = Some(lock("lock_during_session", value)?);
        }
        config.time_zone().map_err(|detail| {
            let (name, at) = config.timezone.as_ref().map_or((String::new(), 0), |t| {
                (t.get_ref().clone(), t.span().start)
            });
            let (line, column) = line_column(text, at);
            ConfigError::TimeZone {
                path: path.clone(),
                line,
                column,
                name,
                detail,
            }
        })?;
        Ok(config)
    }

    /// The check-in cadence: as `load` read it from `[check_ins]`, else the default.
    pub fn cadence(&self) -> Cadence {
        self.cadence.clone()
    }

    /// The re-induction gap: as `load` read it from `[courses]`, else 8 weeks.
    pub fn reinduction_gap(&self) -> CadenceStep {
        self.reinduction_gap
            .unwrap_or(crate::model::course::DEFAULT_REINDUCTION_GAP)
    }

    /// `[fhir] identifier_system` as written, if set.
    pub fn fhir_identifier_system(&self) -> Option<&str> {
        self.fhir
            .identifier_system
            .as_ref()
            .map(|v| v.get_ref().as_str())
    }

    /// Weeks without a check-in or progress that stall a goal: `[goals] stalled_weeks`, else
    /// 4 (at least 1).
    pub fn stalled_weeks(&self) -> u32 {
        self.goals
            .stalled_weeks
            .unwrap_or(crate::model::summary::STALLED_WEEKS)
            .max(1)
    }

    /// When the screen locks by itself: as `load` read `lock_after`, else after 5 minutes.
    pub fn lock_after(&self) -> LockAfter {
        self.idle_lock
    }

    /// When the screen locks by itself while a patient is dosed in the console: as `load` read
    /// `lock_during_session`, else after 15 minutes.
    pub fn lock_during_session(&self) -> LockAfter {
        self.session_lock.unwrap_or(LockAfter::DURING_SESSION)
    }

    /// The zone to show times in.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match &self.timezone {
            Some(name) => jiff::tz::TimeZone::get(name.get_ref()).map_err(|e| e.to_string()),
            None => Ok(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC)),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`, for error messages
/// about any of kitnotes' files (config, keymaps, templates). An offset past the end or inside
/// a character is moved back to the nearest character boundary.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Parses TOML into `T`, turning the error's byte span into a line and column.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
        ConfigError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })
}

/// An absolute URI as FHIR's `uri` type takes it: a scheme (a letter, then letters, digits,
/// `+`, `-`, `.`), a colon, something after it, and no whitespace or control characters.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clinic_section_is_read_and_a_misspelt_key_is_an_error_with_its_line() {
        let c = Config::parse(
            Path::new("config.toml"),
            "[clinic]\nprovider_name = \"Dr. Example\"\nzip = \"00000\"\n",
        )
        .unwrap();
        assert_eq!(c.clinic.provider_name.as_deref(), Some("Dr. Example"));
        assert_eq!(c.clinic.zip.as_deref(), Some("00000"));
        let e = Config::parse(Path::new("config.toml"), "[clinic]\nphone_number = \"1\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config.toml:2:1: unknown field `phone_number`"),
            "{e}"
        );
    }

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Config::load(dir.path()).map_err(|e| {
            // Paths differ per run; tests compare the rest.
            match e {
                ConfigError::Parse {
                    line,
                    column,
                    message,
                    ..
                } => ConfigError::Parse {
                    path: "config.toml".into(),
                    line,
                    column,
                    message,
                },
                ConfigError::TimeZone {
                    line,
                    column,
                    name,
                    detail,
                    ..
                } => ConfigError::TimeZone {
                    path: "config.toml".into(),
                    line,
                    column,
                    name,
                    detail,
                },
                other => other,
            }
        })
    }

    #[test]
    fn the_fhir_identifier_system_must_be_a_uri_and_a_bad_one_is_located() {
        assert_eq!(Config::default().fhir_identifier_system(), None);
        let c = load("[fhir]\nidentifier_system = \"https://clinic.example.org/sid/p\"\n").unwrap();
        assert_eq!(
            c.fhir_identifier_system(),
            Some("https://clinic.example.org/sid/p")
        );
        assert!(load("[fhir]\nidentifier_system = \"urn:oid:1.2.3\"\n").is_ok());
        for bad in ["our clinic", "clinic", ":x", "https://a b"] {
            let e = load(&format!("[fhir]\nidentifier_system = {bad:?}\n")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(":2:21: fhir.identifier_system") && msg.contains("not a URI"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn the_reinduction_gap_is_read_in_words_and_a_bad_one_is_located() {
        use crate::model::cadence::CadenceStep;
        assert_eq!(Config::default().reinduction_gap(), CadenceStep::Weeks(8));
        let c = load("[courses]\nreinduction_gap = \"10 weeks\"\n").unwrap();
        assert_eq!(c.reinduction_gap(), CadenceStep::Weeks(10));
        let c = load("[courses]\nreinduction_gap = \"2 months\"\n").unwrap();
        assert_eq!(c.reinduction_gap(), CadenceStep::Months(2));
        let e = load("[courses]\nreinduction_gap = \"8 fortnights\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(":2:19: courses.reinduction_gap: ") && msg.contains("fortnights"),
            "{msg}"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("é = 1\nab", 7), (2, 1));
        assert_eq!(line_column("éé", 2), (1, 2));
        assert_eq!(line_column("é", 1), (1, 1));
    }

    #[test]
    fn a_missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path()).unwrap(), Config::default());
    }

    #[test]
    fn the_check_in_cadence_is_read_and_a_bad_entry_is_located() {
        assert_eq!(Config::default().cadence(), Cadence::default());
        let c = load("[check_ins]\ncadence = [\"1w\", \"24h\"]\n").unwrap();
        assert_eq!(
            c.cadence()
                .steps()
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>(),
            ["24 h", "1 week"]
        );
        let e = load("[check_ins]\ncadence = [\"24h\", \"3m\"]\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("config.toml:2:19: check_ins.cadence: \"3m\""),
            "{msg}"
        );
        assert!(msg.contains("write \"mo\" for months"), "{msg}");
        // An empty list is reported at the list, not at the top of the file.
        let e = load("mouse = true\n[check_ins]\ncadence = []\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("config.toml:3:11: check_ins.cadence: "),
            "{msg}"
        );
    }

    #[test]
    fn settings_are_read() {
        let c = load("clinician = \"Dr. Test Clinician\"\ntimezone = \"Europe/Berlin\"\n").unwrap();
        assert_eq!(c.clinician.as_deref(), Some("Dr. Test Clinician"));
    }

    #[test]
    fn an_unknown_field_is_an_error_with_its_line() {
        let e = load("clinician = \"Dr. X\"\nclinican_typo = 1\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("config.toml:2:1: unknown field `clinican_typo`"),
            "{msg}"
        );
    }

    #[test]
    fn ui_settings_are_read_and_a_bad_preset_is_located() {
        let c = load("keymap = \"vim\"\ntheme = \"high-contrast\"\nmouse = true\n").unwrap();
        assert_eq!(c.keymap, crate::keymap::Preset::Vim);
        assert_eq!(c.theme, Some(crate::app::ThemeKind::HighContrast));
        assert!(c.mouse);
        let e = load("mouse = false\nkeymap = \"emacz\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config.toml:2:10: unknown variant `emacz`"),
            "{e}"
        );
        let e = load("theme = \"dark\"\n").unwrap_err().to_string();
        assert!(
            e.contains("config.toml:1:9") && e.contains("high-contrast"),
            "{e}"
        );
    }

    #[test]
    fn lock_after_is_read_and_a_bad_value_is_located() {
        assert_eq!(Config::default().lock_after(), LockAfter::default());
        assert_eq!(
            load("lock_after = \"90s\"\n").unwrap().lock_after(),
            LockAfter::Idle(jiff::SignedDuration::from_secs(90))
        );
        assert_eq!(
            load("lock_after = \"off\"\n").unwrap().lock_after(),
            LockAfter::Never
        );
        let e = load("clinician = \"Dr. X\"\nlock_after = \"5\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config.toml:2:14: lock_after: \"5\" has no unit"),
            "{e}"
        );
        // A number without quotes is a TOML type error, at its line too.
        let e = load("lock_after = 5\n").unwrap_err().to_string();
        assert!(e.starts_with("config.toml:1:14: invalid type"), "{e}");
    }

    #[test]
    fn a_bad_sync_interval_is_located() {
        let sync = "[sync]\nserver = \"https://fhir.example.org\"\npractitioner = \"ana\"\n";
        let config = load(&format!("{sync}every = \"90s\"\n")).unwrap();
        assert_eq!(
            config.sync.unwrap().every().unwrap(),
            Some(jiff::SignedDuration::from_secs(90))
        );
        let e = load(&format!("{sync}every = \"5\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config.toml:4:9: sync.every: \"5\" needs a unit"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_time_zone_is_named() {
        let e = load("mouse = true\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(
            e.to_string().starts_with(
                "config.toml:2:12: timezone \"Mars/Olympus\" is not a known IANA time zone, such \
                 as \"Europe/Berlin\""
            ),
            "{e}"
        );
    }
}
