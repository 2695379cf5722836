//! The one HTTP client Herald sends requests with, hardened for addresses someone other than
//! the operator chose (a Mastodon server a gatekeeper typed, a Bluesky PDS or authorization
//! server named in a DID document): no request reaches this machine, its private network, a
//! cloud metadata service or any other address that is not on the public internet, unless the
//! operator allows it (`networks.allow_private_addresses`, for tests and an intranet Mastodon).
//!
//! - Names are resolved here ([`CheckedResolver`]), and reqwest connects to exactly the
//!   addresses that passed the check: there is no second lookup, so a name that answers a
//!   public address first and a private one next (DNS rebinding) gains nothing.
//! - Addresses written into the URL (`http://169.254.169.254/`, `http://2130706433/`,
//!   `http://[::ffff:127.0.0.1]/`) never reach a resolver, so [`Outbound::check_url`] refuses
//!   them before a request is sent, and on every redirect hop for a client that follows
//!   redirects (the adapters' clients follow none).
//! - No proxy from the environment: a proxy would look the name up itself.
//! - An answer is read chunk by chunk and refused past [`Outbound::max_body_bytes`]; the whole
//!   request, body included, must end within the time-out.
//!
//! A refused address is [`NetworkError::Rejected`] with [`REFUSED_ADDRESS`] as its message,
//! which says nothing about what (if anything) listens there.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

use crate::NetworkError;

/// What a gatekeeper is told when an address is refused.
pub const REFUSED_ADDRESS: &str = "Herald does not connect to private or local network addresses";
/// The largest answer Herald reads from a network, by default.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long connecting may take at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How Herald's requests may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    /// How long a whole request may take, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Whether private, local and other non-public addresses may be reached.
    pub allow_private_addresses: bool,
    /// The largest answer read; a longer one is refused without being read to its end.
    pub max_body_bytes: usize,
}

/// Why a server's address as typed cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginError {
    /// Not an address at all.
    Unreadable,
    /// More than the server's address: a path, query, fragment, user name or password.
    NotBare,
    /// Not https (http is for this machine or its private network, where allowed).
    Insecure,
    /// A private, local or otherwise non-public address (see [`REFUSED_ADDRESS`]).
    Refused,
}

/// Why an address was refused: an error reqwest carries back from the resolver or the
/// redirect policy, recognised by [`is_refused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSED_ADDRESS)
    }
}

impl StdError for Refused {}

impl Outbound {
    /// Public addresses only, answers up to [`MAX_BODY_BYTES`], `timeout` for the whole request.
    pub fn new(timeout: Duration) -> Outbound {
        Outbound {
            timeout,
            allow_private_addresses: false,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }

    /// The same, with private addresses allowed or not.
    #[must_use]
    pub fn allow_private_addresses(self, allow: bool) -> Outbound {
        Outbound {
            allow_private_addresses: allow,
            ..self
        }
    }

    /// A client that follows no redirects (what every adapter uses).
    pub fn client(&self) -> reqwest::Client {
        self.client_following(0)
    }

    /// A client that follows up to `redirects` redirects, checking every hop's address as the
    /// first one's: a hop to a refused address ends the request with [`Refused`].
    pub fn client_following(&self, redirects: usize) -> reqwest::Client {
        let policy = if redirects == 0 {
            Policy::none()
        } else {
            let outbound = *self;
            Policy::custom(move |attempt| {
                if attempt.previous().len() > redirects {
                    attempt.error("too many redirects")
                } else if outbound.check_url(attempt.url()).is_err() {
                    attempt.error(Refused)
                } else {
                    attempt.follow()
                }
            })
        };
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
            .timeout(self.timeout)
            .redirect(policy)
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private_addresses: self.allow_private_addresses,
            }))
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only when the TLS back end cannot start; a client without the
            // checks would be unsafe, so one whose every lookup is refused stands in.
            .unwrap_or_else(|_| unusable_client())
    }

    /// A server's address as typed (`mastodon.social`, `https://pds.example/`) as its origin
    /// (`https://mastodon.social`), if Herald may send it requests: https, or http to an
    /// address on this machine or its private network where those are allowed; nothing but
    /// the address. A name is checked again each time it is resolved.
    pub fn origin(&self, typed: &str) -> Result<String, OriginError> {
        let typed = typed.trim();
        let with_scheme = if typed.contains("://") {
            typed.to_owned()
        } else {
            format!("https://{typed}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| OriginError::Unreadable)?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(OriginError::Unreadable);
        }
        let literal = literal_address(&url);
        if literal.is_some_and(|ip| refusal(ip).is_some()) && !self.allow_private_addresses {
            return Err(OriginError::Refused);
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OriginError::Insecure);
        }
        let bare = url.username().is_empty()
            && url.password().is_none()
            && matches!(url.path(), "" | "/")
            && url.query().is_none()
            && url.fragment().is_none();
        if !bare {
            return Err(OriginError::NotBare);
        }
        if url.scheme() == "http" {
            let local = url.host_str() == Some("localhost")
                || literal.is_some_and(|ip| refusal(ip).is_some());
            if !(local && self.allow_private_addresses) {
                return Err(OriginError::Insecure);
            }
        }
        Ok(url.origin().ascii_serialization())
    }

    /// Whether Herald may send a request to `url`: http or https, no user name or password,
    /// and an address written in the URL (however spelled: the URL parser reads `2130706433`
    /// and `0x7f.1` as 127.0.0.1) only if it may be reached. Names are checked when resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), NetworkError> {
        let refused = || NetworkError::Rejected(REFUSED_ADDRESS.to_owned());
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NetworkError::Rejected(
                "Herald sends requests over https:// or http:// only".to_owned(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NetworkError::Rejected(
                "Herald does not send requests to an address with a user name or password in it"
                    .to_owned(),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refused());
        }
        let Some(ip) = literal_address(url) else {
            return Ok(());
        };
        if self.allow_private_addresses || refusal(ip).is_none() {
            Ok(())
        } else {
            tracing::debug!(
                reason = refusal(ip),
                "refused a request to a non-public address"
            );
            Err(refused())
        }
    }
}

/// The address written as `url`'s host, if it is one rather than a name. The URL parser keeps
/// an address in its one canonical spelling (`2130706433` and `0x7f.1` become `127.0.0.1`),
/// and never reads digits and dots as a name.
fn literal_address(url: &Url) -> Option<IpAddr> {
    url.host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A client whose every lookup is refused. If even it cannot be built, neither can reqwest's
/// default client, whose constructor then panics: never a client without the checks.
fn unusable_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .dns_resolver(Arc::new(RefuseAll))
        .build()
        .unwrap_or_default()
}

/// A resolver that refuses every name.
#[derive(Debug)]
struct RefuseAll;

impl Resolve for RefuseAll {
    fn resolve(&self, _name: Name) -> Resolving {
        Box::pin(async { Err(Box::new(Refused) as Box<dyn StdError + Send + Sync>) })
    }
}

/// Whether `error` (or anything it was caused by) is an address Herald refused.
pub fn is_refused(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<Refused>() || error.to_string() == REFUSED_ADDRESS {
            return true;
        }
        next = error.source();
    }
    false
}

/// Resolves names with the system's resolver and hands reqwest only the addresses it may
/// connect to; none left is [`Refused`].
#[derive(Debug)]
struct CheckedResolver {
    allow_private_addresses: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private_addresses;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(found, allow);
            if allowed.is_empty() {
                tracing::debug!("refused a name that resolves to no public address");
                return Err(Box::new(Refused) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses of `found` Herald may connect to.
pub(crate) fn allowed_addresses(found: Vec<SocketAddr>, allow_private: bool) -> Vec<SocketAddr> {
    found
        .into_iter()
        .filter(|address| allow_private || refusal(address.ip()).is_none())
        .collect()
}

/// Why `ip` is not a public internet address, or `None` if it is one.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => refusal_v4(ip),
        IpAddr::V6(ip) => refusal_v6(ip),
    }
}

/// IPv4 special-purpose ranges (RFC 6890 and the IANA registry) and broadcast.
fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "this network (0.0.0.0/8)",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private",
        (100, 64..=127, _) => "shared address space (CGNAT, 100.64.0.0/10)",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local (and cloud metadata)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 88, 99) => "6to4 relay anycast",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(reason)
}

/// IPv6: only global unicast (2000::/3) outside its special ranges; an IPv4 address carried
/// in IPv6 (mapped, compatible, NAT64) is judged as that IPv4 address.
fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let embedded = |ip: Ipv6Addr| {
        let [.., a, b, c, d] = ip.octets();
        Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        // ::ffff:0:0/96: IPv4-mapped.
        [0, 0, 0, 0, 0, 0xffff, _, _] => {
            return refusal_v4(embedded(ip)).map(|_| "IPv4-mapped non-public address");
        }
        // ::/96: IPv4-compatible, deprecated since 2006.
        [0, 0, 0, 0, 0, 0, _, _] => return Some("IPv4-compatible"),
        // NAT64's well-known prefix (DNS64 answers it for every IPv4-only name).
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
            return refusal_v4(embedded(ip)).map(|_| "NAT64 of a non-public IPv4 address");
        }
        _ => {}
    }
    let first = segments[0];
    let reason = match first {
        0xff00..=0xffff => "multicast",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xfc00..=0xfdff => "unique local (private, and cloud metadata)",
        0x2000..=0x3fff => match segments {
            [0x2001, 0x0db8, ..] => "documentation",
            [0x2001, 0x0000..=0x01ff, ..] => "IETF protocol assignments (Teredo, ORCHID, …)",
            [0x2002, ..] => "6to4",
            [0x3fff, 0x0000..=0x0fff, ..] => "documentation",
            _ => return None,
        },
        _ => "not global unicast",
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        refusal(ip.parse().expect("address")).is_some()
    }

    #[test]
    fn every_non_public_range_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.100.100.200", // Alibaba Cloud's metadata
            "100.127.255.255",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254", // AWS, Google Cloud, Azure, OpenStack metadata
            "169.254.170.2",   // AWS ECS task metadata
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.192", // Oracle Cloud's metadata
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::ffff:0:0",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "3fff::1",
            "fc00::1",
            "fd00:ec2::254", // AWS's IPv6 metadata
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn addresses_written_in_urls_are_checked_however_they_are_spelled() {
        let strict = Outbound::new(Duration::from_secs(1));
        for url in [
            "http://127.0.0.1:9200/_cat",
            "http://169.254.169.254/latest/meta-data/#",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://017700000001/",
            "http://0xa9fea9fe/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
            "https://10.1.2.3/",
            "http://0.0.0.0:8080/",
            "https://user:pw@mastodon.example/",
            "file:///etc/passwd",
            "gopher://mastodon.example/",
        ] {
            let parsed = Url::parse(url).expect("parses");
            assert!(strict.check_url(&parsed).is_err(), "{url} must be refused");
        }
        for url in [
            "https://mastodon.social/",
            "https://8.8.8.8/",
            "http://localhost/",
        ] {
            let parsed = Url::parse(url).expect("parses");
            assert!(
                strict.check_url(&parsed).is_ok(),
                "{url}: names are checked when resolved"
            );
        }
        let intranet = strict.allow_private_addresses(true);
        let local = Url::parse("http://127.0.0.1:3000/").expect("parses");
        assert!(intranet.check_url(&local).is_ok());
        let refused = strict.check_url(&local).expect_err("refused");
        assert_eq!(refused, NetworkError::Rejected(REFUSED_ADDRESS.to_owned()));
    }

    #[test]
    fn a_typed_server_is_kept_as_its_origin_if_herald_may_reach_it() {
        let strict = Outbound::new(Duration::from_secs(1));
        let intranet = strict.allow_private_addresses(true);
        assert_eq!(
            strict.origin(" Mastodon.Social/ "),
            Ok("https://mastodon.social".to_owned())
        );
        assert_eq!(
            strict.origin("https://pds.example:8443"),
            Ok("https://pds.example:8443".to_owned())
        );
        for (typed, why) in [
            ("http://127.0.0.1:9200", OriginError::Refused),
            ("http://169.254.169.254", OriginError::Refused),
            ("https://[::ffff:10.0.0.1]", OriginError::Refused),
            ("2130706433", OriginError::Refused),
            (
                "http://169.254.169.254/latest/meta-data/#",
                OriginError::Refused,
            ),
            ("https://mastodon.social/api#", OriginError::NotBare),
            ("https://mastodon.social/@herald", OriginError::NotBare),
            ("https://mastodon.social?x=1", OriginError::NotBare),
            ("https://user:pw@mastodon.social", OriginError::NotBare),
            ("http://mastodon.social", OriginError::Insecure),
            ("http://localhost:3000", OriginError::Insecure),
            ("ftp://mastodon.social", OriginError::Insecure),
            ("", OriginError::Unreadable),
        ] {
            assert_eq!(strict.origin(typed), Err(why), "{typed:?}");
        }
        assert_eq!(
            intranet.origin("http://127.0.0.1:3000"),
            Ok("http://127.0.0.1:3000".to_owned())
        );
        assert_eq!(
            intranet.origin("http://localhost:3000"),
            Ok("http://localhost:3000".to_owned())
        );
        assert_eq!(
            intranet.origin("http://mastodon.social"),
            Err(OriginError::Insecure),
            "tokens never cross the internet in the clear"
        );
    }

    #[test]
    fn only_the_checked_addresses_of_a_name_are_connected_to() {
        let found: Vec<SocketAddr> = ["127.0.0.1:0", "93.184.216.34:0", "[::1]:0", "[fd00::1]:0"]
            .iter()
            .map(|address| address.parse().expect("address"))
            .collect();
        let public = allowed_addresses(found.clone(), false);
        assert_eq!(public, vec!["93.184.216.34:0".parse().expect("address")]);
        assert_eq!(allowed_addresses(found.clone(), true), found);
        let local = allowed_addresses(vec!["127.0.0.1:0".parse().expect("address")], false);
        assert!(local.is_empty(), "a name only at loopback is refused");
    }

    #[test]
    fn a_refusal_is_recognised_through_the_errors_that_wrap_it() {
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(Refused);
        assert!(is_refused(boxed.as_ref()));
        let io = std::io::Error::other(Refused);
        assert!(is_refused(&io));
        assert!(!is_refused(&std::io::Error::other("connection refused")));
    }
}
