//! A Facebook Page's inbox, with the Page token: comments and replies on the Page's recent
//! posts (`GET /{page-id}/posts` with `updated_time`, which moves when someone comments, then
//! `GET /{post-id}/comments?filter=stream&order=reverse_chronological`, which lists replies
//! too, with their `parent`); posts that mention (tag) the Page (`GET /{page-id}/tagged`); and
//! Messenger conversations (`GET /{page-id}/conversations?platform=messenger`, then
//! `GET /{conversation-id}/messages`), where the token has `pages_messaging` — without it the
//! rest is read and a warning says why messages are not. The Page's own comments and messages
//! are not inbox items. Walking, marks and cursors: [`super::meta`].
//!
//! Replies: a comment is answered under it (`POST /{comment-id}/comments`; a reply under its
//! top-level comment, as Facebook shows two levels), a mention under the post, and a message
//! privately through the Send API (`POST /{page-id}/messages` with `recipient.id`,
//! `messaging_type=RESPONSE` and `message.text`), which Messenger allows within 24 hours of the
//! person's last message.
//!
//! Followed: <https://developers.facebook.com/docs/graph-api/reference/object/comments>
//! (`filter=stream`, `order`, `parent`, publishing a comment),
//! <https://developers.facebook.com/docs/graph-api/reference/post/> (`updated_time`),
//! <https://developers.facebook.com/docs/graph-api/reference/page/tagged/>,
//! <https://developers.facebook.com/docs/messenger-platform/conversations> (conversations and
//! their messages, `pages_messaging`),
//! <https://developers.facebook.com/docs/messenger-platform/reference/send-api/> (the Send API,
//! `messaging_type`).

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::meta::{
    Found, GraphInbox, GraphPage, GraphTime, ReplyTo, Sent, Source, read_page, walk,
};
use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender};
use crate::facebook::Facebook;
use crate::graph::{Created, bearer, call, node};
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

const COMMENT_FIELDS: &str = "id,message,from{id,name},created_time,parent{id},permalink_url";
const MESSAGE_FIELDS: &str = "id,message,from{id,name},created_time";
const TAGGED_FIELDS: &str = "id,message,from{id,name},created_time,permalink_url";

#[derive(Deserialize)]
struct Listed {
    id: String,
    #[serde(default)]
    updated_time: Option<GraphTime>,
}

#[derive(Deserialize, Default)]
struct From {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    message: String,
    /// Absent when Meta does not say who wrote it.
    #[serde(default)]
    from: Option<From>,
    created_time: GraphTime,
    #[serde(default)]
    parent: Option<Parent>,
    #[serde(default)]
    permalink_url: Option<String>,
}

#[derive(Deserialize)]
struct Parent {
    id: String,
}

impl Facebook {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.endpoint.client.request(Method::GET, self.url(path))
    }

    async fn listed(
        &self,
        tokens: &Tokens,
        path: &str,
        query: &[(&str, &str)],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Listed>, NetworkError> {
        let request = self.get(path).query(query);
        let page: GraphPage<Listed> = read_page(&self.endpoint, request, tokens, warnings).await?;
        Ok(page.data)
    }
}

impl GraphInbox for Facebook {
    fn name(&self) -> &'static str {
        "Facebook"
    }

    async fn sources(
        &self,
        tokens: &Tokens,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Source>, NetworkError> {
        let page = node(&tokens.subject)?;
        let limit = limits.page_size.clamp(1, 100).to_string();
        let posts = self
            .listed(
                tokens,
                &format!("/{page}/posts"),
                &[("fields", "id,updated_time"), ("limit", &limit)],
                warnings,
            )
            .await?;
        let mut sources: Vec<Source> = posts
            .into_iter()
            .map(|post| listed_source("comments", post))
            .collect();
        sources.push(Source::new("tagged", page));
        let conversations = self
            .listed(
                tokens,
                &format!("/{page}/conversations"),
                &[
                    ("platform", "messenger"),
                    ("fields", "id,updated_time"),
                    ("limit", &limit),
                ],
                warnings,
            )
            .await;
        match conversations {
            Ok(conversations) => sources.extend(
                conversations
                    .into_iter()
                    .map(|conversation| listed_source("messages", conversation)),
            ),
            // Without `pages_messaging` (or the Page's MESSAGING task) the token cannot list
            // conversations; comments and mentions are still read.
            Err(NetworkError::Rejected(why)) => warnings.push(format!(
                "Facebook does not let Herald read this Page's messages ({why}): connect it again with a Page token that has pages_messaging"
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
        let mut query = vec![("limit", limit.as_str())];
        let kind = match source.edge.as_str() {
            "comments" => {
                query.extend([
                    ("filter", "stream"),
                    ("order", "reverse_chronological"),
                    ("fields", COMMENT_FIELDS),
                ]);
                IncomingKind::Comment
            }
            "messages" => {
                query.push(("fields", MESSAGE_FIELDS));
                IncomingKind::Message
            }
            "tagged" => {
                query.push(("fields", TAGGED_FIELDS));
                IncomingKind::Mention
            }
            other => {
                return Err(NetworkError::Rejected(format!(
                    "Herald does not read a Page's {other}"
                )));
            }
        };
        if let Some(after) = after {
            query.push(("after", after));
        }
        let request = self.get(&format!("/{id}/{}", source.edge)).query(&query);
        let page: GraphPage<Entry> = read_page(&self.endpoint, request, tokens, warnings).await?;
        let after = page.after();
        let times = page.data.iter().map(|entry| entry.created_time.0).collect();
        let items = page
            .data
            .into_iter()
            .filter_map(|entry| item(tokens, kind, entry))
            .collect();
        Ok(Found {
            items,
            times,
            after,
        })
    }
}

impl ReadInbox for Facebook {
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
            match ReplyTo::parse(reply_to, "Facebook")? {
                ReplyTo::Comment { on } => {
                    let on = node(&on)?;
                    let request = self
                        .endpoint
                        .client
                        .post(self.url(&format!("/{on}/comments")))
                        .form(&[("message", post.text.as_str())]);
                    let created: Created = call(&self.endpoint, bearer(request, tokens)).await?;
                    Ok(Published {
                        url: Some(format!("https://www.facebook.com/{}", created.id)),
                        remote_id: created.id,
                    })
                }
                ReplyTo::Message { recipient } => {
                    let page = node(&tokens.subject)?;
                    let body = json!({
                        "recipient": { "id": recipient },
                        "messaging_type": "RESPONSE",
                        "message": { "text": post.text },
                    });
                    let request = self
                        .endpoint
                        .client
                        .post(self.url(&format!("/{page}/messages")))
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
        "https://www.facebook.com/help/174210519303259"
    }
}

fn listed_source(edge: &str, listed: Listed) -> Source {
    Source {
        active: listed.updated_time.map(|time| time.0),
        ..Source::new(edge, &listed.id)
    }
}

/// The inbox item an entry is; the Page's own comments and messages are not.
fn item(tokens: &Tokens, kind: IncomingKind, entry: Entry) -> Option<Incoming> {
    let from = entry.from.unwrap_or_default();
    if from.id == tokens.subject {
        return None;
    }
    let (kind, reply_to) = match (kind, entry.parent) {
        (IncomingKind::Message, _) => (
            IncomingKind::Message,
            ReplyTo::Message {
                recipient: from.id.clone(),
            },
        ),
        (IncomingKind::Comment, Some(parent)) => {
            (IncomingKind::Reply, ReplyTo::Comment { on: parent.id })
        }
        (kind, _) => (
            kind,
            ReplyTo::Comment {
                on: entry.id.clone(),
            },
        ),
    };
    // A message from someone Meta does not name cannot be answered.
    let reply_to = (kind != IncomingKind::Message || !from.id.is_empty()).then(|| reply_to.json());
    Some(Incoming {
        key: entry.id,
        kind,
        sender: Sender {
            id: from.id,
            handle: from.name.clone(),
            display_name: from.name,
        },
        text: entry.message,
        url: entry.permalink_url,
        reply_to,
        at: entry.created_time.0,
    })
}
