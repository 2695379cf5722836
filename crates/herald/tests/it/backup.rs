//! `herald backup` while Herald serves and `herald restore` into a new data directory: what
//! was there is there again, the audit log verifies, Herald serves from it; and each refusal
//! (a changed file, an occupied directory, the wrong key, a non-empty backup folder) says why
//! and changes nothing.

use std::path::Path;
use std::sync::Arc;

use herald::clock::ManualClock;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{TestApp, herald, herald_for, run, spawn_sqlite_app_with_clock};
use crate::people::{Person, set_up};
use crate::posts::draft_id;

/// A served installation with an owner, an account, posts and an image.
pub(crate) async fn installation() -> (TestApp, ManualClock, Person, Vec<i64>) {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_sqlite_app_with_clock(|_| {}, Arc::new(clock.clone())).await;
    let owner = set_up(&app, &clock).await;
    let account = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let mut posts = Vec::new();
    for n in 0..5 {
        posts.push(
            draft_id(
                &app,
                &owner,
                account,
                &format!("Soup of the day, number {n}."),
            )
            .await,
        );
    }
    let part = reqwest::multipart::Part::bytes(crate::media::png(640, 480, 10))
        .file_name("soup.png")
        .mime_str("image/png")
        .expect("media type");
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("alt", "A bowl of soup");
    let attached = owner
        .client
        .post(app.url(&format!("/api/v1/posts/{}/media", posts[0])))
        .header("x-csrf-token", &owner.csrf)
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert_eq!(
        attached.status(),
        StatusCode::CREATED,
        "{:?}",
        attached.text().await
    );
    (app, clock, owner, posts)
}

pub(crate) fn backup(data_dir: &Path, to: &Path, extra: &[&str]) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald_for(data_dir)
        .arg("backup")
        .arg(to)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra));
    (output.status.success(), stdout, stderr)
}

pub(crate) fn restore(from: &Path, into: &Path, extra: &[&str]) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald()
        .arg("restore")
        .arg(from)
        .arg("--data-dir")
        .arg(into)
        .args(extra));
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn a_backup_taken_while_herald_serves_restores_into_a_new_directory_with_everything() {
    let (app, _clock, owner, posts) = installation().await;
    let dir = TempDir::new().expect("temporary directory");
    let taken = dir.path().join("backup");
    let (ok, stdout, stderr) = backup(&app.data_dir, &taken, &["--include-key"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("It holds the master key"), "{stdout}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(taken.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["database"], "sqlite");
    assert!(manifest["schema_version"].as_i64().expect("version") >= 25);
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|file| file["path"].as_str().expect("path"))
        .collect();
    assert!(
        files.contains(&"herald.db") && files.contains(&"master.key"),
        "{files:?}"
    );
    assert!(
        files.iter().any(|path| path.starts_with("media/")),
        "{files:?}"
    );

    // A backup goes into an empty folder only.
    let (again, _, stderr) = backup(&app.data_dir, &taken, &[]);
    assert!(!again);
    assert!(stderr.contains("is not empty"), "{stderr}");

    let restored = dir.path().join("restored");
    let (ok, stdout, stderr) = restore(&taken, &restored, &[]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("the audit log verifies"), "{stdout}");
    let (output, verified, _) = run(herald()
        .args(["audit", "verify", "--data-dir"])
        .arg(&restored));
    assert!(output.status.success(), "{verified}");

    // Herald serves from it: the same posts, the image's bytes as they were.
    let key = std::fs::read(restored.join("master.key")).expect("key");
    assert_eq!(
        key,
        std::fs::read(app.data_dir.join("master.key")).expect("key")
    );
    drop(app);
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_100).expect("time"));
    let served = spawn_sqlite_app_with_clock(
        {
            let restored = restored.clone();
            move |config| config.data_dir = restored
        },
        Arc::new(clock.clone()),
    )
    .await;
    let listed: Value = owner.get_json(&served, "/api/v1/posts").await;
    let ids: Vec<i64> = listed["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| post["id"].as_i64().expect("id"))
        .collect();
    for id in &posts {
        assert!(ids.contains(id), "post {id} is back: {listed}");
    }
    let images: Value = owner
        .get_json(&served, &format!("/api/v1/posts/{}/media", posts[0]))
        .await;
    let media_id = images[0]["id"].as_i64().expect("image");
    let bytes = owner
        .get(
            &served,
            &format!("/api/v1/posts/{}/media/{media_id}", posts[0]),
        )
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.to_vec(), crate::media::png(640, 480, 10));
}

#[tokio::test]
async fn a_restore_refuses_a_changed_file_an_occupied_directory_and_the_wrong_key() {
    let (app, _clock, _owner, _) = installation().await;
    let dir = TempDir::new().expect("temporary directory");
    let taken = dir.path().join("backup");
    let (ok, stdout, stderr) = backup(&app.data_dir, &taken, &[]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("The master key is not in it"), "{stdout}");
    assert!(!taken.join("master.key").exists());

    // Without a key, it asks for one.
    let target = dir.path().join("new");
    let (ok, _, stderr) = restore(&taken, &target, &[]);
    assert!(!ok);
    assert!(stderr.contains("--key FILE"), "{stderr}");

    // Another installation's key does not open it, and nothing is left behind.
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let other = spawn_sqlite_app_with_clock(|_| {}, Arc::new(clock)).await;
    let wrong = other.data_dir.join("master.key");
    let (ok, _, stderr) = restore(&taken, &target, &["--key", &wrong.display().to_string()]);
    assert!(!ok);
    assert!(stderr.contains("does not open this backup"), "{stderr}");
    assert!(!target.join("herald.db").exists() && !target.join("master.key").exists());

    // The right key restores it; a second restore over it is refused.
    let right = app.data_dir.join("master.key").display().to_string();
    let (ok, stdout, stderr) = restore(&taken, &target, &["--key", &right]);
    assert!(ok, "{stdout}{stderr}");
    let (ok, _, stderr) = restore(&taken, &target, &["--key", &right]);
    assert!(!ok);
    assert!(
        stderr.contains("already holds a Herald installation"),
        "{stderr}"
    );

    // A byte changed in the backup: refused, naming the file.
    let image = std::fs::read_dir(taken.join("media"))
        .expect("media")
        .next()
        .expect("an image")
        .expect("entry")
        .path();
    let mut bytes = std::fs::read(&image).expect("image");
    bytes[20] ^= 1;
    std::fs::write(&image, bytes).expect("changed");
    let elsewhere = dir.path().join("elsewhere");
    let (ok, _, stderr) = restore(&taken, &elsewhere, &["--key", &right]);
    assert!(!ok);
    assert!(
        stderr.contains("has changed since the backup was taken"),
        "{stderr}"
    );
    assert!(stderr.contains("media/"), "{stderr}");
    assert!(!elsewhere.join("herald.db").exists());
}

/// Waits (the runner works on its own) until `ready` holds, for at most ten seconds.
async fn eventually(mut ready: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if ready() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ready()
}

fn taken(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().join("manifest.json").is_file())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn scheduled_backups_are_taken_every_period_and_only_the_newest_are_kept() {
    let dir = TempDir::new().expect("temporary directory");
    let backups = dir.path().join("backups");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_sqlite_app_with_clock(
        {
            let backups = backups.clone();
            move |config| {
                config.backup.dir = Some(backups);
                config.backup.every_hours = 1;
                config.backup.keep = 2;
            }
        },
        Arc::new(clock.clone()),
    )
    .await;
    let _owner = set_up(&app, &clock).await;
    assert!(
        eventually(|| taken(&backups).len() == 1).await,
        "the first one at start"
    );
    for expected in [2, 2] {
        let before = taken(&backups);
        clock.advance(jiff::SignedDuration::from_mins(61));
        assert!(
            eventually(|| {
                let now = taken(&backups);
                now.len() == expected && now != before
            })
            .await,
            "{:?}",
            taken(&backups)
        );
    }
    let kept = taken(&backups);
    assert!(
        kept.iter().all(|name| name.starts_with("herald-")),
        "{kept:?}"
    );
    assert!(
        !backups.join(&kept[0]).join("master.key").exists(),
        "never the key"
    );
}

#[tokio::test]
async fn a_scheduled_backup_that_fails_is_told_to_the_owners() {
    let dir = TempDir::new().expect("temporary directory");
    // A file where the folder should be: nothing can be written under it.
    let blocked = dir.path().join("not-a-folder");
    std::fs::write(&blocked, "x").expect("file");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_sqlite_app_with_clock(
        {
            let blocked = blocked.clone();
            move |config| config.backup.dir = Some(blocked.join("backups"))
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    // The first attempt ran at start, before anyone could be told; the next one is told.
    // (A day on, the owner's session has ended: the store shows what they will read.)
    clock.advance(jiff::SignedDuration::from_hours(25));
    let mut told = Vec::new();
    for _ in 0..200 {
        told = app
            .store
            .notifications_of(owner.id, 10)
            .await
            .expect("notifications");
        if told
            .iter()
            .any(|notice| notice.subject == "A scheduled backup failed")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let notice = told
        .iter()
        .find(|notice| notice.subject == "A scheduled backup failed")
        .unwrap_or_else(|| panic!("{told:?}"));
    assert!(notice.body.contains("herald backup DIR"), "{}", notice.body);
    assert!(notice.body.contains("not-a-folder"), "{}", notice.body);
}

/// On PostgreSQL, `herald backup` takes the database with `pg_dump` (custom format, private)
/// beside the manifest, limited to Herald's schema; where `pg_dump` is not installed it takes
/// the rest and says how to take the database.
#[tokio::test]
async fn on_postgresql_the_backup_holds_the_database_as_pg_dump_wrote_it() {
    let Some(url) = crate::helpers::postgres_url().await else {
        return;
    };
    let app = crate::helpers::spawn_app_with({
        let url = url.clone();
        move |config| config.database.url = Some(url.into())
    })
    .await;
    let _owner = set_up(&app, &herald::clock::SystemClock).await;
    let data = app.data_dir.clone();
    let dir = TempDir::new().expect("temporary directory");
    let with_database = |command: &mut std::process::Command| {
        command.env("HERALD_DATABASE_URL", &url);
    };

    let to = dir.path().join("backup");
    let mut take = herald();
    with_database(take.arg("backup").arg(&to).arg("--data-dir").arg(&data));
    let (output, stdout, stderr) = run(&mut take);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("herald.pgdump, restore it with pg_restore"),
        "{stdout}"
    );
    let dump = to.join("herald.pgdump");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dump)
        .expect("the dump")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(to.join("manifest.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(manifest["database"], "postgres");
    assert!(
        manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|file| file["path"] == "herald.pgdump"),
        "{manifest}"
    );
    let listed = std::process::Command::new("pg_restore")
        .arg("--list")
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("TABLE") && listed.contains(" posts "),
        "{listed}"
    );
    let schema = url
        .rsplit("search_path%3D")
        .next()
        .expect("the test's schema");
    assert!(
        listed
            .lines()
            .filter(|line| line.contains(" TABLE "))
            .all(|line| line.contains(schema)),
        "only Herald's schema: {listed}"
    );

    let without = dir.path().join("backup-without-pg-dump");
    let mut take = herald();
    with_database(
        take.arg("backup")
            .arg(&without)
            .arg("--data-dir")
            .arg(&data)
            .env("PATH", dir.path()),
    );
    let (output, stdout, stderr) = run(&mut take);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("take the PostgreSQL database with pg_dump"),
        "{stdout}"
    );
    assert!(!without.join("herald.pgdump").exists());
}
