//! Reading an inbox that a network keeps as several lists rather than one: the account's
//! mentions, and the answers under each of its recent posts (Threads' replies, LinkedIn's
//! comments). Each list is served newest first and paged with the network's own token (a
//! cursor, an offset); none can be asked for "what is new since", so a read walks each list
//! from its newest item down to the newest one an earlier read saw.
//!
//! The cursor Herald keeps ([`Position`]) holds, per list, that newest time (`seen`) and,
//! while a walk is unfinished, its page token and the newest time it started from: the next
//! read goes on down from there, so nothing between is skipped. A cycle reads the mentions,
//! then lists the recent posts, then walks each post's answers; a read bounded by
//! [`ReadLimits::pages`] stops anywhere in the cycle and the next read goes on from there,
//! so each read makes progress however small its bound.
//!
//! The first cycle (no cursor yet) takes only each list's newest page: the history from before
//! Herald was connected is not imported. A post first seen after that cycle is walked to its
//! end, since everything under it came in since.
//!
//! Times are compared in milliseconds; an item at exactly `seen` is read again and kept once
//! by its key. Lists on a post keep their own `seen`, so an answer that arrives under one
//! post while another post is walked is not passed over.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{InboxRead, Incoming, ReadLimits};
use crate::{NetworkError, NetworkFuture, Tokens};

/// One list as a read found it.
pub(crate) enum Listed {
    /// A page of items (already in Herald's terms) and the token of the page below, if any.
    Page {
        items: Vec<Incoming>,
        next: Option<String>,
    },
    /// The network refused the page token itself: it no longer accepts it.
    Refused,
    /// The list is gone (its post was deleted).
    Gone,
}

/// Which list of an account.
#[derive(Debug, Clone, Copy)]
pub(crate) enum List<'a> {
    Mentions,
    /// The answers under one of the account's posts.
    Post(&'a str),
}

/// A network whose inbox is the account's mentions and the answers under its recent posts.
pub(crate) trait Lists: Sync {
    /// The network's name, for warnings.
    const NAME: &'static str;

    /// The account's recent posts whose answers are read, newest first.
    fn recent_posts<'a>(
        &'a self,
        tokens: &'a Tokens,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Vec<String>>;

    /// One page of `list` at `page` (`None`: its newest page). `floor` is the time below which
    /// items were seen already, so a network that must look each item up can skip those.
    fn page<'a>(
        &'a self,
        tokens: &'a Tokens,
        list: List<'a>,
        page: Option<&'a str>,
        floor: Option<i64>,
        limits: ReadLimits,
        warnings: &'a mut Vec<String>,
    ) -> NetworkFuture<'a, Listed>;
}

/// The cursor Herald keeps for such an account.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Position {
    #[serde(default)]
    mentions: Stream,
    /// Each recent post's answers, by the post's id.
    #[serde(default)]
    posts: BTreeMap<String, Stream>,
    #[serde(default)]
    phase: Phase,
    /// The first cycle is going on: each list takes only its newest page, as a first read
    /// does, rather than the account's whole history.
    #[serde(default)]
    fresh: bool,
}

/// Where in its cycle the read is.
#[derive(Debug, Default, Serialize, Deserialize)]
enum Phase {
    #[default]
    Mentions,
    /// The recent posts are to be listed.
    List,
    /// The posts whose answers are still to be read this cycle, next first.
    Posts(Vec<String>),
}

/// Where one list was left.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Stream {
    /// The newest item time (Unix milliseconds) a finished walk reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    walk: Option<Walk>,
}

/// An unfinished walk: the page to go on from, and the newest time it started from (which
/// becomes `seen` when it ends).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Walk {
    page: String,
    top: i64,
}

/// How a walk of one list ended.
#[derive(Debug, PartialEq, Eq)]
enum Walked {
    /// Down to what was seen, or to the end of the list.
    Finished,
    /// The read's pages ran out; the walk goes on at the next read.
    OutOfPages,
    /// The network repeated itself or refused the page: stopped with a warning, the walk
    /// kept (or dropped, to start again at the newest) for the next cycle.
    Stopped,
    /// The list is gone.
    Gone,
}

/// What is new since `cursor` on `network`, within `limits`.
pub(crate) async fn read<N: Lists>(
    network: &N,
    tokens: &Tokens,
    cursor: Option<&str>,
    limits: ReadLimits,
) -> Result<InboxRead, NetworkError> {
    let mut read = InboxRead::default();
    let mut position = match cursor.map(serde_json::from_str::<Position>) {
        Some(Ok(position)) => position,
        Some(Err(_)) => {
            read.warnings.push(format!(
                "the stored {} cursor did not read; reading starts again at the newest items",
                N::NAME
            ));
            Position {
                fresh: true,
                ..Position::default()
            }
        }
        None => Position {
            fresh: true,
            ..Position::default()
        },
    };
    let mut reading = Reading {
        network,
        tokens,
        limits,
        budget: limits.pages.max(1),
        read,
    };
    loop {
        if let Phase::Posts(left) = &position.phase
            && left.is_empty()
        {
            // The cycle is complete: the next read starts one again.
            position.phase = Phase::Mentions;
            position.fresh = false;
            break;
        }
        if reading.budget == 0 {
            reading.read.more = true;
            break;
        }
        match &mut position.phase {
            Phase::Mentions => {
                let walked = reading
                    .walk(List::Mentions, &mut position.mentions, position.fresh)
                    .await?;
                if walked == Walked::OutOfPages {
                    reading.read.more = true;
                    break;
                }
                position.phase = Phase::List;
            }
            Phase::List => {
                reading.budget -= 1;
                let posts = network
                    .recent_posts(tokens, &mut reading.read.warnings)
                    .await?;
                // Posts that left the recent list are no longer read.
                position.posts.retain(|post, _| posts.contains(post));
                position.phase = Phase::Posts(posts);
            }
            Phase::Posts(left) => {
                let post = left[0].clone();
                let stream = position.posts.entry(post.clone()).or_default();
                let walked = reading
                    .walk(List::Post(&post), stream, position.fresh)
                    .await?;
                match walked {
                    Walked::OutOfPages => {
                        reading.read.more = true;
                        break;
                    }
                    Walked::Gone => {
                        reading.read.warnings.push(format!(
                            "{} post {post} was deleted; its answers are no longer read",
                            N::NAME
                        ));
                        position.posts.remove(&post);
                    }
                    Walked::Finished | Walked::Stopped => {}
                }
                left.remove(0);
            }
        }
    }
    let mut read = reading.read;
    read.cursor = Some(serde_json::json!(position).to_string());
    Ok(read)
}

/// One read under way: what it may still ask for, and what it found.
struct Reading<'a, N> {
    network: &'a N,
    tokens: &'a Tokens,
    limits: ReadLimits,
    /// Pages the read may still ask for.
    budget: u32,
    read: InboxRead,
}

impl<N: Lists> Reading<'_, N> {
    /// Walks one list down from where `stream` was left, taking what is new into the read.
    async fn walk(
        &mut self,
        list: List<'_>,
        stream: &mut Stream,
        fresh: bool,
    ) -> Result<Walked, NetworkError> {
        let Reading {
            network,
            tokens,
            limits,
            budget,
            read,
        } = self;
        let first = fresh && stream.seen.is_none();
        let mut page = stream.walk.as_ref().map(|walk| walk.page.clone());
        let mut top = stream.walk.as_ref().map(|walk| walk.top);
        let mut keys = HashSet::new();
        let name = match list {
            List::Mentions => format!("{} mentions", N::NAME),
            List::Post(post) => format!("the answers under {} post {post}", N::NAME),
        };
        loop {
            if *budget == 0 {
                if let (Some(page), Some(top)) = (page, top) {
                    stream.walk = Some(Walk { page, top });
                }
                return Ok(Walked::OutOfPages);
            }
            *budget -= 1;
            let listed = network
                .page(
                    tokens,
                    list,
                    page.as_deref(),
                    stream.seen,
                    *limits,
                    &mut read.warnings,
                )
                .await?;
            let (items, next) = match listed {
                Listed::Page { items, next } => (items, next),
                Listed::Gone => return Ok(Walked::Gone),
                Listed::Refused => {
                    read.warnings.push(format!(
                    "{} no longer accepts the page {} of {name}; the walk starts again at the newest at the next read (items already read are kept once)",
                    N::NAME,
                    page.unwrap_or_default()
                ));
                    stream.walk = None;
                    return Ok(Walked::Stopped);
                }
            };
            if !items.is_empty() && items.iter().all(|item| keys.contains(&item.key)) {
                read.warnings.push(format!(
                "{} served the same page of {name} again; the walk goes on from there at the next read",
                N::NAME
            ));
                if let (Some(page), Some(top)) = (page, top) {
                    stream.walk = Some(Walk { page, top });
                }
                return Ok(Walked::Stopped);
            }
            let millis = |item: &Incoming| item.at.as_millisecond();
            let newest = items.iter().map(millis).max();
            let top_now = match (top, newest) {
                (Some(top), Some(newest)) => top.max(newest),
                (top, newest) => top.or(newest).or(stream.seen).unwrap_or(0),
            };
            top = Some(top_now);
            let seen = stream.seen;
            let reached = seen.is_some_and(|seen| items.iter().any(|item| millis(item) < seen));
            for item in items {
                keys.insert(item.key.clone());
                if seen.is_none_or(|seen| millis(&item) >= seen) {
                    read.items.push(item);
                }
            }
            if first || reached || next.is_none() {
                stream.seen = Some(seen.map_or(top_now, |seen| seen.max(top_now)));
                stream.walk = None;
                return Ok(Walked::Finished);
            }
            page = next;
        }
    }
}
