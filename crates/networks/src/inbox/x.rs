//! X's inbox: the mentions timeline (`GET /2/users/:id/mentions`: mentions, and replies to
//! the account, which mention it), newest first, bounded below by `since_id` and paged down
//! with `pagination_token`; replies as posts with `reply.in_reply_to_tweet_id`. Direct
//! messages are a second walk beside it ([`messages`]), answered in their conversation.
//!
//! The cursor Herald keeps is the newest id a finished walk saw (`since`) and, while a walk is
//! unfinished, its page token and the newest id it started from: the next read goes on down
//! to `since` before it starts again at the top, so nothing between is skipped. The direct
//! messages' walk is kept the same way under `messages`; a cursor saved before Herald read
//! them has no `messages` and still reads (their walk starts at the newest page).
//!
//! Followed: <https://docs.x.com/x-api/posts/timelines/introduction> (mentions timeline,
//! `since_id`, `pagination_token`, `meta.next_token`, `expansions=author_id`),
//! <https://docs.x.com/x-api/posts/manage-tweets/introduction> (`reply.in_reply_to_tweet_id`).

use jiff::Timestamp;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

mod messages;

use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender, parse_page};
use crate::x::{X, call, published};
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    walk: Option<Walk>,
    /// The direct messages' walk; `None` in cursors saved before Herald read them, and until
    /// the account may read them.
    #[serde(default)]
    messages: Option<messages::Position>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Walk {
    token: String,
    top: String,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    author_id: String,
    created_at: Timestamp,
    #[serde(default)]
    in_reply_to_user_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Includes {
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    newest_id: Option<String>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedTweet,
}

#[derive(Deserialize)]
struct CreatedTweet {
    id: String,
}

impl X {
    async fn mentions(
        &self,
        tokens: &Tokens,
        since: Option<&str>,
        token: Option<&str>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Page, NetworkError> {
        let max = limits.page_size.clamp(5, 100).to_string();
        let mut query = vec![
            ("max_results", max.as_str()),
            ("expansions", "author_id"),
            ("user.fields", "name,username"),
            ("tweet.fields", "created_at,in_reply_to_user_id,author_id"),
        ];
        if let Some(since) = since {
            query.push(("since_id", since));
        }
        if let Some(token) = token {
            query.push(("pagination_token", token));
        }
        let path = format!("/2/users/{}/mentions", tokens.subject);
        let request = self.authorized(tokens, Method::GET, &path).query(&query);
        let answer = call(&self.endpoint, request).await?;
        parse_page(&answer, warnings)
    }
}

impl X {
    /// Walks the mentions from `position` (its `since` and `walk`) as far as `limits` allow;
    /// whether there is more to read now.
    async fn read_mentions(
        &self,
        tokens: &Tokens,
        position: &mut Position,
        first_read: bool,
        limits: ReadLimits,
        read: &mut InboxRead,
    ) -> Result<bool, NetworkError> {
        let mut token = position.walk.as_ref().map(|walk| walk.token.clone());
        let mut top = position.walk.as_ref().map(|walk| walk.top.clone());
        for _ in 0..limits.pages.max(1) {
            let page = self
                .mentions(
                    tokens,
                    position.since.as_deref(),
                    token.as_deref(),
                    limits,
                    &mut read.warnings,
                )
                .await?;
            if top.is_none() {
                top = page.meta.newest_id.clone().or(position.since.clone());
            }
            read.items.extend(items(tokens, &page));
            let next = page.meta.next_token.clone();
            if first_read || next.is_none() {
                position.since = top;
                position.walk = None;
                return Ok(false);
            }
            if next == token {
                read.warnings.push(
                    "X served the same page of mentions again; the walk goes on from there at the next read"
                        .to_owned(),
                );
                break;
            }
            token = next;
        }
        if let (Some(token), Some(top)) = (token, top) {
            position.walk = Some(Walk { token, top });
            return Ok(true);
        }
        Ok(false)
    }
}

impl ReadInbox for X {
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
                        "the stored X cursor did not read; reading starts again at the newest"
                            .to_owned(),
                    );
                    Position::default()
                }),
                None => Position::default(),
            };
            let mentions_more = self
                .read_mentions(tokens, &mut position, cursor.is_none(), limits, &mut read)
                .await?;
            let messages_more =
                messages::read(self, tokens, &mut position.messages, limits, &mut read).await?;
            read.more = mentions_more || messages_more;
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
            let to: serde_json::Value = serde_json::from_str(reply_to).map_err(|_| {
                NetworkError::Rejected("the item to answer is not an X post".to_owned())
            })?;
            if let Some(to) = messages::ReplyTo::of(&to) {
                return messages::reply(self, tokens, &to, post).await;
            }
            let Some(tweet) = to["tweet"].as_str() else {
                return Err(NetworkError::Rejected(
                    "the item to answer names no X post".to_owned(),
                ));
            };
            let body = json!({ "text": post.text, "reply": { "in_reply_to_tweet_id": tweet } });
            let request = self
                .authorized(tokens, Method::POST, "/2/tweets")
                .json(&body);
            let created: Created = call(&self.endpoint, request).await?.json()?;
            Ok(published(created.data.id))
        })
    }

    fn find_reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(async move {
            let to: serde_json::Value = serde_json::from_str(reply_to).unwrap_or_default();
            match messages::ReplyTo::of(&to) {
                Some(to) => messages::find(self, tokens, &to, post).await,
                None => crate::Adapter::find(self, tokens, post).await,
            }
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://help.x.com/en/forms/authenticity/impersonation"
    }
}

fn items<'a>(tokens: &'a Tokens, page: &'a Page) -> impl Iterator<Item = Incoming> + 'a {
    page.data.iter().map(move |tweet| {
        let user = page
            .includes
            .users
            .iter()
            .find(|user| user.id == tweet.author_id);
        let kind = if tweet.in_reply_to_user_id.as_deref() == Some(tokens.subject.as_str()) {
            IncomingKind::Reply
        } else {
            IncomingKind::Mention
        };
        Incoming {
            key: tweet.id.clone(),
            kind,
            sender: Sender {
                id: tweet.author_id.clone(),
                handle: user.map_or_else(String::new, |user| format!("@{}", user.username)),
                display_name: user.map_or_else(String::new, |user| user.name.clone()),
            },
            text: tweet.text.clone(),
            url: Some(format!("https://x.com/i/web/status/{}", tweet.id)),
            reply_to: Some(json!({ "tweet": tweet.id }).to_string()),
            at: tweet.created_at,
        }
    })
}
