//! The inbox: items that came in to each account (each once: the network's key is unique per
//! account), their history, and where reading each account got to. Writes are single
//! statements meant to run inside a unit of work (`Store::write`), which the inbox service
//! opens around each change with its audit entry, and around each page read with its cursor.

use crate::domain::ids::{AccountId, PostId, UserId};
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::inbox::{ItemKind, ItemState, JudgedLink, Verdict};

/// An item as screening made it, ready to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInboxItem {
    pub account_id: AccountId,
    /// The network's own id for the item, unique per account.
    pub network_key: String,
    pub kind: ItemKind,
    pub author_id: String,
    pub author_handle: String,
    pub author_name: String,
    pub text: String,
    pub text_cut: bool,
    pub url: Option<String>,
    /// What a reply names to be threaded under the item (JSON, the network's own).
    pub reply_to: Option<String>,
    pub links: Vec<JudgedLink>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub impostor: bool,
    pub received_at: Timestamp,
}

/// An item as the inbox shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItemRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub network_key: String,
    pub kind: ItemKind,
    pub author_id: String,
    pub author_handle: String,
    pub author_name: String,
    pub text: String,
    pub text_cut: bool,
    pub url: Option<String>,
    pub reply_to: Option<String>,
    pub links: Vec<JudgedLink>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub impostor: bool,
    pub state: ItemState,
    pub assignee_id: Option<UserId>,
    pub received_at: Timestamp,
    pub fetched_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An item's screening as judged again (a link followed on request).
#[derive(Debug, Clone, PartialEq)]
pub struct InboxScreening {
    pub links: Vec<JudgedLink>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub impostor: bool,
}

/// One step of an item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEventRecord {
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    /// `assigned`, `unassigned`, `done`, `reopened`, `note`, `replied`, `link_opened`,
    /// `link_followed`, `reported`.
    pub what: String,
    pub detail: String,
    /// The reply, for `replied`.
    pub post_id: Option<PostId>,
}

/// Where reading one account's inbox got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxCursorRecord {
    pub account_id: AccountId,
    /// The network's own cursor, opaque to Herald.
    pub cursor: Option<String>,
    pub next_read_at: Timestamp,
    /// Failed reads in a row.
    pub failures: i64,
    pub problem: Option<String>,
    pub read_at: Option<Timestamp>,
}

/// Which items a list asks for: always within `accounts` (those the reader may see), newest
/// first, a page of `limit` that starts after the item `before` (keyset paging).
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub accounts: Vec<AccountId>,
    pub kind: Option<ItemKind>,
    pub verdict: Option<Verdict>,
    pub state: Option<ItemState>,
    pub assignee_id: Option<UserId>,
    /// The last item of the page before: (received_at, id).
    pub before: Option<(Timestamp, i64)>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    account_id: AccountId,
    network_key: String,
    kind: String,
    author_id: String,
    author_handle: String,
    author_name: String,
    text: String,
    text_cut: bool,
    url: Option<String>,
    reply_to: Option<String>,
    links: String,
    verdict: String,
    reasons: String,
    impostor: bool,
    state: String,
    assignee_id: Option<UserId>,
    received_at: i64,
    fetched_at: i64,
    updated_at: i64,
}

const ITEM_COLUMNS: &str = "id, account_id, network_key, kind, author_id, author_handle, author_name, text, text_cut, url, reply_to, links, verdict, reasons, impostor, state, assignee_id, received_at, fetched_at, updated_at";

impl Store {
    /// Saves an item unless the account already has one with its key: whether it was new.
    pub async fn add_inbox_item(
        &self,
        item: &NewInboxItem,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let links = serde_json::to_string(&item.links).unwrap_or_else(|_| "[]".to_owned());
        let reasons = serde_json::to_string(&item.reasons).unwrap_or_else(|_| "[]".to_owned());
        let added = with_pool!(self, pool => sqlx::query(
            "INSERT INTO inbox_items (account_id, network_key, kind, author_id, author_handle,
                author_name, text, text_cut, url, reply_to, links, verdict, reasons, impostor,
                state, assignee_id, received_at, fetched_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', NULL,
                $15, $16, $16)
             ON CONFLICT (account_id, network_key) DO NOTHING")
            .bind(item.account_id)
            .bind(&item.network_key)
            .bind(item.kind.as_str())
            .bind(&item.author_id)
            .bind(&item.author_handle)
            .bind(&item.author_name)
            .bind(&item.text)
            .bind(item.text_cut)
            .bind(&item.url)
            .bind(&item.reply_to)
            .bind(links)
            .bind(item.verdict.as_str())
            .bind(reasons)
            .bind(item.impostor)
            .bind(item.received_at.as_millisecond())
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(added == 1)
    }

    pub async fn inbox_item(&self, id: i64) -> Result<Option<InboxItemRecord>, StoreError> {
        let query = format!("SELECT {ITEM_COLUMNS} FROM inbox_items WHERE id = $1");
        let row: Option<ItemRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(item_from_row).transpose()
    }

    /// One page of the items `query` asks for, newest first.
    pub async fn inbox_items(
        &self,
        query: &InboxQuery,
    ) -> Result<Vec<InboxItemRecord>, StoreError> {
        if query.accounts.is_empty() {
            return Ok(Vec::new());
        }
        let mut numbers: Vec<i64> = query.accounts.iter().map(|id| id.get()).collect();
        let accounts = placeholders(1, numbers.len());
        let mut conditions = vec![format!("account_id IN ({accounts})")];
        if let Some(assignee) = query.assignee_id {
            numbers.push(assignee.get());
            conditions.push(format!("assignee_id = ${}", numbers.len()));
        }
        if let Some((at, id)) = query.before {
            numbers.push(at.as_millisecond());
            numbers.push(id);
            let (at, id) = (numbers.len() - 1, numbers.len());
            // Written so that the range on received_at can use the indexes' order.
            conditions.push(format!(
                "received_at <= ${at} AND (received_at < ${at} OR id < ${id})"
            ));
        }
        let mut words: Vec<&'static str> = Vec::new();
        for (column, word) in [
            ("kind", query.kind.map(ItemKind::as_str)),
            ("verdict", query.verdict.map(Verdict::as_str)),
            ("state", query.state.map(ItemState::as_str)),
        ] {
            if let Some(word) = word {
                words.push(word);
                conditions.push(format!("{column} = ${}", numbers.len() + words.len()));
            }
        }
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM inbox_items WHERE {} ORDER BY received_at DESC, id DESC LIMIT {}",
            conditions.join(" AND "),
            query.limit.clamp(0, 1000)
        );
        let rows: Vec<ItemRow> = with_pool!(self, pool => {
            let mut select = sqlx::query_as(&sql);
            for number in &numbers {
                select = select.bind(*number);
            }
            for word in &words {
                select = select.bind(*word);
            }
            select.fetch_all(pool).await
        })?;
        rows.into_iter().map(item_from_row).collect()
    }

    /// How many items of `accounts` are open, for the menu's count.
    pub async fn open_inbox_count(&self, accounts: &[AccountId]) -> Result<i64, StoreError> {
        if accounts.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT COUNT(*) FROM inbox_items WHERE state = 'open' AND account_id IN ({})",
            placeholders(1, accounts.len())
        );
        with_pool!(self, pool => {
            let mut count = sqlx::query_scalar(&sql);
            for account in accounts {
                count = count.bind(*account);
            }
            count.fetch_one(pool).await
        })
        .map_err(StoreError::from)
    }

    /// Sets an item's state and assignee (call inside a unit of work, with its history).
    pub async fn set_inbox_item(
        &self,
        id: i64,
        state: ItemState,
        assignee_id: Option<UserId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE inbox_items SET state = $1, assignee_id = $2, updated_at = $3 WHERE id = $4")
            .bind(state.as_str())
            .bind(assignee_id)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Replaces an item's screening after one of its links was followed on request (call
    /// inside the unit of work of the change, with its history).
    pub async fn set_inbox_screening(
        &self,
        id: i64,
        screening: &InboxScreening,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let links = serde_json::to_string(&screening.links).unwrap_or_else(|_| "[]".to_owned());
        let reasons = serde_json::to_string(&screening.reasons).unwrap_or_else(|_| "[]".to_owned());
        with_pool!(self, pool => sqlx::query(
            "UPDATE inbox_items SET links = $1, verdict = $2, reasons = $3, impostor = $4,
                updated_at = $5 WHERE id = $6")
            .bind(links)
            .bind(screening.verdict.as_str())
            .bind(reasons)
            .bind(screening.impostor)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Adds a step to an item's history (call inside the unit of work of the change).
    pub async fn add_inbox_event(
        &self,
        item_id: i64,
        event: &InboxEventRecord,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO inbox_events (item_id, at, actor_id, what, detail, post_id)
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(item_id)
            .bind(event.at.as_millisecond())
            .bind(event.actor_id)
            .bind(&event.what)
            .bind(&event.detail)
            .bind(event.post_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// An item's history, oldest first.
    pub async fn inbox_events(&self, item_id: i64) -> Result<Vec<InboxEventRecord>, StoreError> {
        type Row = (i64, Option<UserId>, String, String, Option<PostId>);
        let rows: Vec<Row> = with_pool!(self, pool => sqlx::query_as(
            "SELECT at, actor_id, what, detail, post_id FROM inbox_events WHERE item_id = $1 ORDER BY id")
            .bind(item_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(at, actor_id, what, detail, post_id)| {
                Ok(InboxEventRecord {
                    at: millis(at)?,
                    actor_id,
                    what,
                    detail,
                    post_id,
                })
            })
            .collect()
    }

    /// The item a reply post answers, if `post_id` is one.
    pub async fn inbox_item_replied_by(&self, post_id: PostId) -> Result<Option<i64>, StoreError> {
        with_pool!(self, pool => sqlx::query_scalar(
            "SELECT item_id FROM inbox_events WHERE post_id = $1 AND what = 'replied' ORDER BY id LIMIT 1")
            .bind(post_id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::from)
    }

    pub async fn inbox_cursor(
        &self,
        account_id: AccountId,
    ) -> Result<Option<InboxCursorRecord>, StoreError> {
        type Row = (
            AccountId,
            Option<String>,
            i64,
            i64,
            Option<String>,
            Option<i64>,
        );
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(
            "SELECT account_id, cursor, next_read_at, failures, problem, read_at
               FROM inbox_cursors WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(pool)
            .await)?;
        row.map(
            |(account_id, cursor, next_read_at, failures, problem, read_at)| {
                Ok(InboxCursorRecord {
                    account_id,
                    cursor,
                    next_read_at: millis(next_read_at)?,
                    failures,
                    problem,
                    read_at: read_at.map(millis).transpose()?,
                })
            },
        )
        .transpose()
    }

    /// Records a read that went well: the cursor to go on from, the next read's time (call in
    /// the unit of work that saved the read's items, so they and the cursor move together).
    pub async fn inbox_read(
        &self,
        account_id: AccountId,
        cursor: Option<&str>,
        next_read_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO inbox_cursors (account_id, cursor, next_read_at, failures, problem, read_at)
             VALUES ($1, $2, $3, 0, NULL, $4)
             ON CONFLICT (account_id) DO UPDATE SET cursor = $2, next_read_at = $3, failures = 0,
                problem = NULL, read_at = $4")
            .bind(account_id)
            .bind(cursor)
            .bind(next_read_at.as_millisecond())
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Records a read that failed: the cursor stays, the failures count up, the next read
    /// waits until `next_read_at`.
    pub async fn inbox_read_failed(
        &self,
        account_id: AccountId,
        problem: &str,
        next_read_at: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO inbox_cursors (account_id, cursor, next_read_at, failures, problem, read_at)
             VALUES ($1, NULL, $2, 1, $3, NULL)
             ON CONFLICT (account_id) DO UPDATE SET next_read_at = $2,
                failures = inbox_cursors.failures + 1, problem = $3")
            .bind(account_id)
            .bind(next_read_at.as_millisecond())
            .bind(problem)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The connected accounts whose inbox is due to be read at `now`.
    pub async fn inbox_accounts_due(&self, now: Timestamp) -> Result<Vec<AccountId>, StoreError> {
        with_pool!(self, pool => sqlx::query_scalar(
            "SELECT a.id FROM social_accounts a
               LEFT JOIN inbox_cursors c ON c.account_id = a.id
              WHERE a.connection = 'connected' AND (c.next_read_at IS NULL OR c.next_read_at <= $1)
              ORDER BY a.id")
            .bind(now.as_millisecond())
            .fetch_all(pool)
            .await)
        .map_err(StoreError::from)
    }
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn item_from_row(row: ItemRow) -> Result<InboxItemRecord, StoreError> {
    let id = row.id;
    let corrupt = |what: &str| StoreError::Corrupt(format!("inbox item {id}'s {what}"));
    Ok(InboxItemRecord {
        id,
        account_id: row.account_id,
        network_key: row.network_key,
        kind: ItemKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
        author_id: row.author_id,
        author_handle: row.author_handle,
        author_name: row.author_name,
        text: row.text,
        text_cut: row.text_cut,
        url: row.url,
        reply_to: row.reply_to,
        links: serde_json::from_str(&row.links).map_err(|_| corrupt("links"))?,
        verdict: Verdict::parse(&row.verdict).ok_or_else(|| corrupt("verdict"))?,
        reasons: serde_json::from_str(&row.reasons).map_err(|_| corrupt("reasons"))?,
        impostor: row.impostor,
        state: ItemState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
        assignee_id: row.assignee_id,
        received_at: millis(row.received_at)?,
        fetched_at: millis(row.fetched_at)?,
        updated_at: millis(row.updated_at)?,
    })
}
