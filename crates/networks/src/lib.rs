//! Herald's social network adapters. Each network is one module behind one trait,
//! [`Adapter`]: connect (turn a grant into tokens), refresh, publish, find (reconcile a post
//! whose outcome is unknown), delete, revoke and account info.
//!
//! The crate speaks HTTP and nothing else: it never touches the database, the vault or the
//! wall clock. Herald hands an adapter the tokens it opened from the vault and the current
//! time, and stores what comes back. Every base URL is configurable, so tests point adapters
//! at the local fakes in [`fake`] (feature `fake`).

mod error;
pub mod es256;
mod graph;
mod http;
pub mod inbox;
mod oauth;
pub mod outbound;
mod tokens;
pub mod watch;

pub mod bluesky;
pub mod facebook;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod threads;
pub mod x;

#[cfg(feature = "fake")]
pub mod fake;

use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;

pub use error::{NetworkError, RetryAfter};
pub use http::{Endpoint, OAuthClient};
pub use inbox::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender};
pub use outbound::Outbound;
pub use tokens::{DpopBinding, Grant, Tokens};
pub use watch::{OwnPost, Profile, Watch};

/// What an adapter's calls return.
pub type NetworkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, NetworkError>> + Send + 'a>>;

/// One social network, as Herald uses it.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// Whether publishing the same [`Outgoing::key`] twice can never make two posts (Mastodon's
    /// `Idempotency-Key`, Bluesky's record key). Where it is false, an unknown outcome must be
    /// reconciled with [`Adapter::find`], never retried blindly.
    fn idempotent(&self) -> bool;

    /// Where to send the gatekeeper to authorize Herald (OAuth 2.0 with PKCE), or `None` for
    /// networks connected another way (Bluesky app passwords, pasted page tokens).
    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String>;

    /// Turns what the gatekeeper gave (an authorization code, an app password, a token) into
    /// tokens, checking them with the network.
    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens>;

    /// New tokens before the old ones expire. Networks whose tokens do not expire return them
    /// unchanged.
    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens>;

    /// Publishes one post.
    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published>;

    /// Looks for a post made from `post` (after an unknown outcome): `Some` if the network has
    /// it, `None` if it certainly does not.
    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>>;

    /// Deletes a published post.
    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()>;

    /// Revokes the tokens at the network (lockdown, disconnect).
    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()>;

    /// Who the tokens act as.
    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo>;
}

/// The start of an OAuth 2.0 authorization-code flow with PKCE (RFC 7636, method S256).
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    pub redirect_uri: &'a str,
    /// Opaque, single-use; comes back with the code.
    pub state: &'a str,
    /// BASE64URL(SHA-256(verifier)).
    pub code_challenge: &'a str,
}

/// One post to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Stable per (post, account): the same on every attempt, so networks that honour it
    /// publish once however often Herald asks.
    pub key: String,
    pub text: String,
    pub media: Vec<Media>,
    /// When Herald sends the post; networks that record a creation time get this one.
    pub created_at: Timestamp,
}

/// An image to attach.
#[derive(Clone, PartialEq, Eq)]
pub struct Media {
    pub bytes: Vec<u8>,
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub mime: String,
    pub alt: String,
    /// Where the network can fetch it, for networks that take a URL rather than an upload
    /// (Instagram, Threads): Herald serves the file at a signed, unguessable address.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("bytes", &self.bytes.len())
            .field("mime", &self.mime)
            .field("alt", &self.alt)
            .finish_non_exhaustive()
    }
}

/// A post the network has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The network's id for it (a status id, an AT URI, a URN, …).
    pub remote_id: String,
    /// Where people can see it, when the network says.
    pub url: Option<String>,
}

/// Who a connection acts as on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// The network's stable id (a DID, a page id, a person URN, an account id).
    pub id: String,
    /// The handle as people write it.
    pub handle: String,
    pub display_name: Option<String>,
}
