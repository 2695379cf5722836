//! Pure types and rules: no IO, no async, no database or HTTP imports. Functions that depend on
//! time take `now` as an argument.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod client_address;
pub mod generator;
pub mod ids;
pub mod inbox;
pub mod incidents;
pub mod jobs;
pub mod media;
pub mod notifications;
pub mod password;
pub mod people;
pub mod post_text;
pub mod posts;
pub mod schedule;
pub mod security;
pub mod staff;
pub mod throttle;
pub mod totp;
pub mod training;
pub mod webhooks;

/// Compares secrets without returning early on the first difference, so the time taken does
/// not reveal how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_matches_only_identical_bytes() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
