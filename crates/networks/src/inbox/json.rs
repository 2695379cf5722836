//! JSON from networks as it really comes: some send lone UTF-16 surrogates (`"\ud83d"` cut
//! from an emoji) or bytes that are not UTF-8, which a strict parser refuses, losing the whole
//! page. They become U+FFFD here, counted, so one bad character costs one character.

use std::borrow::Cow;

/// `body` with every lone surrogate escape (`\ud800`–`\udfff` not in a high-low pair) written
/// as `\ufffd` and every invalid UTF-8 sequence as U+FFFD; and how many were replaced.
pub fn repair_surrogates(body: &[u8]) -> (Cow<'_, [u8]>, usize) {
    let text = String::from_utf8_lossy(body);
    let mut repaired = match &text {
        Cow::Borrowed(_) => 0,
        Cow::Owned(owned) => owned.matches('\u{fffd}').count(),
    };
    if !text.contains("\\u") || !has_surrogate_escape(&text) {
        return match text {
            Cow::Borrowed(_) => (Cow::Borrowed(body), repaired),
            Cow::Owned(owned) => (Cow::Owned(owned.into_bytes()), repaired),
        };
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte != b'\\' {
            out.push(byte);
            at += 1;
            continue;
        }
        match unit_at(bytes, at) {
            Some(0xD800..=0xDBFF) => {
                if matches!(unit_at(bytes, at + 6), Some(0xDC00..=0xDFFF)) {
                    out.extend_from_slice(&bytes[at..at + 12]);
                    at += 12;
                } else {
                    out.extend_from_slice(b"\\ufffd");
                    repaired += 1;
                    at += 6;
                }
            }
            Some(0xDC00..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                repaired += 1;
                at += 6;
            }
            Some(_) => {
                out.extend_from_slice(&bytes[at..at + 6]);
                at += 6;
            }
            None => {
                // Another escape (`\\`, `\"`, …): both characters as they are.
                out.extend_from_slice(&bytes[at..(at + 2).min(bytes.len())]);
                at += 2;
            }
        }
    }
    (Cow::Owned(out), repaired)
}

/// The UTF-16 unit of a `\uXXXX` escape starting at `at`, if one does.
fn unit_at(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

/// Whether any `\uD…` escape (a surrogate's first hex digit is D) appears at all: the common
/// case, no surrogates, costs one scan.
fn has_surrogate_escape(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'u' && (w[1] == b'd' || w[1] == b'D') && w[2] >= b'8')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> (String, usize) {
        let (fixed, count) = repair_surrogates(body.as_bytes());
        let value: serde_json::Value = serde_json::from_slice(&fixed).expect("JSON after repair");
        (value["t"].as_str().expect("text").to_owned(), count)
    }

    #[test]
    fn lone_surrogates_become_replacement_characters_and_pairs_stay() {
        assert!(serde_json::from_str::<serde_json::Value>(r#"{"t":"a\ud83d b"}"#).is_err());
        assert_eq!(
            parsed(r#"{"t":"a\ud83d b"}"#),
            ("a\u{fffd} b".to_owned(), 1)
        );
        assert_eq!(parsed(r#"{"t":"\ude00x"}"#), ("\u{fffd}x".to_owned(), 1));
        assert_eq!(parsed(r#"{"t":"\ud83d\ude00"}"#), ("😀".to_owned(), 0));
        assert_eq!(parsed(r#"{"t":"\\ud83d"}"#), ("\\ud83d".to_owned(), 0));
        assert_eq!(
            parsed(r#"{"t":"\ud83d\ud83d\ude00"}"#),
            ("\u{fffd}😀".to_owned(), 1)
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let mut body = br#"{"t":"caf"#.to_vec();
        body.extend_from_slice(&[0xE9, b'"', b'}']);
        let (fixed, count) = repair_surrogates(&body);
        let value: serde_json::Value = serde_json::from_slice(&fixed).expect("JSON");
        assert_eq!(value["t"], "caf\u{fffd}");
        assert_eq!(count, 1);
    }

    #[test]
    fn clean_json_is_not_copied() {
        let (fixed, count) = repair_surrogates(br#"{"t":"\u00e9"}"#);
        assert!(matches!(fixed, Cow::Borrowed(_)));
        assert_eq!(count, 0);
    }
}
