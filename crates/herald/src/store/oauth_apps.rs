//! Herald's own OAuth applications at networks that register them on the spot (a Mastodon
//! instance per server): the client id, and the client secret sealed by the vault.

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};

/// Herald's application at one server for one redirect URI.
#[derive(Clone, PartialEq)]
pub struct OAuthAppRecord {
    pub server: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub sealed_secret: Vec<u8>,
    pub key_version: i64,
    pub created_at: Timestamp,
}

debug_without_secrets!(OAuthAppRecord);

#[derive(FromRow)]
struct OAuthAppRow {
    server: String,
    redirect_uri: String,
    client_id: String,
    sealed_secret: Vec<u8>,
    key_version: i64,
    created_at: i64,
}

const COLUMNS: &str = "server, redirect_uri, client_id, sealed_secret, key_version, created_at";

impl TryFrom<OAuthAppRow> for OAuthAppRecord {
    type Error = StoreError;

    fn try_from(row: OAuthAppRow) -> Result<OAuthAppRecord, StoreError> {
        Ok(OAuthAppRecord {
            server: row.server,
            redirect_uri: row.redirect_uri,
            client_id: row.client_id,
            sealed_secret: row.sealed_secret,
            key_version: row.key_version,
            created_at: millis(row.created_at)?,
        })
    }
}

impl Store {
    /// Herald's application at `server` for `redirect_uri`, if it registered one.
    pub async fn oauth_app(
        &self,
        server: &str,
        redirect_uri: &str,
    ) -> Result<Option<OAuthAppRecord>, StoreError> {
        let query =
            format!("SELECT {COLUMNS} FROM oauth_apps WHERE server = $1 AND redirect_uri = $2");
        let row: Option<OAuthAppRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(server)
            .bind(redirect_uri)
            .fetch_optional(pool)
            .await)?;
        row.map(OAuthAppRecord::try_from).transpose()
    }

    /// Every application Herald registered, for re-keying.
    pub async fn all_oauth_apps(&self) -> Result<Vec<OAuthAppRecord>, StoreError> {
        let query = format!("SELECT {COLUMNS} FROM oauth_apps ORDER BY server, redirect_uri");
        let rows: Vec<OAuthAppRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OAuthAppRecord::try_from).collect()
    }

    /// After a re-key: `app`'s secret re-wrapped (`Some((sealed, key_version))`), or `app`
    /// forgotten (`None`) so that Herald registers again. Nothing changes if the application
    /// was registered again since `app` was read.
    pub async fn settle_oauth_app(
        &self,
        app: &OAuthAppRecord,
        rewrapped: Option<(&[u8], i64)>,
    ) -> Result<(), StoreError> {
        const UNCHANGED: &str =
            "server = $1 AND redirect_uri = $2 AND client_id = $3 AND sealed_secret = $4";
        let query = match rewrapped {
            Some(_) => format!(
                "UPDATE oauth_apps SET sealed_secret = $5, key_version = $6 WHERE {UNCHANGED}"
            ),
            None => format!("DELETE FROM oauth_apps WHERE {UNCHANGED}"),
        };
        with_pool!(self, pool => {
            let mut statement = sqlx::query(&query)
                .bind(&app.server)
                .bind(&app.redirect_uri)
                .bind(&app.client_id)
                .bind(&app.sealed_secret);
            if let Some((sealed, key_version)) = rewrapped {
                statement = statement.bind(sealed).bind(key_version);
            }
            statement.execute(pool).await.map(drop)
        })?;
        Ok(())
    }

    /// Stores (or replaces, after registering again) Herald's application at a server.
    pub async fn put_oauth_app(&self, app: &OAuthAppRecord) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO oauth_apps (server, redirect_uri, client_id, sealed_secret, key_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (server, redirect_uri) DO UPDATE SET
                 client_id = $3, sealed_secret = $4, key_version = $5, created_at = $6")
            .bind(&app.server)
            .bind(&app.redirect_uri)
            .bind(&app.client_id)
            .bind(&app.sealed_secret)
            .bind(app.key_version)
            .bind(app.created_at.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}
