//! One-click lockdown of a social account that may be hacked (issue 20): pause its queue,
//! cancel its pending approvals, revoke Herald's tokens at the network and drop them from the
//! vault, mark its credentials "rotate now" (reason `incident`), end the sessions of the
//! members named, tell everyone with access. Every step's outcome is kept on the incident
//! (`done`, `failed` with the reason, `not_possible` on this network) and audited.
//!
//! Idempotent: the account's open incident is found or opened, and only the caller that marks
//! its lockdown started runs the steps, so two people pressing the button at once get one
//! incident and one set of steps. Everything Herald holds stops in one unit of work (which on
//! PostgreSQL holds the account's row, as a publishing attempt's start does): an attempt
//! either started before it (in flight; the lockdown waits for it and shows its outcome) or
//! is refused. Only then does Herald talk to the network; a network that is down or refuses
//! leaves that step `failed` (tokens kept, so it can be retried) and every other step done.
//!
//! A drill runs the same plan and records it, marked as a drill, but changes nothing real: no
//! pause, no cancelled approvals, no revocation, no "rotate now", no sessions ended.

use crate::domain::ids::{AccountId, PostId, UserId};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use networks::{Adapter, Endpoint, NetworkError, Tokens};

use crate::domain::access::AccountAction;
use crate::domain::accounts::Network;
use crate::domain::audit::Actor;
use crate::domain::incidents::{LOCKDOWN_STEPS, Outcome};
use crate::keys::Keys;
use crate::services::AppError;
use crate::services::audit::record;
use crate::services::connections::Networks;
use crate::services::{Services, accounts, credentials, incidents, notify};
use crate::store::{AccountRecord, IncidentRecord, NewIncident, StepRecord, Store, UserRecord};

/// How long a lockdown waits for publishing attempts that were already under way.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(15);

/// What the person pressing "lock down" chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Members whose sessions end now (a member whose device may be the way in).
    pub end_sessions_of: Vec<UserId>,
    /// Practise: record every step, change nothing real.
    pub drill: bool,
}

/// Locks the account down (or finds it locked down already) and answers its incident.
pub async fn lock_down(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    request: &Request,
) -> Result<incidents::View, AppError> {
    let store = &services.store;
    let now = services.now();
    let visible = accounts::open(store, actor, account_id, AccountAction::LockDown).await?;
    if request.end_sessions_of.contains(&actor.id) {
        return Err(AppError::Invalid {
            field: "end_sessions_of",
            message: "a lockdown does not end your own sessions; end them on Your account"
                .to_owned(),
        });
    }
    let members = named_members(store, &request.end_sessions_of).await?;
    let account = visible.account;
    let (incident, in_flight) =
        match stop_everything(store, actor, &account, &members, request.drill, now).await? {
            Some(started) => started,
            None => {
                let open = open_incident_id(store, account_id).await?;
                return incidents::view(store, actor, open).await;
            }
        };
    wait_for_in_flight(store, &incident, &in_flight).await?;
    revoke_step(services, actor, &account, &incident).await?;
    incidents::view(store, actor, incident.id).await
}

/// Every account the caller may lock down, locked down: their incidents.
pub async fn lock_down_all(
    services: &Services,
    actor: &UserRecord,
    request: &Request,
) -> Result<Vec<incidents::View>, AppError> {
    let mut views = Vec::new();
    for visible in accounts::visible(&services.store, actor).await? {
        let allowed = crate::domain::access::check_account(
            actor.role,
            visible.level,
            AccountAction::LockDown,
        );
        if allowed.is_ok() {
            let view = lock_down(services, actor, visible.account.id, request).await?;
            views.push(view);
        }
    }
    Ok(views)
}

/// Tries the incident's failed steps again (the network was down, or refused).
pub async fn retry(
    services: &Services,
    actor: &UserRecord,
    incident_id: i64,
) -> Result<incidents::View, AppError> {
    let store = &services.store;
    let (incident, account) = incidents::open_to_lead(store, actor, incident_id).await?;
    if incident.closed_at.is_some() {
        return Err(AppError::Conflict("the incident is closed".to_owned()));
    }
    let failed = store
        .incident_steps(incident.id)
        .await?
        .into_iter()
        .any(|step| step.step == "revoke_tokens" && step.outcome == Outcome::Failed.as_str());
    if failed {
        revoke_step(services, actor, &account, &incident).await?;
    }
    incidents::view(store, actor, incident.id).await
}

async fn open_incident_id(store: &Store, account_id: AccountId) -> Result<i64, AppError> {
    Ok(store
        .open_incident_of(account_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("the account's incident was closed meanwhile".to_owned())
        })?
        .id)
}

/// The members whose sessions are to end, each an existing member.
async fn named_members(store: &Store, ids: &[UserId]) -> Result<Vec<UserRecord>, AppError> {
    let mut members = Vec::with_capacity(ids.len());
    for id in ids {
        let member = store
            .user_by_id(*id)
            .await?
            .ok_or_else(|| AppError::Invalid {
                field: "end_sessions_of",
                message: format!("there is no member {id}"),
            })?;
        members.push(member);
    }
    Ok(members)
}

/// The unit of work that stops everything Herald holds. `None` when another lockdown of the
/// same incident had started already (it runs the steps). Otherwise the incident and the posts
/// that were being published at that moment.
async fn stop_everything(
    store: &Store,
    actor: &UserRecord,
    account: &AccountRecord,
    members: &[UserRecord],
    drill: bool,
    now: Timestamp,
) -> Result<Option<(IncidentRecord, Vec<PostId>)>, AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    store.lock_account_row(account.id).await?;
    let summary = format!("{} locked the account down", actor.name);
    let (incident, _) = store
        .open_incident(
            &NewIncident {
                account_id: account.id,
                opened_by: "lockdown",
                opened_by_user: Some(actor.id),
                owner_id: Some(actor.id),
                drill,
                summary: &summary,
            },
            now,
        )
        .await?;
    let drill = drill || incident.drill;
    if !store.claim_lockdown(incident.id, drill, now).await? {
        return Ok(None);
    }
    if incident.owner_id.is_none() {
        store.set_incident_owner(incident.id, actor.id).await?;
    }
    let mut step = Steps {
        store,
        incident_id: incident.id,
        actor_id: actor.id,
        now,
    };
    let started = if drill {
        "Drill started: every step is recorded, nothing real is changed"
    } else {
        "Lockdown started"
    };
    store
        .add_incident_event(incident.id, now, "status", Some(actor.id), None, started)
        .await?;
    let in_flight = if drill {
        let scheduled = store.count_account_posts(account.id, "scheduled").await?;
        step.set(
            "pause_queue",
            Outcome::Done,
            &format!("Drill: the queue was not paused ({scheduled} posts are scheduled)"),
        )
        .await?;
        step.set(
            "cancel_approvals",
            Outcome::Done,
            "Drill: no approval was cancelled",
        )
        .await?;
        Vec::new()
    } else {
        store.pause_account(account.id, incident.id, now).await?;
        let note = format!("held by the lockdown of incident {}", incident.id);
        let held = store
            .hold_scheduled_posts(account.id, actor.id, &note, now)
            .await?;
        let cancelled = store
            .cancel_pending_approvals(account.id, actor.id, &note, now)
            .await?;
        let in_flight = store.posts_in_flight(account.id).await?;
        step.set(
            "pause_queue",
            Outcome::Done,
            &format!(
                "Queue paused: {} scheduled posts taken off the schedule (they stay approved){}",
                held.len(),
                match in_flight.len() {
                    0 => String::new(),
                    count => format!("; {count} already being published (see below)"),
                }
            ),
        )
        .await?;
        step.set(
            "cancel_approvals",
            Outcome::Done,
            &format!(
                "{} posts waiting for approval sent back to their authors",
                cancelled.len()
            ),
        )
        .await?;
        in_flight
    };
    step.set(
        "revoke_tokens",
        Outcome::Pending,
        "Asking the network to revoke Herald's tokens",
    )
    .await?;
    if drill {
        step.set(
            "rotate_credentials",
            Outcome::Done,
            "Drill: no credential was marked \"rotate now\"",
        )
        .await?;
    } else {
        let detail = format!(
            "incident {}: the account may be in someone else's hands",
            incident.id
        );
        credentials::ask_rotation(store, account.id, "incident", &detail, now).await?;
        step.set(
            "rotate_credentials",
            Outcome::Done,
            "Every credential of the account is marked \"rotate now\" (reason: incident)",
        )
        .await?;
    }
    let names: Vec<&str> = members.iter().map(|member| member.email.as_str()).collect();
    let sessions = match (members.is_empty(), drill) {
        (true, _) => "No member was named".to_owned(),
        (false, true) => format!("Drill: the sessions of {} were not ended", names.join(", ")),
        (false, false) => {
            let mut ended = 0;
            for member in members {
                ended += store.delete_user_sessions(member.id).await?;
            }
            format!("{ended} sessions of {} ended", names.join(", "))
        }
    };
    step.set("end_sessions", Outcome::Done, &sessions).await?;
    let told = tell_everyone(store, account, &incident, drill, now).await?;
    step.set(
        "notify",
        Outcome::Done,
        &format!("{told} people with access told"),
    )
    .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.locked_down",
        Some(format!("account:{}", account.id)),
        None,
        serde_json::json!({
            "incident": incident.id,
            "drill": drill,
            "in_flight": in_flight,
            "sessions_ended_of": members.iter().map(|member| member.id).collect::<Vec<_>>(),
        }),
    )
    .await?;
    work.commit().await?;
    let incident = IncidentRecord { drill, ..incident };
    Ok(Some((incident, in_flight)))
}

/// Waits (bounded) for the attempts that were under way when the queue paused, and puts how
/// each ended in the timeline: out before the lockdown, or not sent.
async fn wait_for_in_flight(
    store: &Store,
    incident: &IncidentRecord,
    in_flight: &[PostId],
) -> Result<(), AppError> {
    let waited_since = std::time::Instant::now();
    let mut pending: Vec<PostId> = in_flight.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in &pending {
            let Some(post) = store.post(*id).await? else {
                continue;
            };
            if post.state.as_str() == "publishing" && waited_since.elapsed() < IN_FLIGHT_WAIT {
                still.push(*id);
                continue;
            }
            let text = match post.state.as_str() {
                "published" => format!(
                    "Post {id} was already being published when the lockdown began: it went out before the lockdown ({})",
                    post.remote_url.as_deref().unwrap_or("no address given")
                ),
                "publishing" => format!(
                    "Post {id} was being published when the lockdown began and has not ended yet; check it on the network"
                ),
                state => format!(
                    "Post {id} was being published when the lockdown began: it did not go out ({state})"
                ),
            };
            let at = post.updated_at;
            store
                .add_incident_event(incident.id, at, "lockdown", None, None, &text)
                .await?;
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Revokes Herald's tokens at the network (where its API allows) and drops them from the
/// vault, recording the outcome; marks the incident locked down when no step is left failing.
async fn revoke_step(
    services: &Services,
    actor: &UserRecord,
    account: &AccountRecord,
    incident: &IncidentRecord,
) -> Result<(), AppError> {
    let Services {
        store,
        keys,
        networks,
        ..
    } = services;
    let (outcome, detail, drop) =
        revoke_at_network(store, keys, networks, account, incident.drill).await?;
    let now = services.now();
    let work = store.write().await?;
    let store: &Store = &work;
    if drop {
        store.drop_tokens(account.id).await?;
    }
    Steps {
        store,
        incident_id: incident.id,
        actor_id: actor.id,
        now,
    }
    .set("revoke_tokens", outcome, &detail)
    .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.step",
        Some(format!("incident:{}", incident.id)),
        None,
        serde_json::json!({ "step": "revoke_tokens", "outcome": outcome.as_str(), "account": account.id }),
    )
    .await?;
    let steps = store.incident_steps(incident.id).await?;
    let locked = LOCKDOWN_STEPS.iter().all(|(key, _)| {
        steps.iter().any(|step| {
            step.step == *key && (step.outcome == "done" || step.outcome == "not_possible")
        })
    });
    if locked {
        store.mark_locked(incident.id, now).await?;
        store
            .add_incident_event(
                incident.id,
                now,
                "status",
                None,
                None,
                "Every lockdown step is done or not possible on this network: locked down",
            )
            .await?;
    }
    work.commit().await?;
    Ok(())
}

/// Asks the network to revoke the tokens: the step's outcome, its words, and whether the
/// tokens are to be dropped from the vault (not when the network could not be asked: they are
/// kept for the retry, and the paused queue never uses them).
async fn revoke_at_network(
    store: &Store,
    keys: &Keys,
    networks: &Networks,
    account: &AccountRecord,
    drill: bool,
) -> Result<(Outcome, String, bool), AppError> {
    let label = account.network.label();
    if drill {
        return Ok((
            Outcome::Done,
            format!("Drill: Herald's tokens were not revoked at {label} and stay in the vault"),
            false,
        ));
    }
    let Some((json, _)) = credentials::open_tokens(store, keys, account.id).await? else {
        return Ok((
            Outcome::Done,
            "Herald holds no tokens for this account".to_owned(),
            false,
        ));
    };
    let tokens = Tokens::from_vault_json(&json)
        .map_err(|error| AppError::Internal(format!("account {} tokens: {error}", account.id)))?;
    let adapter: Arc<dyn Adapter> = match account.network {
        Network::Instagram | Network::Threads => {
            return Ok((
                Outcome::NotPossible,
                format!(
                    "{label} has no API to revoke a token: Herald dropped its copy from the vault; remove Herald under Settings → Website permissions → Apps and websites in {label}"
                ),
                true,
            ));
        }
        Network::Mastodon => match mastodon_with_app(store, keys, networks, &tokens).await? {
            Some(adapter) => Arc::new(adapter),
            None => {
                return Ok((
                    Outcome::NotPossible,
                    "This connection was made with a pasted token, which only the account can revoke: Herald dropped its copy from the vault; revoke it on the instance under Preferences → Development (or Account → Authorized apps)".to_owned(),
                    true,
                ));
            }
        },
        network => networks
            .adapter(network)
            .map_err(|error| AppError::Internal(error.to_string()))?,
    };
    match adapter.revoke(&tokens).await {
        Ok(()) => {
            let mut detail =
                format!("{label} revoked Herald's tokens; Herald dropped them from the vault");
            if account.network == Network::Bluesky && tokens.dpop.is_none() {
                detail.push_str(". The app password itself can only be deleted in Bluesky's settings (recovery checklist)");
            }
            Ok((Outcome::Done, detail, true))
        }
        Err(error) => Ok((Outcome::Failed, failure_words(label, &error), false)),
    }
}

/// A failed revocation, for the timeline: what went wrong, and that the tokens are kept.
fn failure_words(label: &str, error: &NetworkError) -> String {
    let why = match error {
        NetworkError::Unavailable(_)
        | NetworkError::RateLimited { .. }
        | NetworkError::Unknown(_) => {
            format!("{label} could not be reached or did not answer ({error})")
        }
        NetworkError::Unauthorized(_) | NetworkError::Rejected(_) => {
            format!("{label} refused to revoke the tokens ({error})")
        }
    };
    format!(
        "{why}. The tokens stay sealed in the vault, unused while the queue is paused; retry this step, or revoke Herald's access in {label}'s settings"
    )
}

/// A Mastodon adapter with Herald's application at the tokens' instance, when Herald
/// registered one there (connections made by OAuth); revocation needs it.
async fn mastodon_with_app(
    store: &Store,
    keys: &Keys,
    networks: &Networks,
    tokens: &Tokens,
) -> Result<Option<networks::mastodon::Mastodon>, AppError> {
    let Some(server) = tokens.server.as_deref() else {
        return Ok(None);
    };
    let Some(client) = crate::services::oauth::mastodon_client_at(store, keys, server).await?
    else {
        return Ok(None);
    };
    Ok(Some(networks::mastodon::Mastodon::new(Endpoint::new(
        server,
        networks.outbound(),
        Some(client),
    ))))
}

/// Tells the gatekeeper, everyone with a grant and every owner.
async fn tell_everyone(
    store: &Store,
    account: &AccountRecord,
    incident: &IncidentRecord,
    drill: bool,
    now: Timestamp,
) -> Result<usize, AppError> {
    let prefix = if drill { "[Drill] " } else { "" };
    let subject = format!("{prefix}{} is locked down", account.display_name);
    let body = format!(
        "{prefix}The {} account {} was locked down: nothing Herald holds goes out, and its credentials must be changed. Follow incident {} for the recovery.",
        account.network.label(),
        account.handle,
        incident.id
    );
    let people = incidents::people_with_access(store, account).await?;
    for person in &people {
        notify::person(
            store,
            *person,
            &subject,
            &body,
            Some(&format!("/incidents/{}", incident.id)),
            now,
        )
        .await?;
    }
    Ok(people.len())
}

/// Writes a step's outcome and its timeline line.
struct Steps<'a> {
    store: &'a Store,
    incident_id: i64,
    actor_id: UserId,
    now: Timestamp,
}

impl Steps<'_> {
    async fn set(&mut self, step: &str, outcome: Outcome, detail: &str) -> Result<(), AppError> {
        self.store
            .set_step(
                self.incident_id,
                &StepRecord {
                    step: step.to_owned(),
                    phase: "lockdown".to_owned(),
                    outcome: outcome.as_str().to_owned(),
                    detail: detail.to_owned(),
                    by_user: Some(self.actor_id),
                    at: self.now,
                },
                "lockdown",
            )
            .await?;
        Ok(())
    }
}
