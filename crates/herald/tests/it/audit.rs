//! The tamper-evident audit log: appends chain correctly on both backends, even concurrently;
//! `herald audit verify` passes an intact log and names the first entry that was changed,
//! deleted or reordered.

use ed25519_dalek::SigningKey;
use herald::domain::audit::{Actor, ChainError, NewAuditEntry};
use herald::services::audit;
use herald::store::Store;
use jiff::Timestamp;
use tempfile::TempDir;

use crate::helpers::{contract_test, herald, run, test_config};

fn event(n: usize) -> NewAuditEntry {
    NewAuditEntry {
        actor: Actor::User(herald::domain::ids::UserId::new(1)),
        action: "test.something_happened".to_owned(),
        target: Some(format!("thing:{n}")),
        ip: Some("127.0.0.1".to_owned()),
        details: serde_json::json!({ "n": n }),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("time")
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

async fn append(store: &Store, count: usize) {
    for n in 1..=count {
        store.append_audit(&event(n), now()).await.expect("append");
    }
}

contract_test!(
    an_appended_log_verifies_and_a_changed_entry_is_named,
    |store| {
        append(&store, 5).await;
        audit::checkpoint(&store, &key(), now())
            .await
            .expect("checkpoint")
            .expect("new checkpoint");
        let verified = audit::verify(&store, &key().verifying_key())
            .await
            .expect("intact");
        assert_eq!((verified.entries, verified.checkpoints), (5, 1));
        assert!(
            audit::checkpoint(&store, &key(), now())
                .await
                .expect("checkpoint")
                .is_none(),
            "nothing new to sign"
        );

        let entries = store
            .audit_entries(&herald::store::AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("read");
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[2].details, r#"{"n":3}"#);
        assert_eq!(entries[3].prev_hash, entries[2].hash);
    }
);

contract_test!(concurrent_appends_never_fork_the_chain, |store| {
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store.clone();
        writers.spawn(async move { append(&store, 25).await });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer finishes");
    }
    let verified = audit::verify(&store, &key().verifying_key())
        .await
        .expect("intact");
    assert_eq!(verified.entries, 100);
});

contract_test!(
    a_checkpoint_signed_with_another_key_fails_verification,
    |store| {
        append(&store, 3).await;
        audit::checkpoint(&store, &SigningKey::from_bytes(&[9; 32]), now())
            .await
            .expect("checkpoint");
        let result = audit::verify(&store, &key().verifying_key()).await;
        assert!(
            matches!(
                result,
                Err(audit::VerifyError::Chain(ChainError::BadSignature {
                    size: 3
                }))
            ),
            "{result:?}"
        );
    }
);

/// A server's data directory with five audit entries and a checkpoint, and no server running.
async fn installation() -> TempDir {
    let root = TempDir::new().expect("temporary directory");
    let config = test_config(root.path());
    let app = herald::server::App::build(config, std::sync::Arc::new(herald::clock::SystemClock))
        .await
        .expect("start");
    append(app.store(), 5).await;
    let key = audit::signing_key(app.master_key());
    audit::checkpoint(app.store(), &key, now())
        .await
        .expect("checkpoint");
    app.store().close().await;
    root
}

async fn tamper(root: &TempDir, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        root.path().join("data/herald.db").display()
    ))
    .await
    .expect("open database directly");
    sqlx::raw_sql(sql).execute(&pool).await.expect("tamper");
    pool.close().await;
}

fn verify(root: &TempDir) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald()
        .args(["audit", "verify", "--data-dir"])
        .arg(root.path().join("data")));
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn herald_audit_verify_passes_an_intact_log() {
    let root = installation().await;
    let (ok, stdout, stderr) = verify(&root);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("audit log intact: 5 entries"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 signed checkpoints (last at entry 5)"),
        "{stdout}"
    );
}

#[tokio::test]
async fn herald_audit_verify_names_a_changed_entry() {
    let root = installation().await;
    tamper(
        &root,
        r#"UPDATE audit_log SET details = '{"n":33}' WHERE seq = 3"#,
    )
    .await;
    let (ok, _, stderr) = verify(&root);
    assert!(!ok);
    assert!(
        stderr.contains("audit entry 3 does not match its hash: it was changed"),
        "{stderr}"
    );
}

#[tokio::test]
async fn herald_audit_verify_names_a_deleted_entry() {
    let root = installation().await;
    tamper(&root, "DELETE FROM audit_log WHERE seq = 2").await;
    let (ok, _, stderr) = verify(&root);
    assert!(!ok);
    assert!(stderr.contains("audit entry 2 is missing"), "{stderr}");
}

#[tokio::test]
async fn herald_audit_verify_catches_reordered_entries() {
    let root = installation().await;
    // Entries 2 and 3 trade places, each keeping its own content and hashes.
    tamper(
        &root,
        "CREATE TEMP TABLE copy AS SELECT * FROM audit_log;
         UPDATE audit_log
            SET (at, actor, action, target, ip, details, prev_hash, hash) =
                (SELECT at, actor, action, target, ip, details, prev_hash, hash
                   FROM copy WHERE copy.seq = 5 - audit_log.seq)
          WHERE seq IN (2, 3);",
    )
    .await;
    let (ok, _, stderr) = verify(&root);
    assert!(!ok);
    assert!(
        stderr.contains("audit entry 2 does not link to entry 1"),
        "{stderr}"
    );
}

#[tokio::test]
async fn herald_audit_verify_catches_entries_deleted_from_the_end() {
    let root = installation().await;
    tamper(&root, "DELETE FROM audit_log WHERE seq >= 4").await;
    let (ok, _, stderr) = verify(&root);
    assert!(!ok);
    assert!(
        stderr.contains("checkpoint at size 5 is beyond the end of the log (3 entries)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn herald_audit_verify_refuses_a_missing_installation() {
    let root = TempDir::new().expect("temporary directory");
    let (ok, _, stderr) = verify(&root);
    assert!(!ok);
    assert!(stderr.contains("cannot read master key file"), "{stderr}");
}

#[tokio::test]
async fn the_checkpoint_job_signs_every_five_minutes_and_herald_audit_verify_accepts_it() {
    use herald::clock::ManualClock;
    use herald::jobs::{
        AuditCheckpoint, CHECKPOINT_KIND, CHECKPOINT_PERIOD, Runner, schedule_recurring,
    };

    let root = TempDir::new().expect("temporary directory");
    let config = test_config(root.path());
    let clock = ManualClock::new(now());
    let app = herald::server::App::build(config.clone(), std::sync::Arc::new(clock.clone()))
        .await
        .expect("start");
    let store = app.store().clone();
    append(&store, 4).await;
    let mut runner = Runner::new(
        store.clone(),
        std::sync::Arc::new(clock.clone()),
        std::sync::Arc::new(herald::metrics::Metrics::new()),
        &config.jobs,
    );
    runner.register(
        CHECKPOINT_KIND,
        AuditCheckpoint::new(
            store.clone(),
            std::sync::Arc::new(clock.clone()),
            audit::signing_key(app.master_key()),
        ),
    );
    schedule_recurring(&store, CHECKPOINT_KIND, CHECKPOINT_PERIOD, now(), now())
        .await
        .expect("schedule");
    let summary = runner.run_once().await.expect("run due jobs");
    assert!(summary.done >= 1, "{summary:?}");

    let checkpoints = store.audit_checkpoints().await.expect("checkpoints");
    assert_eq!(checkpoints.iter().map(|c| c.size).collect::<Vec<_>>(), [4]);
    // The next run is scheduled at the next five-minute boundary, and not before: a tamperer
    // can rewrite at most the last five minutes' entries unseen.
    assert_eq!(
        runner.run_once().await.expect("step"),
        herald::jobs::RunSummary::default()
    );
    append(&store, 1).await;
    clock.advance(jiff::SignedDuration::from_mins(4));
    assert_eq!(
        runner.run_once().await.expect("step"),
        herald::jobs::RunSummary::default(),
        "not yet: four minutes on is before the boundary"
    );
    clock.advance(jiff::SignedDuration::from_mins(1));
    runner.run_once().await.expect("step");
    assert_eq!(
        store.audit_checkpoints().await.expect("checkpoints").len(),
        2
    );
    store.close().await;

    let (ok, stdout, stderr) = verify(&root);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("5 entries") && stdout.contains("2 signed checkpoints (last at entry 5)"),
        "{stdout}"
    );
}

#[tokio::test]
async fn stopping_herald_signs_a_checkpoint_of_the_entries_added_since_the_last_one() {
    let root = TempDir::new().expect("temporary directory");
    let mut config = test_config(root.path());
    // No job runs, so only the shutdown itself can sign the checkpoint.
    config.jobs.concurrency = 0;
    let app = herald::server::App::build(config, std::sync::Arc::new(herald::clock::SystemClock))
        .await
        .expect("start");
    let store = app.store().clone();
    append(&store, 3).await;
    let covered_before = store
        .audit_checkpoints()
        .await
        .expect("checkpoints")
        .last()
        .map_or(0, |checkpoint| checkpoint.size);
    assert!(
        covered_before < 3,
        "no checkpoint covers the new entries yet"
    );
    // Stopped at once, as SIGTERM would.
    app.run(async {}).await.expect("stops cleanly");

    let (ok, stdout, stderr) = verify(&root);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("(last at entry 3)"), "{stdout}");
}
