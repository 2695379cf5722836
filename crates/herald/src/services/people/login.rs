//! Signing in with a password and a second factor, throttling failures, and the sessions that
//! follow: created at sign-in (so a session id is never reused across a sign-in), ended by
//! idle and absolute limits, by signing out, or by deactivation.

use crate::domain::ids::UserId;
use std::sync::{Arc, LazyLock};

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;

use zeroize::Zeroizing;

use super::{devices, enrolment, off_thread, random_token, token_hash};
use crate::config::Config;
use crate::domain::audit::Actor;
use crate::domain::password::{self, HashCost, Verified};
use crate::domain::people::describe_browser;
use crate::domain::throttle::{Throttle, throttles, wait_after};
use crate::domain::totp::{self, TotpSecret};
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::{AppError, Services};
use crate::store::{SessionRecord, Store, UserRecord};

/// Email address, password and a second factor.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "owner@sunnycafe.example",
    "password": "croissant tram lighthouse 42",
    "code": "492039"
}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The authenticator code, or one of the recovery codes.
    pub code: String,
}

/// A fresh session. `session_token` goes into the cookie and nowhere else.
pub struct SignedIn {
    pub user: UserRecord,
    pub session_token: String,
    pub csrf_token: String,
    /// A new device cookie for the browser that signed in ([`devices`]), when it proved both
    /// factors.
    pub device_cookie: Option<String>,
}

/// Where a sign-in comes from: the client's address, and the device cookie its browser sent.
#[derive(Clone, Copy)]
pub struct SignInFrom<'a> {
    pub ip: &'a str,
    pub device_cookie: Option<&'a str>,
    /// The browser's `User-Agent`, described in people's words in the new-device alert.
    pub user_agent: Option<&'a str>,
}

/// Sessions are not touched more often than this, to spare the database a write per request.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

pub async fn login(
    services: &Services,
    request: &LoginRequest,
    from: SignInFrom<'_>,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let ip = from.ip;
    let checked = check_password(
        store,
        keys,
        config,
        &request.email,
        &request.password,
        from,
        now,
    )
    .await?;
    if checked.user.second_factor_reset_at.is_some() {
        super::second_factor_reset::enrolment_still_open(&checked.user, config, now)?;
        return Err(AppError::EnrolAgain);
    }
    if let Err(reason) = check_second_factor(store, keys, &checked.user, &request.code, now).await?
    {
        return Err(second_factor_failed(store, &checked, reason, ip, now).await);
    }
    let cost = HashCost::from(&config.passwords);
    if checked.rehash {
        let text = Zeroizing::new(request.password.clone());
        let hash = off_thread(move || password::hash(&text, cost))
            .await?
            .map_err(|error| AppError::Internal(error.to_string()))?;
        store.set_password_hash(checked.user.id, &hash).await?;
    }
    complete(store, keys, config, checked, "code", ip, now).await
}

/// A member whose password was right; their second factor is still to be checked.
pub(super) struct PasswordChecked {
    pub user: UserRecord,
    /// The stored hash was made with a lower cost than now configured.
    pub rehash: bool,
    throttle: Vec<Throttle>,
    /// The browser's device id, when its device cookie is valid for this member.
    device: Option<String>,
    /// The browser in people's words ("Firefox on Windows").
    browser: String,
    /// This account's turn: held until the sign-in succeeds or fails.
    _turn: tokio::sync::OwnedMutexGuard<()>,
    /// The address's turn, held as long (not taken again for the second step of a passkey).
    _address_turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl PasswordChecked {
    /// A member whose password was checked by an earlier request of the same sign-in (the
    /// passkey ceremony spans two requests).
    pub(super) async fn passed(
        keys: &Keys,
        user: UserRecord,
        from: SignInFrom<'_>,
        now: Timestamp,
    ) -> PasswordChecked {
        let device = known_device(keys, Some(&user), from, now);
        let throttle = throttles(&user.email, from.ip, device.as_deref());
        let _turn = take_turn(&user.email).await;
        PasswordChecked {
            user,
            rehash: false,
            throttle,
            device,
            browser: describe_browser(from.user_agent),
            _turn,
            _address_turn: None,
        }
    }

    /// Counts this sign-in as a failure until it completes (which clears the count), so that
    /// a first step that confirms the password (passkeys) is throttled like any guess.
    pub(super) async fn count_attempt(
        &self,
        store: &Store,
        now: Timestamp,
    ) -> Result<(), AppError> {
        // Only the counts a success clears: were the per-address and per-account counts
        // charged here, every passkey sign-in from a new browser would stay on them as a
        // failure, and an office signing in with passkeys would lock itself out. A failed
        // second step is counted on all of them, as any failure is.
        let cleared: Vec<Throttle> = self
            .throttle
            .iter()
            .filter(|throttle| throttle.count.cleared_by_success())
            .cloned()
            .collect();
        fail(store, &cleared, now).await
    }
}

/// The first factor: throttling (see `domain::throttle` for the rule), then the password.
/// Every refusal is counted, audited and answered alike, so nobody learns which part was wrong.
pub(super) async fn check_password(
    store: &Store,
    keys: &Keys,
    config: &Config,
    email: &str,
    password_text: &str,
    from: SignInFrom<'_>,
    now: Timestamp,
) -> Result<PasswordChecked, AppError> {
    let ip = from.ip;
    let email = email.trim().to_lowercase();
    let turn = take_turn(&email).await;
    // Guesses at different accounts from one address take turns too, so that a burst of them
    // cannot all pass the per-address count before the first failure is recorded. Always
    // after the account's turn, so two sign-ins never wait on each other's.
    let address_turn = take_address_turn(&crate::domain::throttle::network_of(ip)).await;
    let user = store.user_by_email(&email).await?;
    let device = known_device(keys, user.as_ref(), from, now);
    let throttle = throttles(&email, from.ip, device.as_deref());
    for Throttle { key, .. } in &throttle {
        if let Some((_, until)) = store.throttle(key).await?
            && until > now
        {
            let retry_after_seconds = crate::domain::throttle::seconds_until(now, until);
            return Err(AppError::Throttled {
                retry_after_seconds,
            });
        }
    }
    let cost = HashCost::from(&config.passwords);
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let candidate = Zeroizing::new(password_text.to_owned());
    // For an unknown address, hashing the guess with the configured cost takes as long as
    // checking a real password would, so response times do not reveal who has an account.
    let verified = off_thread(move || match stored_hash {
        Some(stored) => password::verify(&stored, &candidate, cost),
        None => {
            let _ = password::hash(&candidate, cost);
            Verified::Wrong
        }
    })
    .await?;
    let refused = |reason: &'static str, actor: Actor| Refusal {
        reason,
        actor,
        email: &email,
        ip,
        throttle: &throttle,
    };
    let Some(user) = user else {
        return Err(refused("unknown email", Actor::Anonymous)
            .record(store, now)
            .await?);
    };
    if verified == Verified::Wrong {
        return Err(refused("wrong password", Actor::Anonymous)
            .record(store, now)
            .await?);
    }
    if !user.active {
        return Err(refused("deactivated", Actor::User(user.id))
            .record(store, now)
            .await?);
    }
    Ok(PasswordChecked {
        rehash: verified == Verified::RightButRehash,
        user,
        throttle,
        device,
        browser: describe_browser(from.user_agent),
        _turn: turn,
        _address_turn: Some(address_turn),
    })
}

/// Counts and audits a failed second factor after a right password, and returns the one
/// message every failed sign-in gets.
pub(super) async fn second_factor_failed(
    store: &Store,
    checked: &PasswordChecked,
    reason: &str,
    ip: &str,
    now: Timestamp,
) -> AppError {
    let recorded = async {
        let work = store.write().await?;
        let store: &Store = &work;
        fail(store, &checked.throttle, now).await?;
        // The password was right: worth telling the member (by email, once notifications
        // exist) that someone may know it.
        let target = Some(format!("user:{}", checked.user.id));
        let details = serde_json::json!({ "reason": reason });
        record(
            store,
            now,
            Actor::User(checked.user.id),
            "auth.login.second_factor_failed",
            target,
            Some(ip),
            details,
        )
        .await?;
        Ok::<(), AppError>(work.commit().await?)
    };
    if let Err(error) = recorded.await {
        return error;
    }
    tracing::warn!(
        user.id = checked.user.id.get(),
        "password right but second factor failed"
    );
    AppError::WrongCredentials
}

/// Both factors passed: clears this browser's and this address's counts for the account,
/// audits the sign-in and starts a session, with a device cookie for the browser.
pub(super) async fn complete(
    store: &Store,
    keys: &Keys,
    config: &Config,
    checked: PasswordChecked,
    second_factor: &str,
    ip: &str,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    for throttle in &checked.throttle {
        if throttle.count.cleared_by_success() {
            store.clear_throttle(&throttle.key).await?;
        }
    }
    let user = checked.user;
    store.clear_step_up_failures(user.id).await?;
    let device = checked.device.unwrap_or_else(devices::new_device);
    let new_device = devices::remember(store, &user, &device, &checked.browser, ip, now).await?;
    let target = Some(format!("user:{}", user.id));
    let details = serde_json::json!({
        "second_factor": second_factor,
        "browser": checked.browser,
        "new_device": new_device,
    });
    record(
        store,
        now,
        Actor::User(user.id),
        "auth.login.succeeded",
        target,
        Some(ip),
        details,
    )
    .await?;
    let mut signed_in = start_session(store, config, user, ip, now).await?;
    signed_in.device_cookie = Some(devices::issue(keys, signed_in.user.id, &device, now));
    work.commit().await?;
    Ok(signed_in)
}

/// The browser's device id when its device cookie is valid for this account: the sign-in is
/// then judged only by the browser's own counts, and is not from a new device.
fn known_device(
    keys: &Keys,
    user: Option<&UserRecord>,
    from: SignInFrom<'_>,
    now: Timestamp,
) -> Option<String> {
    user.zip(from.device_cookie)
        .and_then(|(user, cookie)| devices::verify(keys, cookie, user.id, now))
}

/// Checks a TOTP code or recovery code; `Ok(Err(reason))` when it is not right.
pub(crate) async fn check_second_factor(
    store: &Store,
    keys: &Keys,
    user: &UserRecord,
    code: &str,
    now: Timestamp,
) -> Result<Result<(), &'static str>, AppError> {
    let digits_only = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .all(|c| c.is_ascii_digit());
    if !digits_only {
        let spent = super::own_account::spend_recovery_code(store, user.id, code, now).await?;
        return Ok(if spent {
            Ok(())
        } else {
            Err("wrong recovery code")
        });
    }
    let opened = vault::open(
        &keys.vault,
        &enrolment::stored_secret_context(&user.email),
        &user.totp_secret,
    )
    .map_err(|error| {
        AppError::Internal(format!(
            "cannot open the TOTP secret of user {}: {error}",
            user.id
        ))
    })?;
    let secret = TotpSecret::from_bytes(opened.expose().to_vec())
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let last = u64::try_from(user.totp_last_step).unwrap_or(0);
    match totp::verify(&secret, code, now, last) {
        Ok(step) => {
            let fresh = store
                .spend_totp_step(user.id, i64::try_from(step).unwrap_or(i64::MAX))
                .await?;
            Ok(if fresh { Ok(()) } else { Err("reused code") })
        }
        Err(totp::TotpError::Reused) => Ok(Err("reused code")),
        Err(_) => Ok(Err("wrong code")),
    }
}

/// A refused sign-in before the second factor: counted for throttling, audited, and answered
/// with the same message whatever the reason, so nobody learns which part was wrong.
struct Refusal<'a> {
    reason: &'static str,
    actor: Actor,
    email: &'a str,
    ip: &'a str,
    throttle: &'a [Throttle],
}

impl Refusal<'_> {
    /// Counts and audits the refusal; the error to answer with (or the store's, if that failed).
    async fn record(self, store: &Store, now: Timestamp) -> Result<AppError, AppError> {
        let work = store.write().await?;
        let store: &Store = &work;
        fail(store, self.throttle, now).await?;
        // What was typed is recorded only if it is an email address: people type passwords
        // into the wrong box, and the audit log keeps everything for ever.
        let target = Some(match crate::domain::people::Email::parse(self.email) {
            Ok(email) => format!("email:{email}"),
            Err(_) => "email:(not an email address)".to_owned(),
        });
        record(
            store,
            now,
            self.actor,
            "auth.login.failed",
            target,
            Some(self.ip),
            serde_json::json!({ "reason": self.reason }),
        )
        .await?;
        work.commit().await?;
        Ok(AppError::WrongCredentials)
    }
}

async fn fail(store: &Store, throttles: &[Throttle], now: Timestamp) -> Result<(), AppError> {
    for Throttle { count, key } in throttles {
        let failures = store
            .count_failure_in_window(key, now, count.window())
            .await?;
        let until = now
            .saturating_add(wait_after(failures, count.free_failures()))
            .unwrap_or(now);
        store.block_until(key, until).await?;
    }
    Ok(())
}

/// Sign-in attempts for the same account take turns within this process: without this, a
/// burst of parallel guesses would all pass the throttle check before the first failure was
/// counted. Striped over a fixed number of locks, so arbitrary email addresses cannot grow it.
static SIGN_IN_TURNS: LazyLock<Vec<Arc<tokio::sync::Mutex<()>>>> = LazyLock::new(|| {
    (0..64)
        .map(|_| Arc::new(tokio::sync::Mutex::new(())))
        .collect()
});

async fn take_turn(email: &str) -> tokio::sync::OwnedMutexGuard<()> {
    stripe_of(&SIGN_IN_TURNS, email).lock_owned().await
}

/// The turns of sign-ins from one address (an IPv6 /64), striped apart from the accounts'.
static ADDRESS_TURNS: LazyLock<Vec<Arc<tokio::sync::Mutex<()>>>> = LazyLock::new(|| {
    (0..64)
        .map(|_| Arc::new(tokio::sync::Mutex::new(())))
        .collect()
});

async fn take_address_turn(network: &str) -> tokio::sync::OwnedMutexGuard<()> {
    stripe_of(&ADDRESS_TURNS, network).lock_owned().await
}

fn stripe_of(stripes: &[Arc<tokio::sync::Mutex<()>>], key: &str) -> Arc<tokio::sync::Mutex<()>> {
    let hash = key.bytes().fold(0usize, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(usize::from(byte))
    });
    stripes[hash % stripes.len()].clone()
}

/// Creates a session for `user`, returning the cookie token and the CSRF token.
pub async fn start_session(
    store: &Store,
    config: &Config,
    user: UserRecord,
    ip: &str,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    let session_token = random_token();
    let public_id = random_token();
    let csrf_token = csrf_token_for(&session_token);
    let lifetime =
        SignedDuration::from_hours(i64::try_from(config.sessions.absolute_hours).unwrap_or(12));
    let expires_at = now.saturating_add(lifetime).unwrap_or(now);
    store
        .create_session(
            &token_hash(&session_token),
            &public_id,
            user.id,
            ip,
            now,
            expires_at,
        )
        .await?;
    Ok(SignedIn {
        user,
        session_token,
        csrf_token,
        device_cookie: None,
    })
}

/// A session's CSRF token, derived from its cookie token (HMAC-SHA-256 keyed by it). It is
/// stored nowhere: the database holds only the cookie token's hash, so a copy of the database
/// yields neither. A cross-site page cannot read the cookie, so it cannot compute the token.
pub fn csrf_token_for(session_token: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(session_token.as_bytes()) else {
        // HMAC takes keys of any length; this arm is never taken.
        return String::new();
    };
    mac.update(b"herald csrf token v1");
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        mac.finalize().into_bytes(),
    )
}

/// The member and session behind a session cookie, if it is valid now.
pub async fn session(
    store: &Store,
    config: &Config,
    cookie_token: &str,
    now: Timestamp,
) -> Result<Option<(UserRecord, SessionRecord)>, AppError> {
    let hash = token_hash(cookie_token);
    let Some(session) = store.session(&hash).await? else {
        return Ok(None);
    };
    let idle = SignedDuration::from_mins(i64::try_from(config.sessions.idle_minutes).unwrap_or(60));
    let idle_until = session
        .last_seen_at
        .saturating_add(idle)
        .unwrap_or(session.last_seen_at);
    if now >= session.expires_at || now >= idle_until {
        store.delete_session(&hash).await?;
        return Ok(None);
    }
    let Some(user) = store
        .user_by_id(session.user_id)
        .await?
        .filter(|user| user.active)
    else {
        store.delete_session(&hash).await?;
        return Ok(None);
    };
    if session.last_seen_at.duration_until(now) >= TOUCH_EVERY {
        store.touch_session(&hash, now).await?;
    }
    Ok(Some((user, session)))
}

pub async fn logout(
    store: &Store,
    user_id: UserId,
    cookie_token: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    store.delete_session(&token_hash(cookie_token)).await?;
    record(
        store,
        now,
        Actor::User(user_id),
        "auth.logout",
        Some(format!("user:{user_id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

pub async fn logout_everywhere(
    store: &Store,
    user_id: UserId,
    now: Timestamp,
) -> Result<u64, AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    let ended = store.delete_user_sessions(user_id).await?;
    record(
        store,
        now,
        Actor::User(user_id),
        "auth.logout_everywhere",
        Some(format!("user:{user_id}")),
        None,
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    work.commit().await?;
    Ok(ended)
}

/// The device cookie never appears in `Debug` output.
impl std::fmt::Debug for SignInFrom<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInFrom")
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Passwords and codes are left out.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}
