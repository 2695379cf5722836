//! `/api/v1/scan` and `/api/v1/policy/rules`: checking a draft against the company's policy,
//! and reading or replacing the policy's rules (TOML).

use crate::domain::ids::UserId;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::ApiJson;
use crate::http::{ApiError, AppState};
use crate::services::links::{LIVE_EXPANSION, Reach};
use crate::services::policy;

/// A draft to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "text": "Open house Saturday at 14 Harbour Lane! Questions to lettings@brightlets.example"
}))]
pub struct ScanRequest {
    pub text: String,
}

/// What the policy found in a draft.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "verdict": "require_approval",
    "findings": [{
        "rule": "pii.email", "title": "Personal email address", "severity": "medium", "action": "require_approval", "start": 53,
        "end": 80, "excerpt": "l•••@brightlets.example",
        "message": "This looks like a personal email address. Remove it unless the person agreed to have it posted; use the company's own address instead."
    }]
}))]
pub struct ScanView {
    /// The strictest action among the findings, or `clean` when there are none.
    #[schema(schema_with = verdict_schema)]
    pub verdict: String,
    pub findings: Vec<FindingView>,
}

/// One finding. The excerpt is redacted: it never holds the matched value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    /// Dotted rule id, such as `pii.email`, `secret.aws_key`, `term.confidential`.
    pub rule: String,
    /// What the rule finds, in words, for a headline: `Personal email address`.
    pub title: String,
    #[schema(schema_with = severity_schema)]
    pub severity: String,
    #[schema(schema_with = action_schema)]
    pub action: String,
    /// Byte offsets into `text` (UTF-8), start inclusive, end exclusive.
    pub start: usize,
    pub end: usize,
    pub excerpt: String,
    /// What was found and how to fix it.
    pub message: String,
}

/// The policy's rules as TOML, to save as a new version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "version": 3,
    "toml": "[company]\nemails = [\"hello@sunnycafe.example\"]\n\n[terms]\nconfidential = [\"Project Croissant\"]\n\n[[rule]]\nid = \"pii.phone\"\naction = \"warn\"\n"
}))]
pub struct RulesView {
    /// The saved version in force; absent while the built-in defaults apply. Ignored when
    /// saving: the answer names the new version.
    #[serde(default)]
    pub version: Option<i64>,
    /// The rules as TOML (see `crates/guard/README.md` for the format).
    pub toml: String,
}

/// The rules in force as the caller may read them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "version": 3,
    "toml": "[company]\nemails = [\"hello@sunnycafe.example\"]\n\n[terms]\nconfidential = [\"Project Croissant\"]\n\n[[rule]]\nid = \"pii.phone\"\naction = \"warn\"\n",
    "rules": [
        {"id": "pii.email", "severity": "medium", "action": "require_approval", "message": "This looks like a personal email address. Remove it unless the person agreed to have it posted; use the company's own address instead."},
        {"id": "pii.phone", "severity": "medium", "action": "warn", "message": "This looks like a personal phone number. Remove it unless the person agreed to have it posted; use the company's own number instead."}
    ]
}))]
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
    #[schema(schema_with = severity_schema)]
    pub severity: String,
    #[schema(schema_with = action_schema)]
    pub action: String,
    pub message: String,
}

/// Checks a draft against the policy
///
/// Scans a text for what the company's policy flags: personal data, secrets, confidential
/// terms, risky links, tone and profanity. Answers every finding (redacted, never the matched
/// value) and the strictest action among them. Any member (a session, or a token with
/// `policy:read`); nothing is stored.
#[utoipa::path(post, path = "/api/v1/scan", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])), request_body = ScanRequest,
    responses(
        (status = 200, description = "The findings and the verdict", body = ScanView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn scan(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ScanRequest>,
) -> Result<Json<ScanView>, ApiError> {
    caller.require(Permission::UsePolicy)?;
    // The live check follows short links for a moment only; submission follows them fully.
    let (findings, strictest) = policy::scan_reaching(
        &state.store,
        &state.policy,
        &request.text,
        state.clock.now(),
        Reach::ShortLinksWithin(LIVE_EXPANSION),
    )
    .await?;
    Ok(Json(ScanView {
        verdict: strictest.map_or("clean", guard::Action::as_str).to_owned(),
        findings: findings.into_iter().map(finding_view).collect(),
    }))
}

/// A guard finding as the API shows it (the scan, and the policy's examples).
pub(crate) fn finding_view(finding: guard::Finding) -> FindingView {
    FindingView {
        rule: finding.rule.as_str().to_owned(),
        title: finding.rule.title().to_owned(),
        severity: finding.severity.as_str().to_owned(),
        action: finding.action.as_str().to_owned(),
        start: finding.span.start,
        end: finding.span.end,
        excerpt: finding.excerpt,
        message: finding.message,
    }
}

/// Reads the policy's rules
///
/// The rules in force: every rule's id, severity, action and message, for every member (a
/// session, or a token with `policy:read`). Owners and admins also get the TOML; members never
/// do, since it names the confidential terms.
#[utoipa::path(get, path = "/api/v1/policy/rules", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])),
    responses(
        (status = 200, description = "The rules", body = RulesReadView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Replaces the policy's rules
///
/// Saves new rules as TOML (the format is in `crates/guard/README.md`) as a new version, in
/// force at once for every scan. Owners only, from a browser session; audited. Refused whole,
/// naming the line and column, if the TOML or any rule is invalid; the rules in force then
/// stay.
#[utoipa::path(put, path = "/api/v1/policy/rules", tag = "policy", security(("session" = [])), request_body = RulesView,
    responses(
        (status = 200, description = "Saved as a new version", body = RulesView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The TOML or a rule is not valid; `detail` names the line and column", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// The company's social media policy, one version of it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "version": 2,
    "markdown": "# Posting for Sunny Café\n\nBe friendly, never post a customer's photo without asking, and keep prices as on the menu.",
    "published_at": "2026-03-01T08:30:00Z",
    "acknowledged_at": null,
    "asks_for_staff_profiles": true
}))]
pub struct DocumentView {
    pub version: i64,
    pub markdown: String,
    #[schema(format = DateTime)]
    pub published_at: String,
    /// When you acknowledged this version; null until you do.
    #[schema(format = DateTime)]
    pub acknowledged_at: Option<String>,
    /// This version asks every member to list their own social media profiles
    /// (`/api/v1/me/profiles`), or to say they have none (`/api/v1/me/profiles/none`).
    pub asks_for_staff_profiles: bool,
}

/// A new version of the policy, in Markdown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "markdown": "# Posting for Sunny Café\n\nBe friendly, never post a customer's photo without asking, and keep prices as on the menu.",
    "asks_for_staff_profiles": true
}))]
pub struct PublishRequest {
    /// 1 to 100,000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 100_000,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub markdown: String,
    /// Ask every member to list their own social media profiles, or to say they have none
    /// (the policy's "use of employee social networks should be agreed and documented").
    #[serde(default)]
    pub asks_for_staff_profiles: bool,
}

/// The version you read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 2}))]
pub struct AcknowledgeRequest {
    /// The version you read: it must be the current one.
    pub version: i64,
}

/// Whether one active member has acknowledged the current policy.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user_id": 2, "name": "Bea Barista", "email": "barista@sunnycafe.example",
    "acknowledged_at": "2026-03-01T10:02:00Z"
}))]
pub struct AcknowledgementView {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// Null while the member has not acknowledged the current version.
    #[schema(format = DateTime)]
    pub acknowledged_at: Option<String>,
}

/// A text field that holds one of a few words.
fn one_of(words: &[&str], description: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(words.iter().copied()))
        .description(Some(description))
        .build()
}

fn verdict_schema() -> utoipa::openapi::Object {
    one_of(
        &["clean", "warn", "require_approval", "block"],
        "The strictest action among the findings, or `clean` when there are none.",
    )
}

fn severity_schema() -> utoipa::openapi::Object {
    one_of(
        &["low", "medium", "high", "critical"],
        "How serious the finding is.",
    )
}

fn action_schema() -> utoipa::openapi::Object {
    one_of(
        &["warn", "require_approval", "block"],
        "What Herald does with a post that has it: `warn` shows it, `require_approval` needs \
         someone else with publish rights to approve, `block` stops publishing until the text \
         changes.",
    )
}

/// Reads the policy
///
/// The current version of the company's social media policy, in Markdown, and when you
/// acknowledged it. Any member (a session, or a token with `policy:read`).
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", security(("token" = ["policy:read"]), ("session" = [])),
    responses(
        (status = 200, description = "The policy", body = DocumentView),
        (status = 403, description = "A token without `policy:read`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No policy published yet", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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
        asks_for_staff_profiles: document.asks_for_staff_profiles,
    }))
}

/// Publishes the policy
///
/// Publishes a new version of the policy in Markdown. Owners only, from a browser session;
/// audited. Every active member is then asked to acknowledge it; the owner who publishes has
/// acknowledged it.
#[utoipa::path(put, path = "/api/v1/policy", tag = "policy", security(("session" = [])), request_body = PublishRequest,
    responses(
        (status = 200, description = "Published", body = DocumentView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or longer than 100,000 characters", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Json<DocumentView>, ApiError> {
    caller.require(Permission::ManagePolicy)?;
    let now = state.clock.now();
    let version = policy::publish(
        &state.store,
        &caller.user,
        &request.markdown,
        request.asks_for_staff_profiles,
        now,
    )
    .await?;
    Ok(Json(DocumentView {
        version,
        markdown: request.markdown,
        published_at: now.to_string(),
        acknowledged_at: Some(now.to_string()),
        asks_for_staff_profiles: request.asks_for_staff_profiles,
    }))
}

/// Acknowledges the policy
///
/// Records that you have read the current version and accept it. A person acknowledges, not a
/// script: from a browser session only; audited.
#[utoipa::path(post, path = "/api/v1/policy/acknowledge", tag = "policy", security(("session" = [])), request_body = AcknowledgeRequest,
    responses(
        (status = 204, description = "Acknowledged"),
        (status = 403, description = "An API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not the current version, or no policy published yet", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Who acknowledged the policy
///
/// Every active member and whether (and when) they acknowledged the current version. Owners
/// and admins (a session, or a token with `members:read`).
#[utoipa::path(get, path = "/api/v1/policy/acknowledgements", tag = "policy", security(("token" = ["members:read"]), ("session" = [])),
    responses(
        (status = 200, description = "Every active member", body = [AcknowledgementView]),
        (status = 403, description = "Not an owner or admin, or a token without `members:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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
