//! People and access as the web app and the API both use them: first-run setup, sign-in and
//! sessions, invitations, members and API tokens. Each function does one thing a person asked
//! for, records it in the audit log, and returns an [`AppError`] that the HTTP edge turns
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
use crate::domain::people::ParseError;
use crate::services::AppError;

impl From<PasswordError> for AppError {
    fn from(error: PasswordError) -> AppError {
        AppError::invalid("password", error)
    }
}

/// Maps a parse error of a typed field to the field it came from.
fn parse_error(field: &'static str) -> impl FnOnce(ParseError) -> AppError {
    move |error| AppError::invalid(field, error)
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
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| AppError::Internal(format!("password hashing task failed: {error}")))
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
