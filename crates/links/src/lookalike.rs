//! Look-alikes of the organisation's own names: a link's host that imitates one of its domains
//! or handles. The company's real domains (and their subdomains, `www.` included) are never
//! flagged.
//!
//! Each host is compared by its "brand" label (the label before the public suffix:
//! `sunnycafe` in `www.sunnycafe.co.uk`), after folding it to its UTS #39 confusable skeleton,
//! so `ѕunnycafe` (Cyrillic ѕ), `sunnyc4fe` is not but `sunnycafe` in punycode is caught.

use std::fmt;

/// How a host imitates one of the organisation's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One letter changed (`sunnycafw`).
    Typo,
    /// Two neighbouring letters swapped (`sunnyacfe`).
    Swapped,
    /// A letter doubled (`sunnycaffe`).
    Doubled,
    /// A letter left out (`sunycafe`).
    Omitted,
    /// A hyphen added or removed (`sunny-cafe`).
    Hyphen,
    /// Letters from another alphabet that look the same, written in Unicode (`ѕunnycafe`).
    Homoglyph,
    /// The same, written in its punycode form (`xn--unnycafe-…`).
    Punycode,
    /// The real name as a subdomain of another domain (`sunnycafe.com.evil.net`).
    Subdomain,
    /// The real name plus a word (`sunnycafe-support.com`, `loginsunnycafe.com`).
    NamePlusWord,
    /// The real name under another top-level domain (`sunnycafe.net`).
    OtherTld,
}

impl Kind {
    /// A short phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Typo => "one letter changed",
            Kind::Swapped => "two letters swapped",
            Kind::Doubled => "a letter doubled",
            Kind::Omitted => "a letter left out",
            Kind::Hyphen => "a hyphen added or removed",
            Kind::Homoglyph => "letters from another alphabet that look the same",
            Kind::Punycode => "an encoded international name that looks the same",
            Kind::Subdomain => "the real name placed in front of another domain",
            Kind::NamePlusWord => "the real name with a word added",
            Kind::OtherTld => "the real name under another ending",
        }
    }
}

/// A host found to imitate one of the organisation's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookalike {
    pub kind: Kind,
    /// The domain or handle imitated, as the organisation listed it.
    pub imitates: String,
}

impl fmt::Display for Lookalike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "imitates {} ({})", self.imitates, self.kind.describe())
    }
}

/// The organisation's own domains and handles, prepared for comparison.
#[derive(Debug, Clone, Default)]
pub struct OwnNames {
    domains: Vec<Domain>,
    /// Handles' names (without `@` or a server), folded, with the handle as listed.
    handles: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Domain {
    listed: String,
    /// The domain in ASCII, lower case.
    ascii: String,
    brand: String,
    suffix: String,
}

/// The shortest name compared for "the name plus a word" and "as a subdomain": shorter names
/// (`ab`) occur inside unrelated words too often to mean anything.
const SHORTEST_EMBEDDED_NAME: usize = 4;
/// The shortest name compared letter by letter: one letter off a three-letter name is
/// another word, not a typo.
const SHORTEST_TYPO_NAME: usize = 5;

impl OwnNames {
    /// Prepares `domains` (`sunnycafe.example`) and `handles` (`@sunnycafe`,
    /// `@sunnycafe@mastodon.social`, `sunnycafe.bsky.social`). Unreadable entries are skipped.
    pub fn new(domains: &[String], handles: &[String]) -> OwnNames {
        let domains = domains
            .iter()
            .filter_map(|listed| {
                let ascii = idna::domain_to_ascii(listed.trim().trim_end_matches('.')).ok()?;
                let (brand, suffix) = split_registrable(&ascii)?;
                Some(Domain {
                    listed: listed.trim().to_owned(),
                    brand: fold(&unicode_label(&brand)),
                    suffix,
                    ascii,
                })
            })
            .collect();
        let handles = handles
            .iter()
            .filter_map(|listed| {
                let name = handle_name(listed)?;
                Some((fold(&name), listed.trim().to_owned()))
            })
            .collect();
        OwnNames { domains, handles }
    }

    /// Whether no names are listed.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.handles.is_empty()
    }

    /// Whether `host` (canonical: lower case, punycode) is one of the organisation's own
    /// domains or a subdomain of one.
    pub fn is_own(&self, host: &str) -> bool {
        self.domains
            .iter()
            .any(|domain| is_within(host, &domain.ascii))
    }

    /// How `host` imitates one of the names, if it does.
    pub fn check_host(&self, host: &str) -> Option<Lookalike> {
        if self.is_own(host) {
            return None;
        }
        let (brand_ascii, suffix) = split_registrable(host)?;
        let punycode = brand_ascii.starts_with("xn--");
        let brand_unicode = unicode_label(&brand_ascii);
        let brand = fold(&brand_unicode);
        let subdomain_labels: Vec<String> = host
            .strip_suffix(&format!("{brand_ascii}.{suffix}"))
            .unwrap_or_default()
            .split('.')
            .filter(|label| !label.is_empty())
            .map(|label| fold(&unicode_label(label)))
            .collect();
        let names = self
            .domains
            .iter()
            .map(|domain| (domain.brand.as_str(), domain.listed.as_str(), Some(domain)))
            .chain(
                self.handles
                    .iter()
                    .map(|(name, listed)| (name.as_str(), listed.as_str(), None)),
            );
        for (own, listed, domain) in names {
            let found = |kind| {
                Some(Lookalike {
                    kind,
                    imitates: listed.to_owned(),
                })
            };
            if brand == own {
                if brand_unicode != brand_ascii || punycode || brand_ascii != own {
                    return found(if punycode {
                        Kind::Punycode
                    } else {
                        Kind::Homoglyph
                    });
                }
                if domain.is_none_or(|domain| domain.suffix != suffix) {
                    return found(Kind::OtherTld);
                }
                continue;
            }
            if let Some(kind) = near(&brand, own) {
                return found(kind);
            }
            if own.chars().count() >= SHORTEST_EMBEDDED_NAME {
                if subdomain_labels.iter().any(|label| label == own) {
                    return found(Kind::Subdomain);
                }
                if brand.contains(own) {
                    return found(Kind::NamePlusWord);
                }
            }
        }
        None
    }

    /// How a network handle (`@sunnycafe_help`) imitates one of the organisation's handles or
    /// domains' names, if it does; the organisation's own handles are never flagged.
    pub fn check_handle(&self, handle: &str) -> Option<Lookalike> {
        let listed = handle.trim();
        if self
            .handles
            .iter()
            .any(|(_, own)| own.eq_ignore_ascii_case(listed))
        {
            return None;
        }
        let raw = handle_name(listed)?;
        let name = fold(&raw);
        let names = self
            .handles
            .iter()
            .map(|(name, listed)| (name.as_str(), listed.as_str()))
            .chain(
                self.domains
                    .iter()
                    .map(|d| (d.brand.as_str(), d.listed.as_str())),
            );
        for (own, listed) in names {
            let kind = if name == own {
                // The same name: letters that only look alike, or the name on another server.
                Some(if raw == own {
                    Kind::OtherTld
                } else {
                    Kind::Homoglyph
                })
            } else {
                near(&name, own).or_else(|| {
                    (own.chars().count() >= SHORTEST_EMBEDDED_NAME && name.contains(own))
                        .then_some(Kind::NamePlusWord)
                })
            };
            if let Some(kind) = kind {
                return Some(Lookalike {
                    kind,
                    imitates: listed.to_owned(),
                });
            }
        }
        None
    }
}

/// `text`'s UTS #39 confusable skeleton, lower case: two texts that look alike to a reader
/// (`Ѕunny Cafe`, `sunny cafe`) have the same skeleton.
pub fn skeleton(text: &str) -> String {
    fold(text)
}

/// Whether `host` is `domain` or one of its subdomains.
fn is_within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Second-level labels under which country domains register names (`example.co.uk`).
const SECOND_LEVEL: &[&str] = &[
    "co", "com", "net", "org", "ac", "gov", "edu", "ltd", "plc", "or", "ne", "gen", "nom",
];

/// The label before the public suffix, and the suffix (`www.sunnycafe.co.uk` → `sunnycafe`,
/// `co.uk`). A short list of country second-level labels stands in for the Public Suffix List.
fn split_registrable(host: &str) -> Option<(String, String)> {
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() < 2 {
        return None;
    }
    let last = labels.len() - 1;
    let two_level =
        labels.len() >= 3 && labels[last].len() == 2 && SECOND_LEVEL.contains(&labels[last - 1]);
    let brand_index = if two_level { last - 2 } else { last - 1 };
    Some((
        labels[brand_index].to_owned(),
        labels[brand_index + 1..].join("."),
    ))
}

/// A label in Unicode (punycode decoded; unchanged when it cannot be).
fn unicode_label(label: &str) -> String {
    let (unicode, result) = idna::domain_to_unicode(label);
    if result.is_ok() {
        unicode
    } else {
        label.to_owned()
    }
}

/// A name folded for comparison: its UTS #39 skeleton, lower-cased, skeleton again (so `0`
/// and `O` and `o` agree), without hyphens' neighbours changed.
fn fold(name: &str) -> String {
    let once: String = unicode_security::skeleton(&name.to_lowercase()).collect();
    let lower = once.to_lowercase();
    unicode_security::skeleton(&lower)
        .collect::<String>()
        .to_lowercase()
}

/// A handle's own name: `@sunnycafe@mastodon.social` → `sunnycafe`, `sunnycafe.bsky.social`
/// → `sunnycafe`.
fn handle_name(handle: &str) -> Option<String> {
    let name = handle.trim().trim_start_matches('@');
    let name = name.split('@').next()?;
    let name = name.split('.').next()?;
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// How `candidate` is one step from `own`, if it is.
fn near(candidate: &str, own: &str) -> Option<Kind> {
    let a: Vec<char> = candidate.chars().collect();
    let b: Vec<char> = own.chars().collect();
    let without_hyphens =
        |chars: &[char]| -> Vec<char> { chars.iter().copied().filter(|c| *c != '-').collect() };
    if a != b && without_hyphens(&a) == without_hyphens(&b) {
        return Some(Kind::Hyphen);
    }
    if b.len() < SHORTEST_TYPO_NAME {
        return None;
    }
    match a.len() as isize - b.len() as isize {
        0 => {
            let differences: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match differences.as_slice() {
                [one] if a[*one] != '-' && b[*one] != '-' => Some(Kind::Typo),
                [first, second]
                    if *second == first + 1
                        && a[*first] == b[*second]
                        && a[*second] == b[*first] =>
                {
                    Some(Kind::Swapped)
                }
                _ => None,
            }
        }
        1 => {
            let extra = (0..a.len()).find(|&i| {
                let mut without = a.clone();
                without.remove(i);
                without == b
            })?;
            let doubled =
                (extra > 0 && a[extra - 1] == a[extra]) || a.get(extra + 1) == Some(&a[extra]);
            Some(if doubled { Kind::Doubled } else { Kind::Typo })
        }
        -1 => (0..b.len())
            .any(|i| {
                let mut without = b.clone();
                without.remove(i);
                without == a
            })
            .then_some(Kind::Omitted),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> OwnNames {
        OwnNames::new(
            &["sunnycafe.com".to_owned(), "sunny-bakes.co.uk".to_owned()],
            &[
                "@sunnycafe".to_owned(),
                "@brightlets@mastodon.social".to_owned(),
            ],
        )
    }

    fn kind(host: &str) -> Option<Kind> {
        names().check_host(host).map(|found| found.kind)
    }

    #[test]
    fn each_kind_of_look_alike_is_named() {
        for (host, expected) in [
            ("sunnycafw.com", Kind::Typo),
            ("sunnyacfe.com", Kind::Swapped),
            ("sunnycaffe.com", Kind::Doubled),
            ("sunnnycafe.com", Kind::Doubled),
            ("sunycafe.com", Kind::Omitted),
            ("sunnycafex.com", Kind::Typo),
            ("sunny-cafe.com", Kind::Hyphen),
            ("sunnybakes.co.uk", Kind::Hyphen),
            ("sunnycafe.com.evil.net", Kind::Subdomain),
            ("sunnycafe.evil.net", Kind::Subdomain),
            ("login.sunnycafe.evil.net", Kind::Subdomain),
            ("sunnycafe-support.com", Kind::NamePlusWord),
            ("loginsunnycafe.com", Kind::NamePlusWord),
            ("sunnycafe.net", Kind::OtherTld),
            ("sunnycafe.co.uk", Kind::OtherTld),
            ("sunny-bakes.com", Kind::OtherTld),
            ("brightlets.example", Kind::OtherTld),
            ("brigthlets.example", Kind::Swapped),
        ] {
            assert_eq!(kind(host), Some(expected), "{host}");
        }
    }

    #[test]
    fn homoglyphs_are_caught_through_the_confusable_skeleton() {
        let cyrillic = "ѕunnycafe.com"; // U+0455 CYRILLIC SMALL LETTER DZE
        let ascii = idna::domain_to_ascii(cyrillic).expect("valid IDN");
        assert!(ascii.starts_with("xn--"), "{ascii}");
        assert_eq!(kind(&ascii), Some(Kind::Punycode));
        assert_eq!(
            names().check_host(cyrillic).map(|f| f.kind),
            Some(Kind::Homoglyph)
        );
        assert_eq!(kind("sunnycafe.corn"), Some(Kind::OtherTld));
        assert_eq!(kind("sunnyca1e.com"), Some(Kind::Typo));
        assert_eq!(kind("5unnycafe.com"), Some(Kind::Typo));
        let found = names().check_host("brightiets.example").expect("flagged");
        assert_eq!(found.imitates, "@brightlets@mastodon.social");
    }

    #[test]
    fn the_real_domains_and_their_subdomains_are_never_flagged() {
        for host in [
            "sunnycafe.com",
            "www.sunnycafe.com",
            "shop.sunnycafe.com",
            "sunny-bakes.co.uk",
            "www.sunny-bakes.co.uk",
        ] {
            assert_eq!(kind(host), None, "{host}");
        }
    }

    #[test]
    fn near_misses_are_not_look_alikes() {
        for host in [
            "sunnyvale.com",
            "funnycakes.com",
            "example.com",
            "sunny.com",
            "cafe.com",
            "bakes.co.uk",
            "sunnysideup.org",
            "brightlife.example",
            "co.uk",
        ] {
            assert_eq!(kind(host), None, "{host}");
        }
        let short = OwnNames::new(&["abc.com".to_owned()], &[]);
        assert_eq!(
            short.check_host("abd.com"),
            None,
            "three letters: another word"
        );
        assert_eq!(short.check_host("abcxyz.com"), None);
    }

    #[test]
    fn handles_are_checked_against_the_own_handles() {
        let names = names();
        assert_eq!(names.check_handle("@sunnycafe"), None);
        assert_eq!(
            names.check_handle("@sunnycafe_help").map(|f| f.kind),
            Some(Kind::NamePlusWord)
        );
        assert_eq!(
            names.check_handle("@sunnycaf").map(|f| f.kind),
            Some(Kind::Omitted)
        );
        assert_eq!(names.check_handle("@someoneelse"), None);
        assert_eq!(
            names.check_handle("@ѕunnycafe").map(|f| f.kind),
            Some(Kind::Homoglyph)
        );
        assert_eq!(
            names.check_handle("@sunnycafe@evil.social").map(|f| f.kind),
            Some(Kind::OtherTld)
        );
    }
}
