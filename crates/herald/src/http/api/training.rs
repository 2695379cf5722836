//! `/api/v1/training…` and `/api/v1/policy/examples`: the staff course (taking it, the owners'
//! editor, who completed it) and the policy's examples of good and bad practice with the
//! guard's findings (issue 23). Handlers are thin: `services::training` does the work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::ids::UserId;
use crate::domain::people::Role;
use crate::http::api::policy::{FindingView, finding_view};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::services::training;

/// The course as a member takes it: never the right answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseView {
    /// The version to name when answering; 0 for the built-in course before an owner publishes
    /// one.
    pub version: i64,
    /// Whether an owner published it: only then must members pass it before posting.
    pub published: bool,
    /// Whether the caller must still pass it before posting.
    pub outstanding: bool,
    pub parts: Vec<PartView>,
    /// The Markdown as saved, for owners editing it; absent for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// One part of the course.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartView {
    pub title: String,
    /// The part's text, Markdown.
    pub markdown: String,
    pub questions: Vec<QuestionView>,
}

/// One question; answer it with the index of a choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionView {
    /// Its place in `answers`, counted from 0 across the course.
    pub number: usize,
    pub prompt: String,
    pub choices: Vec<String>,
}

/// Answers to the course.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 1, "answers": [1, 1, 1, 0, 1, 1, 0, 1]}))]
pub struct AnswersRequest {
    /// The version answered (from `GET /api/v1/training`).
    pub version: i64,
    /// For each question by number, the index of the choice given (null: not answered). An
    /// index past the question's choices is a wrong answer.
    #[serde(deserialize_with = "choice_indexes")]
    pub answers: Vec<Option<usize>>,
}

/// Reads the answers' choice indexes. A whole number too large for this machine (JSON allows
/// any size, and `1.0` is a whole number too) names no choice, so it is a wrong answer rather
/// than a refusal; a negative or fractional one is refused.
fn choice_indexes<'de, D>(deserializer: D) -> Result<Vec<Option<usize>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let values: Vec<Option<serde_json::Number>> = Deserialize::deserialize(deserializer)?;
    values
        .into_iter()
        .map(|value| {
            let Some(number) = value else {
                return Ok(None);
            };
            if let Some(index) = number.as_u64() {
                return Ok(Some(usize::try_from(index).unwrap_or(usize::MAX)));
            }
            match number.as_f64() {
                Some(whole) if whole >= 0.0 && whole.fract() == 0.0 => {
                    // Exact below 2^53; anything larger names no choice anyway.
                    Ok(Some(if whole < 1e15 {
                        whole as usize
                    } else {
                        usize::MAX
                    }))
                }
                _ => Err(serde::de::Error::custom(format!(
                    "{number} is not the index of a choice (a whole number from 0)"
                ))),
            }
        })
        .collect()
}

/// How the attempt went, with every wrong answer explained.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    pub right: usize,
    pub total: usize,
    pub passed: bool,
    /// Whether the caller may now post.
    pub complete: bool,
    pub wrong: Vec<WrongView>,
}

/// A question answered wrongly, and why the right choice is right.
#[derive(Debug, Serialize, ToSchema)]
pub struct WrongView {
    pub number: usize,
    pub prompt: String,
    pub right_choice: String,
    pub why: String,
}

/// A new version of the course.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"markdown": "# The policy in brief\nNever post a customer's phone number.\n\n??? May you post a customer's phone number?\n- [ ] Yes\n- [x] No\n> It is personal data.\n"}))]
pub struct CourseRequest {
    /// Parts start with `# `, questions with `??? `, choices `- [ ]` / `- [x]`, why `> `.
    pub markdown: String,
}

/// The version published.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedView {
    pub version: i64,
}

/// One member's standing in the course.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingView {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// Passed for the policy version in force: they may post.
    pub complete: bool,
    /// The latest attempt's score, if any.
    pub latest_right: Option<i64>,
    pub latest_total: Option<i64>,
    /// When they last passed, Unix milliseconds.
    pub passed_at: Option<i64>,
}

/// An example post of good or bad practice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Congrats to Ann Smith (07700 900123) on her order!", "verdict": "bad", "why": "Names a customer and their phone number."}))]
pub struct ExampleRequest {
    /// 1 to 3000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 3000,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub text: String,
    pub verdict: ExampleVerdict,
    /// Why, in a sentence or two: 1 to 500 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub why: String,
}

/// Whether an example shows good or bad practice.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExampleVerdict {
    Good,
    Bad,
}

/// An example with what the policy guard finds in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExampleView {
    pub id: i64,
    pub text: String,
    /// `good` or `bad`.
    pub verdict: String,
    pub why: String,
    pub findings: Vec<FindingView>,
}

fn example_view(example: training::Example) -> ExampleView {
    ExampleView {
        id: example.id,
        verdict: if example.good { "good" } else { "bad" }.to_owned(),
        text: example.text,
        why: example.why,
        findings: example.findings.into_iter().map(finding_view).collect(),
    }
}

/// Reads the staff course
///
/// The course in force (the built-in one until an owner publishes their own), its examples
/// made from the company's own names, and whether the caller must still pass it before
/// posting. Owners also get the Markdown to edit. Any member.
#[utoipa::path(get, path = "/api/v1/training", tag = "staff", operation_id = "read_course", security(("token" = ["staff"]), ("session" = [])),
    responses((status = 200, description = "The course", body = CourseView)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CourseView>, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let in_force = training::course(&state.store).await?;
    let outstanding = training::outstanding(&state.store, &caller.user).await?;
    Ok(Json(CourseView {
        version: in_force.version,
        published: in_force.published,
        outstanding,
        markdown: (caller.user.role == Role::Owner).then_some(in_force.markdown),
        parts: in_force
            .course
            .parts
            .into_iter()
            .map(|part| PartView {
                title: part.title,
                markdown: part.markdown,
                questions: part
                    .questions
                    .into_iter()
                    .map(|question| QuestionView {
                        number: question.number,
                        prompt: question.prompt,
                        choices: question.choices,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// Answers the staff course
///
/// Scores the answers to the version named, records the attempt and explains every wrong
/// answer. 75% right passes; passing lets the caller post until the policy's version changes.
#[utoipa::path(post, path = "/api/v1/training/answers", tag = "staff", operation_id = "answer_course", security(("token" = ["staff"]), ("session" = [])), request_body = AnswersRequest,
    responses(
        (status = 200, description = "The score", body = ScoreView),
        (status = 409, description = "The course changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AnswersRequest>,
) -> Result<Json<ScoreView>, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let now = state.clock.now();
    let attempt = training::answer(
        &state.store,
        &caller.user,
        request.version,
        &request.answers,
        now,
    )
    .await?;
    Ok(Json(ScoreView {
        right: attempt.score.right,
        total: attempt.score.total,
        passed: attempt.score.passed,
        complete: attempt.complete,
        wrong: attempt
            .score
            .wrong
            .into_iter()
            .map(|wrong| WrongView {
                number: wrong.number,
                prompt: wrong.prompt,
                right_choice: wrong.right_choice,
                why: wrong.why,
            })
            .collect(),
    }))
}

/// Publishes a new version of the course
///
/// Owners, from a browser session. From then on every member passes the course before they
/// post. A course that does not read is refused whole, naming the line. Audited; members are
/// notified.
#[utoipa::path(put, path = "/api/v1/training/course", tag = "staff", operation_id = "publish_course", security(("session" = [])), request_body = CourseRequest,
    responses(
        (status = 200, description = "Published", body = PublishedView),
        (status = 403, description = "Not an owner, or an API token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The course does not read; `detail` names the line", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CourseRequest>,
) -> Result<Json<PublishedView>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let version = training::publish(&state.store, &caller.user, &request.markdown, now).await?;
    Ok(Json(PublishedView { version }))
}

/// Lists who completed the course
///
/// Every active member: whether they passed for the policy in force, their latest score and
/// when they passed. Owners (a session, or a token with `members:read`).
#[utoipa::path(get, path = "/api/v1/training/results", tag = "staff", operation_id = "course_results", security(("token" = ["members:read"]), ("session" = [])),
    responses((status = 200, description = "Each member's standing", body = Vec<StandingView>), (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json")))]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StandingView>>, ApiError> {
    caller.require(Permission::ViewStaff)?;
    let standing = training::standing(&state.store).await?;
    Ok(Json(
        standing
            .into_iter()
            .map(|member| StandingView {
                user_id: member.user_id,
                name: member.name,
                email: member.email,
                complete: member.complete,
                latest_right: member.latest.as_ref().map(|latest| latest.right),
                latest_total: member.latest.as_ref().map(|latest| latest.total),
                passed_at: member
                    .passed
                    .map(|passed| passed.completed_at.as_millisecond()),
            })
            .collect(),
    ))
}

/// Lists the policy's examples
///
/// Example posts of good and bad practice with why, each with what the policy guard finds in
/// it now (the rules in force). Any member (a session, or a token with `policy:read`).
#[utoipa::path(get, path = "/api/v1/policy/examples", tag = "policy", operation_id = "list_policy_examples", security(("token" = ["policy:read"]), ("session" = [])),
    responses((status = 200, description = "The examples", body = Vec<ExampleView>)))]
pub async fn examples(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ExampleView>>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let examples = training::examples(&state, state.clock.now()).await?;
    Ok(Json(examples.into_iter().map(example_view).collect()))
}

/// Adds an example to the policy
///
/// An example post marked good or bad practice, with why. Owners, from a browser session.
/// Audited.
#[utoipa::path(post, path = "/api/v1/policy/examples", tag = "policy", operation_id = "add_policy_example", security(("session" = [])), request_body = ExampleRequest,
    responses(
        (status = 201, description = "Added", body = ExampleView),
        (status = 403, description = "Not an owner, or an API token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long, or a verdict other than good or bad", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_example(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ExampleRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let verdict = match request.verdict {
        ExampleVerdict::Good => "good",
        ExampleVerdict::Bad => "bad",
    };
    let id = training::add_example(
        &state.store,
        &caller.user,
        &request.text,
        verdict,
        &request.why,
        now,
    )
    .await?;
    let example = training::examples(&state, now)
        .await?
        .into_iter()
        .find(|example| example.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no example {id}")))?;
    Ok((StatusCode::CREATED, Json(example_view(example))).into_response())
}

/// Removes an example from the policy
///
/// Owners, from a browser session. Audited.
#[utoipa::path(delete, path = "/api/v1/policy/examples/{id}", tag = "policy", operation_id = "remove_policy_example", security(("session" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not an owner, or an API token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such example", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_example(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    training::remove_example(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
