//! Direct messages in the inbox of X (`GET /2/dm_events`) and Bluesky (chat through the PDS's
//! service proxy) against their fakes: read beside the mentions as `Message` items, paged over
//! bounded reads, the cursor kept (and one saved before messages were read still read), a token
//! without the scope or privilege warned about while mentions are read, rate limits, a page
//! served again, a cursor refused, deleted messages and lone surrogates, and answers sent to
//! the conversation, never as a post.

use networks::fake::bluesky::CHAT_LOG_PAGE;
use networks::fake::inbox::{FakeIncoming, InboxFaults, LONE_SURROGATE};
use networks::{IncomingKind, NetworkError, ReadInbox, ReadLimits, Tokens};
use serde_json::{Value, json};

use crate::inbox::{bluesky, distinct, mention, read_all, reply_post, small, x};

fn message(n: usize) -> FakeIncoming {
    FakeIncoming::message(
        &format!("fan{n}.example"),
        &format!("Fan {n}"),
        &format!("private question {n}"),
    )
}

fn kinds(read: &networks::InboxRead) -> Vec<(String, IncomingKind)> {
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.sender.display_name.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    kinds
}

fn cursor_json(cursor: Option<&str>) -> Value {
    serde_json::from_str(cursor.expect("a cursor")).expect("the cursor is JSON")
}

/// The keys of items read that are messages.
fn message_keys(keys: &[String], prefix: &str) -> Vec<String> {
    keys.iter()
        .filter(|key| key.starts_with(prefix))
        .cloned()
        .collect()
}

async fn read(
    reader: &dyn ReadInbox,
    tokens: &Tokens,
    cursor: Option<&str>,
) -> networks::InboxRead {
    reader
        .read_inbox(tokens, cursor, ReadLimits::default())
        .await
        .expect("read")
}

#[tokio::test]
async fn x_reads_direct_messages_beside_mentions_with_the_conversation_to_answer() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(mention(1));
    server.state.receive(message(2));
    server.state.receive(message(3));
    let read = read(&adapter, &tokens, None).await;
    assert_eq!(
        kinds(&read),
        vec![
            ("Fan 1".to_owned(), IncomingKind::Mention),
            ("Fan 2".to_owned(), IncomingKind::Message),
            ("Fan 3".to_owned(), IncomingKind::Message),
        ]
    );
    let dm = read
        .items
        .iter()
        .find(|item| item.sender.display_name == "Fan 2")
        .expect("the message");
    assert_eq!(dm.text, "private question 2");
    assert_eq!(dm.sender.handle, "@fan2.example");
    assert_eq!(dm.sender.id, "sender-fan2.example");
    assert!(dm.key.starts_with("dm:"), "{}", dm.key);
    let reply_to: Value = serde_json::from_str(dm.reply_to.as_deref().expect("answerable"))
        .expect("reply_to is JSON");
    assert!(
        reply_to["dm_conversation"]
            .as_str()
            .is_some_and(|conversation| conversation.contains("sender-fan2.example")),
        "{reply_to}"
    );
    assert!(
        dm.url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://x.com/messages/"))
    );
    let cursor = cursor_json(read.cursor.as_deref());
    assert!(cursor["messages"]["seen"].is_string(), "{cursor}");
    // Nothing new: nothing read again.
    let again = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("again");
    assert!(again.items.is_empty(), "{:?}", again.items);
}

#[tokio::test]
async fn x_pages_direct_messages_over_bounded_reads_with_nothing_skipped_or_twice() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(message(0));
    let first = read(&adapter, &tokens, None).await;
    assert_eq!(first.items.len(), 1);
    for n in 1..=13 {
        server.state.receive(message(n));
    }
    let limits = ReadLimits {
        page_size: 5,
        pages: 2,
    };
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, limits).await;
    assert!(
        reads[0].more,
        "thirteen new messages are more than one read's ten"
    );
    let messages = message_keys(&keys, "dm:");
    assert_eq!(messages.len(), 13, "{keys:?}");
    assert_eq!(distinct(&messages), 13);
    assert!(
        !messages.contains(&first.items[0].key),
        "the first message is not read again"
    );
    let again = adapter
        .read_inbox(&tokens, cursor.as_deref(), limits)
        .await
        .expect("nothing new");
    assert!(again.items.is_empty());
}

#[tokio::test]
async fn x_reads_a_cursor_saved_before_direct_messages_were_read() {
    let (server, adapter, tokens) = x().await;
    let old = server.state.receive(mention(0));
    server.state.receive(mention(1));
    server.state.receive(message(2));
    // What the previous code kept: the mentions' walk only.
    let saved = json!({ "since": old.to_string(), "walk": null }).to_string();
    let read = read(&adapter, &tokens, Some(&saved)).await;
    assert_eq!(
        kinds(&read),
        vec![
            ("Fan 1".to_owned(), IncomingKind::Mention),
            ("Fan 2".to_owned(), IncomingKind::Message),
        ],
        "the mention after `since`, and the newest messages"
    );
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let cursor = cursor_json(read.cursor.as_deref());
    assert!(
        cursor["since"].is_string() && cursor["messages"].is_object(),
        "{cursor}"
    );
}

#[tokio::test]
async fn x_without_the_dm_scope_warns_and_still_reads_mentions() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(mention(1));
    server.state.receive(message(2));
    server.state.set_inbox_faults(InboxFaults {
        messages_forbidden: true,
        ..InboxFaults::default()
    });
    let read = read(&adapter, &tokens, None).await;
    assert_eq!(
        kinds(&read),
        vec![("Fan 1".to_owned(), IncomingKind::Mention)]
    );
    assert!(
        read.warnings
            .iter()
            .any(|warning| warning.contains("dm.read") && warning.contains("403")),
        "{:?}",
        read.warnings
    );
    assert!(
        cursor_json(read.cursor.as_deref())["messages"].is_null(),
        "the messages' walk has not started"
    );
    // Connected again with the scope: the messages are read.
    server.state.set_inbox_faults(InboxFaults::default());
    let later = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("read");
    assert_eq!(
        kinds(&later),
        vec![("Fan 2".to_owned(), IncomingKind::Message)]
    );
}

#[tokio::test]
async fn x_answers_a_direct_message_in_its_conversation_and_never_as_a_post() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(message(1));
    let read = read(&adapter, &tokens, None).await;
    let item = &read.items[0];
    let published = adapter
        .reply(
            &tokens,
            item.reply_to.as_deref().expect("answerable"),
            &reply_post("dm-reply"),
        )
        .await
        .expect("reply");
    let sent = server.state.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "Thanks, we are on it");
    let reply_to: Value =
        serde_json::from_str(item.reply_to.as_deref().expect("reply_to")).expect("JSON");
    assert_eq!(
        sent[0].conversation,
        reply_to["dm_conversation"].as_str().expect("id")
    );
    assert!(server.state.posts().is_empty(), "no public post");
    assert!(!published.remote_id.is_empty());
    // The account's own answer is in X's list of events; it is not an item.
    let after = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("read");
    assert!(after.items.is_empty(), "{:?}", after.items);
    // A message that names only its sender is answered through the participant.
    adapter
        .reply(
            &tokens,
            &json!({ "participant": "777" }).to_string(),
            &reply_post("dm-reply-2"),
        )
        .await
        .expect("reply to a participant");
    assert_eq!(
        server.state.sent_messages()[1].conversation,
        "2244994945-777"
    );
    let refused = adapter
        .reply(
            &tokens,
            &json!({ "dm_conversation": "../../2/tweets" }).to_string(),
            &reply_post("dm-reply-3"),
        )
        .await;
    assert!(
        matches!(refused, Err(NetworkError::Rejected(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn x_finds_an_answer_whose_outcome_was_lost_so_it_is_not_sent_twice() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(message(1));
    let read = read(&adapter, &tokens, None).await;
    let reply_to = read.items[0].reply_to.clone().expect("answerable");
    // Dated as the fake's messages are (from 2026-12-01 08:00 UTC).
    let post = networks::Outgoing {
        created_at: jiff::Timestamp::from_second(1_796_112_000).expect("time"),
        ..reply_post("dm-lost")
    };
    assert_eq!(
        adapter
            .find_reply(&tokens, &reply_to, &post)
            .await
            .expect("look"),
        None,
        "not sent yet"
    );
    let sent = adapter
        .reply(&tokens, &reply_to, &post)
        .await
        .expect("sent");
    let found = adapter
        .find_reply(&tokens, &reply_to, &post)
        .await
        .expect("look")
        .expect("the answer is found");
    assert_eq!(found.remote_id, sent.remote_id);
    let other = networks::Outgoing {
        text: "Something else".to_owned(),
        ..post
    };
    assert_eq!(
        adapter
            .find_reply(&tokens, &reply_to, &other)
            .await
            .expect("look"),
        None
    );
}

#[tokio::test]
async fn x_direct_messages_rate_limit_carries_the_reset_time() {
    let (server, adapter, tokens) = x().await;
    server.state.set_inbox_faults(InboxFaults {
        messages_rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("rate limited");
    assert!(
        matches!(
            error,
            NetworkError::RateLimited {
                retry_after: Some(networks::RetryAfter::At(_)),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(adapter.read_inbox(&tokens, None, small()).await.is_ok());
}

#[tokio::test]
async fn x_direct_messages_survive_a_repeated_page_a_refused_token_and_lone_surrogates() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(message(0));
    let first = read(&adapter, &tokens, None).await;
    for n in 1..=12 {
        server.state.receive(message(n));
    }
    server.state.receive(FakeIncoming::message(
        "odd.example",
        "Odd",
        &format!("cut {LONE_SURROGATE} emoji"),
    ));
    let limits = ReadLimits {
        page_size: 5,
        pages: 2,
    };
    let stopped = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), limits)
        .await
        .expect("bounded");
    assert!(stopped.more);
    let odd = stopped
        .items
        .iter()
        .find(|item| item.sender.display_name == "Odd")
        .expect("the newest message");
    assert_eq!(odd.text, "cut \u{fffd} emoji");
    assert!(stopped.warnings.iter().any(|w| w.contains("malformed")));

    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let reads_before = server.state.message_reads();
    let repeated = adapter
        .read_inbox(&tokens, stopped.cursor.as_deref(), limits)
        .await
        .expect("read");
    assert!(
        repeated.warnings.iter().any(|w| w.contains("again")),
        "{:?}",
        repeated.warnings
    );
    assert!(
        server.state.message_reads() - reads_before <= 2,
        "not read for ever"
    );

    server.state.set_inbox_faults(InboxFaults {
        reject_cursors: true,
        ..InboxFaults::default()
    });
    let refused = adapter
        .read_inbox(&tokens, stopped.cursor.as_deref(), limits)
        .await
        .expect("read after the refusal");
    assert!(
        refused
            .warnings
            .iter()
            .any(|w| w.contains("no longer accepts")),
        "{:?}",
        refused.warnings
    );
    assert!(!refused.items.is_empty(), "the newest page is read instead");
    // A refusal that uses up the read's last page leaves no refused token behind.
    let one_page = ReadLimits {
        page_size: 5,
        pages: 1,
    };
    let spent = adapter
        .read_inbox(&tokens, stopped.cursor.as_deref(), one_page)
        .await
        .expect("read");
    assert!(
        cursor_json(spent.cursor.as_deref())["messages"]["walk"].is_null(),
        "{:?}",
        spent.cursor
    );
}

#[tokio::test]
async fn bluesky_reads_chat_messages_beside_notifications_with_their_senders() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(1));
    server.state.receive(message(2));
    let read = read(&adapter, &tokens, None).await;
    assert_eq!(
        kinds(&read),
        vec![
            ("Fan 1".to_owned(), IncomingKind::Mention),
            ("Fan 2".to_owned(), IncomingKind::Message),
        ]
    );
    let dm = read
        .items
        .iter()
        .find(|item| item.kind == IncomingKind::Message)
        .expect("the message");
    assert_eq!(dm.text, "private question 2");
    assert_eq!(
        dm.sender.handle, "fan2.example",
        "the member's handle from getConvo"
    );
    assert_eq!(dm.sender.id, "sender-fan2.example");
    assert!(dm.key.starts_with("chat:"), "{}", dm.key);
    let reply_to: Value =
        serde_json::from_str(dm.reply_to.as_deref().expect("answerable")).expect("JSON");
    assert!(reply_to["convo"].is_string(), "{reply_to}");
    assert!(reply_to.get("root").is_none(), "not a thread reply");
    let cursor = cursor_json(read.cursor.as_deref());
    assert!(cursor["chat"]["log"].is_string(), "{cursor}");
    let again = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("again");
    assert!(
        message_keys(
            &again
                .items
                .iter()
                .map(|item| item.key.clone())
                .collect::<Vec<_>>(),
            "chat:"
        )
        .is_empty(),
        "{:?}",
        again.items
    );
}

#[tokio::test]
async fn bluesky_chat_pages_over_bounded_reads_with_nothing_skipped_or_twice() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(message(0));
    let first = read(&adapter, &tokens, None).await;
    assert_eq!(first.items.len(), 1);
    let new = 2 * CHAT_LOG_PAGE + 3;
    for n in 1..=new {
        server.state.receive(message(n));
    }
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(reads[0].more, "more than two pages of the log");
    let messages = message_keys(&keys, "chat:");
    assert_eq!(messages.len(), new, "{keys:?}");
    assert_eq!(distinct(&messages), new);
    server.state.receive(message(99));
    let next = adapter
        .read_inbox(&tokens, cursor.as_deref(), small())
        .await
        .expect("next");
    let texts: Vec<&str> = next.items.iter().map(|item| item.text.as_str()).collect();
    assert_eq!(texts, ["private question 99"]);
}

#[tokio::test]
async fn bluesky_reads_a_cursor_saved_before_chat_was_read() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(0));
    let first = read(&adapter, &tokens, None).await;
    // What the previous code kept: the notifications' walk only.
    let mut saved = cursor_json(first.cursor.as_deref());
    saved.as_object_mut().expect("object").remove("chat");
    server.state.receive(mention(1));
    server.state.receive(message(2));
    let read = adapter
        .read_inbox(&tokens, Some(&saved.to_string()), ReadLimits::default())
        .await
        .expect("read");
    let kinds = kinds(&read);
    assert!(
        kinds.contains(&("Fan 1".to_owned(), IncomingKind::Mention)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("Fan 2".to_owned(), IncomingKind::Message)),
        "{kinds:?}"
    );
    assert!(
        !read.warnings.iter().any(|w| w.contains("did not read")),
        "{:?}",
        read.warnings
    );
}

#[tokio::test]
async fn bluesky_without_the_chat_privilege_warns_and_still_reads_notifications() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(1));
    server.state.receive(message(2));
    server.state.set_inbox_faults(InboxFaults {
        messages_forbidden: true,
        ..InboxFaults::default()
    });
    let read = read(&adapter, &tokens, None).await;
    assert_eq!(
        kinds(&read),
        vec![("Fan 1".to_owned(), IncomingKind::Mention)]
    );
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("Bad token scope") && w.contains("direct messages")),
        "{:?}",
        read.warnings
    );
    server.state.set_inbox_faults(InboxFaults::default());
    let later = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("read");
    // The notification at the boundary may be read again (Herald keeps it once).
    let messages: Vec<_> = kinds(&later)
        .into_iter()
        .filter(|(_, kind)| *kind == IncomingKind::Message)
        .collect();
    assert_eq!(messages, vec![("Fan 2".to_owned(), IncomingKind::Message)]);
}

#[tokio::test]
async fn bluesky_chat_out_of_reach_of_the_pds_warns_and_the_notifications_are_kept() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(message(1));
    let first = read(&adapter, &tokens, None).await;
    server.state.receive(mention(2));
    server.state.receive(message(3));
    server.state.set_inbox_faults(InboxFaults {
        chat_unreachable: true,
        ..InboxFaults::default()
    });
    // With a log cursor the refusal first looks like a cursor no longer accepted; without one
    // it is the chat service out of reach.
    let read = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("the notifications are read");
    assert_eq!(
        kinds(&read),
        vec![("Fan 2".to_owned(), IncomingKind::Mention)]
    );
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("could not be read")),
        "{:?}",
        read.warnings
    );
    assert_eq!(
        cursor_json(read.cursor.as_deref())["chat"],
        cursor_json(first.cursor.as_deref())["chat"],
        "the log's place is kept for when chat is back"
    );
    server.state.set_inbox_faults(InboxFaults::default());
    let back = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("read");
    let messages: Vec<_> = kinds(&back)
        .into_iter()
        .filter(|(_, kind)| *kind == IncomingKind::Message)
        .collect();
    assert_eq!(messages, vec![("Fan 3".to_owned(), IncomingKind::Message)]);
}

#[tokio::test]
async fn bluesky_chat_is_reached_only_through_the_service_proxy_header() {
    let (server, _adapter, tokens) = bluesky().await;
    let url = format!("{}/xrpc/chat.bsky.convo.getLog", server.url());
    let bearer = secrecy::ExposeSecret::expose_secret(&tokens.access).to_owned();
    let client = reqwest::Client::new();
    let bare = client
        .get(&url)
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("answer");
    assert_eq!(bare.status(), reqwest::StatusCode::NOT_IMPLEMENTED);
    let proxied = client
        .get(&url)
        .bearer_auth(&bearer)
        .header("atproto-proxy", "did:web:api.bsky.chat#bsky_chat")
        .send()
        .await
        .expect("answer");
    assert_eq!(proxied.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn bluesky_answers_a_chat_message_in_its_conversation_and_never_as_a_post() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(message(1));
    let read = read(&adapter, &tokens, None).await;
    let item = &read.items[0];
    let reply_to = item.reply_to.as_deref().expect("answerable");
    let published = adapter
        .reply(&tokens, reply_to, &reply_post("chat-reply"))
        .await
        .expect("reply");
    let sent = server.state.sent_messages();
    assert_eq!(sent.len(), 1);
    let convo: Value = serde_json::from_str(reply_to).expect("JSON");
    assert_eq!(
        sent[0].conversation,
        convo["convo"].as_str().expect("convo")
    );
    assert_eq!(sent[0].text, "Thanks, we are on it");
    assert!(server.state.posts().is_empty(), "no public post");
    assert!(
        published
            .url
            .is_some_and(|url| url.starts_with("https://bsky.app/messages/"))
    );
    let after = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("read");
    assert!(
        after.items.is_empty(),
        "the account's own answer is no item: {:?}",
        after.items
    );
}

#[tokio::test]
async fn bluesky_chat_rate_limit_carries_the_reset_time() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.set_inbox_faults(InboxFaults {
        messages_rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("limited");
    assert!(
        matches!(
            error,
            NetworkError::RateLimited {
                retry_after: Some(networks::RetryAfter::At(_)),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn bluesky_chat_survives_deleted_messages_lone_surrogates_a_repeated_page_and_a_refused_cursor()
 {
    let (server, adapter, tokens) = bluesky().await;
    let first = read(&adapter, &tokens, None).await;
    let gone = server.state.receive(message(1));
    server.state.delete_incoming(gone);
    server.state.receive(FakeIncoming::message(
        "odd.example",
        &format!("Odd {LONE_SURROGATE}"),
        &format!("cut {LONE_SURROGATE} emoji"),
    ));
    let read = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), small())
        .await
        .expect("read");
    assert_eq!(read.items.len(), 1, "{:?}", read.items);
    assert_eq!(read.items[0].text, "cut \u{fffd} emoji");
    assert!(
        read.warnings.iter().any(|w| w.contains("deleted")),
        "{:?}",
        read.warnings
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("malformed")),
        "{:?}",
        read.warnings
    );

    for n in 2..=20 {
        server.state.receive(message(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let before = server.state.message_reads();
    let repeated = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), small())
        .await
        .expect("read");
    assert!(
        repeated.warnings.iter().any(|w| w.contains("again")),
        "{:?}",
        repeated.warnings
    );
    assert!(!repeated.more, "a repeating log is not read at once again");
    assert!(server.state.message_reads() - before <= 2);

    server.state.set_inbox_faults(InboxFaults {
        reject_cursors: true,
        ..InboxFaults::default()
    });
    let refused = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), small())
        .await
        .expect("read after the refusal");
    assert!(
        refused
            .warnings
            .iter()
            .any(|w| w.contains("no longer accepts")),
        "{:?}",
        refused.warnings
    );
    assert!(
        !refused.items.is_empty(),
        "the newest messages are read instead"
    );
}
