//! `herald backup DIR --seal-key`: the master key goes into the backup sealed with a passphrase
//! (from a file or HERALD_BACKUP_PASSPHRASE, never the command line), and `herald restore`
//! opens it with that passphrase; a short passphrase, a missing one and a wrong one are each
//! refused with a clear message, and a refused restore writes nothing.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::backup::{backup, installation, restore};
use crate::helpers::{herald, herald_for, run};

const PASSPHRASE: &str = "correct horse battery staple";

fn restore_with_env(from: &Path, into: &Path, passphrase: &str) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald()
        .arg("restore")
        .arg(from)
        .arg("--data-dir")
        .arg(into)
        .env("HERALD_BACKUP_PASSPHRASE", passphrase));
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn a_backup_with_the_key_sealed_by_a_passphrase_restores_only_with_that_passphrase() {
    let (app, _clock, _owner, _posts) = installation().await;
    let dir = TempDir::new().expect("temporary directory");
    let taken = dir.path().join("backup");

    // No passphrase at all, then one too short (from the environment): refused, nothing taken.
    let (ok, _, stderr) = backup(&app.data_dir, &taken, &["--seal-key"]);
    assert!(!ok);
    assert!(stderr.contains("--seal-key needs a passphrase"), "{stderr}");
    let (output, _, stderr) = run(herald_for(&app.data_dir)
        .arg("backup")
        .arg(&taken)
        .arg("--data-dir")
        .arg(&app.data_dir)
        .arg("--seal-key")
        .env("HERALD_BACKUP_PASSPHRASE", "eleven char"));
    assert!(!output.status.success());
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
    assert!(!taken.exists(), "nothing taken");

    // From a file (its line break is not part of it): the key sealed, never in plain.
    let file = dir.path().join("passphrase");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).expect("passphrase file");
    let file = file.display().to_string();
    let (ok, stdout, stderr) = backup(
        &app.data_dir,
        &taken,
        &["--seal-key", "--passphrase-file", &file],
    );
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("sealed with your passphrase"), "{stdout}");
    assert!(!taken.join("master.key").exists());
    let key = std::fs::read_to_string(app.data_dir.join("master.key")).expect("key");
    let key_hex = key.trim().rsplit(':').next().expect("hex").to_owned();
    let sealed = std::fs::read_to_string(taken.join("master.key.sealed")).expect("sealed");
    assert!(!sealed.contains(&key_hex), "the key is not in plain");
    let sealed: Value = serde_json::from_str(&sealed).expect("JSON");
    assert_eq!(sealed["kdf"]["algorithm"], "argon2id");
    assert!(sealed["kdf"]["memory_kib"].as_u64().expect("memory") >= 19 * 1024);
    assert_eq!(sealed["kdf"]["salt"].as_str().expect("salt").len(), 32);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(taken.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["master_key"], "sealed");
    assert!(
        manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|entry| entry["path"] == "master.key.sealed"),
        "{manifest}"
    );

    // Restoring without the passphrase asks for it; with a wrong one it says so; both leave
    // nothing behind.
    let target = dir.path().join("restored");
    let (ok, _, stderr) = restore(&taken, &target, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("sealed with a passphrase") && stderr.contains("--passphrase-file"),
        "{stderr}"
    );
    let (ok, _, stderr) = restore_with_env(&taken, &target, "correct horse battery stapler");
    assert!(!ok);
    assert!(
        stderr.contains("the passphrase does not open the backup's sealed master key"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSPHRASE), "{stderr}");
    assert!(!target.join("herald.db").exists() && !target.join("master.key").exists());

    // The right passphrase: the same key, and the audit log verifies.
    let (ok, stdout, stderr) = restore_with_env(&taken, &target, PASSPHRASE);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("the audit log verifies"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(target.join("master.key")).expect("restored key"),
        key
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target.join("master.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (output, verified, _) = run(herald()
        .args(["audit", "verify", "--data-dir"])
        .arg(&target));
    assert!(output.status.success(), "{verified}");
}
