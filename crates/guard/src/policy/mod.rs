//! The company's policy: its own contact details, allowed link domains, word lists and rule
//! settings, read from and written to TOML.
//!
//! ```toml
//! [company]
//! emails = ["hello@cafe.example"]
//! [links]
//! allow = ["cafe.example"]
//! [terms]
//! confidential = ["Project Falcon"]
//! profanity = { replace = false, words = ["darn"] }
//! [[rule]]
//! id = "pii.phone"
//! action = "warn"
//! ```
//!
//! Reading is strict about the file's shape (unknown keys are errors, with line and column)
//! but a broken rule never disables the others: [`Policy::from_toml_lenient`] skips it and
//! says why.

mod parse;

pub(crate) use parse::check_rules as parse_check_rules;

use serde::{Deserialize, Serialize};

use crate::error::{Location, PolicyError, RuleProblem};
use crate::finding::{Action, RuleId, Severity};

/// Everything the scanner is configured by. `Policy::default()` runs every built-in rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub company: CompanyContacts,
    pub links: LinkSettings,
    pub terms: TermLists,
    /// Overrides of built-in rules and custom rules, in file order.
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSetting>,
}

/// The company's own public contact details, which are never reported as personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompanyContacts {
    /// Whole addresses, or `@domain` for every address at that domain.
    pub emails: Vec<String>,
    /// Compared by digits, so any spacing or a `+44`/`0` prefix still matches.
    pub phones: Vec<String>,
    /// Compared by letters and digits only.
    pub addresses: Vec<String>,
}

/// Link settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSettings {
    /// Allowed domains (subdomains included). When empty, every domain is allowed and
    /// `link.not_allowed` never fires.
    pub allow: Vec<String>,
}

/// The word lists the company maintains.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TermLists {
    /// Code names, client names and phrases such as "internal only".
    pub confidential: Vec<String>,
    pub profanity: ProfanityList,
}

/// The company's additions to (or replacement of) the built-in language list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfanityList {
    /// When true, `words` replaces the built-in list instead of extending it.
    pub replace: bool,
    /// Words or phrases; a trailing `*` also matches longer words ("fuck*").
    pub words: Vec<String>,
}

/// One `[[rule]]` table: an override of a built-in rule (no `pattern`) or a custom rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSetting {
    pub id: RuleId,
    /// Set to false to turn the rule off.
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// A regular expression (Rust `regex` syntax); only custom rules have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Replaces the rule's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where the pattern (or else the rule) was in the policy file, for error messages.
    #[serde(skip)]
    pub location: Option<Location>,
}

/// Equal when the settings are equal; where they were written does not matter.
impl PartialEq for RuleSetting {
    fn eq(&self, other: &RuleSetting) -> bool {
        (
            &self.id,
            self.enabled,
            self.severity,
            self.action,
            &self.pattern,
            &self.message,
        ) == (
            &other.id,
            other.enabled,
            other.severity,
            other.action,
            &other.pattern,
            &other.message,
        )
    }
}

impl Eq for RuleSetting {}

impl Policy {
    /// Reads a policy, refusing it if anything in it is wrong, including any single rule.
    pub fn from_toml(source: &str) -> Result<Policy, PolicyError> {
        let (policy, problems) = Policy::from_toml_lenient(source)?;
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(PolicyError::Rules(problems))
        }
    }

    /// Reads a policy, skipping rules that cannot be used and listing why, so one bad custom
    /// rule never stops the rest of the policy from working. Errors only when the file itself
    /// cannot be read (TOML syntax, unknown keys outside `[[rule]]`, wrong value types).
    pub fn from_toml_lenient(source: &str) -> Result<(Policy, Vec<RuleProblem>), PolicyError> {
        parse::read(source)
    }

    /// Writes the policy as TOML that [`Policy::from_toml`] reads back to an equal policy.
    pub fn to_toml(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|error| PolicyError::Toml {
            location: None,
            message: error.to_string(),
        })
    }

    /// Problems with the rules of a policy built in code rather than read from a file.
    pub fn rule_problems(&self) -> Vec<RuleProblem> {
        parse::check_rules(&self.rules).1
    }
}
