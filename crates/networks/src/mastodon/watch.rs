//! Watching a Mastodon account: its statuses (`GET /api/v1/accounts/{id}/statuses`) and its
//! profile (`GET /api/v1/accounts/verify_credentials`), both with Herald's token
//! (<https://docs.joinmastodon.org/methods/accounts/>).

use serde::Deserialize;

use super::{Mastodon, call};
use crate::watch::{OwnPost, Profile, Watch, plain_text};
use crate::{NetworkFuture, Tokens};

/// How many statuses one look reads (Mastodon's page size is at most 40).
const PAGE: &str = "40";

#[derive(Deserialize)]
struct WatchedStatus {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct WatchedAccount {
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    avatar: Option<String>,
    #[serde(default)]
    fields: Vec<Field>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(default)]
    value: String,
}

impl Watch for Mastodon {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let path = format!("/api/v1/accounts/{}/statuses", tokens.subject);
            let request = self
                .authorized(tokens, reqwest::Method::GET, &path)
                .query(&[("limit", PAGE)]);
            let statuses: Vec<WatchedStatus> = call(&self.endpoint, request).await?.json()?;
            Ok(statuses
                .into_iter()
                .map(|status| OwnPost {
                    remote_id: status.id,
                    text: plain_text(&status.content),
                    url: status.url,
                    created_at: status.created_at,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let request = self.authorized(
                tokens,
                reqwest::Method::GET,
                "/api/v1/accounts/verify_credentials",
            );
            let account: WatchedAccount = call(&self.endpoint, request).await?.json()?;
            let non_empty = |text: String| Some(text).filter(|text| !text.is_empty());
            Ok(Profile {
                handle: account.username,
                display_name: non_empty(account.display_name),
                bio: non_empty(plain_text(&account.note)),
                avatar: account.avatar.filter(|avatar| !avatar.is_empty()),
                website: non_empty(
                    account
                        .fields
                        .iter()
                        .map(|field| plain_text(&field.value))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            })
        })
    }
}
