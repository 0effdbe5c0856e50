//! `[sync]` in config.toml: the practice's FHIR server, this clinician's Practitioner id and the
//! bearer token's file, checked before anything reaches the network.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[sync]` as written in config.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The FHIR R4 base URL, e.g. "https://fhir.clinic.example.org/fhir". https always; plain
    /// http only for this computer (127.0.0.1, localhost, [::1]).
    pub server: String,
    /// This clinician's Practitioner id at the practice: the author of what this laptop sends.
    pub practitioner: String,
    /// A file holding the bearer token (its first line), readable by its owner only (0600);
    /// relative paths are from the config directory. Without it no Authorization is sent.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// How often the open kitnotes syncs in the background: "5m" (the default), "90s", "1h",
    /// or "off" (only at start, after a signature, and `kitnotes sync`).
    #[serde(default)]
    pub every: Option<toml::Spanned<String>>,
}

/// How often the open kitnotes syncs when `every` is not set. Five minutes: a colleague's
/// note signed in the next room is here before the next patient, a sync with nothing new is
/// one small history request (twelve an hour per laptop is nothing for the server), and what
/// this clinician signs does not wait for it (a sync follows each signature).
pub const DEFAULT_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

impl SyncConfig {
    /// `every` read: how long between background syncs, `None` for "off".
    pub fn every(&self) -> Result<Option<jiff::SignedDuration>, SyncConfigError> {
        let Some(text) = self.every.as_ref().map(|e| e.get_ref().as_str()) else {
            return Ok(Some(DEFAULT_EVERY));
        };
        parse_every(text).map_err(|why| SyncConfigError::Every(text.to_owned(), why))
    }
}

/// `every`: "30s" to "24h", or "off"/"never" (`None`); the error says why not, in words that
/// follow the value.
pub fn parse_every(text: &str) -> Result<Option<jiff::SignedDuration>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let (number, per) = if let Some(n) = t.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600)
    } else {
        return Err("needs a unit: write it as \"5m\", \"90s\" or \"1h\", or \"off\"".into());
    };
    let secs = number
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(per))
        .ok_or("is not a whole number of seconds, minutes or hours")?;
    if !(30..=24 * 3600).contains(&secs) {
        return Err("must be between \"30s\" and \"24h\" (or \"off\")".into());
    }
    Ok(Some(jiff::SignedDuration::from_secs(secs)))
}

/// What `[sync]` says, checked: where to send, as whom, with which token.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// The base URL without a trailing slash.
    pub server: String,
    pub practitioner: String,
    /// The name shown beside this clinician's records on the other laptops.
    pub display_name: String,
    pub token: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("SyncSettings")
            .field("server", &self.server)
            .field("practitioner", &self.practitioner)
            .field("display_name", &self.display_name)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Why `[sync]` cannot be used, with what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncConfigError {
    #[error(
        "config.toml has no [sync] section: add one with `server` (the practice's FHIR R4 base \
         URL) and `practitioner` (your Practitioner id there); see README, \"A group practice\""
    )]
    Missing,
    #[error("config.toml [sync] server {0:?}: {1}")]
    Server(String, String),
    #[error(
        "config.toml [sync] practitioner {0:?} is not a FHIR id (1-64 letters, digits, '-' or \
         '.')"
    )]
    Practitioner(String),
    #[error("config.toml [sync] every {0:?} {1}")]
    Every(String, String),
    #[error("config.toml [sync] token_file {path}: {detail}")]
    Token { path: PathBuf, detail: String },
}

impl SyncSettings {
    /// Checks `[sync]`; `config_dir` anchors a relative token file, `clinician` is the name
    /// from config.toml (else the Practitioner id is shown).
    pub fn from_config(
        config: Option<&SyncConfig>,
        config_dir: &Path,
        clinician: Option<&str>,
    ) -> Result<Self, SyncConfigError> {
        let config = config.ok_or(SyncConfigError::Missing)?;
        config.every()?;
        let server = check_server(&config.server)
            .map_err(|why| SyncConfigError::Server(config.server.clone(), why))?;
        if !is_fhir_id(&config.practitioner) {
            return Err(SyncConfigError::Practitioner(config.practitioner.clone()));
        }
        let token = match &config.token_file {
            Some(path) => {
                let path = if path.is_relative() {
                    config_dir.join(path)
                } else {
                    path.clone()
                };
                Some(read_token(&path).map_err(|detail| SyncConfigError::Token {
                    path: path.clone(),
                    detail,
                })?)
            }
            None => None,
        };
        let display_name = clinician
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(&config.practitioner)
            .to_owned();
        Ok(Self {
            server,
            practitioner: config.practitioner.clone(),
            display_name,
            token,
        })
    }
}

/// A FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The base URL without its trailing slash, or why it cannot be used: https for any host, plain
/// http only for this computer, no user name or password in it, no query or fragment.
pub fn check_server(url: &str) -> Result<String, String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("is not a URL; write it as https://host/path")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host".into());
    }
    if authority.contains('@') {
        return Err("must not hold a user name or password; put the token in token_file".into());
    }
    if rest.contains(['?', '#', ' ']) {
        return Err("must be a base URL without a query, fragment or spaces".into());
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if matches!(host, "127.0.0.1" | "localhost" | "::1") => {}
        "http" => {
            return Err(format!(
                "plain http is allowed only for this computer (127.0.0.1, localhost); use https \
                 for {host}, so records never cross the network unencrypted"
            ));
        }
        other => return Err(format!("unknown scheme {other:?}; use https")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The token: the file's first line, from a regular file only its owner can read.
fn read_token(path: &Path) -> Result<zeroize::Zeroizing<String>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "is readable by others (mode {mode:04o}): a bearer token opens the practice's \
                 records, so keep it private with `chmod 600 {}`",
                path.display()
            ));
        }
    }
    let text = crate::limits::read_to_string(path, 64 * 1024, "a token file")
        .map_err(|e| e.to_string())?;
    let text = zeroize::Zeroizing::new(text);
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err("is empty; its first line must be the bearer token".into());
    }
    if token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err("holds spaces or characters a bearer token cannot have".into());
    }
    Ok(zeroize::Zeroizing::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_is_read_with_its_unit_and_bounds() {
        let every = |e: Option<&str>| {
            SyncConfig {
                every: e.map(|e| toml::Spanned::new(0..0, e.to_owned())),
                ..SyncConfig::default()
            }
            .every()
        };
        assert_eq!(every(None).unwrap(), Some(DEFAULT_EVERY));
        assert_eq!(
            every(Some("90s")).unwrap(),
            Some(jiff::SignedDuration::from_secs(90))
        );
        assert_eq!(
            every(Some("1h")).unwrap(),
            Some(jiff::SignedDuration::from_hours(1))
        );
        assert_eq!(every(Some("off")).unwrap(), None);
        for bad in ["5", "5x", "1s", "25h", "m", "-5m"] {
            let e = every(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("[sync] every"), "{bad}: {e}");
        }
    }

    #[test]
    fn plain_http_only_for_this_computer() {
        assert_eq!(
            check_server("http://127.0.0.1:8080/fhir/").unwrap(),
            "http://127.0.0.1:8080/fhir"
        );
        assert!(check_server("http://localhost:9/").is_ok());
        assert!(check_server("http://[::1]:9/").is_ok());
        assert!(check_server("https://fhir.example.org/r4").is_ok());
        let e = check_server("http://fhir.example.org/r4").unwrap_err();
        assert!(e.contains("only for this computer"), "{e}");
        assert!(check_server("http://127.0.0.1.example.org/").is_err());
        assert!(check_server("https://user:pw@fhir.example.org/").is_err());
        assert!(check_server("ftp://fhir.example.org/").is_err());
        assert!(check_server("fhir.example.org").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_token_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc.def\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = SyncConfig {
            server: "https://fhir.example.org".into(),
            practitioner: "ana".into(),
            token_file: Some("token".into()),
            every: None,
        };
        let e = SyncSettings::from_config(Some(&config), dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = SyncSettings::from_config(Some(&config), dir.path(), Some("Dr. Ana")).unwrap();
        assert_eq!(s.token.as_deref().map(String::as_str), Some("abc.def"));
        assert_eq!(s.display_name, "Dr. Ana");
        assert!(!format!("{s:?}").contains("abc.def"));
    }
}
