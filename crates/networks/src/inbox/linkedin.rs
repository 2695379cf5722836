//! LinkedIn's inbox, for an organization page (the Community Management API): posts that
//! mention the organization (the Organization Social Action Notifications' pull finder,
//! `GET /rest/organizationalEntityNotifications?q=criteria` with `actions=List(SHARE_MENTION)`,
//! each post then read with `GET /rest/posts/{urn}`) and the comments on its recent posts
//! (the Posts API's author finder, then `GET /rest/socialActions/{post}/comments` each), both
//! paged with `start` and `count` and walked as `walk.rs` describes. The organization's own
//! comments are left out. Answers are comments (`POST /rest/socialActions/{urn}/comments`),
//! under a comment with `parentComment`, or on a post that mentioned the organization.
//!
//! Followed: <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-social-action-notifications>
//! (the criteria finder, `SHARE_MENTION`, `sourcePost`, `lastModifiedAt`; notifications are
//! kept 60 days), <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api>
//! (comments on a post, `commentUrn`, `created.time`, `message.text`, nested comments with
//! `parentComment`), <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>
//! (reading a post) and <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits>
//! (429; the daily quotas reset at midnight UTC, and no header says when: the answer's `Date`
//! says which day it is at LinkedIn). Requests are Rest.li 2.0: URNs in paths and queries are
//! percent-encoded, `List(…)` is written as it is. LinkedIn has no messaging API for pages and
//! shows apps neither new followers one by one nor commenters' names (only member URNs).

use jiff::Timestamp;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::walk::{self, List, Listed, Lists};
use super::{InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender, parse_page};
use crate::http::{Answer, header};
use crate::linkedin::{LinkedIn, encode, failure, published, unescaped};
use crate::{NetworkError, NetworkFuture, Outgoing, Published, RetryAfter, Tokens};

/// How many of the organization's latest posts have their comments read.
const RECENT_POSTS: &str = "10";

/// A day, in seconds: LinkedIn's quotas are per UTC day.
const DAY: i64 = 86_400;

#[derive(Deserialize)]
struct Elements<T> {
    #[serde(default = "Vec::new")]
    elements: Vec<T>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize, Default)]
struct Paging {
    #[serde(default)]
    start: u64,
    #[serde(default)]
    total: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    action: String,
    #[serde(default)]
    source_post: Option<String>,
    #[serde(default)]
    last_modified_at: Option<i64>,
}

#[derive(Deserialize)]
struct Post {
    #[serde(default)]
    author: String,
    #[serde(default)]
    commentary: String,
}

#[derive(Deserialize)]
struct PostId {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    comment_urn: Option<String>,
    #[serde(default)]
    created: Option<Created>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Created {
    time: i64,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    text: String,
}

/// What an answer names: the post, and the comment it goes under (none: a comment on a post
/// that mentioned the organization).
#[derive(serde::Serialize, Deserialize)]
struct ReplyTo {
    object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

impl LinkedIn {
    /// Sends a read, a rate limit carrying the next midnight UTC as its reset.
    async fn read_call(&self, request: reqwest::RequestBuilder) -> Result<Answer, NetworkError> {
        self.endpoint.call(request, inbox_failure).await
    }

    async fn mentions(
        &self,
        tokens: &Tokens,
        start: u64,
        floor: Option<i64>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Listed, NetworkError> {
        let count = limits.page_size.clamp(1, 100);
        let path = format!(
            "/rest/organizationalEntityNotifications?q=criteria&organizationalEntity={}&actions=List(SHARE_MENTION)&start={start}&count={count}",
            encode(&tokens.subject)
        );
        let answer = self
            .endpoint
            .send(self.rest(tokens, Method::GET, &path))
            .await?;
        if let Some(refused) = refused(&answer, start) {
            return refused;
        }
        let page: Elements<Notification> = parse_page(&answer, warnings)?;
        let next = next_start(&page.paging, start, page.elements.len(), count);
        let mut items = Vec::with_capacity(page.elements.len());
        for notification in page.elements {
            let (Some(post), Some(at)) = (notification.source_post, notification.last_modified_at)
            else {
                continue;
            };
            if notification.action != "SHARE_MENTION" || floor.is_some_and(|floor| at < floor) {
                continue;
            }
            if let Some(item) = self.mention(tokens, &post, at, warnings).await? {
                items.push(item);
            }
        }
        Ok(Listed::Page { items, next })
    }

    /// The post that mentioned the organization, as an item; a post deleted since is told in
    /// `warnings` and left out.
    async fn mention(
        &self,
        tokens: &Tokens,
        urn: &str,
        millis: i64,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Incoming>, NetworkError> {
        let path = format!("/rest/posts/{}", encode(urn));
        let answer = self
            .endpoint
            .send(self.rest(tokens, Method::GET, &path))
            .await?;
        if matches!(answer.status.as_u16(), 404 | 410) {
            warnings.push(format!(
                "LinkedIn post {urn} mentioned the organization and was deleted before Herald read it; it is left out"
            ));
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(inbox_failure(&answer));
        }
        let post: Post = parse_page(&answer, warnings)?;
        Ok(Some(Incoming {
            key: urn.to_owned(),
            kind: IncomingKind::Mention,
            sender: member(&post.author),
            text: unescaped(&post.commentary),
            url: published(urn.to_owned()).url,
            reply_to: Some(
                json!(ReplyTo {
                    object: urn.to_owned(),
                    comment: None
                })
                .to_string(),
            ),
            at: time(millis),
        }))
    }

    async fn comments(
        &self,
        tokens: &Tokens,
        post: &str,
        start: u64,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<Listed, NetworkError> {
        let count = limits.page_size.clamp(1, 100);
        let path = format!(
            "/rest/socialActions/{}/comments?start={start}&count={count}",
            encode(post)
        );
        let answer = self
            .endpoint
            .send(self.rest(tokens, Method::GET, &path))
            .await?;
        if start == 0 && matches!(answer.status.as_u16(), 404 | 410) {
            return Ok(Listed::Gone);
        }
        if let Some(refused) = refused(&answer, start) {
            return refused;
        }
        let page: Elements<Comment> = parse_page(&answer, warnings)?;
        let next = next_start(&page.paging, start, page.elements.len(), count);
        let items = page
            .elements
            .into_iter()
            .filter(|comment| comment.actor != tokens.subject)
            .filter_map(|comment| {
                let urn = comment.comment_urn?;
                let at = comment.created?.time;
                Some(Incoming {
                    url: Some(format!(
                        "https://www.linkedin.com/feed/update/{post}/?commentUrn={}",
                        encode(&urn)
                    )),
                    reply_to: Some(
                        json!(ReplyTo {
                            object: post.to_owned(),
                            comment: Some(urn.clone())
                        })
                        .to_string(),
                    ),
                    key: urn,
                    kind: IncomingKind::Comment,
                    sender: member(&comment.actor),
                    text: comment
                        .message
                        .map(|message| message.text)
                        .unwrap_or_default(),
                    at: time(at),
                })
            })
            .collect();
        Ok(Listed::Page { items, next })
    }
}

impl Lists for LinkedIn {
    const NAME: &'static str = "LinkedIn";

    fn recent_posts<'a>(
        &'a self,
        tokens: &'a Tokens,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Vec<String>> {
        Box::pin(async move {
            let request = self
                .rest(tokens, Method::GET, "/rest/posts")
                .header("X-RestLi-Method", "FINDER")
                .query(&[
                    ("author", tokens.subject.as_str()),
                    ("q", "author"),
                    ("count", RECENT_POSTS),
                    ("sortBy", "LAST_MODIFIED"),
                ]);
            let answer = self.read_call(request).await?;
            let posts: Elements<PostId> = parse_page(&answer, warnings)?;
            Ok(posts.elements.into_iter().map(|post| post.id).collect())
        })
    }

    fn page<'a>(
        &'a self,
        tokens: &'a Tokens,
        list: List<'a>,
        page: Option<&'a str>,
        floor: Option<i64>,
        limits: ReadLimits,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Listed> {
        Box::pin(async move {
            let Some(start) = page.map_or(Some(0), |page| page.parse::<u64>().ok()) else {
                return Ok(Listed::Refused);
            };
            match list {
                List::Mentions => self.mentions(tokens, start, floor, limits, warnings).await,
                List::Post(post) => self.comments(tokens, post, start, limits, warnings).await,
            }
        })
    }
}

impl ReadInbox for LinkedIn {
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead> {
        Box::pin(async move {
            if !tokens.subject.starts_with("urn:li:organization:") {
                return Err(NetworkError::Rejected(
                    "LinkedIn lets apps read comments and mentions of organization pages only, not of members' own profiles"
                        .to_owned(),
                ));
            }
            walk::read(self, tokens, cursor, limits).await
        })
    }

    fn reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published> {
        Box::pin(async move {
            let to: ReplyTo = serde_json::from_str(reply_to).map_err(|_| {
                NetworkError::Rejected(
                    "the item to answer is not a LinkedIn post or comment".to_owned(),
                )
            })?;
            if !post.media.is_empty() {
                return Err(NetworkError::Rejected(
                    "Herald answers on LinkedIn with text only".to_owned(),
                ));
            }
            let mut body = json!({
                "actor": tokens.subject,
                "object": to.object,
                "message": { "text": post.text },
            });
            if let Some(comment) = &to.comment {
                body["parentComment"] = json!(comment);
            }
            let target = to.comment.as_deref().unwrap_or(&to.object);
            let path = format!("/rest/socialActions/{}/comments", encode(target));
            let request = self.rest(tokens, Method::POST, &path).json(&body);
            let answer = self.endpoint.call(request, failure).await?;
            let created: Option<Comment> = serde_json::from_slice(&answer.body).ok();
            let urn = created
                .and_then(|comment| comment.comment_urn)
                .or_else(|| header(&answer.headers, "x-restli-id").map(str::to_owned))
                .filter(|urn| !urn.is_empty())
                .ok_or_else(|| {
                    NetworkError::Unknown(format!(
                        "LinkedIn answered {} without the new comment's id",
                        answer.status
                    ))
                })?;
            Ok(Published {
                url: Some(format!(
                    "https://www.linkedin.com/feed/update/{}/?commentUrn={}",
                    to.object,
                    encode(&urn)
                )),
                remote_id: urn,
            })
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://www.linkedin.com/help/linkedin/ask/TS-NFPI"
    }
}

/// A refused page token (an offset past the first page answered 400) is the network no longer
/// accepting it; any other failure is the read's error.
fn refused(answer: &Answer, start: u64) -> Option<Result<Listed, NetworkError>> {
    if answer.is_success() {
        return None;
    }
    if start > 0 && answer.status == reqwest::StatusCode::BAD_REQUEST {
        return Some(Ok(Listed::Refused));
    }
    Some(Err(inbox_failure(answer)))
}

/// The offset of the page after one that started at `start` and held `len` of `count`.
fn next_start(paging: &Paging, start: u64, len: usize, count: u32) -> Option<String> {
    let len = len as u64;
    let start = paging.start.max(start);
    let more = match paging.total {
        Some(total) => start + len < total,
        None => len >= u64::from(count),
    };
    (more && len > 0).then(|| (start + len).to_string())
}

/// A member or organization as LinkedIn names them to apps: by URN only.
fn member(urn: &str) -> Sender {
    Sender {
        id: urn.to_owned(),
        handle: urn.to_owned(),
        display_name: String::new(),
    }
}

fn time(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap_or_default()
}

/// LinkedIn's error, a 429 waiting for the next midnight UTC (when the daily quotas reset)
/// unless the answer says otherwise.
fn inbox_failure(answer: &Answer) -> NetworkError {
    match failure(answer) {
        NetworkError::RateLimited {
            retry_after: None,
            message,
        } => NetworkError::RateLimited {
            retry_after: next_midnight(answer),
            message,
        },
        other => other,
    }
}

/// The midnight UTC after the answer's `Date`.
fn next_midnight(answer: &Answer) -> Option<RetryAfter> {
    let date = jiff::fmt::rfc2822::parse(header(&answer.headers, "date")?).ok()?;
    let midnight = (date.timestamp().as_second().div_euclid(DAY) + 1) * DAY;
    Timestamp::from_second(midnight).ok().map(RetryAfter::At)
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn a_daily_quota_resets_at_the_midnight_utc_after_linkedins_date() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "date",
            HeaderValue::from_static("Tue, 01 Dec 2026 22:15:00 GMT"),
        );
        let answer = Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers,
            body: br#"{"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS","message":"Resource level throttle APPLICATION DAY limit"}"#.to_vec(),
        };
        let NetworkError::RateLimited { retry_after, .. } = inbox_failure(&answer) else {
            panic!("a 429 is a rate limit");
        };
        let midnight: Timestamp = "2026-12-02T00:00:00Z".parse().expect("time");
        assert_eq!(retry_after, Some(RetryAfter::At(midnight)));
    }

    #[test]
    fn offsets_go_on_while_the_total_says_there_is_more() {
        let paging = |total| Paging { start: 0, total };
        assert_eq!(
            next_start(&paging(Some(25)), 10, 10, 10),
            Some("20".to_owned())
        );
        assert_eq!(next_start(&paging(Some(20)), 10, 10, 10), None);
        assert_eq!(next_start(&paging(None), 0, 10, 10), Some("10".to_owned()));
        assert_eq!(next_start(&paging(None), 0, 4, 10), None);
    }
}
