//! Bluesky (AT Protocol), over XRPC against the account's PDS: a session from an app password,
//! posts as `app.bsky.feed.post` records under a record key derived from [`Outgoing::key`] (so
//! publishing twice cannot make two posts), rich-text facets with UTF-8 byte offsets, and images
//! uploaded as blobs with their alt text.
//!
//! Followed: <https://atproto.com/specs/xrpc> (paths, the `{"error", "message"}` body, status
//! codes, the legacy Bearer-JWT sessions), the lexicons `com.atproto.server.createSession`,
//! `refreshSession`, `deleteSession`, `getSession`, `com.atproto.repo.createRecord`,
//! `getRecord`, `deleteRecord`, `uploadBlob`, `com.atproto.identity.resolveHandle`,
//! `app.bsky.feed.post`, `app.bsky.embed.images` and `app.bsky.richtext.facet`
//! (<https://github.com/bluesky-social/atproto/tree/main/lexicons>),
//! <https://atproto.com/specs/record-key> and <https://atproto.com/specs/tid> (record keys),
//! <https://docs.bsky.app/docs/advanced-guides/post-richtext> (facets) and
//! <https://docs.bsky.app/docs/advanced-guides/rate-limits> (`RateLimit-Reset`, epoch seconds).
//!
//! An account connects with an app password, or with OAuth ([`oauth`]), whose tokens are
//! DPoP-bound: each request then carries `Authorization: DPoP …` and a fresh proof instead of
//! a bearer token.
//!
//! [`Tokens::subject`] is the account's DID and [`Tokens::server`] its PDS (`None`: the
//! configured base URL). Access tokens last about two hours; their expiry is read from the JWT's
//! `exp` claim, decoded without verifying (it is only a hint for when to refresh).
//!
//! The reference PDS answers a `createRecord` whose record key is taken with a bare 500, so after
//! any answer that leaves the outcome unknown, [`Bluesky::publish`] reads the record back: if it
//! is there, the post was published (by this attempt or an earlier one).

mod facets;
mod identity;
pub mod oauth;
mod watch;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use self::oauth::{AtprotoClient, Nonces, Pending, Returned, Started};
use crate::error::nothing_posted;
use crate::http::{Answer, epoch_seconds_header, header};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, NetworkError, NetworkFuture, Outgoing,
    Published, Tokens,
};

/// The collection posts live in.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";
/// The lexicon's limits on images: four to a post, each at most 1,000,000 bytes.
const MOST_IMAGES: usize = 4;
const LARGEST_IMAGE: usize = 1_000_000;
/// How long an access token is taken to last when its expiry cannot be read: shorter than the
/// reference PDS's two hours, so Herald refreshes early rather than late.
const ACCESS_LIFETIME_GUESS: SignedDuration = SignedDuration::from_hours(1);
/// The sortable base-32 alphabet of TIDs.
const TID_ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// The Bluesky adapter. `endpoint.base_url` is the PDS for accounts whose tokens name none
/// (`https://bsky.social` for accounts hosted by Bluesky).
#[derive(Debug, Clone)]
pub struct Bluesky {
    endpoint: Endpoint,
    oauth: Option<OAuthSettings>,
    nonces: Nonces,
}

/// How Herald connects accounts with OAuth: its confidential client (when it is reachable
/// over https), where `did:plc` documents are looked up, and the clock DPoP proofs are dated
/// by.
#[derive(Clone)]
pub struct OAuthSettings {
    pub confidential: Option<AtprotoClient>,
    /// `https://plc.directory`, or a local directory in tests.
    pub plc_url: String,
    pub now: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl std::fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("confidential", &self.confidential)
            .field("plc_url", &self.plc_url)
            .finish_non_exhaustive()
    }
}

/// `createSession` and `refreshSession` answers.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    access_jwt: String,
    refresh_jwt: String,
    did: String,
}

/// `getSession`.
#[derive(Deserialize)]
struct SessionInfo {
    did: String,
    handle: String,
}

/// `createRecord` and `getRecord` (which adds the value; only the URI matters here).
#[derive(Deserialize)]
struct RecordRef {
    uri: String,
}

#[derive(Deserialize)]
struct Resolved {
    did: String,
}

#[derive(Deserialize)]
struct Uploaded {
    blob: Value,
}

#[derive(Deserialize)]
struct Profile {
    value: ProfileValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileValue {
    #[serde(default)]
    display_name: Option<String>,
}

/// The claims Herald reads from an access JWT.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

/// The XRPC error body.
#[derive(Deserialize, Default)]
struct XrpcError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

impl Bluesky {
    pub fn new(endpoint: Endpoint) -> Self {
        Bluesky {
            endpoint,
            oauth: None,
            nonces: Nonces::default(),
        }
    }

    /// The adapter with OAuth connections offered.
    pub fn with_oauth(self, settings: OAuthSettings) -> Self {
        Bluesky {
            oauth: Some(settings),
            ..self
        }
    }

    /// Herald's confidential client, whose metadata document it serves, if it has one.
    pub fn confidential_client(&self) -> Option<&AtprotoClient> {
        self.oauth.as_ref()?.confidential.as_ref()
    }

    /// Step one of connecting `handle` with OAuth as `client`: finds its authorization server
    /// and pushes the request there; the gatekeeper's browser goes to
    /// [`Started::authorize_url`].
    pub async fn start_oauth(
        &self,
        client: &AtprotoClient,
        handle: &str,
        request: &AuthorizeRequest<'_>,
        now: Timestamp,
    ) -> Result<Started, NetworkError> {
        let settings = self.oauth_settings()?;
        oauth::start(
            &self.endpoint,
            &settings.plc_url,
            client,
            &self.nonces,
            handle,
            request,
            now,
        )
        .await
    }

    /// Step two: the code the gatekeeper came back with, for DPoP-bound tokens.
    pub async fn finish_oauth(
        &self,
        client: &AtprotoClient,
        pending: &Pending,
        returned: &Returned<'_>,
        now: Timestamp,
    ) -> Result<Tokens, NetworkError> {
        self.oauth_settings()?;
        oauth::redeem(&self.endpoint, client, &self.nonces, pending, returned, now).await
    }

    /// The client DPoP-bound tokens were issued to: Herald's confidential client if it is the
    /// one, or the loopback client the tokens name.
    fn client_for(&self, binding: &crate::DpopBinding) -> Result<AtprotoClient, NetworkError> {
        if let Some(client) = &self.bound_settings()?.confidential
            && client.client_id == binding.client_id
        {
            return Ok(client.clone());
        }
        AtprotoClient::from_loopback_id(&binding.client_id).ok_or_else(|| {
            NetworkError::Unauthorized(
                "Herald's address changed since the account was connected; reconnect the account"
                    .to_owned(),
            )
        })
    }

    /// The OAuth settings, for tokens an OAuth connection made: without them the tokens are
    /// of no use, and the account must be connected again.
    fn bound_settings(&self) -> Result<&OAuthSettings, NetworkError> {
        self.oauth.as_ref().ok_or_else(|| {
            NetworkError::Unauthorized(
                "this Herald no longer connects Bluesky with OAuth; reconnect the account"
                    .to_owned(),
            )
        })
    }

    fn oauth_settings(&self) -> Result<&OAuthSettings, NetworkError> {
        self.oauth.as_ref().ok_or_else(|| {
            NetworkError::Rejected("this Herald does not connect Bluesky with OAuth".to_owned())
        })
    }

    /// Sends an XRPC request as the account: a bearer token from an app-password session, or
    /// the DPoP-bound access token with a proof.
    pub(crate) async fn send_as(
        &self,
        tokens: &Tokens,
        request: RequestBuilder,
    ) -> Result<Answer, NetworkError> {
        let Some(binding) = &tokens.dpop else {
            return self
                .endpoint
                .send(request.bearer_auth(tokens.access.expose_secret()))
                .await;
        };
        let now = (self.bound_settings()?.now)();
        let key = oauth::binding_key(binding)?;
        let access = Some(tokens.access.expose_secret());
        self.nonces
            .send(&self.endpoint.outbound, request, &key, access, now)
            .await
    }

    /// The record key a post is published under: a valid TID (13 characters of the sortable
    /// base-32 alphabet, as `app.bsky.feed.post` requires) made from the first 63 bits of
    /// SHA-256(`key`), most significant first. The same key always gives the same record key,
    /// so a second `createRecord` for it cannot make a second post. The "timestamp" such a TID
    /// seems to hold means nothing; Bluesky orders posts by `createdAt`.
    pub fn record_key(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        // A TID's top bit is always zero.
        let value = u64::from_be_bytes(first) >> 1;
        (0..13)
            .rev()
            .map(|place| char::from(TID_ALPHABET[((value >> (5 * place)) & 31) as usize]))
            .collect()
    }

    /// The AT URI of the post published for `key` by the account `did`.
    pub fn post_uri(did: &str, key: &str) -> String {
        format!("at://{did}/{POST_COLLECTION}/{}", Bluesky::record_key(key))
    }

    fn url(&self, tokens: Option<&Tokens>, nsid: &str) -> String {
        let server = tokens.and_then(|tokens| tokens.server.as_deref());
        self.endpoint.url(server, &format!("/xrpc/{nsid}"))
    }

    /// A GET to the account's PDS; sent with [`Bluesky::send_as`].
    pub(crate) fn get(&self, tokens: &Tokens, nsid: &str) -> RequestBuilder {
        self.endpoint.client.get(self.url(Some(tokens), nsid))
    }

    /// A POST to the account's PDS; sent with [`Bluesky::send_as`].
    pub(crate) fn post(&self, tokens: &Tokens, nsid: &str) -> RequestBuilder {
        self.endpoint.client.post(self.url(Some(tokens), nsid))
    }

    async fn create_session(
        &self,
        identifier: &str,
        password: &SecretString,
        server: Option<&str>,
        now: Timestamp,
    ) -> Result<Tokens, NetworkError> {
        if !looks_like_app_password(password.expose_secret()) {
            return Err(NetworkError::Rejected(
                "Bluesky accounts connect with an app password (xxxx-xxxx-xxxx-xxxx, made under \
                 Settings → Privacy and security → App passwords), never the account's own password"
                    .to_owned(),
            ));
        }
        let url = self
            .endpoint
            .url(server, "/xrpc/com.atproto.server.createSession");
        let request = self.endpoint.client.post(url).json(&json!({
            "identifier": identifier,
            "password": password.expose_secret(),
        }));
        let session: Session = expect_json(self.endpoint.send(request).await?)?;
        let tokens = session_tokens(session, server.map(str::to_owned), now);
        let scope = claims(tokens.access.expose_secret()).and_then(|claims| claims.scope);
        if scope.as_deref() == Some("com.atproto.access") {
            // The password was the account's own: end that session at once and refuse it.
            let _ = self.revoke(&tokens).await;
            return Err(NetworkError::Rejected(
                "that is the account's own password; Herald connects Bluesky accounts with an \
                 app password only"
                    .to_owned(),
            ));
        }
        Ok(tokens)
    }

    /// Reads back the post published for `key`: `None` if the PDS certainly has no such record.
    async fn get_post(
        &self,
        tokens: &Tokens,
        key: &str,
    ) -> Result<Option<Published>, NetworkError> {
        let rkey = Bluesky::record_key(key);
        let request = self.get(tokens, "com.atproto.repo.getRecord").query(&[
            ("repo", tokens.subject.as_str()),
            ("collection", POST_COLLECTION),
            ("rkey", rkey.as_str()),
        ]);
        let answer = self.send_as(tokens, request).await?;
        if !answer.is_success() && error_body(&answer).error == "RecordNotFound" {
            return Ok(None);
        }
        let record: RecordRef = expect_json(answer)?;
        Ok(Some(published(&record.uri)))
    }

    /// The DID of each mentioned handle that resolves; a handle the PDS cannot resolve is left
    /// out (its mention stays plain text).
    async fn resolve_mentions(
        &self,
        tokens: &Tokens,
        handles: &[&str],
    ) -> Result<Vec<(String, String)>, NetworkError> {
        let mut dids = Vec::new();
        for handle in handles {
            let request = self
                .get(tokens, "com.atproto.identity.resolveHandle")
                .query(&[("handle", handle)]);
            match expect_json::<Resolved>(
                self.send_as(tokens, request)
                    .await
                    .map_err(nothing_posted)?,
            ) {
                Ok(resolved) => dids.push(((*handle).to_owned(), resolved.did)),
                Err(NetworkError::Rejected(_)) => {
                    tracing::debug!(handle, "a mentioned handle did not resolve; left as text");
                }
                Err(error) => return Err(nothing_posted(error)),
            }
        }
        Ok(dids)
    }

    /// Uploads each image and returns the `app.bsky.embed.images` embed, if there are any.
    async fn embed_images(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Option<Value>, NetworkError> {
        if post.media.is_empty() {
            return Ok(None);
        }
        if post.media.len() > MOST_IMAGES {
            return Err(NetworkError::Rejected(format!(
                "Bluesky takes at most {MOST_IMAGES} images on a post, not {}",
                post.media.len()
            )));
        }
        let mut images = Vec::new();
        for media in &post.media {
            if media.bytes.len() > LARGEST_IMAGE {
                return Err(NetworkError::Rejected(format!(
                    "Bluesky takes images of at most {LARGEST_IMAGE} bytes; this one has {}",
                    media.bytes.len()
                )));
            }
            let request = self
                .post(tokens, "com.atproto.repo.uploadBlob")
                .header(reqwest::header::CONTENT_TYPE, &media.mime)
                .body(media.bytes.clone());
            let answer = self
                .send_as(tokens, request)
                .await
                .map_err(nothing_posted)?;
            let uploaded: Uploaded = expect_json(answer).map_err(nothing_posted)?;
            images.push(json!({ "alt": media.alt, "image": uploaded.blob }));
        }
        Ok(Some(
            json!({ "$type": "app.bsky.embed.images", "images": images }),
        ))
    }

    async fn publish_post(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Published, NetworkError> {
        self.publish_with_reply(tokens, post, None).await
    }

    /// Publishes `post`, threaded under `reply` (the record's `reply`: root and parent strong
    /// references) when given; the inbox's replies come this way.
    pub(crate) async fn publish_with_reply(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
        reply: Option<Value>,
    ) -> Result<Published, NetworkError> {
        let spans = facets::detect(&post.text);
        let dids = self
            .resolve_mentions(tokens, &facets::mentioned(&spans))
            .await?;
        let facets = facets::facets(&spans, |handle| {
            dids.iter()
                .find(|(known, _)| known == handle)
                .map(|(_, did)| did.clone())
        });
        let embed = self.embed_images(tokens, post).await?;
        let mut record = json!({
            "$type": POST_COLLECTION,
            "text": post.text,
            "createdAt": post.created_at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        });
        if !facets.is_empty() {
            record["facets"] = json!(facets);
        }
        if let Some(embed) = embed {
            record["embed"] = embed;
        }
        if let Some(reply) = reply {
            record["reply"] = reply;
        }
        let request = self
            .post(tokens, "com.atproto.repo.createRecord")
            .json(&json!({
                "repo": tokens.subject,
                "collection": POST_COLLECTION,
                "rkey": Bluesky::record_key(&post.key),
                "record": record,
            }));
        let failure = match self.send_as(tokens, request).await {
            Ok(answer) => match expect_json::<RecordRef>(answer) {
                Ok(created) => return Ok(published(&created.uri)),
                Err(failure) => failure,
            },
            Err(failure) => failure,
        };
        if !may_exist(&failure) {
            return Err(failure);
        }
        // The record may have been made, now or by an earlier attempt (the reference PDS
        // answers a taken record key with a bare 500, others say it exists): if it is there,
        // the post is published.
        match self.get_post(tokens, &post.key).await {
            Ok(Some(published)) => Ok(published),
            _ => Err(failure),
        }
    }
}

impl Adapter for Bluesky {
    fn idempotent(&self) -> bool {
        true
    }

    fn authorize_url(&self, _request: &AuthorizeRequest<'_>) -> Option<String> {
        None
    }

    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            match grant {
                Grant::AppPassword {
                    identifier,
                    password,
                    server,
                } => {
                    self.create_session(identifier, password, server.as_deref(), now)
                        .await
                }
                _ => Err(NetworkError::Rejected(
                    "Bluesky accounts connect with a handle and an app password".to_owned(),
                )),
            }
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            if let Some(binding) = &tokens.dpop {
                let client = self.client_for(binding)?;
                return oauth::refresh(&self.endpoint, &client, &self.nonces, tokens, binding, now)
                    .await;
            }
            let Some(refresh) = &tokens.refresh else {
                return Err(NetworkError::Unauthorized(
                    "the connection has no refresh token; reconnect the account".to_owned(),
                ));
            };
            let request = self
                .endpoint
                .client
                .post(self.url(Some(tokens), "com.atproto.server.refreshSession"))
                .bearer_auth(refresh.expose_secret());
            let session: Session = expect_json(self.endpoint.send(request).await?)?;
            Ok(session_tokens(session, tokens.server.clone(), now))
        })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(self.publish_post(tokens, post))
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(self.get_post(tokens, &post.key))
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let Some((repo, collection, rkey)) = parse_at_uri(remote_id) else {
                return Err(NetworkError::Rejected(format!(
                    "{remote_id:?} is not the AT URI of a record"
                )));
            };
            let request = self
                .post(tokens, "com.atproto.repo.deleteRecord")
                .json(&json!({ "repo": repo, "collection": collection, "rkey": rkey }));
            let answer = self.send_as(tokens, request).await?;
            if !answer.is_success() {
                return Err(failure(&answer));
            }
            Ok(())
        })
    }

    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            if let Some(binding) = &tokens.dpop {
                let now = (self.bound_settings()?.now)();
                let client = self.client_for(binding)?;
                return oauth::revoke(&self.endpoint, &client, &self.nonces, tokens, binding, now)
                    .await;
            }
            // deleteSession ends the session the refresh token belongs to. The app password
            // itself can only be revoked by the account, in Bluesky's settings.
            let Some(refresh) = &tokens.refresh else {
                return Ok(());
            };
            let request = self
                .endpoint
                .client
                .post(self.url(Some(tokens), "com.atproto.server.deleteSession"))
                .bearer_auth(refresh.expose_secret());
            let answer = self.endpoint.send(request).await?;
            match failure_of(&answer) {
                None | Some(NetworkError::Unauthorized(_)) => Ok(()),
                Some(error) => Err(error),
            }
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(async move {
            let request = self.get(tokens, "com.atproto.server.getSession");
            let session: SessionInfo = expect_json(self.send_as(tokens, request).await?)?;
            // The display name is in the profile record; an account may have none.
            let profile = self.get(tokens, "com.atproto.repo.getRecord").query(&[
                ("repo", session.did.as_str()),
                ("collection", "app.bsky.actor.profile"),
                ("rkey", "self"),
            ]);
            let display_name = match self.send_as(tokens, profile).await {
                Ok(answer) if answer.is_success() => answer
                    .json::<Profile>()
                    .ok()
                    .and_then(|profile| profile.value.display_name)
                    .filter(|name| !name.trim().is_empty()),
                _ => None,
            };
            Ok(AccountInfo {
                id: session.did,
                handle: session.handle,
                display_name,
            })
        })
    }
}

/// App passwords have the form `xxxx-xxxx-xxxx-xxxx` (<https://atproto.com/specs/xrpc>, "App
/// Passwords"); checking it keeps an account's own password from ever being sent.
fn looks_like_app_password(password: &str) -> bool {
    let groups: Vec<&str> = password.split('-').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|group| group.len() == 4 && group.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn session_tokens(session: Session, server: Option<String>, now: Timestamp) -> Tokens {
    let expires_at = claims(&session.access_jwt)
        .and_then(|claims| claims.exp)
        .and_then(|exp| Timestamp::from_second(exp).ok())
        .or_else(|| now.checked_add(ACCESS_LIFETIME_GUESS).ok());
    Tokens {
        access: session.access_jwt.into(),
        refresh: Some(session.refresh_jwt.into()),
        expires_at,
        subject: session.did,
        server,
        dpop: None,
    }
}

/// A JWT's claims, read without checking its signature.
fn claims(jwt: &str) -> Option<Claims> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `at://did/collection/rkey` as its three parts.
fn parse_at_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let mut parts = uri.strip_prefix("at://")?.split('/');
    let found = (parts.next()?, parts.next()?, parts.next()?);
    let whole = parts.next().is_none() && [found.0, found.1, found.2].iter().all(|p| !p.is_empty());
    whole.then_some(found)
}

fn published(uri: &str) -> Published {
    let url = parse_at_uri(uri)
        .map(|(did, _, rkey)| format!("https://bsky.app/profile/{did}/post/{rkey}"));
    Published {
        remote_id: uri.to_owned(),
        url,
    }
}

/// The body as `T` if the answer is a success, else the error it means.
pub(crate) fn expect_json<T: serde::de::DeserializeOwned>(
    answer: Answer,
) -> Result<T, NetworkError> {
    match failure_of(&answer) {
        Some(error) => Err(error),
        None => answer.json(),
    }
}

pub(crate) fn failure_of(answer: &Answer) -> Option<NetworkError> {
    (!answer.is_success()).then(|| failure(answer))
}

fn error_body(answer: &Answer) -> XrpcError {
    serde_json::from_slice(&answer.body).unwrap_or_default()
}

/// The XRPC error name of an unsuccessful answer (`InvalidToken`, `InvalidRequest`, …) and its
/// message, each empty when the body has none.
pub(crate) fn error_parts(answer: &Answer) -> (String, String) {
    let body = error_body(answer);
    (body.error, body.message)
}

/// The error an unsuccessful answer means. `ExpiredToken` and `InvalidToken` mean reconnect
/// whatever the status (the reference PDS sends them with 400); a 429 waits for
/// `RateLimit-Reset`.
fn failure(answer: &Answer) -> NetworkError {
    let body = error_body(answer);
    let message = match (body.error.as_str(), body.message.as_str()) {
        ("", message) => message.to_owned(),
        (error, "") => error.to_owned(),
        (error, message) => format!("{error}: {message}"),
    };
    if matches!(body.error.as_str(), "ExpiredToken" | "InvalidToken") {
        return NetworkError::Unauthorized(format!("{}: {message}", answer.status));
    }
    let message = match header(&answer.headers, "ratelimit-remaining") {
        Some(remaining) if answer.status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
            format!("{message} ({remaining} requests left in the window)")
        }
        _ => message,
    };
    answer.error(
        &message,
        epoch_seconds_header(&answer.headers, "ratelimit-reset"),
    )
}

/// Whether, after `failure`, the post may be there: the outcome is unknown, or the PDS said the
/// record key is taken.
fn may_exist(failure: &NetworkError) -> bool {
    match failure {
        NetworkError::Unknown(_) => true,
        NetworkError::Rejected(message) => {
            let message = message.to_ascii_lowercase();
            message.contains("already exist") || message.contains("invalidswap")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_tid(text: &str) -> bool {
        text.len() == 13
            && text.bytes().all(|b| TID_ALPHABET.contains(&b))
            && b"234567abcdefghij".contains(&text.as_bytes()[0])
    }

    #[test]
    fn record_keys_are_valid_tids_that_depend_only_on_the_key() {
        let first = Bluesky::record_key("post-1/account-1");
        assert!(is_tid(&first), "{first}");
        assert_eq!(first, Bluesky::record_key("post-1/account-1"));
        assert_ne!(first, Bluesky::record_key("post-1/account-2"));
        for key in ["", "x", "ü", &"k".repeat(1000)] {
            assert!(is_tid(&Bluesky::record_key(key)), "{key}");
        }
    }

    #[test]
    fn the_record_key_is_the_top_63_bits_of_the_key_hash_in_base32_sortable() {
        // Worked out independently: SHA-256 of the key, its first 8 bytes big-endian, shifted
        // right once, 13 digits of "234567abcdefghijklmnopqrstuvwxyz".
        assert_eq!(Bluesky::record_key(""), "b5q5467abw5ke");
        assert_eq!(Bluesky::record_key("post-1/account-1"), "2zgd2zbjxvqvy");
    }

    #[test]
    fn app_passwords_are_told_apart_from_account_passwords() {
        assert!(looks_like_app_password("abcd-ef12-ghij-3456"));
        assert!(!looks_like_app_password("hunter2hunter2"));
        assert!(!looks_like_app_password("abcd-ef12-ghij"));
        assert!(!looks_like_app_password("abcd-ef12-ghij-345!"));
    }

    #[test]
    fn the_expiry_comes_from_the_access_jwt_and_a_guess_when_it_has_none() {
        let payload =
            URL_SAFE_NO_PAD.encode(br#"{"exp":1800000000,"scope":"com.atproto.appPass"}"#);
        let session = Session {
            access_jwt: format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig"),
            refresh_jwt: "r".to_owned(),
            did: "did:plc:abc".to_owned(),
        };
        let now = Timestamp::from_second(1_700_000_000).expect("time");
        let tokens = session_tokens(session, None, now);
        assert_eq!(
            tokens.expires_at,
            Timestamp::from_second(1_800_000_000).ok()
        );
        let opaque = Session {
            access_jwt: "opaque".to_owned(),
            refresh_jwt: "r".to_owned(),
            did: "did:plc:abc".to_owned(),
        };
        let tokens = session_tokens(opaque, None, now);
        assert_eq!(
            tokens.expires_at,
            now.checked_add(ACCESS_LIFETIME_GUESS).ok()
        );
    }

    #[test]
    fn at_uris_split_into_repo_collection_and_record_key() {
        assert_eq!(
            parse_at_uri("at://did:plc:abc/app.bsky.feed.post/3kabc"),
            Some(("did:plc:abc", "app.bsky.feed.post", "3kabc"))
        );
        assert_eq!(parse_at_uri("at://did:plc:abc/app.bsky.feed.post"), None);
        assert_eq!(parse_at_uri("https://bsky.app/x/y/z"), None);
        assert_eq!(
            published("at://did:plc:abc/app.bsky.feed.post/3kabc")
                .url
                .as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3kabc")
        );
    }
}
