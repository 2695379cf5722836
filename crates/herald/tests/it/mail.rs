//! E-mail through a real SMTP server the test starts (`tests/mail/smtp_server.py`, aiosmtpd,
//! with STARTTLS on a certificate made for the test and AUTH PLAIN/LOGIN): invitations arrive
//! with their link, a wrong password or a server without STARTTLS is explained and the message
//! waits and is delivered once, security alerts come at once and other kinds in the digest.
//! Needs Python with aiosmtpd (`HERALD_TEST_PYTHON`, or `python3` that has it) and `openssl`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use herald::clock::ManualClock;
use herald::config::{MailConfig, MailSecurity};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, skip_or_fail, spawn_app_with_clock};
use crate::people::{Person, invite_and_join, set_up};

pub const SMTP_USER: &str = "herald";
pub const SMTP_PASSWORD: &str = "smtp harbour lantern 9";

/// The Python that has aiosmtpd (and standardwebhooks), or `None` after skipping.
pub fn python() -> Option<String> {
    let candidate = std::env::var("HERALD_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let works = Command::new(&candidate)
        .args(["-c", "import aiosmtpd, standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        Some(candidate)
    } else {
        skip_or_fail(&format!(
            "{candidate} cannot import aiosmtpd and standardwebhooks (set HERALD_TEST_PYTHON to a Python that can: pip install aiosmtpd standardwebhooks)"
        ));
        None
    }
}

/// The Python for the SMTP server, when `openssl` is there too to make its certificate; `None`
/// after skipping.
pub fn mail_python() -> Option<String> {
    let python = python()?;
    let openssl = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !openssl {
        skip_or_fail("the openssl command is missing (apt-get install openssl)");
        return None;
    }
    Some(python)
}

/// A certificate authority and a certificate for 127.0.0.1 signed by it, made with openssl.
pub struct Certificates {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn certificates(dir: &Path) -> Certificates {
    let script = r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=HeraldTestCA -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out req.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out cert.pem
"#;
    let output = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Certificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

/// How the test server is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// STARTTLS and AUTH, as most providers on port 587.
    StartTls,
    /// No STARTTLS at all (and AUTH without it).
    NoStartTls,
}

/// The running SMTP server: where it listens, its messages, and the password it accepts now.
pub struct MailServer {
    pub port: u16,
    pub certificates: Certificates,
    dir: TempDir,
    child: Child,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MailServer {
    pub fn start(python: &str, offer: Offer) -> MailServer {
        let dir = TempDir::new().expect("temporary directory");
        let certificates = certificates(dir.path());
        std::fs::create_dir(dir.path().join("inbox")).expect("inbox");
        std::fs::write(dir.path().join("password"), SMTP_PASSWORD).expect("password file");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/smtp_server.py");
        let mut command = Command::new(python);
        command
            .arg(script)
            .arg("--dir")
            .arg(dir.path().join("inbox"))
            .args(["--user", SMTP_USER, "--password-file"])
            .arg(dir.path().join("password"));
        match offer {
            Offer::StartTls => {
                command
                    .arg("--cert")
                    .arg(&certificates.cert)
                    .arg("--key")
                    .arg(&certificates.key);
            }
            Offer::NoStartTls => {
                command.arg("--no-starttls");
            }
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the SMTP server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the SMTP server says where it listens");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"));
        MailServer {
            port,
            certificates,
            dir,
            child,
        }
    }

    /// Herald's `[mail]` for this server, with `password`.
    pub fn config(&self, password: &str) -> MailConfig {
        MailConfig {
            host: Some("127.0.0.1".to_owned()),
            port: self.port,
            security: MailSecurity::Starttls,
            username: Some(SMTP_USER.to_owned()),
            password: Some(password.to_owned().into()),
            from: Some("Herald <herald@sunny.example>".to_owned()),
            ca_file: Some(self.certificates.ca.clone()),
            timeout_seconds: 10,
            ..MailConfig::default()
        }
    }

    /// Makes the server accept `password` from now on.
    pub fn accept_password(&self, password: &str) {
        std::fs::write(self.dir.path().join("password"), password).expect("password file");
    }

    /// Every message delivered so far, oldest first (as the server parsed it).
    pub fn messages(&self) -> Vec<Value> {
        let mut numbered: Vec<(u64, Value)> = std::fs::read_dir(self.dir.path().join("inbox"))
            .expect("inbox")
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let number = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                let text = std::fs::read_to_string(&path).ok()?;
                Some((number, serde_json::from_str(&text).ok()?))
            })
            .collect();
        numbered.sort_by_key(|(number, _)| *number);
        numbered.into_iter().map(|(_, message)| message).collect()
    }

    /// Waits (up to 20 s) until `count` messages have arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        for _ in 0..400 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} messages did not arrive; got {:?}", self.messages());
    }
}

/// A Herald on a hand-moved clock that sends through `server` with `password`.
pub async fn app_with_mail(server: &MailServer, password: &str) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let mail = server.config(password);
    let app = spawn_app_with_clock(
        |config| {
            config.mail = mail;
            config.mail.organisation = Some("Sunny Café".to_owned());
        },
        Arc::new(clock.clone()),
    )
    .await;
    (app, clock)
}

async fn invite(app: &TestApp, owner: &Person, email: &str) -> Value {
    let response = owner
        .post(
            app,
            "/api/v1/invitations",
            json!({ "email": email, "role": "member" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("JSON")
}

/// Presses "send a test e-mail" on the mail settings page.
async fn test_email(app: &TestApp, person: &Person, to: &str) -> reqwest::Response {
    person.form(app, "/settings/mail/test", &[("to", to)]).await
}

async fn outbox_errors(app: &TestApp) -> Vec<Option<String>> {
    app.store
        .recent_outbox(10)
        .await
        .expect("outbox")
        .into_iter()
        .map(|message| message.last_error)
        .collect()
}

#[tokio::test]
async fn an_invitation_arrives_by_email_with_a_link_that_works() {
    let Some(python) = mail_python() else { return };
    let server = MailServer::start(&python, Offer::StartTls);
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let invited = invite(&app, &owner, "bea@sunny.example").await;
    assert_eq!(invited["mailed"], true);
    let messages = server.wait_for(1).await;
    let message = &messages[0];
    assert_eq!(message["to"], json!(["bea@sunny.example"]));
    assert_eq!(message["from"], "herald@sunny.example");
    assert_eq!(
        message["subject"],
        "Olive Owner invites you to Sunny Café on Herald"
    );
    let link = invited["link"].as_str().expect("link");
    let text = message["text"].as_str().expect("a plain-text part");
    let html = message["html"].as_str().expect("an HTML part");
    assert!(text.contains(link), "{text}");
    assert!(text.starts_with("Sunny Café"), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(!text.contains(SMTP_PASSWORD) && !html.contains(SMTP_PASSWORD));
    // The link in the e-mail is the invitation: it opens.
    let token = link.rsplit('/').next().expect("token");
    let opened = app.get(&format!("/api/v1/invitations/{token}")).await;
    assert_eq!(opened.status(), StatusCode::OK);
    // Sent once, and marked so.
    clock.advance(SignedDuration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.messages().len(), 1);
    assert_eq!(app.store.mail_waiting().await.expect("waiting"), 0);
}

#[tokio::test]
async fn a_wrong_smtp_password_is_explained_and_the_message_is_delivered_once_it_is_right() {
    let Some(python) = mail_python() else { return };
    let server = MailServer::start(&python, Offer::StartTls);
    server.accept_password("the password was changed at the provider");
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let invited = invite(&app, &owner, "bea@sunny.example").await;
    assert_eq!(invited["mailed"], true, "the invitation is not blocked");
    let explained = "refused the user name or password Herald signs in with";
    for _ in 0..200 {
        if outbox_errors(&app)
            .await
            .iter()
            .flatten()
            .any(|e| e.contains(explained))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settings = owner.get(&app, "/settings/mail").await;
    assert_eq!(settings.status(), StatusCode::OK);
    let page = settings.text().await.expect("page");
    assert!(page.contains(explained), "{page}");
    assert!(page.contains("1 waiting"), "{page}");
    assert!(!page.contains(SMTP_PASSWORD));
    // The test button says the same at once.
    let tested = test_email(&app, &owner, "olive@sunny.example").await;
    assert_eq!(tested.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(tested.text().await.expect("page").contains(explained));
    assert!(server.messages().is_empty());

    server.accept_password(SMTP_PASSWORD);
    clock.advance(SignedDuration::from_secs(60));
    let messages = server.wait_for(1).await;
    assert_eq!(messages[0]["to"], json!(["bea@sunny.example"]));
    clock.advance(SignedDuration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.messages().len(), 1, "delivered once");
    assert_eq!(app.store.mail_waiting().await.expect("waiting"), 0);
}

#[tokio::test]
async fn the_test_email_names_a_server_without_starttls_a_refused_address_and_takes_unicode() {
    let Some(python) = mail_python() else { return };
    let plain = MailServer::start(&python, Offer::NoStartTls);
    let (app, clock) = app_with_mail(&plain, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let tested = test_email(&app, &owner, "olive@sunny.example").await;
    assert_eq!(tested.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = tested.text().await.expect("page");
    assert!(page.contains("does not offer STARTTLS"), "{page}");
    assert!(plain.messages().is_empty());

    let server = MailServer::start(&python, Offer::StartTls);
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let refused = test_email(&app, &owner, "refused@sunny.example").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("page")
            .contains("refused the address refused@sunny.example")
    );
    let unicode = test_email(&app, &owner, "zoë@café.example").await;
    assert_eq!(unicode.status(), StatusCode::OK);
    let messages = server.wait_for(1).await;
    assert_eq!(messages[0]["to"], json!(["zoë@xn--caf-dma.example"]));
    assert_eq!(
        messages[0]["subject"],
        "Test e-mail from Herald for Sunny Café"
    );
    // A member may not send one.
    let member = invite_and_join(&app, &clock, &owner, "bea@sunny.example", "admin").await;
    let denied = member
        .form(&app, "/settings/mail/test", &[("to", "bea@sunny.example")])
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
}

pub async fn wait_for_subject(server: &MailServer, to: &str, words: &str) -> Value {
    for _ in 0..400 {
        let found = server.messages().into_iter().find(|message| {
            message["to"] == json!([to])
                && message["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains(words))
        });
        if let Some(message) = found {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no message about {words:?} to {to}: {:?}",
        server.messages()
    );
}

#[tokio::test]
async fn kinds_chosen_for_the_digest_wait_for_it_and_others_come_at_once() {
    let Some(python) = mail_python() else { return };
    let server = MailServer::start(&python, Offer::StartTls);
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let bea = invite_and_join(&app, &clock, &owner, "bea@sunny.example", "member").await;
    // Bea wants policy changes in the digest and no post outcomes; a security alert cannot be
    // turned off (the page does not even offer it).
    let saved = bea
        .form(
            &app,
            "/account/notifications",
            &[
                ("policy", "digest"),
                ("post_outcome", "none"),
                ("rotate_now", "none"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let page = saved.text().await.expect("page");
    assert!(page.contains("Saved."), "{page}");
    assert!(page.contains("Always e-mailed at once"), "{page}");
    let chosen = app.store.mail_preferences(bea.id).await.expect("choices");
    assert_eq!(chosen.len(), 2, "{chosen:?}");

    let published = owner
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "# Posting\n\nBe kind." })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let moved = owner
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/gatekeeper"),
            Some(json!({ "user_id": bea.id })),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    // Access changes come at once (Bea chose nothing for them).
    let at_once =
        wait_for_subject(&server, "bea@sunny.example", "You are now the gatekeeper").await;
    assert!(at_once["list_unsubscribe"].is_null());
    assert!(
        at_once["text"]
            .as_str()
            .is_some_and(|text| text.contains("/account/notifications")),
        "{at_once}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server
            .messages()
            .iter()
            .all(|m| !m["subject"].as_str().unwrap_or_default().contains("policy")),
        "the policy change waits for the digest"
    );

    // 07:00 UTC: the digest, with the policy change and List-Unsubscribe.
    clock.advance(SignedDuration::from_hours(24));
    let digest = wait_for_subject(&server, "bea@sunny.example", "notification").await;
    let text = digest["text"].as_str().expect("text");
    assert!(
        text.contains("Please read the social media policy"),
        "{text}"
    );
    assert!(!text.contains("You are now the gatekeeper"), "{text}");
    assert!(
        digest["list_unsubscribe"]
            .as_str()
            .is_some_and(|header| header.contains("/account/notifications")),
        "{digest}"
    );
    assert_eq!(digest["subject"], "Sunny Café: 1 notification from Herald");
    // Sent once: the next day's run finds nothing waiting.
    let count = server.messages().len();
    clock.advance(SignedDuration::from_hours(24));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.messages().len(), count);
}

#[test]
fn the_smtp_password_comes_from_a_file_is_never_shown_and_plain_smtp_is_only_for_this_machine() {
    use herald::config::{Config, Overrides};
    use secrecy::ExposeSecret;
    let dir = TempDir::new().expect("temporary directory");
    let file = dir.path().join("smtp-password");
    std::fs::write(&file, format!("{SMTP_PASSWORD}\n")).expect("password file");
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };
    let config = Config::load(
        None,
        env(&[
            ("HERALD_MAIL_HOST", "smtp.sunny.example"),
            ("HERALD_MAIL_FROM", "Herald <herald@sunny.example>"),
            ("HERALD_MAIL_PASSWORD_FILE", file.to_str().expect("path")),
        ]),
        Overrides::default(),
    )
    .expect("valid");
    let password = config.mail.password.as_ref().expect("password");
    assert_eq!(password.expose_secret(), SMTP_PASSWORD);
    assert!(!format!("{config:?}").contains(SMTP_PASSWORD));
    assert_eq!(config.mail.security, MailSecurity::Starttls);

    let plain = Config::load(
        None,
        env(&[
            ("HERALD_MAIL_HOST", "smtp.sunny.example"),
            ("HERALD_MAIL_FROM", "herald@sunny.example"),
            ("HERALD_MAIL_SECURITY", "none"),
        ]),
        Overrides::default(),
    )
    .expect_err("plain SMTP to another machine");
    assert!(
        plain
            .to_string()
            .contains("only for a server on this machine"),
        "{plain}"
    );
    let local = Config::load(
        None,
        env(&[
            ("HERALD_MAIL_HOST", "127.0.0.1"),
            ("HERALD_MAIL_FROM", "herald@sunny.example"),
            ("HERALD_MAIL_SECURITY", "none"),
        ]),
        Overrides::default(),
    );
    assert!(local.is_ok());
    let no_sender = Config::load(
        None,
        env(&[("HERALD_MAIL_HOST", "smtp.sunny.example")]),
        Overrides::default(),
    )
    .expect_err("no from");
    assert!(no_sender.to_string().contains("mail.from"), "{no_sender}");
}

/// Signs `person` in from `browser` (its cookie jar keeps the device cookie) with the next code.
async fn sign_in_from(
    app: &TestApp,
    clock: &ManualClock,
    person: &Person,
    browser: &reqwest::Client,
    user_agent: &str,
) {
    clock.advance(SignedDuration::from_secs(30));
    let response = browser
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", user_agent)
        .json(&json!({
            "email": person.email,
            "password": person.password,
            "code": crate::people::code(&person.secret, clock),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn a_sign_in_from_a_browser_never_used_before_is_mailed_at_once_and_a_known_one_is_not() {
    let Some(python) = mail_python() else { return };
    let server = MailServer::start(&python, Offer::StartTls);
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    let bea = invite_and_join(&app, &clock, &owner, "bea@sunny.example", "member").await;
    // Bea turned every kind she may choose off: a new-device alert is mailed all the same.
    let kinds: Vec<(&str, &str)> = herald::domain::notifications::NotificationKind::ALL
        .iter()
        .filter(|kind| !kind.is_security_alert())
        .map(|kind| (kind.as_str(), "none"))
        .collect();
    assert_eq!(
        bea.form(&app, "/account/notifications", &kinds)
            .await
            .status(),
        StatusCode::OK
    );
    let alerts = |server: &MailServer| {
        server
            .messages()
            .into_iter()
            .filter(|m| {
                m["to"] == json!(["bea@sunny.example"])
                    && m["subject"]
                        .as_str()
                        .is_some_and(|s| s.contains("New sign-in"))
            })
            .count()
    };

    // Her laptop: the first sign-in from it, then again with the device cookie it kept.
    let laptop = crate::people::client();
    sign_in_from(&app, &clock, &bea, &laptop, FIREFOX_ON_WINDOWS).await;
    let before = alerts(&server);
    sign_in_from(&app, &clock, &bea, &laptop, FIREFOX_ON_WINDOWS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(alerts(&server), before, "a known browser raises nothing");

    // A phone nobody has used with Herald before.
    sign_in_from(
        &app,
        &clock,
        &bea,
        &crate::people::client(),
        SAFARI_ON_IPHONE,
    )
    .await;
    let alert = wait_for_subject(&server, "bea@sunny.example", "New sign-in").await;
    assert_eq!(
        alert["subject"],
        "New sign-in to Herald from Safari on iPhone"
    );
    let text = alert["text"].as_str().expect("text");
    assert!(
        text.contains("127.0.0.1") && text.contains("change your password"),
        "{text}"
    );
    assert_eq!(alerts(&server), before + 1);
    // In Herald too, and the audit log says which sign-in it was.
    let notifications = app.store.notifications_of(bea.id, 20).await.expect("list");
    assert!(
        notifications
            .iter()
            .any(|n| n.subject == "New sign-in to Herald from Safari on iPhone"),
        "{notifications:?}"
    );
    let devices = app.store.sign_in_devices(bea.id).await.expect("devices");
    let browsers: Vec<&str> = devices.iter().map(|d| d.browser.as_str()).collect();
    assert!(
        browsers.contains(&"Safari on iPhone") && browsers.contains(&"Firefox on Windows"),
        "{browsers:?}"
    );
    // Her account page lists them.
    let page = bea.get(&app, "/account").await.text().await.expect("page");
    assert!(
        page.contains("Browsers you have signed in from")
            && page.contains("Safari on iPhone")
            && page.contains("Firefox on Windows"),
        "{page}"
    );
}

#[tokio::test]
async fn mail_choices_are_read_and_saved_through_the_api_and_security_alerts_cannot_be_chosen() {
    let (app, clock) = crate::people::app().await;
    let owner = set_up(&app, &clock).await;
    let listed = owner.get_json(&app, "/api/v1/me/mail-preferences").await;
    let entry = |list: &Value, kind: &str| {
        list.as_array()
            .expect("list")
            .iter()
            .find(|entry| entry["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {list}"))
            .clone()
    };
    assert_eq!(entry(&listed, "policy")["mode"], "now");
    assert_eq!(entry(&listed, "new_device")["always_at_once"], true);

    let saved = owner
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/me/mail-preferences",
            Some(json!({ "choices": [
                { "kind": "policy", "mode": "digest" },
                { "kind": "post_outcome", "mode": "none" },
            ] })),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let saved: Value = saved.json().await.expect("JSON");
    assert_eq!(entry(&saved, "policy")["mode"], "digest");
    assert_eq!(entry(&saved, "post_outcome")["mode"], "none");
    assert_eq!(entry(&saved, "access")["mode"], "now", "left as it was");

    // A security alert is not a kind one chooses (the contract lists only the others), and
    // nothing of the request is saved.
    let refused = owner
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/me/mail-preferences",
            Some(json!({ "choices": [
                { "kind": "access", "mode": "none" },
                { "kind": "new_device", "mode": "none" },
            ] })),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("new_device")),
        "{problem}"
    );
    let after = owner.get_json(&app, "/api/v1/me/mail-preferences").await;
    assert_eq!(entry(&after, "access")["mode"], "now");
    assert_eq!(entry(&after, "policy")["mode"], "digest");
}
