//! `/api/v1` routes for setup, signing in and out, the caller's own account, members,
//! invitations and API tokens. Each handler extracts, calls `crate::people`, and answers.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::{Permission, Scope};
use crate::domain::password::{self, Strength};
use crate::domain::people::Role;
use crate::http::auth::{
    Caller, ClientIp, SignInOrigin, Via, cleared_session_cookie, device_cookie_header,
    session_cookie_header,
};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::people::enrolment::{self, Enrolment};
use crate::people::invitations::{self, AcceptRequest};
use crate::people::login::{self, LoginRequest, SignedIn};
use crate::people::setup::{self, SetupRequest, Welcome};
use crate::people::{members, tokens};
use crate::store::{ApiTokenRecord, UserRecord};

/// A member, as anyone allowed to see members sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
}

/// Signed in: the member, and the token to send as `X-CSRF-Token` with state-changing requests.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub user: UserView,
    pub csrf_token: String,
    /// Only right after setup or accepting an invitation: shown once, store them safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub organisation: String,
    pub recovery_codes_left: i64,
    /// Present when signed in with a browser session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetupQuery {
    /// The first owner's email address; the authenticator entry is labelled with it.
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct StrengthRequest {
    pub password: String,
    /// Words from the person's own details (email, name), which make a password weaker.
    #[serde(default)]
    pub personal: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    pub email: String,
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub email: String,
    pub role: Role,
    /// The single-use link to give the invitee. Shown once.
    pub link: String,
    /// A `mailto:` link that opens an email with the invitation in it.
    pub mailto: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct OpenInvitationView {
    pub email: String,
    pub role: Role,
    pub organisation: String,
    pub enrolment: Enrolment,
}

/// A deactivated member and the accounts whose credentials to rotate now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepartedView {
    pub member: UserView,
    /// Accounts this member kept as gatekeeper (and so could reveal): change their passwords,
    /// and name a new gatekeeper.
    pub rotate_now: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleChange {
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndedSessions {
    pub sessions_ended: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTokenRequest {
    pub name: String,
    /// What the token may do; see `Scope` for what each allows.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// 1 to 366.
    pub expires_in_days: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenView {
    pub token: TokenView,
    /// The bearer secret. Shown once; Herald keeps only a hash.
    pub secret: String,
}

impl From<&UserRecord> for UserView {
    fn from(user: &UserRecord) -> UserView {
        UserView {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            active: user.active,
            created_at: user.created_at.to_string(),
        }
    }
}

impl From<ApiTokenRecord> for TokenView {
    fn from(token: ApiTokenRecord) -> TokenView {
        TokenView {
            id: token.id,
            name: token.name,
            scopes: token.scopes,
            created_at: token.created_at.to_string(),
            expires_at: token.expires_at.to_string(),
            last_used_at: token.last_used_at.map(|at| at.to_string()),
            revoked: token.revoked,
        }
    }
}

/// Answers a fresh sign-in: the session cookie, and the session's view.
pub(super) fn signed_in(
    state: &AppState,
    status: StatusCode,
    signed_in: SignedIn,
    recovery_codes: Option<Vec<String>>,
) -> Response {
    let max_age = state.config.sessions.absolute_hours * 3600;
    let cookie = session_cookie_header(
        &signed_in.session_token,
        state.config.served_over_tls(),
        max_age,
    );
    let device = signed_in
        .device_cookie
        .as_deref()
        .map(|value| device_cookie_header(value, state.config.served_over_tls()));
    let view = SessionView {
        user: UserView::from(&signed_in.user),
        csrf_token: signed_in.csrf_token,
        recovery_codes,
    };
    let mut response = (status, [(header::SET_COOKIE, cookie)], Json(view)).into_response();
    if let Some(device) = device.and_then(|value| header::HeaderValue::from_str(&value).ok()) {
        response.headers_mut().append(header::SET_COOKIE, device);
    }
    response
}

pub(super) fn welcome(state: &AppState, welcome: Welcome) -> Response {
    let codes = welcome
        .recovery_codes
        .iter()
        .map(|code| code.as_str().to_owned())
        .collect();
    signed_in(state, StatusCode::CREATED, welcome.signed_in, Some(codes))
}

/// Starts first-run setup: a new authenticator secret for the first owner.
#[utoipa::path(get, path = "/api/v1/setup", tag = "people", params(("email" = String, Query, description = "The first owner's email address")),
    responses(
        (status = 200, description = "Setup is needed; add this to an authenticator app", body = Enrolment),
        (status = 409, description = "Already set up", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn setup_start(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SetupQuery>,
) -> Result<Json<Enrolment>, ApiError> {
    if !setup::needed(&state.store).await? {
        return Err(crate::people::PeopleError::AlreadySetUp.into());
    }
    let email =
        crate::domain::people::Email::parse(&query.email).map_err(|error| ApiError::Invalid {
            field: "email",
            message: error.to_string(),
        })?;
    Ok(Json(enrolment::start(
        &state.keys,
        "Herald",
        email.as_str(),
        state.clock.now(),
    )))
}

/// Completes first-run setup: creates the organisation and its first owner, signed in.
#[utoipa::path(post, path = "/api/v1/setup", tag = "people", request_body = SetupRequest,
    responses(
        (status = 201, description = "Set up; the owner is signed in (session cookie set)", body = SessionView),
        (status = 409, description = "Already set up", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it (`setup_code` when the setup code is missing or wrong)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong setup codes from this address; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn setup_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<SetupRequest>,
) -> Result<Response, ApiError> {
    let done = setup::run(
        &state.store,
        &state.keys,
        &state.config,
        &request,
        ip,
        state.clock.now(),
    )
    .await?;
    Ok(welcome(&state, done))
}

/// Signs in with email, password and an authenticator or recovery code.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "people", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (session cookie set, and a device cookie that exempts this browser from other people's failed sign-ins)", body = SessionView),
        (status = 401, description = "Email, password or code not right", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let done = login::login(
        &state.store,
        &state.keys,
        &state.config,
        &request,
        origin.from(),
        state.clock.now(),
    )
    .await?;
    Ok(signed_in(&state, StatusCode::OK, done, None))
}

/// Signs out of this session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "people", security(("session" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    if let Via::Session { cookie, .. } = &caller.via {
        login::logout(&state.store, caller.user.id, cookie, state.clock.now()).await?;
    }
    let cleared = cleared_session_cookie(state.config.served_over_tls());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response())
}

/// Ends every session of the caller, on every device.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "people", security(("session" = [])),
    responses((status = 200, description = "Every session ended", body = EndedSessions), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn logout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    let sessions_ended =
        login::logout_everywhere(&state.store, caller.user.id, state.clock.now()).await?;
    let cleared = cleared_session_cookie(state.config.served_over_tls());
    Ok((
        [(header::SET_COOKIE, cleared)],
        Json(EndedSessions { sessions_ended }),
    )
        .into_response())
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("token" = ["me:read"]), ("session" = [])),
    responses((status = 200, description = "Who you are", body = MeView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<MeView>, ApiError> {
    caller.require(Permission::ViewOwnAccount)?;
    Ok(Json(MeView {
        user: UserView::from(&caller.user),
        organisation: state.store.organisation_name().await?,
        recovery_codes_left: state
            .store
            .recovery_codes_left(caller.user.id)
            .await
            .map_err(ApiError::internal)?,
        csrf_token: caller.csrf_token().map(str::to_owned),
    }))
}

/// How strong a password looks (0–4), for live feedback while typing. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/password-strength", tag = "people", request_body = StrengthRequest,
    responses((status = 200, description = "The estimate", body = Strength)))]
pub async fn password_strength(ApiJson(request): ApiJson<StrengthRequest>) -> Json<Strength> {
    // Bounded, so this public endpoint cannot be made to do unbounded work.
    let personal: Vec<&str> = request
        .personal
        .iter()
        .take(10)
        .map(|word| word.get(..word.len().min(100)).unwrap_or(""))
        .collect();
    Json(password::strength(&request.password, &personal))
}

/// Every member, active first.
#[utoipa::path(get, path = "/api/v1/members", tag = "people", security(("token" = ["members:read"]), ("session" = [])),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "Members", body = [UserView]), (status = 403, description = "Needs admin or owner", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Permission::ViewMembers)?;
    let users = state.store.list_users().await.map_err(ApiError::internal)?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Changes a member's role. Only owners change owners or make new ones; one owner must remain.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "people", security(("token" = ["members:write"]), ("session" = [])), request_body = RoleChange, params(("id" = i64, Path)),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "Changed", body = UserView), (status = 403, description = "Not allowed", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Would leave no owner", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let member = members::change_role(
        &state.store,
        &caller.user,
        id,
        change.role,
        state.clock.now(),
    )
    .await?;
    Ok(Json(UserView::from(&member)))
}

/// Offboards a member: ends their sessions, revokes their API tokens and account access at
/// once, and marks "rotate now" every account whose credentials they could reveal.
#[utoipa::path(post, path = "/api/v1/members/{id}/deactivate", tag = "people", security(("token" = ["members:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "Deactivated", body = DepartedView), (status = 403, description = "Not allowed", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already deactivated, yourself, or the last owner", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DepartedView>, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let departed = members::deactivate(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(Json(DepartedView {
        member: UserView::from(&departed.member),
        rotate_now: departed.rotate_now,
    }))
}

/// Invites someone by a single-use link that expires.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "people", security(("token" = ["members:write"]), ("session" = [])), request_body = InviteRequest,
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 201, description = "Invitation created; give the link to the invitee", body = InvitationView), (status = 403, description = "Not allowed", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already a member", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<InviteRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let invited = invitations::invite(
        &state.store,
        &state.config,
        &caller.user,
        &request.email,
        request.role,
        state.clock.now(),
    )
    .await?;
    let view = invitation_view(&state, &headers, &invited);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Opens an invitation link: who it is for, and a new authenticator secret for them.
#[utoipa::path(get, path = "/api/v1/invitations/{token}", tag = "people", params(("token" = String, Path)),
    responses((status = 200, description = "The invitation can be accepted", body = OpenInvitationView), (status = 410, description = "Expired or already used", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn open_invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<OpenInvitationView>, ApiError> {
    let now = state.clock.now();
    let invitation = invitations::open(&state.store, &token, now).await?;
    Ok(Json(OpenInvitationView {
        enrolment: enrolment::start(&state.keys, "Herald", &invitation.email, now),
        organisation: state.store.organisation_name().await?,
        email: invitation.email,
        role: invitation.role,
    }))
}

/// Accepts an invitation: the new member chooses a password and enrols an authenticator.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "people", request_body = AcceptRequest, params(("token" = String, Path)),
    responses((status = 201, description = "Joined and signed in (session cookie set)", body = SessionView), (status = 410, description = "Expired or already used", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A field is not acceptable", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(token): ApiPath<String>,
    ApiJson(request): ApiJson<AcceptRequest>,
) -> Result<Response, ApiError> {
    let done = invitations::accept(
        &state.store,
        &state.keys,
        &state.config,
        &token,
        &request,
        &ip.to_string(),
        state.clock.now(),
    )
    .await?;
    Ok(welcome(&state, done))
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "people", security(("session" = [])),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "Tokens (never their secrets)", body = [TokenView]), (status = 403, description = "Tokens cannot list tokens", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    let tokens = state
        .store
        .list_api_tokens(caller.user.id)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Creates an API token. Its secret is in this answer and nowhere else, ever.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", security(("session" = [])), request_body = NewTokenRequest,
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 201, description = "Created", body = NewTokenView), (status = 422, description = "A field is not acceptable", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewTokenRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    let (token, secret) = tokens::create(
        &state.store,
        &caller.user,
        &request.name,
        &request.scopes,
        request.expires_in_days,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenView {
            token: TokenView::from(token),
            secret,
        }),
    )
        .into_response())
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people", security(("session" = [])), params(("id" = i64, Path)),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 204, description = "Revoked"), (status = 404, description = "No such active token of yours", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnTokens)?;
    tokens::revoke(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The link and mailto for an invitation, on the address people reach Herald by.
pub fn invitation_view(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    invited: &invitations::Invited,
) -> InvitationView {
    let base = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("127.0.0.1:8080");
            format!("http://{host}")
        }
    };
    let link = format!("{base}/invite/{}", invited.token);
    let body = format!(
        "You are invited to join our team on Herald. Open this link to choose a password and set up your authenticator app (it can be used once, until {}):\n\n{link}",
        invited.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    );
    let mailto = format!(
        "mailto:{}?subject={}&body={}",
        urlencode(&invited.email).replace("%40", "@"),
        urlencode("Your Herald invitation"),
        urlencode(&body)
    );
    InvitationView {
        email: invited.email.clone(),
        role: invited.role,
        link,
        mailto,
        expires_at: invited.expires_at.to_string(),
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .replace('+', "%20")
}

debug_without_secrets!(
    SessionView,
    StrengthRequest,
    InvitationView,
    OpenInvitationView,
    NewTokenView
);

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub created_at: String,
    pub subject: String,
    pub body: String,
    /// The page in Herald where you can act on it.
    pub link: Option<String>,
    pub read: bool,
}

/// Your newest 50 notifications, newest first: passwords to rotate, access changed by an
/// owner, accounts you now keep.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "people", security(("token" = ["me:read"]), ("session" = [])),
    responses((status = 200, description = "Your notifications", body = [NotificationView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    caller.require(Permission::ViewOwnAccount)?;
    let notifications = state.store.notifications_of(caller.user.id, 50).await?;
    Ok(Json(
        notifications
            .into_iter()
            .map(|notification| NotificationView {
                id: notification.id,
                created_at: notification.created_at.to_string(),
                subject: notification.subject,
                body: notification.body,
                link: notification.link,
                read: notification.read_at.is_some(),
            })
            .collect(),
    ))
}
