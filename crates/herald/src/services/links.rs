//! Link safety as Herald uses it: every link in a text judged against the imported threat
//! feeds (`<data_dir>/feeds/*.hashes`, made by `herald feeds import` and the daily feed job)
//! and the organisation's own domains and handles, and short links followed to where they go.
//! The verdicts are guard findings (`link.malicious`, `link.lookalike`, `link.redirects_to`,
//! `link.unreachable`), so they appear wherever a draft's policy findings do.
//!
//! How far a check reaches is the caller's choice ([`Reach`]): the import preview stays
//! offline (feeds, look-alikes and expansions already cached); the composer's live check
//! follows short links for at most a moment; submission, publication and the explicit checks
//! follow every short link to its end (bounded by the expander's own limits).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use guard::{Action, Finding, Severity, link_safety};
use jiff::{SignedDuration, Timestamp};
use links::{Canonical, Checker, Ending, Expander, Expansion, FeedLists, OwnNames, Threat};

use crate::config::Config;
use crate::domain::audit::Actor;
use crate::services::AppError;
use crate::services::audit::record;
use crate::store::{OrganisationNames, Store, StoreError, UserRecord};

/// How long one hop of a short link may take.
const HOP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one link's whole redirect chain may take.
const CHAIN_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a followed chain is remembered.
const EXPANSION_TTL: SignedDuration = SignedDuration::from_hours(1);
/// How often the feeds folder is looked at for a newer import.
const FEEDS_RECHECK: SignedDuration = SignedDuration::from_secs(2);
/// How long the composer's live check waits for a short link's redirects; it then answers
/// without them (a chain is cached only once followed to its end).
pub const LIVE_EXPANSION: Duration = Duration::from_secs(2);
/// The most names of each kind the organisation may list.
pub const MOST_NAMES: usize = 50;
/// The most links one explicit check takes.
pub const MOST_LINKS: usize = 20;
/// How long one explicit check may take for all its links together.
const CHECK_BUDGET: Duration = Duration::from_secs(15);

/// How far a check reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Feeds, look-alikes and expansions already cached: no network.
    Offline,
    /// As offline, and short links followed for at most this long (then left unjudged).
    ShortLinksWithin(Duration),
    /// Short links followed to the end.
    ShortLinks,
    /// Every link followed, for at most this long (an explicit check).
    EverythingWithin(Duration),
}

/// The feeds, the expander and its cache, shared by every request and job.
#[derive(Debug)]
pub struct LinkSafety {
    folder: PathBuf,
    loaded: RwLock<Loaded>,
    expander: Expander,
    /// Google Safe Browsing, when a key is configured.
    safe_browsing: Option<tokio::sync::RwLock<SafeBrowsingState>>,
    /// The client link cards' pages are read through.
    pages: networks::Outbound,
    /// `links.short_link_hosts`: more short-link hosts than the guard's list, lower case.
    short_hosts: Vec<String>,
}

/// How long reading a page for its card may take, redirects followed first apart.
const CARD_TIMEOUT: Duration = Duration::from_secs(3);
/// How long following a link's redirects may take before its card is read.
const CARD_BUDGET: Duration = Duration::from_secs(3);

/// A link's card for a post's preview, or why there is none.
#[derive(Debug, Clone)]
pub struct CardReport {
    pub url: String,
    pub card: Option<links::card::Card>,
    /// Why there is no card, in a sentence.
    pub note: Option<String>,
}

#[derive(Debug)]
struct SafeBrowsingState {
    client: links::safe_browsing::SafeBrowsing,
    updated_at: Option<Timestamp>,
}

/// How long the Safe Browsing lists are used before they are updated again (Google's usual
/// minimum wait is a few minutes; half an hour keeps well clear of it).
const SAFE_BROWSING_REFRESH: SignedDuration = SignedDuration::from_mins(30);
/// How long one Safe Browsing request may take (a first, full update is a few megabytes).
const SAFE_BROWSING_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Loaded {
    lists: Arc<FeedLists>,
    /// Each list file's name, length and modification time when it was read.
    signature: Vec<(PathBuf, u64, Option<SystemTime>)>,
    checked_at: Option<Timestamp>,
}

/// One link's verdict, for `herald links check` and `POST /api/v1/links/check`.
#[derive(Debug, Clone)]
pub struct LinkReport {
    /// The link as given.
    pub url: String,
    /// Its canonical form, when it has one.
    pub canonical: Option<String>,
    /// `clean`, `malicious`, `lookalike` or `unreachable`.
    pub verdict: &'static str,
    /// Where it redirects to, when it was followed.
    pub destination: Option<String>,
    pub findings: Vec<Finding>,
}

impl LinkSafety {
    /// Link safety with the feeds in `<data_dir>/feeds` and requests through the same hardened
    /// client as the networks (`networks.allow_private_addresses` applies).
    pub fn new(config: &Config) -> LinkSafety {
        let outbound = networks::Outbound::new(HOP_TIMEOUT)
            .allow_private_addresses(config.networks.allow_private_addresses);
        let safe_browsing = config.links.safe_browsing_key.as_ref().map(|key| {
            use secrecy::ExposeSecret;
            let client = links::safe_browsing::SafeBrowsing::new(
                networks::Outbound::new(SAFE_BROWSING_TIMEOUT)
                    .allow_private_addresses(config.networks.allow_private_addresses),
                &config.links.safe_browsing_url,
                key.expose_secret(),
            );
            tokio::sync::RwLock::new(SafeBrowsingState {
                client,
                updated_at: None,
            })
        });
        LinkSafety {
            folder: feeds_folder(&config.data_dir),
            loaded: RwLock::new(Loaded::default()),
            expander: Expander::new(outbound, CHAIN_TIMEOUT, EXPANSION_TTL),
            safe_browsing,
            pages: networks::Outbound::new(CARD_TIMEOUT)
                .allow_private_addresses(config.networks.allow_private_addresses),
            short_hosts: config
                .links
                .short_link_hosts
                .iter()
                .map(|host| host.trim().trim_matches('.').to_lowercase())
                .filter(|host| !host.is_empty())
                .collect(),
        }
    }

    /// Whether links to `host` are short links: a well-known shortener, or one of
    /// `links.short_link_hosts` (or a subdomain of one).
    pub fn is_short(&self, host: &str) -> bool {
        if guard::is_shortener(host) {
            return true;
        }
        let host = host.trim_end_matches('.').to_lowercase();
        self.short_hosts.iter().any(|short| {
            host == *short
                || host
                    .strip_suffix(short.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// The card of `url` as networks show one under a post: only for a link that link safety
    /// finds clean, read from the page its redirects end at, through the hardened client.
    pub async fn card(
        &self,
        store: &Store,
        url: &str,
        now: Timestamp,
    ) -> Result<CardReport, AppError> {
        let url = url.trim();
        if url.is_empty() || url.len() > 2048 {
            return Err(AppError::invalid(
                "url",
                "give one link of at most 2048 characters",
            ));
        }
        let none = |note: String| CardReport {
            url: url.to_owned(),
            card: None,
            note: Some(note),
        };
        let checker = self.checker(store, now).await?;
        let report = self
            .judge(&checker, url, now, Reach::EverythingWithin(CARD_BUDGET))
            .await;
        match report.verdict {
            "malicious" | "lookalike" => {
                return Ok(none(
                    "No card: Herald found a problem with this link (see the findings).".to_owned(),
                ));
            }
            "unreachable" => {
                return Ok(none("No card: the link could not be followed.".to_owned()));
            }
            _ => {}
        }
        let Ok(canonical) = Canonical::parse(url) else {
            return Ok(none("No card: the link cannot be read.".to_owned()));
        };
        let page = self
            .expander
            .cached(&canonical, now)
            .filter(|expansion| expansion.ending == Ending::Arrived)
            .map_or_else(
                || canonical.to_string(),
                |expansion| expansion.destination().to_owned(),
            );
        Ok(match links::card::fetch(&self.pages, &page).await {
            Ok(Some(card)) => CardReport {
                url: url.to_owned(),
                card: Some(card),
                note: None,
            },
            Ok(None) => none("No card: the page has no title.".to_owned()),
            Err(reason) => none(format!("No card: {reason}.")),
        })
    }

    /// What Google Safe Browsing says of `url`: its lists updated first when stale; a failure
    /// is logged and judged as no verdict (the feeds and look-alikes still apply).
    async fn safe_browsing_threat(&self, url: &Canonical, now: Timestamp) -> Option<String> {
        let state = self.safe_browsing.as_ref()?;
        let stale = state
            .read()
            .await
            .updated_at
            .is_none_or(|at| at.duration_until(now) >= SAFE_BROWSING_REFRESH);
        if stale {
            let mut writing = state.write().await;
            let still_stale = writing
                .updated_at
                .is_none_or(|at| at.duration_until(now) >= SAFE_BROWSING_REFRESH);
            if still_stale {
                if let Err(reason) = writing.client.update().await {
                    tracing::warn!(%reason, "the Safe Browsing lists could not be updated");
                }
                writing.updated_at = Some(now);
            }
        }
        match state.read().await.client.lookup(url).await {
            Ok(found) => found,
            Err(reason) => {
                tracing::warn!(%reason, "a link could not be checked with Safe Browsing");
                None
            }
        }
    }

    /// The feeds in force, read again when a list file changed.
    pub fn lists(&self, now: Timestamp) -> Arc<FeedLists> {
        if let Ok(loaded) = self.loaded.read()
            && loaded
                .checked_at
                .is_some_and(|at| at.duration_until(now) < FEEDS_RECHECK)
        {
            return loaded.lists.clone();
        }
        let signature = signature(&self.folder);
        let Ok(mut loaded) = self.loaded.write() else {
            return Arc::default();
        };
        loaded.checked_at = Some(now);
        if loaded.signature != signature
            || loaded.lists.summary().is_empty() && !signature.is_empty()
        {
            match FeedLists::load(&self.folder) {
                Ok(lists) => {
                    loaded.lists = Arc::new(lists);
                    loaded.signature = signature;
                }
                Err(error) => tracing::warn!(%error, "the threat feeds cannot be read"),
            }
        }
        loaded.lists.clone()
    }

    /// The feeds and the organisation's names, to judge links with.
    pub async fn checker(&self, store: &Store, now: Timestamp) -> Result<Checker, StoreError> {
        let names = store.organisation_names().await?;
        Ok(Checker {
            lists: (*self.lists(now)).clone(),
            names: OwnNames::new(&names.domains, &names.handles),
        })
    }

    /// Every link finding in `text`, reaching as far as `reach`.
    pub async fn findings(
        &self,
        store: &Store,
        text: &str,
        now: Timestamp,
        reach: Reach,
    ) -> Result<Vec<Finding>, StoreError> {
        let found = guard::extract_links(text);
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let checker = self.checker(store, now).await?;
        let mut findings = Vec::new();
        for link in found {
            let report = self.judge(&checker, &link.url, now, reach).await;
            findings.extend(report.findings.into_iter().map(|finding| Finding {
                span: link.span.clone(),
                ..finding
            }));
        }
        Ok(findings)
    }

    /// Each of `urls` judged, every link followed to where it goes.
    pub async fn check(
        &self,
        store: &Store,
        urls: &[String],
        now: Timestamp,
    ) -> Result<Vec<LinkReport>, AppError> {
        if urls.is_empty() || urls.len() > MOST_LINKS {
            return Err(AppError::Invalid {
                field: "urls",
                message: format!("give 1 to {MOST_LINKS} links to check"),
            });
        }
        let checker = self.checker(store, now).await?;
        let deadline = tokio::time::Instant::now() + CHECK_BUDGET;
        let mut reports = Vec::with_capacity(urls.len());
        for url in urls {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let reach = Reach::EverythingWithin(left);
            reports.push(self.judge(&checker, url, now, reach).await);
        }
        Ok(reports)
    }

    /// One link's verdict; its findings span nothing (the caller places them). The inbox
    /// judges many items' links with one `checker`.
    pub async fn judge(
        &self,
        checker: &Checker,
        url: &str,
        now: Timestamp,
        reach: Reach,
    ) -> LinkReport {
        let canonical = match Canonical::parse(url) {
            Ok(canonical) => canonical,
            Err(error) => {
                return LinkReport {
                    url: url.to_owned(),
                    canonical: None,
                    verdict: "unreachable",
                    destination: None,
                    findings: vec![finding(
                        Kind::Unreachable,
                        String::new(),
                        format!("This link cannot be checked. {error}."),
                    )],
                };
            }
        };
        let excerpt = canonical.host.clone();
        let mut findings = Vec::new();
        if let Some(threat) = checker.check(&canonical) {
            findings.push(threat_finding(&threat, &excerpt, None));
        }
        let online = !matches!(reach, Reach::Offline | Reach::ShortLinksWithin(_));
        if findings.is_empty()
            && online
            && let Some(threat_type) = self.safe_browsing_threat(&canonical, now).await
        {
            let list = format!(
                "Google Safe Browsing: {}",
                threat_type.to_lowercase().replace('_', " ")
            );
            findings.push(threat_finding(&Threat::Malicious { list }, &excerpt, None));
        }
        let follow = findings.is_empty()
            && match reach {
                Reach::EverythingWithin(_) => true,
                _ => self.is_short(&canonical.host),
            };
        let mut destination = None;
        if follow {
            let expansion = match reach {
                Reach::Offline => self.expander.cached(&canonical, now),
                Reach::ShortLinksWithin(limit) => {
                    tokio::time::timeout(limit, self.expander.expand(checker, &canonical, now))
                        .await
                        .ok()
                }
                Reach::ShortLinks => Some(self.expander.expand(checker, &canonical, now).await),
                Reach::EverythingWithin(limit) => {
                    let expanded =
                        tokio::time::timeout(limit, self.expander.expand(checker, &canonical, now))
                            .await;
                    if expanded.is_err() {
                        findings.push(finding(
                            Kind::Unreachable,
                            excerpt.clone(),
                            "Herald ran out of time following this link's redirects. Check it by hand before posting.".to_owned(),
                        ));
                    }
                    expanded.ok()
                }
            };
            if let Some(expansion) = expansion {
                destination =
                    (expansion.hops.len() > 1).then(|| expansion.destination().to_owned());
                findings.extend(expansion_findings(checker, &expansion, &excerpt));
            }
        }
        let verdict = findings
            .iter()
            .map(|finding| finding.rule.as_str())
            .find_map(|rule| match rule {
                "link.malicious" => Some("malicious"),
                "link.lookalike" => Some("lookalike"),
                _ => None,
            })
            .or_else(|| {
                findings
                    .iter()
                    .any(|finding| finding.rule == link_safety::UNREACHABLE)
                    .then_some("unreachable")
            })
            .unwrap_or("clean");
        LinkReport {
            url: url.to_owned(),
            canonical: Some(canonical.to_string()),
            verdict,
            destination,
            findings,
        }
    }
}

/// Whether `url` is a short link: a well-known shortener, or (with link safety) one of
/// `links.short_link_hosts`.
pub fn is_short_url(safety: Option<&LinkSafety>, url: &str) -> bool {
    let Ok(canonical) = Canonical::parse(url) else {
        return false;
    };
    match safety {
        Some(safety) => safety.is_short(&canonical.host),
        None => guard::is_shortener(&canonical.host),
    }
}

/// Where the feed lists live.
pub fn feeds_folder(data_dir: &Path) -> PathBuf {
    data_dir.join("feeds")
}

/// What a followed chain says: where it goes, and what it met on the way.
fn expansion_findings(checker: &Checker, expansion: &Expansion, excerpt: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let destination = shown(expansion.destination());
    if let Some((_, threat)) = expansion.first_threat(checker) {
        findings.push(threat_finding(&threat, excerpt, Some(&destination)));
    }
    match &expansion.ending {
        Ending::Arrived | Ending::Flagged if expansion.hops.len() > 1 => {
            let hops = expansion.hops.len() - 1;
            findings.push(finding(
                Kind::RedirectsTo,
                excerpt.to_owned(),
                format!(
                    "This short link goes to {destination} ({hops} redirect{}). Consider using that address itself so readers can see where it goes.",
                    if hops == 1 { "" } else { "s" }
                ),
            ));
        }
        Ending::Arrived | Ending::Flagged => {}
        Ending::Refused(why) if expansion.hops.len() > 1 => findings.push(finding(
            Kind::Malicious,
            excerpt.to_owned(),
            format!(
                "This link redirects somewhere no public link should go ({}): {why}. Do not post it.",
                destination
            ),
        )),
        Ending::Refused(why) | Ending::Unreachable(why) => findings.push(finding(
            Kind::Unreachable,
            excerpt.to_owned(),
            format!("Herald could not follow this link to where it goes: {why}. Check it by hand before posting."),
        )),
    }
    findings
}

/// A canonical URL as shown in a message: scheme, host and path; the query is left out (it
/// can hold someone's token).
fn shown(url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or_default();
    let mut shown: String = without_query.chars().take(120).collect();
    if shown.len() < without_query.len() {
        shown.push('…');
    }
    shown
}

#[derive(Clone, Copy)]
enum Kind {
    Malicious,
    Lookalike,
    RedirectsTo,
    Unreachable,
}

fn finding(kind: Kind, excerpt: String, message: String) -> Finding {
    let (rule, severity, action) = match kind {
        Kind::Malicious => (link_safety::MALICIOUS, Severity::Critical, Action::Block),
        Kind::Lookalike => (link_safety::LOOKALIKE, Severity::High, Action::Block),
        Kind::RedirectsTo => (link_safety::REDIRECTS_TO, Severity::Low, Action::Warn),
        Kind::Unreachable => (link_safety::UNREACHABLE, Severity::Medium, Action::Warn),
    };
    Finding {
        rule,
        severity,
        action,
        span: 0..0,
        excerpt,
        message,
    }
}

/// The finding for a threat met at the link itself (`via` is `None`) or at a hop it
/// redirects through.
fn threat_finding(threat: &Threat, excerpt: &str, via: Option<&str>) -> Finding {
    let lead = match via {
        Some(destination) => format!("This link redirects to {destination}, which"),
        None => "This link".to_owned(),
    };
    match threat {
        Threat::Malicious { list } => finding(
            Kind::Malicious,
            excerpt.to_owned(),
            format!(
                "{lead} is on a threat list of known malware and phishing sites ({list}). Do not post it."
            ),
        ),
        Threat::Lookalike(lookalike) => finding(
            Kind::Lookalike,
            excerpt.to_owned(),
            format!(
                "{lead} imitates your organisation's {} ({}). Do not post it; link to your real site.",
                lookalike.imitates,
                lookalike.kind.describe()
            ),
        ),
        Threat::HiddenHost => finding(
            Kind::Lookalike,
            excerpt.to_owned(),
            format!(
                "{lead} hides its real address behind a user name before `@`; it really goes to {excerpt}. Do not post it."
            ),
        ),
    }
}

/// Each list file's name, length and modification time.
fn signature(folder: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, u64, Option<SystemTime>)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().and_then(|e| e.to_str()) == Some(links::lists::LIST_EXTENSION)
        })
        .map(|path| {
            let metadata = std::fs::metadata(&path).ok();
            let length = metadata.as_ref().map_or(0, std::fs::Metadata::len);
            let modified = metadata.and_then(|m| m.modified().ok());
            (path, length, modified)
        })
        .collect();
    found.sort();
    found
}

/// The organisation's names as pages and the API show them.
pub async fn names(store: &Store) -> Result<OrganisationNames, AppError> {
    Ok(store.organisation_names().await?)
}

/// Replaces the organisation's domains and handles (owners; audited). Each is trimmed; empty
/// ones are dropped; a domain must read as one (IDNA rules), a handle must be a name.
pub async fn save_names(
    store: &Store,
    actor: &UserRecord,
    domains: &[String],
    handles: &[String],
    now: Timestamp,
) -> Result<OrganisationNames, AppError> {
    let domains = clean(domains, "domains", check_domain)?;
    let handles = clean(handles, "handles", check_handle)?;
    let names = OrganisationNames { domains, handles };
    let work = store.write().await?;
    work.replace_organisation_names(&names, now).await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "organisation.names_saved",
        Some("organisation".to_owned()),
        None,
        serde_json::json!({ "domains": names.domains, "handles": names.handles }),
    )
    .await?;
    work.commit().await?;
    Ok(names)
}

fn clean(
    given: &[String],
    field: &'static str,
    check: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, AppError> {
    let mut kept: Vec<String> = Vec::new();
    for name in given
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
    {
        let name = check(name).map_err(|message| AppError::Invalid { field, message })?;
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    if kept.len() > MOST_NAMES {
        return Err(AppError::Invalid {
            field,
            message: format!("list at most {MOST_NAMES} {field}"),
        });
    }
    Ok(kept)
}

fn check_domain(name: &str) -> Result<String, String> {
    let bare = name
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_lowercase();
    let readable = bare.len() <= 253
        && bare.contains('.')
        && !bare.starts_with('.')
        && bare
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    if !readable {
        return Err(format!(
            "`{}` is not a domain name such as sunnycafe.example",
            name.chars().take(80).collect::<String>()
        ));
    }
    match Canonical::parse(&bare) {
        Ok(canonical) if !canonical.host_is_address() => Ok(bare),
        _ => Err(format!(
            "`{}` breaks the rules for domain names",
            name.chars().take(80).collect::<String>()
        )),
    }
}

fn check_handle(name: &str) -> Result<String, String> {
    let readable = name.chars().count() <= 100
        && name
            .trim_start_matches('@')
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '_' | '-'));
    if readable {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{}` is not a handle such as @sunnycafe or @sunnycafe@mastodon.social",
            name.chars().take(80).collect::<String>()
        ))
    }
}

/// A feed saved by an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFeed {
    /// The list's name (the file name without its extension).
    pub name: String,
    pub format: links::Format,
    /// Distinct entries kept.
    pub entries: usize,
}

/// Imports feed files into `<data_dir>/feeds`, each as the list named after its file (an
/// earlier import of the same name is replaced). Every file is read whole first: one that does
/// not read is refused naming its line, and then nothing is saved, so the lists in force stay.
pub fn import_feeds(data_dir: &Path, files: &[PathBuf]) -> Result<Vec<ImportedFeed>, AppError> {
    let mut read = Vec::with_capacity(files.len());
    for path in files {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|error| AppError::Invalid {
            field: "feed",
            message: format!("{shown} cannot be opened: {error}"),
        })?;
        let (format, list) = links::import(file, None).map_err(|error| AppError::Invalid {
            field: "feed",
            message: format!("{shown} is refused, nothing was imported. {error}"),
        })?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "feed".to_owned());
        read.push((name, format, list));
    }
    read.into_iter()
        .map(|(name, format, list)| save_list(data_dir, &name, format, &list))
        .collect()
}

/// Saves one feed's list under `name`, whole or not at all.
pub fn save_list(
    data_dir: &Path,
    name: &str,
    format: links::Format,
    list: &links::HashList,
) -> Result<ImportedFeed, AppError> {
    let folder = feeds_folder(data_dir);
    let path = links::lists::list_path(&folder, name);
    let saved = std::fs::create_dir_all(&folder).and_then(|()| list.write_atomically(&path));
    saved.map_err(|error| {
        AppError::Internal(format!(
            "the feed list {} cannot be saved: {error}",
            path.display()
        ))
    })?;
    Ok(ImportedFeed {
        name: path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default(),
        format,
        entries: list.len(),
    })
}

/// The largest feed fetched, in bytes (URLhaus's full dump is well under this).
const LARGEST_FEED: usize = 512 * 1024 * 1024;
/// How long fetching one feed may take.
const FEED_TIMEOUT: Duration = Duration::from_secs(300);

/// What a feed's fetch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The server said it has not changed since the last fetch (304).
    Unchanged,
    /// A new list was saved.
    Saved(ImportedFeed),
}

/// The validators a feed's server gave with its last good answer, kept beside its list.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SavedValidators {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// The list name of a configured feed: its host and path.
pub fn feed_name(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Fetches one configured feed through the hardened client with a conditional GET (its last
/// ETag and Last-Modified), and saves its list when it changed and reads whole; a feed that
/// does not read is refused naming its line, and its last good list stays in force.
pub async fn refresh_feed(
    data_dir: &Path,
    source: &crate::config::FeedSource,
    allow_private_addresses: bool,
) -> Result<Refreshed, String> {
    let outbound =
        networks::Outbound::new(FEED_TIMEOUT).allow_private_addresses(allow_private_addresses);
    let name = feed_name(&source.url);
    let folder = feeds_folder(data_dir);
    let list_path = links::lists::list_path(&folder, &name);
    let validators_path = list_path.with_extension("validators");
    let known: SavedValidators = if list_path.exists() {
        std::fs::read(&validators_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    } else {
        SavedValidators::default()
    };
    let known = links::fetch::Validators {
        etag: known.etag,
        last_modified: known.last_modified,
    };
    let fetched =
        links::fetch::conditional_get(&outbound, &source.url, &known, LARGEST_FEED).await?;
    let (body, validators) = match fetched {
        links::fetch::Fetched::NotModified => return Ok(Refreshed::Unchanged),
        links::fetch::Fetched::Body { bytes, validators } => (bytes, validators),
    };
    let validators = SavedValidators {
        etag: validators.etag,
        last_modified: validators.last_modified,
    };
    let format = source.format.map(|format| match format {
        crate::config::FeedFormat::Urlhaus => links::Format::Urlhaus,
        crate::config::FeedFormat::Phishtank => links::Format::Phishtank,
        crate::config::FeedFormat::Openphish => links::Format::Openphish,
        crate::config::FeedFormat::Domains => links::Format::Domains,
    });
    let (format, list) = links::import(body.as_slice(), format)
        .map_err(|error| format!("The feed is refused, its last good list stays. {error}"))?;
    let saved = save_list(data_dir, &name, format, &list).map_err(|error| error.to_string())?;
    // The validators go with the list they describe; if they are lost, the next fetch is
    // simply a full one.
    if let Ok(json) = serde_json::to_vec(&validators)
        && let Err(error) = std::fs::write(&validators_path, json)
    {
        tracing::warn!(%error, "a feed's validators could not be saved");
    }
    Ok(Refreshed::Saved(saved))
}
