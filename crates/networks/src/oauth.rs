//! The OAuth 2.0 pieces the adapters share (RFC 6749, with PKCE from RFC 7636): the address
//! that sends the gatekeeper to authorize Herald, the client's credentials on a token request,
//! the code-exchange and refresh forms, the token answer, the standard error body, and what to
//! do with tokens that cannot be refreshed.
//!
//! What differs between networks is on the wire, so each adapter says it where it calls these:
//! whether the authorization carries a PKCE challenge ([`Pkce`]), how the client proves itself
//! at the token endpoint ([`ClientAuth`]), and which host serves the authorization page.

use jiff::{SignedDuration, Timestamp};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{AuthorizeRequest, Endpoint, NetworkError, OAuthClient, Tokens};

/// Whether a network's authorization-code flow carries PKCE (S256). Networks whose flow binds
/// the code with the client secret at the exchange instead (LinkedIn, Meta's three) take no
/// challenge, and Herald sends none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkce {
    S256,
    NotSent,
}

/// How a confidential client proves itself at a token or revocation endpoint (RFC 6749
/// §2.3.1): HTTP Basic (X), or `client_id` and `client_secret` as form fields (LinkedIn,
/// Mastodon). A public client (no secret) sends its `client_id` only, either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    Basic,
    Form,
}

/// Herald's registered client at the network, or a rejection saying that none is configured
/// (`missing` names what is missing, in the network's words).
pub(crate) fn client<'a>(
    endpoint: &'a Endpoint,
    missing: &str,
) -> Result<&'a OAuthClient, NetworkError> {
    endpoint
        .oauth
        .as_ref()
        .ok_or_else(|| NetworkError::Rejected(missing.to_owned()))
}

/// The authorization page at `page` for `client_id`, asking for `scope`:
/// `response_type=code`, the redirect URI and state from `request`, and the PKCE challenge
/// when the network takes one. `None` if `page` is not an address.
pub(crate) fn authorize_url(
    page: &str,
    client_id: &str,
    request: &AuthorizeRequest<'_>,
    scope: &str,
    pkce: Pkce,
) -> Option<String> {
    let mut query = vec![
        ("client_id", client_id),
        ("redirect_uri", request.redirect_uri),
        ("response_type", "code"),
        ("scope", scope),
        ("state", request.state),
    ];
    if pkce == Pkce::S256 {
        query.extend([
            ("code_challenge", request.code_challenge),
            ("code_challenge_method", "S256"),
        ]);
    }
    let url = reqwest::Url::parse_with_params(page, query).ok()?;
    Some(url.into())
}

/// A form post to `url` (a token or revocation endpoint) as `client`, authenticated the way
/// the network documents.
pub(crate) fn client_post(
    endpoint: &Endpoint,
    url: &str,
    client: &OAuthClient,
    auth: ClientAuth,
    form: &[(&str, &str)],
) -> RequestBuilder {
    let mut form = form.to_vec();
    form.push(("client_id", client.id.as_str()));
    let mut request = endpoint.client.post(url);
    match (auth, &client.secret) {
        (ClientAuth::Basic, Some(secret)) => {
            request = request.basic_auth(&client.id, Some(secret.expose_secret()));
        }
        (ClientAuth::Form, Some(secret)) => form.push(("client_secret", secret.expose_secret())),
        (_, None) => {}
    }
    request.form(&form)
}

/// The form that redeems an authorization code (RFC 6749 §4.1.3), with the PKCE verifier
/// when the network took a challenge.
pub(crate) fn code_form<'a>(
    code: &'a SecretString,
    redirect_uri: &'a str,
    verifier: &'a SecretString,
    pkce: Pkce,
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", redirect_uri),
    ];
    if pkce == Pkce::S256 {
        form.push(("code_verifier", verifier.expose_secret()));
    }
    form
}

/// The form that trades a refresh token for new tokens (RFC 6749 §6).
pub(crate) fn refresh_form(refresh: &SecretString) -> [(&'static str, &str); 2] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose_secret()),
    ]
}

/// What a token endpoint answers (RFC 6749 §5.1); networks add fields Herald does not read.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: SecretString,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl TokenAnswer {
    /// When the token stops working, `expires_in` seconds after `now`; a lifetime of zero or
    /// less says nothing (Meta answers `0` for tokens that do not expire).
    pub(crate) fn expires_at(&self, now: Timestamp) -> Option<Timestamp> {
        let seconds = self.expires_in.filter(|seconds| *seconds > 0)?;
        now.checked_add(SignedDuration::from_secs(seconds)).ok()
    }

    /// Bearer tokens from this answer, replacing `old` when it is a refresh: networks that
    /// rotate refresh tokens send a new one, and the old one is kept only if none came. The
    /// subject is `old`'s (empty for a first connection: the adapter asks who it is).
    pub(crate) fn into_tokens(self, now: Timestamp, old: Option<&Tokens>) -> Tokens {
        let expires_at = self.expires_at(now);
        Tokens {
            access: self.access_token,
            refresh: self
                .refresh_token
                .or_else(|| old.and_then(|old| old.refresh.clone())),
            expires_at,
            subject: old.map(|old| old.subject.clone()).unwrap_or_default(),
            server: None,
            dpop: None,
        }
    }
}

/// The standard error body of token and revocation endpoints (RFC 6749 §5.2). Networks flatten
/// it into their own error bodies, which add their API's fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OAuthError {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl OAuthError {
    /// The description when there is one, else the error code.
    pub(crate) fn message(self) -> Option<String> {
        self.error_description.or(self.error)
    }
}

/// Tokens with no refresh token (none was granted): kept as they are while they work; once
/// the access token has expired only reconnecting helps.
pub(crate) fn keep_until_expired(
    tokens: &Tokens,
    now: Timestamp,
    network: &str,
) -> Result<Tokens, NetworkError> {
    if tokens.expires_at.is_some_and(|at| at <= now) {
        return Err(NetworkError::Unauthorized(format!(
            "the {network} access token expired and there is no refresh token"
        )));
    }
    Ok(tokens.clone())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request() -> AuthorizeRequest<'static> {
        AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "state-1",
            code_challenge: "challenge-1",
        }
    }

    #[test]
    fn the_authorization_page_carries_the_challenge_only_where_the_network_takes_one() {
        let with = authorize_url(
            "https://x.com/i/oauth2/authorize",
            "client",
            &request(),
            "a b",
            Pkce::S256,
        )
        .expect("url");
        assert_eq!(
            with,
            "https://x.com/i/oauth2/authorize?client_id=client&redirect_uri=https%3A%2F%2Fherald.example%2Fcallback\
             &response_type=code&scope=a+b&state=state-1&code_challenge=challenge-1&code_challenge_method=S256"
        );
        let without = authorize_url(
            "https://www.linkedin.com/oauth/v2/authorization",
            "client",
            &request(),
            "a",
            Pkce::NotSent,
        )
        .expect("url");
        assert!(!without.contains("code_challenge"), "{without}");
        assert!(authorize_url("not a url", "client", &request(), "a", Pkce::S256).is_none());
    }

    #[test]
    fn a_token_answer_rotates_the_refresh_token_or_keeps_the_old_one() {
        let now = Timestamp::from_second(1_000_000).expect("time");
        let old = Tokens {
            access: "old".into(),
            refresh: Some("old-refresh".into()),
            expires_at: None,
            subject: "me".to_owned(),
            server: None,
            dpop: None,
        };
        let rotated: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"new","refresh_token":"new-refresh","expires_in":7200,"scope":"x"}"#,
        )
        .expect("json");
        let tokens = rotated.into_tokens(now, Some(&old));
        assert_eq!(tokens.access.expose_secret(), "new");
        assert_eq!(
            tokens.refresh.as_ref().map(ExposeSecret::expose_secret),
            Some("new-refresh")
        );
        assert_eq!(
            tokens.expires_at,
            now.checked_add(Duration::from_secs(7200)).ok()
        );
        assert_eq!(tokens.subject, "me");
        let kept: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"new","expires_in":0}"#).expect("json");
        let tokens = kept.into_tokens(now, Some(&old));
        assert_eq!(
            tokens.refresh.as_ref().map(ExposeSecret::expose_secret),
            Some("old-refresh")
        );
        assert_eq!(tokens.expires_at, None, "a zero lifetime says nothing");
    }

    #[test]
    fn the_client_proves_itself_with_basic_auth_or_form_fields_as_its_network_says() {
        let endpoint = Endpoint::new(
            "https://api.example",
            crate::Outbound::new(Duration::from_secs(1)),
            None,
        );
        let client = OAuthClient {
            id: "id".to_owned(),
            secret: Some("shh".into()),
        };
        let basic = client_post(
            &endpoint,
            "https://api.example/token",
            &client,
            ClientAuth::Basic,
            &[("grant_type", "refresh_token")],
        )
        .build()
        .expect("request");
        assert!(basic.headers().contains_key("authorization"));
        let body =
            String::from_utf8_lossy(basic.body().and_then(|b| b.as_bytes()).unwrap_or_default());
        assert_eq!(body, "grant_type=refresh_token&client_id=id");
        let form = client_post(
            &endpoint,
            "https://api.example/token",
            &client,
            ClientAuth::Form,
            &[("grant_type", "refresh_token")],
        )
        .build()
        .expect("request");
        assert!(!form.headers().contains_key("authorization"));
        let body =
            String::from_utf8_lossy(form.body().and_then(|b| b.as_bytes()).unwrap_or_default());
        assert_eq!(
            body,
            "grant_type=refresh_token&client_id=id&client_secret=shh"
        );
    }

    #[test]
    fn tokens_without_a_refresh_token_are_kept_until_they_expire() {
        let now = Timestamp::from_second(1_000_000).expect("time");
        let mut tokens = Tokens {
            access: "a".into(),
            refresh: None,
            expires_at: Some(Timestamp::from_second(1_000_001).expect("time")),
            subject: "me".to_owned(),
            server: None,
            dpop: None,
        };
        assert!(keep_until_expired(&tokens, now, "X").is_ok());
        tokens.expires_at = Some(now);
        assert_eq!(
            keep_until_expired(&tokens, now, "X").map(|_| ()),
            Err(NetworkError::Unauthorized(
                "the X access token expired and there is no refresh token".to_owned()
            ))
        );
    }
}
