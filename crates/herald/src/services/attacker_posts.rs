//! Deleting the posts an attacker made (issue 20), from the recovery checklist's
//! `delete_attacker_posts` step: the watcher remembered each post Herald did not publish as
//! the attacker's (`services::watch`); the gatekeeper or an owner asks, and Herald deletes
//! each through the network's adapter where the API allows (`domain::incidents::deletes_posts`)
//! and lists the others with the network's link, to delete by hand. Every deletion is
//! audited; the step shows what was done. Herald needs its connection back first (the
//! lockdown revoked its tokens), and a drill deletes nothing.

use crate::domain::audit::Actor;
use crate::domain::incidents::{Outcome, deletes_posts};
use crate::services::audit::record;
use crate::services::connections::{self, TokensError};
use crate::services::incidents::{self, View};
use crate::services::{AppError, Services, watch};
use crate::store::{AccountRecord, StepRecord, Store, UserRecord};

/// The checklist step this carries out.
pub const STEP: &str = "delete_attacker_posts";

/// What became of the attacker's posts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Deleted through the API now, by the network's id.
    pub deleted: Vec<String>,
    /// To delete by hand: the network's id and where the post is, when the network says.
    pub by_hand: Vec<(String, Option<String>)>,
    /// The network refused or did not answer: the id and why.
    pub failed: Vec<(String, String)>,
    /// Deleted by Herald before (an earlier press).
    pub already: usize,
}

/// Deletes (or lists) the attacker's posts of incident `id`, for its gatekeeper or an owner;
/// returns the incident as it stands and what became of each post.
pub async fn remove(
    services: &Services,
    actor: &UserRecord,
    id: i64,
) -> Result<(View, Removal), AppError> {
    let store = &services.store;
    let (incident, account) = incidents::open_to_lead(store, actor, id).await?;
    if incident.closed_at.is_some() {
        return Err(AppError::Conflict("the incident is closed".to_owned()));
    }
    let found = store
        .seen_since(account.id, "attacker:", incident.opened_at)
        .await?;
    let done_before = store
        .seen_since(account.id, "removed:", incident.opened_at)
        .await?;
    let waiting: Vec<String> = found
        .iter()
        .filter(|remote| !done_before.contains(remote))
        .cloned()
        .collect();
    let mut removal = Removal {
        already: found.len() - waiting.len(),
        ..Removal::default()
    };
    if !incident.drill && !waiting.is_empty() {
        at_the_network(services, &account, &waiting, &mut removal).await?;
    }
    let now = services.now();
    let work = store.write().await?;
    let unit: &Store = &work;
    for remote in &removal.deleted {
        unit.note_seen_post(account.id, &format!("removed:{remote}"), now)
            .await?;
        record(
            unit,
            now,
            Actor::User(actor.id),
            "account.attacker_post_deleted",
            Some(format!("account:{}", account.id)),
            None,
            serde_json::json!({ "incident": id, "remote_id": remote }),
        )
        .await?;
    }
    let (outcome, detail) = summary(&account, incident.drill, &waiting, &removal);
    unit.set_step(
        id,
        &StepRecord {
            step: STEP.to_owned(),
            phase: "recovery".to_owned(),
            outcome: outcome.as_str().to_owned(),
            detail,
            by_user: Some(actor.id),
            at: now,
        },
        "recovery",
    )
    .await?;
    incidents::mark_if_recovered(unit, id, account.network, now).await?;
    record(
        unit,
        now,
        Actor::User(actor.id),
        "incident.step",
        Some(format!("incident:{id}")),
        None,
        serde_json::json!({
            "step": STEP, "outcome": outcome.as_str(), "account": account.id,
            "deleted": removal.deleted.len(), "by_hand": removal.by_hand.len(),
            "failed": removal.failed.len(),
        }),
    )
    .await?;
    work.commit().await?;
    Ok((incidents::view(store, actor, id).await?, removal))
}

/// Deletes what the API allows; lists the rest with the links the network shows now.
async fn at_the_network(
    services: &Services,
    account: &AccountRecord,
    waiting: &[String],
    removal: &mut Removal,
) -> Result<(), AppError> {
    let adapter = services
        .networks
        .adapter(account.network)
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let tokens = connections::tokens_for(services, adapter.as_ref(), account, services.now())
        .await
        .map_err(|error| match error {
            TokensError::People(error) => error,
            _ => AppError::Conflict(
                "Herald is not connected to the account (the lockdown revoked its access): connect it again on the account's page first, then Herald can delete the attacker's posts".to_owned(),
            ),
        })?;
    if !deletes_posts(account.network) {
        let shown = match watch::watcher(&services.networks, account.network, &tokens) {
            Some(watcher) => watcher.recent_posts(&tokens).await.unwrap_or_default(),
            None => Vec::new(),
        };
        for remote in waiting {
            let link = shown
                .iter()
                .find(|post| &post.remote_id == remote)
                .and_then(|post| post.url.clone());
            removal.by_hand.push((remote.clone(), link));
        }
        return Ok(());
    }
    for remote in waiting {
        match adapter.delete(&tokens, remote).await {
            Ok(()) => removal.deleted.push(remote.clone()),
            Err(error) => removal.failed.push((remote.clone(), error.to_string())),
        }
    }
    Ok(())
}

/// The step's outcome and its words.
fn summary(
    account: &AccountRecord,
    drill: bool,
    waiting: &[String],
    removal: &Removal,
) -> (Outcome, String) {
    let network = account.network.label();
    if drill {
        return (
            Outcome::Done,
            format!(
                "Drill: Herald would delete {} post(s) the attacker made; nothing was deleted",
                waiting.len()
            ),
        );
    }
    if waiting.is_empty() {
        return (
            Outcome::Done,
            format!(
                "No post of the attacker's is left for Herald to delete ({} deleted before)",
                removal.already
            ),
        );
    }
    if !removal.by_hand.is_empty() {
        let links: Vec<String> = removal
            .by_hand
            .iter()
            .map(|(remote, link)| link.clone().unwrap_or_else(|| format!("post {remote}")))
            .collect();
        return (
            Outcome::NotPossible,
            format!(
                "{network}'s API cannot delete posts: delete these {} by hand in the {network} app, then tick this step: {}",
                links.len(),
                links.join(" ")
            ),
        );
    }
    if !removal.failed.is_empty() {
        let reasons: Vec<String> = removal
            .failed
            .iter()
            .map(|(remote, why)| format!("post {remote}: {why}"))
            .collect();
        return (
            Outcome::Failed,
            format!(
                "Herald deleted {} post(s) through {network}; {} could not be deleted and can be tried again ({})",
                removal.deleted.len(),
                removal.failed.len(),
                reasons.join("; ")
            ),
        );
    }
    (
        Outcome::Done,
        format!(
            "Herald deleted {} post(s) the attacker made through {network}'s API",
            removal.deleted.len()
        ),
    )
}
