//! Secrets: private keys, provider tokens known by their documented prefixes, JWTs, shared
//! passwords, and long random-looking strings.
//!
//! Every run of 16 or more token characters is a candidate. A small Aho-Corasick automaton looks
//! for the providers' prefixes inside it (so "key=AKIA…" and "my_token_ghp_…" are found); the
//! text after a prefix must then have the provider's documented length and alphabet. A token
//! with no prefix is reported as `secret.high_entropy` only when it looks random: see
//! `entropy.rs` for the thresholds and what they deliberately leave out.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::detectors::Hit;
use crate::detectors::entropy::looks_random;
use crate::redact;
use crate::rules::Builtin;

/// The characters a provider's token body may use.
#[derive(Clone, Copy, Debug)]
enum Alphabet {
    /// A-Z and 0-9.
    Upper,
    /// A-Z, a-z and 0-9.
    Alnum,
    /// Alnum plus `_` and `-` (base64url).
    UrlSafe,
    /// Lowercase hex.
    Hex,
    /// base64url parts joined by dots (SendGrid's `SG.<id>.<secret>`).
    DottedUrlSafe,
}

impl Alphabet {
    fn contains(self, byte: u8) -> bool {
        match self {
            Alphabet::Upper => byte.is_ascii_uppercase() || byte.is_ascii_digit(),
            Alphabet::Alnum => byte.is_ascii_alphanumeric(),
            Alphabet::UrlSafe => byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-',
            Alphabet::Hex => byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte),
            Alphabet::DottedUrlSafe => Alphabet::UrlSafe.contains(byte) || byte == b'.',
        }
    }
}

/// A provider's token: prefix, the rule, and the body's alphabet and length range.
#[derive(Clone, Copy, Debug)]
struct Prefix {
    prefix: &'static str,
    rule: Builtin,
    alphabet: Alphabet,
    min: usize,
    max: usize,
    lesser: bool,
}

const fn prefix(
    prefix: &'static str,
    rule: Builtin,
    alphabet: Alphabet,
    min: usize,
    max: usize,
) -> Prefix {
    Prefix {
        prefix,
        rule,
        alphabet,
        min,
        max,
        lesser: false,
    }
}

/// Documented token formats. Lengths are the bodies after the prefix.
const PREFIXES: &[Prefix] = &[
    prefix("AKIA", Builtin::AwsKey, Alphabet::Upper, 16, 16),
    prefix("ASIA", Builtin::AwsKey, Alphabet::Upper, 16, 16),
    prefix("ghp_", Builtin::GithubToken, Alphabet::Alnum, 36, 40),
    prefix("gho_", Builtin::GithubToken, Alphabet::Alnum, 36, 40),
    prefix("ghu_", Builtin::GithubToken, Alphabet::Alnum, 36, 40),
    prefix("ghs_", Builtin::GithubToken, Alphabet::Alnum, 36, 40),
    prefix("ghr_", Builtin::GithubToken, Alphabet::Alnum, 36, 40),
    prefix(
        "github_pat_",
        Builtin::GithubToken,
        Alphabet::UrlSafe,
        22,
        255,
    ),
    prefix("xoxb-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xoxp-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xoxa-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xoxr-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xoxs-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xoxe-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("xapp-", Builtin::SlackToken, Alphabet::UrlSafe, 10, 255),
    prefix("sk_live_", Builtin::StripeKey, Alphabet::Alnum, 16, 255),
    prefix("rk_live_", Builtin::StripeKey, Alphabet::Alnum, 16, 255),
    Prefix {
        lesser: true,
        ..prefix("sk_test_", Builtin::StripeKey, Alphabet::Alnum, 16, 255)
    },
    Prefix {
        lesser: true,
        ..prefix("rk_test_", Builtin::StripeKey, Alphabet::Alnum, 16, 255)
    },
    prefix("AIza", Builtin::GoogleApiKey, Alphabet::UrlSafe, 35, 35),
    prefix("sk-proj-", Builtin::OpenaiKey, Alphabet::UrlSafe, 20, 255),
    prefix(
        "sk-svcacct-",
        Builtin::OpenaiKey,
        Alphabet::UrlSafe,
        20,
        255,
    ),
    prefix("sk-admin-", Builtin::OpenaiKey, Alphabet::UrlSafe, 20, 255),
    prefix("sk-ant-", Builtin::AnthropicKey, Alphabet::UrlSafe, 20, 255),
    // The original OpenAI format: "sk-" and 48 letters and digits.
    prefix("sk-", Builtin::OpenaiKey, Alphabet::Alnum, 48, 48),
    prefix("glpat-", Builtin::GitlabToken, Alphabet::UrlSafe, 20, 255),
    prefix("npm_", Builtin::NpmToken, Alphabet::Alnum, 36, 36),
    // SendGrid: "SG.", a 22-character id, ".", a 43-character secret.
    prefix("SG.", Builtin::SendgridKey, Alphabet::DottedUrlSafe, 66, 66),
    prefix("shpat_", Builtin::ShopifyToken, Alphabet::Hex, 32, 32),
    prefix("shpca_", Builtin::ShopifyToken, Alphabet::Hex, 32, 32),
    prefix("shppa_", Builtin::ShopifyToken, Alphabet::Hex, 32, 32),
    prefix("shpss_", Builtin::ShopifyToken, Alphabet::Hex, 32, 32),
];

fn prefix_automaton() -> Option<&'static AhoCorasick> {
    static AUTOMATON: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AUTOMATON
        .get_or_init(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(PREFIXES.iter().map(|p| p.prefix))
                .ok()
        })
        .as_ref()
}

/// A private key header: the finding covers the whole block up to its END line when there is
/// one. Returns where the block ends so its base64 lines are not scanned again as tokens.
pub fn private_key(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) -> usize {
    const FOOTER_SEARCH: usize = 16 * 1024;
    let rest = text.get(span.end..).unwrap_or("");
    let window_end = floor_boundary(rest, FOOTER_SEARCH);
    let end = rest
        .get(..window_end)
        .and_then(|window| window.find("-----END "))
        .and_then(|at| {
            let footer = rest.get(at + 9..)?;
            let close = footer.find("-----")?;
            Some(span.end + at + 9 + close + 5)
        })
        .unwrap_or(span.end);
    hits.push(Hit::new(
        Builtin::PrivateKey,
        span.start..end,
        "-----BEGIN ••••••••".to_owned(),
    ));
    end
}

/// "password: hunter2", "the wifi password is CoffeeTime2024", "door code - 4821".
pub fn password(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(written) = text.get(span.clone()) else {
        return;
    };
    // The value is the last whitespace-separated word of the match; the rest is its label.
    let value_start = written.rfind([' ', '\t', ':', '=']).map_or(0, |at| at + 1);
    let label = written.get(..value_start).unwrap_or("");
    let raw = written.get(value_start..).unwrap_or("");
    let quoted = raw.starts_with(['"', '\'']);
    let value = raw
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '.' | ',' | ';' | '!' | '?' | ')' | '('));
    if !value_is_secret(label, value, quoted) {
        return;
    }
    hits.push(Hit::new(
        Builtin::PasswordDisclosure,
        span,
        redact::labelled_secret(label),
    ));
}

/// Whether the word after "password is" is a password rather than prose ("password is
/// required", "password: reset it below").
fn value_is_secret(label: &str, value: &str, quoted: bool) -> bool {
    const PROSE: &[&str] = &[
        "is",
        "the",
        "a",
        "an",
        "to",
        "and",
        "or",
        "not",
        "now",
        "still",
        "required",
        "protected",
        "reset",
        "changed",
        "change",
        "incorrect",
        "wrong",
        "invalid",
        "below",
        "above",
        "here",
        "same",
        "your",
        "my",
        "our",
        "their",
        "case",
        "sensitive",
        "manager",
        "managers",
        "strong",
        "weak",
        "secure",
        "safe",
        "long",
        "short",
        "optional",
        "hidden",
        "expired",
        "forgotten",
        "forgot",
        "ask",
        "available",
        "at",
        "on",
        "in",
        "see",
        "check",
        "provided",
        "printed",
        "displayed",
        "posted",
        "free",
        "none",
        "needed",
        "mandatory",
        "enabled",
        "disabled",
        "updated",
        "sent",
        "emailed",
        "shared",
        "private",
        "confidential",
        "secret",
        "what",
        "never",
        "always",
        "only",
        "for",
        "from",
        "with",
        "by",
        "of",
        "too",
        "very",
        "so",
        "easy",
        "hard",
        "simple",
        "unique",
        "different",
        "new",
        "old",
        "that",
        "this",
        "it",
        "be",
        "must",
        "should",
        "will",
        "can",
        "cannot",
        "was",
        "has",
        "have",
        "had",
        "policy",
        "policies",
        "reminder",
        "tip",
        "tips",
        "hygiene",
        "day",
    ];
    let length = value.chars().count();
    let lowered = value.to_lowercase();
    if !(4..=64).contains(&length) || PROSE.contains(&lowered.as_str()) {
        return false;
    }
    let label = label.to_ascii_lowercase();
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    if label.contains("pin") || label.contains("code") {
        // PINs and door codes are numbers.
        return has_digit && value.bytes().filter(u8::is_ascii_digit).count() >= 4;
    }
    let has_symbol = value.chars().any(|c| !c.is_alphanumeric());
    let inner_capital = value.chars().skip(1).any(char::is_uppercase);
    let looks_like_password = has_digit || has_symbol || inner_capital;
    let said_with_is = label.trim_end().ends_with("is") || label.trim_end().ends_with("is:");
    if said_with_is {
        return looks_like_password || quoted;
    }
    // After ":" or "=" any non-prose word is taken as the password.
    true
}

/// A token candidate outside a link: a provider's token, an AWS secret key next to its
/// name, or a random-looking string.
pub fn token(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(written) = text.get(span.clone()) else {
        return;
    };
    if known_prefixes(text, span.clone(), hits) {
        return;
    }
    // JWTs are three base64url parts; the first two are JSON objects, so start with "eyJ".
    if let Some(at) = written.find("eyJ") {
        let jwt = written.get(at..).unwrap_or("");
        if is_jwt(jwt) {
            let jwt_span = span.start + at..span.end;
            hits.push(Hit::new(Builtin::Jwt, jwt_span, redact::secret(jwt)));
            return;
        }
    }
    if is_aws_secret(text, span.clone()) {
        hits.push(Hit::new(Builtin::AwsKey, span, redact::secret(written)));
        return;
    }
    if is_mailchimp_key(written) {
        hits.push(Hit::new(
            Builtin::MailchimpKey,
            span,
            redact::secret(written),
        ));
        return;
    }
    let context = text
        .get(span.start.saturating_sub(40)..span.start)
        .unwrap_or("");
    if looks_random(written.trim_end_matches('=').as_bytes(), context) {
        hits.push(Hit::new(
            Builtin::HighEntropy,
            span,
            redact::secret(written),
        ));
        return;
    }
    if !written.contains(['/', '.']) {
        return;
    }
    // Paths and dotted names are also judged per part, so one random part is still found.
    for (offset, part) in split_keeping_offsets(written, ['/', '.']) {
        let trimmed = part.trim_end_matches('=');
        if looks_random(trimmed.as_bytes(), context) {
            let part_span = span.start + offset..span.start + offset + part.len();
            hits.push(Hit::new(
                Builtin::HighEntropy,
                part_span,
                redact::secret(part),
            ));
        }
    }
}

/// Secrets inside a link: provider tokens anywhere after the host, and random values of query
/// parameters whose names say they are secret (`token=`, `key=`, `password=`). Random path
/// segments are left alone: file-sharing links are full of them.
pub fn in_url(text: &str, link: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(url) = text.get(link.clone()) else {
        return;
    };
    let Some(query_at) = url.find('?') else {
        known_prefixes(text, link, hits);
        return;
    };
    known_prefixes(text, link.start..link.start + query_at, hits);
    let query_start = link.start + query_at + 1;
    let query = url.get(query_at + 1..).unwrap_or("");
    for (offset, pair) in split_keeping_offsets(query, ['&', ';', '#']) {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value_start = query_start + offset + name.len() + 1;
        let value_span = value_start..value_start + value.len();
        if known_prefixes(text, value_span.clone(), hits) {
            continue;
        }
        let name = name.to_ascii_lowercase();
        let secret_name = [
            "token",
            "key",
            "secret",
            "password",
            "passwd",
            "pwd",
            "auth",
            "sig",
            "signature",
            "session",
            "code",
        ]
        .iter()
        .any(|word| name.contains(word));
        if secret_name && value.len() >= 16 && looks_random(value.as_bytes(), "token") {
            hits.push(Hit::new(
                Builtin::HighEntropy,
                value_span,
                redact::secret(value),
            ));
        }
    }
}

/// Reports provider tokens found by prefix in `span`; true when at least one was.
fn known_prefixes(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) -> bool {
    let Some(automaton) = prefix_automaton() else {
        return false;
    };
    let Some(written) = text.get(span.clone()) else {
        return false;
    };
    let bytes = written.as_bytes();
    let mut found_any = false;
    for found in automaton.find_iter(bytes) {
        let Some(format) = PREFIXES.get(found.pattern().as_usize()) else {
            continue;
        };
        // A prefix glued to a word ("task-…", "FASIA…") is not a token's start.
        let before = found.start().checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        let body = bytes.get(found.end()..).unwrap_or(&[]);
        let length = body
            .iter()
            .take_while(|b| format.alphabet.contains(**b))
            .count();
        if length < format.min || length > format.max {
            continue;
        }
        // AWS ids are sixteen capitals and digits; a word such as "ASIAPACIFICREGIONS" has
        // no digit.
        let body = body.get(..length).unwrap_or(&[]);
        if matches!(format.rule, Builtin::AwsKey) && !body.iter().any(u8::is_ascii_digit) {
            continue;
        }
        let end = found.end() + length;
        let secret = written.get(found.start()..end).unwrap_or("");
        hits.push(Hit {
            rule: format.rule,
            span: span.start + found.start()..span.start + end,
            excerpt: redact::secret(secret),
            lesser: format.lesser,
        });
        found_any = true;
    }
    found_any
}

fn is_jwt(candidate: &str) -> bool {
    let mut parts = candidate.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    header.len() >= 10
        && payload.starts_with("eyJ")
        && payload.len() >= 10
        && signature.len() >= 16
        && [header, payload, signature].into_iter().all(base64url)
}

/// A 40-character AWS secret access key, recognised only next to words that name it, since
/// on its own it is just base64.
fn is_aws_secret(text: &str, span: Range<usize>) -> bool {
    let Some(written) = text.get(span.clone()) else {
        return false;
    };
    let shape = written.len() == 40
        && written
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
    if !shape {
        return false;
    }
    let before = text
        .get(floor_boundary(text, span.start.saturating_sub(100))..span.start)
        .unwrap_or("");
    let before = before.to_ascii_lowercase();
    before.contains("aws") || before.contains("secret")
}

/// Mailchimp keys: 32 lowercase hex digits, a dash and the data centre ("-us21").
fn is_mailchimp_key(written: &str) -> bool {
    let Some((key, centre)) = written.split_once('-') else {
        return false;
    };
    key.len() == 32
        && key.bytes().all(|b| Alphabet::Hex.contains(b))
        && centre
            .strip_prefix("us")
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits on any of `separators`, keeping each part's byte offset.
fn split_keeping_offsets<const N: usize>(
    text: &str,
    separators: [char; N],
) -> impl Iterator<Item = (usize, &str)> {
    text.split(separators)
        .scan(0usize, |offset, part| {
            let start = *offset;
            *offset += part.len() + 1;
            Some((start, part))
        })
        .filter(|(_, part)| !part.is_empty())
}

/// The largest char boundary at or below `limit` in `text`.
fn floor_boundary(text: &str, limit: usize) -> usize {
    let mut at = limit.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_needs_three_base64url_parts() {
        assert!(is_jwt(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        ));
        assert!(!is_jwt("eyJhbGciOiJIUzI1NiJ9.notjson"));
    }
}
