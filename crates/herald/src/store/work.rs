//! A unit of work: one transaction in which a change and everything that must go with it (its
//! audit entry, its post history) commit together or not at all.
//!
//! [`Store::write`] opens one and hands back a [`Work`], which is a [`Store`] whose every call
//! runs in that transaction (reads see the work's own writes). [`Work::commit`] ends it;
//! dropping it without committing rolls everything back. On SQLite it holds this process's
//! write turn from start to end, as every write transaction does. A unit of work started
//! inside another joins it: its commit is the outer one's.

use std::sync::Arc;

use sqlx::{Database, Transaction};
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use super::{Backend, Store, StoreError};

/// The open transaction of a unit of work, shared by the [`Store`] handle that runs in it.
pub(super) struct Open<DB: Database>(Arc<Mutex<Transaction<'static, DB>>>);

impl<DB: Database> Open<DB> {
    pub(super) async fn lock(&self) -> MutexGuard<'_, Transaction<'static, DB>> {
        self.0.lock().await
    }
}

impl<DB: Database> Clone for Open<DB> {
    fn clone(&self) -> Self {
        Open(self.0.clone())
    }
}

impl<DB: Database> std::fmt::Debug for Open<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Open(transaction)")
    }
}

/// A change in progress. Use it as the [`Store`] for every call that belongs to the change,
/// then [`Work::commit`].
#[derive(Debug)]
pub struct Work {
    store: Store,
    _turn: Option<OwnedMutexGuard<()>>,
    /// Started inside another unit of work, whose commit this one leaves to it.
    joined: bool,
}

impl std::ops::Deref for Work {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Asked of a unit of work that only a whole store can do (migrate, open another unit).
pub(super) fn inside() -> StoreError {
    StoreError::Conflict("not possible inside a unit of work".to_owned())
}

impl Store {
    /// Starts a unit of work: the write turn (SQLite) and one transaction; or, called on a unit
    /// of work, joins it.
    pub async fn write(&self) -> Result<Work, StoreError> {
        let (backend, turn) = match &self.backend {
            Backend::Sqlite(pool, _) => {
                let turn = self.writes.clone().lock_owned().await;
                // IMMEDIATE: the write lock now, not at the first write, so a read before the
                // first write cannot be overtaken by another process's change.
                let transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
                (
                    Backend::SqliteWork(Open(Arc::new(Mutex::new(transaction)))),
                    Some(turn),
                )
            }
            Backend::Postgres(pool) => (
                Backend::PostgresWork(Open(Arc::new(Mutex::new(pool.begin().await?)))),
                None,
            ),
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => {
                return Ok(Work {
                    store: self.clone(),
                    _turn: None,
                    joined: true,
                });
            }
        };
        Ok(Work {
            store: Store {
                backend,
                writes: self.writes.clone(),
            },
            _turn: turn,
            joined: false,
        })
    }
}

impl Work {
    /// Commits everything the work did, at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        let Work {
            store,
            _turn,
            joined,
        } = self;
        if joined {
            return Ok(());
        }
        match store.backend {
            Backend::SqliteWork(Open(transaction)) => finish(transaction).await?.commit().await?,
            Backend::PostgresWork(Open(transaction)) => finish(transaction).await?.commit().await?,
            Backend::Sqlite(..) | Backend::Postgres(_) => {}
        }
        Ok(())
    }
}

/// The transaction, once no copy of the work's store is left to use it.
async fn finish<DB: Database>(
    transaction: Arc<Mutex<Transaction<'static, DB>>>,
) -> Result<Transaction<'static, DB>, StoreError> {
    Arc::try_unwrap(transaction)
        .map(Mutex::into_inner)
        .map_err(|_| {
            StoreError::Conflict(
                "a unit of work was committed while a copy of it was still in use".to_owned(),
            )
        })
}
