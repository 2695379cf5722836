//! Watching a LinkedIn member or organization: its latest posts (the Posts API's author
//! finder, `GET /rest/posts?author={urn}&q=author`) and its profile: an organization's
//! `GET /rest/organizations/{id}` (name, vanity name, description, website, logo), a member's
//! `GET /v2/userinfo` (name and picture; members show no bio or website through the API)
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>,
//! <https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api>,
//! <https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2>).

use jiff::Timestamp;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{LinkedIn, call, published};
use crate::watch::{OwnPost, PAGE, Profile, Watch, non_empty};
use crate::{NetworkFuture, Tokens};

#[derive(Deserialize)]
struct Posts {
    #[serde(default)]
    elements: Vec<Post>,
}

#[derive(Deserialize)]
struct Post {
    id: String,
    #[serde(default)]
    commentary: String,
    /// Milliseconds since the epoch.
    #[serde(default, rename = "createdAt")]
    created_at: Option<i64>,
}

#[derive(Deserialize)]
struct Organization {
    #[serde(default, rename = "localizedName")]
    localized_name: Option<String>,
    #[serde(default, rename = "vanityName")]
    vanity_name: Option<String>,
    #[serde(default, rename = "localizedDescription")]
    localized_description: Option<String>,
    #[serde(default, rename = "localizedWebsite")]
    localized_website: Option<String>,
    #[serde(default, rename = "logoV2")]
    logo: Option<Logo>,
}

#[derive(Deserialize)]
struct Logo {
    #[serde(default)]
    original: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

impl Watch for LinkedIn {
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>> {
        Box::pin(async move {
            let count = PAGE.to_string();
            let request = self
                .rest(tokens, Method::GET, "/rest/posts")
                .header("X-RestLi-Method", "FINDER")
                .query(&[
                    ("author", tokens.subject.as_str()),
                    ("q", "author"),
                    ("count", count.as_str()),
                    ("sortBy", "CREATED"),
                ]);
            let posts: Posts = call(&self.endpoint, request).await?.json()?;
            Ok(posts
                .elements
                .into_iter()
                .map(|post| OwnPost {
                    text: unescaped(&post.commentary),
                    url: published(post.id.clone()).url,
                    created_at: post
                        .created_at
                        .and_then(|millis| Timestamp::from_millisecond(millis).ok())
                        .map(|at| at.to_string()),
                    remote_id: post.id,
                })
                .collect())
        })
    }

    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile> {
        Box::pin(async move {
            if let Some(id) = tokens.subject.strip_prefix("urn:li:organization:") {
                let path = format!("/rest/organizations/{id}");
                let org: Organization = call(&self.endpoint, self.rest(tokens, Method::GET, &path))
                    .await?
                    .json()?;
                return Ok(Profile {
                    handle: org
                        .vanity_name
                        .clone()
                        .or_else(|| org.localized_name.clone())
                        .unwrap_or_default(),
                    display_name: non_empty(org.localized_name),
                    bio: non_empty(org.localized_description),
                    avatar: non_empty(org.logo.and_then(|logo| logo.original)),
                    website: non_empty(org.localized_website),
                });
            }
            let request = self
                .endpoint
                .client
                .get(self.endpoint.url(None, "/v2/userinfo"))
                .bearer_auth(tokens.access.expose_secret());
            let member: Member = call(&self.endpoint, request).await?.json()?;
            Ok(Profile {
                handle: member.name.clone().unwrap_or_default(),
                display_name: non_empty(member.name),
                bio: None,
                avatar: non_empty(member.picture),
                website: None,
            })
        })
    }
}

/// The little text format's plain text: the backslash escapes undone.
pub(crate) fn unescaped(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut escaped = false;
    for character in text.chars() {
        if character == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        plain.push(character);
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::unescaped;

    #[test]
    fn the_little_text_formats_escapes_are_undone() {
        assert_eq!(
            unescaped(&crate::linkedin::escape("Win (now) #free @you \\o/")),
            "Win (now) #free @you \\o/"
        );
    }
}
