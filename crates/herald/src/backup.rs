//! `herald backup DIR` and `herald restore DIR --data-dir NEW`.
//!
//! A backup is a folder: `herald.db` (a consistent snapshot taken while Herald runs, SQLite's
//! `VACUUM INTO`), `media/` (the posts' images), optionally `master.key`, and `manifest.json`
//! naming Herald's version, the schema version, the audit log's size and head hash, and the
//! SHA-256 of every file. The master key goes in only when asked: as `master.key`, or sealed
//! with a passphrase as `master.key.sealed` (`sealed_key.rs`). On PostgreSQL the database is
//! `herald.pgdump`, as `pg_dump` wrote it, and restoring runs `pg_restore` into an empty
//! database. Restoring checks every file against the manifest, the key against the database's
//! canary and the audit chain before it says it is done, and never writes over an installation.

pub mod sealed_key;

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

pub use sealed_key::{Passphrase, SEALED_KEY, SealError};

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
    /// Whether the master key is in the backup, and how.
    #[serde(default)]
    pub master_key: KeyCopy,
    /// Every file but the manifest, by its path in the folder.
    pub files: Vec<FileEntry>,
}

/// How the master key travels with a backup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCopy {
    /// Not in the backup: the key must be kept apart from it.
    #[default]
    Absent,
    /// `master.key`, as it is in the data directory.
    Included,
    /// `master.key.sealed`: the key sealed with a passphrase.
    Sealed,
}

/// What `herald backup` is asked to do with the master key.
#[derive(Debug)]
pub enum KeyChoice {
    Leave,
    Include,
    Seal(Passphrase),
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
        "the backup's master key is sealed with a passphrase: give it with --passphrase-file FILE or the environment variable HERALD_BACKUP_PASSPHRASE"
    )]
    NoPassphrase,
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error(
        "this backup is of a PostgreSQL database: name the empty database to restore it into with --database-url or HERALD_DATABASE_URL(_FILE)"
    )]
    NoTargetDatabase,
    #[error(
        "this backup of a PostgreSQL database holds no herald.pgdump (pg_dump was not installed when it was taken): restore the database from your own dump, then copy media/ and the key by hand"
    )]
    NoDump,
    #[error(
        "the target PostgreSQL database already holds Herald's tables (schema version {0}): restore into an empty database or schema"
    )]
    TargetHoldsHerald(i64),
    #[error(
        "the backup holds PostgreSQL schema {dumped}, but the target's search_path is {target}: give a database URL whose options set search_path={dumped}"
    )]
    SchemaMismatch { dumped: String, target: String },
    #[error("pg_restore could not restore the database: {0}")]
    PgRestore(String),
    #[error(
        "the PostgreSQL database was restored but failed its checks, so Herald's tables in it must be dropped before trying again: {0}"
    )]
    RestoredButFailed(Box<BackupError>),
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
/// may be serving. The master key is left out, copied (0600) or sealed, as `key` says.
pub async fn backup(
    config: &Config,
    store: &Store,
    dir: &Path,
    key: &KeyChoice,
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
    let master_key = match key {
        KeyChoice::Leave => KeyCopy::Absent,
        KeyChoice::Include => {
            copy_private(&config.master_key_path(), &dir.join(KEY))?;
            KeyCopy::Included
        }
        KeyChoice::Seal(passphrase) => {
            let path = config.master_key_path();
            let key_file = zeroize::Zeroizing::new(
                fs::read(&path).map_err(io(format!("cannot read {}", path.display())))?,
            );
            write_private(
                &dir.join(SEALED_KEY),
                &sealed_key::seal(&key_file, passphrase)?,
            )?;
            KeyCopy::Sealed
        }
    };
    let manifest = Manifest {
        herald_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now,
        schema_version: store.schema_version().await?,
        database: if sqlite { "sqlite" } else { "postgres" }.to_owned(),
        audit_entries,
        audit_head: hex::encode(head),
        master_key,
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
/// with the key the backup holds (opened with `passphrase` when sealed) or `key`. SQLite goes
/// into the data directory; a PostgreSQL backup into the empty database `config` names.
/// Every check passes before it says it is done; a failed restore leaves the new directory
/// without a database, so it is never mistaken for one.
pub async fn restore(
    from: &Path,
    config: &Config,
    key: Option<&Path>,
    passphrase: Option<&SecretString>,
) -> Result<Restored, BackupError> {
    let manifest_path = from.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path)
        .map_err(|_| BackupError::NoManifest(from.to_path_buf()))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|error| BackupError::BadManifest(error.to_string()))?;
    for entry in &manifest.files {
        let path = from.join(&entry.path);
        if !path.is_file() {
            return Err(BackupError::Missing(entry.path.clone()));
        }
        if sha256_of(&path)? != entry.sha256 {
            return Err(BackupError::Changed(entry.path.clone()));
        }
    }
    let holds = |name: &str| manifest.files.iter().any(|entry| entry.path == name);
    let postgres = manifest.database == "postgres";
    if postgres && !holds(PG_DUMP) {
        return Err(BackupError::NoDump);
    }
    if !postgres && !holds(DATABASE) {
        return Err(BackupError::Missing(DATABASE.to_owned()));
    }
    let target = &config.data_dir;
    if target.join(DATABASE).exists() || config.master_key_path().exists() {
        return Err(BackupError::Occupied(target.clone()));
    }
    // The key is read (and a sealed one opened) before anything is written.
    let key_file = key_file_of(from, &manifest, key, passphrase)?;
    data_dir::prepare(target)?;
    write_private(&config.master_key_path(), &key_file)?;
    let restored = match postgres {
        true => restore_postgres(from, config, &manifest).await,
        false => restore_sqlite(from, config, &manifest).await,
    };
    let audit_entries = match restored {
        Ok(entries) => entries,
        Err(error) => {
            let _ = fs::remove_file(config.master_key_path());
            return Err(error);
        }
    };
    Ok(Restored {
        manifest,
        audit_entries,
    })
}

/// The key file's bytes: `--key FILE`, else the backup's sealed key opened with the
/// passphrase, else its plain `master.key`.
fn key_file_of(
    from: &Path,
    manifest: &Manifest,
    key: Option<&Path>,
    passphrase: Option<&SecretString>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, BackupError> {
    let read = |path: &Path| {
        fs::read(path)
            .map(zeroize::Zeroizing::new)
            .map_err(io(format!("cannot read {}", path.display())))
    };
    if let Some(key) = key {
        return read(key);
    }
    let sealed = from.join(SEALED_KEY);
    if manifest.master_key == KeyCopy::Sealed || sealed.is_file() {
        let passphrase = passphrase.ok_or(BackupError::NoPassphrase)?;
        let opened = sealed_key::open(&read(&sealed)?, &Passphrase::for_opening(passphrase))?;
        return Ok(opened);
    }
    if from.join(KEY).is_file() {
        return read(&from.join(KEY));
    }
    Err(BackupError::NoKey)
}

/// SQLite: the database goes in under a temporary name, and takes its real one only once it
/// has passed every check.
async fn restore_sqlite(
    from: &Path,
    config: &Config,
    manifest: &Manifest,
) -> Result<u64, BackupError> {
    let target = &config.data_dir;
    let master_key = data_dir::load_master_key(&config.master_key_path())?;
    let staged = target.join("herald.db.restoring");
    copy_private(&from.join(DATABASE), &staged)?;
    let store = Store::open_sqlite(
        &staged,
        2,
        std::time::Duration::from_secs(config.database.connect_timeout_seconds),
    )
    .await;
    let checked = match store {
        Ok(store) => {
            let checked = check_restored(&store, &master_key, manifest).await;
            store.close().await;
            checked
        }
        Err(error) => Err(error.into()),
    };
    let audit_entries = match checked {
        Ok(entries) => entries,
        Err(error) => {
            let _ = fs::remove_file(&staged);
            return Err(error);
        }
    };
    if from.join("media").is_dir() {
        copy_folder(&from.join("media"), &target.join("media"))?;
    }
    fs::rename(&staged, target.join(DATABASE)).map_err(io("cannot put the database in place"))?;
    Ok(audit_entries)
}

/// PostgreSQL: the target database (or its schema) must hold no Herald tables; `pg_restore`
/// fills it in one transaction, then the same checks as on SQLite run against it.
async fn restore_postgres(
    from: &Path,
    config: &Config,
    manifest: &Manifest,
) -> Result<u64, BackupError> {
    let url = config
        .database
        .url
        .as_ref()
        .ok_or(BackupError::NoTargetDatabase)?;
    let master_key = data_dir::load_master_key(&config.master_key_path())?;
    let store = Store::open_postgres(
        url,
        2,
        std::time::Duration::from_secs(config.database.connect_timeout_seconds),
    )
    .await?;
    let restored = async {
        let version = store.schema_version().await?;
        if version > 0 {
            return Err(BackupError::TargetHoldsHerald(version));
        }
        let dump = from.join(PG_DUMP);
        let (_, target_schema) = libpq_command("pg_restore", url)?;
        let target_schema = target_schema.unwrap_or_else(|| "public".to_owned());
        let contents = pg_restore_list(&dump, url).await?;
        let dumped_schema = contents
            .lines()
            .find_map(schema_entry)
            .unwrap_or("public")
            .to_owned();
        if dumped_schema != target_schema {
            return Err(BackupError::SchemaMismatch {
                dumped: dumped_schema,
                target: target_schema,
            });
        }
        // Herald's URL names its schema, which its operator made: it may be there already,
        // empty. So the schema is made here when missing, and pg_restore restores what is in it.
        store.create_schema_if_missing(&target_schema).await?;
        let list: String = contents
            .lines()
            .filter(|line| schema_entry(line).is_none())
            .map(|line| format!("{line}\n"))
            .collect();
        let list_path = config.data_dir.join("pg_restore.list");
        write_private(&list_path, list.as_bytes())?;
        let ran = pg_restore(&dump, &list_path, url).await;
        let _ = fs::remove_file(&list_path);
        ran?;
        check_restored(&store, &master_key, manifest)
            .await
            .map_err(|error| BackupError::RestoredButFailed(Box::new(error)))
    }
    .await;
    store.close().await;
    let audit_entries = restored?;
    if from.join("media").is_dir() {
        copy_folder(&from.join("media"), &config.data_dir.join("media"))?;
    }
    Ok(audit_entries)
}

/// The schema a line of `pg_restore --list` creates, if it is a schema's entry
/// (`ID; CATALOG OID SCHEMA - NAME OWNER`).
fn schema_entry(line: &str) -> Option<&str> {
    if line.starts_with(';') {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [_, _, _, "SCHEMA", "-", name, ..] => Some(name),
        _ => None,
    }
}

/// The key must open the restored database's canary, and its audit chain must verify up to
/// the entries the manifest counted.
async fn check_restored(
    store: &Store,
    master_key: &data_dir::MasterKey,
    manifest: &Manifest,
) -> Result<u64, BackupError> {
    Keys::load(master_key, store)
        .await
        .map_err(|error| BackupError::WrongKey(error.to_string()))?;
    let key = audit::signing_key(master_key).verifying_key();
    let verified = audit::verify(store, &key)
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
/// on the PATH; otherwise nothing, and the backup holds the images and the manifest only.
/// A `search_path` in the URL's options limits the dump to that schema.
async fn pg_dump(url: &SecretString, to: &Path) -> Result<(), BackupError> {
    let (mut command, schema) = libpq_command("pg_dump", url)?;
    command
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(to);
    if let Some(schema) = schema {
        command.arg(format!("--schema={schema}"));
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

/// What `pg_restore --list` says the dump holds, one entry a line.
async fn pg_restore_list(dump: &Path, url: &SecretString) -> Result<String, BackupError> {
    let (mut command, _) = libpq_command("pg_restore", url)?;
    command.arg("--list").arg(dump);
    let output = command
        .output()
        .await
        .map_err(|error| BackupError::PgRestore(format!("pg_restore cannot run: {error}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::PgRestore(said.trim().to_owned()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Restores the entries of `list` from `dump` into the database `url` names, in one
/// transaction that stops at the first error.
async fn pg_restore(dump: &Path, list: &Path, url: &SecretString) -> Result<(), BackupError> {
    let (mut command, _) = libpq_command("pg_restore", url)?;
    let database = command
        .as_std()
        .get_envs()
        .find(|(name, _)| *name == "PGDATABASE")
        .and_then(|(_, value)| value.map(|value| value.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "postgres".to_owned());
    command
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--use-list",
        ])
        .arg(list)
        .arg("--dbname")
        .arg(database)
        .arg(dump);
    let output = command
        .output()
        .await
        .map_err(|error| BackupError::PgRestore(format!("pg_restore cannot run: {error}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::PgRestore(said.trim().to_owned()));
    }
    Ok(())
}

/// A libpq program (`pg_dump`, `pg_restore`) with the connection in its environment, never on
/// its command line, where other users could read the password; and the schema the URL's
/// `search_path` names, if any.
fn libpq_command(
    program: &str,
    url: &SecretString,
) -> Result<(tokio::process::Command, Option<String>), BackupError> {
    let parsed = url::Url::parse(url.expose_secret())
        .map_err(|error| BackupError::DatabaseUrl(error.to_string()))?;
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut command = tokio::process::Command::new(program);
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
    let mut schema = None;
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                command.env("PGSSLMODE", value.as_ref());
            }
            "options" => {
                schema = value
                    .split_whitespace()
                    .find_map(|option| option.strip_prefix("search_path="))
                    .map(|path| path.split(',').next().unwrap_or(path).trim().to_owned());
                command.env("PGOPTIONS", value.as_ref());
            }
            _ => {}
        }
    }
    Ok((command, schema))
}
