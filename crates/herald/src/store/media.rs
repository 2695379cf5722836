//! Images attached to posts: one row per file in the data directory. Attaching and removing
//! happen only while the post is a draft, checked in the same transaction, which also holds
//! the post's row so that two uploads at once cannot pass the network's image count.

use crate::domain::ids::PostId;
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    pub id: i64,
    pub post_id: PostId,
    /// The random name of the file under `<data_dir>/media/`.
    pub file_name: String,
    /// Hex SHA-256 of the bytes, checked again whenever the file is read.
    pub sha256: String,
    /// As sniffed from the bytes: `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub mime: String,
    pub size_bytes: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub alt: String,
    pub position: i64,
    pub created_at: Timestamp,
}

/// A new image for a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMedia<'a> {
    pub post_id: PostId,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub mime: &'a str,
    pub size_bytes: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub alt: &'a str,
}

/// What became of an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached {
    Done(MediaRecord),
    /// The post is no longer a draft.
    NotDraft,
    /// The post already has `most` images.
    Full,
    /// The file was pending so long that the sweep took it first.
    Swept,
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: i64,
    post_id: PostId,
    file_name: String,
    sha256: String,
    mime: String,
    size_bytes: i64,
    width: Option<i64>,
    height: Option<i64>,
    alt: String,
    position: i64,
    created_at: i64,
}

const COLUMNS: &str =
    "id, post_id, file_name, sha256, mime, size_bytes, width, height, alt, position, created_at";

impl Store {
    /// Adds an image to post `media.post_id` if it is still a draft with fewer than `most`
    /// images; it goes after the others.
    pub async fn attach_media(
        &self,
        media: &NewMedia<'_>,
        most: usize,
        now: Timestamp,
    ) -> Result<Attached, StoreError> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        let insert = format!(
            "INSERT INTO post_media (post_id, file_name, sha256, mime, size_bytes, width, height, alt, position, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM post_media WHERE post_id = $1), $9)
             RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            // Touching the post takes its row lock (PostgreSQL) or the write lock (SQLite):
            // concurrent uploads to one draft take turns from here to the commit.
            let draft = sqlx::query(
                "UPDATE posts SET version = version + 1, updated_at = $1 WHERE id = $2 AND state = 'draft'")
                .bind(now.as_millisecond())
                .bind(media.post_id)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if !draft {
                return Ok(Attached::NotDraft);
            }
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM post_media WHERE post_id = $1")
                .bind(media.post_id)
                .fetch_one(&mut *tx)
                .await?;
            if count >= most {
                return Ok(Attached::Full);
            }
            let row: MediaRow = sqlx::query_as(&insert)
                .bind(media.post_id)
                .bind(media.file_name)
                .bind(media.sha256)
                .bind(media.mime)
                .bind(media.size_bytes)
                .bind(media.width)
                .bind(media.height)
                .bind(media.alt)
                .bind(now.as_millisecond())
                .fetch_one(&mut *tx)
                .await?;
            let still_pending = sqlx::query("DELETE FROM media_files_pending WHERE file_name = $1")
                .bind(media.file_name)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if !still_pending {
                return Ok(Attached::Swept);
            }
            let record = from_row(row)?;
            tx.commit().await?;
            Ok(Attached::Done(record))
        })
    }

    /// A post's images in their order.
    pub async fn post_media(&self, post_id: PostId) -> Result<Vec<MediaRecord>, StoreError> {
        let query =
            format!("SELECT {COLUMNS} FROM post_media WHERE post_id = $1 ORDER BY position, id");
        let rows: Vec<MediaRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(post_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(from_row).collect()
    }

    /// One image, by its id alone (for signed links, which name no post).
    pub async fn media(&self, id: i64) -> Result<Option<MediaRecord>, StoreError> {
        let query = format!("SELECT {COLUMNS} FROM post_media WHERE id = $1");
        let row: Option<MediaRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(from_row).transpose()
    }

    /// Records that Herald is about to write image file `file_name`, before it does: until
    /// [`Store::attach_media`] saves the file's row (or [`Store::media_file_settled`] says the
    /// file is gone), the sweep may delete it.
    pub async fn media_file_pending(
        &self,
        file_name: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO media_files_pending (file_name, since) VALUES ($1, $2)")
            .bind(file_name)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The file `file_name` is gone (or held by a row): nothing is left to sweep.
    pub async fn media_file_settled(&self, file_name: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("DELETE FROM media_files_pending WHERE file_name = $1")
            .bind(file_name)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Takes file `file_name` off the pending list for the sweep to delete, if it is still
    /// pending since before `before` and no image row holds it (a held one is only taken off).
    /// False if someone else settled it first, or a row holds it.
    pub async fn claim_pending_media_file(
        &self,
        file_name: &str,
        before: Timestamp,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "DELETE FROM media_files_pending WHERE file_name = $1 AND since < $2")
                .bind(file_name)
                .bind(before.as_millisecond())
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM post_media WHERE file_name = $1")
                .bind(file_name)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(claimed && held == 0)
        })
        .map_err(StoreError::from)
    }

    /// The files still pending since before `before`, oldest first: left by a crash between
    /// writing a file and saving its row, or by a delete that failed.
    pub async fn media_files_pending_since(
        &self,
        before: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT file_name FROM media_files_pending WHERE since < $1 ORDER BY since, file_name")
            .bind(before.as_millisecond())
            .fetch_all(pool)
            .await)?)
    }

    /// Removes image `id` from post `post_id` while the post is a draft. `None` if there is
    /// no such image on the post; `Some(None)` if the post is no longer a draft.
    pub async fn remove_media(
        &self,
        post_id: PostId,
        id: i64,
        now: Timestamp,
    ) -> Result<Option<Option<MediaRecord>>, StoreError> {
        let Some(media) = self.media(id).await?.filter(|m| m.post_id == post_id) else {
            return Ok(None);
        };
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let draft = sqlx::query(
                "UPDATE posts SET version = version + 1, updated_at = $1 WHERE id = $2 AND state = 'draft'")
                .bind(now.as_millisecond())
                .bind(post_id)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if !draft {
                return Ok(Some(None));
            }
            let removed = sqlx::query("DELETE FROM post_media WHERE id = $1 AND post_id = $2")
                .bind(id)
                .bind(post_id)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if removed {
                // The file is deleted next; should that fail, the sweep finds it here.
                sqlx::query(
                    "INSERT INTO media_files_pending (file_name, since) VALUES ($1, $2)
                     ON CONFLICT (file_name) DO NOTHING")
                    .bind(&media.file_name)
                    .bind(now.as_millisecond())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(if removed { Some(Some(media)) } else { None })
        })
    }
}

fn from_row(row: MediaRow) -> Result<MediaRecord, StoreError> {
    Ok(MediaRecord {
        id: row.id,
        post_id: row.post_id,
        file_name: row.file_name,
        sha256: row.sha256,
        mime: row.mime,
        size_bytes: row.size_bytes,
        width: row.width,
        height: row.height,
        alt: row.alt,
        position: row.position,
        created_at: millis(row.created_at)?,
    })
}
