//! Threads' inbox: the profile's mentions (`GET /{threads-user-id}/mentions`, needs
//! `threads_manage_mentions`) and the replies under its recent posts (the posts from
//! `GET /{threads-user-id}/threads` with `has_replies`, then
//! `GET /{threads-media-id}/conversation` with `reverse=true`, every reply at any depth,
//! newest first; needs `threads_read_replies`), each paged with the Graph's `after` cursor
//! and walked as `walk.rs` describes. The profile's own replies are left out. Answers are
//! Threads posts naming the item as `reply_to_id` (container, then `threads_publish`).
//!
//! Followed: <https://developers.facebook.com/docs/threads/threads-mentions> (mentions, their
//! fields), <https://developers.facebook.com/documentation/threads/retrieve-and-manage-replies/replies-and-conversations>
//! and <https://developers.facebook.com/documentation/threads/reference/reply-management>
//! (`conversation`, `reverse`, `before`/`after` cursors, `is_reply_owned_by_me`),
//! <https://developers.facebook.com/documentation/threads/retrieve-and-manage-replies/create-replies>
//! (`reply_to_id`). Throttling is the Graph's (codes 4, 17, 613 and the usage headers:
//! [`crate::graph`]). Threads has no direct messages in its API, and no follower events.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::walk::{self, List, Listed, Lists};
use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender, parse_page};
use crate::graph::{bearer, error_code, failure, node};
use crate::threads::Threads;
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

/// How many of the profile's latest posts have their replies read.
const RECENT_POSTS: &str = "10";

/// The fields of a mention or a reply.
const FIELDS: &str = "id,text,username,permalink,timestamp,is_reply_owned_by_me";

/// The Graph's "invalid parameter" code, which a cursor it no longer takes and an object
/// that no longer exists both answer with.
const INVALID: i64 = 100;

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize, Default)]
struct Paging {
    #[serde(default)]
    cursors: Cursors,
    /// Present only when there is a page after this one.
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    is_reply_owned_by_me: Option<bool>,
}

#[derive(Deserialize)]
struct OwnPost {
    id: String,
    #[serde(default)]
    has_replies: Option<bool>,
}

impl Lists for Threads {
    const NAME: &'static str = "Threads";

    fn recent_posts<'a>(
        &'a self,
        tokens: &'a Tokens,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Vec<String>> {
        Box::pin(async move {
            let user = node(&tokens.subject)?;
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{user}/threads")))
                .query(&[("fields", "id,has_replies"), ("limit", RECENT_POSTS)]);
            let answer = self.endpoint.call(bearer(request, tokens), failure).await?;
            let page: Page<OwnPost> = parse_page(&answer, warnings)?;
            Ok(page
                .data
                .into_iter()
                .filter(|post| post.has_replies != Some(false))
                .map(|post| post.id)
                .collect())
        })
    }

    fn page<'a>(
        &'a self,
        tokens: &'a Tokens,
        list: List<'a>,
        page: Option<&'a str>,
        _floor: Option<i64>,
        limits: ReadLimits,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Listed> {
        Box::pin(async move {
            let (path, kind) = match list {
                List::Mentions => (
                    format!("/{}/mentions", node(&tokens.subject)?),
                    IncomingKind::Mention,
                ),
                List::Post(post) => (
                    format!("/{}/conversation", node(post)?),
                    IncomingKind::Reply,
                ),
            };
            let limit = limits.page_size.clamp(1, 100).to_string();
            let mut query = vec![("fields", FIELDS), ("limit", limit.as_str())];
            if matches!(list, List::Post(_)) {
                query.push(("reverse", "true"));
            }
            if let Some(after) = page {
                query.push(("after", after));
            }
            let request = self.endpoint.client.get(self.url(&path)).query(&query);
            let answer = self.endpoint.send(bearer(request, tokens)).await?;
            if !answer.is_success() {
                let invalid = answer.status == reqwest::StatusCode::BAD_REQUEST
                    && error_code(&answer) == Some(INVALID);
                return match (invalid, page, list) {
                    (true, Some(_), _) => Ok(Listed::Refused),
                    (true, None, List::Post(_)) => Ok(Listed::Gone),
                    _ => Err(failure(&answer)),
                };
            }
            let listed: Page<Media> = parse_page(&answer, warnings)?;
            let next = listed
                .paging
                .next
                .and(listed.paging.cursors.after)
                .filter(|after| !after.is_empty());
            let items = listed
                .data
                .into_iter()
                .filter(|media| media.is_reply_owned_by_me != Some(true))
                .filter_map(|media| item(media, kind, warnings))
                .collect();
            Ok(Listed::Page { items, next })
        })
    }
}

impl ReadInbox for Threads {
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead> {
        Box::pin(walk::read(self, tokens, cursor, limits))
    }

    fn reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            let to: serde_json::Value = serde_json::from_str(reply_to).map_err(|_| {
                NetworkError::Rejected("the item to answer is not a Threads post".to_owned())
            })?;
            let Some(media) = to["media"].as_str() else {
                return Err(NetworkError::Rejected(
                    "the item to answer names no Threads post".to_owned(),
                ));
            };
            self.publish_thread(tokens, post, Some(media)).await
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://help.instagram.com/contact/636276399721841"
    }
}

/// The item a mention or reply is; one without a time Herald can read is told in `warnings`
/// and left out.
fn item(media: Media, kind: IncomingKind, warnings: &mut Vec<String>) -> Option<Incoming> {
    let Some(at) = media.timestamp.as_deref().and_then(graph_time) else {
        warnings.push(format!(
            "Threads post {} came without a time Herald can read; it is left out",
            media.id
        ));
        return None;
    };
    let username = media.username.unwrap_or_default();
    Some(Incoming {
        reply_to: Some(json!({ "media": media.id }).to_string()),
        key: media.id,
        kind,
        sender: Sender {
            // Threads names the author only by username (and only for public profiles).
            id: username.clone(),
            handle: if username.is_empty() {
                String::new()
            } else {
                format!("@{username}")
            },
            display_name: String::new(),
        },
        text: media.text.unwrap_or_default(),
        url: media.permalink,
        at,
    })
}

/// A Graph time: ISO 8601 with the offset written `+0000`, or RFC 3339.
fn graph_time(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok().or_else(|| {
        jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", text)
            .ok()?
            .to_timestamp()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_read_with_either_offset_form() {
        let expected = Timestamp::from_second(1_796_112_001).expect("time");
        assert_eq!(graph_time("2026-12-01T08:00:01+0000"), Some(expected));
        assert_eq!(graph_time("2026-12-01T08:00:01Z"), Some(expected));
        assert_eq!(graph_time("yesterday"), None);
    }
}
