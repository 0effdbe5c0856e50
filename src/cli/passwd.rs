//! `kitnotes passwd`: change the store's passphrase. The data key is wrapped again for the new
//! passphrase; no record is rewritten, and the old passphrase stops working at once.

use super::{Env, passphrase};
use crate::store::crypt::KdfParams;
use crate::store::{AuditAction, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read the new passphrase from the first line of this file instead of asking twice.
    #[arg(long, value_name = "PATH")]
    pub new_passphrase_file: Option<PathBuf>,
    /// Argon2id memory for the new passphrase, in MiB [default: 19, OWASP's recommendation].
    /// More makes guessing dearer and every unlock slower.
    #[arg(long, value_name = "MIB")]
    pub kdf_memory_mib: Option<u32>,
    /// Argon2id passes for the new passphrase [default: 2].
    #[arg(long, value_name = "N")]
    pub kdf_passes: Option<u32>,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let dir = env.store_dir();
    if !dir.join("db").exists() {
        anyhow::bail!("there is no kitnotes store at {} yet", dir.display());
    }
    let (store, old) = env.open_store_keeping(&dir)?;
    if !store.is_encrypted() {
        anyhow::bail!(
            "the store at {} is not encrypted, so it has no passphrase to change{}",
            store.dir().display(),
            if env.demo {
                " (the demo store holds invented records and stays plain)"
            } else {
                ""
            }
        );
    }
    let params = KdfParams {
        m_cost_kib: args
            .kdf_memory_mib
            .map_or(KdfParams::DEFAULT.m_cost_kib, |m| m.saturating_mul(1024)),
        t_cost: args.kdf_passes.unwrap_or(KdfParams::DEFAULT.t_cost),
        ..KdfParams::DEFAULT
    };
    params.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    let old = old.unwrap_or_default();
    let new = passphrase::choose(
        args.new_passphrase_file.as_deref(),
        "Choose the new passphrase. Forgetting it loses the records: keep it somewhere safe.",
    )?;
    store.change_passphrase(&old, &new, params)?;
    store.log_event(&env.actor().event(AuditAction::PassphraseChanged))?;
    store.flush()?;
    eprintln!(
        "Passphrase changed for {} (Argon2id, {} MiB, {} passes); the old one no longer opens it.",
        store.dir().display(),
        params.m_cost_kib / 1024,
        params.t_cost
    );
    Ok(ExitCode::SUCCESS)
}
