//! Connecting an account from the browser by OAuth, against the fakes: X and Mastodon (with
//! PKCE), and LinkedIn, Facebook, Instagram and Threads (whose codes are bound to Herald's app
//! secret instead). The whole round trip as a browser makes it, the publisher posting with the
//! token it got (and refreshing X's two-hour token before it expires), and every way the
//! callback must refuse — someone who is not the gatekeeper, a replayed, tampered, expired or
//! someone else's state, and a gatekeeper who declines at the network.

use herald::domain::ids::AccountId;
use std::path::PathBuf;
use std::sync::Arc;

use herald::clock::ManualClock;
use herald::config::{Config, NetworksConfig};
use jiff::{SignedDuration, Timestamp};
use networks::fake::FakeState;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::spawn_app_with_clock;
use crate::media::{jpeg, upload};
use crate::people::{Person, code, invite_and_join, set_up};
use crate::posts::{draft_id, grant};
use crate::publishing::Scene;

const TOKEN: &str = "fake-oauth-token-9d41c0";

/// Herald's public address in the scenes whose networks fetch images from it. Nothing
/// answers there: the test takes the network's redirect back to it to the test server, as
/// DNS would send a browser.
pub(crate) const PUBLIC: &str = "http://herald.example";

/// A Herald pointed at the fake `network`, with Herald's app there, and an account on it
/// whose gatekeeper is `keeper`, not yet connected.
pub(crate) async fn scene(network: &str) -> Scene {
    scene_at(network, None).await
}

/// [`scene`], with Herald at `public_url` when it is given.
pub(crate) async fn scene_at(network: &str, public_url: Option<&str>) -> Scene {
    scene_in(network, public_url, None).await
}

/// [`scene_at`], with Herald's data in `data_dir` when it is given (to start it again there).
pub(crate) async fn scene_in(
    network: &str,
    public_url: Option<&str>,
    data_dir: Option<PathBuf>,
) -> Scene {
    let state = FakeState::new(TOKEN, 3);
    let fake = match network {
        "x" => networks::fake::x::start(state).await,
        "linkedin" => networks::fake::linkedin::start(state).await,
        "facebook" => networks::fake::facebook::start(state).await,
        "instagram" => networks::fake::instagram::start(state).await,
        "threads" => networks::fake::threads::start(state).await,
        "bluesky" => networks::fake::bluesky::start(state).await,
        _ => networks::fake::mastodon::start(state).await,
    }
    .expect("fake network starts");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let url = fake.url();
    let app = spawn_app_with_clock(
        |config| {
            configure(config, network, &url, public_url);
            // These scenes move the clock on by hours to reach token expiry; the members'
            // sessions must outlast that.
            config.sessions.idle_minutes = 240;
            if let Some(data_dir) = data_dir {
                config.data_dir = data_dir;
            }
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let handle = match network {
        // The handles the fakes answer with: tokens for another account are refused.
        "x" => "@herald_test",
        "mastodon" => "@herald@127.0.0.1",
        "bluesky" => networks::fake::bluesky::HANDLE,
        "linkedin" => "herald-bakery",
        "facebook" => networks::fake::facebook::PAGE_USERNAME,
        _ => networks::fake::instagram::USERNAME,
    };
    let created: Value = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": network, "handle": handle,
                    "display_name": "Sunny Café", "avatar_colour": "#1f5f5b",
                    "gatekeeper_id": keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = AccountId::new(created["id"].as_i64().expect("account id"));
    Scene {
        app,
        clock,
        fake,
        owner,
        keeper,
        account,
    }
}

/// A scene's Herald: pointed at the fake `network` at `url`, at `public_url` when given.
pub(crate) fn configure(config: &mut Config, network: &str, url: &str, public_url: Option<&str>) {
    config.public_url = public_url.map(str::to_owned);
    point_at(&mut config.networks, network, url);
    // Accounts name their own instance; the default one is nowhere.
    config.networks.mastodon_instance_url = "http://127.0.0.1:9".to_owned();
    config.networks.request_timeout_seconds = 2;
    config.jobs.lease_seconds = 10;
}

/// Points Herald at the fake at `url` for every network (only `network` has an account), with
/// the fake's app as Herald's app at `network` only. Mastodon accounts name their own
/// instance, which registers Herald itself.
fn point_at(config: &mut NetworksConfig, network: &str, url: &str) {
    use networks::fake::{facebook, instagram, linkedin, threads, x};
    for api in [
        &mut config.x_api_url,
        &mut config.linkedin_api_url,
        &mut config.graph_api_url,
        &mut config.instagram_api_url,
        &mut config.threads_api_url,
        &mut config.bluesky_service_url,
    ] {
        url.clone_into(api);
    }
    // The fake PDS is also its accounts' PLC directory (for Bluesky's OAuth).
    config.bluesky_plc_url = format!("{url}/plc");
    let app = |(id, secret): (&str, &str)| (Some(id.to_owned()), Some(secret.to_owned().into()));
    match network {
        "x" => (config.x_client_id, config.x_client_secret) = app((x::CLIENT_ID, x::CLIENT_SECRET)),
        "linkedin" => {
            (config.linkedin_client_id, config.linkedin_client_secret) =
                app((linkedin::CLIENT_ID, linkedin::CLIENT_SECRET));
        }
        "facebook" => {
            (config.meta_app_id, config.meta_app_secret) =
                app((facebook::APP_ID, facebook::APP_SECRET))
        }
        "instagram" => {
            (config.instagram_app_id, config.instagram_app_secret) =
                app((instagram::APP_ID, instagram::APP_SECRET))
        }
        "threads" => {
            (config.threads_app_id, config.threads_app_secret) =
                app((threads::APP_ID, threads::APP_SECRET))
        }
        _ => {}
    }
}

/// A browser whose cookies the test holds, so it can keep a cookie the server cleared (a
/// replay) or change one (tampering).
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    /// The session cookie as the browser sends it back, `name=value` (behind an https
    /// `public_url` its name has the `__Host-` prefix).
    pub(crate) session: String,
}

impl Browser {
    /// Signs `person` in again (the next TOTP step) in a browser of the test's own.
    pub(crate) async fn of(scene: &Scene, person: &Person) -> (Browser, String) {
        scene.clock.advance(SignedDuration::from_secs(30));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let response = http
            .post(scene.app.url("/api/v1/auth/login"))
            .json(&json!({ "email": person.email, "password": person.password,
                           "code": code(&person.secret, &scene.clock) }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let session = ["herald_session", "__Host-herald_session"]
            .into_iter()
            .find_map(|name| cookie(&response, name).map(|value| format!("{name}={value}")))
            .expect("session cookie");
        let body: Value = response.json().await.expect("JSON");
        let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
        (Browser { http, session }, csrf)
    }

    /// Presses "Connect with …": the page that moves on to the network, and the sealed
    /// ceremony cookie it sets.
    pub(crate) async fn start(
        &self,
        scene: &Scene,
        csrf: &str,
        instance: &str,
    ) -> (reqwest::Response, String) {
        let response = self
            .http
            .post(scene.app.url(&format!("/accounts/{}/oauth", scene.account)))
            .header(COOKIE, self.session.clone())
            .form(&[("csrf", csrf), ("instance", instance)])
            .send()
            .await
            .expect("request");
        let ceremony = cookie(&response, "herald_oauth").unwrap_or_default();
        (response, ceremony)
    }

    /// Arrives at the callback with the session and `ceremony` cookies.
    pub(crate) async fn callback(&self, url: &str, ceremony: &str) -> reqwest::Response {
        self.http
            .get(url)
            .header(COOKIE, format!("{}; herald_oauth={ceremony}", self.session))
            .send()
            .await
            .expect("request")
    }
}

/// The value a response's `Set-Cookie` gives `name`, if it sets one.
pub(crate) fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (pair, _) = value.split_once(';').unwrap_or((value, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

/// Where a page's `Refresh` header sends the browser on to.
pub(crate) fn refresh_target(response: &reqwest::Response) -> String {
    let refresh = response
        .headers()
        .get("refresh")
        .and_then(|value| value.to_str().ok())
        .expect("a Refresh header");
    refresh
        .strip_prefix("0;url=")
        .expect("refresh at once")
        .to_owned()
}

/// The network's consent page, which the fakes approve at once: the callback URL it sends
/// the browser back to.
pub(crate) async fn consent(authorize_url: &str) -> String {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(authorize_url)
        .send()
        .await
        .expect("the fake's authorize page answers");
    assert_eq!(response.status(), StatusCode::FOUND, "{authorize_url}");
    response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .expect("redirect back")
        .to_owned()
}

/// `url` with its query parameter `name` set to `value`.
pub(crate) fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    url.to_string()
}

pub(crate) fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// The gatekeeper connects the account through the whole round trip; the callback's answer.
pub(crate) async fn connect(scene: &Scene, instance: &str) -> reqwest::Response {
    let (browser, ceremony, back) = sent_back(scene, instance).await;
    browser.callback(&back, &ceremony).await
}

/// The gatekeeper presses "Connect with …" and the network's consent page sends them back:
/// their browser, the sealed ceremony cookie, and the callback URL (not yet visited).
pub(crate) async fn sent_back(scene: &Scene, instance: &str) -> (Browser, String, String) {
    let (browser, csrf) = Browser::of(scene, &scene.keeper).await;
    let (started, ceremony) = browser.start(scene, &csrf, instance).await;
    assert_eq!(started.status(), StatusCode::OK);
    let back = consent(&refresh_target(&started)).await;
    (browser, ceremony, back)
}

/// The account's connection state as stored: `not_connected`, `connected`, ….
pub(crate) async fn connection(scene: &Scene) -> String {
    scene
        .app
        .store
        .account(scene.account)
        .await
        .expect("store answers")
        .expect("account")
        .connection
}

pub(crate) async fn account_page(scene: &Scene) -> String {
    scene
        .keeper
        .get(&scene.app, &format!("/accounts/{}", scene.account))
        .await
        .text()
        .await
        .expect("page")
}

#[tokio::test]
async fn a_gatekeeper_connects_x_from_the_browser_and_a_scheduled_post_goes_out_with_the_exchanged_token()
 {
    let scene = scene("x").await;
    let page = account_page(&scene).await;
    assert!(
        page.contains(&format!("action=\"/accounts/{}/oauth\"", scene.account))
            && page.contains("Connect with X"),
        "the gatekeeper sees the button: {page}"
    );
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let (started, ceremony) = browser.start(&scene, &csrf, "").await;
    assert_eq!(started.status(), StatusCode::OK);
    let set_cookie: Vec<String> = started
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        set_cookie
            .iter()
            .any(|value| value.starts_with("herald_oauth=")
                && value.contains("HttpOnly")
                && value.contains("SameSite=Strict")
                && value.contains("Max-Age=600")),
        "{set_cookie:?}"
    );
    let authorize = refresh_target(&started);
    let page = started.text().await.expect("page");
    assert!(page.contains("Continue to X"), "{page}");
    assert!(authorize.starts_with(&format!("{}/i/oauth2/authorize?", scene.fake.url())));
    assert_eq!(param(&authorize, "code_challenge_method"), "S256");
    assert_eq!(param(&authorize, "client_id"), networks::fake::x::CLIENT_ID);
    assert_eq!(
        param(&authorize, "redirect_uri"),
        scene.app.url("/oauth/callback")
    );
    assert!(param(&authorize, "state").len() >= 43, "{authorize}");
    assert_eq!(
        param(&authorize, "code_challenge").len(),
        43,
        "SHA-256, base64url"
    );

    let back = consent(&authorize).await;
    let finished = browser.callback(&back, &ceremony).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        finished.headers().get(LOCATION).expect("location"),
        &format!("/accounts/{}#connection", scene.account)
    );
    assert_eq!(
        cookie(&finished, "herald_oauth").as_deref(),
        Some(""),
        "the ceremony cookie is cleared"
    );
    assert_eq!(scene.fake.state.grants(), ["authorization_code"]);
    assert_eq!(connection(&scene).await, "connected");
    let page = account_page(&scene).await;
    assert!(page.contains("Connected"), "{page}");
    assert!(page.contains(networks::fake::x::USERNAME), "{page}");
    assert!(!page.contains(TOKEN) && !page.contains(&param(&back, "code")));

    let id = scene.approved("Cinnamon buns, fresh at eight.").await;
    let posts = published_in_half_an_hour(&scene, id).await;
    assert_eq!(posts[0].text, "Cinnamon buns, fresh at eight.");
}

/// Schedules the approved post `id` half an hour ahead and moves the clock past it: the one
/// post the fake holds once the publisher has been.
async fn published_in_half_an_hour(scene: &Scene, id: i64) -> Vec<networks::fake::FakePost> {
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(30) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(31));
    scene.wait_for(id, "published").await;
    let posts = scene.fake.state.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    posts
}

#[tokio::test]
async fn a_gatekeeper_connects_a_mastodon_account_on_the_instance_they_name_which_registers_herald_once()
 {
    let scene = scene("mastodon").await;
    let page = account_page(&scene).await;
    assert!(page.contains("name=\"instance\""), "{page}");
    let instance = scene.fake.url();
    let finished = connect(&scene, &instance).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(scene.fake.state.grants(), ["authorization_code"]);
    assert_eq!(connection(&scene).await, "connected");

    // Connecting again reuses Herald's application at the instance.
    let again = connect(&scene, &format!("{instance}/")).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let audit = scene.audit().await;
    assert_eq!(
        audit.matches("network.app_registered").count(),
        1,
        "{audit}"
    );
    assert!(!audit.contains(networks::fake::mastodon::CLIENT_SECRET));

    let id = scene.approved("Soup of the day: leek and potato.").await;
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(10) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(11));
    scene.wait_for(id, "published").await;
    assert_eq!(scene.fake.state.post_count(), 1);
}

/// The round trip for a network without PKCE, from the gatekeeper's account page: the
/// button there, the fake's page at `page` on the fake's server (named `label` by Herald),
/// back to the callback, the account connected; then a post with an image goes out with the
/// token.
async fn connects_without_pkce_and_publishes_with_the_token(
    network: &str,
    label: &str,
    page: &str,
) {
    let scene = scene_at(network, Some(PUBLIC)).await;
    let account = account_page(&scene).await;
    assert!(
        account.contains(&format!("action=\"/accounts/{}/oauth\"", scene.account))
            && account.contains(&format!("Connect with {label}")),
        "the gatekeeper sees the button: {account}"
    );
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let (started, ceremony) = browser.start(&scene, &csrf, "").await;
    assert_eq!(started.status(), StatusCode::OK);
    let authorize = refresh_target(&started);
    assert!(
        authorize.starts_with(&format!("{}{page}?", scene.fake.url())),
        "{authorize}"
    );
    assert_eq!(
        param(&authorize, "redirect_uri"),
        format!("{PUBLIC}/oauth/callback")
    );
    assert_eq!(
        param(&authorize, "code_challenge"),
        "",
        "{label} takes none"
    );
    let back = consent(&authorize).await;
    let at_herald = back.replacen(PUBLIC, &scene.app.url(""), 1);
    let finished = browser.callback(&at_herald, &ceremony).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(connection(&scene).await, "connected");
    assert_eq!(
        scene.fake.state.grants().first().map(String::as_str),
        Some("authorization_code")
    );

    let text = "Rye loaves, warm from the oven.";
    let id = draft_id(&scene.app, &scene.keeper, scene.account, text).await;
    let attached = upload(
        &scene.app,
        &scene.keeper,
        id,
        jpeg(),
        ("rye.jpg", "image/jpeg"),
        Some("Two rye loaves"),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let submitted = crate::posts::act(&scene.app, &scene.keeper, id, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    let posts = published_in_half_an_hour(&scene, id).await;
    assert_eq!(posts[0].text, text);
    assert_eq!(
        posts[0].media,
        [("Two rye loaves".to_owned(), "image/jpeg".to_owned())]
    );
}

#[tokio::test]
async fn a_gatekeeper_connects_linkedin_from_the_browser_and_a_post_goes_out_with_the_token() {
    connects_without_pkce_and_publishes_with_the_token(
        "linkedin",
        "LinkedIn",
        "/oauth/v2/authorization",
    )
    .await;
}

#[tokio::test]
async fn a_gatekeeper_connects_a_facebook_page_from_the_browser_and_a_post_goes_out_with_the_token()
{
    let dialog = format!("/{}/dialog/oauth", networks::facebook::GRAPH_VERSION);
    connects_without_pkce_and_publishes_with_the_token("facebook", "Facebook Page", &dialog).await;
}

#[tokio::test]
async fn a_gatekeeper_connects_instagram_from_the_browser_and_a_post_goes_out_with_the_token() {
    connects_without_pkce_and_publishes_with_the_token(
        "instagram",
        "Instagram",
        "/oauth/authorize",
    )
    .await;
}

#[tokio::test]
async fn a_gatekeeper_connects_threads_from_the_browser_and_a_post_goes_out_with_the_token() {
    connects_without_pkce_and_publishes_with_the_token("threads", "Threads", "/oauth/authorize")
        .await;
}

#[tokio::test]
async fn a_callback_that_arrives_without_the_session_cookie_reloads_itself_from_herald_then_finishes()
 {
    let scene = scene("x").await;
    let (browser, ceremony, back) = sent_back(&scene, "").await;
    // A browser leaves SameSite=Strict cookies off a redirect from another site.
    let first = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&back)
        .send()
        .await
        .expect("request");
    assert_eq!(first.status(), StatusCode::OK);
    let again = refresh_target(&first);
    assert!(again.starts_with("/oauth/callback?") && again.ends_with("&resumed=1"));
    assert!(
        scene.fake.state.grants().is_empty(),
        "nothing exchanged yet"
    );
    let finished = browser.callback(&scene.app.url(&again), &ceremony).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(connection(&scene).await, "connected");

    // Signed out for real, the reload asks to sign in and connects nothing.
    let signed_out = reqwest::get(scene.app.url(&again)).await.expect("request");
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    assert!(
        signed_out
            .text()
            .await
            .expect("page")
            .contains("Sign in to finish connecting")
    );
}

#[tokio::test]
async fn only_the_gatekeeper_may_start_connecting_an_account() {
    let scene = scene("x").await;
    let publisher = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "pub@sunny.example",
        "member",
    )
    .await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &publisher,
        "publisher",
    )
    .await;
    let stranger = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "stranger@sunny.example",
        "member",
    )
    .await;
    let publisher_page = publisher
        .get(&scene.app, &format!("/accounts/{}", scene.account))
        .await
        .text()
        .await
        .expect("page");
    assert!(publisher_page.contains("Sunny Café"), "{publisher_page}");
    assert!(
        !publisher_page.contains("oauth-form"),
        "no button for a publisher"
    );
    for (who, person, status) in [
        ("a publisher", &publisher, StatusCode::FORBIDDEN),
        (
            "an owner who is not the gatekeeper",
            &scene.owner,
            StatusCode::FORBIDDEN,
        ),
        ("a member without access", &stranger, StatusCode::NOT_FOUND),
    ] {
        let (browser, csrf) = Browser::of(&scene, person).await;
        let (response, ceremony) = browser.start(&scene, &csrf, "").await;
        assert_eq!(response.status(), status, "{who}");
        assert!(ceremony.is_empty(), "{who} got no ceremony");
        assert!(response.headers().get("refresh").is_none(), "{who}");
    }
    let signed_out = reqwest::Client::new()
        .post(scene.app.url(&format!("/accounts/{}/oauth", scene.account)))
        .form(&[("csrf", "x")])
        .send()
        .await
        .expect("request");
    assert!(
        signed_out.status().is_redirection() || signed_out.status() == StatusCode::UNAUTHORIZED
    );
    let (browser, _) = Browser::of(&scene, &scene.keeper).await;
    let (without_csrf, _) = browser.start(&scene, "wrong", "").await;
    assert_eq!(without_csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(connection(&scene).await, "not_connected");
}

#[tokio::test]
async fn a_replayed_state_is_refused_and_nothing_is_exchanged_again() {
    let scene = scene("x").await;
    let (browser, ceremony, back) = sent_back(&scene, "").await;
    let first = browser.callback(&back, &ceremony).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = browser.callback(&back, &ceremony).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let page = replay.text().await.expect("page");
    assert!(page.contains("already used"), "{page}");
    assert_eq!(
        scene.fake.state.grants(),
        ["authorization_code"],
        "one exchange only"
    );
}

#[tokio::test]
async fn a_tampered_state_or_ceremony_is_refused_and_stores_nothing() {
    let scene = scene("x").await;
    let (browser, ceremony, back) = sent_back(&scene, "").await;
    let state = param(&back, "state");
    let mut other = state.clone().into_bytes();
    other[0] = if other[0] == b'A' { b'B' } else { b'A' };
    let other = String::from_utf8(other).expect("text");
    let mut forged = ceremony.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("text");
    for (what, url, cookie) in [
        (
            "another state",
            with_param(&back, "state", &other),
            ceremony.as_str(),
        ),
        (
            "no state",
            with_param(&back, "state", ""),
            ceremony.as_str(),
        ),
        ("a changed ceremony cookie", back.clone(), forged.as_str()),
        ("no ceremony cookie", back.clone(), ""),
    ] {
        let refused = browser.callback(&url, cookie).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{what}");
        assert!(
            scene.fake.state.grants().is_empty(),
            "{what}: nothing exchanged"
        );
        assert_eq!(connection(&scene).await, "not_connected", "{what}");
    }
    // The genuine pair was never spent by those attempts.
    let genuine = browser.callback(&back, &ceremony).await;
    assert_eq!(genuine.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_state_older_than_ten_minutes_is_refused() {
    let scene = scene("x").await;
    let (browser, ceremony, back) = sent_back(&scene, "").await;
    scene.clock.advance(SignedDuration::from_mins(11));
    let late = browser.callback(&back, &ceremony).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(scene.fake.state.grants().is_empty());
    assert_eq!(connection(&scene).await, "not_connected");
}

#[tokio::test]
async fn a_state_started_by_another_member_is_refused_for_whoever_else_brings_it_back() {
    let scene = scene("x").await;
    let (_, ceremony, back) = sent_back(&scene, "").await;
    let (owner, _) = Browser::of(&scene, &scene.owner).await;
    let stolen = owner.callback(&back, &ceremony).await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert!(scene.fake.state.grants().is_empty());
    assert_eq!(connection(&scene).await, "not_connected");
}

#[tokio::test]
async fn declining_at_the_network_shows_a_calm_message_and_stores_nothing() {
    let scene = scene("x").await;
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let (started, ceremony) = browser.start(&scene, &csrf, "").await;
    let state = param(&refresh_target(&started), "state");
    let declined = browser
        .callback(
            &scene.app.url(&format!(
                "/oauth/callback?error=access_denied&error_description=%3Cb%3Eevil%3C%2Fb%3E&state={state}"
            )),
            &ceremony,
        )
        .await;
    assert_eq!(declined.status(), StatusCode::OK);
    let page = declined.text().await.expect("page");
    assert!(page.contains("Not connected"), "{page}");
    assert!(
        page.contains("Herald was not allowed to post for the account"),
        "{page}"
    );
    assert!(
        !page.contains("evil"),
        "the network's free text is not repeated"
    );
    assert!(page.contains(&format!("/accounts/{}#connection", scene.account)));
    assert!(scene.fake.state.grants().is_empty());
    assert_eq!(connection(&scene).await, "not_connected");
}

#[tokio::test]
async fn a_network_without_a_configured_app_says_how_to_connect_instead() {
    let scene = scene("x").await;
    let linkedin: Value = scene
        .owner
        .post(
            &scene.app,
            "/api/v1/accounts",
            json!({ "network": "linkedin", "handle": "sunny-cafe", "display_name": "Sunny on LinkedIn",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": scene.keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let id = linkedin["id"].as_i64().expect("id");
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let response = browser
        .http
        .post(scene.app.url(&format!("/accounts/{id}/oauth")))
        .header(COOKIE, browser.session.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cookie(&response, "herald_oauth").is_none());
    let page = response.text().await.expect("page");
    assert!(page.contains("networks.linkedin_client_id"), "{page}");
}

#[tokio::test]
async fn an_expiring_x_token_is_refreshed_before_publishing_and_the_new_one_sealed() {
    let scene = scene("x").await;
    assert_eq!(connect(&scene, "").await.status(), StatusCode::SEE_OTHER);
    // X's access token lasts two hours; a post at 1 h 58 min finds it within the margin.
    scene.published_after("Lunch until three today.", 118).await;
    assert_eq!(
        scene.fake.state.grants(),
        ["authorization_code", "refresh_token"]
    );
    // X rotates refresh tokens: a second refresh works only with the one sealed last time.
    let second = scene.approved("Closed on Sunday.").await;
    let scheduled = scene
        .schedule(
            &scene.keeper,
            second,
            json!({ "at": scene.in_minutes(119) }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(119));
    let published = scene.wait_for(second, "published").await;
    assert_eq!(
        scene.fake.state.grants(),
        ["authorization_code", "refresh_token", "refresh_token"],
        "{published}"
    );
    assert_eq!(scene.fake.state.post_count(), 2);
    assert_eq!(connection(&scene).await, "connected");
}
