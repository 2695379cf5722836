//! The storage contract for staff and their own networks (issue 23): members' own profiles,
//! suggested share words and share clicks, the policy's examples, the staff course's versions
//! and attempts. Each test runs on SQLite and on PostgreSQL.

use herald::store::{NewStaffProfile, NewTrainingResult, StoreError};
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

contract_test!(profiles_are_each_members_own_and_listed_once, |store| {
    let (owner, _) = owner_and_account(&store, at(0)).await;
    let profile = NewStaffProfile {
        user_id: owner,
        network: "linkedin",
        handle: "jane-doe",
        link: "https://www.linkedin.com/in/jane-doe",
        purpose: "represents",
        lookalike: Some("the company's @shop (a letter changed)"),
    };
    let id = store.add_staff_profile(&profile, at(1)).await.expect("add");
    let twice = store.add_staff_profile(&profile, at(2)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let mine = store.staff_profiles_of(owner).await.expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, id);
    assert_eq!(
        mine[0].lookalike.as_deref(),
        Some("the company's @shop (a letter changed)")
    );
    assert_eq!(mine[0].created_at, at(1));
    assert_eq!(store.all_staff_profiles().await.expect("all"), mine);
    let stranger = herald::domain::ids::UserId::new(owner.get() + 1000);
    assert!(
        !store
            .remove_staff_profile(id, stranger)
            .await
            .expect("remove"),
        "only its member removes it"
    );
    assert!(store.remove_staff_profile(id, owner).await.expect("remove"));
    assert!(
        store
            .staff_profiles_of(owner)
            .await
            .expect("mine")
            .is_empty()
    );
});

contract_test!(
    shares_are_counted_per_post_member_and_network_with_the_suggested_words,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let post = store
            .create_post(account, owner, "Leek soup", at(1))
            .await
            .expect("post");
        store
            .set_share_text(post, Some("Our soup is back"), owner, at(2))
            .await
            .expect("suggest");
        store
            .set_share_text(post, Some("Our leek soup is back"), owner, at(3))
            .await
            .expect("suggest again");
        assert_eq!(
            store.share_texts().await.expect("texts"),
            [(post, "Our leek soup is back".to_owned())]
        );
        for (network, second) in [("linkedin", 4), ("linkedin", 5), ("x", 6)] {
            store
                .record_share(post, owner, network, at(second))
                .await
                .expect("share");
        }
        let counts = store.share_counts().await.expect("counts");
        let summary: Vec<(&str, i64)> = counts
            .iter()
            .map(|count| (count.network.as_str(), count.count))
            .collect();
        assert_eq!(summary, [("linkedin", 2), ("x", 1)]);
        assert!(
            counts
                .iter()
                .all(|count| count.post_id == post && count.user_id == owner)
        );
        store
            .set_share_text(post, None, owner, at(7))
            .await
            .expect("clear");
        assert!(store.share_texts().await.expect("texts").is_empty());
    }
);

contract_test!(
    the_course_is_versioned_and_attempts_give_each_members_standing,
    |store| {
        let (owner, _) = owner_and_account(&store, at(0)).await;
        assert_eq!(store.training_course().await.expect("course"), None);
        let first = store
            .publish_training_course("# One", owner, at(1))
            .await
            .expect("publish");
        let second = store
            .publish_training_course("# Two", owner, at(2))
            .await
            .expect("publish");
        assert_eq!(second, first + 1);
        let course = store.training_course().await.expect("course").expect("one");
        assert_eq!(
            (course.version, course.markdown.as_str()),
            (second, "# Two")
        );

        let attempt = |passed: bool, policy_version: i64| NewTrainingResult {
            user_id: owner,
            course_version: second,
            policy_version,
            right: if passed { 3 } else { 1 },
            total: 3,
            passed,
        };
        store
            .record_training_result(&attempt(true, 1), at(3))
            .await
            .expect("record");
        store
            .record_training_result(&attempt(false, 2), at(4))
            .await
            .expect("record");
        assert!(store.passed_training(owner, 1).await.expect("passed"));
        assert!(!store.passed_training(owner, 2).await.expect("passed"));
        let standing = store.training_standing().await.expect("standing");
        assert_eq!(standing.len(), 1);
        let (latest, passed) = &standing[0];
        assert_eq!(
            (latest.right, latest.passed, latest.completed_at),
            (1, false, at(4))
        );
        let passed = passed.as_ref().expect("passed once");
        assert_eq!((passed.policy_version, passed.completed_at), (1, at(3)));
    }
);

contract_test!(policy_examples_are_added_listed_and_removed, |store| {
    let (owner, _) = owner_and_account(&store, at(0)).await;
    let bad = store
        .add_policy_example(
            "Call Ann on 07700 900123",
            "bad",
            "A customer's number",
            owner,
            at(1),
        )
        .await
        .expect("add");
    store
        .add_policy_example("Soup is back", "good", "News only", owner, at(2))
        .await
        .expect("add");
    let examples = store.policy_examples().await.expect("examples");
    let verdicts: Vec<&str> = examples
        .iter()
        .map(|example| example.verdict.as_str())
        .collect();
    assert_eq!(verdicts, ["bad", "good"]);
    assert_eq!(examples[0].created_at, at(1));
    assert!(store.remove_policy_example(bad).await.expect("remove"));
    assert!(!store.remove_policy_example(bad).await.expect("again"));
    assert_eq!(store.policy_examples().await.expect("examples").len(), 1);
});

contract_test!(
    a_policy_version_may_ask_for_everyones_profiles_and_a_member_may_say_they_have_none,
    |store| {
        let (owner, _) = owner_and_account(&store, at(0)).await;
        let first = store
            .publish_policy_document("Be kind.", owner, at(1))
            .await
            .expect("first");
        let document = store.policy_document().await.expect("read").expect("one");
        assert!(!document.asks_for_staff_profiles);
        let second = store
            .publish_policy_document("Be kind; list your profiles.", owner, at(2))
            .await
            .expect("second");
        store.ask_for_staff_profiles(second).await.expect("ask");
        store
            .ask_for_staff_profiles(second)
            .await
            .expect("twice is once");
        let document = store.policy_document().await.expect("read").expect("one");
        assert_eq!(document.version, second);
        assert!(document.asks_for_staff_profiles);
        assert_ne!(first, second);

        assert!(
            store
                .members_without_own_profiles()
                .await
                .expect("none yet")
                .is_empty()
        );
        store
            .set_no_staff_profiles(owner, Some(at(3)))
            .await
            .expect("say none");
        store
            .set_no_staff_profiles(owner, Some(at(4)))
            .await
            .expect("again");
        assert_eq!(
            store.members_without_own_profiles().await.expect("one"),
            vec![(owner, at(4))]
        );
        store
            .set_no_staff_profiles(owner, None)
            .await
            .expect("take back");
        assert!(
            store
                .members_without_own_profiles()
                .await
                .expect("gone")
                .is_empty()
        );
    }
);
