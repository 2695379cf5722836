//! Reading the inbox (`ReadInbox`) of Mastodon and Bluesky against their fakes: each kind of
//! item, pages walked from the stored cursor with nothing skipped or read twice, rate limits,
//! a network stuck on one page, a cursor it no longer accepts, lone surrogates, deleted
//! items, and replies threaded under the item.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use networks::fake::bluesky::{self as fake_bluesky, DID};
use networks::fake::inbox::{FakeIncoming, InboxFaults, LONE_SURROGATE};
use networks::fake::{FakeServer, FakeState, mastodon as fake_mastodon};
use networks::{
    Endpoint, InboxRead, IncomingKind, NetworkError, Outgoing, ReadInbox, ReadLimits, Tokens,
};

const TOKEN: &str = "mastodon-token-inbox-42";

async fn mastodon() -> (FakeServer, networks::mastodon::Mastodon, Tokens) {
    let server = fake_mastodon::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake starts");
    let adapter = networks::mastodon::Mastodon::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    let tokens = Tokens {
        server: Some(server.url()),
        subject: fake_mastodon::ACCOUNT_ID.to_owned(),
        ..Tokens::bearer(TOKEN.into(), String::new())
    };
    (server, adapter, tokens)
}

pub(crate) async fn bluesky() -> (FakeServer, networks::bluesky::Bluesky, Tokens) {
    let state = FakeState::new(&fake_bluesky::access_jwt(DID, 4_000_000_000), 7);
    let server = fake_bluesky::start(state.clone()).await.expect("fake PDS");
    let adapter = networks::bluesky::Bluesky::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    let tokens = Tokens {
        subject: DID.to_owned(),
        ..Tokens::bearer(state.token.clone().into(), String::new())
    };
    (server, adapter, tokens)
}

pub(crate) fn mention(n: usize) -> FakeIncoming {
    FakeIncoming::mention(
        &format!("fan{n}.example"),
        &format!("Fan {n}"),
        &format!("hello number {n}"),
    )
}

pub(crate) fn small() -> ReadLimits {
    ReadLimits {
        page_size: 3,
        pages: 2,
    }
}

pub(crate) fn reply_post(key: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: "Thanks, we are on it".to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

/// Reads until the network has nothing more, from `cursor`: every item key read, in order.
pub(crate) async fn read_all(
    reader: &dyn ReadInbox,
    tokens: &Tokens,
    mut cursor: Option<String>,
    limits: ReadLimits,
) -> (Vec<String>, Option<String>, Vec<InboxRead>) {
    let mut keys = Vec::new();
    let mut reads = Vec::new();
    for _ in 0..20 {
        let read = reader
            .read_inbox(tokens, cursor.as_deref(), limits)
            .await
            .expect("read");
        keys.extend(read.items.iter().map(|item| item.key.clone()));
        cursor = read.cursor.clone();
        let more = read.more;
        reads.push(read);
        if !more {
            break;
        }
    }
    (keys, cursor, reads)
}

pub(crate) fn distinct(keys: &[String]) -> usize {
    keys.iter().collect::<HashSet<_>>().len()
}

#[tokio::test]
async fn mastodon_reads_mentions_replies_messages_and_followers_as_their_kinds() {
    let (server, adapter, tokens) = mastodon().await;
    server.state.receive(mention(1));
    server
        .state
        .receive(mention(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(mention(3).as_kind(IncomingKind::Message));
    server
        .state
        .receive(mention(4).as_kind(IncomingKind::Follower));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.sender.display_name.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        vec![
            ("Fan 1".to_owned(), IncomingKind::Mention),
            ("Fan 2".to_owned(), IncomingKind::Reply),
            ("Fan 3".to_owned(), IncomingKind::Message),
            ("Fan 4".to_owned(), IncomingKind::Follower),
        ]
    );
    let first = read
        .items
        .iter()
        .find(|item| item.sender.display_name == "Fan 1")
        .expect("mention");
    assert_eq!(
        first.text, "hello number 1",
        "HTML content read as plain text"
    );
    assert_eq!(first.sender.handle, "@fan1.example");
    assert!(first.reply_to.is_some());
    assert_eq!(read.cursor.as_deref(), Some("100004"), "the newest id");
}

#[tokio::test]
async fn mastodon_walks_forward_from_its_cursor_with_nothing_skipped_or_read_twice() {
    let (server, adapter, tokens) = mastodon().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first read");
    assert_eq!(first.items.len(), 1);
    for n in 1..=10 {
        server.state.receive(mention(n));
    }
    // Two pages of three per read: the walk stops at its bound and says there is more.
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(reads[0].more, "ten new items are more than one read's six");
    assert_eq!(keys.len(), 10, "{keys:?}");
    assert_eq!(distinct(&keys), 10);
    assert_eq!(cursor.as_deref(), Some("100011"));
    // Nothing new: an empty read that keeps the cursor.
    let again = adapter
        .read_inbox(&tokens, cursor.as_deref(), small())
        .await
        .expect("read again");
    assert!(again.items.is_empty());
    assert_eq!(again.cursor, cursor);
}

#[tokio::test]
async fn mastodon_stuck_on_one_page_stops_with_a_warning_and_the_cursor_kept() {
    let (server, adapter, tokens) = mastodon().await;
    for n in 1..=4 {
        server.state.receive(mention(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let read = adapter
        .read_inbox(&tokens, Some("100001"), small())
        .await
        .expect("read");
    assert!(!read.more, "a repeating network is not read for ever");
    assert!(
        read.warnings.iter().any(|w| w.contains("again")),
        "{:?}",
        read.warnings
    );
    assert_eq!(read.cursor.as_deref(), Some("100004"));
    assert!(server.state.inbox_reads() <= 2);
}

#[tokio::test]
async fn mastodon_rate_limit_carries_the_reset_time() {
    let (server, adapter, tokens) = mastodon().await;
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
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
                retry_after: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(adapter.read_inbox(&tokens, None, small()).await.is_ok());
}

#[tokio::test]
async fn mastodon_lone_surrogates_and_deleted_posts_cost_one_character_and_one_item() {
    let (server, adapter, tokens) = mastodon().await;
    server.state.receive(FakeIncoming::mention(
        "odd.example",
        &format!("Odd {LONE_SURROGATE}name"),
        &format!("cut emoji {LONE_SURROGATE} here"),
    ));
    let gone = server.state.receive(mention(2));
    server.state.delete_incoming(gone);
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    assert_eq!(read.items.len(), 1);
    assert_eq!(read.items[0].text, "cut emoji \u{fffd} here");
    assert_eq!(read.items[0].sender.display_name, "Odd \u{fffd}name");
    assert!(
        read.warnings.iter().any(|w| w.contains("malformed")),
        "{:?}",
        read.warnings
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("deleted")),
        "{:?}",
        read.warnings
    );
    assert_eq!(
        read.cursor.as_deref(),
        Some("100002"),
        "past the deleted one"
    );
}

#[tokio::test]
async fn mastodon_replies_are_threaded_and_private_messages_stay_private() {
    let (server, adapter, tokens) = mastodon().await;
    server.state.receive(mention(1));
    server
        .state
        .receive(mention(2).as_kind(IncomingKind::Message));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    for item in &read.items {
        let reply_to = item.reply_to.as_deref().expect("answerable");
        adapter
            .reply(&tokens, reply_to, &reply_post(&item.key))
            .await
            .expect("reply");
    }
    let posts = server.state.posts();
    assert_eq!(posts.len(), 2);
    let mut threaded: Vec<(String, Option<String>)> = posts
        .iter()
        .map(|post| {
            (
                post.extra["in_reply_to_id"]
                    .as_str()
                    .expect("threaded")
                    .to_owned(),
                post.extra["visibility"].as_str().map(str::to_owned),
            )
        })
        .collect();
    threaded.sort();
    assert_eq!(
        threaded,
        vec![
            ("600001".to_owned(), None),
            ("600002".to_owned(), Some("direct".to_owned()))
        ]
    );
}

#[tokio::test]
async fn bluesky_reads_mentions_replies_and_followers_as_their_kinds() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(1));
    server
        .state
        .receive(mention(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(mention(3).as_kind(IncomingKind::Follower));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let kinds: Vec<IncomingKind> = read.items.iter().map(|item| item.kind).collect();
    assert_eq!(
        kinds,
        vec![
            IncomingKind::Follower,
            IncomingKind::Reply,
            IncomingKind::Mention
        ]
    );
    assert_eq!(read.items[2].text, "hello number 1");
    assert!(
        read.items[0].reply_to.is_none(),
        "a follow cannot be answered"
    );
    let reply: serde_json::Value =
        serde_json::from_str(read.items[1].reply_to.as_deref().expect("answerable")).expect("JSON");
    assert_eq!(
        reply["root"]["uri"],
        format!("at://{DID}/app.bsky.feed.post/3kroot22222a2"),
        "a reply's thread root is the account's post"
    );
    assert_eq!(reply["parent"]["uri"], read.items[1].key.as_str());
}

#[tokio::test]
async fn bluesky_walks_down_to_what_it_saw_and_goes_on_where_a_bounded_read_stopped() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    assert_eq!(first.items.len(), 1);
    for n in 1..=10 {
        server.state.receive(mention(n));
    }
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(reads[0].more);
    // The item at the boundary may be read again (kept once by its key); the ten new ones
    // are all there, each once.
    let new: Vec<String> = keys
        .iter()
        .filter(|key| **key != first.items[0].key)
        .cloned()
        .collect();
    assert_eq!(new.len(), 10, "{keys:?}");
    assert_eq!(distinct(&new), 10);
    server.state.receive(mention(11));
    let next = adapter
        .read_inbox(&tokens, cursor.as_deref(), small())
        .await
        .expect("next");
    let texts: Vec<&str> = next.items.iter().map(|item| item.text.as_str()).collect();
    assert!(texts.contains(&"hello number 11"), "{texts:?}");
    assert!(!next.more);
}

#[tokio::test]
async fn bluesky_cursor_no_longer_accepted_starts_the_walk_again_with_a_warning() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=10 {
        server.state.receive(mention(n));
    }
    let stopped = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), small())
        .await
        .expect("bounded");
    assert!(stopped.more);
    server.state.set_inbox_faults(InboxFaults {
        reject_cursors: true,
        ..InboxFaults::default()
    });
    let again = adapter
        .read_inbox(&tokens, stopped.cursor.as_deref(), small())
        .await
        .expect("read after the refusal");
    assert!(
        again
            .warnings
            .iter()
            .any(|w| w.contains("no longer accepts")),
        "{:?}",
        again.warnings
    );
    assert!(!again.items.is_empty(), "the newest page is read instead");
}

#[tokio::test]
async fn bluesky_stuck_on_one_page_keeps_its_walk_for_the_next_read() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=10 {
        server.state.receive(mention(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let read = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), small())
        .await
        .expect("read");
    assert!(
        read.warnings.iter().any(|w| w.contains("again")),
        "{:?}",
        read.warnings
    );
    assert!(
        read.more,
        "the walk is not finished, so nothing below is skipped"
    );
    assert_eq!(
        server.state.inbox_reads(),
        3,
        "one first read, then two pages"
    );
}

#[tokio::test]
async fn bluesky_replies_name_the_thread_root_and_the_item_as_parent() {
    let (server, adapter, tokens) = bluesky().await;
    server
        .state
        .receive(mention(1).as_kind(IncomingKind::Reply));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let item = &read.items[0];
    adapter
        .reply(
            &tokens,
            item.reply_to.as_deref().expect("answerable"),
            &reply_post("reply-1"),
        )
        .await
        .expect("reply");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    let reply = &posts[0].extra["reply"];
    assert_eq!(reply["parent"]["uri"], item.key.as_str());
    assert_eq!(
        reply["root"]["uri"],
        format!("at://{DID}/app.bsky.feed.post/3kroot22222a2")
    );
    assert!(reply["parent"]["cid"].is_string());
}

#[tokio::test]
async fn bluesky_rate_limit_carries_the_reset_time() {
    let (server, adapter, tokens) = bluesky().await;
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
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
                retry_after: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
}

pub(crate) async fn x() -> (FakeServer, networks::x::X, Tokens) {
    let server = networks::fake::x::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake X");
    let adapter = networks::x::X::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    let tokens = Tokens::bearer(TOKEN.into(), networks::fake::x::USER_ID.to_owned());
    (server, adapter, tokens)
}

#[tokio::test]
async fn x_reads_mentions_and_replies_walking_down_to_since_id_across_bounded_reads() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(mention(0));
    server
        .state
        .receive(mention(1).as_kind(IncomingKind::Reply));
    let first = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("first read");
    let kinds: Vec<IncomingKind> = first.items.iter().map(|item| item.kind).collect();
    assert_eq!(kinds, [IncomingKind::Reply, IncomingKind::Mention]);
    assert_eq!(first.items[1].sender.handle, "@fan0.example");
    for n in 2..=14 {
        server.state.receive(mention(n));
    }
    let limits = ReadLimits {
        page_size: 5,
        pages: 2,
    };
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, limits).await;
    assert!(
        reads[0].more,
        "thirteen new mentions are more than one read's ten"
    );
    assert_eq!(keys.len(), 13, "{keys:?}");
    assert_eq!(distinct(&keys), 13);
    let again = adapter
        .read_inbox(&tokens, cursor.as_deref(), limits)
        .await
        .expect("nothing new");
    assert!(again.items.is_empty());
}

#[tokio::test]
async fn x_replies_name_the_post_they_answer() {
    let (server, adapter, tokens) = x().await;
    server.state.receive(mention(1));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let item = &read.items[0];
    adapter
        .reply(
            &tokens,
            item.reply_to.as_deref().expect("answerable"),
            &reply_post("x-reply"),
        )
        .await
        .expect("reply");
    let posts = server.state.posts();
    assert_eq!(
        posts[0].extra["reply"]["in_reply_to_tweet_id"],
        item.key.as_str()
    );
}
