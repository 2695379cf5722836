//! A possible-compromise alert leaves Herald at once (issue 20): the watcher's alert reaches
//! the gatekeeper and the owners by e-mail through a real SMTP server (aiosmtpd, as in
//! `mail.rs`) and an owner's webhook endpoint as an `incident.opened` event, signed (the
//! receiver of `webhooks.rs` checks the signature).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::detection::{as_attacker, one_interval_later, wait_for_a_look};
use crate::mail::{MailServer, Offer, SMTP_PASSWORD, mail_python};
use crate::people::OWNER_EMAIL;
use crate::publishing::Scene;
use crate::watch_networks::alert_within_intervals;
use crate::webhooks::{Receiver, endpoint};

const TOKEN: &str = "fake-mastodon-token-5ec2e7";

/// Waits up to 20 s for a message about `subject` to `to`.
async fn mail_to(server: &MailServer, to: &str, subject: &str) -> Value {
    for _ in 0..400 {
        if let Some(found) = server.messages().into_iter().find(|message| {
            message["subject"] == subject
                && message["to"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|one| one == to))
        }) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no \"{subject}\" to {to}; got {:?}",
        server
            .messages()
            .iter()
            .map(|message| message["subject"].clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_possible_compromise_is_e_mailed_at_once_and_sent_to_the_owners_webhook() {
    let Some(python) = mail_python() else { return };
    let server = MailServer::start(&python, Offer::StartTls);
    let receiver = Receiver::start(&python);
    let fake = networks::fake::mastodon::start(networks::fake::FakeState::new(TOKEN, 7))
        .await
        .expect("fake Mastodon starts");
    let mail = server.config(SMTP_PASSWORD);
    let scene = Scene::on_configured(fake, "mastodon", "@herald@127.0.0.1", false, |config| {
        config.mail = mail;
        config.mail.organisation = Some("Sunny Café".to_owned());
    })
    .await;
    endpoint(
        &scene.app,
        &scene.owner,
        &receiver,
        "security",
        "ok",
        "standard",
        &["incident.opened"],
    )
    .await;
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;

    as_attacker(
        &scene,
        reqwest::Method::POST,
        "/api/v1/statuses",
        &[("status", "Send 1 BTC, get 2 back: https://claim.example")],
    )
    .await;
    let incident = alert_within_intervals(&scene).await;
    let alerted = Instant::now();
    let id = incident["id"].as_i64().expect("id");

    let subject = "Possible compromise of Sunny Café";
    let to_keeper = mail_to(&server, "keeper@sunny.example", subject).await;
    let mailed = alerted.elapsed();
    let to_owner = mail_to(&server, OWNER_EMAIL, subject).await;
    for message in [&to_keeper, &to_owner] {
        let text = message["text"].as_str().expect("a plain-text part");
        assert!(text.contains("Send 1 BTC"), "the evidence: {text}");
        assert!(text.contains(&format!("/incidents/{id}")), "{text}");
        assert!(text.contains("always e-mailed at once"), "{text}");
    }

    let delivered = receiver.wait_for("/security/ok", 1).await;
    let hooked = alerted.elapsed();
    assert_eq!(delivered[0]["verified"], true, "{delivered:?}");
    let body: Value =
        serde_json::from_str(delivered[0]["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["type"], "incident.opened");
    assert_eq!(body["data"]["details"]["incident_id"], id, "{body}");
    assert!(
        body["data"]["text"]
            .as_str()
            .is_some_and(|text| text.contains("Send 1 BTC")),
        "{body}"
    );
    #[allow(clippy::print_stderr)] // The figure belongs in the test log.
    {
        eprintln!(
            "FIGURE alert_to_mail_ms={} alert_to_webhook_ms={}",
            mailed.as_millis(),
            hooked.as_millis()
        );
    }
    assert!(mailed < Duration::from_secs(10), "mailed after {mailed:?}");
}
