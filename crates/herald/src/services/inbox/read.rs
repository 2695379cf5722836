//! Reading one account's inbox: the network's new items from the stored cursor, each
//! screened, saved once (the account's unique key per network item) in one unit of work with
//! the new cursor, so a read that dies half-way (even `kill -9`) saved nothing and the next
//! one starts from the same place. A failed read keeps the cursor and waits: until the
//! network's rate-limit reset, or longer after each failure in a row.

use crate::domain::ids::AccountId;
use jiff::{SignedDuration, Timestamp};
use networks::{Incoming, IncomingKind, NetworkError, ReadLimits};

use super::screen::Screen;
use crate::domain::inbox::{ItemKind, capped};
use crate::services::connections::{self, TokensError};
use crate::services::links::Reach;
use crate::services::{AppError, Services};
use crate::store::{NewInboxItem, Store};

/// The longest wait between reads after failures in a row.
const LONGEST_BACKOFF: SignedDuration = SignedDuration::from_hours(1);

/// What one read did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Items saved for the first time.
    pub new: usize,
    /// Items read again and left as they were (already saved).
    pub repeated: usize,
    /// Whether the network has more, read at once again.
    pub more: bool,
    /// Why the read failed, if it did (the cursor stayed).
    pub failed: Option<String>,
}

/// Reads account `account_id`'s inbox once, if it is connected and its network is read.
pub async fn read_account(
    services: &Services,
    account_id: AccountId,
    now: Timestamp,
) -> Result<ReadSummary, AppError> {
    let store = &services.store;
    let config = &services.config.inbox;
    let Some(account) = store.account(account_id).await? else {
        return Ok(ReadSummary::default());
    };
    let interval =
        SignedDuration::from_secs(i64::try_from(config.poll_interval_seconds).unwrap_or(i64::MAX));
    let Some(reader) = services.networks.reader(account.network) else {
        // Nothing to read at this network (yet): look again a day later, not every minute.
        let later = now
            .saturating_add(SignedDuration::from_hours(24))
            .unwrap_or(now);
        let why = format!(
            "Herald does not read {}'s inbox yet",
            account.network.label()
        );
        failed(store, account_id, &why, later).await?;
        return Ok(ReadSummary {
            failed: Some(why),
            ..ReadSummary::default()
        });
    };
    let cursor = store.inbox_cursor(account_id).await?;
    let failures = cursor.as_ref().map_or(0, |cursor| cursor.failures);
    let adapter = services
        .networks
        .adapter(account.network)
        .map_err(|error| AppError::Unavailable(error.to_string()))?;
    let limits = ReadLimits {
        page_size: config.page_size,
        pages: config.pages_per_read,
    };
    let read = match connections::tokens_for(services, adapter.as_ref(), &account, now).await {
        Ok(tokens) => {
            reader
                .read_inbox(
                    &tokens,
                    cursor.as_ref().and_then(|cursor| cursor.cursor.as_deref()),
                    limits,
                )
                .await
        }
        Err(TokensError::Network(error)) => Err(error),
        Err(other) => Err(NetworkError::Unauthorized(other.to_string())),
    };
    let read = match read {
        Ok(read) => read,
        Err(error) => {
            let next = after_failure(&error, failures + 1, interval, now);
            tracing::warn!(
                account.id = account_id.get(),
                network = account.network.as_str(),
                failures = failures + 1,
                next_read = %next,
                %error,
                "could not read the account's inbox; the cursor stays and the read waits"
            );
            let why = error.to_string();
            failed(store, account_id, &why, next).await?;
            return Ok(ReadSummary {
                failed: Some(why),
                ..ReadSummary::default()
            });
        }
    };
    for warning in &read.warnings {
        tracing::warn!(account.id = account_id.get(), network = account.network.as_str(), %warning, "while reading the inbox");
    }
    let screen = Screen::prepare(store, &services.policy, now).await?;
    let mut items = Vec::with_capacity(read.items.len());
    for incoming in &read.items {
        items.push(new_item(&screen, account_id, incoming, now).await);
    }
    let next = if read.more {
        now
    } else {
        now.saturating_add(interval).unwrap_or(now)
    };
    let work = store.write().await?;
    let mut new = 0;
    for item in &items {
        if work.add_inbox_item(item, now).await? {
            new += 1;
        }
    }
    work.inbox_read(account_id, read.cursor.as_deref(), next, now)
        .await?;
    work.commit().await?;
    let summary = ReadSummary {
        new,
        repeated: items.len() - new,
        more: read.more,
        failed: None,
    };
    if !items.is_empty() {
        tracing::info!(
            account.id = account_id.get(),
            new = summary.new,
            repeated = summary.repeated,
            more = summary.more,
            "read the account's inbox"
        );
    }
    Ok(summary)
}

/// Records a failed read in a unit of work of its own (on SQLite, the write turn).
async fn failed(
    store: &Store,
    account_id: AccountId,
    why: &str,
    next: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    work.inbox_read_failed(account_id, why, next).await?;
    work.commit().await?;
    Ok(())
}

/// An item as it is saved: its text capped (a cut is logged), screened.
async fn new_item(
    screen: &Screen,
    account_id: AccountId,
    incoming: &Incoming,
    now: Timestamp,
) -> NewInboxItem {
    let (text, text_cut) = capped(&incoming.text);
    if text_cut {
        tracing::warn!(
            account.id = account_id.get(),
            item = %incoming.key,
            characters = incoming.text.chars().count(),
            kept = text.chars().count(),
            "an inbox item's text was longer than Herald keeps; it was cut"
        );
    }
    // Offline: a read never sends requests to the places strangers' links name (a short
    // link is judged suspicious until someone checks where it goes; expansions already
    // cached are used).
    let screened = screen.item(incoming, now, Reach::Offline).await;
    NewInboxItem {
        account_id,
        network_key: incoming.key.clone(),
        kind: kind(incoming.kind),
        author_id: incoming.sender.id.clone(),
        author_handle: incoming.sender.handle.clone(),
        author_name: incoming.sender.display_name.clone(),
        text,
        text_cut,
        url: incoming.url.clone(),
        reply_to: incoming.reply_to.clone(),
        links: screened.links,
        verdict: screened.verdict,
        reasons: screened.reasons,
        impostor: screened.impostor,
        received_at: incoming.at,
    }
}

fn kind(kind: IncomingKind) -> ItemKind {
    match kind {
        IncomingKind::Mention => ItemKind::Mention,
        IncomingKind::Reply => ItemKind::Reply,
        IncomingKind::Comment => ItemKind::Comment,
        IncomingKind::Message => ItemKind::Message,
        IncomingKind::Follower => ItemKind::Follower,
    }
}

/// When to read again after the `failures`-th failure in a row: at the network's rate-limit
/// reset if it gave one (never sooner than the usual interval), otherwise the interval
/// doubled for each failure, at most an hour.
pub fn after_failure(
    error: &NetworkError,
    failures: i64,
    interval: SignedDuration,
    now: Timestamp,
) -> Timestamp {
    let usual = now.saturating_add(interval).unwrap_or(now);
    if let NetworkError::RateLimited {
        retry_after: Some(retry_after),
        ..
    } = error
    {
        return retry_after.earliest(now).max(usual);
    }
    let doublings = u32::try_from(failures.clamp(1, 10) - 1).unwrap_or(0);
    let backoff = interval
        .checked_mul(1 << doublings)
        .map_or(LONGEST_BACKOFF, |delay| delay.min(LONGEST_BACKOFF))
        .max(interval);
    now.saturating_add(backoff).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).expect("time")
    }

    #[test]
    fn failures_wait_longer_each_time_and_a_rate_limit_waits_for_its_reset() {
        let minute = SignedDuration::from_mins(1);
        let outage = NetworkError::Unavailable("503".to_owned());
        assert_eq!(after_failure(&outage, 1, minute, at(0)), at(60));
        assert_eq!(after_failure(&outage, 3, minute, at(0)), at(240));
        assert_eq!(after_failure(&outage, 50, minute, at(0)), at(3600));
        let limited = NetworkError::RateLimited {
            retry_after: Some(networks::RetryAfter::At(at(900))),
            message: String::new(),
        };
        assert_eq!(after_failure(&limited, 1, minute, at(0)), at(900));
        let soon = NetworkError::RateLimited {
            retry_after: Some(networks::RetryAfter::At(at(5))),
            message: String::new(),
        };
        assert_eq!(
            after_failure(&soon, 1, minute, at(0)),
            at(60),
            "never sooner than usual"
        );
    }
}
