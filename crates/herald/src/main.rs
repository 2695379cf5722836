//! The `herald` command line. It parses arguments and calls the library; nothing else lives here.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use herald::clock::{Clock, SystemClock};
use herald::config::{self, Config, LogFormat, Overrides};
use herald::keys::Keys;
use herald::server::{App, IfDatabaseIsEmpty};
use herald::services::{audit, credentials};
use herald::store::Store;
use herald::{breaches, data_dir, http, telemetry};
use secrecy::SecretString;

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: a safe social media console for small businesses"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web app, the JSON API and the scheduler.
    Serve(ServeArgs),
    /// Create or update the database schema, then exit.
    Migrate(MigrateArgs),
    /// Show configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the OpenAPI 3.1 document of the JSON API.
    Openapi,
    /// Manage the credential vault.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Check or checkpoint the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Breached-password data (Have I Been Pwned's Pwned Passwords, checked locally).
    #[command(subcommand)]
    Breaches(BreachesCommand),
    /// Print the first-run setup link and its one-time setup code again (while nobody has set
    /// Herald up). Exits 1 once Herald is set up.
    SetupCode(ConfigArgs),
    /// Look after members from the server's own shell.
    #[command(subcommand)]
    User(UserCommand),
    /// Threat feeds for link safety (URLhaus, PhishTank, OpenPhish, lists of domains).
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Link safety: check links against the feeds and the organisation's own names.
    #[command(subcommand)]
    Links(LinksCommand),
    /// Take a backup while Herald runs: a consistent copy of the SQLite database, the images
    /// and a manifest of checksums, in DIR (new or empty). The master key only with
    /// --include-key (keep such a backup as safe as the key itself) or sealed with a
    /// passphrase (--seal-key).
    Backup(BackupArgs),
    /// Restore a backup into a new data directory (--data-dir): every checksum, the key
    /// against the database and the audit chain are checked before it is put in place.
    Restore(RestoreArgs),
    /// Check files (or standard input) against a social media policy. Exits 1 when anything
    /// would be blocked, 2 when the input or the policy cannot be read, 0 otherwise.
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// List the migrations that would run, and change nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// Where the backup goes: a new or empty folder
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Copy the master key into the backup too (master.key, readable by its owner only)
    #[arg(long, conflicts_with = "seal_key")]
    include_key: bool,
    /// Put the master key into the backup sealed with a passphrase (master.key.sealed,
    /// Argon2id and XChaCha20-Poly1305), read from --passphrase-file or the environment
    /// variable HERALD_BACKUP_PASSPHRASE; at least 12 characters
    #[arg(long)]
    seal_key: bool,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
struct PassphraseArgs {
    /// A file holding the passphrase of a sealed master key (never give the passphrase itself
    /// on the command line, where other users could read it); else HERALD_BACKUP_PASSPHRASE
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// The passphrase from the file, else from the environment, if either is given.
    fn read(&self) -> anyhow::Result<Option<SecretString>> {
        if let Some(path) = &self.passphrase_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
            return Ok(Some(SecretString::from(text)));
        }
        Ok(std::env::var("HERALD_BACKUP_PASSPHRASE")
            .ok()
            .map(SecretString::from))
    }
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The backup folder (with its manifest.json)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The master key the backup was made with, when the backup does not hold it
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// A policy rules file (TOML, as exported from Herald); the built-in rules when absent
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    format: ScanFormat,
    /// Files to check; standard input when none (or `-`)
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ScanFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum BreachesCommand {
    /// Import the SHA-1 Pwned Passwords data (one file of HASH:COUNT lines, or a folder of
    /// range files such as 7C4A8.txt), then mark every stored network password found in it
    /// "rotate now". An earlier import is replaced only once the new one is complete.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The downloaded file, or the folder of range files
    #[arg(value_name = "PATH")]
    path: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
enum FeedsCommand {
    /// Import threat feed files (the format is told from the content: URLhaus CSV, PhishTank
    /// CSV, OpenPhish's one URL a line, or one domain a line). Each becomes the list named
    /// after its file, replacing an earlier import of that name; if any file does not read,
    /// it is refused naming the line and nothing is imported. A running server sees the new
    /// lists within seconds.
    Import(FeedsImportArgs),
}

#[derive(Debug, Args)]
struct FeedsImportArgs {
    /// Feed files
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
enum LinksCommand {
    /// Check links against the imported feeds and the organisation's domains and handles,
    /// following each one's redirects. Exits 1 when any is malicious or a look-alike, 2 when
    /// the check cannot run, 0 otherwise.
    Check(LinksCheckArgs),
}

#[derive(Debug, Args)]
struct LinksCheckArgs {
    /// Links to check (at most 20)
    #[arg(value_name = "URL", required = true)]
    urls: Vec<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Reset a member's two-step sign-in (for a locked-out last owner: shell access to the
    /// server is the proof). Their authenticator, recovery codes and passkeys stop working
    /// and their sessions end; at their next sign-in they set up a new authenticator.
    #[command(name = "reset-2fa")]
    Reset2fa(ResetArgs),
}

#[derive(Debug, Args)]
struct ResetArgs {
    /// The member's email address
    #[arg(value_name = "EMAIL")]
    email: String,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Replace the master key with a new one and re-wrap every secret under it. Safe to
    /// interrupt and run again. Stop `herald serve` first; back up the new key afterwards.
    Rekey(ConfigArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and check every signed checkpoint; exit 1 naming the first bad
    /// entry if anything was changed, deleted or reordered.
    Verify(ConfigArgs),
    /// Sign a checkpoint of the log as it is now (Herald also does this every hour).
    Checkpoint(ConfigArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print every setting with its default and its environment variable.
    Default,
    /// Print the configuration in effect after the file, environment and flags (secrets hidden).
    Show(ConfigArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Log format [default: text]
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// No longer needed: setup asks for the one-time setup code from any address
    #[arg(long, hide = true)]
    allow_remote_setup: bool,
    /// Start with an empty database although the data directory's master key belongs to an
    /// installation (only after a database was lost and there is no backup to restore)
    #[arg(long)]
    new_database: bool,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// A TOML config file (see `herald config default`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory [default: ./herald-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; SQLite in the data directory when not given. Prefer
    /// HERALD_DATABASE_URL_FILE: command lines are visible to other users of the machine.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Scan(args) = &cli.command {
        return scan::run(args);
    }
    if let Command::Links(LinksCommand::Check(args)) = &cli.command {
        return links_check(args);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line naming the problem, the whole chain of causes; never a backtrace.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("herald: error: {}", telemetry::error_chain(error.as_ref()));
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let overrides = Overrides {
                listen: args.listen,
                log_format: args.log_format,
                allow_remote_setup: args.allow_remote_setup,
                ..args.config.overrides()
            };
            let config = args.config.load(overrides)?;
            telemetry::init(&config.log)?;
            if config.allow_remote_setup {
                tracing::warn!(
                    "allow_remote_setup (--allow-remote-setup) is no longer needed and does nothing: first-run setup asks for the one-time setup code from any address"
                );
            }
            let if_empty = if args.new_database {
                IfDatabaseIsEmpty::StartAfresh
            } else {
                IfDatabaseIsEmpty::Refuse
            };
            runtime()?.block_on(serve(config, if_empty))
        }
        Command::Migrate(args) => {
            let config = args.config.load(args.config.overrides())?;
            telemetry::init(&config.log)?;
            if args.dry_run {
                return runtime()?.block_on(migrate_dry_run(config));
            }
            runtime()?.block_on(migrate(config))
        }
        Command::Config(ConfigCommand::Default) => print(&config::default_file()),
        Command::Config(ConfigCommand::Show(args)) => {
            let config = args.load(args.overrides())?;
            print(&toml::to_string_pretty(&config).context("cannot show the configuration")?)
        }
        Command::Backup(args) => {
            let config = args.config.load(args.config.overrides())?;
            let key = if args.seal_key {
                let Some(text) = args.passphrase.read()? else {
                    anyhow::bail!(
                        "--seal-key needs a passphrase: give --passphrase-file FILE or set HERALD_BACKUP_PASSPHRASE"
                    );
                };
                herald::backup::KeyChoice::Seal(herald::backup::Passphrase::parse(&text)?)
            } else if args.include_key {
                herald::backup::KeyChoice::Include
            } else {
                herald::backup::KeyChoice::Leave
            };
            runtime()?.block_on(backup(config, &args.dir, &key))
        }
        Command::Restore(args) => {
            let config = args.config.load(args.config.overrides())?;
            let passphrase = args.passphrase.read()?;
            runtime()?.block_on(restore(
                config,
                &args.dir,
                args.key.as_deref(),
                passphrase.as_ref(),
            ))
        }
        Command::Audit(AuditCommand::Verify(args)) => {
            let config = args.load(args.overrides())?;
            runtime()?.block_on(audit_verify(config))
        }
        Command::Audit(AuditCommand::Checkpoint(args)) => {
            let config = args.load(args.overrides())?;
            runtime()?.block_on(audit_checkpoint(config))
        }
        Command::Vault(VaultCommand::Rekey(args)) => {
            let config = args.load(args.overrides())?;
            runtime()?.block_on(vault_rekey(config))
        }
        Command::SetupCode(args) => {
            let config = args.load(args.overrides())?;
            runtime()?.block_on(setup_code(config))
        }
        Command::Breaches(BreachesCommand::Import(args)) => {
            let config = args.config.load(args.config.overrides())?;
            runtime()?.block_on(breaches_import(config, &args.path))
        }
        Command::User(UserCommand::Reset2fa(args)) => {
            let config = args.config.load(args.config.overrides())?;
            runtime()?.block_on(user_reset_2fa(config, &args.email))
        }
        Command::Feeds(FeedsCommand::Import(args)) => {
            let config = args.config.load(args.config.overrides())?;
            feeds_import(&config, &args.files)
        }
        Command::Scan(_) | Command::Links(_) => unreachable!("handled in main"),
        Command::Openapi => print(
            &serde_json::to_string_pretty(&http::api::document())
                .context("cannot render the OpenAPI document")?,
        ),
    }
}

async fn serve(config: Config, if_empty: IfDatabaseIsEmpty) -> anyhow::Result<()> {
    let listen = config.listen;
    let backend = if config.database.url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let data_dir = config.data_dir.clone();
    let app = App::build_with(config, Arc::new(SystemClock), if_empty).await?;
    let shutdown = shutdown_signal()?;
    let addr = app.local_addr().unwrap_or(listen);
    tracing::info!(%addr, database = backend, data_dir = %data_dir.display(), "Herald is ready at http://{addr}/");
    // The setup code goes to standard output, never into the log.
    if let Some(announcement) = app.setup_announcement() {
        print(&format!("\n{announcement}\n"))?;
        tracing::info!(
            "Herald is not set up yet: open the setup link printed on standard output, or run `herald setup-code`"
        );
    }
    app.run(shutdown).await.context("server failed")
}

fn feeds_import(config: &Config, files: &[PathBuf]) -> anyhow::Result<()> {
    data_dir::prepare(&config.data_dir)?;
    let imported = herald::services::links::import_feeds(&config.data_dir, files)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    for feed in imported {
        print(&format!(
            "{}: {} entries ({})",
            feed.name,
            feed.entries,
            feed.format.as_str()
        ))?;
    }
    Ok(())
}

/// `herald links check`: 1 when a link is malicious or a look-alike, 2 when it cannot run.
fn links_check(args: &LinksCheckArgs) -> ExitCode {
    let checked = args
        .config
        .load(args.config.overrides())
        .and_then(|config| runtime()?.block_on(links_reports(config, &args.urls)));
    let reports = match checked {
        Ok(reports) => reports,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("herald: error: {}", telemetry::error_chain(error.as_ref()));
            }
            return ExitCode::from(2);
        }
    };
    let mut dangerous = false;
    let mut lines = Vec::new();
    for report in reports {
        dangerous |= matches!(report.verdict, "malicious" | "lookalike");
        let shown = report.canonical.as_deref().unwrap_or(&report.url);
        lines.push(format!("{}: {shown}", report.verdict));
        if let Some(destination) = &report.destination {
            lines.push(format!("  goes to {destination}"));
        }
        for finding in report.findings {
            lines.push(format!(
                "  {} ({}): {}",
                finding.rule.as_str(),
                finding.action.as_str(),
                finding.message
            ));
        }
    }
    if print(&lines.join("\n")).is_err() {
        return ExitCode::from(2);
    }
    if dangerous {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn links_reports(
    config: Config,
    urls: &[String],
) -> anyhow::Result<Vec<herald::services::links::LinkReport>> {
    let store = Store::open_existing(&config).await?;
    let safety = herald::services::links::LinkSafety::new(&config);
    let reports = safety
        .check(&store, urls, SystemClock.now())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"));
    store.close().await;
    reports
}

async fn backup(config: Config, dir: &Path, key: &herald::backup::KeyChoice) -> anyhow::Result<()> {
    let (store, _) = open_existing(&config).await?;
    let taken = herald::backup::backup(&config, &store, dir, key, SystemClock.now()).await;
    store.close().await;
    let manifest = taken?;
    let dumped = manifest
        .files
        .iter()
        .any(|file| file.path == herald::backup::PG_DUMP);
    let database = match manifest.database.as_str() {
        "sqlite" => "the database".to_owned(),
        _ if dumped => format!(
            "the PostgreSQL database ({}, restore it with pg_restore) and the images",
            herald::backup::PG_DUMP
        ),
        _ => {
            "the images (pg_dump is not installed here: take the PostgreSQL database with pg_dump)"
                .to_owned()
        }
    };
    let key = match manifest.master_key {
        herald::backup::KeyCopy::Included => {
            " It holds the master key: keep it as safe as the key itself."
        }
        herald::backup::KeyCopy::Sealed => {
            " It holds the master key sealed with your passphrase (master.key.sealed): without the passphrase the backup cannot be restored."
        }
        herald::backup::KeyCopy::Absent => {
            " The master key is not in it: keep a copy of master.key apart from it."
        }
    };
    print(&format!(
        "backup written to {}: {database}, {} files, {} audit entries (head {}).{key}",
        dir.display(),
        manifest.files.len(),
        manifest.audit_entries,
        manifest.audit_head,
    ))
}

async fn restore(
    config: Config,
    dir: &Path,
    key: Option<&Path>,
    passphrase: Option<&SecretString>,
) -> anyhow::Result<()> {
    let restored = herald::backup::restore(dir, &config, key, passphrase).await?;
    let (database, start) = match restored.manifest.database.as_str() {
        "postgres" => (
            " (the database into PostgreSQL, with pg_restore)",
            " and the same database URL",
        ),
        _ => ("", ""),
    };
    print(&format!(
        "restored into {}{database}: the backup of {} (Herald {}), every file as it was, the key opens the vault, the audit log verifies ({} entries). Start Herald with --data-dir {}{start}.",
        config.data_dir.display(),
        restored.manifest.created_at,
        restored.manifest.herald_version,
        restored.audit_entries,
        config.data_dir.display(),
    ))
}

async fn migrate_dry_run(config: Config) -> anyhow::Result<()> {
    let store = Store::open_existing(&config).await?;
    let checked = async {
        store.refuse_newer_schema().await?;
        store.pending_migrations().await
    }
    .await;
    store.close().await;
    let pending = checked?;
    if pending.is_empty() {
        return print("the database schema is up to date: nothing would run");
    }
    let lines: Vec<String> = pending
        .iter()
        .map(|(version, description)| format!("  {version:04} {description}"))
        .collect();
    print(&format!(
        "{} migration(s) would run (nothing was changed):\n{}",
        pending.len(),
        lines.join("\n")
    ))
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    data_dir::prepare(&config.data_dir)?;
    let store = Store::open(&config).await?;
    store.migrate().await?;
    tracing::info!(
        database = store.backend_name(),
        "database schema is up to date"
    );
    store.close().await;
    Ok(())
}

/// Opens an existing installation's database and master key, creating nothing.
async fn open_existing(config: &Config) -> anyhow::Result<(Store, data_dir::MasterKey)> {
    let master_key = data_dir::load_master_key(&config.master_key_path())?;
    let store = Store::open_existing(config).await?;
    Ok((store, master_key))
}

async fn audit_verify(config: Config) -> anyhow::Result<()> {
    let (store, master_key) = open_existing(&config).await?;
    let key = audit::signing_key(&master_key).verifying_key();
    let verified = audit::verify(&store, &key)
        .await
        .context("audit log verification failed")?;
    let last = verified
        .last_checkpoint
        .map_or_else(|| "none yet".to_owned(), |size| format!("at entry {size}"));
    print(&format!(
        "audit log intact: {} entries, head {}, {} signed checkpoints (last {last})",
        verified.entries,
        hex::encode(verified.head_hash),
        verified.checkpoints,
    ))
}

async fn vault_rekey(config: Config) -> anyhow::Result<()> {
    let store = Store::open_existing(&config).await?;
    // A database from an older Herald gets the newer schema first, as `serve` would give it.
    store.migrate().await?;
    let key_path = config.master_key_path();
    let done = herald::rekey::rekey(&store, &key_path)
        .await
        .context("vault rekey failed")?;
    store.close().await;
    let forgotten = match done.apps_forgotten {
        0 => String::new(),
        n => format!(
            " {n} of Herald's applications at Mastodon servers did not open and were forgotten; \
             Herald registers again when an account there is next connected."
        ),
    };
    print(&format!(
        "master key replaced (now version {}): {} secrets re-wrapped, {} already done, {} audit checkpoints signed again.{forgotten} \
         The old key is in {}; back up the new {} and then delete the old one.",
        done.version,
        done.rewrapped,
        done.already_done,
        done.checkpoints_resigned,
        key_path
            .with_file_name(format!(
                "{}.previous",
                key_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ))
            .display(),
        key_path.display(),
    ))
}

async fn breaches_import(config: Config, path: &Path) -> anyhow::Result<()> {
    let (store, master_key) = open_existing(&config).await?;
    let keys = Keys::load(&master_key, &store).await?;
    let imported = breaches::import(path, &config.data_dir)
        .context("the breach data was not imported; the earlier import, if any, is unchanged")?;
    let breaches = breaches::Breaches::in_data_dir(&config.data_dir);
    let found = credentials::recheck_breaches(&store, &keys, &breaches, SystemClock.now())
        .await
        .context("the breach data was imported, but checking the stored passwords failed")?;
    store.close().await;
    let verdict = match found.len() {
        0 => "no stored network password is in it".to_owned(),
        count => format!(
            "{count} stored network password(s) are in it and marked \"rotate now\" (accounts {})",
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    print(&format!(
        "imported {} breached password hashes; {verdict}",
        imported.hashes
    ))
}

async fn setup_code(config: Config) -> anyhow::Result<()> {
    let (store, master_key) = open_existing(&config).await?;
    // A database from an older Herald gets the newer schema first, as `serve` would give it.
    store.migrate().await?;
    let keys = Keys::load(&master_key, &store).await?;
    let code = herald::services::people::setup::code(&store, &keys, SystemClock.now())
        .await
        .context("cannot read the setup code")?;
    store.close().await;
    let Some(code) = code else {
        anyhow::bail!("Herald is already set up, so there is no setup code; sign in instead");
    };
    print(
        &code.announcement(&herald::services::people::setup::base_url(
            &config,
            config.listen,
        )),
    )
}

async fn user_reset_2fa(config: Config, email: &str) -> anyhow::Result<()> {
    let (store, master_key) = open_existing(&config).await?;
    // Proves this is the master key of this database before anything changes.
    Keys::load(&master_key, &store).await?;
    let member = herald::services::people::second_factor_reset::reset_from_command_line(
        &store,
        email,
        SystemClock.now(),
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    store.close().await;
    print(&format!(
        "The two-step sign-in of {} ({}) is reset: their authenticator, recovery codes and passkeys no longer work, and their sessions ended.\nWhat they do next: {}",
        member.name,
        member.email,
        herald::services::people::second_factor_reset::NEXT_STEP
    ))
}

async fn audit_checkpoint(config: Config) -> anyhow::Result<()> {
    let (store, master_key) = open_existing(&config).await?;
    let now = SystemClock.now();
    match audit::checkpoint(&store, &audit::signing_key(&master_key), now).await? {
        Some(checkpoint) => print(&format!("signed a checkpoint at entry {}", checkpoint.size)),
        None => print("the newest checkpoint already covers the whole log"),
    }
}

/// `herald scan`: exit codes like grep's (1: something to block, 2: trouble).
mod scan {
    use std::io::Read;
    use std::path::Path;
    use std::process::ExitCode;

    use anyhow::Context;
    use guard::{Action, Finding, Location, Locator, Policy, Scanner};

    use super::{ScanArgs, ScanFormat};

    pub fn run(args: &ScanArgs) -> ExitCode {
        match scan(args) {
            Ok(true) => ExitCode::from(1),
            Ok(false) => ExitCode::SUCCESS,
            Err(error) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("herald: error: {error:#}");
                }
                ExitCode::from(2)
            }
        }
    }

    /// Scans every input; says whether anything is at "block".
    fn scan(args: &ScanArgs) -> anyhow::Result<bool> {
        let scanner = scanner(args.policy.as_deref())?;
        let mut inputs = args.files.clone();
        if inputs.is_empty() {
            inputs.push("-".into());
        }
        let mut blocked = false;
        let mut report = Vec::new();
        for input in &inputs {
            let (name, bytes) = read(input)?;
            let findings = scanner
                .scan_bytes(&bytes)
                .with_context(|| format!("cannot scan {name}"))?;
            // scan_bytes has checked that the bytes are UTF-8.
            let text = String::from_utf8_lossy(&bytes);
            blocked |= findings
                .iter()
                .any(|finding| finding.action == Action::Block);
            // One pass over the text for all findings: each from the start of the file made
            // the command quadratic in the number of findings.
            let mut locator = Locator::new(&text);
            for finding in findings {
                let location = locator.locate(finding.span.start);
                report.push(Line::new(&name, location, finding));
            }
        }
        let out = match args.format {
            ScanFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
            ScanFormat::Text => report.iter().map(Line::text).collect(),
        };
        if !out.is_empty() {
            super::print(out.trim_end())?;
        }
        Ok(blocked)
    }

    fn scanner(path: Option<&Path>) -> anyhow::Result<Scanner> {
        let Some(path) = path else {
            return Ok(Scanner::default());
        };
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the policy {}", path.display()))?;
        let (policy, mut problems) = Policy::from_toml_lenient(&source)
            .with_context(|| format!("the policy {} is not valid", path.display()))?;
        let (scanner, more) = Scanner::build(&policy);
        problems.extend(more);
        for problem in problems {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "herald: warning: {}: {problem}; the other rules still apply",
                    path.display()
                );
            }
        }
        Ok(scanner)
    }

    fn read(input: &Path) -> anyhow::Result<(String, Vec<u8>)> {
        let mut bytes = Vec::new();
        if input == Path::new("-") {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            return Ok(("<stdin>".to_owned(), bytes));
        }
        let bytes =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        Ok((input.display().to_string(), bytes))
    }

    #[derive(serde::Serialize)]
    struct Line {
        file: String,
        line: usize,
        column: usize,
        #[serde(flatten)]
        finding: Finding,
    }

    impl Line {
        fn new(file: &str, Location { line, column }: Location, finding: Finding) -> Line {
            Line {
                file: file.to_owned(),
                line,
                column,
                finding,
            }
        }

        fn text(&self) -> String {
            let action = self.finding.action.as_str();
            format!(
                "{}:{}:{}: {action} [{}] {} ({})\n",
                self.file,
                self.line,
                self.column,
                self.finding.rule.as_str(),
                self.finding.message,
                self.finding.excerpt
            )
        }
    }
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM (what service managers send). The
/// handlers are installed before this returns, so a signal that arrives as soon as Herald says
/// it is ready is not lost.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// The environment, skipping variables that are not UTF-8 (`std::env::vars` would panic on them).
fn utf8_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .context("cannot write to standard output")
}

impl ConfigArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone().map(SecretString::from),
            ..Overrides::default()
        }
    }

    fn load(&self, overrides: Overrides) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref(), utf8_env(), overrides)?)
    }
}
