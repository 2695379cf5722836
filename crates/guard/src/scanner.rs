//! The compiled scanner: built once from a [`Policy`], then shared (it is `Send + Sync`) and
//! used for every draft.
//!
//! A scan makes one pass of the candidate regex (every regex-based built-in rule at once, with
//! long token runs found by a byte scan beside it), one pass over the text for the word lists
//! (which folds and matches only from word starts that could begin a term), and one pass of the
//! custom rules' regex when there are custom rules. Validators only run on candidates.

use std::ops::Range;

use regex_automata::meta::Regex;

use crate::custom;
use crate::detectors::links::{self, LinkRules};
use crate::detectors::pii::{self, Company};
use crate::detectors::secrets;
use crate::detectors::terms::TermMatcher;
use crate::detectors::tone::{DEFAULT_PROFANITY, PERSONAL_PHRASES};
use crate::detectors::{Candidates, Hit, Kind};
use crate::error::{PolicyError, RuleProblem, ScanError};
use crate::finding::{Action, Finding, RuleId, Severity};
use crate::policy::{Policy, parse_check_rules};
use crate::redact;
use crate::rules::Builtin;

/// The most bytes [`Scanner::scan_bytes`] accepts. Scanning is linear, so this is a limit on
/// memory and latency a caller may enforce, not on correctness: 16 MiB is far beyond any post
/// (LinkedIn's 3,000 characters is the longest) and scans in well under a second.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// A policy compiled for scanning.
#[derive(Debug)]
pub struct Scanner {
    settings: Vec<Settings>,
    company: Company,
    links: LinkRules,
    terms: TermMatcher,
    custom: Option<CustomRules>,
    candidates: Option<&'static Candidates>,
}

/// A rule in force as anyone in the company may read it: its id, how serious it is, what it
/// does and its message. Never the company's word lists or a custom rule's pattern, which
/// can name what is confidential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    pub id: RuleId,
    pub severity: Severity,
    pub action: Action,
    pub message: String,
}

/// A rule's effective settings after the policy's overrides.
#[derive(Debug, Clone)]
struct Settings {
    id: RuleId,
    enabled: bool,
    severity: Severity,
    action: Action,
    message: String,
}

#[derive(Debug)]
struct CustomRules {
    regex: Regex,
    settings: Vec<Settings>,
}

impl Default for Scanner {
    /// Every built-in rule with its default settings and the default word lists.
    fn default() -> Scanner {
        Scanner::build(&Policy::default()).0
    }
}

impl Scanner {
    /// Compiles a policy, refusing it if any rule is invalid.
    pub fn new(policy: &Policy) -> Result<Scanner, PolicyError> {
        let (scanner, problems) = Scanner::build(policy);
        if problems.is_empty() {
            Ok(scanner)
        } else {
            Err(PolicyError::Rules(problems))
        }
    }

    /// Compiles a policy, skipping invalid rules and listing why; every other rule runs.
    pub fn build(policy: &Policy) -> (Scanner, Vec<RuleProblem>) {
        let (rules, mut problems) = parse_check_rules(&policy.rules);
        let mut settings: Vec<Settings> = Builtin::ALL
            .iter()
            .map(|rule| {
                let defaults = rule.defaults();
                Settings {
                    id: rule.rule_id(),
                    enabled: true,
                    severity: defaults.severity,
                    action: defaults.action,
                    message: defaults.message.to_owned(),
                }
            })
            .collect();
        let mut custom_patterns = Vec::new();
        let mut custom_settings = Vec::new();
        for rule in &rules {
            let target = match (&rule.pattern, Builtin::find(rule.id.as_str())) {
                (None, Some(builtin)) => settings.get_mut(builtin.index()),
                (Some(pattern), None) if rule.enabled => {
                    custom_patterns.push(pattern.as_str());
                    custom_settings.push(Settings {
                        id: rule.id.clone(),
                        enabled: true,
                        severity: Severity::Medium,
                        action: Action::RequireApproval,
                        message: format!(
                            "This matches your company's rule `{}`. Check the policy and change the text or ask for approval.",
                            rule.id
                        ),
                    });
                    custom_settings.last_mut()
                }
                _ => None,
            };
            if let Some(target) = target {
                target.enabled = rule.enabled;
                target.severity = rule.severity.unwrap_or(target.severity);
                target.action = rule.action.unwrap_or(target.action);
                if let Some(message) = &rule.message {
                    target.message.clone_from(message);
                }
            }
        }
        let custom = if custom_patterns.is_empty() {
            None
        } else {
            match custom::compile_all(&custom_patterns) {
                Ok(regex) => Some(CustomRules {
                    regex,
                    settings: custom_settings,
                }),
                Err(error) => {
                    problems.push(RuleProblem {
                        rule: "custom".to_owned(),
                        location: None,
                        problem: format!(
                            "the custom rules could not be compiled together: {error}"
                        ),
                    });
                    None
                }
            }
        };
        let candidates = Candidates::shared();
        if candidates.is_none() {
            problems.push(RuleProblem {
                rule: "built-in".to_owned(),
                location: None,
                problem:
                    "the built-in patterns failed to compile; only word lists and custom rules run"
                        .to_owned(),
            });
        }
        let terms = &policy.terms;
        let mut profanity: Vec<String> = if terms.profanity.replace {
            Vec::new()
        } else {
            DEFAULT_PROFANITY
                .iter()
                .map(|&word| word.to_owned())
                .collect()
        };
        profanity.extend(terms.profanity.words.iter().cloned());
        let personal: Vec<String> = PERSONAL_PHRASES.iter().map(|&p| p.to_owned()).collect();
        let scanner = Scanner {
            company: Company::new(
                &policy.company.emails,
                &policy.company.phones,
                &policy.company.addresses,
            ),
            links: LinkRules {
                allow: policy
                    .links
                    .allow
                    .iter()
                    .map(|domain| domain.trim().trim_start_matches("*.").to_lowercase())
                    .collect(),
            },
            terms: TermMatcher::new(&[
                (Builtin::Confidential, &terms.confidential),
                (Builtin::Profanity, &profanity),
                (Builtin::Personal, &personal),
            ]),
            settings,
            custom,
            candidates,
        };
        (scanner, problems)
    }

    /// Every built-in rule with its default severity, action and message, in the order the
    /// scanner knows them: what a policy's `[[rule]]` overrides change.
    pub fn built_in_rules() -> Vec<RuleSummary> {
        Builtin::ALL
            .into_iter()
            .map(|rule| {
                let defaults = rule.defaults();
                RuleSummary {
                    id: rule.rule_id(),
                    severity: defaults.severity,
                    action: defaults.action,
                    message: defaults.message.to_owned(),
                }
            })
            .collect()
    }

    /// The rules in force (those turned off left out): the built-in ones, then the custom ones
    /// in the policy's order.
    pub fn rules(&self) -> Vec<RuleSummary> {
        let custom = self.custom.iter().flat_map(|custom| &custom.settings);
        self.settings
            .iter()
            .chain(custom)
            .filter(|settings| settings.enabled)
            .map(|settings| RuleSummary {
                id: settings.id.clone(),
                severity: settings.severity,
                action: settings.action,
                message: settings.message.clone(),
            })
            .collect()
    }

    /// Every finding in `text`, sorted by where it starts. Linear in the text's length; callers
    /// that take text from outside should bound it with [`MAX_INPUT_BYTES`].
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        // Sized for a finding every few hundred bytes (the corpus has one every ~200), so a
        // scan rarely grows it; growing a vector of hits was a twentieth of a scan.
        let mut hits = Vec::with_capacity(text.len() / 256 + 8);
        if let Some(candidates) = self.candidates {
            candidates.for_each(text, |kind, span| {
                self.candidate(text, kind, span, &mut hits)
            });
        }
        self.terms.scan(text, &mut hits);
        let mut findings: Vec<Finding> = Vec::with_capacity(hits.len());
        findings.extend(
            hits.into_iter()
                .filter(|hit| is_valid_span(text, &hit.span))
                .filter_map(|hit| self.finding(hit)),
        );
        if let Some(custom) = &self.custom {
            for (index, span) in custom::matches(&custom.regex, text) {
                let Some(settings) = custom.settings.get(index) else {
                    continue;
                };
                let excerpt = redact::words(text.get(span.clone()).unwrap_or(""));
                findings.push(finding(settings, span, excerpt, false));
            }
        }
        findings.sort_by(|a, b| {
            (a.span.start, a.span.end, &a.rule).cmp(&(b.span.start, b.span.end, &b.rule))
        });
        findings
    }

    /// Scans bytes that should be UTF-8. Invalid UTF-8 is refused with the offset of the first
    /// bad byte rather than scanned lossily, because a replaced character would shift every
    /// span after it; input over [`MAX_INPUT_BYTES`] is refused too.
    pub fn scan_bytes(&self, bytes: &[u8]) -> Result<Vec<Finding>, ScanError> {
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(ScanError::TooLarge {
                length: bytes.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|error| ScanError::InvalidUtf8 {
            offset: error.valid_up_to(),
        })?;
        Ok(self.scan(text))
    }

    /// Runs a candidate's validator; returns where scanning resumes.
    fn candidate(&self, text: &str, kind: Kind, span: Range<usize>, hits: &mut Vec<Hit>) -> usize {
        match kind {
            Kind::PrivateKey => return secrets::private_key(text, span, hits),
            Kind::SlackWebhook | Kind::Url | Kind::BareDomain | Kind::IpLink => {
                return links::check(text, span, kind, &self.links, hits);
            }
            Kind::Email => pii::email(text, span.clone(), &self.company, hits),
            Kind::Password => secrets::password(text, span.clone(), hits),
            Kind::UsAddress | Kind::UkAddress => {
                pii::address(text, span.clone(), &self.company, hits)
            }
            Kind::Iban => pii::iban(text, span.clone(), hits),
            Kind::Nino => pii::uk_nino(text, span.clone(), hits),
            Kind::Ssn => pii::us_ssn(text, span.clone(), hits),
            Kind::Number => pii::number(text, span.clone(), &self.company, hits),
            Kind::Token if is_numeric(text, &span) => {
                pii::number(text, span.clone(), &self.company, hits)
            }
            Kind::Token => secrets::token(text, span.clone(), hits),
        }
        span.end
    }

    fn finding(&self, hit: Hit) -> Option<Finding> {
        let settings = self.settings.get(hit.rule.index())?;
        if !settings.enabled {
            return None;
        }
        Some(finding(settings, hit.span, hit.excerpt, hit.lesser))
    }
}

fn finding(settings: &Settings, span: Range<usize>, excerpt: String, lesser: bool) -> Finding {
    let (severity, action) = if lesser {
        (
            lower(settings.severity),
            settings.action.min(Action::RequireApproval),
        )
    } else {
        (settings.severity, settings.action)
    };
    Finding {
        rule: settings.id.clone(),
        severity,
        action,
        span,
        excerpt,
        message: settings.message.clone(),
    }
}

/// Digits and the separators of written numbers only, as in "4111-1111-1111-1111".
fn is_numeric(text: &str, span: &Range<usize>) -> bool {
    text.get(span.clone()).is_some_and(|t| {
        t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'+'))
    })
}

fn lower(severity: Severity) -> Severity {
    match severity {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low => Severity::Low,
    }
}

/// A last guard: a span that is empty, out of bounds or not on character boundaries is dropped
/// rather than handed to a caller who would slice with it.
fn is_valid_span(text: &str, span: &Range<usize>) -> bool {
    span.start < span.end && text.get(span.clone()).is_some()
}
