//! What a member does to their own account: change their password, move to a new
//! authenticator, get new recovery codes, see their sessions and end them. Each change needs
//! the second factor again (through [`step_up`](super::step_up)), and is audited.

use crate::domain::ids::UserId;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::enrolment::{self, Enrolment};
use super::{newcomer, off_thread, step_up};
use crate::config::Config;
use crate::domain::password::{self, HashCost, Verified};
use crate::domain::totp::{generate_recovery_codes, recovery_code_matches};
use crate::services::audit::record_for_member;
use crate::services::{AppError, Entity, Services};
use crate::store::{SessionSummary, Store, UserRecord};

/// The current password and a fresh code, then the new password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "current_password": "croissant tram lighthouse 42",
    "code": "492039",
    "new_password": "saffron ferry window 19"
}))]
pub struct PasswordChange {
    pub current_password: String,
    /// A fresh code from the authenticator app (or a recovery code).
    pub code: String,
    /// 12 to 128 characters, not weak and not known from a data breach.
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

/// The current password and a code from the authenticator app in use now.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "croissant tram lighthouse 42", "code": "492039"}))]
pub struct NewAuthenticatorStart {
    pub current_password: String,
    /// A fresh code from the authenticator app in use now (or a recovery code).
    pub code: String,
}

/// A code from the new authenticator app, with the token from the first step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…", "code": "118364"}))]
pub struct NewAuthenticatorConfirm {
    /// From the answer to the first step.
    pub enrolment_token: String,
    /// A code from the NEW authenticator, proving it was set up.
    pub code: String,
}

/// One of the member's sessions as they see it.
#[derive(Debug, Clone)]
pub struct OwnSession {
    pub summary: SessionSummary,
    /// The session this request came with.
    pub current: bool,
}

/// Marks a recovery code of the member used; false if it is none of their unused codes.
pub(crate) async fn spend_recovery_code(
    store: &Store,
    user_id: UserId,
    code: &str,
    now: Timestamp,
) -> Result<bool, AppError> {
    let stored = store.unused_recovery_codes(user_id).await?;
    let code = Zeroizing::new(code.to_owned());
    let found = off_thread(move || {
        stored
            .into_iter()
            .find(|stored| recovery_code_matches(stored, &code))
    })
    .await?;
    match found {
        Some(stored) => Ok(store.spend_recovery_code(user_id, &stored, now).await?),
        None => Ok(false),
    }
}

/// Changes the member's password: the current one and a fresh code first, the new one checked
/// as at joining (breached-password data included). Every other session ends; the one that
/// asked stays. Returns how many sessions ended.
pub async fn change_password(
    services: &Services,
    user: &UserRecord,
    current_session: &str,
    change: &PasswordChange,
    ip: &str,
    now: Timestamp,
) -> Result<u64, AppError> {
    let Services { store, config, .. } = services;
    const PURPOSE: &str = "change their password";
    current_password_right(store, config, user, &change.current_password, PURPOSE, now).await?;
    step_up::require(services, user, &change.code, PURPOSE, now).await?;
    let organisation = store.organisation_name().await?;
    let password = newcomer::new_password(
        config,
        &change.new_password,
        &[&user.email, &user.name, &organisation],
    )
    .await
    .map_err(|error| match error {
        AppError::Invalid { message, .. } => AppError::Invalid {
            field: "new_password",
            message,
        },
        other => other,
    })?;
    let cost = HashCost::from(&config.passwords);
    let stored = user.password_hash.clone();
    let candidate = Zeroizing::new(change.new_password.clone());
    let unchanged =
        off_thread(move || password::verify(&stored, &candidate, cost) != Verified::Wrong).await?;
    if unchanged {
        return Err(AppError::Invalid {
            field: "new_password",
            message: "the new password is the one you have now; choose a different one".to_owned(),
        });
    }
    let hash = off_thread(move || password.hash(cost))
        .await?
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let work = store.write().await?;
    let store: &Store = &work;
    let ended = store
        .change_password(user.id, &hash, current_session)
        .await?;
    record_for_member(
        store,
        now,
        user,
        "auth.password_changed",
        ip,
        serde_json::json!({ "other_sessions_ended": ended }),
    )
    .await?;
    work.commit().await?;
    Ok(ended)
}

/// Step one of moving to a new authenticator: the current password and a fresh code from the
/// app in use now, then a new secret to scan. Nothing changes until [`confirm_authenticator`].
pub async fn start_new_authenticator(
    services: &Services,
    user: &UserRecord,
    request: &NewAuthenticatorStart,
    now: Timestamp,
) -> Result<Enrolment, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    const PURPOSE: &str = "set up a new authenticator";
    current_password_right(store, config, user, &request.current_password, PURPOSE, now).await?;
    step_up::require(services, user, &request.code, PURPOSE, now).await?;
    Ok(enrolment::start_replacement(
        keys,
        "Herald",
        &user.email,
        now,
    ))
}

/// Step two: a code from the new authenticator proves it works; from now on only it does.
pub async fn confirm_authenticator(
    services: &Services,
    user: &UserRecord,
    request: &NewAuthenticatorConfirm,
    ip: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let Services { store, keys, .. } = services;
    let (sealed, step) = enrolment::finish_replacement(
        keys,
        &user.email,
        &request.enrolment_token,
        &request.code,
        now,
    )?;
    let work = store.write().await?;
    let store: &Store = &work;
    store.replace_authenticator(user.id, &sealed, step).await?;
    record_for_member(
        store,
        now,
        user,
        "auth.authenticator_replaced",
        ip,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

/// New recovery codes after a fresh code: every earlier one stops working. The codes are in
/// the answer and nowhere else.
pub async fn regenerate_recovery_codes(
    services: &Services,
    user: &UserRecord,
    code: &str,
    ip: &str,
    now: Timestamp,
) -> Result<Vec<Zeroizing<String>>, AppError> {
    let Services { store, .. } = services;
    step_up::require(services, user, code, "get new recovery codes", now).await?;
    let codes = generate_recovery_codes(&mut rand::rngs::OsRng);
    let work = store.write().await?;
    let store: &Store = &work;
    store.replace_recovery_codes(user.id, &codes.hashes).await?;
    record_for_member(
        store,
        now,
        user,
        "auth.recovery_codes_regenerated",
        ip,
        serde_json::json!({ "count": codes.codes.len() }),
    )
    .await?;
    work.commit().await?;
    Ok(codes.codes)
}

/// The member's sessions that are still valid, the current one marked.
pub async fn sessions(
    store: &Store,
    config: &Config,
    user: &UserRecord,
    current_session: Option<&str>,
    now: Timestamp,
) -> Result<Vec<OwnSession>, AppError> {
    let idle =
        SignedDuration::from_mins(i64::try_from(config.sessions.idle_minutes).unwrap_or(120));
    let idle_since = now.saturating_sub(idle).unwrap_or(now);
    let summaries = store.sessions_of(user.id, now, idle_since).await?;
    Ok(summaries
        .into_iter()
        .map(|summary| OwnSession {
            current: current_session == Some(summary.token_hash.as_str()),
            summary,
        })
        .collect())
}

/// Ends one of the member's sessions (perhaps a device they lost).
pub async fn end_session(
    store: &Store,
    user: &UserRecord,
    public_id: &str,
    ip: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.end_session(user.id, public_id).await? {
        return Err(AppError::not_found(
            Entity::Session,
            "you have no such session; it may have ended already",
        ));
    }
    record_for_member(
        store,
        now,
        user,
        "auth.session_ended",
        ip,
        serde_json::json!({ "session": public_id }),
    )
    .await?;
    Ok(work.commit().await?)
}

/// Ends every session of the member but the current one; returns how many ended.
pub async fn end_other_sessions(
    store: &Store,
    user: &UserRecord,
    current_session: &str,
    ip: &str,
    now: Timestamp,
) -> Result<u64, AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    let ended = store.end_other_sessions(user.id, current_session).await?;
    record_for_member(
        store,
        now,
        user,
        "auth.other_sessions_ended",
        ip,
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    work.commit().await?;
    Ok(ended)
}

/// The current password, asked again. A wrong one counts like a wrong step-up code, so a
/// stolen session cannot be used to guess the password either.
async fn current_password_right(
    store: &Store,
    config: &Config,
    user: &UserRecord,
    candidate: &str,
    purpose: &'static str,
    now: Timestamp,
) -> Result<(), AppError> {
    let stored = user.password_hash.clone();
    let candidate = Zeroizing::new(candidate.to_owned());
    let cost = HashCost::from(&config.passwords);
    let verified = off_thread(move || password::verify(&stored, &candidate, cost)).await?;
    if verified != Verified::Wrong {
        return Ok(());
    }
    step_up::failed(store, user, purpose, "wrong current password", now).await?;
    Err(AppError::Invalid {
        field: "current_password",
        message: "your current password is not right".to_owned(),
    })
}

/// Passwords and codes are left out.
impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}

debug_without_secrets!(NewAuthenticatorStart, NewAuthenticatorConfirm);
