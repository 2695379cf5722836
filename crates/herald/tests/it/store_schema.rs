//! The storage contract for the schema and the audit log's checkpoints: opening, migrating one
//! step at a time, refusing a newer schema, the SQLite snapshot. Each test runs on SQLite and on
//! PostgreSQL.

use herald::domain::audit::Checkpoint;
use jiff::Timestamp;

use crate::helpers::contract_test;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

contract_test!(
    a_migrated_store_has_nothing_pending_and_refuses_nothing,
    |store| {
        let version = store.schema_version().await.expect("version");
        assert!(version >= 27, "every migration ran: {version}");
        assert!(
            store
                .pending_migrations()
                .await
                .expect("pending")
                .is_empty()
        );
        store.migrate_up_to(version).await.expect("nothing to do");
        store
            .refuse_newer_schema()
            .await
            .expect("this Herald knows its schema");
    }
);

contract_test!(a_checkpoint_is_kept_and_its_signature_replaced, |store| {
    assert_eq!(store.audit_checkpointed_size().await.expect("size"), None);
    let checkpoint = Checkpoint {
        size: 0,
        head_hash: [0; 32],
        signature: [1; 64],
        at: at(1),
    };
    store.add_audit_checkpoint(&checkpoint).await.expect("add");
    assert_eq!(
        store.audit_checkpointed_size().await.expect("size"),
        Some(0)
    );
    store
        .resign_audit_checkpoint(0, [2; 64])
        .await
        .expect("resign");
    let kept = store.audit_checkpoints().await.expect("list");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].signature, [2; 64]);
});

contract_test!(a_snapshot_is_taken_on_sqlite_only, |store| {
    let dir = tempfile::TempDir::new().expect("directory");
    let path = dir.path().join("snapshot.db");
    let taken = store.snapshot_into(&path).await.expect("snapshot");
    assert_eq!(
        taken,
        path.exists(),
        "a snapshot is written when one is taken"
    );
    if taken {
        let copy = herald::store::Store::open_sqlite(&path, 1, std::time::Duration::from_secs(5))
            .await
            .expect("the snapshot opens");
        assert_eq!(
            copy.schema_version().await.expect("version"),
            store.schema_version().await.expect("version")
        );
    }
});
