//! The storage contract for the posts' lists and publishing facts, the job queue's leases and
//! counts, and the incident steps that move posts. Each test runs on SQLite and on PostgreSQL.

use herald::domain::ids::{AccountId, PostId, UserId};
use herald::domain::jobs::NewJob;
use herald::domain::posts::PostState;
use herald::store::{NewIncident, PostQuery, Store};
use jiff::{SignedDuration, Timestamp};

use crate::helpers::{contract_test, owner_and_account};
use crate::publishing::scheduled_in_store;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

async fn draft(store: &Store, account: AccountId, owner: UserId, text: &str) -> PostId {
    store
        .create_post(account, owner, text, at(1))
        .await
        .expect("post")
}

async fn submit(store: &Store, post: PostId, owner: UserId) {
    assert!(
        store
            .step_post(
                post,
                PostState::Draft,
                PostState::Submitted,
                owner,
                "",
                at(2)
            )
            .await
            .expect("submit")
    );
}

contract_test!(
    posts_are_matched_by_state_author_and_time_a_page_at_a_time,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let mut scheduled = Vec::new();
        for minute in [10, 20, 30] {
            scheduled.push(
                scheduled_in_store(
                    &store,
                    account,
                    owner,
                    &format!("at {minute}"),
                    at(minute * 60),
                    3,
                    at(1),
                )
                .await,
            );
        }
        let waiting = draft(&store, account, owner, "waiting").await;
        submit(&store, waiting, owner).await;

        let query = PostQuery {
            accounts: vec![account],
            state: Some(PostState::Scheduled),
            author_id: Some(owner),
            from: Some(at(15 * 60)),
            to: None,
            limit: 1,
            offset: 0,
        };
        let (page, total) = store.posts_matching(&query).await.expect("match");
        assert_eq!(total, 2, "the 20 and 30 minute posts");
        assert_eq!(page.len(), 1);
        let (rest, _) = store
            .posts_matching(&PostQuery {
                offset: 1,
                ..query.clone()
            })
            .await
            .expect("match");
        let mut seen = vec![page[0].id, rest[0].id];
        seen.sort();
        assert_eq!(seen, scheduled[1..].to_vec());
        let nobody = PostQuery {
            accounts: Vec::new(),
            ..query
        };
        assert_eq!(store.posts_matching(&nobody).await.expect("match").1, 0);

        let between = store
            .posts_between(at(0), at(25 * 60), 10)
            .await
            .expect("between");
        let ids: Vec<PostId> = between.iter().map(|post| post.id).collect();
        assert_eq!(ids, scheduled[..2].to_vec());
        assert_eq!(
            store
                .taken_times(account, at(15 * 60))
                .await
                .expect("taken"),
            [at(20 * 60), at(30 * 60)].into_iter().collect()
        );
        let counts = store.post_counts().await.expect("counts");
        assert!(counts.contains(&("scheduled".to_owned(), 3)), "{counts:?}");
        assert!(counts.contains(&("submitted".to_owned(), 1)), "{counts:?}");
    }
);

contract_test!(
    a_post_to_publish_carries_its_attempts_and_first_start,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let post = scheduled_in_store(&store, account, owner, "soon", at(60), 3, at(1)).await;
        let (record, images) = store
            .post_to_publish(post)
            .await
            .expect("read")
            .expect("post");
        assert_eq!((record.id, images), (post, 0));
        assert_eq!(store.first_attempt_at(post).await.expect("first"), None);
        store
            .start_attempt(post, PostState::Scheduled, "w1", "publishing", at(60))
            .await
            .expect("start")
            .expect("started");
        assert_eq!(
            store.first_attempt_at(post).await.expect("first"),
            Some(at(60))
        );
        assert_eq!(
            store.posts_in_flight(account).await.expect("in flight"),
            vec![post]
        );
        assert!(
            store
                .post_to_publish(PostId::new(post.get() + 100))
                .await
                .expect("read")
                .is_none()
        );
    }
);

contract_test!(
    a_lockdown_sends_pending_approvals_back_and_the_incident_is_owned_and_recovered,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let waiting = draft(&store, account, owner, "please approve").await;
        submit(&store, waiting, owner).await;
        let other = draft(&store, account, owner, "still a draft").await;
        let sent_back = store
            .cancel_pending_approvals(account, owner, "locked down", at(5))
            .await
            .expect("cancel");
        assert_eq!(sent_back, vec![waiting]);
        assert_eq!(store_state(&store, waiting).await, PostState::Draft);
        assert_eq!(store_state(&store, other).await, PostState::Draft);

        let (incident, opened) = store
            .open_incident(
                &NewIncident {
                    account_id: account,
                    opened_by: "lockdown",
                    opened_by_user: Some(owner),
                    owner_id: None,
                    drill: false,
                    summary: "test",
                },
                at(6),
            )
            .await
            .expect("open");
        assert!(opened);
        store
            .set_incident_owner(incident.id, owner)
            .await
            .expect("owner");
        store
            .mark_recovered(incident.id, at(9))
            .await
            .expect("recovered");
        store
            .mark_recovered(incident.id, at(12))
            .await
            .expect("again");
        let kept = store
            .incident(incident.id)
            .await
            .expect("read")
            .expect("incident");
        assert_eq!(kept.owner_id, Some(owner));
        assert_eq!(
            kept.recovered_at,
            Some(at(9)),
            "the first recovery time stays"
        );
    }
);

async fn store_state(store: &Store, post: PostId) -> PostState {
    store.post(post).await.expect("read").expect("post").state
}

contract_test!(
    a_lease_is_extended_only_by_its_holder_and_pending_jobs_are_counted,
    |store| {
        let job = |kind: &str| NewJob {
            kind: kind.to_owned(),
            payload: serde_json::json!({}),
            run_at: at(0),
            dedupe_key: None,
            max_attempts: 3,
        };
        for kind in ["mail.send", "mail.send", "other"] {
            store.enqueue_job(&job(kind), at(0)).await.expect("enqueue");
        }
        assert_eq!(store.pending_jobs("mail.send").await.expect("pending"), 2);
        assert_eq!(
            store
                .pending_jobs_of("mail.send", 1)
                .await
                .expect("pending")
                .len(),
            1
        );
        assert_eq!(
            store
                .pending_jobs_of("mail.send", 10)
                .await
                .expect("pending")
                .len(),
            2
        );

        let claimed = store
            .claim_jobs("w1", at(1), SignedDuration::from_secs(60), 1)
            .await
            .expect("claim");
        let id = claimed[0].id;
        assert!(store.extend_lease(id, "w1", at(120)).await.expect("extend"));
        assert!(
            !store.extend_lease(id, "w2", at(180)).await.expect("extend"),
            "not theirs"
        );
        let again = store
            .claim_jobs("w2", at(90), SignedDuration::from_secs(60), 10)
            .await
            .expect("claim");
        assert!(
            again.iter().all(|job| job.id != id),
            "the extended lease still holds at 90 s"
        );
    }
);
