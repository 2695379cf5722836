//! Webhooks as the Standard Webhooks specification describes them: the events Herald sends,
//! the ready formats for Slack, Microsoft Teams and Discord incoming webhooks, and the
//! signature (`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with
//! the bytes of the `whsec_…` secret). Pure: the caller gives the time and the random bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// What an endpoint can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "post.published")]
    PostPublished,
    #[serde(rename = "post.failed")]
    PostFailed,
    #[serde(rename = "post.awaiting_approval")]
    PostAwaitingApproval,
    #[serde(rename = "inbox.dangerous")]
    InboxDangerous,
    #[serde(rename = "incident.opened")]
    IncidentOpened,
    #[serde(rename = "credentials.rotate_now")]
    RotateNow,
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[serde(rename = "member.left")]
    MemberLeft,
    /// The "send test event" button; never chosen, always sent when asked.
    #[serde(rename = "test")]
    Test,
}

/// How a delivery's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Standard Webhooks JSON: `{type, timestamp, data}`.
    Standard,
    /// A Slack incoming webhook: `{text}`.
    Slack,
    /// A Microsoft Teams workflow webhook: an Adaptive Card.
    Teams,
    /// A Discord webhook: `{content}`.
    Discord,
}

/// What happened, in words and data; never a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventText {
    pub title: String,
    pub text: String,
    /// Where in Herald to look, as an absolute URL.
    pub link: Option<String>,
    /// Ids and names for programs (`account_id`, `post_id`, …).
    pub data: serde_json::Value,
}

impl WebhookEvent {
    /// The events an endpoint may choose, in the order pages list them.
    pub const CHOOSABLE: [WebhookEvent; 8] = [
        WebhookEvent::PostPublished,
        WebhookEvent::PostFailed,
        WebhookEvent::PostAwaitingApproval,
        WebhookEvent::InboxDangerous,
        WebhookEvent::IncidentOpened,
        WebhookEvent::RotateNow,
        WebhookEvent::MemberJoined,
        WebhookEvent::MemberLeft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::PostPublished => "post.published",
            WebhookEvent::PostFailed => "post.failed",
            WebhookEvent::PostAwaitingApproval => "post.awaiting_approval",
            WebhookEvent::InboxDangerous => "inbox.dangerous",
            WebhookEvent::IncidentOpened => "incident.opened",
            WebhookEvent::RotateNow => "credentials.rotate_now",
            WebhookEvent::MemberJoined => "member.joined",
            WebhookEvent::MemberLeft => "member.left",
            WebhookEvent::Test => "test",
        }
    }

    pub fn parse(text: &str) -> Option<WebhookEvent> {
        WebhookEvent::CHOOSABLE
            .into_iter()
            .chain([WebhookEvent::Test])
            .find(|event| event.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            WebhookEvent::PostPublished => "A post was published",
            WebhookEvent::PostFailed => "A post failed or was held",
            WebhookEvent::PostAwaitingApproval => "A post waits for approval",
            WebhookEvent::InboxDangerous => "A dangerous message came into the inbox",
            WebhookEvent::IncidentOpened => "An incident was opened (possible hack)",
            WebhookEvent::RotateNow => "A password must be changed now",
            WebhookEvent::MemberJoined => "A member joined",
            WebhookEvent::MemberLeft => "A member left",
            WebhookEvent::Test => "Test event",
        }
    }
}

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 4] = [
        WebhookFormat::Standard,
        WebhookFormat::Slack,
        WebhookFormat::Teams,
        WebhookFormat::Discord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Standard => "standard",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Teams => "teams",
            WebhookFormat::Discord => "discord",
        }
    }

    pub fn parse(text: &str) -> Option<WebhookFormat> {
        WebhookFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            WebhookFormat::Standard => "Standard Webhooks JSON (signed)",
            WebhookFormat::Slack => "Slack incoming webhook",
            WebhookFormat::Teams => "Microsoft Teams workflow webhook",
            WebhookFormat::Discord => "Discord webhook",
        }
    }
}

/// A new signing secret from 32 random bytes: `whsec_` and their base64.
pub fn new_secret(random: [u8; 32]) -> String {
    format!("whsec_{}", STANDARD.encode(random))
}

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// The `webhook-signature` header's value for one delivery.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[allow(clippy::panic)]
fn unreachable_hmac() -> Hmac<Sha256> {
    // `new_from_slice` fails only for fixed-size keys, which HMAC does not have.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| panic!("HMAC key"))
}

/// The body sent for `event` in `format`. `timestamp` is the ISO time of the event.
pub fn body(
    format: WebhookFormat,
    event: WebhookEvent,
    timestamp: &str,
    text: &EventText,
) -> String {
    let line = match &text.link {
        Some(link) => format!("{}: {} {link}", text.title, text.text),
        None => format!("{}: {}", text.title, text.text),
    };
    let value = match format {
        WebhookFormat::Standard => serde_json::json!({
            "type": event.as_str(),
            "timestamp": timestamp,
            "data": {
                "title": text.title,
                "text": text.text,
                "link": text.link,
                "details": text.data,
            },
        }),
        WebhookFormat::Slack => serde_json::json!({ "text": line }),
        WebhookFormat::Discord => {
            // Discord refuses content longer than 2,000 characters.
            let content: String = line.chars().take(1900).collect();
            serde_json::json!({ "content": content, "allowed_mentions": { "parse": [] } })
        }
        WebhookFormat::Teams => serde_json::json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        { "type": "TextBlock", "text": text.title, "weight": "Bolder", "wrap": true },
                        { "type": "TextBlock", "text": text.text, "wrap": true },
                    ],
                    "actions": text.link.as_ref().map(|link| vec![serde_json::json!({
                        "type": "Action.OpenUrl", "title": "Open in Herald", "url": link
                    })]).unwrap_or_default(),
                },
            }],
        }),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_example() {
        // From the Standard Webhooks reference libraries' tests.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("base64");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_event_reads_back_and_the_test_event_is_not_choosable() {
        for event in WebhookEvent::CHOOSABLE {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        assert!(!WebhookEvent::CHOOSABLE.contains(&WebhookEvent::Test));
        assert_eq!(WebhookEvent::parse("post.deleted"), None);
    }

    #[test]
    fn each_format_carries_the_title_and_the_link() {
        let text = EventText {
            title: "Post published".to_owned(),
            text: "On @sunnycafe".to_owned(),
            link: Some("https://h.example/posts/3".to_owned()),
            data: serde_json::json!({ "post_id": 3 }),
        };
        for format in WebhookFormat::ALL {
            let body = body(
                format,
                WebhookEvent::PostPublished,
                "2026-12-05T19:00:00Z",
                &text,
            );
            assert!(body.contains("Post published"), "{format:?}: {body}");
            assert!(
                body.contains("https://h.example/posts/3"),
                "{format:?}: {body}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
        }
        let standard = body(
            WebhookFormat::Standard,
            WebhookEvent::PostPublished,
            "t",
            &text,
        );
        assert!(
            standard.contains(r#""type":"post.published""#),
            "{standard}"
        );
    }
}
