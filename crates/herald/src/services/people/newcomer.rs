//! A new member's credentials, made the same way at first-run setup and when an invitation is
//! accepted: the password checked and hashed, the authenticator's first code checked, the TOTP
//! secret sealed, recovery codes generated; and, once the member is stored, their first session.

use crate::domain::ids::UserId;
use jiff::Timestamp;
use zeroize::Zeroizing;

use super::login::start_session;
use super::setup::Welcome;
use super::{enrolment, off_thread};
use crate::breaches::Breaches;
use crate::config::Config;
use crate::domain::password::{HashCost, NewPassword};
use crate::domain::people::Role;
use crate::domain::totp::{TotpSecret, generate_recovery_codes};
use crate::keys::Keys;
use crate::services::AppError;
use crate::store::{NewUser, Store};

/// Who is joining, as they typed it (already parsed where it matters).
pub(super) struct Joining<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub organisation: &'a str,
    pub role: Role,
    pub password: &'a str,
    pub enrolment_token: &'a str,
    pub code: &'a str,
}

/// The member to store (with the TOTP step their first code used) and their recovery codes.
pub(super) struct Prepared {
    pub user: NewUser,
    pub recovery_codes: Vec<Zeroizing<String>>,
}

pub(super) async fn prepare(
    keys: &Keys,
    config: &Config,
    joining: &Joining<'_>,
    now: Timestamp,
) -> Result<Prepared, AppError> {
    let password = new_password(
        config,
        joining.password,
        &[joining.email, joining.name, joining.organisation],
    )
    .await?;
    let (secret, first_step) = enrolment::finish(
        keys,
        joining.email,
        joining.enrolment_token,
        joining.code,
        now,
    )?;
    let cost = HashCost::from(&config.passwords);
    let password_hash = off_thread(move || password.hash(cost))
        .await?
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let codes = generate_recovery_codes(&mut rand::rngs::OsRng);
    let totp_secret = seal_secret(keys, joining.email, &secret);
    let user = NewUser {
        email: joining.email.to_owned(),
        name: joining.name.to_owned(),
        role: joining.role,
        password_hash,
        totp_secret,
        totp_last_step: i64::try_from(first_step).unwrap_or(i64::MAX),
        recovery_code_hashes: codes.hashes,
    };
    Ok(Prepared {
        user,
        recovery_codes: codes.codes,
    })
}

/// A member's new password (at setup, invitation or a change), checked by the same rules
/// everywhere: length, the common-password list, guessability with the member's own details,
/// and the imported breached-password data.
pub(super) async fn new_password(
    config: &Config,
    text: &str,
    personal: &[&str],
) -> Result<NewPassword, AppError> {
    let password = NewPassword::parse(text, personal)?;
    let breaches = Breaches::in_data_dir(&config.data_dir);
    let candidate = Zeroizing::new(text.to_owned());
    match off_thread(move || breaches.contains(&candidate)).await? {
        Ok(Some(true)) => Err(AppError::Invalid {
            field: "password",
            message: "this password appears in breached-password data, so attackers try it first; choose another".to_owned(),
        }),
        Ok(_) => Ok(password),
        // A damaged list must not stop people from joining: the other rules still hold, and
        // the operator sees why in the log.
        Err(error) => {
            tracing::warn!(%error, "breached-password data unreadable; new password not checked against it");
            Ok(password)
        }
    }
}

/// Seals a member's TOTP secret for storing, bound to their email address.
pub(super) fn seal_secret(keys: &Keys, email: &str, secret: &TotpSecret) -> Vec<u8> {
    vault::seal(
        keys.vault.current(),
        &enrolment::stored_secret_context(email),
        secret.as_bytes(),
        &mut rand::rngs::OsRng,
    )
}

/// After the member `id` was stored (their first code already spent): signs them in.
pub(super) async fn welcome(
    store: &Store,
    config: &Config,
    id: UserId,
    prepared: Prepared,
    ip: &str,
    now: Timestamp,
) -> Result<Welcome, AppError> {
    let user = store
        .user_by_id(id)
        .await?
        .ok_or_else(|| AppError::Internal("the new member vanished".to_owned()))?;
    let signed_in = start_session(store, config, user, ip, now).await?;
    Ok(Welcome {
        signed_in,
        recovery_codes: prepared.recovery_codes,
    })
}
