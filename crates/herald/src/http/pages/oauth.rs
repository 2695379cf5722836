//! The browser's side of connecting an account by OAuth: the gatekeeper's "Connect with …"
//! button (`POST /accounts/{id}/oauth`) and the network's way back (`GET /oauth/callback`).
//!
//! Two browser rules shape these pages. Herald's policy `form-action 'self'` makes Chrome and
//! Safari refuse a form's redirect to another site, so the button is answered with a page that
//! moves on by itself (a `Refresh` header, and a link for anything that ignores it). And the
//! session cookie is SameSite=Strict, so browsers leave it off the network's redirect back to
//! Herald: a signed-out callback first answers with a page that loads it again from Herald's
//! own origin, which does carry the cookies, and only then is the connection finished.

use crate::domain::ids::AccountId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use crate::domain::access::Permission;
use crate::http::auth::{self, Caller, CsrfForm};
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::oauth::{self, CALLBACK_PATH, CEREMONY_LASTS, Callback, CallbackError};

/// The cookie that carries the sealed ceremony from the button to the callback.
const CEREMONY_COOKIE: &str = "herald_oauth";

#[derive(Debug, Deserialize)]
pub struct StartForm {
    /// The Mastodon server, as the gatekeeper typed it; other networks ignore it.
    #[serde(default)]
    instance: String,
}

/// What the network sends back: a code and the state, or an error and the state.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code: Option<SecretString>,
    #[serde(default)]
    error: Option<String>,
    /// The authorization server that answered (RFC 9207; Bluesky sends it).
    #[serde(default)]
    iss: Option<String>,
    /// Set by Herald's own reload of a callback that arrived without the session cookie.
    #[serde(default)]
    resumed: Option<String>,
}

#[derive(Template)]
#[template(path = "oauth.html")]
struct OAuthPage {
    layout: Layout,
    heading: String,
    detail: String,
    link: Option<Link>,
}

#[derive(Debug)]
struct Link {
    href: String,
    label: String,
}

/// Starts connecting the account (its gatekeeper only), then sends the browser on to the
/// network's consent page with the sealed ceremony as a cookie.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    headers: HeaderMap,
    CsrfForm { caller, form }: CsrfForm<StartForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let started = oauth::start(
        &state,
        &caller.user,
        id,
        &form.instance,
        &redirect_uri(&state, &headers),
        state.clock.now(),
    )
    .await;
    let started = match started {
        Ok(started) => started,
        Err(error @ AppError::NotFound { .. }) => return Err(error.into()),
        Err(error) => {
            let status = status_of(&error);
            let page = OAuthPage {
                layout: Layout::signed_in("Not connected · Herald", "/accounts", &caller),
                heading: "Herald could not start connecting".to_owned(),
                detail: message(error),
                link: Some(back_to_account(id)),
            };
            return Ok(render(status, &page));
        }
    };
    let network = started.network.label();
    let page = OAuthPage {
        layout: Layout::signed_in(
            &format!("Connecting to {network} · Herald"),
            "/accounts",
            &caller,
        ),
        heading: format!("Taking you to {network}…"),
        detail: format!(
            "{network} will ask you to let Herald post for the account, then send you back here. Nothing is connected until you allow it there."
        ),
        link: Some(Link {
            href: started.authorize_url.clone(),
            label: format!("Continue to {network}"),
        }),
    };
    let mut response = render(StatusCode::OK, &page);
    refresh_to(&mut response, &started.authorize_url);
    let max_age = CEREMONY_LASTS.as_secs();
    set_ceremony_cookie(&state, &mut response, &started.sealed, max_age);
    Ok(response)
}

/// Where the network sends the gatekeeper back. Finishes only for the signed-in member who
/// started, with the ceremony cookie whose state matches; the cookie is cleared either way.
pub async fn callback(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, PageError> {
    let Some(caller) = caller else {
        return Ok(signed_out(&uri, query.resumed.is_some()));
    };
    let finished = oauth::finish(
        &state,
        &caller.user,
        ceremony_cookie(&headers),
        Callback {
            state: query.state.as_deref(),
            code: query.code,
            error: query.error.as_deref(),
            issuer: query.iss.as_deref(),
        },
        state.clock.now(),
    )
    .await;
    let layout = |title: &str| Layout::signed_in(title, "/accounts", &caller);
    let mut response = match finished {
        Ok(connected) => {
            Redirect::to(&format!("/accounts/{}#connection", connected.account_id)).into_response()
        }
        Err(error @ CallbackError::Declined { account_id, .. }) => {
            let page = OAuthPage {
                layout: layout("Not connected · Herald"),
                heading: "Not connected".to_owned(),
                detail: format!(
                    "{error} You can try again from the account's page whenever you like."
                ),
                link: Some(back_to_account(account_id)),
            };
            render(StatusCode::OK, &page)
        }
        Err(CallbackError::People(AppError::NotFound { message, .. })) => {
            return Err(ApiError::NotFound(message).into());
        }
        Err(CallbackError::People(error)) => {
            let status = status_of(&error);
            let page = OAuthPage {
                layout: layout("Not connected · Herald"),
                heading: "The account was not connected".to_owned(),
                detail: message(error),
                link: Some(to_accounts()),
            };
            render(status, &page)
        }
        Err(error @ CallbackError::State) => {
            let page = OAuthPage {
                layout: layout("Not connected · Herald"),
                heading: "This connection cannot be finished".to_owned(),
                detail: error.to_string(),
                link: Some(to_accounts()),
            };
            render(StatusCode::BAD_REQUEST, &page)
        }
    };
    set_ceremony_cookie(&state, &mut response, "", 0);
    Ok(response)
}

/// Herald's AT Protocol client metadata document, which Bluesky's authorization servers
/// fetch (its `client_id` is this address): public by design, and holding only the public
/// half of Herald's client key. Only a Herald with an https `public_url` has one.
pub async fn bluesky_client_metadata(State(state): State<AppState>) -> Response {
    match state.networks.bluesky().confidential_client().and_then(|client| client.metadata()) {
        Some(document) => axum::Json(document).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "This Herald has no https address (public_url), so it connects Bluesky as a loopback client and publishes no client metadata.",
        )
            .into_response(),
    }
}

/// A callback without the session cookie: once, a page that loads the callback again from
/// Herald's own origin (so the SameSite=Strict cookies come along); after that, the visitor
/// is really signed out.
fn signed_out(uri: &Uri, resumed: bool) -> Response {
    if resumed {
        let page = OAuthPage {
            layout: Layout::new("Sign in · Herald"),
            heading: "Sign in to finish connecting".to_owned(),
            detail: "An account is connected only for the member who started connecting it, while signed in. Sign in, then start again from the account's page.".to_owned(),
            link: Some(Link {
                href: "/login".to_owned(),
                label: "Sign in".to_owned(),
            }),
        };
        return render(StatusCode::UNAUTHORIZED, &page);
    }
    let again = format!(
        "{CALLBACK_PATH}?{}&resumed=1",
        uri.query().unwrap_or_default()
    );
    let page = OAuthPage {
        layout: Layout::new("Connecting · Herald"),
        heading: "Finishing the connection…".to_owned(),
        detail: "One moment while Herald checks that it is you.".to_owned(),
        link: Some(Link {
            href: again.clone(),
            label: "Continue".to_owned(),
        }),
    };
    let mut response = render(StatusCode::OK, &page);
    refresh_to(&mut response, &again);
    response
}

/// `<public_url or this request's origin>/oauth/callback`: where the network sends people back.
fn redirect_uri(state: &AppState, headers: &HeaderMap) -> String {
    match &state.config.public_url {
        Some(public) => format!("{}{CALLBACK_PATH}", public.trim_end_matches('/')),
        None => format!(
            "http://{}{CALLBACK_PATH}",
            auth::host(headers).unwrap_or("localhost")
        ),
    }
}

fn back_to_account(id: AccountId) -> Link {
    Link {
        href: format!("/accounts/{id}#connection"),
        label: "Back to the account".to_owned(),
    }
}

fn to_accounts() -> Link {
    Link {
        href: "/accounts".to_owned(),
        label: "Social accounts".to_owned(),
    }
}

/// Asks the browser to go on to `url` at once (the `Refresh` header, as HTML defines it).
fn refresh_to(response: &mut Response, url: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("0;url={url}")) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("refresh"), value);
    }
}

fn set_ceremony_cookie(state: &AppState, response: &mut Response, value: &str, max_age: i64) {
    let secure = if state.config.served_over_tls() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{CEREMONY_COOKIE}={value}; Path={CALLBACK_PATH}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn ceremony_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CEREMONY_COOKIE)
        .map(|(_, value)| value)
}
