//! Watching a Bluesky account on its own PDS, without an AppView: its posts
//! (`com.atproto.repo.listRecords` of `app.bsky.feed.post`, newest first) and its profile
//! record (`com.atproto.repo.getRecord` of `app.bsky.actor.profile/self`)
//! (<https://docs.bsky.app/docs/api/com-atproto-repo-list-records>).

use serde::Deserialize;
use serde_json::Value;

use super::{Bluesky, POST_COLLECTION, expect_json};
use crate::watch::{OwnPost, Profile, Watch};
use crate::{NetworkFuture, Tokens};

/// How many posts one look reads.
const PAGE: &str = "40";

#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    uri: String,
    #[serde(default)]
    value: Value,
}

impl Watch for Bluesky {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let request = self.get(tokens, "com.atproto.repo.listRecords").query(&[
                ("repo", tokens.subject.as_str()),
                ("collection", POST_COLLECTION),
                ("limit", PAGE),
            ]);
            let listed: Listed = expect_json(self.send_as(tokens, request).await?)?;
            Ok(listed
                .records
                .into_iter()
                .map(|record| OwnPost {
                    text: text_of(&record.value, "text"),
                    created_at: Some(text_of(&record.value, "createdAt"))
                        .filter(|at| !at.is_empty()),
                    url: None,
                    remote_id: record.uri,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let request = self.get(tokens, "com.atproto.repo.getRecord").query(&[
                ("repo", tokens.subject.as_str()),
                ("collection", "app.bsky.actor.profile"),
                ("rkey", "self"),
            ]);
            let record: Record = expect_json(self.send_as(tokens, request).await?)?;
            let field =
                |name: &str| Some(text_of(&record.value, name)).filter(|text| !text.is_empty());
            Ok(Profile {
                handle: tokens.subject.clone(),
                display_name: field("displayName"),
                bio: field("description"),
                avatar: record
                    .value
                    .pointer("/avatar/ref/$link")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                website: None,
            })
        })
    }
}

fn text_of(value: &Value, name: &str) -> String {
    value
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
