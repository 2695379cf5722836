//! Login passwords: the rules a new one must meet, and Argon2id hashing.
//!
//! Following NIST SP 800-63B: at least 12 characters and up to 128, any characters, no
//! composition rules, and refused when it is a known common password or trivially guessable.
//! The common-password list is zxcvbn's, compiled into the binary.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use zxcvbn::matching::patterns::MatchPattern;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// A password that met the rules when it was chosen. Its text is a secret.
#[derive(Debug)]
pub struct NewPassword(SecretString);

/// Why a new password was refused; each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error(
        "use at least {MIN_LENGTH} characters; a few unrelated words make a strong, memorable password"
    )]
    TooShort,
    #[error("use at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("this is one of the most common passwords; choose something nobody else would")]
    Common,
    #[error("this password is too easy to guess{hint}")]
    Guessable { hint: String },
}

/// How strong a password looks, for live feedback as someone types.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very hard to guess).
    pub score: u8,
    pub warning: Option<String>,
}

/// Argon2id cost: memory in KiB, iterations and lanes. OWASP's minimum is 19 MiB, 2, 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub lanes: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            lanes: 1,
        }
    }
}

/// The result of checking a password against its stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Wrong,
    Right,
    /// Right, but hashed with a lower cost than now configured: store a fresh hash.
    RightButRehash,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl NewPassword {
    /// Checks a new password. `personal` holds words from the person's own details (email,
    /// name, organisation), which make a password easier to guess.
    pub fn parse(text: &str, personal: &[&str]) -> Result<NewPassword, PasswordError> {
        let length = text.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        let personal = personal_words(personal);
        let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(text, &personal);
        if is_common(&entropy, text) {
            return Err(PasswordError::Common);
        }
        if (entropy.score() as u8) < 2 {
            let hint = entropy
                .feedback()
                .and_then(|feedback| feedback.warning())
                .map_or_else(String::new, |warning| format!(": {warning}"));
            return Err(PasswordError::Guessable { hint });
        }
        Ok(NewPassword(SecretString::from(text.to_owned())))
    }

    pub fn hash(&self, cost: HashCost) -> Result<String, HashError> {
        hash(self.0.expose_secret(), cost)
    }
}

/// A person's details (email, name, organisation) as the guessability check should know them:
/// every word on its own and each detail's words run together, lowercase, with and without
/// accents. "Sunny Café" gives sunny, café, cafe, sunnycafé and sunnycafe, so that
/// "sunnycafe2024" counts as the café's own name with a year.
fn personal_words(details: &[&str]) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut words = Vec::new();
    for detail in details {
        let lower = detail.to_lowercase();
        let parts: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect();
        words.extend(parts.iter().map(|part| (*part).to_owned()));
        words.push(parts.concat());
    }
    let folded: Vec<String> = words
        .iter()
        .map(|word| word.nfd().filter(|c| !is_combining_mark(*c)).collect())
        .collect();
    words.extend(folded);
    words.retain(|word| !word.is_empty());
    words.sort();
    words.dedup();
    words
}

/// Strength feedback for any text, whether or not it would be accepted.
pub fn strength(text: &str, personal: &[&str]) -> Strength {
    if text.chars().count() > MAX_LENGTH {
        return Strength {
            score: 0,
            warning: Some(PasswordError::TooLong.to_string()),
        };
    }
    let personal = personal_words(personal);
    let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(text, &personal);
    Strength {
        score: entropy.score() as u8,
        warning: entropy
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map(|warning| warning.to_string()),
    }
}

/// Checks `candidate` against a stored PHC-format hash. Hashes that fail to parse count as a
/// wrong password, never as a match.
pub fn verify(stored: &str, candidate: &str, cost: HashCost) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::Wrong;
    };
    if Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_err()
    {
        return Verified::Wrong;
    }
    let current = Params::try_from(&parsed).ok();
    let weaker = current.is_none_or(|params| {
        params.m_cost() < cost.memory_kib
            || params.t_cost() < cost.iterations
            || params.p_cost() < cost.lanes
    });
    if weaker || parsed.algorithm != Algorithm::Argon2id.ident() {
        return Verified::RightButRehash;
    }
    Verified::Right
}

/// Hashes with Argon2id and a fresh random salt, into a PHC string that records its own cost.
pub fn hash(text: &str, cost: HashCost) -> Result<String, HashError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.lanes, None)
        .map_err(|error| HashError(error.to_string()))?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(text.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Whether the whole password (ignoring case) is an entry of the common-password list.
fn is_common(entropy: &zxcvbn::Entropy, text: &str) -> bool {
    let lowered = text.to_lowercase();
    entropy.sequence().iter().any(|found| match &found.pattern {
        MatchPattern::Dictionary(pattern) => {
            // zxcvbn does not export the name of its dictionary type, but the type's default
            // is its list of common passwords.
            pattern.dictionary_name == Default::default() && found.token.to_lowercase() == lowered
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap cost so tests stay fast; production cost is checked separately.
    const TEST_COST: HashCost = HashCost {
        memory_kib: 1024,
        iterations: 1,
        lanes: 1,
    };

    #[test]
    fn short_and_overlong_passwords_are_refused() {
        assert_eq!(
            NewPassword::parse("eleven char", &[]).map(drop),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            NewPassword::parse(&"long walk ".repeat(13), &[]).map(drop),
            Err(PasswordError::TooLong)
        );
        assert!(
            NewPassword::parse(&"ünïcödé wörds ".repeat(9), &[]).is_ok(),
            "126 characters, non-ASCII allowed"
        );
    }

    #[test]
    fn common_passwords_are_refused_even_when_long_enough() {
        for common in ["password1234", "qwertyuiop123", "iloveyou1234"] {
            let result = NewPassword::parse(common, &[]).map(drop);
            assert!(
                matches!(
                    result,
                    Err(PasswordError::Common | PasswordError::Guessable { .. })
                ),
                "{common}: {result:?}"
            );
        }
    }

    #[test]
    fn a_password_made_of_the_persons_own_details_is_refused() {
        let result = NewPassword::parse(
            "sunnysidecafe",
            &["sunnysidecafe", "owner@sunnysidecafe.com"],
        );
        assert!(
            matches!(
                result,
                Err(PasswordError::Guessable { .. } | PasswordError::Common)
            ),
            "{result:?}"
        );
    }

    #[test]
    fn no_composition_rules_a_long_phrase_of_lowercase_words_is_fine() {
        assert!(NewPassword::parse("correct horse battery staple", &[]).is_ok());
    }

    #[test]
    fn a_hash_verifies_only_the_right_password_and_is_argon2id() {
        let stored = hash("correct horse battery staple", TEST_COST).expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(
            verify(&stored, "correct horse battery staple", TEST_COST),
            Verified::Right
        );
        assert_eq!(
            verify(&stored, "correct horse battery stapler", TEST_COST),
            Verified::Wrong
        );
        assert_eq!(verify("not a hash", "anything", TEST_COST), Verified::Wrong);
    }

    #[test]
    fn a_hash_made_with_a_lower_cost_asks_to_be_redone() {
        let stored = hash("correct horse battery staple", TEST_COST).expect("hash");
        let raised = HashCost {
            memory_kib: 2048,
            ..TEST_COST
        };
        assert_eq!(
            verify(&stored, "correct horse battery staple", raised),
            Verified::RightButRehash
        );
        assert_eq!(
            verify(&stored, "wrong horse battery staple", raised),
            Verified::Wrong
        );
    }

    #[test]
    fn the_default_cost_meets_owasp_minimums() {
        let cost = HashCost::default();
        assert!(cost.memory_kib >= 19 * 1024 && cost.iterations >= 2 && cost.lanes >= 1);
        let stored = hash("correct horse battery staple", cost).expect("hash");
        assert!(stored.contains("m=19456,t=2,p=1"), "{stored}");
    }

    #[test]
    fn the_organisations_and_the_persons_own_names_count_against_a_password() {
        let details = ["owner@sunny.example", "Olive Owner", "Sunny Café"];
        assert!(matches!(
            NewPassword::parse("sunnycafe2024", &details),
            Err(PasswordError::Guessable { .. } | PasswordError::Common)
        ));
        assert!(strength("sunnycafe2024", &details).score < 2);
        assert!(strength("sunnycafe2024", &[]).score >= strength("sunnycafe2024", &details).score);
        assert_eq!(
            personal_words(&["Sunny Café"]),
            ["cafe", "café", "sunny", "sunnycafe", "sunnycafé"]
        );
        assert!(NewPassword::parse("marmalade kettle harbour 42", &details).is_ok());
    }

    #[test]
    fn strength_rises_with_better_passwords() {
        assert!(strength("password", &[]).score <= 1);
        assert!(strength("correct horse battery staple", &[]).score >= 3);
    }
}
