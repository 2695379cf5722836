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
use crate::domain::audit::AuditEntry;
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::store::{AccountRecord, AuditFilter, UserRecord};

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

/// Who and what the log's ids name.
struct Names<'a> {
    users: &'a [UserRecord],
    accounts: &'a [AccountRecord],
}

impl Names<'_> {
    /// `user:3` → the member's name; `account:2` → the account's name; `post:7` → "post 7";
    /// `email:…` → the address; anything else as written.
    fn name(&self, reference: &str) -> String {
        let (kind, id) = reference.split_once(':').unwrap_or((reference, ""));
        let number = id.parse::<i64>().ok();
        match (kind, number) {
            ("user", Some(id)) => self
                .users
                .iter()
                .find(|user| user.id.get() == id)
                .map_or_else(|| format!("member {id}"), |user| user.name.clone()),
            ("account", Some(id)) => self
                .accounts
                .iter()
                .find(|account| account.id.get() == id)
                .map_or_else(
                    || format!("account {id}"),
                    |account| format!("{} ({})", account.display_name, account.network.label()),
                ),
            ("post", Some(id)) => format!("post {id}"),
            ("email", _) => id.to_owned(),
            ("system", _) => "Herald".to_owned(),
            _ => reference.to_owned(),
        }
    }

    /// The entry as a sentence: who did what to whom.
    fn sentence(&self, entry: &AuditEntry) -> String {
        let who = self.name(&entry.actor);
        let target = entry
            .target
            .as_deref()
            .map(|target| self.name(target))
            .unwrap_or_default();
        let what = match entry.action.as_str() {
            "setup.completed" => "set Herald up".to_owned(),
            "setup.refused" => "tried to set Herald up again (refused)".to_owned(),
            "auth.login.succeeded" => "signed in".to_owned(),
            "auth.login.failed" => {
                "tried to sign in with a wrong email, password or code".to_owned()
            }
            "auth.login.second_factor_failed" => "gave a wrong sign-in code".to_owned(),
            "auth.logout" => "signed out".to_owned(),
            "auth.logout_everywhere" => "signed out everywhere".to_owned(),
            "auth.other_sessions_ended" => "ended their other sessions".to_owned(),
            "auth.session_ended" => "ended a session".to_owned(),
            "auth.password_changed" => "changed their password".to_owned(),
            "auth.authenticator_replaced" => "set up a new authenticator app".to_owned(),
            "auth.recovery_codes_regenerated" => "made new recovery codes".to_owned(),
            "auth.second_factor_enrolled" => "set up two-step sign-in again".to_owned(),
            "auth.passkey.added" => "added a passkey".to_owned(),
            "auth.passkey.removed" => "removed a passkey".to_owned(),
            "auth.step_up.failed" => "gave a wrong code when asked again".to_owned(),
            "auth.step_up.locked_out" => {
                "gave too many wrong codes and was signed out everywhere".to_owned()
            }
            "member.invited" => format!("invited {target}"),
            "member.invitation_withdrawn" => format!("withdrew the invitation to {target}"),
            "member.joined" => "joined the team".to_owned(),
            "member.rejoined" => "rejoined the team".to_owned(),
            "member.role_changed" => format!("changed the role of {target}"),
            "member.deactivated" => format!("deactivated {target}"),
            "member.second_factor_reset" => format!("reset the two-step sign-in of {target}"),
            "token.created" => "made an API token".to_owned(),
            "token.revoked" => "revoked an API token".to_owned(),
            "account.created" => format!("added {target}"),
            "account.connected" => format!("connected {target}"),
            "account.connection_refused" => {
                format!("tried to connect {target} as another account (refused)")
            }
            "account.access_granted" => format!("gave access to {target}"),
            "account.access_revoked" => format!("took away access to {target}"),
            "account.gatekeeper_changed" => format!("named a new gatekeeper for {target}"),
            "account.credential_stored" => format!("stored a credential of {target}"),
            "account.credential_revealed" => format!("revealed a credential of {target}"),
            "account.credential_reveal_refused" => {
                format!("tried to reveal a credential of {target} (refused)")
            }
            "account.network_code_shown" => format!("showed the sign-in code of {target}"),
            "account.queue_changed" => format!("changed the queue of {target}"),
            "account.rotation_requested" => {
                format!("asked for the password of {target} to be changed")
            }
            "policy.rules_saved" => "changed the policy's rules".to_owned(),
            "policy.document_published" => "published the social media policy".to_owned(),
            "policy.acknowledged" => "read and accepted the policy".to_owned(),
            "post.drafted" => format!("wrote {target}"),
            "post.submitted" => format!("submitted {target}"),
            "post.submit_blocked" => format!("tried to submit {target}; the policy blocked it"),
            "post.policy_overridden" => format!("overrode the policy for {target}"),
            "post.approved" => format!("approved {target}"),
            "post.sent_back" => format!("sent {target} back"),
            "post.scheduled" => format!("scheduled {target}"),
            "post.unscheduled" => format!("took {target} off the schedule"),
            "post.time_wished" => format!("chose a time for {target}"),
            "post.published" => format!("published {target}"),
            "post.publish_failed" => format!("could not publish {target}"),
            "post.unconfirmed" => format!("could not confirm {target} went out"),
            "post.unconfirmed_settled" => format!("settled whether {target} went out"),
            "post.media_attached" => format!("added an image to {target}"),
            "post.media_removed" => format!("removed an image from {target}"),
            "posts.imported" => "imported posts".to_owned(),
            "audit.checkpoint" => "signed a checkpoint of this log".to_owned(),
            other => {
                let words = other.replace(['.', '_'], " ");
                if target.is_empty() {
                    words
                } else {
                    format!("{words}: {target}")
                }
            }
        };
        format!("{who} {what}.")
    }
}
