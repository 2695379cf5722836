//! `/api/v1/links/check`, `/api/v1/links/card` and `/api/v1/links/names`: judging links
//! (threat feeds, look-alikes, where short links go), the card a clean link's page makes, and
//! the organisation's own domains and handles that links must not imitate.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::ApiJson;
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::links;

/// Links to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "urls": ["https://bit.ly/3xAmPle", "https://sunnycafe-support.example/login"] }))]
pub struct CheckRequest {
    /// 1 to 20 links, as written (a missing scheme is read as `http://`).
    #[schema(min_items = 1, max_items = 20)]
    pub urls: Vec<String>,
}

/// Each link's verdict, in the order given.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "links": [{
    "url": "https://bit.ly/3xAmPle",
    "canonical": "https://bit.ly/3xAmPle",
    "verdict": "malicious",
    "destination": "http://198.51.100.7/invoice.zip",
    "findings": [{
        "rule": "link.malicious", "severity": "critical", "action": "block", "excerpt": "bit.ly",
        "message": "This link redirects to http://198.51.100.7/invoice.zip, which is on a threat list of known malware and phishing sites (urlhaus). Do not post it."
    }]
}]}))]
pub struct CheckView {
    pub links: Vec<LinkView>,
}

/// One link's verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// The link as given.
    pub url: String,
    /// Its Safe Browsing canonical form; absent when it cannot be read.
    pub canonical: Option<String>,
    /// `malicious` (in a threat feed, itself or where it redirects), `lookalike` (imitates the
    /// organisation's names), `unreachable` (could not be read or followed) or `clean`.
    #[schema(schema_with = verdict_schema)]
    pub verdict: String,
    /// Where its redirects end (the query left out), when it redirects.
    pub destination: Option<String>,
    pub findings: Vec<LinkFindingView>,
}

/// One finding about a link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkFindingView {
    /// `link.malicious`, `link.lookalike`, `link.redirects_to` or `link.unreachable`.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `warn` or `block`.
    pub action: String,
    /// The link's host.
    pub excerpt: String,
    /// What was found and what to do.
    pub message: String,
}

/// The organisation's own domains and handles.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "domains": ["sunnycafe.example", "sunnycafe.co.uk"],
    "handles": ["@sunnycafe", "@sunnycafe@mastodon.social"]
}))]
pub struct NamesView {
    /// Domains such as `sunnycafe.example`; at most 50. Their subdomains are the
    /// organisation's too.
    #[schema(max_items = 50)]
    pub domains: Vec<String>,
    /// Handles such as `@sunnycafe` or `@sunnycafe@mastodon.social`; at most 50.
    #[schema(max_items = 50)]
    pub handles: Vec<String>,
}

/// Checks links
///
/// Judges each link against the imported threat feeds (Safe Browsing canonicalisation, host
/// suffixes and path prefixes) and the organisation's own domains and handles (look-alikes),
/// and follows every link's redirects through Herald's hardened client (at most 10 hops,
/// public addresses only, each hop judged too). Any member (a session, or a token with
/// `policy:read`); nothing is stored but the redirect cache.
#[utoipa::path(post, path = "/api/v1/links/check", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])), request_body = CheckRequest,
    responses(
        (status = 200, description = "Each link's verdict", body = CheckView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No links, or more than 20", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let safety = state
        .policy
        .links()
        .ok_or_else(|| AppError::Unavailable("link safety is not set up".to_owned()))?;
    let reports = safety
        .check(&state.store, &request.urls, state.clock.now())
        .await?;
    Ok(Json(CheckView {
        links: reports
            .into_iter()
            .map(|report| LinkView {
                url: report.url,
                canonical: report.canonical,
                verdict: report.verdict.to_owned(),
                destination: report.destination,
                findings: report
                    .findings
                    .into_iter()
                    .map(|finding| LinkFindingView {
                        rule: finding.rule.as_str().to_owned(),
                        severity: finding.severity.as_str().to_owned(),
                        action: finding.action.as_str().to_owned(),
                        excerpt: finding.excerpt,
                        message: finding.message,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// Reads the organisation's names
///
/// The domains and handles that links in drafts must not imitate. Any member (a session, or
/// a token with `policy:read`).
#[utoipa::path(get, path = "/api/v1/links/names", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])),
    responses(
        (status = 200, description = "The names", body = NamesView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn names(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<NamesView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let names = links::names(&state.store).await?;
    Ok(Json(NamesView {
        domains: names.domains,
        handles: names.handles,
    }))
}

/// Replaces the organisation's names
///
/// Saves the domains and handles that links must not imitate (both lists replaced whole;
/// blanks and repeats dropped). Owners only, from a browser session; audited.
#[utoipa::path(put, path = "/api/v1/links/names", tag = "policy", security(("session" = [])), request_body = NamesView,
    responses(
        (status = 200, description = "Saved", body = NamesView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A domain or handle is not one, or more than 50 of a kind; `detail` names it", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_names(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NamesView>,
) -> Result<Json<NamesView>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let names = links::save_names(
        &state.store,
        &caller.user,
        &request.domains,
        &request.handles,
        state.clock.now(),
    )
    .await?;
    Ok(Json(NamesView {
        domains: names.domains,
        handles: names.handles,
    }))
}

fn verdict_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["clean", "malicious", "lookalike", "unreachable"]))
        .description(Some("The link's verdict."))
        .build()
}

/// A link to make a card of.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "url": "https://sunnycafe.example/autumn-menu" }))]
pub struct CardRequest {
    /// The link as written in the post (a missing scheme is read as `http://`).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
}

/// The card networks show under a post with this link, or why there is none.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://sunnycafe.example/autumn-menu",
    "title": "Autumn menu at Sunny Café",
    "description": "Soup & bread, every day.",
    "site": "Sunny Café",
    "note": null
}))]
pub struct CardView {
    /// The link as given.
    pub url: String,
    /// The page's title; absent when there is no card.
    pub title: Option<String>,
    pub description: Option<String>,
    /// The site's own name, when the page gives one.
    pub site: Option<String>,
    /// Why there is no card (the link has a finding, cannot be followed, the page has no
    /// title…); absent when there is one.
    pub note: Option<String>,
}

/// Makes a link's card
///
/// What networks show under a post with this link: the page's title, description and site
/// name, read from the page's head (Open Graph first). Only for a link link safety finds
/// clean: its redirects are followed and judged first, and the page is read through Herald's
/// hardened client (public addresses only, 3 seconds, the first 256 KiB). Any member (a
/// session, or a token with `policy:read`); nothing is stored but the redirect cache.
#[utoipa::path(post, path = "/api/v1/links/card", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])), request_body = CardRequest,
    responses(
        (status = 200, description = "The card, or why there is none", body = CardView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No link, or one over 2048 characters", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn card(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CardRequest>,
) -> Result<Json<CardView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let safety = state
        .policy
        .links()
        .ok_or_else(|| AppError::Unavailable("link safety is not set up".to_owned()))?;
    let report = safety
        .card(&state.store, &request.url, state.clock.now())
        .await?;
    let card = report.card;
    Ok(Json(CardView {
        url: report.url,
        title: card.as_ref().map(|card| card.title.clone()),
        description: card.as_ref().and_then(|card| card.description.clone()),
        site: card.and_then(|card| card.site),
        note: report.note,
    }))
}
