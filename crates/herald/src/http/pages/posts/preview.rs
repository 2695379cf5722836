//! A post as its network would show it, for the composer and the post's page: the account's
//! header, the text in pieces (links marked the way the network highlights them) and, when the
//! text is too long, the point where the network would cut it. The pieces are plain text that
//! the template escapes; `draft.js` builds the same pieces in the browser as the text is typed.

use unicode_segmentation::UnicodeSegmentation;

use crate::domain::accounts::Network;
use crate::domain::post_text;

/// What the preview block shows.
#[derive(Debug)]
pub struct Preview {
    /// "X", "Mastodon"…: the heading says "Preview on X".
    pub network: &'static str,
    pub pieces: Vec<Piece>,
    /// A note on how the network counts links, when the text has any and it matters.
    pub link_note: Option<&'static str>,
    /// Said where the cut is, when the text is longer than the network allows.
    pub cut_note: Option<String>,
    /// The post's images under its text, as the network shows them (none in the composer
    /// until an image is chosen, which `draft.js` shows from the file itself).
    pub images: Vec<PreviewImage>,
}

/// One image in the preview: where its bytes are (a Herald URL) and its alt text.
#[derive(Debug, PartialEq, Eq)]
pub struct PreviewImage {
    pub src: String,
    pub alt: String,
}

/// A run of the text: `kind` is `text` or `link`, and `over` is true past the cut.
#[derive(Debug, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub kind: &'static str,
    pub over: bool,
}

/// The preview of `text` on `network`.
pub fn preview(network: Network, text: &str) -> Preview {
    let links: Vec<std::ops::Range<usize>> = guard::extract_links(text)
        .into_iter()
        .map(|link| link.span)
        .collect();
    let length = post_text::length(network, text, None);
    let cut = (!length.fits()).then(|| cut_at(network, text));
    let mut pieces = Vec::new();
    let mut at = 0;
    let mut push = |from: usize, to: usize, kind: &'static str| {
        let split = cut.map_or(to, |cut| cut.clamp(from, to));
        for (start, end, over) in [(from, split, false), (split, to, true)] {
            if let Some(part) = text.get(start..end).filter(|part| !part.is_empty()) {
                pieces.push(Piece {
                    text: part.to_owned(),
                    kind,
                    over: over || cut.is_some_and(|cut| start >= cut),
                });
            }
        }
    };
    for link in &links {
        if link.start < at {
            continue;
        }
        push(at, link.start, "text");
        push(link.start, link.end, "link");
        at = link.end;
    }
    push(at, text.len(), "text");
    let link_note = match network {
        Network::X if !links.is_empty() => Some("X shortens every link to 23 characters."),
        Network::Mastodon if !links.is_empty() => {
            Some("Mastodon counts every link as 23 characters.")
        }
        _ => None,
    };
    let cut_note = cut.map(|_| {
        let unit = match length.bytes {
            Some((used, limit)) if used > limit => "bytes".to_owned(),
            _ => length.unit.to_owned(),
        };
        format!(
            "Too long for {}: it would stop where the struck-through text begins ({} {} at most).",
            network.label(),
            match length.bytes {
                Some((used, limit)) if used > limit => limit,
                _ => length.limit,
            },
            unit
        )
    });
    Preview {
        network: network.label(),
        pieces,
        link_note,
        cut_note,
        images: Vec::new(),
    }
}

/// The byte offset of the longest start of `text` (ending between graphemes) that still fits
/// `network`, found by halving: the length only grows as the text does.
fn cut_at(network: Network, text: &str) -> usize {
    let ends: Vec<usize> = text
        .grapheme_indices(true)
        .map(|(start, grapheme)| start + grapheme.len())
        .collect();
    let fits = |end: usize| post_text::length(network, &text[..end], None).fits();
    let (mut low, mut high) = (0, ends.len());
    while low < high {
        let middle = (low + high).div_ceil(2);
        if ends.get(middle - 1).is_some_and(|&end| fits(end)) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low.checked_sub(1)
        .and_then(|index| ends.get(index))
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(preview: &Preview) -> Vec<(&str, &str, bool)> {
        preview
            .pieces
            .iter()
            .map(|piece| (piece.text.as_str(), piece.kind, piece.over))
            .collect()
    }

    #[test]
    fn links_are_their_own_pieces_and_x_says_they_count_as_23() {
        let preview = preview(Network::X, "Menu: https://sunnycafe.example/menu today");
        assert_eq!(
            shown(&preview),
            [
                ("Menu: ", "text", false),
                ("https://sunnycafe.example/menu", "link", false),
                (" today", "text", false),
            ]
        );
        assert!(preview.link_note.is_some_and(|note| note.contains("23")));
        assert_eq!(preview.cut_note, None);
    }

    #[test]
    fn an_over_long_post_is_cut_where_the_network_stops_counting() {
        let text = format!("{}{}", "a".repeat(280), "bcd");
        let preview = preview(Network::X, &text);
        assert_eq!(
            shown(&preview),
            [(&"a".repeat(280)[..], "text", false), ("bcd", "text", true)]
        );
        assert!(preview.cut_note.is_some_and(|note| note.contains("280")));
    }

    #[test]
    fn the_cut_falls_between_graphemes_and_fits_what_is_kept() {
        let text = "🇬🇧".repeat(301);
        let preview = preview(Network::Bluesky, &text);
        let kept: String = preview
            .pieces
            .iter()
            .filter(|piece| !piece.over)
            .map(|piece| piece.text.as_str())
            .collect();
        assert_eq!(kept, "🇬🇧".repeat(300));
        assert_eq!(preview.pieces.iter().filter(|piece| piece.over).count(), 1);
    }

    #[test]
    fn a_short_post_without_links_is_one_piece_with_no_notes() {
        let preview = preview(Network::Threads, "Soup <b>today</b>");
        assert_eq!(shown(&preview), [("Soup <b>today</b>", "text", false)]);
        assert_eq!((preview.link_note, preview.cut_note), (None, None));
    }
}
