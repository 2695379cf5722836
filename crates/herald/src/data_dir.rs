//! The data directory and the master key file inside (or beside) it.
//!
//! On first start Herald creates the directory (0700) and a random 256-bit master key (0600).
//! Afterwards it refuses to start when the key file can be read by anyone but its owner, or the
//! directory cannot be written, because serving on with either would be worse than stopping.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The master key: 32 random bytes, and its version (which `herald vault rekey` raises with
/// each new key). It never leaves memory except into its own file, and its `Debug` output is
/// redacted.
///
/// The file holds `v<version>:<64 hex digits>`; a file of bare hex digits is version 1.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32], #[zeroize(skip)] u32);

impl MasterKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn version(&self) -> u32 {
        self.1
    }

    /// A key for one purpose only, derived with HKDF-SHA256, so that no two uses of the master
    /// key (sealing secrets, signing audit checkpoints, …) ever share key material.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        vault::derive_key(&self.0, purpose)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot create data directory {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("data directory {path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("data directory {path} is not writable: {source}")]
    NotWritable { path: PathBuf, source: io::Error },
    #[error(
        "data directory {path} can be entered by other users (mode {mode:04o}) and Herald cannot change that; run `chmod 700 {path}` and start again"
    )]
    DirectoryExposed {
        path: PathBuf,
        mode: u32,
        source: io::Error,
    },
    #[error(
        "master key file {path} can be read by other users (mode {mode:04o}); run `chmod 600 {path}` and start again"
    )]
    KeyFileExposed { path: PathBuf, mode: u32 },
    #[error("master key file {path} is malformed: {reason}")]
    KeyFileMalformed { path: PathBuf, reason: &'static str },
    #[error("cannot read master key file {path}: {source}")]
    KeyFileRead { path: PathBuf, source: io::Error },
    #[error("cannot create master key file {path}: {source}")]
    KeyFileCreate { path: PathBuf, source: io::Error },
}

/// Makes sure the data directory exists and is writable.
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| DataDirError::Create {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    if !dir.is_dir() {
        return Err(DataDirError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    // Permission bits do not tell the whole story (read-only mounts, ACLs), so try a real write.
    let probe = dir.join(".herald-write-probe");
    let written = fs::write(&probe, b"ok").and_then(|()| fs::remove_file(&probe));
    written.map_err(|source| DataDirError::NotWritable {
        path: dir.to_path_buf(),
        source,
    })?;
    // Herald creates the directory 0700; one that other users may enter (made by hand, or
    // restored with the wrong mode) is closed to them, as the key file must be.
    let mode = fs::metadata(dir)
        .map(|metadata| metadata.permissions().mode() & 0o777)
        .unwrap_or(0o700);
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            DataDirError::DirectoryExposed {
                path: dir.to_path_buf(),
                mode,
                source,
            }
        })?;
        tracing::warn!(
            path = %dir.display(),
            mode = format!("{mode:04o}"),
            "the data directory was open to other users; Herald set it to 0700"
        );
    }
    Ok(())
}

/// Loads the master key, creating it first if the file does not exist yet.
pub fn load_or_create_master_key(path: &Path) -> Result<MasterKey, DataDirError> {
    match fs::symlink_metadata(path) {
        Ok(_) => load_master_key(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => create_master_key(path, 1),
        Err(source) => Err(DataDirError::KeyFileRead {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Loads an existing master key, checking its permissions and format.
pub fn load_master_key(path: &Path) -> Result<MasterKey, DataDirError> {
    let read_error = |source| DataDirError::KeyFileRead {
        path: path.to_path_buf(),
        source,
    };
    let mode = fs::metadata(path).map_err(read_error)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::KeyFileExposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = fs::read_to_string(path).map_err(read_error)?;
    let malformed = |reason| DataDirError::KeyFileMalformed {
        path: path.to_path_buf(),
        reason,
    };
    let content = text.trim_end();
    let (version, hex_digits) = match content.split_once(':') {
        Some((version, digits)) => (
            version
                .strip_prefix('v')
                .and_then(|v| v.parse::<u32>().ok()),
            digits,
        ),
        None => (Some(1), content),
    };
    let mut key = [0u8; 32];
    let decoded = hex::decode_to_slice(hex_digits, &mut key);
    text.zeroize();
    let version = version
        .filter(|version| *version >= 1)
        .ok_or_else(|| malformed("the version before ':' must look like v2"))?;
    decoded.map_err(|_| malformed("expected 64 hexadecimal characters (256 bits)"))?;
    Ok(MasterKey(key, version))
}

/// Creates a new random master key of `version` in a new file (never over an existing one).
pub fn create_master_key(path: &Path, version: u32) -> Result<MasterKey, DataDirError> {
    let create_error = |source| DataDirError::KeyFileCreate {
        path: path.to_path_buf(),
        source,
    };
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut text = format!("v{version}:{}\n", hex::encode(key));
    // `create_new` refuses to follow or overwrite anything already there, even a file that
    // appeared between our check and now.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(create_error)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    text.zeroize();
    written.map_err(create_error)?;
    Ok(MasterKey(key, version))
}
