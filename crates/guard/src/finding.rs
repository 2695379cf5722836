//! What a scan reports: a [`Finding`] names its rule, how serious it is, what should happen to
//! the post, where the problem is, a redacted excerpt and a plain-English message.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A rule's dotted name, such as `pii.email` or `custom.order_ref`.
///
/// Parsed once: lowercase ASCII letters, digits and `_` in at least two dot-separated parts.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RuleId(Cow<'static, str>);

impl RuleId {
    /// Parses a rule id, naming what is wrong when it is not one.
    pub fn parse(text: &str) -> Result<RuleId, String> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() < 2 {
            return Err(format!(
                "rule id `{text}` needs a dotted name such as `custom.{text}`"
            ));
        }
        let valid_part = |part: &&str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !parts.iter().all(valid_part) {
            return Err(format!(
                "rule id `{text}` may use only lowercase letters, digits and `_` between its dots"
            ));
        }
        Ok(RuleId(Cow::Owned(text.to_owned())))
    }

    /// The id as written, such as `pii.email`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the rule finds, in people's words, as a finding's headline: "Personal email
    /// address" for `pii.email`. A company's own rules are headed by their kind.
    pub fn title(&self) -> &'static str {
        match self.as_str() {
            "pii.email" => "Personal email address",
            "pii.phone" => "Phone number",
            "pii.address" => "Home address",
            "pii.card" => "Payment card number",
            "pii.iban" => "Bank account number (IBAN)",
            "pii.uk_nino" => "UK National Insurance number",
            "pii.us_ssn" => "US Social Security number",
            "secret.password_disclosure" => "A password",
            "secret.private_key" => "A private key",
            "secret.high_entropy" => "Something that looks like a secret key",
            "secret.jwt" => "A sign-in token (JWT)",
            "term.confidential" => "A confidential term",
            "tone.profanity" => "Strong language",
            "tone.personal" => "A personal remark",
            "link.shortened" => "A shortened link",
            "link.not_allowed" => "A link to a site not on the allowed list",
            "link.ip_address" => "A link to a bare IP address",
            "link.punycode" => "A link with a disguised name (punycode)",
            "link.mixed_script" => "A link mixing alphabets",
            "link.malicious" => "A link known to be dangerous",
            "link.lookalike" => "A link imitating your company's name",
            "link.redirects_to" => "Where a short link really goes",
            "link.unreachable" => "A link that could not be checked",
            other => match other.split('.').next().unwrap_or_default() {
                "secret" => "A secret key or token",
                "pii" => "Personal information",
                "term" => "A term your policy names",
                "link" => "A risky link",
                "tone" => "Tone",
                _ => "Your company's own rule",
            },
        }
    }

    pub(crate) const fn builtin(id: &'static str) -> RuleId {
        RuleId(Cow::Borrowed(id))
    }
}

#[cfg(test)]
mod title_tests {
    use super::RuleId;

    #[test]
    fn every_finding_has_a_headline_in_words() {
        let title = |id: &str| RuleId::parse(id).map(|rule| rule.title());
        assert_eq!(title("pii.email"), Ok("Personal email address"));
        assert_eq!(title("secret.stripe_key"), Ok("A secret key or token"));
        assert_eq!(title("custom.launch_date"), Ok("Your company's own rule"));
    }
}

/// Rules found outside the scanner, by Herald's link safety (threat feeds, look-alikes of the
/// organisation's names, where short links go), in the same namespace as the scanner's.
pub mod link_safety {
    use super::RuleId;

    /// A link (or a hop it redirects through) is in a threat feed.
    pub const MALICIOUS: RuleId = RuleId::builtin("link.malicious");
    /// A link's address imitates one of the organisation's own domains or handles.
    pub const LOOKALIKE: RuleId = RuleId::builtin("link.lookalike");
    /// Where a short link really goes.
    pub const REDIRECTS_TO: RuleId = RuleId::builtin("link.redirects_to");
    /// A link that could not be checked or followed.
    pub const UNREACHABLE: RuleId = RuleId::builtin("link.unreachable");
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RuleId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuleId({})", self.0)
    }
}

/// How serious a finding is, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What Herald does with a post that has a finding, from mildest to strictest, so the
/// strictest action of several findings is their `max()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Show the finding; the author may post anyway.
    Warn,
    /// Someone else with publish rights must approve the post first.
    RequireApproval,
    /// The post cannot be published until the text is changed.
    Block,
}

impl Severity {
    /// The name used in policy files and the API (`low` … `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl Action {
    /// The name used in policy files and the API (`warn`, `require_approval`, `block`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Warn => "warn",
            Action::RequireApproval => "require_approval",
            Action::Block => "block",
        }
    }
}

/// One problem found in a text.
///
/// It never holds the matched value itself: `excerpt` is already redacted (see the crate's
/// README for the masking rules), so deriving `Debug` and `Serialize` cannot leak it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    pub action: Action,
    /// Byte offsets into the scanned text, always on UTF-8 character boundaries.
    pub span: Range<usize>,
    /// A redacted view of the match, safe to show, store and log.
    pub excerpt: String,
    /// What was found and how to fix it, for someone who is not technical.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::{Action, Severity};

    #[test]
    fn names_are_the_ones_serde_reads_and_writes() {
        for severity in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            let json = serde_json::to_value(severity).unwrap();
            assert_eq!(json.as_str(), Some(severity.as_str()));
        }
        for action in [Action::Warn, Action::RequireApproval, Action::Block] {
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json.as_str(), Some(action.as_str()));
        }
    }
}
