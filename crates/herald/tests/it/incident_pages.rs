//! The incident pages (issue 20) from forms alone: the account's "if this account is hacked"
//! page, a lockdown with a member's sessions ended, the incident page with every step, the
//! recovery ticked, the printable report; a viewer raises the alarm but sees no lockdown.

use reqwest::StatusCode;

use crate::people::invite_and_join;
use crate::posts::grant;
use crate::publishing::Scene;

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

#[tokio::test]
async fn the_gatekeeper_locks_down_from_the_account_page_and_follows_the_incident_to_its_report() {
    let scene = Scene::mastodon().await;
    let account_page = scene
        .keeper
        .get(&scene.app, &format!("/accounts/{}", scene.account))
        .await
        .text()
        .await
        .expect("html");
    assert!(account_page.contains(&format!("/accounts/{}/incident", scene.account)));
    let page = scene
        .keeper
        .get(&scene.app, &format!("/accounts/{}/incident", scene.account))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("html");
    assert!(page.contains("id=\"lock-down\"") && page.contains("name=\"end_sessions_of\""));

    let locked = scene
        .keeper
        .form(
            &scene.app,
            &format!("/accounts/{}/lockdown", scene.account),
            &[("end_sessions_of", &scene.owner.id.to_string())],
        )
        .await;
    assert_eq!(locked.status(), StatusCode::SEE_OTHER);
    let incident_path = location(&locked);
    assert!(incident_path.starts_with("/incidents/"), "{incident_path}");
    assert_eq!(
        scene.owner.get(&scene.app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "the owner named was signed out"
    );

    let shown = scene
        .keeper
        .get(&scene.app, &incident_path)
        .await
        .text()
        .await
        .expect("html");
    assert!(shown.contains("locked down"), "{shown}");
    assert!(
        shown.contains("pause queue")
            && shown.contains("not possible")
            && shown.contains("Authorized apps")
    );
    assert!(shown.contains("id=\"step-change_password\""));

    let ticked = scene
        .keeper
        .form(
            &scene.app,
            &format!("{incident_path}/steps/remove_sessions_apps"),
            &[],
        )
        .await;
    assert_eq!(ticked.status(), StatusCode::SEE_OTHER);
    let early = scene
        .keeper
        .form(
            &scene.app,
            &format!("{incident_path}/steps/change_password"),
            &[],
        )
        .await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    assert!(
        early
            .text()
            .await
            .expect("html")
            .contains("tore the new password in Herald"),
        "the page says why"
    );
    let noted = scene
        .keeper
        .form(
            &scene.app,
            &format!("{incident_path}/notes"),
            &[("text", "Called Mastodon's admins")],
        )
        .await;
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);

    let report = scene
        .keeper
        .get(&scene.app, &format!("{incident_path}/report"))
        .await;
    assert_eq!(report.status(), StatusCode::OK);
    let report = report.text().await.expect("html");
    assert!(
        report.contains("Done: Remove unknown sessions and connected apps"),
        "{report}"
    );
    assert!(report.contains("Not done: Change the password"));
    assert!(
        report.contains("Called Mastodon&#39;s admins")
            || report.contains("Called Mastodon's admins"),
        "{report}"
    );
    let listed = scene
        .keeper
        .get(&scene.app, "/incidents")
        .await
        .text()
        .await
        .expect("html");
    assert!(listed.contains(&incident_path));
}

#[tokio::test]
async fn a_viewer_raises_the_alarm_from_the_page_but_is_offered_no_lockdown() {
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
    let page = viewer
        .get(&scene.app, &format!("/accounts/{}/incident", scene.account))
        .await
        .text()
        .await
        .expect("html");
    assert!(!page.contains("id=\"lock-down\"") && page.contains("Raise the alarm"));
    let refused = viewer
        .form(
            &scene.app,
            &format!("/accounts/{}/lockdown", scene.account),
            &[],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let blank = viewer
        .form(
            &scene.app,
            &format!("/accounts/{}/report-hack", scene.account),
            &[("what", " ")],
        )
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let raised = viewer
        .form(
            &scene.app,
            &format!("/accounts/{}/report-hack", scene.account),
            &[("what", "Odd replies from us")],
        )
        .await;
    assert_eq!(raised.status(), StatusCode::SEE_OTHER);
    let shown = viewer
        .get(&scene.app, &location(&raised))
        .await
        .text()
        .await
        .expect("html");
    assert!(shown.contains("Odd replies from us") && !shown.contains("id=\"close-incident\""));
}
