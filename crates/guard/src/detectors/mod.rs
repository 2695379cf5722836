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
mod prefilter;
pub mod secrets;
pub mod terms;
pub mod tone;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use regex_automata::hybrid;
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, Match, MatchError};

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
///
/// The search skips text by a prefilter (`prefilter.rs`) that relies on every pattern but the
/// token run having a digit, `@`, `.`, `:`, `-` or a password keyword, with only letters (and
/// `_ % + (`), a NINO's two letters and space, or a password phrase's leading words before
/// the first of them. A new pattern must keep to that, or the prefilter must learn about it;
/// its tests fail otherwise.
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
        // Not compiled into the regex: see `next_token`, which must match exactly this.
        (Kind::Token, r"[A-Za-z0-9_\-+/.]{16,}={0,2}".to_owned()),
        (Kind::Number, r"\+?\(?[0-9][0-9 .()\-]{5,}[0-9]".to_owned()),
    ]
}

/// A per-thread cache for the candidate regex's lazy DFAs.
type CacheFn = Box<
    dyn Fn() -> hybrid::regex::Cache
        + Send
        + Sync
        + std::panic::UnwindSafe
        + std::panic::RefUnwindSafe,
>;

/// The compiled candidate regex and the kind of each of its patterns.
///
/// Every pattern but the token run is one regex, searched with the lazy DFA directly rather
/// than through the meta regex, whose per-search set-up costs a fifth of the search with a
/// candidate every 150 bytes. The forward search is stepped by hand so that it can skip to
/// the next place a match may start (`prefilter.rs`); a reverse search then finds the start,
/// as in the regex's own search. The meta regex, built from the same patterns, is the
/// fallback should the lazy DFA ever give up. The token run (`[A-Za-z0-9_\-+/.]{16,}={0,2}`) is found
/// by [`next_token`]: in the regex its count of sixteen multiplied the DFA's states, and a
/// byte scan that skips sixteen bytes at a time finds it for far less. The two are merged as
/// the one regex would order them: leftmost start first, then pattern priority.
pub struct Candidates {
    /// Shared with the cache pool's constructor.
    regex: Arc<hybrid::regex::Regex>,
    caches: Pool<hybrid::regex::Cache, CacheFn>,
    fallback: Regex,
    /// Kind of each regex pattern, and its priority among all the patterns (its index in
    /// `patterns()`).
    kinds: Vec<(Kind, usize)>,
    /// The token pattern's priority.
    token_priority: usize,
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidates")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl Candidates {
    pub fn new() -> Result<Candidates, String> {
        let mut kinds = Vec::new();
        let mut sources = Vec::new();
        let mut token_priority = usize::MAX;
        for (priority, (kind, source)) in patterns().into_iter().enumerate() {
            if kind == Kind::Token {
                token_priority = priority;
            } else {
                kinds.push((kind, priority));
                sources.push(source);
            }
        }
        let syntax = syntax::Config::new().unicode(false).utf8(false);
        let fallback = meta::Builder::new()
            .syntax(syntax)
            // Patterns may match inside a multi-byte character only at ASCII bytes, which are
            // always boundaries, so empty-match UTF-8 handling is not needed.
            .configure(
                meta::Config::new()
                    .utf8_empty(false)
                    .hybrid_cache_capacity(8 * 1024 * 1024),
            )
            .build_many(&sources)
            .map_err(|error| error.to_string())?;
        let regex = Arc::new(
            hybrid::regex::Builder::new()
                .syntax(syntax)
                .thompson(thompson::Config::new().utf8(false))
                // Room for every state a text visits, so the cache is not cleared mid-scan (the
                // corpus needs under 1 MiB forward and reverse). Start states are tagged so
                // that the prefiltered search sees when the DFA is back in one.
                .dfa(
                    hybrid::dfa::Config::new()
                        .cache_capacity(8 * 1024 * 1024)
                        .specialize_start_states(true),
                )
                .build_many(&sources)
                .map_err(|error| error.to_string())?,
        );
        let for_pool = Arc::clone(&regex);
        let create: CacheFn = Box::new(move || for_pool.create_cache());
        Ok(Candidates {
            regex,
            caches: Pool::new(create),
            fallback,
            kinds,
            token_priority,
        })
    }

    /// The regex's leftmost-first match starting at or after `at`, found by the prefiltered
    /// forward search (see `prefilter.rs`) and a reverse search for its start, as the lazy
    /// DFA regex's own search does.
    fn next_regex_match(&self, haystack: &[u8], at: usize) -> Option<Match> {
        let mut cache = self.caches.get();
        match self.prefiltered_search(&mut cache, haystack, at) {
            Ok(found) => found,
            // The lazy DFA gave up (it cleared its cache too often): let the meta regex,
            // which falls back to an NFA, answer instead.
            Err(_) => self.fallback.search(&Input::new(haystack).range(at..)),
        }
    }

    /// [`Candidates::next_regex_match`] by the lazy DFA; an error means it gave up.
    fn prefiltered_search(
        &self,
        cache: &mut hybrid::regex::Cache,
        haystack: &[u8],
        at: usize,
    ) -> Result<Option<Match>, MatchError> {
        let (forward, reverse) = cache.as_parts_mut();
        let Some(end) = prefilter::find_end(self.regex.forward(), forward, haystack, at)? else {
            return Ok(None);
        };
        if end.offset() <= at {
            return Ok(Some(Match::new(end.pattern(), at..at)));
        }
        let backwards = Input::new(haystack)
            .range(at..end.offset())
            .anchored(Anchored::Yes);
        let start = self
            .regex
            .reverse()
            .try_search_rev(reverse, &backwards)?
            .ok_or(MatchError::gave_up(at))?;
        Ok(Some(Match::new(
            end.pattern(),
            start.offset()..end.offset(),
        )))
    }

    /// The same as [`Candidates::next_regex_match`] by the lazy DFA regex's own search, which
    /// reads every byte: what the prefiltered search is tested against.
    #[cfg(test)]
    fn next_regex_match_unfiltered(&self, haystack: &[u8], at: usize) -> Option<Match> {
        let input = Input::new(haystack).range(at..);
        let mut cache = self.caches.get();
        match self.regex.try_search(&mut cache, &input) {
            Ok(found) => found,
            Err(_) => self.fallback.search(&input),
        }
    }
}

/// The token pattern `[A-Za-z0-9_\-+/.]{16,}={0,2}`'s leftmost match at or after `from`: the
/// first place with sixteen token bytes in a row, taken greedily to the end of the run, and
/// up to two `=` of padding after it.
fn next_token(haystack: &[u8], from: usize) -> Option<Range<usize>> {
    const RUN: usize = 16;
    let is_token = |at: usize| haystack.get(at).is_some_and(|&b| is_token_byte(b));
    let mut start = from;
    loop {
        // A run of sixteen from `start` must include byte `start + 15`; if that is not a
        // token byte, no run starts at or before it, so skip past it.
        let probe = start + RUN - 1;
        if probe >= haystack.len() {
            return None;
        }
        if !is_token(probe) {
            start = probe + 1;
            continue;
        }
        // Walk back from the probe to the start of its run (not before `start`).
        let mut run_start = probe;
        while run_start > start && is_token(run_start - 1) {
            run_start -= 1;
        }
        if run_start == start {
            break;
        }
        start = run_start;
    }
    let mut end = start + RUN;
    while is_token(end) {
        end += 1;
    }
    for _ in 0..2 {
        if haystack.get(end) == Some(&b'=') {
            end += 1;
        }
    }
    Some(start..end)
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'+' | b'/' | b'.')
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
    pub fn for_each(&self, text: &str, visit: impl FnMut(Kind, Range<usize>) -> usize) {
        self.for_each_by(
            text,
            |haystack, at| self.next_regex_match(haystack, at),
            visit,
        );
    }

    /// [`Candidates::for_each`] with the regex searched by `search`.
    fn for_each_by(
        &self,
        text: &str,
        search: impl Fn(&[u8], usize) -> Option<Match>,
        mut visit: impl FnMut(Kind, Range<usize>) -> usize,
    ) {
        let haystack = text.as_bytes();
        // The next match of each searcher, kept while it starts at or after `at`: no match
        // starts between where it was searched from and its start, so searching again from a
        // later `at` would find the same one. `Some(None)`: no more matches.
        let mut regex_next: Option<Option<(Range<usize>, Kind, usize)>> = None;
        let mut token_next: Option<Option<Range<usize>>> = None;
        let mut at = 0;
        while at < haystack.len() {
            let stale = |start: Option<usize>| start.is_some_and(|start| start < at);
            if regex_next.is_none()
                || stale(
                    regex_next
                        .as_ref()
                        .and_then(|n| n.as_ref().map(|n| n.0.start)),
                )
            {
                regex_next = Some(search(haystack, at).and_then(|found| {
                    let &(kind, priority) = self.kinds.get(found.pattern().as_usize())?;
                    Some((found.range(), kind, priority))
                }));
            }
            if token_next.is_none()
                || stale(
                    token_next
                        .as_ref()
                        .and_then(|n| n.as_ref().map(|n| n.start)),
                )
            {
                token_next = Some(next_token(haystack, at));
            }
            let from_regex = regex_next.clone().flatten();
            let from_token = token_next.clone().flatten();
            let (kind, range) = match (from_regex, from_token) {
                (None, None) => return,
                (Some((range, kind, _)), None) => (kind, range),
                (None, Some(range)) => (Kind::Token, range),
                (Some((regex_range, kind, priority)), Some(token_range)) => {
                    if (regex_range.start, priority) < (token_range.start, self.token_priority) {
                        (kind, regex_range)
                    } else {
                        (Kind::Token, token_range)
                    }
                }
            };
            let end = range.end;
            let resume = visit(kind, range);
            // Always move forward, even past an empty match, so the loop ends.
            at = resume.max(end).max(at + 1);
        }
    }
}
