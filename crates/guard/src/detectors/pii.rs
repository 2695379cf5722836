//! Personal data: emails, phone numbers, payment cards, IBANs, UK National Insurance numbers,
//! US Social Security numbers and postal addresses, minus the company's own public contacts.
//!
//! Numbers are the hard part. One candidate pattern takes any run of digits, spaces, dots,
//! dashes and brackets, and [`number`] decides what it is: a Luhn-valid card, a phone number
//! in a recognised national or international layout, or nothing (dates, prices, versions,
//! order numbers). When the whole run is nothing, its tail is tried too, so "Room 12 020 7946
//! 0958" still finds the phone number.

use std::ops::Range;

use crate::detectors::Hit;
use crate::redact;
use crate::rules::Builtin;
use crate::validate;

/// The company's own public contact details, normalised once for comparison.
#[derive(Debug, Default)]
pub struct Company {
    emails: Vec<String>,
    email_domains: Vec<String>,
    phones: Vec<Vec<u8>>,
    addresses: Vec<String>,
}

impl Company {
    /// `emails` may hold whole addresses or `@domain` to allow every address at a domain.
    pub fn new(emails: &[String], phones: &[String], addresses: &[String]) -> Company {
        let mut company = Company::default();
        for email in emails {
            let email = email.trim().to_ascii_lowercase();
            match email.strip_prefix('@') {
                Some(domain) => company.email_domains.push(domain.to_owned()),
                None => company.emails.push(email),
            }
        }
        company.phones = phones
            .iter()
            .map(|phone| phone_key(phone.as_bytes()))
            .filter(|key| key.len() >= 7)
            .collect();
        company.addresses = addresses.iter().map(|a| address_key(a)).collect();
        company
    }

    fn owns_email(&self, email: &str) -> bool {
        let email = email.to_ascii_lowercase();
        let domain = email.rsplit_once('@').map_or("", |(_, domain)| domain);
        self.emails.contains(&email) || self.email_domains.iter().any(|d| d == domain)
    }

    fn owns_phone(&self, written: &[u8]) -> bool {
        let key = phone_key(written);
        self.phones.iter().any(|own| {
            let (short, long) = if own.len() <= key.len() {
                (own, &key)
            } else {
                (&key, own)
            };
            short.len() >= 7 && long.ends_with(short)
        })
    }

    fn owns_address(&self, address: &str) -> bool {
        let key = address_key(address);
        !key.is_empty()
            && self
                .addresses
                .iter()
                .any(|own| own.contains(&key) || key.contains(own.as_str()))
    }
}

/// An email candidate: a finding unless it is one of the company's own.
pub fn email(text: &str, span: Range<usize>, company: &Company, hits: &mut Vec<Hit>) {
    let Some(value) = text.get(span.clone()) else {
        return;
    };
    if company.owns_email(value) {
        return;
    }
    // "@name@server.social" names someone on Mastodon (or another fediverse server): a public
    // handle written the way replies and mentions write it, not an address.
    let handle = span
        .start
        .checked_sub(1)
        .and_then(|i| text.as_bytes().get(i))
        .is_some_and(|b| *b == b'@');
    if handle {
        return;
    }
    hits.push(Hit::new(Builtin::Email, span, redact::email(value)));
}

/// A run of digits and separators: a card, a phone number, or (most often) nothing.
pub fn number(text: &str, span: Range<usize>, company: &Company, hits: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    // A number glued to a word or another number ("ORD-12345678", "v1.2.3.4.5.6") is an
    // identifier, not a phone or card.
    let before = span
        .start
        .checked_sub(1)
        .and_then(|i| bytes.get(i))
        .copied();
    if before.is_some_and(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'.' | b',' | b'-' | b'#' | b'=')
    }) {
        return;
    }
    let after = bytes.get(span.end).copied();
    if after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/' || b == b'%') {
        return;
    }
    let Some(run) = bytes.get(span.clone()) else {
        return;
    };
    // Try the whole run, then each of the first four tails that start a new digit group after
    // a space.
    let mut starts = [0; 5];
    let mut count = 1;
    for (index, pair) in run.windows(2).enumerate() {
        let new_group = pair.first() == Some(&b' ')
            && pair
                .get(1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'+' || *b == b'(');
        if !new_group {
            continue;
        }
        let Some(slot) = starts.get_mut(count) else {
            break;
        };
        *slot = index + 1;
        count += 1;
    }
    for &offset in starts.iter().take(count) {
        let Some(candidate) = run.get(offset..) else {
            continue;
        };
        let candidate_span = span.start + offset..span.end;
        if let Some(hit) = classify_number(text, candidate, candidate_span, company) {
            if let Some(hit) = hit {
                hits.push(hit);
            }
            return;
        }
    }
}

/// `Some(Some(hit))` for a finding, `Some(None)` for a recognised number that must not be
/// reported (the company's own phone), and `None` when the candidate is not a card or phone.
fn classify_number(
    text: &str,
    run: &[u8],
    span: Range<usize>,
    company: &Company,
) -> Option<Option<Hit>> {
    // A run of more digits than a card or phone number has is neither.
    let layout = Layout::of(run)?;
    let digits = layout.digits();
    let value = text.get(span.clone())?;
    if is_date_or_time(run, layout.groups()) {
        return None;
    }
    let card_separators = run
        .iter()
        .all(|b| b.is_ascii_digit() || *b == b' ' || *b == b'-');
    // Card numbers start 2-6 (Mastercard, Amex, Visa, Discover...); the Luhn digit then
    // rules out nine in ten other numbers of the same length.
    let card_prefix = digits.first().is_some_and(|d| (b'2'..=b'6').contains(d));
    let card_length = (13..=19).contains(&digits.len());
    if card_separators
        && card_length
        && card_prefix
        && run.first() != Some(&b'+')
        && validate::luhn(digits)
    {
        return Some(Some(Hit::new(
            Builtin::Card,
            span,
            redact::digits_keeping_last(value, 4),
        )));
    }
    if !is_phone(run, digits, layout.groups()) {
        return None;
    }
    if company.owns_phone(run) {
        return Some(None);
    }
    Some(Some(Hit::new(
        Builtin::Phone,
        span,
        redact::digits_keeping_last(value, 2),
    )))
}

/// The most digits a card (19) or a phone number (15) has.
const MAX_DIGITS: usize = 19;

/// A run's digits and the lengths of its digit groups, in order, kept on the stack: a scan
/// meets a number candidate every few hundred bytes, and four vectors each cost more than
/// the checks.
struct Layout {
    digits: [u8; MAX_DIGITS],
    digit_count: usize,
    groups: [usize; MAX_DIGITS],
    group_count: usize,
}

impl Layout {
    /// `None` when the run has more than [`MAX_DIGITS`] digits.
    fn of(run: &[u8]) -> Option<Layout> {
        let mut layout = Layout {
            digits: [0; MAX_DIGITS],
            digit_count: 0,
            groups: [0; MAX_DIGITS],
            group_count: 0,
        };
        let mut in_group = false;
        for &byte in run {
            if !byte.is_ascii_digit() {
                in_group = false;
                continue;
            }
            *layout.digits.get_mut(layout.digit_count)? = byte;
            layout.digit_count += 1;
            if !in_group {
                layout.group_count += 1;
                in_group = true;
            }
            *layout.groups.get_mut(layout.group_count - 1)? += 1;
        }
        Some(layout)
    }

    fn digits(&self) -> &[u8] {
        self.digits.get(..self.digit_count).unwrap_or_default()
    }

    fn groups(&self) -> &[usize] {
        self.groups.get(..self.group_count).unwrap_or_default()
    }
}

/// Whether a run of digits and separators is laid out like a phone number.
fn is_phone(run: &[u8], digits: &[u8], groups: &[usize]) -> bool {
    let mut separators = run
        .iter()
        .filter(|b| !b.is_ascii_digit() && **b != b'+')
        .peekable();
    let has_separators = separators.peek().is_some();
    // Dots only (1.2.3.4) are versions and addresses, unless laid out 3-3-4 like a US number.
    if has_separators && separators.all(|b| *b == b'.') && groups != [3, 3, 4] {
        return false;
    }
    // Unbalanced brackets are not a phone layout.
    let opens = run.iter().filter(|b| **b == b'(').count();
    let closes = run.iter().filter(|b| **b == b')').count();
    if opens != closes || opens > 1 {
        return false;
    }
    let first_group = groups.first().copied().unwrap_or(0);
    let international = run.first() == Some(&b'+') || digits.starts_with(b"00");
    if international {
        // E.164: up to 15 digits; the first group after + is a 1-3 digit country code.
        return (8..=15).contains(&digits.len())
            && (1..=4).contains(&first_group)
            && groups.len() >= 2
            || (10..=15).contains(&digits.len()) && groups.len() == 1;
    }
    // A national number with a trunk zero: UK, most of Europe, Australia (10-11 digits), in
    // groups of at least two or in one block.
    if digits.first() == Some(&b'0') {
        let fair_groups = groups.iter().all(|g| *g >= 2) || groups.len() == 1;
        return (10..=11).contains(&digits.len()) && fair_groups;
    }
    // North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199.
    let north_american = groups == [3, 3, 4] || groups == [1, 3, 3, 4];
    north_american && digits.first() != Some(&b'0')
}

/// Dates (2026-11-23, 23.11.2026, 23-11-2026) and clock ranges (09.00 - 17.30) are numbers
/// that look like phone numbers to a careless eye.
fn is_date_or_time(run: &[u8], groups: &[usize]) -> bool {
    let date_like = matches!(
        groups,
        [4, 2, 2]
            | [2, 2, 4]
            | [1, 2, 4]
            | [2, 1, 4]
            | [1, 1, 4]
            | [4, 1, 1]
            | [4, 2, 1]
            | [4, 1, 2]
    );
    let has_space = run.contains(&b' ');
    if date_like && !has_space {
        return true;
    }
    // "9.00-17.30" and "09:00 - 17:30"-like ranges of short groups.
    groups.len() >= 4 && groups.iter().all(|g| *g <= 2) && !run.starts_with(b"+")
}

/// An IBAN candidate: a finding when a prefix of it has its country's length and check digits.
pub fn iban(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(run) = text.get(span.clone()) else {
        return;
    };
    let mut compact = Vec::with_capacity(34);
    let mut end_of = Vec::with_capacity(34);
    for (offset, byte) in run.bytes().enumerate() {
        if byte.is_ascii_alphanumeric() {
            compact.push(byte.to_ascii_uppercase());
            end_of.push(span.start + offset + 1);
        }
    }
    // Greedy groups may have swallowed a following word; try every length down to the shortest.
    for length in (15..=compact.len().min(34)).rev() {
        let Some(prefix) = compact.get(..length) else {
            continue;
        };
        if validate::iban(prefix) {
            let Some(&end) = end_of.get(length - 1) else {
                return;
            };
            let value = text.get(span.start..end).unwrap_or("");
            hits.push(Hit::new(
                Builtin::Iban,
                span.start..end,
                redact::identifier(value, 4),
            ));
            return;
        }
    }
}

/// A National Insurance number candidate, checked against HMRC's prefix rules.
pub fn uk_nino(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(value) = text.get(span.clone()) else {
        return;
    };
    let compact: Vec<u8> = value
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if validate::uk_nino(&compact) {
        hits.push(Hit::new(
            Builtin::UkNino,
            span,
            redact::identifier(value, 0),
        ));
    }
}

/// A `123-45-6789` candidate, checked against the never-issued ranges.
pub fn us_ssn(text: &str, span: Range<usize>, hits: &mut Vec<Hit>) {
    let Some(value) = text.get(span.clone()) else {
        return;
    };
    let mut parts = value.split('-').map(|part| part.parse::<u16>().ok());
    let (Some(Some(area)), Some(Some(group)), Some(Some(serial))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    if validate::us_ssn(area, group, serial) {
        hits.push(Hit::new(
            Builtin::UsSsn,
            span,
            redact::digits_keeping_last(value, 4),
        ));
    }
}

/// A street address with a house number and a postcode or ZIP code.
pub fn address(text: &str, span: Range<usize>, company: &Company, hits: &mut Vec<Hit>) {
    let Some(value) = text.get(span.clone()) else {
        return;
    };
    if company.owns_address(value) {
        return;
    }
    hits.push(Hit::new(Builtin::Address, span, redact::address(value)));
}

/// Digits only, without a leading `00`, a trunk `0` or a written-in "(0)", so
/// "+44 20 7946 0000", "+44 (0)20 7946 0000" and "020 7946 0000" compare by their ending.
fn phone_key(phone: &[u8]) -> Vec<u8> {
    let without_trunk: Vec<u8> = match phone.windows(3).position(|w| w == b"(0)") {
        Some(at) => phone
            .iter()
            .take(at)
            .chain(phone.iter().skip(at + 3))
            .copied()
            .collect(),
        None => phone.to_vec(),
    };
    let digits: Vec<u8> = without_trunk
        .into_iter()
        .filter(u8::is_ascii_digit)
        .collect();
    let trimmed = digits.strip_prefix(b"00").unwrap_or(&digits);
    let trimmed = trimmed.strip_prefix(b"0").unwrap_or(trimmed);
    trimmed.to_vec()
}

/// Lowercase letters and digits only, so punctuation and spacing do not matter.
fn address_key(address: &str) -> String {
    address
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
