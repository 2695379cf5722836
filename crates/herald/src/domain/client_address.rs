//! Who the client is behind reverse proxies: the address of the TCP peer, unless that peer is a
//! trusted proxy, in which case the right-most address in its forwarding header that is not
//! itself a trusted proxy. Addresses a client wrote into the header itself are never reached,
//! because each trusted proxy appends the address it saw to the right.

use std::fmt;
use std::net::IpAddr;

/// An address or a block of addresses (`10.0.0.0/8`, `::1`, `2001:db8::/32`), parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct AddressBlock {
    network: IpAddr,
    prefix: u8,
}

impl AddressBlock {
    pub fn parse(text: &str) -> Result<AddressBlock, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a block such as 10.0.0.0/8"))?;
        let longest = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= longest)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {longest}"))?,
        };
        Ok(AddressBlock { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl TryFrom<String> for AddressBlock {
    type Error = String;

    fn try_from(text: String) -> Result<AddressBlock, String> {
        AddressBlock::parse(&text)
    }
}

impl From<AddressBlock> for String {
    fn from(block: AddressBlock) -> String {
        block.to_string()
    }
}

impl fmt::Display for AddressBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let longest = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == longest {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// The client's address. `peer` is the TCP peer; `x_forwarded_for` and `forwarded` are the
/// values of every `X-Forwarded-For` and `Forwarded` header line, in order. The headers are read
/// only when the peer is one of `trusted`; `X-Forwarded-For` is preferred, since it is the one
/// most proxies append to (a proxy that sets only `Forwarded` must drop a client's
/// `X-Forwarded-For`). An entry that is not an address (`unknown`, an obfuscated name) stops the
/// walk: the nearest trusted proxy is then the best Herald knows.
pub fn client_address(
    peer: IpAddr,
    x_forwarded_for: &[&str],
    forwarded: &[&str],
    trusted: &[AddressBlock],
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |address: IpAddr| trusted.iter().any(|block| block.contains(address));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = if x_forwarded_for.is_empty() {
        forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(forwarded_for)
            .collect()
    } else {
        x_forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .map(|entry| parse_address(entry.trim()))
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(address) = hop else {
            return client;
        };
        client = address;
        if !is_trusted(address) {
            return address;
        }
    }
    client
}

/// The `for=` address of one element of a `Forwarded` header (RFC 7239), if it is an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
        .and_then(|(_, value)| parse_address(value.trim().trim_matches('"')))
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`
/// or `[2001:db8::1]:4711`.
fn parse_address(text: &str) -> Option<IpAddr> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<IpAddr>().ok().map(canonical);
    }
    let (address, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<IpAddr>().ok().map(canonical)
}

/// IPv4 addresses written as IPv6 (`::ffff:192.0.2.1`, as dual-stack sockets report them) are
/// compared and recorded as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(network: &[u8], address: &[u8], prefix: u8) -> bool {
    let whole = usize::from(prefix / 8);
    let rest = prefix % 8;
    if network.get(..whole) != address.get(..whole) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (network.get(whole), address.get(whole)) {
        (Some(network), Some(address)) => network & mask == address & mask,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn blocks(texts: &[&str]) -> Vec<AddressBlock> {
        texts
            .iter()
            .map(|text| AddressBlock::parse(text).expect("block"))
            .collect()
    }

    #[test]
    fn blocks_hold_the_addresses_under_their_prefix() {
        let office = AddressBlock::parse("10.1.0.0/16").expect("block");
        assert!(office.contains(ip("10.1.255.3")));
        assert!(!office.contains(ip("10.2.0.1")));
        assert!(
            AddressBlock::parse("10.1.2.0/23")
                .expect("block")
                .contains(ip("10.1.3.9"))
        );
        assert!(
            !AddressBlock::parse("10.1.2.0/23")
                .expect("block")
                .contains(ip("10.1.4.0"))
        );
        assert!(
            AddressBlock::parse("::1")
                .expect("block")
                .contains(ip("::1"))
        );
        assert!(
            AddressBlock::parse("127.0.0.1")
                .expect("block")
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(
            AddressBlock::parse("0.0.0.0/0")
                .expect("block")
                .contains(ip("203.0.113.9"))
        );
        assert!(
            !AddressBlock::parse("0.0.0.0/0")
                .expect("block")
                .contains(ip("2001:db8::1"))
        );
        assert_eq!(office.to_string(), "10.1.0.0/16");
        for bad in ["", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/x"] {
            assert!(AddressBlock::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = blocks(&["127.0.0.1"]);
        let client = client_address(ip("198.51.100.7"), &["203.0.113.1"], &[], &trusted);
        assert_eq!(client, ip("198.51.100.7"));
        let nobody_trusted = client_address(ip("127.0.0.1"), &["203.0.113.1"], &[], &[]);
        assert_eq!(nobody_trusted, ip("127.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() {
        let trusted = blocks(&["127.0.0.1", "10.0.0.0/8"]);
        // The client forged the first entry; the proxies appended the rest.
        let client = client_address(
            ip("127.0.0.1"),
            &["192.0.2.66, 203.0.113.5", "10.0.0.2"],
            &[],
            &trusted,
        );
        assert_eq!(client, ip("203.0.113.5"));
        let only_proxies = client_address(ip("127.0.0.1"), &["10.0.0.3"], &[], &trusted);
        assert_eq!(only_proxies, ip("10.0.0.3"));
        let garbage = client_address(ip("127.0.0.1"), &["203.0.113.5, unknown"], &[], &trusted);
        assert_eq!(garbage, ip("127.0.0.1"), "an unreadable hop stops the walk");
        let with_port = client_address(ip("127.0.0.1"), &["[2001:db8::7]:443"], &[], &trusted);
        assert_eq!(with_port, ip("2001:db8::7"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = blocks(&["127.0.0.1"]);
        let forwarded =
            [r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#];
        let client = client_address(ip("127.0.0.1"), &[], &forwarded, &trusted);
        assert_eq!(client, ip("2001:db8:cafe::17"));
        let both = client_address(ip("127.0.0.1"), &["203.0.113.9"], &forwarded, &trusted);
        assert_eq!(both, ip("203.0.113.9"));
        let hidden = client_address(ip("127.0.0.1"), &[], &["for=_hidden"], &trusted);
        assert_eq!(hidden, ip("127.0.0.1"));
    }
}
