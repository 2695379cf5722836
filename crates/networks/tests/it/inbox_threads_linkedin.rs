//! Reading the inbox (`ReadInbox`) of Threads and LinkedIn against their fakes: mentions and
//! the answers under the account's posts (Threads' replies, LinkedIn's comments), each list
//! walked across bounded reads from the stored cursor with nothing skipped or read twice,
//! rate limits with their resets, a network stuck on one page, a page token it no longer
//! accepts, lone surrogates, deleted items and posts, and answers threaded under the item.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use networks::fake::inbox::{FakeIncoming, InboxFaults, LONE_SURROGATE};
use networks::fake::{FakePost, FakeServer, FakeState, linkedin as fake_linkedin};
use networks::fake::{facebook::REGAIN_MINUTES, threads as fake_threads};
use networks::linkedin::LinkedIn;
use networks::threads::Threads;
use networks::{
    Adapter, Endpoint, IncomingKind, NetworkError, Outgoing, ReadInbox, ReadLimits, RetryAfter,
    Tokens,
};
use serde_json::json;

use crate::inbox::{distinct, mention, read_all, reply_post, small};

const TOKEN: &str = "threads-linkedin-inbox-token-7";

async fn threads() -> (FakeServer, Threads, Tokens) {
    let server = fake_threads::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake Threads starts");
    let adapter = Threads::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    let tokens = Tokens::bearer(TOKEN.into(), fake_threads::USER_ID.to_owned());
    (server, adapter, tokens)
}

async fn linkedin() -> (FakeServer, LinkedIn, Tokens) {
    let server = fake_linkedin::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake LinkedIn starts");
    let adapter = LinkedIn::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    let tokens = Tokens::bearer(TOKEN.into(), fake_linkedin::ORGANIZATION_URN.to_owned());
    (server, adapter, tokens)
}

/// The account's own post, published through the adapter: its id.
async fn own_post(adapter: &dyn Adapter, tokens: &Tokens, text: &str) -> String {
    let post = Outgoing {
        key: format!("own-{text}"),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_796_000_000).expect("time"),
    };
    adapter
        .publish(tokens, &post)
        .await
        .expect("published")
        .remote_id
}

/// An answer from fan `n` under `post`, as `kind`.
fn answer(n: usize, post: &str, kind: IncomingKind) -> FakeIncoming {
    mention(n).as_kind(kind).on(post)
}

fn keys_of(read: &networks::InboxRead) -> HashSet<String> {
    read.items.iter().map(|item| item.key.clone()).collect()
}

#[tokio::test]
async fn threads_reads_mentions_and_the_replies_under_its_posts_as_their_kinds() {
    let (server, adapter, tokens) = threads().await;
    let post = own_post(&adapter, &tokens, "Fresh bread today").await;
    server.state.receive(mention(1));
    server.state.receive(answer(2, &post, IncomingKind::Reply));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.text.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("hello number 1".to_owned(), IncomingKind::Mention),
            ("hello number 2".to_owned(), IncomingKind::Reply),
        ]
    );
    let reply = read
        .items
        .iter()
        .find(|item| item.kind == IncomingKind::Reply)
        .expect("reply");
    assert_eq!(reply.sender.handle, "@fan2.example");
    assert_eq!(
        reply.at,
        Timestamp::from_second(1_796_112_001).expect("time"),
        "the Graph's `+0000` time read"
    );
    assert!(
        reply
            .url
            .as_deref()
            .is_some_and(|url| url.contains("threads.com"))
    );
    assert_eq!(
        distinct(&read.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>()),
        2
    );
    assert!(!read.more);
}

#[tokio::test]
async fn threads_walks_mentions_and_replies_across_bounded_reads_with_nothing_skipped() {
    let (server, adapter, tokens) = threads().await;
    let older = own_post(&adapter, &tokens, "Monday's loaf").await;
    let newer = own_post(&adapter, &tokens, "Tuesday's loaf").await;
    server.state.receive(mention(0));
    server.state.receive(answer(1, &older, IncomingKind::Reply));
    let first = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("first read");
    let first_keys = keys_of(&first);
    assert_eq!(first_keys.len(), 2, "{:?}", first.items);
    for n in 2..=8 {
        server.state.receive(mention(n));
    }
    for n in 9..=13 {
        server.state.receive(answer(n, &older, IncomingKind::Reply));
    }
    for n in 14..=17 {
        server.state.receive(answer(n, &newer, IncomingKind::Reply));
    }
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(
        reads[0].more,
        "sixteen new items are more than one read's six"
    );
    let new: Vec<String> = keys
        .iter()
        .filter(|key| !first_keys.contains(*key))
        .cloned()
        .collect();
    assert_eq!(new.len(), 16, "{keys:?}");
    assert_eq!(distinct(&new), 16);
    // A new adapter stands for a restarted Herald: all it has is the cursor it stored.
    let restarted = Threads::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    server
        .state
        .receive(answer(18, &newer, IncomingKind::Reply));
    let (later, _, _) = read_all(&restarted, &tokens, cursor, small()).await;
    let fresh: Vec<&String> = later
        .iter()
        .filter(|key| !keys.contains(*key) && !first_keys.contains(*key))
        .collect();
    assert_eq!(fresh.len(), 1, "only the one new reply: {later:?}");
}

#[tokio::test]
async fn threads_rate_limit_carries_the_time_to_regain_access() {
    let (server, adapter, tokens) = threads().await;
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("throttled");
    assert_eq!(
        error,
        NetworkError::RateLimited {
            retry_after: Some(RetryAfter::Delay(Duration::from_secs(REGAIN_MINUTES * 60))),
            message: "400 Bad Request: (#4) There have been too many calls from this account. Wait a bit and try again. (OAuthException 4)".to_owned(),
        }
    );
    assert!(adapter.read_inbox(&tokens, None, small()).await.is_ok());
}

#[tokio::test]
async fn threads_stuck_on_one_page_stops_with_a_warning_and_keeps_its_walk() {
    let (server, adapter, tokens) = threads().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=8 {
        server.state.receive(mention(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let limits = ReadLimits {
        page_size: 3,
        pages: 3,
    };
    let read = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), limits)
        .await
        .expect("read");
    assert!(
        read.warnings.iter().any(|w| w.contains("same page")),
        "{:?}",
        read.warnings
    );
    assert!(!read.more, "a repeating network is not read again at once");
    let cursor: serde_json::Value =
        serde_json::from_str(read.cursor.as_deref().expect("cursor")).expect("JSON");
    assert!(
        cursor["mentions"]["walk"]["page"].is_string(),
        "the walk is kept, so nothing below is skipped: {cursor}"
    );
    // The page was read twice and the walk stopped: one first read, two mention pages, the
    // posts listed (no replies to walk).
    assert_eq!(server.state.inbox_reads(), 3);
}

#[tokio::test]
async fn threads_cursor_no_longer_accepted_starts_the_walk_again_with_a_warning() {
    let (server, adapter, tokens) = threads().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=10 {
        server.state.receive(mention(n));
    }
    let limits = ReadLimits {
        page_size: 3,
        pages: 1,
    };
    let stopped = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), limits)
        .await
        .expect("bounded");
    assert!(stopped.more);
    server.state.set_inbox_faults(InboxFaults {
        reject_cursors: true,
        ..InboxFaults::default()
    });
    let refused = adapter
        .read_inbox(&tokens, stopped.cursor.as_deref(), small())
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
    server.state.set_inbox_faults(InboxFaults::default());
    let (keys, _, _) = read_all(&adapter, &tokens, refused.cursor.clone(), small()).await;
    let mut all = keys_of(&stopped);
    all.extend(keys);
    all.extend(keys_of(&refused));
    assert_eq!(
        all.len(),
        11,
        "the walk again from the newest read all: {all:?}"
    );
}

#[tokio::test]
async fn threads_lone_surrogates_cost_a_character_and_deleted_items_and_posts_are_left_out() {
    let (server, adapter, tokens) = threads().await;
    let kept = own_post(&adapter, &tokens, "Kept post").await;
    let doomed = own_post(&adapter, &tokens, "Doomed post").await;
    server.state.receive(FakeIncoming::mention(
        "odd.example",
        "Odd",
        &format!("cut emoji {LONE_SURROGATE} here"),
    ));
    let gone = server.state.receive(mention(2));
    server.state.delete_incoming(gone);
    server.state.receive(answer(3, &kept, IncomingKind::Reply));
    server
        .state
        .receive(answer(4, &doomed, IncomingKind::Reply));
    let first = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let texts: HashSet<&str> = first.items.iter().map(|item| item.text.as_str()).collect();
    assert_eq!(
        texts,
        HashSet::from([
            "cut emoji \u{fffd} here",
            "hello number 3",
            "hello number 4"
        ])
    );
    assert!(
        first.warnings.iter().any(|w| w.contains("malformed")),
        "{:?}",
        first.warnings
    );
    // The post is deleted after Threads listed it: its replies are no longer read.
    server
        .state
        .receive(answer(5, &doomed, IncomingKind::Reply));
    server.state.receive(answer(6, &kept, IncomingKind::Reply));
    let listed = adapter
        .read_inbox(
            &tokens,
            first.cursor.as_deref(),
            ReadLimits {
                page_size: 10,
                pages: 2,
            },
        )
        .await
        .expect("mentions and the list");
    assert!(listed.more);
    assert!(server.state.remove(&doomed));
    let (keys, _, reads) = read_all(&adapter, &tokens, listed.cursor, ReadLimits::default()).await;
    let before = keys_of(&first);
    let new: Vec<&String> = keys.iter().filter(|key| !before.contains(*key)).collect();
    assert_eq!(new.len(), 1, "the reply under the kept post: {keys:?}");
    assert!(
        reads
            .iter()
            .flat_map(|read| &read.warnings)
            .any(|w| w.contains("was deleted")),
        "{reads:?}"
    );
}

#[tokio::test]
async fn threads_answers_are_posts_naming_the_item_as_reply_to_id() {
    let (server, adapter, tokens) = threads().await;
    let post = own_post(&adapter, &tokens, "Croissants at nine").await;
    server.state.receive(answer(1, &post, IncomingKind::Reply));
    server.state.receive(mention(2));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    for item in &read.items {
        let published = adapter
            .reply(
                &tokens,
                item.reply_to.as_deref().expect("answerable"),
                &reply_post(&item.key),
            )
            .await
            .expect("answered");
        let made = server.state.post(&published.remote_id).expect("made");
        assert_eq!(made.extra["reply_to_id"], item.key.as_str(), "{made:?}");
        assert_eq!(made.text, "Thanks, we are on it");
    }
    // The answers are replies, not posts of the profile: no walk is made under them.
    let again = adapter
        .read_inbox(&tokens, read.cursor.as_deref(), ReadLimits::default())
        .await
        .expect("again");
    let cursor: serde_json::Value =
        serde_json::from_str(again.cursor.as_deref().expect("cursor")).expect("JSON");
    assert_eq!(
        cursor["posts"].as_object().map(|posts| posts.len()),
        Some(1),
        "{cursor}"
    );
    let refused = adapter
        .reply(&tokens, "{\"media\": \"1/../me\"}", &reply_post("bad"))
        .await
        .expect_err("not a Graph id");
    assert!(matches!(refused, NetworkError::Rejected(_)));
}

#[tokio::test]
async fn linkedin_reads_comments_on_the_organizations_posts_and_posts_that_mention_it() {
    let (server, adapter, tokens) = linkedin().await;
    let post = own_post(&adapter, &tokens, "Our new bakery opens").await;
    server.state.receive(
        FakeIncoming::mention("ann.example", "Ann", "Congrats!").as_kind(IncomingKind::Comment),
    );
    server
        .state
        .receive(answer(1, &post, IncomingKind::Comment));
    server.state.receive(FakeIncoming::mention(
        "bob.example",
        "Bob",
        "Loved the buns at Sunny (50% off) #bakery",
    ));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.text.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            (
                "Loved the buns at Sunny (50% off) #bakery".to_owned(),
                IncomingKind::Mention
            ),
            ("hello number 1".to_owned(), IncomingKind::Comment),
        ],
        "a comment under no post of the organization is not read; the little text format is undone"
    );
    let comment = read
        .items
        .iter()
        .find(|item| item.kind == IncomingKind::Comment)
        .expect("comment");
    assert!(
        comment.key.starts_with("urn:li:comment:("),
        "{}",
        comment.key
    );
    assert_eq!(comment.sender.handle, "urn:li:person:sender-fan1.example");
    let mention = read
        .items
        .iter()
        .find(|item| item.kind == IncomingKind::Mention)
        .expect("mention");
    assert_eq!(mention.key, "urn:li:share:100003");
}

#[tokio::test]
async fn linkedin_walks_offsets_across_bounded_reads_with_nothing_skipped_or_read_twice() {
    let (server, adapter, tokens) = linkedin().await;
    let post = own_post(&adapter, &tokens, "Sourdough class").await;
    server.state.receive(mention(0));
    // The first read's cycle takes each list's newest page only: the history before Herald.
    let first = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("first");
    assert!(!first.more);
    let first_keys = keys_of(&first);
    assert_eq!(first_keys.len(), 1);
    for n in 1..=7 {
        server.state.receive(mention(n));
    }
    for n in 8..=15 {
        server
            .state
            .receive(answer(n, &post, IncomingKind::Comment));
    }
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(reads[0].more);
    let new: Vec<String> = keys
        .iter()
        .filter(|key| !first_keys.contains(*key))
        .cloned()
        .collect();
    assert_eq!(new.len(), 15, "{keys:?}");
    assert_eq!(distinct(&new), 15);
    let (again, _, _) = read_all(&adapter, &tokens, cursor, small()).await;
    assert!(
        again
            .iter()
            .all(|key| keys.contains(key) || first_keys.contains(key)),
        "nothing new: {again:?}"
    );
}

#[tokio::test]
async fn linkedin_rate_limit_waits_for_the_midnight_utc_when_its_daily_quota_resets() {
    let (server, adapter, tokens) = linkedin().await;
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("limited");
    let NetworkError::RateLimited {
        retry_after: Some(RetryAfter::At(reset)),
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(reset.as_second() % 86_400, 0, "a midnight UTC: {reset}");
    assert!(
        *reset > Timestamp::from_second(1_796_000_000).expect("time"),
        "{reset}"
    );
    assert!(message.contains("DAY limit"), "{message}");
}

#[tokio::test]
async fn linkedin_stuck_on_one_page_or_refusing_an_offset_stops_with_a_warning() {
    let (server, adapter, tokens) = linkedin().await;
    server.state.receive(mention(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=9 {
        server.state.receive(mention(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let limits = ReadLimits {
        page_size: 3,
        pages: 3,
    };
    let stuck = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), limits)
        .await
        .expect("stuck");
    assert!(
        stuck.warnings.iter().any(|w| w.contains("same page")),
        "{:?}",
        stuck.warnings
    );
    assert!(!stuck.more);
    server.state.set_inbox_faults(InboxFaults {
        reject_cursors: true,
        ..InboxFaults::default()
    });
    let refused = adapter
        .read_inbox(&tokens, stuck.cursor.as_deref(), limits)
        .await
        .expect("refused");
    assert!(
        refused
            .warnings
            .iter()
            .any(|w| w.contains("no longer accepts")),
        "{:?}",
        refused.warnings
    );
    server.state.set_inbox_faults(InboxFaults::default());
    let (keys, _, _) = read_all(&adapter, &tokens, refused.cursor.clone(), small()).await;
    let mut all = keys_of(&first);
    all.extend(keys_of(&stuck));
    all.extend(keys_of(&refused));
    all.extend(keys);
    assert_eq!(all.len(), 10, "{all:?}");
}

#[tokio::test]
async fn linkedin_leaves_out_a_deleted_mention_and_repairs_lone_surrogates() {
    let (server, adapter, tokens) = linkedin().await;
    let gone = server.state.receive(mention(1));
    server.state.delete_incoming(gone);
    server.state.receive(FakeIncoming::mention(
        "odd.example",
        "Odd",
        &format!("half {LONE_SURROGATE} an emoji"),
    ));
    let post = own_post(&adapter, &tokens, "Rye day").await;
    server.state.receive(
        FakeIncoming::mention("cy.example", "Cy", &format!("so {LONE_SURROGATE} good"))
            .as_kind(IncomingKind::Comment)
            .on(&post),
    );
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    let texts: HashSet<&str> = read.items.iter().map(|item| item.text.as_str()).collect();
    assert_eq!(
        texts,
        HashSet::from(["half \u{fffd} an emoji", "so \u{fffd} good"])
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("deleted")),
        "{:?}",
        read.warnings
    );
}

#[tokio::test]
async fn linkedin_answers_are_comments_under_the_comment_or_on_the_mentioning_post() {
    let (server, adapter, tokens) = linkedin().await;
    let post = own_post(&adapter, &tokens, "Baguette tips").await;
    server
        .state
        .receive(answer(1, &post, IncomingKind::Comment));
    server.state.receive(mention(2));
    let read = adapter
        .read_inbox(&tokens, None, ReadLimits::default())
        .await
        .expect("read");
    assert_eq!(read.items.len(), 2);
    for item in &read.items {
        let published = adapter
            .reply(
                &tokens,
                item.reply_to.as_deref().expect("answerable"),
                &reply_post(&item.key),
            )
            .await
            .expect("answered");
        let made = server.state.post(&published.remote_id).expect("made");
        assert_eq!(made.extra["actor"], fake_linkedin::ORGANIZATION_URN);
        assert_eq!(made.extra["comment_on"], item.key.as_str(), "{made:?}");
        match item.kind {
            IncomingKind::Comment => {
                assert_eq!(made.extra["parentComment"], item.key.as_str());
                assert_eq!(made.extra["object"], post.as_str());
            }
            _ => assert_eq!(made.extra["parentComment"], serde_json::Value::Null),
        }
    }
}

#[tokio::test]
async fn linkedin_refuses_to_read_a_members_own_profile() {
    let (server, adapter, _) = linkedin().await;
    server.state.record(FakePost {
        id: "urn:li:share:1".to_owned(),
        text: "x".to_owned(),
        key: None,
        media: Vec::new(),
        extra: json!({ "author": fake_linkedin::MEMBER_URN }),
    });
    let member = Tokens::bearer(TOKEN.into(), fake_linkedin::MEMBER_URN.to_owned());
    let error = adapter
        .read_inbox(&member, None, small())
        .await
        .expect_err("members' inboxes are not open to apps");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    assert_eq!(server.state.inbox_reads(), 0);
}
