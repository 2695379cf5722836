//! Instagram professional accounts through the Instagram Platform's content publishing: a
//! post is two steps, a container (`POST /{ig-user-id}/media` with `image_url`, `caption` and
//! `alt_text`), then `POST /{ig-user-id}/media_publish` with its `creation_id`. A carousel (two
//! to ten images) is three: an item container per image (`is_carousel_item=true`), a
//! `CAROUSEL` container naming them as `children` with the caption, then `media_publish` of
//! that. Every container's `status_code` is checked before it is used. Instagram fetches the
//! images itself, so every post needs one to ten JPEGs, each with a [`Media::public_url`];
//! anything else is refused before any request. There is no idempotency key: an unknown
//! outcome is reconciled by reading the account's recent media, which finds a carousel by
//! its caption like any other post.
//!
//! The same paths work on `graph.instagram.com` (Instagram Login, the default here) and
//! `graph.facebook.com` (Facebook Login): the base URL picks. The token is the Instagram user
//! token; [`Tokens::subject`] is the Instagram professional account id. Connecting from the
//! browser is Instagram Login (www.instagram.com, then api.instagram.com for the code) unless
//! the base URL is not Meta's, when that server (a local fake) is taken to serve both.
//!
//! Followed: <https://developers.facebook.com/documentation/instagram-platform/content-publishing>,
//! <https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media>,
//! <https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media_publish>,
//! <https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-container>
//! (`status_code`), <https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-instagram-login/business-login>
//! (authorize, code exchange, `ig_exchange_token`) and
//! <https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token>.
//! Errors and rate limits: [`crate::graph`].

mod watch;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::facebook::GRAPH_VERSION;
use crate::graph::{
    Containers, Created, List, TokenAnswer, app, bearer, call, carousel, id_text, login_base,
    make_container, node, nothing_posted, refresh_long_lived,
};
use crate::oauth::{self, Pkce};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, NetworkFuture,
    Outgoing, Published, Tokens,
};

/// The production host of the Instagram API with Instagram Login.
pub const BASE_URL: &str = "https://graph.instagram.com";

/// Where authorization codes are exchanged for tokens (a different host from the API).
pub const LOGIN_URL: &str = "https://api.instagram.com";

/// Where the gatekeeper's browser goes to log in (at `/oauth/authorize`).
const AUTHORIZE_HOST: &str = "https://www.instagram.com";

/// The most images a carousel holds (and the fewest is two).
pub const MOST_IMAGES: usize = 10;

/// The inbox (`inbox/instagram.rs`) reads and answers comments and mentions
/// (`instagram_business_manage_comments`) and direct messages
/// (`instagram_business_manage_messages`).
const SCOPES: &str = "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_comments,instagram_business_manage_messages";

/// How many recent media [`Adapter::find`] reads.
const RECENT_MEDIA: &str = "25";

/// Instagram accepts JPEG only for image posts.
const JPEG: &str = "image/jpeg";

/// An Instagram professional account, as Herald publishes to it.
#[derive(Debug, Clone)]
pub struct Instagram {
    pub(crate) endpoint: Endpoint,
    login_url: String,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    status_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MediaItem {
    id: String,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    /// When it was published (ISO 8601), where asked for (the watcher does).
    #[serde(default)]
    timestamp: Option<String>,
}

/// `GET /{ig-user-id}` or `GET /me`: on `/me`, `user_id` is the professional account id that
/// publishing needs, and `id` is app-scoped.
#[derive(Debug, Deserialize)]
struct Account {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    user_id: Option<serde_json::Value>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The code exchange answers either the token itself or `{"data": [token]}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum CodeAnswer {
    Wrapped { data: Vec<ShortToken> },
    Plain(ShortToken),
}

#[derive(Deserialize)]
struct ShortToken {
    access_token: SecretString,
}

impl Instagram {
    /// The adapter talking to `endpoint` (normally [`BASE_URL`]), exchanging codes at
    /// [`LOGIN_URL`], or at the endpoint itself when it is not Meta's (a local fake).
    pub fn new(endpoint: Endpoint) -> Self {
        let login_url = login_base(&endpoint, LOGIN_URL).to_owned();
        Instagram {
            endpoint,
            login_url,
        }
    }

    /// Exchanges authorization codes at `login_url` instead (a local fake in tests).
    pub fn with_login_url(mut self, login_url: &str) -> Self {
        self.login_url = login_url.trim_end_matches('/').to_owned();
        self
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.endpoint.url(None, &format!("/{GRAPH_VERSION}{path}"))
    }

    async fn publish_images(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Published, NetworkError> {
        let container = match images(post)?.as_slice() {
            [(media, image_url)] => {
                let image = [
                    ("image_url", *image_url),
                    ("caption", post.text.as_str()),
                    ("alt_text", media.alt.as_str()),
                ];
                self.checked_container(tokens, &image).await?
            }
            // An item's media type is IMAGE by default, and Instagram takes no other field.
            several => carousel(self, tokens, several, &[], ("caption", &post.text)).await?,
        };
        let account = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{account}/media_publish")))
            .form(&[("creation_id", container.as_str())]);
        let published: Created = call(&self.endpoint, bearer(request, tokens)).await?;
        let url = self.permalink(tokens, &published.id).await;
        Ok(Published {
            remote_id: published.id,
            url,
        })
    }

    /// Instagram fetches and processes the image before the container can be published.
    async fn check_ready(&self, tokens: &Tokens, container_id: &str) -> Result<(), NetworkError> {
        let container = node(container_id)?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{container}")))
            .query(&[("fields", "status_code")]);
        let status: Container = call(&self.endpoint, bearer(request, tokens))
            .await
            .map_err(nothing_posted)?;
        match status.status_code.as_deref() {
            None | Some("FINISHED") => Ok(()),
            Some("IN_PROGRESS") => Err(NetworkError::Unavailable(
                "Instagram is still processing the image; nothing was published yet".to_owned(),
            )),
            Some(other) => Err(NetworkError::Rejected(format!(
                "Instagram could not use the image (container {other})"
            ))),
        }
    }

    /// The post's address; the post exists whether or not this answer comes, so a failure
    /// here only leaves the address unknown.
    async fn permalink(&self, tokens: &Tokens, media_id: &str) -> Option<String> {
        let media = node(media_id).ok()?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{media}")))
            .query(&[("fields", "permalink")]);
        let item: MediaItem = call(&self.endpoint, bearer(request, tokens)).await.ok()?;
        item.permalink
    }

    async fn find_media(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Option<Published>, NetworkError> {
        let account = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{account}/media")))
            .query(&[("fields", "id,caption,permalink"), ("limit", RECENT_MEDIA)]);
        let media: List<MediaItem> = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(media
            .data
            .into_iter()
            .find(|item| item.caption.as_deref() == Some(post.text.as_str()))
            .map(|item| Published {
                remote_id: item.id,
                url: item.permalink,
            }))
    }

    /// Reads the account the token acts as: `/{subject}` where it is known, else `/me`.
    async fn account(
        &self,
        token: &SecretString,
        subject: Option<&str>,
    ) -> Result<AccountInfo, NetworkError> {
        let (path, fields) = match subject {
            Some(subject) => (format!("/{}", node(subject)?), "id,username,name"),
            None => ("/me".to_owned(), "id,user_id,username,name"),
        };
        let request = self
            .endpoint
            .client
            .get(self.url(&path))
            .query(&[("fields", fields)])
            .bearer_auth(token.expose_secret());
        let account: Account = call(&self.endpoint, request).await?;
        let id = account
            .user_id
            .as_ref()
            .and_then(id_text)
            .or_else(|| account.id.as_ref().and_then(id_text))
            .ok_or_else(|| NetworkError::Unknown("Instagram named no account id".to_owned()))?;
        Ok(AccountInfo {
            handle: account.username.unwrap_or_else(|| id.clone()),
            id,
            display_name: account.name,
        })
    }

    /// Code → short-lived token (an hour) → long-lived token (60 days) → the account id.
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
            .post(format!("{}/oauth/access_token", self.login_url))
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect_uri),
                ("code", code.expose_secret()),
            ]);
        let short = match call::<CodeAnswer>(&self.endpoint, request).await? {
            CodeAnswer::Plain(token) => token,
            CodeAnswer::Wrapped { mut data } if !data.is_empty() => data.remove(0),
            CodeAnswer::Wrapped { .. } => {
                return Err(NetworkError::Unknown(
                    "Instagram answered the code with no token".to_owned(),
                ));
            }
        };
        let request = self
            .endpoint
            .client
            .get(self.endpoint.url(None, "/access_token"))
            .query(&[
                ("grant_type", "ig_exchange_token"),
                ("client_secret", secret),
                ("access_token", short.access_token.expose_secret()),
            ]);
        let long: TokenAnswer = call(&self.endpoint, request).await?;
        let account = self.account(&long.access_token, None).await?;
        Ok(Tokens {
            expires_at: long.expires_at(now),
            ..Tokens::bearer(long.access_token, account.id)
        })
    }
}

impl Containers for Instagram {
    /// Makes one container from `form` and checks that Instagram has processed it.
    async fn checked_container(
        &self,
        tokens: &Tokens,
        form: &[(&str, &str)],
    ) -> Result<String, NetworkError> {
        let account = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{account}/media")))
            .form(form);
        let container = make_container(&self.endpoint, request, tokens).await?;
        self.check_ready(tokens, &container).await?;
        Ok(container)
    }
}

impl Adapter for Instagram {
    fn idempotent(&self) -> bool {
        false
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let oauth = self.endpoint.oauth.as_ref()?;
        // Business Login for Instagram takes no PKCE challenge; the app secret binds the code.
        let host = login_base(&self.endpoint, AUTHORIZE_HOST);
        let page = format!("{host}/oauth/authorize");
        oauth::authorize_url(&page, &oauth.id, request, SCOPES, Pkce::NotSent)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            match grant {
                Grant::AccessToken { token, subject, .. } => {
                    let account = self.account(token, subject.as_deref()).await?;
                    Ok(Tokens::bearer(token.clone(), account.id))
                }
                Grant::AuthorizationCode {
                    code, redirect_uri, ..
                } => self.connect_code(code, redirect_uri, now).await,
                Grant::AppPassword { .. } => Err(NetworkError::Rejected(
                    "Instagram connects with the Instagram login or an access token, not a password".to_owned(),
                )),
            }
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            // A pasted token whose expiry Herald never learned (a system user's) is kept.
            if tokens.expires_at.is_none() {
                return Ok(tokens.clone());
            }
            refresh_long_lived(&self.endpoint, tokens, "ig_refresh_token", now).await
        })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(self.publish_images(tokens, post))
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(self.find_media(tokens, post))
    }

    fn delete<'a>(&'a self, _tokens: &'a Tokens, _remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            Err(NetworkError::Rejected(
                "Instagram's API cannot delete posts: delete it in the Instagram app".to_owned(),
            ))
        })
    }

    fn revoke<'a>(&'a self, _tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            Err(NetworkError::Rejected(
                "Instagram has no API to revoke a token: remove Herald under Settings → Website permissions → Apps and websites in Instagram"
                    .to_owned(),
            ))
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(self.account(&tokens.access, Some(&tokens.subject)))
    }
}

/// The JPEGs Instagram can fetch, with their addresses, or why this post cannot go to
/// Instagram.
fn images(post: &Outgoing) -> Result<Vec<(&Media, &str)>, NetworkError> {
    match post.media.len() {
        0 => {
            return Err(NetworkError::Rejected(
                "Instagram posts need an image; this post has none".to_owned(),
            ));
        }
        count if count > MOST_IMAGES => {
            return Err(NetworkError::Rejected(format!(
                "Instagram takes at most {MOST_IMAGES} images on a carousel; this post has {count}"
            )));
        }
        _ => {}
    }
    post.media.iter().map(fetchable).collect()
}

fn fetchable(media: &Media) -> Result<(&Media, &str), NetworkError> {
    if media.mime != JPEG {
        return Err(NetworkError::Rejected(format!(
            "Instagram takes JPEG images only, not {}",
            media.mime
        )));
    }
    let Some(url) = media.public_url.as_deref() else {
        return Err(NetworkError::Rejected(
            "Instagram fetches images from a public address, and this image has none".to_owned(),
        ));
    };
    Ok((media, url))
}
