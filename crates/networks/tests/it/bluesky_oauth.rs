//! Connecting Bluesky with AT Protocol OAuth: against the fake PDS's authorization server
//! (PAR, DPoP with nonces, PKCE, client assertions, refresh and revocation, DPoP-bound
//! requests to the PDS), and the pushed request against a real PDS from npm.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use jiff::Timestamp;
use networks::bluesky::oauth::{AtprotoClient, METADATA_PATH, Pending, Returned};
use networks::bluesky::{Bluesky, OAuthSettings};
use networks::es256::Es256Key;
use networks::fake::bluesky::{DID, HANDLE, access_jwt, start};
use networks::fake::{FakeServer, FakeState};
use networks::{Adapter, AuthorizeRequest, Endpoint, NetworkError, Outgoing, Tokens};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::bluesky::pds::{self, real_account};

const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback";
const VERIFIER: &str = "a-pkce-verifier-of-enough-length-0123456789abcdef";

fn now() -> Timestamp {
    Timestamp::from_second(1_790_000_000).expect("time")
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The adapter with OAuth, and the client it connects as.
struct Herald {
    adapter: Bluesky,
    client: AtprotoClient,
}

fn adapter(service: &str, plc_url: &str, client: AtprotoClient) -> Herald {
    let confidential = client.metadata().is_some().then(|| client.clone());
    let adapter = Bluesky::new(Endpoint::new(
        service,
        crate::local(Duration::from_secs(20)),
        None,
    ))
    .with_oauth(OAuthSettings {
        confidential,
        plc_url: plc_url.to_owned(),
        now: Arc::new(now),
    });
    Herald { adapter, client }
}

impl std::ops::Deref for Herald {
    type Target = Bluesky;
    fn deref(&self) -> &Bluesky {
        &self.adapter
    }
}

async fn fake() -> FakeServer {
    start(FakeState::new(&access_jwt(DID, 1_800_000_000), 3))
        .await
        .expect("fake PDS")
}

/// The gatekeeper's round trip: PAR, the authorization server's page (which approves at
/// once), and the callback's parameters.
async fn authorize(herald: &Herald, handle: &str) -> (Pending, String, String) {
    let challenge = challenge(VERIFIER);
    let request = AuthorizeRequest {
        redirect_uri: REDIRECT,
        state: "state-123",
        code_challenge: &challenge,
    };
    let started = herald
        .start_oauth(&herald.client, handle, &request, now())
        .await
        .expect("the request is pushed");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = browser
        .get(&started.authorize_url)
        .send()
        .await
        .expect("authorize page");
    let back = reqwest::Url::parse(
        answer
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .expect("sent back"),
    )
    .expect("a URL");
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let query = |name: &str| {
        back.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(query("state"), "state-123");
    (started.pending, query("code"), query("iss"))
}

async fn connect(herald: &Herald) -> Tokens {
    let (pending, code, iss) = authorize(herald, HANDLE).await;
    let code = SecretString::from(code);
    let verifier = SecretString::from(VERIFIER);
    herald
        .finish_oauth(
            &herald.client,
            &pending,
            &Returned {
                code: &code,
                verifier: &verifier,
                issuer: Some(&iss),
            },
            now(),
        )
        .await
        .expect("the code is redeemed")
}

fn post(key: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: "Fresh croissants from 7am".to_owned(),
        media: Vec::new(),
        created_at: now(),
    }
}

#[tokio::test]
async fn a_loopback_client_connects_with_par_and_publishes_with_tokens_bound_to_its_key() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let adapter = adapter(&fake.url(), &plc, AtprotoClient::loopback(REDIRECT));
    let tokens = connect(&adapter).await;
    assert_eq!(tokens.subject, DID);
    assert_eq!(tokens.server.as_deref(), Some(fake.url().as_str()));
    assert_eq!(
        tokens.expires_at,
        now().checked_add(jiff::SignedDuration::from_secs(900)).ok()
    );
    let binding = tokens.dpop.as_ref().expect("DPoP-bound");
    assert_eq!(binding.issuer, fake.url());
    assert_eq!(fake.state.grants(), ["authorization_code"]);
    assert_eq!(
        adapter.account_info(&tokens).await.expect("info").handle,
        HANDLE
    );
    let published = adapter
        .publish(&tokens, &post("p-1"))
        .await
        .expect("publish");
    assert_eq!(fake.state.post_count(), 1);
    // The server changes its nonce: the next request is refused once, then made again with it.
    reqwest::Client::new()
        .post(format!("{}/_fake/rotate-dpop-nonce", fake.url()))
        .send()
        .await
        .expect("rotate");
    adapter
        .delete(&tokens, &published.remote_id)
        .await
        .expect("delete with the new nonce");
    assert_eq!(fake.state.post_count(), 0);
}

#[tokio::test]
async fn the_tokens_are_useless_without_their_key() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let adapter = adapter(&fake.url(), &plc, AtprotoClient::loopback(REDIRECT));
    let tokens = connect(&adapter).await;
    let mut stolen = tokens.clone();
    if let Some(binding) = stolen.dpop.as_mut() {
        binding.key = Es256Key::generate().to_secret();
    }
    let error = adapter
        .publish(&stolen, &post("p-1"))
        .await
        .expect_err("another key");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    let bearer = Tokens {
        dpop: None,
        ..tokens.clone()
    };
    let error = adapter
        .publish(&bearer, &post("p-2"))
        .await
        .expect_err("as a bearer token");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    assert_eq!(fake.state.post_count(), 0);
    let error = adapter
        .refresh(&stolen, now())
        .await
        .expect_err("refresh with another key");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn refreshing_rotates_the_tokens_and_revoking_ends_the_session() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let adapter = adapter(&fake.url(), &plc, AtprotoClient::loopback(REDIRECT));
    let tokens = connect(&adapter).await;
    let fresh = adapter.refresh(&tokens, now()).await.expect("refresh");
    assert_ne!(fresh.access.expose_secret(), tokens.access.expose_secret());
    assert_eq!(fake.state.grants(), ["authorization_code", "refresh_token"]);
    let error = adapter
        .refresh(&tokens, now())
        .await
        .expect_err("the old refresh token");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    adapter
        .publish(&fresh, &post("p-1"))
        .await
        .expect("publish");
    adapter.revoke(&fresh).await.expect("revoke");
    let error = adapter
        .publish(&fresh, &post("p-2"))
        .await
        .expect_err("revoked");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    let error = adapter.refresh(&fresh, now()).await.expect_err("revoked");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn a_code_is_redeemed_once_only_with_its_verifier_from_its_issuer() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let adapter = adapter(&fake.url(), &plc, AtprotoClient::loopback(REDIRECT));
    let (pending, code, iss) = authorize(&adapter, HANDLE).await;
    let code = SecretString::from(code);
    let (right, wrong) = (
        SecretString::from(VERIFIER),
        SecretString::from("another-verifier"),
    );
    let redeem = |verifier, issuer| Returned {
        code: &code,
        verifier,
        issuer: Some(issuer),
    };
    let error = adapter
        .finish_oauth(
            &adapter.client,
            &pending,
            &redeem(&right, "https://evil.example"),
            now(),
        )
        .await
        .expect_err("another issuer");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    assert!(
        fake.state.grants().is_empty(),
        "refused before anything was sent"
    );
    let error = adapter
        .finish_oauth(&adapter.client, &pending, &redeem(&wrong, &iss), now())
        .await
        .expect_err("another verifier");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    // The fake, like the reference server, spends the code on the failed attempt.
    let error = adapter
        .finish_oauth(&adapter.client, &pending, &redeem(&right, &iss), now())
        .await
        .expect_err("a spent code");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

/// Serves a confidential client's metadata document on loopback, signed for by `published`.
async fn confidential(published: &Es256Key) -> (FakeServer, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let document = AtprotoClient::confidential(&public_url, "/oauth/callback", published.clone())
        .metadata()
        .expect("a document");
    let router = Router::new().route(
        METADATA_PATH,
        get(move || async move { axum::Json(document) }),
    );
    let server = FakeServer::serve(listener, router, FakeState::new("unused", 1)).expect("serve");
    (server, public_url)
}

#[tokio::test]
async fn a_confidential_client_signs_with_the_key_its_document_publishes() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let key = Es256Key::generate();
    let (_document, public_url) = confidential(&key).await;
    let client = AtprotoClient::confidential(&public_url, "/oauth/callback", key);
    let redirect = client.redirect_uri.clone();
    let herald = adapter(&fake.url(), &plc, client);
    let challenge = challenge(VERIFIER);
    let request = AuthorizeRequest {
        redirect_uri: &redirect,
        state: "s",
        code_challenge: &challenge,
    };
    herald
        .start_oauth(&herald.client, HANDLE, &request, now())
        .await
        .expect("the fake fetched the document and verified the assertion");
    let impostor =
        AtprotoClient::confidential(&public_url, "/oauth/callback", Es256Key::generate());
    let impostor = adapter(&fake.url(), &plc, impostor);
    let error = impostor
        .start_oauth(&impostor.client, HANDLE, &request, now())
        .await
        .expect_err("signed with a key the document does not publish");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn a_handle_that_does_not_resolve_is_refused_with_its_name() {
    let fake = fake().await;
    let plc = format!("{}/plc", fake.url());
    let adapter = adapter(&fake.url(), &plc, AtprotoClient::loopback(REDIRECT));
    let challenge = challenge(VERIFIER);
    let request = AuthorizeRequest {
        redirect_uri: REDIRECT,
        state: "s",
        code_challenge: &challenge,
    };
    let error = adapter
        .start_oauth(&adapter.client, "@nobody.test", &request, now())
        .await
        .expect_err("unknown handle");
    let NetworkError::Rejected(message) = error else {
        panic!("a rejection: {error:?}");
    };
    assert!(message.contains("@nobody.test"), "{message}");
}

#[tokio::test]
async fn a_real_pds_takes_heralds_pushed_request_with_its_dpop_proof() {
    let Some(pds) = pds::start().await else {
        return;
    };
    let (handle, _, _) = real_account(&pds.url, "carol").await;
    #[expect(
        clippy::disallowed_methods,
        reason = "the real PDS checks proofs against its own clock"
    )]
    let clock = Arc::new(Timestamp::now);
    let adapter = Bluesky::new(Endpoint::new(
        &pds.url,
        crate::local(Duration::from_secs(20)),
        None,
    ))
    .with_oauth(OAuthSettings {
        confidential: None,
        plc_url: pds.plc.clone(),
        now: clock.clone(),
    });
    let challenge = challenge(VERIFIER);
    let request = AuthorizeRequest {
        redirect_uri: REDIRECT,
        state: "state-123",
        code_challenge: &challenge,
    };
    let client = AtprotoClient::loopback(REDIRECT);
    let started = adapter
        .start_oauth(&client, &handle, &request, clock())
        .await
        .expect("the real PDS accepts the pushed request");
    let url = reqwest::Url::parse(&started.authorize_url).expect("a URL");
    assert_eq!(url.path(), "/oauth/authorize");
    let request_uri = url
        .query_pairs()
        .find(|(name, _)| name == "request_uri")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert_eq!(started.pending.issuer, started.pending.pds);
    assert!(started.pending.did.starts_with("did:plc:"));
}
