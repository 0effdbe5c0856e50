//! The integration tests, linked as one binary (`cargo test` builds and links it once instead of
//! once per file). Each file is a module named after it: `cargo test --test all ui::` runs the
//! UI tests, `cargo test --test all crash::` the crash rounds.

mod common;
#[path = "support/pty.rs"]
mod term;

mod audit;
mod backup;
mod cadence;
mod cli;
mod cli_io;
mod console;
mod contrast;
mod corruption;
mod crash;
mod demo;
mod durability;
mod encryption;
mod fhir;
mod fhir_schema;
mod fuzz;
mod goals;
mod hostile_text;
mod interchange;
mod keymaps;
mod lists;
mod lock;
mod measures;
mod presets;
mod protocols;
mod pty;
mod rems;
mod rems_flow;
mod resources;
mod search;
mod search_snapshot;
mod search_ui;
mod serve;
mod signals;
mod store;
mod sync;
mod sync_ui;
mod tamper;
mod templates;
mod ui;
mod views;
