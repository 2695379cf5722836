//! Bluesky's direct messages (chat): `chat.bsky.convo.getLog`, the account's log of chat events
//! read forward from its cursor (`rev`), with each conversation's members from
//! `chat.bsky.convo.getConvo`; answered in the conversation with `chat.bsky.convo.sendMessage`:
//! privately, never as a post. Every call goes to the account's PDS with the service-proxy
//! header `atproto-proxy: did:web:api.bsky.chat#bsky_chat`, and the PDS passes it on to
//! Bluesky's chat service.
//!
//! The cursor Herald keeps is the log's cursor after the last page read (`log`). A first read
//! (no cursor: also every cursor saved before Herald read chat) takes the newest page. The log
//! has no page size to ask for; [`ReadLimits::pages`] bounds how many pages one read takes.
//!
//! The PDS proxies chat only for an app password made with "Allow access to your direct
//! messages" (the privileged kind); others get `InvalidToken` ("Bad token scope"). Then, as
//! for a PDS that does not reach the chat service at all, the notifications are read all the
//! same and a warning says what the gatekeeper must do. Only a rate limit stops the read (to
//! wait for its reset).
//!
//! Followed: <https://docs.bsky.app/docs/api/chat-bsky-convo-get-log>,
//! <https://docs.bsky.app/docs/api/chat-bsky-convo-get-convo>,
//! <https://docs.bsky.app/docs/api/chat-bsky-convo-send-message>, the `chat.bsky.convo.defs`
//! lexicon (`logCreateMessage`, `logDeleteMessage`, `messageView`, `deletedMessageView`) in
//! <https://github.com/bluesky-social/atproto/tree/main/lexicons/chat/bsky/convo>,
//! <https://atproto.com/specs/xrpc#service-proxying> (the `atproto-proxy` header) and
//! <https://docs.bsky.app/docs/advanced-guides/rate-limits> (`RateLimit-Reset`).

use std::collections::HashMap;

use jiff::Timestamp;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bluesky::{Bluesky, error_parts, expect_json, failure_of};
use crate::inbox::{InboxRead, Incoming, IncomingKind, ReadLimits, Sender, parse_page};
use crate::{NetworkError, Outgoing, Published, Tokens};

/// The service-proxy header's value: Bluesky's chat service and its service id.
pub const CHAT_PROXY: &str = "did:web:api.bsky.chat#bsky_chat";
const GET_LOG: &str = "chat.bsky.convo.getLog";
const GET_CONVO: &str = "chat.bsky.convo.getConvo";
const SEND_MESSAGE: &str = "chat.bsky.convo.sendMessage";
const CREATE: &str = "chat.bsky.convo.defs#logCreateMessage";
const DELETE: &str = "chat.bsky.convo.defs#logDeleteMessage";
const DELETED_VIEW: &str = "chat.bsky.convo.defs#deletedMessageView";

/// Where the chat log was read to, inside the Bluesky cursor.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Position {
    #[serde(default)]
    log: Option<String>,
}

#[derive(Deserialize)]
struct LogPage {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    logs: Vec<Log>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    #[serde(rename = "$type", default)]
    kind: String,
    #[serde(default)]
    convo_id: String,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    #[serde(rename = "$type", default)]
    kind: String,
    id: String,
    #[serde(default)]
    text: String,
    sender: MessageSender,
    sent_at: Timestamp,
}

#[derive(Deserialize)]
struct MessageSender {
    did: String,
}

#[derive(Deserialize)]
struct ConvoAnswer {
    convo: Convo,
}

#[derive(Deserialize)]
struct Convo {
    #[serde(default)]
    members: Vec<Member>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    did: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

/// One read of the log.
enum Read {
    Page(LogPage),
    /// The PDS would not pass the request to the chat service: why, for the warning.
    NoChat(String),
    /// The chat service no longer accepts the cursor.
    CursorRefused,
    /// The chat service could not be read now (it is down, or the PDS cannot reach it).
    Unreachable(String),
}

/// Reads the chat log from `position` as far as `limits` allow; whether there is more to read
/// now. `None` is a first read: the newest page only.
pub(super) async fn read(
    bluesky: &Bluesky,
    tokens: &Tokens,
    position: &mut Option<Position>,
    limits: ReadLimits,
    read: &mut InboxRead,
) -> Result<bool, NetworkError> {
    let first_read = position.is_none();
    let mut cursor = position.as_ref().and_then(|position| position.log.clone());
    let mut messages = Vec::new();
    let mut more = true;
    for _ in 0..limits.pages.max(1) {
        let page = match log(bluesky, tokens, cursor.as_deref(), &mut read.warnings).await? {
            Read::Page(page) => page,
            Read::NoChat(why) => {
                read.warnings.push(format!(
                    "Bluesky chat is not open to Herald ({why}); notifications are read, direct \
                     messages are not until the gatekeeper connects the account with an app \
                     password made with \"Allow access to your direct messages\""
                ));
                return Ok(false);
            }
            Read::Unreachable(why) => {
                read.warnings.push(format!(
                    "Bluesky chat could not be read ({why}); notifications are read, direct \
                     messages wait for the next poll"
                ));
                return Ok(false);
            }
            Read::CursorRefused => {
                read.warnings.push(format!(
                    "Bluesky chat no longer accepts the log cursor {}; reading goes on from the newest messages, and any that came between may be missing",
                    cursor.unwrap_or_default()
                ));
                cursor = None;
                continue;
            }
        };
        let repeated = page.cursor.is_some() && page.cursor == cursor && !page.logs.is_empty();
        let ended = page.logs.is_empty() || page.cursor.is_none();
        collect(tokens, page.logs, &mut messages, &mut read.warnings);
        if repeated {
            read.warnings.push(format!(
                "Bluesky chat served the log after {} again; reading goes on from there at the next poll",
                cursor.clone().unwrap_or_default()
            ));
            more = false;
            break;
        }
        cursor = page.cursor.or(cursor);
        if first_read || ended {
            more = false;
            break;
        }
    }
    let members = members(bluesky, tokens, &messages, &mut read.warnings).await?;
    for (convo, message) in messages {
        let member = members.get(&message.sender.did);
        read.items.push(Incoming {
            key: format!("chat:{convo}:{}", message.id),
            kind: IncomingKind::Message,
            sender: Sender {
                id: message.sender.did.clone(),
                handle: member.map_or_else(
                    || message.sender.did.clone(),
                    |member| member.handle.clone(),
                ),
                display_name: member
                    .and_then(|member| member.display_name.clone())
                    .unwrap_or_default(),
            },
            text: message.text,
            url: Some(convo_url(&convo)),
            reply_to: Some(json!({ "convo": convo }).to_string()),
            at: message.sent_at,
        });
    }
    *position = Some(Position { log: cursor });
    Ok(more)
}

/// Sends `post` to conversation `convo` as a chat message.
pub(super) async fn reply(
    bluesky: &Bluesky,
    tokens: &Tokens,
    convo: &str,
    post: &Outgoing,
) -> Result<Published, NetworkError> {
    if !post.media.is_empty() {
        return Err(NetworkError::Rejected(
            "Herald answers Bluesky direct messages with text only".to_owned(),
        ));
    }
    let request = bluesky
        .post(tokens, SEND_MESSAGE)
        .header("atproto-proxy", CHAT_PROXY)
        .json(&json!({ "convoId": convo, "message": { "text": post.text } }));
    let sent: SentMessage = expect_json(bluesky.send_as(tokens, request).await?)?;
    Ok(Published {
        remote_id: sent.id,
        url: Some(convo_url(convo)),
    })
}

async fn log(
    bluesky: &Bluesky,
    tokens: &Tokens,
    cursor: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Read, NetworkError> {
    let mut request = bluesky
        .get(tokens, GET_LOG)
        .header("atproto-proxy", CHAT_PROXY);
    if let Some(cursor) = cursor {
        request = request.query(&[("cursor", cursor)]);
    }
    let answer = bluesky.send_as(tokens, request).await?;
    let Some(failure) = failure_of(&answer) else {
        return parse_page(&answer, warnings).map(Read::Page);
    };
    if matches!(failure, NetworkError::RateLimited { .. }) {
        return Err(failure);
    }
    let (name, message) = error_parts(&answer);
    if answer.status == StatusCode::BAD_REQUEST && name == "InvalidRequest" && cursor.is_some() {
        return Ok(Read::CursorRefused);
    }
    // The notifications were just read with the same token, so a refusal of the token here
    // is about chat: an app password without the privilege. A PDS that does not reach the
    // chat service (none configured, or it is down) must not stop the notifications either.
    let why = format!("{} {name}: {message}", answer.status);
    let refused_token = name == "InvalidToken"
        || matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_IMPLEMENTED
        );
    if refused_token {
        return Ok(Read::NoChat(why));
    }
    Ok(Read::Unreachable(why))
}

/// The log's new messages from others, with their conversations; deleted ones told in the
/// warnings (one already read stays in Herald).
fn collect(
    tokens: &Tokens,
    logs: Vec<Log>,
    messages: &mut Vec<(String, Message)>,
    warnings: &mut Vec<String>,
) {
    for log in logs {
        let Some(message) = log.message else {
            continue;
        };
        match log.kind.as_str() {
            CREATE if message.kind == DELETED_VIEW => warnings.push(format!(
                "Bluesky chat message {} was deleted before Herald read it; it is left out",
                message.id
            )),
            CREATE if message.sender.did != tokens.subject => {
                messages.push((log.convo_id, message));
            }
            DELETE => warnings.push(format!(
                "Bluesky chat message {} was deleted by its sender; Herald keeps what it read",
                message.id
            )),
            _ => {}
        }
    }
}

/// The members of each conversation the messages are in, by DID.
async fn members(
    bluesky: &Bluesky,
    tokens: &Tokens,
    messages: &[(String, Message)],
    warnings: &mut Vec<String>,
) -> Result<HashMap<String, Member>, NetworkError> {
    let mut members = HashMap::new();
    let mut asked: Vec<&str> = Vec::new();
    for (convo, _) in messages {
        if asked.contains(&convo.as_str()) {
            continue;
        }
        asked.push(convo);
        let request = bluesky
            .get(tokens, GET_CONVO)
            .header("atproto-proxy", CHAT_PROXY)
            .query(&[("convoId", convo)]);
        let answer = bluesky.send_as(tokens, request).await?;
        match failure_of(&answer) {
            Some(failure @ NetworkError::RateLimited { .. }) => return Err(failure),
            Some(failure) => {
                // The messages are kept; their senders are named by their DIDs only.
                warnings.push(format!(
                    "Bluesky chat did not name the members of conversation {convo}: {failure}"
                ));
                continue;
            }
            None => {}
        }
        let answer: ConvoAnswer = parse_page(&answer, warnings)?;
        for member in answer.convo.members {
            members.insert(member.did.clone(), member);
        }
    }
    Ok(members)
}

/// Where the account's people see a conversation on bsky.app.
fn convo_url(convo: &str) -> String {
    format!("https://bsky.app/messages/{convo}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_and_own_messages_are_left_out_of_the_log() {
        let tokens = Tokens::bearer("t".to_owned().into(), "did:plc:me".to_owned());
        let logs: Vec<Log> = serde_json::from_value(json!([
            { "$type": CREATE, "rev": "1", "convoId": "c1",
              "message": { "$type": "chat.bsky.convo.defs#messageView", "id": "m1", "rev": "1",
                           "text": "hi", "sender": { "did": "did:plc:ann" },
                           "sentAt": "2026-12-01T08:00:00.000Z" } },
            { "$type": CREATE, "rev": "2", "convoId": "c1",
              "message": { "$type": "chat.bsky.convo.defs#messageView", "id": "m2", "rev": "2",
                           "text": "ours", "sender": { "did": "did:plc:me" },
                           "sentAt": "2026-12-01T08:00:01.000Z" } },
            { "$type": CREATE, "rev": "3", "convoId": "c1",
              "message": { "$type": DELETED_VIEW, "id": "m3", "rev": "3",
                           "sender": { "did": "did:plc:ann" },
                           "sentAt": "2026-12-01T08:00:02.000Z" } },
            { "$type": "chat.bsky.convo.defs#logBeginConvo", "rev": "4", "convoId": "c2" },
        ]))
        .expect("logs");
        let mut messages = Vec::new();
        let mut warnings = Vec::new();
        collect(&tokens, logs, &mut messages, &mut warnings);
        let ids: Vec<&str> = messages.iter().map(|(_, m)| m.id.as_str()).collect();
        assert_eq!(ids, ["m1"]);
        assert!(warnings.iter().any(|w| w.contains("m3")), "{warnings:?}");
    }
}
