//! Links in a text (`https://…`, `www.…` and bare `name.tld/…`), their hosts, and the link
//! rules: shorteners, hosts outside the allow-list, raw IP hosts, punycode and mixed scripts.
//!
//! [`extract_links`] is public because link safety (expanding short links, threat feeds)
//! starts from the same list of links the scanner sees.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::detectors::{Candidates, Hit, Kind, secrets};
use crate::fold::fold_lookalike;
use crate::rules::Builtin;

/// A link as written in the text.
///
/// `Debug` shows the host but not the path or query, which can hold tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Link {
    /// Byte offsets of the link in the text, on character boundaries.
    pub span: Range<usize>,
    /// The link as written, trailing punctuation removed.
    pub url: String,
    /// The host, lowercased, without port or user info (IPv6 keeps its brackets).
    pub host: String,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("span", &self.span)
            .field("host", &self.host)
            .field("url", &"[REDACTED]")
            .finish()
    }
}

/// A link as [`parse`] finds it, borrowing the text: a scan never needs the URL owned.
struct Parsed<'t> {
    span: Range<usize>,
    url: &'t str,
    host: String,
}

/// Every link in `text`, in order. Email addresses are not links.
pub fn extract_links(text: &str) -> Vec<Link> {
    let Some(candidates) = Candidates::shared() else {
        return Vec::new();
    };
    let mut links = Vec::new();
    candidates.for_each(text, |kind, span| {
        let is_link = matches!(
            kind,
            Kind::Url | Kind::BareDomain | Kind::IpLink | Kind::SlackWebhook
        );
        let Some(link) = is_link.then(|| parse(text, span.clone(), kind)).flatten() else {
            return span.end;
        };
        let end = link.span.end;
        links.push(Link {
            span: link.span,
            url: link.url.to_owned(),
            host: link.host,
        });
        end
    });
    links
}

/// Hosts of link shorteners, which hide where a link goes.
const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "t.co",
    "tinyurl.com",
    "goo.gl",
    "ow.ly",
    "buff.ly",
    "is.gd",
    "v.gd",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "lnkd.in",
    "t.ly",
    "rb.gy",
    "bl.ink",
    "s.id",
    "shorte.st",
    "adf.ly",
    "tiny.one",
    "dlvr.it",
    "ift.tt",
    "soo.gd",
    "clck.ru",
    "qrco.de",
    "short.io",
    "shorturl.com",
    "trib.al",
    "snip.ly",
    "bit.do",
    "x.co",
    "po.st",
];

/// The link rules' view of the policy.
#[derive(Debug, Default)]
pub struct LinkRules {
    /// Lowercased allowed domains; empty means every domain is allowed.
    pub allow: Vec<String>,
}

/// A link candidate: parses it and adds a hit for each link rule it breaks. Returns where the
/// link ends, so the caller resumes scanning after it.
pub fn check(
    text: &str,
    span: Range<usize>,
    kind: Kind,
    rules: &LinkRules,
    hits: &mut Vec<Hit>,
) -> usize {
    let Some(link) = parse(text, span.clone(), kind) else {
        return span.end;
    };
    if kind == Kind::SlackWebhook {
        hits.push(Hit::new(
            Builtin::SlackToken,
            link.span.clone(),
            secret_excerpt(&link),
        ));
        return link.span.end;
    }
    let host = link.host.as_str();
    // Most links break no rule, so the excerpt is made only for the first finding.
    let mut excerpt = None;
    let mut push = |rule| {
        let excerpt = excerpt.get_or_insert_with(|| self::excerpt(&link)).clone();
        hits.push(Hit::new(rule, link.span.clone(), excerpt));
    };
    if is_shortener(host) {
        push(Builtin::Shortened);
    }
    if is_ip(host) {
        push(Builtin::IpAddress);
    }
    if host.split('.').any(|label| label.starts_with("xn--")) {
        push(Builtin::Punycode);
    }
    // An ASCII label is all Latin: only a host with other letters can mix scripts.
    if !host.is_ascii() && host.split('.').any(mixes_scripts) {
        push(Builtin::MixedScript);
    }
    if !rules.allow.is_empty() && !rules.allow.iter().any(|allowed| is_within(host, allowed)) {
        push(Builtin::NotAllowed);
    }
    secrets::in_url(text, link.span.clone(), hits);
    link.span.end
}

/// Whether `host` is a shortener or one of its subdomains. Every shortener is a name and a
/// top-level domain, so that is whether the host's last two labels are one. Public: link
/// safety expands these links.
pub fn is_shortener(host: &str) -> bool {
    let second_last_dot = host
        .bytes()
        .enumerate()
        .rev()
        .filter(|&(_, byte)| byte == b'.')
        .nth(1)
        .map(|(dot, _)| dot);
    let last_two = second_last_dot
        .and_then(|dot| host.get(dot + 1..))
        .unwrap_or(host);
    SHORTENERS.contains(&last_two)
}

/// What a link finding shows: scheme and host only, since paths and queries can hold tokens.
fn excerpt(link: &Parsed<'_>) -> String {
    let scheme = link
        .url
        .find("://")
        .and_then(|at| link.url.get(..at + 3))
        .unwrap_or("");
    let more = link.url.len() > scheme.len() + link.host.len();
    let tail = if more { "/…" } else { "" };
    let mut excerpt = String::with_capacity(scheme.len() + link.host.len() + tail.len());
    excerpt.push_str(scheme);
    excerpt.push_str(&link.host);
    excerpt.push_str(tail);
    excerpt
}

fn secret_excerpt(link: &Parsed<'_>) -> String {
    const SCHEME: &str = "https://";
    const MASKED_PATH: &str = "/••••••••";
    let mut excerpt = String::with_capacity(SCHEME.len() + link.host.len() + MASKED_PATH.len());
    excerpt.push_str(SCHEME);
    excerpt.push_str(&link.host);
    excerpt.push_str(MASKED_PATH);
    excerpt
}

/// Parses a candidate into a link: trims trailing punctuation, takes in look-alike letters
/// just before a bare domain, and finds the host.
fn parse(text: &str, span: Range<usize>, kind: Kind) -> Option<Parsed<'_>> {
    let mut start = span.start;
    let mut end = span.end;
    let written = text.get(start..end)?;
    end = start + trimmed_length(written);
    if kind == Kind::BareDomain {
        // "аpple.com" with a Cyrillic а: the ASCII pattern starts at "pple"; take the
        // preceding non-ASCII letters back into the link so its host is whole.
        while let Some(c) = text.get(..start)?.chars().next_back() {
            if c.is_ascii() || !c.is_alphanumeric() {
                break;
            }
            start -= c.len_utf8();
        }
        if text.get(..start)?.ends_with(['@', '.']) {
            return None;
        }
    }
    let url = text.get(start..end)?;
    let host = host_of(url)?;
    if host.is_empty() {
        return None;
    }
    Some(Parsed {
        span: start..end,
        url,
        host,
    })
}

/// The length of a written link without trailing punctuation that belongs to the sentence.
fn trimmed_length(written: &str) -> usize {
    let mut url = written;
    loop {
        let Some(last) = url.chars().next_back() else {
            return 0;
        };
        let closing_unbalanced = last == ')' && url.matches('(').count() < url.matches(')').count();
        if matches!(
            last,
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | ']' | '}' | '*' | '…'
        ) || closing_unbalanced
            || (last == ')' && !url.contains('('))
        {
            url = url.get(..url.len() - last.len_utf8()).unwrap_or("");
            continue;
        }
        return url.len();
    }
}

/// The host of a URL: after the scheme and any user info, before the port, path, query or
/// fragment; lowercased.
fn host_of(url: &str) -> Option<String> {
    let after_scheme = match url.find("://") {
        Some(at) => url.get(at + 3..)?,
        None => url,
    };
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..authority_end)?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host_port.starts_with('[') {
        host_port.get(..=host_port.find(']')?)?
    } else {
        host_port.split(':').next()?
    };
    Some(host.trim_end_matches('.').to_lowercase())
}

/// Whether `host` is `domain` or one of its subdomains.
fn is_within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

fn is_ip(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok();
    }
    host.parse::<Ipv4Addr>().is_ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Other,
}

fn script(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    let script = match u32::from(c) {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F => Script::Cyrillic,
        _ => Script::Other,
    };
    Some(script)
}

/// Whether a domain label mixes alphabets ("аpple" with a Cyrillic а), or is written wholly in
/// Cyrillic or Greek letters that all look Latin ("аррӏе"), which is the same trick.
fn mixes_scripts(label: &str) -> bool {
    let mut scripts = label.chars().filter_map(script);
    let Some(first) = scripts.next() else {
        return false;
    };
    if scripts.any(|other| other != first) {
        return true;
    }
    matches!(first, Script::Cyrillic | Script::Greek)
        && label
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| fold_lookalike(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_links_finds_scheme_www_and_bare_links_without_trailing_punctuation() {
        let links =
            extract_links("See https://example.com/menu. Or www.cafe.example, or bit.ly/abc!");
        let urls: Vec<&str> = links.iter().map(|link| link.url.as_str()).collect();
        assert_eq!(
            urls,
            ["https://example.com/menu", "www.cafe.example", "bit.ly/abc"]
        );
        assert_eq!(links.first().map(|l| l.host.as_str()), Some("example.com"));
    }

    #[test]
    fn every_shortener_is_a_name_and_a_top_level_domain() {
        for short in SHORTENERS {
            assert_eq!(short.matches('.').count(), 1, "{short}");
        }
        for (host, short) in [
            ("bit.ly", true),
            ("go.bit.ly", true),
            ("a.b.t.co", true),
            ("xbit.ly", false),
            ("bit.ly.example", false),
            ("ly", false),
            ("[::1]", false),
        ] {
            let within = SHORTENERS.iter().any(|s| is_within(host, s));
            assert_eq!(is_shortener(host), within, "{host}");
            assert_eq!(within, short, "{host}");
        }
    }

    #[test]
    fn an_email_address_is_not_a_link() {
        assert!(extract_links("write to hello@cafe.example today").is_empty());
    }

    #[test]
    fn a_bare_domain_keeps_its_leading_cyrillic_letter() {
        let links = extract_links("log in at аpple.com now");
        assert_eq!(links.first().map(|l| l.host.as_str()), Some("аpple.com"));
        assert!(mixes_scripts("аpple"));
        assert!(!mixes_scripts("apple"));
    }

    #[test]
    fn host_of_drops_user_info_port_and_path() {
        assert_eq!(
            host_of("https://me:pw@Example.COM:8443/x?y").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("[::1]"));
    }

    #[test]
    fn link_debug_does_not_show_the_path() {
        let links = extract_links("https://example.com/reset?token=abc123secret");
        let shown = format!("{links:?}");
        assert!(shown.contains("example.com"));
        assert!(!shown.contains("abc123secret"));
    }
}
