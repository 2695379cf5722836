//! The one typed configuration: built-in defaults, then a TOML file, then `HERALD_*` environment
//! variables, then command-line flags, each layer overriding the one before.
//!
//! Every setting is described once, in [`SETTINGS`]: its TOML path, its environment variable, its
//! kind and the comment printed by `herald config default`. A test checks that this table and the
//! [`Config`] struct agree, so the printed defaults cannot drift from the code.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Everything Herald can be told at start-up. Secrets are [`SecretString`]s, so the derived
/// `Debug` prints `[REDACTED]` in their place.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address the web app and API listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database, the master key and uploaded media live.
    pub data_dir: PathBuf,
    /// The master key file; `<data_dir>/master.key` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    /// The address people use to reach Herald, e.g. `https://herald.example.com`. When it is
    /// `https`, Herald sends HSTS and marks cookies `Secure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// No longer used: first-run setup needs the one-time setup code from any address. Kept
    /// so that existing config files and command lines still start Herald (with a warning).
    pub allow_remote_setup: bool,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<crate::domain::client_address::AddressBlock>,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub sessions: SessionsConfig,
    pub passwords: PasswordsConfig,
    pub jobs: JobsConfig,
    pub networks: NetworksConfig,
    pub links: LinksConfig,
    pub backup: BackupConfig,
    pub log: LogConfig,
    pub inbox: InboxConfig,
    pub mail: MailConfig,
}

/// Sending e-mail through an SMTP server (`[mail]`). Herald sends none while `host` is unset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server's name; no mail is sent while it is unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub port: u16,
    pub security: MailSecurity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub password: Option<SecretString>,
    /// The sender, e.g. `Herald <herald@example.com>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The organisation's name in messages; the name given at setup when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// A PEM file of certificate authorities trusted besides the usual public ones (a
    /// company's own mail server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How long one conversation with the server may take.
    pub timeout_seconds: u64,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain first, then STARTTLS, which must succeed (port 587).
    Starttls,
    /// No encryption: only to a server on this machine.
    None,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            host: None,
            port: 587,
            security: MailSecurity::Starttls,
            username: None,
            password: None,
            from: None,
            organisation: None,
            ca_file: None,
            timeout_seconds: 20,
        }
    }
}

impl MailConfig {
    /// Whether Herald sends e-mail at all.
    pub fn enabled(&self) -> bool {
        self.host.is_some()
    }

    fn check(&self) -> Result<(), ConfigError> {
        let Some(host) = &self.host else {
            return Ok(());
        };
        if self
            .from
            .as_deref()
            .is_none_or(|from| from.trim().is_empty())
        {
            return Err(ConfigError::Semantic(
                "mail.from must be set when mail.host is: the address messages come from"
                    .to_owned(),
            ));
        }
        let loopback = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.security == MailSecurity::None && !loopback {
            return Err(ConfigError::Semantic(format!(
                "mail.security = \"none\" sends passwords and messages in the clear; it is allowed only for a server on this machine, not {host:?}. Use \"tls\" or \"starttls\""
            )));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::Semantic(
                "mail.timeout_seconds must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Backups Herald takes by itself (`herald backup` by hand needs none of this).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Where scheduled backups go, each in a folder of its own; none when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Hours between scheduled backups.
    pub every_hours: u64,
    /// How many scheduled backups are kept; older ones are deleted.
    pub keep: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: None,
            every_hours: 24,
            keep: 7,
        }
    }
}

/// Link safety: the threat feeds fetched every day, and Google Safe Browsing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksConfig {
    pub feeds: Vec<FeedSource>,
    /// A Google Safe Browsing API key: links are then also checked with the Update API v4
    /// (a local hash-prefix list; a full-hash request only on a prefix hit).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub safe_browsing_key: Option<SecretString>,
    /// Where the Safe Browsing API is (tests point it at a local fake).
    pub safe_browsing_url: String,
    /// Hosts whose links are short links besides the well-known shorteners (a company's own
    /// branded short domain): hidden destinations, followed on request.
    pub short_link_hosts: Vec<String>,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            feeds: Vec::new(),
            safe_browsing_key: None,
            safe_browsing_url: "https://safebrowsing.googleapis.com".to_owned(),
            short_link_hosts: Vec::new(),
        }
    }
}

/// Reading the connected accounts' inboxes.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct InboxConfig {
    /// How often each connected account's inbox is read.
    pub poll_interval_seconds: u64,
    /// Items asked for per page, and pages read at most per read (the rest waits).
    pub page_size: u32,
    pub pages_per_read: u32,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            poll_interval_seconds: 120,
            page_size: 40,
            pages_per_read: 5,
        }
    }
}

/// One threat feed to fetch daily.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedSource {
    /// Where the feed is (http or https, through the hardened outbound client).
    pub url: String,
    /// Its format; told from the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FeedFormat>,
}

/// The feed formats Herald reads.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Urlhaus,
    Phishtank,
    Openphish,
    Domains,
}

/// Where each network's API is (tests point these at local fakes), how long Herald waits, and
/// Herald's own OAuth applications at the networks that need one registered in advance
/// (Mastodon instances register Herald themselves, on first use).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworksConfig {
    /// A request to a network that has not answered after this long has an unknown outcome.
    /// Less than `jobs.lease_seconds` (a running job's lease is renewed every third of it).
    pub request_timeout_seconds: u64,
    pub x_api_url: String,
    pub linkedin_api_url: String,
    /// Facebook Pages.
    pub graph_api_url: String,
    /// Instagram (Instagram API with Instagram Login).
    pub instagram_api_url: String,
    pub threads_api_url: String,
    /// The PDS for Bluesky accounts that do not name their own.
    pub bluesky_service_url: String,
    /// Where `did:plc` identities are looked up when a Bluesky account connects with OAuth.
    pub bluesky_plc_url: String,
    /// The Mastodon instance for accounts that do not name their own.
    pub mastodon_instance_url: String,
    /// Whether Herald may send requests to private, local and other non-public addresses
    /// (tests, an intranet Mastodon); by default it refuses them for every server.
    pub allow_private_addresses: bool,
    /// Herald's OAuth 2.0 client at X (developer portal → the app's "Keys and tokens").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_client_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub x_client_secret: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin_client_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub linkedin_client_secret: Option<SecretString>,
    /// Herald's Meta app, for Facebook Pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_app_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub meta_app_secret: Option<SecretString>,
    /// Threads has app credentials of its own, apart from the Meta app's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_app_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub threads_app_secret: Option<SecretString>,
    /// Instagram Login has app credentials of its own, apart from the Meta app's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instagram_app_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub instagram_app_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// A session unused for this long ends.
    pub idle_minutes: u64,
    /// A session ends this long after sign-in, however busy.
    pub absolute_hours: u64,
    /// How long an invitation link stays valid.
    pub invitation_hours: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordsConfig {
    /// Argon2id memory cost in KiB (OWASP minimum 19456).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A `postgres://` URL; SQLite in the data directory when unset. It may carry a password, so
    /// it is kept as a secret.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub request_timeout_seconds: u64,
    pub max_body_bytes: usize,
    pub shutdown_grace_seconds: u64,
    /// A connection must send a request's headers within this long (also how long an idle
    /// kept-alive connection may wait for its next request).
    pub header_read_timeout_seconds: u64,
    /// Connections open at once; more wait in the kernel's queue until one closes.
    pub max_connections: usize,
    /// When set, `GET /metrics` requires `Authorization: Bearer <token>`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    pub metrics_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How many jobs one Herald process runs at the same time.
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    /// How long a claimed job stays claimed before another worker may take it over.
    pub lease_seconds: u64,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `herald=debug,sqlx=warn`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<SecretString>,
    pub log_format: Option<LogFormat>,
    pub allow_remote_setup: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("unknown environment variable {name}; Herald knows {known}")]
    UnknownEnv { name: String, known: String },
    #[error("environment variable {name} must be {expected}, got {value:?}")]
    BadEnv {
        name: String,
        expected: &'static str,
        value: String,
    },
    #[error("cannot read {name} from {path}: {source}")]
    SecretFile {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} and {name}_FILE are both set; use one")]
    BothSecretForms { name: String },
    #[error("environment variable {name}: {message}")]
    InvalidEnv { name: String, message: String },
    #[error("invalid setting: {0}")]
    Semantic(String),
}

/// What kind of value a setting holds, which decides how an environment string is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    Text,
    Integer,
    Boolean,
    Secret,
    /// A list of strings; comma-separated in the environment.
    List,
    /// Threat feeds (`[{ url, format }]`); in the environment comma-separated, each `URL` or
    /// `FORMAT=URL`.
    Feeds,
}

/// One setting: where it lives in the TOML file, its environment variable, and its documentation.
#[derive(Debug)]
pub struct Setting {
    pub path: &'static [&'static str],
    pub kind: SettingKind,
    /// The default as a TOML literal, or `None` when the setting is unset by default (it is then
    /// printed commented out, with `example` as its value).
    pub default: Option<&'static str>,
    pub example: &'static str,
    pub help: &'static str,
}

/// Environment variables that are not settings: the test harness's, and the passphrase of a
/// sealed master key, which `herald backup` and `herald restore` read themselves so that it is
/// never held in a Config.
const HARNESS_ENV: &[&str] = &[
    "HERALD_REQUIRE_ALL_TESTS",
    "HERALD_TEST_DATABASE_URL",
    "HERALD_BACKUP_PASSPHRASE",
];

pub const SETTINGS: &[Setting] = &[
    Setting {
        path: &["listen"],
        kind: SettingKind::Text,
        default: Some("\"127.0.0.1:8080\""),
        example: "",
        help: "Address and port for the web app and the API.",
    },
    Setting {
        path: &["data_dir"],
        kind: SettingKind::Text,
        default: Some("\"./herald-data\""),
        example: "",
        help: "Directory for the SQLite database, the master key and uploaded media.\nCreated on first start (mode 0700).",
    },
    Setting {
        path: &["master_key_file"],
        kind: SettingKind::Text,
        default: None,
        example: "\"/etc/herald/master.key\"",
        help: "The 256-bit master key that protects the credential vault (mode 0600).\nDefault: master.key inside data_dir, created on first start. Back it up apart from the database.",
    },
    Setting {
        path: &["public_url"],
        kind: SettingKind::Text,
        default: None,
        example: "\"https://herald.example.com\"",
        help: "The address people use to reach Herald. With https, Herald sends HSTS\nand marks its cookies Secure.",
    },
    Setting {
        path: &["allow_remote_setup"],
        kind: SettingKind::Boolean,
        default: Some("false"),
        example: "",
        help: "No longer needed: first-run setup asks for the one-time setup code that Herald\nprints at first start (and `herald setup-code` prints again), from any address.\nAccepted so that older config files still load.",
    },
    Setting {
        path: &["trusted_proxies"],
        kind: SettingKind::List,
        default: Some("[]"),
        example: "",
        help: "Reverse proxies in front of Herald (addresses or blocks such as \"10.0.0.0/8\").\nOnly for requests from these is X-Forwarded-For (or, without it, Forwarded) read:\nthe right-most address in it that is not itself a trusted proxy is the client, for\nsign-in throttling, sessions and the audit log. Empty: the connecting address is the\nclient. Behind nginx on this machine: [\"127.0.0.1\", \"::1\"], with\n`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`.\nIn the environment: comma-separated.",
    },
    Setting {
        path: &["database", "url"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"postgres://herald@127.0.0.1:5432/herald\"",
        help: "PostgreSQL connection URL. Unset: SQLite in data_dir (no other service needed).\nMay also be given as HERALD_DATABASE_URL_FILE, a file holding the URL.",
    },
    Setting {
        path: &["database", "max_connections"],
        kind: SettingKind::Integer,
        default: Some("10"),
        example: "",
        help: "Most database connections this process opens.",
    },
    Setting {
        path: &["database", "connect_timeout_seconds"],
        kind: SettingKind::Integer,
        default: Some("5"),
        example: "",
        help: "How long to wait for the database before giving up.",
    },
    Setting {
        path: &["http", "request_timeout_seconds"],
        kind: SettingKind::Integer,
        default: Some("30"),
        example: "",
        help: "A request still running after this long is answered with 408.",
    },
    Setting {
        path: &["http", "max_body_bytes"],
        kind: SettingKind::Integer,
        default: Some("1048576"),
        example: "",
        help: "Largest request body accepted (bytes); larger ones get 413.",
    },
    Setting {
        path: &["http", "shutdown_grace_seconds"],
        kind: SettingKind::Integer,
        default: Some("30"),
        example: "",
        help: "On SIGTERM or SIGINT, how long in-flight requests and jobs may take to finish.",
    },
    Setting {
        path: &["http", "header_read_timeout_seconds"],
        kind: SettingKind::Integer,
        default: Some("10"),
        example: "",
        help: "A connection that has not sent a request's headers after this long is closed (also\nan idle kept-alive connection), so slow or stalled clients cannot hold connections open.",
    },
    Setting {
        path: &["http", "max_connections"],
        kind: SettingKind::Integer,
        default: Some("10000"),
        example: "",
        help: "How many connections may be open at once; Herald raises its open-file limit to fit\nwhere the system allows.",
    },
    Setting {
        path: &["http", "metrics_token"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"a-long-random-string\"",
        help: "When set, GET /metrics requires \"Authorization: Bearer <token>\". Unset, /metrics answers\nonly while Herald listens on a loopback address (127.0.0.1, ::1), and never to anyone else.\nMay also be given as HERALD_HTTP_METRICS_TOKEN_FILE.",
    },
    Setting {
        path: &["sessions", "idle_minutes"],
        kind: SettingKind::Integer,
        default: Some("60"),
        example: "",
        help: "A signed-in session unused for this many minutes ends (NIST SP 800-63B-4 recommends\nat most an hour at this assurance level).",
    },
    Setting {
        path: &["sessions", "absolute_hours"],
        kind: SettingKind::Integer,
        default: Some("12"),
        example: "",
        help: "A session ends this many hours after sign-in, however busy.",
    },
    Setting {
        path: &["sessions", "invitation_hours"],
        kind: SettingKind::Integer,
        default: Some("72"),
        example: "",
        help: "How many hours an invitation link stays valid.",
    },
    Setting {
        path: &["passwords", "argon2_memory_kib"],
        kind: SettingKind::Integer,
        default: Some("19456"),
        example: "",
        help: "Argon2id memory cost for login passwords, in KiB (OWASP minimum 19456).\nRaising it re-hashes each password at its next sign-in.",
    },
    Setting {
        path: &["passwords", "argon2_iterations"],
        kind: SettingKind::Integer,
        default: Some("2"),
        example: "",
        help: "Argon2id iterations (OWASP minimum 2 at 19 MiB).",
    },
    Setting {
        path: &["passwords", "argon2_lanes"],
        kind: SettingKind::Integer,
        default: Some("1"),
        example: "",
        help: "Argon2id parallelism.",
    },
    Setting {
        path: &["jobs", "concurrency"],
        kind: SettingKind::Integer,
        default: Some("32"),
        example: "",
        help: "How many background jobs (such as publishing a post) one process runs at once.\nMost of a publish is waiting for the network, so many can run side by side.",
    },
    Setting {
        path: &["jobs", "poll_interval_ms"],
        kind: SettingKind::Integer,
        default: Some("500"),
        example: "",
        help: "How often an idle worker looks for due jobs (milliseconds).",
    },
    Setting {
        path: &["jobs", "lease_seconds"],
        kind: SettingKind::Integer,
        default: Some("120"),
        example: "",
        help: "A claimed job whose worker vanished is taken over after this long.",
    },
    Setting {
        path: &["jobs", "max_attempts"],
        kind: SettingKind::Integer,
        default: Some("8"),
        example: "",
        help: "Attempts before a failing job is given up and marked dead.",
    },
    Setting {
        path: &["inbox", "poll_interval_seconds"],
        kind: SettingKind::Integer,
        default: Some("120"),
        example: "",
        help: "How often each connected account's inbox is read (mentions, replies, messages, new followers).\nA network's rate limit pushes the next read back to its reset time.",
    },
    Setting {
        path: &["inbox", "page_size"],
        kind: SettingKind::Integer,
        default: Some("40"),
        example: "",
        help: "Inbox items asked for per page.",
    },
    Setting {
        path: &["inbox", "pages_per_read"],
        kind: SettingKind::Integer,
        default: Some("5"),
        example: "",
        help: "Pages one read takes at most; the rest is read at the next one, from where it stopped.",
    },
    Setting {
        path: &["networks", "request_timeout_seconds"],
        kind: SettingKind::Integer,
        default: Some("20"),
        example: "",
        help: "How long Herald waits for a social network's answer. A post whose answer does not\ncome in time is checked before it is tried again, never sent twice. Less than\njobs.lease_seconds.",
    },
    Setting {
        path: &["networks", "x_api_url"],
        kind: SettingKind::Text,
        default: Some("\"https://api.x.com\""),
        example: "",
        help: "X's API.",
    },
    Setting {
        path: &["networks", "linkedin_api_url"],
        kind: SettingKind::Text,
        default: Some("\"https://api.linkedin.com\""),
        example: "",
        help: "LinkedIn's API.",
    },
    Setting {
        path: &["networks", "graph_api_url"],
        kind: SettingKind::Text,
        default: Some("\"https://graph.facebook.com\""),
        example: "",
        help: "Meta's Graph API, for Facebook Pages.",
    },
    Setting {
        path: &["networks", "instagram_api_url"],
        kind: SettingKind::Text,
        default: Some("\"https://graph.instagram.com\""),
        example: "",
        help: "The Instagram API (with Instagram Login), for Instagram professional accounts.",
    },
    Setting {
        path: &["networks", "threads_api_url"],
        kind: SettingKind::Text,
        default: Some("\"https://graph.threads.net\""),
        example: "",
        help: "The Threads API.",
    },
    Setting {
        path: &["networks", "bluesky_service_url"],
        kind: SettingKind::Text,
        default: Some("\"https://bsky.social\""),
        example: "",
        help: "The Bluesky PDS for accounts that do not name their own.",
    },
    Setting {
        path: &["networks", "bluesky_plc_url"],
        kind: SettingKind::Text,
        default: Some("\"https://plc.directory\""),
        example: "",
        help: "The PLC directory where Bluesky identities (did:plc) are looked up when an account connects with OAuth.",
    },
    Setting {
        path: &["networks", "mastodon_instance_url"],
        kind: SettingKind::Text,
        default: Some("\"https://mastodon.social\""),
        example: "",
        help: "The Mastodon instance for accounts that do not name their own.",
    },
    Setting {
        path: &["networks", "allow_private_addresses"],
        kind: SettingKind::Boolean,
        default: Some("false"),
        example: "",
        help: "Let Herald send requests to private, local and other non-public addresses (this\nmachine, 10.x, 192.168.x, link-local and cloud metadata addresses, …). Off: a server\ntyped by a gatekeeper, found from a Bluesky handle or configured here is refused\nthere. On only for tests or a Mastodon server on your own network (which may then\nalso be reached over http:// at a private address).",
    },
    Setting {
        path: &["networks", "x_client_id"],
        kind: SettingKind::Text,
        default: None,
        example: "\"your-x-client-id\"",
        help: "Herald's OAuth 2.0 client id at X, for \"Connect with X\".\nUnset: accounts there cannot be connected from the browser.",
    },
    Setting {
        path: &["networks", "x_client_secret"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-x-client-secret\"",
        help: "The secret that goes with x_client_id; never shown.\nMay also be given as HERALD_NETWORKS_X_CLIENT_SECRET_FILE.",
    },
    Setting {
        path: &["networks", "linkedin_client_id"],
        kind: SettingKind::Text,
        default: None,
        example: "\"your-linkedin-client-id\"",
        help: "Herald's LinkedIn app, for \"Connect with LinkedIn\".\nUnset: accounts there cannot be connected from the browser.",
    },
    Setting {
        path: &["networks", "linkedin_client_secret"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-linkedin-client-secret\"",
        help: "The secret that goes with linkedin_client_id; never shown.\nMay also be given as HERALD_NETWORKS_LINKEDIN_CLIENT_SECRET_FILE.",
    },
    Setting {
        path: &["networks", "meta_app_id"],
        kind: SettingKind::Text,
        default: None,
        example: "\"your-meta-app-id\"",
        help: "Herald's Meta app, for \"Connect with Facebook\".\nUnset: Facebook Pages cannot be connected from the browser.",
    },
    Setting {
        path: &["networks", "meta_app_secret"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-meta-app-secret\"",
        help: "The secret that goes with meta_app_id; never shown.\nMay also be given as HERALD_NETWORKS_META_APP_SECRET_FILE.",
    },
    Setting {
        path: &["networks", "threads_app_id"],
        kind: SettingKind::Text,
        default: None,
        example: "\"your-threads-app-id\"",
        help: "Herald's Threads app (its own id, apart from the Meta app's).\nUnset: accounts there cannot be connected from the browser.",
    },
    Setting {
        path: &["networks", "threads_app_secret"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-threads-app-secret\"",
        help: "The secret that goes with threads_app_id; never shown.\nMay also be given as HERALD_NETWORKS_THREADS_APP_SECRET_FILE.",
    },
    Setting {
        path: &["networks", "instagram_app_id"],
        kind: SettingKind::Text,
        default: None,
        example: "\"your-instagram-app-id\"",
        help: "Herald's Instagram app (Instagram Login's own id, apart from the Meta app's).\nUnset: Instagram accounts cannot be connected from the browser.",
    },
    Setting {
        path: &["networks", "instagram_app_secret"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-instagram-app-secret\"",
        help: "The secret that goes with instagram_app_id; never shown.\nMay also be given as HERALD_NETWORKS_INSTAGRAM_APP_SECRET_FILE.",
    },
    Setting {
        path: &["links", "feeds"],
        kind: SettingKind::Feeds,
        default: Some("[]"),
        example: "",
        help: "Threat feeds Herald fetches every day (conditional GET, through the same hardened\nclient as the networks), each replacing its list only when it reads whole:\n[{ url = \"https://urlhaus.abuse.ch/downloads/csv_recent/\", format = \"urlhaus\" }].\nFormats: urlhaus, phishtank, openphish, domains; told from the content when left out.\nIn the environment: comma-separated, each URL or FORMAT=URL.\n`herald feeds import FILE…` imports files by hand.",
    },
    Setting {
        path: &["links", "safe_browsing_key"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-safe-browsing-api-key\"",
        help: "A Google Safe Browsing API key: links at submission, before publishing and in explicit\nchecks are then also checked with the Update API v4 (a local hash-prefix list kept up\nto date; only a prefix hit sends a full-hash request). Never shown.\nMay also be given as HERALD_LINKS_SAFE_BROWSING_KEY_FILE.",
    },
    Setting {
        path: &["links", "safe_browsing_url"],
        kind: SettingKind::Text,
        default: Some("\"https://safebrowsing.googleapis.com\""),
        example: "",
        help: "Where the Safe Browsing API is.",
    },
    Setting {
        path: &["links", "short_link_hosts"],
        kind: SettingKind::List,
        default: Some("[]"),
        example: "",
        help: "Hosts whose links Herald treats as short links, besides the well-known shorteners\n(bit.ly, t.co, tinyurl.com, …): a branded short domain such as \"sunny.link\" (its\nsubdomains too). A short link hides where it goes: the inbox marks it suspicious until a\nmember asks Herald to follow it. In the environment: comma-separated.",
    },
    Setting {
        path: &["backup", "dir"],
        kind: SettingKind::Text,
        default: None,
        example: "\"/var/backups/herald\"",
        help: "Where Herald puts its own scheduled backups (a folder each: the database, the images\nand a manifest of checksums; never the master key). Unset: none are taken; `herald\nbackup DIR` works either way. A failed backup is told to the owners.",
    },
    Setting {
        path: &["backup", "every_hours"],
        kind: SettingKind::Integer,
        default: Some("24"),
        example: "",
        help: "Hours between scheduled backups.",
    },
    Setting {
        path: &["backup", "keep"],
        kind: SettingKind::Integer,
        default: Some("7"),
        example: "",
        help: "How many scheduled backups are kept; the oldest beyond these are deleted.",
    },
    Setting {
        path: &["mail", "host"],
        kind: SettingKind::Text,
        default: None,
        example: "\"smtp.example.com\"",
        help: "The SMTP server Herald sends e-mail through (invitations, notifications, digests).\nUnset: no e-mail; invitation links are copied by hand.",
    },
    Setting {
        path: &["mail", "port"],
        kind: SettingKind::Integer,
        default: Some("587"),
        example: "",
        help: "The SMTP server's port: 587 for STARTTLS, 465 for TLS.",
    },
    Setting {
        path: &["mail", "security"],
        kind: SettingKind::Text,
        default: Some("\"starttls\""),
        example: "",
        help: "\"starttls\" (must succeed), \"tls\" (TLS from the first byte), or \"none\" (only for a\nserver on this machine).",
    },
    Setting {
        path: &["mail", "username"],
        kind: SettingKind::Text,
        default: None,
        example: "\"herald@example.com\"",
        help: "The user name to sign in to the SMTP server with; unset: no sign-in.",
    },
    Setting {
        path: &["mail", "password"],
        kind: SettingKind::Secret,
        default: None,
        example: "\"your-smtp-password\"",
        help: "The SMTP password; never shown or logged.\nMay also be given as HERALD_MAIL_PASSWORD_FILE, a file holding it.",
    },
    Setting {
        path: &["mail", "from"],
        kind: SettingKind::Text,
        default: None,
        example: "\"Herald <herald@example.com>\"",
        help: "Who messages come from; required when host is set.",
    },
    Setting {
        path: &["mail", "organisation"],
        kind: SettingKind::Text,
        default: None,
        example: "\"Sunny Café\"",
        help: "The organisation's name in messages; unset: the name given at setup.",
    },
    Setting {
        path: &["mail", "ca_file"],
        kind: SettingKind::Text,
        default: None,
        example: "\"/etc/herald/mail-ca.pem\"",
        help: "Certificate authorities (PEM) trusted for the SMTP server besides the public ones.",
    },
    Setting {
        path: &["mail", "timeout_seconds"],
        kind: SettingKind::Integer,
        default: Some("20"),
        example: "",
        help: "How long one conversation with the SMTP server may take.",
    },
    Setting {
        path: &["log", "format"],
        kind: SettingKind::Text,
        default: Some("\"text\""),
        example: "",
        help: "\"text\" for people, \"json\" for log collectors.",
    },
    Setting {
        path: &["log", "level"],
        kind: SettingKind::Text,
        default: Some("\"info\""),
        example: "",
        help: "A tracing filter: \"info\", \"debug\", or per module like \"herald=debug,sqlx=warn\".",
    },
];

impl Setting {
    /// The environment variable for this setting, e.g. `HERALD_DATABASE_URL`.
    pub fn env_name(&self) -> String {
        format!("HERALD_{}", self.path.join("_").to_uppercase())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./herald-data"),
            master_key_file: None,
            public_url: None,
            allow_remote_setup: false,
            trusted_proxies: Vec::new(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            sessions: SessionsConfig::default(),
            passwords: PasswordsConfig::default(),
            jobs: JobsConfig::default(),
            networks: NetworksConfig::default(),
            links: LinksConfig::default(),
            backup: BackupConfig::default(),
            log: LogConfig::default(),
            inbox: InboxConfig::default(),
            mail: MailConfig::default(),
        }
    }
}

impl Default for NetworksConfig {
    fn default() -> Self {
        NetworksConfig {
            request_timeout_seconds: 20,
            x_api_url: "https://api.x.com".to_owned(),
            linkedin_api_url: "https://api.linkedin.com".to_owned(),
            graph_api_url: "https://graph.facebook.com".to_owned(),
            instagram_api_url: "https://graph.instagram.com".to_owned(),
            threads_api_url: "https://graph.threads.net".to_owned(),
            bluesky_service_url: "https://bsky.social".to_owned(),
            bluesky_plc_url: "https://plc.directory".to_owned(),
            mastodon_instance_url: "https://mastodon.social".to_owned(),
            allow_private_addresses: false,
            x_client_id: None,
            x_client_secret: None,
            linkedin_client_id: None,
            linkedin_client_secret: None,
            meta_app_id: None,
            meta_app_secret: None,
            threads_app_id: None,
            threads_app_secret: None,
            instagram_app_id: None,
            instagram_app_secret: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 10,
            connect_timeout_seconds: 5,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_timeout_seconds: 30,
            max_body_bytes: 1024 * 1024,
            shutdown_grace_seconds: 30,
            header_read_timeout_seconds: 10,
            max_connections: 10_000,
            metrics_token: None,
        }
    }
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            idle_minutes: 60,
            absolute_hours: 12,
            invitation_hours: 72,
        }
    }
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        PasswordsConfig {
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_lanes: 1,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: 32,
            poll_interval_ms: 500,
            lease_seconds: 120,
            max_attempts: 8,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

impl Config {
    /// Builds the configuration from every layer. `env` is passed in (rather than read here) so
    /// tests can give each case its own environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let mut config = Config::deserialize(toml::Value::Table(table)).map_err(|error| {
            ConfigError::Invalid {
                path: file.map(Path::to_path_buf).unwrap_or_default(),
                message: error.message().to_owned(),
            }
        })?;
        config.apply(overrides);
        config.mail.check()?;
        config.validate()?;
        Ok(config)
    }

    fn apply(&mut self, overrides: Overrides) {
        if let Some(listen) = overrides.listen {
            self.listen = listen;
        }
        if let Some(data_dir) = overrides.data_dir {
            self.data_dir = data_dir;
        }
        if let Some(url) = overrides.database_url {
            self.database.url = Some(url);
        }
        if let Some(format) = overrides.log_format {
            self.log.format = format;
        }
        if overrides.allow_remote_setup {
            self.allow_remote_setup = true;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::Semantic(format!(
                "public_url must start with https:// or http://, got {url:?}"
            )));
        }
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Semantic(
                    "database.url must be a postgres:// URL; leave it unset to use SQLite in the data directory"
                        .to_owned(),
                ));
            }
        }
        if self.networks.request_timeout_seconds == 0
            || self.networks.request_timeout_seconds >= self.jobs.lease_seconds
        {
            return Err(ConfigError::Semantic(format!(
                "networks.request_timeout_seconds must be at least 1 and less than jobs.lease_seconds ({})",
                self.jobs.lease_seconds
            )));
        }
        let network_urls = [
            ("x_api_url", &self.networks.x_api_url),
            ("linkedin_api_url", &self.networks.linkedin_api_url),
            ("graph_api_url", &self.networks.graph_api_url),
            ("instagram_api_url", &self.networks.instagram_api_url),
            ("threads_api_url", &self.networks.threads_api_url),
            ("bluesky_service_url", &self.networks.bluesky_service_url),
            ("bluesky_plc_url", &self.networks.bluesky_plc_url),
            (
                "mastodon_instance_url",
                &self.networks.mastodon_instance_url,
            ),
        ];
        for (name, url) in network_urls {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Semantic(format!(
                    "networks.{name} must start with https:// or http://, got {url:?}"
                )));
            }
        }
        if self.http.max_connections == 0 || self.http.header_read_timeout_seconds == 0 {
            return Err(ConfigError::Semantic(
                "http.max_connections and http.header_read_timeout_seconds must be at least 1"
                    .to_owned(),
            ));
        }
        if self.inbox.poll_interval_seconds == 0
            || self.inbox.page_size == 0
            || self.inbox.pages_per_read == 0
        {
            return Err(ConfigError::Semantic(
                "inbox: poll_interval_seconds, page_size and pages_per_read must each be at least 1"
                    .to_owned(),
            ));
        }
        if self.jobs.concurrency == 0 {
            return Err(ConfigError::Semantic(
                "jobs.concurrency must be at least 1".to_owned(),
            ));
        }
        if self.passwords.argon2_memory_kib < 19 * 1024
            || self.passwords.argon2_iterations < 2
            || self.passwords.argon2_lanes < 1
        {
            return Err(ConfigError::Semantic(
                "passwords: Argon2id needs at least argon2_memory_kib = 19456, argon2_iterations = 2 and argon2_lanes = 1 (OWASP minimum)".to_owned(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Semantic(
                "database.max_connections must be at least 1".to_owned(),
            ));
        }
        if self.backup.every_hours == 0 || self.backup.keep == 0 {
            return Err(ConfigError::Semantic(
                "backup.every_hours and backup.keep must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }

    /// The master key file, defaulting to `master.key` inside the data directory.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// Whether people reach Herald over TLS (possibly terminated by a proxy in front of it).
    pub fn served_over_tls(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// The text printed by `herald config default`: every setting with its comment and default.
pub fn default_file() -> String {
    let mut out = String::from(
        "# Herald configuration. Every setting is optional; shown here with its default.\n\
         # Precedence: built-in defaults < this file (--config) < HERALD_* environment < flags.\n\
         # Each setting's environment variable is named beside it.\n",
    );
    let mut section: &[&str] = &[];
    for setting in SETTINGS {
        let (parents, key) = setting.path.split_at(setting.path.len() - 1);
        if parents != section {
            out.push_str(&format!("\n[{}]\n", parents.join(".")));
            section = parents;
        }
        out.push('\n');
        for line in setting.help.lines() {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str(&format!("# Environment: {}\n", setting.env_name()));
        match setting.default {
            Some(value) => out.push_str(&format!("{} = {value}\n", key[0])),
            None => out.push_str(&format!("# {} = {}\n", key[0], setting.example)),
        }
    }
    out
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|error| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: describe_toml_error(&text, &error),
        })
}

/// Turns a TOML parse error into one line with the line and column it points at.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with("HERALD_") && !HARNESS_ENV.contains(&name.as_str()))
        .collect();
    // Sorted so that which error is reported first does not depend on the environment's order.
    env.sort();
    for (name, value) in &env {
        let (setting, from_file) = find_setting(name)?;
        if from_file && env.iter().any(|(other, _)| *other == setting.env_name()) {
            return Err(ConfigError::BothSecretForms {
                name: setting.env_name(),
            });
        }
        let value = if from_file {
            read_secret_file(name, Path::new(value))?
        } else {
            value.clone()
        };
        set_path(table, setting.path, env_value(name, setting.kind, value)?).map_err(
            |message| ConfigError::InvalidEnv {
                name: name.clone(),
                message,
            },
        )?;
    }
    Ok(())
}

/// Finds the setting an environment variable names; `true` when it is the `_FILE` form of a secret.
fn find_setting(name: &str) -> Result<(&'static Setting, bool), ConfigError> {
    if let Some(setting) = SETTINGS.iter().find(|s| s.env_name() == name) {
        return Ok((setting, false));
    }
    if let Some(base) = name.strip_suffix("_FILE")
        && let Some(setting) = SETTINGS
            .iter()
            .find(|s| s.kind == SettingKind::Secret && s.env_name() == base)
    {
        return Ok((setting, true));
    }
    let known: Vec<String> = SETTINGS.iter().map(Setting::env_name).collect();
    Err(ConfigError::UnknownEnv {
        name: name.to_owned(),
        known: known.join(", "),
    })
}

fn read_secret_file(name: &str, path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        name: name.to_owned(),
        path: path.to_path_buf(),
        source,
    })?;
    // Files written by editors and `echo` end in a newline that is not part of the secret.
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

fn env_value(name: &str, kind: SettingKind, value: String) -> Result<toml::Value, ConfigError> {
    match kind {
        SettingKind::Text | SettingKind::Secret => Ok(toml::Value::String(value)),
        SettingKind::List => Ok(toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_owned()))
                .collect(),
        )),
        SettingKind::Feeds => Ok(toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    let mut feed = toml::Table::new();
                    let (format, url) = match item.split_once('=') {
                        Some((format, url)) if !format.contains(':') => (Some(format), url),
                        _ => (None, item),
                    };
                    feed.insert("url".to_owned(), toml::Value::String(url.trim().to_owned()));
                    if let Some(format) = format {
                        let format = format.trim().to_owned();
                        feed.insert("format".to_owned(), toml::Value::String(format));
                    }
                    toml::Value::Table(feed)
                })
                .collect(),
        )),
        SettingKind::Boolean => match value.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => Err(ConfigError::BadEnv {
                name: name.to_owned(),
                expected: "true or false",
                value,
            }),
        },
        SettingKind::Integer => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| ConfigError::BadEnv {
                name: name.to_owned(),
                expected: "a whole number",
                value,
            }),
    }
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty setting path")?;
    let mut current = table;
    for parent in parents {
        let entry = current
            .entry((*parent).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("[{parent}] in the config file is not a table"))?;
    }
    current.insert((*last).to_owned(), value);
    Ok(())
}

/// Secrets are serialized only to compare configurations in tests; the value is never written out.
fn serialize_secret<S: serde::Serializer>(
    _secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("[REDACTED]")
}
