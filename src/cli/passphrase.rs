//! Getting the passphrase: from a file (scripts, tests: `--passphrase-file` or
//! `KITNOTES_PASSPHRASE_FILE`), else asked on the terminal with echo off. A new store asks twice,
//! after saying plainly that a forgotten passphrase loses the records.

use crate::store::{SledStore, Store, StoreError};
use anyhow::Context;
use std::path::Path;
use zeroize::Zeroizing;

/// Passphrases shorter than this are refused for a new store (NIST SP 800-63B's minimum).
pub const MIN_LEN: usize = 8;
/// Tries at the terminal before giving up (each costs Argon2id's quarter second or so).
const TRIES: usize = 5;

pub type Secret = Zeroizing<Vec<u8>>;

/// Reads a passphrase file: its first line, without the line ending (nor a UTF-8 byte-order
/// mark; a UTF-16 file is refused, naming the file). A file over
/// [`MAX_PASSPHRASE_FILE_BYTES`](crate::limits::MAX_PASSPHRASE_FILE_BYTES) is refused unread.
pub fn read_file(path: &Path) -> anyhow::Result<Secret> {
    let limit = crate::limits::MAX_PASSPHRASE_FILE_BYTES;
    let bytes = Zeroizing::new(
        crate::limits::read(path, limit, "a passphrase file")
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?,
    );
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        anyhow::bail!(
            "the passphrase file {} is saved as UTF-16 (it starts with a byte-order mark): save \
             it as UTF-8, the passphrase on its first line",
            path.display()
        );
    }
    // Some editors (Notepad) start a UTF-8 file with a byte-order mark: it is no part of the
    // passphrase.
    let text = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        anyhow::bail!(
            "the passphrase file {} is empty: its first line is the passphrase",
            path.display()
        );
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// Asks on the terminal (`/dev/tty`), echo off.
fn ask(prompt: &str) -> anyhow::Result<Secret> {
    let answer = Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| {
        anyhow::anyhow!(
            "cannot ask for the passphrase ({e}): there is no terminal. Pass --passphrase-file \
             PATH or set KITNOTES_PASSPHRASE_FILE"
        )
    })?);
    Ok(Zeroizing::new(answer.as_bytes().to_vec()))
}

/// What the first start says before it asks for a passphrase.
pub fn first_run_text(dir: &Path) -> String {
    format!(
        "kitnotes: making a new store at {}\n\n\
         Your records will be encrypted with a passphrase that only you know.\n\
         If you forget it, the records are lost for good: nobody, not kitnotes and not\n\
         its makers, can open them or reset it. Write it down and keep it somewhere safe,\n\
         away from this computer.\n\
         Use at least {MIN_LEN} characters; a few unrelated words are easy to type and hard to guess.\n",
        dir.display()
    )
}

/// A new passphrase: from `file`, or asked twice on the terminal until both agree.
pub fn choose(file: Option<&Path>, intro: &str) -> anyhow::Result<Secret> {
    if let Some(f) = file {
        let p = read_file(f)?;
        check_new(&p)?;
        return Ok(p);
    }
    eprintln!("{intro}");
    for _ in 0..TRIES {
        let first = ask("New passphrase: ")?;
        if let Err(e) = check_new(&first) {
            eprintln!("{e}");
            continue;
        }
        let second = ask("Type it again: ")?;
        if first == second {
            return Ok(first);
        }
        eprintln!("The two did not match; try again.");
    }
    anyhow::bail!("no passphrase was chosen; nothing was written")
}

fn check_new(p: &[u8]) -> anyhow::Result<()> {
    let chars = String::from_utf8_lossy(p).chars().count();
    if chars < MIN_LEN {
        anyhow::bail!("That passphrase is {chars} characters long; use at least {MIN_LEN}.");
    }
    Ok(())
}

/// Unlocks an encrypted store (a plain one needs nothing), with the passphrase from `file` or
/// asked until it is right. Returns the passphrase that worked (`None` for a plain store).
pub fn unlock(store: &SledStore, file: Option<&Path>) -> anyhow::Result<Option<Secret>> {
    if !store.is_encrypted() {
        return Ok(None);
    }
    let dir = store.dir().display().to_string();
    if let Some(f) = file {
        let p = read_file(f)?;
        return match store.unlock(&p) {
            Ok(()) => Ok(Some(p)),
            Err(StoreError::WrongPassphrase) => Err(anyhow::anyhow!(
                "the passphrase in {} does not open the store at {dir}",
                f.display()
            )),
            Err(e) => Err(e.into()),
        };
    }
    for attempt in 1..=TRIES {
        let p = ask(&format!("Passphrase for {dir}: "))?;
        match store.unlock(&p) {
            Ok(()) => return Ok(Some(p)),
            Err(StoreError::WrongPassphrase) if attempt < TRIES => eprintln!(
                "That passphrase is not this store's. Try again ({} of {TRIES} tries left).",
                TRIES - attempt
            ),
            Err(StoreError::WrongPassphrase) => {}
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("{TRIES} wrong passphrases for {dir}; nothing was opened")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_passphrase_and_utf16_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        std::fs::write(&path, b"\xEF\xBB\xBFinvented passphrase\r\n").unwrap();
        assert_eq!(read_file(&path).unwrap().as_slice(), b"invented passphrase");
        std::fs::write(&path, b"\xFF\xFEi\0n\0").unwrap();
        let e = read_file(&path).unwrap_err().to_string();
        assert!(e.contains("UTF-16") && e.contains("pass"), "{e}");
    }
}
