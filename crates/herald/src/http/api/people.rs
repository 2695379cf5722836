//! `/api/v1` routes for setup, signing in and out, the caller's own account, members,
//! invitations and API tokens. Each handler extracts, calls `crate::services::people`, and answers.

use crate::domain::ids::{AccountId, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::{Permission, Scope};
use crate::domain::notifications::{ChoosableKind, MailMode, NotificationKind};
use crate::domain::password::{self, Strength};
use crate::domain::people::Role;
use crate::http::auth::{
    Caller, ClientIp, SignInOrigin, Via, cleared_session_cookie, device_cookie_header,
    session_cookie_header,
};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::services::mail;
use crate::services::people::enrolment::{self, Enrolment};
use crate::services::people::invitations::{self, AcceptRequest};
use crate::services::people::login::{self, LoginRequest, SignedIn};
use crate::services::people::setup::{self, SetupRequest, Welcome};
use crate::services::people::{members, tokens};
use crate::store::{ApiTokenRecord, UserRecord};

/// A member, as anyone allowed to see members sees them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "email": "barista@sunnycafe.example", "name": "Bea Barista", "role": "member",
    "active": true, "created_at": "2026-03-02T09:15:00Z"
}))]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// False once the member has been deactivated (offboarded).
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Signed in: the member, and the token to send as `X-CSRF-Token` with state-changing requests.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": 1, "email": "owner@sunnycafe.example", "name": "Olive Owner", "role": "owner",
             "active": true, "created_at": "2026-03-01T08:00:00Z"},
    "csrf_token": "q1Xr0b6m9N3sVwJc2kZ8pYtA4uEfHgLd7oRiTnBvWx0",
    "recovery_codes": ["7k2m-9qhd-4xwp-n3c8", "c3vn-8trf-1bze-q6mk"]
}))]
pub struct SessionView {
    pub user: UserView,
    pub csrf_token: String,
    /// Only right after setup, accepting an invitation or enrolling again after a reset: shown
    /// once, store them safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// The caller's own account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user": {"id": 1, "email": "owner@sunnycafe.example", "name": "Olive Owner", "role": "owner",
             "active": true, "created_at": "2026-03-01T08:00:00Z"},
    "organisation": "Sunny Café",
    "recovery_codes_left": 8,
    "csrf_token": "q1Xr0b6m9N3sVwJc2kZ8pYtA4uEfHgLd7oRiTnBvWx0"
}))]
pub struct MeView {
    pub user: UserView,
    pub organisation: String,
    /// Recovery codes not used yet (each works once).
    #[schema(minimum = 0)]
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

/// A password to rate, and words that make it weaker when it contains them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "password": "croissant tram lighthouse 42",
    "personal": ["olive", "owner@sunnycafe.example", "Sunny Café"]
}))]
pub struct StrengthRequest {
    pub password: String,
    /// Words from the person's own details (email, name), which make a password weaker. Only
    /// the first 10, and the first 100 bytes of each, are used.
    #[serde(default)]
    pub personal: Vec<String>,
}

/// Whom to invite, and with which role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "barista@sunnycafe.example", "role": "member"}))]
pub struct InviteRequest {
    /// The invitee's email address; they sign in with it.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Admins may invite members and admins; only owners may invite owners.
    pub role: Role,
}

/// A new invitation. The link is the only way to accept it: give it to the invitee.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "email": "barista@sunnycafe.example",
    "role": "member",
    "link": "https://herald.sunnycafe.example/invite/Jx7d0cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc",
    "mailto": "mailto:barista@sunnycafe.example?subject=Your%20Herald%20invitation&body=You%20are%20invited%20%E2%80%A6",
    "mailed": true,
    "expires_at": "2026-03-05T09:15:00Z"
}))]
pub struct InvitationView {
    pub email: String,
    pub role: Role,
    /// The single-use link to give the invitee; its last segment is the invitation token for
    /// `GET /api/v1/invitations/{token}`. Shown once.
    pub link: String,
    /// A `mailto:` link that opens an email with the invitation in it.
    pub mailto: String,
    /// Whether Herald e-mails the link itself (mail is configured); the link works either way.
    pub mailed: bool,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// An invitation that can still be accepted, and the authenticator secret for the invitee.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "email": "barista@sunnycafe.example",
    "role": "member",
    "organisation": "Sunny Café",
    "enrolment": {
        "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "otpauth_uri": "otpauth://totp/Herald:barista%40sunnycafe.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Herald",
        "qr_svg": "<?xml version=\"1.0\" standalone=\"yes\"?><svg xmlns=\"http://www.w3.org/2000/svg\" …</svg>",
        "enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…"
    }
}))]
pub struct OpenInvitationView {
    pub email: String,
    pub role: Role,
    pub organisation: String,
    pub enrolment: Enrolment,
}

/// A deactivated member and the accounts whose credentials to rotate now.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "member": {"id": 3, "email": "agent@brightlets.example", "name": "Alex Agent", "role": "admin",
               "active": false, "created_at": "2026-01-10T10:00:00Z"},
    "rotate_now": [4, 7]
}))]
pub struct DepartedView {
    pub member: UserView,
    /// Accounts this member kept as gatekeeper (and so could reveal): change their passwords,
    /// and name a new gatekeeper.
    pub rotate_now: Vec<AccountId>,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "admin"}))]
pub struct RoleChange {
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"sessions_ended": 3}))]
pub struct EndedSessions {
    pub sessions_ended: u64,
}

/// A new API token: what to call it, what it may do, and for how long.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "weekly menu script",
    "scopes": ["posts:write", "accounts:read"],
    "expires_in_days": 90
}))]
pub struct NewTokenRequest {
    /// 1 to 100 characters, not only spaces; surrounding spaces are dropped.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub name: String,
    /// What the token may do (at least one); the `token` security scheme describes each. A
    /// token never does more than its member's role allows.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// Days until the token stops working: 1 to 366.
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: i64,
}

/// An API token, never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 5, "name": "weekly menu script", "scopes": ["posts:write", "accounts:read"],
    "created_at": "2026-03-02T09:15:00Z", "expires_at": "2026-05-31T09:15:00Z",
    "last_used_at": null, "revoked": false
}))]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Vec<Scope>)]
    pub scopes: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A new API token and its secret.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "token": {"id": 5, "name": "weekly menu script", "scopes": ["posts:write", "accounts:read"],
              "created_at": "2026-03-02T09:15:00Z", "expires_at": "2026-05-31T09:15:00Z",
              "last_used_at": null, "revoked": false},
    "secret": "herald_pat_b3Jk9xQ2mVw7ZtR1yLp4sHfA8eUo6iGqNcKd5Yj0TnE"
}))]
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

/// Starts first-run setup
///
/// Step 2 of setting Herald up, for whoever runs it, before anybody exists: (1) read the
/// one-time setup code Herald printed when it first started (`herald setup-code` prints it
/// again); (2) call this with the first owner's email address to get a new authenticator
/// secret and an `enrolment_token` (valid 30 minutes); (3) add the secret to an authenticator
/// app (scan `qr_svg` or type `secret`); (4) send everything to `POST /api/v1/setup`. Nothing is
/// stored yet. Once Herald is set up this answers 409.
#[utoipa::path(get, path = "/api/v1/setup", tag = "people",
    params(("email" = String, Query, format = Email, max_length = 254, description = "The first owner's email address; the authenticator entry is labelled with it", example = "owner@sunnycafe.example")),
    responses(
        (status = 200, description = "Setup is needed: add this secret to an authenticator app, then finish with `POST /api/v1/setup`", body = Enrolment),
        (status = 409, description = "Herald is already set up; sign in instead", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`email` is not an email address", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn setup_start(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SetupQuery>,
) -> Result<Json<Enrolment>, ApiError> {
    if !setup::needed(&state.store).await? {
        return Err(crate::services::AppError::AlreadySetUp.into());
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

/// Completes first-run setup
///
/// Step 4 of setting Herald up: send the setup code, the organisation's name, the first
/// owner's name, email address and password, the `enrolment_token` from `GET /api/v1/setup`
/// and the current 6-digit code from the authenticator app. Herald creates the organisation and
/// its owner, signs them in (session cookie set) and answers with recovery codes, shown this
/// once. Works once; wrong setup codes from one address are slowed down.
#[utoipa::path(post, path = "/api/v1/setup", tag = "people", request_body = SetupRequest,
    responses(
        (status = 201, description = "Set up; the owner is signed in (session cookie set) and `recovery_codes` are shown this once", body = SessionView),
        (status = 409, description = "Herald is already set up; sign in instead", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it (`setup_code` when the setup code is wrong, `password` when it is too weak or known from a breach, `code` when the authenticator code is not right, `enrolment_token` when it expired)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong setup codes from this address; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn setup_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<SetupRequest>,
) -> Result<Response, ApiError> {
    let done = setup::run(&state, &request, ip, state.clock.now()).await?;
    Ok(welcome(&state, done))
}

/// Signs in
///
/// Anyone may call this with an email address, password and a 6-digit authenticator code (or
/// one of their recovery codes, which is then used up). On success Herald sets the session
/// cookie and a device cookie, and answers with the member and the CSRF token to send as
/// `X-CSRF-Token` on changes. Failures from one address, and for one email, are slowed down.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "people", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (session cookie set, and a device cookie that exempts this browser from other people's failed sign-ins)", body = SessionView),
        (status = 401, description = "The email address, password or code is not right", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The password is right, but an owner reset this member's two-step sign-in: enrol a new authenticator with `POST /api/v1/auth/enrol`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let done = login::login(&state, &request, origin.from(), state.clock.now()).await?;
    Ok(signed_in(&state, StatusCode::OK, done, None))
}

/// Signs out
///
/// Ends the browser session this request came with and clears its cookie. Session only: an API
/// token is refused (revoke it with `DELETE /api/v1/tokens/{id}` instead).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "people", security(("session" = [])),
    responses(
        (status = 204, description = "Signed out; the session cookie is cleared"),
        (status = 403, description = "An API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    if let Via::Session { cookie, .. } = &caller.via {
        login::logout(&state.store, caller.user.id, cookie, state.clock.now()).await?;
    }
    let cleared = cleared_session_cookie(state.config.served_over_tls());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response())
}

/// Signs out everywhere
///
/// Ends every session of the caller, on every device, this one included, and clears the
/// cookie. For a lost phone or a shared computer. Session only.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "Every session ended, this one included", body = EndedSessions),
        (status = 403, description = "An API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Who you are
///
/// The caller's own member record, the organisation's name and how many recovery codes are
/// left. With a browser session it also holds the session's CSRF token. Any member may call it,
/// with a session or a token with `me:read`; nothing changes.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("token" = ["me:read"]), ("session" = [])),
    responses(
        (status = 200, description = "Who you are", body = MeView),
        (status = 403, description = "A token without `me:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Rates a password
///
/// How strong a password looks, from 0 to 4, with a warning when it is weak, for live feedback
/// while someone types one. Anyone may call it; nothing is stored or logged. A password needs
/// 12 to 128 characters and a score of 3 to be accepted elsewhere.
#[utoipa::path(post, path = "/api/v1/password-strength", tag = "people",
    request_body = StrengthRequest,
    responses((status = 200, description = "The estimate", body = Strength,
        example = json!({"score": 4, "warning": null}))))]
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

/// Lists members
///
/// Every member of the organisation, active ones first, deactivated ones after. Owners and
/// admins only (a session, or a token with `members:read`).
#[utoipa::path(get, path = "/api/v1/members", tag = "people", security(("token" = ["members:read"]), ("session" = [])),
    responses(
        (status = 200, description = "Members", body = [UserView]),
        (status = 403, description = "Needs an admin or owner, or a token with `members:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Permission::ViewMembers)?;
    let users = state.store.list_users().await.map_err(ApiError::internal)?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// Changes a member's role
///
/// Owners and admins may change roles (a session, or a token with `members:write`); only
/// owners change an owner's role or make new owners, and at least one owner must remain. The
/// change is audited and the member keeps their sessions.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "people", security(("token" = ["members:write"]), ("session" = [])),
    request_body = RoleChange,
    params(("id" = i64, Path, description = "The member's id", example = 2)),
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 403, description = "Not allowed: an admin changing an owner or making one, or a token without `members:write`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No member has this id", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no owner", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
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

/// Deactivates a member
///
/// Offboards a member: ends their sessions, revokes their API tokens and account access at
/// once, and marks "rotate now" every account whose credentials they could reveal. Owners and
/// admins (only owners deactivate owners); not yourself, and never the last owner. A new
/// invitation brings the member back.
#[utoipa::path(post, path = "/api/v1/members/{id}/deactivate", tag = "people", security(("token" = ["members:write"]), ("session" = [])),
    params(("id" = i64, Path, description = "The member's id", example = 3)),
    responses(
        (status = 200, description = "Deactivated; rotate the credentials of the accounts in `rotate_now`", body = DepartedView),
        (status = 403, description = "Not allowed for this member, or a token without `members:write`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No member has this id", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already deactivated, yourself, or the last owner", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<DepartedView>, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let departed = members::deactivate(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(Json(DepartedView {
        member: UserView::from(&departed.member),
        rotate_now: departed.rotate_now,
    }))
}

/// Invites someone
///
/// Step 1 of joining: an owner or admin (a session, or a token with `members:write`) invites an
/// email address with a role; admins cannot invite owners. The answer holds a single-use
/// `link` (and a ready `mailto:`) that expires after `sessions.invitation_hours` (72 by
/// default); its last segment is the token for `GET /api/v1/invitations/{token}`. A deactivated
/// member may be invited again.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "people", security(("token" = ["members:write"]), ("session" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invitation created; give the link to the invitee. The link is shown this once", body = InvitationView),
        (status = 403, description = "Not allowed to give this role, or a token without `members:write`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This address is already an active member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`email` is not an email address", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<InviteRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let invited = invitations::invite_and_mail(
        &state.services,
        &public_base(&state, &headers),
        &caller.user,
        &request.email,
        request.role,
        state.clock.now(),
    )
    .await?;
    let view = invitation_view(&state, &headers, &invited);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Opens an invitation
///
/// Step 2 of joining, for the invitee, with no sign-in: the token from the invitation link
/// gives who the invitation is for, the organisation, and a new authenticator secret with its
/// `enrolment_token` (valid 30 minutes). Add the secret to an authenticator app, then accept
/// with `POST /api/v1/invitations/{token}/accept`. Nothing changes; it may be opened again.
#[utoipa::path(get, path = "/api/v1/invitations/{token}", tag = "people",
    params(("token" = String, Path, description = "The last segment of the invitation link", example = "Jx7d0cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc")),
    responses(
        (status = 200, description = "The invitation can be accepted: add the secret to an authenticator app", body = OpenInvitationView),
        (status = 410, description = "No such invitation, or it expired, was used, or its inviter may no longer give the role", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Accepts an invitation
///
/// Step 3 of joining, for the invitee: send your name, a password (12 to 128 characters, not
/// weak or known from a breach), the `enrolment_token` from `GET /api/v1/invitations/{token}`
/// and the current 6-digit code from the authenticator app. You become a member with the
/// invited role, are signed in (session cookie set), and get recovery codes, shown this once.
/// The link then stops working.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "people",
    request_body = AcceptRequest,
    params(("token" = String, Path, description = "The last segment of the invitation link", example = "Jx7d0cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc")),
    responses(
        (status = 201, description = "Joined and signed in (session cookie set); `recovery_codes` are shown this once", body = SessionView),
        (status = 410, description = "No such invitation, or it expired, was used, or its inviter may no longer give the role", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it (`password` when too weak, `code` when the code is not right, `enrolment_token` when it expired)", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(token): ApiPath<String>,
    ApiJson(request): ApiJson<AcceptRequest>,
) -> Result<Response, ApiError> {
    let done =
        invitations::accept(&state, &token, &request, &ip.to_string(), state.clock.now()).await?;
    Ok(welcome(&state, done))
}

/// Lists your API tokens
///
/// The caller's API tokens, revoked and expired ones included, never their secrets. From a
/// browser session only: a token cannot list tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "Your tokens (never their secrets)", body = [TokenView]),
        (status = 403, description = "An API token cannot list tokens", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Creates an API token
///
/// A personal token for scripts, with the scopes it may use and 1 to 366 days until it
/// expires; it never does more than your role allows. Its secret (`herald_pat_…`, sent as
/// `Authorization: Bearer`) is in this answer and nowhere else, ever. From a browser session
/// only; audited.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "people", security(("session" = [])),
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = NewTokenView),
        (status = 403, description = "An API token cannot make tokens, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Revokes an API token
///
/// One of the caller's tokens stops working at once; it stays listed as revoked. From a
/// browser session only; audited.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "people", security(("session" = [])),
    params(("id" = i64, Path, description = "The token's id", example = 5)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "An API token cannot revoke tokens, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no active token with this id", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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
/// Where the caller reached Herald: `public_url`, or the request's Host.
pub fn public_base(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("127.0.0.1:8080");
            format!("http://{host}")
        }
    }
}

pub fn invitation_view(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    invited: &invitations::Invited,
) -> InvitationView {
    let base = public_base(state, headers);
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
        mailed: invited.mailed,
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

/// Something Herald told you.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 12,
    "created_at": "2026-03-04T16:20:00Z",
    "subject": "Rotate the password of @sunnycafe on Instagram",
    "body": "Alex Agent left and could reveal this account's password. Change it and name a new gatekeeper.",
    "link": "/accounts/4",
    "read": false
}))]
pub struct NotificationView {
    pub id: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub subject: String,
    pub body: String,
    /// The page in Herald where you can act on it.
    pub link: Option<String>,
    pub read: bool,
}

/// Your notifications
///
/// Your newest 50 notifications, newest first: passwords to rotate, access changed by an
/// owner, accounts you now keep. Any member, with a session or a token with `me:read`; reading
/// them marks nothing.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "people", security(("token" = ["me:read"]), ("session" = [])),
    responses(
        (status = 200, description = "Your notifications, at most 50", body = [NotificationView]),
        (status = 403, description = "A token without `me:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// How you want one kind of notification e-mailed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "kind": "policy",
    "label": "The social media policy changed",
    "mode": "digest",
    "always_at_once": false
}))]
pub struct MailPreferenceView {
    pub kind: NotificationKind,
    /// The kind in people's words.
    pub label: String,
    pub mode: MailMode,
    /// A security alert: always e-mailed at once, whatever you choose.
    pub always_at_once: bool,
}

/// Your choice for one kind. Security alerts are not among the kinds: they always come at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailChoice {
    pub kind: ChoosableKind,
    pub mode: MailMode,
}

/// The most choices one request may carry (there are far fewer kinds).
const MOST_MAIL_CHOICES: usize = 50;

/// Your choices; kinds left out keep what you chose before.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "choices": [{ "kind": "policy", "mode": "digest" }, { "kind": "post_outcome", "mode": "none" }] }))]
pub struct MailPreferencesRequest {
    #[schema(max_items = 50)]
    pub choices: Vec<MailChoice>,
}

fn mail_preference_views(preferences: Vec<mail::Preference>) -> Vec<MailPreferenceView> {
    preferences
        .into_iter()
        .map(|preference| MailPreferenceView {
            kind: preference.kind,
            label: preference.label.to_owned(),
            mode: preference.mode,
            always_at_once: preference.fixed,
        })
        .collect()
}

/// How your notifications are e-mailed
///
/// For every kind of notification: at once, in a daily digest, or not at all (still shown in
/// Herald). Security alerts are always e-mailed at once. Any member, with a session or a token
/// with `me:read`.
#[utoipa::path(get, path = "/api/v1/me/mail-preferences", tag = "people", security(("token" = ["me:read"]), ("session" = [])),
    responses(
        (status = 200, description = "One entry per kind", body = [MailPreferenceView]),
        (status = 403, description = "A token without `me:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn mail_preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MailPreferenceView>>, ApiError> {
    caller.require(Permission::ViewOwnAccount)?;
    let preferences = mail::preferences(&state.services, &caller.user).await?;
    Ok(Json(mail_preference_views(preferences)))
}

/// Chooses how your notifications are e-mailed
///
/// Saves your choice for each kind given; the others keep theirs. Security alerts are not among
/// the kinds: they always come at once. From a browser session only; audited.
#[utoipa::path(put, path = "/api/v1/me/mail-preferences", tag = "people", security(("session" = [])), request_body = MailPreferencesRequest,
    responses(
        (status = 200, description = "Saved: one entry per kind", body = [MailPreferenceView]),
        (status = 403, description = "An API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown kind or mode (a security alert is not a kind you choose), or more than 50 choices", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_mail_preferences(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<MailPreferencesRequest>,
) -> Result<Json<Vec<MailPreferenceView>>, ApiError> {
    caller.require(Permission::ManageOwnNotifications)?;
    if request.choices.len() > MOST_MAIL_CHOICES {
        return Err(crate::services::AppError::Invalid {
            field: "choices",
            message: format!("give at most {MOST_MAIL_CHOICES} choices, one per kind"),
        }
        .into());
    }
    let choices: Vec<(NotificationKind, MailMode)> = request
        .choices
        .iter()
        .map(|choice| (NotificationKind::from(choice.kind), choice.mode))
        .collect();
    let saved =
        mail::set_preferences(&state.services, &caller.user, &choices, state.clock.now()).await?;
    Ok(Json(mail_preference_views(saved)))
}
