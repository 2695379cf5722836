//! `/api/v1/posts/{id}/schedule`, `/api/v1/calendar` and `/api/v1/accounts/{id}/queue`: giving
//! posts their time, seeing what goes out when, and each account's weekly queue.

// utoipa's expansion of `params(CalendarQuery)` names the type with a path the lint dislikes.
#![allow(unused_qualifications)]

use crate::domain::ids::{AccountId, PostId};
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
use crate::services::schedule::{self, When};

/// When a post goes out: a time (`at`), or the account's next free queue slot
/// (`queue: true`). One of the two is required; `queue: true` wins over `at`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"at": "2026-12-24T08:00", "confirm": false}))]
pub struct ScheduleRequest {
    /// A time in the future: `2026-12-24T08:00` (local time in the account's time zone) or
    /// an RFC 3339 time with an offset, `2026-12-24T08:00:00Z`. Required unless `queue` is true.
    #[serde(default)]
    #[schema(examples("2026-12-24T08:00", "2026-12-24T08:00:00+01:00"))]
    pub at: Option<String>,
    /// Take the account's next free queue slot instead of `at`.
    #[serde(default)]
    pub queue: bool,
    /// Required for accounts marked "confirm before publish".
    #[serde(default)]
    pub confirm: bool,
}

/// [`ScheduleRequest`] as the document shows it, with its rule that `at` or `queue: true` is
/// given: a readable `anyOf` the derived schema cannot say.
#[derive(Debug)]
pub struct ScheduleBody;

impl utoipa::PartialSchema for ScheduleBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Type};
        let a_time = ObjectBuilder::new()
            .title(Some("at a time"))
            .property("at", ObjectBuilder::new().schema_type(Type::String))
            .required("at");
        let next_slot = ObjectBuilder::new()
            .title(Some("in the next queue slot"))
            .property(
                "queue",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([true])),
            )
            .required("queue");
        AllOfBuilder::new()
            .examples([serde_json::json!({ "at": "2026-12-24T08:00", "confirm": false })])
            .item(<ScheduleRequest as utoipa::PartialSchema>::schema())
            .item(AnyOfBuilder::new().item(a_time).item(next_slot))
            .into()
    }
}

impl ToSchema for ScheduleBody {
    fn name() -> std::borrow::Cow<'static, str> {
        ScheduleRequest::name()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Start, an RFC 3339 time (inclusive).
    #[param(format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub from: String,
    /// End, an RFC 3339 time (exclusive); after `from`, and at most 62 days later.
    #[param(format = DateTime, example = "2027-01-01T00:00:00Z")]
    pub to: String,
}

/// One post on the calendar.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "post_id": 7, "account_id": 1, "account_name": "Café Lune", "network": "mastodon",
    "state": "scheduled", "at": "2026-12-24T08:00:00Z",
    "excerpt": "Fresh cinnamon buns from 8 tomorrow, while they last!"
}))]
pub struct CalendarEntry {
    pub post_id: PostId,
    pub account_id: AccountId,
    pub account_name: String,
    pub network: crate::domain::accounts::Network,
    pub state: PostState,
    /// RFC 3339 UTC: when it was published, or is due.
    #[schema(format = DateTime)]
    pub at: String,
    /// The first 80 characters of the text.
    pub excerpt: String,
}

/// An account's time zone and its weekly queue: the local times a queued post may take.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "time_zone": "Europe/London",
    "slots": [{"weekday": 1, "time": "08:00"}, {"weekday": 3, "time": "12:30"}, {"weekday": 6, "time": "09:15"}]
}))]
pub struct Queue {
    /// An IANA time zone name from the server's time zone database, such as `Europe/London`
    /// or `America/New_York` (matched ignoring case); slots are local times there.
    #[schema(example = "Europe/London", pattern = r"^[A-Za-z][A-Za-z0-9_+/-]*$")]
    pub time_zone: String,
    pub slots: Vec<QueueSlot>,
}

/// One weekly slot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSlot {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    #[schema(minimum = 1, maximum = 7, example = 1)]
    pub weekday: i8,
    /// Local time of day, `HH:MM` on the 24-hour clock, `00:00` to `23:59`.
    #[schema(example = "08:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: String,
}

/// Gives a post its time
///
/// Gives a post a time: `at`, or with `queue: true` the account's next free queue slot. An approved
/// post becomes scheduled (publisher access); a draft or submitted post keeps the time for when it
/// is approved. Accounts marked "confirm before publish" need `confirm: true`.
#[utoipa::path(post, path = "/api/v1/posts/{id}/schedule", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), request_body = ScheduleBody, params(("id" = i64, Path)),
    responses((status = 200, description = "Scheduled, or the time kept", body = PostResponse), (status = 403, description = "No access to schedule on this account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already published, or changed meanwhile", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Neither `at` nor `queue: true`; a time in the past or not a time; no free queue slot; or `confirm` missing for an account that asks for it", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
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
    let view = schedule::schedule(&state, &caller.user, id, &when, request.confirm, now).await?;
    Ok(Json(view.into()))
}

/// Takes a post off the schedule
///
/// Takes a scheduled post off the schedule; it stays approved and keeps no time. Needs publisher
/// access to the account.
#[utoipa::path(delete, path = "/api/v1/posts/{id}/schedule", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Approved, not scheduled", body = PostResponse), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not scheduled", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn unschedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let view = schedule::unschedule(&state.store, &caller.user, id, now).await?;
    Ok(Json(view.into()))
}

/// Lists what goes out when
///
/// The posts due or published between `from` and `to` (at most 62 days apart) on the accounts the
/// caller can see, oldest first. Both times are required.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "schedule", security(("token" = ["accounts:read"]), ("session" = [])), params(CalendarQuery),
    responses((status = 200, description = "Oldest first", body = [CalendarEntry]), (status = 422, description = "A time that is not RFC 3339, or `to` not after `from` or more than 62 days later", body = crate::http::Problem, content_type = "application/problem+json")))]
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

/// Reads an account's queue
///
/// The account's time zone and weekly queue slots, for anyone who may see the account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/queue", tag = "schedule", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The queue", body = Queue), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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

/// Replaces an account's queue
///
/// Replaces the account's time zone and weekly queue slots; needs publisher access to the account.
/// Posts already scheduled keep their times.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/queue", tag = "schedule", security(("token" = ["posts:write"]), ("session" = [])), request_body = Queue, params(("id" = i64, Path)),
    responses((status = 200, description = "The new queue", body = Queue), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A time zone the server does not know, or a slot outside the week or the day", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn set_queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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
