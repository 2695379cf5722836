//! Pages for setup, signing in and out, invitations, members, the audit log and one's account.
//! They call the same `crate::services::people` functions as the JSON API; a failed form comes back with
//! the message beside the field it is about, and what was typed (never a password) kept.

use crate::http::extract::PlainForm;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, Nav, NavItem, PageError, render};
use crate::domain::access::Permission;
use crate::domain::people::Role;
use crate::http::assets;
use crate::http::auth::{
    Caller, ClientIp, CsrfForm, SignInOrigin, cleared_session_cookie, device_cookie_header,
    session_cookie_header,
};
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::people::enrolment::{self, Enrolment};
use crate::services::people::invitations::{self, AcceptRequest};
use crate::services::people::login::{self, LoginRequest, SignedIn};
use crate::services::people::second_factor_reset::{self, EnrolFinish, EnrolStart};
use crate::services::people::setup::{self, SetupRequest, Welcome};

/// A message for the form, beside `field` ("" for the whole form).
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
    /// The status the page is answered with.
    pub status: StatusCode,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<FieldError>,
    passkeys_script: String,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    layout: Layout,
    email: String,
    enrolment: Option<Enrolment>,
    error: Option<FieldError>,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    /// The setup code, as the link carried it or as typed.
    setup_code: String,
    organisation: String,
    name: String,
    email: String,
    enrolment: Option<Enrolment>,
    error: Option<FieldError>,
    password_script: String,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    layout: Layout,
    name: String,
    codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    layout: Layout,
    token: String,
    organisation: String,
    email: String,
    role: Role,
    name: String,
    enrolment: Enrolment,
    error: Option<FieldError>,
    password_script: String,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    /// The setup code: the setup link carries it, and the first step's form sends it on.
    #[serde(default)]
    code: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// The setup code is left out.
impl std::fmt::Debug for SetupQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupQuery")
            .field("organisation", &self.organisation)
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// An empty form: only its CSRF field matters.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

impl From<AppError> for FieldError {
    fn from(error: AppError) -> FieldError {
        let field = match &error {
            AppError::Invalid { field, .. } => field,
            _ => "",
        };
        let problem = ApiError::from(error).problem();
        FieldError {
            field,
            message: crate::http::error::sentence(&problem.detail),
            status: StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }
}

fn status_of(error: &FieldError) -> StatusCode {
    error.status
}

pub async fn login_page(State(state): State<AppState>) -> Result<Response, PageError> {
    if setup::needed(&state.store).await.map_err(ApiError::from)? {
        return Ok(Redirect::to("/setup").into_response());
    }
    Ok(render(
        StatusCode::OK,
        &LoginPage {
            layout: Layout::new("Sign in · Herald"),
            email: String::new(),
            error: None,
            passkeys_script: assets::url("passkeys.js"),
        },
    ))
}

pub async fn login_submit(
    State(state): State<AppState>,
    origin: SignInOrigin,
    PlainForm(form): PlainForm<LoginRequest>,
) -> Response {
    match login::login(&state, &form, origin.from(), state.clock.now()).await {
        Ok(signed_in) => signed_in_redirect(&state, &signed_in, "/"),
        Err(error) => {
            let error = FieldError::from(error);
            let status = error.status;
            let page = LoginPage {
                layout: Layout::new("Sign in · Herald"),
                email: form.email.clone(),
                error: Some(error),
                passkeys_script: assets::url("passkeys.js"),
            };
            render(status, &page)
        }
    }
}

/// The first step of enrolling again after an owner reset one's second factor.
pub async fn enrol_page() -> Response {
    let page = EnrolPage {
        layout: Layout::new("Set up your authenticator app again · Herald"),
        email: String::new(),
        enrolment: None,
        error: None,
    };
    render(StatusCode::OK, &page)
}

pub async fn enrol_start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PlainForm(form): PlainForm<EnrolStart>,
) -> Response {
    let started =
        second_factor_reset::start_enrolment(&state, &form, &ip.to_string(), state.clock.now())
            .await;
    let (status, enrolment, error) = match started {
        Ok(enrolment) => (StatusCode::OK, Some(enrolment), None),
        Err(error) => {
            let error = FieldError::from(error);
            (error.status, None, Some(error))
        }
    };
    let page = EnrolPage {
        layout: Layout::new("Set up your authenticator app again · Herald"),
        email: form.email.clone(),
        enrolment,
        error,
    };
    render(status, &page)
}

pub async fn enrol_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PlainForm(form): PlainForm<EnrolFinish>,
) -> Response {
    let now = state.clock.now();
    match second_factor_reset::finish_enrolment(&state, &form, &ip.to_string(), now).await {
        Ok(welcome) => welcome_page(&state, welcome),
        Err(error) => {
            let error = FieldError::from(error);
            let page = EnrolPage {
                layout: Layout::new("Set up your authenticator app again · Herald"),
                enrolment: enrolment::resume_replacement(
                    &state.keys,
                    "Herald",
                    &form.email.trim().to_lowercase(),
                    &form.enrolment_token,
                    now,
                ),
                email: form.email.clone(),
                error: Some(error.clone()),
            };
            render(error.status, &page)
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    if let crate::http::auth::Via::Session { cookie, .. } = &caller.via {
        login::logout(&state.store, caller.user.id, cookie, state.clock.now())
            .await
            .map_err(ApiError::from)?;
    }
    Ok(signed_out(&state))
}

pub async fn setup_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(query): Query<SetupQuery>,
) -> Result<Response, PageError> {
    if !setup::needed(&state.store).await.map_err(ApiError::from)? {
        return Ok(Redirect::to("/login").into_response());
    }
    let mut page = SetupPage {
        layout: Layout::new("Set up Herald"),
        setup_code: query.code,
        organisation: query.organisation,
        name: query.name,
        email: query.email,
        enrolment: None,
        error: None,
        password_script: assets::url("password.js"),
    };
    let submitted =
        !(page.organisation.is_empty() && page.name.is_empty() && page.email.is_empty());
    if submitted {
        let now = state.clock.now();
        // The code first, so that nobody without it learns anything more.
        let code_error = setup::check_code(&state.store, &state.keys, &page.setup_code, ip, now)
            .await
            .err();
        if let Some(error @ AppError::AlreadySetUp) = code_error {
            return Err(ApiError::from(error).into());
        }
        match code_error
            .map(FieldError::from)
            .or_else(|| first_step_error(&page))
        {
            Some(error) => page.error = Some(error),
            None => {
                page.enrolment = Some(enrolment::start(
                    &state.keys,
                    "Herald",
                    &page.email,
                    state.clock.now(),
                ))
            }
        }
    }
    let status = page.error.as_ref().map_or(StatusCode::OK, status_of);
    Ok(render(status, &page))
}

impl SetupPage {
    /// Whether the setup code was refused: the second step then shows it to be typed again.
    fn code_refused(&self) -> bool {
        self.error
            .as_ref()
            .is_some_and(|error| error.field == "setup_code")
    }
}

fn first_step_error(page: &SetupPage) -> Option<FieldError> {
    use crate::domain::people::{DisplayName, Email};
    let checks = [
        (
            "organisation",
            DisplayName::parse(&page.organisation, "organisation name").err(),
        ),
        ("name", DisplayName::parse(&page.name, "your name").err()),
        ("email", Email::parse(&page.email).err()),
    ];
    checks.into_iter().find_map(|(field, error)| {
        error.map(|error| FieldError {
            field,
            message: error.to_string(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        })
    })
}

pub async fn setup_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PlainForm(form): PlainForm<SetupRequest>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    match setup::run(&state, &form, ip, now).await {
        Ok(welcome) => Ok(welcome_page(&state, welcome)),
        Err(error @ AppError::AlreadySetUp) => Err(ApiError::from(error).into()),
        Err(error) => {
            let error = FieldError::from(error);
            let page = SetupPage {
                layout: Layout::new("Set up Herald"),
                setup_code: form.setup_code,
                enrolment: Some(resume_enrolment(&state, &form.email, &form.enrolment_token)),
                organisation: form.organisation,
                name: form.name,
                email: form.email,
                password_script: assets::url("password.js"),
                error: Some(error),
            };
            let status = page.error.as_ref().map_or(StatusCode::OK, status_of);
            Ok(render(status, &page))
        }
    }
}

/// The enrolment the person already scanned, so a mistyped code does not mean scanning again;
/// a fresh one if the token is no longer usable.
fn resume_enrolment(state: &AppState, email: &str, token: &str) -> Enrolment {
    let now = state.clock.now();
    enrolment::resume(&state.keys, "Herald", email, token, now)
        .unwrap_or_else(|| enrolment::start(&state.keys, "Herald", email, now))
}

pub async fn invite_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let invitation = invitations::open(&state.store, &token, now)
        .await
        .map_err(ApiError::from)?;
    let page = InvitePage {
        layout: Layout::new("Join Herald"),
        organisation: state.store.organisation_name().await?,
        enrolment: enrolment::start(&state.keys, "Herald", &invitation.email, now),
        email: invitation.email,
        role: invitation.role,
        name: String::new(),
        token,
        error: None,
        password_script: assets::url("password.js"),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn invite_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    PlainForm(form): PlainForm<AcceptRequest>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    match invitations::accept(&state, &token, &form, &ip.to_string(), now).await {
        Ok(welcome) => Ok(welcome_page(&state, welcome)),
        Err(error @ AppError::InvitationGone) => Err(ApiError::from(error).into()),
        Err(error) => {
            let invitation = invitations::open(&state.store, &token, now)
                .await
                .map_err(ApiError::from)?;
            let page = InvitePage {
                layout: Layout::new("Join Herald"),
                organisation: state.store.organisation_name().await?,
                enrolment: resume_enrolment(&state, &invitation.email, &form.enrolment_token),
                email: invitation.email,
                role: invitation.role,
                name: form.name,
                token,
                error: Some(FieldError::from(error)),
                password_script: assets::url("password.js"),
            };
            let status = page.error.as_ref().map_or(StatusCode::OK, status_of);
            Ok(render(status, &page))
        }
    }
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSessions)?;
    login::logout_everywhere(&state.store, caller.user.id, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    Ok(signed_out(&state))
}

/// Back to the sign-in page, with the session cookie removed.
pub(super) fn signed_out(state: &AppState) -> Response {
    let cleared = cleared_session_cookie(state.config.served_over_tls());
    ([(header::SET_COOKIE, cleared)], Redirect::to("/login")).into_response()
}

pub(super) fn welcome_page(state: &AppState, welcome: Welcome) -> Response {
    let page = WelcomePage {
        layout: Layout::new("Welcome · Herald"),
        name: welcome.signed_in.user.name.clone(),
        codes: welcome
            .recovery_codes
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect(),
    };
    let mut response = render(StatusCode::CREATED, &page);
    set_session_cookie(state, &welcome.signed_in, &mut response);
    response
}

fn signed_in_redirect(state: &AppState, signed_in: &SignedIn, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    set_session_cookie(state, signed_in, &mut response);
    response
}

fn set_session_cookie(state: &AppState, signed_in: &SignedIn, response: &mut Response) {
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
    for cookie in std::iter::once(cookie).chain(device) {
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

impl Layout {
    /// The layout of a page for a signed-in member, with the navigation they may use and
    /// `current` (the link of the section the page belongs to) marked.
    pub fn signed_in(title: &str, current: &'static str, caller: &Caller) -> Layout {
        let may = |permission| caller.require(permission).is_ok();
        let mut items = vec![
            NavItem {
                href: "/",
                label: "Home",
            },
            NavItem {
                href: "/compose",
                label: "Write",
            },
            NavItem {
                href: "/posts",
                label: "Posts",
            },
            NavItem {
                href: "/inbox",
                label: "Inbox",
            },
            NavItem {
                href: "/calendar",
                label: "Calendar",
            },
            NavItem {
                href: "/accounts",
                label: "Accounts",
            },
            NavItem {
                href: "/incidents",
                label: "Incidents",
            },
            NavItem {
                href: "/policy",
                label: "Policy",
            },
            NavItem {
                href: "/security",
                label: "Security",
            },
        ];
        if may(Permission::ViewMembers) {
            items.push(NavItem {
                href: "/members",
                label: "Members",
            });
        }
        if may(Permission::ViewAuditLog) {
            items.push(NavItem {
                href: "/audit",
                label: "Audit log",
            });
        }
        let mut layout = Layout::new(title);
        layout.nav = Some(Nav {
            name: caller.user.name.clone(),
            csrf: caller.csrf_token().unwrap_or_default().to_owned(),
            items,
            current,
            show_status: may(Permission::ViewAuditLog),
        });
        layout
    }
}
