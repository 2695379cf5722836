//! How long a post is, as each network counts it, and whether it fits. The composer shows
//! these counts live; the same rule refuses an over-long post when it is saved.
//!
//! - X: weighted length 280. Characters in the common ranges (Latin, Greek, Cyrillic, general
//!   punctuation…) weigh 1, everything else (CJK, emoji) 2, and every link counts as 23
//!   whatever its length, as X's own `twitter-text` rules say.
//! - Bluesky: 300 graphemes (what a reader sees as one character) and 3,000 bytes of UTF-8.
//! - Mastodon: 500 characters by default (an instance may allow more), links count as 23.
//! - Threads 500, Instagram 2,200, LinkedIn 3,000, Facebook 63,206 characters.

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;
use utoipa::ToSchema;

use super::accounts::Network;

/// What every link counts as on X and Mastodon.
const LINK_WEIGHT: usize = 23;

/// One network's verdict on a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Length {
    /// The length as the network counts it.
    pub used: usize,
    /// The most it allows.
    pub limit: usize,
    /// What is counted: "weighted characters", "graphemes", "characters".
    pub unit: &'static str,
    /// Bluesky also limits bytes: (used, limit).
    pub bytes: Option<(usize, usize)>,
}

impl Length {
    pub fn fits(&self) -> bool {
        self.used <= self.limit && self.bytes.is_none_or(|(used, limit)| used <= limit)
    }
}

/// Counts `text` for `network`; `instance_limit` is a Mastodon instance's own limit, if known.
pub fn length(network: Network, text: &str, instance_limit: Option<usize>) -> Length {
    let characters = |limit| Length {
        used: text.chars().count(),
        limit,
        unit: "characters",
        bytes: None,
    };
    match network {
        Network::X => Length {
            used: x_weighted(text),
            limit: 280,
            unit: "weighted characters",
            bytes: None,
        },
        Network::Bluesky => Length {
            used: text.graphemes(true).count(),
            limit: 300,
            unit: "graphemes",
            bytes: Some((text.len(), 3000)),
        },
        Network::Mastodon => Length {
            used: with_links_as(text, LINK_WEIGHT, |part| part.chars().count()),
            limit: instance_limit.unwrap_or(500),
            unit: "characters",
            bytes: None,
        },
        Network::Threads => characters(500),
        Network::Instagram => characters(2200),
        Network::Linkedin => characters(3000),
        Network::Facebook => characters(63_206),
    }
}

/// X's weighted length: links 23, emoji 2, other characters 1 or 2 by range.
fn x_weighted(text: &str) -> usize {
    with_links_as(text, LINK_WEIGHT, |part| {
        part.graphemes(true)
            .map(|grapheme| {
                if grapheme.chars().any(is_emoji) {
                    2
                } else {
                    grapheme.chars().map(x_char_weight).sum()
                }
            })
            .sum()
    })
}

/// Ranges X counts as one (its `twitter-text` v3 configuration); everything else counts two.
fn x_char_weight(c: char) -> usize {
    match u32::from(c) {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF)
}

/// The length with each link counted as `link_weight` and the rest by `count`.
fn with_links_as(text: &str, link_weight: usize, count: impl Fn(&str) -> usize) -> usize {
    let mut total = 0;
    let mut rest = 0;
    for link in guard::extract_links(text) {
        if link.span.start < rest {
            continue;
        }
        total += count(text.get(rest..link.span.start).unwrap_or("")) + link_weight;
        rest = link.span.end;
    }
    total + count(text.get(rest..).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_counts_links_as_23_and_wide_characters_as_two() {
        let link = "https://sunnycafe.example/menus/autumn/2026?utm_source=x";
        assert_eq!(length(Network::X, link, None).used, 23);
        assert_eq!(length(Network::X, "Hello", None).used, 5);
        assert_eq!(length(Network::X, "こんにちは", None).used, 10);
        assert_eq!(length(Network::X, "Cake 🍰", None).used, 7);
        assert_eq!(
            length(Network::X, "👩‍👩‍👧 family", None).used,
            9,
            "one emoji sequence"
        );
        let full = "a".repeat(280);
        assert!(length(Network::X, &full, None).fits());
        assert!(!length(Network::X, &format!("{full}!"), None).fits());
    }

    #[test]
    fn bluesky_limits_graphemes_and_bytes() {
        let flags = "🇬🇧".repeat(300);
        let counted = length(Network::Bluesky, &flags, None);
        assert_eq!(counted.used, 300, "a flag is one grapheme");
        assert_eq!(counted.bytes, Some((2400, 3000)));
        assert!(counted.fits());
        assert!(!length(Network::Bluesky, &"x".repeat(301), None).fits());
        let family = "👨‍👩‍👧‍👦".repeat(121);
        let heavy = length(Network::Bluesky, &family, None);
        assert!(
            heavy.used <= 300 && !heavy.fits(),
            "within graphemes, over bytes"
        );
    }

    #[test]
    fn mastodon_uses_the_instance_limit_and_counts_links_as_23() {
        let text = format!(
            "{} https://example.com/{}",
            "a".repeat(470),
            "p".repeat(200)
        );
        assert_eq!(length(Network::Mastodon, &text, None).used, 494);
        assert!(length(Network::Mastodon, &text, None).fits());
        assert!(!length(Network::Mastodon, &text, Some(400)).fits());
    }

    #[test]
    fn other_networks_count_characters_to_their_limits() {
        for (network, limit) in [
            (Network::Threads, 500),
            (Network::Instagram, 2200),
            (Network::Linkedin, 3000),
            (Network::Facebook, 63_206),
        ] {
            assert!(
                length(network, &"é".repeat(limit), None).fits(),
                "{network}"
            );
            assert!(
                !length(network, &"é".repeat(limit + 1), None).fits(),
                "{network}"
            );
        }
    }
}
