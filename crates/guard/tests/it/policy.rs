//! Reading, writing and applying policy files.

use guard::{Action, Location, Policy, PolicyError, Scanner, Severity};

use crate::{rules_with, scanner_for};

const FULL_POLICY: &str = r#"
[company]
emails = ["hello@cafe.example"]
phones = ["+44 20 7946 0000"]
addresses = ["1 High Street, Bath BA1 1AA"]

[links]
allow = ["cafe.example"]

[terms]
confidential = ["Project Falcon", "Acme Corp", "internal only"]
profanity = { replace = false, words = ["blimey"] }

[[rule]]
id = "pii.phone"
action = "warn"

[[rule]]
id = "custom.order_ref"
pattern = "ORD-[0-9]{6}"
severity = "medium"
action = "require_approval"
message = "Order references are private; remove it."
"#;

#[test]
fn the_documented_example_policy_reads_and_applies() {
    let scanner = scanner_for(FULL_POLICY);
    let findings = scanner.scan("Call 020 7946 0958 about ORD-123456, blimey");
    let summary: Vec<(String, Action)> = findings
        .iter()
        .map(|f| (f.rule.to_string(), f.action))
        .collect();
    assert_eq!(
        summary,
        [
            ("pii.phone".to_owned(), Action::Warn),
            ("custom.order_ref".to_owned(), Action::RequireApproval),
            ("tone.profanity".to_owned(), Action::RequireApproval),
        ]
    );
    let custom = findings
        .iter()
        .find(|f| f.rule.as_str() == "custom.order_ref");
    assert_eq!(
        custom.map(|f| f.message.as_str()),
        Some("Order references are private; remove it.")
    );
    assert_eq!(custom.map(|f| f.excerpt.contains("123456")), Some(false));
}

#[test]
fn a_policy_round_trips_through_toml() {
    let policy = Policy::from_toml(FULL_POLICY).unwrap_or_else(|e| panic!("{e}"));
    let written = policy.to_toml().unwrap_or_else(|e| panic!("{e}"));
    let again = Policy::from_toml(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(again, policy);
    assert_eq!(policy.rules.len(), 2);
}

#[test]
fn the_default_policy_round_trips_and_runs_every_builtin_rule() {
    let written = Policy::default()
        .to_toml()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Policy::from_toml(&written), Ok(Policy::default()));
    assert_eq!(guard::builtin_rule_ids().len(), 31);
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let error = Policy::from_toml("[company]\nemails = []\ncolour = \"red\"\n").err();
    let Some(PolicyError::Toml { location, message }) = error else {
        panic!("expected a TOML error, got {error:?}");
    };
    assert!(message.contains("colour"), "{message}");
    assert_eq!(location, Some(Location { line: 3, column: 1 }));
}

#[test]
fn a_wrongly_typed_value_is_an_error_with_a_location() {
    let error = Policy::from_toml("[links]\nallow = \"cafe.example\"\n").err();
    let shown = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(shown.starts_with("line 2, column 9:"), "{shown}");
}

#[test]
fn an_invalid_pattern_names_the_rule_and_the_patterns_position() {
    let source = "[[rule]]\nid = \"custom.broken\"\npattern = \"ORD-[0-9\"\n";
    let Err(PolicyError::Rules(problems)) = Policy::from_toml(source) else {
        panic!("an invalid pattern must be refused");
    };
    let problem = problems
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("one problem"));
    assert_eq!(problem.rule, "custom.broken");
    assert_eq!(
        problem.location,
        Some(Location {
            line: 3,
            column: 11
        })
    );
    assert!(problem.problem.contains("invalid pattern"), "{problem}");
    assert!(
        problem
            .to_string()
            .starts_with("rule `custom.broken` at line 3, column 11: invalid pattern"),
        "{problem}"
    );
}

#[test]
fn a_bad_custom_rule_never_stops_the_rest_of_the_policy_from_working() {
    let source = r#"
[terms]
confidential = ["Project Falcon"]

[[rule]]
id = "custom.broken"
pattern = "(unclosed"

[[rule]]
id = "custom.typo"
patern = "X-[0-9]+"

[[rule]]
id = "custom.order_ref"
pattern = "ORD-[0-9]{6}"
"#;
    let (policy, problems) = Policy::from_toml_lenient(source).unwrap_or_else(|e| panic!("{e}"));
    let skipped: Vec<&str> = problems.iter().map(|p| p.rule.as_str()).collect();
    assert_eq!(skipped, ["custom.typo", "custom.broken"]);
    assert!(
        problems
            .iter()
            .any(|p| p.problem.contains("unknown key `patern`"))
    );
    let (scanner, build_problems) = Scanner::build(&policy);
    assert!(build_problems.is_empty());
    assert_eq!(
        rules_with(&scanner, "Project Falcon ORD-123456 jane@example.com"),
        ["term.confidential", "custom.order_ref", "pii.email"]
    );
}

#[test]
fn the_strict_builder_refuses_a_policy_built_in_code_with_a_bad_rule() {
    let mut policy = Policy::from_toml(FULL_POLICY).unwrap_or_else(|e| panic!("{e}"));
    if let Some(rule) = policy.rules.last_mut() {
        rule.pattern = Some("[".to_owned());
    }
    assert!(Scanner::new(&policy).is_err());
    assert_eq!(policy.rule_problems().len(), 1);
    let (scanner, problems) = Scanner::build(&policy);
    assert_eq!(problems.len(), 1);
    assert_eq!(rules_with(&scanner, "mail jane@example.com"), ["pii.email"]);
}

#[test]
fn unknown_builtin_ids_and_bad_values_are_rule_problems() {
    let source = r#"
[[rule]]
id = "pii.phon"
action = "warn"

[[rule]]
id = "pii.email"
severity = "huge"

[[rule]]
id = "pii.card"
pattern = "[0-9]+"

[[rule]]
id = "Custom.Rule"
pattern = "x"
"#;
    let (_, problems) = Policy::from_toml_lenient(source).unwrap_or_else(|e| panic!("{e}"));
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{messages:#?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("unknown severity `huge`"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("no built-in rule has this id"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("cannot change their pattern"))
    );
    assert!(messages.iter().any(|m| m.contains("lowercase")));
}

#[test]
fn a_builtin_rule_can_be_disabled_or_given_another_severity() {
    let scanner = scanner_for(
        "[[rule]]\nid = \"pii.email\"\nenabled = false\n\n[[rule]]\nid = \"pii.card\"\nseverity = \"low\"\naction = \"warn\"\n",
    );
    let findings = scanner.scan("jane@example.com 4111 1111 1111 1111");
    assert_eq!(findings.len(), 1);
    assert_eq!(
        findings.first().map(|f| (f.severity, f.action)),
        Some((Severity::Low, Action::Warn))
    );
}

#[test]
fn profanity_words_can_replace_the_default_list() {
    let scanner = scanner_for("[terms]\nprofanity = { replace = true, words = [\"blimey\"] }\n");
    assert_eq!(
        rules_with(&scanner, "blimey, this is shit"),
        ["tone.profanity"]
    );
}

#[test]
fn the_rules_in_force_name_each_rule_and_its_message_but_never_a_term_or_a_pattern() {
    let source = r#"
[terms]
confidential = ["Project Falcon"]
[[rule]]
id = "pii.phone"
enabled = false
[[rule]]
id = "pii.email"
action = "block"
message = "No addresses."
[[rule]]
id = "custom.falcon_code"
pattern = "FALCON-[0-9]+"
action = "warn"
"#;
    let policy = Policy::from_toml(source).expect("valid");
    let rules = Scanner::new(&policy).expect("compiles").rules();
    let ids: Vec<&str> = rules.iter().map(|rule| rule.id.as_str()).collect();
    assert!(ids.contains(&"term.confidential"), "{ids:?}");
    assert!(!ids.contains(&"pii.phone"), "turned off: {ids:?}");
    assert_eq!(ids.last(), Some(&"custom.falcon_code"));
    let email = rules.iter().find(|rule| rule.id.as_str() == "pii.email");
    let email = email.expect("listed");
    assert_eq!(
        (email.action, email.message.as_str()),
        (Action::Block, "No addresses.")
    );
    let shown = format!("{rules:?}");
    assert!(
        !shown.contains("Falcon") && !shown.contains("FALCON-"),
        "{shown}"
    );
}
