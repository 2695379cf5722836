//! Incidents as pages and API use them (issue 20): raising one ("I think this account is
//! hacked", or the watcher's alert), the list and one incident with its timeline and steps,
//! notes, the recovery checklist ticked (what Herald can see, it checks first), the holding
//! statements as drafts for the company's other accounts, closing (every "rotate now"
//! answered and the connection working), the queue resumed explicitly, and the report.
//! The lockdown itself is `lockdown.rs`.

use crate::domain::ids::{AccountId, PostId, UserId};
use jiff::Timestamp;

use crate::domain::access::{AccountAction, check_account};
use crate::domain::accounts::SecretField;
use crate::domain::audit::Actor;
use crate::domain::incidents::{
    LONGEST_TEXT, Outcome, RecoveryStep, fill_template, recovery_steps,
};
use crate::domain::people::Role;
use crate::services::audit::{record, words};
use crate::services::connections;
use crate::services::{AppError, Entity, Services};
use crate::services::{accounts, notify, posts};
use crate::store::{
    AccountRecord, IncidentEventRecord, IncidentRecord, NewIncident, StepRecord, Store, UserRecord,
};

/// One incident as its page and the API show it.
#[derive(Debug, Clone)]
pub struct View {
    pub incident: IncidentRecord,
    pub account: AccountRecord,
    /// The lockdown's and the recovery's steps as they stand.
    pub steps: Vec<StepRecord>,
    pub timeline: Vec<IncidentEventRecord>,
    /// The account's network's checklist, with each step's state in `steps`.
    pub checklist: Vec<RecoveryStep>,
    /// The caller may lead it: lock down, tick, close (the gatekeeper or an owner).
    pub may_lead: bool,
}

/// Evidence the watcher found on an account, for [`detected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// What kind of sign: `unknown_post`, `profile_change`, `token_refused`,
    /// `post_deleted`, `dangerous_link`.
    pub kind: &'static str,
    pub text: String,
}

/// A member raises "I think this account is hacked": an incident is opened (or the open one
/// gets the report), the gatekeeper and the owners are told.
pub async fn report(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    what: &str,
    now: Timestamp,
) -> Result<View, AppError> {
    let visible = accounts::open(store, actor, account_id, AccountAction::View).await?;
    let what = checked_text("what", what, true)?;
    let account = visible.account;
    let outer = store;
    let work = store.write().await?;
    let store: &Store = &work;
    let summary = format!("{} thinks the account is hacked", actor.name);
    let (incident, opened) = store
        .open_incident(
            &NewIncident {
                account_id,
                opened_by: "member",
                opened_by_user: Some(actor.id),
                owner_id: None,
                drill: false,
                summary: &summary,
            },
            now,
        )
        .await?;
    let text = format!("{} reported: {what}", actor.name);
    store
        .add_incident_event(incident.id, now, "evidence", Some(actor.id), None, &text)
        .await?;
    alert(store, &account, &incident, &text, now).await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.reported",
        Some(format!("incident:{}", incident.id)),
        None,
        serde_json::json!({ "account": account_id, "opened": opened }),
    )
    .await?;
    work.commit().await?;
    view(outer, actor, incident.id).await
}

/// The watcher's alert: a possible compromise with its evidence. Opens the account's incident
/// (or adds to the open one), tells the gatekeeper and the owners. Returns the incident's id.
pub async fn detected(
    store: &Store,
    account: &AccountRecord,
    evidence: &[Evidence],
    now: Timestamp,
) -> Result<i64, AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    let summary = format!(
        "Possible compromise: {}",
        evidence.first().map_or("", |first| first.text.as_str())
    );
    let (incident, opened) = store
        .open_incident(
            &NewIncident {
                account_id: account.id,
                opened_by: "detection",
                opened_by_user: None,
                owner_id: None,
                drill: false,
                summary: &summary,
            },
            now,
        )
        .await?;
    for found in evidence {
        store
            .add_incident_event(
                incident.id,
                now,
                "evidence",
                None,
                Some((found.kind, "found")),
                &found.text,
            )
            .await?;
    }
    let lines: Vec<&str> = evidence.iter().map(|found| found.text.as_str()).collect();
    alert(store, account, &incident, &lines.join("\n"), now).await?;
    record(
        store,
        now,
        Actor::System,
        "incident.detected",
        Some(format!("incident:{}", incident.id)),
        None,
        serde_json::json!({
            "account": account.id,
            "opened": opened,
            "kinds": evidence.iter().map(|found| found.kind).collect::<Vec<_>>(),
        }),
    )
    .await?;
    work.commit().await?;
    Ok(incident.id)
}

/// The incidents of the accounts the caller may see, newest first.
pub async fn list(
    store: &Store,
    actor: &UserRecord,
) -> Result<Vec<(IncidentRecord, AccountRecord)>, AppError> {
    let visible = accounts::visible(store, actor).await?;
    let mut listed = Vec::new();
    for incident in store.incidents().await? {
        if let Some(seen) = visible
            .iter()
            .find(|seen| seen.account.id == incident.account_id)
        {
            listed.push((incident, seen.account.clone()));
        }
    }
    Ok(listed)
}

/// One incident, for anyone who may see its account.
pub async fn view(store: &Store, actor: &UserRecord, id: i64) -> Result<View, AppError> {
    let not_found = || AppError::not_found(Entity::Incident, format!("there is no incident {id}"));
    let incident = store.incident(id).await?.ok_or_else(not_found)?;
    let visible = accounts::open(store, actor, incident.account_id, AccountAction::View)
        .await
        .map_err(|_| not_found())?;
    let may_lead = check_account(actor.role, visible.level, AccountAction::LockDown).is_ok();
    let steps = store.incident_steps(id).await?;
    let mut timeline = store.incident_events(id).await?;
    timeline.extend(audit_lines(store, &incident).await?);
    // Stable: at the same millisecond the incident's own line comes before the audit entry.
    timeline.sort_by_key(|event| event.at);
    Ok(View {
        checklist: recovery_steps(visible.account.network),
        account: visible.account,
        incident,
        steps,
        timeline,
        may_lead,
    })
}

/// How many audit entries an incident's timeline shows at most.
const AUDIT_LINES: i64 = 500;

/// The audit entries about the incident's account from its opening to its closing (or now),
/// in people's words, as timeline lines of kind `audit` (the action in `step`). The entries
/// the incident itself wrote (targeted at it) are left out: its timeline has them already.
async fn audit_lines(
    store: &Store,
    incident: &IncidentRecord,
) -> Result<Vec<IncidentEventRecord>, AppError> {
    let until = incident.closed_at.unwrap_or(Timestamp::MAX);
    let entries = store
        .audit_entries_about(incident.account_id, incident.opened_at, until, AUDIT_LINES)
        .await?;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let users = store.list_users().await?;
    let accounts = store.all_accounts().await?;
    let names = words::Names {
        users: &users,
        accounts: &accounts,
    };
    Ok(entries
        .iter()
        .filter(|entry| {
            !entry
                .target
                .as_deref()
                .is_some_and(|target| target.starts_with("incident:"))
        })
        .map(|entry| IncidentEventRecord {
            id: 0,
            at: entry.at,
            kind: "audit".to_owned(),
            actor_id: entry
                .actor
                .strip_prefix("user:")
                .and_then(|id| id.parse::<i64>().ok())
                .map(UserId::new),
            step: Some(entry.action.clone()),
            outcome: None,
            text: names.sentence(entry),
        })
        .collect())
}

/// Adds a note to the timeline; anyone who may see the account.
pub async fn note(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    text: &str,
    now: Timestamp,
) -> Result<View, AppError> {
    let shown = view(store, actor, id).await?;
    let text = checked_text("text", text, true)?;
    let outer = store;
    let work = store.write().await?;
    let store: &Store = &work;
    store
        .add_incident_event(id, now, "note", Some(actor.id), None, &text)
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.note_added",
        Some(format!("incident:{id}")),
        None,
        serde_json::json!({ "account": shown.account.id }),
    )
    .await?;
    work.commit().await?;
    view(outer, actor, id).await
}

/// Ticks a recovery step (the gatekeeper or an owner). The steps Herald can check are
/// refused until it sees them done: a new password stored, the 2FA seed stored again, the
/// connection working again (asked of the network).
pub async fn tick(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    key: &str,
) -> Result<View, AppError> {
    let store = &services.store;
    let now = services.now();
    let (incident, account) = open_to_lead(store, actor, id).await?;
    if incident.closed_at.is_some() {
        return Err(AppError::Conflict("the incident is closed".to_owned()));
    }
    let checklist = recovery_steps(account.network);
    let step = checklist
        .iter()
        .find(|step| step.key == key)
        .ok_or_else(|| AppError::Invalid {
            field: "step",
            message: format!(
                "there is no recovery step {key}; the steps are {}",
                checklist
                    .iter()
                    .map(|step| step.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    let detail = if step.verified_by_herald && !incident.drill {
        verify(services, &account, &incident, key).await?
    } else if step.verified_by_herald {
        "Drill: ticked without Herald checking".to_owned()
    } else {
        "Ticked".to_owned()
    };
    let outer = store;
    let work = store.write().await?;
    let store: &Store = &work;
    store
        .set_step(
            id,
            &StepRecord {
                step: key.to_owned(),
                phase: "recovery".to_owned(),
                outcome: Outcome::Done.as_str().to_owned(),
                detail: format!("{}: {detail}", step.label),
                by_user: Some(actor.id),
                at: now,
            },
            "recovery",
        )
        .await?;
    mark_if_recovered(store, id, account.network, now).await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.step",
        Some(format!("incident:{id}")),
        None,
        serde_json::json!({ "step": key, "outcome": "done", "account": account.id }),
    )
    .await?;
    work.commit().await?;
    view(outer, actor, id).await
}

/// Marks the incident recovered once every step of the network's checklist is done, in the
/// caller's unit of work.
pub(crate) async fn mark_if_recovered(
    store: &Store,
    id: i64,
    network: crate::domain::accounts::Network,
    now: Timestamp,
) -> Result<(), AppError> {
    let steps = store.incident_steps(id).await?;
    let all_done = recovery_steps(network).iter().all(|wanted| {
        steps
            .iter()
            .any(|step| step.step == wanted.key && step.outcome == Outcome::Done.as_str())
    });
    if all_done {
        store.mark_recovered(id, now).await?;
    }
    Ok(())
}

/// Closes the incident (the gatekeeper or an owner): every "rotate now" of the account must be
/// answered and Herald's connection must work again (asked of the network), except in a
/// drill. The queue stays paused until someone resumes it ([`resume`]).
pub async fn close(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    lessons: &str,
) -> Result<View, AppError> {
    let store = &services.store;
    let now = services.now();
    let (incident, account) = open_to_lead(store, actor, id).await?;
    if incident.closed_at.is_some() {
        return Err(AppError::Conflict(
            "the incident is closed already".to_owned(),
        ));
    }
    let lessons = checked_text("lessons", lessons, false)?;
    if !incident.drill {
        let open: Vec<String> = store
            .rotations_of(account.id)
            .await?
            .into_iter()
            .filter(|rotation| rotation.done_at.is_none())
            .map(|rotation| rotation.reason)
            .collect();
        if !open.is_empty() {
            return Err(AppError::Conflict(format!(
                "the account's credentials still need changing (\"rotate now\": {}): store the new password first",
                open.join(", ")
            )));
        }
        connection_works(services, &account).await?;
    }
    let outer = store;
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.close_incident(id, actor.id, &lessons, now).await? {
        return Err(AppError::Conflict(
            "the incident is closed already".to_owned(),
        ));
    }
    let text = format!(
        "{} closed the incident; the queue stays paused until someone resumes it",
        actor.name
    );
    store
        .add_incident_event(id, now, "status", Some(actor.id), None, &text)
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.closed",
        Some(format!("incident:{id}")),
        None,
        serde_json::json!({ "account": account.id, "drill": incident.drill }),
    )
    .await?;
    work.commit().await?;
    view(outer, actor, id).await
}

/// Resumes the account's queue after its incident is closed (explicitly; scheduled posts the
/// lockdown held stay approved, to be scheduled again one by one).
pub async fn resume(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    now: Timestamp,
) -> Result<(), AppError> {
    accounts::open(store, actor, account_id, AccountAction::LockDown).await?;
    if let Some(open) = store.open_incident_of(account_id).await? {
        return Err(AppError::Conflict(format!(
            "incident {} is still open: close it first (new password stored, connection working)",
            open.id
        )));
    }
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.resume_account(account_id).await? {
        return Err(AppError::Conflict(
            "the account's queue is not paused".to_owned(),
        ));
    }
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.queue_resumed",
        Some(format!("account:{account_id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    work.commit().await?;
    Ok(())
}

/// The holding statement (`holding`) or the all-clear (`all_clear`) template.
pub async fn template(store: &Store, kind: &str) -> Result<String, AppError> {
    store
        .incident_template(template_kind(kind)?)
        .await?
        .ok_or_else(|| AppError::Internal(format!("the {kind} template is missing")))
}

/// Changes a template: owners only.
pub async fn set_template(
    store: &Store,
    actor: &UserRecord,
    kind: &str,
    text: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    if actor.role != Role::Owner {
        return Err(AppError::Denied(
            "only owners change the holding statements".to_owned(),
        ));
    }
    let kind = template_kind(kind)?;
    let text = checked_text("text", text, true)?;
    let work = store.write().await?;
    let store: &Store = &work;
    store
        .set_incident_template(kind, &text, actor.id, now)
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.template_changed",
        Some(format!("template:{kind}")),
        None,
        serde_json::json!({ "kind": kind }),
    )
    .await?;
    work.commit().await?;
    Ok(())
}

/// Telling people: the template, filled in, as a draft on each of the company's other
/// accounts named (the normal composer, policy and approval apply when it is submitted), and
/// a notice to every active member. Returns the drafts' ids.
pub async fn statements(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    kind: &str,
    account_ids: &[AccountId],
    now: Timestamp,
) -> Result<Vec<PostId>, AppError> {
    let shown = view(store, actor, id).await?;
    let template = template(store, kind).await?;
    if account_ids.contains(&shown.account.id) {
        return Err(AppError::Invalid {
            field: "account_ids",
            message:
                "the statement goes to the company's other accounts, not the one in the incident"
                    .to_owned(),
        });
    }
    let text = fill_template(
        &template,
        &shown.account.display_name,
        shown.account.network,
    );
    let mut drafts = Vec::new();
    for account_id in account_ids {
        drafts.push(
            posts::create(store, actor, *account_id, &text, now)
                .await?
                .post
                .id,
        );
    }
    let work = store.write().await?;
    let store: &Store = &work;
    let drill = if shown.incident.drill { "[Drill] " } else { "" };
    let subject = format!(
        "{drill}{} may be in someone else's hands",
        shown.account.display_name
    );
    let body = format!(
        "{drill}Ignore messages and links from the {} account {} until we say it is safe again; do not answer anyone who writes to you from it.",
        shown.account.network.label(),
        shown.account.handle
    );
    let link = format!("/incidents/{id}");
    let mut told = 0;
    for member in store.list_users().await? {
        if member.active {
            notify::person(
                store,
                crate::domain::notifications::NotificationKind::PossibleCompromise,
                member.id,
                &subject,
                &body,
                Some(&link),
                now,
            )
            .await?;
            told += 1;
        }
    }
    let text = format!(
        "{} drafted the {} statement on {} other accounts and told {told} members",
        actor.name,
        if kind == "holding" {
            "holding"
        } else {
            "all-clear"
        },
        drafts.len()
    );
    store
        .add_incident_event(id, now, "note", Some(actor.id), None, &text)
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "incident.statement_drafted",
        Some(format!("incident:{id}")),
        None,
        serde_json::json!({ "kind": kind, "posts": drafts }),
    )
    .await?;
    work.commit().await?;
    Ok(drafts)
}

/// The incident report as Markdown: what happened, what was done, how long each phase took.
pub fn report_markdown(view: &View, names: &dyn Fn(Option<UserId>) -> String) -> String {
    let incident = &view.incident;
    let account = &view.account;
    let mut out = String::new();
    let drill = if incident.drill { " (DRILL)" } else { "" };
    out.push_str(&format!(
        "# Incident {}{drill}: {} on {}\n\n",
        incident.id,
        account.display_name,
        account.network.label()
    ));
    if incident.drill {
        out.push_str("**This was a drill: nothing real was revoked, paused or changed.**\n\n");
    }
    out.push_str(&format!(
        "- Account: {} ({})\n",
        account.handle,
        account.network.label()
    ));
    out.push_str(&format!(
        "- Opened: {} by {}\n",
        incident.opened_at,
        opened_by(incident, names)
    ));
    out.push_str(&format!("- Status: {}\n", incident.status));
    out.push_str(&format!("- Led by: {}\n", names(incident.owner_id)));
    for (phase, from, to) in phases(incident) {
        let took = match (from, to) {
            (Some(from), Some(to)) => human_duration(to.duration_since(from)),
            _ => "not reached".to_owned(),
        };
        out.push_str(&format!("- {phase}: {took}\n"));
    }
    out.push_str("\n## Lockdown\n\n");
    for step in view.steps.iter().filter(|step| step.phase == "lockdown") {
        out.push_str(&format!(
            "- **{}** — {}: {}\n",
            step.step, step.outcome, step.detail
        ));
    }
    out.push_str("\n## Recovery\n\n");
    for item in &view.checklist {
        let done = view.steps.iter().find(|step| step.step == item.key);
        match done {
            Some(step) => out.push_str(&format!(
                "- [x] {} — {} at {}\n",
                item.label,
                names(step.by_user),
                step.at
            )),
            None => out.push_str(&format!("- [ ] {}\n", item.label)),
        }
    }
    out.push_str("\n## Timeline\n\n");
    for event in &view.timeline {
        out.push_str(&format!(
            "- {} — {} ({}): {}\n",
            event.at,
            event.kind,
            names(event.actor_id),
            event.text.replace('\n', " ")
        ));
    }
    out.push_str("\n## Lessons\n\n");
    out.push_str(
        incident
            .lessons
            .as_deref()
            .filter(|text| !text.is_empty())
            .unwrap_or("(none written yet)"),
    );
    out.push('\n');
    out
}

/// The phases of an incident with their start and end, for the report.
pub fn phases(
    incident: &IncidentRecord,
) -> [(&'static str, Option<Timestamp>, Option<Timestamp>); 4] {
    let opened = Some(incident.opened_at);
    [
        (
            "From the alert to the lockdown",
            opened,
            incident.lockdown_started_at,
        ),
        (
            "Lockdown (first step to last)",
            incident.lockdown_started_at,
            incident.locked_at,
        ),
        (
            "Recovery (lockdown to every step ticked)",
            incident.locked_at.or(incident.lockdown_started_at),
            incident.recovered_at,
        ),
        ("Whole incident", opened, incident.closed_at),
    ]
}

/// `1 h 5 min 3 s`, or milliseconds under a second.
pub fn human_duration(duration: jiff::SignedDuration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis} ms");
    }
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds} s"),
        (0, _) => format!("{minutes} min {seconds} s"),
        _ => format!("{hours} h {minutes} min {seconds} s"),
    }
}

fn opened_by(incident: &IncidentRecord, names: &dyn Fn(Option<UserId>) -> String) -> String {
    match incident.opened_by.as_str() {
        "detection" => "Herald's watcher".to_owned(),
        _ => names(incident.opened_by_user),
    }
}

/// The incident and its account, for the gatekeeper or an owner.
pub(crate) async fn open_to_lead(
    store: &Store,
    actor: &UserRecord,
    id: i64,
) -> Result<(IncidentRecord, AccountRecord), AppError> {
    let shown = view(store, actor, id).await?;
    if !shown.may_lead {
        return Err(AppError::Denied(
            "only the account's gatekeeper (or an owner) leads its incident".to_owned(),
        ));
    }
    Ok((shown.incident, shown.account))
}

/// Everyone who may use the account: its gatekeeper, members with a grant, and the owners.
pub(crate) async fn people_with_access(
    store: &Store,
    account: &AccountRecord,
) -> Result<Vec<UserId>, AppError> {
    let mut people = vec![account.gatekeeper_id];
    for (user_id, _) in store.grants(account.id).await? {
        people.push(user_id);
    }
    for user in store.list_users().await? {
        if user.role == Role::Owner {
            people.push(user.id);
        }
    }
    let users = store.list_users().await?;
    people.retain(|id| users.iter().any(|user| user.id == *id && user.active));
    people.sort_unstable();
    people.dedup();
    Ok(people)
}

/// Tells the gatekeeper and the owners of a possible compromise.
async fn alert(
    store: &Store,
    account: &AccountRecord,
    incident: &IncidentRecord,
    evidence: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let subject = format!("Possible compromise of {}", account.display_name);
    let body = format!(
        "{evidence}\n\nIf this was not one of you, lock the account down from incident {}.",
        incident.id
    );
    let link = format!("/incidents/{}", incident.id);
    crate::services::webhooks::raise(
        store,
        crate::domain::webhooks::WebhookEvent::IncidentOpened,
        &subject,
        evidence,
        Some(&link),
        serde_json::json!({ "incident_id": incident.id, "account_id": account.id, "drill": incident.drill }),
        now,
    )
    .await?;
    let mut told = vec![account.gatekeeper_id];
    for user in store.list_users().await? {
        if user.role == Role::Owner && user.active {
            told.push(user.id);
        }
    }
    told.sort_unstable();
    told.dedup();
    for person in told {
        notify::person(
            store,
            crate::domain::notifications::NotificationKind::PossibleCompromise,
            person,
            &subject,
            &body,
            Some(&link),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Checks what Herald can see of a recovery step; the words for the timeline.
async fn verify(
    services: &Services,
    account: &AccountRecord,
    incident: &IncidentRecord,
    key: &str,
) -> Result<String, AppError> {
    let store = &services.store;
    let since = incident.opened_at;
    let stored_since = |field: SecretField| async move {
        Ok::<bool, AppError>(
            store
                .secret(account.id, field.as_str())
                .await?
                .is_some_and(|secret| secret.updated_at >= since),
        )
    };
    match key {
        "change_password" => {
            if !stored_since(SecretField::LoginPassword).await? {
                return Err(not_yet(
                    "store the new password in Herald (the account's page) first; Herald checks it is new since the incident began",
                ));
            }
            Ok("Herald sees a new password stored since the incident began".to_owned())
        }
        "reenrol_2fa" => {
            if !stored_since(SecretField::TotpSeed).await? {
                return Err(not_yet(
                    "store the new two-step verification seed in Herald (the account's page) first",
                ));
            }
            Ok(
                "Herald sees a new two-step verification seed stored since the incident began"
                    .to_owned(),
            )
        }
        "reconnect_herald" => {
            connection_works(services, account).await?;
            Ok("Herald's connection works again (the network confirmed who it acts as)".to_owned())
        }
        _ => Ok("Ticked".to_owned()),
    }
}

/// Asks the network who Herald's tokens act as; an error says what to do.
async fn connection_works(services: &Services, account: &AccountRecord) -> Result<(), AppError> {
    let adapter = services
        .networks
        .adapter(account.network)
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let tokens = connections::tokens_for(services, adapter.as_ref(), account, services.now())
        .await
        .map_err(|_| not_yet("connect Herald to the account again (the account's page) first"))?;
    adapter.account_info(&tokens).await.map_err(|error| {
        not_yet(&format!(
            "Herald's connection does not work yet ({error}); connect the account again"
        ))
    })?;
    Ok(())
}

fn not_yet(message: &str) -> AppError {
    AppError::Conflict(message.to_owned())
}

fn template_kind(kind: &str) -> Result<&'static str, AppError> {
    match kind {
        "holding" => Ok("holding"),
        "all_clear" => Ok("all_clear"),
        _ => Err(AppError::Invalid {
            field: "kind",
            message: "the template is holding or all_clear".to_owned(),
        }),
    }
}

/// Free text of at most [`LONGEST_TEXT`] characters; `required` refuses a blank one.
fn checked_text(field: &'static str, text: &str, required: bool) -> Result<String, AppError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(AppError::Invalid {
            field,
            message: "write a few words".to_owned(),
        });
    }
    if text.chars().count() > LONGEST_TEXT {
        return Err(AppError::Invalid {
            field,
            message: format!("write at most {LONGEST_TEXT} characters"),
        });
    }
    Ok(text.to_owned())
}

/// A member's name by id, for pages and the report (`None`: Herald itself).
pub fn member_name(users: &[UserRecord], id: Option<UserId>) -> String {
    match id {
        None => "Herald".to_owned(),
        Some(id) => users
            .iter()
            .find(|user| user.id == id)
            .map_or_else(|| format!("member {id}"), |user| user.name.clone()),
    }
}
