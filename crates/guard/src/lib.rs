//! Herald's policy scanner: finds personal data, secrets, confidential terms, risky links and
//! off-brand tone in a draft post. No IO, no logging, no async, no panics.
//!
//! ```text
//! let scanner = Scanner::new(&Policy::from_toml(policy_file)?)?;   // once
//! let findings = scanner.scan(draft);                              // per draft
//! ```
//!
//! A [`Scanner`] is compiled once from a [`Policy`] and shared (`Arc<Scanner>`). A scan is one
//! pass of a multi-pattern regex that finds candidates for every regex-based rule, validators
//! for the candidates (Luhn, IBAN mod-97, NINO and SSN rules, entropy), an Aho-Corasick
//! automaton over a folded "skeleton" of the text for the word lists (folded lazily, from word
//! starts only), and one pass for custom rules.
//! Each [`Finding`] carries a redacted excerpt, never the matched value.
//!
//! It is a crate of its own so that the compiler holds it to these rules: it depends on no IO,
//! logging or async crate, and the lints below reject every way non-test code could panic.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod custom;
mod detectors;
mod error;
mod finding;
mod fold;
mod policy;
mod redact;
mod rules;
mod scanner;
mod validate;

pub use detectors::links::{Link, extract_links, is_shortener};
pub use error::{Location, Locator, PolicyError, RuleProblem, ScanError};
pub use finding::{Action, Finding, RuleId, Severity, link_safety};
pub use policy::{CompanyContacts, LinkSettings, Policy, ProfanityList, RuleSetting, TermLists};
pub use scanner::{MAX_INPUT_BYTES, RuleSummary, Scanner};

/// The ids of every built-in rule, for documentation and policy editors.
pub fn builtin_rule_ids() -> Vec<RuleId> {
    rules::Builtin::ALL
        .iter()
        .map(|rule| rule.rule_id())
        .collect()
}
