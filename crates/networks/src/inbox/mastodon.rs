//! Mastodon's inbox: `GET /api/v1/notifications` (mentions, which are replies when they answer
//! the account and messages when their visibility is `direct`; new followers), read forward
//! from the newest id seen with `min_id` (the `Link` header's `prev`), and replies as statuses
//! with `in_reply_to_id`.
//!
//! Followed: <https://docs.joinmastodon.org/methods/notifications/> (parameters, `Link`
//! pagination, `types[]`), <https://docs.joinmastodon.org/entities/Notification/> and
//! <https://docs.joinmastodon.org/entities/Status/> (`in_reply_to_account_id`, `visibility`),
//! <https://docs.joinmastodon.org/methods/statuses/#create> (`in_reply_to_id`).

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::{
    InboxRead, Incoming, IncomingKind, ReadInbox, ReadLimits, Sender, id_after, parse_page,
};
use crate::mastodon::{Mastodon, call, plain_text};
use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

#[derive(Deserialize)]
struct Notification {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created_at: Timestamp,
    account: Account,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Account {
    id: String,
    acct: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    in_reply_to_account_id: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    #[serde(default)]
    url: Option<String>,
}

/// What a reply to a Mastodon item names: the status, and `direct` for private messages so
/// the answer stays private.
#[derive(serde::Serialize, Deserialize)]
struct ReplyTo {
    status: String,
    #[serde(default)]
    visibility: Option<String>,
}

impl Mastodon {
    async fn notifications(
        &self,
        tokens: &Tokens,
        min_id: Option<&str>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Result<(Vec<Notification>, Option<String>), NetworkError> {
        let limit = limits.page_size.clamp(1, 80).to_string();
        let mut query = vec![
            ("types[]", "mention"),
            ("types[]", "follow"),
            ("limit", limit.as_str()),
        ];
        if let Some(min_id) = min_id {
            query.push(("min_id", min_id));
        }
        let request = self
            .authorized(tokens, reqwest::Method::GET, "/api/v1/notifications")
            .query(&query);
        let answer = call(&self.endpoint, request).await?;
        let page: Vec<Notification> = parse_page(&answer, warnings)?;
        let prev = crate::http::header(&answer.headers, "link").and_then(prev_min_id);
        Ok((page, prev))
    }
}

impl ReadInbox for Mastodon {
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead> {
        Box::pin(async move {
            let mut read = InboxRead {
                cursor: cursor.map(str::to_owned),
                ..InboxRead::default()
            };
            for _ in 0..limits.pages.max(1) {
                let at = read.cursor.clone();
                let (page, prev) = self
                    .notifications(tokens, at.as_deref(), limits, &mut read.warnings)
                    .await?;
                let newest = page
                    .iter()
                    .map(|notification| notification.id.as_str())
                    .fold(None, |newest: Option<&str>, id| match newest {
                        Some(newest) if !id_after(id, newest) => Some(newest),
                        _ => Some(id),
                    })
                    .map(str::to_owned);
                let full = page.len() >= limits.page_size.clamp(1, 80) as usize;
                read.items.extend(
                    page.into_iter()
                        .filter_map(|notification| item(tokens, notification, &mut read.warnings)),
                );
                let Some(next) = prev.or(newest) else {
                    return Ok(read);
                };
                if at.as_deref().is_some_and(|at| !id_after(&next, at)) {
                    read.warnings.push(format!(
                        "Mastodon served the page after {} again; reading stops here until the next poll",
                        at.unwrap_or_default()
                    ));
                    return Ok(read);
                }
                read.cursor = Some(next);
                // The first read takes the newest page only; a page not full is the last.
                if at.is_none() || !full {
                    return Ok(read);
                }
            }
            read.more = true;
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
            let to: ReplyTo = serde_json::from_str(reply_to).map_err(|_| {
                NetworkError::Rejected("the item to answer is not a Mastodon status".to_owned())
            })?;
            let mut form = vec![
                ("status", post.text.as_str()),
                ("in_reply_to_id", to.status.as_str()),
            ];
            if let Some(visibility) = &to.visibility {
                form.push(("visibility", visibility.as_str()));
            }
            let request = self
                .authorized(tokens, reqwest::Method::POST, "/api/v1/statuses")
                .header("Idempotency-Key", &post.key)
                .form(&form);
            let status: Created = call(&self.endpoint, request).await?.json()?;
            Ok(Published {
                remote_id: status.id,
                url: status.url,
            })
        })
    }

    fn impersonation_form(&self) -> &'static str {
        "https://docs.joinmastodon.org/user/moderating/#report"
    }
}

/// The item a notification is, if Herald reads its kind; a mention whose status was deleted is
/// told in `warnings` and left out.
fn item(
    tokens: &Tokens,
    notification: Notification,
    warnings: &mut Vec<String>,
) -> Option<Incoming> {
    let sender = Sender {
        id: notification.account.id,
        handle: format!("@{}", notification.account.acct),
        display_name: notification.account.display_name,
    };
    let key = notification.id;
    match notification.kind.as_str() {
        "follow" => Some(Incoming {
            key,
            kind: IncomingKind::Follower,
            sender,
            text: String::new(),
            url: None,
            reply_to: None,
            at: notification.created_at,
        }),
        "mention" => {
            let Some(status) = notification.status else {
                warnings.push(format!(
                    "Mastodon notification {key} is a mention whose post was deleted before Herald read it; it is left out"
                ));
                return None;
            };
            let kind = if status.visibility == "direct" {
                IncomingKind::Message
            } else if status.in_reply_to_account_id.as_deref() == Some(tokens.subject.as_str()) {
                IncomingKind::Reply
            } else {
                IncomingKind::Mention
            };
            let visibility = (kind == IncomingKind::Message).then(|| "direct".to_owned());
            let reply_to = json!(ReplyTo {
                status: status.id,
                visibility
            })
            .to_string();
            Some(Incoming {
                key,
                kind,
                sender,
                text: plain_text(&status.content),
                url: status.url,
                reply_to: Some(reply_to),
                at: notification.created_at,
            })
        }
        _ => None,
    }
}

/// The `min_id` of the `prev` link in a `Link` header (RFC 8288), where newer items are.
fn prev_min_id(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params.contains("rel=\"prev\"") {
            return None;
        }
        let url = target.trim().trim_start_matches('<').trim_end_matches('>');
        let query = url.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == "min_id").then(|| value.to_owned())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prev_link_names_where_newer_items_start() {
        let link = "<https://m.example/api/v1/notifications?max_id=34975535>; rel=\"next\", \
                    <https://m.example/api/v1/notifications?min_id=34975861>; rel=\"prev\"";
        assert_eq!(prev_min_id(link), Some("34975861".to_owned()));
        assert_eq!(
            prev_min_id("<https://m.example/x?max_id=1>; rel=\"next\""),
            None
        );
    }
}
