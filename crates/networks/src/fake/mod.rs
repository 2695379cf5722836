//! Local fake servers that speak each network's documented wire format, for Herald's tests
//! and load scripts (feature `fake`). Each network's fake is a module here with a
//! `router(state)`; they share [`FakeState`] (the posts the fake holds, the token it accepts)
//! and [`Faults`], which makes a fake fail the way real networks do, at random: unavailable,
//! rate-limited with the network's own headers, an answer lost before or after the post was
//! made, garbage after the post was made, or a revoked token. [`FakeState::inject`] makes the
//! next writes fail in a given order instead, for tests of one failure at one step.
//!
//! When each failure strikes is decided here, once for every fake
//! ([`FakeState::before_write`], [`FakeState::after_write`]); how it reads on the wire (status,
//! body, rate-limit headers) is each network's own ([`FaultWords`]).

mod authorize;
pub mod bluesky;
mod bluesky_oauth;
mod containers;
pub mod facebook;
pub mod inbox;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod meta_inbox;
mod profile;
pub mod threads;
pub mod x;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::collections::VecDeque;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A fake network listening on loopback. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeServer {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeServer {
    /// Serves `router` (already holding `state`) on a free loopback port.
    pub async fn start(router: Router, state: Arc<FakeState>) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        FakeServer::serve(listener, router, state)
    }

    /// Serves `router` on a listener the caller bound (a fixed port for load scripts).
    pub fn serve(
        listener: TcpListener,
        router: Router,
        state: Arc<FakeState>,
    ) -> std::io::Result<FakeServer> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = served.await {
                tracing::warn!(%error, "fake network stopped");
            }
        });
        Ok(FakeServer {
            addr,
            state,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL to configure the adapter with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// How often, out of 1.0, each kind of failure happens to a write request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// 503 before anything is posted.
    pub unavailable: f64,
    /// 429 with the network's rate-limit headers; nothing is posted.
    pub rate_limited: f64,
    /// No answer before the client gives up; nothing is posted.
    pub lost_before: f64,
    /// The post is made, then no answer before the client gives up.
    pub lost_after: f64,
    /// The post is made, then a 200 whose body is not the network's format.
    pub garbage_after: f64,
    /// 401: the token was revoked.
    pub unauthorized: f64,
    /// How long a lost answer hangs (longer than the client's time-out).
    pub hang: Duration,
}

/// The fault drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Unavailable,
    RateLimited,
    LostBefore,
    LostAfter,
    GarbageAfter,
    Unauthorized,
    /// The post is made, then a 200 whose body is JSON of another shape than the network's
    /// answer. Drawn only when injected ([`FakeState::inject`]).
    WrongShapeAfter,
    /// The post is made, then a 500. Drawn only when injected.
    ServerErrorAfter,
}

/// How one network words the failures the fakes inject: its own statuses, bodies and headers.
pub(crate) trait FaultWords {
    /// The outage answer (5xx), before anything is written.
    fn unavailable(&self) -> Response;
    /// "Too many requests" with the network's rate-limit headers; nothing is written.
    fn rate_limited(&self) -> Response;
    /// The answer to a revoked token.
    fn revoked(&self) -> Response;
    /// What comes at last after a lost request hung past the client's time-out.
    fn after_hanging(&self) -> Response {
        self.unavailable()
    }
    /// The body of a 200 that is no answer of the network's: an error page from a proxy.
    fn garbage(&self) -> &'static str;
    /// A 500 after the write was made.
    fn server_error(&self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": "Internal Server Error" })),
        )
            .into_response()
    }
}

/// A post the fake holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePost {
    pub id: String,
    pub text: String,
    /// The idempotency key or record key it was made with, where the network has one.
    pub key: Option<String>,
    /// Alt text and media type of each attached image.
    pub media: Vec<(String, String)>,
    /// Anything else the network received with it (facets, a container id, …), as JSON.
    pub extra: serde_json::Value,
}

/// What a fake network knows: the token it accepts, its posts, its faults.
#[derive(Debug)]
pub struct FakeState {
    /// The access token the fake accepts (`Authorization: Bearer …`).
    pub token: String,
    posts: Mutex<Held>,
    faults: Mutex<Faults>,
    rng: Mutex<StdRng>,
    next_id: AtomicU64,
    requests: AtomicU64,
    /// The `grant_type` of every token request answered with tokens, in order.
    grants: Mutex<Vec<String>>,
    /// Faults the next writes draw, in order, before the random ones.
    injected: Mutex<VecDeque<Fault>>,
    /// What came in to the account, for the inbox endpoints (`inbox.rs`).
    inbox: Mutex<inbox::Inbox>,
    /// Profile fields someone changed at the network, by the network's own field name
    /// (`profile.rs`).
    profile: Mutex<std::collections::HashMap<String, String>>,
}

impl FakeState {
    /// A fake with no posts and no faults that accepts `token`; `seed` makes faults repeatable.
    pub fn new(token: &str, seed: u64) -> Arc<FakeState> {
        Arc::new(FakeState {
            token: token.to_owned(),
            posts: Mutex::new(Held::default()),
            faults: Mutex::new(Faults::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            next_id: AtomicU64::new(1),
            requests: AtomicU64::new(0),
            grants: Mutex::new(Vec::new()),
            injected: Mutex::new(VecDeque::new()),
            inbox: Mutex::new(inbox::Inbox::default()),
            profile: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The next writes draw `faults`, one each in order (`Fault::None` lets one through), and
    /// then the random faults again.
    pub fn inject(&self, faults: &[Fault]) {
        lock(&self.injected).extend(faults.iter().copied());
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    pub fn faults(&self) -> Faults {
        *lock(&self.faults)
    }

    /// Draws the fault for one write request, and counts the request.
    pub fn draw(&self) -> Fault {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(fault) = lock(&self.injected).pop_front() {
            return fault;
        }
        let faults = self.faults();
        let roll: f64 = lock(&self.rng).r#gen();
        let table = [
            (faults.unavailable, Fault::Unavailable),
            (faults.rate_limited, Fault::RateLimited),
            (faults.lost_before, Fault::LostBefore),
            (faults.lost_after, Fault::LostAfter),
            (faults.garbage_after, Fault::GarbageAfter),
            (faults.unauthorized, Fault::Unauthorized),
        ];
        let mut edge = 0.0;
        for (chance, fault) in table {
            edge += chance;
            if roll < edge {
                return fault;
            }
        }
        Fault::None
    }

    /// The `grant_type` of every token request the fake answered with tokens, in order
    /// (`authorization_code`, `refresh_token`, …).
    pub fn grants(&self) -> Vec<String> {
        lock(&self.grants).clone()
    }

    /// Notes a token request answered with tokens.
    pub(crate) fn granted(&self, grant_type: &str) {
        lock(&self.grants).push(grant_type.to_owned());
    }

    /// How many write requests the fake has seen.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A fresh numeric id, as a string.
    pub fn next_id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::Relaxed).to_string()
    }

    /// Makes a post, unless one with the same `key` exists: then that one is returned and
    /// `false`, as a network honouring idempotency keys would.
    pub fn record(&self, mut post: FakePost) -> (FakePost, bool) {
        let mut held = lock(&self.posts);
        if let Some(key) = &post.key
            && let Some(existing) = held.by_key.get(key).and_then(|at| held.posts.get(*at))
        {
            return (existing.clone(), false);
        }
        if post.id.is_empty() {
            post.id = self.next_id();
        }
        if let Some(key) = &post.key {
            let at = held.posts.len();
            held.by_key.insert(key.clone(), at);
        }
        held.posts.push(post.clone());
        (post, true)
    }

    pub fn posts(&self) -> Vec<FakePost> {
        lock(&self.posts).posts.clone()
    }

    /// How many posts the fake holds.
    pub fn post_count(&self) -> usize {
        lock(&self.posts).posts.len()
    }

    pub fn post(&self, id: &str) -> Option<FakePost> {
        lock(&self.posts)
            .posts
            .iter()
            .find(|post| post.id == id)
            .cloned()
    }

    /// Removes a post; false if there was none with that id.
    pub fn remove(&self, id: &str) -> bool {
        let mut held = lock(&self.posts);
        let before = held.posts.len();
        held.posts.retain(|post| post.id != id);
        let removed = held.posts.len() < before;
        if removed {
            let index = held
                .posts
                .iter()
                .enumerate()
                .filter_map(|(at, post)| post.key.clone().map(|key| (key, at)))
                .collect();
            held.by_key = index;
        }
        removed
    }

    /// Whether the request carries `Authorization: Bearer <token>`.
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| token == self.token)
    }

    /// Sleeps as long as a lost answer hangs.
    pub async fn hang(&self) {
        tokio::time::sleep(self.faults().hang).await;
    }

    /// Draws the fault for a write, and answers the ones that strike before anything is
    /// written as the network words them (a lost request after hanging); the others come back
    /// for [`FakeState::after_write`].
    pub(crate) async fn before_write(&self, words: &impl FaultWords) -> Result<Fault, Response> {
        match self.draw() {
            Fault::Unavailable => Err(words.unavailable()),
            Fault::RateLimited => Err(words.rate_limited()),
            Fault::Unauthorized => Err(words.revoked()),
            Fault::LostBefore => {
                self.hang().await;
                Err(words.after_hanging())
            }
            fault => Ok(fault),
        }
    }

    /// Answers a write that was made, as `fault` says: `answer` after hanging past the
    /// client's time-out, a 200 that is not JSON, a 200 of JSON in the wrong shape, a 500, or
    /// `answer` itself.
    pub(crate) async fn after_write(
        &self,
        fault: Fault,
        words: &impl FaultWords,
        answer: Response,
    ) -> Response {
        match fault {
            Fault::LostAfter => {
                self.hang().await;
                answer
            }
            Fault::GarbageAfter => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                words.garbage(),
            )
                .into_response(),
            Fault::WrongShapeAfter => (
                StatusCode::OK,
                axum::Json(serde_json::json!({ "result": ["not", "this", "network's", "answer"] })),
            )
                .into_response(),
            Fault::ServerErrorAfter => words.server_error(),
            _ => answer,
        }
    }
}

/// The fake's posts, with an index by key so a repeated key is found at once however many
/// posts a load script has made.
#[derive(Debug, Default)]
struct Held {
    posts: Vec<FakePost>,
    by_key: std::collections::HashMap<String, usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
