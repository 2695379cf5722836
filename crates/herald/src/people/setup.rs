//! First run: while nobody exists, create the organisation and its first owner, with a
//! password, an enrolled authenticator and recovery codes, then sign them in.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::login::{SignedIn, start_session};
use super::{PeopleError, enrolment, off_thread, parse_error, record};
use crate::config::Config;
use crate::domain::audit::Actor;
use crate::domain::password::{HashCost, NewPassword};
use crate::domain::people::{DisplayName, Email, Role};
use crate::domain::totp::generate_recovery_codes;
use crate::keys::Keys;
use crate::store::{NewUser, Store};

#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    pub organisation: String,
    pub name: String,
    pub email: String,
    pub password: String,
    /// From `GET /api/v1/setup`.
    pub enrolment_token: String,
    /// The current code from the authenticator app.
    pub code: String,
}

/// A new member, signed in, with recovery codes to be shown once.
#[derive(Debug)]
pub struct Welcome {
    pub signed_in: SignedIn,
    pub recovery_codes: Vec<Zeroizing<String>>,
}

/// Whether setup may be offered to a request from `ip`.
pub fn allowed_from(config: &Config, ip: IpAddr) -> Result<(), PeopleError> {
    if config.allow_remote_setup || ip.is_loopback() {
        return Ok(());
    }
    Err(PeopleError::SetupNotLocal)
}

pub async fn needed(store: &Store) -> Result<bool, PeopleError> {
    Ok(store.user_count().await? == 0)
}

pub async fn run(
    store: &Store,
    keys: &Keys,
    config: &Config,
    request: &SetupRequest,
    ip: IpAddr,
    now: Timestamp,
) -> Result<Welcome, PeopleError> {
    allowed_from(config, ip)?;
    if !needed(store).await? {
        return Err(PeopleError::AlreadySetUp);
    }
    let organisation = DisplayName::parse(&request.organisation, "organisation name")
        .map_err(parse_error("organisation"))?;
    let name = DisplayName::parse(&request.name, "your name").map_err(parse_error("name"))?;
    let email = Email::parse(&request.email).map_err(parse_error("email"))?;
    let password = NewPassword::parse(
        &request.password,
        &[email.as_str(), name.as_str(), organisation.as_str()],
    )?;
    let (secret, step) = enrolment::finish(
        keys,
        email.as_str(),
        &request.enrolment_token,
        &request.code,
        now,
    )?;
    let cost = HashCost::from(&config.passwords);
    let password_hash = off_thread(move || password.hash(cost))
        .await?
        .map_err(|error| PeopleError::Internal(error.to_string()))?;
    let codes = generate_recovery_codes(&mut rand::rngs::OsRng);
    let owner = NewUser {
        email: email.to_string(),
        name: name.as_str().to_owned(),
        role: Role::Owner,
        password_hash,
        totp_secret: vault::seal(
            keys.vault.current(),
            &enrolment::stored_secret_context(email.as_str()),
            secret.as_bytes(),
            &mut rand::rngs::OsRng,
        ),
        recovery_code_hashes: codes.hashes,
    };
    let id = store
        .create_organisation(organisation.as_str(), &owner, now)
        .await
        .map_err(|error| match PeopleError::from(error) {
            PeopleError::Conflict(_) => PeopleError::AlreadySetUp,
            other => other,
        })?;
    store
        .spend_totp_step(id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?;
    let ip_text = ip.to_string();
    record(
        store,
        now,
        Actor::User(id),
        "setup.completed",
        Some(format!("user:{id}")),
        Some(&ip_text),
        serde_json::json!({ "organisation": organisation.as_str(), "email": email.as_str() }),
    )
    .await?;
    let user = store
        .user_by_id(id)
        .await?
        .ok_or_else(|| PeopleError::Internal("the new owner vanished".to_owned()))?;
    let signed_in = start_session(store, config, user, &ip_text, now).await?;
    Ok(Welcome {
        signed_in,
        recovery_codes: codes.codes,
    })
}

/// Passwords and codes are left out.
impl std::fmt::Debug for SetupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRequest")
            .field("organisation", &self.organisation)
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_is_offered_only_to_this_machine_unless_allowed() {
        let mut config = Config::default();
        let local: IpAddr = "127.0.0.1".parse().expect("address");
        let local_v6: IpAddr = "::1".parse().expect("address");
        let remote: IpAddr = "192.0.2.7".parse().expect("address");
        assert!(allowed_from(&config, local).is_ok());
        assert!(allowed_from(&config, local_v6).is_ok());
        assert!(matches!(
            allowed_from(&config, remote),
            Err(PeopleError::SetupNotLocal)
        ));
        config.allow_remote_setup = true;
        assert!(allowed_from(&config, remote).is_ok());
    }
}
