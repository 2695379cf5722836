//! The storage API for notifications, policy versions and acknowledgements, and posts, run on
//! both backends: the same calls must mean the same on SQLite and PostgreSQL.

use herald::domain::ids::PostId;
use herald::domain::posts::PostState;
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("time")
}

contract_test!(a_post_steps_only_from_the_state_its_caller_saw, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    let id = store
        .create_post(account, owner, "Hello", at(1))
        .await
        .expect("post");
    assert!(
        store
            .set_post_text(id, "Hello there", at(2))
            .await
            .expect("edit")
    );
    assert!(
        store
            .step_post(
                id,
                PostState::Draft,
                PostState::Submitted,
                owner,
                "submitted",
                at(3)
            )
            .await
            .expect("step")
    );
    assert!(
        !store
            .step_post(
                id,
                PostState::Draft,
                PostState::Submitted,
                owner,
                "again",
                at(4)
            )
            .await
            .expect("stale step"),
        "a step from a state the post has left changes nothing"
    );
    assert!(
        !store
            .set_post_text(id, "too late", at(5))
            .await
            .expect("edit"),
        "only drafts change text"
    );
    let post = store.post(id).await.expect("read").expect("post");
    assert_eq!(
        (post.state, post.text.as_str()),
        (PostState::Submitted, "Hello there")
    );
    let submitted = store
        .posts_in_state(PostState::Submitted, 10)
        .await
        .expect("submitted");
    assert_eq!(
        submitted.iter().map(|post| post.id).collect::<Vec<_>>(),
        [id]
    );
    assert!(
        store
            .posts_in_state(PostState::Draft, 10)
            .await
            .expect("drafts")
            .is_empty()
    );
    assert_eq!(store.posts_by(owner, 10).await.expect("mine").len(), 1);
    let history = store.post_history(id).await.expect("history");
    let notes: Vec<&str> = history.iter().map(|event| event.note.as_str()).collect();
    assert_eq!(notes, ["drafted", "submitted"]);
    assert_eq!(history[1].from_state.as_deref(), Some("draft"));
});

contract_test!(
    policy_versions_count_up_and_acknowledgements_keep_the_first_time,
    |store| {
        let (owner, _) = owner_and_account(&store, at(0)).await;
        assert_eq!(store.policy_version().await.expect("version"), None);
        assert_eq!(
            store
                .save_policy_rules("[terms]", owner, at(1))
                .await
                .expect("save"),
            1
        );
        assert_eq!(
            store
                .save_policy_rules("", owner, at(2))
                .await
                .expect("save"),
            2
        );
        assert_eq!(
            store.policy_rules().await.expect("rules"),
            Some((2, String::new()))
        );
        let version = store
            .publish_policy_document("Be kind.", owner, at(3))
            .await
            .expect("publish");
        store
            .acknowledge_policy(owner, version, at(4))
            .await
            .expect("ack");
        store
            .acknowledge_policy(owner, version, at(9))
            .await
            .expect("ack again");
        assert_eq!(
            store.policy_acknowledgements(version).await.expect("acks"),
            [(owner, at(4))]
        );
        let document = store
            .policy_document()
            .await
            .expect("doc")
            .expect("published");
        assert_eq!(
            (document.version, document.markdown.as_str()),
            (1, "Be kind.")
        );
    }
);

contract_test!(notifications_and_rotation_requests_are_kept_once, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    store
        .add_notification(owner, "Subject", "Body", Some("/accounts/1"), at(1))
        .await
        .expect("notify");
    let unread = store.notifications_of(owner, 10).await.expect("list");
    assert_eq!(unread.len(), 1);
    assert!(unread[0].read_at.is_none());
    assert_eq!(
        store
            .mark_notifications_read(owner, at(2))
            .await
            .expect("read"),
        1
    );
    assert_eq!(
        store
            .mark_notifications_read(owner, at(3))
            .await
            .expect("read"),
        0
    );
    assert!(
        store
            .request_rotation(account, "breached", "d", at(4))
            .await
            .expect("ask")
    );
    assert!(
        !store
            .request_rotation(account, "breached", "d", at(5))
            .await
            .expect("ask again"),
        "one open request per reason"
    );
});

contract_test!(
    an_account_s_posts_since_a_time_are_its_own_timed_ones_in_the_states_asked_oldest_first,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let other = store
            .create_account(
                &herald::store::NewAccount {
                    network: herald::domain::accounts::Network::Bluesky,
                    handle: "shop.bsky.social",
                    display_name: "Shop",
                    avatar_colour: "#654321",
                    gatekeeper_id: owner,
                    confirm_before_publish: false,
                },
                at(0),
            )
            .await
            .expect("second account");
        let timed = |account, text: &'static str, time: Option<i64>| {
            let store = store.clone();
            async move {
                let id = store
                    .create_post(account, owner, text, at(1))
                    .await
                    .expect("post");
                let audit = herald::domain::audit::NewAuditEntry {
                    actor: herald::domain::audit::Actor::User(owner),
                    action: "post.time_wished".to_owned(),
                    target: Some(format!("post:{id}")),
                    ip: None,
                    details: serde_json::json!({}),
                };
                let change = herald::store::TimeChange {
                    id,
                    state: PostState::Draft,
                    at: time.map(at),
                    actor_id: owner,
                    note: "time wished",
                    audit: &audit,
                    now: at(2),
                };
                assert!(store.set_post_time(&change).await.expect("time"));
                id
            }
        };
        let later = timed(account, "later", Some(300)).await;
        let _untimed = timed(account, "no time", None).await;
        let _before = timed(account, "before", Some(50)).await;
        let _elsewhere = timed(other, "other account", Some(200)).await;
        let sooner = timed(account, "sooner", Some(100)).await;
        let at_from = timed(account, "at the start", Some(60)).await;

        for id in [sooner, later] {
            assert!(
                store
                    .step_post(id, PostState::Draft, PostState::Submitted, owner, "", at(3))
                    .await
                    .expect("submit")
            );
        }

        let ids = |states: &'static [PostState]| {
            let store = store.clone();
            async move {
                let posts = store
                    .account_posts_since(account, at(60), states)
                    .await
                    .expect("posts");
                posts.iter().map(|post| post.id).collect::<Vec<PostId>>()
            }
        };
        assert_eq!(
            ids(&[PostState::Draft, PostState::Submitted]).await,
            vec![at_from, sooner, later]
        );
        assert_eq!(ids(&[PostState::Submitted]).await, vec![sooner, later]);
        assert!(ids(&[]).await.is_empty());
    }
);

contract_test!(
    a_checked_step_moves_a_post_only_at_the_version_its_caller_read,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let id = store
            .create_post(account, owner, "Hello", at(1))
            .await
            .expect("post");
        let read = store.post(id).await.expect("read").expect("post");
        assert_eq!(read.version, 1);
        assert!(
            store
                .set_post_text(id, "Hello there", at(2))
                .await
                .expect("edit")
        );
        let audit = [herald::domain::audit::NewAuditEntry {
            actor: herald::domain::audit::Actor::User(owner),
            action: "post.submitted".to_owned(),
            target: Some(format!("post:{id}")),
            ip: None,
            details: serde_json::json!({ "version": 1 }),
        }];
        let steps = [
            (PostState::Draft, PostState::Submitted, "submitted"),
            (PostState::Submitted, PostState::Approved, "approved"),
        ];
        let checked = |version| herald::store::CheckedSteps {
            id,
            version,
            steps: &steps,
            actor_id: owner,
            audit: &audit,
            now: at(3),
        };
        assert!(
            !store.step_post_checked(&checked(1)).await.expect("stale"),
            "the text changed since version 1"
        );
        let post = store.post(id).await.expect("read").expect("post");
        assert_eq!((post.state, post.version), (PostState::Draft, 2));
        let logged = |store: herald::store::Store| async move {
            let filter = herald::store::AuditFilter {
                action_prefix: Some("post.".to_owned()),
                limit: 10,
                ..Default::default()
            };
            store.audit_entries(&filter).await.expect("audit").len()
        };
        assert_eq!(logged(store.clone()).await, 0, "nothing audited");

        assert!(store.step_post_checked(&checked(2)).await.expect("step"));
        let post = store.post(id).await.expect("read").expect("post");
        assert_eq!(post.state, PostState::Approved);
        let history = store.post_history(id).await.expect("history");
        let notes: Vec<&str> = history.iter().map(|event| event.note.as_str()).collect();
        assert_eq!(notes, ["drafted", "submitted", "approved"]);
        assert_eq!(logged(store.clone()).await, 1, "audited with the step");
        assert!(
            store
                .request_rotation(account, "gatekeeper_changed", "d", at(4))
                .await
                .expect("a rotation for a reassigned gatekeeper")
        );
    }
);
