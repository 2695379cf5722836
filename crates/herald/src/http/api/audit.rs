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
pub struct AuditQuery {
    /// Only actions starting with this, e.g. `auth.` or `member.`.
    pub action: Option<String>,
    /// Only this actor, e.g. `user:3`.
    pub actor: Option<String>,
    /// Entries after this sequence number (for paging).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
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

/// Audit entries, oldest first, filtered.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("token" = ["audit:read"]), ("session" = [])), params(AuditQuery),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "Entries", body = [AuditEntryView]), (status = 403, description = "Owners only", body = crate::http::Problem, content_type = "application/problem+json")))]
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

/// The whole audit log as JSON Lines, one entry per line, for archiving or analysis.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("token" = ["audit:read"]), ("session" = [])),
    responses((status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 200, description = "JSON Lines", body = String, content_type = "application/jsonl"), (status = 403, description = "Owners only", body = crate::http::Problem, content_type = "application/problem+json")))]
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
