//! The policy guard from outside: `herald scan` on files and standard input, and
//! `POST /api/v1/scan` with the rules an owner saved through `PUT /api/v1/policy/rules`.

use std::io::Write;
use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{herald, run};
use crate::people::{app, invite_and_join, set_up};

/// AWS's documented example key: a secret by its shape, harmless in fact.
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

fn scan_stdin(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = herald()
        .arg("scan")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald scan starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let output = child.wait_with_output().expect("herald scan ends");
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn herald_scan_exits_one_on_a_blocking_finding_and_says_where_without_the_secret() {
    let dir = TempDir::new().expect("temporary directory");
    let draft = dir.path().join("draft.txt");
    std::fs::write(&draft, format!("New menu out now!\nOur key is {AWS_KEY}\n")).expect("write");
    let clean = dir.path().join("clean.txt");
    std::fs::write(&clean, "Fresh croissants from 7am, see you soon!").expect("write");

    let (output, stdout, stderr) = run(herald().arg("scan").arg(&draft).arg(&clean));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("draft.txt:2:12: block [secret.aws_key]"),
        "{stdout}"
    );
    assert!(!stdout.contains(AWS_KEY), "the key itself is never printed");
    assert!(!stdout.contains("clean.txt"), "{stdout}");

    let (output, stdout, _) = run(herald().arg("scan").arg(&clean));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout, "");

    let (code, stdout, _) = scan_stdin(&["--format", "json"], b"Mail jo@example.com today");
    assert_eq!(
        code, 0,
        "an email address asks for approval, it does not block"
    );
    let findings: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(findings[0]["rule"], "pii.email");
    assert_eq!(findings[0]["file"], "<stdin>");
    assert_eq!(findings[0]["span"], json!({ "start": 5, "end": 19 }));
}

#[test]
fn herald_scan_skips_an_invalid_custom_rule_and_the_other_rules_still_apply() {
    let dir = TempDir::new().expect("temporary directory");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        r#"[terms]
confidential = ["Project Falcon"]

[[rule]]
id = "custom.broken"
pattern = "ORD-[0-9"
severity = "medium"
action = "warn"
message = "broken"

[[rule]]
id = "custom.order_ref"
pattern = "ORD-[0-9]{6}"
severity = "medium"
action = "block"
message = "Order references are internal."
"#,
    )
    .expect("write");
    let (code, stdout, stderr) = scan_stdin(
        &["--policy", policy.to_str().expect("path")],
        "Update on p r o j e c t  f@lcon and ORD-123456".as_bytes(),
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("rule `custom.broken` at line 6, column 11"),
        "{stderr}"
    );
    assert!(stdout.contains("[term.confidential]"), "{stdout}");
    assert!(stdout.contains("[custom.order_ref]"), "{stdout}");
}

#[test]
fn herald_scan_refuses_unknown_policy_keys_and_invalid_utf8_with_exit_two() {
    let dir = TempDir::new().expect("temporary directory");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[links]\nalow = [\"example.com\"]\n").expect("write");
    let (code, _, stderr) = scan_stdin(&["--policy", policy.to_str().expect("path")], b"hi");
    assert_eq!(code, 2);
    assert!(stderr.contains("line 2, column 1"), "{stderr}");
    assert!(stderr.contains("alow"), "{stderr}");

    let (code, _, stderr) = scan_stdin(&[], b"caf\xe9 au lait");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not valid UTF-8") && stderr.contains("offset 3"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_api_scans_with_the_rules_an_owner_saved_and_refuses_bad_rules_whole() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let member = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let draft = format!("Big news about Project Falcon! Key: {AWS_KEY}");

    let before: Value = member
        .post(&app, "/api/v1/scan", json!({ "text": draft }))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(before["verdict"], "block", "{before}");
    assert!(
        !before.to_string().contains(AWS_KEY),
        "no secret in the answer"
    );
    let rules: Vec<&str> = before["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(rules, ["secret.aws_key"], "no confidential terms yet");

    let toml = "[terms]\nconfidential = [\"Project Falcon\"]\n";
    let by_admin = admin
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy/rules",
            Some(json!({ "toml": toml })),
        )
        .await;
    assert_eq!(by_admin.status(), StatusCode::FORBIDDEN);
    let saved = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy/rules",
            Some(json!({ "toml": toml })),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.json::<Value>().await.expect("JSON")["version"], 1);

    let after: Value = member
        .post(&app, "/api/v1/scan", json!({ "text": draft }))
        .await
        .json()
        .await
        .expect("JSON");
    let falcon = after["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["rule"] == "term.confidential")
        .unwrap_or_else(|| panic!("the saved term is found: {after}"));
    assert_eq!(
        &draft[falcon["start"].as_u64().expect("start") as usize
            ..falcon["end"].as_u64().expect("end") as usize],
        "Project Falcon"
    );

    let bad = "[terms]\nconfidential = [\"X\"]\n\n[[rule]]\nid = \"custom.bad\"\npattern = \"(\"\nseverity = \"low\"\naction = \"warn\"\nmessage = \"m\"\n";
    let refused = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy/rules",
            Some(json!({ "toml": bad })),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("JSON");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("custom.bad") && detail.contains("line 6"),
        "{detail}"
    );
    let in_force: Value = admin.get_json(&app, "/api/v1/policy/rules").await;
    assert_eq!(in_force["version"], 1, "the refused rules changed nothing");
    assert_eq!(in_force["toml"], toml, "owners and admins read the TOML");

    // Members read what each rule is called and says, never the confidential terms.
    let for_member = member.get(&app, "/api/v1/policy/rules").await;
    assert_eq!(for_member.status(), StatusCode::OK);
    let for_member: Value = for_member.json().await.expect("JSON");
    assert_eq!(for_member["version"], 1);
    assert!(for_member.get("toml").is_none(), "{for_member}");
    let confidential = for_member["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|rule| rule["id"] == "term.confidential")
        .unwrap_or_else(|| panic!("the rule is listed: {for_member}"));
    assert!(
        confidential["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(confidential["action"].is_string());
    assert!(
        !for_member.to_string().contains("Falcon"),
        "a member never reads the confidential terms: {for_member}"
    );
}

#[tokio::test]
async fn members_are_asked_to_accept_each_new_policy_version_and_owners_see_who_did() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let member = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let none = member.get(&app, "/api/v1/policy").await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);

    let by_admin = admin
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "Be kind." })),
        )
        .await;
    assert_eq!(by_admin.status(), StatusCode::FORBIDDEN);
    let empty = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "  " })),
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for (version, text) in [
        (1, "Be kind."),
        (2, "Be kind. Never post customers' details."),
    ] {
        let published: Value = owner
            .send(
                &app,
                Method::PUT,
                "/api/v1/policy",
                Some(json!({ "markdown": text })),
            )
            .await
            .json()
            .await
            .expect("JSON");
        assert_eq!(published["version"], version);
    }

    let current: Value = member.get_json(&app, "/api/v1/policy").await;
    assert_eq!(current["version"], 2);
    assert!(current["acknowledged_at"].is_null());
    let told = crate::accounts::notifications(&app, &member).await;
    assert!(
        told[0]["subject"]
            .as_str()
            .expect("subject")
            .contains("version 2"),
        "{told:?}"
    );

    let stale = member
        .post(&app, "/api/v1/policy/acknowledge", json!({ "version": 1 }))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let accepted = member
        .post(&app, "/api/v1/policy/acknowledge", json!({ "version": 2 }))
        .await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);

    let list: Value = admin
        .get_json(&app, "/api/v1/policy/acknowledgements")
        .await;
    let by_email = |email: &str| {
        list.as_array()
            .expect("list")
            .iter()
            .find(|ack| ack["email"] == email)
            .cloned()
            .expect("listed")
    };
    assert!(!by_email("mia@sunny.example")["acknowledged_at"].is_null());
    assert!(by_email("admin@sunny.example")["acknowledged_at"].is_null());
    assert!(
        !by_email(&owner.email)["acknowledged_at"].is_null(),
        "the author has read it"
    );
    let by_member = member.get(&app, "/api/v1/policy/acknowledgements").await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);

    let audit: Value = owner.get_json(&app, "/api/v1/audit?action=policy.").await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["action"].as_str().expect("action"))
        .collect();
    assert!(
        actions.contains(&"policy.acknowledged") && actions.contains(&"policy.document_published"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_policy_may_be_100_000_characters_long_however_many_bytes_they_take() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let longest = "é".repeat(100_000);
    let published = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": longest })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let too_long = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": format!("{longest}é") })),
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// The owner sets the rules from a form: the company's contacts and lists one a line, and each
/// built-in rule's action from a list; the TOML file reads the same rules back, and a member's
/// draft is checked by them at once.
#[tokio::test]
async fn an_owner_sets_the_rules_from_a_form_and_the_scanner_and_the_toml_follow() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let page = owner.get(&app, "/policy").await.text().await.expect("html");
    assert!(
        page.contains("name=\"rule.pii.email\"")
            && page.contains("<strong>Personal email address</strong>"),
        "each rule by name, with its action to choose"
    );

    let saved = owner
        .form(
            &app,
            "/policy/rules/form",
            &[
                ("company_emails", "hello@sunnycafe.example\n"),
                ("confidential", "Project Falcon\n\n  Secret Menu  \n"),
                ("rule.pii.email", "block"),
                ("rule.link.shortened", "off"),
                ("rule.pii.phone", "require_approval"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let rules: Value = owner.get_json(&app, "/api/v1/policy/rules").await;
    let toml = rules["toml"].as_str().expect("toml");
    assert!(
        toml.contains("Project Falcon") && toml.contains("Secret Menu"),
        "{toml}"
    );
    assert!(toml.contains("hello@sunnycafe.example"), "{toml}");
    assert!(
        !toml.contains("pii.phone"),
        "a rule left at its default writes nothing: {toml}"
    );

    let scan: Value = member
        .post(
            &app,
            "/api/v1/scan",
            json!({ "text": "Project Falcon: mail jo@example.com or hello@sunnycafe.example, see bit.ly/x1" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let found: Vec<(String, String)> = scan["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                finding["rule"].as_str().unwrap_or_default().to_owned(),
                finding["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        found.contains(&("pii.email".to_owned(), "block".to_owned())),
        "{found:?}"
    );
    assert_eq!(
        found.iter().filter(|(rule, _)| rule == "pii.email").count(),
        1,
        "the company's own address is not flagged: {found:?}"
    );
    assert!(
        found.iter().any(|(rule, _)| rule == "term.confidential"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(rule, _)| rule == "link.shortened"),
        "turned off: {found:?}"
    );

    // A choice that is not an action is refused and changes nothing.
    let refused = owner
        .form(&app, "/policy/rules/form", &[("rule.pii.email", "shout")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let after: Value = owner.get_json(&app, "/api/v1/policy/rules").await;
    assert_eq!(after["toml"], rules["toml"], "the saved rules are kept");
    let by_member = member
        .form(&app, "/policy/rules/form", &[("rule.pii.email", "off")])
        .await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
}
