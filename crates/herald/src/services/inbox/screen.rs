//! Screening what comes in, before anyone sees it: every link judged by link safety (threat
//! feeds, look-alikes of the organisation's names, short links and where they go), the sender
//! checked for impersonating the company (handles that imitate its accounts or names, display
//! names that use its name, above all with "support", "help", "official"…), and the text
//! through the policy guard's personal-data and secret detectors (a customer's card number
//! posted in a reply). The verdict is the worst of these, with every reason in words.
//!
//! [`Screen`] is prepared once per read (the names, the feeds, the compiled rules) and judges
//! each item without touching the database; only short links may reach the network.

use std::sync::Arc;

use guard::{Finding, Scanner, link_safety};
use jiff::Timestamp;
use links::{Checker, OwnNames};
use networks::Incoming;

use crate::domain::inbox::{JudgedLink, Verdict};
use crate::services::links::{LinkSafety, Reach};
use crate::services::policy::PolicyGuard;
use crate::store::{Store, StoreError};

/// Words that, with the company's name, make a display name pose as the company's service.
const SERVICE_WORDS: [&str; 12] = [
    "support", "help", "official", "service", "care", "team", "admin", "security", "billing",
    "refund", "verify", "desk",
];

/// Names shorter than this are not looked for inside display names: too many words hold them.
const SHORTEST_NAME: usize = 4;

/// The guard's rules that matter in what others send: data nobody should post in public.
const SENSITIVE: [&str; 4] = ["pii.card", "pii.iban", "pii.uk_nino", "pii.us_ssn"];

/// What screening found about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screened {
    pub links: Vec<JudgedLink>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The sender looks like one of the company's accounts or names.
    pub impostor: bool,
}

/// Everything screening compares with, prepared once.
#[derive(Debug)]
pub struct Screen {
    checker: Checker,
    names: OwnNames,
    /// Skeletons (letters and digits only) of the company's names, with the name as written.
    own_names: Vec<(String, String)>,
    /// The company's own handles, exactly (lower case, no leading `@`): never impostors.
    own_handles: Vec<String>,
    scanner: Arc<Scanner>,
    links: Option<Arc<LinkSafety>>,
}

impl Screen {
    /// The organisation's names and domains, its accounts' handles and display names, the
    /// feeds and the policy rules in force at `now`.
    pub async fn prepare(
        store: &Store,
        guard: &PolicyGuard,
        now: Timestamp,
    ) -> Result<Screen, StoreError> {
        let listed = store.organisation_names().await?;
        let accounts = store.all_accounts().await?;
        let mut handles = listed.handles.clone();
        handles.extend(accounts.iter().map(|account| account.handle.clone()));
        let mut names = vec![store.organisation_name().await?];
        names.extend(accounts.iter().map(|account| account.display_name.clone()));
        names.extend(
            listed
                .domains
                .iter()
                .filter_map(|domain| domain.split('.').next().map(str::to_owned)),
        );
        let checker = match guard.links() {
            Some(links) => links.checker(store, now).await?,
            None => Checker {
                names: OwnNames::new(&listed.domains, &listed.handles),
                ..Checker::default()
            },
        };
        Ok(Screen::new(
            checker,
            &listed.domains,
            &handles,
            &names,
            guard.scanner(store, now).await?,
            guard.links().cloned(),
        ))
    }

    /// A screen from its parts (the benchmark and tests make one without a database).
    pub fn new(
        checker: Checker,
        domains: &[String],
        handles: &[String],
        names: &[String],
        scanner: Arc<Scanner>,
        links: Option<Arc<LinkSafety>>,
    ) -> Screen {
        let mut own_names: Vec<(String, String)> = names
            .iter()
            .map(|name| (compact(name), name.trim().to_owned()))
            .filter(|(skeleton, _)| skeleton.chars().count() >= SHORTEST_NAME)
            .collect();
        own_names.sort();
        own_names.dedup_by(|a, b| a.0 == b.0);
        Screen {
            names: OwnNames::new(domains, handles),
            own_handles: handles.iter().map(|handle| bare(handle)).collect(),
            own_names,
            checker,
            scanner,
            links,
        }
    }

    /// Which of the company's accounts or names `handle` imitates, in words ("the company's
    /// @sunnycafe (one letter changed)"), if it does; the company's own handles imitate
    /// nothing. The one look-alike check for handles: the inbox's senders and the staff's own
    /// profiles (`services/staff.rs`) both come here.
    pub fn imitated_by(&self, handle: &str) -> Option<String> {
        if self.own_handles.contains(&bare(handle)) {
            return None;
        }
        let lookalike = self.names.check_handle(handle)?;
        Some(format!(
            "the company's {} ({})",
            lookalike.imitates,
            lookalike.kind.describe()
        ))
    }

    /// Judges one item. Links are followed as far as `reach` allows (short links only; the
    /// read job gives them two seconds, the benchmark none).
    pub async fn item(&self, item: &Incoming, now: Timestamp, reach: Reach) -> Screened {
        let mut links = Vec::new();
        for link in guard::extract_links(&item.text) {
            links.push(self.link(&link.url, now, reach).await);
        }
        self.with_links(item, links)
    }

    /// Judges one item whose links are judged already (one of them followed on request):
    /// the sender and the text now, the links as given.
    pub fn with_links(&self, item: &Incoming, links: Vec<JudgedLink>) -> Screened {
        let mut screened = Screened {
            links: Vec::new(),
            verdict: Verdict::Safe,
            reasons: Vec::new(),
            impostor: false,
        };
        self.sender(item, &mut screened);
        for judged in links {
            if judged.verdict > Verdict::Safe {
                screened.reasons.extend(judged.reasons.iter().cloned());
            }
            screened.verdict = screened.verdict.max(judged.verdict);
            screened.links.push(judged);
        }
        for finding in self.scanner.scan(&item.text) {
            if SENSITIVE.contains(&finding.rule.as_str())
                || finding.rule.as_str().starts_with("secret.")
            {
                screened.verdict = screened.verdict.max(Verdict::Suspicious);
                screened.reasons.push(format!(
                    "The text holds what looks like {} ({}): nobody should post that in public; hide or remove it on the network.",
                    sensitive_words(&finding),
                    finding.excerpt
                ));
            }
        }
        screened.reasons.dedup();
        screened
    }

    /// Whether `url` is a short link (a well-known shortener or one of
    /// `links.short_link_hosts`), which hides where it goes.
    pub fn is_short(&self, url: &str) -> bool {
        crate::services::links::is_short_url(self.links.as_deref(), url)
    }

    /// A short link followed now, on a member's request, through link safety's expander (the
    /// hardened client: public addresses only, every hop checked before it is asked, at most
    /// ten): dangerous when it leads to a threat or a look-alike, safe when it arrives
    /// somewhere nothing is known against, suspicious when it cannot be followed to its end.
    /// `None` when Herald runs without link safety.
    pub async fn follow(&self, url: &str, now: Timestamp) -> Option<JudgedLink> {
        let safety = self.links.as_ref()?;
        let report = safety
            .judge(&self.checker, url, now, Reach::ShortLinks)
            .await;
        let mut judged = judged(url, report.destination.clone(), &report.findings, true);
        if judged.verdict == Verdict::Suspicious
            && report.destination.is_none()
            && report.findings.is_empty()
        {
            judged.reasons = vec![format!(
                "Herald followed this short link, but it leads nowhere else: {} answered itself (a removed or broken link, or one that only redirects in a browser).",
                report
                    .canonical
                    .as_deref()
                    .and_then(|c| links::Canonical::parse(c).ok())
                    .map(|c| c.host)
                    .unwrap_or_default()
            )];
        }
        Some(judged)
    }

    /// Whether the sender poses as the company: a handle that imitates one of its accounts or
    /// names, or a display name that uses its name.
    fn sender(&self, item: &Incoming, screened: &mut Screened) {
        let handle = bare(&item.sender.handle);
        if self.own_handles.contains(&handle) {
            return;
        }
        if let Some(imitated) = self.imitated_by(&item.sender.handle) {
            screened.impostor = true;
            screened.verdict = Verdict::Dangerous;
            screened.reasons.push(format!(
                "The sender's handle {} imitates {imitated}.",
                item.sender.handle,
            ));
        }
        let shown = compact(&item.sender.display_name);
        let Some((_, name)) = self
            .own_names
            .iter()
            .find(|(own, _)| shown.contains(own.as_str()))
        else {
            return;
        };
        screened.impostor = true;
        let service = SERVICE_WORDS.iter().find(|word| shown.contains(*word));
        let (verdict, reason) = match service {
            Some(word) => (
                Verdict::Dangerous,
                format!(
                    "The sender calls itself by the company's name {name} with \u{201c}{word}\u{201d}: a common way to pose as its customer service."
                ),
            ),
            None if shown == compact(name) => (
                Verdict::Dangerous,
                format!(
                    "The sender uses the company's own name, {name}, but is not one of its accounts."
                ),
            ),
            None => (
                Verdict::Suspicious,
                format!("The sender's name uses the company's name, {name}."),
            ),
        };
        screened.verdict = screened.verdict.max(verdict);
        screened.reasons.push(reason);
    }

    /// One link: dangerous when link safety finds it malicious or a look-alike (itself or
    /// where it leads), suspicious when it cannot tell where a short link goes or the link
    /// cannot be checked.
    async fn link(&self, url: &str, now: Timestamp, reach: Reach) -> JudgedLink {
        let findings = match &self.links {
            Some(links) => {
                let report = links.judge(&self.checker, url, now, reach).await;
                let destination = report.destination.clone();
                return judged(url, destination, &report.findings, self.is_short(url));
            }
            None => offline_findings(&self.checker, url),
        };
        judged(url, None, &findings, self.is_short(url))
    }
}

/// Without link safety's expander (the benchmark's screen): the feeds and look-alikes only.
fn offline_findings(checker: &Checker, url: &str) -> Vec<Finding> {
    let Ok(canonical) = links::Canonical::parse(url) else {
        return vec![unchecked(url)];
    };
    match checker.check(&canonical) {
        Some(links::Threat::Lookalike(lookalike)) => vec![Finding {
            rule: link_safety::LOOKALIKE,
            severity: guard::Severity::High,
            action: guard::Action::Block,
            span: 0..0,
            excerpt: canonical.host.clone(),
            message: format!("This link's address {lookalike}."),
        }],
        Some(_) => vec![Finding {
            rule: link_safety::MALICIOUS,
            severity: guard::Severity::Critical,
            action: guard::Action::Block,
            span: 0..0,
            excerpt: canonical.host.clone(),
            message: "This link is on a threat list of known malware and phishing sites."
                .to_owned(),
        }],
        None => Vec::new(),
    }
}

fn unchecked(url: &str) -> Finding {
    Finding {
        rule: link_safety::UNREACHABLE,
        severity: guard::Severity::Medium,
        action: guard::Action::Warn,
        span: 0..0,
        excerpt: url.chars().take(60).collect(),
        message: "This link cannot be read as an address.".to_owned(),
    }
}

/// A link's verdict from link safety's findings, in the inbox's words. A `short` link is
/// suspicious while nobody knows where it goes; once followed to a clean end (its
/// `destination` known, nothing found on the way) it is judged by where it leads.
fn judged(url: &str, destination: Option<String>, findings: &[Finding], short: bool) -> JudgedLink {
    let mut verdict = Verdict::Safe;
    let mut reasons = Vec::new();
    for finding in findings {
        let (level, reason) = if finding.rule == link_safety::MALICIOUS {
            (
                Verdict::Dangerous,
                format!(
                    "The link to {} is known malware or phishing (or leads there).",
                    finding.excerpt
                ),
            )
        } else if finding.rule == link_safety::LOOKALIKE {
            (
                Verdict::Dangerous,
                format!(
                    "The link to {} imitates one of the company's own names.",
                    finding.excerpt
                ),
            )
        } else if finding.rule == link_safety::UNREACHABLE {
            (
                Verdict::Suspicious,
                format!("The link to {} could not be checked.", finding.excerpt),
            )
        } else {
            continue;
        };
        verdict = verdict.max(level);
        reasons.push(reason);
    }
    if verdict == Verdict::Safe && short && destination.is_none() {
        let host = links::Canonical::parse(url)
            .ok()
            .map(|canonical| canonical.host)
            .unwrap_or_default();
        verdict = Verdict::Suspicious;
        reasons.push(format!(
            "A short link ({host}) hides where it goes, and Herald could not follow it yet."
        ));
    }
    JudgedLink {
        url: url.to_owned(),
        verdict,
        destination,
        reasons,
    }
}

/// What a sensitive finding is, in words.
fn sensitive_words(finding: &Finding) -> &'static str {
    match finding.rule.as_str() {
        "pii.card" => "a payment card number",
        "pii.iban" => "a bank account number",
        "pii.uk_nino" => "a National Insurance number",
        "pii.us_ssn" => "a Social Security number",
        _ => "a password, key or token",
    }
}

/// A name's skeleton with only its letters and digits: `Sunny Café!` → `sunnycafe`.
fn compact(name: &str) -> String {
    links::lookalike::skeleton(name)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A handle as compared exactly: lower case, no leading `@`.
fn bare(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

#[cfg(test)]
mod tests {
    use networks::{IncomingKind, Sender};

    use super::*;

    fn screen() -> Screen {
        let (_, list) =
            links::import("https://evil.example/\n".as_bytes(), None).expect("feed reads");
        let checker = Checker {
            lists: links::FeedLists::from_lists(vec![("openphish".to_owned(), list)]),
            names: OwnNames::new(&["sunnycafe.example".to_owned()], &[]),
        };
        let policy = guard::Policy::default();
        Screen::new(
            checker,
            &["sunnycafe.example".to_owned()],
            &["@sunnycafe@social.example".to_owned()],
            &["Sunny Café".to_owned()],
            Arc::new(Scanner::new(&policy).expect("scanner")),
            None,
        )
    }

    fn from(handle: &str, name: &str, text: &str) -> Incoming {
        Incoming {
            key: "1".to_owned(),
            kind: IncomingKind::Mention,
            sender: Sender {
                id: "1".to_owned(),
                handle: handle.to_owned(),
                display_name: name.to_owned(),
            },
            text: text.to_owned(),
            url: None,
            reply_to: None,
            at: Timestamp::UNIX_EPOCH,
        }
    }

    async fn judge(handle: &str, name: &str, text: &str) -> Screened {
        screen()
            .item(
                &from(handle, name, text),
                Timestamp::UNIX_EPOCH,
                Reach::Offline,
            )
            .await
    }

    #[tokio::test]
    async fn an_ordinary_customer_is_safe() {
        let screened = judge(
            "@ann@example.social",
            "Ann",
            "Loved the scones! https://example.org/pic",
        )
        .await;
        assert_eq!(screened.verdict, Verdict::Safe, "{:?}", screened.reasons);
        assert!(!screened.impostor);
        assert_eq!(screened.links.len(), 1);
    }

    #[tokio::test]
    async fn a_link_in_a_threat_feed_or_imitating_the_company_is_dangerous() {
        let screened = judge(
            "@ann@example.social",
            "Ann",
            "see https://evil.example/ and https://sunnycafe-login.example/",
        )
        .await;
        assert_eq!(screened.verdict, Verdict::Dangerous);
        let verdicts: Vec<Verdict> = screened.links.iter().map(|link| link.verdict).collect();
        assert_eq!(verdicts, [Verdict::Dangerous, Verdict::Dangerous]);
        assert!(
            screened.reasons.iter().any(|r| r.contains("malware")),
            "{:?}",
            screened.reasons
        );
        assert!(
            screened.reasons.iter().any(|r| r.contains("imitates")),
            "{:?}",
            screened.reasons
        );
    }

    #[tokio::test]
    async fn a_short_link_not_followed_is_suspicious() {
        let screened = judge("@ann@example.social", "Ann", "look bit.ly/3abcd").await;
        assert_eq!(screened.verdict, Verdict::Suspicious, "{:?}", screened);
    }

    #[test]
    fn a_short_link_followed_to_a_clean_end_is_judged_by_where_it_leads() {
        let arrived = judged(
            "https://bit.ly/3abcd",
            Some("https://example.org/menu".to_owned()),
            &[],
            true,
        );
        assert_eq!(arrived.verdict, Verdict::Safe, "{arrived:?}");
        assert!(arrived.reasons.is_empty());
        let unknown = judged("https://bit.ly/3abcd", None, &[], true);
        assert_eq!(unknown.verdict, Verdict::Suspicious);
        let long = judged("https://example.org/menu", None, &[], false);
        assert_eq!(long.verdict, Verdict::Safe);
    }

    #[tokio::test]
    async fn handles_and_names_posing_as_the_company_are_impostors() {
        let helpdesk = judge("@sunnycafe_help@evil.social", "Help", "DM us").await;
        assert!(helpdesk.impostor);
        assert_eq!(helpdesk.verdict, Verdict::Dangerous);
        let support = judge("@randomname@evil.social", "Sunny Cafe Support", "hi").await;
        assert!(support.impostor);
        assert_eq!(support.verdict, Verdict::Dangerous);
        assert!(
            support.reasons[0].contains("support"),
            "{:?}",
            support.reasons
        );
        // Cyrillic С and а: the same skeleton.
        let confusable = judge(
            "@someone@evil.social",
            "Sunny \u{0421}\u{0430}f\u{00e9}",
            "hi",
        )
        .await;
        assert!(confusable.impostor, "{confusable:?}");
        let fan = judge("@ann@example.social", "Ann loves Sunny Cafe", "hi").await;
        assert_eq!(fan.verdict, Verdict::Suspicious);
        let own = judge("@SunnyCafe@social.example", "Sunny Café", "hi").await;
        assert!(
            !own.impostor,
            "the company's own account is not an impostor"
        );
    }

    #[tokio::test]
    async fn a_card_number_in_a_reply_is_suspicious_and_never_quoted_whole() {
        let screened = judge(
            "@ann@example.social",
            "Ann",
            "my card is 4111 1111 1111 1111 please refund",
        )
        .await;
        assert_eq!(screened.verdict, Verdict::Suspicious);
        let reason = screened.reasons.join(" ");
        assert!(reason.contains("payment card"), "{reason}");
        assert!(!reason.contains("4111 1111 1111 1111"), "{reason}");
    }
}
