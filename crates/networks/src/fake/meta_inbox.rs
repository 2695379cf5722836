//! The Facebook and Instagram fakes' inbox, in the Graph's words, over what tests sent with
//! [`FakeState::receive`]: comments (on two posts or media of the fake's own, alternating),
//! replies (under the latest comment before them), mentions (posts that tag the Page, media
//! the account is tagged in) and messages (one conversation per sender). Followers are not
//! listed: neither API has them. A deleted item is gone; a post whose comments are all
//! deleted is gone too, and reading it answers "does not exist".
//!
//! Every list is newest first with cursor pagination (`limit`, `after`, `paging.cursors`,
//! `paging.next` while there are older items), and reads draw the [`InboxFaults`]: throttling
//! (HTTP 400 with the network's code and the usage headers), the same page served whatever
//! the cursor, cursors refused, and conversations refused for want of the messaging
//! permission.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::FakeState;
use super::facebook::{graph_error, no_such_object, throttled};
use super::inbox::{FakeIncoming, InboxFaults, with_surrogates};
use crate::IncomingKind;

/// Which network's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    Facebook,
    Instagram,
}

/// The fake's own post (Facebook) or media (Instagram) that comment `id` is on: two, in turn.
pub fn commented_object(meta: Meta, id: u64) -> String {
    let slot = 1 + id % 2;
    match meta {
        Meta::Facebook => format!("{}_500000{slot}", super::facebook::PAGE_ID),
        Meta::Instagram => format!("1795000000000000{slot}"),
    }
}

/// The conversation the fake keeps with `sender_id`.
pub fn conversation_id(meta: Meta, sender_id: &str) -> String {
    let clean: String = sender_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    match meta {
        Meta::Facebook => format!("t_{clean}"),
        Meta::Instagram => format!("ig_conv_{clean}"),
    }
}

type Item = (u64, FakeIncoming, Timestamp);

/// One entry of a list: its cursor key and its JSON.
pub(crate) struct Entry {
    key: String,
    json: Value,
}

impl Meta {
    fn throttle_code(self) -> i64 {
        match self {
            Meta::Facebook => 80001,
            Meta::Instagram => 80002,
        }
    }

    /// Answers a read of `/{node}/{edge}` if it is one of the inbox's; `None` when it is not.
    pub(crate) fn read(
        self,
        state: &FakeState,
        account: &str,
        node: &str,
        edge: &str,
        params: &HashMap<String, String>,
    ) -> Option<Response> {
        let (items, faults) = state.incoming();
        let items: Vec<Item> = items
            .into_iter()
            .filter(|(_, item, _)| !item.deleted)
            .collect();
        let entries = match (node, edge) {
            (node, "conversations") if node == account => {
                if state.inbox_read_limited() {
                    return Some(throttled(self.throttle_code()));
                }
                if faults.messages_forbidden {
                    return Some(graph_error(
                        StatusCode::FORBIDDEN,
                        200,
                        "(#200) Requires the messaging permission to manage the object",
                    ));
                }
                self.conversations(&items)
            }
            (node, "tagged" | "tags") if node == account => {
                if state.inbox_read_limited() {
                    return Some(throttled(self.throttle_code()));
                }
                self.mentions(&items)
            }
            (conversation, "messages") => {
                if state.inbox_read_limited() {
                    return Some(throttled(self.throttle_code()));
                }
                let messages = self.messages(&items, conversation);
                if messages.is_empty() {
                    return Some(no_such_object(conversation));
                }
                messages
            }
            (object, "comments") => {
                if state.inbox_read_limited() {
                    return Some(throttled(self.throttle_code()));
                }
                if !self.objects(&items).iter().any(|(id, ..)| id == object) {
                    return Some(no_such_object(object));
                }
                self.comments(&items, object)
            }
            _ => return None,
        };
        Some(paged(entries, params, faults, node, edge))
    }

    /// The fake's commented posts or media, newest activity first: id, last activity, count.
    pub(crate) fn objects(self, items: &[Item]) -> Vec<(String, Timestamp, u64)> {
        let mut objects: Vec<(String, Timestamp, u64)> = Vec::new();
        for (id, _, at) in items.iter().filter(|(_, item, _)| commentish(item)) {
            let object = self.object_of(items, *id);
            match objects.iter_mut().find(|(known, ..)| *known == object) {
                Some((_, _, count)) => *count += 1,
                None => objects.push((object, *at, 1)),
            }
        }
        objects
    }

    /// The listing of commented objects as the posts or media lists show them.
    pub(crate) fn listed_objects(self, state: &FakeState) -> Vec<Value> {
        let (items, _) = state.incoming();
        let items: Vec<Item> = items
            .into_iter()
            .filter(|(_, item, _)| !item.deleted)
            .collect();
        self.objects(&items)
            .into_iter()
            .map(|(id, at, count)| match self {
                Meta::Facebook => json!({"id": id, "message": "Fresh bread today",
                    "updated_time": graph_time(at), "permalink_url": format!("https://www.facebook.com/{id}")}),
                Meta::Instagram => json!({"id": id, "caption": "Fresh bread today",
                    "comments_count": count, "permalink": format!("https://www.instagram.com/p/{id}/")}),
            })
            .collect()
    }

    /// The comment a reply item sits under: the latest comment received before it.
    fn parent_of(items: &[Item], id: u64) -> Option<u64> {
        items
            .iter()
            .filter(|(other, item, _)| *other < id && item.kind == IncomingKind::Comment)
            .map(|(other, ..)| *other)
            .max()
    }

    /// The object item `id` (a comment or a reply) is on.
    fn object_of(self, items: &[Item], id: u64) -> String {
        let reply = items
            .iter()
            .any(|(other, item, _)| *other == id && item.kind == IncomingKind::Reply);
        let top = if reply {
            Meta::parent_of(items, id).unwrap_or(id)
        } else {
            id
        };
        commented_object(self, top)
    }

    fn comments(self, items: &[Item], object: &str) -> Vec<Entry> {
        let on_object: Vec<&Item> = items
            .iter()
            .filter(|(id, item, _)| commentish(item) && self.object_of(items, *id) == object)
            .collect();
        let parent = |id: u64, item: &FakeIncoming| {
            (item.kind == IncomingKind::Reply)
                .then(|| Meta::parent_of(items, id))
                .flatten()
        };
        match self {
            // `filter=stream`: replies listed among comments, each naming its parent.
            Meta::Facebook => on_object
                .into_iter()
                .map(|(id, item, at)| {
                    let key = comment_id(self, *id);
                    let mut json = json!({"id": key, "message": item.text,
                        "from": {"id": item.sender_id, "name": item.sender_name},
                        "created_time": graph_time(*at),
                        "permalink_url": format!("https://www.facebook.com/{object}?comment_id={id}")});
                    if let Some(parent) = parent(*id, item) {
                        json["parent"] = json!({"id": comment_id(self, parent)});
                    }
                    Entry { key, json }
                })
                .collect(),
            // Top-level comments, each with its replies nested.
            Meta::Instagram => on_object
                .iter()
                .filter(|(id, item, _)| parent(*id, item).is_none())
                .map(|(id, item, at)| {
                    let replies: Vec<Value> = on_object
                        .iter()
                        .filter(|(other, reply, _)| parent(*other, reply) == Some(*id))
                        .map(|(other, reply, at)| ig_comment(self, *other, reply, *at))
                        .collect();
                    let mut json = ig_comment(self, *id, item, *at);
                    json["replies"] = json!({"data": replies});
                    Entry {
                        key: comment_id(self, *id),
                        json,
                    }
                })
                .collect(),
        }
    }

    fn mentions(self, items: &[Item]) -> Vec<Entry> {
        items
            .iter()
            .filter(|(_, item, _)| item.kind == IncomingKind::Mention)
            .map(|(id, item, at)| {
                let key = format!("177000000{id}");
                let json = match self {
                    Meta::Facebook => json!({"id": key, "message": item.text,
                        "from": {"id": item.sender_id, "name": item.sender_name},
                        "created_time": graph_time(*at),
                        "permalink_url": format!("https://www.facebook.com/{key}")}),
                    Meta::Instagram => json!({"id": key, "caption": item.text,
                        "username": item.sender_handle, "timestamp": graph_time(*at),
                        "permalink": format!("https://www.instagram.com/p/{key}/")}),
                };
                Entry { key, json }
            })
            .collect()
    }

    fn conversations(self, items: &[Item]) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for (_, item, at) in items
            .iter()
            .filter(|(_, item, _)| item.kind == IncomingKind::Message)
        {
            let key = conversation_id(self, &item.sender_id);
            if entries.iter().any(|entry| entry.key == key) {
                continue;
            }
            let json = json!({"id": key, "updated_time": graph_time(*at)});
            entries.push(Entry { key, json });
        }
        entries
    }

    fn messages(self, items: &[Item], conversation: &str) -> Vec<Entry> {
        items
            .iter()
            .filter(|(_, item, _)| {
                item.kind == IncomingKind::Message
                    && conversation_id(self, &item.sender_id) == conversation
            })
            .map(|(id, item, at)| {
                let key = format!("m_{id}");
                let from = match self {
                    Meta::Facebook => json!({"id": item.sender_id, "name": item.sender_name,
                        "email": format!("{}@facebook.com", item.sender_id)}),
                    Meta::Instagram => {
                        json!({"id": item.sender_id, "username": item.sender_handle})
                    }
                };
                let json = json!({"id": key, "message": item.text, "from": from,
                    "created_time": graph_time(*at)});
                Entry { key, json }
            })
            .collect()
    }
}

/// The ids an answer may be made under: every comment and reply, every commented post or
/// media, every post that mentions the account.
pub(crate) fn answerable(state: &FakeState, meta: Meta) -> Vec<String> {
    let (items, _) = state.incoming();
    let items: Vec<Item> = items
        .into_iter()
        .filter(|(_, item, _)| !item.deleted)
        .collect();
    let mut ids: Vec<String> = meta
        .objects(&items)
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    ids.extend(
        items
            .iter()
            .filter(|(_, item, _)| commentish(item))
            .map(|(id, ..)| comment_id(meta, *id)),
    );
    ids.extend(meta.mentions(&items).into_iter().map(|entry| entry.key));
    ids
}

/// Comments and replies are the items on the fake's posts.
fn commentish(item: &FakeIncoming) -> bool {
    matches!(item.kind, IncomingKind::Comment | IncomingKind::Reply)
}

/// An item's comment id: `{post}_{comment}` on Facebook, a number on Instagram.
pub fn comment_id(meta: Meta, id: u64) -> String {
    match meta {
        Meta::Facebook => format!("500000{}_{id}", 1 + id % 2),
        Meta::Instagram => format!("178000000{id}"),
    }
}

fn ig_comment(meta: Meta, id: u64, item: &FakeIncoming, at: Timestamp) -> Value {
    json!({"id": comment_id(meta, id), "text": item.text, "username": item.sender_handle,
        "from": {"id": item.sender_id, "username": item.sender_handle},
        "timestamp": graph_time(at)})
}

/// A time as the Graph writes it.
pub(crate) fn graph_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// One page of `entries` from `params`' `after` (as many as `limit`, 25 by default), with the
/// Graph's paging; or the error a fault or a bad cursor earns.
pub(crate) fn paged(
    entries: Vec<Entry>,
    params: &HashMap<String, String>,
    faults: InboxFaults,
    node: &str,
    edge: &str,
) -> Response {
    let limit = params
        .get("limit")
        .and_then(|limit| limit.parse::<usize>().ok())
        .unwrap_or(25)
        .max(1);
    let after = params.get("after");
    if after.is_some() && faults.reject_cursors {
        return invalid_cursor();
    }
    let start = match after {
        _ if faults.same_page => 0,
        None => 0,
        Some(after) => match entries
            .iter()
            .position(|entry| cursor(&entry.key) == *after)
        {
            Some(at) => at + 1,
            None => return invalid_cursor(),
        },
    };
    let page: Vec<&Entry> = entries.iter().skip(start).take(limit).collect();
    let more = start + page.len() < entries.len();
    let mut paging = json!({});
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let after = cursor(&last.key);
        paging["cursors"] = json!({"before": cursor(&first.key), "after": after});
        if more {
            paging["next"] = json!(format!(
                "https://graph.example/v23.0/{node}/{edge}?limit={limit}&after={after}"
            ));
        }
    }
    let data: Vec<&Value> = page.iter().map(|entry| &entry.json).collect();
    let body = with_surrogates(&json!({"data": data, "paging": paging}));
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// An opaque cursor for a list entry.
fn cursor(key: &str) -> String {
    let hex: String = key.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("QVFI{hex}")
}

fn invalid_cursor() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        "(#100) The after cursor is not valid or has expired",
    )
}

/// What an inbox reply the fake received named, kept with it as a post's `extra`.
pub(crate) fn reply_extra(kind: &str, named: Value) -> Value {
    json!({"inbox_reply": kind, "named": named})
}

/// Whether a post the fake holds is an answer from the inbox (a comment or a message), not
/// one of the Page's posts.
pub(crate) fn is_inbox_reply(extra: &Value) -> bool {
    extra.get("inbox_reply").is_some()
}
