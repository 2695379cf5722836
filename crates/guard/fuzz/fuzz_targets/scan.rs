//! Scans arbitrary bytes with a scanner that has every built-in rule, word lists and an
//! allow-list, and checks the invariants callers rely on: no panic, every span in bounds, on
//! character boundaries and non-empty, findings sorted, and invalid UTF-8 refused with the
//! right offset. Invalid input is also scanned lossily so the detectors see it too.

#![no_main]

use std::sync::OnceLock;

use guard::{Policy, ScanError, Scanner};
use libfuzzer_sys::fuzz_target;

const POLICY: &str = r#"
[company]
emails = ["hello@cafe.example"]
phones = ["+44 20 7946 0000"]
addresses = ["1 High Street, Bath BA1 1AA"]
[links]
allow = ["cafe.example"]
[terms]
confidential = ["Project Falcon", "Acme Corp", "internal only", "Ωμέγα"]
[[rule]]
id = "custom.order_ref"
pattern = "ORD-[0-9]{6}"
"#;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let policy = Policy::from_toml(POLICY).expect("the fuzz policy is valid");
        Scanner::new(&policy).expect("the fuzz policy compiles")
    })
}

fn check(text: &str, findings: &[guard::Finding]) {
    let mut previous_start = 0;
    for finding in findings {
        let span = finding.span.clone();
        assert!(span.start < span.end, "empty span {span:?}");
        assert!(
            span.end <= text.len(),
            "span {span:?} beyond {}",
            text.len()
        );
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        assert!(span.start >= previous_start, "findings out of order");
        previous_start = span.start;
    }
}

fuzz_target!(|data: &[u8]| {
    match scanner().scan_bytes(data) {
        Ok(findings) => {
            let text = std::str::from_utf8(data).expect("scan_bytes accepted it");
            check(text, &findings);
        }
        Err(ScanError::InvalidUtf8 { offset }) => {
            let valid_up_to = std::str::from_utf8(data).err().map(|e| e.valid_up_to());
            assert_eq!(valid_up_to, Some(offset));
            let lossy = String::from_utf8_lossy(data);
            check(&lossy, &scanner().scan(&lossy));
        }
        Err(ScanError::TooLarge { .. }) => assert!(data.len() > guard::MAX_INPUT_BYTES),
    }
});
