//! Reading the inbox (`ReadInbox`) of a Facebook Page and an Instagram professional account
//! against their fakes: each kind of item, lists walked down to their marks across bounded
//! reads with nothing skipped or read twice, Meta's throttling with its reset, a list served
//! again, a cursor no longer accepted, a deleted post, lone surrogates, messages the token may
//! not read, and answers threaded under the comment or sent privately.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use networks::fake::facebook::{self as fake_facebook, PAGE_ID, REGAIN_MINUTES};
use networks::fake::inbox::{FakeIncoming, InboxFaults, LONE_SURROGATE};
use networks::fake::instagram::{self as fake_instagram, IG_USER_ID};
use networks::fake::meta_inbox::{Meta, comment_id};
use networks::fake::{FakeServer, FakeState};
use networks::{
    Endpoint, InboxRead, Incoming, IncomingKind, NetworkError, Outgoing, ReadInbox, ReadLimits,
    RetryAfter, Tokens,
};
use serde_json::Value;

const TOKEN: &str = "meta-page-token-inbox-7";

async fn facebook() -> (FakeServer, networks::facebook::Facebook, Tokens) {
    let server = fake_facebook::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake Facebook starts");
    let adapter = networks::facebook::Facebook::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    (
        server,
        adapter,
        Tokens::bearer(TOKEN.into(), PAGE_ID.to_owned()),
    )
}

async fn instagram() -> (FakeServer, networks::instagram::Instagram, Tokens) {
    let server = fake_instagram::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake Instagram starts");
    let adapter = networks::instagram::Instagram::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_secs(5)),
        None,
    ));
    (
        server,
        adapter,
        Tokens::bearer(TOKEN.into(), IG_USER_ID.to_owned()),
    )
}

fn comment(n: usize) -> FakeIncoming {
    FakeIncoming::mention(
        &format!("fan{n}.example"),
        &format!("Fan {n}"),
        &format!("comment number {n}"),
    )
    .as_kind(IncomingKind::Comment)
}

fn small() -> ReadLimits {
    ReadLimits {
        page_size: 2,
        pages: 3,
    }
}

fn reply_post(key: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: "Thanks, we are on it".to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

async fn read(reader: &dyn ReadInbox, tokens: &Tokens, cursor: Option<&str>) -> InboxRead {
    reader
        .read_inbox(tokens, cursor, ReadLimits::default())
        .await
        .expect("read")
}

/// Reads until the network has nothing more, from `cursor`: every item key read, in order.
async fn read_all(
    reader: &dyn ReadInbox,
    tokens: &Tokens,
    mut cursor: Option<String>,
    limits: ReadLimits,
) -> (Vec<String>, Option<String>, Vec<InboxRead>) {
    let mut keys = Vec::new();
    let mut reads = Vec::new();
    for _ in 0..30 {
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

fn by_name<'a>(read: &'a InboxRead, name: &str) -> &'a Incoming {
    read.items
        .iter()
        .find(|item| item.sender.display_name == name)
        .unwrap_or_else(|| panic!("no item from {name}: {:?}", read.items))
}

fn reply_to(item: &Incoming) -> Value {
    serde_json::from_str(item.reply_to.as_deref().expect("answerable")).expect("JSON")
}

/// The new keys among `keys` (the ones at the first read's mark may come again), each once.
fn new_keys(keys: &[String], seen: &[String]) -> HashSet<String> {
    let new: Vec<&String> = keys.iter().filter(|key| !seen.contains(key)).collect();
    let distinct: HashSet<String> = new.iter().map(|key| (*key).clone()).collect();
    assert_eq!(distinct.len(), new.len(), "a new key read twice: {keys:?}");
    distinct
}

#[tokio::test]
async fn facebook_reads_comments_replies_mentions_and_messages_as_their_kinds() {
    let (server, adapter, tokens) = facebook().await;
    let first = server.state.receive(comment(1));
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(comment(3).as_kind(IncomingKind::Mention));
    server
        .state
        .receive(comment(4).as_kind(IncomingKind::Message));
    server
        .state
        .receive(comment(5).as_kind(IncomingKind::Follower));
    let read = read(&adapter, &tokens, None).await;
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.sender.display_name.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("Fan 1".to_owned(), IncomingKind::Comment),
            ("Fan 2".to_owned(), IncomingKind::Reply),
            ("Fan 3".to_owned(), IncomingKind::Mention),
            ("Fan 4".to_owned(), IncomingKind::Message),
        ],
        "Facebook has no follower events"
    );
    let parent = comment_id(Meta::Facebook, first);
    let commented = by_name(&read, "Fan 1");
    assert_eq!(commented.key, parent);
    assert_eq!(commented.text, "comment number 1");
    assert_eq!(commented.sender.id, "sender-fan1.example");
    assert_eq!(reply_to(commented)["on"], parent.as_str());
    assert_eq!(
        reply_to(by_name(&read, "Fan 2"))["on"],
        parent.as_str(),
        "a reply is answered under its top-level comment"
    );
    assert_eq!(
        reply_to(by_name(&read, "Fan 4"))["recipient"],
        "sender-fan4.example"
    );
    assert_eq!(
        adapter.impersonation_form(),
        "https://www.facebook.com/help/174210519303259"
    );
    let keys: HashSet<&str> = read.items.iter().map(|item| item.key.as_str()).collect();
    assert_eq!(keys.len(), 4, "every key unique");
}

#[tokio::test]
async fn facebook_walks_bounded_reads_down_to_its_marks_with_nothing_skipped() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first read");
    let seen: Vec<String> = first.items.iter().map(|item| item.key.clone()).collect();
    assert_eq!(seen.len(), 1);
    for n in 1..=9 {
        server.state.receive(comment(n));
    }
    server
        .state
        .receive(comment(10).as_kind(IncomingKind::Message));
    server
        .state
        .receive(comment(11).as_kind(IncomingKind::Mention));
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(
        reads[0].more,
        "eleven new items are more than three pages of two"
    );
    assert_eq!(new_keys(&keys, &seen).len(), 11, "{keys:?}");
    // Nothing new: no post moved, so no comments are read again; a list without activity
    // (the mentions) gives at most its newest item again, which Herald keeps once by its key.
    let again = adapter
        .read_inbox(&tokens, cursor.as_deref(), small())
        .await
        .expect("nothing new");
    assert!(
        again
            .items
            .iter()
            .all(|item| keys.contains(&item.key) && item.kind == IncomingKind::Mention),
        "{:?}",
        again.items
    );
    assert!(again.items.len() <= 1);
    assert!(!again.more);
    // One more comment: only it (and at most its post's mark) is read.
    server.state.receive(comment(12));
    let next = adapter
        .read_inbox(&tokens, again.cursor.as_deref(), small())
        .await
        .expect("next");
    let texts: Vec<&str> = next.items.iter().map(|item| item.text.as_str()).collect();
    assert!(texts.contains(&"comment number 12"), "{texts:?}");
    assert!(texts.len() <= 3, "{texts:?}");
}

#[tokio::test]
async fn facebook_throttling_is_a_rate_limit_with_the_time_to_regain_access() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(1));
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("throttled");
    assert!(
        matches!(
            error,
            NetworkError::RateLimited {
                retry_after: Some(RetryAfter::Delay(delay)),
                ..
            } if delay == Duration::from_secs(REGAIN_MINUTES * 60)
        ),
        "{error:?}"
    );
    let after = read(&adapter, &tokens, None).await;
    assert_eq!(after.items.len(), 1, "nothing lost");
}

#[tokio::test]
async fn facebook_served_the_same_page_again_stops_with_a_warning_and_its_place_kept() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    let seen: Vec<String> = first.items.iter().map(|item| item.key.clone()).collect();
    for n in 1..=10 {
        server.state.receive(comment(n));
    }
    server.state.set_inbox_faults(InboxFaults {
        same_page: true,
        ..InboxFaults::default()
    });
    let stuck = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), small())
        .await
        .expect("read");
    assert!(
        stuck.warnings.iter().any(|w| w.contains("again")),
        "{:?}",
        stuck.warnings
    );
    assert!(!stuck.more, "a repeating network is not read again at once");
    server.state.set_inbox_faults(InboxFaults::default());
    let (keys, ..) = read_all(&adapter, &tokens, stuck.cursor, small()).await;
    let mut all: Vec<String> = stuck.items.iter().map(|item| item.key.clone()).collect();
    all.extend(keys);
    let distinct: HashSet<&String> = all.iter().filter(|key| !seen.contains(key)).collect();
    assert_eq!(
        distinct.len(),
        10,
        "the walk went on from its place: {all:?}"
    );
}

#[tokio::test]
async fn facebook_cursor_no_longer_accepted_reads_that_list_again_from_the_top() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    for n in 1..=12 {
        server.state.receive(comment(n));
    }
    let limits = ReadLimits {
        page_size: 2,
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
    let again = adapter
        .read_inbox(
            &tokens,
            stopped.cursor.as_deref(),
            ReadLimits {
                page_size: 2,
                pages: 2,
            },
        )
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
async fn facebook_deleted_posts_and_lone_surrogates_cost_a_warning_and_one_character() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first");
    // Comments alternate between the fake's two posts: deleting the odd ones deletes a post.
    let mut odd = Vec::new();
    for n in 1..=8 {
        let mut item = comment(n);
        if n == 1 {
            item.sender_name = format!("Odd {LONE_SURROGATE}name");
        }
        let id = server.state.receive(item);
        if id % 2 == 1 {
            odd.push(id);
        }
    }
    let limits = ReadLimits {
        page_size: 2,
        pages: 1,
    };
    let stopped = adapter
        .read_inbox(&tokens, first.cursor.as_deref(), limits)
        .await
        .expect("bounded");
    assert!(stopped.more);
    for id in odd.iter().chain([&100_001]) {
        server.state.delete_incoming(*id);
    }
    let (_, _, reads) = read_all(&adapter, &tokens, stopped.cursor.clone(), small()).await;
    let warnings: Vec<&String> = reads.iter().flat_map(|read| &read.warnings).collect();
    assert!(
        warnings.iter().any(|w| w.contains("deleted")),
        "{warnings:?}"
    );
    let names: Vec<&str> = reads
        .iter()
        .chain([&stopped])
        .flat_map(|read| &read.items)
        .map(|item| item.sender.display_name.as_str())
        .collect();
    assert!(names.contains(&"Odd \u{fffd}name"), "{names:?}");
    assert!(
        reads
            .iter()
            .chain([&stopped])
            .flat_map(|read| &read.warnings)
            .any(|w| w.contains("malformed")),
        "the repair is told"
    );
}

#[tokio::test]
async fn facebook_without_the_messaging_permission_still_reads_comments() {
    let (server, adapter, tokens) = facebook().await;
    server.state.receive(comment(1));
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Message));
    server.state.set_inbox_faults(InboxFaults {
        messages_forbidden: true,
        ..InboxFaults::default()
    });
    let read = read(&adapter, &tokens, None).await;
    assert_eq!(read.items.len(), 1);
    assert_eq!(read.items[0].kind, IncomingKind::Comment);
    assert!(
        read.warnings.iter().any(|w| w.contains("pages_messaging")),
        "{:?}",
        read.warnings
    );
}

#[tokio::test]
async fn facebook_answers_go_under_the_comment_and_privately_to_who_wrote() {
    let (server, adapter, tokens) = facebook().await;
    let top = server.state.receive(comment(1));
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(comment(3).as_kind(IncomingKind::Message));
    server
        .state
        .receive(comment(4).as_kind(IncomingKind::Mention));
    let read = read(&adapter, &tokens, None).await;
    for item in &read.items {
        let published = adapter
            .reply(
                &tokens,
                item.reply_to.as_deref().expect("answerable"),
                &reply_post(&item.key),
            )
            .await
            .expect("answer sent");
        assert!(!published.remote_id.is_empty());
    }
    let named: Vec<(String, Value)> = server
        .state
        .posts()
        .iter()
        .map(|post| {
            (
                post.extra["inbox_reply"]
                    .as_str()
                    .expect("a reply")
                    .to_owned(),
                post.extra["named"].clone(),
            )
        })
        .collect();
    let parent = comment_id(Meta::Facebook, top);
    let under: Vec<&Value> = named
        .iter()
        .filter(|(kind, _)| kind == "comment")
        .map(|(_, named)| &named["on"])
        .collect();
    assert_eq!(
        under.iter().filter(|on| **on == parent.as_str()).count(),
        2,
        "the comment and its reply are both answered under the comment: {named:?}"
    );
    assert_eq!(under.len(), 3, "and the mention under its post");
    let message = named
        .iter()
        .find(|(kind, _)| kind == "message")
        .expect("a private answer");
    assert_eq!(message.1["recipient"], "sender-fan3.example");
    assert_eq!(message.1["messaging_type"], "RESPONSE");
    let posts = server.state.posts();
    assert!(posts.iter().all(|post| post.text == "Thanks, we are on it"));
}

#[tokio::test]
async fn instagram_reads_comments_replies_tags_and_messages_as_their_kinds() {
    let (server, adapter, tokens) = instagram().await;
    let top = server.state.receive(comment(1));
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(comment(3).as_kind(IncomingKind::Mention));
    server
        .state
        .receive(comment(4).as_kind(IncomingKind::Message));
    let read = read(&adapter, &tokens, None).await;
    let mut kinds: Vec<(String, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.sender.display_name.clone(), item.kind))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kinds,
        [
            ("fan1.example".to_owned(), IncomingKind::Comment),
            ("fan2.example".to_owned(), IncomingKind::Reply),
            ("fan3.example".to_owned(), IncomingKind::Mention),
            ("fan4.example".to_owned(), IncomingKind::Message),
        ]
    );
    let parent = comment_id(Meta::Instagram, top);
    let replied = by_name(&read, "fan2.example");
    assert_eq!(replied.sender.handle, "@fan2.example");
    assert_eq!(reply_to(replied)["on"], parent.as_str());
    assert!(
        by_name(&read, "fan3.example").reply_to.is_none(),
        "Instagram does not take comments on media the account is tagged in"
    );
    assert_eq!(
        adapter.impersonation_form(),
        "https://help.instagram.com/contact/636276399721841"
    );
}

#[tokio::test]
async fn instagram_walks_bounded_reads_and_a_new_reply_moves_its_media() {
    let (server, adapter, tokens) = instagram().await;
    server.state.receive(comment(0));
    let first = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect("first read");
    let seen: Vec<String> = first.items.iter().map(|item| item.key.clone()).collect();
    for n in 1..=10 {
        server.state.receive(comment(n));
    }
    let (keys, cursor, reads) = read_all(&adapter, &tokens, first.cursor, small()).await;
    assert!(reads[0].more);
    assert_eq!(new_keys(&keys, &seen).len(), 10, "{keys:?}");
    let quiet = adapter
        .read_inbox(&tokens, cursor.as_deref(), small())
        .await
        .expect("nothing new");
    assert!(quiet.items.is_empty(), "{:?}", quiet.items);
    server
        .state
        .receive(comment(11).as_kind(IncomingKind::Reply));
    let next = adapter
        .read_inbox(&tokens, quiet.cursor.as_deref(), small())
        .await
        .expect("next");
    let kinds: Vec<(&str, IncomingKind)> = next
        .items
        .iter()
        .map(|item| (item.text.as_str(), item.kind))
        .collect();
    assert!(
        kinds.contains(&("comment number 11", IncomingKind::Reply)),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn instagram_throttling_is_a_rate_limit_with_the_time_to_regain_access() {
    let (server, adapter, tokens) = instagram().await;
    server.state.set_inbox_faults(InboxFaults {
        rate_limited: 1,
        ..InboxFaults::default()
    });
    let error = adapter
        .read_inbox(&tokens, None, small())
        .await
        .expect_err("throttled");
    assert!(
        matches!(
            error,
            NetworkError::RateLimited {
                retry_after: Some(RetryAfter::Delay(delay)),
                ..
            } if delay == Duration::from_secs(REGAIN_MINUTES * 60)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn instagram_answers_go_under_the_top_comment_and_privately_to_who_wrote() {
    let (server, adapter, tokens) = instagram().await;
    let top = server.state.receive(comment(1));
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Reply));
    server
        .state
        .receive(comment(3).as_kind(IncomingKind::Message));
    let read = read(&adapter, &tokens, None).await;
    for item in &read.items {
        adapter
            .reply(
                &tokens,
                item.reply_to.as_deref().expect("answerable"),
                &reply_post(&item.key),
            )
            .await
            .expect("answer sent");
    }
    let posts = server.state.posts();
    assert_eq!(posts.len(), 3);
    let parent = comment_id(Meta::Instagram, top);
    let under = posts
        .iter()
        .filter(|post| post.extra["named"]["on"] == parent.as_str())
        .count();
    assert_eq!(under, 2, "{posts:?}");
    assert!(
        posts
            .iter()
            .any(|post| post.extra["named"]["recipient"] == "sender-fan3.example")
    );
    let refused = adapter
        .reply(
            &tokens,
            r#"{"via":"message","recipient":"nobody-wrote"}"#,
            &reply_post("x"),
        )
        .await
        .expect_err("only who wrote can be answered");
    assert!(matches!(refused, NetworkError::Rejected(_)), "{refused:?}");
}

#[tokio::test]
async fn instagram_without_the_messaging_permission_still_reads_comments_repaired() {
    let (server, adapter, tokens) = instagram().await;
    server.state.receive(
        FakeIncoming::mention(
            "odd.example",
            "Odd",
            &format!("cut emoji {LONE_SURROGATE} here"),
        )
        .as_kind(IncomingKind::Comment),
    );
    server
        .state
        .receive(comment(2).as_kind(IncomingKind::Message));
    server.state.set_inbox_faults(InboxFaults {
        messages_forbidden: true,
        ..InboxFaults::default()
    });
    let read = read(&adapter, &tokens, None).await;
    let kinds: Vec<(&str, IncomingKind)> = read
        .items
        .iter()
        .map(|item| (item.text.as_str(), item.kind))
        .collect();
    assert_eq!(kinds, [("cut emoji \u{fffd} here", IncomingKind::Comment)]);
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("instagram_business_manage_messages")),
        "{:?}",
        read.warnings
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("malformed")),
        "{:?}",
        read.warnings
    );
}
