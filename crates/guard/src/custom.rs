//! Custom rules: the company's own regular expressions, searched together in one pass.
//!
//! Unlike the built-in patterns they keep full Unicode (a company may write `\w` or `é` and
//! expect it to work), and they are compiled with a size limit so that a pathological pattern
//! is refused when the policy is loaded instead of slowing every scan.

use std::ops::Range;

use regex_automata::Input;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

/// The largest compiled pattern accepted, in bytes of automaton.
const SIZE_LIMIT: usize = 2 * 1024 * 1024;

/// Compiles one custom pattern on its own, to check it; the message names what is wrong.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let regex = builder()
        .build(pattern)
        .map_err(|error| match error.syntax_error() {
            Some(syntax) => syntax.to_string(),
            None => error.to_string(),
        })?;
    if regex.is_match(Input::new("")) {
        return Err("the pattern matches empty text, so it would fire everywhere; make it require at least one character".to_owned());
    }
    Ok(regex)
}

/// Compiles all custom patterns into one regex; pattern `i` is custom rule `i`.
pub fn compile_all(patterns: &[&str]) -> Result<Regex, String> {
    builder()
        .build_many(patterns)
        .map_err(|error| error.to_string())
}

fn builder() -> meta::Builder {
    let mut builder = meta::Builder::new();
    builder
        .syntax(syntax::Config::new())
        .configure(meta::Config::new().nfa_size_limit(Some(SIZE_LIMIT)));
    builder
}

/// Every non-empty, leftmost match of the custom regex, with its pattern index.
pub fn matches(regex: &Regex, text: &str) -> Vec<(usize, Range<usize>)> {
    regex
        .find_iter(text)
        .filter(|found| !found.is_empty())
        .map(|found| (found.pattern().as_usize(), found.range()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_is_described() {
        let error = compile("ORD-[0-9{6}").err().unwrap_or_default();
        assert!(error.contains("unclosed"), "{error}");
    }

    #[test]
    fn a_pattern_that_matches_empty_text_is_refused() {
        assert!(compile("x*").is_err());
        assert!(compile("ORD-[0-9]{6}").is_ok());
    }
}
