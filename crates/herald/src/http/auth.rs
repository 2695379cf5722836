//! Who is calling: a browser session (cookie) or an API token (`Authorization: Bearer`).
//!
//! [`Caller`] is the extractor every signed-in route takes. It enforces CSRF protection for
//! state-changing requests made with a session cookie (the `X-CSRF-Token` header, or the form's
//! `csrf` field checked by [`CsrfForm`]), and [`Caller::require`] asks `domain::access` whether
//! the caller may do something. There is no other path to a route's body.

use std::net::SocketAddr;

use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Request,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::domain::access::{self, Credential, Permission, Scope};
use crate::domain::client_address::client_address;
use crate::domain::constant_time_eq;
use crate::services::AppError;
use crate::services::people::{login, tokens};
use crate::store::UserRecord;

/// The session cookie's name over plain HTTP (a machine's own loopback, or tests).
pub const SESSION_COOKIE: &str = "herald_session";
/// Its name behind TLS: browsers accept a `__Host-` cookie only when it is `Secure`, has
/// `Path=/` and no `Domain`, so a neighbouring subdomain can neither set nor shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-herald_session";
pub const DEVICE_COOKIE: &str = "herald_device";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in member and how they proved it.
pub struct Caller {
    pub user: UserRecord,
    pub via: Via,
    pub ip: String,
}

pub enum Via {
    /// A browser session; `cookie` is the session token, needed to sign out.
    Session {
        cookie: String,
        csrf_token: String,
    },
    Token {
        scopes: Vec<Scope>,
    },
}

/// The caller's network address, for throttling, sessions and the audit log: the TCP peer, or
/// behind a trusted proxy (`trusted_proxies`) the address it forwarded
/// (`domain::client_address`).
#[derive(Debug, Clone)]
pub struct ClientIp(pub std::net::IpAddr);

/// Where a sign-in comes from: the client's address and the device cookie its browser holds.
pub struct SignInOrigin {
    pub ip: String,
    pub device_cookie: Option<String>,
    pub user_agent: Option<String>,
}

impl SignInOrigin {
    pub fn from(&self) -> login::SignInFrom<'_> {
        login::SignInFrom {
            ip: &self.ip,
            device_cookie: self.device_cookie.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

impl Caller {
    /// Fails with 403 unless this caller may do `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        let credential = match &self.via {
            Via::Session { .. } => Credential::Session,
            Via::Token { scopes } => Credential::Token(scopes),
        };
        access::check(self.user.role, credential, permission)
            .map_err(|denied| ApiError::Forbidden(denied.0))
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::Token { .. } => None,
        }
    }

    /// The one check of a page form's CSRF token (`given`: the form's `csrf` field, if it had
    /// one). Page forms are for browser sessions only: an API token is refused rather than
    /// passing with an empty value.
    pub fn check_form_csrf(&self, given: Option<&str>) -> Result<(), ApiError> {
        let expected = self.csrf_token().ok_or_else(|| {
            ApiError::Forbidden(
                "forms are for signed-in browsers; API tokens use the JSON API under /api/v1"
                    .to_owned(),
            )
        })?;
        let given = given.ok_or_else(|| {
            ApiError::Forbidden(
                "the form is missing its security token; reload the page and try again".to_owned(),
            )
        })?;
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::Forbidden(
                "the form's security token is out of date; reload the page and try again"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                ApiError::internal(AppError::Internal("no client address".to_owned()))
            })?;
        // Every line is read, bytes that are not text included: a client's junk before the
        // address a proxy appended to the same line must not make the whole line vanish (and
        // the client pass as the proxy).
        let lines = |name: &str| -> Vec<String> {
            parts
                .headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect()
        };
        let x_forwarded_for = lines("x-forwarded-for");
        let forwarded = lines("forwarded");
        Ok(ClientIp(client_address(
            peer,
            &x_forwarded_for
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &forwarded.iter().map(String::as_str).collect::<Vec<_>>(),
            &state.config.trusted_proxies,
        )))
    }
}

impl FromRequestParts<AppState> for SignInOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(SignInOrigin {
            ip: ip.to_string(),
            device_cookie: cookie(&parts.headers, DEVICE_COOKIE).map(str::to_owned),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let now = state.clock.now();
        // An `Authorization` header is the credential, whatever cookie comes with it: one that
        // is not a valid bearer token is refused, never passed over for the session.
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let bearer = bearer_token(&parts.headers).ok_or_else(|| {
                ApiError::Unauthorized(
                    "send an API token as `Authorization: Bearer <token>`".to_owned(),
                )
            })?;
            let found = tokens::authenticate(&state.store, bearer, now)
                .await
                .map_err(ApiError::from)?;
            let (user, token) = found.ok_or_else(|| {
                ApiError::Unauthorized(
                    "this API token is not valid: it may be revoked, expired or mistyped"
                        .to_owned(),
                )
            })?;
            let scopes = token
                .scopes
                .iter()
                .filter_map(|scope| Scope::parse(scope))
                .collect();
            return Ok(Caller {
                user,
                via: Via::Token { scopes },
                ip: ip.to_string(),
            });
        }
        let secure = state.config.served_over_tls();
        let cookie = session_cookie(&parts.headers, secure)
            .ok_or_else(|| ApiError::Unauthorized("sign in first".to_owned()))?;
        let (user, _session) = login::session(&state.store, &state.config, cookie, now)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                ApiError::Unauthorized("your session has ended; sign in again".to_owned())
            })?;
        let csrf_token = login::csrf_token_for(cookie);
        if is_unsafe(&parts.method) && parts.uri.path().starts_with("/api/") {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(given.as_bytes(), csrf_token.as_bytes()) {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header; send the csrf_token you received at sign-in".to_owned(),
                ));
            }
        }
        Ok(Caller {
            user,
            via: Via::Session {
                cookie: cookie.to_owned(),
                csrf_token,
            },
            ip: ip.to_string(),
        })
    }
}

/// For pages that show something different to signed-out visitors.
impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Some(caller)),
            Err(ApiError::Unauthorized(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// A form posted by a signed-in browser, accepted only from a browser session (never an API
/// token, which carries no CSRF token to compare) and only with the session's CSRF token in its
/// `csrf` field.
pub struct CsrfForm<T> {
    pub caller: Caller,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let caller =
            <Caller as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, state.config.http.max_body_bytes)
            .await
            .map_err(|_| ApiError::BadRequest("the form is too large".to_owned()))?;
        let field: Option<CsrfField> = serde_urlencoded::from_bytes(&bytes).ok();
        caller.check_form_csrf(field.as_ref().map(|field| field.csrf.as_str()))?;
        super::extract::refuse_nul_in_form(&bytes)?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| ApiError::BadRequest(format!("the form is not complete: {error}")))?;
        Ok(CsrfForm { caller, form })
    }
}

/// The Host header the request named, if any.
pub fn host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The name the session cookie has when Herald is (or is not) served over TLS.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The session cookie's value, if the request carries one under the name this Herald uses.
pub fn session_cookie(headers: &HeaderMap, secure: bool) -> Option<&str> {
    cookie(headers, session_cookie_name(secure))
}

fn cookie<'a>(headers: &'a HeaderMap, wanted: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value for a device cookie (`people::devices`): kept as long as Herald
/// honours it, sent only to Herald, never readable by scripts.
pub fn device_cookie_header(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = crate::services::people::devices::DEVICE_COOKIE_LASTS.as_secs();
    format!("{DEVICE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value for a new session. `Secure` when Herald is served over TLS.
pub fn session_cookie_header(token: &str, secure: bool, max_age_seconds: u64) -> String {
    let name = session_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie(secure: bool) -> String {
    session_cookie_header("", secure, 0)
}

/// The session cookie and CSRF token never appear in `Debug` output.
impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user.id)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for CsrfForm<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfForm")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

/// The device cookie never appears in `Debug` output.
impl std::fmt::Debug for SignInOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInOrigin")
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Session { .. } => f.write_str("Session { .. }"),
            Via::Token { scopes } => f.debug_struct("Token").field("scopes", scopes).finish(),
        }
    }
}
