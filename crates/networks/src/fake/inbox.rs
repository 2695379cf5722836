//! What comes in to a fake network's account, for the fakes' inbox endpoints (each fake
//! words it in its own format: `mastodon.rs`, `bluesky.rs`, `x.rs`): items a test adds with
//! [`FakeState::receive`], newest last, the direct messages the account sent back
//! ([`FakeState::sent_messages`]), and the ways a real network misbehaves while one reads them
//! ([`InboxFaults`]).

use jiff::Timestamp;

use super::{FakeState, lock};
use crate::IncomingKind;

/// Written into an item's text, this becomes a lone UTF-16 surrogate (`\ud83d`) in the JSON
/// the fake sends, as some networks do when they cut an emoji in half.
pub const LONE_SURROGATE: &str = "{lone-surrogate}";

/// One item a test sends to the fake's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeIncoming {
    pub kind: IncomingKind,
    /// The sender's id on the network (an account id, a DID).
    pub sender_id: String,
    pub sender_handle: String,
    pub sender_name: String,
    pub text: String,
    /// The post was deleted: Mastodon sends the notification with `status: null`.
    pub deleted: bool,
    /// The account's post a reply or comment is under, where the network lists answers per
    /// post (Threads, LinkedIn); `None` elsewhere.
    pub on: Option<String>,
    /// The conversation a direct message belongs to; `None`: the fake's own one with the
    /// sender (X and Bluesky derive it from the sender's id).
    pub conversation: Option<String>,
}

impl FakeIncoming {
    /// A mention of the account by `handle`.
    pub fn mention(handle: &str, name: &str, text: &str) -> FakeIncoming {
        FakeIncoming {
            kind: IncomingKind::Mention,
            sender_id: format!("sender-{handle}"),
            sender_handle: handle.to_owned(),
            sender_name: name.to_owned(),
            text: text.to_owned(),
            deleted: false,
            on: None,
            conversation: None,
        }
    }

    /// The same item as an answer under the account's post `post` (its id on the fake).
    pub fn on(self, post: &str) -> FakeIncoming {
        FakeIncoming {
            on: Some(post.to_owned()),
            ..self
        }
    }

    /// A direct message to the account from `handle`.
    pub fn message(handle: &str, name: &str, text: &str) -> FakeIncoming {
        FakeIncoming::mention(handle, name, text).as_kind(IncomingKind::Message)
    }

    /// The same item as another kind.
    pub fn as_kind(self, kind: IncomingKind) -> FakeIncoming {
        FakeIncoming { kind, ..self }
    }
}

/// How the fake's inbox endpoint misbehaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxFaults {
    /// The next this many reads answer 429 with the network's rate-limit headers.
    pub rate_limited: u32,
    /// Every read answers the newest page, whatever it asked for, with the same links and
    /// cursor: a network stuck on one page.
    pub same_page: bool,
    /// A cursor given is refused (400): the network no longer accepts it.
    pub reject_cursors: bool,
    /// The next this many reads of direct messages answer 429 (apart from `rate_limited`,
    /// which counts the reads of mentions and notifications).
    pub messages_rate_limited: u32,
    /// Conversations are refused for want of the messaging permission (Facebook's
    /// `pages_messaging`, Instagram's `instagram_business_manage_messages`, X's 403 for a
    /// missing `dm.read` scope, Bluesky's `Bad token scope` for an app password without the
    /// chat privilege).
    pub messages_forbidden: bool,
    /// The PDS cannot reach the chat service (a PDS of one's own, say): Bluesky's chat calls
    /// answer what the reference PDS answers for a proxy it cannot resolve.
    pub chat_unreachable: bool,
}

/// A direct message the account sent, as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub conversation: String,
    pub text: String,
}

/// The fake's inbox: items with their ids (rising) and times.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    pub items: Vec<(u64, FakeIncoming, Timestamp)>,
    pub faults: InboxFaults,
    pub reads: u64,
    pub message_reads: u64,
    pub sent: Vec<SentMessage>,
}

/// Items' ids start here, apart from posts' ids.
const FIRST_ID: u64 = 100_000;

impl FakeState {
    /// Something arrives for the account: its id on the fake (numeric, rising). Its time is
    /// one second after the one before, from 2026-12-01 08:00 UTC.
    pub fn receive(&self, item: FakeIncoming) -> u64 {
        let mut inbox = lock(&self.inbox);
        let id = FIRST_ID + inbox.items.len() as u64 + 1;
        let at =
            Timestamp::from_second(1_796_112_000 + inbox.items.len() as i64).unwrap_or_default();
        inbox.items.push((id, item, at));
        id
    }

    /// Deletes an item on the network: it no longer appears (or, on Mastodon, its post is
    /// gone from its notification).
    pub fn delete_incoming(&self, id: u64) {
        let mut inbox = lock(&self.inbox);
        if let Some((_, item, _)) = inbox.items.iter_mut().find(|(at, ..)| *at == id) {
            item.deleted = true;
        }
    }

    pub fn set_inbox_faults(&self, faults: InboxFaults) {
        lock(&self.inbox).faults = faults;
    }

    /// How many times the inbox endpoint was read (rate-limited reads included).
    pub fn inbox_reads(&self) -> u64 {
        lock(&self.inbox).reads
    }

    /// Counts a read and says whether it is to be answered with a rate limit.
    pub(crate) fn inbox_read_limited(&self) -> bool {
        let mut inbox = lock(&self.inbox);
        inbox.reads += 1;
        if inbox.faults.rate_limited > 0 {
            inbox.faults.rate_limited -= 1;
            return true;
        }
        false
    }

    /// How many times the direct-message endpoints were read (rate-limited reads included).
    pub fn message_reads(&self) -> u64 {
        lock(&self.inbox).message_reads
    }

    /// The direct messages the account sent, oldest first.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        lock(&self.inbox).sent.clone()
    }

    /// Counts a read of direct messages and says whether it is to be answered with a rate
    /// limit.
    pub(crate) fn messages_read_limited(&self) -> bool {
        let mut inbox = lock(&self.inbox);
        inbox.message_reads += 1;
        if inbox.faults.messages_rate_limited > 0 {
            inbox.faults.messages_rate_limited -= 1;
            return true;
        }
        false
    }

    /// The account sends `text` to `conversation`: kept in [`FakeState::sent_messages`] and,
    /// as networks do, among the conversation's messages (from `own`, the account itself);
    /// its id.
    pub(crate) fn send_message(&self, conversation: &str, text: &str, own: FakeIncoming) -> u64 {
        lock(&self.inbox).sent.push(SentMessage {
            conversation: conversation.to_owned(),
            text: text.to_owned(),
        });
        self.receive(FakeIncoming {
            kind: IncomingKind::Message,
            text: text.to_owned(),
            conversation: Some(conversation.to_owned()),
            ..own
        })
    }

    /// The faults in force.
    pub(crate) fn inbox_faults(&self) -> InboxFaults {
        lock(&self.inbox).faults
    }

    /// The items (newest first) and the faults in force.
    pub(crate) fn incoming(&self) -> (Vec<(u64, FakeIncoming, Timestamp)>, InboxFaults) {
        let inbox = lock(&self.inbox);
        let mut items = inbox.items.clone();
        items.reverse();
        (items, inbox.faults)
    }
}

/// A JSON body with [`LONE_SURROGATE`] markers made into lone surrogates.
pub(crate) fn with_surrogates(body: &serde_json::Value) -> String {
    body.to_string().replace(LONE_SURROGATE, "\\ud83d")
}
