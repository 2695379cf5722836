//! The composer and a post's page: write a post for one account (counted live the way its
//! network counts, checked live against the policy), save or submit it; see a post's state
//! and history, and approve or send it back.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use crate::accounts;
use crate::domain::access::{AccountAction, Permission, check_account};
use crate::domain::accounts::AccountLevel;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState, assets};
use crate::people::PeopleError;
use crate::posts::{self, PostView};

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposePage {
    layout: Layout,
    csrf: String,
    /// (id, name, network id, network label, handle) of accounts the caller may write for.
    accounts: Vec<(i64, String, &'static str, &'static str, String)>,
    chosen: i64,
    text: String,
    error: Option<String>,
    script: String,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    layout: Layout,
    csrf: String,
    view: PostView,
    account_name: String,
    network: &'static str,
    handle: String,
    colour: String,
    is_author: bool,
    may_review: bool,
    error: Option<String>,
    script: String,
}

#[derive(Debug, Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    account_id: i64,
    #[serde(default)]
    text: String,
    /// "save" keeps it a draft; "submit" also submits it.
    #[serde(default)]
    intent: String,
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    override_reason: String,
}

pub async fn compose(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    compose_view(&state, &caller, 0, String::new(), None).await
}

pub async fn compose_submit(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<ComposeForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let created = posts::create(&state.store, &caller.user, form.account_id, &form.text, now).await;
    let view = match created {
        Ok(view) => view,
        // Whatever went wrong, the text comes back in the composer: nothing typed is lost.
        Err(error) => {
            let shown = Some(message(error));
            return compose_view(&state, &caller, form.account_id, form.text, shown).await;
        }
    };
    let id = view.post.id;
    if form.intent == "submit"
        && let Err(error) = posts::submit(
            &state.store,
            &state.policy,
            &caller.user,
            id,
            None,
            state.config.jobs.max_attempts,
            now,
        )
        .await
    {
        return post_view(
            &state,
            &caller,
            id,
            Some(message(error)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    Ok(Redirect::to(&format!("/posts/{id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    post_view(&state, &caller, id, None, StatusCode::OK).await
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let reason = Some(form.override_reason.as_str()).filter(|reason| !reason.trim().is_empty());
    let result = posts::submit(
        &state.store,
        &state.policy,
        &caller.user,
        id,
        reason,
        state.config.jobs.max_attempts,
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result).await
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let max_attempts = state.config.jobs.max_attempts;
    let result = posts::approve(
        &state.store,
        &caller.user,
        id,
        max_attempts,
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result).await
}

pub async fn send_back(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let result = posts::send_back(
        &state.store,
        &caller.user,
        id,
        &form.note,
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result).await
}

async fn after_step(
    state: &AppState,
    caller: &Caller,
    id: i64,
    result: Result<PostView, PeopleError>,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/posts/{id}")).into_response()),
        Err(PeopleError::NotFound(message)) => Err(ApiError::NotFound(message).into()),
        Err(error) => {
            let status = status_of(&error);
            post_view(state, caller, id, Some(message(error)), status).await
        }
    }
}

async fn compose_view(
    state: &AppState,
    caller: &Caller,
    chosen: i64,
    text: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    let writable = accounts::visible(&state.store, &caller.user)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .filter(|visible| {
            check_account(caller.user.role, visible.level, AccountAction::Draft).is_ok()
        })
        .map(|visible| {
            let account = visible.account;
            (
                account.id,
                account.display_name,
                account.network.as_str(),
                account.network.label(),
                account.handle,
            )
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ComposePage {
        layout: Layout::signed_in("Write a post · Herald", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        accounts: writable,
        chosen,
        text,
        error,
        script: assets::url("draft.js"),
    };
    Ok(render(status, &page))
}

async fn post_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let view = posts::view(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let visible = accounts::open(
        &state.store,
        &caller.user,
        view.post.account_id,
        AccountAction::View,
    )
    .await
    .map_err(ApiError::from)?;
    let is_author = view.post.author_id == caller.user.id;
    let account = visible.account;
    let page = PostPage {
        layout: Layout::signed_in("Post · Herald", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        account_name: account.display_name,
        network: account.network.label(),
        handle: account.handle,
        colour: account.avatar_colour,
        is_author,
        may_review: !is_author && visible.level >= Some(AccountLevel::Publisher),
        view,
        error,
        script: assets::url("colours.js"),
    };
    Ok(render(status, &page))
}
