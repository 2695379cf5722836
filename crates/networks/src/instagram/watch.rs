//! Watching an Instagram professional account: its latest media (`GET /{ig-user-id}/media`
//! with `fields=id,caption,permalink,timestamp`) and its profile (`GET /{ig-user-id}` with
//! `fields=id,username,name,biography,profile_picture_url,website`), with Herald's token
//! (<https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user>,
//! <https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media>).

use serde::Deserialize;

use super::{Instagram, MediaItem};
use crate::graph::{List, bearer, call, node};
use crate::watch::{OwnPost, PAGE, Profile, Watch, non_empty};
use crate::{NetworkFuture, Tokens};

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    biography: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
    #[serde(default)]
    website: Option<String>,
}

impl Watch for Instagram {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let account = node(&tokens.subject)?;
            let limit = PAGE.to_string();
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{account}/media")))
                .query(&[
                    ("fields", "id,caption,permalink,timestamp"),
                    ("limit", limit.as_str()),
                ]);
            let media: List<MediaItem> = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(media
                .data
                .into_iter()
                .map(|item| OwnPost {
                    text: item.caption.unwrap_or_default(),
                    url: item.permalink,
                    created_at: item.timestamp,
                    remote_id: item.id,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let account = node(&tokens.subject)?;
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{account}")))
                .query(&[(
                    "fields",
                    "id,username,name,biography,profile_picture_url,website",
                )]);
            let shown: Account = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(Profile {
                handle: shown.username.unwrap_or_else(|| tokens.subject.clone()),
                display_name: non_empty(shown.name),
                bio: non_empty(shown.biography),
                avatar: non_empty(shown.profile_picture_url),
                website: non_empty(shown.website),
            })
        })
    }
}
