//! Errors: a policy file that cannot be read, a rule that has to be skipped, and input that
//! cannot be scanned. Each names what is wrong and where.

use std::fmt;

use thiserror::Error;

/// A 1-based line and column in a policy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` in `source`; columns count characters.
    pub fn of(source: &str, offset: usize) -> Location {
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let column = before
            .get(line_start..)
            .map_or(0, |text| text.chars().count())
            + 1;
        Location { line, column }
    }
}

/// The locations of many offsets in one source, found in one pass over it: the time is linear
/// in the source's length however many offsets there are (asking [`Location::of`] for each
/// would read the source from its start every time).
#[derive(Debug)]
pub struct Locator<'s> {
    source: &'s str,
    /// Where the last answer was, and what it was.
    offset: usize,
    location: Location,
}

impl<'s> Locator<'s> {
    pub fn new(source: &'s str) -> Locator<'s> {
        Locator {
            source,
            offset: 0,
            location: Location { line: 1, column: 1 },
        }
    }

    /// The location of `offset`. Cheapest when offsets come in increasing order (a scan's
    /// findings do); an offset before the last one starts again from the top.
    pub fn locate(&mut self, offset: usize) -> Location {
        let offset = offset.min(self.source.len());
        if offset < self.offset {
            *self = Locator::new(self.source);
        }
        let Some(between) = self.source.get(self.offset..offset) else {
            // Not on a character boundary: answer as Location::of does.
            return Location::of(self.source, offset);
        };
        for character in between.chars() {
            if character == '\n' {
                self.location.line += 1;
                self.location.column = 1;
            } else {
                self.location.column += 1;
            }
        }
        self.offset = offset;
        self.location
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a policy file was refused as a whole.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The TOML could not be read: a syntax error, an unknown key, or a value of the wrong type.
    #[error("{}{message}", location.map(|l| format!("{l}: ")).unwrap_or_default())]
    Toml {
        location: Option<Location>,
        message: String,
    },
    /// Some rules are invalid. The lenient readers skip these rules and keep the rest.
    #[error("{}", list(.0))]
    Rules(Vec<RuleProblem>),
}

fn list(problems: &[RuleProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A rule that cannot be used, and why. The rest of the policy still works without it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("rule `{rule}`{}: {problem}", location.map(|l| format!(" at {l}")).unwrap_or_default())]
pub struct RuleProblem {
    /// The rule's id as written, or `(no id)`.
    pub rule: String,
    /// Where in the policy file the problem is (the pattern, for a bad pattern).
    pub location: Option<Location>,
    pub problem: String,
}

/// Why bytes could not be scanned.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ScanError {
    #[error("the text is not valid UTF-8: the bytes at offset {offset} are not a character")]
    InvalidUtf8 { offset: usize },
    #[error("the text is {length} bytes long; the most that may be scanned at once is {max}")]
    TooLarge { length: usize, max: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters_from_one() {
        let source = "a = 1\nbé = 2\n";
        assert_eq!(Location::of(source, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of(source, 6), Location { line: 2, column: 1 });
        // "bé" is three bytes but two characters, so the space after it is column 3.
        assert_eq!(Location::of(source, 9), Location { line: 2, column: 3 });
    }

    #[test]
    fn the_locator_agrees_with_location_of_in_any_order() {
        let source = "a = 1\nbé = 2\n\nlast line, no newline";
        let offsets: Vec<usize> = (0..=source.len())
            .filter(|offset| source.is_char_boundary(*offset))
            .collect();
        let mut locator = Locator::new(source);
        for offset in offsets.iter().chain(offsets.iter().rev()).copied() {
            assert_eq!(
                locator.locate(offset),
                Location::of(source, offset),
                "offset {offset}"
            );
        }
        assert_eq!(locator.locate(4), Location::of(source, 4));
    }
}
