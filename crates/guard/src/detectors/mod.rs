//! The built-in detectors: one multi-pattern regex finds candidates of every kind in a single
//! pass, and each kind's validator decides which candidates are findings.
//!
//! The patterns are ASCII-only and compiled without Unicode classes, which keeps the lazy DFA
//! small and fast. They only ever start on an ASCII byte and end on an ASCII byte or at a run
//! that stops before an ASCII delimiter, so every span lies on a character boundary; the scanner
//! still checks this before using a span.
//!
//! The regex reports leftmost, non-overlapping matches, with earlier patterns preferred where
//! two start at the same byte. The order below is therefore the priority: a Slack webhook is
//! seen before the URL it is, a URL before the domain in it, an email before its domain, a
//! long token ("…0123abcd-us21") before the number it starts with, and a bare number last.
//! Secrets inside a URL are found by the URL's validator; a "token" that is only digits and
//! separators (4111-1111-1111-1111) goes to the number validator.

pub mod entropy;
pub mod links;
pub mod pii;
pub mod secrets;
pub mod terms;
pub mod tone;

use std::ops::Range;
use std::sync::OnceLock;

use regex_automata::Input;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

use crate::rules::Builtin;

/// A detector's result before the policy's settings give it a severity, action and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: Builtin,
    pub span: Range<usize>,
    pub excerpt: String,
    /// A lesser form of the rule (a Stripe test key): one severity lower, at most approval.
    pub lesser: bool,
}

impl Hit {
    pub fn new(rule: Builtin, span: Range<usize>, excerpt: String) -> Hit {
        Hit {
            rule,
            span,
            excerpt,
            lesser: false,
        }
    }
}

/// What a candidate from the combined regex may be; the order is the patterns' priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PrivateKey,
    SlackWebhook,
    Url,
    Email,
    Password,
    UsAddress,
    UkAddress,
    Iban,
    Nino,
    Ssn,
    IpLink,
    BareDomain,
    Token,
    Number,
}

/// Top-level domains recognised without `http://` or `www.`: common ones, the shorteners'
/// and `example`. A longer list would turn "file.zip" or "Next.js" into links.
const BARE_TLDS: &str = "com|net|org|info|biz|io|co|uk|us|eu|de|fr|es|nl|ie|be|ch|at|se|no|dk|fi|pl|pt|cz|au|nz|ca|in|app|dev|ai|shop|store|online|site|xyz|tv|fm|me|ly|gl|gd|cc|gy|id|it|tt|link|club|example";

/// The candidate patterns, in priority order, each with its kind.
fn patterns() -> Vec<(Kind, String)> {
    let url_char = r#"[^\s<>"'`{}|\\^]"#;
    vec![
        (
            Kind::PrivateKey,
            r"-----BEGIN[ A-Z0-9]{0,24}PRIVATE KEY(?: BLOCK)?-----".to_owned(),
        ),
        (
            Kind::SlackWebhook,
            r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]{8,}"
                .to_owned(),
        ),
        (Kind::Url, format!(r"(?i:https?://|www\.){url_char}+")),
        (
            Kind::Email,
            r"[A-Za-z0-9_%+\-][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
                .to_owned(),
        ),
        (
            Kind::Password,
            concat!(
                r"(?i)\b(?:(?:wi-?fi|door|alarm|safe|gate|entry|keypad|lock|till|login|admin|account|network|router)[ \t]+)?",
                r"(?:password|passwd|passcode|pwd|pin(?:[ \t]+(?:code|number))?|(?:door|alarm|safe|gate|entry|keypad|lock|lockbox|key ?safe|key ?box)[ \t]+code)",
                r"[ \t]*(?:[:=]|\bis\b:?|-)[ \t]*[^\s<>]+"
            )
            .to_owned(),
        ),
        (
            Kind::UsAddress,
            concat!(
                r"\b[0-9]{1,5} (?:[A-Z][a-z]+ ){1,3}",
                r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|Circle|Highway|Hwy)\.?,? ",
                r"(?:(?:Apt|Suite|Ste|Unit|#) ?[0-9A-Za-z]+,? )?",
                r"[A-Z][a-z]+(?: [A-Z][a-z]+){0,2},? [A-Z]{2},? [0-9]{5}(?:-[0-9]{4})?\b"
            )
            .to_owned(),
        ),
        (
            Kind::UkAddress,
            concat!(
                r"\b[0-9]{1,4}[A-Za-z]?,? (?:[A-Z][a-z']+ ){1,3}",
                r"(?:Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Close|Drive|Dr|Way|Place|Pl|Crescent|Gardens|Terrace|Court|Square|Hill|Grove|Row|Mews|Parade|Walk|Green|Park|Rise|View|Wharf|Yard)\.?",
                r"(?:,? [A-Z][a-z']+(?: [A-Z][a-z']+){0,2}){0,3},? ",
                r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b"
            )
            .to_owned(),
        ),
        (
            Kind::Iban,
            r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b".to_owned(),
        ),
        (
            Kind::Nino,
            r"\b[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]\b".to_owned(),
        ),
        (Kind::Ssn, r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b".to_owned()),
        (
            Kind::IpLink,
            format!(r"\b[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}(?::[0-9]{{2,5}})?/{url_char}*|\b[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}:[0-9]{{2,5}}\b"),
        ),
        (
            Kind::BareDomain,
            format!(r"\b[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.(?:{BARE_TLDS})\b(?:/{url_char}*)?"),
        ),
        (Kind::Token, r"[A-Za-z0-9_\-+/.]{16,}={0,2}".to_owned()),
        (Kind::Number, r"\+?\(?[0-9][0-9 .()\-]{5,}[0-9]".to_owned()),
    ]
}

/// The compiled candidate regex and the kind of each of its patterns.
#[derive(Debug)]
pub struct Candidates {
    pub regex: Regex,
    pub kinds: Vec<Kind>,
}

impl Candidates {
    pub fn new() -> Result<Candidates, String> {
        let (kinds, sources): (Vec<Kind>, Vec<String>) = patterns().into_iter().unzip();
        let regex = meta::Builder::new()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            // Patterns may match inside a multi-byte character only at ASCII bytes, which are
            // always boundaries, so empty-match UTF-8 handling is not needed.
            .configure(
                meta::Config::new()
                    .utf8_empty(false)
                    .hybrid_cache_capacity(8 * 1024 * 1024),
            )
            .build_many(&sources)
            .map_err(|error| error.to_string())?;
        Ok(Candidates { regex, kinds })
    }
}

impl Candidates {
    /// The one compiled candidate regex, built on first use and shared by every scanner (the
    /// regex keeps a pool of per-thread caches, so sharing costs nothing).
    pub fn shared() -> Option<&'static Candidates> {
        static SHARED: OnceLock<Option<Candidates>> = OnceLock::new();
        SHARED.get_or_init(|| Candidates::new().ok()).as_ref()
    }

    /// Calls `visit` with each candidate's kind and span, left to right. `visit` returns where
    /// to resume, so a validator that consumed more (a whole private key block) skips it.
    pub fn for_each(&self, text: &str, mut visit: impl FnMut(Kind, Range<usize>) -> usize) {
        let haystack = text.as_bytes();
        let mut at = 0;
        while at < haystack.len() {
            let Some(found) = self.regex.search(&Input::new(haystack).range(at..)) else {
                return;
            };
            let Some(&kind) = self.kinds.get(found.pattern().as_usize()) else {
                return;
            };
            let resume = visit(kind, found.range());
            // Always move forward, even past an empty match, so the loop ends.
            at = resume.max(found.end()).max(at + 1);
        }
    }
}
