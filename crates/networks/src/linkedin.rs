//! LinkedIn: text posts for a member or an organization through the versioned Posts API,
//! commentary in LinkedIn's "little" text format, OAuth 2.0 authorization code.
//!
//! Followed: <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>
//! (create with the `x-restli-id` answer header, find by author, delete, the `LinkedIn-Version`
//! and `X-Restli-Protocol-Version` headers),
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format>
//! (reserved characters), <https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>
//! and <https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens>
//! (authorize, `accessToken`, 60-day tokens, refresh where LinkedIn grants it),
//! <https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2>
//! (`/v2/userinfo`), <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling>
//! (`{"status", "serviceErrorCode", "code", "message"}`) and
//! <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits> (429).
//!
//! LinkedIn has no idempotency key, so an unknown outcome is reconciled with
//! [`Adapter::find`]. [`Tokens::subject`] is the author URN (`urn:li:person:…` or
//! `urn:li:organization:…`). Images go through the Images API
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api>:
//! `initializeUpload` for an owner, a `PUT` of the bytes to the `uploadUrl` it answers), each
//! URN with its `altText`: one image is the post's `content.media`, two to twenty are its
//! `content.multiImage.images`
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/multiimage-post-api>).
//! A multi-image post is found again by its commentary, as any other.

mod watch;

pub(crate) use watch::unescaped;

use jiff::Timestamp;
use reqwest::{Method, RequestBuilder};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::error::nothing_posted;
use crate::http::{Answer, header};
use crate::oauth::{self, ClientAuth, OAuthError, Pkce, TokenAnswer};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, NetworkFuture,
    Outgoing, Published, Tokens,
};

/// LinkedIn's API, the default base URL.
pub const API: &str = "https://api.linkedin.com";
/// Where LinkedIn's OAuth lives: on www.linkedin.com, not the API host.
pub const OAUTH: &str = "https://www.linkedin.com";
/// The Posts API version Herald speaks (`LinkedIn-Version`, YYYYMM). LinkedIn supports each
/// monthly version for about a year and then sunsets it, so this must move forward at least
/// yearly; 202605 is the version whose documentation the little-text-format rules were read
/// from.
pub const VERSION: &str = "202605";
/// Sign in (OpenID Connect: `openid profile`) and post as the member. Posting as an
/// organization needs `w_organization_social` on top, granted to approved apps.
pub const SCOPES: &str = "openid profile w_member_social";
/// How many of the author's latest posts [`Adapter::find`] looks through.
const RECENT_POSTS: &str = "20";
/// The most images a multi-image post holds (and the fewest is two).
pub const MOST_IMAGES: usize = 20;
/// The characters the little text format reserves; each is escaped with a backslash.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// The LinkedIn adapter. `endpoint.oauth` is Herald's app at LinkedIn (client id and secret).
#[derive(Debug, Clone)]
pub struct LinkedIn {
    pub(crate) endpoint: Endpoint,
    oauth_base: String,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Organization {
    #[serde(default, rename = "localizedName")]
    localized_name: Option<String>,
    #[serde(default, rename = "vanityName")]
    vanity_name: Option<String>,
}

#[derive(Deserialize)]
struct Posts {
    #[serde(default)]
    elements: Vec<Post>,
}

#[derive(Deserialize)]
struct Post {
    id: String,
    #[serde(default)]
    commentary: String,
}

/// LinkedIn's API error body; OAuth errors are the standard `error` and `error_description`
/// instead.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(flatten)]
    oauth: OAuthError,
}

impl LinkedIn {
    /// An adapter for `endpoint`. OAuth goes to www.linkedin.com when the endpoint is
    /// LinkedIn's own API; any other base URL (a fake, a proxy) is taken to serve both.
    pub fn new(endpoint: Endpoint) -> Self {
        let oauth_base = if endpoint.base_url == API {
            OAUTH.to_owned()
        } else {
            endpoint.base_url.clone()
        };
        LinkedIn {
            endpoint,
            oauth_base,
        }
    }

    /// Sends OAuth requests (authorize, token, revoke) to `url` instead.
    pub fn with_oauth_base_url(mut self, url: &str) -> Self {
        url.trim_end_matches('/').clone_into(&mut self.oauth_base);
        self
    }

    /// A form post to LinkedIn's OAuth server with the client's id and secret as fields.
    fn oauth_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<RequestBuilder, NetworkError> {
        let client = oauth::client(&self.endpoint, "Herald has no LinkedIn app configured")?;
        let url = format!("{}{path}", self.oauth_base);
        Ok(oauth::client_post(
            &self.endpoint,
            &url,
            client,
            ClientAuth::Form,
            form,
        ))
    }

    /// A Posts API request with the bearer token and LinkedIn's two version headers.
    pub(crate) fn rest(&self, tokens: &Tokens, method: Method, path: &str) -> RequestBuilder {
        self.endpoint
            .client
            .request(method, self.endpoint.url(None, path))
            .bearer_auth(tokens.access.expose_secret())
            .header("LinkedIn-Version", VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// Uploads one image for the post's author and returns its URN with the alt text. Nothing
    /// is posted yet, so any failure here leaves the post certainly unpublished.
    async fn upload_image(
        &self,
        tokens: &Tokens,
        image: &Media,
    ) -> Result<(String, String), NetworkError> {
        let body = json!({ "initializeUploadRequest": { "owner": tokens.subject } });
        let request = self
            .rest(tokens, Method::POST, "/rest/images")
            .query(&[("action", "initializeUpload")])
            .json(&body);
        let started: Started = call(&self.endpoint, request)
            .await
            .and_then(|answer| answer.json())
            .map_err(nothing_posted)?;
        // The upload address comes from LinkedIn's answer; the token goes only to LinkedIn (or
        // to the server Herald was configured with, such as a test's fake).
        let to_linkedin = started.value.upload_url.starts_with("https://")
            && host_of(&started.value.upload_url)
                .is_some_and(|host| host == "linkedin.com" || host.ends_with(".linkedin.com"));
        if !to_linkedin
            && !started
                .value
                .upload_url
                .starts_with(&self.endpoint.base_url)
        {
            return Err(NetworkError::Rejected(
                "LinkedIn gave an upload address outside linkedin.com; Herald did not send the image"
                    .to_owned(),
            ));
        }
        let upload = self
            .endpoint
            .client
            .put(&started.value.upload_url)
            .bearer_auth(tokens.access.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, &image.mime)
            .body(image.bytes.clone());
        call(&self.endpoint, upload).await.map_err(nothing_posted)?;
        Ok((started.value.image, image.alt.clone()))
    }

    async fn userinfo(&self, tokens: &Tokens) -> Result<UserInfo, NetworkError> {
        let request = self
            .endpoint
            .client
            .get(self.endpoint.url(None, "/v2/userinfo"))
            .bearer_auth(tokens.access.expose_secret());
        call(&self.endpoint, request).await?.json()
    }
}

impl Adapter for LinkedIn {
    fn idempotent(&self) -> bool {
        // The Posts API takes no client key; a repeat makes a second post.
        false
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let client = self.endpoint.oauth.as_ref()?;
        // LinkedIn's flow for server-side apps authenticates the client with its secret at
        // the token endpoint rather than with PKCE, so the challenge is not sent.
        let page = format!("{}/oauth/v2/authorization", self.oauth_base);
        oauth::authorize_url(&page, &client.id, request, SCOPES, Pkce::NotSent)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            let (mut tokens, subject) = match grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => {
                    let form = oauth::code_form(code, redirect_uri, verifier, Pkce::NotSent);
                    let request = self.oauth_post("/oauth/v2/accessToken", &form)?;
                    let token: TokenAnswer = call(&self.endpoint, request).await?.json()?;
                    (token.into_tokens(now, None), None)
                }
                Grant::AccessToken { token, subject, .. } => (
                    Tokens::bearer(token.clone(), String::new()),
                    subject.clone(),
                ),
                Grant::AppPassword { .. } => {
                    return Err(NetworkError::Rejected(
                        "LinkedIn connects with OAuth, not an app password".to_owned(),
                    ));
                }
            };
            // The member's URN, unless the gatekeeper named an organization to post as.
            let member = self.userinfo(&tokens).await?;
            tokens.subject = subject.unwrap_or_else(|| format!("urn:li:person:{}", member.sub));
            Ok(tokens)
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            let Some(refresh) = &tokens.refresh else {
                // Refresh tokens are only for apps LinkedIn has approved for them; otherwise
                // the 60-day token runs out and the gatekeeper reconnects.
                return oauth::keep_until_expired(tokens, now, "LinkedIn");
            };
            let request =
                self.oauth_post("/oauth/v2/accessToken", &oauth::refresh_form(refresh))?;
            let token: TokenAnswer = call(&self.endpoint, request).await?.json()?;
            Ok(token.into_tokens(now, Some(tokens)))
        })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            if post.media.len() > MOST_IMAGES {
                return Err(NetworkError::Rejected(format!(
                    "LinkedIn takes at most {MOST_IMAGES} images on a post; this one has {}",
                    post.media.len()
                )));
            }
            // Every image is uploaded before the post is made, so a failure on the way
            // leaves nothing posted.
            let mut images = Vec::with_capacity(post.media.len());
            for image in &post.media {
                images.push(self.upload_image(tokens, image).await?);
            }
            let mut body = json!({
                "author": tokens.subject,
                "commentary": escape(&post.text),
                "visibility": "PUBLIC",
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": false,
            });
            if let Some(content) = content(&images) {
                body["content"] = content;
            }
            let request = self.rest(tokens, Method::POST, "/rest/posts").json(&body);
            let answer = call(&self.endpoint, request).await?;
            // The new post's URN comes in a header; a success without it is no answer.
            let Some(urn) = header(&answer.headers, "x-restli-id").filter(|urn| !urn.is_empty())
            else {
                return Err(NetworkError::Unknown(format!(
                    "LinkedIn answered {} without the new post's id",
                    answer.status
                )));
            };
            Ok(published(urn.to_owned()))
        })
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(async move {
            let request = self
                .rest(tokens, Method::GET, "/rest/posts")
                .header("X-RestLi-Method", "FINDER")
                .query(&[
                    ("author", tokens.subject.as_str()),
                    ("q", "author"),
                    ("count", RECENT_POSTS),
                    ("sortBy", "LAST_MODIFIED"),
                ]);
            let posts: Posts = call(&self.endpoint, request).await?.json()?;
            let wanted = escape(&post.text);
            Ok(posts
                .elements
                .into_iter()
                .find(|held| held.commentary == wanted)
                .map(|held| published(held.id)))
        })
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let path = format!("/rest/posts/{}", encode(remote_id));
            let request = self
                .rest(tokens, Method::DELETE, &path)
                .header("X-RestLi-Method", "DELETE");
            let answer = self.endpoint.send(request).await?;
            if answer.is_success() || answer.status == reqwest::StatusCode::NOT_FOUND {
                return Ok(());
            }
            Err(failure(&answer))
        })
    }

    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let request = self.oauth_post(
                "/oauth/v2/revoke",
                &[("token", tokens.access.expose_secret())],
            )?;
            call(&self.endpoint, request).await.map(drop)
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(async move {
            if let Some(id) = tokens.subject.strip_prefix("urn:li:organization:") {
                let path = format!("/rest/organizations/{id}");
                let org: Organization = call(&self.endpoint, self.rest(tokens, Method::GET, &path))
                    .await?
                    .json()?;
                return Ok(AccountInfo {
                    id: tokens.subject.clone(),
                    handle: org
                        .vanity_name
                        .or_else(|| org.localized_name.clone())
                        .unwrap_or_default(),
                    display_name: org.localized_name,
                });
            }
            let member = self.userinfo(tokens).await?;
            Ok(AccountInfo {
                id: format!("urn:li:person:{}", member.sub),
                // Members have no public handle in the API: their name is what people see.
                handle: member.name.clone().unwrap_or_default(),
                display_name: member.name,
            })
        })
    }
}

/// Text as the little text format's plain text: every reserved character backslash-escaped,
/// so LinkedIn neither reads it as markup nor cuts the post short at it.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if RESERVED.contains(&c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A post's `content` for its uploaded images (URN and alt text each): none, one
/// `media`, or a `multiImage` of several.
fn content(images: &[(String, String)]) -> Option<serde_json::Value> {
    match images {
        [] => None,
        [(urn, alt)] => Some(json!({ "media": { "id": urn, "altText": alt } })),
        several => {
            let images: Vec<serde_json::Value> = several
                .iter()
                .map(|(urn, alt)| json!({ "id": urn, "altText": alt }))
                .collect();
            Some(json!({ "multiImage": { "images": images } }))
        }
    }
}

/// `initializeUpload`'s answer.
#[derive(Deserialize)]
struct Started {
    value: StartedValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartedValue {
    upload_url: String,
    image: String,
}

/// The host of an `https://host[:port]/…` address, lower-cased.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = host.split(':').next()?;
    Some(host.to_ascii_lowercase())
}

pub(crate) fn published(urn: String) -> Published {
    Published {
        url: Some(format!("https://www.linkedin.com/feed/update/{urn}/")),
        remote_id: urn,
    }
}

/// A URN as one path segment: everything but unreserved characters percent-encoded.
pub(crate) fn encode(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len() * 2);
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Sends a request and turns any answer but a success into its error.
async fn call(endpoint: &Endpoint, request: RequestBuilder) -> Result<Answer, NetworkError> {
    endpoint.call(request, failure).await
}

pub(crate) fn failure(answer: &Answer) -> NetworkError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let message = body
        .message
        .or_else(|| body.oauth.message())
        .unwrap_or_default();
    // LinkedIn documents no reset header for its daily quotas; `Retry-After`, if sent, is
    // read by `Answer::error`.
    answer.error(&message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_character_is_escaped_and_nothing_else() {
        assert_eq!(
            escape(r"Hi @team (50% off) #sale *now* _x_ ~y~ [a] {b} <c> a|b \ ok"),
            r"Hi \@team \(50% off\) \#sale \*now\* \_x\_ \~y\~ \[a\] \{b\} \<c\> a\|b \\ ok"
        );
        assert_eq!(escape("plain text, 100%!"), "plain text, 100%!");
    }

    #[test]
    fn the_upload_host_is_read_the_way_a_client_connects_to_it() {
        assert_eq!(
            host_of("https://www.linkedin.com/dms-uploads/x?a=1").as_deref(),
            Some("www.linkedin.com")
        );
        assert_eq!(
            host_of("https://evil.example/?next=.linkedin.com").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("https://www.linkedin.com@evil.example/").as_deref(),
            Some("evil.example"),
            "user info is not the host"
        );
        assert_eq!(
            host_of("https://linkedin.com.evil.example:443/").as_deref(),
            Some("linkedin.com.evil.example")
        );
    }

    #[test]
    fn one_image_is_the_posts_media_and_several_are_a_multi_image_in_order() {
        assert_eq!(content(&[]), None);
        let image = |n: u8| (format!("urn:li:image:{n}"), format!("alt {n}"));
        assert_eq!(
            content(&[image(1)]),
            Some(json!({ "media": { "id": "urn:li:image:1", "altText": "alt 1" } }))
        );
        assert_eq!(
            content(&[image(1), image(2)]),
            Some(json!({ "multiImage": { "images": [
                { "id": "urn:li:image:1", "altText": "alt 1" },
                { "id": "urn:li:image:2", "altText": "alt 2" },
            ] } }))
        );
    }

    #[test]
    fn a_urn_becomes_one_path_segment() {
        assert_eq!(
            encode("urn:li:share:6844785523593134080"),
            "urn%3Ali%3Ashare%3A6844785523593134080"
        );
    }
}
