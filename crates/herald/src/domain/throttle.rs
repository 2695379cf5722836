//! Sign-in throttling, shaped so that an attacker cannot keep a member out of their own account
//! (OWASP's "Blocking Brute Force Attacks": per account and address, device cookies).
//!
//! A sign-in is judged against several counts of failures; after a count's free failures, each
//! further failure doubles the wait before that count allows another attempt, up to 15 minutes.
//! Never a permanent lock-out.
//! - From a browser that holds a device cookie for the account (it signed in there before): only
//!   that browser's own failures count. Other people's failures, from any address, never slow it.
//! - From anywhere else, three counts must all allow the attempt:
//!   - the account from this address (3 free failures, cleared by a successful sign-in), which
//!     slows guessing one account from one address;
//!   - this address (10 free failures an hour, whichever accounts they named, known or not),
//!     which slows guessing many accounts, or addresses, from one address;
//!   - the account from every address (20 free failures an hour), which slows a guesser spread
//!     over many addresses.
//!
//! So failures from one address never stop the owner signing in from another address, nor from
//! a browser that signed in before; a paced guesser (one try each time its wait ends, about four
//! an hour) stays under the account's hourly count. A member whose own address is being used for
//! guessing (a shared office line) gets in from a browser that signed in before.

use jiff::SignedDuration;

const LONGEST_WAIT: SignedDuration = SignedDuration::from_secs(15 * 60);
const WINDOW: SignedDuration = SignedDuration::from_secs(60 * 60);

/// One count of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// One account, from one address.
    AccountFromAddress,
    /// Every sign-in from one address.
    Address,
    /// One account, from every address.
    Account,
    /// One browser that signed in to the account before (its device cookie).
    Device,
}

/// A count and the key it is kept under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub count: Count,
    pub key: String,
}

impl Count {
    /// Failures allowed before waits begin.
    pub fn free_failures(self) -> i64 {
        match self {
            Count::AccountFromAddress | Count::Device => 3,
            // Higher, because an office shares one address.
            Count::Address => 10,
            Count::Account => 20,
        }
    }

    /// How long failures are counted together; `None` when they count until a sign-in
    /// succeeds.
    pub fn window(self) -> Option<SignedDuration> {
        match self {
            Count::AccountFromAddress | Count::Device => None,
            Count::Address | Count::Account => Some(WINDOW),
        }
    }

    /// Whether a successful sign-in starts this count again. The per-address and per-account
    /// counts are not: signing in to one's own account must not buy more guesses at others.
    pub fn cleared_by_success(self) -> bool {
        matches!(self, Count::AccountFromAddress | Count::Device)
    }
}

/// The counts a sign-in as `email` from `address` is judged against; `device` is the id of the
/// browser's device cookie when it is valid for this account.
pub fn throttles(email: &str, address: &str, device: Option<&str>) -> Vec<Throttle> {
    let throttle = |count, key: String| Throttle { count, key };
    let address = network_of(address);
    match device {
        Some(device) => vec![throttle(Count::Device, format!("device:{device}"))],
        None => vec![
            throttle(
                Count::AccountFromAddress,
                format!("account-address:{email} {address}"),
            ),
            throttle(Count::Address, format!("address:{address}")),
            throttle(Count::Account, format!("account:{email}")),
        ],
    }
}

/// The network an address is counted as: an IPv4 address alone, but an IPv6 address by its
/// /64, since one ordinary IPv6 host holds a whole /64 and could otherwise take a fresh address,
/// and fresh free failures, for every guess.
pub fn network_of(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        _ => address.to_owned(),
    }
}

/// How long to wait after the `failures`-th failure in a row.
pub fn wait_after(failures: i64, free: i64) -> SignedDuration {
    let over = failures - free;
    if over <= 0 {
        return SignedDuration::ZERO;
    }
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(20);
    SignedDuration::from_secs(1 << doublings).min(LONGEST_WAIT)
}

/// Whole seconds until `until`, rounded up (a `Retry-After` that says 1 while the wait is 1.5 s
/// sends the client back too early), and at least 1.
pub fn seconds_until(now: jiff::Timestamp, until: jiff::Timestamp) -> i64 {
    let millis = now.duration_until(until).as_millis();
    i64::try_from(millis.div_euclid(1000) + i128::from(millis.rem_euclid(1000) > 0))
        .unwrap_or(i64::MAX)
        .max(1)
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

    #[test]
    fn a_browser_that_signed_in_before_is_judged_only_by_its_own_failures() {
        let trusted = throttles("a@b.example", "192.0.2.1", Some("d1"));
        assert_eq!(trusted.len(), 1);
        assert_eq!(trusted[0].count, Count::Device);
        let counts: Vec<Count> = throttles("a@b.example", "192.0.2.1", None)
            .iter()
            .map(|throttle| throttle.count)
            .collect();
        assert_eq!(
            counts,
            [Count::AccountFromAddress, Count::Address, Count::Account]
        );
    }

    #[test]
    fn a_paced_guesser_stays_under_the_accounts_hourly_count() {
        // One try each time the per-address wait ends, once waits reach 15 minutes: 4 an hour.
        let paced_per_hour = WINDOW.as_secs() / LONGEST_WAIT.as_secs();
        assert!(paced_per_hour <= Count::Account.free_failures());
    }

    #[test]
    fn the_seconds_to_wait_are_rounded_up() {
        let now = jiff::Timestamp::from_second(1_800_000_000).expect("time");
        let later = |millis: i64| now + SignedDuration::from_millis(millis);
        assert_eq!(seconds_until(now, later(2000)), 2);
        assert_eq!(seconds_until(now, later(1999)), 2);
        assert_eq!(seconds_until(now, later(1001)), 2);
        assert_eq!(seconds_until(now, later(1)), 1);
        assert_eq!(seconds_until(now, later(-5)), 1);
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_bit_network() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            network_of("2001:db8:1:2::7")
        );
        assert_ne!(network_of("2001:db8:1:3::1"), network_of("2001:db8:1:2::1"));
        assert_eq!(network_of("192.0.2.7"), "192.0.2.7");
        let keys: Vec<String> = throttles("a@b.example", "2001:db8::5", None)
            .into_iter()
            .map(|throttle| throttle.key)
            .collect();
        assert!(
            keys.contains(&"address:2001:db8:0:0::/64".to_owned()),
            "{keys:?}"
        );
    }
}
