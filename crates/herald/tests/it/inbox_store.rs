//! The inbox's storage contract, on SQLite and (when `HERALD_TEST_DATABASE_URL` is set)
//! PostgreSQL: each item once per account, the list newest first with its filters and
//! keyset pages, an item's history, and where reading each account got to.

use herald::domain::ids::{AccountId, UserId};
use herald::domain::inbox::{ItemKind, ItemState, JudgedLink, Verdict};
use herald::store::{InboxEventRecord, InboxQuery, NewInboxItem, Store};
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

fn item(account_id: AccountId, key: &str, second: i64) -> NewInboxItem {
    NewInboxItem {
        account_id,
        network_key: key.to_owned(),
        kind: ItemKind::Mention,
        author_id: "42".to_owned(),
        author_handle: "@fan@example.social".to_owned(),
        author_name: "Fan <script>".to_owned(),
        text: format!("item {key}"),
        text_cut: false,
        url: Some("https://example.social/@fan/1".to_owned()),
        reply_to: Some("{\"status\":\"1\"}".to_owned()),
        links: vec![JudgedLink {
            url: "https://evil.example/x".to_owned(),
            verdict: Verdict::Dangerous,
            destination: None,
            reasons: vec!["listed in a threat feed".to_owned()],
        }],
        verdict: Verdict::Safe,
        reasons: Vec::new(),
        impostor: false,
        received_at: at(second),
    }
}

async fn second_account(store: &Store, owner: UserId) -> AccountId {
    let account = herald::store::NewAccount {
        network: herald::domain::accounts::Network::Bluesky,
        handle: "shop.example",
        display_name: "Shop",
        avatar_colour: "#654321",
        gatekeeper_id: owner,
        confirm_before_publish: false,
    };
    store
        .create_account(&account, at(0))
        .await
        .expect("account")
}

contract_test!(an_item_is_kept_once_per_account_and_network_key, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    let other = second_account(&store, owner).await;
    assert!(
        store
            .add_inbox_item(&item(account, "n1", 1), at(1))
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_inbox_item(&item(account, "n1", 2), at(2))
            .await
            .expect("again"),
        "the same key again is not a second item"
    );
    assert!(
        store
            .add_inbox_item(&item(other, "n1", 1), at(3))
            .await
            .expect("other"),
        "another account may have an item with the same key"
    );
    let all = store
        .inbox_items(&InboxQuery {
            accounts: vec![account, other],
            limit: 50,
            ..InboxQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 2);
    let first = all.iter().find(|i| i.account_id == account).expect("first");
    assert_eq!(first.received_at, at(1), "the first read's item is kept");
    assert_eq!(first.author_name, "Fan <script>");
    assert_eq!(first.links[0].verdict, Verdict::Dangerous);
    assert_eq!(first.state, ItemState::Open);
    assert_eq!(
        store.inbox_item(first.id).await.expect("one").as_ref(),
        Some(first)
    );
});

contract_test!(
    the_list_is_newest_first_filtered_and_paged_within_the_accounts_given,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let other = second_account(&store, owner).await;
        for n in 0..5 {
            let mut new = item(account, &format!("a{n}"), n);
            if n % 2 == 0 {
                new.kind = ItemKind::Follower;
                new.verdict = Verdict::Suspicious;
            }
            store.add_inbox_item(&new, at(10)).await.expect("add");
        }
        store
            .add_inbox_item(&item(other, "hidden", 100), at(10))
            .await
            .expect("add");
        let query = InboxQuery {
            accounts: vec![account],
            limit: 2,
            ..InboxQuery::default()
        };
        let first = store.inbox_items(&query).await.expect("page 1");
        let keys: Vec<&str> = first.iter().map(|i| i.network_key.as_str()).collect();
        assert_eq!(keys, ["a4", "a3"], "newest first, other accounts left out");
        let last = first.last().expect("last");
        let second = store
            .inbox_items(&InboxQuery {
                before: Some((last.received_at, last.id)),
                ..query.clone()
            })
            .await
            .expect("page 2");
        let keys: Vec<&str> = second.iter().map(|i| i.network_key.as_str()).collect();
        assert_eq!(keys, ["a2", "a1"]);
        let followers = store
            .inbox_items(&InboxQuery {
                kind: Some(ItemKind::Follower),
                verdict: Some(Verdict::Suspicious),
                state: Some(ItemState::Open),
                limit: 10,
                ..query.clone()
            })
            .await
            .expect("filtered");
        assert_eq!(followers.len(), 3);
        assert!(
            store
                .inbox_items(&InboxQuery {
                    accounts: Vec::new(),
                    limit: 10,
                    ..InboxQuery::default()
                })
                .await
                .expect("none")
                .is_empty(),
            "no accounts, no items"
        );
        assert_eq!(store.open_inbox_count(&[account]).await.expect("count"), 5);
        assert_eq!(
            store
                .open_inbox_count(&[account, other])
                .await
                .expect("count"),
            6
        );
    }
);

contract_test!(
    state_assignee_and_history_change_together_in_a_unit_of_work,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        store
            .add_inbox_item(&item(account, "n1", 1), at(1))
            .await
            .expect("add");
        let id = store
            .inbox_items(&InboxQuery {
                accounts: vec![account],
                limit: 1,
                ..InboxQuery::default()
            })
            .await
            .expect("list")[0]
            .id;
        let work = store.write().await.expect("work");
        work.set_inbox_item(id, ItemState::Done, Some(owner), at(5))
            .await
            .expect("set");
        let event = InboxEventRecord {
            at: at(5),
            actor_id: Some(owner),
            what: "done".to_owned(),
            detail: "answered by phone".to_owned(),
            post_id: None,
        };
        work.add_inbox_event(id, &event).await.expect("event");
        drop(work);
        let unchanged = store.inbox_item(id).await.expect("read").expect("item");
        assert_eq!(
            unchanged.state,
            ItemState::Open,
            "a dropped unit changes nothing"
        );
        assert!(store.inbox_events(id).await.expect("events").is_empty());

        let work = store.write().await.expect("work");
        work.set_inbox_item(id, ItemState::Done, Some(owner), at(5))
            .await
            .expect("set");
        work.add_inbox_event(id, &event).await.expect("event");
        work.commit().await.expect("commit");
        let done = store.inbox_item(id).await.expect("read").expect("item");
        assert_eq!(
            (done.state, done.assignee_id),
            (ItemState::Done, Some(owner))
        );
        assert_eq!(done.updated_at, at(5));
        assert_eq!(store.inbox_events(id).await.expect("events"), vec![event]);
        let mine = store
            .inbox_items(&InboxQuery {
                accounts: vec![account],
                assignee_id: Some(owner),
                limit: 5,
                ..InboxQuery::default()
            })
            .await
            .expect("mine");
        assert_eq!(mine.len(), 1);
        assert_eq!(store.open_inbox_count(&[account]).await.expect("count"), 0);

        let reply = store
            .create_post(account, owner, "Thank you!", at(6))
            .await
            .expect("reply");
        assert_eq!(
            store.inbox_item_replied_by(reply).await.expect("read"),
            None
        );
        let replied = InboxEventRecord {
            at: at(6),
            actor_id: Some(owner),
            what: "replied".to_owned(),
            detail: String::new(),
            post_id: Some(reply),
        };
        let work = store.write().await.expect("work");
        work.add_inbox_event(id, &replied).await.expect("event");
        work.commit().await.expect("commit");
        assert_eq!(
            store.inbox_item_replied_by(reply).await.expect("read"),
            Some(id)
        );
    }
);

contract_test!(
    the_cursor_moves_with_a_good_read_and_failures_push_the_next_read_back,
    |store| {
        let (_, account) = owner_and_account(&store, at(0)).await;
        assert_eq!(store.inbox_cursor(account).await.expect("none"), None);
        assert!(
            store
                .inbox_accounts_due(at(0))
                .await
                .expect("due")
                .is_empty(),
            "an account not connected is not read"
        );
        store
            .set_connection(account, "connected", Some("@shop"))
            .await
            .expect("connect");
        assert_eq!(
            store.inbox_accounts_due(at(0)).await.expect("due"),
            vec![account],
            "never read: due at once"
        );
        let work = store.write().await.expect("work");
        work.inbox_read(account, Some("100"), at(60), at(1))
            .await
            .expect("read");
        work.commit().await.expect("commit");
        assert!(
            store
                .inbox_accounts_due(at(30))
                .await
                .expect("due")
                .is_empty()
        );
        assert_eq!(
            store.inbox_accounts_due(at(60)).await.expect("due"),
            vec![account]
        );
        for n in 1..=2 {
            store
                .inbox_read_failed(account, "429 Too Many Requests", at(600 * n))
                .await
                .expect("failed");
        }
        let cursor = store
            .inbox_cursor(account)
            .await
            .expect("read")
            .expect("cursor");
        assert_eq!(
            cursor.cursor.as_deref(),
            Some("100"),
            "a failure keeps the cursor"
        );
        assert_eq!(cursor.failures, 2);
        assert_eq!(cursor.next_read_at, at(1200));
        assert_eq!(cursor.problem.as_deref(), Some("429 Too Many Requests"));
        assert_eq!(cursor.read_at, Some(at(1)));
        let work = store.write().await.expect("work");
        work.inbox_read(account, Some("200"), at(1300), at(1250))
            .await
            .expect("read");
        work.commit().await.expect("commit");
        let cursor = store
            .inbox_cursor(account)
            .await
            .expect("read")
            .expect("cursor");
        assert_eq!((cursor.failures, cursor.problem), (0, None));
        assert_eq!(cursor.cursor.as_deref(), Some("200"));
    }
);

contract_test!(
    an_items_screening_is_replaced_whole_and_nothing_else_changes,
    |store| {
        let (_, account) = owner_and_account(&store, at(0)).await;
        store
            .add_inbox_item(&item(account, "n1", 1), at(1))
            .await
            .expect("add");
        let id = store
            .inbox_items(&InboxQuery {
                accounts: vec![account],
                limit: 1,
                ..InboxQuery::default()
            })
            .await
            .expect("list")[0]
            .id;
        let before = store.inbox_item(id).await.expect("read").expect("item");
        let screening = herald::store::InboxScreening {
            links: vec![JudgedLink {
                url: "https://bit.ly/x".to_owned(),
                verdict: Verdict::Dangerous,
                destination: Some("https://sunnycafe-login.example/".to_owned()),
                reasons: vec!["imitates the company".to_owned()],
            }],
            verdict: Verdict::Dangerous,
            reasons: vec!["imitates the company".to_owned()],
            impostor: true,
        };
        let work = store.write().await.expect("unit of work");
        work.set_inbox_screening(id, &screening, at(9))
            .await
            .expect("screening");
        work.commit().await.expect("commit");
        let after = store.inbox_item(id).await.expect("read").expect("item");
        assert_eq!(after.links, screening.links);
        assert_eq!(after.verdict, Verdict::Dangerous);
        assert_eq!(after.reasons, screening.reasons);
        assert!(after.impostor);
        assert_eq!(after.updated_at, at(9));
        assert_eq!(after.text, before.text);
        assert_eq!(after.state, before.state);
        assert_eq!(after.received_at, before.received_at);
    }
);
