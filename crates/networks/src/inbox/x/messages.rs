//! X's direct messages: `GET /2/dm_events` (the account's messages in every conversation, sent
//! and received, newest first, paged down with `pagination_token`; there is no `since_id`), read
//! as [`IncomingKind::Message`] items beside the mentions, and answered in the conversation
//! with `POST /2/dm_conversations/:dm_conversation_id/messages` (or, for a message that names
//! no conversation, `/2/dm_conversations/with/:participant_id/messages`): privately, never as a
//! post.
//!
//! The walk goes down from the newest event to the newest one a finished walk saw (`seen`);
//! one that stops at its bound keeps its page token and the newest id it started from
//! (`walk`), so the next read goes on down before it starts again at the top.
//!
//! The account's token needs the `dm.read` and `dm.write` scopes. X answers 403 to a token
//! without them (accounts connected before Herald asked for them): that is a warning, the
//! mentions are read all the same, and the messages wait until the account is connected again.
//!
//! Followed: <https://docs.x.com/x-api/direct-messages/lookup/introduction> and
//! <https://docs.x.com/x-api/direct-messages/lookup/integrate> (`dm_event.fields`,
//! `event_types=MessageCreate`, `expansions=sender_id`, `pagination_token`, scopes),
//! <https://docs.x.com/x-api/direct-messages/manage/introduction> (sending to a conversation or
//! a participant, `dm_event_id` in the answer), <https://docs.x.com/fundamentals/rate-limits>
//! (`x-rate-limit-reset`).

use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Includes, Meta};
use crate::inbox::{InboxRead, Incoming, IncomingKind, ReadLimits, Sender, id_after, parse_page};
use crate::x::{X, call, comparable, failure};
use crate::{NetworkError, Outgoing, Published, Tokens};

/// How far before the post's first attempt [`find`] looks for the answer it may have sent.
const FIND_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// Where the direct messages' walk is, inside the X cursor.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Position {
    /// The newest event id a finished walk saw.
    #[serde(default)]
    seen: Option<String>,
    #[serde(default)]
    walk: Option<Walk>,
}

/// An unfinished walk: X's page token to go on from, and the newest id it started from.
#[derive(Debug, Serialize, Deserialize)]
struct Walk {
    token: String,
    top: String,
}

/// What a reply to a direct message names: its conversation, and the sender for a message
/// that names none.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ReplyTo {
    #[serde(default)]
    dm_conversation: Option<String>,
    #[serde(default)]
    participant: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Event>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    dm_conversation_id: Option<String>,
    #[serde(default)]
    created_at: Option<Timestamp>,
}

#[derive(Deserialize)]
struct Sent {
    data: SentEvent,
}

#[derive(Deserialize)]
struct SentEvent {
    dm_event_id: String,
    #[serde(default)]
    dm_conversation_id: Option<String>,
}

/// One request's answer.
enum Events {
    Page(Page),
    /// 403: the token lacks the `dm.read` scope (or the app's tier has no direct messages).
    Forbidden(String),
    /// 400 to a page token: X no longer accepts it.
    TokenRefused,
}

impl ReplyTo {
    /// The direct-message reference in an item's `reply_to`, if it is one.
    pub(super) fn of(reply_to: &Value) -> Option<ReplyTo> {
        if reply_to.get("dm_conversation").is_none() && reply_to.get("participant").is_none() {
            return None;
        }
        serde_json::from_value(reply_to.clone()).ok()
    }
}

/// Walks the direct messages from `position` as far as `limits` allow (its own pages, beside
/// the mentions'); whether there is more to read now. `None` is a first read: the newest page
/// only.
pub(super) async fn read(
    x: &X,
    tokens: &Tokens,
    position: &mut Option<Position>,
    limits: ReadLimits,
    read: &mut InboxRead,
) -> Result<bool, NetworkError> {
    let first_read = position.is_none();
    let mut at = position.take().unwrap_or_default();
    let mut token = at.walk.as_ref().map(|walk| walk.token.clone());
    let mut top = at.walk.as_ref().map(|walk| walk.top.clone());
    let mut pages = 0;
    while pages < limits.pages.max(1) {
        pages += 1;
        let page = match events(x, tokens, token.as_deref(), limits, &mut read.warnings).await? {
            Events::Page(page) => page,
            Events::Forbidden(why) => {
                read.warnings.push(format!(
                    "X refused to show the account's direct messages ({why}); mentions are read, \
                     messages wait until the gatekeeper connects the account again (Herald now \
                     asks for the dm.read and dm.write scopes)"
                ));
                *position = (!first_read).then_some(at);
                return Ok(false);
            }
            Events::TokenRefused => {
                read.warnings.push(format!(
                    "X no longer accepts the direct messages' page token {}; the walk starts again at the newest (messages already read are kept once)",
                    token.unwrap_or_default()
                ));
                token = None;
                top = None;
                at.walk = None;
                continue;
            }
        };
        let newest = page
            .data
            .iter()
            .map(|event| event.id.as_str())
            .fold(None, |newest: Option<&str>, id| match newest {
                Some(newest) if !id_after(id, newest) => Some(newest),
                _ => Some(id),
            })
            .map(str::to_owned);
        let top_now = top
            .get_or_insert_with(|| newest.or(at.seen.clone()).unwrap_or_default())
            .clone();
        let seen = at.seen.clone();
        let reached_seen = seen
            .as_deref()
            .is_some_and(|seen| page.data.iter().any(|event| !id_after(&event.id, seen)));
        items(tokens, &page, seen.as_deref(), read);
        let next = page.meta.next_token.clone();
        if first_read || reached_seen || next.is_none() {
            *position = Some(Position {
                seen: Some(top_now).filter(|top| !top.is_empty()).or(seen),
                walk: None,
            });
            return Ok(false);
        }
        if next == token {
            read.warnings.push(format!(
                "X served the direct messages' page at token {} again; the walk goes on from there at the next poll",
                token.clone().unwrap_or_default()
            ));
            if let (Some(token), Some(top)) = (token, top) {
                at.walk = Some(Walk { token, top });
            }
            *position = Some(at);
            return Ok(false);
        }
        token = next;
    }
    let more = token.is_some();
    if let (Some(token), Some(top)) = (token, top) {
        at.walk = Some(Walk { token, top });
    }
    *position = Some(at);
    Ok(more)
}

/// Sends `post` to the conversation `to` names, as a direct message.
pub(super) async fn reply(
    x: &X,
    tokens: &Tokens,
    to: &ReplyTo,
    post: &Outgoing,
) -> Result<Published, NetworkError> {
    if !post.media.is_empty() {
        return Err(NetworkError::Rejected(
            "Herald answers X direct messages with text only".to_owned(),
        ));
    }
    let path = path_for(to, "messages")?;
    let request = x
        .authorized(tokens, Method::POST, &path)
        .json(&json!({ "text": post.text }));
    let sent: Sent = call(&x.endpoint, request).await?.json()?;
    let conversation = sent.data.dm_conversation_id.or(to.dm_conversation.clone());
    Ok(Published {
        remote_id: sent.data.dm_event_id,
        url: conversation.map(|conversation| conversation_url(&conversation)),
    })
}

/// The direct message an earlier attempt sent for `post` to the conversation `to` names, if X
/// has it: the account's own message there with the same text, sent since a little before the
/// post was first attempted (`GET /2/dm_conversations/:id/dm_events`, newest first; the
/// newest hundred are enough for an answer sent minutes ago).
pub(super) async fn find(
    x: &X,
    tokens: &Tokens,
    to: &ReplyTo,
    post: &Outgoing,
) -> Result<Option<Published>, NetworkError> {
    let path = path_for(to, "dm_events")?;
    let query = [
        ("event_types", "MessageCreate"),
        (
            "dm_event.fields",
            "id,text,event_type,created_at,sender_id,dm_conversation_id",
        ),
        ("max_results", "100"),
    ];
    let request = x.authorized(tokens, Method::GET, &path).query(&query);
    let mut warnings = Vec::new();
    let page: Page = parse_page(&call(&x.endpoint, request).await?, &mut warnings)?;
    let since = post
        .created_at
        .checked_sub(FIND_MARGIN)
        .unwrap_or(post.created_at);
    let wanted = comparable(&post.text);
    Ok(page
        .data
        .into_iter()
        .find(|event| {
            event.sender_id.as_deref() == Some(tokens.subject.as_str())
                && event.created_at.is_some_and(|at| at >= since)
                && comparable(&event.text) == wanted
        })
        .map(|event| Published {
            remote_id: event.id,
            url: event
                .dm_conversation_id
                .or(to.dm_conversation.clone())
                .map(|conversation| conversation_url(&conversation)),
        }))
}

/// `/2/dm_conversations/{conversation}/{tail}`, or `/with/{participant}/` for a message that
/// names no conversation. The ids go into the path: one plain segment each (X's are digits,
/// with a dash between the two ids of a conversation), never one that climbs or adds a query.
fn path_for(to: &ReplyTo, tail: &str) -> Result<String, NetworkError> {
    let plain = |id: &String| {
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && id.bytes().any(|b| b != b'.')
    };
    match (&to.dm_conversation, &to.participant) {
        (Some(conversation), _) if plain(conversation) => {
            Ok(format!("/2/dm_conversations/{conversation}/{tail}"))
        }
        (None, Some(participant)) if plain(participant) => {
            Ok(format!("/2/dm_conversations/with/{participant}/{tail}"))
        }
        _ => Err(NetworkError::Rejected(
            "the message to answer names no X conversation Herald can use".to_owned(),
        )),
    }
}

async fn events(
    x: &X,
    tokens: &Tokens,
    token: Option<&str>,
    limits: ReadLimits,
    warnings: &mut Vec<String>,
) -> Result<Events, NetworkError> {
    let max = limits.page_size.clamp(1, 100).to_string();
    let mut query = vec![
        ("event_types", "MessageCreate"),
        (
            "dm_event.fields",
            "id,text,event_type,created_at,sender_id,dm_conversation_id",
        ),
        ("expansions", "sender_id"),
        ("user.fields", "name,username"),
        ("max_results", max.as_str()),
    ];
    if let Some(token) = token {
        query.push(("pagination_token", token));
    }
    let request = x
        .authorized(tokens, Method::GET, "/2/dm_events")
        .query(&query);
    let answer = x.endpoint.send(request).await?;
    if answer.is_success() {
        return parse_page(&answer, warnings).map(Events::Page);
    }
    match answer.status {
        StatusCode::FORBIDDEN => Ok(Events::Forbidden(answer.status.to_string())),
        StatusCode::BAD_REQUEST if token.is_some() => Ok(Events::TokenRefused),
        _ => Err(failure(&answer)),
    }
}

/// The page's messages newer than `seen`, from others (the account's own answers are in the
/// same list), as items; events that cannot be placed are told in the warnings.
fn items(tokens: &Tokens, page: &Page, seen: Option<&str>, read: &mut InboxRead) {
    for event in &page.data {
        if event.event_type != "MessageCreate"
            || seen.is_some_and(|seen| !id_after(&event.id, seen))
        {
            continue;
        }
        let Some(sender) = event.sender_id.as_deref() else {
            read.warnings.push(format!(
                "X direct message {} came without its sender; it is left out",
                event.id
            ));
            continue;
        };
        if sender == tokens.subject {
            continue;
        }
        let Some(at) = event.created_at else {
            read.warnings.push(format!(
                "X direct message {} came without its time; it is left out",
                event.id
            ));
            continue;
        };
        let user = page.includes.users.iter().find(|user| user.id == sender);
        let reply_to = ReplyTo {
            dm_conversation: event.dm_conversation_id.clone(),
            participant: Some(sender.to_owned()),
        };
        read.items.push(Incoming {
            // Apart from mentions' keys (post ids), though X's ids never meet.
            key: format!("dm:{}", event.id),
            kind: IncomingKind::Message,
            sender: Sender {
                id: sender.to_owned(),
                handle: user.map_or_else(String::new, |user| format!("@{}", user.username)),
                display_name: user.map_or_else(String::new, |user| user.name.clone()),
            },
            text: event.text.clone(),
            url: event.dm_conversation_id.as_deref().map(conversation_url),
            reply_to: Some(json!(reply_to).to_string()),
            at,
        });
    }
}

/// Where the account's people see a conversation on x.com.
fn conversation_url(conversation: &str) -> String {
    format!("https://x.com/messages/{conversation}")
}
