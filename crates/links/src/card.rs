//! A link card, as networks show one under a post: the page's title, its description and the
//! site's name, read from the page's `<head>` (Open Graph first, then the plain `<title>` and
//! description). The page is fetched through the hardened outbound client, only as HTML, and
//! only its first part is read: a card never needs the whole page, nor anything it links to.

use networks::Outbound;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

/// How much of a page is read for its card: the `<head>` of a real page is well within it.
pub const MOST_READ: usize = 256 * 1024;
/// The longest title and description kept, in characters (networks cut them shorter still).
const LONGEST_TITLE: usize = 200;
const LONGEST_DESCRIPTION: usize = 300;

/// What a card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub title: String,
    pub description: Option<String>,
    /// The site's own name (`og:site_name`), when it gives one.
    pub site: Option<String>,
}

/// The card of the HTML page `html`, or `None` when it has no title.
pub fn read(html: &str) -> Option<Card> {
    let head = match find_ignoring_case(html.as_bytes(), b"</head") {
        Some(end) => &html[..end],
        None => html,
    };
    let mut og_title = None;
    let mut og_description = None;
    let mut description = None;
    let mut site = None;
    let mut rest = head;
    while let Some(start) = find_ignoring_case(rest.as_bytes(), b"<meta") {
        let after = &rest[start + 5..];
        let Some(end) = after.find('>') else { break };
        let attributes = attributes(&after[..end]);
        let value = |name: &str| {
            attributes
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let key = value("property")
            .or_else(|| value("name"))
            .unwrap_or_default();
        if let Some(content) = value("content").map(clean).filter(|text| !text.is_empty()) {
            match key.to_ascii_lowercase().as_str() {
                "og:title" => og_title = og_title.or(Some(content)),
                "og:description" => og_description = og_description.or(Some(content)),
                "description" => description = description.or(Some(content)),
                "og:site_name" => site = site.or(Some(content)),
                _ => {}
            }
        }
        rest = &after[end..];
    }
    let title = og_title.or_else(|| {
        let start = find_ignoring_case(head.as_bytes(), b"<title")?;
        let open = head[start..].find('>')? + start + 1;
        let close = find_ignoring_case(&head.as_bytes()[open..], b"</title")? + open;
        Some(clean(&head[open..close])).filter(|title| !title.is_empty())
    })?;
    Some(Card {
        title: shortened(&title, LONGEST_TITLE),
        description: og_description
            .or(description)
            .map(|text| shortened(&text, LONGEST_DESCRIPTION)),
        site: site.map(|text| shortened(&text, LONGEST_TITLE)),
    })
}

/// Fetches `url` through `outbound` (public addresses only unless it allows others, no
/// redirects: the caller follows them with link safety first) and reads its card. `Ok(None)`:
/// the page is not HTML or has no title. Errors are sentences that never quote the server.
pub async fn fetch(outbound: &Outbound, url: &str) -> Result<Option<Card>, String> {
    let url = Url::parse(url).map_err(|_| "the link cannot be read".to_owned())?;
    outbound.check_url(&url).map_err(|error| match error {
        networks::NetworkError::Rejected(message) => message,
        other => other.to_string(),
    })?;
    let failed = |error: reqwest::Error| {
        tracing::debug!(%error, "a link's page could not be fetched for its card");
        if networks::outbound::is_refused(&error) {
            networks::outbound::REFUSED_ADDRESS.to_owned()
        } else if error.is_timeout() {
            "the page did not arrive in time".to_owned()
        } else {
            "the page's server cannot be reached".to_owned()
        }
    };
    let mut response = outbound
        .client()
        .get(url)
        .header(ACCEPT, "text/html")
        .send()
        .await
        .map_err(failed)?;
    if !response.status().is_success() {
        return Err(format!("the page's server answered {}", response.status()));
    }
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("text/html"));
    if !html {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= MOST_READ || find_ignoring_case(&bytes, b"</head").is_some() {
            break;
        }
    }
    bytes.truncate(MOST_READ);
    Ok(read(&String::from_utf8_lossy(&bytes)))
}

/// A tag's attributes as (name, value) pairs: quoted with `"` or `'`, or bare.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = tag.trim_start_matches('/');
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        if name_end == 0 {
            return found;
        }
        let name = rest[..name_end].to_owned();
        rest = rest[name_end..].trim_start();
        let Some(after_equals) = rest.strip_prefix('=') else {
            found.push((name, String::new()));
            continue;
        };
        let after_equals = after_equals.trim_start();
        let (value, remaining) = match after_equals.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &after_equals[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or_default())
            }
            _ => {
                let end = after_equals
                    .find(char::is_whitespace)
                    .unwrap_or(after_equals.len());
                (&after_equals[..end], &after_equals[end..])
            }
        };
        found.push((name, decode_entities(value)));
        rest = remaining;
    }
}

/// The text with HTML's character references decoded and its white space folded.
fn clean(text: &str) -> String {
    decode_entities(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#39;`, `&nbsp;` and numeric
/// references; anything else is kept as written. Control characters never come out.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let name = &after[..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.retain(|c| !c.is_control() || c == '\n' || c == '\t');
    out
}

/// At most `most` characters, with an ellipsis when cut.
fn shortened(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Where `needle` (ASCII) first starts in `haystack`, ignoring ASCII case.
fn find_ignoring_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_graph_comes_first_then_the_title_and_description() {
        let html = r#"<!doctype html><html><head>
            <title>Sunny Café – Home</title>
            <meta name="description" content="Soup &amp; bread, every day.">
            <meta property="og:title" content="Autumn menu at Sunny Café">
            <meta property='og:site_name' content='Sunny Café'>
            </head><body><meta property="og:title" content="not in the head"></body></html>"#;
        assert_eq!(
            read(html),
            Some(Card {
                title: "Autumn menu at Sunny Café".to_owned(),
                description: Some("Soup & bread, every day.".to_owned()),
                site: Some("Sunny Café".to_owned()),
            })
        );
    }

    #[test]
    fn a_plain_title_is_enough_and_no_title_is_no_card() {
        let card = read("<HTML><HEAD><TITLE>\n  Opening   hours &#8211; Sunny\n</TITLE></HEAD>")
            .expect("card");
        assert_eq!(card.title, "Opening hours – Sunny");
        assert_eq!(card.description, None);
        assert_eq!(
            read("<html><head></head><body><h1>Hi</h1></body></html>"),
            None
        );
        assert_eq!(read(""), None);
    }

    #[test]
    fn markup_and_odd_references_stay_text_and_long_titles_are_cut() {
        let html = format!(
            "<head><meta property=og:title content=\"&lt;script&gt;x&#0;&#xZZ;&bogus;\"><meta name=description content=\"{}\"></head>",
            "word ".repeat(200)
        );
        let card = read(&html).expect("card");
        assert_eq!(card.title, "<script>x&#xZZ;&bogus;");
        let description = card.description.expect("description");
        assert_eq!(description.chars().count(), LONGEST_DESCRIPTION);
        assert!(description.ends_with('…'));
    }
}
