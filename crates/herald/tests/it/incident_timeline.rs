//! Finding incidents and reading them (issue 20): "Incidents" in the main menu of everyone
//! who may see them, "I think this account is hacked" on the account's page, and an
//! incident's timeline that shows, in words and by time among its own steps, the audit
//! entries about its account from its opening to its closing — and no others.

use herald::domain::audit::{Actor, NewAuditEntry};
use herald::domain::ids::AccountId;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{contract_test, owner_and_account};
use crate::people::invite_and_join;
use crate::posts::grant;
use crate::publishing::{Scene, scheduled_in_store};

/// Locks the scene's account down as a drill, through the API; the incident.
pub(crate) async fn drill(scene: &Scene) -> Value {
    let response = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/accounts/{}/lockdown", scene.account),
            json!({ "drill": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

async fn store_credential(scene: &Scene, field: &str, value: &str) {
    let stored = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/credentials/{field}", scene.account),
            Some(json!({ "value": value })),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::OK);
}

fn audit_lines(incident: &Value) -> Vec<(usize, String, String)> {
    incident["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .enumerate()
        .filter(|(_, event)| event["kind"] == "audit")
        .map(|(at, event)| {
            (
                at,
                event["step"].as_str().expect("the audit action").to_owned(),
                event["text"].as_str().expect("text").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn incidents_are_in_the_main_menu_and_the_account_page_offers_i_think_this_account_is_hacked()
{
    let scene = Scene::mastodon().await;
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "vi@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    for person in [&scene.owner, &scene.keeper, &viewer] {
        let home = person
            .get(&scene.app, "/")
            .await
            .text()
            .await
            .expect("home");
        assert!(
            home.contains("<a href=\"/incidents\">Incidents</a>"),
            "{home}"
        );
    }
    let account = viewer
        .get(&scene.app, &format!("/accounts/{}", scene.account))
        .await
        .text()
        .await
        .expect("account page");
    assert!(
        account.contains(&format!(
            "href=\"/accounts/{}/incident#report-hack\" id=\"report-hack-link\">I think this account is hacked</a>",
            scene.account
        )),
        "{account}"
    );
    // The link's target has the form it names.
    let target = viewer
        .get(&scene.app, &format!("/accounts/{}/incident", scene.account))
        .await
        .text()
        .await
        .expect("page");
    assert!(target.contains("id=\"report-hack\""), "{target}");
    // The incidents list is the menu's current section.
    let listed = viewer
        .get(&scene.app, "/incidents")
        .await
        .text()
        .await
        .expect("incidents");
    assert!(
        listed.contains("<a href=\"/incidents\" aria-current=\"page\">Incidents</a>"),
        "{listed}"
    );
}

#[tokio::test]
async fn the_timeline_shows_the_accounts_audit_entries_while_it_is_open_in_words_and_by_time() {
    let scene = Scene::mastodon().await;
    scene.clock.advance(SignedDuration::from_mins(1));
    let incident = drill(&scene).await;
    let id = incident["id"].as_i64().expect("id");
    scene.clock.advance(SignedDuration::from_mins(1));
    store_credential(&scene, "notes", "Recovery e-mail is ops@sunny.example").await;
    // Another account's entries are not this incident's.
    let other = scene
        .owner
        .post(
            &scene.app,
            "/api/v1/accounts",
            json!({ "network": "mastodon", "handle": "@moon@127.0.0.1", "display_name": "Moon Bakery",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": scene.keeper.id }),
        )
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);

    let shown = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/incidents/{id}"))
        .await;
    let lines = audit_lines(&shown);
    let stored = lines
        .iter()
        .find(|(_, action, _)| action == "account.credential_stored")
        .unwrap_or_else(|| panic!("no credential line in {lines:?}"));
    assert!(
        stored
            .2
            .ends_with("stored a credential of Sunny Café (Mastodon)."),
        "{stored:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(_, action, text)| action == "account.locked_down"
                && text.contains("locked down Sunny Café")),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|(_, action, _)| action == "account.connected"),
        "the connection was made before the incident opened: {lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|(_, _, text)| text.contains("Moon Bakery")),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|(_, action, _)| action.starts_with("incident.")),
        "the incident's own entries are its steps already: {lines:?}"
    );
    // By time: the credential came a minute after every lockdown step.
    let timeline = shown["timeline"].as_array().expect("timeline");
    let last_lockdown = timeline
        .iter()
        .rposition(|event| event["kind"] == "lockdown")
        .expect("lockdown steps");
    assert!(stored.0 > last_lockdown, "{timeline:?}");
    let times: Vec<Timestamp> = timeline
        .iter()
        .map(|event| event["at"].as_str().expect("at").parse().expect("time"))
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");

    // The page shows it too.
    let page = scene
        .keeper
        .get(&scene.app, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("stored a credential of Sunny Café (Mastodon)."),
        "{page}"
    );

    // After closing, new entries about the account are not the incident's.
    let closed = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/incidents/{id}/close"),
            json!({ "lessons": "Practised." }),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(1));
    store_credential(&scene, "login_username", "sunny-cafe").await;
    let after = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/incidents/{id}"))
        .await;
    let stored_lines = audit_lines(&after)
        .into_iter()
        .filter(|(_, action, _)| action == "account.credential_stored")
        .count();
    assert_eq!(stored_lines, 1, "{after}");
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

fn entry(target: Option<String>, details: Value) -> NewAuditEntry {
    NewAuditEntry {
        actor: Actor::System,
        action: "test.entry".to_owned(),
        target,
        ip: None,
        details,
    }
}

contract_test!(
    the_audit_entries_about_an_account_are_those_naming_it_or_its_posts_in_the_time_asked,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let other = store
            .create_account(
                &herald::store::NewAccount {
                    network: herald::domain::accounts::Network::X,
                    handle: "@other",
                    display_name: "Other",
                    avatar_colour: "#123456",
                    gatekeeper_id: owner,
                    confirm_before_publish: false,
                },
                at(0),
            )
            .await
            .expect("account");
        let post = scheduled_in_store(&store, account, owner, "Ours", at(100), 3, at(0)).await;
        let similar = AccountId::new(account.get() * 10 + 1);
        let appended = [
            (at(1), entry(Some(format!("account:{account}")), json!({}))),
            (at(2), entry(Some(format!("account:{other}")), json!({}))),
            (at(3), entry(Some(format!("post:{post}")), json!({}))),
            (
                at(4),
                entry(Some("incident:1".to_owned()), json!({ "account": account })),
            ),
            (at(5), entry(None, json!({ "account": similar, "x": 1 }))),
            (
                at(6),
                entry(None, json!({ "account": account, "step": "notify" })),
            ),
            (at(9), entry(Some(format!("account:{account}")), json!({}))),
        ];
        for (when, appended) in &appended {
            store.append_audit(appended, *when).await.expect("append");
        }
        let found = store
            .audit_entries_about(account, at(1), at(8), 100)
            .await
            .expect("read");
        let times: Vec<Timestamp> = found.iter().map(|entry| entry.at).collect();
        assert_eq!(times, [at(1), at(3), at(4), at(6)]);
        let limited = store
            .audit_entries_about(account, at(0), at(10), 2)
            .await
            .expect("read");
        assert_eq!(limited.len(), 2);
        assert!(
            store
                .audit_entries_about(other, at(3), at(10), 100)
                .await
                .expect("read")
                .is_empty()
        );
    }
);
