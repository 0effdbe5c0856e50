//! Encryption at rest: the passphrase, the keys it unlocks, and sealing.
//!
//! A store is either plain (the demo, and tests) or encrypted. An encrypted store keeps a
//! header under [`HEADER_KEY`], readable without the passphrase:
//!
//! ```text
//! { "format": 1, "kdf": "argon2id", "m_cost_kib": 19456, "t_cost": 2, "p_cost": 1,
//!   "salt": "<16 bytes, hex>", "cipher": "xchacha20poly1305",
//!   "wrapped_key": "<24-byte nonce + the 32-byte data key sealed + 16-byte tag, hex>" }
//! ```
//!
//! The passphrase and the salt go through Argon2id with those parameters to a key-encryption
//! key, which opens the wrapped data key (the parameters and the salt are its associated data,
//! so a header whose parameters were lowered no longer opens). Changing the passphrase wraps the
//! same data key again: no record is rewritten.
//!
//! From the data key come two keys (BLAKE3's key derivation, each with its own context):
//! - the **sealing key**: every value is sealed with XChaCha20-Poly1305 under a fresh random
//!   192-bit nonce, with the value's store key and its envelope header as associated data, so a
//!   sealed value moved to another key, or its header changed, fails to open;
//! - the **naming key**: ids and words that would otherwise appear in store keys are replaced by
//!   the first 16 bytes of a BLAKE3 keyed hash ([`Crypt::name`]).
//!
//! Every key is zeroized when dropped: on lock and on exit.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use std::borrow::Cow;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Where an encrypted store keeps its header (never sealed: it is read before the passphrase).
pub const HEADER_KEY: &[u8] = b"M\0crypt";
/// Bytes of a nonce, and of the tag the cipher appends.
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
/// Bytes of a keyed name in a store key.
pub const NAME_LEN: usize = 16;
const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;
const FORMAT: u32 = 1;

/// Argon2id's cost parameters, kept in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub m_cost_kib: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// What new stores use: 19 MiB, 2 passes, 1 lane, the first configuration OWASP's
    /// password storage cheat sheet recommends for Argon2id (and argon2's own default). About
    /// 40-60 ms on a 2-core laptop: unlocking after every automatic lock stays quick, and start-up
    /// stays within its 150 ms. `kitnotes passwd --kdf-memory-mib --kdf-passes` raises them.
    pub const DEFAULT: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// Refuses parameters below OWASP's minimum (so a header cannot be weakened to speed up a
    /// guess: it would not open anyway, the parameters being bound to the wrapped key), and
    /// parameters so large that deriving would exhaust the machine (a hostile header).
    pub fn check(&self) -> Result<(), String> {
        // OWASP's equivalent settings trade memory for passes: 46 MiB x 1, 19 MiB x 2,
        // 12 MiB x 3, 9 MiB x 4, 7 MiB x 5.
        let enough = match self.t_cost {
            0 => false,
            1 => self.m_cost_kib >= 47_104,
            2 => self.m_cost_kib >= 19_456,
            3 => self.m_cost_kib >= 12_288,
            4 => self.m_cost_kib >= 9_216,
            _ => self.m_cost_kib >= 7_168,
        };
        if !enough || self.p_cost == 0 {
            return Err(format!(
                "Argon2id with {} KiB, {} passes and {} lanes is below OWASP's minimum",
                self.m_cost_kib, self.t_cost, self.p_cost
            ));
        }
        if self.m_cost_kib > 4 * 1024 * 1024 || self.t_cost > 64 || self.p_cost > 16 {
            return Err(format!(
                "Argon2id with {} KiB, {} passes and {} lanes is more than kitnotes will run \
                 (at most 4 GiB, 64 passes, 16 lanes)",
                self.m_cost_kib, self.t_cost, self.p_cost
            ));
        }
        Ok(())
    }
}

/// Why a header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptError {
    #[error("the passphrase is not this store's")]
    WrongPassphrase,
    #[error("the encryption header is damaged: {0}")]
    BadHeader(String),
    #[error("cannot read random bytes from the operating system: {0}")]
    Random(String),
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N], CryptError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| CryptError::Random(e.to_string()))?;
    Ok(b)
}

/// Bytes in lower-case hex: how names and the header's bytes are shown.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct HeaderFile {
    format: u32,
    kdf: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
    cipher: String,
    wrapped_key: String,
}

/// An encrypted store's header: how to get from the passphrase to the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub params: KdfParams,
    salt: [u8; SALT_LEN],
    /// Nonce, then the data key sealed, then the tag.
    wrapped: Vec<u8>,
}

impl Header {
    /// A new data key, wrapped for `passphrase`.
    pub fn create(passphrase: &[u8], params: KdfParams) -> Result<(Self, Keys), CryptError> {
        let data = Zeroizing::new(random::<KEY_LEN>()?);
        let header = Self::wrap(&data, passphrase, params)?;
        Ok((header, Keys::new(&data)))
    }

    fn wrap(
        data: &[u8; KEY_LEN],
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<Self, CryptError> {
        let salt = random::<SALT_LEN>()?;
        let kek = kek(passphrase, &salt, params)?;
        let nonce = random::<NONCE_LEN>()?;
        let cipher = XChaCha20Poly1305::new((&*kek).into());
        let aad = wrap_aad(params, &salt);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptError::BadHeader("the data key could not be sealed".into()))?;
        Ok(Self {
            params,
            salt,
            wrapped: [nonce.as_slice(), &sealed].concat(),
        })
    }

    /// The keys, if `passphrase` is the store's.
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Keys, CryptError> {
        let data = self.data_key(passphrase)?;
        Ok(Keys::new(&data))
    }

    fn data_key(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptError> {
        let kek = kek(passphrase, &self.salt, self.params)?;
        let cipher = XChaCha20Poly1305::new((&*kek).into());
        let (nonce, sealed) = self.wrapped.split_at(NONCE_LEN.min(self.wrapped.len()));
        if nonce.len() != NONCE_LEN {
            return Err(CryptError::BadHeader("the wrapped key is too short".into()));
        }
        let aad = wrap_aad(self.params, &self.salt);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptError::WrongPassphrase)?,
        );
        let mut data = Zeroizing::new([0u8; KEY_LEN]);
        if plain.len() != KEY_LEN {
            return Err(CryptError::BadHeader("the data key is not 32 bytes".into()));
        }
        data.copy_from_slice(&plain);
        Ok(data)
    }

    /// The same data key wrapped for `new` (with a new salt and `params`), if `old` is the
    /// store's passphrase.
    pub fn rewrap(&self, old: &[u8], new: &[u8], params: KdfParams) -> Result<Self, CryptError> {
        let data = self.data_key(old)?;
        Self::wrap(&data, new, params)
    }

    pub fn encode(&self) -> Vec<u8> {
        let file = HeaderFile {
            format: FORMAT,
            kdf: "argon2id".into(),
            params: self.params,
            salt: hex(&self.salt),
            cipher: "xchacha20poly1305".into(),
            wrapped_key: hex(&self.wrapped),
        };
        // A plain struct of strings and numbers: serializing cannot fail.
        serde_json::to_vec_pretty(&file).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CryptError> {
        let bad = |s: String| CryptError::BadHeader(s);
        let file: HeaderFile = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if file.format != FORMAT {
            return Err(bad(format!(
                "format {} (this kitnotes reads {FORMAT})",
                file.format
            )));
        }
        if file.kdf != "argon2id" || file.cipher != "xchacha20poly1305" {
            return Err(bad(format!(
                "unknown method {} / {}",
                file.kdf, file.cipher
            )));
        }
        file.params.check().map_err(bad)?;
        let salt = unhex(&file.salt)
            .and_then(|s| <[u8; SALT_LEN]>::try_from(s).ok())
            .ok_or_else(|| bad("the salt is not 16 bytes of hex".into()))?;
        let wrapped = unhex(&file.wrapped_key)
            .filter(|w| w.len() == NONCE_LEN + KEY_LEN + TAG_LEN)
            .ok_or_else(|| bad("the wrapped key is not 72 bytes of hex".into()))?;
        Ok(Self {
            params: file.params,
            salt,
            wrapped,
        })
    }
}

fn wrap_aad(params: KdfParams, salt: &[u8]) -> Vec<u8> {
    let mut aad = b"kitnotes data key 1".to_vec();
    for n in [params.m_cost_kib, params.t_cost, params.p_cost] {
        aad.extend_from_slice(&n.to_be_bytes());
    }
    aad.extend_from_slice(salt);
    aad
}

/// Argon2id of the passphrase: the key that wraps the data key.
fn kek(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptError> {
    params.check().map_err(CryptError::BadHeader)?;
    let p = argon2::Params::new(
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        Some(KEY_LEN),
    )
    .map_err(|e| CryptError::BadHeader(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut_slice())
        .map_err(|e| CryptError::BadHeader(e.to_string()))?;
    Ok(out)
}

/// The keys of an unlocked store. Zeroized when dropped (the cipher zeroizes its own key).
pub struct Keys {
    seal: XChaCha20Poly1305,
    names: Zeroizing<[u8; KEY_LEN]>,
    /// Authenticates the save counter (`store::tally`): the audit log's length and head and the
    /// store's id.
    counter: Zeroizing<[u8; KEY_LEN]>,
}

impl Keys {
    fn new(data: &[u8; KEY_LEN]) -> Self {
        let seal = Zeroizing::new(blake3::derive_key("kitnotes 2026-11 value sealing", data));
        let names = Zeroizing::new(blake3::derive_key("kitnotes 2026-11 key names", data));
        let counter = Zeroizing::new(blake3::derive_key("kitnotes 2026-12 save counter", data));
        Self {
            seal: XChaCha20Poly1305::new((&*seal).into()),
            names,
            counter,
        }
    }

    /// A fixed key for tests of the sealing itself (never used by a store).
    #[cfg(test)]
    pub(crate) fn for_tests(seed: u8) -> Self {
        Self::new(&[seed; KEY_LEN])
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// What a name in a store key stands for; each has its own hash domain.
#[derive(Debug, Clone, Copy)]
pub enum NameOf {
    /// A patient's or a record's id.
    Id,
    /// A word of the search index.
    Word,
    /// A bucket of the search index's word list.
    Bucket,
}

/// How a store's values and names are protected: plain, or sealed with its keys.
#[derive(Debug, Clone)]
pub enum Crypt {
    Plain,
    Sealed(Arc<Keys>),
}

impl Crypt {
    pub fn is_sealed(&self) -> bool {
        matches!(self, Crypt::Sealed(_))
    }

    /// What stands for `bytes` in a store key: the bytes themselves in a plain store, else a
    /// 16-byte keyed hash that reveals nothing without the key.
    pub fn name<'a>(&self, of: NameOf, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            Crypt::Plain => Cow::Borrowed(bytes),
            Crypt::Sealed(keys) => {
                let mut h = blake3::Hasher::new_keyed(&keys.names);
                h.update(&[of as u8]);
                h.update(bytes);
                Cow::Owned(h.finalize().as_bytes()[..NAME_LEN].to_vec())
            }
        }
    }

    /// An id as it appears in keys, readable: the id itself in a plain store, else its name in
    /// hex (what `keys::parse_key` gives back).
    pub fn key_id(&self, id: &str) -> String {
        match self {
            Crypt::Plain => id.to_owned(),
            Crypt::Sealed(_) => hex(&self.name(NameOf::Id, id.as_bytes())),
        }
    }

    /// A tag over `msg` that proves it was written by this store: a BLAKE3 MAC under a key from
    /// the data key. A plain store has no key: its tag is a SHA-256 checksum, which anyone who
    /// can write the files can recompute.
    pub fn counter_tag(&self, msg: &[u8]) -> [u8; 32] {
        match self {
            Crypt::Sealed(keys) => *blake3::keyed_hash(&keys.counter, msg).as_bytes(),
            Crypt::Plain => {
                use sha2::Digest;
                sha2::Sha256::digest(msg).into()
            }
        }
    }

    /// How many bytes a name takes in a key: fixed when sealed, else the id's own length.
    pub fn name_len(&self) -> Option<usize> {
        self.is_sealed().then_some(NAME_LEN)
    }

    /// Seals `plain` with `aad` as associated data: nonce, ciphertext, tag. A plain store
    /// returns `None` (its values are not sealed).
    pub fn seal(&self, aad: &[&[u8]], plain: &[u8]) -> Option<Vec<u8>> {
        let Crypt::Sealed(keys) = self else {
            return None;
        };
        let nonce = random::<NONCE_LEN>().ok()?;
        let aad = aad.concat();
        let sealed = keys
            .seal
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .ok()?;
        Some([nonce.as_slice(), &sealed].concat())
    }

    /// Opens what [`Crypt::seal`] made; `None` if it was changed, moved, or sealed with other
    /// keys.
    pub fn open(&self, aad: &[&[u8]], sealed: &[u8]) -> Option<Vec<u8>> {
        let Crypt::Sealed(keys) = self else {
            return None;
        };
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        keys.seal
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad.concat(),
                },
            )
            .ok()
    }
}

/// A sled tree with the store's keys: what the codec needs to read and write values, and
/// the index to name its words.
#[derive(Clone, Copy)]
pub struct Vault<'a> {
    pub tree: &'a sled::Tree,
    pub crypt: &'a Crypt,
}

impl std::ops::Deref for Vault<'_> {
    type Target = sled::Tree;
    fn deref(&self) -> &sled::Tree {
        self.tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weakest parameters `check` accepts, so the tests run fast.
    const FAST: KdfParams = KdfParams {
        m_cost_kib: 7_168,
        t_cost: 5,
        p_cost: 1,
    };

    #[test]
    fn the_passphrase_unlocks_and_a_wrong_one_does_not() {
        let (header, keys) = Header::create(b"correct horse", FAST).unwrap();
        let header = Header::decode(&header.encode()).unwrap();
        let sealed = Crypt::Sealed(Arc::new(keys))
            .seal(&[b"k"], b"hello")
            .unwrap();
        let again = Crypt::Sealed(Arc::new(header.unlock(b"correct horse").unwrap()));
        assert_eq!(again.open(&[b"k"], &sealed).as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            header.unlock(b"correct horsf").unwrap_err(),
            CryptError::WrongPassphrase
        );
    }

    #[test]
    fn rewrapping_keeps_the_data_key_and_drops_the_old_passphrase() {
        let (header, keys) = Header::create(b"old passphrase", FAST).unwrap();
        let c = Crypt::Sealed(Arc::new(keys));
        let sealed = c.seal(&[b"k"], b"note").unwrap();
        let new = header
            .rewrap(b"old passphrase", b"new passphrase", FAST)
            .unwrap();
        assert_eq!(
            new.unlock(b"old passphrase").unwrap_err(),
            CryptError::WrongPassphrase
        );
        let c2 = Crypt::Sealed(Arc::new(new.unlock(b"new passphrase").unwrap()));
        assert_eq!(c2.open(&[b"k"], &sealed).as_deref(), Some(&b"note"[..]));
        assert_eq!(c2.name(NameOf::Id, b"p1"), c.name(NameOf::Id, b"p1"));
        assert!(header.rewrap(b"wrong", b"x", FAST).is_err());
    }

    #[test]
    fn a_weakened_or_damaged_header_is_refused() {
        let (header, _) = Header::create(b"pass phrase", FAST).unwrap();
        let text = String::from_utf8(header.encode()).unwrap();
        let weak = text.replace("\"t_cost\": 5", "\"t_cost\": 1");
        assert!(matches!(
            Header::decode(weak.as_bytes()),
            Err(CryptError::BadHeader(m)) if m.contains("OWASP")
        ));
        // Stronger parameters than it was made with: refused by the bound associated data.
        let other = text.replace("\"t_cost\": 5", "\"t_cost\": 6");
        let other = Header::decode(other.as_bytes()).unwrap();
        assert_eq!(
            other.unlock(b"pass phrase").unwrap_err(),
            CryptError::WrongPassphrase
        );
        assert!(Header::decode(b"{").is_err());
    }

    #[test]
    fn names_are_keyed_and_domain_separated() {
        let a = Crypt::Sealed(Arc::new(Keys::for_tests(1)));
        let b = Crypt::Sealed(Arc::new(Keys::for_tests(2)));
        assert_eq!(a.name(NameOf::Word, b"fath").len(), NAME_LEN);
        assert_ne!(a.name(NameOf::Word, b"fath"), b.name(NameOf::Word, b"fath"));
        assert_ne!(a.name(NameOf::Word, b"fath"), a.name(NameOf::Id, b"fath"));
        assert_eq!(Crypt::Plain.name(NameOf::Id, b"p1").as_ref(), b"p1");
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_associated_data_and_keys() {
        let a = Crypt::Sealed(Arc::new(Keys::for_tests(1)));
        let b = Crypt::Sealed(Arc::new(Keys::for_tests(2)));
        let s = a.seal(&[b"P\0", b"x"], b"secret").unwrap();
        assert!(a.open(&[b"P\0x"], &s).is_some(), "aad is the concatenation");
        assert!(a.open(&[b"P\0y"], &s).is_none());
        assert!(b.open(&[b"P\0x"], &s).is_none());
        for i in 0..s.len() {
            let mut bad = s.clone();
            bad[i] ^= 0x40;
            assert!(a.open(&[b"P\0x"], &bad).is_none(), "flip at {i}");
        }
        assert!(!String::from_utf8_lossy(&s).contains("secret"));
    }
}
