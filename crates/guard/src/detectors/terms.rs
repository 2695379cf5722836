//! Word-list rules (`term.confidential`, `tone.profanity`, `tone.personal`): one Aho-Corasick
//! automaton over the folded skeleton of the text, then checks on the original text.
//!
//! A skeleton match only counts when, in the original text, it starts and ends on word
//! boundaries (so "class" never contains "ass"), and when any space it crosses is either a
//! space in the term itself or sits between single letters of a spaced-out disguise ("p r o j
//! e c t"). Without the second check "pen island" would contain a word it does not.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::detectors::Hit;
use crate::fold::{Skeleton, fold_term};
use crate::redact;
use crate::rules::Builtin;

/// How much text is folded at a time: large enough that windows are rare in posts, small
/// enough that the skeleton stays in cache and a 10 MB input never needs 50 MB of offsets.
const WINDOW: usize = 64 * 1024;
/// How far a window reaches past its end so that a term straddling the boundary is still seen
/// whole; longer than any plausible disguised term.
const OVERLAP: usize = 4 * 1024;
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
    automaton: Option<AhoCorasick>,
    patterns: Vec<TermPattern>,
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
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&folded)
            .ok()
            .filter(|_| !folded.is_empty());
        TermMatcher {
            automaton,
            patterns,
        }
    }

    /// Adds a hit for every word-list match in `text`.
    pub fn scan(&self, text: &str, hits: &mut Vec<Hit>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let first_new = hits.len();
        let mut skeleton = Skeleton::default();
        let mut start = 0;
        while start < text.len() {
            let end = window_end(text, start, WINDOW);
            let reach = window_end(text, end, OVERLAP);
            let window = text.get(start..reach).unwrap_or("");
            skeleton.fold_into(window, start);
            for found in automaton.find_overlapping_iter(skeleton.bytes.as_slice()) {
                let Some(pattern) = self.patterns.get(found.pattern().as_usize()) else {
                    continue;
                };
                let Some(span) = confirm(text, &skeleton, found.range(), pattern) else {
                    continue;
                };
                // Matches that start in the overlap belong to the next window.
                if span.start >= end {
                    continue;
                }
                let excerpt = redact::words(text.get(span.clone()).unwrap_or(""));
                hits.push(Hit::new(pattern.rule, span, excerpt));
            }
            start = end;
        }
        keep_longest(hits, first_new);
    }
}

/// The byte offset at most `length` after `start`, moved back to just after a whitespace
/// character (so a window never splits a word) or at least to a character boundary.
fn window_end(text: &str, start: usize, length: usize) -> usize {
    let limit = start.saturating_add(length);
    if limit >= text.len() {
        return text.len();
    }
    let mut end = limit;
    while end > start && !text.is_char_boundary(end) {
        end -= 1;
    }
    let searched = text.get(start..end).unwrap_or("");
    let last_space = searched
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace());
    if let Some((space, c)) = last_space.filter(|&(space, _)| space > 0) {
        return start + space + c.len_utf8();
    }
    if end == start {
        // One enormous character-free stretch cannot happen in valid UTF-8, but never loop.
        return text.len();
    }
    end
}

/// Checks a skeleton match against the original text and returns its span there.
fn confirm(
    text: &str,
    skeleton: &Skeleton,
    range: Range<usize>,
    pattern: &TermPattern,
) -> Option<Range<usize>> {
    let first = skeleton.origin(range.start)?;
    let last = skeleton.origin(range.end.checked_sub(1)?)?;
    // A match that begins or ends inside one character's expansion ("ß" → "ss") is not a word.
    if range.start > 0 && skeleton.origin(range.start - 1) == Some(first) {
        return None;
    }
    if !pattern.stem && skeleton.origin(range.end) == Some(last) {
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
    let origins = range.map(|index| skeleton.origin(index));
    gaps_are_acceptable(text, origins, &pattern.spaced).then_some(first..end)
}

/// Whether the gaps a match crosses are ones a term or a disguise would have.
fn gaps_are_acceptable(
    text: &str,
    origins: impl Iterator<Item = Option<usize>>,
    spaced: &[bool],
) -> bool {
    let mut piece_lengths = Vec::new();
    let mut unexpected_space_after_piece = Vec::new();
    let mut piece_length = 0usize;
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
            piece_lengths.push(piece_length);
            let expected = spaced.get(index).copied().unwrap_or(false);
            unexpected_space_after_piece.push(!expected);
            piece_length = 1;
        } else {
            piece_length += 1;
        }
    }
    piece_lengths.push(piece_length);
    // An unexpected space is fine only between single letters (or pairs) of a spaced disguise.
    unexpected_space_after_piece
        .iter()
        .enumerate()
        .filter(|(_, unexpected)| **unexpected)
        .all(|(index, _)| {
            piece_lengths.get(index).is_some_and(|&len| len <= 2)
                && piece_lengths.get(index + 1).is_some_and(|&len| len <= 2)
        })
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
