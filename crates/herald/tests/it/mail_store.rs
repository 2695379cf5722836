//! The store functions behind e-mail and webhooks, on SQLite and PostgreSQL: the outbox (a key
//! written twice is one message; sent once), members' choices, notifications waiting for the
//! digest, webhook endpoints and deliveries with their tries.

use herald::domain::notifications::{MailMode, NotificationKind};
use herald::store::{DeliveryTry, NewEndpoint, NewMail};
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("time")
}

contract_test!(the_outbox_keeps_a_message_once_and_sends_it_once, |store| {
    let (owner, _) = owner_and_account(&store, at(0)).await;
    let mail = NewMail {
        message_key: "invitation:abc".to_owned(),
        recipient: "bea@sunny.example".to_owned(),
        subject: "Join us".to_owned(),
        sealed_body: vec![1, 2, 3],
        key_version: 1,
    };
    let id = store
        .add_to_outbox(&mail, at(1))
        .await
        .expect("add")
        .expect("new");
    assert_eq!(
        store.add_to_outbox(&mail, at(2)).await.expect("again"),
        None
    );
    assert_eq!(store.mail_waiting().await.expect("waiting"), 1);
    store
        .mail_attempt_failed(id, "the server is down", at(3))
        .await
        .expect("failed");
    let message = store
        .outbox_message(id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        (message.attempts, message.last_error.as_deref()),
        (1, Some("the server is down"))
    );
    assert_eq!(store.unsent_mail().await.expect("unsent").len(), 1);
    store.rewrap_mail(id, &[4, 5], 2).await.expect("rewrap");
    assert!(store.mark_mail_sent(id, at(4)).await.expect("sent"));
    assert!(!store.mark_mail_sent(id, at(5)).await.expect("sent once"));
    let recent = store.recent_outbox(10).await.expect("recent");
    assert_eq!(recent[0].sealed_body, [4, 5]);
    // The daily prune forgets what old sent messages said, never what waits to be sent.
    assert_eq!(
        store.forget_sent_mail_bodies(at(4)).await.expect("prune"),
        0
    );
    assert_eq!(
        store.forget_sent_mail_bodies(at(5)).await.expect("prune"),
        1
    );
    assert_eq!(
        store.forget_sent_mail_bodies(at(5)).await.expect("again"),
        0
    );
    let recent = store.recent_outbox(10).await.expect("recent");
    assert!(recent[0].sealed_body.is_empty());
    assert_eq!(recent[0].subject, "Join us");
    assert!(recent[0].sent_at.is_some() && recent[0].last_error.is_none());
    assert_eq!(store.mail_waiting().await.expect("waiting"), 0);
    assert!(store.unsent_mail().await.expect("unsent").is_empty());

    store
        .set_mail_preference(owner, NotificationKind::Policy, MailMode::Digest)
        .await
        .expect("choose");
    store
        .set_mail_preference(owner, NotificationKind::Policy, MailMode::None)
        .await
        .expect("choose again");
    assert_eq!(
        store.mail_preferences(owner).await.expect("choices"),
        [(NotificationKind::Policy, MailMode::None)]
    );

    store
        .add_notification(
            owner,
            NotificationKind::Policy,
            "Read it",
            "Body",
            None,
            at(6),
        )
        .await
        .expect("notify");
    let id = store.notifications_of(owner, 1).await.expect("list")[0].id;
    let waiting = store
        .mailable_notification(id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        (waiting.kind, waiting.mail_state),
        (NotificationKind::Policy, None)
    );
    store
        .set_notification_mail_state(id, "digest")
        .await
        .expect("digest");
    assert_eq!(store.members_with_digest().await.expect("members"), [owner]);
    assert_eq!(store.digest_of(owner).await.expect("digest").len(), 1);
    store.mark_digested(owner, id).await.expect("digested");
    assert!(
        store
            .members_with_digest()
            .await
            .expect("members")
            .is_empty()
    );
});

contract_test!(
    webhook_deliveries_record_each_try_and_endpoints_turn_off,
    |store| {
        let (owner, _) = owner_and_account(&store, at(0)).await;
        let endpoint = NewEndpoint {
            url: "https://hooks.example/in".to_owned(),
            description: "ours".to_owned(),
            format: "standard".to_owned(),
            events: vec!["post.failed".to_owned()],
            sealed_secret: Vec::new(),
            key_version: 1,
            created_by: owner,
        };
        let id = store
            .add_webhook_endpoint(&endpoint, at(1))
            .await
            .expect("add");
        store
            .set_webhook_secret(id, &[9, 9], 1)
            .await
            .expect("secret");
        let stored = store
            .webhook_endpoint(id)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(
            (stored.events.clone(), stored.sealed_secret.clone()),
            (vec!["post.failed".to_owned()], vec![9, 9])
        );
        let queued = store
            .add_webhook_delivery(id, "msg_1", "post.failed", "{}", at(2))
            .await
            .expect("delivery");
        let by_hand = store
            .add_webhook_delivery_by_hand(id, "msg_2", "test", "{}", at(3))
            .await
            .expect("by hand");
        let delivery = store
            .webhook_delivery(queued)
            .await
            .expect("read")
            .expect("there");
        let failed = DeliveryTry {
            status: Some(500),
            error: Some("the endpoint answered 500".to_owned()),
            duration_ms: 12,
            state: "pending",
        };
        assert_eq!(
            store
                .record_webhook_try(&delivery, &failed, at(4))
                .await
                .expect("try"),
            Some(1)
        );
        let delivered = DeliveryTry {
            status: Some(204),
            error: None,
            duration_ms: 8,
            state: "delivered",
        };
        assert_eq!(
            store
                .record_webhook_try(&delivery, &delivered, at(5))
                .await
                .expect("try"),
            Some(0)
        );
        assert_eq!(
            store
                .record_webhook_try(&delivery, &delivered, at(6))
                .await
                .expect("again"),
            None
        );
        let log = store.webhook_deliveries(id, 10).await.expect("log");
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[1].state.as_str(), log[1].attempts, log[1].last_status),
            ("delivered", 2, Some(204))
        );
        store
            .set_webhook_disabled(id, Some("20 tries failed"), at(7))
            .await
            .expect("off");
        store
            .give_up_webhook_deliveries(id, "turned off")
            .await
            .expect("give up");
        assert_eq!(
            store
                .webhook_delivery(by_hand)
                .await
                .expect("read")
                .expect("there")
                .state,
            "failed"
        );
        assert_eq!(store.disabled_webhook_endpoints().await.expect("count"), 1);
        store
            .set_webhook_disabled(id, None, at(8))
            .await
            .expect("on");
        assert_eq!(store.disabled_webhook_endpoints().await.expect("count"), 0);
        assert!(
            store
                .delete_webhook_endpoint(id, at(9))
                .await
                .expect("delete")
        );
        assert!(store.webhook_endpoints().await.expect("list").is_empty());
        assert!(store.webhook_endpoint(id).await.expect("read").is_none());
    }
);
