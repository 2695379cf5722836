//! `/api/v1/posts/{id}/schedule`, `/api/v1/calendar` and `/api/v1/accounts/{id}/queue`: giving
//! posts their time, seeing what goes out when, and each account's weekly queue.

// utoipa's expansion of `params(CalendarQuery)` names the type with a path the lint dislikes.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::posts::PostResponse;
use crate::domain::access::Permission;
use crate::domain::posts::PostState;
use crate::domain::schedule::Slot;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::schedule::{self, When};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ScheduleRequest {
    /// `2026-12-24T09:30` (in the account's time zone) or an RFC 3339 time with an offset.
    #[serde(default)]
    pub at: Option<String>,
    /// Take the account's next free queue slot instead of `at`.
    #[serde(default)]
    pub queue: bool,
    /// Required for accounts marked "confirm before publish".
    #[serde(default)]
    pub confirm: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CalendarQuery {
    /// Start, RFC 3339 (inclusive).
    pub from: String,
    /// End, RFC 3339 (exclusive); at most 62 days after `from`.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEntry {
    pub post_id: i64,
    pub account_id: i64,
    pub account_name: String,
    pub network: crate::domain::accounts::Network,
    pub state: PostState,
    /// RFC 3339 UTC: when it was published, or is due.
    pub at: String,
    /// The first 80 characters of the text.
    pub excerpt: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queue {
    /// IANA time zone name, e.g. `Europe/London`; slots are local times there.
    pub time_zone: String,
    pub slots: Vec<QueueSlot>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueSlot {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i8,
    /// Local time, `09:30`.
    pub time: String,
}

/// Gives a post its time. Approved posts are scheduled (publisher access); drafts and
/// submitted posts keep it for when they are approved.
#[utoipa::path(post, path = "/api/v1/posts/{id}/schedule", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), request_body = ScheduleRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Scheduled, or the time kept", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No access to schedule on this account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already published, or changed meanwhile", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A time in the past or not a time, no free slot, or confirmation missing", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let when = match (request.queue, request.at) {
        (true, _) => When::Queue,
        (false, Some(at)) => When::At(at),
        (false, None) => {
            return Err(ApiError::Invalid {
                field: "at",
                message: "give a time (at) or ask for the next queue slot (queue: true)".to_owned(),
            });
        }
    };
    let now = state.clock.now();
    let max_attempts = state.config.jobs.max_attempts;
    let view = schedule::schedule(
        &state.store,
        &caller.user,
        id,
        &when,
        request.confirm,
        max_attempts,
        now,
    )
    .await?;
    Ok(Json(view.into()))
}

/// Takes a scheduled post off the schedule; it stays approved.
#[utoipa::path(delete, path = "/api/v1/posts/{id}/schedule", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Approved, not scheduled", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not scheduled", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn unschedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let view = schedule::unschedule(&state.store, &caller.user, id, now).await?;
    Ok(Json(view.into()))
}

/// What goes out, or went out, between two times, on the accounts the caller can see.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "schedule", security(("token" = ["accounts:read"]), ("session" = [])), params(CalendarQuery),
    responses((status = 200, description = "Oldest first", body = [CalendarEntry]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Times unreadable or too far apart", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn calendar(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CalendarQuery>,
) -> Result<Json<Vec<CalendarEntry>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let read = |field: &'static str, text: &str| {
        text.parse::<jiff::Timestamp>()
            .map_err(|_| ApiError::Invalid {
                field,
                message: format!("{text:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z"),
            })
    };
    let (from, to) = (read("from", &query.from)?, read("to", &query.to)?);
    if to <= from || from.duration_until(to) > jiff::SignedDuration::from_hours(62 * 24) {
        return Err(ApiError::Invalid {
            field: "to",
            message: "to must be after from, and at most 62 days later".to_owned(),
        });
    }
    let entries = schedule::calendar(&state.store, &caller.user, from, to).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|(post, visible)| CalendarEntry {
                post_id: post.id,
                account_id: post.account_id,
                account_name: visible.account.display_name.clone(),
                network: visible.account.network,
                state: post.state,
                at: post
                    .published_at
                    .or(post.scheduled_at)
                    .map(|at| at.to_string())
                    .unwrap_or_default(),
                excerpt: post.text.chars().take(80).collect(),
            })
            .collect(),
    ))
}

/// An account's time zone and weekly queue slots.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/queue", tag = "schedule", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The queue", body = Queue), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Queue>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let (zone, slots) = schedule::queue(&state.store, &caller.user, id).await?;
    Ok(Json(Queue {
        time_zone: zone.name().to_owned(),
        slots: slots
            .into_iter()
            .map(|slot| QueueSlot {
                weekday: slot.weekday,
                time: slot.time(),
            })
            .collect(),
    }))
}

/// Replaces an account's time zone and weekly queue slots (publisher access). Posts already
/// scheduled keep their times.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/queue", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), request_body = Queue, params(("id" = i64, Path)),
    responses((status = 200, description = "The new queue", body = Queue), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Unknown time zone or a bad slot", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn set_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<Queue>,
) -> Result<Json<Queue>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let slots = request
        .slots
        .iter()
        .map(|slot| Slot::new(slot.weekday, &slot.time))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::Invalid {
            field: "slots",
            message: error.to_string(),
        })?;
    let now = state.clock.now();
    schedule::set_queue(
        &state.store,
        &caller.user,
        id,
        &request.time_zone,
        &slots,
        now,
    )
    .await?;
    queue(State(state), caller, ApiPath(id)).await
}
