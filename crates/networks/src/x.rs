//! X (API v2): posts through `POST /2/tweets`, images uploaded first with their alt text,
//! OAuth 2.0 authorization code with PKCE and refresh tokens.
//!
//! Followed: <https://docs.x.com/x-api/posts/manage-tweets/quickstart> (create and delete),
//! <https://docs.x.com/x-api/posts/timelines/introduction> (`GET /2/users/:id/tweets`),
//! <https://docs.x.com/x-api/users/lookup/introduction> (`GET /2/users/me`),
//! <https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code> and
//! <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token> (authorize,
//! token, refresh, revoke, Basic auth for confidential clients, two-hour access tokens),
//! <https://docs.x.com/x-api/media/upload-media> and
//! <https://docs.x.com/x-api/media/create-media-metadata> (images and alt text),
//! <https://docs.x.com/fundamentals/rate-limits> (`x-rate-limit-reset`, epoch seconds) and
//! <https://docs.x.com/x-api/fundamentals/response-codes-and-errors> (problem bodies and
//! `{"errors": […]}`).
//!
//! X has no idempotency key, so an unknown outcome is reconciled with [`Adapter::find`],
//! which reads the account's latest posts. [`Tokens::subject`] is the X user id.

mod watch;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, RequestBuilder};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::http::{Answer, epoch_seconds_header};
use crate::oauth::{self, ClientAuth, OAuthError, Pkce, TokenAnswer};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, NetworkFuture,
    Outgoing, Published, Tokens,
};

/// X's API, the default base URL.
pub const API: &str = "https://api.x.com";
/// Where people authorize apps: on x.com itself, not the API host.
const AUTHORIZE: &str = "https://x.com/i/oauth2/authorize";
/// Read and write posts, read the user, upload images, read and answer direct messages (the
/// inbox), and get a refresh token. Connections made before `dm.*` was asked for lack it: they
/// read mentions, and direct messages once the gatekeeper connects the account again.
pub const SCOPES: &str =
    "tweet.read tweet.write users.read media.write offline.access dm.read dm.write";
/// How far before the post's `created_at` [`Adapter::find`] starts looking.
const FIND_MARGIN: SignedDuration = SignedDuration::from_mins(10);

/// The X adapter. `endpoint.oauth` is Herald's OAuth 2.0 client at X.
#[derive(Debug, Clone)]
pub struct X {
    pub(crate) endpoint: Endpoint,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    meta: TimelineMeta,
}

#[derive(Deserialize, Default)]
struct TimelineMeta {
    next_token: Option<String>,
}

/// X returns at most 3,200 of an account's most recent posts, 100 a page.
const MOST_TIMELINE_PAGES: usize = 32;

#[derive(Deserialize)]
struct Uploaded {
    id: String,
}

/// X's error bodies: an RFC 7807 problem (`title`, `detail`, `type`, `status`), often with
/// `errors: [{"message": …}]`; OAuth errors are the standard `error` and `error_description`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    #[serde(flatten)]
    oauth: OAuthError,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

impl X {
    pub fn new(endpoint: Endpoint) -> Self {
        X { endpoint }
    }

    pub(crate) fn authorized(&self, tokens: &Tokens, method: Method, path: &str) -> RequestBuilder {
        self.endpoint
            .client
            .request(method, self.endpoint.url(None, path))
            .bearer_auth(tokens.access.expose_secret())
    }

    /// A request to the token or revoke endpoint, with Basic auth for a confidential client.
    fn oauth_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<RequestBuilder, NetworkError> {
        let client = oauth::client(
            &self.endpoint,
            "Herald has no OAuth client configured for X",
        )?;
        let url = self.endpoint.url(None, path);
        Ok(oauth::client_post(
            &self.endpoint,
            &url,
            client,
            ClientAuth::Basic,
            form,
        ))
    }

    async fn me(&self, tokens: &Tokens) -> Result<User, NetworkError> {
        let request = self.authorized(tokens, Method::GET, "/2/users/me");
        let user: Data<User> = call(&self.endpoint, request).await?.json()?;
        Ok(user.data)
    }

    async fn upload(&self, tokens: &Tokens, media: &Media) -> Result<String, NetworkError> {
        let body = json!({
            "media": base64::engine::general_purpose::STANDARD.encode(&media.bytes),
            "media_category": "tweet_image",
            "media_type": media.mime,
        });
        let request = self
            .authorized(tokens, Method::POST, "/2/media/upload")
            .json(&body);
        let uploaded: Data<Uploaded> = call(&self.endpoint, request).await?.json()?;
        let id = uploaded.data.id;
        if !media.alt.is_empty() {
            let metadata = json!({ "id": id, "metadata": { "alt_text": { "text": media.alt } } });
            let request = self
                .authorized(tokens, Method::POST, "/2/media/metadata")
                .json(&metadata);
            call(&self.endpoint, request).await?;
        }
        Ok(id)
    }
}

impl Adapter for X {
    fn idempotent(&self) -> bool {
        // `POST /2/tweets` takes no client key: a repeat makes a second post (or a 403 for
        // duplicate content), so unknown outcomes are reconciled with `find`.
        false
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let client = self.endpoint.oauth.as_ref()?;
        // Away from X's own API (a fake, a proxy), the same server answers both.
        let authorize = if self.endpoint.base_url == API {
            AUTHORIZE.to_owned()
        } else {
            self.endpoint.url(None, "/i/oauth2/authorize")
        };
        oauth::authorize_url(&authorize, &client.id, request, SCOPES, Pkce::S256)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            let mut tokens = match grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => {
                    let form = oauth::code_form(code, redirect_uri, verifier, Pkce::S256);
                    let request = self.oauth_post("/2/oauth2/token", &form)?;
                    let token: TokenAnswer = call(&self.endpoint, request).await?.json()?;
                    token.into_tokens(now, None)
                }
                Grant::AccessToken { token, .. } => Tokens::bearer(token.clone(), String::new()),
                Grant::AppPassword { .. } => {
                    return Err(NetworkError::Rejected(
                        "X connects with OAuth, not an app password".to_owned(),
                    ));
                }
            };
            tokens.subject = self.me(&tokens).await?.id;
            Ok(tokens)
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            let Some(refresh) = &tokens.refresh else {
                // Without `offline.access` X gives no refresh token and the access token
                // dies after two hours: only reconnecting helps then.
                return oauth::keep_until_expired(tokens, now, "X");
            };
            let request = self.oauth_post("/2/oauth2/token", &oauth::refresh_form(refresh))?;
            let token: TokenAnswer = call(&self.endpoint, request).await?.json()?;
            // X rotates refresh tokens; the old one is kept only if no new one came.
            Ok(token.into_tokens(now, Some(tokens)))
        })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            let mut media_ids = Vec::with_capacity(post.media.len());
            for media in &post.media {
                media_ids.push(self.upload(tokens, media).await?);
            }
            let mut body = json!({ "text": post.text });
            if !media_ids.is_empty() {
                body["media"] = json!({ "media_ids": media_ids });
            }
            let request = self
                .authorized(tokens, Method::POST, "/2/tweets")
                .json(&body);
            let tweet: Data<Tweet> = call(&self.endpoint, request).await?.json()?;
            Ok(published(tweet.data.id))
        })
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(async move {
            let since = post
                .created_at
                .checked_sub(FIND_MARGIN)
                .unwrap_or(post.created_at);
            let path = format!("/2/users/{}/tweets", tokens.subject);
            let start_time = since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            let wanted = comparable(&post.text);
            let mut page_token: Option<String> = None;
            // Page back through the timeline from `start_time`: a busy account may have
            // posted more than a page since the attempt.
            for _ in 0..MOST_TIMELINE_PAGES {
                let mut query = vec![
                    ("max_results", "100"),
                    ("exclude", "replies,retweets"),
                    ("start_time", start_time.as_str()),
                ];
                if let Some(token) = &page_token {
                    query.push(("pagination_token", token.as_str()));
                }
                let request = self.authorized(tokens, Method::GET, &path).query(&query);
                let timeline: Timeline = call(&self.endpoint, request).await?.json()?;
                if let Some(tweet) = timeline
                    .data
                    .into_iter()
                    .find(|tweet| comparable(&tweet.text) == wanted)
                {
                    return Ok(Some(published(tweet.id)));
                }
                match timeline.meta.next_token {
                    Some(next) => page_token = Some(next),
                    None => return Ok(None),
                }
            }
            // Past X's own limit: not found in every post X will show.
            Ok(None)
        })
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let path = format!("/2/tweets/{remote_id}");
            let answer = self
                .endpoint
                .send(self.authorized(tokens, Method::DELETE, &path))
                .await?;
            if answer.is_success() || answer.status == reqwest::StatusCode::NOT_FOUND {
                return Ok(());
            }
            Err(failure(&answer))
        })
    }

    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let access = self.oauth_post(
                "/2/oauth2/revoke",
                &[
                    ("token", tokens.access.expose_secret()),
                    ("token_type_hint", "access_token"),
                ],
            )?;
            call(&self.endpoint, access).await?;
            if let Some(refresh) = &tokens.refresh {
                let request = self.oauth_post(
                    "/2/oauth2/revoke",
                    &[
                        ("token", refresh.expose_secret()),
                        ("token_type_hint", "refresh_token"),
                    ],
                )?;
                call(&self.endpoint, request).await?;
            }
            Ok(())
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(async move {
            let user = self.me(tokens).await?;
            Ok(AccountInfo {
                id: user.id,
                handle: format!("@{}", user.username),
                display_name: user.name,
            })
        })
    }
}

pub(crate) fn published(id: String) -> Published {
    Published {
        url: Some(format!("https://x.com/i/web/status/{id}")),
        remote_id: id,
    }
}

/// Sends a request and turns any answer but a success into its error.
pub(crate) async fn call(
    endpoint: &Endpoint,
    request: RequestBuilder,
) -> Result<Answer, NetworkError> {
    endpoint.call(request, failure).await
}

pub(crate) fn failure(answer: &Answer) -> NetworkError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let items: Vec<&str> = body
        .errors
        .iter()
        .filter_map(|item| item.message.as_deref().or(item.detail.as_deref()))
        .collect();
    let message = if items.is_empty() {
        body.detail
            .or(body.oauth.error_description)
            .or(body.title)
            .or(body.oauth.error)
            .unwrap_or_default()
    } else {
        items.join("; ")
    };
    answer.error(
        &message,
        epoch_seconds_header(&answer.headers, "x-rate-limit-reset"),
    )
}

/// Text as X shows it back, made comparable with what Herald sent: X escapes `&`, `<` and
/// `>` and wraps every link in a `t.co` one, so entities are decoded, links become one
/// placeholder and whitespace is squeezed.
pub(crate) fn comparable(text: &str) -> String {
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    decoded
        .split_whitespace()
        .map(|word| {
            if word.starts_with("https://") || word.starts_with("http://") {
                "<link>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_read_back_with_escapes_and_shortened_links_matches_what_was_sent() {
        assert_eq!(
            comparable("Fish &amp; chips &lt;3 https://t.co/AbC123"),
            comparable("Fish & chips <3\nhttps://example.com/menu?day=friday")
        );
        assert_ne!(comparable("Fish & chips"), comparable("Fish and chips"));
    }
}
