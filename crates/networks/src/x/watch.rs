//! Watching an X account: its latest posts (`GET /2/users/:id/tweets` with
//! `tweet.fields=created_at`) and its profile (`GET /2/users/me` with
//! `user.fields=description,profile_image_url,url`), both with Herald's user token
//! (<https://docs.x.com/x-api/posts/timelines/introduction>,
//! <https://docs.x.com/x-api/users/lookup/introduction>, and the fields at
//! <https://docs.x.com/x-api/fundamentals/fields>).

use reqwest::Method;
use serde::Deserialize;

use super::{X, call, published};
use crate::watch::{OwnPost, PAGE, Profile, Watch, non_empty};
use crate::{NetworkFuture, Tokens};

#[derive(Deserialize)]
struct Timeline {
    /// Left out when the account has no posts.
    #[serde(default)]
    data: Vec<Tweet>,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    data: User,
}

#[derive(Deserialize)]
struct User {
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    profile_image_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

impl Watch for X {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let path = format!("/2/users/{}/tweets", tokens.subject);
            let page = PAGE.to_string();
            let request = self.authorized(tokens, Method::GET, &path).query(&[
                ("max_results", page.as_str()),
                ("tweet.fields", "created_at"),
            ]);
            let timeline: Timeline = call(&self.endpoint, request).await?.json()?;
            Ok(timeline
                .data
                .into_iter()
                .map(|tweet| OwnPost {
                    text: unescaped(&tweet.text),
                    url: published(tweet.id.clone()).url,
                    created_at: tweet.created_at,
                    remote_id: tweet.id,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let request = self
                .authorized(tokens, Method::GET, "/2/users/me")
                .query(&[("user.fields", "description,profile_image_url,url")]);
            let me: Me = call(&self.endpoint, request).await?.json()?;
            let user = me.data;
            Ok(Profile {
                handle: format!("@{}", user.username),
                display_name: non_empty(user.name),
                bio: non_empty(user.description),
                avatar: non_empty(user.profile_image_url),
                website: non_empty(user.url),
            })
        })
    }
}

/// X escapes `&`, `<` and `>` in post text; people read them plain.
fn unescaped(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
