//! The JSON API under `/api/v1`, and the OpenAPI 3.1 document generated from the same route
//! registrations, so the document cannot list a route that does not exist or miss one that does.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{AppState, health};

pub mod account;
mod accounts;
mod audit;
mod connections;
mod contract;
mod credentials;
mod import;
mod inbox;
mod incidents;
mod links;
pub mod media;
mod passkeys;
pub mod people;
mod policy;
mod posts;
mod schedule;
mod security;
mod staff;
mod training;
mod webhooks;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald API",
        description = "Everything Herald's web app does, as JSON. Errors are application/problem+json (RFC 9457)."
    ),
    tags(
        (name = "system", description = "Health and metrics"),
        (name = "people", description = "Setup, sign-in and sessions, members, invitations, API tokens, second factors and passkeys.\n\n\
**First-run setup**: (1) read the one-time setup code Herald printed when it first started (`herald setup-code` prints it again); \
(2) `GET /api/v1/setup?email=` answers an authenticator secret and an `enrolment_token`; (3) add the secret to an authenticator app; \
(4) `POST /api/v1/setup` with `setup_code`, `organisation`, `name`, `email`, `password`, `enrolment_token` and the app's current 6-digit `code`: \
201, the owner is signed in and the recovery codes are shown once.\n\n\
**Joining by invitation**: an owner or admin calls `POST /api/v1/invitations` and gives the invitee the answer's single-use `link`; \
the invitee calls `GET /api/v1/invitations/{token}` (the link's last segment) for an authenticator secret, adds it to an app, \
then `POST /api/v1/invitations/{token}/accept` with `name`, `password`, `enrolment_token` and `code`: 201, a member, signed in, recovery codes shown once.\n\n\
**After an owner resets a member's second factor**: `POST /api/v1/auth/enrol`, then `POST /api/v1/auth/enrol/finish`. \
Each operation's description gives the details."),
        (name = "posts", description = "Drafts, submission, approval, and the composer's length counts"),
        (name = "policy", description = "The company's social media policy: checking drafts and links, its rules, and the organisation's own names that links must not imitate"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "security", description = "The security review: the company's practices measured, with a score per account and for the company"),
        (name = "accounts", description = "Social accounts, gatekeepers, access and connections to the networks"),
        (name = "schedule", description = "Scheduling posts, each account's queue, and the calendar"),
        (name = "import", description = "Bulk import of posts from CSV, and each account's schedule as CSV and iCalendar"),
        (name = "inbox", description = "What comes in to the accounts (mentions, replies, comments, messages, new followers), screened for dangerous links and impostors; assigning, notes, done"),
        (name = "staff", description = "Staff and their own networks: members' own profiles (look-alikes of the company's accounts flagged to the owners), sharing the company's published posts through each network's own share link (Herald never holds staff's credentials), and the staff course"),
        (name = "incidents", description = "The day an account is hacked: one-click lockdown, incidents with their timeline, guided recovery, holding statements, close and report"),
        (name = "webhooks", description = "Owners' webhook endpoints: events signed as Standard Webhooks say (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or ready for Slack, Microsoft Teams and Discord; the delivery log, a test event"),
    ),
    components(schemas(super::Problem))
)]
struct ApiDoc;

/// The API routes, plus `GET /api/v1/openapi.json` describing them.
pub fn router(_state: AppState) -> Router<AppState> {
    let (router, document) = routes_and_document();
    let json: Arc<str> = Arc::from(serde_json::to_string_pretty(&document).unwrap_or_default());
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
                    .into_response()
            }
        }),
    )
}

/// The OpenAPI document, as `herald openapi` prints it.
pub fn document() -> serde_json::Value {
    routes_and_document().1
}

fn routes_and_document() -> (Router<AppState>, serde_json::Value) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
        .routes(routes!(people::setup_start, people::setup_finish))
        .routes(routes!(people::login))
        .routes(routes!(people::logout))
        .routes(routes!(people::logout_everywhere))
        .routes(routes!(people::me))
        .routes(routes!(people::notifications))
        .routes(routes!(
            people::mail_preferences,
            people::set_mail_preferences
        ))
        .routes(routes!(policy::scan))
        .routes(routes!(policy::rules, policy::save_rules))
        .routes(routes!(policy::document, policy::publish))
        .routes(routes!(policy::acknowledge))
        .routes(routes!(policy::acknowledgements))
        .routes(routes!(links::check))
        .routes(routes!(links::card))
        .routes(routes!(links::names, links::save_names))
        .routes(routes!(posts::list, posts::create))
        .routes(routes!(posts::show, posts::edit))
        .routes(routes!(posts::submit))
        .routes(routes!(posts::approve))
        .routes(routes!(posts::send_back))
        .routes(routes!(posts::settle))
        .routes(routes!(posts::text_length))
        // Uploads may be larger than every other body: this route only.
        .routes(
            routes!(media::upload, media::list)
                .layer(DefaultBodyLimit::max(media::UPLOAD_BODY_LIMIT)),
        )
        .routes(routes!(media::show, media::remove))
        .routes(routes!(schedule::schedule, schedule::unschedule))
        .routes(routes!(schedule::calendar))
        .routes(routes!(schedule::queue, schedule::set_queue))
        .routes(routes!(connections::connect))
        .routes(routes!(import::preview))
        .routes(routes!(import::import))
        .routes(routes!(import::schedule_csv))
        .routes(routes!(import::schedule_ics))
        .routes(routes!(people::password_strength))
        .routes(routes!(people::list_members))
        .routes(routes!(people::change_role))
        .routes(routes!(people::deactivate))
        .routes(routes!(people::invite))
        .routes(routes!(people::open_invitation))
        .routes(routes!(people::accept_invitation))
        .routes(routes!(people::list_tokens, people::create_token))
        .routes(routes!(people::revoke_token))
        .routes(routes!(passkeys::list, passkeys::finish_registration))
        .routes(routes!(passkeys::start_registration))
        .routes(routes!(passkeys::remove))
        .routes(routes!(passkeys::start_sign_in))
        .routes(routes!(account::change_password))
        .routes(routes!(account::start_new_authenticator))
        .routes(routes!(account::confirm_authenticator))
        .routes(routes!(account::regenerate_recovery_codes))
        .routes(routes!(account::sessions))
        .routes(routes!(account::end_session))
        .routes(routes!(account::end_other_sessions))
        .routes(routes!(account::reset_second_factor))
        .routes(routes!(account::start_enrolment))
        .routes(routes!(account::finish_enrolment))
        .routes(routes!(passkeys::finish_sign_in))
        .routes(routes!(accounts::list, accounts::create))
        .routes(routes!(accounts::get))
        .routes(routes!(accounts::grant, accounts::revoke))
        .routes(routes!(accounts::reassign_gatekeeper))
        .routes(routes!(credentials::facts))
        .routes(routes!(credentials::put))
        .routes(routes!(credentials::reveal))
        .routes(routes!(credentials::network_code))
        .routes(routes!(credentials::rotations))
        .routes(routes!(credentials::generate))
        .routes(routes!(credentials::posture))
        .routes(routes!(security::get))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export))
        .routes(routes!(inbox::list))
        .routes(routes!(inbox::summary))
        .routes(routes!(inbox::show, inbox::change))
        .routes(routes!(inbox::reply))
        .routes(routes!(inbox::follow_link))
        .routes(routes!(incidents::lock_down))
        .routes(routes!(incidents::lock_down_all))
        .routes(routes!(incidents::report))
        .routes(routes!(incidents::resume))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get))
        .routes(routes!(incidents::note))
        .routes(routes!(incidents::tick))
        .routes(routes!(incidents::delete_attacker_posts))
        .routes(routes!(incidents::retry))
        .routes(routes!(incidents::close))
        .routes(routes!(incidents::statements))
        .routes(routes!(incidents::report_markdown))
        .routes(routes!(incidents::template, incidents::set_template))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::delete))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::enable))
        .routes(routes!(staff::my_profiles, staff::add_profile))
        .routes(routes!(staff::remove_profile))
        .routes(routes!(staff::say_no_profiles))
        .routes(routes!(staff::everyones_profiles))
        .routes(routes!(staff::shareable))
        .routes(routes!(staff::share))
        .routes(routes!(staff::suggest))
        .routes(routes!(staff::counts))
        .routes(routes!(training::read))
        .routes(routes!(training::answer))
        .routes(routes!(training::publish))
        .routes(routes!(training::results))
        .routes(routes!(training::examples, training::add_example))
        .routes(routes!(training::remove_example))
        .split_for_parts();
    let mut document = serde_json::to_value(&api).unwrap_or_default();
    contract::complete(&mut document);
    (router, document)
}
