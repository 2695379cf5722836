//! URLs in Safe Browsing's canonical form, and the lookup expressions (host suffixes × path
//! prefixes) matched against the feeds, so an entry matches however a link spells it:
//! upper-case host, default port, `%`-escapes (even repeated), `#fragment`, `/./` and `/../`,
//! doubled slashes, an IPv4 address in decimal, octal or hex, a host in Unicode or punycode.
//!
//! The steps follow Google's Safe Browsing v4 "URLs and hashing" rules: tabs and line breaks
//! dropped, the fragment dropped, `%`-escapes undone until none are left, the host's dots
//! trimmed and collapsed and its letters lower-cased, an IPv4 address written as four
//! decimals, the path's dot-segments resolved, and finally every byte at or below space, at or
//! above DEL, `#` and `%` escaped again (upper-case hex). Herald also turns a Unicode host
//! into its punycode form (refusing one that breaks the IDNA rules) and drops default ports.

use std::fmt;
use std::net::Ipv4Addr;

/// The longest link read, in bytes; real links are far shorter, and a longer one is refused
/// before any work is done on it.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Why a link has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("The link is {bytes} bytes long; Herald reads links up to {MAX_URL_BYTES} bytes")]
    TooLong { bytes: usize },
    #[error("The link is empty")]
    Empty,
    #[error("The link has no website name in it")]
    NoHost,
    #[error("The link's port `{0}` is not a port number")]
    Port(String),
    #[error("The link is a `{0}:` address, not a web address (only http and https are)")]
    Scheme(String),
    #[error("The link's website name breaks the rules for international names (IDNA)")]
    BadName,
}

/// A URL in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Lower-case, escaped, punycode; an IPv4 address as four decimals; IPv6 in brackets.
    pub host: String,
    /// A port other than the scheme's default.
    pub port: Option<u16>,
    /// Escaped, starting with `/`, dot-segments resolved.
    pub path: String,
    /// Escaped, without the `?`; `Some("")` for a bare `?`.
    pub query: Option<String>,
    /// Whether the link carried a user name or password (`https://bank.example@evil.example/`).
    pub had_credentials: bool,
}

impl Canonical {
    /// The canonical form of `raw`, a link as written (a missing scheme is read as `http`).
    pub fn parse(raw: &str) -> Result<Canonical, CanonicalError> {
        if raw.len() > MAX_URL_BYTES {
            return Err(CanonicalError::TooLong { bytes: raw.len() });
        }
        let cleaned: String = raw
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
            .collect();
        let without_fragment = cleaned.split('#').next().unwrap_or_default();
        if without_fragment.is_empty() {
            return Err(CanonicalError::Empty);
        }
        let (scheme, rest) = split_scheme(without_fragment)?;
        let rest = rest.trim_start_matches(['/', '\\']);
        let authority_end = rest.find(['/', '?', '\\']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(authority_end);
        let (credentials, host_port) = match authority.rfind('@') {
            Some(at) => (true, &authority[at + 1..]),
            None => (false, authority),
        };
        let (host, port) = split_port(host_port)?;
        let host = canonical_host(host)?;
        let port = port.filter(|port| *port != default_port(scheme));
        let (path, query) = match after.find('?') {
            Some(mark) => (&after[..mark], Some(&after[mark + 1..])),
            None => (after, None),
        };
        let path = path.replace('\\', "/");
        Ok(Canonical {
            scheme,
            host,
            port,
            path: escape(&resolve_dots(&unescape_fully(path.as_bytes()))),
            query: query.map(|query| escape(&unescape_fully(query.as_bytes()))),
            had_credentials: credentials,
        })
    }

    /// Whether the host is an IP address rather than a name.
    pub fn host_is_address(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<Ipv4Addr>().is_ok()
    }

    /// Safe Browsing's lookup expressions: the exact host and up to four of its suffixes (not
    /// the top-level domain alone), each with the exact path and query, the path alone, and up
    /// to four path prefixes from `/`. A feed entry is stored as one such expression.
    pub fn expressions(&self) -> Vec<String> {
        let mut hosts = vec![self.host.clone()];
        if !self.host_is_address() {
            let labels: Vec<&str> = self.host.split('.').collect();
            let first = labels.len().saturating_sub(5).max(1);
            for start in first..labels.len().saturating_sub(1) {
                hosts.push(labels[start..].join("."));
            }
        }
        let mut paths = Vec::new();
        if let Some(query) = &self.query {
            paths.push(format!("{}?{query}", self.path));
        }
        paths.push(self.path.clone());
        let mut prefix = String::from("/");
        paths.push(prefix.clone());
        let directories: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let last = directories
            .len()
            .saturating_sub(usize::from(!self.path.ends_with('/')));
        for directory in directories.iter().take(last.min(3)) {
            prefix.push_str(directory);
            prefix.push('/');
            paths.push(prefix.clone());
        }
        let mut expressions = Vec::with_capacity(hosts.len() * paths.len());
        for host in &hosts {
            for path in &paths {
                let expression = format!("{host}{path}");
                if !expressions.contains(&expression) {
                    expressions.push(expression);
                }
            }
        }
        expressions
    }

    /// The expression a feed entry for this URL is stored as: host, path and query.
    pub fn entry(&self) -> String {
        match &self.query {
            Some(query) => format!("{}{}?{query}", self.host, self.path),
            None => format!("{}{}", self.host, self.path),
        }
    }
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// The scheme (`http` when none is written) and what follows `scheme:`.
fn split_scheme(url: &str) -> Result<(&'static str, &str), CanonicalError> {
    let Some(colon) = url.find(':') else {
        return Ok(("http", url));
    };
    let (name, rest) = (&url[..colon], &url[colon + 1..]);
    let looks_like_scheme = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !looks_like_scheme {
        return Ok(("http", url));
    }
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "http" => Ok(("http", rest)),
        "https" => Ok(("https", rest)),
        // `example.com:8080/path`: a name and a port, not a scheme.
        _ if !rest.starts_with('/') && rest.bytes().next().is_some_and(|b| b.is_ascii_digit()) => {
            Ok(("http", url))
        }
        _ => Err(CanonicalError::Scheme(lower)),
    }
}

/// The host and the port written after it, if any.
fn split_port(host_port: &str) -> Result<(&str, Option<u16>), CanonicalError> {
    let after_brackets = host_port.rfind(']').map_or(0, |end| end + 1);
    let Some(colon) = host_port[after_brackets..].rfind(':') else {
        return Ok((host_port, None));
    };
    let colon = after_brackets + colon;
    let digits = &host_port[colon + 1..];
    if digits.is_empty() {
        return Ok((&host_port[..colon], None));
    }
    let port = digits
        .parse::<u16>()
        .map_err(|_| CanonicalError::Port(digits.chars().take(12).collect()))?;
    Ok((&host_port[..colon], Some(port)))
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// The canonical host: escapes undone, dots trimmed and collapsed, lower case, an IPv4
/// address in four decimals, a Unicode name as punycode, then escaped.
fn canonical_host(host: &str) -> Result<String, CanonicalError> {
    let bytes = unescape_fully(host.as_bytes());
    let mut collapsed: Vec<u8> = Vec::with_capacity(bytes.len());
    for &byte in &bytes {
        if byte == b'.' && collapsed.last().is_none_or(|last| *last == b'.') {
            continue;
        }
        collapsed.push(byte.to_ascii_lowercase());
    }
    while collapsed.last() == Some(&b'.') {
        collapsed.pop();
    }
    if collapsed.is_empty() {
        return Err(CanonicalError::NoHost);
    }
    if collapsed.first() == Some(&b'[') {
        let text = String::from_utf8_lossy(&collapsed).into_owned();
        let inner = text.trim_start_matches('[').trim_end_matches(']');
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => Ok(format!("[{ip}]")),
            Err(_) => Err(CanonicalError::NoHost),
        };
    }
    if let Ok(text) = std::str::from_utf8(&collapsed) {
        if let Some(ip) = parse_ipv4(text) {
            return Ok(ip.to_string());
        }
        let needs_idna = !text.is_ascii() || text.split('.').any(|label| label.starts_with("xn--"));
        if needs_idna && !text.bytes().any(|b| b <= b' ' || b == b'%' || b == b'#') {
            let ascii = idna::domain_to_ascii(text).map_err(|_| CanonicalError::BadName)?;
            let (_, checked) = idna::domain_to_unicode(&ascii);
            checked.map_err(|_| CanonicalError::BadName)?;
            return Ok(ascii);
        }
    }
    Ok(escape(&collapsed))
}

/// An IPv4 address in any form browsers read: 1 to 4 parts, each decimal, octal (a leading
/// `0`) or hex (`0x`), the last filling the bytes left (`127.1`, `2130706433`, `0x7f.1`).
pub fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(parse_number(part)?);
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|value| *value > 255) {
        return None;
    }
    let room = 8 * (5 - values.len() as u32);
    if *last >= 1u64 << room {
        return None;
    }
    let mut address: u64 = 0;
    for (index, value) in leading.iter().enumerate() {
        address |= value << (24 - 8 * index as u32);
    }
    address |= last;
    Some(Ipv4Addr::from(u32::try_from(address).ok()?))
}

fn parse_number(part: &str) -> Option<u64> {
    if part.is_empty() || part.len() > 34 {
        return None;
    }
    if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        if hex.is_empty() {
            return Some(0);
        }
        return u64::from_str_radix(hex, 16).ok();
    }
    if part.len() > 1 && part.starts_with('0') {
        return u64::from_str_radix(&part[1..], 8).ok();
    }
    part.parse().ok()
}

/// Undoes `%XX` escapes until none is left (`%2525` → `%25` → `%`).
fn unescape_fully(bytes: &[u8]) -> Vec<u8> {
    let mut current = bytes.to_vec();
    loop {
        let next = unescape_once(&current);
        if next == current {
            return current;
        }
        current = next;
    }
}

fn unescape_once(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).and_then(|b| hex_value(*b)),
                bytes.get(index + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(high << 4 | low);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Escapes bytes at or below space, at or above DEL, `#` and `%`, with upper-case hex.
fn escape(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte <= b' ' || byte >= 0x7f || byte == b'#' || byte == b'%' {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

/// The path with `.` and `..` segments resolved and runs of slashes made one.
fn resolve_dots(path: &[u8]) -> Vec<u8> {
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split(|b| *b == b'/') {
        match segment {
            b"" | b"." => trailing_slash = true,
            b".." => {
                kept.pop();
                trailing_slash = true;
            }
            _ => {
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = vec![b'/'];
    out.extend(kept.join(&b'/'));
    if trailing_slash && !kept.is_empty() {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> String {
        Canonical::parse(raw)
            .unwrap_or_else(|error| panic!("{raw:?}: {error}"))
            .to_string()
    }

    #[test]
    fn safe_browsing_test_vectors_canonicalise_as_google_documents() {
        for (raw, expected) in [
            ("http://host/%25%32%35", "http://host/%25"),
            ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
            ("http://host/%2525252525252525", "http://host/%25"),
            ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
            (
                "http://host/%%%25%32%35asd%%",
                "http://host/%25%25%25asd%25%25",
            ),
            ("http://www.google.com/", "http://www.google.com/"),
            (
                "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
                "http://168.188.99.26/.secure/www.ebay.com/",
            ),
            (
                "http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
                "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
            ),
            ("http://3279880203/blah", "http://195.127.0.11/blah"),
            ("http://www.google.com/blah/..", "http://www.google.com/"),
            ("www.google.com/", "http://www.google.com/"),
            ("www.google.com", "http://www.google.com/"),
            ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
            ("http://www.GOOgle.com/", "http://www.google.com/"),
            ("http://www.google.com.../", "http://www.google.com/"),
            (
                "http://www.google.com/foo\tbar\rbaz\n2",
                "http://www.google.com/foobarbaz2",
            ),
            ("http://www.google.com/q?", "http://www.google.com/q?"),
            ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
            ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
            ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
            ("http://evil.com/foo;", "http://evil.com/foo;"),
            ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
            ("http://notrailingslash.com", "http://notrailingslash.com/"),
            ("  http://www.google.com/  ", "http://www.google.com/"),
            ("http://%20leadingspace.com/", "http://%20leadingspace.com/"),
            ("%20leadingspace.com/", "http://%20leadingspace.com/"),
            ("https://www.securesite.com/", "https://www.securesite.com/"),
            ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
            (
                "http://host.com//twoslashes?more//slashes",
                "http://host.com/twoslashes?more//slashes",
            ),
        ] {
            assert_eq!(canonical(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn the_host_is_lower_cased_and_its_dots_trimmed() {
        assert_eq!(
            canonical("HTTP://WWW.Example.COM/A"),
            "http://www.example.com/A"
        );
        assert_eq!(canonical("http://.example..com./"), "http://example.com/");
    }

    #[test]
    fn default_ports_are_dropped_and_others_kept() {
        assert_eq!(canonical("http://example.com:80/a"), "http://example.com/a");
        assert_eq!(
            canonical("https://example.com:443/a"),
            "https://example.com/a"
        );
        assert_eq!(
            canonical("https://example.com:80/a"),
            "https://example.com:80/a"
        );
        assert_eq!(canonical("example.com:8080/a"), "http://example.com:8080/a");
        assert_eq!(
            Canonical::parse("http://example.com:99999/"),
            Err(CanonicalError::Port("99999".to_owned()))
        );
    }

    #[test]
    fn percent_encoding_is_undone_then_only_unsafe_bytes_escaped() {
        assert_eq!(
            canonical("http://example.com/%7Euser/%41"),
            "http://example.com/~user/A"
        );
        assert_eq!(
            canonical("http://example.com/a b"),
            "http://example.com/a%20b"
        );
        assert_eq!(canonical("http://ex%41mple.com/"), "http://example.com/");
    }

    #[test]
    fn the_fragment_is_dropped() {
        assert_eq!(
            canonical("https://example.com/page#top"),
            "https://example.com/page"
        );
        assert_eq!(
            canonical("https://example.com/?q=1#x?y"),
            "https://example.com/?q=1"
        );
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert_eq!(canonical("http://e.com/a/./b/../c"), "http://e.com/a/c");
        assert_eq!(canonical("http://e.com/../../etc"), "http://e.com/etc");
        assert_eq!(canonical("http://e.com/a/b/."), "http://e.com/a/b/");
        assert_eq!(canonical("http://e.com/a\\b"), "http://e.com/a/b");
    }

    #[test]
    fn an_ipv4_address_in_any_form_is_written_as_four_decimals() {
        for raw in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7F000001/",
            "http://127.1/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://127.0.1/",
        ] {
            assert_eq!(canonical(raw), "http://127.0.0.1/", "{raw}");
        }
        assert_eq!(
            canonical("http://1.2.3.4.5/"),
            "http://1.2.3.4.5/",
            "five parts are a name"
        );
        assert_eq!(
            canonical("http://256.1.1.1/"),
            "http://256.1.1.1/",
            "out of range is a name"
        );
        assert_eq!(
            canonical("http://[::FFFF:7f00:1]/"),
            "http://[::ffff:127.0.0.1]/"
        );
    }

    #[test]
    fn unicode_names_become_punycode_and_bad_ones_are_refused() {
        assert_eq!(
            canonical("https://bücher.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            canonical("https://XN--BCHER-KVA.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            Canonical::parse("https://xn--a.example/"),
            Err(CanonicalError::BadName)
        );
    }

    #[test]
    fn credentials_are_noted_and_the_real_host_is_kept() {
        let parsed = Canonical::parse("https://bank.example@evil.example/login").expect("parses");
        assert_eq!(parsed.host, "evil.example");
        assert!(parsed.had_credentials);
    }

    #[test]
    fn other_schemes_and_huge_links_are_refused_clearly() {
        assert_eq!(
            Canonical::parse("javascript:alert(1)"),
            Err(CanonicalError::Scheme("javascript".to_owned()))
        );
        assert_eq!(
            Canonical::parse("FILE:///etc/passwd"),
            Err(CanonicalError::Scheme("file".to_owned()))
        );
        let huge = format!("https://example.com/{}", "a".repeat(64 * 1024));
        let error = Canonical::parse(&huge).expect_err("too long");
        assert!(
            error
                .to_string()
                .starts_with("The link is 65556 bytes long"),
            "{error}"
        );
        assert_eq!(Canonical::parse("http:///"), Err(CanonicalError::NoHost));
    }

    #[test]
    fn lookup_expressions_are_host_suffixes_times_path_prefixes() {
        let parsed = Canonical::parse("http://a.b.c/1/2.html?param=1").expect("parses");
        assert_eq!(
            parsed.expressions(),
            [
                "a.b.c/1/2.html?param=1",
                "a.b.c/1/2.html",
                "a.b.c/",
                "a.b.c/1/",
                "b.c/1/2.html?param=1",
                "b.c/1/2.html",
                "b.c/",
                "b.c/1/",
            ]
        );
        let deep = Canonical::parse("http://a.b.c.d.e.f.g/1.html").expect("parses");
        let hosts: Vec<String> = deep
            .expressions()
            .into_iter()
            .filter(|e| e.ends_with("/1.html"))
            .collect();
        assert_eq!(
            hosts,
            [
                "a.b.c.d.e.f.g/1.html",
                "c.d.e.f.g/1.html",
                "d.e.f.g/1.html",
                "e.f.g/1.html",
                "f.g/1.html"
            ]
        );
        let address = Canonical::parse("http://1.2.3.4/1/").expect("parses");
        assert_eq!(address.expressions(), ["1.2.3.4/1/", "1.2.3.4/"]);
    }
}
