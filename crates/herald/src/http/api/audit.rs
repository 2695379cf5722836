//! The audit log for owners: filtered pages as JSON, and the whole log as JSON Lines.

// utoipa's expansion of `params(AuditQuery)` names the type with a path the lint dislikes.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::access::Permission;
use crate::domain::audit::AuditEntry;
use crate::http::auth::Caller;
use crate::http::extract::ApiQuery;
use crate::http::{ApiError, AppState};
use crate::store::AuditFilter;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only actions starting with this, e.g. `auth.` or `member.`; empty means any.
    #[param(example = "member.")]
    pub action: Option<String>,
    /// Only this actor, e.g. `user:3`; empty means any.
    #[param(example = "user:1")]
    pub actor: Option<String>,
    /// Entries after this sequence number (for paging: the last `seq` of the previous page).
    #[serde(default)]
    #[param(default = 0, example = 100)]
    pub after: i64,
    /// At most this many.
    #[param(minimum = 1, maximum = 500, default = 100, example = 100)]
    pub limit: Option<i64>,
}

/// One entry of the audit log: who did what, when, from where. Never a secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 42,
    "at": "2026-03-02T09:15:00.120Z",
    "actor": "user:1",
    "action": "member.invited",
    "target": "email:barista@sunnycafe.example",
    "ip": null,
    "details": {"role": "member", "expires_at": "2026-03-05T09:15:00.120Z", "rejoining": false},
    "hash": "e71e95c6ffce223116fb8c6d7e3df3d577d657fb550554d9f09e09847e5762d2"
}))]
pub struct AuditEntryView {
    /// The entry's place in the log, from 1, without gaps.
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// Who: `user:<id>`, `system`, `anonymous` (a failed sign-in) or `command line`.
    pub actor: String,
    /// What, as a dotted name such as `auth.login.succeeded` or `member.deactivated`.
    pub action: String,
    /// What it was done to, such as `user:3` or `account:4`.
    pub target: Option<String>,
    /// The address the request came from, when there was one.
    pub ip: Option<String>,
    /// More about it, as a JSON object; never a secret.
    pub details: serde_json::Value,
    /// SHA-256 over this entry and the previous entry's hash, in hex: the chain that makes the
    /// log tamper-evident (`herald audit verify` checks it).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> AuditEntryView {
        AuditEntryView {
            seq: entry.seq,
            at: entry.at.to_string(),
            details: serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null),
            hash: hex::encode(entry.hash),
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            ip: entry.ip,
        }
    }
}

/// Reads the audit log
///
/// Audit entries, oldest first, a page at a time (`after` and `limit`), optionally only those
/// whose action starts with `action` or whose actor is `actor`. Owners only (a session, or a
/// token with `audit:read`); reading changes nothing.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit_entries", security(("token" = ["audit:read"]), ("session" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "Entries, oldest first", body = [AuditEntryView]),
        (status = 403, description = "Owners only, or a token without `audit:read`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` is not between 1 and 500", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    caller.require(Permission::ViewAuditLog)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid {
            field: "limit",
            message: "limit must be between 1 and 500".to_owned(),
        });
    }
    let filter = AuditFilter {
        action_prefix: query.action.filter(|a| !a.is_empty()),
        actor: query.actor.filter(|a| !a.is_empty()),
        after_seq: query.after,
        limit,
    };
    let entries = state
        .store
        .audit_entries(&filter)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(
        entries.into_iter().map(AuditEntryView::from).collect(),
    ))
}

/// Exports the audit log
///
/// The whole audit log as JSON Lines, one entry (as in `GET /api/v1/audit`) per line, oldest
/// first, as a file to download for archiving or analysis. Owners only (a session, or a token
/// with `audit:read`).
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", operation_id = "export_audit_log", security(("token" = ["audit:read"]), ("session" = [])),
    responses(
        (status = 200, description = "JSON Lines, one entry per line", body = String, content_type = "application/jsonl",
            example = json!("{\"seq\":1,\"at\":\"2026-03-01T08:00:00.000Z\",\"actor\":\"user:1\",\"action\":\"setup.completed\",\"target\":\"user:1\",\"ip\":\"203.0.113.24\",\"details\":{\"email\":\"owner@sunnycafe.example\",\"organisation\":\"Sunny Café\"},\"hash\":\"e71e95c6ffce223116fb8c6d7e3df3d577d657fb550554d9f09e09847e5762d2\"}\n")),
        (status = 403, description = "Owners only, or a token without `audit:read`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAuditLog)?;
    let mut out = String::new();
    let mut filter = AuditFilter {
        limit: 1000,
        ..AuditFilter::default()
    };
    loop {
        let page = state
            .store
            .audit_entries(&filter)
            .await
            .map_err(ApiError::internal)?;
        let Some(last) = page.last().map(|entry| entry.seq) else {
            break;
        };
        for entry in page {
            out.push_str(
                &serde_json::to_string(&AuditEntryView::from(entry)).map_err(ApiError::internal)?,
            );
            out.push('\n');
        }
        filter.after_seq = last;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"herald-audit.jsonl\"",
            ),
        ],
        out,
    )
        .into_response())
}
