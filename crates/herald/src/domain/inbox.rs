//! The inbox's pure types: what kind of thing came in, how it was judged, whether someone
//! dealt with it; how a link is shown so that nobody can click it as it stands; how long a
//! text Herald keeps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest text Herald keeps of one item, in characters; longer ones are cut (and marked
/// so). Enough for any network's longest post or comment (Facebook's 63,206 is the outlier).
pub const LONGEST_TEXT: usize = 10_000;

/// What came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Someone named the account in a post.
    Mention,
    /// Someone answered one of the account's posts.
    Reply,
    /// A comment on one of the account's posts (Facebook, Instagram, LinkedIn).
    Comment,
    /// A direct or private message.
    Message,
    /// Someone started following the account.
    Follower,
}

/// How an item was judged when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Safe,
    /// Worth a second look before acting on it: the reasons say why.
    Suspicious,
    /// Do not follow its links or trust its sender: the reasons say why.
    Dangerous,
}

/// Whether someone has dealt with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Open,
    Done,
}

/// One link in an item, as screening judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JudgedLink {
    /// The link as the item wrote it. Never sent to a browser as a link: see [`defang`].
    pub url: String,
    pub verdict: Verdict,
    /// Where it leads, when it was followed (short links).
    #[serde(default)]
    pub destination: Option<String>,
    /// Why it is not safe, in people's words.
    #[serde(default)]
    pub reasons: Vec<String>,
}

macro_rules! words {
    ($type:ty { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($word => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

words!(ItemKind { Mention => "mention", Reply => "reply", Comment => "comment", Message => "message", Follower => "follower" });
words!(Verdict { Safe => "safe", Suspicious => "suspicious", Dangerous => "dangerous" });
words!(ItemState { Open => "open", Done => "done" });

impl ItemKind {
    /// The kind in people's words, for the inbox page.
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Mention => "Mention",
            ItemKind::Reply => "Reply",
            ItemKind::Comment => "Comment",
            ItemKind::Message => "Message",
            ItemKind::Follower => "New follower",
        }
    }
}

/// A link written so that no browser, mail client or chat app turns it into a link:
/// `hxxps://evil[.]example/login`. People can still read (and, deliberately, retype) it.
pub fn defang(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (host, path) = match rest.find(['/', '?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let scheme = scheme.map(|scheme| {
        let lower = scheme.to_ascii_lowercase();
        match lower.as_str() {
            "http" => "hxxp".to_owned(),
            "https" => "hxxps".to_owned(),
            _ => lower.replace('t', "x"),
        }
    });
    let host = host.replace('.', "[.]").replace(':', "[:]");
    match scheme {
        Some(scheme) => format!("{scheme}[://]{host}{path}"),
        None => format!("{host}{path}"),
    }
}

/// `text` cut to [`LONGEST_TEXT`] characters, and whether it was cut.
pub fn capped(text: &str) -> (String, bool) {
    match text.char_indices().nth(LONGEST_TEXT) {
        Some((at, _)) => (text[..at].to_owned(), true),
        None => (text.to_owned(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defanged_links_keep_their_words_but_are_no_links() {
        assert_eq!(
            defang("https://evil.example/login?next=1"),
            "hxxps[://]evil[.]example/login?next=1"
        );
        assert_eq!(
            defang("http://10.0.0.1:8080/"),
            "hxxp[://]10[.]0[.]0[.]1[:]8080/"
        );
        assert_eq!(defang("evil.example"), "evil[.]example");
        assert_eq!(defang("HTTPS://A.B"), "hxxps[://]A[.]B");
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let long = "é".repeat(LONGEST_TEXT + 5);
        let (text, cut) = capped(&long);
        assert!(cut);
        assert_eq!(text.chars().count(), LONGEST_TEXT);
        assert_eq!(capped("short"), ("short".to_owned(), false));
    }

    #[test]
    fn words_read_back_as_the_same_values() {
        for kind in [
            ItemKind::Mention,
            ItemKind::Reply,
            ItemKind::Comment,
            ItemKind::Message,
            ItemKind::Follower,
        ] {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Verdict::parse("dangerous"), Some(Verdict::Dangerous));
        assert!(Verdict::Dangerous > Verdict::Suspicious);
        assert_eq!(ItemState::parse("closed"), None);
    }
}
