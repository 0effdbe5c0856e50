//! kitnotes: offline, keyboard-driven clinical notes for ketamine-assisted therapy.
//!
//! How the parts fit (see docs/ARCHITECTURE.md for more):
//! - [`model`]: the clinical domain, pure. Patients, notes, dosing sessions, goals, measures,
//!   scoring and monitoring rules, timeline assembly. No terminal, no disk, no clock.
//! - [`store`]: the [`store::Store`] trait and its sled implementation: versioned record
//!   envelopes through one codec, a schema version with migrations, one prefix scan per patient
//!   timeline, atomic multi-record changes, durable flushes, a lock against a second process,
//!   and the hash-chained audit log written in the same batch as each change.
//! - [`search`]: full-text search: words, the query language and snippets; the index itself is
//!   kept by the store in the same atomic write as the records.
//! - [`interchange`]: the JSON Lines interchange format (import and export) and the Markdown chart.
//! - [`templates`]: note templates (built-in TOML files compiled in, the user's layered over
//!   them): the sections a new note starts with and which must be filled in to sign.
//! - [`protocols`]: protocol profiles for dosing sessions (built-in TOML files compiled in, the
//!   user's layered over them): medication, route, usual dose, alert thresholds and the
//!   monitoring checklist with its due and overdue states; and the session note's first text.
//!   Both layer the user's files by one shared rule (`layered`).
//! - [`demo`]: the invented demo caseload, deterministic for a seed.
//! - [`keymap`]: key notation (`<C-s>`, `gg`), the layered keymap files (keymaps/default.toml,
//!   a vim or emacs preset, the user's keymap.toml) and resolving key presses to app actions.
//! - [`action`]: the list of actions (`note.sign`, ...) and key contexts, below `app` and
//!   `keymap`; [`layout`]: where things go on screen, below `app` and `ui`.
//! - [`app`]: the terminal UI's state and every action that changes it. [`app::layer`] decides
//!   who has the keyboard (lock, popup, editor, console, filter, view, panes) and dispatches
//!   each action to that layer's `update_*`; popups are components ([`app::component`]).
//!   [`ui`] draws that state (never changing it) and [`tui`] runs the terminal and the event
//!   loop.
//! - [`cli`]: one file per subcommand; `main.rs` only parses the command line and reports errors.
//! - [`clock`]: injected time and ids, so tests are exact.
//! - [`progress`]: how far long work has got (an export's patients), for the UI to show.
//!
//! - [`sync`]: `kitnotes sync` with the practice's FHIR R4 server (push, pull, conflicts, the
//!   queue kept in the store); the open app runs it in the background (`app::sync`).
//!
//! Nothing here reaches the network except [`sync`], and only to the server config.toml names.

pub mod action;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod interchange;
pub mod keymap;
mod layered;
pub mod layout;
pub mod limits;
pub mod model;
pub mod progress;
pub mod protocols;
pub mod search;
pub mod store;
pub mod sync;
pub mod templates;
pub mod text_safety;
pub mod tui;
pub mod ui;
