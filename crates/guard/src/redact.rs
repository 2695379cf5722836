//! Redacted excerpts: what a finding may show of the text it matched.
//!
//! The rule is that an excerpt never contains the matched value. Secrets keep at most their
//! first four characters (usually the public prefix such as `AKIA` or `ghp_`) and then a
//! fixed-length mask, so not even their length leaks. Personal numbers keep at most their last
//! two to four digits, as receipts do. Everything else keeps its first character per word.

/// The mask character, easy to see and never part of a real value.
pub const MASK: char = '•';

/// Fixed mask for secrets, so the excerpt reveals nothing about the secret's length.
const SECRET_MASK: &str = "••••••••";

/// A secret: its first four characters (at most a quarter of it) then a fixed mask.
pub fn secret(value: &str) -> String {
    let keep = (value.chars().count() / 4).min(4);
    let mut excerpt = String::with_capacity(4 * 4 + SECRET_MASK.len());
    excerpt.extend(value.chars().take(keep));
    excerpt.push_str(SECRET_MASK);
    excerpt
}

/// A labelled secret such as `password: hunter2`: the label stays, the value is masked whole.
pub fn labelled_secret(label: &str) -> String {
    format!("{} {SECRET_MASK}", label.trim_end())
}

/// An email address: first character of the mailbox, then the domain, which is not personal.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((mailbox, domain)) => {
            let mut excerpt = String::with_capacity(4 + 3 * MASK.len_utf8() + 1 + domain.len());
            excerpt.extend(mailbox.chars().take(1));
            excerpt.extend([MASK, MASK, MASK, '@']);
            excerpt.push_str(domain);
            excerpt
        }
        None => words(value),
    }
}

/// A number (phone, card, SSN): every digit masked except the last `keep`, keeping the layout.
pub fn digits_keeping_last(value: &str, keep: usize) -> String {
    let total = value.bytes().filter(u8::is_ascii_digit).count();
    // Never show more than a quarter of the digits, so a short number is masked whole.
    let keep = keep.min(total / 4);
    let mut seen = 0;
    let mut excerpt = String::with_capacity(masked_capacity(value));
    excerpt.extend(value.chars().map(|c| {
        if !c.is_ascii_digit() {
            return c;
        }
        seen += 1;
        if seen > total - keep { c } else { MASK }
    }));
    excerpt
}

/// An identifier such as an IBAN or NINO: its first two characters (a country or prefix code)
/// and its last `keep_last` alphanumerics; the rest masked.
pub fn identifier(value: &str, keep_last: usize) -> String {
    let total = value.chars().filter(char::is_ascii_alphanumeric).count();
    let keep_last = keep_last.min(total / 4);
    let mut seen = 0;
    let mut excerpt = String::with_capacity(masked_capacity(value));
    excerpt.extend(value.chars().map(|c| {
        if !c.is_ascii_alphanumeric() {
            return c;
        }
        seen += 1;
        if seen <= 2 || seen > total - keep_last {
            c
        } else {
            MASK
        }
    }));
    excerpt
}

/// Words: the first character of each word kept, the rest of its letters and digits masked.
/// Used for addresses, confidential terms, profanity and custom rules.
pub fn words(value: &str) -> String {
    words_of(value.chars(), masked_capacity(value))
}

fn words_of(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut excerpt = String::with_capacity(capacity);
    let mut at_word_start = true;
    for c in chars {
        if c.is_alphanumeric() {
            excerpt.push(if at_word_start { c } else { MASK });
            at_word_start = false;
        } else {
            excerpt.push(c);
            at_word_start = c.is_whitespace();
        }
    }
    excerpt
}

/// An address: digits masked (house numbers, postcodes), words as [`words`].
pub fn address(value: &str) -> String {
    let masked_digits = value
        .chars()
        .map(|c| if c.is_ascii_digit() { MASK } else { c });
    words_of(masked_digits, masked_capacity(value))
}

/// Room for `value` with any of its characters masked, so building an excerpt never grows
/// its string: the mask takes three bytes, and no character takes fewer than one.
fn masked_capacity(value: &str) -> usize {
    value.len() * MASK.len_utf8()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_keeps_only_its_prefix() {
        assert_eq!(secret("AKIAIOSFODNN7EXAMPLE"), "AKIA••••••••");
        assert_eq!(secret("abc"), "••••••••");
    }

    #[test]
    fn an_email_keeps_its_first_letter_and_domain() {
        assert_eq!(email("jane@example.com"), "j•••@example.com");
    }

    #[test]
    fn a_card_keeps_only_its_last_four_digits() {
        assert_eq!(
            digits_keeping_last("4111 1111 1111 1234", 4),
            "•••• •••• •••• 1234"
        );
    }

    #[test]
    fn an_iban_keeps_its_country_and_last_four() {
        assert_eq!(
            identifier("GB82WEST12345698765432", 4),
            "GB••••••••••••••••5432"
        );
    }

    #[test]
    fn words_keep_their_first_letters() {
        assert_eq!(words("Project Falcon"), "P•••••• F•••••");
        assert_eq!(address("12 High Street"), "•• H••• S•••••");
    }
}
