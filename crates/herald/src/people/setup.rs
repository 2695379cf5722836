//! First run: while nobody exists, create the organisation and its first owner, with a
//! password, an enrolled authenticator and recovery codes, then sign them in.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::login::SignedIn;
use super::newcomer::{self, Joining};
use super::{PeopleError, parse_error, record};
use crate::config::Config;
use crate::domain::audit::Actor;
use crate::domain::people::{DisplayName, Email, Role};
use crate::keys::Keys;
use crate::store::Store;

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
/// Whether setup may be offered to a request from `ip` that named `host` in its Host header.
/// Both must be this machine: checking the host too stops a web page from using DNS rebinding
/// to reach a local Herald from a browser on the same machine.
pub fn allowed_from(config: &Config, ip: IpAddr, host: Option<&str>) -> Result<(), PeopleError> {
    if config.allow_remote_setup {
        return Ok(());
    }
    let host_name = host.map(|host| match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    });
    let local_name = matches!(host_name, Some("localhost" | "127.0.0.1" | "[::1]"));
    if ip.is_loopback() && local_name {
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
    host: Option<&str>,
    now: Timestamp,
) -> Result<Welcome, PeopleError> {
    allowed_from(config, ip, host)?;
    if !needed(store).await? {
        return Err(PeopleError::AlreadySetUp);
    }
    let organisation = DisplayName::parse(&request.organisation, "organisation name")
        .map_err(parse_error("organisation"))?;
    let name = DisplayName::parse(&request.name, "your name").map_err(parse_error("name"))?;
    let email = Email::parse(&request.email).map_err(parse_error("email"))?;
    let joining = Joining {
        email: email.as_str(),
        name: name.as_str(),
        organisation: organisation.as_str(),
        role: Role::Owner,
        password: &request.password,
        enrolment_token: &request.enrolment_token,
        code: &request.code,
    };
    let prepared = newcomer::prepare(keys, config, &joining, now).await?;
    let id = store
        .create_organisation(organisation.as_str(), &prepared.user, now)
        .await
        .map_err(|error| match PeopleError::from(error) {
            PeopleError::Conflict(_) => PeopleError::AlreadySetUp,
            other => other,
        })?;
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
    newcomer::welcome(store, config, id, prepared, &ip_text, now).await
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
        assert!(allowed_from(&config, local, Some("127.0.0.1:8080")).is_ok());
        assert!(allowed_from(&config, local_v6, Some("[::1]:8080")).is_ok());
        assert!(allowed_from(&config, local, Some("localhost")).is_ok());
        assert!(
            matches!(
                allowed_from(&config, local, Some("evil.example:8080")),
                Err(PeopleError::SetupNotLocal)
            ),
            "a rebinding page names its own host"
        );
        assert!(matches!(
            allowed_from(&config, local, None),
            Err(PeopleError::SetupNotLocal)
        ));
        assert!(matches!(
            allowed_from(&config, remote, Some("localhost")),
            Err(PeopleError::SetupNotLocal)
        ));
        config.allow_remote_setup = true;
        assert!(allowed_from(&config, remote, Some("herald.example")).is_ok());
    }
}
