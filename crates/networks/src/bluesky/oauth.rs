//! Connecting a Bluesky account with AT Protocol OAuth, the way Bluesky recommends instead of
//! app passwords: Herald finds the account's authorization server from its handle
//! ([`super::identity`]), pushes the authorization request to it (PAR) with a PKCE challenge
//! and a DPoP proof from a key made for this connection, sends the gatekeeper's browser there,
//! and redeems the code for tokens bound to that key. Every later request carries a fresh
//! proof signed with the key, so the tokens are useless to anyone without it.
//!
//! Herald is one of two kinds of client ([`AtprotoClient`]):
//! - reachable over https (`public_url`): a confidential client whose metadata document and
//!   public key Herald serves at [`METADATA_PATH`]; it authenticates with a signed assertion
//!   (`private_key_jwt`), and Bluesky keeps such sessions for up to two years;
//! - on this machine only: a loopback client (`http://localhost?redirect_uri=…`), which needs
//!   no document but whose sessions the authorization server ends after at most two weeks.
//!
//! Servers answer a proof without their latest nonce with `use_dpop_nonce` and a `DPoP-Nonce`
//! header; the request is then made once more with it. Nonces are remembered per origin.
//!
//! Followed: <https://atproto.com/specs/oauth> (client metadata, localhost clients, PAR,
//! DPoP with server nonces, the token response's `sub`, the `iss` check), RFC 9126 (PAR),
//! RFC 9449 (DPoP), RFC 7523 and RFC 7521 (client assertions), RFC 7636 (PKCE), RFC 9207
//! (`iss` in the authorization response), RFC 7009 (revocation) and
//! <https://docs.bsky.app/docs/advanced-guides/oauth-client>.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::identity::{self, ServerMetadata};
use crate::es256::{Es256Key, ProofFor};
use crate::http::{Answer, execute, header};
use crate::oauth::OAuthError;
use crate::outbound::Outbound;
use crate::{AuthorizeRequest, DpopBinding, Endpoint, NetworkError, Tokens};

/// What Herald asks for: the atproto identity and the general repository and API access of
/// app passwords (the transitional scope, until fine-grained scopes settle).
pub const SCOPE: &str = "atproto transition:generic";
/// Where a confidential Herald serves its client metadata document, below `public_url`.
pub const METADATA_PATH: &str = "/oauth/bluesky/client-metadata.json";
/// How long an access token is taken to last when the server does not say.
const ACCESS_LIFETIME_GUESS: SignedDuration = SignedDuration::from_mins(15);

/// Herald as an atproto OAuth client.
#[derive(Debug, Clone)]
pub struct AtprotoClient {
    pub client_id: String,
    pub redirect_uri: String,
    /// The key of a confidential client; `None` for a loopback client.
    key: Option<Es256Key>,
    public_url: Option<String>,
}

/// What Herald keeps between sending the gatekeeper to the authorization server and their
/// return (sealed in the browser's ceremony cookie): the DPoP key and where to redeem.
#[derive(Clone)]
pub struct Pending {
    pub key: SecretString,
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    /// The account the tokens must be for, and its PDS.
    pub did: String,
    pub pds: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("issuer", &self.issuer)
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredPending {
    key: String,
    issuer: String,
    token_endpoint: String,
    revocation_endpoint: Option<String>,
    did: String,
    pds: String,
}

/// A started authorization: where to send the browser, and what to keep until it is back.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub pending: Pending,
}

/// The code the authorization server sent back, with what it must match.
#[derive(Debug)]
pub struct Returned<'a> {
    pub code: &'a SecretString,
    pub verifier: &'a SecretString,
    /// The `iss` parameter of the callback (RFC 9207).
    pub issuer: Option<&'a str>,
}

/// DPoP nonces, per origin, shared by every clone of the adapter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Nonces(Arc<Mutex<HashMap<String, String>>>);

/// The token endpoint's answer: the standard one, with what AT Protocol OAuth adds (the
/// token type must be DPoP, `sub` the account's DID, `scope` include `atproto`).
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(flatten)]
    token: crate::oauth::TokenAnswer,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    sub: String,
}

impl AtprotoClient {
    /// A confidential client at `public_url` (https), signing with `key`.
    pub fn confidential(public_url: &str, redirect_path: &str, key: Es256Key) -> AtprotoClient {
        let public_url = public_url.trim_end_matches('/');
        AtprotoClient {
            client_id: format!("{public_url}{METADATA_PATH}"),
            redirect_uri: format!("{public_url}{redirect_path}"),
            key: Some(key),
            public_url: Some(public_url.to_owned()),
        }
    }

    /// A loopback client for a Herald used on this machine: its redirect URI must be
    /// `http://127.0.0.1:PORT/…` (the spec refuses `localhost` there).
    pub fn loopback(redirect_uri: &str) -> AtprotoClient {
        let query = serde_urlencoded::to_string([("redirect_uri", redirect_uri), ("scope", SCOPE)])
            .unwrap_or_default();
        AtprotoClient {
            client_id: format!("http://localhost?{query}"),
            redirect_uri: redirect_uri.to_owned(),
            key: None,
            public_url: None,
        }
    }

    /// The loopback client whose id is `client_id`, as [`AtprotoClient::loopback`] made it.
    pub fn from_loopback_id(client_id: &str) -> Option<AtprotoClient> {
        let query = client_id.strip_prefix("http://localhost?")?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
        let (_, redirect_uri) = pairs.into_iter().find(|(name, _)| name == "redirect_uri")?;
        let client = AtprotoClient::loopback(&redirect_uri);
        (client.client_id == client_id).then_some(client)
    }

    /// The client metadata document a confidential client serves at its `client_id`.
    pub fn metadata(&self) -> Option<Value> {
        let key = self.key.as_ref()?;
        let mut jwk = key.public_jwk();
        jwk["kid"] = json!(key.thumbprint());
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        Some(json!({
            "client_id": self.client_id,
            "client_name": "Herald",
            "client_uri": self.public_url,
            "application_type": "web",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [self.redirect_uri],
            "scope": SCOPE,
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "dpop_bound_access_tokens": true,
            "jwks": { "keys": [jwk] },
        }))
    }

    /// The client's authentication in a form to the authorization server `issuer`.
    fn authentication(&self, issuer: &str, now: Timestamp) -> Vec<(&'static str, String)> {
        let mut form = vec![("client_id", self.client_id.clone())];
        if let Some(key) = &self.key {
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ));
            form.push((
                "client_assertion",
                key.client_assertion(&self.client_id, issuer, now),
            ));
        }
        form
    }
}

impl Pending {
    /// As JSON, for the ceremony cookie; zeroized when dropped.
    pub fn to_json(&self) -> zeroize::Zeroizing<String> {
        let stored = StoredPending {
            key: self.key.expose_secret().to_owned(),
            issuer: self.issuer.clone(),
            token_endpoint: self.token_endpoint.clone(),
            revocation_endpoint: self.revocation_endpoint.clone(),
            did: self.did.clone(),
            pds: self.pds.clone(),
        };
        let json = serde_json::to_string(&stored).unwrap_or_default();
        zeroize::Zeroizing::new(json)
    }

    pub fn from_json(json: &str) -> Option<Pending> {
        let stored: StoredPending = serde_json::from_str(json).ok()?;
        Some(Pending {
            key: stored.key.into(),
            issuer: stored.issuer,
            token_endpoint: stored.token_endpoint,
            revocation_endpoint: stored.revocation_endpoint,
            did: stored.did,
            pds: stored.pds,
        })
    }
}

/// Finds `handle`'s authorization server and pushes the authorization request there.
pub(crate) async fn start(
    service: &Endpoint,
    plc_url: &str,
    client: &AtprotoClient,
    nonces: &Nonces,
    handle: &str,
    request: &AuthorizeRequest<'_>,
    now: Timestamp,
) -> Result<Started, NetworkError> {
    let found = identity::resolve(service, plc_url, handle).await?;
    let server = identity::authorization_server(service, &found.pds).await?;
    let key = Es256Key::generate();
    let mut form = client.authentication(&server.issuer, now);
    form.extend([
        ("response_type", "code".to_owned()),
        ("redirect_uri", client.redirect_uri.clone()),
        ("scope", SCOPE.to_owned()),
        ("state", request.state.to_owned()),
        ("code_challenge", request.code_challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        ("login_hint", found.handle.clone()),
    ]);
    let pushed = service
        .client
        .post(&server.pushed_authorization_request_endpoint)
        .form(&form);
    let answer = nonces
        .send(&service.outbound, pushed, &key, None, now)
        .await?;
    let request_uri = match oauth_failure(&answer) {
        Some(error) => return Err(error),
        None => answer.json::<Value>()?["request_uri"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| NetworkError::Unavailable("PAR gave no request_uri".to_owned()))?,
    };
    let query = serde_urlencoded::to_string([
        ("client_id", client.client_id.as_str()),
        ("request_uri", request_uri.as_str()),
    ])
    .unwrap_or_default();
    Ok(Started {
        authorize_url: format!("{}?{query}", server.authorization_endpoint),
        pending: pending(&server, key, found),
    })
}

fn pending(server: &ServerMetadata, key: Es256Key, found: identity::Identity) -> Pending {
    Pending {
        key: key.to_secret(),
        issuer: server.issuer.trim_end_matches('/').to_owned(),
        token_endpoint: server.token_endpoint.clone(),
        revocation_endpoint: server.revocation_endpoint.clone(),
        did: found.did,
        pds: found.pds,
    }
}

/// Redeems the code the gatekeeper came back with, for tokens bound to the pending key.
pub(crate) async fn redeem(
    service: &Endpoint,
    client: &AtprotoClient,
    nonces: &Nonces,
    pending: &Pending,
    returned: &Returned<'_>,
    now: Timestamp,
) -> Result<Tokens, NetworkError> {
    if returned.issuer.map(|iss| iss.trim_end_matches('/')) != Some(pending.issuer.as_str()) {
        return Err(NetworkError::Rejected(
            "the answer did not come from the account's authorization server".to_owned(),
        ));
    }
    let key = Es256Key::from_secret(&pending.key)
        .ok_or_else(|| NetworkError::Rejected("the connection's key is unreadable".to_owned()))?;
    let mut form = client.authentication(&pending.issuer, now);
    form.extend([
        ("grant_type", "authorization_code".to_owned()),
        ("code", returned.code.expose_secret().to_owned()),
        ("redirect_uri", client.redirect_uri.clone()),
        (
            "code_verifier",
            returned.verifier.expose_secret().to_owned(),
        ),
    ]);
    let binding = DpopBinding {
        key: pending.key.clone(),
        issuer: pending.issuer.clone(),
        token_endpoint: pending.token_endpoint.clone(),
        revocation_endpoint: pending.revocation_endpoint.clone(),
        client_id: client.client_id.clone(),
    };
    let request = service.client.post(&pending.token_endpoint).form(&form);
    let answer = nonces
        .send(&service.outbound, request, &key, None, now)
        .await?;
    tokens_from(&answer, binding, &pending.did, &pending.pds, now)
}

/// New tokens for DPoP-bound `tokens`, from the server that issued them, as the same client.
pub(crate) async fn refresh(
    service: &Endpoint,
    client: &AtprotoClient,
    nonces: &Nonces,
    tokens: &Tokens,
    binding: &DpopBinding,
    now: Timestamp,
) -> Result<Tokens, NetworkError> {
    let Some(refresh) = &tokens.refresh else {
        return Err(NetworkError::Unauthorized(
            "the connection has no refresh token; reconnect the account".to_owned(),
        ));
    };
    let key = binding_key(binding)?;
    let mut form = client.authentication(&binding.issuer, now);
    form.extend([
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh.expose_secret().to_owned()),
    ]);
    let request = service.client.post(&binding.token_endpoint).form(&form);
    let answer = nonces
        .send(&service.outbound, request, &key, None, now)
        .await?;
    let pds = tokens.server.clone().unwrap_or_default();
    tokens_from(&answer, binding.clone(), &tokens.subject, &pds, now)
}

/// Revokes the refresh token (and with it the session) at the server that issued it.
pub(crate) async fn revoke(
    service: &Endpoint,
    client: &AtprotoClient,
    nonces: &Nonces,
    tokens: &Tokens,
    binding: &DpopBinding,
    now: Timestamp,
) -> Result<(), NetworkError> {
    let (Some(endpoint), Some(refresh)) = (&binding.revocation_endpoint, &tokens.refresh) else {
        return Ok(());
    };
    let key = binding_key(binding)?;
    let mut form = client.authentication(&binding.issuer, now);
    form.push(("token", refresh.expose_secret().to_owned()));
    let request = service.client.post(endpoint).form(&form);
    let answer = nonces
        .send(&service.outbound, request, &key, None, now)
        .await?;
    match oauth_failure(&answer) {
        None | Some(NetworkError::Unauthorized(_)) => Ok(()),
        Some(error) => Err(error),
    }
}

pub(crate) fn binding_key(binding: &DpopBinding) -> Result<Es256Key, NetworkError> {
    Es256Key::from_secret(&binding.key).ok_or_else(|| {
        NetworkError::Unauthorized("the connection's key is unreadable; reconnect it".to_owned())
    })
}

fn tokens_from(
    answer: &Answer,
    binding: DpopBinding,
    did: &str,
    pds: &str,
    now: Timestamp,
) -> Result<Tokens, NetworkError> {
    if let Some(error) = oauth_failure(answer) {
        return Err(error);
    }
    let token: TokenAnswer = answer.json()?;
    if !token.token_type.eq_ignore_ascii_case("DPoP") {
        return Err(NetworkError::Rejected(format!(
            "the authorization server gave a {:?} token, not a DPoP-bound one",
            token.token_type
        )));
    }
    if token.sub != did {
        return Err(NetworkError::Rejected(
            "the authorization server signed in another account than the one being connected"
                .to_owned(),
        ));
    }
    if !token.scope.split(' ').any(|scope| scope == "atproto") {
        return Err(NetworkError::Rejected(
            "the authorization server did not grant the atproto scope".to_owned(),
        ));
    }
    let expires_at = token
        .token
        .expires_at(now)
        .or_else(|| now.checked_add(ACCESS_LIFETIME_GUESS).ok());
    Ok(Tokens {
        access: token.token.access_token,
        refresh: token.token.refresh_token,
        expires_at,
        subject: did.to_owned(),
        server: Some(pds.to_owned()),
        dpop: Some(binding),
    })
}

/// The error an OAuth endpoint's unsuccessful answer means (RFC 6749 §5.2 bodies).
fn oauth_failure(answer: &Answer) -> Option<NetworkError> {
    if answer.is_success() {
        return None;
    }
    let body: OAuthError = serde_json::from_slice(&answer.body).unwrap_or_default();
    let error = body.error.unwrap_or_default();
    let message = match body.error_description.as_deref().unwrap_or_default() {
        "" => error.clone(),
        description => format!("{error}: {description}"),
    };
    // A refused grant means the connection must be made again.
    if matches!(error.as_str(), "invalid_grant" | "invalid_client") {
        return Some(NetworkError::Unauthorized(format!(
            "{}: {message}",
            answer.status
        )));
    }
    Some(answer.error(&message, None))
}

impl Nonces {
    /// Sends `request` with a DPoP proof signed by `key` (and `access_token` as
    /// `Authorization: DPoP …` when given); when the server asks for its nonce, once more with
    /// it.
    pub(crate) async fn send(
        &self,
        outbound: &Outbound,
        request: RequestBuilder,
        key: &Es256Key,
        access_token: Option<&str>,
        now: Timestamp,
    ) -> Result<Answer, NetworkError> {
        let (client, request) = request.build_split();
        let request = request.map_err(|error| {
            NetworkError::Rejected(format!("a request Herald cannot make: {error}"))
        })?;
        let origin = request.url().origin().ascii_serialization();
        let mut answer = None;
        for _ in 0..2 {
            let Some(mut attempt) = request.try_clone() else {
                break;
            };
            let mut url = attempt.url().clone();
            url.set_query(None);
            url.set_fragment(None);
            let nonce = self.get(&origin);
            let proof = key.dpop_proof(
                ProofFor {
                    method: attempt.method().as_str(),
                    url: url.as_str(),
                    nonce: nonce.as_deref(),
                    access_token,
                },
                now,
            );
            let headers = attempt.headers_mut();
            headers.insert("dpop", header_value(&proof)?);
            if let Some(token) = access_token {
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    header_value(&format!("DPoP {token}"))?,
                );
            }
            let got = execute(outbound, &client, attempt).await?;
            let fresh = header(&got.headers, "dpop-nonce").map(str::to_owned);
            if let Some(fresh) = &fresh {
                self.set(&origin, fresh);
            }
            let retry = fresh.is_some() && fresh != nonce && asks_for_nonce(&got);
            answer = Some(got);
            if !retry {
                break;
            }
        }
        answer.ok_or_else(|| NetworkError::Rejected("a request Herald cannot repeat".to_owned()))
    }

    fn get(&self, origin: &str) -> Option<String> {
        self.0.lock().ok()?.get(origin).cloned()
    }

    fn set(&self, origin: &str, nonce: &str) {
        if let Ok(mut nonces) = self.0.lock() {
            nonces.insert(origin.to_owned(), nonce.to_owned());
        }
    }
}

/// Whether the server refused the proof for want of its nonce: `use_dpop_nonce` in an OAuth
/// error body (authorization server) or in `WWW-Authenticate` (resource server).
fn asks_for_nonce(answer: &Answer) -> bool {
    let in_body = || {
        serde_json::from_slice::<OAuthError>(&answer.body)
            .is_ok_and(|body| body.error.as_deref() == Some("use_dpop_nonce"))
    };
    let in_header = || {
        header(&answer.headers, "www-authenticate")
            .is_some_and(|value| value.contains("use_dpop_nonce"))
    };
    matches!(answer.status.as_u16(), 400 | 401) && (in_header() || in_body())
}

fn header_value(value: &str) -> Result<reqwest::header::HeaderValue, NetworkError> {
    reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| NetworkError::Rejected("a token Herald cannot send in a header".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_client_names_its_redirect_and_scope_in_its_id() {
        let client = AtprotoClient::loopback("http://127.0.0.1:8080/oauth/callback");
        assert_eq!(
            client.client_id,
            "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fcallback&scope=atproto+transition%3Ageneric"
        );
        assert!(
            client.metadata().is_none(),
            "a loopback client has no document"
        );
        let again = AtprotoClient::from_loopback_id(&client.client_id).expect("read back");
        assert_eq!(again.redirect_uri, client.redirect_uri);
        assert!(AtprotoClient::from_loopback_id("https://herald.example/x.json").is_none());
        let form = client.authentication("https://bsky.social", Timestamp::UNIX_EPOCH);
        assert_eq!(form.len(), 1, "a public client only names itself: {form:?}");
    }

    #[test]
    fn a_confidential_client_publishes_its_public_key_and_signs_its_assertions() {
        let key = Es256Key::generate();
        let client =
            AtprotoClient::confidential("https://herald.example/", "/oauth/callback", key.clone());
        assert_eq!(
            client.client_id,
            "https://herald.example/oauth/bluesky/client-metadata.json"
        );
        let metadata = client.metadata().expect("a document");
        assert_eq!(metadata["client_id"], client.client_id);
        assert_eq!(
            metadata["redirect_uris"][0],
            "https://herald.example/oauth/callback"
        );
        assert_eq!(metadata["dpop_bound_access_tokens"], true);
        let published = &metadata["jwks"]["keys"][0];
        assert!(published.get("d").is_none(), "never the private part");
        let form = client.authentication("https://bsky.social", Timestamp::UNIX_EPOCH);
        let assertion = &form
            .iter()
            .find(|(name, _)| *name == "client_assertion")
            .expect("assertion")
            .1;
        let (header, claims) =
            crate::es256::verify(assertion, published).expect("verifies with the published key");
        assert_eq!(header["kid"], published["kid"]);
        assert_eq!(claims["aud"], "https://bsky.social");
    }

    #[test]
    fn pending_survives_the_cookie_and_debug_hides_its_key() {
        let pending = Pending {
            key: Es256Key::generate().to_secret(),
            issuer: "https://bsky.social".to_owned(),
            token_endpoint: "https://bsky.social/oauth/token".to_owned(),
            revocation_endpoint: None,
            did: "did:plc:abc".to_owned(),
            pds: "https://pds.example".to_owned(),
        };
        let back = Pending::from_json(&pending.to_json()).expect("reads back");
        assert_eq!(back.key.expose_secret(), pending.key.expose_secret());
        assert_eq!(back.did, "did:plc:abc");
        assert!(!format!("{back:?}").contains(pending.key.expose_secret()));
    }
}
