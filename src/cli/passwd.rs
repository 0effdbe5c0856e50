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
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<ExitCode> {
    let store = env.open_existing_store()?;
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
    // Opening asked for the current passphrase; unlock again to have it for the rewrap.
    let old = passphrase::unlock(&store, env.passphrase_file.as_deref())?.unwrap_or_default();
    let new = passphrase::choose(
        args.new_passphrase_file.as_deref(),
        "Choose the new passphrase. Forgetting it loses the records: keep it somewhere safe.",
    )?;
    store.change_passphrase(&old, &new, KdfParams::DEFAULT)?;
    store.log_event(&env.actor().event(AuditAction::PassphraseChanged))?;
    store.flush()?;
    eprintln!(
        "Passphrase changed for {}; the old one no longer opens it.",
        store.dir().display()
    );
    Ok(ExitCode::SUCCESS)
}
