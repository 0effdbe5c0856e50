//! The command line: global options, where the stores live, and one file per subcommand.

pub mod audit;
pub mod backup;
pub mod check;
pub mod demo;
pub mod export;
pub mod import;
pub mod output;
pub mod passphrase;
pub mod passwd;
pub mod protocols;
pub mod restore;
pub mod screenshot;
pub mod search;
pub mod serve;
pub mod sync;
pub mod templates;
pub mod today;

use crate::config::Config;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// kitnotes: offline, keyboard-driven notes for ketamine-assisted therapy.
///
/// Keeps, per patient, preparation notes, dosing sessions with vitals and observations,
/// integration goals and PHQ-9 / GAD-7 scores, in a local store that never touches the network.
#[derive(Debug, Parser)]
#[command(name = "kitnotes", version, propagate_version = true)]
pub struct Cli {
    /// Where the stores live [default: the platform's data directory for kitnotes].
    #[arg(long, global = true, env = "KITNOTES_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Where config.toml, keymap.toml and templates/ are read from
    /// [default: the platform's config directory for kitnotes].
    #[arg(long, global = true, env = "KITNOTES_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Work on the demo store (`<data dir>/demo`) instead of the real one.
    #[arg(long, global = true)]
    pub demo: bool,

    /// Read the store's passphrase from the first line of this file instead of asking (for
    /// scripts; keep the file where only you can read it).
    #[arg(
        long,
        global = true,
        env = "KITNOTES_PASSPHRASE_FILE",
        value_name = "PATH"
    )]
    pub passphrase_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the invented demo caseload (kept apart from the real store) and open it.
    Demo(demo::Args),
    /// Add patients and records from a JSON Lines file (all or nothing).
    Import(import::Args),
    /// Write the store, or one patient, as JSON Lines, a Markdown chart or a FHIR R4 bundle.
    Export(export::Args),
    /// Check the store's integrity and report what it holds.
    Check(check::Args),
    /// Draw the app after some keys into an SVG picture or text (how screenshots/ is made).
    Screenshot(screenshot::Args),
    /// List the audit log (who did what when), or verify its hash chain.
    Audit(audit::Args),
    /// List the note templates (built-in and yours), or show one.
    Templates(templates::Args),
    /// List the dosing protocol profiles (built-in and yours), or show one.
    Protocols(protocols::Args),
    /// What needs doing today across all patients (the Today view as text).
    Today(today::Args),
    /// Find words, prefixes and phrases in every note, observation, goal and check-in.
    Search(search::Args),
    /// Change the store's passphrase (no record is rewritten).
    Passwd(passwd::Args),
    /// Back up the whole store to one file (also while kitnotes is open).
    ///
    /// The file holds the store's bytes as stored, so it is as encrypted as the store. If
    /// kitnotes is open on the store, that kitnotes writes the backup. See docs/BACKUP.md.
    Backup(backup::Args),
    /// Verify a backup and restore it into an empty data directory.
    ///
    /// The whole file is checked first; the store is written beside the target, checked like
    /// `kitnotes check`, and only then moved into place. An existing store is never written to.
    Restore(restore::Args),
    /// Exchange records with the practice's FHIR R4 server ([sync] in config.toml).
    ///
    /// Pulls what the other clinicians sent, then pushes what was signed or recorded here.
    /// Drafts, psychotherapy notes and patients tagged `local` never leave this laptop.
    Sync(sync::Args),
}

/// The directories kitnotes uses.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub config_dir: PathBuf,
}

impl Paths {
    /// From the command line or environment, else the platform's defaults.
    pub fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let dirs = || {
            directories::ProjectDirs::from("", "", "kitnotes").context(
                "cannot find a home directory for kitnotes' files; pass --data-dir and --config-dir",
            )
        };
        let data_dir = match &cli.data_dir {
            Some(d) => d.clone(),
            None => dirs()?.data_dir().to_owned(),
        };
        let config_dir = match &cli.config_dir {
            Some(d) => d.clone(),
            None => dirs()?.config_dir().to_owned(),
        };
        Ok(Self {
            data_dir,
            config_dir,
        })
    }

    /// The clinic's real store.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The demo store, kept apart from the real one.
    pub fn demo_dir(&self) -> PathBuf {
        self.data_dir.join("demo")
    }
}

/// What every command gets: where things are, the user's settings, and which store.
#[derive(Debug)]
pub struct Env {
    pub paths: Paths,
    pub config: Config,
    pub demo: bool,
    /// Where the passphrase comes from instead of the terminal.
    pub passphrase_file: Option<PathBuf>,
}

impl Env {
    /// Who this command acts as in the audit log, now: the clinician from config.toml, else the
    /// operating-system account ([`crate::store::audit::who`]).
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor::new(
            crate::store::audit::who(self.config.clinician.as_deref()),
            jiff::Timestamp::now(),
        )
    }

    /// The store this command works on.
    pub fn store_dir(&self) -> PathBuf {
        if self.demo {
            self.paths.demo_dir()
        } else {
            self.paths.store_dir()
        }
    }

    /// Opens this command's store, which must already exist: reading commands never create one.
    pub fn open_existing_store(&self) -> anyhow::Result<crate::store::SledStore> {
        let dir = self.store_dir();
        if !crate::store::SledStore::is_in(&dir) {
            anyhow::bail!(
                "there is no kitnotes store at {} yet{}",
                dir.display(),
                if self.demo {
                    "; build it with `kitnotes demo --no-ui`"
                } else {
                    ""
                }
            );
        }
        self.open_store(&dir)
    }

    /// Opens the store in `dir` for a command, unlocked, with the path in any error. A new
    /// store is made where there is none: encrypted with a passphrase chosen now (the first-run
    /// screen), except the demo store, which is invented data and stays plain.
    pub fn open_store(&self, dir: &Path) -> anyhow::Result<crate::store::SledStore> {
        self.open_store_keeping(dir).map(|(store, _)| store)
    }

    /// [`Env::open_store`], also returning the passphrase that opened it (`None`: plain).
    pub fn open_store_keeping(
        &self,
        dir: &Path,
    ) -> anyhow::Result<(crate::store::SledStore, Option<passphrase::Secret>)> {
        use crate::store::SledStore;
        let file = self.passphrase_file.as_deref();
        if dir != self.paths.demo_dir() && !SledStore::is_in(dir) {
            let chosen = passphrase::choose(file, &passphrase::first_run_text(dir))?;
            let store =
                SledStore::create_encrypted(dir, &chosen, crate::store::crypt::KdfParams::DEFAULT)?;
            return Ok((store, Some(chosen)));
        }
        let store = SledStore::open(dir)?;
        let secret = passphrase::unlock(&store, file)?;
        Ok((store, secret))
    }
}

/// Opens the terminal UI on `store` and runs it until the user quits.
pub fn open_ui(env: &Env, store: crate::store::SledStore) -> anyhow::Result<ExitCode> {
    let (dir, backups) = (store.dir().to_owned(), store.backup_source());
    let mut app = build_app(
        env,
        store,
        Box::new(crate::clock::SystemClock),
        Resuming::On,
    )?;
    // `kitnotes backup` asks this process while it holds the store; declared after the app, so
    // it stops before the store closes.
    let _backups = backup::serve_while_open(&mut app, &dir, backups);
    sync::in_background(env, &mut app);
    let ended = crate::tui::run(&mut app, env.config.mouse);
    // A sync under way ends first, so the store closes cleanly after it.
    let syncing = app.end_background_sync(std::time::Duration::from_secs(10));
    for message in app.exit_message.take().into_iter().chain(syncing) {
        // Not `eprintln!`: standard error may be the terminal just closed, and a failed write
        // must not panic before the store is closed.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("kitnotes: {}\n", crate::text_safety::printable(&message)),
        );
    }
    Ok(ExitCode::from(ended?.exit_code()))
}

/// Lists on stderr the `what` files (templates, protocols) that did not load; true if any.
fn report_skipped(what: &str, errors: &[impl std::fmt::Display]) -> bool {
    if errors.is_empty() {
        return false;
    }
    eprintln!(
        "kitnotes: {} {what} file(s) could not be used and were skipped:",
        errors.len()
    );
    for e in errors {
        let e = e.to_string();
        eprintln!("  {}", crate::text_safety::printable(&e));
    }
    true
}

/// Whether the app reopens the draft open when it last stopped, and remembers the one it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resuming {
    On,
    /// For pictures: neither read nor leave behind the memory of an open draft, so taking a
    /// screenshot never changes what the next real start reopens.
    Off,
}

/// The app on `store` with the user's keymap, theme and settings.
pub fn build_app(
    env: &Env,
    store: crate::store::SledStore,
    clock: Box<dyn crate::clock::Clock>,
    resuming: Resuming,
) -> anyhow::Result<crate::app::App> {
    use crate::app::{App, AppSettings, ThemeKind};
    use crate::store::Store;
    // The built-in keymap, the preset from config.toml, and the user's keymap.toml over them.
    let keymap = crate::keymap::Keymap::from_config_dir(env.config.keymap, &env.paths.config_dir)?;
    let loaded = crate::templates::load(&env.paths.config_dir);
    let protocols = crate::protocols::load(&env.paths.config_dir);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = if no_color {
        ThemeKind::Monochrome
    } else {
        env.config.theme.unwrap_or(ThemeKind::Standard)
    };
    let settings = AppSettings {
        clinician: env.config.clinician.clone(),
        clinic: env.config.clinic.clone(),
        rems_dir: Some(
            env.paths
                .data_dir
                .join(if env.demo { "demo-rems" } else { "rems" }),
        ),
        time_zone: env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC),
        theme,
        cadence: env.config.cadence(),
        reinduction_gap: env.config.reinduction_gap(),
        stalled_weeks: env.config.stalled_weeks(),
        lock_after: env.config.lock_after(),
        lock_during_session: env.config.lock_during_session(),
        no_color,
        // Says when the records are not encrypted at rest (the demo store).
        store_label: match (env.demo, store.is_encrypted()) {
            (true, false) => "demo · not encrypted".into(),
            (true, true) => "demo".into(),
            (false, false) => "not encrypted".into(),
            (false, true) => String::new(),
        },
        templates: loaded.templates,
        template_errors: loaded.errors.iter().map(|e| e.to_string()).collect(),
        protocols: protocols.protocols,
        protocol_errors: protocols.errors.iter().map(|e| e.to_string()).collect(),
        // Next to the store it belongs to, so the demo and the real store never mix.
        keep_unsaved: resuming == Resuming::On,
        resume_file: (resuming == Resuming::On).then(|| {
            env.paths.data_dir.join(if env.demo {
                "demo.editing.json"
            } else {
                "store.editing.json"
            })
        }),
        // Charts written from the UI (`chart.pdf`), kept apart for the demo store too.
        export_dir: Some(env.paths.data_dir.join(if env.demo {
            "demo-exports"
        } else {
            "exports"
        })),
        synced_from: crate::sync::state::read(&store)
            .map(|s| s.authors.into_iter().map(|(id, a)| (id, a.name)).collect())
            .unwrap_or_default(),
        sync_label: if env.config.sync.is_some() {
            let tz = env.config.time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
            let today = clock.now().to_zoned(tz.clone()).date();
            sync::label(&store, &tz, today)
        } else {
            String::new()
        },
        ..AppSettings::default()
    };
    // Ids only need to differ between runs; their time part comes from the clock.
    let seed = jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id());
    App::new(
        Box::new(store),
        clock,
        crate::clock::IdSource::new(seed),
        keymap,
        settings,
    )
}

/// Prints rows under a header in columns two spaces apart; the last column is not padded.
pub fn print_table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = output::stdout();
    let mut widths = vec![0usize; header.len()];
    // Cells are records' text: made safe for one line and measured in terminal columns, so
    // an escape sequence cannot act and a wide name cannot push the columns after it.
    let safe = |c: &str| crate::text_safety::one_line(c).into_owned();
    let all = std::iter::once(header.iter().map(|h| safe(h)).collect::<Vec<_>>()).chain(
        rows.iter()
            .map(|r| r.iter().map(|c| safe(c.as_ref())).collect()),
    );
    let all: Vec<Vec<String>> = all.collect();
    for row in &all {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(crate::text_safety::width(cell));
        }
    }
    for row in &all {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = w.saturating_sub(crate::text_safety::width(cell)) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Runs the command line; the exit code says whether it worked.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve(&cli)?;
    // Read config up front for every command: a broken file is reported, never skipped.
    let config = Config::load(&paths.config_dir)?;
    let env = Env {
        paths,
        config,
        demo: cli.demo,
        passphrase_file: cli.passphrase_file,
    };
    match cli.command {
        Some(Command::Check(args)) => check::run(&env, args),
        Some(Command::Audit(args)) => audit::run(&env, args),
        Some(Command::Demo(args)) => demo::run(&env, args),
        Some(Command::Import(args)) => import::run(&env, args),
        Some(Command::Export(args)) => export::run(&env, args),
        Some(Command::Screenshot(args)) => screenshot::run(&env, args),
        Some(Command::Templates(args)) => templates::run(&env, args),
        Some(Command::Protocols(args)) => protocols::run(&env, args),
        Some(Command::Today(args)) => today::run(&env, args),
        Some(Command::Search(args)) => search::run(&env, args),
        Some(Command::Passwd(args)) => passwd::run(&env, args),
        Some(Command::Backup(args)) => backup::run(&env, args),
        Some(Command::Restore(args)) => restore::run(&env, args),
        Some(Command::Sync(args)) => sync::run(&env, args),
        None => {
            // A bad keymap is said at once, before a passphrase is asked or the store opened.
            crate::keymap::Keymap::from_config_dir(env.config.keymap, &env.paths.config_dir)?;
            let store = if env.demo {
                env.open_existing_store()?
            } else {
                // The clinic's store is made on first use.
                env.open_store(&env.store_dir())?
            };
            open_ui(&env, store)
        }
    }
}
