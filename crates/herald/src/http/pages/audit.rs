//! The audit log page (`/audit`, owners): every entry as a sentence ("Olive Owner invited
//! sam@sunny.example"), names instead of ids, times in the viewer's zone, the details folded
//! away; filters by action and by member.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::posts::{ShownTime, shown_time};
use super::{Layout, PageError, render};
use crate::domain::access::Permission;
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::services::audit::words::Names;
use crate::store::AuditFilter;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    /// A member's id, or `user:3` as the API writes it; empty for everyone.
    #[serde(default)]
    actor: String,
    /// Entries before this sequence number (the "Older entries" link); the newest when absent.
    #[serde(default)]
    before: Option<i64>,
}

/// Entries a page shows.
const SHOWN: usize = 100;
/// Entries read from the store at a time while looking back for matching ones.
const WINDOW: i64 = 500;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    /// The next page back, when there are older entries.
    older: Option<String>,
    rows: Vec<Row>,
    action: String,
    members: Vec<(String, String, bool)>,
}

#[derive(Debug)]
struct Row {
    seq: i64,
    at: ShownTime,
    sentence: String,
    action: String,
    ip: Option<String>,
    details: String,
}

pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAuditLog)?;
    let actor = query.actor.trim();
    let actor = match actor.parse::<i64>() {
        Ok(id) => format!("user:{id}"),
        Err(_) => actor.to_owned(),
    };
    // Newest first: windows of the log are read backwards from the head (or from `before`)
    // until a page is full or the log's start is reached.
    let (head, _) = state.store.audit_head().await?;
    let mut below = query.before.unwrap_or(head + 1).clamp(1, head + 1);
    let mut entries = Vec::new();
    while below > 1 && entries.len() < SHOWN {
        let from = (below - 1 - WINDOW).max(0);
        let filter = AuditFilter {
            action_prefix: Some(query.action.trim().to_owned()).filter(|a| !a.is_empty()),
            actor: Some(actor.clone()).filter(|a| !a.is_empty()),
            after_seq: from,
            limit: below - 1 - from,
        };
        let window = state.store.audit_entries(&filter).await?;
        entries.extend(window.into_iter().rev().take(SHOWN - entries.len()));
        below = from + 1;
    }
    let older = (entries.len() == SHOWN)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten()
        .filter(|seq| *seq > 1)
        .map(|seq| {
            let query = serde_urlencoded::to_string([
                ("action", query.action.trim()),
                ("actor", actor.as_str()),
                ("before", &seq.to_string()),
            ])
            .unwrap_or_default();
            format!("/audit?{query}")
        });
    let users = state.store.list_users().await?;
    let accounts = state.store.all_accounts().await?;
    let names = Names {
        users: &users,
        accounts: &accounts,
    };
    let utc = Zone::utc();
    let page = AuditPage {
        layout: Layout::signed_in("Audit log · Herald", "/audit", &caller),
        older,
        rows: entries
            .iter()
            .map(|entry| Row {
                seq: entry.seq,
                at: shown_time(&utc, entry.at),
                sentence: names.sentence(entry),
                action: entry.action.clone(),
                ip: entry.ip.clone(),
                details: entry.details.clone(),
            })
            .collect(),
        action: query.action,
        members: users
            .iter()
            .map(|user| {
                let value = format!("user:{}", user.id);
                let chosen = value == actor;
                (value, user.name.clone(), chosen)
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}
