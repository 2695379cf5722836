//! The browser step of OAuth 2.0 with PKCE (RFC 7636, method S256), shared by the fakes of
//! networks people connect from a browser. `GET …/authorize` approves at once, as if the
//! person had pressed "Allow", and sends the browser back to the redirect URI with a
//! single-use code and the `state` it was given. The token endpoint then redeems that code
//! only with the verifier whose challenge it was issued for, and the same redirect URI.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Codes the fake's authorize endpoint issued and nobody has redeemed yet.
#[derive(Debug, Default)]
pub(crate) struct Authorizations {
    issued: Mutex<HashMap<String, Issued>>,
    next: AtomicU64,
}

#[derive(Debug)]
struct Issued {
    challenge: String,
    redirect_uri: String,
}

/// Codes the authorize endpoint issues start with this; other codes are tests' own inventions
/// and are taken as before (any code but `bad-code`).
const PREFIX: &str = "authorized-";

impl Authorizations {
    /// Answers `GET …/authorize?response_type=code&client_id=…&redirect_uri=…&state=…&
    /// code_challenge=…&code_challenge_method=S256`: a redirect back with a code, or 400 with
    /// the reason, as the network's own page would show it.
    pub(crate) fn authorize(&self, query: &HashMap<String, String>, client_id: &str) -> Response {
        let field = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        let refused = |reason: &str| (StatusCode::BAD_REQUEST, reason.to_owned()).into_response();
        if field("response_type") != "code" {
            return refused("response_type must be code");
        }
        if field("client_id") != client_id {
            return refused("unknown client_id");
        }
        if field("code_challenge_method") != "S256" || field("code_challenge").is_empty() {
            return refused("a code_challenge with code_challenge_method=S256 is required");
        }
        let Ok(mut back) = reqwest::Url::parse(field("redirect_uri")) else {
            return refused("redirect_uri is not a URL");
        };
        let code = format!("{PREFIX}{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        super::lock(&self.issued).insert(
            code.clone(),
            Issued {
                challenge: field("code_challenge").to_owned(),
                redirect_uri: field("redirect_uri").to_owned(),
            },
        );
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", field("state"));
        (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
    }

    /// Redeems a code: `None` when this endpoint did not issue it (a test's own code), else
    /// whether the verifier and redirect URI match. A code is redeemed once only.
    pub(crate) fn redeem(&self, code: &str, verifier: &str, redirect_uri: &str) -> Option<bool> {
        if !code.starts_with(PREFIX) {
            return None;
        }
        let Some(issued) = super::lock(&self.issued).remove(code) else {
            return Some(false);
        };
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        Some(challenge == issued.challenge && redirect_uri == issued.redirect_uri)
    }
}
