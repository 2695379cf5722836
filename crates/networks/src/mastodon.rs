//! Mastodon, on any instance: statuses with an `Idempotency-Key`, images uploaded first with
//! their alt text, OAuth 2.0 with PKCE or a token from the instance's Development settings.
//!
//! Followed: <https://docs.joinmastodon.org/methods/statuses/> (create, delete, the
//! `Idempotency-Key` header and the `{"error": …}` body), <https://docs.joinmastodon.org/methods/media/>
//! (`POST /api/v2/media`), <https://docs.joinmastodon.org/methods/oauth/> and
//! <https://docs.joinmastodon.org/spec/oauth/> (authorize, token, revoke, PKCE since 4.3),
//! <https://docs.joinmastodon.org/methods/apps/> (registering Herald at an instance),
//! <https://docs.joinmastodon.org/methods/accounts/> (`verify_credentials`, an account's
//! statuses) and <https://docs.joinmastodon.org/api/rate-limits/> (`X-RateLimit-Reset`, an
//! ISO 8601 time).
//!
//! Accounts live on many instances: [`Tokens::server`] is the instance's base URL and
//! [`Tokens::subject`] the account id there. Mastodon tokens do not expire.

mod watch;

use jiff::Timestamp;
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::http::{Answer, iso_time_header};
use crate::oauth::{self, ClientAuth, OAuthError, Pkce, TokenAnswer};
use crate::{
    AccountInfo, Adapter, AuthorizeRequest, Endpoint, Grant, NetworkError, NetworkFuture,
    OAuthClient, Outgoing, Published, Tokens,
};

/// The scopes Herald asks for: who the account is, its statuses (to reconcile), posting and
/// uploading images.
pub const SCOPES: &str = "read:accounts read:statuses write:statuses write:media";

/// How many of the account's latest statuses [`Adapter::find`] looks through.
const RECENT_STATUSES: &str = "40";

/// The Mastodon adapter. `endpoint.base_url` is the default instance; `endpoint.oauth` is
/// Herald's application registered there (see [`Mastodon::register_app`]).
#[derive(Debug, Clone)]
pub struct Mastodon {
    pub(crate) endpoint: Endpoint,
}

#[derive(Deserialize)]
struct Account {
    id: String,
    username: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct Attachment {
    id: String,
}

#[derive(Deserialize)]
struct Application {
    client_id: String,
    client_secret: String,
}

/// Mastodon's error body: `{"error": "…"}`, with `error_description` on OAuth errors: the
/// standard OAuth error body, on every endpoint.
type ErrorBody = OAuthError;

impl Mastodon {
    pub fn new(endpoint: Endpoint) -> Self {
        Mastodon { endpoint }
    }

    /// Registers Herald as an application at the instance (`POST /api/v1/apps`), for an
    /// [`Endpoint`] whose `oauth` is then the client returned.
    pub async fn register_app(
        &self,
        client_name: &str,
        redirect_uri: &str,
    ) -> Result<OAuthClient, NetworkError> {
        let form = [
            ("client_name", client_name),
            ("redirect_uris", redirect_uri),
            ("scopes", SCOPES),
        ];
        let request = self
            .endpoint
            .client
            .post(self.endpoint.url(None, "/api/v1/apps"))
            .form(&form);
        let app: Application = call(&self.endpoint, request).await?.json()?;
        Ok(OAuthClient {
            id: app.client_id,
            secret: Some(SecretString::from(app.client_secret)),
        })
    }

    fn oauth(&self) -> Result<&OAuthClient, NetworkError> {
        oauth::client(
            &self.endpoint,
            "Herald has no application registered at this Mastodon instance",
        )
    }

    pub(crate) fn authorized(
        &self,
        tokens: &Tokens,
        method: reqwest::Method,
        path: &str,
    ) -> RequestBuilder {
        self.endpoint
            .client
            .request(method, self.endpoint.url(tokens.server.as_deref(), path))
            .bearer_auth(tokens.access.expose_secret())
    }

    async fn verify(&self, tokens: &Tokens) -> Result<Account, NetworkError> {
        let request = self.authorized(
            tokens,
            reqwest::Method::GET,
            "/api/v1/accounts/verify_credentials",
        );
        call(&self.endpoint, request).await?.json()
    }

    /// Turns a token into tokens for the account it acts as, on `server`.
    async fn tokens_for(
        &self,
        access: SecretString,
        server: Option<String>,
    ) -> Result<Tokens, NetworkError> {
        let mut tokens = Tokens {
            server: Some(server.unwrap_or_else(|| self.endpoint.base_url.clone())),
            ..Tokens::bearer(access, String::new())
        };
        tokens.subject = self.verify(&tokens).await?.id;
        Ok(tokens)
    }

    async fn upload(
        &self,
        tokens: &Tokens,
        media: &crate::Media,
        index: usize,
    ) -> Result<String, NetworkError> {
        let file = reqwest::multipart::Part::bytes(media.bytes.clone())
            .file_name(format!("image-{index}.{}", extension(&media.mime)))
            .mime_str(&media.mime)
            .map_err(|_| {
                NetworkError::Rejected(format!("unsupported image type {}", media.mime))
            })?;
        let form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("description", media.alt.clone());
        let request = self
            .authorized(tokens, reqwest::Method::POST, "/api/v2/media")
            .multipart(form);
        // 200 when processed, 202 while the full size is still processing; images are
        // processed synchronously since Mastodon 4.0, so either id can be attached.
        let attachment: Attachment = call(&self.endpoint, request).await?.json()?;
        Ok(attachment.id)
    }
}

impl Adapter for Mastodon {
    fn idempotent(&self) -> bool {
        // Mastodon keeps an `Idempotency-Key` for an hour and answers a repeat with the first
        // status; Herald's retries of one post fall well inside that.
        true
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let client = self.endpoint.oauth.as_ref()?;
        // PKCE since Mastodon 4.3; older instances ignore the challenge.
        let page = self.endpoint.url(None, "/oauth/authorize");
        oauth::authorize_url(&page, &client.id, request, SCOPES, Pkce::S256)
    }

    fn connect<'a>(&'a self, grant: &'a Grant, _now: Timestamp) -> NetworkFuture<'a, Tokens> {
        Box::pin(async move {
            match grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => {
                    let client = self.oauth()?;
                    let mut form = oauth::code_form(code, redirect_uri, verifier, Pkce::S256);
                    form.push(("scope", SCOPES));
                    let url = self.endpoint.url(None, "/oauth/token");
                    let request =
                        oauth::client_post(&self.endpoint, &url, client, ClientAuth::Form, &form);
                    let token: TokenAnswer = call(&self.endpoint, request).await?.json()?;
                    self.tokens_for(token.access_token, None).await
                }
                Grant::AccessToken { token, server, .. } => {
                    self.tokens_for(token.clone(), server.clone()).await
                }
                Grant::AppPassword { .. } => Err(NetworkError::Rejected(
                    "Mastodon connects with OAuth or an access token, not an app password"
                        .to_owned(),
                )),
            }
        })
    }

    fn refresh<'a>(&'a self, tokens: &'a Tokens, _now: Timestamp) -> NetworkFuture<'a, Tokens> {
        // Mastodon access tokens do not expire; they last until revoked.
        Box::pin(async move { Ok(tokens.clone()) })
    }

    fn publish<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            let mut media_ids = Vec::with_capacity(post.media.len());
            for (index, media) in post.media.iter().enumerate() {
                media_ids.push(self.upload(tokens, media, index).await?);
            }
            let mut form = vec![("status", post.text.as_str())];
            form.extend(media_ids.iter().map(|id| ("media_ids[]", id.as_str())));
            let request = self
                .authorized(tokens, reqwest::Method::POST, "/api/v1/statuses")
                .header("Idempotency-Key", &post.key)
                .form(&form);
            let status: Status = call(&self.endpoint, request).await?.json()?;
            Ok(Published {
                remote_id: status.id,
                url: status.url,
            })
        })
    }

    fn find<'a>(
        &'a self,
        tokens: &'a Tokens,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(async move {
            let path = format!("/api/v1/accounts/{}/statuses", tokens.subject);
            let request = self
                .authorized(tokens, reqwest::Method::GET, &path)
                .query(&[
                    ("limit", RECENT_STATUSES),
                    ("exclude_replies", "true"),
                    ("exclude_reblogs", "true"),
                ]);
            let statuses: Vec<Status> = call(&self.endpoint, request).await?.json()?;
            let wanted = squeeze(&post.text);
            Ok(statuses
                .into_iter()
                .find(|status| squeeze(&plain_text(&status.content)) == wanted)
                .map(|status| Published {
                    remote_id: status.id,
                    url: status.url,
                }))
        })
    }

    fn delete<'a>(&'a self, tokens: &'a Tokens, remote_id: &'a str) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let path = format!("/api/v1/statuses/{remote_id}");
            let answer = self
                .endpoint
                .send(self.authorized(tokens, reqwest::Method::DELETE, &path))
                .await?;
            // A status that is already gone is what deleting it wanted.
            if answer.is_success() || answer.status == reqwest::StatusCode::NOT_FOUND {
                return Ok(());
            }
            Err(failure(&answer))
        })
    }

    fn revoke<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, ()> {
        Box::pin(async move {
            let client = self.oauth()?;
            let url = self.endpoint.url(tokens.server.as_deref(), "/oauth/revoke");
            let form = [("token", tokens.access.expose_secret())];
            let request = oauth::client_post(&self.endpoint, &url, client, ClientAuth::Form, &form);
            call(&self.endpoint, request).await.map(drop)
        })
    }

    fn account_info<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, AccountInfo> {
        Box::pin(async move {
            let account = self.verify(tokens).await?;
            let server = tokens.server.as_deref().unwrap_or(&self.endpoint.base_url);
            let host = reqwest::Url::parse(server)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            Ok(AccountInfo {
                id: account.id,
                handle: format!("@{}@{host}", account.username),
                display_name: Some(account.display_name).filter(|name| !name.is_empty()),
            })
        })
    }
}

/// Sends a request and turns any answer but a success into its error.
pub(crate) async fn call(
    endpoint: &Endpoint,
    request: RequestBuilder,
) -> Result<Answer, NetworkError> {
    endpoint.call(request, failure).await
}

/// The error an answer means; a rate limit waits for `X-RateLimit-Reset`, an ISO 8601 time.
pub(crate) fn failure(answer: &Answer) -> NetworkError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let message = body.message().unwrap_or_default();
    answer.error(
        &message,
        iso_time_header(&answer.headers, "x-ratelimit-reset"),
    )
}

fn extension(mime: &str) -> &str {
    match mime {
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "png",
    }
}

/// The text a status's HTML `content` shows: paragraphs and line breaks back to newlines,
/// tags dropped (a link's hidden `https://` spans keep their text), entities decoded.
pub(crate) fn plain_text(html: &str) -> String {
    let html = html
        .replace("</p><p>", "\n\n")
        .replace("<br />", "\n")
        .replace("<br>", "\n");
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Text with every run of whitespace made one space, for comparing what Herald sent with
/// what the instance rendered.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_content_reads_back_as_the_text_that_was_sent() {
        let html = "<p>Fish &amp; chips &lt;today&gt;<br />at <a href=\"https://example.com/menu\" \
                    rel=\"nofollow\"><span class=\"invisible\">https://</span><span \
                    class=\"\">example.com/menu</span></a></p><p>it&#39;s on</p>";
        assert_eq!(
            plain_text(html),
            "Fish & chips <today>\nat https://example.com/menu\n\nit's on"
        );
    }
}
