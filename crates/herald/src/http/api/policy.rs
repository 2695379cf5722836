//! `/api/v1/scan` and `/api/v1/policy/rules`: checking a draft against the company's policy,
//! and reading or replacing the policy's rules (TOML).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::ApiJson;
use crate::http::{ApiError, AppState};
use crate::policy;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScanRequest {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    /// The strictest action among the findings: `clean`, `warn`, `require_approval` or `block`.
    pub verdict: String,
    pub findings: Vec<FindingView>,
}

/// One finding. The excerpt is redacted: it never holds the matched value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    /// Dotted rule id, such as `pii.email`, `secret.aws_key`, `term.confidential`.
    pub rule: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `warn`, `require_approval` or `block`.
    pub action: String,
    /// Byte offsets into `text` (UTF-8), start inclusive, end exclusive.
    pub start: usize,
    pub end: usize,
    pub excerpt: String,
    /// What was found and how to fix it.
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RulesView {
    /// The saved version in force; absent while the built-in defaults apply.
    #[serde(default)]
    pub version: Option<i64>,
    /// The rules as TOML (see `crates/guard/README.md` for the format).
    pub toml: String,
}

/// The rules in force as the caller may read them.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesReadView {
    /// The saved version in force; absent while the built-in defaults apply.
    pub version: Option<i64>,
    /// The rules as TOML (see `crates/guard/README.md` for the format): owners and admins
    /// only, since it names the confidential terms; absent for members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toml: Option<String>,
    /// Every rule in force, as every member may know it.
    pub rules: Vec<RuleView>,
}

/// One rule in force: what it is called, what it does and what it tells the writer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    /// Dotted rule id, such as `pii.email` or `term.confidential`.
    pub id: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `warn`, `require_approval` or `block`.
    pub action: String,
    pub message: String,
}

/// Checks a draft against the company's policy: personal data, secrets, confidential terms,
/// risky links, tone and profanity.
#[utoipa::path(post, path = "/api/v1/scan", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])), request_body = ScanRequest,
    responses((status = 200, description = "The findings and the verdict", body = ScanView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "A token without policy:read", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not a JSON body with a text", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn scan(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ScanRequest>,
) -> Result<Json<ScanView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let (findings, strictest) = policy::scan(
        &state.store,
        &state.policy,
        &request.text,
        state.clock.now(),
    )
    .await?;
    Ok(Json(ScanView {
        verdict: strictest.map_or("clean", guard::Action::as_str).to_owned(),
        findings: findings
            .into_iter()
            .map(|finding| FindingView {
                rule: finding.rule.as_str().to_owned(),
                severity: finding.severity.as_str().to_owned(),
                action: finding.action.as_str().to_owned(),
                start: finding.span.start,
                end: finding.span.end,
                excerpt: finding.excerpt,
                message: finding.message,
            })
            .collect(),
    }))
}

/// The policy's rules in force: every rule's id, action and message; the TOML too for owners
/// and admins (members never see it: it names the confidential terms).
#[utoipa::path(get, path = "/api/v1/policy/rules", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])),
    responses((status = 200, description = "The rules", body = RulesReadView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "A token without policy:read", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RulesReadView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let now = state.clock.now();
    let read = policy::rules_for(&state.store, &state.policy, &caller.user, now).await?;
    Ok(Json(RulesReadView {
        version: read.version,
        toml: read.toml,
        rules: read
            .rules
            .into_iter()
            .map(|rule| RuleView {
                id: rule.id.as_str().to_owned(),
                severity: rule.severity.as_str().to_owned(),
                action: rule.action.as_str().to_owned(),
                message: rule.message,
            })
            .collect(),
    }))
}

/// Replaces the policy's rules (owners, from a browser session). Refused whole, naming the
/// line and column, if the TOML or any rule is invalid; the rules in force then stay.
#[utoipa::path(put, path = "/api/v1/policy/rules", tag = "policy", security(("session" = [])), request_body = RulesView,
    responses((status = 200, description = "Saved as a new version", body = RulesView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not an owner, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid TOML or rule", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn save_rules(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<RulesView>,
) -> Result<Json<RulesView>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let version = policy::save(
        &state.store,
        &state.policy,
        &caller.user,
        &request.toml,
        state.clock.now(),
    )
    .await?;
    Ok(Json(RulesView {
        version: Some(version),
        toml: request.toml,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub version: i64,
    pub markdown: String,
    pub published_at: String,
    /// When you acknowledged this version; absent until you do.
    pub acknowledged_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PublishRequest {
    pub markdown: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcknowledgeRequest {
    /// The version you read (the current one).
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgementView {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    /// Absent while the member has not acknowledged the current version.
    pub acknowledged_at: Option<String>,
}

/// The company's social media policy (current version) and whether you acknowledged it.
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])),
    responses((status = 200, description = "The policy", body = DocumentView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No policy published yet", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn document(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DocumentView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    let document = policy::document(&state.store, &caller.user)
        .await?
        .ok_or_else(|| ApiError::NotFound("no policy has been published yet".to_owned()))?;
    Ok(Json(DocumentView {
        version: document.version,
        markdown: document.markdown,
        published_at: document.published_at.to_string(),
        acknowledged_at: document.acknowledged_at.map(|at| at.to_string()),
    }))
}

/// Publishes a new version of the policy (owners); every member is asked to acknowledge it.
#[utoipa::path(put, path = "/api/v1/policy", tag = "policy", security(("session" = [])), request_body = PublishRequest,
    responses((status = 200, description = "Published", body = DocumentView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not an owner, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Json<DocumentView>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let version = policy::publish(&state.store, &caller.user, &request.markdown, now).await?;
    Ok(Json(DocumentView {
        version,
        markdown: request.markdown,
        published_at: now.to_string(),
        acknowledged_at: Some(now.to_string()),
    }))
}

/// Acknowledges the current policy: you have read it and accept it. Audited.
#[utoipa::path(post, path = "/api/v1/policy/acknowledge", tag = "policy", security(("session" = [])), request_body = AcknowledgeRequest,
    responses((status = 204, description = "Acknowledged"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "An API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not the current version", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AcknowledgeRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    // A person acknowledges, not a script: sessions only.
    caller.require(Permission::ManageOwnSessions)?;
    policy::acknowledge(
        &state.store,
        &caller.user,
        request.version,
        state.clock.now(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Who has acknowledged the current policy (owners and admins).
#[utoipa::path(get, path = "/api/v1/policy/acknowledgements", tag = "policy", security(("token" = ["members:read"]), ("session" = [])),
    responses((status = 200, description = "Every active member", body = [AcknowledgementView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not an owner or admin", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn acknowledgements(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AcknowledgementView>>, ApiError> {
    caller.require(Permission::ViewMembers)?;
    Ok(Json(
        policy::acknowledgements(&state.store)
            .await?
            .into_iter()
            .map(|ack| AcknowledgementView {
                user_id: ack.user_id,
                name: ack.name,
                email: ack.email,
                acknowledged_at: ack.acknowledged_at.map(|at| at.to_string()),
            })
            .collect(),
    ))
}
