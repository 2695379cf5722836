//! The contract every adapter keeps when its network fails: one table of the seven networks,
//! and each fault scenario run against each network's fake. The fault strikes the write that
//! makes the post ([`Network::writes_before_post`] skips Instagram's and Threads' container),
//! injected in order with [`FakeState::inject`]; the failures that leave nothing written strike
//! each write before it too.
//!
//! What each scenario asks, in Herald's terms (`NetworkError`):
//! - a revoked or unknown token: `Unauthorized` (reconnect), nothing posted;
//! - the request lost before the network acted: nothing listening is `Unavailable` (safe to
//!   try again); a request that hangs before the fake writes is `Unknown` to the adapter, and
//!   `find` then says the post is not there, so publishing again is safe;
//! - the answer lost after the network acted, a 200 that is not JSON or JSON of the wrong
//!   shape, and a 500 after the post: never a retry-safe error, the fake holds one post, `find`
//!   finds it, and an idempotent network's retry makes no second one (Bluesky settles it at
//!   once by reading its record back);
//! - rate limited: `RateLimited` with the reset the network's own headers give, nothing posted;
//! - an outage (503): `Unavailable`, nothing posted.
//!
//! In every error, no token and no client secret.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use networks::bluesky::Bluesky;
use networks::facebook::Facebook;
use networks::fake::{self, FakePost, FakeServer, FakeState, Fault, Faults};
use networks::instagram::Instagram;
use networks::linkedin::LinkedIn;
use networks::mastodon::Mastodon;
use networks::threads::Threads;
use networks::x::X;
use networks::{
    Adapter, Endpoint, Media, NetworkError, OAuthClient, Outgoing, Published, RetryAfter, Tokens,
};

/// Long enough that a hanging answer outlasts the adapter's time-out several times over.
const HANG: Duration = Duration::from_secs(2);
const IMPATIENT: Duration = Duration::from_millis(300);
const PATIENT: Duration = Duration::from_secs(5);
/// The token of every fake but Bluesky's, whose PDS wants a JWT.
const TOKEN: &str = "contract-token-sekrit-31";
/// The client secret every adapter is configured with.
const SECRET: &str = "contract-client-secret-47";

type Starting = Pin<Box<dyn Future<Output = std::io::Result<FakeServer>> + Send>>;

/// One network as the contract drives it.
struct Network {
    name: &'static str,
    start: fn(Arc<FakeState>) -> Starting,
    /// The adapter at a base URL, giving up after a time-out.
    adapter: fn(&str, Duration) -> Box<dyn Adapter>,
    /// The token the fake accepts.
    token: fn() -> String,
    /// The account's tokens, with `access`, on the server at `url`.
    tokens: fn(&str, &str) -> Tokens,
    /// A post this network takes (Instagram's needs a JPEG at a public address).
    post: fn(&str) -> Outgoing,
    /// The network's id for a post the fake holds.
    remote_id: fn(&FakePost) -> String,
    /// Writes before the one that makes the post: Instagram's and Threads' container.
    writes_before_post: usize,
    idempotent: bool,
    /// Whether an unknown outcome is settled at once by reading the post back (Bluesky's record
    /// key names the post before it exists).
    reads_back: bool,
    /// What a revoked token's error says, whole.
    revoked: &'static str,
    /// What the rate limit's message holds.
    rate_limit_says: &'static [&'static str],
    /// When the network's rate-limit headers say to come back.
    reset: Reset,
}

/// How a network says when a rate limit ends.
#[derive(Debug, Clone, Copy)]
enum Reset {
    /// A time: the fakes give one a second or so ahead (`x-rate-limit-reset`,
    /// `X-RateLimit-Reset`, `RateLimit-Reset`).
    Soon,
    /// A delay: Meta's `estimated_time_to_regain_access`, in minutes.
    After(Duration),
    /// No reset header is documented (LinkedIn's daily quotas).
    NotSaid,
}

fn oauth(id: &str) -> Option<OAuthClient> {
    Some(OAuthClient {
        id: id.to_owned(),
        secret: Some(SECRET.into()),
    })
}

fn endpoint(url: &str, timeout: Duration, client: &str) -> Endpoint {
    Endpoint::new(url, crate::local(timeout), oauth(client))
}

fn bearer(access: &str, subject: &str) -> Tokens {
    Tokens::bearer(access.into(), subject.to_owned())
}

fn text_post(text: &str) -> Outgoing {
    Outgoing {
        key: format!("contract:{text}"),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

fn photo_post(text: &str) -> Outgoing {
    let mut post = text_post(text);
    post.media = vec![Media {
        bytes: vec![0xFF, 0xD8, 0xFF, 0xE0],
        mime: "image/jpeg".to_owned(),
        alt: "A loaf on a board".to_owned(),
        public_url: Some("https://herald.example/media/loaf.jpg".to_owned()),
    }];
    post
}

fn own_token() -> String {
    TOKEN.to_owned()
}

fn held_id(post: &FakePost) -> String {
    post.id.clone()
}

const META_REGAIN: Duration = Duration::from_secs(fake::facebook::REGAIN_MINUTES * 60);
/// Meta answers a revoked session with 400 and code 190, which means reconnect all the same.
const META_REVOKED: &str = "400 Bad Request: Error validating access token: The session has \
                            been invalidated because the user changed their password. \
                            (OAuthException 190, subcode 460)";

const NETWORKS: [Network; 7] = [
    Network {
        name: "X",
        start: |state| Box::pin(fake::x::start(state)),
        adapter: |url, timeout| Box::new(X::new(endpoint(url, timeout, fake::x::CLIENT_ID))),
        token: own_token,
        tokens: |access, _| bearer(access, fake::x::USER_ID),
        post: text_post,
        remote_id: held_id,
        writes_before_post: 0,
        idempotent: false,
        reads_back: false,
        revoked: "401 Unauthorized: Unauthorized",
        rate_limit_says: &["429 Too Many Requests"],
        reset: Reset::Soon,
    },
    Network {
        name: "LinkedIn",
        start: |state| Box::pin(fake::linkedin::start(state)),
        adapter: |url, timeout| {
            Box::new(LinkedIn::new(endpoint(
                url,
                timeout,
                fake::linkedin::CLIENT_ID,
            )))
        },
        token: own_token,
        tokens: |access, _| bearer(access, fake::linkedin::MEMBER_URN),
        post: text_post,
        remote_id: held_id,
        writes_before_post: 0,
        idempotent: false,
        reads_back: false,
        revoked: "401 Unauthorized: Invalid access token",
        rate_limit_says: &["APPLICATION DAY limit"],
        reset: Reset::NotSaid,
    },
    Network {
        name: "Facebook",
        start: |state| Box::pin(fake::facebook::start(state)),
        adapter: |url, timeout| {
            Box::new(Facebook::new(endpoint(
                url,
                timeout,
                fake::facebook::APP_ID,
            )))
        },
        token: own_token,
        tokens: |access, _| bearer(access, fake::facebook::PAGE_ID),
        post: text_post,
        remote_id: held_id,
        writes_before_post: 0,
        idempotent: false,
        reads_back: false,
        revoked: META_REVOKED,
        rate_limit_says: &["too many calls"],
        reset: Reset::After(META_REGAIN),
    },
    Network {
        name: "Instagram",
        start: |state| Box::pin(fake::instagram::start(state)),
        adapter: |url, timeout| {
            Box::new(Instagram::new(endpoint(
                url,
                timeout,
                fake::instagram::APP_ID,
            )))
        },
        token: own_token,
        tokens: |access, _| bearer(access, fake::instagram::IG_USER_ID),
        post: photo_post,
        remote_id: held_id,
        writes_before_post: 1,
        idempotent: false,
        reads_back: false,
        revoked: META_REVOKED,
        rate_limit_says: &["too many calls"],
        reset: Reset::After(META_REGAIN),
    },
    Network {
        name: "Threads",
        start: |state| Box::pin(fake::threads::start(state)),
        adapter: |url, timeout| {
            Box::new(Threads::new(endpoint(url, timeout, fake::threads::APP_ID)))
        },
        token: own_token,
        tokens: |access, _| bearer(access, fake::threads::USER_ID),
        post: text_post,
        remote_id: held_id,
        writes_before_post: 1,
        idempotent: false,
        reads_back: false,
        revoked: META_REVOKED,
        rate_limit_says: &["too many calls"],
        reset: Reset::After(META_REGAIN),
    },
    Network {
        name: "Bluesky",
        start: |state| Box::pin(fake::bluesky::start(state)),
        adapter: |url, timeout| {
            Box::new(Bluesky::new(Endpoint::new(
                url,
                crate::local(timeout),
                None,
            )))
        },
        token: || fake::bluesky::access_jwt(fake::bluesky::DID, 1_800_000_000),
        tokens: |access, _| bearer(access, fake::bluesky::DID),
        post: text_post,
        remote_id: |post| {
            format!(
                "at://{}/{}/{}",
                fake::bluesky::DID,
                networks::bluesky::POST_COLLECTION,
                post.id
            )
        },
        writes_before_post: 0,
        idempotent: true,
        reads_back: true,
        revoked: "401 Unauthorized: InvalidToken: Token has been revoked",
        rate_limit_says: &["RateLimitExceeded", "0 requests left"],
        reset: Reset::Soon,
    },
    Network {
        name: "Mastodon",
        start: |state| Box::pin(fake::mastodon::start(state)),
        adapter: |url, timeout| {
            Box::new(Mastodon::new(endpoint(
                url,
                timeout,
                fake::mastodon::CLIENT_ID,
            )))
        },
        token: own_token,
        tokens: |access, server| Tokens {
            server: Some(server.to_owned()),
            ..bearer(access, fake::mastodon::ACCOUNT_ID)
        },
        post: text_post,
        remote_id: held_id,
        writes_before_post: 0,
        idempotent: true,
        reads_back: false,
        revoked: "401 Unauthorized: The access token is invalid",
        rate_limit_says: &["Too many requests"],
        reset: Reset::Soon,
    },
];

/// One network's fake, its adapter (giving up after `timeout`) and the account's tokens.
struct Running<'n> {
    network: &'n Network,
    server: FakeServer,
    adapter: Box<dyn Adapter>,
    tokens: Tokens,
}

impl Network {
    async fn run(&self, timeout: Duration) -> Running<'_> {
        let state = FakeState::new(&(self.token)(), 3);
        state.set_faults(Faults {
            hang: HANG,
            ..Faults::default()
        });
        let server = (self.start)(state).await.expect("the fake starts");
        let adapter = (self.adapter)(&server.url(), timeout);
        let tokens = (self.tokens)(&server.state.token, &server.url());
        Running {
            network: self,
            server,
            adapter,
            tokens,
        }
    }
}

impl Running<'_> {
    /// Publishes a post whose making write meets `fault` (the writes before it go through).
    async fn publish_meeting(&self, fault: Fault, text: &str) -> Result<Published, NetworkError> {
        self.publish_meeting_at(self.network.writes_before_post, fault, text)
            .await
    }

    /// Publishes a post whose write number `step` (from 0) meets `fault`.
    async fn publish_meeting_at(
        &self,
        step: usize,
        fault: Fault,
        text: &str,
    ) -> Result<Published, NetworkError> {
        let mut faults = vec![Fault::None; step];
        faults.push(fault);
        self.server.state.inject(&faults);
        let result = self
            .adapter
            .publish(&self.tokens, &(self.network.post)(text))
            .await;
        if let Err(error) = &result {
            self.keeps_secrets(error);
        }
        result
    }

    fn expect_failure(&self, result: Result<Published, NetworkError>) -> NetworkError {
        match result {
            Ok(published) => panic!("{}: published {published:?}", self.network.name),
            Err(error) => error,
        }
    }

    /// No token or client secret shows in the error, or in the adapter's and tokens' `Debug`.
    fn keeps_secrets(&self, error: &NetworkError) {
        let shown = format!("{error} {error:?} {:?} {:?}", self.adapter, self.tokens);
        for secret in [self.server.state.token.as_str(), SECRET] {
            assert!(
                !shown.contains(secret),
                "{}: {secret} in {shown}",
                self.network.name
            );
        }
    }

    fn held(&self) -> Vec<FakePost> {
        self.server.state.posts()
    }

    fn nothing_posted(&self) {
        assert_eq!(self.held(), Vec::new(), "{}", self.network.name);
    }

    /// After a write whose outcome the adapter could not see: the fake holds the one post,
    /// the adapter either said the outcome is unknown or (reading back) named that post, `find`
    /// finds it, and an idempotent network's retry returns it without a second post.
    async fn one_post_reconciled(&self, text: &str, result: Result<Published, NetworkError>) {
        let name = self.network.name;
        let held = self.held();
        assert_eq!(held.len(), 1, "{name}: {held:?}");
        assert_eq!(held[0].text, text, "{name}");
        let remote_id = (self.network.remote_id)(&held[0]);
        match result {
            Ok(published) => {
                assert!(self.network.reads_back, "{name}: published {published:?}");
                assert_eq!(published.remote_id, remote_id, "{name}");
            }
            Err(error) => {
                assert!(
                    !self.network.reads_back,
                    "{name} reads its post back: {error:?}"
                );
                assert!(
                    matches!(error, NetworkError::Unknown(_)),
                    "{name}: the post exists, so its outcome is unknown, not {error:?}"
                );
            }
        }
        let post = (self.network.post)(text);
        let found = self.adapter.find(&self.tokens, &post).await;
        let found = found.unwrap_or_else(|error| panic!("{name}: find: {error:?}"));
        assert_eq!(
            found.map(|found| found.remote_id),
            Some(remote_id.clone()),
            "{name}"
        );
        let never_sent = (self.network.post)("A post never sent");
        let missing = self.adapter.find(&self.tokens, &never_sent).await;
        assert_eq!(missing.ok(), Some(None), "{name}");
        assert_eq!(self.adapter.idempotent(), self.network.idempotent, "{name}");
        if self.network.idempotent {
            let again = self.adapter.publish(&self.tokens, &post).await;
            let again = again.unwrap_or_else(|error| panic!("{name}: retry: {error:?}"));
            assert_eq!(again.remote_id, remote_id, "{name}");
            assert_eq!(self.held().len(), 1, "{name}: the retry made a second post");
        }
    }
}

#[tokio::test]
async fn a_revoked_token_needs_reconnecting_and_posts_nothing() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        for step in 0..=network.writes_before_post {
            let result = running
                .publish_meeting_at(step, Fault::Unauthorized, "Revoked")
                .await;
            let error = running.expect_failure(result);
            assert_eq!(
                error,
                NetworkError::Unauthorized(network.revoked.to_owned()),
                "{} at write {step}",
                network.name
            );
        }
        running.nothing_posted();
    }
}

#[tokio::test]
async fn a_token_the_network_does_not_know_needs_reconnecting() {
    for network in &NETWORKS {
        let mut running = network.run(PATIENT).await;
        running.tokens.access = "a-token-nobody-issued-sekrit".into();
        let result = running
            .adapter
            .publish(&running.tokens, &(network.post)("Unknown token"))
            .await;
        let error = running.expect_failure(result);
        assert!(
            matches!(error, NetworkError::Unauthorized(_)),
            "{}: {error:?}",
            network.name
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("nobody-issued"), "{shown}");
        running.nothing_posted();
    }
}

#[tokio::test]
async fn a_network_that_cannot_be_reached_is_unavailable_and_safe_to_try_again() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("its address");
        format!("http://{address}")
    };
    for network in &NETWORKS {
        let adapter = (network.adapter)(&closed, PATIENT);
        let tokens = (network.tokens)(&(network.token)(), &closed);
        let error = adapter
            .publish(&tokens, &(network.post)("Nobody home"))
            .await
            .expect_err("nothing listens");
        assert_eq!(
            error,
            NetworkError::Unavailable("could not connect".to_owned()),
            "{}",
            network.name
        );
        assert!(error.is_transient(), "{}", network.name);
    }
}

#[tokio::test]
async fn a_request_lost_before_the_network_acted_leaves_nothing_to_find() {
    for network in &NETWORKS {
        let running = network.run(IMPATIENT).await;
        let result = running
            .publish_meeting(Fault::LostBefore, "Lost on the way")
            .await;
        let error = running.expect_failure(result);
        // The adapter cannot tell a request lost on the way from an answer lost on the way
        // back; what makes trying again safe is that `find` then finds nothing.
        assert!(
            matches!(error, NetworkError::Unknown(_)),
            "{}: {error:?}",
            network.name
        );
        running.nothing_posted();
        let post = (network.post)("Lost on the way");
        let found = running.adapter.find(&running.tokens, &post).await;
        assert_eq!(found.ok(), Some(None), "{}", network.name);
    }
}

#[tokio::test]
async fn an_answer_lost_after_the_network_acted_is_unknown_and_reconciled_without_a_second_post() {
    for network in &NETWORKS {
        let running = network.run(IMPATIENT).await;
        let text = "Lost on the way back";
        let result = running.publish_meeting(Fault::LostAfter, text).await;
        running.one_post_reconciled(text, result).await;
    }
}

#[tokio::test]
async fn a_rate_limit_carries_the_networks_reset_and_posts_nothing() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        for step in 0..=network.writes_before_post {
            let started = network_clock();
            let result = running
                .publish_meeting_at(step, Fault::RateLimited, "Too soon")
                .await;
            let error = running.expect_failure(result);
            let name = format!("{} at write {step}", network.name);
            let NetworkError::RateLimited {
                retry_after,
                message,
            } = &error
            else {
                panic!("{name}: {error:?}");
            };
            for words in network.rate_limit_says {
                assert!(message.contains(words), "{name}: {message}");
            }
            match (network.reset, retry_after) {
                (Reset::Soon, Some(RetryAfter::At(at))) => {
                    let seconds = at.duration_since(started).as_secs_f64();
                    assert!((-1.0..=60.0).contains(&seconds), "{name}: {at}");
                }
                (Reset::After(expected), Some(RetryAfter::Delay(delay))) => {
                    assert_eq!(*delay, expected, "{name}");
                }
                (Reset::NotSaid, None) => {}
                (reset, said) => panic!("{name}: {reset:?} expected, {said:?} said"),
            }
            assert!(error.is_transient(), "{name}");
        }
        running.nothing_posted();
    }
}

#[tokio::test]
async fn an_outage_is_unavailable_and_safe_to_try_again() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        for step in 0..=network.writes_before_post {
            let result = running
                .publish_meeting_at(step, Fault::Unavailable, "During the outage")
                .await;
            let error = running.expect_failure(result);
            assert!(
                matches!(error, NetworkError::Unavailable(ref message) if message.starts_with("503 Service Unavailable")),
                "{} at write {step}: {error:?}",
                network.name
            );
            assert!(error.is_transient(), "{}", network.name);
        }
        running.nothing_posted();
    }
}

#[tokio::test]
async fn a_500_after_the_network_acted_is_unknown_and_reconciled() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        let text = "Made, then a 500";
        let result = running.publish_meeting(Fault::ServerErrorAfter, text).await;
        running.one_post_reconciled(text, result).await;
    }
}

#[tokio::test]
async fn a_success_whose_body_is_not_json_is_unknown_and_reconciled() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        let text = "Made, then garbage";
        let result = running.publish_meeting(Fault::GarbageAfter, text).await;
        running.one_post_reconciled(text, result).await;
    }
}

#[tokio::test]
async fn a_success_whose_json_has_the_wrong_shape_is_unknown_and_reconciled() {
    for network in &NETWORKS {
        let running = network.run(PATIENT).await;
        let text = "Made, then the wrong shape";
        let result = running.publish_meeting(Fault::WrongShapeAfter, text).await;
        running.one_post_reconciled(text, result).await;
    }
}

/// The fakes date their rate-limit resets by their own clock, as a network elsewhere would; the
/// test reads the same clock to check the reset is the one the headers gave.
#[expect(
    clippy::disallowed_methods,
    reason = "the fake network's clock, which its reset headers are dated by"
)]
fn network_clock() -> Timestamp {
    Timestamp::now()
}
