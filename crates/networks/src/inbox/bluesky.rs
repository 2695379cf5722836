//! Bluesky's inbox: `app.bsky.notification.listNotifications` (mentions, replies, quotes, new
//! followers; likes and reposts are not read), newest first, paged backwards with its
//! `cursor`; replies as posts whose record names the thread's `root` and `parent`.
//!
//! The list only goes backwards, so a read walks from the newest item down to the newest one
//! the previous read saw. The cursor Herald keeps says where that was (`seen`) and, while a
//! walk is unfinished, where it stopped (`walk`): the next read goes on down from there
//! before it starts again at the top, so nothing between is skipped.
//!
//! Direct messages are a second walk beside it ([`chat`]), kept in the same cursor under
//! `chat`; a cursor saved before Herald read them has none and still reads.
//!
//! Followed: <https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications>,
//! <https://docs.bsky.app/docs/advanced-guides/posts#replies> (root and parent strong refs).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod chat;

use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender, parse_page};
use crate::bluesky::{Bluesky, failure_of};
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

const LIST: &str = "app.bsky.notification.listNotifications";

/// The cursor Herald keeps for a Bluesky account.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    /// The newest `indexedAt` a finished walk reached.
    #[serde(default)]
    seen: Option<Timestamp>,
    /// An unfinished walk: the network's cursor to go on from, and the newest `indexedAt` the
    /// walk started from (which becomes `seen` when it ends).
    #[serde(default)]
    walk: Option<Walk>,
    /// Where the chat log was read to; `None` in cursors saved before Herald read chat, and
    /// until the app password may.
    #[serde(default)]
    chat: Option<chat::Position>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Walk {
    page: String,
    top: Timestamp,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    cursor: Option<String>,
    notifications: Vec<Notification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    uri: String,
    cid: String,
    author: Author,
    reason: String,
    #[serde(default)]
    record: Value,
    indexed_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Author {
    did: String,
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
}

impl Bluesky {
    /// One page of notifications below `cursor`; `Ok(None)` when the network refused the
    /// cursor itself (it no longer accepts it).
    async fn notifications(
        &self,
        tokens: &Tokens,
        cursor: Option<&str>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Page>, NetworkError> {
        let limit = limits.page_size.clamp(1, 100).to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let request = self.get(tokens, LIST).query(&query);
        let answer = self.send_as(tokens, request).await?;
        if let Some(failure) = failure_of(&answer) {
            let refused = answer.status == reqwest::StatusCode::BAD_REQUEST
                && matches!(failure, NetworkError::Rejected(_));
            if refused && cursor.is_some() {
                return Ok(None);
            }
            return Err(failure);
        }
        parse_page(&answer, warnings).map(Some)
    }
}

impl Bluesky {
    /// Walks the notifications from `position` (its `seen` and `walk`) as far as `limits`
    /// allow; whether there is more to read now.
    async fn read_notifications(
        &self,
        tokens: &Tokens,
        position: &mut Position,
        first_read: bool,
        limits: ReadLimits,
        read: &mut InboxRead,
    ) -> Result<bool, NetworkError> {
        let mut page_cursor = position.walk.as_ref().map(|walk| walk.page.clone());
        let mut top = position.walk.as_ref().map(|walk| walk.top);
        let mut pages = 0;
        while pages < limits.pages.max(1) {
            pages += 1;
            let Some(page) = self
                .notifications(tokens, page_cursor.as_deref(), limits, &mut read.warnings)
                .await?
            else {
                read.warnings.push(format!(
                    "Bluesky no longer accepts the cursor {}; the walk starts again at the newest (items already read are kept once)",
                    page_cursor.unwrap_or_default()
                ));
                page_cursor = None;
                top = None;
                continue;
            };
            let newest = page.notifications.iter().map(|n| n.indexed_at).max();
            let top_now = *top.get_or_insert(newest.or(position.seen).unwrap_or_default());
            let reached_seen = position
                .seen
                .is_some_and(|seen| page.notifications.iter().any(|n| n.indexed_at < seen));
            let seen = position.seen;
            read.items.extend(
                page.notifications
                    .into_iter()
                    .filter(|n| seen.is_none_or(|seen| n.indexed_at >= seen))
                    .filter_map(item),
            );
            if first_read || reached_seen || page.cursor.is_none() {
                position.seen = Some(top_now);
                position.walk = None;
                return Ok(false);
            }
            if page.cursor == page_cursor {
                read.warnings.push(format!(
                    "Bluesky served the page at cursor {} again; the walk goes on from there at the next read",
                    page_cursor.clone().unwrap_or_default()
                ));
                break;
            }
            page_cursor = page.cursor;
        }
        if let Some(page) = page_cursor {
            position.walk = Some(Walk {
                page,
                top: top.unwrap_or_default(),
            });
            return Ok(true);
        }
        Ok(false)
    }
}

impl ReadInbox for Bluesky {
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead> {
        Box::pin(async move {
            let mut read = InboxRead::default();
            let mut position: Position = match cursor {
                Some(cursor) => serde_json::from_str(cursor).unwrap_or_else(|_| {
                    read.warnings.push(
                        "the stored Bluesky cursor did not read; reading starts again at the newest"
                            .to_owned(),
                    );
                    Position::default()
                }),
                None => Position::default(),
            };
            let notifications_more = self
                .read_notifications(tokens, &mut position, cursor.is_none(), limits, &mut read)
                .await?;
            let chat_more = chat::read(self, tokens, &mut position.chat, limits, &mut read).await?;
            read.more = notifications_more || chat_more;
            read.cursor = Some(json!(position).to_string());
            Ok(read)
        })
    }

    fn reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            let reply: Value = serde_json::from_str(reply_to).map_err(|_| {
                NetworkError::Rejected("the item to answer is not a Bluesky post".to_owned())
            })?;
            if let Some(convo) = reply["convo"].as_str() {
                return chat::reply(self, tokens, convo, post).await;
            }
            if reply["root"]["uri"].as_str().is_none() || reply["parent"]["cid"].as_str().is_none()
            {
                return Err(NetworkError::Rejected(
                    "the item to answer has no thread references".to_owned(),
                ));
            }
            self.publish_with_reply(tokens, post, Some(reply)).await
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://bsky.social/about/support/community-guidelines"
    }
}

/// The item a notification is, if Herald reads its reason.
fn item(notification: Notification) -> Option<Incoming> {
    let kind = match notification.reason.as_str() {
        "mention" | "quote" => IncomingKind::Mention,
        "reply" => IncomingKind::Reply,
        "follow" => IncomingKind::Follower,
        _ => return None,
    };
    let sender = Sender {
        id: notification.author.did.clone(),
        handle: notification.author.handle,
        display_name: notification.author.display_name.unwrap_or_default(),
    };
    let (text, url, reply_to) = if kind == IncomingKind::Follower {
        (String::new(), None, None)
    } else {
        let parent = json!({ "uri": notification.uri, "cid": notification.cid });
        let root = match &notification.record["reply"]["root"] {
            Value::Object(root) if root.contains_key("uri") => Value::Object(root.clone()),
            _ => parent.clone(),
        };
        let rkey = notification.uri.rsplit('/').next().unwrap_or_default();
        (
            notification.record["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Some(format!(
                "https://bsky.app/profile/{}/post/{rkey}",
                notification.author.did
            )),
            Some(json!({ "root": root, "parent": parent }).to_string()),
        )
    };
    Some(Incoming {
        key: notification.uri,
        kind,
        sender,
        text,
        url,
        reply_to,
        at: notification.indexed_at,
    })
}
