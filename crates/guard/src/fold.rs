//! The "skeleton" of a text: its letters folded so that look-alikes compare equal, with a map
//! from every skeleton byte back to the original text.
//!
//! Confidential terms and profanity are searched in the skeleton, not the text, so that
//! "P r o j e c t  X", "proj-ect x", "PR0JECT X", "Prоject X" (Cyrillic о) and "Projéct X" all
//! become `proiectx`. Folding is:
//! - lowercase, and accents dropped (Unicode compatibility decomposition minus combining marks);
//! - Cyrillic and Greek letters that look Latin become the Latin letter;
//! - leetspeak digits and symbols become letters (0→o, 3→e, 4 and @→a, 5 and $→s, 7 and +→t,
//!   8→b), but only inside a word that also has a real letter, so prices and dates keep their
//!   digits and "£455" never reads as a word;
//! - `i`, `l`, `1`, `|` and `!` all become `i`, because they are interchangeable in disguise
//!   and a skeleton can hold only one of them;
//! - everything else (spaces, punctuation, symbols) is dropped.
//!
//! Terms are folded by the same function, so a term and its disguises meet in the middle. A scan
//! does not fold the whole text: it folds character by character from the places a term may
//! start (see `detectors/terms.rs`), with [`fold_ascii_byte`] and [`fold_char`], which read a
//! token exactly as [`fold`] does; a test in `terms.rs` holds the two to the same results.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Receives a skeleton byte by byte, with the byte offset of the original character each came
/// from.
pub trait Sink {
    fn push(&mut self, byte: u8, origin: usize);
}

/// The skeleton bytes of one character, for which the origin is known.
impl Sink for Vec<u8> {
    fn push(&mut self, byte: u8, _origin: usize) {
        self.push(byte);
    }
}

/// A folded text and, for every byte of it, the byte offset of the original character it came
/// from.
#[derive(Debug, Default)]
pub struct Skeleton {
    pub bytes: Vec<u8>,
    pub origins: Vec<usize>,
}

impl Sink for Skeleton {
    fn push(&mut self, byte: u8, origin: usize) {
        self.bytes.push(byte);
        self.origins.push(origin);
    }
}

impl Skeleton {
    /// Clears the skeleton and folds `text` into it.
    pub fn fold_into(&mut self, text: &str) {
        self.bytes.clear();
        self.origins.clear();
        fold(text, self);
    }
}

/// Folds `text` into `sink`, token by token (a token is a whitespace-free run). Terms are
/// folded this way; a scan folds only the parts of the text it needs, character by character
/// with [`fold_ascii_byte`] and [`fold_char`], which must agree with this.
pub fn fold(text: &str, sink: &mut impl Sink) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let start = at;
        at = fold_ascii_token(bytes, start, sink);
        if bytes.get(at).is_some_and(|b| !b.is_ascii()) {
            // The token has a non-ASCII character: fold it character by character instead.
            at = fold_unicode_token(text, start, sink);
        }
        // Skip a non-ASCII whitespace character ending the token (or starting the text).
        if let Some(c) = text.get(at..).and_then(|rest| rest.chars().next())
            && !c.is_ascii()
            && c.is_whitespace()
        {
            at += c.len_utf8();
        }
        if at == start {
            at += 1;
        }
    }
}

/// Folds the ASCII token at `start`: one pass classifies it (whether it has a letter, a leet
/// character, or a non-ASCII byte), a second emits it with the table that fits, since a leet
/// digit reads as a letter only in a token that also has a real letter. Returns where it
/// stopped: at whitespace, the end, or a non-ASCII byte, in which case nothing was emitted.
#[inline]
fn fold_ascii_token(bytes: &[u8], start: usize, sink: &mut impl Sink) -> usize {
    let mut classes = 0;
    let mut at = start;
    while let Some(&byte) = bytes.get(at) {
        let class = ASCII_CLASS
            .get(usize::from(byte))
            .copied()
            .unwrap_or(NON_ASCII);
        if class & (WHITESPACE | NON_ASCII) != 0 {
            if class & NON_ASCII != 0 {
                return at;
            }
            break;
        }
        classes |= class;
        at += 1;
    }
    let table = if classes & LETTER != 0 && classes & LEET_CHARACTER != 0 {
        &LEET
    } else {
        &PLAIN
    };
    for (offset, &byte) in bytes.get(start..at).unwrap_or(&[]).iter().enumerate() {
        let folded = table.get(usize::from(byte)).copied().unwrap_or(0);
        if folded != 0 {
            sink.push(folded, start + offset);
        }
    }
    at
}

/// Whether an ASCII byte can fold to a skeleton byte at all (letters, digits, leet symbols).
#[inline]
pub fn may_fold(byte: u8) -> bool {
    ASCII_CLASS.get(usize::from(byte)).copied().unwrap_or(0) & (LETTER | LEET_CHARACTER) != 0
}

/// Whether an ASCII byte folds differently in a token with a letter (leetspeak).
#[inline]
pub fn is_leet(byte: u8) -> bool {
    ASCII_CLASS.get(usize::from(byte)).copied().unwrap_or(0) & LEET_CHARACTER != 0
}

/// The skeleton byte of an ASCII byte in a token with (`leet`) or without a letter; 0 if it is
/// dropped. In a token without leet characters both tables agree, so "has a letter" alone
/// decides, as [`fold`] decides for the whole token.
#[inline]
pub fn fold_ascii_byte(byte: u8, leet: bool) -> u8 {
    let table = if leet { &LEET } else { &PLAIN };
    table.get(usize::from(byte)).copied().unwrap_or(0)
}

/// Appends the skeleton bytes of one character in a token with (`leet`) or without a letter.
pub fn fold_char(c: char, leet: bool, out: &mut Vec<u8>) {
    push_folded(out, c, leet, 0);
}

/// Whether a character ends a token: ASCII whitespace (not vertical tab, which
/// `u8::is_ascii_whitespace` leaves out) or Unicode whitespace, as [`fold`] splits tokens.
pub fn is_token_space(c: char) -> bool {
    if c.is_ascii() {
        (c as u8).is_ascii_whitespace()
    } else {
        c.is_whitespace()
    }
}

/// Folds the token at `start` character by character; returns where it ends.
fn fold_unicode_token(text: &str, start: usize, sink: &mut impl Sink) -> usize {
    let (end, has_letter) = token_end(text, start);
    for (offset, c) in text.get(start..end).unwrap_or("").char_indices() {
        push_folded(sink, c, has_letter, start + offset);
    }
    end
}

fn push_folded(sink: &mut impl Sink, c: char, leet: bool, origin: usize) {
    if c.is_ascii() {
        if let Some(folded) = fold_ascii(c as u8, leet) {
            sink.push(folded, origin);
        }
        return;
    }
    if let Some(folded) = fold_lookalike(c) {
        sink.push(folded, origin);
        return;
    }
    if let Some(expansion) = fold_ligature(c) {
        for &byte in expansion.as_bytes() {
            sink.push(byte, origin);
        }
        return;
    }
    // Decompose (é → e + ◌́, ｆ → f) and keep only the base characters.
    decompose_compatible(c, |part| {
        if is_combining_mark(part) {
            return;
        }
        if part.is_ascii() {
            if let Some(folded) = fold_ascii(part as u8, leet) {
                sink.push(folded, origin);
            }
            return;
        }
        if let Some(folded) = fold_lookalike(part) {
            sink.push(folded, origin);
            return;
        }
        if !part.is_alphanumeric() {
            return;
        }
        // Letters of other scripts stay themselves, lowercased, so terms in those scripts
        // still match.
        for lower in part.to_lowercase() {
            let mut buffer = [0u8; 4];
            for &byte in lower.encode_utf8(&mut buffer).as_bytes() {
                sink.push(byte, origin);
            }
        }
    });
}

/// Folds a term the way [`Skeleton`] folds text, returning the folded bytes and, for each, whether
/// whitespace came before it in the term (a place where the text may have a space too).
pub fn fold_term(term: &str) -> (Vec<u8>, Vec<bool>) {
    let mut skeleton = Skeleton::default();
    skeleton.fold_into(term);
    let mut spaced = Vec::with_capacity(skeleton.origins.len());
    let mut previous_end = 0usize;
    for &origin in &skeleton.origins {
        let gap = term.get(previous_end.min(origin)..origin).unwrap_or("");
        spaced.push(previous_end > 0 && gap.chars().any(char::is_whitespace));
        previous_end = origin
            + term
                .get(origin..)
                .and_then(|rest| rest.chars().next())
                .map_or(1, char::len_utf8);
    }
    (skeleton.bytes, spaced)
}

/// The end of the whitespace-free token starting at `start`, and whether it has a real letter
/// (which is what lets its digits and symbols be read as leetspeak).
fn token_end(text: &str, start: usize) -> (usize, bool) {
    let bytes = text.as_bytes();
    let mut at = start;
    let mut has_letter = false;
    while let Some(&byte) = bytes.get(at) {
        if byte.is_ascii() {
            if byte.is_ascii_whitespace() {
                break;
            }
            has_letter |= byte.is_ascii_alphabetic();
            at += 1;
            continue;
        }
        let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        if c.is_whitespace() {
            break;
        }
        has_letter |= c.is_alphabetic();
        at += c.len_utf8();
    }
    (at, has_letter)
}

/// What kind of byte each ASCII byte is, as bit flags, so the token loop needs one lookup.
const LETTER: u8 = 1;
const LEET_CHARACTER: u8 = 2;
const WHITESPACE: u8 = 4;
const NON_ASCII: u8 = 8;
const ASCII_CLASS: [u8; 256] = byte_classes();

#[allow(clippy::indexing_slicing)] // compile-time only, as for `ascii_table`
const fn byte_classes() -> [u8; 256] {
    let mut table = [NON_ASCII; 256];
    let mut byte = 0u8;
    while byte < 128 {
        let mut class = 0;
        if byte.is_ascii_alphabetic() {
            class |= LETTER;
        }
        if byte.is_ascii_digit() || matches!(byte, b'@' | b'$' | b'+' | b'|' | b'!') {
            class |= LEET_CHARACTER;
        }
        if byte.is_ascii_whitespace() {
            class |= WHITESPACE;
        }
        table[byte as usize] = class;
        byte += 1;
    }
    table
}

/// ASCII folding tables, for tokens with and without a letter; 0 means "dropped". They have 256
/// entries so that a lookup by any byte is in bounds and needs no check.
const LEET: [u8; 256] = ascii_table(true);
const PLAIN: [u8; 256] = ascii_table(false);

// Indexing is safe here: the loop bound keeps `byte` below 128, and the table is built at
// compile time, where an out-of-bounds index would fail the build rather than a scan.
#[allow(clippy::indexing_slicing)]
const fn ascii_table(leet: bool) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0u8;
    while byte < 128 {
        if let Some(folded) = fold_ascii(byte, leet) {
            table[byte as usize] = folded;
        }
        byte += 1;
    }
    table
}

const fn fold_ascii(byte: u8, leet: bool) -> Option<u8> {
    match byte {
        b'a'..=b'z' => Some(if byte == b'l' { b'i' } else { byte }),
        b'A'..=b'Z' => Some(if byte == b'L' {
            b'i'
        } else {
            byte.to_ascii_lowercase()
        }),
        b'0'..=b'9' | b'@' | b'$' | b'+' | b'|' | b'!' if leet => Some(match byte {
            b'0' => b'o',
            b'1' | b'|' | b'!' => b'i',
            b'3' => b'e',
            b'4' | b'@' => b'a',
            b'5' | b'$' => b's',
            b'7' | b'+' => b't',
            b'8' => b'b',
            other => other,
        }),
        b'0'..=b'9' => Some(byte),
        _ => None,
    }
}

/// Cyrillic and Greek letters that are drawn like a Latin letter.
pub fn fold_lookalike(c: char) -> Option<u8> {
    let latin = match c {
        'а' | 'А' | 'α' | 'Α' => b'a',
        'в' | 'В' | 'β' | 'Β' => b'b',
        'с' | 'С' | 'ϲ' => b'c',
        'ԁ' => b'd',
        'е' | 'Е' | 'ё' | 'Ё' | 'ε' | 'Ε' => b'e',
        'ɡ' => b'g',
        'һ' | 'Н' | 'Η' => b'h',
        'і' | 'І' | 'ї' | 'ι' | 'Ι' | 'ӏ' | 'Ӏ' | 'ı' => b'i',
        'ј' | 'Ј' => b'j',
        'к' | 'К' | 'κ' | 'Κ' => b'k',
        'м' | 'М' | 'Μ' => b'm',
        'п' | 'η' | 'Ν' => b'n',
        'о' | 'О' | 'ο' | 'Ο' | 'σ' => b'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => b'p',
        'ѕ' | 'Ѕ' => b's',
        'т' | 'Т' | 'τ' | 'Τ' => b't',
        'υ' | 'μ' => b'u',
        'ν' => b'v',
        'ѡ' | 'ω' => b'w',
        'х' | 'Х' | 'χ' | 'Χ' => b'x',
        'у' | 'У' | 'γ' | 'Υ' => b'y',
        'Ζ' => b'z',
        _ => return None,
    };
    Some(latin)
}

/// Letters that decomposition leaves alone but readers see as Latin letters.
fn fold_ligature(c: char) -> Option<&'static str> {
    let expansion = match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'ł' | 'Ł' => "i",
        'đ' | 'Đ' | 'ð' => "d",
        'þ' | 'Þ' => "th",
        _ => return None,
    };
    Some(expansion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skeleton(text: &str) -> String {
        let mut skeleton = Skeleton::default();
        skeleton.fold_into(text);
        String::from_utf8(skeleton.bytes).unwrap_or_default()
    }

    #[test]
    fn spacing_case_accents_and_leetspeak_fold_to_the_same_skeleton() {
        let plain = skeleton("Project Falcon");
        for disguise in [
            "P r o j e c t  F a l c o n",
            "proj-ect falcon",
            "PR0JECT FA1C0N",
            "Projéct Falcon",
            "Prоject Fаlcon", // Cyrillic о and а
            "ｐｒｏｊｅｃｔ falcon",
        ] {
            assert_eq!(skeleton(disguise), plain, "{disguise}");
        }
    }

    #[test]
    fn digits_without_letters_stay_digits() {
        assert_eq!(skeleton("£455 on 2026-11-23"), "455on20261123");
        assert_eq!(skeleton("a55"), "ass");
    }

    #[test]
    fn every_skeleton_byte_maps_to_a_character_start() {
        let text = "Ünïcödé ß P r 0 j";
        let mut folded = Skeleton::default();
        folded.fold_into(text);
        assert_eq!(folded.bytes.len(), folded.origins.len());
        assert!(folded.origins.iter().all(|&o| text.is_char_boundary(o)));
    }

    #[test]
    fn a_term_remembers_where_its_spaces_were() {
        let (bytes, spaced) = fold_term("acme corp");
        assert_eq!(bytes, b"acmecorp");
        assert_eq!(
            spaced,
            [false, false, false, false, true, false, false, false]
        );
    }
}
