//! Herald's link safety, apart from the application so its rules can be tested and measured
//! alone: Safe Browsing canonical URLs and lookup expressions ([`canonical`]), threat feed
//! files ([`feed`]) kept as sorted hash lists ([`lists`]), look-alikes of the organisation's
//! own domains and handles ([`lookalike`]), where short links really go ([`expand`]), and
//! feeds fetched with a conditional GET ([`fetch`]), link cards read from a page's head
//! ([`card`]), and Google Safe Browsing's Update API
//! v4 ([`safe_browsing`]).
//!
//! No database and no wall clock: time is passed in. The only IO is reading and writing the
//! feed lists and, in [`expand`] and [`fetch`], requests through `networks::Outbound`.

pub mod canonical;
pub mod card;
pub mod expand;
pub mod feed;
pub mod fetch;
pub mod lists;
pub mod lookalike;
pub mod safe_browsing;

pub use canonical::{Canonical, CanonicalError};
pub use expand::{Ending, Expander, Expansion};
pub use feed::{FeedError, Format};
pub use lists::{FeedLists, HashList};
pub use lookalike::{Lookalike, OwnNames};

/// Why a URL is dangerous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Threat {
    /// In the threat feed named `list`.
    Malicious { list: String },
    /// Imitates one of the organisation's names.
    Lookalike(Lookalike),
    /// A user name before `@` dresses the link up as another site (`https://bank.example@evil.example/`).
    HiddenHost,
}

/// The feeds and the organisation's names, to judge URLs with.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    pub lists: FeedLists,
    pub names: OwnNames,
}

impl Checker {
    /// Why `url` is dangerous, if it is: a feed first, then a look-alike, then a hidden host.
    pub fn check(&self, url: &Canonical) -> Option<Threat> {
        if let Some(list) = self.lists.find(url) {
            return Some(Threat::Malicious {
                list: list.to_owned(),
            });
        }
        if !url.host_is_address()
            && let Some(lookalike) = self.names.check_host(&url.host)
        {
            return Some(Threat::Lookalike(lookalike));
        }
        url.had_credentials.then_some(Threat::HiddenHost)
    }
}

/// Reads a feed file whole and makes its list; `None` detects the format. Nothing is written:
/// the caller saves the list with [`HashList::write_atomically`] once every file has read.
pub fn import(
    input: impl std::io::Read,
    format: Option<Format>,
) -> Result<(Format, HashList), FeedError> {
    let mut hashes = Vec::new();
    let (format, _) = feed::read(input, format, |entry| hashes.push(lists::hash(&entry)))?;
    Ok((format, HashList::from_hashes(hashes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker() -> Checker {
        let (_, list) = import("https://evil.example/\n".as_bytes(), None).expect("feed reads");
        Checker {
            lists: FeedLists::from_lists(vec![("openphish".to_owned(), list)]),
            names: OwnNames::new(&["sunnycafe.example".to_owned()], &[]),
        }
    }

    fn check(raw: &str) -> Option<Threat> {
        checker().check(&Canonical::parse(raw).expect("parses"))
    }

    #[test]
    fn a_feed_match_comes_before_a_look_alike_and_a_hidden_host_is_its_own_threat() {
        assert_eq!(
            check("https://sunnycafe.example.evil.example/"),
            Some(Threat::Malicious {
                list: "openphish".to_owned()
            })
        );
        assert!(matches!(
            check("https://sunnycafe.example.login.test/"),
            Some(Threat::Lookalike(_))
        ));
        assert_eq!(
            check("https://www.sunnycafe.example@203.0.113.9/pay"),
            Some(Threat::HiddenHost)
        );
        assert_eq!(check("https://www.sunnycafe.example/menu"), None);
        assert_eq!(
            check("http://198.51.100.7/"),
            None,
            "addresses are not look-alikes"
        );
    }
}
