//! Sign-in throttling: after a few free failures, each further failure doubles the wait before
//! the next attempt, up to 15 minutes. Never a permanent lock-out, which an attacker could use
//! to keep someone out of their own account.

use jiff::SignedDuration;

const LONGEST_WAIT: SignedDuration = SignedDuration::from_secs(15 * 60);

/// Failures allowed per account before waits begin.
pub const FREE_FAILURES_PER_ACCOUNT: i64 = 3;
/// Failures allowed per network address before waits begin; higher, because an office shares
/// one address.
pub const FREE_FAILURES_PER_ADDRESS: i64 = 10;

/// How long to wait after the `failures`-th failure in a row.
pub fn wait_after(failures: i64, free: i64) -> SignedDuration {
    let over = failures - free;
    if over <= 0 {
        return SignedDuration::ZERO;
    }
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(20);
    SignedDuration::from_secs(1 << doublings).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_double_and_stop_at_fifteen_minutes() {
        let waits: Vec<i64> = (1..=16)
            .map(|failures| wait_after(failures, 3).as_secs())
            .collect();
        assert_eq!(
            waits,
            [
                0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900
            ]
        );
        assert_eq!(wait_after(i64::MAX, 3).as_secs(), 900);
    }
}
