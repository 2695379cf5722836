//! The candidate regex's forward search, stepped by hand so that it can skip prose: a
//! trigger-byte prefilter says where the next match may start, and the lazy DFA jumps there
//! whenever it is back in its start state.
//!
//! # Why no match is skipped
//!
//! Every candidate pattern (all but the token run, which is scanned apart) contains a
//! *trigger*: a digit, `@`, `.`, `:` or `-`, or one of the password keywords `pass`, `pwd`,
//! `pin`, `code` in any case. Before its first trigger a match can only have:
//!
//! - bytes of [`is_word_byte`] (`[A-Za-z_%+(]`): the letters of `https`, `www`, `hooks`, an
//!   email's local part, a bare domain's first label, an IBAN's or NINO's country letters, a
//!   phone number's `+(`;
//! - for a NINO, its two letters (a word of their own) and one space just before its first
//!   digit (`AB 12 34 56 C`);
//! - for a password phrase, up to three words before its keyword, each followed by spaces or
//!   tabs (`router  key safe  code: 1234`); its keyword is itself a trigger.
//!
//! So a match starting at `m` has its first trigger at some `t >= m`, and walking back from `t`
//! over word bytes, then (for a byte trigger right after a space) over a space and two letters,
//! or (for a keyword) over up to three blank runs each followed by word bytes, reaches `m` or
//! an earlier place: [`restart_point`] is never after `m`. When the DFA is in a start state with no match pending at `at`, every
//! thread it was following is dead, so going on is the same as a fresh search from `at`; if
//! `t` is the first trigger at or after `at`, no match starts in `at..restart_point(t)`, and a
//! fresh search from there finds what the one from `at` would have. That is the restart the
//! regex crate makes after a literal prefilter; only the prefilter differs.
//!
//! `patterns()` in `detectors/mod.rs` must keep this true; the tests below check, on the corpus
//! and on generated text, that every place a pattern matches is at or after the restart point
//! of its first trigger, and that the skipping search finds exactly the candidates that the
//! library's own search does.

use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
use regex_automata::{Anchored, HalfMatch, MatchError};

/// The leftmost-first match end of the forward DFA searching from `from`, as
/// `DFA::try_search_fwd` over `haystack[from..]` would report it, skipping text no match can
/// start in. An error means the lazy DFA gave up; the caller should search another way.
pub fn find_end(
    dfa: &DFA,
    cache: &mut Cache,
    haystack: &[u8],
    from: usize,
) -> Result<Option<HalfMatch>, MatchError> {
    let mut at = from;
    let mut state = start_at(dfa, cache, haystack, at)?;
    // The last match state seen and where its match ends. Its pattern is read only when the
    // search ends: inside a long match every byte reaches a match state, and reading the
    // pattern from the state's memory each time cost more than the step.
    let mut found: Option<(LazyStateID, usize)> = None;
    let clears = cache.clear_count();
    // `state` is the DFA's state after reading `haystack[from..at]`.
    loop {
        if state.is_tagged() {
            if state.is_start() {
                if found.is_none() {
                    let Some(trigger) = next_trigger(haystack, at) else {
                        return Ok(None);
                    };
                    let restart = restart_point(haystack, at, trigger);
                    if restart > at {
                        at = restart;
                        state = start_at(dfa, cache, haystack, at)?;
                    }
                }
            } else if state.is_match() {
                // Matches are reported one byte late: this one ended before the last byte read.
                found = Some((state, at - 1));
            } else if state.is_dead() {
                return half_match(dfa, cache, clears, found);
            } else {
                // Quit (no quit bytes are configured) or unknown (never kept): give up.
                return Err(MatchError::gave_up(at));
            }
        }
        let Some(&byte) = haystack.get(at) else {
            break;
        };
        state = step(dfa, cache, state, byte, at)?;
        at += 1;
        // Untagged states (neither start, match nor dead) are most of a run inside a trigger
        // region: step through them without the checks above.
        while !state.is_tagged() {
            let Some(&byte) = haystack.get(at) else {
                break;
            };
            let next = dfa.next_state_untagged(cache, state, byte);
            state = if next.is_unknown() {
                step(dfa, cache, state, byte, at)?
            } else {
                next
            };
            at += 1;
        }
    }
    let state = dfa
        .next_eoi_state(cache, state)
        .map_err(|_| MatchError::gave_up(at))?;
    if state.is_match() {
        found = Some((state, haystack.len()));
    }
    half_match(dfa, cache, clears, found)
}

/// The pattern and end of the last match seen. A state id is only good until the cache is
/// next cleared, which the 8 MiB cache makes rare: should it have happened, give up.
fn half_match(
    dfa: &DFA,
    cache: &Cache,
    clears: usize,
    found: Option<(LazyStateID, usize)>,
) -> Result<Option<HalfMatch>, MatchError> {
    let Some((state, end)) = found else {
        return Ok(None);
    };
    if cache.clear_count() != clears {
        return Err(MatchError::gave_up(end));
    }
    Ok(Some(HalfMatch::new(
        dfa.match_pattern(cache, state, 0),
        end,
    )))
}

/// A trigger: where it is, and what kind, which says how far before it a match may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub at: usize,
    pub kind: TriggerKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    /// A digit, `@`, `.`, `:`, `-` (or `/`).
    Byte,
    /// `pass`, `pwd`, `pin` or `code`, which a password phrase's words may come before.
    Keyword,
}

/// How many blank-separated words before its keyword a password phrase may start.
const WORDS_BEFORE_KEYWORD: usize = 3;

/// The first trigger at or after `from`.
///
/// It must be exactly the first: a place reported that is not a trigger could lie inside a
/// match's leading words and cut them off. (`/` is the one extra, and safe, since no match
/// has one before its first trigger.) So each place the fast scan offers is checked here.
pub fn next_trigger(haystack: &[u8], from: usize) -> Option<Trigger> {
    let mut at = from;
    loop {
        at = next_maybe_trigger(haystack, at)?;
        let kind = match haystack.get(at) {
            Some(b'-'..=b':' | b'@') => TriggerKind::Byte,
            Some(b'p' | b'P' | b'c' | b'C') if is_keyword_at(haystack, at) => TriggerKind::Keyword,
            _ => {
                at += 1;
                continue;
            }
        };
        return Some(Trigger { at, kind });
    }
}

/// The first byte at or after `from` for which [`may_trigger`] holds, eight bytes at a time
/// while there are eight left.
fn next_maybe_trigger(haystack: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(word) = haystack
        .get(at..at + 8)
        .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
        .map(u64::from_le_bytes)
    {
        let found = may_trigger_bytes(word);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = haystack.get(at..)?;
    rest.iter()
        .position(|&byte| may_trigger(byte))
        .map(|offset| at + offset)
}

/// For eight bytes, the top bit set in the first byte for which [`may_trigger`] holds, and
/// maybe in bytes above it (equality tests can set a bit wrongly, but only above a byte that
/// truly matched), so the lowest set bit is the first such byte.
fn may_trigger_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let ascii = !word & HIGH;
    // `-` to `:` (0x2d..=0x3a): with the top bits cleared no addition carries across bytes.
    let low7 = word & !HIGH;
    let from_dash = low7.wrapping_add(ONES * (0x80 - 0x2d));
    let past_colon = low7.wrapping_add(ONES * (0x80 - 0x3b));
    let in_range = from_dash & !past_colon & ascii;
    // `@`, and `p` or `c` in either case: a byte equal to one of them becomes zero.
    let lower = word | (ONES * 0x20);
    let equal = |value: u64| {
        let zeroed = word ^ (ONES * value);
        zeroed.wrapping_sub(ONES) & !zeroed & HIGH
    };
    let equal_lower = |value: u64| {
        let zeroed = lower ^ (ONES * value);
        zeroed.wrapping_sub(ONES) & !zeroed & HIGH
    };
    in_range | equal(u64::from(b'@')) | equal_lower(u64::from(b'p')) | equal_lower(u64::from(b'c'))
}

/// Whether `byte` is a trigger byte (a digit, `@`, `.`, `:`, `-`, or `/`, which sits among
/// them in ASCII and is a safe extra, see [`next_trigger`]) or may begin a keyword.
fn may_trigger(byte: u8) -> bool {
    matches!(byte, b'-'..=b':' | b'@' | b'p' | b'P' | b'c' | b'C')
}

/// Whether a password keyword (`pass`, `pwd`, `pin`, `code`, in any case) starts at `at`.
fn is_keyword_at(haystack: &[u8], at: usize) -> bool {
    let mut four = [0u8; 4];
    for (slot, &byte) in four.iter_mut().zip(haystack.get(at..).unwrap_or_default()) {
        *slot = byte;
    }
    // `| 0x20` lowercases ASCII letters, and makes a lowercase letter of nothing else.
    let lower = u32::from_le_bytes(four) | 0x2020_2020;
    let three = lower & 0x00ff_ffff;
    lower == u32::from_le_bytes(*b"pass")
        || lower == u32::from_le_bytes(*b"code")
        || three == u32::from_le_bytes(*b"pwd\0")
        || three == u32::from_le_bytes(*b"pin\0")
}

/// The earliest place a match whose first trigger is `trigger` may start, but not before
/// `floor`: back over word bytes, then for a byte trigger just after a space over that space
/// and a two-letter word (a NINO's), and for a keyword over up to three runs of blanks each followed
/// by word bytes.
pub fn restart_point(haystack: &[u8], floor: usize, trigger: Trigger) -> usize {
    let back_over = |mut at: usize, class: fn(u8) -> bool| {
        while at > floor
            && at
                .checked_sub(1)
                .and_then(|i| haystack.get(i))
                .is_some_and(|&b| class(b))
        {
            at -= 1;
        }
        at
    };
    let mut start = back_over(trigger.at.max(floor), is_word_byte);
    if trigger.kind == TriggerKind::Byte {
        let byte_before = |back: usize| {
            start
                .checked_sub(back)
                .and_then(|at| haystack.get(at))
                .copied()
        };
        let nino_letters = start == trigger.at
            && byte_before(1) == Some(b' ')
            && byte_before(2).is_some_and(|b| b.is_ascii_alphabetic())
            && byte_before(3).is_some_and(|b| b.is_ascii_alphabetic())
            // The NINO pattern starts with `\b`: its letters are a word of their own.
            && !byte_before(4).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        if nino_letters {
            start = start.saturating_sub(3).max(floor);
        }
        return start;
    }
    for _ in 0..WORDS_BEFORE_KEYWORD {
        let blanks = back_over(start, is_blank);
        let word = back_over(blanks, is_word_byte);
        if blanks == start || word == blanks {
            break;
        }
        start = word;
    }
    start
}

/// Bytes a match may have before its first trigger, other than blanks.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || matches!(byte, b'_' | b'%' | b'+' | b'(')
}

/// The blanks the password pattern allows between its words (`[ \t]+`).
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

/// The unanchored start state for a search from `at`, given the byte before it.
fn start_at(
    dfa: &DFA,
    cache: &mut Cache,
    haystack: &[u8],
    at: usize,
) -> Result<LazyStateID, MatchError> {
    let before = at.checked_sub(1).and_then(|i| haystack.get(i)).copied();
    let config = start::Config::new()
        .anchored(Anchored::No)
        .look_behind(before);
    dfa.start_state(cache, &config)
        .map_err(|_| MatchError::gave_up(at))
}

/// One transition, computing the next state if the cache does not have it yet.
fn step(
    dfa: &DFA,
    cache: &mut Cache,
    state: LazyStateID,
    byte: u8,
    at: usize,
) -> Result<LazyStateID, MatchError> {
    dfa.next_state(cache, state, byte)
        .map_err(|_| MatchError::gave_up(at))
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use proptest::prelude::*;
    use regex_automata::{Anchored, Input};

    use super::*;
    use crate::detectors::{Candidates, Kind};

    const POSTS: &str = include_str!("../../corpus/posts.jsonl");

    fn candidates() -> &'static Candidates {
        Candidates::shared().unwrap()
    }

    fn corpus_texts() -> Vec<String> {
        POSTS
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let post: serde_json::Value = serde_json::from_str(line).unwrap();
                post["text"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// The corpus posts one by one, and all of them joined as the benchmark scans them.
    fn corpus() -> Vec<String> {
        let mut texts = corpus_texts();
        texts.push(texts.join("\n\n"));
        texts
    }

    /// Every place a candidate pattern matches, anchored there, is at or after the restart
    /// point of the first trigger from there: the lemma the skipping rests on.
    fn check_no_match_start_is_skipped(text: &str) -> Result<(), TestCaseError> {
        let haystack = text.as_bytes();
        let candidates = candidates();
        let mut cache = candidates.regex.create_cache();
        for start in 0..haystack.len() {
            let anchored = Input::new(haystack).range(start..).anchored(Anchored::Yes);
            let Some(found) = candidates.regex.try_search(&mut cache, &anchored).unwrap() else {
                continue;
            };
            let trigger = next_trigger(haystack, start);
            prop_assert!(
                trigger.is_some_and(|trigger| restart_point(haystack, 0, trigger) <= start),
                "{:?} at {start} in {text:?}: trigger {trigger:?}",
                found.range()
            );
        }
        Ok(())
    }

    type Found = Vec<(Kind, Range<usize>)>;

    /// The candidates found with the prefiltered search and with the library's own search
    /// that reads every byte, from the start of the text.
    fn both_ways(text: &str) -> (Found, Found) {
        let candidates = candidates();
        let mut prefiltered = Vec::new();
        candidates.for_each(text, |kind, span| {
            prefiltered.push((kind, span.clone()));
            span.end
        });
        let mut full = Vec::new();
        candidates.for_each_by(
            text,
            |haystack, at| candidates.next_regex_match_unfiltered(haystack, at),
            |kind, span| {
                full.push((kind, span.clone()));
                span.end
            },
        );
        (prefiltered, full)
    }

    /// The two searches agree on the candidates, and on the next regex match from every place
    /// a search could start (validators resume scanning anywhere).
    fn check_same_as_full_search(text: &str) -> Result<(), TestCaseError> {
        let (prefiltered, full) = both_ways(text);
        prop_assert_eq!(prefiltered, full, "in {:?}", text);
        let candidates = candidates();
        let haystack = text.as_bytes();
        for at in 0..=haystack.len() {
            let skipping = candidates.next_regex_match(haystack, at);
            let reading = candidates.next_regex_match_unfiltered(haystack, at);
            prop_assert_eq!(skipping, reading, "from {} in {:?}", at, text);
        }
        Ok(())
    }

    #[test]
    fn no_match_in_the_corpus_starts_before_its_restart_point() {
        for text in corpus_texts() {
            check_no_match_start_is_skipped(&text).unwrap();
        }
    }

    #[test]
    fn the_prefiltered_search_finds_the_full_searchs_candidates_in_the_corpus() {
        let mut total = 0;
        for text in corpus() {
            check_same_as_full_search(&text).unwrap();
            total += both_ways(&text).0.len();
        }
        // The comparison means something only if there is much to find.
        assert!(total > 200, "{total}");
    }

    #[test]
    fn a_restart_point_reaches_back_over_the_words_a_match_may_start_with() {
        let text = b"say router \t key safe  code: 1234 now";
        let trigger = next_trigger(text, 0).unwrap();
        assert_eq!(trigger.at, text.iter().position(|&b| b == b'c').unwrap());
        // Back to "router", the first of the three words the phrase may start with.
        assert_eq!(restart_point(text, 0, trigger), 4);
        let nino = b"NI is AB 12 34 56 C";
        let trigger = next_trigger(nino, 0).unwrap();
        assert_eq!(restart_point(nino, 0, trigger), 6);
        let email = b"write to someone_long%name+tag@example.com";
        let trigger = next_trigger(email, 0).unwrap();
        // The whole mailbox.
        assert_eq!(restart_point(email, 0, trigger), 9);
        let phone = b"call 020 7946 0958";
        let trigger = next_trigger(phone, 0).unwrap();
        assert_eq!(restart_point(phone, 0, trigger), 5);
        assert_eq!(restart_point(email, 12, trigger), 12);
    }

    /// The first trigger, found one byte at a time with no fast path.
    fn first_trigger_slowly(haystack: &[u8], from: usize) -> Option<usize> {
        (from..haystack.len()).find(|&at| match haystack.get(at) {
            Some(b'-'..=b':' | b'@') => true,
            Some(b'p' | b'P' | b'c' | b'C') => is_keyword_at(haystack, at),
            _ => false,
        })
    }

    #[test]
    fn eight_bytes_at_a_time_finds_the_same_first_trigger_as_one_at_a_time() {
        let samples: [&[u8]; 9] = [
            b"abcdefgh ijklmnop",
            b"xyz@qrst",
            b"\xd0\xb0\xd0\xb0\xad\xba.x",
            b"PPPPpppp pass",
            b"\x7f\x00\x2c\x3b\x3f\x41\x60\x2d",
            b"hello /q",
            b"clap cop pqpq ppin xxxxxxxp in",
            b"a@A@b`cCcoDE",
            b"shopping code",
        ];
        for sample in samples {
            for from in 0..sample.len() {
                let fast = next_trigger(sample, from).map(|trigger| trigger.at);
                assert_eq!(
                    fast,
                    first_trigger_slowly(sample, from),
                    "{sample:?} from {from}"
                );
            }
        }
    }

    /// Text dense in what the patterns and the prefilter care about: triggers, keywords, the
    /// words a password phrase may start with, blanks, letters and non-ASCII look-alikes.
    fn trigger_rich_text() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            Just("password"),
            Just("PassCode"),
            Just("pwd"),
            Just("PIN"),
            Just("pin number"),
            Just("door"),
            Just("code"),
            Just("key safe"),
            Just("keybox"),
            Just("wi-fi"),
            Just("WiFi"),
            Just("router"),
            Just(" is "),
            Just(" "),
            Just("\t"),
            Just("  "),
            Just("\n"),
            Just("="),
            Just(":"),
            Just("-"),
            Just("."),
            Just("@"),
            Just("+"),
            Just("("),
            Just(")"),
            Just("/"),
            Just("#"),
            Just("_"),
            Just("%"),
            Just("AB"),
            Just("GB82 WEST"),
            Just("123"),
            Just("4111"),
            Just("07"),
            Just("https://"),
            Just("www."),
            Just("hooks.slack.com/services/"),
            Just("example"),
            Just(".com"),
            Just(".co.uk"),
            Just("-----BEGIN"),
            Just(" PRIVATE KEY-----"),
            Just("High Street"),
            Just("Bath"),
            Just("BA1 1AA"),
            Just("é"),
            Just("а"),
        ];
        // Whole password phrases, with the most words and blanks before the keyword.
        let phrase = "((wi-?fi|WIFI|door|router|alarm)[ \t]{1,3})?(key ?safe|Door|lockbox|keypad)[ \t]{1,3}(code|CODE)[ \t]*(:|=|-|is|is:)[ \t]*[a-z0-9]{1,6}";
        let part = prop_oneof![
            4 => fragment.prop_map(str::to_owned),
            1 => phrase,
            1 => "[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
            1 => "[a-zA-Z0-9 \\t.@:=/+()_%-]{0,8}",
            1 => "\\PC{0,4}",
        ];
        prop::collection::vec(part, 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn the_first_trigger_is_found_fast_as_it_is_slowly(text in trigger_rich_text(), from in 0..64usize) {
            let haystack = text.as_bytes();
            let fast = next_trigger(haystack, from).map(|trigger| trigger.at);
            prop_assert_eq!(fast, first_trigger_slowly(haystack, from));
        }

        #[test]
        fn no_match_in_generated_text_starts_before_its_restart_point(text in trigger_rich_text()) {
            check_no_match_start_is_skipped(&text)?;
        }

        #[test]
        fn the_prefiltered_search_finds_the_full_searchs_candidates_in_generated_text(
            text in trigger_rich_text()
        ) {
            check_same_as_full_search(&text)?;
        }

        #[test]
        fn the_prefiltered_search_finds_the_full_searchs_candidates_in_any_text(text in "\\PC{0,64}") {
            check_same_as_full_search(&text)?;
        }
    }
}
