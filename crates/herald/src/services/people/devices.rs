//! Device cookies (OWASP's defence against lock-out): a browser where a member signed in with
//! both factors gets a cookie naming the member and a random device id, signed with a key from
//! the master key. Sign-ins from that browser to that account are then judged only by the
//! browser's own failures, so other people's failures cannot keep the member out.

use crate::domain::ids::UserId;
use crate::domain::notifications::NotificationKind;
use crate::services::AppError;
use crate::store::{Store, UserRecord};
use base64::Engine;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::domain::constant_time_eq;
use crate::keys::Keys;

/// How long a device cookie is honoured after the sign-in that set it.
pub const DEVICE_COOKIE_LASTS: SignedDuration = SignedDuration::from_hours(180 * 24);

/// A new random device id, for a browser that had no valid device cookie.
pub fn new_device() -> String {
    super::random_token()
}

/// A device cookie value naming `device` for `user_id`: `v1.<user>.<device>.<issued>.<signature>`.
pub fn issue(keys: &Keys, user_id: UserId, device: &str, now: Timestamp) -> String {
    let issued = now.as_second();
    let signed = format!("v1.{user_id}.{device}.{issued}");
    let signature = sign(keys, &signed).unwrap_or_default();
    format!("{signed}.{signature}")
}

/// The device id of `cookie` when it is Herald's, signed for `user_id`, and not too old.
pub fn verify(keys: &Keys, cookie: &str, user_id: UserId, now: Timestamp) -> Option<String> {
    let (signed, signature) = cookie.rsplit_once('.')?;
    if !constant_time_eq(sign(keys, signed)?.as_bytes(), signature.as_bytes()) {
        return None;
    }
    let mut parts = signed.split('.');
    let (Some("v1"), Some(user), Some(device), Some(issued), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if user.parse::<UserId>().ok()? != user_id {
        return None;
    }
    let issued = Timestamp::from_second(issued.parse().ok()?).ok()?;
    let expires = issued.checked_add(DEVICE_COOKIE_LASTS).ok()?;
    (now < expires).then(|| device.to_owned())
}

/// `None` only if HMAC refused the key, which it never does (it takes keys of any length).
fn sign(keys: &Keys, signed: &str) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(keys.device.as_slice()).ok()?;
    mac.update(b"herald device cookie\0");
    mac.update(signed.as_bytes());
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Records that `user` signed in from the browser `device` (`browser` in people's words) and,
/// when it is not one they signed in from before, tells them at once (a security alert): it
/// may be someone else who knows their password and second step. A member's very first
/// sign-in raises nothing. Returns whether the browser was new to a member with others.
pub(super) async fn remember(
    store: &Store,
    user: &UserRecord,
    device: &str,
    browser: &str,
    ip: &str,
    now: Timestamp,
) -> Result<bool, AppError> {
    let hash = super::token_hash(device);
    let known = store.sign_in_devices(user.id).await?;
    let new_device = !known.is_empty() && !known.iter().any(|seen| seen.device_hash == hash);
    if new_device {
        let when = now.strftime("%Y-%m-%d %H:%M UTC");
        let subject = format!("New sign-in to Herald from {browser}");
        let body = format!(
            "Someone signed in to your Herald account ({}) from {browser}, at address {ip}, on {when}. \
             It is a browser you had not used with Herald before. If it was you, there is nothing to do. \
             If it was not, change your password at once (Your account, then Password) and tell an owner: \
             whoever it was knows your password and passed your second step.",
            user.email
        );
        crate::services::notify::person(
            store,
            NotificationKind::NewDevice,
            user.id,
            &subject,
            &body,
            Some("/account"),
            now,
        )
        .await?;
    }
    store
        .save_sign_in_device(user.id, &hash, browser, ip, now)
        .await?;
    Ok(new_device)
}
