//! Threads through the Threads API at `graph.threads.net`: a post is two steps, a container
//! (`POST /{threads-user-id}/threads` with `media_type=TEXT` and `text`, or `IMAGE` with
//! `image_url` and `alt_text`), then `POST /{threads-user-id}/threads_publish` with its
//! `creation_id`. A carousel (two to twenty images) is three steps: an `IMAGE` item container
//! per image (`is_carousel_item=true`), a `CAROUSEL` container naming them as `children` with
//! the text, then `threads_publish` of that. Every container that holds images has its
//! `status` checked before it is used. The token is a long-lived Threads user token (60 days, refreshed with
//! `th_refresh_token`); [`Tokens::subject`] is the Threads user id. There is no idempotency
//! key: an unknown outcome is reconciled by reading the account's recent threads, which finds
//! a carousel by its text like any other post.
//!
//! Followed: <https://developers.facebook.com/documentation/threads/posts> (single posts and
//! carousels),
//! <https://developers.facebook.com/documentation/threads/reference/publishing>,
//! <https://developers.facebook.com/documentation/threads/troubleshooting> (container
//! `status`), <https://developers.facebook.com/documentation/threads/posts/delete-posts>,
//! <https://developers.facebook.com/documentation/threads/get-started/get-access-tokens-and-permissions>
//! (authorize and code exchange), <https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/>
//! (`th_exchange_token`, `th_refresh_token`) and
//! <https://developers.facebook.com/documentation/threads/overview> (rate limits). Errors use
//! the Graph error body: [`crate::graph`].

mod watch;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::graph::{
    Containers, Created, List, Success, TokenAnswer, app, bearer, call, carousel, id_text,
    login_base, make_container, node, nothing_posted, refresh_long_lived,
};
use crate::oauth::{self, Pkce};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, NetworkFuture,
    Outgoing, Published, Tokens,
};

/// The production host.
pub const BASE_URL: &str = "https://graph.threads.net";

/// The Threads API version every object path starts with (token paths have none).
pub const API_VERSION: &str = "v1.0";

/// Where the gatekeeper's browser goes to log in (at `/oauth/authorize`); an adapter pointed
/// at another server than Meta's (a local fake) sends the browser there instead.
const AUTHORIZE_HOST: &str = "https://threads.com";

/// The most images a carousel holds (and the fewest is two).
pub const MOST_IMAGES: usize = 20;

const SCOPES: &str = "threads_basic,threads_content_publish,threads_delete";

/// How many recent threads [`Adapter::find`] reads.
const RECENT_THREADS: &str = "25";

/// A Threads profile, as Herald publishes to it.
#[derive(Debug, Clone)]
pub struct Threads {
    pub(crate) endpoint: Endpoint,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Thread {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    id: serde_json::Value,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /oauth/access_token` answers a short-lived token (an hour) and the user id.
#[derive(Deserialize)]
struct CodeAnswer {
    access_token: SecretString,
    user_id: serde_json::Value,
}

impl Threads {
    /// The adapter talking to `endpoint` (normally [`BASE_URL`]); `endpoint.oauth` is the
    /// Threads app, needed only to connect with an authorization code.
    pub fn new(endpoint: Endpoint) -> Self {
        Threads { endpoint }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.endpoint.url(None, &format!("/{API_VERSION}{path}"))
    }

    /// Publishes `post`, as an answer to the Threads media `reply_to` when given (its
    /// containers name it as `reply_to_id`).
    pub(crate) async fn publish_thread(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
        reply_to: Option<&str>,
    ) -> Result<Published, NetworkError> {
        let images = images(post)?;
        let mut answering = Vec::new();
        if let Some(media) = reply_to {
            answering.push(("reply_to_id", node(media)?));
        }
        let container = match images.as_slice() {
            [] => {
                let mut text = vec![("media_type", "TEXT"), ("text", post.text.as_str())];
                text.extend(answering);
                self.container(tokens, &text).await?
            }
            [(media, image_url)] => {
                let mut image = vec![
                    ("media_type", "IMAGE"),
                    ("image_url", image_url),
                    ("alt_text", &media.alt),
                    ("text", &post.text),
                ];
                image.extend(answering);
                self.checked_container(tokens, &image).await?
            }
            _ if reply_to.is_some() => {
                return Err(NetworkError::Rejected(
                    "Herald answers on Threads with at most one image".to_owned(),
                ));
            }
            several => {
                let item = [("media_type", "IMAGE")];
                carousel(self, tokens, several, &item, ("text", &post.text)).await?
            }
        };
        let user = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{user}/threads_publish")))
            .form(&[("creation_id", container.as_str())]);
        let published: Created = call(&self.endpoint, bearer(request, tokens)).await?;
        let url = self.permalink(tokens, &published.id).await;
        Ok(Published {
            remote_id: published.id,
            url,
        })
    }

    /// Makes one container from `form` on the profile's `threads` edge.
    async fn container(
        &self,
        tokens: &Tokens,
        form: &[(&str, &str)],
    ) -> Result<String, NetworkError> {
        let user = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{user}/threads")))
            .form(form);
        make_container(&self.endpoint, request, tokens).await
    }

    /// Threads downloads the image before the container can be published.
    async fn check_ready(&self, tokens: &Tokens, container_id: &str) -> Result<(), NetworkError> {
        let container = node(container_id)?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{container}")))
            .query(&[("fields", "status,error_message")]);
        let status: Container = call(&self.endpoint, bearer(request, tokens))
            .await
            .map_err(nothing_posted)?;
        match status.status.as_deref() {
            None | Some("FINISHED") => Ok(()),
            Some("IN_PROGRESS") => Err(NetworkError::Unavailable(
                "Threads is still processing the image; nothing was published yet".to_owned(),
            )),
            Some(other) => Err(NetworkError::Rejected(format!(
                "Threads could not use the image (container {other}: {})",
                status.error_message.as_deref().unwrap_or("no reason given")
            ))),
        }
    }

    /// The post's address; a failure here only leaves it unknown, the post exists.
    async fn permalink(&self, tokens: &Tokens, media_id: &str) -> Option<String> {
        let media = node(media_id).ok()?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{media}")))
            .query(&[("fields", "permalink")]);
        let thread: Thread = call(&self.endpoint, bearer(request, tokens)).await.ok()?;
        thread.permalink
    }

    async fn find_thread(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Option<Published>, NetworkError> {
        let user = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{user}/threads")))
            .query(&[("fields", "id,text,permalink"), ("limit", RECENT_THREADS)]);
        let threads: List<Thread> = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(threads
            .data
            .into_iter()
            .find(|thread| thread.text.as_deref() == Some(post.text.as_str()))
            .map(|thread| Published {
                remote_id: thread.id,
                url: thread.permalink,
            }))
    }

    async fn profile(&self, token: &SecretString) -> Result<AccountInfo, NetworkError> {
        let request = self
            .endpoint
            .client
            .get(self.url("/me"))
            .query(&[("fields", "id,username,name")])
            .bearer_auth(token.expose_secret());
        let profile: Profile = call(&self.endpoint, request).await?;
        let id = id_text(&profile.id)
            .ok_or_else(|| NetworkError::Unknown("Threads named no user id".to_owned()))?;
        Ok(AccountInfo {
            handle: profile.username.unwrap_or_else(|| id.clone()),
            id,
            display_name: profile.name,
        })
    }

    /// Code → short-lived token (an hour) → long-lived token (60 days).
    async fn connect_code(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        now: Timestamp,
    ) -> Result<Tokens, NetworkError> {
        let (client_id, secret) = app(&self.endpoint)?;
        let request = self
            .endpoint
            .client
            .post(self.endpoint.url(None, "/oauth/access_token"))
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("code", code.expose_secret()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect_uri),
            ]);
        let short: CodeAnswer = call(&self.endpoint, request).await?;
        let subject = id_text(&short.user_id)
            .ok_or_else(|| NetworkError::Unknown("Threads named no user id".to_owned()))?;
        let request = self
            .endpoint
            .client
            .get(self.endpoint.url(None, "/access_token"))
            .query(&[
                ("grant_type", "th_exchange_token"),
                ("client_secret", secret),
                ("access_token", short.access_token.expose_secret()),
            ]);
        let long: TokenAnswer = call(&self.endpoint, request).await?;
        Ok(Tokens {
            expires_at: long.expires_at(now),
            ..Tokens::bearer(long.access_token, subject)
        })
    }
}

impl Containers for Threads {
    /// Makes one container and checks that Threads has fetched what it holds.
    async fn checked_container(
        &self,
        tokens: &Tokens,
        form: &[(&str, &str)],
    ) -> Result<String, NetworkError> {
        let container = self.container(tokens, form).await?;
        self.check_ready(tokens, &container).await?;
        Ok(container)
    }
}

impl Adapter for Threads {
    fn idempotent(&self) -> bool {
        false
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let oauth = self.endpoint.oauth.as_ref()?;
        // The Threads authorization window takes no PKCE challenge; the app secret binds the
        // code to Herald at the exchange.
        let host = login_base(&self.endpoint, AUTHORIZE_HOST);
        let page = format!("{host}/oauth/authorize");
        oauth::authorize_url(&page, &oauth.id, request, SCOPES, Pkce::NotSent)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            match grant {
                Grant::AccessToken { token, subject, .. } => {
                    let profile = self.profile(token).await?;
                    if subject
                        .as_deref()
                        .is_some_and(|subject| subject != profile.id)
                    {
                        return Err(NetworkError::Rejected(format!(
                            "the token acts as Threads user {}, not the one given",
                            profile.id
                        )));
                    }
                    Ok(Tokens::bearer(token.clone(), profile.id))
                }
                Grant::AuthorizationCode {
                    code, redirect_uri, ..
                } => self.connect_code(code, redirect_uri, now).await,
                Grant::AppPassword { .. } => Err(NetworkError::Rejected(
                    "Threads connects with the Threads login or an access token, not a password"
                        .to_owned(),
                )),
            }
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            // Threads refreshes the long-lived token itself; it must be at least a day old and
            // not yet expired.
            refresh_long_lived(&self.endpoint, tokens, "th_refresh_token", now).await
        })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(self.publish_thread(tokens, post, None))
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(self.find_thread(tokens, post))
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let media = node(remote_id)?;
            let request = self.endpoint.client.delete(self.url(&format!("/{media}")));
            let answer: Success = call(&self.endpoint, bearer(request, tokens)).await?;
            if answer.success {
                Ok(())
            } else {
                Err(NetworkError::Rejected(
                    "Threads did not delete the post".to_owned(),
                ))
            }
        })
    }

    fn revoke<'a>(&'a self, _tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            Err(NetworkError::Rejected(
                "Threads has no API to revoke a token: remove Herald under Settings → Account → Website permissions in Threads"
                    .to_owned(),
            ))
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(self.profile(&tokens.access))
    }
}

/// The post's images with the addresses Threads fetches them from, or why it cannot take them.
fn images(post: &Outgoing) -> Result<Vec<(&Media, &str)>, NetworkError> {
    if post.media.len() > MOST_IMAGES {
        return Err(NetworkError::Rejected(format!(
            "Threads takes at most {MOST_IMAGES} images on a carousel; this post has {}",
            post.media.len()
        )));
    }
    post.media
        .iter()
        .map(|media| match media.public_url.as_deref() {
            Some(url) => Ok((media, url)),
            None => Err(NetworkError::Rejected(
                "Threads fetches images from a public address, and this image has none".to_owned(),
            )),
        })
        .collect()
}
