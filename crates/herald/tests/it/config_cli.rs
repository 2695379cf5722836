//! Configuration through the command line: defaults, file, environment and flags, and the
//! errors a person sees when one of them is wrong.

use std::collections::BTreeSet;

use herald::config::{Config, Overrides, SETTINGS};
use tempfile::TempDir;

use crate::helpers::{herald, run};

fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// Every key path of a TOML table, as `section.key`.
fn key_paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => key_paths(inner, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn config_default_prints_every_setting_and_parses_back_into_the_defaults() {
    let (output, stdout, _) = run(herald().args(["config", "default"]));
    assert!(output.status.success());

    let dir = TempDir::new().expect("temporary directory");
    let file = write(&dir, "default.toml", &stdout);
    let parsed =
        Config::load(Some(&file), Vec::new(), Overrides::default()).expect("printed defaults load");
    let as_toml = |config: &Config| toml::Value::try_from(config).expect("config serializes");
    assert_eq!(as_toml(&parsed), as_toml(&Config::default()));

    // Every field the code knows is documented, and every documented setting exists.
    let mut fields = BTreeSet::new();
    key_paths(
        as_toml(&Config::default()).as_table().expect("table"),
        "",
        &mut fields,
    );
    let documented: BTreeSet<String> = SETTINGS.iter().map(|s| s.path.join(".")).collect();
    assert!(
        fields.is_subset(&documented),
        "undocumented: {:?}",
        fields.difference(&documented)
    );
    for setting in SETTINGS {
        assert!(stdout.contains(&format!("# Environment: {}", setting.env_name())));
    }
    let mut all_set = String::new();
    for setting in SETTINGS {
        let value = if setting.default.is_some() {
            ""
        } else {
            setting.example
        };
        if !value.is_empty() {
            all_set.push_str(&format!("{} = {value}\n", setting.path.join(".")));
        }
    }
    let dotted = write(&dir, "optional.toml", &all_set);
    assert!(
        Config::load(Some(&dotted), Vec::new(), Overrides::default()).is_ok(),
        "examples are valid:\n{all_set}"
    );
}

#[test]
fn an_unknown_key_in_the_config_file_is_an_error_that_names_it() {
    let dir = TempDir::new().expect("temporary directory");
    let file = write(&dir, "herald.toml", "lisen = \"127.0.0.1:9000\"\n");
    let (output, _, stderr) = run(herald().args(["config", "show", "--config"]).arg(&file));
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("unknown field `lisen`"), "{stderr}");

    let file = write(&dir, "nested.toml", "[jobs]\nconcurency = 3\n");
    let (output, _, stderr) = run(herald().args(["config", "show", "--config"]).arg(&file));
    assert!(!output.status.success());
    assert!(stderr.contains("unknown field `concurency`"), "{stderr}");
}

#[test]
fn a_malformed_config_file_is_reported_with_its_line_and_column() {
    let dir = TempDir::new().expect("temporary directory");
    let file = write(
        &dir,
        "herald.toml",
        "listen = \"127.0.0.1:9000\"\ndata_dir = \n",
    );
    let (output, _, stderr) = run(herald().args(["serve", "--config"]).arg(&file));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("line 2, column 12"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_config_file_is_named() {
    let (output, _, stderr) = run(herald().args(["serve", "--config", "/nonexistent/herald.toml"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("cannot read config file /nonexistent/herald.toml"),
        "{stderr}"
    );
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = TempDir::new().expect("temporary directory");
    let file = write(
        &dir,
        "herald.toml",
        "listen = \"127.0.0.1:9001\"\ndata_dir = \"/from/file\"\n[jobs]\nconcurrency = 2\nlease_seconds = 30\n",
    );
    let (output, stdout, stderr) = run(herald()
        .args(["config", "show", "--data-dir", "/from/flag", "--config"])
        .arg(&file)
        .env("HERALD_DATA_DIR", "/from/env")
        .env("HERALD_JOBS_CONCURRENCY", "7"));
    assert!(output.status.success(), "{stderr}");
    let shown: Config = toml::from_str(&stdout).expect("show prints valid TOML");
    assert_eq!(
        shown.listen.to_string(),
        "127.0.0.1:9001",
        "file beats default"
    );
    assert_eq!(shown.jobs.concurrency, 7, "environment beats file");
    assert_eq!(
        shown.jobs.lease_seconds, 30,
        "file value kept where nothing overrides it"
    );
    assert_eq!(
        shown.data_dir.to_string_lossy(),
        "/from/flag",
        "flag beats environment"
    );
}

#[test]
fn an_unknown_herald_environment_variable_is_named() {
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_LISTN", "127.0.0.1:1"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("unknown environment variable HERALD_LISTN"),
        "{stderr}"
    );
    assert!(
        stderr.contains("HERALD_LISTEN"),
        "lists the known ones: {stderr}"
    );
}

#[test]
fn trusted_proxies_come_from_a_comma_separated_variable_and_a_bad_one_is_named() {
    let (output, stdout, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_TRUSTED_PROXIES", "127.0.0.1, ::1,10.0.0.0/8"));
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains(
            "trusted_proxies = [\n    \"127.0.0.1\",\n    \"::1\",\n    \"10.0.0.0/8\",\n]"
        ),
        "{stdout}"
    );
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_TRUSTED_PROXIES", "127.0.0.1, proxy.internal"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(r#""proxy.internal" is not an IP address or a block such as 10.0.0.0/8"#),
        "{stderr}"
    );
}

#[test]
fn a_number_setting_given_text_in_the_environment_is_named() {
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_JOBS_CONCURRENCY", "lots"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("HERALD_JOBS_CONCURRENCY must be a whole number, got \"lots\""),
        "{stderr}"
    );
}

#[test]
fn a_secret_can_come_from_a_file_and_is_never_shown() {
    let dir = TempDir::new().expect("temporary directory");
    let secret = write(
        &dir,
        "db-url",
        "postgres://herald:correct-horse-battery@db.internal/herald\n",
    );
    let (output, stdout, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_DATABASE_URL_FILE", &secret));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("url = \"[REDACTED]\""), "{stdout}");
    assert!(!stdout.contains("correct-horse-battery"));

    let loaded = Config::load(
        None,
        vec![(
            "HERALD_DATABASE_URL_FILE".to_owned(),
            secret.to_string_lossy().into_owned(),
        )],
        Overrides::default(),
    )
    .expect("loads");
    let url = loaded.database.url.as_ref().expect("url set");
    use secrecy::ExposeSecret;
    assert_eq!(
        url.expose_secret(),
        "postgres://herald:correct-horse-battery@db.internal/herald",
        "trailing newline trimmed"
    );
    assert!(
        !format!("{loaded:?}").contains("correct-horse-battery"),
        "Debug redacts secrets"
    );
}

#[test]
fn a_secret_given_both_directly_and_as_a_file_is_refused() {
    let dir = TempDir::new().expect("temporary directory");
    let secret = write(&dir, "token", "abc");
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_HTTP_METRICS_TOKEN", "xyz")
        .env("HERALD_HTTP_METRICS_TOKEN_FILE", &secret));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr
            .contains("HERALD_HTTP_METRICS_TOKEN and HERALD_HTTP_METRICS_TOKEN_FILE are both set"),
        "{stderr}"
    );
}

#[test]
fn a_missing_secret_file_is_named() {
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_DATABASE_URL_FILE", "/nonexistent/secret"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("cannot read HERALD_DATABASE_URL_FILE from /nonexistent/secret"),
        "{stderr}"
    );
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused_with_advice() {
    let (output, _, stderr) =
        run(herald().args(["config", "show", "--database-url", "mysql://x@y/z"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("database.url must be a postgres:// URL"),
        "{stderr}"
    );
}
