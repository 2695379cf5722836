//! What can go wrong talking to a network, in the terms Herald decides on: try again later,
//! reconnect, give up, or find out whether it happened.

use std::time::Duration;

use jiff::Timestamp;

/// When a rate-limited request may be tried again, as the network said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long (`Retry-After: 120`).
    Delay(Duration),
    /// Not before this time (`x-rate-limit-reset`, `RateLimit-Reset`, an HTTP date).
    At(Timestamp),
}

impl RetryAfter {
    /// The earliest time to try again, given the time now.
    pub fn earliest(self, now: Timestamp) -> Timestamp {
        match self {
            RetryAfter::At(at) => at,
            RetryAfter::Delay(delay) => jiff::SignedDuration::try_from(delay)
                .ok()
                .and_then(|delay| now.checked_add(delay).ok())
                .unwrap_or(now),
        }
    }
}

/// A failed call. Messages are for people (the gatekeeper, the author) and never hold a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// 429, or a network's own "too many requests" code. Nothing was posted.
    #[error("the network is rate-limiting Herald: {message}")]
    RateLimited {
        retry_after: Option<RetryAfter>,
        message: String,
    },
    /// The network could not be reached, or answered 5xx before accepting anything. Nothing
    /// was posted; trying again later is safe.
    #[error("the network is unavailable: {0}")]
    Unavailable(String),
    /// 401, or an expired or revoked token: the gatekeeper must reconnect the account.
    #[error("the network no longer accepts Herald's access: {0}")]
    Unauthorized(String),
    /// The network refused this request (4xx): trying again unchanged will not help.
    #[error("the network refused the post: {0}")]
    Rejected(String),
    /// The request was sent but no clear answer came back (a timeout after sending, a
    /// success status with a body that makes no sense): the post may or may not exist.
    #[error("the network's answer was lost or unreadable: {0}")]
    Unknown(String),
}

impl NetworkError {
    /// Whether trying again later is safe whatever the network's idempotency.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            NetworkError::RateLimited { .. } | NetworkError::Unavailable(_)
        )
    }
}

/// A step before the post itself (an upload, a container, a mention looked up) whose answer
/// was lost made no post, so trying again is safe: the unknown outcome becomes "unavailable".
pub(crate) fn nothing_posted(error: NetworkError) -> NetworkError {
    match error {
        NetworkError::Unknown(message) => {
            NetworkError::Unavailable(format!("{message} (before anything was published)"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_answer_before_publishing_is_safe_to_retry() {
        assert_eq!(
            nothing_posted(NetworkError::Unknown("no answer".to_owned())),
            NetworkError::Unavailable("no answer (before anything was published)".to_owned())
        );
        assert!(matches!(
            nothing_posted(NetworkError::Rejected("no".to_owned())),
            NetworkError::Rejected(_)
        ));
    }
}
