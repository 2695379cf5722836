//! Posts and their history. A step is one transaction: the state changes only if it still is
//! what the caller saw, and the step is recorded with it.

use crate::domain::ids::{AccountId, PostId, UserId};
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

/// Writes one step of a post's history (`post_events`) in the transaction `$tx` of the change it
/// records: the one place outside the publisher's grouped SQL (`group_commit.rs`) that does.
/// `$actor` and `$from` are options (the publisher has no actor; a new draft no earlier state).
macro_rules! post_event_in {
    ($tx:expr, $post:expr, $at:expr, $actor:expr, $from:expr, $to:expr, $note:expr) => {
        sqlx::query(
            "INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($post)
        .bind(jiff::Timestamp::as_millisecond($at))
        .bind($actor)
        .bind($from)
        .bind($to)
        .bind($note)
        .execute($tx)
        .await
    };
}
use crate::domain::posts::PostState;
pub(crate) use post_event_in;

/// When a post is listed as happening: published, else due, else last changed.
const WHEN: &str = "COALESCE(published_at, scheduled_at, updated_at)";

/// Which posts a list asks for.
#[derive(Debug, Clone, Default)]
pub struct PostQuery {
    /// Only posts of these accounts (the ones the reader may see).
    pub accounts: Vec<AccountId>,
    pub state: Option<PostState>,
    pub author_id: Option<UserId>,
    /// Published, due or last changed from `from` (inclusive) to `to` (exclusive).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub id: PostId,
    pub account_id: AccountId,
    pub author_id: UserId,
    pub text: String,
    /// Raised by every change to the text or images: submit and approve name the version they
    /// were shown, and step the post only while it is still that version.
    pub version: i64,
    pub state: PostState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it is to go out; chosen at any time before it is published.
    pub scheduled_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    /// The network's id for the published post, and where people see it.
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    /// Why it failed or is unconfirmed, for people.
    pub problem: Option<String>,
}

/// One publishing attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub id: i64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub worker: String,
    pub outcome: Option<String>,
    pub detail: String,
}

/// How an attempt ended, to record in one transaction with the post's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptEnd<'a> {
    pub post_id: PostId,
    pub attempt_id: i64,
    pub to: PostState,
    /// `published`, `retry`, `failed` or `unconfirmed`.
    pub outcome: &'a str,
    /// For the post's history and the attempt: what happened, in words.
    pub detail: &'a str,
    pub remote_id: Option<&'a str>,
    pub remote_url: Option<&'a str>,
    /// Written to the audit log in the same transaction, when the attempt settles the post.
    pub audit: Option<&'a crate::domain::audit::NewAuditEntry>,
    /// The publish job and the worker holding its lease, to mark done in the same transaction
    /// when nothing is left to try.
    pub job_done: Option<(crate::domain::jobs::JobId, &'a str)>,
    pub now: Timestamp,
}

/// Steps that must see the text their caller checked (submit, approve): each moves the post
/// only while it is in the step's `from` state *and* still at `version`, all in one
/// transaction with their history and the audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSteps<'a> {
    pub id: PostId,
    pub version: i64,
    /// Taken in order: (from, to, note for the history).
    pub steps: &'a [(PostState, PostState, &'a str)],
    pub actor_id: UserId,
    /// Written in the same transaction, in order.
    pub audit: &'a [crate::domain::audit::NewAuditEntry],
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostEventRecord {
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct PostRow {
    id: PostId,
    account_id: AccountId,
    author_id: UserId,
    text: String,
    version: i64,
    state: String,
    created_at: i64,
    updated_at: i64,
    scheduled_at: Option<i64>,
    published_at: Option<i64>,
    remote_id: Option<String>,
    remote_url: Option<String>,
    problem: Option<String>,
}

pub(super) const POST_COLUMNS: &str = "id, account_id, author_id, text, version, state, created_at, updated_at, scheduled_at, published_at, remote_id, remote_url, problem";
type EventRow = (i64, Option<UserId>, Option<String>, String, String);

impl Store {
    pub async fn create_post(
        &self,
        account_id: AccountId,
        author_id: UserId,
        text: &str,
        now: Timestamp,
    ) -> Result<PostId, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let id: PostId = sqlx::query_scalar(
                "INSERT INTO posts (account_id, author_id, text, state, created_at, updated_at)
                 VALUES ($1, $2, $3, 'draft', $4, $4) RETURNING id")
                .bind(account_id)
                .bind(author_id)
                .bind(text)
                .bind(now.as_millisecond())
                .fetch_one(&mut *tx)
                .await?;
            post_event_in!(&mut *tx, id, now, Some(author_id), None::<&str>, "draft", "drafted")?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn post(&self, id: PostId) -> Result<Option<PostRecord>, StoreError> {
        let query = format!("SELECT {POST_COLUMNS} FROM posts WHERE id = $1");
        let row: Option<PostRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(post_from_row).transpose()
    }

    /// A post the publisher is about to send, with how many images it carries: one read, and
    /// a post without images needs no second one.
    pub async fn post_to_publish(
        &self,
        id: PostId,
    ) -> Result<Option<(PostRecord, u32)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            post: PostRow,
            images: i64,
        }
        let query = format!(
            "SELECT {POST_COLUMNS}, (SELECT COUNT(*) FROM post_media WHERE post_id = posts.id) AS images
               FROM posts WHERE id = $1"
        );
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(|row| {
            let images = u32::try_from(row.images)
                .map_err(|_| StoreError::Corrupt(format!("post {id}'s image count")))?;
            Ok((post_from_row(row.post)?, images))
        })
        .transpose()
    }

    /// Replaces the text of a post that is still a draft, raising its version; false if it no
    /// longer is a draft.
    pub async fn set_post_text(
        &self,
        id: PostId,
        text: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE posts SET text = $1, version = version + 1, updated_at = $2
              WHERE id = $3 AND state = 'draft'")
            .bind(text)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// Moves a post from `from` to `to` and records the step; false (and nothing changed) if
    /// the post was no longer in `from`.
    pub async fn step_post(
        &self,
        id: PostId,
        from: PostState,
        to: PostState,
        actor_id: UserId,
        note: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE posts SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
                .bind(to.as_str())
                .bind(now.as_millisecond())
                .bind(id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if moved {
                post_event_in!(&mut *tx, id, now, Some(actor_id), Some(from.as_str()), to.as_str(), note)?;
            }
            tx.commit().await?;
            Ok(moved)
        })
    }

    /// Takes `checked`'s steps and writes its audit entry, in one transaction; false (and
    /// nothing changed) if the post left a step's `from` state or its text changed meanwhile.
    pub async fn step_post_checked(&self, checked: &CheckedSteps<'_>) -> Result<bool, StoreError> {
        let now = checked.now;
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            for (from, to, note) in checked.steps {
                let moved = sqlx::query(
                    "UPDATE posts SET state = $1, updated_at = $2
                      WHERE id = $3 AND state = $4 AND version = $5")
                    .bind(to.as_str())
                    .bind(now.as_millisecond())
                    .bind(checked.id)
                    .bind(from.as_str())
                    .bind(checked.version)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() == 1;
                if !moved {
                    return Ok(false);
                }
                post_event_in!(
                    &mut *tx,
                    checked.id,
                    now,
                    Some(checked.actor_id),
                    Some(from.as_str()),
                    to.as_str(),
                    *note
                )?;
            }
            for entry in checked.audit {
                super::audit::append_audit_in!(&mut *tx, entry, now)?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Posts in `state`, newest first, at most `limit`.
    pub async fn posts_in_state(
        &self,
        state: PostState,
        limit: i64,
    ) -> Result<Vec<PostRecord>, StoreError> {
        let query = format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE state = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<PostRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(state.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(post_from_row).collect()
    }

    /// A member's own posts, newest first, at most `limit`.
    pub async fn posts_by(
        &self,
        author_id: UserId,
        limit: i64,
    ) -> Result<Vec<PostRecord>, StoreError> {
        let query = format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE author_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<PostRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(author_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(post_from_row).collect()
    }

    /// One page of the posts `query` asks for, newest activity first, and how many match in
    /// all. Only posts of `query.accounts` are considered: the caller narrows that list to the
    /// accounts the reader may see.
    pub async fn posts_matching(
        &self,
        query: &PostQuery,
    ) -> Result<(Vec<PostRecord>, i64), StoreError> {
        if query.accounts.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut binds: Vec<i64> = query.accounts.iter().map(|id| id.get()).collect();
        let accounts = (1..=binds.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut conditions = vec![format!("account_id IN ({accounts})")];
        let mut condition = |sql: &str, value: i64| {
            binds.push(value);
            conditions.push(sql.replace('?', &format!("${}", binds.len())));
        };
        if let Some(author) = query.author_id {
            condition("author_id = ?", author.get());
        }
        if let Some(from) = query.from {
            condition(&format!("{WHEN} >= ?"), from.as_millisecond());
        }
        if let Some(to) = query.to {
            condition(&format!("{WHEN} < ?"), to.as_millisecond());
        }
        // The state is the one text value; it goes last so the numbers above stay simple.
        let mut sql_where = conditions.join(" AND ");
        if query.state.is_some() {
            sql_where.push_str(&format!(" AND state = ${}", binds.len() + 1));
        }
        let state = query.state.map(|state| state.as_str());
        let count_sql = format!("SELECT COUNT(*) FROM posts WHERE {sql_where}");
        let page_sql = format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE {sql_where} ORDER BY {WHEN} DESC, id DESC LIMIT {} OFFSET {}",
            query.limit.max(0),
            query.offset.max(0)
        );
        let (total, rows): (i64, Vec<PostRow>) = with_pool!(self, pool => {
            let mut count = sqlx::query_scalar(&count_sql);
            let mut page = sqlx::query_as(&page_sql);
            for value in &binds {
                count = count.bind(*value);
                page = page.bind(*value);
            }
            if let Some(state) = state {
                count = count.bind(state);
                page = page.bind(state);
            }
            // One read transaction, so the count and the page agree.
            let mut read = pool.begin().await?;
            let total: i64 = count.fetch_one(&mut *read).await?;
            let rows: Vec<PostRow> = page.fetch_all(&mut *read).await?;
            read.commit().await?;
            Ok::<_, sqlx::Error>((total, rows))
        })?;
        Ok((
            rows.into_iter()
                .map(post_from_row)
                .collect::<Result<_, _>>()?,
            total,
        ))
    }

    pub async fn post_history(&self, id: PostId) -> Result<Vec<PostEventRecord>, StoreError> {
        let rows: Vec<EventRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT at, actor_id, from_state, to_state, note FROM post_events WHERE post_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(at, actor_id, from_state, to_state, note)| {
                Ok(PostEventRecord {
                    at: millis(at)?,
                    actor_id,
                    from_state,
                    to_state,
                    note,
                })
            })
            .collect()
    }
}

pub(super) fn post_from_row(row: PostRow) -> Result<PostRecord, StoreError> {
    let id = row.id;
    let optional = |ms: Option<i64>| ms.map(millis).transpose();
    Ok(PostRecord {
        id,
        account_id: row.account_id,
        author_id: row.author_id,
        state: PostState::parse(&row.state).ok_or_else(|| {
            StoreError::Corrupt(format!("post {id} has an unknown state {}", row.state))
        })?,
        text: row.text,
        version: row.version,
        created_at: millis(row.created_at)?,
        updated_at: millis(row.updated_at)?,
        scheduled_at: optional(row.scheduled_at)?,
        published_at: optional(row.published_at)?,
        remote_id: row.remote_id,
        remote_url: row.remote_url,
        problem: row.problem,
    })
}
