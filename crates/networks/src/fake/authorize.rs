//! The browser step of OAuth 2.0, shared by the fakes of networks people connect from a
//! browser. `GET …/authorize` approves at once, as if the person had pressed "Allow", and
//! sends the browser back to the redirect URI with a single-use code and the `state` it was
//! given. The token endpoint then redeems that code only with the same redirect URI and, for
//! networks that use PKCE (RFC 7636, method S256: X, Mastodon), only with the verifier whose
//! challenge it was issued for. Networks that bind the code to the app's secret instead
//! (LinkedIn, Facebook, Instagram, Threads) take no challenge, and their fakes check none.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Codes the fake's authorize endpoint issued and nobody has redeemed yet.
#[derive(Debug, Default)]
pub(crate) struct Authorizations {
    issued: Mutex<HashMap<String, Issued>>,
    next: AtomicU64,
    /// The network ignores PKCE; `Default` is a network that requires it.
    without_pkce: bool,
}

#[derive(Debug)]
struct Issued {
    /// `None` where the network takes no challenge.
    challenge: Option<String>,
    redirect_uri: String,
}

/// Codes the authorize endpoint issues start with this; other codes are tests' own inventions
/// and are taken as before (any code but `bad-code`).
const PREFIX: &str = "authorized-";

impl Authorizations {
    /// For a network whose authorization codes are bound by the app's secret rather than
    /// PKCE: a `code_challenge`, if sent, is ignored, as such networks ignore it.
    pub(crate) fn without_pkce() -> Self {
        Authorizations {
            without_pkce: true,
            ..Authorizations::default()
        }
    }

    /// The network's consent page for the app `client_id`, as a route: see
    /// [`Authorizations::authorize`].
    pub(crate) fn page<S>(self: &Arc<Self>, client_id: &'static str) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let authorizations = Arc::clone(self);
        get(move |Query(query): Query<HashMap<String, String>>| {
            std::future::ready(authorizations.authorize(&query, client_id))
        })
    }

    /// Answers `GET …/authorize?response_type=code&client_id=…&redirect_uri=…&state=…`
    /// (with `code_challenge=…&code_challenge_method=S256` where the network uses PKCE): a
    /// redirect back with a code, or 400 with the reason, as the network's own page would
    /// show it.
    pub(crate) fn authorize(&self, query: &HashMap<String, String>, client_id: &str) -> Response {
        let field = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        let refused = |reason: &str| (StatusCode::BAD_REQUEST, reason.to_owned()).into_response();
        if field("response_type") != "code" {
            return refused("response_type must be code");
        }
        if field("client_id") != client_id {
            return refused("unknown client_id");
        }
        let pkce = field("code_challenge_method") == "S256" && !field("code_challenge").is_empty();
        if !self.without_pkce && !pkce {
            return refused("a code_challenge with code_challenge_method=S256 is required");
        }
        let Ok(mut back) = reqwest::Url::parse(field("redirect_uri")) else {
            return refused("redirect_uri is not a URL");
        };
        let code = format!("{PREFIX}{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let challenge = (!self.without_pkce).then(|| field("code_challenge").to_owned());
        super::lock(&self.issued).insert(
            code.clone(),
            Issued {
                challenge,
                redirect_uri: field("redirect_uri").to_owned(),
            },
        );
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", field("state"));
        (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
    }

    /// Redeems a code: `None` when this endpoint did not issue it (a test's own code), else
    /// whether the redirect URI, and the verifier where the network uses PKCE, match. A code
    /// is redeemed once only.
    pub(crate) fn redeem(&self, code: &str, verifier: &str, redirect_uri: &str) -> Option<bool> {
        if !code.starts_with(PREFIX) {
            return None;
        }
        let Some(issued) = super::lock(&self.issued).remove(code) else {
            return Some(false);
        };
        let verified = issued.challenge.is_none_or(|challenge| {
            challenge
                == base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()))
        });
        Some(verified && redirect_uri == issued.redirect_uri)
    }

    /// [`Authorizations::redeem`] for a network without PKCE, which sends no verifier.
    pub(crate) fn redeem_without_verifier(&self, code: &str, redirect_uri: &str) -> Option<bool> {
        self.redeem(code, "", redirect_uri)
    }

    /// Checks a code exchange that authenticates the app by its secret (the form of
    /// Instagram's and Threads' `POST /oauth/access_token`): the app's id and secret,
    /// `grant_type=authorization_code`, a redirect URI, and a code other than `bad-code`
    /// that, if this endpoint issued it, is redeemed with that redirect URI. The code, when
    /// all is well.
    pub(crate) fn exchange<'f>(
        &self,
        form: &'f HashMap<String, String>,
        app_id: &str,
        app_secret: &str,
    ) -> Option<&'f str> {
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        let code = field("code");
        let valid = field("client_id") == app_id
            && field("client_secret") == app_secret
            && field("grant_type") == "authorization_code"
            && !field("redirect_uri").is_empty()
            && !code.is_empty()
            && code != "bad-code";
        let redeemed =
            valid && self.redeem_without_verifier(code, field("redirect_uri")) != Some(false);
        redeemed.then_some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// The code in an authorize answer's `Location`.
    fn issued(answer: &Response) -> String {
        let location = answer.headers()[header::LOCATION].to_str().expect("text");
        let url = reqwest::Url::parse(location).expect("URL");
        url.query_pairs()
            .find(|(key, _)| key == "code")
            .map(|(_, code)| code.into_owned())
            .expect("a code")
    }

    const BACK: &str = "https://herald.example/oauth/callback";

    #[test]
    fn with_pkce_a_request_without_a_challenge_is_refused_and_a_code_needs_its_verifier() {
        let authorizations = Authorizations::default();
        let plain = query(&[
            ("response_type", "code"),
            ("client_id", "c"),
            ("redirect_uri", BACK),
        ]);
        let refused = authorizations.authorize(&plain, "c");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(b"the-verifier"));
        let mut with = plain.clone();
        with.extend(query(&[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]));
        let code = issued(&authorizations.authorize(&with, "c"));
        assert_eq!(authorizations.redeem(&code, "another", BACK), Some(false));
        let code = issued(&authorizations.authorize(&with, "c"));
        assert_eq!(
            authorizations.redeem(&code, "the-verifier", BACK),
            Some(true)
        );
    }

    #[test]
    fn without_pkce_a_challenge_is_ignored_and_a_code_is_redeemed_once_with_its_redirect_uri() {
        let authorizations = Authorizations::without_pkce();
        let request = query(&[
            ("response_type", "code"),
            ("client_id", "c"),
            ("redirect_uri", BACK),
            ("code_challenge", "ignored"),
            ("code_challenge_method", "S256"),
        ]);
        let code = issued(&authorizations.authorize(&request, "c"));
        assert_eq!(
            authorizations.redeem_without_verifier(&code, "https://evil.example/"),
            Some(false)
        );
        let code = issued(&authorizations.authorize(&request, "c"));
        assert_eq!(
            authorizations.redeem_without_verifier(&code, BACK),
            Some(true)
        );
        assert_eq!(
            authorizations.redeem_without_verifier(&code, BACK),
            Some(false),
            "used once"
        );
        assert_eq!(
            authorizations.redeem_without_verifier("a-tests-own-code", BACK),
            None
        );
    }
}
