//! Every change commits together with its audit entry, or not at all. A trigger put into the
//! database makes every audit append fail; each change asked for through the API must then
//! leave nothing behind, on SQLite and on PostgreSQL. Without the trigger the same requests
//! succeed, so the failure is the injected one.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, postgres_url, spawn_app_with_clock, spawn_sqlite_app_with_clock};
use crate::people::{Person, set_up};

#[tokio::test]
async fn a_change_whose_audit_entry_fails_is_not_kept_on_sqlite() {
    changes_without_their_audit_entry_are_not_kept(None).await;
}

#[tokio::test]
async fn a_change_whose_audit_entry_fails_is_not_kept_on_postgres() {
    let Some(url) = postgres_url().await else {
        return;
    };
    changes_without_their_audit_entry_are_not_kept(Some(url)).await;
}

/// The database as the test reaches it, beside Herald: to add and remove the trigger.
enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Database {
    async fn open(app: &TestApp, url: Option<&str>) -> Database {
        match url {
            Some(url) => Database::Postgres(sqlx::PgPool::connect(url).await.expect("PostgreSQL")),
            None => {
                let path = app.data_dir.join("herald.db");
                let url = format!("sqlite://{}", path.display());
                Database::Sqlite(sqlx::SqlitePool::connect(&url).await.expect("SQLite"))
            }
        }
    }

    /// From now on every row added to the audit log makes its statement fail.
    async fn break_audit_appends(&self) {
        match self {
            Database::Sqlite(pool) => {
                sqlx::query(
                    "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                )
                .execute(pool)
                .await
                .expect("trigger");
            }
            Database::Postgres(pool) => {
                for statement in [
                    "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql
                     AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
                    "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_log
                     FOR EACH ROW EXECUTE FUNCTION injected_failure()",
                ] {
                    sqlx::query(statement).execute(pool).await.expect("trigger");
                }
            }
        }
    }

    /// The number `query` (a `SELECT COUNT(*)`) answers.
    async fn count(&self, query: &str) -> i64 {
        match self {
            Database::Sqlite(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
            Database::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
        }
        .expect("count")
    }

    async fn mend_audit_appends(&self) {
        match self {
            Database::Sqlite(pool) => {
                sqlx::query("DROP TRIGGER injected_failure")
                    .execute(pool)
                    .await
                    .expect("drop trigger");
            }
            Database::Postgres(pool) => {
                sqlx::query("DROP TRIGGER injected_failure ON audit_log")
                    .execute(pool)
                    .await
                    .expect("drop trigger");
            }
        }
    }
}

/// One change through the API, and what the owner reads afterwards to see whether it stayed.
struct Change {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    /// A count that the change, if kept, would have moved.
    count: &'static str,
}

async fn changes_without_their_audit_entry_are_not_kept(url: Option<String>) {
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = match &url {
        Some(url) => {
            let url = SecretString::from(url.clone());
            spawn_app_with_clock(
                |config| config.database.url = Some(url),
                std::sync::Arc::new(clock.clone()),
            )
            .await
        }
        None => spawn_sqlite_app_with_clock(|_| {}, std::sync::Arc::new(clock.clone())).await,
    };
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let draft = crate::posts::draft_id(&app, &owner, account, "Soup of the day: leek.").await;
    let database = Database::open(&app, url.as_deref()).await;

    let changes = [
        Change {
            what: "adding an account",
            method: Method::POST,
            path: "/api/v1/accounts".to_owned(),
            body: Some(json!({
                "network": "x", "handle": "@sunnybakery", "display_name": "Sunny Bakery",
                "avatar_colour": "#1f5f5b", "gatekeeper_id": owner.id,
            })),
            count: "SELECT COUNT(*) FROM social_accounts",
        },
        Change {
            what: "writing a draft",
            method: Method::POST,
            path: "/api/v1/posts".to_owned(),
            body: Some(json!({ "account_id": account, "text": "Closed on Monday." })),
            count: "SELECT COUNT(*) FROM posts",
        },
        Change {
            what: "submitting a draft",
            method: Method::POST,
            path: format!("/api/v1/posts/{draft}/submit"),
            body: Some(json!({ "version": 1 })),
            count: "SELECT COUNT(*) FROM posts WHERE state = 'draft'",
        },
        Change {
            what: "making an API token",
            method: Method::POST,
            path: "/api/v1/tokens".to_owned(),
            body: Some(json!({ "name": "reports", "scopes": ["me:read"], "expires_in_days": 7 })),
            count: "SELECT COUNT(*) FROM api_tokens",
        },
        Change {
            what: "inviting a member",
            method: Method::POST,
            path: "/api/v1/invitations".to_owned(),
            body: Some(json!({ "email": "sam@sunny.example", "role": "member" })),
            count: "SELECT COUNT(*) FROM invitations",
        },
    ];
    for change in &changes {
        let before = database.count(change.count).await;
        let entries = database.count("SELECT COUNT(*) FROM audit_log").await;
        database.break_audit_appends().await;
        let response = send(&app, &owner, change).await;
        let status = response.status();
        database.mend_audit_appends().await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{} while the audit log failed",
            change.what
        );
        assert_eq!(
            database.count(change.count).await,
            before,
            "{} was kept without its audit entry",
            change.what
        );
        assert_eq!(
            database.count("SELECT COUNT(*) FROM audit_log").await,
            entries
        );
    }
    // Mended, every change goes through: it was the audit entry that stopped each.
    for change in &changes {
        let before = database.count(change.count).await;
        let response = send(&app, &owner, change).await;
        assert!(
            response.status().is_success(),
            "{} failed with the audit log mended: {}",
            change.what,
            response.text().await.unwrap_or_default()
        );
        assert_ne!(
            database.count(change.count).await,
            before,
            "{}",
            change.what
        );
    }
}

async fn send(app: &TestApp, owner: &Person, change: &Change) -> reqwest::Response {
    owner
        .send(
            app,
            change.method.clone(),
            &change.path,
            change.body.clone(),
        )
        .await
}
