//! Staff and their own networks through the API and the pages: members list their own
//! profiles (and nobody else's), a profile that looks like the company's account is flagged
//! to the owners, and a published post is shared through the network's own share page, each
//! click counted for the owners.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::new_account;
use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};
use crate::publishing::Scene;

async fn add_profile(
    app: &TestApp,
    person: &Person,
    network: &str,
    handle: &str,
    purpose: &str,
) -> reqwest::Response {
    person
        .post(
            app,
            "/api/v1/me/profiles",
            json!({ "network": network, "handle": handle, "purpose": purpose }),
        )
        .await
}

async fn profile_id(
    app: &TestApp,
    person: &Person,
    network: &str,
    handle: &str,
    purpose: &str,
) -> i64 {
    let added = add_profile(app, person, network, handle, purpose).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    added.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id")
}

#[tokio::test]
async fn members_list_their_own_profiles_and_only_owners_see_everyones() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    let omar = invite_and_join(&app, &clock, &owner, "omar@sunny.example", "member").await;

    let added = add_profile(&app, &jane, "linkedin", "jane-doe", "represents").await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.expect("JSON");
    assert_eq!(added["link"], "https://www.linkedin.com/in/jane-doe");
    assert_eq!(added["purpose"], "represents");
    assert_eq!(added["lookalike"], Value::Null);
    let id = added["id"].as_i64().expect("id");

    let again = add_profile(&app, &jane, "linkedin", "jane-doe", "personal").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let bad = add_profile(&app, &jane, "x", "not a handle!", "personal").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = bad.json().await.expect("JSON");
    assert_eq!(bad["field"], "handle");
    let bad = add_profile(&app, &jane, "x", "@jane", "everything").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unsafe_link = jane
        .post(
            &app,
            "/api/v1/me/profiles",
            json!({ "network": "x", "handle": "@jane", "purpose": "personal", "link": "javascript:alert(1)" }),
        )
        .await;
    assert_eq!(unsafe_link.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mine: Value = jane.get_json(&app, "/api/v1/me/profiles").await;
    assert_eq!(mine.as_array().expect("list").len(), 1);
    let theirs: Value = omar.get_json(&app, "/api/v1/me/profiles").await;
    assert_eq!(theirs, json!([]), "another member sees none of Jane's");
    let taken = omar
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/me/profiles/{id}"),
            None,
        )
        .await;
    assert_eq!(
        taken.status(),
        StatusCode::NOT_FOUND,
        "nobody removes another's profile"
    );

    for person in [&jane, &admin] {
        let everyone = person.get(&app, "/api/v1/staff/profiles").await;
        assert_eq!(everyone.status(), StatusCode::FORBIDDEN);
        let page = person.get(&app, "/staff/profiles").await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
    }
    let everyone: Value = owner.get_json(&app, "/api/v1/staff/profiles").await;
    let jane_row = everyone
        .as_array()
        .expect("list")
        .iter()
        .find(|member| member["user_id"] == jane.id.get())
        .expect("Jane listed");
    assert_eq!(jane_row["profiles"][0]["handle"], "jane-doe");

    let removed = jane
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/me/profiles/{id}"),
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let mine: Value = jane.get_json(&app, "/api/v1/me/profiles").await;
    assert_eq!(mine, json!([]));
}

#[tokio::test]
async fn a_profile_that_looks_like_the_company_account_is_flagged_to_the_owners() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    new_account(&app, &owner, "@sunnycafe", owner.id).await;

    let plain: Value = add_profile(&app, &jane, "x", "@jane_doe", "shares_news")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(plain["lookalike"], Value::Null, "{plain}");
    let lookalike = add_profile(&app, &jane, "x", "@sunnycafe_help", "personal").await;
    assert_eq!(lookalike.status(), StatusCode::CREATED);
    let lookalike: Value = lookalike.json().await.expect("JSON");
    let why = lookalike["lookalike"].as_str().expect("flagged");
    assert!(why.contains("@sunnycafe"), "{why}");

    let notes = crate::accounts::notifications(&app, &owner).await;
    let note = notes
        .iter()
        .find(|note| {
            note["subject"]
                .as_str()
                .is_some_and(|subject| subject.contains("looks like the company"))
        })
        .expect("the owner was told");
    assert!(
        note["body"]
            .as_str()
            .expect("body")
            .contains("@sunnycafe_help")
    );
    assert_eq!(note["link"], "/staff/profiles");
    let jane_notes = crate::accounts::notifications(&app, &jane).await;
    assert!(
        jane_notes.iter().all(|note| !note["subject"]
            .as_str()
            .unwrap_or("")
            .contains("looks like")),
        "only owners are told"
    );

    let page = owner.get(&app, "/staff/profiles").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page");
    assert!(html.contains("class=\"lookalike\""), "{html}");
    assert_eq!(html.matches("Looks like the company").count(), 1, "{html}");

    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=staff.profile_added")
        .await;
    assert_eq!(audit.as_array().map(Vec::len), Some(2), "{audit}");
    let flags: Vec<&Value> = audit
        .as_array()
        .expect("list")
        .iter()
        .map(|entry| &entry["details"]["lookalike"])
        .collect();
    assert!(
        flags.contains(&&json!(true)) && flags.contains(&&json!(false)),
        "{audit}"
    );
}

#[tokio::test]
async fn a_published_post_is_shared_through_the_network_share_page_and_counted() {
    let scene = Scene::mastodon().await;
    let (app, clock) = (&scene.app, &scene.clock);
    let id = scene
        .published_after("Pumpkin soup & bread is back!", 5)
        .await;
    let published: Value = scene.post(id).await;
    let url = published["remote_url"]
        .as_str()
        .expect("public link")
        .to_owned();
    let draft = crate::posts::draft_id(app, &scene.keeper, scene.account, "Not out yet").await;
    let member = invite_and_join(app, clock, &scene.owner, "jane@sunny.example", "member").await;

    let linkedin = profile_id(app, &member, "linkedin", "jane-doe", "represents").await;
    let personal = profile_id(app, &member, "x", "@jane_at_home", "personal").await;
    let mastodon = profile_id(
        app,
        &member,
        "mastodon",
        "@jane@hachyderm.io",
        "shares_news",
    )
    .await;

    let list: Value = member.get_json(app, "/api/v1/share").await;
    let item = &list[0];
    assert_eq!(item["post_id"], id, "{list}");
    assert_eq!(item["url"], url.as_str());
    let networks: Vec<&str> = item["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|link| link["network"].as_str().expect("network"))
        .collect();
    assert_eq!(
        networks,
        ["linkedin", "mastodon"],
        "a personal-only profile is not offered"
    );

    let shared = member.get(app, &format!("/share/{id}/{linkedin}")).await;
    assert_eq!(shared.status(), StatusCode::SEE_OTHER);
    let location = shared.headers()["location"].to_str().expect("location");
    let encoded = encode(&url);
    assert_eq!(
        location,
        format!("https://www.linkedin.com/sharing/share-offsite/?url={encoded}")
    );
    let toot: Value = member
        .post(app, &format!("/api/v1/share/{id}/{mastodon}"), json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        toot["intent_url"],
        format!(
            "https://hachyderm.io/share?text=Pumpkin%20soup%20%26%20bread%20is%20back%21%20{encoded}"
        )
    );

    let refused = member.get(app, &format!("/share/{id}/{personal}")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let not_out = member.get(app, &format!("/share/{draft}/{linkedin}")).await;
    assert_eq!(not_out.status(), StatusCode::NOT_FOUND);
    let not_yours = scene
        .keeper
        .get(app, &format!("/share/{id}/{linkedin}"))
        .await;
    assert_eq!(not_yours.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        member
            .get(
                app,
                &format!("/share/{id}/{linkedin}?to=https://evil.example/")
            )
            .await
            .headers()["location"],
        location,
        "nothing in the request chooses where it leads"
    );

    let counts = member.get(app, "/api/v1/share/counts").await;
    assert_eq!(counts.status(), StatusCode::FORBIDDEN);
    let counts: Value = scene.owner.get_json(app, "/api/v1/share/counts").await;
    let linkedin_count = counts
        .as_array()
        .expect("counts")
        .iter()
        .find(|count| count["network"] == "linkedin")
        .expect("LinkedIn counted");
    assert_eq!(linkedin_count["count"], 2, "{counts}");
    assert_eq!(linkedin_count["post_id"], id);
    let page = scene
        .owner
        .get(app, "/staff/profiles")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("class=\"share-count\">2<"), "{page}");
}

#[tokio::test]
async fn the_author_suggests_words_for_sharing_and_the_policy_checks_them() {
    let scene = Scene::mastodon().await;
    let app = &scene.app;
    let id = scene.published_after("Soup of the day: leek", 5).await;
    let member = invite_and_join(
        app,
        &scene.clock,
        &scene.owner,
        "jane@sunny.example",
        "member",
    )
    .await;
    let x = profile_id(app, &member, "x", "@jane_doe", "shares_news").await;

    let by_other = member
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/share/{id}/text"),
            Some(json!({ "text": "Try it!" })),
        )
        .await;
    assert_eq!(by_other.status(), StatusCode::FORBIDDEN, "only the author");
    let leaking = scene
        .keeper
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/share/{id}/text"),
            Some(json!({ "text": "Questions? Email ann.smith@gmail.com or card 4111 1111 1111 1111" })),
        )
        .await;
    assert_eq!(leaking.status(), StatusCode::CONFLICT);
    let leaking: Value = leaking.json().await.expect("JSON");
    assert!(
        leaking["detail"]
            .as_str()
            .expect("detail")
            .contains("the policy does not allow them"),
        "{leaking}"
    );
    let fine = scene
        .keeper
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/share/{id}/text"),
            Some(json!({ "text": "Our leek soup is back, come by!" })),
        )
        .await;
    assert_eq!(fine.status(), StatusCode::NO_CONTENT);

    let shared: Value = member
        .post(app, &format!("/api/v1/share/{id}/{x}"), json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    let intent = shared["intent_url"].as_str().expect("intent");
    assert!(
        intent.starts_with("https://x.com/intent/post?text=Our%20leek%20soup%20is%20back%2C%20come%20by%21&url=http"),
        "{intent}"
    );
}

/// Percent-encodes as RFC 3986 asks for a query value: only unreserved characters are kept
/// (written here again, apart from Herald's own, so the test does not check Herald by itself).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// The company practice `key` on the security review, as `person` sees it.
async fn security_practice(app: &TestApp, person: &Person, key: &str) -> Value {
    let review = person.get_json(app, "/api/v1/security").await;
    review["company"]["practices"]
        .as_array()
        .expect("practices")
        .iter()
        .find(|practice| practice["key"] == key)
        .unwrap_or_else(|| panic!("no practice {key} in {review}"))
        .clone()
}

#[tokio::test]
async fn the_policy_can_ask_for_everyones_profiles_and_owners_see_who_has_not_listed_theirs() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    let omar = invite_and_join(&app, &clock, &owner, "omar@sunny.example", "member").await;
    let before = security_practice(&app, &owner, "staff_profiles").await;
    assert_eq!(before["standing"], "attention");
    assert!(
        before["measured"]
            .as_str()
            .is_some_and(|m| m.contains("does not ask")),
        "{before}"
    );

    // The owner ticks the box when publishing the policy.
    let published = owner
        .form(
            &app,
            "/policy/document",
            &[
                ("markdown", "# Posting\n\nList your own profiles below."),
                ("asks_for_staff_profiles", "on"),
            ],
        )
        .await;
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    let document = jane.get_json(&app, "/api/v1/policy").await;
    assert_eq!(document["asks_for_staff_profiles"], true, "{document}");
    let policy_page = jane.get(&app, "/policy").await.text().await.expect("page");
    assert!(
        policy_page.contains("id=\"asks-for-profiles\""),
        "{policy_page}"
    );
    let asked = jane.get(&app, "/staff").await.text().await.expect("page");
    assert!(
        asked.contains("asks every member to list their own profiles")
            && asked.contains("I have no social media profiles of my own"),
        "{asked}"
    );
    let outstanding = security_practice(&app, &owner, "staff_profiles").await;
    assert_eq!(
        outstanding["measured"],
        "3 of 3 members have not listed their own profiles yet."
    );

    // Jane lists hers; Omar has none and says so from the page; the owner does nothing.
    assert_eq!(
        add_profile(&app, &jane, "linkedin", "jane-doe", "represents")
            .await
            .status(),
        StatusCode::CREATED
    );
    let said = omar.form(&app, "/staff/no-profiles", &[]).await;
    assert_eq!(said.status(), StatusCode::SEE_OTHER);
    let page = omar.get(&app, "/staff").await.text().await.expect("page");
    assert!(page.contains("id=\"said-none\""), "{page}");
    assert!(!page.contains("id=\"profiles-asked\""), "{page}");
    // Someone with a profile listed cannot say they have none.
    let contradicted = jane.post(&app, "/api/v1/me/no-profiles", json!({})).await;
    assert_eq!(contradicted.status(), StatusCode::CONFLICT);
    let problem: Value = contradicted.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("remove them first")),
        "{problem}"
    );

    let everyone: Vec<Value> = owner
        .get_json(&app, "/api/v1/staff/profiles")
        .await
        .as_array()
        .expect("members")
        .clone();
    let of = |name: &str| {
        everyone
            .iter()
            .find(|member| member["name"].as_str().is_some_and(|n| n.contains(name)))
            .unwrap_or_else(|| panic!("no {name} in {everyone:?}"))
            .clone()
    };
    assert_eq!(of("jane")["outstanding"], false);
    assert_eq!(of("omar")["outstanding"], false);
    assert!(of("omar")["said_none_at"].is_string());
    assert_eq!(of("Olive")["outstanding"], true);
    let list = owner
        .get(&app, "/staff/profiles")
        .await
        .text()
        .await
        .expect("page");
    assert!(
        list.contains("Not listed yet") && list.contains("Has no profiles of their own"),
        "{list}"
    );
    let now = security_practice(&app, &owner, "staff_profiles").await;
    assert_eq!(
        now["measured"],
        "1 of 3 members have not listed their own profiles yet."
    );

    // Omar makes a profile after all: listing it takes back "I have none".
    assert_eq!(
        add_profile(&app, &omar, "bluesky", "omar.bsky.social", "personal")
            .await
            .status(),
        StatusCode::CREATED
    );
    let everyone = owner.get_json(&app, "/api/v1/staff/profiles").await;
    let omar_now = everyone
        .as_array()
        .expect("members")
        .iter()
        .find(|member| member["name"].as_str().is_some_and(|n| n.contains("omar")))
        .expect("omar")
        .clone();
    assert!(omar_now["said_none_at"].is_null(), "{omar_now}");
    assert_eq!(omar_now["profiles"].as_array().map(Vec::len), Some(1));
}
