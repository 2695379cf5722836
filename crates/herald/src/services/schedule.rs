//! Scheduling as the composer, the calendar and the API use it: giving a post its time (an
//! explicit date and time in the account's time zone, or the account's next free queue slot),
//! taking it off the schedule, what approval does with a post that already has a time, each
//! account's weekly queue, and the calendar of what goes out when.
//!
//! A scheduled post always has a publish job, written in the same transaction
//! (`store/publishing.rs`); the publisher (`jobs/publish.rs`) takes it from there.

use crate::domain::ids::{AccountId, PostId};
use jiff::Timestamp;

use crate::domain::access::{AccountAction, check_account};
use crate::domain::audit::{Actor, NewAuditEntry};
use crate::domain::posts::{PostState, Step};
use crate::domain::schedule::{self, APPROVAL_GRACE, ScheduleError, Slot, Zone};
use crate::jobs::publish_job;
use crate::services::accounts::{self, Visible};
use crate::services::audit::{record, record_for_post};
use crate::services::posts::{self, PostView};
use crate::services::{AppError, Services};
use crate::store::{AccountRecord, PostRecord, Store, TimeChange, UserRecord};

/// When to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// As typed: `2026-12-24T09:30` in the account's zone, or with an offset.
    At(String),
    /// The account's next free queue slot.
    Queue,
}

/// Gives a post its time. An approved post (or one whose approval expired, or that failed) is
/// scheduled: publisher access, and an explicit `confirmed` for accounts that ask for it. A
/// draft or submitted post keeps the time as a wish, used once it is approved: its author or a
/// publisher of the account may change it, and each change is in its history and the audit log.
pub async fn schedule(
    services: &Services,
    actor: &UserRecord,
    id: PostId,
    when: &When,
    confirmed: bool,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let Services { store, .. } = services;
    let max_attempts = services.config.jobs.max_attempts;
    let (post, visible) = posts::open(store, actor, id, AccountAction::Draft).await?;
    let zone = zone_of(&visible.account)?;
    let at = resolve(store, &visible.account, &zone, when, now).await?;
    if matches!(post.state, PostState::Draft | PostState::Submitted) {
        if post.author_id != actor.id {
            check_account(actor.role, visible.level, AccountAction::Publish).map_err(|_| {
                AppError::Denied(
                    "only the post's author or a publisher of this account can change its time"
                        .to_owned(),
                )
            })?;
        }
        let note = format!("time wished: {}", zone.show(at));
        let details = serde_json::json!({
            "at": at.to_string(),
            "from": post.scheduled_at.map(|at| at.to_string()),
            "queue": *when == When::Queue,
        });
        let audit = NewAuditEntry {
            actor: Actor::User(actor.id),
            action: "post.time_wished".to_owned(),
            target: Some(format!("post:{id}")),
            ip: None,
            details,
        };
        let change = TimeChange {
            id,
            state: post.state,
            at: Some(at),
            actor_id: actor.id,
            note: &note,
            audit: &audit,
            now,
        };
        if !store.set_post_time(&change).await? {
            return Err(changed_meanwhile());
        }
        return posts::view(store, actor, id).await;
    }
    // The account is already open: only the publish rule is left to check.
    check_account(actor.role, visible.level, AccountAction::Publish)
        .map_err(|denied| AppError::Denied(denied.0))?;
    post.state.after(Step::Schedule).map_err(posts::not_now)?;
    require_confirmation(&visible, confirmed)?;
    let note = format!("scheduled for {}", zone.show(at));
    let job = publish_job(id, at, max_attempts);
    let work = store.write().await?;
    if !work
        .schedule_post(id, post.state, at, Some(actor.id), &note, &job, now)
        .await?
    {
        return Err(changed_meanwhile());
    }
    let details = serde_json::json!({ "at": at.to_string(), "queue": *when == When::Queue });
    record_for_post(&work, now, actor, "post.scheduled", id, details).await?;
    work.commit().await?;
    posts::view(store, actor, id).await
}

/// Takes a scheduled post off the schedule; it stays approved, keeping its time as a wish.
pub async fn unschedule(
    store: &Store,
    actor: &UserRecord,
    id: PostId,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let (post, _) = posts::open(store, actor, id, AccountAction::Publish).await?;
    let approved = post.state.after(Step::Unschedule).map_err(posts::not_now)?;
    let work = store.write().await?;
    if !work
        .step_post(
            id,
            post.state,
            approved,
            actor.id,
            "taken off the schedule",
            now,
        )
        .await?
    {
        return Err(changed_meanwhile());
    }
    record_for_post(
        &work,
        now,
        actor,
        "post.unscheduled",
        id,
        serde_json::json!({}),
    )
    .await?;
    work.commit().await?;
    posts::view(store, actor, id).await
}

/// What approval does with a post's wished-for time: schedules it while the time is still
/// ahead (less a minute's grace), or marks the approval expired when it came too late. An
/// answer from the inbox has no time of its own: it goes out as soon as it is approved. Posts
/// to accounts that ask for confirmation stay approved until someone schedules them.
pub(crate) async fn after_approval(
    store: &Store,
    post: &PostRecord,
    account: &AccountRecord,
    actor: &UserRecord,
    max_attempts: u32,
    now: Timestamp,
) -> Result<(), AppError> {
    let at = match post.scheduled_at {
        Some(at) => at,
        None if store.inbox_item_replied_by(post.id).await?.is_some() => now,
        None => return Ok(()),
    };
    let zone = zone_of(account)?;
    if at
        .checked_add(APPROVAL_GRACE)
        .is_ok_and(|latest| latest <= now)
    {
        let note = format!(
            "approved after its time ({}); choose a new time",
            zone.show(at)
        );
        store
            .step_post(
                post.id,
                PostState::Approved,
                PostState::ExpiredApproval,
                actor.id,
                &note,
                now,
            )
            .await?;
        return Ok(());
    }
    if account.confirm_before_publish {
        return Ok(());
    }
    let at = at.max(now);
    let note = format!("scheduled for {} on approval", zone.show(at));
    let job = publish_job(post.id, at, max_attempts);
    store
        .schedule_post(
            post.id,
            PostState::Approved,
            at,
            Some(actor.id),
            &note,
            &job,
            now,
        )
        .await?;
    Ok(())
}

/// An account's time zone and weekly slots (anyone who can see the account).
pub async fn queue(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
) -> Result<(Zone, Vec<Slot>), AppError> {
    let visible = accounts::open(store, actor, account_id, AccountAction::View).await?;
    Ok((
        zone_of(&visible.account)?,
        store.queue_slots(account_id).await?,
    ))
}

/// Replaces an account's time zone and weekly slots (publisher access). Scheduled posts keep
/// their times: changing the zone or slots moves nothing already scheduled.
pub async fn set_queue(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    time_zone: &str,
    slots: &[Slot],
    now: Timestamp,
) -> Result<(), AppError> {
    accounts::open(store, actor, account_id, AccountAction::Publish).await?;
    let zone = Zone::parse(time_zone).map_err(invalid("time_zone"))?;
    let work = store.write().await?;
    work.set_queue(account_id, zone.name(), slots).await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "account.queue_changed",
        Some(format!("account:{account_id}")),
        None,
        serde_json::json!({ "time_zone": zone.name(), "slots": slots.len() }),
    )
    .await?;
    Ok(work.commit().await?)
}

/// Posts due or published in `[from, to)` on accounts `actor` can see, oldest first.
pub async fn calendar(
    store: &Store,
    actor: &UserRecord,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(PostRecord, Visible)>, AppError> {
    let visible = accounts::visible(store, actor).await?;
    let mut entries = Vec::new();
    for post in store.posts_between(from, to, 5_000).await? {
        if let Some(account) = visible
            .iter()
            .find(|seen| seen.account.id == post.account_id)
        {
            entries.push((post, account.clone()));
        }
    }
    Ok(entries)
}

/// The account's time zone; a stored name this build does not know reads as UTC, loudly.
pub fn zone_of(account: &AccountRecord) -> Result<Zone, AppError> {
    Zone::parse(&account.time_zone)
        .map_err(|error| AppError::Internal(format!("account {}: {error}", account.id)))
}

async fn resolve(
    store: &Store,
    account: &AccountRecord,
    zone: &Zone,
    when: &When,
    now: Timestamp,
) -> Result<Timestamp, AppError> {
    match when {
        When::At(text) => {
            let at = schedule::parse_time(text, zone).map_err(invalid("at"))?;
            schedule::require_future(at, now, zone).map_err(invalid("at"))?;
            Ok(at)
        }
        When::Queue => {
            let slots = store.queue_slots(account.id).await?;
            let taken = store.taken_times(account.id, now).await?;
            schedule::next_free_slot(&slots, zone, now, &taken).map_err(invalid("at"))
        }
    }
}

fn require_confirmation(visible: &Visible, confirmed: bool) -> Result<(), AppError> {
    if confirmed || !visible.account.confirm_before_publish {
        return Ok(());
    }
    Err(AppError::Invalid {
        field: "confirm",
        message: format!(
            "{} ({} on {}) asks for confirmation before every post: confirm that this post goes to {}",
            visible.account.display_name,
            visible.account.handle,
            visible.account.network.label(),
            visible.account.handle
        ),
    })
}

fn invalid(field: &'static str) -> impl Fn(ScheduleError) -> AppError {
    move |error| AppError::Invalid {
        field,
        message: error.to_string(),
    }
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict("someone else changed this post meanwhile; reload it".to_owned())
}
