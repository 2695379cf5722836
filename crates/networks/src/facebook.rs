//! Facebook Pages through the Graph API: a post is `POST /{page-id}/feed` with `message`, or
//! `POST /{page-id}/photos` with the image (`url`, or a multipart `source` upload), its
//! `caption` and `alt_text_custom`. Several images are each uploaded the same way with
//! `published=false`, which makes a photo but no post, and then attached to one
//! `POST /{page-id}/feed` as `attached_media[i]={"media_fbid":"…"}`. The Page access token is
//! [`Tokens::access`] and the page id [`Tokens::subject`]. The Graph API has no idempotency
//! key, so an unknown outcome is reconciled by reading the page's recent posts
//! ([`Adapter::find`]), which finds a multi-photo post by its message like any other.
//!
//! Followed: <https://developers.facebook.com/documentation/pages-api/posts> (publish, photos,
//! delete), <https://developers.facebook.com/docs/graph-api/reference/page/feed>
//! (`attached_media`), <https://developers.facebook.com/docs/graph-api/reference/page/photos>
//! (`published`), <https://developers.facebook.com/docs/graph-api/photo-uploads> (a
//! multi-photo post: unpublished photos, then the feed post that attaches them),
//! <https://developers.facebook.com/docs/graph-api/reference/photo/> (`alt_text_custom`),
//! <https://developers.facebook.com/documentation/pages-api/getting-started> (`/me/accounts`
//! for Page tokens), <https://developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow>
//! (the login dialog and `/oauth/access_token`), and
//! <https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke>
//! (`DELETE /me/permissions`). Errors and rate limits: [`crate::graph`].

mod watch;

use jiff::Timestamp;
use reqwest::{RequestBuilder, multipart};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::graph::{
    Created, List, Success, TokenAnswer, app, bearer, call, login_base, node, nothing_posted,
};
use crate::oauth::{self, Pkce};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, NetworkFuture,
    Outgoing, Published, Tokens,
};

/// The production Graph host.
pub const BASE_URL: &str = "https://graph.facebook.com";

/// The Graph API version every path starts with. Meta supports each version for at least two
/// years after the next one ships and answers an expired version with an error, so this is
/// raised deliberately (after reading the changelog), never left to a default.
pub const GRAPH_VERSION: &str = "v23.0";

/// Where the gatekeeper's browser goes to log in, for Meta's own Graph host; an adapter
/// pointed at another server (a local fake) sends the browser there instead.
const DIALOG_URL: &str = "https://www.facebook.com";

/// The most photos Herald attaches to one post. Meta documents no maximum for
/// `attached_media`; Herald keeps Instagram's carousel limit rather than promise more.
pub const MOST_IMAGES: usize = 10;

/// What Herald asks the gatekeeper for: list their Pages, read them, post as them.
/// The inbox (`inbox/facebook.rs`) reads comments and mentions (`pages_read_user_content`),
/// answers comments (`pages_manage_engagement`) and reads and answers messages
/// (`pages_messaging`).
const SCOPES: &str = "pages_show_list,pages_read_engagement,pages_manage_posts,pages_read_user_content,pages_manage_engagement,pages_messaging";

/// How many recent posts [`Adapter::find`] reads: a lost post is minutes old at most.
const RECENT_POSTS: &str = "25";

/// A Facebook Page, as Herald publishes to it.
#[derive(Debug, Clone)]
pub struct Facebook {
    pub(crate) endpoint: Endpoint,
}

#[derive(Debug, Deserialize)]
struct Page {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// One of the pages `/me/accounts` lists, with its Page token.
#[derive(Deserialize)]
struct ManagedPage {
    id: String,
    #[serde(default)]
    name: Option<String>,
    access_token: SecretString,
}

/// `POST /{page-id}/photos` answers the photo's id and the id of the post it made.
#[derive(Debug, Deserialize)]
struct PhotoCreated {
    id: String,
    #[serde(default)]
    post_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PagePost {
    id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    permalink_url: Option<String>,
}

impl Facebook {
    /// The adapter talking to `endpoint` (normally [`BASE_URL`]); `endpoint.oauth` is the Meta
    /// app, needed only to connect with an authorization code.
    pub fn new(endpoint: Endpoint) -> Self {
        Facebook { endpoint }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.endpoint.url(None, &format!("/{GRAPH_VERSION}{path}"))
    }

    async fn publish_text(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Published, NetworkError> {
        let page = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{page}/feed")))
            .form(&[("message", post.text.as_str())]);
        let created: Created = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(published(created.id))
    }

    /// One photo, posted with the text as its caption: the photo makes the post.
    async fn publish_photo(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
        media: &Media,
    ) -> Result<Published, NetworkError> {
        let request = self.photo_request(tokens, media, &[("caption", post.text.as_str())])?;
        let created: PhotoCreated = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(published(created.post_id.unwrap_or(created.id)))
    }

    /// Several photos: each uploaded unpublished, then one feed post attaching them all.
    async fn publish_photos(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Published, NetworkError> {
        if post.media.len() > MOST_IMAGES {
            return Err(NetworkError::Rejected(format!(
                "Herald attaches at most {MOST_IMAGES} photos to a Facebook post; this one has {}",
                post.media.len()
            )));
        }
        let mut photos = Vec::with_capacity(post.media.len());
        for media in &post.media {
            let request = self.photo_request(tokens, media, &[("published", "false")])?;
            // An unpublished photo is no post: a lost answer here published nothing.
            let created: Created = call(&self.endpoint, bearer(request, tokens))
                .await
                .map_err(nothing_posted)?;
            photos.push(created.id);
        }
        let mut form = vec![("message".to_owned(), post.text.clone())];
        for (index, photo) in photos.iter().enumerate() {
            let attached = serde_json::json!({ "media_fbid": photo }).to_string();
            form.push((format!("attached_media[{index}]"), attached));
        }
        let page = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .post(self.url(&format!("/{page}/feed")))
            .form(&form);
        let created: Created = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(published(created.id))
    }

    /// `POST /{page-id}/photos` with the image (by its public address, or uploaded as
    /// `source`), its alt text, and `fields`.
    fn photo_request(
        &self,
        tokens: &Tokens,
        media: &Media,
        fields: &[(&str, &str)],
    ) -> Result<RequestBuilder, NetworkError> {
        let page = node(&tokens.subject)?;
        let url = self.url(&format!("/{page}/photos"));
        let mut text = vec![("alt_text_custom", media.alt.as_str())];
        text.extend_from_slice(fields);
        let Some(public_url) = &media.public_url else {
            let source = multipart::Part::bytes(media.bytes.clone())
                .file_name(file_name(&media.mime))
                .mime_str(&media.mime)
                .map_err(|_| {
                    NetworkError::Rejected(format!("{:?} is not a media type", media.mime))
                })?;
            let form = text
                .into_iter()
                .fold(multipart::Form::new(), |form, (name, value)| {
                    form.text(name.to_owned(), value.to_owned())
                })
                .part("source", source);
            return Ok(self.endpoint.client.post(url).multipart(form));
        };
        text.push(("url", public_url.as_str()));
        Ok(self.endpoint.client.post(url).form(&text))
    }

    /// A Page token given by the gatekeeper, checked by reading the page it belongs to.
    async fn connect_page_token(
        &self,
        token: &SecretString,
        subject: Option<&str>,
    ) -> Result<Tokens, NetworkError> {
        let page = node(subject.unwrap_or("me"))?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{page}")))
            .query(&[("fields", "id,name")])
            .bearer_auth(token.expose_secret());
        let page: Page = call(&self.endpoint, request).await?;
        Ok(page_tokens(token.clone(), page.id))
    }

    /// The login dialog's code, exchanged for a user token, made long-lived (so the Page token
    /// derived from it does not expire), then for the one Page the gatekeeper chose.
    async fn connect_code(
        &self,
        code: &SecretString,
        redirect_uri: &str,
    ) -> Result<Tokens, NetworkError> {
        let (client_id, secret) = app(&self.endpoint)?;
        let short: TokenAnswer = call(
            &self.endpoint,
            self.endpoint
                .client
                .get(self.url("/oauth/access_token"))
                .query(&[
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("redirect_uri", redirect_uri),
                    ("code", code.expose_secret()),
                ]),
        )
        .await?;
        let long: TokenAnswer = call(
            &self.endpoint,
            self.endpoint
                .client
                .get(self.url("/oauth/access_token"))
                .query(&[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("fb_exchange_token", short.access_token.expose_secret()),
                ]),
        )
        .await?;
        let request = self
            .endpoint
            .client
            .get(self.url("/me/accounts"))
            .query(&[("fields", "id,name,access_token")])
            .bearer_auth(long.access_token.expose_secret());
        let pages: List<ManagedPage> = call(&self.endpoint, request).await?;
        let mut pages = pages.data;
        match pages.len() {
            1 => {
                let page = pages.remove(0);
                Ok(page_tokens(page.access_token, page.id))
            }
            0 => Err(NetworkError::Rejected(
                "the Facebook login granted no Page: choose the Page to connect in the dialog"
                    .to_owned(),
            )),
            _ => {
                let names: Vec<String> = pages
                    .iter()
                    .map(|page| page.name.clone().unwrap_or_else(|| page.id.clone()))
                    .collect();
                Err(NetworkError::Rejected(format!(
                    "the Facebook login granted {} Pages ({}): choose exactly one in the dialog",
                    names.len(),
                    names.join(", ")
                )))
            }
        }
    }

    async fn find_post(
        &self,
        tokens: &Tokens,
        post: &Outgoing,
    ) -> Result<Option<Published>, NetworkError> {
        let page = node(&tokens.subject)?;
        let request = self
            .endpoint
            .client
            .get(self.url(&format!("/{page}/posts")))
            .query(&[
                ("fields", "id,message,permalink_url"),
                ("limit", RECENT_POSTS),
            ]);
        let posts: List<PagePost> = call(&self.endpoint, bearer(request, tokens)).await?;
        Ok(posts
            .data
            .into_iter()
            .find(|held| held.message.as_deref() == Some(post.text.as_str()))
            .map(|held| Published {
                url: held
                    .permalink_url
                    .or_else(|| published(held.id.clone()).url),
                remote_id: held.id,
            }))
    }
}

impl Adapter for Facebook {
    fn idempotent(&self) -> bool {
        false
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let oauth = self.endpoint.oauth.as_ref()?;
        // The dialog takes no PKCE challenge outside its OpenID Connect mode; the code is
        // bound to Herald by the app secret at the exchange instead.
        let dialog = login_base(&self.endpoint, DIALOG_URL);
        let page = format!("{dialog}/{GRAPH_VERSION}/dialog/oauth");
        oauth::authorize_url(&page, &oauth.id, request, SCOPES, Pkce::NotSent)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, _now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            match grant {
                Grant::AccessToken { token, subject, .. } => {
                    self.connect_page_token(token, subject.as_deref()).await
                }
                Grant::AuthorizationCode {
                    code, redirect_uri, ..
                } => self.connect_code(code, redirect_uri).await,
                Grant::AppPassword { .. } => Err(NetworkError::Rejected(
                    "Facebook Pages connect with a Page token or the Facebook login, not a password"
                        .to_owned(),
                )),
            }
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, _now: Timestamp) -> NetworkFuture<'a, Tokens> {
        // A Page token made from a long-lived user token has no expiry.
        Box::pin(async move { Ok(tokens.clone()) })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            match post.media.as_slice() {
                [] => self.publish_text(tokens, post).await,
                [media] => self.publish_photo(tokens, post, media).await,
                _ => self.publish_photos(tokens, post).await,
            }
        })
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(self.find_post(tokens, post))
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let post = node(remote_id)?;
            let request = self.endpoint.client.delete(self.url(&format!("/{post}")));
            let answer: Success = call(&self.endpoint, bearer(request, tokens)).await?;
            succeeded(answer, "delete the post")
        })
    }

    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let request = self.endpoint.client.delete(self.url("/me/permissions"));
            let answer: Success = call(&self.endpoint, bearer(request, tokens)).await?;
            succeeded(answer, "revoke Herald's permissions")
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(async move {
            let page = node(&tokens.subject)?;
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{page}")))
                .query(&[("fields", "id,name,username")]);
            let page: Page = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(AccountInfo {
                handle: page
                    .username
                    .or_else(|| page.name.clone())
                    .unwrap_or_else(|| page.id.clone()),
                id: page.id,
                display_name: page.name,
            })
        })
    }
}

/// A post id (`{page-id}_{post-id}`) and the address Facebook shows it at.
fn published(remote_id: String) -> Published {
    let url = node(&remote_id)
        .ok()
        .map(|id| format!("https://www.facebook.com/{id}"));
    Published { remote_id, url }
}

/// A Page token made from a long-lived user token has no expiry.
fn page_tokens(access: SecretString, page_id: String) -> Tokens {
    Tokens::bearer(access, page_id)
}

fn succeeded(answer: Success, what: &str) -> Result<(), NetworkError> {
    if answer.success {
        Ok(())
    } else {
        Err(NetworkError::Rejected(format!("Facebook did not {what}")))
    }
}

fn file_name(mime: &str) -> String {
    let extension = mime.strip_prefix("image/").unwrap_or("bin");
    format!("image.{extension}")
}
