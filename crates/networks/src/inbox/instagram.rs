//! An Instagram professional account's inbox (Instagram API with Instagram Login, the token
//! Herald holds): comments on its recent media and their replies
//! (`GET /{ig-user-id}/media` with `comments_count`, which moves with each comment or reply,
//! then `GET /{ig-media-id}/comments` with each comment's `replies`); media it is tagged in
//! (`GET /{ig-user-id}/tags`) as mentions; and direct messages
//! (`GET /{ig-user-id}/conversations?platform=instagram`, then
//! `GET /{conversation-id}/messages`), which need `instagram_business_manage_messages` — without
//! it the rest is read and a warning says why messages are not. The account's own replies
//! and messages are not inbox items. Walking, marks and cursors: [`super::meta`].
//!
//! Instagram lists comments with their replies nested, newest comment first: a comment counts
//! as new when it or one of its replies is, so a reply under an older comment is read while
//! that comment is on a page the walk reads (the newest pages).
//!
//! Replies: a comment is answered with `POST /{ig-comment-id}/replies` (under the top-level
//! comment: Instagram adds replies to a reply there anyway); a direct message privately with
//! `POST /{ig-user-id}/messages` (`recipient.id`, `message.text`). Instagram does not let an
//! app comment on media the account is only tagged in, so those mentions cannot be answered
//! from Herald.
//!
//! Followed: <https://developers.facebook.com/docs/instagram-platform/comment-moderation>,
//! <https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments>,
//! <https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies>,
//! <https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-instagram-login/mentions>
//! (`/tags`; commenting on media the account is tagged in is not supported),
//! <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/conversations-api>
//! and <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api>
//! (sending a message).

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::meta::{
    Found, GraphInbox, GraphPage, GraphTime, ReplyTo, Sent, Source, read_page, walk,
};
use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender};
use crate::graph::{Created, bearer, call, node};
use crate::instagram::Instagram;
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

const COMMENT_FIELDS: &str = "id,text,timestamp,username,from{id,username},replies{id,text,timestamp,username,from{id,username}}";
const TAG_FIELDS: &str = "id,caption,timestamp,username,permalink";
const MESSAGE_FIELDS: &str = "id,message,from,created_time";

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    comments_count: Option<u64>,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    #[serde(default)]
    updated_time: Option<GraphTime>,
}

#[derive(Deserialize, Default)]
struct Author {
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    #[serde(default)]
    text: String,
    timestamp: GraphTime,
    #[serde(default)]
    username: String,
    #[serde(default)]
    from: Option<Author>,
    #[serde(default)]
    replies: Option<GraphPage<Comment>>,
}

#[derive(Deserialize)]
struct Tagged {
    id: String,
    #[serde(default)]
    caption: String,
    timestamp: GraphTime,
    #[serde(default)]
    username: String,
    #[serde(default)]
    permalink: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    from: Option<Author>,
    created_time: GraphTime,
}

impl Instagram {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.endpoint.client.request(Method::GET, self.url(path))
    }
}

impl GraphInbox for Instagram {
    fn name(&self) -> &'static str {
        "Instagram"
    }

    async fn sources(
        &self,
        tokens: &Tokens,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Source>, NetworkError> {
        let account = node(&tokens.subject)?;
        let limit = limits.page_size.clamp(1, 100).to_string();
        let request = self
            .get(&format!("/{account}/media"))
            .query(&[("fields", "id,comments_count"), ("limit", &limit)]);
        let media: GraphPage<Media> = read_page(&self.endpoint, request, tokens, warnings).await?;
        let mut sources: Vec<Source> = media
            .data
            .into_iter()
            .map(|media| Source {
                count: Some(media.comments_count.unwrap_or_default()),
                ..Source::new("comments", &media.id)
            })
            .collect();
        sources.push(Source::new("tags", account));
        let request = self.get(&format!("/{account}/conversations")).query(&[
            ("platform", "instagram"),
            ("fields", "id,updated_time"),
            ("limit", &limit),
        ]);
        let conversations: Result<GraphPage<Conversation>, _> =
            read_page(&self.endpoint, request, tokens, warnings).await;
        match conversations {
            Ok(conversations) => {
                sources.extend(conversations.data.into_iter().map(|conversation| Source {
                    active: conversation.updated_time.map(|time| time.0),
                    ..Source::new("messages", &conversation.id)
                }));
            }
            // Without `instagram_business_manage_messages` the token cannot list
            // conversations; comments and mentions are still read.
            Err(NetworkError::Rejected(why)) => warnings.push(format!(
                "Instagram does not let Herald read this account's direct messages ({why}): connect it again allowing instagram_business_manage_messages"
            )),
            Err(error) => return Err(error),
        }
        Ok(sources)
    }

    async fn page(
        &self,
        tokens: &Tokens,
        source: &Source,
        after: Option<&str>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Found, NetworkError> {
        let id = node(&source.node)?;
        let limit = limits.page_size.clamp(1, 100).to_string();
        let fields = match source.edge.as_str() {
            "comments" => COMMENT_FIELDS,
            "tags" => TAG_FIELDS,
            "messages" => MESSAGE_FIELDS,
            other => {
                return Err(NetworkError::Rejected(format!(
                    "Herald does not read an Instagram account's {other}"
                )));
            }
        };
        let mut query = vec![("fields", fields), ("limit", limit.as_str())];
        if let Some(after) = after {
            query.push(("after", after));
        }
        let request = self.get(&format!("/{id}/{}", source.edge)).query(&query);
        match source.edge.as_str() {
            "comments" => {
                let page: GraphPage<Comment> =
                    read_page(&self.endpoint, request, tokens, warnings).await?;
                Ok(comments(tokens, page))
            }
            "tags" => {
                let page: GraphPage<Tagged> =
                    read_page(&self.endpoint, request, tokens, warnings).await?;
                Ok(tagged(page))
            }
            _ => {
                let page: GraphPage<Message> =
                    read_page(&self.endpoint, request, tokens, warnings).await?;
                Ok(messages(tokens, page))
            }
        }
    }
}

impl ReadInbox for Instagram {
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead> {
        Box::pin(walk(self, tokens, cursor, limits))
    }

    fn reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            match ReplyTo::parse(reply_to, "Instagram")? {
                ReplyTo::Comment { on } => {
                    let on = node(&on)?;
                    let request = self
                        .endpoint
                        .client
                        .post(self.url(&format!("/{on}/replies")))
                        .form(&[("message", post.text.as_str())]);
                    let created: Created = call(&self.endpoint, bearer(request, tokens)).await?;
                    Ok(Published {
                        remote_id: created.id,
                        url: None,
                    })
                }
                ReplyTo::Message { recipient } => {
                    let account = node(&tokens.subject)?;
                    let body = json!({
                        "recipient": { "id": recipient },
                        "message": { "text": post.text },
                    });
                    let request = self
                        .endpoint
                        .client
                        .post(self.url(&format!("/{account}/messages")))
                        .json(&body);
                    let sent: Sent = call(&self.endpoint, bearer(request, tokens)).await?;
                    Ok(Published {
                        remote_id: sent.message_id,
                        url: None,
                    })
                }
            }
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://help.instagram.com/contact/636276399721841"
    }
}

/// Comments and their replies; a comment's time, for the walk, is its newest activity.
fn comments(tokens: &Tokens, page: GraphPage<Comment>) -> Found {
    let after = page.after();
    let mut found = Found {
        after,
        ..Found::default()
    };
    for comment in page.data {
        let replies = comment
            .replies
            .map(|replies| replies.data)
            .unwrap_or_default();
        let newest = replies
            .iter()
            .map(|reply| reply.timestamp)
            .chain([comment.timestamp])
            .max()
            .unwrap_or(comment.timestamp);
        found.times.push(newest.0);
        let thread = comment.id.clone();
        for reply in replies {
            found
                .items
                .extend(comment_item(tokens, reply, IncomingKind::Reply, &thread));
        }
        let top = Comment {
            replies: None,
            ..comment
        };
        found
            .items
            .extend(comment_item(tokens, top, IncomingKind::Comment, &thread));
    }
    found
}

fn comment_item(
    tokens: &Tokens,
    comment: Comment,
    kind: IncomingKind,
    thread: &str,
) -> Option<Incoming> {
    let from = comment.from.unwrap_or_default();
    if from.id == tokens.subject {
        return None;
    }
    let username = if from.username.is_empty() {
        comment.username
    } else {
        from.username
    };
    Some(Incoming {
        key: comment.id,
        kind,
        sender: Sender {
            id: if from.id.is_empty() {
                username.clone()
            } else {
                from.id
            },
            handle: format!("@{username}"),
            display_name: username,
        },
        text: comment.text,
        url: None,
        reply_to: Some(
            ReplyTo::Comment {
                on: thread.to_owned(),
            }
            .json(),
        ),
        at: comment.timestamp.0,
    })
}

fn tagged(page: GraphPage<Tagged>) -> Found {
    let after = page.after();
    let times = page.data.iter().map(|media| media.timestamp.0).collect();
    let items = page
        .data
        .into_iter()
        .map(|media| Incoming {
            key: media.id,
            kind: IncomingKind::Mention,
            sender: Sender {
                id: media.username.clone(),
                handle: format!("@{}", media.username),
                display_name: media.username,
            },
            text: media.caption,
            url: media.permalink,
            reply_to: None,
            at: media.timestamp.0,
        })
        .collect();
    Found {
        items,
        times,
        after,
    }
}

fn messages(tokens: &Tokens, page: GraphPage<Message>) -> Found {
    let after = page.after();
    let times = page
        .data
        .iter()
        .map(|message| message.created_time.0)
        .collect();
    let items = page
        .data
        .into_iter()
        .filter_map(|message| {
            let from = message.from.unwrap_or_default();
            if from.id == tokens.subject || from.id.is_empty() {
                return None;
            }
            Some(Incoming {
                key: message.id,
                kind: IncomingKind::Message,
                sender: Sender {
                    id: from.id.clone(),
                    handle: format!("@{}", from.username),
                    display_name: from.username,
                },
                text: message.message,
                url: None,
                reply_to: Some(ReplyTo::Message { recipient: from.id }.json()),
                at: message.created_time.0,
            })
        })
        .collect();
    Found {
        items,
        times,
        after,
    }
}
