//! Where a link really goes: its redirects followed one hop at a time through Herald's hardened
//! outbound client (public addresses only unless allowed, no DNS rebinding, capped time), at
//! most [`MAX_HOPS`] hops, HEAD first and GET (headers only, the body never read) when HEAD is
//! not answered well, no cookies, no JavaScript. Every hop's address is checked before it is
//! asked, and every hop's URL against the feeds and look-alikes: a flagged hop is never
//! visited. Answers are cached for a while, keyed by the canonical URL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use networks::Outbound;
use reqwest::{StatusCode, Url};

use crate::canonical::Canonical;
use crate::{Checker, Threat};

/// The most redirects followed.
pub const MAX_HOPS: usize = 10;
/// The most answers kept in the cache; past it the oldest are forgotten.
const CACHE_ENTRIES: usize = 10_000;

/// Where following a link's redirects ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The last hop answered without redirecting: it is the destination.
    Arrived,
    /// The last hop is in a feed or imitates the organisation: it was not visited.
    Flagged,
    /// A hop was refused before any request: a private or local address, or not http(s).
    Refused(String),
    /// The chain could not be followed to its end (time-out, loop, too many hops, no answer).
    Unreachable(String),
}

/// A link's redirect chain: `hops[0]` is the link itself, the last the destination (or where
/// it stopped); each in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub hops: Vec<String>,
    pub ending: Ending,
}

impl Expansion {
    /// The last hop reached.
    pub fn destination(&self) -> &str {
        self.hops.last().map_or("", String::as_str)
    }

    /// The first hop that is in a feed or imitates the organisation, with its threat, judged
    /// by `checker` now (feeds change while an expansion is cached).
    pub fn first_threat(&self, checker: &Checker) -> Option<(usize, Threat)> {
        self.hops.iter().enumerate().find_map(|(index, hop)| {
            let canonical = Canonical::parse(hop).ok()?;
            checker.check(&canonical).map(|threat| (index, threat))
        })
    }
}

/// Follows links' redirects, with a cache.
#[derive(Debug)]
pub struct Expander {
    outbound: Outbound,
    client: reqwest::Client,
    /// How long one link's whole chain may take.
    total: Duration,
    ttl: SignedDuration,
    cache: Mutex<HashMap<String, (Timestamp, Expansion)>>,
}

impl Expander {
    /// An expander whose every request goes through `outbound` (its time-out is each hop's),
    /// at most `total` for one link, answers cached for `ttl`.
    pub fn new(outbound: Outbound, total: Duration, ttl: SignedDuration) -> Expander {
        Expander {
            client: outbound.client(),
            outbound,
            total,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The cached expansion of `url`, if one is fresh at `now`.
    pub fn cached(&self, url: &Canonical, now: Timestamp) -> Option<Expansion> {
        let cache = self.cache.lock().ok()?;
        let (at, expansion) = cache.get(&url.to_string())?;
        (at.duration_until(now) < self.ttl).then(|| expansion.clone())
    }

    /// Follows `url`'s redirects (or answers from the cache), checking every hop with
    /// `checker`. Ends within the expander's total time whatever the servers do.
    pub async fn expand(&self, checker: &Checker, url: &Canonical, now: Timestamp) -> Expansion {
        if let Some(expansion) = self.cached(url, now) {
            return expansion;
        }
        let start = url.to_string();
        let mut hops = vec![start.clone()];
        let followed = tokio::time::timeout(self.total, self.follow(checker, &mut hops)).await;
        let ending = followed.unwrap_or_else(|_| {
            Ending::Unreachable(format!(
                "The link's redirects were not followed to the end within {} s",
                self.total.as_secs()
            ))
        });
        let expansion = Expansion { hops, ending };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                let ttl = self.ttl;
                cache.retain(|_, (at, _)| at.duration_until(now) < ttl);
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(start, (now, expansion.clone()));
        }
        expansion
    }

    async fn follow(&self, checker: &Checker, hops: &mut Vec<String>) -> Ending {
        let Some(first) = hops.first().cloned() else {
            return Ending::Unreachable("The link is empty".to_owned());
        };
        let mut current = match Url::parse(&first) {
            Ok(url) => url,
            Err(_) => return Ending::Unreachable("The link cannot be read as a URL".to_owned()),
        };
        loop {
            let Ok(canonical) = Canonical::parse(current.as_str()) else {
                return Ending::Refused(
                    "A redirect goes to an address that cannot be read".to_owned(),
                );
            };
            if checker.check(&canonical).is_some() {
                return Ending::Flagged;
            }
            if let Err(error) = self.outbound.check_url(&current) {
                return Ending::Refused(match error {
                    networks::NetworkError::Rejected(message) => message,
                    other => other.to_string(),
                });
            }
            let location = match self.ask(&current).await {
                Ok(None) => return Ending::Arrived,
                Ok(Some(location)) => location,
                Err(ending) => return ending,
            };
            let next = match current.join(&location) {
                Ok(next) => next,
                Err(_) => {
                    return Ending::Unreachable(
                        "A redirect names an address that cannot be read".to_owned(),
                    );
                }
            };
            if !matches!(next.scheme(), "http" | "https") {
                return Ending::Refused(format!(
                    "The link redirects to a `{}:` address, which is never followed",
                    next.scheme()
                ));
            }
            let Ok(next_canonical) = Canonical::parse(next.as_str()) else {
                return Ending::Refused(
                    "A redirect goes to an address that cannot be read".to_owned(),
                );
            };
            let shown = next_canonical.to_string();
            if hops.contains(&shown) {
                hops.push(shown);
                return Ending::Unreachable("The link redirects in a loop".to_owned());
            }
            if hops.len() > MAX_HOPS {
                return Ending::Unreachable(format!(
                    "The link redirects more than {MAX_HOPS} times"
                ));
            }
            hops.push(shown);
            current = next;
        }
    }

    /// Asks one hop: its redirect target, or `None` when it answers without redirecting.
    async fn ask(&self, url: &Url) -> Result<Option<String>, Ending> {
        let head = self.client.head(url.clone()).send().await;
        let response = match head {
            Ok(response)
                if response.status().is_redirection() || response.status().is_success() =>
            {
                response
            }
            // Some servers answer HEAD badly (405, 404, 5xx) but GET well: ask again with GET,
            // reading the headers only (the body is dropped unread).
            Ok(_) => self
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(|error| self.failure(&error))?,
            Err(error) => return Err(self.failure(&error)),
        };
        if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if location.len() <= crate::canonical::MAX_URL_BYTES => {
                Ok(Some(location))
            }
            Some(_) => Err(Ending::Unreachable(
                "A redirect names an address too long to follow".to_owned(),
            )),
            None => Ok(None),
        }
    }

    /// A failed request as an ending; the cause goes to the debug log only.
    fn failure(&self, error: &reqwest::Error) -> Ending {
        tracing::debug!(%error, "a link's redirect could not be followed");
        if networks::outbound::is_refused(error) {
            return Ending::Refused(networks::outbound::REFUSED_ADDRESS.to_owned());
        }
        if error.is_timeout() {
            return Ending::Unreachable(format!(
                "The link's server did not answer within {} s",
                self.outbound.timeout.as_secs()
            ));
        }
        Ending::Unreachable("The link's server cannot be reached".to_owned())
    }
}
