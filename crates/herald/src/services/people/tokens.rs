//! Personal API tokens: scoped, expiring, shown once, stored as a hash, usable as
//! `Authorization: Bearer`. The `herald_pat_` prefix lets secret scanners (and Herald's own
//! policy guard) recognise a leaked token.

use jiff::{SignedDuration, Timestamp};

use super::{random_token, token_hash};
use crate::domain::access::Scope;
use crate::domain::audit::Actor;
use crate::services::audit::record;
use crate::services::{AppError, Entity};
use crate::store::{ApiTokenRecord, NewApiToken, Store, UserRecord};

pub const PREFIX: &str = "herald_pat_";
const LONGEST_DAYS: i64 = 366;

pub async fn create(
    store: &Store,
    owner: &UserRecord,
    name: &str,
    scopes: &[String],
    expires_in_days: i64,
    now: Timestamp,
) -> Result<(ApiTokenRecord, String), AppError> {
    // The length counts the name as sent, so the documented 100 holds before trimming too.
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(AppError::Invalid {
            field: "name",
            message: "give the token a name of 1 to 100 characters, such as \"reporting script\""
                .to_owned(),
        });
    }
    if scopes.is_empty() {
        return Err(AppError::Invalid {
            field: "scopes",
            message: "choose at least one scope".to_owned(),
        });
    }
    if let Some(unknown) = scopes.iter().find(|scope| Scope::parse(scope).is_none()) {
        let known: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
        return Err(AppError::Invalid {
            field: "scopes",
            message: format!(
                "unknown scope {unknown:?}; known scopes: {}",
                known.join(", ")
            ),
        });
    }
    if !(1..=LONGEST_DAYS).contains(&expires_in_days) {
        return Err(AppError::Invalid {
            field: "expires_in_days",
            message: format!("a token must expire within 1 to {LONGEST_DAYS} days"),
        });
    }
    let name = name.trim();
    let secret = format!("{PREFIX}{}", random_token());
    let expires_at = now
        .saturating_add(SignedDuration::from_hours(24 * expires_in_days))
        .unwrap_or(now);
    let hash = token_hash(&secret);
    let work = store.write().await?;
    let store: &Store = &work;
    let id = store
        .create_api_token(
            &NewApiToken {
                user_id: owner.id,
                name,
                token_hash: &hash,
                scopes,
                expires_at,
            },
            now,
        )
        .await?;
    record(
        store,
        now,
        Actor::User(owner.id),
        "token.created",
        Some(format!("token:{id}")),
        None,
        serde_json::json!({ "name": name, "scopes": scopes, "expires_at": expires_at.to_string() }),
    )
    .await?;
    let token = store
        .list_api_tokens(owner.id)
        .await?
        .into_iter()
        .find(|token| token.id == id)
        .ok_or_else(|| AppError::Internal("the new token vanished".to_owned()))?;
    work.commit().await?;
    Ok((token, secret))
}

/// The member and token behind a bearer secret, if it is valid now.
pub async fn authenticate(
    store: &Store,
    bearer: &str,
    now: Timestamp,
) -> Result<Option<(UserRecord, ApiTokenRecord)>, AppError> {
    if !bearer.starts_with(PREFIX) {
        return Ok(None);
    }
    let Some(token) = store.use_api_token(&token_hash(bearer), now).await? else {
        return Ok(None);
    };
    if token.revoked || token.expires_at <= now {
        return Ok(None);
    }
    let user = store
        .user_by_id(token.user_id)
        .await?
        .filter(|user| user.active);
    Ok(user.map(|user| (user, token)))
}

pub async fn revoke(
    store: &Store,
    owner: &UserRecord,
    token_id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.revoke_api_token(owner.id, token_id, now).await? {
        return Err(AppError::not_found(
            Entity::Token,
            format!("you have no active token {token_id}"),
        ));
    }
    record(
        store,
        now,
        Actor::User(owner.id),
        "token.revoked",
        Some(format!("token:{token_id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}
