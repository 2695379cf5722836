//! The storage contract: every test here runs against SQLite, and against PostgreSQL when
//! `HERALD_TEST_DATABASE_URL` is set, so both backends behave the same.

use herald::domain::jobs::{JobId, JobState, NewJob};
use herald::store::{JobCounts, StoreError};
use jiff::{SignedDuration, Timestamp};

use crate::helpers::contract_test;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

fn job(kind: &str, run_at: Timestamp, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        payload: serde_json::json!({ "kind": kind }),
        run_at,
        dedupe_key: dedupe_key.map(str::to_owned),
        max_attempts: 3,
    }
}

const LEASE: SignedDuration = SignedDuration::from_secs(60);

contract_test!(
    the_database_answers_and_migrating_again_changes_nothing,
    |store| {
        store.ping().await.expect("ping");
        store.migrate().await.expect("second migration is a no-op");
        assert_eq!(
            store.job_counts().await.expect("counts"),
            JobCounts::default()
        );
    }
);

contract_test!(enqueuing_with_the_same_dedupe_key_yields_one_job, |store| {
    let first = store
        .enqueue_job(&job("test.a", at(0), Some("once")), at(0))
        .await
        .expect("enqueue");
    let second = store
        .enqueue_job(&job("test.a", at(5), Some("once")), at(1))
        .await
        .expect("enqueue again");
    let other = store
        .enqueue_job(&job("test.a", at(0), None), at(0))
        .await
        .expect("enqueue without key");
    assert_eq!(first, second);
    assert_ne!(first, other);
    assert_eq!(store.job_counts().await.expect("counts").queued, 2);
    let stored = store.find_job(first).await.expect("find").expect("exists");
    assert_eq!(stored.run_at, at(0), "the first enqueue wins");
    assert_eq!(stored.payload, serde_json::json!({ "kind": "test.a" }));
    assert_eq!(stored.state, JobState::Queued);
});

contract_test!(
    only_due_jobs_are_claimed_in_order_and_each_only_once,
    |store| {
        let later = store
            .enqueue_job(&job("t", at(100), None), at(0))
            .await
            .expect("enqueue");
        let second = store
            .enqueue_job(&job("t", at(10), None), at(0))
            .await
            .expect("enqueue");
        let first = store
            .enqueue_job(&job("t", at(5), None), at(0))
            .await
            .expect("enqueue");

        let claimed = store
            .claim_jobs("worker-a", at(50), LEASE, 10)
            .await
            .expect("claim");
        let ids: Vec<JobId> = claimed.iter().map(|job| job.id).collect();
        assert_eq!(ids, [first, second]);
        assert!(
            claimed
                .iter()
                .all(|job| job.attempts == 1 && job.state == JobState::Running)
        );

        let again = store
            .claim_jobs("worker-b", at(51), LEASE, 10)
            .await
            .expect("claim");
        assert!(again.is_empty(), "claimed jobs are not handed out twice");

        let third = store
            .claim_jobs("worker-b", at(100), LEASE, 10)
            .await
            .expect("claim");
        assert_eq!(third.iter().map(|job| job.id).collect::<Vec<_>>(), [later]);
    }
);

contract_test!(the_claim_limit_is_respected, |store| {
    for _ in 0..5 {
        store
            .enqueue_job(&job("t", at(0), None), at(0))
            .await
            .expect("enqueue");
    }
    assert_eq!(
        store
            .claim_jobs("w", at(1), LEASE, 2)
            .await
            .expect("claim")
            .len(),
        2
    );
    assert_eq!(
        store
            .claim_jobs("w", at(1), LEASE, 10)
            .await
            .expect("claim")
            .len(),
        3
    );
});

contract_test!(
    a_job_whose_lease_ran_out_is_taken_over_and_the_old_worker_cannot_settle_it,
    |store| {
        let id = store
            .enqueue_job(&job("t", at(0), None), at(0))
            .await
            .expect("enqueue");
        store
            .claim_jobs("stalled", at(1), LEASE, 1)
            .await
            .expect("claim");
        assert!(
            store
                .claim_jobs("fresh", at(60), LEASE, 1)
                .await
                .expect("claim")
                .is_empty()
        );

        let taken = store
            .claim_jobs("fresh", at(61), LEASE, 1)
            .await
            .expect("claim");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].attempts, 2, "the lost attempt is counted");

        let late = store.complete_job(id, "stalled", at(62)).await;
        assert!(matches!(late, Err(StoreError::LeaseLost)), "got {late:?}");
        store
            .complete_job(id, "fresh", at(63))
            .await
            .expect("owner completes");
        assert_eq!(
            store
                .find_job(id)
                .await
                .expect("find")
                .expect("exists")
                .state,
            JobState::Done
        );
    }
);

contract_test!(
    retried_jobs_wait_for_their_new_time_and_keep_the_error,
    |store| {
        let id = store
            .enqueue_job(&job("t", at(0), None), at(0))
            .await
            .expect("enqueue");
        store.claim_jobs("w", at(0), LEASE, 1).await.expect("claim");
        store
            .retry_job(id, "w", at(30), "network said 503", at(1))
            .await
            .expect("retry");

        let stored = store.find_job(id).await.expect("find").expect("exists");
        assert_eq!(stored.state, JobState::Queued);
        assert_eq!(stored.run_at, at(30));
        assert_eq!(stored.last_error.as_deref(), Some("network said 503"));
        assert!(
            store
                .claim_jobs("w", at(29), LEASE, 1)
                .await
                .expect("claim")
                .is_empty()
        );
        assert_eq!(
            store
                .claim_jobs("w", at(30), LEASE, 1)
                .await
                .expect("claim")
                .len(),
            1
        );
    }
);

contract_test!(
    buried_jobs_are_counted_as_dead_and_never_claimed_again,
    |store| {
        let id = store
            .enqueue_job(&job("t", at(0), None), at(0))
            .await
            .expect("enqueue");
        store.claim_jobs("w", at(0), LEASE, 1).await.expect("claim");
        store
            .bury_job(id, "w", "gave up", at(1))
            .await
            .expect("bury");
        assert!(
            store
                .claim_jobs("w", at(10_000), LEASE, 1)
                .await
                .expect("claim")
                .is_empty()
        );
        let counts = store.job_counts().await.expect("counts");
        assert_eq!(
            counts,
            JobCounts {
                dead: 1,
                ..JobCounts::default()
            }
        );
    }
);

contract_test!(pruning_deletes_only_old_finished_jobs, |store| {
    let old = store
        .enqueue_job(&job("t", at(0), None), at(0))
        .await
        .expect("enqueue");
    let recent = store
        .enqueue_job(&job("t", at(0), None), at(0))
        .await
        .expect("enqueue");
    let dead = store
        .enqueue_job(&job("t", at(0), None), at(0))
        .await
        .expect("enqueue");
    store.claim_jobs("w", at(0), LEASE, 3).await.expect("claim");
    store.complete_job(old, "w", at(1)).await.expect("complete");
    store
        .complete_job(recent, "w", at(100))
        .await
        .expect("complete");
    store
        .bury_job(dead, "w", "failed", at(1))
        .await
        .expect("bury");

    assert_eq!(store.prune_done_jobs(at(50)).await.expect("prune"), 1);
    assert!(store.find_job(old).await.expect("find").is_none());
    assert!(store.find_job(recent).await.expect("find").is_some());
    assert!(store.find_job(dead).await.expect("find").is_some());
});

contract_test!(concurrent_workers_never_claim_the_same_job, |store| {
    for _ in 0..200 {
        store
            .enqueue_job(&job("t", at(0), None), at(0))
            .await
            .expect("enqueue");
    }
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let store = store.clone();
        workers.spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_jobs(&name, at(1), LEASE, 7)
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|job| job.id));
            }
        });
    }
    let mut all: Vec<JobId> = Vec::new();
    while let Some(ids) = workers.join_next().await {
        all.extend(ids.expect("worker finishes"));
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, 200, "every job claimed");
    assert_eq!(all.len(), 200, "no job claimed twice");
});
