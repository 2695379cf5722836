//! `/api/v1/me/profiles`, `/api/v1/staff/profiles` and `/api/v1/share…`: members' own profiles
//! on social networks (look-alikes of the company's accounts flagged to the owners), and
//! sharing the company's published posts through each network's own share link (issue 23).
//! Handlers are thin: `services::staff` does the work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::ids::{PostId, UserId};
use crate::domain::staff::Purpose;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::services::staff::{self, NewProfile, Profile};

/// One of a member's own profiles, to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"network": "linkedin", "handle": "jane-doe", "link": "https://www.linkedin.com/in/jane-doe", "purpose": "represents"}))]
pub struct NewProfileRequest {
    pub network: Network,
    /// The handle as the network spells it (`@jane@hachyderm.io` on Mastodon); each network has
    /// its own rule (see the request body's `oneOf`).
    pub handle: String,
    /// Where the profile is seen (https); left out, the network's usual address.
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^(https://[A-Za-z0-9.-][!-~]*)?$")]
    pub link: String,
    /// `personal` (own life only), `shares_news` (shares company news) or `represents` (speaks
    /// for the company).
    pub purpose: Purpose,
}

/// [`NewProfileRequest`] with each network's handle rule: what `POST /api/v1/me/profiles`
/// takes. Only the document uses it; the handler reads a `NewProfileRequest`.
#[derive(Debug)]
pub struct NewProfileByNetwork;

impl utoipa::PartialSchema for NewProfileByNetwork {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::schema::AllOfBuilder::new()
            .description(Some(
                "One of your own profiles, with each network's rule for its handle (as for a social account).",
            ))
            .examples([serde_json::json!({
                "network": "linkedin", "handle": "jane-doe", "purpose": "represents"
            })])
            .item(utoipa::openapi::Ref::from_schema_name(
                NewProfileRequest::name(),
            ))
            .item(super::accounts::handles_by_network())
            .into()
    }
}

impl ToSchema for NewProfileByNetwork {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
        schemas.push((
            NewProfileRequest::name().into(),
            <NewProfileRequest as utoipa::PartialSchema>::schema(),
        ));
        <NewProfileRequest as ToSchema>::schemas(schemas);
    }
}

/// One of a member's own profiles.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "user_id": 4, "network": "linkedin", "handle": "jane-doe", "link": "https://www.linkedin.com/in/jane-doe", "purpose": "represents", "lookalike": null}))]
pub struct ProfileView {
    pub id: i64,
    pub user_id: UserId,
    pub network: Network,
    pub handle: String,
    pub link: String,
    pub purpose: Purpose,
    /// Which of the company's accounts or names the handle imitates, in words; null when none.
    pub lookalike: Option<String>,
}

/// A member and their profiles, for the owners.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberProfilesView {
    pub user_id: UserId,
    pub name: String,
    pub profiles: Vec<ProfileView>,
    /// When they said they have no social media profiles of their own; null if they did not.
    #[schema(format = DateTime)]
    pub said_none_at: Option<String>,
    /// The policy in force asks for everyone's profiles, and they have neither listed one nor
    /// said they have none.
    pub outstanding: bool,
}

/// A published company post to share, with a share link per profile of the caller's that
/// shares company posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareableView {
    pub post_id: PostId,
    /// The network and handle of the company account it was published on.
    pub network: Network,
    pub account_handle: String,
    /// Where people see the post, when the network said.
    pub url: Option<String>,
    /// The words to share: the author's suggestion, else the post's own text.
    pub text: String,
    /// Whether `text` is the author's suggestion.
    pub suggested: bool,
    pub links: Vec<ShareLinkView>,
}

/// One share button.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLinkView {
    pub profile_id: i64,
    pub network: Network,
    pub handle: String,
    /// The network's own share page; `POST /api/v1/share/{post_id}/{profile_id}` counts the
    /// share and answers it too.
    pub intent_url: String,
}

/// Where to go to finish sharing.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"intent_url": "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fwww.linkedin.com%2Ffeed%2Fupdate%2F1"}))]
pub struct SharedView {
    /// The network's own share page, where the member confirms the post themselves.
    pub intent_url: String,
}

/// The author's suggested words for sharing a post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Our new menu is out, have a look!"}))]
pub struct SuggestionRequest {
    /// At most 250 characters; empty clears the suggestion. Checked by the policy guard.
    #[schema(max_length = 250)]
    pub text: String,
}

/// How often one member shared one post to one network.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareCountView {
    pub post_id: PostId,
    pub post_excerpt: String,
    pub member: String,
    pub network: Network,
    pub count: i64,
}

fn profile_view(profile: Profile) -> ProfileView {
    ProfileView {
        id: profile.id,
        user_id: profile.user_id,
        network: profile.network,
        handle: profile.handle,
        link: profile.link,
        purpose: profile.purpose,
        lookalike: profile.lookalike,
    }
}

/// Lists your own profiles
///
/// The caller's own profiles on social networks and what each is for. Any member (a session,
/// or a token with `staff`).
#[utoipa::path(get, path = "/api/v1/me/profiles", tag = "staff", operation_id = "list_my_profiles", security(("token" = ["staff"]), ("session" = [])),
    responses((status = 200, description = "Your profiles", body = Vec<ProfileView>)))]
pub async fn my_profiles(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProfileView>>, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let profiles = staff::my_profiles(&state.store, &caller.user).await?;
    Ok(Json(profiles.into_iter().map(profile_view).collect()))
}

/// Adds one of your own profiles
///
/// Lists one of the caller's own profiles and says what it is for. Herald holds no password or
/// token for it. A handle that looks like one of the company's accounts or names is kept,
/// marked in `lookalike`, and the owners are told. Audited.
#[utoipa::path(post, path = "/api/v1/me/profiles", tag = "staff", operation_id = "add_my_profile", security(("token" = ["staff"]), ("session" = [])), request_body = NewProfileByNetwork,
    responses(
        (status = 201, description = "Added", body = ProfileView),
        (status = 409, description = "Already listed, or too many profiles", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown network or purpose, a handle the network would not accept, or a link that is not https", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_profile(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewProfileRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let new = NewProfile {
        network: request.network.as_str(),
        handle: &request.handle,
        link: &request.link,
        purpose: request.purpose.as_str(),
    };
    let profile = staff::add_profile(&state, &caller.user, new, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(profile_view(profile))).into_response())
}

/// Removes one of your own profiles
///
/// Someone else's profile answers 404, as a missing one does. Audited.
#[utoipa::path(delete, path = "/api/v1/me/profiles/{id}", tag = "staff", operation_id = "remove_my_profile", security(("token" = ["staff"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 404, description = "You have no such profile", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_profile(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    staff::remove_profile(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Says you have no profiles of your own
///
/// What a policy that asks for everyone's own social media profiles
/// (`asks_for_staff_profiles`) asks of someone who has none. Refused while you have profiles
/// listed; adding one later takes it back. Any member. Audited.
#[utoipa::path(post, path = "/api/v1/me/no-profiles", tag = "staff", operation_id = "say_i_have_no_profiles", security(("token" = ["staff"]), ("session" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 409, description = "You have profiles listed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn say_no_profiles(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    staff::say_no_profiles(&state.store, &caller.user, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists every member's own profiles
///
/// Every active member with their profiles, look-alikes of the company's accounts marked.
/// Owners (a session, or a token with `members:read`).
#[utoipa::path(get, path = "/api/v1/staff/profiles", tag = "staff", operation_id = "list_staff_profiles", security(("token" = ["members:read"]), ("session" = [])),
    responses((status = 200, description = "Every member's profiles", body = Vec<MemberProfilesView>), (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json")))]
pub async fn everyones_profiles(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MemberProfilesView>>, ApiError> {
    caller.require(Permission::ViewStaff)?;
    let members = staff::everyones_profiles(&state.store).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|member| MemberProfilesView {
                user_id: member.user_id,
                name: member.name,
                profiles: member.profiles.into_iter().map(profile_view).collect(),
                said_none_at: member.said_none_at.map(|at| at.to_string()),
                outstanding: member.outstanding,
            })
            .collect(),
    ))
}

/// Lists the company's posts to share
///
/// The company's recently published posts, newest first, each with the caller's share links:
/// one per profile of theirs that shares company posts (not personal-only ones). Any member.
#[utoipa::path(get, path = "/api/v1/share", tag = "staff", operation_id = "list_shareable_posts", security(("token" = ["staff"]), ("session" = [])),
    responses((status = 200, description = "Posts to share", body = Vec<ShareableView>)))]
pub async fn shareable(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ShareableView>>, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let posts = staff::shareable(&state.store, &caller.user).await?;
    Ok(Json(
        posts
            .into_iter()
            .map(|shareable| ShareableView {
                post_id: shareable.post.id,
                network: shareable.network,
                account_handle: shareable.account_handle,
                url: shareable.post.remote_url,
                text: shareable.text,
                suggested: shareable.suggested,
                links: shareable
                    .links
                    .into_iter()
                    .map(|link| ShareLinkView {
                        profile_id: link.profile_id,
                        network: link.network,
                        handle: link.handle,
                        intent_url: link.intent_url,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// Shares a post to one of your profiles
///
/// Counts the share and answers the network's own share page for the post, to open in the
/// browser where the member confirms it. Only the caller's own profiles that share company
/// posts; only published posts. Audited.
#[utoipa::path(post, path = "/api/v1/share/{post_id}/{profile_id}", tag = "staff", operation_id = "share_post", security(("token" = ["staff"]), ("session" = [])), params(("post_id" = i64, Path), ("profile_id" = i64, Path)),
    responses(
        (status = 200, description = "Counted; open `intent_url`", body = SharedView),
        (status = 403, description = "The profile is for personal things only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published post, or no such profile of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The network shares a link only and the post has none", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn share(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((post_id, profile_id)): ApiPath<(PostId, i64)>,
) -> Result<Json<SharedView>, ApiError> {
    caller.require(Permission::UseStaffTools)?;
    let now = state.clock.now();
    let intent_url = staff::share(&state.store, &caller.user, post_id, profile_id, now).await?;
    Ok(Json(SharedView { intent_url }))
}

/// Suggests words for sharing a post
///
/// The post's author (or an owner) suggests what staff say when they share it. The policy
/// guard checks the words first: anything it would block or send for approval is refused
/// (409), since staff post them without approval. An empty text clears the suggestion.
#[utoipa::path(put, path = "/api/v1/share/{post_id}/text", tag = "staff", operation_id = "suggest_share_text", security(("token" = ["posts:write"]), ("session" = [])), request_body = SuggestionRequest, params(("post_id" = i64, Path)),
    responses(
        (status = 204, description = "Saved"),
        (status = 403, description = "Not the post's author or an owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The policy does not allow these words; `detail` says why", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Longer than 250 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(post_id): ApiPath<PostId>,
    ApiJson(request): ApiJson<SuggestionRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    staff::suggest_text(&state, &caller.user, post_id, &request.text, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Counts the shares
///
/// How many times each member shared each post to each network. Owners (a session, or a token
/// with `members:read`).
#[utoipa::path(get, path = "/api/v1/share/counts", tag = "staff", operation_id = "share_counts", security(("token" = ["members:read"]), ("session" = [])),
    responses((status = 200, description = "The counts", body = Vec<ShareCountView>), (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json")))]
pub async fn counts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ShareCountView>>, ApiError> {
    caller.require(Permission::ViewStaff)?;
    let tallies = staff::tallies(&state.store).await?;
    Ok(Json(
        tallies
            .into_iter()
            .map(|tally| ShareCountView {
                post_id: tally.post_id,
                post_excerpt: tally.post_excerpt,
                member: tally.member,
                network: tally.network,
                count: tally.count,
            })
            .collect(),
    ))
}
