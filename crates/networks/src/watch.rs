//! Watching an account itself, for signs that someone else controls it (issue 20): its latest
//! posts (to compare with what Herald published) and its profile. A trait of its own, beside
//! [`crate::Adapter`], because only some networks let an app read these; each network's
//! implementation lives with its adapter (`mastodon/watch.rs`, …).

use serde::{Deserialize, Serialize};

use crate::{NetworkFuture, Tokens};

/// Reading an account's own posts and profile.
pub trait Watch: Send + Sync + std::fmt::Debug {
    /// The account's latest posts, newest first (as many as the network gives in one page).
    fn recent_posts<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Vec<OwnPost>>;

    /// The account's profile as the network shows it.
    fn profile<'a>(&'a self, tokens: &'a Tokens) -> NetworkFuture<'a, Profile>;
}

/// One post on the account, whoever made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPost {
    /// The network's id for it, as [`crate::Published::remote_id`] names Herald's own.
    pub remote_id: String,
    /// Its text as plain text (markup removed).
    pub text: String,
    pub url: Option<String>,
    /// When the network says it was made (RFC 3339), if it says.
    pub created_at: Option<String>,
}

/// What the account shows people: a change no member made is a sign of compromise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub handle: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<String>,
    pub website: Option<String>,
}

impl Profile {
    /// The fields that differ from `before`, by name, with the old and new value.
    pub fn changes_from(&self, before: &Profile) -> Vec<(&'static str, String, String)> {
        let show = |value: &Option<String>| value.clone().unwrap_or_default();
        let mut changes = Vec::new();
        if self.handle != before.handle {
            changes.push(("handle", before.handle.clone(), self.handle.clone()));
        }
        for (field, old, new) in [
            ("display name", &before.display_name, &self.display_name),
            ("bio", &before.bio, &self.bio),
            ("avatar", &before.avatar, &self.avatar),
            ("website", &before.website, &self.website),
        ] {
            if old != new {
                changes.push((field, show(old), show(new)));
            }
        }
        changes
    }
}

/// How many posts one look asks for, on every network that lets the caller choose: a Herald
/// post missing from a page shorter than this is gone, not merely older.
pub const PAGE: usize = 40;

/// A text the network gave, or `None` when it gave nothing or an empty one: "no bio" reads the
/// same whichever way a network says it.
pub(crate) fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// Text from a network's HTML (Mastodon's `content`): tags dropped, paragraphs and line
/// breaks as newlines, the five escapes undone. Enough to show and check a post, not a
/// general HTML parser.
pub fn plain_text(html: &str) -> String {
    let spaced = html
        .replace("</p><p>", "\n\n")
        .replace("<br />", "\n")
        .replace("<br>", "\n");
    let mut text = String::with_capacity(spaced.len());
    let mut in_tag = false;
    for character in spaced.chars() {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_tags_and_undoes_escapes() {
        assert_eq!(
            plain_text("<p>Win &amp; <a href=\"x\">claim</a></p><p>a<br />b &lt;3</p>"),
            "Win & claim\n\na\nb <3"
        );
    }

    #[test]
    fn a_profile_names_each_changed_field() {
        let before = Profile {
            handle: "@cafe".into(),
            display_name: Some("Café".into()),
            ..Profile::default()
        };
        let after = Profile {
            display_name: Some("Free crypto".into()),
            website: Some("https://evil.example".into()),
            ..before.clone()
        };
        let changes = after.changes_from(&before);
        assert_eq!(
            changes,
            vec![
                ("display name", "Café".to_owned(), "Free crypto".to_owned()),
                ("website", String::new(), "https://evil.example".to_owned()),
            ]
        );
    }
}
