//! The audit log's rules: what an entry is, how entries are chained by hashes, and how a chain
//! and its signed checkpoints are verified. Pure: the store appends, `herald audit verify` reads.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical text,
//! so changing, deleting or reordering any entry breaks every hash after it. Checkpoints sign
//! (size, head hash) with an Ed25519 key kept outside the database, so rewriting the whole chain
//! from some point on is caught too, up to the last checkpoint.

use crate::domain::ids::UserId;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    System,
    Anonymous,
    /// Someone with shell access to the server, through the `herald` command.
    CommandLine,
}

/// An event to record. `details` is a JSON object; it must never hold a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    /// Dotted, past tense: `auth.login.succeeded`, `member.deactivated`.
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
}

/// An entry as stored: the event plus its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    /// The details exactly as hashed (JSON text).
    pub details: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// A signed statement that the chain had `size` entries ending in `head_hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub size: i64,
    pub head_hash: [u8; 32],
    pub signature: [u8; 64],
    pub at: Timestamp,
}

/// The first thing wrong with a chain, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(
        "audit entry {expected} is missing: the entries jump from {previous} to {found} (deleted or reordered)"
    )]
    Gap {
        previous: i64,
        expected: i64,
        found: i64,
    },
    #[error(
        "audit entry {seq} does not link to entry {previous}: an entry before it was changed, deleted or reordered"
    )]
    BrokenLink { seq: i64, previous: i64 },
    #[error("audit entry {seq} does not match its hash: it was changed")]
    Altered { seq: i64 },
    #[error(
        "checkpoint at size {size} has an invalid signature: it was forged or the signing key changed"
    )]
    BadSignature { size: i64 },
    #[error(
        "checkpoint at size {size} does not match the chain: entries up to {size} were rewritten"
    )]
    CheckpointMismatch { size: i64 },
    #[error(
        "checkpoint at size {size} is beyond the end of the log ({length} entries): entries were deleted from the end"
    )]
    Truncated { size: i64, length: i64 },
}

impl Actor {
    pub fn as_text(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::System => "system".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::CommandLine => "command line".to_owned(),
        }
    }
}

/// The canonical text of an entry: fixed field order, every text JSON-quoted so no field can
/// imitate a separator, and the details exactly as stored.
pub fn canonical(
    seq: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    target: Option<&str>,
    ip: Option<&str>,
    details: &str,
) -> String {
    let quote = |text: Option<&str>| serde_json::to_string(&text).unwrap_or_default();
    format!(
        "herald-audit-v1\n{seq}\n{}\n{}\n{}\n{}\n{}\n{details}",
        at.as_millisecond(),
        quote(Some(actor)),
        quote(Some(action)),
        quote(target),
        quote(ip),
    )
}

/// The hash of an entry, chained to the one before it.
pub fn chain_hash(prev_hash: &[u8; 32], canonical: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical.as_bytes());
    hasher.finalize().into()
}

/// What a checkpoint signs.
fn checkpoint_message(size: i64, head_hash: &[u8; 32]) -> Vec<u8> {
    let mut message = b"herald-audit-checkpoint-v1".to_vec();
    message.extend_from_slice(&size.to_be_bytes());
    message.extend_from_slice(head_hash);
    message
}

pub fn sign_checkpoint(
    key: &SigningKey,
    size: i64,
    head_hash: [u8; 32],
    at: Timestamp,
) -> Checkpoint {
    let signature = key.sign(&checkpoint_message(size, &head_hash)).to_bytes();
    Checkpoint {
        size,
        head_hash,
        signature,
        at,
    }
}

impl AuditEntry {
    fn recomputed_hash(&self) -> [u8; 32] {
        let text = canonical(
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            self.target.as_deref(),
            self.ip.as_deref(),
            &self.details,
        );
        chain_hash(&self.prev_hash, &text)
    }
}

/// Checks a chain incrementally, entry by entry in `seq` order, so a long log never has to be
/// held in memory.
#[derive(Debug)]
pub struct ChainVerifier {
    previous_seq: i64,
    previous_hash: [u8; 32],
    /// The hash after each checkpointed size, filled in as the walk passes it.
    checkpoints: Vec<(Checkpoint, Option<[u8; 32]>)>,
}

impl ChainVerifier {
    pub fn new(mut checkpoints: Vec<Checkpoint>) -> ChainVerifier {
        checkpoints.sort_by_key(|checkpoint| checkpoint.size);
        ChainVerifier {
            previous_seq: 0,
            previous_hash: GENESIS,
            checkpoints: checkpoints.into_iter().map(|c| (c, None)).collect(),
        }
    }

    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), ChainError> {
        let expected = self.previous_seq + 1;
        if entry.seq != expected {
            return Err(ChainError::Gap {
                previous: self.previous_seq,
                expected,
                found: entry.seq,
            });
        }
        if entry.prev_hash != self.previous_hash {
            return Err(ChainError::BrokenLink {
                seq: entry.seq,
                previous: self.previous_seq,
            });
        }
        if entry.recomputed_hash() != entry.hash {
            return Err(ChainError::Altered { seq: entry.seq });
        }
        self.previous_seq = entry.seq;
        self.previous_hash = entry.hash;
        for (checkpoint, seen) in &mut self.checkpoints {
            if checkpoint.size == entry.seq {
                *seen = Some(entry.hash);
            }
        }
        Ok(())
    }

    /// Finishes the walk: every checkpoint must be signed by `key` and match the chain.
    pub fn finish(self, key: &VerifyingKey) -> Result<VerifiedChain, ChainError> {
        for (checkpoint, seen) in &self.checkpoints {
            let signature = Signature::from_bytes(&checkpoint.signature);
            let message = checkpoint_message(checkpoint.size, &checkpoint.head_hash);
            if key.verify(&message, &signature).is_err() {
                return Err(ChainError::BadSignature {
                    size: checkpoint.size,
                });
            }
            if checkpoint.size > self.previous_seq {
                return Err(ChainError::Truncated {
                    size: checkpoint.size,
                    length: self.previous_seq,
                });
            }
            // A checkpoint of an empty log signs the genesis hash.
            let chain_hash = if checkpoint.size == 0 {
                Some(GENESIS)
            } else {
                *seen
            };
            if chain_hash != Some(checkpoint.head_hash) {
                return Err(ChainError::CheckpointMismatch {
                    size: checkpoint.size,
                });
            }
        }
        Ok(VerifiedChain {
            entries: self.previous_seq,
            head_hash: self.previous_hash,
            checkpoints: self.checkpoints.len(),
            last_checkpoint: self.checkpoints.last().map(|(c, _)| c.size),
        })
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    pub entries: i64,
    pub head_hash: [u8; 32],
    pub checkpoints: usize,
    pub last_checkpoint: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(length: i64) -> Vec<AuditEntry> {
        let mut previous = GENESIS;
        (1..=length)
            .map(|seq| {
                let at = Timestamp::from_second(1_800_000_000 + seq).expect("time");
                let details = format!("{{\"n\":{seq}}}");
                let text = canonical(
                    seq,
                    at,
                    "user:1",
                    "test.happened",
                    Some("t"),
                    None,
                    &details,
                );
                let hash = chain_hash(&previous, &text);
                let entry = AuditEntry {
                    seq,
                    at,
                    actor: "user:1".to_owned(),
                    action: "test.happened".to_owned(),
                    target: Some("t".to_owned()),
                    ip: None,
                    details,
                    prev_hash: previous,
                    hash,
                };
                previous = hash;
                entry
            })
            .collect()
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn verify(
        entries: &[AuditEntry],
        checkpoints: Vec<Checkpoint>,
    ) -> Result<VerifiedChain, ChainError> {
        let mut verifier = ChainVerifier::new(checkpoints);
        for entry in entries {
            verifier.push(entry)?;
        }
        verifier.finish(&key().verifying_key())
    }

    fn at() -> Timestamp {
        Timestamp::from_second(1_900_000_000).expect("time")
    }

    #[test]
    fn an_intact_chain_with_checkpoints_verifies() {
        let entries = chain(10);
        let checkpoints = vec![
            sign_checkpoint(&key(), 4, entries[3].hash, at()),
            sign_checkpoint(&key(), 10, entries[9].hash, at()),
        ];
        let verified = verify(&entries, checkpoints).expect("intact");
        assert_eq!(
            (
                verified.entries,
                verified.checkpoints,
                verified.last_checkpoint
            ),
            (10, 2, Some(10))
        );
    }

    #[test]
    fn a_changed_entry_is_named() {
        let mut entries = chain(5);
        entries[2].details = "{\"n\":99}".to_owned();
        assert_eq!(
            verify(&entries, vec![]),
            Err(ChainError::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut entries = chain(5);
        entries.remove(2);
        assert_eq!(
            verify(&entries, vec![]),
            Err(ChainError::Gap {
                previous: 2,
                expected: 3,
                found: 4
            })
        );
    }

    #[test]
    fn swapped_entries_are_caught() {
        let mut entries = chain(5);
        entries.swap(1, 2);
        let (a, b) = (entries[1].seq, entries[2].seq);
        entries[1].seq = b;
        entries[2].seq = a;
        assert!(matches!(
            verify(&entries, vec![]),
            Err(ChainError::BrokenLink { seq: 2, .. } | ChainError::Altered { .. })
        ));
    }

    #[test]
    fn a_rewritten_chain_is_caught_by_its_checkpoint() {
        let original = chain(6);
        let checkpoint = sign_checkpoint(&key(), 6, original[5].hash, at());
        // Someone rewrites entry 3 and recomputes every hash after it.
        let mut forged = chain(6);
        forged[2].details = "{\"n\":42}".to_owned();
        let mut previous = forged[1].hash;
        for entry in &mut forged[2..] {
            entry.prev_hash = previous;
            entry.hash = entry.recomputed_hash();
            previous = entry.hash;
        }
        assert_eq!(
            verify(&forged, vec![checkpoint]),
            Err(ChainError::CheckpointMismatch { size: 6 })
        );
    }

    #[test]
    fn deleting_the_tail_behind_a_checkpoint_is_caught() {
        let entries = chain(6);
        let checkpoint = sign_checkpoint(&key(), 6, entries[5].hash, at());
        assert_eq!(
            verify(&entries[..4], vec![checkpoint]),
            Err(ChainError::Truncated { size: 6, length: 4 })
        );
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_refused() {
        let entries = chain(3);
        let other = SigningKey::from_bytes(&[8; 32]);
        let forged = sign_checkpoint(&other, 3, entries[2].hash, at());
        assert_eq!(
            verify(&entries, vec![forged]),
            Err(ChainError::BadSignature { size: 3 })
        );
    }

    #[test]
    fn quoting_keeps_fields_from_imitating_each_other() {
        let a = canonical(1, at(), "a\n\"b\"", "c", None, None, "{}");
        let b = canonical(1, at(), "a", "\"b\"\nc", None, None, "{}");
        assert_ne!(a, b);
    }
}
