//! Following short links' redirects: each hop checked, bounded in hops and time, cached.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use links::{Canonical, Checker, Ending, Expander, FeedLists, OwnNames, Threat};
use networks::Outbound;

use crate::{Reply, serve};

fn expander(allow_private: bool) -> Expander {
    let outbound = Outbound::new(Duration::from_secs(1)).allow_private_addresses(allow_private);
    Expander::new(
        outbound,
        Duration::from_secs(3),
        SignedDuration::from_mins(10),
    )
}

fn checker_with_feed(feed: &str) -> Checker {
    let (_, list) = links::import(feed.as_bytes(), None).expect("feed reads");
    Checker {
        lists: FeedLists::from_lists(vec![("openphish".to_owned(), list)]),
        names: OwnNames::new(&["sunnycafe.example".to_owned()], &[]),
    }
}

fn url(raw: &str) -> Canonical {
    Canonical::parse(raw).expect("parses")
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("time")
}

#[tokio::test]
async fn a_short_link_is_followed_through_several_hops_to_a_url_in_an_imported_feed() {
    let server = serve(|_, path| match path {
        "/s/abc" => Reply::Redirect(301, "/hop1".to_owned()),
        "/hop1" => Reply::Redirect(302, "/Hop2/./".to_owned()),
        "/Hop2/" => Reply::Redirect(307, "/landing/login.php?id=7#x".to_owned()),
        _ => Reply::Page,
    })
    .await;
    let checker = checker_with_feed(&format!("{}\n", server.url("/landing/login.php?id=7")));
    let expansion = expander(true)
        .expand(&checker, &url(&server.url("/s/abc")), now())
        .await;
    assert_eq!(expansion.ending, Ending::Flagged);
    assert_eq!(expansion.hops.len(), 4, "{:?}", expansion.hops);
    assert_eq!(
        expansion.destination(),
        server.url("/landing/login.php?id=7")
    );
    let (index, threat) = expansion
        .first_threat(&checker)
        .expect("a hop is in the feed");
    assert_eq!(index, 3);
    assert_eq!(
        threat,
        Threat::Malicious {
            list: "openphish".to_owned()
        }
    );
    assert_eq!(
        server.requests(),
        ["HEAD /s/abc", "HEAD /hop1", "HEAD /Hop2/"],
        "the flagged page itself is never asked"
    );
}

#[tokio::test]
async fn a_clean_chain_names_its_destination_and_is_cached() {
    let server = serve(|method, path| match (method, path) {
        ("HEAD", "/s/1") => Reply::MethodNotAllowed,
        ("GET", "/s/1") => Reply::Redirect(302, "/final".to_owned()),
        _ => Reply::Page,
    })
    .await;
    let checker = checker_with_feed("https://elsewhere.example/\n");
    let expander = expander(true);
    let link = url(&server.url("/s/1"));
    let expansion = expander.expand(&checker, &link, now()).await;
    assert_eq!(expansion.ending, Ending::Arrived);
    assert_eq!(expansion.destination(), server.url("/final"));
    assert_eq!(expansion.first_threat(&checker), None);
    assert_eq!(server.requests(), ["HEAD /s/1", "GET /s/1", "HEAD /final"]);
    let again = expander
        .expand(&checker, &link, now() + SignedDuration::from_mins(9))
        .await;
    assert_eq!(again, expansion);
    assert_eq!(server.requests().len(), 3, "answered from the cache");
    expander
        .expand(&checker, &link, now() + SignedDuration::from_mins(11))
        .await;
    assert_eq!(
        server.requests().len(),
        6,
        "asked again once the answer is stale"
    );
}

#[tokio::test]
async fn metadata_and_loopback_addresses_are_refused_without_a_request() {
    let server = serve(|_, _| Reply::Page).await;
    let strict = expander(false);
    let checker = Checker::default();
    for link in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://2852039166/latest/meta-data/".to_owned(),
        server.url("/"),
        format!("http://0x7f.1:{}/", server.port),
        format!("http://localhost:{}/", server.port),
    ] {
        let expansion = strict.expand(&checker, &url(&link), now()).await;
        assert_eq!(
            expansion.ending,
            Ending::Refused(networks::outbound::REFUSED_ADDRESS.to_owned()),
            "{link}"
        );
    }
    assert!(
        server.requests().is_empty(),
        "nothing reached the loopback server"
    );
}

#[tokio::test]
async fn redirects_to_file_javascript_and_look_alikes_stop_the_chain() {
    let server = serve(|_, path| match path {
        "/file" => Reply::Redirect(302, "file:///etc/passwd".to_owned()),
        "/script" => Reply::Redirect(302, "javascript:alert(1)".to_owned()),
        "/fake" => Reply::Redirect(302, "https://sunnycafe-login.example/".to_owned()),
        _ => Reply::Page,
    })
    .await;
    let checker = checker_with_feed("https://elsewhere.example/\n");
    let expander = expander(true);
    let file = expander
        .expand(&checker, &url(&server.url("/file")), now())
        .await;
    assert!(
        matches!(&file.ending, Ending::Refused(why) if why.contains("`file:`")),
        "{file:?}"
    );
    let script = expander
        .expand(&checker, &url(&server.url("/script")), now())
        .await;
    assert!(
        matches!(&script.ending, Ending::Refused(why) if why.contains("`javascript:`")),
        "{script:?}"
    );
    let fake = expander
        .expand(&checker, &url(&server.url("/fake")), now())
        .await;
    assert_eq!(fake.ending, Ending::Flagged);
    assert!(matches!(
        fake.first_threat(&checker),
        Some((1, Threat::Lookalike(_)))
    ));
}

#[tokio::test]
async fn loops_and_long_chains_end_with_a_clear_verdict() {
    let server = serve(|_, path| match path {
        "/a" => Reply::Redirect(302, "/b".to_owned()),
        "/b" => Reply::Redirect(302, "/a".to_owned()),
        other => {
            let n: u32 = other.trim_start_matches("/n/").parse().unwrap_or(0);
            Reply::Redirect(302, format!("/n/{}", n + 1))
        }
    })
    .await;
    let checker = Checker::default();
    let expander = expander(true);
    let looped = expander
        .expand(&checker, &url(&server.url("/a")), now())
        .await;
    assert_eq!(
        looped.ending,
        Ending::Unreachable("The link redirects in a loop".to_owned())
    );
    let long = expander
        .expand(&checker, &url(&server.url("/n/0")), now())
        .await;
    assert_eq!(
        long.ending,
        Ending::Unreachable("The link redirects more than 10 times".to_owned())
    );
    assert_eq!(long.hops.len(), 11);
}

#[tokio::test]
async fn a_silent_server_and_an_endless_answer_end_in_bounded_time() {
    let silent = serve(|_, _| Reply::Silent).await;
    let endless = serve(|method, _| match method {
        "HEAD" => Reply::MethodNotAllowed,
        _ => Reply::Endless,
    })
    .await;
    let checker = Checker::default();
    let expander = expander(true);
    let started = Instant::now();
    let quiet = expander
        .expand(&checker, &url(&silent.url("/")), now())
        .await;
    assert_eq!(
        quiet.ending,
        Ending::Unreachable("The link's server did not answer within 1 s".to_owned())
    );
    let huge = expander
        .expand(&checker, &url(&endless.url("/")), now())
        .await;
    assert_eq!(huge.ending, Ending::Arrived, "the body is never read");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
