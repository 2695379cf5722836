//! Reading a policy file: the fixed tables through serde (unknown keys refused), and each
//! `[[rule]]` table on its own, so that a bad rule becomes a [`RuleProblem`] instead of
//! failing the whole file.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::{Spanned, Value};

use crate::custom;
use crate::error::{Location, PolicyError, RuleProblem};
use crate::finding::{Action, RuleId, Severity};
use crate::policy::{CompanyContacts, LinkSettings, Policy, RuleSetting, TermLists};
use crate::rules::Builtin;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    company: CompanyContacts,
    #[serde(default)]
    links: LinkSettings,
    #[serde(default)]
    terms: TermLists,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// A `[[rule]]` table with every value kept as written, with its position, so each key can be
/// checked (and an unknown key reported) without failing the whole file.
struct RawRule {
    values: BTreeMap<String, Spanned<Value>>,
}

impl<'de> Deserialize<'de> for RawRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawRule, D::Error> {
        deserializer.deserialize_map(RawRuleVisitor)
    }
}

struct RawRuleVisitor;

impl<'de> Visitor<'de> for RawRuleVisitor {
    type Value = RawRule;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [[rule]] table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRule, A::Error> {
        let mut values = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            values.insert(key, value);
        }
        Ok(RawRule { values })
    }
}

const RULE_KEYS: &[&str] = &["id", "enabled", "severity", "action", "pattern", "message"];

pub fn read(source: &str) -> Result<(Policy, Vec<RuleProblem>), PolicyError> {
    let raw: RawPolicy = toml::from_str(source).map_err(|error| PolicyError::Toml {
        location: error.span().map(|span| Location::of(source, span.start)),
        message: error.message().trim_end().to_owned(),
    })?;
    let mut problems = Vec::new();
    let mut settings = Vec::new();
    for rule in raw.rule {
        let span = rule.span();
        match setting(source, rule.into_inner(), span) {
            Ok(setting) => settings.push(setting),
            Err(problem) => problems.push(problem),
        }
    }
    let (rules, rule_problems) = check_rules(&settings);
    problems.extend(rule_problems);
    let policy = Policy {
        company: raw.company,
        links: raw.links,
        terms: raw.terms,
        rules,
    };
    Ok((policy, problems))
}

/// Turns one raw rule table into a setting, or says what is wrong with it.
fn setting(source: &str, raw: RawRule, table: Range<usize>) -> Result<RuleSetting, RuleProblem> {
    let at = |span: Range<usize>| Some(Location::of(source, span.start));
    let id_text = raw
        .values
        .get("id")
        .and_then(|value| value.get_ref().as_str())
        .map(str::to_owned);
    let problem = |location, problem: String| RuleProblem {
        rule: id_text.clone().unwrap_or_else(|| "(no id)".to_owned()),
        location,
        problem,
    };
    if let Some((key, value)) = raw
        .values
        .iter()
        .find(|(key, _)| !RULE_KEYS.contains(&key.as_str()))
    {
        return Err(problem(
            at(value.span()),
            format!(
                "unknown key `{key}`; a rule may have {}",
                quoted_list(RULE_KEYS)
            ),
        ));
    }
    let Some(id_text) = &id_text else {
        return Err(problem(
            at(table),
            "a rule needs an `id` such as \"pii.phone\" or \"custom.order_ref\"".to_owned(),
        ));
    };
    let id_span = raw
        .values
        .get("id")
        .map(Spanned::span)
        .unwrap_or(table.clone());
    let id = RuleId::parse(id_text).map_err(|error| problem(at(id_span), error))?;
    let string = |key: &str| -> Result<Option<(String, Range<usize>)>, RuleProblem> {
        match raw.values.get(key) {
            None => Ok(None),
            Some(value) => match value.get_ref().as_str() {
                Some(text) => Ok(Some((text.to_owned(), value.span()))),
                None => Err(problem(
                    at(value.span()),
                    format!("`{key}` must be a string"),
                )),
            },
        }
    };
    let enabled = match raw.values.get("enabled") {
        None => true,
        Some(value) => value.get_ref().as_bool().ok_or_else(|| {
            problem(
                at(value.span()),
                "`enabled` must be true or false".to_owned(),
            )
        })?,
    };
    let severity = string("severity")?
        .map(|(text, span)| {
            parse_enum::<Severity>(&text).ok_or_else(|| {
                problem(at(span), format!("unknown severity `{text}`; use \"low\", \"medium\", \"high\" or \"critical\""))
            })
        })
        .transpose()?;
    let action = string("action")?
        .map(|(text, span)| {
            parse_enum::<Action>(&text).ok_or_else(|| {
                problem(
                    at(span),
                    format!(
                        "unknown action `{text}`; use \"block\", \"require_approval\" or \"warn\""
                    ),
                )
            })
        })
        .transpose()?;
    let pattern = string("pattern")?;
    let location = pattern
        .as_ref()
        .map_or(at(table), |(_, span)| at(span.clone()));
    Ok(RuleSetting {
        id,
        enabled,
        severity,
        action,
        pattern: pattern.map(|(text, _)| text),
        message: string("message")?.map(|(text, _)| text),
        location,
    })
}

/// Splits settings into usable ones and problems: ids must be unique; built-in ids take no
/// pattern; any other id is a custom rule and needs a valid pattern.
pub fn check_rules(settings: &[RuleSetting]) -> (Vec<RuleSetting>, Vec<RuleProblem>) {
    let mut good: Vec<RuleSetting> = Vec::new();
    let mut problems = Vec::new();
    for setting in settings {
        let problem = |problem: String| RuleProblem {
            rule: setting.id.to_string(),
            location: setting.location,
            problem,
        };
        if good.iter().any(|other| other.id == setting.id) {
            problems.push(problem(
                "this id is used by an earlier rule; each rule needs its own id".to_owned(),
            ));
            continue;
        }
        let builtin = Builtin::find(setting.id.as_str()).is_some();
        match (&setting.pattern, builtin) {
            (Some(_), true) => {
                problems.push(problem(
                    "built-in rules cannot change their pattern; give a custom rule its own id such as `custom.…`".to_owned(),
                ));
                continue;
            }
            (None, false) => {
                problems.push(problem(
                    "no built-in rule has this id, and a custom rule needs a `pattern`".to_owned(),
                ));
                continue;
            }
            (Some(pattern), false) => {
                if let Err(error) = custom::compile(pattern) {
                    problems.push(problem(format!("invalid pattern: {error}")));
                    continue;
                }
            }
            (None, true) => {}
        }
        good.push(setting.clone());
    }
    (good, problems)
}

fn parse_enum<T: for<'de> Deserialize<'de>>(text: &str) -> Option<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text)).ok()
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
