//! Whether a token with no known prefix looks like a random secret (`secret.high_entropy`),
//! and the things that look random but are deliberately not reported.

use crate::validate::shannon_entropy;

/// Whether a token with no known prefix looks like a random secret.
///
/// At least 20 characters, with letters and digits, Shannon entropy of at least
/// min(4.0, 0.8·log2(length)) bits per character, and not mostly words ("SummerSale2024
/// Discount", hashtags, slugs). Deliberately not reported: UUIDs (order and tracking links are
/// full of them), and hex strings (commit hashes, colours, checksums) unless a word such as
/// "key", "token" or "secret" comes just before them.
pub fn looks_random(token: &[u8], context: &str) -> bool {
    if token.len() < 20 || token.len() > 512 {
        return false;
    }
    let digits = token.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = token.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if digits == 0 || letters == 0 {
        return false;
    }
    if is_uuid(token) {
        return false;
    }
    let hex = token.iter().all(|b| b.is_ascii_hexdigit());
    if hex {
        let context = context.to_ascii_lowercase();
        let named = [
            "key", "token", "secret", "password", "api", "auth", "bearer",
        ]
        .iter()
        .any(|word| context.contains(word));
        return named && token.len() >= 32 && shannon_entropy(token) >= 3.0;
    }
    if wordy(token) {
        return false;
    }
    let threshold = (0.8 * (token.len() as f64).log2()).min(4.0);
    shannon_entropy(token) >= threshold
}

/// True when at least 40% of the token is runs of four or more same-case letters, as in words.
fn wordy(token: &[u8]) -> bool {
    let mut in_words = 0;
    let mut run = 0;
    let mut run_case = None;
    for &byte in token.iter().chain(std::iter::once(&b' ')) {
        let case = if byte.is_ascii_lowercase() {
            Some(false)
        } else if byte.is_ascii_uppercase() {
            Some(true)
        } else {
            None
        };
        if case.is_some() && case == run_case {
            run += 1;
            continue;
        }
        if run >= 4 {
            in_words += run;
        }
        // A capital followed by lowercase starts a word: count it with its run.
        let capital_then_lower = run_case == Some(true) && run == 1 && case == Some(false);
        run = if capital_then_lower { 2 } else { 1 };
        run_case = case;
    }
    in_words * 10 >= token.len() * 4
}

fn is_uuid(token: &[u8]) -> bool {
    let groups: Vec<usize> = token.split(|b| *b == b'-').map(<[u8]>::len).collect();
    groups == [8, 4, 4, 4, 12] && token.iter().all(|b| *b == b'-' || b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_look_random_and_words_do_not() {
        assert!(looks_random(b"q8Zr2LpX0vN4tYw7Ks1MbC3d", ""));
        assert!(!looks_random(b"SummerSale2024Discount", ""));
        assert!(!looks_random(b"SmallBusinessSaturday", ""), "no digit");
        assert!(
            !looks_random(b"123e4567-e89b-12d3-a456-426614174000", ""),
            "uuid"
        );
        assert!(!looks_random(
            b"3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
            "fixed in commit"
        ));
        assert!(looks_random(
            b"3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
            "api key: "
        ));
    }
}
