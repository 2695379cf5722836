//! The storage contract for accounts: grants and gatekeepers, queues, sealed secrets and their
//! rewrapping, rotation requests, the organisation's names, OAuth apps and what the watcher
//! has seen. Each test runs on SQLite and on PostgreSQL.

use herald::domain::accounts::{AccountLevel, Network};
use herald::domain::ids::{AccountId, UserId};
use herald::domain::people::Role;
use herald::domain::schedule::Slot;
use herald::store::{NewAccount, NewUser, OAuthAppRecord, OrganisationNames, SecretRecord, Store};
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

async fn member(store: &Store, owner: UserId, email: &str) -> UserId {
    store
        .create_invitation(email, email, Role::Member, owner, at(1), at(1000))
        .await
        .expect("invitation");
    let user = NewUser {
        email: email.to_owned(),
        name: email.to_owned(),
        role: Role::Member,
        password_hash: "hash".to_owned(),
        totp_secret: vec![9; 20],
        totp_last_step: 0,
        recovery_code_hashes: Vec::new(),
    };
    store
        .accept_invitation(email, &user, at(2))
        .await
        .expect("member")
}

async fn second_account(store: &Store, gatekeeper: UserId) -> AccountId {
    let account = NewAccount {
        network: Network::X,
        handle: "@shop",
        display_name: "Shop on X",
        avatar_colour: "#654321",
        gatekeeper_id: gatekeeper,
        confirm_before_publish: true,
    };
    store
        .create_account(&account, at(0))
        .await
        .expect("account")
}

fn secret(account_id: AccountId, field: &str, by: UserId, fingerprint: &str) -> SecretRecord {
    SecretRecord {
        account_id,
        field: field.to_owned(),
        sealed: format!("sealed {field}").into_bytes(),
        key_version: 1,
        strength: Some(3),
        fingerprint: Some(fingerprint.to_owned()),
        updated_at: at(5),
        updated_by: by,
    }
}

contract_test!(grants_are_set_read_both_ways_and_revoked, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    let sam = member(&store, owner, "sam@shop.example").await;
    assert_eq!(store.grant(account, sam).await.expect("read"), None);
    store
        .set_grant(account, sam, AccountLevel::Contributor, owner, at(3))
        .await
        .expect("grant");
    store
        .set_grant(account, sam, AccountLevel::Publisher, owner, at(4))
        .await
        .expect("raised");
    assert_eq!(
        store.grant(account, sam).await.expect("read"),
        Some(AccountLevel::Publisher)
    );
    assert_eq!(
        store.grants(account).await.expect("grants"),
        vec![(sam, AccountLevel::Publisher)]
    );
    assert_eq!(
        store.grants_of(sam).await.expect("grants"),
        vec![(account, AccountLevel::Publisher)]
    );
    assert!(store.revoke_grant(account, sam).await.expect("revoke"));
    assert!(
        !store
            .revoke_grant(account, sam)
            .await
            .expect("revoke again")
    );
    assert!(store.grants_of(sam).await.expect("grants").is_empty());
});

contract_test!(
    a_new_gatekeeper_drops_their_grant_and_keeps_the_account,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let other = second_account(&store, owner).await;
        let sam = member(&store, owner, "sam@shop.example").await;
        store
            .set_grant(account, sam, AccountLevel::Viewer, owner, at(3))
            .await
            .expect("grant");
        assert_eq!(
            store.accounts_kept_by(owner).await.expect("kept"),
            vec![account, other]
        );

        store
            .set_gatekeeper(account, sam)
            .await
            .expect("gatekeeper");
        let record = store
            .account(account)
            .await
            .expect("read")
            .expect("account");
        assert_eq!(record.gatekeeper_id, sam);
        assert_eq!(store.grant(account, sam).await.expect("read"), None);
        assert_eq!(
            store.accounts_kept_by(sam).await.expect("kept"),
            vec![account]
        );
        let all: Vec<AccountId> = store
            .all_accounts()
            .await
            .expect("all")
            .iter()
            .map(|account| account.id)
            .collect();
        assert_eq!(all.len(), 2);
        assert!(all.contains(&account) && all.contains(&other));
    }
);

contract_test!(a_queue_keeps_its_zone_and_slots, |store| {
    let (_, account) = owner_and_account(&store, at(0)).await;
    assert!(store.queue_slots(account).await.expect("slots").is_empty());
    let slots = [
        Slot::new(1, "09:00").expect("slot"),
        Slot::new(5, "17:30").expect("slot"),
    ];
    store
        .set_queue(account, "Europe/Paris", &slots)
        .await
        .expect("queue");
    assert_eq!(
        store.queue_slots(account).await.expect("slots"),
        slots.to_vec()
    );
    let record = store
        .account(account)
        .await
        .expect("read")
        .expect("account");
    assert_eq!(record.time_zone, "Europe/Paris");
    store.set_queue(account, "UTC", &[]).await.expect("cleared");
    assert!(store.queue_slots(account).await.expect("slots").is_empty());
});

contract_test!(
    secrets_are_kept_per_field_found_by_fingerprint_and_rewrapped,
    |store| {
        let (owner, cafe) = owner_and_account(&store, at(0)).await;
        let bakery = second_account(&store, owner).await;
        store
            .put_secret(&secret(cafe, "login_password", owner, "same"))
            .await
            .expect("put");
        store
            .put_secret(&secret(cafe, "notes", owner, "mail"))
            .await
            .expect("put");
        store
            .put_secret(&secret(bakery, "login_password", owner, "same"))
            .await
            .expect("put");
        let fields: Vec<String> = store
            .secrets_of(cafe)
            .await
            .expect("secrets")
            .into_iter()
            .map(|secret| secret.field)
            .collect();
        assert_eq!(fields.len(), 2);
        assert_eq!(
            store
                .accounts_sharing_password(cafe, "same")
                .await
                .expect("shared"),
            vec![bakery]
        );
        assert!(
            store
                .accounts_sharing_password(cafe, "other")
                .await
                .expect("shared")
                .is_empty()
        );

        assert_eq!(store.all_secrets().await.expect("all").len(), 3);
        store
            .rewrap_secrets(
                &[(cafe, "login_password".to_owned(), b"new seal".to_vec())],
                2,
            )
            .await
            .expect("rewrap");
        let rewrapped = store
            .secret(cafe, "login_password")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(
            (rewrapped.sealed, rewrapped.key_version),
            (b"new seal".to_vec(), 2)
        );

        assert_eq!(store.vault_canary().await.expect("canary"), None);
        store.set_vault_canary(b"first").await.expect("set");
        store.set_vault_canary(b"second").await.expect("set again");
        assert_eq!(
            store.vault_canary().await.expect("canary"),
            Some(b"first".to_vec())
        );
        store
            .replace_vault_canary(b"rekeyed")
            .await
            .expect("replace");
        assert_eq!(
            store.vault_canary().await.expect("canary"),
            Some(b"rekeyed".to_vec())
        );
    }
);

contract_test!(authenticator_secrets_are_listed_and_rewrapped, |store| {
    let (owner, _) = owner_and_account(&store, at(0)).await;
    let secrets = store.all_totp_secrets().await.expect("all");
    assert_eq!(
        secrets,
        vec![(owner, "owner@shop.example".to_owned(), vec![1, 2, 3])]
    );
    store
        .rewrap_totp_secret(owner, b"resealed")
        .await
        .expect("rewrap");
    let user = store.user_by_id(owner).await.expect("read").expect("owner");
    assert_eq!(user.totp_secret, b"resealed".to_vec());
});

contract_test!(a_rotation_is_asked_once_per_reason_and_completed, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    assert!(
        store
            .request_rotation(account, "breached", "d", at(1))
            .await
            .expect("ask")
    );
    assert!(
        !store
            .request_rotation(account, "breached", "d", at(2))
            .await
            .expect("ask")
    );
    assert!(
        store
            .request_rotation(account, "member_left", "d", at(3))
            .await
            .expect("ask")
    );
    assert_eq!(
        store
            .complete_rotations(account, owner, at(9))
            .await
            .expect("done"),
        2
    );
    let rotations = store.rotations_of(account).await.expect("rotations");
    assert_eq!(rotations.len(), 2);
    assert!(
        rotations
            .iter()
            .all(|rotation| rotation.done_by == Some(owner) && rotation.done_at == Some(at(9)))
    );
    assert!(
        store
            .request_rotation(account, "breached", "d", at(10))
            .await
            .expect("ask")
    );
});

contract_test!(the_organisation_names_are_replaced_whole, |store| {
    let empty = store.organisation_names().await.expect("names");
    assert!(empty.domains.is_empty() && empty.handles.is_empty());
    let names = OrganisationNames {
        domains: vec!["sunny.example".to_owned()],
        handles: vec!["sunnycafe".to_owned()],
    };
    store
        .replace_organisation_names(&names, at(1))
        .await
        .expect("replace");
    assert_eq!(store.organisation_names().await.expect("names"), names);
    let fewer = OrganisationNames {
        domains: Vec::new(),
        handles: vec!["sunnybakery".to_owned()],
    };
    store
        .replace_organisation_names(&fewer, at(2))
        .await
        .expect("replace");
    assert_eq!(store.organisation_names().await.expect("names"), fewer);
});

contract_test!(an_oauth_app_is_kept_per_server_and_redirect, |store| {
    let app = OAuthAppRecord {
        server: "https://social.example".to_owned(),
        redirect_uri: "https://herald.example/oauth/callback".to_owned(),
        client_id: "client-1".to_owned(),
        sealed_secret: b"sealed".to_vec(),
        key_version: 1,
        created_at: at(1),
    };
    assert!(
        store
            .oauth_app(&app.server, &app.redirect_uri)
            .await
            .expect("read")
            .is_none()
    );
    store.put_oauth_app(&app).await.expect("put");
    let kept = store
        .oauth_app(&app.server, &app.redirect_uri)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.client_id, "client-1");
    assert!(
        store
            .oauth_app(&app.server, "https://elsewhere.example/cb")
            .await
            .expect("read")
            .is_none()
    );
});

contract_test!(the_watcher_knows_the_posts_herald_published, |store| {
    let (owner, account) = owner_and_account(&store, at(0)).await;
    let post = store
        .create_post(account, owner, "Hello", at(1))
        .await
        .expect("post");
    assert!(
        store
            .herald_remote_ids(account)
            .await
            .expect("ids")
            .is_empty()
    );
    let job = herald::jobs::publish_job(post, at(10), 3);
    assert!(
        store
            .schedule_post(
                post,
                herald::domain::posts::PostState::Draft,
                at(10),
                Some(owner),
                "scheduled",
                &job,
                at(2),
            )
            .await
            .expect("schedule")
    );
    let attempt = store
        .start_attempt(
            post,
            herald::domain::posts::PostState::Scheduled,
            "w",
            "go",
            at(10),
        )
        .await
        .expect("start")
        .expect("started");
    let end = herald::store::AttemptEnd {
        post_id: post,
        attempt_id: attempt,
        to: herald::domain::posts::PostState::Published,
        outcome: "published",
        detail: "",
        remote_id: Some("remote-1"),
        remote_url: None,
        job_done: None,
        audit: None,
        now: at(11),
    };
    store.finish_attempt(&end).await.expect("finish");
    assert_eq!(
        store.herald_remote_ids(account).await.expect("ids"),
        vec![(post, "remote-1".to_owned(), true, Some(at(11)))]
    );
});
