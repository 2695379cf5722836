//! The storage contract for people: the organisation, members, invitations, roles, sessions,
//! sign-in throttles, API tokens and passkeys. Each test runs on SQLite and on PostgreSQL.

use herald::domain::ids::UserId;
use herald::domain::people::Role;
use herald::store::{NewApiToken, NewUser, Store, StoreError};
use jiff::{SignedDuration, Timestamp};

use crate::helpers::contract_test;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

fn person(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: email.split('@').next().unwrap_or(email).to_owned(),
        role,
        password_hash: format!("hash of {email}"),
        totp_secret: vec![7; 20],
        totp_last_step: 100,
        recovery_code_hashes: vec!["code-a".to_owned(), "code-b".to_owned()],
    }
}

/// The organisation and its owner; then a member who joined by invitation.
async fn owner_and_member(store: &Store) -> (UserId, UserId) {
    let owner = store
        .create_organisation(
            "Sunny Café",
            &person("owner@sunny.example", Role::Owner),
            at(0),
        )
        .await
        .expect("organisation");
    store
        .create_invitation(
            "hash-1",
            "sam@sunny.example",
            Role::Member,
            owner,
            at(1),
            at(1000),
        )
        .await
        .expect("invitation");
    let sam = store
        .accept_invitation("hash-1", &person("sam@sunny.example", Role::Member), at(2))
        .await
        .expect("accepted");
    (owner, sam)
}

contract_test!(
    members_join_by_invitation_once_and_are_found_by_email_and_id,
    |store| {
        assert_eq!(store.organisation_name().await.expect("name"), "");
        let (owner, sam) = owner_and_member(&store).await;
        assert_eq!(store.organisation_name().await.expect("name"), "Sunny Café");
        assert_eq!(store.user_count().await.expect("count"), 2);

        let spent = store
            .invitation("hash-1")
            .await
            .expect("read")
            .expect("kept");
        assert!(spent.accepted);
        assert_eq!((spent.invited_by, spent.role), (owner, Role::Member));
        let again = store
            .accept_invitation("hash-1", &person("eve@sunny.example", Role::Member), at(3))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        let found = store
            .user_by_email("sam@sunny.example")
            .await
            .expect("read")
            .expect("sam");
        assert_eq!(found.id, sam);
        assert_eq!(found.totp_last_step, 100, "the enrolment code is spent");
        assert!(
            store
                .user_by_email("nobody@sunny.example")
                .await
                .expect("read")
                .is_none()
        );
        let listed: Vec<UserId> = store
            .list_users()
            .await
            .expect("list")
            .iter()
            .map(|user| user.id)
            .collect();
        assert_eq!(listed, vec![owner, sam]);
    }
);

contract_test!(
    a_pending_invitation_is_listed_by_reference_and_withdrawn,
    |store| {
        let (owner, _) = owner_and_member(&store).await;
        store
            .create_invitation(
                "hash-2",
                "kim@sunny.example",
                Role::Admin,
                owner,
                at(5),
                at(500),
            )
            .await
            .expect("invitation");
        let pending = store.pending_invitations().await.expect("pending");
        assert_eq!(pending.len(), 1, "the accepted one is not pending");
        assert_eq!(pending[0].email, "kim@sunny.example");
        assert_eq!(pending[0].role, Role::Admin);

        let withdrawn = store
            .cancel_invitation(&pending[0].reference)
            .await
            .expect("cancel")
            .expect("there was one");
        assert_eq!(withdrawn.email, "kim@sunny.example");
        assert!(
            store
                .pending_invitations()
                .await
                .expect("pending")
                .is_empty()
        );
        assert!(
            store
                .cancel_invitation(&pending[0].reference)
                .await
                .expect("cancel")
                .is_none()
        );
        let late = store
            .accept_invitation("hash-2", &person("kim@sunny.example", Role::Admin), at(6))
            .await;
        assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    }
);

contract_test!(
    roles_change_only_from_what_was_seen_and_one_owner_always_stays,
    |store| {
        let (owner, sam) = owner_and_member(&store).await;
        store
            .set_role(sam, Role::Member, Role::Admin)
            .await
            .expect("promoted");
        let stale = store.set_role(sam, Role::Member, Role::Owner).await;
        assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
        let last = store.set_role(owner, Role::Owner, Role::Member).await;
        assert!(matches!(last, Err(StoreError::LastOwner)), "{last:?}");
        let role = |user: Option<herald::store::UserRecord>| user.expect("user").role;
        assert_eq!(
            role(store.user_by_id(sam).await.expect("read")),
            Role::Admin
        );
        assert_eq!(
            role(store.user_by_id(owner).await.expect("read")),
            Role::Owner
        );
    }
);

contract_test!(
    a_deactivated_member_loses_sessions_and_can_rejoin_by_a_new_invitation,
    |store| {
        let (owner, sam) = owner_and_member(&store).await;
        store
            .create_session(
                "session-sam",
                "public-sam",
                sam,
                "192.0.2.1",
                at(10),
                at(5000),
            )
            .await
            .expect("session");
        store
            .deactivate_user(sam, at(20))
            .await
            .expect("deactivated");
        let gone = store.user_by_id(sam).await.expect("read").expect("kept");
        assert!(!gone.active);
        assert!(store.session("session-sam").await.expect("read").is_none());

        store
            .create_invitation(
                "hash-back",
                "sam@sunny.example",
                Role::Member,
                owner,
                at(30),
                at(900),
            )
            .await
            .expect("invitation");
        let mut back = person("sam@sunny.example", Role::Member);
        back.password_hash = "a new hash".to_owned();
        store
            .rejoin("hash-back", sam, &back, at(31))
            .await
            .expect("rejoined");
        let returned = store.user_by_id(sam).await.expect("read").expect("kept");
        assert!(returned.active);
        assert_eq!(returned.password_hash, "a new hash");
        let twice = store.rejoin("hash-back", sam, &back, at(32)).await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    }
);

contract_test!(passwords_codes_and_steps_are_spent_once, |store| {
    let (_, sam) = owner_and_member(&store).await;
    store.set_password_hash(sam, "changed").await.expect("set");
    assert_eq!(
        store
            .user_by_id(sam)
            .await
            .expect("read")
            .expect("sam")
            .password_hash,
        "changed"
    );
    assert!(
        !store.spend_totp_step(sam, 100).await.expect("spend"),
        "the enrolment step"
    );
    assert!(store.spend_totp_step(sam, 101).await.expect("spend"));
    assert!(
        !store.spend_totp_step(sam, 101).await.expect("spend"),
        "a replay"
    );
    assert!(
        !store.spend_totp_step(sam, 99).await.expect("spend"),
        "an older step"
    );

    assert_eq!(store.recovery_codes_left(sam).await.expect("left"), 2);
    assert!(
        store
            .spend_recovery_code(sam, "code-a", at(5))
            .await
            .expect("spend")
    );
    assert!(
        !store
            .spend_recovery_code(sam, "code-a", at(6))
            .await
            .expect("spend")
    );
    assert_eq!(store.recovery_codes_left(sam).await.expect("left"), 1);
});

contract_test!(sessions_are_found_touched_and_ended, |store| {
    let (owner, sam) = owner_and_member(&store).await;
    for (hash, public, user) in [("s1", "p1", sam), ("s2", "p2", sam), ("s3", "p3", owner)] {
        store
            .create_session(hash, public, user, "192.0.2.7", at(10), at(10_000))
            .await
            .expect("session");
    }
    store.touch_session("s1", at(50)).await.expect("touch");
    let one = store.session("s1").await.expect("read").expect("s1");
    assert_eq!((one.user_id, one.last_seen_at), (sam, at(50)));

    store.delete_session("s1").await.expect("delete");
    assert!(store.session("s1").await.expect("read").is_none());
    assert_eq!(store.delete_user_sessions(sam).await.expect("delete"), 1);
    assert!(store.session("s2").await.expect("read").is_none());
    assert!(
        store.session("s3").await.expect("read").is_some(),
        "others' stay"
    );

    store
        .create_session("old", "p-old", owner, "192.0.2.7", at(10), at(20))
        .await
        .expect("session");
    assert!(store.prune_expired_access(at(30)).await.expect("prune") >= 1);
    assert!(store.session("old").await.expect("read").is_none());
    assert!(store.session("s3").await.expect("read").is_some());
});

contract_test!(a_throttle_counts_failures_blocks_and_clears, |store| {
    assert!(
        store
            .throttle("ip:192.0.2.9")
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(store.count_failure("ip:192.0.2.9").await.expect("count"), 1);
    assert_eq!(store.count_failure("ip:192.0.2.9").await.expect("count"), 2);
    store
        .block_until("ip:192.0.2.9", at(60))
        .await
        .expect("block");
    let (failures, until) = store
        .throttle("ip:192.0.2.9")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!((failures, until), (2, at(60)));
    store.clear_throttle("ip:192.0.2.9").await.expect("clear");
    assert!(
        store
            .throttle("ip:192.0.2.9")
            .await
            .expect("read")
            .is_none()
    );
});

contract_test!(
    an_api_token_is_used_listed_and_revoked_by_its_owner_only,
    |store| {
        let (owner, sam) = owner_and_member(&store).await;
        let scopes = vec!["posts:read".to_owned()];
        let token = NewApiToken {
            user_id: sam,
            name: "Zapier",
            token_hash: "token-hash",
            scopes: &scopes,
            expires_at: at(SignedDuration::from_hours(24).as_secs()),
        };
        let id = store.create_api_token(&token, at(0)).await.expect("token");
        let used = store
            .use_api_token("token-hash", at(30))
            .await
            .expect("use")
            .expect("valid");
        assert_eq!((used.user_id, used.scopes.clone()), (sam, scopes.clone()));
        assert!(
            store
                .use_api_token("other", at(30))
                .await
                .expect("use")
                .is_none()
        );
        let listed = store.list_api_tokens(sam).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_used_at, Some(at(30)));

        assert!(
            !store
                .revoke_api_token(owner, id, at(40))
                .await
                .expect("revoke"),
            "not theirs"
        );
        assert!(
            store
                .revoke_api_token(sam, id, at(40))
                .await
                .expect("revoke")
        );
        assert!(
            store
                .use_api_token("token-hash", at(50))
                .await
                .expect("use")
                .is_none()
        );
        assert!(store.list_api_tokens(sam).await.expect("list")[0].revoked);
    }
);

contract_test!(
    a_passkey_is_used_and_deleted_and_a_ceremony_spent_once,
    |store| {
        let (owner, sam) = owner_and_member(&store).await;
        let id = store
            .add_passkey(sam, "Phone", "credential-1", "{\"counter\":0}", at(1))
            .await
            .expect("passkey");
        store
            .passkey_used(id, "{\"counter\":1}", at(5))
            .await
            .expect("used");
        let kept = store.passkeys_of(sam).await.expect("list");
        assert_eq!(kept[0].passkey, "{\"counter\":1}");
        assert_eq!(kept[0].last_used_at, Some(at(5)));

        assert!(
            !store.delete_passkey(owner, id).await.expect("delete"),
            "not theirs"
        );
        assert!(store.delete_passkey(sam, id).await.expect("delete"));
        assert!(store.passkeys_of(sam).await.expect("list").is_empty());

        assert!(
            store
                .spend_ceremony("ceremony-1", at(100))
                .await
                .expect("spend")
        );
        assert!(
            !store
                .spend_ceremony("ceremony-1", at(100))
                .await
                .expect("spend"),
            "a replay"
        );
    }
);

contract_test!(
    browsers_signed_in_from_are_kept_per_member_and_forgotten_at_a_second_factor_reset,
    |store| {
        let (owner, sam) = owner_and_member(&store).await;
        assert!(store.sign_in_devices(sam).await.expect("none").is_empty());
        store
            .save_sign_in_device(sam, "laptop", "Firefox on Windows", "203.0.113.1", at(10))
            .await
            .expect("first");
        store
            .save_sign_in_device(sam, "phone", "Safari on iPhone", "203.0.113.2", at(20))
            .await
            .expect("second");
        // The laptop again, from elsewhere: one row, brought up to date.
        store
            .save_sign_in_device(sam, "laptop", "Firefox on Linux", "198.51.100.7", at(30))
            .await
            .expect("again");
        store
            .save_sign_in_device(owner, "desk", "Edge on Windows", "203.0.113.3", at(40))
            .await
            .expect("owner's");
        let devices = store.sign_in_devices(sam).await.expect("devices");
        assert_eq!(devices.len(), 2, "{devices:?}");
        assert_eq!(devices[0].device_hash, "laptop");
        assert_eq!(devices[0].browser, "Firefox on Linux");
        assert_eq!(devices[0].last_ip, "198.51.100.7");
        assert_eq!(devices[0].first_seen_at, at(10));
        assert_eq!(devices[0].last_seen_at, at(30));
        assert_eq!(devices[1].device_hash, "phone");

        store.reset_second_factor(sam, at(50)).await.expect("reset");
        assert!(store.sign_in_devices(sam).await.expect("gone").is_empty());
        assert_eq!(store.sign_in_devices(owner).await.expect("kept").len(), 1);
    }
);
