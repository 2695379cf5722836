//! Rich-text facets for a Bluesky post: where the links, mentions and hashtags are in its text,
//! as UTF-8 byte ranges (<https://docs.bsky.app/docs/advanced-guides/post-richtext>, lexicon
//! `app.bsky.richtext.facet`).
//!
//! Detection follows the rules of Bluesky's own apps, written out here: a link starts with
//! `http://` or `https://` and runs to the next whitespace, less trailing punctuation and an
//! unbalanced closing bracket; a mention is `@` and a syntactically valid handle; a hashtag is `#`
//! and at least one character that is neither a digit nor punctuation, at most 64 graphemes. Links,
//! mentions and tags start the text or follow whitespace (links and mentions may also follow an
//! opening bracket or quote), and never overlap.

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

/// What a span of the text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A URL, as written.
    Link(String),
    /// A handle, without the `@`, not yet resolved to a DID.
    Mention(String),
    /// A hashtag, without the `#`.
    Tag(String),
}

/// One detected span: bytes `start..end` of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// A facet as the lexicon writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Facet {
    index: ByteSlice,
    features: Vec<Feature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ByteSlice {
    byte_start: usize,
    byte_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "$type")]
enum Feature {
    #[serde(rename = "app.bsky.richtext.facet#link")]
    Link { uri: String },
    #[serde(rename = "app.bsky.richtext.facet#mention")]
    Mention { did: String },
    #[serde(rename = "app.bsky.richtext.facet#tag")]
    Tag { tag: String },
}

/// The lexicon's limit on a tag: 64 graphemes, 640 bytes.
const LONGEST_TAG_GRAPHEMES: usize = 64;
const LONGEST_TAG_BYTES: usize = 640;

/// The links, mentions and hashtags in `text`, in order.
pub(crate) fn detect(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut previous: Option<char> = None;
    let mut skip_to = 0;
    for (at, c) in text.char_indices() {
        if at < skip_to {
            previous = Some(c);
            continue;
        }
        let rest = &text[at..];
        let found = match c {
            'h' if opens_link_or_mention(previous) => link(rest),
            '@' if opens_link_or_mention(previous) => mention(rest),
            '#' | '＃' if previous.is_none_or(char::is_whitespace) => tag(rest),
            _ => None,
        };
        if let Some((length, kind)) = found {
            spans.push(Span {
                start: at,
                end: at + length,
                kind,
            });
            skip_to = at + length;
        }
        previous = Some(c);
    }
    spans
}

/// The facets for `spans`, with each mention's DID from `did_of`; a mention whose handle has
/// no DID is left out (it stays plain text).
pub(crate) fn facets(spans: &[Span], did_of: impl Fn(&str) -> Option<String>) -> Vec<Facet> {
    spans
        .iter()
        .filter_map(|span| {
            let feature = match &span.kind {
                Kind::Link(uri) => Feature::Link { uri: uri.clone() },
                Kind::Mention(handle) => Feature::Mention {
                    did: did_of(handle)?,
                },
                Kind::Tag(tag) => Feature::Tag { tag: tag.clone() },
            };
            Some(Facet {
                index: ByteSlice {
                    byte_start: span.start,
                    byte_end: span.end,
                },
                features: vec![feature],
            })
        })
        .collect()
}

/// The handles mentioned in `spans`, each once.
pub(crate) fn mentioned(spans: &[Span]) -> Vec<&str> {
    let mut handles: Vec<&str> = Vec::new();
    for span in spans {
        if let Kind::Mention(handle) = &span.kind
            && !handles.contains(&handle.as_str())
        {
            handles.push(handle);
        }
    }
    handles
}

fn opens_link_or_mention(previous: Option<char>) -> bool {
    previous.is_none_or(|c| c.is_whitespace() || "([{\"'“‘«".contains(c))
}

/// A URL at the start of `rest`: its length in bytes and the URL.
fn link(rest: &str) -> Option<(usize, Kind)> {
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|scheme| rest.starts_with(scheme))?;
    let whole = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let mut url = &rest[..whole];
    loop {
        let trimmed = url.trim_end_matches(|c: char| ".,;:!?\"'”’»…".contains(c));
        let trimmed = if trimmed.ends_with(')') && !balanced(trimmed, '(', ')') {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    // A scheme alone, or a scheme and no host with a dot in it, is not a link.
    let host = url[scheme.len()..].split(['/', '?', '#']).next()?;
    if !host.contains('.') || host.starts_with('.') || host.ends_with('.') {
        return None;
    }
    Some((url.len(), Kind::Link(url.to_owned())))
}

fn balanced(text: &str, open: char, close: char) -> bool {
    text.matches(open).count() >= text.matches(close).count()
}

/// A mention at the start of `rest` (which starts with `@`).
fn mention(rest: &str) -> Option<(usize, Kind)> {
    let body = &rest[1..];
    let length = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(body.len());
    let handle = body[..length].trim_end_matches(['.', '-']);
    if !is_handle(handle) {
        return None;
    }
    Some((1 + handle.len(), Kind::Mention(handle.to_ascii_lowercase())))
}

/// Handle syntax (<https://atproto.com/specs/handle>): at least two dot-separated labels of
/// letters, digits and inner hyphens, each at most 63 characters, the last starting with a
/// letter; at most 253 characters.
pub(crate) fn is_handle(handle: &str) -> bool {
    let labels: Vec<&str> = handle.split('.').collect();
    handle.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .and_then(|tld| tld.chars().next())
            .is_some_and(|c| c.is_ascii_alphabetic())
}

/// A hashtag at the start of `rest` (which starts with `#` or `＃`).
fn tag(rest: &str) -> Option<(usize, Kind)> {
    let hash = rest.chars().next()?.len_utf8();
    let body = &rest[hash..];
    let length = body.find(is_tag_end).unwrap_or(body.len());
    let tag = body[..length].trim_end_matches(is_punctuation);
    let meaningful = tag
        .chars()
        .any(|c| !c.is_numeric() && !is_punctuation(c) && c != '\u{fe0f}');
    if !meaningful
        || tag.len() > LONGEST_TAG_BYTES
        || tag.graphemes(true).count() > LONGEST_TAG_GRAPHEMES
    {
        return None;
    }
    Some((hash + tag.len(), Kind::Tag(tag.to_owned())))
}

/// Whitespace and the invisible characters that end a tag (soft hyphen, word joiner, zero-width
/// spaces and joiners, the enclosing keycap).
fn is_tag_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{ad}' | '\u{2060}' | '\u{200a}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{20e2}'
        )
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '…' | '“'
                | '”'
                | '‘'
                | '’'
                | '«'
                | '»'
                | '¡'
                | '¿'
                | '、'
                | '。'
                | '！'
                | '？'
                | '，'
                | '：'
                | '；'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(usize, usize, Kind)> {
        detect(text)
            .into_iter()
            .map(|span| (span.start, span.end, span.kind))
            .collect()
    }

    fn link(uri: &str) -> Kind {
        Kind::Link(uri.to_owned())
    }

    #[test]
    fn offsets_count_utf8_bytes_after_emoji_and_accents() {
        // "🎉" is 4 bytes and each "é" 2, so the link starts at byte 4 + 1 + 7 + 1 = 13.
        let text = "🎉 Lancé: https://example.com/café et @alice.test #été";
        let spans = kinds(text);
        let start = "🎉 Lancé: ".len();
        assert_eq!(start, 13);
        assert_eq!(
            spans[0],
            (
                start,
                start + "https://example.com/café".len(),
                link("https://example.com/café")
            )
        );
        let at = text.find('@').expect("mention");
        assert_eq!(
            spans[1],
            (at, at + 11, Kind::Mention("alice.test".to_owned()))
        );
        let hash = text.find('#').expect("tag");
        assert_eq!(spans[2], (hash, text.len(), Kind::Tag("été".to_owned())));
        assert_eq!(&text[spans[2].0..spans[2].1], "#été");
        assert_eq!(text.len() - hash, 6, "# is 1 byte and été is 5");
    }

    #[test]
    fn a_link_loses_trailing_punctuation_and_unbalanced_brackets() {
        assert_eq!(
            kinds("see https://example.com/a.")[0].2,
            link("https://example.com/a")
        );
        assert_eq!(
            kinds("(see https://example.com/a), ok")[0].2,
            link("https://example.com/a")
        );
        assert_eq!(
            kinds("https://en.wikipedia.org/wiki/Rust_(language)!")[0].2,
            link("https://en.wikipedia.org/wiki/Rust_(language)")
        );
        assert_eq!(
            kinds("go to https://example.com/?q=1&r=2#top")[0].2,
            link("https://example.com/?q=1&r=2#top")
        );
    }

    #[test]
    fn things_that_only_look_like_links_mentions_or_tags_are_left_alone() {
        assert!(kinds("https:// and http://localhost").is_empty());
        assert!(kinds("mail me at me@example.com").is_empty());
        assert!(kinds("@nodots and @-bad.test and @x.123").is_empty());
        assert!(kinds("issue#5 and #123 and #!!").is_empty());
        assert!(kinds("nothttps://example.com").is_empty());
    }

    #[test]
    fn a_mention_ends_before_sentence_punctuation_and_is_lowercased() {
        let spans = kinds("thanks @Alice.Test. and (@bob.example.com)");
        assert_eq!(spans[0], (7, 18, Kind::Mention("alice.test".to_owned())));
        assert_eq!(spans[1].2, Kind::Mention("bob.example.com".to_owned()));
    }

    #[test]
    fn a_tag_ends_at_whitespace_or_punctuation_and_has_at_most_64_graphemes() {
        assert_eq!(
            kinds("#rust, #100DaysOfCode!")
                .into_iter()
                .map(|span| span.2)
                .collect::<Vec<_>>(),
            vec![
                Kind::Tag("rust".to_owned()),
                Kind::Tag("100DaysOfCode".to_owned())
            ]
        );
        assert!(kinds(&format!("#{}", "a".repeat(65))).is_empty());
        assert_eq!(kinds(&format!("#{}", "é".repeat(64))).len(), 1);
        assert_eq!(kinds("＃日本語")[0].2, Kind::Tag("日本語".to_owned()));
    }

    #[test]
    fn a_hash_inside_a_link_is_not_a_tag() {
        let spans = kinds("https://example.com/#section #real");
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].2, Kind::Tag("real".to_owned()));
    }

    #[test]
    fn facets_serialize_as_the_lexicon_says_and_skip_unresolved_mentions() {
        let text = "hi @alice.test and @ghost.test https://example.com #tag";
        let spans = detect(text);
        assert_eq!(mentioned(&spans), vec!["alice.test", "ghost.test"]);
        let facets = facets(&spans, |handle| {
            (handle == "alice.test").then(|| "did:plc:alice".to_owned())
        });
        let json = serde_json::to_value(&facets).expect("json");
        assert_eq!(
            json,
            serde_json::json!([
                {"index": {"byteStart": 3, "byteEnd": 14},
                 "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}]},
                {"index": {"byteStart": 31, "byteEnd": 50},
                 "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}]},
                {"index": {"byteStart": 51, "byteEnd": 55},
                 "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tag"}]},
            ])
        );
    }
}
