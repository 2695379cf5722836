//! Link safety from outside: `herald feeds import` and `herald links check`, the
//! organisation's names through the API and the policy page, link findings in the live check,
//! the import preview and at submission, a short link followed through a local redirect chain,
//! and a post whose link became malicious after approval held before publishing.

use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, herald, herald_for, run};
use crate::people::{Person, app, invite_and_join, set_up};
use crate::publishing::Scene;

/// Imports `feed` (named `name`) into the test server's data directory, as an operator would.
pub(crate) fn import_feed(app: &TestApp, name: &str, feed: &str) {
    let file = app.data_dir.parent().expect("data dir's parent").join(name);
    std::fs::write(&file, feed).expect("write feed");
    let imported = herald::services::links::import_feeds(&app.data_dir, &[file]);
    assert!(imported.is_ok(), "{imported:?}");
}

async fn save_names(
    app: &TestApp,
    owner: &Person,
    domains: Value,
    handles: Value,
) -> reqwest::Response {
    owner
        .send(
            app,
            Method::PUT,
            "/api/v1/links/names",
            Some(json!({ "domains": domains, "handles": handles })),
        )
        .await
}

async fn scan(app: &TestApp, person: &Person, text: &str) -> Value {
    let response = person
        .post(app, "/api/v1/scan", json!({ "text": text }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

fn rules(scanned: &Value) -> Vec<String> {
    scanned["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["rule"].as_str().expect("rule").to_owned())
        .collect()
}

/// A server on loopback whose every path redirects as `hops` says (path → Location), and
/// answers 200 elsewhere; it remembers the paths asked.
pub(crate) async fn redirect_server(
    hops: Vec<(&'static str, String)>,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            let mut buffer = vec![0u8; 4096];
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            seen.lock().expect("asked").push(path.clone());
            let answer = match hops.iter().find(|(from, _)| *from == path) {
                Some((_, to)) => format!(
                    "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                ),
                None => {
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
                }
            };
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (port, asked)
}

#[test]
fn herald_feeds_import_refuses_a_malformed_file_naming_the_line_and_keeps_the_last_good_list() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let good = dir.path().join("openphish.txt");
    std::fs::write(
        &good,
        "https://phish.example/login\nhttp://other.example/\n",
    )
    .expect("write");
    let (output, stdout, stderr) = run(herald()
        .args(["feeds", "import", "--data-dir"])
        .arg(&data)
        .arg(&good));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "openphish: 2 entries (openphish)");
    let list = data.join("feeds/openphish.hashes");
    let before = std::fs::read(&list).expect("the list is saved");

    std::fs::write(&good, "https://phish.example/login\nhttps://new.example/\n").expect("write");
    let bad = dir.path().join("urlhaus.csv");
    std::fs::write(
        &bad,
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
         \"1\",\"2026-12-01 10:00:00\",\"http://198.51.100.7/x86\",\"online\",\"\",\"malware_download\",\"elf\",\"https://urlhaus.abuse.ch/url/1/\",\"r\"\n\
         \"2\",\"2026-12-01 10:00:01\",\"not a url\",\"online\",\"\",\"malware_download\",\"elf\",\"https://urlhaus.abuse.ch/url/2/\",\"r\"\n",
    )
    .expect("write");
    let (output, _, stderr) = run(herald()
        .args(["feeds", "import", "--data-dir"])
        .arg(&data)
        .arg(&good)
        .arg(&bad));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("urlhaus.csv is refused, nothing was imported. Line 3:"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&list).expect("the list is still there"),
        before,
        "a refused import leaves the last good list in force"
    );
    assert!(!data.join("feeds/urlhaus.hashes").exists());
}

#[tokio::test]
async fn owners_name_the_organisations_domains_and_handles_and_bad_ones_are_refused() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let saved = save_names(
        &app,
        &owner,
        json!([
            " sunnycafe.example ",
            "",
            "sunnycafe.example",
            "Sunny-Bakes.co.uk"
        ]),
        json!(["@sunnycafe"]),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let expected = json!({
        "domains": ["sunnycafe.example", "sunny-bakes.co.uk"],
        "handles": ["@sunnycafe"]
    });
    assert_eq!(saved.json::<Value>().await.expect("JSON"), expected);
    assert_eq!(member.get_json(&app, "/api/v1/links/names").await, expected);

    let refused = save_names(&app, &owner, json!(["not a domain"]), json!([])).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("`not a domain` is not a domain name")),
        "{problem}"
    );
    let denied = save_names(&app, &member, json!([]), json!([])).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        member.get_json(&app, "/api/v1/links/names").await,
        expected,
        "nothing changed"
    );

    // The policy page's section saves the same names (one a line) and shows them again.
    let form = owner
        .client
        .post(app.url("/policy/names"))
        .header("origin", app.url(""))
        .form(&[
            ("csrf", owner.csrf.as_str()),
            ("domains", "sunnycafe.example\r\nsunnycafe.shop"),
            ("handles", "@sunnycafe@mastodon.social"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(form.status(), StatusCode::SEE_OTHER);
    let page = owner.get(&app, "/policy").await.text().await.expect("page");
    assert!(
        page.contains("sunnycafe.example\nsunnycafe.shop</textarea>"),
        "{page}"
    );
    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=organisation")
        .await;
    assert!(
        audit.to_string().contains("organisation.names_saved"),
        "{audit}"
    );
}

#[tokio::test]
async fn feed_urls_and_look_alikes_are_findings_in_the_live_check_the_import_preview_and_at_submission()
 {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let saved = save_names(&app, &owner, json!(["sunnycafe.example"]), json!([])).await;
    assert_eq!(saved.status(), StatusCode::OK);
    import_feed(
        &app,
        "openphish.txt",
        "https://evil.example/\nhttp://198.51.100.7/bins/x86\n",
    );
    clock.advance(SignedDuration::from_secs(5));

    let scanned = scan(
        &app,
        &owner,
        "Menu at HTTPS://Login.EVIL.example:443/a/../menu#top and http://3325256711/bins/./x86",
    )
    .await;
    assert_eq!(scanned["verdict"], "block");
    assert_eq!(rules(&scanned), ["link.malicious", "link.malicious"]);
    assert_eq!(scanned["findings"][0]["excerpt"], "login.evil.example");
    assert_eq!(scanned["findings"][0]["start"], 8);

    let lookalike = scan(
        &app,
        &owner,
        "Order at https://sunnycafe-orders.example/today",
    )
    .await;
    assert_eq!(rules(&lookalike), ["link.lookalike"]);
    assert!(
        lookalike["findings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("imitates your organisation's sunnycafe.example")),
        "{lookalike}"
    );
    let real = scan(&app, &owner, "Menu: https://www.sunnycafe.example/menu").await;
    assert_eq!(real["verdict"], "clean", "{real}");

    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let csv = "account;time;date;message\n@sunnycafe;09:00;2027-03-27;Deals at https://evil.example/deal\n";
    let preview: Value = owner
        .post(&app, "/api/v1/import/preview", json!({ "csv": csv }))
        .await
        .json()
        .await
        .expect("JSON");
    assert!(
        preview["rows"][0]["problems"]
            .to_string()
            .contains("link.malicious"),
        "{preview}"
    );

    let id =
        crate::posts::draft_id(&app, &owner, account, "Deals at https://evil.example/deal").await;
    let submitted = crate::posts::act(&app, &owner, id, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = submitted.json().await.expect("JSON");
    assert!(
        problem["detail"].to_string().contains("link.malicious"),
        "{problem}"
    );
    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=post.submit_blocked")
        .await;
    assert!(audit.to_string().contains("link.malicious"), "{audit}");
}

#[tokio::test]
async fn a_link_is_followed_through_a_local_redirect_chain_to_a_url_in_an_imported_feed() {
    let (port, asked) = redirect_server(vec![
        ("/s/abc", "/hop/1".to_owned()),
        ("/hop/1", "/hop/2".to_owned()),
        ("/hop/2", "/landing/invoice.zip?id=9".to_owned()),
        ("/clean", "/arrived".to_owned()),
    ])
    .await;
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    import_feed(
        &app,
        "urlhaus.txt",
        &format!("http://127.0.0.1:{port}/landing/invoice.zip?id=9\n"),
    );
    clock.advance(SignedDuration::from_secs(5));
    let response = owner
        .post(
            &app,
            "/api/v1/links/check",
            json!({ "urls": [
                format!("http://127.0.0.1:{port}/s/abc"),
                format!("http://127.0.0.1:{port}/clean"),
                "javascript:alert(1)",
            ] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let checked: Value = response.json().await.expect("JSON");
    let first = &checked["links"][0];
    assert_eq!(first["verdict"], "malicious", "{checked}");
    assert_eq!(
        first["destination"],
        format!("http://127.0.0.1:{port}/landing/invoice.zip?id=9")
    );
    let first_rules: Vec<&str> = first["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(first_rules, ["link.malicious", "link.redirects_to"]);
    assert!(
        first["findings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("redirects to") && m.contains("(urlhaus)")),
        "{first}"
    );
    let second = &checked["links"][1];
    assert_eq!(second["verdict"], "clean", "{checked}");
    assert_eq!(
        second["destination"],
        format!("http://127.0.0.1:{port}/arrived")
    );
    assert_eq!(checked["links"][2]["verdict"], "unreachable");
    assert!(
        !asked
            .lock()
            .expect("asked")
            .iter()
            .any(|path| path.starts_with("/landing")),
        "the malicious page itself is never requested"
    );
}

#[tokio::test]
async fn herald_links_check_exits_one_on_a_malicious_or_look_alike_link() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let saved = save_names(&app, &owner, json!(["sunnycafe.example"]), json!([])).await;
    assert_eq!(saved.status(), StatusCode::OK);
    import_feed(&app, "domains.txt", "evil.example\n");
    let check = |url: &str| {
        run(herald_for(&app.data_dir)
            .args(["links", "check", "--data-dir"])
            .arg(&app.data_dir)
            .arg(url))
    };
    let (output, stdout, stderr) = check("https://shop.EVIL.example/x");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.starts_with("malicious: https://shop.evil.example/x"),
        "{stdout}"
    );
    assert!(stdout.contains("link.malicious (block)"), "{stdout}");
    let (output, stdout, _) = check("https://sunnycafe.example.evil.net/login");
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.starts_with("lookalike:"), "{stdout}");
    // The command follows links with public addresses only: a loopback link is refused (and
    // so not judged dangerous).
    let (output, stdout, _) = check("http://127.0.0.1:9/");
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("unreachable: http://127.0.0.1:9/"),
        "{stdout}"
    );
    assert!(
        stdout.contains("private or local network addresses"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_post_whose_link_became_malicious_after_approval_is_held_and_the_gatekeeper_told() {
    let scene = Scene::mastodon().await;
    let text = "Our new menu: https://menu.example/autumn";
    let id = scene.approved(text).await;
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(5) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    import_feed(&scene.app, "openphish.txt", "https://menu.example/\n");
    scene.clock.advance(SignedDuration::from_mins(6));
    let post = scene.wait_for(id, "failed").await;
    assert_eq!(scene.fake.state.post_count(), 0, "nothing was sent");
    assert!(
        post.to_string().contains("held before publishing"),
        "{post}"
    );
    let told: Value = scene
        .keeper
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(
        told.to_string()
            .contains("was held: a link in it is unsafe"),
        "{told}"
    );
    let audit = scene.audit().await;
    let held = audit
        .lines()
        .find(|line| line.contains("post.publish_held"))
        .expect("the hold is audited");
    assert!(held.contains("link.malicious"), "{held}");
}

/// A feed server on loopback: answers 304 when the request's If-None-Match is the current
/// ETag, otherwise the current body with its ETag and Last-Modified; remembers each request's
/// conditional headers.
struct FeedServer {
    url: String,
    body: Arc<Mutex<(String, String)>>,
    conditions: Arc<Mutex<Vec<Conditions>>>,
}

/// A request's If-None-Match and If-Modified-Since.
type Conditions = (Option<String>, Option<String>);

async fn feed_server(body: &str, etag: &str) -> FeedServer {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let current = Arc::new(Mutex::new((body.to_owned(), etag.to_owned())));
    let conditions = Arc::new(Mutex::new(Vec::new()));
    let (serving, seen) = (current.clone(), conditions.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            let mut buffer = vec![0u8; 8192];
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..read]).to_lowercase();
            let header = |name: &str| {
                request
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                    .map(|value| value.trim().to_owned())
            };
            let (if_none_match, if_modified) =
                (header("if-none-match"), header("if-modified-since"));
            seen.lock()
                .expect("conditions")
                .push((if_none_match.clone(), if_modified));
            let (body, etag) = serving.lock().expect("body").clone();
            let answer = if if_none_match.as_deref() == Some(etag.as_str()) {
                "HTTP/1.1 304 Not Modified\r\nconnection: close\r\n\r\n".to_owned()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\netag: {etag}\r\nlast-modified: Sat, 05 Dec 2026 06:00:00 GMT\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    FeedServer {
        url: format!("http://127.0.0.1:{port}/feeds/openphish.txt"),
        body: current,
        conditions,
    }
}

#[tokio::test]
async fn configured_feeds_are_fetched_with_a_conditional_get_and_a_bad_one_keeps_the_last_good_list()
 {
    let server = feed_server("https://phish.example/login\n", "\"v1\"").await;
    let source = herald::config::FeedSource {
        url: server.url.clone(),
        format: Some(herald::config::FeedFormat::Openphish),
    };
    let configured = source.clone();
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = crate::helpers::spawn_app_with_clock(
        move |config| config.links.feeds = vec![configured],
        Arc::new(clock.clone()),
    )
    .await;
    // The daily job runs at start.
    let list = links::lists::list_path(
        &herald::services::links::feeds_folder(&app.data_dir),
        &herald::services::links::feed_name(&server.url),
    );
    for _ in 0..200 {
        if list.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let first = std::fs::read(&list).expect("the job saved the feed's list");
    assert_eq!(
        server.conditions.lock().expect("conditions")[0],
        (None, None)
    );
    let owner = set_up(&app, &clock).await;
    clock.advance(SignedDuration::from_secs(5));
    let scanned = scan(&app, &owner, "Log in at https://phish.example/login?next=1").await;
    assert_eq!(rules(&scanned), ["link.malicious"]);

    let again = herald::services::links::refresh_feed(&app.data_dir, &source, true).await;
    assert_eq!(again, Ok(herald::services::links::Refreshed::Unchanged));
    assert_eq!(
        server.conditions.lock().expect("conditions")[1],
        (
            Some("\"v1\"".to_owned()),
            Some("sat, 05 dec 2026 06:00:00 gmt".to_owned())
        ),
        "the second fetch is conditional"
    );

    *server.body.lock().expect("body") = (
        "https://phish.example/login\n<html>oops</html>\n".to_owned(),
        "\"v2\"".to_owned(),
    );
    let refused = herald::services::links::refresh_feed(&app.data_dir, &source, true).await;
    let reason = refused.expect_err("a feed that does not read is refused");
    assert!(
        reason.contains("its last good list stays. Line 2:"),
        "{reason}"
    );
    assert_eq!(std::fs::read(&list).expect("list"), first);

    let strict = herald::services::links::refresh_feed(&app.data_dir, &source, false).await;
    assert_eq!(
        strict,
        Err(networks::outbound::REFUSED_ADDRESS.to_owned()),
        "feeds go through the hardened client"
    );
}

#[test]
fn feeds_come_from_the_environment_as_format_equals_url_and_a_bad_format_is_named() {
    let (output, stdout, stderr) = run(herald().args(["config", "show"]).env(
        "HERALD_LINKS_FEEDS",
        "urlhaus=https://urlhaus.example/csv_recent/, https://lists.example/bad.txt?v=2",
    ));
    assert!(output.status.success(), "{stderr}");
    let shown: toml::Table = stdout.parse().expect("TOML");
    assert_eq!(
        shown["links"]["feeds"],
        toml::Value::Array(vec![
            toml::Value::Table(toml::toml! { url = "https://urlhaus.example/csv_recent/"
            format = "urlhaus" }),
            toml::Value::Table(toml::toml! { url = "https://lists.example/bad.txt?v=2" }),
        ])
    );
    let (output, _, stderr) = run(herald()
        .args(["config", "show"])
        .env("HERALD_LINKS_FEEDS", "csv=https://urlhaus.example/"));
    assert!(!output.status.success());
    assert!(stderr.contains("unknown variant `csv`"), "{stderr}");
}

/// A fake of Google Safe Browsing's Update API v4 whose MALWARE list holds `bad`'s hash, and
/// which counts the full-hash requests it is sent.
async fn fake_safe_browsing(bad: &str) -> (String, Arc<Mutex<usize>>) {
    use axum::Json;
    use axum::routing::post;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use sha2::{Digest, Sha256};
    let full: Vec<u8> = Sha256::digest(bad.as_bytes()).to_vec();
    let prefix = full[..4].to_vec();
    let finds = Arc::new(Mutex::new(0usize));
    let counted = finds.clone();
    let update = move |Json(body): Json<Value>| {
        let prefix = prefix.clone();
        async move {
            let responses: Vec<Value> = body["listUpdateRequests"]
                .as_array()
                .expect("requests")
                .iter()
                .map(|request| {
                    let malware = request["threatType"] == "MALWARE";
                    let prefixes: Vec<u8> = if malware { prefix.clone() } else { Vec::new() };
                    json!({
                        "threatType": request["threatType"], "responseType": "FULL_UPDATE",
                        "additions": [{ "compressionType": "RAW", "rawHashes":
                            { "prefixSize": 4, "rawHashes": STANDARD.encode(&prefixes) } }],
                        "newClientState": "s1",
                        "checksum": { "sha256": STANDARD.encode(Sha256::digest(&prefixes)) }
                    })
                })
                .collect();
            Json(json!({ "listUpdateResponses": responses }))
        }
    };
    let find = move |Json(_): Json<Value>| {
        let full = full.clone();
        let counted = counted.clone();
        async move {
            *counted.lock().expect("count") += 1;
            Json(json!({ "matches": [{ "threatType": "SOCIAL_ENGINEERING",
                "threat": { "hash": STANDARD.encode(&full) } }] }))
        }
    };
    let router = axum::Router::new()
        .route("/v4/threatListUpdates:fetch", post(update))
        .route("/v4/fullHashes:find", post(find));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, finds)
}

#[tokio::test]
async fn with_a_safe_browsing_key_links_are_checked_against_google_safe_browsing_too() {
    let (url, finds) = fake_safe_browsing("phish.example/").await;
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = crate::helpers::spawn_app_with_clock(
        move |config| {
            config.links.safe_browsing_url = url;
            config.links.safe_browsing_key = Some("fake-key-for-tests".to_owned().into());
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let checked: Value = owner
        .post(
            &app,
            "/api/v1/links/check",
            json!({ "urls": ["https://login.phish.example/account", "http://127.0.0.1:9/"] }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(checked["links"][0]["verdict"], "malicious", "{checked}");
    assert!(
        checked["links"][0]["findings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("(Google Safe Browsing: social engineering)")),
        "{checked}"
    );
    assert_eq!(checked["links"][1]["verdict"], "unreachable");
    assert_eq!(
        *finds.lock().expect("count"),
        1,
        "only the prefix hit asked for full hashes"
    );
    let live = scan(&app, &owner, "See https://login.phish.example/account").await;
    assert_eq!(live["verdict"], "clean", "the live check stays offline");
}

/// A site on loopback for link cards: `/menu` is a page with Open Graph tags, `/s/menu` a
/// short link to it, `/bad` a page that must never be read, `/notes.txt` plain text.
async fn page_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            let mut buffer = vec![0u8; 4096];
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
            let mut words = request.split_whitespace();
            let method = words.next().unwrap_or("GET").to_owned();
            let path = words.next().unwrap_or("/").to_owned();
            seen.lock().expect("asked").push(format!("{method} {path}"));
            let (status, kind, body) = match path.as_str() {
                "/s/menu" => ("302 Found\r\nlocation: /menu", "text/plain", String::new()),
                "/menu" | "/bad" => (
                    "200 OK",
                    "text/html; charset=utf-8",
                    "<!doctype html><html><head><title>Home</title>\
                     <meta property=\"og:title\" content=\"Autumn menu &lt;b&gt;at Sunny&lt;/b&gt;\">\
                     <meta name=\"description\" content=\"Soup &amp; bread, every day.\">\
                     <meta property=\"og:site_name\" content=\"Sunny Café\">\
                     </head><body>Menu</body></html>"
                        .to_owned(),
                ),
                _ => ("200 OK", "text/plain", "just notes".to_owned()),
            };
            let body = if method == "HEAD" {
                String::new()
            } else {
                body
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (port, asked)
}

async fn card(app: &TestApp, person: &Person, url: &str) -> (StatusCode, Value) {
    let response = person
        .post(app, "/api/v1/links/card", json!({ "url": url }))
        .await;
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn a_clean_links_card_is_read_from_the_page_it_leads_to_and_a_flagged_link_gets_none() {
    let (port, asked) = page_server().await;
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    import_feed(
        &app,
        "urlhaus.txt",
        &format!("http://127.0.0.1:{port}/bad\n"),
    );
    clock.advance(SignedDuration::from_secs(5));

    let (status, shown) = card(&app, &owner, &format!("http://127.0.0.1:{port}/s/menu")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["title"], "Autumn menu <b>at Sunny</b>", "{shown}");
    assert_eq!(shown["description"], "Soup & bread, every day.");
    assert_eq!(shown["site"], "Sunny Café");
    assert_eq!(shown["note"], Value::Null);

    let (status, flagged) = card(&app, &owner, &format!("http://127.0.0.1:{port}/bad")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flagged["title"], Value::Null, "{flagged}");
    assert!(
        flagged["note"]
            .as_str()
            .is_some_and(|note| note.contains("found a problem")),
        "{flagged}"
    );
    assert!(
        !asked
            .lock()
            .expect("asked")
            .iter()
            .any(|seen| seen.ends_with(" /bad")),
        "a flagged page is never read"
    );

    let (_, plain) = card(&app, &owner, &format!("http://127.0.0.1:{port}/notes.txt")).await;
    assert_eq!(plain["title"], Value::Null);
    assert_eq!(plain["note"], "No card: the page has no title.");

    let (status, empty) = card(&app, &owner, "  ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{empty}");
    assert_eq!(empty["field"], "url");
}

#[tokio::test]
async fn the_composers_preview_shows_the_links_card_as_it_is_typed() {
    let (port, _) = page_server().await;
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let Some(browser) = crate::webdriver::Browser::launch().await else {
        return;
    };
    crate::browser::sign_in_in_browser(&browser, &app, &clock, &owner).await;
    browser
        .goto(&app.url(&format!("/compose?account={account}")))
        .await;
    browser
        .type_into(
            &browser.find("#draft").await,
            &format!("Our autumn menu is out: http://127.0.0.1:{port}/s/menu"),
        )
        .await;
    assert!(
        browser
            .wait_for("const card = document.getElementById('preview-card'); return !card.hidden && card.textContent.includes('Autumn menu <b>at Sunny</b>');")
            .await,
        "the card is shown: {}",
        browser.text_of("#preview").await
    );
    let card = browser.text_of("#preview-card").await;
    assert!(
        card.contains("Sunny Café") && card.contains("Soup & bread"),
        "{card}"
    );
    let markup = "return document.querySelector('#preview-card b') === null;";
    assert_eq!(
        browser.execute(markup).await,
        true,
        "the page's title is text"
    );
    browser.screenshot("composer-link-card").await;
    browser.close().await;
}
