//! Step-up: the member's own second factor asked again before something sensitive (revealing a
//! vault secret, changing their password, authenticator, recovery codes or passkeys). Every
//! such check goes through [`confirm`], which throttles guessing: wrong codes are counted per
//! member in the database (so a restart does not forget them), and the fifth in a row ends
//! every session of the member, tells the owners and is audited. A right code, or a new
//! sign-in, starts the count again. API tokens are left alone: they cannot step up.

use crate::domain::ids::UserId;
use std::sync::{Arc, LazyLock};

use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;

use super::login;
use crate::domain::audit::Actor;
use crate::services::audit::record;
use crate::services::{AppError, Services};
use crate::store::{Store, UserRecord};

/// A fresh code, asked before a sensitive change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "492039"}))]
pub struct FreshCode {
    /// The current code from the authenticator app (or one of the recovery codes).
    pub code: String,
}

debug_without_secrets!(FreshCode);

/// Wrong codes in a row after which every session of the member ends.
pub const WRONG_CODES_ALLOWED: i64 = 5;

/// Checks `code` (authenticator or recovery code) for `purpose` (named in the audit log).
/// `Ok(Err(reason))` for a wrong code under the limit, so the caller can record its own
/// refusal; `Err(AppError::SteppedOut)` once the limit is reached.
pub async fn confirm(
    services: &Services,
    user: &UserRecord,
    code: &str,
    purpose: &'static str,
    now: Timestamp,
) -> Result<Result<(), &'static str>, AppError> {
    let Services { store, keys, .. } = services;
    let _turn = take_turn(user.id).await;
    // Read again inside the turn: an earlier request may have counted a failure or spent a
    // code since this request's session was checked.
    let user = store
        .user_by_id(user.id)
        .await?
        .ok_or_else(|| AppError::Internal("the member vanished".to_owned()))?;
    if user.step_up_failures >= WRONG_CODES_ALLOWED {
        // A request that started before the lock-out ended its session.
        store.delete_user_sessions(user.id).await?;
        return Err(AppError::SteppedOut);
    }
    let reason = match login::check_second_factor(store, keys, &user, code, now).await? {
        Ok(()) => {
            store.clear_step_up_failures(user.id).await?;
            return Ok(Ok(()));
        }
        Err(reason) => reason,
    };
    failed(store, &user, purpose, reason, now).await?;
    Ok(Err(reason))
}

/// Counts one wrong step-up answer (a code, or the current password where one is asked too)
/// and audits it; at the limit, ends every session of the member, tells the owners and
/// answers [`AppError::SteppedOut`].
pub(super) async fn failed(
    store: &Store,
    user: &UserRecord,
    purpose: &'static str,
    reason: &'static str,
    now: Timestamp,
) -> Result<(), AppError> {
    // The count, its audit entry and any lock-out are one unit, committed although the
    // caller's request then fails.
    let work = store.write().await?;
    let store: &Store = &work;
    let failures = store.count_step_up_failure(user.id).await?;
    let target = Some(format!("user:{}", user.id));
    record(
        store,
        now,
        Actor::User(user.id),
        "auth.step_up.failed",
        target.clone(),
        None,
        serde_json::json!({ "purpose": purpose, "reason": reason, "in_a_row": failures }),
    )
    .await?;
    if failures < WRONG_CODES_ALLOWED {
        return Ok(work.commit().await?);
    }
    let sessions_ended = store.delete_user_sessions(user.id).await?;
    record(
        store,
        now,
        Actor::User(user.id),
        "auth.step_up.locked_out",
        target,
        None,
        serde_json::json!({ "purpose": purpose, "in_a_row": failures, "sessions_ended": sessions_ended }),
    )
    .await?;
    tracing::warn!(
        user.id = user.id.get(),
        "five wrong step-up codes in a row: every session ended"
    );
    let subject = format!("{} was signed out after {failures} wrong codes", user.name);
    let body = format!(
        "Someone signed in as {} ({}) entered {failures} wrong codes in a row when Herald asked for the code again (to {purpose}). Herald ended all their sessions. If it was not them, their password may be known to someone else: ask them to change it, and check the audit log.",
        user.name, user.email
    );
    crate::services::notify::all_owners(
        store,
        &subject,
        &body,
        Some("/audit?action=auth.step_up"),
        now,
    )
    .await?;
    work.commit().await?;
    Err(AppError::SteppedOut)
}

/// [`confirm`] for callers with nothing of their own to record: a wrong code is refused with
/// one message.
pub async fn require(
    services: &Services,
    user: &UserRecord,
    code: &str,
    purpose: &'static str,
    now: Timestamp,
) -> Result<(), AppError> {
    confirm(services, user, code, purpose, now)
        .await?
        .map_err(|_| wrong_code())
}

/// The refusal of a wrong step-up code.
pub fn wrong_code() -> AppError {
    AppError::Invalid {
        field: "code",
        message: "your code is not right; enter the current code from your authenticator app"
            .to_owned(),
    }
}

/// One member's step-up checks take turns within this process, so a burst of parallel
/// guesses is counted like guesses one by one. Striped over a fixed number of locks.
static TURNS: LazyLock<Vec<Arc<tokio::sync::Mutex<()>>>> = LazyLock::new(|| {
    (0..64)
        .map(|_| Arc::new(tokio::sync::Mutex::new(())))
        .collect()
});

async fn take_turn(user_id: UserId) -> tokio::sync::OwnedMutexGuard<()> {
    let stripe = usize::try_from(user_id.get().rem_euclid(64)).unwrap_or(0);
    let lock = TURNS[stripe % TURNS.len()].clone();
    lock.lock_owned().await
}
