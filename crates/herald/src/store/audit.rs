//! Audit log queries. Appending happens in one transaction that first bumps `audit_head`, so
//! two appends can never chain onto the same previous entry.

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::audit::{AuditEntry, Checkpoint, NewAuditEntry};
use crate::domain::ids::AccountId;

#[derive(FromRow)]
struct EntryRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    details: String,
    prev_hash: String,
    hash: String,
}

#[derive(FromRow)]
struct CheckpointRow {
    size: i64,
    head_hash: String,
    signature: String,
    at: i64,
}

/// Filters for reading the log; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action_prefix: Option<String>,
    pub actor: Option<String>,
    pub after_seq: i64,
    pub limit: i64,
}

/// An entry ready to append after the head the caller read: its sequence number, hash and the
/// text forms the log stores.
pub(crate) struct ChainedEntry {
    pub seq: i64,
    pub actor: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ChainedEntry {
    /// `entry` as number `seq`, chained onto `prev_hash` (hex, from `audit_head`).
    pub(crate) fn next(
        entry: &NewAuditEntry,
        seq: i64,
        prev_hash: String,
        now: Timestamp,
    ) -> Result<ChainedEntry, StoreError> {
        let actor = entry.actor.as_text();
        let details = entry.details.to_string();
        let prev = decode_hash(&prev_hash, "audit head")?;
        let text = crate::domain::audit::canonical(
            seq,
            now,
            &actor,
            &entry.action,
            entry.target.as_deref(),
            entry.ip.as_deref(),
            &details,
        );
        let hash = hex::encode(crate::domain::audit::chain_hash(&prev, &text));
        Ok(ChainedEntry {
            seq,
            actor,
            details,
            prev_hash,
            hash,
        })
    }
}

/// Appends `$entry` to the chain inside the caller's open transaction (`&mut *tx`), so an
/// entry can be written in the same transaction as the change it records. Evaluates to the
/// entry's sequence number, or the error.
macro_rules! append_audit_in {
    ($tx:expr, $entry:expr, $now:expr) => {
        async {
            let now: jiff::Timestamp = $now;
            let (seq, prev_hash): (i64, String) = sqlx::query_as(
                "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
            )
            .fetch_one(&mut *$tx)
            .await?;
            let chained = $crate::store::audit::ChainedEntry::next($entry, seq, prev_hash, now)?;
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(seq)
            .bind(now.as_millisecond())
            .bind(&chained.actor)
            .bind(&$entry.action)
            .bind(&$entry.target)
            .bind(&$entry.ip)
            .bind(&chained.details)
            .bind(&chained.prev_hash)
            .bind(&chained.hash)
            .execute(&mut *$tx)
            .await?;
            sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                .bind(&chained.hash)
                .execute(&mut *$tx)
                .await?;
            Ok::<i64, $crate::store::StoreError>(seq)
        }
        .await
    };
}
pub(crate) use append_audit_in;

impl Store {
    /// Appends an entry to the chain and returns its sequence number.
    pub async fn append_audit(
        &self,
        entry: &NewAuditEntry,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let seq = append_audit_in!(&mut *tx, entry, now)?;
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// Entries in sequence order, filtered; pages with `after_seq`.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<EntryRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT seq, at, actor, action, target, ip, details, prev_hash, hash FROM audit_log
              WHERE seq > $1
                AND ($2 IS NULL OR action LIKE $2 || '%')
                AND ($3 IS NULL OR actor = $3)
              ORDER BY seq
              LIMIT $4")
            .bind(filter.after_seq)
            .bind(&filter.action_prefix)
            .bind(&filter.actor)
            .bind(filter.limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    /// Entries about one social account made from `from` to `to` (inclusive), oldest first, at
    /// most `limit`: those naming the account as their target, naming one of its posts, or
    /// carrying its id as `account` in their details. An incident's timeline shows them.
    pub async fn audit_entries_about(
        &self,
        account_id: AccountId,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let id = account_id.get();
        let rows: Vec<EntryRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT seq, at, actor, action, target, ip, details, prev_hash, hash FROM audit_log
              WHERE at >= $1 AND at <= $2
                AND (target = $3
                     OR target IN (SELECT 'post:' || CAST(id AS TEXT) FROM posts WHERE account_id = $4)
                     OR details LIKE $5 OR details LIKE $6)
              ORDER BY seq
              LIMIT $7")
            .bind(from.as_millisecond())
            .bind(to.as_millisecond())
            .bind(format!("account:{id}"))
            .bind(id)
            .bind(format!("%\"account\":{id},%"))
            .bind(format!("%\"account\":{id}}}%"))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    /// The newest entry's sequence number and hash (0 and the genesis hash when empty).
    pub async fn audit_head(&self) -> Result<(i64, [u8; 32]), StoreError> {
        let (seq, hash): (i64, String) = with_pool!(self, pool => sqlx::query_as(
            "SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await)?;
        Ok((seq, decode_hash(&hash, "audit head")?))
    }

    pub async fn add_audit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO audit_checkpoints (size, head_hash, signature, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (size) DO NOTHING")
            .bind(checkpoint.size)
            .bind(hex::encode(checkpoint.head_hash))
            .bind(hex::encode(checkpoint.signature))
            .bind(checkpoint.at.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Replaces a checkpoint's signature (when the signing key is rotated).
    pub async fn resign_audit_checkpoint(
        &self,
        size: i64,
        signature: [u8; 64],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE audit_checkpoints SET signature = $1 WHERE size = $2")
            .bind(hex::encode(signature))
            .bind(size)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// How many entries the newest checkpoint covers (`None` before the first): read every
    /// five minutes, so it does not read the whole list of checkpoints.
    pub async fn audit_checkpointed_size(&self) -> Result<Option<i64>, StoreError> {
        let size: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(pool)
            .await)?;
        Ok(size)
    }

    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows: Vec<CheckpointRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT size, head_hash, signature, at FROM audit_checkpoints ORDER BY size")
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| {
                let mut signature = [0u8; 64];
                hex::decode_to_slice(&row.signature, &mut signature).map_err(|_| {
                    StoreError::Corrupt(format!("checkpoint {} signature", row.size))
                })?;
                Ok(Checkpoint {
                    size: row.size,
                    head_hash: decode_hash(&row.head_hash, "checkpoint")?,
                    signature,
                    at: millis(row.at)?,
                })
            })
            .collect()
    }
}

pub(crate) fn decode_hash(text: &str, what: &str) -> Result<[u8; 32], StoreError> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash)
        .map_err(|_| StoreError::Corrupt(format!("{what} hash is not 64 hex digits")))?;
    Ok(hash)
}

impl TryFrom<EntryRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: EntryRow) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            seq: row.seq,
            at: millis(row.at)?,
            prev_hash: decode_hash(&row.prev_hash, "entry")?,
            hash: decode_hash(&row.hash, "entry")?,
            actor: row.actor,
            action: row.action,
            target: row.target,
            ip: row.ip,
            details: row.details,
        })
    }
}
