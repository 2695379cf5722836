//! The one integration-test binary of herald-guard: the public API, one file per concern.

mod corpus;
mod detectors;
mod policy;
mod properties;

use guard::{Finding, Policy, Scanner};

/// The rule ids found in `text` by the default scanner, in order.
pub fn rules_in(text: &str) -> Vec<String> {
    rules_with(&Scanner::default(), text)
}

/// The rule ids found in `text` by `scanner`, in order.
pub fn rules_with(scanner: &Scanner, text: &str) -> Vec<String> {
    scanner
        .scan(text)
        .iter()
        .map(|f| f.rule.to_string())
        .collect()
}

/// Findings of one rule in `text` under the default policy.
pub fn findings_of(text: &str, rule: &str) -> Vec<Finding> {
    Scanner::default()
        .scan(text)
        .into_iter()
        .filter(|f| f.rule.as_str() == rule)
        .collect()
}

/// A scanner for a policy written in TOML; panics with the error if the policy is invalid.
pub fn scanner_for(toml: &str) -> Scanner {
    let policy = Policy::from_toml(toml).unwrap_or_else(|error| panic!("{error}"));
    Scanner::new(&policy).unwrap_or_else(|error| panic!("{error}"))
}
