//! Watching a Facebook Page: its latest posts (`GET /{page-id}/posts` with
//! `fields=id,message,created_time,permalink_url`) and what the Page shows people
//! (`GET /{page-id}?fields=id,name,username,about,website,picture`), with the Page token
//! (<https://developers.facebook.com/docs/graph-api/reference/page/feed>,
//! <https://developers.facebook.com/docs/graph-api/reference/page/>).

use serde::Deserialize;

use super::{Facebook, published};
use crate::graph::{List, bearer, call, node};
use crate::watch::{OwnPost, PAGE, Profile, Watch, non_empty};
use crate::{NetworkFuture, Tokens};

#[derive(Deserialize)]
struct PagePost {
    id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
    #[serde(default)]
    permalink_url: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    about: Option<String>,
    #[serde(default)]
    website: Option<String>,
    /// `{"data": {"url": …, "is_silhouette": …}}`.
    #[serde(default)]
    picture: Option<Picture>,
}

#[derive(Deserialize)]
struct Picture {
    data: PictureData,
}

#[derive(Deserialize)]
struct PictureData {
    #[serde(default)]
    url: Option<String>,
}

impl Watch for Facebook {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let page = node(&tokens.subject)?;
            let limit = PAGE.to_string();
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{page}/posts")))
                .query(&[
                    ("fields", "id,message,created_time,permalink_url"),
                    ("limit", limit.as_str()),
                ]);
            let posts: List<PagePost> = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(posts
                .data
                .into_iter()
                .map(|post| OwnPost {
                    text: post.message.unwrap_or_default(),
                    url: post
                        .permalink_url
                        .or_else(|| published(post.id.clone()).url),
                    created_at: post.created_time,
                    remote_id: post.id,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let page = node(&tokens.subject)?;
            let request = self
                .endpoint
                .client
                .get(self.url(&format!("/{page}")))
                .query(&[("fields", "id,name,username,about,website,picture")]);
            let page: Page = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(Profile {
                handle: page
                    .username
                    .clone()
                    .or_else(|| page.name.clone())
                    .unwrap_or(page.id),
                display_name: non_empty(page.name),
                bio: non_empty(page.about),
                avatar: non_empty(page.picture.and_then(|picture| picture.data.url)),
                website: non_empty(page.website),
            })
        })
    }
}
