//! `herald backup DIR` and `herald restore DIR --data-dir NEW`.
//!
//! A backup is a folder: `herald.db` (a consistent snapshot taken while Herald runs, SQLite's
//! `VACUUM INTO`), `media/` (the posts' images), optionally `master.key`, and `manifest.json`
//! naming Herald's version, the schema version, the audit log's size and head hash, and the
//! SHA-256 of every file. Restoring checks every file against the manifest, the key against
//! the database's canary and the audit chain before it says it is done, and never writes over
//! an installation.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::data_dir;
use crate::keys::Keys;
use crate::services::audit;
use crate::store::Store;

const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "herald.db";
const KEY: &str = "master.key";
/// The PostgreSQL database, as `pg_dump --format=custom` wrote it (restore with `pg_restore`).
pub const PG_DUMP: &str = "herald.pgdump";

/// What a backup holds, written last: a backup without its manifest is not one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub herald_version: String,
    pub created_at: Timestamp,
    /// The newest migration the database had.
    pub schema_version: i64,
    /// `sqlite`, or `postgres` (then the database is not in the folder).
    pub database: String,
    pub audit_entries: i64,
    /// The audit log's head hash, hex.
    pub audit_head: String,
    /// Every file but the manifest, by its path in the folder.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} is not empty: a backup goes into a new or empty folder")]
    NotEmpty(PathBuf),
    #[error("{0} already holds a Herald installation: restore into a new data directory")]
    Occupied(PathBuf),
    #[error("{0} is not a Herald backup (it has no manifest.json)")]
    NoManifest(PathBuf),
    #[error("the backup's manifest cannot be read: {0}")]
    BadManifest(String),
    #[error(
        "{0} has changed since the backup was taken (its SHA-256 differs): the backup cannot be trusted"
    )]
    Changed(String),
    #[error("{0} is missing from the backup")]
    Missing(String),
    #[error(
        "the backup has no master key: give the key it was made with (--key FILE), or take backups with --include-key"
    )]
    NoKey,
    #[error("the master key does not open this backup's vault: {0}")]
    WrongKey(String),
    #[error("the restored audit log does not verify: {0}")]
    Audit(String),
    #[error(
        "this backup is of a PostgreSQL database: restore the database with pg_restore, then copy media/ and the key by hand"
    )]
    Postgres,
    #[error("pg_dump could not take the database: {0}")]
    PgDump(String),
    #[error("the database URL cannot be read: {0}")]
    DatabaseUrl(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    DataDir(#[from] data_dir::DataDirError),
}

fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> BackupError {
    let context = context.into();
    move |source| BackupError::Io { context, source }
}

/// Takes a backup of the installation `config` names into `dir` (new or empty), while Herald
/// may be serving. With `include_key`, the master key is copied too (0600).
pub async fn backup(
    config: &Config,
    store: &Store,
    dir: &Path,
    include_key: bool,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(io(format!("cannot read {}", dir.display())))?
            .next()
            .is_some()
    {
        return Err(BackupError::NotEmpty(dir.to_path_buf()));
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(format!("cannot create {}", dir.display())))?;
    // The audit head first: the snapshot holds at least these entries.
    let (audit_entries, head) = store.audit_head().await?;
    let sqlite = store.snapshot_into(&dir.join(DATABASE)).await?;
    if sqlite {
        fs::set_permissions(dir.join(DATABASE), fs::Permissions::from_mode(0o600))
            .map_err(io("cannot make the database copy private"))?;
    } else if let Some(url) = &config.database.url {
        pg_dump(url, &dir.join(PG_DUMP)).await?;
    }
    let media = config.data_dir.join("media");
    if media.is_dir() {
        copy_folder(&media, &dir.join("media"))?;
    }
    if include_key {
        copy_private(&config.master_key_path(), &dir.join(KEY))?;
    }
    let manifest = Manifest {
        herald_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now,
        schema_version: store.schema_version().await?,
        database: if sqlite { "sqlite" } else { "postgres" }.to_owned(),
        audit_entries,
        audit_head: hex::encode(head),
        files: files_of(dir)?,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|error| BackupError::BadManifest(error.to_string()))?;
    write_private(&dir.join(MANIFEST), text.as_bytes())?;
    Ok(manifest)
}

/// What a restore found.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub audit_entries: u64,
}

/// Restores the backup in `from` into `config.data_dir`, which must hold no installation,
/// with the backup's own key or `key`. Every check passes before it says it is done; a failed
/// restore leaves the new directory without a database, so it is never mistaken for one.
pub async fn restore(
    from: &Path,
    config: &Config,
    key: Option<&Path>,
) -> Result<Restored, BackupError> {
    let manifest_path = from.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path)
        .map_err(|_| BackupError::NoManifest(from.to_path_buf()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|error| BackupError::BadManifest(error.to_string()))?;
    if manifest.database != "sqlite" {
        return Err(BackupError::Postgres);
    }
    for entry in &manifest.files {
        let path = from.join(&entry.path);
        if !path.is_file() {
            return Err(BackupError::Missing(entry.path.clone()));
        }
        if sha256_of(&path)? != entry.sha256 {
            return Err(BackupError::Changed(entry.path.clone()));
        }
    }
    if !manifest.files.iter().any(|entry| entry.path == DATABASE) {
        return Err(BackupError::Missing(DATABASE.to_owned()));
    }
    let target = &config.data_dir;
    if target.join(DATABASE).exists() || config.master_key_path().exists() {
        return Err(BackupError::Occupied(target.clone()));
    }
    let key_source = match key {
        Some(key) => key.to_path_buf(),
        None if from.join(KEY).is_file() => from.join(KEY),
        None => return Err(BackupError::NoKey),
    };
    data_dir::prepare(target)?;
    copy_private(&key_source, &config.master_key_path())?;
    let master_key = data_dir::load_or_create_master_key(&config.master_key_path())?;
    // The database goes in under a temporary name, and takes its real one only once it has
    // passed every check.
    let staged = target.join("herald.db.restoring");
    copy_private(&from.join(DATABASE), &staged)?;
    let checked = check_staged(&staged, config, &master_key, &manifest).await;
    let audit_entries = match checked {
        Ok(entries) => entries,
        Err(error) => {
            let _ = fs::remove_file(&staged);
            let _ = fs::remove_file(config.master_key_path());
            return Err(error);
        }
    };
    if from.join("media").is_dir() {
        copy_folder(&from.join("media"), &target.join("media"))?;
    }
    fs::rename(&staged, target.join(DATABASE)).map_err(io("cannot put the database in place"))?;
    Ok(Restored {
        manifest,
        audit_entries,
    })
}

/// Opens the staged database: the key must open its canary, and its audit chain must verify
/// up to the entries the manifest counted.
async fn check_staged(
    staged: &Path,
    config: &Config,
    master_key: &data_dir::MasterKey,
    manifest: &Manifest,
) -> Result<u64, BackupError> {
    let store = Store::open_sqlite(
        staged,
        2,
        std::time::Duration::from_secs(config.database.connect_timeout_seconds),
    )
    .await?;
    let checked = async {
        Keys::load(master_key, &store)
            .await
            .map_err(|error| BackupError::WrongKey(error.to_string()))?;
        let key = audit::signing_key(master_key).verifying_key();
        let verified = audit::verify(&store, &key)
            .await
            .map_err(|error| BackupError::Audit(error.to_string()))?;
        if (verified.entries as i64) < manifest.audit_entries {
            return Err(BackupError::Audit(format!(
                "the manifest counts {} entries, the database holds {}",
                manifest.audit_entries, verified.entries
            )));
        }
        Ok(verified.entries as u64)
    }
    .await;
    store.close().await;
    checked
}

/// Every file under `dir` (but the manifest), with its size and SHA-256, in path order.
fn files_of(dir: &Path) -> Result<Vec<FileEntry>, BackupError> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in
            fs::read_dir(&folder).map_err(io(format!("cannot read {}", folder.display())))?
        {
            let path = entry.map_err(io("cannot read the backup folder"))?.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .map_or_else(|_| path.clone(), Path::to_path_buf)
                .to_string_lossy()
                .into_owned();
            if relative == MANIFEST {
                continue;
            }
            let bytes = fs::metadata(&path)
                .map_err(io(format!("cannot read {}", path.display())))?
                .len();
            found.push(FileEntry {
                sha256: sha256_of(&path)?,
                path: relative,
                bytes,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn sha256_of(path: &Path) -> Result<String, BackupError> {
    let mut file = fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io(format!("cannot read {}", path.display())))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Copies every file under `from` to `to` (created 0700), each 0600.
fn copy_folder(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(to)
        .map_err(io(format!("cannot create {}", to.display())))?;
    for entry in fs::read_dir(from).map_err(io(format!("cannot read {}", from.display())))? {
        let path = entry.map_err(io("cannot read the images folder"))?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.is_dir() {
            copy_folder(&path, &to.join(name))?;
        } else {
            copy_private(&path, &to.join(name))?;
        }
    }
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let bytes = fs::read(from).map_err(io(format!("cannot read {}", from.display())))?;
    write_private(to, &bytes)
}

/// Writes a new file readable by its owner only; never over an existing one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("cannot create {}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(format!("cannot write {}", path.display())))
}

/// On PostgreSQL, the database taken with `pg_dump` (custom format) into `to`, when `pg_dump` is
/// on the PATH; otherwise nothing, and the backup holds the images and the manifest only. The
/// connection goes to `pg_dump` through libpq's environment, never its command line, where
/// other users could read the password; a `search_path` in the URL's options limits the dump
/// to that schema.
async fn pg_dump(url: &SecretString, to: &Path) -> Result<(), BackupError> {
    let parsed = url::Url::parse(url.expose_secret())
        .map_err(|error| BackupError::DatabaseUrl(error.to_string()))?;
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut command = tokio::process::Command::new("pg_dump");
    command
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(to);
    for name in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGOPTIONS",
        "PGSSLMODE",
    ] {
        command.env_remove(name);
    }
    if let Some(host) = parsed.host_str() {
        command.env("PGHOST", host);
    }
    if let Some(port) = parsed.port() {
        command.env("PGPORT", port.to_string());
    }
    if !parsed.username().is_empty() {
        command.env("PGUSER", decode(parsed.username()));
    }
    if let Some(password) = parsed.password() {
        command.env("PGPASSWORD", decode(password));
    }
    command.env("PGDATABASE", decode(parsed.path().trim_start_matches('/')));
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                command.env("PGSSLMODE", value.as_ref());
            }
            "options" => {
                if let Some(schema) = value
                    .split_whitespace()
                    .find_map(|option| option.strip_prefix("search_path="))
                {
                    command.arg(format!("--schema={schema}"));
                }
                command.env("PGOPTIONS", value.as_ref());
            }
            _ => {}
        }
    }
    let output = match command.output().await {
        Ok(output) => output,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(BackupError::PgDump(error.to_string())),
    };
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::PgDump(said.trim().to_owned()));
    }
    fs::set_permissions(to, fs::Permissions::from_mode(0o600))
        .map_err(io("cannot make the database dump private"))
}
