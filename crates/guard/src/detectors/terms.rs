//! Word-list rules (`term.confidential`, `tone.profanity`, `tone.personal`): one Aho-Corasick
//! automaton over the folded skeleton of the text, then checks on the original text.
//!
//! A skeleton match only counts when, in the original text, it starts and ends on word
//! boundaries (so "class" never contains "ass"), and when any space it crosses is either a
//! space in the term itself or sits between single letters of a spaced-out disguise ("p r o j
//! e c t"). Without the second check "pen island" would contain a word it does not.

use std::ops::Range;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use crate::detectors::Hit;
use crate::fold::{self, fold_term};
use crate::redact;
use crate::rules::Builtin;

/// The most characters a disguise may put between two letters of a term ("P  r", "proj--ect").
const MAX_GAP_CHARS: usize = 4;

/// One entry of a word list, folded.
#[derive(Debug)]
struct TermPattern {
    rule: Builtin,
    /// For each skeleton byte, whether the term had whitespace before it.
    spaced: Vec<bool>,
    /// A trailing `*`: the word may continue with more letters.
    stem: bool,
}

/// The compiled word lists.
#[derive(Debug)]
pub struct TermMatcher {
    /// An anchored DFA, stepped one skeleton byte at a time as the text is folded (so the
    /// skeleton is never stored), from every place a term may start; see `scan`.
    automaton: Option<DFA>,
    patterns: Vec<TermPattern>,
    /// See [`start_pairs`].
    start_pairs: Vec<u64>,
}

impl TermMatcher {
    /// Compiles every list; entries that fold to nothing (only punctuation) are skipped.
    pub fn new(lists: &[(Builtin, &[String])]) -> TermMatcher {
        let mut folded = Vec::new();
        let mut patterns = Vec::new();
        for &(rule, words) in lists {
            for word in words {
                let trimmed = word.trim();
                let (word, stem) = match trimmed.strip_suffix('*') {
                    Some(stemmed) => (stemmed, true),
                    None => (trimmed, false),
                };
                let (bytes, spaced) = fold_term(word);
                if bytes.is_empty() {
                    continue;
                }
                folded.push(bytes);
                patterns.push(TermPattern { rule, spaced, stem });
            }
        }
        let automaton = DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Anchored)
            // The automaton is stepped by hand, byte by byte, so a prefilter would never run.
            .prefilter(false)
            .build(&folded)
            .ok()
            .filter(|_| !folded.is_empty());
        let start_pairs = automaton.as_ref().map(start_pairs).unwrap_or_default();
        TermMatcher {
            automaton,
            patterns,
            start_pairs,
        }
    }

    /// Whether a run at ASCII byte `first`, followed by byte `second`, may match.
    #[inline]
    fn may_start(&self, first: u8, second: u8) -> bool {
        let bit = usize::from(first & 0x7f) * 256 + usize::from(second);
        self.start_pairs
            .get(bit / 64)
            .is_none_or(|word| word & (1 << (bit % 64)) != 0)
    }

    /// Adds a hit for every word-list match in `text`.
    ///
    /// A match only counts if, in the original text, the character before it is not a letter
    /// (see `confirm`). So rather than folding the whole text and running an unanchored
    /// automaton over every skeleton byte, this walks the raw text, and at each character that
    /// has no letter before it (in prose, a word start) folds forward from there only as far
    /// as an anchored run of the automaton lives, usually a character or two. That finds
    /// exactly the occurrences an unanchored search would that can pass `confirm`, folds a
    /// small part of the text, and keeps to the top of the terms' trie, which stays in the L1
    /// cache. Each run is bounded by the longest term, so a scan is linear in the text for a
    /// given policy.
    pub fn scan(&self, text: &str, hits: &mut Vec<Hit>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let Ok(start) = automaton.start_state(Anchored::Yes) else {
            return;
        };
        let first_new = hits.len();
        let mut runner = Runner {
            text,
            automaton,
            patterns: &self.patterns,
            start,
            token: 0..0,
            token_has_letter: false,
            origins: Vec::new(),
            expansion: Vec::new(),
        };
        let bytes = text.as_bytes();
        let mut after_letter = false;
        let mut at = 0;
        loop {
            // Eight ASCII bytes at a time: a run may start only just after a non-letter, and
            // in prose three bytes in four are letters after letters, so find the rest with a
            // few word operations rather than a branch per byte.
            if let Some(word) = bytes
                .get(at..at + 8)
                .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
                .map(u64::from_le_bytes)
                .filter(|word| word & HIGH_BITS == 0)
            {
                let letters = ascii_letters(word);
                let mut starts = (!letters & HIGH_BITS) << 8 | if after_letter { 0 } else { 0x80 };
                while starts != 0 {
                    let index = at + (starts.trailing_zeros() / 8) as usize;
                    starts &= starts - 1;
                    let byte = bytes.get(index).copied().unwrap_or(b' ');
                    let next = bytes.get(index + 1).copied().unwrap_or(b' ');
                    if self.may_start(byte, next) {
                        runner.run(index, hits);
                    }
                }
                after_letter = letters >> 63 != 0;
                at += 8;
                continue;
            }
            let Some(&byte) = bytes.get(at) else {
                break;
            };
            if byte.is_ascii() {
                let next = bytes.get(at + 1).copied().unwrap_or(b' ');
                if !after_letter && self.may_start(byte, next) {
                    runner.run(at, hits);
                }
                after_letter = byte.is_ascii_alphabetic();
                at += 1;
                continue;
            }
            let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                // Not a character boundary: cannot happen when stepping by characters.
                at += 1;
                continue;
            };
            if !after_letter {
                runner.run(at, hits);
            }
            after_letter = c.is_alphabetic();
            at += c.len_utf8();
        }
        keep_longest(hits, first_new);
    }
}

/// The table behind [`TermMatcher::scan`]'s choice of where to start a run: a bit per ASCII
/// byte `first` and following byte `second` (128 × 256), set when a run at `first` so followed
/// may match. Clear when `first` never folds to anything, or when its automaton path dies by
/// the second skeleton byte in both readings of the token (with and without leetspeak; two
/// adjacent bytes are in the same token, so they share the reading). Set whenever `second` is
/// not one that folds (whitespace, punctuation, non-ASCII), since the next skeleton byte is then
/// further on. Most words fail here, before any run.
fn start_pairs(automaton: &DFA) -> Vec<u64> {
    const WORDS: usize = 128 * 256 / 64;
    let mut bits = vec![0u64; WORDS];
    let Ok(start) = automaton.start_state(Anchored::Yes) else {
        return vec![u64::MAX; WORDS];
    };
    for first in 0u8..128 {
        for second in 0u8..=255 {
            let may_match = [false, true].into_iter().any(|leet| {
                let folded = fold::fold_ascii_byte(first, leet);
                if folded == 0 || !fold::may_fold(first) {
                    return false;
                }
                let state = automaton.next_state(Anchored::Yes, start, folded);
                if automaton.is_dead(state) {
                    return false;
                }
                if automaton.is_match(state) || !second.is_ascii() || !fold::may_fold(second) {
                    return true;
                }
                let folded = fold::fold_ascii_byte(second, leet);
                if folded == 0 {
                    return true;
                }
                !automaton.is_dead(automaton.next_state(Anchored::Yes, state, folded))
            });
            if may_match {
                let bit = usize::from(first) * 256 + usize::from(second);
                if let Some(word) = bits.get_mut(bit / 64) {
                    *word |= 1 << (bit % 64);
                }
            }
        }
    }
    bits
}

/// The top bit of each byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// For eight ASCII bytes, the top bit of each byte that is a letter: `| 0x20` lowercases, then
/// two additions set the top bit of bytes at or above `a` and at or above `{` (no carries cross
/// bytes, since every byte is below 0x80).
fn ascii_letters(word: u64) -> u64 {
    let lower = word | 0x2020_2020_2020_2020;
    let from_a = lower.wrapping_add(0x1f1f_1f1f_1f1f_1f1f);
    let past_z = lower.wrapping_add(0x0505_0505_0505_0505);
    from_a & !past_z & HIGH_BITS
}

/// One scan's state for the anchored runs.
struct Runner<'a> {
    text: &'a str,
    automaton: &'a DFA,
    patterns: &'a [TermPattern],
    /// The anchored start state.
    start: StateID,
    /// The whitespace-delimited token last asked about, and whether it has a letter, which
    /// decides whether its digits and symbols read as leetspeak.
    token: Range<usize>,
    token_has_letter: bool,
    /// The original offset of each skeleton byte of the current run.
    origins: Vec<usize>,
    /// The skeleton bytes of one non-ASCII character.
    expansion: Vec<u8>,
}

impl Runner<'_> {
    /// Folds forward from the character at `from`, stepping the anchored automaton, and adds
    /// a hit for each confirmed match, until the automaton dies or the text ends.
    fn run(&mut self, from: usize, hits: &mut Vec<Hit>) {
        let automaton = self.automaton;
        let bytes = self.text.as_bytes();
        let mut state = self.start;
        self.origins.clear();
        let mut at = from;
        while let Some(&byte) = bytes.get(at) {
            if at != from && self.origins.is_empty() {
                // The first character folded to nothing ("$" without a letter, "£"): a run
                // starts only on a skeleton byte of its own character.
                return;
            }
            if byte.is_ascii() {
                if byte.is_ascii_whitespace() {
                    at += 1;
                    continue;
                }
                let folded = if fold::is_leet(byte) {
                    fold::fold_ascii_byte(byte, self.has_letter(at))
                } else {
                    fold::fold_ascii_byte(byte, false)
                };
                if folded != 0 {
                    state = automaton.next_state(Anchored::Yes, state, folded);
                    if automaton.is_special(state) {
                        if automaton.is_dead(state) {
                            return;
                        }
                        self.origins.push(at);
                        if automaton.is_match(state) {
                            self.confirm_matches(state, false, hits);
                        }
                    } else {
                        self.origins.push(at);
                    }
                }
                at += 1;
                continue;
            }
            let Some(c) = self.text.get(at..).and_then(|rest| rest.chars().next()) else {
                return;
            };
            if c.is_whitespace() {
                at += c.len_utf8();
                continue;
            }
            let leet = self.has_letter(at);
            let mut expansion = std::mem::take(&mut self.expansion);
            expansion.clear();
            fold::fold_char(c, leet, &mut expansion);
            let count = expansion.len();
            for (index, &folded) in expansion.iter().enumerate() {
                state = automaton.next_state(Anchored::Yes, state, folded);
                if automaton.is_dead(state) {
                    self.expansion = expansion;
                    return;
                }
                self.origins.push(at);
                if automaton.is_match(state) {
                    // A match ending inside the character's expansion ("ß" → "s|s") is told
                    // apart by `confirm`.
                    self.confirm_matches(state, index + 1 < count, hits);
                }
            }
            self.expansion = expansion;
            at += c.len_utf8();
        }
    }

    /// Confirms the matches of `state` that start where the run did (a state also holds the
    /// terms that are suffixes of its own, which other runs find). `more` says whether the
    /// last character has more skeleton bytes after the match.
    #[cold]
    fn confirm_matches(&self, state: StateID, more: bool, hits: &mut Vec<Hit>) {
        let length = self.origins.len();
        let last = self.origins.last().copied();
        for i in 0..self.automaton.match_len(state) {
            let id = self.automaton.match_pattern(state, i);
            if self.automaton.pattern_len(id) != length {
                continue;
            }
            let Some(pattern) = self.patterns.get(id.as_usize()) else {
                continue;
            };
            let origin = |index: usize| {
                if index == length {
                    // The next skeleton byte's origin matters only in being this character.
                    return if more { last } else { None };
                }
                self.origins.get(index).copied()
            };
            let Some(span) = confirm(self.text, origin, 0..length, pattern) else {
                continue;
            };
            let excerpt = redact::words(self.text.get(span.clone()).unwrap_or(""));
            hits.push(Hit::new(pattern.rule, span, excerpt));
        }
    }

    /// Whether the token (whitespace-delimited, as the fold reads tokens) around `at` has a
    /// letter; remembered for the last token asked about.
    fn has_letter(&mut self, at: usize) -> bool {
        if self.token.contains(&at) {
            return self.token_has_letter;
        }
        let text = self.text;
        let before = text.get(..at).unwrap_or("");
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| fold::is_token_space(c))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let after = text.get(at..).unwrap_or("");
        let end = at
            + after
                .char_indices()
                .find(|&(_, c)| fold::is_token_space(c))
                .map_or(after.len(), |(index, _)| index);
        self.token = start..end;
        self.token_has_letter = text
            .get(start..end)
            .is_some_and(|token| token.chars().any(char::is_alphabetic));
        self.token_has_letter
    }
}

/// Checks a skeleton match against the original text and returns its span there.
fn confirm(
    text: &str,
    origin: impl Fn(usize) -> Option<usize>,
    range: Range<usize>,
    pattern: &TermPattern,
) -> Option<Range<usize>> {
    let first = origin(range.start)?;
    let last = origin(range.end.checked_sub(1)?)?;
    // A match that begins or ends inside one character's expansion ("ß" → "ss") is not a word.
    if range.start > 0 && origin(range.start - 1) == Some(first) {
        return None;
    }
    if !pattern.stem && origin(range.end) == Some(last) {
        return None;
    }
    if previous_char(text, first).is_some_and(char::is_alphabetic) {
        return None;
    }
    let mut end = char_end(text, last);
    if pattern.stem {
        end = extend_over_letters(text, end);
    }
    end = extend_over_marks(text, end);
    if next_char(text, end).is_some_and(char::is_alphabetic) {
        return None;
    }
    let origins = range.map(origin);
    gaps_are_acceptable(text, origins, &pattern.spaced).then_some(first..end)
}

/// Whether the gaps a match crosses are ones a term or a disguise would have.
fn gaps_are_acceptable(
    text: &str,
    origins: impl Iterator<Item = Option<usize>>,
    spaced: &[bool],
) -> bool {
    // The match splits into pieces at whitespace. An unexpected space (one the term does not
    // have) is fine only between single letters (or pairs) of a spaced disguise, so both the
    // piece before and the piece after it must be at most two long.
    let mut piece_length = 0usize;
    let mut after_unexpected = false;
    let mut previous: Option<usize> = None;
    for (index, origin) in origins.enumerate() {
        let Some(origin) = origin else {
            return false;
        };
        let Some(previous_origin) = previous.replace(origin) else {
            piece_length = 1;
            continue;
        };
        let gap_start = char_end(text, previous_origin).min(origin);
        let gap = text.get(gap_start..origin).unwrap_or("");
        let counted = gap.chars().filter(|c| !is_mark(*c)).count();
        if counted > MAX_GAP_CHARS || gap.contains('\n') && counted > 1 {
            return false;
        }
        if gap.chars().any(char::is_whitespace) {
            let unexpected = !spaced.get(index).copied().unwrap_or(false);
            if (after_unexpected || unexpected) && piece_length > 2 {
                return false;
            }
            after_unexpected = unexpected;
            piece_length = 1;
        } else {
            piece_length += 1;
        }
    }
    !(after_unexpected && piece_length > 2)
}

/// Removes, among hits from `first_new` on, those of the same rule that overlap a longer one.
fn keep_longest(hits: &mut Vec<Hit>, first_new: usize) {
    let mut new = hits.split_off(first_new);
    new.sort_by(|a, b| {
        (a.span.start, std::cmp::Reverse(a.span.end))
            .cmp(&(b.span.start, std::cmp::Reverse(b.span.end)))
    });
    let mut kept: Vec<Hit> = Vec::with_capacity(new.len());
    for hit in new {
        let overlaps = kept.iter().rev().take(8).any(|other| {
            other.rule == hit.rule
                && other.span.start < hit.span.end
                && hit.span.start < other.span.end
        });
        if !overlaps {
            kept.push(hit);
        }
    }
    hits.extend(kept);
}

fn is_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

fn char_end(text: &str, start: usize) -> usize {
    text.get(start..)
        .and_then(|rest| rest.chars().next())
        .map_or(start, |c| start + c.len_utf8())
}

fn previous_char(text: &str, offset: usize) -> Option<char> {
    text.get(..offset)?.chars().next_back()
}

fn next_char(text: &str, offset: usize) -> Option<char> {
    text.get(offset..)?.chars().next()
}

fn extend_over_letters(text: &str, mut end: usize) -> usize {
    while let Some(c) = next_char(text, end).filter(|c| c.is_alphabetic() || is_mark(*c)) {
        end += c.len_utf8();
    }
    end
}

fn extend_over_marks(text: &str, mut end: usize) -> usize {
    while let Some(c) = next_char(text, end).filter(|c| is_mark(*c)) {
        end += c.len_utf8();
    }
    end
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    use super::*;
    use crate::detectors::tone::{DEFAULT_PROFANITY, PERSONAL_PHRASES};
    use crate::fold::Skeleton;

    fn lists() -> Vec<(Builtin, Vec<String>)> {
        let owned = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        vec![
            (
                Builtin::Confidential,
                owned(&[
                    "Project Falcon",
                    "Acme Corp",
                    "Straße",
                    "x",
                    "C++",
                    "東京",
                    "ab c",
                ]),
            ),
            (Builtin::Profanity, owned(DEFAULT_PROFANITY)),
            (Builtin::Personal, owned(PERSONAL_PHRASES)),
        ]
    }

    fn matcher() -> &'static TermMatcher {
        static MATCHER: LazyLock<TermMatcher> = LazyLock::new(|| {
            let lists = lists();
            let borrowed: Vec<(Builtin, &[String])> = lists
                .iter()
                .map(|(rule, words)| (*rule, words.as_slice()))
                .collect();
            TermMatcher::new(&borrowed)
        });
        &MATCHER
    }

    /// The scan as it was before it became lazy: the whole text folded, then an unanchored
    /// automaton over every skeleton byte. The lazy scan must find exactly the same.
    fn reference_scan(matcher: &TermMatcher, text: &str) -> Vec<Hit> {
        static AUTOMATON: LazyLock<AhoCorasick> = LazyLock::new(|| {
            let folded: Vec<Vec<u8>> = lists()
                .iter()
                .flat_map(|(_, words)| words.iter())
                .map(|word| fold_term(word.trim().trim_end_matches('*')).0)
                .filter(|bytes| !bytes.is_empty())
                .collect();
            AhoCorasick::new(&folded).unwrap()
        });
        let automaton = &*AUTOMATON;
        let mut skeleton = Skeleton::default();
        skeleton.fold_into(text);
        let mut hits = Vec::new();
        for found in automaton.find_overlapping_iter(skeleton.bytes.as_slice()) {
            let pattern = &matcher.patterns[found.pattern().as_usize()];
            let origin = |index: usize| skeleton.origins.get(index).copied();
            if let Some(span) = confirm(text, origin, found.range(), pattern) {
                let excerpt = redact::words(&text[span.clone()]);
                hits.push(Hit::new(pattern.rule, span, excerpt));
            }
        }
        keep_longest(&mut hits, 0);
        hits
    }

    fn lazy_scan(matcher: &TermMatcher, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        matcher.scan(text, &mut hits);
        hits
    }

    #[test]
    fn the_lazy_scan_finds_what_folding_the_whole_text_finds() {
        let matcher = matcher();
        for text in [
            "P r o j e c t  F-a-l-c-o-n and PR0J3CT F4LC0N",
            "Prоjéct Fаlcon, ｐｒｏｊｅｃｔ falcon",
            "class pen island a55 $hit sh1t fucking STRASSE Straße strasse",
            "x-ray x 1x x1 C++ c ++ 東京 ab c abc",
            "£455 on 2026-11-23, 10am, I'm so hungover!!",
            "ǅ ﬁ ﬀ Ⅻ ① ² İ \u{a0}x\u{2003}ab\u{a0}c",
        ] {
            assert_eq!(
                lazy_scan(matcher, text),
                reference_scan(matcher, text),
                "{text}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_lazy_scan_agrees_on_disguised_text(
            text in "([ \t\n\u{a0}.,!|@$+0-9-]|[a-zA-Z]|ß|é|о|а|і|ﬁ|東|x|ab c|shit|my ex|project|falcon|c\\+\\+){0,40}",
        ) {
            let matcher = matcher();
            prop_assert_eq!(lazy_scan(matcher, &text), reference_scan(matcher, &text));
        }
    }
}
