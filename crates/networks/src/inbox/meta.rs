//! What Facebook Pages and Instagram share when Herald reads them: the inbox is not one list
//! but many (the comments of each post, the messages of each conversation, the posts that
//! mention the account), each a Graph edge read newest first with cursor pagination
//! (`paging.cursors.after`, and `paging.next` only while there are older items).
//!
//! A walk starts with the account's lists of lists (its recent posts, its conversations), each
//! with the activity Meta reports for it (`updated_time`, a comment count); only those that
//! moved since the last walk are read. Each edge is read down to its own mark, the newest
//! item the last walk saw on it, so an item that arrives on one edge while another is read is
//! still newer than its own edge's mark. The item at a mark is read again (Herald keeps each
//! key once); anything older is not. A walk that stops at [`ReadLimits::pages`] keeps the
//! edges left and the cursor within the current one, and the next read goes on from there.
//!
//! Graph times have whole seconds: a post whose last comment came in the same second as the
//! one Herald last saw there reports no new activity, and waits for its next comment.
//!
//! Meta warns that a cursor is invalidated when its item is deleted, so a cursor is kept only
//! inside an unfinished walk, and one refused starts its list again from the top; a page may
//! be empty and still have a `next`, so only a missing `next` ends a list.
//!
//! Followed: <https://developers.facebook.com/docs/graph-api/results> (cursor-based
//! pagination: `after`, `limit`, `paging.next` absent on the last page, cursors invalidated).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use super::{InboxRead, Incoming, ReadLimits, parse_page};
use crate::{Endpoint, NetworkError, Tokens};

/// How many edges' marks a cursor keeps (the most recently active); an edge quiet for longer
/// is read again from its newest page when it moves, and its items are kept once by key.
const MARKS_KEPT: usize = 100;

/// One Graph list page: `{"data": [...], "paging": {"cursors": {"after"}, "next"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct GraphPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Default, Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

impl<T> GraphPage<T> {
    /// The cursor of the next, older page; `None` on the last page (no `paging.next`).
    pub fn after(&self) -> Option<String> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.clone()
    }
}

/// A time as the Graph writes it: `2026-12-01T08:00:00+0000` (ISO 8601 without the colon),
/// RFC 3339, or seconds since 1970 (some conversation answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GraphTime(pub Timestamp);

impl<'de> Deserialize<'de> for GraphTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GraphTime, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        graph_time(&value)
            .map(GraphTime)
            .ok_or_else(|| serde::de::Error::custom(format!("{value} is not a Graph time")))
    }
}

fn graph_time(value: &serde_json::Value) -> Option<Timestamp> {
    match value {
        serde_json::Value::Number(number) => Timestamp::from_second(number.as_i64()?).ok(),
        serde_json::Value::String(text) => text.parse::<Timestamp>().ok().or_else(|| {
            jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", text)
                .ok()?
                .to_timestamp()
                .ok()
        }),
        _ => None,
    }
}

/// One edge to read: `/{node}/{edge}`, and the activity its list reported for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Source {
    pub edge: String,
    pub node: String,
    /// When something last happened there (a post's `updated_time`), if the list says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<Timestamp>,
    /// How many items it holds (a media's `comments_count`), if the list says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Source {
    pub fn new(edge: &str, node: &str) -> Source {
        Source {
            edge: edge.to_owned(),
            node: node.to_owned(),
            active: None,
            count: None,
        }
    }

    fn key(&self) -> String {
        format!("{}/{}", self.node, self.edge)
    }

    /// Whether the edge moved since `mark` (an edge whose list says nothing is always read).
    fn moved(&self, mark: Option<&Mark>) -> bool {
        let Some(mark) = mark else {
            return true;
        };
        let newer = match (self.active, mark.at) {
            (Some(active), Some(at)) => active > at,
            (Some(_), None) => true,
            (None, _) => self.count.is_none(),
        };
        let counted = self.count.is_some() && self.count != mark.count;
        newer || counted
    }
}

/// One page of one edge, read by a network.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The items on the page that are the account's inbox (not its own answers).
    pub items: Vec<Incoming>,
    /// The time of everything on the page, the account's own answers too, newest first.
    pub times: Vec<Timestamp>,
    /// The next, older page's cursor.
    pub after: Option<String>,
}

/// How a network lists its edges and reads one page of one.
pub(crate) trait GraphInbox: Sync {
    /// The network's name, for warnings.
    fn name(&self) -> &'static str;

    /// The edges a walk may read, each with the activity its list reports.
    fn sources(
        &self,
        tokens: &Tokens,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> impl Future<Output = Result<Vec<Source>, NetworkError>> + Send;

    /// One page of `source`, newest first, from `after`.
    fn page(
        &self,
        tokens: &Tokens,
        source: &Source,
        after: Option<&str>,
        limits: ReadLimits,
        warnings: &mut Vec<String>,
    ) -> impl Future<Output = Result<Found, NetworkError>> + Send;
}

/// Where reading got to: each edge's mark, and an unfinished walk.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    marks: BTreeMap<String, Mark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    walk: Option<Walk>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Walk {
    /// The edges still to read; the first is being read.
    sources: Vec<Source>,
    /// Where in the first edge the walk is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    /// The newest time seen on the first edge so far: its mark once it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<Timestamp>,
    /// The account's first read: the newest page of each edge only.
    #[serde(default)]
    first: bool,
}

/// Reads what is new on `inbox` from `cursor`, at most `limits.pages` edge pages.
pub(crate) async fn walk(
    inbox: &impl GraphInbox,
    tokens: &Tokens,
    cursor: Option<&str>,
    limits: ReadLimits,
) -> Result<InboxRead, NetworkError> {
    let mut read = InboxRead::default();
    let mut position: Position = match cursor.map(serde_json::from_str) {
        None => Position::default(),
        Some(Ok(position)) => position,
        Some(Err(_)) => {
            read.warnings.push(format!(
                "Herald cannot read the {} inbox cursor it kept; reading starts again at the newest items",
                inbox.name()
            ));
            Position::default()
        }
    };
    let mut walk = match position.walk.take() {
        Some(walk) => walk,
        None => {
            let listed = inbox.sources(tokens, limits, &mut read.warnings).await?;
            let sources = listed
                .into_iter()
                .filter(|source| source.moved(position.marks.get(&source.key())))
                .collect();
            Walk {
                sources,
                after: None,
                newest: None,
                first: cursor.is_none(),
            }
        }
    };
    let mut budget = limits.pages.max(1);
    while let Some(source) = walk.sources.first().cloned() {
        if budget == 0 {
            read.more = true;
            break;
        }
        budget -= 1;
        let mark = position.marks.get(&source.key()).and_then(|mark| mark.at);
        let found = match inbox
            .page(
                tokens,
                &source,
                walk.after.as_deref(),
                limits,
                &mut read.warnings,
            )
            .await
        {
            Ok(found) => found,
            Err(NetworkError::Rejected(why)) if walk.after.is_some() => {
                read.warnings.push(format!(
                    "{} no longer accepts the cursor Herald kept for /{}/{} ({why}); that list is read again from its newest item",
                    inbox.name(),
                    source.node,
                    source.edge
                ));
                walk.after = None;
                continue;
            }
            Err(NetworkError::Rejected(why)) => {
                read.warnings.push(format!(
                    "{} could not read /{}/{} ({why}): it was deleted or is no longer the account's; it is left out",
                    inbox.name(),
                    source.node,
                    source.edge
                ));
                finish(&mut position, &mut walk, &source);
                continue;
            }
            Err(error) => return Err(error),
        };
        let fresh = |at: &Timestamp| mark.is_none_or(|mark| *at >= mark);
        walk.newest = found.times.iter().copied().chain(walk.newest).max();
        read.items
            .extend(found.items.into_iter().filter(|item| fresh(&item.at)));
        let reached_mark = found.times.iter().any(|at| !fresh(at));
        let Some(after) = found.after.filter(|_| !walk.first && !reached_mark) else {
            finish(&mut position, &mut walk, &source);
            continue;
        };
        if walk.after.as_deref() == Some(after.as_str()) {
            read.warnings.push(format!(
                "{} served the same page of /{}/{} again; reading stops here and goes on from the same place at the next read",
                inbox.name(),
                source.node,
                source.edge
            ));
            break;
        }
        walk.after = Some(after);
    }
    if !walk.sources.is_empty() {
        position.walk = Some(walk);
    }
    prune(&mut position.marks);
    read.cursor = Some(serde_json::json!(position).to_string());
    Ok(read)
}

/// The first edge is read: its mark is the newest time seen there (or what its list said).
fn finish(position: &mut Position, walk: &mut Walk, source: &Source) {
    let key = source.key();
    let before = position.marks.get(&key).cloned().unwrap_or_default();
    let at = walk.newest.or(source.active).max(before.at);
    position.marks.insert(
        key,
        Mark {
            at,
            count: source.count,
        },
    );
    walk.sources.remove(0);
    walk.after = None;
    walk.newest = None;
}

/// Keeps the most recently active marks only.
fn prune(marks: &mut BTreeMap<String, Mark>) {
    if marks.len() <= MARKS_KEPT {
        return;
    }
    let mut by_time: Vec<(Option<Timestamp>, String)> = marks
        .iter()
        .map(|(key, mark)| (mark.at, key.clone()))
        .collect();
    by_time.sort();
    let extra = marks.len() - MARKS_KEPT;
    for (_, key) in by_time.into_iter().take(extra) {
        marks.remove(&key);
    }
}

/// Sends a Graph read and parses the page, lone surrogates repaired.
pub(crate) async fn read_page<T: serde::de::DeserializeOwned>(
    endpoint: &Endpoint,
    request: reqwest::RequestBuilder,
    tokens: &Tokens,
    warnings: &mut Vec<String>,
) -> Result<T, NetworkError> {
    let answer = endpoint
        .call(crate::graph::bearer(request, tokens), crate::graph::failure)
        .await?;
    parse_page(&answer, warnings)
}

/// What a reply to a Meta item names: a comment (or post) to comment under, or the person to
/// message privately.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub(crate) enum ReplyTo {
    Comment { on: String },
    Message { recipient: String },
}

impl ReplyTo {
    pub fn json(&self) -> String {
        serde_json::json!(self).to_string()
    }

    pub fn parse(text: &str, network: &str) -> Result<ReplyTo, NetworkError> {
        serde_json::from_str(text).map_err(|_| {
            NetworkError::Rejected(format!("the item to answer is not a {network} item"))
        })
    }
}

/// The Send API's answer (Messenger and Instagram messaging).
#[derive(Debug, Deserialize)]
pub(crate) struct Sent {
    pub message_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_read_in_every_shape_meta_sends() {
        let at = Timestamp::from_second(1_796_112_000).expect("time");
        for value in [
            serde_json::json!("2026-12-01T08:00:00+0000"),
            serde_json::json!("2026-12-01T08:00:00Z"),
            serde_json::json!(1_796_112_000),
        ] {
            assert_eq!(graph_time(&value), Some(at), "{value}");
        }
        assert_eq!(graph_time(&serde_json::json!("yesterday")), None);
    }

    #[test]
    fn an_edge_is_read_when_its_list_says_it_moved() {
        let at = |second| Some(Timestamp::from_second(second).expect("time"));
        let mark = Mark {
            at: at(100),
            count: Some(3),
        };
        let post = |active, count| Source {
            active,
            count,
            ..Source::new("comments", "1")
        };
        assert!(post(at(101), None).moved(Some(&mark)));
        assert!(!post(at(100), None).moved(Some(&mark)));
        assert!(post(None, Some(4)).moved(Some(&mark)));
        assert!(!post(None, Some(3)).moved(Some(&mark)));
        assert!(
            Source::new("tags", "1").moved(Some(&mark)),
            "no activity: read"
        );
        assert!(post(at(1), None).moved(None), "never read: read");
    }

    #[test]
    fn the_last_page_has_no_next_even_with_a_cursor() {
        let last: GraphPage<serde_json::Value> = serde_json::from_str(
            r#"{"data": [], "paging": {"cursors": {"before": "b", "after": "a"}}}"#,
        )
        .expect("page");
        assert_eq!(last.after(), None);
        let more: GraphPage<serde_json::Value> = serde_json::from_str(
            r#"{"data": [], "paging": {"cursors": {"after": "a"}, "next": "https://graph/x?after=a"}}"#,
        )
        .expect("page");
        assert_eq!(more.after().as_deref(), Some("a"));
    }
}
