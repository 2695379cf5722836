//! Watching a Threads profile: its latest threads (`GET /me/threads` with
//! `fields=id,text,permalink,timestamp`) and its profile (`GET /me` with
//! `fields=id,username,name,threads_profile_picture_url,threads_biography`), with Herald's
//! token (<https://developers.facebook.com/docs/threads/threads-media#retrieve-a-list-of-all-a-user-s-threads>,
//! <https://developers.facebook.com/documentation/threads/threads-profiles>). Threads shows
//! no website field through the API.

use serde::Deserialize;

use super::Threads;
use crate::graph::{List, bearer, call};
use crate::watch::{OwnPost, PAGE, Profile, Watch, non_empty};
use crate::{NetworkFuture, Tokens};

#[derive(Deserialize)]
struct Thread {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Shown {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    threads_profile_picture_url: Option<String>,
    #[serde(default)]
    threads_biography: Option<String>,
}

impl Watch for Threads {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let limit = PAGE.to_string();
            let request = self.endpoint.client.get(self.url("/me/threads")).query(&[
                ("fields", "id,text,permalink,timestamp"),
                ("limit", limit.as_str()),
            ]);
            let threads: List<Thread> = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(threads
                .data
                .into_iter()
                .map(|thread| OwnPost {
                    text: thread.text.unwrap_or_default(),
                    url: thread.permalink,
                    created_at: thread.timestamp,
                    remote_id: thread.id,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            let request = self.endpoint.client.get(self.url("/me")).query(&[(
                "fields",
                "id,username,name,threads_profile_picture_url,threads_biography",
            )]);
            let shown: Shown = call(&self.endpoint, bearer(request, tokens)).await?;
            Ok(Profile {
                handle: shown.username.unwrap_or_else(|| tokens.subject.clone()),
                display_name: non_empty(shown.name),
                bio: non_empty(shown.threads_biography),
                avatar: non_empty(shown.threads_profile_picture_url),
                website: None,
            })
        })
    }
}
