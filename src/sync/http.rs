//! The one connection kitnotes makes: to the FHIR server named in `[sync]`, with the bearer
//! token, answering with the status and body (an error only when nothing came back).

use super::config::SyncSettings;
use std::cell::Cell;
use std::time::Duration;

/// The longest body read from the server (a history page or a transaction's answer).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why nothing usable came back from the server.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HttpError {
    #[error("the server {server} is unreachable ({detail})")]
    Unreachable { server: String, detail: String },
}

/// The practice's FHIR server.
pub struct Server {
    agent: ureq::Agent,
    settings: SyncSettings,
    /// Requests answered so far.
    answered: Cell<u64>,
    /// A test hook (`KITNOTES_SYNC_ABORT_AFTER=N`): the process aborts, as if killed, right
    /// after the N-th answer arrives and before anything is done with it.
    abort_after: Option<u64>,
}

impl Server {
    pub fn new(settings: SyncSettings) -> Self {
        let config = ureq::Agent::config_builder()
            // Status codes are answers to read (412 is a conflict, 401 a token to renew).
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            // A redirect could carry the token elsewhere: none is followed.
            .max_redirects(0)
            .https_only(!settings.server.starts_with("http://"))
            .user_agent(concat!("kitnotes/", env!("CARGO_PKG_VERSION")))
            .build();
        let abort_after = std::env::var("KITNOTES_SYNC_ABORT_AFTER")
            .ok()
            .and_then(|v| v.trim().parse().ok());
        Self {
            agent: ureq::Agent::new_with_config(config),
            settings,
            answered: Cell::new(0),
            abort_after,
        }
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.settings.server
    }

    /// `GET` a path under the base (`_history?...`) or a full URL the server gave (a next page).
    pub fn get(&self, path_or_url: &str) -> Result<Reply, HttpError> {
        self.send("GET", path_or_url, None, None)
    }

    /// `POST` a transaction Bundle to the base.
    pub fn transaction(&self, bundle: &[u8]) -> Result<Reply, HttpError> {
        self.send("POST", "", Some(bundle), None)
    }

    /// `PUT` one resource at `Type/id`, with `If-Match` when a version was seen.
    pub fn put(&self, key: &str, body: &[u8], if_match: Option<&str>) -> Result<Reply, HttpError> {
        self.send("PUT", key, Some(body), if_match)
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else if path_or_url.is_empty() {
            self.base().to_owned()
        } else {
            format!("{}/{}", self.base(), path_or_url.trim_start_matches('/'))
        }
    }

    fn send(
        &self,
        method: &str,
        path_or_url: &str,
        body: Option<&[u8]>,
        if_match: Option<&str>,
    ) -> Result<Reply, HttpError> {
        let url = self.url(path_or_url);
        // Only the configured server is ever asked, whatever a next-page link says.
        if !url.starts_with(self.base()) {
            return Err(HttpError::Unreachable {
                server: self.base().to_owned(),
                detail: format!("it pointed kitnotes at another address ({url}), not followed"),
            });
        }
        let mut request = http_request(method, &url);
        request = request.header("Accept", "application/fhir+json");
        if let Some(token) = &self.settings.token {
            request = request.header("Authorization", format!("Bearer {}", token.as_str()));
        }
        if let Some(v) = if_match {
            request = request.header("If-Match", format!("W/\"{v}\""));
        }
        let response = match body {
            Some(body) => {
                let request = request.header("Content-Type", "application/fhir+json");
                self.agent.run(
                    request
                        .body(body.to_vec())
                        .map_err(|e| self.unreachable(e.to_string()))?,
                )
            }
            None => self.agent.run(
                request
                    .body(())
                    .map_err(|e| self.unreachable(e.to_string()))?,
            ),
        };
        let mut response = response.map_err(|e| self.unreachable(describe(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| self.unreachable(format!("its answer could not be read: {e}")))?;
        let answered = self.answered.get() + 1;
        self.answered.set(answered);
        if self.abort_after == Some(answered) {
            std::process::abort();
        }
        Ok(Reply { status, body })
    }

    fn unreachable(&self, detail: String) -> HttpError {
        HttpError::Unreachable {
            server: self.base().to_owned(),
            detail,
        }
    }
}

fn http_request(method: &str, url: &str) -> ureq::http::request::Builder {
    ureq::http::Request::builder().method(method).uri(url)
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::HostNotFound => "its host name was not found".into(),
        ureq::Error::Timeout(_) => "it did not answer in time".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "the connection was refused: is the server running?".into()
        }
        other => other.to_string(),
    }
}

/// The text of a FHIR OperationOutcome (its issues' diagnostics and details), else the start
/// of the body: what the server said went wrong.
pub fn outcome_text(body: &str) -> String {
    let from_outcome = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let issues = v.get("issue")?.as_array()?.clone();
            let texts: Vec<String> = issues
                .iter()
                .filter_map(|i| {
                    let details = i
                        .get("details")
                        .and_then(|d| d.get("text"))
                        .and_then(|t| t.as_str());
                    let diagnostics = i.get("diagnostics").and_then(|t| t.as_str());
                    match (details, diagnostics) {
                        (Some(a), Some(b)) if a != b => Some(format!("{a}: {b}")),
                        (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
                        (None, None) => None,
                    }
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("; "))
        });
    let text = from_outcome.unwrap_or_else(|| body.trim().chars().take(300).collect());
    crate::text_safety::one_line(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_operation_outcome_is_said_in_its_words() {
        let body = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error",
            "code":"exception","details":{"text":"Database unavailable"},
            "diagnostics":"connection pool exhausted"},{"severity":"error","code":"x",
            "diagnostics":"retry later"}]}"#;
        assert_eq!(
            outcome_text(body),
            "Database unavailable: connection pool exhausted; retry later"
        );
        assert_eq!(
            outcome_text("<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
        // Control characters from a server never reach the terminal as they are.
        assert!(
            !outcome_text("{\"issue\":[{\"diagnostics\":\"a\\u001b[31mb\"}]}").contains('\u{1b}')
        );
    }
}
