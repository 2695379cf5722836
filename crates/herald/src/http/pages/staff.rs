//! "You and your own networks" (`/staff`): a member's own profiles and what each is for; the
//! owners' list of everyone's profiles, look-alikes marked, with the share counts
//! (`/staff/profiles`); and the share page (`/share`), whose buttons go through
//! `/share/{post}/{profile}` to count the click before the network's own share page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::ids::{PostId, UserId};
use crate::domain::staff::Purpose;
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::services::AppError;
use crate::services::staff::{
    self, MemberProfiles, NewProfile, OwnProfilesStanding, Profile, ShareTally, Shareable,
};

/// The pages' routes, merged into the router by `http/mod.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(page))
        .route("/staff/profiles", get(everyone).post(add))
        .route("/staff/profiles/{id}/remove", post(remove))
        .route("/staff/no-profiles", post(say_none))
        .route("/share", get(share_page))
        .route("/share/{post_id}/{profile_id}", get(share))
        .route("/share/{post_id}/text", post(suggest))
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    layout: Layout,
    csrf: String,
    profiles: Vec<Profile>,
    networks: Vec<(&'static str, &'static str)>,
    purposes: Vec<(&'static str, &'static str)>,
    typed: Typed,
    error: Option<String>,
    is_owner: bool,
    /// What the policy asks of this member about their own profiles.
    standing: OwnProfilesStanding,
}

/// What the member typed, shown again when it was refused.
#[derive(Debug, Default, Deserialize)]
pub struct Typed {
    #[serde(default)]
    network: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    purpose: String,
}

#[derive(Template)]
#[template(path = "staff_profiles.html")]
struct EveryonePage {
    layout: Layout,
    members: Vec<MemberProfiles>,
    tallies: Vec<ShareTally>,
    /// The policy in force asks every member for their own profiles.
    asked: bool,
}

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    layout: Layout,
    csrf: String,
    posts: Vec<Shareable>,
    has_sharing_profile: bool,
    user_id: UserId,
    is_owner: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SuggestionForm {
    #[serde(default)]
    text: String,
}

/// `/staff`: the member's own profiles and the form to add one.
pub async fn page(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    staff_view(&state, &caller, Typed::default(), None, StatusCode::OK).await
}

async fn staff_view(
    state: &AppState,
    caller: &Caller,
    typed: Typed,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let profiles = staff::my_profiles(&state.store, &caller.user).await?;
    let standing = staff::own_profiles_standing(&state.store, &caller.user).await?;
    let page = StaffPage {
        standing,
        layout: Layout::signed_in("Your own networks · Herald", "/policy", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        profiles,
        networks: Network::ALL
            .into_iter()
            .map(|network| (network.as_str(), network.label()))
            .collect(),
        purposes: Purpose::ALL
            .into_iter()
            .map(|purpose| (purpose.as_str(), purpose.label()))
            .collect(),
        typed,
        error,
        is_owner: caller.require(Permission::ViewStaff).is_ok(),
    };
    Ok(render(status, &page))
}

/// Adds one of the member's own profiles.
pub async fn add(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<Typed>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    let new = NewProfile {
        network: &form.network,
        handle: &form.handle,
        link: &form.link,
        purpose: &form.purpose,
    };
    match staff::add_profile(&state, &caller.user, new, state.clock.now()).await {
        Ok(_) => Ok(Redirect::to("/staff").into_response()),
        Err(error @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = status_of(&error);
            staff_view(&state, &caller, form, Some(message(error)), status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Removes one of the member's own profiles.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    staff::remove_profile(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(Redirect::to("/staff").into_response())
}

/// "I have no social media profiles of my own", what the policy asks of someone with none.
pub async fn say_none(
    State(state): State<AppState>,
    CsrfForm { caller, .. }: CsrfForm<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    match staff::say_no_profiles(&state.store, &caller.user, state.clock.now()).await {
        Ok(()) => Ok(Redirect::to("/staff").into_response()),
        Err(error @ AppError::Conflict(_)) => {
            let status = status_of(&error);
            staff_view(
                &state,
                &caller,
                Typed::default(),
                Some(message(error)),
                status,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// `/staff/profiles`: everyone's profiles and shares (owners).
pub async fn everyone(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewStaff)?;
    let page = EveryonePage {
        layout: Layout::signed_in("Staff profiles and shares · Herald", "/members", &caller),
        members: staff::everyones_profiles(&state.store).await?,
        tallies: staff::tallies(&state.store).await?,
        asked: staff::profiles_asked(&state.store).await?,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `/share`: the company's recently published posts, with a share button per profile.
pub async fn share_page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    share_view(&state, &caller, None, StatusCode::OK).await
}

async fn share_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let profiles = staff::my_profiles(&state.store, &caller.user).await?;
    let page = SharePage {
        layout: Layout::signed_in("Share company posts · Herald", "/posts", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        posts: staff::shareable(&state.store, &caller.user).await?,
        has_sharing_profile: profiles
            .iter()
            .any(|profile| profile.purpose.shares_company_posts()),
        user_id: caller.user.id,
        is_owner: caller.require(Permission::ViewStaff).is_ok(),
        error,
    };
    Ok(render(status, &page))
}

/// A share button: counts the click, then sends the member on (303) to the network's own
/// share page. The address comes from the service, which only ever answers a network's share
/// host or the member's own Mastodon server, never one the request names.
pub async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path((post_id, profile_id)): Path<(PostId, i64)>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseStaffTools)?;
    let now = state.clock.now();
    let intent = staff::share(&state.store, &caller.user, post_id, profile_id, now).await?;
    // The layout's Referrer-Policy (same-origin) keeps Herald's address from the network.
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, intent)]).into_response())
}

/// The author's suggested words for sharing their post.
pub async fn suggest(
    State(state): State<AppState>,
    Path(post_id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<SuggestionForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    match staff::suggest_text(&state, &caller.user, post_id, &form.text, now).await {
        Ok(()) => Ok(Redirect::to("/share").into_response()),
        Err(error @ (AppError::Invalid { .. } | AppError::Denied(_) | AppError::Conflict(_))) => {
            let status = status_of(&error);
            share_view(&state, &caller, Some(message(error)), status).await
        }
        Err(error) => Err(error.into()),
    }
}
