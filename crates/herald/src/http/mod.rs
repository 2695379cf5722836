//! The web app and JSON API: one axum router, with the layers every response passes through.
//!
//! Handlers are thin: they extract, call the store or domain, and render. `pages/` renders HTML,
//! `api/` answers JSON under `/api/v1`; both call the same code underneath.

pub mod api;
mod assets;
pub mod auth;
mod csp_report;
mod error;
mod extract;
mod health;
mod observe;
pub mod pages;
mod security;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::metrics::Metrics;
use crate::services::Services;

pub use error::{ApiError, Problem};

/// What every handler can reach: the services' context, and what only the web layer uses.
/// Dereferences to [`Services`], so `state.store` and `&state` (as `&Services`) both work.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Arc<Metrics>,
    /// `None` when passkeys cannot work here (public_url names an IP address).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The whole application router with its middleware.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.http.request_timeout_seconds);
    let api = api::router(state.clone());
    Router::new()
        .route("/", get(pages::home))
        .route("/notifications/read", post(pages::notifications_read))
        .route("/status", get(pages::status))
        .route(
            "/compose",
            get(pages::posts::compose)
                .post(pages::posts::compose_submit)
                .layer(DefaultBodyLimit::max(api::media::UPLOAD_BODY_LIMIT)),
        )
        .route("/posts", get(pages::posts::list::list))
        .route("/inbox", get(pages::inbox::list))
        .route(
            "/inbox/{id}",
            get(pages::inbox::show).post(pages::inbox::change),
        )
        .route("/inbox/{id}/links/{index}", post(pages::inbox::open_link))
        .route(
            "/inbox/{id}/links/{index}/follow",
            post(pages::inbox::follow_link),
        )
        .route("/inbox/{id}/report", post(pages::inbox::report))
        .route("/inbox/{id}/reply", post(pages::inbox::reply))
        .route("/posts/{id}", get(pages::posts::show))
        .route("/posts/{id}/submit", post(pages::posts::submit))
        .route("/posts/{id}/approve", post(pages::posts::approve))
        .route("/posts/{id}/send-back", post(pages::posts::send_back))
        .route("/posts/{id}/schedule", post(pages::posts::schedule))
        .route("/posts/{id}/unschedule", post(pages::posts::unschedule))
        .route("/posts/{id}/settle", post(pages::posts::settle))
        .route("/posts/{id}/edit", post(pages::posts::edit))
        .route("/posts/{id}/copy", post(pages::posts::copy))
        .route(
            "/posts/{id}/media",
            post(pages::media::upload).layer(DefaultBodyLimit::max(api::media::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/posts/{id}/media/{media_id}/remove",
            post(pages::media::remove),
        )
        .route("/calendar", get(pages::calendar::show))
        .route(
            "/import",
            get(pages::import::show).post(pages::import::submit),
        )
        .route("/policy", get(pages::policy::show))
        .route("/policy/acknowledge", post(pages::policy::acknowledge))
        .route("/policy/document", post(pages::policy::publish))
        .route("/policy/rules", post(pages::policy::save_rules))
        .route("/policy/rules/form", post(pages::policy::save_rule_choices))
        .route("/policy/names", post(pages::policy::save_names))
        .route("/policy/check", post(pages::policy::check))
        .route(
            "/login",
            get(pages::people::login_page).post(pages::people::login_submit),
        )
        .route("/logout", post(pages::people::logout))
        .route(
            "/setup",
            get(pages::people::setup_page).post(pages::people::setup_submit),
        )
        .route(
            "/invite/{token}",
            get(pages::people::invite_page).post(pages::people::invite_submit),
        )
        .route("/members", get(pages::members::page))
        .route("/members/invite", post(pages::members::invite))
        .route(
            "/members/invitations/{reference}/renew",
            post(pages::members::renew),
        )
        .route(
            "/members/invitations/{reference}/withdraw",
            post(pages::members::withdraw),
        )
        .route("/members/{id}/role", post(pages::members::change_role))
        .route(
            "/members/{id}/reset-second-factor",
            post(pages::members::reset_second_factor),
        )
        .route(
            "/login/enrol",
            get(pages::people::enrol_page).post(pages::people::enrol_start),
        )
        .route("/login/enrol/finish", post(pages::people::enrol_finish))
        .route(
            "/members/{id}/deactivate",
            get(pages::members::confirm_deactivation).post(pages::members::deactivate),
        )
        .route(
            "/accounts",
            get(pages::accounts::list).post(pages::accounts::add),
        )
        .route("/accounts/{id}", get(pages::accounts::show))
        .route(
            "/accounts/{id}/incident",
            get(pages::incidents::account_page),
        )
        .route("/accounts/{id}/lockdown", post(pages::incidents::lock_down))
        .route("/accounts/{id}/report-hack", post(pages::incidents::report))
        .route("/accounts/{id}/resume", post(pages::incidents::resume))
        .route("/incidents", get(pages::incidents::list))
        .route("/incidents/{id}", get(pages::incidents::show))
        .route("/incidents/{id}/report", get(pages::incidents::report_page))
        .route("/incidents/{id}/retry", post(pages::incidents::retry))
        .route("/incidents/{id}/steps/{step}", post(pages::incidents::tick))
        .route(
            "/incidents/{id}/attacker-posts/delete",
            post(pages::incidents::delete_attacker_posts),
        )
        .route("/incidents/{id}/notes", post(pages::incidents::note))
        .route("/incidents/{id}/close", post(pages::incidents::close))
        .route(
            "/incidents/{id}/statements",
            post(pages::incidents::statements),
        )
        .route(
            "/accounts/{id}/credentials",
            post(pages::accounts::store_credential),
        )
        .route("/accounts/{id}/reveal", post(pages::accounts::reveal))
        .route("/accounts/{id}/generate", post(pages::accounts::generate))
        .route("/accounts/{id}/queue", post(pages::accounts::save_queue))
        .route("/accounts/{id}/connect", post(pages::accounts::connect))
        .route("/accounts/{id}/access", post(pages::accounts::access))
        .route(
            "/accounts/{id}/gatekeeper",
            post(pages::accounts::gatekeeper),
        )
        .route("/accounts/{id}/oauth", post(pages::oauth::start))
        .route("/oauth/callback", get(pages::oauth::callback))
        .route(
            networks::bluesky::oauth::METADATA_PATH,
            get(pages::oauth::bluesky_client_metadata),
        )
        .route("/audit", get(pages::audit::page))
        .route("/security", get(pages::security::page))
        .route("/account", get(pages::account::page))
        .route(
            "/account/notifications",
            get(pages::mail::preferences).post(pages::mail::save_preferences),
        )
        .route("/settings/mail", get(pages::mail::settings))
        .route("/settings/mail/test", post(pages::mail::send_test))
        .route(
            "/settings/webhooks",
            get(pages::webhooks::list).post(pages::webhooks::add),
        )
        .route("/settings/webhooks/{id}", get(pages::webhooks::show))
        .route("/settings/webhooks/{id}/test", post(pages::webhooks::test))
        .route(
            "/settings/webhooks/{id}/enable",
            post(pages::webhooks::enable),
        )
        .route(
            "/settings/webhooks/{id}/delete",
            post(pages::webhooks::delete),
        )
        .route("/account/password", post(pages::account::change_password))
        .route(
            "/account/authenticator",
            post(pages::account::start_authenticator),
        )
        .route(
            "/account/authenticator/confirm",
            post(pages::account::confirm_authenticator),
        )
        .route(
            "/account/recovery-codes",
            post(pages::account::recovery_codes),
        )
        .route(
            "/account/passkeys/{id}/remove",
            post(pages::account::remove_passkey),
        )
        .route(
            "/account/sessions/{id}/end",
            post(pages::account::end_session),
        )
        .route(
            "/account/sessions/end-others",
            post(pages::account::end_other_sessions),
        )
        .route(
            "/account/logout-everywhere",
            post(pages::people::logout_everywhere),
        )
        .route("/csp-report", post(csp_report::receive))
        .route("/assets/{file}", get(assets::serve))
        .route("/media/{signed}", get(api::media::signed))
        .merge(pages::staff::routes())
        .merge(pages::training::routes())
        .merge(api)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.http.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn(error::api_problems))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::same_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::requests,
        ))
        .with_state(state)
}
