//! People and access as the web app and the API both use them: first-run setup, sign-in and
//! sessions, invitations, members and API tokens. Each function does one thing a person asked
//! for, records it in the audit log, and returns a [`PeopleError`] that the HTTP edge turns
//! into a specific message.

pub mod devices;
pub mod enrolment;
pub mod invitations;
pub mod login;
pub mod members;
mod newcomer;
pub mod own_account;
pub mod passkeys;
pub mod second_factor_reset;
pub mod setup;
pub mod step_up;
pub mod tokens;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::PasswordsConfig;
use crate::domain::password::{HashCost, PasswordError};
use crate::domain::people::PeopleError as ParseError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error("Herald is already set up; sign in instead")]
    AlreadySetUp,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the email address, password or code is not right")]
    WrongCredentials,
    /// Five wrong codes in a row when asked again for one: every session of the member ended.
    #[error(
        "too many wrong codes in a row: you have been signed out everywhere and the owners were told; sign in again"
    )]
    SteppedOut,
    /// The right password, but an owner reset this member's second factor.
    #[error(
        "an owner reset your two-step sign-in: to sign in, set up your authenticator app again (the link below the sign-in form, or POST /api/v1/auth/enrol)"
    )]
    EnrolAgain,
    #[error("too many failed sign-ins; try again in {retry_after_seconds} seconds")]
    Throttled { retry_after_seconds: i64 },
    #[error("this invitation link has expired or was already used; ask for a new one")]
    InvitationGone,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// Something outside Herald (a social network) did not answer usefully; try later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for PeopleError {
    fn from(error: StoreError) -> PeopleError {
        match error {
            StoreError::Conflict(message) => PeopleError::Conflict(message),
            StoreError::LastOwner => PeopleError::Conflict(StoreError::LastOwner.to_string()),
            other => PeopleError::Store(other),
        }
    }
}

impl PeopleError {
    fn invalid(field: &'static str, error: impl std::fmt::Display) -> PeopleError {
        PeopleError::Invalid {
            field,
            message: error.to_string(),
        }
    }
}

impl From<PasswordError> for PeopleError {
    fn from(error: PasswordError) -> PeopleError {
        PeopleError::invalid("password", error)
    }
}

/// Maps a parse error of a typed field to the field it came from.
fn parse_error(field: &'static str) -> impl FnOnce(ParseError) -> PeopleError {
    move |error| PeopleError::invalid(field, error)
}

impl From<&PasswordsConfig> for HashCost {
    fn from(config: &PasswordsConfig) -> HashCost {
        HashCost {
            memory_kib: config.argon2_memory_kib,
            iterations: config.argon2_iterations,
            lanes: config.argon2_lanes,
        }
    }
}

/// Runs CPU-heavy work (Argon2id takes tens of milliseconds) on the blocking thread pool, so it
/// never stalls the async workers that serve everyone else's requests.
pub(crate) async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PeopleError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| PeopleError::Internal(format!("password hashing task failed: {error}")))
}

/// A new random secret for a cookie or token: 256 bits, URL-safe base64.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How session, invitation and API-token secrets are stored: never as they are.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
