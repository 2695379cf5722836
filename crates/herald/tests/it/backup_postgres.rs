//! `herald restore` of a PostgreSQL backup: `pg_restore` puts `herald.pgdump` into the empty
//! database the target URL names, then the key's canary and the audit chain are checked, and
//! Herald serves from it. A target that already holds Herald's tables, a target whose schema
//! is not the backup's, a key that does not open it, and a restore with no target database
//! are refused.

use herald::clock::SystemClock;
use serde_json::Value;
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{contract_test, herald, postgres_url, run, spawn_app_with};
use crate::people::set_up;
use crate::posts::draft_id;

/// `HERALD_TEST_DATABASE_URL` with another database and a `search_path` option.
fn url_of(base: &str, database: &str, schema: &str) -> String {
    let mut url = url::Url::parse(base).expect("the test database URL");
    url.set_path(&format!("/{database}"));
    url.set_query(None);
    format!("{url}?options=-c%20search_path%3D{schema}")
}

fn restore_into(
    from: &std::path::Path,
    into: &std::path::Path,
    url: Option<&str>,
) -> (bool, String, String) {
    let mut command = herald();
    command.arg("restore").arg(from).arg("--data-dir").arg(into);
    if let Some(url) = url {
        command.env("HERALD_DATABASE_URL", url);
    }
    let (output, stdout, stderr) = run(&mut command);
    (output.status.success(), stdout, stderr)
}

contract_test!(a_schema_is_made_for_a_restore_on_postgresql_only, |store| {
    let name = format!("herald_restore_{:08x}", rand::random::<u32>());
    let made = store.create_schema_if_missing(&name).await.expect("schema");
    let again = store
        .create_schema_if_missing(&name)
        .await
        .expect("already there is fine");
    assert_eq!(made, again);
    let dir = tempfile::TempDir::new().expect("directory");
    let on_sqlite = store
        .snapshot_into(&dir.path().join("copy.db"))
        .await
        .expect("snapshot");
    assert_eq!(
        made, !on_sqlite,
        "a schema on PostgreSQL, nothing on SQLite"
    );
});

#[tokio::test]
async fn a_postgresql_backup_is_restored_with_pg_restore_into_an_empty_database_and_checked() {
    let Some(source_url) = postgres_url().await else {
        return;
    };
    let base = std::env::var("HERALD_TEST_DATABASE_URL").expect("set when postgres_url is");
    let schema = source_url
        .rsplit("search_path%3D")
        .next()
        .expect("the test's schema")
        .to_owned();
    let app = spawn_app_with({
        let url = source_url.clone();
        move |config| config.database.url = Some(url.into())
    })
    .await;
    let owner = set_up(&app, &SystemClock).await;
    let account = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let post = draft_id(&app, &owner, account, "Soup of the day, from PostgreSQL.").await;

    let dir = TempDir::new().expect("temporary directory");
    let taken = dir.path().join("backup");
    let (output, stdout, stderr) = run(herald()
        .arg("backup")
        .arg(&taken)
        .arg("--include-key")
        .arg("--data-dir")
        .arg(&app.data_dir)
        .env("HERALD_DATABASE_URL", &source_url));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(taken.join("herald.pgdump").is_file());

    // A new, empty database for the restore.
    let database = format!("herald_restore_{:016x}", rand::random::<u64>());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&admin)
        .await
        .expect("a new database");
    let target_url = url_of(&base, &database, &schema);
    let restored = dir.path().join("restored");

    // No target database named: refused, saying how to name one.
    let (ok, _, stderr) = restore_into(&taken, &restored, None);
    assert!(!ok);
    assert!(stderr.contains("--database-url"), "{stderr}");
    // The live database itself already holds Herald: refused, and it is untouched.
    let (ok, _, stderr) = restore_into(&taken, &restored, Some(&source_url));
    assert!(!ok);
    assert!(stderr.contains("already holds Herald's tables"), "{stderr}");
    // A target schema other than the backup's: refused, naming both.
    let elsewhere = url_of(&base, &database, "somewhere_else");
    let (ok, _, stderr) = restore_into(&taken, &restored, Some(&elsewhere));
    assert!(!ok);
    assert!(
        stderr.contains(&schema) && stderr.contains("somewhere_else"),
        "{stderr}"
    );
    assert!(!restored.join("master.key").exists(), "nothing left behind");

    // Another key: pg_restore runs, the canary check refuses it, and the message says what
    // is left to clean up; no key is left in the data directory.
    let wrong_key = dir.path().join("other.key");
    std::fs::write(
        &wrong_key,
        format!("v1:{}", hex::encode(rand::random::<[u8; 32]>())),
    )
    .expect("a key file");
    let scratch = format!("herald_restore_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&admin)
        .await
        .expect("a new database");
    let (output, _, stderr) = run(herald()
        .arg("restore")
        .arg(&taken)
        .arg("--data-dir")
        .arg(&restored)
        .arg("--key")
        .arg(&wrong_key)
        .env("HERALD_DATABASE_URL", url_of(&base, &scratch, &schema)));
    assert!(!output.status.success());
    assert!(
        stderr.contains("does not open this backup") && stderr.contains("must be dropped"),
        "{stderr}"
    );
    assert!(!restored.join("master.key").exists());
    let _ = sqlx::query(&format!("DROP DATABASE {scratch} WITH (FORCE)"))
        .execute(&admin)
        .await;

    // The empty database: restored, checked, and the audit log verifies there.
    let (ok, stdout, stderr) = restore_into(&taken, &restored, Some(&target_url));
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("pg_restore") && stdout.contains("the audit log verifies"),
        "{stdout}"
    );
    let (output, verified, stderr) = run(herald()
        .args(["audit", "verify", "--data-dir"])
        .arg(&restored)
        .env("HERALD_DATABASE_URL", &target_url));
    assert!(output.status.success(), "{verified}{stderr}");
    // A second restore into it is refused: it holds Herald now.
    let (ok, _, stderr) = restore_into(&taken, &dir.path().join("again"), Some(&target_url));
    assert!(!ok);
    assert!(stderr.contains("already holds Herald's tables"), "{stderr}");

    // Herald serves from it, to the same member's session.
    drop(app);
    let served = spawn_app_with({
        let (restored, url) = (restored.clone(), target_url.clone());
        move |config| {
            config.data_dir = restored;
            config.database.url = Some(url.into());
        }
    })
    .await;
    let read: Value = owner
        .get_json(&served, &format!("/api/v1/posts/{post}"))
        .await;
    assert_eq!(read["id"], post, "{read}");
    served.store.close().await;
    drop(served);
    let _ = sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&admin)
        .await;
    admin.close().await;
}
