//! Second factors: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps) and recovery codes.
//!
//! A code is accepted for the current step and one step either side (clock drift), and only
//! once: the caller stores the step of the last accepted code and passes it back, so a code
//! seen over someone's shoulder cannot be replayed within its window.

use std::fmt;

use jiff::Timestamp;
use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

use super::constant_time_eq;

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// 160 bits, the length RFC 4226 recommends for HMAC-SHA-1 secrets.
const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODE_COUNT: usize = 10;

/// A TOTP shared secret. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("enter the 6-digit code from your authenticator app")]
    Malformed,
    #[error("that code is not right; check the time on your phone and try the current code")]
    Wrong,
    #[error("that code was already used; wait for the next one")]
    Reused,
    #[error("not a valid 2FA key: expected the base32 text the network showed when 2FA was set up")]
    BadSecret,
}

impl TotpSecret {
    pub fn generate(rng: &mut impl RngCore) -> TotpSecret {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<TotpSecret, TotpError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() != SECRET_BYTES {
            return Err(TotpError::BadSecret);
        }
        Ok(TotpSecret(bytes))
    }

    /// Reads a network's 2FA seed as the network shows it (base32, 80 to 512 bits). Networks
    /// choose their own lengths, so this is looser than Herald's own secrets.
    pub fn from_network_seed(text: &str) -> Result<TotpSecret, TotpError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let bytes = Secret::Encoded(cleaned.trim_end_matches('=').to_owned())
            .to_bytes()
            .map_err(|_| TotpError::BadSecret)?;
        if !(10..=64).contains(&bytes.len()) {
            return Err(TotpError::BadSecret);
        }
        Ok(TotpSecret(Zeroizing::new(bytes)))
    }

    /// Reads a secret as authenticator apps show it (base32).
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        let bytes = Secret::Encoded(text.trim().to_uppercase())
            .to_bytes()
            .map_err(|_| TotpError::BadSecret)?;
        TotpSecret::from_bytes(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32, for typing into an authenticator app by hand.
    pub fn base32(&self) -> String {
        Secret::Raw(self.0.to_vec()).to_encoded().to_string()
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECONDS,
            self.0.to_vec(),
            Some(issuer.to_owned()),
            account.to_owned(),
        );
        totp.get_url()
    }

    /// The code for one 30-second step.
    pub fn code_at_step(&self, step: u64) -> String {
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECONDS,
            self.0.to_vec(),
            None,
            String::new(),
        )
        .generate(step * STEP_SECONDS)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// The 30-second step `now` falls in.
pub fn step_at(now: Timestamp) -> u64 {
    u64::try_from(now.as_second()).unwrap_or(0) / STEP_SECONDS
}

/// Checks `code` at `now`. `last_used_step` is the step of the last code this person used
/// (0 if none). Returns the step that matched, which the caller must store.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: Timestamp,
    last_used_step: u64,
) -> Result<u64, TotpError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let current = step_at(now);
    let matched = [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| constant_time_eq(secret.code_at_step(*step).as_bytes(), code.as_bytes()));
    match matched {
        Some(step) if step <= last_used_step => Err(TotpError::Reused),
        Some(step) => Ok(step),
        None => Err(TotpError::Wrong),
    }
}

/// Freshly generated recovery codes: the codes to show once, and the hashes to store.
#[derive(Debug)]
pub struct RecoveryCodes {
    pub codes: Vec<Zeroizing<String>>,
    pub hashes: Vec<String>,
}

/// Ten codes of 16 characters (80 random bits each), written as `xxxx-xxxx-xxxx-xxxx`.
pub fn generate_recovery_codes(rng: &mut impl RngCore) -> RecoveryCodes {
    // Crockford's base32 alphabet: no i, l, o or u to misread.
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    let mut hashes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    for _ in 0..RECOVERY_CODE_COUNT {
        let mut raw = Zeroizing::new([0u8; 16]);
        rng.fill_bytes(raw.as_mut_slice());
        let plain: String = raw
            .iter()
            .map(|byte| char::from(ALPHABET[usize::from(byte & 31)]))
            .collect();
        let shown = plain
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        hashes.push(hash_recovery_code(&shown, rng));
        codes.push(Zeroizing::new(shown));
    }
    RecoveryCodes { codes, hashes }
}

/// Marks the salted form of a stored recovery code; older rows hold a bare SHA-256 in hex.
const SALTED: &str = "s1$";

/// The stored form of a recovery code: `s1$<salt>$<HMAC-SHA-256 keyed by the salt>`, with a
/// random 128-bit salt per code. Codes carry 80 random bits, under the 112 bits for which
/// NIST SP 800-63B (5.1.2.2) accepts an unsalted hash, so each is salted: a stolen table
/// cannot be attacked once for every member. Spaces, dashes and case are ignored so people
/// can type codes as they like.
pub fn hash_recovery_code(code: &str, rng: &mut impl RngCore) -> String {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let digest = salted_digest(&salt, &normalise(code));
    format!("{SALTED}{}${}", hex::encode(salt), hex::encode(digest))
}

/// Whether `code` is the one `stored` was made from. Reads both the salted form and the bare
/// SHA-256 that Herald stored before, so codes handed out earlier keep working until they are
/// used or regenerated (they cannot be rehashed without the code itself).
pub fn recovery_code_matches(stored: &str, code: &str) -> bool {
    let normalised = normalise(code);
    match stored.strip_prefix(SALTED) {
        Some(rest) => {
            let Some((salt, digest)) = rest.split_once('$') else {
                return false;
            };
            let (Ok(salt), Ok(digest)) = (hex::decode(salt), hex::decode(digest)) else {
                return false;
            };
            constant_time_eq(&salted_digest(&salt, &normalised), &digest)
        }
        None => {
            let legacy = hex::encode(Sha256::digest(normalised.as_bytes()));
            constant_time_eq(legacy.as_bytes(), stored.as_bytes())
        }
    }
}

fn normalise(code: &str) -> Zeroizing<String> {
    Zeroizing::new(
        code.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    )
}

fn salted_digest(salt: &[u8], normalised: &str) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    match <Hmac<Sha256> as Mac>::new_from_slice(salt) {
        Ok(mut mac) => {
            mac.update(normalised.as_bytes());
            mac.finalize().into_bytes().into()
        }
        // HMAC accepts a key of any length; this arm cannot be taken.
        Err(_) => [0u8; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20 bytes")
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).expect("time")
    }

    #[test]
    fn codes_match_the_rfc_6238_sha1_test_vectors() {
        // RFC 6238 appendix B gives 8-digit codes; the 6-digit code is their last six digits.
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(rfc_secret().code_at_step(time / 30), expected, "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = rfc_secret();
        let now = at(1_800_000_015);
        let step = step_at(now);
        for offset in [-1i64, 0, 1] {
            let code = secret.code_at_step(step.checked_add_signed(offset).expect("step"));
            assert!(verify(&secret, &code, now, 0).is_ok(), "offset {offset}");
        }
        for offset in [-2i64, 2] {
            let code = secret.code_at_step(step.checked_add_signed(offset).expect("step"));
            assert_eq!(
                verify(&secret, &code, now, 0),
                Err(TotpError::Wrong),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_only_once() {
        let secret = rfc_secret();
        let now = at(1_800_000_015);
        let code = secret.code_at_step(step_at(now));
        let used = verify(&secret, &code, now, 0).expect("first use");
        assert_eq!(verify(&secret, &code, now, used), Err(TotpError::Reused));
        let previous = secret.code_at_step(step_at(now) - 1);
        assert_eq!(
            verify(&secret, &previous, now, used),
            Err(TotpError::Reused),
            "an older code is spent too"
        );
    }

    #[test]
    fn malformed_codes_are_named_as_such() {
        let secret = rfc_secret();
        for code in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(&secret, code, at(0), 0),
                Err(TotpError::Malformed),
                "{code:?}"
            );
        }
        let code = secret.code_at_step(step_at(at(1_800_000_000)));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(
            verify(&secret, &spaced, at(1_800_000_000), 0).is_ok(),
            "spaces are ignored"
        );
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = rfc_secret().otpauth_uri("Herald (Sunny Café)", "owner@sunny.example");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", rfc_secret().base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Herald"), "{uri}");
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn secrets_are_random_160_bits_and_never_printed() {
        let a = TotpSecret::generate(&mut rand::rngs::OsRng);
        let b = TotpSecret::generate(&mut rand::rngs::OsRng);
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "TotpSecret([REDACTED])");
        assert!(TotpSecret::from_bytes(vec![0; 10]).is_err());
    }

    #[test]
    fn recovery_codes_are_ten_distinct_codes_whose_hashes_ignore_formatting() {
        let generated = generate_recovery_codes(&mut rand::rngs::OsRng);
        assert_eq!(generated.codes.len(), 10);
        let mut unique: Vec<&str> = generated.codes.iter().map(|code| code.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        let first = generated.codes[0].as_str();
        assert_eq!(first.len(), 19, "{first}");
        assert!(recovery_code_matches(&generated.hashes[0], first));
        assert!(recovery_code_matches(
            &generated.hashes[0],
            &first.to_uppercase().replace('-', " ")
        ));
        assert!(!recovery_code_matches(
            &generated.hashes[0],
            "aaaa-aaaa-aaaa-aaaa"
        ));
    }

    #[test]
    fn recovery_codes_are_stored_salted_so_one_code_hashes_differently_each_time() {
        let mut rng = rand::rngs::OsRng;
        let first = hash_recovery_code("abcd-efgh-jkmn-pqrs", &mut rng);
        let second = hash_recovery_code("abcd-efgh-jkmn-pqrs", &mut rng);
        assert!(first.starts_with("s1$"), "{first}");
        assert_ne!(first, second);
        assert!(recovery_code_matches(&first, "ABCD EFGH JKMN PQRS"));
        assert!(recovery_code_matches(&second, "abcdefghjkmnpqrs"));
        assert!(!recovery_code_matches(&first, "abcd-efgh-jkmn-pqrt"));
    }

    #[test]
    fn codes_stored_as_a_bare_sha256_before_salting_still_match() {
        let legacy = hex::encode(Sha256::digest(b"abcdefghjkmnpqrs"));
        assert!(recovery_code_matches(&legacy, "abcd-efgh-jkmn-pqrs"));
        assert!(!recovery_code_matches(&legacy, "abcd-efgh-jkmn-pqrt"));
        assert!(!recovery_code_matches("s1$zz$zz", "abcd-efgh-jkmn-pqrs"));
    }
}
