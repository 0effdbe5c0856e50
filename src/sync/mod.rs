//! `kitnotes sync`: exchanges records with the practice's FHIR R4 server named in config.toml
//! (`[sync]`), the only network use in kitnotes.
//!
//! One sync pulls first (`_history?_since=`, paged: what others sent since the last pull,
//! written here as records attributed to their author) and then pushes (what changed here, as
//! transaction bundles of `PUT Type/id` with `If-Match` on the version last seen). What waits to
//! be sent is whatever differs from what the server was last seen holding
//! ([`state::SyncState::seen`]), so a sync killed at any point loses nothing and sends nothing
//! twice: the next one finds its own writes on the server and takes their versions. A record
//! changed both here and on the server is a [`state::Conflict`]: both are kept until a person
//! chooses (`kitnotes sync --keep-mine/--keep-theirs`). Each sync is one audit entry.
//!
//! Never sent: drafts, psychotherapy notes, dosing sessions not yet signed, and every record of
//! a patient tagged `local` ([`resources::shareable`]).

pub mod config;
pub mod http;
mod pull;
mod push;
pub mod resources;
pub mod state;

use crate::interchange::fhir::FhirOptions;
use crate::store::{AuditAction, AuditEvent, Store, StoreError};
use http::{HttpError, Server};
use state::{Author, Conflict, SyncState};
use std::collections::BTreeMap;

/// What a sync needs besides the store and the server.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The FHIR mapping's settings (time zone, re-induction gap, identifier system,
    /// thresholds): the same on every laptop of the practice, or their resources differ.
    pub fhir: FhirOptions,
    /// When, and who, for the audit log.
    pub at: jiff::Timestamp,
    pub who: String,
    pub direction: Direction,
}

/// Which half of a sync to run (both, normally).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Both,
    PullOnly,
    PushOnly,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Records written here that came from others, by author name.
    pub received: BTreeMap<String, usize>,
    /// Resources sent, by FHIR type.
    pub sent: BTreeMap<String, usize>,
    /// Records sent (each carried by a `Basic`).
    pub sent_records: usize,
    /// Conflicts found by this sync.
    pub new_conflicts: Vec<Conflict>,
    /// Conflicts still open after it.
    pub open_conflicts: usize,
    /// Resources waiting to be sent after it.
    pub queued: usize,
    /// What stayed on this laptop by rule.
    pub kept_here: resources::KeptHere,
    /// Records from the server that could not be written here, each with why.
    pub problems: Vec<String>,
}

impl SyncReport {
    pub fn received_total(&self) -> usize {
        self.received.values().sum()
    }

    pub fn sent_total(&self) -> usize {
        self.sent.values().sum()
    }

    /// One line for the audit log and the status bar.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "sent {} resources ({} records)",
            self.sent_total(),
            self.sent_records
        )];
        let from: Vec<String> = self
            .received
            .iter()
            .map(|(who, n)| format!("{n} from {who}"))
            .collect();
        parts.push(if from.is_empty() {
            "received 0 records".into()
        } else {
            format!(
                "received {} records ({})",
                self.received_total(),
                from.join(", ")
            )
        });
        if !self.new_conflicts.is_empty() {
            let ids: Vec<&str> = self
                .new_conflicts
                .iter()
                .map(|c| c.record.as_str())
                .collect();
            parts.push(format!(
                "{} new conflict(s): {}",
                self.new_conflicts.len(),
                ids.join(", ")
            ));
        }
        if self.open_conflicts > 0 {
            parts.push(format!("{} conflict(s) open", self.open_conflicts));
        }
        if self.queued > 0 {
            parts.push(format!("{} resources queued", self.queued));
        }
        if !self.problems.is_empty() {
            parts.push(format!(
                "{} record(s) not written here",
                self.problems.len()
            ));
        }
        parts.join("; ")
    }
}

/// Why a sync stopped: each says what happened and what is kept.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Config(#[from] config::SyncConfigError),
    #[error("{0}; the changes are kept here and go at the next sync")]
    Unreachable(HttpError),
    #[error(
        "the server {server} refused the token ({status}): {text}. Check `token_file` in \
         config.toml [sync]; the changes are kept here and go at the next sync"
    )]
    Unauthorized {
        server: String,
        status: u16,
        text: String,
    },
    #[error(
        "the server {server} failed {what} ({status}): {text}; the changes are kept here and go \
         at the next sync"
    )]
    Server {
        server: String,
        what: String,
        status: u16,
        text: String,
    },
    #[error("the server {server} answered {what} with something that is not FHIR: {detail}")]
    Malformed {
        server: String,
        what: String,
        detail: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("no conflict is open for record {0} (`kitnotes sync --conflicts` lists them)")]
    NoConflict(String),
}

impl From<HttpError> for SyncError {
    fn from(e: HttpError) -> Self {
        SyncError::Unreachable(e)
    }
}

impl SyncError {
    /// The error for an answer that is not a success, 401/403 and 5xx each in their words.
    pub(crate) fn from_status(server: &Server, what: &str, reply: &http::Reply) -> Self {
        let text = http::outcome_text(&reply.body);
        match reply.status {
            401 | 403 => SyncError::Unauthorized {
                server: server.base().to_owned(),
                status: reply.status,
                text,
            },
            status => SyncError::Server {
                server: server.base().to_owned(),
                what: what.to_owned(),
                status,
                text,
            },
        }
    }

    /// A short name for the state shown in the status bar.
    pub fn state_word(&self) -> &'static str {
        match self {
            SyncError::Unreachable(_) => "queued (server unreachable)",
            SyncError::Unauthorized { .. } => "token refused",
            SyncError::Server { .. } | SyncError::Malformed { .. } => "server error",
            _ => "failed",
        }
    }

    /// [`SyncError::state_word`] with the server's status code where there is one: "token
    /// refused (401)", "server error (503)".
    pub fn state_words(&self) -> String {
        match self {
            SyncError::Unauthorized { status, .. } | SyncError::Server { status, .. } => {
                format!("{} ({status})", self.state_word())
            }
            _ => self.state_word().to_owned(),
        }
    }
}

/// Where syncing stands, for [`label`].
#[derive(Debug, Clone, Copy)]
pub enum Standing<'a> {
    /// No sync has ended yet.
    Never,
    /// A sync is under way (the UI's background sync).
    Syncing,
    /// The last sync reached the server and ended then.
    Synced(jiff::Timestamp),
    /// The last sync stopped with this error, leaving `queued` resources to send.
    Stopped { error: &'a SyncError, queued: usize },
    /// The last sync stopped, known only from the stored state (why is in `kitnotes sync
    /// --status`).
    StoppedEarlier,
}

/// How syncing stands in a few words, for the app's header and status bar: "syncing…",
/// "synced 15:30" (with the date when it was not `today`), "sync: queued (server unreachable),
/// 3 changes waiting", "sync: token refused (401)"; then the open conflicts and how to settle
/// them.
pub fn label(
    standing: Standing<'_>,
    conflicts: usize,
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) -> String {
    let mut words = match standing {
        Standing::Never => "not synced yet".to_owned(),
        Standing::Syncing => "syncing…".to_owned(),
        Standing::Synced(t) => {
            let t = t.to_zoned(tz.clone());
            if t.date() == today {
                format!("synced {}", t.strftime("%H:%M"))
            } else {
                format!("synced {}", t.strftime("%Y-%m-%d %H:%M"))
            }
        }
        Standing::Stopped { error, queued } => match queued {
            0 => format!("sync: {}", error.state_words()),
            1 => format!("sync: {}, 1 change waiting", error.state_words()),
            n => format!("sync: {}, {n} changes waiting", error.state_words()),
        },
        Standing::StoppedEarlier => "sync: queued, the last try stopped".to_owned(),
    };
    if conflicts > 0 {
        words.push_str(&format!(
            " · {conflicts} conflict(s): kitnotes sync --conflicts"
        ));
    }
    words
}

/// This laptop's clinician as the author of what it sends.
fn me(server: &Server) -> Author {
    Author {
        practitioner: server.settings().practitioner.clone(),
        name: server.settings().display_name.clone(),
    }
}

/// Runs one sync: pull, then push. Whatever happens, the state reached is stored and one audit
/// entry says what was sent and received, or why it stopped (with what stays queued).
pub fn sync(
    store: &dyn Store,
    server: &Server,
    opts: &SyncOptions,
) -> (SyncReport, Result<(), SyncError>) {
    let mut report = SyncReport::default();
    let mut state = match SyncState::load(store, server.base()) {
        Ok(s) => s,
        Err(e) => return (report, Err(e.into())),
    };
    let mut found = None;
    let result = run(store, server, opts, &mut state, &mut report, &mut found);
    // What waits now, whatever happened: the queue is what differs from the server. A push
    // counts it from what it found waiting; without one, the store is read for it.
    report.queued = match &found {
        Some(found) => push::still_waiting(found, &state),
        None => push::pending_count(store, &state, opts, &me(server)).unwrap_or(0),
    };
    report.open_conflicts = state.conflicts.len();
    match &result {
        Ok(()) => {
            state.last_success = Some(opts.at);
            state.last_error = None;
        }
        Err(e) => state.last_error = Some(e.to_string()),
    }
    let saved = state.save(store);
    let detail = match &result {
        Ok(()) => format!("with {}: {}", server.base(), report.summary()),
        Err(e) => format!(
            "with {}: stopped: {e} ({} so far)",
            server.base(),
            report.summary()
        ),
    };
    let event = AuditEvent {
        at: opts.at,
        who: opts.who.clone(),
        action: AuditAction::Synced,
        patient: None,
        record: None,
        detail,
    };
    let logged = store.log_event(&event).and_then(|_| store.flush());
    let result = result
        .and(saved.map_err(SyncError::from))
        .and(logged.map_err(SyncError::from));
    (report, result)
}

fn run(
    store: &dyn Store,
    server: &Server,
    opts: &SyncOptions,
    state: &mut SyncState,
    report: &mut SyncReport,
    found: &mut Option<Vec<push::Waiting>>,
) -> Result<(), SyncError> {
    let me = me(server);
    if opts.direction != Direction::PushOnly {
        pull::pull(store, server, opts, &me, state, report)?;
    }
    if opts.direction != Direction::PullOnly {
        push::push(store, server, opts, &me, state, report, found)?;
    }
    Ok(())
}

/// Which side of a conflict to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// This laptop's version: it is sent at the next sync, replacing the server's knowingly.
    Mine,
    /// The server's version: it is written here now.
    Theirs,
}

/// Settles the conflict on `record` (no server needed): both choices are audited.
pub fn resolve(
    store: &dyn Store,
    server_base: &str,
    record: &str,
    keep: Keep,
    at: jiff::Timestamp,
    who: &str,
) -> Result<Conflict, SyncError> {
    let mut state = SyncState::load(store, server_base)?;
    let Some(pos) = state.conflicts.iter().position(|c| c.record == record) else {
        return Err(SyncError::NoConflict(record.to_owned()));
    };
    let conflict = state.conflicts[pos].clone();
    let theirs = crate::interchange::record_line::from_line(&conflict.theirs).map_err(|e| {
        SyncError::Store(StoreError::Invalid {
            id: record.to_owned(),
            detail: format!("the server's version cannot be read: {e}"),
        })
    })?;
    let by = conflict
        .their_author
        .as_ref()
        .map_or("another clinician".to_owned(), |a| a.name.clone());
    let event = AuditEvent {
        at,
        who: who.to_owned(),
        action: AuditAction::Synced,
        patient: Some(theirs.patient().clone()),
        record: Some(record.to_owned()),
        detail: match keep {
            Keep::Mine => format!(
                "conflict settled: kept this laptop's version over {by}'s (server version {}), \
                 sent at the next sync",
                conflict.their_version
            ),
            Keep::Theirs => format!(
                "conflict settled: kept {by}'s version from the server (version {}) over this \
                 laptop's",
                conflict.their_version
            ),
        },
    };
    let changes = match keep {
        Keep::Mine => vec![],
        Keep::Theirs => vec![crate::store::Change::Put(theirs)],
    };
    store.apply_with_events(&changes, std::slice::from_ref(&event))?;
    if keep == Keep::Theirs
        && let Some(a) = &conflict.their_author
    {
        state.authors.insert(record.to_owned(), a.clone());
    }
    if keep == Keep::Mine {
        state.authors.remove(record);
    }
    state.seen.insert(
        conflict.key.clone(),
        state::Seen {
            version: conflict.their_version.clone(),
            hash: resources::hash_line(&conflict.theirs),
        },
    );
    state.conflicts.remove(pos);
    state.save(store)?;
    Ok(conflict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_and_a_server_error_say_what_happened() {
        let server = Server::new(config::SyncSettings {
            server: "https://fhir.example.org".into(),
            practitioner: "ana".into(),
            display_name: "Dr. Ana".into(),
            token: None,
        });
        let reply = |status, body: &str| http::Reply {
            status,
            body: body.into(),
        };
        let e = SyncError::from_status(&server, "a transaction", &reply(401, "")).to_string();
        assert!(
            e.contains("refused the token (401)") && e.contains("token_file"),
            "{e}"
        );
        let outcome =
            r#"{"resourceType":"OperationOutcome","issue":[{"diagnostics":"disk full"}]}"#;
        let e = SyncError::from_status(&server, "a transaction", &reply(503, outcome)).to_string();
        assert!(e.contains("failed a transaction (503): disk full"), "{e}");
        assert!(e.contains("kept here and go at the next sync"), "{e}");
    }
}
