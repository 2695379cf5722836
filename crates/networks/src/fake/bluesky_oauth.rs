//! The fake PDS's AT Protocol OAuth side, checked as strictly as the reference implementation
//! where it matters for security: it is the PDS's authorization server (protected-resource
//! and authorization-server metadata, PAR, authorize, token, revoke) and the PLC directory
//! for its accounts (`GET /plc/{did}`).
//!
//! - Every request to PAR and the token endpoint needs a DPoP proof (ES256, verified) with the
//!   server's current nonce: without it, 400 `use_dpop_nonce` and a `DPoP-Nonce` header.
//! - A loopback client (`http://localhost?…`) authenticates with nothing and may only redirect
//!   where its id says; any other client id is fetched as a metadata document, and its
//!   `client_assertion` must verify with the key published there, for the issuer.
//! - `/oauth/authorize` approves at once (as if the person signed in and pressed "Accept") and
//!   sends the browser back with a single-use code, the state, and `iss`.
//! - A code is redeemed once, with the PKCE verifier, the same redirect URI and client, and a
//!   proof from the same key as PAR; tokens are bound to that key's thumbprint.
//! - XRPC requests with `Authorization: DPoP …` pass only with a valid proof for that method,
//!   URL and token (`ath`), from the bound key and with the current nonce; otherwise 401 with
//!   `WWW-Authenticate: DPoP error="…"`. `POST /_fake/rotate-dpop-nonce` changes the nonce,
//!   as servers do every few minutes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::FakeState;
use super::bluesky::{DID, HANDLE};
use crate::es256::{jwk_thumbprint, verify};

/// How long the fake's access tokens last, in seconds.
pub const ACCESS_SECONDS: i64 = 900;

/// The fake authorization server's state, shared by its routes and the XRPC check.
#[derive(Debug)]
pub(crate) struct Server {
    state: Arc<FakeState>,
    nonce: Mutex<String>,
    serial: AtomicU64,
    pushed: Mutex<HashMap<String, Pushed>>,
    codes: Mutex<HashMap<String, Pushed>>,
    /// Access token → key thumbprint.
    access: Mutex<HashMap<String, String>>,
    /// Refresh token → (key thumbprint, client id).
    refresh: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Debug, Clone)]
struct Pushed {
    client_id: String,
    redirect_uri: String,
    state: String,
    challenge: String,
    jkt: String,
}

impl Server {
    pub(crate) fn new(state: Arc<FakeState>) -> Arc<Server> {
        Arc::new(Server {
            state,
            nonce: Mutex::new("fake-nonce-1".to_owned()),
            serial: AtomicU64::new(1),
            pushed: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            access: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        })
    }

    /// A new nonce: proofs with the old one are refused from now on.
    fn rotate_nonce(&self) {
        let next = self.next("fake-nonce");
        *super::lock(&self.nonce) = next;
    }

    fn next(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}",
            self.serial.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    fn nonce(&self) -> String {
        super::lock(&self.nonce).clone()
    }
}

/// The routes, for the fake PDS to merge.
pub(crate) fn routes(server: Arc<Server>) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server),
        )
        .route("/plc/{did}", get(did_document))
        .route("/oauth/par", post(par))
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/_fake/rotate-dpop-nonce", post(rotate))
        .with_state(server)
}

/// Tests' control: a new nonce, as real servers change theirs every few minutes.
async fn rotate(State(server): State<Arc<Server>>) -> StatusCode {
    server.rotate_nonce();
    StatusCode::NO_CONTENT
}

/// The middleware for XRPC: a DPoP-bound token with a good proof becomes the fake's bearer
/// token for the handlers; a bad proof is refused here.
pub(crate) async fn check_dpop(
    State(server): State<Arc<Server>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("DPoP "))
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    let Some(jkt) = super::lock(&server.access).get(&token).cloned() else {
        return dpop_refused(&server, "invalid_token", "unknown access token");
    };
    let url = format!("{}{}", origin(request.headers()), request.uri().path());
    let method = request.method().as_str().to_owned();
    match check_proof(&server, request.headers(), &method, &url, Some(&token)) {
        Ok(proven) if proven == jkt => {}
        Ok(_) => {
            return dpop_refused(
                &server,
                "invalid_dpop_proof",
                "the token is bound to another key",
            );
        }
        Err(ProofError::Nonce) => return dpop_refused(&server, "use_dpop_nonce", "nonce required"),
        Err(ProofError::Invalid(reason)) => {
            return dpop_refused(&server, "invalid_dpop_proof", &reason);
        }
    }
    let bearer = HeaderValue::from_str(&format!("Bearer {}", server.state.token));
    if let Ok(bearer) = bearer {
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
    }
    next.run(request).await
}

enum ProofError {
    Nonce,
    Invalid(String),
}

/// Checks the request's DPoP proof and returns its key's thumbprint.
fn check_proof(
    server: &Server,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<String, ProofError> {
    let invalid = |reason: &str| ProofError::Invalid(reason.to_owned());
    let proof = headers
        .get("dpop")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| invalid("DPoP proof required"))?;
    let unverified_header: Value = proof
        .split('.')
        .next()
        .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("the proof is not a JWT"))?;
    let jwk = &unverified_header["jwk"];
    if jwk.get("d").is_some() {
        return Err(invalid("the proof's header holds a private key"));
    }
    let (header, claims) =
        verify(proof, jwk).ok_or_else(|| invalid("the proof's signature does not verify"))?;
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
        return Err(invalid("the proof must be a dpop+jwt signed with ES256"));
    }
    if claims["htm"] != method || claims["htu"] != url {
        return Err(invalid(&format!(
            "the proof is for {} {}, not {method} {url}",
            claims["htm"], claims["htu"]
        )));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) || claims["iat"].as_i64().is_none() {
        return Err(invalid("the proof needs a jti and an iat"));
    }
    if let Some(token) = access_token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims["ath"] != ath.as_str() {
            return Err(invalid("the proof's ath is not this token's"));
        }
    }
    if claims["nonce"] != server.nonce().as_str() {
        return Err(ProofError::Nonce);
    }
    Ok(jwk_thumbprint(jwk))
}

fn dpop_refused(server: &Server, error: &str, description: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": error, "message": description })),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("DPoP error=\"{error}\"")) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Ok(nonce) = HeaderValue::from_str(&server.nonce()) {
        headers.insert("dpop-nonce", nonce);
    }
    response
}

/// An OAuth error body (RFC 6749 §5.2), with the current nonce as every answer has it.
fn oauth_error(server: &Server, status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    with_nonce(server, &mut response);
    response
}

fn with_nonce(server: &Server, response: &mut Response) {
    if let Ok(nonce) = HeaderValue::from_str(&server.nonce()) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
}

fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    format!("http://{host}")
}

async fn protected_resource(headers: HeaderMap) -> Response {
    let origin = origin(&headers);
    axum::Json(json!({ "resource": origin, "authorization_servers": [origin] })).into_response()
}

async fn authorization_server(headers: HeaderMap) -> Response {
    let origin = origin(&headers);
    axum::Json(json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}/oauth/authorize"),
        "token_endpoint": format!("{origin}/oauth/token"),
        "pushed_authorization_request_endpoint": format!("{origin}/oauth/par"),
        "revocation_endpoint": format!("{origin}/oauth/revoke"),
        "require_pushed_authorization_requests": true,
        "dpop_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["atproto", "transition:generic"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

/// The PLC directory's answer for the fake account: its handle and this server as its PDS.
async fn did_document(Path(did): Path<String>, headers: HeaderMap) -> Response {
    if did != DID {
        return (StatusCode::NOT_FOUND, format!("DID not registered: {did}")).into_response();
    }
    axum::Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": DID,
        "alsoKnownAs": [format!("at://{HANDLE}")],
        "service": [{
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": origin(&headers),
        }],
    }))
    .into_response()
}

/// An OAuth error the fake answers with 400 (RFC 6749 §5.2).
struct Refused {
    error: &'static str,
    description: String,
}

impl Refused {
    fn new(error: &'static str, description: &str) -> Refused {
        Refused {
            error,
            description: description.to_owned(),
        }
    }

    fn answer(&self, server: &Server) -> Response {
        oauth_error(
            server,
            StatusCode::BAD_REQUEST,
            self.error,
            &self.description,
        )
    }
}

/// Checks the client's authentication in a PAR or token request: nothing for a loopback
/// client, a client assertion verifying with the key its metadata document publishes
/// otherwise. Returns the redirect URIs the client may use.
async fn authenticate(
    form: &HashMap<String, String>,
    issuer: &str,
) -> Result<Vec<String>, Refused> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let refused = |reason: &str| Refused::new("invalid_client", reason);
    let client_id = field("client_id");
    if let Some(query) = client_id.strip_prefix("http://localhost?") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        return Ok(pairs
            .into_iter()
            .filter(|(name, _)| name == "redirect_uri")
            .map(|(_, uri)| uri)
            .collect());
    }
    let metadata: Value = match reqwest::get(client_id).await {
        Ok(response) if response.status().is_success() => response
            .json()
            .await
            .map_err(|_| refused("the client metadata is not JSON"))?,
        _ => return Err(refused("the client metadata document could not be fetched")),
    };
    if metadata["client_id"] != client_id || metadata["dpop_bound_access_tokens"] != true {
        return Err(refused("the client metadata does not describe this client"));
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err(refused(
            "a confidential client must send a client assertion",
        ));
    }
    let keys = metadata["jwks"]["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let verified = keys
        .iter()
        .find_map(|key| verify(field("client_assertion"), key));
    let Some((_, claims)) = verified else {
        return Err(refused(
            "the client assertion does not verify with the client's keys",
        ));
    };
    if claims["iss"] != client_id || claims["sub"] != client_id || claims["aud"] != issuer {
        return Err(refused(
            "the client assertion is not for this client and issuer",
        ));
    }
    Ok(metadata["redirect_uris"]
        .as_array()
        .map(|uris| {
            uris.iter()
                .filter_map(|uri| uri.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

fn proof_or_refusal(server: &Server, headers: &HeaderMap, url: &str) -> Result<String, Refused> {
    check_proof(server, headers, "POST", url, None).map_err(|error| match error {
        ProofError::Nonce => Refused::new(
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        ),
        ProofError::Invalid(reason) => Refused::new("invalid_dpop_proof", &reason),
    })
}

async fn par(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let issuer = origin(&headers);
    let jkt = match proof_or_refusal(&server, &headers, &format!("{issuer}/oauth/par")) {
        Ok(jkt) => jkt,
        Err(refusal) => return refusal.answer(&server),
    };
    let allowed = match authenticate(&form, &issuer).await {
        Ok(allowed) => allowed,
        Err(refusal) => return refusal.answer(&server),
    };
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let bad =
        |reason: &str| oauth_error(&server, StatusCode::BAD_REQUEST, "invalid_request", reason);
    if field("response_type") != "code" || field("code_challenge_method") != "S256" {
        return bad("response_type=code and code_challenge_method=S256 are required");
    }
    if !allowed.contains(&field("redirect_uri")) {
        return bad("redirect_uri is not one of the client's");
    }
    if !field("scope").split(' ').any(|scope| scope == "atproto") {
        return bad("the atproto scope is required");
    }
    let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", server.next("req"));
    super::lock(&server.pushed).insert(
        request_uri.clone(),
        Pushed {
            client_id: field("client_id"),
            redirect_uri: field("redirect_uri"),
            state: field("state"),
            challenge: field("code_challenge"),
            jkt,
        },
    );
    let mut response = (
        StatusCode::CREATED,
        axum::Json(json!({ "request_uri": request_uri, "expires_in": 299 })),
    )
        .into_response();
    with_nonce(&server, &mut response);
    response
}

async fn authorize(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let Some(pushed) = super::lock(&server.pushed).remove(field("request_uri")) else {
        return (StatusCode::BAD_REQUEST, "unknown or used request_uri").into_response();
    };
    if pushed.client_id != field("client_id") {
        return (
            StatusCode::BAD_REQUEST,
            "client_id does not match the request",
        )
            .into_response();
    }
    let Ok(mut back) = reqwest::Url::parse(&pushed.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    let code = server.next("fake-code");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &pushed.state)
        .append_pair("iss", &origin(&headers));
    super::lock(&server.codes).insert(code, pushed);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

async fn token(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let issuer = origin(&headers);
    let jkt = match proof_or_refusal(&server, &headers, &format!("{issuer}/oauth/token")) {
        Ok(jkt) => jkt,
        Err(refusal) => return refusal.answer(&server),
    };
    if let Err(refusal) = authenticate(&form, &issuer).await {
        return refusal.answer(&server);
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let grant =
        |reason: &str| oauth_error(&server, StatusCode::BAD_REQUEST, "invalid_grant", reason);
    let client_id = field("client_id");
    match field("grant_type").as_str() {
        "authorization_code" => {
            let Some(issued) = super::lock(&server.codes).remove(&field("code")) else {
                return grant("unknown or used code");
            };
            let challenge =
                URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
            if issued.challenge != challenge {
                return grant("the code_verifier does not match the code_challenge");
            }
            if issued.redirect_uri != field("redirect_uri") || issued.client_id != client_id {
                return grant("the code was issued to another client or redirect_uri");
            }
            if issued.jkt != jkt {
                return grant("the DPoP key is not the one the request was pushed with");
            }
        }
        "refresh_token" => {
            let Some((bound, owner)) = super::lock(&server.refresh).remove(&field("refresh_token"))
            else {
                return grant("unknown, used or revoked refresh token");
            };
            if bound != jkt || owner != client_id {
                return grant("the refresh token is bound to another key or client");
            }
        }
        _ => {
            return oauth_error(
                &server,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant_type",
            );
        }
    }
    let (access, refresh) = (
        server.next("fake-dpop-access"),
        server.next("fake-dpop-refresh"),
    );
    super::lock(&server.access).insert(access.clone(), jkt.clone());
    super::lock(&server.refresh).insert(refresh.clone(), (jkt, client_id));
    server.state.granted(&field("grant_type"));
    let mut response = axum::Json(json!({
        "access_token": access,
        "token_type": "DPoP",
        "refresh_token": refresh,
        "expires_in": ACCESS_SECONDS,
        "scope": "atproto transition:generic",
        "sub": DID,
    }))
    .into_response();
    with_nonce(&server, &mut response);
    response
}

async fn revoke(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let issuer = origin(&headers);
    if let Err(refusal) = proof_or_refusal(&server, &headers, &format!("{issuer}/oauth/revoke")) {
        return refusal.answer(&server);
    }
    if let Err(refusal) = authenticate(&form, &issuer).await {
        return refusal.answer(&server);
    }
    let token = form.get("token").cloned().unwrap_or_default();
    if super::lock(&server.refresh).remove(&token).is_some() {
        // Revoking the session ends its access tokens too.
        super::lock(&server.access).clear();
    }
    let mut response = StatusCode::OK.into_response();
    with_nonce(&server, &mut response);
    response
}
