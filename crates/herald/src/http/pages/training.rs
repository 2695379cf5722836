//! The staff course (`/training`): its parts to read, each ending with questions answered by
//! radio buttons (no script needed), the score with every wrong answer explained, the owners'
//! editor and the list of who completed it (`/training/results`); and the policy's examples of
//! good and bad practice, each bad one with the guard's findings highlighted
//! (`/policy/examples`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::policy::markdown_to_safe_html;
use super::{Layout, PageError, message, render, status_of};
use crate::domain::access::Permission;
use crate::domain::training::{PASS_PERCENT, Question, Score};
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::services::AppError;
use crate::services::training::{self, Piece, Standing};

/// The pages' routes, merged into the router by `http/mod.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/training", get(page).post(answer))
        .route("/training/course", post(publish))
        .route("/training/results", get(results))
        .route("/policy/examples", get(examples).post(add_example))
        .route("/policy/examples/{id}/remove", post(remove_example))
}

#[derive(Template)]
#[template(path = "training.html")]
struct TrainingPage {
    layout: Layout,
    csrf: String,
    version: i64,
    published: bool,
    outstanding: bool,
    parts: Vec<PartView>,
    pass_percent: usize,
    /// The result of the attempt just made.
    score: Option<Score>,
    /// The owners' editor.
    markdown: Option<String>,
    error: Option<String>,
}

struct PartView {
    title: String,
    html: String,
    questions: Vec<Question>,
}

#[derive(Template)]
#[template(path = "training_results.html")]
struct ResultsPage {
    layout: Layout,
    members: Vec<Standing>,
}

#[derive(Template)]
#[template(path = "policy_examples.html")]
struct ExamplesPage {
    layout: Layout,
    csrf: String,
    examples: Vec<ExampleView>,
    is_owner: bool,
    error: Option<String>,
}

struct ExampleView {
    id: i64,
    good: bool,
    why: String,
    pieces: Vec<Piece>,
    findings: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct CourseForm {
    #[serde(default)]
    markdown: String,
}

#[derive(Debug, Deserialize)]
pub struct ExampleForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    why: String,
}

/// `/training`: the course to read and answer.
pub async fn page(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    course_view(&state, &caller, None, None, StatusCode::OK).await
}

async fn course_view(
    state: &AppState,
    caller: &Caller,
    score: Option<Score>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let in_force = training::course(&state.store).await?;
    let outstanding = training::outstanding(&state.store, &caller.user).await?;
    let page = TrainingPage {
        layout: Layout::signed_in("Staff course · Herald", "/policy", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        version: in_force.version,
        published: in_force.published,
        outstanding,
        parts: in_force
            .course
            .parts
            .into_iter()
            .map(|part| PartView {
                html: markdown_to_safe_html(&part.markdown),
                title: part.title,
                questions: part.questions,
            })
            .collect(),
        pass_percent: PASS_PERCENT,
        score,
        markdown: caller
            .require(Permission::ManagePolicy)
            .is_ok()
            .then_some(in_force.markdown),
        error,
    };
    Ok(render(status, &page))
}

/// The answers: `version` and `q{n}` = the index of the choice for question `n`.
pub async fn answer(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let version = field("version")
        .and_then(|value| value.parse().ok())
        .unwrap_or(-1);
    let mut answers: Vec<Option<usize>> = Vec::new();
    for (key, value) in &form {
        let Some(number) = key.strip_prefix('q').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        if number >= 1_000 {
            continue;
        }
        if answers.len() <= number {
            answers.resize(number + 1, None);
        }
        answers[number] = value.parse().ok();
    }
    let now = state.clock.now();
    match training::answer(&state.store, &caller.user, version, &answers, now).await {
        Ok(attempt) => {
            course_view(&state, &caller, Some(attempt.score), None, StatusCode::OK).await
        }
        Err(error @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
            let status = status_of(&error);
            course_view(&state, &caller, None, Some(message(error)), status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Publishes the owners' version of the course.
pub async fn publish(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<CourseForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    match training::publish(&state.store, &caller.user, &form.markdown, now).await {
        Ok(_) => Ok(Redirect::to("/training").into_response()),
        Err(error @ AppError::Invalid { .. }) => {
            let status = status_of(&error);
            course_view(&state, &caller, None, Some(message(error)), status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `/training/results`: who completed the course (owners).
pub async fn results(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewStaff)?;
    let page = ResultsPage {
        layout: Layout::signed_in("Staff course results · Herald", "/members", &caller),
        members: training::standing(&state.store).await?,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `/policy/examples`: the examples, bad ones with the guard's findings highlighted.
pub async fn examples(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::UsePolicy)?;
    examples_view(&state, &caller, None, StatusCode::OK).await
}

async fn examples_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let examples = training::examples(state, state.clock.now())
        .await?
        .into_iter()
        .map(|example| ExampleView {
            id: example.id,
            good: example.good,
            why: example.why,
            pieces: training::pieces(&example.text, &example.findings),
            findings: example
                .findings
                .into_iter()
                .map(|finding| finding.message)
                .collect(),
        })
        .collect();
    let page = ExamplesPage {
        layout: Layout::signed_in(
            "Examples of good and bad practice · Herald",
            "/policy",
            caller,
        ),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        examples,
        is_owner: caller.require(Permission::ManagePolicy).is_ok(),
        error,
    };
    Ok(render(status, &page))
}

pub async fn add_example(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<ExampleForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let added = training::add_example(
        &state.store,
        &caller.user,
        &form.text,
        &form.verdict,
        &form.why,
        now,
    )
    .await;
    match added {
        Ok(_) => Ok(Redirect::to("/policy/examples").into_response()),
        Err(error @ AppError::Invalid { .. }) => {
            let status = status_of(&error);
            examples_view(&state, &caller, Some(message(error)), status).await
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn remove_example(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManagePolicy)?;
    training::remove_example(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(Redirect::to("/policy/examples").into_response())
}
