//! Staff and their own networks: what a member's own profile is for, and the share links that
//! let them pass on a company post through the network's own composer. Herald never holds a
//! member's credentials for their own profiles: the share link opens the network's page, where
//! the member is signed in (or signs in) and confirms the post themselves.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::Network;

/// What a member says one of their own profiles is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Their own life only: company news is not shared there.
    Personal,
    /// Personal, and they share the company's news there.
    SharesNews,
    /// The profile speaks for the company (a salesperson's LinkedIn).
    Represents,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Personal, Purpose::SharesNews, Purpose::Represents];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Personal => "personal",
            Purpose::SharesNews => "shares_news",
            Purpose::Represents => "represents",
        }
    }

    pub fn parse(text: &str) -> Result<Purpose, String> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
            .ok_or_else(|| {
                format!("unknown purpose {text:?}; use personal, shares_news or represents")
            })
    }

    /// In words, for the pages.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Personal => "Personal only",
            Purpose::SharesNews => "Shares company news",
            Purpose::Represents => "Represents the company",
        }
    }

    /// Whether company posts are offered for sharing to a profile with this purpose: not to a
    /// profile its owner keeps for personal things only.
    pub fn shares_company_posts(self) -> bool {
        self != Purpose::Personal
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a share link may lead: each network's own share page, and nothing else. A Mastodon
/// link leads to the member's own server, which is checked to be a plain host name instead.
pub const INTENT_HOSTS: [&str; 5] = [
    "x.com",
    "www.linkedin.com",
    "www.facebook.com",
    "www.threads.com",
    "bsky.app",
];

/// The network's own share link for `text` and `url`, or `None` where the network has none
/// (Instagram), or it needs what is missing (LinkedIn and Facebook share a link only; Mastodon
/// needs the member's server). The formats, as each network documents them:
///
/// - X: `https://x.com/intent/post?text=…&url=…`. X's "Web Intent" page
///   (docs.x.com/x-for-websites/post-button/guides/web-intent) names the same `text` and `url`
///   parameters under `https://x.com/intent/tweet`; `intent/post` is the current name of the
///   same composer.
/// - LinkedIn: `https://www.linkedin.com/sharing/share-offsite/?url=…` (the share link that
///   replaced `shareArticle`; LinkedIn reads the title and picture from the page itself).
/// - Facebook: `https://www.facebook.com/sharer/sharer.php?u=…` (the share link without an app
///   id; `quote` no longer pre-fills text, so only the link is passed).
/// - Threads: `https://www.threads.com/intent/post?text=…&url=…` (Meta's "Threads Web Intents",
///   developers.facebook.com/documentation/threads/threads-web-intents; threads.net redirects).
/// - Bluesky: `https://bsky.app/intent/compose?text=…` (docs.bsky.app "Action Intent Links";
///   no separate URL parameter, so the link goes at the end of the text).
/// - Mastodon: `https://SERVER/share?text=…` on the member's own server (the share page every
///   Mastodon server serves, which share buttons and bookmarklets use; the link goes in the
///   text).
pub fn intent_url(
    network: Network,
    text: &str,
    url: Option<&str>,
    server: Option<&str>,
) -> Option<String> {
    let text = text.trim();
    let with_link = || match url {
        Some(url) if text.is_empty() => url.to_owned(),
        Some(url) => format!("{text} {url}"),
        None => text.to_owned(),
    };
    let query = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    };
    match network {
        Network::X => Some(format!(
            "https://x.com/intent/post?{}",
            query(&[("text", text), ("url", url.unwrap_or_default())])
        )),
        Network::Linkedin => url.map(|url| {
            format!(
                "https://www.linkedin.com/sharing/share-offsite/?{}",
                query(&[("url", url)])
            )
        }),
        Network::Facebook => url.map(|url| {
            format!(
                "https://www.facebook.com/sharer/sharer.php?{}",
                query(&[("u", url)])
            )
        }),
        Network::Threads => Some(format!(
            "https://www.threads.com/intent/post?{}",
            query(&[("text", text), ("url", url.unwrap_or_default())])
        )),
        Network::Bluesky => Some(format!(
            "https://bsky.app/intent/compose?{}",
            query(&[("text", &with_link())])
        )),
        Network::Mastodon => {
            let server = server.filter(|server| is_server_name(server))?;
            Some(format!(
                "https://{server}/share?{}",
                query(&[("text", &with_link())])
            ))
        }
        Network::Instagram => None,
    }
}

/// Whether `location` is a share link Herald may send a member to: https, on one of the
/// networks' share hosts, or on the Mastodon server the member named (`server`). Anything
/// else is refused, so the share route can never redirect anywhere a request chooses.
pub fn is_intent_location(location: &str, server: Option<&str>) -> bool {
    let Some(rest) = location.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    INTENT_HOSTS.contains(&host)
        || server.is_some_and(|server| server == host && is_server_name(host))
}

/// A server's host name: lower-case letters, digits, hyphens and dots, with a dot, no port,
/// no user, no path.
fn is_server_name(host: &str) -> bool {
    host.len() <= 253
        && host.contains('.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The Mastodon server of a handle such as `@jane@mastodon.social`.
pub fn mastodon_server(handle: &str) -> Option<&str> {
    let server = handle.trim_start_matches('@').split_once('@')?.1;
    is_server_name(server).then_some(server)
}

/// Where a profile is seen, when its owner gives no link: the network's usual address for it.
pub fn profile_link(network: Network, handle: &str) -> String {
    let name = handle.trim_start_matches('@');
    match network {
        Network::X => format!("https://x.com/{name}"),
        Network::Linkedin => format!("https://www.linkedin.com/in/{name}"),
        Network::Facebook => format!("https://www.facebook.com/{name}"),
        Network::Instagram => format!("https://www.instagram.com/{name}"),
        Network::Threads => format!("https://www.threads.com/@{name}"),
        Network::Bluesky => format!("https://bsky.app/profile/{name}"),
        Network::Mastodon => match name.split_once('@') {
            Some((user, server)) => format!("https://{server}/@{user}"),
            None => format!("https://mastodon.social/@{name}"),
        },
    }
}

/// Percent-encodes a query value (RFC 3986): every byte but the unreserved letters, digits and
/// `-._~` becomes `%XX`, so a space is `%20`, never `+`, and `&`, `=`, `#`, `+` cannot end the
/// value early or change it.
pub fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "New menu & café #food";
    const URL: &str = "https://x.com/sunnycafe/status/1?s=20";

    #[test]
    fn each_network_gets_its_documented_share_link() {
        let link = |network, server| intent_url(network, TEXT, Some(URL), server);
        assert_eq!(
            link(Network::X, None).as_deref(),
            Some(
                "https://x.com/intent/post?text=New%20menu%20%26%20caf%C3%A9%20%23food&url=https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(
            link(Network::Linkedin, None).as_deref(),
            Some(
                "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(
            link(Network::Facebook, None).as_deref(),
            Some(
                "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(
            link(Network::Threads, None).as_deref(),
            Some(
                "https://www.threads.com/intent/post?text=New%20menu%20%26%20caf%C3%A9%20%23food&url=https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(
            link(Network::Bluesky, None).as_deref(),
            Some(
                "https://bsky.app/intent/compose?text=New%20menu%20%26%20caf%C3%A9%20%23food%20https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(
            link(Network::Mastodon, Some("hachyderm.io")).as_deref(),
            Some(
                "https://hachyderm.io/share?text=New%20menu%20%26%20caf%C3%A9%20%23food%20https%3A%2F%2Fx.com%2Fsunnycafe%2Fstatus%2F1%3Fs%3D20"
            )
        );
        assert_eq!(link(Network::Instagram, None), None);
    }

    #[test]
    fn a_link_only_network_needs_the_post_link_and_mastodon_a_real_server() {
        assert_eq!(intent_url(Network::Linkedin, TEXT, None, None), None);
        assert_eq!(intent_url(Network::Facebook, TEXT, None, None), None);
        assert_eq!(intent_url(Network::Mastodon, TEXT, Some(URL), None), None);
        for bad in [
            "evil.example/x",
            "evil.example:8080",
            "user@evil.example",
            "localhost",
            ".a.b",
        ] {
            assert_eq!(
                intent_url(Network::Mastodon, TEXT, Some(URL), Some(bad)),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            intent_url(Network::X, "Hello", None, None).as_deref(),
            Some("https://x.com/intent/post?text=Hello")
        );
    }

    #[test]
    fn only_share_pages_are_places_to_send_a_member() {
        let x = intent_url(Network::X, TEXT, Some(URL), None).expect("X link");
        assert!(is_intent_location(&x, None));
        let mastodon =
            intent_url(Network::Mastodon, TEXT, Some(URL), Some("hachyderm.io")).expect("link");
        assert!(is_intent_location(&mastodon, Some("hachyderm.io")));
        assert!(!is_intent_location(&mastodon, Some("mastodon.social")));
        for bad in [
            "http://x.com/intent/post",
            "https://x.com.evil.example/intent/post",
            "https://evil.example/?https://x.com/",
            "//x.com/intent/post",
            "https://x.com@evil.example/",
            "javascript:alert(1)",
        ] {
            assert!(!is_intent_location(bad, None), "{bad}");
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a b+c&d=e#f"), "a%20b%2Bc%26d%3De%23f");
        assert_eq!(percent_encode("-._~AZaz09"), "-._~AZaz09");
        assert_eq!(percent_encode("é\n"), "%C3%A9%0A");
    }

    #[test]
    fn purposes_round_trip_and_personal_profiles_share_nothing() {
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Ok(purpose));
        }
        assert!(Purpose::parse("work").is_err());
        assert!(!Purpose::Personal.shares_company_posts());
        assert!(Purpose::Represents.shares_company_posts());
    }

    #[test]
    fn a_mastodon_handle_names_its_server_and_a_default_profile_link() {
        assert_eq!(mastodon_server("@jane@hachyderm.io"), Some("hachyderm.io"));
        assert_eq!(mastodon_server("@jane"), None);
        assert_eq!(
            profile_link(Network::Mastodon, "@jane@hachyderm.io"),
            "https://hachyderm.io/@jane"
        );
        assert_eq!(
            profile_link(Network::Linkedin, "jane-doe"),
            "https://www.linkedin.com/in/jane-doe"
        );
    }
}
