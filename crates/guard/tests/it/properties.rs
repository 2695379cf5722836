//! Properties that hold for any input: no panic, spans in bounds and on character boundaries,
//! and no excerpt that repeats the secret it reports.

use std::sync::OnceLock;

use guard::{Policy, Scanner};
use proptest::prelude::*;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let policy = Policy::from_toml(
            "[terms]\nconfidential = [\"Project Falcon\", \"Acme Corp\"]\n[links]\nallow = [\"cafe.example\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Scanner::new(&policy).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Text built from fragments the detectors care about, glued with arbitrary characters, so the
/// properties are tested where findings actually happen and not only on random noise.
fn interesting_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("AKIAIOSFODNN7EXAMPLE".to_owned()),
        Just("4111 1111 1111 1111".to_owned()),
        Just("jane@example.com".to_owned()),
        Just("+44 20 7946 0958".to_owned()),
        Just("GB82 WEST 1234 5698 7654 32".to_owned()),
        Just("password: hunter2".to_owned()),
        Just("https://bit.ly/x".to_owned()),
        Just("P r o j e c t  F a l c o n".to_owned()),
        Just("ghp_abcdefghijklmnopqrstuvwxyz0123456789".to_owned()),
        Just("q8Zr2LpX0vN4tYw7Ks1MbC3d9Hf".to_owned()),
        "\\PC{0,12}",
        "[ \\t\\n.,:/@#-]{0,3}",
    ];
    prop::collection::vec(fragment, 0..12).prop_map(|parts| parts.concat())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    for finding in scanner().scan(text) {
        let span = finding.span.clone();
        prop_assert!(span.start < span.end && span.end <= text.len(), "{span:?}");
        prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        let matched = text.get(span).unwrap_or("");
        let sensitive = finding.rule.as_str().starts_with("secret.")
            || finding.rule.as_str().starts_with("pii.");
        if sensitive && matched.len() >= 8 {
            prop_assert!(
                !finding.excerpt.contains(matched),
                "{} excerpt {:?} repeats the match",
                finding.rule,
                finding.excerpt
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scanning_arbitrary_unicode_never_panics_and_spans_stay_on_boundaries(text in "\\PC{0,200}") {
        check(&text)?;
    }

    #[test]
    fn scanning_text_full_of_findings_keeps_every_invariant(text in interesting_text()) {
        check(&text)?;
    }

    #[test]
    fn scanning_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match scanner().scan_bytes(&bytes) {
            Ok(_) => prop_assert!(std::str::from_utf8(&bytes).is_ok()),
            Err(guard::ScanError::InvalidUtf8 { offset }) => {
                prop_assert_eq!(std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to()), Some(offset));
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }
}

#[test]
fn invalid_utf8_is_refused_naming_the_byte_offset() {
    let error = Scanner::default().scan_bytes(b"hello \xff world").err();
    assert_eq!(error, Some(guard::ScanError::InvalidUtf8 { offset: 6 }));
    assert!(
        error
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("offset 6")
    );
}

#[test]
fn input_over_the_documented_maximum_is_refused_by_scan_bytes() {
    let big = vec![b'a'; guard::MAX_INPUT_BYTES + 1];
    assert!(matches!(
        Scanner::default().scan_bytes(&big),
        Err(guard::ScanError::TooLarge { .. })
    ));
}

#[test]
fn a_ten_megabyte_input_scans_and_finds_what_it_contains() {
    let post =
        "Fresh bread daily at the bakery, call 020 7946 0958 or see https://example.com/menu. ";
    let mut text = post.repeat(10 * 1024 * 1024 / post.len());
    text.push_str("Project Falcon AKIAIOSFODNN7EXAMPLE");
    assert!(text.len() >= 10 * 1024 * 1024 - post.len());
    let findings = scanner().scan(&text);
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.rule.as_str() == "pii.phone")
            .count(),
        text.matches("020 7946").count()
    );
    assert!(
        findings
            .iter()
            .any(|f| f.rule.as_str() == "term.confidential" && f.span.end > 10 * 1024 * 1024 - 200)
    );
    assert!(findings.iter().any(|f| f.rule.as_str() == "secret.aws_key"));
}

#[test]
fn the_scanner_is_send_sync_and_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scanner>();
    let shared = std::sync::Arc::new(Scanner::default());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let scanner = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || scanner.scan("mail jane@example.com").len())
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().ok(), Some(1));
    }
}

#[test]
fn debug_output_of_findings_never_shows_the_secret() {
    let text = "AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwxyz0123456789 password: hunter2 4111 1111 1111 1111";
    let shown = format!("{:?}", Scanner::default().scan(text));
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "abcdefghijklmnop",
        "hunter2",
        "4111 1111 1111 1111",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}
