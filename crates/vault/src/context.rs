//! The context a secret is sealed for: which organisation, record and field it belongs to.

/// What a sealed secret belongs to. Its bytes are the associated data of both encryptions, so
/// a secret opens only with the context it was sealed for and cannot be moved to another
/// record or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    pub organisation: &'a str,
    pub record: &'a str,
    pub field: &'a str,
}

/// Names the encoding, so that these bytes never equal associated data of some other scheme.
/// Part of the sealed format: changing it would make every stored secret unopenable.
const DOMAIN: &[u8] = b"herald-vault-v1";

impl Context<'_> {
    /// The canonical bytes: each part preceded by its length as a big-endian `u64`, so that
    /// ("ab", "c") and ("a", "bc") never encode alike.
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let parts = [self.organisation, self.record, self.field];
        let length = DOMAIN.len() + parts.iter().map(|part| 8 + part.len()).sum::<usize>();
        let mut out = Vec::with_capacity(length);
        out.extend_from_slice(DOMAIN);
        for part in parts {
            // A `usize` always fits in a `u64` on the platforms Rust supports.
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(organisation: &'a str, record: &'a str, field: &'a str) -> Context<'a> {
        Context {
            organisation,
            record,
            field,
        }
    }

    #[test]
    fn moving_characters_between_parts_changes_the_bytes() {
        let cases = [
            (context("ab", "c", "d"), context("a", "bc", "d")),
            (context("o", "ab", "c"), context("o", "a", "bc")),
            (context("", "ab", ""), context("a", "b", "")),
            (context("", "", "x"), context("x", "", "")),
        ];
        for (one, other) in cases {
            assert_ne!(
                one.canonical_bytes(),
                other.canonical_bytes(),
                "{one:?} vs {other:?}"
            );
        }
    }

    #[test]
    fn the_same_context_always_gives_the_same_bytes() {
        let bytes = context("herald", "user:1", "totp").canonical_bytes();
        assert_eq!(bytes, context("herald", "user:1", "totp").canonical_bytes());
        assert!(bytes.starts_with(DOMAIN));
        assert_eq!(bytes.len(), DOMAIN.len() + 3 * 8 + "herald".len() + 6 + 4);
    }
}
