//! The members page: invitations waiting to be accepted (a new link, withdrawn), a member's
//! role changed in place, and deactivation only after a page that says what will happen.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::accounts::new_account;
use crate::people::{app, client, invite_and_join, set_up};
use crate::posts::grant;

/// The reference of the pending invitation to `email`, from the members page's forms.
fn reference_for(html: &str, email: &str) -> String {
    let row = html
        .find(&format!("<tr data-email=\"{email}\">"))
        .unwrap_or_else(|| panic!("{email} is listed as waiting: {html}"));
    let start = html[row..].find("/members/invitations/").expect("a form") + row;
    let rest = &html[start + "/members/invitations/".len()..];
    rest[..16].to_owned()
}

#[tokio::test]
async fn a_waiting_invitation_gets_a_new_link_or_is_withdrawn_and_its_old_link_stops_working() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let invited: Value = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "mia@sunny.example", "role": "member" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let first_link = invited["link"].as_str().expect("link").to_owned();
    let token = first_link.rsplit('/').next().expect("token").to_owned();

    let page = owner
        .get(&app, "/members")
        .await
        .text()
        .await
        .expect("html");
    assert!(page.contains("Waiting to join"), "{page}");
    assert!(!page.contains(&token), "the link is never shown again");
    let reference = reference_for(&page, "mia@sunny.example");

    // A new link: shown once, the old one no longer opens.
    let renewed = owner
        .form(
            &app,
            &format!("/members/invitations/{reference}/renew"),
            &[],
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let html = renewed.text().await.expect("html");
    assert!(
        html.contains("Invitation ready for mia@sunny.example"),
        "{html}"
    );
    assert!(
        html.contains(" (UTC)</time>"),
        "the expiry is a date and time in words, not a raw timestamp: {html}"
    );
    let old = client()
        .get(app.url(&format!("/api/v1/invitations/{token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(
        old.status(),
        StatusCode::GONE,
        "the old link stopped working"
    );

    // Withdrawn: gone from the list, recorded in the audit log.
    let page = owner
        .get(&app, "/members")
        .await
        .text()
        .await
        .expect("html");
    let reference = reference_for(&page, "mia@sunny.example");
    let withdrawn = owner
        .form(
            &app,
            &format!("/members/invitations/{reference}/withdraw"),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    let page = owner
        .get(&app, "/members")
        .await
        .text()
        .await
        .expect("html");
    assert!(!page.contains("Waiting to join"), "nothing waits any more");
    let audit = owner
        .get_json(&app, "/api/v1/audit?action=member.invitation")
        .await;
    assert!(
        audit.to_string().contains("member.invitation_withdrawn"),
        "{audit}"
    );

    // A reference that names nothing is a clear refusal, and changes nothing.
    let again = owner
        .form(
            &app,
            &format!("/members/invitations/{reference}/withdraw"),
            &[],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(
        again
            .text()
            .await
            .expect("html")
            .contains("no such invitation waiting")
    );
}

#[tokio::test]
async fn an_admin_changes_a_role_and_deactivation_first_says_what_will_happen() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let sam = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    new_account(&app, &owner, "@sunnycafe", sam.id).await;
    let bakery = new_account(&app, &owner, "@sunnybakery", owner.id).await;
    grant(&app, &owner, bakery, &sam, "contributor").await;

    let changed = owner
        .form(
            &app,
            &format!("/members/{}/role", sam.id),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let me: Value = sam.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["user"]["role"], "admin");
    // A member may not change roles.
    let mia = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let refused = mia
        .form(
            &app,
            &format!("/members/{}/role", sam.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let confirm = owner
        .get(&app, &format!("/members/{}/deactivate", sam.id))
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let html = confirm.text().await.expect("html");
    assert!(html.contains("signed out everywhere"), "{html}");
    assert!(
        html.contains("They are the gatekeeper of Sunny Café (X @sunnycafe)"),
        "the accounts Sam keeps are named: {html}"
    );
    assert!(
        html.contains("They lose access to Sunny Café (X @sunnybakery)"),
        "{html}"
    );
    let still: Value = sam.get_json(&app, "/api/v1/me").await;
    assert_eq!(
        still["user"]["email"], "sam@sunny.example",
        "showing the page changes nothing"
    );

    let done = owner
        .form(&app, &format!("/members/{}/deactivate", sam.id), &[])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        sam.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The audit log reads as sentences, with names for ids and the details folded away.
    let audit = owner.get(&app, "/audit?action=member.").await;
    assert_eq!(audit.status(), StatusCode::OK);
    let html = audit.text().await.expect("html");
    let owner_name = owner.get_json(&app, "/api/v1/me").await["user"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    for sentence in [
        format!("{owner_name} deactivated Person sam@sunny.example."),
        format!("{owner_name} changed the role of Person sam@sunny.example."),
        format!("{owner_name} invited sam@sunny.example."),
    ] {
        assert!(html.contains(&sentence), "{sentence} in {html}");
    }
    assert!(html.contains("<details><summary>Details</summary>"));
    assert!(!html.contains("signed in."), "filtered to members' entries");
}
