//! Social accounts, their gatekeepers and the grants that let other members use them.

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;
use sqlx::FromRow;

use super::people::conflict;
use super::{Store, StoreError, millis, with_pool};
use crate::domain::accounts::{AccountLevel, Network};
use crate::domain::schedule::Slot;

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub network: Network,
    pub handle: String,
    pub display_name: String,
    pub avatar_colour: String,
    pub gatekeeper_id: UserId,
    pub confirm_before_publish: bool,
    pub created_at: Timestamp,
    /// IANA name; queue slots are local times here.
    pub time_zone: String,
    /// `not_connected`, `connected` or `reconnect_needed`.
    pub connection: String,
    /// Who the connection acts as on the network (its handle), once connected.
    pub connected_as: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub network: Network,
    pub handle: &'a str,
    pub display_name: &'a str,
    pub avatar_colour: &'a str,
    pub gatekeeper_id: UserId,
    pub confirm_before_publish: bool,
}

#[derive(FromRow)]
struct AccountRow {
    id: AccountId,
    network: String,
    handle: String,
    display_name: String,
    avatar_colour: String,
    gatekeeper_id: UserId,
    confirm_before_publish: bool,
    created_at: i64,
    time_zone: String,
    connection: String,
    connected_as: Option<String>,
}

const ACCOUNT_COLUMNS: &str = "id, network, handle, display_name, avatar_colour, gatekeeper_id, confirm_before_publish, created_at, time_zone, connection, connected_as";

impl Store {
    pub async fn create_account(
        &self,
        account: &NewAccount<'_>,
        now: Timestamp,
    ) -> Result<AccountId, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO social_accounts (network, handle, display_name, avatar_colour, gatekeeper_id, confirm_before_publish, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(account.network.as_str())
            .bind(account.handle)
            .bind(account.display_name)
            .bind(account.avatar_colour)
            .bind(account.gatekeeper_id)
            .bind(account.confirm_before_publish)
            .bind(now.as_millisecond())
            .fetch_one(pool)
            .await
            .map_err(|error| conflict(error, "this account is already in Herald")))?)
    }

    pub async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        let query = format!("SELECT {ACCOUNT_COLUMNS} FROM social_accounts WHERE id = $1");
        let row: Option<AccountRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(AccountRecord::try_from).transpose()
    }

    pub async fn all_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let query =
            format!("SELECT {ACCOUNT_COLUMNS} FROM social_accounts ORDER BY display_name, id");
        let rows: Vec<AccountRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(AccountRecord::try_from).collect()
    }

    /// The level a member holds on an account through a grant (the gatekeeper holds none).
    pub async fn grant(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<Option<AccountLevel>, StoreError> {
        let level: Option<String> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT level FROM account_grants WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)?;
        level.map(|level| parse_level(&level)).transpose()
    }

    /// Every grant on an account, as (member id, level).
    pub async fn grants(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<(UserId, AccountLevel)>, StoreError> {
        let rows: Vec<(UserId, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, level FROM account_grants WHERE account_id = $1 ORDER BY user_id")
            .bind(account_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user, level)| Ok((user, parse_level(&level)?)))
            .collect()
    }

    /// Every grant a member holds, as (account id, level).
    pub async fn grants_of(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(AccountId, AccountLevel)>, StoreError> {
        let rows: Vec<(AccountId, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT account_id, level FROM account_grants WHERE user_id = $1 ORDER BY account_id")
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(account, level)| Ok((account, parse_level(&level)?)))
            .collect()
    }

    pub async fn set_grant(
        &self,
        account_id: AccountId,
        user_id: UserId,
        level: AccountLevel,
        granted_by: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO account_grants (account_id, user_id, level, granted_by, granted_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account_id, user_id) DO UPDATE SET level = $3, granted_by = $4, granted_at = $5")
            .bind(account_id)
            .bind(user_id)
            .bind(level.as_str())
            .bind(granted_by)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Removes a grant; false if there was none.
    pub async fn revoke_grant(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => sqlx::query(
            "DELETE FROM account_grants WHERE account_id = $1 AND user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(removed == 1)
    }

    /// Names a new gatekeeper. Any grant they held on the account is dropped: being the
    /// gatekeeper includes everything a grant could give.
    pub async fn set_gatekeeper(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE social_accounts SET gatekeeper_id = $1 WHERE id = $2")
                .bind(user_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM account_grants WHERE account_id = $1 AND user_id = $2")
                .bind(account_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

impl Store {
    /// Records whether Herald can publish to the account, and as whom.
    pub async fn set_connection(
        &self,
        account_id: AccountId,
        connection: &str,
        connected_as: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE social_accounts SET connection = $1, connected_as = COALESCE($2, connected_as) WHERE id = $3")
            .bind(connection)
            .bind(connected_as)
            .bind(account_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// An account's weekly queue slots, by weekday and time.
    pub async fn queue_slots(&self, account_id: AccountId) -> Result<Vec<Slot>, StoreError> {
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT weekday, minute FROM queue_slots WHERE account_id = $1 ORDER BY weekday, minute")
            .bind(account_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(weekday, minute)| {
                Ok(Slot {
                    weekday: i8::try_from(weekday)
                        .map_err(|_| StoreError::Corrupt(format!("weekday {weekday}")))?,
                    minute: i16::try_from(minute)
                        .map_err(|_| StoreError::Corrupt(format!("minute {minute}")))?,
                })
            })
            .collect()
    }

    /// Replaces an account's time zone and queue slots in one transaction.
    pub async fn set_queue(
        &self,
        account_id: AccountId,
        time_zone: &str,
        slots: &[Slot],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE social_accounts SET time_zone = $1 WHERE id = $2")
                .bind(time_zone)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM queue_slots WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            for slot in slots {
                sqlx::query(
                    "INSERT INTO queue_slots (account_id, weekday, minute) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING")
                    .bind(account_id)
                    .bind(i64::from(slot.weekday))
                    .bind(i64::from(slot.minute))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

fn parse_level(text: &str) -> Result<AccountLevel, StoreError> {
    AccountLevel::parse_grant(text)
        .map_err(|_| StoreError::Corrupt(format!("account level {text:?}")))
}

impl TryFrom<AccountRow> for AccountRecord {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<AccountRecord, StoreError> {
        Ok(AccountRecord {
            network: Network::parse(&row.network)
                .map_err(|_| StoreError::Corrupt(format!("network {:?}", row.network)))?,
            created_at: millis(row.created_at)?,
            id: row.id,
            handle: row.handle,
            display_name: row.display_name,
            avatar_colour: row.avatar_colour,
            gatekeeper_id: row.gatekeeper_id,
            confirm_before_publish: row.confirm_before_publish,
            time_zone: row.time_zone,
            connection: row.connection,
            connected_as: row.connected_as,
        })
    }
}
