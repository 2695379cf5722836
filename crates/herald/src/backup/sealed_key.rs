//! The master key sealed with a passphrase, for a backup that must carry its key but may be
//! read by someone who must not hold it (`herald backup DIR --seal-key`).
//!
//! The passphrase is stretched with Argon2id into a key that seals the key file's bytes in the
//! vault's envelope (XChaCha20-Poly1305). The file `master.key.sealed` is JSON holding
//! everything needed to open it again but the passphrase: the Argon2id parameters, the salt and
//! the sealed bytes. The parameters and salt are also the envelope's associated data, so a file
//! edited to name weaker ones does not open.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The file's name in the backup folder.
pub const SEALED_KEY: &str = "master.key.sealed";
/// A shorter passphrase is refused: the sealed key can be attacked offline for ever.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

const FORMAT: &str = "herald-sealed-master-key-1";
/// Argon2id at 64 MiB, three passes, one lane (RFC 9106's second recommended setting): about
/// a second per guess on a server, where a login password gets a tenth of that.
const MEMORY_KIB: u32 = 64 * 1024;
const ITERATIONS: u32 = 3;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;

/// A passphrase long enough to seal a key with; its text is never shown or logged.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// The passphrase as read from a file or the environment: one trailing line break is not
    /// part of it.
    pub fn parse(text: &SecretString) -> Result<Passphrase, SealError> {
        let passphrase = Passphrase::for_opening(text);
        if passphrase.0.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(SealError::ShortPassphrase);
        }
        Ok(passphrase)
    }

    /// For opening: any length (a short one is simply wrong), one trailing line break dropped.
    pub fn for_opening(text: &SecretString) -> Passphrase {
        let text = text.expose_secret();
        let trimmed = text
            .strip_suffix('\n')
            .map_or(text, |rest| rest.strip_suffix('\r').unwrap_or(rest));
        Passphrase(SecretString::from(trimmed.to_owned()))
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "the passphrase is too short: a sealed key can be guessed at offline, so use at least {MIN_PASSPHRASE_CHARS} characters (several words are easiest)"
    )]
    ShortPassphrase,
    #[error("the passphrase does not open the backup's sealed master key: nothing was restored")]
    WrongPassphrase,
    #[error("{SEALED_KEY} cannot be read: {0}")]
    Malformed(String),
}

/// What `master.key.sealed` holds.
#[derive(Debug, Serialize, Deserialize)]
struct SealedFile {
    format: String,
    kdf: Kdf,
    cipher: String,
    /// The vault envelope, hex.
    sealed: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    lanes: u32,
    /// Hex.
    salt: String,
}

impl Kdf {
    /// The parameters as one line: the envelope's associated data.
    fn canonical(&self) -> String {
        format!(
            "{} v{} m={} t={} p={} salt={}",
            self.algorithm, self.version, self.memory_kib, self.iterations, self.lanes, self.salt
        )
    }

    fn key(&self, passphrase: &Passphrase) -> Result<Zeroizing<[u8; 32]>, SealError> {
        if self.algorithm != "argon2id" || self.version != 0x13 {
            return Err(SealError::Malformed(format!(
                "unknown key derivation {} version {}",
                self.algorithm, self.version
            )));
        }
        let salt = hex::decode(&self.salt)
            .map_err(|_| SealError::Malformed("the salt is not hex".to_owned()))?;
        let params = Params::new(self.memory_kib, self.iterations, self.lanes, Some(32))
            .map_err(|error| SealError::Malformed(format!("Argon2id parameters: {error}")))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(
                passphrase.0.expose_secret().as_bytes(),
                &salt,
                key.as_mut_slice(),
            )
            .map_err(|error| SealError::Malformed(format!("Argon2id: {error}")))?;
        Ok(key)
    }
}

fn context(kdf: &str) -> vault::Context<'_> {
    vault::Context {
        organisation: "",
        record: "backup master key",
        field: kdf,
    }
}

/// Seals the key file's bytes with the passphrase: the contents of `master.key.sealed`.
pub fn seal(key_file: &[u8], passphrase: &Passphrase) -> Result<Vec<u8>, SealError> {
    let mut salt = [0u8; SALT_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let kdf = Kdf {
        algorithm: "argon2id".to_owned(),
        version: 0x13,
        memory_kib: MEMORY_KIB,
        iterations: ITERATIONS,
        lanes: LANES,
        salt: hex::encode(salt),
    };
    let key = kdf.key(passphrase)?;
    let canonical = kdf.canonical();
    let sealed = vault::seal(
        &vault::Kek::derive(&key, 1),
        &context(&canonical),
        key_file,
        &mut rand::rngs::OsRng,
    );
    let file = SealedFile {
        format: FORMAT.to_owned(),
        kdf,
        cipher: "xchacha20poly1305 (the herald vault envelope)".to_owned(),
        sealed: hex::encode(sealed),
    };
    serde_json::to_vec_pretty(&file).map_err(|error| SealError::Malformed(error.to_string()))
}

/// Opens `master.key.sealed` with the passphrase: the key file's bytes.
pub fn open(sealed_file: &[u8], passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let file: SealedFile = serde_json::from_slice(sealed_file)
        .map_err(|error| SealError::Malformed(error.to_string()))?;
    if file.format != FORMAT {
        return Err(SealError::Malformed(format!(
            "unknown format {:?}",
            file.format
        )));
    }
    let sealed = hex::decode(&file.sealed)
        .map_err(|_| SealError::Malformed("the sealed key is not hex".to_owned()))?;
    let key = file.kdf.key(passphrase)?;
    let canonical = file.kdf.canonical();
    let opened = vault::open(
        &vault::Keyring::new(vault::Kek::derive(&key, 1)),
        &context(&canonical),
        &sealed,
    )
    .map_err(|_| SealError::WrongPassphrase)?;
    Ok(Zeroizing::new(opened.expose().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::parse(&SecretString::from(text.to_owned())).expect("long enough")
    }

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let sealed =
            seal(b"v1:00ff", &passphrase("correct horse battery staple\n")).expect("sealed");
        let opened = open(&sealed, &passphrase("correct horse battery staple")).expect("opened");
        assert_eq!(opened.as_slice(), b"v1:00ff");
        assert!(matches!(
            open(&sealed, &passphrase("correct horse battery stapler")),
            Err(SealError::WrongPassphrase)
        ));
        let text = String::from_utf8(sealed).expect("JSON text");
        assert!(!text.contains("00ff") && text.contains("argon2id"));
    }

    #[test]
    fn a_short_passphrase_is_refused() {
        assert!(matches!(
            Passphrase::parse(&SecretString::from("eleven char".to_owned())),
            Err(SealError::ShortPassphrase)
        ));
    }
}
