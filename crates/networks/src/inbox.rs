//! Reading what comes in to an account — mentions, replies, comments, messages, new
//! followers — and answering it threaded. A trait of its own ([`ReadInbox`]) beside
//! [`crate::Adapter`], implemented per network in `inbox/<network>.rs`.
//!
//! Reading is a walk from a cursor Herald keeps (opaque to Herald: each network's own state)
//! to what is new, bounded by [`ReadLimits`]. A walk that stops early (the bound, a network
//! that repeats itself) returns the cursor to go on from, so the next read continues where
//! this one ended: no item is skipped, and the unique [`Incoming::key`] lets Herald save each
//! item once however often a page is read again.

mod bluesky;
mod facebook;
mod instagram;
mod json;
mod linkedin;
mod mastodon;
mod meta;
mod threads;
mod walk;
mod x;

use jiff::Timestamp;

use crate::{NetworkError, NetworkFuture, Outgoing, Published, Tokens};

pub use json::repair_surrogates;

/// What came in to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingKind {
    Mention,
    Reply,
    Comment,
    Message,
    Follower,
}

/// Who sent an item, as the network names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The network's stable id (an account id, a DID).
    pub id: String,
    /// The handle as people write it (`@name@server`, `name.bsky.social`).
    pub handle: String,
    /// The display name, as the sender chose it: any text at all (escape it).
    pub display_name: String,
}

/// One item, as read from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The network's own id for the item, unique per account: the same item always has it.
    pub key: String,
    pub kind: IncomingKind,
    pub sender: Sender,
    /// The text as plain text (HTML removed), whole: Herald caps it.
    pub text: String,
    /// Where people see it on the network.
    pub url: Option<String>,
    /// What a reply must name to be threaded under it, as JSON the same network reads back
    /// in [`ReadInbox::reply`]; `None` when it cannot be answered (a new follower).
    pub reply_to: Option<String>,
    pub at: Timestamp,
}

/// How far one read may walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Items asked for per page.
    pub page_size: u32,
    /// Pages read at most; the rest waits for the next read.
    pub pages: u32,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            page_size: 40,
            pages: 5,
        }
    }
}

/// What one read found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxRead {
    /// New items (and perhaps some already seen: Herald keeps each key once), in no order.
    pub items: Vec<Incoming>,
    /// Where the next read goes on from.
    pub cursor: Option<String>,
    /// Whether there is more to read now (the walk stopped at its bound).
    pub more: bool,
    /// What went wrong without stopping the read, for the log: a cursor the network no
    /// longer accepts, a page served again, items deleted or unreadable, characters repaired.
    pub warnings: Vec<String>,
}

/// Reading and answering one network's inbox.
pub trait ReadInbox: Send + Sync + std::fmt::Debug {
    /// What is new since `cursor` (`None`: the first read, which takes only the newest page).
    fn read_inbox<'a>(
        &'a self,
        tokens: &'a Tokens,
        cursor: Option<&'a str>,
        limits: ReadLimits,
    ) -> NetworkFuture<'a, InboxRead>;

    /// Publishes `post` as an answer to the item whose [`Incoming::reply_to`] is `reply_to`.
    fn reply<'a>(
        &'a self,
        tokens: &'a Tokens,
        reply_to: &'a str,
        post: &'a Outgoing,
    ) -> NetworkFuture<'a, Published>;

    /// The answer to `reply_to` an earlier attempt may have sent when its outcome was lost,
    /// if the network has it: where replies carry no idempotency key, this is how Herald
    /// avoids answering twice. Networks whose replies carry the key
    /// ([`crate::Adapter::idempotent`]) are never asked. The default cannot look, and says so
    /// with [`NetworkError::Unknown`]: Herald then leaves the answer unconfirmed for people to
    /// check rather than risk sending it twice.
    fn find_reply<'a>(
        &'a self,
        _tokens: &'a Tokens,
        _reply_to: &'a str,
        _post: &'a Outgoing,
    ) -> NetworkFuture<'a, Option<Published>> {
        Box::pin(async {
            Err(NetworkError::Unknown(
                "the network gives Herald no way to look for an answer sent earlier".to_owned(),
            ))
        })
    }

    /// Where the network takes reports of an account impersonating another.
    fn impersonation_form(&self) -> &'static str;
}

/// A successful answer's body as `T`, lone surrogates and bad UTF-8 repaired first (each
/// repair told in `warnings`); a body that still does not read is the network's fault, and
/// the read is retried later from the same cursor.
pub(crate) fn parse_page<T: serde::de::DeserializeOwned>(
    answer: &crate::http::Answer,
    warnings: &mut Vec<String>,
) -> Result<T, NetworkError> {
    let (body, repaired) = repair_surrogates(&answer.body);
    if repaired > 0 {
        warnings.push(format!(
            "{repaired} malformed characters (lone UTF-16 surrogates or bytes that are not UTF-8) were replaced with \u{fffd}"
        ));
    }
    serde_json::from_slice(&body).map_err(|error| {
        tracing::debug!(status = %answer.status, error = %error, "an inbox page Herald cannot read");
        NetworkError::Unknown(format!(
            "the network answered {} with a body Herald cannot read",
            answer.status
        ))
    })
}

/// Whether network id `a` comes after `b`: ids that are numbers (Mastodon's, X's) compare as
/// numbers of any length; others as text.
pub(crate) fn id_after(a: &str, b: &str) -> bool {
    let numeric = |id: &str| !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        return (a.len(), a) > (b.len(), b);
    }
    a > b
}
