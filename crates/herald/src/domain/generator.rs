//! Passwords for the company's network logins: generated to each network's own rules, long
//! and random, with every character class the network accepts.

use rand::{CryptoRng, Rng};
use zeroize::Zeroizing;

use super::accounts::Network;

/// The length used when none is asked for: past the point where guessing is hopeless, and
/// within every network's limit.
pub const DEFAULT_LENGTH: usize = 24;
/// Shorter generated passwords than this are refused whatever a network allows.
pub const SHORTEST: usize = 16;

/// What a network's password form accepts. Symbols are limited to ones that every network
/// form we know takes and that survive being pasted into a shell or a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_length: usize,
    pub max_length: usize,
    pub symbols: &'static str,
}

const SAFE_SYMBOLS: &str = "!#%*+-=?@^_~";
const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &str = "23456789";

/// Why a password could not be generated as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    #[error("for {network}, choose a length from {min} to {max} characters")]
    Length {
        network: &'static str,
        min: usize,
        max: usize,
    },
}

impl Network {
    /// The network's password rules as its sign-up and change-password forms state them.
    /// Mastodon's 72 is bcrypt's limit; Threads signs in through Instagram.
    pub fn password_rules(self) -> PasswordRules {
        let (min_length, max_length) = match self {
            Network::X | Network::Linkedin => (8, 128),
            Network::Facebook | Network::Instagram | Network::Threads => (6, 128),
            Network::Bluesky => (8, 256),
            Network::Mastodon => (8, 72),
        };
        PasswordRules {
            min_length,
            max_length,
            symbols: SAFE_SYMBOLS,
        }
    }
}

/// A new random password for `network`, `length` characters long (default
/// [`DEFAULT_LENGTH`]), drawn uniformly from lower and upper case letters, digits and the
/// network's symbols, with at least one of each. Letters and digits that are easy to
/// confuse when read aloud (l, I, O, 0, 1) are left out.
pub fn generate(
    network: Network,
    length: Option<usize>,
    rng: &mut (impl Rng + CryptoRng),
) -> Result<Zeroizing<String>, GeneratorError> {
    let rules = network.password_rules();
    let length = length.unwrap_or(DEFAULT_LENGTH.min(rules.max_length));
    if length < SHORTEST.max(rules.min_length) || length > rules.max_length {
        return Err(GeneratorError::Length {
            network: network.label(),
            min: SHORTEST.max(rules.min_length),
            max: rules.max_length,
        });
    }
    let classes = [LOWER, UPPER, DIGITS, rules.symbols];
    let alphabet: Vec<char> = classes.iter().flat_map(|class| class.chars()).collect();
    // Drawing whole passwords until one has every class keeps each valid password equally
    // likely; at 16 characters or more a redraw is needed about one time in six.
    loop {
        let password: Zeroizing<String> = Zeroizing::new(
            (0..length)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect(),
        );
        if classes
            .iter()
            .all(|class| password.chars().any(|c| class.contains(c)))
        {
            return Ok(password);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_network_gets_a_default_password_within_its_rules_with_every_class() {
        let mut rng = StdRng::seed_from_u64(7);
        for network in Network::ALL {
            let rules = network.password_rules();
            let password = generate(network, None, &mut rng).expect("generate");
            assert!(password.len() >= 20 && password.len() <= rules.max_length);
            assert!(password.chars().any(|c| c.is_ascii_lowercase()));
            assert!(password.chars().any(|c| c.is_ascii_uppercase()));
            assert!(password.chars().any(|c| c.is_ascii_digit()));
            assert!(password.chars().any(|c| rules.symbols.contains(c)));
            assert!(!password.contains(['l', 'I', 'O', '0', '1']));
        }
    }

    #[test]
    fn lengths_outside_the_network_rules_are_refused_with_the_range() {
        let mut rng = StdRng::seed_from_u64(7);
        let error = generate(Network::Mastodon, Some(100), &mut rng).expect_err("too long");
        assert_eq!(
            error.to_string(),
            "for Mastodon, choose a length from 16 to 72 characters"
        );
        assert!(generate(Network::X, Some(8), &mut rng).is_err());
        assert_eq!(
            generate(Network::Mastodon, Some(72), &mut rng)
                .expect("longest")
                .len(),
            72
        );
    }

    #[test]
    fn two_passwords_differ() {
        let mut rng = rand::rngs::OsRng;
        let first = generate(Network::Bluesky, None, &mut rng).expect("generate");
        let second = generate(Network::Bluesky, None, &mut rng).expect("generate");
        assert_ne!(*first, *second);
    }
}
